// A new serverless Cosmos DB account for the broker to serve keys of. main.bicep deploys this
// module only when no existing account is given (existingCosmosAccountId). A separate module
// rather than `resource ... = if (...)` so checkov evaluates its properties.
// API version 2025-10-15 per SPEC. Reference:
// https://learn.microsoft.com/azure/templates/microsoft.documentdb/2025-10-15/databaseaccounts

@description('Account name (3-44 lowercase letters, digits, hyphens).')
@minLength(3)
@maxLength(44)
param name string

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Public network access.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource newAccount 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' = {
  // checkov:skip=CKV_AZURE_140:Key (local) auth must stay on: serving this account's keys to callers is what the broker is for.
  // checkov:skip=CKV_AZURE_100:Microsoft-managed encryption keys are enough for the demo account; bring your own account (existingCosmosAccountId) for CMK.
  // checkov:skip=CKV_AZURE_99:The IP firewall follows publicNetworkAccess; callers of the served keys are not known in advance.
  // checkov:skip=CKV_AZURE_101:Public network access is a parameter (publicNetworkAccess); Disabled needs private endpoints these templates do not create.
  name: name
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

output id string = newAccount.id
output name string = newAccount.name
