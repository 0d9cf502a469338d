"""Graph application object, addKey and removeKey (AZURE-PROTOCOLS.md 7), over HTTPS.

Valid proofs are signed the way the product signs them: through the emulator's Key Vault `sign`
with the real azure-keyvault-keys CryptographyClient. Refusal cases that need a certificate Key
Vault cannot sign with (an expired one, an unregistered one) use test keys made here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from emu_support import JWT_BEARER, LocalCert, app_token, b64url, claims_of, error_of, token_url

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PROOF_AUD = "00000002-0000-0000-c000-000000000000"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GRAPH_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

Signer = Callable[[bytes], bytes]  # signing input -> signature


# ---------------------------------------------------------------- helpers


def kv_signer(emu: Any, version: str, alg: str = "RS256") -> Signer:
    """Signs through Key Vault with the system identity (the product's path)."""
    kid = f"{emu.urls['vault']}/keys/{emu.seed.certificate_name}/{version}"
    client = CryptographyClient(kid, ManagedIdentityCredential(), verify_challenge_resource=False)
    algorithm = SignatureAlgorithm.ps256 if alg == "PS256" else SignatureAlgorithm.rs256
    return lambda data: client.sign(algorithm, hashlib.sha256(data).digest()).signature


def local_signer(cert: LocalCert, alg: str = "RS256") -> Signer:
    pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if alg == "PS256" else padding.PKCS1v15()
    return lambda data: cert.key.sign(data, pad, hashes.SHA256())


def encode(value: dict[str, Any], *, pad: bool = False) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return raw if pad else raw.rstrip("=")


def proof(
    emu: Any,
    signer: Signer,
    der: bytes,
    *,
    alg: str = "RS256",
    claims: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    pad: bool = False,
) -> str:
    """A proof-of-possession JWT as the Graph docs describe it (aud, iss = object id, nbf, exp)."""
    now = int(time.time())
    body: dict[str, Any] = {"aud": PROOF_AUD, "iss": emu.seed.app_object_id, "nbf": now, "exp": now + 600}
    body.update(claims or {})
    for name in drop:
        body.pop(name, None)
    head: dict[str, Any] = {"alg": alg, "typ": "JWT", "x5t": b64url(hashlib.sha1(der).digest())}
    head.update(header or {})
    if pad:  # grow a filler claim until the payload's base64url really needs '='
        body["x"] = ""
        while "=" not in encode(body, pad=True):
            body["x"] += "x"
    signing_input = f"{encode(head, pad=pad)}.{encode(body, pad=pad)}"
    return f"{signing_input}.{b64url(signer(signing_input.encode()))}"


def thumb(der: bytes) -> str:
    """customKeyIdentifier: the SHA-1 thumbprint, upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper()


def graph(http, emu, method, path, token, *, headers=None, **kwargs):
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return http.request(method, emu.urls["graph"] + "/v1.0" + path, headers=headers, **kwargs)


def add_key_body(der: bytes, proof_jwt: str | None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode()},
        "passwordCredential": None,
        "proof": proof_jwt,
    }
    body.update(overrides)
    return body


def key_ids(emu) -> list[str]:
    return [k["keyId"] for k in emu.graph.key_credentials()]


def assert_graph_error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    return error["message"]


def kv_assertion(emu, version: str) -> str:
    """A client assertion for the token endpoint, signed through Key Vault by `version`."""
    now = int(time.time())
    der = emu.keyvault.certificate_der(version)
    header = {"alg": "PS256", "typ": "JWT", "x5t#S256": b64url(hashlib.sha256(der).digest())}
    claims = {
        "aud": token_url(emu),
        "iss": emu.seed.client_id,
        "sub": emu.seed.client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    }
    signing_input = f"{encode(header)}.{encode(claims)}"
    return f"{signing_input}.{b64url(kv_signer(emu, version, 'PS256')(signing_input.encode()))}"


def token_with(http, emu, version: str):
    return http.post(
        token_url(emu),
        data={
            "client_assertion": kv_assertion(emu, version),
            "client_assertion_type": JWT_BEARER,
            "client_id": emu.seed.client_id,
            "grant_type": "client_credentials",
            "scope": GRAPH_SCOPE,
        },
    )


@pytest.fixture
def app_graph_token(http, emu, registered):
    """The broker's own Graph token (roles from the seed: User.Read.All, Application.Read.All)."""
    return app_token(http, emu, registered, GRAPH_SCOPE)


@pytest.fixture
def rollover(azure_env, fresh_challenge_cache):
    """The emulator with the process environment Key Vault signing needs."""
    return azure_env


def caller_token(emu, *roles: str) -> str:
    """A Graph token of another app (the seed caller app)."""
    return emu.entra.mint_caller_token(audience="https://graph.microsoft.com", roles=roles)


# ---------------------------------------------------------------- GET application


def test_get_by_object_id_default_properties(http, emu, app_graph_token, registered):
    response = graph(http, emu, "GET", f"/applications/{emu.seed.app_object_id}", app_graph_token)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")
    body = response.json()
    assert body["@odata.context"] == f"{emu.urls['graph']}/v1.0/$metadata#applications/$entity"
    assert body["id"] == emu.seed.app_object_id and body["appId"] == emu.seed.client_id
    assert {"displayName", "signInAudience", "passwordCredentials", "identifierUris", "web"} <= set(body)
    seed_der = emu.keyvault.certificate_der()
    by_thumbprint = {k["customKeyIdentifier"]: k for k in body["keyCredentials"]}
    assert set(by_thumbprint) == {thumb(seed_der), thumb(registered.der)}
    seed_key = by_thumbprint[thumb(seed_der)]
    assert set(seed_key) == {
        "customKeyIdentifier", "displayName", "endDateTime", "key", "keyId", "startDateTime", "type", "usage"
    }  # fmt: skip
    assert seed_key["displayName"] == "CN=broker-signing"
    assert seed_key["type"] == "AsymmetricX509Cert" and seed_key["usage"] == "Verify"
    assert seed_key["key"] is None  # only on $select=keyCredentials
    assert GUID.fullmatch(seed_key["keyId"])
    assert GRAPH_DATE.fullmatch(seed_key["startDateTime"]) and GRAPH_DATE.fullmatch(seed_key["endDateTime"])
    assert emu.counters.get("graph.get_application") == 1


def test_get_by_app_id_with_select_returns_the_key(http, emu, app_graph_token):
    path = f"/applications(appId='{emu.seed.client_id}')"
    response = graph(http, emu, "GET", path, app_graph_token, params={"$select": "id,appId,keyCredentials"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == (
        f"{emu.urls['graph']}/v1.0/$metadata#applications(id,appId,keyCredentials)/$entity"
    )
    assert set(body) == {"@odata.context", "id", "appId", "keyCredentials"}
    keys = {base64.b64decode(k["key"]) for k in body["keyCredentials"]}
    assert emu.keyvault.certificate_der() in keys


def test_get_by_percent_encoded_app_id_key(http, emu, app_graph_token):
    url = f"{emu.urls['graph']}/v1.0/applications(appId=%27{emu.seed.client_id}%27)?$select=id"
    response = http.get(url, headers={"Authorization": f"Bearer {app_graph_token}"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "@odata.context": f"{emu.urls['graph']}/v1.0/$metadata#applications(id)/$entity",
        "id": emu.seed.app_object_id,
    }


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/applications/00000000-0000-0000-0000-000000000001", 404, "Request_ResourceNotFound"),
        ("/applications(appId='00000000-0000-0000-0000-000000000001')", 404, "Request_ResourceNotFound"),
        ("/applications/not-a-guid", 400, "Request_BadRequest"),
    ],
)
def test_unknown_or_malformed_application(http, emu, path, status, code):
    token = caller_token(emu, "Application.Read.All")
    message = assert_graph_error(graph(http, emu, "GET", path, token), status, code)
    key = re.search(r"[0-9a-f-]{36}|not-a-guid", path).group(0)
    assert f"'{key}'" in message


def test_unknown_select_property(http, emu, app_graph_token):
    path = f"/applications/{emu.seed.app_object_id}"
    response = graph(http, emu, "GET", path, app_graph_token, params={"$select": "id,nope"})
    message = assert_graph_error(response, 400, "Request_BadRequest")
    assert message == "Could not find a property named 'nope' on type 'microsoft.graph.application'."


def test_read_permissions(http, emu, registered):
    path = f"/applications/{emu.seed.app_object_id}"
    # Another app: nothing without a permission, Application.Read.All reads any application.
    assert_graph_error(graph(http, emu, "GET", path, caller_token(emu)), 403, "Authorization_RequestDenied")
    assert_graph_error(
        graph(http, emu, "GET", path, caller_token(emu, "User.Read.All")), 403, "Authorization_RequestDenied"
    )
    for role in ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"):
        assert graph(http, emu, "GET", path, caller_token(emu, role)).status_code == 200
    # OwnedBy reads only what the caller owns.
    assert graph(http, emu, "GET", path, caller_token(emu, "Application.ReadWrite.OwnedBy")).status_code == 403
    emu.graph.add_owner(emu.seed.caller_sp_object_id)
    assert graph(http, emu, "GET", path, caller_token(emu, "Application.ReadWrite.OwnedBy")).status_code == 200
    # The broker: Application.Read.All by default, owner of nothing; without it a 403.
    assert emu.graph.app_roles(emu.seed.sp_object_id) == ["Application.Read.All", "User.Read.All"]
    assert graph(http, emu, "GET", path, app_token(http, emu, registered, GRAPH_SCOPE)).status_code == 200
    emu.graph.revoke_app_role(emu.seed.sp_object_id, "Application.Read.All")
    response = graph(http, emu, "GET", path, app_token(http, emu, registered, GRAPH_SCOPE))
    assert assert_graph_error(response, 403, "Authorization_RequestDenied") == (
        "Insufficient privileges to complete the operation."
    )


def test_get_application_needs_a_graph_token(http, emu):
    response = graph(http, emu, "GET", f"/applications/{emu.seed.app_object_id}", None)
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


@pytest.mark.parametrize(
    ("status", "retry_after", "code"),
    [(429, 3, "TooManyRequests"), (503, None, "serviceNotAvailable"), (403, None, "Authorization_RequestDenied")],
)
def test_faults_on_get_application(http, emu, app_graph_token, status, retry_after, code):
    emu.faults.inject("graph.get_application", status=status, retry_after=retry_after)
    response = graph(http, emu, "GET", f"/applications/{emu.seed.app_object_id}", app_graph_token)
    assert_graph_error(response, status, code)
    assert response.headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
    assert graph(http, emu, "GET", f"/applications/{emu.seed.app_object_id}", app_graph_token).status_code == 200


# ---------------------------------------------------------------- addKey / removeKey, the whole roll


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
@pytest.mark.parametrize("form", ["object-id", "app-id"])
def test_roll_registers_the_renewal_and_retires_the_old_key(http, rollover, app_graph_token, alg, form):
    emu = rollover
    seed_version = emu.keyvault.current_version()
    renewed = emu.keyvault.rotate_certificate(register=False)  # Key Vault renewed; nobody registered it
    assert token_with(http, emu, renewed).status_code == 401
    assert error_of_token(token_with(http, emu, renewed))["error_codes"] == [700027]
    base = (
        f"/applications/{emu.seed.app_object_id}"
        if form == "object-id"
        else f"/applications(appId='{emu.seed.client_id}')"
    )
    new_der = emu.keyvault.certificate_der(renewed)
    # The proof comes from the registered previous version: the current one is not registered yet.
    signed = proof(emu, kv_signer(emu, seed_version, alg), emu.keyvault.certificate_der(seed_version), alg=alg)
    response = graph(http, emu, "POST", f"{base}/addKey", app_graph_token, json=add_key_body(new_der, signed))
    assert response.status_code == 200, response.text
    added = response.json()
    assert added["@odata.context"] == f"{emu.urls['graph']}/v1.0/$metadata#microsoft.graph.keyCredential"
    assert added["customKeyIdentifier"] == thumb(new_der)
    assert added["displayName"] == "CN=broker-signing" and added["key"] is None
    assert added["type"] == "AsymmetricX509Cert" and added["usage"] == "Verify" and GUID.fullmatch(added["keyId"])
    assert emu.counters.get("graph.addKey") == 1
    # The token endpoint reads the same list: the renewed key now signs in.
    assert token_with(http, emu, renewed).status_code == 200
    # Retire the old key, proven by the new one.
    old_key_id = next(
        k["keyId"]
        for k in emu.graph.key_credentials()
        if k["customKeyIdentifier"] == thumb(emu.keyvault.certificate_der(seed_version))
    )
    signed = proof(emu, kv_signer(emu, renewed, alg), new_der, alg=alg)
    response = graph(
        http, emu, "POST", f"{base}/removeKey", app_graph_token, json={"keyId": old_key_id, "proof": signed}
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert old_key_id not in key_ids(emu)
    refused = token_with(http, emu, seed_version)
    assert refused.status_code == 401 and error_of_token(refused)["error_codes"] == [700027]
    assert token_with(http, emu, renewed).status_code == 200
    assert emu.counters.get("graph.removeKey") == 1
    assert emu.graph.proof_refusals == []


def error_of_token(response) -> dict[str, Any]:
    return response.json()


def test_registered_thumbprints_follow_add_and_remove(http, rollover, app_graph_token):
    emu = rollover
    seed_version = emu.keyvault.current_version()
    renewed = emu.keyvault.rotate_certificate(register=False)
    new_der = emu.keyvault.certificate_der(renewed)
    signed = proof(emu, kv_signer(emu, seed_version), emu.keyvault.certificate_der(seed_version))
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    assert graph(http, emu, "POST", path, app_graph_token, json=add_key_body(new_der, signed)).status_code == 200
    assert thumb(new_der) in emu.entra.registered_thumbprints()
    emu.entra.unregister_certificate(new_der)
    assert thumb(new_der) not in [k["customKeyIdentifier"] for k in emu.graph.key_credentials()]


def test_adding_the_same_certificate_twice(http, rollover, app_graph_token):
    emu = rollover
    version = emu.keyvault.current_version()
    der = emu.keyvault.certificate_der(version)
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    before = len(key_ids(emu))
    response = graph(
        http, emu, "POST", path, app_graph_token, json=add_key_body(der, proof(emu, kv_signer(emu, version), der))
    )
    assert response.status_code == 200
    assert len(key_ids(emu)) == before + 1  # default: a second keyCredential, as the product must avoid
    emu.graph.reject_duplicate_keys = True
    response = graph(
        http, emu, "POST", path, app_graph_token, json=add_key_body(der, proof(emu, kv_signer(emu, version), der))
    )
    assert_graph_error(response, 400, "Request_BadRequest")
    assert len(key_ids(emu)) == before + 1


# ---------------------------------------------------------------- proof refusals


def bad_proof(case: str, emu: Any, cert: LocalCert) -> str:
    """A proof that is wrong in exactly one way; `cert` is registered and valid."""
    now = int(time.time())
    sign = local_signer(cert)
    if case == "padding":
        return proof(emu, sign, cert.der, pad=True)
    if case == "graph-audience":  # Microsoft Graph's app id instead of Azure AD Graph's
        return proof(emu, sign, cert.der, claims={"aud": "00000003-0000-0000-c000-000000000000"})
    if case == "issuer-is-app-id":  # the client id instead of the application object id
        return proof(emu, sign, cert.der, claims={"iss": emu.seed.client_id})
    if case == "lifetime-over-10-min":
        return proof(emu, sign, cert.der, claims={"nbf": now, "exp": now + 601})
    if case in ("no-exp", "no-nbf"):
        return proof(emu, sign, cert.der, drop=(case[3:],))
    if case == "expired":  # beyond the 5 minutes of clock skew
        return proof(emu, sign, cert.der, claims={"nbf": now - 1000, "exp": now - 400})
    if case == "not-yet-valid":
        return proof(emu, sign, cert.der, claims={"nbf": now + 400, "exp": now + 900})
    if case == "rs384":
        return proof(emu, lambda d: cert.key.sign(d, padding.PKCS1v15(), hashes.SHA384()), cert.der, alg="RS384")
    if case == "unregistered-cert":
        stranger = LocalCert()
        return proof(emu, local_signer(stranger), stranger.der)
    if case == "registered-but-expired-cert":
        expired = LocalCert(days_valid=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
        emu.entra.register_certificate(expired.der)
        return proof(emu, local_signer(expired), expired.der)
    if case == "names-registered-cert-signed-by-another-key":
        return proof(emu, local_signer(LocalCert()), cert.der)
    assert case == "not-a-jwt"
    return "not.a-jwt"


PROOF_CASES = {  # case -> the reason the emulator records (Graph answers the same 401 for all)
    "padding": "padding",
    "graph-audience": "audience",
    "issuer-is-app-id": "issuer",
    "lifetime-over-10-min": "lifetime",
    "no-exp": "times_missing",
    "no-nbf": "times_missing",
    "expired": "expired",
    "not-yet-valid": "not_yet_valid",
    "rs384": "algorithm",
    "unregistered-cert": "key_not_registered",
    "registered-but-expired-cert": "key_not_valid",
    "names-registered-cert-signed-by-another-key": "signature",
    "not-a-jwt": "malformed",
}


@pytest.mark.parametrize("case", list(PROOF_CASES))
@pytest.mark.parametrize("action", ["addKey", "removeKey"])
def test_proof_refusals_are_401_and_change_nothing(http, emu, registered, app_graph_token, other_cert, case, action):
    bad = bad_proof(case, emu, registered)
    before = emu.graph.key_credentials()
    body = add_key_body(other_cert.der, bad) if action == "addKey" else {"keyId": before[0]["keyId"], "proof": bad}
    path = f"/applications/{emu.seed.app_object_id}/{action}"
    message = assert_graph_error(graph(http, emu, "POST", path, app_graph_token, json=body), 401,
                                 "Authentication_MissingOrMalformed")  # fmt: skip
    assert message == "Access Token missing or malformed."
    assert emu.graph.key_credentials() == before
    assert emu.graph.proof_refusals == [PROOF_CASES[case]]


def test_a_well_formed_local_proof_is_accepted(http, emu, registered, app_graph_token, other_cert):
    # The control case for the table above: same factory, nothing wrong, accepted.
    good = proof(emu, local_signer(registered, "PS256"), registered.der, alg="PS256")
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    assert graph(http, emu, "POST", path, app_graph_token, json=add_key_body(other_cert.der, good)).status_code == 200
    assert thumb(other_cert.der) in emu.entra.registered_thumbprints()


@pytest.mark.parametrize("named_by", ["kid", "x5t#S256", "nothing"])
def test_proof_key_named_by_kid_x5t_s256_or_nothing(http, emu, registered, app_graph_token, other_cert, named_by):
    header: dict[str, Any] = {"x5t": None}
    if named_by == "kid":  # .NET X509SigningCredentials writes kid = the hex thumbprint
        header["kid"] = thumb(registered.der)
    elif named_by == "x5t#S256":
        header["x5t#S256"] = registered.x5t_s256
    signed = proof(emu, local_signer(registered), registered.der, header=header)
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    assert graph(http, emu, "POST", path, app_graph_token, json=add_key_body(other_cert.der, signed)).status_code == 200


def test_missing_proof_is_403(http, emu, registered, app_graph_token, other_cert):
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    response = graph(http, emu, "POST", path, app_graph_token, json=add_key_body(other_cert.der, None))
    assert_graph_error(response, 403, "Authorization_RequestDenied")
    assert thumb(other_cert.der) not in emu.entra.registered_thumbprints()


# ---------------------------------------------------------------- who may roll keys


def test_another_app_needs_a_write_permission_or_ownership(http, emu, registered, other_cert):
    path = f"/applications/{emu.seed.app_object_id}/addKey"

    def attempt(token: str) -> Any:
        good = proof(emu, local_signer(registered), registered.der)
        return graph(http, emu, "POST", path, token, json=add_key_body(other_cert.der, good))

    for roles in ((), ("Application.Read.All",), ("Application.ReadWrite.OwnedBy",)):
        assert_graph_error(attempt(caller_token(emu, *roles)), 403, "Authorization_RequestDenied")
    assert thumb(other_cert.der) not in emu.entra.registered_thumbprints()
    assert attempt(caller_token(emu, "Application.ReadWrite.All")).status_code == 200
    emu.graph.add_owner(emu.seed.caller_sp_object_id)
    assert attempt(caller_token(emu, "Application.ReadWrite.OwnedBy")).status_code == 200


def test_the_app_rolls_its_own_keys_without_any_permission(http, emu, registered, other_cert):
    for role in emu.graph.app_roles(emu.seed.sp_object_id):
        emu.graph.revoke_app_role(emu.seed.sp_object_id, role)
    token = app_token(http, emu, registered, GRAPH_SCOPE)
    good = proof(emu, local_signer(registered), registered.der)
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    assert graph(http, emu, "POST", path, token, json=add_key_body(other_cert.der, good)).status_code == 200


def test_add_key_needs_a_graph_token(http, emu, registered, other_cert):
    good = proof(emu, local_signer(registered), registered.der)
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    response = graph(http, emu, "POST", path, None, json=add_key_body(other_cert.der, good))
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_add_key_on_an_unknown_application_is_404(http, emu, registered, app_graph_token, other_cert):
    good = proof(emu, local_signer(registered), registered.der)
    path = "/applications/00000000-0000-0000-0000-000000000001/addKey"
    response = graph(http, emu, "POST", path, app_graph_token, json=add_key_body(other_cert.der, good))
    assert_graph_error(response, 404, "Request_ResourceNotFound")


# ---------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    "change",
    [
        {"keyCredential": None},
        {"keyCredential": {"type": "Symmetric", "usage": "Verify", "key": "AA=="}},
        {"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Sign", "key": "CERT"}},
        {"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify"}},
        {"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": "not base64!"}},
        {"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(b"junk").decode()}},
        {"passwordCredential": {"secretText": "x"}},
        {"keyCredential": {"type": "X509CertAndPassword", "usage": "Sign", "key": "CERT"}},
    ],
)
def test_add_key_body_refusals(http, emu, registered, app_graph_token, other_cert, change):
    body = add_key_body(other_cert.der, proof(emu, local_signer(registered), registered.der), **change)
    if isinstance(body["keyCredential"], dict) and body["keyCredential"].get("key") == "CERT":
        body["keyCredential"]["key"] = base64.b64encode(other_cert.der).decode()
    response = graph(http, emu, "POST", f"/applications/{emu.seed.app_object_id}/addKey", app_graph_token, json=body)
    assert_graph_error(response, 400, "Request_BadRequest")
    assert thumb(other_cert.der) not in emu.entra.registered_thumbprints()


def test_add_key_body_not_json(http, emu, app_graph_token):
    path = f"/applications/{emu.seed.app_object_id}/addKey"
    headers = {"Content-Type": "application/json"}
    response = graph(http, emu, "POST", path, app_graph_token, data=b"[1", headers=headers)
    assert_graph_error(response, 400, "Request_BadRequest")


def test_remove_key_refusals(http, emu, registered, app_graph_token):
    path = f"/applications/{emu.seed.app_object_id}/removeKey"
    good = proof(emu, local_signer(registered), registered.der)
    response = graph(http, emu, "POST", path, app_graph_token, json={"keyId": "nope", "proof": good})
    assert_graph_error(response, 400, "Request_BadRequest")
    unknown = str(uuid.uuid4())
    response = graph(http, emu, "POST", path, app_graph_token, json={"keyId": unknown, "proof": good})
    assert unknown in assert_graph_error(response, 404, "Request_ResourceNotFound")
    before = key_ids(emu)
    response = graph(http, emu, "POST", path, app_graph_token, json={"keyId": before[0]})
    assert_graph_error(response, 403, "Authorization_RequestDenied")
    assert key_ids(emu) == before


def test_removing_the_proof_key_itself_and_the_last_key_is_allowed(http, emu, registered, app_graph_token):
    emu.entra.unregister_certificate(emu.keyvault.certificate_der())
    (only,) = key_ids(emu)  # the test certificate
    good = proof(emu, local_signer(registered), registered.der)
    path = f"/applications/{emu.seed.app_object_id}/removeKey"
    assert graph(http, emu, "POST", path, app_graph_token, json={"keyId": only, "proof": good}).status_code == 204
    assert key_ids(emu) == []


@pytest.mark.parametrize(
    ("status", "retry_after", "code"), [(429, 2, "TooManyRequests"), (500, None, "generalException")]
)
@pytest.mark.parametrize("operation", ["graph.addKey", "graph.removeKey"])
def test_faults_on_key_actions(
    http, emu, registered, app_graph_token, other_cert, operation, status, retry_after, code
):
    emu.faults.inject(operation, status=status, retry_after=retry_after)
    before = key_ids(emu)
    good = proof(emu, local_signer(registered), registered.der)
    action = operation.split(".")[1]
    body = add_key_body(other_cert.der, good) if action == "addKey" else {"keyId": before[0], "proof": good}
    response = graph(http, emu, "POST", f"/applications/{emu.seed.app_object_id}/{action}", app_graph_token, json=body)
    assert_graph_error(response, status, code)
    assert response.headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
    assert key_ids(emu) == before  # a faulted request changes nothing
    assert emu.counters.get(operation) == 1


def test_non_rsa_certificate_is_refused(http, emu, registered, app_graph_token):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    der = cert.public_bytes(serialization.Encoding.DER)
    body = add_key_body(der, proof(emu, local_signer(registered), registered.der))
    response = graph(http, emu, "POST", f"/applications/{emu.seed.app_object_id}/addKey", app_graph_token, json=body)
    assert "RSA" in assert_graph_error(response, 400, "Request_BadRequest")
    assert thumb(der) not in emu.entra.registered_thumbprints()


def test_caller_token_for_the_broker_app_carries_its_service_principal(http, emu):
    token = emu.entra.mint_caller_token(audience="https://graph.microsoft.com", app_id=emu.seed.client_id)
    assert claims_of(token)["oid"] == emu.seed.sp_object_id
    # Its own token, no role: not enough to read the application, enough to roll its keys.
    path = f"/applications/{emu.seed.app_object_id}"
    assert_graph_error(graph(http, emu, "GET", path, token), 403, "Authorization_RequestDenied")


# ---------------------------------------------------------------- credentials outside Key Vault

FIC = {
    "name": "outside-key-vault",
    "issuer": "https://token.actions.githubusercontent.com",
    "subject": "repo:attacker/repo:ref:refs/heads/main",
    "audiences": ["api://AzureADTokenExchange"],
}


def _other_credentials(emu: Any) -> tuple[list[Any], list[Any]]:
    app = emu.directory.find(app_id=emu.seed.client_id)
    return app.password_credentials, [f.name for f in app.federated_credentials]


@pytest.mark.parametrize(
    ("action", "body"),
    [("addPassword", {"passwordCredential": {"displayName": "x"}}), ("federatedIdentityCredentials", FIC)],
)
def test_the_app_cannot_give_itself_a_password_or_a_federated_credential(http, emu, app_graph_token, action, body):
    before = _other_credentials(emu)
    for key in (emu.seed.app_object_id, f"(appId='{emu.seed.client_id}')"):
        path = f"/applications/{key}/{action}" if not key.startswith("(") else f"/applications{key}/{action}"
        response = graph(http, emu, "POST", path, app_graph_token, json=body)
        assert assert_graph_error(response, 403, "Authorization_RequestDenied") == (
            "Insufficient privileges to complete the operation."
        )
    assert _other_credentials(emu) == before
    assert (
        emu.counters.get(f"graph.{'addPassword' if action == 'addPassword' else 'addFederatedIdentityCredential'}") == 2
    )


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [("addPassword", {"passwordCredential": {"displayName": "x"}}, 200), ("federatedIdentityCredentials", FIC, 201)],
)
def test_other_credentials_need_an_application_writing_permission(http, emu, registered, action, body, status):
    path = f"/applications/{emu.seed.app_object_id}/{action}"
    # Read-only, OwnedBy without ownership: refused; the app's own token with OwnedBy as its own
    # owner (what the templates used to grant): allowed — which is why they no longer do.
    for roles in ((), ("Application.Read.All",), ("Directory.Read.All",), ("Application.ReadWrite.OwnedBy",)):
        assert_graph_error(
            graph(http, emu, "POST", path, caller_token(emu, *roles), json=body), 403, "Authorization_RequestDenied"
        )
    emu.graph.grant_app_role(emu.seed.sp_object_id, "Application.ReadWrite.OwnedBy")
    own = app_token(http, emu, registered, GRAPH_SCOPE)
    assert_graph_error(graph(http, emu, "POST", path, own, json=body), 403, "Authorization_RequestDenied")
    emu.graph.add_owner(emu.seed.sp_object_id)
    response = graph(http, emu, "POST", path, app_token(http, emu, registered, GRAPH_SCOPE), json=body)
    assert response.status_code == status, response.text
    created = response.json()
    if action == "addPassword":
        assert created["secretText"] and created["hint"] == created["secretText"][:3]
        assert GUID.fullmatch(created["keyId"])
        listed = graph(http, emu, "GET", path.rsplit("/", 1)[0], app_graph_token_of(http, emu, registered)).json()
        assert [c["keyId"] for c in listed["passwordCredentials"]] == [created["keyId"]]
        assert all(c["secretText"] is None for c in listed["passwordCredentials"])
    else:
        assert {k: created[k] for k in FIC} == FIC and GUID.fullmatch(created["id"])
        assert "outside-key-vault" in _other_credentials(emu)[1]


@pytest.mark.parametrize("role", ["Application.ReadWrite.All", "Directory.ReadWrite.All"])
def test_write_all_permissions_add_either(http, emu, role):
    path = f"/applications/{emu.seed.app_object_id}"
    token = caller_token(emu, role)
    assert graph(http, emu, "POST", f"{path}/addPassword", token, json={}).status_code == 200
    fic = {**FIC, "name": f"fic-{role.split('.')[0].lower()}"}
    assert graph(http, emu, "POST", f"{path}/federatedIdentityCredentials", token, json=fic).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"name": "ab"},
        {"name": "has space"},
        {"issuer": ""},
        {"subject": None},
        {"audiences": []},
        {"audiences": ["a", "b"]},
        {"name": "broker-managed-identity"},
    ],
)
def test_federated_credential_body_refusals(http, emu, change):
    path = f"/applications/{emu.seed.app_object_id}/federatedIdentityCredentials"
    body = {**FIC, **change}
    response = graph(http, emu, "POST", path, caller_token(emu, "Application.ReadWrite.All"), json=body)
    assert_graph_error(response, 400, "Request_BadRequest")


def app_graph_token_of(http: Any, emu: Any, registered: Any) -> str:
    return app_token(http, emu, registered, GRAPH_SCOPE)
