"""The ``/api/keys/{kind}/{name}`` part of the contract, generated from the kinds table.

Every kind's answer is a named component built from its ``shared.key_kinds`` entry, so adding a kind
adds its schemas and examples here without an edit:

* ``ResourceKeys`` is one object (client generators make a model of an object, not of a ``oneOf``):
  ``kind``, ``name``, ``type`` and, under ``keys``, any of the actions' answers — a documented union:
  each answer schema (``{Kind}{Action}Answer``) says which ``kind`` and ``type`` it goes with, and
  ``x-key-answers`` maps kind → type → answer (``anyOf``: Redis's and AI Search's admin keys are
  both a key pair, and Cosmos DB's ``listKeys`` answer also holds the read-only pair);
* nested objects of an answer that carry a ``title`` (``StorageAccountKey``, ...) become components
  of that name;
* ``KeyKind`` and ``KeyType`` are named enums; one example per kind and key type.
"""

from __future__ import annotations

import copy
from typing import Any

from ..key_kinds import KINDS, KeyKind, KeyType
from .model import SCHEMA_REF
from .model import ref as _ref


def _pascal(action: str) -> str:
    return action[:1].upper() + action[1:]


def answer_schema_name(kind: KeyKind, key_type: KeyType) -> str:
    action = kind.actions[key_type]
    suffix = "ReadOnly" if action.read_only_entries else ""
    return f"{kind.schema_name}{_pascal(action.name)}{suffix}Answer"


def _hoist_nested(schema: dict[str, Any], into: dict[str, Any], owner: str) -> dict[str, Any]:
    """ARM's objects stay open (``additionalProperties``): the answer is ARM's, verbatim, and ARM adds
    fields over api-versions; a titled nested object becomes a component of that name."""

    def walk(node: Any, top: bool) -> Any:
        if isinstance(node, list):
            return [walk(item, False) for item in node]
        if not isinstance(node, dict):
            return node
        walked = {key: walk(value, False) for key, value in node.items()}
        if walked.get("type") == "object":
            walked["additionalProperties"] = True
        title = walked.get("title")
        if not top and walked.get("type") == "object" and isinstance(title, str):
            into[title] = {"description": f"An entry of {owner}.", **{k: v for k, v in walked.items() if k != "title"}}
            return _ref(title)
        return walked

    return walk(copy.deepcopy(schema), True)


def name_pattern() -> str:
    """Any kind's name rule (the route then applies the kind's own; a mismatch is a 400)."""
    return "^(?:" + "|".join(dict.fromkeys(k.name_pattern.pattern for k in KINDS.values())) + ")$"


def schemas() -> dict[str, Any]:
    found: dict[str, Any] = {
        "KeyKind": {
            "type": "string",
            "enum": list(KINDS),
            "x-enum-varnames": [kind.upper() for kind in KINDS],
            "description": "The kind of resource (SPEC 'Resource keys'): "
            + "; ".join(f"`{k.kind}`: {k.title} ({k.provider}/{k.resource_type})" for k in KINDS.values())
            + ".",
        },
        "KeyType": {
            "type": "string",
            "enum": [str(t) for t in KeyType],
            "x-enum-varnames": [t.name for t in KeyType],
            "description": "`readonly` (the default; only for kinds with read-only keys) or `readwrite`.",
        },
    }
    answers: list[str] = []
    by_kind: dict[str, dict[str, str]] = {}
    for kind in KINDS.values():
        for key_type, action in kind.actions.items():
            name = answer_schema_name(kind, key_type)
            if name not in found:
                schema = _hoist_nested(dict(action.answer_schema), found, f"ARM's {action.name} answer")
                schema["description"] = (
                    f"ARM `{action.name}` of a {kind.title} (api-version {kind.api_version}), verbatim"
                    + (", only the entries with `readOnly` true" if action.read_only_entries else "")
                    + ("; the pages of `nextLink` joined into one `value`" if action.paged else "")
                    + f". Under `keys` when `kind` is `{kind.kind}` and `type` is `{key_type}`."
                )
                found[name] = schema
                answers.append(name)
            by_kind.setdefault(kind.kind, {})[str(key_type)] = SCHEMA_REF + name
    found["ResourceKeys"] = {
        "type": "object",
        "description": "The kind, the resource's name as listed, the key type, and the ARM action's answer "
        "verbatim under `keys`: which answer goes with which `kind` and `type` is in `x-key-answers` and in "
        "each answer's description. Local authentication off: a 409 instead, never a key.",
        "required": ["kind", "name", "type", "keys"],
        "properties": {
            "kind": _ref("KeyKind"),
            "name": {"type": "string", "pattern": name_pattern(), "description": "As listed in RESOURCE_KEYS."},
            "type": _ref("KeyType"),
            # anyOf, not oneOf: some answers share a shape (Redis and AI Search admin keys are both a key pair).
            "keys": {"anyOf": [_ref(answer) for answer in answers]},
        },
        "x-key-answers": by_kind,
    }
    return found


def examples() -> dict[str, dict[str, Any]]:
    """One example of the 200 per kind and key type (placeholders where ARM puts keys)."""
    found: dict[str, dict[str, Any]] = {}
    for kind in KINDS.values():
        name = kind.example_name
        for key_type, action in kind.actions.items():
            found[f"{kind.kind}-{key_type}"] = {
                "summary": f"{kind.title}, {key_type} ({action.name})",
                "value": {"kind": kind.kind, "name": name, "type": str(key_type), "keys": dict(action.example)},
            }
    return found
