"""The bounded driver under every loop of the engine."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

PyTree = Any


def iterate(
    step: Callable[[PyTree], PyTree],
    state: PyTree,
    *,
    max_steps: int,
    done: Callable[[PyTree], jax.Array] | None = None,
) -> tuple[PyTree, jax.Array, jax.Array]:
    r"""Apply ``step`` to ``state`` until ``done(state)`` or ``max_steps`` times.

    This is the one place where the theory loops: inner maximisations (a fixed number of Newton
    steps per quadrature node), damped fixed points, Newton solves and continuations are all
    ``step`` functions handed to it.

    Args:
        step: ``state -> state`` (any pytree, shapes and dtypes preserved).
        state: the initial state.
        max_steps: iteration cap (static).
        done: ``state -> bool`` checked before every step (also on the initial state). ``None``:
            exactly ``max_steps`` steps (a ``fori_loop``, which forward- and reverse-mode autodiff
            can trace through); otherwise a ``while_loop``, which cannot be reverse-differentiated:
            run it on ``stop_gradient`` values and attach derivatives with
            :func:`~physlearn.solvers.implicit`.

    Returns:
        ``(state, n_steps, stopped)``: the final state, the number of steps taken and whether
        ``done`` held at the end (``True`` when ``done`` is ``None``).
    """
    if done is None:
        out = jax.lax.fori_loop(0, max_steps, lambda _, s: step(s), state)
        return out, jnp.asarray(max_steps), jnp.asarray(True)

    def cond(carry):
        s, k = carry
        return (k < max_steps) & ~done(s)

    def body(carry):
        s, k = carry
        return step(s), k + 1

    out, k = jax.lax.while_loop(cond, body, (state, jnp.asarray(0)))
    return out, k, done(out)


def with_root_tangents(step: Callable[[PyTree], PyTree], x: PyTree, order: int = 2) -> PyTree:
    r"""``x`` (a root found by a loop run on ``stop_gradient`` values) with the derivatives of the
    exact root attached, its value unchanged.

    ``step`` is one Newton-type step ``x -> x'`` whose fixed point is the root and whose derivative
    in ``x`` vanishes there (Newton's step does). ``order`` steps are traced, each added as zero
    (``x + (dx - stop_gradient(dx))``): the value stays ``x``, while the tangents are those of the
    fixed point :math:`x^*(\theta)` of ``step`` up to derivative order ``order`` (each traced step
    adds one order, because the step's Jacobian in ``x`` vanishes at the root). For a quadrature
    rule recentred on a root, ``order=2`` makes derivatives of a gradient of the integral (e.g.
    conjugates that are themselves derivatives) follow the centre as finite differences of the
    computed values do; with the centre held they would miss the motion of the quadrature error.
    Tangents are only as accurate as ``x`` is converged.
    """
    sg = jax.lax.stop_gradient
    x = sg(x)
    for _ in range(order):
        dx = jax.tree_util.tree_map(jnp.subtract, step(x), x)
        x = jax.tree_util.tree_map(lambda a, d: a + (d - sg(d)), x, dx)
    return x
