"""No query string leaves in a span, whoever recorded it: a span processor on the provider in use.

The broker's own spans carry URL paths only, and azure-core's go through
``QueryFreeOpenTelemetrySpan``. But when the Functions worker configured Azure Monitor itself
(``PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY``), the distro also instruments ``requests``,
``urllib``, ``urllib3`` and the Azure SDKs, and those spans record ``url.full`` / ``http.url`` /
``http.target`` with the query: Graph's ``$skiptoken`` paging cursors, the managed identity's
``resource``/``client_id``, the ``code`` of an incoming request. An app setting that turns those
instrumentations off can be removed by anyone who edits settings; this processor, added by the
app's own code to whatever provider it adopts or builds, cannot.

How: a span is mutable only until it ends, and a processor's ``on_end`` runs after the exporters'
processors that were registered before it (the worker registers Azure Monitor's first). So the
scrubbing happens while the span is alive: ``on_start`` rewrites the attributes the span was
started with and wraps that span's own ``set_attribute``/``set_attributes``/``add_event`` (public
API every instrumentation uses), so a URL set later is cut before it is ever stored. Exception
events keep their message, with any URL-like token's query cut the same way.

Log records leave through the OpenTelemetry ``LoggingHandler`` the worker (or ``setup``) attached to
a logger; urllib3's own WARNING lines ("Retrying ... /v1.0/users?$skiptoken=...") carry the query.
:class:`QueryStringLogFilter` on each such handler rewrites a record's message without any URL's
query before the handler turns it into an exported log record.

Imported only when telemetry is on (it imports the OpenTelemetry SDK).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import Span, SpanProcessor

# Attributes that hold a URL or a request target (stable and older HTTP semantic conventions).
URL_ATTRIBUTES = frozenset({"url.full", "http.url", "http.target", "url.original", "http.request.url"})
# Attributes that hold nothing but the query: dropped.
QUERY_ATTRIBUTES = frozenset({"url.query", "http.query"})
# A URL or an absolute path inside free text (an exception message), with its query or fragment.
_URL_IN_TEXT = re.compile(r"((?:[A-Za-z][A-Za-z0-9+.-]*://|/)[^\s?#'\"<>]*)[?#][^\s'\"<>]*")


def without_query(url: str) -> str:
    """``url`` up to its first ``?`` or ``#``."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
    return url if cut < 0 else url[:cut]


def scrub_text(text: str) -> str:
    """Free text with every URL-like token's query and fragment cut."""
    return _URL_IN_TEXT.sub(r"\1", text) if ("?" in text or "#" in text) else text


def _scrubbed(attributes: Mapping[str, Any] | None, *, free_text: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key in QUERY_ATTRIBUTES:
            continue
        if isinstance(value, str) and key in URL_ATTRIBUTES:
            value = without_query(value)
        elif isinstance(value, str) and free_text:
            value = scrub_text(value)
        result[key] = value
    return result


class QueryStringScrubber(SpanProcessor):
    """Cuts query strings from every span of the provider it is added to (see the module docstring)."""

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        attributes = dict(span.attributes or {})
        if any(key in URL_ATTRIBUTES or key in QUERY_ATTRIBUTES for key in attributes):
            clean = _scrubbed(attributes)
            # The SDK stores attributes in a BoundedAttributes; only set/overwrite is public, so a
            # query-only attribute is blanked rather than deleted.
            span.set_attributes({**clean, **{k: "" for k in attributes if k in QUERY_ATTRIBUTES}})
        set_attribute = span.set_attribute
        set_attributes = span.set_attributes
        add_event = span.add_event

        def scrubbed_set_attribute(key: str, value: Any) -> None:
            if key in QUERY_ATTRIBUTES:
                return
            set_attribute(key, without_query(value) if isinstance(value, str) and key in URL_ATTRIBUTES else value)

        def scrubbed_set_attributes(values: Mapping[str, Any]) -> None:
            set_attributes(_scrubbed(values))

        def scrubbed_add_event(
            name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
        ) -> None:
            add_event(name, _scrubbed(attributes, free_text=True), timestamp)

        # Instance attributes shadow the class's methods for this span only; record_exception calls
        # self.add_event, so exception messages pass through the wrapper too.
        span.set_attribute = scrubbed_set_attribute  # type: ignore[method-assign]
        span.set_attributes = scrubbed_set_attributes  # type: ignore[method-assign]
        span.add_event = scrubbed_add_event  # type: ignore[method-assign]

    def on_end(self, span: Any) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class QueryStringLogFilter(logging.Filter):
    """On a log handler: the record's message with every URL's query cut (always lets the record pass).

    The handler gets a scrubbed copy (a filter may return a replacement record since Python 3.12):
    the record itself is shared by every handler of the logger chain, and the function's own log
    line (the host's handler) keeps what the operator must read whole, e.g. an admin-consent URL's
    ``client_id``.
    """

    def filter(self, record: logging.LogRecord) -> bool | logging.LogRecord:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: left to the handler
            return True
        clean = scrub_text(message)
        if clean == message:
            return True
        scrubbed = copy.copy(record)
        scrubbed.msg, scrubbed.args = clean, None
        return scrubbed


def install_log_filter(logger_names: tuple[str, ...] = ("",)) -> int:
    """The filter on every OpenTelemetry ``LoggingHandler`` of these loggers (root by default); how many."""
    handler_types: tuple[type, ...] = ()
    try:
        from opentelemetry.instrumentation.logging.handler import LoggingHandler as InstrumentationHandler

        handler_types += (InstrumentationHandler,)
    except ImportError:  # pragma: no cover - older instrumentation package
        pass
    from opentelemetry.sdk._logs import LoggingHandler as SdkHandler

    handler_types += (SdkHandler,)
    count = 0
    for name in dict.fromkeys(logger_names):
        for handler in logging.getLogger(name or None).handlers:
            if isinstance(handler, handler_types):
                if not any(isinstance(f, QueryStringLogFilter) for f in handler.filters):
                    handler.addFilter(QueryStringLogFilter())
                count += 1
    return count


def install(provider: Any) -> bool:
    """Add the scrubber to an SDK ``TracerProvider`` once; False when ``provider`` is not one."""
    from opentelemetry.sdk.trace import TracerProvider

    if not isinstance(provider, TracerProvider):
        return False
    if getattr(provider, "_broker_query_scrubber", False):
        return True
    provider.add_span_processor(QueryStringScrubber())
    provider._broker_query_scrubber = True  # type: ignore[attr-defined]
    return True


__all__ = [
    "QUERY_ATTRIBUTES",
    "URL_ATTRIBUTES",
    "QueryStringLogFilter",
    "QueryStringScrubber",
    "install",
    "install_log_filter",
    "scrub_text",
    "without_query",
]
