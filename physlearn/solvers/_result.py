"""Result codes and the solution type every solve returns."""

from __future__ import annotations

import enum
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

PyTree = Any


class RESULTS(enum.IntEnum):
    """Why a solve stopped. Stored in results as an ``int32`` array (one code per point), so that
    it survives ``jit``, ``vmap`` and the conversion of eager results to NumPy.

    ``RESULTS.message(code)`` gives the human-readable reason; ``code == RESULTS.successful`` (0)
    is the same as ``converged``. The codes follow optimistix's ``RESULTS`` (which they refine
    for saddle points):

    * ``successful`` -- the equations hold to the requested tolerance;
    * ``max_steps_reached`` -- the iteration cap was hit first;
    * ``nonfinite`` -- an iterate or the residual became NaN/inf;
    * ``inadmissible`` -- the iterate left the admissible domain (a covariance that is not
      positive, an overlap outside [0, 1]) and could not be brought back;
    * ``branch_ended`` -- the branch of solutions ended before this point: the parameters lie
      beyond the known end of the branch (e.g. above a capacity), or branch following stopped at
      an earlier failure, so there is no warm start to continue from;
    * ``tolerance_not_met`` -- the solver stopped (bracket exhausted, stagnation, solver-declared
      failure) with a residual above the tolerance.
    """

    successful = 0
    max_steps_reached = 1
    nonfinite = 2
    inadmissible = 3
    branch_ended = 4
    tolerance_not_met = 5

    @staticmethod
    def message(code) -> str:
        """The reason for one code (an int or a 0-d array)."""
        return _MESSAGES[RESULTS(int(np.asarray(code)))]


_MESSAGES = {
    RESULTS.successful: "converged",
    RESULTS.max_steps_reached: "the maximum number of steps was reached",
    RESULTS.nonfinite: "an iterate or the residual became non-finite (NaN/inf)",
    RESULTS.inadmissible: "the iterate left the admissible domain",
    RESULTS.branch_ended: "the branch ended before this point (the solution does not exist there, or an earlier "
                          "point of the continuation failed)",
    RESULTS.tolerance_not_met: "the solver stopped with a residual above the tolerance",
}


def code(value) -> jax.Array:
    """A result code as an ``int32`` array."""
    return jnp.asarray(value, dtype=jnp.int32)


def combine(*codes) -> jax.Array:
    """The first non-successful code of several (element-wise): the reason reported for a point
    that went through several solves."""
    out = code(codes[-1])
    for c in reversed(codes[:-1]):
        c = code(c)
        out = jnp.where(c != RESULTS.successful, c, out)
    return out


def from_optimistix(result, value_finite, residual_ok) -> jax.Array:
    """Map an optimistix result plus our own checks (finite value, residual below tolerance) to a
    :class:`RESULTS` code."""
    ours = jnp.where(
        result == optx.RESULTS.successful,
        jnp.where(residual_ok, RESULTS.successful, RESULTS.tolerance_not_met),
        jnp.where(result == optx.RESULTS.max_steps_reached, RESULTS.max_steps_reached, RESULTS.tolerance_not_met),
    )
    return code(jnp.where(value_finite, ours, RESULTS.nonfinite))


def from_checks(finite, residual_ok, hit_max_steps=False, admissible=True) -> jax.Array:
    """A :class:`RESULTS` code from the usual checks, the first failing one winning: finite,
    admissible, residual below tolerance (else ``max_steps_reached`` if the cap was hit, else
    ``tolerance_not_met``)."""
    tol_code = jnp.where(hit_max_steps, RESULTS.max_steps_reached, RESULTS.tolerance_not_met)
    out = jnp.where(residual_ok, RESULTS.successful, tol_code)
    out = jnp.where(admissible, out, RESULTS.inadmissible)
    return code(jnp.where(finite, out, RESULTS.nonfinite))


def max_abs(tree: PyTree) -> jax.Array:
    """Max-norm over all leaves of a pytree (0 for an empty tree)."""
    leaves = [jnp.max(jnp.abs(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.max(jnp.stack(leaves)) if leaves else jnp.asarray(0.0)


def all_finite(tree: PyTree) -> jax.Array:
    """True when every element of every leaf is finite."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


class SaddleSolution(eqx.Module):
    """Result of one solve (or of a batch of them, with leading batch axes on every field).

    Attributes:
        value: the order parameters, same pytree structure as the initial guess.
        result: :class:`RESULTS` code (``int32``); ``converged`` is ``result == 0``.
        residual: max-norm of the equations at ``value`` (or of the convergence measure the solve
            used, which its docstring names).
        n_steps: iterations used.
        free_entropy: the free entropy at ``value`` when the problem defines one, else ``None``.
        aux: auxiliary output of the solve (e.g. conjugates computed along the way), else ``None``.
    """

    value: PyTree
    result: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    free_entropy: jax.Array | None = None
    aux: PyTree = None

    @property
    def converged(self) -> jax.Array:
        """``result == RESULTS.successful``."""
        return self.result == RESULTS.successful
