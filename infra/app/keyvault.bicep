// Key Vault that holds the signing certificate. RBAC authorization only (no access policies),
// soft delete and purge protection on. The certificate itself is not an ARM resource: the azd
// postprovision hook (scripts/postprovision.sh|ps1) creates it with a non-exportable key.
// Premium is needed for HSM-backed keys (RSA-HSM); the hook picks the key type from the SKU.
// Reference: https://learn.microsoft.com/azure/templates/microsoft.keyvault/vaults

@description('Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('standard: software-protected keys; premium: HSM-protected keys (RSA-HSM).')
@allowed([
  'standard'
  'premium'
])
param skuName string = 'standard'

@description('Enabled: reachable from the internet (Entra RBAC still required). Disabled: only through private endpoints (network.bicep creates one when VNET_ENABLED is true; main.bicep then passes Disabled).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Days a deleted vault or object is kept before it can be purged.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:The firewall follows the publicNetworkAccess parameter; Flex Consumption without VNet integration has no fixed outbound addresses to allow-list, so Enabled means Allow and every data-plane call still needs an Entra token and an RBAC role.
  // checkov:skip=CKV2_AZURE_32:The private endpoint is created by network.bicep (another module, which checkov does not connect to this vault) when VNET_ENABLED is true; off by default.
  // checkov:skip=CKV_AZURE_189:Public network access is the publicNetworkAccess parameter: Disabled with VNET_ENABLED (private endpoint in network.bicep); Enabled by default because the function then has no VNet integration.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: skuName
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    // (comparisons in parentheses: checkov's Bicep parser binds ?: tighter than ==)
    networkAcls: {
      bypass: 'None'
      defaultAction: (publicNetworkAccess == 'Enabled') ? 'Allow' : 'Deny'
    }
  }
}

output name string = vault.name
output id string = vault.id
output vaultUri string = vault.properties.vaultUri
