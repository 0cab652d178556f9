"""Root finding: Newton, Chord, Levenberg--Marquardt and bisection (optimistix), and a damped
Newton with a finite-difference Jacobian, backtracking and an admissible domain."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optimistix as optx

from ._implicit import implicit
from ._iterate import iterate
from ._linalg import solve as _solve
from ._result import RESULTS, SaddleSolution, all_finite, code, from_optimistix, max_abs

PyTree = Any

_METHODS = ("newton", "chord", "bisection", "levenberg_marquardt")


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
    accept: float | None = None,
    free_entropy: Callable[[PyTree, Any], jax.Array] | None = None,
    differentiable: bool = True,
) -> SaddleSolution:
    r"""Solve :math:`f(\theta) = 0` (any pytree :math:`\theta`).

    Args:
        equations: ``f(theta, args) -> pytree`` with the structure of ``theta``.
        y0: initial guess (for ``"bisection"``, a scalar used only for its dtype).
        args: parameters; may be traced and vmapped.
        method: ``"newton"`` (Jacobian by autodiff every step), ``"chord"`` (Jacobian at ``y0``
            only), ``"levenberg_marquardt"`` (damped Newton on :math:`\|f\|^2`: survives
            overshoots and near-singular Jacobians at the ends of a branch) or ``"bisection"``
            (scalar problems; needs ``lower``/``upper`` bracketing a sign change -- the robust
            choice for one order parameter in a transformed variable). All from optimistix.
        tol: the solver's tolerance (on the step and on :math:`f`).
        lower, upper: bracket for bisection; optional box for Newton/Chord.
        accept: acceptance threshold on :math:`\max|f|` at the end. ``None``: ``tol``, and the
            solver must also report success. Given: the residual alone decides (for solvers run
            to a tighter ``tol`` than the accuracy the problem needs).
        free_entropy: optional ``phi(theta, args)`` evaluated at the solution.
        differentiable: attach implicit-function derivatives (:func:`implicit`).

    Returns:
        :class:`SaddleSolution`; ``result`` is ``successful``, ``max_steps_reached``,
        ``nonfinite`` or ``tolerance_not_met`` (e.g. a bracket without a sign change).
    """
    if method == "newton":
        solver = optx.Newton(rtol=tol, atol=tol)
    elif method == "chord":
        solver = optx.Chord(rtol=tol, atol=tol)
    elif method == "levenberg_marquardt":
        solver = optx.LevenbergMarquardt(rtol=tol, atol=tol)
    elif method == "bisection":
        if lower is None or upper is None:
            raise ValueError("method='bisection' needs both lower= and upper=")
        solver = optx.Bisection(rtol=0.0, atol=tol, flip=False, expand_if_necessary=False)
    else:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    options = {}
    if lower is not None:
        options["lower"] = lower
    if upper is not None:
        options["upper"] = upper
    if method == "bisection":
        y0 = jnp.asarray(0.5 * (lower + upper), dtype=jnp.result_type(y0, float))
    a_sg = jax.lax.stop_gradient(args)
    solved = equations
    if method == "bisection":
        # Orient the function so that it is negative at `lower` (no runtime error when the
        # bracket holds no sign change: the solve then ends at an end point and is flagged by
        # its residual instead). The sign is taken once, outside the loop: the loop body then
        # holds one copy of the function, not two.
        orient = -jnp.sign(equations(jnp.asarray(lower, dtype=jnp.result_type(y0, float)), a_sg))

        def solved(y, a):
            return orient * equations(y, a)

    closed, consts = jax.closure_convert(solved, y0, a_sg)
    consts = jax.lax.stop_gradient(consts)
    fn = lambda y, a: closed(y, a, *consts)  # noqa: E731  (no derivatives flow into the solve)
    sol = optx.root_find(fn, solver, jax.lax.stop_gradient(y0), a_sg, options=options, max_steps=max_steps,
                         throw=False)
    value = sol.value
    residual = max_abs(fn(value, a_sg))
    finite = all_finite(value) & jnp.isfinite(residual)
    if accept is None:
        result = from_optimistix(sol.result, finite, residual <= tol)
    else:
        result = code(jnp.where(finite, jnp.where(residual <= accept, RESULTS.successful,
                                                  jnp.where(sol.result == optx.RESULTS.max_steps_reached,
                                                            RESULTS.max_steps_reached, RESULTS.tolerance_not_met)),
                                RESULTS.nonfinite))
    if differentiable:
        value = implicit(equations, value, args)
    fe = None if free_entropy is None else free_entropy(value, args)
    return SaddleSolution(value=value, result=result, residual=residual, n_steps=sol.stats["num_steps"],
                          free_entropy=fe)


def stationary(phi: Callable[[PyTree, Any], jax.Array], y0: PyTree, args: Any = None, **kwargs) -> SaddleSolution:
    r"""Find a stationary point :math:`\nabla_\theta\phi(\theta) = 0` of a free entropy.

    The equations are ``jax.grad(phi)`` -- saddle points of replica functionals are neither
    maxima nor minima, so no optimiser is used. Keyword arguments are those of :func:`root`
    (``method``, ``tol``, ``max_steps``, ``lower``, ``upper``, ``accept``); ``free_entropy``
    of the result is :math:`\phi(\theta^*)`.
    """
    return root(jax.grad(phi), y0, args, free_entropy=phi, **kwargs)


def newton(
    equations: Callable[[jax.Array, Any], Any],
    y0: jax.Array,
    args: Any = None,
    *,
    tol: float = 1e-12,
    accept: float = 1e-9,
    max_steps: int = 30,
    max_halvings: int = 12,
    fd_step: float = 1e-7,
    jacobian: str = "fd",
    has_aux: bool = False,
    differentiable: bool = True,
) -> SaddleSolution:
    r"""Damped Newton for a small system :math:`r(x) = 0`, :math:`x\in\mathbb R^k`, whose residual
    is expensive and may be undefined outside an admissible domain.

    Each step takes the Jacobian by forward differences (``jacobian="fd"``: ``k + 1`` residual
    evaluations in one vmapped batch, no derivatives traced -- for residuals that are themselves
    made of autodiff gradients) or by forward-mode autodiff (``"autodiff"``), then halves the
    Newton step (up to ``max_halvings`` times) until the residual is finite and its max-norm
    decreases. The residual and the Jacobian are evaluated together at each trial point, so an
    accepted step costs one evaluation of both (a rejected one too). A residual that is NaN marks
    a point outside the admissible domain: such trial points are rejected. The iteration stops
    when the residual is below ``tol`` or no step decreases it (then the point is reported as it
    is).

    Args:
        equations: ``r(x, args) -> residual`` (same shape as ``x``), or ``(residual, aux)`` with
            ``has_aux``; NaN outside the admissible domain.
        y0: initial point (1-D array).
        tol: stop when :math:`\max|r|\le` ``tol``.
        accept: the point is converged when :math:`\max|r|\le` ``accept`` at the end.
        max_steps: cap on accepted steps.
        fd_step: relative step of the forward differences, :math:`h_i=\epsilon\max(1,|x_i|)`.

    Derivatives (``differentiable=True``): implicit, with the same kind of Jacobian (central
    differences for ``"fd"``). ``aux`` carries none.

    Returns:
        :class:`SaddleSolution` (``aux`` at the final point in ``solution.aux``); ``result`` is
        ``inadmissible`` when the final residual is NaN, ``nonfinite`` when it is infinite,
        ``max_steps_reached`` or ``tolerance_not_met`` (stuck) when above ``accept``.
    """
    if jacobian not in ("fd", "autodiff"):
        raise ValueError(f"jacobian must be 'fd' or 'autodiff', got {jacobian!r}")
    a_sg = jax.lax.stop_gradient(args)

    def fn(x):
        out = equations(x, a_sg)
        return out if has_aux else (out, None)

    x0 = jax.lax.stop_gradient(y0)
    n = x0.shape[0]
    eye = jnp.eye(n, dtype=x0.dtype)
    norm = lambda r: jnp.where(jnp.all(jnp.isfinite(r)), jnp.max(jnp.abs(r)), jnp.inf)  # noqa: E731

    def value_and_jacobian(x):
        if jacobian == "fd":
            h = fd_step * jnp.maximum(1.0, jnp.abs(x))
            R, A = jax.vmap(fn)(jnp.concatenate([x[None, :], x[None, :] + h[:, None] * eye]))
            r = R[0]
            return r, jax.tree_util.tree_map(lambda v: v[0], A), ((R[1:] - r[None, :]) / h[:, None]).T

        def with_value(xx):
            r, aux = fn(xx)
            return r, (r, aux)

        jac, (r, aux) = jax.jacfwd(with_value, has_aux=True)(x)
        return r, aux, jac

    # One evaluation per pass, at the trial point x + lam dx: the residual *and* the Jacobian there,
    # so that an accepted trial point needs no second evaluation for its own Newton step. A trial
    # is accepted when its residual is finite and its max-norm decreases; otherwise lam is halved
    # (at most max_halvings times, then the iteration is stuck and stops). The first pass evaluates
    # y0 itself and always accepts it.
    r_shape, aux_shape, jac_shape = jax.eval_shape(value_and_jacobian, x0)
    zeros = lambda s: jnp.zeros(s.shape, s.dtype)  # noqa: E731

    def step(st):
        x, r, aux, jac, dx, lam, k, halvings, first, _ = st
        xc = x + lam * dx
        rc, auxc, jc = value_and_jacobian(xc)
        nc = norm(rc)
        take = first | (nc < norm(r))
        sel = lambda a, b: jax.tree_util.tree_map(lambda u, v: jnp.where(take, u, v), a, b)  # noqa: E731
        x, r, aux, jac = sel((xc, rc, auxc, jc), (x, r, aux, jac))
        dx = jnp.where(take, -_solve(jc, rc), dx)
        k = jnp.where(take & ~first, k + 1, k)
        halvings = jnp.where(take, 0, halvings + 1)
        lam = jnp.where(take, jnp.ones_like(lam), 0.5 * lam)
        nr = norm(r)
        done = (nr <= tol) | ~jnp.isfinite(nr) | (k >= max_steps) | (halvings > max_halvings)
        return x, r, aux, jac, dx, lam, k, halvings, jnp.asarray(False), done

    init = (x0, jnp.full(r_shape.shape, jnp.inf, r_shape.dtype), jax.tree_util.tree_map(zeros, aux_shape),
            zeros(jac_shape), jnp.zeros_like(x0), jnp.ones((), x0.dtype), jnp.asarray(0), jnp.asarray(0),
            jnp.asarray(True), jnp.asarray(False))
    (x, r, aux, _, _, _, k, _, _, _), _, _ = iterate(step, init, max_steps=max_steps * (max_halvings + 1) + 1,
                                                     done=lambda st: st[9])
    res = norm(r)
    result = jnp.where(res <= accept, RESULTS.successful,
                       jnp.where(k >= max_steps, RESULTS.max_steps_reached, RESULTS.tolerance_not_met))
    result = jnp.where(jnp.isinf(res), RESULTS.nonfinite, result)
    result = code(jnp.where(jnp.any(jnp.isnan(r)), RESULTS.inadmissible, result))
    if differentiable:
        residual_only = (lambda xx, a: equations(xx, a)[0]) if has_aux else equations
        x = implicit(residual_only, x, args, jacobian=jacobian)
    return SaddleSolution(value=x, result=result, residual=res, n_steps=k, aux=aux)
