r"""Large-deviation local entropy at finite :math:`y` with the reference constrained to be a solution
(PRL 2015 convention), RS.

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015) and its Supplemental
Material: the finite-:math:`y` RS functional with the constraint :math:`\theta(\tilde W\cdot\xi/\sqrt N-\kappa_{\rm ref})`
kept. Measure: :math:`P(\tilde W)\propto X_{\kappa_{\rm ref}}(\tilde W)\,\mathcal N(\tilde W,d)^y`, with
:math:`\mathcal N(\tilde W,d)` the number of solutions at distance :math:`d` from :math:`\tilde W`.
Order parameters (per reference, :math:`n\to0` references of :math:`y` replicas each):
:math:`Q` (reference--reference), :math:`S=1-2d` (replica--own reference, fixed), :math:`S_0`
(replica--other reference), :math:`q_1` (replicas of one reference), :math:`q_0` (replicas of
different references), and conjugates :math:`\hat Q,\hat S_1,\hat S_0,\hat q_1,\hat q_0`. With
:math:`\Phi(d,y)=y\,F(d,y)`:

.. math::

    \Phi &= \tfrac12\hat Q(Q-1) - y(\hat S_1S-\hat S_0S_0) - \tfrac y2\hat q_1(1-q_1)
            - \tfrac{y^2}2(\hat q_1q_1-\hat q_0q_0) + G_S + \alpha G_E,\\
    G_S &= \mathbb E_{z_0,z_1}\log\sum_{\tilde W=\pm1}e^{\sqrt{\hat Q}z_0\tilde W}\int Dz_2\,
           \big[2\cosh(A+\sqrt{\hat q_1-\hat q_0}\,z_2+(\hat S_1-\hat S_0)\tilde W)\big]^y,\quad
           A=\rho z_0+\sqrt{\hat q_0-\rho^2}\,z_1,\ \rho=\hat S_0/\sqrt{\hat Q},\\
    G_E &= \mathbb E_{z_0,z_1}\log\int Dx\,\theta(\sqrt Qz_0+\sqrt{1-Q}x-\kappa_{\rm ref})\int Dz_2\,
           H\Big(\frac{\kappa-m}{\sqrt{1-q_1}}\Big)^y,\\
    m &= \tfrac{S_0}{\sqrt Q}z_0+\sqrt{q_0-\tfrac{S_0^2}{Q}}z_1+\tfrac{S-S_0}{\sqrt{1-Q}}x
         +\sqrt{q_1-q_0-\tfrac{(S-S_0)^2}{1-Q}}\,z_2 .

Derived quantities (envelope theorem at the saddle point): :math:`S_I(d,y)=\partial_y\Phi`
(local entropy of the selected references, :math:`\Sigma_{\rm int}`), :math:`\Sigma_{\rm ext}=\Phi-yS_I`
(log-number of such references, must be :math:`\ge0`), and the coupling conjugate to the distance
:math:`\gamma=-\frac1y\partial_S\Phi` (the field focusing BP applies at this :math:`d`).

Limits (tested, except the last): for :math:`\kappa_{\rm ref}\to-\infty` the constraint disappears and
:math:`\Phi` is the free-reference functional of :mod:`physlearn.theory.local_entropy._finite_y` (Legendre-transformed
to fixed :math:`d`) for any :math:`Q,S_0` with :math:`\hat Q=\hat S_0=0`; at :math:`y=0` it is the Gardner RS
entropy of the reference, and :math:`\partial_y\Phi|_{y=0}` at the Franz--Parisi saddle point
(:math:`p=S`, :math:`t=S_0`, :math:`q=q_1`, :math:`\tilde q=Q` and conjugates) is the
Franz--Parisi potential (the reference is then a typical solution). As :math:`y\to\infty`,
:math:`S_I(d,y)` should approach the :math:`y=\infty` result of :mod:`physlearn.theory.local_entropy._solution`
(not checked).

Quadrature: both outer integrals are taken in rotated coordinates, :math:`t` along the Gaussian
combination that carries the main crossover (:math:`A` for :math:`G_S`, the common replica field
:math:`m_0` for :math:`G_E`), split there (:math:`A=0`, :math:`m_0=\kappa`), and :math:`s`
orthogonal to it, split at a second crossover (where the optimal :math:`\tilde W` changes sign,
resp. where the reference constraint starts to cut); each half line is two linear
Gauss--Legendre pieces (:func:`_half_line`). The inner :math:`x` integral over the half line
:math:`x>x_0=(\kappa_{\rm ref}-\sqrt Qz_0)/\sqrt{1-Q}` is done in the log domain on a rule recentred
at the Laplace estimate :math:`x^*` of the mode and scaled by the Laplace width :math:`\sigma\le1`
(the integrand is log-concave with curvature :math:`\ge1`): two linear Gauss--Legendre pieces,
from the edge (or :math:`-9\sigma`) to the mode and from there over :math:`\sqrt{80}\sigma`, the
first empty when the constraint cuts past the mode (:math:`x_0>x^*`); the :math:`z_2` integrals are the
Laplace-recentred Gauss--Hermite rules of :mod:`physlearn.theory._envelopes`.

Default nodes ``(32, 48, 32, 16)`` (per half line in :math:`s` and :math:`t`, nodes of the
:math:`x` and :math:`z_2` rules); measured accuracies and timings are in ``docs/findings.md``.

Saddle point (:func:`solve`, :func:`solve_path`): the stationarity conditions in the overlaps
:math:`o=(Q,S_0,q_0,q_1)` are linear in the conjugates and give them in closed form from
:math:`\nabla G_E` (:func:`conjugates`); :math:`\hat S_1` follows from the fixed distance,
:math:`S=\partial_{\hat S_1}G_S/y` (:func:`coupling`, Newton); the conditions in the conjugates give
the overlaps back from :math:`\nabla G_S` (:func:`overlaps`). Damped Newton solves the resulting
four-dimensional fixed point (Jacobian by finite differences, step halving, inadmissible points
rejected); at the solution the full gradient of :math:`\Phi` vanishes to ~1e-14. Path, guess-free:
the Franz--Parisi saddle point (:func:`theta_from_franz_parisi`) is the :math:`y\to0` solution;
from it :math:`y=1.5` and then geometric steps up to the target (:func:`y_schedule`; the maps are
singular at :math:`y=1`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ... import numerics as nm
from ... import solvers
from .._envelopes import log_inner_energetic_y, log_inner_entropic_y, u_of
from .._integrals import envelope_partials

DEFAULT_N0 = 32  # nodes per half line of the second (s) direction
DEFAULT_N1 = 48  # nodes per half line of the first (t) direction, split at the main crossover
DEFAULT_NX = 32  # nodes of the truncated x integral
DEFAULT_N_INNER = 16  # Gauss-Hermite nodes of the recentred z2 integrals
_X_SPAN = 40.0  # the x rule reaches down to ~exp(-_X_SPAN) of the integrand's peak (in units of sigma)
_ZETA_CUT = 9.0  # Gaussian mass below -9 sigma (~1e-19) is left out
_CROSS_CLIP = 12.0  # a split point beyond this leaves one half line with negligible mass
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _half_line(c, m):
    r"""Nodes/weights of :math:`\int_c^\infty Dz\,f(z)`, two linear Gauss--Legendre pieces of ``m``
    nodes: :math:`[\max(c,-9),\max(c,0)]` (empty for :math:`c\ge0`) and :math:`[b,b+U]`,
    :math:`b=\max(c,0)`, :math:`U=\sqrt{b^2+80}-b` (the Gaussian mass beyond is below
    :math:`e^{-40}` of the edge value). Resolves the bulk and the edge alike (~1e-9 at m = 16 for
    smooth f)."""
    s, ws = nm._gauss_legendre01(m)
    s = jnp.asarray(s, c.dtype)
    ws = jnp.asarray(ws, c.dtype)
    a = jnp.maximum(c, -_ZETA_CUT)
    b = jnp.maximum(c, 0.0)
    U = 2.0 * _X_SPAN / (b + jnp.sqrt(b * b + 2.0 * _X_SPAN))
    z = jnp.concatenate([a + (b - a) * s, b + U * s])
    w = jnp.concatenate([ws * (b - a), ws * U]) * nm.G(z)
    return z, w


def _split_line(c, n):
    r"""Nodes/weights of :math:`\int Dz\,f(z)` split at ``c`` (no tangents; ``n`` nodes per half
    line, :func:`_half_line`)."""
    c = jnp.clip(jax.lax.stop_gradient(c), -_CROSS_CLIP, _CROSS_CLIP)
    zu, wu = _half_line(c, n // 2)
    zl, wl = _half_line(-c, n // 2)
    return jnp.concatenate([zu, -zl]), jnp.concatenate([wu, wl])


def _expect_rotated(f, e0, e1, t_split, s_split, n_t, n_s):
    r""":math:`\mathbb E_{z_0,z_1}f(z_0,z_1)` in rotated coordinates :math:`t=e_0z_0+e_1z_1`,
    :math:`s=-e_1z_0+e_0z_1` (:math:`e_0^2+e_1^2=1`): the :math:`t` line split at ``t_split`` (where
    the integrand's main crossover sits), the :math:`s` line at ``s_split(t)`` (a second crossover)."""
    tt, wt = _split_line(t_split, n_t)

    def line(t):
        ss, ws = _split_line(s_split(t), n_s)
        return jnp.dot(ws, jax.vmap(lambda s: f(e0 * t - e1 * s, e1 * t + e0 * s))(ss))

    return jnp.dot(wt, jax.vmap(line)(tt))


def _unit(a, b):
    r = jnp.sqrt(a * a + b * b)
    return a / r, b / r


def _safe_div(num, den):
    return num / jnp.where(jnp.abs(den) < 1e-12, jnp.where(den < 0, -1e-12, 1e-12), den)


# --------------------------------------------------------------------------------------------
# The two terms
# --------------------------------------------------------------------------------------------
def entropic(Qh, rho, Sh1, q0h, q1h, y, n0=DEFAULT_N0, n1=DEFAULT_N1, n_in=DEFAULT_N_INNER):
    r""":math:`G_S` of the module docstring (:math:`\hat S_0=\rho\sqrt{\hat Q}`)."""
    sQh = jnp.sqrt(Qh)
    sig = Sh1 - rho * sQh
    b = jnp.sqrt(jnp.maximum(q0h - rho * rho, 1e-300))
    delta = q1h - q0h

    def f(z0, z1):
        A = rho * z0 + b * z1
        return jnp.logaddexp(sQh * z0 + log_inner_entropic_y(A + sig, delta, y, n_in),
                             -sQh * z0 + log_inner_entropic_y(A - sig, delta, y, n_in))

    e0, e1 = _unit(rho, b)  # t = A / sqrt(q0_hat)
    sq0h = jnp.sqrt(rho * rho + b * b)

    def switch(t):  # the sign of the optimal reference changes where 2 sqrt(Q_hat) z0 = -D(A)
        A = sq0h * t
        D = log_inner_entropic_y(A + sig, delta, y, n_in) - log_inner_entropic_y(A - sig, delta, y, n_in)
        z0s = _safe_div(-D, 2.0 * sQh)
        return _safe_div(e0 * t - z0s, e1)

    return _expect_rotated(f, e0, e1, jnp.zeros_like(sq0h), switch, n1, n0)


def _x_mode(c0, a1, b1sq, q1, y):
    r"""Laplace estimate (no tangents) of the mode and width in :math:`x` of the integrand of
    :func:`_log_truncated_x`: the combination :math:`v=a_1x+b_1z_2\sim N(0,a_1^2+b_1^2)` maximises
    :math:`-v^2/(2\,{\rm var})+y\log H((c_0-v)/\sqrt{1-q_1})` at :math:`v^*=\sqrt{1-q_1}KA(u)`,
    :math:`u+KA(u)=c_0/\sqrt{1-q_1}`; the width follows from the curvature (Schur complement)."""
    c0, a1, b1sq, q1 = jax.lax.stop_gradient((c0, a1, b1sq, q1))
    var = a1 * a1 + b1sq
    s1 = jnp.sqrt(1.0 - q1)
    K = y * var / (1.0 - q1)
    u = u_of(c0 / s1, K)
    xstar = a1 * s1 * K * nm.GH(u) / jnp.maximum(var, 1e-300)
    kpp = y * nm.GH_prime(u) / (1.0 - q1)
    return xstar, 1.0 / jnp.sqrt(1.0 + kpp * a1 * a1 / (1.0 + kpp * b1sq))


def _log_truncated_x(x0, c0, a1, b1sq, q1, y, nx, n_in):
    r""":math:`\log\int_{x_0}^\infty Dx\int Dz_2\,H((c_0-a_1x-\sqrt{b_1^2}z_2)/\sqrt{1-q_1})^y`."""
    xstar, sigma = _x_mode(c0, a1, b1sq, q1, y)
    # rule in zeta = (x - x*)/sigma on [zeta0, inf), two linear Gauss-Legendre pieces:
    # [max(zeta0, -9), max(zeta0, 0)] (empty when the edge is past the mode) and [b, b + U],
    # U = sqrt(b^2 + 80) - b (beyond it the Gaussian-like integrand is below e^-40 of its edge value)
    zeta0 = (x0 - xstar) / sigma
    a = jnp.maximum(zeta0, -_ZETA_CUT)
    b = jnp.maximum(zeta0, 0.0)
    U = 2.0 * _X_SPAN / (b + jnp.sqrt(b * b + 2.0 * _X_SPAN))
    s, ws = nm._gauss_legendre01(nx // 2)
    s = jnp.asarray(s, zeta0.dtype)
    ws = jnp.asarray(ws, zeta0.dtype)
    zeta = jnp.concatenate([a + (b - a) * s, b + U * s])
    x = xstar + sigma * zeta
    # the first piece is empty (zero weights) when the edge is past the mode; its log is -inf, with
    # a finite derivative
    nonempty = b > a
    log_len = jnp.where(nonempty, jnp.log(jnp.where(nonempty, b - a, 1.0)), -jnp.inf)
    logw = jnp.concatenate([jnp.log(ws) + log_len, jnp.log(ws * U)]) + jnp.log(sigma) - _LOG_SQRT_2PI
    g = jax.vmap(lambda xx: log_inner_energetic_y(c0 - a1 * xx, q1, q1 - b1sq, y, n_in))(x)
    return jax.scipy.special.logsumexp(logw - 0.5 * x * x + g)


def energetic(Q, S0, q0, q1, S, y, kappa, kappa_ref, n0=DEFAULT_N0, n1=DEFAULT_N1, nx=DEFAULT_NX,
              n_in=DEFAULT_N_INNER):
    r""":math:`G_E` of the module docstring (reference constrained to margin ``kappa_ref``)."""
    sQ, s1Q = jnp.sqrt(Q), jnp.sqrt(1.0 - Q)
    a0 = S0 / sQ
    b0 = jnp.sqrt(jnp.maximum(q0 - a0 * a0, 1e-300))
    a1 = (S - S0) / s1Q
    b1sq = jnp.maximum(q1 - q0 - a1 * a1, 0.0)

    def f(z0, z1):
        x0 = (kappa_ref - sQ * z0) / s1Q
        return _log_truncated_x(x0, kappa - a0 * z0 - b0 * z1, a1, b1sq, q1, y, nx, n_in)

    e0, e1 = _unit(a0, b0)  # t = m0 / sqrt(q0), crossover at m0 = kappa
    sq0 = jnp.sqrt(a0 * a0 + b0 * b0)

    def activation(t):  # the reference constraint starts to cut where x0 reaches the mode x*
        xs, _ = _x_mode(kappa - sq0 * t, a1, b1sq, q1, y)
        z0s = (kappa_ref - s1Q * xs) / sQ
        return _safe_div(e0 * t - z0s, e1)

    return _expect_rotated(f, e0, e1, kappa / sq0, activation, n1, n0)


def functional(theta, S, y, alpha, kappa, kappa_ref, nodes=None):
    r""":math:`\Phi(\theta;S,y)`, ``theta = (Q, S0, q0, q1, Q_hat, rho, S1_hat, q0_hat, q1_hat)`` with
    :math:`\hat S_0=\rho\sqrt{\hat Q}`. Composable (jit/vmap/grad)."""
    n0, n1, nx, n_in = nodes or (DEFAULT_N0, DEFAULT_N1, DEFAULT_NX, DEFAULT_N_INNER)
    Q, S0, q0, q1, Qh, rho, Sh1, q0h, q1h = (theta[i] for i in range(9))
    Sh0 = rho * jnp.sqrt(Qh)
    return (
        0.5 * Qh * (Q - 1.0) - y * (Sh1 * S - Sh0 * S0) - 0.5 * y * q1h * (1.0 - q1)
        - 0.5 * y * y * (q1h * q1 - q0h * q0)
        + entropic(Qh, rho, Sh1, q0h, q1h, y, n0, n1, n_in)
        + alpha * energetic(Q, S0, q0, q1, S, y, kappa, kappa_ref, n0, n1, nx, n_in)
    )


# --------------------------------------------------------------------------------------------
# Parametrisation: an unconstrained x in R^9 <-> a valid theta at fixed S
# --------------------------------------------------------------------------------------------
def to_theta(x, S):
    r"""``x -> theta``: :math:`Q=\sigma(x_0)`; :math:`S_0=SQ+e`, :math:`e=\sqrt{(1-S^2)Q(1-Q)}\tanh x_1`;
    the remaining variance :math:`(1-S^2)(1-\tanh^2x_1)` is split by a softmax of
    :math:`(x_2,x_3,0)` into :math:`q_0-S_0^2/Q`, :math:`q_1-q_0-(S-S_0)^2/(1-Q)` and :math:`1-q_1`;
    :math:`\hat Q=e^{x_4}`, :math:`\rho=x_5`, :math:`\hat q_0=\rho^2+e^{x_6}`,
    :math:`\hat q_1=\hat q_0+e^{x_7}`, :math:`\hat S_1=x_8`. Every x gives a valid theta."""
    Q = jax.nn.sigmoid(x[0])
    t = jnp.tanh(x[1])
    S0 = S * Q + jnp.sqrt((1.0 - S * S) * Q * (1.0 - Q)) * t
    budget = (1.0 - S * S) * (1.0 - t * t)
    p = jax.nn.softmax(jnp.stack([x[2], x[3], jnp.zeros_like(x[2])]))
    q0 = S0 * S0 / Q + budget * p[0]
    q1 = 1.0 - budget * p[2]
    Qh = jnp.exp(x[4])
    q0h = x[5] * x[5] + jnp.exp(x[6])
    return jnp.stack([Q, S0, q0, q1, Qh, x[5], x[8], q0h, q0h + jnp.exp(x[7])])


def from_theta(theta, S):
    Q, S0, q0, q1, Qh, rho, Sh1, q0h, q1h = (theta[i] for i in range(9))
    t = (S0 - S * Q) / jnp.sqrt((1.0 - S * S) * Q * (1.0 - Q))
    b0sq = q0 - S0 * S0 / Q
    b1sq = q1 - q0 - (S - S0) ** 2 / (1.0 - Q)
    rest = 1.0 - q1
    return jnp.stack([
        jnp.log(Q) - jnp.log1p(-Q), jnp.arctanh(t), jnp.log(b0sq / rest), jnp.log(b1sq / rest),
        jnp.log(Qh), rho, jnp.log(q0h - rho * rho), jnp.log(q1h - q0h), Sh1,
    ])


def derived(theta, d, y, alpha, kappa, kappa_ref, nodes=None):
    r"""``(Phi, S_I, Sigma_ext, gamma)`` at a saddle point ``theta``: :math:`S_I=\partial_y\Phi`,
    :math:`\Sigma_{\rm ext}=\Phi-yS_I`, :math:`\gamma=-\partial_S\Phi/y` (partial derivatives at fixed
    ``theta``, envelope theorem). ``theta`` may carry its implicit derivatives: the results then
    have exact total derivatives."""
    S = 1.0 - 2.0 * d
    # the integrals are split at kinks held under stop_gradient: derivatives of the partial derivatives
    # by central differences (autodiff gave dgamma/dalpha -1.38592 against -1.38978)
    phi, dS, dy = envelope_partials(lambda th, s, *a: functional(th, s, *a, nodes), (1, 2), theta, S, y, alpha,
                                    kappa, kappa_ref)
    return phi, dy, phi - y * dy, -dS / jnp.where(y == 0, 1.0, y)


def theta_from_franz_parisi(p, t, q, q_ref, p_hat, t_hat, q_hat, q_hat_ref, frac0=0.5, frac0_hat=0.5):
    r"""``theta`` at the :math:`y\to0` saddle point from a Franz--Parisi solution
    (:class:`~physlearn.theory.franz_parisi.FranzParisiRS` fields): :math:`S=p`, :math:`S_0=t`,
    :math:`q_1=q`, :math:`Q=\tilde q`, :math:`\hat S_1=\hat p`, :math:`\hat S_0=\hat t`,
    :math:`\hat q_1=\hat q`, :math:`\hat Q=\hat{\tilde q}`. The overlaps across references
    (:math:`q_0,\hat q_0`) drop out at :math:`y=0`; they are put at the fraction ``frac0``
    (``frac0_hat``) of their admissible interval."""
    S, Q, S0 = p, q_ref, t
    a0sq, a1sq = S0 * S0 / Q, (S - S0) ** 2 / (1.0 - Q)
    rho = t_hat / jnp.sqrt(q_hat_ref)
    q0 = a0sq + frac0 * (q - a0sq - a1sq)
    q0h = rho * rho + frac0_hat * (q_hat - rho * rho)
    return jnp.stack(jnp.broadcast_arrays(Q, S0, q0, q, q_hat_ref, rho, p_hat, q0h, q_hat))


# --------------------------------------------------------------------------------------------
# Saddle point: the conjugates eliminated, Levenberg--Marquardt on the overlaps
# --------------------------------------------------------------------------------------------
_CONV = 1e-9
Y_START = 1.5  # first point of the y path (the reduced maps are singular at y = 1)


def _nodes(nodes):
    return nodes or (DEFAULT_N0, DEFAULT_N1, DEFAULT_NX, DEFAULT_N_INNER)


def _entropic_sh0(Qh, Sh0, Sh1, q0h, q1h, y, nodes):
    n0, n1, _, n_in = _nodes(nodes)
    return entropic(Qh, Sh0 / jnp.sqrt(Qh), Sh1, q0h, q1h, y, n0, n1, n_in)


def conjugates(o, S, y, alpha, kappa, kappa_ref, nodes=None):
    r"""Stationarity in the overlaps ``o = (Q, S0, q0, q1)`` solved for the conjugates:
    :math:`\hat Q=-2\alpha\partial_QG_E`, :math:`\hat S_0=-\frac\alpha y\partial_{S_0}G_E`,
    :math:`\hat q_0=-\frac{2\alpha}{y^2}\partial_{q_0}G_E`,
    :math:`\hat q_1=\frac{2\alpha}{y(y-1)}\partial_{q_1}G_E`. Returns ``(Q_hat, S0_hat, q0_hat, q1_hat)``."""
    n0, n1, nx, n_in = _nodes(nodes)
    dQ, dS0, dq0, dq1 = jax.grad(lambda v: energetic(v[0], v[1], v[2], v[3], S, y, kappa, kappa_ref, n0, n1, nx,
                                                     n_in))(o)
    return jnp.stack([-2.0 * alpha * dQ, -alpha * dS0 / y, -2.0 * alpha * dq0 / (y * y),
                      2.0 * alpha * dq1 / (y * (y - 1.0))])


def coupling(oh, S, y, Sh1, nodes=None, iters=8):
    r""":math:`\hat S_1` from the fixed distance, :math:`S=\frac1y\partial_{\hat S_1}G_S` (Newton from
    ``Sh1``; the right side increases with :math:`\hat S_1`). Returns ``(Sh1, residual)``."""
    Qh, Sh0, q0h, q1h = (oh[i] for i in range(4))
    f = lambda s: jax.grad(_entropic_sh0, 2)(Qh, Sh0, s, q0h, q1h, y, nodes) / y - S  # noqa: E731
    Sh1 = solvers.iterate(lambda s: s - f(s) / jax.grad(f)(s), Sh1, max_steps=iters)[0]
    return Sh1, f(Sh1)


def overlaps(oh, Sh1, y, nodes=None):
    r"""Stationarity in the conjugates solved for the overlaps: :math:`Q=1-2\partial_{\hat Q}G_S`,
    :math:`S_0=-\frac1y\partial_{\hat S_0}G_S`, :math:`q_0=-\frac2{y^2}\partial_{\hat q_0}G_S`,
    :math:`q_1=\frac{2\partial_{\hat q_1}G_S-y}{y(y-1)}`."""
    Qh, Sh0, q0h, q1h = (oh[i] for i in range(4))
    dQh, dSh0, _, dq0h, dq1h = jax.grad(_entropic_sh0, (0, 1, 2, 3, 4))(Qh, Sh0, Sh1, q0h, q1h, y, nodes)
    return jnp.stack([1.0 - 2.0 * dQh, -dSh0 / y, -2.0 * dq0h / (y * y), (2.0 * dq1h - y) / (y * (y - 1.0))])


def _admissible(o, oh, S):
    Q, S0, q0, q1 = (o[i] for i in range(4))
    Qh, Sh0, q0h, q1h = (oh[i] for i in range(4))
    return ((Q > 0) & (Q < 1) & (q1 < 1) & (q0 * Q >= S0 * S0) & ((q1 - q0) * (1.0 - Q) >= (S - S0) ** 2)
            & (Qh > 0) & (q0h * Qh >= Sh0 * Sh0) & (q1h >= q0h))


def _reduced(o, S, y, alpha, kappa, kappa_ref, Sh1, nodes):
    oh = conjugates(o, S, y, alpha, kappa, kappa_ref, nodes)
    s1, s_res = coupling(oh, S, y, Sh1, nodes)
    r = overlaps(oh, s1, y, nodes) - o
    ok = _admissible(o, oh, S)
    return jnp.where(ok, r, jnp.nan), oh, s1, jnp.where(ok, s_res, jnp.nan)


def to_full(o, oh, Sh1):
    r"""``theta`` (the order of :func:`functional`) from overlaps, conjugates and :math:`\hat S_1`."""
    return jnp.stack([o[0], o[1], o[2], o[3], oh[0], oh[1] / jnp.sqrt(oh[0]), Sh1, oh[2], oh[3]])


def solve(theta0, d, y, alpha, kappa, kappa_ref, nodes=None, max_steps=30):
    r"""Saddle point at fixed :math:`(d, y)` from ``theta0``: the conjugates are eliminated
    (:func:`conjugates`, :func:`coupling`) and damped Newton (:func:`physlearn.solvers.newton`:
    finite-difference Jacobian, step halving) solves the four-dimensional fixed point
    :math:`o=\mathrm{overlaps}(\mathrm{conjugates}(o))`; an inadmissible trial point (covariances not
    positive) is rejected. Returns ``(theta, result, residual, n_steps)`` with ``residual`` the
    largest of the fixed-point and :math:`\hat S_1` residuals; ``theta`` has implicit derivatives in
    ``d, alpha, kappa, kappa_ref`` (``y`` is static)."""
    Sh1_0 = jax.lax.stop_gradient(theta0[6])

    def reduced(o, args):
        d_, alpha_, kappa_, kappa_ref_ = args
        return _reduced(o, 1.0 - 2.0 * d_, y, alpha_, kappa_, kappa_ref_, Sh1_0, nodes)

    def fn(o, args):
        r, oh, s1, s_res = reduced(o, args)
        return r, (oh, s1, s_res)

    args = (d, alpha, kappa, kappa_ref)
    sol = solvers.newton(fn, theta0[:4], args, max_steps=max_steps, accept=_CONV, has_aux=True, jacobian="fd")
    o, (oh, s1, s_res) = sol.value, sol.aux
    res = jnp.maximum(sol.residual, jnp.abs(s_res))
    # the conjugates and S1_hat at the solution, with their derivatives (through o and the parameters)
    oh, s1 = solvers.attach_derivatives(lambda oo, a: reduced(oo, a)[1:3], o, args, value=(oh, s1))
    result = solvers.combine(sol.result, solvers.from_checks(jnp.isfinite(res), res < _CONV))
    return to_full(o, oh, s1), result, res, sol.n_steps


def y_schedule(y, ratio=1.6):
    r"""Static path :math:`Y_{\rm start}=1.5\to y` (geometric, steps at most ``ratio``), as a tuple."""
    y = float(y)
    if y <= Y_START:
        return (y,)
    k = 1 + int(np.ceil(np.log(y / Y_START) / np.log(ratio)))
    return tuple(float(v) for v in np.geomspace(Y_START, y, k))


def solve_path(theta_fp, d, ys, alpha, kappa, kappa_ref, nodes=None, max_steps=30):
    r"""Guess-free path: from the :math:`y\to0` saddle ``theta_fp`` (:func:`theta_from_franz_parisi`)
    through the values ``ys`` (:func:`physlearn.solvers.continuation` over a static schedule: each
    ``y`` is a compile-time constant of its solve; each solve starts from the previous finite
    solution). Returns ``(theta, result, residual, n_steps)`` at ``ys[-1]``; the first failed
    step gives the result."""
    sols, th = solvers.continuation(
        lambda th, yv: solvers.SaddleSolution(*solve(th, d, yv, alpha, kappa, kappa_ref, nodes, max_steps)),
        theta_fp, tuple(ys),
        carry="finite", static=True, with_carry=True)
    result = solvers.combine(*[sols.result[i] for i in range(len(ys))])
    return th, result, sols.residual[-1], jnp.sum(sols.n_steps)
