"""``/api/health``: settings only, never an outbound call.

``callerAuth`` names the mode in force — ``entra`` (``CALLER_AUDIENCE`` set: callers also need an
Entra application token) or ``function-key`` — and nothing an attacker could use (no audience,
no tenant).
"""

from __future__ import annotations

from typing import Any

from .settings import Settings


def health_report(settings: Settings) -> tuple[int, dict[str, Any]]:
    caller_auth = "entra" if settings.caller_auth else "function-key"
    if settings.ok:
        if settings.rollover_problems:
            # Only the certificate rollover is affected: the instance stays healthy (200), named anyway.
            return 200, {
                "status": "ok",
                "callerAuth": caller_auth,
                "rollover": {
                    "status": "misconfigured",
                    "missing": list(dict.fromkeys(p.setting for p in settings.rollover_problems)),
                    "problems": [{"setting": p.setting, "reason": p.reason} for p in settings.rollover_problems],
                },
            }
        return 200, {"status": "ok", "callerAuth": caller_auth}
    return 503, {
        "status": "misconfigured",
        "callerAuth": caller_auth,
        "missing": list(dict.fromkeys(p.setting for p in settings.problems)),
        "problems": [{"setting": p.setting, "reason": p.reason} for p in settings.problems],
    }
