"""Tokens per tenant: the home tenant (``ENTRA_TENANT_ID``) and the customer tenants of a multi-tenant app.

A multi-tenant app registration gets tokens in a customer tenant from that tenant's own token URL,
with the same certificate; the assertion's ``aud`` is that URL, so each tenant has its own
assertion, its own credential and its own token cache (AZURE-PROTOCOLS §13). Providers are built on
first use (no network call) and kept for the life of the process.

Entra refusing a customer tenant because the app has no service principal there (not consented:
``AADSTS7000229``; ``AADSTS700016`` for an app that is not multi-tenant; ``AADSTS650052`` for a
resource the consent did not cover) becomes a 502 telling the caller that an administrator of that
tenant must consent. Which tenant, and the admin-consent URL to send its administrator, go to the
log line and ``/api/diagnostics`` only (SPEC "Other tenants").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..errors import ProblemError, TenantNotAllowed, Upstream, UpstreamFailed
from .token_provider import CONSENT_CODES, TokenProvider

_LOGGER = logging.getLogger(__name__)

__all__ = ["CONSENT_CODES", "TenantTokens", "consent_refusal"]


def consent_refusal(tenant_id: str, admin_consent_url: str) -> Callable[[ProblemError], ProblemError]:
    """The ``TokenProvider`` refusal hook of a customer tenant: missing consent becomes a clear 502."""

    def refusal(problem: ProblemError) -> ProblemError:
        if not isinstance(problem, UpstreamFailed) or problem.code not in CONSENT_CODES:
            return problem
        _LOGGER.warning(
            "Entra refused a token in tenant %s (%s): the app registration is not consented there; an "
            "administrator of that tenant must grant admin consent at %s",
            tenant_id,
            problem.code,
            admin_consent_url,
            extra={"tenant_id": tenant_id, "code": problem.code, "admin_consent_url": admin_consent_url},
        )
        return UpstreamFailed(
            f"Entra refused the token request in the requested tenant ({problem.code}): the app registration is "
            "not consented there. An administrator of that tenant must consent to the app (admin consent); the "
            "broker's operator finds the admin-consent URL in /api/diagnostics and the function's log.",
            upstream=Upstream.ENTRA,
            code=problem.code,
            upstream_status=problem.extensions.get("upstreamStatus"),
            log_hint=f"The app registration is not consented in tenant {tenant_id} ({problem.code}): an "
            f"administrator of that tenant must grant admin consent at {admin_consent_url}",
        )

    return refusal


class TenantTokens:
    """The home tenant's token provider and one per listed customer tenant, built on first use."""

    def __init__(
        self,
        home: TokenProvider,
        *,
        allowed: tuple[str, ...] = (),
        home_tenant_id: str | None = None,
        build: Callable[[str], TokenProvider] | None = None,
    ) -> None:
        self.home = home
        self.allowed = allowed
        self._home_tenant_id = (home_tenant_id or "").lower()
        self._build = build
        self._providers: dict[str, TokenProvider] = {}
        self._lock = threading.Lock()

    def home_or(self, tenant: str | None) -> str | None:
        """``None`` for the home tenant (absent, or named by its ID), else the tenant in lower case."""
        if tenant is None or tenant.lower() == self._home_tenant_id:
            return None
        return tenant.lower()

    def require_allowed(self, tenant: str | None) -> None:
        """403 unless ``tenant`` (from :meth:`home_or`) is home or listed in ``ENTRA_ALLOWED_TENANTS``."""
        if tenant is not None and (tenant not in self.allowed or self._build is None):
            raise TenantNotAllowed()

    def provider(self, tenant: str | None) -> TokenProvider:
        """The provider for a tenant (``None``: home); 403 for a tenant that is not listed."""
        if tenant is None:
            return self.home
        provider = self._providers.get(tenant)
        if provider is not None:
            return provider
        with self._lock:  # building makes no network call: a plain lock is enough
            provider = self._providers.get(tenant)
            if provider is None:
                self.require_allowed(tenant)
                assert self._build is not None
                provider = self._providers[tenant] = self._build(tenant)
            return provider
