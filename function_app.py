"""The functions: each parses its trigger's input, calls ``shared``, and shapes the response.

Importing this module makes no network call and fails on nothing: settings are read on the
first request, and problems with them are answered as 503s.
"""

import os

import azure.functions as func

from shared.callers import (
    COSMOS_ROLES,
    DIAGNOSTICS_ROLES,
    KEYS_ROLES,
    ROLLOVER_ROLES,
    USERS_ROLES,
    cosmos_roles,
    key_roles,
    require_role,
    users_roles,
)
from shared.downstream import parse_limit, parse_select, parse_tenant, validate_account_name
from shared.health import health_report
from shared.http import json_response, query_param, route
from shared.key_kinds import parse_key_request, parse_key_type
from shared.rollover import parse_dry_run, parse_flag, refuse_unexpected_input, run_on_event, run_on_timer
from shared.runtime import get_runtime
from shared.settings import timer_schedule
from shared.telemetry import configure_telemetry

# Off unless APPLICATIONINSIGHTS_CONNECTION_STRING / OTEL_EXPORTER_OTLP_ENDPOINT is set; adopts the
# worker's providers when the worker configured Azure Monitor itself. No network call.
configure_telemetry()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@route("health", roles=None)
def health(req: func.HttpRequest) -> func.HttpResponse:
    status, body = health_report(get_runtime().settings)
    return json_response(body, status=status, no_store=True)


@app.function_name("cosmos_keys")
@app.route(route="cosmos/{account}/keys", methods=["GET"])
@route("cosmos-keys", roles=COSMOS_ROLES)
def cosmos_keys(req: func.HttpRequest) -> func.HttpResponse:
    runtime = get_runtime()
    key_type = parse_key_type(query_param(req, "type"))
    require_role(cosmos_roles(key_type))
    account = validate_account_name(req.route_params.get("account", ""))
    keys = runtime.require_cosmos().keys(account, key_type)
    return json_response({"account": account, "type": str(key_type), **keys}, no_store=True)


@app.function_name("resource_keys")
@app.route(route="keys/{kind}/{name}", methods=["GET"])
@route("resource-keys", roles=KEYS_ROLES)
def resource_keys(req: func.HttpRequest) -> func.HttpResponse:
    # Authenticated (401) by `route`; then the route values (400), the listing (404), the caller's
    # role for this resource and key type (403), and only then ARM (local auth 409, keys).
    runtime = get_runtime()
    kind, name, key_type = parse_key_request(
        req.route_params.get("kind", ""), req.route_params.get("name", ""), query_param(req, "type")
    )
    service = runtime.require_resource_keys()
    resource = service.resource(kind, name)
    require_role(key_roles(resource, key_type))
    keys = service.keys(resource, key_type)
    return json_response({"kind": kind.kind, "name": resource.name, "type": str(key_type), "keys": keys}, no_store=True)


@app.function_name("graph_users")
@app.route(route="graph/users", methods=["GET"])
@route("graph-users", roles=USERS_ROLES)
def graph_users(req: func.HttpRequest) -> func.HttpResponse:
    runtime = get_runtime()
    limit = parse_limit(query_param(req, "limit"))
    select = parse_select(query_param(req, "select"))
    tenant = runtime.home_or(parse_tenant(query_param(req, "tenant")))
    # The tenant's own role first: a caller without it learns nothing about which tenants are listed.
    require_role(users_roles(tenant))
    runtime.require_allowed_tenant(tenant)
    users = runtime.require_users().list(limit=limit, select=select, tenant=tenant)
    return json_response(users, no_store=True)


@app.function_name("diagnostics")
@app.route(route="diagnostics", methods=["GET"])
@route("diagnostics", roles=DIAGNOSTICS_ROLES)
def diagnostics(req: func.HttpRequest) -> func.HttpResponse:
    runtime = get_runtime()
    registration = parse_flag(query_param(req, "registration"), "registration")
    return json_response(runtime.diagnostics(registration=registration), no_store=True)


@app.function_name("rollover")
@app.route(route="rollover", methods=["POST"])
@route("rollover", roles=ROLLOVER_ROLES)
def rollover(req: func.HttpRequest) -> func.HttpResponse:
    runtime = get_runtime()
    refuse_unexpected_input(req.url, req.get_body())
    dry_run = parse_dry_run(query_param(req, "dryRun"))
    return json_response(runtime.require_rollover().run(dry_run=dry_run, trigger="http"), no_store=True)


@app.function_name("openapi")
@app.route(route="openapi.json", methods=["GET"])
@route("openapi", roles=None)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    # The contract is public to key holders (SPEC: function key); no caller token, no settings needed.
    # Imported on first use: generating the document is not worth a cold start's import time.
    from shared.openapi import document_json

    return func.HttpResponse(document_json(), mimetype="application/json", charset="utf-8")


@app.function_name("rollover_timer")
@app.timer_trigger(schedule=timer_schedule(os.environ), arg_name="timer", run_on_startup=False)
def rollover_timer(timer: func.TimerRequest) -> None:
    run_on_timer(get_runtime(), past_due=timer.past_due)


@app.function_name("rollover_event")
@app.event_grid_trigger(arg_name="event")
def rollover_event(event: func.EventGridEvent) -> None:
    run_on_event(
        get_runtime(), event_id=event.id, event_type=event.event_type, subject=event.subject, data=event.get_json()
    )
