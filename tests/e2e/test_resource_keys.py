"""GET /api/keys/{kind}/{name} end to end: the host on Microsoft's worker runtime, the real SDKs, the emulator's
ARM for every kind (its RBAC, local-auth properties, api-versions, faults and counters)."""

from __future__ import annotations

import json

import pytest

from emulator.resource_kinds import KINDS as EMULATED
from tests.e2e.conftest import bearer
from tests.helpers import concurrently

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"

# The seeded resources (emulator/seed.py): kind -> (name, action per key type, local auth GET operation).
SEEDED = {
    "cosmos": ("cosmos-orders", {"readonly": "readonlykeys", "readwrite": "listKeys"}),
    "storage": ("stgorders", {"readwrite": "listKeys"}),
    "servicebus": ("sb-orders", {"readwrite": "listKeys"}),
    "eventhubs": ("evh-telemetry", {"readwrite": "listKeys"}),
    "redis": ("redis-sessions", {"readwrite": "listKeys"}),
    "search": ("srch-catalog", {"readonly": "listQueryKeys", "readwrite": "listAdminKeys"}),
    "cognitiveservices": ("oai-tools", {"readwrite": "listKeys"}),
    "appconfig": ("appcs-settings", {"readonly": "listKeys", "readwrite": "listKeys"}),
}
CASES = [(kind, key_type) for kind, (_, actions) in SEEDED.items() for key_type in actions]


def operation(kind: str, action: str) -> str:
    """The emulator's counter for a kind's action (Cosmos keeps its historical names)."""
    return EMULATED[kind].action(action).operation


def get_operation(kind: str) -> str:
    """The emulator's counter for the GET of the resource (or of a rule's namespace)."""
    return EMULATED[kind].read_operation


def expected_answer(emu, kind: str, action: str, name: str | None = None) -> dict:
    """What the emulated ARM answers the action for the seeded resource, as JSON would carry it."""
    return json.loads(json.dumps(emu.arm.answer(kind, name or SEEDED[kind][0], action)))


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert response.headers["Cache-Control"] == "no-store"
    return body


def no_arm_call(emu):
    counters = emu.counters.snapshot()
    return not any(name.startswith("arm.") and count for name, count in counters.items())


# ------------------------------------------------------------------ every kind, verbatim


@pytest.mark.parametrize(("kind", "key_type"), CASES)
def test_keys_of_every_kind_are_the_arm_answer_verbatim(client, emu, kind, key_type):
    name, actions = SEEDED[kind]
    response = client.get(f"keys/{kind}/{name}", type=key_type)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert {k: body[k] for k in ("kind", "name", "type")} == {"kind": kind, "name": name, "type": key_type}
    expected = expected_answer(emu, kind, actions[key_type])
    if kind == "appconfig" and key_type == "readonly":
        expected["value"] = [entry for entry in expected["value"] if entry["readOnly"]]
        assert expected["value"] and len(expected["value"]) < len(expected_answer(emu, kind, "listKeys")["value"])
    assert body["keys"] == expected
    counters = emu.counters.snapshot()
    assert counters[operation(kind, actions[key_type])] == 1
    assert counters[get_operation(kind)] == 1  # local auth read once, on the resource (rules: the namespace)


def test_readonly_is_the_default_where_the_kind_has_read_only_keys(client, emu):
    body = client.get("keys/search/srch-catalog").json()
    assert body["type"] == "readonly"
    assert body["keys"] == expected_answer(emu, "search", "listQueryKeys")
    assert emu.counters.get(operation("search", "listAdminKeys")) == 0


@pytest.mark.parametrize("kind", [k for k, (_, actions) in SEEDED.items() if "readonly" not in actions])
@pytest.mark.parametrize("key_type", [None, "readonly"])
def test_readonly_of_a_kind_without_read_only_keys_is_400_before_any_call(client, emu, kind, key_type):
    params = {} if key_type is None else {"type": key_type}
    body = problem(client.get(f"keys/{kind}/{SEEDED[kind][0]}", **params), 400)
    assert "no read-only keys" in body["detail"]
    assert no_arm_call(emu)


def test_appconfig_readonly_and_readwrite_share_one_list_keys_call(client, emu):
    ro = client.get("keys/appconfig/appcs-settings").json()["keys"]["value"]
    rw = client.get("keys/appconfig/appcs-settings", type="readwrite").json()["keys"]["value"]
    assert all(entry["readOnly"] for entry in ro)
    assert any(not entry["readOnly"] for entry in rw) and {e["id"] for e in ro} < {e["id"] for e in rw}
    assert emu.counters.get(operation("appconfig", "listKeys")) == 1


# ------------------------------------------------------------------ refusals before any call


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("keys/vault/kv1", {}, 400),
        ("keys/Storage/stgorders", {"type": "readwrite"}, 400),
        ("keys/storage/STGORDERS", {"type": "readwrite"}, 400),
        ("keys/storage/stg_orders", {"type": "readwrite"}, 400),
        ("keys/servicebus/sb", {"type": "readwrite"}, 400),
        ("keys/redis/redis-sessions", {"type": ""}, 400),
        ("keys/redis/redis-sessions", {"type": "admin"}, 400),
        ("keys/storage/stgother", {"type": "readwrite"}, 404),
        ("keys/search/srch-other", {}, 404),
        ("keys/cosmos/cosmos-unknown", {}, 404),
    ],
)
def test_bad_route_values_and_unlisted_resources_are_refused_before_any_outbound_call(
    client, emu, path, params, status
):
    problem(client.get(path, **params), status)
    assert sum(emu.counters.snapshot().values()) == 0  # not even Key Vault or Entra


def test_unset_resource_keys_and_cosmos_accounts_is_503_naming_resource_keys(configure, emu):
    client = configure(RESOURCE_KEYS=None, COSMOS_ACCOUNT_IDS=None)
    body = problem(client.get("keys/storage/stgorders", type="readwrite"), 503)
    assert body["missing"] == ["RESOURCE_KEYS"]


def test_cosmos_account_ids_count_as_listed_cosmos_accounts(configure, emu):
    client = configure(RESOURCE_KEYS=None)
    response = client.get("keys/cosmos/cosmos-catalog")
    assert response.status_code == 200, response.text
    assert response.json()["keys"] == expected_answer(emu, "cosmos", "readonlykeys", "cosmos-catalog")


@pytest.mark.parametrize(
    "extra",
    [
        "/subscriptions/{sub}/resourceGroups/rg-broker/providers/Microsoft.KeyVault/vaults/kv-broker-emu",
        "/subscriptions/{sub}/resourceGroups/rg-other/providers/Microsoft.Storage/storageAccounts/stgorders",
    ],
    ids=["unsupported-type", "same-name-twice"],
)
def test_a_bad_resource_keys_entry_is_503_and_named_by_health(configure, emu, extra):
    listed = emu.seed.resource_keys + "," + extra.format(sub=emu.seed.subscription_id)
    client = configure(RESOURCE_KEYS=listed)
    body = problem(client.get("keys/storage/stgorders", type="readwrite"), 503)
    assert "RESOURCE_KEYS" in body["missing"]
    health = client.get("health", key=False)
    assert health.status_code == 503 and "RESOURCE_KEYS" in health.json()["missing"]
    assert sum(emu.counters.snapshot().values()) == 0


# ------------------------------------------------------------------ local authentication off


@pytest.mark.parametrize("kind", sorted(SEEDED))
def test_local_auth_off_is_409_with_no_key_and_the_data_plane_role(client, emu, kind):
    name, actions = SEEDED[kind]
    emu.arm.set_local_auth(kind, name, False)
    key_type = "readwrite"
    response = client.get(f"keys/{kind}/{name}", type=key_type)
    body = problem(response, 409)
    assert body["type"].endswith("/local-auth-disabled")
    assert "keys cannot be used" in body["detail"] and "data-plane role" in body["detail"]
    assert emu.seed.subscription_id not in response.text and "/subscriptions/" not in response.text
    for secret in emu.arm.resource(kind, name).secret_values():
        assert secret not in response.text
    assert emu.counters.get(operation(kind, actions[key_type])) == 0  # the key action is never called
    assert emu.counters.get(get_operation(kind)) == 1


def test_a_seeded_entra_only_account_is_409(configure, emu):
    rid = emu.seed.resource_id("cognitiveservices", "oai-entra-only")
    client = configure(RESOURCE_KEYS=rid)
    body = problem(client.get("keys/cognitiveservices/oai-entra-only", type="readwrite"), 409)
    assert "Cognitive Services OpenAI User" in body["detail"]


def test_the_cosmos_route_checks_local_auth_too(client, emu):
    emu.arm.set_local_auth("cosmos", "cosmos-orders", False)
    body = problem(client.get("cosmos/cosmos-orders/keys"), 409)
    assert "Cosmos DB Built-in Data Reader" in body["detail"]
    assert emu.counters.get("arm.readonlykeys") == 0


def test_local_auth_state_is_cached_apart_from_a_disabled_key_cache(configure, emu):
    client = configure(RESOURCE_KEYS_CACHE_SECONDS="0")
    for _ in range(4):
        assert client.get("keys/redis/redis-sessions", type="readwrite").status_code == 200
    assert emu.counters.get(operation("redis", "listKeys")) == 4  # key cache off: ARM each time
    assert emu.counters.get(get_operation("redis")) == 1  # the local-auth read is not repeated
    # Switched off later: still served from the cached state until it expires (5 minutes).
    emu.arm.set_local_auth("redis", "redis-sessions", False)
    assert client.get("keys/redis/redis-sessions", type="readwrite").status_code == 200


def test_warm_request_with_the_key_cache_off_makes_exactly_one_arm_call(configure, emu):
    client = configure(RESOURCE_KEYS_CACHE_SECONDS="0")
    assert client.get("keys/storage/stgorders", type="readwrite").status_code == 200
    before = {k: v for k, v in emu.counters.snapshot().items() if k.startswith("arm.")}
    assert client.get("keys/storage/stgorders", type="readwrite").status_code == 200
    after = {k: v for k, v in emu.counters.snapshot().items() if k.startswith("arm.")}
    delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert delta == {operation("storage", "listKeys"): 1}


def test_the_key_cache_serves_warm_requests_without_arm(client, emu):
    for _ in range(3):
        assert client.get("keys/eventhubs/evh-telemetry", type="readwrite").status_code == 200
    assert emu.counters.get(operation("eventhubs", "listKeys")) == 1
    assert emu.counters.get(get_operation("eventhubs")) == 1


# ------------------------------------------------------------------ single flight


def test_concurrent_misses_share_one_read_and_one_key_call(client, emu):
    assert client.get("keys/cosmos/cosmos-orders").status_code == 200  # warm the token; cache other resource
    emu.faults.inject(operation("search", "listAdminKeys"), delay=0.5, times=None)
    emu.faults.inject(get_operation("search"), delay=0.3, times=None)
    statuses = concurrently(12, lambda: client.get("keys/search/srch-catalog", type="readwrite").status_code)
    assert statuses == [200] * 12
    assert emu.counters.get(operation("search", "listAdminKeys")) == 1
    assert emu.counters.get(get_operation("search")) == 1


# ------------------------------------------------------------------ caller roles


@pytest.mark.parametrize(
    ("roles", "kind", "key_type", "status"),
    [
        (["Keys.Read"], "search", "readonly", 200),
        (["Keys.Read"], "search", "readwrite", 403),
        (["Keys.Read"], "storage", "readwrite", 403),
        (["Keys.ReadWrite"], "search", "readonly", 200),  # ReadWrite includes Read
        (["Keys.ReadWrite"], "storage", "readwrite", 200),
        (["Keys.ReadWrite:storage/stgorders"], "storage", "readwrite", 200),
        (["Keys.ReadWrite:storage/stgorders"], "redis", "readwrite", 403),  # one resource only
        (["Keys.Read:storage/stgorders"], "storage", "readwrite", 403),
        (["Keys.Read:search/srch-catalog"], "search", "readonly", 200),
        (["Keys.Read:search/srch-catalog"], "search", "readwrite", 403),
        (["Keys.ReadWrite:search/srch-catalog"], "search", "readonly", 200),
        (["Keys.Read:appconfig/appcs-settings"], "appconfig", "readonly", 200),
        (["CosmosKeys.Read"], "cosmos", "readonly", 200),
        (["CosmosKeys.Read"], "cosmos", "readwrite", 403),
        (["CosmosKeys.ReadWrite"], "cosmos", "readwrite", 200),
        (["CosmosKeys.ReadWrite"], "redis", "readwrite", 403),
        (["Keys.Read:cosmos/cosmos-orders"], "cosmos", "readonly", 200),
    ],
)
def test_caller_roles(protected, emu, audience, roles, kind, key_type, status):
    token = emu.entra.mint_caller_token(audience=audience, roles=roles)
    response = protected.get(f"keys/{kind}/{SEEDED[kind][0]}", headers=bearer(token), type=key_type)
    assert response.status_code == status, response.text
    if status == 403:
        assert no_arm_call(emu)  # refused before ARM


def test_without_any_keys_role_the_caller_is_403_before_the_route_values_are_judged(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    problem(protected.get("keys/vault/x", headers=bearer(token)), 403)


def test_authentication_comes_before_route_values(protected, emu):
    response = protected.get("keys/vault/x")
    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert sum(emu.counters.snapshot().values()) == 0


def test_route_values_come_before_the_resource_role(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["Keys.Read:search/srch-catalog"])
    problem(protected.get("keys/storage/stgorders", headers=bearer(token)), 400)  # storage: no readonly
    problem(protected.get("keys/search/srch-other", headers=bearer(token)), 404)
    problem(protected.get("keys/redis/redis-sessions", headers=bearer(token), type="readwrite"), 403)
    assert no_arm_call(emu)


# ------------------------------------------------------------------ ARM failures


def test_missing_key_permission_is_502_naming_the_action_without_ids(client, emu, caplog):
    caplog.set_level("INFO", logger="shared.http")
    emu.arm.revoke_all("redis", "redis-sessions")
    emu.arm.grant_permissions("redis", "redis-sessions", [EMULATED["redis"].read_permission])
    response = client.get("keys/redis/redis-sessions", type="readwrite")
    # The operator's line of the same failure names the principal and the resource path.
    (line,) = [r for r in caplog.records if r.name == "shared.http" and getattr(r, "hint", None)]
    assert emu.seed.client_id in line.hint and emu.arm.resource("redis", "redis-sessions").id in line.hint
    body = problem(response, 502)
    assert body["upstream"] == "arm" and body["code"] == "AuthorizationFailed"
    assert "Microsoft.Cache/redis" in body["detail"]
    assert emu.seed.subscription_id not in response.text and emu.seed.sp_object_id not in response.text
    assert emu.seed.client_id not in response.text


def test_missing_read_permission_is_502_naming_it_and_no_key_is_fetched(client, emu):
    emu.arm.revoke_all("storage", "stgorders")
    emu.arm.grant_permissions("storage", "stgorders", [EMULATED["storage"].action("listKeys").permission])
    body = problem(client.get("keys/storage/stgorders", type="readwrite"), 502)
    assert body["code"] == "AuthorizationFailed" and "Microsoft.Storage/storageAccounts/read" in body["detail"]
    assert emu.counters.get(operation("storage", "listKeys")) == 0


@pytest.mark.parametrize(
    ("kind", "key_type", "action"), [("search", "readonly", "listQueryKeys"), ("appconfig", "readwrite", "listKeys")]
)
def test_paged_answers_are_followed_and_joined(client, emu, kind, key_type, action):
    whole = expected_answer(emu, kind, action)
    emu.arm.page_size = 1
    body = client.get(f"keys/{kind}/{SEEDED[kind][0]}", type=key_type).json()
    assert len(whole["value"]) > 1
    assert body["keys"]["value"] == whole["value"] and body["keys"].get("nextLink") is None
    assert emu.counters.get(operation(kind, action)) == len(whole["value"])  # one POST per page


def test_arm_throttling_after_retries_is_503_with_retry_after(client, emu):
    emu.faults.inject(operation("storage", "listKeys"), status=429, retry_after=1, times=None)
    response = client.get("keys/storage/stgorders", type="readwrite")
    problem(response, 503)
    assert int(response.headers["Retry-After"]) >= 1


def test_arm_transient_failures_are_retried(client, emu):
    emu.faults.inject(get_operation("servicebus"), status=503, times=1)
    emu.faults.inject(operation("servicebus", "listKeys"), status=429, retry_after=1, times=1)
    response = client.get("keys/servicebus/sb-orders", type="readwrite")
    assert response.status_code == 200, response.text
    assert response.json()["keys"] == expected_answer(emu, "servicebus", "listKeys")


def test_arm_timeout_is_504(configure, emu):
    client = configure(UPSTREAM_TIMEOUT_SECONDS="1")
    emu.faults.inject(operation("cognitiveservices", "listKeys"), delay=3, times=None)
    body = problem(client.get("keys/cognitiveservices/oai-tools", type="readwrite"), 504)
    assert body["upstream"] == "arm"


def test_no_key_reaches_a_log_line(configure, emu, caplog):
    client = configure()
    caplog.set_level("DEBUG")
    for kind, key_type in CASES:
        assert client.get(f"keys/{kind}/{SEEDED[kind][0]}", type=key_type).status_code == 200
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in emu.arm.secret_values():
        assert secret not in logged


def test_a_per_resource_refusal_is_audited(protected, emu, audience, caplog):
    caplog.set_level("INFO", logger="shared.audit")
    token = emu.entra.mint_caller_token(audience=audience, roles=["Keys.Read:search/srch-catalog"])
    problem(protected.get("keys/search/srch-catalog", headers=bearer(token), type="readwrite"), 403)
    audit = [r for r in caplog.records if r.name == "shared.audit"]
    assert [(r.route, r.allowed) for r in audit] == [("resource-keys", True), ("resource-keys", False)]
    assert audit[-1].refusal_status == 403 and token not in caplog.text


def test_a_cosmos_account_listed_only_in_resource_keys_is_served_on_the_keys_route_only(configure, emu):
    client = configure(RESOURCE_KEYS=emu.seed.cosmos_account_id("cosmos-orders"), COSMOS_ACCOUNT_IDS=None)
    response = client.get("keys/cosmos/cosmos-orders", type="readwrite")
    assert response.status_code == 200, response.text
    assert response.json()["keys"] == expected_answer(emu, "cosmos", "listKeys")
    # The Cosmos route keeps its own setting (SPEC: unset COSMOS_ACCOUNT_IDS is a 503 naming it).
    assert problem(client.get("cosmos/cosmos-orders/keys"), 503)["missing"] == ["COSMOS_ACCOUNT_IDS"]
