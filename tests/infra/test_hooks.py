"""azure.yaml, the postprovision hooks, the certificate policy and the local settings writer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from . import bicep

SCRIPTS = bicep.REPO / "scripts"


def test_azure_yaml() -> None:
    doc = yaml.safe_load((bicep.REPO / "azure.yaml").read_text(encoding="utf-8"))
    assert doc["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert doc["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    hook = doc["hooks"]["postprovision"]
    for platform in ("posix", "windows"):
        assert (bicep.REPO / hook[platform]["run"]).is_file()
        assert hook[platform]["continueOnError"] is False


def test_certificate_policy() -> None:
    policy = json.loads((SCRIPTS / "cert-policy.template.json").read_text(encoding="utf-8"))
    key = policy["keyProperties"]
    assert key["exportable"] is False
    assert key["keySize"] == 2048 and key["keyType"] == "__KEY_TYPE__"
    x509 = policy["x509CertificateProperties"]
    assert x509["keyUsage"] == ["digitalSignature"] and x509["validityInMonths"] == 12
    assert policy["lifetimeActions"] == [{"trigger": {"lifetimePercentage": 80}, "action": {"actionType": "AutoRenew"}}]
    assert policy["issuerParameters"]["name"] == "Self"


@pytest.mark.parametrize("script", ["postprovision.sh", "postprovision.ps1"])
def test_hooks_only_touch_public_material(script: str) -> None:
    source = (SCRIPTS / script).read_text(encoding="utf-8")
    assert "keyvault secret" not in source, "the certificate's secret is never read"
    assert "--append" in source, "registering a key must never replace the others"
    assert "RSA-HSM" in source and "premium" in source
    assert "cert-policy.template.json" in source
    assert "write_local_settings.py" in source


def test_sh_hook_is_posix_sh() -> None:
    for shell in ("sh", "dash"):
        if shutil.which(shell):
            subprocess.run([shell, "-n", str(SCRIPTS / "postprovision.sh")], check=True)


def test_hook_reads_only_outputs_main_provides() -> None:
    outputs = set(bicep.template("main.bicep")["outputs"])
    source = (SCRIPTS / "postprovision.sh").read_text(encoding="utf-8")
    for name in ("KEY_VAULT_NAME", "KEY_VAULT_CERTIFICATE_NAME", "ENTRA_CLIENT_ID", "KEY_VAULT_SKU", "CREDENTIAL_MODE"):
        assert f"${{{name}" in source and name in outputs


def test_write_local_settings(tmp_path: Path) -> None:
    env = {
        "ENTRA_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
        "KEY_VAULT_URL": "https://kv-x.vault.azure.net/",
        "GRAPH_ENDPOINT": "",
        "AZURE_SUBSCRIPTION_ID": "not-a-setting",
        "USER_ASSIGNED_IDENTITY_CLIENT_ID": "not-local",
    }
    source = tmp_path / "env.json"
    source.write_text(json.dumps(env), encoding="utf-8")
    target = tmp_path / "local.settings.json"
    subprocess.run(
        [sys.executable, str(SCRIPTS / "write_local_settings.py"), "--input", str(source), "--output", str(target)],
        check=True,
    )
    values = json.loads(target.read_text(encoding="utf-8"))["Values"]
    assert values["ENTRA_CLIENT_ID"] == env["ENTRA_CLIENT_ID"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert "GRAPH_ENDPOINT" not in values, "empty means unset"
    assert "AZURE_SUBSCRIPTION_ID" not in values and "AZURE_CLIENT_ID" not in values
