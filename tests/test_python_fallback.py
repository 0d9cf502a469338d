"""PYTHON_VERSION=3.12, the deployment's fallback where a region's Flex Consumption does not offer
Python 3.13 yet (docs/deployment-review.md, finding 4): the deployed package must still run on 3.12.

The unit and emulator suites pass on 3.12 too; the end-to-end suite runs Microsoft's
azure-functions-runtime, which is 3.13+ only (on 3.12 Azure runs the app on its own worker).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOYED = [ROOT / "function_app.py", *sorted((ROOT / "shared").rglob("*.py"))]


@pytest.mark.parametrize("path", DEPLOYED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_deployed_code_parses_with_python_312s_grammar(path: Path) -> None:
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 12))


def test_a_312_parse_fails_on_313_only_syntax() -> None:
    """The check above can fail: 3.13's `type` parameter defaults (PEP 696) are refused at 3.12."""
    with pytest.raises(SyntaxError):
        ast.parse("def f[T = int](x: T) -> T:\n    return x\n", feature_version=(3, 12))


def test_the_313_only_worker_runtime_stays_conditional() -> None:
    """A 3.12 remote build installs requirements.txt: the 3.13+ worker runtime must be skipped there."""
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r'^azure-functions-runtime[^;\n]*; python_version >= "3\.13"$', requirements, re.M)
