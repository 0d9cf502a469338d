"""NCRONTAB schedules of timer triggers: parse and find the next occurrence.

The Functions timer trigger takes a six-field NCRONTAB expression
``{second} {minute} {hour} {day} {month} {day-of-week}``; a value may be ``*``, a number, a range
``a-b``, a list ``a,b``, a step ``*/n`` or ``a-b/n``; months and days of week also by English
abbreviation (``Jan``, ``Mon``); day of week 0-6 with 0 = Sunday. A ``%NAME%`` schedule is read
from the app setting NAME. (learn.microsoft.com/azure/azure-functions/functions-bindings-timer,
"NCRONTAB expressions"; NCrontab's CrontabSchedule, github.com/atifaziz/NCrontab.)
Like NCrontab, a time matches when every field matches, day of month AND day of week.
Times are UTC (the default without WEBSITE_TIME_ZONE).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, low, high, names for low..)
_FIELDS = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
_SETTING = re.compile(r"^%([^%]+)%$")
_SEARCH_YEARS = 8  # 29 February on a Monday recurs within 28 years; a bounded search suffices for our uses


class ScheduleError(ValueError):
    """An expression the timer trigger would refuse at start-up."""


def resolve_setting(expression: str, environ: Mapping[str, str] | None = None) -> str:
    """``%NAME%`` → the app setting NAME (as the host resolves binding expressions); else as given."""
    match = _SETTING.match(expression.strip())
    if match is None:
        return expression
    env = os.environ if environ is None else environ
    value = env.get(match[1])
    if value is None or not value.strip():
        raise ScheduleError(f"the schedule names app setting {match[1]!r}, which is not set")
    return value


def _value(token: str, low: int, high: int, names: tuple[str, ...], field: str) -> int:
    if names and token.lower()[:3] in names and not token.isdigit():
        return names.index(token.lower()[:3]) + low
    if not token.isdigit():
        raise ScheduleError(f"{field}: {token!r} is not a number")
    number = int(token)
    if not low <= number <= high:
        raise ScheduleError(f"{field}: {number} is outside {low}-{high}")
    return number


def _parse_field(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{field}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, low, high, names, field), _value(last, low, high, names, field)
            if start > end:
                raise ScheduleError(f"{field}: range {base!r} runs backwards")
        else:
            start = _value(base, low, high, names, field)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        fields = expression.split()
        if len(fields) != 6:
            raise ScheduleError(
                f"{expression!r}: an NCRONTAB schedule has 6 fields (second minute hour day month day-of-week)"
            )
        parsed = [_parse_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        return cls(expression, *parsed)

    def _day_matches(self, day: datetime) -> bool:
        # Python's weekday(): Monday = 0; NCRONTAB: Sunday = 0.
        return day.month in self.months and day.day in self.days and (day.weekday() + 1) % 7 in self.days_of_week

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (an aware datetime; the answer is in UTC)."""
        start = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        limit = day + timedelta(days=366 * _SEARCH_YEARS)
        while day < limit:
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ScheduleError(f"{self.expression!r} has no occurrence within {_SEARCH_YEARS} years")
