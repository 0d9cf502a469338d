"""Zero-touch certificate rollover: register renewed versions with Graph, retire superseded ones.

``RolloverService`` runs the reconciliation (route, timer, Event Grid); ``judge_event`` decides
which Key Vault events start one; ``plan_rollover`` is the pure decision it rests on.
"""

from .application_keys import ApplicationKeys
from .custody import KeyCustody
from .events import HANDLED_EVENT_TYPES, EventVerdict, judge_event
from .plan import Plan, plan_rollover
from .proof import GRAPH_PROOF_AUDIENCE, ProofBuilder
from .service import RolloverService
from .triggers import BOOLEAN_VALUES, parse_dry_run, parse_flag, refuse_unexpected_input, run_on_event, run_on_timer
from .versions import CertificateVersions

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
