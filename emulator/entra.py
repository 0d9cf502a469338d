# Microsoft Entra ID: the v2.0 token endpoint (client credentials with a certificate
# assertion, RFC 7523 `private_key_jwt`, or a managed-identity token as a federated
# credential), OIDC metadata, JWKS, and caller tokens for the function's own API.
# REST references: learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow,
# .../certificate-credentials, .../reference-error-codes, .../workload-identity-federation.
# Wire facts and error texts: AZURE-PROTOCOLS.md 4 and 8, and section 9 items 7-8: strict where
# Entra is strict (signature against a registered, currently valid certificate found by its
# thumbprint; `aud` = the exact token URL hit; iss = sub = client_id; nbf/exp with skew), lenient
# where Entra is lenient (reused jti, float times, missing nbf, long lifetimes, padded
# thumbprints, RS256+x5t and PS256+x5t#S256). `invalid_client` is 401, every other error 400.
# Other tenants (AZURE-PROTOCOLS.md 13; learn.microsoft.com/entra/identity-platform/
# howto-convert-app-to-be-multi-tenant): a customer tenant's token URL issues tokens to an app whose
# service principal exists there (admin consent), with that tenant's `tid`/`iss`, the service
# principal's `oid` and the roles consented there. No service principal: AADSTS7000229
# invalid_client ("The client application {appId} is missing service principal in the tenant
# {tenant}." [O] Azure/azure-sdk-for-net#46762, Azure/Commercial-Marketplace-SaaS-Accelerator#830);
# a single-tenant app (signInAudience AzureADMyOrg) asked elsewhere: AADSTS700016 unauthorized_client
# [O] Azure/azure-powershell#9156; a resource without a service principal in the tenant:
# AADSTS650052 invalid_client ("The app is trying to access a service '{appId}'({name}) that your
# organization '{tenant}' lacks a service principal for. ..." [O] microsoft/GraphNotificationBroker#5,
# PostHog/posthog#43486); statuses follow the error (invalid_client 401, else 400).
from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt

from emulator import certs, resources
from emulator.directory import ASYMMETRIC_X509_CERT, SINGLE_TENANT, Application, KeyCredential
from emulator.httpd import Request, Response, json_response
from emulator.seed import stable_id
from emulator.surface import Context, Surface, route

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW_SECONDS = 300  # "a few minutes" [U] AZURE-PROTOCOLS.md 4.5
_ASSERTION_ALGS = ("RS256", "PS256", "RS384", "PS384", "RS512", "PS512")
_DOC_CERT = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _aad_time(epoch: float | None) -> str:
    """Entra's time format in AADSTS700024: 7 fractional digits, 'Z' [O] MSAL.NET#4951."""
    moment = dt.datetime.fromtimestamp(epoch or 0, dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def _entra_window(credential: KeyCredential) -> str:
    start = dt.datetime.fromtimestamp(credential.start, dt.UTC)
    end = dt.datetime.fromtimestamp(credential.end, dt.UTC)
    return f"Found key 'Start={start:%m/%d/%Y %H:%M:%S}, End={end:%m/%d/%Y %H:%M:%S}'"


class EntraSurface(Surface):
    name = "login"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.token_lifetime = 3599  # v2 client-credential tokens: expires_in ~1 h [D]
        tenant = r"([A-Za-z0-9.\-]+)"
        self._routes = [
            route("POST", rf"/{tenant}/oauth2/v2\.0/token", "entra.token", self._token),
            route("GET", rf"/{tenant}/oauth2/v2\.0/token", "entra.token", self._token_get),
            route(
                "GET",
                rf"/{tenant}/v2\.0/\.well-known/openid-configuration",
                "entra.openid_configuration",
                self._openid_v2,
            ),
            route(
                "GET", rf"/{tenant}/\.well-known/openid-configuration", "entra.openid_configuration", self._openid_v1
            ),
            route("GET", rf"/{tenant}/discovery/v2\.0/keys", "entra.jwks", self._jwks),
            route("GET", rf"/{tenant}/discovery/keys", "entra.jwks", self._jwks),
        ]

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        self.ctx.tokens.reset_signing_keys()

    # The app registration lives in the directory (emulator/directory.py), shared with Graph:
    # these helpers change the same keyCredentials list that addKey/removeKey change.
    def register_certificate(
        self, der: bytes, *, client_id: str | None = None, start: float | None = None, end: float | None = None
    ) -> str:
        """Uploads a certificate's public part to the app (keyCredentials); returns its keyId.
        The validity window defaults to the certificate's own, as Graph does."""
        return self.ctx.directory.register_certificate(der, app_id=client_id, start=start, end=end)

    def unregister_certificate(self, der: bytes, *, client_id: str | None = None) -> None:
        self.ctx.directory.unregister_certificate(der, app_id=client_id)

    def registered_thumbprints(self, *, client_id: str | None = None) -> list[str]:
        """SHA-1 hex thumbprints of the registered certificates (customKeyIdentifier)."""
        return [k.thumbprint for k in self.ctx.directory.key_credentials(app_id=client_id)]

    def add_federated_credential(
        self,
        *,
        issuer: str | None,
        subject: str,
        audiences: Sequence[str] = (resources.TOKEN_EXCHANGE_AUDIENCE,),
        name: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.ctx.directory.add_federated_credential(
            issuer=issuer, subject=subject, audiences=audiences, name=name, app_id=client_id
        )

    def remove_federated_credentials(self, *, client_id: str | None = None) -> None:
        self.ctx.directory.remove_federated_credentials(app_id=client_id)

    # ------------------------------------------------------------------ signing keys
    def add_signing_key(self, *, current: bool = True) -> str:
        """Publishes a new tenant signing key in the JWKS (by default new tokens are signed with it,
        as after a rollover); returns its kid. Every published key keeps validating."""
        with self.lock:
            return self.ctx.tokens.add_signing_key(current=current)

    def withdraw_signing_key(self, kid: str | None = None) -> str:
        """Removes a signing key from the tenant's JWKS (default: the current one, replaced by a
        fresh key), as Entra does after an emergency rollover; returns its kid. Tokens it signed
        stop validating here, and `mint_caller_token(signing_key="withdrawn")` keeps signing with it."""
        with self.lock:
            return self.ctx.tokens.withdraw_signing_key(kid)

    # ------------------------------------------------------------------ caller tokens
    def mint_caller_token(
        self,
        *,
        audience: str,
        roles: Sequence[str] = (),
        app_id: str | None = None,
        issuer: str = "v2",
        expires_in: int = 3600,
        not_before: dt.datetime | float | None = None,
        signing_key: str = "tenant",
        alg: str = "RS256",
        kid: str | None = None,
        tenant_id: str | None = None,
        user: bool = False,
        scopes: Sequence[str] = ("user_impersonation",),
        idtyp: bool = True,
        user_object_id: str | None = None,
    ) -> str:
        """An access token a caller would present to the function's API.
        Default: app-only (client credentials): `oid` = `sub` = the caller's service principal,
        `idtyp: app`, `roles`. `user=True`: a delegated token for a user signed in to the caller
        app, with `scp` from `scopes` (empty: none), `roles` as the user's app role assignments,
        the user's `oid` and a pairwise `sub`, `idtyp: user`. `idtyp=False` leaves the optional
        claim out (an API app that did not request it).
        `issuer`: "v2" ({login}/{tenant}/v2.0) or "v1" (https://sts.windows.net/{tenant}/);
        `signing_key`: "tenant" (the current key in the JWKS), "rogue" (unknown to everyone),
        "withdrawn" (the key last removed by `withdraw_signing_key`) or a published kid."""
        if issuer not in ("v1", "v2"):
            raise ValueError("issuer must be 'v1' or 'v2'")
        seed = self.ctx.seed
        app_id = app_id or seed.caller_app_id
        if isinstance(not_before, dt.datetime):
            not_before = not_before.timestamp()
        now = int(time.time())
        common: dict[str, Any] = {
            "audience": audience,
            "app_id": app_id,
            "roles": list(roles),
            "lifetime": int(expires_in),
            "version": "2.0" if issuer == "v2" else "1.0",
            "tenant_id": tenant_id,
            "not_before": not_before if not_before is not None else now,
            "signing_key": signing_key,
            "alg": alg,
            "kid": kid,
            "idtyp": idtyp,
        }
        if user:
            token, _ = self.ctx.tokens.user_token(
                user_object_id=user_object_id or stable_id("user:0"), scopes=list(scopes), **common
            )
            return token
        registered = self.ctx.directory.find(app_id=app_id)  # an app of the directory: its own SP
        if app_id == seed.caller_app_id:
            object_id = seed.caller_sp_object_id
        else:
            object_id = registered.sp_object_id if registered is not None else stable_id(f"sp:{app_id}")
        token, _ = self.ctx.tokens.app_token(object_id=object_id, **common)
        return token

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: Request) -> Response:
        found = self.find_route(self._routes, request)
        if not found:
            return json_response(404, {"error": "not_found", "error_description": "Unknown endpoint."})  # [U]
        chosen, match = found
        return self.run(chosen.operation, request, lambda: chosen.handler(request, match))

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        if operation == "entra.token":
            # temporarily_unavailable is what clients retry (SPEC); AADSTS90055 [U] code choice.
            return self._error(
                request,
                "temporarily_unavailable",
                90055,
                "TenantThrottlingError - There are too many incoming requests. "
                "This exception is thrown for blocked tenants.",
                status=status,
            )
        return json_response(status, {"error": "temporarily_unavailable", "error_description": "Injected fault."})

    def _error(
        self,
        request: Request,
        error: str,
        code: int,
        message: str,
        *,
        status: int | None = None,
        codes: Sequence[int] | None = None,
    ) -> Response:
        """Entra's error JSON (AZURE-PROTOCOLS.md 4.3)."""
        timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = str(uuid.uuid4())
        correlation_id = (
            request.header("client-request-id") or request.header("x-ms-client-request-id") or str(uuid.uuid4())
        )
        body = {
            "error": error,
            "error_description": (
                f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": list(codes or [code]),
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.origin}/error?code={code}",
        }
        if status is None:
            status = 401 if error == "invalid_client" else 400
        return json_response(status, body, headers=self._no_store(trace_id))

    @staticmethod
    def _no_store(request_id: str) -> dict[str, str]:
        return {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "x-ms-request-id": request_id}

    def _tenant_id(self, tenant: str) -> str | None:
        """The directory a tenant segment (id or verified domain) names; None when there is none."""
        seed = self.ctx.seed
        if tenant.lower() in (seed.tenant_id, seed.tenant_domain):
            return seed.tenant_id
        customer = self.ctx.directory.tenant(tenant)
        return customer.tenant_id if customer is not None else None

    def _known_tenant(self, tenant: str) -> bool:
        return self._tenant_id(tenant) is not None

    def _tenant_display_name(self, tenant_id: str) -> str:
        customer = self.ctx.directory.tenant(tenant_id)
        return customer.display_name if customer is not None else self.ctx.seed.tenant_display_name

    def _tenant_not_found(self, request: Request, tenant: str, error: str = "invalid_request") -> Response:
        return self._error(
            request,
            error,
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud. Check with your subscription administrator, this may happen if there "
            "are no active subscriptions for the tenant.",  # [U] wording (code [D])
        )

    # ------------------------------------------------------------------ token endpoint
    def _token_get(self, request: Request, match: Any) -> Response:
        return self._error(
            request,
            "invalid_request",
            900561,
            "The endpoint only accepts POST, OPTIONS requests. Received a GET request.",
        )  # [U]

    def _token(self, request: Request, match: Any) -> Response:
        tenant = match.group(1)
        tenant_id = self._tenant_id(tenant)
        if tenant_id is None:
            return self._tenant_not_found(request, tenant)
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        form = request.form() if content_type == "application/x-www-form-urlencoded" else {}
        try:
            return self._client_credentials(request, form, tenant_id)
        except _Refused as refused:
            return refused.response

    def _require(self, request: Request, form: dict[str, str], name: str) -> str:
        value = form.get(name, "")
        if not value:
            raise _Refused(
                self._error(
                    request,
                    "invalid_request",
                    900144,
                    f"The request body must contain the following parameter: '{name}'.",
                )
            )
        return value

    def _client_credentials(self, request: Request, form: dict[str, str], tenant_id: str) -> Response:
        grant_type = self._require(request, form, "grant_type")
        if grant_type != "client_credentials":
            return self._error(
                request, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
            )  # [U] wording
        client_id = self._require(request, form, "client_id")
        scope = self._require(request, form, "scope")
        app = self.ctx.directory.find(app_id=client_id)
        home = tenant_id == self.ctx.seed.tenant_id
        if app is None or (not home and app.sign_in_audience == SINGLE_TENANT):
            # A single-tenant app exists in its home directory only [O] Azure/azure-powershell#9156.
            return self._error(  # [O] 12Knocksinna/Office365itpros#23
                request,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self._tenant_display_name(tenant_id)}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        principal = self.ctx.directory.service_principal(tenant_id, app.client_id)
        if principal is None:
            return self._error(  # [O] Azure/azure-sdk-for-net#46762 (invalid_client)
                request,
                "invalid_client",
                7000229,
                f"The client application {app.client_id} is missing service principal in the tenant {tenant_id}. "
                "See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
            )
        resource = self._resource(request, scope, tenant_id)
        if form.get("client_secret"):
            # The app has certificate and federated credentials only.
            return self._error(
                request,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
            )  # [U] wording
        assertion = form.get("client_assertion", "")
        if not assertion:
            return self._error(
                request,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        if form.get("client_assertion_type") != JWT_BEARER:
            return self._error(
                request,
                "invalid_request",
                90014,  # [U] code choice
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        # `claims` (CAE capabilities) is accepted and ignored (AZURE-PROTOCOLS.md 4.1).
        self._authenticate(request, app, assertion)
        return self._issue(app, resource, tenant_id, principal)

    def _resource(self, request: Request, scope: str, tenant_id: str) -> str:
        """The one resource the scopes name; AADSTS1002012 / 700022 / 500011 otherwise."""
        scopes = scope.split()
        for item in scopes:
            if not item.endswith("/.default"):
                raise _Refused(
                    self._error(  # [O] microsoftgraph/msgraph-sdk-python#181
                        request,
                        "invalid_scope",
                        1002012,
                        f"The provided value for scope {item} is not valid. Client credential flows must have a scope "
                        "value with /.default suffixed to the resource identifier (application ID URI).",
                    )
                )
        names = {item[: -len("/.default")] for item in scopes}
        if len(names) != 1:
            raise _Refused(
                self._error(
                    request,
                    "invalid_scope",
                    700022,
                    f"The provided value for the input parameter scope is not valid because "
                    f"it contains more than one resource. Scope {scope} is not valid.",
                )
            )  # [D]
        (resource,) = names
        if resources.resource_kind(self.ctx, resource) is None:
            raise _Refused(
                self._error(  # [O] AzureAD/microsoft-identity-web#2796
                    request,
                    "invalid_resource",
                    500011,
                    f"The resource principal named {resource} was not found in the tenant named "
                    f"{self._tenant_display_name(tenant_id)}. This can happen if the application has not been "
                    "installed by the administrator of the tenant or consented to by any user in the tenant. You "
                    "might have sent your authentication request to the wrong tenant.",
                )
            )
        customer = self.ctx.directory.tenant(tenant_id)
        resource_app_id = resources.resource_app_id(self.ctx, resource)
        if customer is not None and resource_app_id in customer.missing_resources:
            raise _Refused(
                self._error(  # [O] microsoft/GraphNotificationBroker#5 (invalid_client)
                    request,
                    "invalid_client",
                    650052,
                    f"The app is trying to access a service '{resource_app_id}'({resource}) that your organization "
                    f"'{tenant_id}' lacks a service principal for. Contact your IT Admin to review the configuration "
                    "of your service subscriptions or consent to the application in order to create the required "
                    "service principal.",
                )
            )
        return resource

    def _issue(self, app: Application, resource: str, tenant_id: str, principal: str) -> Response:
        # The tenant's own token: its tid/iss, the app's service principal there, the roles consented there.
        token, _ = self.ctx.tokens.app_token(
            audience=resource,
            app_id=app.client_id,
            object_id=principal,
            roles=resources.app_roles(self.ctx, principal, resource),
            lifetime=self.token_lifetime,
            tenant_id=tenant_id,
        )
        body = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }
        return json_response(200, body, headers=self._no_store(str(uuid.uuid4())))

    # ------------------------------------------------------------------ assertion validation
    def _authenticate(self, request: Request, app: Application, assertion: str) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refused(
                self._error(request, "invalid_request", 50027, "JWT token is invalid or malformed.")
            ) from None  # [U] code for assertions
        # A self-issued assertion (iss = client_id), or one whose thumbprint names a registered
        # certificate, is a certificate credential; anything else is matched against the app's
        # federated identity credentials (Entra-issued tokens carry x5t/kid of Entra's own keys).
        if claims.get("iss") == app.client_id or self._find_key(header, app)[0] is not None:
            self._check_certificate_assertion(request, app, assertion, header, claims)
        else:
            self._check_federated_assertion(request, app, assertion, header, claims)

    def _check_certificate_assertion(
        self, request: Request, app: Application, assertion: str, header: dict[str, Any], claims: dict[str, Any]
    ) -> None:
        alg = header.get("alg")
        if alg not in _ASSERTION_ALGS:
            raise _Refused(
                self._error(
                    request,
                    "invalid_client",
                    5002738,  # [U] code and wording
                    f"Invalid JWT token. '{alg}' is not a supported signature algorithm. "
                    f"Supported signing algorithms are: '{', '.join(_ASSERTION_ALGS)}'",
                )
            )
        credential, presented = self._find_key(header, app)
        key_help = (
            "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for "
            f"app Id '{app.client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/"
            "deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/"
            "graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as "
            f"'https://graph.microsoft.com/beta/applications/{app.client_id}']"
        )
        if credential is None:
            raise _Refused(
                self._error(  # [O] keycloak/keycloak#19425
                    request,
                    "invalid_client",
                    700027,
                    "The certificate with identifier used to sign the client assertion is not registered on "
                    f"application. [Reason - The key was not found., Thumbprint of key used by client: '{presented}', "
                    + key_help,
                )
            )
        now = time.time()
        if not credential.start <= now <= credential.end:
            raise _Refused(
                self._error(  # [U] reason text from memory
                    request,
                    "invalid_client",
                    700027,
                    "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of "
                    f"key used by client: '{presented}', {_entra_window(credential)}, " + key_help,
                )
            )
        try:
            jwt.decode(
                assertion,
                credential.public_key,
                algorithms=[alg],
                options={
                    "verify_signature": True,
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError:
            raise _Refused(
                self._error(  # [D] table text; reason [O] azure-sdk-for-java#25109
                    request,
                    "invalid_client",
                    700027,
                    "Client assertion failed signature validation. [Reason - The provided signature value did not "
                    f"match the expected signature value., Thumbprint of key used by client: '{presented}', "
                    f"{_entra_window(credential)}, " + key_help,
                )
            ) from None
        if claims.get("iss") != claims.get("sub"):
            raise _Refused(
                self._error(
                    request,
                    "invalid_client",
                    50048,
                    "SubjectMismatchesIssuer - Subject mismatches Issuer claim in the client assertion.",
                )
            )  # [D]
        if claims.get("iss") != app.client_id:
            raise _Refused(
                self._error(
                    request,
                    "invalid_client",
                    700021,
                    "Client assertion application identifier doesn't match 'client_id' parameter. " + _DOC_CERT,
                )
            )  # [U] wording
        if claims.get("aud") != request.url:
            # Legacy pair [O] AzureAD/azure-activedirectory-library-for-python#79; current code [U].
            raise _Refused(
                self._error(
                    request,
                    "invalid_client",
                    50012,
                    f"Client assertion audience claim does not match Realm issuer. Expected '{request.url}'.",
                    codes=[50012],
                )
            )
        self._check_times(request, claims)

    def _find_key(self, header: dict[str, Any], app: Application) -> tuple[KeyCredential | None, str]:
        """The registered certificate named by `x5t#S256` (preferred) or `x5t`, padded or not."""
        for name, digest in (("x5t#S256", certs.x5t_s256), ("x5t", certs.x5t)):
            value = header.get(name)
            if not isinstance(value, str):
                continue
            try:
                presented = certs.b64url_decode(value)
            except ValueError:
                return None, value
            for credential in app.key_credentials:  # a snapshot: Graph may change the live list
                if credential.type == ASYMMETRIC_X509_CERT and certs.b64url_decode(digest(credential.der)) == presented:
                    return credential, credential.thumbprint
            return None, presented.hex().upper()
        return None, ""

    def _check_times(self, request: Request, claims: dict[str, Any]) -> None:
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        nbf_ok = not isinstance(nbf, int | float) or nbf - CLOCK_SKEW_SECONDS <= now
        exp_ok = isinstance(exp, int | float) and now <= exp + CLOCK_SKEW_SECONDS
        if nbf_ok and exp_ok:
            return
        raise _Refused(
            self._error(  # [O] AzureAD/microsoft-authentication-library-for-dotnet#4951
                request,
                "invalid_client",
                700024,
                f"Client assertion is not within its valid time range. Current time: {_aad_time(now)}, assertion "
                f"valid from {_aad_time(nbf if isinstance(nbf, int | float) else None)}, expiry time of assertion "
                f"{_aad_time(exp if isinstance(exp, int | float) else None)}. " + _DOC_CERT,
            )
        )

    def _check_federated_assertion(
        self, request: Request, app: Application, assertion: str, header: dict[str, Any], claims: dict[str, Any]
    ) -> None:
        """A managed-identity token presented as the app's credential (AZURE-PROTOCOLS.md 8)."""
        iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
        own_issuer = self.ctx.tokens.v2_issuer()
        matched = any(
            (fic.issuer or own_issuer) == iss
            and fic.subject == sub
            and aud in fic.audiences  # case-sensitive [O] Azure/login#517
            for fic in app.federated_credentials
        )
        if not matched:
            raise _Refused(
                self._error(  # [O] Azure/azure-workload-identity#616
                    request,
                    "invalid_request",
                    70021,
                    f"No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. "
                    f"Assertion Subject: '{sub}'. Assertion Audience: '{aud}'. https://docs.microsoft.com/en-us/azure/"
                    "active-directory/develop/workload-identity-federation",
                )
            )
        tokens = self.ctx.tokens
        try:
            key = tokens.published_key(header.get("kid"))
            if key is None or header.get("alg") != "RS256":
                raise jwt.InvalidSignatureError("unknown key")
            jwt.decode(
                assertion,
                key.public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise _Refused(
                self._error(request, "invalid_client", 700027, "Client assertion failed signature validation.")
            ) from None  # [U]
        self._check_times(request, claims)

    # ------------------------------------------------------------------ OIDC
    def _openid_v2(self, request: Request, match: Any) -> Response:
        return self._openid(request, match.group(1), v2=True)

    def _openid_v1(self, request: Request, match: Any) -> Response:
        return self._openid(request, match.group(1), v2=False)

    def _openid(self, request: Request, tenant: str, *, v2: bool) -> Response:
        """OpenID Provider Metadata as Entra publishes it (shape [D] OIDC discovery document)."""
        tid = self._tenant_id(tenant)
        if tid is None:
            return self._tenant_not_found(request, tenant, "invalid_tenant")
        base = f"{self.origin}/{tid}"
        suffix = "/v2.0" if v2 else ""
        body = {
            "token_endpoint": f"{base}/oauth2{suffix}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery{suffix}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.ctx.tokens.v2_issuer(tid) if v2 else self.ctx.tokens.v1_issuer(tid),
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2{suffix}/authorize",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2{suffix}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles", "azp", "appid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
        return json_response(200, body, headers={"Cache-Control": "max-age=86400, private"})

    def _jwks(self, request: Request, match: Any) -> Response:
        if not self._known_tenant(match.group(1)):
            return self._tenant_not_found(request, match.group(1), "invalid_tenant")
        return json_response(200, self.ctx.tokens.jwks(), headers={"Cache-Control": "max-age=86400, private"})
