"""Entra ID token endpoint, federated credentials, OIDC/JWKS and caller tokens (AZURE-PROTOCOLS.md 4, 8, 9.7-9.8)."""

from __future__ import annotations

import re
import time
import uuid

import jwt
import pytest
from azure.identity import ClientAssertionCredential, ManagedIdentityCredential
from emu_support import JWT_BEARER, claims_of, mi_token, token_url

GRAPH = "https://graph.microsoft.com/.default"
ARM = "https://management.azure.com/.default"
TAIL = re.compile(
    r"\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$"
)


def post(http, emu, *, assertion=None, scope=ARM, client_id=None, tenant=None, url=None, drop=(), **extra):
    form = {
        "client_assertion": assertion,
        "client_assertion_type": JWT_BEARER,
        "client_id": client_id or emu.seed.client_id,
        "grant_type": "client_credentials",
        "scope": scope,
        **extra,
    }
    form = {k: v for k, v in form.items() if v is not None and k not in drop}
    return http.post(url or token_url(emu, tenant), data=form)


def good(emu, cert, **kwargs):
    return cert.assertion(client_id=emu.seed.client_id, aud=token_url(emu), **kwargs)


def assert_aad_error(response, status, error, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert TAIL.search(body["error_description"]), body["error_description"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["error_description"].endswith(f"Timestamp: {body['timestamp']}")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    assert body["error_uri"].endswith(f"/error?code={code}")
    return body["error_description"]


# ---------------------------------------------------------------- success


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_good_assertion_gets_a_token(http, emu, registered, alg):
    response = post(http, emu, assertion=good(emu, registered, alg=alg), scope=GRAPH)
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and 3000 < body["expires_in"] <= 3600
    assert isinstance(body["ext_expires_in"], int)
    claims = claims_of(body["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{emu.seed.tenant_id}/"
    assert claims["appid"] == claims["azp"] == emu.seed.client_id
    assert claims["oid"] == claims["sub"] == emu.seed.sp_object_id
    assert claims["roles"] == ["Application.Read.All", "User.Read.All"]  # seed: read-only, owns nothing
    assert claims["idtyp"] == "app" and claims["tid"] == emu.seed.tenant_id
    assert emu.counters.get("entra.token") == 1


def test_token_for_the_emulator_arm_origin_has_no_roles(http, emu, registered):
    response = post(http, emu, assertion=good(emu, registered), scope=emu.urls["management"] + "/.default")
    claims = claims_of(response.json()["access_token"])
    assert claims["aud"] == emu.urls["management"]
    assert "roles" not in claims


@pytest.mark.parametrize(
    "variant",
    ["padded-thumbprint", "float-times", "no-nbf", "long-lifetime", "x5c-ignored", "claims-field", "domain-tenant"],
)
def test_lenient_where_entra_is_lenient(http, emu, registered, variant):
    now = time.time()
    kwargs: dict = {}
    extra: dict = {}
    tenant = None
    if variant == "padded-thumbprint":
        kwargs["header"] = {"x5t#S256": registered.x5t_s256 + "="}
    elif variant == "float-times":
        kwargs["claims"] = {"iat": now + 0.837, "nbf": now + 0.5, "exp": now + 600.837}
    elif variant == "no-nbf":
        kwargs["drop"] = ("nbf", "iat")
    elif variant == "long-lifetime":
        kwargs["claims"] = {"exp": int(now) + 24 * 3600}
    elif variant == "x5c-ignored":
        kwargs["header"] = {"x5c": ["MIIBogus"]}
    elif variant == "claims-field":
        extra["claims"] = '{"access_token": {"xms_cc": {"values": ["CP1"]}}}'
    elif variant == "domain-tenant":
        tenant = emu.seed.tenant_domain
    aud = token_url(emu, tenant)
    assertion = registered.assertion(client_id=emu.seed.client_id, aud=aud, **kwargs)
    response = post(http, emu, assertion=assertion, tenant=tenant, **extra)
    assert response.status_code == 200, response.text


def test_reused_jti_is_accepted(http, emu, registered):
    assertion = good(emu, registered)
    assert post(http, emu, assertion=assertion).status_code == 200
    assert post(http, emu, assertion=assertion).status_code == 200


def test_rs256_with_unpadded_sha1_thumbprint_and_both_headers(http, emu, registered):
    header = {"x5t": registered.x5t, "x5t#S256": registered.x5t_s256}
    assert post(http, emu, assertion=good(emu, registered, alg="RS256", header=header)).status_code == 200


# ---------------------------------------------------------------- strict where Entra is strict


def test_unregistered_certificate_is_700027(http, emu, local_cert):
    description = assert_aad_error(post(http, emu, assertion=good(emu, local_cert)), 401, "invalid_client", 700027)
    assert "The certificate with identifier used to sign the client assertion is not registered on application." in (
        description
    )
    assert f"app Id '{emu.seed.client_id}'" in description


def test_unregistering_the_seed_certificate_refuses_it(http, emu, registered):
    emu.entra.unregister_certificate(registered.der)
    assert_aad_error(post(http, emu, assertion=good(emu, registered)), 401, "invalid_client", 700027)


def test_registered_but_expired_credential_is_700027(http, emu, local_cert):
    emu.entra.register_certificate(local_cert.der, start=time.time() - 7200, end=time.time() - 3600)
    description = assert_aad_error(post(http, emu, assertion=good(emu, local_cert)), 401, "invalid_client", 700027)
    assert "The key used is expired." in description


def test_wrong_signature_is_700027(http, emu, registered, other_cert):
    # Header names the registered certificate, but another key signed the assertion.
    header = {"x5t#S256": registered.x5t_s256}
    assertion = other_cert.assertion(client_id=emu.seed.client_id, aud=token_url(emu), header=header)
    description = assert_aad_error(post(http, emu, assertion=assertion), 401, "invalid_client", 700027)
    assert "Client assertion failed signature validation." in description


@pytest.mark.parametrize("where", ["other-path", "v1-endpoint", "localhost", "public-host"])
def test_aud_must_be_the_exact_token_url(http, emu, registered, where):
    login, tenant = emu.urls["login"], emu.seed.tenant_id
    aud = {
        "other-path": f"{login}/{tenant}/oauth2/v2.0/token/",
        "v1-endpoint": f"{login}/{tenant}/oauth2/token",
        "localhost": f"{login.replace('127.0.0.1', 'localhost')}/{tenant}/oauth2/v2.0/token",
        "public-host": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    }[where]
    assertion = registered.assertion(client_id=emu.seed.client_id, aud=aud)
    assert_aad_error(post(http, emu, assertion=assertion), 401, "invalid_client", 50012)


def test_aud_follows_the_host_the_client_called(http, emu, registered):
    url = token_url(emu).replace("127.0.0.1", "localhost")
    assertion = registered.assertion(client_id=emu.seed.client_id, aud=url)
    assert post(http, emu, assertion=assertion, url=url).status_code == 200


def test_iss_differs_from_sub_is_50048(http, emu, registered):
    assertion = good(emu, registered, claims={"sub": str(uuid.uuid4())})
    assert_aad_error(post(http, emu, assertion=assertion), 401, "invalid_client", 50048)


def test_iss_and_sub_not_the_client_id_is_700021(http, emu, registered):
    other = str(uuid.uuid4())
    assertion = good(emu, registered, claims={"iss": other, "sub": other})
    assert_aad_error(post(http, emu, assertion=assertion), 401, "invalid_client", 700021)


@pytest.mark.parametrize("case", ["expired", "not-yet-valid", "no-exp"])
def test_outside_validity_is_700024(http, emu, registered, case):
    now = int(time.time())
    claims = {
        "expired": {"nbf": now - 3600, "iat": now - 3600, "exp": now - 1800},
        "not-yet-valid": {"nbf": now + 1800, "exp": now + 2400},
        "no-exp": {},
    }[case]
    assertion = good(emu, registered, claims=claims, drop=("exp",) if case == "no-exp" else ())
    description = assert_aad_error(post(http, emu, assertion=assertion), 401, "invalid_client", 700024)
    moment = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z"
    assert re.search(
        rf"Current time: {moment}, assertion valid from {moment}, expiry time of assertion {moment}\.", description
    )


def test_small_clock_skew_is_tolerated(http, emu, registered):
    now = int(time.time())
    assertion = good(emu, registered, claims={"nbf": now + 60, "iat": now + 60, "exp": now + 360})
    assert post(http, emu, assertion=assertion).status_code == 200


def test_hmac_alg_is_refused(http, emu, registered):
    assertion = jwt.encode(
        {"iss": emu.seed.client_id, "sub": emu.seed.client_id, "aud": token_url(emu), "exp": time.time() + 300},
        "not-a-real-secret-but-long-enough-for-hs256",
        algorithm="HS256",
        headers={"x5t": registered.x5t},
    )
    response = post(http, emu, assertion=assertion)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# ---------------------------------------------------------------- request errors


def test_unknown_client_is_700016_naming_the_tenant(http, emu, registered):
    client_id = str(uuid.uuid4())
    description = assert_aad_error(
        post(http, emu, assertion=good(emu, registered), client_id=client_id), 400, "unauthorized_client", 700016
    )
    assert (
        f"Application with identifier '{client_id}' was not found in the directory 'Contoso Emulated'." in description
    )


def test_unknown_tenant_is_90002(http, emu, registered):
    tenant = str(uuid.uuid4())
    description = assert_aad_error(
        post(http, emu, assertion=good(emu, registered), tenant=tenant), 400, "invalid_request", 90002
    )
    assert f"Tenant '{tenant}' not found." in description


@pytest.mark.parametrize("field", ["scope", "client_id", "grant_type"])
def test_missing_parameter_is_900144(http, emu, registered, field):
    description = assert_aad_error(
        post(http, emu, assertion=good(emu, registered), drop=(field,)), 400, "invalid_request", 900144
    )
    assert f"'{field}'" in description


def test_missing_assertion_is_7000218(http, emu):
    assert_aad_error(post(http, emu), 401, "invalid_client", 7000218)


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("https://graph.microsoft.com/User.Read.All", "invalid_scope", 1002012),
        ("https://graph.microsoft.com", "invalid_scope", 1002012),
        ("https://graph.microsoft.com/.default https://management.azure.com/.default", "invalid_scope", 700022),
        ("https://managements.azure.com/.default", "invalid_resource", 500011),
    ],
)
def test_scope_errors(http, emu, registered, scope, error, code):
    description = assert_aad_error(post(http, emu, assertion=good(emu, registered), scope=scope), 400, error, code)
    if code == 500011:
        assert "The resource principal named https://managements.azure.com was not found in the tenant named " in (
            description
        )


def test_malformed_assertion(http, emu):
    response = post(http, emu, assertion="not.a.jwt")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [50027]


def test_get_on_token_endpoint_is_refused(http, emu):
    assert http.get(token_url(emu)).status_code == 400


# ---------------------------------------------------------------- federated credential (managed identity)


def fic_assertion(http, emu, **params):
    return mi_token(http, emu, "api://AzureADTokenExchange", **params)


def test_fic_exchange_with_the_user_assigned_identity(http, emu):
    assertion = fic_assertion(http, emu, client_id=emu.seed.user_mi_client_id)
    response = post(http, emu, assertion=assertion, scope=GRAPH)
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])
    assert claims["appid"] == emu.seed.client_id and claims["oid"] == emu.seed.sp_object_id
    # The MI token is reused as-is for hours: a second exchange with the same assertion works.
    assert post(http, emu, assertion=assertion, scope=ARM).status_code == 200


def test_fic_with_the_system_identity_has_no_matching_record(http, emu):
    assertion = fic_assertion(http, emu)
    description = assert_aad_error(post(http, emu, assertion=assertion), 400, "invalid_request", 70021)
    assert f"Assertion Subject: '{emu.seed.system_mi_principal_id}'" in description
    assert f"Assertion Issuer: '{emu.urls['login']}/{emu.seed.tenant_id}/v2.0'" in description
    assert "Assertion Audience: 'api://AzureADTokenExchange'" in description


def test_fic_subject_is_case_sensitive(http, emu):
    emu.entra.remove_federated_credentials()
    emu.entra.add_federated_credential(issuer=None, subject=emu.seed.user_mi_principal_id.upper())
    assertion = fic_assertion(http, emu, client_id=emu.seed.user_mi_client_id)
    assert_aad_error(post(http, emu, assertion=assertion), 400, "invalid_request", 70021)


def test_fic_token_for_another_audience_is_refused(http, emu):
    # A Key Vault token of the right identity is not a federation token.
    assertion = mi_token(http, emu, "https://vault.azure.net", client_id=emu.seed.user_mi_client_id)
    assert_aad_error(post(http, emu, assertion=assertion), 400, "invalid_request", 70021)


def test_fic_token_signed_by_an_unknown_key_is_refused(http, emu):
    forged = emu.context.tokens.app_token(
        audience="api://AzureADTokenExchange",
        app_id=emu.seed.user_mi_client_id,
        object_id=emu.seed.user_mi_principal_id,
        version="2.0",
        signing_key="rogue",
    )[0]
    assert_aad_error(post(http, emu, assertion=forged), 401, "invalid_client", 700027)


def test_fic_through_azure_identity(azure_env):
    emu = azure_env
    mi = ManagedIdentityCredential(client_id=emu.seed.user_mi_client_id)
    credential = ClientAssertionCredential(
        emu.seed.tenant_id,
        emu.seed.client_id,
        lambda: mi.get_token("api://AzureADTokenExchange/.default").token,
        authority=emu.urls["login"],
    )
    token = credential.get_token(emu.urls["graph"] + "/.default")
    assert claims_of(token.token)["roles"] == ["Application.Read.All", "User.Read.All"]
    assert emu.counters.get("entra.token") == 1


# ---------------------------------------------------------------- OIDC, JWKS, caller tokens


def test_openid_configuration_and_jwks(http, emu):
    tenant, login = emu.seed.tenant_id, emu.urls["login"]
    config = http.get(f"{login}/{tenant}/v2.0/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{login}/{tenant}/v2.0"
    assert config["token_endpoint"] == f"{login}/{tenant}/oauth2/v2.0/token"
    assert config["jwks_uri"] == f"{login}/{tenant}/discovery/v2.0/keys"
    keys = http.get(config["jwks_uri"]).json()["keys"]
    assert len(keys) == 1
    assert {"kid", "kty", "n", "e", "use", "x5t", "x5c"} <= set(keys[0])
    assert keys[0]["kty"] == "RSA" and keys[0]["use"] == "sig"
    assert emu.counters.get("entra.openid_configuration") == 1
    assert emu.counters.get("entra.jwks") == 1
    unknown = http.get(f"{login}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [90002]


@pytest.mark.parametrize("issuer", ["v2", "v1"])
def test_caller_token_verifies_against_the_jwks(http, emu, issuer):
    token = emu.entra.mint_caller_token(audience=emu.seed.api_app_id_uri, roles=["CosmosKeys.Read"], issuer=issuer)
    jwks = jwt.PyJWKClient(f"{emu.urls['login']}/{emu.seed.tenant_id}/discovery/v2.0/keys")
    jwks.fetch_data = lambda: http.get(jwks.uri).json()  # trust the emulator CA
    key = jwks.get_signing_key_from_jwt(token)
    expected = (
        f"{emu.urls['login']}/{emu.seed.tenant_id}/v2.0"
        if issuer == "v2"
        else f"https://sts.windows.net/{emu.seed.tenant_id}/"
    )
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=emu.seed.api_app_id_uri, issuer=expected)
    assert claims["roles"] == ["CosmosKeys.Read"]
    assert claims["ver"] == ("2.0" if issuer == "v2" else "1.0")
    assert claims["tid"] == emu.seed.tenant_id and claims["idtyp"] == "app"


def test_caller_token_knobs(emu):
    public_key = emu.context.tokens.tenant_key.public_key
    expired = emu.entra.mint_caller_token(audience="api://x", expires_in=-600)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, public_key, algorithms=["RS256"], audience="api://x")
    future = emu.entra.mint_caller_token(audience="api://x", not_before=time.time() + 3600)
    with pytest.raises(jwt.ImmatureSignatureError):
        jwt.decode(future, public_key, algorithms=["RS256"], audience="api://x")
    rogue = emu.entra.mint_caller_token(audience="api://x", signing_key="rogue")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(rogue, public_key, algorithms=["RS256"], audience="api://x")
    assert jwt.get_unverified_header(emu.entra.mint_caller_token(audience="api://x", kid="other"))["kid"] == "other"
    assert jwt.get_unverified_header(emu.entra.mint_caller_token(audience="api://x", alg="PS256"))["alg"] == "PS256"
    app = str(uuid.uuid4())
    assert claims_of(emu.entra.mint_caller_token(audience="api://x", app_id=app))["azp"] == app


@pytest.mark.parametrize("issuer", ["v1", "v2"])
def test_app_tokens_have_oid_equal_to_sub_and_idtyp_app_unless_left_out(emu, issuer):
    claims = claims_of(emu.entra.mint_caller_token(audience="api://x", issuer=issuer))
    assert claims["oid"] == claims["sub"] == emu.seed.caller_sp_object_id
    assert claims["idtyp"] == "app" and "scp" not in claims
    assert "idtyp" not in claims_of(emu.entra.mint_caller_token(audience="api://x", issuer=issuer, idtyp=False))


@pytest.mark.parametrize("issuer", ["v1", "v2"])
def test_delegated_tokens_look_like_entras(emu, issuer):
    claims = claims_of(emu.entra.mint_caller_token(audience="api://x", roles=["Users.Read"], user=True, issuer=issuer))
    assert claims["scp"] == "user_impersonation"
    assert claims["roles"] == ["Users.Read"]
    assert claims["idtyp"] == "user"
    assert claims["oid"] != claims["sub"]  # sub is pairwise per client app
    client = "appid" if issuer == "v1" else "azp"
    assert claims[client] == emu.seed.caller_app_id
    assert ("upn" in claims) == (issuer == "v1") and ("preferred_username" in claims) == (issuer == "v2")
    bare = claims_of(emu.entra.mint_caller_token(audience="api://x", user=True, scopes=(), idtyp=False))
    assert "scp" not in bare and "idtyp" not in bare and "roles" not in bare


def test_signing_keys_roll_and_withdraw_in_the_jwks(http, emu):
    jwks_url = f"{emu.urls['login']}/{emu.seed.tenant_id}/discovery/v2.0/keys"

    def kids():
        return [key["kid"] for key in http.get(jwks_url).json()["keys"]]

    seed_kid = kids()[0]
    old = emu.entra.mint_caller_token(audience="api://x")
    new_kid = emu.entra.add_signing_key()
    assert kids() == [seed_kid, new_kid]
    assert jwt.get_unverified_header(emu.entra.mint_caller_token(audience="api://x"))["kid"] == new_kid
    assert emu.entra.withdraw_signing_key(seed_kid) == seed_kid
    assert kids() == [new_kid]
    withdrawn = emu.entra.mint_caller_token(audience="api://x", signing_key="withdrawn")
    assert jwt.get_unverified_header(withdrawn)["kid"] == jwt.get_unverified_header(old)["kid"] == seed_kid
    # Resource servers of the emulator (ARM, Graph) stop accepting tokens of a withdrawn key too.
    from emulator.tokens import TokenError

    with pytest.raises(TokenError):
        emu.context.tokens.validate(old, audiences=["api://x"])
    emu.reset()
    assert kids() == [seed_kid]


def test_withdrawing_the_current_key_makes_a_fresh_one_current(http, emu):
    withdrawn = emu.entra.withdraw_signing_key()
    current = jwt.get_unverified_header(emu.entra.mint_caller_token(audience="api://x"))["kid"]
    assert current != withdrawn
    jwks_url = f"{emu.urls['login']}/{emu.seed.tenant_id}/discovery/v2.0/keys"
    assert [key["kid"] for key in http.get(jwks_url).json()["keys"]] == [current]
    with pytest.raises(ValueError):
        emu.entra.withdraw_signing_key("no-such-kid")


def test_control_api_mints_delegated_tokens_and_rolls_signing_keys(http, emu):
    control = emu.urls["control"]
    token = http.post(
        control + "/_emulator/caller-token", json={"audience": "api://x", "user": True, "scopes": ["a", "b"]}
    ).json()["access_token"]
    assert claims_of(token)["scp"] == "a b"
    added = http.post(control + "/_emulator/entra/signing-keys")
    assert added.status_code == 201
    withdrawn = http.delete(control + "/_emulator/entra/signing-keys", json={"kid": added.json()["kid"]})
    assert withdrawn.json() == {"kid": added.json()["kid"]}
