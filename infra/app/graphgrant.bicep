// Grants Microsoft Graph's User.Read.All application permission (an app role assignment on the
// Microsoft Graph service principal) to one principal, and, for the certificate rollover,
// Application.Read.All (read-only: the rollover reads its own keyCredentials; addKey/removeKey on
// itself need no permission). This IS tenant-wide admin consent, so the deploying user needs
// Privileged Role Administrator (or Global Administrator); main.bicep calls it only when
// grantGraphAdminConsent is true. Otherwise an admin grants consent afterwards (see
// infra/README.md "Graph permissions"). No permission that writes applications is ever granted
// (docs/custody.md).
// Reference: https://learn.microsoft.com/graph/templates/reference/approleassignedto?view=graph-bicep-1.0
extension microsoftGraphV1

@description('Object ID of the service principal (app registration SP or managed identity) to grant User.Read.All.')
param principalId string

@description('Also grant Application.Read.All (keyvault mode: the certificate rollover reads its own application).')
param grantApplicationReadAll bool = false

var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
var userReadAllAppRoleId = 'df021288-bdef-4463-88db-98f22de89214'
var applicationReadAllAppRoleId = '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30'

resource microsoftGraph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource userReadAll 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: userReadAllAppRoleId
  principalId: principalId
  resourceId: microsoftGraph.id
}

resource applicationReadAll 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (grantApplicationReadAll) {
  appRoleId: applicationReadAllAppRoleId
  principalId: principalId
  resourceId: microsoftGraph.id
}
