"""The signing certificate's public facts, read from Key Vault.

Requires the certificates/read permission (Key Vault Reader); listing versions for the
AADSTS700027 fallback requires certificates/list, which Key Vault Reader also grants. The
certificate's secret (which holds the private key) is never read.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.keyvault.certificates import CertificateClient, KeyVaultCertificate
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..errors import Upstream, UpstreamFailed
from ..upstream import from_azure_error, with_target

_READ_HINTS = {
    401: "Key Vault rejected the function's token: check the vault's tenant.",
    403: "Grant the function's managed identity the Key Vault Reader role on the vault "
    "(certificates/read; it cannot read the certificate's secret).",
    404: "Check KEY_VAULT_CERTIFICATE_NAME and KEY_VAULT_CERTIFICATE_VERSION.",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate version: the DER, its thumbprints and the key id that signs for it."""

    name: str
    version: str
    key_id: str
    der: bytes
    enabled: bool
    not_before: datetime | None
    expires_on: datetime | None
    created_on: datetime | None = None

    @property
    def x5t(self) -> str:
        """base64url SHA-1 thumbprint (the RS256 header)."""
        return b64url(hashlib.sha1(self.der, usedforsecurity=False).digest())

    @property
    def x5t_s256(self) -> str:
        """base64url SHA-256 thumbprint (the PS256 header)."""
        return b64url(hashlib.sha256(self.der).digest())

    @property
    def thumbprint_hex(self) -> str:
        """SHA-1 thumbprint as the Azure portal shows it on the app registration."""
        return hashlib.sha1(self.der, usedforsecurity=False).hexdigest().upper()

    @property
    def x5c(self) -> str:
        """Standard base64 DER, as the ``x5c`` header carries it (RFC 7515 §4.1.6)."""
        return base64.b64encode(self.der).decode("ascii")

    def public_key(self) -> RSAPublicKey:
        try:
            key = x509.load_der_x509_certificate(self.der).public_key()
        except ValueError:
            # Key Vault's ``cer`` is the DER it made; anything else is its (or a proxy's) fault, a 502.
            detail = (
                f"Key Vault returned version {self.version} of the signing certificate with a public part that is not "
                "an X.509 certificate."
            )
            raise UpstreamFailed(
                detail, upstream=Upstream.KEYVAULT, log_hint=with_target(detail, f"certificate '{self.name}'")
            ) from None
        if not isinstance(key, RSAPublicKey):
            detail = (
                f"Version {self.version} of the signing certificate (KEY_VAULT_CERTIFICATE_NAME) does not have an "
                "RSA key; create the certificate with key type RSA or RSA-HSM."
            )
            raise UpstreamFailed(
                detail, upstream=Upstream.KEYVAULT, log_hint=with_target(detail, f"certificate '{self.name}'")
            )
        return key

    def unusable_reason(self, now: datetime) -> str | None:
        if not self.enabled:
            return "is disabled"
        if self.not_before is not None and now < self.not_before:
            return f"is not valid before {self.not_before.isoformat()}"
        if self.expires_on is not None and now >= self.expires_on:
            return f"expired on {self.expires_on.isoformat()}"
        return None


def certificate_info(certificate: KeyVaultCertificate) -> CertificateInfo:
    props = certificate.properties
    if not certificate.cer or not certificate.key_id or not props.version:
        detail = "Key Vault returned the signing certificate without its public part or key id."
        raise UpstreamFailed(
            detail, upstream=Upstream.KEYVAULT, log_hint=with_target(detail, f"certificate '{certificate.name}'")
        )
    return CertificateInfo(
        name=certificate.name or "",
        version=props.version,
        key_id=certificate.key_id,
        der=bytes(certificate.cer),
        enabled=props.enabled is not False,
        not_before=props.not_before,
        expires_on=props.expires_on,
        created_on=props.created_on,
    )


class CertificateSource:
    """Reads the current (or pinned) version on every call, so rotation needs no restart.

    It is called only when a token must be acquired, never on the hot path.
    """

    def __init__(self, client: CertificateClient, name: str, *, pinned_version: str | None = None) -> None:
        self._client = client
        self.name = name
        self.pinned_version = pinned_version
        # For the operator's hint only: the caller is told of "the signing certificate".
        self.target = f"certificate '{name}' in {getattr(client, 'vault_url', 'the vault')}"

    def current(self) -> CertificateInfo:
        action = "reading the signing certificate"
        try:
            if self.pinned_version:
                certificate = self._client.get_certificate_version(self.name, self.pinned_version)
            else:
                certificate = self._client.get_certificate(self.name)
        except AzureError as exc:
            raise from_azure_error(
                exc, Upstream.KEYVAULT, action=action, hints=_READ_HINTS, target=self.target
            ) from None
        return certificate_info(certificate)

    def usable_current(self) -> CertificateInfo:
        """The current version, or a clear error naming it when it cannot sign."""
        info = self.current()
        reason = info.unusable_reason(datetime.now(UTC))
        if reason:
            detail = (
                f"Version {info.version} of the signing certificate {reason}. Enable it, or create a new "
                "version in Key Vault and register it on the app registration."
            )
            raise UpstreamFailed(
                detail,
                upstream=Upstream.KEYVAULT,
                code="CertificateNotUsable",
                log_hint=with_target(detail, self.target),
            )
        return info

    def older_usable_versions(self, current: CertificateInfo) -> Iterator[CertificateInfo]:
        """Enabled, currently valid versions created before ``current``, newest first."""
        action = "listing versions of the signing certificate"
        now = datetime.now(UTC)
        epoch = datetime.min.replace(tzinfo=UTC)
        try:
            versions = [
                p
                for p in self._client.list_properties_of_certificate_versions(self.name)
                if p.version
                and p.version != current.version
                and p.enabled is not False
                and (p.expires_on is None or p.expires_on > now)
                and (p.not_before is None or p.not_before <= now)
                and (current.created_on is None or (p.created_on or epoch) <= current.created_on)
            ]
        except ResourceNotFoundError:
            return  # no version listing here: no older version is known
        except HttpResponseError as exc:
            if exc.status_code == 405:
                return
            raise from_azure_error(
                exc, Upstream.KEYVAULT, action=action, hints=_READ_HINTS, target=self.target
            ) from None
        except AzureError as exc:
            raise from_azure_error(
                exc, Upstream.KEYVAULT, action=action, hints=_READ_HINTS, target=self.target
            ) from None
        versions.sort(key=lambda p: p.created_on or epoch, reverse=True)
        for props in versions:
            try:
                certificate = self._client.get_certificate_version(self.name, props.version or "")
            except AzureError as exc:
                raise from_azure_error(
                    exc, Upstream.KEYVAULT, action=action, hints=_READ_HINTS, target=self.target
                ) from None
            info = certificate_info(certificate)
            if info.unusable_reason(now) is None:
                yield info
