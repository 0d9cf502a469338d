"""Several directories: customer tenants, consent, their tokens, Graph per tenant (AZURE-PROTOCOLS.md 13)."""

from __future__ import annotations

import pytest
from emu_support import JWT_BEARER, claims_of, token_url

GRAPH = "https://graph.microsoft.com/.default"
ARM = "https://management.azure.com/.default"
MULTI = "AzureADMultipleOrgs"


def token_request(http, emu, cert, tenant, scope=GRAPH, aud=None):
    url = token_url(emu, tenant)
    return http.post(
        url,
        data={
            "client_assertion": cert.assertion(client_id=emu.seed.client_id, aud=aud or url),
            "client_assertion_type": JWT_BEARER,
            "client_id": emu.seed.client_id,
            "grant_type": "client_credentials",
            "scope": scope,
        },
    )


def aadsts(response):
    body = response.json()
    return response.status_code, body["error"], body["error_codes"][0], body["error_description"]


@pytest.fixture
def customer(emu):
    emu.directory.set_sign_in_audience(MULTI)
    return emu.directory.add_tenant(display_name="Fabrikam Emulated", domain="fabrikamemulated.onmicrosoft.com")


def test_a_consented_tenant_issues_its_own_token(http, emu, registered, customer):
    principal = emu.directory.consent(customer, roles=["User.Read.All"])
    response = token_request(http, emu, registered, customer)
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])
    assert claims["tid"] == customer
    assert claims["iss"] == f"https://sts.windows.net/{customer}/"
    assert claims["oid"] == claims["sub"] == principal != emu.seed.sp_object_id
    assert claims["roles"] == ["User.Read.All"]
    assert claims["appid"] == emu.seed.client_id


def test_the_tenant_can_be_named_by_its_domain(http, emu, registered, customer):
    emu.directory.consent(customer)
    response = token_request(http, emu, registered, "fabrikamemulated.onmicrosoft.com")
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["tid"] == customer


def test_no_service_principal_is_aadsts7000229_invalid_client(http, emu, registered, customer):
    status, error, code, description = aadsts(token_request(http, emu, registered, customer))
    assert (status, error, code) == (401, "invalid_client", 7000229)
    assert description.startswith(
        f"AADSTS7000229: The client application {emu.seed.client_id} is missing service principal in the tenant "
        f"{customer}."
    )


def test_revoked_consent_is_aadsts7000229_again(http, emu, registered, customer):
    emu.directory.consent(customer)
    assert token_request(http, emu, registered, customer).status_code == 200
    emu.directory.revoke_consent(customer)
    assert aadsts(token_request(http, emu, registered, customer))[2] == 7000229


def test_a_single_tenant_app_elsewhere_is_aadsts700016(http, emu, registered):
    tenant = emu.directory.add_tenant(display_name="Northwind Emulated")
    status, error, code, description = aadsts(token_request(http, emu, registered, tenant))
    assert (status, error, code) == (400, "unauthorized_client", 700016)
    assert "was not found in the directory 'Northwind Emulated'" in description


def test_a_resource_without_a_service_principal_is_aadsts650052(http, emu, registered, customer):
    emu.directory.consent(customer)
    emu.directory.remove_resource(customer, "00000003-0000-0000-c000-000000000000")
    status, error, code, description = aadsts(token_request(http, emu, registered, customer))
    assert (status, error, code) == (401, "invalid_client", 650052)
    assert f"your organization '{customer}' lacks a service principal" in description


def test_the_assertion_aud_must_be_the_customer_token_url(http, emu, registered, customer):
    emu.directory.consent(customer)
    response = token_request(http, emu, registered, customer, aud=token_url(emu))  # the home tenant's URL
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_tenant_is_aadsts90002(http, emu, registered):
    assert aadsts(token_request(http, emu, registered, "aaaaaaaa-0000-0000-0000-000000000000"))[2] == 90002


def test_graph_serves_the_directory_of_the_token(http, emu, registered, customer):
    emu.directory.consent(customer)
    token = token_request(http, emu, registered, customer).json()["access_token"]
    response = http.get(f"{emu.urls['graph']}/v1.0/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    users = response.json()["value"]
    assert len(users) == 5
    assert all(u["userPrincipalName"].endswith("@fabrikamemulated.onmicrosoft.com") for u in users)
    home = token_request(http, emu, registered, emu.seed.tenant_id).json()["access_token"]
    home_users = http.get(f"{emu.urls['graph']}/v1.0/users", headers={"Authorization": f"Bearer {home}"}).json()
    assert {u["id"] for u in home_users["value"]}.isdisjoint(u["id"] for u in users)


def test_graph_refuses_a_consent_without_a_user_reading_permission(http, emu, registered, customer):
    emu.directory.consent(customer, roles=[])
    token = token_request(http, emu, registered, customer).json()["access_token"]
    response = http.get(f"{emu.urls['graph']}/v1.0/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_arm_refuses_another_tenants_token(http, emu, registered, customer):
    emu.directory.consent(customer)
    token = token_request(http, emu, registered, customer, scope=ARM).json()["access_token"]
    account = emu.seed.cosmos_account_id("cosmos-orders")
    response = http.post(
        f"{emu.urls['management']}{account}/readonlykeys",
        params={"api-version": "2025-10-15"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"


def test_openid_metadata_names_the_customer_issuer(http, emu, customer):
    response = http.get(f"{emu.urls['login']}/{customer}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.json()["issuer"] == f"{emu.urls['login']}/{customer}/v2.0"


def test_control_api_adds_tenants_and_consent(http, emu, registered):
    control = emu.urls["control"]
    assert http.patch(f"{control}/_emulator/application", json={"sign_in_audience": MULTI}).status_code == 204
    created = http.post(f"{control}/_emulator/tenants", json={"display_name": "Tailspin", "user_count": 3})
    assert created.status_code == 201
    tenant = created.json()["tenant_id"]
    consent = {"tenant_id": tenant, "roles": ["User.Read.All"]}
    consented = http.post(f"{control}/_emulator/tenants/consent", json=consent)
    assert consented.status_code == 201 and consented.json()["service_principal_id"]
    assert token_request(http, emu, registered, tenant).status_code == 200
    assert http.delete(f"{control}/_emulator/tenants/consent", json={"tenant_id": tenant}).status_code == 204
    assert aadsts(token_request(http, emu, registered, tenant))[2] == 7000229
    bad = http.patch(f"{control}/_emulator/application", json={"sign_in_audience": "Everyone"})
    assert bad.status_code == 400


def test_reset_forgets_customer_tenants(http, emu, registered, customer):
    emu.reset()
    emu.entra.register_certificate(registered.der)
    assert aadsts(token_request(http, emu, registered, customer))[2] == 90002
    assert emu.directory.find(app_id=emu.seed.client_id).sign_in_audience == "AzureADMyOrg"


def test_graph_shows_the_application_sign_in_audience(http, emu, registered, customer):
    from emu_support import app_token

    token = app_token(http, emu, registered, GRAPH)
    response = http.get(
        f"{emu.urls['graph']}/v1.0/applications/{emu.seed.app_object_id}",
        params={"$select": "signInAudience"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["signInAudience"] == MULTI
