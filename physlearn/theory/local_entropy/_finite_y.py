r"""Large-deviation local entropy at finite :math:`y`, free reference, RS: the fixed-coupling form.

Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti & Zecchina, PNAS 113, E7655 (2016) (robust
ensemble; fBP measures this form); the finite-:math:`y` RS functional with the reference
unconstrained.

Measure: :math:`Z(\gamma,y) = \sum_{\tilde W}\big[\sum_W X(W)\,e^{\gamma W\cdot\tilde W}\big]^y`
(``y`` real replicas coupled to a reference with strength :math:`\gamma` per weight). In the RS
ansatz the energetic term depends on the replica overlaps only, so for a free reference
the stationarity in :math:`Q, S_0` gives :math:`\hat Q=\hat S_0=0`, the reference overlaps drop out,
and :math:`\hat S_1=\gamma`. Per weight (derived here):

.. math::

    \Phi_{\rm tot} = \tfrac1N\mathbb E\log Z &= -\tfrac y2\hat q_1(1-q_1) - \tfrac{y^2}2(\hat q_1q_1-\hat q_0q_0)
        + G_S + \alpha G_E,\\
    G_S &= \int Dz\,\log\sum_{\tilde W=\pm1}\int Dz_2\,\big[2\cosh(\sqrt{\hat q_0}z+\sqrt{\hat q_1-\hat q_0}z_2
        + \gamma\tilde W)\big]^y,\\
    G_E &= \int Dz\,\log\int Dz_2\,H\Big(\frac{\kappa-\sqrt{q_0}z-\sqrt{q_1-q_0}z_2}{\sqrt{1-q_1}}\Big)^y,

a 1RSB-like functional with Parisi parameter :math:`y` and a field :math:`\gamma`; :math:`q_1`
(:math:`q_0`) is the overlap of two replicas around the same (different) references. Derived
quantities (envelope theorem at the saddle point):
:math:`S = \frac1y\partial_\gamma\Phi_{\rm tot}` (replica--reference overlap, :math:`d=(1-S)/2`),
:math:`\phi_{\rm int}=\partial_y\Phi_{\rm tot}` (local free entropy of the selected references),
:math:`\Sigma_{\rm int}=\phi_{\rm int}-\gamma S` (their local entropy, what focusing BP, PNAS 2016
App. D.1, reports as ``local_entropy``; :math:`\Phi_{\rm tot}/y-\gamma S=\Sigma_{\rm int}+\Sigma_{\rm ext}/y`
is its free entropy per replica minus :math:`\gamma S`), :math:`\Sigma_{\rm ext}=\Phi_{\rm tot}-y\phi_{\rm int}` (log-number of such references;
must be :math:`\ge0`). The fixed-:math:`d` curve is the Legendre transform:
:math:`S_I(d,y) = \Sigma_{\rm int}(\gamma(d))` with :math:`S(\gamma)=1-2d`, and
:math:`S_I(d,y)\to S_I(d)` (the :math:`y\to\infty` result) as :math:`y\to\infty`.
Check: at :math:`\alpha=0`, :math:`\Sigma_{\rm int}=H_2(d)`, :math:`\Sigma_{\rm ext}=\log2`.

Inner integrals: the Laplace-recentred Gauss--Hermite rules of :mod:`physlearn.theory._envelopes`
(exact up to quadrature for any shift; derivatives correct with the shift held fixed).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import numerics as nm
from ... import solvers
from .._envelopes import log_inner_energetic_y, log_inner_entropic_y

DEFAULT_N_OUTER = 48  # per half line
DEFAULT_N_INNER = 24  # Gauss-Hermite nodes of the recentred inner integral


def entropic(q0h, q1h, gamma, y, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    delta = q1h - q0h

    def f(z):
        B = jnp.sqrt(q0h) * z
        return jnp.logaddexp(log_inner_entropic_y(B + gamma, delta, y, n_in), log_inner_entropic_y(B - gamma, delta, y, n_in))

    return nm.gauss_expect_split(f, jnp.zeros_like(q0h), n)


def energetic(q0, q1, y, kappa=0.0, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    def f(z):
        return log_inner_energetic_y(kappa - jnp.sqrt(q0) * z, q1, q0, y, n_in)

    return nm.gauss_expect_split(f, kappa / jnp.sqrt(q0), n)


def total_free_entropy(theta, gamma, y, alpha, kappa=0.0, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r""":math:`\Phi_{\rm tot}(q_0,q_1,\hat q_0,\hat q_1;\gamma,y)` of the module docstring,
    ``theta = (q0, q1, q0_hat, q1_hat)``. Composable."""
    q0, q1, q0h, q1h = theta[0], theta[1], theta[2], theta[3]
    return (
        -0.5 * y * q1h * (1.0 - q1) - 0.5 * y * y * (q1h * q1 - q0h * q0)
        + entropic(q0h, q1h, gamma, y, n, n_in) + alpha * energetic(q0, q1, y, kappa, n, n_in)
    )


def to_theta(x):
    q1 = jax.nn.sigmoid(x[0])
    q1h = jnp.exp(x[2])
    return jnp.stack([q1 * jax.nn.sigmoid(x[1]), q1, q1h * jax.nn.sigmoid(x[3]), q1h])


def from_theta(t):
    lg = lambda p: jnp.log(p) - jnp.log1p(-p)  # noqa: E731
    return jnp.stack([lg(t[1]), lg(t[0] / t[1]), jnp.log(t[3]), lg(t[2] / t[3])])


_N_ALPHA = 8  # homotopy steps in alpha (from alpha/8, guess-free)
_CONV = 1e-9


def _grad_x(x, args):
    gamma, y, alpha, kappa, n, n_in = args
    g = jax.grad(total_free_entropy)(to_theta(x), gamma, y, alpha, kappa, n, n_in)
    return g / (y * y)


def derived(theta, gamma, y, alpha, kappa, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r"""``(Phi_tot, S, phi_int, Sigma_int, Sigma_ext)`` at a saddle point: partial derivatives of
    :math:`\Phi_{\rm tot}` at fixed ``theta`` (envelope theorem). ``theta`` may carry its implicit
    derivatives: the results then have exact total derivatives."""
    P = lambda g, yy: total_free_entropy(theta, g, yy, alpha, kappa, n, n_in)  # noqa: E731
    tot = P(gamma, y)
    S = jax.grad(P, 0)(gamma, y) / y
    phi = jax.grad(P, 1)(gamma, y)
    return tot, S, phi, phi - gamma * S, tot - y * phi


def solve_coupling(gamma, y, alpha, kappa, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r"""Saddle point at fixed :math:`(\gamma, y)`: homotopy in :math:`\alpha` from
    :math:`\alpha/8` (started near the :math:`\alpha=0` solution :math:`q_0=q_1=\tanh^2\gamma`),
    Levenberg--Marquardt on :math:`\nabla\Phi_{\rm tot}=0` at every step
    (:func:`physlearn.solvers.continuation`, each step kept where finite), accepted at
    :math:`\max|\nabla\Phi_{\rm tot}|/y^2\le10^{-9}`. Returns ``(theta, result, residual,
    n_steps)``, ``theta`` with implicit derivatives in ``gamma, y, alpha, kappa``."""
    t2 = jnp.tanh(gamma) ** 2
    a1 = alpha / _N_ALPHA
    th0 = jnp.stack([t2, t2 + 0.05 * (1.0 - t2), 0.4 * a1, 0.5 * a1])
    alphas = alpha * jnp.arange(1, _N_ALPHA + 1, dtype=th0.dtype) / _N_ALPHA
    pars = jax.lax.stop_gradient((gamma, y, kappa))

    def step(x, a):
        return solvers.root(lambda v, args: _grad_x(v, (*args, n, n_in)), x, (pars[0], pars[1], a, pars[2]),
                            method="levenberg_marquardt", tol=1e-12, max_steps=100, differentiable=False)

    sols, x = solvers.continuation(step, jax.lax.stop_gradient(from_theta(th0)), jax.lax.stop_gradient(alphas),
                                   carry="finite", with_carry=True)
    x = solvers.implicit(lambda v, args: _grad_x(v, (*args, n, n_in)), x, (gamma, y, alpha, kappa))
    theta = to_theta(x)
    res = jnp.max(jnp.abs(jax.grad(total_free_entropy)(jax.lax.stop_gradient(theta), *pars[:2],
                                                       jax.lax.stop_gradient(alpha), pars[2], n, n_in))) / (y * y)
    res = jax.lax.stop_gradient(res)
    result = solvers.from_checks(jnp.isfinite(res), res < _CONV)
    return theta, result, res, jnp.sum(sols.n_steps)


def solve_distance(d, y, alpha, kappa, theta0, gamma0, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r"""Fixed-:math:`d` point: stationarity of :math:`\Phi_{\rm tot}(\gamma)-y\gamma(1-2d)` in
    :math:`(q_0,q_1,\hat q_0,\hat q_1,\gamma)` (the Legendre transform), by Levenberg--Marquardt from a
    fixed-coupling solution ``theta0`` at ``gamma0``. Returns ``(theta, gamma, result, residual,
    n_steps)`` with implicit derivatives in ``d, y, alpha, kappa``."""

    def fn(v, args):
        d_, y_, alpha_, kappa_ = args
        S = 1.0 - 2.0 * d_
        g = jax.grad(lambda th, gm: total_free_entropy(th, gm, y_, alpha_, kappa_, n, n_in) - y_ * gm * S, (0, 1))(
            to_theta(v[:4]), v[4])
        return jnp.concatenate([g[0], g[1][None]]) / (y_ * y_)

    v0 = jnp.concatenate([from_theta(theta0), gamma0[None]])
    sol = solvers.root(fn, v0, (d, y, alpha, kappa), method="levenberg_marquardt", tol=1e-12, max_steps=100,
                       accept=_CONV)
    v = sol.value
    return to_theta(v[:4]), v[4], sol.result, sol.residual, sol.n_steps
