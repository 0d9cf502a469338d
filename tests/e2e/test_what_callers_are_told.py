"""Callers are told only what they need: a 502's ``detail`` names what to fix (the role to grant, the
version to register) but no identifier of the deployment; the full hint, with the identifiers, is in
the log line of the same failure and in ``/api/diagnostics`` ``lastProblems``.

(Every problem body the e2e suite sees is also checked against the emulator's identifiers, in
conftest.assert_conforms; these tests show the other half: the operator does get the hint.)
"""

from __future__ import annotations

import hashlib
import logging

import pytest

from shared import problem_log

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _fresh_problem_log():
    problem_log.clear()
    yield
    problem_log.clear()


def _failure_line(caplog: pytest.LogCaptureFixture, route: str) -> logging.LogRecord:
    lines = [
        r
        for r in caplog.records
        if r.name == "shared.http" and getattr(r, "route", None) == route and r.http_status >= 500
    ]
    assert lines, [r.getMessage() for r in caplog.records]
    return lines[-1]


def _assert_caller_safe(body: dict, identifiers: dict[str, str]) -> None:
    text = str(body).lower()
    assert not [what for what, value in identifiers.items() if value in text], body


def test_aadsts700027_names_the_version_and_thumbprint_but_not_the_app(configure, emu, identifiers, caplog):
    client = configure()
    caplog.set_level(logging.INFO, logger="shared.http")
    der = emu.keyvault.certificate_der()
    emu.entra.unregister_certificate(der)
    response = client.get("cosmos/cosmos-orders/keys")
    body = response.json()
    assert (response.status_code, body["upstream"], body["code"]) == (502, "entra", "AADSTS700027")
    thumbprint = hashlib.sha1(der).hexdigest().upper()
    assert thumbprint in body["detail"] and "ENTRA_CLIENT_ID" in body["detail"]
    _assert_caller_safe(body, identifiers)

    line = _failure_line(caplog, "cosmos-keys")
    assert line.hint == line.args[-1].split("hint=", 1)[1], "the hint is the line's structured field and its text"
    assert emu.seed.client_id in line.hint and thumbprint in line.hint
    assert emu.seed.certificate_name in line.hint

    emu.entra.register_certificate(der)  # the chain works again (a fresh runtime forgets the rejection)
    client = configure()
    (kept,) = [p for p in client.get("diagnostics").json()["lastProblems"] if p["code"] == "AADSTS700027"]
    assert kept["source"] == "cosmos-keys" and kept["detail"] == body["detail"]
    assert emu.seed.client_id in kept["hint"] and thumbprint in kept["hint"]


def test_key_vault_403_names_the_role_but_not_the_vault(client, emu, identifiers, caplog):
    caplog.set_level(logging.INFO, logger="shared.http")
    emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, "Key Vault Crypto User")
    response = client.get("cosmos/cosmos-orders/keys")
    body = response.json()
    assert (response.status_code, body["upstream"], body["code"]) == (502, "keyvault", "ForbiddenByRbac")
    assert "Key Vault Crypto User" in body["detail"]
    _assert_caller_safe(body, identifiers)

    line = _failure_line(caplog, "cosmos-keys")
    vault_host = identifiers["vault host"]
    assert vault_host in line.hint.lower() and emu.seed.certificate_name in line.hint
    assert "Key Vault Crypto User" in line.hint

    emu.keyvault.grant_role(emu.seed.system_mi_principal_id, "Key Vault Crypto User")
    (kept,) = [p for p in client.get("diagnostics").json()["lastProblems"] if p["code"] == "ForbiddenByRbac"]
    assert vault_host in kept["hint"].lower()


def test_arm_authorization_failed_names_the_role_but_not_the_resource(client, emu, identifiers, caplog):
    caplog.set_level(logging.INFO, logger="shared.http")
    response = client.get("cosmos/cosmos-catalog/keys", type="readwrite")
    body = response.json()
    assert (response.status_code, body["upstream"], body["code"]) == (502, "arm", "AuthorizationFailed")
    assert "DocumentDB Account Contributor" in body["detail"] and "ENTRA_CLIENT_ID" in body["detail"]
    _assert_caller_safe(body, identifiers)

    resource_id = emu.seed.cosmos_account_id("cosmos-catalog")
    line = _failure_line(caplog, "cosmos-keys")
    assert resource_id in line.hint and emu.seed.client_id in line.hint and emu.seed.tenant_id in line.hint
    assert "DocumentDB Account Contributor" in line.hint

    problems = client.get("diagnostics").json()["lastProblems"]
    (kept,) = [p for p in problems if p["code"] == "AuthorizationFailed"]
    assert resource_id in kept["hint"] and kept["status"] == 502 and kept["upstream"] == "arm"


def test_a_callers_own_4xx_is_not_kept_for_diagnostics(client):
    assert client.get("cosmos/NOT_A_NAME/keys").status_code == 400
    assert client.get("diagnostics").json()["lastProblems"] == []
