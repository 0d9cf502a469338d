"""Keys of the resources listed in ``RESOURCE_KEYS`` (and ``COSMOS_ACCOUNT_IDS``), through ARM.

For a listed resource and a key type: first whether the resource still accepts keys (``GET`` on it,
or on a rule's namespace; the answer is kept for ``LOCAL_AUTH_SECONDS`` whatever the key cache
says, so a key cache of 0 costs one ARM call per warm request, the key action), then the kind's
key action (``POST {id}/{action}``), kept for the kind's cache time. Both caches are single-flight:
concurrent misses for one resource (and key type) share one ARM call. Everything a kind needs is
in its ``shared.key_kinds`` entry; nothing here names a kind.

Paged answers (AI Search query keys, App Configuration keys: ``value`` + ``nextLink``): the links
are followed (a ``POST``, as the REST references show ``$skipToken`` on the action) only on ARM's
own origin and the action's own path, as Graph's ``@odata.nextLink`` is, and the pages are joined
into one ``value`` (``nextLink`` then null); a chain longer than ``MAX_PAGES`` is a 502.

A caller's error never carries the resource path or the principal: the ARM failure's detail names
the kind, the name the caller gave and the role to grant; the operator's hint (the failure's log
line and /api/diagnostics) adds the principal's IDs and the resource path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, Hint, NotFound, ProblemError, Upstream, UpstreamFailed, UpstreamTimeout, as_hint
from ..key_kinds import KeyAction, KeyKind, KeyType, ListedResource
from ..single_flight import SingleFlight
from ..upstream import Hints
from .client import DownstreamClient

LOCAL_AUTH_SECONDS = 300
MAX_PAGES = 50


class LocalAuthDisabled(Conflict):
    """The resource's keys list but do not work: its local (key) authentication is off."""

    title = "Local authentication is disabled"
    slug = "local-auth-disabled"


class _TimedCache:
    """Values kept until a deadline, filled single-flight: concurrent misses share one fetch."""

    def __init__(self, clock: Callable[[], float], what: str) -> None:
        self._clock = clock
        self._what = what
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._flights: SingleFlight[Any] = SingleFlight()

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            entry = self._values.get(key)
        if entry is not None and self._clock() < entry[0]:
            return True, entry[1]
        return False, None

    def get(self, key: Hashable, seconds: float, fetch: Callable[[], Any]) -> Any:
        if seconds <= 0:
            return fetch()  # off: every request asks ARM (as COSMOS_KEYS_CACHE_SECONDS=0 always has)
        found, value = self._fresh(key)
        if found:
            return value

        def fetch_and_keep() -> Any:
            # A leader that took over just after another flight landed finds its result here.
            again, kept = self._fresh(key)
            if again:
                return kept
            fetched = fetch()
            with self._lock:
                self._values[key] = (self._clock() + seconds, fetched)
            return fetched

        return self._flights.run(key, fetch_and_keep, on_wait_timeout=self._timeout)

    def _timeout(self) -> ProblemError:
        return UpstreamTimeout(f"Timed out waiting for {self._what} in progress.", upstream=Upstream.ARM)


class ResourceKeysService:
    """The keys of listed resources; ``cache_seconds(kind)`` is each kind's key cache time (0: off)."""

    def __init__(
        self,
        *,
        arm: DownstreamClient,
        resources: tuple[ListedResource, ...],
        cache_seconds: Callable[[KeyKind], int],
        principal: str | Hint,
        clock: Callable[[], float] = time.monotonic,
        local_auth_seconds: float = LOCAL_AUTH_SECONDS,
    ) -> None:
        self._arm = arm
        self._resources = {resource.key: resource for resource in resources}
        self._cache_seconds = cache_seconds
        self._principal = as_hint(principal)
        self._local_auth_seconds = local_auth_seconds
        self._keys = _TimedCache(clock, "an ARM key request")
        self._key_calls: dict[tuple[str, KeyType], _KeyCall] = {}
        self._local_auth = _TimedCache(clock, "an ARM read of a resource")

    @property
    def resources(self) -> tuple[ListedResource, ...]:
        return tuple(self._resources.values())

    def resource(self, kind: KeyKind, name: str) -> ListedResource:
        resource = self._resources.get((kind.kind, name.lower()))
        if resource is None:
            raise NotFound(f"The {kind.title} '{name}' is not one whose keys this function serves (RESOURCE_KEYS).")
        return resource

    def keys(self, resource: ListedResource, key_type: KeyType) -> Any:
        """The key action's answer (joined pages; for App Configuration read-only, its read-only keys)."""
        self._refuse_if_local_auth_is_off(resource)
        action = resource.kind.action(key_type)
        if action is None:  # the route refuses this before any call; a guard, not a path
            raise AssertionError(f"{resource.kind.kind} has no {key_type} keys")
        answer = self._keys.get(
            (resource.resource_id, action.name),
            self._cache_seconds(resource.kind),
            lambda: self._fetch(resource, key_type),
        )
        if action.read_only_entries:
            entries = [entry for entry in answer["value"] if isinstance(entry, dict) and entry.get("readOnly") is True]
            return {**answer, "value": entries}
        return answer

    # ------------------------------------------------------------------ local auth
    def _refuse_if_local_auth_is_off(self, resource: ListedResource) -> None:
        target = resource.local_auth_id
        off = self._local_auth.get(target, self._local_auth_seconds, lambda: self._local_auth_is_off(resource, target))
        if off:
            kind = resource.kind
            raise LocalAuthDisabled(
                f"Local (key) authentication is disabled on the {resource.describe()}: its keys cannot be used "
                f"there, so none are served. Use Microsoft Entra ID with the data-plane role "
                f"{kind.data_plane_roles} instead."
            )

    def _local_auth_is_off(self, resource: ListedResource, target: str) -> bool:
        kind = resource.kind
        body = self._call(
            "GET",
            target,
            resource,
            action=f"reading the {resource.describe()}",
            hints=self._read_hints(resource),
        )
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise UpstreamFailed(
                f"ARM answered the read of the {resource.describe()} without its properties.", upstream=Upstream.ARM
            )
        value = properties.get(kind.local_auth.property)
        # Absent (or null) is ARM's default: keys work. Only the exact off value turns them away.
        return value is kind.local_auth.off_when

    # ------------------------------------------------------------------ keys
    def _fetch(self, resource: ListedResource, key_type: KeyType) -> Any:
        call = self._key_calls.get((resource.resource_id, key_type))
        if call is None:
            call = self._key_calls[(resource.resource_id, key_type)] = _KeyCall.of(resource, key_type, self._principal)
        body = self._call("POST", call.path, resource, action=call.what, hints=call.hints)
        if not isinstance(body, dict):
            raise UpstreamFailed(f"ARM answered {call.what} without a JSON object.", upstream=Upstream.ARM)
        if not call.action.paged:
            return body
        return self._join_pages(body, call.path, resource, call.what, call.hints)

    def _join_pages(
        self, first: dict[str, Any], path: str, resource: ListedResource, what: str, hints: Hints
    ) -> dict[str, Any]:
        entries = _page_values(first, what)
        link = first.get("nextLink")
        pages = 1
        while link:
            if not isinstance(link, str):
                raise UpstreamFailed(f"ARM answered {what} with a nextLink that is not a URL.", upstream=Upstream.ARM)
            pages += 1
            if pages > MAX_PAGES:
                raise UpstreamFailed(f"ARM answered {what} with more than {MAX_PAGES} pages.", upstream=Upstream.ARM)
            # The link carries its own query (api-version, $skipToken): nothing is added to it.
            page = self._call("POST", link, resource, action=what, hints=hints, link_path=path)
            if not isinstance(page, dict):
                raise UpstreamFailed(f"ARM answered {what} without a JSON object.", upstream=Upstream.ARM)
            entries += _page_values(page, what)
            link = page.get("nextLink")
        if pages == 1:
            return first  # verbatim, its "nextLink": null included
        # The first page's own fields, every page's entries, and no page left to follow.
        return {**first, "value": entries, "nextLink": None}

    # ------------------------------------------------------------------ ARM
    def _call(
        self,
        method: str,
        path_or_url: str,
        resource: ListedResource,
        *,
        action: str,
        hints: Hints,
        link_path: str | None = None,
    ) -> Any:
        # A failure's caller detail names the kind, the name and the role to grant; its operator hint
        # (the route's log line, /api/diagnostics) adds the principal and the resource path.
        return self._arm.request(
            method,
            path_or_url,
            params=None if link_path else resource.kind_params,
            action=action,
            hints=hints,
            link_path=link_path,
        )

    def _read_hints(self, resource: ListedResource) -> Hints:
        kind = resource.kind
        holders = (
            f"the {' and '.join(dict.fromkeys(kind.arm_roles.values()))} roles hold it"
            if kind.arm_roles
            else "the deployment's resource-keys role holds it"
        )
        grant = f"{kind.rbac_read} on the {resource.describe()} ({holders})"
        return {
            403: Hint(
                f"Grant {self._principal.caller} {grant}.",
                f"Grant {self._principal.full} {grant}: {resource.local_auth_id}.",
            ),
            404: Hint(
                f"The {resource.describe()} was not found: check RESOURCE_KEYS.",
                f"{resource.local_auth_id} was not found: check RESOURCE_KEYS.",
            ),
        }


@dataclass(frozen=True)
class _KeyCall:
    """The key action for one resource and key type, with its error hints: composed once, not per request."""

    action: KeyAction
    path: str
    what: str
    hints: Hints

    @classmethod
    def of(cls, resource: ListedResource, key_type: KeyType, principal: Hint) -> _KeyCall:
        kind = resource.kind
        action = kind.actions[key_type]
        grant = f"{kind.role_hint(key_type)} on the {resource.describe()}"
        return cls(
            action=action,
            path=resource.action_path(action),
            what=f"{action.name} on the {resource.describe()}",
            hints={
                403: Hint(
                    f"Grant {principal.caller} {grant}.", f"Grant {principal.full} {grant}: {resource.resource_id}."
                ),
                404: Hint(
                    f"The {resource.describe()} was not found: check RESOURCE_KEYS.",
                    f"{resource.resource_id} was not found: check RESOURCE_KEYS.",
                ),
            },
        )


def _page_values(page: Mapping[str, Any], what: str) -> list[Any]:
    values = page.get("value")
    if not isinstance(values, list):
        raise UpstreamFailed(f"ARM answered {what} without a 'value' list.", upstream=Upstream.ARM)
    return list(values)
