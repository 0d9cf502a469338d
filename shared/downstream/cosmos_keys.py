"""``/api/cosmos/{account}/keys``: the accounts of ``COSMOS_ACCOUNT_IDS``, served as the ``cosmos`` key kind.

``readonly`` calls ``POST .../readonlykeys`` (DatabaseAccounts_ListReadOnlyKeys; the form the
Azure SDKs use) and needs ``Microsoft.DocumentDB/databaseAccounts/readonlykeys/action``
(Cosmos DB Account Reader Role). ``readwrite`` calls ``POST .../listKeys`` and needs
``.../listKeys/action`` (DocumentDB Account Contributor). Both are ARM writes for throttling.
The api-version and everything else come from the ``cosmos`` entry of ``shared.key_kinds``.
"""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest, NotFound
from ..key_kinds import KINDS, CosmosAccountId, KeyType, is_valid_account_name
from .resource_keys import ResourceKeysService

COSMOS = KINDS["cosmos"]


def validate_account_name(name: str) -> str:
    if not is_valid_account_name(name):
        raise BadRequest(
            "The account name must be a Cosmos DB account name: 3 to 44 lowercase letters, digits or hyphens."
        )
    return name


class CosmosKeysService:
    """The Cosmos route's view of the resource keys: only ``COSMOS_ACCOUNT_IDS`` accounts, the same caches.

    Local authentication, caching and single flight are the resource keys service's (shared with
    ``/api/keys/cosmos/{name}``): with the cache on, concurrent requests that miss it for the same
    account and key type share one ARM call (``listKeys``/``readonlykeys`` count as ARM writes: 10/s
    per subscription and principal). With the cache off (``COSMOS_KEYS_CACHE_SECONDS=0``) every
    request calls the key action; the local-auth read stays cached.
    """

    def __init__(self, *, keys: ResourceKeysService, accounts: tuple[CosmosAccountId, ...]) -> None:
        self._keys = keys
        self._accounts = frozenset(account.name for account in accounts)

    def keys(self, name: str, key_type: KeyType) -> dict[str, Any]:
        if name not in self._accounts:
            raise NotFound(f"Cosmos DB account '{name}' is not one this function serves (COSMOS_ACCOUNT_IDS).")
        answer = self._keys.keys(self._keys.resource(COSMOS, name), key_type)
        return dict(answer)
