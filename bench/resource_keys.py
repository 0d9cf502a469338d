# The keys route's rows of `make bench` (issue 16): its warm overhead against a bare handler with
# the key cache off (the local-auth state stays cached, so one ARM call per request on both sides),
# one ARM call for concurrent misses, and a soak over HTTP through the local host while ARM answers a
# share of the key calls with 429 (Retry-After) or 503, ending with no unexpected status and flat memory.
from __future__ import annotations

import gc
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from bench.harness import Harness, delta
from bench.overhead import Baseline, Overhead, info_logging, measure_overhead, rss_bytes
from emulator.resource_kinds import KINDS as EMULATED
from shared.key_kinds import KINDS

OVERHEAD_KIND, OVERHEAD_NAME, OVERHEAD_ACTION = "storage", "stgorders", "listKeys"
FLIGHT_KIND, FLIGHT_NAME, FLIGHT_ACTION = "search", "srch-catalog", "listAdminKeys"
CONCURRENT = 64
# The seeded resources the soak asks for, with the key type each is asked for (emulator/seed.py).
SOAK_TARGETS = (
    ("storage", "stgorders", "readwrite"),
    ("servicebus", "sb-orders", "readwrite"),
    ("eventhubs", "evh-telemetry", "readwrite"),
    ("redis", "redis-sessions", "readwrite"),
    ("search", "srch-catalog", "readonly"),
    ("search", "srch-catalog", "readwrite"),
    ("cognitiveservices", "oai-tools", "readwrite"),
    ("appconfig", "appcs-settings", "readonly"),
    ("cosmos", "cosmos-orders", "readonly"),
)
# Per request: 200; or, when the injected fault outlasted the broker's retries, what SPEC "Errors" maps
# it to: 503 with Retry-After (ARM still throttling: 429) or 502 naming ARM and its 503 (a 5xx without
# Retry-After is a failure, not throttling). Anything else (a 500, a 504, another upstream) is unexpected.
EXPECTED_SOAK_STATUSES = frozenset({200, 502, 503})


def _expected_failure(response: Any) -> bool:
    try:
        problem = response.json()
    except ValueError:
        return False
    if problem.get("upstream") != "arm":
        return False
    if response.status_code == 503:
        return "Retry-After" in response.headers
    return response.status_code == 502 and problem.get("upstreamStatus") == 503


FAULT_SHARE = 0.2  # of the key calls, answered 429 (Retry-After 1) or 503 by ARM
RSS_TARGET_BYTES = 5 * 1024 * 1024


def operation(kind: str, action: str) -> str:
    return EMULATED[kind].action(action).operation


def _request(kind: str, name: str, key_type: str) -> func.HttpRequest:
    return func.HttpRequest(
        method="GET",
        url=f"http://localhost/api/keys/{kind}/{name}?type={key_type}",
        headers={},
        params={"type": key_type},
        route_params={"kind": kind, "name": name},
        body=b"",
    )


def _storage_request(h: Harness) -> func.HttpRequest:
    return _request(OVERHEAD_KIND, OVERHEAD_NAME, "readwrite")


def _storage_baseline(h: Harness) -> Baseline:
    from bench.overhead import _BASELINE_SESSION
    from shared.runtime import get_runtime

    runtime = get_runtime()
    assert runtime.tokens is not None and runtime.resource_keys is not None
    resource = runtime.resource_keys.resource(KINDS[OVERHEAD_KIND], OVERHEAD_NAME)
    _BASELINE_SESSION.verify = h.emu.ca_bundle
    token = runtime.tokens.get(runtime.settings.arm_scope).token
    return Baseline(
        f"{runtime.settings.arm_endpoint}{resource.resource_id}/{OVERHEAD_ACTION}",
        token,
        api_version=KINDS[OVERHEAD_KIND].api_version,
    )


def measure_keys_overhead(h: Harness, pairs: int) -> Overhead:
    """/api/keys/storage/stgorders?type=readwrite with RESOURCE_KEYS_CACHE_SECONDS=0 vs a bare listKeys POST."""
    with h.settings(RESOURCE_KEYS_CACHE_SECONDS="0"):
        return measure_overhead(
            h,
            pairs,
            function="resource_keys",
            request_for=_storage_request,
            baseline_for=_storage_baseline,
            operation=operation(OVERHEAD_KIND, OVERHEAD_ACTION),
        )


def measure_keys_single_flight(h: Harness) -> tuple[list[int], dict[str, int]]:
    """64 concurrent requests for one resource and key type, empty caches, ARM slowed: one read, one key call."""
    read, action = EMULATED[FLIGHT_KIND].read_operation, operation(FLIGHT_KIND, FLIGHT_ACTION)
    with h.settings(RESOURCE_KEYS_CACHE_SECONDS="60"):
        h.cold()
        route = h.handler("resource_keys")
        assert route(_request("redis", "redis-sessions", "readwrite")).status_code == 200  # token cached
        h.emu.faults.inject(action, delay=0.2, times=None)
        h.emu.faults.inject(read, delay=0.1, times=None)
        try:
            before = h.counters()
            barrier = threading.Barrier(CONCURRENT)

            def one(_: int) -> int:
                barrier.wait(timeout=30)
                return route(_request(FLIGHT_KIND, FLIGHT_NAME, "readwrite")).status_code

            with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
                statuses = list(pool.map(one, range(CONCURRENT)))
            return statuses, delta(before, h.counters(), action, read)
        finally:
            h.emu.faults.clear()


@dataclass
class Soak:
    seconds: float
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    faults: int = 0
    key_calls: int = 0
    rss_first: int = 0
    rss_last: int = 0

    @property
    def growth(self) -> int:
        return self.rss_last - self.rss_first

    @property
    def ok(self) -> bool:
        return not self.unexpected and self.statuses[200] > 0


def soak(h: Harness, seconds: float, threads: int = 8) -> Soak:
    """Every seeded kind over HTTP through the local host, key cache off, ARM faulting a share of key calls."""
    result = Soak(seconds)
    key_operations = sorted(
        {operation(k, a.name) for k, _, t in SOAK_TARGETS for kt, a in KINDS[k].actions.items() if str(kt) == t}
    )
    rng = random.Random(16)
    stop = threading.Event()
    lock = threading.Lock()
    with h.settings(RESOURCE_KEYS_CACHE_SECONDS="0", COSMOS_KEYS_CACHE_SECONDS="0"):
        h.cold()
        with h.session() as warm:  # the chain once, and the local-auth reads, before the clock starts
            for kind, name, key_type in SOAK_TARGETS:
                assert h.http_get(warm, f"/api/keys/{kind}/{name}?type={key_type}") == 200
        before = h.counters()

        def inject() -> None:
            # Paced so that about FAULT_SHARE of the key calls meet a fault.
            while not stop.is_set():
                with lock:
                    done = result.requests
                    due = int(done * FAULT_SHARE) - result.faults
                for _ in range(max(due, 0)):
                    status = rng.choice((429, 503))
                    h.emu.faults.inject(
                        rng.choice(key_operations), status=status, retry_after=1 if status == 429 else None
                    )
                    with lock:
                        result.faults += 1
                stop.wait(0.02)

        def client(index: int) -> None:
            targets = SOAK_TARGETS[index % len(SOAK_TARGETS) :] + SOAK_TARGETS[: index % len(SOAK_TARGETS)]
            deadline = time.monotonic() + seconds
            i = 0
            with h.session() as session:
                while time.monotonic() < deadline:
                    kind, name, key_type = targets[i % len(targets)]
                    i += 1
                    response = session.get(
                        f"{h.base_url}/api/keys/{kind}/{name}", params={"type": key_type}, timeout=60
                    )
                    with lock:
                        result.requests += 1
                        result.statuses[response.status_code] += 1
                        if response.status_code not in EXPECTED_SOAK_STATUSES or (
                            response.status_code != 200 and not _expected_failure(response)
                        ):
                            result.unexpected.append(f"{kind}/{name} {response.status_code} {response.text[:200]}")
                        if result.requests == threads * 20:  # warmed up: the first memory reading
                            gc.collect()
                            result.rss_first = rss_bytes()

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
        with info_logging(), ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(client, range(threads)))
        stop.set()
        injector.join(timeout=5)
        h.emu.faults.clear()
        gc.collect()
        result.rss_last = rss_bytes()
        if not result.rss_first:
            result.rss_first = result.rss_last
        counts = delta(before, h.counters(), *key_operations)
        result.key_calls = sum(counts.values())
    return result
