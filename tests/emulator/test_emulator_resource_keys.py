"""ARM key actions and GETs of every resource kind (emulator/resource_kinds.py), over HTTPS.

AZURE-PROTOCOLS.md 5 and 12: each kind's action answers its provider's shape, the GET carries the
local-auth property, RBAC per action, api-version refusals, 404s, throttling.
"""

from __future__ import annotations

import base64

import pytest
from emu_support import error_of

from emulator.resource_kinds import KINDS

ARM = "https://management.azure.com"
# One seeded resource per kind (docs/emulator.md "Resource keys").
SEEDED = {
    "cosmos": "cosmos-orders",
    "storage": "stgorders",
    "servicebus": "sb-orders",
    "eventhubs": "evh-telemetry",
    "redis": "redis-sessions",
    "search": "srch-catalog",
    "cognitiveservices": "oai-tools",
    "appconfig": "appcs-settings",
}
ACTIONS = [(kind, action.name) for kind, spec in KINDS.items() for action in spec.actions]
SHAPES = {
    ("cosmos", "listKeys"): {
        "primaryMasterKey",
        "secondaryMasterKey",
        "primaryReadonlyMasterKey",
        "secondaryReadonlyMasterKey",
    },
    ("cosmos", "readonlykeys"): {"primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"},
    ("storage", "listKeys"): {"keys"},
    ("servicebus", "listKeys"): {
        "primaryConnectionString",
        "secondaryConnectionString",
        "primaryKey",
        "secondaryKey",
        "keyName",
    },
    ("eventhubs", "listKeys"): {
        "primaryConnectionString",
        "secondaryConnectionString",
        "primaryKey",
        "secondaryKey",
        "keyName",
    },
    ("redis", "listKeys"): {"primaryKey", "secondaryKey"},
    ("search", "listAdminKeys"): {"primaryKey", "secondaryKey"},
    ("search", "listQueryKeys"): {"value", "nextLink"},
    ("cognitiveservices", "listKeys"): {"key1", "key2"},
    ("appconfig", "listKeys"): {"value", "nextLink"},
}
LOCAL_AUTH_ON = {  # the GET's property when keys work
    "cosmos": ("disableLocalAuth", False),
    "storage": ("allowSharedKeyAccess", True),
    "servicebus": ("disableLocalAuth", False),
    "eventhubs": ("disableLocalAuth", False),
    "redis": ("disableAccessKeyAuthentication", False),
    "search": ("disableLocalAuth", False),
    "cognitiveservices": ("disableLocalAuth", False),
    "appconfig": ("disableLocalAuth", False),
}


@pytest.fixture
def sp_token(emu):
    """An ARM token of the broker's service principal (the seeded roles are its)."""
    return emu.entra.mint_caller_token(audience=ARM, app_id=emu.seed.client_id, issuer="v1")


@pytest.fixture
def stranger_token(emu):
    """An ARM token of a principal holding no role at all."""
    return emu.entra.mint_caller_token(audience=ARM, issuer="v1")


def send(http, emu, token, path, method="POST", api_version="", kind=None):
    if api_version == "" and kind is not None:
        api_version = KINDS[kind].api_versions[0]
    params = {} if api_version is None else {"api-version": api_version}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.request(method, emu.urls["management"] + path, params=params, headers=headers)


def action_path(emu, kind, action, name=None):
    return emu.seed.resource_id(kind, name or SEEDED[kind]) + f"/{action}"


def top_path(emu, kind, name=None):
    return emu.arm.resource(kind, name or SEEDED[kind]).top_id


# ---------------------------------------------------------------------------- actions
@pytest.mark.parametrize(("kind", "action"), ACTIONS)
def test_every_action_answers_its_provider_shape_as_a_write(http, emu, sp_token, kind, action):
    response = send(http, emu, sp_token, action_path(emu, kind, action), kind=kind)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == SHAPES[(kind, action)]
    assert response.headers["x-ms-ratelimit-remaining-subscription-writes"].isdigit()
    assert "x-ms-ratelimit-remaining-subscription-reads" not in response.headers
    assert emu.counters.get(KINDS[kind].action(action).operation) == 1
    # The same keys on every call within a run.
    assert send(http, emu, sp_token, action_path(emu, kind, action), kind=kind).json() == body


def test_storage_keys_as_the_storage_provider_lists_them(http, emu, sp_token):
    body = send(http, emu, sp_token, action_path(emu, "storage", "listKeys"), kind="storage").json()
    keys = emu.arm.resource("storage", "stgorders").keys
    assert [k["keyName"] for k in body["keys"]] == ["key1", "key2"]
    for entry in body["keys"]:
        assert set(entry) == {"keyName", "value", "permissions", "creationTime"}
        assert entry["permissions"] == "FULL" and entry["value"] == keys[entry["keyName"]]
        assert len(base64.b64decode(entry["value"], validate=True)) == 64
        assert entry["creationTime"].endswith("Z")


@pytest.mark.parametrize("kind", ["servicebus", "eventhubs"])
def test_rule_keys_carry_connection_strings_of_the_rule(http, emu, sp_token, kind):
    name = SEEDED[kind]
    body = send(http, emu, sp_token, action_path(emu, kind, "listKeys"), kind=kind).json()
    rule = emu.arm.resource(kind, name).rule
    assert body["keyName"] == rule
    assert body["primaryConnectionString"] == (
        f"Endpoint=sb://{name}.servicebus.windows.net/;SharedAccessKeyName={rule};SharedAccessKey={body['primaryKey']}"
    )
    assert body["secondaryConnectionString"].endswith(f";SharedAccessKey={body['secondaryKey']}")
    assert len(base64.b64decode(body["primaryKey"], validate=True)) == 32
    # Another rule of the same namespace has keys of its own.
    root = emu.seed.resource_id(kind, name, "RootManageSharedAccessKey")
    emu.arm.assign_role(emu.seed.sp_object_id, emu.arm.broker_role.id, scope=root)
    other = send(http, emu, sp_token, root + "/listKeys", kind=kind).json()
    assert other["keyName"] == "RootManageSharedAccessKey" and other["primaryKey"] != body["primaryKey"]


def test_search_query_keys_differ_from_admin_keys(http, emu, sp_token):
    admin = send(http, emu, sp_token, action_path(emu, "search", "listAdminKeys"), kind="search").json()
    query = send(http, emu, sp_token, action_path(emu, "search", "listQueryKeys"), kind="search").json()
    assert query["nextLink"] is None and len(query["value"]) == 2
    assert all(set(entry) == {"name", "key"} for entry in query["value"])
    query_keys = {entry["key"] for entry in query["value"]}
    assert not query_keys & {admin["primaryKey"], admin["secondaryKey"]}


def test_app_configuration_lists_read_write_and_read_only_keys(http, emu, sp_token):
    body = send(http, emu, sp_token, action_path(emu, "appconfig", "listKeys"), kind="appconfig").json()
    assert body["nextLink"] is None
    assert [(e["name"], e["readOnly"]) for e in body["value"]] == [
        ("Primary", False),
        ("Secondary", False),
        ("Primary Read Only", True),
        ("Secondary Read Only", True),
    ]
    for entry in body["value"]:
        assert set(entry) == {"id", "name", "value", "connectionString", "lastModified", "readOnly"}
        assert entry["connectionString"] == (
            f"Endpoint=https://appcs-settings.azconfig.io;Id={entry['id']};Secret={entry['value']}"
        )


def test_keys_survive_reset_and_test_changes_do_not(http, emu, sp_token):
    before = send(http, emu, sp_token, action_path(emu, "redis", "listKeys"), kind="redis").json()
    bus = emu.arm.answer("servicebus", "sb-orders", "listKeys")
    emu.arm.add_rule("servicebus", "sb-orders", "extra")
    emu.arm.create_resource("redis", "redis-sessions", keys={"primaryKey": "p", "secondaryKey": "s"})
    emu.arm.set_local_auth("storage", "stgorders", False)
    emu.reset()
    assert send(http, emu, sp_token, action_path(emu, "redis", "listKeys"), kind="redis").json() == before
    assert emu.arm.answer("servicebus", "sb-orders", "listKeys") == bus
    assert sorted(emu.arm.resource("servicebus", "sb-orders").rules) == ["RootManageSharedAccessKey", "partner-send"]
    assert emu.arm.resource("storage", "stgorders").local_auth is True


# ---------------------------------------------------------------------------- GET and local auth
@pytest.mark.parametrize("kind", list(KINDS))
def test_get_carries_the_local_auth_property_and_follows_the_toggle(http, emu, sp_token, kind):
    prop, on_value = LOCAL_AUTH_ON[kind]
    response = send(http, emu, sp_token, top_path(emu, kind), method="GET", kind=kind)
    assert response.status_code == 200, response.text
    body = response.json()
    resource = emu.arm.resource(kind, SEEDED[kind])
    assert body["id"] == resource.top_id and body["name"] == SEEDED[kind]
    assert body["type"].lower() == f"{KINDS[kind].provider}/{KINDS[kind].types[0]}".lower()
    assert body["properties"][prop] is on_value
    assert response.headers["x-ms-ratelimit-remaining-subscription-reads"].isdigit()
    assert emu.counters.get(KINDS[kind].read_operation) == 1
    emu.arm.set_local_auth(kind, SEEDED[kind], False)
    body = send(http, emu, sp_token, top_path(emu, kind), method="GET", kind=kind).json()
    assert body["properties"][prop] is (not on_value)
    # Keys still list with local auth off (they just do not work on the data plane).
    action = KINDS[kind].actions[0].name
    assert send(http, emu, sp_token, action_path(emu, kind, action), kind=kind).status_code == 200


def test_the_seeded_openai_account_has_local_auth_off(http, emu, sp_token):
    body = send(http, emu, sp_token, top_path(emu, "cognitiveservices", "oai-entra-only"), "GET",
                kind="cognitiveservices").json()  # fmt: skip
    assert body["properties"]["disableLocalAuth"] is True
    assert body["kind"] == "OpenAI"


def test_search_auth_options_are_null_with_local_auth_off(http, emu, sp_token):
    emu.arm.set_local_auth("search", "srch-catalog", False)
    body = send(http, emu, sp_token, top_path(emu, "search"), "GET", kind="search").json()
    assert body["properties"]["authOptions"] is None


@pytest.mark.parametrize("kind", ["servicebus", "eventhubs"])
def test_rule_get_is_the_rule(http, emu, sp_token, kind):
    path = emu.seed.resource_id(kind, SEEDED[kind])
    body = send(http, emu, sp_token, path, "GET", kind=kind).json()
    assert body["id"] == path and body["name"] == emu.arm.resource(kind, SEEDED[kind]).rule
    assert body["type"].lower().endswith("/namespaces/authorizationrules")
    assert "Listen" in body["properties"]["rights"]


# ---------------------------------------------------------------------------- RBAC
@pytest.mark.parametrize(("kind", "action"), ACTIONS)
def test_an_action_without_a_role_is_authorization_failed_naming_action_and_scope(
    http, emu, stranger_token, kind, action
):
    response = send(http, emu, stranger_token, action_path(emu, kind, action), kind=kind)
    assert response.status_code == 403
    oid = emu.seed.caller_sp_object_id
    assert error_of(response) == {
        "code": "AuthorizationFailed",
        "message": f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
        f"'{KINDS[kind].action(action).permission}' over scope '{emu.seed.resource_id(kind, SEEDED[kind])}' "
        "or the scope is invalid. If access was recently granted, please refresh your credentials.",
    }


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_get_without_a_role_is_authorization_failed(http, emu, stranger_token, kind):
    response = send(http, emu, stranger_token, top_path(emu, kind), "GET", kind=kind)
    assert response.status_code == 403
    assert f"'{KINDS[kind].read_permission}'" in error_of(response)["message"]


def test_reader_reads_but_lists_no_key(http, emu, stranger_token):
    emu.arm.assign_role(emu.seed.caller_sp_object_id, "Reader", kind="storage", name="stgorders")
    assert send(http, emu, stranger_token, top_path(emu, "storage"), "GET", kind="storage").status_code == 200
    assert send(http, emu, stranger_token, action_path(emu, "storage", "listKeys"), kind="storage").status_code == 403


def test_key_operator_lists_keys_but_cannot_read_the_account(http, emu, stranger_token):
    emu.arm.assign_role(emu.seed.caller_sp_object_id, "Storage Account Key Operator Service Role",
                        kind="storage", name="stgorders")  # fmt: skip
    assert send(http, emu, stranger_token, action_path(emu, "storage", "listKeys"), kind="storage").status_code == 200
    response = send(http, emu, stranger_token, top_path(emu, "storage"), "GET", kind="storage")
    assert response.status_code == 403 and "'Microsoft.Storage/storageAccounts/read'" in error_of(response)["message"]


def test_custom_role_wildcards_and_not_actions_as_arm_evaluates_them(http, emu, stranger_token):
    seed = emu.seed
    role = emu.arm.rbac.define(
        "Search everything but admin keys",
        ["microsoft.search/searchServices/*"],  # case-insensitive, * spans segments
        not_actions=["Microsoft.Search/*/listAdminKeys/action"],
        assignable_scopes=[f"/subscriptions/{seed.subscription_id}/resourceGroups/{seed.resource_group}"],
    )
    # Assigned at the resource group: covers every resource below it.
    scope = f"/subscriptions/{seed.subscription_id}/resourceGroups/{seed.resource_group}"
    emu.arm.assign_role(seed.caller_sp_object_id, role.id, scope=scope)
    query, admin = (action_path(emu, "search", a) for a in ("listQueryKeys", "listAdminKeys"))
    assert send(http, emu, stranger_token, query, kind="search").status_code == 200
    assert send(http, emu, stranger_token, top_path(emu, "search"), "GET", kind="search").status_code == 200
    assert send(http, emu, stranger_token, admin, kind="search").status_code == 403
    assert send(http, emu, stranger_token, action_path(emu, "redis", "listKeys"), kind="redis").status_code == 403


def test_custom_role_cannot_be_assigned_outside_its_assignable_scopes(emu):
    role = emu.arm.rbac.define(
        "Narrow", ["*/read"], assignable_scopes=[f"/subscriptions/{emu.seed.subscription_id}/resourceGroups/rg-a"]
    )
    with pytest.raises(ValueError, match="assignable scopes"):
        emu.arm.assign_role(emu.seed.caller_sp_object_id, role.id, kind="storage", name="stgorders")


def test_an_assignment_on_one_resource_does_not_cover_a_sibling(http, emu, stranger_token):
    emu.arm.create_resource("storage", "stgother")
    emu.arm.assign_role(emu.seed.caller_sp_object_id, emu.arm.broker_role.id, kind="storage", name="stgother")
    assert send(http, emu, stranger_token, action_path(emu, "storage", "listKeys", "stgother"),
                kind="storage").status_code == 200  # fmt: skip
    assert send(http, emu, stranger_token, action_path(emu, "storage", "listKeys"), kind="storage").status_code == 403


def test_a_rule_scoped_assignment_does_not_read_the_namespace(http, emu, stranger_token):
    emu.arm.assign_role(emu.seed.caller_sp_object_id, emu.arm.broker_role.id, kind="servicebus", name="sb-orders")
    ok = send(http, emu, stranger_token, action_path(emu, "servicebus", "listKeys"), kind="servicebus")
    assert ok.status_code == 200
    denied = send(http, emu, stranger_token, top_path(emu, "servicebus"), "GET", kind="servicebus")
    assert denied.status_code == 403
    assert "'Microsoft.ServiceBus/namespaces/read'" in error_of(denied)["message"]


def test_the_seeded_broker_role_holds_exactly_key_actions_and_reads(emu):
    role = emu.arm.broker_role
    assert role.custom and role.not_actions == ()
    for action in role.actions:
        assert "*" not in action
        assert action.lower().endswith(("/action", "/read"))
        assert "keys" in action.lower() or action.lower().endswith("/read")


# ---------------------------------------------------------------------------- api-version
@pytest.mark.parametrize("kind", list(KINDS))
def test_api_versions_the_provider_does_not_register_are_refused(http, emu, sp_token, kind):
    path = action_path(emu, kind, KINDS[kind].actions[0].name)
    for version in KINDS[kind].api_versions:
        assert send(http, emu, sp_token, path, api_version=version).status_code == 200
    response = send(http, emu, sp_token, path, api_version="2014-01-01")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "NoRegisteredProviderFound"
    type_path = "/".join(KINDS[kind].types)
    assert error["message"].startswith(
        f"No registered resource provider found for location '{emu.seed.location}' and API version '2014-01-01' "
        f"for type '{type_path}'. The supported api-versions are '{', '.join(KINDS[kind].api_versions)}'."
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_value_that_is_no_api_version_and_a_missing_one(http, emu, sp_token, kind):
    path = top_path(emu, kind)
    response = send(http, emu, sp_token, path, "GET", api_version="latest")
    assert response.status_code == 400 and error_of(response)["code"] == "InvalidApiVersionParameter"
    assert error_of(response)["message"].startswith("The api-version 'latest' is invalid. The supported versions are")
    response = send(http, emu, sp_token, path, "GET", api_version=None)
    assert response.status_code == 400 and error_of(response)["code"] == "MissingApiVersionParameter"


# ---------------------------------------------------------------------------- 404s
@pytest.fixture
def sp_on_group(emu):
    """The broker's role on the whole resource group, so lookups of missing resources get past RBAC."""
    seed = emu.seed
    scope = f"/subscriptions/{seed.subscription_id}/resourceGroups/{seed.resource_group}"
    emu.arm.assign_role(seed.sp_object_id, "Contributor", scope=scope)
    return scope


@pytest.mark.parametrize("kind", [k for k, spec in KINDS.items() if len(spec.types) == 1])
def test_missing_resource_is_resource_not_found(http, emu, sp_token, sp_on_group, kind):
    spec = KINDS[kind]
    path = f"{sp_on_group}/providers/{spec.provider}/{spec.types[0]}/missing1"
    for method, suffix in (("POST", "/" + spec.actions[0].name), ("GET", "")):
        response = send(http, emu, sp_token, path + suffix, method, kind=kind)
        assert response.status_code == 404
        assert error_of(response)["code"] == "ResourceNotFound"
        assert error_of(response)["message"].startswith(
            f"The Resource '{spec.provider}/{spec.types[0]}/missing1' under resource group 'rg-broker' was not found."
        )


@pytest.mark.parametrize("kind", ["servicebus", "eventhubs"])
def test_missing_namespace_is_parent_not_found_and_missing_rule_not_found(http, emu, sp_token, sp_on_group, kind):
    spec = KINDS[kind]
    response = send(http, emu, sp_token, f"{sp_on_group}/providers/{spec.provider}/namespaces/nsmissing"
                    "/authorizationRules/r1/listKeys", kind=kind)  # fmt: skip
    assert response.status_code == 404 and error_of(response) == {
        "code": "ParentResourceNotFound",
        "message": "Can not perform requested operation on nested resource. Parent resource 'nsmissing' not found.",
    }
    path = emu.seed.resource_id(kind, SEEDED[kind], "no-such-rule") + "/listKeys"
    response = send(http, emu, sp_token, path, kind=kind)
    assert response.status_code == 404 and error_of(response)["code"] == "ResourceNotFound"


def test_missing_resource_group(http, emu, sp_token):
    seed = emu.seed
    emu.arm.assign_role(seed.sp_object_id, "Reader", scope=f"/subscriptions/{seed.subscription_id}")
    path = f"/subscriptions/{seed.subscription_id}/resourceGroups/rg-gone/providers/Microsoft.Cache/redis/r1"
    response = send(http, emu, sp_token, path, "GET", kind="redis")
    assert response.status_code == 404 and error_of(response) == {
        "code": "ResourceGroupNotFound",
        "message": "Resource group 'rg-gone' could not be found.",
    }


def test_missing_resource_without_a_role_is_403_first(http, emu, sp_token):
    response = send(http, emu, sp_token, action_path(emu, "redis", "listKeys", "redis-missing"), kind="redis")
    assert response.status_code == 403 and error_of(response)["code"] == "AuthorizationFailed"


def test_unknown_resource_type_and_methods(http, emu, sp_token):
    seed = emu.seed
    path = f"/subscriptions/{seed.subscription_id}/resourceGroups/rg-broker/providers/Microsoft.Storage/gadgets/g1"
    assert send(http, emu, sp_token, path, "GET", kind="storage").status_code == 404
    bogus = emu.seed.resource_id("redis", "redis-sessions") + "/listSecrets"
    assert error_of(send(http, emu, sp_token, bogus, kind="redis"))["code"] == "InvalidResourceType"
    listkeys = action_path(emu, "storage", "listKeys")
    assert send(http, emu, sp_token, listkeys, "GET", kind="storage").status_code == 405
    assert send(http, emu, sp_token, top_path(emu, "storage"), "POST", kind="storage").status_code == 405


def test_paths_are_case_insensitive(http, emu, sp_token):
    path = emu.seed.resource_id("servicebus", "sb-orders").replace("authorizationRules", "AuthorizationRules")
    response = send(http, emu, sp_token, path.replace("Microsoft.ServiceBus", "microsoft.servicebus") + "/LISTKEYS",
                    kind="servicebus")  # fmt: skip
    assert response.status_code == 200 and response.json()["keyName"] == "partner-send"


# ---------------------------------------------------------------------------- tokens
@pytest.mark.parametrize("kind", list(KINDS))
def test_missing_and_foreign_tokens_are_401(http, emu, kind):
    path = action_path(emu, kind, KINDS[kind].actions[0].name)
    response = send(http, emu, None, path, kind=kind)
    assert response.status_code == 401 and error_of(response)["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    vault_token = emu.entra.mint_caller_token(audience="https://vault.azure.net", app_id=emu.seed.client_id)
    response = send(http, emu, vault_token, path, kind=kind)
    assert response.status_code == 401 and error_of(response)["code"] == "InvalidAuthenticationTokenAudience"


# ---------------------------------------------------------------------------- throttling and faults
@pytest.mark.parametrize(("kind", "action"), ACTIONS)
def test_throttling_fault_answers_arm_429_with_retry_after(http, emu, sp_token, kind, action):
    operation = KINDS[kind].action(action).operation
    emu.faults.inject(operation, status=429, retry_after=2)
    response = send(http, emu, sp_token, action_path(emu, kind, action), kind=kind)
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert error_of(response)["code"] == "SubscriptionRequestsThrottled"
    assert "Number of 'write' requests for subscription" in error_of(response)["message"]
    assert send(http, emu, sp_token, action_path(emu, kind, action), kind=kind).status_code == 200
    assert emu.counters.get(operation) == 2


@pytest.mark.parametrize("kind", list(KINDS))
def test_get_faults_use_the_read_operation(http, emu, sp_token, kind):
    emu.faults.inject(KINDS[kind].read_operation, status=503)
    response = send(http, emu, sp_token, top_path(emu, kind), "GET", kind=kind)
    assert response.status_code == 503 and error_of(response)["code"] == "ServiceUnavailable"


def test_token_bucket_refuses_when_enforced(http, emu, sp_token):
    emu.arm.buckets = {"reads": (2.0, 0.5), "writes": (2.0, 0.5)}
    path = action_path(emu, "redis", "listKeys")
    remaining = [send(http, emu, sp_token, path, kind="redis").headers["x-ms-ratelimit-remaining-subscription-writes"]
                 for _ in range(2)]  # fmt: skip
    assert remaining == ["1", "0"]
    assert send(http, emu, sp_token, path, kind="redis").status_code == 200  # counted, not enforced
    emu.arm.enforce_rate_limits = True
    response = send(http, emu, sp_token, path, kind="redis")
    assert response.status_code == 429 and error_of(response)["code"] == "SubscriptionRequestsThrottled"
    assert int(response.headers["Retry-After"]) >= 1
    # Reads have their own bucket.
    assert send(http, emu, sp_token, top_path(emu, "redis"), "GET", kind="redis").status_code == 200


# ---------------------------------------------------------------------------- control API
def test_control_api_creates_a_resource_with_its_keys_and_toggles_local_auth(http, emu, sp_token):
    control = emu.urls["control"]
    body = {"kind": "storage", "name": "stglegacy", "keys": {"key1": "k1", "key2": "k2"}}
    created = http.post(control + "/_emulator/arm/resources", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == emu.seed.resource_id("storage", "stglegacy")
    assigned = http.post(control + "/_emulator/arm/role-assignments",
                         json={"principal_id": emu.seed.sp_object_id, "role": emu.arm.broker_role.id,
                               "kind": "storage", "name": "stglegacy"})  # fmt: skip
    assert assigned.status_code == 201, assigned.text
    body = send(http, emu, sp_token, action_path(emu, "storage", "listKeys", "stglegacy"), kind="storage").json()
    assert [k["value"] for k in body["keys"]] == ["k1", "k2"]
    toggled = http.patch(control + "/_emulator/arm/resources",
                         json={"kind": "storage", "name": "stglegacy", "local_auth": False})  # fmt: skip
    assert toggled.status_code == 200 and toggled.json()["localAuth"] is False
    got = send(http, emu, sp_token, top_path(emu, "storage", "stglegacy"), "GET", kind="storage").json()
    assert got["properties"]["allowSharedKeyAccess"] is False
    listed = http.get(control + "/_emulator/arm/resources").json()
    assert {"storage", "servicebus", "cognitiveservices"} <= {r["kind"] for r in listed}
    assert all("keys" not in r for r in listed)


def test_control_api_custom_role_and_refusals(http, emu, stranger_token):
    control = emu.urls["control"]
    defined = http.post(control + "/_emulator/arm/role-definitions",
                        json={"name": "Redis keys", "actions": ["Microsoft.Cache/redis/listKeys/action"]})  # fmt: skip
    assert defined.status_code == 201
    http.post(control + "/_emulator/arm/role-assignments",
              json={"principal_id": emu.seed.caller_sp_object_id, "role": "Redis keys",
                    "kind": "redis", "name": "redis-sessions"})  # fmt: skip
    assert send(http, emu, stranger_token, action_path(emu, "redis", "listKeys"), kind="redis").status_code == 200
    removed = http.delete(control + "/_emulator/arm/role-assignments",
                          json={"principal_id": emu.seed.caller_sp_object_id, "role": "Redis keys",
                                "kind": "redis", "name": "redis-sessions"})  # fmt: skip
    assert removed.json() == {"removed": 1}
    assert send(http, emu, stranger_token, action_path(emu, "redis", "listKeys"), kind="redis").status_code == 403
    for body in ({"kind": "blob", "name": "x"}, {"kind": "servicebus", "name": "ns1"}, {"kind": "storage"}):
        assert http.post(control + "/_emulator/arm/resources", json=body).status_code == 400
    settings = control + "/_emulator/arm/settings"
    assert http.patch(settings, json={"enforce_rate_limits": "yes"}).status_code == 400
    assert http.patch(settings, json={"page_size": 0}).status_code == 400
    assert http.patch(settings, json={"page_size": 1}).json() == {"enforce_rate_limits": False, "page_size": 1}
    assert emu.arm.page_size == 1


@pytest.mark.parametrize(("kind", "action"), [("search", "listQueryKeys"), ("appconfig", "listKeys")])
def test_paged_answers_link_the_next_page_with_a_skip_token(http, emu, sp_token, kind, action):
    emu.arm.page_size = 1
    whole = emu.arm.answer(kind, SEEDED[kind], action)["value"]
    pages, path, params = [], action_path(emu, kind, action), {"api-version": KINDS[kind].api_versions[0]}
    url = emu.urls["management"] + path
    while url:
        response = http.post(url, params=params, headers={"Authorization": f"Bearer {sp_token}"})
        assert response.status_code == 200, response.text
        pages.append(response.json()["value"])
        url, params = response.json()["nextLink"], None
        if url:
            assert url.startswith(emu.urls["management"] + path + "?api-version=") and "$skipToken=" in url
    assert [len(page) for page in pages] == [1] * len(whole)
    assert [entry for page in pages for entry in page] == whole
    bad = send(http, emu, sp_token, path + "?$skipToken=x", kind=kind)
    assert bad.status_code == 400 and error_of(bad)["code"] == "InvalidSkipToken"


def test_grant_permissions_and_revoke_all(http, emu, sp_token):
    assert emu.arm.revoke_all("cognitiveservices", "oai-tools") == 2  # SP and system MI
    path = action_path(emu, "cognitiveservices", "listKeys")
    assert send(http, emu, sp_token, path, kind="cognitiveservices").status_code == 403
    emu.arm.grant_permissions("cognitiveservices", "oai-tools", [KINDS["cognitiveservices"].actions[0].permission])
    assert send(http, emu, sp_token, path, kind="cognitiveservices").json() == emu.arm.answer(
        "cognitiveservices", "oai-tools", "listKeys"
    )
    get = send(http, emu, sp_token, top_path(emu, "cognitiveservices"), "GET", kind="cognitiveservices")
    assert get.status_code == 403
