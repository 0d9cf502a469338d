"""ARM: Cosmos DB listKeys / readonlykeys (AZURE-PROTOCOLS.md 5 and 9.9)."""

from __future__ import annotations

import base64

import pytest
from emu_support import app_token, error_of, mi_token

API = "2025-10-15"
SCOPE = "https://management.azure.com/.default"


@pytest.fixture
def arm_token(http, emu, registered):
    """The app's service principal token for ARM."""
    return app_token(http, emu, registered, SCOPE)


def call(http, emu, token, account="cosmos-orders", action="listKeys", method="POST", api_version=API, path=None):
    url = emu.urls["management"] + (path or emu.seed.cosmos_account_id(account) + f"/{action}")
    params = {} if api_version is None else {"api-version": api_version}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.request(method, url, params=params, headers=headers)


def test_list_keys_returns_four_keys_and_counts_as_a_write(http, emu, arm_token):
    response = call(http, emu, arm_token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "primaryMasterKey",
        "secondaryMasterKey",
        "primaryReadonlyMasterKey",
        "secondaryReadonlyMasterKey",
    }
    for key in body.values():
        assert len(key) == 88 and len(base64.b64decode(key, validate=True)) == 64
    assert len(set(body.values())) == 4
    assert response.headers["x-ms-ratelimit-remaining-subscription-writes"].isdigit()
    assert "x-ms-ratelimit-remaining-subscription-reads" not in response.headers
    assert emu.counters.get("arm.listKeys") == 1
    # Same keys on every call within a run.
    assert call(http, emu, arm_token).json() == body


@pytest.mark.parametrize(("method", "header"), [("GET", "reads"), ("POST", "writes")])
def test_readonly_keys_get_is_a_read_post_is_a_write(http, emu, arm_token, method, header):
    response = call(http, emu, arm_token, "cosmos-catalog", "readonlykeys", method)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"}
    assert f"x-ms-ratelimit-remaining-subscription-{header}" in response.headers
    assert emu.counters.get("arm.readonlykeys") == 1


def test_reader_role_cannot_list_keys(http, emu, arm_token):
    response = call(http, emu, arm_token, "cosmos-catalog", "listKeys")
    assert response.status_code == 403
    oid = emu.seed.sp_object_id
    scope = emu.seed.cosmos_account_id("cosmos-catalog")
    assert error_of(response) == {
        "code": "AuthorizationFailed",
        "message": f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
        f"'Microsoft.DocumentDB/databaseAccounts/listKeys/action' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    }


def test_grant_and_revoke(http, emu, arm_token):
    emu.arm.grant_role(emu.seed.sp_object_id, "cosmos-catalog", "DocumentDB Account Contributor")
    assert call(http, emu, arm_token, "cosmos-catalog").status_code == 200
    emu.arm.revoke_role(emu.seed.sp_object_id, "cosmos-orders", "DocumentDB Account Contributor")
    assert call(http, emu, arm_token, "cosmos-orders").status_code == 403
    assert call(http, emu, arm_token, "cosmos-orders", "readonlykeys").status_code == 403


def test_paths_are_case_insensitive(http, emu, arm_token):
    path = emu.seed.cosmos_account_id("cosmos-orders").lower().replace("documentdb", "DOCUMENTDB") + "/LISTKEYS"
    assert call(http, emu, arm_token, path=path).status_code == 200


def test_unknown_account_is_403_without_a_role_then_404(http, emu, arm_token):
    response = call(http, emu, arm_token, "cosmos-nope")
    assert response.status_code == 403 and error_of(response)["code"] == "AuthorizationFailed"
    emu.arm.grant_role(emu.seed.sp_object_id, "cosmos-nope", "DocumentDB Account Contributor")
    response = call(http, emu, arm_token, "cosmos-nope")
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"
    assert error_of(response)["message"].startswith(
        "The Resource 'Microsoft.DocumentDB/databaseAccounts/cosmos-nope' under resource group 'rg-broker' "
        "was not found."
    )


def test_missing_api_version(http, emu, arm_token):
    response = call(http, emu, arm_token, api_version=None)
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "MissingApiVersionParameter",
        "message": "The api-version query parameter (?api-version=) is required for all requests.",
    }


@pytest.mark.parametrize(("version", "status"), [("2025-04-15", 200), ("2024-11-15", 200), ("2021-04-01", 400)])
def test_api_versions(http, emu, arm_token, version, status):
    response = call(http, emu, arm_token, api_version=version)
    assert response.status_code == status
    if status == 400:
        assert error_of(response)["code"] == "NoRegisteredProviderFound"
        assert "'2021-04-01'" in error_of(response)["message"]


def test_missing_token_is_401_with_challenge(http, emu):
    response = call(http, emu, None)
    assert response.status_code == 401
    assert error_of(response)["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith(
        f'Bearer authorization_uri="{emu.urls["login"]}/{emu.seed.tenant_id}", error="invalid_token"'
    )


def test_wrong_audience_is_401(http, emu):
    response = call(http, emu, mi_token(http, emu, "https://vault.azure.net"))
    assert response.status_code == 401
    assert error_of(response)["code"] == "InvalidAuthenticationTokenAudience"
    assert "'https://vault.azure.net'" in error_of(response)["message"]


def test_expired_token_is_401(http, emu):
    token = emu.entra.mint_caller_token(audience="https://management.azure.com", issuer="v1", expires_in=-3600)
    response = call(http, emu, token)
    assert response.status_code == 401 and error_of(response)["code"] == "ExpiredAuthenticationToken"


def test_other_tenant_is_401(http, emu):
    token = emu.entra.mint_caller_token(
        audience="https://management.azure.com", issuer="v1", tenant_id="22222222-2222-2222-2222-222222222222"
    )
    response = call(http, emu, token)
    assert response.status_code == 401 and error_of(response)["code"] == "InvalidAuthenticationTokenTenant"


@pytest.mark.parametrize("resource", ["https://management.azure.com", "https://management.core.windows.net/", "origin"])
def test_managed_identity_tokens_for_each_arm_audience(http, emu, resource):
    resource = emu.urls["management"] if resource == "origin" else resource
    assert call(http, emu, mi_token(http, emu, resource)).status_code == 200  # system MI: Contributor on orders


def test_user_assigned_identity_has_no_role(http, emu):
    token = mi_token(http, emu, "https://management.azure.com", client_id=emu.seed.user_mi_client_id)
    assert call(http, emu, token, "cosmos-catalog", "readonlykeys").status_code == 403


def test_list_keys_is_post_only(http, emu, arm_token):
    assert call(http, emu, arm_token, method="GET").status_code == 405
