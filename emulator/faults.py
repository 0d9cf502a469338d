# Request counters and fault injection, shared by every surface (docs/emulator.md,
# "Counter / fault operation names"). A fault is answered in the surface's own error shape;
# the surface supplies that shape, this module only decides *whether* and *how* to misbehave.
# Retry-After is added only when asked: azure-core retries any >= 400 response carrying it
# (AZURE-PROTOCOLS.md 1.8), so a stray header would change client behaviour.
from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass

from emulator.resource_kinds import OPERATIONS as _ARM_KEY_OPERATIONS

OPERATIONS = (
    frozenset(
        {
            "identity.token",
            "keyvault.challenge",
            "keyvault.get_certificate",
            "keyvault.get_certificate_policy",
            "keyvault.list_certificate_versions",
            "keyvault.get_key",
            "keyvault.sign",
            "entra.token",
            "entra.openid_configuration",
            "entra.jwks",
            "arm.listKeys",
            "arm.readonlykeys",
            "graph.users",
            "graph.get_application",
            "graph.addKey",
            "graph.removeKey",
        }
    )
    | _ARM_KEY_OPERATIONS
)  # arm.listKeys, arm.readonlykeys, arm.cosmos.read, arm.{kind}.{action|get}


class Counters:
    """Requests that reached each operation, whatever they were answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def increment(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def get(self, operation: str) -> int:
        with self._lock:
            return self._counts[operation]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in sorted(OPERATIONS | set(self._counts))}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass(frozen=True)
class Fault:
    """What one faulted request gets: an optional delay, then (when `status` is set) an error
    in the surface's shape instead of the normal answer."""

    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    # The request is carried out and only then answered with the error: a write that took effect
    # although its response was lost or failed (a gateway 5xx after the backend applied it).
    after: bool = False


@dataclass
class _Entry:
    fault: Fault
    remaining: int | None  # None: until cleared


class Faults:
    """FIFO queue of faults per operation; each entry applies `times` times (None: forever)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Entry]] = {}

    def inject(
        self,
        operation: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        after: bool = False,
    ) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {sorted(OPERATIONS)}")
        if status is None and not delay:
            raise ValueError("a fault needs a status, a delay or both")
        if status is not None and not 400 <= int(status) <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if retry_after is not None and (int(retry_after) != retry_after or retry_after < 0):
            # Integer seconds only: urllib3's Retry rejects fractional values (AZURE-PROTOCOLS.md 6).
            raise ValueError("retry_after must be a non-negative integer number of seconds")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        fault = Fault(
            status=None if status is None else int(status),
            retry_after=None if retry_after is None else int(retry_after),
            delay=float(delay),
            after=bool(after),
        )
        with self._lock:
            self._queues.setdefault(operation, deque()).append(_Entry(fault, times))

    def take(self, operation: str) -> Fault | None:
        """The fault for this request, if any, consuming one use of the oldest entry."""
        with self._lock:
            queue = self._queues.get(operation)
            if not queue:
                return None
            entry = queue[0]
            if entry.remaining is not None:
                entry.remaining -= 1
                if entry.remaining == 0:
                    queue.popleft()
            return entry.fault

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {op: len(queue) for op, queue in self._queues.items() if queue}

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
