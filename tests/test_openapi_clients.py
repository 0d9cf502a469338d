"""Real client generators accept openapi.json and lose nothing: every operation, every schema.

Run as a caller would (tests/clients.py, .venv-clients): openapi-python-client with
``--fail-on-warning`` (it drops an operation it cannot parse, with a warning) and
datamodel-code-generator. The generated code is then loaded and fed the document's own examples, so
a schema the generated models cannot read (a nullable union, a name with ``#``) fails here too.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.clients import CLIENTS_PYTHON, DOCUMENT, PACKAGE, generate_models, run, snake_case

DOC = json.loads(DOCUMENT.read_text(encoding="utf-8"))
OPERATIONS = {
    op["operationId"]: (op["tags"][0], method, path)
    for path, item in DOC["paths"].items()
    for method, op in item.items()
}
SCHEMAS = sorted(DOC["components"]["schemas"])


def _success_examples() -> list[tuple[str, object]]:
    """(component schema name, example value) of every 200."""
    found = []
    for item in DOC["paths"].values():
        for op in item.values():
            media = op["responses"]["200"]["content"]["application/json"]
            name = media["schema"]["$ref"].rsplit("/", 1)[1]
            found += [(name, example["value"]) for example in media["examples"].values()]
    return found


def _python(code: str, cwd) -> dict:
    """Runs ``code`` in .venv-clients with ``cwd`` on sys.path; it prints one JSON object."""
    result = run([str(CLIENTS_PYTHON), "-c", textwrap.dedent(code)], cwd=cwd, timeout=120)
    assert result.returncode == 0, str(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_openapi_python_client_generates_without_a_warning(generated_client):
    result = generated_client.run
    assert result.returncode == 0, str(result)
    output = (result.stdout + result.stderr).lower()
    assert "warning" not in output, str(result)
    assert "endpoint will not be generated" not in output, str(result)


def test_openapi_python_client_has_a_module_per_operation_and_nothing_else(generated_client):
    api = generated_client.path / PACKAGE / "api"
    generated = {(m.parent.name, m.stem) for m in api.glob("*/*.py") if m.stem != "__init__"}
    expected = {(tag, snake_case(operation_id)) for operation_id, (tag, _, _) in OPERATIONS.items()}
    assert generated == expected
    assert {"getHealth", "getCosmosKeys", "listGraphUsers", "getDiagnostics", "runRollover"} <= set(OPERATIONS)
    assert "getOpenApiDocument" in OPERATIONS


def test_openapi_python_client_models_read_every_documented_success(generated_client):
    """Every component schema is a model class, and each 200's example parses into its model."""
    report = _python(
        f"""
        import json
        import {PACKAGE}.models as models
        schemas, examples = json.loads(open("in.json").read())
        missing = [name for name in schemas if not hasattr(models, name)]
        failures = []
        for name, value in examples:
            try:
                getattr(models, name).from_dict(value)
            except Exception as error:
                failures.append([name, repr(error)])
        print(json.dumps({{"missing": missing, "failures": failures}}))
        """,
        _with_input(generated_client.path, [SCHEMAS, _success_examples()]),
    )
    assert report == {"missing": [], "failures": []}


def test_the_generated_flags_are_booleans(generated_client):
    for operation_id, parameter in (("runRollover", "dry_run"), ("getDiagnostics", "registration")):
        tag = OPERATIONS[operation_id][0]
        source = (generated_client.path / PACKAGE / "api" / tag / f"{snake_case(operation_id)}.py").read_text()
        assert f"{parameter}: bool | Unset = False" in source


def _with_input(directory, payload):
    (directory / "in.json").write_text(json.dumps(payload), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tests.clients import ensure_clients_venv

    ensure_clients_venv()
    out = tmp_path_factory.mktemp("datamodel")
    return out, generate_models(out)


def test_datamodel_codegen_generates_without_a_warning(models):
    out, result = models
    assert result.returncode == 0, str(result)
    assert result.stderr.strip() == "", str(result)
    assert (out / "models.py").is_file()


def test_datamodel_codegen_models_read_every_documented_success(models):
    out, _ = models
    report = _python(
        """
        import json
        import models
        schemas, examples = json.loads(open("in.json").read())
        missing = [name for name in schemas if not hasattr(models, name)]
        failures = []
        for name, value in examples:
            try:
                getattr(models, name).model_validate(value)
            except Exception as error:
                failures.append([name, repr(error)])
        print(json.dumps({"missing": missing, "failures": failures}))
        """,
        _with_input(out, [SCHEMAS, _success_examples()]),
    )
    assert report == {"missing": [], "failures": []}


def test_datamodel_codegen_as_a_caller_runs_it_here_is_quiet(models, tmp_path):
    """Plain, from the repository root: pyproject.toml's [tool.datamodel-codegen] picks the formatter."""
    from tests.clients import CLIENTS_BIN, ROOT

    args = ["--input", "openapi.json", "--input-file-type", "openapi", "--output", str(tmp_path / "models.py")]
    result = run([str(CLIENTS_BIN / "datamodel-codegen"), *args], cwd=ROOT)
    assert result.returncode == 0, str(result)
    assert result.stderr.strip() == "", str(result)
