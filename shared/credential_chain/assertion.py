"""The RFC 7523 client assertion (``private_key_jwt``), signed by Key Vault.

Header, claims and encoding follow SPEC "The assertion" and Microsoft's certificate-credentials
reference: compact JSON, base64url without padding, ``x5t#S256`` with PS256 or ``x5t`` with
RS256, ``aud`` the exact v2.0 token URL. Key Vault signs the SHA-256 digest of the ASCII signing
input; the key id and the header thumbprint always come from one certificate version.

One assertion serves many token requests, as MSAL's ``oauth2cli/assertion.py`` ``AutoRefresher``
keeps its own: the assertion does not depend on the scope, so it is reused for every token request
to its tenant (its ``aud``) while it has at least ``REUSE_MARGIN_SECONDS`` left, and Entra accepts
the same ``jti`` again (AZURE-PROTOCOLS §4.6). A second scope's cold token then costs one Entra round
trip and no Key Vault call. Concurrent misses share one build (single-flight); a failed build is
never kept. An assertion Entra refuses is :meth:`ClientAssertion.discard`-ed by the token provider,
so the next one is built from a fresh read of the certificate (rotation, the AADSTS700027 fallback).
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

from ..errors import Upstream, UpstreamTimeout
from ..settings import Algorithm
from ..single_flight import SingleFlight
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


# An assertion is reused only while it has at least this long left (SPEC: "at least a minute"),
# so Entra never sees one that expires in flight; with the minimum lifetime (60 s) none is reused.
REUSE_MARGIN_SECONDS = 60


class SignedAssertion:
    """One signed assertion: the compact JWT, the version that signed it, and until when it is reused."""

    __slots__ = ("certificate", "epoch", "reuse_until", "value")

    def __init__(self, value: str, certificate: CertificateInfo, reuse_until: float, epoch: int = 0) -> None:
        self.value = value
        self.certificate = certificate
        self.reuse_until = reuse_until
        self.epoch = epoch


class SignedWith:
    """Which assertion (and so which certificate version) one token acquisition sent (None: none)."""

    def __init__(self) -> None:
        self.assertion: SignedAssertion | None = None

    @property
    def certificate(self) -> CertificateInfo | None:
        return self.assertion.certificate if self.assertion is not None else None


class ClientAssertion:
    """Callable for ``ClientAssertionCredential(func=...)``: the tenant's current signed assertion.

    azure-identity calls it on every token request it makes (never on a cached token), so it is off
    the hot path. It holds one :class:`SignedAssertion` and returns it while it has at least
    ``REUSE_MARGIN_SECONDS`` left; otherwise the first caller builds the next one (certificate read,
    Key Vault ``sign``) and concurrent callers wait for that build and share its outcome. A failure
    is never kept: the next call tries again. ``reuse=False`` signs a fresh one per call (the
    rollover's proof that one exact version is accepted). ``epoch``: the certificate selector's
    count of changes to what Entra accepts; an assertion signed before a change (a version rejected
    by another tenant's request, a renewal proven or registered by the rollover) is not reused, so
    no tenant sends an assertion already known to be refused, and a proven version is used at once.

    A token acquisition wraps its credential call in :meth:`recording`, and learns exactly which
    assertion *it* sent — not one another thread got, nor an earlier acquisition on this thread —
    so a refusal is held against the assertion and version Entra actually judged.
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
        reuse: bool = True,
        epoch: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._select_certificate = select_certificate
        self._signer = signer
        self._client_id = client_id
        self._token_url = token_url
        self._algorithm = algorithm
        self._send_x5c = send_x5c
        self._lifetime_seconds = lifetime_seconds
        self._reuse = reuse
        self._epoch = epoch
        self._clock = clock
        # The acquisition in progress on each thread: azure-identity calls the assertion
        # synchronously, on the thread that asked for the token.
        self._recording = threading.local()
        self._current: SignedAssertion | None = None
        self._builds: SingleFlight[SignedAssertion] = SingleFlight()

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
        if not self._reuse:
            signed = self._build()
        else:
            signed = self._reusable() or self._builds.run(
                "assertion",
                self._build_unless_fresh,
                on_wait_timeout=lambda: UpstreamTimeout(
                    "Timed out waiting for a client assertion being signed by another request.",
                    upstream=Upstream.KEYVAULT,
                ),
            )
        record: SignedWith | None = getattr(self._recording, "record", None)
        if record is not None:
            record.assertion = signed
        return signed.value

    def discard(self, refused: SignedAssertion) -> None:
        """Entra refused ``refused``: never send it again (unless another build already replaced it)."""
        if self._current is refused:
            self._current = None

    def _reusable(self) -> SignedAssertion | None:
        current = self._current
        if current is not None and self._clock() < current.reuse_until and current.epoch == self._epoch():
            return current
        return None

    def _build_unless_fresh(self) -> SignedAssertion:
        # A build that landed just before this flight took off already made a good one.
        signed = self._reusable()
        if signed is None:
            signed = self._current = self._build()
        return signed

    def _build(self) -> SignedAssertion:
        epoch = self._epoch()  # read first: a change while this one is signed makes it stale at once
        certificate = self._select_certificate()
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
        reuse_until = claims["exp"] - REUSE_MARGIN_SECONDS
        return SignedAssertion(f"{unsigned}.{b64url(signature)}", certificate, reuse_until, epoch)
