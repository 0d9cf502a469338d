"""Key custody: may this certificate version's private key exist anywhere but in the vault?

The rollover makes a version the application's credential without a human looking at it, so it
registers only a version whose key Key Vault itself generated and cannot release: the certificate's
policy names the issuer ``Self`` (Key Vault generated the key pair and self-signed it; an imported
certificate's key was made elsewhere and its policy names ``Unknown``), the policy's
``key_props.exportable`` is false, and that version's key reports ``attributes.exportable`` false.
A missing flag counts as exportable (fail closed).

References: learn.microsoft.com/rest/api/keyvault/certificates/get-certificate-policy (``issuer``,
``key_props``), keys/get-key (``KeyAttributes.exportable``: "Indicates if the private key can be
exported"), certificates/import-certificate. Both reads need only Key Vault Reader
(certificates/read, keys/read); neither touches the certificate's secret.
"""

from __future__ import annotations

from azure.core.exceptions import AzureError
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient

from ..errors import Upstream
from ..upstream_errors import from_azure_error

_HINTS = {
    403: "Grant the function's managed identity the Key Vault Reader role on the vault "
    "(certificates/read for the policy, keys/read for the key's exportable flag).",
    404: "Check KEY_VAULT_CERTIFICATE_NAME.",
}


class KeyCustody:
    def __init__(self, certificates: CertificateClient, keys: KeyClient, name: str) -> None:
        self._certificates = certificates
        self._keys = keys
        self.name = name

    def refusal(self, version: str) -> str | None:
        """None when ``version`` may be registered; else why not and what the operator must do."""
        try:
            action = f"reading the policy of certificate '{self.name}'"
            policy = self._certificates.get_certificate_policy(self.name)
            action = f"reading key '{self.name}' version {version}"
            key = self._keys.get_key(self.name, version)
        except AzureError as exc:
            raise from_azure_error(exc, Upstream.KEYVAULT, action=action, hints=_HINTS) from None
        reasons = []
        issuer = policy.issuer_name
        if (issuer or "").lower() != "self":
            reasons.append(
                f"the certificate policy's issuer is {issuer or 'not set'!r}, not 'Self' (an imported or "
                "CA-issued certificate's private key was made outside the vault)"
            )
        if policy.exportable is not False:
            reasons.append("the certificate policy allows exporting the private key (key_props.exportable)")
        if key.properties.exportable is not False:
            reasons.append(f"the key of version {version} is exportable (or does not say it is not)")
        if not reasons:
            return None
        return (
            f"Certificate '{self.name}' version {version} was not registered: its private key may exist outside "
            f"Key Vault ({'; '.join(reasons)}). Nothing was added or removed. If you did not create this version, "
            "treat it as a compromise attempt (audit log: CertificateImport, CertificatePolicyUpdate). Disable it "
            f"(az keyvault certificate set-attributes --vault-name <vault> -n {self.name} --version {version} "
            "--enabled false) and create a new version in Key Vault with a policy of issuer Self and "
            "exportable=false (scripts/postprovision.sh creates one); the next run registers that one."
        )
