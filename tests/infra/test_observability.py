"""Observability in the deployment: OpenTelemetry app settings and host.json, the alert rules with
their action group, the workbook, all wired to the Application Insights component."""

from __future__ import annotations

import json
import re

import pytest

from . import bicep
from .evaluate import Symbol, Template

# The metric names of shared/telemetry/names.py (the alerts and the workbook query them).
SIGNS = "broker.keyvault.signs"
UPSTREAM_DURATION = "broker.upstream.duration"
THROTTLED = "broker.upstream.throttled"
DAYS_TO_EXPIRY = "broker.certificate.days_to_expiry"
ROLLOVER_RUNS = "broker.rollover.runs"


def _alerts() -> dict:
    return bicep.template("app/alerts.bicep")


def _rules() -> dict[str, dict]:
    """Each alert rule's definition (the `rules` array), by its short name."""
    rules = _alerts()["variables"]["rules"]["value"]
    return {rule["name"]: rule for rule in rules}


def _query(rule: dict) -> str:
    """The KQL of a rule: its query variable's text (format() arguments kept as {0}, {1})."""
    variables = _alerts()["variables"]
    return bicep.text(variables[rule["query"]]["value"])


def test_host_json_turns_on_opentelemetry_and_has_no_python_logger_entries() -> None:
    host = json.loads((bicep.REPO / "host.json").read_text(encoding="utf-8"))
    assert host["telemetryMode"] == "OpenTelemetry"
    # The host's log levels filter host categories, not Python loggers: the app sets those itself.
    assert not [name for name in host["logging"]["logLevel"] if name.startswith("azure.")]


def test_the_worker_configures_azure_monitor_with_a_bounded_sampler() -> None:
    api = bicep.template("app/api.bicep")
    settings = api["variables"]["telemetrySettings"]["value"]
    assert settings["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "true"
    assert settings["OTEL_TRACES_SAMPLER"] == "microsoft.rate_limited"
    assert bicep.text(settings["OTEL_TRACES_SAMPLER_ARG"]) == "tracesPerSecond"
    assert set(settings["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"].split(",")) == {"requests", "urllib", "urllib3"}
    app_settings = bicep.config(api["resources"]["appSettings"])
    assert "telemetrySettings" in bicep.text(app_settings["properties"])
    host_settings = api["variables"]["hostStorageSettings"]["value"]
    assert bicep.text(host_settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]) == "applicationInsightsConnectionString"
    assert "Authorization=AAD" in bicep.text(host_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"])


def test_alert_and_workbook_modules_read_the_application_insights_component() -> None:
    main = bicep.template("main.bicep")
    for name in ("alerts", "workbook"):
        params = main["modules"][name]["config"]["params"]
        assert bicep.text(params["applicationInsightsId"]) == "monitoring.outputs.applicationInsightsId"
    assert bicep.text(main["modules"]["alerts"]["config"]["params"]["alertEmail"]) == "alertEmail"
    assert main["parameters"]["alertEmail"]["type"] == "string"
    monitoring = bicep.template("app/monitoring.bicep")
    assert bicep.text(monitoring["outputs"]["applicationInsightsId"]["value"]) == "applicationInsights.id"
    values = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["alertEmail"]["value"] == "${BROKER_ALERT_EMAIL}"


def test_the_action_group_mails_the_email_parameter() -> None:
    alerts = _alerts()
    assert "alertEmail" in alerts["parameters"]
    group = bicep.config(alerts["resources"]["actionGroup"])
    assert group["location"] == "global"
    receivers = bicep.text(group["properties"]["emailReceivers"])
    assert "emailAddress: alertEmail" in receivers
    assert "useCommonAlertSchema: true" in receivers


_ALERT_PARAMS = {
    "namePrefix": "p",
    "location": "l",
    "applicationInsightsId": "/ai",
    "logAnalyticsWorkspaceId": "/ws",
    "keyVaultId": "/vaults/kv",
}


def _alerts_with(**params: object) -> Template:
    return Template(_alerts(), {**_ALERT_PARAMS, **params}, bicep.INFRA / "app")


@pytest.mark.parametrize(
    ("params", "group_created", "receivers"),
    [
        ({}, False, []),
        ({"alertEmail": "ops@contoso.example"}, True, [Symbol("actionGroup.id")]),
        ({"actionGroupId": "/ag/oncall"}, False, ["/ag/oncall"]),
        (
            {"alertEmail": "ops@contoso.example", "actionGroupId": "/ag/oncall"},
            True,
            ["/ag/oncall", Symbol("actionGroup.id")],
        ),
    ],
    ids=["none", "email", "existing-group", "both"],
)
def test_every_alert_notifies_every_receiver_there_is(params: dict, group_created: bool, receivers: list) -> None:
    tpl = _alerts_with(**params)
    assert tpl.deploys("resources", "actionGroup") is group_created, "no empty action group without an email"
    assert tpl.body("resources", "alertRules", "config", "properties", "actions", "actionGroups") == receivers
    assert tpl.body("resources", "certificateImportAlert", "properties", "actions", "actionGroups") == receivers
    credential = _alerts_with(**params, alertOnAppCredentialChanges=True, applicationObjectId="app-oid")
    assert credential.body("resources", "appCredentialAlert", "properties", "actions", "actionGroups") == receivers
    assert tpl.value(_alerts()["outputs"]["hasReceiver"]["value"]) is bool(receivers)


def test_main_passes_the_receivers_and_tells_the_hook_whether_there_is_one() -> None:
    main = bicep.template("main.bicep")
    params = main["modules"]["alerts"]["config"]["params"]
    assert bicep.text(params["actionGroupId"]) == "actionGroupId"
    assert bicep.text(params["alertEmail"]) == "alertEmail"
    flag = bicep.text(main["outputs"]["ALERTS_HAVE_RECEIVER"]["value"])
    assert "alerts.outputs" in flag and "hasReceiver" in flag
    values = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["actionGroupId"]["value"] == "${BROKER_ACTION_GROUP_ID}"


def test_log_retention_is_a_parameter_with_an_audit_friendly_default() -> None:
    main = bicep.template("main.bicep")
    spec = main["parameters"]["logRetentionInDays"]
    assert spec["default"] >= 90
    assert bicep.text(main["modules"]["monitoring"]["config"]["params"]["retentionInDays"]) == "logRetentionInDays"
    monitoring = bicep.template("app/monitoring.bicep")
    assert monitoring["parameters"]["retentionInDays"]["default"] >= 90
    workspace = bicep.config(monitoring["resources"]["logAnalytics"])
    assert bicep.text(workspace["properties"]["retentionInDays"]) == "retentionInDays"
    values = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["logRetentionInDays"]["value"] == "${LOG_RETENTION_DAYS=90}"


def test_four_log_alerts_on_the_brokers_signals_notify_the_action_group() -> None:
    rules = _rules()
    assert set(rules) == {"certificate-expiry", "keyvault-throttling", "server-errors", "rollover-failed"}
    resource = _alerts()["resources"]["alertRules"]
    assert resource["type"] == "Microsoft.Insights/scheduledQueryRules"
    loop = resource["config"]
    assert loop["loop_type"]["detail"]["array_name"] == "rules"  # one rule resource per entry
    body = loop["config"]
    assert body["kind"] == "LogAlert"
    properties = body["properties"]
    assert properties["scopes"] == ["applicationInsightsId"]
    assert bicep.text(properties["actions"]["actionGroups"]) == "receivers"
    (criterion,) = properties["criteria"]["allOf"]
    assert bicep.text(criterion["query"]) == "rule.query"
    assert (criterion["timeAggregation"], criterion["operator"], criterion["threshold"]) == ("Count", "GreaterThan", 0)
    for rule in rules.values():
        assert re.fullmatch(r"PT\d+[MH]", rule["frequency"]) and re.fullmatch(r"PT\d+[MH]", rule["window"])
        assert 0 <= int(rule["severity"]) <= 4


def test_certificate_alert_fires_within_the_expiry_parameter_days() -> None:
    query = _query(_rules()["certificate-expiry"])
    assert f'name == "{DAYS_TO_EXPIRY}"' in query
    assert "arg_max(timestamp, value, version) by certificate" in query  # the version in use now
    assert "value < {0}" in query and "certificateExpiryDays" in query
    assert _alerts()["parameters"]["certificateExpiryDays"]["default"] == 30


def test_key_vault_throttling_alert_counts_429s_from_key_vault_only() -> None:
    query = _query(_rules()["keyvault-throttling"])
    assert f'name == "{THROTTLED}"' in query
    assert 'customDimensions["broker.upstream"]) == "keyvault"' in query


def test_server_error_alert_is_a_rate_over_a_minimum_of_requests() -> None:
    query = _query(_rules()["server-errors"])
    assert "toint(resultCode) >= 500" in query
    assert "failedPercent > {1}" in query and "total >= {0}" in query
    assert "sum(itemCount)" in query  # sampled requests count with their weight
    params = _alerts()["parameters"]
    assert params["serverErrorPercent"]["default"] == 5


def test_rollover_alert_reads_the_rollover_metric_and_its_error_lines() -> None:
    query = _query(_rules()["rollover-failed"])
    assert f'name == "{ROLLOVER_RUNS}"' in query
    assert '"broker.outcome"]) in ("failure", "blocked")' in query
    assert "severityLevel >= 3" in query and 'message startswith "rollover"' in query


def test_workbook_shows_latency_per_upstream_and_the_sign_count() -> None:
    workbook = bicep.template("app/workbook.bicep")
    resource = bicep.config(workbook["resources"]["workbook"])
    assert resource["kind"] == "shared"
    assert bicep.text(resource["properties"]["sourceId"]) == "applicationInsightsId"
    assert "workbook.json" in bicep.text(resource["properties"]["serializedData"])
    content = json.loads((bicep.INFRA / "app" / "workbook.json").read_text(encoding="utf-8"))
    assert content["version"] == "Notebook/1.0"
    queries = [item["content"]["query"] for item in content["items"] if item["type"] == 3]
    assert any("percentile(duration, 95)" in q and "broker.upstream" in q for q in queries)
    assert any(SIGNS in q and "bin(timestamp, 1h)" in q for q in queries)
    assert any(UPSTREAM_DURATION in q for q in queries)
    assert any(DAYS_TO_EXPIRY in q for q in queries)


# --- credentials added to the broker's application (Entra AuditLogs) ---------------------------------


def test_the_app_credential_alert_is_off_by_default() -> None:
    assert _alerts()["parameters"]["alertOnAppCredentialChanges"]["default"] is False
    assert bicep.template("main.bicep")["parameters"]["alertOnAppCredentialChanges"]["default"] is False
    assert _alerts_with().deploys("resources", "appCredentialAlert") is False
    values = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["alertOnAppCredentialChanges"]["value"] == "${ALERT_ON_APP_CREDENTIAL_CHANGES=false}"


def test_the_app_credential_alert_reads_audit_logs_for_this_app_and_spares_only_the_rollovers_keys() -> None:
    tpl = _alerts_with(
        alertOnAppCredentialChanges=True, applicationObjectId="APP-OID", servicePrincipalObjectId="SP-OID"
    )
    assert tpl.deploys("resources", "appCredentialAlert")

    def prop(*path: str) -> object:
        return tpl.body("resources", "appCredentialAlert", "properties", *path)

    assert prop("enabled") is True and prop("scopes") == ["/ws"] and prop("severity") <= 1
    (criterion,) = _alerts()["resources"]["appCredentialAlert"]["config"]["config"]["properties"]["criteria"]["allOf"]
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert bicep.text(criterion["query"]) == "appCredentialQuery"
    query = bicep.text(_alerts()["variables"]["appCredentialQuery"]["value"])
    # The activities that add a credential to an application or its service principal
    # (learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities).
    for needle in (
        "AuditLogs",
        '"ApplicationManagement"',
        '"Certificates and secrets management"',
        '"service principal credentials"',
        "FederatedIdentityCredential",
        "KeyDescription",
        'KeyType != "AsymmetricX509Cert"',  # a password is never the rollover's
        'startswith "rollover registered certificate"',  # the rollover's own log line names the keyId
        "KeyId !in (rolloverKeys)",
        "to_lower(applicationObjectId)",
        "to_lower(servicePrincipalObjectId)",
    ):
        assert needle in query, needle
    assert "(unreadable key list)" in query and "(not a key credential)" in query, "fail closed"


def test_the_rollover_log_line_the_alert_relies_on_is_the_one_the_rollover_writes() -> None:
    source = (bicep.REPO / "shared" / "rollover" / "service.py").read_text(encoding="utf-8")
    assert '"rollover registered certificate %s version %s (thumbprint %s) as key %s;' in source


def test_main_gives_the_app_credential_alert_the_application_and_its_service_principal() -> None:
    params = bicep.template("main.bicep")["modules"]["alerts"]["config"]["params"]
    assert bicep.text(params["alertOnAppCredentialChanges"]) == "alertOnAppCredentialChanges"
    assert bicep.text(params["applicationObjectId"]) == "entra.outputs.appObjectId"
    assert bicep.text(params["servicePrincipalObjectId"]) == "entra.outputs.servicePrincipalId"
