"""The parts an operation is declared with, and the rules every one must meet by construction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..downstream import PROPERTY_NAME
from ..key_kinds import ACCOUNT_NAME
from ..settings import GUID

TITLE = "Key Vault-signed assertion broker"
VERSION = "1.0.0"
# An operationId is a verb and what it acts on (getHealth, listGraphUsers, runRollover): generators
# name the client function after it (get_health, list_graph_users, run_rollover).
OPERATION_VERBS = ("get", "list", "run", "create", "update", "delete", "check")
OPERATION_ID = re.compile(rf"(?:{'|'.join(OPERATION_VERBS)})(?:[A-Z][a-z0-9]*)+")
SCHEMA_REF = "#/components/schemas/"
EXAMPLE_REF = "#/components/examples/"


def _without_anchors(pattern: str) -> str:
    return pattern.removeprefix("^").removesuffix("$")


def _whole(pattern: str) -> str:
    """The code matches with ``fullmatch``; a JSON Schema ``pattern`` searches, so anchor it."""
    return f"^(?:{_without_anchors(pattern)})$"


ACCOUNT_NAME_PATTERN = _whole(ACCOUNT_NAME.pattern)
TENANT_PATTERN = _whole(GUID.pattern)
_PROPERTY = _without_anchors(PROPERTY_NAME.pattern)
# parse_select: items split on commas, whitespace around each item ignored, no empty item.
SELECT_PATTERN = rf"^\s*{_PROPERTY}\s*(,\s*{_PROPERTY}\s*)*$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF + name}


def nullable(name: str) -> dict[str, Any]:
    return {"anyOf": [ref(name), {"type": "null"}]}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" | "query"
    description: str
    schema: dict[str, Any]  # a primitive type, or ref() to a named enum
    required: bool = False
    example: Any = None

    def __post_init__(self) -> None:
        if "enum" in self.schema or self.schema.get("type") == "object":
            raise ValueError(f"parameter {self.name!r}: name its enum or object in schemas.py and ref() it")
        if self.example is None:
            raise ValueError(f"parameter {self.name!r}: needs an example")


@dataclass(frozen=True)
class Success:
    """The 200 response: a named component schema and at least one example of it."""

    schema: str
    description: str
    examples: dict[str, dict[str, Any]]  # name -> {"summary": ..., "value": ...}
    no_store: bool = True


@dataclass(frozen=True)
class Operation:
    """One HTTP function as the contract states it. ``function`` is its name in ``function_app``."""

    operation_id: str
    function: str
    method: str
    path: str  # under the /api route prefix
    summary: str
    description: str
    success: Success
    errors: tuple[int, ...]  # the error statuses it answers
    roles: frozenset[str] = frozenset()  # app roles, any of which a caller token must carry
    parameters: tuple[Parameter, ...] = ()
    function_key: bool = True
    caller_token: bool = True  # needs a caller token when CALLER_AUDIENCE is set
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not OPERATION_ID.fullmatch(self.operation_id):
            raise ValueError(f"operationId {self.operation_id!r}: a verb ({', '.join(OPERATION_VERBS)}) + PascalCase")
        if not self.success.examples:
            raise ValueError(f"{self.operation_id}: the 200 needs an example")
        if not self.tags:
            raise ValueError(f"{self.operation_id}: needs a tag (generators group the client by it)")


def flag(name: str, description: str) -> Parameter:
    """A boolean query parameter; parse_flag accepts exactly OpenAPI's serialization, true / false."""
    return Parameter(name, "query", description, {"type": "boolean", "default": False}, example=True)


NO_STORE = {
    "Cache-Control": {
        "description": "`no-store`: never cached (keys, token facts, directory data, problems).",
        "schema": {"type": "string", "const": "no-store"},
    }
}
