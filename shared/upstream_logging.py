"""Structured log lines for every outbound attempt: upstream, method, path, status, duration.

Only the URL path is logged (never the query, which carries resource and client ids, nor any
header or body). azure-core clients get it through their per-attempt custom hooks, the
``requests`` session through its response hook.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import requests

_LOGGER = logging.getLogger("shared.upstream")
_STARTED = "upstream_attempt_started"


def log_attempt(upstream: str, method: str, url: str, status: int | None, duration_ms: float) -> None:
    path = urlsplit(url).path
    _LOGGER.info(
        "upstream=%s method=%s path=%s status=%s duration_ms=%.0f",
        upstream,
        method,
        path,
        status,
        duration_ms,
        extra={
            "upstream": upstream,
            "http_method": method,
            "http_path": path,
            "http_status": status,
            "duration_ms": round(duration_ms),
        },
    )


def azure_core_hooks(upstream: str) -> dict[str, Any]:
    """Keyword arguments for any azure-core client or azure-identity credential."""

    def on_request(request: Any) -> None:
        request.context[_STARTED] = time.monotonic()

    def on_response(response: Any) -> None:
        started = response.context.get(_STARTED) if hasattr(response, "context") else None
        elapsed = (time.monotonic() - started) * 1000 if started else 0.0
        http_request = response.http_request
        log_attempt(upstream, http_request.method, http_request.url, response.http_response.status_code, elapsed)

    return {"raw_request_hook": on_request, "raw_response_hook": on_response}


def requests_hook(upstream: str) -> Any:
    def on_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        log_attempt(
            upstream,
            response.request.method or "",
            response.request.url or "",
            response.status_code,
            response.elapsed.total_seconds() * 1000,
        )

    return on_response
