"""A trace as a text waterfall: one line per span (start offset, duration, status, name), children
indented under their parent, with a bar showing where in the request the time went.

Input: spans as the emulator's OTLP receiver flattens them (``GET /_emulator/otlp/traces``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BAR_WIDTH = 32
_STATUS = {"STATUS_CODE_ERROR": "ERROR"}  # UNSET and OK: the span recorded no error
BROKER_SCOPE = "keyvault-assertion-broker"


def traces(spans: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for span in spans:
        grouped.setdefault(str(span["traceId"]), []).append(span)
    return grouped


def find_trace(spans: Iterable[Mapping[str, Any]], *, route: str, containing: str) -> list[Mapping[str, Any]] | None:
    """The earliest trace whose root is a request to ``route`` and which has a span named ``containing``."""
    candidates = []
    for trace in traces(spans).values():
        roots = [s for s in trace if s["attributes"].get("broker.route") == route]
        if roots and any(s["name"] == containing for s in trace):
            candidates.append((min(int(s["startTimeUnixNano"]) for s in roots), trace))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _label(span: Mapping[str, Any]) -> str:
    attributes = span["attributes"]
    details = []
    if "broker.attempt" in attributes and int(attributes["broker.attempt"]) > 1:
        details.append(f"attempt {attributes['broker.attempt']}")
    if "http.response.status_code" in attributes:
        details.append(str(attributes["http.response.status_code"]))
    if "broker.upstream_code" in attributes:
        details.append(str(attributes["broker.upstream_code"]))
    scope = str(span.get("scope") or "")
    # azure-core's own spans (SDK operation, HTTP attempt) are marked so they read apart from the broker's.
    origin = "" if scope in (BROKER_SCOPE, "") else "  [azure-core]" if scope.startswith("azure") else f"  [{scope}]"
    return span["name"] + (f"  ({', '.join(details)})" if details else "") + origin


def render(trace: list[Mapping[str, Any]]) -> list[str]:
    """Lines of the waterfall, parents before children, siblings by start time."""
    by_id = {s["spanId"]: s for s in trace}
    children: dict[str, list[Mapping[str, Any]]] = {}
    roots = []
    for span in trace:
        parent = span.get("parentSpanId") or ""
        if parent in by_id:
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)
    start = min(int(s["startTimeUnixNano"]) for s in trace)
    end = max(int(s["endTimeUnixNano"]) for s in trace)
    total = max(end - start, 1)
    lines = [f"   {'offset':>8}  {'duration':>8}  {'status':<6} {'':<{BAR_WIDTH}}  span"]

    def walk(span: Mapping[str, Any], prefix: str, last: bool, depth: int) -> None:
        began = int(span["startTimeUnixNano"]) - start
        took = int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])
        width = min(max(1, round(took / total * BAR_WIDTH)), BAR_WIDTH)
        # Every span shows at least one block, also one that starts at the very end of the trace.
        first = min(round(began / total * BAR_WIDTH), BAR_WIDTH - width)
        bar = (" " * first + "█" * width).ljust(BAR_WIDTH)
        branch = "" if depth == 0 else ("└─ " if last else "├─ ")
        status = _STATUS.get(str(span.get("status")), "ok")
        lines.append(
            f"   {began / 1e6:>6.1f}ms  {took / 1e6:>6.1f}ms  {status:<6} {bar}  {prefix}{branch}{_label(span)}"
        )
        kids = sorted(children.get(span["spanId"], []), key=lambda s: int(s["startTimeUnixNano"]))
        child_prefix = prefix + ("" if depth == 0 else ("   " if last else "│  "))
        for index, kid in enumerate(kids):
            walk(kid, child_prefix, index == len(kids) - 1, depth + 1)

    for root in sorted(roots, key=lambda s: int(s["startTimeUnixNano"])):
        walk(root, "", True, 0)
    return lines
