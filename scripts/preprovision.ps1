#!/usr/bin/env pwsh
# azd preprovision hook (PowerShell twin of preprovision.sh; same checks, same messages). Refuses,
# before anything is deployed (docs/deployment-review.md):
#  1. a sovereign cloud: the Microsoft Graph Bicep extension deploys in the public cloud only
#     (https://learn.microsoft.com/graph/templates/limitations);
#  2. a deploying principal of another type than AZURE_PRINCIPAL_TYPE (ARM: UnmatchedPrincipalType
#     on the deployer's role assignments; CI logs in as a service principal; Azure/azure-dev#4348);
#  3. a PYTHON_VERSION (default 3.13; fallback 3.12) that Flex Consumption does not offer in
#     AZURE_LOCATION (az functionapp list-flexconsumption-runtimes --location <region> --runtime python;
#     https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to).
# Only reads; changes nothing.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Log([string]$Message) { Write-Host "[preprovision] $Message" }
function Fail([string]$Message) { Log $Message; exit 1 }
function EnvOr([string]$Name, [string]$Default) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($value)) { return $Default }
    return $value
}

$location = EnvOr 'AZURE_LOCATION' ''
if ($location -eq '') { Fail 'AZURE_LOCATION is not set: azd env set AZURE_LOCATION <region>' }
$pythonVersion = EnvOr 'PYTHON_VERSION' '3.13'
$principalType = EnvOr 'AZURE_PRINCIPAL_TYPE' 'User'

# 1. public cloud only
$cloud = & az cloud show --query name --output tsv 2>$null
if ($LASTEXITCODE -eq 0 -and $cloud -and $cloud.Trim() -ne 'AzureCloud') {
    Fail "the Azure CLI is set to $($cloud.Trim()). These templates create the Entra app registrations with the Microsoft Graph Bicep extension, which deploys in the public cloud (AzureCloud) only (https://learn.microsoft.com/graph/templates/limitations). Create the app registrations another way and deploy the rest without app/graph*.bicep, or deploy to the public cloud."
}

# 2. the deployer's principal type
$signedIn = & az account show --query user.type --output tsv 2>$null
$actual = switch ("$signedIn".Trim()) { 'servicePrincipal' { 'ServicePrincipal' } 'user' { 'User' } default { '' } }
if ($actual -ne '' -and $actual -ne $principalType) {
    Fail "you are signed in as a $("$signedIn".Trim()) but AZURE_PRINCIPAL_TYPE is $principalType; the deployer's role assignments would be refused (UnmatchedPrincipalType). Run: azd env set AZURE_PRINCIPAL_TYPE $actual"
}

# 3. the Python version in this region
if ($pythonVersion -notin @('3.13', '3.12')) {
    Fail "PYTHON_VERSION=$pythonVersion is not one the broker supports (3.13, or the fallback 3.12)"
}
$versions = & az functionapp list-flexconsumption-runtimes --location $location --runtime python `
    --query '[].version' --output tsv 2>$null
if ($LASTEXITCODE -eq 0) {
    $offered = @($versions | ForEach-Object { "$_".Trim() } | Where-Object { $_ -ne '' })
    if ($offered.Count -eq 0) {
        Fail "Flex Consumption offers no Python runtime in $location; pick a region from: az functionapp list-flexconsumption-locations --output table"
    }
    if ($offered -notcontains $pythonVersion) {
        $fallback = ''
        if ($pythonVersion -eq '3.13' -and $offered -contains '3.12') {
            $fallback = ' or use the supported fallback: azd env set PYTHON_VERSION 3.12'
        }
        Fail "Flex Consumption in $location offers Python $($offered -join ' ') - not $pythonVersion. Choose another region (azd env set AZURE_LOCATION <region>)$fallback"
    }
    Log "Python $pythonVersion is offered on Flex Consumption in $location"
}
else {
    Log "WARNING: could not list the Flex Consumption runtimes of $location (an older Azure CLI lacks 'az functionapp list-flexconsumption-runtimes'); deploying Python $pythonVersion unchecked"
}
