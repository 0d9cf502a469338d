"""A local Functions host that runs the app on Microsoft's Python worker runtime (``azure-functions-runtime``).

Ours: the HTTP listener, routing, keys, the Event Grid webhook, the admin API, the timer
dispatcher and the protocol messages (``rpc_messages``). Microsoft's: indexing, binding
conversion and invocation, in ``azure_functions_runtime`` (``worker``).
"""

from emulator.functions_host.function_host import FunctionHost, HostRequest, route_prefix
from emulator.functions_host.server import serve
from emulator.functions_host.worker import WorkerError, worker_for

__all__ = ["FunctionHost", "HostRequest", "WorkerError", "route_prefix", "serve", "worker_for"]
