"""What the certificate rollover needs from the deployment: settings, Graph objects, Event Grid, hooks."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from . import bicep

SCRIPTS = bicep.REPO / "scripts"
OWNED_BY = "18a4783c-866b-4cc7-a460-3d5e5662c884"  # Application.ReadWrite.OwnedBy (Graph permissions reference)
EVENT_TYPES = ("Microsoft.KeyVault.CertificateNewVersionCreated", "Microsoft.KeyVault.CertificateNearExpiry")


def _module(name: str) -> dict:
    module = bicep.template("main.bicep")["modules"][name]
    return bicep.config(module)


def test_rollover_settings_come_from_the_deployment() -> None:
    main = bicep.template("main.bicep")
    settings = main["variables"]["productSettings"]["value"]
    assert bicep.text(settings["ENTRA_APPLICATION_OBJECT_ID"]) == "entra.outputs.appObjectId"
    assert settings["ROLLOVER_SCHEDULE"] == "rolloverSchedule"
    assert "rolloverGraceDays" in bicep.text(settings["ROLLOVER_GRACE_DAYS"])
    params = main["parameters"]
    assert params["rolloverSchedule"]["default"] == "0 0 3 * * *"  # daily, six NCRONTAB fields
    assert len(params["rolloverSchedule"]["default"].split()) == 6
    assert params["rolloverGraceDays"]["default"] == 7
    graph = bicep.template("app/graph.bicep")
    assert bicep.text(graph["outputs"]["appObjectId"]["value"]) == "brokerApp.id"  # the object ID, not appId
    for output in ("ENTRA_APPLICATION_OBJECT_ID", "ROLLOVER_SCHEDULE", "ROLLOVER_GRACE_DAYS"):
        assert output in main["outputs"]


def test_the_local_settings_sample_has_the_rollover_settings() -> None:
    import json

    values = json.loads((bicep.REPO / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert values["ROLLOVER_SCHEDULE"] == "0 0 3 * * *"
    assert values["ROLLOVER_GRACE_DAYS"] == "7"
    assert "ENTRA_APPLICATION_OBJECT_ID" in values


def test_api_app_registration_declares_rollover_write() -> None:
    graph = bicep.template("app/graph.bicep")
    roles = {r["value"]: r for r in graph["variables"]["callerAppRoles"]["value"]}
    assert "POST /api/rollover" in roles["Rollover.Write"]["description"]


def test_the_broker_app_asks_for_application_readwrite_owned_by_and_owns_itself() -> None:
    graph = bicep.template("app/graph.bicep")
    assert graph["variables"]["applicationOwnedByAppRoleId"]["value"] == OWNED_BY
    assert "applicationOwnedByAppRoleId" in bicep.text(bicep.config(graph["resources"]["brokerApp"]))
    owner = bicep.template("app/graphowner.bicep")
    app = bicep.config(owner["resources"]["brokerAppOwners"])
    assert owner["resources"]["brokerAppOwners"]["type"] == "Microsoft.Graph/applications"
    assert app["owners"]["relationships"] == ["servicePrincipalId"]
    assert "relationshipSemantics" not in app["owners"], "append, never replace other owners"
    assert "keyCredentials" not in app, "the keys are the hook's and the rollover's, never the template's"
    module = _module("entraOwner")
    assert bicep.text(module["params"]["servicePrincipalId"]) == "entra.outputs.servicePrincipalId"
    # The same uniqueName as the application graph.bicep declares (Graph Bicep upserts by it).
    entra = _module("entra")
    assert module["params"]["appUniqueName"] == entra["params"]["appUniqueName"]
    assert module["params"]["appDisplayName"] == entra["params"]["appDisplayName"]


def test_admin_consent_module_grants_owned_by_in_keyvault_mode() -> None:
    grant = bicep.template("app/graphgrant.bicep")
    assert grant["variables"]["applicationOwnedByAppRoleId"]["value"] == OWNED_BY
    resource = grant["resources"]["applicationOwnedBy"]
    assert resource["type"] == "Microsoft.Graph/appRoleAssignedTo"
    assert bicep.config(resource)["appRoleId"] == "applicationOwnedByAppRoleId"
    assert "keyvault" in bicep.text(_module("graphConsent")["params"]["grantApplicationOwnedBy"])


def test_key_vault_has_an_event_grid_system_topic() -> None:
    template = bicep.template("app/eventgrid.bicep")
    (topic,) = bicep.resources(template, "Microsoft.EventGrid/systemTopics").values()
    props = bicep.config(topic)["properties"]
    assert props["topicType"] == "Microsoft.KeyVault.vaults"
    assert bicep.text(props["source"]) == "vault.id"
    assert template["resources"]["vault"]["existing"] is True
    module = _module("keyVaultEvents")
    assert bicep.text(module["params"]["keyVaultName"]) == "keyVault.outputs.name"
    main = bicep.template("main.bicep")
    for output in ("EVENT_GRID_SYSTEM_TOPIC_NAME", "AZURE_FUNCTION_APP_ID", "AZURE_RESOURCE_GROUP"):
        assert output in main["outputs"]


def test_azure_yaml_registers_the_postdeploy_hooks() -> None:
    doc = yaml.safe_load((bicep.REPO / "azure.yaml").read_text(encoding="utf-8"))
    hook = doc["hooks"]["postdeploy"]
    assert hook["posix"]["run"] == "./scripts/postdeploy.sh" and hook["posix"]["shell"] == "sh"
    assert hook["windows"]["run"] == "./scripts/postdeploy.ps1" and hook["windows"]["shell"] == "pwsh"
    for platform in ("posix", "windows"):
        assert (bicep.REPO / hook[platform]["run"]).is_file()
        assert hook[platform]["continueOnError"] is False


@pytest.mark.parametrize("script", ["postdeploy.sh", "postdeploy.ps1"])
def test_postdeploy_subscribes_the_function_to_the_two_certificate_events(script: str) -> None:
    source = (SCRIPTS / script).read_text(encoding="utf-8")
    assert "az eventgrid system-topic event-subscription create" in source
    # Flex Consumption: a webhook to the host's Event Grid extension with its system key, as
    # Microsoft's Flex + Event Grid sample does (docs/deployment-review.md)
    assert "--endpoint-type webhook" in source and "--endpoint-type azurefunction" not in source
    assert "/runtime/webhooks/EventGrid?functionName=$function_name&code=" in source.replace(
        "$functionName", "$function_name"
    )
    assert "systemKeys.eventgrid_extension" in source and "az functionapp keys list" in source
    assert "/functions/" in source and "rollover_event" in source
    for event_type in EVENT_TYPES:
        assert event_type in source
    assert "CertificateExpired" not in source
    assert "--subject-begins-with" in source and "--subject-ends-with" in source
    assert "keyvault" in source  # nothing to subscribe outside keyvault mode
    outputs = set(bicep.template("main.bicep")["outputs"])
    for name in (
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_ID",
        "AZURE_FUNCTION_APP_NAME",
        "FUNCTION_APP_URL",
        "EVENT_GRID_SYSTEM_TOPIC_NAME",
    ):
        assert name in source and name in outputs


def test_the_function_the_hook_subscribes_exists() -> None:
    source = (bicep.REPO / "function_app.py").read_text(encoding="utf-8")
    assert '@app.function_name("rollover_event")' in source
    assert "@app.event_grid_trigger(" in source


def test_postdeploy_sh_is_posix_sh() -> None:
    for shell in ("sh", "dash"):
        if shutil.which(shell):
            subprocess.run([shell, "-n", str(SCRIPTS / "postdeploy.sh")], check=True)


def test_postprovision_still_registers_only_the_first_version() -> None:
    # The rollover registers every later version; the hook only appends the current one if absent.
    source = (SCRIPTS / "postprovision.sh").read_text(encoding="utf-8")
    assert "removeKey" not in source and "--append" in source
