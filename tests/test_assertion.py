import base64
import hashlib
import json
import uuid

import jwt
import pytest
from cryptography import x509

from shared.credential_chain.assertion import ClientAssertion, assertion_header, encode_segment
from shared.settings import Algorithm
from tests.helpers import LocalTestSigner, certificate_info, self_signed

CLIENT = "11111111-2222-3333-4444-555555555555"
TOKEN_URL = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"


@pytest.fixture(scope="module")
def key_and_der():
    return self_signed()


def _segments(assertion):
    parts = assertion.split(".")
    assert len(parts) == 3
    for part in parts:
        assert "=" not in part and "+" not in part and "/" not in part
    decoded = [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2]]
    return decoded[0], decoded[1], parts


def _build(key_and_der, algorithm, *, send_x5c=False, now=1_800_000_000.0, lifetime=300):
    key, der = key_and_der
    signer = LocalTestSigner(key)
    cert = certificate_info(der)
    assertion = ClientAssertion(
        select_certificate=lambda: cert,
        signer=signer,
        client_id=CLIENT,
        token_url=TOKEN_URL,
        algorithm=algorithm,
        send_x5c=send_x5c,
        lifetime_seconds=lifetime,
        clock=lambda: now,
    )
    return assertion(), signer, cert


def test_ps256_header_claims_and_signature_verify_with_the_certificate(key_and_der):
    token, signer, cert = _build(key_and_der, Algorithm.PS256)
    header, claims, parts = _segments(token)
    assert header == {
        "alg": "PS256",
        "typ": "JWT",
        "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(cert.der).digest()).rstrip(b"=").decode(),
    }
    assert claims["aud"] == TOKEN_URL
    assert claims["iss"] == claims["sub"] == CLIENT
    assert uuid.UUID(claims["jti"])
    assert claims["iat"] == claims["nbf"] == 1_800_000_000
    assert claims["exp"] == 1_800_000_300
    public_key = x509.load_der_x509_certificate(cert.der).public_key()
    verified = jwt.decode(
        token,
        public_key,
        algorithms=["PS256"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert verified["sub"] == CLIENT
    # Key Vault was asked to sign the SHA-256 of the ASCII signing input, with the cert's own key id.
    key_id, alg, digest = signer.calls[0]
    assert (key_id, alg) == (cert.key_id, "PS256")
    assert digest == hashlib.sha256(f"{parts[0]}.{parts[1]}".encode("ascii")).digest()


def test_rs256_uses_sha1_x5t(key_and_der):
    token, _, cert = _build(key_and_der, Algorithm.RS256)
    header, _, _ = _segments(token)
    assert header == {
        "alg": "RS256",
        "typ": "JWT",
        "x5t": base64.urlsafe_b64encode(hashlib.sha1(cert.der).digest()).rstrip(b"=").decode(),
    }
    public_key = x509.load_der_x509_certificate(cert.der).public_key()
    jwt.decode(
        token,
        public_key,
        algorithms=["RS256"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )


def test_x5c_carries_the_leaf_in_standard_base64(key_and_der):
    token, _, cert = _build(key_and_der, Algorithm.PS256, send_x5c=True)
    header, _, _ = _segments(token)
    assert header["x5c"] == [base64.b64encode(cert.der).decode()]


def test_each_assertion_has_a_fresh_jti(key_and_der):
    first, _, _ = _build(key_and_der, Algorithm.PS256)
    second, _, _ = _build(key_and_der, Algorithm.PS256)
    assert _segments(first)[1]["jti"] != _segments(second)[1]["jti"]


def test_lifetime_setting_sets_exp(key_and_der):
    token, _, _ = _build(key_and_der, Algorithm.PS256, lifetime=600)
    _, claims, _ = _segments(token)
    assert claims["exp"] - claims["nbf"] == 600


def test_segments_are_compact_json():
    assert encode_segment({"a": 1, "b": "x"}) == base64.urlsafe_b64encode(b'{"a":1,"b":"x"}').rstrip(b"=").decode()


def test_header_without_x5c_by_default(key_and_der):
    _, der = key_and_der
    assert "x5c" not in assertion_header(certificate_info(der), Algorithm.PS256, send_x5c=False)
