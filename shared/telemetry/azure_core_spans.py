"""azure-core's spans (one per SDK operation and one per HTTP attempt) in the broker's trace.

azure-core's OpenTelemetry plugin (``azure-core-tracing-opentelemetry``, which the Azure
Monitor distro also installs as ``settings.tracing_implementation``) records ``url.full`` with
the query string, whose values azure-core replaces by ``REDACTED`` except ``api-version``.
This subclass records the URL without any query, like the broker's own spans. Imported only
when telemetry is on.
"""

from __future__ import annotations

from typing import Any

from azure.core.tracing.ext.opentelemetry_span import OpenTelemetrySpan

_URL_ATTRIBUTES = frozenset({"http.url", "url.full"})


def _without_query(url: str) -> str:
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
    return url if cut < 0 else url[:cut]


class QueryFreeOpenTelemetrySpan(OpenTelemetrySpan):
    def add_attribute(self, key: str, value: Any) -> None:
        if key in _URL_ATTRIBUTES and isinstance(value, str):
            value = _without_query(value)
        super().add_attribute(key, value)


__all__ = ["QueryFreeOpenTelemetrySpan"]
