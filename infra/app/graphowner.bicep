// Makes the broker app registration's service principal an owner of its own application, so the
// function can read its keyCredentials and roll them (Graph addKey/removeKey) with the application
// permission Application.ReadWrite.OwnedBy ("manage apps that this app creates or owns"; granted
// with admin consent, see graphgrant.bicep and infra/README.md). A separate module because the
// service principal exists only after the application (graph.bicep): the same application is
// declared again by its uniqueName, which Graph Bicep upserts (PATCH), and `owners` uses the default
// append semantics, so existing owners and every property not declared here are kept.
// References: https://learn.microsoft.com/graph/templates/concept-relationships-in-graph-types
//             https://learn.microsoft.com/graph/api/application-addkey (permissions)
extension microsoftGraphV1

@description('uniqueName of the broker app registration (as in graph.bicep).')
param appUniqueName string

@description('Its display name (required on every declaration).')
param appDisplayName string

@description('Object ID of the app registration\'s own service principal.')
param servicePrincipalId string

resource brokerAppOwners 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: appUniqueName
  displayName: appDisplayName
  owners: {
    relationships: [
      servicePrincipalId
    ]
  }
}
