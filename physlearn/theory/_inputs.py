"""Input handling and the failure contract at the public boundary of the theory modules.

Every public theory function: validates its inputs eagerly (``ValueError`` naming the argument,
before any compilation; traced inputs are passed through), broadcasts the parameters against each
other, solves the whole grid in one compiled call (:func:`grid_call`), and ends with
:func:`finish`: ``on_failure="raise"`` raises :class:`~physlearn.errors.NonConvergenceError` (or,
inside ``jit``/``vmap``, a runtime error with the same message) naming the failed points;
``on_failure="flag"`` returns NaN in every value field of a failed point (its derivatives too),
with ``converged=False`` and the :class:`~physlearn.solvers.RESULTS` code in ``result``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import solvers
from .._config import is_traced

__all__ = [
    "TheoryResult",
    "as_param",
    "broadcast",
    "bucket",
    "check_on_failure",
    "finish",
    "finish_curve",
    "flag_failed",
    "grid_call",
    "grid_map",
    "validate_d",
    "validate_margins",
]

# fields that are never NaN-masked: they describe the solve, not the physics
DIAGNOSTICS = ("converged", "result", "residual", "n_steps")


class TheoryResult(eqx.Module):
    """Base of the result types of the public theory functions.

    ``INPUTS`` names the fields that echo the parameters (never masked). Every other floating
    field is a value: NaN where ``converged`` is False when the call used ``on_failure="flag"``.
    A field with fewer dimensions than ``converged`` (one per curve, e.g. the reference's Gardner
    solution of a Franz--Parisi curve) is NaN when no point of its curve converged.
    """

    INPUTS: ClassVar[tuple[str, ...]] = ("alpha", "kappa")


def as_param(name: str, x, *, positive: bool = False, nonneg: bool = False, finite: bool = True):
    """Validate a real parameter eagerly (``ValueError`` naming it); tracers pass through."""
    if is_traced(x):
        return x
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a real number or array of real numbers, got {x!r}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got a complex value")
    arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {x!r}")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got min {arr.min():.6g}")
    if nonneg and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {arr.min():.6g}")
    return arr


def broadcast(**named):
    """The broadcast shape of the named parameters (``ValueError`` naming them if impossible)."""
    try:
        shapes = [jnp.shape(v) for v in named.values()]
        return jnp.broadcast_shapes(*shapes)
    except ValueError as err:
        desc = ", ".join(f"{k} of shape {jnp.shape(v)}" for k, v in named.items())
        raise ValueError(f"cannot broadcast {desc} against each other") from err


def check_on_failure(on_failure: str) -> None:
    if on_failure not in ("raise", "flag"):
        raise ValueError(f"on_failure must be 'raise' or 'flag', got {on_failure!r}")


def validate_d(d):
    """Distances: a scalar or 1-D array in (0, 1/2)."""
    arr = as_param("d", d)
    if not is_traced(arr):
        if arr.ndim > 1:
            raise ValueError(f"d must be a scalar or a 1-D array of distances, got shape {arr.shape}")
        if ((arr <= 0) | (arr >= 0.5)).any():
            raise ValueError(f"d must lie in (0, 1/2), got values in [{arr.min():.6g}, {arr.max():.6g}]")
    return arr


def validate_margins(alpha, kappa, kappa_ref):
    """``alpha > 0``, ``kappa``, ``kappa_ref`` broadcastable, ``kappa <= kappa_ref``."""
    a = as_param("alpha", alpha, positive=True)
    k = as_param("kappa", kappa)
    kr = as_param("kappa_ref", kappa_ref)
    broadcast(alpha=a, kappa=k, kappa_ref=kr)
    if not is_traced(kr, k) and (np.asarray(k) > np.asarray(kr) + 1e-15).any():
        raise ValueError("kappa must be <= kappa_ref (the reference must itself be a margin-kappa solution)")
    return a, k, kr


def bucket(size: int) -> int:
    """Pad batch sizes to 8, 16, 32, ... so that sweeps of different lengths share compilations."""
    return max(8, 1 << max(0, size - 1).bit_length())


def point_map(fn, *flat):
    """``fn`` at every point of the 1-D arrays ``flat`` (inside a jitted grid function), as
    ``lax.map``: one loop over the points in the compiled program.

    For the saddle-point solves (nested while loops), not ``vmap``: batching a while loop re-traces
    its body until the batched carries settle, at every level of the nest, which made the traced
    program of a local-entropy curve half again as large and its compilation 25-40 % slower; and a
    batched loop runs every point for as many iterations as the slowest. Closed forms and the
    Gardner grids (thousands of cheap points) keep ``vmap``."""
    return jax.lax.map(lambda xs: fn(*xs), tuple(flat))


def curve_map(one, d, *params):
    """Map a curve function ``one(*params_point, d_flat)`` over the broadcast parameters
    (:func:`point_map`, inside a jitted grid function): fields of shape ``P`` (one value per curve)
    and ``P + d.shape`` (one per distance)."""
    shape = jnp.broadcast_shapes(*[p.shape for p in params])
    flat = [jnp.broadcast_to(p, shape).reshape(-1) for p in params]
    out = point_map(lambda *ps: one(*ps, d.reshape(-1)), *flat)

    def reshape(x):
        return x.reshape(shape) if x.ndim == 1 else x.reshape(shape + d.shape)

    return jax.tree_util.tree_map(reshape, out)


def grid_map(fn, *arrays):
    """Broadcast, flatten, map ``fn`` over the points (:func:`point_map`), reshape back (for use inside jit)."""
    arrays = [jnp.asarray(a, dtype=jnp.result_type(float)) for a in arrays]
    shape = jnp.broadcast_shapes(*[a.shape for a in arrays])
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in arrays]
    out = point_map(fn, *flat)
    return jax.tree_util.tree_map(lambda x: x.reshape(shape + x.shape[1:]), out)


def grid_call(jitted, *arrays, **static):
    """Broadcast the parameter arrays, flatten, pad to a bucket size, call the jitted solver on
    the flat batch (one compilation per bucket, whatever the grid's shape), reshape back."""
    arrays = [jnp.asarray(a, dtype=jnp.result_type(float)) for a in arrays]
    shape = jnp.broadcast_shapes(*[a.shape for a in arrays])
    size = math.prod(shape)
    pad = bucket(size) - size
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in arrays]
    flat = [jnp.concatenate([f, jnp.broadcast_to(f[:1], (pad,))]) if pad else f for f in flat]
    out = jitted(*flat, **static)
    return jax.tree_util.tree_map(lambda x: x[:size].reshape(shape + x.shape[1:]), out)


def flag_failed(res: TheoryResult) -> TheoryResult:
    """NaN in every value field where ``res.converged`` is False (values and derivatives: the
    field is multiplied by 1 or NaN, so a failed point never carries a finite derivative)."""
    conv = jnp.asarray(res.converged)
    skip = set(DIAGNOSTICS) | set(type(res).INPUTS)
    updates = {}
    for f in (fld.name for fld in dataclasses.fields(res)):
        v = getattr(res, f)
        if f in skip or v is None or not jnp.issubdtype(jnp.result_type(v), jnp.inexact):
            continue
        v = jnp.asarray(v)
        c = conv
        if v.ndim < c.ndim:  # one value per curve: NaN where no point of the curve converged
            c = jnp.any(c.reshape(c.shape[: v.ndim] + (-1,)), axis=-1)
        c = jnp.broadcast_to(c, v.shape) if c.ndim <= v.ndim else c
        updates[f] = v * jnp.where(c, 1.0, jnp.nan).astype(v.dtype)
    return dataclasses.replace(res, **updates) if updates else res


def finish(res: TheoryResult, on_failure: str, what: str, params: dict, hint: str) -> TheoryResult:
    """The failure contract: raise (eagerly, or from inside compiled code) or flag."""
    check_on_failure(on_failure)
    if on_failure == "flag":
        return flag_failed(res)
    solvers.raise_if_not_converged(res, what, params, hint)
    return res


def finish_curve(res: TheoryResult, on_failure: str, what: str, hint: str) -> TheoryResult:
    """:func:`finish` for a curve in d (``alpha`` broadcast against the d axis in the message)."""
    alpha = res.alpha
    if np.ndim(res.d) > np.ndim(alpha):
        alpha = jnp.asarray(alpha)[..., None]
    return finish(res, on_failure, what, {"alpha": alpha, "d": res.d}, hint)
