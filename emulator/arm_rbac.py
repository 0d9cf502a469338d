# Azure RBAC as ARM evaluates it for control-plane actions: role definitions (Actions,
# NotActions, AssignableScopes) and role assignments (principal, scope, role definition).
# Sources: learn.microsoft.com/azure/role-based-access-control/role-definitions ("Actions",
# "NotActions", wildcard `*` "matches any string" incl. `/`, operation strings are
# case-insensitive; NotActions subtract from the same definition's Actions, they are not a deny),
# /scope-overview (an assignment applies to its scope and every child scope),
# /custom-roles (AssignableScopes: an assignment outside them is refused), /built-in-roles (the
# built-in definitions below, their GUIDs and Actions).
from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class RoleDefinition:
    id: str  # the role definition GUID
    name: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    assignable_scopes: tuple[str, ...] = ("/",)
    custom: bool = False

    def allows(self, operation: str) -> bool:
        return any(_matches(p, operation) for p in self.actions) and not any(
            _matches(p, operation) for p in self.not_actions
        )


@dataclass(frozen=True)
class RoleAssignment:
    id: str
    principal_id: str
    scope: str
    role_definition_id: str


@cache
def _pattern(action: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in action.split("*")), re.IGNORECASE)


def _matches(pattern: str, operation: str) -> bool:
    return _pattern(pattern).fullmatch(operation) is not None


def within(resource_id: str, scope: str) -> bool:
    """True when `scope` is `resource_id` or one of its ancestors (case-insensitive path prefix)."""
    scope = scope.rstrip("/").lower()
    rid = resource_id.rstrip("/").lower()
    return scope == "" or rid == scope or rid.startswith(scope + "/")


_AUTH_READ = "Microsoft.Authorization/*/read"
_RG_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
# [D] learn.microsoft.com/azure/role-based-access-control/built-in-roles (Actions abridged to the
# control-plane entries that matter here; NotActions of Contributor as published).
BUILT_IN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ("*/read",)),
    RoleDefinition(
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
        ),
    ),
    RoleDefinition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", ("*",)),
    RoleDefinition(
        "fbdf93bf-df7d-467e-a4d2-9458aa1360c8",
        "Cosmos DB Account Reader Role",
        (
            _AUTH_READ,
            "Microsoft.DocumentDB/*/read",
            "Microsoft.DocumentDB/databaseAccounts/readonlykeys/action",
            "Microsoft.Insights/MetricDefinitions/read",
            "Microsoft.Insights/Metrics/read",
            _RG_READ,
            "Microsoft.Support/*",
        ),
    ),
    RoleDefinition(
        "5bd9cd88-fe45-4216-938b-f97437e15450",
        "DocumentDB Account Contributor",
        (
            _AUTH_READ,
            "Microsoft.DocumentDb/databaseAccounts/*",
            "Microsoft.Insights/alertRules/*",
            _RG_READ,
            "Microsoft.Support/*",
        ),
    ),
    RoleDefinition(
        "81a9662b-bebf-436f-a333-f67b29880f12",
        "Storage Account Key Operator Service Role",
        ("Microsoft.Storage/storageAccounts/listkeys/action", "Microsoft.Storage/storageAccounts/regeneratekey/action"),
    ),
    RoleDefinition(
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "Storage Account Contributor",
        (
            _AUTH_READ,
            "Microsoft.Insights/diagnosticSettings/*",
            _RG_READ,
            "Microsoft.Storage/storageAccounts/*",
            "Microsoft.Support/*",
        ),
    ),
    RoleDefinition(
        "7ca78c08-252a-4471-8644-bb5ff32d4ba0",
        "Search Service Contributor",
        (
            _AUTH_READ,
            "Microsoft.Insights/alertRules/*",
            _RG_READ,
            "Microsoft.Search/searchServices/*",
            "Microsoft.Support/*",
        ),
    ),
    RoleDefinition(
        "e0f68234-74aa-48ed-b826-c38b57376e17",
        "Redis Cache Contributor",
        (_AUTH_READ, "Microsoft.Cache/register/action", "Microsoft.Cache/redis/*", _RG_READ, "Microsoft.Support/*"),
    ),
    RoleDefinition(
        "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
        "Cognitive Services Contributor",
        (_AUTH_READ, "Microsoft.CognitiveServices/*", _RG_READ, "Microsoft.Support/*"),
    ),
)


@dataclass
class Rbac:
    """Role definitions and assignments of one emulated tenant; thread-safe."""

    definitions: dict[str, RoleDefinition] = field(default_factory=dict)
    assignments: list[RoleAssignment] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.definitions = {d.id: d for d in BUILT_IN_ROLES}
            self.assignments = []

    def definition(self, role: str) -> RoleDefinition:
        """A role definition by GUID, by `/…/roleDefinitions/{guid}` ID or by role name."""
        key = role.rstrip("/").rsplit("/", 1)[-1].lower()
        with self.lock:
            for definition in self.definitions.values():
                if definition.id.lower() == key or definition.name.lower() == role.lower():
                    return definition
        raise ValueError(f"unknown role {role!r}; one of {sorted(d.name for d in self.definitions.values())}")

    def define(
        self,
        name: str,
        actions: list[str] | tuple[str, ...],
        *,
        not_actions: list[str] | tuple[str, ...] = (),
        assignable_scopes: list[str] | tuple[str, ...] = ("/",),
        role_id: str | None = None,
    ) -> RoleDefinition:
        """A custom role definition (Microsoft.Authorization/roleDefinitions): name unique per tenant."""
        if not name or not actions:
            raise ValueError("a role definition needs a name and at least one action")
        if not assignable_scopes:
            raise ValueError("a custom role needs at least one assignable scope")
        for action in (*actions, *not_actions):
            if not isinstance(action, str) or not action or " " in action:
                raise ValueError(f"invalid action {action!r}")
        definition = RoleDefinition(
            str(uuid.UUID(role_id)) if role_id else str(uuid.uuid4()),
            name,
            tuple(actions),
            tuple(not_actions),
            tuple(assignable_scopes),
            custom=True,
        )
        with self.lock:
            for existing in self.definitions.values():
                if existing.name.lower() == name.lower() and existing.id != definition.id:
                    raise ValueError(f"a role named {name!r} exists already (RoleDefinitionWithSameNameExists)")
            self.definitions[definition.id] = definition
        return definition

    def assign(self, principal_id: str, scope: str, role: str) -> RoleAssignment:
        definition = self.definition(role)
        if definition.custom and not any(within(scope, s) for s in definition.assignable_scopes):
            raise ValueError(
                f"scope {scope!r} is not within the role's assignable scopes (InvalidCreateRoleAssignmentRequest)"
            )
        with self.lock:
            for existing in self.assignments:
                if (existing.principal_id.lower(), existing.scope.lower(), existing.role_definition_id) == (
                    principal_id.lower(),
                    scope.lower(),
                    definition.id,
                ):
                    return existing
            assignment = RoleAssignment(str(uuid.uuid4()), principal_id, scope, definition.id)
            self.assignments.append(assignment)
        return assignment

    def unassign(self, principal_id: str, scope: str, role: str) -> int:
        definition = self.definition(role)
        with self.lock:
            before = len(self.assignments)
            self.assignments = [
                a
                for a in self.assignments
                if (a.principal_id.lower(), a.scope.lower(), a.role_definition_id)
                != (principal_id.lower(), scope.lower(), definition.id)
            ]
            return before - len(self.assignments)

    def allowed(self, principal_id: str, operation: str, resource_id: str) -> bool:
        """Whether any assignment of the principal at or above `resource_id` allows `operation`."""
        with self.lock:
            for assignment in self.assignments:
                if assignment.principal_id.lower() != principal_id.lower():
                    continue
                if not within(resource_id, assignment.scope):
                    continue
                definition = self.definitions.get(assignment.role_definition_id)
                if definition is not None and definition.allows(operation):
                    return True
        return False
