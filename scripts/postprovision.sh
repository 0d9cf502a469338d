#!/bin/sh
# azd postprovision hook (POSIX sh; PowerShell twin: postprovision.ps1).
#  0. With VNET_ENABLED the vault refuses public traffic; this machine is outside the VNet. The
#     hook then opens the vault to DEPLOYER_IP_ADDRESS alone (an IP rule first, then public access
#     with default action Deny) and closes it again on exit, whatever happens; DEPLOYER_IP_ADDRESS=
#     private means "this machine reaches the private endpoint, open nothing". The next
#     `azd provision` also resets the vault to the template (public access off, no IP rules).
#  1. Creates the signing certificate in Key Vault if it is not there: self-signed, RSA 2048
#     (RSA-HSM on a premium vault), exportable=false, digitalSignature, 12 months, auto-renew at
#     80 % of its lifetime. An existing certificate is left alone (idempotent) only if the vault
#     created it itself with a key that cannot leave it: issuer `Self` and exportable=false in its
#     policy. An imported certificate (issuer `Unknown` or a CA) or an exportable one is refused,
#     since whoever imported or exported it knows the private key; nothing is registered then.
#  2. Appends the current version's public cer to the app registration's keyCredentials unless
#     that thumbprint is already there, and only if that version is enabled and was created no
#     earlier than the policy's last change (whole seconds; the rollover's rule, docs/custody.md):
#     a version older than the policy it passed was made under a policy nobody can read any more
#     (an import followed by a policy reset looks exactly like that) and is refused. Every read
#     of the version names it, so the version judged is the version registered. Nothing is ever removed, so a still-valid older key keeps
#     working while callers roll over. Re-run after Key Vault auto-renews (see infra/README.md).
#  3. Writes local.settings.json for `func start` (scripts/write_local_settings.py).
# Creating the certificate needs Key Vault Certificates Officer, which the deployment does not keep
# on the deployer (GRANT_DEPLOYER_CERTIFICATES_OFFICER=false: an officer could import a version whose
# key exists outside the vault). The hook grants it to the deploying principal (AZURE_PRINCIPAL_ID)
# on this vault only, only when it must create the certificate, and deletes that assignment as soon
# as the certificate exists (and on exit, whatever happens); if the deletion fails it prints the
# exact `az role assignment delete` to run. Reading needs only the Key Vault Reader the template grants.
# Alerts without a receiver (no BROKER_ALERT_EMAIL, no BROKER_ACTION_GROUP_ID) are a warning here.
# Only public material is handled: the certificate's key never leaves Key Vault and its secret is
# never read. azd exports the environment's values (main.bicep outputs) to this process.
# Policy schema: https://learn.microsoft.com/rest/api/keyvault/certificates/create-certificate/create-certificate#certificatepolicy
# CLI: az keyvault certificate create --policy, az ad app credential reset --cert --append
set -eu

: "${KEY_VAULT_NAME:?KEY_VAULT_NAME is not set: run azd provision first}"
: "${KEY_VAULT_CERTIFICATE_NAME:?KEY_VAULT_CERTIFICATE_NAME is not set}"
: "${ENTRA_CLIENT_ID:?ENTRA_CLIENT_ID is not set}"
KEY_VAULT_SKU="${KEY_VAULT_SKU:-standard}"
CREDENTIAL_MODE="${CREDENTIAL_MODE:-keyvault}"

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
opened_for=""
officer_assignment=""
# Key Vault Certificates Officer (infra/app/roles.json), and how this hook marks the assignment it
# makes, so that one left behind by an interrupted run (killed before its trap ran) is found and
# deleted by the next run rather than taken for a standing grant.
CERTIFICATES_OFFICER_ROLE="a4417e6f-fecd-4de8-b567-7b0420556985"
OFFICER_DESCRIPTION="temporary: the azd postprovision hook creates the signing certificate with it, then deletes it"
vault_id=""

log() { printf '[postprovision] %s\n' "$*" >&2; }

# Closes what open_vault_for_deployer opened: public access off first, then the IP rule.
close_vault() {
  if [ -n "$opened_for" ]; then
    log "closing Key Vault $KEY_VAULT_NAME to public traffic again"
    az keyvault update --name "$KEY_VAULT_NAME" --public-network-access Disabled --output none || \
      log "WARNING: could not disable public network access on $KEY_VAULT_NAME: run azd provision to reset it"
    az keyvault network-rule remove --name "$KEY_VAULT_NAME" --ip-address "$opened_for" --output none || \
      log "WARNING: could not remove the IP rule $opened_for from $KEY_VAULT_NAME: run azd provision to reset it"
    opened_for=""
  fi
}
# Deletes the Certificates Officer assignment this run created (see the header).
revoke_officer() {
  if [ -n "$officer_assignment" ]; then
    log "removing the temporary Key Vault Certificates Officer assignment on $KEY_VAULT_NAME"
    if ! az role assignment delete --ids "$officer_assignment" --output none; then
      log "WARNING: could not remove it; remove it yourself:"
      log "  az role assignment delete --ids $officer_assignment"
    fi
    officer_assignment=""
  fi
}
cleanup() {
  revoke_officer
  close_vault
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# VNET_ENABLED: the vault only answers its private endpoint. Open it to this machine alone for
# the few calls the hook makes (see 0. above).
open_vault_for_deployer() {
  access="$(az keyvault show --name "$KEY_VAULT_NAME" --query properties.publicNetworkAccess -o tsv)"
  [ "$access" = "Disabled" ] || return 0
  case "${DEPLOYER_IP_ADDRESS:-}" in
    private)
      log "Key Vault $KEY_VAULT_NAME is private; DEPLOYER_IP_ADDRESS=private: using its private endpoint"
      return 0 ;;
    "")
      log "Key Vault $KEY_VAULT_NAME has public network access disabled (VNET_ENABLED), so this machine cannot"
      log "create or read the certificate. Either let the hook open the vault to your public IP alone while it runs:"
      log "  azd env set DEPLOYER_IP_ADDRESS <your public IPv4>   (then: azd hooks run postprovision)"
      log "or run the hook from inside the virtual network with DEPLOYER_IP_ADDRESS=private."
      exit 1 ;;
  esac
  log "opening Key Vault $KEY_VAULT_NAME to $DEPLOYER_IP_ADDRESS only, until this hook ends"
  opened_for="$DEPLOYER_IP_ADDRESS"
  az keyvault network-rule add --name "$KEY_VAULT_NAME" --ip-address "$DEPLOYER_IP_ADDRESS" --output none
  az keyvault update --name "$KEY_VAULT_NAME" --public-network-access Enabled --default-action Deny \
    --bypass None --output none
}

# Certificates Officer on this vault for this run only (see the header): nothing is granted when
# the deploying principal already holds it (GRANT_DEPLOYER_CERTIFICATES_OFFICER=true).
vault_resource_id() {
  [ -n "$vault_id" ] || vault_id="${KEY_VAULT_ID:-}"
  [ -n "$vault_id" ] || vault_id="$(az keyvault show --name "$KEY_VAULT_NAME" --query id -o tsv)"
}

# A temporary assignment an interrupted run left behind (marked by OFFICER_DESCRIPTION): deleted now.
remove_leftover_officer() {
  vault_resource_id
  leftovers="$(az role assignment list --scope "$vault_id" --role "$CERTIFICATES_OFFICER_ROLE" \
    --query "[?description=='$OFFICER_DESCRIPTION'].id" -o tsv)"
  for leftover in $leftovers; do
    log "removing a temporary Key Vault Certificates Officer assignment an interrupted run left behind"
    az role assignment delete --ids "$leftover" --output none || \
      log "WARNING: could not remove it; remove it yourself: az role assignment delete --ids $leftover"
  done
}

grant_officer_for_this_run() {
  vault_resource_id
  principal="${AZURE_PRINCIPAL_ID:-}"
  [ -n "$principal" ] || principal="$(az ad signed-in-user show --query id -o tsv 2>/dev/null || true)"
  if [ -z "$principal" ]; then
    log "creating the certificate needs Key Vault Certificates Officer, and the deploying principal is unknown"
    log "(AZURE_PRINCIPAL_ID is not set). Grant it for this run, then run the hook again (azd hooks run postprovision):"
    log "  az role assignment create --assignee-object-id <your object id> --role $CERTIFICATES_OFFICER_ROLE --scope $vault_id"
    exit 1
  fi
  held="$(az role assignment list --assignee "$principal" --role "$CERTIFICATES_OFFICER_ROLE" --scope "$vault_id" \
    --query "[0].id" -o tsv)"
  if [ -n "$held" ]; then
    log "the deploying principal already holds Key Vault Certificates Officer on $KEY_VAULT_NAME"
    return 0
  fi
  log "granting the deploying principal Key Vault Certificates Officer on $KEY_VAULT_NAME for this run only"
  officer_assignment="$(az role assignment create --assignee-object-id "$principal" \
    --assignee-principal-type "${AZURE_PRINCIPAL_TYPE:-User}" --role "$CERTIFICATES_OFFICER_ROLE" \
    --scope "$vault_id" --description "$OFFICER_DESCRIPTION" --query id -o tsv)"
}

# Role assignments made by the deployment take a few minutes to reach Key Vault's data plane:
# retry while it answers Forbidden, for up to ~5 minutes.
with_rbac_retry() {
  tries=0
  while :; do
    if "$@" 2>"$work/err"; then return 0; fi
    if grep -q -E 'Forbidden|ForbiddenByRbac|not authorized' "$work/err" && [ "$tries" -lt 30 ]; then
      tries=$((tries + 1))
      log "waiting for the Key Vault role assignment to propagate ($tries/30)"
      sleep 10
      continue
    fi
    cat "$work/err" >&2
    return 1
  done
}

if [ "${ALERTS_HAVE_RECEIVER:-}" = "false" ]; then
  log "WARNING: the broker's alerts have no receiver: they fire into the Azure portal and notify nobody."
  log "  Set one and provision again:  azd env set BROKER_ALERT_EMAIL <address>"
  log "                           or:  azd env set BROKER_ACTION_GROUP_ID <action group resource ID>"
fi

if [ "$CREDENTIAL_MODE" = "keyvault" ]; then
  case "$KEY_VAULT_SKU" in
    premium) key_type="RSA-HSM" ;;
    *) key_type="RSA" ;;
  esac

  remove_leftover_officer
  open_vault_for_deployer

  if with_rbac_retry az keyvault certificate show --vault-name "$KEY_VAULT_NAME" \
      --name "$KEY_VAULT_CERTIFICATE_NAME" --query "policy.issuerParameters.name" -o tsv >"$work/issuer"; then
    # Created by this vault (issuer Self) with a key that can never be exported, or refused:
    # an imported certificate's private key was known outside the vault.
    az keyvault certificate show --vault-name "$KEY_VAULT_NAME" --name "$KEY_VAULT_CERTIFICATE_NAME" \
      --query "policy.keyProperties.exportable" -o tsv >"$work/exportable"
    issuer="$(tr -d '\r\n' <"$work/issuer")"
    exportable="$(tr -d '\r\n' <"$work/exportable")"
    if [ "$(printf '%s' "$issuer" | tr 'A-Z' 'a-z')" != "self" ]; then
      log "certificate $KEY_VAULT_CERTIFICATE_NAME was imported, not created in the vault (issuer '${issuer:-none}', not 'Self'):"
      log "whoever imported it knows its private key. Refusing to use it; nothing was registered."
      log "delete it (and purge) or pick another KEY_VAULT_CERTIFICATE_NAME, then re-run."
      exit 1
    fi
    if [ "$exportable" != "false" ]; then
      log "certificate $KEY_VAULT_CERTIFICATE_NAME has an exportable key (exportable '${exportable:-unknown}'):"
      log "its private key can leave the vault. Refusing to use it; nothing was registered."
      log "delete it (and purge) or pick another KEY_VAULT_CERTIFICATE_NAME, then re-run."
      exit 1
    fi
    log "certificate $KEY_VAULT_CERTIFICATE_NAME exists (self-issued, non-exportable): left as it is"
  else
    if ! grep -q -E 'CertificateNotFound|NotFound|not found' "$work/err"; then
      cat "$work/err" >&2
      exit 1
    fi
    subject="CN=${KEY_VAULT_CERTIFICATE_NAME}.${AZURE_ENV_NAME:-broker}"
    sed -e "s/__KEY_TYPE__/$key_type/" -e "s/__SUBJECT__/$subject/" \
      "$here/cert-policy.template.json" >"$work/policy.json"
    grant_officer_for_this_run
    log "creating certificate $KEY_VAULT_CERTIFICATE_NAME ($key_type 2048, exportable=false)"
    with_rbac_retry az keyvault certificate create --vault-name "$KEY_VAULT_NAME" \
      --name "$KEY_VAULT_CERTIFICATE_NAME" --policy "@$work/policy.json" --output none
    status=""
    i=0
    while [ "$status" != "completed" ]; do
      status="$(az keyvault certificate pending show --vault-name "$KEY_VAULT_NAME" \
        --name "$KEY_VAULT_CERTIFICATE_NAME" --query status -o tsv 2>/dev/null || echo completed)"
      i=$((i + 1))
      if [ "$i" -gt 60 ]; then log "certificate still '$status' after 5 minutes"; exit 1; fi
      [ "$status" = "completed" ] || sleep 5
    done
    revoke_officer
  fi

  # The current version, named once: every read below is of that version, so a version imported
  # meanwhile is neither judged in its place nor registered in its place.
  cert_id="$(az keyvault certificate show --vault-name "$KEY_VAULT_NAME" --name "$KEY_VAULT_CERTIFICATE_NAME" \
    --query id -o tsv | tr -d '\r\n')"
  version="${cert_id##*/}"
  if [ -z "$version" ] || [ "$version" = "$cert_id" ]; then
    log "Key Vault did not name the current version of certificate $KEY_VAULT_CERTIFICATE_NAME; nothing was registered."
    exit 1
  fi
  show_version() {
    az keyvault certificate show --vault-name "$KEY_VAULT_NAME" --name "$KEY_VAULT_CERTIFICATE_NAME" \
      --version "$version" --query "$1" -o tsv
  }
  enabled="$(show_version attributes.enabled | tr -d '\r\n')"
  created="$(show_version attributes.created | tr -d '\r\n')"
  # The policy after the version: a change made since the version's creation is seen. (A
  # version's own read carries no policy; the certificate's read carries the current one.)
  policy_updated="$(az keyvault certificate show --vault-name "$KEY_VAULT_NAME" \
    --name "$KEY_VAULT_CERTIFICATE_NAME" --query policy.attributes.updated -o tsv | tr -d '\r\n')"
  how_to_create="create a new version in the vault with a policy of issuer Self and exportable false (az keyvault certificate create --vault-name $KEY_VAULT_NAME -n $KEY_VAULT_CERTIFICATE_NAME --policy @<file>; scripts/cert-policy.template.json with __KEY_TYPE__ and __SUBJECT__ filled in), then re-run."
  if [ "$enabled" != "true" ]; then
    log "certificate $KEY_VAULT_CERTIFICATE_NAME version $version is not enabled (enabled '${enabled:-unknown}'):"
    log "refusing to register it; nothing was registered. $how_to_create"
    exit 1
  fi
  # az prints Key Vault's times as ISO 8601 in UTC (whole seconds): compared to the second.
  utc_second() {
    case "$1" in
      [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]|\
      [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00|\
      [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z)
        printf '%s' "$1" | cut -c1-19 ;;
      *) printf '' ;;
    esac
  }
  created_s="$(utc_second "$created")"
  policy_s="$(utc_second "$policy_updated")"
  if [ -z "$created_s" ] || [ -z "$policy_s" ]; then
    log "Key Vault does not say when version $version was created ('${created:-none}') or when the policy of"
    log "certificate $KEY_VAULT_CERTIFICATE_NAME last changed ('${policy_updated:-none}'): refusing to register it;"
    log "nothing was registered."
    exit 1
  fi
  if awk -v a="$created_s" -v b="$policy_s" 'BEGIN { exit !(a < b) }'; then
    log "certificate $KEY_VAULT_CERTIFICATE_NAME version $version was created $created_s, before its policy's last"
    log "change $policy_s: the policy it passed did not govern its creation (an import followed by a policy reset"
    log "looks exactly like this), so its private key may exist outside the vault. Refusing to register it;"
    log "nothing was registered. If you did not create this version, treat it as a compromise attempt (Key Vault"
    log "audit log: CertificateImport, CertificatePolicyUpdate): disable it (az keyvault certificate set-attributes"
    log "--vault-name $KEY_VAULT_NAME -n $KEY_VAULT_CERTIFICATE_NAME --version $version --enabled false) and $how_to_create"
    exit 1
  fi

  # That version's public part and SHA-1 thumbprint (hex), as Entra keys it.
  show_version cer >"$work/cer.b64"
  thumbprint="$(show_version x509ThumbprintHex | tr -d '\r\n' | tr 'a-f' 'A-F')"

  # customKeyIdentifier of a certificate keyCredential is its SHA-1 thumbprint: hex as the
  # portal and az show it, or base64 of the raw bytes as Graph's Edm.Binary; accept both.
  az ad app show --id "$ENTRA_CLIENT_ID" --query "keyCredentials[].customKeyIdentifier" -o tsv \
    >"$work/registered"
  : >"$work/registered.hex"
  while IFS= read -r ident; do
    [ -n "$ident" ] || continue
    printf '%s\n' "$ident" | tr 'a-f' 'A-F' >>"$work/registered.hex"
    printf '%s' "$ident" | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' \
      >>"$work/registered.hex" || true
    echo >>"$work/registered.hex"
  done <"$work/registered"
  if grep -q -x "$thumbprint" "$work/registered.hex"; then
    log "thumbprint $thumbprint already registered on app $ENTRA_CLIENT_ID"
  else
    { echo "-----BEGIN CERTIFICATE-----"; fold -w 64 "$work/cer.b64"; echo "-----END CERTIFICATE-----"; } \
      >"$work/cert.pem"
    log "registering thumbprint $thumbprint on app $ENTRA_CLIENT_ID (appending)"
    az ad app credential reset --id "$ENTRA_CLIENT_ID" --cert "@$work/cert.pem" --append --output none
  fi
  close_vault
else
  log "CREDENTIAL_MODE=$CREDENTIAL_MODE: no certificate needed"
fi

if command -v python3 >/dev/null 2>&1; then
  azd env get-values --output json | python3 "$here/write_local_settings.py" --output local.settings.json
else
  log "python3 not found: skipped local.settings.json (run scripts/write_local_settings.py later)"
fi
