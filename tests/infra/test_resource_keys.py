"""RESOURCE_KEYS in the templates (SPEC "Resource keys", "Deployment facts"): the parameter and the
app setting, ONE custom role holding exactly the key actions and read of the listed kinds,
assigned per listed resource (in the resource's own group), and a pair of app roles per resource."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest

from . import bicep
from .evaluate import Symbol, Template

SUB = "11111111-1111-1111-1111-111111111111"
OTHER_SUB = "22222222-2222-2222-2222-222222222222"
KINDS_JSON = bicep.INFRA / "app" / "resource-kinds.json"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"


def rid(provider_type: str, name: str, *, group: str = "rg-data", sub: str = SUB, rule: str | None = None) -> str:
    out = f"/subscriptions/{sub}/resourceGroups/{group}/providers/{provider_type}/{name}"
    return out if rule is None else f"{out}/authorizationRules/{rule}"


STORAGE = rid("Microsoft.Storage/storageAccounts", "stgorders")
SERVICE_BUS = rid("Microsoft.ServiceBus/namespaces", "sb-orders", rule="partner-send")
REDIS_ELSEWHERE = rid("Microsoft.Cache/redis", "redis-sessions", group="rg-cache", sub=OTHER_SUB)
SEARCH = rid("Microsoft.Search/searchServices", "srch-catalog")
ALL_KINDS = {
    "cosmos": rid("Microsoft.DocumentDB/databaseAccounts", "cosmos-x"),
    "storage": STORAGE,
    "servicebus": SERVICE_BUS,
    "eventhubs": rid("Microsoft.EventHub/namespaces", "evh-telemetry", rule="ingest"),
    "redis": rid("Microsoft.Cache/redis", "redis-sessions"),
    "search": SEARCH,
    "cognitiveservices": rid("Microsoft.CognitiveServices/accounts", "oai-tools"),
    "appconfig": rid("Microsoft.AppConfiguration/configurationStores", "appcs-settings"),
}


def kinds_table() -> dict[str, dict[str, Any]]:
    data = json.loads(KINDS_JSON.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("$")}


def main(**params: Any) -> Template:
    return Template(bicep.template("main.bicep"), params, bicep.INFRA)


def module(rel: str, **params: Any) -> Template:
    return Template(bicep.template(rel), params, (bicep.INFRA / rel).parent)


def listed(*ids: str) -> list[dict[str, Any]]:
    return main(resourceKeys=list(ids)).variable("listedKeyResources")


# ---------------------------------------------------------------------------- the kinds table
def _emulator_kinds() -> dict[str, Any]:
    """emulator/resource_kinds.py (pure stdlib), loaded by path: the emulator package itself needs the app's venv."""
    path = bicep.REPO / "emulator" / "resource_kinds.py"
    spec = importlib.util.spec_from_file_location("_resource_kinds", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = loaded  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(loaded)
    return loaded.KINDS


def test_the_kinds_table_matches_the_emulators_provider_table() -> None:
    table = kinds_table()
    emulated = _emulator_kinds()
    assert {v["kind"] for v in table.values()} == set(emulated)
    for type_name, entry in table.items():
        kind = emulated[entry["kind"]]
        assert type_name == kind.type_name.lower()
        assert entry["actions"] == list(kind.key_permissions)


def test_every_kind_grants_only_key_actions_and_read() -> None:
    for type_name, entry in kinds_table().items():
        assert entry["actions"], type_name
        for action in entry["actions"]:
            assert "*" not in action, f"{type_name}: wildcard {action}"
            assert action.lower().startswith(type_name + "/"), f"{type_name}: {action} is another type's"
            tail = action[len(type_name) + 1 :].lower()
            assert tail == "read" or re.fullmatch(r"(list\w*keys|readonlykeys)/action", tail), action
        assert sum(a.lower().endswith("/read") for a in entry["actions"]) == 1


# ---------------------------------------------------------------------------- main.bicep
def test_resource_keys_is_an_azd_array_parameter() -> None:
    doc = bicep.template("main.bicep")
    assert doc["parameters"]["resourceKeys"]["type"] == "array"
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["resourceKeys"]["value"] == "${RESOURCE_KEYS=[]}"


def test_listed_ids_are_split_into_kind_name_rule_and_their_own_group() -> None:
    storage, bus, redis = listed(STORAGE, SERVICE_BUS, REDIS_ELSEWHERE)
    assert storage == {
        "id": STORAGE,
        "subscriptionId": SUB,
        "resourceGroup": "rg-data",
        "type": "microsoft.storage/storageaccounts",
        "kind": "storage",
        "name": "stgorders",
        "rule": "",
    }
    assert (bus["type"], bus["kind"], bus["name"], bus["rule"]) == (
        "microsoft.servicebus/namespaces/authorizationrules",
        "servicebus",
        "sb-orders",
        "partner-send",
    )
    assert (redis["subscriptionId"], redis["resourceGroup"], redis["kind"]) == (OTHER_SUB, "rg-cache", "redis")
    assert [r["kind"] for r in listed(*ALL_KINDS.values())] == list(ALL_KINDS)


def test_an_unsupported_resource_type_fails_the_deployment() -> None:
    with pytest.raises(KeyError):
        listed(rid("Microsoft.KeyVault/vaults", "kv1"))


def test_resource_keys_app_setting_and_the_access_module_follow_the_parameter() -> None:
    off = main()
    assert off.deploys("modules", "resourceKeyAccess") is False
    assert "RESOURCE_KEYS" not in off.variable("optionalSettings")
    on = main(resourceKeys=[STORAGE, SERVICE_BUS])
    assert on.deploys("modules", "resourceKeyAccess") is True
    assert on.variable("optionalSettings")["RESOURCE_KEYS"] == f"{STORAGE},{SERVICE_BUS}"
    assert on.body("modules", "resourceKeyAccess", "params", "keyResources") == listed(STORAGE, SERVICE_BUS)
    params = bicep.config(bicep.template("main.bicep")["modules"]["resourceKeyAccess"])["params"]
    assert bicep.text(params["principalId"]) == "downstreamPrincipalId"  # the SP (MI in managed-identity mode)
    # The access module runs at the subscription (it deploys the role definition), not in the app's group.
    assert "scope" not in bicep.config(bicep.template("main.bicep")["modules"]["resourceKeyAccess"])


# ---------------------------------------------------------------------------- the custom role
def role_template(*ids: str) -> Template:
    return module("app/resource-keys.bicep", keyResources=listed(*ids), principalId="sp", roleName="broker keys")


def test_one_custom_role_with_exactly_the_listed_kinds_actions() -> None:
    table = kinds_table()
    doc = bicep.template("app/resource-keys.bicep")
    assert doc["globals"]["scope"]["value"] == "subscription"
    definitions = bicep.resources(doc, "Microsoft.Authorization/roleDefinitions")
    assert list(definitions) == ["keyRole"]
    tpl = role_template(STORAGE, SERVICE_BUS, rid("Microsoft.Storage/storageAccounts", "stgtwo"))
    permissions = tpl.body("resources", "keyRole", "properties", "permissions")
    expected = (
        table["microsoft.storage/storageaccounts"]["actions"]
        + table["microsoft.servicebus/namespaces/authorizationrules"]["actions"]
    )
    assert permissions == [{"actions": expected, "notActions": [], "dataActions": [], "notDataActions": []}]
    assert tpl.body("resources", "keyRole", "properties", "type") == "CustomRole"
    # Every kind listed: every kind's actions, each once.
    everything = role_template(*ALL_KINDS.values()).variable("roleActions")
    assert sorted(everything) == sorted(a for entry in table.values() for a in entry["actions"])
    assert len(everything) == len(set(everything))


def test_the_role_is_assignable_only_at_the_listed_resources_groups() -> None:
    tpl = role_template(STORAGE, SEARCH, REDIS_ELSEWHERE)
    assert tpl.body("resources", "keyRole", "properties", "assignableScopes") == [
        f"/subscriptions/{SUB}/resourceGroups/rg-data",
        f"/subscriptions/{OTHER_SUB}/resourceGroups/rg-cache",
    ]


def test_one_assignment_module_per_listed_resource_in_its_own_group() -> None:
    doc = bicep.template("app/resource-keys.bicep")
    rendered = bicep.text(doc["modules"]["access"])
    scope = re.search(r"scope: resource_group\(([^)]*)\)", rendered)
    assert scope is not None, rendered
    # pycep lists resourceGroup(subscriptionId, resourceGroupName)'s arguments by its own names.
    assert set(scope.group(1).split(", ")) == {"keyResource.subscriptionId", "keyResource.resourceGroup"}
    tpl = role_template(STORAGE, SERVICE_BUS, REDIS_ELSEWHERE)
    bodies = tpl.body("modules", "access")
    assert [b["params"]["keyResource"]["id"] for b in bodies] == [STORAGE, SERVICE_BUS, REDIS_ELSEWHERE]
    assert {b["params"]["principalId"] for b in bodies} == {"sp"}


# ---------------------------------------------------------------------------- per-resource assignments
def access_template(key_id: str) -> Template:
    [resource] = listed(key_id)
    return module("app/resource-key-access.bicep", keyResource=resource, principalId="sp", keyRoleGuid="role-guid")


def deployed_assignments(key_id: str) -> dict[str, str]:
    """Deployed role assignment name -> its scope's symbol, for one listed resource."""
    doc = bicep.template("app/resource-key-access.bicep")
    tpl = access_template(key_id)
    return {
        name: bicep.text(bicep.config(res)["scope"])
        for name, res in bicep.resources(doc, ROLE_ASSIGNMENT).items()
        if tpl.deploys("resources", name)
    }


@pytest.mark.parametrize("kind", list(ALL_KINDS))
def test_each_kind_gets_the_key_role_on_the_resource_itself(kind: str) -> None:
    doc = bicep.template("app/resource-key-access.bicep")
    key_id = ALL_KINDS[kind]
    deployed = deployed_assignments(key_id)
    tpl = access_template(key_id)
    key_assignments = [n for n in deployed if bicep.text(bicep.config(doc["resources"][n])["properties"]
                                                         ["roleDefinitionId"]) == "keyRoleDefinitionId"]  # fmt: skip
    assert len(key_assignments) == 1, deployed
    [name] = key_assignments
    scope = deployed[name]
    scoped = doc["resources"][scope]
    assert scoped["type"].lower() == listed(key_id)[0]["type"]
    assert scoped["existing"] is True
    if listed(key_id)[0]["rule"]:  # an authorization rule: its parent is the namespace
        assert tpl.body("resources", scope, "name") == listed(key_id)[0]["rule"]
        parent = bicep.text(bicep.config(scoped)["parent"])
        assert doc["resources"][parent]["type"].lower() + "/authorizationrules" == scoped["type"].lower()
    else:
        parent = scope
    assert doc["resources"][parent]["existing"] is True
    assert tpl.body("resources", parent, "name") == listed(key_id)[0]["name"]
    properties = tpl.body("resources", name, "properties")
    assert properties["principalId"] == "sp"
    assert properties["roleDefinitionId"] == Symbol(
        "subscription_resource_id(Microsoft.Authorization/roleDefinitions, role-guid)"
    )
    assert bicep.text(bicep.config(doc["resources"][name])["name"]).startswith("guid(")


@pytest.mark.parametrize("kind", ["servicebus", "eventhubs"])
def test_a_rule_also_gets_reader_on_its_namespace_and_nothing_else(kind: str) -> None:
    doc = bicep.template("app/resource-key-access.bicep")
    deployed = deployed_assignments(ALL_KINDS[kind])
    assert len(deployed) == 2
    readers = {n: s for n, s in deployed.items() if "reader" in bicep.text(
        bicep.config(doc["resources"][n])["properties"]["roleDefinitionId"]).lower()}  # fmt: skip
    [(name, scope)] = readers.items()
    namespace_type = "microsoft.servicebus/namespaces" if kind == "servicebus" else "microsoft.eventhub/namespaces"
    assert doc["resources"][scope]["type"].lower() == namespace_type
    assert name.endswith("NamespaceReader")
    variables = doc["variables"]
    keys, _ = bicep.role_keys(variables["readerRoleDefinitionId"]["value"], variables)
    assert keys == {"reader"}


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k not in ("servicebus", "eventhubs")])
def test_other_kinds_get_exactly_one_assignment(kind: str) -> None:
    assert len(deployed_assignments(ALL_KINDS[kind])) == 1


def test_no_assignment_is_broader_than_a_resource() -> None:
    doc = bicep.template("app/resource-key-access.bicep")
    for name, res in bicep.resources(doc, ROLE_ASSIGNMENT).items():
        scope = bicep.text(bicep.config(res)["scope"])
        assert scope in doc["resources"], f"{name}: scope {scope} is not a resource of this file"
        assert doc["resources"][scope]["existing"] is True
    # Neither the subscription-level module nor main assigns anything itself.
    for rel in ("main.bicep", "app/resource-keys.bicep"):
        assert not bicep.resources(bicep.template(rel), ROLE_ASSIGNMENT), rel


# ---------------------------------------------------------------------------- app roles
def graph(**params: Any) -> Template:
    base = {"appUniqueName": "app-broker", "appDisplayName": "b", "apiUniqueName": "app-api", "apiDisplayName": "a"}
    return module("app/graph.bicep", **{**base, **params})


def test_keys_read_and_read_write_cover_every_listed_resource() -> None:
    values = [r["value"] for r in graph().body("resources", "apiApp", "appRoles")]
    assert "Keys.Read" in values and "Keys.ReadWrite" in values
    assert not [v for v in values if v.startswith("Keys.Read:") or v.startswith("Keys.ReadWrite:")]


def test_one_pair_of_app_roles_per_listed_resource_with_stable_ids() -> None:
    targets = main(resourceKeys=[STORAGE, SERVICE_BUS, SEARCH]).variable("keyAppRoleTargets")
    assert targets[:3] == [
        {"kind": "storage", "name": "stgorders"},
        {"kind": "servicebus", "name": "sb-orders"},
        {"kind": "search", "name": "srch-catalog"},
    ]
    assert targets[3]["kind"] == "cosmos"  # the deployment's own Cosmos account (COSMOS_ACCOUNT_IDS)
    roles = graph(keyResources=targets[:3]).body("resources", "apiApp", "appRoles")
    per_resource = [r for r in roles if ":" in r["value"]]
    assert [r["value"] for r in per_resource] == [
        "Keys.Read:storage/stgorders",
        "Keys.ReadWrite:storage/stgorders",
        "Keys.Read:servicebus/sb-orders",
        "Keys.ReadWrite:servicebus/sb-orders",
        "Keys.Read:search/srch-catalog",
        "Keys.ReadWrite:search/srch-catalog",
    ]
    for role in roles:
        assert role["id"] == Symbol(f"guid(app-api, {role['value']})"), role
        assert role["allowedMemberTypes"] == ["Application"] and role["isEnabled"] is True
    assert len({r["value"] for r in roles}) == len(roles)
    assert main(resourceKeys=[STORAGE, SERVICE_BUS]).body("modules", "entra", "params", "keyResources") == main(
        resourceKeys=[STORAGE, SERVICE_BUS]
    ).variable("keyAppRoleTargets")


def test_app_role_values_fit_entra_limits_and_duplicates_collapse() -> None:
    longest = rid("Microsoft.CognitiveServices/accounts", "a" * 64)
    cosmos = rid("Microsoft.DocumentDB/databaseAccounts", "cosmos-existing")
    targets = main(resourceKeys=[longest, longest, STORAGE, cosmos], existingCosmosAccountId=cosmos).variable(
        "keyAppRoleTargets"
    )
    assert targets == [
        {"kind": "cognitiveservices", "name": "a" * 64},
        {"kind": "storage", "name": "stgorders"},
        {"kind": "cosmos", "name": "cosmos-existing"},
    ]
    roles = graph(keyResources=targets).body("resources", "apiApp", "appRoles")
    values = [r["value"] for r in roles]
    assert len(values) == len(set(values))
    assert f"Keys.ReadWrite:cognitiveservices/{'a' * 64}" in values
    for value in values:
        assert len(value) <= 120 and " " not in value, value
