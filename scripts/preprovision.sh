#!/bin/sh
# azd preprovision hook (POSIX sh; PowerShell twin: preprovision.ps1). Refuses, before anything
# is deployed, what would otherwise fail halfway through `azd provision` (docs/deployment-review.md):
#  1. A sovereign cloud. The templates create the Entra app registrations with the Microsoft Graph
#     Bicep extension, whose deployments are supported in the public cloud only (not Azure
#     Government, not Azure China): https://learn.microsoft.com/graph/templates/limitations
#  2. A deploying principal of another type than AZURE_PRINCIPAL_TYPE says. The deployer's role
#     assignments carry principalType (main.bicep principalType <- AZURE_PRINCIPAL_TYPE, default
#     User); ARM refuses a service principal declared as User (UnmatchedPrincipalType), which is
#     what a CI pipeline logged in as a service principal or managed identity meets.
#     azd does not set AZURE_PRINCIPAL_TYPE for CI by itself (Azure/azure-dev#4348): azure.yaml
#     lists it under pipeline.variables so `azd pipeline config` carries it to the pipeline.
#  3. A Python version Flex Consumption does not offer in AZURE_LOCATION. Language versions are
#     rolled out per region: `az functionapp list-flexconsumption-runtimes --location <region>
#     --runtime python` lists them (https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to,
#     https://learn.microsoft.com/cli/azure/functionapp#az-functionapp-list-flexconsumption-runtimes).
#     PYTHON_VERSION (default 3.13) selects the runtime; 3.12 is the supported fallback.
# The hook only reads; it changes nothing. azd exports the environment's values to it.
set -eu

log() { printf '[preprovision] %s\n' "$*" >&2; }
fail() {
  log "$*"
  exit 1
}

: "${AZURE_LOCATION:?AZURE_LOCATION is not set: azd env set AZURE_LOCATION <region>}"
PYTHON_VERSION="${PYTHON_VERSION:-3.13}"
AZURE_PRINCIPAL_TYPE="${AZURE_PRINCIPAL_TYPE:-User}"

# 1. public cloud only
cloud="$(az cloud show --query name --output tsv 2>/dev/null || true)"
if [ -n "$cloud" ] && [ "$cloud" != "AzureCloud" ]; then
  fail "the Azure CLI is set to $cloud. These templates create the Entra app registrations with the Microsoft Graph Bicep extension, which deploys in the public cloud (AzureCloud) only (https://learn.microsoft.com/graph/templates/limitations). Create the app registrations another way and deploy the rest without app/graph*.bicep, or deploy to the public cloud."
fi

# 2. the deployer's principal type
signed_in="$(az account show --query user.type --output tsv 2>/dev/null || true)"
case "$signed_in" in
  servicePrincipal) actual="ServicePrincipal" ;;
  user) actual="User" ;;
  *) actual="" ;;
esac
if [ -n "$actual" ] && [ "$actual" != "$AZURE_PRINCIPAL_TYPE" ]; then
  fail "you are signed in as a $signed_in but AZURE_PRINCIPAL_TYPE is $AZURE_PRINCIPAL_TYPE; the deployer's role assignments would be refused (UnmatchedPrincipalType). Run: azd env set AZURE_PRINCIPAL_TYPE $actual"
fi

# 3. the Python version in this region
case "$PYTHON_VERSION" in
  3.13 | 3.12) ;;
  *) fail "PYTHON_VERSION=$PYTHON_VERSION is not one the broker supports (3.13, or the fallback 3.12)" ;;
esac
if versions="$(az functionapp list-flexconsumption-runtimes --location "$AZURE_LOCATION" --runtime python \
  --query "[].version" --output tsv 2>/dev/null)"; then
  if [ -z "$versions" ]; then
    fail "Flex Consumption offers no Python runtime in $AZURE_LOCATION; pick a region from: az functionapp list-flexconsumption-locations --output table"
  fi
  if ! printf '%s\n' "$versions" | grep -qx "$PYTHON_VERSION"; then
    offered="$(printf '%s' "$versions" | tr '\n' ' ')"
    fallback=""
    if [ "$PYTHON_VERSION" = "3.13" ] && printf '%s\n' "$versions" | grep -qx "3.12"; then
      fallback=" or use the supported fallback: azd env set PYTHON_VERSION 3.12"
    fi
    fail "Flex Consumption in $AZURE_LOCATION offers Python $offered- not $PYTHON_VERSION. Choose another region (azd env set AZURE_LOCATION <region>)$fallback"
  fi
  log "Python $PYTHON_VERSION is offered on Flex Consumption in $AZURE_LOCATION"
else
  log "WARNING: could not list the Flex Consumption runtimes of $AZURE_LOCATION (an older Azure CLI lacks 'az functionapp list-flexconsumption-runtimes'); deploying Python $PYTHON_VERSION unchecked"
fi
