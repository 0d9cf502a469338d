"""What the rollover reasons about: certificate versions in Key Vault and key credentials on the app.

Both are reduced to the facts the plan needs, thumbprints first: a key credential is "a version of
this certificate" exactly when its SHA-1 thumbprint is one of the certificate's versions'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

_EPOCH = datetime.min.replace(tzinfo=UTC)


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

    def valid(self, now: datetime) -> bool:
        if self.end is not None and now >= self.end:
            return False
        return self.start is None or self.start <= now
