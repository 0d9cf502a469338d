// Entry point for `azd up`: one resource group with the Function App (Flex Consumption), its
// storage, monitoring, Key Vault and (optionally) a user-assigned identity and a Cosmos DB
// account; the Entra app registrations through the Microsoft Graph Bicep extension; and every
// role assignment. Config flows one way: azd env -> main.parameters.json -> these params ->
// app settings (SPEC "Settings"). Outputs in UPPER_SNAKE become azd env values, which the
// postprovision hook and scripts/write_local_settings.py read.
// Layout follows Azure-Samples/functions-quickstart-python-http-azd.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds resource names.')
param environmentName string

@minLength(1)
@description('Azure region for all resources (must offer Flex Consumption).')
param location string

@description('Object ID of the deploying user or CI principal (azd sets AZURE_PRINCIPAL_ID); gets Key Vault Reader for the hook (Certificates Officer only with grantDeployerCertificatesOfficer).')
param principalId string = ''

@description('AZURE_PRINCIPAL_TYPE: type of principalId, put on the deployer\'s role assignments. ServicePrincipal for a CI pipeline signed in as a service principal or managed identity (ARM refuses a mismatch: UnmatchedPrincipalType); the preprovision hook checks it against the signed-in principal.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('PYTHON_VERSION: the Flex Consumption Python runtime. 3.13 unless the region does not offer it yet (the preprovision hook checks with az functionapp list-flexconsumption-runtimes); 3.12 is the supported fallback.')
@allowed([
  '3.13'
  '3.12'
])
param pythonVersion string = '3.13'

@description('CREDENTIAL_MODE: keyvault (certificate in Key Vault signs the assertion), federated-managed-identity (user-assigned identity as a federated credential), managed-identity (no app registration downstream).')
@allowed([
  'keyvault'
  'federated-managed-identity'
  'managed-identity'
])
param credentialMode string = 'keyvault'

@description('signInAudience of the app registration the function authenticates as: AzureADMyOrg (this tenant only) or AzureADMultipleOrgs (customers\' administrators can consent to it in their tenants; docs/tenants.md).')
@allowed([
  'AzureADMyOrg'
  'AzureADMultipleOrgs'
])
param signInAudience string = 'AzureADMyOrg'

@description('ENTRA_ALLOWED_TENANTS: comma-separated tenant IDs (GUIDs) of customer tenants whose administrators consented to the (multi-tenant) app, where the broker may act. Empty: the home tenant only.')
param allowedTenants string = ''

@description('Create a user-assigned identity and run the app as it (AZURE_CLIENT_ID). Always on for federated-managed-identity.')
param useUserAssignedIdentity bool = false

@description('Key Vault SKU: premium gives HSM-backed (RSA-HSM) keys.')
@allowed([
  'standard'
  'premium'
])
param keyVaultSku string = 'standard'

@description('Key Vault public network access without VNET_ENABLED (with it: always Disabled). Disabled alone leaves the function, which then has no VNet, unable to reach the vault.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('KEY_VAULT_CERTIFICATE_NAME: the certificate the hook creates and the function signs with.')
@minLength(1)
@maxLength(127)
param certificateName string = 'assertion-signing'

@description('KEY_VAULT_CERTIFICATE_VERSION: pin one version; empty follows the current version (rotation picked up).')
param certificateVersion string = ''

@description('ASSERTION_ALGORITHM.')
@allowed([
  'PS256'
  'RS256'
])
param assertionAlgorithm string = 'PS256'

@description('ASSERTION_SEND_X5C: add the x5c header for subject-name/issuer trust.')
param assertionSendX5c bool = false

@description('ASSERTION_LIFETIME_SECONDS.')
@minValue(60)
@maxValue(600)
param assertionLifetimeSeconds int = 300

@description('Resource ID of an existing Cosmos DB account to serve keys for; empty creates a serverless account.')
param existingCosmosAccountId string = ''

@description('RESOURCE_KEYS: ARM resource IDs whose keys /api/keys serves (Storage accounts, Service Bus / Event Hubs authorization rules, Redis caches, Search services, Cognitive Services accounts, App Configuration stores, Cosmos DB accounts), as a JSON array in the azd environment: azd env set RESOURCE_KEYS \'["/subscriptions/…"]\'. Each gets the custom key role on itself (app/resource-keys.bicep) and a pair of caller app roles.')
param resourceKeys array = []

@description('readonly grants Cosmos DB Account Reader Role (readonlykeys); readwrite grants DocumentDB Account Contributor (listKeys).')
@allowed([
  'readonly'
  'readwrite'
])
param cosmosKeyAccess string = 'readonly'

@description('COSMOS_KEYS_CACHE_SECONDS.')
@minValue(0)
@maxValue(3600)
param cosmosKeysCacheSeconds int = 60

@description('Set CALLER_AUDIENCE so every non-health route also needs an Entra token with the route\'s app role.')
param enableCallerAuth bool = true

@description('UPSTREAM_TIMEOUT_SECONDS.')
@minValue(1)
@maxValue(120)
param upstreamTimeoutSeconds int = 10

@description('GRAPH_ENDPOINT override; empty: the app derives it from AZURE_CLOUD (environment() has no Microsoft Graph endpoint).')
param graphEndpoint string = ''

@description('Grant Graph User.Read.All, and in keyvault mode Application.Read.All (tenant-wide admin consent), during deployment; needs Privileged Role Administrator. false: an admin grants them afterwards.')
param grantGraphAdminConsent bool = false

@description('Also give the deploying principal Key Vault Crypto User + Reader, for `func start` on a laptop.')
param grantDeployerSignAccess bool = false

@description('GRANT_DEPLOYER_CERTIFICATES_OFFICER: keep Key Vault Certificates Officer on the deploying principal. Default false: the postprovision hook grants it to itself only while it creates the signing certificate, and removes it again (docs/deployer.md); a standing officer could import a certificate version whose key exists outside the vault.')
param grantDeployerCertificatesOfficer bool = false

@description('ROLLOVER_SCHEDULE: NCRONTAB (six fields, UTC) of the timer that runs the certificate rollover; the Event Grid trigger registers renewals within seconds, the timer is the safety net.')
@minLength(11)
param rolloverSchedule string = '0 0 3 * * *'

@description('ROLLOVER_GRACE_DAYS: days a superseded, still valid certificate version stays registered after its successor was used.')
@minValue(0)
@maxValue(3650)
param rolloverGraceDays int = 7

@description('VNET_ENABLED: put the Function App in a virtual network (Flex Consumption VNet integration) and reach Key Vault and storage only through private endpoints, with their public network access disabled (app/network.bicep).')
param vnetEnabled bool = false

@description('ALLOWED_CALLER_IP_RANGES: comma-separated CIDRs and service tags allowed to call the Function App; everything else is denied. Empty: no network restriction.')
param allowedCallerIpRanges string = ''

@description('BROKER_ALERT_EMAIL: email address for the broker\'s alerts (an action group is created for it). With neither this nor BROKER_ACTION_GROUP_ID the alerts have no receiver and the postprovision hook warns.')
param alertEmail string = ''

@description('BROKER_ACTION_GROUP_ID: resource ID of an existing action group (on-call rotation, ITSM, webhook) that every alert notifies.')
param actionGroupId string = ''

@description('ALERT_ON_APP_CREDENTIAL_CHANGES: alert on any credential added to the broker\'s application other than a key the rollover registered. Off by default: it needs the tenant\'s Entra AuditLogs routed to this deployment\'s Log Analytics workspace by a tenant-level diagnostic setting, which a resource-group deployment cannot create (docs/security.md).')
param alertOnAppCredentialChanges bool = false

@description('LOG_RETENTION_DAYS: days the Log Analytics workspace keeps logs (Key Vault audit, FunctionAppLogs, telemetry); 90 by default for audits.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

@description('Traces per second the Azure Monitor sampler keeps (OTEL_TRACES_SAMPLER microsoft.rate_limited); metrics are never sampled.')
param tracesPerSecond string = '5'

@description('ALLOWED_DEPLOYER_IP_RANGES: CIDRs and service tags allowed to reach the SCM (deployment) site. Empty: the SCM site follows ALLOWED_CALLER_IP_RANGES.')
param allowedDeployerIpRanges string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var createUserAssigned = useUserAssignedIdentity || credentialMode == 'federated-managed-identity'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var createCosmos = empty(existingCosmosAccountId)
var cosmosSubscriptionId = createCosmos ? subscription().subscriptionId : split(existingCosmosAccountId, '/')[2]
var cosmosResourceGroupName = createCosmos ? rg.name : split(existingCosmosAccountId, '/')[4]
var cosmosAccountName = createCosmos ? '${abbrs.documentDBDatabaseAccounts}${resourceToken}' : split(existingCosmosAccountId, '/')[8]
// COSMOS_ACCOUNT_IDS is computed, not read from the cosmos module: that module needs the function's
// principal (api's output), and the app settings in api need this ID, so reading the output would
// be a dependency cycle (BCP080: api -> productSettings -> cosmos -> downstreamPrincipalId ->
// functionPrincipalId -> api; Bicep counts both branches of ?:). tests/infra/test_compile.py.
var cosmosAccountId = resourceId(cosmosSubscriptionId, cosmosResourceGroupName, 'Microsoft.DocumentDB/databaseAccounts', cosmosAccountName)

// RESOURCE_KEYS entries split once: '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}'
// (9 segments) or, for a Service Bus / Event Hubs authorization rule, '…/{name}/authorizationRules/{rule}'
// (11). `type` is the lowercased resource type, the key of app/resource-kinds.json.
var keyKinds = loadJsonContent('app/resource-kinds.json')
var keyResourceSegments = [for id in resourceKeys: split(id, '/')]
var listedKeyResources = [for s in keyResourceSegments: {
  id: join(s, '/')
  subscriptionId: s[2]
  resourceGroup: s[4]
  type: toLower(join((length(s) == 11) ? [s[6], s[7], s[9]] : [s[6], s[7]], '/'))
  kind: keyKinds[toLower(join((length(s) == 11) ? [s[6], s[7], s[9]] : [s[6], s[7]], '/'))].kind
  name: s[8]
  rule: (length(s) == 11) ? s[10] : ''
}]
// One pair of caller app roles per listed resource; the Cosmos account of COSMOS_ACCOUNT_IDS counts as listed.
var listedKeyAppRoleTargets = [for r in listedKeyResources: {
  kind: r.kind
  name: r.name
}]
var keyAppRoleTargets = union(listedKeyAppRoleTargets, [
  {
    kind: keyKinds['microsoft.documentdb/databaseaccounts'].kind
    name: cosmosAccountName
  }
])

// Cloud-specific endpoints come from environment(), never hard-coded. Both end with '/'; the
// app expects origins without it.
var loginEndpoint = environment().authentication.loginEndpoint
var authorityHost = endsWith(loginEndpoint, '/') ? substring(loginEndpoint, 0, length(loginEndpoint) - 1) : loginEndpoint
var resourceManager = environment().resourceManager
var armEndpoint = endsWith(resourceManager, '/') ? substring(resourceManager, 0, length(resourceManager) - 1) : resourceManager
// environment().name is AzureCloud / AzureChinaCloud / AzureUSGovernment; SPEC's AZURE_CLOUD
// names the public cloud AzurePublicCloud.
var azureCloud = environment().name == 'AzureCloud' ? 'AzurePublicCloud' : environment().name

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module userAssignedIdentity 'app/identity.bicep' = if (createUserAssigned) {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    skuName: keyVaultSku
    publicNetworkAccess: vnetEnabled ? 'Disabled' : keyVaultPublicNetworkAccess
  }
}

// VNET_ENABLED: VNet, integration subnet, private endpoints + DNS for the vault and storage.
module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    keyVaultName: keyVault.outputs.name
    storageAccountName: storage.outputs.name
  }
}

// The Microsoft Graph Bicep extension deploys in the public cloud only, not in Azure Government or
// Azure China (https://learn.microsoft.com/graph/templates/limitations); the preprovision hook
// refuses a sovereign cloud before anything is deployed.
module entra 'app/graph.bicep' = {
  name: 'entra'
  scope: rg
  params: {
    appUniqueName: '${abbrs.entraApplications}broker-${resourceToken}'
    appDisplayName: 'Key Vault assertion broker (${environmentName})'
    apiUniqueName: '${abbrs.entraApplications}broker-api-${resourceToken}'
    apiDisplayName: 'Key Vault assertion broker API (${environmentName})'
    federatedIdentityPrincipalId: createUserAssigned ? userAssignedIdentity.outputs.principalId : ''
    signInAudience: signInAudience
    allowedTenants: allowedTenantIds
    keyResources: keyAppRoleTargets
  }
}

// The customer tenants as a list (lower case, spaces dropped): one Users.Read:{tenant} caller role each.
// (No lambdas: checkov's parser cannot read them. An empty item makes the app answer 503 anyway.)
var allowedTenantIds = empty(trim(allowedTenants)) ? [] : split(toLower(replace(allowedTenants, ' ', '')), ',')

// SPEC "Settings": every setting the deployment knows. Optional settings whose value would be
// the app's own default-by-absence (a pinned version, an endpoint override, a user-assigned
// identity) are only added when set.
var productSettings = {
  ENTRA_TENANT_ID: tenant().tenantId
  ENTRA_CLIENT_ID: entra.outputs.appId
  KEY_VAULT_URL: keyVault.outputs.vaultUri
  KEY_VAULT_CERTIFICATE_NAME: certificateName
  AZURE_AUTHORITY_HOST: authorityHost
  AZURE_CLOUD: azureCloud
  ARM_ENDPOINT: armEndpoint
  ASSERTION_ALGORITHM: assertionAlgorithm
  ASSERTION_SEND_X5C: assertionSendX5c ? 'true' : 'false'
  ASSERTION_LIFETIME_SECONDS: string(assertionLifetimeSeconds)
  COSMOS_ACCOUNT_IDS: cosmosAccountId
  COSMOS_KEYS_CACHE_SECONDS: string(cosmosKeysCacheSeconds)
  KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'true'
  CREDENTIAL_MODE: credentialMode
  UPSTREAM_TIMEOUT_SECONDS: string(upstreamTimeoutSeconds)
  // The certificate rollover: the application object whose keyCredentials it rolls (its object
  // ID, not its client ID), the timer's schedule (function_app registers the timer with it when
  // the worker indexes the app) and the grace period.
  ENTRA_APPLICATION_OBJECT_ID: entra.outputs.appObjectId
  ROLLOVER_SCHEDULE: rolloverSchedule
  ROLLOVER_GRACE_DAYS: string(rolloverGraceDays)
}
// ENTRA_ALLOWED_TENANTS goes as given: the app validates it (a typo is a 503 naming the setting, never ignored).
var optionalSettings = union(
  createUserAssigned ? { AZURE_CLIENT_ID: userAssignedIdentity.outputs.clientId } : {},
  empty(certificateVersion) ? {} : { KEY_VAULT_CERTIFICATE_VERSION: certificateVersion },
  empty(graphEndpoint) ? {} : { GRAPH_ENDPOINT: graphEndpoint },
  enableCallerAuth ? { CALLER_AUDIENCE: callerAudience } : {},
  empty(trim(allowedTenants)) ? {} : { ENTRA_ALLOWED_TENANTS: trim(allowedTenants) },
  empty(resourceKeys) ? {} : { RESOURCE_KEYS: join(resourceKeys, ',') }
)
// Both the App ID URI and the client ID are accepted as the caller token audience.
var callerAudience = '${entra.outputs.apiIdentifierUri},${entra.outputs.apiAppId}'

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    tracesPerSecond: tracesPerSecond
    userAssignedIdentityId: createUserAssigned ? userAssignedIdentity.outputs.id : ''
    userAssignedIdentityClientId: createUserAssigned ? userAssignedIdentity.outputs.clientId : ''
    pythonVersion: pythonVersion
    productSettings: union(productSettings, optionalSettings)
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    allowedCallerIpRanges: allowedCallerIpRanges
    allowedDeployerIpRanges: allowedDeployerIpRanges
  }
}

// Observability (README "Operating the broker"): alert rules and a workbook over the broker's
// OpenTelemetry signals in Application Insights.
module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: resourceToken
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    keyVaultId: keyVault.outputs.id
    alertEmail: alertEmail
    actionGroupId: actionGroupId
    alertOnAppCredentialChanges: alertOnAppCredentialChanges
    applicationObjectId: entra.outputs.appObjectId
    servicePrincipalObjectId: entra.outputs.servicePrincipalId
  }
  // The Key Vault import alert reads AZKVAuditLogs, which the diagnostic settings feed (it also
  // skips query validation: the table may have no rows yet; app/alerts.bicep).
  dependsOn: [
    diagnostics
  ]
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

// The identity the function's code runs as: the user-assigned one when present (AZURE_CLIENT_ID
// is then set), else the system-assigned one.
var functionPrincipalId = createUserAssigned ? userAssignedIdentity.outputs.principalId : api.outputs.systemAssignedPrincipalId

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    functionPrincipalId: functionPrincipalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    grantDeployerSignAccess: grantDeployerSignAccess
    grantDeployerCertificatesOfficer: grantDeployerCertificatesOfficer
    keyVaultName: keyVault.outputs.name
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// Who calls ARM and Graph downstream: the app registration's service principal, or in
// managed-identity mode the function's own identity.
var downstreamPrincipalId = credentialMode == 'managed-identity' ? functionPrincipalId : entra.outputs.servicePrincipalId

module cosmosAccount 'app/cosmos-account.bicep' = if (createCosmos) {
  name: 'cosmos-account'
  scope: rg
  params: {
    name: cosmosAccountName
    location: location
    tags: tags
  }
}

module cosmos 'app/cosmos.bicep' = {
  name: 'cosmos'
  scope: resourceGroup(cosmosSubscriptionId, cosmosResourceGroupName)
  params: {
    accountName: cosmosAccountName
    principalId: downstreamPrincipalId
    keyAccess: cosmosKeyAccess
  }
  dependsOn: [
    cosmosAccount
  ]
}

// RESOURCE_KEYS: one custom role with exactly the listed kinds' key actions and read, assigned on
// each listed resource (in that resource's own resource group) to the downstream principal.
module resourceKeyAccess 'app/resource-keys.bicep' = if (!empty(resourceKeys)) {
  name: 'resource-keys'
  params: {
    keyResources: listedKeyResources
    principalId: downstreamPrincipalId
    roleName: 'Key Vault assertion broker resource keys (${environmentName}, ${resourceToken})'
  }
}

// Audit trail: Key Vault audit logs, FunctionAppLogs, Cosmos DB control-plane logs -> Log Analytics.
module diagnostics 'app/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    workspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    keyVaultName: keyVault.outputs.name
    functionAppName: api.outputs.name
    cosmosAccountName: createCosmos ? cosmosAccount.outputs.name : ''
  }
}

module graphConsent 'app/graphgrant.bicep' = if (grantGraphAdminConsent) {
  name: 'graph-consent'
  scope: rg
  params: {
    principalId: downstreamPrincipalId
    grantApplicationReadAll: credentialMode == 'keyvault'
  }
}

// Certificate rollover (keyvault mode): Key Vault's certificate events reach Event Grid; the
// subscription to the function is the postdeploy hook's. The app registration reads its own
// keyCredentials with Application.Read.All and rolls them with addKey/removeKey, which need no
// permission on itself; it owns nothing and holds nothing that writes applications.

module keyVaultEvents 'app/eventgrid.bicep' = if (credentialMode == 'keyvault') {
  name: 'keyvault-events'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    keyVaultName: keyVault.outputs.name
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output FUNCTION_APP_URL string = 'https://${api.outputs.defaultHostName}'
output ENTRA_TENANT_ID string = tenant().tenantId
output ENTRA_CLIENT_ID string = entra.outputs.appId
output ENTRA_APP_OBJECT_ID string = entra.outputs.appObjectId
output ENTRA_SERVICE_PRINCIPAL_ID string = entra.outputs.servicePrincipalId
output ENTRA_API_APP_ID string = entra.outputs.apiAppId
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.vaultUri
output KEY_VAULT_SKU string = keyVaultSku
output KEY_VAULT_CERTIFICATE_NAME string = certificateName
output KEY_VAULT_CERTIFICATE_VERSION string = certificateVersion
output USER_ASSIGNED_IDENTITY_CLIENT_ID string = createUserAssigned ? userAssignedIdentity.outputs.clientId : ''
output AZURE_AUTHORITY_HOST string = authorityHost
output AZURE_CLOUD string = azureCloud
output ARM_ENDPOINT string = armEndpoint
output GRAPH_ENDPOINT string = graphEndpoint
output ASSERTION_ALGORITHM string = assertionAlgorithm
output ASSERTION_SEND_X5C string = assertionSendX5c ? 'true' : 'false'
output ASSERTION_LIFETIME_SECONDS string = string(assertionLifetimeSeconds)
output COSMOS_ACCOUNT_IDS string = cosmosAccountId
output COSMOS_KEYS_CACHE_SECONDS string = string(cosmosKeysCacheSeconds)
output CALLER_AUDIENCE string = enableCallerAuth ? callerAudience : ''
output ENTRA_SIGN_IN_AUDIENCE string = signInAudience
output ENTRA_ALLOWED_TENANTS string = trim(allowedTenants)
output CREDENTIAL_MODE string = credentialMode
output UPSTREAM_TIMEOUT_SECONDS string = string(upstreamTimeoutSeconds)
output ENTRA_APPLICATION_OBJECT_ID string = entra.outputs.appObjectId
output ROLLOVER_SCHEDULE string = rolloverSchedule
output ROLLOVER_GRACE_DAYS string = string(rolloverGraceDays)
// For the postdeploy hook's Event Grid subscription (empty outside keyvault mode).
output AZURE_FUNCTION_APP_ID string = api.outputs.id
output EVENT_GRID_SYSTEM_TOPIC_NAME string = credentialMode == 'keyvault' ? keyVaultEvents.outputs.name : ''
output VNET_ENABLED string = vnetEnabled ? 'true' : 'false'
output ALLOWED_CALLER_IP_RANGES string = allowedCallerIpRanges
output ALLOWED_DEPLOYER_IP_RANGES string = allowedDeployerIpRanges
// For the postprovision hook: alerts without any receiver are a warning, not silence.
output ALERTS_HAVE_RECEIVER string = alerts.outputs.hasReceiver ? 'true' : 'false'
output KEY_VAULT_ID string = keyVault.outputs.id
