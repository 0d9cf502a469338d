"""The local host's side of the platform, over real HTTP, with the sample app on azure-functions-runtime."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.functions_host.host_process import FUNCTION_KEY, MASTER_KEY, SAMPLE_APP, start_host, stop_host

KEY = {"x-functions-key": FUNCTION_KEY}
MASTER = {"x-functions-key": MASTER_KEY}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def event(subject: str = "/certificates/signing", **data: object) -> dict:
    return {
        "id": f"evt-{subject}",
        "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v",
        "subject": subject,
        "eventType": "Microsoft.KeyVault.CertificateNewVersionCreated",
        "eventTime": "2026-11-30T04:00:00Z",
        "data": data or {"ObjectName": "signing", "Version": "v2"},
        "dataVersion": "1",
        "metadataVersion": "1",
    }


# ---------------------------------------------------------------------------- HTTP triggers
def test_request_reaches_the_function_as_the_host_sends_it(sample_host):
    base, _ = sample_host
    # http.client: repeated headers and a binary body exactly as written.
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.putrequest("POST", "/api/echo/7?a=1&a=2&empty=&code=" + FUNCTION_KEY)
    connection.putheader("X-Multi", "one")
    connection.putheader("X-Multi", "two")
    connection.putheader("Content-Type", "application/octet-stream")
    connection.putheader("Content-Length", "3")
    connection.endheaders(b"\x00\xff\n")
    response = connection.getresponse()
    seen = json.loads(response.read())
    assert response.status == 201
    assert response.getheader("X-One") == "1" and response.getheader("X-Two") == "2"
    assert response.getheader("Content-Type").startswith("application/json")
    assert seen["method"] == "POST"
    assert seen["url"] == f"{base}/api/echo/7?a=1&a=2&empty=&code={FUNCTION_KEY}"
    assert seen["headers"]["x-multi"] == "one,two"  # ASP.NET joins repeated values with ","
    assert seen["params"] == {"a": "1,2", "code": FUNCTION_KEY}  # the host leaves out empty values
    assert seen["route"] == {"id": "7"}
    assert seen["body"] == "00ff0a"


def test_route_constraint_and_methods(sample_host):
    base, _ = sample_host
    assert requests.get(f"{base}/api/echo/abc", headers=KEY, timeout=30).status_code == 404
    assert requests.patch(f"{base}/api/echo/1", headers=KEY, timeout=30).status_code == 404
    assert requests.delete(f"{base}/api/echo/1", headers=KEY, timeout=30).status_code == 201
    # No "methods" in the trigger: every method reaches the function.
    for method in ("GET", "POST", "PATCH", "OPTIONS"):
        response = requests.request(method, f"{base}/api/any-method", timeout=30)
        assert (response.status_code, response.text) == (200, method)


def test_literal_segment_wins_over_parameter(sample_host):
    base, _ = sample_host
    assert requests.get(f"{base}/api/items/special", timeout=30).text == "literal"
    assert requests.get(f"{base}/api/ITEMS/Special", timeout=30).text == "literal"
    assert requests.get(f"{base}/api/items/other", timeout=30).text == "parameter:other"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/echo/1", {}, 401),
        ("/api/echo/1", {"x-functions-key": "wrong"}, 401),
        ("/api/echo/1", KEY, 201),
        ("/api/echo/1?code=" + FUNCTION_KEY, {}, 201),
        ("/api/echo/1", MASTER, 201),
        ("/api/operator", KEY, 401),
        ("/api/operator", MASTER, 200),
    ],
)
def test_keys_per_auth_level(sample_host, path, headers, status):
    base, _ = sample_host
    response = requests.get(base + path, headers=headers, timeout=30)
    assert response.status_code == status
    if status == 401:
        assert response.content == b""


@pytest.mark.parametrize("path", ["/api/nowhere", "/echo/1", "/", "/api"])
def test_the_hosts_own_404_has_no_body(sample_host, path):
    base, _ = sample_host
    response = requests.get(base + path, headers=KEY, timeout=30)
    assert (response.status_code, response.content) == (404, b"")


def test_a_function_that_raises_is_a_500_with_no_body(sample_host):
    base, _ = sample_host
    response = requests.get(f"{base}/api/boom", timeout=30)
    assert (response.status_code, response.content) == (500, b"")


# ---------------------------------------------------------------------------- Event Grid webhook
def _grid(base: str, body: object, kind: str = "Notification", key: str | None = MASTER_KEY, name: str = "on_event"):
    headers = {"aeg-event-type": kind, "Content-Type": "application/json"}
    if key:
        headers["x-functions-key"] = key
    return requests.post(
        f"{base}/runtime/webhooks/EventGrid", params={"functionName": name}, json=body, headers=headers, timeout=30
    )


def test_event_grid_notification_invokes_once_per_event(sample_host):
    base, out = sample_host
    before = len(lines(out / "events"))
    response = _grid(base, [event("/certificates/a"), event("/certificates/b")])
    assert response.status_code == 202
    received = lines(out / "events")[before:]
    assert [e["subject"] for e in received] == ["/certificates/a", "/certificates/b"]
    assert received[0]["type"] == "Microsoft.KeyVault.CertificateNewVersionCreated"
    assert received[0]["data"] == {"ObjectName": "signing", "Version": "v2"}


def test_event_grid_failure_is_a_500_so_event_grid_retries(sample_host):
    base, _ = sample_host
    response = _grid(base, [event("fail")])
    assert (response.status_code, response.content) == (500, b"")


def test_event_grid_subscription_validation(sample_host):
    base, out = sample_host
    before = len(lines(out / "events"))
    validation = event("", validationCode="512d38b6-c7b8-40c8-89fe-f46f9e9622b6")
    validation["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent"
    response = _grid(base, [validation], kind="SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    assert len(lines(out / "events")) == before  # validation never reaches the function


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"key": None}, 401),
        ({"key": FUNCTION_KEY}, 401),  # the host wants its system key, not a function key
        ({"name": "nope"}, 404),
        ({"name": "echo"}, 404),  # not an Event Grid function
        ({"kind": "Other"}, 400),
        ({"body": [1, 2]}, 400),
        ({"body": []}, 400),
    ],
)
def test_event_grid_refusals(sample_host, kwargs, status):
    base, out = sample_host
    before = len(lines(out / "events"))
    body = kwargs.pop("body", [event()])
    assert _grid(base, body, **kwargs).status_code == status
    assert len(lines(out / "events")) == before


def test_event_grid_body_that_is_not_json(sample_host):
    base, _ = sample_host
    headers = {"aeg-event-type": "Notification", **MASTER}
    response = requests.post(
        f"{base}/runtime/webhooks/EventGrid?functionName=on_event", data=b"{not json", headers=headers, timeout=30
    )
    assert response.status_code == 400


# ---------------------------------------------------------------------------- admin API
def test_admin_invokes_a_timer(sample_host):
    base, out = sample_host
    before = len(lines(out / "ticks"))
    response = requests.post(f"{base}/admin/functions/tick", json={"input": ""}, headers=MASTER, timeout=30)
    assert response.status_code == 202
    assert [t["past_due"] for t in lines(out / "ticks")[before:]] == [False]


def test_admin_invokes_an_event_grid_function_with_the_input_event(sample_host):
    base, out = sample_host
    before = len(lines(out / "events"))
    body = {"input": json.dumps(event("/certificates/admin"))}
    assert requests.post(f"{base}/admin/functions/on_event", json=body, headers=MASTER, timeout=30).status_code == 202
    assert [e["subject"] for e in lines(out / "events")[before:]] == ["/certificates/admin"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/admin/functions/tick", {}, 401),
        ("POST", "/admin/functions/tick", KEY, 401),
        ("POST", "/admin/functions/nope", MASTER, 404),
        ("POST", "/admin/functions/echo", MASTER, 400),
        ("GET", "/admin/functions/tick", MASTER, 405),
    ],
)
def test_admin_refusals(sample_host, method, path, headers, status):
    base, out = sample_host
    before = len(lines(out / "ticks"))
    response = requests.request(method, base + path, json={"input": ""}, headers=headers, timeout=30)
    assert response.status_code == status
    assert len(lines(out / "ticks")) == before


# ---------------------------------------------------------------------------- timers and indexing
def test_timer_fires_on_its_schedule_from_an_app_setting(tmp_path):
    host = start_host(SAMPLE_APP, tmp_path, schedule="*/1 * * * * *")
    try:
        assert host.base_url, host.text()
        deadline = time.monotonic() + 15
        while len(lines(tmp_path / "ticks")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        ticks = lines(tmp_path / "ticks")
        assert len(ticks) >= 2, host.text()
        assert all(t["past_due"] is False and not t["next"].startswith("0001") for t in ticks)
    finally:
        stop_host(host)


BROKEN_APPS = {
    # The trigger binding is named 'req' by default; the parameter is not.
    "binding name": (
        "@app.route(route='hello')\n"
        "def hello(request: func.HttpRequest) -> func.HttpResponse:\n"
        "    return func.HttpResponse('hi')\n",
        [
            "FunctionLoadError: cannot load the hello function",
            "the following parameters are declared in Python but not in the function definition",
            "'request'",
        ],
    ),
    "return annotation": (
        "@app.route(route='hello')\ndef hello(req: func.HttpRequest) -> dict:\n    return {}\n",
        ["FunctionLoadError: cannot load the hello function", 'Python return annotation "dict" does not match'],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_APPS))
def test_a_broken_function_app_fails_at_indexing_with_the_runtimes_error(tmp_path, case):
    source, expected = BROKEN_APPS[case]
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\napp = func.FunctionApp()\n" + source, encoding="utf-8"
    )
    host = start_host(tmp_path, tmp_path)
    try:
        assert host.process.wait(timeout=60) == 1
        text = host.text()
        assert not host.base_url
        # azure_functions_runtime's own FunctionLoadError, from its WorkerInitResponse.
        for words in expected:
            assert words in text, text
    finally:
        stop_host(host)


def test_an_unsupported_return_value_fails_the_invocation(tmp_path):
    # No return annotation: indexing passes, and the runtime refuses the value when converting it.
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"
        "@app.route(route='hello')\n"
        "def hello(req):\n"
        "    return {'not': 'an HttpResponse'}\n",
        encoding="utf-8",
    )
    host = start_host(tmp_path, tmp_path)
    try:
        assert host.base_url, host.text()
        response = requests.get(f"{host.base_url}/api/hello", timeout=30)
        assert (response.status_code, response.content) == (500, b"")
    finally:
        stop_host(host)
    assert "Executed 'Functions.hello' (Failed)" in host.text()


def test_an_invocation_over_function_timeout_is_a_500(tmp_path):
    (tmp_path / "host.json").write_text('{"version": "2.0", "functionTimeout": "00:00:01"}', encoding="utf-8")
    (tmp_path / "function_app.py").write_text(
        "import time\n"
        "import azure.functions as func\n"
        "app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"
        "@app.route(route='slow')\n"
        "def slow(req: func.HttpRequest) -> func.HttpResponse:\n"
        "    time.sleep(3)\n"
        "    return func.HttpResponse('too late')\n",
        encoding="utf-8",
    )
    host = start_host(tmp_path, tmp_path)
    try:
        assert host.base_url, host.text()
        started = time.monotonic()
        response = requests.get(f"{host.base_url}/api/slow", timeout=30)
        assert (response.status_code, response.content) == (500, b"")
        assert time.monotonic() - started < 2.5
    finally:
        stop_host(host)
    assert "Timeout value of 1.0 s exceeded by function 'Functions.slow'" in host.text()


def test_chunked_request_body_reaches_the_function(sample_host):
    base, _ = sample_host
    chunks = iter([b"ab", b"cd"])  # requests sends a generator body chunked
    response = requests.put(f"{base}/api/echo/3", data=chunks, headers=KEY, timeout=30)
    assert response.status_code == 201
    assert response.json()["body"] == b"abcd".hex()


def test_disabled_functions_ignore_their_events_and_only_the_master_key_runs_them(tmp_path):
    disabled = {f"AzureWebJobs.{name}.Disabled": "true" for name in ("item", "on_event", "tick")}
    host = start_host(SAMPLE_APP, tmp_path, schedule="*/1 * * * * *", settings=disabled)
    try:
        assert host.base_url, host.text()
        base = host.base_url
        assert requests.get(f"{base}/api/items/x", timeout=30).status_code == 404
        assert requests.get(f"{base}/api/items/x", headers=KEY, timeout=30).status_code == 404
        assert requests.get(f"{base}/api/items/x", headers=MASTER, timeout=30).text == "parameter:x"
        assert requests.get(f"{base}/api/items/special", timeout=30).text == "literal"  # another function
        assert _grid(base, [event()]).status_code == 404
        time.sleep(2.5)  # the timer's schedule fires every second: a disabled timer must not run
        assert lines(tmp_path / "ticks") == [] and lines(tmp_path / "events") == []
        response = requests.post(f"{base}/admin/functions/tick", json={"input": ""}, headers=MASTER, timeout=30)
        assert response.status_code == 202
        assert len(lines(tmp_path / "ticks")) == 1
    finally:
        stop_host(host)
