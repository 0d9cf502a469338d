"""The deployment review's findings (issue 15, docs/deployment-review.md), each checked where it lives:
the preprovision hook (public cloud only, the deployer's principal type, the region's Python
versions), the postdeploy hook's Event Grid webhook with the host's system key, the log alert on
AZKVAuditLogs, ftpsState, host.json sampling and the CI pipeline's variables. The hooks run against
the fake `az` of test_hooks.py, so their decisions are observed, not read.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from . import bicep
from .test_hooks import FAKE_AZ

SCRIPTS = bicep.REPO / "scripts"
KEY = "EgKeY-0123456789abcdefSECRET=="


def _run(tmp_path: Path, script: str, rules: list[dict[str, object]], **env: str) -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("az", "azd"):
        fake = bin_dir / tool
        fake.write_text(FAKE_AZ.format(python=sys.executable), encoding="utf-8")
        fake.chmod(0o755)
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    log = tmp_path / "calls.log"
    log.write_text("", encoding="utf-8")
    base = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAKE_AZ_RULES": str(tmp_path / "rules.json"),
        "FAKE_AZ_LOG": str(log),
        "HOOK_POLL_SECONDS": "0",
    }
    proc = subprocess.run(
        ["sh", str(SCRIPTS / script)],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr, log.read_text(encoding="utf-8").splitlines()


# --- preprovision: public cloud, principal type, Python version per region -------------------


def _pre_rules(
    cloud: str = "AzureCloud", user_type: str = "user", versions: str | None = "3.12\n3.13\n"
) -> list[dict[str, object]]:
    rules: list[dict[str, object]] = [
        {"match": ["cloud show"], "stdout": cloud + "\n"},
        {"match": ["account show", "user.type"], "stdout": user_type + "\n"},
    ]
    if versions is None:
        rules.append(
            {
                "match": ["functionapp list-flexconsumption-runtimes"],
                "stderr": "'list-flexconsumption-runtimes' is misspelled",
                "exit": 2,
            }
        )
    else:
        rules.append(
            {
                "match": ["functionapp list-flexconsumption-runtimes", "--location westeurope", "--runtime python"],
                "stdout": versions,
            }
        )
    return rules


def test_preprovision_passes_a_public_cloud_user_deploying_python_313(tmp_path: Path) -> None:
    code, out, calls = _run(tmp_path, "preprovision.sh", _pre_rules(), AZURE_LOCATION="westeurope")
    assert code == 0, out
    assert "Python 3.13 is offered" in out
    assert not any(c.startswith(("env set", "keyvault", "deployment")) for c in calls), "the hook only reads"


@pytest.mark.parametrize("cloud", ["AzureUSGovernment", "AzureChinaCloud"])
def test_preprovision_refuses_a_sovereign_cloud_the_graph_extension_cannot_deploy_to(
    tmp_path: Path, cloud: str
) -> None:
    code, out, _ = _run(tmp_path, "preprovision.sh", _pre_rules(cloud=cloud), AZURE_LOCATION="westeurope")
    assert code == 1
    assert cloud in out and "public cloud" in out and "learn.microsoft.com/graph/templates/limitations" in out


def test_preprovision_refuses_a_service_principal_declared_as_user(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path, "preprovision.sh", _pre_rules(user_type="servicePrincipal"), AZURE_LOCATION="westeurope"
    )
    assert code == 1
    assert "azd env set AZURE_PRINCIPAL_TYPE ServicePrincipal" in out and "UnmatchedPrincipalType" in out


def test_preprovision_accepts_a_ci_service_principal_with_azure_principal_type(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path,
        "preprovision.sh",
        _pre_rules(user_type="servicePrincipal"),
        AZURE_LOCATION="westeurope",
        AZURE_PRINCIPAL_TYPE="ServicePrincipal",
    )
    assert code == 0, out


def test_preprovision_refuses_a_user_declared_as_service_principal(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path, "preprovision.sh", _pre_rules(), AZURE_LOCATION="westeurope", AZURE_PRINCIPAL_TYPE="ServicePrincipal"
    )
    assert code == 1 and "azd env set AZURE_PRINCIPAL_TYPE User" in out


def test_preprovision_names_the_fallback_where_the_region_lacks_python_313(tmp_path: Path) -> None:
    rules = _pre_rules(versions="3.10\n3.11\n3.12\n")
    code, out, _ = _run(tmp_path, "preprovision.sh", rules, AZURE_LOCATION="westeurope")
    assert code == 1
    assert "3.10 3.11 3.12" in out and "not 3.13" in out and "azd env set PYTHON_VERSION 3.12" in out
    code, out, _ = _run(tmp_path, "preprovision.sh", rules, AZURE_LOCATION="westeurope", PYTHON_VERSION="3.12")
    assert code == 0, out


def test_preprovision_refuses_a_region_without_python_on_flex(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "preprovision.sh", _pre_rules(versions=""), AZURE_LOCATION="westeurope")
    assert code == 1 and "list-flexconsumption-locations" in out


def test_preprovision_refuses_a_python_version_the_broker_does_not_support(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "preprovision.sh", _pre_rules(), AZURE_LOCATION="westeurope", PYTHON_VERSION="3.11")
    assert code == 1 and "PYTHON_VERSION=3.11" in out


def test_preprovision_warns_when_the_cli_cannot_list_runtimes(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "preprovision.sh", _pre_rules(versions=None), AZURE_LOCATION="westeurope")
    assert code == 0 and "WARNING" in out and "unchecked" in out


def test_the_hooks_and_main_bicep_allow_the_same_python_versions() -> None:
    main = bicep.template("main.bicep")["parameters"]["pythonVersion"]
    allowed = next(d["argument"] for d in main["decorators"] if d["type"] == "allowed")
    assert allowed == ["3.13", "3.12"] and main["default"] == "3.13"
    sh = (SCRIPTS / "preprovision.sh").read_text(encoding="utf-8")
    assert "  3.13 | 3.12) ;;" in sh
    ps1 = (SCRIPTS / "preprovision.ps1").read_text(encoding="utf-8")
    assert "@('3.13', '3.12')" in ps1
    params = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert params["pythonVersion"]["value"] == "${PYTHON_VERSION=3.13}"
    assert params["principalType"]["value"] == "${AZURE_PRINCIPAL_TYPE=User}"


def test_preprovision_ps1_makes_the_same_checks() -> None:
    source = (SCRIPTS / "preprovision.ps1").read_text(encoding="utf-8")
    for needle in (
        "az cloud show --query name",
        "AzureCloud",
        "learn.microsoft.com/graph/templates/limitations",
        "az account show --query user.type",
        "azd env set AZURE_PRINCIPAL_TYPE $actual",
        "az functionapp list-flexconsumption-runtimes --location $location --runtime python",
        "azd env set PYTHON_VERSION 3.12",
        "list-flexconsumption-locations",
    ):
        assert needle in source, needle


def test_preprovision_sh_is_posix_sh() -> None:
    for shell in ("sh", "dash"):
        if shutil.which(shell):
            subprocess.run([shell, "-n", str(SCRIPTS / "preprovision.sh")], check=True)


def test_azure_yaml_runs_preprovision_and_gives_ci_the_principal_type() -> None:
    doc = yaml.safe_load((bicep.REPO / "azure.yaml").read_text(encoding="utf-8"))
    hook = doc["hooks"]["preprovision"]
    assert hook["posix"] == {
        "shell": "sh",
        "run": "./scripts/preprovision.sh",
        "interactive": False,
        "continueOnError": False,
    }
    assert hook["windows"] == {
        "shell": "pwsh",
        "run": "./scripts/preprovision.ps1",
        "interactive": False,
        "continueOnError": False,
    }
    # azd pipeline config copies only these to CI (Azure/azure-dev#4348)
    variables = doc["pipeline"]["variables"]
    assert "AZURE_PRINCIPAL_TYPE" in variables and "PYTHON_VERSION" in variables
    params = (bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8")
    read = set(re.findall(r"\$\{(\w+)", params)) - {"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID"}
    assert set(variables) <= read, f"pipeline variables main.parameters.json does not read: {set(variables) - read}"


def test_the_deployers_role_assignments_carry_the_principal_type_parameter() -> None:
    rbac = bicep.template("app/rbac.bicep")["resources"]
    deployer = [n for n in rbac if n.startswith("deployer")]
    assert deployer
    for name in deployer:
        assert bicep.config(rbac[name])["properties"]["principalType"] == "deployerPrincipalType", name
    assert (
        bicep.config(bicep.template("main.bicep")["modules"]["rbac"])["params"]["deployerPrincipalType"]
        == "principalType"
    )


# --- postdeploy: Event Grid webhook with the host's eventgrid_extension system key -----------

POST_ENV = {
    "CREDENTIAL_MODE": "keyvault",
    "AZURE_RESOURCE_GROUP": "rg-test",
    "AZURE_FUNCTION_APP_ID": "/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.Web/sites/func-test",
    "AZURE_FUNCTION_APP_NAME": "func-test",
    "FUNCTION_APP_URL": "https://func-test.azurewebsites.net",
    "EVENT_GRID_SYSTEM_TOPIC_NAME": "evgt-test",
    "KEY_VAULT_CERTIFICATE_NAME": "assertion-signing",
}


def _post_rules(key: str = KEY, create_error: str | None = None) -> list[dict[str, object]]:
    create: dict[str, object] = {"match": ["eventgrid system-topic event-subscription create"]}
    if create_error is not None:
        create.update(stderr=create_error, exit=1)
    return [
        {"match": ["resource show --ids", "/functions/rollover_event"]},
        {
            "match": ["functionapp keys list", "--name func-test", "systemKeys.eventgrid_extension"],
            "stdout": key + ("\n" if key else ""),
        },
        create,
    ]


def test_postdeploy_subscribes_a_webhook_with_the_system_key_and_never_prints_it(tmp_path: Path) -> None:
    code, out, calls = _run(tmp_path, "postdeploy.sh", _post_rules(), **POST_ENV)
    assert code == 0, out
    [create] = [c for c in calls if "event-subscription create" in c]
    assert "--endpoint-type webhook" in create
    expected = f"--endpoint https://func-test.azurewebsites.net/runtime/webhooks/EventGrid?functionName=rollover_event&code={KEY}"
    assert expected in create
    assert "--subject-begins-with assertion-signing --subject-ends-with assertion-signing" in create
    assert "Microsoft.KeyVault.CertificateNewVersionCreated Microsoft.KeyVault.CertificateNearExpiry" in create
    assert KEY not in out


def test_postdeploy_masks_the_key_when_event_grid_refuses(tmp_path: Path) -> None:
    url = "https://func-test.azurewebsites.net/runtime/webhooks/EventGrid?functionName=rollover_event"
    error = f"(Url validation) The attempt to validate {url}&code={KEY} failed"
    code, out, _ = _run(tmp_path, "postdeploy.sh", _post_rules(create_error=error), **POST_ENV)
    assert code == 1
    assert "code=***" in out and KEY not in out


def test_postdeploy_waits_for_the_system_key_then_gives_up_naming_it(tmp_path: Path) -> None:
    code, out, calls = _run(tmp_path, "postdeploy.sh", _post_rules(key=""), **POST_ENV)
    assert code == 1 and "eventgrid_extension" in out
    assert sum("functionapp keys list" in c for c in calls) == 18
    assert not any("event-subscription create" in c for c in calls)


def test_postdeploy_warns_when_ip_restrictions_shut_event_grid_out(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "postdeploy.sh", _post_rules(), ALLOWED_CALLER_IP_RANGES="203.0.113.0/24", **POST_ENV)
    assert code == 0 and "AzureEventGrid" in out and "WARNING" in out
    code, out, _ = _run(
        tmp_path, "postdeploy.sh", _post_rules(), ALLOWED_CALLER_IP_RANGES="203.0.113.0/24, AzureEventGrid", **POST_ENV
    )
    assert code == 0 and "WARNING" not in out


def test_postdeploy_ps1_makes_the_same_subscription() -> None:
    source = (SCRIPTS / "postdeploy.ps1").read_text(encoding="utf-8")
    for needle in (
        "az functionapp keys list",
        "systemKeys.eventgrid_extension",
        "--endpoint-type webhook",
        "/runtime/webhooks/EventGrid?functionName=$functionName&code=",
        "code=***",
        "AzureEventGrid",
    ):
        assert needle in source, needle
    assert "--endpoint-type azurefunction" not in source


# --- the log alert on AZKVAuditLogs, ftpsState, host.json -------------------------------------


def test_the_key_vault_import_alert_can_be_created_before_its_table_has_rows() -> None:
    alerts = bicep.template("app/alerts.bicep")
    rule = bicep.config(alerts["resources"]["certificateImportAlert"])
    assert "AZKVAuditLogs" in bicep.text(alerts["variables"]["certificateImportQuery"]["value"])
    assert rule["properties"]["skipQueryValidation"] is True
    module = bicep.template("main.bicep")["modules"]["alerts"]["config"]
    assert "diagnostics" in bicep.text(module.get("depends_on") or module.get("dependsOn"))


def test_no_ftps_state_on_flex_consumption() -> None:
    for path in bicep.bicep_files():
        assert "ftpsState" not in bicep.strip_comments(path.read_text(encoding="utf-8")), path.name


def test_host_json_has_no_application_insights_sampling_that_opentelemetry_mode_ignores() -> None:
    host = json.loads((bicep.REPO / "host.json").read_text(encoding="utf-8"))
    assert host["telemetryMode"] == "OpenTelemetry"
    assert "applicationInsights" not in host.get("logging", {})


def test_the_templates_and_readme_say_graph_bicep_is_public_cloud_only() -> None:
    limitations = "learn.microsoft.com/graph/templates/limitations"
    assert limitations in (bicep.INFRA / "main.bicep").read_text(encoding="utf-8")
    assert limitations in (bicep.INFRA / "app" / "graph.bicep").read_text(encoding="utf-8")
    readme = (bicep.INFRA / "README.md").read_text(encoding="utf-8")
    assert "public cloud only" in readme and limitations in readme


def test_no_role_assignment_hard_codes_a_user_principal() -> None:
    """A CI deployer is a service principal: a role assignment's principalType is 'ServicePrincipal'
    (a managed identity or app) or a parameter fed from AZURE_PRINCIPAL_TYPE, never a literal 'User'."""
    found = 0
    for path in bicep.bicep_files():
        doc = bicep.parse(path)
        for name, res in bicep.resources(doc, "Microsoft.Authorization/roleAssignments").items():
            found += 1
            principal_type = bicep.config(res).get("properties", {}).get("principalType")
            assert principal_type is not None, f"{path.name}: {name} has no principalType"
            assert principal_type == "ServicePrincipal" or principal_type in (doc.get("parameters") or {}), (
                f"{path.name}: {name} principalType {principal_type!r}"
            )
    assert found >= 10
