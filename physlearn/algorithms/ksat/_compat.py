r"""Private stand-ins for the shared algorithm vocabulary (issue #23), used by the K-SAT
subpackage and :mod:`physlearn.algorithms.edmc` until the shared modules land.

**To swap at merge** (each item is small on purpose):

* :class:`AlgorithmResult` -> ``physlearn.algorithms.results.AlgorithmResult`` (same five fields:
  ``solved``, ``steps``, ``errors``, ``weights``, ``trace``);
* :func:`linear`, :func:`exponential` -> ``physlearn.algorithms.schedules`` (same names and
  meaning); :func:`tabulate` (a float or a ``step -> value`` callable to a table of values) -> the
  shared schedule evaluation;
* :func:`check_key`, :func:`check_progress`, :func:`int_arg`, :func:`real_arg` ->
  ``physlearn._validation``.
"""

from __future__ import annotations

import math
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "AlgorithmResult", "linear", "exponential", "tabulate", "check_key", "check_progress",
    "int_arg", "real_arg", "STOPS", "check_stop",
]

STOPS = ("any", "centre", "never")


class AlgorithmResult(eqx.Module):
    """Base of every K-SAT / EdMC result (stand-in for the shared base of issue #23).

    - ``solved`` (bool per sample): ``errors == 0``, recomputed from ``weights``;
    - ``steps`` (int per sample, in the solve's unit);
    - ``errors`` (int per sample): violated constraints of ``weights``, counted on the returned
      configuration itself (never taken from an algorithm's belief);
    - ``weights``: the returned configuration;
    - ``trace``: per-step info when ``trace=True``, else ``None``.
    """

    solved: jax.Array
    steps: jax.Array
    errors: jax.Array
    weights: jax.Array
    trace: eqx.Module | None


def linear(start: float, increment: float):
    """Schedule ``step -> start + increment * step``."""
    start, increment = float(start), float(increment)
    return lambda step: start + increment * jnp.asarray(step, jnp.float32)


def exponential(start: float, factor: float):
    """Schedule ``step -> start * factor ** step``."""
    start, factor = float(start), float(factor)
    return lambda step: start * jnp.asarray(factor, jnp.float32) ** jnp.asarray(step, jnp.float32)


def tabulate(name: str, value, n: int, *, low=None, high=None, allow_inf=False) -> np.ndarray:
    """Values of ``value`` (a float, or a schedule callable ``step -> value``) at steps
    ``0 .. n-1`` as a float64 NumPy array, checked to lie in ``[low, high]``.

    A callable is evaluated on the whole step array at once (optax schedules and ``jnp``
    expressions) and, if that fails, step by step. Raises ``ValueError`` naming ``name`` on NaN,
    infinities (unless ``allow_inf``) or values out of range, with the first offending step.
    """
    if callable(value):
        steps = np.arange(n)
        try:
            vals = np.asarray(jax.vmap(value)(jnp.asarray(steps)), dtype=np.float64)
        except Exception:  # noqa: BLE001 - a Python-level schedule: evaluate it step by step
            try:
                vals = np.asarray([float(value(int(t))) for t in steps], dtype=np.float64)
            except Exception as err:  # noqa: BLE001
                raise ValueError(f"{name}: the schedule could not be evaluated at step 0..{n - 1}: {err}") from err
        vals = np.broadcast_to(vals, (n,)).copy() if vals.ndim == 0 else vals
        if vals.shape != (n,):
            raise ValueError(f"{name}: the schedule must return one number per step, got shape {vals.shape}")
        what = "schedule"
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real | np.floating | np.integer):
            raise ValueError(f"{name} must be a number or a schedule callable step -> value, got {value!r}")
        vals = np.full((n,), float(value))
        what = "value"
    bad = np.isnan(vals) | (~allow_inf & np.isinf(vals))
    if low is not None:
        bad |= vals < low
    if high is not None:
        bad |= vals > high
    if np.any(bad):
        t = int(np.argmax(bad))
        rng = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must lie in {rng}{'' if allow_inf else ' and be finite'}; the {what} "
                         f"gives {vals[t]!r} at step {t}")
    return vals


def check_key(key):
    """A typed JAX PRNG key (``jax.random.key(seed)``); anything else is a ``TypeError``."""
    if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ()):
        raise TypeError(f"key must be a typed JAX PRNG key, jax.random.key(seed), got {type(key).__name__}")
    return key


def check_progress(progress, work: float) -> bool:
    """``progress``: True/False, or None = show a bar when ``work`` (a rough count of elementary
    operations) suggests more than a few seconds."""
    if progress is None:
        return bool(work > 2e10)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True, False or None, got {progress!r}")
    return progress


def check_stop(stop: str, allowed=STOPS) -> str:
    if stop not in allowed:
        raise ValueError(f"stop must be one of {allowed}, got {stop!r}")
    return stop


def int_arg(name: str, v, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer argument in ``[minimum, maximum]`` (bools rejected)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum or (maximum is not None and v > maximum):
        hi = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"{name} must be an integer >= {minimum}{hi}, got {v!r}")
    return int(v)


def real_arg(name: str, v, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real argument in the given (closed unless ``*_open``) interval."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    v = float(v)
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {v!r}")
    return v
