"""The process's active telemetry: a tracer and the broker's instruments, or nothing at all.

``ACTIVE`` stays ``None`` until :func:`activate` runs (telemetry on), so every hook elsewhere is
one module-attribute check when telemetry is off. OpenTelemetry is imported only inside
:func:`activate`: importing this module imports no OpenTelemetry package.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import names

if TYPE_CHECKING:
    from datetime import datetime


@dataclass
class Certificate:
    name: str
    version: str
    expires_on: datetime


@dataclass
class Active:
    tracer: Any
    signs: Any
    token_acquisitions: Any
    cache_hits: Any
    cache_misses: Any
    upstream_duration: Any
    throttled: Any
    rollover_runs: Any
    certificates: dict[str, Certificate] = field(default_factory=dict)


ACTIVE: Active | None = None
_lock = threading.Lock()


def activate() -> Active:
    """Build the tracer and instruments from the global providers (idempotent)."""
    global ACTIVE
    with _lock:
        if ACTIVE is not None:
            return ACTIVE
        import opentelemetry.metrics as metrics
        import opentelemetry.trace as trace

        tracer = trace.get_tracer(names.INSTRUMENTATION_SCOPE)
        meter = metrics.get_meter(names.INSTRUMENTATION_SCOPE)
        active = Active(
            tracer=tracer,
            signs=meter.create_counter(
                names.SIGNS, unit="{operation}", description="Key Vault sign operations (outcome success/failure)"
            ),
            token_acquisitions=meter.create_counter(
                names.TOKEN_ACQUISITIONS,
                unit="{token}",
                description="Tokens fetched through the credential chain, by scope and outcome",
            ),
            cache_hits=meter.create_counter(
                names.TOKEN_CACHE_HITS,
                unit="{request}",
                description="Token requests served without a fetch (cache, or a fetch already in flight)",
            ),
            cache_misses=meter.create_counter(
                names.TOKEN_CACHE_MISSES, unit="{request}", description="Token requests that started a fetch"
            ),
            upstream_duration=meter.create_histogram(
                names.UPSTREAM_DURATION,
                unit="ms",
                description="Duration of each upstream HTTP attempt, by upstream and operation",
            ),
            throttled=meter.create_counter(
                names.UPSTREAM_THROTTLED, unit="{response}", description="429 responses, by upstream and operation"
            ),
            rollover_runs=meter.create_counter(
                names.ROLLOVER_RUNS, unit="{run}", description="Certificate rollover runs, by trigger and outcome"
            ),
        )
        meter.create_observable_gauge(
            names.CERTIFICATE_DAYS_TO_EXPIRY,
            callbacks=[lambda options: _observe_certificates(active)],
            unit="d",
            description="Days until the signing certificate version in use expires",
        )
        ACTIVE = active
        return active


def _observe_certificates(active: Active) -> list[Any]:
    from datetime import UTC, datetime

    from opentelemetry.metrics import Observation

    now = datetime.now(UTC)
    return [
        Observation(
            round((cert.expires_on - now).total_seconds() / 86400, 2),
            {names.CERTIFICATE: cert.name, names.CERTIFICATE_VERSION: cert.version},
        )
        for cert in list(active.certificates.values())
    ]


def monotonic_to_epoch_ns(monotonic: float) -> int:
    """OpenTelemetry timestamps are epoch nanoseconds; attempts are timed with the monotonic clock."""
    return time.time_ns() - int((time.monotonic() - monotonic) * 1e9)
