"""Certificate rotation in Key Vault, picked up without a restart; AADSTS700027 fallback."""

import hashlib
import logging

import pytest

pytestmark = pytest.mark.e2e


def diagnostics(client):
    response = client.get("diagnostics")
    assert response.status_code == 200, response.text
    return response.json()


def test_new_version_is_used_for_the_next_assertion_without_restart(configure, emu):
    # The minimum lifetime (60 s) leaves no assertion a minute to be reused: every token request
    # signs a new one, so the next token shows when the next assertion picks the rotation up.
    client = configure(ASSERTION_LIFETIME_SECONDS="60")
    first = emu.keyvault.current_version()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert diagnostics(client)["certificate"]["version"] == first
    second = emu.keyvault.rotate_certificate(register=True)
    # The cached ARM token stays valid; the next assertion (Graph's token) is signed by the new version.
    assert client.get("graph/users", limit="1").status_code == 200
    report = diagnostics(client)
    assert report["certificate"]["version"] == second
    assert report["certificate"]["fallback"] is False
    assert emu.counters.get("keyvault.get_certificate") == 2


def test_a_reused_assertion_keeps_its_version_until_it_is_renewed(client, emu):
    first = emu.keyvault.current_version()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    emu.keyvault.rotate_certificate(register=True)
    # Graph's token reuses the assertion signed minutes ago (still registered, still valid): the
    # rotation is picked up by the next assertion, within the assertion's lifetime.
    assert client.get("graph/users", limit="1").status_code == 200
    assert diagnostics(client)["certificate"]["version"] == first
    assert emu.counters.get("keyvault.get_certificate") == 1
    assert emu.counters.get("keyvault.sign") == 1


def test_unregistered_new_version_falls_back_to_the_older_one(client, emu, caplog):
    caplog.set_level(logging.WARNING)
    first = emu.keyvault.current_version()
    second = emu.keyvault.rotate_certificate(register=False)
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 200, response.text
    counters = emu.counters.snapshot()
    assert counters["entra.token"] == 2  # rejected once, then accepted with the older version
    assert counters["keyvault.sign"] == 2
    report = diagnostics(client)
    assert report["certificate"]["version"] == first
    assert report["certificate"]["currentVersion"] == second
    assert report["certificate"]["fallback"] is True
    thumbprint = hashlib.sha1(emu.keyvault.certificate_der(second)).hexdigest().upper()
    assert any(thumbprint in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_fallback_is_remembered_and_costs_nothing_more(configure, emu):
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")
    emu.keyvault.rotate_certificate(register=False)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert client.get("graph/users", limit="1").status_code == 200
    # Graph's token reused the older version's accepted assertion: one more token request, no sign.
    assert emu.counters.get("entra.token") == 3
    assert emu.counters.get("keyvault.sign") == 2


def test_no_accepted_version_is_502_naming_the_thumbprint_to_register(client, emu):
    first = emu.keyvault.current_version()
    second = emu.keyvault.rotate_certificate(register=False)
    emu.keyvault.update_certificate_version(first, enabled=False)
    body = client.get("cosmos/cosmos-orders/keys").json()
    assert body["status"] == 502
    assert (body["upstream"], body["code"]) == ("entra", "AADSTS700027")
    assert hashlib.sha1(emu.keyvault.certificate_der(second)).hexdigest().upper() in body["detail"]
    assert second in body["detail"]


def test_pinned_version_never_falls_back(configure, emu):
    emu.keyvault.rotate_certificate(register=False)
    pinned = emu.keyvault.current_version()
    client = configure(KEY_VAULT_CERTIFICATE_VERSION=pinned)
    body = client.get("cosmos/cosmos-orders/keys").json()
    assert (body["status"], body["code"]) == (502, "AADSTS700027")
    assert emu.counters.get("entra.token") == 1
    assert emu.counters.get("keyvault.list_certificate_versions") == 0


def test_pinned_older_version_is_used(configure, emu):
    first = emu.keyvault.current_version()
    emu.keyvault.rotate_certificate(register=True)
    client = configure(KEY_VAULT_CERTIFICATE_VERSION=first)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert diagnostics(client)["certificate"]["version"] == first


def test_disabled_current_version_is_a_clear_error(client, emu):
    version = emu.keyvault.current_version()
    emu.keyvault.update_certificate_version(version, enabled=False)
    body = client.get("cosmos/cosmos-orders/keys").json()
    assert body["status"] == 502
    assert body["upstream"] == "keyvault"
    assert version in body["detail"] and "disabled" in body["detail"]
    assert emu.counters.get("keyvault.sign") == 0
