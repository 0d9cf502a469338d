"""``/api/health``: settings only, never an outbound call."""

from __future__ import annotations

from typing import Any

from .settings import Settings


def health_report(settings: Settings) -> tuple[int, dict[str, Any]]:
    if settings.ok:
        if settings.rollover_problems:
            # Only the certificate rollover is affected: the instance stays healthy (200), named anyway.
            return 200, {
                "status": "ok",
                "rollover": {
                    "status": "misconfigured",
                    "missing": list(dict.fromkeys(p.setting for p in settings.rollover_problems)),
                    "problems": [{"setting": p.setting, "reason": p.reason} for p in settings.rollover_problems],
                },
            }
        return 200, {"status": "ok"}
    return 503, {
        "status": "misconfigured",
        "missing": list(dict.fromkeys(p.setting for p in settings.problems)),
        "problems": [{"setting": p.setting, "reason": p.reason} for p in settings.problems],
    }
