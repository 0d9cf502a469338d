"""One retry budget per incoming request, enforced inside the libraries' own retry policies.

SPEC: retries of one request stop within 30 s in total, honour ``Retry-After``, and every
outbound call has a timeout. A request sets a deadline (a context variable, so it follows
the request's thread) and two thin subclasses of the libraries' retry machinery consult it:
azure-core's ``RetryPolicy`` (Key Vault, managed identity, Entra) and urllib3's ``Retry``
(ARM and Graph through ``requests``). They only add one rule: do not start a retry whose wait
plus one more attempt would end past the deadline. Backoff, ``Retry-After`` parsing and
counting stay the libraries' own.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from .call_logging import RETRY_WAIT, azure_core_attempt_raised, requests_attempt_retried

# 30 s is the SPEC's ceiling; keep a margin for the work after the last upstream answer.
REQUEST_BUDGET_SECONDS = 28.0
RETRIES = 3
BACKOFF_FACTOR = 0.4
BACKOFF_MAX = 4.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_deadline: ContextVar[float | None] = ContextVar("upstream_deadline", default=None)
_write: ContextVar[bool] = ContextVar("non_idempotent_write", default=False)


@contextlib.contextmanager
def non_idempotent() -> Iterator[None]:
    """Requests made inside this block are writes that must not be repeated blindly (Graph
    ``addKey``: a retried POST after a 5xx that did apply registers the key twice). urllib3 resends
    them only when the service cannot have processed them: the connection was never made, or a 429
    (Graph: throttled requests are not processed). Anything else is handed back to the caller,
    which re-reads and reconciles (shared/rollover/service.py ``_write``)."""
    token = _write.set(True)
    try:
        yield
    finally:
        _write.reset(token)


@contextlib.contextmanager
def request_deadline(seconds: float = REQUEST_BUDGET_SECONDS) -> Iterator[None]:
    """Bound every upstream retry made inside this block to ``seconds`` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def budget_allows(wait: float, attempt_timeout: float) -> bool:
    """True when waiting ``wait`` and then one attempt of ``attempt_timeout`` fits the budget."""
    left = remaining()
    return left is None or left - wait >= attempt_timeout


def _is_entra_transient(response: PipelineResponse[Any, Any]) -> bool:
    """Entra's ``temporarily_unavailable`` can come with a 400, which azure-core would not retry."""
    http_response = response.http_response
    if http_response.status_code != 400:
        return False
    if "json" not in (http_response.headers.get("Content-Type") or ""):
        return False
    try:
        body = json.loads(http_response.text())
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and body.get("error") == "temporarily_unavailable"


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's retry policy, bounded by the request deadline.

    POST is retried too: the POSTs this app makes (Key Vault ``sign``, token requests) are free of
    side effects, and a Key Vault ``sign`` throttled without ``Retry-After`` would otherwise fail
    on the first 429.
    """

    def __init__(self, *, attempt_timeout: float = 10.0, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", RETRIES)
        kwargs.setdefault("retry_backoff_factor", BACKOFF_FACTOR)
        kwargs.setdefault("retry_backoff_max", BACKOFF_MAX)
        kwargs.setdefault("retry_on_methods", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST"])
        kwargs.setdefault("timeout", REQUEST_BUDGET_SECONDS)
        super().__init__(**kwargs)
        self._attempt_timeout = attempt_timeout

    def send(self, request: Any) -> Any:
        try:
            return super().send(request)
        except AzureError as error:
            # The last attempt raised and was not retried (a read timeout on a POST, an auth
            # error): record it once; attempts retried were recorded by increment().
            azure_core_attempt_raised(request, error)
            raise

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        left = remaining()
        if left is not None:
            settings["timeout"] = max(min(settings["timeout"], left), 0.001)
        return settings

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        status = response.http_response.status_code
        # azure-core retries any status that carries Retry-After; only throttling and transient
        # failures deserve it here (a 403 is not going to change on its own).
        if status in RETRY_STATUSES:
            return bool(settings["total"])
        return bool(settings["total"]) and _is_entra_transient(response)

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        if error is not None:
            # An attempt that raised (connection refused, timeout): the per-attempt hooks never saw it.
            azure_core_attempt_raised(response, error)
        if not super().increment(settings, response=response, error=error):
            return False
        wait = None
        if isinstance(response, PipelineResponse):
            wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time(settings)
        if response is not None and hasattr(response, "context"):
            response.context[RETRY_WAIT] = wait  # the next attempt's hooks report it
        return budget_allows(wait, self._attempt_timeout)


class BoundedUrllib3Retry(Retry):
    """urllib3's ``Retry`` for the ``requests`` clients, bounded by the request deadline."""

    def __init__(self, *args: Any, attempt_timeout: float = 10.0, upstream: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempt_timeout = attempt_timeout
        self.upstream = upstream

    def parse_retry_after(self, retry_after: str) -> float:
        # Graph documents fractional values ("2.128"), which urllib3 rejects as an invalid header.
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return super().parse_retry_after(retry_after)

    def new(self, **kw: Any) -> BoundedUrllib3Retry:
        new_retry = super().new(**kw)
        new_retry.attempt_timeout = self.attempt_timeout
        new_retry.upstream = self.upstream
        return new_retry

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> Retry:
        response = kwargs.get("response")
        if _write.get() and not _not_processed(response, kwargs.get("error")):
            # With raise_on_status off, urllib3 hands a status answer back as is; an error is raised.
            raise MaxRetryError(kwargs.get("_pool"), url or "", kwargs.get("error"))
        new_retry = super().increment(method, url, *args, **kwargs)
        wait = new_retry.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = new_retry.get_backoff_time()
        if not budget_allows(wait, self.attempt_timeout):
            raise MaxRetryError(kwargs.get("_pool"), url or "", kwargs.get("error"))
        # The retry happens: record the attempt that failed (the last one is recorded by the
        # response hook, or by the client when it raised).
        status = getattr(response, "status", None) if response is not None else None
        requests_attempt_retried(self.upstream, method or "", url or "", status, wait, kwargs.get("error"))
        return new_retry


def _not_processed(response: Any, error: Any) -> bool:
    """The request certainly did not take effect, so sending it again cannot apply it twice."""
    if response is not None:
        return getattr(response, "status", None) == 429
    return isinstance(error, ConnectTimeoutError)  # NewConnectionError included: nothing was sent


def urllib3_retry(attempt_timeout: float, *, upstream: str = "") -> BoundedUrllib3Retry:
    return BoundedUrllib3Retry(
        total=RETRIES,
        connect=RETRIES,
        read=RETRIES,
        status=RETRIES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_MAX,
        status_forcelist=sorted(RETRY_STATUSES),
        # listKeys and readonlykeys are POSTs without side effects.
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        # Hand the last throttled response back instead of raising, so its Retry-After reaches the caller.
        raise_on_status=False,
        attempt_timeout=attempt_timeout,
        upstream=upstream,
    )
