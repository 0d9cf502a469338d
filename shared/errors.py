"""The one error hierarchy: every failure a caller can see is a :class:`ProblemError`.

Errors are raised where they happen, carrying which upstream failed, its own error code and a
fix-it hint; ``shared.http.problem_response`` turns them into ``application/problem+json``
(RFC 9457) in exactly one place. No message here ever carries a token, assertion, signature
or key: details are composed from status codes, error codes and resource names only.

Callers are told only what they need. A problem has two texts: ``detail``, for the caller, names
what to fix (the role to grant, the setting to correct, the certificate version to register) but
never an identifier of the deployment — subscription, resource group, tenant, object or client
IDs, resource paths, vault names or URLs; and ``log_hint``, for the operator, which adds them. The
route wrapper (``shared.http.route``) writes ``log_hint`` to the log line of the same failure and
keeps it for ``/api/diagnostics`` (``shared.problem_log``); it never reaches the caller. A
:class:`Hint` carries both texts where a fix is composed ahead of the failure (per-status hints).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

# Problem types are ``tag:`` URIs (RFC 4151), which RFC 9457 section 3.1.1 allows for types that are
# identifiers rather than locators: this app is deployed under many host names and has no
# documentation site of its own, so an ``https`` type would either not resolve or point at one
# deployment. The specific part is the slug a reader looks up in docs/caller.md's "Problem types"
# table (and in the OpenAPI document's ``ProblemType`` enum), so every type leads to its meaning.
PROBLEM_TYPE_PREFIX = "tag:keyvault-assertion-broker,2026:problems/"


class Upstream(StrEnum):
    MANAGED_IDENTITY = "managed-identity"
    KEYVAULT = "keyvault"
    ENTRA = "entra"
    ARM = "arm"
    GRAPH = "graph"


@dataclass(frozen=True)
class Hint:
    """What to fix, said twice: ``caller`` for the problem's ``detail`` (no deployment identifier),
    ``operator`` for the log line and /api/diagnostics (the same fix, with the identifiers)."""

    caller: str
    operator: str | None = None

    @property
    def full(self) -> str:
        return self.operator or self.caller


def as_hint(value: str | Hint | None) -> Hint:
    """A plain string is a caller-safe hint that the operator reads as is."""
    if isinstance(value, Hint):
        return value
    return Hint(value or "")


class ProblemError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        upstream: Upstream | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        log_hint: str | None = None,
    ) -> None:
        """``detail`` goes to the caller; ``log_hint`` (the full hint, with the deployment's
        identifiers) only to the log line and /api/diagnostics."""
        super().__init__(detail)
        self.detail = detail
        self.upstream = upstream
        self.code = code
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})
        self.log_hint = log_hint

    @property
    def operator_hint(self) -> str:
        """What the operator reads: the full hint when there is one, else the caller's detail."""
        return self.log_hint or self.detail

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.upstream is not None:
            body["upstream"] = str(self.upstream)
        if self.code:
            body["code"] = self.code
        body.update(self.extensions)
        return body


class BadRequest(ProblemError):
    status = 400
    title = "Bad request"
    slug = "bad-request"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"

    def __init__(self, detail: str, *, error: str | None = "invalid_token") -> None:
        # RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
        challenge = f'Bearer error="{error}"' if error else "Bearer"
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'})


class TenantNotAllowed(Forbidden):
    """A ``tenant`` the broker may not act in: neither ``ENTRA_TENANT_ID`` nor in ``ENTRA_ALLOWED_TENANTS``.

    The same problem type as every 403 (SPEC's Errors table), without a caller-token challenge.
    """

    def __init__(self) -> None:
        # The caller's own value is not echoed, and no listed tenant is named.
        super().__init__(
            "The broker does not act in this tenant: only its home tenant and the tenants listed in "
            "ENTRA_ALLOWED_TENANTS (each consented to by its administrator) are served."
        )
        self.headers.pop("WWW-Authenticate", None)


class NotFound(ProblemError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(ProblemError):
    """The request does not apply to the function's current configuration (e.g. a rollover without a certificate)."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class Misconfigured(ProblemError):
    """Settings are missing or invalid: the function cannot serve the route (SPEC: 503)."""

    status = 503
    title = "Function app is misconfigured"
    slug = "misconfigured"

    def __init__(self, problems: list[tuple[str, str]], *, log_hint: str | None = None) -> None:
        names = list(dict.fromkeys(name for name, _ in problems))
        reasons = "; ".join(f"{name}: {reason}" for name, reason in problems)
        super().__init__(
            f"Fix these app settings: {reasons}.",
            extensions={
                "missing": names,
                "problems": [{"setting": name, "reason": reason} for name, reason in problems],
            },
            log_hint=log_hint,
        )


class UpstreamFailed(ProblemError):
    """An upstream refused or failed the call (SPEC: 502)."""

    status = 502
    title = "Upstream call failed"
    slug = "upstream-failed"

    def __init__(
        self,
        detail: str,
        *,
        upstream: Upstream,
        code: str | None = None,
        upstream_status: int | None = None,
        log_hint: str | None = None,
    ) -> None:
        extensions = {"upstreamStatus": upstream_status} if upstream_status is not None else None
        super().__init__(detail, upstream=upstream, code=code, extensions=extensions, log_hint=log_hint)


class UpstreamThrottled(ProblemError):
    """The upstream was still throttling after the retry budget (SPEC: 503 + Retry-After)."""

    status = 503
    title = "Upstream throttled the request"
    slug = "upstream-throttled"

    def __init__(
        self,
        detail: str,
        *,
        upstream: Upstream,
        retry_after: int,
        code: str | None = None,
        log_hint: str | None = None,
    ) -> None:
        super().__init__(
            detail,
            upstream=upstream,
            code=code,
            headers={"Retry-After": str(max(1, retry_after))},
            log_hint=log_hint,
        )


class UpstreamTimeout(ProblemError):
    status = 504
    title = "Upstream timed out"
    slug = "upstream-timeout"

    def __init__(self, detail: str, *, upstream: Upstream, log_hint: str | None = None) -> None:
        super().__init__(detail, upstream=upstream, log_hint=log_hint)
