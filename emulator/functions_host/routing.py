"""HTTP trigger route templates, matched and ordered as the Functions host's ASP.NET Core routing does.

A template is ``/``-separated segments: literals (case-insensitive), ``{name}``, ``{name?}``
(optional, last segments only), ``{name:constraint}`` and a final catch-all ``{*name}``
(learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger, "Customize the
HTTP endpoint"; learn.microsoft.com/aspnet/core/fundamentals/routing, "Route templates",
"Route constraints"). When several templates match, the most specific wins, segment by segment:
literal, then constrained parameter, then parameter, then catch-all (ASP.NET Core's route
precedence, ``RoutePrecedence.ComputeInbound``), ties broken by template text for a stable order.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

_PARAM = re.compile(
    r"^\{(?P<star>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<constraints>(?::[^:}?]+)*)(?P<opt>\?)?\}$"
)


def _is_int(value: str, low: int, high: int) -> bool:
    return re.fullmatch(r"-?\d+", value) is not None and low <= int(value) <= high


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# The ASP.NET Core constraints without arguments; a template naming another one is refused at load.
CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": lambda v: _is_int(v, -(2**31), 2**31 - 1),
    "long": lambda v: _is_int(v, -(2**63), 2**63 - 1),
    "bool": lambda v: v.lower() in ("true", "false"),
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "guid": _is_guid,
    "double": _is_float,
    "float": _is_float,
    "decimal": lambda v: re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
}


class RouteTemplateError(ValueError):
    """A route template the host would refuse when it loads the function."""


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None
    name: str = ""
    constraints: tuple[str, ...] = ()
    optional: bool = False
    catch_all: bool = False

    @property
    def precedence(self) -> int:
        if self.literal is not None:
            return 1
        if self.catch_all:
            return 5
        return 3 if self.constraints else 4


@dataclass(frozen=True)
class RouteTemplate:
    text: str
    segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        segments: list[_Segment] = []
        parts = [part for part in text.strip("/").split("/") if part]
        for index, part in enumerate(parts):
            param = _PARAM.match(part)
            if param is None:
                if "{" in part or "}" in part:
                    raise RouteTemplateError(f"route {text!r}: unsupported segment {part!r}")
                segments.append(_Segment(literal=part))
                continue
            constraints = tuple(c for c in param["constraints"].split(":") if c)
            unknown = [c for c in constraints if c not in CONSTRAINTS]
            if unknown:
                raise RouteTemplateError(f"route {text!r}: unsupported constraint {unknown[0]!r}")
            catch_all = bool(param["star"])
            if catch_all and index != len(parts) - 1:
                raise RouteTemplateError(f"route {text!r}: a catch-all parameter must be the last segment")
            segments.append(_Segment(name=param["name"], constraints=constraints, optional=bool(param["opt"]),
                                     catch_all=catch_all))  # fmt: skip
        seen = [s.optional for s in segments if s.literal is None]
        if any(opt and not later for opt, later in itertools.pairwise(seen)):
            raise RouteTemplateError(f"route {text!r}: only trailing parameters can be optional")
        return cls(text, tuple(segments))

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.precedence for segment in self.segments)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """Route values for the decoded path ``parts`` (after the prefix), or None when it does not match."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                if index < len(parts):
                    values[segment.name] = "/".join(parts[index:])
                return values
            if index >= len(parts):
                return values if segment.optional else None
            value = parts[index]
            if segment.literal is not None:
                if value.lower() != segment.literal.lower():
                    return None
                continue
            if not all(CONSTRAINTS[c](value) for c in segment.constraints):
                return None
            values[segment.name] = value
        return values if len(parts) == len(self.segments) else None


def sort_key(template: RouteTemplate) -> tuple[tuple[int, ...], str]:
    """Most specific first: compare per-segment precedence, then the template text."""
    return template.precedence, template.text.lower()
