"""The resources listed in ``RESOURCE_KEYS``: ARM resource IDs matched against the kinds table.

An ID is ``/subscriptions/{guid}/resourceGroups/{group}/providers/{namespace}/{type}/{name}``, plus
``/{childType}/{child}`` for a Service Bus or Event Hubs authorization rule. ARM compares IDs
case-insensitively; the broker keeps the kind's own spelling of provider and type, and the
listed names as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .kinds import KINDS, KeyAction, KeyKind

_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})"
    r"/resourceGroups/(?P<group>[-\w._()]{1,90})"
    r"/providers/(?P<namespace>[A-Za-z][A-Za-z0-9.]*)/(?P<type>[A-Za-z]+)/(?P<name>[^/\s]+)"
    r"(?:/(?P<child_type>[A-Za-z]+)/(?P<child>[^/\s]+))?",
    re.IGNORECASE | re.ASCII,
)
_BY_TYPE: dict[tuple[str, str, str | None], KeyKind] = {
    (k.provider.lower(), k.resource_type.lower(), k.child_type.lower() if k.child_type else None): k
    for k in KINDS.values()
}


class UnsupportedResourceId(ValueError):
    """An entry of RESOURCE_KEYS the broker cannot serve; the message says why (no secret in it)."""


@dataclass(frozen=True)
class ListedResource:
    kind: KeyKind
    subscription_id: str
    resource_group: str
    name: str  # the route's {name}: the resource's own, for a rule its namespace's
    child: str | None = None  # the authorization rule of a Service Bus / Event Hubs namespace

    # Composed once per resource, not per request (the hot path reads them on every call).
    @cached_property
    def parent_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.kind.provider}/{self.kind.resource_type}/{self.name}"
        )

    @cached_property
    def resource_id(self) -> str:
        if self.child is None:
            return self.parent_id
        return f"{self.parent_id}/{self.kind.child_type}/{self.child}"

    @cached_property
    def local_auth_id(self) -> str:
        """The resource whose properties say whether keys work (a rule's namespace)."""
        return self.parent_id if self.kind.local_auth.on_parent else self.resource_id

    @cached_property
    def key(self) -> tuple[str, str]:
        """(kind, name) as the route and the caller roles name it; names compare case-insensitively."""
        return (self.kind.kind, self.name.lower())

    @cached_property
    def kind_params(self) -> dict[str, str]:
        """The query of every call for this resource: the kind's api-version."""
        return {"api-version": self.kind.api_version}

    def action_path(self, action: KeyAction) -> str:
        return f"{self.resource_id}/{action.name}"

    def describe(self) -> str:
        """What a caller may be told: the kind and the name they asked for, never the resource path."""
        return f"{self.kind.title} '{self.name}'"


def parse_resource_id(value: str) -> ListedResource:
    """One RESOURCE_KEYS entry; raises UnsupportedResourceId naming what is wrong with it."""
    match = _ID.fullmatch(value.strip().rstrip("/"))
    if match is None:
        raise UnsupportedResourceId(
            "each item must be an ARM resource ID: /subscriptions/{id}/resourceGroups/{group}"
            "/providers/{namespace}/{type}/{name}"
        )
    child_type = match["child_type"]
    kind = _BY_TYPE.get((match["namespace"].lower(), match["type"].lower(), child_type.lower() if child_type else None))
    if kind is None:
        supported = ", ".join(
            f"{k.provider}/{k.resource_type}" + (f"/{{name}}/{k.child_type}" if k.child_type else "")
            for k in KINDS.values()
        )
        raise UnsupportedResourceId(
            f"resource type {match['namespace']}/{match['type']}"
            + (f"/{child_type}" if child_type else "")
            + f" is not one whose keys the broker serves (supported: {supported})"
        )
    name = match["name"]
    if kind.kind == "cosmos":
        name = name.lower()  # Cosmos DB account names are lowercase; ARM IDs may not be
    if not kind.name_pattern.fullmatch(name):
        raise UnsupportedResourceId(f"a {kind.title} name is {kind.name_rule}")
    child = match["child"]
    if kind.child_pattern is not None and (child is None or not kind.child_pattern.fullmatch(child)):
        raise UnsupportedResourceId(
            f"a {kind.title} authorization rule name is 1 to 256 letters, digits, '.', '-', '_'"
        )
    return ListedResource(
        kind=kind,
        subscription_id=match["subscription"].lower(),
        resource_group=match["group"],
        name=name,
        child=child,
    )
