"""The application's ``keyCredentials`` through Microsoft Graph: read, ``addKey``, ``removeKey``.

References: microsoft-graph-docs ``api-reference/v1.0/api/application-get.md`` (``key`` is returned
only with ``$select`` on a single application), ``application-addkey.md``, ``application-removekey.md``.
The application reads its own keys with the read-only ``Application.Read.All`` and rolls them with
``addKey``/``removeKey``, which need no permission on itself ("An application does not need any
specific permission to roll its own keys"; the proof of possession is the requirement). It holds
nothing that writes applications, so its token cannot add a password or a federated credential
(docs/custody.md). Calls go through the shared :class:`DownstreamClient`: same token, retries, 401 refresh and
logging as every other Graph call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..downstream import DownstreamClient
from ..errors import Hint, Misconfigured, Upstream, UpstreamFailed, as_hint
from ..settings import ENTRA_APPLICATION_OBJECT_ID
from .model import KeyCredential

# Graph application permissions that write applications: with any of them (OwnedBy as an owner) the
# app's own token can add a password or a federated credential, a credential outside Key Vault
# (application-addpassword, application-post-federatedidentitycredentials). The rollover needs none.
APPLICATION_WRITE_PERMISSIONS = frozenset(
    {"Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.ReadWrite.All"}
)

_HEX_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")  # fullmatch: `$` also matches before a newline
_FRACTION = re.compile(r"\.(\d+)")


def _parse_time(value: Any) -> datetime | None:
    """Graph's ``DateTimeOffset`` (``2025-01-01T00:00:00Z``, up to 7 fractional digits)."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _thumbprint(raw: Mapping[str, Any]) -> str | None:
    """The certificate's SHA-1 thumbprint: from ``key`` (the DER) when Graph returned it, else
    from ``customKeyIdentifier`` (the thumbprint, as base64 of its bytes or as hex)."""
    key = raw.get("key")
    if isinstance(key, str) and key:
        try:
            return hashlib.sha1(base64.b64decode(key, validate=True), usedforsecurity=False).hexdigest().upper()
        except (binascii.Error, ValueError):
            pass
    identifier = raw.get("customKeyIdentifier")
    if not isinstance(identifier, str) or not identifier:
        return None
    if _HEX_THUMBPRINT.fullmatch(identifier):
        return identifier.upper()
    try:
        decoded = base64.b64decode(identifier + "=" * (-len(identifier) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(decoded) == 20:
        return decoded.hex().upper()
    text = decoded.decode("ascii", errors="replace")
    return text.upper() if _HEX_THUMBPRINT.fullmatch(text) else None


def key_credential(raw: Mapping[str, Any]) -> KeyCredential | None:
    key_id = raw.get("keyId")
    if not isinstance(key_id, str) or not key_id:
        return None
    kind = raw.get("type")
    return KeyCredential(
        key_id=key_id.lower(),
        thumbprint=_thumbprint(raw),
        start=_parse_time(raw.get("startDateTime")),
        end=_parse_time(raw.get("endDateTime")),
        display_name=raw.get("displayName") if isinstance(raw.get("displayName"), str) else None,
        verify_certificate=kind == "AsymmetricX509Cert" and raw.get("usage") == "Verify",
        credential_type=kind if isinstance(kind, str) else None,
    )


def password_credential(raw: Mapping[str, Any]) -> KeyCredential | None:
    """A client secret of the application (Graph returns its metadata, never the secret): never a
    version of the certificate, so the plan counts it as foreign and leaves it alone."""
    key_id = raw.get("keyId")
    if not isinstance(key_id, str) or not key_id:
        return None
    return KeyCredential(
        key_id=key_id.lower(),
        thumbprint=None,
        start=_parse_time(raw.get("startDateTime")),
        end=_parse_time(raw.get("endDateTime")),
        display_name=raw.get("displayName") if isinstance(raw.get("displayName"), str) else None,
        verify_certificate=False,
        credential_type="Password",
    )


class ApplicationKeys:
    def __init__(self, graph: DownstreamClient, *, object_id: str, client_id: str, principal: str | Hint) -> None:
        principal = as_hint(principal)
        self._graph = graph
        self.object_id = object_id
        self._client_id = client_id
        self._path = f"/v1.0/applications/{object_id}"
        # The caller is told what to grant; the object and client IDs are the operator's (log line,
        # /api/diagnostics).
        grant = "the Microsoft Graph application permission Application.Read.All (admin consent)"
        consent = Hint(
            f"Grant {principal.caller} {grant} to read the application ({ENTRA_APPLICATION_OBJECT_ID}); it needs "
            "no permission that writes applications.",
            f"Grant {principal.full} {grant} to read application {object_id}; it needs no permission that writes "
            "applications.",
        )
        self._read_hints: dict[int, str | Hint] = {
            403: consent,
            404: Hint(
                f"No application has the object ID in {ENTRA_APPLICATION_OBJECT_ID}: set it to the application's "
                "object ID (not its client ID).",
                f"No application has object ID {object_id}: set {ENTRA_APPLICATION_OBJECT_ID} to the application's "
                "object ID (not its client ID).",
            ),
        }
        proof = (
            "Graph refused the proof of possession: it must be signed by a certificate registered on the "
            f"application and currently valid, with iss = {ENTRA_APPLICATION_OBJECT_ID}."
        )
        self._write_hints = {**self._read_hints, 400: proof, 401: proof}

    def read(self) -> list[KeyCredential]:
        """The application's key credentials, and its password credentials (client secrets; Graph
        returns their metadata only) as credentials that are no version of the certificate: both
        are what the app could sign in with. Requires Application.Read.All (read-only; the least
        privileged permission that reads it)."""
        body = self._graph.request(
            "GET",
            self._path,
            params={"$select": "id,appId,keyCredentials,passwordCredentials"},
            action=f"reading the key credentials of the application ({ENTRA_APPLICATION_OBJECT_ID})",
            hints=self._read_hints,
        )
        if not isinstance(body, dict) or not isinstance(body.get("keyCredentials"), list):
            raise UpstreamFailed("Graph answered the application without 'keyCredentials'.", upstream=Upstream.GRAPH)
        app_id = body.get("appId")
        if isinstance(app_id, str) and app_id.lower() != self._client_id.lower():
            # Rolling another application's keys would lock that one out and never help this one.
            raise Misconfigured(
                [
                    (
                        ENTRA_APPLICATION_OBJECT_ID,
                        "names another application than ENTRA_CLIENT_ID (its client ID differs)",
                    )
                ],
                log_hint=(
                    f"{ENTRA_APPLICATION_OBJECT_ID} {self.object_id} names the application with client ID {app_id}, "
                    f"not ENTRA_CLIENT_ID {self._client_id}"
                ),
            )
        keys = [key_credential(raw) for raw in body["keyCredentials"] if isinstance(raw, dict)]
        passwords = body.get("passwordCredentials")
        if isinstance(passwords, list):
            keys += [password_credential(raw) for raw in passwords if isinstance(raw, dict)]
        return [key for key in keys if key is not None]

    def add(self, der: bytes, proof: str, *, display_name: str) -> str | None:
        """``addKey`` of a public certificate; returns the new ``keyId``. ``display_name`` records
        when it was registered (model.registration_name): Graph keeps it, unlike startDateTime."""
        body = self._graph.request(
            "POST",
            f"{self._path}/addKey",
            json={
                "keyCredential": {
                    "type": "AsymmetricX509Cert",
                    "usage": "Verify",
                    "key": base64.b64encode(der).decode("ascii"),
                    "displayName": display_name,
                },
                "passwordCredential": None,
                "proof": proof,
            },
            action="adding a key to the application",
            hints=self._write_hints,
            idempotent=False,  # a resent addKey that had applied registers the key twice
        )
        key_id = body.get("keyId") if isinstance(body, dict) else None
        return key_id.lower() if isinstance(key_id, str) else None

    def remove(self, key_id: str, proof: str) -> None:
        """``removeKey`` by ``keyId`` (204 No Content)."""
        self._graph.request(
            "POST",
            f"{self._path}/removeKey",
            json={"keyId": key_id, "proof": proof},
            action="removing a key from the application",
            hints=self._write_hints,
            idempotent=False,  # the run re-reads and reconciles instead (service._write)
        )
