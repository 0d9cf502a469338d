"""Where the caller check gets its signing keys: only from the authority's own metadata, over https."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.caller_auth import CallerAuthenticator
from shared.errors import UpstreamFailed
from shared.settings import Settings

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


class Metadata(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")
    paths: list[str] = []  # noqa: RUF012 - the test server's record of what was asked

    def do_GET(self) -> None:
        Metadata.paths.append(self.path)
        status, headers, body = self.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def authority() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_authority(tmp_path, monkeypatch) -> Iterator[str]:
    """The same server over https, its CA trusted the way the function trusts one (REQUESTS_CA_BUNDLE)."""
    import ssl

    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def authenticator(authority: str) -> CallerAuthenticator:
    # Settings built directly: load_settings would (rightly) refuse a plain-http authority.
    return CallerAuthenticator(
        Settings(tenant_id=TENANT, authority_host=authority, caller_auth=True, caller_audiences=("api://x",))
    )


def rs256_token() -> str:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return "Bearer " + jwt.encode({"aud": "api://x"}, key, algorithm="RS256", headers={"kid": "k"})


def test_a_jwks_uri_that_is_not_https_is_refused(authority):
    metadata = {"issuer": f"{authority}/{TENANT}/v2.0", "jwks_uri": f"{authority}/{TENANT}/discovery/v2.0/keys"}
    Metadata.answer = (200, {"Content-Type": "application/json"}, json.dumps(metadata).encode())
    with pytest.raises(UpstreamFailed) as raised:
        authenticator(authority).authenticate(rs256_token())
    assert raised.value.upstream == "entra" and "jwks_uri" in raised.value.detail


def test_a_redirected_metadata_request_is_not_followed(authority):
    Metadata.paths = []
    Metadata.answer = (302, {"Location": f"{authority}/elsewhere/metadata"}, b"")
    with pytest.raises(UpstreamFailed) as raised:
        authenticator(authority).authenticate(rs256_token())
    assert raised.value.upstream == "entra"
    assert Metadata.paths == [f"/{TENANT}/v2.0/.well-known/openid-configuration"]


def test_a_jwks_without_keys_is_a_502_naming_entra(tls_authority):
    # Both documents come from the one test server: metadata first, then the (empty) key set.
    metadata = {"issuer": f"{tls_authority}/{TENANT}/v2.0", "jwks_uri": f"{tls_authority}/{TENANT}/keys"}
    answers = iter([json.dumps(metadata).encode(), json.dumps({"keys": []}).encode()])

    Metadata.answer = (200, {"Content-Type": "application/json"}, next(answers))
    auth = authenticator(tls_authority)
    auth._discover()  # the metadata
    Metadata.answer = (200, {"Content-Type": "application/json"}, next(answers))
    with pytest.raises(UpstreamFailed) as raised:
        auth.authenticate(rs256_token())
    assert raised.value.upstream == "entra" and "JWKS" in raised.value.detail
