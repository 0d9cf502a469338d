"""Key Vault certificate events and their Event Grid delivery (AZURE-PROTOCOLS.md 10)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from emulator import eventgrid

NEW_VERSION = "Microsoft.KeyVault.CertificateNewVersionCreated"
NEAR_EXPIRY = "Microsoft.KeyVault.CertificateNearExpiry"
MASTER_KEY = "test-master-key"


@dataclass
class Receiver:
    """A stand-in Functions host webhook: records each POST, answers from `statuses` (then 202)."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [event for request in self.requests for event in request["body"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                status = state.statuses.pop(0) if state.statuses else 202
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fast_retries(emu):
    emu.eventgrid.retry_delays = (0.05, 0.05)
    yield
    emu.eventgrid.retry_delays = (0.5, 1.0, 2.0)


def test_certificate_event_is_key_vaults_shape(emu):
    version = emu.keyvault.rotate_certificate(register=False)
    event = emu.keyvault.certificate_event(NEW_VERSION)
    assert set(event) == {"id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"}
    assert event["topic"] == emu.seed.vault_resource_id
    assert event["subject"] == emu.seed.certificate_name
    assert event["eventType"] == NEW_VERSION
    assert event["dataVersion"] == "1" and event["metadataVersion"] == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", event["eventTime"])
    assert re.fullmatch(r"[0-9a-f-]{36}", event["id"])
    data = event["data"]
    assert data == {
        "Id": f"{emu.urls['vault']}/certificates/{emu.seed.certificate_name}/{version}",
        "VaultName": emu.seed.vault_name,
        "ObjectType": "Certificate",
        "ObjectName": emu.seed.certificate_name,
        "Version": version,
        "NBF": data["NBF"],
        "EXP": data["EXP"],
    }
    assert isinstance(data["NBF"], int) and isinstance(data["EXP"], int) and data["NBF"] < data["EXP"]
    # The Id names the vault the function is configured with (KEY_VAULT_URL).
    assert data["Id"].startswith(emu.env["KEY_VAULT_URL"] + "certificates/")


def test_event_for_an_older_version_and_near_expiry(emu):
    seed_version = emu.keyvault.current_version()
    emu.keyvault.rotate_certificate(register=False)
    event = emu.keyvault.certificate_event(NEAR_EXPIRY, seed_version)
    assert event["eventType"] == NEAR_EXPIRY and event["data"]["Version"] == seed_version
    with pytest.raises(ValueError, match="event_type"):
        emu.keyvault.certificate_event("Microsoft.KeyVault.SecretNewVersionCreated")
    with pytest.raises(KeyError):
        emu.keyvault.certificate_event(NEW_VERSION, "0" * 32)


def test_deliver_posts_to_the_functions_webhook(emu, receiver):
    event = emu.keyvault.certificate_event(NEW_VERSION)
    response = eventgrid.deliver(receiver.url, "on_certificate_event", [event], master_key=MASTER_KEY)
    assert response.status_code == 202
    (request,) = receiver.requests
    url = urlsplit(request["path"])
    assert url.path == "/runtime/webhooks/EventGrid"
    assert parse_qs(url.query) == {"functionName": ["on_certificate_event"]}  # the key is not in the URL
    assert request["headers"]["aeg-event-type"] == "Notification"
    assert request["headers"]["x-functions-key"] == MASTER_KEY
    assert request["headers"]["content-type"] == "application/json"
    assert request["body"] == [event]


def test_renewal_is_delivered_to_a_matching_subscription(emu, receiver):
    emu.eventgrid.subscribe(receiver.url, "on_certificate_event", MASTER_KEY, subject=emu.seed.certificate_name)
    version = emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    (event,) = receiver.events()
    assert event["eventType"] == NEW_VERSION and event["data"]["Version"] == version
    assert receiver.requests[0]["headers"]["aeg-event-type"] == "Notification"
    (delivery,) = emu.eventgrid.deliveries()
    assert (delivery.event_id, delivery.attempt, delivery.status) == (event["id"], 1, 202)


def test_subscription_filters_types_and_subjects(emu, receiver):
    emu.eventgrid.subscribe(
        receiver.url, "on_certificate_event", MASTER_KEY, event_types=[NEW_VERSION], subject=emu.seed.certificate_name
    )
    emu.keyvault.publish_event(NEAR_EXPIRY)  # filtered out by type
    emu.keyvault.rotate_certificate("other-cert", register=False)  # filtered out by subject
    emu.keyvault.rotate_certificate(register=False, publish=False)  # Key Vault sent nothing
    assert emu.eventgrid.wait_idle(10)
    assert receiver.events() == []
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [e["subject"] for e in receiver.events()] == [emu.seed.certificate_name]


def test_subject_filters_are_case_insensitive_prefix_and_suffix(emu, receiver):
    emu.eventgrid.subscribe(receiver.url, "f", MASTER_KEY, event_types=None, subject_begins_with="BROKER-")
    emu.keyvault.publish_event(NEAR_EXPIRY)
    assert emu.eventgrid.wait_idle(10)
    assert [e["eventType"] for e in receiver.events()] == [NEAR_EXPIRY]


def test_failed_delivery_is_retried_then_dropped(emu, receiver, fast_retries):
    emu.eventgrid.subscribe(receiver.url, "f", MASTER_KEY)
    receiver.statuses = [500, 503]
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [d.status for d in emu.eventgrid.deliveries()] == [500, 503, 202]
    assert len({e["id"] for e in receiver.events()}) == 1  # the same event, three times
    receiver.statuses = [500, 500, 500]
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [d.status for d in emu.eventgrid.deliveries()][3:] == [500, 500, 500]  # 1 + 2 retries, then dropped


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_client_errors_are_not_retried(emu, receiver, fast_retries, status):
    emu.eventgrid.subscribe(receiver.url, "f", MASTER_KEY)
    receiver.statuses = [status]
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [d.status for d in emu.eventgrid.deliveries()] == [status]


def test_unreachable_host_is_recorded(emu, fast_retries):
    emu.eventgrid.subscribe("http://127.0.0.1:9", "f", MASTER_KEY)
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [d.status for d in emu.eventgrid.deliveries()] == [None, None, None]


def test_reset_drops_subscriptions(emu, receiver):
    emu.eventgrid.subscribe(receiver.url, "f", MASTER_KEY)
    emu.reset()
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert receiver.requests == [] and emu.eventgrid.subscriptions() == []


# ---------------------------------------------------------------- control API (make demo)


def control(http, emu, method, path, body=None):
    return http.request(method, emu.urls["control"] + path, json=body)


def test_control_api_renewal_subscription_and_events(http, emu, receiver):
    response = control(
        http,
        emu,
        "POST",
        "/_emulator/eventgrid/subscriptions",
        {"host_base_url": receiver.url, "function_name": "f", "master_key": MASTER_KEY, "subject": "broker-signing"},
    )
    assert response.status_code == 201 and response.json()["name"]
    response = control(http, emu, "POST", "/_emulator/keyvault/rotate", {"register": False})
    assert response.status_code == 201
    version = response.json()["version"]
    assert version == emu.keyvault.current_version()
    assert emu.keyvault.certificate_der(version) not in [k.der for k in emu.directory.key_credentials()]
    assert emu.eventgrid.wait_idle(10)
    assert [e["data"]["Version"] for e in receiver.events()] == [version]
    deliveries = control(http, emu, "GET", "/_emulator/eventgrid/deliveries").json()
    assert [(d["event_type"], d["status"]) for d in deliveries] == [(NEW_VERSION, 202)]
    built = control(http, emu, "POST", "/_emulator/keyvault/events", {"event_type": NEAR_EXPIRY, "publish": False})
    assert built.status_code == 200 and built.json()["eventType"] == NEAR_EXPIRY
    published = control(http, emu, "POST", "/_emulator/keyvault/events", {"event_type": NEAR_EXPIRY})
    assert published.status_code == 202
    assert emu.eventgrid.wait_idle(10)
    assert [e["eventType"] for e in receiver.events()] == [NEW_VERSION, NEAR_EXPIRY]
    keys = control(http, emu, "GET", "/_emulator/graph/key-credentials").json()
    assert [k["customKeyIdentifier"] for k in keys] == emu.entra.registered_thumbprints()
    assert control(http, emu, "DELETE", "/_emulator/eventgrid/subscriptions").status_code == 204
    assert emu.eventgrid.subscriptions() == []


def test_control_api_backdated_renewal(http, emu):
    response = control(http, emu, "POST", "/_emulator/keyvault/rotate", {"register": True, "created": 1_700_000_000})
    assert response.status_code == 201
    version = response.json()["version"]
    entry = next(v for v in emu.keyvault.certificates[emu.seed.certificate_name] if v.version == version)
    assert entry.created == entry.updated == 1_700_000_000
    assert emu.keyvault.certificate_der(version) in [k.der for k in emu.directory.key_credentials()]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_emulator/keyvault/rotate", {"colour": "red"}),
        ("/_emulator/keyvault/events", {"event_type": "Microsoft.KeyVault.Nope"}),
        ("/_emulator/keyvault/events", {"event_type": NEW_VERSION, "version": "0" * 32}),
        ("/_emulator/eventgrid/subscriptions", {"function_name": "f"}),
    ],
)
def test_control_api_refusals(http, emu, path, body):
    response = control(http, emu, "POST", path, body)
    assert response.status_code == 400 and response.json()["error"]


# ---------------------------------------------------------------- through the minimal Functions host


@pytest.fixture
def grid_host(tmp_path) -> Iterator[tuple[str, Any]]:
    """The local Functions host (python -m emulator.host, on azure-functions-runtime) serving the
    sample app, whose Event Grid function ``on_event`` records each event it gets (the shared contract)."""
    from tests.functions_host.host_process import SAMPLE_APP, start_host, stop_host

    host = start_host(SAMPLE_APP, tmp_path, master_key=MASTER_KEY)
    try:
        assert host.base_url, host.text()

        def received() -> list[dict[str, Any]]:
            path = tmp_path / "events"
            return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []

        yield host.base_url, received
    finally:
        stop_host(host)


def test_subscription_invokes_an_event_grid_function_on_the_minimal_host(emu, grid_host, fast_retries):
    url, received = grid_host
    emu.eventgrid.subscribe(url, "on_event", MASTER_KEY, subject=emu.seed.certificate_name)
    version = emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [d.status for d in emu.eventgrid.deliveries()] == [202]
    (event,) = received()
    assert event["type"] == NEW_VERSION and event["subject"] == emu.seed.certificate_name
    assert event["topic"] == emu.seed.vault_resource_id
    assert event["data"]["Version"] == version


def test_wrong_key_is_401_and_not_retried(emu, grid_host, fast_retries):
    url, received = grid_host
    emu.eventgrid.subscribe(url, "on_event", "not-the-master-key")
    emu.keyvault.rotate_certificate(register=False)
    assert emu.eventgrid.wait_idle(10)
    assert [d.status for d in emu.eventgrid.deliveries()] == [401]
    assert received() == []


def test_renewal_is_newer_than_the_seed_by_every_date(emu):
    seed, renewed = emu.keyvault.versions()[0], emu.keyvault.rotate_certificate(register=False)
    entries = {v.version: v for v in emu.keyvault.certificates[emu.seed.certificate_name]}
    assert entries[renewed].created > entries[seed].created
    assert entries[renewed].not_before > entries[seed].not_before


def test_validation_handshake_with_the_local_host(emu, grid_host):
    url, received = grid_host
    subscription = emu.eventgrid.subscribe(url, "on_event", MASTER_KEY, validate=True)
    assert subscription in emu.eventgrid.subscriptions()
    assert received() == []  # the handshake is answered by the host, not handed to the function
    with pytest.raises(ValueError, match="Webhook validation handshake failed"):
        emu.eventgrid.subscribe(url, "on_event", "not-the-master-key", validate=True)
    assert len(emu.eventgrid.subscriptions()) == 1


def test_validation_handshake_refused_by_an_endpoint_that_does_not_echo(emu, receiver):
    with pytest.raises(ValueError, match="Webhook validation handshake failed"):
        emu.eventgrid.subscribe(receiver.url, "f", MASTER_KEY, validate=True)
    (request,) = receiver.requests
    assert request["headers"]["aeg-event-type"] == "SubscriptionValidation"
    (event,) = request["body"]
    assert event["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"
    assert event["topic"] == emu.seed.vault_resource_id and event["data"]["validationCode"]
    assert emu.eventgrid.subscriptions() == []


def test_control_api_validation_refusal_is_400(http, emu, receiver):
    body = {"host_base_url": receiver.url, "function_name": "f", "master_key": MASTER_KEY, "validate": True}
    response = control(http, emu, "POST", "/_emulator/eventgrid/subscriptions", body)
    assert response.status_code == 400 and "handshake" in response.json()["error"]


def test_reset_abandons_deliveries_in_flight(emu, receiver):
    emu.eventgrid.retry_delays = (5.0,)
    try:
        emu.eventgrid.subscribe(receiver.url, "f", MASTER_KEY)
        receiver.statuses = [500, 500]
        emu.keyvault.rotate_certificate(register=False)
        deadline = time.monotonic() + 10
        while not emu.eventgrid.deliveries() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [d.status for d in emu.eventgrid.deliveries()] == [500]  # now waiting 5 s to retry
        emu.reset()
        assert emu.eventgrid.wait_idle(2)  # the retry wait was cut short
        assert emu.eventgrid.deliveries() == [] and len(receiver.requests) == 1
    finally:
        emu.eventgrid.retry_delays = (0.5, 1.0, 2.0)
