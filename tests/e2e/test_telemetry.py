"""Telemetry with the OpenTelemetry SDK's in-memory exporter and reader: span trees, attributes,
metric values after known sequences, log attributes, and no secret anywhere in them.

The providers are installed globally once (as the Functions worker installs Azure Monitor's), and
``configure_telemetry`` adopts them instead of configuring a second time.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, StatusCode

from shared.telemetry import configure_telemetry, names

try:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
except ImportError:  # pragma: no cover
    from opentelemetry.sdk._logs import LoggingHandler

pytestmark = pytest.mark.e2e

ARM_SCOPE_SUFFIX = "/.default"
CHAIN_UPSTREAMS = {"managed-identity", "keyvault", "entra"}


@dataclass
class Otel:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter

    def spans_since(self, mark: int) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())[mark:]

    def mark(self) -> int:
        return len(self.spans.get_finished_spans())

    def metric_points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        points: dict[str, list[Any]] = {}
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points

    def counter(self, name: str, **attributes: Any) -> float:
        """Sum of a counter's cumulative points whose attributes include ``attributes``."""
        return sum(
            p.value
            for p in self.metric_points().get(name, [])
            if all(p.attributes.get(k) == v for k, v in attributes.items())
        )

    def histogram_count(self, name: str, **attributes: Any) -> int:
        return sum(
            p.count
            for p in self.metric_points().get(name, [])
            if all(p.attributes.get(k) == v for k, v in attributes.items())
        )


_installed: Otel | None = None
_install_lock = threading.Lock()


@pytest.fixture(scope="session")
def otel() -> Otel:
    """Global SDK providers with in-memory exporters, installed once per test session."""
    global _installed
    with _install_lock:
        if _installed is None:
            spans = InMemorySpanExporter()
            tracer_provider = TracerProvider(sampler=ALWAYS_ON)
            tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
            trace.set_tracer_provider(tracer_provider)
            reader = InMemoryMetricReader()
            metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
            logs = InMemoryLogRecordExporter()
            logger_provider = LoggerProvider()
            logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
            set_logger_provider(logger_provider)
            handler = LoggingHandler(level=logging.INFO, logger_provider=get_logger_provider())
            logging.getLogger("shared").addHandler(handler)
            assert configure_telemetry() == "worker"  # adopted, not configured a second time
            _installed = Otel(spans, reader, logs)
    return _installed


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def descendants(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    found = []
    for child in children(spans, parent):
        found.append(child)
        found.extend(descendants(spans, child))
    return found


def broker_attempts(spans: list[ReadableSpan], upstream: str | None = None) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.attributes
        and names.ATTEMPT in s.attributes
        and (upstream is None or s.attributes[names.UPSTREAM] == upstream)
    ]


def request_span(spans: list[ReadableSpan], route: str) -> ReadableSpan:
    (span,) = [s for s in spans if s.attributes and s.attributes.get(names.ROUTE) == route]
    return span


def test_cold_request_is_one_trace_with_an_attempt_span_per_upstream_call(configure, otel):
    client = configure()
    mark = otel.mark()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    spans = otel.spans_since(mark)

    root = request_span(spans, "cosmos-keys")
    assert root.kind is SpanKind.SERVER and root.parent is None
    assert root.name == "GET cosmos-keys"
    assert root.attributes[names.HTTP_STATUS] == 200
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}  # azure-core's and ours: one trace
    assert len(descendants(spans, root)) == len(spans) - 1

    attempts = broker_attempts(spans)
    operations = [(s.attributes[names.UPSTREAM], s.attributes[names.OPERATION]) for s in attempts]
    for expected in (
        ("managed-identity", "token"),
        ("keyvault", "get_certificate"),
        ("keyvault", "sign"),
        ("entra", "token"),
        ("arm", "get_databaseAccounts"),  # the local-auth read, before any key
        ("arm", "readonlykeys"),
    ):
        assert expected in operations, operations
    # The chain runs inside one token fetch span; the ARM calls are the request's own children.
    (fetch,) = [s for s in spans if s.name == "broker token"]
    assert fetch.attributes[names.SCOPE].endswith(ARM_SCOPE_SUFFIX)
    inside_fetch = descendants(spans, fetch)
    assert {s.attributes[names.UPSTREAM] for s in broker_attempts(inside_fetch)} == CHAIN_UPSTREAMS
    # The local-auth read, then the key action (a retried attempt, under load, adds a span of the same operation).
    arm_attempts = sorted(broker_attempts(spans, "arm"), key=lambda s: s.start_time)
    arm_operations = [s.attributes[names.OPERATION] for s in arm_attempts]
    assert list(dict.fromkeys(arm_operations)) == ["get_databaseAccounts", "readonlykeys"], arm_operations
    read = [s for s in arm_attempts if s.attributes[names.OPERATION] == "get_databaseAccounts"][-1]
    keys = [s for s in arm_attempts if s.attributes[names.OPERATION] == "readonlykeys"][-1]
    assert read.parent.span_id == root.context.span_id and keys.parent.span_id == root.context.span_id
    assert read.end_time <= keys.start_time
    # azure-core's own spans nest too: the SDK operation span holds the sign attempt.
    sign = next(s for s in attempts if s.attributes[names.OPERATION] == "sign")
    sign_parent = next(s for s in spans if s.context.span_id == sign.parent.span_id)
    assert sign_parent.name == "CryptographyClient.sign"
    assert any(s.kind is SpanKind.CLIENT and s.name == "POST" for s in children(spans, sign_parent))


def test_warm_request_has_no_key_vault_or_entra_span(configure, otel):
    client = configure()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    mark = otel.mark()
    assert client.get("cosmos/cosmos-orders/keys", type="readwrite").status_code == 200
    spans = otel.spans_since(mark)
    root = request_span(spans, "cosmos-keys")
    assert [s.attributes[names.UPSTREAM] for s in broker_attempts(spans)] == ["arm"]
    assert [s.name for s in spans if s is not root] == ["arm listKeys"]


def test_attempt_attributes_name_the_call_and_carry_no_query(configure, otel):
    client = configure()
    mark = otel.mark()
    assert client.get("graph/users", limit="3", select="id,displayName").status_code == 200
    (graph,) = broker_attempts(otel.spans_since(mark), "graph")
    assert graph.kind is SpanKind.CLIENT
    assert graph.name == "graph list_users"
    assert dict(graph.attributes) | {} == {
        names.UPSTREAM: "graph",
        names.OPERATION: "list_users",
        names.HTTP_METHOD: "GET",
        names.URL_PATH: "/v1.0/users",
        names.ATTEMPT: 1,
        names.SERVER_ADDRESS: "127.0.0.1",
        names.HTTP_STATUS: 200,
    }
    assert graph.status.status_code is StatusCode.UNSET


def test_retried_attempts_carry_attempt_number_wait_and_throttling(configure, otel, emu):
    client = configure()
    throttled_before = otel.counter(names.UPSTREAM_THROTTLED, **{names.UPSTREAM: "keyvault"})
    emu.faults.inject("keyvault.sign", status=429, retry_after=1)
    emu.faults.inject("arm.readonlykeys", status=429, retry_after=1)
    mark = otel.mark()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    spans = otel.spans_since(mark)

    for upstream, operation in (("keyvault", "sign"), ("arm", "readonlykeys")):
        first, second = [s for s in broker_attempts(spans, upstream) if s.attributes[names.OPERATION] == operation]
        assert first.attributes[names.ATTEMPT] == 1 and first.attributes[names.HTTP_STATUS] == 429
        assert first.status.status_code is StatusCode.ERROR
        assert names.RETRY_WAIT_MS not in first.attributes
        assert second.attributes[names.ATTEMPT] == 2 and second.attributes[names.HTTP_STATUS] == 200
        assert second.attributes[names.RETRY_WAIT_MS] == 1000
        assert second.start_time >= first.end_time + 900_000_000  # honoured Retry-After: 1
    assert otel.counter(names.UPSTREAM_THROTTLED, **{names.UPSTREAM: "keyvault"}) == throttled_before + 1


def test_an_upstream_refusal_names_its_own_code_on_the_attempt_and_the_request(configure, otel):
    client = configure()
    mark = otel.mark()
    response = client.get("cosmos/cosmos-catalog/keys", type="readwrite")  # Reader role only
    assert response.status_code == 502
    spans = otel.spans_since(mark)
    (arm,) = [s for s in broker_attempts(spans, "arm") if s.attributes[names.OPERATION] == "listKeys"]
    assert arm.attributes[names.HTTP_STATUS] == 403
    assert arm.attributes[names.UPSTREAM_CODE] == "AuthorizationFailed"
    assert arm.status.status_code is StatusCode.ERROR
    root = request_span(spans, "cosmos-keys")
    assert root.attributes[names.HTTP_STATUS] == 502
    assert root.attributes[names.PROBLEM_CODE] == "AuthorizationFailed"
    assert root.attributes[names.UPSTREAM] == "arm"
    assert root.status.status_code is StatusCode.ERROR


def test_the_caller_appid_is_on_the_request_span(configure, otel, emu):
    audience = emu.seed.api_app_id_uri
    client = configure(CALLER_AUDIENCE=audience)
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    mark = otel.mark()
    response = client.get("graph/users", headers={"Authorization": f"Bearer {token}"}, limit="1")
    assert response.status_code == 200
    root = request_span(otel.spans_since(mark), "graph-users")
    assert root.attributes[names.CALLER_APPID] == emu.seed.caller_app_id


def test_32_concurrent_cold_requests_sign_once(configure, otel, emu):
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")  # every request needs the ARM token
    scope = emu.urls["management"] + ARM_SCOPE_SUFFIX
    before = {
        "signs": otel.counter(names.SIGNS, **{names.OUTCOME: "success"}),
        "acquired": otel.counter(names.TOKEN_ACQUISITIONS, **{names.SCOPE: scope, names.OUTCOME: "success"}),
        "misses": otel.counter(names.TOKEN_CACHE_MISSES, **{names.SCOPE: scope}),
        "hits": otel.counter(names.TOKEN_CACHE_HITS, **{names.SCOPE: scope}),
        "sign_durations": otel.histogram_count(names.UPSTREAM_DURATION, **{names.OPERATION: "sign"}),
        "arm_durations": otel.histogram_count(names.UPSTREAM_DURATION, **{names.UPSTREAM: "arm"}),
    }
    barrier = threading.Barrier(32)

    def cold_request(_: int) -> int:
        barrier.wait()
        return client.get("cosmos/cosmos-orders/keys").status_code

    with ThreadPoolExecutor(32) as pool:
        assert list(pool.map(cold_request, range(32))) == [200] * 32
    assert emu.counters.snapshot()["keyvault.sign"] == 1
    assert otel.counter(names.SIGNS, **{names.OUTCOME: "success"}) == before["signs"] + 1
    assert (
        otel.counter(names.TOKEN_ACQUISITIONS, **{names.SCOPE: scope, names.OUTCOME: "success"})
        == before["acquired"] + 1
    )
    assert otel.counter(names.TOKEN_CACHE_MISSES, **{names.SCOPE: scope}) == before["misses"] + 1
    # One shared local-auth read acquires the token (the miss); each of the 32 key calls then finds it.
    assert otel.counter(names.TOKEN_CACHE_HITS, **{names.SCOPE: scope}) == before["hits"] + 32
    assert otel.histogram_count(names.UPSTREAM_DURATION, **{names.OPERATION: "sign"}) == before["sign_durations"] + 1
    assert otel.histogram_count(names.UPSTREAM_DURATION, **{names.UPSTREAM: "arm"}) == before["arm_durations"] + 33


def test_failed_token_acquisition_is_counted_with_its_code(configure, otel, emu):
    client = configure()
    scope = emu.urls["management"] + ARM_SCOPE_SUFFIX
    before = otel.counter(names.TOKEN_ACQUISITIONS, **{names.SCOPE: scope, names.OUTCOME: "failure"})
    emu.faults.inject("keyvault.sign", status=403)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 502
    assert otel.counter(names.TOKEN_ACQUISITIONS, **{names.SCOPE: scope, names.OUTCOME: "failure"}) == before + 1
    assert otel.counter(names.SIGNS, **{names.OUTCOME: "failure"}) >= 1


def test_certificate_days_to_expiry_gauge(configure, otel, emu):
    client = configure()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    info = client.get("diagnostics").json()["certificate"]
    (point,) = [
        p
        for p in otel.metric_points()[names.CERTIFICATE_DAYS_TO_EXPIRY]
        if p.attributes[names.CERTIFICATE_VERSION] == info["version"]
    ]
    assert point.attributes[names.CERTIFICATE] == emu.seed.certificate_name
    assert info["daysLeft"] <= point.value <= info["daysLeft"] + 1  # daysLeft is rounded down


def test_log_records_carry_the_structured_fields_as_attributes(configure, otel):
    client = configure()
    otel.logs.clear()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    records = [r.log_record for r in otel.logs.get_finished_logs()]
    # Key Vault, Entra and managed-identity attempts log at INFO (a successful ARM/Graph one at DEBUG).
    sign_lines = [
        r for r in records if r.attributes.get("upstream") == "keyvault" and "/sign" in r.attributes["http_path"]
    ]
    assert sign_lines, [r.body for r in records]
    attributes = sign_lines[-1].attributes
    assert attributes["http_status"] == 200 and attributes["http_method"] == "POST"
    assert isinstance(attributes["duration_ms"], int) and attributes["attempt"] == 1
    # A failed request's own line (successes are DEBUG) is logged inside the request's span, so
    # Application Insights correlates it with the request.
    otel.logs.clear()
    assert client.get("cosmos/cosmos-unknown/keys").status_code == 404
    route_line = next(r.log_record for r in otel.logs.get_finished_logs() if r.log_record.attributes.get("route"))
    assert route_line.attributes["http_status"] == 404 and route_line.attributes["route"] == "cosmos-keys"
    assert route_line.trace_id and route_line.span_id


def test_a_cold_request_logs_only_the_brokers_own_lines(configure, caplog):
    client = configure()
    with caplog.at_level(logging.INFO):
        assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    # The worker runtime's own invocation line ("azure.functions") is the platform's, not a library's.
    loggers = {r.name for r in caplog.records if r.levelno >= logging.INFO} - {"azure.functions"}
    assert loggers, "the broker logs its attempts and the request"
    assert all(name.startswith("shared.") for name in loggers), loggers
    for name in ("azure.core", "azure.identity", "azure.keyvault", "msal", "urllib3"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING


# --------------------------------------------------------------------------------------- secrets
_JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}")
# A base64url signature or assertion segment; a standard-base64 key (Cosmos keys end in "==").
_LONG_OPAQUE = re.compile(r"[A-Za-z0-9_-]{60,}|[A-Za-z0-9+/]{40,}==")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict) or hasattr(value, "items"):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)


@pytest.fixture
def full_run(configure, emu, otel) -> Iterator[list[str]]:
    """Every route in every mode, with caller tokens, faults and errors; then all exported strings."""
    audience = emu.seed.api_app_id_uri
    for mode in ("keyvault", "federated-managed-identity", "managed-identity"):
        client = configure(mode)
        client.get("cosmos/cosmos-orders/keys")
        client.get("cosmos/cosmos-orders/keys", type="readwrite")
        client.get("graph/users", limit="120", select="id,displayName")
        client.get("diagnostics")
        client.get("health", key=False)
        client.get("cosmos/cosmos-catalog/keys", type="readwrite")
    client = configure(CALLER_AUDIENCE=audience)
    token = emu.entra.mint_caller_token(audience=audience, roles=["CosmosKeys.Read"])
    client.get("cosmos/cosmos-orders/keys", headers={"Authorization": f"Bearer {token}"})
    client.get("cosmos/cosmos-orders/keys", headers={"Authorization": f"Bearer {token}x"})
    emu.faults.inject("entra.token", status=429, retry_after=1)
    configure().get("cosmos/cosmos-orders/keys")
    strings: list[str] = []
    for span in otel.spans.get_finished_spans():
        strings += [span.name, *(_strings(dict(span.attributes or {})))]
        for event in span.events:
            strings += list(_strings(dict(event.attributes or {})))
    for points in otel.metric_points().values():
        for point in points:
            strings += list(_strings(dict(point.attributes or {})))
    for record in otel.logs.get_finished_logs():
        strings += [str(record.log_record.body), *(_strings(dict(record.log_record.attributes or {})))]
    yield strings


def test_no_secret_in_any_span_metric_or_log_attribute(full_run, emu):
    secrets = {emu.identity.identity_header}
    for keys in emu.arm.keys.values():
        secrets |= set(keys.values())
    assert len(full_run) > 1000
    for text in full_run:
        assert not _JWT.search(text), text
        assert not _LONG_OPAQUE.search(text), text
        assert not any(secret in text for secret in secrets), text
    urls = [t for t in full_run if t.startswith("https://")]
    assert urls, "azure-core records its URLs"
    assert not [u for u in urls if "?" in u], "URLs are recorded without their query"


def test_rollover_runs_are_counted_by_trigger_and_outcome(configure, otel, emu):
    client = configure()

    def post(dry_run: str) -> Any:
        return client.post("rollover", dryRun=dry_run)

    def runs(outcome: str) -> float:
        return otel.counter(names.ROLLOVER_RUNS, **{names.OUTCOME: outcome, names.TRIGGER: "http"})

    before = {outcome: runs(outcome) for outcome in ("success", "failure")}
    assert post("true").status_code == 200  # a dry run changes nothing and is not counted
    assert runs("success") == before["success"]
    assert post("false").status_code == 200, "the seed state converges"
    assert runs("success") == before["success"] + 1
    emu.faults.inject("graph.get_application", status=403)
    assert post("false").status_code == 502
    assert runs("failure") == before["failure"] + 1


def test_a_run_that_refuses_a_version_counts_as_blocked(configure, otel, emu):
    # A version older than the certificate policy (custody.py) needs an operator although the run
    # goes on (200): the rollover alert's metric says "blocked" (infra/app/alerts.bicep).
    client = configure()
    old = emu.keyvault.rotate_certificate(register=False, publish=False, created=time.time() - 3600)
    emu.keyvault.set_certificate_policy(issuer="Self", exportable=False)

    def runs(outcome: str) -> float:
        return otel.counter(names.ROLLOVER_RUNS, **{names.OUTCOME: outcome, names.TRIGGER: "http"})

    before = {outcome: runs(outcome) for outcome in ("success", "blocked")}
    response = client.post("rollover", dryRun="false")
    assert response.status_code == 200, response.text
    assert [r["version"] for r in response.json()["refused"]] == [old]
    assert runs("blocked") == before["blocked"] + 1
    assert runs("success") == before["success"]


@dataclass
class _TraceContext:
    trace_parent: str
    trace_state: str = ""


@dataclass
class _InvocationContext:
    trace_context: _TraceContext


def test_the_request_span_joins_the_hosts_trace_from_the_invocation_context(configure, otel):
    """The Functions worker runs sync functions in a thread pool without the invocation's OpenTelemetry
    context; the route reads the host's traceparent from ``context.trace_context`` instead."""
    import azure.functions as func

    import function_app

    configure()
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    request = func.HttpRequest("GET", "http://localhost/api/health", body=b"", headers={})
    mark = otel.mark()
    context = _InvocationContext(_TraceContext(f"00-{trace_id}-{parent_id}-01"))
    response = function_app.health(request, context)
    assert response.status_code == 200
    root = request_span(otel.spans_since(mark), "health")
    assert format(root.context.trace_id, "032x") == trace_id
    assert format(root.parent.span_id, "016x") == parent_id and root.parent.is_remote


def test_an_attempt_that_timed_out_is_a_span_too(configure, otel, emu):
    """No response, so no response hook: the retry policy records the attempt that raised."""
    client = configure(UPSTREAM_TIMEOUT_SECONDS="1")
    emu.faults.inject("keyvault.sign", delay=1.5)
    mark = otel.mark()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 504
    spans = otel.spans_since(mark)
    (sign,) = [s for s in broker_attempts(spans, "keyvault") if s.attributes[names.OPERATION] == "sign"]
    assert sign.attributes[names.ATTEMPT] == 1 and names.HTTP_STATUS not in sign.attributes
    assert sign.attributes[names.ERROR_TYPE].endswith("Error")  # azure-core's timeout error class
    assert sign.status.status_code is StatusCode.ERROR
    assert 0.9e9 <= sign.end_time - sign.start_time < 1.5e9  # the attempt's own timeout
    root = request_span(spans, "cosmos-keys")
    assert root.attributes[names.HTTP_STATUS] == 504 and root.attributes[names.UPSTREAM] == "keyvault"
