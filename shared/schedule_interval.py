"""How often an NCRONTAB schedule ({second} {minute} {hour} {day} {month} {day-of-week}) fires.

Only the three fields that set the shortest interval are expanded: two firings can be closer than a
minute only through the seconds field, closer than an hour only through seconds and minutes, and a
day/month/day-of-week field never brings two firings closer than its hours allow.
Syntax (learn.microsoft.com azure-functions/functions-bindings-timer, "NCRONTAB expressions"):
``*``, a value, a range ``a-b``, a step ``*/n`` or ``a-b/n``, and comma-separated lists of those.
"""

from __future__ import annotations

import itertools
import re

_PART = re.compile(r"(\*|\d{1,2}(?:-\d{1,2})?)(?:/(\d{1,2}))?")


def _expand(field: str, high: int) -> set[int] | None:
    """The values (0..high) a seconds/minutes/hours field selects; None when it is not one of those forms."""
    values: set[int] = set()
    for part in field.split(","):
        match = _PART.fullmatch(part)
        if match is None:
            return None
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            start, end = 0, high
        elif "-" in span:
            start, end = (int(v) for v in span.split("-"))
        else:
            start = end = int(span)
            if match.group(2):  # "5/10": from 5 every 10
                end = high
        if step < 1 or not 0 <= start <= end <= high:
            return None
        values.update(range(start, end + 1, step))
    return values


def shortest_interval_minutes(schedule: str) -> float | None:
    """The shortest time between two firings in minutes (at most 60 when the hours allow every hour;
    a single firing per hour reports 60); None when the first three fields cannot be read."""
    fields = schedule.split()
    if len(fields) != 6:
        return None
    seconds, minutes, hours = _expand(fields[0], 59), _expand(fields[1], 59), _expand(fields[2], 23)
    if seconds is None or minutes is None or hours is None or not seconds or not minutes or not hours:
        return None
    if len(seconds) > 1:
        ordered = sorted(seconds)
        return min(b - a for a, b in itertools.pairwise(ordered)) / 60
    ordered = sorted(minutes)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    # From the last minute of one hour to the first of the next, when two hours in a row fire.
    if any((h + 1) % 24 in hours for h in hours):
        gaps.append(60 - ordered[-1] + ordered[0])
    return float(min(gaps)) if gaps else 60.0
