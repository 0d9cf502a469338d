"""The HTTP contract as an OpenAPI 3.1 document, generated from the code it describes.

Every constraint in it is read from the module that enforces it (the account-name pattern, the key
types, the ``limit`` range, the ``select`` grammar, the app roles, the problem types), so a changed
rule changes the document. What cannot be read from code — which routes exist, which statuses each
answers, what a success looks like — is declared once in ``OPERATIONS`` below and checked against
``function_app``'s registered functions by tests/test_openapi.py; tests/e2e validates every response
the end-to-end suite receives against the document. ``openapi.json`` at the repository root is this
document as committed (a test keeps them equal); ``GET /api/openapi.json`` serves it.

The document is written for client generators (tests/test_openapi_clients.py runs
openapi-python-client and datamodel-code-generator on it), so it is shaped by construction:

* every operation has a verb-form ``operationId`` (``Operation`` refuses another) and an example of
  its 200; every problem type has an example (``_PROBLEM_EXAMPLES``, checked when building);
* every enum and every object is a named component (``_schemas``), referenced where used — an
  inline enum or object would be named by each generator after its first use, and two uses then
  conflict; a test walks the document for any left inline;
* a flag is a ``boolean`` (OpenAPI's form style sends ``true``/``false``, what ``parse_flag`` reads);
* the host's own answers (401 for a missing or wrong function key, 404 for a disabled function) have
  no body, so their responses declare no content: a generated client must not try to parse one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .cosmos_account import ACCOUNT_NAME
from .cosmos_keys import KeyType
from .errors import PROBLEM_TYPE_PREFIX, ProblemError, Upstream
from .graph_users import DEFAULT_LIMIT, MAX_LIMIT, PROPERTY_NAME
from .roles import COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE, DIAGNOSTICS_ROLES, ROLLOVER_ROLES, USERS_ROLES
from .settings import Algorithm, CredentialMode

TITLE = "Key Vault-signed assertion broker"
VERSION = "1.0.0"
FUNCTION_KEY_HEADER = "functionKeyHeader"
FUNCTION_KEY_QUERY = "functionKeyQuery"
ENTRA_BEARER = "entraBearer"
ROLES_EXTENSION = "x-app-roles"
# The host's default; Bicep keeps it (host.json sets no routePrefix).
ROUTE_PREFIX = "api"
# An operationId is a verb and what it acts on (getHealth, listGraphUsers, runRollover): generators
# name the client function after it (get_health, list_graph_users, run_rollover).
OPERATION_VERBS = ("get", "list", "run", "create", "update", "delete", "check")
OPERATION_ID = re.compile(rf"(?:{'|'.join(OPERATION_VERBS)})(?:[A-Z][a-z0-9]*)+")
SCHEMA_REF = "#/components/schemas/"
EXAMPLE_REF = "#/components/examples/"


def _without_anchors(pattern: str) -> str:
    return pattern.removeprefix("^").removesuffix("$")


def _whole(pattern: str) -> str:
    """The code matches with ``fullmatch``; a JSON Schema ``pattern`` searches, so anchor it."""
    return f"^(?:{_without_anchors(pattern)})$"


ACCOUNT_NAME_PATTERN = _whole(ACCOUNT_NAME.pattern)
_PROPERTY = _without_anchors(PROPERTY_NAME.pattern)
# parse_select: items split on commas, whitespace around each item ignored, no empty item.
SELECT_PATTERN = rf"^\s*{_PROPERTY}\s*(,\s*{_PROPERTY}\s*)*$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF + name}


def _nullable(name: str) -> dict[str, Any]:
    return {"anyOf": [ref(name), {"type": "null"}]}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" | "query"
    description: str
    schema: dict[str, Any]  # a primitive type, or ref() to a named enum
    required: bool = False
    example: Any = None


@dataclass(frozen=True)
class Success:
    """The 200 response: a named component schema and at least one example of it."""

    schema: str
    description: str
    examples: dict[str, dict[str, Any]]  # name -> {"summary": ..., "value": ...}
    no_store: bool = True


@dataclass(frozen=True)
class Operation:
    """One HTTP function as the contract states it. ``function`` is its name in ``function_app``."""

    operation_id: str
    function: str
    method: str
    path: str  # under the /api route prefix
    summary: str
    description: str
    success: Success
    errors: tuple[int, ...]  # the error statuses it answers
    roles: frozenset[str] = frozenset()  # app roles, any of which a caller token must carry
    parameters: tuple[Parameter, ...] = ()
    function_key: bool = True
    caller_token: bool = True  # needs a caller token when CALLER_AUDIENCE is set
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not OPERATION_ID.fullmatch(self.operation_id):
            raise ValueError(f"operationId {self.operation_id!r}: a verb ({', '.join(OPERATION_VERBS)}) + PascalCase")
        if not self.success.examples:
            raise ValueError(f"{self.operation_id}: the 200 needs an example")
        if not self.tags:
            raise ValueError(f"{self.operation_id}: needs a tag (generators group the client by it)")


def _flag(name: str, description: str) -> Parameter:
    """A boolean query parameter; parse_flag accepts exactly OpenAPI's serialization, true / false."""
    return Parameter(name, "query", description, {"type": "boolean", "default": False}, example=True)


_NO_STORE = {
    "Cache-Control": {
        "description": "`no-store`: never cached (keys, token facts, directory data, problems).",
        "schema": {"type": "string", "const": "no-store"},
    }
}

# ---------------------------------------------------------------------------- examples of successes
_THUMBPRINT_1 = "3F2C8E0D6A41B7C95E10F4A2D8B36C7E91A05D44"
_THUMBPRINT_2 = "9A7B1C3D5E7F90A2B4C6D8E0F1A3B5C7D9E1F203"
_KEY_ID_1 = "6f1d3c5e-8a0b-4c2d-9e7f-1a2b3c4d5e6f"
_KEY_ID_2 = "0b9e8d7c-6f5a-4e3d-8c2b-1a0f9e8d7c6b"
_APP_OBJECT_ID = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
_VERSION_1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
_VERSION_2 = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


def _version_row(version: str, thumbprint: str, state: str, key_ids: list[str], *, in_use: bool) -> dict[str, Any]:
    renewed = version == _VERSION_2
    return {
        "version": version,
        "thumbprint": thumbprint,
        "state": state,
        "enabled": True,
        "notBefore": "2026-11-20T03:00:00Z" if renewed else "2025-12-01T03:00:00Z",
        "expiresOn": "2027-11-20T03:00:00Z" if renewed else "2026-12-01T03:00:00Z",
        "daysToExpiry": 347 if renewed else 23,
        "registered": bool(key_ids),
        "keyIds": key_ids,
        "inUse": in_use,
    }


_ROLLOVER_DONE = {
    "dryRun": False,
    "certificate": "broker-signing",
    "applicationObjectId": _APP_OBJECT_ID,
    "graceDays": 7,
    "versions": [
        _version_row(_VERSION_2, _THUMBPRINT_2, "current", [_KEY_ID_2], in_use=True),
        _version_row(_VERSION_1, _THUMBPRINT_1, "superseded", [_KEY_ID_1], in_use=False),
    ],
    "plan": {
        "add": [],
        "remove": [
            {
                "keyId": _KEY_ID_1,
                "version": _VERSION_1,
                "thumbprint": _THUMBPRINT_1,
                "reason": "superseded by version f0e1d2c3b4a5968778695a4b3c2d1e0f for 7 days",
                "afterTokenWithSuccessor": True,
            }
        ],
    },
    "successorToken": {"version": _VERSION_2, "obtained": True},
    "added": [{"version": _VERSION_2, "thumbprint": _THUMBPRINT_2, "keyId": _KEY_ID_2, "proofSignedBy": _VERSION_1}],
    "removed": [],
    "skipped": [
        {
            "action": "remove",
            "reason": "superseded, kept until the grace period has passed",
            "keyId": _KEY_ID_1,
            "version": _VERSION_1,
            "thumbprint": _THUMBPRINT_1,
        }
    ],
    "blocked": None,
    "noValidKeyAfter": "2027-11-20T03:00:00Z",
}
_ROLLOVER_DRY_RUN = {
    **_ROLLOVER_DONE,
    "dryRun": True,
    "versions": [
        _version_row(_VERSION_2, _THUMBPRINT_2, "current", [], in_use=False),
        _version_row(_VERSION_1, _THUMBPRINT_1, "superseded", [_KEY_ID_1], in_use=True),
    ],
    "plan": {"add": [{"version": _VERSION_2, "thumbprint": _THUMBPRINT_2}], "remove": []},
    "successorToken": None,
    "added": [],
    "skipped": [],
    "noValidKeyAfter": "2026-12-01T03:00:00Z",
}
_DIAGNOSTICS = {
    "credentialMode": "keyvault",
    "algorithm": "PS256",
    "certificate": {
        "name": "broker-signing",
        "version": _VERSION_2,
        "x5t": "mnscPV5_kKK0xtjg8aO1x9nh8gM",
        "x5t#S256": "N2Q4YzE0ZWI1ZDBmNDg4ZTk2ZGJhYjQwYzY0N2QzZTE",
        "notBefore": "2026-11-20T03:00:00Z",
        "expiresOn": "2027-11-20T03:00:00Z",
        "daysLeft": 347,
        "expiringSoon": False,
        "fallback": False,
        "currentVersion": _VERSION_2,
    },
    "token": {
        "expiresOn": "2026-12-07T14:05:12Z",
        "appid": "11111111-2222-3333-4444-555555555555",
        "tid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "roles": [],
    },
    "registration": {
        "asOf": "2026-12-07T13:05:12Z",
        "applicationObjectId": _APP_OBJECT_ID,
        "versions": _ROLLOVER_DONE["versions"],
        "noValidKeyAfter": "2027-11-20T03:00:00Z",
        "actionRequired": None,
        "lastRun": {"at": "2026-12-07T03:00:01Z", "trigger": "timer", "added": 1, "removed": 0, "blocked": None},
    },
}

# ---------------------------------------------------------------------------- operations
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
            f"`{COSMOS_KEYS_READWRITE}` also grants read-only keys."
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
        errors=(400, 401, 403, 404, 500, 502, 503, 504),
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
        operation_id="listGraphUsers",
        function="graph_users",
        method="get",
        path="/graph/users",
        summary="Microsoft Graph users",
        description=(
            "Users from Microsoft Graph `GET /v1.0/users`, following `@odata.nextLink` until `limit`. "
            "A well-formed `select` property Graph does not know is a 400 with `upstream: graph`."
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
            "expiry, `appid`, `tid` and `roles`, and (keyvault mode) the registration state of every "
            "certificate version on the app registration. Never a token, key or signature."
        ),
        success=Success(
            "Diagnostics",
            "The chain's facts (the certificate-less modes have no `algorithm`, `certificate` or `registration`).",
            {
                "keyvault": {
                    "summary": "keyvault mode, registration as the last rollover saw it",
                    "value": _DIAGNOSTICS,
                },
                "managedIdentity": {
                    "summary": "A certificate-less mode",
                    "value": {"credentialMode": "managed-identity", "token": _DIAGNOSTICS["token"]},
                },
            },
        ),
        errors=(400, 401, 403, 500, 502, 503, 504),
        roles=DIAGNOSTICS_ROLES,
        parameters=(
            _flag(
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
            "as `code` aside), a repeated `dryRun` or a request body is a 400 and changes nothing. A newest "
            "version whose private key may exist outside Key Vault (policy issuer not `Self`, or an exportable "
            "key) is never registered: 409 `CertificateKeyNotVaultBound`, nothing added or removed. Needs a "
            "function or admin key."
        ),
        success=Success(
            "RolloverReport",
            "The plan (dry run) or what was added, removed and skipped, and the state after the run.",
            {
                "registered": {
                    "summary": "A renewal registered; the old key kept for the grace period",
                    "value": _ROLLOVER_DONE,
                },
                "dryRun": {"summary": "dryRun=true: the renewal would be registered", "value": _ROLLOVER_DRY_RUN},
            },
        ),
        errors=(400, 401, 403, 409, 500, 502, 503, 504),
        roles=ROLLOVER_ROLES,
        parameters=(_flag("dryRun", "`true`: plan only, change nothing. Default `false`."),),
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


def problem_types() -> dict[str, type[ProblemError]]:
    """Every problem ``type`` URI the app can answer with, and its class."""
    found: dict[str, type[ProblemError]] = {}
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not ProblemError:
            found[PROBLEM_TYPE_PREFIX + cls.slug] = cls
    return dict(sorted(found.items()))


# The 500 of an unexpected failure (shared/http.py): no type of ours, RFC 9457 §4.2.1's default.
ABOUT_BLANK = "about:blank"
_INTERNAL_ERROR_EXAMPLE = {
    "type": ABOUT_BLANK,
    "title": "Internal Server Error",
    "status": 500,
    "detail": "The function failed unexpectedly; the error is in the function's log.",
}
# One example per problem type, by slug (build_document refuses a type without one). The details are
# the code's own wording for a typical case.
_PROBLEM_EXAMPLES: dict[str, dict[str, Any]] = {
    "bad-request": {"detail": "Query parameter 'limit' must be a whole number from 1 to 10000."},
    "unauthorized": {"detail": "The bearer token has expired."},
    "forbidden": {
        "detail": "The caller (appid 9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a) lacks the app role Users.Read: assign it "
        "to the calling application on the API's app registration."
    },
    "not-found": {"detail": "Cosmos DB account 'cosmos-archive' is not one this function serves (COSMOS_ACCOUNT_IDS)."},
    "conflict": {
        "detail": "The certificate rollover applies only to CREDENTIAL_MODE=keyvault; this function app runs in "
        "managed-identity mode, which has no certificate to roll."
    },
    "misconfigured": {
        "detail": "Fix these app settings: KEY_VAULT_URL: not set.",
        "missing": ["KEY_VAULT_URL"],
        "problems": [{"setting": "KEY_VAULT_URL", "reason": "not set"}],
    },
    "upstream-failed": {
        "detail": "Key Vault refused to sign with the certificate's key (Forbidden): grant the function's "
        "identity the Key Vault Crypto User role on the vault.",
        "upstream": "keyvault",
        "code": "Forbidden",
        "upstreamStatus": 403,
    },
    "upstream-throttled": {
        "detail": "arm is throttling listing the account keys; retry after the indicated delay.",
        "upstream": "arm",
        "code": "TooManyRequests",
    },
    "upstream-timeout": {"detail": "graph did not answer listing users in time.", "upstream": "graph"},
}


def _example_name(slug: str) -> str:
    return "Problem" + "".join(part.capitalize() for part in slug.split("-"))


def _problem_examples() -> dict[str, dict[str, Any]]:
    """components/examples: one per problem type (and the 500's about:blank), named Problem<Slug>."""
    types = problem_types()
    slugs = {cls.slug for cls in types.values()}
    if slugs != set(_PROBLEM_EXAMPLES):
        raise ValueError(f"problem examples and problem types differ: {sorted(slugs ^ set(_PROBLEM_EXAMPLES))}")
    examples = {}
    for uri, cls in types.items():
        value = {"type": uri, "title": cls.title, "status": cls.status, **_PROBLEM_EXAMPLES[cls.slug]}
        examples[_example_name(cls.slug)] = {"summary": f"{cls.status} {cls.slug}", "value": value}
    examples["ProblemInternalError"] = {"summary": "500 unexpected failure", "value": _INTERNAL_ERROR_EXAMPLE}
    return examples


_ERROR_DESCRIPTIONS = {
    400: "A query or route value the function refuses (`detail` names it), or a `select` property Graph "
    "rejected (`upstream: graph`).",
    403: 'The caller token lacks the route\'s app role (`WWW-Authenticate: Bearer error="insufficient_scope"`).',
    404: "The account is not one of `COSMOS_ACCOUNT_IDS` (a problem). When the function is disabled, the "
    "Functions host answers 404 itself, with no body.",
    409: "The request does not apply to the current configuration (e.g. a rollover in a certificate-less mode).",
    500: "An unexpected failure; the details are in the function's log only.",
    502: "An upstream refused or failed: `upstream`, its `code` and `upstreamStatus` say which and why.",
    503: "Settings are missing or invalid (`missing`, `problems`), or an upstream still throttled after the "
    "retries (`upstream`, `Retry-After`).",
    504: "An upstream did not answer in time (`upstream`).",
}
_WWW_AUTHENTICATE = {
    "description": "`Bearer` (with `error` when a token was presented), on caller-token refusals (RFC 6750 §3).",
    "schema": {"type": "string", "pattern": "^Bearer"},
}


_HOST_NOT_FOUND = {
    "description": "The function is disabled (app setting `AzureWebJobs.<function>.Disabled`): the Functions "
    "host answers, with no body."
}


def _unauthorized(op: Operation) -> dict[str, Any]:
    """401 is the Functions host's, without a body (no content), for a missing or wrong function key;
    the app's own 401 (caller token) has a problem body, but a client cannot tell the two apart before
    reading it, so no content is promised."""
    description = "The function key is missing or wrong: the Functions host answers, with no body."
    if op.caller_token and op.roles:
        description += (
            " With `CALLER_AUDIENCE` set, also a caller token missing or invalid: the app answers "
            f"`WWW-Authenticate: Bearer` and an `unauthorized` problem body (`{EXAMPLE_REF}ProblemUnauthorized`)."
        )
        return {"description": description, "headers": {"WWW-Authenticate": _WWW_AUTHENTICATE}}
    return {"description": description}


def _error_response(op: Operation, status: int) -> dict[str, Any]:
    if status == 401:
        return _unauthorized(op)
    examples = {
        _example_name(cls.slug): {"$ref": EXAMPLE_REF + _example_name(cls.slug)}
        for cls in problem_types().values()
        if cls.status == status
    }
    if status == 500:
        examples["ProblemInternalError"] = {"$ref": EXAMPLE_REF + "ProblemInternalError"}
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": ref("Problem"), "examples": examples}},
        "headers": dict(_NO_STORE),
    }
    if status == 403:
        response["headers"]["WWW-Authenticate"] = _WWW_AUTHENTICATE
    if status == 503:
        response["headers"]["Retry-After"] = {
            "description": "Whole seconds to wait, when an upstream was throttling (not for settings problems).",
            "schema": {"type": "integer", "minimum": 1},
        }
    return response


def _security(op: Operation) -> list[dict[str, list[str]]]:
    """Alternative requirement objects: a function key (header or query) alone, or — when
    ``CALLER_AUDIENCE`` is set — a key and a caller token with one app role, one object per role,
    so the list reads as "any of" (OpenAPI 3.1 §4.8.30: the array of a non-OAuth scheme lists the
    roles required, all of them)."""
    if not op.function_key:
        return []
    options: list[dict[str, list[str]]] = [{key: []} for key in (FUNCTION_KEY_HEADER, FUNCTION_KEY_QUERY)]
    if op.caller_token:
        for key in (FUNCTION_KEY_HEADER, FUNCTION_KEY_QUERY):
            options.extend({key: [], ENTRA_BEARER: [role]} for role in sorted(op.roles))
    return options


def _success(op: Operation) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": op.success.description,
        "content": {"application/json": {"schema": ref(op.success.schema), "examples": op.success.examples}},
    }
    if op.success.no_store:
        response["headers"] = dict(_NO_STORE)
    return response


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _success(op)}
    if op.function == "health":
        responses["503"] = {
            "description": "Settings are missing or invalid: each is named with the reason.",
            "content": {
                "application/json": {
                    "schema": ref("Health"),
                    "examples": {
                        "misconfigured": {
                            "summary": "A setting missing",
                            "value": {
                                "status": "misconfigured",
                                "callerAuth": "function-key",
                                "missing": ["KEY_VAULT_URL"],
                                "problems": [{"setting": "KEY_VAULT_URL", "reason": "not set"}],
                            },
                        }
                    },
                }
            },
            "headers": dict(_NO_STORE),
        }
    else:
        for status in op.errors:
            responses[str(status)] = _error_response(op, status)
    # Every route: a disabled function (app setting AzureWebJobs.<name>.Disabled) is the host's bare 404.
    responses.setdefault("404", _HOST_NOT_FOUND)
    responses = dict(sorted(responses.items()))
    description = op.description
    if op.caller_token and op.roles:
        description += (
            f"\n\nWith `CALLER_AUDIENCE` set, also a caller bearer token with one of these app roles: "
            f"{', '.join(f'`{r}`' for r in sorted(op.roles))}."
        )
    result: dict[str, Any] = {
        "operationId": op.operation_id,
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
                **({"example": p.example} if p.example is not None else {}),
            }
            for p in op.parameters
        ]
    return result


# ---------------------------------------------------------------------------- component schemas
_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_MOMENT = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601 UTC; null when unknown."}
_STRINGS = {"type": "array", "items": _STRING}


def _member_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_").upper()


def _enum(description: str, values: list[str], names: list[str] | None = None) -> dict[str, Any]:
    """A named enum. ``x-enum-varnames`` (UPPER_SNAKE, from the values unless given) makes both
    generators name the members alike (openapi-python-client upper-cases, datamodel-code-generator
    keeps the value's spelling otherwise)."""
    names = names or [_member_name(v) for v in values]
    if len(set(names)) != len(values):
        raise ValueError(f"enum member names collide: {names}")
    return {"type": "string", "description": description, "enum": values, "x-enum-varnames": names}


def _object(
    description: str,
    properties: dict[str, Any],
    required: str = "",
    *,
    additional: Any = None,
) -> dict[str, Any]:
    """An object component. ``additional`` is only set where the answer really carries fields this
    document cannot list (ARM's, Graph's, a problem's extensions). Elsewhere it stays open (unset),
    so a field added later does not break a generated client; the end-to-end suite validates every
    response against a closed copy (tests/e2e), so no field the code returns goes undocumented."""
    names = required.split()  # space-separated: property names have no spaces
    missing = set(names) - set(properties)
    if missing:
        raise ValueError(f"required but not a property: {sorted(missing)}")
    schema: dict[str, Any] = {"type": "object", "description": description}
    if names:
        schema["required"] = names
    schema["properties"] = properties
    if additional is not None:
        schema["additionalProperties"] = additional
    return schema


def _schemas() -> dict[str, Any]:
    types = problem_types()
    version_row = _object(
        "One certificate version in Key Vault and its registration on the app registration.",
        {
            "version": {"type": "string", "description": "Key Vault's version id."},
            "thumbprint": {"type": "string", "description": "SHA-1, uppercase hex, as the portal shows it."},
            "state": ref("VersionState"),
            "enabled": {"type": "boolean"},
            "notBefore": _MOMENT,
            "expiresOn": _MOMENT,
            "daysToExpiry": {"type": ["integer", "null"], "description": "Whole days left, rounded down."},
            "registered": {"type": "boolean", "description": "A key credential of the app carries its thumbprint."},
            "keyIds": {"type": "array", "items": _STRING, "description": "Those key credentials' keyId."},
            "inUse": {"type": "boolean", "description": "This instance signs its assertions with it."},
        },
        "version thumbprint state enabled notBefore expiresOn daysToExpiry registered keyIds inUse",
    )
    return {
        "Problem": _object(
            "RFC 9457 problem details. Match on `type` (or `status` + `code`), never on `title` or `detail`; "
            "`upstream` and `code` name the failing upstream and its own error code. Other members are "
            "extensions of the type (e.g. `thumbprint`, `version` of a rollover refusal).",
            {
                "type": ref("ProblemType"),
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "upstream": ref("Upstream"),
                "code": {"type": "string", "description": "The upstream's own error code, or ours."},
                "upstreamStatus": {"type": "integer", "description": "The status the upstream answered."},
                "missing": {"type": "array", "items": _STRING, "description": "Settings missing or invalid."},
                "problems": {"type": "array", "items": ref("SettingProblem")},
            },
            "type title status detail",
            additional=True,
        ),
        "ProblemType": {
            **_enum(
                "The problem type: a `tag:` URI (RFC 4151) ending in its name; `about:blank` for an "
                "unexpected failure (500). In enum order: "
                + "; ".join(f"`{cls.slug}` ({cls.status}) {cls.title}" for cls in types.values())
                + "; `about:blank` (500) Internal Server Error.",
                [*types, ABOUT_BLANK],
                [_member_name(cls.slug) for cls in types.values()] + ["ABOUT_BLANK"],
            ),
            # datamodel-code-generator's keyword: descriptions in enum order.
            "x-enum-descriptions": [cls.title for cls in types.values()] + ["Unexpected failure (500)"],
        },
        "Upstream": _enum("The upstream that failed.", [str(u) for u in Upstream]),
        "SettingProblem": _object(
            "An app setting that is missing or invalid, and why.",
            {"setting": {"type": "string"}, "reason": {"type": "string"}},
            "setting reason",
        ),
        "Health": _object(
            "The settings check.",
            {
                "status": ref("HealthStatus"),
                "callerAuth": ref("CallerAuth"),
                "missing": {"type": "array", "items": _STRING},
                "problems": {"type": "array", "items": ref("SettingProblem")},
                "rollover": ref("RolloverSettings"),
            },
            "status callerAuth",
        ),
        "HealthStatus": _enum("`ok`: 200; `misconfigured`: 503.", ["ok", "misconfigured"]),
        "CallerAuth": _enum(
            "`entra`: `CALLER_AUDIENCE` is set, callers also need an Entra application token; "
            "`function-key`: a function key is all a caller needs.",
            ["entra", "function-key"],
        ),
        "RolloverSettings": _object(
            "Settings only the certificate rollover needs, missing or invalid (the instance stays healthy).",
            {
                "status": ref("HealthStatus"),
                "missing": {"type": "array", "items": _STRING},
                "problems": {"type": "array", "items": ref("SettingProblem")},
            },
            "status missing problems",
        ),
        "CosmosKeyType": _enum("Which keys: ARM `readonlykeys` or `listKeys`.", [str(t) for t in KeyType]),
        "CosmosKeys": _object(
            "A Cosmos DB account's keys: ARM's key fields verbatim beside the account and key type.",
            {
                "account": {"type": "string", "pattern": ACCOUNT_NAME_PATTERN},
                "type": ref("CosmosKeyType"),
                "primaryMasterKey": {"type": "string", "description": "`readwrite` only."},
                "secondaryMasterKey": {"type": "string", "description": "`readwrite` only."},
                "primaryReadonlyMasterKey": {"type": "string"},
                "secondaryReadonlyMasterKey": {"type": "string"},
            },
            "account type primaryReadonlyMasterKey secondaryReadonlyMasterKey",
            additional={"type": "string", "description": "Other ARM key fields, verbatim."},
        ),
        "Users": _object(
            "A page of users, up to `limit`.",
            {
                "value": {"type": "array", "maxItems": MAX_LIMIT, "items": ref("User")},
                "count": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT},
                "truncated": {"type": "boolean"},
            },
            "value count truncated",
        ),
        "User": _object(
            "A Microsoft Graph user as Graph answers it: its default properties, or those `select` named "
            "(any Graph user property, so others may appear).",
            {
                "id": {"type": "string"},
                "displayName": _NULLABLE_STRING,
                "givenName": _NULLABLE_STRING,
                "surname": _NULLABLE_STRING,
                "userPrincipalName": _NULLABLE_STRING,
                "mail": _NULLABLE_STRING,
                "jobTitle": _NULLABLE_STRING,
                "mobilePhone": _NULLABLE_STRING,
                "officeLocation": _NULLABLE_STRING,
                "preferredLanguage": _NULLABLE_STRING,
                "businessPhones": {"type": "array", "items": _STRING},
            },
            additional=True,
        ),
        "Diagnostics": _object(
            "Non-secret facts of the credential chain.",
            {
                "credentialMode": ref("CredentialMode"),
                "algorithm": ref("AssertionAlgorithm"),
                "certificate": ref("DiagnosticsCertificate"),
                "token": ref("DiagnosticsToken"),
                "registration": ref("RegistrationStatus"),
            },
            "credentialMode token",
        ),
        "CredentialMode": _enum(
            "How the function proves itself to Entra (`CREDENTIAL_MODE`).", [str(m) for m in CredentialMode]
        ),
        "AssertionAlgorithm": _enum(
            "The client assertion's JWS algorithm (keyvault mode).", [str(a) for a in Algorithm]
        ),
        "DiagnosticsCertificate": _object(
            "The certificate version that signs the assertions (keyvault mode).",
            {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "x5t": {"type": "string", "description": "SHA-1 thumbprint, base64url, as in the JWT header."},
                "x5t#S256": {"type": "string", "description": "SHA-256 thumbprint, base64url."},
                "notBefore": _MOMENT,
                "expiresOn": _MOMENT,
                "daysLeft": {"type": ["integer", "null"], "description": "Whole days left, rounded down."},
                "expiringSoon": {"type": "boolean", "description": "Fewer than 30 days left."},
                "fallback": {
                    "type": "boolean",
                    "description": "Signing with an older version: the newest is unusable.",
                },
                "currentVersion": _NULLABLE_STRING,
            },
            "name version x5t x5t#S256 notBefore expiresOn daysLeft expiringSoon fallback currentVersion",
        ),
        "DiagnosticsToken": _object(
            "The ARM token's expiry and claims (the token itself never leaves the function).",
            {
                "expiresOn": _MOMENT,
                "appid": _NULLABLE_STRING,
                "tid": _NULLABLE_STRING,
                "roles": {"type": "array", "items": _STRING},
            },
            "expiresOn appid tid roles",
        ),
        "RegistrationStatus": _object(
            "Keyvault mode: every certificate version and its registration on the app, as the last rollover "
            "on this instance saw it (or read now with `registration=true`), and that run. `asOf` null: no "
            "rollover has run on this instance yet (`detail` says so). `error`: reading it failed; the rest "
            "of the diagnostics stand.",
            {
                "asOf": _MOMENT,
                "detail": {"type": "string"},
                "applicationObjectId": {"type": "string"},
                "versions": {"type": "array", "items": ref("RolloverVersion")},
                "noValidKeyAfter": _MOMENT,
                "actionRequired": {**_NULLABLE_STRING, "description": "Why the rollover is blocked, if it is."},
                "lastRun": _nullable("RolloverRun"),
                "error": ref("RegistrationError"),
            },
        ),
        "RegistrationError": _object(
            "Why the registration state could not be read (a problem's main members).",
            {
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "upstream": ref("Upstream"),
                "code": {"type": "string"},
            },
            "status detail",
        ),
        "RolloverRun": _object(
            "The last real (not dry) rollover run on this instance: counts, and `failed` or `blocked`.",
            {
                "at": _MOMENT,
                "trigger": {"type": "string", "description": "`http`, `timer`, `timer (past due)` or `eventgrid`."},
                "added": {"type": "integer", "minimum": 0},
                "removed": {"type": "integer", "minimum": 0},
                "blocked": {**_NULLABLE_STRING, "description": "Why it could not proceed (operator action)."},
                "failed": ref("RolloverFailure"),
            },
            "at trigger added removed",
        ),
        "RolloverFailure": _object(
            "How the run failed.",
            {"status": {"type": "integer"}, "upstream": _NULLABLE_STRING, "code": _NULLABLE_STRING},
            "status upstream code",
        ),
        "RolloverReport": _object(
            "What a rollover run planned and did.",
            {
                "dryRun": {"type": "boolean"},
                "certificate": {"type": "string", "description": "The Key Vault certificate's name."},
                "applicationObjectId": {"type": "string"},
                "graceDays": {"type": "integer", "minimum": 0},
                "versions": {"type": "array", "items": ref("RolloverVersion")},
                "plan": ref("RolloverPlan"),
                "successorToken": _nullable("SuccessorToken"),
                "added": {"type": "array", "items": ref("AddedKey")},
                "removed": {"type": "array", "items": ref("RemovedKey")},
                "skipped": {"type": "array", "items": ref("SkippedAction")},
                "blocked": {**_NULLABLE_STRING, "description": "Why the rollover cannot proceed (operator action)."},
                "noValidKeyAfter": _MOMENT,
            },
            "dryRun certificate applicationObjectId graceDays versions plan successorToken added removed skipped "
            "blocked noValidKeyAfter",
        ),
        "RolloverVersion": version_row,
        "VersionState": _enum(
            "`current`: the newest enabled, valid version (the successor); `superseded`: an older valid one; "
            "`newer`: newer than the successor but not usable; `expired`, `disabled`, `not-yet-valid`.",
            ["current", "superseded", "expired", "disabled", "not-yet-valid", "newer"],
        ),
        "RolloverPlan": _object(
            "What the plan would change (dry run) or what remained to change after the run.",
            {
                "add": {"type": "array", "maxItems": 1, "items": ref("PlannedAddition")},
                "remove": {"type": "array", "items": ref("PlannedRemoval")},
            },
            "add remove",
        ),
        "PlannedAddition": _object(
            "The version addKey registers.",
            {"version": {"type": "string"}, "thumbprint": {"type": "string"}},
            "version thumbprint",
        ),
        "PlannedRemoval": _object(
            "A key credential removeKey retires.",
            {
                "keyId": {"type": "string"},
                "version": {"type": "string"},
                "thumbprint": {"type": "string"},
                "reason": {"type": "string"},
                "afterTokenWithSuccessor": {
                    "type": "boolean",
                    "description": "Superseded but valid: removed only once a token was obtained with the successor.",
                },
            },
            "keyId version thumbprint reason afterTokenWithSuccessor",
        ),
        "AddedKey": _object(
            "A version this run registered.",
            {
                "version": {"type": "string"},
                "thumbprint": {"type": "string"},
                "keyId": {**_NULLABLE_STRING, "description": "null when the write failed but took effect anyway."},
                "proofSignedBy": {"type": "string", "description": "The registered version that signed the proof."},
            },
            "version thumbprint keyId proofSignedBy",
        ),
        "RemovedKey": _object(
            "A key credential this run removed.",
            {
                "keyId": {"type": "string"},
                "version": {"type": "string"},
                "thumbprint": {"type": "string"},
                "reason": {"type": "string"},
                "proofSignedBy": {"type": "string"},
            },
            "keyId version thumbprint reason proofSignedBy",
        ),
        "SkippedAction": _object(
            "An addition or removal left for later, or never done (e.g. another certificate's key), and why.",
            {
                "action": ref("RolloverAction"),
                "reason": {"type": "string"},
                "keyId": {"type": "string"},
                "version": {"type": "string"},
                "thumbprint": {"type": "string"},
            },
            "action reason",
        ),
        "RolloverAction": _enum("What was skipped.", ["add", "remove"]),
        "SuccessorToken": _object(
            "Whether this run obtained an Entra token with an assertion signed by the newest version.",
            {"version": {"type": "string"}, "obtained": {"type": "boolean"}},
            "version obtained",
        ),
        "OpenApiDocument": _object(
            "An OpenAPI 3.1 document.",
            {
                "openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"},
                "info": ref("OpenApiInfo"),
                "paths": ref("OpenApiPaths"),
            },
            "openapi info paths",
            additional=True,
        ),
        "OpenApiInfo": _object(
            "The document's title and version.",
            {"title": {"type": "string"}, "version": {"type": "string"}},
            "title version",
            additional=True,
        ),
        "OpenApiPaths": {
            "type": "object",
            "description": "Path templates (under the server URL) and their operations.",
            "additionalProperties": True,
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
            "`CALLER_AUDIENCE` set, also an Entra bearer token carrying one of the route's app roles "
            f"(`{ROLES_EXTENSION}`; one security requirement per role). Errors are `application/problem+json` "
            "(RFC 9457). The Functions host answers some requests itself, with no body: 401 for a missing or "
            "wrong function key, 404 for a path the app does not serve or a disabled function.",
        },
        "servers": [
            {
                "url": f"https://{{host}}/{ROUTE_PREFIX}",
                "description": "The function app in Azure.",
                "variables": {
                    "host": {
                        "default": "func-broker.azurewebsites.net",
                        "description": "The function app's host: `azd env get-value FUNCTION_APP_URL` without `https://`.",
                    }
                },
            },
            {
                "url": f"http://{{host}}/{ROUTE_PREFIX}",
                "description": "The local host (`python -m emulator.host`, `func start`) beside the emulator.",
                "variables": {"host": {"default": "localhost:7071", "description": "Host and port of the local host."}},
            },
        ],
        "tags": [
            {"name": "keys", "description": "Cosmos DB account keys through ARM."},
            {"name": "directory", "description": "Microsoft Graph."},
            {"name": "operations", "description": "Health, diagnostics, rollover, this document."},
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "examples": _problem_examples(),
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
                    "credentials) for one of its audiences, issued by `ENTRA_TENANT_ID`, carrying the app role "
                    "its requirement lists in `roles`.",
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
