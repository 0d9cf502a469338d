"""Telemetry never leaves in plain text, and never with a query string.

* A plain-http exporter endpoint off loopback (the generic OTLP variable, a signal's own, or the
  connection string's IngestionEndpoint) keeps telemetry off, is named by health (by setting, never
  by value) and leaves the routes alone.
* Whatever configured the providers — the Functions worker included — every span passes the
  broker's query-string scrubber: shown with in-memory exporters in a process where Azure Monitor
  was configured *before* function_app was imported, as the worker does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.health import health_report
from shared.settings import OTLP_ENDPOINT_SETTINGS, load_settings, telemetry_problems
from shared.telemetry.query_scrubber import scrub_text, without_query

ROOT = Path(__file__).resolve().parents[1]
_TELEMETRY_ENV = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY",
    *OTLP_ENDPOINT_SETTINGS,
)
_CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint="


def run_python(code: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in _TELEMETRY_ENV}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- which endpoints are refused -------------------------------------------------------------------


@pytest.mark.parametrize("name", OTLP_ENDPOINT_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        "http://collector.example:4318",
        "http://10.0.0.5:4318/",
        "http://192.168.1.20",
        "HTTP://otel.contoso.com/v1/traces",
        "http://127.0.0.1.nip.io:4318",  # a public name that merely starts like loopback
        "ftp://collector.example",
        "grpc://collector.example:4317",
        "http://user:pw@127.0.0.1:4318",  # userinfo: refused whatever the host
        "not a url",
    ],
)
def test_a_plain_text_or_unusable_endpoint_is_refused(name: str, url: str) -> None:
    problems = telemetry_problems({name: url})
    assert [p.setting for p in problems] == [name]
    assert url not in problems[0].reason, "health names the setting, never its value"


@pytest.mark.parametrize("name", OTLP_ENDPOINT_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        "https://collector.example:4318",
        "https://otel.contoso.com/v1/traces",
        "http://127.0.0.1:4318",
        "http://127.8.9.10:4318/v1/logs",
        "http://localhost:4318",
        "http://[::1]:4318",
        "",
    ],
)
def test_https_or_loopback_http_is_accepted(name: str, url: str) -> None:
    assert telemetry_problems({name: url}) == ()


@pytest.mark.parametrize(
    ("endpoint", "refused"),
    [("http://westeurope.in.ai.example/", True), ("https://westeurope-5.in.applicationinsights.azure.com/", False)],
)
def test_the_connection_strings_ingestion_endpoint_is_judged_the_same_way(endpoint: str, refused: bool) -> None:
    problems = telemetry_problems({"APPLICATIONINSIGHTS_CONNECTION_STRING": _CONNECTION + endpoint})
    assert [p.setting for p in problems] == (["APPLICATIONINSIGHTS_CONNECTION_STRING"] if refused else [])
    assert telemetry_problems({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=x"}) == ()
    live = "InstrumentationKey=x;IngestionEndpoint=https://in.example/;LiveEndpoint=" + endpoint
    problems = telemetry_problems({"APPLICATIONINSIGHTS_CONNECTION_STRING": live})
    assert [p.reason.split()[0] for p in problems] == (["LiveEndpoint"] if refused else [])


def test_health_names_the_setting_with_status_200_and_the_routes_unaffected() -> None:
    settings = load_settings({"CREDENTIAL_MODE": "managed-identity", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c.example"})
    assert settings.ok, "a telemetry problem never makes a route answer 503"
    status, body = health_report(settings)
    assert status == 200 and body["status"] == "ok"
    assert body["telemetry"]["status"] == "off"
    assert body["telemetry"]["missing"] == ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert "c.example" not in json.dumps(body)


def test_health_names_telemetry_next_to_a_503_too() -> None:
    status, body = health_report(load_settings({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://c.example"}))
    assert status == 503 and body["telemetry"]["missing"] == ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]


# --- telemetry stays off -----------------------------------------------------------------------------

_IMPORT = """
import json, socket, sys
attempts = []
def refuse(self, address, *args):
    attempts.append(str(address))
    raise OSError("no network at import")
socket.socket.connect = refuse
import function_app
from shared.telemetry import telemetry_mode
otel = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry" or m.startswith("azure.monitor"))
print(json.dumps({"mode": telemetry_mode(), "otel": otel, "connects": attempts}))
"""


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x.example"},
        {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://10.1.2.3:4318/v1/metrics"},
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": _CONNECTION + "http://in.example/"},
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": _CONNECTION + "https://127.0.0.1:9/",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://in.example",
        },
    ],
)  # fmt: skip
def test_a_refused_endpoint_keeps_telemetry_off_without_importing_opentelemetry(env: dict[str, str]) -> None:
    assert run_python(_IMPORT, **env) == {"mode": "off", "otel": [], "connects": []}


def test_loopback_http_is_configured() -> None:
    result = run_python(_IMPORT, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert result["mode"] == "otlp" and result["connects"] == []


def test_a_signal_specific_endpoint_alone_configures_otlp() -> None:
    assert run_python(_IMPORT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="https://127.0.0.1:9/v1/traces")["mode"] == "otlp"


# --- no query string, in the worker-configured mode ----------------------------------------------------

# What the worker runtime does before it imports function_app: configure_azure_monitor (which also
# instruments requests, urllib and urllib3), with an exporter registered before the app's code runs.
# Then spans from every source: the requests/urllib3 instrumentations (a refused connection, so the
# exception event carries the URL too), azure-core, and a span set by hand.
_WORKER_SPANS = """
import json, urllib.request
from azure.monitor.opentelemetry import configure_azure_monitor
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
configure_azure_monitor()
exported = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exported))  # before the app: exports first
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
exported_logs = InMemoryLogRecordExporter()
get_logger_provider().add_log_record_processor(SimpleLogRecordProcessor(exported_logs))
import function_app, requests
from azure.core.pipeline.transport import HttpRequest
from azure.keyvault.keys import KeyClient
from shared.telemetry import telemetry_mode
secret = "s3cr3t-query-value"
class NoToken:
    def get_token(self, *scopes, **kwargs):
        raise RuntimeError("no token")
for call in (
    lambda: requests.get(f"http://127.0.0.1:9/v1.0/users?$skiptoken={secret}&code={secret}", timeout=2),
    lambda: urllib.request.urlopen(f"http://127.0.0.1:9/msi/token?resource={secret}", timeout=2),
    lambda: KeyClient("https://127.0.0.1:9/", NoToken(), retry_total=0).get_key("k", "v", params={"x": secret}),
):
    try:
        call()
    except Exception:
        pass
tracer = trace.get_tracer("test")
by_hand = {"url.full": f"https://h/p?a={secret}", "url.query": f"a={secret}"}
with tracer.start_as_current_span("by hand", attributes=by_hand) as span:
    span.set_attribute("http.url", f"https://h/p?b={secret}#frag")
    span.set_attributes({"http.target": f"/p?c={secret}", "url.query": secret})
    span.record_exception(ValueError(f"Max retries exceeded with url: /p?d={secret}"))
import logging
# urllib3's own retry warning names the URL with its query (connectionpool.py), at WARNING.
logging.getLogger("urllib3.connectionpool").warning(
    "Retrying (%r) after connection broken by '%r': %s", "Retry(total=2)", "err", f"/v1.0/users?$skiptoken={secret}"
)
logs = [str(r.log_record.body) for r in exported_logs.get_finished_logs()]
spans = exported.get_finished_spans()
dump = json.dumps([[dict(s.attributes), [(e.name, dict(e.attributes)) for e in s.events]] for s in spans], default=str)
URLS = ("url.full", "http.url", "http.target")
print(json.dumps({
    "mode": telemetry_mode(),
    "scopes": sorted({s.instrumentation_scope.name for s in spans}),
    "leaks": dump.count(secret),
    "logs": logs,
    "urls": sorted({str(v) for s in spans for k, v in s.attributes.items() if k in URLS}),
}))
"""


def test_the_worker_configured_provider_exports_no_query_string() -> None:
    result = run_python(
        _WORKER_SPANS,
        APPLICATIONINSIGHTS_CONNECTION_STRING=_CONNECTION + "https://127.0.0.1:9/",
        PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY="true",
        OTEL_TRACES_SAMPLER="always_on",
    )
    assert result["mode"] == "worker"
    # The requests, urllib and Azure SDK instrumentations all recorded spans (and one by hand).
    assert {"opentelemetry.instrumentation.requests", "opentelemetry.instrumentation.urllib", "test"} <= set(
        result["scopes"]
    ), result
    assert any(scope.startswith("azure") for scope in result["scopes"]), result
    assert result["leaks"] == 0, result
    assert result["urls"] and not any("?" in url or "#" in url for url in result["urls"]), result
    retry_lines = [line for line in result["logs"] if line.startswith("Retrying")]
    assert retry_lines and retry_lines[-1].endswith("/v1.0/users"), result["logs"]


def test_the_worker_configured_provider_is_scrubbed_even_when_telemetry_is_refused() -> None:
    result = run_python(
        _WORKER_SPANS,
        APPLICATIONINSIGHTS_CONNECTION_STRING=_CONNECTION + "https://127.0.0.1:9/",
        PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY="true",
        OTEL_TRACES_SAMPLER="always_on",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://collector.example:4318",
    )
    assert result["mode"] == "off" and result["leaks"] == 0, result


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("https://h/p?a=1", "https://h/p"),
        ("retries exceeded with url: /v1.0/users?$skiptoken=x (E)", "retries exceeded with url: /v1.0/users (E)"),
        ("GET 'http://127.0.0.1:9/a#b' failed", "GET 'http://127.0.0.1:9/a' failed"),
        ("is this a question?", "is this a question?"),
    ],
)  # fmt: skip
def test_scrub_text_cuts_the_query_of_urls_only(text: str, clean: str) -> None:
    assert scrub_text(text) == clean
    assert without_query("https://h/p?x#y") == "https://h/p"


def test_the_log_filter_scrubs_a_copy_for_its_handler_and_leaves_the_shared_record_whole() -> None:
    """Other handlers (the host's log line) still see the message as written; only the exporter's is cut."""
    import logging

    from shared.telemetry.query_scrubber import QueryStringLogFilter

    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    exporter, host = Collect(), Collect()
    exporter.addFilter(QueryStringLogFilter())
    logger = logging.getLogger("tests.query_filter")
    logger.propagate = False
    logger.addHandler(exporter)
    logger.addHandler(host)
    try:
        logger.warning("consent at %s", "https://login.example/t/adminconsent?client_id=abc")
    finally:
        logger.removeHandler(exporter)
        logger.removeHandler(host)
    assert seen == [
        "consent at https://login.example/t/adminconsent",
        "consent at https://login.example/t/adminconsent?client_id=abc",
    ]
