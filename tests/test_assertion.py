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


# --------------------------------------------------------------------------- reuse (MSAL's AutoRefresher)
class _Clock:
    def __init__(self, now=1_800_000_000.5):
        self.now = now

    def __call__(self):
        return self.now


def _reusing(key_and_der, *, lifetime=300, clock=None, select=None, reuse=True):
    key, der = key_and_der
    signer = LocalTestSigner(key)
    cert = certificate_info(der)
    reads = []

    def read():
        reads.append(1)
        return select() if select else cert

    assertion = ClientAssertion(
        select_certificate=read,
        signer=signer,
        client_id=CLIENT,
        token_url=TOKEN_URL,
        algorithm=Algorithm.PS256,
        send_x5c=False,
        lifetime_seconds=lifetime,
        reuse=reuse,
        clock=clock or _Clock(),
    )
    return assertion, signer, reads


def test_one_assertion_is_reused_while_it_has_at_least_a_minute_left(key_and_der):
    clock = _Clock()
    assertion, signer, reads = _reusing(key_and_der, clock=clock)
    first = assertion()
    clock.now += 300 - 60 - 1.5  # exp - now = 61 s (iat is the whole second before)
    assert assertion() == first
    clock.now += 1  # 60 s left: no longer reused
    second = assertion()
    assert second != first
    assert len(signer.calls) == 2 and len(reads) == 2
    _, claims, _ = _segments(second)
    assert claims["exp"] - clock.now > 60


def test_with_the_minimum_lifetime_no_assertion_is_reused(key_and_der):
    assertion, signer, _ = _reusing(key_and_der, lifetime=60)
    assert assertion() != assertion()
    assert len(signer.calls) == 2


def test_reuse_off_signs_every_call(key_and_der):
    assertion, signer, _ = _reusing(key_and_der, reuse=False)
    assertion()
    assertion()
    assert len(signer.calls) == 2


def test_concurrent_cold_callers_share_one_signature(key_and_der):
    import threading
    import time

    gate = threading.Event()

    def slow_read():
        gate.wait(timeout=5)
        time.sleep(0.05)
        return certificate_info(key_and_der[1])

    assertion, signer, reads = _reusing(key_and_der, select=slow_read)
    results = []
    threads = [threading.Thread(target=lambda: results.append(assertion())) for _ in range(16)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 16 and len(set(results)) == 1
    assert len(signer.calls) == 1 and len(reads) == 1


def test_a_failed_build_is_not_kept(key_and_der):
    failures = [RuntimeError("Key Vault down")]

    def read():
        if failures:
            raise failures.pop()
        return certificate_info(key_and_der[1])

    assertion, signer, _ = _reusing(key_and_der, select=read)
    with pytest.raises(RuntimeError):
        assertion()
    assert assertion()
    assert len(signer.calls) == 1


def test_a_discarded_assertion_is_rebuilt_from_a_fresh_certificate_read(key_and_der):
    assertion, signer, reads = _reusing(key_and_der)
    with assertion.recording() as record:
        first = assertion()
    assert record.assertion is not None and record.certificate is not None
    assertion.discard(record.assertion)
    second = assertion()
    assert second != first and len(reads) == 2 and len(signer.calls) == 2
    # Discarding an assertion already replaced leaves the replacement alone.
    assertion.discard(record.assertion)
    assert assertion() == second


def test_an_assertion_signed_before_the_selector_changed_is_not_reused(key_and_der):
    epoch = [0]
    key, der = key_and_der
    signer = LocalTestSigner(key)
    cert = certificate_info(der)
    assertion = ClientAssertion(
        select_certificate=lambda: cert,
        signer=signer,
        client_id=CLIENT,
        token_url=TOKEN_URL,
        algorithm=Algorithm.PS256,
        send_x5c=False,
        lifetime_seconds=300,
        epoch=lambda: epoch[0],
        clock=_Clock(),
    )
    first = assertion()
    assert assertion() == first
    epoch[0] += 1  # e.g. another tenant's request had this version rejected, or the rollover proved a renewal
    assert assertion() != first
    assert len(signer.calls) == 2
