import pytest

from shared.settings import Algorithm, CredentialMode, load_settings

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
ACCOUNT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app"
    "/providers/Microsoft.DocumentDB/databaseAccounts/orders-db"
)

BASE = {
    "ENTRA_TENANT_ID": TENANT,
    "ENTRA_CLIENT_ID": CLIENT,
    "KEY_VAULT_URL": "https://contoso-kv.vault.azure.net/",
    "KEY_VAULT_CERTIFICATE_NAME": "broker-signing",
}


def names(settings):
    return [p.setting for p in settings.problems]


def test_complete_keyvault_settings_have_public_cloud_defaults():
    s = load_settings(BASE)
    assert s.ok
    assert s.credential_mode is CredentialMode.KEYVAULT
    assert s.authority_host == "https://login.microsoftonline.com"
    assert s.token_url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert s.arm_scope == "https://management.azure.com/.default"
    assert s.graph_scope == "https://graph.microsoft.com/.default"
    assert s.assertion_algorithm is Algorithm.PS256
    assert s.assertion_lifetime_seconds == 300
    assert s.verify_challenge_resource is True
    assert s.cosmos_keys_cache_seconds == 60
    assert s.upstream_timeout_seconds == 10.0


def test_every_missing_keyvault_setting_is_reported_at_once():
    s = load_settings({})
    assert names(s) == ["ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "KEY_VAULT_URL", "KEY_VAULT_CERTIFICATE_NAME"]
    assert all(p.reason == "missing" for p in s.problems)


def test_blank_values_count_as_missing():
    s = load_settings({**BASE, "ENTRA_CLIENT_ID": "   "})
    assert names(s) == ["ENTRA_CLIENT_ID"]


@pytest.mark.parametrize(
    ("cloud", "authority", "arm", "graph"),
    [
        (
            "AzureChinaCloud",
            "https://login.chinacloudapi.cn",
            "https://management.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
        (
            "AzureUSGovernment",
            "https://login.microsoftonline.us",
            "https://management.usgovcloudapi.net",
            "https://graph.microsoft.us",
        ),
        (
            "azurepubliccloud",
            "https://login.microsoftonline.com",
            "https://management.azure.com",
            "https://graph.microsoft.com",
        ),
    ],
)
def test_cloud_picks_default_endpoints(cloud, authority, arm, graph):
    vault = {"AzureChinaCloud": "vault.azure.cn", "AzureUSGovernment": "vault.usgovcloudapi.net"}.get(
        cloud, "vault.azure.net"
    )
    s = load_settings({**BASE, "AZURE_CLOUD": cloud, "KEY_VAULT_URL": f"https://contoso-kv.{vault}/"})
    assert s.ok
    assert (s.authority_host, s.arm_endpoint, s.graph_endpoint) == (authority, arm, graph)
    assert s.arm_scope == arm + "/.default"


def test_endpoint_overrides_win_over_cloud_and_scope_is_their_origin():
    s = load_settings(
        {
            **BASE,
            "AZURE_CLOUD": "AzureUSGovernment",
            "KEY_VAULT_URL": "https://contoso-kv.vault.usgovcloudapi.net/",
            "ARM_ENDPOINT": "https://127.0.0.1:8443/",
            "GRAPH_ENDPOINT": "https://127.0.0.1:9443/some/path",
            "AZURE_AUTHORITY_HOST": "login.microsoftonline.us",
        }
    )
    assert s.ok
    assert s.arm_scope == "https://127.0.0.1:8443/.default"
    assert s.graph_scope == "https://127.0.0.1:9443/.default"
    assert s.authority_host == "https://login.microsoftonline.us"
    assert s.federation_scope == "api://AzureADTokenExchangeUSGov/.default"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ASSERTION_ALGORITHM", "ES256"),
        ("ASSERTION_LIFETIME_SECONDS", "59"),
        ("ASSERTION_LIFETIME_SECONDS", "601"),
        ("ASSERTION_LIFETIME_SECONDS", "five"),
        ("ASSERTION_SEND_X5C", "maybe"),
        ("KEY_VAULT_VERIFY_CHALLENGE_RESOURCE", "nope"),
        ("AZURE_CLOUD", "AzureGermanCloud"),
        ("CREDENTIAL_MODE", "secret"),
        ("ARM_ENDPOINT", "http://management.azure.com"),
        ("KEY_VAULT_URL", "https://contoso-kv.vault.azure.net/secrets/x"),
        ("KEY_VAULT_CERTIFICATE_VERSION", "latest"),
        ("ENTRA_CLIENT_ID", "not-a-guid"),
        ("COSMOS_ACCOUNT_IDS", "/subscriptions/x/resourceGroups/rg"),
        ("COSMOS_KEYS_CACHE_SECONDS", "-1"),
        ("UPSTREAM_TIMEOUT_SECONDS", "0"),
    ],
)
def test_invalid_values_are_problems_naming_the_setting(name, value):
    s = load_settings({**BASE, name: value})
    assert names(s) == [name]
    assert s.problems[0].reason != "missing"


def test_valid_optional_values():
    s = load_settings(
        {
            **BASE,
            "ASSERTION_ALGORITHM": "rs256",
            "ASSERTION_LIFETIME_SECONDS": "600",
            "ASSERTION_SEND_X5C": "TRUE",
            "KEY_VAULT_URL": "https://127.0.0.1:8443/",
            "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "false",
            "KEY_VAULT_CERTIFICATE_VERSION": "0123456789ABCDEF0123456789abcdef",
            "COSMOS_ACCOUNT_IDS": f" {ACCOUNT_ID} , ",
            "COSMOS_KEYS_CACHE_SECONDS": "0",
            "CALLER_AUDIENCE": "api://broker, 99999999-2222-3333-4444-555555555555",
            "UPSTREAM_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert s.ok, s.problems
    assert s.assertion_algorithm is Algorithm.RS256
    assert s.assertion_send_x5c is True
    assert s.verify_challenge_resource is False
    assert s.certificate_version == "0123456789abcdef0123456789abcdef"
    assert [a.name for a in s.cosmos_accounts] == ["orders-db"]
    assert s.cosmos_accounts[0].resource_id == ACCOUNT_ID
    assert s.caller_audiences == ("api://broker", "99999999-2222-3333-4444-555555555555")
    assert s.upstream_timeout_seconds == 2.5


def test_federated_mode_needs_a_user_assigned_identity():
    s = load_settings(
        {"CREDENTIAL_MODE": "federated-managed-identity", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT}
    )
    assert names(s) == ["AZURE_CLIENT_ID"]
    assert "user-assigned" in s.problems[0].reason


def test_federated_mode_does_not_need_key_vault():
    s = load_settings(
        {
            "CREDENTIAL_MODE": "federated-managed-identity",
            "ENTRA_TENANT_ID": TENANT,
            "ENTRA_CLIENT_ID": CLIENT,
            "AZURE_CLIENT_ID": CLIENT,
        }
    )
    assert s.ok


def test_managed_identity_mode_needs_nothing():
    s = load_settings({"CREDENTIAL_MODE": "managed-identity"})
    assert s.ok
    assert s.credential_mode is CredentialMode.MANAGED_IDENTITY


def test_caller_audience_needs_the_tenant_in_managed_identity_mode():
    s = load_settings({"CREDENTIAL_MODE": "managed-identity", "CALLER_AUDIENCE": "api://broker"})
    assert names(s) == ["ENTRA_TENANT_ID"]


def test_managed_identity_is_used_when_the_platform_provides_it():
    assert load_settings({**BASE, "IDENTITY_ENDPOINT": "http://localhost:8081/msi/token"}).use_managed_identity
    assert not load_settings(BASE).use_managed_identity


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Graph.Microsoft.com:443/v1.0/users?$top=1", "https://graph.microsoft.com"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
        ("HTTPS://management.azure.com", "https://management.azure.com"),
    ],
)
def test_origins_are_normalised_for_scopes_and_link_checks(url, expected):
    from shared.settings import origin

    assert origin(url) == expected
    assert (
        load_settings({**BASE, "GRAPH_ENDPOINT": url.replace("HTTPS", "https")}).graph_scope == expected + "/.default"
    )


# --------------------------------------------------------------------------- ENTRA_ALLOWED_TENANTS
CUSTOMER_A = "aaaaaaaa-1111-2222-3333-444444444444"
CUSTOMER_B = "BBBBBBBB-1111-2222-3333-444444444444"


def test_allowed_tenants_are_lower_case_guids_without_duplicates_or_the_home_tenant():
    s = load_settings({**BASE, "ENTRA_ALLOWED_TENANTS": f" {CUSTOMER_A}, {CUSTOMER_B},{CUSTOMER_A},{TENANT.upper()}"})
    assert s.ok
    assert s.allowed_tenants == (CUSTOMER_A, CUSTOMER_B.lower())
    assert s.token_url_for(CUSTOMER_A) == f"https://login.microsoftonline.com/{CUSTOMER_A}/oauth2/v2.0/token"
    assert s.admin_consent_url(CUSTOMER_A) == (
        f"https://login.microsoftonline.com/{CUSTOMER_A}/adminconsent?client_id={CLIENT}"
    )


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_allowed_tenants_value_means_none(value):
    s = load_settings({**BASE, "ENTRA_ALLOWED_TENANTS": value})
    assert s.ok and s.allowed_tenants == ()


@pytest.mark.parametrize(
    "value",
    [
        "contoso.onmicrosoft.com",
        f"{CUSTOMER_A},",
        f"{CUSTOMER_A},,{CUSTOMER_B}",
        f"{CUSTOMER_A};{CUSTOMER_B}",
        "aaaaaaaa-1111-2222-3333-44444444444",
        f"{CUSTOMER_A}\n",
        "common",
    ],
)
def test_invalid_allowed_tenants_are_a_problem_naming_the_setting(value):
    s = load_settings({**BASE, "ENTRA_ALLOWED_TENANTS": value})
    if value.strip() == CUSTOMER_A:  # surrounding whitespace is stripped like every setting
        assert s.ok
        return
    assert names(s) == ["ENTRA_ALLOWED_TENANTS"]
    assert s.allowed_tenants == ()


def test_allowed_tenants_in_managed_identity_mode_is_a_problem():
    s = load_settings({"CREDENTIAL_MODE": "managed-identity", "ENTRA_ALLOWED_TENANTS": CUSTOMER_A})
    assert names(s) == ["ENTRA_ALLOWED_TENANTS"]
    assert "managed-identity" in s.problems[0].reason
