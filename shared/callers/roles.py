"""App roles a caller's token must carry per route (SPEC "HTTP API"), when CALLER_AUDIENCE is set."""

from __future__ import annotations

from ..key_kinds import KeyType

COSMOS_KEYS_READ = "CosmosKeys.Read"
COSMOS_KEYS_READWRITE = "CosmosKeys.ReadWrite"
USERS_READ = "Users.Read"
DIAGNOSTICS_READ = "Diagnostics.Read"
ROLLOVER_WRITE = "Rollover.Write"


def cosmos_roles(key_type: KeyType) -> frozenset[str]:
    # ReadWrite includes read: a caller trusted with the master keys may read the read-only ones.
    if key_type is KeyType.READWRITE:
        return frozenset({COSMOS_KEYS_READWRITE})
    return frozenset({COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE})


# Any Cosmos keys role: what the route checks before it reads `type` (authenticate first);
# `cosmos_roles` then narrows by the key type asked for.
COSMOS_ROLES = frozenset({COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE})
USERS_ROLES = frozenset({USERS_READ})
DIAGNOSTICS_ROLES = frozenset({DIAGNOSTICS_READ})
ROLLOVER_ROLES = frozenset({ROLLOVER_WRITE})
