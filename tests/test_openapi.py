"""The OpenAPI document and the code agree: routes, methods, auth levels, parameters, roles, problem types.

The document is generated from the code's own constants (shared/openapi.py); these tests catch
what generation cannot: a route, a method, a query parameter or a role that exists on one side
only, and a committed openapi.json that is not the generated one. The statuses are checked the
other way round by the end-to-end suite, which validates every response it receives.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

import function_app
from shared.errors import ProblemError
from shared.openapi import OPERATION_ID, OPERATIONS, build_document, document_json, problem_types
from tests.contract import closed

ROOT = Path(__file__).resolve().parents[1]
DOC = build_document()


def _indexed_functions() -> list:
    """function_app.app's functions, indexed without leaving a trace.

    azure-functions remembers the names it indexed and refuses to index them again: the index is
    cleared before (the host may have indexed the app) and after (so the host still can).
    """
    function_app.app.functions_bindings = {}
    try:
        return function_app.app.get_functions()
    finally:
        function_app.app.functions_bindings = {}


def _http_functions() -> dict[str, tuple[str, frozenset[str], str]]:
    """function name -> (route, methods, auth level) as registered on function_app.app."""
    found = {}
    for function in _indexed_functions():
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue
        methods = frozenset(str(getattr(m, "value", m)).lower() for m in trigger.methods or [])
        level = str(getattr(trigger.auth_level, "value", trigger.auth_level) or "function").lower()
        found[function.get_function_name()] = (trigger.route, methods, level)
    return found


def _handler_sources() -> dict[str, ast.FunctionDef]:
    tree = ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8"))
    handlers = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and getattr(decorator.func, "attr", "") == "function_name"
                and isinstance(decorator.args[0], ast.Constant)
            ):
                handlers[decorator.args[0].value] = node
    return handlers


def _query_names(handler: ast.FunctionDef) -> set[str]:
    """Query parameters the handler reads: query_param(req, "x") and req.params.get("x")."""
    names = set()
    for node in ast.walk(handler):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "query_param" and len(node.args) == 2:
            names.add(node.args[1].value)
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "params"
        ):
            names.add(node.args[0].value)
    return names


def _declared_roles() -> dict[str, frozenset[str] | None]:
    """Each HTTP function's ``route(..., roles=...)`` (recorded on the wrapper as ``caller_roles``)."""
    return {
        f.get_function_name(): f.get_user_function().caller_roles
        for f in _indexed_functions()
        if f.get_trigger() is not None and f.get_trigger().get_binding_name() == "httpTrigger"
    }


def test_committed_document_is_the_generated_one():
    committed = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert committed == document_json(), "regenerate: python -m shared.openapi > openapi.json"


def test_document_is_valid_openapi_3_1():
    validate(json.loads(document_json()))
    assert DOC["openapi"].startswith("3.1")


def test_every_http_function_is_documented_and_nothing_else():
    registered = _http_functions()
    documented = {op.function for op in OPERATIONS}
    assert documented == set(registered), "route on one side only"
    for op in OPERATIONS:
        route, methods, level = registered[op.function]
        assert f"/{route}" == op.path, op.function
        assert methods == {op.method}, op.function
        assert (level != "anonymous") == op.function_key, op.function
        assert op.method in DOC["paths"][op.path]


def test_path_parameters_are_the_route_template_parameters():
    registered = _http_functions()
    for op in OPERATIONS:
        route = registered[op.function][0]
        in_route = {segment.strip("{}").split(":")[0] for segment in route.split("/") if segment.startswith("{")}
        assert {p.name for p in op.parameters if p.location == "path"} == in_route, op.function


def test_query_parameters_are_the_ones_each_handler_reads():
    handlers = _handler_sources()
    for op in OPERATIONS:
        documented = {p.name for p in op.parameters if p.location == "query"}
        assert documented == _query_names(handlers[op.function]), op.function


def test_roles_are_the_ones_each_route_declares():
    declared = _declared_roles()
    for op in OPERATIONS:
        roles = declared[op.function]
        assert (roles is not None) == op.caller_token, op.function
        assert (roles or frozenset()) == op.roles, op.function
        operation = DOC["paths"][op.path][op.method]
        if roles:
            assert operation["x-app-roles"]["anyOf"] == sorted(roles)
            bearer = [s["entraBearer"] for s in operation["security"] if "entraBearer" in s]
            # One role per requirement object: the alternatives read as "any of" the roles.
            assert all(len(listed) == 1 for listed in bearer)
            assert sorted({role for listed in bearer for role in listed}) == sorted(roles)
            assert len(bearer) == 2 * len(roles)  # with the key as header, and as query


def test_every_problem_status_is_documented_somewhere_and_every_error_status_has_a_problem_class():
    classes = problem_types().values()
    documented = {int(status) for path in DOC["paths"].values() for op in path.values() for status in op["responses"]}
    assert {cls.status for cls in classes} <= documented
    assert documented - {200, 500} <= {cls.status for cls in classes}


def test_problem_types_are_the_error_classes_and_are_documented():
    assert DOC["components"]["schemas"]["Problem"]["properties"]["type"] == {"$ref": "#/components/schemas/ProblemType"}
    enum = DOC["components"]["schemas"]["ProblemType"]["enum"]
    # docs/caller.md 'Problem types', or the docs page of the feature that answers it.
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    for uri, cls in problem_types().items():
        assert uri in enum
        assert issubclass(cls, ProblemError)
        assert f"`{uri}`" in docs, f"neither README 'Problem types' nor docs/ list {uri}"
        assert uri.startswith("tag:")


@pytest.mark.parametrize(
    ("schema_path", "valid", "invalid"),
    [
        (("/cosmos/{account}/keys", "account"), ["abc", "cosmos-orders", "a" * 44], ["ab", "A-b-c", "a" * 45, "a_b"]),
        (("/graph/users", "select"), ["id", "id,displayName", " id , mail "], ["", "id,", "1d", "id;x", "id,,x"]),
    ],
)
def test_parameter_patterns_match_what_the_code_accepts(schema_path, valid, invalid):
    """The document's patterns are the code's: what one accepts the other does (ECMA regex via jsonschema)."""
    from jsonschema import Draft202012Validator

    from shared.downstream.graph_users import parse_select
    from shared.errors import BadRequest
    from shared.key_kinds.cosmos_account import is_valid_account_name

    path, name = schema_path
    parameter = next(p for p in DOC["paths"][path]["get"]["parameters"] if p["name"] == name)
    validator = Draft202012Validator(parameter["schema"])

    def code_accepts(value: str) -> bool:
        if name == "account":
            return is_valid_account_name(value)
        try:
            parse_select(value)
        except BadRequest:
            return False
        return True

    for value in valid:
        assert validator.is_valid(value) and code_accepts(value), value
    for value in invalid:
        assert not validator.is_valid(value) and not code_accepts(value), value


# RFC 4151 §2.1: "tag:" taggingEntity ":" specific; taggingEntity = authorityName "," date.
_TAG_URI = re.compile(
    r"tag:(?P<authority>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r",(?P<date>\d{4}(?:-\d{2}(?:-\d{2})?)?):(?P<specific>[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]+)"
)


def test_problem_types_are_rfc_4151_tag_uris_and_distinct():
    types = problem_types()
    assert len(set(types)) == len(types)
    for uri in types:
        assert _TAG_URI.fullmatch(uri), uri


# ---------------------------------------------------------------------------- shaped for client generators
def _operations() -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, item in DOC["paths"].items() for method, op in item.items()]


def test_every_operation_has_a_unique_verb_form_operation_id_and_a_tag():
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)
    for operation_id in ids:
        assert OPERATION_ID.fullmatch(operation_id), operation_id
    assert all(op["tags"] for _, _, op in _operations())


def test_operation_ids_are_the_ones_clients_are_told_about():
    """Renaming one renames a generated client's function: a breaking change for callers."""
    assert {op.function: op.operation_id for op in OPERATIONS} == {
        "health": "getHealth",
        "cosmos_keys": "getCosmosKeys",
        "resource_keys": "getResourceKeys",
        "graph_users": "listGraphUsers",
        "diagnostics": "getDiagnostics",
        "rollover": "runRollover",
        "openapi": "getOpenApiDocument",
    }


def test_an_operation_without_a_verb_form_id_or_an_example_is_refused():
    from shared.openapi import Operation, Parameter, Success

    good = Success("Health", "ok", {"ok": {"value": {"status": "ok", "callerAuth": "entra"}}})
    common = {"function": "f", "method": "get", "path": "/f", "summary": "s", "description": "d", "errors": ()}
    with pytest.raises(ValueError, match="operationId"):
        Operation(operation_id="health", success=good, tags=("t",), **common)
    with pytest.raises(ValueError, match="operationId"):
        Operation(operation_id="cosmos_keys", success=good, tags=("t",), **common)
    with pytest.raises(ValueError, match="example"):
        Operation(operation_id="getF", success=Success("Health", "ok", {}), tags=("t",), **common)
    with pytest.raises(ValueError, match="tag"):
        Operation(operation_id="getF", success=good, **common)
    with pytest.raises(ValueError, match="name its enum"):
        Parameter("kind", "path", "d", {"type": "string", "enum": ["a", "b"]}, required=True, example="a")
    with pytest.raises(ValueError, match="example"):
        Parameter("tenant", "query", "d", {"type": "string"})


def _inline_schemas(node, where: str, *, top: bool):
    """Enum and object schemas written in place instead of named in components/schemas."""
    if isinstance(node, dict):
        is_schema_like = "enum" in node or "properties" in node or node.get("type") == "object"
        if is_schema_like and not top:
            yield where
        for key, value in node.items():
            if key in ("examples", "example"):
                continue
            yield from _inline_schemas(value, f"{where}/{key}", top=False)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _inline_schemas(value, f"{where}/{index}", top=False)


def test_every_enum_and_object_schema_is_a_named_component():
    """An inline enum or object gets a name made up by each generator from where it is used; two uses
    then conflict (openapi-python-client: "Found conflicting enums named ..."), and the operation is lost."""
    inline = list(_inline_schemas(DOC["paths"], "#/paths", top=False))
    for name, schema in DOC["components"]["schemas"].items():
        for key, value in schema.items():
            if key not in ("examples", "example"):
                inline += list(_inline_schemas(value, f"#/components/schemas/{name}/{key}", top=False))
    assert inline == []


def test_no_array_of_bare_objects():
    def arrays(node):
        if isinstance(node, dict):
            if node.get("type") == "array":
                yield node
            for value in node.values():
                yield from arrays(value)
        elif isinstance(node, list):
            for value in node:
                yield from arrays(value)

    for array in arrays(DOC):
        items = array["items"]
        assert "$ref" in items or items.get("type") in ("string", "integer", "boolean"), array


def test_flags_are_booleans_and_the_code_reads_what_openapi_sends():
    """A boolean query parameter is sent as ``true``/``false`` (form style); parse_flag reads exactly those."""
    from shared.rollover import parse_flag

    flags = [
        p for _, _, op in _operations() for p in op.get("parameters", []) if p["name"] in ("dryRun", "registration")
    ]
    assert len(flags) == 2
    for parameter in flags:
        assert parameter["schema"] == {"type": "boolean", "default": False}
    assert parse_flag("true", "x") is True and parse_flag("false", "x") is False and parse_flag(None, "x") is False


def test_every_success_and_every_problem_type_has_an_example_that_conforms():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    # Closed: an example with a field the schema does not list fails (tests/contract.py).
    registry = Registry().with_resource(
        "urn:doc", Resource.from_contents(closed(DOC), default_specification=DRAFT202012)
    )

    def validator(schema_ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": "urn:doc" + schema_ref}, registry=registry)

    components = DOC["components"]["examples"]
    for path, method, op in _operations():
        for status, response in op["responses"].items():
            for media in response.get("content", {}).values():
                assert media.get("examples"), f"{method} {path} {status} has no example"
                check = validator(media["schema"]["$ref"])
                for example in media["examples"].values():
                    if "$ref" in example:
                        example = components[example["$ref"].rsplit("/", 1)[1]]
                    errors = [e.message for e in check.iter_errors(example["value"])]
                    assert not errors, f"{method} {path} {status}: {errors}"
    covered = {example["value"]["type"] for example in components.values()}
    assert covered == {*problem_types(), "about:blank"}


def test_the_hosts_401_and_404_have_no_body_and_the_servers_are_absolute():
    for path, method, op in _operations():
        if "401" in op["responses"]:
            assert "content" not in op["responses"]["401"], f"{method} {path}"
        # A disabled function: the host's bare 404 on every route (the keys routes' own 404 is a problem).
        not_found = op["responses"]["404"]
        assert "content" not in not_found or path in ("/cosmos/{account}/keys", "/keys/{kind}/{name}"), path
        assert "no body" in not_found["description"]
    for server in DOC["servers"]:
        url = server["url"]
        for name, variable in server.get("variables", {}).items():
            url = url.replace("{" + name + "}", variable["default"])
        assert re.fullmatch(r"https?://[^/{}]+/api", url), url


def test_enum_extensions_are_lists_in_enum_order():
    """datamodel-code-generator reads x-enum-varnames / x-enum-descriptions as lists, one per value."""
    enums = {name: s for name, s in DOC["components"]["schemas"].items() if "enum" in s}
    assert enums
    for name, schema in enums.items():
        names = schema["x-enum-varnames"]
        assert len(names) == len(set(names)) == len(schema["enum"]), name
        assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", n) for n in names), name
        if "x-enum-descriptions" in schema:
            assert isinstance(schema["x-enum-descriptions"], list), name
            assert len(schema["x-enum-descriptions"]) == len(schema["enum"]), name


def test_the_servers_route_prefix_is_host_json_s():
    from shared.openapi import ROUTE_PREFIX

    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["extensions"]["http"]["routePrefix"] == ROUTE_PREFIX
    assert all(server["url"].endswith("/" + ROUTE_PREFIX) for server in DOC["servers"])
