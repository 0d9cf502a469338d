"""NCRONTAB schedules of timer triggers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulator.functions_host.ncrontab import Schedule, ScheduleError, resolve_setting

NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 */5 * * * *", datetime(2026, 11, 28, 10, 5, tzinfo=UTC)),
        ("*/15 * * * * *", datetime(2026, 11, 28, 10, 0, 15, tzinfo=UTC)),
        ("0 0 3 * * *", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
        ("0 30 9 * * 1-5", datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),
        ("0 30 9 * * Mon-Fri", datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),
        ("0 0 0 * * 0", datetime(2026, 11, 29, 0, 0, tzinfo=UTC)),  # 0 = Sunday
        ("0 0 12 1 Jan *", datetime(2027, 1, 1, 12, 0, tzinfo=UTC)),
        ("0 0 12 1,15 * *", datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        ("0 0 0 13 * Fri", datetime(2027, 8, 13, 0, 0, tzinfo=UTC)),  # day AND day of week
        ("0 0 10 * * *", datetime(2026, 11, 29, 10, 0, tzinfo=UTC)),  # strictly after now
        ("0 0 0 29 2 *", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
    ],
)
def test_next_occurrence(expression, expected):
    assert Schedule.parse(expression).next_after(NOW) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 * * *", "6 fields"),
        ("0 0 0 * * * *", "6 fields"),
        ("60 * * * * *", "outside 0-59"),
        ("0 0 24 * * *", "outside 0-23"),
        ("0 0 0 0 * *", "outside 1-31"),
        ("0 0 0 * 13 *", "outside 1-12"),
        ("0 0 0 * * 7", "outside 0-6"),
        ("0 0 5-2 * * *", "backwards"),
        ("*/0 * * * * *", "step"),
        ("x * * * * *", "not a number"),
    ],
)
def test_expressions_the_trigger_refuses(expression, message):
    with pytest.raises(ScheduleError, match=message):
        Schedule.parse(expression)


def test_app_setting_substitution():
    assert resolve_setting("%ROLLOVER_SCHEDULE%", {"ROLLOVER_SCHEDULE": "0 0 3 * * *"}) == "0 0 3 * * *"
    assert resolve_setting("0 0 3 * * *", {}) == "0 0 3 * * *"
    with pytest.raises(ScheduleError, match="ROLLOVER_SCHEDULE"):
        resolve_setting("%ROLLOVER_SCHEDULE%", {})
    with pytest.raises(ScheduleError, match="ROLLOVER_SCHEDULE"):
        resolve_setting("%ROLLOVER_SCHEDULE%", {"ROLLOVER_SCHEDULE": " "})
