"""What the local host reads from host.json."""

from __future__ import annotations

import pytest

from emulator.functions_host.function_host import function_timeout, route_prefix


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("00:05:00", 300.0), ("01:00:00", 3600.0), ("1.00:00:00", 86400.0), ("-1", None)],
)
def test_function_timeout(tmp_path, value, seconds):
    (tmp_path / "host.json").write_text(f'{{"functionTimeout": "{value}"}}', encoding="utf-8")
    assert function_timeout(tmp_path / "host.json") == seconds


def test_function_timeout_default_and_refusal(tmp_path):
    assert function_timeout(tmp_path / "host.json") == 1800.0  # Flex Consumption's default
    (tmp_path / "host.json").write_text('{"functionTimeout": "5 minutes"}', encoding="utf-8")
    with pytest.raises(ValueError, match="functionTimeout"):
        function_timeout(tmp_path / "host.json")


def test_route_prefix(tmp_path):
    assert route_prefix(tmp_path / "host.json") == "api"
    (tmp_path / "host.json").write_text('{"extensions": {"http": {"routePrefix": "/v1/"}}}', encoding="utf-8")
    assert route_prefix(tmp_path / "host.json") == "v1"
