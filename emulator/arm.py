# Azure Resource Manager: Cosmos DB account keys.
# REST reference: learn.microsoft.com/rest/api/cosmos-db-resource-provider/database-accounts
# (list-keys, get-read-only-keys, list-read-only-keys), api-version 2025-10-15; azure-rest-api-specs
# `specification/cosmos-db/resource-manager/Microsoft.DocumentDB/.../CosmosDBDatabaseAccountListKeys.json`.
# Wire facts: AZURE-PROTOCOLS.md 5 and section 9 item 9 — listKeys and POST readonlykeys are
# POSTs (writes: x-ms-ratelimit-remaining-subscription-writes), GET readonlykeys is a read;
# Cosmos DB Account Reader Role grants readonlykeys only; AuthorizationFailed with the exact
# action and scope; ARM paths are case-insensitive.
from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import time
from typing import Any

from emulator import resources
from emulator.httpd import Request, Response, json_response
from emulator.surface import Context, Surface, new_id
from emulator.tokens import TokenError

API_VERSIONS = ("2025-10-15", "2025-04-15", "2024-11-15")

_LIST_KEYS = "Microsoft.DocumentDB/databaseAccounts/listKeys/action"
_READONLY_KEYS = "Microsoft.DocumentDB/databaseAccounts/readonlykeys/action"
# [D] built-in roles; AZURE-PROTOCOLS.md 5.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "Cosmos DB Account Reader Role": frozenset({_READONLY_KEYS}),  # fbdf93bf-df7d-467e-a4d2-9458aa1360c8
    "DocumentDB Account Contributor": frozenset({_READONLY_KEYS, _LIST_KEYS}),  # 5bd9cd88-fe45-4216-938b-f97437e15450
}

_PATH = re.compile(
    r"/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/microsoft\.documentdb"
    r"/databaseaccounts/([^/]+)/(listkeys|readonlykeys)",
    re.IGNORECASE,
)
# Bucket sizes (AZURE-PROTOCOLS.md 5: token bucket reads 250, writes 200 per principal).
_READS, _WRITES = 250, 200


def _new_key() -> str:
    """A Cosmos DB account key: 64 random bytes, standard base64 (88 characters) [U]."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    request_id = new_id()
    all_headers = {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": request_id,
        "x-ms-failure-cause": "gateway",
    }
    all_headers.update(headers or {})
    return json_response(status, {"error": {"code": code, "message": message}}, headers=all_headers)


class ArmSurface(Surface):
    name = "management"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # Keys are generated per run and survive reset(): tests compare them across calls.
        self.keys: dict[str, dict[str, str]] = {
            account: {
                "primaryMasterKey": _new_key(),
                "secondaryMasterKey": _new_key(),
                "primaryReadonlyMasterKey": _new_key(),
                "secondaryReadonlyMasterKey": _new_key(),
            }
            for account in ctx.seed.cosmos_accounts
        }
        self.role_assignments: dict[tuple[str, str], set[str]] = {}
        self._budget: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        seed = self.ctx.seed
        with self.lock:
            self.role_assignments.clear()
            self._budget.clear()
        for principal in (seed.sp_object_id, seed.system_mi_principal_id):
            self.grant_role(principal, "cosmos-orders", "DocumentDB Account Contributor")
            self.grant_role(principal, "cosmos-catalog", "Cosmos DB Account Reader Role")

    def grant_role(self, principal_id: str, account_name: str, role_name: str) -> None:
        if role_name not in ROLE_ACTIONS:
            raise ValueError(f"unknown role {role_name!r}; one of {sorted(ROLE_ACTIONS)}")
        with self.lock:
            self.role_assignments.setdefault((principal_id.lower(), account_name.lower()), set()).add(role_name)

    def revoke_role(self, principal_id: str, account_name: str, role_name: str) -> None:
        with self.lock:
            self.role_assignments.get((principal_id.lower(), account_name.lower()), set()).discard(role_name)

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: Request) -> Response:
        match = _PATH.fullmatch(request.path)
        if match is None:
            # [U] ARM's answer for an unknown route (InvalidResourceType wording simplified).
            return _error(404, "InvalidResourceType", "The resource type could not be found.")
        action = match.group(4).lower()
        if (action == "listkeys" and request.method != "POST") or request.method not in ("GET", "POST"):
            return _error(
                405, "MethodNotAllowed", f"The requested resource does not support http method '{request.method}'."
            )  # [U]
        operation = "arm.listKeys" if action == "listkeys" else "arm.readonlykeys"
        return self.run(operation, request, lambda: self._keys(request, match))

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        if status == 429:
            # [O] velero-io/velero#9171
            kind = "read" if request.method == "GET" else "write"
            return _error(
                429,
                "SubscriptionRequestsThrottled",
                f"Number of '{kind}' requests for subscription '{self.ctx.seed.subscription_id}' actor "
                f"'{self._actor(request)}' exceeded. Please try again after '1' seconds after additional "
                "tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
            )
        if status == 401:  # a token ARM no longer accepts (revoked, CAE)
            return self._unauthorized(TokenError("invalid"), request)
        codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return _error(status, codes.get(status, "Error"), "Injected fault.")  # [U] wording

    def _actor(self, request: Request) -> str:
        try:
            return str(
                self.ctx.tokens.validate(request.bearer(), audiences=resources.audiences(self.ctx, resources.ARM)).get(
                    "oid"
                )
            )
        except TokenError:
            return "unknown"

    def _unauthorized(self, exc: TokenError, request: Request) -> Response:
        """401s as ARM gives them ([U] codes: AZURE-PROTOCOLS.md 5 lists the names)."""
        claims = exc.claims
        tid = self.ctx.seed.tenant_id
        if exc.reason == "missing":
            code, message = "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        elif exc.reason == "expired":
            exp = dt.datetime.fromtimestamp(float(claims.get("exp", 0)), dt.UTC)
            now = dt.datetime.now(dt.UTC)
            code = "ExpiredAuthenticationToken"
            message = (
                f"The access token expiry UTC time '{exp:%m/%d/%Y %I:%M:%S %p}' is earlier than current "
                f"UTC time '{now:%m/%d/%Y %I:%M:%S %p}'."
            )
        elif exc.reason == "audience":
            allowed = ",".join(f"'{aud}'" for aud in sorted(resources.audiences(self.ctx, resources.ARM)))
            code = "InvalidAuthenticationTokenAudience"
            message = (
                f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. "
                f"It should exactly match with one of the allowed audiences {allowed}."
            )
        elif exc.reason == "issuer":
            code = "InvalidAuthenticationTokenTenant"
            message = (
                f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match the tenant "
                f"'https://sts.windows.net/{tid}/' associated with this subscription. Please use the "
                f"authority (URL) '{self.ctx.url('login')}/{tid}' to get the token."
            )
        else:
            code, message = "InvalidAuthenticationToken", "The access token is invalid."
        challenge = (
            f'Bearer authorization_uri="{self.ctx.url("login")}/{tid}", error="invalid_token", '
            f'error_description="{message.split(".")[0]}."'
        )
        return _error(401, code, message, {"WWW-Authenticate": challenge})

    def _rate_headers(self, oid: str, write: bool) -> dict[str, str]:
        kind = "writes" if write else "reads"
        with self.lock:
            remaining = self._budget.get((oid, kind), _WRITES if write else _READS) - 1
            self._budget[(oid, kind)] = max(remaining, 0)
        return {f"x-ms-ratelimit-remaining-subscription-{kind}": str(max(remaining, 0))}

    def _keys(self, request: Request, match: re.Match[str]) -> Response:
        try:
            claims = self.ctx.tokens.validate(
                request.bearer(),
                audiences=resources.audiences(self.ctx, resources.ARM),
                issuers=(self.ctx.tokens.v1_issuer(), self.ctx.tokens.v2_issuer()),
            )
        except TokenError as exc:
            return self._unauthorized(exc, request)
        seed = self.ctx.seed
        api_version = request.query.get("api-version")
        if not api_version:
            # [O] MicrosoftDocs/feedback#2279
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if api_version not in API_VERSIONS:
            # [O] Azure/azure-sdk-for-net#34109 (shape of the message; version list shortened)
            return _error(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location '{seed.location}' and API version "
                f"'{api_version}' for type 'databaseAccounts'. The supported api-versions are "
                f"'{', '.join(sorted(API_VERSIONS))}'. The supported locations are '{seed.location}'.",
            )
        subscription, group, account = match.group(1), match.group(2), match.group(3)
        action = _LIST_KEYS if match.group(4).lower() == "listkeys" else _READONLY_KEYS
        oid = str(claims.get("oid", ""))
        scope = (
            f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.DocumentDB"
            f"/databaseAccounts/{account}"
        )
        with self.lock:
            roles = self.role_assignments.get((oid.lower(), account.lower()), set())
            if subscription.lower() != seed.subscription_id:
                roles = set()
        # ARM authorizes before the resource provider looks the resource up, so an account the
        # caller has no role on is a 403 even when it does not exist.
        if not any(action in ROLE_ACTIONS[role] for role in roles):
            return _error(
                403,
                "AuthorizationFailed",  # [O] MicrosoftDocs/azure-docs#66187
                f"The client '{oid}' with object id '{oid}' does not have authorization to perform "
                f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently "
                "granted, please refresh your credentials.",
            )
        if group.lower() != seed.resource_group.lower():
            return _error(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")  # [U]
        keys = self.keys.get(account.lower())
        if keys is None:
            return _error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.DocumentDB/databaseAccounts/{account}' under resource group "
                f"'{group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        body: dict[str, Any] = (
            dict(keys)
            if action == _LIST_KEYS
            else {k: keys[k] for k in ("primaryReadonlyMasterKey", "secondaryReadonlyMasterKey")}
        )
        request_id = new_id()
        headers = {
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Expires": "-1",
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request_id,
            "x-ms-routing-request-id": f"{seed.location.upper()}:{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}:"
            f"{request_id}",
            **self._rate_headers(oid, write=request.method == "POST"),
        }
        return json_response(200, body, headers=headers)
