"""Key custody: may this certificate version's private key exist anywhere but in the vault?

The rollover makes a version the application's credential without a human looking at it, so it
registers only a version whose key Key Vault itself generated and cannot release: the certificate's
policy names the issuer ``Self`` (Key Vault generated the key pair and self-signed it; an imported
certificate's key was made elsewhere and its policy names ``Unknown``), the policy's
``key_props.exportable`` is false, and that version's key is not exportable.

Where each fact comes from, and what its absence means:
- The policy: ``GET /certificates/{name}/policy``; a vault that does not serve that route (404/405)
  still returns the policy inside the latest-version certificate bundle, which is read instead. A
  certificate always has a policy in Key Vault (an imported one gets issuer ``Unknown``), so no
  policy at all, or a policy without ``key_props.exportable``, is refused (fail closed).
- The key: ``KeyAttributes.exportable`` is only ever true for a key created with a release policy
  ("Release policy must be provided when creating the first version of an exportable key"), so
  an absent flag is Key Vault's default, false; an explicit true, or a release policy, is refused.

References: learn.microsoft.com/rest/api/keyvault/certificates/get-certificate-policy (``issuer``,
``key_props``), keys/get-key (``KeyAttributes.exportable``: "Indicates if the private key can be
exported"), certificates/import-certificate. Both reads need only Key Vault Reader
(certificates/read, keys/read); neither touches the certificate's secret.
"""

from __future__ import annotations

from azure.core.exceptions import AzureError, HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient

from ..errors import Upstream
from ..upstream import from_azure_error

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
            policy = self._policy()
            action = f"reading key '{self.name}' version {version}"
            key = self._keys.get_key(self.name, version)
        except AzureError as exc:
            raise from_azure_error(exc, Upstream.KEYVAULT, action=action, hints=_HINTS) from None
        reasons = []
        issuer = policy.issuer_name if policy is not None else None
        if (issuer or "").lower() != "self":
            reasons.append(
                f"the certificate policy's issuer is {issuer or 'not given'!r}, not 'Self' (an imported or "
                "CA-issued certificate's private key was made outside the vault)"
            )
        if policy is None or policy.exportable is not False:
            reasons.append(
                "the certificate policy allows exporting the private key (key_props.exportable is not false)"
            )
        if key.properties.exportable is True or key.properties.release_policy is not None:
            reasons.append(f"the key of version {version} is exportable (it has a release policy)")
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

    def _policy(self) -> CertificatePolicy | None:
        try:
            return self._certificates.get_certificate_policy(self.name)
        except HttpResponseError as exc:
            if exc.status_code not in (404, 405):
                raise
        # The policy route is not served: the latest-version bundle carries the same policy.
        return self._certificates.get_certificate(self.name).policy
