"""Branch following: warm-started sweeps along a control parameter."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from ._iterate import iterate
from ._result import RESULTS, SaddleSolution, all_finite

PyTree = Any


def _keep(sol: SaddleSolution, carry: str):
    if carry == "converged":
        return sol.converged
    if carry == "finite":
        return all_finite(sol.value)
    raise ValueError(f"carry must be 'converged' or 'finite', got {carry!r}")


def _select(pred, new, old):
    return jax.tree_util.tree_map(lambda u, v: jnp.where(pred, u, v), new, old)


def continuation(
    solve_one: Callable[[PyTree, Any], SaddleSolution],
    y0: PyTree,
    params: Any,
    *,
    carry: str = "converged",
    static: bool = False,
    with_carry: bool = False,
):
    r"""Follow a branch along an ordered sweep with warm starts.

    ``solve_one(y_init, p) -> SaddleSolution`` solves at one parameter point ``p``. Point
    :math:`i+1` starts from the solution at point :math:`i` if that one is kept (``carry``:
    ``"converged"``, or ``"finite"`` for homotopies whose intermediate points need not meet the
    final tolerance), else from the last kept one.

    Args:
        params: a pytree whose leaves have the sweep as leading axis (``lax.scan``), or with
            ``static=True`` a tuple of Python values (an unrolled loop: each value is a
            compile-time constant of its solve, e.g. a number of replicas that selects a
            quadrature).
        with_carry: also return the final warm start (the last kept solution).

    Returns:
        The stacked solutions (leading axis = sweep), and the final carry if ``with_carry``.
    """
    def body(c, p):
        sol = solve_one(c, p)
        return _select(_keep(sol, carry), sol.value, c), sol

    if static:
        c, sols = y0, []
        for p in params:
            c, sol = body(c, p)
            sols.append(sol)
        sols = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *sols)
    else:
        c, sols = jax.lax.scan(body, y0, params)
    return (sols, c) if with_carry else sols


def continuation_path(start, targets, n_down: int, n_up: int):
    r"""One continuation path from a known solution at ``start`` to every point of ``targets``
    (1-D): the targets below ``start`` in decreasing order, then those above in increasing order,
    with ``n_down`` geometric points from ``start`` down to ``min(targets)`` and ``n_up`` linear
    points up to ``max(targets)`` inserted so that no warm start jumps too far.

    Returns ``(path, index, above)``: the ordered points, the index into ``targets`` of each point
    (``len(targets)`` for inserted ones) and whether it lies above ``start``. :func:`follow`
    walks it; it is traceable (``start`` and ``targets`` may be traced).
    """
    m = targets.shape[0]
    dt = start.dtype
    lo = jnp.minimum(jnp.min(targets), start)
    hi = jnp.maximum(jnp.max(targets), start)
    kd = jnp.arange(1, n_down + 1, dtype=dt) / n_down
    ku = jnp.arange(1, n_up + 1, dtype=dt) / n_up
    allp = jnp.concatenate([targets, start * (lo / start) ** kd, start + (hi - start) * ku])
    above = allp > start
    key = jnp.where(above, 1.0 + (allp - start), start - allp)
    order = jnp.argsort(key, stable=True)
    idx = jnp.concatenate([jnp.arange(m), jnp.full((n_down + n_up,), m)])
    return allp[order], idx[order], above[order]


def _skipped(shapes):
    """The solution recorded for a point past the end of a branch (not solved)."""
    def leaf(s, fill):
        return jnp.full(s.shape, fill, s.dtype)

    return SaddleSolution(
        value=jax.tree_util.tree_map(lambda s: leaf(s, jnp.nan), shapes.value),
        result=leaf(shapes.result, RESULTS.branch_ended),
        residual=leaf(shapes.residual, jnp.inf),
        n_steps=leaf(shapes.n_steps, 0),
        free_entropy=None if shapes.free_entropy is None else leaf(shapes.free_entropy, jnp.nan),
        aux=jax.tree_util.tree_map(lambda s: leaf(s, jnp.nan) if jnp.issubdtype(s.dtype, jnp.inexact)
                                   else leaf(s, 0), shapes.aux),
    )


def _refined(solve_at, init, p, p_from, max_refinements, shapes):
    """Solve at ``p`` from ``init`` (the solution at ``p_from``); on failure, approach ``p`` in
    smaller steps: halve the step after a failure (at most ``max_refinements`` times), double it
    after a success, until ``p`` is solved or the halvings are spent.

    The direct attempt is the first pass of the loop, so ``solve_at`` is traced (and compiled)
    once; the loop has a fixed number of passes, each a ``lax.cond`` that skips the solve once
    ``p`` is reached (forward and reverse differentiable)."""
    if max_refinements == 0:
        return solve_at(init, p, p_from)

    def attempt(st):
        value, q0, h, j, last, _ = st
        q = jnp.where(jnp.abs(h) >= jnp.abs(p - q0), p, q0 + h)
        s = solve_at(value, q, q0)
        ok = s.converged
        value = _select(ok, s.value, value)
        q0 = jnp.where(ok, q, q0)
        h = jnp.where(ok, 2.0 * h, 0.5 * h)
        reached = ok & (q == p)
        return value, q0, h, jnp.where(ok, j, j + 1), _select(q == p, s, last), reached

    def step(st):
        return jax.lax.cond(st[5] | (st[3] > max_refinements), lambda s: s, attempt, st)

    st0 = (init, p_from, p - p_from, jnp.asarray(0), _skipped(shapes), jnp.asarray(False))
    return iterate(step, st0, max_steps=4 * max_refinements + 5)[0][4]


def _redundant(path, inserted, above, start, targets, n_down, n_up):
    """The inserted points of a :func:`continuation_path` that no warm start needs: the last of
    their leg, or those whose neighbours on the path (``start`` before the first point of a leg)
    are within the inserted spacing (a ratio on the geometric downward leg, a difference on the
    linear upward one) of each other."""
    lo = jnp.minimum(jnp.min(targets), start)
    hi = jnp.maximum(jnp.max(targets), start)
    ratio = (lo / start) ** (1.0 / max(n_down, 1))
    width = (hi - start) / max(n_up, 1)
    first_up = above & ~jnp.concatenate([jnp.zeros(1, bool), above[:-1]])
    prev = jnp.where(first_up, start, jnp.concatenate([start[None], path[:-1]]))
    has_next = jnp.concatenate([above[1:] == above[:-1], jnp.zeros(1, bool)])
    nxt = jnp.concatenate([path[1:], path[-1:]])
    slack = 1e-9
    close = jnp.where(above, nxt - prev <= width * (1.0 + slack), nxt >= prev * ratio * (1.0 - slack))
    return inserted & (~has_next | close)


def follow(
    solve_at: Callable[[PyTree, jax.Array, jax.Array], SaddleSolution],
    start_value: PyTree,
    start: jax.Array,
    targets: jax.Array,
    *,
    n_down: int,
    n_up: int,
    stop_at_failure: bool = False,
    start_ok: jax.Array | bool = True,
    max_refinements: int = 0,
) -> SaddleSolution:
    r"""Follow a branch of solutions from a known point to every point of ``targets`` (1-D).

    The path of :func:`continuation_path` (down from ``start`` to the smallest target, then up
    from ``start`` to the largest, with extra points so that no warm start jumps too far) is
    walked in one ``lax.scan``. Each point is solved by ``solve_at(init, p, p_from)`` from the
    last converged solution ``init`` at parameter ``p_from`` (a predictor may use both); the
    upward leg restarts from ``start_value``.

    Args:
        start_value: the solution at ``start``.
        stop_at_failure: the branch ends at the first failure in each direction: the points beyond
            are not solved and get ``result = RESULTS.branch_ended`` (NaN values). Otherwise the
            next point starts again from the last converged solution.
        start_ok: whether ``start_value`` is a solution (with ``stop_at_failure``, a failed start
            ends the downward leg at once; the upward leg is still tried).
        max_refinements: step control -- when a point fails, approach it from the last converged
            one in halved steps (doubling again after each success), at most this many halvings
            per point. 0: no refinement.

    An inserted point is skipped where the warm start does not need it: where the points before
    and after it on the path are already no further apart than the inserted spacing (a dense grid
    of targets), or where no target follows it on its leg.

    Returns:
        :class:`SaddleSolution` with a leading axis matching ``targets``. The ``result`` of a
        point says why the branch ended there: the failure of its own solve
        (``max_steps_reached``, ``nonfinite``, ``inadmissible``, ``tolerance_not_met``) or
        ``branch_ended`` for a point beyond it.
    """
    path, idx, above = continuation_path(start, targets, n_down, n_up)
    skip = _redundant(path, idx == targets.shape[0], above, start, targets, n_down, n_up)

    shapes = jax.eval_shape(solve_at, start_value, start, start)

    def solve(init, p, p_from):
        return _refined(solve_at, init, p, p_from, max_refinements, shapes)

    def body(carry, pt):
        theta, p_prev, prev_above, alive = carry
        p, up, redundant = pt
        restart = up & ~prev_above  # the upward leg starts again from the start point
        init = _select(restart, start_value, theta)
        p_from = jnp.where(restart, start, p_prev)
        if stop_at_failure:
            alive = alive | restart
            run = alive & ~redundant
        else:
            run = ~redundant
        sol = jax.lax.cond(run, lambda _: solve(init, p, p_from), lambda _: _skipped(shapes), None)
        conv = sol.converged
        nxt = _select(conv, sol.value, init)
        new = (nxt, jnp.where(conv, p, p_from), up, alive & conv)
        return _select(redundant, carry, new), sol  # a skipped point leaves the walk as it was

    carry0 = (start_value, start, jnp.asarray(False), jnp.asarray(start_ok))
    _, sols = jax.lax.scan(body, carry0, (path, above, skip))
    m = targets.shape[0]

    def scatter(x):
        return jnp.zeros((m,) + x.shape[1:], dtype=x.dtype).at[idx].set(x, mode="drop")

    return jax.tree_util.tree_map(scatter, sols)

