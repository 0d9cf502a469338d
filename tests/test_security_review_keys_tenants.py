"""Security review of issues 16 and 17 (docs/security-review.md, "Resource keys and customer tenants"):
the findings' regression tests that need no emulator."""

from __future__ import annotations

import io

import pytest
import requests
import urllib3
from azure.core.credentials import AccessTokenInfo

from shared.downstream.client import DownstreamClient
from shared.errors import Upstream, UpstreamFailed
from shared.settings import COSMOS_ACCOUNT_IDS, RESOURCE_KEYS, load_settings

SUB = "00000000-0000-0000-0000-000000000001"
# Deeper than the JSON decoder recurses (CPython's default recursion limit is 1000).
NESTED = ("[" * 100_000 + "]" * 100_000).encode()


class _Tokens:
    def get(self, scope: str) -> AccessTokenInfo:
        return AccessTokenInfo("token", 2**31)

    def invalidate(self, scope: str, token: str, *, claims: str | None = None) -> None:
        pass


class _Answering(requests.adapters.BaseAdapter):
    """A requests transport that answers every request with one body (what a hostile upstream sends)."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        super().__init__()
        self.body = body
        self.status = status

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(self.body))}
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(self.body), headers=headers, status=self.status, preload_content=False
        )
        return requests.adapters.HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


def _arm_answering(status: int, body: bytes) -> DownstreamClient:
    """The product's ARM client; its session's transport answers ``body`` (the session's hooks still run)."""
    client = DownstreamClient(
        base_url="https://management.azure.com",
        scope="https://management.azure.com/.default",
        tokens=_Tokens(),  # type: ignore[arg-type]
        upstream=Upstream.ARM,
        timeout_seconds=5,
    )
    client._session.mount("https://", _Answering(body, status))
    return client


@pytest.mark.parametrize("status", [200, 403])
def test_an_upstream_answer_nested_too_deep_is_a_502_not_a_500(status: int) -> None:
    # Finding: json's RecursionError is no ValueError, so it escaped as a 500 from every downstream call.
    client = _arm_answering(status, NESTED)
    with pytest.raises(UpstreamFailed) as caught:
        client.request("POST", f"/subscriptions/{SUB}/listKeys", action="listKeys on the storage account 'x'")
    assert caught.value.to_problem()["status"] == 502


def _settings(**environ: str):
    return load_settings(environ)


@pytest.mark.parametrize(
    "value",
    [
        # COSMOS_ACCOUNT_IDS's looser GUID
        "/subscriptions/------------------------------------/resourceGroups/rg"
        "/providers/Microsoft.DocumentDB/databaseAccounts/orders",
        # a name its case-insensitive, Unicode-aware match accepts ("\u017f" folds to "s")
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/order\u017f",
    ],
    ids=["hyphens-subscription", "long-s-name"],
)
def test_a_cosmos_account_id_the_resource_keys_parser_refuses_is_named_not_raised(value: str) -> None:
    # Finding: load_settings ("never raises") raised UnsupportedResourceId: every route, /api/health too, a 500.
    settings = _settings(**{COSMOS_ACCOUNT_IDS: value})
    assert COSMOS_ACCOUNT_IDS in {problem.setting for problem in settings.problems}
    assert settings.resource_keys == ()


@pytest.mark.parametrize("setting", [COSMOS_ACCOUNT_IDS, RESOURCE_KEYS])
def test_a_unicode_resource_group_is_listed(setting: str) -> None:
    # ARM allows Unicode letters in resource group names; COSMOS_ACCOUNT_IDS always accepted them.
    value = f"/subscriptions/{SUB}/resourceGroups/rg-caf\u00e9/providers/Microsoft.DocumentDB/databaseAccounts/orders"
    settings = _settings(**{setting: value})
    assert setting not in {problem.setting for problem in settings.problems}
    assert [(r.name, r.resource_group) for r in settings.resource_keys] == [("orders", "rg-caf\u00e9")]


def test_an_entra_token_answer_nested_too_deep_is_a_502_not_a_500() -> None:
    # The real azure-identity credential over a transport that returns Entra's (hostile) answer.
    from azure.core.pipeline.transport import RequestsTransport
    from azure.identity import ClientAssertionCredential

    from shared.credential_chain.token_provider import TokenProvider

    session = requests.Session()
    session.mount("https://", _Answering(NESTED))
    credential = ClientAssertionCredential(
        "11111111-1111-1111-1111-111111111111",
        "22222222-2222-2222-2222-222222222222",
        lambda: "assertion",
        transport=RequestsTransport(session=session, session_owner=False),
    )
    with pytest.raises(UpstreamFailed) as caught:
        TokenProvider(credential).get("https://graph.microsoft.com/.default")
    assert caught.value.to_problem()["upstream"] == "entra"


SEARCH_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Search/searchServices/srch-catalog"
ARM = "https://management.azure.com"


@pytest.mark.parametrize(
    "link",
    [
        # the same origin, the admin keys: a read-only request must never page into full keys
        f"{ARM}{SEARCH_ID}/listAdminKeys?api-version=2025-05-01",
        f"{ARM}{SEARCH_ID}/listQueryKeys/../listAdminKeys?api-version=2025-05-01",
        f"{ARM}{SEARCH_ID}/listQueryKeys/%2E%2E/listAdminKeys?api-version=2025-05-01",
        f"https://evil.example{SEARCH_ID}/listQueryKeys?$skipToken=2",
        f"https://management.azure.com@evil.example{SEARCH_ID}/listQueryKeys",
        f"http://management.azure.com{SEARCH_ID}/listQueryKeys",
        f"//evil.example{SEARCH_ID}/listQueryKeys",
    ],
)
def test_a_forged_arm_next_link_is_refused_before_the_token_is_sent(link: str) -> None:
    import json

    from shared.downstream import ResourceKeysService
    from shared.key_kinds import KeyType, parse_resource_id

    client = _arm_answering(200, b"{}")
    sent: list[tuple[str, str | None]] = []

    def send(prepared: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        sent.append((prepared.url or "", prepared.headers.get("Authorization")))
        if prepared.method == "GET":
            body: dict[str, object] = {"properties": {}}
        else:
            body = {"value": [{"name": "q", "key": "query-key"}], "nextLink": link}
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(body).encode()
        response.encoding = "utf-8"
        return response

    client._session.send = send  # type: ignore[method-assign]
    resource = parse_resource_id(SEARCH_ID)
    service = ResourceKeysService(arm=client, resources=(resource,), cache_seconds=lambda _: 0, principal="the app")
    with pytest.raises(UpstreamFailed, match="refuses to follow"):
        service.keys(resource, KeyType.READONLY)
    assert len(sent) == 2  # the read and the first page; the link was never requested
    assert all(url.startswith(f"{ARM}{SEARCH_ID}") for url, _ in sent)
