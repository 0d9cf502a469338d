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

import azure.functions as func
import requests

from emulator import Emulator
from emulator.host import http_functions, serve
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


class Harness(AbstractContextManager["Harness"]):
    """Emulator + minimal host + function_app configured for keyvault mode."""

    def __init__(self, **settings: str) -> None:
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
        state_dir = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-emulator-"))
        self.emu = self._stack.enter_context(Emulator(state_dir=state_dir))
        self._stack.enter_context(patched_environ({**self.emu.env, **self._settings}))
        self._stack.callback(reset_runtime)  # close the function's clients before the emulator stops
        self.base_url = self._stack.enter_context(
            serve(app, function_keys=[self.function_key], master_key=secrets.token_urlsafe(24))
        )
        self._handlers = {f.name: f.handler for f in http_functions(app)}

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


def delta(before: Mapping[str, int], after: Mapping[str, int], *names: str) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in names}
