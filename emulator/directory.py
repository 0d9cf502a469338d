# The tenant's directory: app registrations (application objects) with their key credentials,
# federated identity credentials and owners, and the Graph app roles granted to service
# principals. One source of truth read by two surfaces: Graph serves and changes an
# application's `keyCredentials` (GET /applications, addKey, removeKey), and the Entra token
# endpoint validates client assertions against that same list (AZURE-PROTOCOLS.md 4.4: the
# assertion's thumbprint is looked up in the app's keyCredentials). Lower than every surface:
# it imports no surface and no Context.
# Shapes: learn.microsoft.com/graph/api/resources/keycredential (customKeyIdentifier defaults
# to the certificate's thumbprint; `key` only on $select of a single object),
# learn.microsoft.com/graph/api/resources/application.
# Several directories (AZURE-PROTOCOLS.md 13; learn.microsoft.com/entra/identity-platform/
# app-objects-and-service-principals, .../howto-convert-app-to-be-multi-tenant): the application
# object lives in its home tenant only; a tenant "has" the app once a service principal of it exists
# there, which an administrator's consent creates with the app roles consented (for a
# multi-tenant app, `signInAudience` AzureADMultipleOrgs). Deleting the service principal (the
# enterprise application) revokes it. Each tenant has its own users for Graph.
from __future__ import annotations

import base64
import copy
import datetime as dt
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import certs
from emulator.seed import TOKEN_EXCHANGE_AUDIENCE, Seed, stable_id
from emulator.users import seed_users

ASYMMETRIC_X509_CERT = "AsymmetricX509Cert"
SINGLE_TENANT = "AzureADMyOrg"
MULTI_TENANT = "AzureADMultipleOrgs"
SIGN_IN_AUDIENCES = (SINGLE_TENANT, MULTI_TENANT, "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount")
X509_CERT_AND_PASSWORD = "X509CertAndPassword"  # noqa: S105 - a key type name


def graph_time(epoch: float) -> str:
    """Graph's DateTimeOffset for certificate-derived dates: whole seconds, 'Z'."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class KeyCredential:
    """One entry of an application's `keyCredentials` (a certificate's public part)."""

    der: bytes
    start: float
    end: float
    key_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    type: str = ASYMMETRIC_X509_CERT
    usage: str = "Verify"
    display_name: str = ""

    @classmethod
    def from_certificate(
        cls,
        der: bytes,
        *,
        start: float | None = None,
        end: float | None = None,
        type: str = ASYMMETRIC_X509_CERT,
        usage: str = "Verify",
    ) -> KeyCredential:
        """Dates and displayName default to the certificate's own (validity, subject), as Graph
        fills them when the request does not give them. Raises ValueError for a non-certificate."""
        cert = certs.load_der(der)
        return cls(
            der,
            start if start is not None else cert.not_valid_before_utc.timestamp(),
            end if end is not None else cert.not_valid_after_utc.timestamp(),
            type=type,
            usage=usage,
            display_name=cert.subject.rfc4514_string(),
        )

    @property
    def thumbprint(self) -> str:
        """customKeyIdentifier: the SHA-1 thumbprint, upper-case hex."""
        return certs.sha1_hex(self.der)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        key = certs.load_der(self.der).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("only RSA certificates are emulated")
        return key

    @property
    def certificate(self) -> x509.Certificate:
        return certs.load_der(self.der)

    def valid_at(self, moment: float) -> bool:
        return self.start <= moment <= self.end

    def to_graph(self, *, include_key: bool = False) -> dict[str, object]:
        """The keyCredential resource as Graph returns it."""
        return {
            "customKeyIdentifier": self.thumbprint,
            "displayName": self.display_name,
            "endDateTime": graph_time(self.end),
            "key": base64.b64encode(self.der).decode("ascii") if include_key else None,
            "keyId": self.key_id,
            "startDateTime": graph_time(self.start),
            "type": self.type,
            "usage": self.usage,
        }


@dataclass(frozen=True)
class FederatedCredential:
    name: str
    issuer: str | None  # None: this tenant's v2 issuer (known only once the login server listens)
    subject: str
    audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    description: str | None = None


@dataclass(frozen=True)
class PasswordCredential:
    """A client secret added with addPassword; only its hint is kept (Graph returns the secret once)."""

    key_id: str
    display_name: str | None
    hint: str
    start: float
    end: float

    def to_graph(self, *, secret_text: str | None = None) -> dict[str, object]:
        return {
            "customKeyIdentifier": None,
            "displayName": self.display_name,
            "endDateTime": graph_time(self.end),
            "hint": self.hint,
            "keyId": self.key_id,
            "secretText": secret_text,
            "startDateTime": graph_time(self.start),
        }


@dataclass
class Application:
    """An app registration: `app_id` is the client id, `object_id` the application object's id."""

    app_id: str
    object_id: str
    sp_object_id: str
    display_name: str
    created: str = "2024-01-01T08:00:00Z"
    key_credentials: list[KeyCredential] = field(default_factory=list)
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    password_credentials: list[PasswordCredential] = field(default_factory=list)
    owners: set[str] = field(default_factory=set)  # object ids of owning principals
    sign_in_audience: str = SINGLE_TENANT

    @property
    def client_id(self) -> str:  # the Entra token endpoint's name for app_id
        return self.app_id


@dataclass
class Tenant:
    """One directory: its id, name and verified domain, its service principals (app id -> object id)
    and its users (Graph's user resources). Resources listed in `missing_resources` (e.g. the
    Graph app id) have no service principal there (AADSTS650052)."""

    tenant_id: str
    display_name: str
    domain: str
    service_principals: dict[str, str] = field(default_factory=dict)
    users: list[dict[str, object]] = field(default_factory=list)
    missing_resources: set[str] = field(default_factory=set)


class Directory:
    """Thread-safe store of application objects and app role assignments. Readers get copies:
    a request validating an assertion never sees a half-applied addKey/removeKey."""

    def __init__(self, seed: Seed) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        self._apps: dict[str, Application] = {}  # by app id (lower-case)
        self._app_roles: dict[str, set[str]] = {}  # principal object id -> Graph app roles
        self._tenants: dict[str, Tenant] = {}  # customer tenants by id (the home tenant is the seed's)
        self.reset()

    def reset(self) -> None:
        """Seed state: the broker's app registration as the templates deploy it — no owner, the
        user-assigned identity as a federated credential and no certificate yet (Key Vault's seed
        version registers itself) — and the Graph app roles granted by admin consent: the broker's
        service principal holds only the read-only User.Read.All and Application.Read.All (its own
        keys it rolls with addKey/removeKey, which need no permission), the system identity
        User.Read.All."""
        seed = self.seed
        app = Application(seed.client_id, seed.app_object_id, seed.sp_object_id, "keyvault-assertion-broker")
        app.federated_credentials.append(FederatedCredential(seed.fic_name, None, seed.user_mi_principal_id))
        with self.lock:
            self._apps = {seed.client_id.lower(): app}
            self._tenants = {}
            self._app_roles = {
                seed.sp_object_id: {"User.Read.All", "Application.Read.All"},
                seed.system_mi_principal_id: {"User.Read.All"},
            }

    # ------------------------------------------------------------------ applications
    def find(self, *, app_id: str | None = None, object_id: str | None = None) -> Application | None:
        """A snapshot (deep copy) of the application, or None."""
        with self.lock:
            if app_id is not None:
                app = self._apps.get(app_id.lower())
            else:
                wanted = (object_id or "").lower()
                app = next((a for a in self._apps.values() if a.object_id.lower() == wanted), None)
            return copy.deepcopy(app) if app is not None else None

    def _live(self, app_id: str | None) -> Application:
        return self._apps[(app_id or self.seed.client_id).lower()]

    def add_key_credential(self, credential: KeyCredential, *, app_id: str | None = None) -> KeyCredential:
        with self.lock:
            self._live(app_id).key_credentials.append(credential)
        return copy.deepcopy(credential)

    def remove_key_credential(self, key_id: str, *, app_id: str | None = None) -> bool:
        """Removes the credential with `key_id`; False when the app has none."""
        with self.lock:
            app = self._live(app_id)
            kept = [k for k in app.key_credentials if k.key_id.lower() != key_id.lower()]
            removed = len(kept) != len(app.key_credentials)
            app.key_credentials = kept
        return removed

    def register_certificate(
        self, der: bytes, *, app_id: str | None = None, start: float | None = None, end: float | None = None
    ) -> str:
        """Registers a certificate (replacing an entry for the same certificate: the
        deployment hook's append-only upload never duplicates); returns its keyId."""
        credential = KeyCredential.from_certificate(der, start=start, end=end)
        with self.lock:
            app = self._live(app_id)
            app.key_credentials = [k for k in app.key_credentials if k.der != der] + [credential]
        return credential.key_id

    def unregister_certificate(self, der: bytes, *, app_id: str | None = None) -> None:
        with self.lock:
            app = self._live(app_id)
            app.key_credentials = [k for k in app.key_credentials if k.der != der]

    def update_key_credential(self, key_id: str, *, display_name: str, app_id: str | None = None) -> None:
        """Changes a key credential's displayName (as a PATCH of the application's keyCredentials
        does); e.g. a test back-dates the rollover's registration record."""
        with self.lock:
            for credential in self._live(app_id).key_credentials:
                if credential.key_id.lower() == key_id.lower():
                    credential.display_name = display_name
                    return
        raise KeyError(key_id)

    def key_credentials(self, *, app_id: str | None = None) -> list[KeyCredential]:
        with self.lock:
            return copy.deepcopy(self._live(app_id).key_credentials)

    def add_owner(self, principal_id: str, *, app_id: str | None = None) -> None:
        with self.lock:
            self._live(app_id).owners.add(principal_id.lower())

    def remove_owner(self, principal_id: str, *, app_id: str | None = None) -> None:
        with self.lock:
            self._live(app_id).owners.discard(principal_id.lower())

    def add_federated_credential(
        self,
        *,
        issuer: str | None,
        subject: str,
        audiences: Sequence[str] = (TOKEN_EXCHANGE_AUDIENCE,),
        name: str | None = None,
        app_id: str | None = None,
    ) -> None:
        with self.lock:
            app = self._live(app_id)
            app.federated_credentials.append(
                FederatedCredential(
                    name or f"fic-{len(app.federated_credentials) + 1}", issuer, subject, tuple(audiences)
                )
            )

    def add_federated_credential_object(self, credential: FederatedCredential, *, app_id: str | None = None) -> None:
        with self.lock:
            self._live(app_id).federated_credentials.append(credential)

    def add_password_credential(self, credential: PasswordCredential, *, app_id: str | None = None) -> None:
        with self.lock:
            self._live(app_id).password_credentials.append(credential)

    def remove_federated_credentials(self, *, app_id: str | None = None) -> None:
        with self.lock:
            self._live(app_id).federated_credentials.clear()

    # ------------------------------------------------------------------ Graph app roles
    def grant_app_roles(self, principal_id: str, roles: Iterable[str]) -> None:
        with self.lock:
            self._app_roles.setdefault(principal_id.lower(), set()).update(roles)

    def revoke_app_roles(self, principal_id: str, roles: Iterable[str]) -> None:
        with self.lock:
            self._app_roles.get(principal_id.lower(), set()).difference_update(roles)

    def app_roles(self, principal_id: str) -> list[str]:
        with self.lock:
            return sorted(self._app_roles.get(principal_id.lower(), set()))

    # ------------------------------------------------------------------ other tenants
    def set_sign_in_audience(self, audience: str, *, app_id: str | None = None) -> None:
        """`AzureADMyOrg` (single tenant) or `AzureADMultipleOrgs` (any organization's directory)."""
        if audience not in SIGN_IN_AUDIENCES:
            raise ValueError(f"signInAudience must be one of {SIGN_IN_AUDIENCES}")
        with self.lock:
            self._live(app_id).sign_in_audience = audience

    def add_tenant(
        self,
        tenant_id: str | None = None,
        *,
        display_name: str | None = None,
        domain: str | None = None,
        user_count: int = 5,
        users: Sequence[dict[str, object]] | None = None,
    ) -> str:
        """Creates (or replaces) a customer directory; returns its id. Users default to `user_count`
        generated ones on its domain (`users` gives them verbatim)."""
        index = len(self._tenants) + 1
        tenant_id = (tenant_id or stable_id(f"tenant:customer:{index}")).lower()
        if tenant_id == self.seed.tenant_id:
            raise ValueError("that is the home tenant")
        name = display_name or f"Customer {index} Emulated"
        domain = domain or f"customer{index}emulated.onmicrosoft.com"
        tenant = Tenant(tenant_id, name, domain.lower())
        tenant.users = (
            [dict(u) for u in users] if users is not None else seed_users(user_count, domain, tenant_id, company=name)
        )
        with self.lock:
            self._tenants[tenant_id] = tenant
        return tenant_id

    def tenant(self, name: str) -> Tenant | None:
        """A customer tenant by id or verified domain (None: unknown, or the home tenant)."""
        wanted = name.lower()
        with self.lock:
            found = self._tenants.get(wanted) or next((t for t in self._tenants.values() if t.domain == wanted), None)
            return copy.deepcopy(found) if found is not None else None

    def tenant_ids(self) -> list[str]:
        """Every directory's id, the home tenant's first."""
        with self.lock:
            return [self.seed.tenant_id, *self._tenants]

    def consent(self, tenant_id: str, *, roles: Iterable[str] = ("User.Read.All",), app_id: str | None = None) -> str:
        """An administrator of `tenant_id` consents to the app: its service principal there, holding
        `roles` (Graph application permissions); returns the service principal's object id."""
        app_id = (app_id or self.seed.client_id).lower()
        with self.lock:
            tenant = self._tenants[tenant_id.lower()]
            if app_id not in self._apps:
                raise KeyError(app_id)
            object_id = tenant.service_principals.setdefault(app_id, stable_id(f"sp:{tenant.tenant_id}:{app_id}"))
            self._app_roles[object_id] = set(roles)
        return object_id

    def revoke_consent(self, tenant_id: str, *, app_id: str | None = None) -> None:
        """The customer deletes the enterprise application (the service principal): consent is gone."""
        app_id = (app_id or self.seed.client_id).lower()
        with self.lock:
            object_id = self._tenants[tenant_id.lower()].service_principals.pop(app_id, None)
            if object_id is not None:
                self._app_roles.pop(object_id, None)

    def service_principal(self, tenant_id: str, app_id: str) -> str | None:
        """The object id of `app_id`'s service principal in `tenant_id` (home: the app's own)."""
        with self.lock:
            if tenant_id.lower() == self.seed.tenant_id:
                app = self._apps.get(app_id.lower())
                return app.sp_object_id if app is not None else None
            tenant = self._tenants.get(tenant_id.lower())
            return tenant.service_principals.get(app_id.lower()) if tenant is not None else None

    def remove_resource(self, tenant_id: str, resource_app_id: str) -> None:
        """A first-party resource (e.g. Graph's app id) without a service principal in `tenant_id`."""
        with self.lock:
            self._tenants[tenant_id.lower()].missing_resources.add(resource_app_id.lower())
