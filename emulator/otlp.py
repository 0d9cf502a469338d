# An OTLP/HTTP receiver, so `make demo` and the tests exercise the broker's real OTLP exporters
# (opentelemetry-exporter-otlp-proto-http) instead of a stub. Not an Azure surface: in Azure the
# broker exports to Application Insights; OTLP is the vendor-neutral path and the local one.
#
# Follows the OTLP specification, "OTLP/HTTP" (opentelemetry.io/docs/specs/otlp/#otlphttp;
# open-telemetry/opentelemetry-proto, docs/specification.md):
# - POST {endpoint}/v1/traces, /v1/metrics, /v1/logs with an Export{Trace,Metrics,Logs}ServiceRequest;
# - binary protobuf (`Content-Type: application/x-protobuf`) or JSON (`application/json`, the
#   proto3 JSON mapping except that traceId/spanId are hex strings, not base64, and enums may
#   be integers), optionally `Content-Encoding: gzip`;
# - success: 200 with an Export*ServiceResponse in the request's encoding (an empty message is a
#   full success); a request that cannot be decoded: 400 with a google.rpc.Status in the
#   request's encoding; any other Content-Type: 415; other methods: 405.
# What was received is kept (bounded) and flattened for the control API:
# GET /_emulator/otlp/{traces,metrics,logs}.
from __future__ import annotations

import base64
import gzip
import json
import threading
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from emulator.httpd import Request, Response
from emulator.surface import Context, Surface

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
SIGNALS = ("traces", "metrics", "logs")
_KEEP = 20_000  # items per signal; the oldest are dropped first
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _messages(signal: str) -> tuple[type[Any], type[Any]]:
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as module

        return module.ExportTraceServiceRequest, module.ExportTraceServiceResponse
    if signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as module

        return module.ExportMetricsServiceRequest, module.ExportMetricsServiceResponse
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as module

    return module.ExportLogsServiceRequest, module.ExportLogsServiceResponse


def _hex_ids_to_base64(value: Any) -> Any:
    """OTLP/JSON carries ids as hex; the proto3 JSON parser expects bytes as base64."""
    if isinstance(value, dict):
        return {
            key: (
                base64.b64encode(bytes.fromhex(item)).decode("ascii")
                if key in _ID_FIELDS and isinstance(item, str) and item
                else _hex_ids_to_base64(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids_to_base64(item) for item in value]
    return value


def any_value(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue (as MessageToDict renders it) as a plain JSON value."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: any_value(item.get("value", {})) for item in items}


def _b64_to_hex(value: str | None) -> str:
    return base64.b64decode(value).hex() if value else ""


class OtlpSurface(Surface):
    name = "otlp"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._received: dict[str, deque[dict[str, Any]]] = {s: deque(maxlen=_KEEP) for s in SIGNALS}
        self._exports: dict[str, int] = dict.fromkeys(SIGNALS, 0)
        self._guard = threading.Lock()
        self._flatten: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
            "traces": _flatten_traces,
            "metrics": _flatten_metrics,
            "logs": _flatten_logs,
        }

    @property
    def endpoint(self) -> str:
        return self.origin

    def reset(self) -> None:
        with self._guard:
            for signal in SIGNALS:
                self._received[signal].clear()
                self._exports[signal] = 0

    def received(self, signal: str) -> list[dict[str, Any]]:
        with self._guard:
            return list(self._received[signal])

    def exports(self) -> dict[str, int]:
        with self._guard:
            return dict(self._exports)

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        return self._status(status, "injected fault", JSON)

    def handle(self, request: Request) -> Response:
        signal = request.path.removeprefix("/v1/") if request.path.startswith("/v1/") else None
        if signal not in SIGNALS:
            return self._status(404, f"no OTLP signal at {request.path}", JSON)
        if request.method != "POST":
            response = self._status(405, "OTLP/HTTP takes POST", JSON)
            response.headers["Allow"] = "POST"
            return response
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in (PROTOBUF, JSON):
            return self._status(415, f"unsupported Content-Type {content_type or '(none)'}", JSON)
        request_type, response_type = _messages(signal)
        try:
            body = self._decode_body(request)
            message = request_type()
            if content_type == PROTOBUF:
                message.ParseFromString(body)
            else:
                from google.protobuf import json_format

                json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), message, ignore_unknown_fields=True)
        except Exception as exc:  # any decoding failure is the client's bad data
            return self._status(400, f"cannot decode the {signal} export: {type(exc).__name__}", content_type)
        from google.protobuf import json_format

        items = self._flatten[signal](json_format.MessageToDict(message))
        with self._guard:
            self._received[signal].extend(items)
            self._exports[signal] += 1
        return self._encode(response_type(), content_type, 200)

    @staticmethod
    def _decode_body(request: Request) -> bytes:
        encoding = (request.header("Content-Encoding") or "").strip().lower()
        if encoding == "gzip":
            return gzip.decompress(request.body)
        if encoding == "deflate":
            return zlib.decompress(request.body)
        if encoding not in ("", "identity"):
            raise ValueError(f"unsupported Content-Encoding {encoding}")
        return request.body

    def _status(self, status: int, message: str, content_type: str) -> Response:
        from google.rpc import status_pb2

        return self._encode(status_pb2.Status(code=3 if status == 400 else 0, message=message), content_type, status)

    @staticmethod
    def _encode(message: Any, content_type: str, status: int) -> Response:
        if content_type == PROTOBUF:
            return Response(status, message.SerializeToString(), {"Content-Type": PROTOBUF})
        from google.protobuf import json_format

        body = json.dumps(json_format.MessageToDict(message)).encode("utf-8")
        return Response(status, body, {"Content-Type": JSON})


def _resource(block: dict[str, Any]) -> dict[str, Any]:
    return attributes(block.get("resource", {}).get("attributes", []))


def _flatten_traces(export: dict[str, Any]) -> list[dict[str, Any]]:
    spans = []
    for resource_spans in export.get("resourceSpans", []):
        resource = _resource(resource_spans)
        for scope_spans in resource_spans.get("scopeSpans", []):
            scope = scope_spans.get("scope", {}).get("name", "")
            for span in scope_spans.get("spans", []):
                spans.append(
                    {
                        "traceId": _b64_to_hex(span.get("traceId")),
                        "spanId": _b64_to_hex(span.get("spanId")),
                        "parentSpanId": _b64_to_hex(span.get("parentSpanId")),
                        "name": span.get("name", ""),
                        "kind": span.get("kind", "SPAN_KIND_UNSPECIFIED"),
                        "startTimeUnixNano": int(span.get("startTimeUnixNano", 0)),
                        "endTimeUnixNano": int(span.get("endTimeUnixNano", 0)),
                        "status": span.get("status", {}).get("code", "STATUS_CODE_UNSET"),
                        "attributes": attributes(span.get("attributes", [])),
                        "scope": scope,
                        "resource": resource,
                    }
                )
    return spans


def _flatten_metrics(export: dict[str, Any]) -> list[dict[str, Any]]:
    points = []
    for resource_metrics in export.get("resourceMetrics", []):
        resource = _resource(resource_metrics)
        for scope_metrics in resource_metrics.get("scopeMetrics", []):
            for metric in scope_metrics.get("metrics", []):
                for kind in ("sum", "gauge", "histogram"):
                    for point in metric.get(kind, {}).get("dataPoints", []):
                        entry: dict[str, Any] = {
                            "name": metric.get("name", ""),
                            "unit": metric.get("unit", ""),
                            "type": kind,
                            "attributes": attributes(point.get("attributes", [])),
                            "timeUnixNano": int(point.get("timeUnixNano", 0)),
                            "resource": resource,
                        }
                        if kind == "histogram":
                            entry.update(count=int(point.get("count", 0)), sum=float(point.get("sum", 0.0)))
                        else:
                            entry["value"] = (
                                float(point["asDouble"]) if "asDouble" in point else int(point.get("asInt", 0))
                            )
                        points.append(entry)
    return points


def _flatten_logs(export: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    for resource_logs in export.get("resourceLogs", []):
        resource = _resource(resource_logs)
        for scope_logs in resource_logs.get("scopeLogs", []):
            for record in scope_logs.get("logRecords", []):
                records.append(
                    {
                        "timeUnixNano": int(record.get("timeUnixNano", 0)),
                        "severityText": record.get("severityText", ""),
                        "body": any_value(record.get("body", {})),
                        "attributes": attributes(record.get("attributes", [])),
                        "traceId": _b64_to_hex(record.get("traceId")),
                        "spanId": _b64_to_hex(record.get("spanId")),
                        "scope": scope_logs.get("scope", {}).get("name", ""),
                        "resource": resource,
                    }
                )
    return records
