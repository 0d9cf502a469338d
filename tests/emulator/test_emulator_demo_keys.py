"""`make demo`'s resource-keys walk: every secret of every kind's answer is masked, and a call is
judged by its status, the ARM operations it caused and Cache-Control (emulator/demo_keys.py)."""

from __future__ import annotations

import io

import pytest

from emulator.demo import masked
from emulator.demo_keys import KEY_CALLS, key_lines, walk_through_resource_keys
from emulator.resource_kinds import KINDS


@pytest.mark.parametrize(("kind", "action"), [(k, a.name) for k, spec in KINDS.items() for a in spec.actions])
def test_no_secret_of_any_kind_survives_the_key_lines(emu, kind, action):
    name = {"cosmos": "cosmos-orders", "servicebus": "sb-orders", "eventhubs": "evh-telemetry"}.get(kind)
    resource = next(r for r in emu.arm.list_resources() if r.kind.kind == kind and (name is None or r.name == name))
    answer = emu.arm.answer(kind, resource.name, action)
    text = "\n".join(key_lines(answer, limit=100))
    secrets = [s for s in resource.secret_values() if len(s) >= 16]
    assert secrets
    for secret in secrets:
        assert secret not in text
    assert "…(" in text


def test_connection_strings_are_masked_by_the_generic_masker_too(emu):
    answer = emu.arm.answer("servicebus", "sb-orders", "listKeys")
    shown = masked(answer)
    for field in ("primaryConnectionString", "secondaryConnectionString", "primaryKey", "secondaryKey"):
        assert shown[field].endswith(" chars)") and answer[field] not in str(shown)
    assert shown["keyName"] == "partner-send"


def test_key_lines_are_capped():
    keys = {"value": [{"name": f"n{i}", "key": "k" * 52} for i in range(6)], "nextLink": None}
    lines = key_lines(keys)
    assert lines[:4] == [f"value[{i}].key: kkkk…(52 chars)" for i in range(4)]
    assert lines[4] == "… 2 more, masked alike"


def test_a_call_is_judged_by_status_operations_and_no_store():
    answers = {
        call.path: (call.expected, 3.0, {"kind": "k", "name": "n", "type": "t", "keys": {"key1": "s" * 40}},
                    {op: 1 for op, wanted in call.operations.items() if wanted}, {"Cache-Control": "no-store"})
        for call in KEY_CALLS
    }  # fmt: skip
    out = io.StringIO()
    assert walk_through_resource_keys(answers.__getitem__, out) == (len(KEY_CALLS), len(KEY_CALLS))
    assert "s" * 40 not in out.getvalue()
    first = KEY_CALLS[0].path
    status, elapsed, body, operations, _ = answers[first]
    answers[first] = (status, elapsed, body, operations, {})  # no Cache-Control: no-store
    second = KEY_CALLS[1].path
    status, elapsed, body, _, headers = answers[second]
    answers[second] = (status, elapsed, body, {"arm.storage.read": 1}, headers)  # ARM called before a 400
    out = io.StringIO()
    assert walk_through_resource_keys(answers.__getitem__, out) == (len(KEY_CALLS) - 2, len(KEY_CALLS))
    assert "Cache-Control missing" in out.getvalue() and "arm.storage.read called" in out.getvalue()
