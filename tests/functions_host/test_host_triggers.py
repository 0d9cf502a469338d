"""The host's non-HTTP invocation contract (Event Grid webhook, admin endpoint), over HTTP.

Written for issue 7's minimal host; now run against the local host on azure-functions-runtime,
with the sample app (tests/functions_host/sample_app: ``ping``, ``tick``, ``on_event``) in its
own process, which records each invocation in a file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.functions_host.host_process import FUNCTION_KEY, MASTER_KEY

MASTER = MASTER_KEY

EVENT = {
    "id": "e1",
    "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
    "subject": "broker-signing",
    "eventType": "Microsoft.KeyVault.CertificateNewVersionCreated",
    "eventTime": "2026-11-30T05:00:00.1234567Z",
    "data": {"ObjectName": "broker-signing"},
    "dataVersion": "1",
    "metadataVersion": "1",
}


class Calls:
    """The invocations the sample app recorded since the test started, as issue 7's in-process list."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def _lines(self, name: str) -> list[dict]:
        path = self.out_dir / name
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []

    def list(self) -> list[tuple[str, object]]:
        ticks = [("tick", t["past_due"]) for t in self._lines("ticks")]
        events = [("event", (e["id"], e["type"], e["subject"], e["topic"], e["data"])) for e in self._lines("events")]
        return ticks + events

    def __eq__(self, other: object) -> bool:
        return self.list() == other

    def __len__(self) -> int:
        return len(self.list())

    def __getitem__(self, index: int) -> tuple[str, object]:
        return self.list()[index]

    def __iter__(self):
        return iter(self.list())


@pytest.fixture
def base_url(sample_host):
    url, out_dir = sample_host
    for name in ("ticks", "events"):
        (out_dir / name).unlink(missing_ok=True)
    return url


@pytest.fixture
def calls(sample_host) -> Calls:
    return Calls(sample_host[1])


def post_event(base_url, body, *, kind="Notification", key=MASTER, name="on_event"):
    headers = {"aeg-event-type": kind}
    if key:
        headers["x-functions-key"] = key
    return requests.post(
        f"{base_url}/runtime/webhooks/EventGrid", params={"functionName": name}, json=body, headers=headers, timeout=10
    )


def test_event_grid_notification_hands_each_event_to_the_function(base_url, calls):
    response = post_event(base_url, [EVENT, {**EVENT, "id": "e2"}])
    assert response.status_code == 202
    assert [c[1][0] for c in calls] == ["e1", "e2"]
    _, (_, event_type, subject, topic, data) = calls[0]
    assert (event_type, subject, topic, data) == (EVENT["eventType"], "broker-signing", EVENT["topic"], EVENT["data"])


def test_event_grid_needs_the_master_key(base_url, calls):
    assert post_event(base_url, [EVENT], key=None).status_code == 401
    assert post_event(base_url, [EVENT], key=FUNCTION_KEY).status_code == 401
    response = requests.post(
        f"{base_url}/runtime/webhooks/EventGrid",
        params={"functionName": "on_event", "code": MASTER},
        json=[EVENT],
        headers={"aeg-event-type": "Notification"},
        timeout=10,
    )
    assert response.status_code == 202
    assert len(calls) == 1


def test_a_failing_function_is_a_500_without_a_body(base_url, calls):
    response = post_event(base_url, [{**EVENT, "subject": "boom"}])
    assert (response.status_code, response.content) == (500, b"")


def test_subscription_validation_echoes_the_code(base_url, calls):
    validation = {
        **EVENT,
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": "abc"},
    }
    response = post_event(base_url, [validation], kind="SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "abc"}
    assert calls == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"name": "nope"}, 404),
        ({"name": "tick"}, 404),  # not an Event Grid function
        ({"kind": ""}, 400),
        ({"body": "not a list of events"}, 400),
    ],
)
def test_event_grid_refusals(base_url, kwargs, status, calls):
    body = kwargs.pop("body", [EVENT])
    assert post_event(base_url, body, **kwargs).status_code == status
    assert calls == []


def test_admin_endpoint_runs_a_timer_function(base_url, calls):
    response = requests.post(
        f"{base_url}/admin/functions/tick", json={"input": ""}, headers={"x-functions-key": MASTER}, timeout=10
    )
    assert response.status_code == 202
    assert calls == [("tick", False)]


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [("tick", FUNCTION_KEY, 401), ("tick", None, 401), ("missing", MASTER, 404), ("on_event", MASTER, 400)],
)
def test_admin_endpoint_refusals(base_url, path, key, status, calls):
    headers = {"x-functions-key": key} if key else {}
    response = requests.post(f"{base_url}/admin/functions/{path}", json={"input": ""}, headers=headers, timeout=10)
    assert response.status_code == status
    assert calls == []


def test_http_functions_are_still_served(base_url, calls):
    response = requests.get(f"{base_url}/api/ping", headers={"x-functions-key": FUNCTION_KEY}, timeout=10)
    assert (response.status_code, response.text) == (200, "pong")
