"""The emulator's OTLP/HTTP receiver: protobuf and JSON, gzip, the spec's error statuses, the control API.

The real exporters (opentelemetry-exporter-otlp-proto-http) send to it here, as the function does.
"""

from __future__ import annotations

import gzip
import json

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from emulator import Emulator

RESOURCE = Resource.create({"service.name": "otlp-test"})


@pytest.fixture(autouse=True)
def trust_the_emulator(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the exporter's own certificate_file,
    # so point them at the emulator's CA, as the function's environment does.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", emu.ca_bundle)


def control(emu: Emulator, path: str) -> requests.Response:
    return requests.get(f"{emu.urls['control']}/_emulator/otlp{path}", verify=emu.ca_bundle, timeout=10)


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_sdk_exporter_delivers_spans_with_their_tree(emu: Emulator, compression: Compression):
    exporter = OTLPSpanExporter(
        endpoint=f"{emu.urls['otlp']}/v1/traces", certificate_file=emu.ca_bundle, compression=compression
    )
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    child_attributes = {"n": 3, "ok": True, "f": 1.5, "list": ["a", "b"]}
    with (
        tracer.start_as_current_span("parent", attributes={"broker.route": "r"}) as parent,
        tracer.start_as_current_span("child", attributes=child_attributes),
    ):
        pass
    provider.shutdown()
    spans = {s["name"]: s for s in control(emu, "/traces").json()}
    assert set(spans) == {"parent", "child"}
    child, root = spans["child"], spans["parent"]
    assert child["parentSpanId"] == root["spanId"] == format(parent.get_span_context().span_id, "016x")
    assert child["traceId"] == root["traceId"] == format(parent.get_span_context().trace_id, "032x")
    assert root["parentSpanId"] == ""
    assert child["attributes"] == {"n": 3, "ok": True, "f": 1.5, "list": ["a", "b"]}
    assert root["resource"]["service.name"] == "otlp-test"
    assert root["kind"] == "SPAN_KIND_INTERNAL"
    assert child["endTimeUnixNano"] >= child["startTimeUnixNano"] > 0
    assert control(emu, "").json()["traces"] == 2  # SimpleSpanProcessor: one export per span


def test_the_sdk_exporters_deliver_metrics_and_logs(emu: Emulator):
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{emu.urls['otlp']}/v1/metrics", certificate_file=emu.ca_bundle),
        export_interval_millis=60_000,
    )
    meters = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = meters.get_meter("test")
    meter.create_counter("broker.keyvault.signs").add(2, {"broker.outcome": "success"})
    meter.create_histogram("broker.upstream.duration", unit="ms").record(12.5, {"broker.upstream": "arm"})
    meters.shutdown()  # flushes
    points = {p["name"]: p for p in control(emu, "/metrics").json()}
    assert points["broker.keyvault.signs"]["value"] == 2
    assert points["broker.keyvault.signs"]["attributes"] == {"broker.outcome": "success"}
    assert points["broker.upstream.duration"]["count"] == 1
    assert points["broker.upstream.duration"]["sum"] == 12.5

    logs = LoggerProvider(resource=RESOURCE)
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{emu.urls['otlp']}/v1/logs", certificate_file=emu.ca_bundle)
        )
    )
    import logging

    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    logger = logging.getLogger("otlp-test")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=logs)
    logger.addHandler(handler)
    try:
        logger.warning("upstream=arm status=%s", 429, extra={"upstream": "arm", "http_status": 429})
    finally:
        logger.removeHandler(handler)
        logs.shutdown()
    (record,) = control(emu, "/logs").json()
    assert record["body"] == "upstream=arm status=429"
    assert record["attributes"]["upstream"] == "arm" and record["attributes"]["http_status"] == 429
    assert record["severityText"] == "WARN"


def test_json_encoding_with_hex_ids_is_accepted_and_answered_in_json(emu: Emulator):
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "json-span",
                                "kind": 2,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "attributes": [{"key": "k", "value": {"intValue": "7"}}],
                                "status": {"code": 2},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    response = requests.post(
        f"{emu.urls['otlp']}/v1/traces", data=gzip.compress(json.dumps(body).encode()), verify=emu.ca_bundle,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {}  # an empty Export*ServiceResponse: full success
    (span,) = control(emu, "/traces").json()
    assert span["traceId"] == "5b8efff798038103d269b633813fc60c" and span["spanId"] == "eee19b7ec3c1b174"
    assert span["kind"] == "SPAN_KIND_SERVER" and span["status"] == "STATUS_CODE_ERROR"
    assert span["attributes"] == {"k": 7}


def test_protobuf_success_answers_an_export_response(emu: Emulator):
    response = requests.post(
        f"{emu.urls['otlp']}/v1/traces", data=ExportTraceServiceRequest().SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"}, verify=emu.ca_bundle, timeout=10,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-protobuf"
    ExportTraceServiceResponse().ParseFromString(response.content)


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body", "status"),
    [
        ("POST", "/v1/traces", "application/x-protobuf", b"\xff\xff\xff", 400),
        ("POST", "/v1/metrics", "application/json", b"{not json", 400),
        ("POST", "/v1/logs", "text/plain", b"hello", 415),
        ("POST", "/v1/spans", "application/x-protobuf", b"", 404),
        ("GET", "/v1/traces", "application/x-protobuf", b"", 405),
    ],
)
def test_refusals_follow_the_otlp_http_spec(emu: Emulator, method, path, content_type, body, status):
    response = requests.request(
        method, f"{emu.urls['otlp']}{path}", data=body, headers={"Content-Type": content_type},
        verify=emu.ca_bundle, timeout=10,
    )  # fmt: skip
    assert response.status_code == status
    if status == 400 and content_type == "application/json":
        assert "cannot decode" in response.json()["message"]
    assert control(emu, "/traces").json() == []


def test_reset_and_delete_forget_what_was_received(emu: Emulator):
    requests.post(
        f"{emu.urls['otlp']}/v1/traces", data=b"", headers={"Content-Type": "application/x-protobuf"},
        verify=emu.ca_bundle, timeout=10,
    )  # fmt: skip
    assert control(emu, "").json()["traces"] == 1
    deleted = requests.delete(f"{emu.urls['control']}/_emulator/otlp", verify=emu.ca_bundle, timeout=10)
    assert deleted.status_code == 204
    assert control(emu, "").json() == {"traces": 0, "metrics": 0, "logs": 0}


def test_exports_are_not_counted_as_azure_operations(emu: Emulator):
    requests.post(
        f"{emu.urls['otlp']}/v1/traces", data=b"", headers={"Content-Type": "application/x-protobuf"},
        verify=emu.ca_bundle, timeout=10,
    )  # fmt: skip
    assert not any(emu.counters.snapshot().values())


def test_waterfall_draws_every_span_with_a_bar_in_start_order():
    from emulator.waterfall import BAR_WIDTH, render

    def span(span_id: str, parent: str, name: str, start_ms: float, end_ms: float) -> dict:
        return {"traceId": "t", "spanId": span_id, "parentSpanId": parent, "name": name, "attributes": {},
                "startTimeUnixNano": int(start_ms * 1e6), "endTimeUnixNano": int(end_ms * 1e6),
                "status": "STATUS_CODE_UNSET", "scope": "keyvault-assertion-broker"}  # fmt: skip

    trace = [
        span("c", "a", "late child", 99.9, 100.0),  # starts at the very end: still one block
        span("a", "", "root", 0.0, 100.0),
        span("b", "a", "early child", 1.0, 50.0),
    ]
    header, *lines = render(trace)
    assert "span" in header
    assert [line.split("█")[-1].strip(" │├└─") for line in lines] == ["root", "early child", "late child"]
    for line in lines:
        start = line.index("ms  ok") + len("ms  ") + 7  # the status column is 6 wide, then a space
        bar = line[start : start + BAR_WIDTH]
        assert "█" in bar and len(bar) == BAR_WIDTH
    assert lines[0].split()[0] == "0.0ms" and lines[2].split()[0] == "99.9ms"
