"""Tokens go only to the origin they were issued for: Graph links, redirects, the vault's host.

A trap socket listens on another port of the same host; whatever the forged link, nothing may
connect to it (a connection is where a bearer token would leak).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.trap import Trap

pytestmark = pytest.mark.e2e


@pytest.fixture
def trap() -> Iterator[Trap]:
    listener = Trap()
    yield listener
    listener.close()


@pytest.fixture
def paged(client, monkeypatch):
    """The function with a Graph page size of 100, so 150 users take two pages (a nextLink)."""
    import shared.downstream.graph_users as graph_users

    monkeypatch.setattr(graph_users, "GRAPH_MAX_PAGE", 100)
    return client


def graph_authority(emu) -> str:
    return urlsplit(emu.urls["graph"]).netloc  # 127.0.0.1:PORT


# Each rewrite of the genuine link (https://127.0.0.1:G/v1.0/users?...) as a hostile Graph would send it.
FORGERIES = {
    # urllib.parse reads the host after '@'; urllib3 ends the authority at the backslash.
    "backslash-userinfo": lambda link, g, t: link.replace(g, f"127.0.0.1:{t}\\@{g}", 1),
    "userinfo": lambda link, g, t: link.replace(g, f"127.0.0.1:{t}@{g}", 1),
    "percent-encoded-backslash": lambda link, g, t: link.replace(g, f"127.0.0.1:{t}%5C@{g}", 1),
    "percent-encoded-host": lambda link, g, t: link.replace(g, f"127.0.0.1%3A{t}", 1),
    "tab-in-authority": lambda link, g, t: link.replace(g, f"127.0.0.1:{t}\t@{g}", 1),
    "newline-in-path": lambda link, g, t: link.replace("/v1.0/users", "/v1.0/users\r\nX: y", 1),
    "space-in-query": lambda link, g, t: link + " x",
    "another-port": lambda link, g, t: link.replace(g, f"127.0.0.1:{t}", 1),
    "http-scheme": lambda link, g, t: link.replace("https://", "http://", 1),
    "http-scheme-another-port": lambda link, g, t: link.replace("https://", "http://", 1).replace(
        g, f"127.0.0.1:{t}", 1
    ),
    "idn-fullwidth-host": lambda link, g, t: link.replace(
        g, f"\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{t}", 1
    ),
    "upper-case-localhost-another-port": lambda link, g, t: link.replace(g, f"LOCALHOST:{t}", 1),
    "scheme-relative-other-host": lambda link, g, t: f"//127.0.0.1:{t}/v1.0/users",
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_next_link_is_refused_and_nothing_connects_elsewhere(paged, emu, trap, forgery):
    g = graph_authority(emu)
    emu.graph.forge_next_link(lambda link: FORGERIES[forgery](link, g, trap.port))
    response = paged.get("graph/users", limit="150")
    assert response.status_code == 502, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["upstream"] == "graph"
    assert "refuses to follow" in problem["detail"]
    assert emu.counters.get("graph.users") == 1, "the forged link reached the genuine Graph"
    assert trap.connections == 0, "something connected to the trap with the Graph token"


def test_a_same_origin_link_spelled_differently_is_still_followed(paged, emu):
    # Case and an explicit default port name the same origin: the client connects where Graph is.
    emu.graph.forge_next_link(lambda link: link.replace("https://", "HTTPS://", 1))
    response = paged.get("graph/users", limit="150")
    assert response.status_code == 200, response.text[:300]
    assert response.json()["count"] == 150
    assert emu.counters.get("graph.users") == 2


def test_a_redirect_is_never_followed_with_the_token(client, emu, trap):
    emu.graph.redirect_users(f"https://127.0.0.1:{trap.port}/v1.0/users")
    response = client.get("graph/users", limit="5")
    assert response.status_code == 502, response.text[:300]
    assert response.json()["upstream"] == "graph"
    assert trap.connections == 0


def test_a_challenge_the_sdk_refuses_is_a_502_naming_key_vault(configure, emu):
    # The emulator's vault on 127.0.0.1 challenges for https://vault.azure.net: with the SDK's
    # resource check on, that challenge does not match the vault's domain.
    client = configure(KEY_VAULT_VERIFY_CHALLENGE_RESOURCE="true")
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 502, response.text[:300]
    problem = response.json()
    assert problem["upstream"] == "keyvault"
    assert "KEY_VAULT_URL" in problem["detail"]
    assert emu.counters.get("keyvault.get_certificate") == 0, "the vault got a token despite the refused challenge"


@pytest.mark.parametrize(
    "url",
    [
        "https://contoso-kv.vault.azure.net.evil.example/",
        "https://evil.example/",
        "https://contoso-kv.vault.azure.cn/",
        "https://evil\\@contoso-kv.vault.azure.net/",
        "https://user@contoso-kv.vault.azure.net/",
        "http://contoso-kv.vault.azure.net/",
        "https://contoso-kv.vault.azure.net:8443/",
    ],
)
def test_a_vault_outside_the_clouds_key_vault_domain_is_a_503_naming_the_setting(configure, emu, url):
    client = configure(KEY_VAULT_URL=url, KEY_VAULT_VERIFY_CHALLENGE_RESOURCE=None)
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 503, response.text[:300]
    assert response.json()["missing"] == ["KEY_VAULT_URL"]
    health = client.get("health", key=False).json()
    assert "KEY_VAULT_URL" in health["missing"]
    assert emu.counters.get("identity.token") == 0


def test_turning_the_challenge_check_off_for_a_real_vault_is_a_503(configure, emu):
    client = configure(KEY_VAULT_URL="https://contoso-kv.vault.azure.net/", KEY_VAULT_VERIFY_CHALLENGE_RESOURCE="false")
    response = client.get("diagnostics")
    assert response.status_code == 503
    assert response.json()["missing"] == ["KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"]


def test_an_account_name_with_a_trailing_newline_is_a_400(client, emu):
    response = client.get("cosmos/cosmos-orders%0A/keys")
    assert response.status_code == 400, response.text[:300]
    assert emu.counters.get("arm.listKeys") + emu.counters.get("arm.readonlykeys") == 0


def _same_origin(link: str, path_and_query: str) -> str:
    parts = urlsplit(link)
    return f"{parts.scheme}://{parts.netloc}{path_and_query}"


# Links on Graph's own origin that lead away from the users list (the app token would read them).
OTHER_RESOURCES = {
    "application": lambda link, app: _same_origin(link, f"/v1.0/applications/{app}?$select=id,keyCredentials"),
    "application-by-appid": lambda link, app: _same_origin(link, f"/v1.0/applications(appId='{app}')"),
    "dot-segments": lambda link, app: _same_origin(link, f"/v1.0/users/../applications/{app}"),
    "encoded-dot-segments": lambda link, app: _same_origin(link, f"/v1.0/users/%2e%2e/applications/{app}"),
    "users-sub-resource": lambda link, app: _same_origin(link, "/v1.0/users/delta"),
    "beta": lambda link, app: _same_origin(link, "/beta/users"),
}


@pytest.mark.parametrize("forgery", OTHER_RESOURCES)
def test_a_next_link_to_another_graph_resource_on_the_same_origin_is_refused(paged, emu, forgery):
    emu.graph.forge_next_link(lambda link: OTHER_RESOURCES[forgery](link, emu.seed.app_object_id))
    response = paged.get("graph/users", limit="150")
    assert response.status_code == 502, response.text[:300]
    problem = response.json()
    assert problem["upstream"] == "graph"
    assert "refuses to follow" in problem["detail"] and "/v1.0/users" in problem["detail"]
    assert emu.counters.get("graph.users") == 1
    assert emu.counters.get("graph.get_application") == 0, "the forged link read the application with the token"


# Key ids as a hostile vault could name the certificate's key: the SDK would send the vault token there.
KEY_IDS = {
    "another-port": lambda kid, v, t: kid.replace(v, f"127.0.0.1:{t}", 1),
    "localhost-another-port": lambda kid, v, t: kid.replace(v, f"localhost:{t}", 1),
    "userinfo": lambda kid, v, t: kid.replace(v, f"127.0.0.1:{t}@{v}", 1),
    "backslash-userinfo": lambda kid, v, t: kid.replace(v, f"127.0.0.1:{t}\\@{v}", 1),
    "http-scheme": lambda kid, v, t: kid.replace("https://", "http://", 1),
    "another-key-in-the-vault": lambda kid, v, t: kid.replace("/keys/", "/keys/other-key-", 1),
    "another-version": lambda kid, v, t: kid.rsplit("/", 1)[0] + "/" + "0" * 32,
    "a-secret-not-a-key": lambda kid, v, t: kid.replace("/keys/", "/secrets/", 1),
}


@pytest.mark.parametrize("forgery", KEY_IDS)
def test_a_key_id_outside_the_vault_gets_no_sign_and_no_token(client, emu, trap, forgery):
    vault = urlsplit(emu.urls["vault"]).netloc
    emu.keyvault.forge_key_id(lambda kid: KEY_IDS[forgery](kid, vault, trap.port))
    response = client.get("graph/users", limit="5")
    assert response.status_code == 502, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["upstream"] == "keyvault"
    assert "KEY_VAULT_URL" in problem["detail"]
    assert emu.counters.get("keyvault.sign") == 0
    assert trap.connections == 0, "something connected to the trap with the vault token"


def test_a_key_id_spelled_with_other_case_in_the_same_vault_still_signs(client, emu):
    emu.keyvault.forge_key_id(lambda kid: kid.replace("https://", "HTTPS://", 1).replace("/keys/", "/KEYS/", 1))
    response = client.get("graph/users", limit="5")
    assert response.status_code == 200, response.text[:300]
    assert emu.counters.get("keyvault.sign") == 1


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("AZURE_AUTHORITY_HOST", "https://login.example.test"),
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us"),  # another cloud's Entra
        ("GRAPH_ENDPOINT", "https://user@graph.microsoft.com"),
        ("ARM_ENDPOINT", "http://management.azure.com"),
    ],
)
def test_an_authority_or_endpoint_the_function_must_not_trust_is_named_by_health(configure, emu, setting, value):
    client = configure(**{setting: value})
    health = client.get("health", key=False)
    assert health.status_code == 503
    assert setting in health.json()["missing"]
    response = client.get("graph/users", limit="5")
    assert response.status_code == 503, response.text[:300]
    assert setting in response.json()["missing"]
    assert emu.counters.get("identity.token") == 0
    assert emu.counters.get("keyvault.sign") == 0
