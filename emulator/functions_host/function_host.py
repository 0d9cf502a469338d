"""The host's side of a local Functions run: what it serves, whom it lets in, what it invokes.

From the functions the worker runtime indexed (their raw bindings, as the real host reads them):
- HTTP triggers under ``routePrefix`` (host.json), matched by route template and precedence
  (``routing``) and method; function keys (``x-functions-key`` header or ``code`` query) checked
  per ``authLevel``; the host's own bare 401 and 404 answers; a function that fails → 500 with no
  body (learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger,
  "Authorization level", "Obtaining keys"; functions-bindings-http-webhook-output).
- Event Grid triggers at ``POST /runtime/webhooks/EventGrid?functionName={name}``: the
  ``aeg-event-type`` header says ``SubscriptionValidation`` (answered with
  ``{"validationResponse": code}``) or ``Notification`` (an array of events, one invocation each;
  202 when all succeeded, 500 with no body otherwise so Event Grid retries). The real host wants
  its ``eventgrid_extension`` system key; locally the master key stands for it
  (learn.microsoft.com/azure/azure-functions/functions-bindings-event-grid-trigger,
  "Manually post the request"; learn.microsoft.com/azure/event-grid/webhook-event-delivery).
- Any non-HTTP function at ``POST /admin/functions/{name}`` with the master key and a JSON body
  ``{"input": "..."}`` → 202, as Core Tools' admin API does
  (learn.microsoft.com/azure/azure-functions/functions-manually-run-non-http). Here the 202 is
  sent after the invocation finished, so a test sees its effects; the real host answers at once.
- A function disabled by the app setting ``AzureWebJobs.<name>.Disabled`` = true ignores its
  events (timer, Event Grid → 404) and answers HTTP callers with 404 unless they present the master
  key (learn.microsoft.com/azure/azure-functions/disable-function, "Run a disabled function").
Every invocation goes to Microsoft's worker runtime (``worker``); nothing here calls the function.
"""

from __future__ import annotations

import concurrent.futures
import hmac
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.functions_host import trigger_data
from emulator.functions_host.routing import RouteTemplate, sort_key
from emulator.functions_host.trigger_data import HttpAnswer
from emulator.functions_host.worker import LanguageWorker, worker_for

logger = logging.getLogger("emulator.functions_host")

HTTP_TRIGGER = "httpTrigger"
TIMER_TRIGGER = "timerTrigger"
EVENT_GRID_TRIGGER = "eventGridTrigger"
_EMPTY = HttpAnswer(404, [], b"")
_JSON = [("Content-Type", "application/json; charset=utf-8")]


def _host_config(host_json: Path) -> dict[str, Any]:
    try:
        config = json.loads(host_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def route_prefix(host_json: Path) -> str:
    """``extensions.http.routePrefix`` of host.json; ``api`` when absent (the host's default)."""
    prefix = _host_config(host_json).get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(prefix).strip("/")


def function_timeout(host_json: Path) -> float | None:
    """``functionTimeout`` of host.json in seconds (``hh:mm:ss``); Flex Consumption's default 30 min
    when absent; None for ``-1`` (unbounded). learn.microsoft.com/azure/azure-functions/functions-host-json."""
    value = str(_host_config(host_json).get("functionTimeout", "00:30:00")).strip()
    if value == "-1":
        return None
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", value)
    if match is None:
        raise ValueError(f"host.json functionTimeout {value!r} is not a time span (hh:mm:ss)")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


@dataclass(frozen=True)
class IndexedFunction:
    """One function as the worker indexed it, with what the host needs from its bindings."""

    name: str
    function_id: str
    trigger_type: str
    trigger_param: str
    trigger: dict[str, Any]
    http_output: str | None = None  # "$return" or the name of an http output binding
    route: RouteTemplate | None = None
    methods: frozenset[str] | None = None  # None: any method, as when "methods" is left out
    auth_level: str = "function"

    @classmethod
    def from_metadata(cls, metadata: Any) -> IndexedFunction:
        bindings = [json.loads(raw) for raw in metadata.raw_bindings]
        triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
        if len(triggers) != 1:
            raise ValueError(f"function {metadata.name!r} has {len(triggers)} triggers; the host needs exactly one")
        trigger = triggers[0]
        http_output = next(
            (b["name"] for b in bindings if b.get("type") == "http" and str(b.get("direction", "")).upper() == "OUT"),
            None,
        )
        fields: dict[str, Any] = {}
        if trigger["type"] == HTTP_TRIGGER:
            methods = trigger.get("methods")
            fields = {
                "route": RouteTemplate.parse(trigger.get("route") or metadata.name),
                "methods": frozenset(str(m).upper() for m in methods) if methods else None,
                "auth_level": str(trigger.get("authLevel") or "function").lower(),
            }
        return cls(metadata.name, metadata.function_id, trigger["type"], trigger["name"], trigger, http_output,
                   **fields)  # fmt: skip


@dataclass(frozen=True)
class HostRequest:
    method: str
    target: str  # path and query, as on the request line
    headers: list[tuple[str, str]]
    body: bytes
    base_url: str

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


class FunctionHost:
    """Serves the function app in ``app_directory`` through the process's worker runtime."""

    def __init__(
        self,
        app_directory: Path,
        *,
        function_keys: Iterable[str],
        master_key: str,
        prefix: str | None = None,
        worker: LanguageWorker | None = None,
    ) -> None:
        self.worker = worker or worker_for(app_directory)
        self.functions = {f.name: f for f in map(IndexedFunction.from_metadata, self.worker.functions)}
        # Most specific template first, so the first match is the one ASP.NET routing would pick.
        routes = [(f.route, f) for f in self.functions.values() if f.route is not None]
        self.http_routes = sorted(routes, key=lambda pair: sort_key(pair[0]))
        self.function_keys = [k for k in function_keys if k]
        self.master_key = master_key
        chosen = route_prefix(app_directory / "host.json") if prefix is None else prefix
        self.timeout = function_timeout(app_directory / "host.json")
        self.prefix = [p.lower() for p in chosen.split("/") if p]

    @staticmethod
    def disabled(function: IndexedFunction) -> bool:
        """``AzureWebJobs.<name>.Disabled`` is true (read per event, so a test can set it)."""
        value = os.environ.get(f"AzureWebJobs.{function.name}.Disabled", "")
        return value.strip().lower() in ("true", "1")

    # ------------------------------------------------------------------ keys
    @staticmethod
    def _presented_key(request: HostRequest, query: list[tuple[str, str]]) -> str:
        return request.header("x-functions-key") or next((v for k, v in query if k.lower() == "code"), "")

    def _authorized(self, level: str, presented: str) -> bool:
        if level == "anonymous":
            return True
        accepted = [self.master_key] if level in ("admin", "system") else [*self.function_keys, self.master_key]
        return any(hmac.compare_digest(presented.encode(), key.encode()) for key in accepted if key)

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: HostRequest) -> HttpAnswer:
        url = urlsplit(request.target)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = parse_qsl(url.query, keep_blank_values=True)
        lowered = [p.lower() for p in parts]
        if lowered[:3] == ["runtime", "webhooks", "eventgrid"] and len(parts) == 3:
            return self._event_grid(request, query)
        if lowered[:2] == ["admin", "functions"] and len(parts) == 3:
            return self._admin_invoke(request, query, parts[2])
        if lowered[: len(self.prefix)] != self.prefix:
            return _EMPTY
        return self._http(request, query, parts[len(self.prefix) :])

    def _http(self, request: HostRequest, query: list[tuple[str, str]], parts: list[str]) -> HttpAnswer:
        method = request.method.upper()
        for route, function in self.http_routes:
            values = route.match(parts)
            if values is None or (function.methods is not None and method not in function.methods):
                continue
            presented = self._presented_key(request, query)
            if self.disabled(function) and not self._authorized("admin", presented):
                return _EMPTY  # only the master key still runs a disabled function
            if not self._authorized(function.auth_level, presented):
                return HttpAnswer(401, [], b"")
            data = trigger_data.http_request_data(
                method=method,
                url=request.base_url + request.target,
                headers=request.headers,
                query=query,
                route_values=values,
                body=request.body,
            )
            response = self._invoke(function, data)
            if response is None:
                return HttpAnswer(500, [], b"")
            return self._http_output(function, response)
        return _EMPTY

    def _http_output(self, function: IndexedFunction, response: Any) -> HttpAnswer:
        if function.http_output == "$return":
            data = response.return_value if response.HasField("return_value") else None
        else:
            data = next((b.data for b in response.output_data if b.name == function.http_output), None)
        answer = trigger_data.http_answer(data) if data is not None else None
        if answer is None:
            # The function set no HTTP response: nothing to send but an empty success.
            return HttpAnswer(204, [], b"")
        return answer

    def _invoke(self, function: IndexedFunction, data: Any) -> Any | None:
        """One invocation; the response, or None when the runtime reports a failure (logged here)."""
        p = self.worker.protos
        metadata = trigger_data.sys_metadata(function.name)
        try:
            response = self.worker.invoke(
                function.function_id,
                [p.ParameterBinding(name=function.trigger_param, data=data)],
                metadata,
                timeout=self.timeout,
            )
        except concurrent.futures.TimeoutError:
            # The host gives up on the invocation (the worker thread cannot be stopped) and fails it.
            logger.error("Timeout value of %s s exceeded by function 'Functions.%s'", self.timeout, function.name)
            return None
        if response.result.status != p.StatusResult.Success:
            # As the host does: the worker's exception goes to the log, the caller learns nothing of it.
            logger.error(
                "Executed 'Functions.%s' (Failed): %s\n%s",
                function.name,
                response.result.exception.message,
                response.result.exception.stack_trace,
            )
            return None
        return response

    def invoke_timer(self, function: IndexedFunction, *, last: Any = None, next_: Any = None) -> bool:
        return self._invoke(function, trigger_data.timer_data(last=last, next_=next_)) is not None

    # ------------------------------------------------------------------ Event Grid webhook
    def _event_grid(self, request: HostRequest, query: list[tuple[str, str]]) -> HttpAnswer:
        if request.method.upper() != "POST":
            return HttpAnswer(405, [("Allow", "POST")], b"")
        if not self._authorized("system", self._presented_key(request, query)):
            return HttpAnswer(401, [], b"")
        name = next((v for k, v in query if k.lower() == "functionname"), "")
        function = self.functions.get(name)
        if function is None or function.trigger_type != EVENT_GRID_TRIGGER or self.disabled(function):
            return _problem(404, f"cannot find an enabled Event Grid function named {name!r}")
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            return _problem(400, "the body is not JSON")
        events = payload if isinstance(payload, list) else [payload]
        if not events or not all(isinstance(e, dict) for e in events):
            return _problem(400, "the body must be a JSON array of events (objects)")
        kind = request.header("aeg-event-type")
        if kind == "SubscriptionValidation":
            data = events[0].get("data")
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not isinstance(code, str) or not code:
                return _problem(400, "a SubscriptionValidation event carries data.validationCode")
            return HttpAnswer(200, _JSON, json.dumps({"validationResponse": code}).encode())
        if kind == "Unsubscribe":
            return HttpAnswer(202, [], b"")
        if kind != "Notification":
            return _problem(400, "aeg-event-type must be Notification, SubscriptionValidation or Unsubscribe")
        for event in events:
            if self._invoke(function, trigger_data.event_grid_data(event)) is None:
                return HttpAnswer(500, [], b"")
        return HttpAnswer(202, [], b"")

    # ------------------------------------------------------------------ admin API
    def _admin_invoke(self, request: HostRequest, query: list[tuple[str, str]], name: str) -> HttpAnswer:
        if request.method.upper() != "POST":
            return HttpAnswer(405, [("Allow", "POST")], b"")
        if not self._authorized("admin", self._presented_key(request, query)):
            return HttpAnswer(401, [], b"")
        function = next((f for f in self.functions.values() if f.name.lower() == name.lower()), None)
        if function is None:
            return HttpAnswer(404, [], b"")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _problem(400, 'the body must be JSON: {"input": "..."}')
        raw_input = body.get("input", "") if isinstance(body, dict) else None
        if not isinstance(raw_input, str):
            return _problem(400, 'the body must be JSON: {"input": "..."}')
        if function.trigger_type == HTTP_TRIGGER:
            return _problem(400, f"{function.name} is an HTTP function: call its route instead")
        if function.trigger_type == TIMER_TRIGGER:
            data = trigger_data.timer_data(last=None, next_=None)
        elif function.trigger_type == EVENT_GRID_TRIGGER:
            try:
                event = json.loads(raw_input)
            except ValueError:
                return _problem(400, "input must be one Event Grid event as a JSON string")
            if not isinstance(event, dict):
                return _problem(400, "input must be one Event Grid event as a JSON string")
            data = trigger_data.event_grid_data(event)
        else:
            data = self.worker.protos.TypedData(string=raw_input)
        if self._invoke(function, data) is None:
            logger.error("admin invocation of %s failed (the host would still have answered 202)", function.name)
        return HttpAnswer(202, [], b"")


def _problem(status: int, detail: str) -> HttpAnswer:
    body = {"status": status, "title": detail}
    return HttpAnswer(status, _JSON, json.dumps(body).encode())
