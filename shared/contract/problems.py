"""Problem types (RFC 9457) and the error responses: from the ``ProblemError`` classes, one example each."""

from __future__ import annotations

from typing import Any

from ..errors import PROBLEM_TYPE_PREFIX, ProblemError
from .model import EXAMPLE_REF, NO_STORE, Operation, ref


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
    "local-auth-disabled": {
        "detail": "Local (key) authentication is disabled on the storage account 'stgorders': its keys cannot be "
        "used there, so none are served. Use Microsoft Entra ID with the data-plane role Storage Blob Data Reader "
        "or Storage Blob Data Contributor (or the Queue, Table and File data roles) instead."
    },
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


def problem_examples() -> dict[str, dict[str, Any]]:
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
    403: 'The caller token lacks the route\'s app role (`WWW-Authenticate: Bearer error="insufficient_scope"`), '
    "or the `tenant` asked for is not one the broker may act in (`ENTRA_ALLOWED_TENANTS`; no challenge).",
    404: "The account is not one of `COSMOS_ACCOUNT_IDS`, or the resource is not listed in `RESOURCE_KEYS` (a "
    "problem). When the function is disabled, the Functions host answers 404 itself, with no body.",
    409: "The request does not apply to the current configuration (e.g. a rollover in a certificate-less mode), "
    "or the resource's local authentication is disabled (`local-auth-disabled`: no key; `detail` names the "
    "Entra data-plane role to use instead).",
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


HOST_NOT_FOUND = {
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


def error_response(op: Operation, status: int) -> dict[str, Any]:
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
        "headers": dict(NO_STORE),
    }
    if status == 403:
        response["headers"]["WWW-Authenticate"] = _WWW_AUTHENTICATE
    if status == 503:
        response["headers"]["Retry-After"] = {
            "description": "Whole seconds to wait, when an upstream was throttling (not for settings problems).",
            "schema": {"type": "integer", "minimum": 1},
        }
    return response
