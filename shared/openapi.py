"""The HTTP contract as an OpenAPI 3.1 document, generated from the code it describes.

The routes, schemas and examples are declared in shared/contract/ (model.py: what an operation is
declared with; operations.py: the routes; schemas.py: the components; examples.py: the successes;
problems.py: problem types and error responses); this module puts them together as OpenAPI.

Every constraint in it is read from the module that enforces it (the account-name pattern, the key
types, the ``limit`` range, the ``select`` grammar, the app roles, the problem types), so a changed
rule changes the document. What cannot be read from code — which routes exist, which statuses each
answers, what a success looks like — is declared once in ``OPERATIONS`` (operations.py) and checked
against ``function_app``'s registered functions by tests/test_openapi.py; tests/e2e validates every
response the end-to-end suite receives against the document. ``openapi.json`` at the repository
root is this document as committed (a test keeps them equal); ``GET /api/openapi.json`` serves it.

The document is written for client generators (tests/test_openapi_clients.py runs
openapi-python-client and datamodel-code-generator on it), so it is shaped by construction:

* every operation has a verb-form ``operationId`` and an example of its 200, every parameter an
  example (contract/model.py refuses an ``Operation`` or ``Parameter`` without); every problem type has an
  example (contract/problems.py, checked when building);
* every enum and every object is a named component (contract/schemas.py), referenced where used — an
  inline enum or object would be named by each generator after its first use, and two uses then
  conflict; ``Parameter`` refuses an inline enum, and a test walks the document for any left inline;
* a flag is a ``boolean`` (OpenAPI's form style sends ``true``/``false``, what ``parse_flag`` reads);
* the host's own answers (401 for a missing or wrong function key, 404 for a disabled function) have
  no body, so their responses declare no content: a generated client must not try to parse one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .contract import (
    ABOUT_BLANK,
    HOST_NOT_FOUND,
    NO_STORE,
    OPERATION_ID,
    OPERATION_VERBS,
    OPERATIONS,
    TITLE,
    VERSION,
    Operation,
    Parameter,
    Success,
    component_schemas,
    error_response,
    problem_examples,
    problem_types,
    ref,
)

FUNCTION_KEY_HEADER = "functionKeyHeader"
FUNCTION_KEY_QUERY = "functionKeyQuery"
ENTRA_BEARER = "entraBearer"
ROLES_EXTENSION = "x-app-roles"
# host.json's extensions.http.routePrefix (a test keeps them equal).
ROUTE_PREFIX = "api"


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
        response["headers"] = dict(NO_STORE)
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
            "headers": dict(NO_STORE),
        }
    else:
        for status in op.errors:
            responses[str(status)] = error_response(op, status)
    # Every route: a disabled function (app setting AzureWebJobs.<name>.Disabled) is the host's bare 404.
    responses.setdefault("404", HOST_NOT_FOUND)
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
            {"name": "keys", "description": "Keys of Cosmos DB accounts and other listed resources through ARM."},
            {"name": "directory", "description": "Microsoft Graph."},
            {"name": "operations", "description": "Health, diagnostics, rollover, this document."},
        ],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "examples": problem_examples(),
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


__all__ = [
    "ABOUT_BLANK",
    "ENTRA_BEARER",
    "FUNCTION_KEY_HEADER",
    "FUNCTION_KEY_QUERY",
    "OPERATIONS",
    "OPERATION_ID",
    "OPERATION_VERBS",
    "ROLES_EXTENSION",
    "ROUTE_PREFIX",
    "Operation",
    "Parameter",
    "Success",
    "build_document",
    "document_json",
    "problem_types",
    "ref",
]


if __name__ == "__main__":  # python -m shared.openapi > openapi.json
    print(document_json(), end="")
