"""The signing certificate's versions, read from Key Vault with azure-keyvault-certificates.

Listing versions needs certificates/list and reading one certificates/read: Key Vault Reader
grants both, and neither reads the certificate's secret (which holds the private key). The list
carries each version's SHA-1 thumbprint, so a DER is fetched only for the versions the rollover
uploads or signs with.
"""

from __future__ import annotations

from azure.core.exceptions import AzureError
from azure.keyvault.certificates import CertificateClient

from ..credential_chain import CertificateInfo, certificate_info
from ..errors import Upstream, UpstreamFailed
from ..upstream import from_azure_error
from .model import CertificateVersion

_HINTS = {
    401: "Key Vault rejected the function's token: check the vault's tenant.",
    403: "Grant the function's managed identity the Key Vault Reader role on the vault "
    "(certificates/list and certificates/read).",
    404: "Check KEY_VAULT_CERTIFICATE_NAME.",
}


class CertificateVersions:
    def __init__(self, client: CertificateClient, name: str) -> None:
        self._client = client
        self.name = name
        self._target = f"certificate '{name}' in {getattr(client, 'vault_url', 'the vault')}"

    def list(self) -> list[CertificateVersion]:
        """Every version, oldest first; the current one (``GET /certificates/{name}/``) marked."""
        action = "listing versions of the signing certificate"
        versions: list[CertificateVersion] = []
        try:
            current = self._client.get_certificate(self.name).properties.version
            for props in self._client.list_properties_of_certificate_versions(self.name):
                if not props.version:
                    continue
                thumbprint = bytes(props.x509_thumbprint or b"").hex().upper()
                if not thumbprint:
                    thumbprint = self.certificate(props.version).thumbprint_hex
                versions.append(
                    CertificateVersion(
                        version=props.version,
                        thumbprint=thumbprint,
                        enabled=props.enabled is not False,
                        not_before=props.not_before,
                        expires_on=props.expires_on,
                        created_on=props.created_on,
                        current=props.version == current,
                    )
                )
        except AzureError as exc:
            raise from_azure_error(exc, Upstream.KEYVAULT, action=action, hints=_HINTS, target=self._target) from None
        versions.sort(key=lambda v: v.age_key)
        return versions

    def certificate(self, version: str) -> CertificateInfo:
        """One version's public certificate (DER) and key id."""
        action = f"reading version {version} of the signing certificate"
        try:
            certificate = self._client.get_certificate_version(self.name, version)
        except AzureError as exc:
            raise from_azure_error(exc, Upstream.KEYVAULT, action=action, hints=_HINTS, target=self._target) from None
        info = certificate_info(certificate)
        if info.version != version:
            raise UpstreamFailed(f"Key Vault answered {action} with another version.", upstream=Upstream.KEYVAULT)
        return info
