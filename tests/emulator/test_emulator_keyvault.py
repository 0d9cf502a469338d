"""Key Vault data plane (AZURE-PROTOCOLS.md 1 and 9.1-9.5), over HTTPS and through the real SDKs."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyVaultKey
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from emu_support import b64url, error_of, mi_token

V_CERT = "2026-04-01"
V_KEY = "2025-07-01"
DIGEST = hashlib.sha256(b"header.payload").digest()


@pytest.fixture
def vault_token(http, emu):
    return mi_token(http, emu, "https://vault.azure.net")


def kv(http, emu, method, path, token, *, api_version=V_KEY, extra=None, **kwargs):
    params = {} if api_version is None else {"api-version": api_version}
    params.update(extra or {})
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.request(method, emu.urls["vault"] + path, params=params, headers=headers, **kwargs)


def sign(http, emu, token, alg="RS256", digest=DIGEST, version=None, name="broker-signing"):
    version = emu.keyvault.current_version() if version is None else version
    return kv(http, emu, "POST", f"/keys/{name}/{version}/sign", token, json={"alg": alg, "value": b64url(digest)})


def verify(der, alg, digest, signature):
    public_key = x509.load_der_x509_certificate(der).public_key()
    pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if alg == "PS256" else padding.PKCS1v15()
    public_key.verify(signature, digest, pad, Prehashed(hashes.SHA256()))


# ---------------------------------------------------------------- challenge


def test_bodiless_post_without_token_gets_the_challenge(http, emu):
    response = http.post(
        emu.urls["vault"] + f"/keys/broker-signing/{emu.keyvault.current_version()}/sign",
        params={"api-version": V_KEY},
        headers={"Content-Type": "application/json", "Content-Length": "0"},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{emu.urls["login"]}/{emu.seed.tenant_id}", resource="https://vault.azure.net"'
    )
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}
    }
    assert emu.counters.get("keyvault.challenge") == 1
    assert emu.counters.get("keyvault.sign") == 0


def test_sdk_challenge_sequence_with_managed_identity(azure_env, fresh_challenge_cache):
    emu = azure_env
    client = CertificateClient(emu.urls["vault"] + "/", ManagedIdentityCredential(), verify_challenge_resource=False)
    first = client.get_certificate("broker-signing")
    assert first.properties.version == emu.keyvault.current_version()
    assert bytes(first.cer) == emu.keyvault.certificate_der()
    client.get_certificate("broker-signing")
    assert emu.counters.get("keyvault.challenge") == 1  # later requests send the cached token at once
    assert emu.counters.get("keyvault.get_certificate") == 2
    assert emu.counters.get("identity.token") == 1


def test_sdk_refuses_the_challenge_resource_on_127_0_0_1_by_default(azure_env, fresh_challenge_cache):
    client = CertificateClient(azure_env.urls["vault"] + "/", ManagedIdentityCredential())
    with pytest.raises(ValueError, match="does not match the requested domain"):
        client.get_certificate("broker-signing")


# ---------------------------------------------------------------- token validation


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "https://vault.azure.net/",
            "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://vault.azure.net/.",
        ),
        (
            "https://management.azure.com",
            "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com.",
        ),
    ],
)
def test_wrong_audience_is_akv10022(http, emu, resource, message):
    response = kv(http, emu, "GET", "/certificates/broker-signing/", mi_token(http, emu, resource), api_version=V_CERT)
    assert response.status_code == 401
    assert error_of(response) == {"code": "Unauthorized", "message": message}
    assert "authorization=" in response.headers["WWW-Authenticate"]


def test_wrong_tenant_is_akv10032(http, emu):
    token = emu.entra.mint_caller_token(
        audience="https://vault.azure.net", issuer="v1", tenant_id="11111111-1111-1111-1111-111111111111"
    )
    response = kv(http, emu, "GET", "/certificates/broker-signing/", token, api_version=V_CERT)
    assert response.status_code == 401
    assert error_of(response)["message"].startswith(
        f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{emu.seed.tenant_id}/"
    )
    assert error_of(response)["message"].endswith(
        "found https://sts.windows.net/11111111-1111-1111-1111-111111111111/."
    )


def test_token_signed_by_unknown_key_is_refused(http, emu):
    token = emu.entra.mint_caller_token(audience="https://vault.azure.net", issuer="v1", signing_key="rogue")
    response = kv(http, emu, "GET", "/certificates/broker-signing/", token, api_version=V_CERT)
    assert response.status_code == 401
    assert error_of(response)["message"].startswith("AKV10046")


def test_expired_token_is_refused(http, emu):
    token = emu.entra.mint_caller_token(audience="https://vault.azure.net", issuer="v1", expires_in=-3600)
    response = kv(http, emu, "GET", "/certificates/broker-signing/", token, api_version=V_CERT)
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


# ---------------------------------------------------------------- api-version


@pytest.mark.parametrize("version", ["2025-07-01", "2026-04-01", "7.4", "7.0"])
def test_supported_api_versions(http, emu, vault_token, version):
    assert kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=version).status_code == 200


def test_missing_api_version_is_bad_parameter(http, emu, vault_token):
    response = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=None)
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadParameter"


def test_unknown_api_version_is_bad_parameter(http, emu, vault_token):
    response = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version="2099-01-01")
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "BadParameter",
        "message": "The specified version (2099-01-01) is not recognized. "
        "Consider using the latest supported version (2025-07-01).",
    }


# ---------------------------------------------------------------- certificates


def test_certificate_bundle_shape(http, emu, vault_token):
    response = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=V_CERT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    version = emu.keyvault.current_version()
    vault = emu.urls["vault"]
    assert body["id"] == f"{vault}/certificates/broker-signing/{version}"
    assert body["kid"] == f"{vault}/keys/broker-signing/{version}"
    assert body["sid"] == f"{vault}/secrets/broker-signing/{version}"
    assert len(version) == 32 and version == version.lower()
    der = base64.b64decode(body["cer"], validate=True)  # standard base64, padded
    assert der == emu.keyvault.certificate_der()
    assert body["x5t"] == b64url(hashlib.sha1(der).digest())
    attributes = body["attributes"]
    assert attributes["enabled"] is True
    assert all(isinstance(attributes[k], int) for k in ("nbf", "exp", "created", "updated"))
    assert attributes["nbf"] < time.time() < attributes["exp"]
    assert body["policy"]["key_props"]["exportable"] is False
    assert body["policy"]["issuer"] == {"name": "Self"}
    assert "pending" in body
    assert emu.counters.get("keyvault.get_certificate") == 1


def test_explicit_version_has_no_policy(http, emu, vault_token):
    version = emu.keyvault.current_version()
    body = kv(http, emu, "GET", f"/certificates/broker-signing/{version}", vault_token, api_version=V_CERT).json()
    assert body["id"].endswith(version)
    assert "policy" not in body


def test_certificate_not_found(http, emu, vault_token):
    response = kv(http, emu, "GET", "/certificates/nope/", vault_token, api_version=V_CERT)
    assert response.status_code == 404
    assert error_of(response)["code"] == "CertificateNotFound"
    assert error_of(response)["message"].startswith(
        "A certificate with (name/id) nope was not found in this key vault."
    )


def test_rotation_makes_a_new_current_version_and_registers_it(http, emu, vault_token):
    first = emu.keyvault.current_version()
    second = emu.keyvault.rotate_certificate()
    assert emu.keyvault.versions() == [first, second]
    body = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=V_CERT).json()
    assert body["id"].endswith(second)
    assert base64.b64decode(body["cer"]) != emu.keyvault.certificate_der(first)
    thumbprints = emu.entra.registered_thumbprints()
    assert hashlib.sha1(emu.keyvault.certificate_der(second)).hexdigest().upper() in thumbprints
    third = emu.keyvault.rotate_certificate(register=False)
    assert (
        hashlib.sha1(emu.keyvault.certificate_der(third)).hexdigest().upper() not in emu.entra.registered_thumbprints()
    )


def test_list_versions_pages_with_next_link(azure_env, fresh_challenge_cache):
    emu = azure_env
    created = [emu.keyvault.current_version(), emu.keyvault.rotate_certificate(), emu.keyvault.rotate_certificate()]
    client = CertificateClient(emu.urls["vault"] + "/", ManagedIdentityCredential(), verify_challenge_resource=False)
    listed = [p.version for p in client.list_properties_of_certificate_versions("broker-signing", max_page_size=1)]
    assert sorted(listed) == sorted(created)
    assert emu.counters.get("keyvault.list_certificate_versions") == 3


def test_list_versions_next_link_is_absolute_and_null_on_last_page(http, emu, vault_token):
    emu.keyvault.rotate_certificate(register=False)
    path = "/certificates/broker-signing/versions"
    first = kv(http, emu, "GET", path, vault_token, api_version=V_CERT, extra={"maxresults": "1"})
    body = first.json()
    assert len(body["value"]) == 1
    assert body["nextLink"].startswith(emu.urls["vault"] + "/certificates/broker-signing/versions?")
    second = http.get(body["nextLink"], headers={"Authorization": f"Bearer {vault_token}"}).json()
    assert len(second["value"]) == 1 and second["nextLink"] is None


def test_disabled_version_is_still_readable(http, emu, vault_token):
    emu.keyvault.update_certificate_version(emu.keyvault.current_version(), enabled=False)
    body = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=V_CERT).json()
    assert body["attributes"]["enabled"] is False


def test_no_secrets_endpoint(http, emu, vault_token):
    version = emu.keyvault.current_version()
    response = kv(http, emu, "GET", f"/secrets/broker-signing/{version}", vault_token)
    assert response.status_code == 404
    assert "BEGIN" not in response.text and "MII" not in response.text


# ---------------------------------------------------------------- keys


def test_get_key_is_public_only(http, emu, vault_token):
    version = emu.keyvault.current_version()
    body = kv(http, emu, "GET", f"/keys/broker-signing/{version}", vault_token).json()
    assert body["managed"] is True
    assert body["key"]["kid"] == f"{emu.urls['vault']}/keys/broker-signing/{version}"
    assert set(body["key"]) == {"kid", "kty", "key_ops", "n", "e"}
    assert "exportable" not in body["attributes"]  # only an exportable key (release policy) says so
    numbers = x509.load_der_x509_certificate(emu.keyvault.certificate_der()).public_key().public_numbers()
    n = int.from_bytes(base64.urlsafe_b64decode(body["key"]["n"] + "=" * (-len(body["key"]["n"]) % 4)), "big")
    assert n == numbers.n and body["key"]["e"] == "AQAB"
    assert emu.counters.get("keyvault.get_key") == 1


def test_get_key_latest_and_not_found(http, emu, vault_token):
    assert (
        kv(http, emu, "GET", "/keys/broker-signing/", vault_token)
        .json()["key"]["kid"]
        .endswith(emu.keyvault.current_version())
    )
    response = kv(http, emu, "GET", "/keys/nope/", vault_token)
    assert response.status_code == 404 and error_of(response)["code"] == "KeyNotFound"


# ---------------------------------------------------------------- sign


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_sign_verifies_against_the_certificate(http, emu, vault_token, alg):
    response = sign(http, emu, vault_token, alg)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"kid", "value"}
    assert body["kid"] == f"{emu.urls['vault']}/keys/broker-signing/{emu.keyvault.current_version()}"
    assert "=" not in body["value"] and "+" not in body["value"] and "/" not in body["value"]
    signature = base64.urlsafe_b64decode(body["value"] + "=" * (-len(body["value"]) % 4))
    verify(emu.keyvault.certificate_der(), alg, DIGEST, signature)
    assert emu.counters.get("keyvault.sign") == 1


@pytest.mark.parametrize("alg", [SignatureAlgorithm.rs256, SignatureAlgorithm.ps256])
def test_sdk_cryptography_client_from_key_id_and_from_key(azure_env, fresh_challenge_cache, alg):
    emu = azure_env
    credential = ManagedIdentityCredential()
    version = emu.keyvault.current_version()
    kid = f"{emu.urls['vault']}/keys/broker-signing/{version}"
    by_id = CryptographyClient(kid, credential, verify_challenge_resource=False)
    result = by_id.sign(alg, DIGEST)
    verify(emu.keyvault.certificate_der(), alg.value, DIGEST, result.signature)
    assert emu.counters.get("keyvault.get_key") == 1  # a key-id client GETs the key first
    public = x509.load_der_x509_certificate(emu.keyvault.certificate_der()).public_key().public_numbers()
    jwk = {"kty": "RSA", "n": public.n.to_bytes(256, "big"), "e": b"\x01\x00\x01", "key_ops": ["sign", "verify"]}
    by_key = CryptographyClient(KeyVaultKey(kid, jwk=jwk), credential, verify_challenge_resource=False)
    verify(emu.keyvault.certificate_der(), alg.value, DIGEST, by_key.sign(alg, DIGEST).signature)
    assert emu.counters.get("keyvault.get_key") == 1  # the cheap path makes no GET
    assert emu.counters.get("keyvault.sign") == 2


def test_versionless_sign_uses_the_current_version(http, emu, vault_token):
    response = sign(http, emu, vault_token, version="")  # /keys/broker-signing//sign, as the SDK sends it
    assert response.status_code == 200
    assert response.json()["kid"].endswith("/" + emu.keyvault.current_version())


def test_sign_with_older_version_uses_that_key(http, emu, vault_token):
    first = emu.keyvault.current_version()
    emu.keyvault.rotate_certificate()
    body = sign(http, emu, vault_token, "PS256", version=first).json()
    assert body["kid"].endswith(first)
    verify(emu.keyvault.certificate_der(first), "PS256", DIGEST, base64.urlsafe_b64decode(body["value"] + "=="))


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("RS256", b"\x00" * 31), ("PS256", b"\x00" * 64), ("RS384", b"\x00" * 32), ("XS256", b"\x00" * 32)],
)
def test_sign_bad_parameter(http, emu, vault_token, alg, digest):
    response = sign(http, emu, vault_token, alg, digest)
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadParameter"


def test_sign_disabled_key_is_403_key_disabled(http, emu, vault_token):
    emu.keyvault.update_certificate_version(emu.keyvault.current_version(), enabled=False)
    response = sign(http, emu, vault_token)
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "Forbidden",
        "message": "Operation sign is not allowed on a disabled key.",
        "innererror": {"code": "KeyDisabled"},
    }


def test_sign_expired_key_is_refused(http, emu, vault_token):
    emu.keyvault.update_certificate_version(emu.keyvault.current_version(), expires_on=time.time() - 60)
    response = sign(http, emu, vault_token)
    assert response.status_code == 403
    assert error_of(response)["message"] == "Operation sign is not allowed on an expired key."


def test_sign_not_yet_valid_key_is_refused(http, emu, vault_token):
    emu.keyvault.rotate_certificate(not_before=time.time() + 3600)
    response = sign(http, emu, vault_token)
    assert response.status_code == 403
    assert error_of(response)["code"] == "Forbidden"


def test_sign_unknown_key_is_404(http, emu, vault_token):
    response = sign(http, emu, vault_token, name="nope", version="0" * 32)
    assert response.status_code == 404 and error_of(response)["code"] == "KeyNotFound"


# ---------------------------------------------------------------- RBAC


def test_sign_without_crypto_user_is_forbidden_by_rbac(http, emu, vault_token):
    emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, "Key Vault Crypto User")
    response = sign(http, emu, vault_token)
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "Forbidden"
    assert error["innererror"] == {"code": "ForbiddenByRbac"}
    seed = emu.seed
    assert error["message"] == (
        "Caller is not authorized to perform action on resource.\r\n"
        "If role assignments, deny assignments or role definitions were changed recently, please observe "
        "propagation time.\r\n"
        f"Caller: appid={seed.system_mi_client_id};oid={seed.system_mi_principal_id};"
        f"iss=https://sts.windows.net/{seed.tenant_id}/\r\n"
        "Action: 'Microsoft.KeyVault/vaults/keys/sign/action'\r\n"
        f"Resource: '/subscriptions/{seed.subscription_id}/resourcegroups/rg-broker/providers/microsoft.keyvault"
        f"/vaults/{seed.vault_name}/keys/broker-signing'\r\n"
        "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n"
        f"Vault: {seed.vault_name};location={seed.location}\r\n"
    )
    # Key Vault Reader still reads the certificate and the key.
    assert kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=V_CERT).status_code == 200
    assert kv(http, emu, "GET", "/keys/broker-signing/", vault_token).status_code == 200


@pytest.mark.parametrize(
    ("roles", "cert", "key", "signs"),
    [
        ((), 403, 403, 403),
        (("Key Vault Reader",), 200, 200, 403),
        (("Key Vault Crypto User",), 403, 200, 200),
        (("Key Vault Certificate User",), 200, 200, 403),
    ],
)
def test_role_to_data_action_mapping(http, emu, vault_token, roles, cert, key, signs):
    principal = emu.seed.system_mi_principal_id
    for role in ("Key Vault Reader", "Key Vault Crypto User", "Key Vault Certificate User"):
        emu.keyvault.revoke_role(principal, role)
    for role in roles:
        emu.keyvault.grant_role(principal, role)
    got_cert = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=V_CERT)
    assert got_cert.status_code == cert
    if cert == 403:
        assert "Action: 'Microsoft.KeyVault/vaults/certificates/read'" in error_of(got_cert)["message"]
    assert kv(http, emu, "GET", "/keys/broker-signing/", vault_token).status_code == key
    assert sign(http, emu, vault_token).status_code == signs


def test_sdk_forbidden_get_key_does_not_block_sign(azure_env, fresh_challenge_cache):
    # A CryptographyClient built from a key id GETs the key first; a 403 there must not stop sign.
    emu = azure_env
    emu.faults.inject("keyvault.get_key", status=403)
    kid = f"{emu.urls['vault']}/keys/broker-signing/{emu.keyvault.current_version()}"
    client = CryptographyClient(kid, ManagedIdentityCredential(), verify_challenge_resource=False)
    verify(emu.keyvault.certificate_der(), "RS256", DIGEST, client.sign(SignatureAlgorithm.rs256, DIGEST).signature)
    client.sign(SignatureAlgorithm.rs256, DIGEST)
    assert emu.counters.get("keyvault.get_key") == 1  # never retried on that client
    assert emu.counters.get("keyvault.sign") == 2


def test_sdk_sign_refused_by_rbac(azure_env, fresh_challenge_cache):
    emu = azure_env
    for role in ("Key Vault Reader", "Key Vault Crypto User"):
        emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, role)
    kid = f"{emu.urls['vault']}/keys/broker-signing/{emu.keyvault.current_version()}"
    client = CryptographyClient(kid, ManagedIdentityCredential(), verify_challenge_resource=False)
    with pytest.raises(HttpResponseError) as raised:
        client.sign(SignatureAlgorithm.rs256, DIGEST)
    assert raised.value.status_code == 403
    assert raised.value.response.json()["error"]["innererror"] == {"code": "ForbiddenByRbac"}


def test_sdk_maps_errors(azure_env, fresh_challenge_cache):
    emu = azure_env
    client = CertificateClient(emu.urls["vault"] + "/", ManagedIdentityCredential(), verify_challenge_resource=False)
    with pytest.raises(ResourceNotFoundError):
        client.get_certificate("nope")
    # A 401 carrying a challenge makes the SDK re-authenticate once, then give up.
    emu.faults.inject("keyvault.get_certificate", status=401, times=2)
    before = emu.counters.get("keyvault.get_certificate")
    with pytest.raises(ClientAuthenticationError):
        client.get_certificate("broker-signing")
    assert emu.counters.get("keyvault.get_certificate") - before == 2


# ---------------------------------------------------------------- policy times, policy update, import


def _outside_certificate(name: str = "outside"):
    """A key pair and self-signed certificate made outside the vault."""
    from tests.helpers import self_signed

    key, der = self_signed(name)
    return key, x509.load_der_x509_certificate(der)


def _pfx(key, certificate, password: bytes | None = None) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(None, key, certificate, None, encryption)


def _officer(emu):
    emu.keyvault.grant_role(emu.seed.system_mi_principal_id, "Key Vault Certificates Officer")


def test_policy_attributes_are_epoch_seconds_created_with_the_first_version(http, emu, vault_token):
    body = kv(http, emu, "GET", "/certificates/broker-signing/policy", vault_token, api_version=V_CERT).json()
    attributes = body["attributes"]
    assert isinstance(attributes["created"], int) and isinstance(attributes["updated"], int)
    first = kv(http, emu, "GET", "/certificates/broker-signing/", vault_token, api_version=V_CERT).json()
    assert attributes["created"] == attributes["updated"] == first["attributes"]["created"]
    # The latest-version bundle carries the same policy, times included.
    assert first["policy"]["attributes"] == attributes


def test_an_auto_renewal_leaves_the_policy_alone_a_policy_update_moves_updated(http, emu, vault_token):
    before = emu.keyvault.policy_times()
    emu.keyvault.rotate_certificate(register=False, publish=False)  # same policy: a renewal
    assert emu.keyvault.policy_times() == before
    emu.keyvault.set_certificate_policy(issuer="Self", updated=before[1] + 100)
    assert emu.keyvault.policy_times() == (before[0], before[1] + 100)


def test_update_policy_through_the_sdk_changes_only_the_members_given(azure_env, fresh_challenge_cache, emu):
    from azure.keyvault.certificates import CertificatePolicy

    _officer(emu)
    client = CertificateClient(emu.urls["vault"], ManagedIdentityCredential(), verify_challenge_resource=False)
    before = client.get_certificate_policy("broker-signing")
    time.sleep(1.05)  # whole seconds
    updated = client.update_certificate_policy("broker-signing", CertificatePolicy(issuer_name="DigiCert"))
    assert updated.issuer_name == "DigiCert"
    assert (updated.exportable, updated.key_type) == (before.exportable, before.key_type)
    assert updated.created_on == before.created_on and updated.updated_on > before.updated_on
    assert client.get_certificate_policy("broker-signing").issuer_name == "DigiCert"
    # An existing version is unchanged by a policy update.
    assert emu.keyvault.versions() == [client.get_certificate("broker-signing").properties.version]


def test_update_policy_and_import_need_their_permissions(http, emu, vault_token):
    # Key Vault Reader / Crypto User (the function's roles) neither import nor update a policy.
    key, certificate = _outside_certificate()
    body = {"value": base64.b64encode(_pfx(key, certificate)).decode()}
    for method, path, payload, action in (
        ("PATCH", "/certificates/broker-signing/policy", {"issuer": {"name": "Self"}}, "certificates/update/action"),
        ("POST", "/certificates/broker-signing/import", body, "certificates/import/action"),
    ):
        response = kv(http, emu, method, path, vault_token, api_version=V_CERT, json=payload)
        assert response.status_code == 403, response.text
        assert error_of(response)["innererror"]["code"] == "ForbiddenByRbac"
        assert action in error_of(response)["message"]
    assert len(emu.keyvault.versions()) == 1


def test_import_through_the_sdk_makes_a_version_with_an_unknown_issuer_and_no_exportable_key_flag(
    azure_env, fresh_challenge_cache, emu
):
    from azure.keyvault.keys import KeyClient
    from cryptography.hazmat.primitives import serialization

    _officer(emu)
    credential = ManagedIdentityCredential()
    client = CertificateClient(emu.urls["vault"], credential, verify_challenge_resource=False)
    key, certificate = _outside_certificate()
    imported = client.import_certificate("broker-signing", _pfx(key, certificate, b"pw"), password="pw")
    assert emu.keyvault.current_version() == imported.properties.version
    assert imported.cer == certificate.public_bytes(serialization.Encoding.DER)
    policy = client.get_certificate_policy("broker-signing")
    assert (policy.issuer_name, policy.exportable) == ("Unknown", True)
    assert policy.updated_on == imported.properties.created_on
    bundle = KeyClient(emu.urls["vault"], credential, verify_challenge_resource=False).get_key(
        "broker-signing", imported.properties.version
    )
    assert bundle.properties.exportable is None and bundle.properties.release_policy is None
    assert bundle.key.n == key.public_key().public_numbers().n.to_bytes(256, "big")


def test_import_of_pem_with_its_own_policy(azure_env, fresh_challenge_cache, emu):
    from azure.keyvault.certificates import CertificateContentType, CertificatePolicy
    from cryptography.hazmat.primitives import serialization

    _officer(emu)
    client = CertificateClient(emu.urls["vault"], ManagedIdentityCredential(), verify_challenge_resource=False)
    key, certificate = _outside_certificate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + certificate.public_bytes(serialization.Encoding.PEM)
    policy = CertificatePolicy(
        issuer_name="Self", exportable=False, key_type="RSA", content_type=CertificateContentType.pem
    )
    imported = client.import_certificate("broker-signing", pem, policy=policy)
    # An import carrying its own policy: nothing in the policy or the key tells it from a creation.
    stored = client.get_certificate_policy("broker-signing")
    assert (stored.issuer_name, stored.exportable) == ("Self", False)
    assert stored.updated_on == imported.properties.created_on


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"value": 5},
        {"value": "not base64!"},
        {"value": base64.b64encode(b"no certificate here").decode()},
    ],
)
def test_import_refuses_what_it_cannot_read(http, emu, body):
    _officer(emu)
    token = mi_token(http, emu, "https://vault.azure.net")
    response = kv(http, emu, "POST", "/certificates/broker-signing/import", token, api_version=V_CERT, json=body)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "BadParameter"
    assert len(emu.keyvault.versions()) == 1


def test_update_policy_refuses_a_malformed_policy(http, emu):
    _officer(emu)
    token = mi_token(http, emu, "https://vault.azure.net")
    for body in ({"issuer": {"name": 5}}, {"key_props": {"exportable": "no"}}, {"key_props": {"kty": "EC"}}, [1]):
        response = kv(http, emu, "PATCH", "/certificates/broker-signing/policy", token, api_version=V_CERT, json=body)
        assert response.status_code == 400, response.text
    assert emu.keyvault.policy_times()[0] == emu.keyvault.policy_times()[1]


def test_an_hsm_version_says_rsa_hsm_in_the_policy_and_the_key(http, emu, vault_token):
    version = emu.keyvault.rotate_certificate(register=False, publish=False, hsm=True)
    policy = kv(http, emu, "GET", "/certificates/broker-signing/policy", vault_token, api_version=V_CERT).json()
    assert policy["key_props"]["kty"] == "RSA-HSM"
    key = kv(http, emu, "GET", f"/keys/broker-signing/{version}", vault_token).json()
    assert key["key"]["kty"] == "RSA-HSM"
    assert sign(http, emu, vault_token, version=version).status_code == 200
