"""The routes as the contract states them: one ``Operation`` per HTTP function of ``function_app``.

A new route is one more entry: a verb-form ``operationId``, a named component schema for its 200
(schemas.py) with an example (examples.py), and its error statuses; tests/test_openapi.py checks it
against the registered function and tests/test_openapi_clients.py runs the client generators on it.
"""

from __future__ import annotations

from ..callers import (
    COSMOS_KEYS_READ,
    COSMOS_KEYS_READWRITE,
    DIAGNOSTICS_ROLES,
    KEYS_READ,
    KEYS_READWRITE,
    KEYS_ROLES,
    ROLLOVER_ROLES,
    USERS_READ,
    USERS_READ_TENANT_PREFIX,
    USERS_ROLES,
)
from ..downstream import DEFAULT_LIMIT, LOCAL_AUTH_SECONDS, MAX_LIMIT
from ..key_kinds import KINDS, KeyType
from ..settings import ENTRA_ALLOWED_TENANTS, ENTRA_TENANT_ID
from . import resource_keys
from .examples import CUSTOMER_TENANT, DIAGNOSTICS, ROLLOVER_DONE, ROLLOVER_DRY_RUN, ROLLOVER_REFUSED
from .model import (
    ACCOUNT_NAME_PATTERN,
    SELECT_PATTERN,
    TENANT_PATTERN,
    TITLE,
    VERSION,
    Operation,
    Parameter,
    Success,
    flag,
    ref,
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        operation_id="getHealth",
        function="health",
        method="get",
        path="/health",
        summary="Settings check",
        description="Whether the app settings are complete and valid. Makes no outbound call; needs no key.",
        success=Success(
            "Health",
            "The settings are complete and valid (`rollover` names settings only the certificate rollover lacks).",
            {
                "ok": {"summary": "Healthy", "value": {"status": "ok", "callerAuth": "entra"}},
                "rolloverMisconfigured": {
                    "summary": "Healthy, but the rollover lacks a setting",
                    "value": {
                        "status": "ok",
                        "callerAuth": "function-key",
                        "rollover": {
                            "status": "misconfigured",
                            "missing": ["ENTRA_APPLICATION_OBJECT_ID"],
                            "problems": [{"setting": "ENTRA_APPLICATION_OBJECT_ID", "reason": "not set"}],
                        },
                    },
                },
            },
        ),
        errors=(503,),
        function_key=False,
        caller_token=False,
        tags=("operations",),
    ),
    Operation(
        operation_id="getCosmosKeys",
        function="cosmos_keys",
        method="get",
        path="/cosmos/{account}/keys",
        summary="Cosmos DB account keys",
        description=(
            "The keys of a Cosmos DB account named in `COSMOS_ACCOUNT_IDS`, through ARM `readonlykeys` "
            "(`type=readonly`, the default) or `listKeys` (`type=readwrite`), as the app registration. "
            f"`{COSMOS_KEYS_READWRITE}` also grants read-only keys. With the account's local authentication "
            "disabled (`disableLocalAuth`) the answer is a 409 `local-auth-disabled` carrying no key."
        ),
        success=Success(
            "CosmosKeys",
            "The account, the key type and ARM's key fields verbatim.",
            {
                "readonly": {
                    "summary": "Read-only keys",
                    "value": {
                        "account": "cosmos-orders",
                        "type": "readonly",
                        "primaryReadonlyMasterKey": "<base64 key>",
                        "secondaryReadonlyMasterKey": "<base64 key>",
                    },
                },
                "readwrite": {
                    "summary": "Read-write keys (listKeys answers both pairs)",
                    "value": {
                        "account": "cosmos-orders",
                        "type": "readwrite",
                        "primaryMasterKey": "<base64 key>",
                        "secondaryMasterKey": "<base64 key>",
                        "primaryReadonlyMasterKey": "<base64 key>",
                        "secondaryReadonlyMasterKey": "<base64 key>",
                    },
                },
            },
        ),
        errors=(400, 401, 403, 404, 409, 500, 502, 503, 504),
        roles=frozenset({COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE}),
        parameters=(
            Parameter(
                "account",
                "path",
                "The account *name*: 3-44 lowercase letters, digits or hyphens. Anything else is a 400.",
                {"type": "string", "pattern": ACCOUNT_NAME_PATTERN, "minLength": 3, "maxLength": 44},
                required=True,
                example="cosmos-orders",
            ),
            Parameter(
                "type",
                "query",
                f"`readonly` needs `{COSMOS_KEYS_READ}` or `{COSMOS_KEYS_READWRITE}`; `readwrite` needs "
                f"`{COSMOS_KEYS_READWRITE}`. An empty value is a 400. Default `readonly`.",
                ref("CosmosKeyType"),
                example=str(KeyType.READONLY),
            ),
        ),
        tags=("keys",),
    ),
    Operation(
        operation_id="getResourceKeys",
        function="resource_keys",
        method="get",
        path="/keys/{kind}/{name}",
        summary="Keys of a listed Azure resource",
        description=(
            "The keys of a resource listed in `RESOURCE_KEYS` (Cosmos DB accounts of `COSMOS_ACCOUNT_IDS` too), "
            "through the resource provider's own ARM key action, as the app registration; ARM's answer "
            "verbatim under `keys` (paged answers joined). Kinds and actions: "
            + "; ".join(
                f"`{k.kind}` "
                + ", ".join(f"{t} → `{a.name}`" for t, a in k.actions.items())
                + f" (api-version {k.api_version})"
                for k in KINDS.values()
            )
            + ". Before any key, the resource (for a Service Bus / Event Hubs rule, its namespace) is read: with "
            "local authentication disabled the answer is a 409 `local-auth-disabled` naming the Entra "
            f"data-plane role to use instead (that state is cached {LOCAL_AUTH_SECONDS // 60} minutes, apart from "
            "the key cache `RESOURCE_KEYS_CACHE_SECONDS`). Order of refusals: caller token (401), route values "
            "(400), listing (404), the caller's role for this resource and key type (403), then ARM. Roles: "
            f"`{KEYS_READ}` / `{KEYS_READWRITE}` (every listed resource), `{KEYS_READ}:{{kind}}/{{name}}` / "
            f"`{KEYS_READWRITE}:{{kind}}/{{name}}` (one, named as listed; `*` in the list below stands for any "
            f"resource); ReadWrite includes Read; `{COSMOS_KEYS_READ}` / `{COSMOS_KEYS_READWRITE}` cover "
            "Cosmos DB accounts."
        ),
        success=Success(
            "ResourceKeys",
            "The kind, the name, the key type and the ARM action's answer under `keys`.",
            resource_keys.examples(),
        ),
        errors=(400, 401, 403, 404, 409, 500, 502, 503, 504),
        roles=KEYS_ROLES,
        parameters=(
            Parameter(
                "kind",
                "path",
                "The kind of resource. Anything else is a 400.",
                ref("KeyKind"),
                required=True,
                example="storage",
            ),
            Parameter(
                "name",
                "path",
                "The resource's name (for `servicebus` / `eventhubs`, the namespace's), by the kind's naming "
                "rule (a name that breaks it is a 400); not listed: 404.",
                {"type": "string", "pattern": resource_keys.name_pattern()},
                required=True,
                example="stgorders",
            ),
            Parameter(
                "type",
                "query",
                "`readonly` (default) only where the kind has read-only keys (`cosmos`, `search`, `appconfig`: "
                "else a 400, never wider keys); `readwrite` needs a ReadWrite role. An empty value is a 400.",
                ref("KeyType"),
                example=str(KeyType.READWRITE),
            ),
        ),
        tags=("keys",),
    ),
    Operation(
        operation_id="listGraphUsers",
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
        success=Success(
            "Users",
            "Up to `limit` users; `truncated` is true exactly when Graph had more.",
            {
                "selected": {
                    "summary": "select=id,displayName,mail, limit=2",
                    "value": {
                        "value": [
                            {"id": "0c5f1b2a-3d4e-4f60-8a9b-0c1d2e3f4a5b", "displayName": "Ada Lovelace", "mail": None},
                            {
                                "id": "7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928",
                                "displayName": "Alan Turing",
                                "mail": "alan@contoso.example",
                            },
                        ],
                        "count": 2,
                        "truncated": True,
                    },
                }
            },
        ),
        errors=(400, 401, 403, 500, 502, 503, 504),
        roles=USERS_ROLES,
        parameters=(
            Parameter(
                "limit",
                "query",
                f"At most this many users: 1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}. An empty value is a 400.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                example=25,
            ),
            Parameter(
                "select",
                "query",
                "Comma-separated Graph property names (a letter, then letters or digits); spaces around "
                "commas are ignored; an empty item or any other character is a 400.",
                {"type": "string", "pattern": SELECT_PATTERN},
                example="id,displayName,mail",
            ),
            Parameter(
                "tenant",
                "query",
                f"A tenant ID (GUID): `{ENTRA_TENANT_ID}` (the default) or one of `{ENTRA_ALLOWED_TENANTS}`. "
                "Anything else is a 400; a tenant not listed is a 403, both before any outbound call. With "
                f"`CALLER_AUDIENCE` set, `{USERS_READ}` covers the home tenant and `{USERS_READ_TENANT_PREFIX}"
                "{tenant ID}` one listed tenant.",
                {"type": "string", "pattern": TENANT_PATTERN},
                example=CUSTOMER_TENANT,
            ),
        ),
        tags=("directory",),
    ),
    Operation(
        operation_id="getDiagnostics",
        function="diagnostics",
        method="get",
        path="/diagnostics",
        summary="Non-secret facts of the credential chain",
        description=(
            "Credential mode, algorithm, certificate version, thumbprints and validity, the ARM token's "
            "expiry, `appid`, `tid` and `roles`, (keyvault mode) the registration state of every "
            f"certificate version on the app registration, and each tenant of `{ENTRA_ALLOWED_TENANTS}` with "
            "whether a Graph token could be obtained there and its admin-consent URL. Never a token, key or "
            "signature."
        ),
        success=Success(
            "Diagnostics",
            "The chain's facts (the certificate-less modes have no `algorithm`, `certificate` or `registration`).",
            {
                "keyvault": {
                    "summary": "keyvault mode, registration as the last rollover saw it",
                    "value": DIAGNOSTICS,
                },
                "managedIdentity": {
                    "summary": "A certificate-less mode",
                    "value": {"credentialMode": "managed-identity", "token": DIAGNOSTICS["token"], "lastProblems": []},
                },
            },
        ),
        errors=(400, 401, 403, 500, 502, 503, 504),
        roles=DIAGNOSTICS_ROLES,
        parameters=(
            flag(
                "registration",
                "`true`: read the app registration's key credentials now (one Key Vault list, one Graph "
                "read) instead of reporting what the last rollover on this instance saw. Default `false`.",
            ),
        ),
        tags=("operations",),
    ),
    Operation(
        operation_id="runRollover",
        function="rollover",
        method="post",
        path="/rollover",
        summary="Certificate rollover",
        description=(
            "Registers the newest enabled, valid certificate version on the app registration (Graph "
            "`addKey`) and retires superseded or expired ones (`removeKey`). With `dryRun=true` only the "
            "plan is returned. Any other query parameter (a misspelt `dryrun`, `dry_run`, ...; the function key "
            "as `code` aside), a repeated `dryRun` or a request body is a 400 and changes nothing. A version "
            "whose private key may exist outside Key Vault (policy issuer not `Self`, an exportable policy or "
            "key, or created before the policy's last change) is never registered: it is named in `refused` "
            "and `skipped` (code `CertificateKeyNotVaultBound`) while the newest accepted version takes over; "
            "when no accepted version is left, 409 `CertificateKeyNotVaultBound`, nothing added or removed. "
            "Needs a function or admin key."
        ),
        success=Success(
            "RolloverReport",
            "The plan (dry run) or what was added, removed and skipped, and the state after the run.",
            {
                "registered": {
                    "summary": "A renewal registered; the old key kept for the grace period",
                    "value": ROLLOVER_DONE,
                },
                "dryRun": {"summary": "dryRun=true: the renewal would be registered", "value": ROLLOVER_DRY_RUN},
                "refused": {
                    "summary": "dryRun=true: the newest version is refused (custody), the older one stays",
                    "value": ROLLOVER_REFUSED,
                },
            },
        ),
        errors=(400, 401, 403, 409, 500, 502, 503, 504),
        roles=ROLLOVER_ROLES,
        parameters=(flag("dryRun", "`true`: plan only, change nothing. Default `false`."),),
        tags=("operations",),
    ),
    Operation(
        operation_id="getOpenApiDocument",
        function="openapi",
        method="get",
        path="/openapi.json",
        summary="This document",
        description="The OpenAPI 3.1 document of these routes. Needs a function key, no caller token.",
        success=Success(
            "OpenApiDocument",
            "The OpenAPI document.",
            {
                "abridged": {
                    "summary": "This document, abridged",
                    "value": {
                        "openapi": "3.1.0",
                        "info": {"title": TITLE, "version": VERSION},
                        "paths": {"/health": {"get": {"operationId": "getHealth"}}},
                    },
                }
            },
            no_store=False,
        ),
        errors=(401,),
        caller_token=False,
        tags=("operations",),
    ),
)
