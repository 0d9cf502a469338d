"""App settings cover SPEC; no shared-key or local-auth switch is left on; the app is hardened."""

from __future__ import annotations

import re

from . import bicep

# SPEC "Settings", all of them.
SPEC_SETTINGS = (
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "KEY_VAULT_URL",
    "KEY_VAULT_CERTIFICATE_NAME",
    "KEY_VAULT_CERTIFICATE_VERSION",
    "AZURE_CLIENT_ID",
    "AZURE_AUTHORITY_HOST",
    "AZURE_CLOUD",
    "ARM_ENDPOINT",
    "GRAPH_ENDPOINT",
    "ASSERTION_ALGORITHM",
    "ASSERTION_SEND_X5C",
    "ASSERTION_LIFETIME_SECONDS",
    "COSMOS_ACCOUNT_IDS",
    "COSMOS_KEYS_CACHE_SECONDS",
    "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
    "CALLER_AUDIENCE",
    "CREDENTIAL_MODE",
    "UPSTREAM_TIMEOUT_SECONDS",
    "ENTRA_APPLICATION_OBJECT_ID",
    "ROLLOVER_SCHEDULE",
    "ROLLOVER_GRACE_DAYS",
    "ENTRA_ALLOWED_TENANTS",
)
# Needed by the default (keyvault) mode and the Cosmos route: always set, unconditionally.
ALWAYS_SET = (
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "KEY_VAULT_URL",
    "KEY_VAULT_CERTIFICATE_NAME",
    "COSMOS_ACCOUNT_IDS",
    "CREDENTIAL_MODE",
)


def _main_vars() -> dict:
    return bicep.template("main.bicep")["variables"]


def test_required_settings_are_always_set() -> None:
    always = set(_main_vars()["productSettings"]["value"])
    missing = [s for s in ALWAYS_SET if s not in always]
    assert not missing, f"main.bicep productSettings lacks {missing}"


def test_every_spec_setting_is_known_to_the_deployment() -> None:
    variables = _main_vars()
    keys = set(variables["productSettings"]["value"])
    keys |= set(re.findall(r"\b([A-Z][A-Z0-9_]+):", bicep.text(variables["optionalSettings"]["value"])))
    missing = [s for s in SPEC_SETTINGS if s not in keys]
    assert not missing, f"settings not set by the deployment: {missing}"
    extra = {k for k in variables["productSettings"]["value"] if k not in SPEC_SETTINGS}
    assert not extra, f"productSettings has names SPEC does not know: {extra}"


def test_settings_reach_the_function_app() -> None:
    main = bicep.template("main.bicep")
    assert bicep.text(main["modules"]["api"]["config"]["params"]["productSettings"]) == (
        "union(productSettings, optionalSettings)"
    )
    api = bicep.template("app/api.bicep")
    app_settings = bicep.config(api["resources"]["appSettings"])
    assert app_settings["name"] == "appsettings"
    assert "productSettings" in bicep.text(app_settings["properties"])


def test_cloud_endpoints_come_from_environment() -> None:
    variables = _main_vars()
    assert "environment().authentication.loginEndpoint" in bicep.text(variables["loginEndpoint"]["value"])
    assert "environment().resourceManager" in bicep.text(variables["resourceManager"]["value"])
    assert "environment().name" in bicep.text(variables["azureCloud"]["value"])


def test_host_storage_is_identity_based() -> None:
    api = bicep.template("app/api.bicep")
    host = api["variables"]["hostStorageSettings"]["value"]
    assert "AzureWebJobsStorage__accountName" in host
    assert host["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "AzureWebJobsStorage" not in host, "a connection string would need a shared key"
    assert "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" in host
    for path in bicep.bicep_files():
        code = bicep.strip_comments(path.read_text(encoding="utf-8"))
        assert "AccountKey=" not in code and "listKeys(" not in code, f"{path.name} handles keys"


def test_no_shared_key_or_local_auth_switch_on() -> None:
    storage = bicep.config(bicep.template("app/storage.bicep")["resources"]["storage"])["properties"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    monitoring = bicep.template("app/monitoring.bicep")["resources"]
    assert bicep.config(monitoring["applicationInsights"])["properties"]["DisableLocalAuth"] is True
    assert bicep.config(monitoring["logAnalytics"])["properties"]["features"]["disableLocalAuth"] is True
    vault = bicep.config(bicep.template("app/keyvault.bicep")["resources"]["vault"])["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True
    assert vault["enablePurgeProtection"] is True
    assert bicep.text(vault["publicNetworkAccess"]) == "publicNetworkAccess"
    assert bicep.text(vault["sku"]["name"]) == "skuName"


def test_cosmos_local_auth_is_the_one_documented_exception() -> None:
    path = bicep.INFRA / "app" / "cosmos-account.bicep"
    account = bicep.config(bicep.parse(path)["resources"]["newAccount"])["properties"]
    # serving the account's keys is the product; anything else must keep local auth off
    assert account["disableLocalAuth"] is False
    assert account["disableKeyBasedMetadataWriteAccess"] is True
    assert re.search(r"checkov:skip=CKV_AZURE_140:\S.+", path.read_text(encoding="utf-8"))


def test_function_app_is_hardened_flex_python_311() -> None:
    api = bicep.template("app/api.bicep")["resources"]
    plan = bicep.config(api["plan"])
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True
    site = bicep.config(api["functionApp"])
    assert site["kind"] == "functionapp,linux"
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    # Flex Consumption does not support ftpsState (docs/deployment-review.md): FTP is off through
    # the ftp basicPublishingCredentialsPolicies below instead.
    assert "ftpsState" not in props["siteConfig"]
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "pythonVersion"}
    main = bicep.template("main.bicep")
    assert main["parameters"]["pythonVersion"]["default"] == "3.13"
    assert bicep.config(main["modules"]["api"])["params"]["pythonVersion"] == "pythonVersion"
    assert "Identity" in bicep.text(config["deployment"]["storage"]["authentication"]["type"])
    assert "SystemAssigned" in bicep.text(site["identity"]["type"])
    for name in ("ftpPublishing", "scmPublishing"):
        assert bicep.config(api[name])["properties"]["allow"] is False


def test_graph_objects() -> None:
    graph = bicep.template("app/graph.bicep")
    roles = {r["value"] for r in graph["variables"]["callerAppRoles"]["value"]}
    assert roles == {"CosmosKeys.Read", "CosmosKeys.ReadWrite", "Users.Read", "Diagnostics.Read", "Rollover.Write",
                     "Keys.Read", "Keys.ReadWrite"}  # fmt: skip
    app = bicep.config(graph["resources"]["brokerApp"])
    assert "keyCredentials" not in app, "the hook owns keyCredentials; declaring them would drop its keys"
    rendered = bicep.text(app)
    assert "userReadAllAppRoleId" in rendered and graph["variables"]["userReadAllAppRoleId"]["value"] == (
        "df021288-bdef-4463-88db-98f22de89214"
    )
    source = (bicep.INFRA / "app" / "graph.bicep").read_text(encoding="utf-8")
    assert "'api://AzureADTokenExchange'" in source
    assert "environment().authentication.loginEndpoint" in source
    main = bicep.template("main.bicep")
    assert "apiIdentifierUri" in bicep.text(main["variables"]["callerAudience"]["value"])
