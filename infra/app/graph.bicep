// Entra objects, declared with the Microsoft Graph Bicep extension (bicepconfig.json:
// "microsoftGraphV1": "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0").
//  - the app registration the function authenticates as (+ its service principal), asking for
//    the Graph application permissions User.Read.All and Application.Read.All (read-only: the
//    certificate rollover reads its own keyCredentials; addKey/removeKey on itself need no
//    permission), granted in graphgrant.bicep or by an admin. No Graph permission that writes
//    applications and no owner: with either, the app's own token could add a password or a
//    federated credential, a credential outside Key Vault (docs/custody.md);
//  - when a user-assigned identity is used, the federated identity credential that lets that
//    identity's token stand in for a client assertion (CREDENTIAL_MODE=federated-managed-identity);
//  - the API app registration callers get tokens for (CALLER_AUDIENCE), with the app roles the
//    routes require (and Users.Read:{tenant} per customer tenant of ENTRA_ALLOWED_TENANTS).
// signInAudience AzureADMultipleOrgs lets customers' administrators consent to the app in their own
// tenants (admin consent creates its service principal there; docs/tenants.md). The same
// certificate serves every tenant: keyCredentials live on this one application object.
// Reference: https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant
// keyCredentials are deliberately not declared: the postprovision hook appends the Key Vault
// certificate's public part. Graph Bicep updates existing objects with PATCH (upsert by
// uniqueName), so properties not declared here are kept on every redeploy.
// Public cloud only: Microsoft Graph Bicep deployments are not supported in sovereign clouds (Azure
// Government, Azure China): https://learn.microsoft.com/graph/templates/limitations. The
// preprovision hook refuses them; the federation audiences below cover the other clouds only for
// app registrations created some other way.
// References: https://learn.microsoft.com/graph/templates/reference/applications?view=graph-bicep-1.0
//             https://learn.microsoft.com/graph/templates/reference/federatedidentitycredentials?view=graph-bicep-1.0
//             https://learn.microsoft.com/graph/templates/concept-uniquely-named-resources
extension microsoftGraphV1

@description('uniqueName (tenant-wide key) of the app registration the function authenticates as.')
param appUniqueName string

@description('Display name of that app registration.')
param appDisplayName string

@description('uniqueName of the API app registration callers request tokens for.')
param apiUniqueName string

@description('Display name of the API app registration.')
param apiDisplayName string

@description('Principal (object) ID of the user-assigned identity to trust with a federated credential; empty: none.')
param federatedIdentityPrincipalId string = ''

@description('signInAudience of the broker app: AzureADMyOrg (single tenant) or AzureADMultipleOrgs (customer tenants can consent).')
@allowed([
  'AzureADMyOrg'
  'AzureADMultipleOrgs'
])
param signInAudience string = 'AzureADMyOrg'

@description('Customer tenant IDs (lower-case GUIDs) of ENTRA_ALLOWED_TENANTS: one Users.Read:{tenant} caller role each.')
param allowedTenants array = []

@description('Resources whose keys the broker serves ({kind, name} each, main.bicep keyAppRoleTargets): one pair of app roles per resource.')
param keyResources array = []

// Microsoft Graph's well-known application ID and its User.Read.All application role (app role
// IDs are the same in every tenant and national cloud).
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
var userReadAllAppRoleId = 'df021288-bdef-4463-88db-98f22de89214'
// Application.Read.All: "Allows the app to read all applications and service principals without a
// signed-in user" — the rollover's GET of its own application ($select=keyCredentials). Rolling its
// own keys needs nothing more: "An application does not need any specific permission to roll its
// own keys" (https://learn.microsoft.com/graph/api/application-addkey, Permissions).
var applicationReadAllAppRoleId = '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30'

var tenantId = tenant().tenantId
// loginEndpoint ends with '/': https://login.microsoftonline.com/ in the public cloud.
var federatedIssuer = '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
// The audience a managed identity's token must carry to stand in for a client assertion differs
// per cloud (the same table as shared/clouds.py); an unknown cloud fails the deployment rather
// than trusting the public cloud's value.
// Reference: https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity
//            https://learn.microsoft.com/graph/api/resources/federatedidentitycredentials-overview (audiences)
var federationAudiences = {
  AzureCloud: 'api://AzureADTokenExchange'
  AzureUSGovernment: 'api://AzureADTokenExchangeUSGov'
  AzureChinaCloud: 'api://AzureADTokenExchangeChina'
}
var federationAudience = federationAudiences[environment().name]
var apiIdentifierUri = 'api://${tenantId}/${apiUniqueName}'

// The caller-facing app roles; values are what the function checks (SPEC "HTTP API").
var callerAppRoles = [
  {
    value: 'CosmosKeys.Read'
    displayName: 'Read Cosmos DB read-only keys'
    description: 'GET /api/cosmos/{account}/keys?type=readonly'
  }
  {
    value: 'CosmosKeys.ReadWrite'
    displayName: 'Read Cosmos DB read-write keys'
    description: 'GET /api/cosmos/{account}/keys?type=readwrite (also grants readonly)'
  }
  {
    value: 'Users.Read'
    displayName: 'List directory users'
    description: 'GET /api/graph/users (the home tenant)'
  }
  {
    value: 'Diagnostics.Read'
    displayName: 'Read broker diagnostics'
    description: 'GET /api/diagnostics'
  }
  {
    value: 'Rollover.Write'
    displayName: 'Run the certificate rollover'
    description: 'POST /api/rollover (registers renewed certificate versions, retires superseded ones)'
  }
  {
    value: 'Keys.Read'
    displayName: 'Read the read-only keys of every listed resource'
    description: 'GET /api/keys/{kind}/{name}?type=readonly for every resource in RESOURCE_KEYS'
  }
  {
    value: 'Keys.ReadWrite'
    displayName: 'Read the full keys of every listed resource'
    description: 'GET /api/keys/{kind}/{name}?type=readwrite for every resource in RESOURCE_KEYS (also grants readonly)'
  }
]
// Per listed resource (SPEC "Resource keys"): Keys.Read:{kind}/{name} and Keys.ReadWrite:{kind}/{name}.
// A value is at most 15 + 17 + 1 + 64 characters (prefix, longest kind, '/', longest name of these
// resource types), within Entra's 120, and has no spaces (resource names have none). union()
// drops a duplicate pair (the same name listed twice), which Entra would refuse.
var keyAppRoles = union(flatten(map(keyResources, r => [
  {
    value: 'Keys.Read:${r.kind}/${r.name}'
    displayName: 'Read the read-only keys of ${r.kind} ${r.name}'
    description: 'GET /api/keys/${r.kind}/${r.name}?type=readonly'
  }
  {
    value: 'Keys.ReadWrite:${r.kind}/${r.name}'
    displayName: 'Read the full keys of ${r.kind} ${r.name}'
    description: 'GET /api/keys/${r.kind}/${r.name}?type=readwrite (also grants readonly)'
  }
])), [])

// Users.Read:{tenant}: one customer tenant's users (SPEC "Other tenants").
var tenantUserRoles = [for tenant in allowedTenants: {
  value: 'Users.Read:${tenant}'
  displayName: 'List users of customer tenant ${tenant}'
  description: 'GET /api/graph/users?tenant=${tenant}'
}]

resource brokerApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: appUniqueName
  displayName: appDisplayName
  signInAudience: signInAudience
  requiredResourceAccess: [
    {
      resourceAppId: microsoftGraphAppId
      resourceAccess: [
        {
          id: userReadAllAppRoleId
          type: 'Role'
        }
        {
          id: applicationReadAllAppRoleId
          type: 'Role'
        }
      ]
    }
  ]

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = if (!empty(federatedIdentityPrincipalId)) {
    name: '${brokerApp.uniqueName}/function-managed-identity'
    description: 'The Function App user-assigned managed identity (CREDENTIAL_MODE=federated-managed-identity)'
    audiences: [
      federationAudience
    ]
    issuer: federatedIssuer
    subject: federatedIdentityPrincipalId
  }
}

resource brokerServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: brokerApp.appId
}

resource apiApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: apiUniqueName
  displayName: apiDisplayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [
    apiIdentifierUri
  ]
  api: {
    requestedAccessTokenVersion: 2
  }
  // idtyp in access tokens: Entra adds `idtyp: app` to app-only tokens, so the function can tell
  // them from delegated (user) tokens without guessing (SPEC: caller tokens must be app tokens).
  // Reference: https://learn.microsoft.com/entra/identity-platform/optional-claims-reference (idtyp)
  //            https://learn.microsoft.com/graph/api/resources/optionalclaims
  optionalClaims: {
    accessToken: [
      {
        name: 'idtyp'
        essential: false
        additionalProperties: []
      }
    ]
  }
  // App role IDs are guid(API, value): stable across redeployments, so assignments survive.
  appRoles: [for role in concat(callerAppRoles, keyAppRoles, tenantUserRoles): {
    id: guid(apiUniqueName, role.value)
    value: role.value
    displayName: role.displayName
    description: role.description
    allowedMemberTypes: [
      'Application'
    ]
    isEnabled: true
  }]
}

resource apiServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: apiApp.appId
  appRoleAssignmentRequired: true
}

output appId string = brokerApp.appId
output signInAudience string = brokerApp.signInAudience
output appObjectId string = brokerApp.id
output servicePrincipalId string = brokerServicePrincipal.id
output apiAppId string = apiApp.appId
output apiIdentifierUri string = apiIdentifierUri
output federatedIssuer string = federatedIssuer
