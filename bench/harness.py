# The system under test in one process: the emulator, function_app on azure-functions-runtime
# behind the local host (as tests/e2e/conftest.py does), and invocations through the runtime
# without the HTTP listener, for figures the HTTP hop would blur. Settings go through
# os.environ, as the function reads them; the previous environment is restored on exit.
from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType

import azure.functions as func
import requests

from emulator import Emulator
from emulator.functions_host import FunctionHost, HostRequest, serve
from shared.runtime import reset_runtime

APP_DIR = Path(__file__).resolve().parents[1]

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
    """Emulator + local host (azure-functions-runtime) + function_app configured for keyvault mode."""

    def __init__(self, **settings: str) -> None:
        self._settings = settings
        self._stack = contextlib.ExitStack()
        self.function_key = secrets.token_urlsafe(24)
        self.emu: Emulator
        self.base_url = ""
        self._host: FunctionHost | None = None

    def __enter__(self) -> Harness:
        try:
            self._start()
        except BaseException:
            self._stack.close()  # the emulator's server threads would otherwise keep the process alive
            raise
        return self

    def _start(self) -> None:
        state_dir = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-emulator-"))
        self.emu = self._stack.enter_context(Emulator(state_dir=state_dir))
        self._stack.enter_context(patched_environ({**self.emu.env, **self._settings}))
        self._stack.callback(reset_runtime)  # close the function's clients before the emulator stops
        master_key = secrets.token_urlsafe(24)
        self.base_url = self._stack.enter_context(
            serve(APP_DIR, function_keys=[self.function_key], master_key=master_key)
        )
        # The same host logic and runtime as behind the listener (the process's one worker).
        self._host = FunctionHost(APP_DIR, function_keys=[self.function_key], master_key=master_key)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def cold(self) -> None:
        """Emulator back to its seed (counters zero) and a new function runtime: no token, no certificate."""
        self.emu.reset()
        reset_runtime()

    def handler(self, function: str) -> Callable[[func.HttpRequest], func.HttpResponse]:
        """The Python function behind ``function``, called directly: no host, no worker runtime."""
        import function_app

        # azure-functions rejects a second indexing of the same app as duplicates unless its
        # index is cleared; the runtime already indexed it when the host started.
        function_app.app.functions_bindings = {}
        try:
            functions = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}
        finally:
            function_app.app.functions_bindings = {}
        return functions[function]

    @contextlib.contextmanager
    def settings(self, **values: str) -> Iterator[None]:
        """Override app settings for a block; the runtime rebuilds itself from the changed environment."""
        with patched_environ(values):
            yield
        reset_runtime()

    def counters(self) -> dict[str, int]:
        return self.emu.counters.snapshot()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["x-functions-key"] = self.function_key
        return session

    def http_get(self, session: requests.Session, path: str = ROUTE) -> int:
        """One request through the local host (HTTP/1.1 keep-alive on ``session``)."""
        return session.get(self.base_url + path, timeout=REQUEST_TIMEOUT).status_code

    def direct(self, path: str = ROUTE) -> int:
        """One invocation through the host's routing and azure-functions-runtime, without the HTTP listener."""
        assert self._host is not None
        request = HostRequest("GET", path, [("x-functions-key", self.function_key)], b"", self.base_url)
        return self._host.handle(request).status


def delta(before: Mapping[str, int], after: Mapping[str, int], *names: str) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in names}
