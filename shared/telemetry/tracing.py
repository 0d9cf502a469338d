"""The broker's spans: one per request, one per token fetch, one per upstream HTTP attempt.

Every function is a no-op costing one attribute check while telemetry is off (``state.ACTIVE``
is ``None``). Attempt spans are recorded when the attempt is over, with its real start and end
times, so nothing is left open when a call raises and no context has to be attached and
detached around library code: their parent is whatever span is current at that moment (the
azure-core operation span, or the broker's token/request span).

Attributes carry names, statuses, codes and URL *paths* only: never a query string, a header,
a body, a token, an assertion, a signature or a key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from . import names, state
from .operations import operation_name, server_address, url_path

_request_span: ContextVar[Any] = ContextVar("broker_request_span", default=None)


def record_attempt(
    upstream: str,
    method: str,
    url: str,
    *,
    status: int | None,
    started: float,
    ended: float,
    attempt: int = 1,
    retry_wait: float | None = None,
    code: str | None = None,
    error: BaseException | None = None,
    operation: str | None = None,
) -> None:
    """One upstream HTTP attempt (``started``/``ended`` from ``time.monotonic()``).

    ``operation`` overrides the name derived from the path (Key Vault's ``challenge``: the
    unauthenticated first request its challenge protocol expects to be answered 401).
    """
    active = state.ACTIVE
    if active is None:
        return
    from opentelemetry.trace import SpanKind, StatusCode

    path = url_path(url)
    operation = operation or operation_name(upstream, method, path)
    attributes: dict[str, Any] = {
        names.UPSTREAM: upstream,
        names.OPERATION: operation,
        names.HTTP_METHOD: method.upper(),
        names.URL_PATH: path,
        names.ATTEMPT: attempt,
    }
    host = server_address(url)
    if host:
        attributes[names.SERVER_ADDRESS] = host
    if status is not None:
        attributes[names.HTTP_STATUS] = status
    if retry_wait is not None:
        attributes[names.RETRY_WAIT_MS] = round(retry_wait * 1000)
    if code:
        attributes[names.UPSTREAM_CODE] = code
    failed = error is not None or status is None or (status >= 400 and operation != "challenge")
    if failed:
        attributes[names.ERROR_TYPE] = type(error).__name__ if error is not None else str(status)
    span = active.tracer.start_span(
        f"{upstream} {operation}",
        kind=SpanKind.CLIENT,
        start_time=state.monotonic_to_epoch_ns(started),
        attributes=attributes,
    )
    if failed:
        span.set_status(StatusCode.ERROR, code or None)
    span.end(end_time=state.monotonic_to_epoch_ns(ended))
    metric_attributes = {names.UPSTREAM: upstream, names.OPERATION: operation}
    if status is not None:
        metric_attributes[names.HTTP_STATUS] = status
    active.upstream_duration.record(max((ended - started) * 1000, 0.0), metric_attributes)
    if status == 429:
        active.throttled.add(1, {names.UPSTREAM: upstream, names.OPERATION: operation})


class RequestSpan:
    """The span of one incoming request, current while the handler runs."""

    __slots__ = ("_token", "span")

    def __init__(self, span: Any, token: Any) -> None:
        self.span = span
        self._token = token


def start_request(route: str, method: str, trace_context: Any = None) -> RequestSpan | None:
    """Open the request's span; ``trace_context`` is the Functions invocation's (``context.trace_context``)."""
    active = state.ACTIVE
    if active is None:
        return None
    import opentelemetry.context as otel_context
    import opentelemetry.trace as trace
    from opentelemetry.trace import SpanKind

    parent = _parent_from(trace_context)
    span = active.tracer.start_span(
        f"{method.upper()} {route}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={names.ROUTE: route, names.HTTP_ROUTE: route, names.HTTP_METHOD: method.upper()},
    )
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    _request_span.set(span)
    return RequestSpan(span, token)


def end_request(
    request: RequestSpan | None, status: int, *, code: str | None = None, upstream: str | None = None
) -> None:
    if request is None:
        return
    import opentelemetry.context as otel_context
    from opentelemetry.trace import StatusCode

    span = request.span
    span.set_attribute(names.HTTP_STATUS, status)
    if code:
        span.set_attribute(names.PROBLEM_CODE, code)
    if upstream:
        span.set_attribute(names.UPSTREAM, upstream)
    if status >= 500:
        span.set_attribute(names.ERROR_TYPE, str(status))
        span.set_status(StatusCode.ERROR)
    span.end()
    _request_span.set(None)
    otel_context.detach(request._token)


def set_caller(app_id: str | None) -> None:
    """Name the authenticated caller (its ``appid``) on the request's span."""
    if state.ACTIVE is None or not app_id:
        return
    span = _request_span.get()
    if span is not None:
        span.set_attribute(names.CALLER_APPID, app_id)


@contextlib.contextmanager
def token_fetch_span(scope: str) -> Iterator[None]:
    """A span around one fetch of a token through the credential chain (not around cache hits)."""
    active = state.ACTIVE
    if active is None:
        yield
        return
    with active.tracer.start_as_current_span("broker token", attributes={names.SCOPE: scope}):
        yield


def _parent_from(trace_context: Any) -> Any:
    """The invocation's context from the host's W3C ``traceparent``; else the current context.

    The Functions worker runs a sync function in a thread pool without the invocation's
    OpenTelemetry context, so the handler reads it from ``context.trace_context`` (as Microsoft's
    Functions OpenTelemetry guide does).
    """
    traceparent = getattr(trace_context, "trace_parent", None) if trace_context is not None else None
    if not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": str(traceparent)}
    tracestate = getattr(trace_context, "trace_state", None)
    if tracestate:
        carrier["tracestate"] = str(tracestate)
    return TraceContextTextMapPropagator().extract(carrier)
