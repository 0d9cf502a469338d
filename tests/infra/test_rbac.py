"""Role assignments: GUIDs from the one table, least privilege for the function."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from . import bicep
from .roles import (
    FUNCTION_IDENTITY_ROLES,
    FUNCTION_KEY_VAULT_ROLES,
    ROLES,
    SECRET_READING_ROLES,
)

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
SPEC = bicep.REPO.parent / "shared" / "SPEC.md"


def assignments() -> list[tuple[Path, str, dict[str, Any], set[str], set[str]]]:
    """(file, resource name, body, roles.json keys, literal GUIDs) for every role assignment."""
    found = []
    for path in bicep.bicep_files():
        doc = bicep.parse(path)
        variables = doc.get("variables") or {}
        for name, res in bicep.resources(doc, ROLE_ASSIGNMENT).items():
            body = bicep.config(res)
            keys, literals = bicep.role_keys(body["properties"]["roleDefinitionId"], variables)
            found.append((path, name, body, keys, literals))
    return found


def test_roles_json_matches_the_mirror() -> None:
    table = bicep.roles_table()
    assert set(table) == set(ROLES)
    for key, (role_name, guid) in ROLES.items():
        assert table[key]["name"] == role_name, key
        assert table[key]["id"] == guid, f"{key} ({role_name}): roles.json has {table[key]['id']}, expected {guid}"


@pytest.mark.skipif(not SPEC.is_file(), reason="shared/SPEC.md is not beside the repository")
def test_mirror_matches_spec() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    named = dict(re.findall(r"\*\*([A-Za-z ]+?)\*\*\s*\(`([0-9a-f-]{36})`", spec))
    assert len(named) >= 4, "SPEC role table not found"
    by_name = {name: guid for name, guid in ROLES.values()}
    for role_name, guid in named.items():
        assert by_name.get(role_name) == guid, f"SPEC says {role_name} is {guid}"


def test_there_are_role_assignments() -> None:
    assert len(assignments()) >= 9


# The one custom role (app/resource-keys.bicep): its assignments name it by the GUID passed in.
CUSTOM_KEY_ROLE = ("resource-key-access.bicep", "keyRoleDefinitionId")


def test_every_role_assignment_uses_the_table() -> None:
    for path, name, body, keys, literals in assignments():
        if (path.name, bicep.text(body["properties"]["roleDefinitionId"])) == CUSTOM_KEY_ROLE:
            continue
        assert keys, f"{path.name}:{name} roleDefinitionId does not come from roles.json"
        assert not literals, f"{path.name}:{name} hard-codes role GUID(s) {literals}; add them to roles.json"
        assert keys <= set(ROLES), f"{path.name}:{name} uses unknown roles {keys - set(ROLES)}"
        # idempotent names: guid(scope.id, principalId, roleId)
        assert bicep.text(body["name"]).startswith("guid("), f"{path.name}:{name} name is not guid(...)"


def test_no_secret_reading_role_anywhere() -> None:
    forbidden = set(SECRET_READING_ROLES.values())
    for path in bicep.bicep_files():
        code = bicep.strip_comments(path.read_text(encoding="utf-8")).lower()
        assert not any(g in code for g in forbidden), f"{path.name} references a secret-reading role"
    assert not forbidden & {guid for _, guid in ROLES.values()}


def _granted_to(principal: str) -> set[str]:
    return {
        key
        for _, _, body, keys, _ in assignments()
        if bicep.text(body["properties"]["principalId"]) == principal
        for key in keys
    }


def test_function_identity_gets_exactly_its_roles() -> None:
    granted = _granted_to("functionPrincipalId")
    assert granted == FUNCTION_IDENTITY_ROLES, (
        f"extra: {granted - FUNCTION_IDENTITY_ROLES}, missing: {FUNCTION_IDENTITY_ROLES - granted}"
    )


def test_function_key_vault_roles_are_on_the_vault_only() -> None:
    for path, name, body, keys, _ in assignments():
        if bicep.text(body["properties"]["principalId"]) != "functionPrincipalId":
            continue
        if keys & FUNCTION_KEY_VAULT_ROLES:
            assert bicep.text(body["scope"]) == "vault", f"{path.name}:{name} Key Vault role not scoped to the vault"
        else:
            assert bicep.text(body["scope"]) != "vault", f"{path.name}:{name} grants a non-Key Vault role on the vault"


def test_deployer_gets_certificates_officer_for_the_hook() -> None:
    assert "keyVaultCertificatesOfficer" in _granted_to("deployerPrincipalId")


def test_cosmos_role_follows_key_access() -> None:
    doc = bicep.template("app/cosmos.bicep")
    [res] = bicep.resources(doc, ROLE_ASSIGNMENT).values()
    body = bicep.config(res)
    keys, _ = bicep.role_keys(body["properties"]["roleDefinitionId"], doc["variables"])
    assert keys == {"cosmosDbAccountReaderRole", "documentDbAccountContributor"}
    rendered = bicep.text(doc["variables"]["keyRoleId"]["value"])
    assert rendered == (
        "conditional(equals(keyAccess, readwrite), roles.documentDbAccountContributor.id, "
        "roles.cosmosDbAccountReaderRole.id)"
    )
    for rel in ("app/cosmos.bicep", "app/cosmos-account.bicep"):
        for res in bicep.resources(bicep.template(rel), "Microsoft.DocumentDB/databaseAccounts").values():
            assert res["api_version"] == "2025-10-15", rel


def _deployer_roles(**params: Any) -> set[str]:
    """The deployer's Key Vault role assignments that deploy with ``params``."""
    from .evaluate import Template

    doc = bicep.template("app/rbac.bicep")
    base = {
        "functionPrincipalId": "f",
        "deployerPrincipalId": "d",
        "keyVaultName": "kv",
        "storageAccountName": "st",
        "applicationInsightsName": "ai",
    }
    tpl = Template(doc, {**base, **params}, bicep.INFRA / "app")
    return {
        name
        for name in bicep.resources(doc, ROLE_ASSIGNMENT)
        if name.startswith("deployer") and tpl.deploys("resources", name)
    }


def test_without_certificates_officer_the_deployer_can_still_read_the_certificate_for_the_hook() -> None:
    # The default: no standing officer; Reader lets the hook read, and it grants itself the officer
    # role only while it creates the certificate (scripts/postprovision.*).
    assert _deployer_roles() == {"deployerKeyVaultReader"}
    assert _deployer_roles(grantDeployerCertificatesOfficer=True) == {"deployerKeyVaultCertificatesOfficer"}
    assert _deployer_roles(grantDeployerCertificatesOfficer=False) == {"deployerKeyVaultReader"}
    assert _deployer_roles(grantDeployerCertificatesOfficer=False, grantDeployerSignAccess=True) == {
        "deployerKeyVaultReader",
        "deployerKeyVaultCryptoUser",
    }


def _officer_deploys(**params: Any) -> bool:
    from .evaluate import Template

    doc = bicep.template("app/rbac.bicep")
    base = {
        "functionPrincipalId": "f",
        "deployerPrincipalId": "d",
        "keyVaultName": "kv",
        "storageAccountName": "st",
        "applicationInsightsName": "ai",
    }
    return Template(doc, {**base, **params}, bicep.INFRA / "app").deploys(
        "resources", "deployerKeyVaultCertificatesOfficer"
    )


def test_the_deployers_certificates_officer_role_is_off_by_default() -> None:
    # An officer can import a certificate version (a key from outside the vault): the deployment keeps
    # none by default; the postprovision hook holds it only while it creates the certificate.
    assert _officer_deploys() is False
    assert _officer_deploys(grantDeployerCertificatesOfficer=True) is True
    assert _officer_deploys(grantDeployerCertificatesOfficer=True, deployerPrincipalId="") is False
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["grantDeployerCertificatesOfficer"]["value"] == "${GRANT_DEPLOYER_CERTIFICATES_OFFICER=false}"
    main = bicep.template("main.bicep")["parameters"]["grantDeployerCertificatesOfficer"]
    assert main["default"] is False
