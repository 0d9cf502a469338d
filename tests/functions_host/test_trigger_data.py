"""What the host puts in an InvocationRequest, and how it reads the HTTP answer back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from emulator.functions_host.rpc_messages import protos
from emulator.functions_host.trigger_data import (
    event_grid_data,
    http_answer,
    http_request_data,
    sys_metadata,
    timer_data,
)

p = protos()


def test_http_request_as_the_host_converts_it():
    data = http_request_data(
        method="POST",
        url="http://127.0.0.1:7071/api/x/1?a=1&a=2&e=",
        headers=[("X-Multi", "one"), ("x-multi", "two"), ("Content-Type", "text/plain")],
        query=[("a", "1"), ("a", "2"), ("e", "")],
        route_values={"id": "1"},
        body=b"\x00body",
    )
    http = data.http
    assert data.WhichOneof("data") == "http"
    assert (http.method, http.url) == ("POST", "http://127.0.0.1:7071/api/x/1?a=1&a=2&e=")
    assert dict(http.headers) == {"x-multi": "one,two", "content-type": "text/plain"}
    assert dict(http.query) == {"a": "1,2"}
    assert dict(http.params) == {"id": "1"}
    assert http.body.WhichOneof("data") == "bytes" and http.body.bytes == b"\x00body"


def test_no_body_leaves_the_body_unset():
    data = http_request_data(method="GET", url="u", headers=[], query=[], route_values={}, body=b"")
    assert not data.http.HasField("body")


def test_http_answer_with_headers_cookies_and_body():
    cookie = p.RpcHttpCookie(
        name="session",
        value="abc",
        path=p.NullableString(value="/"),
        secure=p.NullableBool(value=True),
        http_only=p.NullableBool(value=True),
        same_site=p.RpcHttpCookie.SameSite.Strict,
        max_age=p.NullableDouble(value=60),
    )
    rpc = p.RpcHttp(status_code="201", headers={"content-type": "text/plain"}, cookies=[cookie],
                    body=p.TypedData(string="é"))  # fmt: skip
    answer = http_answer(p.TypedData(http=rpc))
    assert answer is not None
    assert answer.status == 201
    assert ("content-type", "text/plain") in answer.headers
    set_cookie = dict(answer.headers)["Set-Cookie"]
    for part in ("session=abc", "Path=/", "Secure", "HttpOnly", "SameSite=Strict", "Max-Age=60"):
        assert part in set_cookie
    assert answer.body == "é".encode()


def test_http_answer_defaults_and_non_http_output():
    answer = http_answer(p.TypedData(http=p.RpcHttp(body=p.TypedData(bytes=b"\x01"))))
    assert answer == (200, [], b"\x01")
    assert http_answer(p.TypedData(string="not http")) is None


def test_timer_and_event_grid_payloads():
    last = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    info = json.loads(timer_data(last=last, next_=None, past_due=True).json)
    assert info["IsPastDue"] is True
    assert info["ScheduleStatus"]["Last"] == "2026-11-30T03:00:00+00:00"
    event = {"id": "1", "eventType": "t", "data": {"k": "v"}}
    assert json.loads(event_grid_data(event).json) == event
    metadata = json.loads(sys_metadata("rollover")["sys"].json)
    assert metadata["MethodName"] == "rollover" and metadata["UtcNow"].endswith("Z")
