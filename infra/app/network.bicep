// Private networking (VNET_ENABLED=true; main.bicep deploys this module only then):
//  - a virtual network with two subnets:
//      app                -> delegated to Microsoft.App/environments, the delegation Flex
//                            Consumption VNet integration requires (the Function App's
//                            virtualNetworkSubnetId, api.bicep); all its outbound traffic,
//                            Key Vault and host storage included, leaves through this subnet;
//      private-endpoints  -> the private endpoints below (network policies off for them);
//    both behind one network security group that keeps Azure's default rules (inbound only
//    from inside the VNet / the load balancer);
//  - private endpoints for the Key Vault (`vault`) and the storage account (`blob` for the
//    deployment container and host blobs, `queue` and `table` for the host), each with its
//    private DNS zone linked to the VNet, so the vault and storage names resolve to private
//    addresses inside it. main.bicep disables public network access on both when this is on.
// DNS zone names follow the cloud: environment().suffixes (storage: core.windows.net,
// core.chinacloudapi.cn, core.usgovcloudapi.net; Key Vault: privatelink.vaultcore.<vault suffix>).
// References:
//   https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#virtual-network-integration
//   https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#enable-virtual-network-integration
//   Azure-Samples/functions-quickstart-python-http-azd (infra/app/vnet.bicep: app subnet delegated
//     to Microsoft.App/environments, private-endpoints subnet)
//   https://learn.microsoft.com/azure/private-link/private-endpoint-dns (zone per sub-resource)
//   https://learn.microsoft.com/azure/key-vault/general/private-link-service
//   https://learn.microsoft.com/azure/templates/microsoft.network/privateendpoints

@description('Virtual network name.')
param name string

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Key Vault that gets a private endpoint.')
param keyVaultName string

@description('Storage account (host storage + deployment container) that gets blob/queue/table private endpoints.')
param storageAccountName string

@description('Address space of the virtual network.')
param addressPrefix string = '10.0.0.0/16'

@description('Subnet for Flex Consumption VNet integration (at least /28; /24 leaves room to scale out).')
param appSubnetPrefix string = '10.0.1.0/24'

@description('Subnet for the private endpoints.')
param privateEndpointSubnetPrefix string = '10.0.2.0/24'

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'
var storageSuffix = environment().suffixes.storage
// keyvaultDns is '.vault.azure.net' (public) / '.vault.azure.cn' / '.vault.usgovcloudapi.net';
// the Private Link zone is privatelink.vaultcore.<same suffix>.
var keyVaultZone = 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// One row per private endpoint: the sub-resource (groupId) and the zone its name resolves in.
var endpoints = [
  {
    name: 'vault'
    groupId: 'vault'
    zone: keyVaultZone
    target: keyVault.id
  }
  {
    name: 'blob'
    groupId: 'blob'
    zone: 'privatelink.blob.${storageSuffix}'
    target: storageAccount.id
  }
  {
    name: 'queue'
    groupId: 'queue'
    zone: 'privatelink.queue.${storageSuffix}'
    target: storageAccount.id
  }
  {
    name: 'table'
    groupId: 'table'
    zone: 'privatelink.table.${storageSuffix}'
    target: storageAccount.id
  }
]

resource nsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: 'nsg-${name}'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for endpoint in endpoints: {
  name: endpoint.zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (endpoint, i) in endpoints: {
  parent: zones[i]
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [for endpoint in endpoints: {
  name: 'pe-${endpoint.name}-${name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, privateEndpointSubnetName)
    }
    privateLinkServiceConnections: [
      {
        name: endpoint.name
        properties: {
          privateLinkServiceId: endpoint.target
          groupIds: [
            endpoint.groupId
          ]
        }
      }
    ]
  }
}]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [for (endpoint, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: endpoint.name
        properties: {
          privateDnsZoneId: zones[i].id
        }
      }
    ]
  }
}]

output vnetId string = vnet.id
output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, appSubnetName)
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, privateEndpointSubnetName)
