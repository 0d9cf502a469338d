"""Evaluate parsed Bicep expressions (pycep JSON) for given parameter values.

No Bicep CLI is available offline, so the tests that must see BOTH shapes of a template (e.g.
VNET_ENABLED on and off) evaluate the parsed tree themselves: parameters (defaults overridden by
the test), variables, loops, lambdas, the operators and the handful of functions the templates
use. Whatever cannot be known before deployment (a module output, a resource property,
environment(), tenant()) evaluates to a `Symbol` naming it, so a test can still assert *which*
value flows where. An expression this evaluator does not understand raises `Unsupported`: a
test must never pass because something was silently skipped.

pycep renders string literals and identifiers alike (both are JSON strings); a string is an
identifier when it names something in scope (loop or lambda variable, parameter, variable,
module, resource), else a literal, so a template evaluated here must not use a literal that
equals one of its own symbol names where a test looks (network.bicep names its vault `keyVault`
because the private endpoint's groupId is the literal 'vault'). Interpolated strings ('a${b}c')
keep their source text and are expanded here for `${name}` and `${name.path}` parts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_INTERPOLATION = re.compile(r"\$\{([^{}]+)\}")
_IDENTIFIER_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class Unsupported(Exception):
    """The expression uses something this evaluator does not model."""


@dataclass(frozen=True)
class Symbol:
    """A value known only at deployment time, named by its source path (e.g. network.outputs.appSubnetId)."""

    path: str

    def __getattr__(self, name: str) -> Symbol:  # pragma: no cover - convenience only
        if name.startswith("__"):
            raise AttributeError(name)
        return Symbol(f"{self.path}.{name}")

    def child(self, name: str) -> Symbol:
        return Symbol(f"{self.path}.{name}")


class Template:
    """One parsed template with parameter values; `value(expr)` evaluates an expression of it."""

    def __init__(self, doc: dict[str, Any], params: dict[str, Any] | None = None, folder: Path | None = None) -> None:
        self.doc = doc
        self.folder = folder  # for loadJsonContent(); None: the call is Unsupported
        declared = doc.get("parameters") or {}
        unknown = set(params or {}) - set(declared)
        if unknown:
            raise KeyError(f"not parameters of this template: {unknown}")
        self.params: dict[str, Any] = {}
        for name, spec in declared.items():
            if params and name in params:
                self.params[name] = params[name]
            elif spec.get("default") is not None:
                self.params[name] = spec["default"]
            else:
                self.params[name] = Symbol(f"param:{name}")
        self.variables = doc.get("variables") or {}
        self.symbols = set(doc.get("modules") or {}) | set(doc.get("resources") or {})
        self._var_cache: dict[str, Any] = {}

    # --- declarations -----------------------------------------------------------------

    def variable(self, name: str) -> Any:
        if name not in self._var_cache:
            self._var_cache[name] = self.value(self.variables[name]["value"])
        return self._var_cache[name]

    def _declaration(self, kind: str, name: str) -> tuple[Any, dict[str, Any]]:
        body = self.doc[kind][name]["config"]
        if isinstance(body, dict) and "condition" in body and "config" in body and "loop_type" not in body:
            return body["condition"], body["config"]
        return True, body

    def deploys(self, kind: str, name: str) -> bool:
        """Whether a module/resource is deployed (its `if (...)` condition) with these parameters."""
        condition, _ = self._declaration(kind, name)
        result = self.value(condition)
        if not isinstance(result, bool):
            raise Unsupported(f"{kind} {name}: condition is {result!r}, not a bool")
        return result

    def body(self, kind: str, name: str, *path: str) -> Any:
        """A module/resource body, or only the part at `path` (keys), evaluated.

        Evaluating only the part a test asserts on keeps it independent of the rest of the body
        (other settings may use expressions this evaluator does not model).
        """
        _, config = self._declaration(kind, name)
        for key in path:
            config = config[key]
        return self.value(config)

    # --- expressions --------------------------------------------------------------------

    def value(self, node: Any, scope: dict[str, Any] | None = None) -> Any:
        scope = scope or {}
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            return self._name_or_literal(node, scope)
        if isinstance(node, list):
            return [self.value(n, scope) for n in node]
        if not isinstance(node, dict):
            raise Unsupported(repr(node))
        # An expression node holds a dict under "operator"/"function"; a plain object may have a
        # property of that name (a log alert criterion's operator: 'GreaterThan').
        if isinstance(node.get("operator"), dict):
            return self._operator(node["operator"], scope)
        if isinstance(node.get("function"), dict):
            return self._function(node["function"], scope)
        if "loop_type" in node:
            return self._loop(node, scope)
        if node.get("type") == "lambda_expression":
            raise Unsupported("a lambda outside map()/filter()")
        return {k: self.value(v, scope) for k, v in node.items()}

    def _name_or_literal(self, text: str, scope: dict[str, Any]) -> Any:
        if "${" in text:
            return self._interpolate(text, scope)
        if text in scope:
            return scope[text]
        if text in self.params:
            return self.params[text]
        if text in self.variables:
            return self.variable(text)
        if text in self.symbols:
            return Symbol(text)
        return text

    def _interpolate(self, text: str, scope: dict[str, Any]) -> Any:
        def part(match: re.Match[str]) -> str:
            inner = match.group(1).strip()
            if not _IDENTIFIER_PATH.match(inner):
                raise _Opaque
            head, *rest = inner.split(".")
            if (
                head not in scope
                and head not in self.params
                and head not in self.variables
                and head not in self.symbols
            ):
                raise _Opaque
            value = self._name_or_literal(head, scope)
            for key in rest:
                value = _access(value, key)
            if isinstance(value, Symbol):
                return "${" + value.path + "}"
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)

        try:
            return _INTERPOLATION.sub(part, text)
        except _Opaque:
            # Something like environment().suffixes.storage: keep the source text.
            return Symbol(text)

    def _operator(self, op: dict[str, Any], scope: dict[str, Any]) -> Any:
        kind = op["type"]
        operands = list((op.get("operands") or {}).values())
        if kind == "property_accessor":
            base = self.value(operands[0], scope)
            return _path_access(base, operands[1])
        if kind == "index_accessor":
            base, index = (self.value(o, scope) for o in operands)
            if isinstance(base, Symbol) or isinstance(index, Symbol):

                def show(v: Any) -> str:
                    return v.path if isinstance(v, Symbol) else str(v)

                return Symbol(f"{show(base)}[{show(index)}]")
            return base[index]
        if kind == "conditional":
            condition = self.value(operands[0], scope)
            if not isinstance(condition, bool):
                raise Unsupported(f"condition {condition!r} is not known before deployment")
            return self.value(operands[1] if condition else operands[2], scope)
        values = [self.value(o, scope) for o in operands]
        if any(isinstance(v, Symbol) for v in values):
            raise Unsupported(f"{kind} over deployment-time values {values!r}")
        if kind == "not":
            return not values[0]
        if kind == "and":
            return all(values)
        if kind == "or":
            return any(values)
        if kind == "equals":
            return values[0] == values[1]
        if kind == "not_equals":
            return values[0] != values[1]
        if kind == "add":
            return values[0] + values[1]
        if kind == "coalesce":
            return next((v for v in values if v is not None), None)
        raise Unsupported(f"operator {kind}")

    def _function(self, fn: dict[str, Any], scope: dict[str, Any]) -> Any:
        # pycep spells functions in snake case (resource_id, to_lower): compare without "_".
        name = fn["type"].replace("_", "").lower()
        raw = list((fn.get("parameters") or {}).values())
        if name in ("environment", "tenant", "subscription", "resourcegroup", "deployment"):
            return Symbol(f"{fn['type']}()")
        if name in ("map", "filter"):
            items = self.value(raw[0], scope)
            lam = raw[1]["detail"]
            var = lam["var_1"]
            results = [self.value(lam["expression"], {**scope, var: item}) for item in items]
            if name == "map":
                return results
            return [item for item, keep in zip(items, results, strict=True) if keep]
        args = [self.value(a, scope) for a in raw]
        if name in ("resourceid", "guid", "uniquestring", "subscriptionresourceid"):
            return Symbol(f"{fn['type']}({', '.join(str(a) for a in args if a is not None)})")
        if any(isinstance(a, Symbol) for a in args):
            if name in ("empty", "contains", "startswith", "endswith", "length"):
                raise Unsupported(f"{name}() over deployment-time values {args!r}")
            # a value computed at deployment from deployment-time inputs (toLower(uniqueString(...)))
            return Symbol(f"{fn['type']}({', '.join(str(a) for a in args if a is not None)})")
        if name == "loadjsoncontent" and self.folder is not None and not any(args[1:]):
            return json.loads((self.folder / args[0]).read_text(encoding="utf-8"))
        simple = {
            "empty": lambda v: len(v) == 0 if v is not None else True,
            "contains": lambda container, item: item in container,
            "split": lambda s, sep: s.split(sep),
            "trim": str.strip,
            "replace": lambda s, old, new: s.replace(old, new),
            "first": lambda v: v[0] if len(v) else ("" if isinstance(v, str) else None),
            "length": len,
            "tolower": str.lower,
            "string": lambda v: ("true" if v else "false") if isinstance(v, bool) else str(v),
            "startswith": lambda s, p: s.lower().startswith(p.lower()),
            "endswith": lambda s, p: s.lower().endswith(p.lower()),
            "union": _union,
            "flatten": lambda arrays: _flatten(tuple(arrays)),
            "join": lambda items, sep: sep.join(items),
            "concat": lambda *parts: "".join(parts) if all(isinstance(p, str) for p in parts) else _flatten(parts),
        }
        if name not in simple:
            raise Unsupported(f"function {name}()")
        return simple[name](*args)

    def _loop(self, node: dict[str, Any], scope: dict[str, Any]) -> list[Any]:
        loop = node["loop_type"]
        detail = loop["detail"]
        items = self.value(detail["array_name"], scope)
        if isinstance(items, Symbol):
            raise Unsupported(f"loop over deployment-time value {items!r}")
        out = []
        for index, item in enumerate(items):
            inner = {**scope, detail["item_name"]: item}
            if loop["type"] == "array_index":
                inner[detail["index_name"]] = index
            elif loop["type"] != "array":
                raise Unsupported(f"loop type {loop['type']}")
            if node.get("condition") is not None and not self.value(node["condition"], inner):
                continue
            out.append(self.value(node["config"], inner))
        return out


class _Opaque(Exception):
    pass


def _union(*values: Any) -> Any:
    """ARM union(): objects merged (later wins); arrays concatenated with duplicates dropped, in order."""
    if all(isinstance(v, dict) for v in values):
        return {k: v for o in values for k, v in o.items()}
    if all(isinstance(v, list) for v in values):
        out: list[Any] = []
        for item in (i for v in values for i in v):
            if item not in out:
                out.append(item)
        return out
    raise Unsupported(f"union() of {values!r}")


def _flatten(arrays: tuple[list[Any], ...]) -> list[Any]:
    return [item for array in arrays for item in array]


def _access(value: Any, key: str) -> Any:
    if isinstance(value, Symbol):
        return value.child(key)
    if isinstance(value, dict):
        return value[key]
    raise Unsupported(f".{key} of {value!r}")


def _path_access(base: Any, accessor: Any) -> Any:
    """pycep nests a.b.c as accessor(a, accessor(b, c))."""
    if isinstance(accessor, str):
        return _access(base, accessor)
    if isinstance(accessor, dict) and "operator" in accessor and accessor["operator"]["type"] == "property_accessor":
        first, rest = accessor["operator"]["operands"].values()
        return _path_access(_access(base, first), rest)
    raise Unsupported(f"property access {accessor!r}")
