"""The last problems this instance answered, with the operator's hint, for ``/api/diagnostics``.

A caller's problem ``detail`` never names the deployment's identifiers; the operator's hint
(``ProblemError.log_hint``) does, and goes to the log line of the same failure and here. Kept per
process and bounded (the newest ``MAX_PROBLEMS``), so it costs nothing to keep and is lost on
restart: the log is the record, this is the quick look. Only problems an operator may have to act
on are kept — upstream failures (5xx), and any problem that carries a hint; a caller's own 4xx
(bad input, missing role) is not. Nothing here is secret: hints and details are composed from
status codes, error codes, setting names and resource names only (``shared.errors``).
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from .errors import ProblemError

MAX_PROBLEMS = 20

_recent: deque[dict[str, Any]] = deque(maxlen=MAX_PROBLEMS)
_lock = threading.Lock()


def worth_keeping(error: ProblemError) -> bool:
    return error.status >= 500 or error.log_hint is not None


def record(source: str, error: ProblemError) -> None:
    """Keep ``error`` (answered by route or trigger ``source``) if an operator may have to act on it."""
    if not worth_keeping(error):
        return
    entry = {
        "at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "source": source,
        "status": error.status,
        "type": error.type,
        "upstream": str(error.upstream) if error.upstream is not None else None,
        "code": error.code,
        "detail": error.detail,
        "hint": error.operator_hint,
    }
    with _lock:
        _recent.append(entry)


def recent() -> list[dict[str, Any]]:
    """The kept problems, newest first."""
    with _lock:
        return list(reversed(_recent))


def clear() -> None:
    with _lock:
        _recent.clear()
