"""Zero-touch certificate rollover: register renewed versions with Graph, retire superseded ones.

``RolloverService`` runs the reconciliation (route, timer, Event Grid); ``judge_event`` decides
which Key Vault events start one; ``plan_rollover`` is the pure decision it rests on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Exports load on first use (PEP 562): the HTTP routes need only the trigger helpers, and importing
# function_app must not pay for the planner, the Graph client and the service at every cold start.
_EXPORTS = {
    "ApplicationKeys": "application_keys",
    "KeyCustody": "custody",
    "HANDLED_EVENT_TYPES": "events",
    "EventVerdict": "events",
    "judge_event": "events",
    "Plan": "plan",
    "plan_rollover": "plan",
    "GRAPH_PROOF_AUDIENCE": "proof",
    "ProofBuilder": "proof",
    "RolloverService": "service",
    "BOOLEAN_VALUES": "triggers",
    "parse_dry_run": "triggers",
    "parse_flag": "triggers",
    "refuse_unexpected_input": "triggers",
    "run_on_event": "triggers",
    "run_on_timer": "triggers",
    "CertificateVersions": "versions",
}

if TYPE_CHECKING:
    from .application_keys import ApplicationKeys
    from .custody import KeyCustody
    from .events import HANDLED_EVENT_TYPES, EventVerdict, judge_event
    from .plan import Plan, plan_rollover
    from .proof import GRAPH_PROOF_AUDIENCE, ProofBuilder
    from .service import RolloverService
    from .triggers import (
        BOOLEAN_VALUES,
        parse_dry_run,
        parse_flag,
        refuse_unexpected_input,
        run_on_event,
        run_on_timer,
    )
    from .versions import CertificateVersions


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BOOLEAN_VALUES",
    "GRAPH_PROOF_AUDIENCE",
    "HANDLED_EVENT_TYPES",
    "ApplicationKeys",
    "CertificateVersions",
    "EventVerdict",
    "KeyCustody",
    "Plan",
    "ProofBuilder",
    "RolloverService",
    "judge_event",
    "parse_dry_run",
    "parse_flag",
    "plan_rollover",
    "refuse_unexpected_input",
    "run_on_event",
    "run_on_timer",
]
