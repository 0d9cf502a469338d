# Key Vault data plane: certificates (versions), keys (public part only) and `sign`.
# REST reference: learn.microsoft.com/rest/api/keyvault (certificates/get-certificate,
# certificates/get-certificate-versions, keys/get-key, keys/sign); wire facts, error bodies
# and SDK behaviour from AZURE-PROTOCOLS.md sections 1 and 9 (items 1-5): challenge
# authentication (bodiless 401 + WWW-Authenticate + AKV10000), `aud` exactly
# https://vault.azure.net (AKV10022), issuer check (AKV10032), RBAC data actions with the
# ForbiddenByRbac body, CertificateBundle/KeyBundle shapes (`cer` standard base64, `x5t`
# base64url), sign over a digest (PS256 salt = hash length).
# Key custody facts the rollover checks (learn.microsoft.com/rest/api/keyvault/keys/get-key/get-key:
# KeyAttributes.exportable "Indicates if the private key can be exported"; certificates/
# get-certificate-policy: GET {vault}/certificates/{name}/policy -> CertificatePolicy with
# `issuer.name` ("Self" for a self-signed certificate Key Vault generated) and
# `key_props.exportable`; certificates/import-certificate: an imported certificate's key was made
# outside the vault, and its policy names no issuer Key Vault enrols with ("Unknown")).
# The policy's `attributes {created, updated}` are epoch seconds as Key Vault returns them
# (certificates/get-certificate-policy example: "created": 1482188947, "updated": 1482188948);
# `PATCH /certificates/{name}/policy` (certificates/update-certificate-policy: "Set specified members
# in the certificate policy. Leave others as null."; certificates/update) changes the policy and its
# `updated`, never an existing version; `POST /certificates/{name}/import`
# (certificates/import-certificate: PFX, or PEM when the policy's secret_props.contentType is
# application/x-pem-file; certificates/import) makes a new version from outside key material — the
# example answer's policy names issuer "Unknown", created == updated == the version's created. The
# key of an imported version carries no `exportable` flag (that flag needs a release policy), so
# only the policy's issuer and its `updated` time betray an import followed by a policy reset.
# Key type RSA-HSM (premium vault): policy key_props.kty and the key's kty say "RSA-HSM".
# No endpoint returns private key material and there is no secrets endpoint at all: a
# certificate's secret is the PFX with the private key, which the product never reads.
from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import pkcs12

from emulator import certs, resources
from emulator.eventgrid import CERTIFICATE_EVENT_TYPES, CERTIFICATE_NEW_VERSION_CREATED, key_vault_event
from emulator.httpd import Request, Response, json_response
from emulator.surface import Context, Surface, new_id, route
from emulator.tokens import TokenError

# Key Vault accepts these api-versions ([V] ApiVersion enums of azure-keyvault-keys 4.11.3
# and azure-keyvault-certificates 4.12.0).
API_VERSIONS = frozenset({"2026-04-01", "2025-07-01", "7.6", "7.5", "7.4", "7.3", "7.2", "7.1", "7.0", "2016-10-01"})
LATEST_API_VERSION = "2025-07-01"

# Role -> data actions (learn.microsoft.com/azure/role-based-access-control/built-in-roles,
# "Security"; AZURE-PROTOCOLS.md 1.7). Only the actions this emulator checks are listed.
_A = "Microsoft.KeyVault/vaults/"
ROLE_DATA_ACTIONS: dict[str, frozenset[str]] = {
    # 12338af0-0e69-4776-bea7-57ae8d297424: keys/* crypto operations and read, no certificates.
    "Key Vault Crypto User": frozenset({_A + "keys/read", _A + "keys/sign/action", _A + "keys/verify/action"}),
    # 21090545-7ca7-4776-b22c-e363652d74d2: vaults/*/read (+ secrets/readMetadata); no sign.
    "Key Vault Reader": frozenset({_A + "certificates/read", _A + "keys/read", _A + "secrets/readMetadata"}),
    # db79e9a7-68ee-4b58-9aeb-b90e7c24fcba: certificates/read, keys/read, secrets get (the PFX!).
    "Key Vault Certificate User": frozenset(
        {_A + "certificates/read", _A + "keys/read", _A + "secrets/getSecret", _A + "secrets/readMetadata"}
    ),
    # a4417e6f-fecd-4de8-b567-7b0420556985: certificates/* (the import and policy-update an attack needs).
    "Key Vault Certificates Officer": frozenset(
        {
            _A + "certificates/read",
            _A + "certificates/import/action",
            _A + "certificates/update/action",
            _A + "certificates/create/action",
            _A + "keys/read",
        }
    ),
}

# alg -> (hash, digest length, PSS?) (JsonWebKeySignatureAlgorithm, RFC 7518 3.3/3.5).
_RSA_ALGS: dict[str, tuple[Callable[[], hashes.HashAlgorithm], int, bool]] = {
    "RS256": (hashes.SHA256, 32, False),
    "RS384": (hashes.SHA384, 48, False),
    "RS512": (hashes.SHA512, 64, False),
    "PS256": (hashes.SHA256, 32, True),
    "PS384": (hashes.SHA384, 48, True),
    "PS512": (hashes.SHA512, 64, True),
}
_KNOWN_ALGS = frozenset(_RSA_ALGS) | {"RSNULL", "ES256", "ES384", "ES512", "ES256K", "HS256", "HS384", "HS512"}
SEED_AGE_SECONDS = 86400  # the seed version was created a day before the emulator started
_PAGE_SIZE = 25  # "If not specified the service will return up to 25 results." [D] REST reference

_NOT_FOUND_HELP = (
    "If you recently deleted this {kind} you may be able to recover it using the correct recovery command. "
    "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
)


def _epoch(value: dt.datetime | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp())
    return int(value)


@dataclass
class CertificateVersion:
    name: str
    version: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    der: bytes
    created: int
    updated: int
    enabled: bool
    not_before: int
    expires: int
    exportable: bool = False  # the key's KeyAttributes.exportable (true only with a release policy)
    hsm: bool = False  # kty RSA-HSM (a premium vault's HSM-backed key)

    def attributes(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "nbf": self.not_before,
            "exp": self.expires,
            "created": self.created,
            "updated": self.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }


def _load_import(raw: bytes, *, pem: bool, password: Any) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The private key and leaf certificate of an import; ValueError when either is missing."""
    if pem:
        key = serialization.load_pem_private_key(raw, password=None)
        certificate = x509.load_pem_x509_certificate(raw)
    else:
        secret = password.encode() if isinstance(password, str) and password else None
        key, certificate, _ = pkcs12.load_key_and_certificates(raw, secret)
    if not isinstance(key, rsa.RSAPrivateKey) or certificate is None:
        raise ValueError("an RSA private key and its certificate are required")
    return key, certificate


def _error(status: int, code: str, message: str, inner: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner}
    return json_response(status, {"error": error}, headers={"x-ms-request-id": new_id()})


class KeyVaultSurface(Surface):
    name = "vault"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.certificates: dict[str, list[CertificateVersion]] = {}
        self.role_assignments: dict[str, set[str]] = {}
        # Per certificate (lower-case name): the policy's issuer name, key_props.exportable, kty and
        # its attributes created/updated (epoch seconds).
        self.policies: dict[str, dict[str, Any]] = {}
        self._seed_version: CertificateVersion | None = None
        # Test hook (not Key Vault behaviour): a hostile vault naming a key on another host.
        self._key_id_rewrite: Callable[[str], str] | None = None
        self._routes = [
            route("GET", r"/certificates/([^/]+)/versions", "keyvault.list_certificate_versions", self._list_versions),
            route("GET", r"/certificates/([^/]+)/policy", "keyvault.get_certificate_policy", self._get_policy),
            route("PATCH", r"/certificates/([^/]+)/policy", "keyvault.update_certificate_policy", self._update_policy),
            route("POST", r"/certificates/([^/]+)/import", "keyvault.import_certificate", self._import),
            route("GET", r"/certificates/([^/]+)/?([^/]*)", "keyvault.get_certificate", self._get_certificate),
            route("GET", r"/keys/([^/]+)/?([^/]*)", "keyvault.get_key", self._get_key),
            # Versionless sign (empty version, the SDK's `/keys/{name}//sign`, or no segment) uses
            # the current version: the service treats the version as optional for sign/encrypt/
            # wrapKey and returns the versioned kid. [O] Azure/azure-rest-api-specs#42571 ("Leave
            # Key Vault key version optional for encrypt, sign, and wrapKey"),
            # Azure/azure-sdk-for-java#47822 ("the full versioned key ID returned by the service").
            route("POST", r"/keys/([^/]+)(?:/([^/]*))?/sign", "keyvault.sign", self._sign),
        ]

    # ------------------------------------------------------------------ state (Azure-side facts)
    def reset(self) -> None:
        """Seed state: the seed certificate's first version only (the same key and version for
        the whole run: RSA key generation is too slow to repeat per test), registered on the app."""
        seed = self.ctx.seed
        with self.lock:
            self.certificates.clear()
            self.role_assignments.clear()
            self.policies.clear()
            self._key_id_rewrite = None
            for principal in (seed.system_mi_principal_id, seed.user_mi_principal_id):
                self.grant_role(principal, "Key Vault Crypto User")
                self.grant_role(principal, "Key Vault Reader")
            if self._seed_version is None:
                # Provisioned the day before the run (as a deployed certificate was): a renewal made
                # during a test is then unambiguously newer by `created` and by `nbf`.
                now = int(time.time())
                self.rotate_certificate(
                    seed.certificate_name,
                    register=False,
                    publish=False,
                    created=now - SEED_AGE_SECONDS,
                    not_before=now - SEED_AGE_SECONDS - 600,
                    expires_on=now + 365 * 86400,
                )
                self._seed_version = replace(self.certificates[seed.certificate_name.lower()][0])
            else:
                self.certificates[seed.certificate_name.lower()] = [replace(self._seed_version)]
            # The seed version was created with its policy (issuer Self, not exportable), at once.
            made = self._seed_version.created
            self.policies[seed.certificate_name.lower()] = {
                "issuer": "Self",
                "exportable": False,
                "kty": "RSA",
                "created": made,
                "updated": made,
            }
            der = self._seed_version.der
        self.ctx.directory.register_certificate(der)

    def forge_key_id(self, rewrite: Callable[[str], str] | None) -> None:
        """Test hook: every certificate bundle's `kid` is `rewrite(genuine kid)` (None: genuine).
        Real Key Vault names the key in its own vault; a client must not send a token elsewhere."""
        with self.lock:
            self._key_id_rewrite = rewrite

    def rotate_certificate(
        self,
        name: str | None = None,
        *,
        register: bool = True,
        enabled: bool = True,
        not_before: dt.datetime | float | None = None,
        expires_on: dt.datetime | float | None = None,
        publish: bool = True,
        created: dt.datetime | float | None = None,
        exportable: bool = False,
        imported: bool = False,
        hsm: bool = False,
    ) -> str:
        """Creates a new version (new RSA key, self-signed certificate) that becomes current, as
        a renewal or a manual rotation does; `register` also uploads its public part to the app
        registration (False: the renewal nobody registered yet). Like Key Vault, publishes
        `CertificateNewVersionCreated` to the Event Grid subscriptions (`publish=False`: an event
        lost or not yet delivered). `created` back-dates the version's `created`/`updated`
        attributes (a renewal that happened days ago). `exportable`: the version's key (and the
        policy) allow exporting the private key; `imported`: the version was imported (`az keyvault
        certificate import`), its key made outside the vault: the policy's issuer becomes `Unknown`
        and its key_props.exportable true, while the key itself, as in Key Vault, has no exportable
        flag. `hsm`: key type RSA-HSM. A rotation whose policy differs from the current one (back to
        `Self`, another kty) is a `create` that carries its policy: the policy's `updated` becomes the
        version's `created`. Returns the version."""
        name = name or self.ctx.seed.certificate_name
        now = int(time.time())
        made = _epoch(created) if created is not None else now
        nbf = _epoch(not_before) if not_before is not None else now - 600  # KV back-dates nbf 10 min [O]
        exp = _epoch(expires_on) if expires_on is not None else nbf + 365 * 86400
        key = certs.new_rsa_key()
        der = certs.self_signed(
            key,
            name,
            not_before=dt.datetime.fromtimestamp(nbf, dt.UTC),
            not_after=dt.datetime.fromtimestamp(exp, dt.UTC),
        )
        version = uuid.uuid4().hex
        entry = CertificateVersion(name, version, key, der, made, made, enabled, nbf, exp, exportable, hsm)
        wanted = {
            "issuer": "Unknown" if imported else "Self",
            "exportable": exportable or imported,
            "kty": "RSA-HSM" if hsm else "RSA",
        }
        with self.lock:
            self.certificates.setdefault(name.lower(), []).append(entry)
            self._set_policy(name, wanted, when=made)
        if register:
            self.ctx.directory.register_certificate(der)
        if publish:
            self.ctx.events.publish(self.certificate_event(CERTIFICATE_NEW_VERSION_CREATED, version, name=name))
        return version

    def certificate_event(
        self, event_type: str, version: str | None = None, *, name: str | None = None
    ) -> dict[str, Any]:
        """The Event Grid event Key Vault sends for a version (default: the current one) of a
        certificate (AZURE-PROTOCOLS.md 10): envelope `topic` = the vault's resource id, `subject`
        = the certificate name, PascalCase `data` with NBF/EXP as epoch seconds."""
        if event_type not in CERTIFICATE_EVENT_TYPES:
            raise ValueError(f"event_type must be one of {CERTIFICATE_EVENT_TYPES}")
        seed = self.ctx.seed
        with self.lock:
            entry = self._version(name or seed.certificate_name, version or "")
            if entry is None:
                raise KeyError(f"no version {version!r} of certificate {name or seed.certificate_name!r}")
            object_id = self._ids(entry)["id"] if self.ctx.urls.get(self.name) else ""
        return key_vault_event(
            event_type,
            vault_resource_id=seed.vault_resource_id,
            vault_name=seed.vault_name,
            object_type="Certificate",
            object_name=entry.name,
            # Key Vault's own URL for the version; the emulator's vault origin stands in for
            # https://{vault}.vault.azure.net (the broker compares it with KEY_VAULT_URL).
            object_id=object_id,
            version=entry.version,
            not_before=entry.not_before,
            expires=entry.expires,
        )

    def publish_event(self, event_type: str, version: str | None = None, *, name: str | None = None) -> dict[str, Any]:
        """Builds the event for a version and hands it to Event Grid (e.g. NearExpiry, which Key
        Vault sends 30 days before the current version expires); returns the event."""
        event = self.certificate_event(event_type, version, name=name)
        self.ctx.events.publish(event)
        return event

    def update_certificate_version(
        self,
        version: str,
        *,
        name: str | None = None,
        enabled: bool | None = None,
        expires_on: dt.datetime | float | None = None,
    ) -> None:
        """Changes a version's attributes (as `update_certificate_properties` does); the
        X.509 certificate itself, and so its registration in Entra, is unchanged."""
        with self.lock:
            entry = self._version(name or self.ctx.seed.certificate_name, version)
            if entry is None:
                raise KeyError(f"no version {version!r}")
            if enabled is not None:
                entry.enabled = enabled
            if expires_on is not None:
                entry.expires = int(_epoch(expires_on) or 0)
            entry.updated = int(time.time())

    def set_certificate_policy(
        self,
        name: str | None = None,
        *,
        issuer: str | None = None,
        exportable: bool | None = None,
        updated: dt.datetime | float | None = None,
    ) -> None:
        """Changes the certificate's policy (as `update_certificate_policy` does): its issuer name
        and/or `key_props.exportable`, and its `updated` time (default now); existing versions and
        their keys are unchanged."""
        with self.lock:
            policy = self.policies[(name or self.ctx.seed.certificate_name).lower()]
            if issuer is not None:
                policy["issuer"] = issuer
            if exportable is not None:
                policy["exportable"] = exportable
            policy["updated"] = _epoch(updated) if updated is not None else int(time.time())

    def policy_times(self, name: str | None = None) -> tuple[int, int]:
        """The policy's (created, updated), epoch seconds."""
        with self.lock:
            policy = self.policies[(name or self.ctx.seed.certificate_name).lower()]
            return policy["created"], policy["updated"]

    def _set_policy(self, name: str, wanted: dict[str, Any], *, when: int) -> None:
        """Replaces the policy's fields with `wanted` as one change made at `when` (a create or an
        import carrying its policy); nothing changes when they already match."""
        current = self.policies.get(name.lower())
        if current is None:
            self.policies[name.lower()] = {**wanted, "created": when, "updated": when}
        elif any(current.get(k) != v for k, v in wanted.items()):
            current.update(wanted)
            current["updated"] = when

    def versions(self, name: str | None = None) -> list[str]:
        with self.lock:
            return [v.version for v in self.certificates.get((name or self.ctx.seed.certificate_name).lower(), [])]

    def current_version(self, name: str | None = None) -> str:
        return self.versions(name)[-1]

    def certificate_der(self, version: str | None = None, *, name: str | None = None) -> bytes:
        """The public certificate (DER) of a version, default the current one."""
        with self.lock:
            entry = self._version(name or self.ctx.seed.certificate_name, version or "")
            if entry is None:
                raise KeyError(version)
            return entry.der

    def grant_role(self, principal_id: str, role_name: str) -> None:
        if role_name not in ROLE_DATA_ACTIONS:
            raise ValueError(f"unknown role {role_name!r}; one of {sorted(ROLE_DATA_ACTIONS)}")
        with self.lock:
            self.role_assignments.setdefault(principal_id.lower(), set()).add(role_name)

    def revoke_role(self, principal_id: str, role_name: str) -> None:
        with self.lock:
            self.role_assignments.get(principal_id.lower(), set()).discard(role_name)

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: Request) -> Response:
        token = request.bearer()
        if not token:
            # Step 2 of the challenge: no token -> 401 with the challenge, whatever the body.
            return self.run("keyvault.challenge", request, self._challenge)
        try:
            claims = self.ctx.tokens.validate(
                token,
                audiences=resources.audiences(self.ctx, resources.VAULT),
                issuers=(self.ctx.tokens.v1_issuer(), self.ctx.tokens.v2_issuer()),
            )
        except TokenError as exc:
            return self._unauthorized(exc)
        found = self.find_route(self._routes, request)
        if found is None or found is False:
            # [U] Key Vault's answer for an unknown path or method.
            return _error(
                404 if found is None else 405,
                "NotFound" if found is None else "MethodNotAllowed",
                "The requested resource was not found." if found is None else "Method not allowed.",
            )
        chosen, match = found
        return self.run(chosen.operation, request, lambda: self._versioned(request, claims, chosen.handler, match))

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        if status == 429:
            # [O] vcsjones/AzureSignTool#219 (recorded without Retry-After).
            return _error(
                429,
                "Throttled",
                "Request was not processed because too many requests were received. "
                "Reason: VaultRequestTypeLimitReached",
            )
        if status == 401:
            return self._challenge()
        code = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return _error(status, code.get(status, "Error"), "Injected fault.")  # [U] wording

    def _challenge(self) -> Response:
        response = _error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
        response.headers["WWW-Authenticate"] = self._www_authenticate()
        return response

    def _www_authenticate(self) -> str:
        # Values must not contain ',' or '=' (the SDK splits on them; AZURE-PROTOCOLS.md 1.2).
        authority = f"{self.ctx.url('login')}/{self.ctx.seed.tenant_id}"
        return f'Bearer authorization="{authority}", resource="https://vault.azure.net"'

    def _unauthorized(self, exc: TokenError) -> Response:
        tokens = self.ctx.tokens
        claims = exc.claims
        messages = {
            # [O] AZURE-PROTOCOLS.md 1.2 for AKV10022/AKV10032; AKV10046 [O] vcsjones/AzureSignTool#330.
            "audience": f"AKV10022: Invalid audience. Expected https://vault.azure.net, found: {claims.get('aud')}.",
            "issuer": (
                f"AKV10032: Invalid issuer. Expected one of {tokens.v1_issuer()}, {tokens.v2_issuer()}, "
                f"found {claims.get('iss')}."
            ),
            "signature": "AKV10046: Unable to resolve the key used for signature validation.",
            "expired": "AKV10013: Token expired.",  # [U] code and wording
            "not_yet_valid": "AKV10014: Token not yet valid.",  # [U] code; "Token not yet valid" [O] java#26624
            "malformed": "AKV10001: Bearer token is malformed.",  # [U]
        }
        response = _error(401, "Unauthorized", messages.get(exc.reason, "AKV10001: Bearer token is malformed."))
        response.headers["WWW-Authenticate"] = self._www_authenticate()
        return response

    def _versioned(
        self,
        request: Request,
        claims: dict[str, Any],
        handler: Callable[[Request, dict[str, Any], Any], Response],
        match: Any,
    ) -> Response:
        api_version = request.query.get("api-version")
        if not api_version:
            return _error(400, "BadParameter", "The api-version query parameter is missing.")  # [U] wording
        if api_version not in API_VERSIONS:
            # [O] Azure/azure-sdk-for-python#28595 (code and wording).
            return _error(
                400,
                "BadParameter",
                f"The specified version ({api_version}) is not recognized. "
                f"Consider using the latest supported version ({LATEST_API_VERSION}).",
            )
        with self.lock:
            return handler(request, claims, match)

    def _forbidden(self, claims: dict[str, Any], action: str, resource: str) -> Response | None:
        """ForbiddenByRbac body when the caller's roles lack `action` (AZURE-PROTOCOLS.md 1.7)."""
        roles = self.role_assignments.get(str(claims.get("oid", "")).lower(), set())
        if any(action in ROLE_DATA_ACTIONS[role] for role in roles):
            return None
        seed = self.ctx.seed
        message = (
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, "
            "please observe propagation time.\r\n"
            f"Caller: appid={claims.get('appid', claims.get('azp'))};oid={claims.get('oid')};"
            f"iss={claims.get('iss')}\r\n"
            f"Action: '{action}'\r\n"
            f"Resource: '{seed.vault_resource_id}/{resource}'\r\n"
            "Assignment: (not found)\r\n"
            "DenyAssignmentId: null\r\n"
            "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
            f"Vault: {seed.vault_name};location={seed.location}\r\n"
        )
        return _error(403, "Forbidden", message, "ForbiddenByRbac")

    def _version(self, name: str, version: str) -> CertificateVersion | None:
        entries = self.certificates.get(name.lower())
        if not entries:
            return None
        if not version:
            return entries[-1]
        return next((e for e in entries if e.version == version.lower()), None)

    # ------------------------------------------------------------------ certificates
    def _cert_not_found(self, name: str) -> Response:
        return _error(
            404,
            "CertificateNotFound",
            f"A certificate with (name/id) {name} was not found in this key vault. "
            + _NOT_FOUND_HELP.format(kind="certificate"),
        )

    def _ids(self, entry: CertificateVersion) -> dict[str, str]:
        base = self.origin
        kid = f"{base}/keys/{entry.name}/{entry.version}"
        return {
            "id": f"{base}/certificates/{entry.name}/{entry.version}",
            "kid": self._key_id_rewrite(kid) if self._key_id_rewrite else kid,
            "sid": f"{base}/secrets/{entry.name}/{entry.version}",
        }

    def _policy(self, entry: CertificateVersion) -> dict[str, Any]:
        first = self.certificates[entry.name.lower()][0]
        policy = self.policies.get(entry.name.lower()) or {
            "issuer": "Self",
            "exportable": False,
            "kty": "RSA",
            "created": first.created,
            "updated": first.created,
        }
        return {
            "id": f"{self.origin}/certificates/{entry.name}/policy",
            "key_props": {
                "exportable": policy["exportable"],
                "kty": policy.get("kty", "RSA"),
                "key_size": 2048,
                "reuse_key": False,
            },
            "secret_props": {"contentType": "application/x-pkcs12"},
            "x509_props": {
                "subject": f"CN={entry.name}",
                "sans": {},
                "ekus": ["1.3.6.1.5.5.7.3.2"],
                "key_usage": ["digitalSignature"],
                "validity_months": 12,
                "basic_constraints": {"ca": False},
            },
            "lifetime_actions": [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}],
            "issuer": {"name": policy["issuer"]},
            "attributes": {"enabled": True, "created": policy["created"], "updated": policy["updated"]},
        }

    def _get_policy(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        name = match.group(1)
        denied = self._forbidden(claims, _A + "certificates/read", f"certificates/{name}")
        if denied is not None:
            return denied
        entry = self._version(name, "")
        if entry is None:
            return self._cert_not_found(name)
        return json_response(200, self._policy(entry))

    def _update_policy(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        """PATCH the policy: the members given change, the others stay; `updated` is now."""
        name = match.group(1)
        denied = self._forbidden(claims, _A + "certificates/update/action", f"certificates/{name}")
        if denied is not None:
            return denied
        entry = self._version(name, "")
        if entry is None:
            return self._cert_not_found(name)
        try:
            body = request.json()
            if not isinstance(body, dict):
                raise TypeError
            issuer = (body.get("issuer") or {}).get("name")
            key_props = body.get("key_props") or {}
            exportable, kty = key_props.get("exportable"), key_props.get("kty")
            if issuer is not None and not isinstance(issuer, str):
                raise TypeError
            if exportable is not None and not isinstance(exportable, bool):
                raise TypeError
            if kty is not None and kty not in ("RSA", "RSA-HSM"):
                raise TypeError
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
            return _error(400, "BadParameter", "The certificate policy is malformed.")  # [U] wording
        policy = self.policies.setdefault(name.lower(), {})
        if not policy:
            policy.update(self._policy(entry)["attributes"] | {"issuer": "Self", "exportable": False, "kty": "RSA"})
        for field_name, value in (("issuer", issuer), ("exportable", exportable), ("kty", kty)):
            if value is not None:
                policy[field_name] = value
        policy["updated"] = int(time.time())
        return json_response(200, self._policy(entry))

    def _import(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        """A new version from a PFX (or PEM) holding the private key; its policy as given (issuer
        `Unknown` unless the request names one) or, without one, issuer `Unknown` and exportable."""
        name = match.group(1)
        denied = self._forbidden(claims, _A + "certificates/import/action", f"certificates/{name}")
        if denied is not None:
            return denied
        try:
            body = request.json()
            value = body["value"]
            if not isinstance(value, str):
                raise TypeError
            raw = base64.b64decode(value, validate=True)
            policy = body.get("policy") or {}
            pem = (policy.get("secret_props") or {}).get("contentType") == "application/x-pem-file"
            password = body.get("pwd")
            key, certificate = _load_import(raw, pem=pem, password=password)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            # [U] wording; Key Vault refuses material it cannot read, or without a private key.
            return _error(400, "BadParameter", "The specified certificate could not be read or holds no private key.")
        der = certificate.public_bytes(serialization.Encoding.DER)
        now = int(time.time())
        key_props = policy.get("key_props") or {}
        wanted = {
            "issuer": (policy.get("issuer") or {}).get("name") or "Unknown",
            "exportable": key_props.get("exportable", True) is not False,
            "kty": "RSA",
        }
        enabled = (body.get("attributes") or {}).get("enabled", True) is not False
        entry = CertificateVersion(
            name,
            uuid.uuid4().hex,
            key,
            der,
            now,
            now,
            enabled,
            int(certificate.not_valid_before_utc.timestamp()),
            int(certificate.not_valid_after_utc.timestamp()),
        )
        self.certificates.setdefault(name.lower(), []).append(entry)
        policy_state = self.policies.get(name.lower())
        if policy_state is None:
            self.policies[name.lower()] = {**wanted, "created": now, "updated": now}
        else:
            policy_state.update(wanted)
            policy_state["updated"] = now
        self.ctx.events.publish(self.certificate_event(CERTIFICATE_NEW_VERSION_CREATED, entry.version, name=name))
        return json_response(200, self._bundle(entry, latest=True))

    def _get_certificate(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        name, version = match.group(1), match.group(2) or ""
        denied = self._forbidden(claims, _A + "certificates/read", f"certificates/{name}")
        if denied is not None:
            return denied
        entry = self._version(name, version)
        if entry is None:
            return self._cert_not_found(name)
        return json_response(200, self._bundle(entry, latest=not version))

    def _bundle(self, entry: CertificateVersion, *, latest: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self._ids(entry),
            "x5t": certs.x5t(entry.der),
            "cer": base64.b64encode(entry.der).decode("ascii"),  # standard base64, padded
            "attributes": entry.attributes(),
        }
        if latest:
            # Latest-version GET carries policy and pending; an explicit version does not [O].
            body["policy"] = self._policy(entry)
            body["pending"] = {"id": f"{self.origin}/certificates/{entry.name}/pending"}
        body["tags"] = {}
        return body

    def _list_versions(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        name = match.group(1)
        denied = self._forbidden(claims, _A + "certificates/read", f"certificates/{name}")
        if denied is not None:
            return denied
        entries = self.certificates.get(name.lower())
        if not entries:
            return self._cert_not_found(name)
        try:
            page_size = int(request.query.get("maxresults") or _PAGE_SIZE)
            start = int(base64.urlsafe_b64decode(request.query.get("$skiptoken") or "MA==").decode())
        except ValueError:
            return _error(400, "BadParameter", "Invalid maxresults or $skiptoken.")  # [U]
        if not 1 <= page_size <= _PAGE_SIZE:
            return _error(400, "BadParameter", "maxresults must be between 1 and 25.")  # [U] wording
        page = entries[start : start + page_size]
        items = [
            {"id": self._ids(e)["id"], "x5t": certs.x5t(e.der), "attributes": e.attributes(), "tags": {}} for e in page
        ]
        next_link = None
        if start + page_size < len(entries):
            token = base64.urlsafe_b64encode(str(start + page_size).encode()).decode()
            next_link = (
                f"{self.origin}/certificates/{entries[0].name}/versions?api-version={request.query['api-version']}"
                f"&$skiptoken={token}&maxresults={page_size}"
            )
        return json_response(200, {"value": items, "nextLink": next_link})

    # ------------------------------------------------------------------ keys
    def _key_not_found(self, name: str) -> Response:
        return _error(
            404,
            "KeyNotFound",
            f"A key with (name/id) {name} was not found in this key vault. " + _NOT_FOUND_HELP.format(kind="key"),
        )

    def _get_key(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        name, version = match.group(1), match.group(2) or ""
        denied = self._forbidden(claims, _A + "keys/read", f"keys/{name}")
        if denied is not None:
            return denied
        entry = self._version(name, version)
        if entry is None:
            return self._key_not_found(name)
        jwk = {
            "kid": self._ids(entry)["kid"],
            "key_ops": ["sign", "verify"],  # digitalSignature usage only
            **certs.public_jwk(entry.private_key.public_key()),  # n and e only: never d/p/q/dp/dq/qi
            "kty": "RSA-HSM" if entry.hsm else "RSA",
        }
        # KeyAttributes.exportable appears only for an exportable key (one created with a release
        # policy); Key Vault's KeyBundle for an ordinary certificate key has no such field
        # (AZURE-PROTOCOLS §1.4), so the broker must read its absence as "not exportable".
        attributes = {**entry.attributes(), **({"exportable": True} if entry.exportable else {})}
        return json_response(200, {"key": jwk, "attributes": attributes, "managed": True, "tags": {}})

    def _sign(self, request: Request, claims: dict[str, Any], match: Any) -> Response:
        name, version = match.group(1), match.group(2) or ""
        denied = self._forbidden(claims, _A + "keys/sign/action", f"keys/{name}")
        if denied is not None:
            return denied
        entry = self._version(name, version)
        if entry is None:
            return self._key_not_found(name)
        try:
            body = request.json()
            alg, value = body["alg"], body["value"]
            if not isinstance(alg, str) or not isinstance(value, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(400, "BadParameter", "The request body must contain 'alg' and 'value'.")  # [U]
        if alg not in _KNOWN_ALGS:
            return _error(400, "BadParameter", f"Invalid algorithm '{alg}'.")  # [U] wording
        if alg not in _RSA_ALGS:
            return _error(400, "BadParameter", f"Algorithm '{alg}' is not supported for key type RSA.")  # [U]
        try:
            digest = certs.b64url_decode(value)
        except ValueError:
            return _error(400, "BadParameter", "Property 'value' is not a valid base64url string.")  # [U]
        hash_cls, length, pss = _RSA_ALGS[alg]
        if len(digest) != length:
            return _error(400, "BadParameter", f"The digest length is invalid for algorithm {alg}.")  # [U]
        if not entry.enabled:
            # [O] Azure/azure-sdk-for-python#45342.
            return _error(403, "Forbidden", "Operation sign is not allowed on a disabled key.", "KeyDisabled")
        now = time.time()
        if now < entry.not_before:
            return _error(403, "Forbidden", "Operation sign is not allowed on a key that is not yet valid.")  # [U]
        if now >= entry.expires:
            return _error(403, "Forbidden", "Operation sign is not allowed on an expired key.")  # [U] wording
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=length) if pss else padding.PKCS1v15()
        )
        try:
            signature = entry.private_key.sign(digest, pad, Prehashed(hash_cls()))
        except (ValueError, UnsupportedAlgorithm):
            return _error(400, "BadParameter", "The digest could not be signed.")  # [U]
        return json_response(200, {"kid": self._ids(entry)["kid"], "value": certs.b64url(signature)})
