"""Every .bicep file parses with the current pycep-parser; a broken template fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from . import bicep


def test_templates_are_there() -> None:
    names = {p.relative_to(bicep.INFRA).as_posix() for p in bicep.bicep_files()}
    assert {"main.bicep", "app/api.bicep", "app/keyvault.bicep", "app/rbac.bicep", "app/graph.bicep"} <= names


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_bicep_file_parses(path: Path) -> None:
    doc = bicep.parse(path)
    assert doc.get("resources") or doc.get("modules"), f"{path.name} declares nothing"


def test_parser_understands_extensions() -> None:
    """Guards against running with checkov's pinned pycep 0.5.1, which cannot parse `extension`."""
    doc = bicep.template("app/graph.bicep")
    assert "Microsoft.Graph/applications" in {r["type"] for r in doc["resources"].values()}


def test_modules_point_at_existing_files() -> None:
    for path in bicep.bicep_files():
        for name, module in (bicep.parse(path).get("modules") or {}).items():
            rel = module["detail"]["path"]
            assert (path.parent / rel).is_file(), f"{path.name}: module {name} -> {rel} missing"


@pytest.mark.parametrize("name", ["main.parameters.json", "abbreviations.json", "bicepconfig.json", "app/roles.json"])
def test_json_files_are_valid(name: str) -> None:
    json.loads((bicep.INFRA / name).read_text(encoding="utf-8"))


def test_parameters_file_matches_main() -> None:
    params = bicep.template("main.bicep")["parameters"]
    values = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    unknown = set(values) - set(params)
    assert not unknown, f"main.parameters.json sets parameters main.bicep lacks: {unknown}"
    without_default = {n for n, p in params.items() if p.get("default") is None}
    assert without_default <= set(values), f"no value for {without_default - set(values)}"


def test_outputs_are_upper_snake() -> None:
    outputs = bicep.template("main.bicep")["outputs"]
    bad = [n for n in outputs if not n.isupper() or not n.replace("_", "").isalnum()]
    assert not bad, f"outputs not UPPER_SNAKE: {bad}"
    # what the postprovision hook and write_local_settings.py read
    hook_reads = {"KEY_VAULT_NAME", "KEY_VAULT_CERTIFICATE_NAME", "KEY_VAULT_SKU", "ENTRA_CLIENT_ID", "CREDENTIAL_MODE"}
    assert hook_reads <= set(outputs)


def test_bicepconfig_loads_graph_extension_v1() -> None:
    cfg = json.loads((bicep.INFRA / "bicepconfig.json").read_text(encoding="utf-8"))
    assert cfg["extensions"]["microsoftGraphV1"] == "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0"
    for path in bicep.bicep_files():
        source = path.read_text(encoding="utf-8")
        if "Microsoft.Graph/" in bicep.strip_comments(source):
            assert "\nextension microsoftGraphV1\n" in source, f"{path.name} uses Graph types without the extension"


def test_no_hardcoded_cloud_hosts() -> None:
    hosts = (
        "login.microsoftonline.com",
        "management.azure.com",
        "vault.azure.net",
        "core.windows.net",
        "graph.microsoft.com",
        "documents.azure.com",
    )
    for path in bicep.bicep_files():
        code = bicep.strip_comments(path.read_text(encoding="utf-8"))
        found = [h for h in hosts if h in code]
        assert not found, f"{path.name} hard-codes {found}; use environment()"


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.relative_to(bicep.INFRA).as_posix())
def test_no_unused_parameters_or_variables(path: Path) -> None:
    """What bicepconfig.json's no-unused-params / no-unused-vars (level error) would say, for
    machines without the Bicep CLI: every declared name is used somewhere after its declaration."""
    code = bicep.strip_comments(path.read_text(encoding="utf-8"))
    code = re.sub(r"^(\s*)\w+:", r"\1", code, flags=re.M)  # object keys (`location: ...`) are not uses
    doc = bicep.parse(path)
    for kind, keyword in (("parameters", "param"), ("variables", "var")):
        for name in doc.get(kind) or {}:
            uses = re.findall(rf"(?<![\w.'-]){re.escape(name)}(?![\w'])", code)
            declared = re.findall(rf"^{keyword} {re.escape(name)}\b", code, re.M)
            assert len(uses) > len(declared), f"{path.name}: {keyword} {name} is never used"
