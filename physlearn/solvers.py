r"""The saddle-point engine.

Replica computations end in a set of stationarity conditions for a handful of order parameters,
:math:`\partial\phi/\partial\theta = 0` for a free entropy :math:`\phi(\theta; \alpha, \kappa, \dots)`,
or equivalently a fixed-point map :math:`\theta = F(\theta)`. This module solves them:

* :func:`fixed_point` -- damped iteration :math:`\theta \leftarrow (1-\eta)\theta + \eta F(\theta)`;
* :func:`root` -- Newton / Chord (any dimension) or bisection (one dimension) on equations
  :math:`f(\theta) = 0`;
* :func:`stationary` -- the same on :math:`\nabla_\theta \phi` computed by autodiff;
* :func:`continuation` -- an ordered sweep (``lax.scan``) warm-starting each point from the last
  converged one, for branches where a cold start fails;

all on top of `optimistix <https://github.com/patrick-kidger/optimistix>`_ with ``throw=False``,
so that every solve runs under ``jit`` and ``vmap`` (one compilation for a whole parameter grid)
and is differentiable by the implicit function theorem (``optimistix.ImplicitAdjoint``):
:math:`d\theta^*/d\alpha = -(\partial_\theta f)^{-1}\partial_\alpha f`.

Order parameters are any pytree (e.g. ``{"q": ..., "q_hat": ...}``). Every solve returns a
:class:`SaddleSolution` that says whether it converged and with which residual; nothing here
raises inside ``jit``. The eager public theory API raises
:class:`physlearn.errors.NonConvergenceError` via :func:`raise_if_not_converged`.

Caveat (optimistix/lineax): gradients through a *failed* solve are not defined; mask
non-converged points (``jnp.where(sol.converged, ...)``) before differentiating a sweep.
"""

from __future__ import annotations

from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from .errors import NonConvergenceError

__all__ = [
    "SaddleSolution",
    "fixed_point",
    "root",
    "stationary",
    "continuation",
    "continuation_path",
    "raise_if_not_converged",
    "max_abs",
]

PyTree = Any


class SaddleSolution(eqx.Module):
    """Result of a saddle-point solve.

    Attributes:
        value: the order parameters (same pytree structure as the initial guess).
        converged: bool array, True when the solver reported success *and* the residual of the
            equations at ``value`` is below tolerance *and* everything is finite.
        residual: max-norm of the equations (or of ``F(theta) - theta``) at ``value``.
        n_steps: iterations used.
        free_entropy: the free entropy at ``value`` when the problem defines one, else ``None``.
    """

    value: PyTree
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    free_entropy: jax.Array | None = None


def max_abs(tree: PyTree) -> jax.Array:
    """Max-norm over all leaves of a pytree (0 for an empty tree)."""
    leaves = [jnp.max(jnp.abs(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.max(jnp.stack(leaves)) if leaves else jnp.asarray(0.0)


def _all_finite(tree: PyTree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _finish(value, result, n_steps, residual_fn, args, tol, free_entropy):
    residual = jax.lax.stop_gradient(residual_fn(jax.lax.stop_gradient(value), args))
    residual = max_abs(residual)
    ok = (result == optx.RESULTS.successful) & _all_finite(value) & (residual <= tol)
    ok = ok & jnp.isfinite(residual)
    fe = None if free_entropy is None else free_entropy(value, args)
    return SaddleSolution(value=value, converged=ok, residual=residual, n_steps=n_steps, free_entropy=fe)


def fixed_point(
    update: Callable[[PyTree, Any], PyTree],
    y0: PyTree,
    args: Any = None,
    *,
    damping: float = 0.5,
    tol: float = 1e-12,
    max_steps: int = 10_000,
    free_entropy: Callable[[PyTree, Any], jax.Array] | None = None,
) -> SaddleSolution:
    r"""Solve :math:`\theta = F(\theta)` by damped iteration
    :math:`\theta_{t+1} = (1-\eta)\,\theta_t + \eta\,F(\theta_t)`.

    The damped map has the same fixed points as ``update``; the iteration stops when
    :math:`\max|\theta_{t+1}-\theta_t| \le \eta\,\mathrm{tol}`, i.e. when
    :math:`\max|F(\theta)-\theta| \le \mathrm{tol}`. Differentiable by the implicit function
    theorem. This is the classical way replica equations are solved (e.g. Gardner & Derrida 1988).

    Args:
        update: ``F(theta, args) -> theta`` (same pytree structure).
        y0: initial guess.
        args: parameters (``alpha``, ``kappa``, ...) -- may be traced and vmapped.
        damping: :math:`\eta \in (0, 1]`.
        tol: tolerance on :math:`\max|F(\theta)-\theta|`.
        max_steps: iteration cap.
        free_entropy: optional ``phi(theta, args)`` evaluated at the solution.
    """
    if not 0.0 < float(damping) <= 1.0:
        raise ValueError(f"damping must be in (0, 1], got {damping}")

    def damped(y, a):
        fy = update(y, a)
        return jax.tree_util.tree_map(lambda u, v: (1.0 - damping) * u + damping * v, y, fy)

    solver = optx.FixedPointIteration(rtol=0.0, atol=damping * tol)
    sol = optx.fixed_point(damped, solver, y0, args, max_steps=max_steps, throw=False)

    def residual_fn(y, a):
        return jax.tree_util.tree_map(jnp.subtract, update(y, a), y)

    return _finish(sol.value, sol.result, sol.stats["num_steps"], residual_fn, args, tol, free_entropy)


def root(
    equations: Callable[[PyTree, Any], PyTree],
    y0: PyTree,
    args: Any = None,
    *,
    method: str = "newton",
    tol: float = 1e-10,
    max_steps: int = 256,
    lower: float | None = None,
    upper: float | None = None,
    free_entropy: Callable[[PyTree, Any], jax.Array] | None = None,
) -> SaddleSolution:
    r"""Solve :math:`f(\theta) = 0`.

    Args:
        equations: ``f(theta, args) -> pytree`` with the structure of ``theta``.
        y0: initial guess (for ``"bisection"``, a scalar used only for its dtype).
        method: ``"newton"`` (Jacobian by autodiff every step), ``"chord"`` (Jacobian at ``y0``
            only) or ``"bisection"`` (scalar problems; needs ``lower``/``upper`` bracketing a sign
            change -- the robust choice for one order parameter in a transformed variable).
        tol: absolute tolerance on the equations (and on the step).
        lower, upper: bracket for bisection; optional box for Newton/Chord.
        free_entropy: optional ``phi(theta, args)`` evaluated at the solution.
    """
    if method == "newton":
        solver = optx.Newton(rtol=tol, atol=tol)
    elif method == "chord":
        solver = optx.Chord(rtol=tol, atol=tol)
    elif method == "bisection":
        if lower is None or upper is None:
            raise ValueError("method='bisection' needs both lower= and upper=")
        solver = optx.Bisection(rtol=0.0, atol=tol, flip=False, expand_if_necessary=False)
        # Orient the function so that it is negative at `lower` (no runtime error when the
        # bracket holds no sign change: the solve then ends at an end point and is flagged by
        # its residual instead).
        raw = equations
        lo = jnp.asarray(lower, dtype=jnp.result_type(y0, float))

        def equations(y, a):
            return -jnp.sign(raw(lo, a)) * raw(y, a)
    else:
        raise ValueError(f"method must be 'newton', 'chord' or 'bisection', got {method!r}")
    options = {}
    if lower is not None:
        options["lower"] = lower
    if upper is not None:
        options["upper"] = upper
    if method == "bisection":
        y0 = jnp.asarray(0.5 * (lower + upper), dtype=jnp.result_type(y0, float))
    sol = optx.root_find(equations, solver, y0, args, options=options, max_steps=max_steps, throw=False)
    return _finish(sol.value, sol.result, sol.stats["num_steps"], equations, args, tol, free_entropy)


def stationary(phi: Callable[[PyTree, Any], jax.Array], y0: PyTree, args: Any = None, **kwargs) -> SaddleSolution:
    r"""Find a stationary point :math:`\nabla_\theta\phi(\theta) = 0` of a free entropy.

    The equations are ``jax.grad(phi)`` -- saddle points of replica functionals are neither
    maxima nor minima, so no optimiser is used (theory notes, pitfall 7). Keyword arguments are
    those of :func:`root` (``method``, ``tol``, ``max_steps``, ``lower``, ``upper``);
    ``free_entropy`` of the result is :math:`\phi(\theta^*)`.
    """
    return root(jax.grad(phi), y0, args, free_entropy=phi, **kwargs)


def continuation(
    solve_one: Callable[[PyTree, Any], SaddleSolution],
    y0: PyTree,
    params: Any,
) -> SaddleSolution:
    r"""Follow a branch along an ordered sweep with warm starts (``lax.scan``).

    ``solve_one(y_init, p) -> SaddleSolution`` solves at one parameter point ``p`` (a slice of
    ``params`` along its leading axis). Point :math:`i+1` starts from the solution at point
    :math:`i` if that one converged, else from the last converged solution. Returns the stacked
    solutions (leading axis = sweep).
    """

    def body(carry, p):
        sol = solve_one(carry, p)
        nxt = jax.tree_util.tree_map(lambda new, old: jnp.where(sol.converged, new, old), sol.value, carry)
        return nxt, sol

    _, sols = jax.lax.scan(body, y0, params)
    return sols


def continuation_path(start, targets, n_down: int, n_up: int):
    r"""One continuation path from a known solution at ``start`` to every point of ``targets``
    (1-D): the targets below ``start`` in decreasing order, then those above in increasing order,
    with ``n_down`` geometric points from ``start`` down to ``min(targets)`` and ``n_up`` linear
    points up to ``max(targets)`` inserted so that no warm start jumps too far.

    Returns ``(path, index, above)``: the ordered points, the index into ``targets`` of each point
    (``len(targets)`` for inserted ones) and whether it lies above ``start``. Feed ``path`` to
    :func:`continuation` (twice, from ``start``, for the two directions) and scatter back with
    ``index``. Traceable (``start`` and ``targets`` may be traced).
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


def raise_if_not_converged(sol: SaddleSolution, what: str, params: dict[str, Any], hint: str = "") -> None:
    """Eager check used by the public API: raise :class:`NonConvergenceError` listing the
    parameter points (up to 5) where ``sol.converged`` is False."""
    conv = np.asarray(sol.converged)
    if conv.all():
        return
    bad = np.flatnonzero(~conv.reshape(-1))
    res = np.asarray(sol.residual).reshape(-1)
    steps = np.asarray(sol.n_steps).reshape(-1)
    flat = {k: np.broadcast_to(np.asarray(v), conv.shape).reshape(-1) for k, v in params.items()}
    lines = []
    for i in bad[:5]:
        pars = ", ".join(f"{k}={flat[k][i]:.6g}" for k in flat)
        lines.append(f"  {pars}: residual={res[i]:.3g} after {int(steps[i])} steps")
    more = f"\n  ... and {len(bad) - 5} more" if len(bad) > 5 else ""
    msg = (
        f"{what} did not converge at {len(bad)} of {conv.size} point(s):\n"
        + "\n".join(lines)
        + more
        + "\nWhat to try: "
        + (hint or "move the parameters back inside the branch, use continuation, increase max_steps")
        + ". Pass on_failure='flag' to get flagged results instead of this error."
    )
    raise NonConvergenceError(
        msg,
        params={k: flat[k][bad] for k in flat},
        residual=res[bad],
        n_steps=steps[bad],
    )
