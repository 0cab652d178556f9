"""The failure contract: raise a clear error (eagerly or from inside compiled code), or flag."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from ..errors import NonConvergenceError
from ._result import RESULTS

__all__ = ["raise_if_not_converged", "concrete"]


def concrete(x):
    """A NumPy value for ``x`` if it has one (a concrete array, or the primal of an eager
    ``grad``/``jvp`` tracer), else ``None`` (a value traced under ``jit``/``vmap``)."""
    while True:
        if not isinstance(x, jax.core.Tracer):
            try:
                return np.asarray(x)
            except Exception:  # noqa: BLE001 - anything that is not an array value
                return None
        primal = getattr(x, "primal", None)
        if primal is None:
            return None
        x = primal


def _message(what, hint, conv, res, steps, codes, params):
    bad = np.flatnonzero(~conv.reshape(-1))
    res = np.broadcast_to(res, conv.shape).reshape(-1)
    steps = np.broadcast_to(steps, conv.shape).reshape(-1)
    codes = None if codes is None else np.broadcast_to(codes, conv.shape).reshape(-1)
    flat = {}
    for k, v in params.items():
        if v is not None:
            try:
                flat[k] = np.broadcast_to(np.asarray(v), conv.shape).reshape(-1)
            except ValueError:
                continue
    lines = []
    for i in bad[:5]:
        pars = ", ".join(f"{k}={flat[k][i]:.6g}" for k in flat)
        why = "" if codes is None else f" ({RESULTS.message(codes[i])})"
        lines.append(f"  {pars}: residual={res[i]:.3g} after {int(steps[i])} steps{why}")
    more = f"\n  ... and {len(bad) - 5} more" if len(bad) > 5 else ""
    msg = (
        f"{what} did not converge at {len(bad)} of {conv.size} point(s):\n"
        + "\n".join(lines)
        + more
        + "\nWhat to try: "
        + (hint or "move the parameters back inside the branch, use continuation, increase max_steps")
        + ". Pass on_failure='flag' to get flagged results (NaN values, converged=False) instead of this error."
    )
    return msg, bad, flat, res, steps


def _raise(what, hint, conv, res, steps, codes, params):
    conv = np.asarray(conv, dtype=bool)
    if conv.all():
        return
    msg, bad, flat, res, steps = _message(what, hint, conv, np.asarray(res), np.asarray(steps),
                                          None if codes is None else np.asarray(codes), params)
    raise NonConvergenceError(msg, params={k: flat[k][bad] for k in flat}, residual=res[bad], n_steps=steps[bad])


def raise_if_not_converged(sol, what: str, params: dict[str, Any], hint: str = "") -> None:
    """Raise :class:`~physlearn.errors.NonConvergenceError` listing the parameter points (up to 5)
    where ``sol.converged`` is False, with their residual, step count and reason.

    ``sol`` is any result with ``converged``, ``residual``, ``n_steps`` (and optionally
    ``result``). Eagerly -- including under an eager ``jax.grad``, whose primal values are known --
    the error is raised here. Inside ``jit``/``vmap`` (a traced ``converged``) a host callback
    raises it when the compiled program runs: it then surfaces as a ``JaxRuntimeError`` whose
    message ends with the same text, naming the failed points.
    """
    codes = getattr(sol, "result", None)
    conv = concrete(sol.converged)
    if conv is not None:
        res = concrete(sol.residual)
        steps = concrete(sol.n_steps)
        codes_c = None if codes is None else concrete(codes)
        pars = {k: concrete(v) for k, v in params.items()}
        if res is not None and steps is not None:
            _raise(what, hint, conv, res, steps, codes_c, pars)
            return
    sg = jax.lax.stop_gradient
    names = list(params)

    def host(conv, res, steps, codes, *vals):
        _raise(what, hint, np.asarray(conv), res, steps, codes, dict(zip(names, vals)))

    jax.debug.callback(host, sg(sol.converged), sg(sol.residual), sg(sol.n_steps),
                       None if codes is None else sg(codes), *[sg(params[k]) for k in names])
