"""The broker's own Graph token can roll its keys and nothing more (issue 14, docs/custody.md).

Its token is obtained the way the function obtains it — the product's credential chain (managed
identity → Key Vault `sign` → Entra client assertion, or the managed identity as a federated
credential) against the emulator — and then used as an attacker holding it would: to give the app
a password or a federated identity credential, a credential outside Key Vault that would outlive
the compromise. Graph refuses both (403 Authorization_RequestDenied) because the app registration
holds only the read-only Application.Read.All and User.Read.All and owns nothing, while the
rollover still adds and removes its keys: addKey/removeKey on itself need no permission.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
import requests

from shared.runtime import get_runtime

pytestmark = pytest.mark.e2e

FIC = {
    "name": "attacker-pipeline",
    "issuer": "https://token.actions.githubusercontent.com",
    "subject": "repo:attacker/repo:ref:refs/heads/main",
    "audiences": ["api://AzureADTokenExchange"],
}


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _brokers_graph_token() -> str:
    """The Graph token the function itself holds (same process, same runtime as the host)."""
    runtime = get_runtime()
    return runtime.tokens.get(runtime.settings.graph_scope).token


def _post(emu, path: str, token: str, body: dict) -> requests.Response:
    return requests.post(
        f"{emu.urls['graph']}/v1.0{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _credentials(emu):
    app = emu.directory.find(app_id=emu.seed.client_id)
    return [c.key_id for c in app.password_credentials], [f.name for f in app.federated_credentials]


@pytest.mark.parametrize("mode", ["keyvault", "federated-managed-identity"])
def test_the_brokers_own_graph_token_cannot_add_a_password_or_a_federated_credential(configure, emu, mode):
    client = configure(mode)
    assert client.get("graph/users", limit="1").status_code == 200  # the chain works: the token is real
    token = _brokers_graph_token()
    claims = _claims(token)
    assert claims["appid"] == emu.seed.client_id
    assert sorted(claims["roles"]) == ["Application.Read.All", "User.Read.All"]
    before = _credentials(emu)

    for key in (emu.seed.app_object_id, f"(appId='{emu.seed.client_id}')"):
        app_path = f"/applications/{key}" if "(" not in key else f"/applications{key}"
        for action, body in (("addPassword", {"passwordCredential": {"displayName": "backdoor"}}),
                             ("federatedIdentityCredentials", FIC)):  # fmt: skip
            response = _post(emu, f"{app_path}/{action}", token, body)
            assert response.status_code == 403, response.text
            error = response.json()["error"]
            assert error["code"] == "Authorization_RequestDenied"
            assert error["message"] == "Insufficient privileges to complete the operation."
            assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])

    assert _credentials(emu) == before
    assert emu.counters.get("graph.addPassword") == 2
    assert emu.counters.get("graph.addFederatedIdentityCredential") == 2


def test_the_rollover_adds_and_removes_keys_with_application_read_all_as_its_only_application_permission(
    configure, emu
):
    sp = emu.seed.sp_object_id
    assert emu.graph.app_roles(sp) == ["Application.Read.All", "User.Read.All"]
    assert emu.directory.find(app_id=emu.seed.client_id).owners == set()
    client = configure(ROLLOVER_GRACE_DAYS="0")
    first = emu.keyvault.current_version()
    # Lasts longer than the first (the rollover never removes a key that outlives every other).
    second = emu.keyvault.rotate_certificate(register=False, publish=False, expires_on=time.time() + 400 * 86400)

    response = client.post("rollover")
    assert response.status_code == 200, response.text
    report = response.json()
    assert [a["version"] for a in report["added"]] == [second]
    # Grace 0: the token obtained with the new version right after its addKey lets the old one go.
    assert [r["version"] for r in report["removed"]] == [first]
    registered = [k["customKeyIdentifier"] for k in emu.graph.key_credentials()]
    assert registered == [hashlib.sha1(emu.keyvault.certificate_der(second)).hexdigest().upper()]
    assert emu.graph.app_roles(sp) == ["Application.Read.All", "User.Read.All"]
    assert emu.directory.find(app_id=emu.seed.client_id).owners == set()


def test_without_application_read_all_the_rollover_is_refused_and_says_which_permission(client, emu):
    emu.graph.revoke_app_role(emu.seed.sp_object_id, "Application.Read.All")
    emu.keyvault.rotate_certificate(register=False, publish=False)
    response = client.post("rollover")
    assert response.status_code == 502, response.text
    problem = response.json()
    assert (problem["upstream"], problem["code"]) == ("graph", "Authorization_RequestDenied")
    assert "Application.Read.All" in problem["detail"]
    assert emu.counters.get("graph.addKey") == 0


@pytest.mark.parametrize(
    ("role", "owner"),
    [
        ("Application.ReadWrite.OwnedBy", True),  # what earlier versions deployed
        ("Application.ReadWrite.All", False),
        ("Directory.ReadWrite.All", False),
    ],
)
def test_a_deployment_still_holding_an_application_writing_permission_is_named(configure, emu, caplog, role, owner):
    # Bicep does not delete the grant an earlier template made: the rollover reads its own Graph
    # token's roles and says so on every run (report, ERROR log, diagnostics), without stopping.
    import logging

    caplog.set_level(logging.INFO, logger="shared.rollover")
    emu.graph.grant_app_role(emu.seed.sp_object_id, role)
    if owner:
        emu.graph.add_owner(emu.seed.sp_object_id)
    client = configure()
    second = emu.keyvault.rotate_certificate(register=False, publish=False)

    response = client.post("rollover")
    assert response.status_code == 200, response.text
    report = response.json()
    assert [a["version"] for a in report["added"]] == [second]
    assert report["excessGraphPermissions"] == [role]
    assert role in report["blocked"] and "docs/custody.md" in report["blocked"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name == "shared.rollover"]
    assert any(m.startswith("rollover: ") and role in m for m in errors), errors
    registration = client.get("diagnostics").json()["registration"]
    assert registration["excessGraphPermissions"] == [role]
    assert role in registration["actionRequired"]


def test_with_read_only_permissions_nothing_is_flagged(client, emu):
    report = client.post("rollover", dryRun="true").json()
    assert report["excessGraphPermissions"] == []
    assert report["blocked"] is None
