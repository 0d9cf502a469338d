# Event Grid, as far as the broker meets it: Key Vault's system topic publishes certificate
# events, event subscriptions filter them and push them to a Functions host's Event Grid
# webhook. Not an HTTPS surface: a publisher the Key Vault surface hands events to.
# References:
# - Event schema and Key Vault data (PascalCase Id/VaultName/ObjectType/ObjectName/Version/NBF/EXP):
#   learn.microsoft.com/azure/event-grid/event-schema-key-vault, AZURE-PROTOCOLS.md 10.
# - Filters (includedEventTypes, subjectBeginsWith/subjectEndsWith, case-insensitive by default):
#   learn.microsoft.com/azure/event-grid/event-filtering.
# - Delivery: one event per request, the body an array with that single event; no retry for a
#   webhook's 400, 401, 403, 413; others retried on a back-off schedule (10 s, 30 s, 1 min, ...),
#   here shortened (`retry_delays`): learn.microsoft.com/azure/event-grid/delivery-and-retry.
# - The Functions host endpoint: POST {host}/runtime/webhooks/EventGrid?functionName={name} with
#   `aeg-event-type: Notification` and the host's key (COMMON.md shared contract;
#   learn.microsoft.com/azure/azure-functions/functions-bindings-event-grid-trigger, "Local testing").
# - Webhook validation handshake at subscription creation (a Microsoft.EventGrid.SubscriptionValidationEvent
#   with data.validationCode, `aeg-event-type: SubscriptionValidation`, answered 200
#   {"validationResponse": code}): learn.microsoft.com/azure/event-grid/webhook-event-delivery.
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

_LOG = logging.getLogger("emulator.eventgrid")

CERTIFICATE_NEW_VERSION_CREATED = "Microsoft.KeyVault.CertificateNewVersionCreated"
CERTIFICATE_NEAR_EXPIRY = "Microsoft.KeyVault.CertificateNearExpiry"
CERTIFICATE_EXPIRED = "Microsoft.KeyVault.CertificateExpired"
CERTIFICATE_EVENT_TYPES = (CERTIFICATE_NEW_VERSION_CREATED, CERTIFICATE_NEAR_EXPIRY, CERTIFICATE_EXPIRED)
_NO_RETRY = frozenset({400, 401, 403, 413})  # webhook errors Event Grid does not retry [D]


def event_time(moment: dt.datetime | None = None) -> str:
    """Event Grid's eventTime: ISO 8601 UTC with 7 fractional digits, as in the published samples."""
    moment = moment or dt.datetime.now(dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def key_vault_event(
    event_type: str,
    *,
    vault_resource_id: str,
    vault_name: str,
    object_type: str,
    object_name: str,
    object_id: str,
    version: str,
    not_before: int | None,
    expires: int | None,
) -> dict[str, Any]:
    """One Event Grid-schema event as Key Vault's system topic sends it [D] event-schema-key-vault."""
    return {
        "id": str(uuid.uuid4()),
        "topic": vault_resource_id,
        "subject": object_name,
        "eventType": event_type,
        "eventTime": event_time(),
        "data": {
            "Id": object_id,
            "VaultName": vault_name,
            "ObjectType": object_type,
            "ObjectName": object_name,
            "Version": version,
            "NBF": not_before,
            "EXP": expires,
        },
        "dataVersion": "1",
        "metadataVersion": "1",
    }


def webhook_url(host_base_url: str, function_name: str) -> str:
    return f"{host_base_url.rstrip('/')}/runtime/webhooks/EventGrid?functionName={function_name}"


def deliver(
    host_base_url: str,
    function_name: str,
    events: Sequence[Mapping[str, Any]],
    *,
    master_key: str,
    timeout: float = 30.0,
    session: requests.Session | None = None,
) -> requests.Response:
    """POSTs `events` (a list, as Event Grid sends) to a Functions host's Event Grid webhook,
    synchronously, and returns the host's response (202 when the function took every event).
    The key goes in `x-functions-key`, never in the URL (URLs end up in logs)."""
    http = session or requests
    return http.post(
        webhook_url(host_base_url, function_name),
        json=list(events),
        headers={"aeg-event-type": "Notification", "x-functions-key": master_key},
        timeout=timeout,  # Event Grid waits 30 s for an answer [D] delivery-and-retry
    )


@dataclass(frozen=True)
class Subscription:
    """An event subscription on the vault's system topic, pushing to a Functions host."""

    name: str
    host_base_url: str
    function_name: str
    master_key: str = field(repr=False)
    event_types: tuple[str, ...] | None = None  # None: all event types
    subject_begins_with: str = ""
    subject_ends_with: str = ""

    def matches(self, event: Mapping[str, Any]) -> bool:
        # Event Grid's subject filters are case-insensitive unless isSubjectCaseSensitive [D].
        subject = str(event.get("subject", "")).lower()
        if self.event_types is not None and event.get("eventType") not in self.event_types:
            return False
        return subject.startswith(self.subject_begins_with.lower()) and subject.endswith(self.subject_ends_with.lower())


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt: which subscription, which event, what the endpoint answered
    (`status` None: no answer, e.g. connection refused)."""

    subscription: str
    event_id: str
    event_type: str
    attempt: int
    status: int | None


class EventGrid:
    """Subscriptions and asynchronous, filtered, retried delivery (as Event Grid pushes).
    `topic`: the system topic's source (the vault's resource id), named in validation events."""

    def __init__(self, topic: str = "") -> None:
        self.topic = topic
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._subscriptions: dict[str, Subscription] = {}
        self._deliveries: list[Delivery] = []
        self._in_flight = 0
        # Set by reset()/stop(): deliveries of that era stop retrying and record nothing more, so
        # a test never sees the previous test's late attempts. Replaced by a fresh one on reset.
        self._cancel = threading.Event()
        # Azure: 10 s, 30 s, 1 min, 5 min, ... up to 30 attempts; shortened for local runs.
        self.retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)

    # ------------------------------------------------------------------ subscriptions
    def subscribe(
        self,
        host_base_url: str,
        function_name: str,
        master_key: str,
        *,
        event_types: Iterable[str] | None = (CERTIFICATE_NEW_VERSION_CREATED, CERTIFICATE_NEAR_EXPIRY),
        subject: str | None = None,
        subject_begins_with: str = "",
        subject_ends_with: str = "",
        name: str | None = None,
        validate: bool = False,
    ) -> Subscription:
        """Registers a subscription; `subject` is shorthand for begins-with and ends-with the same
        value (how a subscription is filtered to one certificate name). `validate`: first run the
        webhook validation handshake, as Event Grid does for a WebHook endpoint (an AzureFunction
        endpoint needs none); ValueError when the endpoint does not echo the code. Returns it."""
        if validate:
            self._handshake(host_base_url, function_name, master_key)
        if subject is not None:
            subject_begins_with = subject_ends_with = subject
        subscription = Subscription(
            name=name or f"sub-{uuid.uuid4().hex[:8]}",
            host_base_url=host_base_url,
            function_name=function_name,
            master_key=master_key,
            event_types=None if event_types is None else tuple(event_types),
            subject_begins_with=subject_begins_with,
            subject_ends_with=subject_ends_with,
        )
        with self._lock:
            self._subscriptions[subscription.name] = subscription
        return subscription

    def _handshake(self, host_base_url: str, function_name: str, master_key: str) -> None:
        code = str(uuid.uuid4())
        event = {
            "id": str(uuid.uuid4()),
            "topic": self.topic,
            "subject": "",
            "data": {"validationCode": code},
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": event_time(),
            "metadataVersion": "1",
            "dataVersion": "1",
        }
        try:
            answer = requests.post(
                webhook_url(host_base_url, function_name),
                json=[event],
                headers={"aeg-event-type": "SubscriptionValidation", "x-functions-key": master_key},
                timeout=30,
            )
            echoed = answer.json().get("validationResponse") if answer.status_code == 200 else None
        except (requests.RequestException, ValueError, AttributeError):
            echoed = None
        if echoed != code:
            # Event Grid's own words for a failed handshake when creating the subscription [D].
            raise ValueError(f"Webhook validation handshake failed for {webhook_url(host_base_url, function_name)}")

    def unsubscribe(self, name: str) -> None:
        with self._lock:
            self._subscriptions.pop(name, None)

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.values())

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def reset(self) -> None:
        """No subscriptions, no delivery history; deliveries in flight are abandoned (an attempt
        already sent still reaches its endpoint, but no retry follows and nothing is recorded)."""
        with self._lock:
            self._cancel.set()
            self._cancel = threading.Event()
            self._subscriptions.clear()
            self._deliveries.clear()

    def stop(self) -> None:
        """Abandons deliveries in flight (the emulator is stopping)."""
        with self._lock:
            self._cancel.set()

    def start(self) -> None:
        with self._lock:
            if self._cancel.is_set():
                self._cancel = threading.Event()

    # ------------------------------------------------------------------ publishing
    def publish(self, event: Mapping[str, Any]) -> list[str]:
        """Hands `event` to every matching subscription, each delivered on its own thread (Event
        Grid pushes asynchronously: the publisher never waits). Returns the subscription names."""
        matched = [s for s in self.subscriptions() if s.matches(event)]
        for subscription in matched:
            with self._lock:
                self._in_flight += 1
                cancel = self._cancel
            threading.Thread(
                target=self._push, args=(subscription, dict(event), cancel), name="eventgrid-delivery", daemon=True
            ).start()
        return [s.name for s in matched]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Waits until no delivery is in flight (retries included); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def _push(self, subscription: Subscription, event: dict[str, Any], cancel: threading.Event) -> None:
        try:
            for attempt in range(1, len(self.retry_delays) + 2):
                try:
                    answer = deliver(
                        subscription.host_base_url,
                        subscription.function_name,
                        [event],
                        master_key=subscription.master_key,
                    )
                    status: int | None = answer.status_code
                except requests.RequestException:
                    status = None
                with self._lock:
                    if cancel.is_set():
                        return
                    self._deliveries.append(
                        Delivery(subscription.name, event["id"], str(event.get("eventType")), attempt, status)
                    )
                if status is not None and (200 <= status < 300 or status in _NO_RETRY):
                    return
                if attempt > len(self.retry_delays) or cancel.wait(self.retry_delays[attempt - 1]):
                    _LOG.warning("event %s dropped for %s after %d attempts", event["id"], subscription.name, attempt)
                    return
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
