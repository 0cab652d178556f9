"""Damped fixed-point iteration."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optimistix as optx

from ._implicit import implicit
from ._iterate import iterate
from ._result import RESULTS, SaddleSolution, all_finite, code, from_optimistix, max_abs

PyTree = Any


def _residual_fn(update, has_aux):
    def residual(y, a):
        fy = update(y, a)
        fy = fy[0] if has_aux else fy
        return jax.tree_util.tree_map(jnp.subtract, fy, y)

    return residual


def fixed_point(
    update: Callable,
    y0: PyTree,
    args: Any = None,
    *,
    damping: float = 0.5,
    tol: float = 1e-12,
    max_steps: int = 10_000,
    free_entropy: Callable[[PyTree, Any], jax.Array] | None = None,
    has_aux: bool = False,
    aux0: PyTree = None,
    residual: Callable | None = None,
    stop: Callable[[PyTree], jax.Array] | None = None,
    equations: Callable[[PyTree, Any], PyTree] | None = None,
    differentiable: bool = True,
) -> SaddleSolution:
    r"""Solve :math:`\theta = F(\theta)` by damped iteration
    :math:`\theta_{t+1} = (1-\eta)\,\theta_t + \eta\,F(\theta_t)` (the classical way replica
    equations are solved, e.g. Gardner & Derrida 1988).

    Plain use (``update(theta, args) -> theta``): the iteration stops when
    :math:`\max|\theta_{t+1}-\theta_t| < \eta\,\mathrm{tol}`, i.e. when
    :math:`\max|F(\theta)-\theta| < \mathrm{tol}` (optimistix ``FixedPointIteration``).

    Hooks, for maps that carry more than the iterate (each switches to the engine's own loop):

    * ``has_aux``: ``update(theta, args, aux) -> (F(theta), aux)``, starting from ``aux0`` -- e.g.
      conjugates or a warm start for an inner solve; the final ``aux`` is in
      ``solution.value`` as ``(theta, aux)``.
    * ``residual(theta, F(theta), theta_next, aux) -> scalar``: the convergence measure (default
      :math:`\max|F(\theta)-\theta|`), compared with ``tol``.
    * ``stop(theta_next) -> bool``: an early end that counts as success (e.g. a 1RSB solution
      that collapsed onto RS).

    Derivatives (``differentiable=True``): the loop runs without derivatives and
    :func:`~physlearn.solvers.implicit` attaches them, by default for
    :math:`F(\theta)-\theta = 0`; pass ``equations(theta, args)`` for another equivalent system
    (needed when ``update`` has ``aux`` or hits ``stop`` away from a fixed point).

    Args:
        update: the map :math:`F` (same pytree structure as ``y0``).
        y0: initial guess.
        args: parameters (``alpha``, ``kappa``, ...) -- may be traced and vmapped.
        damping: :math:`\eta \in (0, 1]`.
        tol: tolerance on the residual.
        max_steps: iteration cap.
        free_entropy: optional ``phi(theta, args)`` evaluated at the solution.

    Returns:
        :class:`SaddleSolution` (``result``: ``successful``, ``max_steps_reached``,
        ``nonfinite``, or ``tolerance_not_met``).
    """
    if not 0.0 < float(damping) <= 1.0:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    a_sg = jax.lax.stop_gradient(args)
    plain = not has_aux and residual is None and stop is None
    if plain:

        def damped(y, a):
            fy = update(y, a)
            return jax.tree_util.tree_map(lambda u, v: (1.0 - damping) * u + damping * v, y, fy)

        solver = optx.FixedPointIteration(rtol=0.0, atol=damping * tol)
        sol = optx.fixed_point(damped, solver, jax.lax.stop_gradient(y0), a_sg, max_steps=max_steps, throw=False)
        value = sol.value
        res = max_abs(_residual_fn(update, False)(value, a_sg))
        ok = res <= tol
        result = from_optimistix(sol.result, all_finite(value) & jnp.isfinite(res), ok)
        n_steps = sol.stats["num_steps"]
        out_value = value
        eqs = equations or _residual_fn(update, False)
    else:
        def measure(y, fy, yn, aux):
            if residual is not None:
                return residual(y, fy, yn, aux)
            return max_abs(jax.tree_util.tree_map(jnp.subtract, fy, y))

        def step(st):
            y, aux, _, _ = st
            out = update(y, a_sg, aux) if has_aux else update(y, a_sg)
            fy, aux_n = out if has_aux else (out, aux)
            yn = jax.tree_util.tree_map(lambda u, v: (1.0 - damping) * u + damping * v, y, fy)
            r = measure(y, fy, yn, aux_n)
            stopped = jnp.asarray(False) if stop is None else stop(yn)
            return yn, aux_n, r, stopped

        def done(st):
            _, _, r, stopped = st
            return (r <= tol) | stopped | ~jnp.isfinite(r)

        y0_sg = jax.lax.stop_gradient(y0)
        big = jnp.asarray(jnp.finfo(jnp.result_type(float)).max, jnp.result_type(float))  # not yet measured
        init = (y0_sg, jax.lax.stop_gradient(aux0), big, jnp.asarray(False))
        if stop is not None:
            init = init[:3] + (stop(y0_sg),)
        (value, aux, res, stopped), n_steps, _ = iterate(step, init, max_steps=max_steps, done=done)
        finite = jnp.isfinite(res) & all_finite(value)
        ok = (res <= tol) | stopped
        result = code(
            jnp.where(finite | stopped, jnp.where(ok, RESULTS.successful, RESULTS.max_steps_reached), RESULTS.nonfinite)
        )
        out_value = (value, aux) if has_aux else value
        eqs = equations if equations is not None else (None if has_aux else _residual_fn(update, False))
    if differentiable and eqs is not None:
        if has_aux and not plain:
            out_value = (implicit(eqs, out_value[0], args), out_value[1])
        else:
            out_value = implicit(eqs, out_value, args)
    fe = None
    if free_entropy is not None:
        fe = free_entropy(out_value[0] if (has_aux and not plain) else out_value, args)
    return SaddleSolution(value=out_value, result=result, residual=res, n_steps=n_steps, free_entropy=fe)
