# The system under test in one process: the emulator, function_app behind the minimal host
# (as tests/e2e/conftest.py does), and direct calls of the route functions for figures the
# HTTP hop would blur. Settings go through os.environ, as the function reads them; the
# previous environment is restored on exit.
from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import azure.functions as func
import requests

from emulator import Emulator
from emulator.host import serve
from shared.runtime import reset_runtime

ROUTE = "/api/cosmos/cosmos-orders/keys"
REQUEST_TIMEOUT = 30.0


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def socket_fixes() -> Iterator[None]:
    """Works around two emulator artifacts that would swamp the function's own figures.

    * Nagle + delayed ACK: emulator/httpd.py and emulator/host.py write a response's headers
      and body in separate sends; on a keep-alive connection the body then waits for the
      client's delayed ACK (~40 ms on Linux). TCP_NODELAY (``disable_nagle_algorithm``) fixes it.
    * Listen backlog 5 (socketserver's default): 32 simultaneous connects to the emulator
      overflow it and the dropped SYNs are retried after ~1 s.
    Scoped to the harness and restored after; a no-op once the emulator sets both itself.
    """
    import emulator.host as host_module
    import emulator.httpd as httpd

    saved = (
        httpd._RequestHandler.disable_nagle_algorithm,
        httpd.HttpsServer.request_queue_size,
        host_module._handler_class,
    )
    original_handler_class = host_module._handler_class

    def handler_class(host: Any) -> Any:
        base = original_handler_class(host)
        return type(base.__name__, (base,), {"disable_nagle_algorithm": True})

    httpd._RequestHandler.disable_nagle_algorithm = True
    httpd.HttpsServer.request_queue_size = max(saved[1], 128)
    host_module._handler_class = handler_class
    try:
        yield
    finally:
        httpd._RequestHandler.disable_nagle_algorithm, httpd.HttpsServer.request_queue_size = saved[:2]
        host_module._handler_class = saved[2]


class Harness(AbstractContextManager["Harness"]):
    """Emulator + minimal host + function_app configured for keyvault mode."""

    def __init__(self, *, fix_sockets: bool = True, **settings: str) -> None:
        self._fix_sockets = fix_sockets
        self._settings = settings
        self._stack = contextlib.ExitStack()
        self.function_key = secrets.token_urlsafe(24)
        self.emu: Emulator
        self.base_url = ""
        self._handlers: dict[str, Callable[[func.HttpRequest], func.HttpResponse]] = {}

    def __enter__(self) -> Harness:
        try:
            self._start()
        except BaseException:
            self._stack.close()  # the emulator's server threads would otherwise keep the process alive
            raise
        return self

    def _start(self) -> None:
        import function_app  # imported here: importing makes no call, but keep `bench` import light

        app = function_app.app
        # FunctionApp.get_functions() may run once per app: it records names in
        # functions_bindings and rejects them the next time (as duplicates). The host and this
        # harness each index the app, and so may another fixture in the same pytest process.
        self._stack.callback(_forget_index, app)
        if self._fix_sockets:
            self._stack.enter_context(socket_fixes())
        state_dir = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-emulator-"))
        self.emu = self._stack.enter_context(Emulator(state_dir=state_dir))
        self._stack.enter_context(patched_environ({**self.emu.env, **self._settings}))
        self._stack.callback(reset_runtime)  # close the function's clients before the emulator stops
        _forget_index(app)
        self.base_url = self._stack.enter_context(
            serve(app, function_keys=[self.function_key], master_key=secrets.token_urlsafe(24))
        )
        _forget_index(app)
        self._handlers = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def cold(self) -> None:
        """Emulator back to its seed (counters zero) and a new function runtime: no token, no certificate."""
        self.emu.reset()
        reset_runtime()

    def counters(self) -> dict[str, int]:
        return self.emu.counters.snapshot()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["x-functions-key"] = self.function_key
        return session

    def http_get(self, session: requests.Session, path: str = ROUTE) -> int:
        """One request through the minimal host (HTTP/1.1 keep-alive on ``session``)."""
        return session.get(self.base_url + path, timeout=REQUEST_TIMEOUT).status_code

    def direct(self, function: str = "cosmos_keys", account: str = "cosmos-orders", **params: str) -> int:
        """Calls the route function as the host would, without HTTP or the function-key check."""
        request = func.HttpRequest(
            method="GET",
            url=f"{self.base_url}/api/cosmos/{account}/keys",
            headers={},
            params=params,
            route_params={"account": account},
            body=b"",
        )
        return self._handlers[function](request).status_code


def _forget_index(app: func.FunctionApp) -> None:
    app.functions_bindings = {}


def delta(before: Mapping[str, int], after: Mapping[str, int], *names: str) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in names}
