"""A minimal stand-in for the Azure Functions host, used only when Core Tools (``func``) is absent.

It serves a ``FunctionApp``'s own HTTP triggers (and invokes its timer and Event Grid functions
through ``host_triggers``) from their metadata — route template,
methods and auth level — under the ``routePrefix`` of ``host.json``, and enforces function keys
as the real host does (``x-functions-key`` header or ``code`` query parameter; 401 without a
body otherwise). It has no route logic of its own: everything else is the app's.
References: learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger
("Customize the HTTP endpoint", "Authorization level", "Obtaining keys").
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import importlib
import json
import logging
import re
import secrets
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from emulator.host_triggers import NonHttpFunctions

_PARAM = re.compile(r"^\{(?P<star>\*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<constraint>[^}?]+))?(?P<opt>\?)?\}$")
_CONSTRAINTS = {
    "int": re.compile(r"^-?\d+$"),
    "alpha": re.compile(r"^[A-Za-z]+$"),
    "guid": re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"),
    "bool": re.compile(r"^(?i:true|false)$"),
}


@dataclass(frozen=True)
class HttpFunction:
    name: str
    segments: tuple[str, ...]
    methods: frozenset[str]
    auth_level: str
    handler: Any

    def match(self, parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            param = _PARAM.match(segment)
            if param is None:
                if index >= len(parts) or parts[index].lower() != segment.lower():
                    return None
                continue
            if param["star"]:
                params[param["name"]] = "/".join(parts[index:])
                return params
            if index >= len(parts):
                return params if param["opt"] else None
            value = parts[index]
            constraint = param["constraint"]
            if constraint and constraint in _CONSTRAINTS and not _CONSTRAINTS[constraint].match(value):
                return None
            params[param["name"]] = value
        return params if len(parts) == len(self.segments) else None


def http_functions(app: func.FunctionApp) -> list[HttpFunction]:
    # azure-functions records names on the first get_functions() and rejects them as duplicates
    # on the next: forget that index so an app can be served more than once per process.
    app.functions_bindings = {}
    functions = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue
        route = getattr(trigger, "route", None) or function.get_function_name()
        methods = getattr(trigger, "methods", None) or ["GET", "POST"]
        auth_level = getattr(trigger, "auth_level", None) or func.AuthLevel.FUNCTION
        functions.append(
            HttpFunction(
                name=function.get_function_name() or route,
                segments=tuple(s for s in route.strip("/").split("/") if s),
                methods=frozenset(str(getattr(m, "value", m)).upper() for m in methods),
                auth_level=str(getattr(auth_level, "value", auth_level)).lower(),
                handler=function.get_user_function(),
            )
        )
    return functions


def route_prefix(host_json: Path) -> str:
    try:
        config = json.loads(host_json.read_text())
    except (OSError, ValueError):
        return "api"
    prefix = config.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(prefix).strip("/")


class FunctionHost:
    """Dispatches requests to a FunctionApp's HTTP triggers, as the Functions host would."""

    def __init__(
        self, app: func.FunctionApp, *, function_keys: list[str], master_key: str, prefix: str = "api"
    ) -> None:
        self.functions = http_functions(app)
        self.non_http = NonHttpFunctions(app, master_key=master_key)
        self.function_keys = list(function_keys)
        self.master_key = master_key
        self.prefix = [p for p in prefix.split("/") if p]

    def _authorized(self, level: str, headers: dict[str, str], query: dict[str, str]) -> bool:
        if level == "anonymous":
            return True
        presented = headers.get("x-functions-key") or query.get("code") or ""
        accepted = [self.master_key] if level == "admin" else [*self.function_keys, self.master_key]
        return any(hmac.compare_digest(presented.encode(), key.encode()) for key in accepted)

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes, base_url: str
    ) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(target)
        lowered = {k.lower(): v for k, v in headers.items()}
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        invoked = self.non_http.dispatch(method, unquote(url.path), query, lowered, body)
        if invoked is not None:
            return invoked
        parts = [unquote(p) for p in url.path.split("/") if p]
        if parts[: len(self.prefix)] != self.prefix:
            return 404, {}, b""
        parts = parts[len(self.prefix) :]
        for function in self.functions:
            route_params = function.match(parts)
            if route_params is None or method.upper() not in function.methods:
                continue
            if not self._authorized(function.auth_level, lowered, query):
                return 401, {}, b""
            request = func.HttpRequest(
                method=method.upper(),
                url=base_url + target,
                headers=headers,
                params=query,
                route_params=route_params,
                body=body,
            )
            try:
                response = function.handler(request)
            except Exception:  # the real host answers 500 without details
                logging.getLogger(__name__).exception("function %s raised", function.name)
                return 500, {}, b""
            out_headers = dict(response.headers)
            if response.mimetype and "content-type" not in {k.lower() for k in out_headers}:
                charset = f"; charset={response.charset}" if response.charset else ""
                out_headers["Content-Type"] = response.mimetype + charset
            return response.status_code, out_headers, response.get_body() or b""
        return 404, {}, b""


def _handler_class(host: FunctionHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            base_url = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
            status, headers, payload = host.dispatch(
                self.command, self.path, dict(self.headers.items()), body, base_url
            )
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return  # the app logs each request itself; query strings may carry the function key

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops bursts of concurrent connects


@contextlib.contextmanager
def serve(
    app: func.FunctionApp, *, function_keys: list[str], master_key: str, port: int = 0, prefix: str = "api"
) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a background thread; yields the base URL."""
    host = FunctionHost(app, function_keys=function_keys, master_key=master_key, prefix=prefix)
    server = _Server(("127.0.0.1", port), _handler_class(host))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="function-host", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Minimal local Functions host (used when `func` is absent).")
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the FunctionApp")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--function-key", default=None, help="default: a random key, printed at start")
    args = parser.parse_args(argv)
    module_name, _, attribute = args.app.partition(":")
    sys.path.insert(0, str(Path.cwd()))
    app = getattr(importlib.import_module(module_name), attribute or "app")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    key = args.function_key or secrets.token_urlsafe(32)
    prefix = route_prefix(Path.cwd() / "host.json")
    with serve(app, function_keys=[key], master_key=secrets.token_urlsafe(32), port=args.port, prefix=prefix) as url:
        # The key itself is not printed (stdout ends up in logs): a random one goes to a 0600 file.
        where = "as given by --function-key"
        if not args.function_key:
            key_file = Path(".emulator") / "function-key"
            key_file.parent.mkdir(exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(key, encoding="utf-8")
            where = f"in {key_file}"
        print(f"Functions (minimal host) listening on {url}/{prefix}; function key {where}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
