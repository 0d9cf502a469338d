"""Structured log lines for every outbound attempt: upstream, method, path, status, duration.

Only the URL path is logged (never the query, which carries resource and client ids, nor any
header or body). azure-core clients get it through their per-attempt custom hooks, the
``requests`` session through its response hook.

A successful ARM/Graph call — the warm path of every request — is logged at DEBUG: the Functions
host already logs each invocation with its outcome and duration, and one INFO record costs ~25 us
there, a quarter of the function's own overhead (``make bench``, row f). Every other answer
(4xx/5xx, retried or not) and every Key Vault, Entra and managed-identity call stays INFO.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import requests

_LOGGER = logging.getLogger("shared.upstream")
_STARTED = "upstream_attempt_started"


def log_attempt(
    upstream: str, method: str, url: str, status: int | None, duration_ms: float, *, level: int = logging.INFO
) -> None:
    path = urlsplit(url).path
    _LOGGER.log(
        level,
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
        level = logging.DEBUG if 200 <= response.status_code < 300 else logging.INFO
        if not _LOGGER.isEnabledFor(level):
            return
        log_attempt(
            upstream,
            response.request.method or "",
            response.request.url or "",
            response.status_code,
            response.elapsed.total_seconds() * 1000,
            level=level,
        )

    return on_response
