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
    def age_key(self) -> tuple[datetime, bool]:
        """Order of creation (a renewal is created after the version it renews); on a tie of
        timestamps, Key Vault's current version is the newer."""
        return (self.created_on or self.not_before or _EPOCH, self.current)

    @property
    def available_since(self) -> datetime:
        """When this version took over: the start of its validity (Key Vault back-dates a renewal's
        ``nbf`` to its issuance), else its creation."""
        return self.not_before or self.created_on or _EPOCH


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
