# The emulator's seed: every id is a uuid5 of a fixed name, so ids are stable across runs
# and machines (docs/emulator.md, "Seed"). Random material (keys, Cosmos keys, the identity
# header) is generated per run and lives in the surfaces, not here.
from __future__ import annotations

import uuid
from dataclasses import dataclass

from emulator.resource_kinds import KINDS

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://emulator.invalid/keyvault-assertion-broker")


def stable_id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


# Well-known first-party resource app ids (public, same in every tenant).
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
# Azure AD Graph's app id: the audience of addKey/removeKey proofs (AZURE-PROTOCOLS.md 7).
AAD_GRAPH_APP_ID = "00000002-0000-0000-c000-000000000000"
# The audience of a managed-identity token presented as a federated credential (section 8).
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 - public audience


@dataclass(frozen=True)
class Seed:
    tenant_id: str = stable_id("tenant")
    tenant_display_name: str = "Contoso Emulated"
    tenant_domain: str = "contosoemulated.onmicrosoft.com"
    client_id: str = stable_id("app:client-id")
    app_object_id: str = stable_id("app:object-id")
    sp_object_id: str = stable_id("app:service-principal")
    system_mi_principal_id: str = stable_id("mi:system:principal")
    system_mi_client_id: str = stable_id("mi:system:client")
    user_mi_principal_id: str = stable_id("mi:user:principal")
    user_mi_client_id: str = stable_id("mi:user:client")
    user_mi_name: str = "id-broker"
    # A caller app for CALLER_AUDIENCE tests (not in the original seed list: an addition).
    caller_app_id: str = stable_id("caller:client-id")
    caller_sp_object_id: str = stable_id("caller:service-principal")
    # The API the function exposes to callers (its App ID URI), for mint_caller_token.
    api_app_id_uri: str = "api://keyvault-assertion-broker"
    certificate_name: str = "broker-signing"
    subscription_id: str = stable_id("subscription")
    resource_group: str = "rg-broker"
    location: str = "westeurope"
    vault_name: str = "kv-broker-emu"
    function_app_name: str = "func-broker-emu"
    cosmos_accounts: tuple[str, ...] = ("cosmos-orders", "cosmos-catalog")
    # One resource of every other key kind (docs/emulator.md "Resource keys"): (kind, name,
    # authorization rule or None, local authentication enabled). All listed in RESOURCE_KEYS.
    key_resources: tuple[tuple[str, str, str | None, bool], ...] = (
        ("storage", "stgorders", None, True),
        ("servicebus", "sb-orders", "partner-send", True),
        ("eventhubs", "evh-telemetry", "ingest", True),
        ("redis", "redis-sessions", None, True),
        ("search", "srch-catalog", None, True),
        ("cognitiveservices", "oai-tools", None, True),
        ("cognitiveservices", "oai-entra-only", None, False),
        ("appconfig", "appcs-settings", None, True),
    )
    user_count: int = 250
    fic_name: str = "broker-managed-identity"

    def cosmos_account_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DocumentDB/databaseAccounts/{name}"
        )

    def resource_id(self, kind: str, name: str, rule: str | None = None) -> str:
        """ARM ID of a resource of `kind` in the seed resource group, as RESOURCE_KEYS lists it (for
        Service Bus / Event Hubs the authorization rule's: `rule`, else the seeded rule of `name`)."""
        spec = KINDS[kind]
        rid = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
            f"{spec.provider}/{spec.types[0]}/{name}"
        )
        if len(spec.types) == 1:
            return rid
        if rule is None:
            rule = next((r for k, n, r, _ in self.key_resources if k == kind and n == name and r), None)
            if rule is None:
                raise ValueError(f"{kind} {name!r} needs an authorization rule name")
        return f"{rid}/{spec.types[1]}/{rule}"

    @property
    def resource_keys(self) -> str:
        """RESOURCE_KEYS for the seeded resources (Cosmos accounts are in COSMOS_ACCOUNT_IDS)."""
        return ",".join(self.resource_id(kind, name, rule) for kind, name, rule, _ in self.key_resources)

    @property
    def vault_resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/providers/microsoft.keyvault/vaults/{self.vault_name}"
        )

    @property
    def user_mi_resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{self.user_mi_name}"
        )

    @property
    def function_app_resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Web/sites/{self.function_app_name}"
        )
