"""Route templates: matching, constraints and ASP.NET Core's precedence."""

from __future__ import annotations

import pytest

from emulator.functions_host.routing import RouteTemplate, RouteTemplateError, sort_key

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


@pytest.mark.parametrize(
    ("template", "path", "values"),
    [
        ("cosmos/{account}/keys", "cosmos/orders/keys", {"account": "orders"}),
        ("cosmos/{account}/keys", "COSMOS/orders/KEYS", {"account": "orders"}),
        ("cosmos/{account}/keys", "cosmos/orders", None),
        ("cosmos/{account}/keys", "cosmos/orders/keys/more", None),
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/4x", None),
        ("items/{id:int}", "items/99999999999", None),  # outside Int32
        ("items/{id:long}", "items/99999999999", {"id": "99999999999"}),
        ("items/{id:guid}", f"items/{GUID}", {"id": GUID}),
        ("items/{id:guid}", "items/nope", None),
        ("items/{flag:bool}", "items/TRUE", {"flag": "TRUE"}),
        ("items/{name:alpha}", "items/abc1", None),
        ("items/{id:int:alpha}", "items/1", None),  # every constraint must hold
        ("items/{name?}", "items", {}),
        ("items/{name?}", "items/x", {"name": "x"}),
        ("files/{*path}", "files/a/b/c", {"path": "a/b/c"}),
        ("files/{*path}", "files", {}),
        ("health", "health", {}),
    ],
)
def test_match(template, path, values):
    assert RouteTemplate.parse(template).match(parts(path)) == values


def test_precedence_literal_then_constrained_then_parameter_then_catch_all():
    templates = [RouteTemplate.parse(t) for t in ("{*rest}", "items/{name}", "items/{id:int}", "items/special")]
    ordered = [t.text for t in sorted(templates, key=sort_key)]
    assert ordered == ["items/special", "items/{id:int}", "items/{name}", "{*rest}"]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("items/{id:regex(x)}", "unsupported constraint"),
        ("items/{id:nope}", "unsupported constraint"),
        ("files/{*path}/more", "catch-all"),
        ("items/{a?}/{b}", "optional"),
        ("items/x{id}", "unsupported segment"),
    ],
)
def test_templates_the_host_refuses(template, message):
    with pytest.raises(RouteTemplateError, match=message):
        RouteTemplate.parse(template)
