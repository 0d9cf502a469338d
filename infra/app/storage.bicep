// Storage for the Functions host (AzureWebJobsStorage) and the Flex Consumption deployment
// container. Shared keys are off: the host and the platform reach it only with the function's
// managed identity (roles in rbac.bicep).
// References: https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
//             https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Enabled: reachable over the public endpoint (Entra-authorised identities only, shared keys are off). Disabled (VNET_ENABLED): only through the private endpoints of network.bicep.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_33:Queue service logging is not needed; the host's queues carry no data of ours and Application Insights collects host logs.
  // checkov:skip=CKV_AZURE_206:LRS is enough for host state and a redeployable package; nothing here needs geo-redundancy.
  // checkov:skip=CKV_AZURE_59:publicNetworkAccess is a parameter: Disabled with VNET_ENABLED (private endpoints in network.bicep); without VNet integration Flex Consumption reaches its host storage over the public endpoint, and shared keys are disabled, so only Entra-authorised identities get in.
  // checkov:skip=CKV_AZURE_244:Local users (SFTP) are not enabled on this account.
  // checkov:skip=CKV2_AZURE_1:Microsoft-managed keys are enough for host state; no customer data is stored.
  // checkov:skip=CKV2_AZURE_33:Private endpoints are created by network.bicep (another module, which checkov does not connect to this account) when VNET_ENABLED is true; off by default.
  // checkov:skip=CKV_AZURE_35:Default action follows publicNetworkAccess: Deny when Disabled (VNET_ENABLED); Allow otherwise because Flex Consumption without VNet integration has no fixed addresses to allow-list; shared keys are off.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    // (comparisons in parentheses: checkov's Bicep parser binds ?: tighter than ==)
    networkAcls: {
      bypass: (publicNetworkAccess == 'Enabled') ? 'AzureServices' : 'None'
      defaultAction: (publicNetworkAccess == 'Enabled') ? 'Allow' : 'Deny'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
