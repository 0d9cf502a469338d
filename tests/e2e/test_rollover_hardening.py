"""Rollover hardening (security review REVIEW-1): inputs that might have meant something else are
refused, versions whose private key may exist outside the vault are never registered, the grace
period counts from the successor's registration, Graph writes are reconciled rather than retried,
and malformed Event Grid events are dropped. Real SDKs over HTTPS against the emulator, through
the local Functions host."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import assert_conforms

pytestmark = pytest.mark.e2e


def renew(emu, **kwargs):
    return emu.keyvault.rotate_certificate(register=False, publish=False, **kwargs)


def graph_writes(emu):
    return emu.counters.get("graph.addKey") + emu.counters.get("graph.removeKey")


# ---------------------------------------------------------------- 2. nothing that might have meant dryRun


@pytest.mark.parametrize(
    "query",
    [
        "dryrun=true",
        "DryRun=true",
        "dry_run=true",
        "dryRun%20=true",
        "DRYRUN=true",
        "dryRun=true&dryRun=false",
        "dryRun=true&force=1",
    ],
)
def test_a_misspelt_or_unknown_query_parameter_is_refused_and_changes_nothing(client, emu, function_key, query):
    renew(emu)
    before = emu.graph.key_credentials()
    response = requests.post(
        f"{client.base_url}/api/rollover?{query}", headers={"x-functions-key": function_key}, timeout=60
    )
    assert_conforms(response)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "nothing was changed" in response.json()["detail"].lower()
    assert graph_writes(emu) == 0
    assert emu.counters.get("graph.get_application") == 0
    assert emu.graph.key_credentials() == before


@pytest.mark.parametrize("body", [b'{"dryRun": true}', b"dryRun=true", b"x"])
def test_a_request_body_is_refused_and_changes_nothing(client, emu, function_key, body):
    renew(emu)
    response = requests.post(
        f"{client.base_url}/api/rollover?dryRun=false",
        data=body,
        headers={"x-functions-key": function_key, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert "no request body" in response.json()["detail"]
    assert graph_writes(emu) == 0


@pytest.mark.parametrize("body", [b"", b"{}", b" null "])
def test_an_empty_body_is_no_body(client, emu, function_key, body):
    response = requests.post(
        f"{client.base_url}/api/rollover?dryRun=true",
        data=body,
        headers={"x-functions-key": function_key, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["dryRun"] is True


def test_the_function_key_as_code_query_parameter_is_accepted(client, emu, function_key):
    response = requests.post(f"{client.base_url}/api/rollover?dryRun=true&code={function_key}", timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["dryRun"] is True


# ---------------------------------------------------------------- 5. malformed Event Grid events are dropped

NEW_VERSION = "Microsoft.KeyVault.CertificateNewVersionCreated"


def _malformed(good):
    data = good["data"]
    return {
        "eventType-list": {**good, "eventType": [NEW_VERSION]},
        "eventType-object": {**good, "eventType": {"a": 1}},
        "eventType-number": {**good, "eventType": 7},
        "subject-number": {**good, "subject": 5},
        "subject-list": {**good, "subject": ["broker-signing"]},
        "data-list": {**good, "data": [1, 2]},
        "data-null": {**good, "data": None},
        "Id-number": {**good, "data": {**data, "Id": 5}},
        "Id-bad-port": {**good, "data": {**data, "Id": "https://x:99999/certificates/a"}},
        "VaultName-list": {**good, "data": {k: v for k, v in data.items() if k != "Id"} | {"VaultName": ["a"]}},
        "ObjectType-object": {**good, "data": {**data, "ObjectType": {"x": 1}}},
        "ObjectName-list": {**good, "data": {**data, "ObjectName": ["broker-signing"]}},
        "Version-object": {**good, "data": {**data, "Version": {"x": 1}}},
    }


@pytest.mark.parametrize("variant", sorted(_malformed({"data": {}})))
def test_a_malformed_event_is_logged_and_dropped_not_a_500(master_key, client, emu, caplog, variant):
    import logging

    from emulator.eventgrid import deliver

    caplog.set_level(logging.INFO, logger="shared.rollover")
    second = renew(emu)
    event = _malformed(emu.keyvault.certificate_event(NEW_VERSION, second))[variant]
    response = deliver(client.base_url, "rollover_event", [event], master_key=master_key)
    assert response.status_code == 202, response.text  # acknowledged: Event Grid does not redeliver it
    assert emu.counters.get("graph.get_application") == 0
    messages = [r.getMessage() for r in caplog.records if r.name == "shared.rollover"]
    assert any(("rollover event ignored" in m and "invalid event" in m) or "dropped" in m for m in messages), messages


# ---------------------------------------------------------------- 1. only keys that cannot leave the vault


def _thumbprint(emu, version):
    import hashlib

    return hashlib.sha1(emu.keyvault.certificate_der(version)).hexdigest().upper()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda kv: kv.rotate_certificate(register=False, publish=False, imported=True), id="imported"),
        pytest.param(lambda kv: kv.rotate_certificate(register=False, publish=False, exportable=True), id="exportable"),
        pytest.param(
            lambda kv: (
                kv.rotate_certificate(register=False, publish=False),
                kv.set_certificate_policy(issuer="DigiCert"),
            )[0],
            id="issuer not Self",
        ),
    ],
)
def test_a_version_whose_key_may_exist_outside_the_vault_is_never_registered(configure, emu, caplog, make):
    # The policy *now* names another issuer or allows export: no version is accepted, not even the
    # registered one, so nothing can take over and the run is a 409. (An import followed by a policy
    # reset to Self: tests/e2e/test_rollover_custody.py.)
    import logging

    caplog.set_level(logging.INFO, logger="shared.rollover")
    client = configure()
    first = emu.keyvault.current_version()
    outsider = make(emu.keyvault)
    before = emu.graph.key_credentials()

    dry = client.post("rollover", dryRun="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["plan"] == {"add": [], "remove": []}
    assert outsider in dry.json()["blocked"]

    response = client.post("rollover")
    assert response.status_code == 409, response.text
    problem = response.json()
    assert (problem["code"], problem["upstream"], problem["version"]) == (
        "CertificateKeyNotVaultBound",
        "keyvault",
        outsider,
    )
    assert problem["thumbprint"] == _thumbprint(emu, outsider)
    assert "outside Key Vault" in problem["detail"] and "--enabled false" in problem["detail"]
    assert graph_writes(emu) == 0
    assert emu.graph.key_credentials() == before
    assert _thumbprint(emu, outsider) not in [k["customKeyIdentifier"] for k in before]
    assert any(r.levelname == "ERROR" and "rollover blocked" in r.getMessage() for r in caplog.records)
    registration = client.get("diagnostics", registration="true").json()["registration"]
    assert outsider in registration["actionRequired"]
    # The function keeps signing with the registered version meanwhile.
    assert client.get("diagnostics").json()["certificate"]["version"] == first


def test_once_the_outside_version_is_disabled_the_rollover_proceeds(configure, emu):
    client = configure()
    outsider = emu.keyvault.rotate_certificate(register=False, publish=False, imported=True)
    assert client.post("rollover").status_code == 409
    emu.keyvault.update_certificate_version(outsider, enabled=False)
    good = emu.keyvault.rotate_certificate(register=False, publish=False)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert [a["version"] for a in response.json()["added"]] == [good]


def test_a_key_bundle_without_an_exportable_flag_is_not_exportable_and_is_registered(configure, emu):
    # Key Vault's KeyBundle for a certificate's key carries no `exportable` unless the key has a
    # release policy (AZURE-PROTOCOLS §1.4); the emulator leaves it out the same way.
    client = configure()
    second = renew(emu)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert [a["version"] for a in response.json()["added"]] == [second]


@pytest.mark.parametrize("imported", [False, True], ids=["created in the vault", "imported"])
def test_without_the_policy_route_the_policy_comes_from_the_certificate_bundle(configure, emu, imported):
    client = configure()
    second = renew(emu, imported=imported)
    emu.faults.inject("keyvault.get_certificate_policy", status=404, times=None)
    response = client.post("rollover")
    if imported:
        assert response.status_code == 409, response.text
        assert response.json()["version"] == second
        assert graph_writes(emu) == 0
    else:
        assert response.status_code == 200, response.text
        assert [a["version"] for a in response.json()["added"]] == [second]
    assert emu.counters.get("keyvault.get_certificate_policy") >= 1


# ---------------------------------------------------------------- 6. Graph writes are reconciled, not resent


def test_an_add_key_that_applied_behind_a_5xx_is_not_resent_and_leaves_no_duplicate(client, emu):
    second = renew(emu)
    emu.faults.inject("graph.addKey", status=500, after=True)  # applied, then answered 500
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert emu.counters.get("graph.addKey") == 1  # not resent by the retry policy
    thumbprints = [k["customKeyIdentifier"] for k in emu.graph.key_credentials()]
    assert thumbprints.count(_thumbprint(emu, second)) == 1
    assert len(thumbprints) == 2
    assert client.post("rollover").json()["added"] == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_add_key_that_failed_is_not_resent_and_the_next_run_adds_it(client, emu, status):
    second = renew(emu)
    emu.faults.inject("graph.addKey", status=status, times=None)
    response = client.post("rollover")
    assert response.status_code in (502, 503, 504), response.text
    assert emu.counters.get("graph.addKey") == 1
    emu.faults.clear()
    assert [a["version"] for a in client.post("rollover").json()["added"]] == [second]


def test_a_throttled_add_key_was_not_processed_and_is_retried(client, emu):
    second = renew(emu)
    emu.faults.inject("graph.addKey", status=429, retry_after=0)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert [a["version"] for a in response.json()["added"]] == [second]
    assert emu.counters.get("graph.addKey") == 2


def test_a_remove_key_that_applied_behind_a_5xx_counts_as_done(client, emu):
    import datetime as dt

    from shared.rollover.model import registration_name

    first = emu.keyvault.current_version()
    now = dt.datetime.now(dt.UTC)
    second = renew(emu, not_before=now - dt.timedelta(days=30), expires_on=now + dt.timedelta(days=400))
    assert client.post("rollover").status_code == 200
    der = emu.keyvault.certificate_der(second)
    (new_key,) = [k for k in emu.directory.key_credentials() if k.der == der]
    emu.directory.update_key_credential(new_key.key_id, display_name=registration_name(now - dt.timedelta(days=8)))
    emu.faults.inject("graph.removeKey", status=502, after=True)
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    assert [r["version"] for r in response.json()["removed"]] == [first]
    assert emu.counters.get("graph.removeKey") == 1
    assert [k["customKeyIdentifier"] for k in emu.graph.key_credentials()] == [_thumbprint(emu, second)]


# ---------------------------------------------------------------- 7. settings that would hurt are refused


@pytest.mark.parametrize("grace", ["-1", "3651", "seven"])
def test_a_grace_out_of_range_is_named_by_health_and_stops_the_rollover(configure, emu, grace):
    client = configure(ROLLOVER_GRACE_DAYS=grace)
    health = client.get("health", key=False)
    assert health.status_code == 200  # the other routes keep serving
    assert health.json()["rollover"]["missing"] == ["ROLLOVER_GRACE_DAYS"]
    response = client.post("rollover")
    assert response.status_code == 503
    assert response.json()["missing"] == ["ROLLOVER_GRACE_DAYS"]
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200


def test_a_grace_of_zero_retires_the_old_key_once_a_token_with_the_successor_was_obtained(configure, emu):
    import datetime as dt

    client = configure(ROLLOVER_GRACE_DAYS="0")
    first = emu.keyvault.current_version()
    now = dt.datetime.now(dt.UTC)
    second = renew(emu, not_before=now - dt.timedelta(minutes=5), expires_on=now + dt.timedelta(days=400))
    response = client.post("rollover")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["version"] for a in body["added"]] == [second]
    assert [r["version"] for r in body["removed"]] == [first], (body["skipped"], body.get("plan"))
    assert [k["customKeyIdentifier"] for k in emu.graph.key_credentials()] == [_thumbprint(emu, second)]
    assert client.get("diagnostics").json()["certificate"]["version"] == second
    again = client.post("rollover")
    assert again.status_code == 200, again.text
    assert (again.json()["added"], again.json()["removed"]) == ([], [])


@pytest.mark.parametrize("schedule", ["* * * * * *", "*/30 * * * * *", "*/10 0 3 * * *"])
def test_a_too_frequent_schedule_is_named_by_health_and_the_timer_does_nothing(
    configure, emu, master_key, caplog, schedule
):
    import logging

    caplog.set_level(logging.INFO, logger="shared.rollover")
    client = configure(ROLLOVER_SCHEDULE=schedule)
    health = client.get("health", key=False)
    assert health.status_code == 200
    assert health.json()["rollover"]["missing"] == ["ROLLOVER_SCHEDULE"]
    assert "more often than once a minute" in health.json()["rollover"]["problems"][0]["reason"]
    renew(emu)
    response = requests.post(
        f"{client.base_url}/admin/functions/rollover_timer",
        json={"input": ""},
        headers={"x-functions-key": master_key},
        timeout=60,
    )
    assert response.status_code == 202
    assert emu.counters.get("graph.get_application") == 0
    assert emu.counters.get("keyvault.list_certificate_versions") == 0
    assert any(r.levelname == "ERROR" and "rollover timer skipped" in r.getMessage() for r in caplog.records)
    # The route (on demand) and events are unaffected by the timer's schedule.
    assert client.post("rollover", dryRun="true").status_code == 200
