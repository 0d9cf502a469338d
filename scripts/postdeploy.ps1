#!/usr/bin/env pwsh
# azd postdeploy hook (PowerShell twin of postdeploy.sh; same steps, same guarantees):
# subscribes the function's Event Grid trigger (rollover_event) to Key Vault's certificate events
# (CertificateNewVersionCreated, CertificateNearExpiry) for the certificate's subject, with a
# WEBHOOK endpoint to the Functions host's Event Grid extension,
#   https://<app>/runtime/webhooks/EventGrid?functionName=rollover_event&code=<eventgrid_extension key>
# as Microsoft's Flex Consumption + Event Grid sample does (Azure-Samples/
# functions-quickstart-python-azd-eventgrid-blob, scripts/post-up.ps1), not endpoint type
# AzureFunction (docs/deployment-review.md). Waits for the deployed function, then for the host's
# eventgrid_extension system key; the key is never printed. Idempotent: `event-subscription
# create` is a PUT (create or update). Nothing to do outside CREDENTIAL_MODE=keyvault.
# With ALLOWED_CALLER_IP_RANGES set, deliveries only arrive if it includes the service tag
# AzureEventGrid (the hook warns).
# References: https://learn.microsoft.com/azure/azure-functions/event-grid-how-tos
#             https://learn.microsoft.com/cli/azure/functionapp/keys
#             https://learn.microsoft.com/cli/azure/eventgrid/system-topic/event-subscription
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
$functionAppName = Require 'AZURE_FUNCTION_APP_NAME'
$functionAppUrl = (Require 'FUNCTION_APP_URL').TrimEnd('/')
$systemTopic = Require 'EVENT_GRID_SYSTEM_TOPIC_NAME'
$certificateName = Require 'KEY_VAULT_CERTIFICATE_NAME'
$functionName = 'rollover_event'
$subscriptionName = 'certificate-rollover'
$poll = [Environment]::GetEnvironmentVariable('HOOK_POLL_SECONDS')
if ([string]::IsNullOrEmpty($poll)) { $poll = 10 }

$callerRanges = [Environment]::GetEnvironmentVariable('ALLOWED_CALLER_IP_RANGES')
if (-not [string]::IsNullOrWhiteSpace($callerRanges) -and
    -not (($callerRanges -replace ' ', '') -split ',' -contains 'AzureEventGrid')) {
    Log 'WARNING: ALLOWED_CALLER_IP_RANGES does not include the service tag AzureEventGrid: Event Grid cannot deliver certificate events (the daily timer still runs the rollover)'
}

# The deployed function shows up in ARM shortly after the package: wait for it (~3 minutes).
for ($try = 1; ; $try++) {
    & az resource show --ids "$functionAppId/functions/$functionName" --output none 2>$null
    if ($LASTEXITCODE -eq 0) { break }
    if ($try -ge 18) { throw "function $functionName is not listed on the Function App; is the code deployed? (azd deploy)" }
    Log "waiting for function $functionName to appear ($try/18)"
    Start-Sleep -Seconds $poll
}

# The host creates the eventgrid_extension system key when it first loads the Event Grid extension.
for ($try = 1; ; $try++) {
    $key = & az functionapp keys list --resource-group $resourceGroup --name $functionAppName `
        --query systemKeys.eventgrid_extension --output tsv 2>$null
    if ($LASTEXITCODE -eq 0 -and -not [string]::IsNullOrWhiteSpace($key)) { break }
    if ($try -ge 18) { throw 'the Functions host has no eventgrid_extension system key yet; is the app running? (rerun: azd hooks run postdeploy)' }
    Log "waiting for the host's eventgrid_extension system key ($try/18)"
    Start-Sleep -Seconds $poll
}
# On Windows az is az.cmd, which cmd.exe parses: '&' must stay inside quotes (as the sample does).
$endpoint = '"' + "$functionAppUrl/runtime/webhooks/EventGrid?functionName=$functionName&code=$($key.Trim())" + '"'

Log "subscribing $functionName to $certificateName certificate events on $systemTopic (webhook)"
# az's error text may quote the endpoint: its output is shown with the key masked.
$out = & az eventgrid system-topic event-subscription create `
    --name $subscriptionName `
    --resource-group $resourceGroup `
    --system-topic-name $systemTopic `
    --endpoint-type webhook `
    --endpoint $endpoint `
    --event-delivery-schema eventgridschema `
    --included-event-types Microsoft.KeyVault.CertificateNewVersionCreated Microsoft.KeyVault.CertificateNearExpiry `
    --subject-begins-with $certificateName `
    --subject-ends-with $certificateName `
    --max-delivery-attempts 30 `
    --event-ttl 1440 `
    --output none 2>&1
if ($LASTEXITCODE -ne 0) {
    Write-Host (($out | Out-String) -replace 'code=[^&" ]*', 'code=***')
    throw "az eventgrid system-topic event-subscription create failed ($LASTEXITCODE)"
}
Log "event subscription $subscriptionName is in place"
