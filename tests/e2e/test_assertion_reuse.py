"""One signed client assertion serves every token request to its tenant (SPEC "Behaviour that users rely on")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.e2e


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}


def test_a_second_scope_costs_one_entra_round_trip_and_no_key_vault_call(client, emu):
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200  # cold: ARM's token
    after_arm = emu.counters.snapshot()
    assert after_arm["keyvault.sign"] == 1 and after_arm["keyvault.get_certificate"] == 1
    assert client.get("graph/users", limit="1").status_code == 200  # Graph's token: the same assertion
    assert delta(after_arm, emu.counters.snapshot()) == {"entra.token": 1, "graph.users": 1}
    assert emu.counters.get("keyvault.sign") == 1 and emu.counters.get("keyvault.get_certificate") == 1


def test_concurrent_cold_requests_for_two_scopes_share_one_signature(client, emu):
    paths = ["cosmos/cosmos-orders/keys", "graph/users"] * 8
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda path: client.get(path, limit="1").status_code, paths))
    assert statuses == [200] * 16
    assert emu.counters.get("keyvault.sign") == 1
    assert emu.counters.get("keyvault.get_certificate") == 1
    assert emu.counters.get("entra.token") == 2


def test_an_assertion_entra_refuses_is_replaced_by_one_signed_from_a_fresh_read(client, emu):
    first = emu.keyvault.current_version()
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200  # assertion signed by `first`
    # A rollover elsewhere: the new version registered, the old one retired from the app.
    second = emu.keyvault.rotate_certificate(register=True)
    emu.entra.unregister_certificate(emu.keyvault.certificate_der(first))
    before = emu.counters.snapshot()
    response = client.get("graph/users", limit="1")
    assert response.status_code == 200, response.text
    # The reused assertion was refused (AADSTS700027) and dropped; the next was built from a fresh
    # certificate read (the new version) and signed once more.
    assert delta(before, emu.counters.snapshot()) == {
        "entra.token": 2,
        "keyvault.get_certificate": 1,
        "keyvault.sign": 1,
        "graph.users": 1,
    }
    assert client.get("diagnostics").json()["certificate"]["version"] == second


def test_with_the_minimum_lifetime_every_token_request_signs(configure, emu):
    client = configure(ASSERTION_LIFETIME_SECONDS="60")
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert client.get("graph/users", limit="1").status_code == 200
    assert emu.counters.get("keyvault.sign") == 2


def test_after_the_rollover_proves_a_renewal_the_next_token_is_signed_by_it(client, emu):
    first = emu.keyvault.current_version()
    second = emu.keyvault.rotate_certificate(register=False, publish=False)
    assert client.get("cosmos/cosmos-orders/keys").status_code == 200  # falls back: assertion signed by `first`
    report = client.post("rollover").json()
    assert report["successorToken"] == {"version": second, "obtained": True}
    # Graph (which the rollover itself called) revokes its cached token: the next request needs a new one.
    emu.faults.inject("graph.users", status=401, times=1)
    before = emu.counters.snapshot()
    assert client.get("graph/users", limit="1").status_code == 200
    # The assertion kept from before the renewal was proven is not reused: the new token's assertion
    # is signed by the renewal at once (otherwise the fallback's assertion would serve minutes more).
    changes = delta(before, emu.counters.snapshot())
    assert (changes.get("keyvault.sign"), changes.get("entra.token")) == (1, 1)
    certificate = client.get("diagnostics").json()["certificate"]
    assert (certificate["version"], certificate["fallback"]) == (second, False)
    assert first != second
