"""The HTTP contract as an OpenAPI 3.1 document, generated from the code it describes.

Every constraint in it is read from the module that enforces it (the account-name pattern, the key
types, the ``limit`` range, the ``select`` grammar, the boolean query values, the app roles, the
problem types), so a changed rule changes the document. What cannot be read from code — which
routes exist, which statuses each answers — is declared once in ``OPERATIONS`` below and checked
against ``function_app``'s registered functions by tests/test_openapi.py; tests/e2e validates every
response the end-to-end suite receives against the document. ``openapi.json`` at the repository
root is this document as committed (a test keeps them equal); ``GET /api/openapi.json`` serves it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .callers import (
    COSMOS_KEYS_READ,
    COSMOS_KEYS_READWRITE,
    DIAGNOSTICS_ROLES,
    ROLLOVER_ROLES,
    USERS_READ,
    USERS_READ_TENANT_PREFIX,
    USERS_ROLES,
)
from .downstream import DEFAULT_LIMIT, MAX_LIMIT, PROPERTY_NAME
from .errors import PROBLEM_TYPE_PREFIX, ProblemError, Upstream
from .key_kinds import ACCOUNT_NAME, KeyType
from .rollover import BOOLEAN_VALUES
from .settings import ENTRA_ALLOWED_TENANTS, ENTRA_TENANT_ID, GUID, CredentialMode

TITLE = "Key Vault-signed assertion broker"
VERSION = "1.0.0"
FUNCTION_KEY_HEADER = "functionKeyHeader"
FUNCTION_KEY_QUERY = "functionKeyQuery"
ENTRA_BEARER = "entraBearer"
ROLES_EXTENSION = "x-app-roles"


def _without_anchors(pattern: str) -> str:
    return pattern.removeprefix("^").removesuffix("$")


def _whole(pattern: str) -> str:
    """The code matches with ``fullmatch``; a JSON Schema ``pattern`` searches, so anchor it."""
    return f"^(?:{_without_anchors(pattern)})$"


ACCOUNT_NAME_PATTERN = _whole(ACCOUNT_NAME.pattern)
TENANT_PATTERN = _whole(GUID.pattern)
_PROPERTY = _without_anchors(PROPERTY_NAME.pattern)
# parse_select: items split on commas, whitespace around each item ignored, no empty item.
SELECT_PATTERN = rf"^\s*{_PROPERTY}\s*(,\s*{_PROPERTY}\s*)*$"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" | "query"
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One HTTP function as the contract states it. ``function`` is its name in ``function_app``."""

    function: str
    method: str
    path: str  # under the /api route prefix
    summary: str
    description: str
    success: dict[str, Any]  # the 200 response object
    errors: tuple[int, ...]  # the error statuses it answers
    roles: frozenset[str] = frozenset()  # app roles, any of which a caller token must carry
    parameters: tuple[Parameter, ...] = ()
    function_key: bool = True
    caller_token: bool = True  # needs a caller token when CALLER_AUDIENCE is set
    tags: tuple[str, ...] = field(default=())


def _boolean_query(name: str, description: str) -> Parameter:
    return Parameter(name, "query", description, {"type": "string", "enum": sorted(BOOLEAN_VALUES), "default": "false"})


_NO_STORE = {
    "Cache-Control": {
        "description": "`no-store`: never cached (keys, token facts, directory data, problems).",
        "schema": {"type": "string", "const": "no-store"},
    }
}


def _json(schema_ref: str, description: str, *, no_store: bool = True) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }
    if no_store:
        response["headers"] = dict(_NO_STORE)
    return response


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        function="health",
        method="get",
        path="/health",
        summary="Settings check",
        description="Whether the app settings are complete and valid. Makes no outbound call; needs no key.",
        success=_json("Health", 'The settings are complete and valid: `{"status":"ok"}`.'),
        errors=(503,),
        function_key=False,
        caller_token=False,
        tags=("operations",),
    ),
    Operation(
        function="cosmos_keys",
        method="get",
        path="/cosmos/{account}/keys",
        summary="Cosmos DB account keys",
        description=(
            "The keys of a Cosmos DB account named in `COSMOS_ACCOUNT_IDS`, through ARM `readonlykeys` "
            "(`type=readonly`, the default) or `listKeys` (`type=readwrite`), as the app registration. "
            f"`{COSMOS_KEYS_READWRITE}` also grants read-only keys."
        ),
        success=_json("CosmosKeys", "The account, the key type and ARM's key fields verbatim."),
        errors=(400, 401, 403, 404, 500, 502, 503, 504),
        roles=frozenset({COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE}),
        parameters=(
            Parameter(
                "account",
                "path",
                "The account *name*: 3-44 lowercase letters, digits or hyphens. Anything else is a 400.",
                {"type": "string", "pattern": ACCOUNT_NAME_PATTERN, "minLength": 3, "maxLength": 44},
                required=True,
            ),
            Parameter(
                "type",
                "query",
                f"`readonly` needs `{COSMOS_KEYS_READ}` or `{COSMOS_KEYS_READWRITE}`; `readwrite` needs "
                f"`{COSMOS_KEYS_READWRITE}`. An empty value is a 400.",
                {"type": "string", "enum": [str(t) for t in KeyType], "default": str(KeyType.READONLY)},
            ),
        ),
        tags=("keys",),
    ),
    Operation(
        function="graph_users",
        method="get",
        path="/graph/users",
        summary="Microsoft Graph users",
        description=(
            "Users from Microsoft Graph `GET /v1.0/users`, following `@odata.nextLink` until `limit`. "
            "A well-formed `select` property Graph does not know is a 400 with `upstream: graph`. "
            f"With `tenant`, the users of that customer tenant (one of `{ENTRA_ALLOWED_TENANTS}`), with a token "
            "from that tenant's token URL. A tenant whose administrator has not consented to the app is a 502 "
            "(`upstream: entra`, `code` `AADSTS7000229`, `AADSTS700016` or `AADSTS650052`) whose `detail` says "
            "an administrator of that tenant must consent; the admin-consent URL is in `/diagnostics`."
        ),
        success=_json("Users", "Up to `limit` users; `truncated` is true exactly when Graph had more."),
        errors=(400, 401, 403, 500, 502, 503, 504),
        roles=USERS_ROLES,
        parameters=(
            Parameter(
                "limit",
                "query",
                f"At most this many users: 1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}. An empty value is a 400.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            ),
            Parameter(
                "select",
                "query",
                "Comma-separated Graph property names (a letter, then letters or digits); spaces around "
                "commas are ignored; an empty item or any other character is a 400.",
                {"type": "string", "pattern": SELECT_PATTERN},
            ),
            Parameter(
                "tenant",
                "query",
                f"A tenant ID (GUID): `{ENTRA_TENANT_ID}` (the default) or one of `{ENTRA_ALLOWED_TENANTS}`. "
                f"Anything else is a 400; a tenant not listed is a 403, both before any outbound call. With "
                f"`CALLER_AUDIENCE` set, `{USERS_READ}` covers the home tenant and `{USERS_READ_TENANT_PREFIX}"
                "{tenant ID}` one listed tenant.",
                {"type": "string", "pattern": TENANT_PATTERN},
            ),
        ),
        tags=("directory",),
    ),
    Operation(
        function="diagnostics",
        method="get",
        path="/diagnostics",
        summary="Non-secret facts of the credential chain",
        description=(
            "Credential mode, algorithm, certificate version, thumbprints and validity, and the ARM token's "
            f"expiry, `appid`, `tid` and `roles`; each tenant of `{ENTRA_ALLOWED_TENANTS}` with whether a Graph "
            "token could be obtained there and its admin-consent URL. Never a token, key or signature."
        ),
        success=_json("Diagnostics", "The chain's facts (the certificate-less modes have no certificate)."),
        errors=(400, 401, 403, 500, 502, 503, 504),
        roles=DIAGNOSTICS_ROLES,
        parameters=(
            _boolean_query("registration", "`true` also reads the app registration's key credentials (Graph)."),
        ),
        tags=("operations",),
    ),
    Operation(
        function="rollover",
        method="post",
        path="/rollover",
        summary="Certificate rollover",
        description=(
            "Registers the newest enabled, valid certificate version on the app registration (Graph "
            "`addKey`) and retires superseded or expired ones (`removeKey`). With `dryRun=true` only the "
            "plan is returned. Any other query parameter (a misspelt `dryrun`, `dry_run`, ...; the function key "
            "as `code` aside), a repeated `dryRun` or a request body is a 400 and changes nothing. A newest "
            "version whose private key may exist outside Key Vault (policy issuer not `Self`, or an exportable "
            "key) is never registered: 409 `CertificateKeyNotVaultBound`, nothing added or removed. Needs a "
            "function or admin key."
        ),
        success=_json("Rollover", "The plan (dry run) or what was added and removed."),
        errors=(400, 401, 403, 409, 500, 502, 503, 504),
        roles=ROLLOVER_ROLES,
        parameters=(_boolean_query("dryRun", "`true`: plan only, change nothing. Default `false`."),),
        tags=("operations",),
    ),
    Operation(
        function="openapi",
        method="get",
        path="/openapi.json",
        summary="This document",
        description="The OpenAPI 3.1 document of these routes. Needs a function key, no caller token.",
        success={
            "description": "The OpenAPI document.",
            "content": {"application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}},
        },
        errors=(401,),
        caller_token=False,
        tags=("operations",),
    ),
)


def problem_types() -> dict[str, type[ProblemError]]:
    """Every problem ``type`` URI the app can answer with, and its class."""
    found: dict[str, type[ProblemError]] = {}
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not ProblemError:
            # A refinement sharing its parent's slug (TenantNotAllowed is a Forbidden) is that type.
            found.setdefault(PROBLEM_TYPE_PREFIX + cls.slug, cls)
    return dict(sorted(found.items()))


_ERROR_DESCRIPTIONS = {
    400: "A query or route value the function refuses (`detail` names it), or a `select` property Graph "
    "rejected (`upstream: graph`).",
    401: "The function key is missing or wrong (the Functions host answers, without a body), or a caller "
    "token is missing or invalid (problem, with `WWW-Authenticate: Bearer`).",
    403: 'The caller token lacks the route\'s app role (`WWW-Authenticate: Bearer error="insufficient_scope"`), '
    "or the `tenant` asked for is not one the broker may act in (`ENTRA_ALLOWED_TENANTS`).",
    404: "The account is not one of `COSMOS_ACCOUNT_IDS`.",
    409: "The request does not apply to the current configuration (e.g. a rollover in a certificate-less mode).",
    500: "An unexpected failure; the details are in the function's log only.",
    502: "An upstream refused or failed: `upstream`, its `code` and `upstreamStatus` say which and why.",
    503: "Settings are missing or invalid (`missing`, `problems`), or an upstream still throttled after the "
    "retries (`upstream`, `Retry-After`).",
    504: "An upstream did not answer in time (`upstream`).",
}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "headers": dict(_NO_STORE),
    }
    if status in (401, 403):
        response["headers"] = {
            **response["headers"],
            "WWW-Authenticate": {
                "description": "`Bearer` with `error`, on caller-token refusals (RFC 6750 §3).",
                "schema": {"type": "string", "pattern": "^Bearer"},
            },
        }
    if status == 503:
        response["headers"] = {
            **response["headers"],
            "Retry-After": {
                "description": "Whole seconds to wait, when an upstream was throttling (not for settings problems).",
                "schema": {"type": "integer", "minimum": 1},
            },
        }
    return response


def _security(operation: Operation) -> list[dict[str, list[str]]]:
    if not operation.function_key:
        return []
    roles = sorted(operation.roles)
    options: list[dict[str, list[str]]] = []
    for key in (FUNCTION_KEY_HEADER, FUNCTION_KEY_QUERY):
        options.append({key: []})
        if operation.caller_token and roles:
            # OpenAPI 3.1 §4.8.30: for non-OAuth schemes the array may list the roles required.
            options.append({key: [], ENTRA_BEARER: roles})
    return options


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": op.success}
    if op.function == "health":
        responses["503"] = _json("Health", "Settings are missing or invalid: each is named with the reason.")
    for status in op.errors:
        if op.function != "health":
            responses[str(status)] = _error_response(status)
    description = op.description
    if op.caller_token and op.roles:
        description += (
            f"\n\nWith `CALLER_AUDIENCE` set, also a caller bearer token with one of these app roles: "
            f"{', '.join(f'`{r}`' for r in sorted(op.roles))}."
        )
    result: dict[str, Any] = {
        "operationId": op.function,
        "summary": op.summary,
        "description": description,
        "tags": list(op.tags),
        "security": _security(op),
        "responses": responses,
    }
    if op.roles and op.caller_token:
        result[ROLES_EXTENSION] = {"anyOf": sorted(op.roles), "when": "CALLER_AUDIENCE is set"}
    if op.parameters:
        result["parameters"] = [
            {
                "name": p.name,
                "in": p.location,
                "required": p.required,
                "description": p.description,
                "schema": p.schema,
            }
            for p in op.parameters
        ]
    return result


def _schemas() -> dict[str, Any]:
    types = problem_types()
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details. `type` is one of the listed URIs (see the README's "
            "'Problem types'); `upstream` and `code` name the failing upstream and its own error code.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {
                    "type": "string",
                    "enum": [*types, "about:blank"],
                    "x-enum-descriptions": {uri: cls.title for uri, cls in types.items()},
                },
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "upstream": {"type": "string", "enum": [str(u) for u in Upstream]},
                "code": {"type": "string"},
                "upstreamStatus": {"type": "integer"},
                "missing": {"type": "array", "items": {"type": "string"}},
                "problems": {"type": "array", "items": {"$ref": "#/components/schemas/SettingProblem"}},
            },
            "additionalProperties": True,
        },
        "SettingProblem": {
            "type": "object",
            "required": ["setting", "reason"],
            "properties": {"setting": {"type": "string"}, "reason": {"type": "string"}},
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "misconfigured"]},
                "callerAuth": {"type": "string", "enum": ["entra", "function-key"]},
                "missing": {"type": "array", "items": {"type": "string"}},
                "problems": {"type": "array", "items": {"$ref": "#/components/schemas/SettingProblem"}},
            },
        },
        "CosmosKeys": {
            "type": "object",
            "required": ["account", "type", "primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"],
            "properties": {
                "account": {"type": "string", "pattern": ACCOUNT_NAME_PATTERN},
                "type": {"type": "string", "enum": [str(t) for t in KeyType]},
                "primaryMasterKey": {"type": "string"},
                "secondaryMasterKey": {"type": "string"},
                "primaryReadonlyMasterKey": {"type": "string"},
                "secondaryReadonlyMasterKey": {"type": "string"},
            },
            "additionalProperties": {"description": "Other ARM key fields, verbatim."},
        },
        "Users": {
            "type": "object",
            "required": ["value", "count", "truncated"],
            "properties": {
                "value": {"type": "array", "maxItems": MAX_LIMIT, "items": {"type": "object"}},
                "count": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT},
                "truncated": {"type": "boolean"},
            },
        },
        "Diagnostics": {
            "type": "object",
            "required": ["credentialMode", "token"],
            "properties": {
                "credentialMode": {"type": "string", "enum": [str(m) for m in CredentialMode]},
                "algorithm": {"type": "string"},
                "certificate": {
                    "type": "object",
                    "required": ["version", "x5t", "x5t#S256", "notBefore", "expiresOn", "daysLeft"],
                    "properties": {
                        "version": {"type": "string"},
                        "x5t": {"type": "string"},
                        "x5t#S256": {"type": "string"},
                        "notBefore": {"type": ["string", "null"], "format": "date-time"},
                        "expiresOn": {"type": ["string", "null"], "format": "date-time"},
                        "daysLeft": {"type": ["integer", "null"]},
                    },
                },
                "token": {
                    "type": "object",
                    "required": ["expiresOn", "appid", "tid", "roles"],
                    "properties": {
                        "expiresOn": {"type": ["string", "null"], "format": "date-time"},
                        "appid": {"type": ["string", "null"]},
                        "tid": {"type": ["string", "null"]},
                        "roles": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "tenants": {
                    "type": "array",
                    "description": f"Each tenant of `{ENTRA_ALLOWED_TENANTS}` (not in managed-identity mode).",
                    "items": {"$ref": "#/components/schemas/TenantDiagnostics"},
                },
                "registration": {"type": "object"},
            },
        },
        "TenantDiagnostics": {
            "type": "object",
            "required": ["tenantId", "adminConsentUrl", "tokenObtained"],
            "properties": {
                "tenantId": {"type": "string", "pattern": TENANT_PATTERN},
                "adminConsentUrl": {
                    "type": "string",
                    "format": "uri",
                    "description": "`{authority}/{tenantId}/adminconsent?client_id={client id}`: what an "
                    "administrator of that tenant opens to consent to the app.",
                },
                "tokenObtained": {"type": "boolean"},
                "token": {
                    "type": "object",
                    "description": "The tenant's Graph token, when one was obtained.",
                    "required": ["expiresOn", "tid", "roles"],
                    "properties": {
                        "expiresOn": {"type": ["string", "null"], "format": "date-time"},
                        "tid": {"type": ["string", "null"]},
                        "roles": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "error": {
                    "type": "object",
                    "description": "Why no token was obtained (Entra's refusal, e.g. missing consent).",
                    "required": ["status", "detail"],
                    "properties": {
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "upstream": {"type": "string"},
                        "code": {"type": "string"},
                    },
                },
            },
        },
        "Rollover": {
            "type": "object",
            "required": ["dryRun", "certificate", "versions", "plan"],
            "properties": {
                "dryRun": {"type": "boolean"},
                "certificate": {"type": "string"},
                "applicationObjectId": {"type": "string"},
                "graceDays": {"type": "integer"},
                "versions": {"type": "array", "items": {"type": "object"}},
                "plan": {
                    "type": "object",
                    "required": ["add", "remove"],
                    "properties": {
                        "add": {"type": "array", "items": {"type": "object"}},
                        "remove": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    }


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Reach Entra ID-protected APIs as an app registration whose certificate's private "
            "key never leaves Azure Key Vault. Every route but `/health` needs a function key; with "
            "`CALLER_AUDIENCE` set, also an Entra bearer token carrying the route's app role "
            f"(`{ROLES_EXTENSION}`). Errors are `application/problem+json` (RFC 9457).",
        },
        # Relative: resolved against the document's own URL (…/api/openapi.json), whatever the host.
        "servers": [{"url": "/api"}],
        "tags": [
            {"name": "keys", "description": "Cosmos DB account keys through ARM."},
            {"name": "directory", "description": "Microsoft Graph."},
            {"name": "operations", "description": "Health, diagnostics, rollover, this document."},
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                FUNCTION_KEY_HEADER: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-functions-key",
                    "description": "A function (or the host's admin) key.",
                },
                FUNCTION_KEY_QUERY: {
                    "type": "apiKey",
                    "in": "query",
                    "name": "code",
                    "description": "The same key as a query parameter.",
                },
                ENTRA_BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Only when `CALLER_AUDIENCE` is set: an Entra application token (client "
                    "credentials) for one of its audiences, issued by `ENTRA_TENANT_ID`, carrying the route's "
                    "app role in `roles`.",
                },
            },
        },
    }


@lru_cache(maxsize=1)
def document_json() -> str:
    """The document as served and as committed: stable key order, two-space indent, final newline."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m shared.openapi > openapi.json
    print(document_json(), end="")
