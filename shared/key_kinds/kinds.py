"""One knowledge entry per kind of resource whose keys the broker serves (SPEC "Resource keys").

Each entry says everything the rest of the broker needs to serve a kind, and nothing is special-cased
elsewhere: how the resource's ARM ID looks, which valid names it has, the key action per key type
and its api-version, what the answer looks like (its JSON schema, for the OpenAPI document), how to
read from the resource whether local (key) authentication is off, and which Entra data-plane role
to use instead. Adding a kind is one entry here (plus its surface in the emulator).

Sources (api-versions: the latest stable per provider in github.com/Azure/bicep-types-az on
2026-12-07, AZURE-PROTOCOLS.md §12; shapes and properties from each provider's REST reference,
learn.microsoft.com/rest/api/...):
- Cosmos DB: cosmos-db-resource-provider database-accounts list-keys / list-read-only-keys (§5);
  ``properties.disableLocalAuth``.
- Storage: storagerp storage-accounts list-keys; ``properties.allowSharedKeyAccess`` (false: off).
- Service Bus / Event Hubs: namespaces-authorization-rules list-keys; the namespace's
  ``properties.disableLocalAuth`` (a rule has no such property: the GET is on the namespace).
- Azure Cache for Redis: redis list-keys; ``properties.disableAccessKeyAuthentication``.
- AI Search: searchmanagement admin-keys get / query-keys list-by-search-service (``value`` +
  ``nextLink``); ``properties.disableLocalAuth``.
- Cognitive Services (Azure OpenAI, AI services): accounts list-keys; ``properties.disableLocalAuth``.
- App Configuration: configuration-stores list-keys (``value`` + ``nextLink``, ``$skipToken``; each
  key has ``readOnly``); ``properties.disableLocalAuth``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .key_type import KeyType


@dataclass(frozen=True)
class KeyAction:
    """The ARM action that yields one key type of a kind."""

    name: str  # the action segment: POST {resource id}/{name}
    answer_schema: Mapping[str, Any]  # JSON schema of what the broker returns under "keys" (OpenAPI)
    example: Mapping[str, Any]  # an answer of that shape, placeholders for the keys (OpenAPI)
    # App Configuration has no read-only action: its listKeys answer holds both sorts, marked readOnly.
    read_only_entries: bool = False
    # The answer is a page (``value`` + ``nextLink``): the broker follows the links and joins the pages.
    paged: bool = False


@dataclass(frozen=True)
class LocalAuth:
    """Where and how the resource says whether its keys work (``properties.{property}``)."""

    property: str
    # The value that means "keys are off": True for disableLocalAuth-style flags, False for
    # Storage's allowSharedKeyAccess. A missing property means keys work (ARM's default).
    off_when: bool = True
    # Read on the parent (the namespace of a Service Bus / Event Hubs rule), not the listed resource.
    on_parent: bool = False


# eq=False: each kind is one table entry, compared and hashed by identity (its mappings are not hashable).
@dataclass(frozen=True, eq=False)
class KeyKind:
    kind: str  # the route's {kind}
    title: str  # what a reader calls it: "storage account"
    schema_name: str  # its name in the OpenAPI components: "Storage" -> StorageResourceKeys
    example_name: str  # a valid name for the document's examples
    provider: str  # Microsoft.Storage
    resource_type: str  # storageAccounts
    name_pattern: re.Pattern[str]  # the resource's (for rules: the namespace's) own name rule
    name_rule: str  # the same rule in words, for the 400
    actions: Mapping[KeyType, KeyAction]
    api_version: str
    local_auth: LocalAuth
    data_plane_roles: str  # what to use instead when local auth is off (the 409's detail)
    # Service Bus / Event Hubs: the listed resource is a rule under the named namespace.
    child_type: str | None = None
    child_pattern: re.Pattern[str] | None = None
    # ARM roles that hold the actions, when a built-in one fits (else the deployment's custom role).
    arm_roles: Mapping[KeyType, str] = field(default_factory=dict)

    def action(self, key_type: KeyType) -> KeyAction | None:
        return self.actions.get(key_type)

    @property
    def has_read_only_keys(self) -> bool:
        return KeyType.READONLY in self.actions

    def rbac_action(self, action: KeyAction) -> str:
        """The RBAC permission the action needs (``{provider}/{type}[/{child}]/{action}/action``)."""
        child = f"/{self.child_type}" if self.child_type else ""
        return f"{self.provider}/{self.resource_type}{child}/{action.name}/action"

    @property
    def rbac_read(self) -> str:
        """The permission the local-auth GET needs (on the namespace for rules)."""
        return f"{self.provider}/{self.resource_type}/read"

    def role_hint(self, key_type: KeyType) -> str:
        action = self.actions[key_type]
        role = self.arm_roles.get(key_type)
        holder = f"the {role} role" if role else "the deployment's resource-keys role"
        return f"{holder} (with {self.rbac_action(action)})"


def _object(properties: Mapping[str, Any], *, required: tuple[str, ...] = (), title: str = "") -> dict[str, Any]:
    # A title names a nested object: the OpenAPI document makes it a component of that name.
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if title:
        schema["title"] = title
    if required:
        schema["required"] = list(required)
    return schema


_STRING = {"type": "string"}
_WHEN = "2026-01-01T00:00:00Z"
_DATE_TIME = {"type": "string", "format": "date-time"}
_KEY_PAIR = _object({"primaryKey": _STRING, "secondaryKey": _STRING}, required=("primaryKey", "secondaryKey"))
_SAS_RULE_KEYS = _object(
    {
        "primaryConnectionString": _STRING,
        "secondaryConnectionString": _STRING,
        "aliasPrimaryConnectionString": _STRING,
        "aliasSecondaryConnectionString": _STRING,
        "primaryKey": _STRING,
        "secondaryKey": _STRING,
        "keyName": _STRING,
    },
    required=("primaryKey", "secondaryKey", "keyName"),
)
_SAS_EXAMPLE = {
    "primaryConnectionString": "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<rule>;"
    "SharedAccessKey=<key>",
    "secondaryConnectionString": "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<rule>;"
    "SharedAccessKey=<key>",
    "primaryKey": "<key>",
    "secondaryKey": "<key>",
    "keyName": "<rule>",
}
# A namespace: 6-50 letters, digits or hyphens, starting with a letter, ending with a letter or digit.
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]")
_NAMESPACE_RULE = "6 to 50 letters, digits or hyphens, starting with a letter and ending with a letter or digit"
# A SAS authorization rule: 1-256 letters, digits, periods, hyphens or underscores (REST reference).
_RULE = re.compile(r"[A-Za-z0-9._-]{1,256}")

_COSMOS_READONLY = _object(
    {"primaryReadonlyMasterKey": _STRING, "secondaryReadonlyMasterKey": _STRING},
    required=("primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"),
)
_COSMOS_READWRITE = _object(
    {
        "primaryMasterKey": _STRING,
        "secondaryMasterKey": _STRING,
        "primaryReadonlyMasterKey": _STRING,
        "secondaryReadonlyMasterKey": _STRING,
    },
    required=("primaryMasterKey", "secondaryMasterKey"),
)
_STORAGE_KEYS = _object(
    {
        "keys": {
            "type": "array",
            "items": _object(
                {
                    "keyName": _STRING,
                    "value": _STRING,
                    # ARM's KeyPermission ("Read", "Full"; answered upper-case): verbatim, not judged.
                    "permissions": _STRING,
                    "creationTime": _DATE_TIME,
                },
                required=("keyName", "value"),
                title="StorageAccountKey",
            ),
        }
    },
    required=("keys",),
)
_SEARCH_QUERY_KEYS = _object(
    {
        "value": {
            "type": "array",
            "items": _object(
                {"name": {"type": ["string", "null"]}, "key": _STRING}, required=("key",), title="SearchQueryKey"
            ),
        }
    },
    required=("value",),
)
_APPCONFIG_KEYS = _object(
    {
        "value": {
            "type": "array",
            "items": _object(
                {
                    "id": _STRING,
                    "name": _STRING,
                    "value": _STRING,
                    "connectionString": _STRING,
                    "lastModified": _DATE_TIME,
                    "readOnly": {"type": "boolean"},
                },
                required=("value", "readOnly"),
                title="AppConfigApiKey",
            ),
        }
    },
    required=("value",),
)


def _appconfig_example(read_only: bool) -> dict[str, Any]:
    names = ["Primary Read Only"] if read_only else ["Primary", "Primary Read Only"]
    return {
        "value": [
            {
                "id": "<id>",
                "name": name,
                "value": "<key>",
                "connectionString": "Endpoint=https://<store>.azconfig.io;Id=<id>;Secret=<key>",
                "lastModified": "2026-01-01T00:00:00Z",
                "readOnly": "Read Only" in name,
            }
            for name in names
        ]
    }


_ALL: tuple[KeyKind, ...] = (
    KeyKind(
        kind="cosmos",
        schema_name="Cosmos",
        example_name="cosmos-orders",
        title="Cosmos DB account",
        provider="Microsoft.DocumentDB",
        resource_type="databaseAccounts",
        # Lowercase only (ARM naming rules); the same rule the /api/cosmos route applies.
        name_pattern=re.compile(r"[a-z0-9-]{3,44}"),
        name_rule="3 to 44 lowercase letters, digits or hyphens",
        actions=MappingProxyType(
            {
                KeyType.READONLY: KeyAction(
                    "readonlykeys",
                    _COSMOS_READONLY,
                    {"primaryReadonlyMasterKey": "<key>", "secondaryReadonlyMasterKey": "<key>"},
                ),
                KeyType.READWRITE: KeyAction(
                    "listKeys",
                    _COSMOS_READWRITE,
                    {
                        "primaryMasterKey": "<key>",
                        "secondaryMasterKey": "<key>",
                        "primaryReadonlyMasterKey": "<key>",
                        "secondaryReadonlyMasterKey": "<key>",
                    },
                ),
            }
        ),
        # SPEC "Deployment facts" names 2025-10-15 as the Cosmos DB api-version the deployment and its
        # emulators are held to; 2026-03-15 (AZURE-PROTOCOLS §12) is also stable, with the same key actions.
        api_version="2025-10-15",
        local_auth=LocalAuth("disableLocalAuth"),
        data_plane_roles="Cosmos DB Built-in Data Reader or Cosmos DB Built-in Data Contributor "
        "(Cosmos DB SQL role definitions)",
        arm_roles=MappingProxyType(
            {
                KeyType.READONLY: "Cosmos DB Account Reader Role",
                KeyType.READWRITE: "DocumentDB Account Contributor",
            }
        ),
    ),
    KeyKind(
        kind="storage",
        schema_name="Storage",
        example_name="stgorders",
        title="storage account",
        provider="Microsoft.Storage",
        resource_type="storageAccounts",
        name_pattern=re.compile(r"[a-z0-9]{3,24}"),
        name_rule="3 to 24 lowercase letters or digits",
        actions=MappingProxyType(
            {
                KeyType.READWRITE: KeyAction(
                    "listKeys",
                    _STORAGE_KEYS,
                    {
                        "keys": [
                            {"keyName": name, "value": "<key>", "permissions": "FULL", "creationTime": _WHEN}
                            for name in ("key1", "key2")
                        ]
                    },
                )
            }
        ),
        api_version="2026-04-01",
        local_auth=LocalAuth("allowSharedKeyAccess", off_when=False),
        data_plane_roles="Storage Blob Data Reader or Storage Blob Data Contributor (or the Queue, Table and "
        "File data roles)",
    ),
    KeyKind(
        kind="servicebus",
        schema_name="ServiceBus",
        example_name="sb-orders",
        title="Service Bus namespace",
        provider="Microsoft.ServiceBus",
        resource_type="namespaces",
        name_pattern=_NAMESPACE,
        name_rule=_NAMESPACE_RULE,
        child_type="authorizationRules",
        child_pattern=_RULE,
        actions=MappingProxyType({KeyType.READWRITE: KeyAction("listKeys", _SAS_RULE_KEYS, _SAS_EXAMPLE)}),
        api_version="2026-01-01",
        local_auth=LocalAuth("disableLocalAuth", on_parent=True),
        data_plane_roles="Azure Service Bus Data Sender or Azure Service Bus Data Receiver",
    ),
    KeyKind(
        kind="eventhubs",
        schema_name="EventHubs",
        example_name="evh-telemetry",
        title="Event Hubs namespace",
        provider="Microsoft.EventHub",
        resource_type="namespaces",
        name_pattern=_NAMESPACE,
        name_rule=_NAMESPACE_RULE,
        child_type="authorizationRules",
        child_pattern=_RULE,
        actions=MappingProxyType({KeyType.READWRITE: KeyAction("listKeys", _SAS_RULE_KEYS, _SAS_EXAMPLE)}),
        api_version="2026-01-01",
        local_auth=LocalAuth("disableLocalAuth", on_parent=True),
        data_plane_roles="Azure Event Hubs Data Sender or Azure Event Hubs Data Receiver",
    ),
    KeyKind(
        kind="redis",
        schema_name="Redis",
        example_name="redis-sessions",
        title="Azure Cache for Redis",
        provider="Microsoft.Cache",
        resource_type="redis",
        name_pattern=re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"),
        name_rule="1 to 63 letters, digits or hyphens, starting and ending with a letter or digit",
        actions=MappingProxyType(
            {KeyType.READWRITE: KeyAction("listKeys", _KEY_PAIR, {"primaryKey": "<key>", "secondaryKey": "<key>"})}
        ),
        api_version="2024-11-01",
        local_auth=LocalAuth("disableAccessKeyAuthentication"),
        data_plane_roles="a Redis data access policy (Data Owner, Data Contributor or Data Reader) assigned to "
        "the caller's Microsoft Entra identity",
    ),
    KeyKind(
        kind="search",
        schema_name="Search",
        example_name="srch-catalog",
        title="AI Search service",
        provider="Microsoft.Search",
        resource_type="searchServices",
        name_pattern=re.compile(r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?"),
        name_rule="2 to 60 lowercase letters, digits or hyphens, starting and ending with a letter or digit",
        actions=MappingProxyType(
            {
                KeyType.READONLY: KeyAction(
                    "listQueryKeys",
                    _SEARCH_QUERY_KEYS,
                    {"value": [{"name": "Query key for browser-based clients", "key": "<key>"}]},
                    paged=True,
                ),
                KeyType.READWRITE: KeyAction(
                    "listAdminKeys", _KEY_PAIR, {"primaryKey": "<key>", "secondaryKey": "<key>"}
                ),
            }
        ),
        api_version="2025-05-01",
        local_auth=LocalAuth("disableLocalAuth"),
        data_plane_roles="Search Index Data Reader or Search Index Data Contributor",
    ),
    KeyKind(
        kind="cognitiveservices",
        schema_name="CognitiveServices",
        example_name="oai-tools",
        title="Azure AI services / Azure OpenAI account",
        provider="Microsoft.CognitiveServices",
        resource_type="accounts",
        name_pattern=re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"),
        name_rule="2 to 64 letters, digits or hyphens, starting and ending with a letter or digit",
        actions=MappingProxyType(
            {
                KeyType.READWRITE: KeyAction(
                    "listKeys",
                    _object({"key1": _STRING, "key2": _STRING}, required=("key1", "key2")),
                    {"key1": "<key>", "key2": "<key>"},
                )
            }
        ),
        api_version="2026-07-01",
        local_auth=LocalAuth("disableLocalAuth"),
        data_plane_roles="Cognitive Services OpenAI User or Cognitive Services User",
    ),
    KeyKind(
        kind="appconfig",
        schema_name="AppConfig",
        example_name="appcs-settings",
        title="App Configuration store",
        provider="Microsoft.AppConfiguration",
        resource_type="configurationStores",
        name_pattern=re.compile(r"[A-Za-z0-9_-]{5,50}"),
        name_rule="5 to 50 letters, digits, hyphens or underscores",
        actions=MappingProxyType(
            {
                KeyType.READONLY: KeyAction(
                    "listKeys", _APPCONFIG_KEYS, _appconfig_example(True), read_only_entries=True, paged=True
                ),
                KeyType.READWRITE: KeyAction("listKeys", _APPCONFIG_KEYS, _appconfig_example(False), paged=True),
            }
        ),
        api_version="2024-06-01",
        local_auth=LocalAuth("disableLocalAuth"),
        data_plane_roles="App Configuration Data Reader or App Configuration Data Owner",
    ),
)

KINDS: Mapping[str, KeyKind] = MappingProxyType({k.kind: k for k in _ALL})


def kind_named(value: str) -> KeyKind | None:
    return KINDS.get(value)
