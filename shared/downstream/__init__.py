"""The downstream APIs the broker calls as its app registration: ARM (resource keys) and Microsoft Graph.

``DownstreamClient`` is one Entra-protected API (bearer token from the credential chain, the token
only to the API's own origin, bounded retries); the services beside it are what the routes ask of
those APIs: Cosmos DB account keys and Graph users.
"""

from __future__ import annotations

from .client import DownstreamClient
from .cosmos_keys import CosmosKeysService, validate_account_name
from .graph_users import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PROPERTY_NAME,
    GraphUsersService,
    parse_limit,
    parse_select,
    parse_tenant,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PROPERTY_NAME",
    "CosmosKeysService",
    "DownstreamClient",
    "GraphUsersService",
    "parse_limit",
    "parse_select",
    "parse_tenant",
    "validate_account_name",
]
