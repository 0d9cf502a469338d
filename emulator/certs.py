# X.509 helpers: self-signed certificates as Key Vault issues them with issuer "Self"
# (RSA 2048, digitalSignature, EKU client auth; AZURE-PROTOCOLS.md 1.3 policy), and the
# thumbprints Entra and Key Vault use: `x5t` = base64url(SHA-1(DER)), `x5t#S256` =
# base64url(SHA-256(DER)), both unpadded (RFC 7515 4.1.7/4.1.8).
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decodes padded or unpadded base64url; raises ValueError on anything else."""
    if not isinstance(text, str) or any(c in text for c in "+/") or "=" in text.rstrip("="):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def self_signed(
    key: rsa.RSAPrivateKey,
    subject: str,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> bytes:
    """DER of a self-signed certificate for `key`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def x5t(der: bytes) -> str:
    return b64url(hashlib.sha1(der).digest())  # noqa: S324 - the JOSE x5t thumbprint is SHA-1


def x5t_s256(der: bytes) -> str:
    return b64url(hashlib.sha256(der).digest())


def sha1_hex(der: bytes) -> str:
    """The upper-case hex thumbprint Entra prints in AADSTS700027."""
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - thumbprint, not security


def load_der(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "n": b64url(n), "e": b64url(e)}
