#!/usr/bin/env pwsh
# azd postprovision hook (PowerShell twin of postprovision.sh; same steps, same guarantees):
#  1. create the Key Vault certificate if absent (RSA 2048 / RSA-HSM on premium, exportable=false,
#     digitalSignature, 12 months, auto-renew at 80 %); an existing one is left alone, an
#     exportable one refused;
#  2. append the current version's public cer to the app registration unless its thumbprint is
#     already registered (never removes a key);
#  3. write local.settings.json.
# Only public material is handled. azd exports the environment's values to this process.
# Policy schema: https://learn.microsoft.com/rest/api/keyvault/certificates/create-certificate/create-certificate#certificatepolicy
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Require([string]$Name) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($value)) { throw "$Name is not set: run azd provision first" }
    return $value
}
function Log([string]$Message) { Write-Host "[postprovision] $Message" }

# Runs an az command, retrying while Key Vault's data plane still answers Forbidden (new role
# assignments take minutes to propagate). Returns stdout; throws on other errors.
function Invoke-AzWithRbacRetry([string[]]$AzArgs, [switch]$AllowNotFound) {
    for ($try = 0; ; $try++) {
        $errFile = New-TemporaryFile
        try {
            $out = & az @AzArgs 2> $errFile
            if ($LASTEXITCODE -eq 0) { return ($out -join "`n") }
            $err = Get-Content -Raw $errFile
        } finally { Remove-Item $errFile -ErrorAction SilentlyContinue }
        if ($AllowNotFound -and $err -match 'CertificateNotFound|NotFound|not found') { return $null }
        if ($err -match 'Forbidden|ForbiddenByRbac|not authorized' -and $try -lt 30) {
            Log "waiting for the Key Vault role assignment to propagate ($($try + 1)/30)"
            Start-Sleep -Seconds 10
            continue
        }
        throw "az $($AzArgs[0..2] -join ' ') failed: $err"
    }
}

$vault = Require 'KEY_VAULT_NAME'
$certName = Require 'KEY_VAULT_CERTIFICATE_NAME'
$clientId = Require 'ENTRA_CLIENT_ID'
$sku = if ($env:KEY_VAULT_SKU) { $env:KEY_VAULT_SKU } else { 'standard' }
$mode = if ($env:CREDENTIAL_MODE) { $env:CREDENTIAL_MODE } else { 'keyvault' }
$work = Join-Path ([IO.Path]::GetTempPath()) ([Guid]::NewGuid().ToString())
New-Item -ItemType Directory -Path $work | Out-Null

try {
    if ($mode -eq 'keyvault') {
        $keyType = if ($sku -eq 'premium') { 'RSA-HSM' } else { 'RSA' }
        $exportable = Invoke-AzWithRbacRetry @('keyvault', 'certificate', 'show', '--vault-name', $vault,
            '--name', $certName, '--query', 'policy.keyProperties.exportable', '-o', 'tsv') -AllowNotFound
        if ($null -ne $exportable) {
            if ($exportable.Trim() -ne 'false') {
                throw "certificate $certName exists with an exportable key; delete (and purge) it or pick another KEY_VAULT_CERTIFICATE_NAME"
            }
            Log "certificate $certName exists (non-exportable): left as it is"
        } else {
            $envName = if ($env:AZURE_ENV_NAME) { $env:AZURE_ENV_NAME } else { 'broker' }
            $template = Get-Content -Raw (Join-Path $PSScriptRoot 'cert-policy.template.json')
            $policy = $template.Replace('__KEY_TYPE__', $keyType).Replace('__SUBJECT__', "CN=$certName.$envName")
            $policyFile = Join-Path $work 'policy.json'
            Set-Content -Path $policyFile -Value $policy -Encoding utf8NoBOM
            Log "creating certificate $certName ($keyType 2048, exportable=false)"
            Invoke-AzWithRbacRetry @('keyvault', 'certificate', 'create', '--vault-name', $vault, '--name', $certName,
                '--policy', "@$policyFile", '--output', 'none') | Out-Null
            for ($i = 0; $i -lt 60; $i++) {
                $status = (& az keyvault certificate pending show --vault-name $vault --name $certName --query status -o tsv 2>$null)
                if ($LASTEXITCODE -ne 0 -or $status -eq 'completed') { break }
                Start-Sleep -Seconds 5
            }
        }

        $cer = (& az keyvault certificate show --vault-name $vault --name $certName --query cer -o tsv).Trim()
        $thumbprint = (& az keyvault certificate show --vault-name $vault --name $certName --query x509ThumbprintHex -o tsv).Trim().ToUpperInvariant()

        # customKeyIdentifier: the SHA-1 thumbprint, hex (portal/az) or base64 bytes (Graph); accept both.
        $registered = @(& az ad app show --id $clientId --query 'keyCredentials[].customKeyIdentifier' -o tsv) |
            Where-Object { $_ } | ForEach-Object {
                $_.ToUpperInvariant()
                try { ([BitConverter]::ToString([Convert]::FromBase64String($_))).Replace('-', '') } catch { }
            }
        if ($registered -contains $thumbprint) {
            Log "thumbprint $thumbprint already registered on app $clientId"
        } else {
            $pemFile = Join-Path $work 'cert.pem'
            $body = ($cer -split '(.{64})' | Where-Object { $_ }) -join "`n"
            Set-Content -Path $pemFile -Value "-----BEGIN CERTIFICATE-----`n$body`n-----END CERTIFICATE-----" -Encoding ascii
            Log "registering thumbprint $thumbprint on app $clientId (appending)"
            & az ad app credential reset --id $clientId --cert "@$pemFile" --append --output none
            if ($LASTEXITCODE -ne 0) { throw 'az ad app credential reset failed' }
        }
    } else {
        Log "CREDENTIAL_MODE=${mode}: no certificate needed"
    }

    $python = Get-Command python3, python -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($python) {
        azd env get-values --output json | & $python.Source (Join-Path $PSScriptRoot 'write_local_settings.py') --output local.settings.json
    } else {
        Log 'python not found: skipped local.settings.json (run scripts/write_local_settings.py later)'
    }
} finally {
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
