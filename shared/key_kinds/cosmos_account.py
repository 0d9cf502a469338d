"""Cosmos DB account names and ARM resource IDs."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Cosmos DB account names: 3-44 characters of lowercase letters, digits and hyphens (SPEC; ARM naming rules
# for Microsoft.DocumentDB/databaseAccounts).
# Applied with fullmatch: `$` would also match before a trailing newline ("orders\n").
ACCOUNT_NAME = re.compile(r"[a-z0-9-]{3,44}")

_RESOURCE_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})"
    r"/resourceGroups/(?P<group>[-\w._()]{1,90})"
    r"/providers/Microsoft\.DocumentDB/databaseAccounts/(?P<name>[a-z0-9-]{3,44})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CosmosAccountId:
    subscription_id: str
    resource_group: str
    name: str

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DocumentDB/databaseAccounts/{self.name}"
        )


def parse_cosmos_account_id(value: str) -> CosmosAccountId | None:
    match = _RESOURCE_ID.fullmatch(value.strip().rstrip("/"))
    if match is None:
        return None
    # ARM resource IDs are case-insensitive; account names are always lowercase.
    return CosmosAccountId(match["subscription"].lower(), match["group"], match["name"].lower())


def is_valid_account_name(name: str) -> bool:
    return bool(ACCOUNT_NAME.fullmatch(name))
