"""The key kinds table, RESOURCE_KEYS parsing, the route values, the caller roles and the key service's
caches (pure logic with a played-back ARM; HTTP, RBAC and the real answers are covered end to end in
tests/e2e/test_resource_keys.py)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from shared.callers import KEYS_ROLES, holds_any, key_roles, resource_role
from shared.contract.resource_keys import answer_schema_name
from shared.downstream import LocalAuthDisabled, ResourceKeysService
from shared.errors import BadRequest, NotFound, UpstreamFailed
from shared.key_kinds import (
    KINDS,
    KeyType,
    UnsupportedResourceId,
    parse_key_request,
    parse_resource_id,
)
from shared.settings import load_settings

SUB = "00000000-0000-0000-0000-00000000abcd"
RG = "rg-app"


def arm_id(provider_type: str, name: str, child: str = "") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{provider_type}/{name}{child}"


IDS = {
    "cosmos": arm_id("Microsoft.DocumentDB/databaseAccounts", "cosmos-orders"),
    "storage": arm_id("Microsoft.Storage/storageAccounts", "stgorders"),
    "servicebus": arm_id("Microsoft.ServiceBus/namespaces", "sb-orders", "/authorizationRules/partner-send"),
    "eventhubs": arm_id("Microsoft.EventHub/namespaces", "evh-telemetry", "/authorizationRules/ingest"),
    "redis": arm_id("Microsoft.Cache/redis", "redis-sessions"),
    "search": arm_id("Microsoft.Search/searchServices", "srch-catalog"),
    "cognitiveservices": arm_id("Microsoft.CognitiveServices/accounts", "oai-tools"),
    "appconfig": arm_id("Microsoft.AppConfiguration/configurationStores", "appcs-settings"),
}
NAMES = {kind: resource_id.split("/")[8] for kind, resource_id in IDS.items()}

# ------------------------------------------------------------------ the table

# AZURE-PROTOCOLS.md §12: the latest stable api-versions (bicep-types-az, 2026-12-07).
API_VERSIONS = {
    "cosmos": "2025-10-15",
    "storage": "2026-04-01",
    "servicebus": "2026-01-01",
    "eventhubs": "2026-01-01",
    "redis": "2024-11-01",
    "search": "2025-05-01",
    "cognitiveservices": "2026-07-01",
    "appconfig": "2024-06-01",
}
# SPEC "Resource keys": the action per key type (None: no read-only keys).
ACTIONS = {
    "cosmos": ("readonlykeys", "listKeys"),
    "storage": (None, "listKeys"),
    "servicebus": (None, "listKeys"),
    "eventhubs": (None, "listKeys"),
    "redis": (None, "listKeys"),
    "search": ("listQueryKeys", "listAdminKeys"),
    "cognitiveservices": (None, "listKeys"),
    "appconfig": ("listKeys", "listKeys"),
}
LOCAL_AUTH = {
    "cosmos": ("disableLocalAuth", True, False),
    "storage": ("allowSharedKeyAccess", False, False),
    "servicebus": ("disableLocalAuth", True, True),
    "eventhubs": ("disableLocalAuth", True, True),
    "redis": ("disableAccessKeyAuthentication", True, False),
    "search": ("disableLocalAuth", True, False),
    "cognitiveservices": ("disableLocalAuth", True, False),
    "appconfig": ("disableLocalAuth", True, False),
}


def test_the_table_holds_exactly_the_spec_kinds():
    assert set(KINDS) == set(API_VERSIONS)


@pytest.mark.parametrize("kind", sorted(API_VERSIONS))
def test_each_kind_has_its_api_version_actions_and_local_auth_rule(kind):
    entry = KINDS[kind]
    assert entry.api_version == API_VERSIONS[kind]
    readonly, readwrite = ACTIONS[kind]
    assert (entry.action(KeyType.READONLY).name if entry.action(KeyType.READONLY) else None) == readonly
    assert entry.action(KeyType.READWRITE).name == readwrite
    assert entry.has_read_only_keys is (readonly is not None)
    prop, off_when, on_parent = LOCAL_AUTH[kind]
    assert (entry.local_auth.property, entry.local_auth.off_when, entry.local_auth.on_parent) == (
        prop,
        off_when,
        on_parent,
    )
    assert entry.data_plane_roles  # named in the 409
    for action in entry.actions.values():
        assert action.answer_schema and action.example
        assert entry.rbac_action(action).endswith(f"/{action.name}/action")
    assert entry.rbac_read == f"{entry.provider}/{entry.resource_type}/read"


def test_rule_kinds_need_the_rule_action_and_read_the_namespace():
    sb = KINDS["servicebus"]
    assert sb.rbac_action(sb.actions[KeyType.READWRITE]) == (
        "Microsoft.ServiceBus/namespaces/authorizationRules/listKeys/action"
    )
    assert sb.rbac_read == "Microsoft.ServiceBus/namespaces/read"


# ------------------------------------------------------------------ RESOURCE_KEYS entries


@pytest.mark.parametrize("kind", sorted(IDS))
def test_every_kind_parses_from_its_arm_id(kind):
    resource = parse_resource_id(IDS[kind])
    assert resource.kind.kind == kind
    assert resource.name == NAMES[kind]
    assert resource.subscription_id == SUB
    assert resource.resource_id == IDS[kind]
    assert resource.key == (kind, NAMES[kind].lower())


def test_a_rule_reads_local_auth_from_its_namespace():
    resource = parse_resource_id(IDS["servicebus"])
    assert resource.child == "partner-send"
    assert resource.local_auth_id == IDS["servicebus"].split("/authorizationRules/")[0]
    assert resource.action_path(resource.kind.actions[KeyType.READWRITE]) == IDS["servicebus"] + "/listKeys"
    storage = parse_resource_id(IDS["storage"])
    assert storage.local_auth_id == storage.resource_id


def test_arm_ids_are_case_insensitive_and_keep_the_kinds_spelling():
    resource = parse_resource_id(IDS["storage"].lower().replace("resourcegroups", "RESOURCEGROUPS") + "/")
    assert resource.kind.kind == "storage"
    assert "/providers/Microsoft.Storage/storageAccounts/stgorders" in resource.resource_id
    cosmos = parse_resource_id(IDS["cosmos"].replace("cosmos-orders", "Cosmos-Orders"))
    assert cosmos.name == "cosmos-orders"  # Cosmos DB account names are lowercase


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not-an-id", "ARM resource ID"),
        (arm_id("Microsoft.KeyVault/vaults", "kv1"), "Microsoft.KeyVault/vaults is not one"),
        (arm_id("Microsoft.Storage/storageAccounts", "Stg_Orders"), "3 to 24 lowercase"),
        (arm_id("Microsoft.Storage/storageAccounts", "st"), "3 to 24 lowercase"),
        (arm_id("Microsoft.ServiceBus/namespaces", "sb-orders"), "is not one"),  # a namespace, not a rule
        (arm_id("Microsoft.ServiceBus/namespaces", "sb", "/authorizationRules/r"), "6 to 50"),
        (arm_id("Microsoft.Storage/storageAccounts", "stgorders", "/blobServices/default"), "is not one"),
        (f"/subscriptions/not-a-guid/resourceGroups/{RG}/providers/Microsoft.Cache/redis/r1", "ARM resource ID"),
        (IDS["redis"] + "\n", None),  # stripped: a trailing newline is whitespace, not part of the name
    ],
)
def test_unsupported_entries_are_named(value, reason):
    if reason is None:
        assert parse_resource_id(value).name == "redis-sessions"
        return
    with pytest.raises(UnsupportedResourceId, match=re.escape(reason)):
        parse_resource_id(value)


def _settings(**environ):
    return load_settings(environ)


def test_resource_keys_lists_every_kind_and_cosmos_account_ids_count_as_listed():
    cosmos_b = arm_id("Microsoft.DocumentDB/databaseAccounts", "cosmos-b")
    s = _settings(
        RESOURCE_KEYS=",".join(v for k, v in IDS.items()) + ", ",
        COSMOS_ACCOUNT_IDS=f"{cosmos_b},{IDS['cosmos']}",  # cosmos-orders in both: one resource
    )
    assert not s.problem_for("RESOURCE_KEYS", "COSMOS_ACCOUNT_IDS")
    assert sorted(r.key for r in s.resource_keys) == sorted([(k, NAMES[k]) for k in IDS] + [("cosmos", "cosmos-b")])


@pytest.mark.parametrize(
    "environ",
    [
        {"RESOURCE_KEYS": arm_id("Microsoft.KeyVault/vaults", "kv1")},
        {"RESOURCE_KEYS": f"{IDS['storage']},{IDS['storage'].replace(RG, 'rg-other')}"},
        {
            "RESOURCE_KEYS": IDS["servicebus"],
            "COSMOS_ACCOUNT_IDS": "",
        }
        | {"RESOURCE_KEYS": IDS["servicebus"] + "," + IDS["servicebus"].replace("partner-send", "other")},
        {"RESOURCE_KEYS": IDS["cosmos"], "COSMOS_ACCOUNT_IDS": IDS["cosmos"].replace(RG, "rg-other")},
    ],
    ids=["unsupported-type", "same-name-two-groups", "two-rules-one-namespace", "cosmos-in-both-settings"],
)
def test_a_bad_entry_or_two_of_one_kind_with_one_name_is_a_problem_naming_resource_keys(environ):
    s = _settings(**environ)
    assert [p.setting for p in s.problem_for("RESOURCE_KEYS")] == ["RESOURCE_KEYS"]
    assert s.resource_keys == ()  # fails closed: nothing is served


def test_same_name_in_two_kinds_is_fine():
    other = arm_id("Microsoft.Cache/redis", "stgorders")
    s = _settings(RESOURCE_KEYS=f"{IDS['storage']},{other}")
    assert not s.problem_for("RESOURCE_KEYS") and len(s.resource_keys) == 2


@pytest.mark.parametrize(
    ("environ", "resource", "cosmos"),
    [
        ({}, 60, 60),
        ({"RESOURCE_KEYS_CACHE_SECONDS": "0"}, 0, 0),
        ({"RESOURCE_KEYS_CACHE_SECONDS": "30", "COSMOS_KEYS_CACHE_SECONDS": "0"}, 30, 0),
        ({"COSMOS_KEYS_CACHE_SECONDS": "15"}, 60, 15),
    ],
)
def test_cache_seconds_default_60_and_cosmos_keeps_its_own_setting(environ, resource, cosmos):
    s = _settings(**environ)
    assert (s.resource_keys_cache_seconds, s.cosmos_keys_cache_seconds) == (resource, cosmos)


@pytest.mark.parametrize("value", ["-1", "soon", "86401"])
def test_invalid_cache_seconds_is_a_problem(value):
    assert _settings(RESOURCE_KEYS_CACHE_SECONDS=value).problem_for("RESOURCE_KEYS_CACHE_SECONDS")


# ------------------------------------------------------------------ route values


def test_route_values_default_to_readonly_where_the_kind_has_it():
    kind, name, key_type = parse_key_request("search", "srch-catalog", None)
    assert (kind.kind, name, key_type) == ("search", "srch-catalog", KeyType.READONLY)


@pytest.mark.parametrize(
    ("kind", "name", "key_type", "says"),
    [
        ("vault", "x", None, "kind must be one of"),
        ("Storage", "stgorders", None, "kind must be one of"),
        ("storage", "STGORDERS", "readwrite", "3 to 24 lowercase"),
        ("storage", "stg/orders", "readwrite", "3 to 24 lowercase"),
        ("storage", "stgorders\n", "readwrite", "3 to 24 lowercase"),
        ("servicebus", "sb", "readwrite", "6 to 50"),
        ("storage", "stgorders", None, "no read-only keys"),
        ("storage", "stgorders", "readonly", "no read-only keys"),
        ("redis", "redis-sessions", "", "'readonly' or 'readwrite'"),
        ("redis", "redis-sessions", "ReadWrite", "'readonly' or 'readwrite'"),
    ],
)
def test_bad_route_values_are_400s(kind, name, key_type, says):
    with pytest.raises(BadRequest, match=re.escape(says)):
        parse_key_request(kind, name, key_type)


@pytest.mark.parametrize("kind", sorted(k for k, (ro, _) in ACTIONS.items() if ro is None))
def test_readonly_is_refused_for_every_kind_without_read_only_keys(kind):
    with pytest.raises(BadRequest):
        parse_key_request(kind, NAMES[kind], None)
    assert parse_key_request(kind, NAMES[kind], "readwrite")[2] is KeyType.READWRITE


# ------------------------------------------------------------------ roles


def test_readwrite_includes_read_and_per_resource_roles_cover_one_resource():
    storage = parse_resource_id(IDS["storage"])
    search = parse_resource_id(IDS["search"])
    assert resource_role(KeyType.READONLY, "search", "srch-catalog") == "Keys.Read:search/srch-catalog"
    read_search = key_roles(search, KeyType.READONLY)
    assert {"Keys.Read", "Keys.ReadWrite", "Keys.Read:search/srch-catalog", "Keys.ReadWrite:search/srch-catalog"} == (
        read_search
    )
    assert key_roles(storage, KeyType.READWRITE) == {"Keys.ReadWrite", "Keys.ReadWrite:storage/stgorders"}
    # One resource's role never reaches another's.
    assert not holds_any(frozenset({"Keys.ReadWrite:storage/stgorders"}), read_search)
    assert not holds_any(frozenset({"Keys.Read:search/srch-catalog"}), key_roles(search, KeyType.READWRITE))


def test_cosmos_roles_keep_covering_cosmos_accounts_only():
    cosmos = parse_resource_id(IDS["cosmos"])
    assert holds_any(frozenset({"CosmosKeys.Read"}), key_roles(cosmos, KeyType.READONLY))
    assert not holds_any(frozenset({"CosmosKeys.Read"}), key_roles(cosmos, KeyType.READWRITE))
    assert holds_any(frozenset({"CosmosKeys.ReadWrite"}), key_roles(cosmos, KeyType.READWRITE))
    assert not holds_any(
        frozenset({"CosmosKeys.ReadWrite"}), key_roles(parse_resource_id(IDS["redis"]), KeyType.READWRITE)
    )


@pytest.mark.parametrize(
    ("roles", "admitted"),
    [
        ({"Keys.Read"}, True),
        ({"Keys.ReadWrite:redis/redis-sessions"}, True),
        ({"Keys.Read:search/x"}, True),
        ({"CosmosKeys.Read"}, True),
        ({"Keys.Read:"}, False),  # a prefix alone names no resource
        ({"Keys.Reader"}, False),
        ({"Users.Read", "Diagnostics.Read"}, False),
        (set(), False),
    ],
)
def test_the_route_admits_any_keys_role_before_judging_the_resource(roles, admitted):
    assert holds_any(frozenset(roles), KEYS_ROLES) is admitted


# ------------------------------------------------------------------ the service's caches


class PlayedArm:
    """Answers like ARM does for one resource (GET: properties; POST: keys), counting each call."""

    def __init__(self, answers=None, *, properties=None, delay=0.0):
        self.answers = answers or {}
        self.properties = properties if properties is not None else {}
        self.delay = delay
        self.calls = []
        self._lock = threading.Lock()

    def request(self, method, path_or_url, *, params=None, action="", hints=None, link_path=None, **kwargs):
        with self._lock:
            self.calls.append((method, path_or_url, params, link_path))
        time.sleep(self.delay)
        if method == "GET":
            return {"id": path_or_url, "properties": dict(self.properties)}
        key = path_or_url.rsplit("/", 1)[-1] if link_path is None else path_or_url
        answer = self.answers[key]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def count(self, method):
        return sum(1 for call in self.calls if call[0] == method)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def service(kind, arm, *, cache=60, clock=None):
    resource = parse_resource_id(IDS[kind])
    svc = ResourceKeysService(
        arm=arm, resources=(resource,), cache_seconds=lambda _: cache, principal="the app", clock=clock or Clock()
    )
    return svc, resource


def test_keys_are_the_answer_verbatim_with_the_kinds_api_version():
    answer = {"key1": "k1", "key2": "k2", "extra": {"kept": True}}
    arm = PlayedArm({"listKeys": answer})
    svc, resource = service("cognitiveservices", arm)
    assert svc.keys(resource, KeyType.READWRITE) == answer
    get, post = arm.calls
    assert get == ("GET", resource.resource_id, {"api-version": "2026-07-01"}, None)
    assert post == ("POST", resource.resource_id + "/listKeys", {"api-version": "2026-07-01"}, None)


def test_unlisted_resources_are_404_without_a_call():
    arm = PlayedArm()
    svc, _ = service("storage", arm)
    with pytest.raises(NotFound):
        svc.resource(KINDS["storage"], "stgother")
    assert svc.resource(KINDS["storage"], "STGORDERS").name == "stgorders"  # names compare case-insensitively
    assert arm.calls == []


@pytest.mark.parametrize(
    ("kind", "properties", "off"),
    [
        ("storage", {"allowSharedKeyAccess": False}, True),
        ("storage", {"allowSharedKeyAccess": True}, False),
        ("storage", {}, False),  # absent: ARM's default, keys work
        ("storage", {"allowSharedKeyAccess": None}, False),
        ("redis", {"disableAccessKeyAuthentication": True}, True),
        ("redis", {"disableLocalAuth": True}, False),  # not Redis's property
        ("servicebus", {"disableLocalAuth": True}, True),
    ],
)
def test_local_auth_is_read_from_the_kinds_property(kind, properties, off):
    arm = PlayedArm({"listKeys": {"primaryKey": "p", "secondaryKey": "s", "keyName": "r", "keys": [], "value": []}})
    arm.properties = properties
    svc, resource = service(kind, arm)
    if off:
        with pytest.raises(LocalAuthDisabled) as caught:
            svc.keys(resource, KeyType.READWRITE)
        problem = caught.value.to_problem()
        assert problem["status"] == 409
        assert problem["type"].endswith("/local-auth-disabled")
        assert resource.kind.data_plane_roles in problem["detail"]
        assert SUB not in problem["detail"] and RG not in problem["detail"] and "/" not in problem["detail"]
        assert arm.count("POST") == 0  # no key is fetched
    else:
        svc.keys(resource, KeyType.READWRITE)
        assert arm.count("POST") == 1
    assert arm.calls[0][1] == resource.local_auth_id


def test_local_auth_is_cached_five_minutes_apart_from_the_key_cache():
    clock = Clock()
    arm = PlayedArm({"listKeys": {"primaryKey": "p", "secondaryKey": "s"}})
    svc, resource = service("redis", arm, cache=0, clock=clock)
    for _ in range(3):
        svc.keys(resource, KeyType.READWRITE)
    assert (arm.count("GET"), arm.count("POST")) == (1, 3)  # cache 0: one ARM call per warm request
    clock.now += 299
    svc.keys(resource, KeyType.READWRITE)
    assert arm.count("GET") == 1
    arm.properties = {"disableAccessKeyAuthentication": True}
    clock.now += 2
    with pytest.raises(LocalAuthDisabled):
        svc.keys(resource, KeyType.READWRITE)
    assert arm.count("GET") == 2


def test_key_cache_keeps_keys_for_its_time_then_asks_again():
    clock = Clock()
    arm = PlayedArm({"listKeys": {"primaryKey": "p", "secondaryKey": "s"}})
    svc, resource = service("redis", arm, cache=60, clock=clock)
    svc.keys(resource, KeyType.READWRITE)
    clock.now += 59
    svc.keys(resource, KeyType.READWRITE)
    assert arm.count("POST") == 1
    clock.now += 2
    svc.keys(resource, KeyType.READWRITE)
    assert arm.count("POST") == 2


def test_concurrent_misses_share_one_get_and_one_key_call():
    arm = PlayedArm({"listAdminKeys": {"primaryKey": "p", "secondaryKey": "s"}}, delay=0.2)
    svc, resource = service("search", arm)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(svc.keys(resource, KeyType.READWRITE))) for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16 and all(r == {"primaryKey": "p", "secondaryKey": "s"} for r in results)
    assert (arm.count("GET"), arm.count("POST")) == (1, 1)


def test_a_failure_is_not_cached():
    arm = PlayedArm({"listKeys": UpstreamFailed("ARM answered 403", upstream="arm")})
    svc, resource = service("storage", arm)
    for _ in range(2):
        with pytest.raises(UpstreamFailed):
            svc.keys(resource, KeyType.READWRITE)
    assert arm.count("POST") == 2 and arm.count("GET") == 1


def _entry(name, read_only):
    return {"id": name, "name": name, "value": f"v-{name}", "connectionString": "c", "readOnly": read_only}


def test_appconfig_readonly_is_the_read_only_entries_of_one_shared_listkeys_call():
    entries = [_entry("Primary", False), _entry("Secondary", False), _entry("Primary Read Only", True)]
    arm = PlayedArm({"listKeys": {"value": entries}})
    svc, resource = service("appconfig", arm)
    assert svc.keys(resource, KeyType.READONLY) == {"value": [entries[2]]}
    assert svc.keys(resource, KeyType.READWRITE) == {"value": entries}
    assert arm.count("POST") == 1  # one action serves both key types


def test_pages_are_followed_on_the_actions_own_path_and_joined():
    resource_id = IDS["search"]
    link = f"https://management.azure.com{resource_id}/listQueryKeys?api-version=2025-05-01&$skipToken=p2"
    arm = PlayedArm(
        {
            "listQueryKeys": {"value": [{"name": "a", "key": "1"}], "nextLink": link},
            link: {"value": [{"name": "b", "key": "2"}], "nextLink": None},
        }
    )
    svc, resource = service("search", arm)
    joined = {"value": [{"name": "a", "key": "1"}, {"name": "b", "key": "2"}], "nextLink": None}
    assert svc.keys(resource, KeyType.READONLY) == joined
    follow = arm.calls[-1]
    # The link is sent as given (its own query), checked against the action's path.
    assert follow == ("POST", link, None, resource_id + "/listQueryKeys")


def test_an_endless_chain_of_pages_is_a_502():
    link = "https://management.azure.com/x?$skipToken=again"
    arm = PlayedArm({"listQueryKeys": {"value": [], "nextLink": link}, link: {"value": [], "nextLink": link}})
    svc, resource = service("search", arm)
    with pytest.raises(UpstreamFailed, match="more than 50 pages"):
        svc.keys(resource, KeyType.READONLY)


@pytest.mark.parametrize(
    "answer", [{"value": "nope"}, {"value": [], "nextLink": 7}, ["not", "an", "object"]], ids=["value", "link", "list"]
)
def test_malformed_answers_are_502s(answer):
    arm = PlayedArm({"listKeys": answer})
    svc, resource = service("appconfig", arm)
    with pytest.raises(UpstreamFailed):
        svc.keys(resource, KeyType.READWRITE)


def test_a_get_without_properties_is_a_502_not_a_guess():
    arm = PlayedArm({"listKeys": {}})
    arm.request_get = arm.request

    def no_properties(method, path_or_url, **kwargs):
        if method == "GET":
            return {"id": path_or_url}
        return arm.request_get(method, path_or_url, **kwargs)

    arm.request = no_properties
    svc, resource = service("storage", arm)
    with pytest.raises(UpstreamFailed, match="without its properties"):
        svc.keys(resource, KeyType.READWRITE)


@pytest.mark.parametrize(
    ("kind", "properties"),
    [
        ("appconfig", {"disableLocalAuth": "true"}),
        ("storage", {"allowSharedKeyAccess": "false"}),
        ("storage", {"allowSharedKeyAccess": 0}),
        ("redis", {"disableAccessKeyAuthentication": 1}),
    ],
)
def test_a_local_auth_property_that_is_not_a_boolean_is_a_502_and_no_key_is_fetched(kind, properties):
    # Security review (issues 16, 17): read as "keys work", a string "true" served keys past local auth off.
    arm = PlayedArm({"listKeys": {"value": [], "keys": [], "primaryKey": "p", "secondaryKey": "s"}})
    arm.properties = properties
    svc, resource = service(kind, arm)
    with pytest.raises(UpstreamFailed, match="not a boolean"):
        svc.keys(resource, KeyType.READWRITE if kind != "appconfig" else KeyType.READONLY)
    assert arm.count("POST") == 0


# ------------------------------------------------------------------ the contract's schemas


def test_every_example_is_valid_and_its_keys_are_its_own_kinds_answer():
    from jsonschema import Draft202012Validator

    from shared.openapi import build_document

    document = build_document()
    components = document["components"]["schemas"]
    operation = document["paths"]["/keys/{kind}/{name}"]["get"]
    examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
    answers = components["ResourceKeys"]["x-key-answers"]
    # The documented union: every kind, exactly its key types (storage has no readonly answer).
    assert answers == {
        kind: {str(t): f"#/components/schemas/{answer_schema_name(entry, t)}" for t in entry.actions}
        for kind, entry in KINDS.items()
    }
    assert {(e["value"]["kind"], e["value"]["type"]) for e in examples.values()} == {
        (kind, t) for kind, types in answers.items() for t in types
    }

    def validator(ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": ref, "components": {"schemas": components}})

    whole = validator("#/components/schemas/ResourceKeys")
    for name, example in examples.items():
        value = example["value"]
        assert whole.is_valid(value), (name, [e.message for e in whole.iter_errors(value)])
        own = validator(answers[value["kind"]][value["type"]])
        assert own.is_valid(value["keys"]), (name, [e.message for e in own.iter_errors(value["keys"])])


def test_an_answer_schema_refuses_another_kinds_answer():
    from jsonschema import Draft202012Validator

    from shared.openapi import build_document

    components = build_document()["components"]["schemas"]
    storage = Draft202012Validator(
        {"$ref": "#/components/schemas/StorageListKeysAnswer", "components": {"schemas": components}}
    )
    assert storage.is_valid({"keys": [{"keyName": "key1", "value": "v", "permissions": "FULL"}]})
    assert not storage.is_valid({"key1": "a", "key2": "b"})  # a Cognitive Services answer
