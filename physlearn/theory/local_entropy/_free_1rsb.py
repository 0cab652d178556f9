r"""Large-deviation local entropy at :math:`y\to\infty`, free reference, with a 1RSB structure among
the replicas around each reference (Baldassi et al. PRL 115, 128101 (2015) SM; PNAS 113, E7655
(2016); theory notes §C.4, derived here).

Replicas around one reference are split into groups of :math:`m` (Parisi parameter): overlap
:math:`q_1` inside a group (intra-cluster), :math:`q_0` between groups around the same reference
(inter-cluster), and :math:`q_0-\delta q/y` with replicas of other references. Conjugates
:math:`\hat q_1,\hat q_0,\hat q_0-\delta\hat q/y`; :math:`\hat S` fixes :math:`S=1-2d`. Starting from
the finite-:math:`y` functional with one more level of nesting and taking :math:`y\to\infty` as in
§C.2 (free reference: :math:`\hat Q=\hat S_0=0`, the outer inner integral becomes a maximisation):

.. math::

    S_I &= -\hat S S - \tfrac12\hat q_1(1-q_1) - \tfrac m2(\hat q_1q_1-\hat q_0q_0)
          - \tfrac12(\delta\hat q\,q_0 + \hat q_0\,\delta q)
          + \int Dz\,M_S(\sqrt{\hat q_0}|z|+\hat S) + \alpha\int Dz\,M_E(\kappa-\sqrt{q_0}z),\\
    M_S(B) &= \max_w\Big[-\frac{w^2}2 + L_S(B+\sqrt{\delta\hat q}\,w)\Big],\qquad
    L_S(x) = \frac1m\log\int Dz\,[2\cosh(x+\sqrt{\hat q_1-\hat q_0}\,z)]^m,\\
    M_E(c) &= \max_w\Big[-\frac{w^2}2 + L_E(c-\sqrt{\delta q}\,w)\Big],\qquad
    L_E(v) = \frac1m\log\int Dz\,H\Big(\frac{v-\sqrt{q_1-q_0}\,z}{\sqrt{1-q_1}}\Big)^m .

Collapse: at :math:`q_1=q_0,\ \hat q_1=\hat q_0` (any :math:`m`) or at :math:`m=1` (any
:math:`q_1,\hat q_1`: the inner Gaussian convolutions are then exact) this is the RS functional of
:mod:`physlearn.theory.local_entropy` with :math:`q_1^{\rm RS}=q_0`.

Numerics. :math:`L_E` is the log of an integral of a log-concave integrand: Gauss--Hermite recentred
on its maximum (Laplace shift, pitfall 6). The integrand of :math:`L_S` is bimodal once
:math:`m(\hat q_1-\hat q_0)>1`, so it is computed exactly as four pieces:
:math:`(2\cosh t)^m = e^{m|t|} + e^{-(2-m)|t|}\kappa_m(|t|)` with
:math:`\kappa_m(t)=e^{2t}[(1+e^{-2t})^m-1]\in[2^m-1, m]` smooth and bounded; the :math:`e^{m|t|}` parts are
closed forms in :math:`H`, the others truncated-Gaussian expectations of :math:`\kappa_m`. The
maximisers (:math:`h=B+\delta\hat q L_S'(h)`, :math:`v=c+\delta q L_E'(v)`) are scalar Newton solves
under ``stop_gradient``: by the envelope theorem autodiff gives exact *first* derivatives.

Saddle point. The trace is bilinear, so stationarity reads as two explicit maps:
overlaps -> conjugates (:func:`energetic_conjugates`) and conjugates -> overlaps
(:func:`entropic_overlaps`). At :math:`m\to1` the functional equals RS for any
:math:`(q_1,\hat q_1)`, so the inter-cluster level *is* the RS saddle and the intra-cluster level is
a scalar fixed point (:func:`intra_map`, the reconstruction equations): :func:`replicon` gives its
slope at the collapse (local RS stability), :func:`reconstruct` searches a non-trivial solution from a
nearly frozen start, :func:`complexity_m1` the complexity of such clusters (negative = condensed,
the case that needs :math:`m<1`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm

DEFAULT_N = 64  # outer nodes per half line
DEFAULT_N_IN = 24  # inner nodes (per piece)
_NEWTON = 24  # at most; the solves stop at a step below _NEWTON_TOL (1 + |x|)
_NEWTON_TOL = 1e-13
_SIG_FLOOR = 1e-12


# --------------------------------------------------------------------------------------------
# inner 1RSB integrals
# --------------------------------------------------------------------------------------------
def _trunc_expect(f, c, n):
    r""":math:`\int_c^\infty Dz\,f(z)/H(c)` (normalised truncated Gaussian; ``f`` smooth, varying fastest
    near the edge). For :math:`c\ge0` one half-line rule clustered at :math:`c`; for :math:`c<0` the
    interval :math:`[c,0]` (Gauss--Legendre clustered at :math:`c`) plus the half line from 0. Weights
    :math:`G(z)/H(c)` in log space (no underflow for :math:`c\gg1`)."""
    s, ws = nm._gauss_legendre01(n)
    s = jnp.asarray(s, dtype=jnp.result_type(c, float))
    ws = jnp.asarray(ws, dtype=s.dtype)
    cc = jnp.maximum(c, -9.0)
    cp = jnp.maximum(cc, 0.0)
    cn = jnp.minimum(cc, 0.0)
    U = 80.0 / (cp + jnp.sqrt(cp * cp + 80.0))  # = sqrt(cp^2 + 80) - cp without cancellation
    z = jnp.concatenate([cp + U * s * s, cn - cn * s * s])
    jac = jnp.concatenate([2.0 * U * s * ws, -2.0 * cn * s * ws])
    logG = -0.5 * z * z - 0.5 * np.log(2 * np.pi)
    # the [c, 0] nodes collapse onto z = 0 (zero weight) for c >= 0: keep their exponent finite
    lw = jnp.where(jac > 0, logG - nm.log_H(cc), -jnp.inf)
    lw = jnp.where(jac > 0, jnp.minimum(lw, 700.0), -jnp.inf)
    return jnp.sum(jac * jnp.exp(lw) * f(z))


def _kappa_m(t, m):
    r""":math:`e^{2t}[(1+e^{-2t})^m-1]` for :math:`t\ge0` (stable: ``expm1(m log1p(e^{-2t}))``)."""
    e = jnp.exp(-2.0 * t)
    return jnp.expm1(m * jnp.log1p(e)) / e


def log_inner_entropic(x, s2, m, n_in=DEFAULT_N_IN):
    r""":math:`\log\int Dz\,[2\cosh(x+\sigma z)]^m`, :math:`\sigma^2=` ``s2`` (exact four-piece form)."""
    sig = jnp.sqrt(jnp.maximum(s2, _SIG_FLOOR**2))
    hl = 0.5 * m * m * sig * sig
    hk = 0.5 * (2.0 - m) ** 2 * sig * sig

    def side(xx):
        t1 = m * xx + hl + nm.log_H(-xx / sig - m * sig)
        mu = xx - (2.0 - m) * sig * sig
        c = -mu / sig
        ek = _trunc_expect(lambda z: _kappa_m(jnp.maximum(mu + sig * z, 0.0), m), c, n_in)
        t2 = -(2.0 - m) * xx + hk + nm.log_H(c) + jnp.log(ek)
        return jnp.logaddexp(t1, t2)

    return jnp.logaddexp(side(x), side(-x))


_SHIFT_ITERS = 6


def _energetic_shift(v, delta, s1, m):
    r"""Centre and scale of the Gauss--Hermite rule of :func:`_log_inner_energetic`: a few Newton
    steps of :math:`u+KA(u)=v/s_1`, :math:`K=m\Delta/s_1^2`, and the curvature there. Called on
    ``stop_gradient`` inputs, so that derivatives of the integral never trace this loop."""
    sd = jnp.sqrt(jnp.maximum(delta, 1e-300))
    K = m * delta / (s1 * s1)
    c = v / s1

    def body(_, u):
        return u - (u + K * nm.GH(u) - c) / (1.0 + K * nm.GH_prime(u))

    u = jax.lax.fori_loop(0, _SHIFT_ITERS, body, c)
    return m * sd * nm.GH(u) / s1, 1.0 / jnp.sqrt(1.0 + K * nm.GH_prime(u))


def _log_inner_energetic(v, delta, s1, m, n_in):
    r""":math:`\log\int Dz\,H((v-\sqrt\Delta z)/s_1)^m`: Gauss--Hermite recentred on the (approximate,
    a few Newton steps of :math:`u+KA(u)=v/s_1`, :math:`K=m\Delta/s_1^2`) maximiser of the log-concave
    integrand and rescaled by its curvature. The shift is a change of variables held under
    ``stop_gradient``: the value is exact up to quadrature for any shift."""
    sd = jnp.sqrt(jnp.maximum(delta, 1e-300))
    zs, sig = _energetic_shift(*jax.lax.stop_gradient((v, delta, s1, m)))  # no tangents: traced once
    t, w = nm.gauss_hermite(n_in)
    t = jnp.asarray(t, dtype=jnp.result_type(v, float))
    lw = jnp.log(jnp.asarray(w, dtype=t.dtype))
    z = zs + sig * t
    ell = -0.5 * z * z + m * nm.log_H((v - sd * z) / s1) + 0.5 * t * t
    return jax.scipy.special.logsumexp(lw + ell) + jnp.log(sig)


# --------------------------------------------------------------------------------------------
# Moreau envelopes
# --------------------------------------------------------------------------------------------
def _newton_loop(body, init):
    r"""Run ``body`` (one Newton step: state -> (*state, |step|, it)) from ``init`` (its first entry is
    the iterate x) until the step is below ``_NEWTON_TOL`` (1 + |x|) (quadratic convergence: the next
    step would be at rounding level) or ``_NEWTON`` steps; returns the first state entry."""

    def cond(st):
        x, step, it = st[0], st[-2], st[-1]
        return (it < _NEWTON) & ~(step <= _NEWTON_TOL * (1.0 + jnp.abs(x)))

    one = jnp.ones_like(init[0])
    return jax.lax.while_loop(cond, body, (*init, one, 0))[0]


def moreau_entropic(B, D, s2, m, n_in=DEFAULT_N_IN):
    r""":math:`M_S(B)=\max_w[-w^2/2+L_S(B+\sqrt D w)]`; maximiser :math:`h=B+D L_S'(h)` (sign of B)."""
    L = lambda x, s2_, m_: log_inner_entropic(x, s2_, m_, n_in) / m_  # noqa: E731
    Lp = jax.grad(L, 0)

    def solve(p):
        B_, D_, s2_, m_ = p
        aB = jnp.abs(B_)
        lo, hi = aB, aB + D_

        def body(st):
            h, lo, hi, _, it = st
            f = h - aB - D_ * Lp(h, s2_, m_)
            fp = 1.0 - D_ * jax.grad(Lp, 0)(h, s2_, m_)
            lo = jnp.where(f < 0, h, lo)
            hi = jnp.where(f > 0, h, hi)
            hn = h - f / fp
            bad = (hn < lo) | (hn > hi) | ~jnp.isfinite(hn)  # a bracket end itself is a valid iterate
            hn = jnp.where(bad, 0.5 * (lo + hi), hn)
            return hn, lo, hi, jnp.abs(hn - h), it + 1

        h = _newton_loop(body, (hi, lo, hi))
        return jnp.where(B_ < 0, -h, h)

    h = solve(jax.lax.stop_gradient((B, D, s2, m)))  # envelope theorem: exact first derivatives
    return -0.5 * (h - B) ** 2 / D + L(h, s2, m), h


def moreau_energetic(c, dq, delta, s1, m, n_in=DEFAULT_N_IN):
    r""":math:`M_E(c)=\max_w[-w^2/2+L_E(c-\sqrt{\delta q}w)]`; maximiser :math:`v=c+\delta q L_E'(v)`."""
    L = lambda v, d_, s_, m_: _log_inner_energetic(v, d_, s_, m_, n_in) / m_  # noqa: E731
    Lp = jax.grad(L, 0)

    def solve(p):
        c_, dq_, d_, s_, m_ = p

        def body(st):
            v, _, it = st
            f = v - c_ - dq_ * Lp(v, d_, s_, m_)
            fp = 1.0 - dq_ * jax.grad(Lp, 0)(v, d_, s_, m_)
            vn = v - f / fp
            return vn, jnp.abs(vn - v), it + 1

        return _newton_loop(body, (c_,))

    v = solve(jax.lax.stop_gradient((c, dq, delta, s1, m)))  # envelope theorem
    return -0.5 * (c - v) ** 2 / dq + L(v, delta, s1, m), v


# --------------------------------------------------------------------------------------------
# functional
# --------------------------------------------------------------------------------------------
NAMES = ("q0", "q1", "dq", "q0_hat", "q1_hat", "dq_hat", "S_hat", "m")


def entropic_term(p0, p1, dp, sh, m, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`G_S=\int Dz\,M_S(\sqrt{\hat q_0}|z|+\hat S)` (even in :math:`z`: one half line)."""
    zs, ws = nm.half_line_rule(jnp.zeros_like(p0), n)
    ms = jax.vmap(lambda z: moreau_entropic(jnp.sqrt(p0) * z + sh, dp, p1 - p0, m, n_in)[0])(zs)
    return 2.0 * jnp.sum(ws * ms)


def energetic_term(q0, q1, dq, m, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`G_E=\int Dz\,M_E(\kappa-\sqrt{q_0}z)` (split at the kink :math:`z=\kappa/\sqrt{q_0}`)."""
    s1 = jnp.sqrt(1.0 - q1)
    return nm.gauss_expect_split(
        lambda z: moreau_energetic(kappa - jnp.sqrt(q0) * z, dq, q1 - q0, s1, m, n_in)[0], kappa / jnp.sqrt(q0), n
    )


def free_entropy(theta, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""The :math:`y\to\infty` 1RSB functional of the module docstring,
    ``theta = (q0, q1, dq, q0_hat, q1_hat, dq_hat, S_hat, m)``. Composable."""
    q0, q1, dq, p0, p1, dp, sh, m = (theta[i] for i in range(8))
    S = 1.0 - 2.0 * d
    g_s = entropic_term(p0, p1, dp, sh, m, n, n_in)
    g_e = energetic_term(q0, q1, dq, m, kappa, n, n_in)
    trace = -sh * S - 0.5 * p1 * (1.0 - q1) - 0.5 * m * (p1 * q1 - p0 * q0) - 0.5 * (dp * q0 + p0 * dq)
    return trace + g_s + alpha * g_e


def from_rs(theta_rs, dq1=0.0, dp1=0.0, m=0.5):
    r"""1RSB parameters from RS ones ``(q1, dq, q1_hat, dq_hat, S_hat)`` with intra-cluster increments
    (``dq1 = q1 - q0``, ``dp1 = q1_hat - q0_hat``); ``dq1 = dp1 = 0`` is the collapsed (RS) point."""
    q, dq, qh, dqh, sh = (theta_rs[i] for i in range(5))
    return jnp.stack([q, q + dq1, dq, qh, qh + dp1, dqh, sh, jnp.asarray(m, q.dtype) + 0 * q])


# --------------------------------------------------------------------------------------------
# saddle-point equations as conjugate maps
# --------------------------------------------------------------------------------------------
M_ONE = 1.0 - 1e-3  # the m -> 1 limit, taken numerically (bias O(1 - m) on the slopes; smaller 1 - m
#                      amplifies quadrature noise by 1/(1 - m))


def energetic_conjugates(q0, q1, dq, m, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""Conjugates from :math:`\partial S_I/\partial(q_0,q_1,\delta q)=0` (the trace is linear in them):
    :math:`\hat q_0=2\alpha\,\partial_{\delta q}G_E`,
    :math:`\hat q_1=-2\alpha\,\partial_{q_1}G_E/(1-m)`,
    :math:`\delta\hat q=m\hat q_0+2\alpha\,\partial_{q_0}G_E`."""
    e0, e1, ed = jax.grad(energetic_term, (0, 1, 2))(q0, q1, dq, m, kappa, n, n_in)
    p0 = 2.0 * alpha * ed
    return p0, -2.0 * alpha * e1 / (1.0 - m), m * p0 + 2.0 * alpha * e0


def entropic_overlaps(p0, p1, dp, sh, m, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""Overlaps from :math:`\partial S_I/\partial(\hat q_0,\hat q_1,\delta\hat q,\hat S)=0`:
    :math:`q_0=2\partial_{\delta\hat q}G_S`, :math:`q_1=(1-2\partial_{\hat q_1}G_S)/(1-m)`,
    :math:`\delta q=mq_0+2\partial_{\hat q_0}G_S`, and :math:`S=\partial_{\hat S}G_S` (returned as the
    fourth entry: the distance it implies)."""
    g0, g1, gd, gs = jax.grad(entropic_term, (0, 1, 2, 3))(p0, p1, dp, sh, m, n, n_in)
    q0 = 2.0 * gd
    return q0, (1.0 - 2.0 * g1) / (1.0 - m), m * q0 + 2.0 * g0, gs


def intra_map(q1, rs, alpha, kappa=0.0, m=M_ONE, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""One sweep of the intra-cluster equations with the inter-cluster level held at the RS saddle
    ``rs = (q, dq, q_hat, dq_hat, S_hat)``: :math:`q_1\to\hat q_1(q_1)\to q_1'`. At :math:`m\to1` the
    inter-cluster equations *are* the RS ones (the functional equals RS for any :math:`q_1,\hat q_1`),
    so this is the exact :math:`m\to1` 1RSB system (the "reconstruction" equations). Returns
    ``(q1', q1_hat)``."""
    q0, dq, p0, dp, sh = (rs[i] for i in range(5))
    p1 = energetic_conjugates(q0, q1, dq, m, alpha, kappa, n, n_in)[1]
    p1 = jnp.maximum(p1, p0 * (1.0 + 1e-12) + 1e-300)
    q1n = entropic_overlaps(p0, p1, dp, sh, m, n, n_in)[1]
    return jnp.clip(q1n, q0 + 1e-12 * (1.0 - q0), 1.0 - 1e-12), p1


def analyse_collapse(rs, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN, start=0.9, damping=0.8,
                     max_steps=200, tol=1e-9, rel=1e-3, collapse=1e-7, intra=None):
    r"""The :math:`m\to1` 1RSB analysis at the RS saddle ``rs = (q, dq, q_hat, dq_hat, S_hat)``, two
    chains of :func:`intra_map` swept together (one compiled sweep):

    * replicon: the slope :math:`\lambda=\partial q_1'/\partial q_1` at the collapse
      :math:`q_1=q_0`, a one-sided difference with step ``rel*(1-q0)`` from the first sweep
      (:math:`q_1'=q_0` exactly at the collapse; accuracy ~1e-3). The linearised sweep multiplies
      :math:`q_1-q_0` by :math:`\lambda`: RS is locally stable against this 1RSB for
      :math:`\lambda<1` (the de Almeida--Thouless condition of the ansatz).
    * reconstruction: the second chain searches a non-trivial solution by the damped iteration
      :math:`q_1\to(1-\eta)q_1+\eta\,q_1'` from a nearly frozen start :math:`q_1=q_0+\text{start}(1-q_0)`
      (clusters of almost single configurations, as typical binary-perceptron solutions are),
      until :math:`|q_1'-q_1|\le` ``tol`` or :math:`q_1-q_0\le` ``collapse`` :math:`(1-q_0)`.

    Returns ``(lam, q1, q1_hat, converged, residual, n_steps)``; ``q1 - q0 <= collapse (1 - q0)``
    means the 1RSB solution collapses onto RS (the iteration then contracts at rate
    :math:`1-\eta+\eta\lambda`). A search that runs into :math:`1-q_1<10^{-9}` (a frozen solution,
    :math:`q_1=1`, outside what this parametrisation resolves, or the clip of :func:`intra_map`) is
    reported as not converged.

    ``intra``: another intra-cluster map ``q1 -> (q1', q1_hat)`` at the same inter-cluster saddle
    (``rs[0]`` is :math:`q_0`), e.g. the solution-reference one of
    :func:`physlearn.theory._le_solution.intra_map_1rsb`; default :func:`intra_map`."""
    q0 = rs[0]
    eps = rel * (1.0 - q0)
    floor = collapse * (1.0 - q0)
    if intra is None:
        intra = lambda q: intra_map(q, rs, alpha, kappa, M_ONE, n, n_in)  # noqa: E731
    sweep = jax.vmap(intra)

    def done(x, r):
        return (r <= tol) | (x[1] - q0 <= floor)

    def cond(st):
        x, p, r, it, lam = st
        return (it < max_steps) & ~done(x, r) & jnp.isfinite(r)

    def body(st):
        x, p, _, it, lam = st
        fx, px = sweep(x)
        lam = jnp.where(it == 0, (fx[0] - q0) / eps, lam)
        xn = x.at[1].set((1.0 - damping) * x[1] + damping * fx[1])
        return xn, px[1], jnp.abs(fx[1] - x[1]), it + 1, lam

    one = jnp.ones_like(q0)
    x0 = jnp.stack([q0 + eps, q0 + start * (1.0 - q0)])
    x, p1, r, it, lam = jax.lax.while_loop(cond, body, (x0, one, one, 0, one))
    frozen = x[1] > 1.0 - 1e-9
    return lam, x[1], p1, jnp.isfinite(r) & done(x, r) & ~frozen, r, it


def complexity_m1(theta, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""Complexity of the :math:`m\to1` clusters: :math:`S_I(m)=\frac1m\max_s[\Sigma(s)+ms]` gives
    :math:`\Sigma=-m^2\partial_m S_I`, the partial derivative at the saddle (envelope theorem).
    Zero at collapse; negative would mean condensation (the true 1RSB then has :math:`m<1`)."""
    m = theta[7]
    return -m * m * jax.grad(free_entropy)(theta, d, alpha, kappa, n, n_in)[7]


# --------------------------------------------------------------------------------------------
# fixed m < 1: the full 1RSB system
# --------------------------------------------------------------------------------------------
_SECANT = 4


def _s_hat_for(target, p0, p1, dp, sh0, m, n, n_in):
    r""":math:`\hat S` with :math:`\partial_{\hat S}G_S = S` (the distance constraint), by a few secant
    steps from ``sh0`` (the overlap is increasing in :math:`\hat S`). Also returns the overlaps of
    :func:`entropic_overlaps` at the final :math:`\hat S`."""

    def overlaps(sh):
        return entropic_overlaps(p0, p1, dp, sh, m, n, n_in)

    def body(_, st):
        a, fa, b, fb, _ = st
        slope = (fb - fa) / (b - a)
        ok = jnp.isfinite(slope) & (slope > 0)
        c = jnp.where(ok, b - fb / jnp.where(ok, slope, 1.0), b - fb)
        c = jnp.where(jnp.isfinite(c), c, b)
        ov = overlaps(c)
        return b, fb, c, ov[3] - target, ov

    a = sh0
    b = sh0 + 1e-3 * (1.0 + jnp.abs(sh0))
    fa = overlaps(a)[3] - target
    ov_b = overlaps(b)
    _, _, sh, fs, ov = jax.lax.fori_loop(0, _SECANT, body, (a, fa, b, ov_b[3] - target, ov_b))
    return sh, ov, jnp.abs(fs)  # the overlaps at the final S_hat, from the last secant step


def solve_fixed_m(rs, d, alpha, kappa=0.0, m=0.5, n=DEFAULT_N, n_in=DEFAULT_N_IN, start=0.9, damping=0.5,
                  max_steps=300, tol=1e-9, collapse=1e-7):
    r"""The full 1RSB saddle point at a fixed Parisi parameter ``m`` in (0, 1): seven order parameters
    (:math:`q_0,q_1,\delta q` and their conjugates) plus :math:`\hat S` fixing :math:`S=1-2d`.

    One sweep maps the overlaps to the conjugates (:func:`energetic_conjugates`), fixes :math:`\hat S`
    by secant steps on :math:`\partial_{\hat S}G_S=S`, and maps back (:func:`entropic_overlaps`); the
    overlaps are damped, :math:`x\to(1-\eta)x+\eta x'`. The start is the RS saddle
    ``rs = (q, dq, q_hat, dq_hat, S_hat)`` for the inter-cluster level with a nearly frozen
    intra-cluster overlap :math:`q_1=q_0+\text{start}(1-q_0)`. Stops when the overlaps move less than
    ``tol`` and the distance constraint holds to ``tol``, or when :math:`q_1-q_0\le` ``collapse``
    :math:`(1-q_0)` (the solution collapses onto RS, where the functional is the RS one for any m).

    Returns ``(theta, converged, residual, n_steps)`` with
    ``theta = (q0, q1, dq, q0_hat, q1_hat, dq_hat, S_hat, m)``."""
    S = 1.0 - 2.0 * d
    q, dq, qh, dqh, sh = (rs[i] for i in range(5))
    m = jnp.asarray(m, q.dtype)

    def sweep(x, sh):
        q0, q1, dq_ = x[0], x[1], x[2]
        p0, p1, dp = energetic_conjugates(q0, q1, dq_, m, alpha, kappa, n, n_in)
        p1 = jnp.maximum(p1, p0 * (1.0 + 1e-12) + 1e-300)
        shn, (q0n, q1n, dqn, _), sres = _s_hat_for(S, p0, p1, dp, sh, m, n, n_in)
        q1n = jnp.clip(q1n, q0n + 1e-12 * (1.0 - q0n), 1.0 - 1e-12)
        return jnp.stack([q0n, q1n, dqn]), jnp.stack([p0, p1, dp]), shn, sres

    def collapsed(x):
        return x[1] - x[0] <= collapse * (1.0 - x[0])

    def cond(st):
        x, p, sh_, r, it = st
        return (it < max_steps) & ((r > tol) & ~collapsed(x)) & jnp.isfinite(r)

    def body(st):
        x, _, sh_, _, it = st
        xn, p, shn, sres = sweep(x, sh_)
        r = jnp.maximum(jnp.max(jnp.abs(xn - x)), sres)
        return (1.0 - damping) * x + damping * xn, p, shn, r, it + 1

    x0 = jnp.stack([q, q + start * (1.0 - q), dq])
    one = jnp.ones_like(q)
    x, p, shs, r, it = jax.lax.while_loop(cond, body, (x0, jnp.stack([qh, qh, dqh]), sh, one, 0))
    theta = jnp.stack([x[0], x[1], x[2], p[0], p[1], p[2], shs, m])
    frozen = x[1] > 1.0 - 1e-9
    ok = jnp.isfinite(r) & ((r <= tol) | collapsed(x)) & ~frozen
    return theta, ok, r, it


def gap_slope(rs, alpha, kappa=0.0, m=0.5, n=DEFAULT_N, n_in=DEFAULT_N_IN, rel=1e-3):
    r"""Replicon slope at any ``m``: one full sweep (both conjugate maps, every level free) from the RS
    saddle ``rs = (q, dq, q_hat, dq_hat, S_hat)`` with the intra-cluster gap opened,
    :math:`q_1=q_0+\epsilon`, returns :math:`\lambda=(q_1'-q_0')/\epsilon`. The gap mode decouples
    from the inter-cluster level at linear order, so :math:`\lambda` does not depend on m (at
    :math:`\alpha=0.7, d=0.1`: 0.2866, 0.2869, 0.2871 for m = 0.5, 0.9, 0.2); holding the
    inter-cluster level fixed, as :func:`intra_map` does, is exact only at :math:`m\to1`."""
    q0, dq = rs[0], rs[1]
    eps = rel * (1.0 - q0)
    p0, p1, dp = energetic_conjugates(q0, q0 + eps, dq, m, alpha, kappa, n, n_in)
    q0n, q1n, _, _ = entropic_overlaps(p0, p1, dp, rs[4], m, n, n_in)
    return (q1n - q0n) / eps
