"""AZURE_TOKEN_CREDENTIALS end to end: azure-identity's DefaultAzureCredential, narrowed by the value."""

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("value", ["ManagedIdentityCredential", "prod"])
@pytest.mark.parametrize("mode", ["keyvault", "managed-identity"])
def test_the_managed_identity_serves_through_default_azure_credential(configure, emu, value, mode):
    # "prod" tries EnvironmentCredential and WorkloadIdentityCredential first: neither is configured.
    client = configure(mode, AZURE_TOKEN_CREDENTIALS=value, AZURE_TENANT_ID=None, AZURE_CLIENT_SECRET=None)
    assert client.get("health").status_code == 200
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 200, response.text
    assert emu.counters.get("identity.token") == 1


def test_dev_without_a_developer_login_is_a_502_naming_the_identity(configure, emu, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no az, azd, pwsh: every developer credential unavailable
    client = configure(AZURE_TOKEN_CREDENTIALS="dev")
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 502, response.text
    assert response.json()["upstream"] == "managed-identity"
    assert emu.counters.get("identity.token") == 0  # dev never asks the managed identity


def test_an_unknown_value_is_a_503_named_by_health(configure):
    client = configure(AZURE_TOKEN_CREDENTIALS="ManagedIdentity")
    health = client.get("health")
    assert health.status_code == 503
    assert "AZURE_TOKEN_CREDENTIALS" in health.json()["missing"]
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 503
    assert "AZURE_TOKEN_CREDENTIALS" in response.json()["missing"]
