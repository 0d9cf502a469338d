# The resource kinds whose keys ARM lists, as ONE table: adding a kind is one `ResourceKind`
# entry (path, api-versions, actions and their answer shapes, the local-auth property, the GET
# body); emulator/arm.py serves every entry the same way. Pure data and key generators: no
# surface, no HTTP (faults.py reads the operation names from here).
#
# Sources (REST references of each provider's control plane; AZURE-PROTOCOLS.md 5 and 12):
#  - Cosmos DB: learn.microsoft.com/rest/api/cosmos-db-resource-provider/database-accounts
#    (list-keys, list-read-only-keys, get); api-versions 2026-03-15, 2025-10-15, 2025-04-15, 2024-11-15.
#  - Storage: learn.microsoft.com/rest/api/storagerp/storage-accounts/list-keys and /get-properties
#    (`{"keys":[{"keyName","value","permissions":"FULL","creationTime"}]}`; `allowSharedKeyAccess`
#    false: Shared Key refused); api-version 2026-04-01 (bicep-types-az, 2026-12-07), 2025-08-01, 2025-06-01,
#    2025-01-01, 2024-01-01, 2023-05-01.
#  - Service Bus: learn.microsoft.com/rest/api/servicebus/controlplane-stable/namespaces-authorization-rules/list-keys
#    (SBAuthorizationRules_ListKeys: AccessKeys `primaryConnectionString`, `secondaryConnectionString`,
#    `primaryKey`, `secondaryKey`, `keyName`), namespaces/get (`properties.disableLocalAuth`);
#    api-versions 2026-01-01, 2024-01-01, 2021-11-01, 2017-04-01.
#  - Event Hubs: learn.microsoft.com/rest/api/eventhub/namespaces/list-keys, namespaces/get; same
#    shape as Service Bus (the endpoint is also `sb://{ns}.servicebus.windows.net/`); api-versions
#    2026-01-01, 2024-01-01, 2021-11-01, 2017-04-01.
#  - Cache for Redis: learn.microsoft.com/rest/api/redis/redis/list-keys and redis/get
#    (`{primaryKey, secondaryKey}`, `properties.disableAccessKeyAuthentication`); api-versions
#    2024-11-01, 2024-03-01, 2023-08-01, 2023-04-01.
#  - AI Search: learn.microsoft.com/rest/api/searchmanagement/admin-keys/get (POST listAdminKeys:
#    `{primaryKey, secondaryKey}`), query-keys/list-by-search-service (POST listQueryKeys:
#    `{"value":[{"name","key"}],"nextLink"}`), services/get (`properties.disableLocalAuth`; with
#    it on, `authOptions` is null); api-versions 2025-05-01, 2023-11-01, 2022-09-01, 2020-08-01.
#  - Cognitive Services / Azure OpenAI: learn.microsoft.com/rest/api/aiservices/accountmanagement/accounts/list-keys
#    (`{key1, key2}`), accounts/get (`properties.disableLocalAuth`); api-versions 2026-07-01,
#    2025-09-01, 2025-06-01, 2024-10-01, 2023-05-01.
#  - App Configuration: learn.microsoft.com/rest/api/appconfiguration/stable/configuration-stores/list-keys
#    (ApiKeyListResult `{"value":[{id,name,value,connectionString,lastModified,readOnly}],"nextLink"}`;
#    four keys: Primary, Secondary, Primary Read Only, Secondary Read Only; Id `XXXX-l0-s0:…`, as
#    Get-AzAppConfigurationStoreKey prints them), configuration-stores/get
#    (`properties.disableLocalAuth`); api-versions 2024-06-01, 2023-03-01, 2022-05-01.
# RBAC operation names: learn.microsoft.com/azure/role-based-access-control/permissions (per
# provider): `{provider}/{type}/listKeys/action` (Storage spells it `listkeys`; RBAC compares
# actions case-insensitively), `{provider}/{type}/read` for the GET.
# Key lengths: Cosmos and Storage 64 random bytes in base64 (88 chars), Service Bus / Event Hubs /
# Redis / App Configuration secrets 32 bytes in base64 (44 chars), Search 52 alphanumerics,
# Cognitive Services 32 hex digits [U: lengths as observed in portal screenshots and docs samples].
from __future__ import annotations

import base64
import datetime as dt
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

KeyMaterial = dict[str, Any]


@dataclass(frozen=True)
class KeyAction:
    """One ARM key action of a kind: `POST {resource id}/{name}` (some also answer GET)."""

    name: str  # path segment as the REST reference spells it
    permission: str  # the RBAC operation ARM checks
    answer: Callable[[Resource], Any]  # the 200 body, from the resource's key material
    operation: str  # counter / fault operation name
    methods: tuple[str, ...] = ("POST",)


@dataclass(frozen=True)
class ResourceKind:
    kind: str  # the broker's name for it (SPEC "Resource keys")
    provider: str  # resource provider namespace as ARM spells it
    types: tuple[str, ...]  # ("storageAccounts",) or ("namespaces", "authorizationRules")
    api_versions: tuple[str, ...]  # newest first; [0] is the current stable one
    actions: tuple[KeyAction, ...]
    new_keys: Callable[[Resource], KeyMaterial]
    local_auth_property: str  # on the GET of the top-level resource
    local_auth_off_value: bool  # the property's value when local auth is off
    get_body: Callable[[Resource], dict[str, Any]]  # GET of the top-level resource
    reference: str
    child_get_body: Callable[[Resource], dict[str, Any]] | None = None  # GET of the rule (two-level kinds)
    read_operation: str = ""

    @property
    def type_name(self) -> str:
        """The full resource type of the resource whose keys are listed (`Microsoft.X/a/b`)."""
        return "/".join((self.provider, *self.types))

    @property
    def top_type_name(self) -> str:
        return f"{self.provider}/{self.types[0]}"

    @property
    def read_permission(self) -> str:
        return f"{self.top_type_name}/read"

    @property
    def child_read_permission(self) -> str:
        return f"{self.type_name}/read"

    def action(self, name: str) -> KeyAction | None:
        return next((a for a in self.actions if a.name.lower() == name.lower()), None)

    @property
    def operations(self) -> tuple[str, ...]:
        return (self.read_operation, *(a.operation for a in self.actions))

    @property
    def key_permissions(self) -> tuple[str, ...]:
        """What a role needs to list this kind's keys and read it (infra's custom role, seeded the same)."""
        reads = (self.read_permission,) if len(self.types) == 1 else (self.child_read_permission,)
        return (*(a.permission for a in self.actions), *reads)


@dataclass
class Resource:
    """One resource of a kind. For Service Bus / Event Hubs `name` is the namespace and `rule` the
    authorization rule whose keys are listed (`rules` holds every rule's keys)."""

    kind: ResourceKind
    subscription_id: str
    resource_group: str
    name: str
    location: str
    local_auth: bool = True
    rule: str | None = None
    keys: KeyMaterial = field(default_factory=dict)
    rules: dict[str, KeyMaterial] = field(default_factory=dict)
    created: str = field(default_factory=lambda: _now_iso())

    @property
    def top_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
            f"{self.kind.provider}/{self.kind.types[0]}/{self.name}"
        )

    @property
    def id(self) -> str:
        """The ARM ID listed in RESOURCE_KEYS (the rule's for two-level kinds)."""
        if len(self.kind.types) == 1:
            return self.top_id
        return f"{self.top_id}/{self.kind.types[1]}/{self.rule}"

    def rule_keys(self, rule: str) -> KeyMaterial | None:
        return next((v for k, v in self.rules.items() if k.lower() == rule.lower()), None)

    def secret_values(self) -> list[str]:
        """Every secret string of this resource (what must never reach a log or an error)."""
        out: list[str] = []
        for material in (self.keys, *self.rules.values()):
            for value in _strings(material):
                out.append(value)
        return out


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, Mapping):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def b64_key(size: int) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def _alnum(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _base(resource: Resource, type_name: str) -> dict[str, Any]:
    return {"id": resource.top_id, "name": resource.name, "type": type_name, "location": resource.location, "tags": {}}


# ---------------------------------------------------------------------------- Cosmos DB
def _cosmos_keys(resource: Resource) -> KeyMaterial:
    return {
        "primaryMasterKey": b64_key(64),
        "secondaryMasterKey": b64_key(64),
        "primaryReadonlyMasterKey": b64_key(64),
        "secondaryReadonlyMasterKey": b64_key(64),
    }


def _cosmos_get(resource: Resource) -> dict[str, Any]:
    return {
        **_base(resource, "Microsoft.DocumentDB/databaseAccounts"),
        "kind": "GlobalDocumentDB",
        "properties": {
            "provisioningState": "Succeeded",
            "documentEndpoint": f"https://{resource.name}.documents.azure.com:443/",
            "databaseAccountOfferType": "Standard",
            "disableLocalAuth": not resource.local_auth,
            "publicNetworkAccess": "Enabled",
        },
    }


# ---------------------------------------------------------------------------- Storage
def _storage_keys(resource: Resource) -> KeyMaterial:
    return {"key1": b64_key(64), "key2": b64_key(64)}


def _storage_list(resource: Resource) -> Any:
    return {
        "keys": [
            {"keyName": name, "value": resource.keys[name], "permissions": "FULL", "creationTime": resource.created}
            for name in ("key1", "key2")
        ]
    }


def _storage_get(resource: Resource) -> dict[str, Any]:
    name = resource.name
    return {
        **_base(resource, "Microsoft.Storage/storageAccounts"),
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "creationTime": resource.created,
            "allowSharedKeyAccess": resource.local_auth,
            "minimumTlsVersion": "TLS1_2",
            "primaryEndpoints": {
                "blob": f"https://{name}.blob.core.windows.net/",
                "queue": f"https://{name}.queue.core.windows.net/",
                "table": f"https://{name}.table.core.windows.net/",
                "file": f"https://{name}.file.core.windows.net/",
            },
            "primaryLocation": resource.location,
            "statusOfPrimary": "available",
        },
    }


# ---------------------------------------------------------------------------- Service Bus, Event Hubs
def sas_rule_keys() -> KeyMaterial:
    return {"primaryKey": b64_key(32), "secondaryKey": b64_key(32)}


def _sas_keys(resource: Resource) -> KeyMaterial:
    return {}  # keys live per rule (Resource.rules)


def _sas_list(resource: Resource) -> Any:
    keys = resource.rule_keys(resource.rule or "") or {}
    endpoint = f"Endpoint=sb://{resource.name}.servicebus.windows.net/;SharedAccessKeyName={resource.rule}"
    return {
        "primaryConnectionString": f"{endpoint};SharedAccessKey={keys['primaryKey']}",
        "secondaryConnectionString": f"{endpoint};SharedAccessKey={keys['secondaryKey']}",
        "primaryKey": keys["primaryKey"],
        "secondaryKey": keys["secondaryKey"],
        "keyName": resource.rule,
    }


def _namespace_get(type_name: str) -> Callable[[Resource], dict[str, Any]]:
    def body(resource: Resource) -> dict[str, Any]:
        return {
            **_base(resource, type_name),
            "sku": {"name": "Standard", "tier": "Standard"},
            "properties": {
                "provisioningState": "Succeeded",
                "status": "Active",
                "createdAt": resource.created,
                "serviceBusEndpoint": f"https://{resource.name}.servicebus.windows.net:443/",
                "disableLocalAuth": not resource.local_auth,
                "minimumTlsVersion": "1.2",
                "publicNetworkAccess": "Enabled",
            },
        }

    return body


def _rule_get(type_name: str) -> Callable[[Resource], dict[str, Any]]:
    def body(resource: Resource) -> dict[str, Any]:
        return {
            "id": resource.id,
            "name": resource.rule,
            "type": type_name,
            "location": resource.location,
            "properties": {"rights": ["Listen", "Send", "Manage"]},
        }

    return body


# ---------------------------------------------------------------------------- Redis
def _redis_keys(resource: Resource) -> KeyMaterial:
    return {"primaryKey": b64_key(32), "secondaryKey": b64_key(32)}


def _redis_get(resource: Resource) -> dict[str, Any]:
    return {
        **_base(resource, "Microsoft.Cache/Redis"),
        "properties": {
            "provisioningState": "Succeeded",
            "hostName": f"{resource.name}.redis.cache.windows.net",
            "port": 6379,
            "sslPort": 6380,
            "enableNonSslPort": False,
            "disableAccessKeyAuthentication": not resource.local_auth,
            "sku": {"name": "Standard", "family": "C", "capacity": 1},
            "redisVersion": "6.0",
        },
    }


# ---------------------------------------------------------------------------- AI Search
def _search_keys(resource: Resource) -> KeyMaterial:
    return {
        "primaryKey": _alnum(52),
        "secondaryKey": _alnum(52),
        "queryKeys": [{"name": None, "key": _alnum(52)}, {"name": "frontend", "key": _alnum(52)}],
    }


def _search_get(resource: Resource) -> dict[str, Any]:
    return {
        **_base(resource, "Microsoft.Search/searchServices"),
        "sku": {"name": "standard"},
        "properties": {
            "provisioningState": "succeeded",
            "status": "running",
            "replicaCount": 1,
            "partitionCount": 1,
            "hostingMode": "default",
            "endpoint": f"https://{resource.name}.search.windows.net",
            "disableLocalAuth": not resource.local_auth,
            # The reference: authOptions "cannot be set if disableLocalAuth is set to true".
            "authOptions": {"apiKeyOnly": {}} if resource.local_auth else None,
            "publicNetworkAccess": "enabled",
        },
    }


# ---------------------------------------------------------------------------- Cognitive Services
def _cognitive_keys(resource: Resource) -> KeyMaterial:
    return {"key1": secrets.token_hex(16), "key2": secrets.token_hex(16)}


def _cognitive_get(resource: Resource) -> dict[str, Any]:
    return {
        **_base(resource, "Microsoft.CognitiveServices/accounts"),
        "kind": "OpenAI",
        "sku": {"name": "S0"},
        "etag": f'"{secrets.token_hex(16)}"',
        "properties": {
            "provisioningState": "Succeeded",
            "endpoint": f"https://{resource.name}.openai.azure.com/",
            "customSubDomainName": resource.name,
            "disableLocalAuth": not resource.local_auth,
            "publicNetworkAccess": "Enabled",
        },
    }


# ---------------------------------------------------------------------------- App Configuration
def _appconfig_keys(resource: Resource) -> KeyMaterial:
    entries = []
    for name, read_only in (("Primary", False), ("Secondary", False), ("Primary Read Only", True),
                            ("Secondary Read Only", True)):  # fmt: skip
        key_id = f"{_alnum(4)}-l0-s0:{_alnum(20)}"
        secret = b64_key(32)
        entries.append(
            {
                "id": key_id,
                "name": name,
                "value": secret,
                "connectionString": f"Endpoint=https://{resource.name}.azconfig.io;Id={key_id};Secret={secret}",
                "lastModified": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "readOnly": read_only,
            }
        )
    return {"value": entries}


def _appconfig_get(resource: Resource) -> dict[str, Any]:
    return {
        **_base(resource, "Microsoft.AppConfiguration/configurationStores"),
        "sku": {"name": "standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "creationDate": resource.created,
            "endpoint": f"https://{resource.name}.azconfig.io",
            "disableLocalAuth": not resource.local_auth,
            "publicNetworkAccess": "Enabled",
        },
    }


# ---------------------------------------------------------------------------- the table
def _op(kind: str, action: str) -> str:
    return f"arm.{kind}.{action}"


def _verbatim(*fields: str) -> Callable[[Resource], Any]:
    return lambda r: {name: r.keys[name] for name in fields}


KINDS: dict[str, ResourceKind] = {
    kind.kind: kind
    for kind in (
        ResourceKind(
            kind="cosmos",
            provider="Microsoft.DocumentDB",
            types=("databaseAccounts",),
            api_versions=("2026-03-15", "2025-10-15", "2025-04-15", "2024-11-15"),
            actions=(
                # Historical operation names (bench, e2e tests): arm.listKeys / arm.readonlykeys.
                KeyAction(
                    "listKeys",
                    "Microsoft.DocumentDB/databaseAccounts/listKeys/action",
                    _verbatim(
                        "primaryMasterKey",
                        "secondaryMasterKey",
                        "primaryReadonlyMasterKey",
                        "secondaryReadonlyMasterKey",
                    ),
                    "arm.listKeys",
                ),
                # GET readonlykeys is DatabaseAccounts_GetReadOnlyKeys (a read), POST the List form.
                KeyAction(
                    "readonlykeys",
                    "Microsoft.DocumentDB/databaseAccounts/readonlykeys/action",
                    _verbatim("primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"),
                    "arm.readonlykeys",
                    methods=("GET", "POST"),
                ),
            ),
            new_keys=_cosmos_keys,
            local_auth_property="disableLocalAuth",
            local_auth_off_value=True,
            get_body=_cosmos_get,
            reference="learn.microsoft.com/rest/api/cosmos-db-resource-provider/database-accounts",
            read_operation="arm.cosmos.read",
        ),
        ResourceKind(
            kind="storage",
            provider="Microsoft.Storage",
            types=("storageAccounts",),
            api_versions=("2026-04-01", "2025-08-01", "2025-06-01", "2025-01-01", "2024-01-01", "2023-05-01"),
            actions=(
                KeyAction(
                    "listKeys",
                    "Microsoft.Storage/storageAccounts/listkeys/action",
                    _storage_list,
                    _op("storage", "listKeys"),
                ),
            ),
            new_keys=_storage_keys,
            local_auth_property="allowSharedKeyAccess",
            local_auth_off_value=False,
            get_body=_storage_get,
            reference="learn.microsoft.com/rest/api/storagerp/storage-accounts",
            read_operation=_op("storage", "read"),
        ),
        ResourceKind(
            kind="servicebus",
            provider="Microsoft.ServiceBus",
            types=("namespaces", "authorizationRules"),
            api_versions=("2026-01-01", "2024-01-01", "2021-11-01", "2017-04-01"),
            actions=(
                KeyAction(
                    "listKeys",
                    "Microsoft.ServiceBus/namespaces/authorizationRules/listKeys/action",
                    _sas_list,
                    _op("servicebus", "listKeys"),
                ),
            ),
            new_keys=_sas_keys,
            local_auth_property="disableLocalAuth",
            local_auth_off_value=True,
            get_body=_namespace_get("Microsoft.ServiceBus/Namespaces"),
            child_get_body=_rule_get("Microsoft.ServiceBus/Namespaces/AuthorizationRules"),
            reference="learn.microsoft.com/rest/api/servicebus/controlplane-stable",
            read_operation=_op("servicebus", "read"),
        ),
        ResourceKind(
            kind="eventhubs",
            provider="Microsoft.EventHub",
            types=("namespaces", "authorizationRules"),
            api_versions=("2026-01-01", "2024-01-01", "2021-11-01", "2017-04-01"),
            actions=(
                KeyAction(
                    "listKeys",
                    "Microsoft.EventHub/namespaces/authorizationRules/listKeys/action",
                    _sas_list,
                    _op("eventhubs", "listKeys"),
                ),
            ),
            new_keys=_sas_keys,
            local_auth_property="disableLocalAuth",
            local_auth_off_value=True,
            get_body=_namespace_get("Microsoft.EventHub/Namespaces"),
            child_get_body=_rule_get("Microsoft.EventHub/Namespaces/AuthorizationRules"),
            reference="learn.microsoft.com/rest/api/eventhub/namespaces",
            read_operation=_op("eventhubs", "read"),
        ),
        ResourceKind(
            kind="redis",
            provider="Microsoft.Cache",
            types=("redis",),
            api_versions=("2024-11-01", "2024-03-01", "2023-08-01", "2023-04-01"),
            actions=(
                KeyAction(
                    "listKeys",
                    "Microsoft.Cache/redis/listKeys/action",
                    _verbatim("primaryKey", "secondaryKey"),
                    _op("redis", "listKeys"),
                ),
            ),
            new_keys=_redis_keys,
            local_auth_property="disableAccessKeyAuthentication",
            local_auth_off_value=True,
            get_body=_redis_get,
            reference="learn.microsoft.com/rest/api/redis/redis",
            read_operation=_op("redis", "read"),
        ),
        ResourceKind(
            kind="search",
            provider="Microsoft.Search",
            types=("searchServices",),
            api_versions=("2025-05-01", "2023-11-01", "2022-09-01", "2020-08-01"),
            actions=(
                KeyAction(
                    "listAdminKeys",
                    "Microsoft.Search/searchServices/listAdminKeys/action",
                    _verbatim("primaryKey", "secondaryKey"),
                    _op("search", "listAdminKeys"),
                ),
                KeyAction(
                    "listQueryKeys",
                    "Microsoft.Search/searchServices/listQueryKeys/action",
                    lambda r: {"value": [dict(k) for k in r.keys["queryKeys"]], "nextLink": None},
                    _op("search", "listQueryKeys"),
                ),
            ),
            new_keys=_search_keys,
            local_auth_property="disableLocalAuth",
            local_auth_off_value=True,
            get_body=_search_get,
            reference="learn.microsoft.com/rest/api/searchmanagement",
            read_operation=_op("search", "read"),
        ),
        ResourceKind(
            kind="cognitiveservices",
            provider="Microsoft.CognitiveServices",
            types=("accounts",),
            api_versions=("2026-07-01", "2025-09-01", "2025-06-01", "2024-10-01", "2023-05-01"),
            actions=(
                KeyAction(
                    "listKeys",
                    "Microsoft.CognitiveServices/accounts/listKeys/action",
                    _verbatim("key1", "key2"),
                    _op("cognitiveservices", "listKeys"),
                ),
            ),
            new_keys=_cognitive_keys,
            local_auth_property="disableLocalAuth",
            local_auth_off_value=True,
            get_body=_cognitive_get,
            reference="learn.microsoft.com/rest/api/aiservices/accountmanagement/accounts",
            read_operation=_op("cognitiveservices", "read"),
        ),
        ResourceKind(
            kind="appconfig",
            provider="Microsoft.AppConfiguration",
            types=("configurationStores",),
            api_versions=("2024-06-01", "2023-03-01", "2022-05-01"),
            actions=(
                KeyAction(
                    "listKeys",
                    "Microsoft.AppConfiguration/configurationStores/ListKeys/action",
                    lambda r: {"value": [dict(e) for e in r.keys["value"]], "nextLink": None},
                    _op("appconfig", "listKeys"),
                ),
            ),
            new_keys=_appconfig_keys,
            local_auth_property="disableLocalAuth",
            local_auth_off_value=True,
            get_body=_appconfig_get,
            reference="learn.microsoft.com/rest/api/appconfiguration/stable/configuration-stores",
            read_operation=_op("appconfig", "read"),
        ),
    )
}

OPERATIONS: frozenset[str] = frozenset(op for kind in KINDS.values() for op in kind.operations)


def kind_for_path(provider: str, types: tuple[str, ...]) -> ResourceKind | None:
    """The kind whose provider and type chain (or its top-level type) match, case-insensitively."""
    wanted = tuple(t.lower() for t in types)
    for kind in KINDS.values():
        if kind.provider.lower() != provider.lower():
            continue
        own = tuple(t.lower() for t in kind.types)
        if wanted == own[: len(wanted)]:
            return kind
    return None
