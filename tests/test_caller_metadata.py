"""Where the caller check gets its signing keys: only from the authority's own metadata, over https."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from shared.callers.authentication import CallerAuthenticator
from shared.errors import ProblemError, Unauthorized, UpstreamFailed
from shared.settings import Settings
from tests.trap import Trap

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


class Metadata(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")
    # Answers by path (e.g. the JWKS beside the metadata); any other path gets `answer`.
    by_path: dict[str, tuple[int, dict[str, str], bytes]] = {}  # noqa: RUF012
    delay_seconds = 0.0
    gate: threading.Event | None = None  # when set: every answer waits for it
    paths: list[str] = []  # noqa: RUF012 - the test server's record of what was asked

    def do_GET(self) -> None:
        Metadata.paths.append(self.path)
        if Metadata.delay_seconds:
            time.sleep(Metadata.delay_seconds)
        if Metadata.gate is not None:
            Metadata.gate.wait(timeout=10)
        status, headers, body = Metadata.by_path.get(self.path, self.answer)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def fresh_server_state() -> Iterator[None]:
    Metadata.answer, Metadata.by_path, Metadata.delay_seconds, Metadata.paths = (200, {}, b"{}"), {}, 0.0, []
    Metadata.gate = None
    yield
    Metadata.by_path, Metadata.delay_seconds, Metadata.gate = {}, 0.0, None


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


def _json(value: object) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _serve_keys(authority: str, keys: list[dict]) -> None:
    """The metadata at the authority, naming a JWKS at {authority}/{tenant}/keys that holds ``keys``."""
    metadata = {"issuer": f"{authority}/{TENANT}/v2.0", "jwks_uri": f"{authority}/{TENANT}/keys"}
    Metadata.by_path = {
        f"/{TENANT}/v2.0/.well-known/openid-configuration": _json(metadata),
        f"/{TENANT}/keys": _json({"keys": keys}),
    }


ED25519_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"  # RFC 8037 A.2's public key


def _unsigned_token(kid: str) -> str:
    """An RS256-labelled token under ``kid`` (its signature is never reached: the key is refused first)."""

    def segment(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return "Bearer " + segment({"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + segment({"aud": "api://x"}) + ".AAAA"


def _rsa_jwk(kid: str) -> dict:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


def _ec_jwk(kid: str) -> dict:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


@pytest.mark.parametrize(
    "kid",
    [
        "ec",  # an EC key under the token's kid
        "oct",  # a symmetric key: must never be taken as the verification key
        "okp",  # an Ed25519 key
        "broken-rsa",  # an RSA entry PyJWT cannot parse (skipped from the set: no such kid)
    ],
)
def test_a_key_that_is_not_a_usable_rsa_key_under_the_tokens_kid_is_a_401(tls_authority, kid):
    keys = [
        _rsa_jwk("rsa"),  # the set holds one usable key, so the set itself is fine
        _ec_jwk("ec"),
        {"kty": "oct", "kid": "oct", "use": "sig", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
        {"kty": "OKP", "kid": "okp", "use": "sig", "crv": "Ed25519", "x": ED25519_X},
        {"kty": "RSA", "kid": "broken-rsa", "use": "sig", "n": "!!", "e": "AQAB"},
    ]
    _serve_keys(tls_authority, keys)
    with pytest.raises(Unauthorized) as raised:
        authenticator(tls_authority).authenticate(_unsigned_token(kid))
    assert raised.value.status == 401
    assert "key" in raised.value.detail


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_redirected_jwks_request_is_not_followed(tls_authority, scheme):
    trap = Trap()
    try:
        _serve_keys(tls_authority, [])
        Metadata.by_path[f"/{TENANT}/keys"] = (302, {"Location": f"{scheme}://127.0.0.1:{trap.port}/keys"}, b"")
        with pytest.raises(UpstreamFailed) as raised:
            authenticator(tls_authority).authenticate(rs256_token())
        assert raised.value.upstream == "entra" and "JWKS" in raised.value.detail
        assert trap.connections == 0, "the JWKS request followed the redirect"
    finally:
        trap.close()


def test_concurrent_first_callers_share_one_metadata_request_and_its_failure(tls_authority):
    # A slow, failing Entra: with the request made under a lock, each caller would wait for the
    # one before it and then repeat the request itself (8 requests, one after another).
    Metadata.answer = (503, {"Content-Type": "application/json"}, b'{"error":"temporarily_unavailable"}')
    Metadata.gate = threading.Event()  # Entra answers only once every caller is waiting for the metadata
    auth = authenticator(tls_authority)
    entered = []
    discover = auth._discover

    def counting_discover():  # type: ignore[no-untyped-def]
        entered.append(1)
        return discover()

    auth._discover = counting_discover  # type: ignore[method-assign]
    outcomes: list[object] = []

    def call() -> None:
        try:
            auth.authenticate(rs256_token())
        except ProblemError as problem:
            outcomes.append(problem.status)
        except Exception as exc:  # recorded: the test fails on anything but a problem
            outcomes.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(entered) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # from _discover to waiting on the flight (or, before the fix, on the lock)
    Metadata.gate.set()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == [503] * 8  # Entra's 503, as a problem naming Entra
    assert Metadata.paths == [f"/{TENANT}/v2.0/.well-known/openid-configuration"]
    # The failure is not cached: the next caller asks again.
    with pytest.raises(ProblemError):
        auth.authenticate(rs256_token())
    assert len(Metadata.paths) == 2


def test_known_metadata_is_read_without_taking_any_lock(tls_authority):
    _serve_keys(tls_authority, [_rsa_jwk("rsa")])
    auth = authenticator(tls_authority)
    first = auth._discover()

    class NoFlight:
        def run(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the single-flight (and its lock) was entered although the metadata is known")

    auth._flights = NoFlight()  # type: ignore[assignment]
    assert auth._discover() is first
    with pytest.raises(Unauthorized):
        auth.authenticate(rs256_token())  # kid "k" is not in the set: 401, still no lock


def test_the_metadata_and_jwks_requests_are_logged_as_entra_attempts(tls_authority, caplog):
    _serve_keys(tls_authority, [_rsa_jwk("rsa")])
    with caplog.at_level("DEBUG", logger="shared.upstream"), pytest.raises(Unauthorized):
        authenticator(tls_authority).authenticate(rs256_token())  # kid "k" is not in the set
    attempts = [
        (r.upstream, r.http_method, r.http_path, r.http_status) for r in caplog.records if hasattr(r, "upstream")
    ]
    assert (
        "entra",
        "GET",
        f"/{TENANT}/v2.0/.well-known/openid-configuration",
        200,
    ) in attempts
    assert ("entra", "GET", f"/{TENANT}/keys", 200) in attempts


def test_callers_waiting_for_a_jwks_refresh_share_its_failure_instead_of_repeating_it(tls_authority):
    # PyJWKClient refreshes under its own lock: behind a slow, failing Entra each waiting caller
    # would otherwise repeat the request in turn once it gets the lock.
    _serve_keys(tls_authority, [])
    keys_path = f"/{TENANT}/keys"
    Metadata.by_path[keys_path] = (503, {"Content-Type": "application/json"}, b'{"error":"unavailable"}')
    auth = authenticator(tls_authority)
    jwks = auth._discover().jwks
    Metadata.gate = threading.Event()
    entered = []
    get_signing_key = jwks.get_signing_key

    def counting(kid):  # type: ignore[no-untyped-def]
        entered.append(1)
        return get_signing_key(kid)

    jwks.get_signing_key = counting  # type: ignore[method-assign]
    outcomes: list[object] = []

    def call() -> None:
        try:
            auth.authenticate(rs256_token())
        except ProblemError as problem:
            outcomes.append(problem.status)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(entered) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # all of them now wait for PyJWKClient's lock (one holds it, in the request)
    Metadata.gate.set()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == [502] * 6
    assert Metadata.paths.count(keys_path) == 1
    # A caller arriving after the failure asks again.
    with pytest.raises(UpstreamFailed):
        auth.authenticate(rs256_token())
    assert Metadata.paths.count(keys_path) == 2
