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
