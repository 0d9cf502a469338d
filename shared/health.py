"""``/api/health``: settings only, never an outbound call.

``callerAuth`` names the mode in force — ``entra`` (``CALLER_AUDIENCE`` set: callers also need an
Entra application token) or ``function-key`` — and nothing an attacker could use (no audience,
no tenant). Problems are named by setting and reason, never by value.

Two kinds of problem leave the routes serving and the status 200, each listed under its own key
with the same shape as the top-level one: ``rollover`` (only the certificate rollover is affected)
and ``telemetry`` (an exporter endpoint that would send telemetry in plain text: telemetry is off).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .settings import SettingProblem, Settings


def _section(status: str, problems: Sequence[SettingProblem]) -> dict[str, Any]:
    return {
        "status": status,
        "missing": list(dict.fromkeys(p.setting for p in problems)),
        "problems": [{"setting": p.setting, "reason": p.reason} for p in problems],
    }


def health_report(settings: Settings) -> tuple[int, dict[str, Any]]:
    caller_auth = "entra" if settings.caller_auth else "function-key"
    if settings.ok:
        status, body = 200, {"status": "ok", "callerAuth": caller_auth}
        if settings.rollover_problems:
            # Only the certificate rollover is affected: the instance stays healthy (200), named anyway.
            body["rollover"] = _section("misconfigured", settings.rollover_problems)
    else:
        status, body = 503, {"status": "misconfigured", "callerAuth": caller_auth}
        body.update({k: v for k, v in _section("misconfigured", settings.problems).items() if k != "status"})
    if settings.telemetry_problems:
        # Telemetry is off (it would leave in plain text); the routes are not affected.
        body["telemetry"] = _section("off", settings.telemetry_problems)
    return status, body
