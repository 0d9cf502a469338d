"""Managed identity, App Service protocol (AZURE-PROTOCOLS.md 3.1)."""

from __future__ import annotations

import time

import pytest
from azure.identity import ManagedIdentityCredential
from emu_support import claims_of

PARAMS = {"api-version": "2019-08-01", "resource": "https://vault.azure.net"}


def get(http, emu, params=None, header="default"):
    headers = (
        {} if header is None else {"X-IDENTITY-HEADER": emu.identity.identity_header if header == "default" else header}
    )
    return http.get(emu.identity.endpoint, params=params or PARAMS, headers=headers)


def test_system_assigned_token_shape_and_claims(http, emu):
    response = get(http, emu)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert isinstance(body["expires_on"], str) and body["expires_on"].isdigit()
    assert int(body["expires_on"]) > time.time() + 3600
    assert body["resource"] == "https://vault.azure.net"
    assert body["token_type"] == "Bearer"
    assert body["client_id"] == emu.seed.system_mi_client_id
    claims = claims_of(body["access_token"])
    assert claims["aud"] == "https://vault.azure.net"
    assert claims["iss"] == f"https://sts.windows.net/{emu.seed.tenant_id}/"
    assert claims["oid"] == claims["sub"] == emu.seed.system_mi_principal_id
    assert claims["appid"] == claims["azp"] == emu.seed.system_mi_client_id
    assert claims["tid"] == emu.seed.tenant_id
    assert claims["idtyp"] == "app" and claims["ver"] == "1.0"
    assert claims["nbf"] <= time.time() <= claims["exp"] == int(body["expires_on"])
    assert emu.counters.get("identity.token") == 1


@pytest.mark.parametrize(
    "selector",
    ["client_id", "object_id", "principal_id", "mi_res_id"],
)
def test_user_assigned_selected_by_each_id(http, emu, selector):
    value = {
        "client_id": emu.seed.user_mi_client_id,
        "object_id": emu.seed.user_mi_principal_id,
        "principal_id": emu.seed.user_mi_principal_id,
        "mi_res_id": emu.seed.user_mi_resource_id.lower(),  # ARM ids are case-insensitive
    }[selector]
    response = get(http, emu, {**PARAMS, selector: value})
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == emu.seed.user_mi_client_id
    assert claims_of(response.json()["access_token"])["oid"] == emu.seed.user_mi_principal_id


@pytest.mark.parametrize("header", [None, "wrong-secret"])
def test_identity_header_missing_or_wrong_is_refused(http, emu, header):
    response = get(http, emu, header=header)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"statusCode", "message", "correlationId"}
    assert body["statusCode"] == 401
    assert "access_token" not in response.text


def test_unknown_identity_is_400_unable_to_load(http, emu):
    response = get(http, emu, {**PARAMS, "client_id": "00000000-0000-0000-0000-000000000001"})
    assert response.status_code == 400
    assert response.json()["message"] == "Unable to load the proper Managed Identity."
    assert response.json()["statusCode"] == 400


def test_unknown_resource_is_the_generic_500(http, emu):
    response = get(http, emu, {**PARAMS, "resource": "https://managements.azure.com"})
    assert response.status_code == 500
    assert response.json()["message"] == "An unexpected error occured while fetching the AAD Token."


@pytest.mark.parametrize("params", [{"resource": "https://vault.azure.net"}, {**PARAMS, "api-version": "2017-09-01"}])
def test_api_version_required(http, emu, params):
    assert get(http, emu, params).status_code == 400


def test_two_identity_selectors_are_refused(http, emu):
    params = {**PARAMS, "client_id": emu.seed.user_mi_client_id, "object_id": emu.seed.user_mi_principal_id}
    assert get(http, emu, params).status_code == 400


def test_token_exchange_token_is_v2_with_principal_subject(http, emu):
    params = {**PARAMS, "resource": "api://AzureADTokenExchange", "client_id": emu.seed.user_mi_client_id}
    claims = claims_of(get(http, emu, params).json()["access_token"])
    assert claims["aud"] == "api://AzureADTokenExchange"
    assert claims["iss"] == f"{emu.urls['login']}/{emu.seed.tenant_id}/v2.0"
    assert claims["sub"] == emu.seed.user_mi_principal_id
    assert claims["ver"] == "2.0"


@pytest.mark.parametrize("resource", ["https://graph.microsoft.com", "graph-origin"])
def test_graph_token_carries_app_roles(http, emu, resource):
    resource = emu.urls["graph"] if resource == "graph-origin" else resource
    claims = claims_of(get(http, emu, {**PARAMS, "resource": resource}).json()["access_token"])
    assert claims["aud"] == resource
    assert claims["roles"] == ["User.Read.All"]


def test_trailing_slash_resource_keeps_aud_verbatim(http, emu):
    claims = claims_of(get(http, emu, {**PARAMS, "resource": "https://management.azure.com/"}).json()["access_token"])
    assert claims["aud"] == "https://management.azure.com/"
    assert "roles" not in claims


def test_azure_identity_managed_identity_credential(azure_env):
    emu = azure_env
    token = ManagedIdentityCredential().get_token("https://vault.azure.net/.default")
    assert claims_of(token.token)["oid"] == emu.seed.system_mi_principal_id
    assert token.expires_on > time.time() + 3600
    user = ManagedIdentityCredential(client_id=emu.seed.user_mi_client_id).get_token(
        "https://management.azure.com/.default"
    )
    assert claims_of(user.token)["oid"] == emu.seed.user_mi_principal_id
    assert emu.counters.get("identity.token") == 2
