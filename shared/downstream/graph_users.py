"""Microsoft Graph users: ``GET /v1.0/users`` with ``$select``/``$top``, following ``@odata.nextLink``.

Requires the ``User.Read.All`` application permission (admin consent). References:
microsoft-graph-docs ``api-reference/v1.0/api/user-list.md`` and ``concepts/paging.md`` (``$top``
1-999; ``@odata.nextLink`` is an opaque absolute URL to follow as is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..credential_chain import TenantTokens
from ..errors import BadRequest, Hint, Upstream, UpstreamFailed, UpstreamTimeout, as_hint
from ..settings import GUID
from ..upstream import remaining
from .client import DownstreamClient

USERS_PATH = "/v1.0/users"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
GRAPH_MAX_PAGE = 999
# Applied with fullmatch: `$` would also match before a trailing newline.
PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_DIGITS = re.compile(r"[0-9]{1,5}")  # ASCII only: str.isdigit() also accepts "²"


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    text = value.strip()
    if not _DIGITS.fullmatch(text) or not (1 <= int(text) <= MAX_LIMIT):
        raise BadRequest(f"Query parameter 'limit' must be a whole number from 1 to {MAX_LIMIT}.")
    return int(text)


def parse_tenant(value: str | None) -> str | None:
    """The ``tenant`` query: a tenant ID (GUID), or None for the home tenant; anything else is a 400."""
    if value is None:
        return None
    if not GUID.fullmatch(value):
        raise BadRequest("Query parameter 'tenant' must be a tenant ID (a GUID), e.g. tenant=<directory ID>.")
    return value.lower()


def parse_select(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")]
    if any(not PROPERTY_NAME.fullmatch(item) for item in items):
        raise BadRequest(
            "Query parameter 'select' must be a comma-separated list of Graph property names "
            "(letters and digits, starting with a letter), e.g. select=id,displayName."
        )
    return tuple(dict.fromkeys(items))


class GraphUsersService:
    def __init__(self, *, graph: DownstreamClient, principal: str | Hint, tenants: TenantTokens | None = None) -> None:
        self._graph = graph
        self._principal = as_hint(principal)
        self._tenants = tenants

    def list(self, *, limit: int, select: tuple[str, ...] | None, tenant: str | None = None) -> dict[str, Any]:
        """The users of the home tenant (``tenant`` None) or of a customer tenant ``TenantTokens`` resolved."""
        params = {"$top": str(min(limit, GRAPH_MAX_PAGE))}
        if select:
            params["$select"] = ",".join(select)
        grant = "the Microsoft Graph application permission User.Read.All and have an administrator grant admin consent"
        if tenant is None:
            hints = {
                403: Hint(
                    f"Grant {self._principal.caller} {grant} for it.",
                    f"Grant {self._principal.full} {grant} for it.",
                ),
            }
        else:
            consent = (
                "The app's consent in the requested tenant does not include the Microsoft Graph application "
                "permission User.Read.All: an administrator of that tenant must consent to it (admin consent)"
            )
            hints = {403: Hint(f"{consent}.", f"{consent}; tenant {tenant}.")}
        tokens = self._tenants.provider(tenant) if self._tenants is not None else None
        users: list[Any] = []
        truncated = False
        next_url: str | None = USERS_PATH
        request_params: Mapping[str, str] | None = params
        seen: set[str] = set()
        first_page = True
        while next_url:
            left = remaining()
            if left is not None and left <= 0:
                raise UpstreamTimeout(
                    "Graph paging did not finish within the request's time budget.", upstream=Upstream.GRAPH
                )
            page = self._graph.request(
                "GET",
                next_url,
                params=request_params,
                action="listing users",
                hints=hints,
                # Only the first request carries the caller's $select; a later 400 is Graph's own fault.
                bad_request_is_callers=first_page,
                # A nextLink may only page the users list, never lead to another Graph resource.
                link_path=None if first_page else USERS_PATH,
                tokens=tokens,
            )
            first_page = False
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise UpstreamFailed("Graph answered the users list without a 'value' array.", upstream=Upstream.GRAPH)
            room = limit - len(users)
            users.extend(page["value"][:room])
            link = page.get("@odata.nextLink")
            if len(page["value"]) > room:
                truncated = True
                break
            if len(users) >= limit:
                truncated = bool(link)
                break
            # The link already carries $select/$top/$skiptoken: follow it verbatim. An empty page
            # that still links on, or a link seen before, would loop forever: stop there.
            next_url = link if isinstance(link, str) and link and page["value"] and link not in seen else None
            if next_url:
                seen.add(next_url)
            request_params = None
        return {"value": users, "count": len(users), "truncated": truncated}
