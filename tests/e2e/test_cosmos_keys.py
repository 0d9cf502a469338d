"""GET /api/cosmos/{account}/keys end to end: real azure-identity / azure-keyvault SDKs over HTTPS."""

import hashlib
import logging
import re
import threading
import time

import pytest

from tests.helpers import concurrently

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.mark.parametrize("algorithm", ["PS256", "RS256"])
@pytest.mark.parametrize(
    ("key_type", "operation", "fields"),
    [
        ("readonly", "arm.readonlykeys", {"primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"}),
        (
            "readwrite",
            "arm.listKeys",
            {"primaryMasterKey", "secondaryMasterKey", "primaryReadonlyMasterKey", "secondaryReadonlyMasterKey"},
        ),
    ],
)
def test_keys_through_the_whole_chain(configure, emu, algorithm, key_type, operation, fields):
    client = configure(ASSERTION_ALGORITHM=algorithm)
    response = client.get("cosmos/cosmos-orders/keys", type=key_type)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["account"] == "cosmos-orders"
    assert body["type"] == key_type
    assert set(body) == {"account", "type"} | fields
    counters = emu.counters.snapshot()
    assert counters["keyvault.sign"] == 1
    assert counters["entra.token"] == 1
    assert counters[operation] == 1
    # The signer is built from the certificate's public key: no GET key before sign.
    assert counters["keyvault.get_key"] == 0


def test_readonly_is_the_default_type(client, emu):
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 200
    assert response.json()["type"] == "readonly"
    assert emu.counters.get("arm.readonlykeys") == 1


def test_hot_path_makes_no_key_vault_or_entra_call(configure, emu):
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")
    for _ in range(5):
        assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    counters = emu.counters.snapshot()
    assert counters["arm.readonlykeys"] == 5  # cache disabled: ARM really called each time
    assert counters["keyvault.sign"] == 1
    assert counters["keyvault.get_certificate"] == 1
    assert counters["entra.token"] == 1
    assert counters["identity.token"] == 1


def test_keys_are_reused_within_the_cache_window(client, emu):
    for _ in range(3):
        assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert emu.counters.get("arm.readonlykeys") == 1


def test_concurrent_cold_requests_share_one_refresh(configure, emu):
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")
    barrier = threading.Barrier(32)
    statuses = []

    def call():
        barrier.wait()
        statuses.append(client.get("cosmos/cosmos-orders/keys").status_code)

    threads = [threading.Thread(target=call) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 32
    assert emu.counters.get("keyvault.sign") == 1
    assert emu.counters.get("entra.token") == 1


def test_concurrent_requests_with_an_empty_key_cache_make_one_arm_call(client, emu):
    # ARM answers slowly, so all 64 requests arrive while the first one's call is in flight.
    emu.faults.inject("arm.readonlykeys", delay=0.5, times=None)
    responses = concurrently(64, lambda: client.get("cosmos/cosmos-orders/keys"))
    assert [r.status_code for r in responses] == [200] * 64
    assert emu.counters.get("arm.readonlykeys") == 1
    assert len({r.json()["primaryReadonlyMasterKey"] for r in responses}) == 1


def test_a_failed_shared_key_call_is_shared_once_and_not_cached(client, emu):
    emu.faults.inject("arm.readonlykeys", status=403, delay=0.5, times=1)
    # 4: fewer than the worker's thread pool (min(32, cores + 4)), so all four overlap the flight.
    responses = concurrently(4, lambda: client.get("cosmos/cosmos-orders/keys"))
    assert {r.status_code for r in responses} == {502}
    assert {r.json()["upstream"] for r in responses} == {"arm"}
    assert emu.counters.get("arm.readonlykeys") == 1  # the waiters did not repeat the failing call
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200  # the failure was not cached
    assert emu.counters.get("arm.readonlykeys") == 2


def test_unknown_account_is_404(client):
    body = problem(client.get("cosmos/not-served/keys"), 404)
    assert "COSMOS_ACCOUNT_IDS" in body["detail"]


@pytest.mark.parametrize("name", ["ab", "UPPER", "a" * 45, "under_score", "dot.ted"])
def test_invalid_account_name_is_400(client, name):
    problem(client.get(f"cosmos/{name}/keys"), 400)


@pytest.mark.parametrize("value", ["", "write", "READONLY"])
def test_bad_type_is_400(client, value):
    body = problem(client.get("cosmos/cosmos-orders/keys", type=value), 400)
    assert "type" in body["detail"]


def test_missing_settings_are_503_naming_them(configure, emu):
    client = configure(ENTRA_CLIENT_ID=None, KEY_VAULT_URL=None)
    body = problem(client.get("cosmos/cosmos-orders/keys"), 503)
    assert body["missing"] == ["ENTRA_CLIENT_ID", "KEY_VAULT_URL"]
    assert "upstream" not in body
    assert sum(emu.counters.snapshot().values()) == 0


def test_invalid_setting_is_503_with_the_reason(configure):
    body = problem(configure(ASSERTION_LIFETIME_SECONDS="900").get("cosmos/cosmos-orders/keys"), 503)
    assert body["missing"] == ["ASSERTION_LIFETIME_SECONDS"]
    assert "between 60 and 600" in body["detail"]


def test_unset_cosmos_accounts_is_503_naming_the_setting(configure):
    body = problem(configure(COSMOS_ACCOUNT_IDS=None).get("cosmos/cosmos-orders/keys"), 503)
    assert body["missing"] == ["COSMOS_ACCOUNT_IDS"]


def test_function_key_is_required(client):
    assert client.get("cosmos/cosmos-orders/keys", key=False).status_code == 401
    assert client.get("cosmos/cosmos-orders/keys", key=False, code="wrong").status_code == 401
    assert client.get("cosmos/cosmos-orders/keys", key=False, headers={"x-functions-key": "wrong"}).status_code == 401


def test_key_vault_rbac_denial_is_502_naming_the_role(client, emu):
    emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, "Key Vault Crypto User")
    body = problem(client.get("cosmos/cosmos-orders/keys"), 502)
    assert body["upstream"] == "keyvault"
    assert body["code"] == "ForbiddenByRbac"
    assert "Key Vault Crypto User" in body["detail"]


def test_certificate_read_denial_names_key_vault_reader(client, emu):
    emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, "Key Vault Reader")
    body = problem(client.get("cosmos/cosmos-orders/keys"), 502)
    assert (body["upstream"], body["code"]) == ("keyvault", "ForbiddenByRbac")
    assert "Key Vault Reader" in body["detail"]


def test_unregistered_certificate_is_502_with_aadsts700027(client, emu):
    der = emu.keyvault.certificate_der()
    emu.entra.unregister_certificate(der)
    body = problem(client.get("cosmos/cosmos-orders/keys"), 502)
    assert body["upstream"] == "entra"
    assert body["code"] == "AADSTS700027"
    assert hashlib.sha1(der).hexdigest().upper() in body["detail"]


def test_key_vault_429_with_retry_after_once_still_succeeds(client, emu):
    emu.faults.inject("keyvault.sign", status=429, retry_after=1, times=1)
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 200, response.text
    assert emu.counters.get("keyvault.sign") == 2


def test_key_vault_429_without_retry_after_is_retried_too(client, emu):
    emu.faults.inject("keyvault.sign", status=429, times=1)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert emu.counters.get("keyvault.sign") == 2


def test_arm_throttling_after_retries_is_503_with_retry_after(client, emu):
    emu.faults.inject("arm.readonlykeys", status=429, retry_after=1, times=None)
    response = client.get("cosmos/cosmos-orders/keys")
    body = problem(response, 503)
    assert body["upstream"] == "arm"
    assert body["code"] == "SubscriptionRequestsThrottled"
    assert response.headers["Retry-After"] == "1"
    assert emu.counters.get("arm.readonlykeys") == 4  # first try + 3 retries


def test_retry_after_beyond_the_budget_is_not_waited_for(client, emu):
    emu.faults.inject("arm.readonlykeys", status=429, retry_after=120, times=None)
    started = time.monotonic()
    response = client.get("cosmos/cosmos-orders/keys")
    assert time.monotonic() - started < 10
    problem(response, 503)
    assert response.headers["Retry-After"] == "120"
    assert emu.counters.get("arm.readonlykeys") == 1


def test_arm_transient_5xx_is_retried(client, emu):
    emu.faults.inject("arm.readonlykeys", status=503, times=2)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert emu.counters.get("arm.readonlykeys") == 3


def test_arm_authorization_failure_names_the_role_to_grant(client, emu):
    body = problem(client.get("cosmos/cosmos-catalog/keys", type="readwrite"), 502)
    assert body["upstream"] == "arm"
    assert body["code"] == "AuthorizationFailed"
    assert "DocumentDB Account Contributor" in body["detail"]
    assert client.get("cosmos/cosmos-catalog/keys").status_code == 200  # Reader role: readonly works


def test_arm_401_for_a_cached_token_drops_it_and_retries_once(configure, emu):
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    emu.faults.inject("arm.readonlykeys", status=401, times=1)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert emu.counters.get("entra.token") == 2
    assert emu.counters.get("arm.readonlykeys") == 3


def test_managed_identity_timeout_is_504(configure, emu):
    client = configure(UPSTREAM_TIMEOUT_SECONDS="1")
    emu.faults.inject("identity.token", delay=3, times=None)
    body = problem(client.get("cosmos/cosmos-orders/keys"), 504)
    assert body["upstream"] == "managed-identity"


def test_managed_identity_refusing_connections_is_502(configure):
    client = configure(IDENTITY_ENDPOINT="http://127.0.0.1:9/msi/token")
    body = problem(client.get("cosmos/cosmos-orders/keys"), 502)
    assert body["upstream"] == "managed-identity"


def test_no_secret_reaches_a_log_line_or_an_error_body(configure, emu, caplog):
    caplog.set_level(logging.DEBUG)
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")
    ok = client.get("cosmos/cosmos-orders/keys", type="readwrite")
    assert ok.status_code == 200
    keys = [v for k, v in ok.json().items() if k.endswith("Key")]
    emu.entra.unregister_certificate(emu.keyvault.certificate_der())
    failures = [
        configure(ASSERTION_ALGORITHM="RS256").get("cosmos/cosmos-orders/keys"),
        client.get("cosmos/nope-nope/keys"),
    ]
    emu.faults.inject("arm.readonlykeys", status=401, times=None)
    failures.append(configure().get("cosmos/cosmos-orders/keys"))
    text = caplog.text + "".join(r.text + str(dict(r.headers)) for r in failures)
    assert "route=cosmos-keys status=200" in caplog.text  # the log was really captured
    assert not JWT.search(text)
    for key in keys:
        assert key not in text


def test_a_warm_success_logs_at_debug_and_a_failed_arm_call_at_info(configure, emu, caplog):
    client = configure(COSMOS_KEYS_CACHE_SECONDS="0")
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200  # cold: Key Vault, Entra at INFO
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    arm = [r for r in caplog.records if r.name == "shared.upstream" and getattr(r, "upstream", None) == "arm"]
    assert [(r.levelno, r.http_status) for r in arm] == [(logging.DEBUG, 200)]
    caplog.clear()
    emu.faults.inject("arm.readonlykeys", status=403, times=1)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 502
    arm = [r for r in caplog.records if r.name == "shared.upstream" and getattr(r, "upstream", None) == "arm"]
    assert [(r.levelno, r.http_status) for r in arm] == [(logging.INFO, 403)]
    assert any(r.name == "shared.http" and r.levelno == logging.INFO and r.http_status == 502 for r in caplog.records)


def test_64_truly_concurrent_callers_of_the_function_share_one_arm_call(client, emu):
    """The same through the function itself, without the worker's thread pool limiting concurrency."""
    import azure.functions as func

    import function_app

    function_app.app.functions_bindings = {}
    try:
        handler = next(
            f.get_user_function() for f in function_app.app.get_functions() if f.get_function_name() == "cosmos_keys"
        )
    finally:
        function_app.app.functions_bindings = {}
    assert client.get("health").status_code == 200  # settings in place; the key cache is still empty
    emu.faults.inject("arm.readonlykeys", delay=0.3, times=None)
    request = func.HttpRequest(
        method="GET",
        url="http://localhost/api/cosmos/cosmos-orders/keys",
        headers={},
        params={},
        route_params={"account": "cosmos-orders"},
        body=b"",
    )
    responses = concurrently(64, lambda: handler(request))
    assert [r.status_code for r in responses] == [200] * 64
    assert emu.counters.get("arm.readonlykeys") == 1
