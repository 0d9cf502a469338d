"""schemathesis against the function on the local host + emulator, from the OpenAPI document.

A bounded property run inside `make test` (few examples per operation, a time cap per operation);
`make fuzz` is the long run (FUZZ_EXAMPLES). Every generated request must get an answer the
document describes (status, media type, schema, headers), never a 500, and no body may carry a
secret other than the one the route exists to return (Cosmos keys in a 200 of the keys route).
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.openapi import build_document

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
# Per operation, on top of the example count: `make test` must stay bounded in time.
SECONDS_PER_OPERATION = int(os.environ.get("FUZZ_SECONDS_PER_OPERATION", "60"))
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")
COSMOS_KEY = re.compile(r"[A-Za-z0-9+/]{86}==")
SECRET_MARKERS = ("PRIVATE KEY", "client_assertion", "access_token")


# Methods a route does not declare are answered by the Functions host, not the app (the local
# host's http.server says 501 to TRACE): the contract run sends only the documented ones.
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"mode": "all"}, "phases": {"coverage": {"unexpected-methods": []}}}
)
schema = schemathesis.openapi.from_dict(build_document(), config=CONFIG)


@pytest.fixture
def contract(configure, emu, function_key):
    client = configure()
    return client.base_url + "/api", function_key


@schemathesis.check
def no_secret_in_body(ctx, response, case):
    """No token, assertion or private key in any body; keys only in the keys routes' 200s."""
    body = response.text or ""
    if JWT.search(body):
        raise AssertionError(f"{case.method} {case.path} answered a JWT in its body")
    for marker in SECRET_MARKERS:
        if marker in body:
            raise AssertionError(f"{case.method} {case.path} answered '{marker}' in its body")
    keys_route = case.path in ("/cosmos/{account}/keys", "/keys/{kind}/{name}") and response.status_code == 200
    if not keys_route and COSMOS_KEY.search(body):
        raise AssertionError(f"{case.method} {case.path} answered {response.status_code} with a key-like value")
    if ctx.config and getattr(ctx.config, "function_key", None) and ctx.config.function_key in body:
        raise AssertionError("the function key came back in a body")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    no_secret_in_body,
]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_RANDOM") is None,  # reproducible in make test; random in make fuzz
)
@pytest.mark.timeout(SECONDS_PER_OPERATION * 2)
def test_every_answer_conforms_and_leaks_nothing(case, contract):
    base_url, function_key = contract
    response = case.call(base_url=base_url, headers={"x-functions-key": function_key}, timeout=60)
    body = response.text or ""
    assert function_key not in body
    case.validate_response(response, checks=CHECKS)
