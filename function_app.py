"""HTTP functions: each parses its request, calls ``shared``, and shapes the response.

Importing this module makes no network call and fails on nothing: settings are read on the
first request, and problems with them are answered as 503s.
"""

import azure.functions as func

from shared.cosmos_keys import parse_key_type, validate_account_name
from shared.health import health_report
from shared.http import json_response, route
from shared.runtime import get_runtime

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@route("health")
def health(req: func.HttpRequest) -> func.HttpResponse:
    status, body = health_report(get_runtime().settings)
    return json_response(body, status=status, no_store=True)


@app.function_name("cosmos_keys")
@app.route(route="cosmos/{account}/keys", methods=["GET"])
@route("cosmos-keys")
def cosmos_keys(req: func.HttpRequest) -> func.HttpResponse:
    account = validate_account_name(req.route_params.get("account", ""))
    key_type = parse_key_type(req.params.get("type"))
    keys = get_runtime().require_cosmos().keys(account, key_type)
    return json_response({"account": account, "type": str(key_type), **keys}, no_store=True)
