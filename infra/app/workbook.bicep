// An Azure Monitor workbook over the broker's telemetry: latency per upstream (p50/p95 from the
// attempt spans), attempts and throttling, sign operations per hour, token-cache hits and misses,
// the certificate's days to expiry and the requests' status. The content is workbook.json.
// References: https://learn.microsoft.com/azure/templates/microsoft.insights/workbooks
//             https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-automate

@description('Display name of the workbook.')
param displayName string = 'Key Vault assertion broker'

@description('Azure region.')
param location string

@description('Resource tags.')
param tags object = {}

@description('Resource ID of the Application Insights component the workbook reads.')
param applicationInsightsId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; stable per component so redeploying updates it.
  name: guid(applicationInsightsId, 'broker-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: loadTextContent('workbook.json')
  }
}

output workbookId string = workbook.id
