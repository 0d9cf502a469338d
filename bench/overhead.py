# The hot-path targets of `make bench` (issue 10): the Cosmos route's own overhead against a bare
# handler that only posts to the same ARM endpoint, the key cache's single flight, memory over
# 10,000 warm requests, and the Key Vault / ARM load those counts imply at scale.
from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import azure.functions as func
import requests

from bench.harness import Harness, delta
from bench.stats import percentile
from shared.key_kinds import KINDS

P50_TARGET = 1.10
P99_TARGET = 1.25
RSS_TARGET_BYTES = 5 * 1024 * 1024
CONCURRENT_KEY_REQUESTS = 64
ARM_OPERATION = "arm.readonlykeys"
KV_OPERATIONS = (
    "keyvault.challenge",
    "keyvault.get_certificate",
    "keyvault.list_certificate_versions",
    "keyvault.get_key",
    "keyvault.sign",
)

# The bare handler's client: module level, as a hand-written function would keep it. trust_env is
# off so that it does not walk the environment per request either: the comparison is against the
# leanest client requests offers, not against requests' defaults.
_BASELINE_SESSION = requests.Session()
_BASELINE_SESSION.trust_env = False


@dataclass(frozen=True)
class Baseline:
    """POST {ARM}{resource}/{action} with a static token; nothing else."""

    url: str
    token: str
    api_version: str = KINDS["cosmos"].api_version

    def __call__(self, req: func.HttpRequest) -> func.HttpResponse:
        response = _BASELINE_SESSION.post(
            self.url,
            params={"api-version": self.api_version},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        return func.HttpResponse(response.content, status_code=response.status_code, mimetype="application/json")


@contextlib.contextmanager
def info_logging() -> Iterator[None]:
    """INFO logging with a formatting handler; the lines go to /dev/null.

    No timestamp in the format: the Functions worker forwards the message, level and logger name to the
    host, which stamps the time itself.
    """
    root = logging.getLogger()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        saved = root.level
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(saved)


def _request(h: Harness) -> func.HttpRequest:
    return func.HttpRequest(
        method="GET",
        url=f"{h.base_url}/api/cosmos/cosmos-orders/keys",
        headers={},
        params={},
        route_params={"account": "cosmos-orders"},
        body=b"",
    )


def _baseline(h: Harness) -> Baseline:
    from shared.runtime import get_runtime

    runtime = get_runtime()
    assert runtime.tokens is not None and runtime.settings.cosmos_accounts
    account = next(a for a in runtime.settings.cosmos_accounts if a.name == "cosmos-orders")
    _BASELINE_SESSION.verify = h.emu.ca_bundle
    token = runtime.tokens.get(runtime.settings.arm_scope).token
    return Baseline(f"{runtime.settings.arm_endpoint}{account.resource_id}/readonlykeys", token)


def _time(call: Callable[[], func.HttpResponse]) -> tuple[int, float]:
    started = time.perf_counter()
    status = call().status_code
    return status, (time.perf_counter() - started) * 1e6


@dataclass
class Overhead:
    pairs: int
    route_us: list[float]
    baseline_us: list[float]
    statuses: set[int]
    counts: dict[str, int]

    def ratio(self, p: float) -> float:
        return percentile(self.route_us, p) / percentile(self.baseline_us, p)

    def difference_us(self, p: float) -> float:
        return percentile(self.route_us, p) - percentile(self.baseline_us, p)

    @property
    def met(self) -> bool:
        return self.ratio(50) <= P50_TARGET and self.ratio(99) <= P99_TARGET


def measure_overhead(
    h: Harness,
    pairs: int,
    *,
    function: str = "cosmos_keys",
    request_for: Callable[[Harness], func.HttpRequest] = _request,
    baseline_for: Callable[[Harness], Baseline] = _baseline,
    operation: str = ARM_OPERATION,
) -> Overhead:
    """Route vs bare handler, same process and emulator, interleaved (ABBA) so drift hits both."""
    h.cold()
    route = h.handler(function)
    request = request_for(h)
    assert route(request).status_code == 200  # pays for the chain once
    baseline = baseline_for(h)
    for _ in range(50):  # both warm: connections open, code paths hot
        route(request)
        baseline(request)
    before = h.counters()
    route_us: list[float] = []
    baseline_us: list[float] = []
    statuses: set[int] = set()
    with info_logging():
        for i in range(pairs):
            order = ((route, route_us), (baseline, baseline_us))
            for call, samples in order if i % 2 == 0 else order[::-1]:
                status, us = _time(lambda call=call: call(request))
                statuses.add(status)
                samples.append(us)
    counts = delta(before, h.counters(), "keyvault.sign", "entra.token", operation)
    return Overhead(pairs, route_us, baseline_us, statuses, counts)


def measure_single_flight(h: Harness) -> tuple[list[int], dict[str, int]]:
    """64 concurrent requests for one account with an empty key cache (cache on, ARM slowed)."""
    with h.settings(COSMOS_KEYS_CACHE_SECONDS="60"):
        h.cold()
        route = h.handler("cosmos_keys")
        h.emu.faults.inject(ARM_OPERATION, delay=0.2, times=None)
        try:
            before = h.counters()
            barrier = threading.Barrier(CONCURRENT_KEY_REQUESTS)

            def one(_: int) -> int:
                barrier.wait(timeout=30)
                return route(_request(h)).status_code

            with ThreadPoolExecutor(max_workers=CONCURRENT_KEY_REQUESTS) as pool:
                statuses = list(pool.map(one, range(CONCURRENT_KEY_REQUESTS)))
            return statuses, delta(before, h.counters(), ARM_OPERATION)
        finally:
            h.emu.faults.clear()


def rss_bytes() -> int:
    """Resident set size now (Linux /proc; elsewhere the peak, which can only overstate growth)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_rss(h: Harness, first: int, total: int) -> tuple[int, int, set[int]]:
    h.cold()
    route = h.handler("cosmos_keys")
    request = _request(h)
    statuses: set[int] = set()
    with info_logging():
        for _ in range(first):
            statuses.add(route(request).status_code)
        gc.collect()
        after_first = rss_bytes()
        for _ in range(total - first):
            statuses.add(route(request).status_code)
        gc.collect()
        after_all = rss_bytes()
    return after_first, after_all, statuses


def chain_counts(h: Harness) -> dict[str, int]:
    """Key Vault and Entra calls of one token acquisition (cold runtime, one request)."""
    h.cold()
    before = h.counters()
    assert h.handler("cosmos_keys")(_request(h)).status_code == 200
    return delta(before, h.counters(), *KV_OPERATIONS, "identity.token", "entra.token")


def profile_route(calls: int, top: int = 30) -> str:
    """Where a warm request's time goes: cProfile over ``calls`` route invocations, by own time.

    How the proxy-environment walk of ``requests`` (``merge_environment_settings``) and the
    per-request settings check were found (docs/operator.md, "Hot path targets").
    """
    import cProfile
    import io
    import pstats

    with Harness(COSMOS_KEYS_CACHE_SECONDS="0") as h:
        h.cold()
        route = h.handler("cosmos_keys")
        request = _request(h)
        for _ in range(100):
            route(request)
        profiler = cProfile.Profile()
        with info_logging():
            profiler.enable()
            for _ in range(calls):
                route(request)
            profiler.disable()
    out = io.StringIO()
    # The in-process emulator's threads show up too (Python 3.12+ profiles every thread): keep the
    # function's side only — its code, the HTTP client and logging.
    function_side = r"shared/|function_app|requests/|urllib3/|http/client|logging/|json/|azure/functions/"
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(function_side, top)
    return out.getvalue()
