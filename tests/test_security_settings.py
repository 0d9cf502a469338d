"""Settings that decide where tokens go and whether callers need one; URL origins as urllib3 sees them."""

import pytest

from shared.downstream.graph_users import parse_limit, parse_select
from shared.errors import BadRequest
from shared.key_kinds.cosmos_account import is_valid_account_name, parse_cosmos_account_id
from shared.settings import load_settings
from shared.upstream.origins import UnsafeUrl, connection_origin

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BASE = {
    "ENTRA_TENANT_ID": TENANT,
    "ENTRA_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "KEY_VAULT_URL": "https://contoso-kv.vault.azure.net/",
    "KEY_VAULT_CERTIFICATE_NAME": "broker-signing",
}


def names(settings):
    return [p.setting for p in settings.problems]


# --------------------------------------------------------------------------- CALLER_AUDIENCE
def test_unset_caller_audience_means_function_keys_only():
    s = load_settings(BASE)
    assert s.ok and s.caller_auth is False and s.caller_audiences == ()


@pytest.mark.parametrize("value", ["", "   ", ",", " , ", ",,", "api://broker,", ",api://broker", "a,,b"])
def test_a_caller_audience_naming_no_audience_or_an_empty_item_is_a_problem(value):
    s = load_settings({**BASE, "CALLER_AUDIENCE": value})
    assert names(s) == ["CALLER_AUDIENCE"]
    assert s.caller_auth is True  # set is set: never "caller auth off"


def test_caller_audiences_are_trimmed_and_deduplicated():
    s = load_settings({**BASE, "CALLER_AUDIENCE": " api://broker , 99999999-2222-3333-4444-555555555555,api://broker"})
    assert s.ok
    assert s.caller_audiences == ("api://broker", "99999999-2222-3333-4444-555555555555")


# --------------------------------------------------------------------------- KEY_VAULT_URL
@pytest.mark.parametrize(
    ("cloud", "url", "expected"),
    [
        (None, "https://contoso-kv.vault.azure.net", "https://contoso-kv.vault.azure.net/"),
        (None, "https://Contoso-KV.Vault.Azure.Net:443/", "https://contoso-kv.vault.azure.net/"),
        (None, "https://contoso-hsm.managedhsm.azure.net/", "https://contoso-hsm.managedhsm.azure.net/"),
        ("AzureChinaCloud", "https://contoso-kv.vault.azure.cn/", "https://contoso-kv.vault.azure.cn/"),
        ("AzureChinaCloud", "https://contoso-hsm.managedhsm.azure.cn/", "https://contoso-hsm.managedhsm.azure.cn/"),
        (
            "AzureUSGovernment",
            "https://contoso-kv.vault.usgovcloudapi.net/",
            "https://contoso-kv.vault.usgovcloudapi.net/",
        ),
        (
            "AzureUSGovernment",
            "https://contoso-hsm.managedhsm.usgovcloudapi.net/",
            "https://contoso-hsm.managedhsm.usgovcloudapi.net/",
        ),
        (None, "https://127.0.0.1:8443/", "https://127.0.0.1:8443/"),
        (None, "https://localhost:8443", "https://localhost:8443/"),
        (None, "https://[::1]:8443/", "https://[::1]:8443/"),
    ],
)
def test_vaults_in_the_clouds_domain_or_on_loopback_are_accepted(cloud, url, expected):
    env = {**BASE, "KEY_VAULT_URL": url}
    if cloud:
        env["AZURE_CLOUD"] = cloud
    s = load_settings(env)
    assert s.ok, s.problems
    assert s.key_vault_url == expected


@pytest.mark.parametrize(
    ("cloud", "url"),
    [
        (None, "https://evil.example/"),
        (None, "https://contoso-kv.vault.azure.net.evil.example/"),
        (None, "https://evil.example/contoso-kv.vault.azure.net/"),
        (None, "https://vault.azure.net/"),
        (None, "https://a.b.vault.azure.net/"),
        (None, "https://-kv.vault.azure.net/"),
        (None, "https://contoso-kv.vault.azure.cn/"),  # another cloud's vault
        ("AzureChinaCloud", "https://contoso-kv.vault.azure.net/"),
        ("AzureUSGovernment", "https://contoso-kv.vault.azure.cn/"),
        (None, "http://contoso-kv.vault.azure.net/"),
        (None, "https://user@contoso-kv.vault.azure.net/"),
        (None, "https://evil.example\\@contoso-kv.vault.azure.net/"),
        (None, "https://evil.example%5C@contoso-kv.vault.azure.net/"),
        (None, "https://contoso-kv.vault.azure.net:8443/"),
        (None, "https://contoso-kv.vault.azure.net/?x=1"),
        (None, "https://contoso-kv.vault.azure.net/#x"),
        (None, "https://contoso-kv.vault.azure.net\t/"),
        (None, "https://127.0.0.2.nip.io/"),
        (None, "https://10.0.0.4/"),
    ],
)
def test_vaults_outside_the_clouds_key_vault_domain_are_refused(cloud, url):
    env = {**BASE, "KEY_VAULT_URL": url}
    if cloud:
        env["AZURE_CLOUD"] = cloud
    s = load_settings(env)
    assert names(s) == ["KEY_VAULT_URL"], s.problems


def test_turning_the_challenge_check_off_is_refused_for_a_real_vault():
    s = load_settings({**BASE, "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "false"})
    assert names(s) == ["KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"]
    assert "loopback" in s.problems[0].reason


@pytest.mark.parametrize("host", ["127.0.0.1:8443", "localhost:1234", "[::1]:8443"])
def test_turning_the_challenge_check_off_is_allowed_for_an_emulator_on_loopback(host):
    s = load_settings({**BASE, "KEY_VAULT_URL": f"https://{host}/", "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "false"})
    assert s.ok, s.problems
    assert s.verify_challenge_resource is False


# --------------------------------------------------------------------------- fullmatch
@pytest.mark.parametrize("name", ["orders\n", "orders\r\n", "or", "Orders", "orders/x", "ord ers"])
def test_account_names_are_matched_whole(name):
    assert not is_valid_account_name(name)


def test_resource_ids_are_matched_whole():
    good = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
        "/providers/Microsoft.DocumentDB/databaseAccounts/orders"
    )
    assert parse_cosmos_account_id(good) is not None
    assert parse_cosmos_account_id(good + "/x") is None
    assert parse_cosmos_account_id("x" + good) is None


@pytest.mark.parametrize("value", ["5\n6x", "5\nx", "55\n5"])
def test_limit_is_matched_whole(value):
    with pytest.raises(BadRequest):
        parse_limit(value)


def test_select_items_are_matched_whole():
    with pytest.raises(BadRequest):
        parse_select("id,display\nName")


@pytest.mark.parametrize("tenant", ["contoso.onmicrosoft.com\n", "bad tenant", "contoso/x"])
def test_tenant_ids_are_matched_whole(tenant):
    # raw values are trimmed first, so the newline must be inside the value to matter
    s = load_settings({**BASE, "ENTRA_TENANT_ID": tenant.replace("\n", "\nx")})
    assert names(s) == ["ENTRA_TENANT_ID"]


# --------------------------------------------------------------------------- origins
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://graph.microsoft.com/v1.0/users?$skiptoken=abc", "https://graph.microsoft.com"),
        ("HTTPS://Graph.Microsoft.COM:443/v1.0/users", "https://graph.microsoft.com"),
        ("https://127.0.0.1:8443/x", "https://127.0.0.1:8443"),
        ("https://[::1]:8443/x", "https://[::1]:8443"),
    ],
)
def test_connection_origin_is_where_urllib3_connects(url, expected):
    assert connection_origin(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@graph.microsoft.com/v1.0/users",
        "https://evil.example@graph.microsoft.com/v1.0/users",
        "https://evil.example%5C@graph.microsoft.com/v1.0/users",
        "https://graph.microsoft.com%2F@evil.example/",
        "https://evil.example%2Egraph.microsoft.com/",
        "https://graph.microsoft.com\t/v1.0/users",
        "https://graph.microsoft.com/v1.0/users\r\nHost: evil",
        "https://graph.microsoft.com/v1.0/users x",
        "https://gr\u00e4ph.microsoft.com/v1.0/users",
        "https://graph.microsoft.com\uff0fevil/",
        "https://graph.microsoft.com:99999/",
        "https://graph.microsoft.com\x00.evil.example/",
    ],
)
def test_links_that_could_connect_elsewhere_are_unsafe(url):
    with pytest.raises(UnsafeUrl):
        connection_origin(url)


# --------------------------------------------------------------------------- AZURE_AUTHORITY_HOST
@pytest.mark.parametrize(
    ("cloud", "value", "expected"),
    [
        (None, "login.microsoftonline.com", "https://login.microsoftonline.com"),
        (None, "https://LOGIN.microsoftonline.com/", "https://login.microsoftonline.com"),
        (None, "https://login.microsoftonline.com:443", "https://login.microsoftonline.com"),
        ("AzureUSGovernment", "https://login.microsoftonline.us", "https://login.microsoftonline.us"),
        ("AzureChinaCloud", "https://login.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
        ("AzureChinaCloud", "login.partner.microsoftonline.cn", "https://login.partner.microsoftonline.cn"),
        (None, "https://127.0.0.1:8443", "https://127.0.0.1:8443"),
        (None, "https://localhost:8443/", "https://localhost:8443"),
        (None, "https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_the_clouds_authority_or_a_loopback_emulator_is_accepted(cloud, value, expected):
    env = {**BASE, "AZURE_AUTHORITY_HOST": value}
    if cloud:
        vault_domain = {"AzureUSGovernment": "vault.usgovcloudapi.net", "AzureChinaCloud": "vault.azure.cn"}[cloud]
        env.update(AZURE_CLOUD=cloud, KEY_VAULT_URL=f"https://contoso-kv.{vault_domain}/")
    s = load_settings(env)
    assert s.ok, s.problems
    assert s.authority_host == expected
    assert s.token_url == f"{expected}/{TENANT}/oauth2/v2.0/token"


@pytest.mark.parametrize(
    ("cloud", "value"),
    [
        (None, "https://login.example.test"),
        (None, "https://login.microsoftonline.com.evil.example"),
        (None, "https://evil.example/login.microsoftonline.com"),
        (None, "https://login.microsoftonline.us"),  # another cloud's authority
        ("AzureUSGovernment", "https://login.microsoftonline.com"),
        (None, "http://login.microsoftonline.com"),
        (None, "https://login.microsoftonline.com:8443"),
        (None, "https://user@login.microsoftonline.com"),
        (None, "https://evil.example\\@login.microsoftonline.com"),
        (None, "https://login.microsoftonline.com/contoso"),
        (None, "https://login.microsoftonline.com/?x=1"),
        (None, "https://login.microsoftonline.com#x"),
        (None, "https://10.0.0.5"),  # private, not loopback
    ],
)
def test_any_other_authority_host_is_a_problem_naming_the_setting(cloud, value):
    env = {**BASE, "AZURE_AUTHORITY_HOST": value}
    if cloud:
        env.update(AZURE_CLOUD=cloud, KEY_VAULT_URL="https://contoso-kv.vault.usgovcloudapi.net/")
    s = load_settings(env)
    assert names(s) == ["AZURE_AUTHORITY_HOST"]
    assert "authority" in s.problems[0].reason


# --------------------------------------------------------------------------- ARM_ENDPOINT / GRAPH_ENDPOINT
@pytest.mark.parametrize("name", ["ARM_ENDPOINT", "GRAPH_ENDPOINT"])
@pytest.mark.parametrize(
    "value",
    [
        "http://graph.microsoft.com",
        "https://user:pw@graph.microsoft.com",
        "https://evil.example\\@graph.microsoft.com",
        "https://graph.microsoft.com/?x=1",
        "https://graph.microsoft.com/#x",
        "https://graph.micro soft.com",
        "ftp://graph.microsoft.com",
    ],
)
def test_an_endpoint_override_that_is_not_a_plain_https_url_is_a_problem(name, value):
    s = load_settings({**BASE, name: value})
    assert names(s) == [name]


@pytest.mark.parametrize("name", ["ARM_ENDPOINT", "GRAPH_ENDPOINT"])
def test_an_endpoint_override_on_another_https_host_is_allowed_as_spec_says(name):
    s = load_settings({**BASE, name: "https://graph.example.sovereign/"})
    assert s.ok
