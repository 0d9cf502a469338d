// Audit trail: diagnostic settings that send to the Log Analytics workspace (monitoring.bicep)
//  - Key Vault: the `audit` category group (today: the AuditEvent category), every data-plane call
//    with its caller: each `sign`, each certificate/key read, each refusal. Resource-specific
//    ('Dedicated') destination: rows land in the AZKVAuditLogs table, not AzureDiagnostics.
//  - Function App: FunctionAppLogs (host and worker logs, including the broker's own
//    `shared.audit` line per caller decision). App Service resources always write their own
//    tables, so no destination type is set.
//  - Cosmos DB (the account this deployment creates): ControlPlaneRequests, resource-specific
//    (CDBControlPlaneRequests), as Cosmos DB recommends for every API but Table.
// No metrics, no data-plane request logs: the audit trail, not a performance log.
// The alert on that trail (a certificate version imported into the vault) is in alerts.bicep.
// References:
//   https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-keyvault-vaults-logs
//     (AuditEvent -> AZKVAuditLogs; category group `audit`)
//   https://learn.microsoft.com/azure/key-vault/general/logging (what each audit record carries)
//   https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-web-sites-logs
//     (FunctionAppLogs)
//   https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-documentdb-databaseaccounts-logs
//     (ControlPlaneRequests -> CDBControlPlaneRequests)
//   https://learn.microsoft.com/azure/cosmos-db/monitor-resource-logs (resource-specific mode recommended)
//   https://learn.microsoft.com/azure/templates/microsoft.insights/diagnosticsettings

@description('Resource ID of the Log Analytics workspace that receives the logs.')
param workspaceId string

@description('Key Vault whose audit logs are collected.')
param keyVaultName string

@description('Function App whose FunctionAppLogs are collected.')
param functionAppName string

@description('Cosmos DB account created by this deployment (same resource group); empty: none (an existing account keeps its own diagnostic settings).')
param cosmosAccountName string = ''

@description('Name of each diagnostic setting.')
param settingName string = 'audit-to-log-analytics'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource cosmosAccount 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' existing = if (!empty(cosmosAccountName)) {
  name: cosmosAccountName
}

resource keyVaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: vault
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

resource functionAppLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: functionApp
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

resource cosmosControlPlane 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(cosmosAccountName)) {
  name: settingName
  scope: cosmosAccount
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'ControlPlaneRequests'
        enabled: true
      }
    ]
  }
}
