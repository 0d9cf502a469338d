#!/bin/sh
# azd postdeploy hook (POSIX sh; PowerShell twin: postdeploy.ps1).
# Subscribes the function's Event Grid trigger (rollover_event) to Key Vault's certificate events,
# so a renewal is registered on the app registration within seconds (the timer is the safety net).
# The endpoint is a WEBHOOK to the Functions host's Event Grid extension,
#   https://<app>/runtime/webhooks/EventGrid?functionName=rollover_event&code=<eventgrid_extension key>
# as Microsoft's Flex Consumption + Event Grid sample does (Azure-Samples/
# functions-quickstart-python-azd-eventgrid-blob, scripts/post-up.sh), not endpoint type
# AzureFunction (docs/deployment-review.md). The host creates the `eventgrid_extension` system key
# when it loads the extension, so the hook waits for the deployed function and then for the key;
# the host answers Event Grid's validation handshake itself. The key is never printed.
#  - filtered to the two event types the rollover handles (CertificateNewVersionCreated,
#    CertificateNearExpiry) and to the certificate's subject (Key Vault sets `subject` to the
#    object name; Event Grid has no exact-match subject filter, so begins-with + ends-with; the
#    function checks the name exactly anyway);
#  - idempotent: `event-subscription create` is a PUT (create or update), so every `azd deploy`
#    converges on the same subscription (and picks up a renewed eventgrid_extension key);
#  - nothing to do outside CREDENTIAL_MODE=keyvault (no certificate, no system topic).
# With ALLOWED_CALLER_IP_RANGES set, deliveries only arrive if the list includes the service tag
# AzureEventGrid (the hook warns).
# References: https://learn.microsoft.com/azure/azure-functions/event-grid-how-tos (webhook URL, system key)
#             https://learn.microsoft.com/cli/azure/functionapp/keys (az functionapp keys list)
#             https://learn.microsoft.com/cli/azure/eventgrid/system-topic/event-subscription
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
: "${AZURE_FUNCTION_APP_NAME:?AZURE_FUNCTION_APP_NAME is not set: run azd provision first}"
: "${FUNCTION_APP_URL:?FUNCTION_APP_URL is not set: run azd provision first}"
: "${EVENT_GRID_SYSTEM_TOPIC_NAME:?EVENT_GRID_SYSTEM_TOPIC_NAME is not set: run azd provision first}"
: "${KEY_VAULT_CERTIFICATE_NAME:?KEY_VAULT_CERTIFICATE_NAME is not set}"
function_name="rollover_event"
subscription_name="certificate-rollover"
poll="${HOOK_POLL_SECONDS:-10}"

case ",$(printf '%s' "${ALLOWED_CALLER_IP_RANGES:-}" | tr -d ' ')," in
  ,,) ;;
  *,AzureEventGrid,*) ;;
  *) log "WARNING: ALLOWED_CALLER_IP_RANGES does not include the service tag AzureEventGrid: Event Grid cannot deliver certificate events (the daily timer still runs the rollover)" ;;
esac

# The deployed function shows up in ARM shortly after the package: wait for it (~3 minutes).
tries=0
until az resource show --ids "$AZURE_FUNCTION_APP_ID/functions/$function_name" --output none 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 18 ]; then
    log "function $function_name is not listed on the Function App; is the code deployed? (azd deploy)"
    exit 1
  fi
  log "waiting for function $function_name to appear ($tries/18)"
  sleep "$poll"
done

# The host creates the eventgrid_extension system key when it first loads the Event Grid
# extension (after the deployment restarted it): wait for it too.
tries=0
key=""
while :; do
  key="$(az functionapp keys list --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
    --query systemKeys.eventgrid_extension --output tsv 2>/dev/null || true)"
  [ -n "$key" ] && break
  tries=$((tries + 1))
  if [ "$tries" -ge 18 ]; then
    log "the Functions host has no eventgrid_extension system key yet; is the app running? (rerun: azd hooks run postdeploy)"
    exit 1
  fi
  log "waiting for the host's eventgrid_extension system key ($tries/18)"
  sleep "$poll"
done
endpoint="${FUNCTION_APP_URL%/}/runtime/webhooks/EventGrid?functionName=$function_name&code=$key"

log "subscribing $function_name to $KEY_VAULT_CERTIFICATE_NAME certificate events on $EVENT_GRID_SYSTEM_TOPIC_NAME (webhook)"
# az's error text may quote the endpoint: its output is shown with the key masked.
if ! out="$(az eventgrid system-topic event-subscription create \
  --name "$subscription_name" \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$EVENT_GRID_SYSTEM_TOPIC_NAME" \
  --endpoint-type webhook \
  --endpoint "$endpoint" \
  --event-delivery-schema eventgridschema \
  --included-event-types Microsoft.KeyVault.CertificateNewVersionCreated Microsoft.KeyVault.CertificateNearExpiry \
  --subject-begins-with "$KEY_VAULT_CERTIFICATE_NAME" \
  --subject-ends-with "$KEY_VAULT_CERTIFICATE_NAME" \
  --max-delivery-attempts 30 \
  --event-ttl 1440 \
  --output none 2>&1)"; then
  printf '%s\n' "$out" | sed 's/code=[^&" ]*/code=***/g' >&2
  log "az eventgrid system-topic event-subscription create failed"
  exit 1
fi
log "event subscription $subscription_name is in place"
