"""Which certificate version signs: the current one, unless Entra has just rejected it.

After a renewal Key Vault's current version may not be registered on the app yet, and Entra
answers AADSTS700027. Then the newest older version that is enabled and valid signs instead
(with a warning, and a flag in diagnostics) until the rejection is forgotten, after
``rejection_ttl`` seconds, when the current version is tried again. A pinned version
(``KEY_VAULT_CERTIFICATE_VERSION``) never falls back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import Upstream, UpstreamFailed
from ..telemetry import certificate_in_use
from .certificate_source import CertificateInfo, CertificateSource

_LOGGER = logging.getLogger(__name__)
NOT_REGISTERED = "AADSTS700027"


@dataclass(frozen=True)
class SelectionState:
    """The version that signed the last assertion, and whether it was a fallback."""

    certificate: CertificateInfo
    fallback: bool
    current_version: str


class CertificateSelector:
    def __init__(
        self,
        source: CertificateSource,
        *,
        client_id: str,
        rejection_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._client_id = client_id
        self._rejection_ttl = rejection_ttl
        self._clock = clock
        self._rejected: dict[str, float] = {}
        self._lock = threading.Lock()
        self.state: SelectionState | None = None
        # Bumped whenever what Entra accepts changed (a version rejected, proven or registered): a
        # signed assertion kept for reuse from before is no longer reused (``ClientAssertion``).
        self.epoch = 0

    @property
    def pinned(self) -> bool:
        return bool(self._source.pinned_version)

    def _is_rejected(self, version: str) -> bool:
        with self._lock:
            rejected_at = self._rejected.get(version)
            if rejected_at is None:
                return False
            if self._clock() - rejected_at >= self._rejection_ttl:
                del self._rejected[version]
                return False
            return True

    def reject(self, certificate: CertificateInfo) -> None:
        """Entra said AADSTS700027 to an assertion signed by ``certificate``."""
        with self._lock:
            self._rejected[certificate.version] = self._clock()
            self.epoch += 1
            state = self.state
            if state is not None and state.fallback and state.certificate.version == certificate.version:
                # The fallback itself was just retired (by the rollover, possibly on another
                # instance), so the keys changed: the current version may be registered by now.
                self._rejected.pop(state.current_version, None)
        _LOGGER.warning(
            "Entra rejected certificate %s version %s (thumbprint %s): not registered on app %s",
            certificate.name,
            certificate.version,
            certificate.thumbprint_hex,
            self._client_id,
        )

    def accept(self, certificate: CertificateInfo) -> None:
        """Entra has just issued a token for an assertion signed by ``certificate`` (the rollover's proof).

        Its rejection is forgotten at once, not after ``rejection_ttl``: the next assertion is signed
        by the current version again, and a fallback to an older version ends now (the proof was the
        last assertion signed, so ``state`` names it).
        """
        with self._lock:
            self._rejected.pop(certificate.version, None)
            self.state = SelectionState(certificate, False, certificate.version)
            self.epoch += 1

    def forget_rejection(self, certificate: CertificateInfo) -> None:
        """``certificate`` was just registered on the app: an AADSTS700027 for it is stale."""
        with self._lock:
            self._rejected.pop(certificate.version, None)
            self.epoch += 1

    def select(self) -> CertificateInfo:
        current = self._source.usable_current()
        if self._source.pinned_version or not self._is_rejected(current.version):
            self.state = SelectionState(current, False, current.version)
            certificate_in_use(current.name, current.version, current.expires_on)
            return current
        for candidate in self._source.older_usable_versions(current):
            if self._is_rejected(candidate.version):
                continue
            _LOGGER.warning(
                # Not "register it": the current version may be one the rollover refuses (imported,
                # docs/custody.md); the rollover registers it only once its custody checks pass.
                "Falling back to certificate %s version %s: current version %s is not registered on app %s "
                "(thumbprint %s); the rollover registers it if Key Vault made its key, else names it as refused",
                candidate.name,
                candidate.version,
                current.version,
                self._client_id,
                current.thumbprint_hex,
            )
            self.state = SelectionState(candidate, True, current.version)
            certificate_in_use(candidate.name, candidate.version, candidate.expires_on)
            return candidate
        raise self.not_registered_error(current)

    def not_registered_error(self, current: CertificateInfo) -> UpstreamFailed:
        fallback = "" if self._source.pinned_version else " No older enabled, valid version is accepted either."
        # The caller learns which version to register and its thumbprint; the app registration's
        # client ID and the certificate's name and vault are the operator's (log line, diagnostics).
        return UpstreamFailed(
            f"Entra does not accept version {current.version} of the signing certificate: it is not registered on "
            f"the app registration (ENTRA_CLIENT_ID). Upload that version's public certificate (SHA-1 thumbprint "
            f"{current.thumbprint_hex}) to the app registration's certificates.{fallback}",
            upstream=Upstream.ENTRA,
            code=NOT_REGISTERED,
            log_hint=(
                f"Entra does not accept version {current.version} of {self._source.target}: it is not registered "
                f"on app registration {self._client_id}. Upload "
                f"that version's public certificate (SHA-1 thumbprint {current.thumbprint_hex}) to app "
                f"{self._client_id}'s certificates (az ad app credential reset --id {self._client_id} --cert "
                f"@<pem> --append, or the postprovision hook).{fallback}"
            ),
        )
