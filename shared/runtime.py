"""The composition root: one set of clients per process, built on first use.

Building makes no network call (the SDK clients connect lazily), so importing
``function_app`` never fails; settings problems are kept and reported per route as a 503.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from azure.identity import ClientAssertionCredential
from azure.keyvault.certificates import CertificateClient

from .assertion import ClientAssertion
from .caller_auth import Caller, CallerAuthenticator
from .certificate_selector import CertificateSelector
from .certificate_source import CertificateSource
from .cosmos_keys import CosmosKeysService
from .credentials import bounded_retry_policy, build_function_identity, retry_policy_class, transport_options
from .diagnostics import diagnostics_report
from .downstream import DownstreamClient
from .errors import Misconfigured, Upstream
from .graph_users import GraphUsersService
from .settings import (
    COSMOS_ACCOUNT_IDS,
    ENTRA_TENANT_ID,
    RUNTIME_ENVIRONMENT,
    CredentialMode,
    Settings,
    load_settings,
)
from .signer import KeyVaultSigner
from .token_provider import TokenProvider
from .upstream_logging import azure_core_hooks


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens: TokenProvider | None = None
        self.certificates: CertificateSource | None = None
        self.selector: CertificateSelector | None = None
        self.arm: DownstreamClient | None = None
        self.graph: DownstreamClient | None = None
        self.cosmos: CosmosKeysService | None = None
        self.users: GraphUsersService | None = None
        self.callers: CallerAuthenticator | None = None
        self._closables: list[Any] = []
        if settings.caller_audiences and not settings.problem_for(ENTRA_TENANT_ID):
            self.callers = CallerAuthenticator(settings)
            self._closables.append(self.callers)
        if settings.ok:
            self._build()

    def authorize(self, authorization: str | None, *, route: str, any_of: frozenset[str]) -> Caller | None:
        """When ``CALLER_AUDIENCE`` is set, the caller's token must carry one of ``any_of``."""
        if not self.settings.caller_audiences:
            return None
        if self.callers is None:
            self.require_ready()  # the tenant to validate against is missing or invalid
            raise AssertionError("unreachable")  # pragma: no cover
        return self.callers.authorize(authorization, route=route, any_of=any_of)

    def require_users(self) -> GraphUsersService:
        self.require_ready()
        assert self.users is not None
        return self.users

    def diagnostics(self) -> dict[str, Any]:
        self.require_ready()
        assert self.tokens is not None
        return diagnostics_report(self.settings, self.tokens, self.selector)

    def require_ready(self) -> None:
        if self.settings.problems:
            raise Misconfigured([(p.setting, p.reason) for p in self.settings.problems])

    def require_cosmos(self) -> CosmosKeysService:
        self.require_ready()
        if self.cosmos is None:
            raise Misconfigured(
                [(COSMOS_ACCOUNT_IDS, "missing: the Cosmos DB account resource IDs whose keys may be served")]
            )
        return self.cosmos

    @property
    def principal_description(self) -> str:
        if self.settings.credential_mode is CredentialMode.MANAGED_IDENTITY:
            return "the function app's managed identity"
        return f"the app registration's service principal (client ID {self.settings.client_id})"

    def _build(self) -> None:
        s = self.settings
        identity = build_function_identity(s)
        self._closables.append(identity)
        kv_options: dict[str, Any] = {
            "verify_challenge_resource": s.verify_challenge_resource,
            **transport_options(s),
            **azure_core_hooks(str(Upstream.KEYVAULT)),
        }
        entra_options: dict[str, Any] = {
            "authority": s.authority_host,
            "retry_policy_class": retry_policy_class(s),
            **transport_options(s),
            **azure_core_hooks(str(Upstream.ENTRA)),
        }

        if s.credential_mode is CredentialMode.KEYVAULT:
            assert s.key_vault_url and s.certificate_name and s.tenant_id and s.client_id
            certificate_client = CertificateClient(
                s.key_vault_url, identity, retry_policy=bounded_retry_policy(s), **kv_options
            )
            self._closables.append(certificate_client)
            self.certificates = CertificateSource(
                certificate_client, s.certificate_name, pinned_version=s.certificate_version
            )
            self.selector = CertificateSelector(self.certificates, client_id=s.client_id)
            signer = KeyVaultSigner(identity, retry_policy=bounded_retry_policy(s), **kv_options)
            self._closables.append(signer)
            assertion = ClientAssertion(
                select_certificate=self.selector.select,
                signer=signer,
                client_id=s.client_id,
                token_url=s.token_url,
                algorithm=s.assertion_algorithm,
                send_x5c=s.assertion_send_x5c,
                lifetime_seconds=s.assertion_lifetime_seconds,
            )
            credential = ClientAssertionCredential(s.tenant_id, s.client_id, assertion, **entra_options)
            self._closables.append(credential)
            self.tokens = TokenProvider(credential, assertion=assertion, selector=self.selector)
        elif s.credential_mode is CredentialMode.FEDERATED_MANAGED_IDENTITY:
            assert s.tenant_id and s.client_id
            exchange_scope = s.federation_scope

            def managed_identity_assertion() -> str:
                # The managed identity's own token for api://AzureADTokenExchange is the assertion;
                # azure-identity caches it, so this is a cache read on most calls.
                return identity.get_token_info(exchange_scope).token

            credential = ClientAssertionCredential(
                s.tenant_id, s.client_id, managed_identity_assertion, **entra_options
            )
            self._closables.append(credential)
            self.tokens = TokenProvider(credential)
        else:
            self.tokens = TokenProvider(identity)

        self.arm = DownstreamClient(
            base_url=s.arm_endpoint,
            scope=s.arm_scope,
            tokens=self.tokens,
            upstream=Upstream.ARM,
            timeout_seconds=s.upstream_timeout_seconds,
        )
        self.graph = DownstreamClient(
            base_url=s.graph_endpoint,
            scope=s.graph_scope,
            tokens=self.tokens,
            upstream=Upstream.GRAPH,
            timeout_seconds=s.upstream_timeout_seconds,
        )
        self._closables += [self.arm, self.graph]
        self.users = GraphUsersService(graph=self.graph, principal=self.principal_description)
        if s.cosmos_accounts:
            self.cosmos = CosmosKeysService(
                arm=self.arm,
                accounts=s.cosmos_accounts,
                cache_seconds=s.cosmos_keys_cache_seconds,
                principal=self.principal_description,
            )

    def close(self) -> None:
        for closable in reversed(self._closables):
            try:
                closable.close()
            except Exception:  # noqa: S112 - closing is best effort
                continue
        self._closables.clear()


_runtime: Runtime | None = None
_runtime_environment: tuple[tuple[str, str | None], ...] | None = None
_runtime_lock = threading.Lock()


def _relevant_environment(environ: Mapping[str, str]) -> tuple[tuple[str, str | None], ...]:
    return tuple((name, environ.get(name)) for name in RUNTIME_ENVIRONMENT)


def get_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    """The process-wide runtime, built from the environment on first use.

    In Azure a settings change restarts the worker; a host that changes the environment in
    process (a test harness, a reloaded module) gets a runtime rebuilt from the new values
    instead of stale ones. Comparing ~25 variables costs microseconds.
    """
    global _runtime, _runtime_environment
    environ = os.environ if environ is None else environ
    snapshot = _relevant_environment(environ)
    runtime = _runtime
    if runtime is not None and snapshot == _runtime_environment:
        return runtime
    with _runtime_lock:
        if _runtime is None or snapshot != _runtime_environment:
            # The previous runtime is not closed: requests in flight may still use it.
            _runtime = Runtime(load_settings(environ))
            _runtime_environment = snapshot
        return _runtime


def reset_runtime() -> None:
    """Forget the runtime so the next request re-reads settings (tests, benchmarks)."""
    global _runtime, _runtime_environment
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
        _runtime_environment = None
