"""SingleFlight: a waiter's wait is bounded by ``max_wait`` as well as by the request's deadline."""

from __future__ import annotations

import threading

import pytest

from shared.single_flight import SingleFlight


class GaveUp(Exception):
    pass


def test_a_waiter_gives_up_after_max_wait_while_the_leader_is_still_in_flight():
    flights: SingleFlight[str] = SingleFlight()
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(timeout=10)
        return "value"

    leader = threading.Thread(target=lambda: flights.run("k", slow, on_wait_timeout=GaveUp))
    leader.start()
    assert started.wait(timeout=5)
    try:
        with pytest.raises(GaveUp):
            flights.run("k", lambda: "not called", on_wait_timeout=GaveUp, max_wait=0.1)
    finally:
        release.set()
        leader.join(timeout=5)
    # The flight has landed: the next caller leads a flight of its own.
    assert flights.run("k", lambda: "again", on_wait_timeout=GaveUp, max_wait=0.1) == "again"
