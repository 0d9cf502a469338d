"""HTTP shaping: JSON and ``application/problem+json`` responses, and the per-route wrapper.

``route`` is the one place a :class:`ProblemError` becomes a response: every handler raises,
none formats an error by hand. Unexpected exceptions become a generic 500 problem; their
traceback goes to the log (SDK exception texts carry no secrets) and never to the caller.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from .errors import ProblemError
from .retry import request_deadline

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


def route(name: str) -> Callable[[Handler], Handler]:
    """Wrap a handler: retry budget, problem responses, one structured log line per request."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(req: func.HttpRequest) -> func.HttpResponse:
            started = time.monotonic()
            extra: dict[str, Any] = {}
            try:
                with request_deadline():
                    response = handler(req)
            except ProblemError as error:
                response = problem_response(error)
                extra = {"upstream": str(error.upstream) if error.upstream else None, "code": error.code}
            except Exception:
                _LOGGER.exception("route=%s failed unexpectedly", name)
                response = _internal_error()
            duration_ms = (time.monotonic() - started) * 1000
            _LOGGER.info(
                "route=%s status=%s duration_ms=%.0f%s",
                name,
                response.status_code,
                duration_ms,
                "".join(f" {k}={v}" for k, v in extra.items() if v),
                extra={
                    "route": name,
                    "http_status": response.status_code,
                    "duration_ms": round(duration_ms),
                    **extra,
                },
            )
            return response

        return wrapper

    return decorate
