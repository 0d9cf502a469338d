# The proof-of-possession JWT of Graph's addKey/removeKey, validated as Graph does.
# References (microsoft-graph-docs-contrib): api-reference/v1.0/api/application-addkey.md and
# application-removekey.md ("signed using the private key of one of the application's existing
# valid certificates"; claims `aud` 00000002-0000-0000-c000-000000000000, `iss` the application's
# object id, `nbf`, `exp` = nbf + 10 min), concepts/application-rollkey-prooftoken.md ("padding
# character '=' must not be included in the JWT header and payload or an
# Authentication_MissingOrMalformed error is returned"; sample: .NET X509SigningCredentials, i.e.
# RS256 with `kid` = hex thumbprint and `x5t`), microsoftgraph/microsoft-graph-docs#6587 (the
# review of the first version: "The token lifespan should not exceed 10 minutes. Where token
# lifespan is the difference between EXP and NBF claims"; the signing certificate "has not yet
# expired"), AZURE-PROTOCOLS.md 7.
# Every refusal answers the same 401 Authentication_MissingOrMalformed "Access Token missing or
# malformed." (observed for a wrong `aud` [O] microsoftgraph/microsoft-graph-docs#10686, for a
# wrong audience/unknown key [O] microsoft-graph-docs#22076, "if PoP is not signed with the
# already uploaded certificate" [O] public tutorial); Graph does not say which check failed, so
# the emulator records the reason (`ProofRefused.reason`) for tests instead of putting it on the wire.
from __future__ import annotations

import binascii
import json
import time
from collections.abc import Sequence
from typing import Any

import jwt

from emulator import certs
from emulator.directory import ASYMMETRIC_X509_CERT, KeyCredential
from emulator.seed import AAD_GRAPH_APP_ID

PROOF_AUDIENCE = AAD_GRAPH_APP_ID
MAX_LIFETIME_SECONDS = 600  # exp - nbf at most 10 minutes [D]
# Graph validates with Microsoft.IdentityModel, whose default clock skew is 5 minutes [D]
# learn.microsoft.com TokenValidationParameters.DefaultClockSkew.
CLOCK_SKEW_SECONDS = 300
# RS256 is what the documented .NET sample (X509SigningCredentials) produces; PS256 is the other
# algorithm the issue and Entra's assertion guidance name. Others are refused [U].
ALGORITHMS = ("RS256", "PS256")


class ProofRefused(Exception):
    """The proof is not acceptable; `reason` says why (never sent to the client)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _segment_json(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(certs.b64url_decode(segment))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ProofRefused("malformed") from None
    if not isinstance(value, dict):
        raise ProofRefused("malformed")
    return value


def _named_credentials(header: dict[str, Any], registered: Sequence[KeyCredential]) -> list[KeyCredential] | None:
    """The registered credentials the header names by `x5t#S256`, `x5t` or `kid` (the hex
    thumbprint .NET writes); None when the header names no key (then every key is tried,
    as Microsoft.IdentityModel does when no key identifier matches)."""
    names = []
    for claim, digest in (("x5t#S256", certs.x5t_s256), ("x5t", certs.x5t)):
        value = header.get(claim)
        if isinstance(value, str):
            try:
                presented = certs.b64url_decode(value)
            except ValueError:
                raise ProofRefused("malformed") from None
            names.append([k for k in registered if certs.b64url_decode(digest(k.der)) == presented])
    kid = header.get("kid")
    if isinstance(kid, str) and len(kid) == 40:
        names.append([k for k in registered if k.thumbprint == kid.upper()])
    if not names:
        return None
    return [k for found in names for k in found]


def validate_proof(
    proof: str, *, object_id: str, key_credentials: Sequence[KeyCredential], now: float | None = None
) -> KeyCredential:
    """The key credential that signed `proof`, or ProofRefused. `object_id` is the id of the
    application being changed; `key_credentials` its registered keys (a snapshot)."""
    now = time.time() if now is None else now
    if not isinstance(proof, str) or proof.count(".") != 2:
        raise ProofRefused("malformed")
    header_segment, payload_segment, _signature = proof.split(".")
    if "=" in header_segment or "=" in payload_segment:
        raise ProofRefused("padding")  # [D] application-rollkey-prooftoken.md
    header = _segment_json(header_segment)
    claims = _segment_json(payload_segment)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise ProofRefused("algorithm")
    if claims.get("aud") != PROOF_AUDIENCE:
        raise ProofRefused("audience")
    if not isinstance(claims.get("iss"), str) or claims["iss"].lower() != object_id.lower():
        raise ProofRefused("issuer")
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if any(not isinstance(t, int | float) or isinstance(t, bool) for t in (nbf, exp)):
        raise ProofRefused("times_missing")
    if exp - nbf > MAX_LIFETIME_SECONDS or exp <= nbf:
        raise ProofRefused("lifetime")
    if now > exp + CLOCK_SKEW_SECONDS:
        raise ProofRefused("expired")
    if now < nbf - CLOCK_SKEW_SECONDS:
        raise ProofRefused("not_yet_valid")
    certificates = [k for k in key_credentials if k.type == ASYMMETRIC_X509_CERT]
    named = _named_credentials(header, certificates)
    candidates = certificates if named is None else named
    if not candidates:
        raise ProofRefused("key_not_registered")
    valid = [k for k in candidates if k.valid_at(now)]
    if not valid:
        raise ProofRefused("key_not_valid")  # registered, but expired or not yet valid
    for credential in valid:
        try:
            jwt.decode(
                proof,
                credential.public_key,
                algorithms=[alg],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except (jwt.PyJWTError, ValueError):
            continue
        return credential
    raise ProofRefused("signature")
