"""Non-HTTP invocation for the minimal host: Event Grid and timer functions, as the Functions host exposes them.

A small, separate stand-in until the host moves to Microsoft's worker runtime (issue 11), which
implements the same contract (/work/coordination COMMON.md "Local host non-HTTP invocation"):

* ``POST /runtime/webhooks/EventGrid?functionName={name}`` with ``aeg-event-type: Notification`` and
  a JSON array of Event Grid schema events: each is handed to the function, then 202; a function
  that raises makes it a 500 without a body (Event Grid would redeliver). ``SubscriptionValidation``
  answers ``{"validationResponse": <data.validationCode>}``. The real host requires its
  ``eventgrid_extension`` system key; here the master key stands in (``x-functions-key`` or ``code``).
* ``POST /admin/functions/{name}`` with the master key and ``{"input": ""}`` runs a non-HTTP function
  (a timer gets a ``TimerRequest`` that is not past due), then 202. The real admin API answers 202
  before the function finishes; this one runs it first, which a caller polling for the effect
  cannot tell apart.

References: learn.microsoft.com/azure/azure-functions/functions-bindings-event-grid-trigger
("Local testing", webhook URL and ``aeg-event-type``), /event-grid/webhook-event-delivery (validation
handshake), /azure-functions/functions-manually-run-non-http (admin endpoint, 202, master key).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions.timer import TimerRequest

_LOGGER = logging.getLogger(__name__)
Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class _Function:
    name: str
    binding: str
    arg_name: str
    handler: Any


def _json(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()


def _event_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class NonHttpFunctions:
    def __init__(self, app: func.FunctionApp, *, master_key: str) -> None:
        app.functions_bindings = {}  # see host.http_functions: get_functions() indexes names once
        self._master_key = master_key
        self._functions: dict[str, _Function] = {}
        for function in app.get_functions():
            trigger = function.get_trigger()
            if trigger is None or trigger.get_binding_name() == "httpTrigger":
                continue
            name = function.get_function_name() or ""
            self._functions[name.lower()] = _Function(
                name, trigger.get_binding_name(), trigger.name, function.get_user_function()
            )

    def _authorized(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        presented = headers.get("x-functions-key") or query.get("code") or ""
        return hmac.compare_digest(presented.encode(), self._master_key.encode())

    def dispatch(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer | None:
        """The answer for a non-HTTP invocation path, or None when the path is not one."""
        parts = [p for p in path.split("/") if p]
        lowered = [p.lower() for p in parts]
        if lowered[:3] == ["runtime", "webhooks", "eventgrid"] and len(parts) == 3:
            target = "eventgrid"
        elif lowered[:2] == ["admin", "functions"] and len(parts) == 3:
            target = "admin"
        else:
            return None
        if method.upper() != "POST":
            return 405, {"Allow": "POST"}, b""
        if not self._authorized(headers, query):
            return 401, {}, b""
        if target == "admin":
            return self._admin(parts[2], body)
        return self._event_grid(query.get("functionName") or "", headers, body)

    def _call(self, function: _Function, value: Any) -> bool:
        try:
            function.handler(**{function.arg_name: value})
        except Exception:  # the real host logs the failure and answers without details
            _LOGGER.exception("function %s failed", function.name)
            return False
        return True

    def _admin(self, name: str, body: bytes) -> Answer:
        function = self._functions.get(name.lower())
        if function is None:
            return 404, {}, b""
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, b""
        if not isinstance(payload, dict):
            return 400, {}, b""
        if function.binding == "timerTrigger":
            self._call(function, TimerRequest(past_due=False))
        elif function.binding == "eventGridTrigger":
            return 400, {}, b""  # an Event Grid function takes events through its webhook
        else:
            self._call(function, payload.get("input"))
        return 202, {}, b""

    def _event_grid(self, name: str, headers: dict[str, str], body: bytes) -> Answer:
        function = self._functions.get(name.lower())
        if function is None or function.binding != "eventGridTrigger":
            return 404, {}, b""
        try:
            events = json.loads(body)
        except ValueError:
            return 400, {}, b""
        if isinstance(events, dict):
            events = [events]
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            return 400, {}, b""
        kind = headers.get("aeg-event-type", "")
        if kind == "SubscriptionValidation":
            data = events[0].get("data") if events else None
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not isinstance(code, str):
                return 400, {}, b""
            return _json(200, {"validationResponse": code})
        if kind != "Notification":
            return 400, {}, b""
        for event in events:
            grid_event = func.EventGridEvent(
                id=str(event.get("id", "")),
                data=event.get("data"),
                topic=str(event.get("topic", "")),
                subject=str(event.get("subject", "")),
                event_type=str(event.get("eventType", "")),
                event_time=_event_time(event.get("eventTime")),
                data_version=str(event.get("dataVersion", "")),
            )
            if not self._call(function, grid_event):
                return 500, {}, b""
        return 202, {}, b""
