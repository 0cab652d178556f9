r"""The :math:`y\to\infty` RS local-entropy functional with a free reference (robust ensemble) and
its saddle point at one distance.

Baldassi et al. PNAS 113, E7655 (2016); PRL 115, 128101 (2015) SM. With :math:`S=1-2d` and five
order parameters :math:`\theta=(q_1,\delta q;\hat q_1,\delta\hat q,\hat S)`:

.. math::

    S_I = -\hat S S - \tfrac12\hat q_1(1-q_1) - \tfrac12(\delta\hat q\, q_1 + \hat q_1\delta q)
          + \int Dz\, M_S\big(\sqrt{\hat q_1}|z| + \hat S\big)
          + \alpha\int Dz\, M_E\Big(\frac{\kappa-\sqrt{q_1}z}{\sqrt{1-q_1}}\Big),

with the Moreau envelopes :math:`M_S` (:math:`\delta\hat q`) and :math:`M_E`
(:math:`K=\delta q/(1-q_1)`) of :mod:`physlearn.theory._envelopes`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import numerics as nm
from ... import solvers
from .._envelopes import h_of, moreau_energetic, moreau_entropic, u_of
from .._integrals import kink

DEFAULT_NODES = 96  # per half line
CONV = 1e-9  # max |scaled grad S_I| (log variables) accepted as a saddle point
_NEWTON_STEPS = 30  # damped Newton steps per point (3-5 from a warm start)


def free_entropy(theta, d, alpha, kappa=0.0, n: int = DEFAULT_NODES):
    r"""The :math:`y\to\infty` RS local-entropy functional :math:`S_I(q_1,\delta q,\hat q_1,
    \delta\hat q,\hat S; d)` with a free reference (Baldassi et al. PNAS 2016, PRL 2015 SM),
    ``theta = (q1, dq, q1_hat, dq_hat, S_hat)``; its stationary point is the saddle point solved by
    :func:`physlearn.theory.local_entropy.free_reference_rs`. Composable (jit, vmap, grad)."""
    q1, dq, q1h, dqh, sh = theta[0], theta[1], theta[2], theta[3], theta[4]
    S = 1.0 - 2.0 * d
    zs, ws = nm.half_line_rule(jnp.zeros_like(q1), n)
    g_s = 2.0 * jnp.sum(ws * moreau_entropic(jnp.sqrt(q1h) * zs + sh, dqh))
    K = dq / (1.0 - q1)
    g_e = nm.gauss_expect_split(
        lambda z: moreau_energetic((kappa - jnp.sqrt(q1) * z) / jnp.sqrt(1.0 - q1), K), kink(q1, kappa), n
    )
    return -sh * S - 0.5 * q1h * (1.0 - q1) - 0.5 * (dqh * q1 + q1h * dq) + g_s + alpha * g_e


def to_theta(x):
    return jnp.stack([jax.nn.sigmoid(x[0]), jnp.exp(x[1]), jnp.exp(x[2]), jnp.exp(x[3]), x[4]])


def from_theta(t):
    return jnp.stack([jnp.log(t[0]) - jnp.log1p(-t[0]), jnp.log(t[1]), jnp.log(t[2]), jnp.log(t[3]), t[4]])


def energetic_conj(q1, dq, alpha, kappa, n):
    r"""Explicit (Stein-form) energetic equations: :math:`\hat q_1=\alpha\langle A^2\rangle/(1-q_1)`,
    :math:`\delta\hat q = \alpha\langle K A'^2/(1+KA')\rangle/(1-q_1)`."""
    K = dq / (1.0 - q1)

    def f(z):
        u = u_of((kappa - jnp.sqrt(q1) * z) / jnp.sqrt(1.0 - q1), K)
        A = nm.GH(u)
        Ap = nm.GH_prime(u)
        return jnp.stack([A * A, K * Ap * Ap / (1.0 + K * Ap)])

    e = nm.gauss_expect_split(f, kink(q1, kappa), n)
    return alpha * e[0] / (1.0 - q1), alpha * e[1] / (1.0 - q1)


def entropic_moments(q1h, dqh, sh, n):
    r""":math:`(\langle m\rangle, \langle m^2\rangle, \langle m|z|\rangle)`, :math:`m=\tanh h`."""
    zs, ws = nm.half_line_rule(jnp.zeros_like(q1h), n)
    m = jnp.tanh(h_of(jnp.sqrt(q1h) * zs + sh, dqh))
    return 2.0 * jnp.sum(ws * m), 2.0 * jnp.sum(ws * m * m), 2.0 * jnp.sum(ws * m * zs)


def cold_start(d, alpha, kappa, n, max_steps=3000, tol=1e-2):
    r"""Reduced damped iteration :math:`(q_1,\delta q)\to(\hat q_1,\delta\hat q)
    \to\hat S` (bisection on :math:`S=\langle m\rangle`) :math:`\to(q_1,\delta q)`, from
    :math:`q_1=S^2`, :math:`\delta q=1`, to a step below ``tol`` in (logit q1, log dq) (it converges
    linearly, ~18 iterations per decade at alpha = 0.6; the damped Newton of :func:`solve_point`
    finishes from there). Robust at moderate :math:`d`; used once per curve as the start of :func:`solve_point`.
    Returns ``(theta, result)`` (no derivatives)."""
    S = 1.0 - 2.0 * d

    def conj(y):
        q1 = jax.nn.sigmoid(y[0])
        dq = jnp.exp(y[1])
        q1h, dqh = energetic_conj(q1, dq, alpha, kappa, n)
        sol = solvers.root(
            lambda s, _: entropic_moments(q1h, dqh, s, n)[0] - S,
            jnp.zeros_like(q1),
            None,
            method="bisection",
            lower=-50.0,
            upper=50.0,
            tol=1e-11,
            max_steps=200,
            differentiable=False,
        )
        return q1, dq, q1h, dqh, sol.value

    def update(y, _):
        q1, dq, q1h, dqh, sh = conj(y)
        _, m2, mz = entropic_moments(q1h, dqh, sh, n)
        dq_new = jnp.maximum(mz / jnp.sqrt(q1h) - (1.0 - q1), 1e-12)
        return jnp.stack([jnp.log(m2) - jnp.log1p(-m2), jnp.log(dq_new)])

    y0 = jnp.stack([jnp.log(S * S) - jnp.log1p(-S * S), jnp.zeros_like(S)])
    sol = solvers.fixed_point(update, y0, None, damping=0.5, tol=tol, max_steps=max_steps, differentiable=False)
    return jnp.stack(conj(jax.lax.stop_gradient(sol.value))), sol.result


def grad_x(x, args):
    r"""Scaled stationarity conditions at ``x`` = (logit q1, log dq, log q1_hat, log dq_hat, S_hat):
    :math:`\partial S_I/\partial\theta` rescaled so that each entry is the *relative* residual of
    one saddle-point equation (:math:`\hat q_1`, :math:`\delta q`, :math:`\delta\hat q` equations) or
    the absolute residual of :math:`S=\langle m\rangle`, :math:`q_1=\langle m^2\rangle`. A plain gradient
    in log variables would accept junk where the conjugates are tiny (small alpha, small d)."""
    d, alpha, kappa, n = args
    theta = to_theta(x)
    g = jax.grad(lambda th: free_entropy(th, d, alpha, kappa, n))(theta)
    dq, q1h, dqh = theta[1], theta[2], theta[3]
    return jnp.stack([2.0 * g[0] / dqh, 2.0 * g[1] / q1h, 2.0 * g[2] / dq, 2.0 * g[3], g[4]])


def solve_point(theta0, d, alpha, kappa, n):
    r"""Stationary point of :math:`S_I` in the variables (logit q1, log dq, log q1_hat, log dq_hat,
    S_hat) by the damped Newton of :func:`physlearn.solvers.newton` (autodiff Jacobian, step
    halving on the residual) on the scaled :math:`\nabla S_I = 0` from ``theta0``: 3--5 steps
    from the previous point of a continuation, and the damping keeps the curve near the end of its
    branch (the small-d end close to the dense-region threshold, where the Hessian is nearly
    singular). Accepted at :math:`\max|\cdot|\le10^{-9}`; implicit derivatives in ``d, alpha,
    kappa``."""
    sol = solvers.newton(
        lambda x, a: grad_x(x, (a[0], a[1], a[2], n)),
        from_theta(theta0),
        (d, alpha, kappa),
        jacobian="autodiff",
        tol=1e-12,
        accept=CONV,
        max_steps=_NEWTON_STEPS,
    )
    return solvers.SaddleSolution(to_theta(sol.value), sol.result, sol.residual, sol.n_steps)
