#!/bin/sh
# azd postdeploy hook (POSIX sh; PowerShell twin: postdeploy.ps1).
# Subscribes the function's Event Grid trigger (rollover_event) to Key Vault's certificate events,
# so a renewal is registered on the app registration within seconds (the timer is the safety net).
# It runs after the code is deployed because an event subscription with endpoint type
# AzureFunction needs the function to exist ({siteId}/functions/{name}); no key is involved.
#  - filtered to the two event types the rollover handles (CertificateNewVersionCreated,
#    CertificateNearExpiry) and to the certificate's subject (Key Vault sets `subject` to the
#    object name; Event Grid has no exact-match subject filter, so begins-with + ends-with; the
#    function checks the name exactly anyway);
#  - idempotent: `event-subscription create` is a PUT (create or update), so every `azd deploy`
#    converges on the same subscription;
#  - nothing to do outside CREDENTIAL_MODE=keyvault (no certificate, no system topic).
# References: https://learn.microsoft.com/cli/azure/eventgrid/system-topic/event-subscription
#             https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-grid-trigger
#             https://learn.microsoft.com/azure/event-grid/event-filtering
set -eu

log() { printf '[postdeploy] %s\n' "$*" >&2; }

CREDENTIAL_MODE="${CREDENTIAL_MODE:-keyvault}"
if [ "$CREDENTIAL_MODE" != "keyvault" ]; then
  log "CREDENTIAL_MODE=$CREDENTIAL_MODE has no certificate to roll: no event subscription"
  exit 0
fi
: "${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set: run azd provision first}"
: "${AZURE_FUNCTION_APP_ID:?AZURE_FUNCTION_APP_ID is not set: run azd provision first}"
: "${EVENT_GRID_SYSTEM_TOPIC_NAME:?EVENT_GRID_SYSTEM_TOPIC_NAME is not set: run azd provision first}"
: "${KEY_VAULT_CERTIFICATE_NAME:?KEY_VAULT_CERTIFICATE_NAME is not set}"
function_name="rollover_event"
subscription_name="certificate-rollover"
endpoint="$AZURE_FUNCTION_APP_ID/functions/$function_name"

# The deployed function shows up in ARM shortly after the package: wait for it (~3 minutes).
tries=0
until az resource show --ids "$endpoint" --output none 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 18 ]; then
    log "function $function_name is not listed on the Function App; is the code deployed? (azd deploy)"
    exit 1
  fi
  log "waiting for function $function_name to appear ($tries/18)"
  sleep 10
done

log "subscribing $function_name to $KEY_VAULT_CERTIFICATE_NAME certificate events on $EVENT_GRID_SYSTEM_TOPIC_NAME"
az eventgrid system-topic event-subscription create \
  --name "$subscription_name" \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$EVENT_GRID_SYSTEM_TOPIC_NAME" \
  --endpoint-type azurefunction \
  --endpoint "$endpoint" \
  --event-delivery-schema eventgridschema \
  --included-event-types Microsoft.KeyVault.CertificateNewVersionCreated Microsoft.KeyVault.CertificateNearExpiry \
  --subject-begins-with "$KEY_VAULT_CERTIFICATE_NAME" \
  --subject-ends-with "$KEY_VAULT_CERTIFICATE_NAME" \
  --max-delivery-attempts 30 \
  --event-ttl 1440 \
  --output none
log "event subscription $subscription_name is in place"
