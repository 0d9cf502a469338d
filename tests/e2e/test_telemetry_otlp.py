"""The real exporter path: function_app in its own process, telemetry configured from the environment
(OTLP mode), its spans, metric points and log records received by the emulator's OTLP receiver."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Emulator

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
_JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}")

# A cold and a warm request through the route functions, then every provider flushed.
_RUN = """
import json, sys
import azure.functions as func
import opentelemetry.metrics as metrics
import opentelemetry.trace as trace
from opentelemetry._logs import get_logger_provider
import function_app
from shared.telemetry import telemetry_mode

statuses = []
for path, params in (("cosmos/cosmos-orders/keys", {}), ("cosmos/cosmos-orders/keys", {"type": "readwrite"})):
    request = func.HttpRequest("GET", "http://localhost/api/" + path, params=params, body=b"",
                               route_params={"account": "cosmos-orders"}, headers={})
    statuses.append(function_app.cosmos_keys(request).status_code)
for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), get_logger_provider()):
    provider.force_flush()
print(json.dumps({"mode": telemetry_mode(), "statuses": statuses}))
"""


def test_otlp_mode_exports_spans_metrics_and_logs_to_the_receiver(emu: Emulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
    env.update(emu.env_for("keyvault"))
    env.update(emu.telemetry_env())
    completed = subprocess.run(
        [sys.executable, "-c", _RUN], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result == {"mode": "otlp", "statuses": [200, 200]}

    spans = emu.otlp.received("traces")
    names = [s["name"] for s in spans]
    for expected in ("keyvault sign", "entra token", "managed-identity token", "arm readonlykeys", "arm listKeys"):
        assert expected in names, names
    roots = [s for s in spans if s["attributes"].get("broker.route") == "cosmos-keys"]
    assert len(roots) == 2 and {r["kind"] for r in roots} == {"SPAN_KIND_SERVER"}
    cold = min(roots, key=lambda s: s["startTimeUnixNano"])
    assert {s["traceId"] for s in spans if s["name"] == "keyvault sign"} == {cold["traceId"]}
    assert all(s["resource"]["service.name"] == "keyvault-assertion-broker" for s in spans)

    points = emu.otlp.received("metrics")
    signs = [p for p in points if p["name"] == "broker.keyvault.signs"]
    assert signs and signs[-1]["value"] == 1 and signs[-1]["attributes"] == {"broker.outcome": "success"}
    assert any(p["name"] == "broker.upstream.duration" and p["count"] >= 1 for p in points)
    assert any(p["name"] == "broker.certificate.days_to_expiry" for p in points)

    records = emu.otlp.received("logs")
    sign_lines = [r for r in records if r["attributes"].get("upstream") == "keyvault"]
    assert sign_lines and all(isinstance(r["attributes"]["duration_ms"], int) for r in sign_lines)
    assert all(r["traceId"] == cold["traceId"] for r in sign_lines)  # correlated with the request

    secrets = {emu.identity.identity_header, *(v for keys in emu.arm.keys.values() for v in keys.values())}
    exported = json.dumps([spans, points, records])
    assert not _JWT.search(exported)
    assert not any(secret in exported for secret in secrets)
    assert "?" not in "".join(s["attributes"].get("url.full", "") for s in spans)
