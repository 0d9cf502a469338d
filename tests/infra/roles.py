"""Built-in Azure role definition IDs, mirroring SPEC "Deployment facts" and infra/app/roles.json.

One table for the tests: every role assignment in the templates must resolve to an entry here,
with the same GUID. Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
"""

from __future__ import annotations

from typing import Final

# key in infra/app/roles.json -> (role name as SPEC/Azure spell it, role definition GUID)
ROLES: Final[dict[str, tuple[str, str]]] = {
    "keyVaultCryptoUser": ("Key Vault Crypto User", "12338af0-0e69-4776-bea7-57ae8d297424"),
    "keyVaultReader": ("Key Vault Reader", "21090545-7ca7-4776-b22c-e363652d74d2"),
    "keyVaultCertificatesOfficer": ("Key Vault Certificates Officer", "a4417e6f-fecd-4de8-b567-7b0420556985"),
    "storageBlobDataOwner": ("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
    "storageQueueDataContributor": ("Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"),
    "storageTableDataContributor": ("Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"),
    "monitoringMetricsPublisher": ("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
    "cosmosDbAccountReaderRole": ("Cosmos DB Account Reader Role", "fbdf93bf-df7d-467e-a4d2-9458aa1360c8"),
    "documentDbAccountContributor": ("DocumentDB Account Contributor", "5bd9cd88-fe45-4216-938b-f97437e15450"),
    # Only on the namespace of a listed Service Bus / Event Hubs rule (resource-key-access.bicep).
    "reader": ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
}

# Roles that can read a Key Vault secret (a certificate's secret is its private key when the
# key is exportable) or grant themselves that: never for the function's identity.
SECRET_READING_ROLES: Final[dict[str, str]] = {
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Certificate User": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Data Access Administrator": "8b54135c-b56d-4d72-a534-26097cfdc8d8",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
}

# Exactly what the function's identity gets (SPEC: Crypto User + Reader on the vault, "nothing more";
# host storage and telemetry need the rest because shared keys and local auth are off).
FUNCTION_IDENTITY_ROLES: Final[frozenset[str]] = frozenset(
    {
        "keyVaultCryptoUser",
        "keyVaultReader",
        "storageBlobDataOwner",
        "storageQueueDataContributor",
        "storageTableDataContributor",
        "monitoringMetricsPublisher",
    }
)
FUNCTION_KEY_VAULT_ROLES: Final[frozenset[str]] = frozenset({"keyVaultCryptoUser", "keyVaultReader"})


def guid(key: str) -> str:
    """The role definition GUID for a roles.json key."""
    return ROLES[key][1]
