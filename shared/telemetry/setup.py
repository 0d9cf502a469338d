"""Configure OpenTelemetry once per process, from the environment, or leave it off entirely.

Four cases (AZURE-PROTOCOLS §11):

* **worker**: the Functions worker already called ``configure_azure_monitor`` before importing
  ``function_app`` (``PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true``; the Python 3.13+
  worker runtime does this), or something else installed an SDK ``TracerProvider``. The global
  providers are used as they are: configuring a second time would be refused by the SDK and
  would duplicate exports.
* **azure-monitor**: ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set: the Azure Monitor
  distro, plus OTLP exporters when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set too.
* **otlp**: only ``OTEL_EXPORTER_OTLP_ENDPOINT``: the OpenTelemetry SDK with the OTLP/HTTP
  exporters (TLS trust from ``OTEL_EXPORTER_OTLP_CERTIFICATE``).
* **off**: none of these: no OpenTelemetry module is imported at all.

Telemetry never leaves in plain text: an exporter endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or a
signal's own ``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT``, or the connection string's
``IngestionEndpoint``) over ``http://`` to anything but a loopback address keeps the broker's
telemetry **off** (``transport``; ``/api/health`` names the setting and the routes
keep serving). And it never carries a query string: whatever the mode, the provider in use gets
the :class:`~shared.telemetry.query_scrubber.QueryStringScrubber` span processor, the worker's
adopted one included (the worker's own instrumentations record full URLs).

In every case the Azure SDK loggers are set to WARNING. Configuring starts the exporters'
background threads but makes no network call itself; the first export happens later, on
those threads.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from . import names, state
from .transport import APPLICATIONINSIGHTS_CONNECTION_STRING, OTLP_ENDPOINT_SETTINGS, transport_problems

_LOGGER = logging.getLogger(__name__)

PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY = "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"
# The logger the worker attaches Azure Monitor's log handler to (default: the root logger).
PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME = "PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
OTEL_EXPERIMENTAL_RESOURCE_DETECTORS = "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS"
# Libraries whose INFO lines (one per HTTP request, token cache chatter) drown the broker's own.
BROKER_LOGGER = "shared"
SDK_LOGGERS = ("azure.core", "azure.identity", "azure.keyvault", "azure.monitor", "msal", "urllib3")
# The broker records one span per ARM/Graph attempt itself, with the URL path only; the generic
# HTTP instrumentations would add a second span per call carrying the full URL with its query.
_DISABLED_INSTRUMENTATIONS = ("requests", "urllib", "urllib3")

OFF = "off"
WORKER = "worker"
AZURE_MONITOR = "azure-monitor"
OTLP = "otlp"

_mode: str | None = None
_lock = threading.Lock()


def quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _sdk_provider_installed() -> bool:
    # Only an already-imported SDK can have installed a provider: never import it just to ask.
    if "opentelemetry.sdk.trace" not in sys.modules:
        return False
    import opentelemetry.trace as trace
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(trace.get_tracer_provider(), TracerProvider)


def telemetry_mode() -> str:
    """The mode this process was configured in (``off`` before :func:`configure_telemetry`)."""
    return _mode or OFF


def configure_telemetry(environ: Mapping[str, str] | None = None) -> str:
    """Once per process: decide the mode, set up exporters if the broker owns them, activate hooks.

    Once on, it stays on; ``off`` is decided again on the next call (a host, or a test, may
    install providers after importing the app).
    """
    global _mode
    if _mode is not None and _mode != OFF:
        return _mode
    with _lock:
        if _mode is not None and _mode != OFF:
            return _mode
        environ = os.environ if environ is None else environ
        quiet_sdk_loggers()
        connection_string = (environ.get(APPLICATIONINSIGHTS_CONNECTION_STRING) or "").strip()
        otlp_endpoint = any((environ.get(name) or "").strip() for name in OTLP_ENDPOINT_SETTINGS)
        worker = _sdk_provider_installed()
        if worker:
            # Before anything else: the worker's own instrumentations are already recording spans.
            _scrub_query_strings()
        refused = transport_problems(environ)
        if refused:
            # Fail closed: nothing of the broker's is exported, nothing is configured.
            _LOGGER.error(
                "telemetry: off: %s would send it in plain text (see /api/health)",
                ", ".join(dict.fromkeys(setting for setting, _ in refused)),
                extra={"telemetry_mode": OFF, "telemetry_refused": [setting for setting, _ in refused]},
            )
            _mode = OFF
            return _mode
        if worker:
            mode = WORKER
        elif connection_string:
            if _flag(environ.get(PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY)):
                # The worker was asked to configure but did not (an older worker, a local host).
                _LOGGER.info("telemetry: the worker configured no OpenTelemetry provider; configuring here")
            _configure_azure_monitor(connection_string, otlp=bool(otlp_endpoint), environ=environ)
            mode = AZURE_MONITOR
        elif otlp_endpoint:
            _configure_otlp(environ)
            mode = OTLP
        else:
            _mode = OFF
            return _mode
        _scrub_query_strings()
        _use_query_free_azure_core_spans()
        state.activate()
        broker_logger = logging.getLogger(BROKER_LOGGER)
        if broker_logger.level == logging.NOTSET:
            # The broker's INFO lines are what the exporters ship, whatever the root level is.
            broker_logger.setLevel(logging.INFO)
        _mode = mode
        _LOGGER.info("telemetry: %s", mode, extra={"telemetry_mode": mode})
        return _mode


def _resource(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.resources import Resource

    # The distro's default detectors include azure_vm, which queries IMDS (a network call, and
    # pointless on Functions). The Functions resource detector reads environment variables only;
    # the worker runtime sets the same default when it configures Azure Monitor itself.
    os.environ.setdefault(OTEL_EXPERIMENTAL_RESOURCE_DETECTORS, "azure_functions")

    attributes = {} if environ.get(OTEL_SERVICE_NAME) else {"service.name": names.DEFAULT_SERVICE_NAME}
    return Resource.create(attributes)


def _otlp_parts() -> tuple[Any, Any, Any]:
    """A span processor, a metric reader and a log processor exporting over OTLP/HTTP."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return (
        BatchSpanProcessor(OTLPSpanExporter()),
        PeriodicExportingMetricReader(OTLPMetricExporter()),
        BatchLogRecordProcessor(OTLPLogExporter()),
    )


def _configure_azure_monitor(connection_string: str, *, otlp: bool, environ: Mapping[str, str]) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    options: dict[str, Any] = {
        "connection_string": connection_string,
        "resource": _resource(environ),
        "instrumentation_options": {name: {"enabled": False} for name in _DISABLED_INSTRUMENTATIONS},
    }
    if otlp:
        span_processor, metric_reader, log_processor = _otlp_parts()
        options.update(
            span_processors=[span_processor], metric_readers=[metric_reader], log_record_processors=[log_processor]
        )
    configure_azure_monitor(**options)


def _configure_otlp(environ: Mapping[str, str]) -> None:
    import opentelemetry.metrics as metrics
    import opentelemetry.trace as trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    try:  # the maintained handler; the SDK's own is deprecated
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
    except ImportError:  # pragma: no cover - older instrumentation package
        from opentelemetry.sdk._logs import LoggingHandler

    resource = _resource(environ)
    span_processor, metric_reader, log_processor = _otlp_parts()
    tracer_provider = TracerProvider(resource=resource)  # sampler from OTEL_TRACES_SAMPLER
    tracer_provider.add_span_processor(span_processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[metric_reader]))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(log_processor)
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))


def _scrub_query_strings() -> None:
    """The query-string scrubbers: on the global tracer provider (the worker's, or the one built here),
    and on the OpenTelemetry log handlers of the root logger and of the worker's logger
    (``PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME``)."""
    import opentelemetry.trace as trace

    from .query_scrubber import install, install_log_filter

    install(trace.get_tracer_provider())
    install_log_filter(("", (os.environ.get(PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME) or "").strip(), BROKER_LOGGER))


def _use_query_free_azure_core_spans() -> None:
    """azure-core's own spans through OpenTelemetry, with URLs stripped of their query."""
    from azure.core.settings import settings

    from .azure_core_spans import QueryFreeOpenTelemetrySpan

    settings.tracing_implementation = QueryFreeOpenTelemetrySpan
