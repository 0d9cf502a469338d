"""A small function app for the local host's tests: one function per host behaviour under test.

Run by ``python -m emulator.host --app-dir`` in a subprocess (the worker runtime serves one app per
process). Invocations are recorded as JSON lines in ``$SAMPLE_OUT_DIR``.
"""

import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def _record(name: str, value: dict) -> None:
    with (Path(os.environ["SAMPLE_OUT_DIR"]) / name).open("a", encoding="utf-8") as out:
        out.write(json.dumps(value) + "\n")


@app.route(route="echo/{id:int}", methods=["GET", "POST", "PUT", "DELETE"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route": dict(req.route_params),
        "body": req.get_body().hex(),
    }
    return func.HttpResponse(
        json.dumps(seen), status_code=201, mimetype="application/json", headers={"X-One": "1", "X-Two": "2"}
    )


@app.function_name("ping")
@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.route(route="items/{name}", auth_level=func.AuthLevel.ANONYMOUS)
def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("parameter:" + req.route_params["name"])


@app.route(route="items/special", auth_level=func.AuthLevel.ANONYMOUS)
def special(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("literal")


@app.route(route="any-method", auth_level=func.AuthLevel.ANONYMOUS)
def any_method(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.method)


@app.route(route="operator", auth_level=func.AuthLevel.ADMIN)
def operator(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin")


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("internal detail that must not reach the caller")


@app.timer_trigger(schedule="%SAMPLE_SCHEDULE%", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    _record("ticks", {"past_due": timer.past_due, "next": timer.schedule_status.get("Next")})


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    if event.subject in ("fail", "boom"):
        raise RuntimeError("the function failed")
    _record(
        "events",
        {
            "id": event.id,
            "type": event.event_type,
            "subject": event.subject,
            "topic": event.topic,
            "time": event.event_time.isoformat() if event.event_time else None,
            "data": event.get_json(),
        },
    )
