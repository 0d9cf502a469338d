// Grants Microsoft Graph's User.Read.All application permission (an app role assignment on the
// Microsoft Graph service principal) to one principal, and, for the certificate rollover,
// Application.ReadWrite.OwnedBy (the app reads and rolls its own keyCredentials as its own owner). This IS tenant-wide admin consent, so the
// deploying user needs Privileged Role Administrator (or Global Administrator); main.bicep calls
// it only when grantGraphAdminConsent is true. Otherwise an admin grants consent afterwards (see
// infra/README.md "Admin consent").
// Reference: https://learn.microsoft.com/graph/templates/reference/approleassignedto?view=graph-bicep-1.0
extension microsoftGraphV1

@description('Object ID of the service principal (app registration SP or managed identity) to grant User.Read.All.')
param principalId string

@description('Also grant Application.ReadWrite.OwnedBy (keyvault mode: the certificate rollover).')
param grantApplicationOwnedBy bool = false

var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
var userReadAllAppRoleId = 'df021288-bdef-4463-88db-98f22de89214'
var applicationOwnedByAppRoleId = '18a4783c-866b-4cc7-a460-3d5e5662c884'

resource microsoftGraph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource userReadAll 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: userReadAllAppRoleId
  principalId: principalId
  resourceId: microsoftGraph.id
}

resource applicationOwnedBy 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (grantApplicationOwnedBy) {
  appRoleId: applicationOwnedByAppRoleId
  principalId: principalId
  resourceId: microsoftGraph.id
}
