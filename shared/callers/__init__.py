"""Who may call the broker: caller tokens authenticated (``authentication``) and the app roles per route (``roles``).

Every protected route authenticates the caller before it judges any input, then asks
``require_role`` for the roles its input needs, before any outbound call.
"""

from __future__ import annotations

from .authentication import Caller, CallerAuthenticator, caller_scope, require_role
from .roles import (
    COSMOS_KEYS_READ,
    COSMOS_KEYS_READWRITE,
    COSMOS_ROLES,
    DIAGNOSTICS_ROLES,
    KEYS_READ,
    KEYS_READWRITE,
    KEYS_ROLES,
    ROLLOVER_ROLES,
    USERS_READ,
    USERS_READ_TENANT_PREFIX,
    USERS_ROLES,
    cosmos_roles,
    holds_any,
    key_roles,
    resource_role,
    users_roles,
)

__all__ = [
    "COSMOS_KEYS_READ",
    "COSMOS_KEYS_READWRITE",
    "COSMOS_ROLES",
    "DIAGNOSTICS_ROLES",
    "KEYS_READ",
    "KEYS_READWRITE",
    "KEYS_ROLES",
    "ROLLOVER_ROLES",
    "USERS_READ",
    "USERS_READ_TENANT_PREFIX",
    "USERS_ROLES",
    "Caller",
    "CallerAuthenticator",
    "caller_scope",
    "cosmos_roles",
    "holds_any",
    "key_roles",
    "require_role",
    "resource_role",
    "users_roles",
]
