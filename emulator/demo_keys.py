"""`make demo`'s resource keys: ``GET /api/keys/{kind}/{name}`` (SPEC "Resource keys") next to Cosmos.

A storage account (full keys only: ``readonly`` is a 400), an AI Search service (query keys for
``readonly``, admin keys for ``readwrite``: two different ARM actions), an Azure OpenAI account
whose local authentication is off (409, no key, the Entra role to use instead) and a Cosmos DB
account through the same route. Each answer is one line per key, masked; the ARM operations it
caused come from the emulator's counters (the seeded resources: docs/emulator.md "Resource keys").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

# Fields of a key answer that are not secret (names, dates, flags); every other string is masked.
_PLAIN_FIELDS = frozenset({"keyName", "permissions", "creationTime", "name", "lastModified", "nextLink"})
MAX_KEY_LINES = 4


@dataclass(frozen=True)
class KeyCall:
    title: str
    path: str
    expected: int
    # ARM operations the call must (True) or must not (False) cause, e.g. no key action behind a 409.
    operations: Mapping[str, bool]


KEY_CALLS = (
    KeyCall("storage account: full keys (listKeys)", "/api/keys/storage/stgorders?type=readwrite", 200,
            {"arm.storage.listKeys": True}),
    KeyCall("storage has no read-only keys: 400 before any ARM call", "/api/keys/storage/stgorders?type=readonly",
            400, {"arm.storage.read": False, "arm.storage.listKeys": False}),
    KeyCall("AI Search readonly: query keys (listQueryKeys)", "/api/keys/search/srch-catalog?type=readonly", 200,
            {"arm.search.listQueryKeys": True, "arm.search.listAdminKeys": False}),
    KeyCall("AI Search readwrite: admin keys (listAdminKeys)", "/api/keys/search/srch-catalog?type=readwrite", 200,
            {"arm.search.listAdminKeys": True, "arm.search.listQueryKeys": False}),
    KeyCall("Azure OpenAI with local auth off: 409, no key listed",
            "/api/keys/cognitiveservices/oai-entra-only?type=readwrite", 409,
            {"arm.cognitiveservices.read": True, "arm.cognitiveservices.listKeys": False}),
    KeyCall("Cosmos DB through the same route (readonlykeys)", "/api/keys/cosmos/cosmos-catalog?type=readonly", 200,
            {"arm.readonlykeys": True, "arm.listKeys": False}),
)  # fmt: skip

# What a demo call gives back: (status or None, elapsed ms, JSON body or text, emulator operations
# caused, response headers).
Fetch = Callable[[str], tuple[int | None, float, Any, dict[str, int], Mapping[str, str]]]


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def _mask(value: str) -> str:
    """First 4 characters, an ellipsis and the length: enough to compare, never to use."""
    return f"{value[:4]}…({len(value)} chars)"


def key_lines(keys: Any, limit: int = MAX_KEY_LINES) -> list[str]:
    """One masked line per secret of a `keys` answer (every string but names, dates, links)."""
    secrets = [
        (path, value)
        for path, value in _leaves(keys)
        if isinstance(value, str) and re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1] not in _PLAIN_FIELDS
    ]
    lines = [f"{path}: {_mask(value)}" for path, value in secrets[:limit]]
    if len(secrets) > limit:
        lines.append(f"… {len(secrets) - limit} more, masked alike")
    return lines


def _operations_ok(call: KeyCall, operations: Mapping[str, int]) -> tuple[bool, list[str]]:
    problems = [
        f"{name} {'missing' if wanted else 'called'}"
        for name, wanted in call.operations.items()
        if bool(operations.get(name)) != wanted
    ]
    return not problems, problems


def walk_through_resource_keys(fetch: Fetch, out: TextIO) -> tuple[int, int]:
    """Runs KEY_CALLS; returns (calls as expected, calls)."""
    out.write("\n== Resource keys: GET /api/keys/{kind}/{name} (RESOURCE_KEYS; Cosmos from COSMOS_ACCOUNT_IDS)\n")
    good = 0
    for call in KEY_CALLS:
        status, elapsed_ms, body, operations, headers = fetch(call.path)
        operations_ok, problems = _operations_ok(call, operations)
        cache_control = headers.get("Cache-Control", "")
        if status == 200 and "no-store" not in cache_control:
            problems.append(f"Cache-Control {cache_control or 'missing'}")
            operations_ok = False
        ok = status == call.expected and operations_ok
        good += ok
        verdict = "ok" if ok else f"UNEXPECTED (wanted {call.expected}{'; ' + ', '.join(problems) if problems else ''})"
        shown = "no answer" if status is None else str(status)
        out.write(f"\n── GET {call.path}  →  {shown}  {elapsed_ms:.0f} ms  [{verdict}]\n   {call.title}\n")
        arm = ", ".join(f"{n} +{c}" for n, c in sorted(operations.items()) if n.startswith("arm.")) or "none"
        out.write(f"   ARM: {arm}\n")
        if isinstance(body, Mapping) and "keys" in body:
            what = f"{body.get('kind')}/{body.get('name')} type={body.get('type')}"
            out.write(f"   {what}, Cache-Control: {cache_control}\n")
            for line in key_lines(body["keys"]):
                out.write(f"   {line}\n")
        elif isinstance(body, Mapping):
            # A problem: title and detail carry no key and no deployment identifier (SPEC "Errors").
            out.write(f"   {body.get('title')}: {body.get('detail')}\n")
        else:
            out.write(f"   {str(body)[:200]}\n")
    return good, len(KEY_CALLS)
