"""Examples of each success, in the shapes the code answers (tests validate them against the schemas)."""

from __future__ import annotations

from typing import Any

_THUMBPRINT_1 = "3F2C8E0D6A41B7C95E10F4A2D8B36C7E91A05D44"
_THUMBPRINT_2 = "9A7B1C3D5E7F90A2B4C6D8E0F1A3B5C7D9E1F203"
_KEY_ID_1 = "6f1d3c5e-8a0b-4c2d-9e7f-1a2b3c4d5e6f"
_KEY_ID_2 = "0b9e8d7c-6f5a-4e3d-8c2b-1a0f9e8d7c6b"
_APP_OBJECT_ID = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
_VERSION_1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
_VERSION_2 = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CUSTOMER_TENANT = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
_UNCONSENTED_TENANT = "2b3c4d5e-6f70-4182-9394-a5b6c7d8e9f0"


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


ROLLOVER_DONE = {
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
    "refused": [],
    "excessGraphPermissions": [],
    "foreignCredentials": [],
    "blocked": None,
    "noValidKeyAfter": "2027-11-20T03:00:00Z",
}
ROLLOVER_DRY_RUN = {
    **ROLLOVER_DONE,
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
_REFUSAL = (
    "version f0e1d2c3b4a5968778695a4b3c2d1e0f was created before the certificate policy's last change: "
    "its key may have been imported; disable it and create a new version"
)
ROLLOVER_REFUSED = {
    **ROLLOVER_DRY_RUN,
    "versions": [
        _version_row(_VERSION_2, _THUMBPRINT_2, "refused", [], in_use=False),
        _version_row(_VERSION_1, _THUMBPRINT_1, "current", [_KEY_ID_1], in_use=True),
    ],
    "plan": {"add": [], "remove": []},
    "skipped": [
        {
            "action": "add",
            "reason": _REFUSAL,
            "version": _VERSION_2,
            "thumbprint": _THUMBPRINT_2,
            "code": "CertificateKeyNotVaultBound",
        }
    ],
    "refused": [{"version": _VERSION_2, "thumbprint": _THUMBPRINT_2, "reason": _REFUSAL}],
    "blocked": _REFUSAL,
}
DIAGNOSTICS = {
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
        "appid": _CLIENT_ID,
        "tid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "roles": [],
    },
    "tenants": [
        {
            "tenantId": CUSTOMER_TENANT,
            "adminConsentUrl": f"https://login.microsoftonline.com/{CUSTOMER_TENANT}/adminconsent?client_id={_CLIENT_ID}",
            "tokenObtained": True,
            "token": {"expiresOn": "2026-12-07T14:05:13Z", "tid": CUSTOMER_TENANT, "roles": ["User.Read.All"]},
        },
        {
            "tenantId": _UNCONSENTED_TENANT,
            "adminConsentUrl": (
                f"https://login.microsoftonline.com/{_UNCONSENTED_TENANT}/adminconsent?client_id={_CLIENT_ID}"
            ),
            "tokenObtained": False,
            "error": {
                "status": 502,
                "detail": "Entra refused the token request in the requested tenant (AADSTS7000229): the app "
                "registration is not consented there. An administrator of that tenant must consent to the app "
                "(admin consent); the broker's operator finds the admin-consent URL in /api/diagnostics and the "
                "function's log.",
                "upstream": "entra",
                "code": "AADSTS7000229",
            },
        },
    ],
    "registration": {
        "asOf": "2026-12-07T13:05:12Z",
        "applicationObjectId": _APP_OBJECT_ID,
        "versions": ROLLOVER_DONE["versions"],
        "noValidKeyAfter": "2027-11-20T03:00:00Z",
        "refused": [],
        "excessGraphPermissions": [],
        "foreignCredentials": [],
        "actionRequired": None,
        "lastRun": {
            "at": "2026-12-07T03:00:01Z",
            "trigger": "timer",
            "added": 1,
            "removed": 0,
            "refused": [],
            "blocked": None,
        },
    },
    "lastProblems": [
        {
            "at": "2026-12-07T12:41:09Z",
            "source": "cosmos-keys",
            "status": 502,
            "type": "tag:keyvault-assertion-broker,2026:problems/upstream-failed",
            "upstream": "arm",
            "code": "AuthorizationFailed",
            "detail": "arm answered 403 to listKeys on Cosmos DB account 'orders' (AuthorizationFailed). Grant the "
            "app registration's service principal (ENTRA_CLIENT_ID) the DocumentDB Account Contributor "
            "(5bd9cd88-fe45-4216-938b-f97437e15450) role on the Cosmos DB account.",
            "hint": "arm answered 403 to listKeys on Cosmos DB account 'orders' (AuthorizationFailed) [POST "
            "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data"
            "/providers/Microsoft.DocumentDB/databaseAccounts/orders/listKeys]. Grant the service principal of app "
            "registration 11111111-2222-3333-4444-555555555555 in tenant aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee the "
            "DocumentDB Account Contributor (5bd9cd88-fe45-4216-938b-f97437e15450) role on the Cosmos DB account "
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data/providers/"
            "Microsoft.DocumentDB/databaseAccounts/orders.",
        }
    ],
}
