"""Which Key Vault events start a rollover: Event Grid delivers at least once, in any order.

References: learn.microsoft.com ``azure/event-grid/event-schema-key-vault`` (PascalCase ``data``:
``Id``, ``VaultName``, ``ObjectType``, ``ObjectName``, ``Version``, ``NBF``, ``EXP``; the SDK models
name them camelCase, so both are read) and ``azure/key-vault/general/event-grid-overview``
(check the source and the type, ignore the rest). The app knows its vault by URL, not by
resource ID, so the vault is matched by the host of ``data.Id`` against ``KEY_VAULT_URL`` (by
``VaultName`` only when ``Id`` is absent); ``topic`` is not needed. The certificate is matched by
``ObjectName``, the name in ``Id`` and ``subject``: every one present must name it. The verdict
carries only what to log; the reconciliation it triggers reads the current state, so a repeated or
stale event is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

NEW_VERSION_CREATED = "Microsoft.KeyVault.CertificateNewVersionCreated"
NEAR_EXPIRY = "Microsoft.KeyVault.CertificateNearExpiry"
HANDLED_EVENT_TYPES = frozenset({NEW_VERSION_CREATED, NEAR_EXPIRY})


@dataclass(frozen=True)
class EventVerdict:
    relevant: bool
    reason: str
    version: str | None = None


def _field(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None:
        value = data.get(name[:1].lower() + name[1:])
    return value


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname:
        return None
    return f"{parts.hostname.lower()}:{port or 443}"


def judge_event(*, event_type: Any, subject: Any, data: Any, vault_url: str, certificate_name: str) -> EventVerdict:
    # Every field is checked for its JSON type first: Event Grid hands over whatever the publisher
    # sent, and a list where a string belongs must be dropped, not crash the function (a 500 makes
    # Event Grid redeliver it for a day).
    if not isinstance(event_type, str):
        return EventVerdict(False, "invalid event: 'eventType' is not a string")
    if event_type not in HANDLED_EVENT_TYPES:
        return EventVerdict(False, f"event type {event_type[:200]!r} is not handled")
    if subject is not None and not isinstance(subject, str):
        return EventVerdict(False, "invalid event: 'subject' is not a string")
    if not isinstance(data, Mapping):
        return EventVerdict(False, "invalid event: 'data' is not an object")
    for name in ("ObjectType", "Id", "VaultName", "ObjectName", "Version"):
        if _field(data, name) is not None and not isinstance(_field(data, name), str):
            return EventVerdict(False, f"invalid event: 'data.{name}' is not a string")
    object_type = _field(data, "ObjectType")
    if object_type is not None and object_type.lower() != "certificate":
        return EventVerdict(False, f"object type {object_type[:100]!r} is not a certificate")
    vault_host = _host(vault_url) or ""
    names: list[str] = []
    object_id = _field(data, "Id")
    if isinstance(object_id, str):
        host = _host(object_id)
        if host is None:
            return EventVerdict(False, "invalid event: 'data.Id' is not an https URL")
        if host != vault_host:
            return EventVerdict(False, f"event for another vault ({host})")
        segments = [s for s in urlsplit(object_id).path.split("/") if s]
        if len(segments) < 2 or segments[0].lower() != "certificates":
            return EventVerdict(False, "'data.Id' does not name a certificate")
        names.append(segments[1])
    else:
        vault_name = _field(data, "VaultName")
        if not isinstance(vault_name, str) or not vault_name:
            return EventVerdict(False, "invalid event: neither 'data.Id' nor 'data.VaultName'")
        if vault_name.lower() != vault_host.split(".", 1)[0]:
            return EventVerdict(False, f"event for another vault ({vault_name})")
    object_name = _field(data, "ObjectName")
    if isinstance(object_name, str):
        names.append(object_name)
    if isinstance(subject, str) and subject:
        names.append(subject)
    if not names:
        return EventVerdict(False, "invalid event: it names no certificate")
    # Key Vault object names are case-insensitive.
    other = next((n for n in names if n.lower() != certificate_name.lower()), None)
    if other is not None:
        return EventVerdict(False, f"event for another object ({other!r})")
    version = _field(data, "Version")
    return EventVerdict(True, f"{event_type} for certificate '{certificate_name}'", version or None)
