"""Resource bodies against the official Bicep types (the committed extract in tests/infra/types/).

What `bicep build` reports on a resource body, for machines without the CLI:
  - BCP081: a resource type@apiVersion Bicep has no types for (here: not in the extract; rerun
    tests/infra/types/generate.py when adding one);
  - BCP037: a property the type does not declare (no additionalProperties);
  - BCP073: a value for a read-only property;
  - BCP035: a required property missing from an object written as a literal;
  - BCP036/BCP088: a literal of the wrong kind, or a string outside a closed enum;
  - an `existing` resource with anything but its name/scope/parent (or identifier properties)
    and a write to a type that can only be referenced as `existing`.
Values computed by expressions are not judged (unknown before deployment), except that both
branches of `?:` are checked when they are literals, as Bicep type-checks both; objects built by
a loop (`[for x in xs: {...}]`) are checked against the array's item type.

Literals vs identifiers: pycep renders 'x' and x alike; a string naming a symbol in scope
(parameter, variable, resource, module, loop variable) is an identifier, anything else a literal
(the same convention as evaluate.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import bicep

TYPES = Path(__file__).resolve().parent / "types"
# Resource-body keys that are Bicep syntax, not properties of the type.
SYNTAX_KEYS = {"scope", "parent", "dependsOn", "depends_on"}
REGENERATE = (
    "rerun tests/infra/types/generate.py (make infra-types) after fetching Azure/bicep-types-az"
    " and microsoftgraph/msgraph-bicep-types"
)


@dataclass(frozen=True)
class ResourceDecl:
    file: str
    name: str
    type: str
    api_version: str
    existing: bool
    body: Any
    loop_variables: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.type}@{self.api_version}"


def resource_declarations(path: Path) -> list[ResourceDecl]:
    doc = bicep.parse(path)
    out = []
    rel = path.relative_to(bicep.INFRA).as_posix() if path.is_relative_to(bicep.INFRA) else path.name
    for name, res in (doc.get("resources") or {}).items():
        rtype = res["type"].split("@", 1)[0]  # nested resources come with their full type@version
        body, loops = _unwrap(res.get("config"))
        out.append(
            ResourceDecl(rel, name, rtype, res["api_version"], bool(res.get("existing")), body, frozenset(loops))
        )
    return out


def _unwrap(config: Any) -> tuple[Any, set[str]]:
    """The body under `if (...)` and `[for ...]` wrappers, with the loop's variable names."""
    loops: set[str] = set()
    while isinstance(config, dict) and "config" in config and ("condition" in config or "loop_type" in config):
        if config.get("loop_type"):
            detail = config["loop_type"]["detail"]
            loops |= {v for k, v in detail.items() if k in ("item_name", "index_name") and isinstance(v, str)}
        config = config["config"]
    return config, loops


@cache
def extract() -> dict[str, Any]:
    """type@apiVersion (lower case) -> {"resource": entry, "types": the file's type table}."""
    table: dict[str, Any] = {}
    for path in sorted(TYPES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, entry in data["resources"].items():
            table[key.lower()] = {"resource": entry, "types": data["types"], "file": path.name}
    return table


def symbols_of(doc: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for kind in ("parameters", "variables", "resources", "modules"):
        names |= set(doc.get(kind) or {})
    # nested resources are reachable by their own name inside the parent's body
    names |= {n.split("__", 1)[1] for n in doc.get("resources") or {} if "__" in n}
    return names


def check_file(path: Path, types: dict[str, Any] | None = None) -> list[str]:
    types = types if types is not None else extract()
    doc = bicep.parse(path)
    scope = symbols_of(doc)
    errors: list[str] = []
    for decl in resource_declarations(path):
        errors += check_resource(decl, types, scope | decl.loop_variables)
    return errors


def check_resource(decl: ResourceDecl, types: dict[str, Any], scope: set[str]) -> list[str]:
    where = f"{decl.file}: resource {decl.name} '{decl.key}'"
    found = types.get(decl.key.lower())
    if found is None:
        return [f"{where}: BCP081 no type definition for {decl.key} in tests/infra/types ({REGENERATE})"]
    checker = _Checker(found["types"], scope, where)
    body = decl.body
    if not isinstance(body, dict):
        return [f"{where}: body is not an object literal"]
    if decl.existing:
        node = checker.resolve(found["resource"]["body"], body)
        allowed = {"name"} | {
            p
            for p, spec in checker.properties(node).items()
            if {"identifier", "deployTimeConstant"} & set(spec.get("flags", ()))
        }
        for key in body:
            k = _key(key)
            if k not in allowed and k not in SYNTAX_KEYS:
                checker.errors.append(f"{where}: BCP037-like: property '{k}' is not allowed on an existing resource")
        return checker.errors
    if found["resource"].get("existingOnly"):
        return [f"{where}: {decl.key} can only be referenced with `existing`"]
    checker.check_object(body, found["resource"]["body"], "", top=True)
    return checker.errors


def _key(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


class _Checker:
    def __init__(self, types: list[dict[str, Any]], scope: set[str], where: str) -> None:
        self.types = types
        self.scope = scope
        self.where = where
        self.errors: list[str] = []

    def resolve(self, type_id: int, value: dict[str, Any] | None = None) -> dict[str, Any]:
        """The type node; a discriminated object becomes base + the element the literal
        discriminator selects (or base + every element when it is not a literal)."""
        node = self.types[type_id]
        if node["kind"] != "discriminated":
            return node
        props = dict(node["base"])
        chosen = None
        if value is not None:
            raw = next((v for k, v in value.items() if _key(k) == node["discriminator"]), None)
            if isinstance(raw, str) and self.is_literal(raw):
                chosen = node["elements"].get(raw)
                if chosen is None:
                    self.errors.append(
                        f"{self.where}: BCP036-like: {node['discriminator']} '{raw}'"
                        f" is none of {sorted(node['elements'])}"
                    )
        elements = [chosen] if chosen is not None else list(node["elements"].values())
        additional = None
        for element in elements:
            sub = self.resolve(element)
            for name, spec in (sub.get("properties") or {}).items():
                if chosen is None:
                    spec = {**spec, "flags": [f for f in spec.get("flags", ()) if f != "required"]}
                props.setdefault(name, spec)
            additional = additional if additional is not None else sub.get("additional")
        out: dict[str, Any] = {"kind": "object", "name": node["name"], "properties": props}
        if additional is not None:
            out["additional"] = additional
        return out

    @staticmethod
    def properties(node: dict[str, Any]) -> dict[str, Any]:
        return node.get("properties") or {}

    def is_literal(self, value: str) -> bool:
        return "${" not in value and value not in self.scope

    def check_value(self, value: Any, type_id: int, path: str) -> None:
        node = self.types[type_id]
        kind = node["kind"]
        if kind == "any" or value is None:
            return
        if isinstance(value, dict) and isinstance(value.get("operator"), dict):
            op = value["operator"]
            if op["type"] == "conditional":
                operands = op["operands"]
                self.check_value(operands.get("true_value"), type_id, path)
                self.check_value(operands.get("false_value"), type_id, path)
            return
        if isinstance(value, dict) and isinstance(value.get("function"), dict):
            return
        if isinstance(value, dict) and "loop_type" in value:
            if kind == "array":
                self.check_value(value["config"], node["items"], f"{path}[]")
            else:
                self.errors.append(f"{self.where}: BCP036-like: {path} is a {kind}, given a loop (array)")
            return
        if kind == "union":
            # accepted if any member accepts it
            for member in node["elements"]:
                trial = _Checker(self.types, self.scope, self.where)
                trial.check_value(value, member, path)
                if not trial.errors:
                    return
            self.errors.append(f"{self.where}: BCP036-like: {path} matches no member of its union type")
            return
        if isinstance(value, bool):
            if kind not in ("bool",):
                self.errors.append(f"{self.where}: BCP036-like: {path} is a {kind}, given a bool")
            return
        if isinstance(value, (int, float)):
            if kind != "int":
                self.errors.append(f"{self.where}: BCP036-like: {path} is a {kind}, given a number")
            elif ("minValue" in node and value < node["minValue"]) or ("maxValue" in node and value > node["maxValue"]):
                self.errors.append(
                    f"{self.where}: BCP036-like: {path} = {value}"
                    f" outside [{node.get('minValue')}, {node.get('maxValue')}]"
                )
            return
        if isinstance(value, str):
            if not self.is_literal(value):
                return
            if kind == "enum" and value not in node["values"]:
                self.errors.append(f"{self.where}: BCP088-like: {path} = '{value}' is none of {node['values']}")
            elif kind == "literal" and value != node["value"]:
                self.errors.append(f"{self.where}: BCP036-like: {path} must be '{node['value']}', not '{value}'")
            elif kind in ("int", "bool", "object", "array", "discriminated"):
                self.errors.append(f"{self.where}: BCP036-like: {path} is a {kind}, given the string '{value}'")
            return
        if isinstance(value, list):
            if kind != "array":
                self.errors.append(f"{self.where}: BCP036-like: {path} is a {kind}, given an array")
                return
            for i, item in enumerate(value):
                self.check_value(item, node["items"], f"{path}[{i}]")
            return
        if isinstance(value, dict):
            if kind not in ("object", "discriminated"):
                self.errors.append(f"{self.where}: BCP036-like: {path} is a {kind}, given an object")
                return
            self.check_object(value, type_id, path)

    def check_object(self, value: dict[str, Any], type_id: int, path: str, top: bool = False) -> None:
        node = self.resolve(type_id, value)
        props = self.properties(node)
        additional = node.get("additional")
        for raw_key, item in value.items():
            key = _key(raw_key)
            if top and key in SYNTAX_KEYS:
                continue
            where = f"{path}.{key}" if path else key
            spec = props.get(key)
            if spec is None:
                if additional is not None:
                    self.check_value(item, additional, where)
                elif "${" in key:
                    self.errors.append(
                        f"{self.where}: BCP037-like: computed key {where} on {node.get('name') or 'an object'}"
                        " without additional properties"
                    )
                else:
                    allowed = sorted(p for p, s in props.items() if "readOnly" not in s.get("flags", ()))
                    near = next((p for p in props if p.lower() == key.lower()), None)
                    if near is not None:  # Bicep names the property it meant (BCP089)
                        self.errors.append(
                            f"{self.where}: BCP089: property '{where}' is not allowed; did you mean '{near}'?"
                        )
                    else:
                        self.errors.append(
                            f"{self.where}: BCP037: property '{where}' is not allowed"
                            f" on {node.get('name') or 'this object'}; permissible: {', '.join(allowed)}"
                        )
                continue
            if "readOnly" in spec.get("flags", ()) and "required" not in spec.get("flags", ()):
                self.errors.append(f"{self.where}: BCP073: property '{where}' is read-only")
                continue
            self.check_value(item, spec["type"], where)
        given = {_key(k) for k in value}
        for name, spec in props.items():
            flags = spec.get("flags", ())
            if "required" in flags and "readOnly" not in flags and name not in given:
                self.errors.append(
                    f"{self.where}: BCP035: required property '{(path + '.') if path else ''}{name}' is missing"
                )
