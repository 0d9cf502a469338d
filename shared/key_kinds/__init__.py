"""What the broker knows about the resources whose keys it serves: the kinds, their ARM IDs, key types.

Pure knowledge, no I/O: ``kinds`` holds one entry per kind (resource type, key action per key type,
api-version, answer schema, local-auth property, data-plane role to use instead); settings parse
``RESOURCE_KEYS`` with ``resource_ids``; caller roles are named from it; the downstream key service
acts on it without naming any kind itself.
"""

from __future__ import annotations

from .cosmos_account import ACCOUNT_NAME, CosmosAccountId, is_valid_account_name, parse_cosmos_account_id
from .key_type import KeyType, parse_key_type
from .kinds import KINDS, KeyAction, KeyKind, LocalAuth, kind_named
from .resource_ids import ListedResource, UnsupportedResourceId, parse_resource_id
from .route_values import parse_key_request

__all__ = [
    "ACCOUNT_NAME",
    "KINDS",
    "CosmosAccountId",
    "KeyAction",
    "KeyKind",
    "KeyType",
    "ListedResource",
    "LocalAuth",
    "UnsupportedResourceId",
    "is_valid_account_name",
    "kind_named",
    "parse_cosmos_account_id",
    "parse_key_request",
    "parse_key_type",
    "parse_resource_id",
]
