// Every Azure role assignment of the deployment except Cosmos DB (cosmos.bicep, which may target
// another resource group). Role definition IDs come from the one table in roles.json:
//
//   role                              GUID                                  grantee / why
//   Key Vault Crypto User             12338af0-0e69-4776-bea7-57ae8d297424  function: keys/sign (vault
//                                      scope: the key is created by the postprovision hook, after this
//                                      deployment, and a role assignment's scope must already exist;
//                                      the vault is dedicated to the signing certificate)
//   Key Vault Reader                  21090545-7ca7-4776-b22c-e363652d74d2  function: certificate metadata
//   Key Vault Certificates Officer    a4417e6f-fecd-4de8-b567-7b0420556985  deploying user: the hook
//                                      (first provisioning; GRANT_DEPLOYER_CERTIFICATES_OFFICER=false after)
//   Storage Blob Data Owner           b7e6dc6d-f1e8-4753-8033-0f276bb0955b  function: host + deployment blobs
//   Storage Queue Data Contributor    974c5e8b-45b9-4653-ba55-5f855dd0fb88  function: host queues
//   Storage Table Data Contributor    0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3  function: host tables
//   Monitoring Metrics Publisher      3913510d-42f4-4e42-8a64-420c390055eb  function: telemetry
//
// Deliberately NOT granted to the function: Key Vault Certificate User / Secrets User (they read
// the certificate's secret, i.e. the private key of an exportable certificate), Key Vault
// Administrator, Contributor, Owner.
// Names are guid(scope.id, principalId, roleId) so redeployments are idempotent.
// Reference: https://learn.microsoft.com/azure/key-vault/general/rbac-guide

@description('Principal ID of the identity the function runs as (user-assigned if present, else system-assigned).')
param functionPrincipalId string

@description('Principal ID of the deploying user or CI principal; empty skips its assignments.')
param deployerPrincipalId string = ''

@description('User or ServicePrincipal (CI).')
@allowed([
  'User'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

@description('Also give the deploying principal Key Vault Crypto User + Key Vault Reader so `func start` on a laptop can sign with the deployed certificate.')
param grantDeployerSignAccess bool = false

@description('Keep Key Vault Certificates Officer on the deploying principal. Off by default: the postprovision hook grants it for its own run only and removes it, since an officer can import a certificate version whose key exists outside the vault.')
param grantDeployerCertificatesOfficer bool = false

param keyVaultName string
param storageAccountName string
param applicationInsightsName string

var roles = loadJsonContent('roles.json')
var grantDeployer = !empty(deployerPrincipalId)

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// --- function identity -------------------------------------------------------------------

resource functionKeyVaultCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionPrincipalId, roles.keyVaultCryptoUser.id)
  scope: vault
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser.id)
  }
}

resource functionKeyVaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionPrincipalId, roles.keyVaultReader.id)
  scope: vault
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultReader.id)
  }
}

resource functionStorageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, roles.storageBlobDataOwner.id)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner.id)
  }
}

resource functionStorageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, roles.storageQueueDataContributor.id)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor.id)
  }
}

resource functionStorageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, roles.storageTableDataContributor.id)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor.id)
  }
}

resource functionMonitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, functionPrincipalId, roles.monitoringMetricsPublisher.id)
  scope: applicationInsights
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher.id)
  }
}

// --- deploying principal -----------------------------------------------------------------

resource deployerKeyVaultCertificatesOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer && grantDeployerCertificatesOfficer) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultCertificatesOfficer.id)
  scope: vault
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCertificatesOfficer.id)
  }
}

resource deployerKeyVaultCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer && grantDeployerSignAccess) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultCryptoUser.id)
  scope: vault
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser.id)
  }
}

// Reader also when the deployer no longer holds Certificates Officer: the postprovision hook reads
// the certificate (to check it and register its thumbprint) on every provisioning.
resource deployerKeyVaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer && (grantDeployerSignAccess || !grantDeployerCertificatesOfficer)) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultReader.id)
  scope: vault
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultReader.id)
  }
}
