"""requirements.txt: every module the deployed code imports is declared, and each floor has the APIs used.

Azure installs ``requirements.txt`` and nothing else: a module that is only present because some
other package happens to pull it in (``urllib3`` through ``requests``) breaks the day that package
stops depending on it. The deployed code is what ``.funcignore`` ships: ``function_app.py`` and
``shared/``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import re
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions, version
from pathlib import Path

import jwt
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEPLOYED = [ROOT / "function_app.py", *sorted((ROOT / "shared").rglob("*.py"))]
LOCAL = {"shared", "function_app"}


def _requirements() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (``azure.identity``, not just ``azure``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _owner(module: str, origin: str) -> str | None:
    """The distribution whose RECORD lists ``origin`` among those that provide ``module``'s top level."""
    target = Path(origin).resolve()
    for name in packages_distributions().get(module.split(".")[0], []):
        dist = distribution(name)
        if any(Path(dist.locate_file(f)).resolve() == target for f in dist.files or []):
            return canonicalize_name(name)
    return None


@functools.lru_cache(maxsize=1)
def _imported_distributions() -> dict[str, set[str]]:
    """Distribution (canonical name) -> the deployed files that import one of its modules.

    Resolved per module file, not per top-level name: ``azure`` is a namespace shared by every
    azure-* distribution, so only the module's own file says which one provides it.
    """
    used: dict[str, set[str]] = {}
    for path in DEPLOYED:
        for module in _imports(path):
            top = module.split(".")[0]
            if top in LOCAL or top in sys.stdlib_module_names:
                continue
            spec = importlib.util.find_spec(module)
            assert spec is not None and spec.origin, f"{path.relative_to(ROOT)} imports '{module}': not installed"
            owner = _owner(module, spec.origin)
            assert owner, f"{path.relative_to(ROOT)} imports '{module}' from {spec.origin}: no distribution owns it"
            used.setdefault(owner, set()).add(str(path.relative_to(ROOT)))
    return used


def test_every_imported_module_is_declared_in_requirements():
    declared = {canonicalize_name(r.name) for r in _requirements()}
    undeclared = {dist: files for dist, files in _imported_distributions().items() if dist not in declared}
    assert not undeclared, f"imported but not in requirements.txt: {undeclared}"


def test_the_walk_sees_the_imports_that_matter():
    # Guards the test above against passing vacuously (e.g. a parse that finds nothing).
    used = _imported_distributions()
    for dist in ("azure-functions", "azure-identity", "azure-core", "requests", "urllib3", "cryptography"):
        assert canonicalize_name(dist) in used


# Declared but not imported: the worker runtime Azure runs the app on (it imports the app, not
# the other way round).
NOT_IMPORTED = {"azure-functions-runtime"}


@pytest.mark.parametrize("requirement", _requirements(), ids=lambda r: r.name)
def test_installed_version_is_admitted_and_bounded(requirement: Requirement):
    """Each range has a lower bound (the first release with the APIs used) and an upper bound (next
    major), or is an exact pin (the worker runtime, as Azure installs it)."""
    operators = {spec.operator for spec in requirement.specifier}
    assert operators == {"=="} or {">=", "<"} <= operators, f"{requirement}: give a lower and an upper bound"
    if requirement.marker is not None and not requirement.marker.evaluate():
        return  # not for this Python (azure-functions-runtime is for 3.13+)
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:  # pragma: no cover - make venv installs requirements.txt
        pytest.fail(f"{requirement.name} is not installed")
    assert requirement.specifier.contains(installed, prereleases=True), f"{requirement.name} {installed}"


def test_no_declared_runtime_dependency_is_unused():
    used = set(_imported_distributions())
    # A declared package may be needed only as another's extra (PyJWT[crypto] needs cryptography).
    extras_of_used = {
        canonicalize_name(Requirement(r).name)
        for dist in used
        for r in (distribution(dist).requires or [])
        if re.search(r"extra\s*==", r)
    }
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        if name in NOT_IMPORTED:
            continue
        assert name in used or name in extras_of_used, f"{requirement.name} is declared but nothing deployed imports it"


def _requirement(name: str) -> Requirement:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and Requirement(line).name.lower() == name.lower():
            return Requirement(line)
    raise AssertionError(f"{name} is not in requirements.txt")


def test_pyjwt_floor_has_the_jwks_client_options_the_caller_check_uses():
    # PyJWKClient(cooldown_duration=...) arrived in PyJWT 2.14.0 (absent from the 2.13.0 wheel);
    # an older install would answer every protected route with a 500.
    specifier = _requirement("PyJWT").specifier
    assert not specifier.contains("2.13.0")
    assert specifier.contains("2.14.0")
    used = {"cache_keys", "cache_jwk_set", "lifespan", "timeout", "ssl_context", "cooldown_duration"}
    assert used <= set(inspect.signature(jwt.PyJWKClient).parameters)
