"""The emulator's ARM table (emulator/resource_kinds.py, written from the providers' REST references)
and the broker's knowledge table (shared/key_kinds) describe the same Azure facts: when they
disagree, one of them is wrong about Azure."""

from __future__ import annotations

import pytest

from emulator.resource_kinds import KINDS as EMULATED
from shared.key_kinds import KINDS as KNOWN


def test_the_same_kinds():
    assert set(EMULATED) == set(KNOWN)


@pytest.mark.parametrize("kind", sorted(KNOWN))
def test_path_api_version_actions_and_local_auth_agree(kind):
    known, emulated = KNOWN[kind], EMULATED[kind]
    assert (known.provider, known.resource_type, known.child_type) == (
        emulated.provider,
        emulated.types[0],
        emulated.types[1] if len(emulated.types) > 1 else None,
    )
    # A stable api-version the provider registers (Cosmos: SPEC's deployment facts name 2025-10-15,
    # the emulator's newest is 2026-03-15; the others call the newest).
    assert known.api_version in emulated.api_versions
    for action in known.actions.values():
        served = emulated.action(action.name)
        assert served is not None, f"{kind}: the emulator serves no {action.name}"
        assert known.rbac_action(action).lower() == served.permission.lower()
    assert known.rbac_read.lower() == emulated.read_permission.lower()
    assert (known.local_auth.property, known.local_auth.off_when) == (
        emulated.local_auth_property,
        emulated.local_auth_off_value,
    )
    assert known.local_auth.on_parent == (len(emulated.types) > 1)
