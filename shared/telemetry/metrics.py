"""The broker's own counts: signs, token fetches, token-cache hits and misses, the certificate.

Upstream durations and throttling are recorded with each attempt (``tracing.record_attempt``).
Each function costs one attribute check while telemetry is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import names, state

if TYPE_CHECKING:  # only an annotation: importing datetime costs import time with telemetry off
    from datetime import datetime


def count_sign(*, outcome: str) -> None:
    active = state.ACTIVE
    if active is not None:
        active.signs.add(1, {names.OUTCOME: outcome})


def count_token_acquisition(scope: str, *, outcome: str, code: str | None = None) -> None:
    active = state.ACTIVE
    if active is not None:
        attributes = {names.SCOPE: scope, names.OUTCOME: outcome}
        if code:
            attributes[names.UPSTREAM_CODE] = code
        active.token_acquisitions.add(1, attributes)


def count_token_cache(scope: str, *, hit: bool, source: str = "cache") -> None:
    """``hit``: served without a fetch of its own (``source`` ``cache`` or ``in_flight``)."""
    active = state.ACTIVE
    if active is None:
        return
    if hit:
        active.cache_hits.add(1, {names.SCOPE: scope, names.SOURCE: source})
    else:
        active.cache_misses.add(1, {names.SCOPE: scope})


def certificate_in_use(name: str, version: str, expires_on: datetime | None) -> None:
    """The version that signs assertions now; its days to expiry are observed by the gauge."""
    active = state.ACTIVE
    if active is not None and expires_on is not None:
        active.certificates[name] = state.Certificate(name, version, expires_on)


def count_rollover_run(*, outcome: str, trigger: str) -> None:
    """One rollover run: ``outcome`` success | failure | blocked; ``trigger`` http | timer | eventgrid.

    The alert "certificate rollover failed" counts ``outcome=failure`` (infra/app/alerts.bicep).
    """
    active = state.ACTIVE
    if active is not None:
        active.rollover_runs.add(1, {names.OUTCOME: outcome, names.TRIGGER: trigger})
