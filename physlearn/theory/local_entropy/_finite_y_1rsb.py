r"""Finite-:math:`y` large-deviation measure with a free reference and a 1RSB structure among the
replicas around each reference (fixed-coupling form; Baldassi et al. PNAS 113, E7655 (2016),
App. D.3 and Fig. 11 compare focusing BP with RS and 1RSB theory at fixed :math:`y`; functional
derived here).

The ``y`` replicas coupled to one reference are split into :math:`y/m` groups of :math:`m`
(:math:`1<m<y`): overlap :math:`q_c` inside a group, :math:`q_b` between groups around the same
reference, :math:`q_0` with replicas of other references; conjugates
:math:`\hat q_c\ge\hat q_b\ge\hat q_0`. The free reference gives :math:`\hat Q=\hat S_0=0` and
:math:`\hat S_1=\gamma` as in the RS fixed-coupling functional (:func:`physlearn.theory.local_entropy.fixed_coupling_rs`). Per weight:

.. math::

    \Phi &= -\tfrac y2\hat q_c(1-q_c) - \tfrac{ym}2(\hat q_cq_c-\hat q_bq_b)
           - \tfrac{y^2}2(\hat q_bq_b-\hat q_0q_0) + G_S + \alpha G_E,\\
    G_S &= \int Dz\log\sum_{\tilde W=\pm1}\int Dz_1\,
           \exp\Big[\tfrac ym L_S\big(\sqrt{\hat q_0}z+\sqrt{\hat q_b-\hat q_0}z_1+\gamma\tilde W\big)\Big],
           \quad L_S(x)=\log\int Dz_2\,[2\cosh(x+\sqrt{\hat q_c-\hat q_b}z_2)]^m,\\
    G_E &= \int Dz\log\int Dz_1\,
           \exp\Big[\tfrac ym L_E\big(\kappa-\sqrt{q_0}z-\sqrt{q_b-q_0}z_1\big)\Big],
           \quad L_E(v)=\log\int Dz_2\,H\Big(\frac{v-\sqrt{q_c-q_b}z_2}{\sqrt{1-q_c}}\Big)^m .

Exact reductions (tested): at :math:`m=1` the inner convolutions are exact and :math:`\Phi` is the
RS fixed-coupling functional with :math:`q_1=q_b` (for any
:math:`q_c,\hat q_c`); at :math:`m=y` it is RS with :math:`q_1=q_c`; at :math:`q_c=q_b`,
:math:`\hat q_c=\hat q_b` it is RS for any :math:`m` (the collapse).

Saddle point. :math:`\Phi` is bilinear in overlaps and conjugates, so stationarity is an explicit
map :math:`q\to\hat q\to q`:
:math:`\hat q_c=2\alpha\partial_{q_c}G_E/(y(m-1))`, :math:`\hat q_b=2\alpha\partial_{q_b}G_E/(y(y-m))`,
:math:`\hat q_0=-2\alpha\partial_{q_0}G_E/y^2`, and
:math:`q_c=(2\partial_{\hat q_c}G_S-y)/(y(m-1))`, :math:`q_b=2\partial_{\hat q_b}G_S/(y(y-m))`,
:math:`q_0=-2\partial_{\hat q_0}G_S/y^2`. :func:`search` iterates it (damped, projected on the
ordered overlaps) from a nearly frozen intra-group start :math:`q_c=q_1+0.9(1-q_1)` on top of the RS
saddle, and stops when the groups merge (collapse onto RS) or at a fixed point.

Numerics. :math:`L_S` and :math:`L_E` are the exact four-piece and recentred Gauss--Hermite forms of
:mod:`physlearn.theory._envelopes`; the middle integral :math:`\int Dz_1 e^{F(z_1)}` is Gauss--Hermite
recentred on the maximiser of :math:`F(z_1)-z_1^2/2` (a few finite-difference Newton steps from the
RS Laplace point; the loop is held under ``stop_gradient`` and two traced Newton steps give the
centre the maximiser's first and second derivatives, so that derivatives follow the centre).
Accuracy: ``docs/findings.md``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import numerics as nm
from ... import solvers
from .._envelopes import h_of, log_inner_energetic_1rsb, log_inner_entropic_1rsb, u_of
from .._integrals import envelope_partials

DEFAULT_N = 32  # outer nodes per half line
DEFAULT_N_MID = 16  # recentred Gauss-Hermite nodes of the middle integral
DEFAULT_N_IN = 16  # inner nodes (per piece)
_FD = 1e-3
_MID_NEWTON = 4
COLLAPSE = 5e-3  # (q_c - q_b) / (1 - q_b) below this: merged (RS); near m = 1 the map stalls at ~1e-3 (quadrature noise / (m - 1))
_MAX_ITERS = 400
_TOL = 1e-10
_GEOMETRIC = 20  # steady contraction steps that establish a collapse
_DAMPING = 0.5  # the undamped map is unstable for m near y (q_b = ... / (y - m))
START = 0.9  # frozen start: q_c = q_1 + START (1 - q_1)


def _log_mid(F, z0, n_mid):
    r""":math:`\log\int Dz\,e^{F(z)}` (``F`` vectorised), Gauss--Hermite recentred at the maximiser of
    :math:`F(z)-z^2/2` and scaled by the curvature there (finite-difference Newton from ``z0``)."""

    def fd(z):
        f = F(z + jnp.array([-_FD, 0.0, _FD]))
        return (f[2] - f[0]) / (2 * _FD) - z, (f[2] - 2 * f[1] + f[0]) / (_FD * _FD) - 1.0

    def step(z):
        g1, g2 = fd(z)
        return z - g1 / jnp.minimum(g2, -1e-3)

    sg = jax.lax.stop_gradient
    zs = solvers.iterate(step, sg(z0), max_steps=_MID_NEWTON)[0]
    # the centre keeps the held loop's value and carries the maximiser's first and second
    # derivatives; the scale is the curvature there (so derivatives follow the rule's centre)
    zs = solvers.with_root_tangents(step, zs)
    sig = 1.0 / jnp.sqrt(jnp.maximum(-fd(zs)[1], 1e-3))
    t, w = nm.gauss_hermite(n_mid)
    t = jnp.asarray(t, dtype=jnp.result_type(z0, float))
    lw = jnp.log(jnp.asarray(w, dtype=t.dtype))
    z = zs + sig * t
    return jax.scipy.special.logsumexp(lw - 0.5 * z * z + F(z) + 0.5 * t * t) + jnp.log(sig)


def entropic(q0h, qbh, qch, gamma, y, m, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN):
    r""":math:`G_S` of the module docstring."""
    sb = jnp.sqrt(jnp.maximum(qbh - q0h, 1e-300))
    dc = qch - qbh

    def mid(B):
        F = jax.vmap(lambda z: (y / m) * log_inner_entropic_1rsb(B + sb * z, dc, m, n_in))
        h = h_of(*jax.lax.stop_gradient((B, y * sb * sb)))  # RS Laplace point: Newton start
        return _log_mid(F, (h - B) / sb, n_mid)

    def f(z):
        B = jnp.sqrt(q0h) * z
        return jnp.logaddexp(mid(B + gamma), mid(B - gamma))

    return nm.gauss_expect_split(f, jnp.zeros_like(q0h), n)


def energetic(q0, qb, qc, y, m, kappa=0.0, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN):
    r""":math:`G_E` of the module docstring."""
    sb = jnp.sqrt(jnp.maximum(qb - q0, 1e-300))
    s1 = jnp.sqrt(1.0 - qc)

    def f(z):
        v = kappa - jnp.sqrt(q0) * z
        F = jax.vmap(lambda zz: (y / m) * log_inner_energetic_1rsb(v - sb * zz, qc - qb, s1, m, n_in))
        sbb = jnp.sqrt(1.0 - qb)
        u = u_of(*jax.lax.stop_gradient((v / sbb, y * (qb - q0) / (1.0 - qb))))
        return _log_mid(F, y * sb * nm.GH(u) / sbb, n_mid)

    return nm.gauss_expect_split(f, kappa / jnp.sqrt(q0), n)


def total_free_entropy(theta, gamma, y, m, alpha, kappa=0.0, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN):
    r""":math:`\Phi` of the module docstring, ``theta = (q0, qb, qc, q0_hat, qb_hat, qc_hat)``.
    Composable (jit, grad, vmap)."""
    q0, qb, qc, q0h, qbh, qch = (theta[i] for i in range(6))
    return (
        -0.5 * y * qch * (1.0 - qc) - 0.5 * y * m * (qch * qc - qbh * qb) - 0.5 * y * y * (qbh * qb - q0h * q0)
        + entropic(q0h, qbh, qch, gamma, y, m, n, n_mid, n_in)
        + alpha * energetic(q0, qb, qc, y, m, kappa, n, n_mid, n_in)
    )


def conjugates(q, y, m, alpha, kappa, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN):
    r"""Overlaps :math:`(q_0,q_b,q_c)` -> conjugates (stationarity in the overlaps)."""
    e = jax.grad(lambda qq: energetic(qq[0], qq[1], qq[2], y, m, kappa, n, n_mid, n_in))(q)
    return jnp.stack([-2 * alpha * e[0] / y**2, 2 * alpha * e[1] / (y * (y - m)), 2 * alpha * e[2] / (y * (m - 1))])


def overlaps(p, gamma, y, m, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN):
    r"""Conjugates :math:`(\hat q_0,\hat q_b,\hat q_c)` -> overlaps (stationarity in the conjugates)."""
    s = jax.grad(lambda pp: entropic(pp[0], pp[1], pp[2], gamma, y, m, n, n_mid, n_in))(p)
    return jnp.stack([-2 * s[0] / y**2, 2 * s[1] / (y * (y - m)), (2 * s[2] - y) / (y * (m - 1))])


def _project(q):
    q0 = jnp.clip(q[0], 1e-12, 1.0 - 1e-9)
    qb = jnp.clip(q[1], q0, 1.0 - 1e-9)
    qc = jnp.clip(q[2], qb, 1.0 - 1e-9)
    return jnp.stack([q0, qb, qc])


def search(theta_rs, gamma, y, m, alpha, kappa=0.0, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN,
           start=START):
    r"""1RSB saddle point at fixed :math:`(\gamma,y,m)` from the RS saddle ``theta_rs = (q0, q1, q0_hat,
    q1_hat)`` (:func:`physlearn.theory.local_entropy._finite_y.solve_coupling`) with a nearly frozen
    intra-group start: damped iteration (0.5) of the map overlaps -> conjugates -> overlaps, projected
    on the ordered overlaps (:func:`physlearn.solvers.iterate`).

    Returns ``(theta, collapsed, result, residual, n_steps, slope)``: ``collapsed`` where the groups
    merged, i.e. the gap :math:`q_c-q_b` fell below ``COLLAPSE`` (1 - q_b) or shrank geometrically at a
    steady rate for ``_GEOMETRIC`` steps with the inter-group level converged (then ``slope`` is the
    undamped contraction rate of the gap, the replicon slope of the RS saddle in this direction, and
    ``theta`` is the RS saddle written in 1RSB form, :math:`q_c=q_b=q_1`, with its derivatives);
    otherwise ``theta`` is the last iterate (implicit derivatives of the fixed point, finite-difference
    Jacobians), ``successful`` if the damped map reached a fixed point (sup-norm step ``residual``
    below 1e-10). ``slope`` is read off the iteration: it has no derivative (NaN)."""
    sg = jax.lax.stop_gradient
    th_rs = sg(theta_rs)
    q1 = th_rs[1]
    q = jnp.stack([th_rs[0], q1, q1 + start * (1.0 - q1)])
    pars = sg((gamma, y, m, alpha, kappa))

    def fmap(q, p):
        gamma_, y_, m_, alpha_, kappa_ = p
        return overlaps(conjugates(q, y_, m_, alpha_, kappa_, n, n_mid, n_in), gamma_, y_, m_, n, n_mid, n_in)

    def merged(q):
        return (q[2] - q[1]) < COLLAPSE * (1.0 - q[1])

    def step(st):
        q, _, _, gap, rate, geo = st
        qn = fmap(q, pars)
        ok = jnp.all(jnp.isfinite(qn))
        qn = _DAMPING * _project(jnp.where(ok, qn, q)) + (1.0 - _DAMPING) * q
        gn = qn[2] - qn[1]
        rn = gn / jnp.maximum(gap, 1e-300)
        outer = jnp.max(jnp.abs(qn[:2] - q[:2]))
        steady = (jnp.abs(rn - rate) < 1e-3) & (rn < 0.995) & (outer < 1e-9)
        return qn, jnp.max(jnp.abs(qn - q)), ok, gn, rn, jnp.where(steady, geo + 1, 0)

    def done(st):
        q, r, ok, _, _, geo = st
        return ~((r > _TOL) & ~merged(q) & ok & (geo < _GEOMETRIC))

    one = jnp.asarray(1.0, q.dtype)
    st = (q, one, jnp.asarray(True), q[2] - q[1], one, jnp.asarray(0))
    (q, res, ok, _, rate, geo), k, _ = solvers.iterate(step, st, max_steps=_MAX_ITERS, done=done)
    # a gap that shrinks geometrically at a steady rate < 1 (inter-group level converged) goes to 0
    collapsed = merged(q) | (geo >= _GEOMETRIC)
    rs = jnp.stack([theta_rs[0], theta_rs[1], theta_rs[1], theta_rs[2], theta_rs[3], theta_rs[3]])
    q = solvers.implicit(lambda qq, p: fmap(qq, p) - qq, q, (gamma, y, m, alpha, kappa), jacobian="fd")
    full = jnp.concatenate([q, conjugates(q, y, m, alpha, kappa, n, n_mid, n_in)])
    theta = jnp.where(collapsed, rs, full)
    slope = solvers.nondifferentiable(jnp.where(geo >= _GEOMETRIC, (rate - (1.0 - _DAMPING)) / _DAMPING, jnp.nan),
                                      True, (theta_rs, gamma, y, m, alpha, kappa))
    result = jnp.where(ok, jnp.where(collapsed | (res <= _TOL), solvers.RESULTS.successful,
                                     jnp.where(k >= _MAX_ITERS, solvers.RESULTS.max_steps_reached,
                                               solvers.RESULTS.tolerance_not_met)),
                       solvers.RESULTS.nonfinite).astype(jnp.int32)
    return theta, collapsed, result, res, k, slope


def derived(theta, gamma, y, m, alpha, kappa, n=DEFAULT_N, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN):
    r"""``(Phi, S, phi_int, Sigma_int, Sigma_ext, dPhi_dm)`` at a saddle point: partial derivatives at
    fixed ``theta`` (envelope theorem; :math:`y`-derivative at fixed :math:`m`). ``theta`` may carry
    its implicit derivatives: the results then have exact total derivatives."""
    P = lambda *a: total_free_entropy(*a, n, n_mid, n_in)  # noqa: E731
    # the middle integrals are recentred under stop_gradient (_log_mid): derivatives of the partial
    # derivatives by central differences (autodiff gave dS/dalpha 0.62685 against 0.62650)
    tot, dg, dy, dm = envelope_partials(P, (1, 2, 3), theta, gamma, y, m, alpha, kappa)
    S = dg / y
    return tot, S, dy, dy - gamma * S, tot - y * dy, dm
