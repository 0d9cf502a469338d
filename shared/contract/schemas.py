"""The component schemas: every enum and object the operations use, named (generators name models after them)."""

from __future__ import annotations

import re
from typing import Any

from ..downstream import MAX_LIMIT
from ..errors import Upstream
from ..key_kinds import KeyType
from ..settings import Algorithm, CredentialMode
from .model import ACCOUNT_NAME_PATTERN, TENANT_PATTERN, nullable, ref
from .problems import ABOUT_BLANK, problem_types
from .resource_keys import schemas as resource_keys_schemas

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_EXCESS_GRAPH_PERMISSIONS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Graph permissions the app holds that write applications (it needs none): remove them.",
}
_FOREIGN_CREDENTIALS = {
    "type": "array",
    "items": ref("ForeignCredential"),
    "description": "Credentials of the app that are no version of the certificate: each needs the operator.",
}
_MOMENT = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601 UTC; null when unknown."}


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


def component_schemas() -> dict[str, Any]:
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
        # /api/keys: one variant per kind and every key action's answer, from the kinds table.
        **resource_keys_schemas(),
        "Problem": _object(
            "RFC 9457 problem details. Match on `type` (or `status` + `code`), never on `title` or `detail`; "
            "`upstream` and `code` name the failing upstream and its own error code. Members added later "
            "are extensions (RFC 9457 §3.2): ignore what you do not know.",
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
                "thumbprint": {"type": "string", "description": "Rollover refusals: the version's SHA-1 thumbprint."},
                "version": {"type": "string", "description": "Rollover refusals: the certificate version."},
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
                "telemetry": ref("TelemetrySettings"),
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
        "TelemetrySettings": _object(
            "Telemetry exporter endpoints that would send telemetry in plain text (`http://` to anything but a "
            "loopback address), named by setting, never by value: telemetry is off. The routes keep serving and "
            "the status is not affected.",
            {
                "status": ref("TelemetryStatus"),
                "missing": {"type": "array", "items": _STRING},
                "problems": {"type": "array", "items": ref("SettingProblem")},
            },
            "status missing problems",
        ),
        "TelemetryStatus": _enum("`off`: telemetry is not exported until the named settings are fixed.", ["off"]),
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
                "tenants": {
                    "type": "array",
                    "description": "Each tenant of `ENTRA_ALLOWED_TENANTS` (not in managed-identity mode).",
                    "items": ref("TenantDiagnostics"),
                },
                "registration": ref("RegistrationStatus"),
                "lastProblems": {
                    "type": "array",
                    "items": ref("ProblemRecord"),
                    "description": "The last problems this instance answered that an operator may have to act on "
                    "(upstream failures, and problems with a hint), newest first, at most 20.",
                },
            },
            "credentialMode token lastProblems",
        ),
        "ProblemRecord": _object(
            "A problem this instance answered: what the caller was told (`detail`) and the operator's full hint "
            "(`hint`: the deployment's identifiers a caller's detail leaves out, as on the failure's log line). "
            "Non-secret.",
            {
                "at": _MOMENT,
                "source": {"type": "string", "description": "The route, or the rollover trigger, that answered it."},
                "status": {"type": "integer"},
                "type": {"type": "string"},
                "upstream": {**_NULLABLE_STRING, "description": "The upstream that failed, if one did."},
                "code": {**_NULLABLE_STRING, "description": "The upstream's own error code, if it gave one."},
                "detail": {"type": "string"},
                "hint": {"type": "string"},
            },
            "at source status type upstream code detail hint",
        ),
        "TenantDiagnostics": _object(
            "A customer tenant of `ENTRA_ALLOWED_TENANTS`: whether a Graph token could be obtained there, and "
            "where its administrator consents to the app.",
            {
                "tenantId": {"type": "string", "pattern": TENANT_PATTERN},
                "adminConsentUrl": {
                    "type": "string",
                    "format": "uri",
                    "description": "`{authority}/{tenantId}/adminconsent?client_id={client id}`: what an "
                    "administrator of that tenant opens to consent to the app.",
                },
                "tokenObtained": {"type": "boolean"},
                "token": ref("TenantToken"),
                "error": ref("TenantTokenError"),
            },
            "tenantId adminConsentUrl tokenObtained",
        ),
        "TenantToken": _object(
            "The tenant's Graph token: expiry and claims (the token itself never leaves the function).",
            {"expiresOn": _MOMENT, "tid": _NULLABLE_STRING, "roles": {"type": "array", "items": _STRING}},
            "expiresOn tid roles",
        ),
        "TenantTokenError": _object(
            "Why no token was obtained in the tenant (Entra's refusal, e.g. missing consent).",
            {
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "upstream": ref("Upstream"),
                "code": {"type": "string"},
            },
            "status detail",
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
                "refused": {"type": "array", "items": ref("RefusedVersion")},
                "excessGraphPermissions": _EXCESS_GRAPH_PERMISSIONS,
                "foreignCredentials": _FOREIGN_CREDENTIALS,
                "actionRequired": {**_NULLABLE_STRING, "description": "What needs the operator, if anything."},
                "lastRun": nullable("RolloverRun"),
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
                "hint": {"type": "string", "description": "The operator's full hint (the deployment's identifiers)."},
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
                "refused": {"type": "array", "items": _STRING, "description": "Versions it refused to register."},
                "blocked": {**_NULLABLE_STRING, "description": "What needs the operator, if anything."},
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
                "successorToken": nullable("SuccessorToken"),
                "added": {"type": "array", "items": ref("AddedKey")},
                "removed": {"type": "array", "items": ref("RemovedKey")},
                "skipped": {"type": "array", "items": ref("SkippedAction")},
                "refused": {
                    "type": "array",
                    "items": ref("RefusedVersion"),
                    "description": "Versions never registered: their key may exist outside Key Vault.",
                },
                "excessGraphPermissions": _EXCESS_GRAPH_PERMISSIONS,
                "foreignCredentials": _FOREIGN_CREDENTIALS,
                "blocked": {**_NULLABLE_STRING, "description": "What needs the operator; null: nothing."},
                "noValidKeyAfter": _MOMENT,
            },
            "dryRun certificate applicationObjectId graceDays versions plan successorToken added removed skipped "
            "refused excessGraphPermissions foreignCredentials blocked noValidKeyAfter",
        ),
        "RolloverVersion": version_row,
        "ForeignCredential": _object(
            "A credential of the app that is no version of the certificate: a certificate from elsewhere (e.g. "
            "one a keys/sign holder added with addKey) or a client secret. Never removed by the rollover; "
            "the operator checks who added it (docs/custody.md).",
            {
                "keyId": {"type": "string"},
                "type": {"type": "string", "description": "Graph's keyCredential `type`, or `Password`."},
                "thumbprint": {"type": "string", "description": "SHA-1, upper-case hex, for a certificate."},
                "displayName": {"type": "string"},
                "endDateTime": {"type": "string", "format": "date-time"},
            },
            "keyId",
        ),
        "RefusedVersion": _object(
            "A version the rollover never registers, and why (custody: its key may exist outside Key Vault).",
            {"version": {"type": "string"}, "thumbprint": {"type": "string"}, "reason": {"type": "string"}},
            "version thumbprint reason",
        ),
        "VersionState": _enum(
            "`current`: the newest enabled, valid version the rollover accepts (the successor); `superseded`: "
            "an older valid one; `refused`: its key may exist outside Key Vault, never registered; `newer`: "
            "newer than the successor but not usable; `expired`, `disabled`, `not-yet-valid`.",
            ["current", "superseded", "refused", "expired", "disabled", "not-yet-valid", "newer"],
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
                "code": {"type": "string", "description": "`CertificateKeyNotVaultBound` for a custody refusal."},
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
