"""Certificate rollover end to end: Key Vault renewals registered with Graph addKey and superseded keys
retired with removeKey, through the route, the timer (admin API) and Event Grid (webhook), with the
real SDKs against the emulator, through the local Functions host."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from emulator.directory import KeyCredential
from emulator.eventgrid import deliver
from shared.rollover.model import registration_name
from shared.runtime import Runtime
from shared.settings import load_settings
from tests.helpers import self_signed

pytestmark = pytest.mark.e2e

NEW_VERSION = "Microsoft.KeyVault.CertificateNewVersionCreated"
NEAR_EXPIRY = "Microsoft.KeyVault.CertificateNearExpiry"


def thumbprint(emu, version):
    return hashlib.sha1(emu.keyvault.certificate_der(version)).hexdigest().upper()


def registered(emu):
    return sorted(k["customKeyIdentifier"] for k in emu.graph.key_credentials())


def rollover(client, status=200, **params):
    response = client.post("rollover", **params)
    assert response.status_code == status, response.text
    return response.json()


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def registered_days_ago(emu, version, days):
    """Back-dates the rollover's registration record of a version (the displayName its addKey set)."""
    der = emu.keyvault.certificate_der(version)
    (credential,) = [k for k in emu.directory.key_credentials() if k.der == der]
    assert credential.display_name.startswith("rollover registered ")
    when = datetime.now(UTC) - timedelta(days=days)
    emu.directory.update_key_credential(credential.key_id, display_name=registration_name(when))


def renew_30_days_ago(emu):
    """A renewal valid for 30 days already (nobody registered it); it lasts longer than the first."""
    now = datetime.now(UTC)
    return renew(emu, not_before=now - timedelta(days=30), expires_on=now + timedelta(days=400))


def renew(emu, **kwargs):
    """Key Vault renews the certificate: a new current version nobody has registered yet."""
    return emu.keyvault.rotate_certificate(register=False, publish=False, **kwargs)


# ---------------------------------------------------------------- the three ways in


def test_route_registers_the_renewal_and_the_function_switches_to_it(client, emu):
    first = emu.keyvault.current_version()
    second = renew(emu)
    # The renewal is not registered: the function falls back to the older version meanwhile.
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert client.get("diagnostics").json()["certificate"]["fallback"] is True

    report = rollover(client)

    assert report["dryRun"] is False
    assert [(a["version"], a["thumbprint"], a["proofSignedBy"]) for a in report["added"]] == [
        (second, thumbprint(emu, second), first)
    ]
    assert report["removed"] == []
    assert registered(emu) == sorted([thumbprint(emu, first), thumbprint(emu, second)])
    # A fresh token was obtained with the new version, and the function signs with it from now on.
    assert report["successorToken"] == {"version": second, "obtained": True}
    certificate = client.get("diagnostics").json()["certificate"]
    assert (certificate["version"], certificate["fallback"]) == (second, False)
    rows = {row["version"]: row for row in report["versions"]}
    assert (rows[second]["state"], rows[second]["registered"], rows[second]["inUse"]) == ("current", True, True)
    assert rows[first]["state"] == "superseded" and rows[first]["daysToExpiry"] >= 364
    # The old key stays for the grace period (7 days by default): said so, with the date.
    (kept,) = [s for s in report["skipped"] if s.get("version") == first]
    assert "grace period of 7 days starts now" in kept["reason"]
    assert emu.counters.get("graph.addKey") == 1


def test_a_second_run_changes_nothing(client, emu):
    renew(emu)
    rollover(client)
    counters = emu.counters.snapshot()
    again = rollover(client)
    assert (again["added"], again["removed"], again["plan"]["add"]) == ([], [], [])
    assert emu.counters.get("graph.addKey") == counters["graph.addKey"] == 1
    assert emu.counters.get("graph.removeKey") == 0


@pytest.mark.parametrize(
    ("grace_days", "days_ago"),
    [
        pytest.param(None, 8, id="default grace of 7 days"),
        pytest.param("1", 2, id="grace of 1 day"),
    ],
)
def test_after_the_grace_period_from_the_registration_the_old_key_is_removed(configure, emu, grace_days, days_ago):
    client = configure(ROLLOVER_GRACE_DAYS=grace_days)
    first = emu.keyvault.current_version()
    # A renewal Key Vault made 30 days ago that nobody registered (the rollover was broken): the
    # grace period counts from its registration, not from its notBefore.
    second = renew_30_days_ago(emu)

    report = rollover(client)
    assert [a["version"] for a in report["added"]] == [second]
    assert report["removed"] == []
    (kept,) = [s for s in report["skipped"] if s.get("version") == first]
    assert "registered in this run" in kept["reason"]
    assert rollover(client)["removed"] == []  # still within the grace period

    registered_days_ago(emu, second, days_ago)
    report = rollover(client)
    assert report["successorToken"]["obtained"] is True
    assert [(r["version"], r["thumbprint"]) for r in report["removed"]] == [(first, thumbprint(emu, first))]
    assert "grace period" in report["removed"][0]["reason"]
    assert report["removed"][0]["proofSignedBy"] == second
    assert registered(emu) == [thumbprint(emu, second)]
    assert report["noValidKeyAfter"] is not None
    # Entra now accepts only the new version: a fresh process signs with it and is served.
    fresh = configure(ROLLOVER_GRACE_DAYS=grace_days)
    assert fresh.get("cosmos/cosmos-orders/keys").status_code == 200
    assert fresh.get("diagnostics").json()["certificate"]["version"] == second
    assert rollover(fresh)["removed"] == []


def test_event_grid_event_registers_the_renewal_within_seconds(master_key, client, emu):
    emu.eventgrid.subscribe(client.base_url, "rollover_event", master_key, subject=emu.seed.certificate_name)
    second = emu.keyvault.rotate_certificate(register=False)  # publishes CertificateNewVersionCreated
    assert wait_for(lambda: thumbprint(emu, second) in registered(emu))
    assert emu.eventgrid.wait_idle()
    assert [d.status for d in emu.eventgrid.deliveries()] == [202]
    # At-least-once delivery: the same event again, or a NearExpiry, changes nothing.
    event = emu.keyvault.certificate_event(NEW_VERSION, second)
    for repeated in (event, event, emu.keyvault.certificate_event(NEAR_EXPIRY)):
        assert deliver(client.base_url, "rollover_event", [repeated], master_key=master_key).status_code == 202
    assert emu.counters.get("graph.addKey") == 1
    assert len(registered(emu)) == 2


def test_timer_registers_the_renewal(master_key, client, emu):
    second = renew(emu)
    response = requests.post(
        f"{client.base_url}/admin/functions/rollover_timer",
        json={"input": ""},
        headers={"x-functions-key": master_key},
        timeout=60,
    )
    assert response.status_code == 202
    assert wait_for(lambda: thumbprint(emu, second) in registered(emu))


# ---------------------------------------------------------------- dry run, inputs, callers


def test_dry_run_changes_nothing(client, emu):
    first = emu.keyvault.current_version()
    second = renew_30_days_ago(emu)
    before = emu.graph.key_credentials()
    report = rollover(client, dryRun="true")
    assert report["dryRun"] is True
    assert report["plan"]["add"] == [{"version": second, "thumbprint": thumbprint(emu, second)}]
    assert report["plan"]["remove"] == []  # the grace period starts when it is registered
    assert (report["added"], report["removed"]) == ([], [])
    assert emu.graph.key_credentials() == before
    assert emu.counters.get("graph.addKey") + emu.counters.get("graph.removeKey") == 0
    # Registered 8 days ago: the plan retires the first version, after a token with the second.
    rollover(client)
    registered_days_ago(emu, second, 8)
    before = emu.graph.key_credentials()
    report = rollover(client, dryRun="true")
    assert [(r["version"], r["afterTokenWithSuccessor"]) for r in report["plan"]["remove"]] == [(first, True)]
    assert report["removed"] == []
    assert emu.graph.key_credentials() == before
    assert emu.counters.get("graph.removeKey") == 0


@pytest.mark.parametrize("value", ["", "yes", "TRUE1", "0"])
def test_dry_run_must_be_true_or_false(client, emu, value):
    response = client.post("rollover", dryRun=value)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "dryRun" in response.json()["detail"]
    assert emu.counters.get("graph.get_application") == 0


def test_rollover_needs_a_function_key(client):
    assert client.post("rollover", key=False).status_code == 401


def test_with_caller_tokens_the_rollover_needs_rollover_write(configure, emu):
    audience = emu.seed.api_app_id_uri
    client = configure(CALLER_AUDIENCE=audience)
    # The caller is authenticated before the query is judged.
    assert client.post("rollover", dryRun="maybe").status_code == 401
    other = emu.entra.mint_caller_token(audience=audience, roles=["Diagnostics.Read"])
    response = client.post("rollover", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 403
    assert "Rollover.Write" in response.json()["detail"]
    allowed = emu.entra.mint_caller_token(audience=audience, roles=["Rollover.Write"])
    assert client.post("rollover", dryRun="true", headers={"Authorization": f"Bearer {allowed}"}).status_code == 200


# ---------------------------------------------------------------- what is never removed


def test_another_teams_key_and_the_last_valid_key_are_never_removed(client, emu):
    _, team_b = self_signed("team-b")
    emu.entra.register_certificate(team_b)
    team_b_thumbprint = hashlib.sha1(team_b).hexdigest().upper()
    first = emu.keyvault.current_version()
    report = rollover(client)  # nothing superseded: the only version of this certificate stays
    assert (report["added"], report["removed"]) == ([], [])
    assert any(s.get("thumbprint") == team_b_thumbprint and "not a version" in s["reason"] for s in report["skipped"])
    second = renew_30_days_ago(emu)
    assert rollover(client)["added"] != []
    registered_days_ago(emu, second, 8)
    report = rollover(client)
    assert [r["version"] for r in report["removed"]] == [first]
    assert registered(emu) == sorted([team_b_thumbprint, thumbprint(emu, second)])


def test_without_a_registered_valid_version_the_rollover_names_the_thumbprint_to_register(client, emu, caplog):
    caplog.set_level(logging.ERROR, logger="shared.rollover")
    first = emu.keyvault.current_version()
    # Graph and ARM tokens are cached from here on (valid for an hour after the key went bad).
    rollover(client, dryRun="true")
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    second = renew(emu)
    emu.keyvault.update_certificate_version(first, enabled=False)  # the registered one can no longer sign
    response = client.post("rollover")
    assert response.status_code == 502
    body = response.json()
    assert (body["upstream"], body["code"]) == ("graph", "CertificateNotRegistered")
    assert (body["thumbprint"], body["version"]) == (thumbprint(emu, second), second)
    assert thumbprint(emu, second) in body["detail"] and "by hand" in body["detail"]
    assert emu.counters.get("graph.addKey") == 0
    assert any("rollover blocked" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    registration = client.get("diagnostics", registration="true").json()["registration"]
    assert thumbprint(emu, second) in registration["actionRequired"]
    assert registration["lastRun"]["blocked"]
    # Registered by hand (the operator's fix), the next run proceeds.
    emu.entra.register_certificate(emu.keyvault.certificate_der(second))
    assert rollover(client)["blocked"] is None


def test_without_any_accepted_version_even_reading_the_app_names_the_thumbprint(client, emu):
    first = emu.keyvault.current_version()
    second = renew(emu)
    emu.keyvault.update_certificate_version(first, enabled=False)
    body = client.post("rollover").json()  # no token for Graph can be obtained at all
    assert (body["status"], body["code"]) == (502, "AADSTS700027")
    assert thumbprint(emu, second) in body["detail"]


def test_duplicate_registrations_are_reduced_to_the_lowest_key_id(client, emu):
    der = emu.keyvault.certificate_der()
    extra = emu.directory.add_key_credential(
        KeyCredential.from_certificate(
            der,
        ),
        app_id=None,
    )
    ids = sorted(k["keyId"].lower() for k in emu.graph.key_credentials())
    assert len(ids) == 2
    report = rollover(client)
    assert [r["keyId"] for r in report["removed"]] == [ids[1]]
    assert [k["keyId"].lower() for k in emu.graph.key_credentials()] == [ids[0]]
    assert extra.key_id.lower() in ids


def test_two_concurrent_runs_leave_no_duplicate_and_keep_the_key_in_use(client, emu):
    first = emu.keyvault.current_version()
    second = renew(emu)
    # Another instance of the function app: its own clients, caches and lock.
    other = Runtime(load_settings(dict(os.environ)))
    results: list[object] = []

    def other_instance():
        try:
            results.append(other.require_rollover().run(dry_run=False, trigger="timer"))
        except Exception as exc:  # reported below
            results.append(exc)

    thread = threading.Thread(target=other_instance)
    thread.start()
    response = client.post("rollover")
    thread.join(60)
    other.close()
    assert response.status_code == 200, response.text
    assert isinstance(results[0], dict), results
    assert registered(emu) == sorted([thumbprint(emu, first), thumbprint(emu, second)])
    assert rollover(client)["added"] == []


# ---------------------------------------------------------------- failures converge


@pytest.mark.parametrize(
    ("phase", "operation", "let_through"),
    [
        pytest.param("add", "graph.get_application", 1, id="re-read before addKey"),
        pytest.param("add", "graph.addKey", 0, id="addKey"),
        pytest.param("add", "graph.get_application", 2, id="re-read after addKey"),
        pytest.param("add", "keyvault.sign", 2, id="signing the proof"),
        pytest.param("add", "entra.token", 1, id="token with the new version"),
        pytest.param("remove", "entra.token", 0, id="token before removeKey"),
        pytest.param("remove", "keyvault.sign", 1, id="signing the removeKey proof"),
        pytest.param("remove", "graph.removeKey", 0, id="removeKey"),
        pytest.param("remove", "graph.get_application", 1, id="re-read after removeKey"),
    ],
)
def test_a_failure_at_any_step_converges_on_the_next_run(client, emu, phase, operation, let_through):
    first = emu.keyvault.current_version()
    second = renew_30_days_ago(emu)
    if phase == "remove":  # registered a while ago: this run retires the first version
        rollover(client)
        registered_days_ago(emu, second, 8)
    if let_through:
        emu.faults.inject(operation, delay=0.01, times=let_through)  # these calls succeed
    emu.faults.inject(operation, status=500, times=None)  # then the step fails (a crash there)
    response = client.post("rollover")
    assert response.status_code in (502, 503, 504), response.text
    assert response.json()["upstream"] in ("graph", "keyvault", "entra")
    assert len(emu.graph.key_credentials()) <= 2
    emu.faults.clear()
    last_run = client.get("diagnostics").json()["registration"]["lastRun"]
    assert last_run["failed"]["status"] == response.status_code
    report = rollover(client)
    assert report["blocked"] is None
    if phase == "add":
        assert registered(emu) == sorted([thumbprint(emu, first), thumbprint(emu, second)])
    else:
        assert registered(emu) == [thumbprint(emu, second)]
    again = rollover(client)
    assert (again["added"], again["removed"]) == ([], [])


def test_graph_throttling_is_a_503_with_retry_after(client, emu):
    renew(emu)
    emu.faults.inject("graph.get_application", status=429, retry_after=0, times=None)
    response = client.post("rollover")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert (response.json()["upstream"], response.json()["code"]) == ("graph", "TooManyRequests")


def test_graph_403_names_the_read_permission(client, emu):
    emu.graph.revoke_app_role(emu.seed.sp_object_id, "Application.Read.All")
    response = client.post("rollover")
    assert response.status_code == 502
    body = response.json()
    assert (body["upstream"], body["code"]) == ("graph", "Authorization_RequestDenied")
    assert "Application.Read.All" in body["detail"]
    assert "ReadWrite" not in body["detail"] and "owner" not in body["detail"]


def test_key_vault_403_on_listing_versions_names_the_role(client, emu):
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200  # the chain ran before the change
    emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, "Key Vault Reader")
    response = client.post("rollover")
    assert response.status_code == 502
    body = response.json()
    assert body["upstream"] == "keyvault"
    assert "Key Vault Reader" in body["detail"]


# ---------------------------------------------------------------- the proof


def _tamper(monkeypatch, kind):
    import shared.rollover.proof as proof

    original_claims, original_header = proof.proof_claims, proof.proof_header
    if kind == "audience":
        monkeypatch.setattr(proof, "GRAPH_PROOF_AUDIENCE", "00000003-0000-0000-c000-000000000000")
    elif kind == "lifetime":
        monkeypatch.setattr(proof, "PROOF_LIFETIME_SECONDS", 900)
    elif kind == "issuer":
        monkeypatch.setattr(
            proof, "proof_claims", lambda **kw: {**original_claims(**kw), "iss": "11111111-1111-1111-1111-111111111111"}
        )
    elif kind == "expired":

        def expired(**kw):
            claims = original_claims(**kw)
            return {**claims, "nbf": claims["nbf"] - 3600, "exp": claims["nbf"] - 3000}

        monkeypatch.setattr(proof, "proof_claims", expired)
    elif kind == "key_not_registered":
        monkeypatch.setattr(proof, "proof_header", lambda c: {**original_header(c), "x5t": "A" * 27, "kid": "0" * 40})
    elif kind == "padding":
        original = proof.signing_input
        monkeypatch.setattr(proof, "signing_input", lambda h, c: original(h, c).replace(".", "=.", 1))


@pytest.mark.parametrize("kind", ["padding", "audience", "issuer", "lifetime", "expired", "key_not_registered"])
def test_each_proof_error_is_a_clear_problem_and_changes_nothing(client, emu, monkeypatch, kind):
    renew(emu)
    before = registered(emu)
    _tamper(monkeypatch, kind)
    response = client.post("rollover")
    assert response.status_code == 502, response.text
    body = response.json()
    assert (body["upstream"], body["code"]) == ("graph", "Authentication_MissingOrMalformed")
    assert "proof of possession" in body["detail"]
    assert registered(emu) == before
    assert emu.graph.proof_refusals and emu.graph.proof_refusals[-1] == kind


# ---------------------------------------------------------------- events that are not ours


def _event(emu, version, **changes):
    event = emu.keyvault.certificate_event(NEW_VERSION, version)
    data = dict(event["data"], **changes.pop("data", {}))
    return {**event, "data": data, **changes}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"eventType": "Microsoft.KeyVault.CertificateExpired"}, id="other type"),
        pytest.param({"eventType": "Microsoft.KeyVault.SecretNewVersionCreated"}, id="secret event"),
        pytest.param(
            {"data": {"Id": "https://other-kv.vault.azure.net/certificates/broker-signing/abc"}}, id="other vault"
        ),
        pytest.param({"subject": "other-cert", "data": {"ObjectName": "other-cert"}}, id="other object"),
        pytest.param({"data": {"ObjectType": "Key"}}, id="other object type"),
        pytest.param({"data": "not an object"}, id="invalid data"),
    ],
)
def test_events_for_other_vaults_objects_or_types_are_ignored_and_logged(master_key, client, emu, caplog, change):
    caplog.set_level(logging.INFO, logger="shared.rollover")
    second = renew(emu)
    event = _event(emu, second) if "data" not in change or isinstance(change["data"], dict) else None
    if event is None:
        event = {**emu.keyvault.certificate_event(NEW_VERSION, second), **change}
    else:
        event = _event(emu, second, **change)
    response = deliver(client.base_url, "rollover_event", [event], master_key=master_key)
    assert response.status_code == 202  # acknowledged, never redelivered
    assert thumbprint(emu, second) not in registered(emu)
    assert emu.counters.get("graph.get_application") == 0
    assert any("rollover event ignored" in r.getMessage() for r in caplog.records)


def test_a_throttled_event_run_fails_so_event_grid_redelivers(master_key, client, emu):
    second = renew(emu)
    event = emu.keyvault.certificate_event(NEW_VERSION, second)
    emu.faults.inject("graph.get_application", status=429, retry_after=0, times=None)
    assert deliver(client.base_url, "rollover_event", [event], master_key=master_key).status_code == 500
    emu.faults.clear()
    assert deliver(client.base_url, "rollover_event", [event], master_key=master_key).status_code == 202
    assert thumbprint(emu, second) in registered(emu)


# ---------------------------------------------------------------- settings and modes


@pytest.mark.parametrize("mode", ["federated-managed-identity", "managed-identity"])
def test_certificate_less_modes_answer_409(configure, emu, mode):
    response = configure(mode).post("rollover")
    assert response.status_code == 409
    assert "CREDENTIAL_MODE=keyvault" in response.json()["detail"]
    assert emu.counters.get("graph.get_application") == 0


def test_without_the_application_object_id_only_the_rollover_is_unavailable(master_key, configure, emu):
    client = configure(ENTRA_APPLICATION_OBJECT_ID=None)
    response = client.post("rollover")
    assert response.status_code == 503
    assert response.json()["missing"] == ["ENTRA_APPLICATION_OBJECT_ID"]
    health = client.get("health", key=False)
    assert health.status_code == 200
    assert health.json()["rollover"]["missing"] == ["ENTRA_APPLICATION_OBJECT_ID"]
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    # The timer and Event Grid functions log and drop instead of failing forever.
    event = emu.keyvault.certificate_event(NEW_VERSION)
    assert deliver(client.base_url, "rollover_event", [event], master_key=master_key).status_code == 202


def test_an_object_id_of_no_application_is_a_502_naming_the_setting(configure, emu):
    client = configure(ENTRA_APPLICATION_OBJECT_ID="6a3c2a4e-0000-4000-8000-000000000000")
    body = client.post("rollover").json()
    assert (body["status"], body["upstream"], body["code"]) == (502, "graph", "Request_ResourceNotFound")
    assert "ENTRA_APPLICATION_OBJECT_ID" in body["detail"]


def test_diagnostics_shows_every_versions_registration_and_the_last_valid_date(client, emu):
    first = emu.keyvault.current_version()
    assert client.get("diagnostics").json()["registration"]["asOf"] is None
    second = renew(emu)
    registration = client.get("diagnostics", registration="true").json()["registration"]
    rows = {row["version"]: row for row in registration["versions"]}
    assert (rows[first]["registered"], rows[second]["registered"]) == (True, False)
    # Only the first version's key is registered: its end (the certificate's or the key's) is the limit.
    until = registration["noValidKeyAfter"]
    assert until is not None and until[:4] == rows[first]["expiresOn"][:4]
    assert emu.counters.get("graph.addKey") == 0
    rollover(client)
    registration = client.get("diagnostics").json()["registration"]
    rows = {row["version"]: row for row in registration["versions"]}
    assert rows[second]["registered"] is True
    assert registration["noValidKeyAfter"] >= until
    assert registration["lastRun"]["trigger"] == "http"
    assert client.get("diagnostics", registration="maybe").status_code == 400


def test_an_event_for_a_misconfigured_app_is_logged_and_dropped(master_key, configure, emu, caplog):
    caplog.set_level(logging.ERROR, logger="shared.rollover")
    client = configure(ENTRA_TENANT_ID=None)
    event = emu.keyvault.certificate_event(NEW_VERSION)
    assert deliver(client.base_url, "rollover_event", [event], master_key=master_key).status_code == 202
    assert any("misconfigured (ENTRA_TENANT_ID)" in r.getMessage() for r in caplog.records)
    assert emu.counters.get("graph.get_application") == 0
