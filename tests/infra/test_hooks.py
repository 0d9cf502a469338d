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
        "RESOURCE_KEYS": '["/subscriptions/s/resourceGroups/g/providers/Microsoft.Cache/redis/r1", "/x/y"]',
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
    # The azd value is the resourceKeys parameter's JSON array; the app setting is comma-separated.
    assert values["RESOURCE_KEYS"] == "/subscriptions/s/resourceGroups/g/providers/Microsoft.Cache/redis/r1,/x/y"


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
VAULT_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-test"
OFFICER_ASSIGNMENT = VAULT_ID + "/providers/Microsoft.Authorization/roleAssignments/tmp-officer"
DEPLOYER = "11111111-2222-3333-4444-555555555555"
OFFICER_ROLE = "a4417e6f-fecd-4de8-b567-7b0420556985"
THUMBPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CREATED = "2026-01-05T10:00:07+00:00"


def _rules(
    issuer: str | None,
    exportable: str,
    public_access: str = "Enabled",
    *,
    enabled: str = "true",
    created: str = CREATED,
    policy_updated: str = CREATED,
) -> list[dict[str, object]]:
    rules: list[dict[str, object]] = [
        {"match": ["keyvault show --name kv-test", "publicNetworkAccess"], "stdout": public_access + "\n"},
        {"match": ["keyvault show --name kv-test", "--query id"], "stdout": VAULT_ID + "\n"},
        {"match": ["role assignment list"], "stdout": "\n"},
        {"match": ["role assignment create"], "stdout": OFFICER_ASSIGNMENT + "\n"},
        {"match": ["role assignment delete"]},
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
        {
            "match": [CERT_SHOW, "--query id"],
            "stdout": f"https://kv-test.vault.azure.net/certificates/assertion-signing/{VERSION}\n",
        },
        {"match": [CERT_SHOW, "attributes.enabled"], "stdout": enabled + "\n"},
        {"match": [CERT_SHOW, "--query attributes.created"], "stdout": created + "\n"},
        {"match": [CERT_SHOW, "policy.attributes.updated"], "stdout": policy_updated + "\n"},
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
        "AZURE_PRINCIPAL_ID": DEPLOYER,
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


def test_hook_registers_the_version_it_judged(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer="Self", exportable="false"))
    assert code == 0, err
    public_reads = [c for c in calls if "--query cer" in c or "x509ThumbprintHex" in c]
    assert len(public_reads) == 2 and all(f"--version {VERSION}" in c for c in public_reads), public_reads
    judged = [c for c in calls if "attributes.created" in c or "attributes.enabled" in c]
    assert judged and all(f"--version {VERSION}" in c for c in judged)
    # The policy is read after the version's creation time: a later policy change is seen.
    order = [i for i, c in enumerate(calls) if "--query attributes.created" in c or "policy.attributes.updated" in c]
    assert "attributes.created" in calls[order[0]] and "policy.attributes.updated" in calls[order[1]]


@pytest.mark.parametrize(
    ("created", "policy_updated"),
    [
        ("2026-01-05T10:00:07+00:00", "2026-01-05T10:00:07+00:00"),  # `create` with its policy: same second
        ("2026-01-05T10:00:07+00:00", "2026-01-05T10:00:07.900000+00:00"),
        ("2026-01-06T00:00:00+00:00", "2026-01-05T10:00:07+00:00"),  # an auto-renewal, long after
    ],
)
def test_hook_registers_a_version_created_no_earlier_than_the_policy(
    tmp_path: Path, created: str, policy_updated: str
) -> None:
    rules = _rules(issuer="Self", exportable="false", created=created, policy_updated=policy_updated)
    code, err, calls = _run_sh_hook(tmp_path, rules)
    assert code == 0, err
    assert _registered(calls)


@pytest.mark.parametrize(
    ("enabled", "created", "policy_updated", "says"),
    [
        # Imported with its own key at 10:00:07, the policy reset to Self/not exportable at 10:00:08.
        ("true", "2026-01-05T10:00:07+00:00", "2026-01-05T10:00:08+00:00", "before its policy's last"),
        ("true", "2025-12-31T23:59:59+00:00", "2026-01-01T00:00:00+00:00", "before its policy's last"),
        ("false", CREATED, CREATED, "is not enabled"),  # disabled as the rollover's refusal asks
        ("true", "", CREATED, "does not say when"),
        ("true", CREATED, "", "does not say when"),
        ("true", CREATED, "2026-01-05T11:00:07+01:00", "does not say when"),  # not UTC: not compared
    ],
    ids=["import-then-policy-reset", "across-midnight", "disabled", "no-created", "no-policy-time", "not-utc"],
)
def test_hook_refuses_a_version_the_rollover_would_refuse(
    tmp_path: Path, enabled: str, created: str, policy_updated: str, says: str
) -> None:
    rules = _rules(issuer="Self", exportable="false", enabled=enabled, created=created, policy_updated=policy_updated)
    code, err, calls = _run_sh_hook(tmp_path, rules)
    assert code != 0
    assert says in err and "nothing was registered" in err, err
    assert not _registered(calls), "a version the rollover refuses must never reach the app registration"
    assert not any("--query cer" in c for c in calls)


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
    assert source.count("nothing was registered") == 6
    # The version judged is the version registered, and it is judged as the rollover judges it.
    created_check = source.index("'attributes.created'")
    policy_check = source.index("'policy.attributes.updated'")
    assert created_check < policy_check < source.index("[string]::CompareOrdinal($createdS, $policyS) -lt 0") < register
    assert source.index("$enabled -ne 'true'") < register
    assert "--version $version --query $Query" in source
    assert source.index("Show-Version 'cer'") < register and "--query cer" not in source
    assert "DEPLOYER_IP_ADDRESS" in source and "'private'" in source
    finally_block = source[source.rindex("} finally {") :]
    assert "Close-Vault $openedFor" in finally_block
    assert "--public-network-access Disabled" in source and "network-rule remove" in source


# --- Certificates Officer only for the hook's own run ------------------------------------------------


def _index(calls: list[str], prefix: str) -> int:
    return next(i for i, c in enumerate(calls) if c.startswith(prefix))


def test_hook_grants_itself_certificates_officer_only_to_create_the_certificate_then_removes_it(
    tmp_path: Path,
) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer=None, exportable="false"))
    assert code == 0, err
    grant = _index(calls, "role assignment create")
    assert f"--assignee-object-id {DEPLOYER}" in calls[grant] and f"--role {OFFICER_ROLE}" in calls[grant]
    assert f"--scope {VAULT_ID}" in calls[grant], "on this vault only"
    create = _index(calls, "keyvault certificate create")
    revoke = _index(calls, "role assignment delete")
    assert grant < create < revoke < _index(calls, "ad app credential reset"), calls
    assert calls[revoke] == f"role assignment delete --ids {OFFICER_ASSIGNMENT} --output none"
    assert sum(c.startswith("role assignment delete") for c in calls) == 1


def test_hook_grants_nothing_when_the_certificate_exists(tmp_path: Path) -> None:
    code, err, calls = _run_sh_hook(tmp_path, _rules(issuer="Self", exportable="false"))
    assert code == 0, err
    assert not any(c.startswith(("role assignment create", "role assignment delete")) for c in calls)


def test_hook_leaves_a_standing_officer_assignment_alone(tmp_path: Path) -> None:
    rules = _rules(issuer=None, exportable="false")
    standing = VAULT_ID + "/providers/x/roleAssignments/standing\n"
    rules.insert(0, {"match": ["role assignment list", "--assignee"], "stdout": standing})
    code, err, calls = _run_sh_hook(tmp_path, rules)
    assert code == 0, err
    assert not any(c.startswith(("role assignment create", "role assignment delete")) for c in calls)


def test_hook_removes_the_officer_assignment_even_when_creating_fails(tmp_path: Path) -> None:
    rules = _rules(issuer=None, exportable="false")
    rules.insert(0, {"match": ["keyvault certificate create"], "stderr": "(BadParameter) no", "exit": 1})
    code, _, calls = _run_sh_hook(tmp_path, rules)
    assert code != 0
    assert calls[-1] == f"role assignment delete --ids {OFFICER_ASSIGNMENT} --output none"


def test_hook_prints_the_exact_removal_when_it_cannot_remove_the_assignment(tmp_path: Path) -> None:
    rules = _rules(issuer=None, exportable="false")
    rules.insert(0, {"match": ["role assignment delete"], "stderr": "(AuthorizationFailed) no", "exit": 1})
    code, err, _ = _run_sh_hook(tmp_path, rules)
    assert code == 0, err
    assert f"az role assignment delete --ids {OFFICER_ASSIGNMENT}" in err


def test_hook_without_a_known_principal_says_how_to_grant_and_stops(tmp_path: Path) -> None:
    rules = _rules(issuer=None, exportable="false")
    rules.insert(0, {"match": ["ad signed-in-user show"], "stderr": "not a user", "exit": 1})
    code, err, calls = _run_sh_hook(tmp_path, rules, AZURE_PRINCIPAL_ID="")
    assert code != 0
    assert f"az role assignment create --assignee-object-id <your object id> --role {OFFICER_ROLE}" in err
    assert not any("certificate create" in c for c in calls)


@pytest.mark.parametrize(("value", "warns"), [("false", True), ("true", False), ("", False)])
def test_hook_warns_when_the_alerts_have_no_receiver(tmp_path: Path, value: str, warns: bool) -> None:
    code, err, _ = _run_sh_hook(tmp_path, _rules(issuer="Self", exportable="false"), ALERTS_HAVE_RECEIVER=value)
    assert code == 0, err
    assert ("alerts have no receiver" in err) is warns
    if warns:
        assert "BROKER_ALERT_EMAIL" in err and "BROKER_ACTION_GROUP_ID" in err


def test_ps1_hook_grants_officer_for_its_run_only_and_warns_without_receivers() -> None:
    source = (SCRIPTS / "postprovision.ps1").read_text(encoding="utf-8")
    grant = source.index("Grant-OfficerForThisRun\n")
    create = source.index("'keyvault', 'certificate', 'create'")
    revoke = source.index("Revoke-Officer\n", create)
    assert grant < create < revoke < source.index("az ad app credential reset")
    finally_block = source[source.rindex("} finally {") :]
    assert "Revoke-Officer" in finally_block
    assert "az role assignment delete --ids" in source and OFFICER_ROLE in source
    assert "role assignment list" in source, "a standing assignment is left alone"
    assert "$env:ALERTS_HAVE_RECEIVER -eq 'false'" in source
    assert "BROKER_ALERT_EMAIL" in source and "BROKER_ACTION_GROUP_ID" in source


def test_the_hook_reads_the_receiver_flag_main_provides() -> None:
    outputs = bicep.template("main.bicep")["outputs"]
    assert "ALERTS_HAVE_RECEIVER" in outputs and "KEY_VAULT_ID" in outputs


def test_hook_marks_its_assignment_and_removes_one_an_interrupted_run_left_behind(tmp_path: Path) -> None:
    leftover = VAULT_ID + "/providers/Microsoft.Authorization/roleAssignments/left-behind"
    rules = _rules(issuer="Self", exportable="false")
    rules.insert(0, {"match": ["role assignment list", "description=="], "stdout": leftover + "\n"})
    code, err, calls = _run_sh_hook(tmp_path, rules)
    assert code == 0, err
    assert f"role assignment delete --ids {leftover} --output none" in calls
    assert "interrupted run" in err
    (tmp_path / "again").mkdir()
    code, err, calls = _run_sh_hook(tmp_path / "again", _rules(issuer=None, exportable="false"))
    assert code == 0, err
    [create] = [c for c in calls if c.startswith("role assignment create")]
    assert "--description temporary: the azd postprovision hook" in create
    source = (SCRIPTS / "postprovision.ps1").read_text(encoding="utf-8")
    assert "Remove-LeftoverOfficer" in source and "--description $officerDescription" in source
