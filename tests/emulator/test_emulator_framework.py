"""Shared machinery: faults, counters, reset, environment, TLS, control API and `python -m emulator`."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dotenv import dotenv_values
from emu_support import mi_token

from emulator import Emulator
from emulator.faults import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]


def mi(http, emu):
    return http.get(
        emu.identity.endpoint,
        params={"api-version": "2019-08-01", "resource": "https://vault.azure.net"},
        headers={"X-IDENTITY-HEADER": emu.identity.identity_header},
    )


def sign(http, emu, token):
    version = emu.keyvault.current_version()
    return http.post(
        f"{emu.urls['vault']}/keys/broker-signing/{version}/sign",
        params={"api-version": "2025-07-01"},
        headers={"Authorization": f"Bearer {token}"},
        json={"alg": "RS256", "value": "A" * 43},
    )


# ---------------------------------------------------------------- faults and counters


def test_fault_fifo_times_and_retry_after(http, emu):
    token = mi_token(http, emu, "https://vault.azure.net")
    emu.faults.inject("keyvault.sign", status=429, retry_after=1, times=2)
    emu.faults.inject("keyvault.sign", status=503, times=1)
    first, second, third, fourth = (sign(http, emu, token) for _ in range(4))
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.json() == {
        "error": {
            "code": "Throttled",
            "message": "Request was not processed because too many requests were received. "
            "Reason: VaultRequestTypeLimitReached",
        }
    }
    assert third.status_code == 503 and "Retry-After" not in third.headers
    assert fourth.status_code == 200
    assert emu.counters.get("keyvault.sign") == 4


def test_fault_until_cleared(http, emu):
    emu.faults.inject("identity.token", status=500, times=None)
    assert [mi(http, emu).status_code for _ in range(3)] == [500, 500, 500]
    emu.faults.clear()
    assert mi(http, emu).status_code == 200
    assert emu.counters.get("identity.token") == 4


def test_delay_only_fault_then_normal_answer(http, emu):
    emu.faults.inject("identity.token", delay=0.4)
    started = time.monotonic()
    assert mi(http, emu).status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    mi(http, emu)
    assert time.monotonic() - started < 0.4


@pytest.mark.parametrize(
    ("operation", "check"),
    [
        ("identity.token", lambda b: set(b) == {"statusCode", "message", "correlationId"} and b["statusCode"] == 429),
        ("entra.token", lambda b: b["error"] == "temporarily_unavailable" and isinstance(b["error_codes"], list)),
        ("arm.listKeys", lambda b: b["error"]["code"] == "SubscriptionRequestsThrottled"),
        ("graph.users", lambda b: b["error"]["code"] == "TooManyRequests" and "innerError" in b["error"]),
        ("keyvault.get_certificate", lambda b: b["error"]["code"] == "Throttled"),
    ],
)
def test_throttle_fault_uses_the_surface_error_shape(http, emu, operation, check):
    emu.faults.inject(operation, status=429, retry_after=0)
    urls, seed = emu.urls, emu.seed
    token = mi_token(http, emu, "https://vault.azure.net") if operation.startswith("keyvault") else "x"
    emu.counters.clear()
    request = {
        "identity.token": lambda: mi(http, emu),
        "entra.token": lambda: http.post(f"{urls['login']}/{seed.tenant_id}/oauth2/v2.0/token", data={}),
        "arm.listKeys": lambda: http.post(urls["management"] + seed.cosmos_account_id("cosmos-orders") + "/listKeys"),
        "graph.users": lambda: http.get(urls["graph"] + "/v1.0/users"),
        "keyvault.get_certificate": lambda: http.get(
            urls["vault"] + "/certificates/broker-signing/",
            params={"api-version": "7.4"},
            headers={"Authorization": f"Bearer {token}"},
        ),
    }[operation]
    response = request()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0"
    assert check(response.json()), response.text
    assert emu.counters.get(operation) == 1


def test_challenge_is_counted_apart_from_the_operation(http, emu):
    http.get(emu.urls["vault"] + "/certificates/broker-signing/", params={"api-version": "7.4"})
    assert emu.counters.get("keyvault.challenge") == 1
    assert emu.counters.get("keyvault.get_certificate") == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"operation": "keyvault.nope", "status": 429},
        {"operation": "keyvault.sign"},
        {"operation": "keyvault.sign", "status": 200},
        {"operation": "keyvault.sign", "status": 429, "retry_after": 1.5},
        {"operation": "keyvault.sign", "status": 429, "times": 0},
    ],
)
def test_invalid_faults_are_refused(emu, kwargs):
    operation = kwargs.pop("operation")
    with pytest.raises(ValueError):
        emu.faults.inject(operation, **kwargs)


def test_snapshot_lists_every_operation(emu):
    assert set(emu.counters.snapshot()) == set(OPERATIONS)
    assert sum(emu.counters.snapshot().values()) == 0


def test_reset_restores_seed_state_and_keeps_ports(http, emu):
    urls = emu.urls
    seed_version = emu.keyvault.current_version()
    emu.keyvault.rotate_certificate()
    emu.keyvault.revoke_role(emu.seed.system_mi_principal_id, "Key Vault Reader")
    emu.graph.revoke_app_role(emu.seed.sp_object_id, "User.Read.All")
    emu.faults.inject("identity.token", status=500, times=None)
    mi(http, emu)
    emu.reset()
    assert emu.urls == urls
    assert emu.keyvault.versions() == [seed_version]
    assert emu.keyvault.role_assignments[emu.seed.system_mi_principal_id] == {
        "Key Vault Crypto User",
        "Key Vault Reader",
    }
    assert emu.graph.app_roles(emu.seed.sp_object_id) == ["Application.Read.All", "User.Read.All"]
    assert emu.faults.pending() == {}
    assert sum(emu.counters.snapshot().values()) == 0
    assert mi(http, emu).status_code == 200


# ---------------------------------------------------------------- environment and TLS


def test_env_for_each_mode(emu):
    env = emu.env
    assert env["IDENTITY_ENDPOINT"] == emu.urls["identity"] + "/msi/token"
    assert env["KEY_VAULT_URL"] == emu.urls["vault"] + "/"
    assert env["KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"] == "false"
    assert env["AZURE_AUTHORITY_HOST"] == emu.urls["login"]
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == emu.ca_bundle
    assert env["COSMOS_ACCOUNT_IDS"].split(",") == [
        emu.seed.cosmos_account_id("cosmos-orders"),
        emu.seed.cosmos_account_id("cosmos-catalog"),
    ]
    assert "CREDENTIAL_MODE" not in env
    federated = emu.env_for("federated-managed-identity")
    assert federated["CREDENTIAL_MODE"] == "federated-managed-identity"
    assert federated["AZURE_CLIENT_ID"] == emu.seed.user_mi_client_id
    managed = emu.env_for("managed-identity")
    assert managed["CREDENTIAL_MODE"] == "managed-identity"
    assert not {k for k in managed if k.startswith(("ENTRA_", "KEY_VAULT_"))}
    with pytest.raises(ValueError):
        emu.env_for("secret")


def test_servers_bind_loopback_only_with_the_emulator_ca(emu):
    for url in emu.urls.values():
        host, port = url.removeprefix("https://").split(":")
        assert host == "127.0.0.1"
        for name in ("127.0.0.1", "localhost"):
            context = ssl.create_default_context(cafile=emu.ca_bundle)
            with (
                socket.create_connection(("127.0.0.1", int(port)), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname=name) as tls,
            ):
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert "PRIVATE KEY" not in Path(emu.ca_bundle).read_text()


def test_a_client_that_never_handshakes_does_not_block_others(http, emu):
    port = int(emu.urls["identity"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        assert mi(http, emu).status_code == 200


# ---------------------------------------------------------------- control API


def test_control_api(http, emu):
    control = emu.urls["control"]
    assert http.get(control + "/_emulator/env").json() == emu.env
    assert http.get(control + "/_emulator/env", params={"mode": "managed-identity"}).json()["CREDENTIAL_MODE"] == (
        "managed-identity"
    )
    created = http.post(control + "/_emulator/faults", json={"operation": "identity.token", "status": 503, "times": 1})
    assert created.status_code == 201
    assert mi(http, emu).status_code == 503
    assert http.get(control + "/_emulator/counters").json()["identity.token"] == 1
    http.post(control + "/_emulator/faults", json={"operation": "identity.token", "status": 503, "times": None})
    assert http.delete(control + "/_emulator/faults").status_code == 204
    assert mi(http, emu).status_code == 200
    token = http.post(control + "/_emulator/caller-token", json={"audience": "api://x", "roles": ["Users.Read"]})
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    assert token.json()["token_type"] == "Bearer"
    assert http.post(control + "/_emulator/faults", json={"operation": "nope", "status": 500}).status_code == 400
    assert http.post(control + "/_emulator/reset").status_code == 204
    assert emu.counters.get("identity.token") == 0


# ---------------------------------------------------------------- python -m emulator


def test_python_dash_m_emulator_starts_prints_env_and_stops(tmp_path):
    env_file = tmp_path / "out.env"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--state-dir", str(tmp_path / "state"), "--env-file", str(env_file)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        while not any(line.startswith("# written to") for line in lines):
            line = process.stdout.readline()
            assert line, "emulator exited early"
            lines.append(line)
        # Both in the quoted dotenv form (emulator/env_file.py), read as python-dotenv reads it.
        printed = dotenv_values(stream=io.StringIO("".join(line for line in lines if not line.startswith("#"))))
        written = dotenv_values(env_file)
        assert printed == written
        assert written["KEY_VAULT_CERTIFICATE_NAME"] == "broker-signing"
        ca = written["REQUESTS_CA_BUNDLE"]
        assert Path(ca).is_file()
        context = ssl.create_default_context(cafile=ca)
        port = int(written["IDENTITY_ENDPOINT"].split(":")[2].split("/")[0])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "# emulator stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_context_manager_and_idempotent_start(tmp_path):
    with Emulator(state_dir=tmp_path) as emulator:
        urls = emulator.urls
        assert emulator.start().urls == urls
        counters = json.dumps(emulator.counters.snapshot())
        assert json.loads(counters)["identity.token"] == 0
    with pytest.raises(RuntimeError):
        _ = emulator.urls


def test_concurrent_requests_are_counted_exactly(http, emu):
    from concurrent.futures import ThreadPoolExecutor

    token = mi_token(http, emu, "https://vault.azure.net")
    emu.counters.clear()
    emu.faults.inject("keyvault.sign", status=429, times=5)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: sign(http, emu, token).status_code, range(24)))
    assert statuses.count(429) == 5 and statuses.count(200) == 19
    assert emu.counters.get("keyvault.sign") == 24
