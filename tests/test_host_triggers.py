"""The minimal host's non-HTTP invocation contract (Event Grid webhook, admin endpoint), over HTTP."""

from __future__ import annotations

import secrets

import azure.functions as func
import pytest
import requests

from emulator.host import serve

MASTER = secrets.token_urlsafe(16)
FUNCTION_KEY = secrets.token_urlsafe(16)
calls: list[tuple[str, object]] = []

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("ping")
@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.function_name("tick")
@app.timer_trigger(schedule="%SOME_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    calls.append(("tick", timer.past_due))


@app.function_name("on_event")
@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    if event.subject == "boom":
        raise RuntimeError("the function failed")
    calls.append(("event", (event.id, event.event_type, event.subject, event.topic, event.get_json())))


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


@pytest.fixture(scope="module")
def base_url():
    with serve(app, function_keys=[FUNCTION_KEY], master_key=MASTER) as url:
        yield url


@pytest.fixture(autouse=True)
def _clear():
    calls.clear()


def post_event(base_url, body, *, kind="Notification", key=MASTER, name="on_event"):
    headers = {"aeg-event-type": kind}
    if key:
        headers["x-functions-key"] = key
    return requests.post(
        f"{base_url}/runtime/webhooks/EventGrid", params={"functionName": name}, json=body, headers=headers, timeout=10
    )


def test_event_grid_notification_hands_each_event_to_the_function(base_url):
    response = post_event(base_url, [EVENT, {**EVENT, "id": "e2"}])
    assert response.status_code == 202
    assert [c[1][0] for c in calls] == ["e1", "e2"]
    _, (_, event_type, subject, topic, data) = calls[0]
    assert (event_type, subject, topic, data) == (EVENT["eventType"], "broker-signing", EVENT["topic"], EVENT["data"])


def test_event_grid_needs_the_master_key(base_url):
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


def test_a_failing_function_is_a_500_without_a_body(base_url):
    response = post_event(base_url, [{**EVENT, "subject": "boom"}])
    assert (response.status_code, response.content) == (500, b"")


def test_subscription_validation_echoes_the_code(base_url):
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
def test_event_grid_refusals(base_url, kwargs, status):
    body = kwargs.pop("body", [EVENT])
    assert post_event(base_url, body, **kwargs).status_code == status
    assert calls == []


def test_admin_endpoint_runs_a_timer_function(base_url):
    response = requests.post(
        f"{base_url}/admin/functions/tick", json={"input": ""}, headers={"x-functions-key": MASTER}, timeout=10
    )
    assert response.status_code == 202
    assert calls == [("tick", False)]


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [("tick", FUNCTION_KEY, 401), ("tick", None, 401), ("missing", MASTER, 404), ("on_event", MASTER, 400)],
)
def test_admin_endpoint_refusals(base_url, path, key, status):
    headers = {"x-functions-key": key} if key else {}
    response = requests.post(f"{base_url}/admin/functions/{path}", json={"input": ""}, headers=headers, timeout=10)
    assert response.status_code == status
    assert calls == []


def test_http_functions_are_still_served(base_url):
    response = requests.get(f"{base_url}/api/ping", headers={"x-functions-key": FUNCTION_KEY}, timeout=10)
    assert (response.status_code, response.text) == (200, "pong")
