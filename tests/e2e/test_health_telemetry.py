"""Through the host: a plain-text telemetry endpoint is named by /api/health and stops no route."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "setting", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]
)
def test_plain_text_otlp_is_named_by_health_and_the_routes_keep_serving(configure, setting):
    endpoint = "http://collector.contoso.example:4318"
    client = configure(**{setting: endpoint})
    health = client.get("health", key=False)
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["telemetry"]["status"] == "off" and body["telemetry"]["missing"] == [setting]
    assert "contoso" not in health.text, "health names the setting, never its value"
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200


def test_loopback_http_is_not_a_problem(configure):
    health = configure(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318").get("health", key=False)
    assert health.status_code == 200 and "telemetry" not in health.json()
