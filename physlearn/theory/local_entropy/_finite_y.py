r"""Large-deviation local entropy at finite :math:`y`, free reference, RS: the fixed-coupling form.

Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti & Zecchina, PNAS 113, E7655 (2016) (robust
ensemble; fBP measures this form); theory notes §C.1 with the reference unconstrained.

Measure: :math:`Z(\gamma,y) = \sum_{\tilde W}\big[\sum_W X(W)\,e^{\gamma W\cdot\tilde W}\big]^y`
(``y`` real replicas coupled to a reference with strength :math:`\gamma` per weight). In the RS
ansatz of §C.1 the energetic term depends on the replica overlaps only, so for a free reference
the stationarity in :math:`Q, S_0` gives :math:`\hat Q=\hat S_0=0`, the reference overlaps drop out,
and :math:`\hat S_1=\gamma`. Per weight (derived here from §C.1):

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

Inner integrals (pitfall 6): :math:`\int Dz_2 e^{yf(z_2)}` is recentred on the maximiser of
:math:`yf(z_2)-z_2^2/2` and rescaled by the curvature (Laplace shift), both in closed form through
the :math:`y\to\infty` envelopes (:math:`h=B+y\Delta\tanh h`, resp. :math:`u+KA(u)=c`), then
Gauss--Hermite with a log-sum-exp. The shift is a change of variables, so the value is exact up to
quadrature and its derivatives are correct with the shift held fixed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import numerics as nm

DEFAULT_N_OUTER = 48  # per half line
DEFAULT_N_INNER = 24  # Gauss-Hermite nodes of the recentred inner integral


def _inner_rule(n):
    t, w = nm.gauss_hermite(n)
    return jnp.asarray(t), jnp.asarray(jnp.log(w))


def _log_inner_entropic(B, delta, y, n_in):
    r""":math:`\log\int Dz_2\,[2\cosh(B+\sqrt\Delta z_2)]^y` (Laplace-recentred)."""
    from .local_entropy import _h_of

    D = y * delta
    h = _h_of(*jax.lax.stop_gradient((B, D)))  # shift only: no tangents traced through the solve
    sd = jnp.sqrt(jnp.maximum(delta, 1e-300))
    zs = jax.lax.stop_gradient((h - B) / sd)
    th = jnp.tanh(h)
    sig = jax.lax.stop_gradient(1.0 / jnp.sqrt(jnp.maximum(1.0 - D * (1.0 - th * th), 1e-12)))
    t, lw = _inner_rule(n_in)
    z = zs + sig * t
    ell = -0.5 * z * z + y * nm.log2cosh(B + sd * z) + 0.5 * t * t
    return jax.scipy.special.logsumexp(lw + ell) + jnp.log(sig)


def _log_inner_energetic(c, q1, q0, y, n_in):
    r""":math:`\log\int Dz_2\,H((c-\sqrt{q_1-q_0}z_2)/\sqrt{1-q_1})^y` (Laplace-recentred)."""
    from .local_entropy import _u_of

    s1 = jnp.sqrt(1.0 - q1)
    sd = jnp.sqrt(jnp.maximum(q1 - q0, 1e-300))
    K = y * (q1 - q0) / (1.0 - q1)
    u = _u_of(*jax.lax.stop_gradient((c / s1, K)))  # shift only: no tangents traced through the solve
    zs = jax.lax.stop_gradient(y * sd * nm.GH(u) / s1)
    sig = jax.lax.stop_gradient(1.0 / jnp.sqrt(1.0 + K * nm.GH_prime(u)))
    t, lw = _inner_rule(n_in)
    z = zs + sig * t
    ell = -0.5 * z * z + y * nm.log_H((c - sd * z) / s1) + 0.5 * t * t
    return jax.scipy.special.logsumexp(lw + ell) + jnp.log(sig)


def entropic(q0h, q1h, gamma, y, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    delta = q1h - q0h

    def f(z):
        B = jnp.sqrt(q0h) * z
        return jnp.logaddexp(_log_inner_entropic(B + gamma, delta, y, n_in), _log_inner_entropic(B - gamma, delta, y, n_in))

    return nm.gauss_expect_split(f, jnp.zeros_like(q0h), n)


def energetic(q0, q1, y, kappa=0.0, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    def f(z):
        return _log_inner_energetic(kappa - jnp.sqrt(q0) * z, q1, q0, y, n_in)

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


def _lm(x0, gamma, y, alpha, kappa, n, n_in, max_steps=100):
    import optimistix as optx

    fn = lambda x, a: _grad_x(x, (a[0], a[1], a[2], a[3], n, n_in))  # noqa: E731
    sol = optx.root_find(fn, optx.LevenbergMarquardt(rtol=1e-12, atol=1e-12), x0, (gamma, y, alpha, kappa),
                         max_steps=max_steps, throw=False)
    return sol.value, sol.stats["num_steps"]


def derived(theta, gamma, y, alpha, kappa, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r"""``(Phi_tot, S, phi_int, Sigma_int, Sigma_ext)`` at a saddle point (envelope theorem)."""
    th = jax.lax.stop_gradient(theta)
    P = lambda g, yy: total_free_entropy(th, g, yy, alpha, kappa, n, n_in)  # noqa: E731
    tot = P(gamma, y)
    S = jax.grad(P, 0)(gamma, y) / y
    phi = jax.grad(P, 1)(gamma, y)
    return tot, S, phi, phi - gamma * S, tot - y * phi


def solve_coupling(gamma, y, alpha, kappa, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r"""Saddle point at fixed :math:`(\gamma, y)`: homotopy in :math:`\alpha` from
    :math:`\alpha/8` (started near the :math:`\alpha=0` solution :math:`q_0=q_1=\tanh^2\gamma`),
    Levenberg--Marquardt on :math:`\nabla\Phi_{\rm tot}=0` at every step. Returns
    ``(theta, converged, residual, n_steps)``."""
    t2 = jnp.tanh(gamma) ** 2
    a1 = alpha / _N_ALPHA
    th0 = jnp.stack([t2, t2 + 0.05 * (1.0 - t2), 0.4 * a1, 0.5 * a1])
    alphas = alpha * jnp.arange(1, _N_ALPHA + 1, dtype=th0.dtype) / _N_ALPHA

    def body(x, a):
        xn, k = _lm(x, gamma, y, a, kappa, n, n_in)
        ok = jnp.all(jnp.isfinite(xn))
        return jnp.where(ok, xn, x), k

    x, ks = jax.lax.scan(body, from_theta(th0), alphas)
    theta = to_theta(x)
    res = jnp.max(jnp.abs(jax.grad(total_free_entropy)(theta, gamma, y, alpha, kappa, n, n_in))) / (y * y)
    ok = jnp.isfinite(res) & (res < _CONV)
    return theta, ok, res, jnp.sum(ks)


def solve_distance(d, y, alpha, kappa, theta0, gamma0, n=DEFAULT_N_OUTER, n_in=DEFAULT_N_INNER):
    r"""Fixed-:math:`d` point: stationarity of :math:`\Phi_{\rm tot}(\gamma)-y\gamma(1-2d)` in
    :math:`(q_0,q_1,\hat q_0,\hat q_1,\gamma)` (the Legendre transform), from a fixed-coupling
    solution ``theta0`` at ``gamma0``."""
    import optimistix as optx

    S = 1.0 - 2.0 * d

    def fn(v, _):
        g = jax.grad(lambda th, gm: total_free_entropy(th, gm, y, alpha, kappa, n, n_in) - y * gm * S, (0, 1))(
            to_theta(v[:4]), v[4])
        return jnp.concatenate([g[0], g[1][None]]) / (y * y)

    v0 = jnp.concatenate([from_theta(theta0), gamma0[None]])
    sol = optx.root_find(fn, optx.LevenbergMarquardt(rtol=1e-12, atol=1e-12), v0, None, max_steps=100, throw=False)
    v = sol.value
    res = jnp.max(jnp.abs(fn(v, None)))
    return to_theta(v[:4]), v[4], jnp.isfinite(res) & (res < _CONV), res, sol.stats["num_steps"]
