# The one place where every surface's request meets the shared machinery: routing to an
# operation, counting it, applying injected faults, and the shared state (`Context`) the
# surfaces read. Surface modules only describe Azure's behaviour and error shapes.
from __future__ import annotations

import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.directory import Directory
from emulator.eventgrid import EventGrid
from emulator.faults import Counters, Faults
from emulator.httpd import Request, Response
from emulator.seed import Seed
from emulator.tokens import TokenService


@dataclass
class Context:
    """State shared by all surfaces of one emulator. Surfaces meet through these lower-level
    objects (the directory, the event publisher), never through each other: no import cycles."""

    seed: Seed
    tokens: TokenService
    directory: Directory
    events: EventGrid = field(default_factory=EventGrid)
    counters: Counters = field(default_factory=Counters)
    faults: Faults = field(default_factory=Faults)
    urls: dict[str, str] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, surface: str) -> str:
        try:
            return self.urls[surface]
        except KeyError:
            raise RuntimeError("the emulator is not started") from None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Callable[[Request, re.Match[str]], Response]


def route(
    method: str,
    pattern: str,
    operation: str,
    handler: Callable[[Request, re.Match[str]], Response],
    *,
    ignore_case: bool = False,
) -> Route:
    return Route(method, re.compile(pattern, re.IGNORECASE if ignore_case else 0), operation, handler)


class Surface(ABC):
    """One emulated Azure host."""

    name: str  # key in Context.urls

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.lock = threading.RLock()

    @abstractmethod
    def handle(self, request: Request) -> Response: ...

    @abstractmethod
    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        """The surface's own error body for an injected fault."""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Back to the seed state."""

    @property
    def origin(self) -> str:
        return self.ctx.url(self.name)

    def find_route(self, routes: list[Route], request: Request) -> tuple[Route, re.Match[str]] | bool | None:
        """(route, match) for the request; False when the path exists for another method."""
        path_matched = False
        for candidate in routes:
            match = candidate.pattern.fullmatch(request.path)
            if match is None:
                continue
            if candidate.method == request.method:
                return candidate, match
            path_matched = True
        return False if path_matched else None

    def run(self, operation: str, request: Request, handler: Callable[[], Response]) -> Response:
        """Counts the operation, applies an injected fault if one is queued, else answers."""
        self.ctx.counters.increment(operation)
        fault = self.ctx.faults.take(operation)
        if fault is not None:
            if fault.delay:
                # Interruptible: stop() must not wait for a 15 s "timeout" fault.
                self.ctx.stopping.wait(fault.delay)
            if fault.status is not None:
                if fault.after:
                    handler()  # applied; the caller never learns it
                response = self.fault_response(operation, fault.status, request)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = str(fault.retry_after)
                return response
        return handler()


def new_id() -> str:
    return str(uuid.uuid4())
