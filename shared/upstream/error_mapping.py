"""Translate what the SDKs and ``requests`` raise into the typed errors of ``shared.errors``.

Only status codes, the upstream's own error *codes* and fixed hint texts go into the result:
upstream messages are not copied, because a message is the one place a service could echo
request material back.

``action`` (what was being done) is caller-safe: it names a setting or a kind of resource, never
the deployment's identifiers. ``target`` names what was acted on (a vault and certificate, a
resource path, an application object ID) and goes only into the problem's ``log_hint``, with the
operator's half of a :class:`~shared.errors.Hint`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import requests
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

from ..errors import Hint, ProblemError, Upstream, UpstreamFailed, UpstreamThrottled, UpstreamTimeout, as_hint

Hints = Mapping[int, str | Hint]

_LOGGER = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 5
# The status MSAL folds into a managed-identity error description, e.g. "(invalid_scope) 429, ...".
_MI_STATUS = re.compile(r"\)\s*(\d{3})\b")
_AADSTS = re.compile(r"^AADSTS\d+")


def retry_after_seconds(headers: Mapping[str, str] | None) -> int:
    """Integer seconds for our own ``Retry-After``, from the upstream's hints when it gave any."""
    if headers:
        lowered = {k.lower(): v for k, v in headers.items()}
        for name, scale in (("retry-after", 1.0), ("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
            value = lowered.get(name)
            if value is None:
                continue
            try:
                return max(1, math.ceil(float(value) * scale))
            except ValueError:
                continue  # an HTTP date: fall back to the default
    return DEFAULT_RETRY_AFTER_SECONDS


def error_code_from_body(body: Any) -> str | None:
    """The upstream's own error code: AADSTS code, Key Vault inner code, ARM/Graph ``error.code``."""
    if not isinstance(body, dict):
        return None
    codes = body.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return f"AADSTS{codes[0]}"
    error = body.get("error")
    if isinstance(error, str):
        # Entra: the AADSTS code also leads error_description; else the OAuth error itself.
        match = _AADSTS.match(str(body.get("error_description") or ""))
        return match.group(0) if match else error
    if isinstance(error, dict):
        inner = error.get("innererror")
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return inner["code"]  # Key Vault: ForbiddenByRbac, KeyDisabled, ...
        if isinstance(error.get("code"), str):
            return error["code"]
    if isinstance(body.get("code"), str):
        return body["code"]  # some resource providers answer {"code", "message"} at the top level
    return None


def is_entra_transient(body: Any) -> bool:
    return isinstance(body, dict) and body.get("error") == "temporarily_unavailable"


def _json_body(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder recurses
        return None


def _azure_response_details(exc: HttpResponseError) -> tuple[int | None, Any, Mapping[str, str]]:
    response = exc.response
    if response is None:
        return exc.status_code, None, {}
    try:
        text = response.text()
    except Exception:  # a streamed or already-closed body: the status still tells enough
        text = None
    return response.status_code, _json_body(text), dict(response.headers)


def with_target(text: str, target: str | None) -> str | None:
    """The operator's version of ``text``: what was acted on appended; None when there is nothing to add."""
    return f"{text} [{target}]" if target else None


def from_status(
    upstream: Upstream,
    status: int | None,
    code: str | None,
    headers: Mapping[str, str],
    *,
    action: str,
    hints: Hints | None = None,
    transient: bool = False,
    target: str | None = None,
) -> ProblemError:
    """The problem for an upstream that answered ``status`` to ``action`` after our retries.

    ``target``: what was acted on, for the operator only (see the module docstring).
    """
    has_retry_after = any(k.lower() in ("retry-after", "retry-after-ms", "x-ms-retry-after-ms") for k in headers)
    # A 503 that names a time to come back is throttling in all but name, and so is Entra's
    # temporarily_unavailable (whatever its status); other 5xx are failures.
    if status == 429 or (status == 503 and has_retry_after) or transient:
        detail = f"{upstream} is throttling {action}; retry after the indicated delay."
        return UpstreamThrottled(
            detail,
            upstream=upstream,
            retry_after=retry_after_seconds(headers),
            code=code,
            log_hint=with_target(detail, target),
        )
    if status in (408, 504):
        detail = f"{upstream} timed out during {action} ({status})."
        return UpstreamTimeout(detail, upstream=upstream, log_hint=with_target(detail, target))
    hint = as_hint((hints or {}).get(status or 0))
    where = f"{upstream} answered {status} to {action}" if status else f"{upstream} failed {action}"
    if code:
        where += f" ({code})"
    operator = None
    if target or hint.operator:
        operator = f"{where}{f' [{target}]' if target else ''}. {hint.full}".strip()
    return UpstreamFailed(
        f"{where}. {hint.caller}".strip(), upstream=upstream, code=code, upstream_status=status, log_hint=operator
    )


def from_azure_error(
    exc: AzureError, upstream: Upstream, *, action: str, hints: Hints | None = None, target: str | None = None
) -> ProblemError:
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        detail = f"{upstream} did not answer {action} in time."
        return UpstreamTimeout(detail, upstream=upstream, log_hint=with_target(detail, target))
    if isinstance(exc, ServiceRequestError):
        detail = f"Could not connect to {upstream} for {action}."
        return UpstreamFailed(detail, upstream=upstream, log_hint=with_target(detail, target))
    if isinstance(exc, ServiceResponseError):
        detail = f"{upstream} dropped the connection during {action}."
        return UpstreamFailed(detail, upstream=upstream, log_hint=with_target(detail, target))
    if isinstance(exc, HttpResponseError):
        status, body, headers = _azure_response_details(exc)
        return from_status(
            upstream,
            status,
            error_code_from_body(body),
            headers,
            action=action,
            hints=hints,
            transient=is_entra_transient(body),
            target=target,
        )
    detail = f"{upstream} failed {action} ({type(exc).__name__})."
    return UpstreamFailed(detail, upstream=upstream, log_hint=with_target(detail, target))


def from_managed_identity_error(
    exc: Exception, *, status: int | None = None, headers: Mapping[str, str] | None = None
) -> ProblemError:
    """Managed-identity failures arrive as azure-core errors or as MSAL's folded error text.

    ``status``/``headers``: the endpoint's last answer on this thread, when it gave one.
    """
    upstream = Upstream.MANAGED_IDENTITY
    action = "the managed identity token request"
    if isinstance(exc, ServiceRequestError | ServiceResponseError):  # refused, dropped or timed out
        return from_azure_error(exc, upstream, action=action)
    if status is None:
        match = _MI_STATUS.search(str(exc))
        status = int(match.group(1)) if match else None
    if status == 429:
        return UpstreamThrottled(
            "The managed identity endpoint is throttling token requests.",
            upstream=upstream,
            retry_after=retry_after_seconds(headers),
        )
    if status in (408, 504):
        return UpstreamTimeout("The managed identity endpoint timed out.", upstream=upstream)
    hint = (
        "Check that the function app has a managed identity and, for a user-assigned one, that "
        "AZURE_CLIENT_ID is its client ID."
    )
    return UpstreamFailed(
        f"The managed identity endpoint refused the token request{f' ({status})' if status else ''}. {hint}",
        upstream=upstream,
        upstream_status=status,
    )


def from_requests_error(
    exc: requests.RequestException, upstream: Upstream, *, action: str, target: str | None = None
) -> ProblemError:
    if isinstance(exc, requests.Timeout):
        detail = f"{upstream} did not answer {action} in time."
        return UpstreamTimeout(detail, upstream=upstream, log_hint=with_target(detail, target))
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if "timed out" in str(reason).lower() or "timeout" in type(reason).__name__.lower():
            detail = f"{upstream} did not answer {action} in time."
            return UpstreamTimeout(detail, upstream=upstream, log_hint=with_target(detail, target))
        detail = f"Could not connect to {upstream} for {action}."
        return UpstreamFailed(detail, upstream=upstream, log_hint=with_target(detail, target))
    detail = f"{upstream} failed {action} ({type(exc).__name__})."
    return UpstreamFailed(detail, upstream=upstream, log_hint=with_target(detail, target))


def from_requests_response(
    response: requests.Response,
    upstream: Upstream,
    *,
    action: str,
    hints: Hints | None = None,
    target: str | None = None,
) -> ProblemError:
    body = _json_body(response.text)
    return from_status(
        upstream,
        response.status_code,
        error_code_from_body(body),
        response.headers,
        action=action,
        hints=hints,
        transient=is_entra_transient(body),
        target=target,
    )
