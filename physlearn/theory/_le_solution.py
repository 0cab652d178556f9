r"""Large-deviation local entropy with the reference constrained to be a solution (PRL 2015).

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015), Supplemental
Material: the reference :math:`\tilde W` of the large-deviation measure is itself required to
satisfy all patterns (with margin :math:`\kappa_{\rm ref}`). The :math:`y\to\infty` limit of the RS
functional (theory notes §C.2, "constrained reference"; :math:`1-Q=\delta Q/y`,
:math:`S-S_0=\delta S/y`, :math:`q_1-q_0=\delta q/y`, :math:`\hat Q = y^2R^2`,
:math:`\hat S_0 = yRa`, :math:`\hat q_1-\hat q_0=\delta\hat q/y`) has nine order parameters
:math:`(q_1,\delta Q,\delta S,\delta q;R,a,\hat q_1,\delta\hat q,\hat S)`:

.. math::

    S_I &= -\tfrac12R^2\delta Q - \hat S S - aR\,\delta S - \tfrac12\hat q_1(1-q_1)
           - \tfrac12(\delta\hat q\,q_1+\hat q_1\delta q) + G_S + \alpha G_E,\\
    G_S &= \mathbb E_{z_0,z_1}\max_{\tilde W=\pm1}\big[R z_0\tilde W
           + M_S(a z_0+\sqrt{\hat q_1-a^2}\,z_1+\hat S\tilde W)\big],\\
    G_E &= \mathbb E_{z_0,z_1}\max_{r\ge\kappa_{\rm ref},\,w}\Big[-\frac{(r-z_0)^2}{2\delta Q}-\frac{w^2}2
           + \log H\Big(\frac{\kappa - S z_0-\sqrt{q_1-S^2}z_1-\frac{\delta S}{\delta Q}(r-z_0)
           -\sqrt{\delta q-\delta S^2/\delta Q}\,w}{\sqrt{1-q_1}}\Big)\Big],

with :math:`M_S` the entropic Moreau envelope of :mod:`~physlearn.theory.local_entropy`. The
energetic maximisation is closed-form: without the constraint the optimum is
:math:`r-z_0=\delta S A(u)/\sqrt{1-q_1}` and the value is the free-reference envelope
:math:`M_E(c,\delta q/(1-q_1))`; where that optimum violates :math:`r\ge\kappa_{\rm ref}` the
constraint is active, :math:`r=\kappa_{\rm ref}`, and the value is
:math:`-(\kappa_{\rm ref}-z_0)^2/(2\delta Q) + M_E(c-\frac{\delta S}{\delta Q}\frac{\kappa_{\rm ref}-z_0}{\sqrt{1-q_1}},
\frac{\delta q-\delta S^2/\delta Q}{1-q_1})`.

Quadrature (theory notes §0.1, pitfalls 4 and 6): both integrands have kinks on curves of the
:math:`(z_0,z_1)` plane (switch of :math:`\tilde W^*`; activation of the constraint). In rotated
coordinates (:math:`t` along the Gaussian combination that enters the envelope, :math:`s`
orthogonal to it) the kink is at a closed-form :math:`s^*(t)`, so the inner :math:`s` line is split
there and the outer :math:`t` line at the crossover :math:`\kappa/\sqrt{q_1}` (energetic) or 0
(entropic), each half with :func:`~physlearn.numerics.half_line_rule`.

Saddle point: damped iteration of the reduced map :math:`(q_1,\delta q,\delta Q,\delta S)\to
(\hat q_1,\delta\hat q,R,a)` (derivatives of :math:`G_E`) :math:`\to\hat S` (Newton on
:math:`S=\partial_{\hat S}G_S`) :math:`\to(q_1,\delta q,\delta Q,\delta S)` (derivatives of
:math:`G_S`), started from the free-reference solution.

Finding (``kappa_ref == kappa``): the free-reference optimum :math:`\tilde W=\mathrm{sign}` of the
cavity field already satisfies the constraint except on a region of Gaussian mass
:math:`\lesssim e^{-100}` (the replicas sit within :math:`\sqrt{q_1-S^2}\ll1` of the reference
direction), so :math:`R\to0` and the constrained saddle point *is* the free one: :math:`S_I` agrees
to quadrature accuracy and :math:`\delta Q` becomes a flat direction (reported, not used).
With ``kappa_ref > kappa`` the constraint is active on a finite mass and :math:`R>0`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import numerics as nm

DEFAULT_N2 = 48  # nodes per half line in each of the two dimensions
_ITERS = 600
_DAMP = 0.5
_TOL = 1e-9
_R_DEGENERATE = 1e-3  # below this R the constraint is (numerically) inactive; dQ is then flat


def _split_rule(c, n):
    zu, wu = nm.half_line_rule(c, n)
    zl, wl = nm.half_line_rule(-c, n)
    return jnp.concatenate([zu, -zl]), jnp.concatenate([wu, wl])


def _me(c, K):
    from .local_entropy import moreau_energetic

    return moreau_energetic(c, K)


def _ms(B, D):
    from .local_entropy import moreau_entropic

    return moreau_entropic(B, D)


def entropic(R, a, q1h, dqh, sh, n=DEFAULT_N2):
    r""":math:`G_S = \mathbb E\max_{\tilde W}[Rz_0\tilde W + M_S(A+\hat S\tilde W)]`,
    :math:`A = az_0+\sqrt{\hat q_1-a^2}z_1` (PRL 2015 SM), integrated in :math:`t=A/\sqrt{\hat q_1}`
    and :math:`s`, :math:`z_0=\rho t+\sqrt{1-\rho^2}s`, :math:`\rho=a/\sqrt{\hat q_1}`, with the
    :math:`s` line split where :math:`\tilde W^*` switches."""
    sq = jnp.sqrt(q1h)
    rho = a / sq
    orth = jnp.sqrt(jnp.maximum(1.0 - rho * rho, 1e-300))
    t, wt = _split_rule(jnp.zeros_like(R), n)
    Rs = jnp.where(jnp.abs(R) < 1e-300, 1e-300, R)

    def inner(tt):
        A = sq * tt
        mp, mm = _ms(A + sh, dqh), _ms(A - sh, dqh)
        z0s = jax.lax.stop_gradient((mm - mp) / (2.0 * Rs))  # W* = +1 iff R z0 > (mm - mp)/2
        s_star = jnp.clip((z0s - rho * tt) / orth, -30.0, 30.0)
        s, ws = _split_rule(s_star, n)
        z0 = rho * tt + orth * s
        f = jnp.maximum(R * z0 + mp, -R * z0 + mm)
        return jnp.sum(ws * f)

    return jnp.sum(wt * jax.vmap(inner)(t))


def energetic(q1, dQ, dS, dq, S, kappa, kappa_ref, n=DEFAULT_N2, with_mass=False):
    r""":math:`G_E` of the module docstring, integrated in :math:`t` (the replicas' field
    :math:`(Sz_0+\sqrt{q_1-S^2}z_1)/\sqrt{q_1}`) and :math:`s` (orthogonal), the :math:`s` line split
    where the reference constraint switches on. ``with_mass``: also return the Gaussian mass
    of the active region (where the reference field sits at :math:`\kappa_{\rm ref}`)."""
    s1 = jnp.sqrt(1.0 - q1)
    K = dq / (1.0 - q1)
    Ka = jnp.maximum(dq - dS * dS / dQ, 1e-300) / (1.0 - q1)
    rho = S / jnp.sqrt(q1)
    orth = jnp.sqrt(jnp.maximum(1.0 - rho * rho, 1e-300))
    t, wt = _split_rule(kappa / jnp.sqrt(q1), n)
    from .local_entropy import _u_of

    def inner(tt):
        c = (kappa - jnp.sqrt(q1) * tt) / s1
        u = _u_of(c, K)
        Au = nm.GH(u)
        free = -0.5 * K * Au * Au + nm.log_H(u)
        z0s = jax.lax.stop_gradient(kappa_ref - dS * Au / s1)  # active iff z0 < z0s
        s_star = jnp.clip((z0s - rho * tt) / orth, -30.0, 30.0)
        s, ws = _split_rule(s_star, n)
        z0 = rho * tt + orth * s
        vm = kappa_ref - z0
        act = -0.5 * vm * vm / dQ + _me(c - dS * vm / (dQ * s1), Ka)
        active = z0 + dS * Au / s1 < kappa_ref
        f = jnp.where(active, act, free)
        return jnp.sum(ws * f), jnp.sum(ws * active)

    val, mass = jax.vmap(inner)(t)
    val, mass = jnp.sum(wt * val), jnp.sum(wt * mass)
    return (val, mass) if with_mass else val


def free_entropy(theta, d, alpha, kappa=0.0, kappa_ref=0.0, n=DEFAULT_N2):
    r"""The nine-parameter :math:`y\to\infty` RS functional of the module docstring,
    ``theta = (q1, dQ, dS, dq, R, a, q1_hat, dq_hat, S_hat)``. Composable."""
    q1, dQ, dS, dq, R, a, q1h, dqh, sh = (theta[i] for i in range(9))
    S = 1.0 - 2.0 * d
    return (
        -0.5 * R * R * dQ - sh * S - a * R * dS - 0.5 * q1h * (1.0 - q1) - 0.5 * (dqh * q1 + q1h * dq)
        + entropic(R, a, q1h, dqh, sh, n)
        + alpha * energetic(q1, dQ, dS, dq, S, kappa, kappa_ref, n)
    )


def _conjugates(x, S, alpha, kappa, kappa_ref, n):
    q1, dq, dQ, dS = x[0], x[1], x[2], x[3]
    g = jax.grad(lambda v: energetic(v[0], v[1], v[2], v[3], S, kappa, kappa_ref, n))(jnp.stack([q1, dQ, dS, dq]))
    q1h = 2.0 * alpha * g[3]
    dqh = q1h + 2.0 * alpha * g[0]
    R = jnp.sqrt(jnp.maximum(2.0 * alpha * g[1], 0.0))
    a = alpha * g[2] / jnp.maximum(R, 1e-300)
    a = jnp.clip(a, -0.999 * jnp.sqrt(q1h), 0.999 * jnp.sqrt(q1h))
    return q1h, dqh, R, a


def _reduced_map(x, sh0, S, alpha, kappa, kappa_ref, n):
    q1h, dqh, R, a = _conjugates(x, S, alpha, kappa, kappa_ref, n)
    dsh = jax.grad(entropic, argnums=4)

    def newton(_, sh):
        f, fp = jax.jvp(lambda s: dsh(R, a, q1h, dqh, s, n), (sh,), (jnp.ones_like(sh),))
        return sh - jnp.clip((f - S) / jnp.maximum(fp, 1e-8), -1.0, 1.0)

    sh = jax.lax.fori_loop(0, 8, newton, sh0)
    gR, ga, gq1h, gdqh = jax.grad(entropic, argnums=(0, 1, 2, 3))(R, a, q1h, dqh, sh, n)
    Rs = jnp.maximum(R, 1e-300)
    dS = ga / Rs
    dQ = (gR - a * dS) / Rs
    q1 = 2.0 * gdqh
    dq = 2.0 * gq1h - (1.0 - q1)
    # keep the iteration in the physical domain (pitfall 10); R -> 0: dQ becomes a flat direction
    degenerate = R < _R_DEGENERATE
    dQ = jnp.where(degenerate | (dQ <= 0), x[2], dQ)
    dQ = jnp.maximum(dQ, dS * dS / jnp.maximum(dq, 1e-12) + 1e-12)
    return jnp.stack([q1, dq, dQ, dS]), jnp.stack([R, a, q1h, dqh, sh])


def solve_point(theta_free, x_guess, d, alpha, kappa, kappa_ref, n=DEFAULT_N2):
    r"""Constrained saddle point at one :math:`d`, from the free-reference solution
    ``theta_free = (q1, dq, q1_hat, dq_hat, S_hat)`` and a guess ``x_guess = (dQ, dS)``.
    Returns ``(theta9, converged, residual, n_steps, active_mass)``."""
    S = 1.0 - 2.0 * d
    x0 = jnp.stack([theta_free[0], theta_free[1], x_guess[0], x_guess[1]])
    sh0 = theta_free[4]

    def cond(st):
        _, _, res, k = st
        return (res > _TOL) & (k < _ITERS)

    def body(st):
        x, sh, _, k = st
        xn, conj = _reduced_map(x, sh, S, alpha, kappa, kappa_ref, n)
        deg = conj[0] < _R_DEGENERATE
        diff = jnp.abs(xn - x) / (1.0 + jnp.abs(x))
        res = jnp.max(jnp.where(deg & (jnp.arange(4) == 2), 0.0, diff))
        res = jnp.where(jnp.all(jnp.isfinite(xn)), res, jnp.inf)
        return (1.0 - _DAMP) * x + _DAMP * xn, conj[4], res, k + 1

    x, sh, res, k = jax.lax.while_loop(cond, body, (x0, sh0, jnp.asarray(jnp.inf, x0.dtype), jnp.asarray(0)))
    xn, conj = _reduced_map(x, sh, S, alpha, kappa, kappa_ref, n)
    R, a, q1h, dqh, sh = (conj[i] for i in range(5))
    theta = jnp.stack([xn[0], xn[2], xn[3], xn[1], R, a, q1h, dqh, sh])
    _, mass = energetic(xn[0], xn[2], xn[3], xn[1], S, kappa, kappa_ref, n, with_mass=True)
    ok = (res <= _TOL) & jnp.all(jnp.isfinite(theta))
    return theta, ok, res, k, mass
