"""The host's HTTP listener and timer dispatcher around ``FunctionHost``.

The listener reads each request whole (``Content-Length`` or chunked body), keeps repeated headers
as separate values, and writes the answer with its status, headers (repeated ones included) and
body. The timer dispatcher fires each timer trigger on its NCRONTAB schedule (``runOnStartup``
honoured) for as long as the host runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from emulator.functions_host.function_host import TIMER_TRIGGER, FunctionHost, HostRequest, IndexedFunction
from emulator.functions_host.ncrontab import Schedule, ScheduleError, resolve_setting

logger = logging.getLogger("emulator.functions_host")
MAX_BODY_BYTES = 100 * 1024 * 1024  # the host's default request size limit (100 MB)


class _TooLarge(ValueError):
    """A request body over the host's limit (answered 413)."""


def _read_chunked(stream: Any) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(stream.readline().split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise _TooLarge(MAX_BODY_BYTES)
        chunks.append(stream.read(size))
        stream.readline()


def _handler_class(host: FunctionHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

        def _serve(self) -> None:
            try:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    body = _read_chunked(self.rfile)
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    if length > MAX_BODY_BYTES:
                        raise _TooLarge(MAX_BODY_BYTES)
                    body = self.rfile.read(length) if length > 0 else b""
            except ValueError as error:
                self.send_response(413 if isinstance(error, _TooLarge) else 400)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                return
            address = self.server.server_address
            request = HostRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                base_url=f"http://{address[0]}:{address[1]}",
            )
            try:
                answer = host.handle(request)
            except Exception:  # a host bug, not the function's: still no details to the caller
                logger.exception("the local host failed on %s", self.command)
                answer = None
            status, headers, payload = (500, [], b"") if answer is None else answer
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return  # the app logs each request itself; query strings may carry the function key

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops bursts of concurrent connects
    daemon_threads = True


class TimerDispatcher:
    """Fires the host's timer triggers on schedule in a background thread."""

    def __init__(self, host: FunctionHost) -> None:
        self.host = host
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timer-dispatcher", daemon=True)
        self.schedules: dict[str, Schedule] = {}
        for function in host.functions.values():
            if function.trigger_type != TIMER_TRIGGER:
                continue
            try:
                self.schedules[function.name] = Schedule.parse(resolve_setting(str(function.trigger["schedule"])))
            except (KeyError, ScheduleError) as error:
                # The real host marks such a function as in error and runs the others.
                logger.error("timer function %s is in error: %s", function.name, error)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _fire(self, function: IndexedFunction, last: datetime | None, next_: datetime) -> None:
        if self.host.disabled(function):
            return
        logger.info("Executing 'Functions.%s' (Reason='Timer fired at %s')", function.name, datetime.now(UTC))
        self.host.invoke_timer(function, last=last, next_=next_)

    def _run(self) -> None:
        now = datetime.now(UTC)
        due = {name: schedule.next_after(now) for name, schedule in self.schedules.items()}
        last: dict[str, datetime | None] = dict.fromkeys(self.schedules)
        for name in self.schedules:
            function = self.host.functions[name]
            if function.trigger.get("runOnStartup"):
                self._fire(function, None, due[name])
        while due and not self._stop.is_set():
            name = min(due, key=due.__getitem__)
            wait = (due[name] - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(min(wait, 60.0)):
                return
            if datetime.now(UTC) < due[name]:
                continue  # woke early (waits are capped so clock changes are noticed)
            fired_at = due[name]
            due[name] = self.schedules[name].next_after(fired_at)
            self._fire(self.host.functions[name], last[name], due[name])
            last[name] = fired_at


def _app_directory(app_or_dir: Any) -> Path:
    """A directory, a module (its file's directory) or a FunctionApp (the directory of the script
    file, ``function_app.py`` or ``$PYTHON_SCRIPT_FILE_NAME``, that holds it at top level)."""
    if isinstance(app_or_dir, str | Path):
        return Path(app_or_dir).resolve()
    if isinstance(app_or_dir, ModuleType) and app_or_dir.__file__:
        return Path(app_or_dir.__file__).resolve().parent
    script = os.environ.get("PYTHON_SCRIPT_FILE_NAME", "function_app.py")
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).name == script and any(v is app_or_dir for v in vars(module).values()):
            return Path(file).resolve().parent
    raise TypeError(
        f"{app_or_dir!r} is not the app of a loaded {script}: pass its directory (the worker runtime imports "
        f"{script} from there; it serves one app per process)"
    )


@contextlib.contextmanager
def serve(
    app_or_dir: Any,
    *,
    function_keys: list[str],
    master_key: str,
    port: int = 0,
    prefix: str | None = None,
    run_timers: bool = False,
) -> Iterator[str]:
    """Serve the function app on 127.0.0.1 in a background thread; yields the base URL.

    ``app_or_dir``: the function app directory (holding function_app.py and host.json), its
    module, or its ``FunctionApp``. ``prefix`` defaults to host.json's ``routePrefix``.
    ``run_timers`` fires timer triggers on their schedules (the long-running host does).
    """
    host = FunctionHost(_app_directory(app_or_dir), function_keys=function_keys, master_key=master_key, prefix=prefix)
    server = _Server(("127.0.0.1", port), _handler_class(host))
    thread = threading.Thread(target=server.serve_forever, name="function-host", daemon=True)
    thread.start()
    timers = TimerDispatcher(host) if run_timers else None
    if timers is not None:
        timers.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        if timers is not None:
            timers.stop()
        server.shutdown()
        server.server_close()
