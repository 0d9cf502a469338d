"""App settings: read once from the environment into a frozen, validated object.

Reading never raises: every missing or invalid value becomes a :class:`SettingProblem`, which
``/api/health`` and each route report as a 503 (SPEC "Settings"). Environment variable names
live here and nowhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from .clouds import CLOUDS, PUBLIC, Cloud
from .key_kinds import (
    CosmosAccountId,
    ListedResource,
    UnsupportedResourceId,
    parse_cosmos_account_id,
    parse_resource_id,
)
from .schedule_interval import shortest_interval_minutes

# The telemetry destinations' names live beside their check; re-exported so that every setting the
# app reads is named here too.
from .telemetry.transport import APPLICATIONINSIGHTS_CONNECTION_STRING as APPLICATIONINSIGHTS_CONNECTION_STRING
from .telemetry.transport import OTEL_EXPORTER_OTLP_ENDPOINT as OTEL_EXPORTER_OTLP_ENDPOINT
from .telemetry.transport import OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
from .telemetry.transport import OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
from .telemetry.transport import OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
from .telemetry.transport import OTLP_ENDPOINT_SETTINGS as OTLP_ENDPOINT_SETTINGS
from .telemetry.transport import TELEMETRY_SETTINGS, transport_problems
from .upstream import UnsafeUrl, connection_origin, is_loopback_host, origin

ENTRA_TENANT_ID = "ENTRA_TENANT_ID"
ENTRA_CLIENT_ID = "ENTRA_CLIENT_ID"
KEY_VAULT_URL = "KEY_VAULT_URL"
KEY_VAULT_CERTIFICATE_NAME = "KEY_VAULT_CERTIFICATE_NAME"
KEY_VAULT_CERTIFICATE_VERSION = "KEY_VAULT_CERTIFICATE_VERSION"
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
AZURE_AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"
AZURE_CLOUD = "AZURE_CLOUD"
ARM_ENDPOINT = "ARM_ENDPOINT"
GRAPH_ENDPOINT = "GRAPH_ENDPOINT"
ASSERTION_ALGORITHM = "ASSERTION_ALGORITHM"
ASSERTION_SEND_X5C = "ASSERTION_SEND_X5C"
ASSERTION_LIFETIME_SECONDS = "ASSERTION_LIFETIME_SECONDS"
COSMOS_ACCOUNT_IDS = "COSMOS_ACCOUNT_IDS"
COSMOS_KEYS_CACHE_SECONDS = "COSMOS_KEYS_CACHE_SECONDS"
RESOURCE_KEYS = "RESOURCE_KEYS"
RESOURCE_KEYS_CACHE_SECONDS = "RESOURCE_KEYS_CACHE_SECONDS"
KEY_VAULT_VERIFY_CHALLENGE_RESOURCE = "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"
CALLER_AUDIENCE = "CALLER_AUDIENCE"
CREDENTIAL_MODE = "CREDENTIAL_MODE"
# azure-identity's own switch for DefaultAzureCredential (azure-identity >= 1.23): read by the SDK
# itself from the process environment; validated here so a typo is a 503, not a 500.
AZURE_TOKEN_CREDENTIALS = "AZURE_TOKEN_CREDENTIALS"  # noqa: S105 - a variable name, not a secret
UPSTREAM_TIMEOUT_SECONDS = "UPSTREAM_TIMEOUT_SECONDS"
ENTRA_APPLICATION_OBJECT_ID = "ENTRA_APPLICATION_OBJECT_ID"
# The timer's schedule, resolved when function_app registers the timer (timer_schedule below);
# validated here so /api/health can name a value that was not used.
ROLLOVER_SCHEDULE = "ROLLOVER_SCHEDULE"
ROLLOVER_GRACE_DAYS = "ROLLOVER_GRACE_DAYS"
# Customer tenants (besides ENTRA_TENANT_ID) where the multi-tenant app registration is consented.
ENTRA_ALLOWED_TENANTS = "ENTRA_ALLOWED_TENANTS"
# Where telemetry is exported (read by the exporters themselves; named in shared/telemetry/transport.py,
# which judges them: a plain-text endpoint keeps telemetry off and /api/health names it).
# Set by App Service / Functions when a managed identity is enabled; used only to pick the
# credential, never required.
IDENTITY_ENDPOINT = "IDENTITY_ENDPOINT"
MSI_ENDPOINT = "MSI_ENDPOINT"

# Every variable whose change must rebuild the clients: the settings above, plus what the SDKs
# read themselves (managed identity endpoint, TLS trust).
RUNTIME_ENVIRONMENT: tuple[str, ...] = (
    ENTRA_TENANT_ID,
    ENTRA_CLIENT_ID,
    KEY_VAULT_URL,
    KEY_VAULT_CERTIFICATE_NAME,
    KEY_VAULT_CERTIFICATE_VERSION,
    AZURE_CLIENT_ID,
    AZURE_AUTHORITY_HOST,
    AZURE_CLOUD,
    ARM_ENDPOINT,
    GRAPH_ENDPOINT,
    ASSERTION_ALGORITHM,
    ASSERTION_SEND_X5C,
    ASSERTION_LIFETIME_SECONDS,
    COSMOS_ACCOUNT_IDS,
    COSMOS_KEYS_CACHE_SECONDS,
    RESOURCE_KEYS,
    RESOURCE_KEYS_CACHE_SECONDS,
    KEY_VAULT_VERIFY_CHALLENGE_RESOURCE,
    CALLER_AUDIENCE,
    CREDENTIAL_MODE,
    UPSTREAM_TIMEOUT_SECONDS,
    ENTRA_APPLICATION_OBJECT_ID,
    ROLLOVER_SCHEDULE,
    ROLLOVER_GRACE_DAYS,
    ENTRA_ALLOWED_TENANTS,
    AZURE_TOKEN_CREDENTIALS,
    *TELEMETRY_SETTINGS,
    IDENTITY_ENDPOINT,
    MSI_ENDPOINT,
    "IDENTITY_HEADER",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    # Proxies: the outbound sessions read them once when they are built (upstream.session).
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)

# Every pattern here is applied with fullmatch: `$` would also match before a trailing newline.
GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# azure-identity's own tenant check (CertificateCredential): GUIDs and verified domain names.
_TENANT = re.compile(r"[A-Za-z0-9.-]+")
_CERT_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_CERT_VERSION = re.compile(r"[0-9a-fA-F]{32}")
# One DNS label: the vault's (or managed HSM's) own name in front of the cloud's domain.
_VAULT_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

# NCRONTAB as the Functions timer reads it: six fields, {second} {minute} {hour} {day} {month} {day-of-week}.
_NCRONTAB_FIELD = re.compile(r"[0-9A-Za-z*/,\-]+")
DEFAULT_ROLLOVER_SCHEDULE = "0 0 3 * * *"
DEFAULT_ROLLOVER_GRACE_DAYS = 7
# At least a day: other instances keep signing with the superseded version until their cached token
# expires (up to ~24 h for Entra app tokens) and they see the new one; 0 would retire it under them.
MIN_ROLLOVER_GRACE_DAYS = 0  # 0: retire as soon as a token with the successor proved it
MAX_ROLLOVER_GRACE_DAYS = 3650
# The timer is the safety net behind Event Grid: every run reads Key Vault and Graph (and writes to
# Graph); a schedule firing more often than this is a mistake (e.g. "* * * * * *": every second).
# One minute, not more: a shorter safety-net interval is legitimate (a test environment, a vault
# without Event Grid), and every run is idempotent.
MIN_ROLLOVER_INTERVAL_MINUTES = 1

# The values DefaultAzureCredential accepts for AZURE_TOKEN_CREDENTIALS, compared case-insensitively
# (azure-identity _credentials/default.py and _internal/utils.process_credential_exclusions): a
# group, or the one credential to use. tests/test_token_credentials.py checks this list against
# the installed azure-identity's own.
TOKEN_CREDENTIALS_VALUES: tuple[str, ...] = (
    "dev",
    "prod",
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
    "InteractiveBrowserCredential",
)

MIN_ASSERTION_LIFETIME = 60
MAX_ASSERTION_LIFETIME = 600


class CredentialMode(StrEnum):
    KEYVAULT = "keyvault"
    FEDERATED_MANAGED_IDENTITY = "federated-managed-identity"
    MANAGED_IDENTITY = "managed-identity"


class Algorithm(StrEnum):
    PS256 = "PS256"
    RS256 = "RS256"


@dataclass(frozen=True)
class SettingProblem:
    setting: str
    reason: str


@dataclass(frozen=True)
class Settings:
    credential_mode: CredentialMode = CredentialMode.KEYVAULT
    tenant_id: str | None = None
    client_id: str | None = None
    key_vault_url: str | None = None
    certificate_name: str | None = None
    certificate_version: str | None = None
    managed_identity_client_id: str | None = None
    cloud: Cloud = PUBLIC
    authority_host: str = PUBLIC.authority_host
    arm_endpoint: str = PUBLIC.arm_endpoint
    graph_endpoint: str = PUBLIC.graph_endpoint
    assertion_algorithm: Algorithm = Algorithm.PS256
    assertion_send_x5c: bool = False
    assertion_lifetime_seconds: int = 300
    cosmos_accounts: tuple[CosmosAccountId, ...] = ()
    # Cosmos accounts' key cache: COSMOS_KEYS_CACHE_SECONDS when set, else RESOURCE_KEYS_CACHE_SECONDS.
    cosmos_keys_cache_seconds: int = 60
    # RESOURCE_KEYS plus the COSMOS_ACCOUNT_IDS accounts (listed Cosmos accounts for /api/keys too).
    resource_keys: tuple[ListedResource, ...] = ()
    resource_keys_cache_seconds: int = 60
    verify_challenge_resource: bool = True
    # CALLER_AUDIENCE is set (even to a value naming no audience, which is then a problem):
    # callers need an Entra token. Only an unset CALLER_AUDIENCE means function keys alone.
    caller_auth: bool = False
    caller_audiences: tuple[str, ...] = ()
    upstream_timeout_seconds: float = 10.0
    use_managed_identity: bool = True
    # AZURE_TOKEN_CREDENTIALS as given (None: unset): the function's identity is then the one
    # azure-identity's DefaultAzureCredential picks for it.
    token_credentials: str | None = None
    application_object_id: str | None = None
    rollover_schedule: str = DEFAULT_ROLLOVER_SCHEDULE
    rollover_grace_days: int = DEFAULT_ROLLOVER_GRACE_DAYS
    # ENTRA_ALLOWED_TENANTS: lower-case tenant GUIDs besides the home tenant, in the order given.
    allowed_tenants: tuple[str, ...] = ()
    problems: tuple[SettingProblem, ...] = field(default=())
    # Problems that disable only the certificate rollover: the other routes keep serving.
    rollover_problems: tuple[SettingProblem, ...] = field(default=())
    # Problems that keep telemetry off (a plain-text exporter endpoint): the routes keep serving.
    telemetry_problems: tuple[SettingProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def token_url(self) -> str:
        """The Entra v2.0 token endpoint: also the assertion's ``aud`` (SPEC "The assertion")."""
        return self.token_url_for(self.tenant_id or "")

    def token_url_for(self, tenant_id: str) -> str:
        """A tenant's v2.0 token endpoint, the ``aud`` of the assertions sent there (SPEC "Other tenants")."""
        return f"{self.authority_host}/{tenant_id}/oauth2/v2.0/token"

    def admin_consent_url(self, tenant_id: str) -> str:
        """Where an administrator of ``tenant_id`` grants the app's permissions (the admin-consent endpoint)."""
        return f"{self.authority_host}/{tenant_id}/adminconsent?client_id={self.client_id}"

    @property
    def arm_scope(self) -> str:
        return origin(self.arm_endpoint) + "/.default"

    @property
    def graph_scope(self) -> str:
        return origin(self.graph_endpoint) + "/.default"

    @property
    def federation_scope(self) -> str:
        return self.cloud.federation_audience + "/.default"

    def problem_for(self, *names: str) -> tuple[SettingProblem, ...]:
        return tuple(p for p in self.problems if p.setting in names)


class _Reader:
    """Collects problems while reading, so one pass reports every bad setting at once."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[SettingProblem] = []

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def problem(self, name: str, reason: str) -> None:
        self.problems.append(SettingProblem(name, reason))

    def required(self, name: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        value = self.raw(name)
        if value is None:
            self.problem(name, "missing")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(name, f"not {what}")
            return None
        return value

    def optional(self, name: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.raw(name)
        if value is not None and not pattern.fullmatch(value):
            self.problem(name, f"not {what}")
            return None
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problem(name, "not a boolean (true or false)")
        return default

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.problem(name, "not a whole number")
            return default
        if number < low or (high is not None and number > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.problem(name, f"must be {bounds}")
            return default
        return number


def timer_schedule(environ: Mapping[str, str]) -> str:
    """The NCRONTAB schedule the rollover timer is registered with.

    ``ROLLOVER_SCHEDULE`` when it is valid, else the daily default. Resolved here rather than with
    the host's ``%ROLLOVER_SCHEDULE%`` syntax so that an unset setting means "default daily" (SPEC)
    instead of a timer function the host reports in error, and an invalid one can never stop the
    host from loading the app: /api/health names it, and the timer then does nothing.
    """
    value = (environ.get(ROLLOVER_SCHEDULE) or "").strip()
    if not value:
        return DEFAULT_ROLLOVER_SCHEDULE
    problems = load_settings({ROLLOVER_SCHEDULE: value}).rollover_problems
    return DEFAULT_ROLLOVER_SCHEDULE if any(p.setting == ROLLOVER_SCHEDULE for p in problems) else value


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate every SPEC setting; never raises."""
    r = _Reader(environ)

    mode_raw = r.raw(CREDENTIAL_MODE)
    try:
        mode = CredentialMode(mode_raw.lower()) if mode_raw else CredentialMode.KEYVAULT
    except ValueError:
        r.problem(CREDENTIAL_MODE, "must be keyvault, federated-managed-identity or managed-identity")
        mode = CredentialMode.KEYVAULT

    cloud_raw = r.raw(AZURE_CLOUD)
    cloud = PUBLIC
    if cloud_raw is not None:
        matched = next((c for name, c in CLOUDS.items() if name.lower() == cloud_raw.lower()), None)
        if matched is None:
            r.problem(AZURE_CLOUD, "must be AzurePublicCloud, AzureChinaCloud or AzureUSGovernment")
        else:
            cloud = matched

    caller_auth, audiences = _caller_audiences(r)

    needs_app = mode in (CredentialMode.KEYVAULT, CredentialMode.FEDERATED_MANAGED_IDENTITY)
    tenant_id = client_id = key_vault_url = certificate_name = None
    if needs_app or caller_auth:
        # Caller tokens are validated against this tenant's issuer, whatever the credential mode.
        tenant_id = r.required(ENTRA_TENANT_ID, _TENANT, "a tenant ID (GUID) or verified domain")
    if needs_app:
        client_id = r.required(ENTRA_CLIENT_ID, GUID, "an application (client) ID GUID")
    verify_challenge_resource = r.boolean(KEY_VAULT_VERIFY_CHALLENGE_RESOURCE, True)
    if mode is CredentialMode.KEYVAULT:
        key_vault_url = _vault_url(r, cloud)
        if key_vault_url and not verify_challenge_resource and not is_loopback_host(urlsplit(key_vault_url).hostname):
            r.problem(
                KEY_VAULT_VERIFY_CHALLENGE_RESOURCE,
                "false is only allowed for an emulator on a loopback address; remove it for a real vault",
            )
        certificate_name = r.required(
            KEY_VAULT_CERTIFICATE_NAME, _CERT_NAME, "a Key Vault certificate name (1-127 of 0-9, a-z, A-Z, -)"
        )
    certificate_version = r.optional(
        KEY_VAULT_CERTIFICATE_VERSION, _CERT_VERSION, "a certificate version (32 hex characters)"
    )
    if mode is CredentialMode.FEDERATED_MANAGED_IDENTITY:
        mi_client_id = r.required(AZURE_CLIENT_ID, GUID, "the client ID GUID of a user-assigned managed identity")
        if mi_client_id is None and r.problems and r.problems[-1].setting == AZURE_CLIENT_ID:
            r.problems[-1] = SettingProblem(
                AZURE_CLIENT_ID,
                r.problems[-1].reason
                + " (federated-managed-identity needs a user-assigned identity: system-assigned identities "
                "cannot be federated)",
            )
    else:
        mi_client_id = r.optional(AZURE_CLIENT_ID, GUID, "a managed identity client ID GUID")

    algorithm_raw = r.raw(ASSERTION_ALGORITHM)
    algorithm = Algorithm.PS256
    if algorithm_raw is not None:
        try:
            algorithm = Algorithm(algorithm_raw.upper())
        except ValueError:
            r.problem(ASSERTION_ALGORITHM, "must be PS256 or RS256")

    timeout = _timeout(r)
    cosmos_accounts = _cosmos_accounts(r)
    allowed_tenants = _allowed_tenants(r, mode, tenant_id)
    resource_keys = _resource_keys(r, cosmos_accounts)
    resource_keys_cache_seconds = r.integer(RESOURCE_KEYS_CACHE_SECONDS, 60, 0, 86400)
    cosmos_keys_cache_seconds = (
        r.integer(COSMOS_KEYS_CACHE_SECONDS, 60, 0, 86400)
        if r.raw(COSMOS_KEYS_CACHE_SECONDS) is not None
        else resource_keys_cache_seconds
    )
    rollover = _Reader(environ)
    application_object_id, schedule, grace_days = _rollover(rollover, mode)

    return Settings(
        credential_mode=mode,
        tenant_id=tenant_id,
        client_id=client_id,
        key_vault_url=key_vault_url,
        certificate_name=certificate_name,
        certificate_version=certificate_version.lower() if certificate_version else None,
        managed_identity_client_id=mi_client_id,
        cloud=cloud,
        authority_host=_authority_host(r, cloud),
        arm_endpoint=_endpoint(r, ARM_ENDPOINT, cloud.arm_endpoint),
        graph_endpoint=_endpoint(r, GRAPH_ENDPOINT, cloud.graph_endpoint),
        assertion_algorithm=algorithm,
        assertion_send_x5c=r.boolean(ASSERTION_SEND_X5C, False),
        assertion_lifetime_seconds=r.integer(
            ASSERTION_LIFETIME_SECONDS, 300, MIN_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME
        ),
        cosmos_accounts=cosmos_accounts,
        cosmos_keys_cache_seconds=cosmos_keys_cache_seconds,
        resource_keys=resource_keys,
        resource_keys_cache_seconds=resource_keys_cache_seconds,
        verify_challenge_resource=verify_challenge_resource,
        caller_auth=caller_auth,
        caller_audiences=audiences,
        upstream_timeout_seconds=timeout,
        use_managed_identity=bool(r.raw(IDENTITY_ENDPOINT) or r.raw(MSI_ENDPOINT)),
        token_credentials=_token_credentials(r),
        application_object_id=application_object_id,
        rollover_schedule=schedule,
        rollover_grace_days=grace_days,
        allowed_tenants=allowed_tenants,
        problems=tuple(r.problems),
        rollover_problems=tuple(rollover.problems),
        telemetry_problems=telemetry_problems(environ),
    )


def telemetry_problems(environ: Mapping[str, str]) -> tuple[SettingProblem, ...]:
    """Telemetry destinations that would carry it in plain text (named by setting, never by value).

    Every OTLP endpoint variable the exporters read (the generic one and each signal's own) and the
    connection string's ``IngestionEndpoint`` and ``LiveEndpoint`` must be https, or plain http to a
    loopback collector (``shared.telemetry.transport``).
    """
    return tuple(SettingProblem(name, reason) for name, reason in transport_problems(environ))


def _rollover(r: _Reader, mode: CredentialMode) -> tuple[str | None, str, int]:
    """The rollover's settings, read into their own problem list: a gap here disables only it."""
    grace_days = r.integer(
        ROLLOVER_GRACE_DAYS, DEFAULT_ROLLOVER_GRACE_DAYS, MIN_ROLLOVER_GRACE_DAYS, MAX_ROLLOVER_GRACE_DAYS
    )
    schedule = r.raw(ROLLOVER_SCHEDULE)
    if schedule is None:
        # Unset: the timer runs daily (timer_schedule registers it with this default).
        schedule = DEFAULT_ROLLOVER_SCHEDULE
    else:
        fields = schedule.split()
        if len(fields) != 6 or not all(_NCRONTAB_FIELD.fullmatch(f) for f in fields):
            r.problem(
                ROLLOVER_SCHEDULE,
                "not an NCRONTAB expression of six fields ({second} {minute} {hour} {day} {month} {day-of-week}), "
                f"e.g. '{DEFAULT_ROLLOVER_SCHEDULE}'",
            )
        else:
            interval = shortest_interval_minutes(schedule)
            if interval is None or interval < MIN_ROLLOVER_INTERVAL_MINUTES:
                r.problem(
                    ROLLOVER_SCHEDULE,
                    "fires more often than once a minute (or its second, minute "
                    "or hour field is not a value, range, step or list of those): the timer is the safety net "
                    f"behind Event Grid; use a single second and minute, e.g. '{DEFAULT_ROLLOVER_SCHEDULE}'",
                )
    if mode is not CredentialMode.KEYVAULT:
        return None, schedule, grace_days  # no certificate to roll: nothing else is needed
    object_id = r.required(ENTRA_APPLICATION_OBJECT_ID, GUID, "the application's object ID (a GUID, not its client ID)")
    return (object_id.lower() if object_id else None), schedule, grace_days


def _allowed_tenants(r: _Reader, mode: CredentialMode, home: str | None) -> tuple[str, ...]:
    """The customer tenants the app may act in: GUIDs only (the ``tenant`` query takes GUIDs).

    An empty value is no customer tenant (the deployment sets it empty when none is listed: that only
    narrows). An empty item or anything but a GUID is a problem (503), never a silently shorter list:
    a typo must not turn a listed tenant away unnoticed. The home tenant listed again is the home
    tenant (no second entry). ``managed-identity`` mode has no app registration to act elsewhere:
    listing tenants there is a problem too.
    """
    value = r.raw(ENTRA_ALLOWED_TENANTS)
    if value is None:
        return ()
    items = [item.strip() for item in value.split(",")]
    if not all(items) or not all(GUID.fullmatch(item) for item in items):
        r.problem(
            ENTRA_ALLOWED_TENANTS,
            "must be a comma-separated list of tenant IDs (GUIDs) with no empty item; remove the setting to act "
            "in ENTRA_TENANT_ID only",
        )
        return ()
    if mode is CredentialMode.MANAGED_IDENTITY:
        r.problem(
            ENTRA_ALLOWED_TENANTS,
            "customer tenants need a multi-tenant app registration (keyvault or federated-managed-identity mode); "
            "managed-identity mode acts as the function's own identity in its own tenant only",
        )
        return ()
    tenants = dict.fromkeys(item.lower() for item in items)
    tenants.pop((home or "").lower(), None)
    return tuple(tenants)


def _caller_audiences(r: _Reader) -> tuple[bool, tuple[str, ...]]:
    """Whether caller tokens are required, and the audiences they may carry.

    Set is set: a value that names no audience (empty, blanks, ``","``, an empty item) must not
    silently switch caller tokens off, so it is a problem (503), never "function keys only".
    """
    value = r.environ.get(CALLER_AUDIENCE)
    if value is None:
        return False, ()
    items = [item.strip() for item in value.split(",")]
    if not any(items) or not all(items):
        r.problem(
            CALLER_AUDIENCE,
            "must be a comma-separated list of accepted audiences (the API's App ID URI and/or client ID) "
            "with no empty item; remove the setting to run with function keys only",
        )
        return True, ()
    return True, tuple(dict.fromkeys(items))


def _token_credentials(r: _Reader) -> str | None:
    value = r.raw(AZURE_TOKEN_CREDENTIALS)
    if value is None:
        return None
    if value.lower() not in {v.lower() for v in TOKEN_CREDENTIALS_VALUES}:
        r.problem(
            AZURE_TOKEN_CREDENTIALS, "must be dev, prod or one credential: " + ", ".join(TOKEN_CREDENTIALS_VALUES[2:])
        )
        return None
    return value


def _clean_https_url(value: str) -> tuple[str, str] | None:
    """(origin, path) of an https URL urllib3 and urllib.parse agree on, without userinfo, query or fragment."""
    try:
        connects_to = connection_origin(value)
    except UnsafeUrl:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or parts.query or parts.fragment or "#" in value or "?" in value:
        return None
    return connects_to, parts.path


def _authority_host(r: _Reader, cloud: Cloud) -> str:
    """The Entra authority: the cloud's own (azure-identity's known authority hosts), or a loopback emulator.

    The function sends its client assertions there and trusts the signing keys it names for
    caller tokens, so no other host may stand in for Entra.
    """
    value = r.raw(AZURE_AUTHORITY_HOST)
    if value is None:
        return cloud.authority_host
    if "://" not in value:
        # azure-identity's normalize_authority does the same for AZURE_AUTHORITY_HOST.
        value = "https://" + value
    known = ", ".join(f"https://{host}" for host in cloud.authority_hosts)
    reason = f"must be {cloud.name}'s Entra authority ({known}), or a loopback address for an emulator"
    clean = _clean_https_url(value)
    if clean is None or clean[1] not in ("", "/"):
        r.problem(AZURE_AUTHORITY_HOST, reason)
        return cloud.authority_host
    connects_to = clean[0]
    host = urlsplit(connects_to).hostname or ""
    if is_loopback_host(host):
        return connects_to
    if host not in cloud.authority_hosts or connects_to != f"https://{host}":
        r.problem(AZURE_AUTHORITY_HOST, reason)
        return cloud.authority_host
    return connects_to


def _endpoint(r: _Reader, name: str, default: str) -> str:
    """An ARM / Graph endpoint override: a plain https URL (SPEC allows any host, e.g. a sovereign one).

    The function sends that API's bearer token there: a URL with userinfo, a query or a fragment,
    or one the URL parsers read differently, is refused.
    """
    value = r.raw(name)
    if value is None:
        return default
    if _clean_https_url(value) is None:
        r.problem(name, "must be a plain https:// URL (no userinfo, query or fragment)")
        return default
    return value.rstrip("/")


def _vault_url(r: _Reader, cloud: Cloud) -> str | None:
    """The vault URI: https, in the cloud's Key Vault or Managed HSM domain (a loopback host for emulators).

    Key Vault's SDK sends the managed identity's token to whatever host this names, after a
    challenge the host itself chose; only Azure's own vault domains may receive it.
    """
    value = r.raw(KEY_VAULT_URL)
    if value is None:
        r.problem(KEY_VAULT_URL, "missing")
        return None
    domains = f"*.{cloud.key_vault_suffix} or *.{cloud.managed_hsm_suffix}"
    example = f"must be the vault URI, e.g. https://contoso-kv.{cloud.key_vault_suffix}/"
    try:
        connects_to = connection_origin(value)
        parts = urlsplit(value)
    except UnsafeUrl:
        r.problem(KEY_VAULT_URL, example)
        return None
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        r.problem(KEY_VAULT_URL, example)
        return None
    host = parts.hostname
    if is_loopback_host(host):
        return connects_to + "/"
    label, _, domain = host.partition(".")
    if domain not in (cloud.key_vault_suffix, cloud.managed_hsm_suffix) or not _VAULT_LABEL.fullmatch(label):
        r.problem(KEY_VAULT_URL, f"must be a vault in {cloud.name}'s Key Vault domain ({domains})")
        return None
    if parts.port not in (None, 443):
        r.problem(KEY_VAULT_URL, f"{example} (Key Vault listens on port 443 only)")
        return None
    return f"https://{host}/"


def _timeout(r: _Reader) -> float:
    value = r.raw(UPSTREAM_TIMEOUT_SECONDS)
    if value is None:
        return 10.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0.1 <= seconds <= 60):
        r.problem(UPSTREAM_TIMEOUT_SECONDS, "must be a number of seconds between 0.1 and 60")
        return 10.0
    return seconds


def _cosmos_accounts(r: _Reader) -> tuple[CosmosAccountId, ...]:
    value = r.raw(COSMOS_ACCOUNT_IDS)
    if value is None:
        return ()
    accounts: list[CosmosAccountId] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        account = parse_cosmos_account_id(item)
        if account is None:
            r.problem(
                COSMOS_ACCOUNT_IDS,
                "each item must be a Cosmos DB account resource ID: /subscriptions/{id}/resourceGroups/{group}"
                "/providers/Microsoft.DocumentDB/databaseAccounts/{name}",
            )
            return ()
        accounts.append(account)
    names = [a.name for a in accounts]
    if len(set(names)) != len(names):
        r.problem(COSMOS_ACCOUNT_IDS, "two resource IDs name the same account; account names must be unique")
        return ()
    return tuple(accounts)


def _resource_keys(r: _Reader, cosmos_accounts: tuple[CosmosAccountId, ...]) -> tuple[ListedResource, ...]:
    """RESOURCE_KEYS, with the COSMOS_ACCOUNT_IDS accounts counted as listed Cosmos accounts.

    Fails closed: one unsupported entry, or two resources of one kind with the same name (the route
    could not tell them apart, nor could a per-resource caller role), is a problem naming the setting
    and no resource is served.
    """
    listed: list[ListedResource] = []
    for item in (part.strip() for part in (r.raw(RESOURCE_KEYS) or "").split(",")):
        if not item:
            continue
        try:
            listed.append(parse_resource_id(item))
        except UnsupportedResourceId as exc:
            r.problem(RESOURCE_KEYS, str(exc))
            return ()
    for account in cosmos_accounts:
        listed.append(parse_resource_id(account.resource_id))
    by_name: dict[tuple[str, str], ListedResource] = {}
    for resource in listed:
        seen = by_name.setdefault(resource.key, resource)
        if seen.resource_id.lower() != resource.resource_id.lower():
            r.problem(
                RESOURCE_KEYS,
                f"two listed {resource.kind.kind} resources have the name '{resource.name}'; names must be "
                "unique per kind (COSMOS_ACCOUNT_IDS counts as listed Cosmos accounts)",
            )
            return ()
    return tuple(by_name.values())
