r"""Large-deviation local entropy of the binary perceptron (dense regions of solutions).

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015) (+ SM);
Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti & Zecchina, PNAS 113, E7655 (2016).

A reference :math:`\tilde W\in\{\pm1\}^N` is weighted by :math:`\mathcal N(\tilde W,d)^y`, the
number of solutions :math:`W` at normalised Hamming distance :math:`d` from it. As
:math:`y\to\infty` the measure concentrates on the references with the largest local entropy,

.. math:: S_I(d) = \lim_{y\to\infty}\frac1{Ny}\,\mathbb E\log\sum_{\tilde W}\mathcal N(\tilde W,d)^y,

the log-number per weight of solutions around the densest regions. ``reference="free"`` is the
robust-ensemble convention of PNAS 2016 (the reference need not be a solution). In that case the
:math:`y\to\infty` limit of the RS functional collapses the references (:math:`Q\to1`, with
:math:`1-Q`, :math:`S-S_0`, :math:`q_1-q_0 = \delta q/y` and :math:`\hat q_1-\hat q_0=\delta\hat q/y`)
and the inner Gaussian integrals become maximisations (theory notes §C.2). With :math:`S=1-2d`
and five order parameters :math:`(q_1,\delta q;\hat q_1,\delta\hat q,\hat S)`:

.. math::

    S_I &= -\hat S S - \tfrac12\hat q_1(1-q_1) - \tfrac12(\delta\hat q\, q_1 + \hat q_1\delta q)
          + \int Dz\, M_S\big(\sqrt{\hat q_1}|z| + \hat S\big)
          + \alpha\int Dz\, M_E\Big(\frac{\kappa-\sqrt{q_1}z}{\sqrt{1-q_1}}\Big),\\
    M_S(B) &= \max_w\big[-w^2/2 + \log2\cosh(B+\sqrt{\delta\hat q}\,w)\big]
            = -\tfrac12\delta\hat q\tanh^2h + \log2\cosh h,\quad h = B + \delta\hat q\tanh h,\\
    M_E(c) &= \max_w\big[-w^2/2 + \log H(c-\sqrt K w)\big] = -\tfrac12 K A(u)^2 + \log H(u),
            \quad u + K A(u) = c,\quad K = \frac{\delta q}{1-q_1}.

The inner problems are scalar and monotone (Newton from :math:`h=|B|+\delta\hat q`, resp.
:math:`u=c`); their solutions carry implicit-function derivatives, so that autodiff of
:math:`S_I` gives the envelope-theorem gradients and exact Hessians. The saddle point
:math:`\nabla S_I = 0` reads :math:`S=\langle m\rangle`, :math:`q_1=\langle m^2\rangle`,
:math:`\delta q=\langle m|z|\rangle/\sqrt{\hat q_1}-(1-q_1)`,
:math:`\hat q_1=\alpha\langle A^2\rangle/(1-q_1)`,
:math:`\delta\hat q = \alpha\langle K A'^2/(1+KA')\rangle/(1-q_1)` (:math:`m=\tanh h`).
Since :math:`S_I` depends on :math:`d` only through :math:`-\hat S S`, the Legendre identity
:math:`dS_I/dd = 2\hat S` holds along the solution, and :math:`S_I(d)\le H_2(d)` with equality at
:math:`\alpha=0`.
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from .. import numerics as nm
from .. import solvers
from .._config import eager_x64, is_traced
from .franz_parisi import _check_curve
from .franz_parisi import h2  # noqa: F401  (re-exported: the alpha = 0 bound)
from .gardner import _as_param, _broadcast, _check, _grid_map

__all__ = [
    "binary",
    "dense_region_threshold",
    "free_entropy",
    "h2",
    "LocalEntropyRS",
    "LocalEntropySolutionRS",
    "LocalEntropy1RSB",
    "FixedCouplingRS",
    "FixedCoupling1RSB",
    "FiniteYRS",
    "FiniteYSolutionRS",
    "FiniteY1RSB",
    "fixed_coupling",
    "ThresholdResult",
]

DEFAULT_NODES = 96  # per half line
_INNER_ITERS = 60
_TOL = 1e-10
_CONV = 1e-9  # max |grad S_I| (log variables) accepted as a saddle point
_D_START = 0.1  # cold start of every curve (the reduced damped iteration is robust there)
_N_GRID_DOWN = 16
_N_GRID_UP = 6


# --------------------------------------------------------------------------------------------
# Inner maximisations (scalar, monotone Newton; implicit-function derivatives)
# --------------------------------------------------------------------------------------------
@jax.custom_jvp
def _h_of(B, D):
    r"""Root of :math:`h - D\tanh h = B` with the sign of :math:`B` (Newton from :math:`|B|+D`,
    monotone: the left side is convex on :math:`h>0`)."""
    aB = jnp.abs(B)

    def body(_, h):
        t = jnp.tanh(h)
        return h - (h - D * t - aB) / (1.0 - D * (1.0 - t * t))

    h = jax.lax.fori_loop(0, _INNER_ITERS, body, aB + D)
    return jnp.where(B < 0, -h, h)


@_h_of.defjvp
def _h_of_jvp(primals, tangents):
    B, D = primals
    dB, dD = tangents
    h = _h_of(B, D)
    t = jnp.tanh(h)
    return h, (dB + t * dD) / (1.0 - D * (1.0 - t * t))


@jax.custom_jvp
def _u_of(c, K):
    r"""Root of :math:`u + K A(u) = c` (Newton from :math:`u=c`; convex increasing left side)."""

    def body(_, u):
        return u - (u + K * nm.GH(u) - c) / (1.0 + K * nm.GH_prime(u))

    return jax.lax.fori_loop(0, _INNER_ITERS, body, c)


@_u_of.defjvp
def _u_of_jvp(primals, tangents):
    c, K = primals
    dc, dK = tangents
    u = _u_of(c, K)
    return u, (dc - nm.GH(u) * dK) / (1.0 + K * nm.GH_prime(u))


def moreau_entropic(B, dq_hat):
    r""":math:`M_S(B) = \max_w[-w^2/2 + \log2\cosh(B+\sqrt{\delta\hat q}w)]` (differentiable)."""
    h = _h_of(B, dq_hat)
    t = jnp.tanh(h)
    return -0.5 * dq_hat * t * t + nm.log2cosh(h)


def moreau_energetic(c, K):
    r""":math:`M_E(c) = \max_w[-w^2/2 + \log H(c-\sqrt K w)]` (differentiable)."""
    u = _u_of(c, K)
    A = nm.GH(u)
    return -0.5 * K * A * A + nm.log_H(u)


# --------------------------------------------------------------------------------------------
# The y -> infinity functional (free reference, RS)
# --------------------------------------------------------------------------------------------
def _kink(q1, kappa):
    return kappa / jnp.sqrt(q1)


def free_entropy(theta, d, alpha, kappa=0.0, n: int = DEFAULT_NODES):
    r"""The :math:`y\to\infty` RS local-entropy functional :math:`S_I(q_1,\delta q,\hat q_1,
    \delta\hat q,\hat S; d)` of the module docstring (free reference; Baldassi et al. PNAS 2016,
    PRL 2015 SM), ``theta = (q1, dq, q1_hat, dq_hat, S_hat)``. Composable."""
    q1, dq, q1h, dqh, sh = theta[0], theta[1], theta[2], theta[3], theta[4]
    S = 1.0 - 2.0 * d
    zs, ws = nm.half_line_rule(jnp.zeros_like(q1), n)
    g_s = 2.0 * jnp.sum(ws * moreau_entropic(jnp.sqrt(q1h) * zs + sh, dqh))
    K = dq / (1.0 - q1)
    g_e = nm.gauss_expect_split(
        lambda z: moreau_energetic((kappa - jnp.sqrt(q1) * z) / jnp.sqrt(1.0 - q1), K), _kink(q1, kappa), n
    )
    return -sh * S - 0.5 * q1h * (1.0 - q1) - 0.5 * (dqh * q1 + q1h * dq) + g_s + alpha * g_e


def _to_theta(x):
    return jnp.stack([jax.nn.sigmoid(x[0]), jnp.exp(x[1]), jnp.exp(x[2]), jnp.exp(x[3]), x[4]])


def _from_theta(t):
    return jnp.stack([jnp.log(t[0]) - jnp.log1p(-t[0]), jnp.log(t[1]), jnp.log(t[2]), jnp.log(t[3]), t[4]])


def _energetic_conj(q1, dq, alpha, kappa, n):
    K = dq / (1.0 - q1)

    def f(z):
        u = _u_of((kappa - jnp.sqrt(q1) * z) / jnp.sqrt(1.0 - q1), K)
        A = nm.GH(u)
        Ap = nm.GH_prime(u)
        return jnp.stack([A * A, K * Ap * Ap / (1.0 + K * Ap)])

    e = nm.gauss_expect_split(f, _kink(q1, kappa), n)
    return alpha * e[0] / (1.0 - q1), alpha * e[1] / (1.0 - q1)


def _entropic_moments(q1h, dqh, sh, n):
    zs, ws = nm.half_line_rule(jnp.zeros_like(q1h), n)
    m = jnp.tanh(_h_of(jnp.sqrt(q1h) * zs + sh, dqh))
    return 2.0 * jnp.sum(ws * m), 2.0 * jnp.sum(ws * m * m), 2.0 * jnp.sum(ws * m * zs)


def _cold_start(d, alpha, kappa, n, max_steps=3000):
    r"""Reduced damped iteration (theory notes §C.2): :math:`(q_1,\delta q)\to(\hat q_1,\delta\hat q)
    \to\hat S` (bisection on :math:`S=\langle m\rangle`) :math:`\to(q_1,\delta q)`, from
    :math:`q_1=S^2`, :math:`\delta q=1`. Robust at moderate :math:`d`; used once per curve."""
    S = 1.0 - 2.0 * d

    def conj(y):
        q1 = jax.nn.sigmoid(y[0])
        dq = jnp.exp(y[1])
        q1h, dqh = _energetic_conj(q1, dq, alpha, kappa, n)
        sol = solvers.root(
            lambda s, _: _entropic_moments(q1h, dqh, s, n)[0] - S,
            jnp.zeros_like(q1),
            None,
            method="bisection",
            lower=-50.0,
            upper=50.0,
            tol=1e-13,
            max_steps=200,
        )
        return q1, dq, q1h, dqh, sol.value

    def update(y, _):
        q1, dq, q1h, dqh, sh = conj(y)
        _, m2, mz = _entropic_moments(q1h, dqh, sh, n)
        dq_new = jnp.maximum(mz / jnp.sqrt(q1h) - (1.0 - q1), 1e-12)
        return jnp.stack([jnp.log(m2) - jnp.log1p(-m2), jnp.log(dq_new)])

    y0 = jnp.stack([jnp.log(S * S) - jnp.log1p(-S * S), jnp.zeros_like(S)])
    sol = solvers.fixed_point(update, y0, None, damping=0.5, tol=1e-9, max_steps=max_steps)
    return jnp.stack(conj(jax.lax.stop_gradient(sol.value))), sol.converged


def _grad_x(x, args):
    r"""Scaled stationarity conditions at ``x`` = (logit q1, log dq, log q1_hat, log dq_hat, S_hat):
    :math:`\partial S_I/\partial\theta` rescaled so that each entry is the *relative* residual of
    one saddle-point equation (:math:`\hat q_1`, :math:`\delta q`, :math:`\delta\hat q` equations) or
    the absolute residual of :math:`S=\langle m\rangle`, :math:`q_1=\langle m^2\rangle`. A plain gradient
    in log variables would accept junk where the conjugates are tiny (small alpha, small d)."""
    d, alpha, kappa, n = args
    theta = _to_theta(x)
    g = jax.grad(lambda th: free_entropy(th, d, alpha, kappa, n))(theta)
    dq, q1h, dqh = theta[1], theta[2], theta[3]
    return jnp.stack([2.0 * g[0] / dqh, 2.0 * g[1] / q1h, 2.0 * g[2] / dq, 2.0 * g[3], g[4]])


def _newton(theta0, d, alpha, kappa, n):
    r"""Stationary point of :math:`S_I` in the variables (logit q1, log dq, log q1_hat, log dq_hat,
    S_hat), by Levenberg--Marquardt on :math:`\nabla S_I = 0` (a damped Newton: it survives the
    overshoots and near-singular Hessians of the small-d / large-d ends of the branch)."""
    args = (d, alpha, kappa, n)
    fn = lambda x, a: _grad_x(x, (a[0], a[1], a[2], n))  # noqa: E731
    solver = optx.LevenbergMarquardt(rtol=1e-12, atol=1e-12)
    sol = optx.root_find(fn, solver, _from_theta(theta0), (d, alpha, kappa), max_steps=80, throw=False)
    x = sol.value
    res = solvers.max_abs(jax.lax.stop_gradient(_grad_x(jax.lax.stop_gradient(x), args)))
    ok = jnp.isfinite(res) & (res < _CONV) & jnp.all(jnp.isfinite(x))
    return solvers.SaddleSolution(_to_theta(x), ok, res, sol.stats["num_steps"])


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------
class LocalEntropyRS(eqx.Module):
    r"""Large-deviation local entropy (:math:`y\to\infty`, free reference, RS) on a curve.

    Shapes: ``alpha, kappa`` have the broadcast parameter shape ``P``; the others ``P + d.shape``.

    Attributes:
        d: distance from the reference; ``S = 1 - 2d``.
        entropy: :math:`S_I(d)` (log-number per weight of solutions at distance d from the densest
            references); bounded by ``h2(d)``.
        q1, dq, q1_hat, dq_hat, S_hat: order parameters; :math:`dS_I/dd = 2\hat S` (Legendre).
        converged, residual, n_steps: diagnostics.
    """

    alpha: jax.Array
    kappa: jax.Array
    d: jax.Array
    entropy: jax.Array
    q1: jax.Array
    dq: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    S_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


def _curve_one(alpha, kappa, d_user, n):
    d0 = jnp.asarray(_D_START, dtype=jnp.result_type(alpha, float))
    theta_c, cold_ok = _cold_start(d0, alpha, kappa, n)
    start = _newton(theta_c, d0, alpha, kappa, n)
    theta_start = start.value
    start_ok = start.converged & cold_ok

    dpath, idx, above = solvers.continuation_path(d0, d_user, _N_GRID_DOWN, _N_GRID_UP)

    def body(carry, pt):
        theta, prev_above, alive = carry
        d, up = pt
        switch = up & ~prev_above
        init = jnp.where(switch, theta_start, theta)
        alive = alive | switch

        def solve(_):
            s_ = _newton(init, d, alpha, kappa, n)
            return s_.value, s_.converged, s_.residual, s_.n_steps

        def skip(_):  # past the end of the branch in this direction: do not waste solves
            return jnp.full_like(init, jnp.nan), jnp.asarray(False), jnp.asarray(jnp.inf, init.dtype), jnp.asarray(0)

        val, conv, res, steps = jax.lax.cond(alive, solve, skip, None)
        nxt = jnp.where(conv, val, init)
        return (nxt, up, alive & conv), (val, conv, res, steps)

    _, (val, conv, res, steps) = jax.lax.scan(
        body, (theta_start, jnp.asarray(False), start_ok), (dpath, above)
    )
    m = d_user.shape[0]

    def scatter(x):
        return jnp.zeros((m,) + x.shape[1:], dtype=x.dtype).at[idx].set(x, mode="drop")

    val, conv, res, steps = scatter(val), scatter(conv), scatter(res), scatter(steps)
    ent = jax.vmap(lambda th, d: free_entropy(th, d, alpha, kappa, n))(val, d_user)
    conv = conv & start_ok & jnp.isfinite(ent)
    return LocalEntropyRS(
        alpha, kappa, d_user, ent, val[:, 0], val[:, 1], val[:, 2], val[:, 3], val[:, 4], conv, res, steps
    )


@partial(jax.jit, static_argnames=("n",))
def _le_grid(alpha, kappa, d, n):
    shape = jnp.broadcast_shapes(alpha.shape, kappa.shape)
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in (alpha, kappa)]
    out = jax.vmap(lambda a, k: _curve_one(a, k, d.reshape(-1), n))(*flat)

    def reshape(x):
        return x.reshape(shape) if x.ndim == 1 else x.reshape(shape + d.shape)

    return jax.tree_util.tree_map(reshape, out)


class LocalEntropySolutionRS(eqx.Module):
    r"""Large-deviation local entropy (:math:`y\to\infty`, RS) with the reference constrained to be
    a solution of margin ``kappa_ref`` (PRL 2015 convention; :mod:`physlearn.theory._le_solution`).

    Attributes (shapes as in :class:`LocalEntropyRS`):
        entropy: :math:`S_I(d)`; q1, dq, q1_hat, dq_hat, S_hat: as in the free case;
        dQ, dS, R, a: the four extra order parameters of the constrained reference
            (:math:`R\to0` and :math:`\delta Q` flat when the constraint is inactive);
        active_mass: Gaussian mass of the :math:`(z_0,z_1)` region where the reference field sits
            at the constraint :math:`\kappa_{\rm ref}` (0 = the free reference is already a solution);
        entropy_free: :math:`S_I(d)` of the free reference at the same point (an upper bound);
        converged, residual, n_steps: diagnostics of the constrained solve.
    """

    alpha: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    d: jax.Array
    entropy: jax.Array
    q1: jax.Array
    dq: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    S_hat: jax.Array
    dQ: jax.Array
    dS: jax.Array
    R: jax.Array
    a: jax.Array
    active_mass: jax.Array
    entropy_free: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


def _solution_curve_one(alpha, kappa, kappa_ref, d_user, n, n2):
    from . import _le_solution as ls

    free = _curve_one(alpha, kappa, d_user, n)

    def point(i):
        tf = jnp.stack([free.q1[i], free.dq[i], free.q1_hat[i], free.dq_hat[i], free.S_hat[i]])
        tf = jnp.where(free.converged[i], tf, jnp.array([0.5, 1.0, 0.5, 0.5, 0.5], dtype=tf.dtype))
        S = 1.0 - 2.0 * d_user[i]
        # guess: the reference field r = z0 + dS A/sqrt(1-q1) follows the replicas' mean field
        # for dS = S (1 - q1 + dq) / q1 (the large-|field| asymptote of the inactive constraint)
        dS0 = S * (1.0 - tf[0] + tf[1]) / tf[0]
        guess = jnp.stack([2.0 * dS0 * dS0 / tf[1], dS0])
        th, ok, res, k, mass = ls.solve_point(tf, guess, d_user[i], alpha, kappa, kappa_ref, n2)
        th = jax.lax.stop_gradient(th)
        # envelope theorem: the value is differentiable in (alpha, d, kappa) at the saddle point
        ent = ls.free_entropy(th, d_user[i], alpha, kappa, kappa_ref, n2)
        return th, ok & free.converged[i] & jnp.isfinite(ent), res, k, mass, ent

    th, ok, res, k, mass, ent = jax.vmap(point)(jnp.arange(d_user.shape[0]))
    return LocalEntropySolutionRS(
        alpha, kappa, kappa_ref, d_user, ent, th[:, 0], th[:, 3], th[:, 6], th[:, 7], th[:, 8],
        th[:, 1], th[:, 2], th[:, 4], th[:, 5], mass, free.entropy, ok, res, k,
    )


@partial(jax.jit, static_argnames=("n", "n2"))
def _le_solution_grid(alpha, kappa, kappa_ref, d, n, n2):
    shape = jnp.broadcast_shapes(alpha.shape, kappa.shape, kappa_ref.shape)
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in (alpha, kappa, kappa_ref)]
    out = jax.vmap(lambda a, k, kr: _solution_curve_one(a, k, kr, d.reshape(-1), n, n2))(*flat)

    def reshape(x):
        return x.reshape(shape) if x.ndim == 1 else x.reshape(shape + d.shape)

    return jax.tree_util.tree_map(reshape, out)


class LocalEntropy1RSB(eqx.Module):
    r"""Large-deviation local entropy with a 1RSB structure among the replicas around each reference
    (:math:`y\to\infty`, free reference; ``binary(..., rsb="1rsb")``). Shapes as
    :class:`LocalEntropyRS`.

    Attributes:
        entropy: the 1RSB functional of :mod:`physlearn.theory._le_1rsb` at its saddle point.
        m: Parisi parameter of the reported saddle (:math:`1-10^{-3}`, the :math:`m\to1` limit, or the
            ``m`` passed to :func:`binary`).
        q0, dq, q0_hat, dq_hat, S_hat: inter-cluster level (at :math:`m\to1` the RS saddle);
        q1, q1_hat: intra-cluster overlap and conjugate; ``q1 == q0`` where the solution collapses.
        replicon: slope of the intra-cluster sweep at the collapse (RS locally stable if < 1).
        complexity: :math:`\Sigma=-m^2\partial_mS_I` of the clusters (0 at collapse).
        collapsed: the 1RSB search from a nearly frozen start returned to :math:`q_1=q_0`.
        converged: RS saddle converged, the intra-cluster search converged, and the result is not
            condensed (``complexity >= 0``; a condensed point would need :math:`m<1` and is flagged).
        residual, n_steps: of the intra-cluster search.
    """

    alpha: jax.Array
    kappa: jax.Array
    d: jax.Array
    entropy: jax.Array
    m: jax.Array
    q0: jax.Array
    q1: jax.Array
    dq: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    S_hat: jax.Array
    replicon: jax.Array
    complexity: jax.Array
    collapsed: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


_COLLAPSE = 1e-6  # (q1 - q0) / (1 - q0) below this: collapsed onto RS (the search stops at 1e-7)
# the same with the 2D integrals of the solution reference: their quadrature error, amplified by
# 1/(1 - m) = 1e3 in the m -> 1 maps, leaves the collapsed fixed point at (q1 - q0)/(1 - q0) ~ 1e-6
# (alpha = 0.7, d = 0.06, n2 = 48); a non-trivial solution from the frozen start sits at O(1)
_COLLAPSE_2D = 1e-4


def _one_rsb_point(rs_theta, rs_ok, d, alpha, kappa, n1, n_in, m_fixed=None):
    r"""The 1RSB analysis at one RS saddle ``(q, dq, q_hat, dq_hat, S_hat)``: the :math:`m\to1` one
    (``m_fixed=None``) or the full saddle point at a fixed ``m_fixed`` in (0, 1)."""
    from . import _le_1rsb as r1

    bad = ~rs_ok | ~jnp.all(jnp.isfinite(rs_theta))
    th = jnp.where(bad, jnp.asarray([0.5, 0.5, 0.5, 0.5, 0.0], rs_theta.dtype), rs_theta)  # keep NaN out
    q0 = th[0]
    if m_fixed is None:
        m = jnp.asarray(r1.M_ONE, th.dtype)
        lam, q1, p1, ok, res, steps = r1.analyse_collapse(th, alpha, kappa, n1, n_in)
        collapsed = (q1 - q0) <= _COLLAPSE * (1.0 - q0)
        q1 = jnp.where(collapsed, q0, q1)
        p1 = jnp.where(collapsed, th[2], p1)
        theta8 = jnp.stack([q0, q1, th[1], th[2], p1, th[3], th[4], m])
    else:
        m = jnp.asarray(m_fixed, th.dtype)
        full, ok, res, steps = r1.solve_fixed_m(th, d, alpha, kappa, m, n1, n_in, collapse=_COLLAPSE)
        collapsed = (full[1] - full[0]) <= _COLLAPSE * (1.0 - full[0])
        # collapsed: the functional is the RS one for any m, so the saddle is the RS one exactly
        theta8 = jnp.where(collapsed, jnp.stack([q0, q0, th[1], th[2], th[2], th[3], th[4], m]), full)
        lam = r1.gap_slope(th, alpha, kappa, m, n1, n_in)
    theta8 = jax.lax.stop_gradient(theta8)
    ent, g = jax.value_and_grad(r1.free_entropy)(theta8, d, alpha, kappa, n1, n_in)
    sig = jnp.where(collapsed, 0.0, -m * m * g[7])  # complexity of the clusters (r1.complexity_m1)
    if m_fixed is None:  # at m -> 1 a negative complexity means condensation: the saddle needs m < 1
        conv = ~bad & ok & (collapsed | (sig >= -1e-10)) & jnp.isfinite(ent)
    else:
        conv = ~bad & ok & jnp.isfinite(ent)
    nanify = lambda v: jnp.where(bad, jnp.nan, v)  # noqa: E731
    return (nanify(ent), m, *(nanify(theta8[i]) for i in range(7)), nanify(lam), nanify(sig), collapsed & ~bad,
            conv, res, steps)


@partial(jax.jit, static_argnames=("n1", "n_in", "m_fixed"))
def _le1_points(theta, ok, d, alpha, kappa, n1, n_in, m_fixed=None):
    return jax.lax.map(lambda x: _one_rsb_point(x[0], x[1], x[2], x[3], x[4], n1, n_in, m_fixed),
                       (theta, ok, d, alpha, kappa))


def _flat_to(v, shape):
    """Broadcast a per-curve (``P``) or per-point (``P + d``) array to ``shape`` and flatten it."""
    v = v[..., None] if v.ndim < len(shape) else v
    return jnp.broadcast_to(v, shape).reshape(-1)


def _le1_grid(alpha, kappa, d, n, n1, n_in, m_fixed=None):
    rs = _le_grid(alpha, kappa, d, n)
    shape = rs.entropy.shape

    flat = partial(_flat_to, shape=shape)

    theta = jnp.stack([rs.q1, rs.dq, rs.q1_hat, rs.dq_hat, rs.S_hat], -1).reshape(-1, 5)
    out = _le1_points(theta, rs.converged.reshape(-1), flat(rs.d), flat(rs.alpha), flat(rs.kappa), n1, n_in,
                      m_fixed)
    return LocalEntropy1RSB(rs.alpha, rs.kappa, rs.d, *[v.reshape(shape) for v in out])


class LocalEntropySolution1RSB(LocalEntropy1RSB):
    r"""Large-deviation local entropy with the reference constrained to be a solution (PRL 2015) and a
    1RSB structure among the replicas around it, :math:`m\to1` analysis (``binary(...,
    reference="solution", rsb="1rsb")``; functional in :mod:`physlearn.theory._le_solution`).

    Attributes (shapes as in :class:`LocalEntropyRS`): those of :class:`LocalEntropy1RSB` (``q0, dq,
    q0_hat, dq_hat, S_hat`` the inter-cluster level = the constrained RS saddle, ``q1, q1_hat`` the
    intra-cluster level, ``replicon``, ``complexity``, ``collapsed``), plus the constrained reference's
    ``kappa_ref, dQ, dS, R, a`` and ``active_mass`` (Gaussian mass where the reference field sits at
    :math:`\kappa_{\rm ref}`), and ``entropy_rs``: the constrained RS :math:`S_I` at the same point
    (equal to ``entropy`` where the search collapses).
    """

    kappa_ref: jax.Array
    dQ: jax.Array
    dS: jax.Array
    R: jax.Array
    a: jax.Array
    active_mass: jax.Array
    entropy_rs: jax.Array


def _solution_1rsb_point(theta9, rs_ok, d, alpha, kappa, kappa_ref, n2, n_in):
    r"""The :math:`m\to1` 1RSB analysis at one constrained RS saddle ``theta9`` (order of
    :func:`physlearn.theory._le_solution.solve_point`)."""
    from . import _le_1rsb as r1
    from . import _le_solution as ls

    bad = ~rs_ok | ~jnp.all(jnp.isfinite(theta9))
    th = jnp.where(bad, jnp.asarray([0.5, 1.0, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.0], theta9.dtype), theta9)
    th = jax.lax.stop_gradient(th)
    q0 = th[0]
    m = jnp.asarray(r1.M_ONE, th.dtype)
    intra = lambda q: ls.intra_map_1rsb(q, th, d, alpha, kappa, kappa_ref, m, n2, n_in)  # noqa: E731
    lam, q1, p1, ok, res, steps = r1.analyse_collapse(th, alpha, kappa, intra=intra)
    collapsed = (q1 - q0) <= _COLLAPSE_2D * (1.0 - q0)
    q1 = jnp.where(collapsed, q0, q1)
    p1 = jnp.where(collapsed, th[6], p1)
    t12 = jax.lax.stop_gradient(ls.theta_1rsb(th, q1, p1, m))
    ent, g = jax.value_and_grad(ls.free_entropy_1rsb)(t12, d, alpha, kappa, kappa_ref, n2, n_in)
    sig = jnp.where(collapsed, 0.0, -m * m * g[11])
    conv = ~bad & ok & (collapsed | (sig >= -1e-10)) & jnp.isfinite(ent)
    nanify = lambda v: jnp.where(bad, jnp.nan, v)  # noqa: E731
    return (nanify(ent), m, nanify(q0), nanify(q1), nanify(th[3]), nanify(th[6]), nanify(p1), nanify(th[7]),
            nanify(th[8]), nanify(lam), nanify(sig), collapsed & ~bad, conv, res, steps,
            nanify(th[1]), nanify(th[2]), nanify(th[4]), nanify(th[5]))


@partial(jax.jit, static_argnames=("n2", "n_in"))
def _sol1_points(theta9, ok, d, alpha, kappa, kappa_ref, n2, n_in):
    return jax.lax.map(lambda x: _solution_1rsb_point(*x, n2, n_in), (theta9, ok, d, alpha, kappa, kappa_ref))


def _solution_1rsb_grid(alpha, kappa, kappa_ref, d, n, n2, n_in):
    rs = _le_solution_grid(alpha, kappa, kappa_ref, d, n, n2)
    shape = rs.entropy.shape

    flat = partial(_flat_to, shape=shape)

    theta9 = jnp.stack([rs.q1, rs.dQ, rs.dS, rs.dq, rs.R, rs.a, rs.q1_hat, rs.dq_hat, rs.S_hat], -1).reshape(-1, 9)
    out = _sol1_points(theta9, rs.converged.reshape(-1), flat(rs.d), flat(rs.alpha), flat(rs.kappa),
                       flat(rs.kappa_ref), n2, n_in)
    out = [v.reshape(shape) for v in out]
    return LocalEntropySolution1RSB(rs.alpha, rs.kappa, rs.d, *out[:15], rs.kappa_ref, *out[15:],
                                    rs.active_mass, rs.entropy)


def _validate_d(d):
    arr = _as_param("d", d)
    if not is_traced(arr):
        if arr.ndim > 1:
            raise ValueError(f"d must be a scalar or a 1-D array of distances, got shape {arr.shape}")
        if ((arr <= 0) | (arr >= 0.5)).any():
            raise ValueError(f"d must lie in (0, 1/2), got values in [{arr.min():.6g}, {arr.max():.6g}]")
    return arr


def _validate_conventions(y, reference, rsb):
    if reference not in ("free", "solution"):
        raise ValueError(f"reference must be 'free' or 'solution', got {reference!r}")
    if rsb not in ("rs", "1rsb"):
        raise ValueError(f"rsb must be 'rs' or '1rsb', got {rsb!r}")
    if is_traced(y):
        raise ValueError("y must be a concrete Python number (it selects the functional), not a traced value")
    if np.ndim(y) != 0:
        raise ValueError(f"y must be a scalar (one functional per call; loop over y values), got shape {np.shape(y)}")
    yv = float(np.asarray(y))
    if np.isnan(yv) or yv <= 0:
        raise ValueError(f"y must be > 0 (or inf), got {y!r}")
    missing = []
    if np.isfinite(yv) and yv <= 1.0:
        raise ValueError(f"finite y must be > 1 (number of real replicas), got {y!r}")
    if np.isfinite(yv) and rsb != "rs" and reference != "free":
        missing.append("finite-y 1RSB is implemented for reference='free'")
    if missing:
        raise NotImplementedError(
            "physlearn.theory.local_entropy: " + "; ".join(missing)
        )


class FiniteYRS(eqx.Module):
    r"""Finite-:math:`y` local entropy at fixed distance (free reference, RS): the Legendre transform
    of :func:`fixed_coupling` (``binary(..., y=finite)``). Shapes: ``alpha`` broadcast shape ``P`` then
    ``d``.

    Attributes:
        entropy: :math:`S_I(d,y)=\Sigma_{\rm int}` at :math:`S=1-2d` (:math:`\to` the :math:`y=\infty`
            :math:`S_I(d)` as :math:`y\to\infty`); gamma: the coupling :math:`\gamma(d)` conjugate to d;
        total_local_entropy: :math:`\Phi_{\rm tot}/y-\gamma S = \Sigma_{\rm int}+\Sigma_{\rm ext}/y`;
        external_entropy: :math:`\Sigma_{\rm ext}` and ``external_ok`` (False where it is negative);
        q0, q1, q0_hat, q1_hat; converged, residual, n_steps.
    """

    alpha: jax.Array
    kappa: jax.Array
    y: jax.Array
    d: jax.Array
    entropy: jax.Array
    gamma: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    q0: jax.Array
    q1: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


@partial(jax.jit, static_argnames=("n", "n_fy", "n_in"))
def _finite_y_grid(alpha, kappa, y, d, n, n_fy, n_in):
    r"""Guess-free path: the :math:`y=\infty` curve gives :math:`\gamma_0=\hat S(d)`; the fixed-coupling
    saddle point at :math:`(\gamma_0,y)` (homotopy in :math:`\alpha`) starts the fixed-d solve."""
    from . import _le_finite_y as fy

    shape = jnp.broadcast_shapes(alpha.shape, kappa.shape)
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in (alpha, kappa)]
    dflat = d.reshape(-1)

    def one(a, k):
        inf = _curve_one(a, k, dflat, n)

        def point(dd, g0, ok0):
            g0 = jnp.where(ok0 & (g0 > 1e-3), g0, 0.5)
            th0, okc, _, k1 = fy.solve_coupling(g0, y, a, k, n_fy, n_in)
            th, g, ok, res, k2 = fy.solve_distance(dd, y, a, k, th0, g0, n_fy, n_in)
            tot, S, phi, s_int, s_ext = fy.derived(th, g, y, a, k, n_fy, n_in)
            ok = ok & jnp.isfinite(s_int) & (jnp.abs(S - (1.0 - 2.0 * dd)) < 1e-7)
            return FiniteYRS(a, k, y, dd, s_int, g, tot / y - g * S, s_ext, s_ext >= 0.0, th[0], th[1], th[2],
                             th[3], ok, res, k1 + k2)

        return jax.vmap(point)(dflat, inf.S_hat, inf.converged)

    out = jax.vmap(one)(*flat)

    def reshape(x):
        return x.reshape(shape + d.shape) if x.ndim == 2 else x.reshape(shape) if x.ndim == 1 else x

    return jax.tree_util.tree_map(reshape, out)


class FiniteY1RSB(eqx.Module):
    r"""Finite-:math:`y` local entropy at fixed distance, free reference, with the 1RSB structure of
    :mod:`physlearn.theory._le_finite_y_1rsb` (``binary(..., y=finite, rsb="1rsb")``). Shapes as
    :class:`FiniteYRS`.

    At every point the RS fixed-d saddle (:class:`FiniteYRS`) is solved, and the 1RSB saddle is searched
    at its coupling :math:`\gamma(d)` and Parisi parameter ``m`` from a nearly frozen intra-group
    start. Where the search collapses, the 1RSB functional equals the RS one in a neighbourhood, so
    the fixed-d 1RSB result *is* the RS one (entropies, :math:`\gamma`, overlaps with
    :math:`q_c=q_b=q_1`). A non-collapsed point is flagged ``converged=False`` (its fixed-d Legendre
    transform is not solved; the fixed-coupling values are in :func:`fixed_coupling`).

    Attributes: entropy, gamma, total_local_entropy, external_entropy, external_ok (as
    :class:`FiniteYRS`), m, q0, qb, qc, q0_hat, qb_hat, qc_hat, collapsed, rs_converged, converged,
    residual and n_steps (of the 1RSB search).
    """

    alpha: jax.Array
    kappa: jax.Array
    y: jax.Array
    d: jax.Array
    m: jax.Array
    entropy: jax.Array
    gamma: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    q0: jax.Array
    qb: jax.Array
    qc: jax.Array
    q0_hat: jax.Array
    qb_hat: jax.Array
    qc_hat: jax.Array
    collapsed: jax.Array
    rs_converged: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


@partial(jax.jit, static_argnames=("n", "n_mid", "n_in"))
def _fy1_points(theta_rs, gamma, alpha, kappa, y, m, n, n_mid, n_in):
    from . import _le_finite_y_1rsb as f1

    def one(x):
        th, g, a, k = x
        ok_in = jnp.all(jnp.isfinite(th)) & jnp.isfinite(g)
        th = jnp.where(ok_in, th, jnp.array([0.3, 0.5, 0.3, 0.5], th.dtype))
        out = f1.search(th, jnp.where(ok_in, g, 0.5), y, m, a, k, n, n_mid, n_in)
        return out[:5]

    return jax.lax.map(one, (theta_rs, gamma, alpha, kappa))


def _finite_y_1rsb(rs, y, m, n=32, n_mid=16, n_in=16):
    shape = rs.entropy.shape
    flat = lambda v: jnp.broadcast_to(v, shape).reshape(-1)  # noqa: E731
    theta = jnp.stack([flat(rs.q0), flat(rs.q1), flat(rs.q0_hat), flat(rs.q1_hat)], -1)
    th, col, ok, res, ns = _fy1_points(theta, flat(rs.gamma), flat(rs.alpha), flat(rs.kappa), float(y), m, n, n_mid, n_in)
    th = th.reshape(shape + (6,))
    col, ok, res, ns = (v.reshape(shape) for v in (col, ok, res, ns))
    conv = rs.converged & col & ok
    mm = jnp.full(shape, m, dtype=th.dtype)
    return FiniteY1RSB(rs.alpha, rs.kappa, rs.y, rs.d, mm, rs.entropy, rs.gamma, rs.total_local_entropy,
                       rs.external_entropy, rs.external_ok, *(th[..., i] for i in range(6)), col, rs.converged, conv,
                       res, ns)


class FiniteYSolutionRS(eqx.Module):
    r"""Finite-:math:`y` local entropy at fixed distance with the reference constrained to be a
    solution of margin ``kappa_ref`` (PRL 2015 convention, RS; ``binary(..., y=finite,
    reference="solution")``; functional of :mod:`physlearn.theory._le_finite_y_solution`). Shapes:
    ``alpha`` broadcast shape ``P`` then ``d``.

    Attributes:
        entropy: :math:`S_I(d,y)=\partial_y\Phi` (local entropy of the selected references; the
            Franz--Parisi :math:`V(d)` at :math:`y\to0`); gamma: the coupling
            :math:`-\frac1y\partial_S\Phi` conjugate to d; total_local_entropy: :math:`\Phi/y =
            S_I + \Sigma_{\rm ext}/y`; external_entropy: :math:`\Sigma_{\rm ext}=\Phi-yS_I` and
            ``external_ok`` (False where it is negative);
        Q, S0, q0, q1, Q_hat, S0_hat, S1_hat, q0_hat, q1_hat: the order parameters;
        converged, residual, n_steps: diagnostics of the whole path (Franz--Parisi start and every
            step in y).
    """

    alpha: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    y: jax.Array
    d: jax.Array
    entropy: jax.Array
    gamma: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    Q: jax.Array
    S0: jax.Array
    q0: jax.Array
    q1: jax.Array
    Q_hat: jax.Array
    S0_hat: jax.Array
    S1_hat: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


def _solution_fy_nodes(n_fy):
    """Quadrature of the finite-y solution functional from ``n_fy`` (outer nodes per half line)."""
    n_fy = int(n_fy)
    return (2 * (n_fy // 3), n_fy, 2 * (n_fy // 3), max(n_fy // 3, 4))


@partial(jax.jit, static_argnames=("ys", "nodes"))
def _finite_y_solution_grid(alpha, kappa, kappa_ref, d, theta_fp, fp_ok, ys, nodes):
    r"""Every (alpha, d) point independently: the y path of
    :func:`physlearn.theory._le_finite_y_solution.solve_path` from its Franz--Parisi start."""
    from . import _le_finite_y_solution as fs

    y = ys[-1]

    def point(a, k, kr, dd, th0, ok0):
        th, ok, res, steps = fs.solve_path(th0, dd, ys, a, k, kr, nodes)
        phi, s_int, s_ext, g = fs.derived(th, dd, y, a, k, kr, nodes)
        ok = ok & ok0 & jnp.isfinite(s_int)
        yy = jnp.asarray(y, th.dtype)
        return FiniteYSolutionRS(a, k, kr, yy, dd, s_int, g, phi / yy, s_ext, s_ext >= 0.0, th[0], th[1], th[2],
                                 th[3], th[4], th[5] * jnp.sqrt(th[4]), th[6], th[7], th[8], ok, res, steps)

    shape = theta_fp.shape[:-1]  # P + (number of distances,)
    flat = [jnp.broadcast_to(v, shape).reshape(-1) for v in (alpha[..., None], kappa[..., None],
                                                              kappa_ref[..., None], d.reshape(-1))]
    out = jax.vmap(point)(*flat, theta_fp.reshape(-1, 9), fp_ok.reshape(-1))
    out = jax.tree_util.tree_map(lambda x: x.reshape(alpha.shape + d.shape), out)
    return eqx.tree_at(lambda r: (r.alpha, r.kappa, r.kappa_ref, r.y), out,
                       (alpha, kappa, kappa_ref, jnp.asarray(y, theta_fp.dtype)))


def _finite_y_solution(a, k, kr, dd, y, n_fy, on_failure):
    from . import _le_finite_y_solution as fs
    from . import franz_parisi as fp

    f = jnp.result_type(float)
    shape = jnp.broadcast_shapes(np.shape(a), np.shape(k), np.shape(kr))
    a, k, kr = (jnp.broadcast_to(jnp.asarray(v, f), shape) for v in (a, k, kr))
    d1 = jnp.asarray(dd, f).reshape(-1)
    start = fp.binary(a, d1, k, kr, on_failure="flag")  # the y -> 0 saddle point (fields P or P + (nd,))

    def grid(v):
        v = jnp.asarray(v)
        return jnp.broadcast_to(v if v.ndim == len(shape) + 1 else v[..., None], shape + d1.shape)

    theta_fp = jnp.moveaxis(fs.theta_from_franz_parisi(*(grid(getattr(start, n)) for n in (
        "p", "t", "q", "q_ref", "p_hat", "t_hat", "q_hat", "q_hat_ref"))), 0, -1)
    sol = _finite_y_solution_grid(a, k, kr, jnp.asarray(dd, f), theta_fp, grid(start.converged),
                                  fs.y_schedule(y), _solution_fy_nodes(n_fy))
    return _check_curve(
        sol, on_failure, f"local_entropy.binary(y={y:g}, reference='solution')",
        "the path starts at the Franz-Parisi saddle point (y -> 0) and follows y from 1.5 upwards; "
        "the Franz-Parisi branch ends at small d for alpha >~ 0.6",
    )


@eager_x64
def binary(
    alpha,
    d,
    kappa=0.0,
    y=float("inf"),
    reference: str = "free",
    rsb: str = "rs",
    *,
    kappa_ref=None,
    n: int = DEFAULT_NODES,
    n2: int | None = None,
    n_fy: int | None = None,
    n_1rsb: int = 48,
    m: float | None = None,
    on_failure: str = "raise",
):
    r"""Large-deviation local entropy :math:`S_I(d)` of the binary perceptron
    (Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015);
    Baldassi et al., PNAS 113, E7655 (2016)).

    Solves :math:`\nabla S_I = 0` for the :math:`y\to\infty` RS functional with an unconstrained
    ("free", robust-ensemble) reference, five order parameters (module docstring):

    .. math:: S_I = -\hat S S - \tfrac12\hat q_1(1-q_1) - \tfrac12(\delta\hat q q_1 + \hat q_1\delta q)
              + \langle M_S(\sqrt{\hat q_1}|z|+\hat S)\rangle + \alpha\langle M_E(\tfrac{\kappa-\sqrt{q_1}z}{\sqrt{1-q_1}})\rangle .

    Path: a cold start at :math:`d=0.1` by the reduced damped iteration
    :math:`(q_1,\delta q)\to(\hat q_1,\delta\hat q)\to\hat S\to(q_1,\delta q)`, then damped Newton
    (Levenberg--Marquardt) by continuation towards small and large :math:`d` (no initial guess
    needed). The branch exists while :math:`\hat S\ge0` (up to the maximum of :math:`S_I(d)`) and,
    for :math:`\alpha>\alpha_U` (:func:`dense_region_threshold`), not at small :math:`d`; points
    outside it are flagged (``on_failure="flag"``) or raise
    :class:`~physlearn.errors.NonConvergenceError`. Also flagged: the degenerate corner
    :math:`\alpha\lesssim0.3`, :math:`d\lesssim 3\cdot10^{-3}` where the conjugates underflow
    (there :math:`S_I = H_2(d)` to 1e-14).

    ``reference="solution"`` (PRL 2015 and its SM): the reference must itself be a solution of
    margin ``kappa_ref`` (default ``kappa``). The nine-parameter :math:`y\to\infty` functional of
    :mod:`physlearn.theory._le_solution` (2D integrals split at their kinks) is solved by a damped
    reduced iteration started from the free-reference solution at the same point. Finding: for
    ``kappa_ref == kappa`` at small d the free optimum already satisfies the constraint (Gaussian
    mass ``active_mass`` ~1e-7 at :math:`\alpha=0.7, d=0.03`), :math:`R\to0`, and both conventions
    give the same :math:`S_I(d)` to quadrature accuracy (~1e-9); the mass grows with d and the
    constraint binds: at :math:`\alpha=0.7` it is 2.6e-3 at d = 0.06 and 2.3e-2 at d = 0.1, where
    :math:`S_I` is 7.6e-6 and 1.2e-4 below the free value (:math:`\alpha=0.5`: 5.4e-5 below at
    d = 0.2). With ``kappa_ref > kappa`` it binds already at small d. The value is differentiable by the envelope theorem
    (order parameters under ``stop_gradient``).

    Args:
        alpha, kappa: broadcast (shape ``P``); d: scalar or 1-D array in (0, 1/2).
        y: ``inf`` (default) or a finite number of real replicas ``y > 1`` (free reference, RS): then
            the fixed-coupling functional of :func:`fixed_coupling` is Legendre-transformed to fixed
            :math:`d` (stationarity of :math:`\Phi_{\rm tot}(\gamma)-y\gamma(1-2d)` in the order
            parameters and :math:`\gamma`), started from :math:`\gamma_0=\hat S(d)` of the
            :math:`y=\infty` curve; returns :class:`FiniteYRS` (``entropy`` = :math:`\Sigma_{\rm int}`,
            ``gamma``, ``external_entropy`` with ``external_ok`` False where it is negative, and
            ``total_local_entropy``). With ``reference="solution"`` (PRL 2015): the functional of
            :mod:`physlearn.theory._le_finite_y_solution` (nine order parameters), solved guess-free
            from the Franz--Parisi saddle point (its :math:`y\to0` limit) along :math:`y=1.5\to y`
            (geometric steps, at most x1.6) with the conjugates eliminated and damped Newton on the
            four overlaps; returns :class:`FiniteYSolutionRS`. Seconds to minutes per point on a CPU.
        n_fy: outer nodes per half line of the finite-y functional (default 48; with
            ``reference="solution"`` the quadrature is ``(2 n_fy/3, n_fy, 2 n_fy/3, n_fy/3)``, see
            :mod:`~physlearn.theory._le_finite_y_solution`: ~5e-9 at 48, ~2e-4 at 24).
        rsb: ``"rs"`` or ``"1rsb"`` (``y = inf``; free reference, solution reference below): a 1RSB
            structure among the replicas
            around each reference (intra-cluster :math:`q_1`, inter-cluster :math:`q_0`, Parisi
            parameter :math:`m`; PRL 2015 SM), functional of :mod:`physlearn.theory._le_1rsb`. At
            :math:`m\to1` its inter-cluster level is exactly the RS saddle and the intra-cluster
            level a scalar fixed point; at every point the RS saddle is solved, its replicon slope
            :math:`\lambda` computed (RS locally stable if :math:`\lambda<1`), and a non-trivial
            solution searched from a nearly frozen start (:math:`q_1=q_0+0.9(1-q_0)`). Returns
            :class:`LocalEntropy1RSB`; a point where a non-collapsed solution has negative complexity
            (condensation, the case that needs :math:`m<1`) is flagged as not converged. Finding:
            for :math:`\kappa=0`, :math:`\alpha\le0.76` every search collapses onto RS
            (:math:`\lambda<1` throughout) -- in this ansatz the 1RSB and RS curves coincide; a full
            fixed-:math:`m=0.5` iteration from the same start (7 order parameters) collapses too.
            Exception: where the RS conjugates underflow (:math:`\hat q\lesssim10^{-8}`, e.g.
            :math:`\alpha=0.5`, :math:`d\lesssim3\cdot10^{-3}`, where :math:`S_I=H_2(d)`), the search
            runs to a frozen :math:`q_1\to1` solution that this parametrisation does not resolve:
            flagged.
            With ``reference="solution"`` (PRL 2015 SM; :class:`LocalEntropySolution1RSB`): the same
            :math:`m\to1` analysis around a reference constrained to be a solution, on the 12-parameter
            functional of :mod:`physlearn.theory._le_solution` (the 1RSB envelopes inside the 2D
            integrals split at their kinks): at :math:`m\to1` it equals the constrained RS functional
            for any intra-cluster :math:`(q_1,\hat q_1)`, so the inter-cluster level is the
            constrained RS saddle and the intra-cluster sweep runs on the 2D integrals, the reference
            constraint included. Finding (:math:`\kappa=\kappa_{\rm ref}=0`): collapse onto the
            constrained RS both where the constraint is inactive (:math:`\alpha=0.7`, d = 0.03:
            replicon 0.0880, free 0.0854) and where it binds (d = 0.1, mass 2.3e-2: 0.2867, free
            0.2859); at :math:`\alpha=0.75`, d = 0.02 and 0.06 (mass 8.7e-3), replicon 0.076 and 0.276. About a
            minute per point on 2 CPU cores (most of it compilation).
        m: ``rsb="1rsb"`` only. ``None`` (default): the :math:`m\to1` analysis above. A number in
            (0, 1): the full 1RSB saddle point at that Parisi parameter (seven order parameters and
            :math:`\hat S`, damped iteration of the two conjugate maps from the same nearly frozen
            start, :func:`physlearn.theory._le_1rsb.solve_fixed_m`); ``replicon`` is then the slope of
            the gap mode :math:`q_1-q_0` under one full sweep (:func:`~physlearn.theory._le_1rsb.gap_slope`,
            independent of m, as it must be) and ``complexity`` is
            :math:`\Sigma(m)=-m^2\partial_mS_I`. A user scanning m finds the physical 1RSB value
            where :math:`\Sigma(m)=0` if a non-collapsed solution exists. Finding: at
            :math:`\alpha=0.7`, :math:`d=0.1`, m = 0.5 the solution collapses onto RS
            (:math:`|S_I^{\rm 1RSB}-S_I^{\rm RS}|<10^{-12}`).
            At finite ``y`` (free reference): the Parisi parameter is the group size of the replicas
            around a reference, :math:`1<m<y` (default :math:`(1+y)/2`); the RS fixed-d saddle is solved
            and the 1RSB saddle of :mod:`physlearn.theory._le_finite_y_1rsb` searched at its coupling
            (:class:`FiniteY1RSB`; where it collapses the 1RSB result is the RS one).
        n_1rsb: outer nodes per half line of the 1RSB functional (default 48; inner nodes 24).
        reference: ``"free"`` (robust ensemble, PNAS 2016) or ``"solution"`` (PRL 2015).
        kappa_ref: margin of the reference (``reference="solution"`` only; ``>= kappa``).
        n: quadrature nodes per half line (1D); n2: per half line in each dimension of the 2D
            integrals of ``reference="solution"`` (default 48: error ~1e-9 at alpha = 0.6).

    Returns:
        :class:`LocalEntropyRS` (``entropy`` is :math:`S_I(d)`; ``S_hat`` = :math:`\frac12 dS_I/dd`),
        :class:`LocalEntropySolutionRS` for ``reference="solution"``, :class:`LocalEntropy1RSB` for
        ``rsb="1rsb"`` (:class:`LocalEntropySolution1RSB` with ``reference="solution"``); at finite y :class:`FiniteYRS` (free reference), :class:`FiniteY1RSB` (free
        reference, ``rsb="1rsb"``) or :class:`FiniteYSolutionRS`.
    """
    a = _as_param("alpha", alpha, positive=True)
    k = _as_param("kappa", kappa)
    dd = _validate_d(d)
    _broadcast(alpha=a, kappa=k)
    _validate_conventions(y, reference, rsb)
    finite_y = bool(np.isfinite(float(np.asarray(y))))
    if m is not None:
        lo, hi, rng = (1.0, float(y), "1 < m < y") if finite_y else (0.0, 1.0, "(0, 1)")
        if rsb != "1rsb":
            raise ValueError("m (the Parisi parameter) is only used with rsb='1rsb'")
        if is_traced(m) or np.ndim(m) != 0:
            raise ValueError(f"m must be a concrete Python number in {rng}")
        m = float(m)
        if not lo < m < hi:
            what = ("group size of the replicas around a reference" if finite_y
                    else "m -> 1 is the default analysis, m=None")
            raise ValueError(f"m must satisfy {rng} ({what}), got m={m!r}" + (f", y={y!r}" if finite_y else ""))
    f = jnp.result_type(float)
    if reference == "solution":
        kr = k if kappa_ref is None else _as_param("kappa_ref", kappa_ref)
        _broadcast(alpha=a, kappa=k, kappa_ref=kr)
        if not is_traced(kr, k) and (np.asarray(k) > np.asarray(kr) + 1e-15).any():
            raise ValueError("kappa_ref must be >= kappa (the reference must itself be a margin-kappa solution)")
        if finite_y:
            return _finite_y_solution(a, k, kr, dd, float(y), 48 if n_fy is None else int(n_fy), on_failure)
        from ._le_solution import DEFAULT_N2

        if rsb == "1rsb":
            if m is not None:
                raise NotImplementedError(
                    "physlearn.theory.local_entropy: with reference='solution' the 1RSB analysis is the "
                    "m -> 1 one (m=None); a fixed m < 1 is implemented for reference='free'")
            from ._le_1rsb import DEFAULT_N_IN

            sol = _solution_1rsb_grid(jnp.asarray(a, f), jnp.asarray(k, f), jnp.asarray(kr, f), jnp.asarray(dd, f),
                                      n, DEFAULT_N2 if n2 is None else int(n2), DEFAULT_N_IN)
            return _check_curve(
                sol, on_failure, "local_entropy.binary(reference='solution', rsb='1rsb')",
                "the analysis runs on the constrained RS branch (see reference='solution'); a converged=False "
                "point inside it is a condensed 1RSB solution (needs m < 1)",
            )
        sol = _le_solution_grid(jnp.asarray(a, f), jnp.asarray(k, f), jnp.asarray(kr, f), jnp.asarray(dd, f), n,
                                DEFAULT_N2 if n2 is None else int(n2))
        return _check_curve(
            sol, on_failure, "local_entropy.binary(reference='solution')",
            "the constrained solve starts from the free-reference branch (S_hat >= 0; above alpha_U not at small d)",
        )
    if kappa_ref is not None:
        raise ValueError("kappa_ref is only used with reference='solution'")
    if finite_y:
        from ._le_finite_y import DEFAULT_N_INNER, DEFAULT_N_OUTER

        sol = _finite_y_grid(jnp.asarray(a, f), jnp.asarray(k, f), jnp.asarray(float(y), f), jnp.asarray(dd, f), n,
                             DEFAULT_N_OUTER if n_fy is None else int(n_fy), DEFAULT_N_INNER)
        if rsb == "1rsb":
            sol = _finite_y_1rsb(sol, float(y), 0.5 * (1.0 + float(y)) if m is None else m)
            return _check_curve(
                sol, on_failure, f"local_entropy.binary(y={float(y):g}, rsb='1rsb')",
                "converged=False with rs_converged=True is a non-collapsed 1RSB saddle at the RS coupling: "
                "its fixed-d Legendre transform is not solved; inspect fixed_coupling(..., rsb='1rsb')",
            )
        return _check_curve(
            sol, on_failure, f"local_entropy.binary(y={float(y):g})",
            "the fixed-d solve starts from the fixed-coupling point at gamma = S_hat(d) of the y=inf curve; "
            "large gamma*y pushes q1 -> 1",
        )
    if rsb == "1rsb":
        from ._le_1rsb import DEFAULT_N_IN

        sol = _le1_grid(jnp.asarray(a, f), jnp.asarray(k, f), jnp.asarray(dd, f), n, int(n_1rsb), DEFAULT_N_IN, m)
        return _check_curve(
            sol, on_failure, "local_entropy.binary(rsb='1rsb')",
            "the 1RSB analysis runs on the y=inf RS branch (S_hat >= 0; above alpha_U not at small d); "
            "a converged=False point inside it is a condensed 1RSB solution (needs m < 1)",
        )
    sol = _le_grid(jnp.asarray(a, f), jnp.asarray(k, f), jnp.asarray(dd, f), n)
    return _check_curve(
        sol, on_failure, "local_entropy.binary",
        "the y=inf RS branch exists for S_hat >= 0 and, above alpha_U, not at small d",
    )


# --------------------------------------------------------------------------------------------
# Dense-region threshold alpha_U
# --------------------------------------------------------------------------------------------
class ThresholdResult(eqx.Module):
    r""":math:`\alpha_U` and where it happens (see :func:`dense_region_threshold`)."""

    kappa: jax.Array
    alpha_U: jax.Array
    d_star: jax.Array
    min_S_hat_below: jax.Array
    converged: jax.Array
    n_steps: jax.Array
    max_replicon: jax.Array | None = None


_D_SCAN = (0.005, 0.06, 28)


def _min_shat(alpha, kappa, n):
    lo, hi, k = _D_SCAN
    grid = jnp.asarray(np.geomspace(lo, hi, k), dtype=jnp.result_type(alpha, float))
    c = _curve_one(alpha, kappa, grid, n)
    sh = jnp.where(c.converged, c.S_hat, jnp.inf)
    i = jnp.clip(jnp.argmin(sh), 1, k - 2)
    # parabolic refinement of the minimum in log d
    x = jnp.log(jnp.stack([grid[i - 1], grid[i], grid[i + 1]]))
    yv = jnp.stack([c.S_hat[i - 1], c.S_hat[i], c.S_hat[i + 1]])
    den = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    A = (x[2] * (yv[1] - yv[0]) + x[1] * (yv[0] - yv[2]) + x[0] * (yv[2] - yv[1])) / den
    B = (x[2] ** 2 * (yv[0] - yv[1]) + x[1] ** 2 * (yv[2] - yv[0]) + x[0] ** 2 * (yv[1] - yv[2])) / den
    C = yv[1] - A * x[1] ** 2 - B * x[1]
    xm = jnp.clip(-B / (2 * A), x[0], x[2])
    refined = jnp.where(A > 0, jnp.minimum(A * xm * xm + B * xm + C, jnp.min(yv)), jnp.min(yv))
    return jnp.all(c.converged), refined, jnp.exp(jnp.where(A > 0, xm, x[1]))


def _threshold_one(kappa, n, lo, hi):
    def g(alpha, k):
        ok, m, _ = _min_shat(alpha, k, n)
        return jnp.where(ok, m, -1.0)

    sol = solvers.root(g, jnp.zeros_like(kappa), kappa, method="bisection", lower=lo, upper=hi, tol=1e-5,
                       max_steps=60)
    a = sol.value
    ok_lo, m_lo, d_lo = _min_shat(a - 1e-5, kappa, n)
    ok = (sol.n_steps < 60) & ok_lo & (m_lo >= 0.0) & (m_lo < 0.01)
    return ThresholdResult(kappa, a, d_lo, m_lo, ok, sol.n_steps)


@partial(jax.jit, static_argnames=("n", "lo", "hi"))
def _threshold_grid(kappa, n, lo, hi):
    return jax.lax.map(lambda k: _threshold_one(k, n, lo, hi), kappa.reshape(-1))


@eager_x64
def dense_region_threshold(
    kappa=0.0,
    reference: str = "free",
    rsb: str = "rs",
    *,
    n: int = DEFAULT_NODES,
    bracket=(0.6, 0.9),
    on_failure: str = "raise",
    full_output: bool = False,
):
    r""":math:`\alpha_U(\kappa)`: end of the dense-region phase of the binary perceptron
    (Baldassi et al. PRL 115, 128101 (2015); PNAS 113, E7655 (2016)).

    Criterion (``reference="free"``, ``rsb="rs"``, :math:`y\to\infty`): the largest :math:`\alpha`
    for which the local-entropy curve :math:`S_I(d)` of :func:`binary` is monotone at small
    :math:`d`, i.e. :math:`\min_d \hat S(d) \ge 0` with :math:`\hat S = \frac12 dS_I/dd`, the
    minimum taken over :math:`d\in[0.005, 0.06]` (28 geometric points, parabolic refinement).
    At :math:`\alpha_U` the minimum of :math:`\hat S` touches 0 (near :math:`d\approx0.02`--0.03),
    and just above it the :math:`\hat S\ge0` branch ends (the inner envelope :math:`M_S` has a kink
    at :math:`B=0` once :math:`\delta\hat q>1`). Found by bisection in :math:`\alpha` (tolerance
    1e-5) on that criterion. Returns :math:`\alpha_U` (or a :class:`ThresholdResult` with the
    distance :math:`d^*` of the minimum if ``full_output``).

    ``reference="solution"`` (PRL 2015): the free threshold shifted to first order by the
    constrained solve at :math:`(\alpha_U, d^*)` (see ``_solution_threshold``); the two conventions
    coincide to ~1e-6 at :math:`\kappa=0` because the constraint is almost inactive there.

    ``rsb="1rsb"``: the RS threshold checked by the :math:`m\to1` 1RSB analysis (``_one_rsb_threshold``):
    where every 1RSB search in the criterion's window collapses onto RS, the 1RSB criterion equals the
    RS one. With ``reference="solution"`` the check runs the solution-reference :math:`m\to1` analysis
    of :func:`binary` (minutes on a CPU; at the minimiser d* ~ 0.02-0.03 the constraint is inactive,
    mass < 1e-6; it binds weakly at the upper end of the window, mass ~9e-3 at d = 0.06 for
    alpha = 0.75). Finding at :math:`\kappa=0`: collapse everywhere, replicon slope
    :math:`\lambda\le0.29` in the window (largest 0.285 over its 8 distances), so
    :math:`\alpha_U^{\rm 1RSB}=\alpha_U^{\rm RS}=0.755` in this ansatz, below the literature's ~0.78
    (whose 1RSB breaks the symmetry differently; see the notes).
    """
    k = _as_param("kappa", kappa)
    _validate_conventions(float("inf"), reference, rsb)
    lo, hi = (float(b) for b in bracket)
    if not 0.0 < lo < hi:
        raise ValueError(f"bracket must satisfy 0 < lo < hi, got {bracket!r}")
    kk = jnp.asarray(k, jnp.result_type(float))
    out = _threshold_grid(kk, n, lo, hi)
    out = jax.tree_util.tree_map(lambda v: v.reshape(kk.shape), out)
    _check(out, on_failure, "local_entropy.dense_region_threshold", {"kappa": out.kappa},
           "widen bracket (alpha_U must lie inside it)")
    if reference == "solution":
        out = _solution_threshold(out, n, on_failure)
    if rsb == "1rsb":
        out = _one_rsb_threshold(out, n, on_failure, reference)
    return out if full_output else out.alpha_U


_D_CHECK_1RSB = (0.005, 0.06, 8)


def _one_rsb_threshold(rs, n, on_failure, reference="free"):
    r"""1RSB check of the RS threshold: at :math:`\alpha_U^{\rm RS}` the :math:`m\to1` 1RSB analysis of
    :func:`binary` (``rsb="1rsb"``, same ``reference``) on 8 geometric distances of the criterion's
    window. If every
    search collapses onto RS, the 1RSB curve *is* the RS curve there, hence so is the criterion:
    :math:`\alpha_U^{\rm 1RSB}=\alpha_U^{\rm RS}` (``converged``), with the largest replicon slope seen
    in ``max_replicon``. A non-collapsed point flags the result (the threshold would then need the
    1RSB curve itself)."""
    kap = np.asarray(rs.kappa).reshape(-1)
    aU = np.asarray(rs.alpha_U).reshape(-1)
    grid = np.geomspace(*_D_CHECK_1RSB)
    ok, lam = [], []
    for kq, a0 in zip(kap, aU):
        c = binary(a0 - 1e-5, grid, kq, reference=reference, rsb="1rsb", n=n, on_failure="flag")
        ok.append(bool(np.all(np.asarray(c.converged) & np.asarray(c.collapsed))))
        lam.append(float(np.max(np.asarray(c.replicon))))
    shape = np.shape(rs.alpha_U)
    out = ThresholdResult(rs.kappa, rs.alpha_U, rs.d_star, rs.min_S_hat_below,
                          np.asarray(ok).reshape(shape) & np.asarray(rs.converged), rs.n_steps,
                          np.asarray(lam).reshape(shape))
    _check(out, on_failure, "local_entropy.dense_region_threshold(rsb='1rsb')", {"kappa": out.kappa},
           "a 1RSB search at alpha_U did not collapse onto RS (or did not converge)")
    return out


_DALPHA = 5e-3


def _solution_threshold(free, n, on_failure):
    r"""First-order shift of :math:`\alpha_U` from the free to the constrained reference:
    :math:`\alpha_U^{\rm sol} = \alpha_U^{\rm free} - [\hat S_{\rm sol}-\hat S_{\rm free}](d^*)
    / \partial_\alpha\min_d\hat S_{\rm free}`, the constrained :math:`\hat S` solved at
    :math:`(\alpha_U^{\rm free}, d^*)` (envelope theorem: the shift of the minimiser :math:`d^*` is
    second order), the slope by a one-sided difference of the free criterion."""
    kap = np.asarray(free.kappa).reshape(-1)
    aU = np.asarray(free.alpha_U).reshape(-1)
    ds = np.asarray(free.d_star).reshape(-1)
    new_a, ok = [], []
    for kq, a0, d0 in zip(kap, aU, ds):
        sol = binary(a0, np.array([d0]), kq, reference="solution", n=n, on_failure="flag")
        fr = binary(a0, np.array([d0]), kq, n=n, on_failure="flag")
        m_lo = float(_min_shat_jit(jnp.asarray(a0 - _DALPHA), jnp.asarray(kq), n)[1])
        m_0 = float(np.asarray(fr.S_hat)[0])
        slope = (m_0 - m_lo) / _DALPHA
        shift = float(np.asarray(sol.S_hat)[0] - fr.S_hat[0])
        new_a.append(a0 - shift / slope if slope < 0 else a0)
        ok.append(bool(np.asarray(sol.converged)[0]) and slope < 0)
    shape = np.shape(free.alpha_U)
    out = ThresholdResult(free.kappa, np.asarray(new_a).reshape(shape), free.d_star, free.min_S_hat_below,
                          np.asarray(ok).reshape(shape) & np.asarray(free.converged), free.n_steps)
    _check(out, on_failure, "local_entropy.dense_region_threshold(reference='solution')", {"kappa": out.kappa},
           "the constrained solve at (alpha_U, d*) did not converge")
    return out


@partial(jax.jit, static_argnames=("n",))
def _min_shat_jit(alpha, kappa, n):
    return _min_shat(alpha, kappa, n)


# --------------------------------------------------------------------------------------------
# Finite y, fixed coupling (free reference, RS): the form fBP measures
# --------------------------------------------------------------------------------------------
class FixedCouplingRS(eqx.Module):
    r"""Finite-:math:`y` large-deviation measure at fixed coupling :math:`\gamma` (free reference,
    RS; :mod:`physlearn.theory._le_finite_y`). Shapes: broadcast shape of ``alpha, gamma, y, kappa``.

    Attributes:
        free_entropy: :math:`\Phi_{\rm tot}/y` (LD free entropy per replica);
        S, d: replica--reference overlap and distance :math:`d=(1-S)/2`;
        q0, q1, q0_hat, q1_hat: overlaps of replicas around different / the same reference;
        phi_int: :math:`\partial_y\Phi_{\rm tot}`; internal_entropy: :math:`\Sigma_{\rm int}=\phi_{\rm int}-\gamma S`
            (thermodynamic local entropy of the selected references at distance d; :math:`H_2(d)` at
            :math:`\alpha=0`);
        total_local_entropy: :math:`\Phi_{\rm tot}/y-\gamma S`, with :math:`\Phi_{\rm tot}/y` the free
            entropy per replica of :math:`Z=\sum_{\tilde W}\prod_a\sum_{W^a}X(W^a)e^{\gamma\tilde W\cdot W^a}`;
            equals ``internal_entropy + external_entropy / y`` (:math:`H_2(d)+\log2/y` at :math:`\alpha=0`).
            Focusing BP (:func:`physlearn.algorithms.fbp.fixed_point`) reports both: its ``local_entropy``
            is ``internal_entropy`` (the reference code's :math:`-\beta F-\gamma S`) and its
            ``free_entropy - gamma * overlap`` is this;
        external_entropy: :math:`\Sigma_{\rm ext}=\Phi_{\rm tot}-y\phi_{\rm int}` (must be >= 0;
            ``external_ok`` is False where it is negative: the RS measure is then unphysical);
        converged, residual, n_steps.
    """

    alpha: jax.Array
    gamma: jax.Array
    y: jax.Array
    kappa: jax.Array
    free_entropy: jax.Array
    S: jax.Array
    d: jax.Array
    q0: jax.Array
    q1: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    phi_int: jax.Array
    internal_entropy: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


@partial(jax.jit, static_argnames=("n", "n_in"))
def _fc_grid(alpha, gamma, y, kappa, n, n_in):
    from . import _le_finite_y as fy

    def one(a, g, yy, k):
        th, ok, res, ns = fy.solve_coupling(g, yy, a, k, n, n_in)
        tot, S, phi, s_int, s_ext = fy.derived(th, g, yy, a, k, n, n_in)
        ok = ok & jnp.isfinite(tot)
        return FixedCouplingRS(a, g, yy, k, tot / yy, S, 0.5 * (1.0 - S), th[0], th[1], th[2], th[3], phi, s_int,
                               tot / yy - g * S, s_ext, s_ext >= 0.0, ok, res, ns)

    return _grid_map(one, alpha, gamma, y, kappa)


class FixedCoupling1RSB(eqx.Module):
    r"""Finite-:math:`y` measure at fixed coupling with a 1RSB structure among the replicas around each
    reference (free reference; :mod:`physlearn.theory._le_finite_y_1rsb`;
    ``fixed_coupling(..., rsb="1rsb")``). Shapes: broadcast shape of ``alpha, gamma, y, kappa, m``.

    Attributes:
        m: Parisi parameter (group size, :math:`1<m<y`);
        free_entropy, S, d, phi_int, internal_entropy, total_local_entropy, external_entropy,
            external_ok: as :class:`FixedCouplingRS`, at the 1RSB saddle (the RS values where it collapses);
        q0, qb, qc, q0_hat, qb_hat, qc_hat: overlaps with replicas of other references, of other groups
            around the same reference, inside a group (``qc == qb`` where the solution collapses);
        dphi_dm: :math:`\partial_m\Phi_{\rm tot}` (0 at the optimal :math:`m`; ~0 at a collapse, where
            :math:`\Phi` does not depend on :math:`m`);
        collapsed: the 1RSB search from a nearly frozen intra-group start returned to RS;
        replicon: contraction rate of the intra-group gap at the collapse (RS locally stable in this
            direction if < 1; NaN where the collapse was reached by the gap threshold instead);
        rs_converged: the RS saddle converged; converged: RS converged and the 1RSB search either
            collapsed or reached a fixed point; residual, n_steps: of the 1RSB search.
    """

    alpha: jax.Array
    gamma: jax.Array
    y: jax.Array
    kappa: jax.Array
    m: jax.Array
    free_entropy: jax.Array
    S: jax.Array
    d: jax.Array
    q0: jax.Array
    qb: jax.Array
    qc: jax.Array
    q0_hat: jax.Array
    qb_hat: jax.Array
    qc_hat: jax.Array
    phi_int: jax.Array
    internal_entropy: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    dphi_dm: jax.Array
    collapsed: jax.Array
    replicon: jax.Array
    rs_converged: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


@partial(jax.jit, static_argnames=("n", "n_mid", "n_in"))
def _fc1_grid(alpha, gamma, y, kappa, m, n, n_mid, n_in):
    from . import _le_finite_y as fy
    from . import _le_finite_y_1rsb as f1

    def one(a, g, yy, k, mm):
        th_rs, ok_rs, _, _ = fy.solve_coupling(g, yy, a, k, n, n_in)
        th, col, ok, res, ns, slope = f1.search(th_rs, g, yy, mm, a, k, n, n_mid, n_in)
        tot, S, phi, s_int, s_ext, dm = f1.derived(th, g, yy, mm, a, k, n, n_mid, n_in)
        ok = ok & ok_rs & jnp.isfinite(tot)
        return FixedCoupling1RSB(a, g, yy, k, mm, tot / yy, S, 0.5 * (1.0 - S), *(th[i] for i in range(6)), phi, s_int,
                                 tot / yy - g * S, s_ext, s_ext >= 0.0, dm, col, slope, ok_rs, ok, res, ns)

    return _grid_map(one, alpha, gamma, y, kappa, m)


@eager_x64
def fixed_coupling(alpha, gamma, y, kappa=0.0, *, rsb: str = "rs", m=None, n: int | None = None,
                   n_in: int | None = None, n_mid: int = 16, on_failure: str = "raise"):
    r"""Finite-:math:`y` large-deviation measure of the binary perceptron at fixed coupling
    :math:`\gamma` with a free reference (robust ensemble; Baldassi et al. PNAS 113, E7655 (2016),
    the form measured by focusing BP, their App. D.1; functional derived from theory notes §C.1):

    .. math:: \Phi_{\rm tot} = -\tfrac y2\hat q_1(1-q_1)-\tfrac{y^2}2(\hat q_1q_1-\hat q_0q_0)
              + \int Dz\log\sum_{\tilde W}\int Dz_2[2\cosh(\sqrt{\hat q_0}z+\sqrt{\hat q_1-\hat q_0}z_2+\gamma\tilde W)]^y
              + \alpha\int Dz\log\int Dz_2 H\big(\tfrac{\kappa-\sqrt{q_0}z-\sqrt{q_1-q_0}z_2}{\sqrt{1-q_1}}\big)^y .

    Normalisation: :math:`\Phi_{\rm tot}=\frac1N\mathbb E\log Z` for the whole replicated system
    (reference + ``y`` replicas), ``free_entropy`` :math:`=\Phi_{\rm tot}/y` is per replica.

    Returns :class:`FixedCouplingRS` with :math:`S`, :math:`d`, :math:`q_0,q_1`,
    :math:`\Sigma_{\rm int}=\partial_y\Phi_{\rm tot}-\gamma S` (``internal_entropy``, the thermodynamic
    local entropy, :math:`H_2(d)` at :math:`\alpha=0`), ``total_local_entropy``
    :math:`=\Phi_{\rm tot}/y-\gamma S` (:math:`H_2(d)+\log2/y` at :math:`\alpha=0`; it equals
    :math:`\Sigma_{\rm int}+\Sigma_{\rm ext}/y`, so the two agree as :math:`y\to\infty`; focusing BP's
    ``local_entropy`` is :math:`\Sigma_{\rm int}`, the reference code's convention),
    :math:`\Sigma_{\rm ext}` (flagged where negative). Solved without initial guess by a homotopy in
    :math:`\alpha` (module :mod:`physlearn.theory._le_finite_y`). Broadcasts over all four
    parameters; ``y > 1`` (real replicas), ``gamma > 0``. As :math:`y\to\infty` at fixed :math:`d`
    the internal entropy tends to :func:`binary`'s :math:`S_I(d)` (roughly as :math:`1/y`).

    ``rsb="1rsb"`` (PNAS 2016 App. D.3, Fig. 11): the ``y`` replicas around each reference form groups
    of ``m`` (Parisi parameter, :math:`1<m<y`; default :math:`(1+y)/2`), with three levels of
    overlaps :math:`q_0\le q_b\le q_c` (functional and reductions in
    :mod:`physlearn.theory._le_finite_y_1rsb`). The RS saddle is solved first; the 1RSB saddle is then
    searched from a nearly frozen intra-group start. Returns :class:`FixedCoupling1RSB`; where the
    search collapses onto RS (``collapsed``) every entropy equals the RS one. Defaults ``n=32, n_in=16``
    (``n=48, n_in=24`` for RS) for this ansatz (three nested integrals) unless given. Finding (tested): at :math:`\alpha=0.6`,
    :math:`y=5`, :math:`\gamma\in[0.25,0.7]`, :math:`m\in[2,4.5]`, :math:`\kappa=0` it collapses.
    """
    if rsb not in ("rs", "1rsb"):
        raise ValueError(f"rsb must be 'rs' or '1rsb', got {rsb!r}")
    if m is not None and rsb != "1rsb":
        raise ValueError("m (the Parisi parameter) is only used with rsb='1rsb'")
    a = _as_param("alpha", alpha, positive=True)
    g = _as_param("gamma", gamma, positive=True)
    yy = _as_param("y", y)
    k = _as_param("kappa", kappa)
    if not is_traced(yy) and (np.asarray(yy) <= 1.0).any():
        raise ValueError(f"y must be > 1 (number of real replicas), got {y!r}")
    if rsb == "1rsb":
        mm = 0.5 * (1.0 + np.asarray(yy)) if m is None else _as_param("m", m)
        if not is_traced(mm) and not is_traced(yy) and ((np.asarray(mm) <= 1.0) | (np.asarray(mm) >= np.asarray(yy))).any():
            raise ValueError(f"m must satisfy 1 < m < y (group size of the replicas around a reference), got m={m!r}, y={y!r}")
        _broadcast(alpha=a, gamma=g, y=yy, kappa=k, m=mm)
        out = _fc1_grid(a, g, yy, k, mm, int(n or 32), int(n_mid), int(n_in or 16))
        _check(out, on_failure, "local_entropy.fixed_coupling(rsb='1rsb')",
               {"alpha": out.alpha, "gamma": out.gamma, "y": out.y, "m": out.m},
               "the 1RSB search neither collapsed nor reached a fixed point: try another m or more nodes")
        return out
    _broadcast(alpha=a, gamma=g, y=yy, kappa=k)
    out = _fc_grid(a, g, yy, k, int(n or 48), int(n_in or 24))
    _check(out, on_failure, "local_entropy.fixed_coupling", {"alpha": out.alpha, "gamma": out.gamma, "y": out.y},
           "large gamma*y pushes q1 -> 1: increase n_in or lower y")
    return out
