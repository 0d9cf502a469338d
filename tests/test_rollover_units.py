"""Rollover pieces without I/O: the proof JWT, event judging, dryRun parsing, settings, keyCredentials."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest

from shared.errors import BadRequest
from shared.rollover import GRAPH_PROOF_AUDIENCE, ProofBuilder, judge_event, parse_dry_run
from shared.rollover.application_keys import key_credential
from shared.settings import CredentialMode, load_settings
from tests.helpers import LocalTestSigner, certificate_info, self_signed

OBJECT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
VAULT = "https://contoso-kv.vault.azure.net/"


@pytest.fixture(scope="module")
def key_and_der():
    return self_signed()


def _decode_segment(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_proof_follows_graphs_rules_and_is_signed_by_the_given_version(key_and_der):
    key, der = key_and_der
    signer = LocalTestSigner(key)
    certificate = certificate_info(der, version="b" * 32)
    proof = ProofBuilder(signer, application_object_id=OBJECT_ID, clock=lambda: 1_800_000_000.4)(certificate)
    header_segment, claims_segment, _ = proof.split(".")
    assert "=" not in proof  # padding makes Graph answer Authentication_MissingOrMalformed
    header, claims = _decode_segment(header_segment), _decode_segment(claims_segment)
    # What .NET's X509SigningCredentials (the documented sample) writes: RS256, x5t, kid = hex thumbprint.
    assert header == {
        "alg": "RS256",
        "typ": "JWT",
        "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode(),
        "kid": hashlib.sha1(der).hexdigest().upper(),
    }
    assert claims == {
        "aud": "00000002-0000-0000-c000-000000000000",
        "iss": OBJECT_ID,
        "nbf": 1_800_000_000,
        "iat": 1_800_000_000,
        "exp": 1_800_000_600,
    }
    assert claims["aud"] == GRAPH_PROOF_AUDIENCE
    verified = jwt.decode(
        proof,
        key.public_key(),
        algorithms=["RS256"],
        audience=GRAPH_PROOF_AUDIENCE,
        issuer=OBJECT_ID,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert verified["iss"] == OBJECT_ID
    # Key Vault signed the SHA-256 of the signing input with that version's key id.
    ((key_id, algorithm, digest),) = signer.calls
    assert (key_id, algorithm) == (certificate.key_id, "RS256")
    assert digest == hashlib.sha256(f"{header_segment}.{claims_segment}".encode()).digest()


def event(**overrides):
    data = {
        "Id": f"{VAULT}certificates/broker-signing/0123456789abcdef0123456789abcdef",
        "VaultName": "contoso-kv",
        "ObjectType": "Certificate",
        "ObjectName": "broker-signing",
        "Version": "0123456789abcdef0123456789abcdef",
        "NBF": 1_700_000_000,
        "EXP": 1_800_000_000,
    }
    fields = {"event_type": "Microsoft.KeyVault.CertificateNewVersionCreated", "subject": "broker-signing"}
    data.update(overrides.pop("data", {}))
    for name in [n for n, v in data.items() if v is None]:
        del data[name]
    fields.update(overrides)
    return judge_event(**fields, data=data, vault_url=VAULT, certificate_name="broker-signing")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"event_type": "Microsoft.KeyVault.CertificateNearExpiry"},
        {"subject": "BROKER-SIGNING", "data": {"ObjectName": "Broker-Signing"}},  # names are case-insensitive
        {"data": {"Id": None}},  # matched by VaultName then
        {"data": {"Id": None, "ObjectType": None, "VaultName": None, "vaultName": "contoso-kv"}},  # camelCase
    ],
)
def test_events_for_this_vault_and_certificate_are_relevant(overrides):
    verdict = event(**overrides)
    assert verdict.relevant, verdict.reason


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"event_type": "Microsoft.KeyVault.CertificateExpired"}, "not handled"),
        ({"event_type": "Microsoft.KeyVault.SecretNewVersionCreated"}, "not handled"),
        ({"event_type": None}, "invalid event"),
        ({"event_type": ["Microsoft.KeyVault.CertificateNewVersionCreated"]}, "'eventType' is not a string"),
        ({"subject": 5}, "'subject' is not a string"),
        ({"data": {"ObjectType": {"x": 1}}}, "'data.ObjectType' is not a string"),
        ({"data": {"Version": ["1"]}}, "'data.Version' is not a string"),
        ({"data": {"Id": 5}}, "'data.Id' is not a string"),
        ({"data": {"Id": "https://other-kv.vault.azure.net/certificates/broker-signing/1"}}, "another vault"),
        ({"data": {"Id": None, "VaultName": "other-kv"}}, "another vault"),
        ({"subject": "other-cert"}, "another object"),
        ({"data": {"ObjectName": "other-cert"}}, "another object"),
        ({"data": {"Id": f"{VAULT}certificates/other-cert/1"}}, "another object"),
        ({"data": {"ObjectType": "Key"}}, "not a certificate"),
        ({"data": {"Id": f"{VAULT}keys/broker-signing/1"}}, "does not name a certificate"),
        ({"data": {"Id": "http://contoso-kv.vault.azure.net/certificates/broker-signing/1"}}, "invalid event"),
        ({"data": {"Id": None, "VaultName": None}}, "invalid event"),
    ],
)
def test_other_events_are_ignored_with_a_reason(overrides, reason):
    verdict = event(**overrides)
    assert not verdict.relevant
    assert reason in verdict.reason


def test_an_event_without_a_data_object_is_invalid():
    verdict = judge_event(
        event_type="Microsoft.KeyVault.CertificateNewVersionCreated",
        subject="broker-signing",
        data=["not", "an", "object"],
        vault_url=VAULT,
        certificate_name="broker-signing",
    )
    assert (verdict.relevant, verdict.reason) == (False, "invalid event: 'data' is not an object")


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), ("FALSE", False), (" True ", True)])
def test_dry_run_values(value, expected):
    assert parse_dry_run(value) is expected


@pytest.mark.parametrize("value", ["", "yes", "1", "truee", "true,false"])
def test_dry_run_refuses_anything_else(value):
    with pytest.raises(BadRequest, match="dryRun"):
        parse_dry_run(value)


BASE = {
    "ENTRA_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "ENTRA_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "KEY_VAULT_URL": VAULT,
    "KEY_VAULT_CERTIFICATE_NAME": "broker-signing",
}


def test_rollover_settings_defaults_and_values():
    s = load_settings({**BASE, "ENTRA_APPLICATION_OBJECT_ID": OBJECT_ID.upper()})
    assert s.ok and not s.rollover_problems
    assert (s.application_object_id, s.rollover_grace_days, s.rollover_schedule) == (OBJECT_ID, 7, "0 0 3 * * *")
    s = load_settings(
        {
            **BASE,
            "ENTRA_APPLICATION_OBJECT_ID": OBJECT_ID,
            "ROLLOVER_GRACE_DAYS": "1",
            "ROLLOVER_SCHEDULE": "0 */5 * * * *",
        }
    )
    assert (s.rollover_grace_days, s.rollover_schedule, s.rollover_problems) == (1, "0 */5 * * * *", ())


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({}, "ENTRA_APPLICATION_OBJECT_ID"),
        ({"ENTRA_APPLICATION_OBJECT_ID": "contoso-app"}, "ENTRA_APPLICATION_OBJECT_ID"),
        ({"ROLLOVER_GRACE_DAYS": "-1"}, "ROLLOVER_GRACE_DAYS"),
        ({"ROLLOVER_SCHEDULE": "* * * * * *"}, "ROLLOVER_SCHEDULE"),  # every second
        ({"ROLLOVER_SCHEDULE": "*/30 0 3 * * *"}, "ROLLOVER_SCHEDULE"),  # twice a minute at 03:00
        ({"ROLLOVER_SCHEDULE": "0,1 0 3 * * *"}, "ROLLOVER_SCHEDULE"),
        ({"ROLLOVER_SCHEDULE": "0 0 3-2 * * *"}, "ROLLOVER_SCHEDULE"),  # not a range
        ({"ROLLOVER_SCHEDULE": "0 61 3 * * *"}, "ROLLOVER_SCHEDULE"),
        ({"ROLLOVER_GRACE_DAYS": "seven"}, "ROLLOVER_GRACE_DAYS"),
        ({"ROLLOVER_SCHEDULE": "0 3 * * *"}, "ROLLOVER_SCHEDULE"),  # five fields: Unix cron, not NCRONTAB
        ({"ROLLOVER_SCHEDULE": "0 0 3 * * * ;"}, "ROLLOVER_SCHEDULE"),
    ],
)
def test_rollover_setting_problems_never_break_the_other_routes(overrides, setting):
    env = {**BASE, "ENTRA_APPLICATION_OBJECT_ID": OBJECT_ID, **overrides}
    if not overrides:
        del env["ENTRA_APPLICATION_OBJECT_ID"]
    s = load_settings(env)
    assert s.ok  # the other routes keep serving
    assert [p.setting for p in s.rollover_problems] == [setting]


@pytest.mark.parametrize("mode", ["federated-managed-identity", "managed-identity"])
def test_certificate_less_modes_need_no_application_object_id(mode):
    env = {**BASE, "CREDENTIAL_MODE": mode, "AZURE_CLIENT_ID": "22222222-2222-3333-4444-555555555555"}
    s = load_settings(env)
    assert s.credential_mode is CredentialMode(mode)
    assert s.rollover_problems == ()


def test_key_credentials_are_identified_by_the_der_or_the_custom_key_identifier(key_and_der):
    _, der = key_and_der
    thumbprint = hashlib.sha1(der).hexdigest().upper()
    base = {"keyId": "A0B1C2D3-0000-0000-0000-000000000001", "type": "AsymmetricX509Cert", "usage": "Verify"}
    with_key = key_credential({**base, "key": base64.b64encode(der).decode(), "customKeyIdentifier": None})
    as_hex = key_credential({**base, "customKeyIdentifier": thumbprint.lower()})
    as_base64 = key_credential({**base, "customKeyIdentifier": base64.b64encode(hashlib.sha1(der).digest()).decode()})
    assert with_key.thumbprint == as_hex.thumbprint == as_base64.thumbprint == thumbprint
    assert with_key.key_id == "a0b1c2d3-0000-0000-0000-000000000001"
    password = key_credential(
        {**base, "type": "X509CertAndPassword", "usage": "Sign", "customKeyIdentifier": thumbprint}
    )
    assert password.verify_certificate is False
    unknown = key_credential({**base, "customKeyIdentifier": "team-b-key"})
    assert unknown.thumbprint is None
    timed = key_credential(
        {**base, "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00.1234567Z"}
    )
    assert (timed.start.year, timed.end.year, timed.end.microsecond) == (2026, 2027, 123456)
    assert key_credential({"type": "AsymmetricX509Cert"}) is None


@pytest.mark.parametrize(
    "schedule",
    ["0 0 3 * * *", "0 */5 * * * *", "30 15 */6 * * *", "0 0 * * * *", "0 0,30 * * * *", "0 58,3 * * * *",
     "0 0 3 * * MON-FRI", "0 0 3 1 JAN *", "5/60 0 3 * * *"],
)  # fmt: skip
def test_schedules_firing_at_most_every_five_minutes_are_accepted(schedule):
    s = load_settings({**BASE, "ENTRA_APPLICATION_OBJECT_ID": OBJECT_ID, "ROLLOVER_SCHEDULE": schedule})
    assert s.rollover_problems == ()


@pytest.mark.parametrize(
    ("value", "registered"),
    [
        (None, "0 0 3 * * *"),  # unset: daily, never a timer the host reports in error
        ("  ", "0 0 3 * * *"),
        ("0 */5 * * * *", "0 */5 * * * *"),
        ("0 30 2 * * 1-5", "0 30 2 * * 1-5"),
        ("* * * * * *", "0 0 3 * * *"),  # refused (health names it); the host still loads the app
        ("not a schedule", "0 0 3 * * *"),
    ],
)
def test_the_timer_is_registered_with_a_valid_schedule_whatever_the_setting(value, registered):
    from shared.settings import timer_schedule

    assert timer_schedule({} if value is None else {"ROLLOVER_SCHEDULE": value}) == registered


def test_the_callers_detail_of_a_blocked_rollover_hides_the_certificate_name_as_a_whole_word_only():
    from shared.rollover.service import RolloverService

    service = RolloverService.__new__(RolloverService)
    service._versions = type("Versions", (), {"name": "cert"})()
    text = "Certificate 'cert' has no valid version; register version 1 of certificate 'cert' (-n cert) by hand."
    detail = service._for_caller(text)
    assert detail == (
        "The signing certificate has no valid version; register version 1 of the signing certificate "
        "(-n <KEY_VAULT_CERTIFICATE_NAME>) by hand."
    )
