"""Shared timing helper of the ``bench_*.py`` files (physlearn and its baseline timed the same way).

Every timing is the median of at least five rounds, reported with its spread (min and max over
the rounds), never the best round: on a CPU shared with other work, or where XLA's thread pool
switches between a fast and a slow mode from one process to the next (``docs/performance.md``),
the best of three hides exactly what a user would see.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

MIN_ROUNDS = 5


@dataclass(frozen=True)
class Timing:
    """Seconds per call: ``median`` over ``rounds`` rounds, ``min`` and ``max`` the spread,
    ``load`` the 1-minute load average when timing started and ended."""

    median: float
    min: float
    max: float
    rounds: int
    load: tuple

    def scaled(self, factor: float) -> "Timing":
        """The same timing per 1/``factor`` of a call (e.g. per epoch when a call runs several)."""
        return Timing(self.median * factor, self.min * factor, self.max * factor, self.rounds, self.load)

    def as_row(self, prefix: str = "physlearn") -> dict:
        """``{prefix}_s`` (median) and ``{prefix}_spread`` ([min, max, rounds]) for a result row."""
        return {f"{prefix}_s": self.median, f"{prefix}_spread": [self.min, self.max, self.rounds],
                f"{prefix}_load": list(self.load)}


def timed(fn, *, rounds: int = MIN_ROUNDS, calls: int = 1, warmup: bool = True) -> Timing:
    """Time ``fn()``: ``rounds`` rounds of ``calls`` calls each, after one untimed warm-up call
    (compilation) when ``warmup``. ``fn`` must block until its result is ready
    (``jax.block_until_ready``). ``rounds`` below ``MIN_ROUNDS`` is raised to it."""
    rounds = max(int(rounds), MIN_ROUNDS)
    if warmup:
        fn()
    load0 = os.getloadavg()[0]
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - t0) / calls)
    return Timing(statistics.median(per_call), min(per_call), max(per_call), rounds, (load0, os.getloadavg()[0]))


def timed_few(fn, *, rounds: int = 1, warmup: bool = True) -> Timing:
    """Like :func:`timed` but allowing fewer than five rounds: only for slow NumPy/SciPy baselines
    (seconds to minutes per call), whose spread is small next to the ratios they enter; the
    rounds are reported with the number."""
    if warmup:
        fn()
    load0 = os.getloadavg()[0]
    per_call = []
    for _ in range(max(1, int(rounds))):
        t0 = time.perf_counter()
        fn()
        per_call.append(time.perf_counter() - t0)
    return Timing(statistics.median(per_call), min(per_call), max(per_call), len(per_call), (load0, os.getloadavg()[0]))
