"""CALLER_AUDIENCE: Entra bearer tokens with app roles, validated against the tenant's JWKS."""

import time
import uuid

import jwt
import pytest

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

ROUTES = {
    "cosmos-read": ("cosmos/cosmos-orders/keys", {}, "CosmosKeys.Read"),
    "cosmos-write": ("cosmos/cosmos-orders/keys", {"type": "readwrite"}, "CosmosKeys.ReadWrite"),
    "users": ("graph/users", {"limit": "2"}, "Users.Read"),
    "diagnostics": ("diagnostics", {}, "Diagnostics.Read"),
}


def assert_401(response, *, credentials=True):
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # RFC 6750 3.1: an error code only when a token was presented.
    assert ('error="invalid_token"' in response.headers["WWW-Authenticate"]) is credentials
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("route", ROUTES)
def test_token_with_the_route_role_is_accepted(protected, emu, audience, route):
    path, params, role = ROUTES[route]
    token = emu.entra.mint_caller_token(audience=audience, roles=[role])
    response = protected.get(path, headers=bearer(token), **params)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ROUTES)
def test_token_without_the_role_is_403(protected, emu, audience, route):
    path, params, role = ROUTES[route]
    others = [r for _, _, r in ROUTES.values() if r not in (role, "CosmosKeys.ReadWrite")]
    token = emu.entra.mint_caller_token(audience=audience, roles=others)
    response = protected.get(path, headers=bearer(token), **params)
    assert response.status_code == 403, response.text
    assert role in response.json()["detail"]


@pytest.mark.parametrize("route", ROUTES)
def test_no_token_is_401(protected, route):
    path, params, _ = ROUTES[route]
    assert_401(protected.get(path, **params), credentials=False)


def test_readwrite_role_also_grants_readonly_keys(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["CosmosKeys.ReadWrite"])
    assert protected.get("cosmos/cosmos-orders/keys", headers=bearer(token)).status_code == 200


def test_v1_issuer_and_client_id_audience_are_accepted(protected, emu):
    token = emu.entra.mint_caller_token(audience=emu.seed.client_id, roles=["Users.Read"], issuer="v1")
    assert protected.get("graph/users", headers=bearer(token), limit="1").status_code == 200


def test_health_needs_no_token(protected):
    assert protected.get("health", key=False).status_code == 200


def test_signing_keys_are_fetched_once_and_cached(protected, emu, audience):
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    for _ in range(3):
        assert protected.get("graph/users", headers=bearer(token), limit="1").status_code == 200
    assert emu.counters.get("entra.jwks") == 1
    assert emu.counters.get("entra.openid_configuration") == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"audience": "api://someone-else"}, id="wrong-audience"),
        pytest.param({"tenant_id": str(uuid.uuid4())}, id="wrong-issuer"),
        pytest.param({"expires_in": -600}, id="expired"),
        pytest.param({"not_before": time.time() + 3600}, id="not-yet-valid"),
        pytest.param({"signing_key": "rogue"}, id="bad-signature"),
        pytest.param({"kid": "unknown-kid"}, id="unknown-kid"),
    ],
)
def test_invalid_tokens_are_401(protected, emu, audience, kwargs):
    token = emu.entra.mint_caller_token(**{"audience": audience, "roles": ["Users.Read"], **kwargs})
    assert_401(protected.get("graph/users", headers=bearer(token), limit="1"))
    assert emu.counters.get("graph.users") == 0


def _claims(emu, audience):
    now = int(time.time())
    return {
        "aud": audience,
        "iss": f"{emu.urls['login']}/{emu.seed.tenant_id}/v2.0",
        "tid": emu.seed.tenant_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "roles": ["Users.Read"],
    }


def test_alg_none_is_401(protected, emu, audience):
    token = jwt.encode(_claims(emu, audience), None, algorithm="none")
    assert_401(protected.get("graph/users", headers=bearer(token), limit="1"))


def test_hs256_signed_with_a_public_value_is_401(protected, emu, audience):
    valid = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    kid = jwt.get_unverified_header(valid)["kid"]
    token = jwt.encode(
        _claims(emu, audience), "a-shared-secret-of-32-bytes-len!", algorithm="HS256", headers={"kid": kid}
    )
    assert_401(protected.get("graph/users", headers=bearer(token), limit="1"))


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    "])
def test_authorization_without_a_bearer_token_is_a_bare_401(protected, header):
    assert_401(protected.get("graph/users", headers={"Authorization": header}, limit="1"), credentials=False)


def test_a_malformed_bearer_token_is_401_invalid_token(protected):
    assert_401(protected.get("graph/users", headers={"Authorization": "Bearer not.a.jwt"}, limit="1"))


def test_audit_log_names_the_caller_never_the_token(protected, emu, audience, caplog):
    import logging

    caplog.set_level(logging.INFO)
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    protected.get("graph/users", headers=bearer(token), limit="1")
    audit = [r for r in caplog.records if r.name == "shared.audit"]
    assert audit and emu.seed.caller_app_id in audit[0].getMessage()
    assert token not in caplog.text
