"""Regenerate the committed extract of the official Bicep resource types (tests/infra/types/*.json).

The test (tests/infra/test_compile.py) checks every resource body in infra/ against this extract,
as `bicep build` checks it against the types the Bicep CLI ships with. The extract holds, for each
resource type@apiVersion used in infra/ (plus the few in EXTRA that the templates are likely to
grow), the reachable part of its type graph: property names, required / read-only / write-only /
deploy-time-constant / identifier flags, enums (string-literal unions), array items, dictionaries
and discriminated objects. Descriptions are dropped. Nothing here runs at test time.

Sources (Microsoft's generated type definitions, the ones the Bicep CLI and the Graph extension
are built from):
  https://github.com/Azure/bicep-types-az            generated/<rp>/<namespace>/<apiVersion>/types.json
  https://github.com/microsoftgraph/msgraph-bicep-types
      generated/microsoftgraph/microsoft.graph/<v1.0|beta>/<extension version>/types.json
The Graph extension version is the one infra/bicepconfig.json loads.

Rerun after adding a resource type or changing an apiVersion (either a checkout or a bare git
directory of each repository):
  make infra-types BICEP_TYPES_AZ=/path/to/bicep-types-az MSGRAPH_BICEP_TYPES=/path/to/msgraph-bicep-types
i.e. .venv-infra/bin/python tests/infra/types/generate.py --az DIR --graph DIR
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
INFRA = REPO / "infra"

# Types the templates are likely to grow (besides what infra/ uses today): every GA apiVersion
# from MIN_EXTRA_VERSION on is extracted. Graph types: the extension version bicepconfig.json loads.
EXTRA = (
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.Authorization/roleDefinitions",
    "Microsoft.Insights/actionGroups",
    "Microsoft.Insights/scheduledQueryRules",
    "Microsoft.Insights/diagnosticSettings",
    "Microsoft.Insights/components",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.EventGrid/systemTopics",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Web/sites",
    "Microsoft.Graph/applications",
    "Microsoft.Graph/applications/federatedIdentityCredentials",
    "Microsoft.Graph/servicePrincipals",
    "Microsoft.Graph/appRoleAssignedTo",
    "Microsoft.Graph/oauth2PermissionGrants",
    "Microsoft.Graph/groups",
)
MIN_EXTRA_VERSION = "2022-01-01"
ENUM_LIMIT = 200  # larger string-literal unions are kept as plain strings

FLAG_NAMES = ((1, "required"), (2, "readOnly"), (4, "writeOnly"), (8, "deployTimeConstant"), (16, "identifier"))


class Source:
    """A checkout or a bare git directory of one of the type repositories."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checkout = (path / "generated").is_dir()
        self.commit = self._git("rev-parse", "HEAD").strip() if not self.checkout else self._checkout_commit()
        self._files: list[str] | None = None

    def _git(self, *args: str) -> str:
        flag = "-C" if self.checkout else "--git-dir"
        return subprocess.run(["git", flag, str(self.path), *args], check=True, capture_output=True, text=True).stdout

    def _checkout_commit(self) -> str:
        try:
            return self._git("rev-parse", "HEAD").strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            return "unknown"

    def files(self) -> list[str]:
        if self._files is None:
            if self.checkout:
                self._files = [
                    p.relative_to(self.path).as_posix() for p in (self.path / "generated").rglob("types.json")
                ]
            else:
                listing = self._git("ls-tree", "-r", "--name-only", "HEAD", "generated")
                self._files = [f for f in listing.splitlines() if f.endswith("/types.json")]
        return self._files

    def read(self, rel: str) -> list[dict[str, Any]]:
        text = (self.path / rel).read_text(encoding="utf-8") if self.checkout else self._git("show", f"HEAD:{rel}")
        return json.loads(text)


def used_types() -> set[str]:
    """type@apiVersion of every resource declared in infra/ (nested ones with their full type)."""
    sys.path.insert(0, str(REPO / ".venv-infra" / "pycep-current"))
    sys.path.insert(0, str(REPO))
    from tests.infra import typecheck

    return {decl.key for path in sorted(INFRA.rglob("*.bicep")) for decl in typecheck.resource_declarations(path)}


def graph_extension() -> tuple[str, str]:
    """(channel, version) of the Microsoft Graph extension bicepconfig.json loads, e.g. ('v1.0', '1.0.0')."""
    config = json.loads((INFRA / "bicepconfig.json").read_text(encoding="utf-8"))
    for ref in (config.get("extensions") or {}).values():
        m = re.search(r"/microsoftgraph/(v1\.0|beta):([\w.-]+)$", ref)
        if m:
            return m.group(1), m.group(2)
    raise SystemExit("infra/bicepconfig.json loads no Microsoft Graph extension")


class Extract:
    """One output file (a namespace): resources and the types reachable from them, re-indexed."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.types: list[dict[str, Any]] = []
        self._index: dict[tuple[str, int], int] = {}

    def add_resource(self, key: str, rel: str, table: list[dict[str, Any]], resource: dict[str, Any]) -> None:
        body = self._convert(rel, table, _ref(resource["body"]))
        entry: dict[str, Any] = {"body": body, "source": rel}
        # Graph: flags 1 = ReadOnly resource (only `existing`); ARM: writableScopes 0 = same.
        if resource.get("flags", 0) & 1 or resource.get("writableScopes") == 0:
            entry["existingOnly"] = True
        self.resources[key] = entry

    def _convert(self, rel: str, table: list[dict[str, Any]], index: int) -> int:
        key = (rel, index)
        if key in self._index:
            return self._index[key]
        new = len(self.types)
        self._index[key] = new
        self.types.append({})
        self.types[new] = self._node(rel, table, table[index])
        return new

    def _props(self, rel: str, table: list[dict[str, Any]], props: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, prop in sorted(props.items()):
            flags = [word for bit, word in FLAG_NAMES if prop.get("flags", 0) & bit]
            entry: dict[str, Any] = {"type": self._convert(rel, table, _ref(prop["type"]))}
            if flags:
                entry["flags"] = flags
            out[name] = entry
        return out

    def _node(self, rel: str, table: list[dict[str, Any]], node: dict[str, Any]) -> dict[str, Any]:
        kind = node["$type"]
        if kind == "StringType":
            return {"kind": "string"}
        if kind == "StringLiteralType":
            return {"kind": "literal", "value": node["value"]}
        if kind == "IntegerType":
            out: dict[str, Any] = {"kind": "int"}
            for bound in ("minValue", "maxValue"):
                if bound in node:
                    out[bound] = node[bound]
            return out
        if kind == "BooleanType":
            return {"kind": "bool"}
        if kind == "NullType":
            return {"kind": "null"}
        if kind == "AnyType":
            return {"kind": "any"}
        if kind == "ArrayType":
            return {"kind": "array", "items": self._convert(rel, table, _ref(node["itemType"]))}
        if kind == "UnionType":
            members = [table[_ref(e)] for e in node["elements"]]
            if all(m["$type"] == "StringLiteralType" for m in members):
                values = sorted(m["value"] for m in members)
                return {"kind": "enum", "values": values} if len(values) <= ENUM_LIMIT else {"kind": "string"}
            if any(m["$type"] == "StringType" for m in members) and all(
                m["$type"] in ("StringType", "StringLiteralType") for m in members
            ):
                return {"kind": "string"}  # an open (extensible) enum
            return {"kind": "union", "elements": [self._convert(rel, table, _ref(e)) for e in node["elements"]]}
        if kind == "ObjectType":
            out = {
                "kind": "object",
                "name": node.get("name", ""),
                "properties": self._props(rel, table, node.get("properties") or {}),
            }
            if node.get("additionalProperties") is not None:
                out["additional"] = self._convert(rel, table, _ref(node["additionalProperties"]))
            return out
        if kind == "DiscriminatedObjectType":
            return {
                "kind": "discriminated",
                "name": node.get("name", ""),
                "discriminator": node["discriminator"],
                "base": self._props(rel, table, node.get("baseProperties") or {}),
                "elements": {k: self._convert(rel, table, _ref(v)) for k, v in sorted(node["elements"].items())},
            }
        if kind in ("ResourceFunctionType", "FunctionType"):
            return {"kind": "any"}
        raise SystemExit(f"{rel}: unknown type kind {kind}")

    def dump(self, sources: dict[str, str]) -> dict[str, Any]:
        return {
            "$comment": "Generated by tests/infra/types/generate.py from Microsoft's Bicep types; do not edit.",
            "sources": sources,
            "resources": dict(sorted(self.resources.items())),
            "types": self.types,
        }


def _ref(ref: dict[str, str]) -> int:
    return int(ref["$ref"].rsplit("/", 1)[1])


def _resources_in(table: list[dict[str, Any]]) -> Iterable[tuple[str, dict[str, Any]]]:
    for node in table:
        if node.get("$type") == "ResourceType":
            yield node["name"], node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--az", type=Path, required=True, help="Azure/bicep-types-az (checkout or bare git dir)")
    parser.add_argument(
        "--graph", type=Path, required=True, help="microsoftgraph/msgraph-bicep-types (checkout or bare git dir)"
    )
    args = parser.parse_args()

    az, graph = Source(args.az), Source(args.graph)
    wanted = used_types()
    channel, graph_version = graph_extension()
    graph_rel = f"generated/microsoftgraph/microsoft.graph/{channel}/{graph_version}/types.json"

    # ARM: EXTRA types in every GA version since MIN_EXTRA_VERSION, found by scanning candidates.
    arm_extra = {t.lower() for t in EXTRA if not t.startswith("Microsoft.Graph/")}
    extracts: dict[str, Extract] = {}
    missing = set(wanted)
    for rel in sorted(az.files()):
        parts = rel.split("/")  # generated/<rp>/<namespace>/<apiVersion>/types.json
        namespace, version = parts[2], parts[3]
        need_used = any(w.split("/")[0].lower() == namespace and w.endswith(f"@{version}") for w in wanted)
        need_extra = (
            "-preview" not in version
            and version >= MIN_EXTRA_VERSION
            and any(t.split("/")[0] == namespace for t in arm_extra)
        )
        if not (need_used or need_extra):
            continue
        table = az.read(rel)
        for name, resource in _resources_in(table):
            rtype = name.partition("@")[0]
            key = next((w for w in wanted if w.lower() == name.lower()), None)
            if key is None and not (rtype.lower() in arm_extra and need_extra):
                continue
            key = key or name
            extracts.setdefault(namespace, Extract()).add_resource(key, f"Azure/bicep-types-az/{rel}", table, resource)
            missing.discard(key)

    table = graph.read(graph_rel)
    for name, resource in _resources_in(table):
        key = next((w for w in wanted if w.lower() == name.lower()), None)
        if key is None and name.split("@")[0] not in EXTRA:
            continue
        key = key or name
        extracts.setdefault("microsoft.graph", Extract()).add_resource(
            key, f"microsoftgraph/msgraph-bicep-types/{graph_rel}", table, resource
        )
        missing.discard(key)

    if missing:
        raise SystemExit(f"not found in the type repositories: {sorted(missing)}")
    sources = {
        "Azure/bicep-types-az": az.commit,
        "microsoftgraph/msgraph-bicep-types": graph.commit,
        "graph extension": f"microsoftgraph/{channel}:{graph_version}",
    }
    for old in HERE.glob("*.json"):
        old.unlink()
    for namespace, extract in sorted(extracts.items()):
        target = HERE / f"{namespace}.json"
        target.write_text(json.dumps(extract.dump(sources), indent=1, sort_keys=False) + "\n", encoding="utf-8")
        print(f"{target.relative_to(REPO)}: {len(extract.resources)} resource types, {len(extract.types)} types")


if __name__ == "__main__":
    main()
