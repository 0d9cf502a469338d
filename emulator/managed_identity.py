# Managed identity, App Service / Functions protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER).
# REST reference: learn.microsoft.com/azure/app-service/overview-managed-identity
# ("REST endpoint reference"): GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...
# [&client_id=|&principal_id=|&object_id=|&mi_res_id=], header X-IDENTITY-HEADER.
# Wire facts: AZURE-PROTOCOLS.md 3.1 and section 9 item 6 — `expires_on` is integer epoch
# seconds as a string; errors are {"statusCode","message","correlationId"} (the client ignores
# the status code); unknown identity is 400 "Unable to load the proper Managed Identity." [O]
# Azure/azure-sdk-for-net#43691.
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from emulator import resources
from emulator.httpd import Request, Response, json_response
from emulator.surface import Context, Surface, new_id

_API_VERSIONS = {"2019-08-01"}  # the App Service protocol version azure-identity/MSAL send [V]


@dataclass(frozen=True)
class Identity:
    principal_id: str
    client_id: str
    resource_id: str
    user_assigned: bool


def _error(status: int, message: str) -> Response:
    return json_response(status, {"statusCode": status, "message": message, "correlationId": new_id()})


class ManagedIdentitySurface(Surface):
    name = "identity"
    path = "/msi/token"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        seed = ctx.seed
        # Per run: the function host's secret, like App Service's IDENTITY_HEADER.
        self.identity_header = secrets.token_hex(16)
        self.token_lifetime = 86399  # App Service MI tokens live ~24 h [D] (MSAL refreshes at half)
        self.system = Identity(
            seed.system_mi_principal_id, seed.system_mi_client_id, seed.function_app_resource_id, False
        )
        self.user = Identity(seed.user_mi_principal_id, seed.user_mi_client_id, seed.user_mi_resource_id, True)

    @property
    def endpoint(self) -> str:
        return self.origin + self.path

    def handle(self, request: Request) -> Response:
        if request.path != self.path:
            return _error(404, "Not found.")  # [U] path outside the protocol
        if request.method != "GET":
            return _error(405, "Method not allowed.")  # [U]
        return self.run("identity.token", request, lambda: self._token(request))

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        if status == 429:
            return _error(429, "Too many requests.")  # [U] wording
        return _error(status, "An unexpected error occured while fetching the AAD Token.")  # [O] wording

    def _token(self, request: Request) -> Response:
        presented = request.header("X-IDENTITY-HEADER")
        if presented is None or not hmac.compare_digest(presented.encode(), self.identity_header.encode()):
            # What App Service answers here is undocumented [U]; it must refuse (3.1).
            return _error(401, "The request is missing a valid X-IDENTITY-HEADER.")
        api_version = request.query.get("api-version")
        if api_version not in _API_VERSIONS:
            return _error(400, f"The api-version '{api_version or ''}' is not supported.")  # [U] wording
        resource = request.query.get("resource")
        if not resource:
            return _error(400, "The 'resource' query parameter is required.")  # [U] wording
        selectors = {
            key: request.query[key]
            for key in ("client_id", "principal_id", "object_id", "mi_res_id")
            if request.query.get(key)
        }
        if len(selectors) > 1:
            return _error(400, "Only one of client_id, principal_id/object_id, mi_res_id may be given.")  # [U]
        identity = self._select(selectors)
        if identity is None:
            return _error(400, "Unable to load the proper Managed Identity.")  # [O]
        kind = resources.resource_kind(self.ctx, resource)
        if kind is None:
            # App Service relays Entra's AADSTS500011 as a generic 500. [O] azure-sdk-for-net#44685,
            # MicrosoftDocs/azure-docs#58304 (500 whose trace shows AADSTS500011).
            return _error(500, "An unexpected error occured while fetching the AAD Token.")
        token, exp = self.issue(identity, resource)
        body = {
            "access_token": token,
            "expires_on": str(exp),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }
        return json_response(200, body)

    def _select(self, selectors: dict[str, str]) -> Identity | None:
        if not selectors:
            return self.system
        ((key, value),) = selectors.items()
        for identity in (self.system, self.user):
            if key == "client_id" and value.lower() == identity.client_id:
                return identity
            if key in ("principal_id", "object_id") and value.lower() == identity.principal_id:
                return identity
            if key == "mi_res_id" and value.lower() == identity.resource_id.lower():
                return identity
        return None

    def issue(self, identity: Identity, resource: str) -> tuple[str, int]:
        """A token for `identity`: v1 for Azure resources; for api://AzureADTokenExchange the
        v2 token Entra issues for federation (iss {authority}/{tid}/v2.0, sub = principal id;
        AZURE-PROTOCOLS.md 8)."""
        tokens = self.ctx.tokens
        mirid = {"xms_mirid": identity.resource_id}
        if resources.resource_kind(self.ctx, resource) == resources.TOKEN_EXCHANGE:
            return tokens.app_token(
                audience=resource,
                app_id=identity.client_id,
                object_id=identity.principal_id,
                lifetime=self.token_lifetime,
                version="2.0",
                extra=mirid,
            )
        return tokens.app_token(
            audience=resource,
            app_id=identity.client_id,
            object_id=identity.principal_id,
            roles=resources.app_roles(self.ctx, identity.principal_id, resource),
            lifetime=self.token_lifetime,
            extra=mirid,
        )
