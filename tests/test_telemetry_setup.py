"""configure_telemetry: off means no OpenTelemetry import at all; on adopts or configures once; no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.telemetry.operations import operation_name, url_path

ROOT = Path(__file__).resolve().parents[1]
_TELEMETRY_ENV = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY",
)


def run_python(code: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in _TELEMETRY_ENV}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# Any connect() during the import fails the import and is reported.
_NO_NETWORK = """
import json, socket, sys
attempts = []
def refuse(self, address, *args):
    attempts.append(str(address))
    raise OSError("no network at import")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
import function_app
from shared.telemetry import telemetry_mode
otel = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry" or m.startswith("azure.monitor"))
print(json.dumps({"mode": telemetry_mode(), "otel": otel, "connects": attempts}))
"""


def test_off_imports_no_opentelemetry_module_and_connects_nowhere():
    result = run_python(_NO_NETWORK)
    assert result == {"mode": "off", "otel": [], "connects": []}


def test_azure_monitor_is_configured_at_import_without_a_network_call():
    result = run_python(
        _NO_NETWORK,
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=https://127.0.0.1:9/",
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
    )
    assert result["mode"] == "azure-monitor"
    assert "azure.monitor.opentelemetry" in result["otel"]
    assert result["connects"] == []


def test_otlp_is_configured_without_azure_monitor():
    result = run_python(_NO_NETWORK, OTEL_EXPORTER_OTLP_ENDPOINT="https://127.0.0.1:9")
    assert result["mode"] == "otlp"
    assert "azure.monitor.opentelemetry" not in result["otel"]
    assert "opentelemetry.exporter.otlp.proto.http.trace_exporter" in result["otel"]
    assert result["connects"] == []


_WORKER_FIRST = """
import json
from azure.monitor.opentelemetry import configure_azure_monitor
from opentelemetry import trace
configure_azure_monitor()  # what the worker runtime does before importing function_app
provider = trace.get_tracer_provider()
import function_app
from azure.core.settings import settings
from shared.telemetry import telemetry_mode
print(json.dumps({
    "mode": telemetry_mode(),
    "same_provider": trace.get_tracer_provider() is provider,
    "azure_core_spans": settings.tracing_implementation().__name__,
}))
"""


def test_worker_configured_azure_monitor_is_adopted_not_configured_twice():
    result = run_python(
        _WORKER_FIRST,
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=https://127.0.0.1:9/",
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
        PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY="true",
    )
    assert result == {"mode": "worker", "same_provider": True, "azure_core_spans": "QueryFreeOpenTelemetrySpan"}


@pytest.mark.parametrize(
    ("upstream", "method", "url", "operation"),
    [
        ("keyvault", "POST", "https://kv.vault.azure.net/keys/c/0123/sign?api-version=7.6", "sign"),
        ("keyvault", "GET", "https://kv.vault.azure.net/certificates/c/?api-version=7.6", "get_certificate"),
        ("keyvault", "GET", "https://kv.vault.azure.net/certificates/c/0123", "get_certificate"),
        ("keyvault", "GET", "https://kv.vault.azure.net/certificates/c/versions", "list_certificate_versions"),
        ("entra", "POST", "https://login.microsoftonline.com/t/oauth2/v2.0/token", "token"),
        ("managed-identity", "GET", "http://localhost:8081/msi/token?resource=x&api-version=2019-08-01", "token"),
        ("arm", "POST", "https://management.azure.com/subscriptions/s/resourceGroups/r/providers/"
         "Microsoft.DocumentDB/databaseAccounts/a/readonlykeys?api-version=2025-10-15", "readonlykeys"),
        ("graph", "GET", "https://graph.microsoft.com/v1.0/users?$top=5&$skiptoken=abc", "list_users"),
        ("graph", "POST", "https://graph.microsoft.com/v1.0/applications/o/addKey", "addKey"),
    ],
)  # fmt: skip
def test_operation_names_are_low_cardinality_and_urls_lose_their_query(upstream, method, url, operation):
    assert operation_name(upstream, method, url_path(url)) == operation
    assert "?" not in url_path(url)
