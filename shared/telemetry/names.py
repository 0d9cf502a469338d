"""Every signal name the broker emits, in one place: docs/operator.md's table and the alerts use them.

One prefix, ``broker.``, for metrics and for the broker's own span attributes. Kept free of
imports so that importing it costs nothing when telemetry is off.
"""

from __future__ import annotations

PREFIX = "broker"
INSTRUMENTATION_SCOPE = "keyvault-assertion-broker"
DEFAULT_SERVICE_NAME = "keyvault-assertion-broker"

# Metrics (instrument names, units as UCUM).
SIGNS = "broker.keyvault.signs"
TOKEN_ACQUISITIONS = "broker.token.acquisitions"  # noqa: S105 - a metric name
TOKEN_CACHE_HITS = "broker.token_cache.hits"  # noqa: S105 - a metric name
TOKEN_CACHE_MISSES = "broker.token_cache.misses"  # noqa: S105 - a metric name
UPSTREAM_DURATION = "broker.upstream.duration"
UPSTREAM_THROTTLED = "broker.upstream.throttled"
CERTIFICATE_DAYS_TO_EXPIRY = "broker.certificate.days_to_expiry"
# Emitted by the certificate rollover (issue 7); named here so alerts and docs share the name.
ROLLOVER_RUNS = "broker.rollover.runs"

# Attributes of the broker's own spans, metrics and log records.
UPSTREAM = "broker.upstream"
OPERATION = "broker.operation"
ATTEMPT = "broker.attempt"
RETRY_WAIT_MS = "broker.retry_wait_ms"
UPSTREAM_CODE = "broker.upstream_code"
ROUTE = "broker.route"
CALLER_APPID = "broker.caller.appid"
PROBLEM_CODE = "broker.problem.code"
SCOPE = "broker.scope"
OUTCOME = "broker.outcome"
SOURCE = "broker.source"
CERTIFICATE = "broker.certificate"
CERTIFICATE_VERSION = "broker.certificate.version"
TRIGGER = "broker.trigger"

# OpenTelemetry semantic conventions (HTTP, stable).
HTTP_METHOD = "http.request.method"
HTTP_STATUS = "http.response.status_code"
HTTP_ROUTE = "http.route"
URL_PATH = "url.path"
SERVER_ADDRESS = "server.address"
ERROR_TYPE = "error.type"
