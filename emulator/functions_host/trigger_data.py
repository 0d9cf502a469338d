"""What the host puts in an ``InvocationRequest`` for each trigger, and how it reads the HTTP answer back.

HTTP, as the host's ``ToRpcHttp`` (Azure/azure-functions-host,
``src/WebJobs.Script.Grpc/MessageExtensions/GrpcMessageConversionExtensions.cs``) does for a worker
that declares ``RawHttpBodyBytes`` and ``RpcHttpBodyOnly`` (the Python runtime does): URL with
query string, method, headers with lower-cased names and the values of a repeated header joined
by ``,`` (ASP.NET's ``StringValues.ToString()``), query parameters likewise joined and left out
when empty, route values, and the body as bytes when the request has one.
Timer: the ``TimerInfo`` JSON (``Schedule``, ``ScheduleStatus``, ``IsPastDue``) that
``azure.functions.TimerRequest`` reads. Event Grid: the event itself as JSON, one per invocation.
Every invocation also carries the host's ``sys`` trigger metadata (MethodName, UtcNow, RandGuid).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any, NamedTuple

from emulator.functions_host.rpc_messages import protos


def _joined(pairs: Iterable[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower() if lower else name, []).append(value)
    return {name: ",".join(values) for name, values in grouped.items()}


def http_request_data(
    *,
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    route_values: dict[str, str],
    body: bytes,
) -> Any:
    """The ``TypedData(http=RpcHttp)`` of one request."""
    p = protos()
    http = p.RpcHttp(
        method=method,
        url=url,
        headers=_joined(headers, lower=True),
        query={k: v for k, v in _joined(query, lower=False).items() if v},
        params=route_values,
    )
    if body:
        http.body.CopyFrom(p.TypedData(bytes=body))
    return p.TypedData(http=http)


def sys_metadata(function_name: str) -> dict[str, Any]:
    p = protos()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    value = {"MethodName": function_name, "UtcNow": now, "RandGuid": str(uuid.uuid4())}
    return {"sys": p.TypedData(json=json.dumps(value))}


def timer_data(*, last: datetime | None, next_: datetime | None, past_due: bool = False) -> Any:
    def iso(moment: datetime | None) -> str:
        return (moment or datetime.min.replace(tzinfo=UTC)).isoformat()

    info = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": iso(last), "Next": iso(next_), "LastUpdated": iso(last)},
        "IsPastDue": past_due,
    }
    return protos().TypedData(json=json.dumps(info))


def event_grid_data(event: dict[str, Any]) -> Any:
    return protos().TypedData(json=json.dumps(event))


class HttpAnswer(NamedTuple):
    """What the host sends back: status, headers (a name may repeat), body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _body_bytes(data: Any) -> bytes:
    kind = data.WhichOneof("data")
    if kind in ("bytes", "stream"):
        return bytes(getattr(data, kind))
    if kind in ("string", "json"):
        return getattr(data, kind).encode("utf-8")
    if kind in ("int", "double"):
        return str(getattr(data, kind)).encode("ascii")
    return b""


def _set_cookie(cookie: Any) -> str:
    morsel = SimpleCookie()
    morsel[cookie.name] = cookie.value
    entry = morsel[cookie.name]
    if cookie.HasField("domain"):
        entry["domain"] = cookie.domain.value
    if cookie.HasField("path"):
        entry["path"] = cookie.path.value
    if cookie.HasField("expires"):
        entry["expires"] = cookie.expires.value.ToDatetime(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    if cookie.HasField("max_age"):
        entry["max-age"] = str(int(cookie.max_age.value))
    if cookie.HasField("secure") and cookie.secure.value:
        entry["secure"] = True
    if cookie.HasField("http_only") and cookie.http_only.value:
        entry["httponly"] = True
    same_site = protos().RpcHttpCookie.SameSite.Name(cookie.same_site)
    if same_site != "None":
        entry["samesite"] = "None" if same_site == "ExplicitNone" else same_site
    return entry.OutputString()


def http_answer(data: Any) -> HttpAnswer | None:
    """The HTTP response in a function's output ``TypedData``; None when it holds no ``RpcHttp``."""
    if data.WhichOneof("data") != "http":
        return None
    http = data.http
    headers = list(http.headers.items())
    headers += [("Set-Cookie", _set_cookie(cookie)) for cookie in http.cookies]
    status = int(http.status_code) if http.status_code else 200
    return HttpAnswer(status, headers, _body_bytes(http.body) if http.HasField("body") else b"")
