// Alerts on the broker's own telemetry (README "Operating the broker"): four log search alert rules
// over the Application Insights component, and the rules below on the workspace. Every rule notifies
// the alert receivers: an existing action group (actionGroupId) and/or one created here that mails
// alertEmail. With neither, the rules fire into the portal only, and the postprovision hook warns
// (ALERTS_HAVE_RECEIVER=false).
// The queries read the broker.* metrics (never sampled) and the broker's log lines; the names
// are those of shared/telemetry/names.py.
// One more rule reads the Key Vault audit log in the Log Analytics workspace (diagnostics.bicep):
// a certificate version IMPORTED into the signing vault (operation CertificateImport). The broker
// only ever signs with keys Key Vault generated; an imported version's private key exists outside
// the vault, so an import is an operator's deliberate act or an attack (README "Security model").
// References: https://learn.microsoft.com/azure/templates/microsoft.insights/actiongroups
//             https://learn.microsoft.com/azure/azure-monitor/reference/tables/azkvauditlogs
//               (OperationName, Id, CallerIpAddress, Identity, HttpStatusCode)
//             https://learn.microsoft.com/azure/templates/microsoft.insights/scheduledqueryrules
//             https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule

@description('Prefix of the alert rule and action group names.')
param namePrefix string

@description('Azure region of the alert rules (the action group is global).')
param location string

@description('Resource tags.')
param tags object = {}

@description('Resource ID of the Application Insights component the broker exports to.')
param applicationInsightsId string

@description('Resource ID of the Log Analytics workspace that receives the Key Vault audit log (diagnostics.bicep).')
param logAnalyticsWorkspaceId string

@description('Resource ID of the Key Vault that holds the signing certificate.')
param keyVaultId string

@description('Email address the alerts are sent to (an action group is created for it); empty: none created.')
param alertEmail string = ''

@description('Resource ID of an existing action group (on-call, ITSM, webhook) every alert notifies; empty: none.')
param actionGroupId string = ''

@description('Alert on any credential added to the broker\'s application other than a key the rollover registered from this vault. Needs Entra AuditLogs routed to the workspace by a tenant-level diagnostic setting (docs/security.md).')
param alertOnAppCredentialChanges bool = false

@description('Object ID of the broker\'s application, whose credentials the AuditLogs rule watches.')
param applicationObjectId string = ''

@description('Object ID of the broker\'s service principal (credentials can be added to it too).')
param servicePrincipalObjectId string = ''

@description('Alert when the signing certificate in use expires within this many days.')
@minValue(1)
param certificateExpiryDays int = 30

@description('Alert when more than this percentage of requests answered 5xx in the window.')
@minValue(1)
@maxValue(100)
param serverErrorPercent int = 5

@description('Requests needed in the window before the 5xx rate is judged (avoids one failure out of two).')
@minValue(1)
param serverErrorMinimumRequests int = 20

@description('Alert when Key Vault answered 429 at least this many times in the window.')
@minValue(1)
param keyVaultThrottlingThreshold int = 1

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-broker-alerts'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'broker'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// Every rule notifies every receiver there is: the existing group, the one created for alertEmail.
var receivers = concat(empty(actionGroupId) ? [] : [actionGroupId], empty(alertEmail) ? [] : [actionGroup.id])

// The version in use is the newest version Entra accepts (the broker falls back only when a newer
// one is not registered), so "in use and within N days" means "no newer registered version".
// Multi-line Bicep strings are verbatim: thresholds go in with format().
var certificateQuery = format('''
customMetrics
| where name == "broker.certificate.days_to_expiry"
| extend certificate = tostring(customDimensions["broker.certificate"]), version = tostring(customDimensions["broker.certificate.version"])
| summarize arg_max(timestamp, value, version) by certificate
| where value < {0}
| project certificate, version, daysToExpiry = value
''', certificateExpiryDays)

var keyVaultThrottlingQuery = format('''
customMetrics
| where name == "broker.upstream.throttled" and tostring(customDimensions["broker.upstream"]) == "keyvault"
| summarize throttled = sum(value) by operation = tostring(customDimensions["broker.operation"])
| where throttled >= {0}
''', keyVaultThrottlingThreshold)

var serverErrorQuery = format('''
requests
| where isnotempty(tostring(customDimensions["broker.route"]))
| summarize total = sum(itemCount), failed = sumif(itemCount, toint(resultCode) >= 500)
| where total >= {0}
| extend failedPercent = 100.0 * failed / total
| where failedPercent > {1}
''', serverErrorMinimumRequests, serverErrorPercent)

// The rollover counts its runs in broker.rollover.runs (broker.outcome failure or blocked: a key
// needs an operator) and logs its failures at ERROR with messages starting "rollover"; either one
// fires the alert.
var rolloverQuery = '''
union
  (customMetrics
   | where name == "broker.rollover.runs" and tostring(customDimensions["broker.outcome"]) in ("failure", "blocked")
   | project timestamp, failures = value),
  (traces
   | where severityLevel >= 3 and message startswith "rollover"
   | project timestamp, failures = 1.0)
| summarize failures = sum(failures)
| where failures > 0
'''

var rules = [
  {
    name: 'certificate-expiry'
    displayName: 'Broker: signing certificate expires within ${certificateExpiryDays} days'
    description: 'The certificate version that signs assertions expires soon and no newer version is registered. Check the rollover, create or register a new version (README "Operating the broker").'
    severity: 2
    frequency: 'PT1H'
    window: 'PT6H'
    query: certificateQuery
  }
  {
    name: 'keyvault-throttling'
    displayName: 'Broker: Key Vault throttles the broker'
    description: 'Key Vault answered 429 to the broker. Token caching keeps sign calls rare: look for a restart loop or a cache that stopped working.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: keyVaultThrottlingQuery
  }
  {
    name: 'server-errors'
    displayName: 'Broker: 5xx rate above ${serverErrorPercent}%'
    description: 'More than ${serverErrorPercent}% of the broker\'s requests failed with 5xx. The failed requests name the upstream and its error code.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT15M'
    query: serverErrorQuery
  }
  {
    name: 'rollover-failed'
    displayName: 'Broker: certificate rollover failed'
    description: 'A rollover run (timer, Event Grid or POST /api/rollover) failed or was blocked. Its log line says why.'
    severity: 2
    frequency: 'PT15M'
    window: 'PT1H'
    query: rolloverQuery
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: '${namePrefix}-broker-${rule.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: rule.frequency
    windowSize: rule.window
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: receivers
    }
  }
}]

// Every CertificateImport on this vault, successful or refused. ingestion_time() keeps each record
// to one evaluation although the window (15 min) outlasts the frequency (5 min), which is there so
// that records ingested late (Log Analytics latency) are still seen.
var certificateImportQuery = 'AZKVAuditLogs | where OperationName == "CertificateImport" and _ResourceId =~ "${keyVaultId}" and ingestion_time() > ago(5m) | project TimeGenerated, Id, HttpStatusCode, CallerIpAddress, Identity'

resource certificateImportAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-broker-certificate-import'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Key Vault: a certificate version was imported into the signing vault'
    description: 'A certificate version was imported into the vault that holds the signing certificate: its private key exists outside Key Vault. The rollover refuses to register imported versions; check who imported it (Identity, CallerIpAddress) and disable that version unless the import was intended.'
    severity: 1
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // AZKVAuditLogs exists only after Key Vault's diagnostic setting sent rows; ARM validates the
    // query on creation and would refuse the rule on a fresh workspace (docs/deployment-review.md;
    // main.bicep also deploys this after the diagnostic settings).
    skipQueryValidation: true
    criteria: {
      allOf: [
        {
          query: certificateImportQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: receivers
    }
  }
}

// A credential added to the broker's application (or its service principal) that is not a key the
// rollover registered: a password (addPassword), a federated identity credential, a certificate
// uploaded by anyone else (a holder of keys/sign calling addKey directly, the portal, az ad app
// credential reset). The rollover's own additions are recognised by their keyId, which its log line
// "rollover registered certificate ... as key <keyId>" carries into AppTraces (workspace-based
// Application Insights writes to the same workspace); every other added key, and any record this
// query cannot parse, alerts (fail closed).
// Activity names: learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities
// (ApplicationManagement: "Update application – Certificates and secrets management", "Add service
// principal credentials"); a federated identity credential is matched by its modified property.
// Record shape: learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs (OperationName,
// InitiatedBy, TargetResources[].id and .modifiedProperties[].displayName/oldValue/newValue; the
// KeyDescription values list each key as "[KeyIdentifier=…, KeyType=…, KeyUsage=…, DisplayName=…]").
var appCredentialQuery = format('''
let watched = dynamic(["{0}", "{1}"]);
// isfuzzy and the empty datatable: no AppTraces table yet (no telemetry so far) means no rollover key.
let rolloverKeys = union isfuzzy=true
    (datatable(KeyId: string) []),
    (AppTraces
     | where TimeGenerated > ago(2h) and Message startswith "rollover registered certificate"
     | extend KeyId = tolower(extract(@"as key ([0-9A-Fa-f-]+)", 1, Message))
     | where isnotempty(KeyId)
     | project KeyId);
AuditLogs
| where ingestion_time() > ago(5m) and Category == "ApplicationManagement"
| where OperationName has_any ("Certificates and secrets management", "service principal credentials")
    or tostring(TargetResources) has "FederatedIdentityCredential"
| mv-expand Target = TargetResources
| where tolower(tostring(Target.id)) in (watched)
| mv-expand Property = Target.modifiedProperties
| extend Changed = tostring(Property.displayName)
| where Changed == "KeyDescription" or Changed has "Credential"
| extend Before = tostring(Property.oldValue), After = tostring(Property.newValue)
| extend NewKeys = extract_all(@"(KeyIdentifier=[^\]]*)", After), OldKeys = extract_all(@"(KeyIdentifier=[^\]]*)", Before)
// A change that is not a key (a federated identity credential), or a longer key list this query cannot
// read, counts as one unknown addition: fail closed.
| extend Added = case(
    Changed != "KeyDescription", dynamic(["(not a key credential)"]),
    coalesce(array_length(NewKeys), 0) == 0 and strlen(After) > strlen(Before), dynamic(["(unreadable key list)"]),
    set_difference(NewKeys, OldKeys))
| mv-expand Added to typeof(string)
| where isnotempty(Added)
| extend KeyType = extract(@"KeyType=([A-Za-z0-9]+)", 1, Added)
| extend KeyId = tolower(extract(@"KeyIdentifier=([0-9A-Fa-f-]+)", 1, Added))
| where Changed != "KeyDescription" or KeyType != "AsymmetricX509Cert" or KeyId !in (rolloverKeys)
| project TimeGenerated, OperationName, Changed, KeyType, KeyId, Added, InitiatedBy, Result, CorrelationId
''', toLower(applicationObjectId), toLower(servicePrincipalObjectId))

resource appCredentialAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = if (alertOnAppCredentialChanges) {
  name: '${namePrefix}-broker-app-credential-added'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Entra: a credential was added to the broker\'s application'
    description: 'A password, a federated identity credential or a certificate the rollover did not register was added to the broker\'s application or service principal: a credential outside Key Vault. Check InitiatedBy and remove the credential unless it was intended (docs/security.md, "Alerting on credential changes to the app").'
    severity: 0
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: appCredentialQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: receivers
    }
  }
}

output actionGroupIds array = receivers
output hasReceiver bool = !empty(receivers)
output alertRuleNames array = [for (rule, i) in rules: alertRules[i].name]
