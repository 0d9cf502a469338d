"""Microsoft Graph GET /v1.0/users (AZURE-PROTOCOLS.md 6 and 9.10)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from emu_support import app_token, error_of, mi_token

SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def graph_token(http, emu, registered):
    return app_token(http, emu, registered, SCOPE)


def users(http, emu, token, params=None, url=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http.get(url or emu.urls["graph"] + "/v1.0/users", params=params, headers=headers)


def assert_graph_error(response, status, code):
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    assert "innererror" not in error
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", error["innerError"]["date"])
    return error["message"]


def test_default_page_and_paging_to_the_end(http, emu, graph_token):
    first = users(http, emu, graph_token)
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")
    body = first.json()
    assert body["@odata.context"] == f"{emu.urls['graph']}/v1.0/$metadata#users"
    assert len(body["value"]) == 100
    assert set(body["value"][0]) == {
        "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
        "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
    }  # fmt: skip
    seen = [u["id"] for u in body["value"]]
    pages = 1
    while "@odata.nextLink" in body:
        assert body["@odata.nextLink"].startswith(emu.urls["graph"] + "/v1.0/users?")
        body = users(http, emu, graph_token, url=body["@odata.nextLink"]).json()
        seen += [u["id"] for u in body["value"]]
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 250
    assert emu.counters.get("graph.users") == 3


def test_select_and_top_are_kept_in_next_link(http, emu, graph_token):
    body = users(http, emu, graph_token, {"$select": "id,displayName", "$top": "50"}).json()
    assert body["@odata.context"] == f"{emu.urls['graph']}/v1.0/$metadata#users(id,displayName)"
    assert all(set(user) == {"id", "displayName"} for user in body["value"])
    assert len(body["value"]) == 50
    link = urlsplit(body["@odata.nextLink"])
    query = parse_qs(link.query)
    assert query["$select"] == ["id,displayName"] and query["$top"] == ["50"] and query["$skiptoken"][0]
    assert "id,displayName" in body["@odata.nextLink"]  # not percent-encoded, as Graph sends it
    second = users(http, emu, graph_token, url=body["@odata.nextLink"]).json()
    assert set(second["value"][0]) == {"id", "displayName"}
    assert second["value"][0]["id"] not in {u["id"] for u in body["value"]}


def test_top_999_is_one_page(http, emu, graph_token):
    body = users(http, emu, graph_token, {"$top": "999"}).json()
    assert len(body["value"]) == 250 and "@odata.nextLink" not in body


@pytest.mark.parametrize("top", ["1000", "0", "-1", "abc"])
def test_top_out_of_range(http, emu, graph_token, top):
    message = assert_graph_error(users(http, emu, graph_token, {"$top": top}), 400, "Request_UnsupportedQuery")
    assert message == f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."


def test_unknown_select_property(http, emu, graph_token):
    message = assert_graph_error(users(http, emu, graph_token, {"$select": "id,foo"}), 400, "Request_BadRequest")
    assert message == "Could not find a property named 'foo' on type 'microsoft.graph.user'."


def test_single_user_property_in_a_list_is_501(http, emu, graph_token):
    assert_graph_error(users(http, emu, graph_token, {"$select": "aboutMe"}), 501, "NotImplemented")


def test_query_argument_without_dollar(http, emu, graph_token):
    message = assert_graph_error(users(http, emu, graph_token, {"select": "id"}), 400, "Request_BadRequest")
    assert message == "Unrecognized query argument specified: 'select'."


def test_403_without_a_user_read_permission(http, emu, registered):
    emu.graph.revoke_app_role(emu.seed.sp_object_id, "User.Read.All")
    token = app_token(http, emu, registered, SCOPE)
    response = users(http, emu, token, **{"client-request-id": "c0ffee00-0000-0000-0000-000000000000"})
    message = assert_graph_error(response, 403, "Authorization_RequestDenied")
    assert message == "Insufficient privileges to complete the operation."
    assert error_of(response)["innerError"]["client-request-id"] == "c0ffee00-0000-0000-0000-000000000000"


def test_directory_read_all_also_reads_users(http, emu):
    principal = emu.seed.user_mi_principal_id
    emu.graph.grant_app_role(principal, "Directory.Read.All")
    token = mi_token(http, emu, "https://graph.microsoft.com", client_id=emu.seed.user_mi_client_id)
    assert users(http, emu, token).status_code == 200


@pytest.mark.parametrize("case", ["missing", "wrong-audience", "expired"])
def test_401s(http, emu, case):
    token = {
        "missing": None,
        "wrong-audience": mi_token(http, emu, "https://management.azure.com"),
        "expired": emu.entra.mint_caller_token(
            audience="https://graph.microsoft.com", issuer="v1", roles=["User.Read.All"], expires_in=-3600
        ),
    }[case]
    response = users(http, emu, token)
    assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm=""')


def test_test_hooks_forge_next_links_and_redirect_until_cleared(http, emu, graph_token):
    emu.graph.forge_next_link(lambda link: link.replace("https://", "https://evil.example\\@", 1))
    body = users(http, emu, graph_token, params={"$top": "5"}).json()
    assert body["@odata.nextLink"].startswith("https://evil.example\\@")
    emu.graph.redirect_users("https://evil.example/v1.0/users")
    redirected = http.get(
        emu.urls["graph"] + "/v1.0/users", headers={"Authorization": f"Bearer {graph_token}"}, allow_redirects=False
    )
    assert redirected.status_code == 302 and redirected.headers["Location"] == "https://evil.example/v1.0/users"
    emu.graph.redirect_users(None)
    emu.graph.forge_next_link(None)
    body = users(http, emu, graph_token, params={"$top": "5"}).json()
    assert body["@odata.nextLink"].startswith(emu.urls["graph"])
