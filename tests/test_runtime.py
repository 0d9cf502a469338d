import os
import socket

import pytest

from shared.runtime import get_runtime, reset_runtime

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
ENV = {
    "ENTRA_TENANT_ID": TENANT,
    "ENTRA_CLIENT_ID": CLIENT,
    "KEY_VAULT_URL": "https://contoso-kv.vault.azure.net/",
    "KEY_VAULT_CERTIFICATE_NAME": "broker-signing",
    "IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token",
    "IDENTITY_HEADER": "x",
}


@pytest.fixture(autouse=True)
def fresh_runtime(monkeypatch):
    # azure-identity reads the managed identity variables from the process environment itself.
    monkeypatch.setenv("IDENTITY_ENDPOINT", ENV["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", ENV["IDENTITY_HEADER"])
    reset_runtime()
    yield
    reset_runtime()


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network call during import or build")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_building_the_runtime_makes_no_network_call(no_network):
    import function_app  # noqa: F401

    runtime = get_runtime(ENV)
    assert runtime.settings.ok
    assert runtime.tokens is not None and runtime.arm is not None


def test_runtime_is_reused_while_the_environment_is_unchanged():
    assert get_runtime(dict(ENV)) is get_runtime(dict(ENV))


def test_runtime_is_rebuilt_when_the_environment_changes():
    first = get_runtime(ENV)
    second = get_runtime({**ENV, "ASSERTION_ALGORITHM": "RS256"})
    assert second is not first
    assert str(second.settings.assertion_algorithm) == "RS256"


def test_managed_identity_off_app_service_builds_too(monkeypatch):
    monkeypatch.delenv("IDENTITY_HEADER")  # azure-identity then picks another flavour (IMDS)
    assert get_runtime(ENV).tokens is not None


def test_misconfigured_runtime_builds_no_clients():
    runtime = get_runtime({"KEY_VAULT_URL": "https://contoso-kv.vault.azure.net/"})
    assert not runtime.settings.ok
    assert runtime.tokens is None


def test_the_fast_os_environ_snapshot_follows_os_environ(monkeypatch):
    from shared.runtime import _relevant_environment, _snapshot_os_environ
    from shared.settings import RUNTIME_ENVIRONMENT

    monkeypatch.setenv("ASSERTION_ALGORITHM", "RS256")
    monkeypatch.delenv("ARM_ENDPOINT", raising=False)
    before = _snapshot_os_environ()
    # Same presence and the same values as the portable read, name by name.
    for raw, value in zip(before, _relevant_environment(os.environ), strict=True):
        assert (raw is None) == (value is None)
        if raw is not None:
            assert os.fsdecode(raw) == value if isinstance(raw, bytes) else raw == value
    assert len(before) == len(RUNTIME_ENVIRONMENT)
    monkeypatch.setenv("ARM_ENDPOINT", "https://management.usgovcloudapi.net")
    assert _snapshot_os_environ() != before
    monkeypatch.setenv("ASSERTION_ALGORITHM", "PS256")
    monkeypatch.delenv("ARM_ENDPOINT")
    assert _snapshot_os_environ() != before
    monkeypatch.setenv("ASSERTION_ALGORITHM", "RS256")
    assert _snapshot_os_environ() == before


def test_runtime_from_os_environ_is_rebuilt_when_a_setting_changes(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    first = get_runtime()
    assert get_runtime() is first
    monkeypatch.setenv("ASSERTION_ALGORITHM", "RS256")
    second = get_runtime()
    assert second is not first
    assert str(second.settings.assertion_algorithm) == "RS256"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")  # read once by the clients: rebuild
    assert get_runtime() is not second
