"""What the rollover reasons about: certificate versions in Key Vault and key credentials on the app.

Both are reduced to the facts the plan needs, thumbprints first: a key credential is "a version of
this certificate" exactly when its SHA-1 thumbprint is one of the certificate's versions'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_EPOCH = datetime.min.replace(tzinfo=UTC)

# The durable record of when the rollover registered a version: the keyCredential's displayName,
# set in the addKey request. Graph keeps displayName as sent (up to 90 characters) and returns it
# on every read, on every instance, across restarts; startDateTime is no use for this, as Graph
# fills it from the certificate's notBefore (Key Vault back-dates a renewal's to its issuance).
_REGISTERED = "rollover registered "
_REGISTERED_AT = re.compile(r"rollover registered (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")


def registration_name(moment: datetime) -> str:
    """The displayName addKey sets: ``rollover registered 2026-11-30T05:33:22Z``."""
    return _REGISTERED + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CertificateVersion:
    """One version of the signing certificate, as Key Vault lists it (no DER needed)."""

    version: str
    thumbprint: str  # SHA-1, uppercase hex, as the portal shows it
    enabled: bool
    not_before: datetime | None
    expires_on: datetime | None
    created_on: datetime | None
    current: bool = False  # Key Vault's current version: the newest one, whatever the clocks say

    def expired(self, now: datetime) -> bool:
        return self.expires_on is not None and now >= self.expires_on

    def valid(self, now: datetime) -> bool:
        """Enabled and within its validity period: Key Vault signs with it, Entra accepts it."""
        if not self.enabled or self.expired(now):
            return False
        return self.not_before is None or self.not_before <= now

    @property
    def age_key(self) -> tuple[bool, datetime]:
        """Order of creation: Key Vault's current version is the newest whatever the timestamps say
        (they tie within a second); the others by creation (a renewal comes after what it renews)."""
        return (self.current, self.created_on or self.not_before or _EPOCH)

    @property
    def available_since(self) -> datetime:
        """When this version took over: its creation in Key Vault or the start of its validity,
        whichever came first (Key Vault back-dates a renewal's ``nbf`` a little before its creation;
        an imported certificate may have been valid long before). The grace period counts from here;
        the token obtained with it is what makes a removal safe."""
        moments = [m for m in (self.created_on, self.not_before) if m is not None]
        return min(moments) if moments else _EPOCH


@dataclass(frozen=True)
class KeyCredential:
    """One entry of the application's ``keyCredentials``."""

    key_id: str
    thumbprint: str | None  # SHA-1 uppercase hex when it is a certificate we can identify
    start: datetime | None
    end: datetime | None
    display_name: str | None = None
    verify_certificate: bool = True  # type AsymmetricX509Cert, usage Verify
    # Graph's ``type`` of a keyCredential (``AsymmetricX509Cert``, ``Symmetric``, ...), or
    # ``Password`` for an entry of ``passwordCredentials``: a foreign credential is named by it.
    credential_type: str | None = "AsymmetricX509Cert"

    def valid(self, now: datetime) -> bool:
        if self.end is not None and now >= self.end:
            return False
        return self.start is None or self.start <= now

    @property
    def registered_at(self) -> datetime | None:
        """When the rollover registered it (its displayName), None when registered some other way."""
        match = _REGISTERED_AT.fullmatch(self.display_name or "")
        if match is None:
            return None
        try:
            return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
