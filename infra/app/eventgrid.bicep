// The Event Grid system topic of the Key Vault: Key Vault publishes its certificate events
// (CertificateNewVersionCreated when auto-renewal or an operator creates a version,
// CertificateNearExpiry 30 days before the current version expires) to it. The event subscription
// that pushes them to the function's Event Grid trigger (rollover_event) can only be created once
// the code is deployed (the function must exist): the azd postdeploy hook does that
// (scripts/postdeploy.sh|ps1), filtered to the certificate's subject and those two event types.
// References: https://learn.microsoft.com/azure/templates/microsoft.eventgrid/systemtopics
//             https://learn.microsoft.com/azure/key-vault/general/event-grid-overview
//             https://learn.microsoft.com/azure/event-grid/event-schema-key-vault

@description('System topic name.')
param name string

@description('Azure region (the vault\'s).')
param location string

@description('Resource tags.')
param tags object = {}

@description('Name of the Key Vault whose events the topic carries.')
param keyVaultName string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

output name string = systemTopic.name
output id string = systemTopic.id
