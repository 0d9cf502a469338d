#!/usr/bin/env pwsh
# azd postprovision hook (PowerShell twin of postprovision.sh; same steps, same guarantees):
#  0. VNET_ENABLED (vault public access Disabled): open the vault to DEPLOYER_IP_ADDRESS alone (IP
#     rule, then public access with default action Deny) and close it again in `finally`;
#     DEPLOYER_IP_ADDRESS=private opens nothing (this machine reaches the private endpoint);
#  1. create the Key Vault certificate if absent (RSA 2048 / RSA-HSM on premium, exportable=false,
#     digitalSignature, 12 months, auto-renew at 80 %); an existing one is left alone only if the
#     vault created it (issuer Self) with a non-exportable key; an imported or exportable one is
#     refused before anything is registered;
#  2. append the current version's public cer to the app registration unless its thumbprint is
#     already registered (never removes a key), and only if that version is enabled and was
#     created no earlier than the policy's last change (whole seconds, the rollover's rule,
#     docs/custody.md); every read names that version, so the version judged is the one registered;
#  3. write local.settings.json.
# Creating the certificate needs Key Vault Certificates Officer, which the deployment does not keep on
# the deployer (GRANT_DEPLOYER_CERTIFICATES_OFFICER=false): the hook grants it to AZURE_PRINCIPAL_ID
# on this vault only while it creates the certificate, and deletes that assignment right after (and in
# `finally`); if the deletion fails it prints the exact `az role assignment delete` to run.
# Alerts without a receiver (no BROKER_ALERT_EMAIL, no BROKER_ACTION_GROUP_ID) are a warning here.
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
$openedFor = $null
$script:officerAssignment = $null
# Key Vault Certificates Officer (infra/app/roles.json), and how this hook marks the assignment it makes,
# so that one left behind by an interrupted run is deleted by the next run, not taken for a standing grant.
$certificatesOfficerRole = 'a4417e6f-fecd-4de8-b567-7b0420556985'
$officerDescription = 'temporary: the azd postprovision hook creates the signing certificate with it, then deletes it'
$script:vaultId = $null

function Get-VaultId {
    if (-not $script:vaultId) { $script:vaultId = $env:KEY_VAULT_ID }
    if (-not $script:vaultId) { $script:vaultId = (& az keyvault show --name $vault --query id -o tsv).Trim() }
    return $script:vaultId
}

# A temporary assignment an interrupted run left behind (marked by $officerDescription): deleted now.
function Remove-LeftoverOfficer {
    $vaultId = Get-VaultId
    $leftovers = @(& az role assignment list --scope $vaultId --role $certificatesOfficerRole `
        --query "[?description=='$officerDescription'].id" -o tsv) | Where-Object { $_ }
    foreach ($leftover in $leftovers) {
        Log 'removing a temporary Key Vault Certificates Officer assignment an interrupted run left behind'
        & az role assignment delete --ids $leftover --output none
        if ($LASTEXITCODE -ne 0) { Log "WARNING: could not remove it; remove it yourself: az role assignment delete --ids $leftover" }
    }
}

# Certificates Officer on this vault for this run only; nothing when the principal already holds it.
function Grant-OfficerForThisRun {
    $vaultId = Get-VaultId
    $principal = $env:AZURE_PRINCIPAL_ID
    if ([string]::IsNullOrEmpty($principal)) { $principal = (& az ad signed-in-user show --query id -o tsv 2>$null) }
    if ([string]::IsNullOrEmpty($principal)) {
        throw ("creating the certificate needs Key Vault Certificates Officer, and the deploying principal is unknown " +
            "(AZURE_PRINCIPAL_ID is not set). Grant it for this run, then run 'azd hooks run postprovision': " +
            "az role assignment create --assignee-object-id <your object id> --role $certificatesOfficerRole --scope $vaultId")
    }
    $held = (& az role assignment list --assignee $principal --role $certificatesOfficerRole --scope $vaultId --query '[0].id' -o tsv)
    if ($LASTEXITCODE -ne 0) { throw 'az role assignment list failed' }
    if (-not [string]::IsNullOrEmpty("$held".Trim())) {
        Log "the deploying principal already holds Key Vault Certificates Officer on $vault"
        return
    }
    $type = if ($env:AZURE_PRINCIPAL_TYPE) { $env:AZURE_PRINCIPAL_TYPE } else { 'User' }
    Log "granting the deploying principal Key Vault Certificates Officer on $vault for this run only"
    $id = (& az role assignment create --assignee-object-id $principal --assignee-principal-type $type `
        --role $certificatesOfficerRole --scope $vaultId --description $officerDescription --query id -o tsv)
    if ($LASTEXITCODE -ne 0) { throw 'az role assignment create failed' }
    $script:officerAssignment = "$id".Trim()
}

function Revoke-Officer {
    if (-not $script:officerAssignment) { return }
    Log "removing the temporary Key Vault Certificates Officer assignment on $vault"
    & az role assignment delete --ids $script:officerAssignment --output none
    if ($LASTEXITCODE -ne 0) {
        Log 'WARNING: could not remove it; remove it yourself:'
        Log "  az role assignment delete --ids $($script:officerAssignment)"
    }
    $script:officerAssignment = $null
}

if ($env:ALERTS_HAVE_RECEIVER -eq 'false') {
    Log "WARNING: the broker's alerts have no receiver: they fire into the Azure portal and notify nobody."
    Log '  Set one and provision again:  azd env set BROKER_ALERT_EMAIL <address>'
    Log '                           or:  azd env set BROKER_ACTION_GROUP_ID <action group resource ID>'
}

# VNET_ENABLED: the vault only answers its private endpoint; open it to this machine alone.
function Open-VaultForDeployer {
    $access = (& az keyvault show --name $vault --query properties.publicNetworkAccess -o tsv)
    if ($LASTEXITCODE -ne 0) { throw "az keyvault show failed for $vault" }
    if ("$access".Trim() -ne 'Disabled') { return $null }
    $ip = $env:DEPLOYER_IP_ADDRESS
    if ($ip -eq 'private') {
        Log "Key Vault $vault is private; DEPLOYER_IP_ADDRESS=private: using its private endpoint"
        return $null
    }
    if ([string]::IsNullOrEmpty($ip)) {
        throw ("Key Vault $vault has public network access disabled (VNET_ENABLED), so this machine cannot create or read " +
            "the certificate. Run 'azd env set DEPLOYER_IP_ADDRESS <your public IPv4>' (the hook opens the vault to that " +
            "address alone while it runs), or run the hook inside the virtual network with DEPLOYER_IP_ADDRESS=private.")
    }
    Log "opening Key Vault $vault to $ip only, until this hook ends"
    & az keyvault network-rule add --name $vault --ip-address $ip --output none
    if ($LASTEXITCODE -ne 0) { throw "az keyvault network-rule add failed for $vault" }
    & az keyvault update --name $vault --public-network-access Enabled --default-action Deny --bypass None --output none
    if ($LASTEXITCODE -ne 0) {
        & az keyvault network-rule remove --name $vault --ip-address $ip --output none
        throw "az keyvault update failed for $vault"
    }
    return $ip
}

function Close-Vault([string]$Ip) {
    if (-not $Ip) { return }
    Log "closing Key Vault $vault to public traffic again"
    & az keyvault update --name $vault --public-network-access Disabled --output none
    if ($LASTEXITCODE -ne 0) { Log "WARNING: could not disable public network access on ${vault}: run azd provision to reset it" }
    & az keyvault network-rule remove --name $vault --ip-address $Ip --output none
    if ($LASTEXITCODE -ne 0) { Log "WARNING: could not remove the IP rule $Ip from ${vault}: run azd provision to reset it" }
}

try {
    if ($mode -eq 'keyvault') {
        $keyType = if ($sku -eq 'premium') { 'RSA-HSM' } else { 'RSA' }
        Remove-LeftoverOfficer
        $openedFor = Open-VaultForDeployer
        $issuer = Invoke-AzWithRbacRetry @('keyvault', 'certificate', 'show', '--vault-name', $vault,
            '--name', $certName, '--query', 'policy.issuerParameters.name', '-o', 'tsv') -AllowNotFound
        if ($null -ne $issuer) {
            # Created by this vault (issuer Self) with a key that can never be exported, or refused:
            # an imported certificate's private key was known outside the vault.
            $exportable = Invoke-AzWithRbacRetry @('keyvault', 'certificate', 'show', '--vault-name', $vault,
                '--name', $certName, '--query', 'policy.keyProperties.exportable', '-o', 'tsv')
            if ($issuer.Trim() -ne 'Self') {
                throw ("certificate $certName was imported, not created in the vault (issuer '$($issuer.Trim())', not 'Self'): " +
                    'whoever imported it knows its private key. Refusing to use it; nothing was registered. ' +
                    'Delete (and purge) it or pick another KEY_VAULT_CERTIFICATE_NAME, then re-run.')
            }
            if ("$exportable".Trim() -ne 'false') {
                throw ("certificate $certName has an exportable key (exportable '$("$exportable".Trim())'): its private key can " +
                    'leave the vault. Refusing to use it; nothing was registered. ' +
                    'Delete (and purge) it or pick another KEY_VAULT_CERTIFICATE_NAME, then re-run.')
            }
            Log "certificate $certName exists (self-issued, non-exportable): left as it is"
        } else {
            $envName = if ($env:AZURE_ENV_NAME) { $env:AZURE_ENV_NAME } else { 'broker' }
            $template = Get-Content -Raw (Join-Path $PSScriptRoot 'cert-policy.template.json')
            $policy = $template.Replace('__KEY_TYPE__', $keyType).Replace('__SUBJECT__', "CN=$certName.$envName")
            $policyFile = Join-Path $work 'policy.json'
            Set-Content -Path $policyFile -Value $policy -Encoding utf8NoBOM
            Grant-OfficerForThisRun
            Log "creating certificate $certName ($keyType 2048, exportable=false)"
            Invoke-AzWithRbacRetry @('keyvault', 'certificate', 'create', '--vault-name', $vault, '--name', $certName,
                '--policy', "@$policyFile", '--output', 'none') | Out-Null
            for ($i = 0; $i -lt 60; $i++) {
                $status = (& az keyvault certificate pending show --vault-name $vault --name $certName --query status -o tsv 2>$null)
                if ($LASTEXITCODE -ne 0 -or $status -eq 'completed') { break }
                Start-Sleep -Seconds 5
            }
            Revoke-Officer
        }

        # The current version, named once: every read below is of that version, so a version imported
        # meanwhile is neither judged nor registered in its place.
        $certId = "$(& az keyvault certificate show --vault-name $vault --name $certName --query id -o tsv)".Trim()
        $version = ($certId -split '/')[-1]
        if ($LASTEXITCODE -ne 0 -or -not $version -or $version -eq $certId) {
            throw "Key Vault did not name the current version of certificate $certName; nothing was registered."
        }
        function Show-Version([string]$Query) {
            $out = & az keyvault certificate show --vault-name $vault --name $certName --version $version --query $Query -o tsv
            if ($LASTEXITCODE -ne 0) { throw "az keyvault certificate show failed for $certName version $version" }
            return "$out".Trim()
        }
        $enabled = Show-Version 'attributes.enabled'
        $created = Show-Version 'attributes.created'
        # The policy after the version: a change made since its creation is seen (a version's own
        # read carries no policy; the certificate's read carries the current one).
        $policyUpdated = "$(& az keyvault certificate show --vault-name $vault --name $certName --query 'policy.attributes.updated' -o tsv)".Trim()
        $howToCreate = ("create a new version in the vault with a policy of issuer Self and exportable false (az keyvault " +
            "certificate create --vault-name $vault -n $certName --policy @<file>; scripts/cert-policy.template.json with " +
            '__KEY_TYPE__ and __SUBJECT__ filled in), then re-run.')
        if ($enabled -ne 'true') {
            throw ("certificate $certName version $version is not enabled (enabled '$enabled'): refusing to register it; " +
                "nothing was registered. $howToCreate")
        }
        # az prints Key Vault's times as ISO 8601 in UTC (whole seconds): compared to the second.
        $utc = '^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(\+00:00|Z)?$'
        if ($created -notmatch $utc) { $createdS = $null } else { $createdS = $Matches[1] }
        if ($policyUpdated -notmatch $utc) { $policyS = $null } else { $policyS = $Matches[1] }
        if (-not $createdS -or -not $policyS) {
            throw ("Key Vault does not say when version $version was created ('$created') or when the policy of certificate " +
                "$certName last changed ('$policyUpdated'): refusing to register it; nothing was registered.")
        }
        if ([string]::CompareOrdinal($createdS, $policyS) -lt 0) {
            throw ("certificate $certName version $version was created $createdS, before its policy's last change ${policyS}: " +
                'the policy it passed did not govern its creation (an import followed by a policy reset looks exactly like ' +
                'this), so its private key may exist outside the vault. Refusing to register it; nothing was registered. ' +
                'If you did not create this version, treat it as a compromise attempt (Key Vault audit log: ' +
                "CertificateImport, CertificatePolicyUpdate): disable it (az keyvault certificate set-attributes --vault-name " +
                "$vault -n $certName --version $version --enabled false) and $howToCreate")
        }

        # That version's public part and SHA-1 thumbprint (hex), as Entra keys it.
        $cer = Show-Version 'cer'
        $thumbprint = (Show-Version 'x509ThumbprintHex').ToUpperInvariant()

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
    Revoke-Officer
    Close-Vault $openedFor
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
