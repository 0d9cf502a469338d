"""Benchmarks of the broker against the in-process emulator: ``python -m bench`` (``make bench``).

Figures, not tests: each scenario prints what it measured and the emulator counters that
explain it. ``run(quick=True)`` is the same suite with tiny N, for the smoke test.
"""

from bench.suite import Report, Row, run

__all__ = ["Report", "Row", "run"]
