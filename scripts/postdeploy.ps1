#!/usr/bin/env pwsh
# azd postdeploy hook (PowerShell twin of postdeploy.sh; same steps, same guarantees):
# subscribes the function's Event Grid trigger (rollover_event) to Key Vault's certificate events
# (CertificateNewVersionCreated, CertificateNearExpiry) for the certificate's subject, with endpoint
# type AzureFunction ({siteId}/functions/{name}: the function must be deployed, hence postdeploy).
# Idempotent: `event-subscription create` is a PUT (create or update). Nothing to do outside
# CREDENTIAL_MODE=keyvault.
# References: https://learn.microsoft.com/cli/azure/eventgrid/system-topic/event-subscription
#             https://learn.microsoft.com/azure/event-grid/event-filtering
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Require([string]$Name) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($value)) { throw "$Name is not set: run azd provision first" }
    return $value
}
function Log([string]$Message) { Write-Host "[postdeploy] $Message" }

$credentialMode = [Environment]::GetEnvironmentVariable('CREDENTIAL_MODE')
if ([string]::IsNullOrEmpty($credentialMode)) { $credentialMode = 'keyvault' }
if ($credentialMode -ne 'keyvault') {
    Log "CREDENTIAL_MODE=$credentialMode has no certificate to roll: no event subscription"
    exit 0
}
$resourceGroup = Require 'AZURE_RESOURCE_GROUP'
$functionAppId = Require 'AZURE_FUNCTION_APP_ID'
$systemTopic = Require 'EVENT_GRID_SYSTEM_TOPIC_NAME'
$certificateName = Require 'KEY_VAULT_CERTIFICATE_NAME'
$functionName = 'rollover_event'
$subscriptionName = 'certificate-rollover'
$endpoint = "$functionAppId/functions/$functionName"

# The deployed function shows up in ARM shortly after the package: wait for it (~3 minutes).
for ($try = 1; ; $try++) {
    & az resource show --ids $endpoint --output none 2>$null
    if ($LASTEXITCODE -eq 0) { break }
    if ($try -ge 18) { throw "function $functionName is not listed on the Function App; is the code deployed? (azd deploy)" }
    Log "waiting for function $functionName to appear ($try/18)"
    Start-Sleep -Seconds 10
}

Log "subscribing $functionName to $certificateName certificate events on $systemTopic"
& az eventgrid system-topic event-subscription create `
    --name $subscriptionName `
    --resource-group $resourceGroup `
    --system-topic-name $systemTopic `
    --endpoint-type azurefunction `
    --endpoint $endpoint `
    --event-delivery-schema eventgridschema `
    --included-event-types Microsoft.KeyVault.CertificateNewVersionCreated Microsoft.KeyVault.CertificateNearExpiry `
    --subject-begins-with $certificateName `
    --subject-ends-with $certificateName `
    --max-delivery-attempts 30 `
    --event-ttl 1440 `
    --output none
if ($LASTEXITCODE -ne 0) { throw "az eventgrid system-topic event-subscription create failed ($LASTEXITCODE)" }
Log "event subscription $subscriptionName is in place"
