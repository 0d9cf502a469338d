"""The composition root: one set of clients per process, built on first use.

Building makes no network call (the SDK clients connect lazily), so importing
``function_app`` never fails; settings problems are kept and reported per route as a 503.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity import ClientAssertionCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient

from .callers import Caller, CallerAuthenticator
from .credential_chain import (
    NOT_REGISTERED,
    CertificateInfo,
    CertificateSelector,
    CertificateSource,
    ClientAssertion,
    KeyVaultChallengeErrors,
    KeyVaultSigner,
    TenantTokens,
    TokenProvider,
    bounded_retry_policy,
    build_function_identity,
    consent_refusal,
    entra_error,
    retry_policy_class,
    transport_options,
)
from .diagnostics import diagnostics_report, token_claims
from .downstream import CosmosKeysService, DownstreamClient, GraphUsersService, ResourceKeysService
from .errors import Conflict, Hint, Misconfigured, ProblemError, Upstream
from .settings import (
    AZURE_AUTHORITY_HOST,
    AZURE_CLOUD,
    CALLER_AUDIENCE,
    COSMOS_ACCOUNT_IDS,
    CREDENTIAL_MODE,
    ENTRA_TENANT_ID,
    RESOURCE_KEYS,
    ROLLOVER_SCHEDULE,
    RUNTIME_ENVIRONMENT,
    UPSTREAM_TIMEOUT_SECONDS,
    CredentialMode,
    Settings,
    load_settings,
)
from .upstream import azure_core_hooks, from_azure_error

if TYPE_CHECKING:
    from .rollover import RolloverService

# Rewrites Entra's refusal for one tenant (a customer tenant's missing consent).
Refusal = Callable[[ProblemError], ProblemError]


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens: TokenProvider | None = None  # the home tenant's
        self.tenants: TenantTokens | None = None
        self.certificates: CertificateSource | None = None
        self.selector: CertificateSelector | None = None
        self.arm: DownstreamClient | None = None
        self.graph: DownstreamClient | None = None
        self.cosmos: CosmosKeysService | None = None
        self.resource_keys: ResourceKeysService | None = None
        self.users: GraphUsersService | None = None
        self.callers: CallerAuthenticator | None = None
        self.rollover: RolloverService | None = None
        self._closables: list[Any] = []
        caller_settings = (
            CALLER_AUDIENCE,
            ENTRA_TENANT_ID,
            AZURE_AUTHORITY_HOST,
            AZURE_CLOUD,
            UPSTREAM_TIMEOUT_SECONDS,
        )
        if settings.caller_auth and not settings.problem_for(*caller_settings):
            self.callers = CallerAuthenticator(settings)
            self._closables.append(self.callers)
        if settings.ok:
            self._build()

    def authorize(self, authorization: str | None, *, route: str, any_of: frozenset[str]) -> Caller | None:
        """When ``CALLER_AUDIENCE`` is set, the caller's token must carry one of ``any_of``.

        Fails closed: with ``CALLER_AUDIENCE`` set but its own settings broken (no audience, no
        tenant), every protected route answers 503 rather than running without caller tokens.
        """
        if not self.settings.caller_auth:
            return None
        if self.callers is None:
            self.require_ready()  # the audience or the tenant to validate against is missing or invalid
            raise AssertionError("unreachable")  # pragma: no cover
        return self.callers.authorize(authorization, route=route, any_of=any_of)

    def require_users(self) -> GraphUsersService:
        self.require_ready()
        assert self.users is not None
        return self.users

    def home_or(self, tenant: str | None) -> str | None:
        """``None`` for the home tenant (absent or named), else the tenant asked for (lower case)."""
        self.require_ready()
        assert self.tenants is not None
        return self.tenants.home_or(tenant)

    def require_allowed_tenant(self, tenant: str | None) -> None:
        """403 unless ``tenant`` is the home tenant (None) or one of ``ENTRA_ALLOWED_TENANTS``."""
        self.require_ready()
        assert self.tenants is not None
        self.tenants.require_allowed(tenant)

    def diagnostics(self, *, registration: bool = False) -> dict[str, Any]:
        """``registration``: read the app's key registrations now instead of the last rollover's view."""
        self.require_ready()
        assert self.tokens is not None
        return diagnostics_report(
            self.settings,
            self.tokens,
            self.selector,
            registration=lambda: self._registration(live=registration),
            tenants=self.tenants,
        )

    def _registration(self, *, live: bool) -> dict[str, Any] | None:
        """The rollover's view of the app's keys for diagnostics; its failure never fails diagnostics."""
        if self.settings.credential_mode is not CredentialMode.KEYVAULT:
            return None
        try:
            return self.require_rollover().status(live=live)
        except ProblemError as error:
            fields = ("status", "detail", "upstream", "code")
            # Diagnostics is the operator's view: the full hint is shown next to the caller's detail.
            return {
                "error": {**{k: v for k, v in error.to_problem().items() if k in fields}, "hint": error.operator_hint}
            }

    def require_rollover(self) -> RolloverService:
        """The rollover, or why not: 409 outside keyvault mode, 503 naming a missing rollover setting."""
        self.require_ready()
        if self.settings.credential_mode is not CredentialMode.KEYVAULT:
            raise Conflict(
                f"The certificate rollover applies only to {CREDENTIAL_MODE}=keyvault; this function app runs in "
                f"{self.settings.credential_mode} mode, which has no certificate to roll."
            )
        # An invalid schedule only stops the timer (the host reads it); the route and events still work.
        blocking = [p for p in self.settings.rollover_problems if p.setting != ROLLOVER_SCHEDULE]
        if blocking:
            raise Misconfigured([(p.setting, p.reason) for p in blocking])
        assert self.rollover is not None
        return self.rollover

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

    def require_resource_keys(self) -> ResourceKeysService:
        self.require_ready()
        if self.resource_keys is None:
            raise Misconfigured(
                [(RESOURCE_KEYS, "missing: the ARM resource IDs of the resources whose keys may be served")]
            )
        return self.resource_keys

    @property
    def principal_description(self) -> Hint:
        """Who calls ARM and Graph, for "grant it this role" hints: the caller reads which principal by
        its setting, the operator by its ID."""
        s = self.settings
        if s.credential_mode is CredentialMode.MANAGED_IDENTITY:
            who = "the function app's managed identity"
            return Hint(
                who, f"{who} (client ID {s.managed_identity_client_id})" if s.managed_identity_client_id else None
            )
        return Hint(
            "the app registration's service principal (ENTRA_CLIENT_ID)",
            f"the service principal of app registration {s.client_id} in tenant {s.tenant_id}",
        )

    def _token_target(self, tenant_id: str) -> str:
        """Who asks for a tenant's tokens, for operators' hints only (never a caller's detail)."""
        s = self.settings
        return f"app registration {s.client_id} in tenant {tenant_id} at {s.authority_host}"

    def _build(self) -> None:
        s = self.settings
        identity = build_function_identity(s)
        self._closables.append(identity)
        kv_options: dict[str, Any] = {
            "verify_challenge_resource": s.verify_challenge_resource,
            "per_call_policies": [KeyVaultChallengeErrors()],
            **transport_options(s),
            **azure_core_hooks(str(Upstream.KEYVAULT)),
        }
        entra_options: dict[str, Any] = {
            "authority": s.authority_host,
            "retry_policy_class": retry_policy_class(s),
            **transport_options(s),
            **azure_core_hooks(str(Upstream.ENTRA)),
        }

        rollover_parts: Any = None
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
            signer = KeyVaultSigner(
                identity, vault_url=s.key_vault_url, retry_policy=bounded_retry_policy(s), **kv_options
            )
            self._closables.append(signer)
            selector = self.selector

            def tenant_tokens(tenant_id: str, refusal: Refusal | None = None) -> TokenProvider:
                # One assertion per tenant: its `aud` is that tenant's token URL (SPEC "Other tenants").
                assertion = ClientAssertion(
                    select_certificate=selector.select,
                    epoch=lambda: selector.epoch,
                    signer=signer,
                    client_id=s.client_id or "",
                    token_url=s.token_url_for(tenant_id),
                    algorithm=s.assertion_algorithm,
                    send_x5c=s.assertion_send_x5c,
                    lifetime_seconds=s.assertion_lifetime_seconds,
                )
                credential = ClientAssertionCredential(tenant_id, s.client_id or "", assertion, **entra_options)
                self._closables.append(credential)
                return TokenProvider(
                    credential,
                    assertion=assertion,
                    selector=selector,
                    refusal=refusal,
                    target=self._token_target(tenant_id),
                )

            # Reads key properties only (custody.py): Key Vault Reader, no keys/sign, no secret.
            key_client = KeyClient(s.key_vault_url, identity, retry_policy=bounded_retry_policy(s), **kv_options)
            self._closables.append(key_client)
            rollover_parts = (certificate_client, key_client, signer, entra_options)
        elif s.credential_mode is CredentialMode.FEDERATED_MANAGED_IDENTITY:
            assert s.tenant_id and s.client_id
            exchange_scope = s.federation_scope

            def managed_identity_assertion() -> str:
                # The managed identity's own token for api://AzureADTokenExchange is the assertion
                # in every tenant; azure-identity caches it, so this is a cache read on most calls.
                return identity.get_token_info(exchange_scope).token

            def tenant_tokens(tenant_id: str, refusal: Refusal | None = None) -> TokenProvider:
                credential = ClientAssertionCredential(
                    tenant_id, s.client_id or "", managed_identity_assertion, **entra_options
                )
                self._closables.append(credential)
                return TokenProvider(credential, refusal=refusal, target=self._token_target(tenant_id))

        if s.credential_mode is CredentialMode.MANAGED_IDENTITY:
            # No app registration: the function's own identity, in its own tenant only.
            self.tokens = TokenProvider(identity)
            self.tenants = TenantTokens(self.tokens)
        else:
            assert s.tenant_id
            self.tokens = tenant_tokens(s.tenant_id)
            self.tenants = TenantTokens(
                self.tokens,
                allowed=s.allowed_tenants,
                home_tenant_id=s.tenant_id,
                build=lambda tenant: tenant_tokens(tenant, consent_refusal(tenant, s.admin_consent_url(tenant))),
            )

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
        self.users = GraphUsersService(graph=self.graph, principal=self.principal_description, tenants=self.tenants)
        if s.credential_mode is CredentialMode.KEYVAULT and s.application_object_id:
            self.rollover = self._build_rollover(*rollover_parts)
        if s.resource_keys:
            self.resource_keys = ResourceKeysService(
                arm=self.arm,
                resources=s.resource_keys,
                cache_seconds=lambda kind: (
                    s.cosmos_keys_cache_seconds if kind.kind == "cosmos" else s.resource_keys_cache_seconds
                ),
                principal=self.principal_description,
            )
            if s.cosmos_accounts:
                self.cosmos = CosmosKeysService(keys=self.resource_keys, accounts=s.cosmos_accounts)

    def _build_rollover(
        self,
        certificate_client: CertificateClient,
        key_client: KeyClient,
        signer: KeyVaultSigner,
        entra_options: dict[str, Any],
    ) -> RolloverService:
        # Imported here, at the first request's build: importing function_app stays as cheap as the
        # SDKs it needs (issue 9's import budget), and only keyvault mode ever builds a rollover.
        from .rollover import ApplicationKeys, CertificateVersions, KeyCustody, ProofBuilder, RolloverService

        s = self.settings
        assert s.application_object_id and s.certificate_name and s.client_id and s.tenant_id
        assert self.graph is not None and self.selector is not None
        selector = self.selector
        tokens = self.tokens
        assert tokens is not None

        def prove_token(certificate: CertificateInfo) -> bool:
            """A fresh Graph token with an assertion signed by ``certificate``: does Entra accept it?"""
            assertion = ClientAssertion(
                select_certificate=lambda: certificate,
                reuse=False,  # the proof is this one version's, signed now
                signer=signer,
                client_id=s.client_id or "",
                token_url=s.token_url,
                algorithm=s.assertion_algorithm,
                send_x5c=s.assertion_send_x5c,
                lifetime_seconds=s.assertion_lifetime_seconds,
            )
            credential = ClientAssertionCredential(s.tenant_id or "", s.client_id or "", assertion, **entra_options)
            try:
                credential.get_token_info(s.graph_scope)
                return True
            except ProblemError:
                raise
            except ClientAuthenticationError as exc:
                problem = entra_error(exc, target=self._token_target(s.tenant_id or ""))
                if problem.code == NOT_REGISTERED:
                    return False
                raise problem from None
            except AzureError as exc:
                raise from_azure_error(
                    exc, Upstream.ENTRA, action="the token request", target=self._token_target(s.tenant_id or "")
                ) from None
            finally:
                credential.close()

        def in_use() -> str | None:
            if s.certificate_version:
                return s.certificate_version
            state = selector.state
            return state.certificate.version if state is not None else None

        return RolloverService(
            versions=CertificateVersions(certificate_client, s.certificate_name),
            custody=KeyCustody(certificate_client, key_client, s.certificate_name),
            keys=ApplicationKeys(
                self.graph,
                object_id=s.application_object_id,
                client_id=s.client_id,
                principal=self.principal_description,
            ),
            proof=ProofBuilder(signer, application_object_id=s.application_object_id),
            prove_token=prove_token,
            accept=selector.accept,
            forget_rejection=selector.forget_rejection,
            in_use=in_use,
            grace_days=s.rollover_grace_days,
            graph_roles=lambda: token_claims(tokens.get(s.graph_scope).token).get("roles") or (),
        )

    def close(self) -> None:
        for closable in reversed(self._closables):
            try:
                closable.close()
            except Exception:  # noqa: S112 - closing is best effort
                continue
        self._closables.clear()


_runtime: Runtime | None = None
_runtime_environment: tuple[object, ...] | None = None
_runtime_lock = threading.Lock()


def _relevant_environment(environ: Mapping[str, str]) -> tuple[str | None, ...]:
    return tuple(map(environ.get, RUNTIME_ENVIRONMENT))


def _os_environ_snapshot() -> Callable[[], tuple[str | None, ...]]:
    """The same snapshot of ``os.environ``, read from its backing dict without per-key encoding.

    ``os.environ.get`` encodes every name and decodes every value in Python (~0.6 us each): over
    ~30 names that was the largest single cost of a warm request. ``os._Environ`` keeps the
    encoded pairs in ``_data`` (CPython since 3.0, on every platform); when that is not there the
    portable path is used. tests/test_runtime.py checks both agree.
    """
    data = getattr(os.environ, "_data", None)
    encode_key = getattr(os.environ, "encodekey", None)
    if not isinstance(data, dict) or encode_key is None:
        return lambda: _relevant_environment(os.environ)
    keys = tuple(encode_key(name) for name in RUNTIME_ENVIRONMENT)
    lookup = data.get

    def snapshot() -> tuple[str | None, ...]:
        # Raw (encoded) values compare equal exactly when the decoded ones do.
        return tuple(map(lookup, keys))

    return snapshot


_snapshot_os_environ = _os_environ_snapshot()


def get_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    """The process-wide runtime, built from the environment on first use.

    In Azure a settings change restarts the worker; a host that changes the environment in
    process (a test harness, a reloaded module) gets a runtime rebuilt from the new values
    instead of stale ones. Comparing ~30 variables costs about a microsecond.
    """
    global _runtime, _runtime_environment
    snapshot = _snapshot_os_environ() if environ is None else _relevant_environment(environ)
    runtime = _runtime
    if runtime is not None and snapshot == _runtime_environment:
        return runtime
    with _runtime_lock:
        if _runtime is None or snapshot != _runtime_environment:
            # The previous runtime is not closed: requests in flight may still use it.
            _runtime = Runtime(load_settings(os.environ if environ is None else environ))
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
