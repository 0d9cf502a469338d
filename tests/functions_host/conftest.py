"""Fixtures: the sample app (sample_app/) served by the local host in its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functions_host.host_process import SAMPLE_APP, start_host, stop_host


@pytest.fixture(scope="module")
def sample_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    out_dir = tmp_path_factory.mktemp("sample-out")
    host = start_host(SAMPLE_APP, out_dir)
    try:
        assert host.base_url, host.text()
        yield host.base_url, out_dir
    finally:
        stop_host(host)
