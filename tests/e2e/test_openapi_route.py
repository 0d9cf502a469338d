"""GET /api/openapi.json: the contract, served by the function under a function key."""

import json

import pytest

from shared.openapi import document_json

pytestmark = pytest.mark.e2e


def test_serves_the_document_with_a_function_key(client):
    response = client.get("openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text == document_json()
    assert response.json()["openapi"] == "3.1.0"


def test_the_code_query_parameter_is_a_function_key_too(client, function_key):
    response = client.get("openapi.json", key=False, code=function_key)
    assert response.status_code == 200


def test_without_a_function_key_it_is_the_hosts_401(client):
    response = client.get("openapi.json", key=False)
    assert response.status_code == 401
    assert not response.content


def test_needs_no_caller_token_even_when_caller_auth_is_on(configure, emu):
    client = configure(CALLER_AUDIENCE="api://broker")
    assert client.get("cosmos/cosmos-orders/keys").status_code == 401  # caller auth really on
    assert client.get("openapi.json").status_code == 200


def test_is_served_when_the_settings_are_broken(configure):
    client = configure(KEY_VAULT_URL=None, ASSERTION_ALGORITHM="HS256")
    assert client.get("health").status_code == 503
    response = client.get("openapi.json")
    assert response.status_code == 200
    assert json.loads(response.text)["paths"]["/health"]["get"]["security"] == []


def test_every_route_of_the_app_is_in_the_served_document(client):
    paths = client.get("openapi.json").json()["paths"]
    assert set(paths) == {
        "/health",
        "/cosmos/{account}/keys",
        "/keys/{kind}/{name}",
        "/graph/users",
        "/diagnostics",
        "/rollover",
        "/openapi.json",
    }
    assert "post" in paths["/rollover"]
