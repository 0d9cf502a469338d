"""One structured log line and one telemetry record for every outbound attempt.

Each attempt names its upstream, method, URL path, status, duration, attempt number, the wait
before it, and the upstream's own error code. Only the URL path is logged (never the query,
which carries resource and client ids, nor any header or body). azure-core clients get it
through their per-attempt custom hooks (plus ``BoundedRetryPolicy`` for attempts that raised);
the ``requests`` sessions through their response hook and ``BoundedUrllib3Retry`` for the
attempts urllib3 retries inside the adapter.

A successful ARM/Graph call — the warm path of every request — is logged at DEBUG: the Functions
host already logs each invocation with its outcome and duration, and one INFO record costs ~25 us
there, a quarter of the function's own overhead (``make bench``, row f). Every other answer
(4xx/5xx, retried or not) and every Key Vault, Entra and managed-identity call stays INFO. The
telemetry record (span, duration histogram) does not depend on the log level.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import requests

from .. import telemetry

_LOGGER = logging.getLogger("shared.upstream")
_STARTED = "upstream_attempt_started"
_UPSTREAM = "upstream_name"
_RAISED = "upstream_attempt_raised"
# Set by the retry policy: the wait before the attempt that follows.
RETRY_WAIT = "upstream_retry_wait"
# ARM/Graph through requests: (started, attempt number, wait before it) of the attempt in flight.
_requests_attempt: ContextVar[tuple[float, int, float | None] | None] = ContextVar("requests_attempt", default=None)


def error_code(status: int | None, read_json: Any) -> str | None:
    """The upstream's own error code of a failed answer; ``read_json`` is only called on failures."""
    if status is None or status < 400:
        return None
    from .error_mapping import error_code_from_body

    try:
        return error_code_from_body(read_json())
    # RecursionError: a body nested deeper than json recurses (an upstream's answer is never a 500).
    except (ValueError, TypeError, UnicodeDecodeError, AttributeError, RecursionError):
        return None


def log_attempt(
    upstream: str,
    method: str,
    url: str,
    status: int | None,
    duration_ms: float,
    *,
    attempt: int = 1,
    retry_wait: float | None = None,
    code: str | None = None,
    error: BaseException | None = None,
    level: int = logging.INFO,
) -> None:
    if not _LOGGER.isEnabledFor(level):
        return
    path = urlsplit(url).path
    extra: dict[str, Any] = {
        "upstream": upstream,
        "http_method": method,
        "http_path": path,
        "http_status": status,
        "duration_ms": round(duration_ms),
        "attempt": attempt,
    }
    if retry_wait is not None:
        extra["retry_wait_ms"] = round(retry_wait * 1000)
    if code:
        extra["code"] = code
    if error is not None:
        extra["error"] = type(error).__name__
    _LOGGER.log(
        level,
        "upstream=%s method=%s path=%s status=%s duration_ms=%.0f attempt=%s%s",
        upstream,
        method,
        path,
        status if error is None else type(error).__name__,
        duration_ms,
        attempt,
        f" code={code}" if code else "",
        extra=extra,
    )


def _record(
    upstream: str,
    method: str,
    url: str,
    status: int | None,
    started: float,
    *,
    attempt: int,
    retry_wait: float | None,
    code: str | None = None,
    error: BaseException | None = None,
    operation: str | None = None,
    level: int = logging.INFO,
) -> None:
    ended = time.monotonic()
    log_attempt(
        upstream,
        method,
        url,
        status,
        (ended - started) * 1000,
        attempt=attempt,
        retry_wait=retry_wait,
        code=code,
        error=error,
        level=level,
    )
    telemetry.record_attempt(
        upstream,
        method,
        url,
        status=status,
        started=started,
        ended=ended,
        attempt=attempt,
        retry_wait=retry_wait,
        code=code,
        error=error,
        operation=operation,
    )


def azure_core_hooks(upstream: str) -> dict[str, Any]:
    """Keyword arguments for any azure-core client or azure-identity credential."""

    def on_request(request: Any) -> None:
        request.context[_STARTED] = time.monotonic()
        request.context[_UPSTREAM] = upstream

    def on_response(response: Any) -> None:
        context = response.context if hasattr(response, "context") else {}
        started = context.get(_STARTED) or time.monotonic()
        http_request = response.http_request
        status = response.http_response.status_code
        # Key Vault's challenge protocol: the first request goes without a token and must get a 401.
        challenge = status == 401 and "Authorization" not in http_request.headers
        _record(
            upstream,
            http_request.method,
            http_request.url,
            status,
            started,
            attempt=int(context.get("retry_count") or 0) + 1,
            retry_wait=context.get(RETRY_WAIT),
            code=None if challenge else error_code(status, lambda: json.loads(response.http_response.text())),
            operation="challenge" if challenge else None,
        )

    return {"raw_request_hook": on_request, "raw_response_hook": on_response}


def azure_core_attempt_raised(pipeline_request: Any, error: BaseException) -> None:
    """An azure-core attempt that ended in an exception (no response: the hooks did not see it)."""
    context = getattr(pipeline_request, "context", None)
    if context is None or _UPSTREAM not in context:
        return
    attempt = int(context.get("retry_count") or 0) + 1
    if context.get(_RAISED) == attempt:
        return  # already recorded (by the retry policy's increment, then again on the way out)
    context[_RAISED] = attempt
    http_request = pipeline_request.http_request
    _record(
        context[_UPSTREAM],
        http_request.method,
        http_request.url,
        None,
        context.get(_STARTED) or time.monotonic(),
        attempt=attempt,
        retry_wait=context.get(RETRY_WAIT),
        error=error,
    )


def begin_requests_call() -> None:
    """Before a ``requests`` call: its first attempt starts now."""
    _requests_attempt.set((time.monotonic(), 1, None))


def requests_attempt_retried(
    upstream: str, method: str, url: str, status: int | None, wait: float, error: BaseException | None = None
) -> None:
    """urllib3 is about to retry: record the attempt that failed; the next starts after ``wait``."""
    started, attempt, retry_wait = _requests_attempt.get() or (time.monotonic(), 1, None)
    _record(upstream, method, url, status, started, attempt=attempt, retry_wait=retry_wait, error=error)
    _requests_attempt.set((time.monotonic() + wait, attempt + 1, wait))


def requests_attempt_raised(upstream: str, method: str, url: str, error: BaseException) -> None:
    """The last ``requests`` attempt raised (connection refused, timeout): no response hook ran."""
    started, attempt, retry_wait = _requests_attempt.get() or (time.monotonic(), 1, None)
    _record(upstream, method, url, None, started, attempt=attempt, retry_wait=retry_wait, error=error)


def requests_hook(upstream: str) -> Any:
    def on_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        tracked = _requests_attempt.get()
        if tracked is None:
            started, attempt, retry_wait = time.monotonic() - response.elapsed.total_seconds(), 1, None
        else:
            started, attempt, retry_wait = tracked
        _record(
            upstream,
            response.request.method or "",
            response.request.url or "",
            response.status_code,
            started,
            attempt=attempt,
            retry_wait=retry_wait,
            code=error_code(response.status_code, response.json),
            level=logging.DEBUG if 200 <= response.status_code < 300 else logging.INFO,
        )

    return on_response
