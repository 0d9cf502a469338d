# The scenarios of `make bench` and the Markdown report. Every scenario is bounded (by N or by
# a deadline) and reads the emulator's counters around what it measures, so each figure comes
# with the upstream calls that explain it.
from __future__ import annotations

import datetime as dt
import platform
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TextIO

from bench import overhead, resource_keys
from bench.harness import Harness, delta
from bench.imports import MAX_RATIO, import_ratio
from bench.scale import Scale
from bench.stats import percentile, summary, timed

CHAIN = ("identity.token", "keyvault.get_certificate", "keyvault.sign", "entra.token")
ARM = "arm.readonlykeys"
HTTP = "HTTP, local host"
DIRECT = "host, no HTTP"
ARM_DELAY_SECONDS = 0.05
# Clients, host, function and emulator share one interpreter: CPU-bound work is serialised.
PYTHON_CALL = "function called directly"
GIL_NOTE = "hot, ARM every time; one process for clients, host, function and emulator: GIL-bound"
MAX_REQUESTS_PER_THREAD = 100_000  # a bound on the throughput loops besides their deadline


@dataclass(frozen=True)
class Config:
    cold_runs: int
    hot_requests: int
    concurrent: int
    throughput_threads: int
    throughput_seconds: float
    baseline_seconds: float
    overhead_pairs: int
    rss_requests: int
    soak_seconds: float = 20.0
    quick: bool = False

    @classmethod
    def for_mode(cls, quick: bool) -> Config:
        if quick:
            return cls(cold_runs=2, hot_requests=20, concurrent=32, throughput_threads=8,
                       throughput_seconds=0.3, baseline_seconds=0.3, overhead_pairs=100, rss_requests=300,
                       soak_seconds=3.0, quick=True)  # fmt: skip
        return cls(cold_runs=5, hot_requests=500, concurrent=32, throughput_threads=8,
                   throughput_seconds=3.0, baseline_seconds=1.5, overhead_pairs=10_000,
                   rss_requests=10_000)  # fmt: skip


@dataclass
class Row:
    key: str
    scenario: str
    via: str
    n: int
    figure: str
    counts: dict[str, int]
    ok: bool = True
    note: str = ""
    rate: float = 0.0  # requests/s, for throughput rows
    target: str = ""  # the target, when the row has one
    met: bool | None = None  # None: no target, or a quick run whose figures are noise

    def cells(self) -> list[str]:
        upstream = ", ".join(f"{name} {count:+d}" for name, count in self.counts.items())
        status = "" if self.ok else " **(unexpected)**"
        verdict = {True: "pass", False: "**FAIL**", None: "not judged" if self.target else ""}[self.met]
        target = f"{self.target}: {verdict}" if self.target else ""
        return [self.key, self.scenario, self.via, str(self.n), self.figure + status, upstream, target, self.note]


@dataclass
class Report:
    quick: bool
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    scale: Scale | None = None

    @property
    def ok(self) -> bool:
        """Every row behaved, and every judged target was held."""
        return all(row.ok and row.met is not False for row in self.rows)

    def row(self, key: str) -> Row:
        return next(row for row in self.rows if row.key == key)

    def markdown(self) -> str:
        header = ["", "scenario", "via", "N", "figure", "emulator counter deltas", "target", "note"]
        lines = [
            "# Broker benchmarks (emulator, keyvault mode, `COSMOS_KEYS_CACHE_SECONDS=0`)",
            "",
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · Python {platform.python_version()} · "
            f"{platform.system()} {platform.machine()} · {'quick (figures are noise)' if self.quick else 'full'} · "
            f"{self.seconds:.1f} s",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(row.cells()) + " |" for row in self.rows),
            "",
            f"*{HTTP}*: requests over HTTP/1.1 keep-alive to `emulator.host`, which invokes `function_app` "
            "on azure-functions-runtime in-process (one InvocationRequest per call).",
            f"*{DIRECT}*: the same host routing, key check and runtime invocation, without the HTTP listener.",
            "Percentiles are nearest-rank; latencies include the HTTPS calls to the emulator on 127.0.0.1.",
            f"*{PYTHON_CALL}*: the Python function behind the route, called with a `func.HttpRequest` (no host).",
            "*f*: the route against a bare handler that only POSTs to the same ARM URL with a module-level "
            "`requests.Session` (`trust_env` off) and a static token; same process, alternating order, INFO logging.",
            "*k*: the same for `/api/keys/storage/stgorders?type=readwrite` against a bare storage `listKeys` POST, "
            "`RESOURCE_KEYS_CACHE_SECONDS=0` (the local-auth state stays cached: one ARM call per request).",
            "",
        ]
        if self.scale is not None:
            lines.append(self.scale.markdown())
        return "\n".join(lines)


# ---------------------------------------------------------------------------- scenarios
def cold_first_request(h: Harness, cfg: Config) -> Row:
    latencies, statuses = [], []
    counts: dict[str, int] = {}
    for _ in range(cfg.cold_runs):
        h.cold()
        before = h.counters()
        with h.session() as session:  # a new client each time: a new connection, as after a deploy
            status, ms = timed(partial(h.http_get, session))
        counts = delta(before, h.counters(), *CHAIN, ARM)
        latencies.append(ms)
        statuses.append(status)
    rest = latencies[1:] or latencies
    figure = f"first in process {latencies[0]:.0f} ms; median of the next {len(rest)}: {statistics.median(rest):.0f} ms"
    note = "MI token, certificate, sign, Entra, ARM; counts of the last run"
    return Row("a", "cold first request (full chain)", HTTP, cfg.cold_runs, figure, counts,
               ok=set(statuses) == {200}, note=note)  # fmt: skip


def _hot_loop(h: Harness, n: int, call: Callable[[], int], key: str, via: str) -> Row:
    h.cold()
    warm = call()  # pays for the chain once; the loop must not
    before = h.counters()
    results = [timed(call) for _ in range(n)]
    counts = delta(before, h.counters(), *CHAIN, ARM)
    ok = warm == 200 and all(s == 200 for s, _ in results) and not any(counts[c] for c in CHAIN) and counts[ARM] == n
    return Row(key, "hot path p50 / p95 / p99, cached token", via, n, summary([ms for _, ms in results]), counts,
               ok=ok, note="Key Vault and Entra counters must stay at +0; ARM is called every time")  # fmt: skip


def hot_path_direct(h: Harness, cfg: Config) -> Row:
    return _hot_loop(h, cfg.hot_requests, h.direct, "b", DIRECT)


def hot_path_http(h: Harness, cfg: Config) -> Row:
    with h.session() as session:
        return _hot_loop(h, cfg.hot_requests, lambda: h.http_get(session), "b'", HTTP)


def concurrent_cold(h: Harness, cfg: Config) -> Row:
    """N requests released at once on a cold runtime: they must share one assertion and one token."""
    h.cold()
    before = h.counters()
    barrier = threading.Barrier(cfg.concurrent)

    def one() -> tuple[int, float, float]:
        barrier.wait(timeout=30)
        started = time.perf_counter()
        status = h.direct()
        return status, started, time.perf_counter()

    with ThreadPoolExecutor(max_workers=cfg.concurrent) as pool:
        results = list(pool.map(lambda _: one(), range(cfg.concurrent)))
    counts = delta(before, h.counters(), *CHAIN, ARM)
    wall_ms = (max(end for _, _, end in results) - min(start for _, start, _ in results)) * 1000
    ok = all(s == 200 for s, _, _ in results) and counts["keyvault.sign"] == 1 and counts["entra.token"] == 1
    figure = f"wall {wall_ms:.0f} ms; keyvault.sign {counts['keyvault.sign']}, entra.token {counts['entra.token']}"
    note = "no HTTP: measures the function's single flight through the runtime, not 32 connection set-ups"
    return Row("c", f"{cfg.concurrent} concurrent cold requests", DIRECT, cfg.concurrent, figure, counts, ok=ok,
               note=note)  # fmt: skip


def _throughput(h: Harness, threads: int, seconds: float) -> tuple[int, int, float, list[float], dict[str, int]]:
    with h.session() as warm:
        h.http_get(warm)  # token cached before the clock starts
    before = h.counters()
    deadline = time.perf_counter() + seconds

    def client() -> tuple[int, int, list[float]]:
        done = errors = 0
        latencies: list[float] = []
        with h.session() as session:
            while time.perf_counter() < deadline and done + errors < MAX_REQUESTS_PER_THREAD:
                status, ms = timed(lambda: h.http_get(session))
                latencies.append(ms)
                if status == 200:
                    done += 1
                else:
                    errors += 1
        return done, errors, latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(lambda _: client(), range(threads)))
    elapsed = time.perf_counter() - started
    latencies = [ms for _, _, lat in outcomes for ms in lat]
    counts = delta(before, h.counters(), "keyvault.sign", "entra.token", ARM)
    return sum(o[0] for o in outcomes), sum(o[1] for o in outcomes), elapsed, latencies, counts


def throughput(h: Harness, cfg: Config, *, key: str, threads: int, seconds: float, label: str, note: str) -> Row:
    done, errors, elapsed, latencies, counts = _throughput(h, threads, seconds)
    figure = f"{done / elapsed:.0f} req/s ({done} in {elapsed:.1f} s, p50 {percentile(latencies, 50):.1f} ms)"
    if errors:
        figure += f", {errors} errors"
    row = Row(key, label, HTTP, done + errors, figure, counts, ok=errors == 0 and done > 0, note=note)
    row.rate = done / elapsed
    return row


def throughput_hot(h: Harness, cfg: Config) -> Row:
    label = f"throughput, {cfg.throughput_threads} client threads"
    return throughput(h, cfg, key="d", threads=cfg.throughput_threads, seconds=cfg.throughput_seconds,
                      label=label, note=GIL_NOTE)  # fmt: skip


def throughput_slow_arm(h: Harness, cfg: Config) -> list[Row]:
    """ARM answering in 50 ms: one client is bound by ~20 req/s; N clients should get ~N times that."""
    delay_ms = ARM_DELAY_SECONDS * 1000
    h.emu.faults.inject(ARM, delay=ARM_DELAY_SECONDS, times=None)
    try:
        serial = throughput(h, cfg, key="e1", threads=1, seconds=cfg.baseline_seconds,
                            label=f"throughput, ARM +{delay_ms:.0f} ms, 1 client thread",
                            note=f"serial bound {1 / ARM_DELAY_SECONDS:.0f} req/s")  # fmt: skip
        parallel = throughput(h, cfg, key="e", threads=cfg.throughput_threads, seconds=cfg.throughput_seconds,
                              label=f"throughput, ARM +{delay_ms:.0f} ms, {cfg.throughput_threads} client threads",
                              note="")  # fmt: skip
    finally:
        h.emu.faults.clear()
    speedup = parallel.rate / serial.rate if serial.rate else 0.0
    parallel.note = f"{speedup:.1f} times the 1-thread rate: requests overlap their ARM wait"
    return [parallel, serial]


def overhead_vs_bare_handler(h: Harness, cfg: Config) -> Row:
    o = overhead.measure_overhead(h, cfg.overhead_pairs)
    p50, p99 = o.ratio(50), o.ratio(99)
    figure = (
        f"route {percentile(o.route_us, 50):.0f} / {percentile(o.route_us, 99):.0f} µs, bare "
        f"{percentile(o.baseline_us, 50):.0f} / {percentile(o.baseline_us, 99):.0f} µs (p50 / p99); "
        f"ratio {p50:.3f}x / {p99:.3f}x; difference {o.difference_us(50):+.0f} / {o.difference_us(99):+.0f} µs"
    )
    ok = o.statuses == {200} and o.counts["keyvault.sign"] == 0 and o.counts["entra.token"] == 0
    return Row("f", "warm overhead vs a bare ARM handler", PYTHON_CALL, o.pairs, figure, o.counts, ok=ok,
               target=f"p50 ≤ {overhead.P50_TARGET:.2f}x, p99 ≤ {overhead.P99_TARGET:.2f}x",
               met=None if cfg.quick else o.met,
               note="key cache off; both sides call ARM every time")  # fmt: skip


def key_cache_single_flight(h: Harness, cfg: Config) -> Row:
    statuses, counts = overhead.measure_single_flight(h)
    calls = counts[overhead.ARM_OPERATION]
    n = overhead.CONCURRENT_KEY_REQUESTS
    return Row("g", f"{n} concurrent requests, one account, empty key cache", PYTHON_CALL, n,
               f"{calls} ARM call(s) for {n} requests", counts, ok=set(statuses) == {200},
               target="1 ARM call", met=calls == 1,
               note="COSMOS_KEYS_CACHE_SECONDS=60, ARM +200 ms so all requests overlap it")  # fmt: skip


def memory_over_warm_requests(h: Harness, cfg: Config) -> Row:
    first, after, statuses = overhead.measure_rss(h, 100, cfg.rss_requests)
    growth = after - first
    mb = 1024 * 1024
    figure = f"RSS {first / mb:.1f} MB after 100, {after / mb:.1f} MB after {cfg.rss_requests:,}: {growth / mb:+.2f} MB"
    return Row("h", "memory over warm requests", PYTHON_CALL, cfg.rss_requests, figure, {}, ok=statuses == {200},
               target=f"≤ {overhead.RSS_TARGET_BYTES // mb} MB growth",
               met=None if cfg.quick else growth <= overhead.RSS_TARGET_BYTES,
               note="key cache off: an ARM call per request; gc.collect() before each reading")  # fmt: skip


GRAPH_ROUTE = "/api/graph/users?limit=1"
GRAPH = "graph.users"


def second_scope_cold(h: Harness, cfg: Config) -> Row:
    """A cold ARM request, then the first Graph request: Graph's token reuses the signed assertion."""
    first_ms, second_ms = [], []
    counts: dict[str, int] = {}
    statuses = set()
    for _ in range(cfg.cold_runs):
        h.cold()
        status, ms = timed(h.direct)  # ARM's token: the whole chain
        statuses.add(status)
        first_ms.append(ms)
        before = h.counters()
        status, ms = timed(partial(h.direct, GRAPH_ROUTE))  # Graph's token: one Entra round trip
        statuses.add(status)
        second_ms.append(ms)
        counts = delta(before, h.counters(), *dict.fromkeys((*CHAIN, *overhead.KV_OPERATIONS, GRAPH)))
    kv = sum(counts.get(name, 0) for name in overhead.KV_OPERATIONS)
    trips = sum(counts[name] for name in ("identity.token", "entra.token")) + kv
    figure = (
        f"{trips} token round trip(s) ({kv} Key Vault); median {statistics.median(second_ms):.1f} ms "
        f"vs {statistics.median(first_ms):.1f} ms for the first scope"
    )
    return Row("i2", "second scope's cold token (Graph after ARM)", DIRECT, cfg.cold_runs, figure, counts,
               ok=statuses == {200}, target="1 Entra round trip, 0 Key Vault",
               met=counts["entra.token"] == 1 and kv == 0 and counts["identity.token"] == 0,
               note="times include the Graph call itself; counts of the last run")  # fmt: skip


def keys_overhead_vs_bare_handler(h: Harness, cfg: Config) -> Row:
    o = resource_keys.measure_keys_overhead(h, cfg.overhead_pairs)
    p50, p99 = o.ratio(50), o.ratio(99)
    figure = (
        f"route {percentile(o.route_us, 50):.0f} / {percentile(o.route_us, 99):.0f} µs, bare "
        f"{percentile(o.baseline_us, 50):.0f} / {percentile(o.baseline_us, 99):.0f} µs (p50 / p99); "
        f"ratio {p50:.3f}x / {p99:.3f}x; difference {o.difference_us(50):+.0f} / {o.difference_us(99):+.0f} µs"
    )
    key_op = resource_keys.operation(resource_keys.OVERHEAD_KIND, resource_keys.OVERHEAD_ACTION)
    ok = o.statuses == {200} and o.counts["keyvault.sign"] == 0 and o.counts[key_op] == 2 * o.pairs
    return Row("k", "keys route warm overhead vs a bare listKeys handler (storage)", PYTHON_CALL, o.pairs, figure,
               o.counts, ok=ok, target=f"p50 ≤ {overhead.P50_TARGET:.2f}x",
               met=None if cfg.quick else p50 <= overhead.P50_TARGET,
               note="RESOURCE_KEYS_CACHE_SECONDS=0: one ARM call per request, both sides")  # fmt: skip


def keys_single_flight(h: Harness, cfg: Config) -> Row:
    statuses, counts = resource_keys.measure_keys_single_flight(h)
    calls = sum(counts.values())
    n = resource_keys.CONCURRENT
    return Row("l", f"{n} concurrent keys requests, one resource, empty caches", PYTHON_CALL, n,
               f"{calls} ARM call(s) for {n} requests (1 read + 1 key action)", counts, ok=set(statuses) == {200},
               target="1 read + 1 key call", met=calls == 2,
               note="search listAdminKeys +200 ms, read +100 ms, so all requests overlap them")  # fmt: skip


def keys_fault_soak(h: Harness, cfg: Config) -> Row:
    s = resource_keys.soak(h, cfg.soak_seconds)
    mb = 1024 * 1024
    statuses = ", ".join(f"{code}: {count}" for code, count in sorted(s.statuses.items()))
    figure = (
        f"{s.requests} requests ({statuses}); {s.faults} ARM faults in {s.key_calls} key calls; "
        f"RSS {s.rss_first / mb:.1f} → {s.rss_last / mb:.1f} MB ({s.growth / mb:+.2f} MB)"
    )
    if s.unexpected:
        figure += f"; unexpected: {', '.join(s.unexpected[:5])}"
    return Row("m", f"fault-mix soak, {cfg.soak_seconds:.0f} s, 8 clients, every kind", HTTP, s.requests, figure, {},
               ok=s.ok, target=f"200, or ARM's fault mapped (503+Retry-After / 502), ≤ "
               f"{resource_keys.RSS_TARGET_BYTES // mb} MB growth",
               met=None if cfg.quick else (s.ok and s.growth <= resource_keys.RSS_TARGET_BYTES),
               note=f"ARM answers ~{resource_keys.FAULT_SHARE:.0%} of key calls 429 (Retry-After 1) or 503; "
               "key cache off")  # fmt: skip


def chain_cost(h: Harness, cfg: Config) -> Row:
    counts = overhead.chain_counts(h)
    kv = sum(counts[name] for name in overhead.KV_OPERATIONS)
    return Row("i", "one token acquisition (scale inputs)", PYTHON_CALL, 1, f"{kv} Key Vault requests", counts,
               ok=counts["entra.token"] == 1, note="see 'Scale' below")  # fmt: skip


def import_cost(h: Harness, cfg: Config) -> list[Row]:
    """`import function_app` vs the SDK imports alone: telemetry off, then on (OTLP, informative)."""
    runs = 3 if cfg.quick else 7
    off = import_ratio(runs)
    row = Row("j", "import function_app, telemetry off / SDK imports alone", "fresh interpreter", runs,
              f"{off.ratio:.2f}x ({off.app_ms:.0f} / {off.sdk_ms:.0f} ms wall, fastest); CPU {off.cpu_ratio:.2f}x",
              {}, ok=not off.otel, target=f"≤ {MAX_RATIO}x", met=None if cfg.quick else off.ratio <= MAX_RATIO,
              note=f"OpenTelemetry modules imported: {len(off.otel)}")  # fmt: skip
    on = import_ratio(runs, {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:9"})
    note = f"informative; {len(on.otel)} OpenTelemetry modules"
    row_on = Row("j1", "import function_app, telemetry on (OTLP) / SDK imports alone", "fresh interpreter", runs,
                 f"{on.ratio:.2f}x ({on.app_ms:.0f} ms wall); CPU {on.cpu_ratio:.2f}x", {}, note=note)  # fmt: skip
    return [row, row_on]


SCENARIOS: list[tuple[str, Callable[[Harness, Config], Row | list[Row]]]] = [
    ("(a) cold first request", cold_first_request),
    ("(b) hot path, no HTTP", hot_path_direct),
    ("(b') hot path, HTTP", hot_path_http),
    ("(c) concurrent cold requests", concurrent_cold),
    ("(d) throughput", throughput_hot),
    ("(e) throughput with slow ARM", throughput_slow_arm),
    ("(f) warm overhead vs a bare handler", overhead_vs_bare_handler),
    ("(g) key cache single flight", key_cache_single_flight),
    ("(h) memory over warm requests", memory_over_warm_requests),
    ("(k) keys route overhead vs a bare handler", keys_overhead_vs_bare_handler),
    ("(l) keys route single flight", keys_single_flight),
    ("(m) keys route fault-mix soak", keys_fault_soak),
    ("(i) one token acquisition", chain_cost),
    ("(i2) second scope's cold token", second_scope_cold),
    ("(j) import cost", import_cost),
]


def run(*, quick: bool = False, progress: TextIO | None = None) -> Report:
    """Runs every scenario against a fresh in-process emulator; bounded, binds only 127.0.0.1."""
    cfg = Config.for_mode(quick)
    report = Report(quick=quick)
    started = time.perf_counter()
    with Harness(COSMOS_KEYS_CACHE_SECONDS="0") as h:
        for title, scenario in SCENARIOS:
            if progress is not None:
                print(f"bench: {title} …", file=progress, flush=True)
            outcome = scenario(h, cfg)
            report.rows.extend(outcome if isinstance(outcome, list) else [outcome])
    chain = report.row("i")
    second = report.row("i2")
    report.scale = Scale(
        kv_per_refresh=sum(chain.counts[name] for name in overhead.KV_OPERATIONS),
        kv_per_second_scope=sum(second.counts.get(name, 0) for name in overhead.KV_OPERATIONS),
    )
    report.seconds = time.perf_counter() - started
    return report
