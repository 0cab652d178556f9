r"""Derivatives of solutions and of quantities whose autodiff derivative cannot be trusted.

Every solve of the engine runs on values without derivatives (``stop_gradient``): its loop is
never differentiated. :func:`implicit` then attaches the derivatives of the solution
:math:`\theta^*(a)` of :math:`F(\theta, a) = 0` with respect to everything ``F`` depends on
besides :math:`\theta` (its ``args`` and the traced values it closes over):

.. math:: \frac{d\theta^*}{da} = -\big(\partial_\theta F\big)^{-1}\,\partial_a F .

The Jacobians come from forward-mode autodiff, or (``jacobian="fd"``) from central finite
differences of ``F`` -- for equations that are themselves gradients of functionals whose
integrands have kinks at moving points (a switch of the optimal reference, an inner maximiser
held under ``stop_gradient``): their first derivatives are exact, their autodiff second
derivatives are not. :func:`fd_derivative` does the same for any function, and
:func:`nondifferentiable` marks a value whose derivative is not available (NaN, never a silent
wrong number). :func:`attach_derivatives` gives a value computed inside a solve the derivatives of
the function that produced it.

All three work in forward and reverse mode and under ``vmap``. A failed point (NaN in the
solution, a singular Jacobian) gets NaN derivatives; nothing raises inside JAX. Quantities
computed from :math:`\theta^*` afterwards get their total derivatives from the chain rule.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ._linalg import solve as _solve

PyTree = Any

_JACOBIANS = ("autodiff", "fd")


def implicit(
    equations: Callable[[PyTree, Any], PyTree],
    value: PyTree,
    args: Any = None,
    *,
    jacobian: str = "autodiff",
    degenerate: bool = False,
    rcond: float | None = None,
    fd_step: float = 1e-6,
) -> PyTree:
    r"""Return ``value`` (a solution of ``equations(value, args) = 0``) with implicit-function
    derivatives attached.

    Args:
        equations: ``F(theta, args) -> pytree`` with as many entries as ``theta`` (the residual
            the solve drove to zero, or any equivalent system with a non-singular Jacobian at the
            solution). It may close over traced values: they are differentiated too.
        value: the solution (its own derivatives, e.g. through a warm start, are discarded).
        args: the parameters; their inexact-array leaves are differentiated.
        jacobian: ``"autodiff"`` (``jacfwd``) or ``"fd"`` (central differences with relative step
            ``fd_step``; ``F`` is evaluated ``2 (dim theta + dim args)`` times, in one vmapped
            batch).
        degenerate: use the pseudo-inverse of :math:`\partial_\theta F` instead of a solve, for
            saddle points with flat directions (the flat components get the minimum-norm
            derivative, 0; the others stay exact). ``rcond``: singular values below this fraction of
            the largest are treated as zero (default: numerical precision; with ``jacobian="fd"``
            pass ~1e-7, the accuracy of the differences).

    Returns:
        ``value``, numerically unchanged.
    """
    if jacobian not in _JACOBIANS:
        raise ValueError(f"jacobian must be one of {_JACOBIANS}, got {jacobian!r}")
    value = jax.lax.stop_gradient(value)
    flat, unravel = ravel_pytree(value)
    dyn, static = eqx.partition(args, eqx.is_inexact_array)

    def fn(x, d):
        return ravel_pytree(equations(unravel(x), eqx.combine(d, static)))[0]

    closed, consts = jax.closure_convert(fn, flat, dyn)
    opts = (jacobian, bool(degenerate), None if rcond is None else float(rcond), float(fd_step))
    return unravel(_attach(closed, opts, flat, dyn, consts))


def _fd_columns(g, v, step):
    """Central-difference Jacobian of ``g`` at the vector ``v`` (columns = components of ``v``)."""
    if v.size == 0:
        return jnp.zeros(jax.eval_shape(g, v).shape + (0,), v.dtype)
    h = step * jnp.maximum(1.0, jnp.abs(v))
    eye = jnp.eye(v.size, dtype=v.dtype) * h[:, None]
    plus = jax.vmap(g)(v[None, :] + eye)
    minus = jax.vmap(g)(v[None, :] - eye)
    return ((plus - minus) / (2.0 * h[:, None])).T


@partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _attach(fn, opts, x, dyn, consts):
    del fn, opts, dyn, consts
    return x


@_attach.defjvp
def _attach_jvp(fn, opts, primals, tangents):
    jacobian, degenerate, rcond, step = opts
    x, dyn, consts = primals
    if jacobian == "autodiff":
        _, rhs = jax.jvp(lambda d, c: fn(x, d, *c), (dyn, consts), tangents[1:])
        jac = jax.jacfwd(lambda xx: fn(xx, dyn, *consts))(x)
    else:
        a, unravel_a = ravel_pytree((dyn, consts))
        ta = ravel_pytree(tangents[1:])[0]
        jac = _fd_columns(lambda xx: fn(xx, dyn, *consts), x, step)
        jac_a = _fd_columns(lambda aa: fn(x, *_split(unravel_a(aa))), a, step)
        rhs = jac_a @ ta if a.size else jnp.zeros_like(x)
    if degenerate:
        dx = -(jnp.linalg.pinv(jac, rtol=rcond) @ rhs)
    else:
        dx = -_solve(jac, rhs)
    return x, dx


def _split(dc):
    d, c = dc
    return (d, *c)


def attach_derivatives(fn: Callable, *args, value: PyTree = None, jacobian: str = "fd", fd_step: float = 1e-6):
    r"""``fn(*args)`` -- or ``value``, a result of it already computed (e.g. inside a solve, without
    derivatives) -- with the derivatives of ``fn``.

    ``jacobian="fd"``: the Jacobian with respect to every inexact input (``args`` and the traced
    values ``fn`` closes over) is taken from ``2 (dim inputs)`` evaluations of ``fn`` in one
    vmapped batch -- for quantities whose autodiff derivative is wrong or unavailable: a value
    computed by a finite difference of gradients (a replicon slope) or from integrals whose kinks
    move with the parameters. ``"autodiff"``: the JVP of ``fn``. Either way the work is done only
    when a derivative is requested, and applied linearly to the tangents (forward and reverse
    mode). With ``value`` given the primal is ``value`` unchanged (``fn`` is not evaluated).
    """
    if jacobian not in _JACOBIANS:
        raise ValueError(f"jacobian must be one of {_JACOBIANS}, got {jacobian!r}")
    dyn, static = eqx.partition(args, eqx.is_inexact_array)
    out_shape = jax.eval_shape(lambda d: fn(*eqx.combine(d, static)), dyn)
    _, unravel_out = ravel_pytree(jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), out_shape))

    def flat_fn(d):
        return ravel_pytree(fn(*eqx.combine(d, static)))[0]

    closed, consts = jax.closure_convert(flat_fn, dyn)
    flat_value = None if value is None else jax.lax.stop_gradient(ravel_pytree(value)[0])
    return unravel_out(_derivative(closed, (jacobian, float(fd_step)), flat_value, dyn, consts))


def fd_derivative(fn: Callable, *args, fd_step: float = 1e-6):
    """:func:`attach_derivatives` with finite differences: ``fn(*args)`` with its derivatives by
    central differences."""
    return attach_derivatives(fn, *args, jacobian="fd", fd_step=fd_step)


@partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _derivative(fn, opts, value, dyn, consts):
    del opts
    return fn(dyn, *consts) if value is None else value


@_derivative.defjvp
def _derivative_jvp(fn, opts, primals, tangents):
    jacobian, step = opts
    value, dyn, consts = primals
    if jacobian == "autodiff":
        out, t_out = jax.jvp(lambda d, c: fn(d, *c), (dyn, consts), tangents[1:])
    else:
        out = fn(dyn, *consts) if value is None else value
        a, unravel_a = ravel_pytree((dyn, consts))
        ta = ravel_pytree(tangents[1:])[0]
        jac = _fd_columns(lambda aa: fn(*_split(unravel_a(aa))), a, step)
        t_out = jac @ ta if a.size else jnp.zeros_like(out)
    return (out if value is None else value), t_out


def nondifferentiable(x, mask=True, wrt=()):
    """``x`` with NaN derivatives (with respect to the parameters ``wrt``) where ``mask`` holds: for a
    value physlearn cannot differentiate there (e.g. a contraction rate read off an iteration, or
    a solution branch whose derivatives are not implemented). Elsewhere ``x`` keeps its own
    derivatives. A derivative through a masked point is NaN -- loud, never a silent wrong number.
    Forward mode (``jvp``, ``jacfwd``) and per-point reverse mode (``vmap(grad)``) leave the unmasked
    points' derivatives intact; a reverse-mode gradient with respect to an input *shared* with a
    masked point is NaN as a whole (its cotangent sums over the points, and 0 x NaN is NaN)."""
    return _poison(x, jnp.asarray(mask), wrt)


@jax.custom_jvp
def _poison(x, mask, wrt):
    del mask, wrt
    return x


@_poison.defjvp
def _poison_jvp(primals, tangents):
    x, mask, wrt = primals
    tx, _, t_wrt = tangents
    leaves = [jnp.sum(t) for t in jax.tree_util.tree_leaves(t_wrt) if jnp.issubdtype(jnp.result_type(t), jnp.inexact)]
    total = sum(leaves) if leaves else jnp.zeros((), jnp.result_type(x))
    return x, tx + jnp.where(mask, jnp.nan, 0.0).astype(jnp.result_type(x)) * total
