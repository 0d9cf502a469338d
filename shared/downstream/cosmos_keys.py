"""Cosmos DB account keys through Azure Resource Manager.

``readonly`` calls ``POST .../readonlykeys`` (DatabaseAccounts_ListReadOnlyKeys; the form the
Azure SDKs use) and needs ``Microsoft.DocumentDB/databaseAccounts/readonlykeys/action``
(Cosmos DB Account Reader Role). ``readwrite`` calls ``POST .../listKeys`` and needs
``.../listKeys/action`` (DocumentDB Account Contributor). Both are ARM writes for throttling.
Reference: azure-rest-api-specs Microsoft.DocumentDB stable 2025-10-15.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest, Hint, NotFound, Upstream, UpstreamFailed, UpstreamTimeout, as_hint
from ..key_kinds import CosmosAccountId, KeyType, is_valid_account_name
from ..single_flight import SingleFlight
from .client import DownstreamClient

ARM_API_VERSION = "2025-10-15"
READER_ROLE = "Cosmos DB Account Reader Role (fbdf93bf-df7d-467e-a4d2-9458aa1360c8)"
CONTRIBUTOR_ROLE = "DocumentDB Account Contributor (5bd9cd88-fe45-4216-938b-f97437e15450)"


def validate_account_name(name: str) -> str:
    if not is_valid_account_name(name):
        raise BadRequest(
            "The account name must be a Cosmos DB account name: 3 to 44 lowercase letters, digits or hyphens."
        )
    return name


class CosmosKeysService:
    """Fetches keys for the accounts named in ``COSMOS_ACCOUNT_IDS``; reuses them for a short while.

    With the cache on, concurrent requests that miss it for the same account and key type share
    one ARM call (``listKeys``/``readonlykeys`` count as ARM writes: 10/s per subscription and
    principal). With the cache off (``COSMOS_KEYS_CACHE_SECONDS=0``) every request calls ARM.
    """

    def __init__(
        self,
        *,
        arm: DownstreamClient,
        accounts: tuple[CosmosAccountId, ...],
        cache_seconds: int,
        principal: str | Hint,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._arm = arm
        self._accounts = {account.name: account for account in accounts}
        self._cache_seconds = cache_seconds
        self._principal = as_hint(principal)
        self._clock = clock
        self._cache: dict[tuple[str, KeyType], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, KeyType], _KeyCall] = {}
        self._flights: SingleFlight[dict[str, Any]] = SingleFlight()

    def account(self, name: str) -> CosmosAccountId:
        account = self._accounts.get(name)
        if account is None:
            raise NotFound(f"Cosmos DB account '{name}' is not one this function serves (COSMOS_ACCOUNT_IDS).")
        return account

    def keys(self, name: str, key_type: KeyType) -> dict[str, Any]:
        account = self.account(name)
        if self._cache_seconds <= 0:
            return self._fetch(account, key_type)
        cache_key = (name, key_type)
        cached = self._cached(cache_key)
        if cached is not None:
            return dict(cached)

        def fetch_and_keep() -> dict[str, Any]:
            # A leader that took over just after another flight landed finds its result here.
            again = self._cached(cache_key)
            if again is not None:
                return again
            keys = self._fetch(account, key_type)
            with self._lock:
                self._cache[cache_key] = (self._clock() + self._cache_seconds, keys)
            return keys

        keys = self._flights.run(
            cache_key,
            fetch_and_keep,
            on_wait_timeout=lambda: UpstreamTimeout(
                "Timed out waiting for a Cosmos DB key request in progress.", upstream=Upstream.ARM
            ),
        )
        return dict(keys)

    def _cached(self, cache_key: tuple[str, KeyType]) -> dict[str, Any] | None:
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached is not None and self._clock() < cached[0]:
            return cached[1]
        return None

    def _fetch(self, account: CosmosAccountId, key_type: KeyType) -> dict[str, Any]:
        call = self._calls.get((account.name, key_type))
        if call is None:
            call = self._calls[(account.name, key_type)] = _KeyCall.for_account(account, key_type, self._principal)
        body = self._arm.request("POST", call.path, params=_API_VERSION, action=call.action, hints=call.hints)
        if not isinstance(body, dict):
            raise UpstreamFailed(f"ARM answered {call.operation} without a JSON object.", upstream=Upstream.ARM)
        return body


_API_VERSION = {"api-version": ARM_API_VERSION}


@dataclass(frozen=True)
class _KeyCall:
    """The ARM request for one account and key type, with its error hints: composed once, not per request."""

    operation: str
    path: str
    action: str
    hints: Mapping[int, Hint]

    @classmethod
    def for_account(cls, account: CosmosAccountId, key_type: KeyType, principal: Hint) -> _KeyCall:
        operation = "readonlykeys" if key_type is KeyType.READONLY else "listKeys"
        role = READER_ROLE if key_type is KeyType.READONLY else CONTRIBUTOR_ROLE
        resource_id = account.resource_id
        return cls(
            operation=operation,
            path=f"{resource_id}/{operation}",
            action=f"{operation} on Cosmos DB account '{account.name}'",
            # The caller is told which role to grant to whom; the principal's IDs and the account's
            # resource ID (subscription, resource group) are the operator's.
            hints={
                403: Hint(
                    f"Grant {principal.caller} the {role} role on the Cosmos DB account.",
                    f"Grant {principal.full} the {role} role on the Cosmos DB account {resource_id}.",
                ),
                404: Hint(
                    "The Cosmos DB account was not found: check COSMOS_ACCOUNT_IDS.",
                    f"Cosmos DB account {resource_id} was not found: check COSMOS_ACCOUNT_IDS.",
                ),
            },
        )
