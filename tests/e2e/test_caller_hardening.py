"""Caller tokens, hardened: application tokens only, no silent fail-open, authenticate first,
withdrawn signing keys stop being trusted, and the health endpoint names the mode."""

from __future__ import annotations

import functools
import logging
import time

import jwt
import pytest

import shared.runtime as runtime_module
from shared.callers.authentication import CallerAuthenticator
from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

USERS = ("graph/users", {"limit": "1"}, "Users.Read")


def assert_problem(response, status):
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


# --------------------------------------------------------------------------- app-only tokens
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param({"user": True}, id="delegated-scp-and-role"),
        pytest.param({"user": True, "issuer": "v1"}, id="delegated-v1"),
        pytest.param({"user": True, "idtyp": False}, id="delegated-without-idtyp"),
        pytest.param({"user": True, "scopes": ()}, id="user-with-role-no-scp"),
        pytest.param({"user": True, "scopes": (), "idtyp": False}, id="user-no-scp-no-idtyp"),
    ],
)
def test_a_token_acting_for_a_user_is_403_even_with_the_role(protected, emu, audience, kind):
    path, params, role = USERS
    token = emu.entra.mint_caller_token(audience=audience, roles=[role], **kind)
    problem = assert_problem(protected.get(path, headers=bearer(token), **params), 403)
    assert "not an application token" in problem["detail"]
    assert emu.counters.get("graph.users") == 0


@pytest.mark.parametrize("issuer", ["v1", "v2"])
def test_an_app_token_without_the_idtyp_claim_is_accepted_when_oid_is_sub(protected, emu, audience, issuer):
    path, params, role = USERS
    token = emu.entra.mint_caller_token(audience=audience, roles=[role], idtyp=False, issuer=issuer)
    assert protected.get(path, headers=bearer(token), **params).status_code == 200


def test_the_refusal_of_a_user_token_is_audited_without_the_token(protected, emu, audience, caplog):
    caplog.set_level(logging.INFO)
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"], user=True)
    protected.get("graph/users", headers=bearer(token), limit="1")
    audit = [r for r in caplog.records if r.name == "shared.audit"]
    assert audit and audit[-1].allowed is False and "scp" in audit[-1].getMessage()
    assert token not in caplog.text


# --------------------------------------------------------------------------- no silent fail-open
@pytest.mark.parametrize("value", ["", " ", ",", " , ", "api://broker,,other", "api://broker,"])
def test_a_caller_audience_naming_no_audience_is_a_503_everywhere(configure, emu, audience, value):
    client = configure(CALLER_AUDIENCE=value)
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read", "CosmosKeys.Read"])
    for path, params in (("graph/users", {}), ("cosmos/cosmos-orders/keys", {}), ("diagnostics", {})):
        for headers in ({}, bearer(token)):
            problem = assert_problem(client.get(path, headers=headers, **params), 503)
            assert "CALLER_AUDIENCE" in problem["missing"]
    health = client.get("health", key=False)
    assert health.status_code == 503
    assert health.json()["callerAuth"] == "entra"
    assert "CALLER_AUDIENCE" in health.json()["missing"]
    assert emu.counters.get("graph.users") == emu.counters.get("arm.readonlykeys") == 0


def test_health_names_the_caller_auth_mode_and_nothing_more(configure, emu, audience):
    body = configure().get("health", key=False).json()
    assert body == {"status": "ok", "callerAuth": "function-key"}
    body = configure(CALLER_AUDIENCE=f"{audience},{emu.seed.client_id}").get("health", key=False).json()
    assert body == {"status": "ok", "callerAuth": "entra"}
    text = str(body)
    assert audience not in text and emu.seed.client_id not in text and emu.seed.tenant_id not in text


# --------------------------------------------------------------------------- authenticate first
BAD_INPUTS = [
    pytest.param("cosmos/cosmos-orders/keys", {"type": "nope"}, id="bad-type"),
    pytest.param("cosmos/cosmos-orders/keys", {"type": ""}, id="empty-type"),
    pytest.param("cosmos/NOT_A_NAME/keys", {}, id="bad-account"),
    pytest.param("cosmos/unknown-account/keys", {}, id="unknown-account"),
    pytest.param("graph/users", {"limit": "0"}, id="bad-limit"),
    pytest.param("graph/users", {"select": "a,,b"}, id="bad-select"),
    pytest.param("diagnostics", {"x": "y"}, id="diagnostics"),
]


@pytest.mark.parametrize(("path", "params"), BAD_INPUTS)
def test_an_anonymous_caller_gets_401_before_any_input_is_judged(protected, emu, path, params):
    response = protected.get(path, **params)
    problem = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in problem["detail"].lower()


@pytest.mark.parametrize(("path", "params"), BAD_INPUTS)
def test_an_invalid_token_gets_401_before_any_input_is_judged(protected, emu, audience, path, params):
    token = emu.entra.mint_caller_token(audience=audience, roles=["CosmosKeys.ReadWrite"], signing_key="rogue")
    assert_problem(protected.get(path, headers=bearer(token), **params), 401)


def test_a_caller_without_any_role_of_the_route_gets_403_before_the_query_is_judged(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    problem = assert_problem(protected.get("cosmos/cosmos-orders/keys", headers=bearer(token), type="nope"), 403)
    assert "CosmosKeys" in problem["detail"]


def test_an_authorized_caller_gets_the_400_for_a_bad_query(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["CosmosKeys.Read"])
    assert_problem(protected.get("cosmos/cosmos-orders/keys", headers=bearer(token), type="nope"), 400)


def test_a_read_role_cannot_get_readwrite_keys(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["CosmosKeys.Read"])
    problem = assert_problem(protected.get("cosmos/cosmos-orders/keys", headers=bearer(token), type="readwrite"), 403)
    assert "CosmosKeys.ReadWrite" in problem["detail"]
    assert emu.counters.get("arm.listKeys") == 0


# Routes that take no caller token at all (function key or anonymous only), by SPEC.
NO_CALLER_TOKEN = {"health", "openapi"}


def _http_functions():
    import function_app

    function_app.app.functions_bindings = {}  # get_functions() may run once per index
    functions = []
    for function in function_app.app.get_functions():
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue  # timer and Event Grid functions take no caller token
        functions.append((function.get_function_name(), trigger, function.get_user_function()))
    function_app.app.functions_bindings = {}
    return functions


def test_every_http_route_declares_what_it_asks_of_callers():
    for name, _, handler in _http_functions():
        roles = getattr(handler, "caller_roles", "undeclared")
        assert roles != "undeclared", f"{name} is not wrapped by shared.http.route"
        assert (roles is None) == (name in NO_CALLER_TOKEN), name


def test_every_protected_route_answers_401_to_an_anonymous_caller_whatever_the_query(protected):
    # Walks the app's own routes, so a route added later is covered without editing this test.
    bad_query = {"type": "bad", "limit": "bad", "select": ",,", "dryRun": "bad", "registration": "bad"}
    checked = []
    for name, trigger, handler in _http_functions():
        if handler.caller_roles is None:
            continue
        path = "/".join("bad\nvalue" if part.startswith("{") else part for part in trigger.route.split("/"))
        for method in trigger.methods or ["GET"]:
            response = protected.request(str(getattr(method, "value", method)), path, **bad_query)
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            checked.append(name)
    assert {"cosmos_keys", "graph_users", "diagnostics", "rollover"} <= set(checked)


# --------------------------------------------------------------------------- withdrawn signing keys
@pytest.fixture
def short_jwks_interval(monkeypatch):
    """The runtime's authenticator with a 1 s JWKS refresh interval (constructor argument)."""
    monkeypatch.setattr(
        runtime_module,
        "CallerAuthenticator",
        functools.partial(CallerAuthenticator, jwks_refresh_seconds=1.0, jwks_cooldown_seconds=0.2),
    )


def test_a_withdrawn_signing_key_is_refused_after_the_refresh_interval(short_jwks_interval, protected, emu, audience):
    path, params, role = USERS
    old = emu.entra.mint_caller_token(audience=audience, roles=[role])
    old_kid = jwt.get_unverified_header(old)["kid"]
    # Roll first, so the function's own tokens (signed from now on by the new key) stay valid.
    emu.entra.add_signing_key()
    assert protected.get(path, headers=bearer(old), **params).status_code == 200  # both keys published
    assert protected.get(path, headers=bearer(old), **params).status_code == 200  # the set is cached
    emu.entra.withdraw_signing_key(old_kid)
    time.sleep(1.2)  # the refresh interval passes: the cached set (with the old key) expires
    problem = assert_problem(protected.get(path, headers=bearer(old), **params), 401)
    assert "key" in problem["detail"]
    fresh = emu.entra.mint_caller_token(audience=audience, roles=[role])
    assert protected.get(path, headers=bearer(fresh), **params).status_code == 200


def test_a_rolled_signing_key_is_trusted_at_once_and_unknown_kids_refetch_once_per_cooldown(configure, emu, audience):
    client = configure(CALLER_AUDIENCE=audience)
    path, params, role = USERS
    assert client.get(path, headers=bearer(emu.entra.mint_caller_token(audience=audience, roles=[role])), **params)
    assert emu.counters.get("entra.jwks") == 1
    for _ in range(5):
        token = emu.entra.mint_caller_token(audience=audience, roles=[role], kid="no-such-kid")
        assert_problem(client.get(path, headers=bearer(token), **params), 401)
    assert emu.counters.get("entra.jwks") <= 2  # at most one refetch within the cooldown
    time.sleep(5.1)  # JWKS_REFRESH_COOLDOWN_SECONDS
    emu.entra.add_signing_key()
    rolled = emu.entra.mint_caller_token(audience=audience, roles=[role])
    assert client.get(path, headers=bearer(rolled), **params).status_code == 200
