"""docs/generated-client.md's example, run as written against the local host + emulator.

The Python block of the page runs in .venv-clients with the client openapi-python-client generated
from openapi.json (tests/clients.py), against function_app on the local host: a change to the
contract or the routes that breaks the documented usage fails here, so the page cannot rot.
"""

from __future__ import annotations

import re

import pytest

from tests.clients import CLIENTS_PYTHON, ROOT, clients_env, run

pytestmark = pytest.mark.e2e

PAGE = ROOT / "docs" / "generated-client.md"
MARKER = "tests/e2e/test_generated_client.py runs the block below"


def documented_example() -> str:
    text = PAGE.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match, f"{PAGE} has no python block after its marker"
    return match.group(1)


def run_example(generated_client, base_url: str, function_key: str):
    script = generated_client.path / "example.py"
    script.write_text(documented_example(), encoding="utf-8")
    env = {**clients_env(), "BROKER_URL": f"{base_url}/api", "BROKER_FUNCTION_KEY": function_key}
    return run([str(CLIENTS_PYTHON), str(script)], cwd=generated_client.path, env=env, timeout=120)


def test_the_documented_example_runs_against_the_local_host(generated_client, client, function_key):
    result = run_example(generated_client, client.base_url, function_key)
    assert result.returncode == 0, str(result)
    lines = result.stdout.splitlines()
    assert lines[0] == "health: ok / callers authenticate with function-key"
    assert lines[1].startswith("cosmos-orders read-only key: ")
    assert lines[2].startswith("users: [") and lines[2].endswith("more: True")
    assert lines[3].startswith("signing with certificate version ")
    assert lines[4].startswith("rollover would add [")
    assert lines[5].startswith("404 tag:keyvault-assertion-broker,2026:problems/not-found - ")
    assert lines[6] == "wrong key: 401 None"
    # What the page shows as the output is what it prints (up to the values that differ per run).
    page = PAGE.read_text(encoding="utf-8")
    assert lines[0] in page and lines[6] in page, result.stdout


def test_the_example_fails_when_the_broker_refuses(generated_client, configure, function_key):
    """Not a test that cannot fail: with the settings broken, the example stops at its first assertion."""
    broken = configure(KEY_VAULT_URL=None)
    result = run_example(generated_client, broken.base_url, function_key)
    assert result.returncode != 0
    assert "health: misconfigured" in result.stdout
