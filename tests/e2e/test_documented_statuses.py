"""The error statuses the OpenAPI document promises per route, each produced once through the host.

Together with the rest of the end-to-end suite (whose every response is validated against the
document) this leaves no documented status that no test has seen, but 500 (a bug).
"""

import pytest

pytestmark = pytest.mark.e2e


def _problem(response, status, upstream):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["upstream"] == upstream


def test_graph_users_timeout_is_504(configure, emu):
    client = configure(UPSTREAM_TIMEOUT_SECONDS="0.5")
    assert client.get("graph/users", limit="1").status_code == 200  # token cached: only Graph is slow now
    emu.faults.inject("graph.users", delay=2, times=None)
    _problem(client.get("graph/users", limit="1"), 504, "graph")


def test_diagnostics_when_key_vault_refuses_to_sign_is_502(client, emu):
    emu.faults.inject("keyvault.sign", status=403, times=None)
    _problem(client.get("diagnostics"), 502, "keyvault")


def test_diagnostics_when_the_managed_identity_does_not_answer_is_504(configure, emu):
    client = configure(UPSTREAM_TIMEOUT_SECONDS="1")
    emu.faults.inject("identity.token", delay=3, times=None)
    _problem(client.get("diagnostics"), 504, "managed-identity")


def test_rollover_when_graph_does_not_answer_is_504(configure, emu):
    client = configure(UPSTREAM_TIMEOUT_SECONDS="0.5")
    emu.faults.inject("graph.get_application", delay=2, times=None)
    _problem(client.post("rollover", dryRun="true"), 504, "graph")
