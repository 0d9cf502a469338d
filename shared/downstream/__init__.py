"""The downstream APIs the broker calls as its app registration: ARM (resource keys) and Microsoft Graph.

``DownstreamClient`` is one Entra-protected API (bearer token from the credential chain, the token
only to the API's own origin, bounded retries); the services beside it are what the routes ask of
those APIs: the keys of listed resources (``resource_keys``; Cosmos DB's own route in
``cosmos_keys``) and Graph users.
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
from .resource_keys import LOCAL_AUTH_SECONDS, MAX_PAGES, LocalAuthDisabled, ResourceKeysService

__all__ = [
    "DEFAULT_LIMIT",
    "LOCAL_AUTH_SECONDS",
    "MAX_LIMIT",
    "MAX_PAGES",
    "PROPERTY_NAME",
    "CosmosKeysService",
    "DownstreamClient",
    "GraphUsersService",
    "LocalAuthDisabled",
    "ResourceKeysService",
    "parse_limit",
    "parse_select",
    "parse_tenant",
    "validate_account_name",
]
