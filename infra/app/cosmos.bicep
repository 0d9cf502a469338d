// Cosmos DB account whose keys the function serves (new, or an existing one passed by resource
// ID; main.bicep deploys this module into that account's resource group), and the role that lets
// the function's downstream principal call listKeys / readonlykeys:
//   readonly  -> Cosmos DB Account Reader Role   (readonlykeys)
//   readwrite -> DocumentDB Account Contributor  (listKeys)
// API version 2025-10-15 per SPEC. Reference:
// https://learn.microsoft.com/azure/templates/microsoft.documentdb/2025-10-15/databaseaccounts

@description('Account name (new or existing).')
param accountName string

@description('true: create the account here; false: it exists already.')
param createAccount bool

@description('Azure region for a new account.')
param location string

@description('Resource tags for a new account.')
param tags object = {}

@description('Principal (object) ID that reads the keys: the app registration service principal, or the function identity in managed-identity mode.')
param principalId string

@description('readonly: Cosmos DB Account Reader Role; readwrite: DocumentDB Account Contributor.')
@allowed([
  'readonly'
  'readwrite'
])
param keyAccess string = 'readonly'

@description('Public network access of a new account.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

var roles = loadJsonContent('roles.json')
var keyRoleId = keyAccess == 'readwrite' ? roles.documentDbAccountContributor.id : roles.cosmosDbAccountReaderRole.id

// checkov:skip=CKV_AZURE_140:Key (local) auth must stay on: serving this account's keys to callers is what the broker is for.
// checkov:skip=CKV_AZURE_100:Microsoft-managed encryption keys are enough for the demo account; bring your own account (existingCosmosAccountId) for CMK.
// checkov:skip=CKV_AZURE_99:The IP firewall follows publicNetworkAccess; callers of the served keys are not known in advance.
// checkov:skip=CKV_AZURE_101:Public network access is a parameter (publicNetworkAccess); Disabled needs private endpoints these templates do not create.
resource newAccount 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' = if (createAccount) {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: publicNetworkAccess
    disableKeyBasedMetadataWriteAccess: true
    disableLocalAuth: false
  }
}

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' existing = {
  name: accountName
}

resource keyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, keyRoleId)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyRoleId)
  }
  dependsOn: [
    newAccount
  ]
}

output accountId string = account.id
output accountName string = account.name
