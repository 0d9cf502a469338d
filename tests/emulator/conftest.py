"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from emu_support import LocalCert

from emulator import Emulator


@pytest.fixture(scope="session")
def local_cert() -> LocalCert:
    return LocalCert()


@pytest.fixture(scope="session")
def other_cert() -> LocalCert:
    return LocalCert()


@pytest.fixture
def registered(emu: Emulator, local_cert: LocalCert) -> LocalCert:
    """`local_cert`, registered on the seed app registration."""
    emu.entra.register_certificate(local_cert.der)
    return local_cert


@pytest.fixture
def http(emulator: Emulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # the machine's REQUESTS_CA_BUNDLE must not override verify
    session.verify = emulator.ca_bundle
    yield session
    session.close()


@pytest.fixture
def azure_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Process environment for azure-identity's App Service managed identity and TLS trust."""
    for name in ("AZURE_CLIENT_ID", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT",
                 "AZURE_FEDERATED_TOKEN_FILE", "CURL_CA_BUNDLE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", emu.identity.endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", emu.identity.identity_header)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    monkeypatch.setenv("SSL_CERT_FILE", emu.ca_bundle)
    return emu


@pytest.fixture
def fresh_challenge_cache() -> Iterator[None]:
    """Key Vault's SDKs cache challenges per process; start each test from a cold cache."""
    from azure.keyvault.certificates._shared import http_challenge_cache as cert_cache
    from azure.keyvault.keys._shared import http_challenge_cache as key_cache

    cert_cache._cache.clear()
    key_cache._cache.clear()
    yield
    cert_cache._cache.clear()
    key_cache._cache.clear()
