"""GET /api/openapi.json: the contract, served by the function under a function key."""

import json

import pytest
import requests

from shared.openapi import OPERATIONS, build_document, document_json

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


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.operation_id)
def test_a_disabled_function_is_the_hosts_bodyless_404_as_documented(operation, client, function_key, monkeypatch):
    """Every route documents the host's 404 for a disabled function. It has no body, so the document
    declares none — but for the keys routes, whose 404 is usually the app's problem (an account or
    resource not served), which their description says the host's lacks."""
    monkeypatch.setenv(f"AzureWebJobs.{operation.function}.Disabled", "true")
    path = (
        operation.path.replace("{account}", "cosmos-orders")
        .replace("{kind}", "storage")
        .replace("{name}", "stgorders")
        .lstrip("/")
    )
    documented = build_document()["paths"][operation.path][operation.method]["responses"]["404"]
    if "content" in documented:
        assert operation.function in ("cosmos_keys", "resource_keys")
        assert "disabled" in documented["description"] and "no body" in documented["description"]
        response = requests.request(
            operation.method.upper(), f"{client.base_url}/api/{path}", headers={"x-functions-key": function_key}
        )
    else:
        response = client.request(operation.method.upper(), path)  # validated against the document
    assert response.status_code == 404
    assert not response.content
