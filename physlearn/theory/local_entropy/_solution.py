r"""Large-deviation local entropy with the reference constrained to be a solution (PRL 2015).

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015), Supplemental
Material: the reference :math:`\tilde W` of the large-deviation measure is itself required to
satisfy all patterns (with margin :math:`\kappa_{\rm ref}`). The :math:`y\to\infty` limit of the RS
functional (constrained reference; :math:`1-Q=\delta Q/y`,
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

with :math:`M_S` the entropic Moreau envelope of :mod:`physlearn.theory._envelopes`. The
energetic maximisation is closed-form: without the constraint the optimum is
:math:`r-z_0=\delta S A(u)/\sqrt{1-q_1}` and the value is the free-reference envelope
:math:`M_E(c,\delta q/(1-q_1))`; where that optimum violates :math:`r\ge\kappa_{\rm ref}` the
constraint is active, :math:`r=\kappa_{\rm ref}`, and the value is
:math:`-(\kappa_{\rm ref}-z_0)^2/(2\delta Q) + M_E(c-\frac{\delta S}{\delta Q}\frac{\kappa_{\rm ref}-z_0}{\sqrt{1-q_1}},
\frac{\delta q-\delta S^2/\delta Q}{1-q_1})`.

Quadrature: both integrands have kinks on curves of the
:math:`(z_0,z_1)` plane (switch of :math:`\tilde W^*`; activation of the constraint). In rotated
coordinates (:math:`t` along the Gaussian combination that enters the envelope, :math:`s`
orthogonal to it) the kink is at a closed-form :math:`s^*(t)`, so the inner :math:`s` line is split
there and the outer :math:`t` line at the crossover :math:`\kappa/\sqrt{q_1}` (energetic) or 0
(entropic), each half with :func:`~physlearn.numerics.half_line_rule`.

Saddle point: damped iteration of the reduced map :math:`(q_1,\delta q,\delta Q,\delta S)\to
(\hat q_1,\delta\hat q,R,a)` (derivatives of :math:`G_E`) :math:`\to\hat S` (Newton on
:math:`S=\partial_{\hat S}G_S`) :math:`\to(q_1,\delta q,\delta Q,\delta S)` (derivatives of
:math:`G_S`), started from the free-reference solution.

Where the constraint is inactive on the whole Gaussian mass (:math:`R\to0`), :math:`\delta Q` and then
:math:`\delta S` become flat directions; the saddle point is then the free-reference one.

1RSB among the replicas around the solution reference (:func:`free_entropy_1rsb`,
:func:`intra_map_1rsb`): the same 2D integrals with the 1RSB envelopes of
:mod:`physlearn.theory._envelopes`; used by :func:`physlearn.theory.local_entropy.solution_reference_1rsb`
for the :math:`m\to1` analysis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import numerics as nm
from ... import solvers
from .._envelopes import DEFAULT_N_IN, moreau_energetic_1rsb, moreau_entropic, moreau_entropic_1rsb, u_of
from .._integrals import split_rule

DEFAULT_N2 = 48  # nodes per half line in each of the two dimensions
_ITERS = 600
_DAMP = 0.5
_TOL = 1e-9
_R_DEGENERATE = 1e-3  # below this R the constraint is (numerically) inactive; dQ is then flat


def _entropic_2d(ms, R, a, p, sh, n):
    r""":math:`\mathbb E\max_{\tilde W}[Rz_0\tilde W + M(A+\hat S\tilde W)]`,
    :math:`A = az_0+\sqrt{p-a^2}z_1`, for an entropic envelope ``ms(B)`` (RS or 1RSB), integrated in
    :math:`t=A/\sqrt p` and :math:`s`, :math:`z_0=\rho t+\sqrt{1-\rho^2}s`, :math:`\rho=a/\sqrt p`,
    with the :math:`s` line split where :math:`\tilde W^*` switches."""
    sq = jnp.sqrt(p)
    rho = a / sq
    orth = jnp.sqrt(jnp.maximum(1.0 - rho * rho, 1e-300))
    t, wt = split_rule(jnp.zeros_like(R), n)
    Rs = jnp.where(jnp.abs(R) < 1e-300, 1e-300, R)

    def inner(tt):
        A = sq * tt
        mp, mm = ms(A + sh), ms(A - sh)
        z0s = jax.lax.stop_gradient((mm - mp) / (2.0 * Rs))  # W* = +1 iff R z0 > (mm - mp)/2
        s_star = jnp.clip((z0s - rho * tt) / orth, -30.0, 30.0)
        s, ws = split_rule(s_star, n)
        z0 = rho * tt + orth * s
        f = jnp.maximum(R * z0 + mp, -R * z0 + mm)
        return jnp.sum(ws * f)

    return jnp.sum(wt * jax.vmap(inner)(t))


def _energetic_2d(me, q, dQ, dS, dq, S, kappa, kappa_ref, n, with_mass):
    r""":math:`\mathbb E\max_{r\ge\kappa_{\rm ref},w}[\dots]` of the module docstring for an energetic
    envelope ``me(c, dq) -> (M(c), g)`` of the unscaled argument :math:`c=\kappa-\text{field}`
    (:math:`g=-\partial_cM`, so that the unconstrained optimum is :math:`r-z_0=\delta S\,g`).
    Integrated in :math:`t` (the replicas' field :math:`(Sz_0+\sqrt{q-S^2}z_1)/\sqrt q`) and
    :math:`s` (orthogonal), the :math:`s` line split where the reference constraint switches on."""
    rho = S / jnp.sqrt(q)
    orth = jnp.sqrt(jnp.maximum(1.0 - rho * rho, 1e-300))
    dqa = jnp.maximum(dq - dS * dS / dQ, 1e-300)
    t, wt = split_rule(kappa / jnp.sqrt(q), n)

    def inner(tt):
        c = kappa - jnp.sqrt(q) * tt
        free, g = me(c, dq)
        z0s = jax.lax.stop_gradient(kappa_ref - dS * g)  # active iff z0 < z0s
        s_star = jnp.clip((z0s - rho * tt) / orth, -30.0, 30.0)
        s, ws = split_rule(s_star, n)
        z0 = rho * tt + orth * s
        vm = kappa_ref - z0
        act = -0.5 * vm * vm / dQ + jax.vmap(lambda cc: me(cc, dqa)[0])(c - dS * vm / dQ)
        active = z0 + dS * g < kappa_ref
        f = jnp.where(active, act, free)
        # Gaussian mass of the active part of this line, P(s < s*), in closed form (differentiable)
        return jnp.sum(ws * f), nm.H(-(kappa_ref - dS * g - rho * tt) / orth)

    val, mass = jax.vmap(inner)(t)
    val, mass = jnp.sum(wt * val), jnp.sum(wt * mass)
    return (val, mass) if with_mass else val


def entropic(R, a, q1h, dqh, sh, n=DEFAULT_N2):
    r""":math:`G_S = \mathbb E\max_{\tilde W}[Rz_0\tilde W + M_S(A+\hat S\tilde W)]`,
    :math:`A = az_0+\sqrt{\hat q_1-a^2}z_1` (PRL 2015 SM), split where :math:`\tilde W^*` switches."""
    return _entropic_2d(lambda B: moreau_entropic(B, dqh), R, a, q1h, sh, n)


def energetic(q1, dQ, dS, dq, S, kappa, kappa_ref, n=DEFAULT_N2, with_mass=False):
    r""":math:`G_E` of the module docstring (RS envelope :math:`M_E(c/\sqrt{1-q_1},\delta q/(1-q_1))`),
    split where the reference constraint switches on. ``with_mass``: also return the Gaussian mass
    of the active region (where the reference field sits at :math:`\kappa_{\rm ref}`)."""
    s1 = jnp.sqrt(1.0 - q1)

    def me(c, dq_):
        u = u_of(c / s1, dq_ / (1.0 - q1))
        Au = nm.GH(u)
        return -0.5 * dq_ / (1.0 - q1) * Au * Au + nm.log_H(u), Au / s1

    return _energetic_2d(me, q1, dQ, dS, dq, S, kappa, kappa_ref, n, with_mass)


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

    def newton(sh):
        f, fp = jax.jvp(lambda s: dsh(R, a, q1h, dqh, s, n), (sh,), (jnp.ones_like(sh),))
        return sh - jnp.clip((f - S) / jnp.maximum(fp, 1e-8), -1.0, 1.0)

    sh = solvers.iterate(newton, sh0, max_steps=8)[0]
    gR, ga, gq1h, gdqh = jax.grad(entropic, argnums=(0, 1, 2, 3))(R, a, q1h, dqh, sh, n)
    Rs = jnp.maximum(R, 1e-300)
    # dS = dG_S/da / R is 0/0 once R underflows (small d, constraint out of reach): keep the iterate,
    # which is then a flat direction (setting it to 0 would switch the constraint on at z0 < kappa_ref)
    dS = jnp.where((R > 1e-200) & (ga != 0), ga / Rs, x[3])
    dQ = (gR - a * dS) / Rs
    q1 = 2.0 * gdqh
    dq = 2.0 * gq1h - (1.0 - q1)
    # keep the iteration in the physical domain; R -> 0: dQ becomes a flat direction
    degenerate = R < _R_DEGENERATE
    dQ = jnp.where(degenerate | (dQ <= 0), x[2], dQ)
    dQ = jnp.maximum(dQ, dS * dS / jnp.maximum(dq, 1e-12) + 1e-12)
    return jnp.stack([q1, dq, dQ, dS]), jnp.stack([R, a, q1h, dqh, sh])


def solve_point(theta_free, x_guess, d, alpha, kappa, kappa_ref, n=DEFAULT_N2):
    r"""Constrained saddle point at one :math:`d`, from the free-reference solution
    ``theta_free = (q1, dq, q1_hat, dq_hat, S_hat)`` and a guess ``x_guess = (dQ, dS)``: damped
    iteration of the reduced map (:func:`physlearn.solvers.fixed_point`, damping 0.5) until the
    relative change of :math:`(q_1,\delta q,\delta Q,\delta S)` is below 1e-9, the flat directions
    excepted (:math:`\delta Q` once :math:`R<10^{-3}`, :math:`\delta S` once :math:`R<10^{-8}`: the
    constraint then acts on a negligible mass).

    Returns ``(theta9, result, residual, n_steps, active_mass, degenerate)``, ``theta9 = (q1, dQ, dS,
    dq, R, a, q1_hat, dq_hat, S_hat)`` with implicit derivatives of :math:`\nabla S_I=0` in ``d, alpha,
    kappa, kappa_ref`` (finite-difference Jacobians, which see the kinks of the integrands).
    ``degenerate``: :math:`R<10^{-3}` at the solution, where :math:`\delta Q` is held at its last
    iterate and stationarity in :math:`R` is not imposed; the values there are not a saddle point
    of the functional, and ``theta9`` (and ``active_mass``) have NaN derivatives."""
    S = 1.0 - 2.0 * d
    sg = jax.lax.stop_gradient
    x0 = sg(jnp.stack([theta_free[0], theta_free[1], x_guess[0], x_guess[1]]))
    pars = sg((S, alpha, kappa, kappa_ref))

    def update(x, _, conj):
        return _reduced_map(x, conj[4], *pars, n)

    def residual(x, xn, x_next, conj):
        deg = conj[0] < _R_DEGENERATE
        diff = jnp.abs(xn - x) / (1.0 + jnp.abs(x))
        # dQ is flat once R is degenerate; dS too once R ~ 0 (the constraint acts on a mass ~R^2 ~ 0)
        flat = (deg & (jnp.arange(4) == 2)) | ((conj[0] < 1e-8) & (jnp.arange(4) == 3))
        res = jnp.max(jnp.where(flat, 0.0, diff))
        return jnp.where(jnp.all(jnp.isfinite(xn)), res, jnp.inf)

    aux0 = jnp.zeros(5, x0.dtype).at[4].set(sg(theta_free[4]))
    sol = solvers.fixed_point(update, x0, None, damping=_DAMP, tol=_TOL, max_steps=_ITERS, has_aux=True, aux0=aux0,
                              residual=residual, differentiable=False)
    x, conj = sol.value
    xn, conj = _reduced_map(x, conj[4], *pars, n)
    R, a, q1h, dqh, sh = (conj[i] for i in range(5))
    theta = jnp.stack([xn[0], xn[2], xn[3], xn[1], R, a, q1h, dqh, sh])
    result = solvers.combine(sol.result, solvers.from_checks(jnp.all(jnp.isfinite(theta)), True))
    theta = solvers.implicit(
        lambda th, p: jax.grad(free_entropy)(th, p[0], p[1], p[2], p[3], n), theta, (d, alpha, kappa, kappa_ref),
        jacobian="fd", degenerate=True, rcond=1e-7,
    )
    # R < _R_DEGENERATE: the solve holds dQ at its last iterate and does not impose stationarity in R
    # (the constraint still binds on a small mass), so the values are not the saddle point that
    # `implicit` differentiates; they depend on the iteration's path through dQ. No derivative there.
    degenerate = R < _R_DEGENERATE
    theta = solvers.nondifferentiable(theta, degenerate, (d, alpha, kappa, kappa_ref))
    xs = (theta[0], theta[1], theta[2], theta[3])
    _, mass = energetic(xs[0], xs[1], xs[2], xs[3], S, kappa, kappa_ref, n, with_mass=True)
    return theta, result, sol.residual, sol.n_steps, mass, degenerate


# --------------------------------------------------------------------------------------------
# 1RSB among the replicas around a solution reference (m -> 1)
# --------------------------------------------------------------------------------------------
# The replicas around one reference split into groups of m (intra-cluster overlap q1 and conjugate
# p1 = q1_hat; the RS order parameters become the inter-cluster level q0 = q1^RS, p0 = q1_hat^RS).
# The 2D integrals keep their form, with the RS envelopes replaced by the 1RSB ones of
# :mod:`physlearn.theory._envelopes`:
#
#   S_I = -R^2 dQ/2 - S_hat S - a R dS - p1 (1 - q1)/2 - m (p1 q1 - p0 q0)/2 - (dp q0 + p0 dq)/2
#         + E max_W~ [R z0 W~ + M_S^(1RSB)(a z0 + sqrt(p0 - a^2) z1 + S_hat W~)]
#         + alpha E max_{r >= kappa_ref, w} [-(r - z0)^2/(2 dQ) - w^2/2
#               + L_E(kappa - S z0 - sqrt(q0 - S^2) z1 - (dS/dQ)(r - z0) - sqrt(dq - dS^2/dQ) w)],
#
# L_E(v) = (1/m) log int Dz H((v - sqrt(q1 - q0) z)/sqrt(1 - q1))^m. At m = 1 (or q1 = q0, p1 = p0)
# every inner 1RSB integral is the RS one exactly, so the functional is the nine-parameter RS one for
# any (q1, p1): at m -> 1 the inter-cluster level is the RS saddle of :func:`solve_point` and the
# intra-cluster level the scalar fixed point of :func:`intra_map_1rsb` (the reconstruction equations
# with the reference constraint). Where the constraint is inactive on a node, that node is the
# free-reference one; the constraint enters through the nodes where it binds (mass ``active_mass``).
def entropic_1rsb(R, a, p0, p1, dp, sh, m, n=DEFAULT_N2, n_in=None):
    r"""1RSB entropic term :math:`\mathbb E\max_{\tilde W}[Rz_0\tilde W + M_S(A+\hat S\tilde W)]` with
    the 1RSB envelope :math:`M_S` of :func:`physlearn.theory._envelopes.moreau_entropic_1rsb`
    (:math:`A=az_0+\sqrt{\hat q_0-a^2}z_1`, intra-cluster variance :math:`\hat q_1-\hat q_0`)."""
    n_in = DEFAULT_N_IN if n_in is None else n_in
    return _entropic_2d(lambda B: moreau_entropic_1rsb(B, dp, p1 - p0, m, n_in)[0], R, a, p0, sh, n)


def energetic_1rsb(q0, q1, dQ, dS, dq, S, kappa, kappa_ref, m, n=DEFAULT_N2, n_in=None, with_mass=False):
    r"""1RSB energetic term (comment above): the constrained maximisation over the reference field of
    :func:`energetic` with the 1RSB envelope :math:`M_E` of
    :func:`physlearn.theory._envelopes.moreau_energetic_1rsb` (:math:`g=-\partial_cM_E=(c-v^*)/\delta q`)."""
    n_in = DEFAULT_N_IN if n_in is None else n_in
    s1 = jnp.sqrt(1.0 - q1)

    def me(c, dq_):
        val, v = moreau_energetic_1rsb(c, dq_, q1 - q0, s1, m, n_in)
        return val, (c - v) / dq_

    return _energetic_2d(me, q0, dQ, dS, dq, S, kappa, kappa_ref, n, with_mass)


NAMES_1RSB = ("q0", "q1", "dQ", "dS", "dq", "R", "a", "q0_hat", "q1_hat", "dq_hat", "S_hat", "m")


def free_entropy_1rsb(theta, d, alpha, kappa=0.0, kappa_ref=0.0, n=DEFAULT_N2, n_in=None):
    r"""The 1RSB functional with a solution reference (comment above),
    ``theta = (q0, q1, dQ, dS, dq, R, a, q0_hat, q1_hat, dq_hat, S_hat, m)``. Composable."""
    q0, q1, dQ, dS, dq, R, a, p0, p1, dp, sh, m = (theta[i] for i in range(12))
    S = 1.0 - 2.0 * d
    trace = (-0.5 * R * R * dQ - sh * S - a * R * dS - 0.5 * p1 * (1.0 - q1) - 0.5 * m * (p1 * q1 - p0 * q0)
             - 0.5 * (dp * q0 + p0 * dq))
    return (trace + entropic_1rsb(R, a, p0, p1, dp, sh, m, n, n_in)
            + alpha * energetic_1rsb(q0, q1, dQ, dS, dq, S, kappa, kappa_ref, m, n, n_in))


def theta_1rsb(theta9, q1, p1, m):
    r"""1RSB parameters from the RS ones ``theta9`` of :func:`solve_point` and the intra-cluster
    ``(q1, p1)``; ``q1 = theta9[0], p1 = theta9[6]`` is the collapsed (RS) point."""
    t = theta9
    return jnp.stack([t[0], q1, t[1], t[2], t[3], t[4], t[5], t[6], p1, t[7], t[8], jnp.asarray(m, t.dtype) + 0 * t[0]])


def intra_map_1rsb(q1, theta9, d, alpha, kappa, kappa_ref, m, n=DEFAULT_N2, n_in=None):
    r"""One sweep of the intra-cluster equations with the inter-cluster level held at the RS saddle
    ``theta9`` (exact at :math:`m\to1`): :math:`\hat q_1=-2\alpha\,\partial_{q_1}G_E/(1-m)`, then
    :math:`q_1'=(1-2\partial_{\hat q_1}G_S)/(1-m)` (the trace is the free-reference one in these
    variables). Returns ``(q1', q1_hat)``."""
    q0, dQ, dS, dq, R, a, p0, dp, sh = (theta9[i] for i in range(9))
    S = 1.0 - 2.0 * d
    e1 = jax.grad(lambda x: energetic_1rsb(q0, x, dQ, dS, dq, S, kappa, kappa_ref, m, n, n_in))(q1)
    p1 = jnp.maximum(-2.0 * alpha * e1 / (1.0 - m), p0 * (1.0 + 1e-12) + 1e-300)
    g1 = jax.grad(lambda x: entropic_1rsb(R, a, p0, x, dp, sh, m, n, n_in))(p1)
    q1n = (1.0 - 2.0 * g1) / (1.0 - m)
    return jnp.clip(q1n, q0 + 1e-12 * (1.0 - q0), 1.0 - 1e-12), p1
