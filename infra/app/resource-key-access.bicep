// The broker's custom key role (resource-keys.bicep) assigned on ONE listed resource, deployed
// into that resource's resource group (so a RESOURCE_KEYS entry in another group or subscription
// works). Scope = the resource itself, nothing broader. A role assignment's scope must be a
// declared resource of a known type, hence one `existing` declaration per kind, deployed only for
// the listed resource's type (resource-kinds.json).
// Service Bus / Event Hubs: the listed resource is an authorization rule; the key role is assigned
// on the rule (listKeys of that rule only), and the built-in Reader on its namespace, because the
// local-authentication check reads the namespace (`properties.disableLocalAuth`) and an assignment
// on a child never covers its parent. Reader lists no key (no action of it is a */action).
// Names are guid(resource id, principal, role) so redeployments are idempotent.
// References: https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template
//             https://learn.microsoft.com/azure/azure-resource-manager/bicep/scope-extension-resources

@description('One entry of main.bicep listedKeyResources: id, subscriptionId, resourceGroup, type (lowercased), kind, name, rule.')
param keyResource object

@description('Principal (object) ID that lists the keys: the app registration service principal, or the function identity in managed-identity mode.')
param principalId string

@description('GUID of the custom key role definition (resource-keys.bicep).')
param keyRoleGuid string

var roles = loadJsonContent('roles.json')
var keyRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyRoleGuid)
var readerRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader.id)
var resourceType = keyResource.type
var resourceName = keyResource.name
var ruleName = keyResource.rule
var isCosmos = resourceType == 'microsoft.documentdb/databaseaccounts'
var isStorage = resourceType == 'microsoft.storage/storageaccounts'
var isServiceBus = resourceType == 'microsoft.servicebus/namespaces/authorizationrules'
var isEventHubs = resourceType == 'microsoft.eventhub/namespaces/authorizationrules'
var isRedis = resourceType == 'microsoft.cache/redis'
var isSearch = resourceType == 'microsoft.search/searchservices'
var isCognitive = resourceType == 'microsoft.cognitiveservices/accounts'
var isAppConfig = resourceType == 'microsoft.appconfiguration/configurationstores'

// API versions: the current stable ones (AZURE-PROTOCOLS.md 12, bicep-types-az); Cosmos DB the one
// SPEC's deployment facts name, as cosmos.bicep.
resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' existing = if (isCosmos) {
  name: resourceName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-04-01' existing = if (isStorage) {
  name: resourceName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2026-01-01' existing = if (isServiceBus) {
  name: resourceName
}

resource serviceBusRule 'Microsoft.ServiceBus/namespaces/authorizationRules@2026-01-01' existing = if (isServiceBus) {
  parent: serviceBus
  name: ruleName
}

resource eventHubs 'Microsoft.EventHub/namespaces@2026-01-01' existing = if (isEventHubs) {
  name: resourceName
}

resource eventHubsRule 'Microsoft.EventHub/namespaces/authorizationRules@2026-01-01' existing = if (isEventHubs) {
  parent: eventHubs
  name: ruleName
}

resource redis 'Microsoft.Cache/redis@2024-11-01' existing = if (isRedis) {
  name: resourceName
}

resource search 'Microsoft.Search/searchServices@2025-05-01' existing = if (isSearch) {
  name: resourceName
}

resource cognitive 'Microsoft.CognitiveServices/accounts@2026-07-01' existing = if (isCognitive) {
  name: resourceName
}

resource appConfig 'Microsoft.AppConfiguration/configurationStores@2024-06-01' existing = if (isAppConfig) {
  name: resourceName
}

resource cosmosKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isCosmos) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: cosmos
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource storageKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isStorage) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource serviceBusKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isServiceBus) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: serviceBusRule
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource serviceBusNamespaceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isServiceBus) {
  name: guid(keyResource.id, principalId, roles.reader.id)
  scope: serviceBus
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: readerRoleDefinitionId
  }
}

resource eventHubsKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isEventHubs) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: eventHubsRule
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource eventHubsNamespaceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isEventHubs) {
  name: guid(keyResource.id, principalId, roles.reader.id)
  scope: eventHubs
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: readerRoleDefinitionId
  }
}

resource redisKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isRedis) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: redis
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource searchKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isSearch) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: search
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource cognitiveKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isCognitive) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: cognitive
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}

resource appConfigKeys 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isAppConfig) {
  name: guid(keyResource.id, principalId, keyRoleGuid)
  scope: appConfig
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyRoleDefinitionId
  }
}
