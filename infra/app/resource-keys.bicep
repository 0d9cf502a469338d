// RESOURCE_KEYS access (SPEC "Resource keys", "Deployment facts"): ONE custom role definition
// holding exactly the key actions and `read` of the kinds that are listed (resource-kinds.json,
// computed from the listed IDs' types), assignable at the resource groups of the listed
// resources, and one assignment of it per listed resource with the resource as its scope
// (resource-key-access.bicep, deployed into each resource's own resource group). Nothing broader:
// no assignment at a group or subscription. An entry of a type not in resource-kinds.json fails
// the deployment (the lookup has no such property) instead of granting anything.
// References: https://learn.microsoft.com/azure/role-based-access-control/custom-roles-bicep
//             https://learn.microsoft.com/azure/templates/microsoft.authorization/roledefinitions
targetScope = 'subscription'

@description('main.bicep listedKeyResources: one object per RESOURCE_KEYS entry (id, subscriptionId, resourceGroup, type, kind, name, rule).')
param keyResources array

@description('Principal (object) ID that lists the keys: the app registration service principal, or the function identity in managed-identity mode.')
param principalId string

@description('Role name, unique in the tenant.')
param roleName string

var kinds = loadJsonContent('resource-kinds.json')
// For-expressions rather than lambdas: checkov's pinned Bicep parser reads no lambda.
var typesOfListed = [for r in keyResources: r.type]
var listedTypes = union(typesOfListed, [])
var actionsPerType = [for t in listedTypes: kinds[t].actions]
var roleActions = flatten(actionsPerType)
var groupsOfListed = [for r in keyResources: '/subscriptions/${r.subscriptionId}/resourceGroups/${r.resourceGroup}']
var assignableScopes = union(groupsOfListed, [])
var roleGuid = guid(subscription().id, roleName)

resource keyRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: roleName
    description: 'Lists the keys of the resources in RESOURCE_KEYS and reads them (local-authentication check); assigned per resource to the Key Vault assertion broker.'
    type: 'CustomRole'
    permissions: [
      {
        actions: roleActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

module access 'resource-key-access.bicep' = [for (keyResource, i) in keyResources: {
  name: 'resource-key-access-${i}'
  scope: resourceGroup(keyResource.subscriptionId, keyResource.resourceGroup)
  params: {
    keyResource: keyResource
    principalId: principalId
    keyRoleGuid: roleGuid
  }
  dependsOn: [
    keyRole
  ]
}]

output roleDefinitionId string = keyRole.id
output roleActions array = roleActions
