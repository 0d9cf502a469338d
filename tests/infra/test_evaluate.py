"""The template evaluator refuses what it does not model instead of guessing (a shape test must
never pass because an expression was skipped), and models what it claims to."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import bicep
from .evaluate import Symbol, Template, Unsupported


def _template(tmp_path: Path, source: str, **params: object) -> Template:
    path = tmp_path / "t.bicep"
    path.write_text(source, encoding="utf-8")
    return Template(bicep.parse(path), params)


def test_conditions_and_loops(tmp_path: Path) -> None:
    tpl = _template(
        tmp_path,
        "param on bool = false\n"
        "param items string = 'a, b'\n"
        "var list = empty(items) ? [] : split(replace(items, ' ', ''), ',')\n"
        "var rows = [for (x, i) in list: { name: '${x}-${i}', first: i == 0 }]\n"
        "var picked = filter(list, x => x != 'a')\n"
        "resource r 'Microsoft.Web/sites@2024-04-01' = if (on) {\n"
        "  name: 'r'\n"
        "  properties: { subnet: on ? n.outputs.id : '' }\n"
        "}\n"
        "resource n 'Microsoft.Network/virtualNetworks@2023-11-01' = {\n  name: 'n'\n}\n",
        on=True,
    )
    assert tpl.variable("rows") == [{"name": "a-0", "first": True}, {"name": "b-1", "first": False}]
    assert tpl.variable("picked") == ["b"]
    assert tpl.deploys("resources", "r") is True
    assert tpl.body("resources", "r", "properties", "subnet") == Symbol("n.outputs.id")


def test_unknown_parameters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        _template(tmp_path, "param a string = ''\nvar b = a\n", nope=1)


def test_a_condition_known_only_at_deployment_is_refused(tmp_path: Path) -> None:
    tpl = _template(tmp_path, "param id string\nvar v = empty(id) ? 'x' : 'y'\n")
    with pytest.raises(Unsupported):
        tpl.variable("v")


def test_an_unmodelled_function_is_refused(tmp_path: Path) -> None:
    tpl = _template(tmp_path, "param a string = 'x'\nvar v = base64(a)\n")
    with pytest.raises(Unsupported):
        tpl.variable("v")
