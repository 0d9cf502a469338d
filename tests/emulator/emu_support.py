"""Helpers for the emulator's own tests: tokens, and client assertions signed with keys
generated here (test code only: the product never holds a private key)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from typing import Any

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from emulator import Emulator

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


class LocalCert:
    """An RSA key and self-signed certificate made by the test (never written to disk)."""

    def __init__(self, *, days_valid: int = 30, not_before: dt.datetime | None = None) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator-test")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days_valid))
            .sign(self.key, hashes.SHA256())
        )
        self.der = cert.public_bytes(serialization.Encoding.DER)

    @property
    def x5t(self) -> str:
        return b64url(hashlib.sha1(self.der).digest())

    @property
    def x5t_s256(self) -> str:
        return b64url(hashlib.sha256(self.der).digest())

    def assertion(
        self,
        *,
        client_id: str,
        aud: str,
        alg: str = "PS256",
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "aud": aud,
            "iss": client_id,
            "sub": client_id,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        body.update(claims or {})
        for name in drop:
            body.pop(name, None)
        head: dict[str, Any] = {"typ": "JWT"}
        head.update({"x5t#S256": self.x5t_s256} if alg.startswith("PS") else {"x5t": self.x5t})
        head.update(header or {})
        return jwt.encode(body, self.key, algorithm=alg, headers=head)


def token_url(emu: Emulator, tenant: str | None = None) -> str:
    return f"{emu.urls['login']}/{tenant or emu.seed.tenant_id}/oauth2/v2.0/token"


def mi_token(http: requests.Session, emu: Emulator, resource: str, **params: str) -> str:
    response = http.get(
        emu.identity.endpoint,
        params={"api-version": "2019-08-01", "resource": resource, **params},
        headers={"X-IDENTITY-HEADER": emu.identity.identity_header},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def app_token(http: requests.Session, emu: Emulator, cert: LocalCert, scope: str) -> str:
    """A client-credentials token for the seed app, proven with `cert` (must be registered)."""
    url = token_url(emu)
    response = http.post(
        url,
        data={
            "client_assertion": cert.assertion(client_id=emu.seed.client_id, aud=url),
            "client_assertion_type": JWT_BEARER,
            "client_id": emu.seed.client_id,
            "grant_type": "client_credentials",
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def error_of(response: requests.Response) -> dict[str, Any]:
    return json.loads(response.text)["error"]
