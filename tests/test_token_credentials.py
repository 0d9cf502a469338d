"""AZURE_TOKEN_CREDENTIALS: the values azure-identity accepts, and the function identity it selects."""

from __future__ import annotations

import re

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.credential_chain.function_identity import build_function_identity
from shared.health import health_report
from shared.settings import AZURE_TOKEN_CREDENTIALS, TOKEN_CREDENTIALS_VALUES, load_settings

BASE = {"CREDENTIAL_MODE": "managed-identity", "IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token"}


def _azure_identity_values(monkeypatch) -> set[str]:
    """What the installed azure-identity accepts, from its own refusal of a bad value."""
    monkeypatch.setenv(AZURE_TOKEN_CREDENTIALS, "not-a-credential")
    with pytest.raises(ValueError, match="Valid values are") as refused:
        DefaultAzureCredential()
    listed = re.search(r"Valid values are: (.*)\.", str(refused.value))
    assert listed
    return {v.strip() for v in listed.group(1).split(",")}


def test_the_accepted_values_are_azure_identitys(monkeypatch):
    assert {v.lower() for v in TOKEN_CREDENTIALS_VALUES} == _azure_identity_values(monkeypatch)


@pytest.mark.parametrize("value", [*TOKEN_CREDENTIALS_VALUES, "managedidentitycredential", "PROD"])
def test_each_accepted_value_builds_an_identity_without_a_network_call(monkeypatch, value):
    monkeypatch.setenv(AZURE_TOKEN_CREDENTIALS, value)
    settings = load_settings({**BASE, AZURE_TOKEN_CREDENTIALS: value})
    assert settings.ok and settings.token_credentials == value
    identity = build_function_identity(settings)
    assert isinstance(identity._inner, DefaultAzureCredential)
    identity.close()


def test_a_single_credential_narrows_the_chain_to_it(monkeypatch):
    monkeypatch.setenv(AZURE_TOKEN_CREDENTIALS, "ManagedIdentityCredential")
    identity = build_function_identity(load_settings({**BASE, AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential"}))
    chain = identity._inner.credentials
    assert [type(c) for c in chain] == [ManagedIdentityCredential]


def test_unset_keeps_the_explicit_choice():
    settings = load_settings(BASE)
    assert settings.token_credentials is None
    identity = build_function_identity(settings)
    assert isinstance(identity._inner, ManagedIdentityCredential)


@pytest.mark.parametrize("value", ["ManagedIdentity", "azurecli", "dev,prod", "default"])
def test_an_unknown_value_is_a_settings_problem_named_by_health(value):
    settings = load_settings({**BASE, AZURE_TOKEN_CREDENTIALS: value})
    assert not settings.ok
    status, body = health_report(settings)
    assert status == 503
    assert AZURE_TOKEN_CREDENTIALS in body["missing"]
    reason = next(p["reason"] for p in body["problems"] if p["setting"] == AZURE_TOKEN_CREDENTIALS)
    assert "ManagedIdentityCredential" in reason and "dev" in reason
