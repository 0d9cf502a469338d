"""Test-only helpers: keys and certificates generated at run time (never committed)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from shared.credential_chain.certificate_source import CertificateInfo


def self_signed(common_name: str = "broker-test") -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def concurrently(n: int, call: Callable[[], Any]) -> list[Any]:
    """Run ``call`` on ``n`` threads released together by a barrier; their results, in finishing order."""
    barrier = threading.Barrier(n)
    results: list[Any] = []

    def one() -> None:
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def certificate_info(der: bytes, version: str = "a" * 32, **overrides) -> CertificateInfo:
    now = dt.datetime.now(dt.UTC)
    fields = dict(
        name="broker-signing",
        version=version,
        key_id=f"https://vault.example/keys/broker-signing/{version}",
        der=der,
        enabled=True,
        not_before=now - dt.timedelta(days=1),
        expires_on=now + dt.timedelta(days=365),
        created_on=now - dt.timedelta(days=1),
    )
    fields.update(overrides)
    return CertificateInfo(**fields)


class LocalTestSigner:
    """Stands in for Key Vault in unit tests of the pure assertion logic only."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.calls: list[tuple[str, str, bytes]] = []

    def sign(self, certificate, algorithm, digest: bytes) -> bytes:
        self.calls.append((certificate.key_id, str(algorithm), digest))
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        if str(algorithm) == "PS256":
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        else:
            pad = padding.PKCS1v15()
        return self.key.sign(digest, pad, Prehashed(hashes.SHA256()))
