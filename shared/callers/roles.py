"""App roles a caller's token must carry per route (SPEC "HTTP API"), when CALLER_AUDIENCE is set."""

from __future__ import annotations

import functools

from ..key_kinds import KeyType, ListedResource

COSMOS_KEYS_READ = "CosmosKeys.Read"
COSMOS_KEYS_READWRITE = "CosmosKeys.ReadWrite"
KEYS_READ = "Keys.Read"
KEYS_READWRITE = "Keys.ReadWrite"
USERS_READ = "Users.Read"
# Users.Read:{tenant id}: one customer tenant of ENTRA_ALLOWED_TENANTS (SPEC "Other tenants").
USERS_READ_TENANT_PREFIX = "Users.Read:"
DIAGNOSTICS_READ = "Diagnostics.Read"
ROLLOVER_WRITE = "Rollover.Write"
# A role ending in this matches every role with that prefix: the per-resource roles
# ("Keys.Read:storage/stgorders") and per-tenant roles ("Users.Read:{tenant id}") are as many as
# the listed resources and tenants, unknown when routes register.
ANY_SUFFIX = "*"


def cosmos_roles(key_type: KeyType) -> frozenset[str]:
    # ReadWrite includes read: a caller trusted with the master keys may read the read-only ones.
    if key_type is KeyType.READWRITE:
        return frozenset({COSMOS_KEYS_READWRITE})
    return frozenset({COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE})


def resource_role(key_type: KeyType, kind: str, name: str) -> str:
    """The per-resource role: ``Keys.Read:{kind}/{name}`` / ``Keys.ReadWrite:{kind}/{name}``."""
    base = KEYS_READWRITE if key_type is KeyType.READWRITE else KEYS_READ
    return f"{base}:{kind}/{name}"


@functools.lru_cache(maxsize=1024)  # the same few sets on every request: built once per resource and type
def key_roles(resource: ListedResource, key_type: KeyType) -> frozenset[str]:
    """Any of these lets a caller have ``key_type`` keys of ``resource``; ReadWrite includes Read.

    The per-resource roles name the resource as ``RESOURCE_KEYS`` lists it (the deployment declares
    them from the same IDs); Cosmos accounts keep accepting the Cosmos roles.
    """
    kind, name = resource.kind.kind, resource.name
    roles = {KEYS_READWRITE, resource_role(KeyType.READWRITE, kind, name)}
    if key_type is KeyType.READONLY:
        roles |= {KEYS_READ, resource_role(KeyType.READONLY, kind, name)}
    if kind == "cosmos":
        roles |= cosmos_roles(key_type)
    return frozenset(roles)


# Any Cosmos keys role: what the route checks before it reads `type` (authenticate first);
# `cosmos_roles` then narrows by the key type asked for.
COSMOS_ROLES = frozenset({COSMOS_KEYS_READ, COSMOS_KEYS_READWRITE})
# Any keys role at all: /api/keys checks this when it authenticates, then `key_roles` for the
# resource and key type once the route values are judged.
KEYS_ROLES = frozenset(
    {
        KEYS_READ,
        KEYS_READWRITE,
        f"{KEYS_READ}:{ANY_SUFFIX}",
        f"{KEYS_READWRITE}:{ANY_SUFFIX}",
        COSMOS_KEYS_READ,
        COSMOS_KEYS_READWRITE,
    }
)
# The route admits any Users.Read role before it reads `tenant`; `users_roles` then narrows.
USERS_ROLES = frozenset({USERS_READ, USERS_READ_TENANT_PREFIX + ANY_SUFFIX})


def users_roles(tenant: str | None) -> frozenset[str]:
    """``Users.Read`` covers the home tenant (None); ``Users.Read:{tenant}`` one listed tenant.

    The tenant ID is matched in lower or upper case (a role value is compared exactly).
    """
    if tenant is None:
        return frozenset({USERS_READ})
    return frozenset({USERS_READ_TENANT_PREFIX + tenant.lower(), USERS_READ_TENANT_PREFIX + tenant.upper()})


DIAGNOSTICS_ROLES = frozenset({DIAGNOSTICS_READ})
ROLLOVER_ROLES = frozenset({ROLLOVER_WRITE})


def holds_any(roles: frozenset[str], any_of: frozenset[str]) -> bool:
    """Whether ``roles`` (a token's) include one of ``any_of``; ``Prefix:*`` matches ``Prefix:anything``."""
    if roles & any_of:
        return True
    prefixes = tuple(role[: -len(ANY_SUFFIX)] for role in any_of if role.endswith(":" + ANY_SUFFIX))
    return any(role.startswith(p) and len(role) > len(p) for role in roles for p in prefixes)
