// User-assigned managed identity: optional; required for CREDENTIAL_MODE=federated-managed-identity
// because only user-assigned identities can be trusted through a federated identity credential.
// Reference: https://learn.microsoft.com/azure/templates/microsoft.managedidentity/userassignedidentities

@description('Name of the user-assigned identity.')
param name string

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
