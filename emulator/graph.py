# Microsoft Graph: GET /v1.0/users with $select, $top and server-driven paging.
# REST reference: learn.microsoft.com/graph/api/user-list (v1.0), /graph/paging,
# /graph/errors, /graph/throttling; microsoft-graph-docs-contrib api-reference/v1.0/api/user-list.md.
# Wire facts: AZURE-PROTOCOLS.md 6 and section 9 item 10 — camel-case `innerError`; $top 1-999
# else Request_UnsupportedQuery; absolute @odata.nextLink on our own origin keeping
# $select/$top plus an opaque $skiptoken; @odata.context reflecting $select; 403
# Authorization_RequestDenied without an application permission that reads users.
from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from emulator import resources
from emulator.httpd import Request, Response, json_response
from emulator.seed import stable_id
from emulator.surface import Context, Surface, new_id
from emulator.tokens import TokenError

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
_ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_FIRST = ("Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia",
          "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep")  # fmt: skip
_LAST = ("Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lauer", "Sherman", "Gu", "Holloway",
         "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta")  # fmt: skip
_JOBS = ("Retail Manager", "Marketing Assistant", "HR Manager", "Developer", "Product Manager", None)


def _seed_users(count: int, domain: str) -> list[dict[str, Any]]:
    users = []
    for index in range(count):
        first, last = _FIRST[index % len(_FIRST)], _LAST[(index // len(_FIRST)) % len(_LAST)]
        upn = f"{first.lower()}.{last.lower()}{index}@{domain}"
        users.append(
            {
                "id": stable_id(f"user:{index}"),
                "businessPhones": [f"+1 425 555 {index:04d}"] if index % 3 else [],
                "displayName": f"{first} {last}",
                "givenName": first,
                "jobTitle": _JOBS[index % len(_JOBS)],
                "mail": upn,
                "mobilePhone": None,
                "officeLocation": f"{10 + index % 30}/{1000 + index}",
                "preferredLanguage": "en-US",
                "surname": last,
                "userPrincipalName": upn,
                "accountEnabled": index % 17 != 0,
                "department": ("Sales", "Engineering", "Finance", "Operations")[index % 4],
                "companyName": "Contoso Emulated",
                "usageLocation": "US",
                "userType": "Member",
                "createdDateTime": f"2024-01-{1 + index % 28:02d}T08:00:00Z",
            }
        )
    return users


class GraphSurface(Surface):
    name = "graph"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.users = _seed_users(ctx.seed.user_count, ctx.seed.tenant_domain)
        self.app_role_assignments: dict[str, set[str]] = {}

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        seed = self.ctx.seed
        with self.lock:
            self.app_role_assignments = {
                seed.sp_object_id: {"User.Read.All"},
                seed.system_mi_principal_id: {"User.Read.All"},
            }

    def grant_app_role(self, principal_id: str, role: str) -> None:
        with self.lock:
            self.app_role_assignments.setdefault(principal_id.lower(), set()).add(role)

    def revoke_app_role(self, principal_id: str, role: str) -> None:
        with self.lock:
            self.app_role_assignments.get(principal_id.lower(), set()).discard(role)

    def app_roles(self, principal_id: str) -> list[str]:
        with self.lock:
            return sorted(self.app_role_assignments.get(principal_id.lower(), set()))

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

    def handle(self, request: Request) -> Response:
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
            claims = self.ctx.tokens.validate(
                request.bearer(), audiences=resources.audiences(self.ctx, resources.GRAPH)
            )
        except TokenError as exc:
            return self._unauthorized(request, exc)
        if not READ_USERS_ROLES & set(claims.get("roles") or ()):
            return self._error(
                request,
                403,
                "Authorization_RequestDenied",  # [O] AZURE-PROTOCOLS.md 6
                "Insufficient privileges to complete the operation.",
            )
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
            page = self.users[start : start + top]
            more = start + top < len(self.users)
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
            body["@odata.nextLink"] = f"{self.origin}/v1.0/users?{'&'.join(params)}"
        body["value"] = value
        request_id = new_id()
        headers = {"request-id": request_id, "client-request-id": request.header("client-request-id") or request_id}
        return json_response(200, body, content_type=_ODATA_JSON, headers=headers)
