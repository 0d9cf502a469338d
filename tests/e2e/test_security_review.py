"""Attacks from the security review of issue 14 (docs/security-review.md), run end to end.

Someone holding ``keys/sign`` on the vault can act as the app: Key Vault signs their client
assertion (the app's Graph token) and their proof of possession. With Application.Read.All alone
Graph refuses them a password or a federated credential, but ``addKey`` needs no permission on the
app itself, only that proof: they can register a certificate of their own, a credential outside
Key Vault that outlives their role. The product cannot stop Graph from accepting it; it must not be
silent about it either. Every rollover run reads the app's credentials, so it names each one that
is no version of the vault's certificate (a certificate from elsewhere, a client secret): in the
report, /api/diagnostics, an ERROR log line (the rollover alert) and a ``blocked`` run. It never
removes one.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid

import pytest
import requests

from emulator.directory import PasswordCredential
from shared.runtime import get_runtime
from tests.emulator.emu_support import LocalCert

pytestmark = pytest.mark.e2e


def _add_own_certificate_as_a_keys_sign_holder(emu, der: bytes) -> str:
    """addKey as the attacker runs it: the app's own Graph token and a proof signed by Key Vault
    (the product's own chain and ProofBuilder, i.e. exactly what keys/sign lets one do)."""
    runtime = get_runtime()
    token = runtime.tokens.get(runtime.settings.graph_scope).token
    rollover = runtime.require_rollover()
    proof = rollover._proof(runtime.certificates.current())
    response = requests.post(
        f"{emu.urls['graph']}/v1.0/applications/{emu.seed.app_object_id}/addKey",
        json={
            "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode()},
            "passwordCredential": None,
            "proof": proof,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["keyId"].lower()


def test_a_certificate_added_from_outside_the_vault_is_named_and_never_removed(client, emu, caplog):
    caplog.set_level(logging.INFO, logger="shared.rollover")
    assert client.post("rollover", dryRun="true").json()["foreignCredentials"] == []
    outside = LocalCert(days_valid=400)
    key_id = _add_own_certificate_as_a_keys_sign_holder(emu, outside.der)

    response = client.post("rollover")
    assert response.status_code == 200, response.text
    report = response.json()
    [named] = report["foreignCredentials"]
    assert named["keyId"] == key_id and named["type"] == "AsymmetricX509Cert"
    assert named["thumbprint"] == hashlib.sha1(outside.der).hexdigest().upper()
    assert key_id in report["blocked"] and "not a version of certificate" in report["blocked"]
    assert report["removed"] == [] and emu.counters.get("graph.removeKey") == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and r.name == "shared.rollover"]
    assert any(m.startswith("rollover: ") and key_id in m for m in errors), errors
    registration = client.get("diagnostics").json()["registration"]
    assert [c["keyId"] for c in registration["foreignCredentials"]] == [key_id]
    assert key_id in registration["actionRequired"]
    # Still there: the rollover names it, an operator removes it.
    assert key_id in [k["keyId"].lower() for k in emu.graph.key_credentials()]


def test_a_client_secret_on_the_app_is_named(client, emu):
    secret = PasswordCredential(str(uuid.uuid4()), "ci-pipeline", "abc", time.time() - 60, time.time() + 86400)
    emu.directory.add_password_credential(secret)
    report = client.post("rollover", dryRun="true").json()
    assert [(c["keyId"], c["type"], c["displayName"]) for c in report["foreignCredentials"]] == [
        (secret.key_id, "Password", "ci-pipeline")
    ]
    assert secret.key_id in report["blocked"]
