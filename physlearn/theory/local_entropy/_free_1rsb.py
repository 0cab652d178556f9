r"""Large-deviation local entropy at :math:`y\to\infty`, free reference, with a 1RSB structure among
the replicas around each reference (Baldassi et al. PRL 115, 128101 (2015) SM; PNAS 113, E7655
(2016); derived here).

Replicas around one reference are split into groups of :math:`m` (Parisi parameter): overlap
:math:`q_1` inside a group (intra-cluster), :math:`q_0` between groups around the same reference
(inter-cluster), and :math:`q_0-\delta q/y` with replicas of other references. Conjugates
:math:`\hat q_1,\hat q_0,\hat q_0-\delta\hat q/y`; :math:`\hat S` fixes :math:`S=1-2d`. Starting from
the finite-:math:`y` functional with one more level of nesting and taking :math:`y\to\infty` as for
RS (free reference: :math:`\hat Q=\hat S_0=0`, the outer inner integral becomes a maximisation):

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
:func:`physlearn.theory.local_entropy.free_entropy` with :math:`q_1^{\rm RS}=q_0`.

Numerics: the inner integrals :math:`L_S, L_E` and the envelopes :math:`M_S, M_E` are those of
:mod:`physlearn.theory._envelopes` (exact four-piece form, recentred Gauss--Hermite, safeguarded
Newton maximisers: autodiff gives exact *first* derivatives).

Saddle point. The trace is bilinear, so stationarity reads as two explicit maps:
overlaps -> conjugates (:func:`energetic_conjugates`) and conjugates -> overlaps
(:func:`entropic_overlaps`). At :math:`m\to1` the functional equals RS for any
:math:`(q_1,\hat q_1)`, so the inter-cluster level *is* the RS saddle and the intra-cluster level is
a scalar fixed point (:func:`intra_map`, the reconstruction equations): :func:`analyse_collapse` gives its
slope at the collapse (local RS stability) and searches a non-trivial solution from a nearly frozen
start, :func:`complexity_m1` the complexity of such clusters (negative = condensed, the case that
needs :math:`m<1`); :func:`solve_fixed_m` solves the full system at a fixed :math:`m<1`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import numerics as nm
from ... import solvers
from .._envelopes import DEFAULT_N_IN, moreau_energetic_1rsb, moreau_entropic_1rsb

DEFAULT_N = 64  # outer nodes per half line


# --------------------------------------------------------------------------------------------
# functional
# --------------------------------------------------------------------------------------------
NAMES = ("q0", "q1", "dq", "q0_hat", "q1_hat", "dq_hat", "S_hat", "m")


def entropic_term(p0, p1, dp, sh, m, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`G_S=\int Dz\,M_S(\sqrt{\hat q_0}|z|+\hat S)` (even in :math:`z`: one half line)."""
    zs, ws = nm.half_line_rule(jnp.zeros_like(p0), n)
    ms = jax.vmap(lambda z: moreau_entropic_1rsb(jnp.sqrt(p0) * z + sh, dp, p1 - p0, m, n_in)[0])(zs)
    return 2.0 * jnp.sum(ws * ms)


def energetic_term(q0, q1, dq, m, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`G_E=\int Dz\,M_E(\kappa-\sqrt{q_0}z)` (split at the kink :math:`z=\kappa/\sqrt{q_0}`)."""
    s1 = jnp.sqrt(1.0 - q1)
    return nm.gauss_expect_split(
        lambda z: moreau_energetic_1rsb(kappa - jnp.sqrt(q0) * z, dq, q1 - q0, s1, m, n_in)[0], kappa / jnp.sqrt(q0), n
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
    r"""The :math:`m\to1` 1RSB analysis at the RS saddle ``rs = (q, dq, q_hat, dq_hat, S_hat)``:

    * replicon: the slope :math:`\lambda=\partial q_1'/\partial q_1` of one sweep of :func:`intra_map`
      at the collapse :math:`q_1=q_0`, a one-sided difference with step ``rel*(1-q0)``
      (:math:`q_1'=q_0` exactly at the collapse; accuracy ~1e-3). The linearised sweep multiplies
      :math:`q_1-q_0` by :math:`\lambda`: RS is locally stable against this 1RSB for
      :math:`\lambda<1` (the de Almeida--Thouless condition of the ansatz). Its derivatives are
      taken by finite differences (:func:`physlearn.solvers.fd_derivative`: the sweep is made of
      gradients whose own derivatives autodiff does not get right).
    * reconstruction: a non-trivial solution is searched by the damped iteration
      :math:`q_1\to(1-\eta)q_1+\eta\,q_1'` (:func:`physlearn.solvers.fixed_point`) from a nearly
      frozen start :math:`q_1=q_0+\text{start}(1-q_0)` (clusters of almost single configurations, as
      typical binary-perceptron solutions are), until :math:`|q_1'-q_1|\le` ``tol`` or
      :math:`q_1-q_0\le` ``collapse`` :math:`(1-q_0)`.

    Returns ``(lam, q1, q1_hat, result, residual, n_steps)``; ``q1 - q0 <= collapse (1 - q0)``
    means the 1RSB solution collapses onto RS (the iteration then contracts at rate
    :math:`1-\eta+\eta\lambda`). A search that runs into :math:`1-q_1<10^{-9}` (a frozen solution,
    :math:`q_1=1`, outside what this parametrisation resolves, or the clip of :func:`intra_map`) is
    reported as ``inadmissible``. ``q1, q1_hat`` of the search carry no derivatives.

    ``intra``: another intra-cluster map ``q1 -> (q1', q1_hat)`` at the same inter-cluster saddle
    (``rs[0]`` is :math:`q_0`), e.g. the solution-reference one of
    :func:`physlearn.theory.local_entropy._solution.intra_map_1rsb`; default :func:`intra_map`."""
    q0 = rs[0]
    if intra is None:
        intra = lambda q: intra_map(q, rs, alpha, kappa, M_ONE, n, n_in)  # noqa: E731
    lam = solvers.fd_derivative(lambda q0_: (intra(q0_ + rel * (1.0 - q0_))[0] - q0_) / (rel * (1.0 - q0_)), q0)
    rs_sg = jax.lax.stop_gradient(rs)
    q0s = rs_sg[0]
    floor = collapse * (1.0 - q0s)
    sol = solvers.fixed_point(
        lambda q, _, p: jax.lax.stop_gradient(intra(q)), q0s + start * (1.0 - q0s), None, damping=damping, tol=tol,
        max_steps=max_steps, has_aux=True, aux0=jnp.ones_like(q0s),
        residual=lambda y, fy, yn, aux: jnp.abs(fy - y), stop=lambda q: q - q0s <= floor, differentiable=False,
    )
    q1, p1 = sol.value
    frozen = q1 > 1.0 - 1e-9
    result = solvers.combine(sol.result, jnp.where(frozen, solvers.RESULTS.inadmissible, solvers.RESULTS.successful))
    return lam, q1, p1, result, sol.residual, sol.n_steps


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

    def step(st):
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
    (_, _, sh, fs, ov), _, _ = solvers.iterate(step, (a, fa, b, ov_b[3] - target, ov_b), max_steps=_SECANT)
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

    Returns ``(theta, result, residual, n_steps)`` with
    ``theta = (q0, q1, dq, q0_hat, q1_hat, dq_hat, S_hat, m)`` (no derivatives; a search that runs
    into a frozen :math:`q_1\to1` is ``inadmissible``)."""
    S = 1.0 - 2.0 * d
    q, dq, qh, dqh, sh = (rs[i] for i in range(5))
    m = jnp.asarray(m, q.dtype)

    def update(x, _, aux):
        _, sh_, _ = aux
        q0, q1, dq_ = x[0], x[1], x[2]
        p0, p1, dp = energetic_conjugates(q0, q1, dq_, m, alpha, kappa, n, n_in)
        p1 = jnp.maximum(p1, p0 * (1.0 + 1e-12) + 1e-300)
        shn, (q0n, q1n, dqn, _), sres = _s_hat_for(S, p0, p1, dp, sh_, m, n, n_in)
        q1n = jnp.clip(q1n, q0n + 1e-12 * (1.0 - q0n), 1.0 - 1e-12)
        return jnp.stack([q0n, q1n, dqn]), (jnp.stack([p0, p1, dp]), shn, sres)

    def residual(x, xn, x_next, aux):
        return jnp.maximum(jnp.max(jnp.abs(xn - x)), aux[2])

    def collapsed(x):
        return x[1] - x[0] <= collapse * (1.0 - x[0])

    x0 = jnp.stack([q, q + start * (1.0 - q), dq])
    sol = solvers.fixed_point(
        update, jax.lax.stop_gradient(x0), None, damping=damping, tol=tol, max_steps=max_steps, has_aux=True,
        aux0=jax.lax.stop_gradient((jnp.stack([qh, qh, dqh]), sh, jnp.ones_like(q))), residual=residual,
        stop=collapsed, differentiable=False,
    )
    x, (p, shs, _) = sol.value
    theta = jnp.stack([x[0], x[1], x[2], p[0], p[1], p[2], shs, m])
    frozen = x[1] > 1.0 - 1e-9
    result = solvers.combine(sol.result, jnp.where(frozen, solvers.RESULTS.inadmissible, solvers.RESULTS.successful))
    return theta, result, sol.residual, sol.n_steps


def gap_slope(rs, alpha, kappa=0.0, m=0.5, n=DEFAULT_N, n_in=DEFAULT_N_IN, rel=1e-3):
    r"""Replicon slope at any ``m``: one full sweep (both conjugate maps, every level free) from the RS
    saddle ``rs = (q, dq, q_hat, dq_hat, S_hat)`` with the intra-cluster gap opened,
    :math:`q_1=q_0+\epsilon`, returns :math:`\lambda=(q_1'-q_0')/\epsilon`. The gap mode decouples
    from the inter-cluster level at linear order, so :math:`\lambda` does not depend on m; holding the
    inter-cluster level fixed, as :func:`intra_map` does, is exact only at :math:`m\to1`. Derivatives
    by finite differences (:func:`physlearn.solvers.fd_derivative`)."""
    def slope(rs_, alpha_, kappa_, m_):
        q0, dq = rs_[0], rs_[1]
        eps = rel * (1.0 - q0)
        p0, p1, dp = energetic_conjugates(q0, q0 + eps, dq, m_, alpha_, kappa_, n, n_in)
        q0n, q1n, _, _ = entropic_overlaps(p0, p1, dp, rs_[4], m_, n, n_in)
        return (q1n - q0n) / eps

    return solvers.fd_derivative(slope, rs, alpha, kappa, jnp.asarray(m, rs.dtype))
