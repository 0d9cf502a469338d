// Log Analytics + workspace-based Application Insights, both with local (key) auth disabled:
// telemetry is accepted only with an Entra token (the function's identity holds Monitoring
// Metrics Publisher, see rbac.bicep; the app setting APPLICATIONINSIGHTS_AUTHENTICATION_STRING
// tells the host to use it).
// References: https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
//             https://learn.microsoft.com/azure/templates/microsoft.insights/components

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Days of log retention in the workspace (Key Vault audit log, FunctionAppLogs, telemetry): 90 by default, as audits commonly ask for at least that.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
output applicationInsightsId string = applicationInsights.id
// The connection string carries only the ingestion endpoint and the (non-secret) instrumentation
// key; with DisableLocalAuth the key alone cannot send telemetry.
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
output logAnalyticsWorkspaceId string = logAnalytics.id
