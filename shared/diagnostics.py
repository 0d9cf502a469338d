"""``/api/diagnostics``: non-secret facts of the credential chain, for operators.

It acquires (or reuses) the ARM token, which runs the whole chain on a cold process, then
reports the certificate version that signed for it and the token's ``appid``/``tid``/``roles``
claims, and — in keyvault mode — the registration state of every certificate version on the app
(``registration``, from the rollover) with the date by which the app would have no valid key.
The token itself, the assertion and the signature never leave this module: the token
is decoded only to read those three claims (its signature is the resource's business).

``tenants`` lists each tenant of ``ENTRA_ALLOWED_TENANTS`` (SPEC "Other tenants"): whether a Graph
token could be obtained there (its ``tid``, ``roles`` and expiry), or Entra's refusal, and the
admin-consent URL an administrator of that tenant opens to consent to the app. Identifiers belong
here — this route is for the operator — never in a caller's error.

``lastProblems`` lists the last problems this instance answered that an operator may have to act
on, each with the full hint (``shared.problem_log``): what a caller's ``detail`` leaves out — the
app's client ID, the resource path, the vault — is here and in the log line of the same failure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt

from .credential_chain import CertificateSelector, TenantTokens, TokenProvider
from .errors import ProblemError
from .problem_log import recent
from .settings import CredentialMode, Settings

EXPIRY_WARNING_DAYS = 30


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a token Entra issued to this app, for reporting only (never trusted)."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}  # opaque tokens are allowed; report what we can


def diagnostics_report(
    settings: Settings,
    tokens: TokenProvider,
    selector: CertificateSelector | None,
    *,
    registration: Callable[[], dict[str, Any] | None] | None = None,
    tenants: TenantTokens | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    token = tokens.get(settings.arm_scope)
    claims = token_claims(token.token)
    report: dict[str, Any] = {"credentialMode": str(settings.credential_mode)}
    if settings.credential_mode is CredentialMode.KEYVAULT and selector is not None and selector.state is not None:
        certificate = selector.state.certificate
        days_left = None
        if certificate.expires_on is not None:
            days_left = int((certificate.expires_on - now).total_seconds() // 86400)
        report["algorithm"] = str(settings.assertion_algorithm)
        report["certificate"] = {
            "name": certificate.name,
            "version": certificate.version,
            "x5t": certificate.x5t,
            "x5t#S256": certificate.x5t_s256,
            "notBefore": _iso(certificate.not_before),
            "expiresOn": _iso(certificate.expires_on),
            "daysLeft": days_left,
            "expiringSoon": days_left is not None and days_left < EXPIRY_WARNING_DAYS,
            "fallback": selector.state.fallback,
            "currentVersion": selector.state.current_version,
        }
    report["token"] = {
        "expiresOn": _iso(datetime.fromtimestamp(token.expires_on, UTC)),
        "appid": claims.get("appid") or claims.get("azp"),
        "tid": claims.get("tid"),
        "roles": claims.get("roles", []),
    }
    if settings.credential_mode is not CredentialMode.MANAGED_IDENTITY and tenants is not None:
        report["tenants"] = [_tenant_report(settings, tenants, tenant) for tenant in tenants.allowed]
    state = registration() if registration is not None else None
    if state is not None:
        report["registration"] = state
    report["lastProblems"] = recent()
    return report


def _tenant_report(settings: Settings, tenants: TenantTokens, tenant: str) -> dict[str, Any]:
    """One customer tenant: a Graph token there (cached, or fetched now), or why Entra refused it."""
    entry: dict[str, Any] = {"tenantId": tenant, "adminConsentUrl": settings.admin_consent_url(tenant)}
    try:
        token = tenants.provider(tenant).get(settings.graph_scope)
    except ProblemError as error:
        problem = error.to_problem()
        entry["tokenObtained"] = False
        entry["error"] = {k: problem[k] for k in ("status", "detail", "upstream", "code") if k in problem}
        return entry
    claims = token_claims(token.token)
    entry["tokenObtained"] = True
    entry["token"] = {
        "expiresOn": _iso(datetime.fromtimestamp(token.expires_on, UTC)),
        "tid": claims.get("tid"),
        "roles": claims.get("roles", []),
    }
    return entry
