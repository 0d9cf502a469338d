# Latency arithmetic for the scenarios: milliseconds, nearest-rank percentiles.
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence


def timed[T](fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` and its duration in milliseconds (perf_counter: monotonic, sub-microsecond)."""
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: always one of the samples, defined for any N >= 1."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> str:
    return " / ".join(f"{percentile(samples, p):.2f}" for p in (50, 95, 99)) + " ms"
