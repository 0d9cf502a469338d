"""The credential chain: how the function obtains an Entra token as its app registration.

Bottom to top: the function's own identity (managed identity, or the developer's login locally)
reaches Key Vault; ``CertificateSource`` reads the certificate's public parts and
``CertificateSelector`` picks the version Entra accepts; ``KeyVaultSigner`` has Key Vault ``sign``
(the private key never leaves it); ``ClientAssertion`` builds the JWT client assertion; and
``TokenProvider`` trades it for cached, single-flight Entra tokens; ``TenantTokens`` keeps one
provider per tenant (home and customer tenants). The rest of the broker uses
only these names; the modules beside this file are the chain's machinery.
"""

from __future__ import annotations

from .assertion import ClientAssertion, assertion_header, signing_input
from .certificate_selector import NOT_REGISTERED, CertificateSelector
from .certificate_source import CertificateInfo, CertificateSource, b64url, certificate_info
from .function_identity import bounded_retry_policy, build_function_identity, retry_policy_class, transport_options
from .keyvault_challenge import KeyVaultChallengeErrors
from .signer import KeyVaultSigner
from .tenants import CONSENT_CODES, TenantTokens, consent_refusal
from .token_provider import TokenProvider, claims_from_challenge, entra_error

__all__ = [
    "CONSENT_CODES",
    "NOT_REGISTERED",
    "CertificateInfo",
    "CertificateSelector",
    "CertificateSource",
    "ClientAssertion",
    "KeyVaultChallengeErrors",
    "KeyVaultSigner",
    "TenantTokens",
    "TokenProvider",
    "assertion_header",
    "b64url",
    "bounded_retry_policy",
    "build_function_identity",
    "certificate_info",
    "claims_from_challenge",
    "consent_refusal",
    "entra_error",
    "retry_policy_class",
    "signing_input",
    "transport_options",
]
