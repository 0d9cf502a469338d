# Microsoft Graph: GET /v1.0/users with $select, $top and server-driven paging; the application
# object (GET /v1.0/applications/{id} and /applications(appId='{appId}') with $select), its key
# rollover actions addKey/removeKey, and the two ways to give an application a credential that is
# not a certificate: addPassword and POST .../federatedIdentityCredentials.
# REST reference: learn.microsoft.com/graph/api/user-list (v1.0), /graph/paging,
# /graph/errors, /graph/throttling; microsoft-graph-docs-contrib api-reference/v1.0/api/user-list.md,
# application-get.md, application-addkey.md, application-removekey.md, resources/keycredential.md,
# application-addpassword.md, application-post-federatedidentitycredentials.md
# (proof validation: emulator/graph_proof.py; the application's keys: emulator/directory.py).
# Who may do what (AZURE-PROTOCOLS.md 7 and 14), application permissions:
# - GET an application: Application.Read.All (least privileged), Application.ReadWrite.All,
#   Directory.Read.All, Directory.ReadWrite.All; Application.ReadWrite.OwnedBy for one it owns.
# - addKey/removeKey on the calling app itself: none — "An application does not need any specific
#   permission to roll its own keys" (application-addkey, Permissions note); the proof of
#   possession is the requirement. On another app: Application.ReadWrite.OwnedBy (as an owner),
#   Application.ReadWrite.All, Directory.ReadWrite.All.
# - addPassword: "Application | Application.ReadWrite.OwnedBy | Application.ReadWrite.All,
#   Directory.ReadWrite.All" (learn.microsoft.com/graph/api/application-addpassword, Permissions);
#   POST federatedIdentityCredentials: "Application | Application.ReadWrite.OwnedBy |
#   Application.ReadWrite.All" (application-post-federatedidentitycredentials). No exception for the
#   app itself: without one of those (OwnedBy only as an owner) Graph answers 403
#   Authorization_RequestDenied ("Insufficient privileges to complete the operation.").
# Wire facts: AZURE-PROTOCOLS.md 6 and section 9 item 10 — camel-case `innerError`; $top 1-999
# else Request_UnsupportedQuery; absolute @odata.nextLink on our own origin keeping
# $select/$top plus an opaque $skiptoken; @odata.context reflecting $select; 403
# Authorization_RequestDenied without an application permission that reads users.
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import resources
from emulator.directory import (
    ASYMMETRIC_X509_CERT,
    X509_CERT_AND_PASSWORD,
    Application,
    FederatedCredential,
    KeyCredential,
    PasswordCredential,
)
from emulator.graph_proof import ProofRefused, validate_proof
from emulator.httpd import Request, Response, json_response
from emulator.surface import Context, Surface, new_id, route
from emulator.tokens import TokenError
from emulator.users import seed_users

# Application permissions that can list users (least to most privileged) [D] user-list.md.
READ_USERS_ROLES = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
DEFAULT_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
)  # fmt: skip
# Properties of microsoft.graph.user that a list may $select (a subset of the v1.0 user type).
LISTABLE_PROPERTIES = frozenset(
    (
        *DEFAULT_PROPERTIES,
        "accountEnabled", "ageGroup", "city", "companyName", "country", "createdDateTime", "department",
        "employeeId", "employeeType", "faxNumber", "identities", "imAddresses", "lastPasswordChangeDateTime",
        "mailNickname", "onPremisesSyncEnabled", "otherMails", "postalCode", "proxyAddresses", "state",
        "streetAddress", "usageLocation", "userType", "creationType", "externalUserState", "employeeHireDate",
    )
)  # fmt: skip
# On the user type but only returned for a single user: 501 in a list [O]
# microsoftgraph/microsoft-graph-docs-contrib#5637, AZURE-PROTOCOLS.md 6.
SINGLE_USER_PROPERTIES = frozenset(
    {"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName",
     "responsibilities", "schools", "skills", "mailboxSettings"}
)  # fmt: skip
# Reading an application: application permissions that read every application [D]
# application-get permissions; Application.ReadWrite.OwnedBy reads the applications the caller
# owns. Writing keys (addKey/removeKey): the app itself needs no permission ("An application does
# not need any specific permission to roll its own keys" [D]); another caller needs
# Application.ReadWrite.All / Directory.ReadWrite.All, or OwnedBy as an owner [D] application-addkey.
READ_APPLICATIONS_ROLES = frozenset(
    {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)
WRITE_APPLICATIONS_ROLES = frozenset({"Application.ReadWrite.All", "Directory.ReadWrite.All"})
OWNED_BY_ROLE = "Application.ReadWrite.OwnedBy"
# Properties of microsoft.graph.application served here (a subset of the v1.0 type); $select of
# another name is a 400 as in Graph.
APPLICATION_PROPERTIES = (
    "id", "deletedDateTime", "appId", "applicationTemplateId", "disabledByMicrosoftStatus", "createdDateTime",
    "displayName", "description", "groupMembershipClaims", "identifierUris", "isDeviceOnlyAuthSupported",
    "isFallbackPublicClient", "notes", "publisherDomain", "serviceManagementReference", "signInAudience", "tags",
    "tokenEncryptionKeyId", "api", "appRoles", "info", "keyCredentials", "optionalClaims",
    "parentalControlSettings", "passwordCredentials", "publicClient", "requiredResourceAccess", "web",
)  # fmt: skip
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_APP = r"/v1\.0/applications(?:/([^/()]+)|\(appId='([^'/]*)'\))"
_ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


class GraphSurface(Surface):
    name = "graph"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.users = seed_users(ctx.seed.user_count, ctx.seed.tenant_domain)
        # Why each refused proof was refused (Graph answers the same 401 for all): for tests.
        self.proof_refusals: list[str] = []
        # Whether addKey of a certificate the app already has is refused. Graph's behaviour is
        # not documented [U]: by default a second keyCredential (new keyId) is added, so that a
        # product which duplicates keys is caught by the tests reading keyCredentials.
        self.reject_duplicate_keys = False
        self._routes = [
            route("GET", _APP, "graph.get_application", self._get_application, ignore_case=True),
            route("POST", _APP + "/addKey", "graph.addKey", self._add_key, ignore_case=True),
            route("POST", _APP + "/removeKey", "graph.removeKey", self._remove_key, ignore_case=True),
            route("POST", _APP + "/addPassword", "graph.addPassword", self._add_password, ignore_case=True),
            route(
                "POST",
                _APP + "/federatedIdentityCredentials",
                "graph.addFederatedIdentityCredential",
                self._add_federated_credential,
                ignore_case=True,
            ),
        ]
        # Test hooks (not Graph behaviour): a hostile or broken Graph for the client's link checks.
        self._next_link_rewrite: Callable[[str], str] | None = None
        self._redirect_location: str | None = None

    # ------------------------------------------------------------------ state
    # Graph app roles and application owners live in the directory (emulator/directory.py).
    def reset(self) -> None:
        with self.lock:
            self.proof_refusals = []
            self.reject_duplicate_keys = False
            self._next_link_rewrite = None
            self._redirect_location = None

    def grant_app_role(self, principal_id: str, role: str) -> None:
        self.ctx.directory.grant_app_roles(principal_id, [role])

    def revoke_app_role(self, principal_id: str, role: str) -> None:
        self.ctx.directory.revoke_app_roles(principal_id, [role])

    def forge_next_link(self, rewrite: Callable[[str], str] | None) -> None:
        """Test hook: every `@odata.nextLink` Graph returns is `rewrite(genuine link)` (None: genuine).
        Real Graph only links to its own origin; a client must refuse anything else."""
        with self.lock:
            self._next_link_rewrite = rewrite

    def redirect_users(self, location: str | None) -> None:
        """Test hook: `GET /v1.0/users` answers 302 to `location` (None: normal answers)."""
        with self.lock:
            self._redirect_location = location

    def app_roles(self, principal_id: str) -> list[str]:
        return self.ctx.directory.app_roles(principal_id)

    def add_owner(self, principal_id: str, *, app_id: str | None = None) -> None:
        """Makes `principal_id` (a service principal's object id) an owner of the application."""
        self.ctx.directory.add_owner(principal_id, app_id=app_id)

    def remove_owner(self, principal_id: str, *, app_id: str | None = None) -> None:
        self.ctx.directory.remove_owner(principal_id, app_id=app_id)

    def key_credentials(self, *, app_id: str | None = None) -> list[dict[str, object]]:
        """The application's keyCredentials as Graph returns them with $select (key included)."""
        return [k.to_graph(include_key=True) for k in self.ctx.directory.key_credentials(app_id=app_id)]

    # ------------------------------------------------------------------ HTTP
    def _error(self, request: Request, status: int, code: str, message: str, **headers: str) -> Response:
        request_id = new_id()
        client_request_id = request.header("client-request-id") or request.header("x-ms-client-request-id") or ""
        inner = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
        }
        all_headers = {"request-id": request_id, "client-request-id": client_request_id or request_id}
        all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
        return json_response(
            status, {"error": {"code": code, "message": message, "innerError": inner}}, headers=all_headers
        )

    @staticmethod
    def _request_ids(request: Request) -> dict[str, str]:
        request_id = new_id()
        return {"request-id": request_id, "client-request-id": request.header("client-request-id") or request_id}

    def _ok(self, request: Request, body: dict[str, Any]) -> Response:
        return json_response(200, body, content_type=_ODATA_JSON, headers=self._request_ids(request))

    def handle(self, request: Request) -> Response:
        # Graph accepts percent-encoded OData keys: /applications(appId=%27...%27).
        decoded = dataclasses.replace(request, path=unquote(request.path))
        found = self.find_route(self._routes, decoded)
        if found is False:
            return self._error(
                request, 405, "Request_BadRequest", f"The HTTP method '{request.method}' is not supported here."
            )  # [U]
        if found:
            chosen, match = found
            return self.run(chosen.operation, request, lambda: _answered(chosen.handler, decoded, match))
        if request.path.rstrip("/").lower() != "/v1.0/users":
            return self._error(
                request,
                400,
                "BadRequest",
                f"Resource not found for the segment '{request.path.rstrip('/').rsplit('/', 1)[-1]}'.",
            )  # [U] wording
        if request.method != "GET":
            return self._error(
                request, 405, "Request_BadRequest", f"The HTTP method '{request.method}' is not supported here."
            )  # [U]
        return self.run("graph.users", request, lambda: self._users(request))

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        if status == 429:
            # [D] concepts/throttling.md sample body (innerError also carries code/status there).
            response = self._error(request, 429, "TooManyRequests", "Please retry again later.")
            body = json.loads(response.body)
            body["error"]["innerError"].update({"code": "429", "message": "Please retry after", "status": "429"})
            response.body = json.dumps(body, separators=(",", ":")).encode()
            return response
        if status == 401:  # a token Graph no longer accepts (revoked, CAE)
            return self._unauthorized(request, TokenError("invalid"))
        if status == 403:  # a permission revoked, as Graph answers it
            return self._forbidden(request)
        codes = {500: "generalException", 502: "BadGateway", 503: "serviceNotAvailable", 504: "GatewayTimeout"}
        return self._error(request, status, codes.get(status, "generalException"), "Injected fault.")  # [U]

    def _unauthorized(self, request: Request, exc: TokenError) -> Response:
        messages = {  # [U] AZURE-PROTOCOLS.md 6 lists these texts as unconfirmed
            "missing": "Access token is empty.",
            "expired": "Lifetime validation failed, the token is expired.",
            "audience": "Access token validation failure. Invalid audience.",
            "issuer": "Access token validation failure. Invalid issuer.",
        }
        response = self._error(
            request, 401, "InvalidAuthenticationToken", messages.get(exc.reason, "Access token validation failure.")
        )
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="", authorization_uri="{self.ctx.url("login")}/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        )
        return response

    def _users(self, request: Request) -> Response:
        try:
            # Graph takes every directory's tokens and serves the directory of the token's `tid`.
            claims = self.ctx.tokens.validate(
                request.bearer(),
                audiences=resources.audiences(self.ctx, resources.GRAPH),
                tenants=self.ctx.directory.tenant_ids(),
            )
        except TokenError as exc:
            return self._unauthorized(request, exc)
        customer = self.ctx.directory.tenant(str(claims.get("tid")))
        directory_users = customer.users if customer is not None else None
        with self.lock:
            redirect, rewrite = self._redirect_location, self._next_link_rewrite
        if redirect is not None:
            return Response(302, b"", {"Location": redirect})
        if not READ_USERS_ROLES & set(claims.get("roles") or ()):
            return self._forbidden(request)
        for name in request.query:
            if not name.startswith("$") and name != "api-version":
                # [O] microsoftgraph/microsoft-graph-docs#3879
                return self._error(
                    request, 400, "Request_BadRequest", f"Unrecognized query argument specified: '{name}'."
                )
            if name not in ("$select", "$top", "$skiptoken"):
                # Real Graph supports more ($filter, $count, ...); this emulator does not.
                return self._error(
                    request,
                    400,
                    "Request_UnsupportedQuery",
                    f"The emulator does not support the query option '{name}'.",
                )
        select_raw = request.query.get("$select")
        selected: list[str] | None = None
        if select_raw is not None:
            selected = [item.strip() for item in select_raw.split(",")]
            for item in selected:
                if item in SINGLE_USER_PROPERTIES:
                    return self._error(request, 501, "NotImplemented", "This operation target is not yet supported.")
                if item not in LISTABLE_PROPERTIES:
                    # [U] code; message pattern is OData's (Graph answers Request_BadRequest for
                    # directory objects).
                    return self._error(
                        request,
                        400,
                        "Request_BadRequest",
                        f"Could not find a property named '{item}' on type 'microsoft.graph.user'.",
                    )
        top_raw = request.query.get("$top")
        top = 100  # default page size [D]
        if top_raw is not None:
            if not top_raw.isdigit() or not 1 <= int(top_raw) <= 999:
                return self._error(
                    request,
                    400,
                    "Request_UnsupportedQuery",  # [O] AZURE-PROTOCOLS.md 6
                    f"Invalid page size specified: '{top_raw}'. Must be between 1 and 999 inclusive.",
                )
            top = int(top_raw)
        start = 0
        skiptoken = request.query.get("$skiptoken")
        if skiptoken is not None:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(skiptoken + "=" * (-len(skiptoken) % 4)))["o"])
            except (ValueError, KeyError, TypeError):
                return self._error(request, 400, "Request_BadRequest", "Invalid skip token.")  # [U] wording
        with self.lock:
            users = directory_users if directory_users is not None else self.users
            page = users[start : start + top]
            more = start + top < len(users)
        fields = selected if selected is not None else list(DEFAULT_PROPERTIES)
        value = [{name: user.get(name) for name in fields} for user in page]
        context = f"{self.origin}/v1.0/$metadata#users"
        if selected is not None:
            context += f"({','.join(selected)})"
        body: dict[str, Any] = {"@odata.context": context}
        if more:
            token = base64.urlsafe_b64encode(json.dumps({"o": start + top}).encode()).rstrip(b"=").decode()
            params = []
            if select_raw is not None:
                params.append(f"$select={','.join(selected or [])}")
            if top_raw is not None:
                params.append(f"$top={top}")
            params.append(f"$skiptoken={token}")
            link = f"{self.origin}/v1.0/users?{'&'.join(params)}"
            body["@odata.nextLink"] = rewrite(link) if rewrite else link
        body["value"] = value
        return self._ok(request, body)

    # ------------------------------------------------------------------ applications
    def _forbidden(self, request: Request) -> Response:
        return self._error(
            request,
            403,
            "Authorization_RequestDenied",  # [O] AZURE-PROTOCOLS.md 6
            "Insufficient privileges to complete the operation.",
        )

    def _caller(self, request: Request) -> dict[str, Any]:
        """The claims of the caller's Graph token; raises _Answer(401) otherwise."""
        try:
            return self.ctx.tokens.validate(request.bearer(), audiences=resources.audiences(self.ctx, resources.GRAPH))
        except TokenError as exc:
            raise _Answer(self._unauthorized(request, exc)) from None

    def _application(self, request: Request, match: re.Match[str]) -> Application:
        """The application the path names (object id or appId key); 400/404 as Graph answers."""
        object_id, app_id = match.group(1), match.group(2)
        key = object_id if object_id is not None else app_id
        if not _GUID.fullmatch(key or ""):
            # [O] "Invalid object identifier" is Graph's answer for a malformed directory object id.
            raise _Answer(self._error(request, 400, "Request_BadRequest", f"Invalid object identifier '{key}'."))
        app = (
            self.ctx.directory.find(object_id=object_id)
            if object_id is not None
            else self.ctx.directory.find(app_id=app_id)
        )
        if app is None:
            raise _Answer(
                self._error(  # [O] Graph's 404 for a missing directory object
                    request,
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{key}' does not exist or one of its queried reference-property objects "
                    "are not present.",
                )
            )
        return app

    @staticmethod
    def _owner(claims: dict[str, Any], app: Application, roles: set[str]) -> bool:
        return OWNED_BY_ROLE in roles and str(claims.get("oid", "")).lower() in app.owners

    def _get_application(self, request: Request, match: re.Match[str]) -> Response:
        claims = self._caller(request)
        roles = set(claims.get("roles") or ())
        if not roles & (READ_APPLICATIONS_ROLES | {OWNED_BY_ROLE}):
            return self._forbidden(request)
        app = self._application(request, match)
        if not roles & READ_APPLICATIONS_ROLES and not self._owner(claims, app, roles):
            return self._forbidden(request)
        for name in request.query:
            if name != "$select":
                # Real Graph supports $expand on an application; this emulator does not.
                return self._error(
                    request, 400, "Request_BadRequest", f"The emulator does not support the query option '{name}'."
                )
        selected: list[str] | None = None
        if "$select" in request.query:
            selected = [item.strip() for item in request.query["$select"].split(",") if item.strip()]
            for item in selected:
                if item not in APPLICATION_PROPERTIES:
                    return self._error(  # [U] code; message pattern as for users
                        request,
                        400,
                        "Request_BadRequest",
                        f"Could not find a property named '{item}' on type 'microsoft.graph.application'.",
                    )
        # `key` is returned only when keyCredentials is $selected on a single object [D] keycredential.md.
        include_key = selected is not None and "keyCredentials" in selected
        document = self._application_document(app, include_key=include_key)
        context = f"{self.origin}/v1.0/$metadata#applications"
        if selected is not None:
            context += f"({','.join(selected)})"
            document = {name: document[name] for name in selected}
        body = {"@odata.context": context + "/$entity", **document}
        return self._ok(request, body)

    def _application_document(self, app: Application, *, include_key: bool) -> dict[str, Any]:
        """microsoft.graph.application, default properties (shape [D] application-get.md example)."""
        seed = self.ctx.seed
        return {
            "id": app.object_id,
            "deletedDateTime": None,
            "appId": app.app_id,
            "applicationTemplateId": None,
            "disabledByMicrosoftStatus": None,
            "createdDateTime": app.created,
            "displayName": app.display_name,
            "description": None,
            "groupMembershipClaims": None,
            "identifierUris": [seed.api_app_id_uri] if app.app_id == seed.client_id else [],
            "isDeviceOnlyAuthSupported": None,
            "isFallbackPublicClient": None,
            "notes": None,
            "publisherDomain": seed.tenant_domain,
            "serviceManagementReference": None,
            "signInAudience": app.sign_in_audience,
            "tags": [],
            "tokenEncryptionKeyId": None,
            "api": {
                "acceptMappedClaims": None,
                "knownClientApplications": [],
                "requestedAccessTokenVersion": 2,
                "oauth2PermissionScopes": [],
                "preAuthorizedApplications": [],
            },
            "appRoles": [],
            "info": {
                "logoUrl": None,
                "marketingUrl": None,
                "privacyStatementUrl": None,
                "supportUrl": None,
                "termsOfServiceUrl": None,
            },
            "keyCredentials": [k.to_graph(include_key=include_key) for k in app.key_credentials],
            "optionalClaims": None,
            "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
            "passwordCredentials": [c.to_graph() for c in app.password_credentials],
            "publicClient": {"redirectUris": []},
            "requiredResourceAccess": [],
            "web": {
                "homePageUrl": None,
                "logoutUrl": None,
                "redirectUris": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
            },
        }

    def _authorize_key_change(self, request: Request, match: re.Match[str]) -> tuple[Application, dict[str, Any]]:
        """Caller token, application, permission and JSON body of addKey/removeKey."""
        claims = self._caller(request)
        app = self._application(request, match)
        roles = set(claims.get("roles") or ())
        own = str(claims.get("appid") or claims.get("azp") or "").lower() == app.app_id.lower()
        if not (own or roles & WRITE_APPLICATIONS_ROLES or self._owner(claims, app, roles)):
            raise _Answer(self._forbidden(request))
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise _Answer(
                self._error(request, 400, "Request_BadRequest", "The request body must be a JSON object.")
            )  # [U] wording
        return app, body

    def _check_proof(self, request: Request, app: Application, proof: Any) -> None:
        """The proof's refusals (emulator/graph_proof.py). A missing proof is Graph's 403
        "Insufficient privileges" [O] microsoftgraph/msgraph-sdk-powershell#779."""
        if proof is None or proof == "":
            raise _Answer(self._forbidden(request))
        try:
            validate_proof(proof, object_id=app.object_id, key_credentials=app.key_credentials)
        except ProofRefused as refused:
            with self.lock:
                self.proof_refusals.append(refused.reason)
            raise _Answer(
                self._error(request, 401, "Authentication_MissingOrMalformed", "Access Token missing or malformed.")
            ) from None

    def _add_key(self, request: Request, match: re.Match[str]) -> Response:
        app, body = self._authorize_key_change(request, match)
        credential = self._new_key_credential(request, body)
        self._check_proof(request, app, body.get("proof"))
        with self.ctx.directory.lock:  # the duplicate check and the append are one step
            if self.reject_duplicate_keys and any(
                k.der == credential.der for k in self.ctx.directory.key_credentials(app_id=app.app_id)
            ):
                return self._error(  # [U] Graph's answer is not documented
                    request, 400, "Request_BadRequest", "The key credential is already present on the application."
                )
            added = self.ctx.directory.add_key_credential(credential, app_id=app.app_id)
        body_out = {"@odata.context": f"{self.origin}/v1.0/$metadata#microsoft.graph.keyCredential", **added.to_graph()}
        return self._ok(request, body_out)

    def _new_key_credential(self, request: Request, body: dict[str, Any]) -> KeyCredential:
        """The keyCredential of an addKey body ([D] application-addkey.md, "Request body"):
        type/usage/key required; AsymmetricX509Cert with Verify, X509CertAndPassword with Sign and
        passwordCredential.secretText; passwordCredential null otherwise. Wording [U]."""

        def bad(message: str) -> _Answer:
            return _Answer(self._error(request, 400, "Request_BadRequest", message))

        key_credential = body.get("keyCredential")
        if not isinstance(key_credential, dict):
            raise bad("The property 'keyCredential' is required.")
        kind, usage, key = key_credential.get("type"), key_credential.get("usage"), key_credential.get("key")
        expected_usage = {ASYMMETRIC_X509_CERT: "Verify", X509_CERT_AND_PASSWORD: "Sign"}
        if kind not in expected_usage:
            raise bad(f"Key credential type '{kind}' is not supported. Supported types: {', '.join(expected_usage)}.")
        if usage != expected_usage[kind]:
            raise bad(f"Key credential usage must be '{expected_usage[kind]}' for type '{kind}'.")
        password = body.get("passwordCredential")
        if kind == X509_CERT_AND_PASSWORD:
            if not isinstance(password, dict) or not password.get("secretText"):
                raise bad("passwordCredential.secretText is required for type 'X509CertAndPassword'.")
        elif password is not None:
            raise bad("passwordCredential must be null for type 'AsymmetricX509Cert'.")
        if not isinstance(key, str) or not key:
            raise bad("The property 'key' of keyCredential is required.")
        try:
            der = base64.b64decode(key, validate=True)
            credential = KeyCredential.from_certificate(der, type=kind, usage=usage)
        except (ValueError, binascii.Error):
            raise bad("Key credential 'key' is not a valid base64-encoded X.509 certificate.") from None
        if not isinstance(credential.certificate.public_key(), rsa.RSAPublicKey):
            raise bad("The emulator supports RSA certificates only.")  # an emulator limit, not Graph's
        display_name = key_credential.get("displayName")
        if display_name is not None and not isinstance(display_name, str):
            raise bad("The property 'displayName' of keyCredential must be a string.")  # [U] wording
        if display_name:
            # [D] resources/keycredential.md: "The friendly name for the key, with a maximum length of
            # 90 characters. Longer values are accepted but shortened. Optional." (default: the subject)
            credential.display_name = display_name[:90]
        return credential

    def _remove_key(self, request: Request, match: re.Match[str]) -> Response:
        app, body = self._authorize_key_change(request, match)
        key_id = body.get("keyId")
        if not isinstance(key_id, str) or not _GUID.fullmatch(key_id):
            return self._error(request, 400, "Request_BadRequest", "The property 'keyId' must be a GUID.")  # [U]
        self._check_proof(request, app, body.get("proof"))
        # Removing any key, the last one or the proof's own included, is allowed: Graph documents
        # no such limit [U]; the product must keep a valid key itself.
        if not self.ctx.directory.remove_key_credential(key_id, app_id=app.app_id):
            return self._error(  # [U] code and wording: Graph does not document this case
                request,
                404,
                "Request_ResourceNotFound",
                f"No key credential with keyId '{key_id}' on this application.",
            )
        return Response(204, headers=self._request_ids(request))

    # ------------------------------------------------------------------ other credentials
    def _authorize_application_write(
        self, request: Request, match: re.Match[str]
    ) -> tuple[Application, dict[str, Any]]:
        """Caller token, application, an application-writing permission, and the JSON body. Unlike
        addKey there is no exception for the application itself: its own token needs
        Application.ReadWrite.All / Directory.ReadWrite.All, or Application.ReadWrite.OwnedBy as an
        owner (application-addpassword, application-post-federatedidentitycredentials)."""
        claims = self._caller(request)
        app = self._application(request, match)
        roles = set(claims.get("roles") or ())
        if not (roles & WRITE_APPLICATIONS_ROLES or self._owner(claims, app, roles)):
            raise _Answer(self._forbidden(request))
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise _Answer(self._error(request, 400, "Request_BadRequest", "The request body must be a JSON object."))
        return app, body

    def _add_password(self, request: Request, match: re.Match[str]) -> Response:
        """addPassword: a strong password generated by Graph, returned once in secretText [D]."""
        app, body = self._authorize_application_write(request, match)
        wanted = body.get("passwordCredential")
        if wanted is not None and not isinstance(wanted, dict):
            return self._error(request, 400, "Request_BadRequest", "passwordCredential must be an object.")  # [U]
        display_name = (wanted or {}).get("displayName")
        if display_name is not None and not isinstance(display_name, str):
            return self._error(request, 400, "Request_BadRequest", "displayName must be a string.")  # [U]
        secret = secrets.token_urlsafe(30)
        now = dt.datetime.now(dt.UTC).timestamp()
        credential = PasswordCredential(str(uuid.uuid4()), display_name, secret[:3], now, now + 2 * 365 * 86400)
        self.ctx.directory.add_password_credential(credential, app_id=app.app_id)
        body_out = {
            "@odata.context": f"{self.origin}/v1.0/$metadata#microsoft.graph.passwordCredential",
            **credential.to_graph(secret_text=secret),
        }
        return self._ok(request, body_out)

    def _add_federated_credential(self, request: Request, match: re.Match[str]) -> Response:
        """Create federatedIdentityCredential: name (3-120 URL-safe characters), issuer, subject and
        one audience required; at most 20 per application [D]; 201 with the object."""
        app, body = self._authorize_application_write(request, match)

        def bad(message: str) -> Response:
            return self._error(request, 400, "Request_BadRequest", message)  # [U] wording

        name, issuer, subject, audiences = (body.get(k) for k in ("name", "issuer", "subject", "audiences"))
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{3,120}", name):
            return bad("The property 'name' must be 3 to 120 characters: letters, digits, '-' and '_'.")
        if not isinstance(issuer, str) or not issuer or not isinstance(subject, str) or not subject:
            return bad("The properties 'issuer' and 'subject' are required.")
        if not isinstance(audiences, list) or len(audiences) != 1 or not isinstance(audiences[0], str):
            return bad("The property 'audiences' must hold exactly one audience.")
        description = body.get("description")
        existing = app.federated_credentials
        if len(existing) >= 20:
            return bad("An application can have at most 20 federated identity credentials.")
        if any(f.name == name or (f.issuer == issuer and f.subject == subject) for f in existing):
            return bad("A federated identity credential with this name, or this issuer and subject, already exists.")
        credential = FederatedCredential(
            name, issuer, subject, tuple(audiences), description=description if isinstance(description, str) else None
        )
        self.ctx.directory.add_federated_credential_object(credential, app_id=app.app_id)
        body_out = {
            "@odata.context": f"{self.origin}/v1.0/$metadata#applications('{app.object_id}')"
            "/federatedIdentityCredentials/$entity",
            "audiences": list(credential.audiences),
            "description": credential.description,
            "id": credential.id,
            "issuer": credential.issuer,
            "name": credential.name,
            "subject": credential.subject,
        }
        return json_response(201, body_out, content_type=_ODATA_JSON, headers=self._request_ids(request))


class _Answer(Exception):
    """Carries an early response (a refusal) out of a nested check."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered")
        self.response = response


_Handler = Callable[[Request, re.Match[str]], Response]


def _answered(handler: _Handler, request: Request, match: re.Match[str]) -> Response:
    try:
        return handler(request, match)
    except _Answer as answer:
        return answer.response
