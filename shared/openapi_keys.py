"""The ``/api/keys/{kind}/{name}`` part of the OpenAPI document, generated from the kinds table.

Every kind's answer is a named component built from its ``shared.key_kinds`` entry, so adding a kind
adds its schemas and examples here without an edit:

* ``ResourceKeys`` is a ``oneOf`` of one variant per kind (``{Kind}ResourceKeys``), told apart by
  ``kind`` (an OpenAPI ``discriminator``); each variant fixes ``kind``, allows only the kind's key
  types, and holds under ``keys`` the action's answer schema (``{Kind}{Action}Answer``; a kind whose
  two key types answer differently lists both in ``anyOf``: Cosmos DB's ``listKeys`` answer also holds
  the read-only pair, so both can match);
* nested objects of an answer that carry a ``title`` (``StorageAccountKey``, ...) become components
  of that name;
* ``KeyKind`` and ``KeyType`` are named enums; one example per kind and key type.
"""

from __future__ import annotations

import copy
from typing import Any

from .key_kinds import KINDS, KeyKind, KeyType

SCHEMA_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF + name}


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
    variants: list[dict[str, Any]] = []
    mapping: dict[str, str] = {}
    for kind in KINDS.values():
        answers: list[str] = []
        for key_type, action in kind.actions.items():
            name = answer_schema_name(kind, key_type)
            if name not in found:
                schema = _hoist_nested(dict(action.answer_schema), found, f"ARM's {action.name} answer")
                schema["description"] = (
                    f"ARM `{action.name}` of a {kind.title} (api-version {kind.api_version}), verbatim"
                    + (", only the entries with `readOnly` true" if action.read_only_entries else "")
                    + ("; the pages of `nextLink` joined into one `value`" if action.paged else "")
                    + "."
                )
                found[name] = schema
            if name not in answers:
                answers.append(name)
        variant = f"{kind.schema_name}ResourceKeys"
        types = [str(t) for t in kind.actions]
        found[variant] = {
            "type": "object",
            "description": f"The keys of one {kind.title}. Local authentication off: a 409 instead, never a key.",
            "required": ["kind", "name", "type", "keys"],
            "properties": {
                "kind": {"type": "string", "const": kind.kind},
                "name": {"type": "string", "pattern": f"^(?:{kind.name_pattern.pattern})$"},
                # One key type: a const; both: the named KeyType (no inline enum for generators to name).
                "type": {"type": "string", "const": types[0]} if len(types) == 1 else _ref("KeyType"),
                "keys": _ref(answers[0]) if len(answers) == 1 else {"anyOf": [_ref(a) for a in answers]},
            },
        }
        variants.append(_ref(variant))
        mapping[kind.kind] = SCHEMA_REF + variant
    found["ResourceKeys"] = {
        "description": "The kind, the resource's name as listed, the key type, and the ARM action's answer "
        "verbatim under `keys`.",
        "oneOf": variants,
        "discriminator": {"propertyName": "kind", "mapping": mapping},
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
