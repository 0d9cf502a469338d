"""Signs digests with Key Vault's ``sign`` operation; the private key never leaves the vault.

Requires the keys/sign permission (Key Vault Crypto User). Each ``CryptographyClient`` is built
from a ``KeyVaultKey`` holding the certificate's *public* JWK, so the SDK goes straight to
``POST /keys/{name}/{version}/sign`` without first spending a ``GET key`` round trip
(AZURE-PROTOCOLS §1.6). One client per key version is kept for the life of the process.

The SDK sends the managed identity's vault token to whatever host the key id names, and that key
id comes from Key Vault's answer (the certificate bundle's ``kid``). So before any ``sign`` the
key id must be ``{KEY_VAULT_URL}/keys/{certificate name}/{version}`` on the vault's own origin,
as Key Vault always names a certificate's key; anything else is refused as a 502 naming Key Vault.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.keyvault.keys import KeyVaultKey
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm

from ..errors import Upstream, UpstreamFailed
from ..settings import Algorithm
from ..telemetry import count_sign
from ..upstream import UnsafeUrl, connection_origin, from_azure_error, origin
from .certificate_source import CertificateInfo

_SIGN_HINTS = {
    401: "Key Vault rejected the function's token: check the vault's tenant.",
    403: "Grant the function's managed identity the Key Vault Crypto User role on the vault (keys/sign), "
    "and check that the certificate's key is enabled and within its validity period.",
    404: "The certificate's key was not found: check KEY_VAULT_CERTIFICATE_NAME and its version.",
}
_MAX_CLIENTS = 8


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class KeyVaultSigner:
    def __init__(self, credential: TokenCredential, *, vault_url: str, **client_options: Any) -> None:
        self._credential = credential
        self._vault_origin = origin(vault_url)
        self._client_options = client_options
        self._clients: dict[str, CryptographyClient] = {}
        self._lock = threading.Lock()

    def _check_key_id(self, certificate: CertificateInfo) -> None:
        """The key id must name this certificate version's key in the configured vault."""
        try:
            connects_to = connection_origin(certificate.key_id)
            path = urlsplit(certificate.key_id).path
        except UnsafeUrl:
            connects_to, path = "", ""
        expected = f"/keys/{certificate.name}/{certificate.version}".lower()
        if connects_to != self._vault_origin or path.rstrip("/").lower() != expected:
            raise UpstreamFailed(
                f"Key Vault named the key of version {certificate.version} of the signing certificate outside the "
                "vault in KEY_VAULT_URL; the function does not send its vault token there.",
                upstream=Upstream.KEYVAULT,
                log_hint=(
                    f"Key Vault named the key of certificate '{certificate.name}' version {certificate.version} "
                    f"at {connects_to or 'an unusable URL'}{path[:200]}, not under {self._vault_origin}{expected} "
                    "(KEY_VAULT_URL); the function did not send its vault token there."
                ),
            )

    def _client_for(self, certificate: CertificateInfo) -> CryptographyClient:
        self._check_key_id(certificate)
        with self._lock:
            client = self._clients.get(certificate.key_id)
            if client is None:
                numbers = certificate.public_key().public_numbers()
                key = KeyVaultKey(
                    certificate.key_id,
                    jwk={
                        "kid": certificate.key_id,
                        "kty": "RSA",
                        "n": _int_bytes(numbers.n),
                        "e": _int_bytes(numbers.e),
                        "key_ops": ["sign", "verify"],
                    },
                )
                if len(self._clients) >= _MAX_CLIENTS:
                    # Old versions stop being used after rotation; keep the cache bounded.
                    self._clients.pop(next(iter(self._clients))).close()
                client = CryptographyClient(key, self._credential, **self._client_options)
                self._clients[certificate.key_id] = client
            return client

    def sign(self, certificate: CertificateInfo, algorithm: Algorithm, digest: bytes) -> bytes:
        """Sign a SHA-256 ``digest`` with the key of ``certificate``'s own version."""
        client = self._client_for(certificate)
        try:
            result = client.sign(SignatureAlgorithm(str(algorithm)), digest)
        except AzureError as exc:
            count_sign(outcome="failure")
            raise from_azure_error(
                exc,
                Upstream.KEYVAULT,
                action=f"signing with version {certificate.version} of the signing certificate",
                hints=_SIGN_HINTS,
                target=f"key {certificate.key_id}",
            ) from None
        if not result.signature:
            count_sign(outcome="failure")
            raise UpstreamFailed("Key Vault returned an empty signature.", upstream=Upstream.KEYVAULT)
        count_sign(outcome="success")
        return result.signature

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
