"""Key custody: may this certificate version's private key exist anywhere but in the vault?

The rollover makes a version the application's credential without a human looking at it, so it
registers only a version whose key Key Vault itself generated and cannot release:

1. the certificate's policy names the issuer ``Self`` (Key Vault generated the key pair and
   self-signed it; an imported certificate's key was made elsewhere and its policy names
   ``Unknown``);
2. the policy's ``key_props.exportable`` is false;
3. that version's key is not exportable;
4. when registering it, the version was created no earlier than the policy's last change (policy
   ``attributes.updated``). Signals 1 and 2 describe the policy *now*; a policy update does not
   change existing versions, so a version older than the policy was made under a policy nobody can
   read any more. Someone with ``certificates/import`` and ``certificates/update`` can import a
   version with their own key and then reset the policy to ``Self``/not exportable: that version is
   older than the policy, and refused. Key Vault's times are whole seconds: a version created in the
   same second as the policy change is not older (a ``create`` that carries its policy, the normal
   way to renew by hand, sets both at once). An import that carries its own policy in the same
   request looks the same and is visible only in the Key Vault audit log (``CertificateImport``:
   the alert on it is the control; docs/custody.md). A version already registered is not judged by
   signal 4 again: a later, innocent policy change must not disown the key in use.

Where each fact comes from, and what its absence means:
- The policy: ``GET /certificates/{name}/policy``; a vault that does not serve that route (404/405)
  still returns the policy inside the latest-version certificate bundle, which is read instead. A
  certificate always has a policy in Key Vault (an imported one gets issuer ``Unknown``), so no
  policy at all, a policy without ``key_props.exportable``, or (when registering) without
  ``attributes.updated`` is refused (fail closed), as is a version without a creation time.
- The key: ``KeyAttributes.exportable`` is only ever true for a key created with a release policy
  ("Release policy must be provided when creating the first version of an exportable key"), so
  an absent flag is Key Vault's default, false; an explicit true, or a release policy, is refused.
- The version's creation: ``attributes.created`` of the version as Key Vault lists it.

References: learn.microsoft.com/rest/api/keyvault/certificates/get-certificate-policy (``issuer``,
``key_props``, ``attributes`` with ``created``/``updated``), certificates/update-certificate-policy,
certificates/import-certificate (an import may carry a ``policy``), keys/get-key
(``KeyAttributes.exportable``: "Indicates if the private key can be exported"). Both reads need only
Key Vault Reader (certificates/read, keys/read); neither touches the certificate's secret. Key type
``RSA-HSM`` (a premium vault's HSM-backed key) passes like ``RSA``: the HSM is a stronger custody,
never a reason to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import AzureError, HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient

from ..errors import Upstream
from ..upstream import from_azure_error
from .model import CertificateVersion

_HINTS = {
    403: "Grant the function's managed identity the Key Vault Reader role on the vault "
    "(certificates/read for the policy, keys/read for the key's exportable flag).",
    404: "Check KEY_VAULT_CERTIFICATE_NAME.",
}


@dataclass(frozen=True)
class CustodyFacts:
    """What Key Vault says about one version's key, as read for the rule (custody_reasons)."""

    issuer: str | None
    policy_exportable: bool | None
    policy_updated: datetime | None
    key_exportable: bool | None
    key_release_policy: bool
    created: datetime | None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def custody_reasons(facts: CustodyFacts, *, version: str, registering: bool) -> list[str]:
    """Why ``version`` may not be registered (empty: it may). Pure: the whole rule, unit-tested."""
    reasons = []
    if (facts.issuer or "").lower() != "self":
        reasons.append(
            f"the certificate policy's issuer is {facts.issuer or 'not given'!r}, not 'Self' (an imported or "
            "CA-issued certificate's private key was made outside the vault)"
        )
    if facts.policy_exportable is not False:
        reasons.append("the certificate policy allows exporting the private key (key_props.exportable is not false)")
    if facts.key_exportable is True or facts.key_release_policy:
        reasons.append(f"the key of version {version} is exportable (it has a release policy)")
    if registering:
        if facts.policy_updated is None:
            reasons.append("the certificate policy does not say when it last changed (attributes.updated)")
        elif facts.created is None:
            reasons.append(f"Key Vault does not say when version {version} was created")
        elif int(facts.created.timestamp()) < int(facts.policy_updated.timestamp()):
            reasons.append(
                f"version {version} was created {_iso(facts.created)}, before the certificate policy's last "
                f"change {_iso(facts.policy_updated)}, so the policy it is judged by did not govern its creation "
                "(an import followed by a policy reset looks exactly like this)"
            )
    return reasons


class KeyCustody:
    def __init__(self, certificates: CertificateClient, keys: KeyClient, name: str) -> None:
        self._certificates = certificates
        self._keys = keys
        self.name = name
        self._target = f"certificate '{name}' in {getattr(certificates, 'vault_url', 'the vault')}"

    def facts(self, version: CertificateVersion) -> CustodyFacts:
        """Reads the certificate's policy and the version's key (Key Vault Reader)."""
        try:
            action = "reading the signing certificate's policy"
            policy = self._policy()
            action = f"reading the key of version {version.version} of the signing certificate"
            key = self._keys.get_key(self.name, version.version)
        except AzureError as exc:
            raise from_azure_error(exc, Upstream.KEYVAULT, action=action, hints=_HINTS, target=self._target) from None
        return CustodyFacts(
            issuer=policy.issuer_name if policy is not None else None,
            policy_exportable=policy.exportable if policy is not None else None,
            policy_updated=policy.updated_on if policy is not None else None,
            key_exportable=key.properties.exportable,
            key_release_policy=key.properties.release_policy is not None,
            created=version.created_on,
        )

    def refusal(
        self, version: CertificateVersion, *, registering: bool, facts: CustodyFacts | None = None
    ) -> str | None:
        """None when ``version`` may be (``registering``) or stay the successor; else why not and
        what the operator must do. ``facts``: already read in this run (else read now)."""
        facts = facts if facts is not None else self.facts(version)
        reasons = custody_reasons(facts, version=version.version, registering=registering)
        if not reasons:
            return None
        return (
            f"Certificate '{self.name}' version {version.version} was not registered: its private key may exist "
            f"outside Key Vault ({'; '.join(reasons)}). It is never registered. If you did not create this version, "
            "treat it as a compromise attempt (audit log: CertificateImport, CertificatePolicyUpdate). Disable it "
            f"(az keyvault certificate set-attributes --vault-name <vault> -n {self.name} --version "
            f"{version.version} --enabled false) and create a new version in Key Vault with a policy of issuer Self "
            "and exportable=false (az keyvault certificate create --policy; scripts/cert-policy.template.json is one); "
            "the next run registers that one."
        )

    def _policy(self) -> CertificatePolicy | None:
        try:
            return self._certificates.get_certificate_policy(self.name)
        except HttpResponseError as exc:
            if exc.status_code not in (404, 405):
                raise
        # The policy route is not served: the latest-version bundle carries the same policy.
        return self._certificates.get_certificate(self.name).policy
