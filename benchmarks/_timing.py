"""Shared timing helper of the ``bench_*.py`` files (physlearn and its baseline timed the same way)."""

from __future__ import annotations

import time


def best_time(fn, *, repeats: int = 3, calls: int = 1, warmup: bool = True) -> float:
    """Seconds per call of ``fn()``: the best of ``repeats`` rounds of ``calls`` calls each, after
    one untimed warm-up call (compilation) when ``warmup``. ``fn`` must block until its result is
    ready (``jax.block_until_ready``)."""
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best
