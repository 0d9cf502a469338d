"""Shared fixtures: one emulator per test session, reset to its seed state for each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` as well as `python -m pytest` finds shared/ and emulator/
    sys.path.insert(0, str(ROOT))

from emulator import Emulator  # noqa: E402


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The session's emulator, started once (ports and CA stay for the whole session)."""
    emu = Emulator(state_dir=tmp_path_factory.mktemp("emulator")).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator in its seed state: no faults, zero counters."""
    emulator.reset()
    yield emulator


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory):  # -> tests.clients.Generated
    """openapi.json's Python client (openapi-python-client), generated once per session."""
    from tests.clients import Generated, ensure_clients_venv, generate_python_client

    ensure_clients_venv()
    out = tmp_path_factory.mktemp("generated-client")
    return Generated(out, generate_python_client(out))
