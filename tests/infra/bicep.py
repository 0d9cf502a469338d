"""Parse the Bicep templates with pycep and answer questions about the parsed tree.

pycep turns each file into JSON: parameters, variables, resources, modules, outputs; an
expression is a string (an identifier or a literal) or a dict ({"function": ...}, {"operator": ...}).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    """Parse one file; raises on any syntax pycep does not accept."""
    from pycep import BicepParser

    result = BicepParser().parse(file_path=path)
    if not isinstance(result, dict):
        raise TypeError(f"{path}: pycep returned {type(result).__name__}")
    return result


def template(rel: str) -> dict[str, Any]:
    return parse(INFRA / rel)


def roles_table() -> dict[str, dict[str, str]]:
    data = json.loads((INFRA / "app" / "roles.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("$")}


def text(node: Any) -> str:
    """Render an expression back to compact Bicep-ish text (for matching and messages)."""
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, list):
        return "[" + ", ".join(text(n) for n in node) + "]"
    if "operator" in node:
        op = node["operator"]
        operands = [text(v) for v in op.get("operands", {}).values()]
        if op["type"] == "property_accessor":
            return ".".join(operands)
        return f"{op['type']}({', '.join(operands)})"
    if "function" in node:
        fn = node["function"]
        params = fn.get("parameters") or {}
        return f"{fn['type']}({', '.join(text(v) for v in params.values())})"
    return "{" + ", ".join(f"{k}: {text(v)}" for k, v in node.items()) + "}"


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def resources(doc: dict[str, Any], rtype: str | None = None) -> dict[str, dict[str, Any]]:
    out = {}
    for name, res in (doc.get("resources") or {}).items():
        if rtype is None or res.get("type", "").lower() == rtype.lower():
            out[name] = res
    return out


def config(res: dict[str, Any]) -> dict[str, Any]:
    """A resource's body: plain, or the body under a deploy condition (`= if (...) {...}`)."""
    body = res.get("config", {})
    if isinstance(body, dict) and "condition" in body and "config" in body:
        return body["config"]
    return body


def role_keys(expr: Any, variables: dict[str, Any], seen: frozenset[str] = frozenset()) -> tuple[set[str], set[str]]:
    """roles.json keys and literal GUIDs an expression can evaluate to (following variables)."""
    keys: set[str] = set()
    literals: set[str] = set()
    rendered = text(expr)
    for match in re.finditer(r"\broles\.(\w+)\.id\b", rendered):
        keys.add(match.group(1))
    for token in re.findall(r"[\w-]+", rendered):
        if GUID.match(token):
            literals.add(token.lower())
        elif token in variables and token not in seen and token != "roles":
            k, lit = role_keys(variables[token].get("value"), variables, seen | {token})
            keys |= k
            literals |= lit
    return keys, literals


def strip_comments(source: str) -> str:
    """Bicep source without // and /* */ comments (string contents with // are kept)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return "\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in source.splitlines())
