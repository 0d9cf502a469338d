"""Telemetry: OpenTelemetry traces, metrics and logs for Application Insights and OTLP.

The rest of the broker uses only these names. Importing this package imports no OpenTelemetry
module; while telemetry is off every hook below is a single attribute check.
"""

from .metrics import (
    certificate_in_use,
    count_rollover_run,
    count_sign,
    count_token_acquisition,
    count_token_cache,
)
from .setup import configure_telemetry, quiet_sdk_loggers, telemetry_mode
from .tracing import end_request, record_attempt, set_caller, start_request, token_fetch_span

__all__ = [
    "certificate_in_use",
    "configure_telemetry",
    "count_rollover_run",
    "count_sign",
    "count_token_acquisition",
    "count_token_cache",
    "end_request",
    "quiet_sdk_loggers",
    "record_attempt",
    "set_caller",
    "start_request",
    "telemetry_mode",
    "token_fetch_span",
]
