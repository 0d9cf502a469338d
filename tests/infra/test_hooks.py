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


# --- the hook run against a fake `az` ---------------------------------------------------------
# A stand-in `az` (and `azd`) first on PATH answers from a rule table and records every call, so
# the hook's decisions (refuse, register, open/close the vault) are observed as Azure would see
# them: which commands ran, in which order, and the exit status. An unexpected command fails.

FAKE_AZ = """#!{python}
import json, os, sys
args = sys.argv[1:]
line = " ".join(args)
with open(os.environ["FAKE_AZ_LOG"], "a", encoding="utf-8") as log:
    log.write(line + "\\n")
for arg in args:  # keep what an @file argument said (the hook deletes its files on exit)
    if arg.startswith("@") and os.path.isfile(arg[1:]):
        with open(os.environ["FAKE_AZ_LOG"] + ".files", "a", encoding="utf-8") as kept:
            kept.write(open(arg[1:], encoding="utf-8").read() + "\\n")
for rule in json.load(open(os.environ["FAKE_AZ_RULES"], encoding="utf-8")):
    if all(part in line for part in rule["match"]):
        sys.stdout.write(rule.get("stdout", ""))
        sys.stderr.write(rule.get("stderr", ""))
        sys.exit(rule.get("exit", 0))
sys.stderr.write("fake az: no rule for: " + line + "\\n")
sys.exit(97)
"""

CERT_SHOW = "keyvault certificate show --vault-name kv-test --name assertion-signing"
THUMBPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def _rules(issuer: str | None, exportable: str, public_access: str = "Enabled") -> list[dict[str, object]]:
    rules: list[dict[str, object]] = [
        {"match": ["keyvault show --name kv-test", "publicNetworkAccess"], "stdout": public_access + "\n"},
        {"match": ["keyvault network-rule"]},
        {"match": ["keyvault update --name kv-test"]},
    ]
    if issuer is None:
        rules.append({"match": [CERT_SHOW, "issuerParameters"], "stderr": "(CertificateNotFound) not found", "exit": 3})
    else:
        rules.append({"match": [CERT_SHOW, "issuerParameters"], "stdout": issuer + "\n"})
    rules += [
        {"match": [CERT_SHOW, "policy.keyProperties.exportable"], "stdout": exportable + "\n"},
        {"match": ["keyvault certificate create"]},
        {"match": ["keyvault certificate pending show"], "stdout": "completed\n"},
        {"match": [CERT_SHOW, "--query cer"], "stdout": "TUlJQw==\n"},
        {"match": [CERT_SHOW, "x509ThumbprintHex"], "stdout": THUMBPRINT.lower() + "\n"},
        {"match": ["ad app show --id"], "stdout": ""},
        {"match": ["ad app credential reset"]},
        {"match": ["env get-values"], "stdout": "{}"},
    ]
    return rules


def _run_sh_hook(tmp_path: Path, rules: list[dict[str, object]], **env: str) -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("az", "azd"):
        fake = bin_dir / tool
        fake.write_text(FAKE_AZ.format(python=sys.executable), encoding="utf-8")
        fake.chmod(0o755)
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    log = tmp_path / "calls.log"
    log.touch()
    base = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAKE_AZ_RULES": str(tmp_path / "rules.json"),
        "FAKE_AZ_LOG": str(log),
        "KEY_VAULT_NAME": "kv-test",
        "KEY_VAULT_CERTIFICATE_NAME": "assertion-signing",
        "ENTRA_CLIENT_ID": "00000000-0000-0000-0000-00000000000a",
        "CREDENTIAL_MODE": "keyvault",
    }
    proc = subprocess.run(
        ["sh", str(SCRIPTS / "postprovision.sh")],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stderr, log.read_text(encoding="utf-8").splitlines()


def _registered(calls: list[str]) -> bool:
    return any(c.startswith("ad app credential reset") for c in calls)


def test_hook_registers_a_certificate_the_vault_created(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer="Self", exportable="false"))
    assert code == 0, err
    assert _registered(calls)
    [reset] = [c for c in calls if c.startswith("ad app credential reset")]
    assert "--append" in reset and "--id 00000000-0000-0000-0000-00000000000a" in reset
    assert not any("certificate create" in c for c in calls), "an existing certificate is left as it is"
    assert not any("keyvault update" in c or "network-rule" in c for c in calls), "a public vault is not touched"


def test_hook_creates_a_missing_certificate_then_registers_it(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer=None, exportable="false"))
    assert code == 0, err
    [create] = [c for c in calls if "keyvault certificate create" in c]
    assert "--policy @" in create
    assert _registered(calls)


@pytest.mark.parametrize(("sku", "key_type"), [("standard", "RSA"), ("premium", "RSA-HSM")])
def test_hook_creates_an_hsm_backed_key_on_a_premium_vault(tmp_path: Path, sku: str, key_type: str) -> None:
    code, err, _ = _run_sh_hook(tmp_path, _rules(issuer=None, exportable="false"), KEY_VAULT_SKU=sku)
    assert code == 0, err
    # The first @file the hook passed is the policy of `az keyvault certificate create`.
    policy, _ = json.JSONDecoder().raw_decode((tmp_path / "calls.log.files").read_text(encoding="utf-8"))
    assert policy["keyProperties"] == {"exportable": False, "keyType": key_type, "keySize": 2048, "reuseKey": False}
    assert policy["issuerParameters"] == {"name": "Self"}


def test_key_vault_sku_is_a_deployment_parameter_standard_by_default() -> None:
    main = bicep.template("main.bicep")
    sku = main["parameters"]["keyVaultSku"]
    assert sku["default"] == "standard"
    (allowed,) = [d["argument"] for d in sku["decorators"] if d["type"] == "allowed"]
    assert sorted(allowed) == ["premium", "standard"]
    assert bicep.text(bicep.config(main["modules"]["keyVault"])["params"]["skuName"]) == "keyVaultSku"
    assert "KEY_VAULT_SKU" in main["outputs"]
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["keyVaultSku"]["value"] == "${KEY_VAULT_SKU=standard}"
    for script in ("postprovision.sh", "postprovision.ps1"):
        source = (SCRIPTS / script).read_text(encoding="utf-8")
        assert "RSA-HSM" in source and "premium" in source and "KEY_VAULT_SKU" in source


@pytest.mark.parametrize(
    ("issuer", "exportable", "says"),
    [
        ("Unknown", "false", "imported"),  # az keyvault certificate import leaves issuer Unknown
        ("DigiCert", "false", "imported"),
        ("Self", "true", "exportable"),
        ("Self", "", "exportable"),  # unknown counts as exportable: fail closed
    ],
    ids=["imported", "ca-issued", "exportable", "exportable-unknown"],
)
def test_hook_refuses_a_certificate_whose_key_was_known_outside_the_vault(
    tmp_path: Path, issuer: str, exportable: str, says: str
) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer=issuer, exportable=exportable))
    assert code != 0
    assert says in err and "nothing was registered" in err, err
    assert not _registered(calls), "a refused certificate must never reach the app registration"
    assert not any("--query cer" in c for c in calls)
    assert not (tmp_path / "local.settings.json").exists()


def test_hook_opens_a_private_vault_to_the_deployer_only_and_closes_it(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(
        tmp_path, _rules(issuer="Self", exportable="false", public_access="Disabled"), DEPLOYER_IP_ADDRESS="203.0.113.7"
    )
    assert code == 0, err
    vault_calls = [i for i, c in enumerate(calls) if "network-rule" in c or "keyvault update" in c]
    touched = [calls[i] for i in vault_calls]
    assert touched == [
        "keyvault network-rule add --name kv-test --ip-address 203.0.113.7 --output none",
        "keyvault update --name kv-test --public-network-access Enabled --default-action Deny --bypass None"
        " --output none",
        "keyvault update --name kv-test --public-network-access Disabled --output none",
        "keyvault network-rule remove --name kv-test --ip-address 203.0.113.7 --output none",
    ]
    cert_calls = [i for i, c in enumerate(calls) if "keyvault certificate" in c]
    assert vault_calls[1] < min(cert_calls) and max(cert_calls) < vault_calls[2], "certificate calls only while open"


def test_hook_closes_a_private_vault_even_when_it_refuses(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(
        tmp_path,
        _rules(issuer="Unknown", exportable="false", public_access="Disabled"),
        DEPLOYER_IP_ADDRESS="203.0.113.7",
    )
    assert code != 0 and "imported" in err
    assert not _registered(calls)
    assert calls[-2:] == [
        "keyvault update --name kv-test --public-network-access Disabled --output none",
        "keyvault network-rule remove --name kv-test --ip-address 203.0.113.7 --output none",
    ]


def test_hook_stops_on_a_private_vault_without_a_deployer_address(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer="Self", exportable="false", public_access="Disabled"))
    assert code != 0
    assert "DEPLOYER_IP_ADDRESS" in err
    assert not any("keyvault certificate" in c or "keyvault update" in c for c in calls)


def test_hook_uses_the_private_endpoint_when_told(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(
        tmp_path, _rules(issuer="Self", exportable="false", public_access="Disabled"), DEPLOYER_IP_ADDRESS="private"
    )
    assert code == 0, err
    assert _registered(calls)
    assert not any("keyvault update" in c or "network-rule" in c for c in calls)


def test_ps1_hook_makes_the_same_decisions() -> None:
    """No PowerShell on this machine: the twin is checked for the same refusals, in the same order
    (refusal before any registration; the vault closed in `finally`)."""
    source = (SCRIPTS / "postprovision.ps1").read_text(encoding="utf-8")
    issuer_check = source.index("'policy.issuerParameters.name'")
    exportable_check = source.index("'policy.keyProperties.exportable'")
    register = source.index("az ad app credential reset")
    assert issuer_check < register and exportable_check < register
    assert "-ne 'Self'" in source and "-ne 'false'" in source
    assert source.count("nothing was registered") == 2
    assert "DEPLOYER_IP_ADDRESS" in source and "'private'" in source
    finally_block = source[source.rindex("} finally {") :]
    assert "Close-Vault $openedFor" in finally_block
    assert "--public-network-access Disabled" in source and "network-rule remove" in source
