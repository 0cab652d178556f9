r"""Inner maximisations and inner integrals of the large-deviation functionals.

Shared by the local-entropy functionals (free and solution reference, RS and 1RSB, :math:`y\to\infty`
and finite :math:`y`). Notation: :math:`A = G/H`, :math:`A' = -(\log H)''`.

* :math:`y\to\infty`, RS: the Moreau envelopes

  .. math::
      M_S(B) = \max_w\big[-\tfrac{w^2}2 + \log2\cosh(B+\sqrt{\delta\hat q}\,w)\big]
             = -\tfrac12\delta\hat q\tanh^2h + \log2\cosh h,\quad h = B+\delta\hat q\tanh h,\\
      M_E(c) = \max_w\big[-\tfrac{w^2}2 + \log H(c-\sqrt K w)\big] = -\tfrac12KA(u)^2 + \log H(u),
             \quad u + KA(u) = c .

  The scalar problems are monotone (Newton from :math:`h=|B|+\delta\hat q`, resp. :math:`u=c`, until
  the step is at rounding level); their solutions carry implicit-function derivatives to all orders.
* :math:`y\to\infty`, 1RSB (Parisi parameter :math:`m`): the same envelopes of
  :math:`L_S(x) = \frac1m\log\int Dz\,[2\cosh(x+\sigma z)]^m` and
  :math:`L_E(v) = \frac1m\log\int Dz\,H((v-\sqrt\Delta z)/s_1)^m`. :math:`L_S` is exact in four
  pieces, :math:`(2\cosh t)^m = e^{m|t|} + e^{-(2-m)|t|}\kappa_m(|t|)` with
  :math:`\kappa_m(t)=e^{2t}[(1+e^{-2t})^m-1]\in[2^m-1,m]` smooth and bounded (closed forms in
  :math:`H` plus truncated-Gaussian expectations of :math:`\kappa_m`); :math:`L_E` is Gauss--Hermite
  recentred on the maximum of its log-concave integrand (a change of variables held under
  ``stop_gradient``: exact up to quadrature for any centre). The maximisers are safeguarded
  Newton solves on ``stop_gradient`` inputs: first derivatives are exact (envelope theorem),
  higher ones are not (use :func:`physlearn.solvers.implicit` with ``jacobian="fd"`` on equations
  built from them).
* finite :math:`y`: :math:`\log\int Dz\,[2\cosh(B+\sqrt\Delta z)]^y` and
  :math:`\log\int Dz\,H((c-\sqrt{q_1-q_0}z)/\sqrt{1-q_1})^y`, Gauss--Hermite recentred on the
  maximiser of the integrand and rescaled by its curvature (Laplace shift, closed form through the
  :math:`y\to\infty` envelopes), with a log-sum-exp.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm
from .. import solvers

DEFAULT_N_IN = 24  # inner nodes of the 1RSB inner integrals (per piece)
_INNER_ITERS = 60  # at most, for the RS envelopes; they stop at a step below _NEWTON_TOL (1 + |x|)
_NEWTON = 24  # at most, for the 1RSB maximisers; they stop at a step below _NEWTON_TOL (1 + |x|)
_NEWTON_TOL = 1e-13
_SIG_FLOOR = 1e-12
_SHIFT_ITERS = 6


# --------------------------------------------------------------------------------------------
# y -> infinity, RS: scalar monotone inner problems with implicit-function derivatives
# --------------------------------------------------------------------------------------------
@jax.custom_jvp
def h_of(B, D):
    r"""Root of :math:`h - D\tanh h = B` with the sign of :math:`B` (Newton from :math:`|B|+D`,
    monotone: the left side is convex on :math:`h>0`)."""
    aB = jnp.abs(B)

    def step(st):
        h = st[0]
        t = jnp.tanh(h)
        dh = (h - D * t - aB) / (1.0 - D * (1.0 - t * t))
        return h - dh, jnp.abs(dh)

    h = _until_small_step(step, (aB + D,), max_steps=_INNER_ITERS)
    return jnp.where(B < 0, -h, h)


@h_of.defjvp
def _h_of_jvp(primals, tangents):
    B, D = primals
    dB, dD = tangents
    h = h_of(B, D)
    t = jnp.tanh(h)
    return h, (dB + t * dD) / (1.0 - D * (1.0 - t * t))


@jax.custom_jvp
def u_of(c, K):
    r"""Root of :math:`u + K A(u) = c` (Newton from :math:`u=c`; convex increasing left side)."""

    def step(st):
        u = st[0]
        du = (u + K * nm.GH(u) - c) / (1.0 + K * nm.GH_prime(u))
        return u - du, jnp.abs(du)

    return _until_small_step(step, (c,), max_steps=_INNER_ITERS)


@u_of.defjvp
def _u_of_jvp(primals, tangents):
    c, K = primals
    dc, dK = tangents
    u = u_of(c, K)
    return u, (dc - nm.GH(u) * dK) / (1.0 + K * nm.GH_prime(u))


def moreau_entropic(B, dq_hat):
    r""":math:`M_S(B) = \max_w[-w^2/2 + \log2\cosh(B+\sqrt{\delta\hat q}w)]` (differentiable)."""
    h = h_of(B, dq_hat)
    t = jnp.tanh(h)
    return -0.5 * dq_hat * t * t + nm.log2cosh(h)


def moreau_energetic(c, K):
    r""":math:`M_E(c) = \max_w[-w^2/2 + \log H(c-\sqrt K w)]` (differentiable)."""
    u = u_of(c, K)
    A = nm.GH(u)
    return -0.5 * K * A * A + nm.log_H(u)


# --------------------------------------------------------------------------------------------
# y -> infinity, 1RSB: inner integrals
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


def log_inner_entropic_1rsb(x, s2, m, n_in=DEFAULT_N_IN):
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


def _energetic_shift(v, delta, s1, m):
    r"""Centre and scale of the Gauss--Hermite rule of :func:`log_inner_energetic_1rsb`: the root of
    :math:`u+KA(u)=v/s_1`, :math:`K=m\Delta/s_1^2` (a few Newton steps from :math:`u=v/s_1`, held
    under ``stop_gradient`` so that derivatives never trace the loop), and the curvature there. Two
    more Newton steps are traced and added as zero: the values are the loop's, the first and second
    derivatives those of the exact root, so derivatives of the recentred rule follow its centre as
    finite differences of the computed values do."""
    sg = jax.lax.stop_gradient
    sd = jnp.sqrt(jnp.maximum(delta, 1e-300))
    K = m * delta / (s1 * s1)
    c = v / s1

    def step(u, K, c):
        return u - (u + K * nm.GH(u) - c) / (1.0 + K * nm.GH_prime(u))

    u = solvers.iterate(lambda u: step(u, sg(K), sg(c)), sg(c), max_steps=_SHIFT_ITERS)[0]
    u = solvers.with_root_tangents(lambda u: step(u, K, c), u)  # first and second derivatives
    return m * sd * nm.GH(u) / s1, 1.0 / jnp.sqrt(1.0 + K * nm.GH_prime(u))


def log_inner_energetic_1rsb(v, delta, s1, m, n_in=DEFAULT_N_IN):
    r""":math:`\log\int Dz\,H((v-\sqrt\Delta z)/s_1)^m`: Gauss--Hermite recentred on the (approximate,
    a few Newton steps of :math:`u+KA(u)=v/s_1`, :math:`K=m\Delta/s_1^2`) maximiser of the log-concave
    integrand and rescaled by its curvature. The shift is a change of variables (the value is exact up
    to quadrature for any shift); its Newton loop is held under ``stop_gradient`` and the shift
    carries the tangents of the exact maximiser (:func:`_energetic_shift`)."""
    sd = jnp.sqrt(jnp.maximum(delta, 1e-300))
    zs, sig = _energetic_shift(v, delta, s1, m)
    t, w = nm.gauss_hermite(n_in)
    t = jnp.asarray(t, dtype=jnp.result_type(v, float))
    lw = jnp.log(jnp.asarray(w, dtype=t.dtype))
    z = zs + sig * t
    ell = -0.5 * z * z + m * nm.log_H((v - sd * z) / s1) + 0.5 * t * t
    return jax.scipy.special.logsumexp(lw + ell) + jnp.log(sig)


# --------------------------------------------------------------------------------------------
# y -> infinity, 1RSB: Moreau envelopes
# --------------------------------------------------------------------------------------------
def _until_small_step(step, init, max_steps=_NEWTON):
    r"""Run ``step`` (one Newton step: state -> state, ``state[0]`` the iterate and ``state[-1]`` the
    size of the last step) from ``init`` until the step is below ``_NEWTON_TOL (1 + |x|)``
    (quadratic convergence: the next step would be at rounding level) or ``max_steps`` steps;
    returns the iterate. On arrays, and under ``vmap`` (quadrature nodes, grid points), the loop
    runs until the slowest entry has converged."""
    one = jnp.ones_like(init[0])

    def done(st):
        return jnp.all(st[-1] <= _NEWTON_TOL * (1.0 + jnp.abs(st[0])))

    return solvers.iterate(step, (*init, one), max_steps=max_steps, done=done)[0][0]


def moreau_entropic_1rsb(B, D, s2, m, n_in=DEFAULT_N_IN):
    r""":math:`M_S(B)=\max_w[-w^2/2+L_S(B+\sqrt D w)]`; maximiser :math:`h=B+D L_S'(h)` (sign of B).
    Returns ``(M_S, h)``."""
    L = lambda x, s2_, m_: log_inner_entropic_1rsb(x, s2_, m_, n_in) / m_  # noqa: E731
    Lp = jax.grad(L, 0)

    def solve(p):
        B_, D_, s2_, m_ = p
        aB = jnp.abs(B_)
        lo, hi = aB, aB + D_

        def step(st):
            h, lo, hi, _ = st
            f = h - aB - D_ * Lp(h, s2_, m_)
            fp = 1.0 - D_ * jax.grad(Lp, 0)(h, s2_, m_)
            lo = jnp.where(f < 0, h, lo)
            hi = jnp.where(f > 0, h, hi)
            hn = h - f / fp
            bad = (hn < lo) | (hn > hi) | ~jnp.isfinite(hn)  # a bracket end itself is a valid iterate
            hn = jnp.where(bad, 0.5 * (lo + hi), hn)
            return hn, lo, hi, jnp.abs(hn - h)

        h = _until_small_step(step, (hi, lo, hi))
        return jnp.where(B_ < 0, -h, h)

    h = solve(jax.lax.stop_gradient((B, D, s2, m)))  # envelope theorem: exact first derivatives
    return -0.5 * (h - B) ** 2 / D + L(h, s2, m), h


def moreau_energetic_1rsb(c, dq, delta, s1, m, n_in=DEFAULT_N_IN):
    r""":math:`M_E(c)=\max_w[-w^2/2+L_E(c-\sqrt{\delta q}w)]`; maximiser :math:`v=c+\delta q L_E'(v)`.
    Returns ``(M_E, v)``."""
    L = lambda v, d_, s_, m_: log_inner_energetic_1rsb(v, d_, s_, m_, n_in) / m_  # noqa: E731
    Lp = jax.grad(L, 0)

    def solve(p):
        c_, dq_, d_, s_, m_ = p

        def step(st):
            v, _ = st
            f = v - c_ - dq_ * Lp(v, d_, s_, m_)
            fp = 1.0 - dq_ * jax.grad(Lp, 0)(v, d_, s_, m_)
            vn = v - f / fp
            return vn, jnp.abs(vn - v)

        return _until_small_step(step, (c_,))

    v = solve(jax.lax.stop_gradient((c, dq, delta, s1, m)))  # envelope theorem
    return -0.5 * (c - v) ** 2 / dq + L(v, delta, s1, m), v


# --------------------------------------------------------------------------------------------
# finite y: Laplace-recentred inner integrals
# --------------------------------------------------------------------------------------------
def _inner_rule(n):
    t, w = nm.gauss_hermite(n)
    return jnp.asarray(t), jnp.asarray(jnp.log(w))


def log_inner_entropic_y(B, delta, y, n_in):
    r""":math:`\log\int Dz_2\,[2\cosh(B+\sqrt\Delta z_2)]^y` (Laplace-recentred)."""
    D = y * delta
    h = h_of(*jax.lax.stop_gradient((B, D)))  # shift only: no tangents traced through the solve
    sd = jnp.sqrt(jnp.maximum(delta, 1e-300))
    zs = jax.lax.stop_gradient((h - B) / sd)
    th = jnp.tanh(h)
    sig = jax.lax.stop_gradient(1.0 / jnp.sqrt(jnp.maximum(1.0 - D * (1.0 - th * th), 1e-12)))
    t, lw = _inner_rule(n_in)
    z = zs + sig * t
    ell = -0.5 * z * z + y * nm.log2cosh(B + sd * z) + 0.5 * t * t
    return jax.scipy.special.logsumexp(lw + ell) + jnp.log(sig)


def log_inner_energetic_y(c, q1, q0, y, n_in):
    r""":math:`\log\int Dz_2\,H((c-\sqrt{q_1-q_0}z_2)/\sqrt{1-q_1})^y` (Laplace-recentred)."""
    s1 = jnp.sqrt(1.0 - q1)
    sd = jnp.sqrt(jnp.maximum(q1 - q0, 1e-300))
    K = y * (q1 - q0) / (1.0 - q1)
    u = u_of(*jax.lax.stop_gradient((c / s1, K)))  # shift only: no tangents traced through the solve
    zs = jax.lax.stop_gradient(y * sd * nm.GH(u) / s1)
    sig = jax.lax.stop_gradient(1.0 / jnp.sqrt(1.0 + K * nm.GH_prime(u)))
    t, lw = _inner_rule(n_in)
    z = zs + sig * t
    ell = -0.5 * z * z + y * nm.log_H((c - sd * z) / s1) + 0.5 * t * t
    return jax.scipy.special.logsumexp(lw + ell) + jnp.log(sig)
