"""GET /api/graph/users end to end, in every credential mode."""

import pytest

pytestmark = pytest.mark.e2e

MODES = ["keyvault", "federated-managed-identity", "managed-identity"]


@pytest.mark.parametrize("mode", MODES)
def test_users_with_select_in_every_mode(configure, emu, mode):
    response = configure(mode).get("graph/users", limit="5", select="id, displayName")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["count"] == 5
    assert body["truncated"] is True
    assert all(set(user) == {"id", "displayName"} for user in body["value"])


def test_default_limit_is_100(client):
    body = client.get("graph/users").json()
    assert (body["count"], body["truncated"]) == (100, True)


def test_paging_follows_next_links_across_three_pages(configure, emu, monkeypatch):
    import shared.downstream.graph_users as graph_users

    # 250 seeded users fit one page of 999: a smaller page size makes Graph page.
    monkeypatch.setattr(graph_users, "GRAPH_MAX_PAGE", 100)
    body = configure().get("graph/users", limit="300").json()
    assert body["count"] == 250
    assert body["truncated"] is False
    assert emu.counters.get("graph.users") == 3
    assert len({user["id"] for user in body["value"]}) == 250


def test_truncated_only_when_graph_has_more(configure, emu, monkeypatch):
    import shared.downstream.graph_users as graph_users

    monkeypatch.setattr(graph_users, "GRAPH_MAX_PAGE", 100)
    client = configure()
    body = client.get("graph/users", limit="200").json()
    assert (body["count"], body["truncated"]) == (200, True)
    body = client.get("graph/users", limit="249").json()
    assert (body["count"], body["truncated"]) == (249, True)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "10001"},
        {"limit": ""},
        {"limit": "ten"},
        {"limit": "-1"},
        {"select": ""},
        {"select": "id,,displayName"},
        {"select": "id;displayName"},
        {"select": "1abc"},
        {"select": "display Name"},
    ],
)
def test_bad_query_is_400_from_the_function(client, emu, params):
    response = client.get("graph/users", **params)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "upstream" not in response.json()
    assert emu.counters.get("graph.users") == 0


def test_property_graph_does_not_know_is_a_400_from_graph(client):
    response = client.get("graph/users", select="id,shoeSize")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["upstream"] == "graph"
    assert "shoeSize" in body["detail"]


def test_missing_user_read_all_is_502_naming_the_permission(client, emu):
    emu.graph.revoke_app_role(emu.seed.sp_object_id, "User.Read.All")
    response = client.get("graph/users")
    assert response.status_code == 502
    body = response.json()
    assert (body["upstream"], body["code"]) == ("graph", "Authorization_RequestDenied")
    assert "User.Read.All" in body["detail"] and "admin consent" in body["detail"]


def test_graph_throttling_is_retried_honouring_retry_after(client, emu):
    emu.faults.inject("graph.users", status=429, retry_after=1, times=1)
    assert client.get("graph/users", limit="3").status_code == 200
    assert emu.counters.get("graph.users") == 2
