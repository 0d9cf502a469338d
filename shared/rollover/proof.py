"""Graph's proof of possession for ``addKey`` / ``removeKey``, signed by Key Vault.

Reference: microsoft-graph-docs ``concepts/application-rollkey-prooftoken.md``: a self-signed JWT
with ``aud`` ``00000002-0000-0000-c000-000000000000``, ``iss`` the application's *object* id,
``nbf`` and ``exp`` = ``nbf`` + 10 minutes, signed with the private key of one of the app's
currently valid registered certificates; no ``=`` padding anywhere, or Graph answers
``Authentication_MissingOrMalformed``. The header is what the documented sample's
``X509SigningCredentials`` produces: RS256 with ``x5t`` (base64url SHA-1) and ``kid`` (the hex
thumbprint) — the one form Microsoft documents for proofs, so it is used whatever
``ASSERTION_ALGORITHM`` says. Encoding and signing are the client assertion's own machinery.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from ..credential_chain import CertificateInfo, KeyVaultSigner, assertion_header, b64url, signing_input
from ..settings import Algorithm

GRAPH_PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
PROOF_LIFETIME_SECONDS = 600
PROOF_ALGORITHM = Algorithm.RS256


def proof_header(certificate: CertificateInfo) -> dict[str, Any]:
    header = assertion_header(certificate, PROOF_ALGORITHM, send_x5c=False)
    header["kid"] = certificate.thumbprint_hex
    return header


def proof_claims(*, application_object_id: str, now: float) -> dict[str, Any]:
    issued = int(now)
    return {
        "aud": GRAPH_PROOF_AUDIENCE,
        "iss": application_object_id,
        "nbf": issued,
        "iat": issued,
        "exp": issued + PROOF_LIFETIME_SECONDS,
    }


class ProofBuilder:
    """Builds one proof per call; signing happens in Key Vault (requires keys/sign)."""

    def __init__(
        self, signer: KeyVaultSigner, *, application_object_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._signer = signer
        self._application_object_id = application_object_id
        self._clock = clock

    def __call__(self, certificate: CertificateInfo) -> str:
        unsigned = signing_input(
            proof_header(certificate),
            proof_claims(application_object_id=self._application_object_id, now=self._clock()),
        )
        digest = hashlib.sha256(unsigned.encode("ascii")).digest()
        signature = self._signer.sign(certificate, PROOF_ALGORITHM, digest)
        return f"{unsigned}.{b64url(signature)}"
