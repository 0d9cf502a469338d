"""Single-flight: concurrent callers asking for the same key share one call and its outcome.

The first caller for a key (the leader) runs the call; callers arriving while it is in flight
wait for it and get the same result, or the same exception — a failure is not repeated by each
waiter in turn, and nothing is remembered once the flight lands (an error is never cached).
Waiters give up at the request's deadline (``retry.remaining``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from .upstream import remaining

V = TypeVar("V")


class SingleFlight[V]:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._flights: dict[Hashable, Future[V]] = {}

    def run(
        self,
        key: Hashable,
        call: Callable[[], V],
        *,
        on_wait_timeout: Callable[[], Exception],
        max_wait: float | None = None,
    ) -> V:
        """``max_wait``: a waiter also gives up after this many seconds (e.g. the leader's own timeout)."""
        with self._guard:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leader:
            try:
                left = remaining()
                wait = max_wait if left is None else left if max_wait is None else min(left, max_wait)
                return flight.result(timeout=wait)
            except FutureTimeout:
                raise on_wait_timeout() from None
        try:
            value = call()
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            with self._guard:
                self._flights.pop(key, None)
