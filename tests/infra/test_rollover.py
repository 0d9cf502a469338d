"""What the certificate rollover needs from the deployment: settings, Graph objects, Event Grid, hooks."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from . import bicep

SCRIPTS = bicep.REPO / "scripts"
# Graph application permissions (app role IDs, the same in every tenant; Graph permissions reference).
APPLICATION_READ_ALL = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"
WRITE_APPLICATIONS = {
    "18a4783c-866b-4cc7-a460-3d5e5662c884": "Application.ReadWrite.OwnedBy",
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
}
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


def _graph_roles(doc: dict) -> set[str]:
    """Every Graph app role ID a template declares in a variable."""
    return {v["value"] for v in (doc.get("variables") or {}).values() if isinstance(v.get("value"), str)}


def test_no_template_or_hook_holds_a_graph_permission_that_writes_applications() -> None:
    # With any of these the app's own token could add a password or a federated credential: a
    # credential outside Key Vault (docs/custody.md). By app role ID and by name, everywhere.
    sources = [p for p in bicep.INFRA.rglob("*") if p.is_file() and p.suffix in (".bicep", ".json", ".bicepparam")]
    sources += [p for p in SCRIPTS.iterdir() if p.is_file()]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for role_id, name in WRITE_APPLICATIONS.items():
            assert role_id not in text, f"{path.name} names {name} ({role_id})"
            assert name not in text, f"{path.name} names {name}"
    for path in bicep.bicep_files():
        assert not WRITE_APPLICATIONS.keys() & _graph_roles(bicep.parse(path)), path.name


def test_the_broker_app_asks_for_application_read_all_and_user_read_all_only() -> None:
    graph = bicep.template("app/graph.bicep")
    variables = graph["variables"]
    assert variables["applicationReadAllAppRoleId"]["value"] == APPLICATION_READ_ALL
    assert variables["userReadAllAppRoleId"]["value"] == USER_READ_ALL
    app = bicep.config(graph["resources"]["brokerApp"])
    (access,) = app["requiredResourceAccess"]
    assert access["resourceAppId"] == "microsoftGraphAppId"
    assert [(r["id"], r["type"]) for r in access["resourceAccess"]] == [
        ("userReadAllAppRoleId", "Role"),
        ("applicationReadAllAppRoleId", "Role"),
    ]
    assert "keyCredentials" not in app, "the keys are the hook's and the rollover's, never the template's"


def test_nothing_makes_the_app_an_owner_of_itself() -> None:
    assert not (bicep.INFRA / "app" / "graphowner.bicep").exists()
    assert "graphowner" not in bicep.text(bicep.template("main.bicep")["modules"])
    for path in bicep.bicep_files():
        doc = bicep.parse(path)
        for name, resource in (doc.get("resources") or {}).items():
            if resource.get("type") == "Microsoft.Graph/applications":
                assert "owners" not in bicep.config(resource), f"{path.name}: {name} declares owners"
    for script in SCRIPTS.iterdir():
        text = script.read_text(encoding="utf-8")
        assert "owner add" not in text and "owners/$ref" not in text, script.name


def test_admin_consent_grants_application_read_all_in_keyvault_mode() -> None:
    grant = bicep.template("app/graphgrant.bicep")
    assert grant["variables"]["applicationReadAllAppRoleId"]["value"] == APPLICATION_READ_ALL
    assert grant["variables"]["userReadAllAppRoleId"]["value"] == USER_READ_ALL
    assignments = bicep.resources(grant, "Microsoft.Graph/appRoleAssignedTo")
    assert {bicep.config(r)["appRoleId"] for r in assignments.values()} == {
        "userReadAllAppRoleId",
        "applicationReadAllAppRoleId",
    }
    assert "keyvault" in bicep.text(_module("graphConsent")["params"]["grantApplicationReadAll"])


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
