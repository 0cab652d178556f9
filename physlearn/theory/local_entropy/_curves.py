r"""Solution paths of the local-entropy functionals: one jitted grid function per entry point.

Each grid function solves a whole parameter grid in one compiled call (a ``lax.map`` over the
parameter points, :func:`physlearn.theory._inputs.point_map`) and returns the result type of its entry
point, unflagged (the public layer applies the failure contract). All iterative work goes through
:mod:`physlearn.solvers`; derivatives come from its implicit differentiation.
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ... import solvers
from ..._config import theory_jit
from .._inputs import curve_map, grid_map, point_map
from .. import franz_parisi as fp
from . import _finite_y as fy
from . import _finite_y_1rsb as f1
from . import _finite_y_solution as fs
from . import _free_1rsb as r1
from . import _ref_1rsb as r2
from . import _solution as ls
from ._free import DEFAULT_NODES, cold_start, free_entropy, solve_point
from ._results import (FiniteY1RSB, FiniteYRS, FiniteYSolutionRS, FixedCoupling1RSB, FixedCouplingRef1RSB,
                       FixedCouplingRS, LocalEntropy1RSB, LocalEntropyRef1RSB, LocalEntropyRS, LocalEntropySolution1RSB,
                       LocalEntropySolutionRS)

__all__ = ["DEFAULT_NODES"]

_D_START = 0.1  # cold start of every curve (the reduced damped iteration is robust there)
_N_GRID_DOWN = 16
_N_GRID_UP = 6
_REFINE = 3  # halvings of the step where a point of the free-reference curve fails (branch ends)
_OK = solvers.RESULTS.successful


def _finite_check(*values):
    return solvers.from_checks(solvers.all_finite(values), True)


# --------------------------------------------------------------------------------------------
# y = inf, free reference, RS
# --------------------------------------------------------------------------------------------
def curve_free(alpha, kappa, d_user, n):
    r"""The :math:`y\to\infty` free-reference curve at the distances ``d_user`` (1-D): a cold start at
    :math:`d=0.1` (:func:`~physlearn.theory.local_entropy._free.cold_start`), then damped Newton
    (:func:`~physlearn.theory.local_entropy._free.solve_point`) along :func:`physlearn.solvers.follow`
    towards small and large d, approaching a point that fails in up to ``_REFINE`` halved steps;
    each direction ends at its first failure (``RESULTS.branch_ended`` beyond it)."""
    d0 = jnp.asarray(_D_START, dtype=jnp.result_type(alpha, float))
    theta_c, cold_result = cold_start(d0, alpha, kappa, n)
    start = solve_point(theta_c, d0, alpha, kappa, n)
    start_result = solvers.combine(cold_result, start.result)
    curve = solvers.follow(lambda init, d, _: solve_point(init, d, alpha, kappa, n), start.value, d0, d_user,
                           n_down=_N_GRID_DOWN, n_up=_N_GRID_UP, stop_at_failure=True, start_ok=start_result == _OK,
                           max_refinements=_REFINE)
    val = curve.value
    ent = jax.vmap(lambda th, d: free_entropy(th, d, alpha, kappa, n))(val, d_user)
    result = solvers.combine(start_result, curve.result, jax.vmap(_finite_check)(ent))
    return LocalEntropyRS(alpha, kappa, d_user, ent, val[:, 0], val[:, 1], val[:, 2], val[:, 3], val[:, 4],
                          result == _OK, curve.residual, curve.n_steps, result)


@theory_jit(static_argnames=("n",))
def free_grid(alpha, kappa, d, n):
    return curve_map(lambda a, k, dd: curve_free(a, k, dd, n), d, alpha, kappa)


# --------------------------------------------------------------------------------------------
# y = inf, solution reference, RS
# --------------------------------------------------------------------------------------------
def _solution_curve_one(alpha, kappa, kappa_ref, d_user, n, n2):
    free = curve_free(alpha, kappa, d_user, n)

    def point(i):
        tf = jnp.stack([free.q1[i], free.dq[i], free.q1_hat[i], free.dq_hat[i], free.S_hat[i]])
        tf = jnp.where(free.converged[i], tf, jnp.array([0.5, 1.0, 0.5, 0.5, 0.5], dtype=tf.dtype))
        S = 1.0 - 2.0 * d_user[i]
        # guess: the reference field r = z0 + dS A/sqrt(1-q1) follows the replicas' mean field
        # for dS = S (1 - q1 + dq) / q1 (the large-|field| asymptote of the inactive constraint)
        dS0 = S * (1.0 - tf[0] + tf[1]) / tf[0]
        guess = jnp.stack([2.0 * dS0 * dS0 / tf[1], dS0])
        th, result, res, k, mass, degenerate = ls.solve_point(tf, guess, d_user[i], alpha, kappa, kappa_ref, n2)
        # envelope theorem: the value's derivatives in (alpha, d, kappa, kappa_ref) need no d(theta);
        # it needs stationarity, which the degenerate solve does not impose in R
        ent = ls.free_entropy(jax.lax.stop_gradient(th), d_user[i], alpha, kappa, kappa_ref, n2)
        ent = solvers.nondifferentiable(ent, degenerate, (d_user[i], alpha, kappa, kappa_ref))
        result = solvers.combine(free.result[i], result, _finite_check(ent))
        return th, result, res, k, mass, ent

    th, result, res, k, mass, ent = point_map(point, jnp.arange(d_user.shape[0]))
    return LocalEntropySolutionRS(
        alpha, kappa, kappa_ref, d_user, ent, th[:, 0], th[:, 3], th[:, 6], th[:, 7], th[:, 8],
        th[:, 1], th[:, 2], th[:, 4], th[:, 5], mass, free.entropy, result == _OK, res, k, result,
    )


@theory_jit(static_argnames=("n", "n2"))
def solution_grid(alpha, kappa, kappa_ref, d, n, n2):
    return curve_map(lambda a, k, kr, dd: _solution_curve_one(a, k, kr, dd, n, n2), d, alpha, kappa, kappa_ref)


# --------------------------------------------------------------------------------------------
# y = inf, free reference, 1RSB
# --------------------------------------------------------------------------------------------
_COLLAPSE = 1e-6  # (q1 - q0) / (1 - q0) below this: collapsed onto RS (the search stops at 1e-7)
# the same with the 2D integrals of the solution reference: their quadrature error, amplified by
# 1/(1 - m) = 1e3 in the m -> 1 maps, leaves the collapsed fixed point at (q1 - q0)/(1 - q0) ~ 1e-6
# (alpha = 0.7, d = 0.06, n2 = 48); a non-trivial solution from the frozen start sits at O(1)
_COLLAPSE_2D = 1e-4


def _one_rsb_point(rs_theta, rs_result, d, alpha, kappa, m_fixed, n1, n_in, fixed_m):
    r"""The 1RSB analysis at one RS saddle ``(q, dq, q_hat, dq_hat, S_hat)``: the :math:`m\to1` one
    (``fixed_m=False``) or the full saddle point at a fixed ``m_fixed`` in (0, 1). At a collapse every
    value is the RS one, with the RS derivatives; the values of a non-collapsed solution (``q1,
    q1_hat``, the complexity, and for fixed m its inter-cluster level) have NaN derivatives."""
    bad = (rs_result != _OK) | ~jnp.all(jnp.isfinite(rs_theta))
    th = jnp.where(bad, jnp.asarray([0.5, 0.5, 0.5, 0.5, 0.0], rs_theta.dtype), rs_theta)  # keep NaN out
    q0 = th[0]
    wrt = (th, d, alpha, kappa)
    sg = jax.lax.stop_gradient
    if not fixed_m:
        m = jnp.asarray(r1.M_ONE, th.dtype)
        lam, q1s, p1s, result, res, steps = r1.analyse_collapse(th, alpha, kappa, n1, n_in)
        collapsed = (q1s - sg(q0)) <= _COLLAPSE * (1.0 - sg(q0))
        q1 = solvers.nondifferentiable(jnp.where(collapsed, q0, q1s), ~collapsed, wrt)
        p1 = solvers.nondifferentiable(jnp.where(collapsed, th[2], p1s), ~collapsed, wrt)
        theta8 = jnp.stack([q0, q1, th[1], th[2], p1, th[3], th[4], m])
    else:
        m = jnp.asarray(m_fixed, th.dtype)
        wrt = (*wrt, m)
        full, result, res, steps = r1.solve_fixed_m(th, d, alpha, kappa, m, n1, n_in, collapse=_COLLAPSE)
        collapsed = (full[1] - full[0]) <= _COLLAPSE * (1.0 - full[0])
        # collapsed: the functional is the RS one for any m, so the saddle is the RS one exactly
        theta8 = jnp.where(collapsed, jnp.stack([q0, q0, th[1], th[2], th[2], th[3], th[4], m]), full)
        theta8 = solvers.nondifferentiable(theta8, ~collapsed, wrt)
        lam = r1.gap_slope(th, alpha, kappa, m, n1, n_in)
    # envelope theorem: theta8 is stationary, so the value's derivatives need no d(theta8)
    ent, g = jax.value_and_grad(r1.free_entropy)(sg(theta8), d, alpha, kappa, n1, n_in)
    sig = solvers.nondifferentiable(jnp.where(collapsed, 0.0, -m * m * sg(g[7])), ~collapsed, wrt)
    if not fixed_m:  # at m -> 1 a negative complexity means condensation: the saddle needs m < 1
        cond_code = jnp.where(collapsed | (sig >= -1e-10), _OK, solvers.RESULTS.inadmissible)
    else:
        cond_code = _OK
    result = solvers.combine(rs_result, result, cond_code, _finite_check(ent))
    nanify = lambda v: jnp.where(bad, jnp.nan, v)  # noqa: E731
    return (nanify(ent), m, *(nanify(theta8[i]) for i in range(7)), nanify(lam), nanify(sig), collapsed & ~bad,
            result == _OK, res, steps, result)


@theory_jit(static_argnames=("n1", "n_in", "fixed_m"))
def _le1_points(theta, result, d, alpha, kappa, m, n1, n_in, fixed_m):
    return jax.lax.map(lambda x: _one_rsb_point(*x, n1, n_in, fixed_m), (theta, result, d, alpha, kappa, m))


def _flat_to(v, shape):
    """Broadcast a per-curve (``P``) or per-point (``P + d``) array to ``shape`` and flatten it."""
    v = v[..., None] if v.ndim < len(shape) else v
    return jnp.broadcast_to(v, shape).reshape(-1)


def free_1rsb_grid(alpha, kappa, d, n, n1, n_in, m=None):
    """``m=None``: the m -> 1 analysis; else the saddle point at that Parisi parameter (may be traced)."""
    rs = free_grid(alpha, kappa, d, n)
    shape = rs.entropy.shape
    flat = partial(_flat_to, shape=shape)
    theta = jnp.stack([rs.q1, rs.dq, rs.q1_hat, rs.dq_hat, rs.S_hat], -1).reshape(-1, 5)
    mm = jnp.broadcast_to(jnp.asarray(r1.M_ONE if m is None else m, theta.dtype), shape).reshape(-1)
    out = _le1_points(theta, rs.result.reshape(-1), flat(rs.d), flat(rs.alpha), flat(rs.kappa), mm, n1, n_in,
                      m is not None)
    return LocalEntropy1RSB(rs.alpha, rs.kappa, rs.d, *[v.reshape(shape) for v in out])


# --------------------------------------------------------------------------------------------
# y = inf, solution reference, 1RSB (m -> 1)
# --------------------------------------------------------------------------------------------
def _solution_1rsb_point(theta9, rs_result, d, alpha, kappa, kappa_ref, n2, n_in):
    r"""The :math:`m\to1` 1RSB analysis at one constrained RS saddle ``theta9`` (order of
    :func:`physlearn.theory.local_entropy._solution.solve_point`)."""
    bad = (rs_result != _OK) | ~jnp.all(jnp.isfinite(theta9))
    th = jnp.where(bad, jnp.asarray([0.5, 1.0, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.0], theta9.dtype), theta9)
    wrt = (th, d, alpha, kappa, kappa_ref)
    sg = jax.lax.stop_gradient
    q0 = th[0]
    m = jnp.asarray(r1.M_ONE, th.dtype)

    def intra(q):
        return ls.intra_map_1rsb(q, th, d, alpha, kappa, kappa_ref, m, n2, n_in)

    lam, q1s, p1s, result, res, steps = r1.analyse_collapse(th, alpha, kappa, intra=intra)
    # the slope of these constrained 2D maps carries rounding noise of ~1e-9 (the 1 / (1 - m) of the
    # m -> 1 limit), which the central differences of its derivatives amplify to ~1e-3: none is reported
    lam = solvers.nondifferentiable(lam, True, wrt)
    collapsed = (q1s - sg(q0)) <= _COLLAPSE_2D * (1.0 - sg(q0))
    q1 = solvers.nondifferentiable(jnp.where(collapsed, q0, q1s), ~collapsed, wrt)
    p1 = solvers.nondifferentiable(jnp.where(collapsed, th[6], p1s), ~collapsed, wrt)
    t12 = ls.theta_1rsb(th, q1, p1, m)
    ent, g = jax.value_and_grad(ls.free_entropy_1rsb)(sg(t12), d, alpha, kappa, kappa_ref, n2, n_in)
    sig = solvers.nondifferentiable(jnp.where(collapsed, 0.0, -m * m * sg(g[11])), ~collapsed, wrt)
    cond_code = jnp.where(collapsed | (sig >= -1e-10), _OK, solvers.RESULTS.inadmissible)
    result = solvers.combine(rs_result, result, cond_code, _finite_check(ent))
    nanify = lambda v: jnp.where(bad, jnp.nan, v)  # noqa: E731
    return (nanify(ent), m, nanify(q0), nanify(q1), nanify(th[3]), nanify(th[6]), nanify(p1), nanify(th[7]),
            nanify(th[8]), nanify(lam), nanify(sig), collapsed & ~bad, result == _OK, res, steps, result,
            nanify(th[1]), nanify(th[2]), nanify(th[4]), nanify(th[5]))


@theory_jit(static_argnames=("n2", "n_in"))
def _sol1_points(theta9, result, d, alpha, kappa, kappa_ref, n2, n_in):
    return jax.lax.map(lambda x: _solution_1rsb_point(*x, n2, n_in), (theta9, result, d, alpha, kappa, kappa_ref))


def solution_1rsb_grid(alpha, kappa, kappa_ref, d, n, n2, n_in):
    rs = solution_grid(alpha, kappa, kappa_ref, d, n, n2)
    shape = rs.entropy.shape
    flat = partial(_flat_to, shape=shape)
    theta9 = jnp.stack([rs.q1, rs.dQ, rs.dS, rs.dq, rs.R, rs.a, rs.q1_hat, rs.dq_hat, rs.S_hat], -1).reshape(-1, 9)
    out = _sol1_points(theta9, rs.result.reshape(-1), flat(rs.d), flat(rs.alpha), flat(rs.kappa),
                       flat(rs.kappa_ref), n2, n_in)
    out = [v.reshape(shape) for v in out]
    return LocalEntropySolution1RSB(rs.alpha, rs.kappa, rs.d, *out[:16], rs.kappa_ref, *out[16:],
                                    rs.active_mass, rs.entropy)


# --------------------------------------------------------------------------------------------
# finite y, free reference, RS: fixed distance
# --------------------------------------------------------------------------------------------
@theory_jit(static_argnames=("n", "n_fy", "n_in"))
def finite_y_grid(alpha, kappa, y, d, n, n_fy, n_in):
    r"""Guess-free path: the :math:`y=\infty` curve gives :math:`\gamma_0=\hat S(d)`; the fixed-coupling
    saddle point at :math:`(\gamma_0,y)` (homotopy in :math:`\alpha`) starts the fixed-d solve."""
    shape = jnp.broadcast_shapes(alpha.shape, kappa.shape)
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in (alpha, kappa)]
    dflat = d.reshape(-1)

    def one(a, k):
        inf = curve_free(a, k, dflat, n)

        def point(dd, g0, ok0):
            g0 = jax.lax.stop_gradient(jnp.where(ok0 & (g0 > 1e-3), g0, 0.5))
            th0, _, _, k1 = fy.solve_coupling(g0, y, a, k, n_fy, n_in)
            th, g, result, res, k2 = fy.solve_distance(dd, y, a, k, th0, g0, n_fy, n_in)
            tot, S, phi, s_int, s_ext = fy.derived(th, g, y, a, k, n_fy, n_in)
            on_distance = jnp.abs(jax.lax.stop_gradient(S) - (1.0 - 2.0 * jax.lax.stop_gradient(dd))) < 1e-7
            result = solvers.combine(result, _finite_check(s_int),
                                     jnp.where(on_distance, _OK, solvers.RESULTS.tolerance_not_met))
            return FiniteYRS(a, k, y, dd, s_int, g, tot / y - g * S, s_ext, s_ext >= 0.0, th[0], th[1], th[2],
                             th[3], result == _OK, res, k1 + k2, result)

        return point_map(point, dflat, inf.S_hat, inf.converged)

    out = point_map(one, *flat)

    def reshape(x):
        return x.reshape(shape + d.shape) if x.ndim == 2 else x.reshape(shape) if x.ndim == 1 else x

    return jax.tree_util.tree_map(reshape, out)


# --------------------------------------------------------------------------------------------
# finite y, free reference, 1RSB: fixed distance
# --------------------------------------------------------------------------------------------
@theory_jit(static_argnames=("n", "n_mid", "n_in"))
def _fy1_points(theta_rs, gamma, alpha, kappa, y, m, n, n_mid, n_in):
    def one(x):
        th, g, a, k = x
        ok_in = jnp.all(jnp.isfinite(th)) & jnp.isfinite(g)
        th = jnp.where(ok_in, th, jnp.array([0.3, 0.5, 0.3, 0.5], th.dtype))
        out = f1.search(th, jnp.where(ok_in, g, 0.5), y, m, a, k, n, n_mid, n_in)
        return out[:5]

    return jax.lax.map(one, (theta_rs, gamma, alpha, kappa))


def finite_y_1rsb(rs, y, m, n=32, n_mid=16, n_in=16):
    """The 1RSB search at every point of a :class:`FiniteYRS` result (its RS coupling)."""
    shape = rs.entropy.shape
    flat = lambda v: jnp.broadcast_to(v, shape).reshape(-1)  # noqa: E731
    theta = jnp.stack([flat(rs.q0), flat(rs.q1), flat(rs.q0_hat), flat(rs.q1_hat)], -1)
    th, col, result, res, ns = _fy1_points(theta, flat(rs.gamma), flat(rs.alpha), flat(rs.kappa), y, m, n, n_mid,
                                           n_in)
    th = th.reshape(shape + (6,))
    col, result, res, ns = (v.reshape(shape) for v in (col, result, res, ns))
    # a non-collapsed point is not solved at fixed d: flagged
    result = solvers.combine(rs.result, result, jnp.where(col, _OK, solvers.RESULTS.tolerance_not_met))
    mm = jnp.full(shape, m, dtype=th.dtype)
    return FiniteY1RSB(rs.alpha, rs.kappa, rs.y, rs.d, mm, rs.entropy, rs.gamma, rs.total_local_entropy,
                       rs.external_entropy, rs.external_ok, *(th[..., i] for i in range(6)), col, rs.converged,
                       result == _OK, res, ns, result)


# --------------------------------------------------------------------------------------------
# finite y, solution reference, RS: fixed distance
# --------------------------------------------------------------------------------------------
def solution_fy_nodes(n_fy):
    """Quadrature of the finite-y solution functional from ``n_fy`` (outer nodes per half line)."""
    n_fy = int(n_fy)
    return (2 * (n_fy // 3), n_fy, 2 * (n_fy // 3), max(n_fy // 3, 4))


@theory_jit(static_argnames=("ys", "nodes"))
def _finite_y_solution_grid(alpha, kappa, kappa_ref, d, theta_fp, fp_result, ys, nodes):
    r"""Every (alpha, d) point independently: the y path of
    :func:`physlearn.theory.local_entropy._finite_y_solution.solve_path` from its Franz--Parisi start."""
    y = ys[-1]

    def point(a, k, kr, dd, th0, r0):
        th, result, res, steps = fs.solve_path(th0, dd, ys, a, k, kr, nodes)
        phi, s_int, s_ext, g = fs.derived(th, dd, y, a, k, kr, nodes)
        result = solvers.combine(r0, result, _finite_check(s_int))
        yy = jnp.asarray(y, th.dtype)
        return FiniteYSolutionRS(a, k, kr, yy, dd, s_int, g, phi / yy, s_ext, s_ext >= 0.0, th[0], th[1], th[2],
                                 th[3], th[4], th[5] * jnp.sqrt(th[4]), th[6], th[7], th[8], result == _OK, res,
                                 steps, result)

    shape = theta_fp.shape[:-1]  # P + (number of distances,)
    flat = [jnp.broadcast_to(v, shape).reshape(-1) for v in (alpha[..., None], kappa[..., None],
                                                              kappa_ref[..., None], d.reshape(-1))]
    out = point_map(point, *flat, theta_fp.reshape(-1, 9), fp_result.reshape(-1))
    out = jax.tree_util.tree_map(lambda x: x.reshape(alpha.shape + d.shape), out)
    return eqx.tree_at(lambda r: (r.alpha, r.kappa, r.kappa_ref, r.y), out,
                       (alpha, kappa, kappa_ref, jnp.asarray(y, theta_fp.dtype)))


def finite_y_solution(a, k, kr, dd, y, n_fy):
    """The finite-y solution-reference curve: the Franz--Parisi saddle (its y -> 0 limit, public
    :func:`physlearn.theory.franz_parisi.binary`) starts a path in y at every point."""
    f = jnp.result_type(float)
    shape = jnp.broadcast_shapes(np.shape(a), np.shape(k), np.shape(kr))
    a, k, kr = (jnp.broadcast_to(jnp.asarray(v, f), shape) for v in (a, k, kr))
    d1 = jnp.asarray(dd, f).reshape(-1)
    start = fp.binary.__wrapped_traced__(a, d1, k, kr, on_failure="flag")  # the y -> 0 saddle point

    def grid(v):
        v = jnp.asarray(v)
        return jnp.broadcast_to(v if v.ndim == len(shape) + 1 else v[..., None], shape + d1.shape)

    theta_fp = jnp.moveaxis(fs.theta_from_franz_parisi(*(grid(getattr(start, n)) for n in (
        "p", "t", "q", "q_ref", "p_hat", "t_hat", "q_hat", "q_hat_ref"))), 0, -1)
    return _finite_y_solution_grid(a, k, kr, jnp.asarray(dd, f), theta_fp, grid(start.result),
                                   fs.y_schedule(y), solution_fy_nodes(n_fy))


# --------------------------------------------------------------------------------------------
# finite y, free reference: fixed coupling
# --------------------------------------------------------------------------------------------
@theory_jit(static_argnames=("n", "n_in"))
def fixed_coupling_grid(alpha, gamma, y, kappa, n, n_in):
    def one(a, g, yy, k):
        th, result, res, ns = fy.solve_coupling(g, yy, a, k, n, n_in)
        tot, S, phi, s_int, s_ext = fy.derived(th, g, yy, a, k, n, n_in)
        result = solvers.combine(result, _finite_check(tot))
        return FixedCouplingRS(a, g, yy, k, tot / yy, S, 0.5 * (1.0 - S), th[0], th[1], th[2], th[3], phi, s_int,
                               tot / yy - g * S, s_ext, s_ext >= 0.0, result == _OK, res, ns, result)

    return grid_map(one, alpha, gamma, y, kappa)


@theory_jit(static_argnames=("n", "n_mid", "n_in"))
def fixed_coupling_1rsb_grid(alpha, gamma, y, kappa, m, n, n_mid, n_in):
    def one(a, g, yy, k, mm):
        th_rs, rs_result, _, _ = fy.solve_coupling(g, yy, a, k, n, n_in)
        th, col, result, res, ns, slope = f1.search(th_rs, g, yy, mm, a, k, n, n_mid, n_in)
        tot, S, phi, s_int, s_ext, dm = f1.derived(th, g, yy, mm, a, k, n, n_mid, n_in)
        result = solvers.combine(rs_result, result, _finite_check(tot))
        return FixedCoupling1RSB(a, g, yy, k, mm, tot / yy, S, 0.5 * (1.0 - S), *(th[i] for i in range(6)), phi, s_int,
                                 tot / yy - g * S, s_ext, s_ext >= 0.0, dm, col, slope, rs_result == _OK,
                                 result == _OK, res, ns, result)

    return grid_map(one, alpha, gamma, y, kappa, m)


# --------------------------------------------------------------------------------------------
# 1RSB among the references: fixed coupling (finite y) and fixed d (y = inf)
# --------------------------------------------------------------------------------------------
@theory_jit(static_argnames=("n", "n_mid", "n_in", "n_rs_in", "mode"))
def fixed_coupling_ref_1rsb_grid(alpha, gamma, y, kappa, m_r, n, n_mid, n_in, n_rs_in, mode):
    """``mode``: ``"fixed"`` (the saddle at the given m_r) or ``"physical"`` (m_r* by
    :func:`~physlearn.theory.local_entropy._ref_1rsb.physical_fy`)."""
    def one(x):
        a, g, yy, k, mr = x
        th_rs, rs_result, _, _ = fy.solve_coupling(g, yy, a, k, n, n_rs_in)
        if mode == "fixed":
            th, col, result, res, ns = r2.search_fy(th_rs, g, yy, mr, a, k, n, n_mid, n_in)
        else:
            th, mr, col, result, res, ns = r2.physical_fy(th_rs, g, yy, a, k, n, n_mid, n_in)
            # m_r = 1 (no condensation): the functional is RS for any (qm, qm_hat) (exact reduction), so the
            # thermodynamics are evaluated at m_r = 1 on the RS saddle, with qm from the reconstruction
            at_rs = jnp.stack([th_rs[0], jnp.where(col, th_rs[0], th[1]), th_rs[1], th_rs[2], jnp.where(col, th_rs[2], th[4]),
                               th_rs[3]])
            th = jnp.where(mr >= 1.0, at_rs, th)
        tot, S, phi, s_int, s_ext, cx = r2.derived_fy(th, g, yy, mr, a, k, n, n_mid, n_in)
        if mode != "fixed":
            # ... and taken from the RS functional itself: the three-level quadrature of the 1RSB form is
            # RS at m_r = 1 only up to its middle-level quadrature error (1.4e-4 in Phi at n_mid = 8, y = 5),
            # which must not show up as a difference from fixed_coupling_rs where the theory says there is none
            rs_vals = fy.derived(th_rs, g, yy, a, k, n, n_rs_in)
            tot, S, phi, s_int, s_ext = (jnp.where(mr >= 1.0, v_rs, v)
                                         for v_rs, v in zip(rs_vals, (tot, S, phi, s_int, s_ext)))
        result = solvers.combine(rs_result, result, _finite_check(tot))
        return FixedCouplingRef1RSB(a, g, yy, k, mr, tot / yy, S, 0.5 * (1.0 - S), *(th[i] for i in range(6)), phi,
                                    s_int, tot / yy - g * S, s_ext, s_ext >= 0.0, cx, col, mr < 1.0,
                                    rs_result == _OK, result == _OK, res, ns, result)

    arrays = [jnp.asarray(v, dtype=jnp.result_type(float)) for v in (alpha, gamma, y, kappa, m_r)]
    shape = jnp.broadcast_shapes(*[v.shape for v in arrays])
    flat = tuple(jnp.broadcast_to(v, shape).reshape(-1) for v in arrays)
    out = jax.lax.map(one, flat)  # sequential: the condensation branch (a bisection) runs only where needed
    return jax.tree_util.tree_map(lambda v: v.reshape(shape + v.shape[1:]), out)


def _ref_1rsb_curve(alpha, kappa, d, mu, n, n1, n_in, fixed):
    rs = curve_free(alpha, kappa, d, n)
    theta_rs = jnp.stack([rs.q1, rs.dq, rs.q1_hat, rs.dq_hat, rs.S_hat], -1)

    def one(carry, x):
        mu_start, th_prev, have_prev = carry
        th_rs, dd, rs_res = x
        # the start: a gap opened on the RS saddle; where the RS curve has ended (beyond alpha_U^RS it ends
        # at small d), the 1RSB saddle of the previous distance (continuation in d)
        from_rs = (rs_res == _OK) | ~have_prev
        start = jnp.where(from_rs, r2.start_inf(th_rs, mu if fixed else mu_start), th_prev)
        if fixed:
            th, col, result, res, ns = r2.search_inf(start, mu, dd, alpha, kappa, n1, n_in)
        else:
            th, col, result, res, ns = r2.optimal_mu_inf(start, dd, alpha, kappa, n1, n_in, mu_start)
        s = r2.free_entropy(th, dd, alpha, kappa, n1, n_in)
        cx = r2.complexity_inf(th, dd, alpha, kappa, n1, n_in)
        result = solvers.combine(jnp.where(from_rs, rs_res, _OK), result, _finite_check(s))
        ok = result == _OK
        # warm starts: the next distance's mu* search starts from this one's (mu* moves slowly with d)
        carry = jax.lax.stop_gradient((jnp.where(ok, th[7], mu_start), jnp.where(ok, th, th_prev), have_prev | ok))
        return carry, (th, s, cx, col, result, res, ns)

    carry0 = (jnp.asarray(mu, theta_rs.dtype), jnp.zeros((8,), theta_rs.dtype), jnp.asarray(False))
    xs = (theta_rs, d, rs.result)
    at = lambda k: jax.tree_util.tree_map(lambda v: v[k], xs)  # noqa: E731

    def step(st):  # one distance after the other (the warm starts run along d)
        k, carry, outs = st
        carry, out = one(carry, at(k))
        return k + 1, carry, jax.tree_util.tree_map(lambda buf, v: buf.at[k].set(v), outs, out)

    shapes = jax.eval_shape(lambda: one(carry0, at(0))[1])
    outs0 = jax.tree_util.tree_map(lambda v: jnp.zeros(d.shape[:1] + v.shape, v.dtype), shapes)
    (_, _, (th, s, cx, col, result, res, ns)), _, _ = solvers.iterate(step, (jnp.asarray(0), carry0, outs0),
                                                                       max_steps=d.shape[0])
    s_rs = jnp.where(rs.result == _OK, rs.entropy, jnp.nan)  # no RS value where the RS curve has ended
    return LocalEntropyRef1RSB(alpha, kappa, d, th[:, 7], s, th[:, 6], *(th[:, i] for i in range(6)), cx, s_rs,
                               col, result == _OK, res, ns, result)


@theory_jit(static_argnames=("n", "n1", "n_in", "fixed"))
def free_ref_1rsb_grid(alpha, kappa, d, mu, n, n1, n_in, fixed):
    return curve_map(lambda a, k, dd: _ref_1rsb_curve(a, k, dd, mu, n, n1, n_in, fixed), d, alpha, kappa)
