"""Issue 17, deployment half: signInAudience, ENTRA_ALLOWED_TENANTS, one Users.Read:{tenant} role per tenant.

Evaluated from the parsed templates (tests/infra/evaluate.py) with the values azd would pass.
"""

from __future__ import annotations

import json
from typing import Any

from . import bicep
from .evaluate import Template

CUSTOMER_A = "aaaaaaaa-1111-2222-3333-444444444444"
CUSTOMER_B = "bbbbbbbb-1111-2222-3333-444444444444"


def main(**params: Any) -> Template:
    return Template(bicep.template("main.bicep"), params, bicep.INFRA)


def graph(**params: Any) -> Template:
    return Template(bicep.template("app/graph.bicep"), params, bicep.INFRA / "app")


def _graph_params(**params: Any) -> dict[str, Any]:
    base = {"appUniqueName": "app", "appDisplayName": "App", "apiUniqueName": "api", "apiDisplayName": "Api"}
    return {**base, **params}


def test_the_app_registration_is_single_tenant_by_default() -> None:
    assert main().variable("allowedTenantIds") == []
    entra = main().body("modules", "entra", "params")
    assert entra["signInAudience"] == "AzureADMyOrg"
    assert entra["allowedTenants"] == []
    assert graph(**_graph_params()).body("resources", "brokerApp")["signInAudience"] == "AzureADMyOrg"
    assert "ENTRA_ALLOWED_TENANTS" not in main().variable("optionalSettings")


def test_multi_tenant_app_with_allowed_tenants() -> None:
    tpl = main(signInAudience="AzureADMultipleOrgs", allowedTenants=f" {CUSTOMER_A.upper()} ,{CUSTOMER_B}")
    assert tpl.variable("allowedTenantIds") == [CUSTOMER_A, CUSTOMER_B]
    entra = tpl.body("modules", "entra", "params")
    assert entra["signInAudience"] == "AzureADMultipleOrgs"
    settings = tpl.variable("optionalSettings")
    # As given (trimmed): the app itself validates it, so a typo is a named 503, never dropped.
    assert settings["ENTRA_ALLOWED_TENANTS"] == f"{CUSTOMER_A.upper()} ,{CUSTOMER_B}"


def test_one_caller_role_per_allowed_tenant() -> None:
    tpl = graph(**_graph_params(signInAudience="AzureADMultipleOrgs", allowedTenants=[CUSTOMER_A, CUSTOMER_B]))
    assert tpl.body("resources", "brokerApp")["signInAudience"] == "AzureADMultipleOrgs"
    roles = [r["value"] for r in tpl.body("resources", "apiApp")["appRoles"]]
    assert f"Users.Read:{CUSTOMER_A}" in roles and f"Users.Read:{CUSTOMER_B}" in roles
    assert "Users.Read" in roles
    assert len(roles) == len(set(roles))
    # Only the API's caller roles: the broker app itself asks for nothing more in customer tenants.
    assert "appRoles" not in tpl.body("resources", "brokerApp")


def test_only_the_two_audiences_are_allowed() -> None:
    allowed = bicep.template("main.bicep")["parameters"]["signInAudience"]
    assert "AzureADMyOrg" in json.dumps(allowed) and "AzureADMultipleOrgs" in json.dumps(allowed)
    assert "PersonalMicrosoftAccount" not in json.dumps(allowed)


def test_azd_values_reach_the_parameters() -> None:
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["signInAudience"]["value"] == "${ENTRA_SIGN_IN_AUDIENCE=AzureADMyOrg}"
    assert parameters["allowedTenants"]["value"] == "${ENTRA_ALLOWED_TENANTS}"
