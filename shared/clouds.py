"""Sovereign-cloud endpoints: the defaults each ``AZURE_CLOUD`` value implies.

Values follow azure-identity's ``AzureAuthorityHosts`` and Azure's documented endpoints
(learn.microsoft.com/graph/deployments, learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates
"DNS suffixes", and the token-exchange audiences of the workload identity federation docs). Key Vault
and Managed HSM DNS suffixes per cloud as azure-cli's ``cloud.py`` lists them (``keyvault_dns``,
``mhsm_dns``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str
    arm_endpoint: str
    graph_endpoint: str
    key_vault_suffix: str
    managed_hsm_suffix: str
    federation_audience: str
    # Entra still issues v1-format tokens with this issuer in the public cloud only.
    v1_issuer_template: str | None
    # The Entra hosts AZURE_AUTHORITY_HOST may name in this cloud (azure-identity's
    # KnownAuthorities / AzureAuthorityHosts, plus login.partner.microsoftonline.cn, which
    # azure-identity's shared_token_cache lists as the China cloud's other authority).
    authority_hosts: tuple[str, ...] = ()


PUBLIC = Cloud(
    name="AzurePublicCloud",
    authority_host="https://login.microsoftonline.com",
    arm_endpoint="https://management.azure.com",
    graph_endpoint="https://graph.microsoft.com",
    key_vault_suffix="vault.azure.net",
    managed_hsm_suffix="managedhsm.azure.net",
    federation_audience="api://AzureADTokenExchange",
    v1_issuer_template="https://sts.windows.net/{tenant}/",
    authority_hosts=("login.microsoftonline.com",),
)
CHINA = Cloud(
    name="AzureChinaCloud",
    authority_host="https://login.chinacloudapi.cn",
    arm_endpoint="https://management.chinacloudapi.cn",
    graph_endpoint="https://microsoftgraph.chinacloudapi.cn",
    key_vault_suffix="vault.azure.cn",
    managed_hsm_suffix="managedhsm.azure.cn",
    federation_audience="api://AzureADTokenExchangeChina",
    v1_issuer_template=None,
    authority_hosts=("login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
)
US_GOVERNMENT = Cloud(
    name="AzureUSGovernment",
    authority_host="https://login.microsoftonline.us",
    arm_endpoint="https://management.usgovcloudapi.net",
    graph_endpoint="https://graph.microsoft.us",
    key_vault_suffix="vault.usgovcloudapi.net",
    managed_hsm_suffix="managedhsm.usgovcloudapi.net",
    federation_audience="api://AzureADTokenExchangeUSGov",
    v1_issuer_template=None,
    authority_hosts=("login.microsoftonline.us",),
)

CLOUDS: dict[str, Cloud] = {cloud.name: cloud for cloud in (PUBLIC, CHINA, US_GOVERNMENT)}
