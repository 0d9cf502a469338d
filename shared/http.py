"""HTTP shaping: JSON and ``application/problem+json`` responses, and the per-route wrapper.

``route`` is the one place a :class:`ProblemError` becomes a response: every handler raises,
none formats an error by hand. The caller gets the problem's ``detail``; the operator's hint
(``log_hint``, which may name the deployment's identifiers) goes to this route's log line of the
same failure and to ``/api/diagnostics`` (``shared.problem_log``), never into the response.
Unexpected exceptions become a generic 500 problem; their traceback goes to the log (SDK
exception texts carry no secrets) and never to the caller.

``route`` is also where callers are authenticated, before the handler sees the request: each
route declares the app roles it needs (``roles=``, required), and with ``CALLER_AUDIENCE`` set a
missing or invalid caller token is a 401 before any query or route value is judged. A route
that takes no caller token (health, the OpenAPI document) says so with ``roles=None``.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from .callers import caller_scope
from .errors import ProblemError
from .problem_log import record as record_problem
from .runtime import get_runtime
from .telemetry import end_request, start_request
from .upstream import request_deadline

_LOGGER = logging.getLogger("shared.http")
Handler = Callable[[func.HttpRequest], func.HttpResponse]


def query_param(req: func.HttpRequest, name: str) -> str | None:
    """The query parameter ``name``: None when absent, ``""`` when given empty (``?type=``).

    The Functions host leaves empty values out of the query it hands the worker
    (``RpcHttp.query``, Azure/azure-functions-host ``ToRpcHttp``), so ``req.params`` cannot tell an
    empty value from an absent one; the request URL still carries the query string as sent.
    """
    value = req.params.get(name)
    if value is not None:
        return value
    if name not in req.url and "%" not in req.url:
        return None  # the common case, decided without parsing the query string (~3 us)
    given = [v for k, v in parse_qsl(urlsplit(req.url).query, keep_blank_values=True) if k == name]
    return given[0] if given else None


def json_response(
    body: Any, *, status: int = 200, no_store: bool = False, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    all_headers = dict(headers or {})
    if no_store:
        all_headers["Cache-Control"] = "no-store"
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=all_headers,
    )


def problem_response(error: ProblemError) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(error.to_problem(), separators=(",", ":")),
        status_code=error.status,
        mimetype="application/problem+json",
        charset="utf-8",
        headers={**error.headers, "Cache-Control": "no-store"},
    )


def _internal_error() -> func.HttpResponse:
    body = {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The function failed unexpectedly; the error is in the function's log.",
    }
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=500,
        mimetype="application/problem+json",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


def _with_context(signature: inspect.Signature) -> inspect.Signature:
    if "context" in signature.parameters:
        return signature
    context = inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=func.Context)
    return signature.replace(parameters=[*signature.parameters.values(), context])


def route(name: str, *, roles: frozenset[str] | None) -> Callable[[Handler], Handler]:
    """Wrap a handler: caller authentication first, retry budget, problem responses, one log line.

    ``roles``: the app roles of which a caller token must carry one when ``CALLER_AUDIENCE`` is set
    (a route that narrows further, e.g. by a query value, calls ``callers.require_role``);
    ``None``: the route takes no caller token (function key or anonymous only).
    """
    if roles is not None and not roles:
        raise ValueError(f"route {name!r}: roles must name at least one app role, or be None")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
            started = time.monotonic()
            # Telemetry off: None, and nothing else happens here.
            span = start_request(name, req.method, getattr(context, "trace_context", None))
            status = 500
            extra: dict[str, Any] = {}
            try:
                try:
                    with request_deadline(), caller_scope():
                        if roles is not None:
                            get_runtime().authorize(req.headers.get("Authorization"), route=name, any_of=roles)
                        response = handler(req)
                except ProblemError as error:
                    response = problem_response(error)
                    extra = {"upstream": str(error.upstream) if error.upstream else None, "code": error.code}
                    if error.log_hint:
                        extra["hint"] = error.log_hint
                    record_problem(name, error)
                except Exception:
                    _LOGGER.exception("route=%s failed unexpectedly", name)
                    response = _internal_error()
                status = response.status_code
                duration_ms = (time.monotonic() - started) * 1000
                # A success is logged at DEBUG: the Functions host already logs every invocation with its
                # duration (and Application Insights records its status), and each upstream call has its own
                # INFO line. A failure is INFO, with the upstream and its code. One record fewer per warm
                # request is ~20 us (make bench, "overhead"). Logged inside the request's span, so the line
                # carries its trace and span ids.
                level = logging.DEBUG if status < 400 else logging.INFO
                if _LOGGER.isEnabledFor(level):  # the line's text and fields only when it is written
                    _LOGGER.log(
                        level,
                        "route=%s status=%s duration_ms=%.0f%s",
                        name,
                        status,
                        duration_ms,
                        "".join(f" {k}={v}" for k, v in extra.items() if v),
                        extra={"route": name, "http_status": status, "duration_ms": round(duration_ms), **extra},
                    )
                return response
            finally:
                if span is not None:
                    end_request(span, status, code=extra.get("code"), upstream=extra.get("upstream"))

        # The Functions worker passes the invocation context (whose trace_context carries the
        # host's traceparent) to a function that declares a ``context: func.Context`` parameter.
        wrapper.__signature__ = _with_context(inspect.signature(handler))  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**handler.__annotations__, "context": func.Context}
        # What the route asks of callers, for tests that walk every route of the app.
        wrapper.caller_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate
