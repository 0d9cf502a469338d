"""What the broker knows about the resources whose keys it serves: names, ARM resource IDs, key types.

Pure knowledge, no I/O: settings parse the listed resources with it, caller roles are named from
it, and the downstream key services act on it.
"""

from __future__ import annotations

from .cosmos_account import ACCOUNT_NAME, CosmosAccountId, is_valid_account_name, parse_cosmos_account_id
from .key_type import KeyType, parse_key_type

__all__ = [
    "ACCOUNT_NAME",
    "CosmosAccountId",
    "KeyType",
    "is_valid_account_name",
    "parse_cosmos_account_id",
    "parse_key_type",
]
