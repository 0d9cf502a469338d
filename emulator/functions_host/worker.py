"""Microsoft's Python worker runtime (``azure_functions_runtime``), driven in-process as the Functions host drives it.

On Azure (Python 3.13+), the Functions host starts the proxy worker, which receives the host's gRPC
``StreamingMessage``s and awaits the runtime's handler for each one, passing the message and
``properties={"host": ..., "protos": <message classes>}`` (Azure/azure-functions-python-worker,
``proxy_worker/dispatcher.py``). The host's sequence is: ``WorkerInitRequest`` (the runtime imports
``function_app.py`` and indexes it), ``FunctionsMetadataRequest`` (the indexed functions),
one ``FunctionLoadRequest`` per function, then one ``InvocationRequest`` per trigger firing.

Here the host and the worker share one process (tests monkeypatch ``os.environ`` and expect the
function to see it), so instead of gRPC the runtime's coroutines run on a dedicated event loop
thread — the proxy worker's loop — and callers block on the result. The runtime keeps its
function registry in module globals: one function app per process, as one worker process serves
one app in Azure.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.functions_host.rpc_messages import protos

HOST_VERSION = "4.0.0-local"  # the Functions host major version the runtime targets
INIT_TIMEOUT_SECONDS = 120.0


class WorkerError(RuntimeError):
    """The runtime answered a request with ``StatusResult.Failure``; carries its own message and stack."""

    def __init__(self, stage: str, message: str, stack_trace: str = "") -> None:
        super().__init__(f"{stage} failed: {message}")
        self.stage = stage
        self.runtime_message = message
        self.stack_trace = stack_trace


@dataclass
class WorkerRequest:
    """What the proxy worker hands to each runtime handler: the message and its properties."""

    name: str
    request: Any  # a StreamingMessage
    properties: dict[str, Any] = field(default_factory=dict)


def _check(stage: str, result: Any) -> None:
    if result.status != protos().StatusResult.Success:
        raise WorkerError(stage, result.exception.message or "(no message)", result.exception.stack_trace)


class LanguageWorker:
    """One initialised runtime serving the function app in ``app_directory``."""

    def __init__(self, app_directory: Path) -> None:
        self.app_directory = app_directory.resolve()
        self.protos = protos()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="functions-worker", daemon=True)
        self._thread.start()
        self.functions: list[Any] = []  # RpcFunctionMetadata, in the runtime's order
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        # The proxy worker puts the app's directory first on sys.path; the runtime then imports
        # function_app by module name.
        if str(self.app_directory) not in sys.path:
            sys.path.insert(0, str(self.app_directory))
        runtime = importlib.import_module("azure_functions_runtime")
        self._runtime = runtime
        p = self.protos
        init = p.StreamingMessage(
            request_id=str(uuid.uuid4()),
            worker_init_request=p.WorkerInitRequest(
                host_version=HOST_VERSION,
                worker_directory=str(Path(runtime.__file__).parent),
                function_app_directory=str(self.app_directory),
            ),
        )
        response = self._call(runtime.worker_init_request, "WorkerInitRequest", init, INIT_TIMEOUT_SECONDS)
        _check("WorkerInitRequest (indexing the function app)", response.result)
        self.capabilities = dict(response.capabilities)
        metadata = self._call(
            runtime.functions_metadata_request,
            "FunctionsMetadataRequest",
            p.StreamingMessage(
                request_id=str(uuid.uuid4()),
                functions_metadata_request=p.FunctionsMetadataRequest(function_app_directory=str(self.app_directory)),
            ),
            INIT_TIMEOUT_SECONDS,
        )
        _check("FunctionsMetadataRequest", metadata.result)
        if metadata.use_default_metadata_indexing:
            raise WorkerError("FunctionsMetadataRequest", "the runtime asked for host indexing (function.json apps)")
        for function in metadata.function_metadata_results:
            loaded = self._call(
                runtime.function_load_request,
                "FunctionLoadRequest",
                p.StreamingMessage(
                    request_id=str(uuid.uuid4()),
                    function_load_request=p.FunctionLoadRequest(function_id=function.function_id, metadata=function),
                ),
                INIT_TIMEOUT_SECONDS,
            )
            _check(f"FunctionLoadRequest ({function.name})", loaded.result)
            self.functions.append(function)
        # The proxy worker's pool for synchronous functions (PYTHON_THREADPOOL_THREAD_COUNT).
        runtime.start_threadpool_executor()

    def _call(
        self,
        handler: Callable[[WorkerRequest], Coroutine[Any, Any, Any]],
        name: str,
        message: Any,
        timeout: float | None,
    ) -> Any:
        request = WorkerRequest(name, message, {"host": "127.0.0.1", "protos": self.protos})
        return asyncio.run_coroutine_threadsafe(handler(request), self._loop).result(timeout)

    def invoke(
        self,
        function_id: str,
        input_data: list[Any],
        trigger_metadata: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """One ``InvocationRequest``; returns the runtime's ``InvocationResponse`` (status, return value, outputs)."""
        p = self.protos
        message = p.StreamingMessage(
            request_id=str(uuid.uuid4()),
            invocation_request=p.InvocationRequest(
                invocation_id=str(uuid.uuid4()),
                function_id=function_id,
                input_data=input_data,
                trigger_metadata=trigger_metadata or {},
                trace_context=p.RpcTraceContext(),
                retry_context=p.RetryContext(),
            ),
        )
        return self._call(self._runtime.invocation_request, "InvocationRequest", message, timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


_lock = threading.Lock()
_worker: LanguageWorker | None = None


def worker_for(app_directory: Path) -> LanguageWorker:
    """The process's worker for ``app_directory``, initialised on first use and then reused.

    The runtime keeps its registry in module globals and imports ``function_app`` by name, so a
    process can serve one function app; another directory is refused rather than mixed in.
    """
    global _worker
    with _lock:
        if _worker is None:
            _worker = LanguageWorker(app_directory)
        elif _worker.app_directory != app_directory.resolve():
            raise RuntimeError(
                f"this process already runs {_worker.app_directory} on azure_functions_runtime; "
                f"it holds one function app per process (start another process for {app_directory})"
            )
        return _worker
