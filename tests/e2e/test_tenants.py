"""Customer tenants (SPEC "Other tenants"): ENTRA_ALLOWED_TENANTS, /api/graph/users?tenant=, consent, roles."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

MULTI = "AzureADMultipleOrgs"


def outbound_calls(emu) -> int:
    return sum(emu.counters.snapshot().values())


@pytest.fixture
def customers(emu):
    """A multi-tenant app: Fabrikam consented (User.Read.All), Northwind listed but not consented."""
    emu.directory.set_sign_in_audience(MULTI)
    fabrikam = emu.directory.add_tenant(display_name="Fabrikam", domain="fabrikam.example", user_count=7)
    northwind = emu.directory.add_tenant(display_name="Northwind", domain="northwind.example")
    emu.directory.consent(fabrikam, roles=["User.Read.All"])
    return fabrikam, northwind


@pytest.fixture
def listed(configure, customers):
    fabrikam, northwind = customers
    return configure(ENTRA_ALLOWED_TENANTS=f"{fabrikam.upper()}, {northwind}")


def test_users_of_a_consented_customer_tenant(listed, emu, customers):
    fabrikam, _ = customers
    response = listed.get("graph/users", tenant=fabrikam)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 7 and body["truncated"] is False
    assert all(u["userPrincipalName"].endswith("@fabrikam.example") for u in body["value"])
    assert response.headers["Cache-Control"] == "no-store"
    # One token request at the customer's own token URL (the emulator checks the assertion's aud is it).
    assert emu.counters.get("entra.token") == 1


def test_the_home_tenant_is_the_default_and_can_be_named(listed, emu):
    default = listed.get("graph/users", limit="3").json()
    named = listed.get("graph/users", limit="3", tenant=emu.seed.tenant_id.upper()).json()
    assert default == named
    assert all(u["userPrincipalName"].endswith(emu.seed.tenant_domain) for u in default["value"])


def test_tokens_and_assertions_are_per_tenant(listed, emu, customers):
    fabrikam, _ = customers
    assert listed.get("graph/users", limit="1").status_code == 200
    assert listed.get("graph/users", limit="1", tenant=fabrikam).status_code == 200
    # Another tenant: another assertion (its aud), another token; each cached for its tenant.
    assert (emu.counters.get("keyvault.sign"), emu.counters.get("entra.token")) == (2, 2)
    assert listed.get("graph/users", limit="1", tenant=fabrikam).status_code == 200
    assert listed.get("graph/users", limit="1").status_code == 200
    assert (emu.counters.get("keyvault.sign"), emu.counters.get("entra.token")) == (2, 2)


@pytest.mark.parametrize(
    "tenant", ["", "fabrikam.example", "common", "not-a-guid", "aaaaaaaa-1111-2222-3333-44444444444g", "../x"]
)
def test_a_tenant_that_is_not_a_guid_is_400_before_any_outbound_call(listed, emu, tenant):
    emu.counters.clear()
    response = listed.get("graph/users", tenant=tenant)
    assert response.status_code == 400, response.text
    assert "tenant" in response.json()["detail"]
    assert outbound_calls(emu) == 0


def test_a_tenant_not_listed_is_403_before_any_outbound_call(listed, emu):
    emu.counters.clear()
    other = emu.directory.add_tenant(display_name="Consented but not listed")
    emu.directory.consent(other)
    response = listed.get("graph/users", tenant=other)
    assert response.status_code == 403, response.text
    body = response.json()
    assert other not in response.text and "ENTRA_ALLOWED_TENANTS" in body["detail"]
    assert "WWW-Authenticate" not in response.headers
    assert outbound_calls(emu) == 0


def test_without_allowed_tenants_every_other_tenant_is_403(client, emu, customers):
    fabrikam, _ = customers
    assert client.get("graph/users", tenant=fabrikam).status_code == 403
    assert outbound_calls(emu) == 0


@pytest.mark.parametrize("audience", [MULTI, "AzureADMyOrg"])
def test_entra_refusing_for_missing_consent_is_a_502_asking_for_admin_consent(listed, emu, customers, caplog, audience):
    _, northwind = customers
    emu.directory.set_sign_in_audience(audience)
    caplog.set_level(logging.WARNING)
    response = listed.get("graph/users", tenant=northwind)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["upstream"] == "entra"
    assert body["code"] == ("AADSTS7000229" if audience == MULTI else "AADSTS700016")
    assert "administrator of that tenant must consent" in body["detail"]
    for identifier in (northwind, emu.seed.client_id, emu.seed.tenant_id):
        assert identifier not in response.text
    consent_url = f"{emu.urls['login']}/{northwind}/adminconsent?client_id={emu.seed.client_id}"
    assert any(consent_url in r.getMessage() for r in caplog.records)


def test_missing_graph_permission_in_the_customer_tenant_names_its_administrator(listed, emu, customers):
    fabrikam, _ = customers
    emu.directory.consent(fabrikam, roles=[])
    body = listed.get("graph/users", tenant=fabrikam).json()
    assert (body["status"], body["upstream"], body["code"]) == (502, "graph", "Authorization_RequestDenied")
    assert "administrator of that tenant" in body["detail"] and emu.seed.client_id not in body["detail"]


def test_consent_granted_later_is_picked_up_without_restart(listed, emu, customers):
    _, northwind = customers
    assert listed.get("graph/users", tenant=northwind).status_code == 502
    emu.directory.consent(northwind)
    assert listed.get("graph/users", tenant=northwind).status_code == 200


def test_diagnostics_lists_each_allowed_tenant(listed, emu, customers):
    fabrikam, northwind = customers
    report = listed.get("diagnostics").json()
    assert report["token"]["tid"] == emu.seed.tenant_id
    tenants = {t["tenantId"]: t for t in report["tenants"]}
    assert list(tenants) == [fabrikam, northwind]
    login = emu.urls["login"]
    for tenant in (fabrikam, northwind):
        assert tenants[tenant]["adminConsentUrl"] == f"{login}/{tenant}/adminconsent?client_id={emu.seed.client_id}"
    assert tenants[fabrikam]["tokenObtained"] is True
    assert tenants[fabrikam]["token"]["tid"] == fabrikam
    assert tenants[fabrikam]["token"]["roles"] == ["User.Read.All"]
    assert tenants[northwind]["tokenObtained"] is False
    assert tenants[northwind]["error"]["code"] == "AADSTS7000229"
    assert "eyJ" not in str(report)  # no token, no assertion


@pytest.mark.parametrize("value", ["not-a-guid", "aaaaaaaa-1111-2222-3333-444444444444,,"])
def test_invalid_allowed_tenants_is_a_503_naming_the_setting_on_routes_and_health(configure, emu, value):
    client = configure(ENTRA_ALLOWED_TENANTS=value)
    body = client.get("graph/users").json()
    assert body["status"] == 503 and body["missing"] == ["ENTRA_ALLOWED_TENANTS"]
    health = client.get("health", key=False)
    assert health.status_code == 503 and "ENTRA_ALLOWED_TENANTS" in health.json()["missing"]
    assert outbound_calls(emu) == 0


# --------------------------------------------------------------------------- caller roles
@pytest.fixture
def protected_listed(configure, audience, emu, customers):
    fabrikam, northwind = customers
    return configure(CALLER_AUDIENCE=audience, ENTRA_ALLOWED_TENANTS=f"{fabrikam},{northwind}")


def test_users_read_covers_the_home_tenant_only(protected_listed, emu, audience, customers):
    fabrikam, _ = customers
    token = emu.entra.mint_caller_token(audience=audience, roles=["Users.Read"])
    assert protected_listed.get("graph/users", headers=bearer(token), limit="1").status_code == 200
    response = protected_listed.get("graph/users", headers=bearer(token), tenant=fabrikam)
    assert response.status_code == 403
    assert f"Users.Read:{fabrikam}" in response.json()["detail"]


def test_a_tenant_role_covers_that_tenant_only(protected_listed, emu, audience, customers):
    fabrikam, northwind = customers
    token = emu.entra.mint_caller_token(audience=audience, roles=[f"Users.Read:{fabrikam.upper()}"])
    assert protected_listed.get("graph/users", headers=bearer(token), tenant=fabrikam).status_code == 200
    assert protected_listed.get("graph/users", headers=bearer(token), tenant=northwind).status_code == 403
    assert protected_listed.get("graph/users", headers=bearer(token)).status_code == 403


def test_a_tenant_role_for_a_tenant_not_listed_is_still_403(protected_listed, emu, audience):
    other = str(uuid.uuid4())
    token = emu.entra.mint_caller_token(audience=audience, roles=[f"Users.Read:{other}"])
    emu.counters.clear()
    response = protected_listed.get("graph/users", headers=bearer(token), tenant=other)
    assert response.status_code == 403
    assert "ENTRA_ALLOWED_TENANTS" in response.json()["detail"]
    assert emu.counters.get("entra.token") == 0


def test_the_caller_is_authenticated_before_the_tenant_is_judged(protected_listed):
    assert protected_listed.get("graph/users", tenant="not-a-guid").status_code == 401


def test_a_role_of_another_route_is_not_a_tenant_role(protected_listed, emu, audience, customers):
    fabrikam, _ = customers
    token = emu.entra.mint_caller_token(audience=audience, roles=["Diagnostics.Read", "Users.ReadAll"])
    assert protected_listed.get("graph/users", headers=bearer(token), tenant=fabrikam).status_code == 403


def test_federated_managed_identity_mode_acts_in_a_customer_tenant(configure, emu, customers):
    fabrikam, _ = customers
    client = configure("federated-managed-identity", ENTRA_ALLOWED_TENANTS=fabrikam)
    response = client.get("graph/users", tenant=fabrikam)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 7
    assert emu.counters.get("keyvault.sign") == 0


def test_managed_identity_mode_serves_only_its_own_tenant(configure, emu, customers):
    fabrikam, _ = customers
    client = configure("managed-identity")
    assert client.get("graph/users", tenant=fabrikam).status_code == 403
    assert client.get("graph/users", limit="1").status_code == 200


def test_a_tenant_without_consent_costs_no_key_vault_call_per_request(listed, emu, customers):
    # Security review (issues 16, 17): the consent refusal discarded the tenant's assertion, so every
    # request for a listed but unconsented (or revoked) tenant read the certificate and made Key Vault
    # sign again: anyone allowed that tenant could spend the vault's sign budget the home tenant's
    # tokens depend on. Missing consent judges the tenant, not the assertion.
    _, northwind = customers
    assert listed.get("graph/users").status_code == 200  # the home tenant: its own assertion signed
    signs = emu.counters.get("keyvault.sign")
    for _ in range(4):
        assert listed.get("graph/users", tenant=northwind).status_code == 502
    assert emu.counters.get("keyvault.sign") == signs + 1  # northwind's one assertion, reused
    assert emu.counters.get("entra.token") >= 4  # each request still asks Entra: consent is picked up at once
