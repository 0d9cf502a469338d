// The role on the Cosmos DB account whose keys the function serves (created by cosmos-account.bicep
// or existing; main.bicep deploys this module into that account's resource group) that lets
// the function's downstream principal call listKeys / readonlykeys:
//   readonly  -> Cosmos DB Account Reader Role   (readonlykeys)
//   readwrite -> DocumentDB Account Contributor  (listKeys)
// API version 2025-10-15 per SPEC. Reference:
// https://learn.microsoft.com/azure/templates/microsoft.documentdb/2025-10-15/databaseaccounts

@description('Account name (new or existing).')
param accountName string

@description('Principal (object) ID that reads the keys: the app registration service principal, or the function identity in managed-identity mode.')
param principalId string

@description('readonly: Cosmos DB Account Reader Role; readwrite: DocumentDB Account Contributor.')
@allowed([
  'readonly'
  'readwrite'
])
param keyAccess string = 'readonly'

var roles = loadJsonContent('roles.json')
var keyRoleId = (keyAccess == 'readwrite') ? roles.documentDbAccountContributor.id : roles.cosmosDbAccountReaderRole.id

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
}

output accountId string = account.id
output accountName string = account.name
