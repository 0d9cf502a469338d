"""/api/diagnostics, /api/health, and the Cosmos route in every credential mode."""

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e

MODES = ["keyvault", "federated-managed-identity", "managed-identity"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_diagnostics_in_keyvault_mode(client, emu):
    response = client.get("diagnostics")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    der = emu.keyvault.certificate_der()
    assert body["credentialMode"] == "keyvault"
    assert body["algorithm"] == "PS256"
    cert = body["certificate"]
    assert cert["version"] == emu.keyvault.current_version()
    assert cert["x5t"] == b64url(hashlib.sha1(der).digest())
    assert cert["x5t#S256"] == b64url(hashlib.sha256(der).digest())
    assert ISO.match(cert["notBefore"]) and ISO.match(cert["expiresOn"])
    assert cert["daysLeft"] in (364, 365)
    assert cert["expiringSoon"] is False
    token = body["token"]
    assert ISO.match(token["expiresOn"])
    assert token["appid"] == emu.seed.client_id
    assert token["tid"] == emu.seed.tenant_id
    assert isinstance(token["roles"], list)
    assert "eyJ" not in response.text


def test_certificate_close_to_expiry_is_flagged(client, emu):
    emu.keyvault.rotate_certificate(expires_on=datetime.now(UTC) + timedelta(days=10, hours=1))
    cert = client.get("diagnostics").json()["certificate"]
    assert cert["daysLeft"] == 10
    assert cert["expiringSoon"] is True


@pytest.mark.parametrize("mode", ["federated-managed-identity", "managed-identity"])
def test_certificate_less_modes_have_no_certificate_facts(configure, emu, mode):
    body = configure(mode).get("diagnostics").json()
    assert body["credentialMode"] == mode
    assert "certificate" not in body and "algorithm" not in body
    expected_appid = emu.seed.client_id if mode != "managed-identity" else emu.seed.system_mi_client_id
    assert body["token"]["appid"] == expected_appid
    assert emu.counters.get("keyvault.sign") == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key_type", ["readonly", "readwrite"])
def test_cosmos_keys_in_every_mode(configure, emu, mode, key_type):
    response = configure(mode).get("cosmos/cosmos-orders/keys", type=key_type)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == key_type
    assert emu.counters.get("keyvault.sign") == (1 if mode == "keyvault" else 0)


def test_federated_mode_exchanges_the_managed_identity_token(configure, emu):
    client = configure("federated-managed-identity")
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    counters = emu.counters.snapshot()
    assert counters["entra.token"] == 1
    assert counters["identity.token"] == 1
    assert counters["keyvault.get_certificate"] == 0


def test_federated_mode_without_a_matching_credential_is_502(configure, emu):
    emu.entra.remove_federated_credentials()
    body = configure("federated-managed-identity").get("cosmos/cosmos-orders/keys").json()
    assert body["status"] == 502
    assert body["upstream"] == "entra"
    assert body["code"].startswith("AADSTS")


def test_federated_mode_needs_azure_client_id(configure):
    response = configure("federated-managed-identity", AZURE_CLIENT_ID=None).get("cosmos/cosmos-orders/keys")
    assert response.status_code == 503
    assert response.json()["missing"] == ["AZURE_CLIENT_ID"]


@pytest.mark.parametrize("mode", MODES)
def test_health_is_ok_in_every_mode_without_any_call(configure, emu, mode):
    response = configure(mode).get("health", key=False)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "callerAuth": "function-key"}
    assert sum(emu.counters.snapshot().values()) == 0


def test_health_reports_missing_and_invalid_settings(configure, emu):
    response = configure(ENTRA_TENANT_ID=None, ASSERTION_ALGORITHM="HS256").get("health", key=False)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "misconfigured"
    assert body["missing"] == ["ENTRA_TENANT_ID", "ASSERTION_ALGORITHM"]
    assert sum(emu.counters.snapshot().values()) == 0
