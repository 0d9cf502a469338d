// The Function App on Flex Consumption (FC1, Linux, Python 3.13; PYTHON_VERSION=3.12 where a region
// does not offer 3.13 yet) and its app settings.
// Host storage and the deployment container are reached with the function's managed identity
// (no connection strings, no shared keys); telemetry goes to Application Insights with Entra auth.
// References: https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
//             https://learn.microsoft.com/azure/templates/microsoft.web/sites (functionAppConfig)
//             https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
//             Azure-Samples/functions-quickstart-python-http-azd (infra/app/api.bicep)
//             https://learn.microsoft.com/azure/app-service/app-service-ip-restrictions (ipSecurityRestrictions,
//               service tags: tag 'ServiceTag', ipSecurityRestrictionsDefaultAction)

@description('Function App name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Resource tags.')
param tags object = {}

@description('azd service name this app deploys (azure.yaml services.<name>).')
param serviceName string = 'api'

@description('Storage account for AzureWebJobsStorage and the deployment container.')
param storageAccountName string

@description('Blob endpoint of that account, from the storage account primaryEndpoints')
param storageBlobEndpoint string

@description('Queue endpoint of that account.')
param storageQueueEndpoint string

@description('Table endpoint of that account.')
param storageTableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (ingestion endpoint; local auth is disabled).')
param applicationInsightsConnectionString string

@description('Traces per second the Azure Monitor sampler keeps.')
param tracesPerSecond string = '5'

@description('Resource ID of the user-assigned identity the app runs as; empty: the system-assigned identity only.')
param userAssignedIdentityId string = ''

@description('Client ID of that user-assigned identity; empty when none.')
param userAssignedIdentityClientId string = ''

@description('The product settings (SPEC "Settings"), built in main.bicep.')
param productSettings object

@description('Maximum instances Flex Consumption scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Resource ID of the subnet (delegated to Microsoft.App/environments) for Flex Consumption VNet integration; empty: none (VNET_ENABLED=false).')
param virtualNetworkSubnetId string = ''

@description('ALLOWED_CALLER_IP_RANGES: comma-separated CIDRs (or single addresses) and service tags (e.g. AzureFrontDoor.Backend, ApiManagement.WestEurope) allowed to call the app; empty: no network restriction (function keys and caller tokens still apply).')
param allowedCallerIpRanges string = ''

@description('ALLOWED_DEPLOYER_IP_RANGES: CIDRs / addresses / service tags allowed to reach the SCM (deployment) site; empty: the SCM site follows ALLOWED_CALLER_IP_RANGES (or is open when that is empty too).')
param allowedDeployerIpRanges string = ''

@description('Flex Consumption Python runtime version (PYTHON_VERSION; main.bicep says which are allowed).')
param pythonVersion string = '3.13'

@description('Instance memory size in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var useUserAssigned = !empty(userAssignedIdentityId)

// Host settings: identity-based host storage, telemetry with Entra auth. With a user-assigned
// identity the host must be told which one (credential + clientId); otherwise it uses the
// system-assigned identity.
var hostStorageSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: useUserAssigned ? 'ClientId=${userAssignedIdentityClientId};Authorization=AAD' : 'Authorization=AAD'
}
// OpenTelemetry (host.json "telemetryMode": "OpenTelemetry"): the Python worker configures Azure
// Monitor itself before importing function_app (AZURE-PROTOCOLS §11) and the app adopts it.
// The broker records ARM/Graph attempts itself (URL path only), so the generic HTTP
// instrumentations, which record full URLs with their query, are off.
var telemetrySettings = {
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
  OTEL_TRACES_SAMPLER: 'microsoft.rate_limited'
  OTEL_TRACES_SAMPLER_ARG: tracesPerSecond
  OTEL_PYTHON_DISABLED_INSTRUMENTATIONS: 'requests,urllib,urllib3'
}
var hostUserAssignedSettings = useUserAssigned ? {
  AzureWebJobsStorage__clientId: userAssignedIdentityClientId
} : {}

// Inbound restriction (optional). Each entry is an address range (starts with a digit, or holds
// ':' as IPv6 does; a bare address gets /32 or /128) or else an App Service service tag. With any
// entry, everything else is denied. The SCM (Kudu, deployment) site is never left open when the
// app is restricted: it gets its own list, ALLOWED_DEPLOYER_IP_RANGES, or else the main site's
// (scmIpSecurityRestrictionsUseMain), so `azd deploy` runs from an allowed address. Spaces are
// ignored; an empty item (",,") is not an address and fails the deployment. (No filter()/map()
// lambdas: checkov's pinned Bicep parser cannot read them.)
var callerRanges = empty(trim(allowedCallerIpRanges)) ? [] : split(replace(allowedCallerIpRanges, ' ', ''), ',')
var callerRules = [for (entry, i) in callerRanges: (contains(entry, ':') || contains('0123456789', first(entry))) ? {
  name: 'allowed-caller-${i}'
  action: 'Allow'
  priority: 100 + i
  tag: 'Default'
  ipAddress: contains(entry, '/') ? entry : (contains(entry, ':') ? '${entry}/128' : '${entry}/32')
} : {
  name: 'allowed-caller-${i}'
  action: 'Allow'
  priority: 100 + i
  tag: 'ServiceTag'
  ipAddress: entry
}]

var deployerRanges = empty(trim(allowedDeployerIpRanges)) ? [] : split(replace(allowedDeployerIpRanges, ' ', ''), ',')
var deployerRules = [for (entry, i) in deployerRanges: (contains(entry, ':') || contains('0123456789', first(entry))) ? {
  name: 'allowed-deployer-${i}'
  action: 'Allow'
  priority: 100 + i
  tag: 'Default'
  ipAddress: contains(entry, '/') ? entry : (contains(entry, ':') ? '${entry}/128' : '${entry}/32')
} : {
  name: 'allowed-deployer-${i}'
  action: 'Allow'
  priority: 100 + i
  tag: 'ServiceTag'
  ipAddress: entry
}]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Zone redundancy is a Flex Consumption option not offered in every region; left off for a portable default.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_56:Callers authenticate with function keys and, when CALLER_AUDIENCE is set, an Entra bearer token the app validates itself (per-route app roles); App Service Authentication would not check app roles.
  // checkov:skip=CKV_AZURE_13:Same as CKV_AZURE_56: authentication is enforced by the app (function keys + Entra caller tokens).
  // checkov:skip=CKV_AZURE_17:Client certificates are not how callers authenticate; they present Entra tokens.
  // checkov:skip=CKV_AZURE_222:Public network access is needed for callers; every route but /api/health requires a function key and optionally an Entra token; ALLOWED_CALLER_IP_RANGES narrows it to given ranges / service tags.
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales per instance; a minimum instance count does not apply.
  // checkov:skip=CKV_AZURE_225:Zone redundancy is a Flex Consumption plan option not offered in every region; left off for a portable default.
  // checkov:skip=CKV_AZURE_16:Same as CKV_AZURE_56: callers present Entra tokens that the app validates per route (app roles); App Service Authentication is not used.
  // checkov:skip=CKV_AZURE_78:ftpsState is not supported on Flex Consumption (docs/deployment-review.md); FTP publishing is off through basicPublishingCredentialsPolicies ftp allow false below.
  // checkov:skip=CKV_AZURE_213:App Service health check does not apply to Flex Consumption; the app serves its own /api/health.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: useUserAssigned ? 'SystemAssigned, UserAssigned' : 'SystemAssigned'
    userAssignedIdentities: useUserAssigned ? {
      '${userAssignedIdentityId}': {}
    } : null
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      // No ftpsState: Flex Consumption does not support it (docs/deployment-review.md); FTP and
      // basic-auth publishing are off through basicPublishingCredentialsPolicies below.
      http20Enabled: true
      remoteDebuggingEnabled: false
      ipSecurityRestrictions: callerRules
      ipSecurityRestrictionsDefaultAction: empty(callerRules) ? 'Allow' : 'Deny'
      // Kudu can deploy code: restricted whenever the app is (own list, else the main site's rules).
      scmIpSecurityRestrictions: deployerRules
      scmIpSecurityRestrictionsDefaultAction: (empty(callerRules) && empty(deployerRules)) ? 'Allow' : 'Deny'
      scmIpSecurityRestrictionsUseMain: (!empty(callerRules)) && empty(deployerRules)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: useUserAssigned ? 'UserAssignedIdentity' : 'SystemAssignedIdentity'
            userAssignedIdentityResourceId: useUserAssigned ? userAssignedIdentityId : null
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13:checkov reads this sites/config child as a site; authentication is discussed on functionApp (app-level Entra token validation).
  // checkov:skip=CKV_AZURE_222:checkov reads this sites/config child as a site; public network access is set on functionApp.
  // checkov:skip=CKV_AZURE_63:HTTP logging is an App Service (IIS) diagnostic; Functions logs go to Application Insights.
  // checkov:skip=CKV_AZURE_65:Detailed error pages are an App Service (IIS) diagnostic; Functions logs go to Application Insights.
  // checkov:skip=CKV_AZURE_66:Failed request tracing is an App Service (IIS) diagnostic; Functions logs go to Application Insights.
  // checkov:skip=CKV_AZURE_80:.NET Framework version does not apply to a Python function app.
  // checkov:skip=CKV_AZURE_88:Flex Consumption has no Azure Files content share; the package lives in a blob container.
  parent: functionApp
  name: 'appsettings'
  properties: union(hostStorageSettings, hostUserAssignedSettings, telemetrySettings, productSettings)
}

// No FTP or basic-auth (SCM) publishing credentials: azd deploys through the deployment
// container with Entra auth.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
output systemAssignedPrincipalId string = functionApp.identity.principalId
