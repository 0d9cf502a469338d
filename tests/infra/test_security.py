"""Issue 8, deployment half: audit trail, optional private networking (both shapes), inbound
restriction, the federated credential's audience per cloud, the idtyp optional claim.

The shapes are evaluated from the parsed templates (tests/infra/evaluate.py) with the parameter
values a deployment would get, e.g. VNET_ENABLED true and false.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import pytest

from . import bicep
from .evaluate import Symbol, Template

DIAGNOSTIC_SETTINGS = "Microsoft.Insights/diagnosticSettings"


def main(**params: Any) -> Template:
    return Template(bicep.template("main.bicep"), params, bicep.INFRA)


def module(rel: str, **params: Any) -> Template:
    return Template(bicep.template(rel), params, (bicep.INFRA / rel).parent)


def _scope_type(doc: dict[str, Any], body: dict[str, Any]) -> str:
    scope = bicep.text(body["scope"])
    return doc["resources"][scope]["type"]


def _settings_by_target(params: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Diagnostic settings of diagnostics.bicep that deploy with `params`, keyed by target type."""
    doc = bicep.template("app/diagnostics.bicep")
    tpl = Template(doc, params or {"workspaceId": "/ws", "keyVaultName": "kv", "functionAppName": "func"})
    found = {}
    for name in bicep.resources(doc, DIAGNOSTIC_SETTINGS):
        if tpl.deploys("resources", name):
            body = tpl.body("resources", name)
            found[_scope_type(doc, bicep.config(doc["resources"][name]))] = body
    return found


# --- audit trail -----------------------------------------------------------------------


def test_main_sends_audit_logs_to_the_workspace() -> None:
    tpl = main()
    assert tpl.deploys("modules", "diagnostics"), "the audit trail is not optional"
    params = tpl.body("modules", "diagnostics", "params")
    assert params["workspaceId"] == Symbol("monitoring.outputs.logAnalyticsWorkspaceId")
    assert params["keyVaultName"] == Symbol("keyVault.outputs.name")
    assert params["functionAppName"] == Symbol("api.outputs.name")
    # the account this deployment creates gets control-plane logs; a customer's existing one is left alone
    assert params["cosmosAccountName"] == Symbol("cosmosAccount.outputs.name")
    existing = main(
        existingCosmosAccountId="/subscriptions/s/resourceGroups/r/providers/Microsoft.DocumentDB/databaseAccounts/a"
    )
    assert existing.body("modules", "diagnostics", "params", "cosmosAccountName") == ""
    monitoring = bicep.template("app/monitoring.bicep")
    assert bicep.text(monitoring["outputs"]["logAnalyticsWorkspaceId"]["value"]) == "logAnalytics.id"


def test_key_vault_audit_logs_go_to_a_resource_specific_table() -> None:
    setting = _settings_by_target()["Microsoft.KeyVault/vaults"]["properties"]
    assert setting["workspaceId"] == "/ws"
    # AZKVAuditLogs, not AzureDiagnostics: docs/security.md's KQL queries that table
    assert setting["logAnalyticsDestinationType"] == "Dedicated"
    enabled = [log for log in setting["logs"] if log["enabled"] is True]
    assert any(
        log.get("categoryGroup") in ("audit", "allLogs") or log.get("category") == "AuditEvent" for log in enabled
    )


def test_function_app_logs_are_collected() -> None:
    setting = _settings_by_target()["Microsoft.Web/sites"]["properties"]
    assert setting["workspaceId"] == "/ws"
    assert {"category": "FunctionAppLogs", "enabled": True} in setting["logs"]


def test_cosmos_control_plane_logs_only_for_the_created_account() -> None:
    base = {"workspaceId": "/ws", "keyVaultName": "kv", "functionAppName": "func"}
    assert "Microsoft.DocumentDB/databaseAccounts" not in _settings_by_target(base)
    setting = _settings_by_target({**base, "cosmosAccountName": "cosmos-x"})["Microsoft.DocumentDB/databaseAccounts"]
    props = setting["properties"]
    assert {"category": "ControlPlaneRequests", "enabled": True} in props["logs"]
    assert props["logAnalyticsDestinationType"] == "Dedicated"
    assert props["workspaceId"] == "/ws"


def test_diagnostic_targets_are_the_deployed_resources() -> None:
    doc = bicep.template("app/diagnostics.bicep")
    tpl = Template(
        doc, {"workspaceId": "/ws", "keyVaultName": "kv", "functionAppName": "func", "cosmosAccountName": "c"}
    )
    names = {}
    for name, res in doc["resources"].items():
        if res["type"] != DIAGNOSTIC_SETTINGS:
            assert res["existing"] is True, f"{name}: diagnostics.bicep must not create {res['type']}"
            names[res["type"]] = tpl.body("resources", name, "name")
    assert names == {
        "Microsoft.KeyVault/vaults": "kv",
        "Microsoft.Web/sites": "func",
        "Microsoft.DocumentDB/databaseAccounts": "c",
    }


# --- private networking: both shapes ----------------------------------------------------


def test_parameters_file_maps_the_network_settings() -> None:
    values = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["vnetEnabled"] == {"value": "${VNET_ENABLED=false}"}
    assert values["allowedCallerIpRanges"] == {"value": "${ALLOWED_CALLER_IP_RANGES}"}
    params = bicep.template("main.bicep")["parameters"]
    assert params["vnetEnabled"]["default"] is False, "private networking is opt-in"
    assert params["allowedCallerIpRanges"]["default"] == ""


@pytest.mark.parametrize("vnet", [False, True], ids=["vnet-off", "vnet-on"])
def test_main_shape_follows_vnet_enabled(vnet: bool) -> None:
    tpl = main(vnetEnabled=vnet)
    assert tpl.deploys("modules", "network") is vnet
    vault = tpl.body("modules", "keyVault", "params", "publicNetworkAccess")
    storage = tpl.body("modules", "storage", "params", "publicNetworkAccess")
    subnet = tpl.body("modules", "api", "params", "virtualNetworkSubnetId")
    if vnet:
        assert vault == "Disabled"
        assert storage == "Disabled"
        assert subnet == Symbol("network.outputs.appSubnetId")
        network = tpl.body("modules", "network", "params")
        assert network["keyVaultName"] == Symbol("keyVault.outputs.name")
        assert network["storageAccountName"] == Symbol("storage.outputs.name")
    else:
        assert vault == "Enabled"
        assert storage == "Enabled"
        assert subnet == ""
    assert tpl.value(bicep.template("main.bicep")["outputs"]["VNET_ENABLED"]["value"]) == ("true" if vnet else "false")


def test_vnet_wins_over_an_explicit_public_key_vault() -> None:
    tpl = main(vnetEnabled=True, keyVaultPublicNetworkAccess="Enabled")
    assert tpl.body("modules", "keyVault", "params", "publicNetworkAccess") == "Disabled"
    # without the VNet the old switch still works on its own
    assert main(keyVaultPublicNetworkAccess="Disabled").body(
        "modules", "keyVault", "params", "publicNetworkAccess"
    ) == ("Disabled")


@pytest.mark.parametrize("access", ["Enabled", "Disabled"])
def test_key_vault_and_storage_firewalls_follow_public_network_access(access: str) -> None:
    vault = module("app/keyvault.bicep", publicNetworkAccess=access).body("resources", "vault", "properties")
    storage = module("app/storage.bicep", publicNetworkAccess=access).body("resources", "storage", "properties")
    assert vault["publicNetworkAccess"] == access
    assert storage["publicNetworkAccess"] == access
    if access == "Disabled":
        assert vault["networkAcls"] == {"bypass": "None", "defaultAction": "Deny"}
        assert storage["networkAcls"] == {"bypass": "None", "defaultAction": "Deny"}
    else:
        assert vault["networkAcls"]["defaultAction"] == "Allow"
        assert storage["networkAcls"]["defaultAction"] == "Allow"
    assert storage["allowSharedKeyAccess"] is False


@pytest.mark.parametrize(
    "subnet", ["", "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/app"]
)
def test_function_app_vnet_integration(subnet: str) -> None:
    site = module("app/api.bicep", virtualNetworkSubnetId=subnet)
    assert site.body("resources", "functionApp", "properties", "virtualNetworkSubnetId") == (subnet or None)


def test_network_module_integration_subnet_is_delegated_for_flex_consumption() -> None:
    doc = bicep.template("app/network.bicep")
    tpl = Template(doc)
    subnets = {s["name"]: s["properties"] for s in tpl.body("resources", "vnet")["properties"]["subnets"]}
    app_subnet = tpl.value(doc["outputs"]["appSubnetId"]["value"])
    pe_subnet = tpl.value(doc["outputs"]["privateEndpointSubnetId"]["value"])
    app_name = app_subnet.path.rsplit(", ", 1)[1].rstrip(")")
    pe_name = pe_subnet.path.rsplit(", ", 1)[1].rstrip(")")
    assert [d["properties"]["serviceName"] for d in subnets[app_name]["delegations"]] == ["Microsoft.App/environments"]
    assert "delegations" not in subnets[pe_name], "private endpoints cannot live in a delegated subnet"
    assert subnets[pe_name]["privateEndpointNetworkPolicies"] == "Disabled"
    assert app_name != pe_name
    for props in subnets.values():
        assert props["networkSecurityGroup"] == {"id": Symbol("nsg.id")}


def test_network_module_private_endpoints_and_dns() -> None:
    doc = bicep.template("app/network.bicep")
    tpl = Template(doc)
    endpoints = tpl.body("resources", "privateEndpoints")
    zones = tpl.body("resources", "zones")
    links = tpl.body("resources", "zoneLinks")
    groups = tpl.body("resources", "zoneGroups")
    assert len(endpoints) == len(zones) == len(links) == len(groups) == 4
    targets = {}
    for pe in endpoints:
        [conn] = pe["properties"]["privateLinkServiceConnections"]
        [group_id] = conn["properties"]["groupIds"]
        targets[group_id] = conn["properties"]["privateLinkServiceId"]
        assert "private-endpoints" in pe["properties"]["subnet"]["id"].path
    assert targets == {
        "vault": Symbol("keyVault.id"),
        "blob": Symbol("storageAccount.id"),
        "queue": Symbol("storageAccount.id"),
        "table": Symbol("storageAccount.id"),
    }
    names = [z["name"] for z in zones]
    # zones come from environment() (sovereign clouds), never a hard-coded public suffix
    vault_zone = names[[e["groupId"] for e in tpl.variable("endpoints")].index("vault")]
    assert isinstance(vault_zone, Symbol)
    assert vault_zone.path == "privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}"
    for service in ("blob", "queue", "table"):
        assert f"privatelink.{service}.${{environment().suffixes.storage}}" in names
    for link in links:
        assert link["properties"] == {"registrationEnabled": False, "virtualNetwork": {"id": Symbol("vnet.id")}}
    for i, group in enumerate(groups):
        [config] = group["properties"]["privateDnsZoneConfigs"]
        assert config["properties"]["privateDnsZoneId"] == Symbol(f"zones[{i}].id")
        assert group["parent"] == Symbol(f"privateEndpoints[{i}]")
    existing = {res["type"]: res["existing"] for res in doc["resources"].values() if res["existing"]}
    assert existing == {"Microsoft.KeyVault/vaults": True, "Microsoft.Storage/storageAccounts": True}


def test_key_vault_private_zone_name_per_cloud() -> None:
    """The replace() in network.bicep yields Azure's Private Link zone for each cloud's vault suffix."""
    source = bicep.template("app/network.bicep")["variables"]["keyVaultZone"]["value"]
    assert source == "privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}"
    expected = {
        ".vault.azure.net": "privatelink.vaultcore.azure.net",
        ".vault.azure.cn": "privatelink.vaultcore.azure.cn",
        ".vault.usgovcloudapi.net": "privatelink.vaultcore.usgovcloudapi.net",
    }
    for suffix, zone in expected.items():
        assert "privatelink" + suffix.replace(".vault.", ".vaultcore.") == zone


# --- inbound restriction --------------------------------------------------------------


def _site_config(ranges: str) -> dict[str, Any]:
    return module("app/api.bicep", allowedCallerIpRanges=ranges).body(
        "resources", "functionApp", "properties", "siteConfig"
    )


def test_no_inbound_restriction_by_default() -> None:
    config = _site_config("")
    assert config["ipSecurityRestrictions"] == []
    assert config["ipSecurityRestrictionsDefaultAction"] == "Allow"
    assert bicep.template("app/api.bicep")["parameters"]["allowedCallerIpRanges"]["default"] == ""
    assert main().body("modules", "api", "params", "allowedCallerIpRanges") == ""
    assert (
        main(allowedCallerIpRanges="10.0.0.0/8").body("modules", "api", "params", "allowedCallerIpRanges")
        == "10.0.0.0/8"
    )


def test_allowed_caller_ranges_and_service_tags() -> None:
    config = _site_config(
        " 203.0.113.0/24, 198.51.100.7,AzureFrontDoor.Backend, 2001:db8::/32 ,ApiManagement.WestEurope"
    )
    rules = config["ipSecurityRestrictions"]
    assert [(r["ipAddress"], r["tag"]) for r in rules] == [
        ("203.0.113.0/24", "Default"),
        ("198.51.100.7/32", "Default"),
        ("AzureFrontDoor.Backend", "ServiceTag"),
        ("2001:db8::/32", "Default"),
        ("ApiManagement.WestEurope", "ServiceTag"),
    ]
    assert {r["action"] for r in rules} == {"Allow"}
    priorities = [r["priority"] for r in rules]
    assert len(set(priorities)) == len(priorities)
    assert config["ipSecurityRestrictionsDefaultAction"] == "Deny"
    # the SCM (Kudu, deployment) site is not left open: without a list of its own it uses the main rules
    assert config["scmIpSecurityRestrictionsUseMain"] is True
    assert config["scmIpSecurityRestrictionsDefaultAction"] == "Deny"


def test_the_scm_site_is_open_only_when_nothing_is_restricted() -> None:
    config = _site_config("")
    assert config["scmIpSecurityRestrictions"] == []
    assert config["scmIpSecurityRestrictionsDefaultAction"] == "Allow"
    assert config["scmIpSecurityRestrictionsUseMain"] is False


@pytest.mark.parametrize("callers", ["", "203.0.113.0/24"])
def test_deployer_ranges_give_the_scm_site_its_own_deny_list(callers: str) -> None:
    config = module(
        "app/api.bicep", allowedCallerIpRanges=callers, allowedDeployerIpRanges="198.51.100.9, AzureCloud"
    ).body("resources", "functionApp", "properties", "siteConfig")
    assert [(r["ipAddress"], r["tag"], r["action"]) for r in config["scmIpSecurityRestrictions"]] == [
        ("198.51.100.9/32", "Default", "Allow"),
        ("AzureCloud", "ServiceTag", "Allow"),
    ]
    assert config["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
    assert config["scmIpSecurityRestrictionsUseMain"] is False
    # the main site is unaffected by the deployer's list
    assert config["ipSecurityRestrictionsDefaultAction"] == ("Deny" if callers else "Allow")


def test_parameters_file_and_main_pass_the_deployer_ranges() -> None:
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["allowedDeployerIpRanges"]["value"] == "${ALLOWED_DEPLOYER_IP_RANGES}"
    assert main(allowedDeployerIpRanges="10.1.0.0/16").body("modules", "api", "params", "allowedDeployerIpRanges") == (
        "10.1.0.0/16"
    )


# --- certificate import alert ----------------------------------------------------------------


def _import_alert() -> dict[str, Any]:
    doc = bicep.template("app/alerts.bicep")
    params = {"namePrefix": "p", "location": "l", "applicationInsightsId": "/ai", "logAnalyticsWorkspaceId": "/ws"}
    tpl = Template(doc, {**params, "keyVaultId": "/vaults/kv"})
    assert tpl.deploys("resources", "certificateImportAlert"), "the certificate-import alert is not optional"
    return tpl.body("resources", "certificateImportAlert")


def test_an_imported_certificate_version_raises_an_alert_on_the_vault_audit_log() -> None:
    body = _import_alert()
    props = body["properties"]
    assert props["enabled"] is True
    assert props["scopes"] == ["/ws"]
    [criterion] = props["criteria"]["allOf"]
    query = str(criterion["query"])
    assert query.startswith("AZKVAuditLogs")
    assert 'OperationName == "CertificateImport"' in query
    assert '_ResourceId =~ "/vaults/kv"' in query, "only this vault's imports"
    assert criterion["operator"] == "GreaterThan" and criterion["threshold"] == 0
    assert props["actions"]["actionGroups"] == [], "no receiver configured: the rule still deploys (the hook warns)"


def test_main_gives_the_import_alert_the_workspace_and_the_vault() -> None:
    params = main().body("modules", "alerts", "params")
    assert params["logAnalyticsWorkspaceId"] == Symbol("monitoring.outputs.logAnalyticsWorkspaceId")
    assert params["keyVaultId"] == Symbol("keyVault.outputs.id")


def test_a_bare_ipv6_address_becomes_a_single_host_range() -> None:
    [rule] = _site_config("2001:db8::1")["ipSecurityRestrictions"]
    assert rule == {
        "name": "allowed-caller-0",
        "action": "Allow",
        "priority": 100,
        "tag": "Default",
        "ipAddress": "2001:db8::1/128",
    }


# --- federated identity credential audience, idtyp claim ------------------------------------


def _clouds_module() -> ModuleType:
    path = bicep.REPO / "shared" / "clouds.py"
    spec = importlib.util.spec_from_file_location("_broker_clouds", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


# environment().name -> SPEC's AZURE_CLOUD (main.bicep: azureCloud)
ARM_CLOUD_NAMES = {
    "AzureCloud": "AzurePublicCloud",
    "AzureUSGovernment": "AzureUSGovernment",
    "AzureChinaCloud": "AzureChinaCloud",
}


def test_federated_credential_audience_follows_the_cloud() -> None:
    graph = bicep.template("app/graph.bicep")
    tpl = Template(graph)
    table = tpl.variable("federationAudiences")
    clouds = _clouds_module().CLOUDS
    assert set(table) == set(ARM_CLOUD_NAMES)
    for arm_name, audience in table.items():
        assert audience == clouds[ARM_CLOUD_NAMES[arm_name]].federation_audience, arm_name
    assert (
        bicep.text(graph["variables"]["federationAudience"]["value"])
        == "index_accessor(federationAudiences, environment().name)"
    )
    credential = bicep.config(graph["resources"]["brokerApp__managedIdentityCredential"])
    assert [bicep.text(a) for a in credential["audiences"]] == ["federationAudience"]


def test_api_app_registration_asks_for_idtyp_in_access_tokens() -> None:
    app = Template(bicep.template("app/graph.bicep"))
    claims = app.body("resources", "apiApp", "optionalClaims", "accessToken")
    assert [c["name"] for c in claims if c["name"] == "idtyp"] == ["idtyp"]
    assert app.body("resources", "apiApp", "api", "requestedAccessTokenVersion") == 2
