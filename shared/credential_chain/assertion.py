"""The RFC 7523 client assertion (``private_key_jwt``), signed by Key Vault.

Header, claims and encoding follow SPEC "The assertion" and Microsoft's certificate-credentials
reference: compact JSON, base64url without padding, ``x5t#S256`` with PS256 or ``x5t`` with
RS256, ``aud`` the exact v2.0 token URL. Key Vault signs the SHA-256 digest of the ASCII signing
input; the key id and the header thumbprint always come from one certificate version.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..settings import Algorithm
from .certificate_source import CertificateInfo, b64url
from .signer import KeyVaultSigner


def encode_segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii"))


def assertion_header(certificate: CertificateInfo, algorithm: Algorithm, *, send_x5c: bool) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": str(algorithm), "typ": "JWT"}
    if algorithm is Algorithm.PS256:
        header["x5t#S256"] = certificate.x5t_s256
    else:
        header["x5t"] = certificate.x5t
    if send_x5c:
        # The leaf only: a chain would need the certificate's secret, which holds the private key.
        header["x5c"] = [certificate.x5c]
    return header


def assertion_claims(*, client_id: str, token_url: str, lifetime_seconds: int, now: float) -> dict[str, Any]:
    issued = int(now)
    return {
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime_seconds,
    }


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{encode_segment(header)}.{encode_segment(claims)}"


class SignedWith:
    """Which certificate version signed the assertion of one token acquisition (None: none was signed)."""

    def __init__(self) -> None:
        self.certificate: CertificateInfo | None = None


class ClientAssertion:
    """Callable for ``ClientAssertionCredential(func=...)``: a freshly signed assertion per call.

    azure-identity calls it only when it must fetch a token, so it is off the hot path. A token
    acquisition wraps its credential call in :meth:`recording`, and learns exactly which version
    signed *its* assertion — not one signed by another thread, nor by an earlier acquisition on
    this thread — so an AADSTS700027 is held against the version Entra actually judged.
    """

    def __init__(
        self,
        *,
        select_certificate: Callable[[], CertificateInfo],
        signer: KeyVaultSigner,
        client_id: str,
        token_url: str,
        algorithm: Algorithm,
        send_x5c: bool,
        lifetime_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._select_certificate = select_certificate
        self._signer = signer
        self._client_id = client_id
        self._token_url = token_url
        self._algorithm = algorithm
        self._send_x5c = send_x5c
        self._lifetime_seconds = lifetime_seconds
        self._clock = clock
        # The acquisition in progress on each thread: azure-identity calls the assertion
        # synchronously, on the thread that asked for the token.
        self._recording = threading.local()

    @contextmanager
    def recording(self) -> Iterator[SignedWith]:
        """Records the version that signs an assertion made (on this thread) inside the block."""
        record = SignedWith()
        outer = getattr(self._recording, "record", None)
        self._recording.record = record
        try:
            yield record
        finally:
            self._recording.record = outer

    def __call__(self) -> str:
        certificate = self._select_certificate()
        record: SignedWith | None = getattr(self._recording, "record", None)
        if record is not None:
            record.certificate = certificate
        header = assertion_header(certificate, self._algorithm, send_x5c=self._send_x5c)
        claims = assertion_claims(
            client_id=self._client_id,
            token_url=self._token_url,
            lifetime_seconds=self._lifetime_seconds,
            now=self._clock(),
        )
        unsigned = signing_input(header, claims)
        digest = hashlib.sha256(unsigned.encode("ascii")).digest()
        signature = self._signer.sign(certificate, self._algorithm, digest)
        return f"{unsigned}.{b64url(signature)}"
