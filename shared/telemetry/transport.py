"""Where telemetry may be sent: https anywhere, plain http only to a loopback collector.

The exporters read their destinations from the environment themselves (the OTLP exporters the
generic ``OTEL_EXPORTER_OTLP_ENDPOINT`` and, first, each signal's own variable; the Azure Monitor
distro the connection string's ``IngestionEndpoint`` and ``LiveEndpoint``). A destination over
``http://`` to any other host would carry spans, metrics and log lines in plain text, so the
broker then configures no telemetry at all (``setup``) and ``/api/health`` names the setting
(``settings.telemetry_problems``), never its value.

Standard library only: ``shared.settings`` imports this, and this package sits below it.
References: opentelemetry.io/docs/specs/otel/protocol/exporter (endpoint variables, per-signal
precedence); learn.microsoft.com/azure/azure-monitor/app/connection-strings (endpoint keys).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTEL_EXPORTER_OTLP_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
OTLP_ENDPOINT_SETTINGS: tuple[str, ...] = (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
)
APPLICATIONINSIGHTS_CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
TELEMETRY_SETTINGS: tuple[str, ...] = (*OTLP_ENDPOINT_SETTINGS, APPLICATIONINSIGHTS_CONNECTION_STRING)
# The connection string's endpoints the Python distro sends to: telemetry, and live metrics.
_CONNECTION_STRING_ENDPOINTS = ("IngestionEndpoint", "LiveEndpoint")
# Anything but printable ASCII without the space, or a backslash: URL parsers disagree on those.
_UNSAFE_CHARACTER = re.compile(r"[^\x21-\x7e]|\\")

PLAIN_TEXT_REASON = (
    "must be an https:// URL, or http:// to a loopback address (127.0.0.0/8, ::1, localhost) only: "
    "telemetry is not sent in plain text, so it stays off until this is fixed"
)
UNUSABLE_REASON = (
    "not a URL telemetry can be sent to (https://host[:port][/path]); telemetry stays off until this is fixed"
)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_problem(url: str) -> str | None:
    """Why telemetry may not be sent to ``url``; None when it may (https, or http to loopback)."""
    if _UNSAFE_CHARACTER.search(url):
        return UNUSABLE_REASON
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return UNUSABLE_REASON
    host = parts.hostname
    if not host or "@" in parts.netloc or "%" in parts.netloc:
        return UNUSABLE_REASON  # userinfo, or a host the parsers may read differently
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and _is_loopback(host)):
        return None
    return PLAIN_TEXT_REASON


def _connection_string_endpoints(connection_string: str) -> list[tuple[str, str]]:
    """The explicit endpoints of an Application Insights connection string (absent: Azure's own, https)."""
    found = []
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        key = next((k for k in _CONNECTION_STRING_ENDPOINTS if k.lower() == name.strip().lower()), None)
        if key and value.strip():
            found.append((key, value.strip()))
    return found


def transport_problems(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(setting, reason) for every telemetry destination that would carry it in plain text."""
    problems: list[tuple[str, str]] = []
    for name in OTLP_ENDPOINT_SETTINGS:
        value = (environ.get(name) or "").strip()
        reason = transport_problem(value) if value else None
        if reason:
            problems.append((name, reason))
    for key, url in _connection_string_endpoints(environ.get(APPLICATIONINSIGHTS_CONNECTION_STRING) or ""):
        reason = transport_problem(url)
        if reason:
            problems.append((APPLICATIONINSIGHTS_CONNECTION_STRING, f"{key} {reason}"))
    return tuple(problems)
