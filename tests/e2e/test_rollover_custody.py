"""Custody by creation time (SPEC "Certificate rollover"; shared/rollover/custody.py; docs/custody.md).

The attack, as someone holding `certificates/import` + `certificates/update` on the vault would
run it with the real azure-keyvault-certificates SDK: import a version whose key they made, then
reset the policy to issuer `Self` / not exportable. The three signals that describe the policy and
the key *now* all pass; the version is older than the policy it is judged by, so the rollover
refuses it, names it (report, log, /api/diagnostics), keeps signing with the registered version,
and registers the next renewal. Through the local Functions host on Microsoft's worker runtime.
"""

from __future__ import annotations

import hashlib
import logging
import time

import pytest
from azure.identity import ManagedIdentityCredential
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.helpers import self_signed

pytestmark = pytest.mark.e2e

REFUSED = "CertificateKeyNotVaultBound"


def thumbprint(emu, version: str) -> str:
    return hashlib.sha1(emu.keyvault.certificate_der(version)).hexdigest().upper()


def registered(emu) -> list[str]:
    return [k["customKeyIdentifier"] for k in emu.graph.key_credentials()]


def graph_writes(emu) -> int:
    return emu.counters.get("graph.addKey") + emu.counters.get("graph.removeKey")


def outside_pfx(name: str) -> bytes:
    """A certificate and key made outside the vault, as an attacker would bring them (PKCS#12)."""
    key, der = self_signed(name)
    certificate = x509.load_der_x509_certificate(der)
    return pkcs12.serialize_key_and_certificates(None, key, certificate, None, serialization.NoEncryption())


@pytest.fixture
def attacker(emu):
    """A principal holding Key Vault Certificates Officer (certificates/import and update): the
    system identity, granted the role for this test; it talks to the vault through the real SDK."""
    emu.keyvault.grant_role(emu.seed.system_mi_principal_id, "Key Vault Certificates Officer")
    credential = ManagedIdentityCredential()
    certificates = CertificateClient(emu.urls["vault"], credential, verify_challenge_resource=False)
    keys = KeyClient(emu.urls["vault"], credential, verify_challenge_resource=False)
    yield certificates, keys
    certificates.close()
    keys.close()


def import_then_reset_policy(emu, attacker) -> str:
    """The attack: returns the imported version. The policy reset lands in a later second than the
    import (Key Vault's times are whole seconds; same-second is the documented residual)."""
    certificates, keys = attacker
    name = emu.seed.certificate_name
    imported = certificates.import_certificate(name, outside_pfx(name))
    assert certificates.get_certificate_policy(name).issuer_name == "Unknown"  # Key Vault says "imported"
    while int(time.time()) <= int(imported.properties.created_on.timestamp()):
        time.sleep(0.05)
    reset = CertificatePolicy(issuer_name="Self", exportable=False, key_type="RSA", key_size=2048, reuse_key=False)
    policy = certificates.update_certificate_policy(name, reset)
    # Every signal that describes the policy or the key *now* passes...
    assert (policy.issuer_name, policy.exportable) == ("Self", False)
    key = keys.get_key(name, imported.properties.version)
    assert key.properties.exportable is None and key.properties.release_policy is None
    # ...but the version is older than the policy.
    assert policy.updated_on > imported.properties.created_on
    return imported.properties.version


def test_an_import_followed_by_a_policy_reset_is_refused_named_and_the_next_renewal_registered(
    configure,
    emu,
    attacker,
    caplog,
):
    caplog.set_level(logging.INFO, logger="shared.rollover")
    client = configure()
    first = emu.keyvault.current_version()
    imported = import_then_reset_policy(emu, attacker)
    before = registered(emu)

    dry = client.post("rollover", dryRun="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["plan"] == {"add": [], "remove": []}
    assert [r["version"] for r in dry.json()["refused"]] == [imported]

    response = client.post("rollover")
    assert response.status_code == 200, response.text  # the registered version keeps working
    report = response.json()
    (refused,) = report["refused"]
    assert (refused["version"], refused["thumbprint"]) == (imported, thumbprint(emu, imported))
    assert "before the certificate policy's last change" in refused["reason"]
    assert "--enabled false" in refused["reason"]
    (skip,) = [s for s in report["skipped"] if s.get("code") == REFUSED]
    assert (skip["action"], skip["version"], skip["thumbprint"]) == ("add", imported, thumbprint(emu, imported))
    assert report["added"] == [] and report["removed"] == []
    rows = {row["version"]: row for row in report["versions"]}
    assert (rows[imported]["state"], rows[imported]["registered"]) == ("refused", False)
    assert rows[first]["state"] == "current"
    assert imported in report["blocked"]
    assert graph_writes(emu) == 0 and registered(emu) == before
    assert thumbprint(emu, imported) not in registered(emu)
    # Named in the log (ERROR, starting "rollover": the rollover alert fires; the blocked-run metric:
    # tests/e2e/test_telemetry.py), as the CertificateImport alert's text says it would be.
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name == "shared.rollover"]
    assert any(m.startswith("rollover refused") and imported in m for m in errors), errors
    # ...and in /api/diagnostics, both as the last run saw it and read live.
    for params in ({}, {"registration": "true"}):
        registration = client.get("diagnostics", **params).json()["registration"]
        assert [r["version"] for r in registration["refused"]] == [imported]
        assert imported in registration["actionRequired"]
    assert client.get("diagnostics").json()["certificate"]["version"] == first  # still signing with it

    # Key Vault's next renewal (created after the policy change) is registered.
    renewal = emu.keyvault.rotate_certificate(register=False, publish=False)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    report = response.json()
    assert [a["version"] for a in report["added"]] == [renewal]
    assert report["refused"] == []
    assert thumbprint(emu, renewal) in registered(emu) and thumbprint(emu, imported) not in registered(emu)
    assert client.get("diagnostics").json()["certificate"]["version"] == renewal


def test_the_refusal_holds_on_every_run_and_every_trigger_until_the_version_is_disabled(
    master_key, configure, emu, attacker
):
    from emulator.eventgrid import deliver

    client = configure()
    imported = import_then_reset_policy(emu, attacker)
    event = emu.keyvault.certificate_event("Microsoft.KeyVault.CertificateNewVersionCreated", imported)
    assert deliver(client.base_url, "rollover_event", [event], master_key=master_key).status_code == 202
    for _ in range(2):
        assert [r["version"] for r in client.post("rollover").json()["refused"]] == [imported]
    assert thumbprint(emu, imported) not in registered(emu)
    assert graph_writes(emu) == 0
    # Disabled, as the refusal says: no longer a candidate, nothing left to refuse.
    emu.keyvault.update_certificate_version(imported, enabled=False)
    report = client.post("rollover").json()
    assert report["refused"] == [] and report["blocked"] is None


def test_a_version_created_with_its_policy_in_the_same_second_is_registered(configure, emu):
    # `az keyvault certificate create --policy` on an existing certificate: the policy changes and
    # the version is created at once (same second). Not older than its policy: registered.
    client = configure()
    emu.keyvault.set_certificate_policy(issuer="Self", exportable=False)
    _, updated = emu.keyvault.policy_times()
    renewal = emu.keyvault.rotate_certificate(register=False, publish=False, created=updated)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert [a["version"] for a in response.json()["added"]] == [renewal]


def test_a_later_policy_change_does_not_disown_the_registered_key(configure, emu):
    # An innocent policy update (e.g. another lifetime action) after the version in use was
    # registered: that version is not judged by the creation-time rule again.
    client = configure()
    first = emu.keyvault.current_version()
    emu.keyvault.set_certificate_policy(issuer="Self", exportable=False)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["refused"] == [] and report["blocked"] is None
    assert {row["version"]: row["state"] for row in report["versions"]}[first] == "current"


def test_a_back_dated_renewal_older_than_the_policy_is_refused_even_without_an_import(configure, emu):
    # Whatever made it: a version older than the policy is judged by a policy that did not govern it.
    client = configure()
    old = emu.keyvault.rotate_certificate(register=False, publish=False, created=time.time() - 3600)
    emu.keyvault.set_certificate_policy(issuer="Self", exportable=False)
    report = client.post("rollover").json()
    assert [r["version"] for r in report["refused"]] == [old]
    assert thumbprint(emu, old) not in registered(emu)


def test_an_hsm_backed_version_is_registered_and_signs(configure, emu, attacker):
    # keyVaultSku=premium: the certificate policy's key type is RSA-HSM (scripts/cert-policy.template.json).
    client = configure()
    hsm = emu.keyvault.rotate_certificate(register=False, publish=False, hsm=True)
    certificates, keys = attacker
    assert certificates.get_certificate_policy(emu.seed.certificate_name).key_type == "RSA-HSM"
    assert keys.get_key(emu.seed.certificate_name, hsm).key_type == "RSA-HSM"
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert [a["version"] for a in response.json()["added"]] == [hsm]
    assert response.json()["successorToken"] == {"version": hsm, "obtained": True}
    assert client.get("diagnostics").json()["certificate"]["version"] == hsm
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
