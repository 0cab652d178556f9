r"""Large-deviation local entropy with one step of replica symmetry breaking *among the references*
(free reference). Derivation, reductions and findings: ``docs/theory/rsb_among_references.md``.

The measure :math:`Z=\sum_{\tilde W}e^{y\Phi(\tilde W)}`, :math:`\Phi(\tilde W)=\log\sum_W X(W)
e^{\gamma W\cdot\tilde W}` (Baldassi et al. PRL 115, 128101 (2015); PNAS 113, E7655 (2016)), is a
Gibbs measure on the references at inverse temperature :math:`y`. Here the :math:`n\to0`
references are organised in clusters of :math:`m_r` (Parisi parameter over references,
:math:`0<m_r\le1`); each reference keeps its :math:`y` replicas. Three replica overlaps: :math:`q_1`
(replicas of the same reference), :math:`q_m` (of different references in the same cluster),
:math:`q_0` (of references in different clusters), conjugates :math:`\hat q_1\ge\hat q_m\ge\hat q_0`;
the free reference gives :math:`\hat Q=\hat S_0=0` at every level and :math:`\hat S_1=\gamma`.

Finite :math:`y`, fixed coupling (per reference, :math:`\Phi_{\rm tot}=\frac1N\mathbb E\log Z`):

.. math::

    \Phi &= -\tfrac y2\hat q_1(1-q_1)-\tfrac{y^2}2(\hat q_1q_1-\hat q_mq_m)
           -\tfrac{m_ry^2}2(\hat q_mq_m-\hat q_0q_0) + G_S + \alpha G_E,\\
    G_S &= \frac1{m_r}\int Dz_0\log\int Dz_1\,e^{m_rL_S(\sqrt{\hat q_0}z_0+\sqrt{\hat q_m-\hat q_0}z_1)},\quad
    L_S(x)=\log\sum_{\tilde W=\pm1}\int Dz_2\,[2\cosh(x+\gamma\tilde W+\sqrt{\hat q_1-\hat q_m}z_2)]^y,\\
    G_E &= \frac1{m_r}\int Dz_0\log\int Dz_1\,e^{m_rL_E(\kappa-\sqrt{q_0}z_0-\sqrt{q_m-q_0}z_1)},\quad
    L_E(v)=\log\int Dz_2\,H\Big(\frac{v-\sqrt{q_1-q_m}z_2}{\sqrt{1-q_1}}\Big)^y .

The reference sum sits *inside* the cluster integral (the existing finite-:math:`y` 1RSB of
:mod:`physlearn.theory.local_entropy._finite_y_1rsb` splits the replicas of one reference instead, with the
reference sum outside). Exact reductions (tested): :math:`m_r=1` is the RS functional of
:mod:`physlearn.theory.local_entropy._finite_y` with :math:`(q_0,q_1)` for any :math:`(q_m,\hat q_m)`;
:math:`q_m=q_0,\hat q_m=\hat q_0` is that RS functional for any :math:`m_r`; :math:`m_r\to0` is RS with
:math:`(q_m,q_1)`; at :math:`\gamma=0` it is
:math:`\log2+\frac1{m_r}[\Phi^{\rm 1RSB}_{\rm groups}(y\to m_ry,\,m\to y)-\log2]` of the existing
finite-:math:`y` 1RSB.

:math:`y\to\infty` at fixed :math:`d` (:math:`\mu=m_ry`, :math:`q_1-q_m=\delta q/y`,
:math:`\hat q_1-\hat q_m=\delta\hat q/y`, :math:`\hat S` conjugate to :math:`S=1-2d`; the inner integrals
become the Moreau envelopes :math:`M_S, M_E` of :mod:`physlearn.theory.local_entropy`):

.. math::

    S_I &= -\hat SS-\tfrac12\hat q_1(1-q_1)-\tfrac12(\delta\hat q\,q_1+\hat q_1\delta q)
           -\tfrac\mu2(\hat q_1q_1-\hat q_0q_0)\\
        &\quad+\frac1\mu\int Dz_0\log\int Dz_1\,e^{\mu M_S(|\sqrt{\hat q_0}z_0+\sqrt{\hat q_1-\hat q_0}z_1|+\hat S)}
           +\frac\alpha\mu\int Dz_0\log\int Dz_1\,e^{\mu M_E\big(\frac{\kappa-\sqrt{q_0}z_0-\sqrt{q_1-q_0}z_1}{\sqrt{1-q_1}}\big)},

a zero-temperature 1RSB on top of the RS envelopes. Reductions (tested): :math:`q_0=q_1,\hat q_0=\hat q_1`
is the RS :math:`S_I` of :func:`physlearn.theory.local_entropy.free_entropy` for any :math:`\mu`;
:math:`\mu\to0` is that RS functional with :math:`q_1` for any :math:`(q_0,\hat q_0)`. The complexity of
the clusters of references is :math:`\Sigma(\mu)=-\mu^2\partial_\mu S_I`; the physical :math:`\mu^*`
has :math:`\Sigma=0` (the minimum of :math:`S_I(\mu)`).

Numerics. Both entropic middle integrals have the form :math:`\int Dz\,e^{f(b+\sigma z)}` with
:math:`f(x)=\mu|x|+\varphi(|x|)` even, :math:`\varphi` smooth and bounded on :math:`x\ge0`
(:math:`\varphi=\mu(M_S(x+\hat S)-x)`, resp. :math:`m_r(L_S(x)-yx)`, :math:`\mu=m_ry`): split at the
kink :math:`x=0`, each half is :math:`e^{\mu b+\mu^2\sigma^2/2}H(c)` times a truncated-Gaussian mean of
:math:`e^\varphi` (:func:`log_even_tilted`, no cancellation, no bimodal integrand). The energetic middle
integrands are log-concave: Gauss--Hermite recentred at the maximiser (:func:`physlearn.theory.local_entropy._finite_y_1rsb._log_mid`).
The innermost finite-:math:`y` levels are the exact forms of :mod:`physlearn.theory._envelopes` with
:math:`m=y`. Everything is a pure function of the order parameters (jit/vmap/grad).

Saddle point. The trace is bilinear, so stationarity is two explicit maps (overlaps -> conjugates,
conjugates -> overlaps): :func:`conjugates_inf`/:func:`overlaps_inf` (:math:`y=\infty`, with
:math:`S=\partial_{\hat S}G_S` fixing :math:`\hat S`) and :func:`conjugates_fy`/:func:`overlaps_fy`
(finite :math:`y`), composed into one sweep by :func:`sweep_inf`/:func:`sweep_fy`. The Parisi parameter
is not part of the sweep: :math:`\mu^*` solves :math:`\partial_\mu S_I=0` (zero complexity, the minimum of
:math:`S_I(\mu)`); at finite :math:`y`, :math:`m_r^*\in(0,1)` solves :math:`\Sigma(m_r)=0` if
:math:`\Sigma(1)<0`, else :math:`m_r=1` (reconstruction at :math:`m_r=1-10^{-3}`). :func:`to_theta_inf`/:func:`from_theta_inf` (and ``_fy``) map unconstrained
vectors onto the admissible domain; :func:`start_inf`/:func:`start_fy` open a gap on top of an RS
saddle; :func:`collapsed_inf`/:func:`collapsed_fy` detect a return to RS.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ... import numerics as nm
from ... import solvers
from .._envelopes import log_inner_energetic_1rsb, log_inner_entropic_1rsb, moreau_energetic, moreau_entropic, u_of
from ._finite_y_1rsb import _log_mid

DEFAULT_N = 64  # outer nodes per half line (y = inf)
DEFAULT_N_IN = 24  # nodes of the middle (cluster) level at y = inf
DEFAULT_N_FY = 32  # outer nodes per half line (finite y)
DEFAULT_N_MID = 16  # middle (cluster) level, finite y
DEFAULT_N_IN_FY = 16  # innermost (one reference) level, finite y (per piece)
COLLAPSE = 1e-6  # (q_1 - q_0)/(1 - q_0) (y = inf) or (q_m - q_0)/(1 - q_0) (finite y) below this: RS
COLLAPSE_M1 = 5e-3  # finite y at m_r -> 1: the q_m map divides quadrature noise by 1 - m_r; spurious gaps ~1e-3 remain
M_ONE = 1.0 - 1e-3  # the m_r -> 1 (reconstruction) limit, taken numerically as in _free_1rsb.M_ONE
_SIG2_FLOOR = 1e-24
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)

NAMES_INF = ("q0", "q1", "dq", "q0_hat", "q1_hat", "dq_hat", "S_hat", "mu")
NAMES_FY = ("q0", "qm", "q1", "q0_hat", "qm_hat", "q1_hat")


# --------------------------------------------------------------------------------------------
# the cluster (middle) level
# --------------------------------------------------------------------------------------------
def _log_trunc_mean_exp(phi, c, n):
    r""":math:`\log\int_c^\infty Dz\,e^{\varphi(z)}/H(c)` (``phi`` vectorised), Gauss--Legendre with
    linear maps: :math:`[c_+, c_++W]`, :math:`c_+=\max(c,0)`, :math:`W=\sqrt{c_+^2+60}-c_+` (beyond it the
    Gaussian mass is below :math:`e^{-30}` of the retained one; :math:`W\approx30/c` follows the mass to the
    edge for :math:`c\gg1`), plus :math:`[\max(c,-\sqrt{60}),0]` for :math:`c<0`; weights in log space (no
    underflow). With 16 nodes per piece a Gaussian mean of a smooth bounded function is ~1e-11 (the
    quadratic edge-clustered map of :func:`physlearn.numerics.half_line_rule` is ~1e-7 there for
    :math:`c\le0`, where the mass is in the bulk)."""
    s, ws = nm._gauss_legendre01(n)
    s = jnp.asarray(s, dtype=jnp.result_type(c, float))
    ws = jnp.asarray(ws, dtype=s.dtype)
    cc = jnp.maximum(c, -9.0)
    cp = jnp.maximum(cc, 0.0)
    W = 60.0 / (cp + jnp.sqrt(cp * cp + 60.0))  # = sqrt(cp^2 + 60) - cp without cancellation
    V = jnp.minimum(-jnp.minimum(cc, 0.0), np.sqrt(60.0))  # the part [c, 0] (empty for c >= 0)
    z = jnp.concatenate([cp + W * s, -V * s])
    jac = jnp.concatenate([W * ws, V * ws])
    pos = jac > 0
    lw = jnp.where(pos, jnp.log(jnp.where(pos, jac, 1.0)) - 0.5 * z * z - _LOG_SQRT_2PI - nm.log_H(cc), -jnp.inf)
    return jax.scipy.special.logsumexp(lw + jnp.where(pos, phi(z), 0.0))


def _log_tilted_half(phi, b, sig, mu, n):
    r""":math:`\log\int_{z>-b/\sigma}Dz\,e^{\mu(b+\sigma z)+\varphi(b+\sigma z)}` (completing the square)."""
    c = -b / sig - mu * sig
    ms = mu * sig
    return mu * b + 0.5 * ms * ms + nm.log_H(c) + _log_trunc_mean_exp(lambda t: phi(b + sig * (t + ms)), c, n)


def log_even_tilted(phi, b, sig2, mu, n):
    r""":math:`\log\int Dz\,e^{f(b+\sigma z)}`, :math:`f(x)=\mu|x|+\varphi(|x|)`, :math:`\sigma^2=` ``sig2``;
    ``phi`` (vectorised) smooth and bounded on :math:`x\ge0`. The line is split at the kink and each
    half is an exponentially tilted truncated Gaussian: exact up to the quadrature of :math:`e^\varphi`."""
    sig = jnp.sqrt(jnp.maximum(sig2, _SIG2_FLOOR))
    return jnp.logaddexp(_log_tilted_half(phi, b, sig, mu, n), _log_tilted_half(phi, -b, sig, mu, n))


# --------------------------------------------------------------------------------------------
# y -> infinity, fixed d
# --------------------------------------------------------------------------------------------
def entropic_inf(p0, p1, dp, sh, mu, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`G_S=\frac1\mu\int Dz_0\log\int Dz_1e^{\mu M_S(|\sqrt{\hat q_0}z_0+\sqrt{\hat q_1-\hat q_0}z_1|+\hat S)}`
    (even in :math:`z_0`: one half line)."""
    def phi(x):
        return mu * (moreau_entropic(x + sh, dp) - x)

    zs, ws = nm.half_line_rule(jnp.zeros_like(p0), n)
    v = jax.vmap(lambda z: log_even_tilted(phi, jnp.sqrt(p0) * z, p1 - p0, mu, n_in))(zs)
    return 2.0 * jnp.sum(ws * v) / mu


def _energetic_mid_start(v0, s_mid, s_out2, mu):
    r"""Start of the Newton search of :func:`_log_mid` for :math:`\max_z[-z^2/2+\mu\ell(v_0-s z)]`,
    :math:`\ell\approx\log H(\cdot/\sqrt{s_{\rm out}^2})`: the closed-form Laplace point of that model."""
    so = jnp.sqrt(s_out2)
    u = u_of(v0 / so, mu * s_mid * s_mid / s_out2)
    return mu * s_mid * nm.GH(u) / so


def energetic_inf(q0, q1, dq, mu, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`G_E=\frac1\mu\int Dz_0\log\int Dz_1e^{\mu M_E((\kappa-\sqrt{q_0}z_0-\sqrt{q_1-q_0}z_1)/\sqrt{1-q_1})}`
    (split at :math:`z_0=\kappa/\sqrt{q_0}`)."""
    s1 = jnp.sqrt(1.0 - q1)
    sm = jnp.sqrt(jnp.maximum(q1 - q0, _SIG2_FLOOR))
    K = dq / (1.0 - q1)

    def f(z):
        v0 = kappa - jnp.sqrt(q0) * z
        F = jax.vmap(lambda zz: mu * moreau_energetic((v0 - sm * zz) / s1, K))
        z_start = jax.lax.stop_gradient(_energetic_mid_start(v0, sm, 1.0 - q1 + dq, mu))
        return _log_mid(F, z_start, n_in)

    return nm.gauss_expect_split(f, kappa / jnp.sqrt(q0), n) / mu


def free_entropy(theta, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`S_I(\theta;d)` at :math:`y\to\infty` (module docstring),
    ``theta = (q0, q1, dq, q0_hat, q1_hat, dq_hat, S_hat, mu)``. Composable (jit, grad, vmap)."""
    q0, q1, dq, p0, p1, dp, sh, mu = (theta[i] for i in range(8))
    S = 1.0 - 2.0 * d
    trace = -sh * S - 0.5 * p1 * (1.0 - q1) - 0.5 * (dp * q1 + p1 * dq) - 0.5 * mu * (p1 * q1 - p0 * q0)
    return trace + entropic_inf(p0, p1, dp, sh, mu, n, n_in) + alpha * energetic_inf(q0, q1, dq, mu, kappa, n, n_in)


def conjugates_inf(q, mu, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""Overlaps ``q = (q0, q1, dq)`` -> conjugates ``(q0_hat, q1_hat, dq_hat)`` (stationarity in the
    overlaps): :math:`\hat q_1=2\alpha\partial_{\delta q}G_E`, :math:`\hat q_0=-2\alpha\partial_{q_0}G_E/\mu`,
    :math:`\delta\hat q=(1-\mu)\hat q_1+2\alpha\partial_{q_1}G_E`."""
    e0, e1, ed = jax.grad(energetic_inf, (0, 1, 2))(q[0], q[1], q[2], mu, kappa, n, n_in)
    p1 = 2.0 * alpha * ed
    return jnp.stack([-2.0 * alpha * e0 / mu, p1, (1.0 - mu) * p1 + 2.0 * alpha * e1])


def overlaps_inf(p, sh, mu, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""Conjugates ``p = (q0_hat, q1_hat, dq_hat)`` and :math:`\hat S` -> ``((q0, q1, dq), S)``
    (stationarity in the conjugates): :math:`q_1=2\partial_{\delta\hat q}G_S`,
    :math:`q_0=-2\partial_{\hat q_0}G_S/\mu`, :math:`\delta q=2\partial_{\hat q_1}G_S-(1-q_1)-\mu q_1`,
    :math:`S=\partial_{\hat S}G_S` (the distance that this :math:`\hat S` implies)."""
    g0, g1, gd, gs = jax.grad(entropic_inf, (0, 1, 2, 3))(p[0], p[1], p[2], sh, mu, n, n_in)
    q1 = 2.0 * gd
    return jnp.stack([-2.0 * g0 / mu, q1, 2.0 * g1 - (1.0 - q1) - mu * q1]), gs


_SECANT = 7


def _s_hat_secant(p, sh, mu, d, n, n_in):
    r""":math:`\hat S` with :math:`\partial_{\hat S}G_S=1-2d` at conjugates ``p``: ``_SECANT`` secant steps from
    ``sh`` (a fixed count: differentiable); returns ``(S_hat, |S - (1 - 2d)|)``."""
    S = 1.0 - 2.0 * d

    def f(s):
        return overlaps_inf(p, s, mu, n, n_in)[1] - S

    def body(st):
        a, fa, b, fb = st
        c = b - fb * (b - a) / (fb - fa)
        c = jnp.where(jnp.isfinite(c), c, b)
        return b, fb, c, f(c)

    b0 = sh * 1.001 + 1e-4
    (_, _, shn, res), _, _ = solvers.iterate(body, (sh, f(sh), b0, f(b0)), max_steps=_SECANT)
    return shn, jnp.abs(res)


def sweep_inf(q, sh, mu, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r"""One sweep of the :math:`y=\infty` stationarity maps at fixed :math:`\mu`: overlaps ``q = (q0, q1, dq)``
    -> conjugates (:func:`conjugates_inf`) -> :math:`\hat S` with :math:`\partial_{\hat S}G_S=1-2d` (secant
    steps from ``sh``) -> overlaps (:func:`overlaps_inf`). Returns ``(q', p, S_hat, |S - (1 - 2d)|)``; a
    fixed point ``q' = q`` is a saddle point of :func:`free_entropy` in all but :math:`\mu`. The collapsed
    (RS) point is a fixed point too (section 7 of the derivation page: repelling at :math:`y=\infty`)."""
    p = conjugates_inf(q, mu, alpha, kappa, n, n_in)
    shn, res = _s_hat_secant(p, sh, mu, d, n, n_in)
    return overlaps_inf(p, shn, mu, n, n_in)[0], p, shn, res


def complexity_inf(theta, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN):
    r""":math:`\Sigma(\mu)=-\mu^2\partial_\mu S_I` (envelope theorem at a saddle point): log-number per
    weight of the clusters of references; 0 at the physical :math:`\mu^*`, 0 at a collapse."""
    mu = theta[7]
    return -mu * mu * jax.grad(free_entropy)(theta, d, alpha, kappa, n, n_in)[7]


def to_theta_inf(x):
    r"""Unconstrained ``x`` -> admissible ``theta``: :math:`0<q_0<q_1<1`, :math:`\delta q>0`,
    :math:`0<\hat q_0<\hat q_1`, :math:`\delta\hat q>0`, :math:`\hat S` free, :math:`\mu>0`."""
    q1 = jax.nn.sigmoid(x[1])
    p1 = jnp.exp(x[4])
    return jnp.stack([q1 * jax.nn.sigmoid(x[0]), q1, jnp.exp(x[2]), p1 * jax.nn.sigmoid(x[3]), p1,
                      jnp.exp(x[5]), x[6], jnp.exp(x[7])])


def from_theta_inf(t):
    lg = lambda p: jnp.log(p) - jnp.log1p(-p)  # noqa: E731
    return jnp.stack([lg(t[0] / t[1]), lg(t[1]), jnp.log(t[2]), lg(t[3] / t[4]), jnp.log(t[4]),
                      jnp.log(t[5]), t[6], jnp.log(t[7])])


def start_inf(rs, mu, gap=0.1):
    r"""Start on top of the RS saddle ``rs = (q1, dq, q1_hat, dq_hat, S_hat)`` of
    :func:`physlearn.theory.local_entropy.binary`: the clusters' overlap :math:`q_0=q_1-\text{gap}(1-q_1)`
    (a gap opened between clusters of references), conjugates from RS. Returns ``theta``."""
    q1, dq, p1, dp, sh = (rs[i] for i in range(5))
    q0 = q1 - gap * (1.0 - q1)
    return jnp.stack([q0, q1, dq, p1 * q0 / q1, p1, dp, sh, jnp.asarray(mu, q1.dtype) + 0 * q1])


def collapsed_inf(theta, tol=COLLAPSE):
    return (theta[1] - theta[0]) < tol * (1.0 - theta[0])


# --------------------------------------------------------------------------------------------
# finite y, fixed coupling
# --------------------------------------------------------------------------------------------
def entropic_fy(p0, pm, p1, gamma, y, mr, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY):
    r""":math:`G_S` of the module docstring (finite :math:`y`); the reference sum is inside the cluster
    level, the innermost level is :func:`physlearn.theory._envelopes.log_inner_entropic_1rsb` with :math:`m=y`."""
    dc = p1 - pm

    def L(x):
        return jnp.logaddexp(log_inner_entropic_1rsb(x + gamma, dc, y, n_in), log_inner_entropic_1rsb(x - gamma, dc, y, n_in))

    def phi(x):
        return mr * (jax.vmap(L)(x) - y * x)

    zs, ws = nm.half_line_rule(jnp.zeros_like(p0), n)
    v = jax.vmap(lambda z: log_even_tilted(phi, jnp.sqrt(p0) * z, pm - p0, mr * y, n_mid))(zs)
    return 2.0 * jnp.sum(ws * v) / mr


def energetic_fy(q0, qm, q1, y, mr, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY):
    r""":math:`G_E` of the module docstring (finite :math:`y`); innermost level
    :func:`physlearn.theory._envelopes.log_inner_energetic_1rsb` with :math:`m=y`."""
    sm = jnp.sqrt(jnp.maximum(qm - q0, _SIG2_FLOOR))
    s1 = jnp.sqrt(1.0 - q1)

    def f(z):
        v0 = kappa - jnp.sqrt(q0) * z
        F = jax.vmap(lambda zz: mr * log_inner_energetic_1rsb(v0 - sm * zz, q1 - qm, s1, y, n_in))
        z_start = jax.lax.stop_gradient(_energetic_mid_start(v0, sm, 1.0 - qm, mr * y))
        return _log_mid(F, z_start, n_mid)

    return nm.gauss_expect_split(f, kappa / jnp.sqrt(q0), n) / mr


def total_free_entropy(theta, gamma, y, mr, alpha, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID,
                       n_in=DEFAULT_N_IN_FY):
    r""":math:`\Phi(\theta;\gamma,y,m_r)` of the module docstring (per reference, whole replicated
    system), ``theta = (q0, qm, q1, q0_hat, qm_hat, q1_hat)``. Composable (jit, grad, vmap)."""
    q0, qm, q1, p0, pm, p1 = (theta[i] for i in range(6))
    trace = (-0.5 * y * p1 * (1.0 - q1) - 0.5 * y * y * (p1 * q1 - pm * qm)
             - 0.5 * mr * y * y * (pm * qm - p0 * q0))
    return (trace + entropic_fy(p0, pm, p1, gamma, y, mr, n, n_mid, n_in)
            + alpha * energetic_fy(q0, qm, q1, y, mr, kappa, n, n_mid, n_in))


def conjugates_fy(q, y, mr, alpha, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY):
    r"""Overlaps ``(q0, qm, q1)`` -> conjugates ``(q0_hat, qm_hat, q1_hat)``:
    :math:`\hat q_0=-2\alpha\partial_{q_0}G_E/(m_ry^2)`, :math:`\hat q_m=-2\alpha\partial_{q_m}G_E/(y^2(1-m_r))`,
    :math:`\hat q_1=2\alpha\partial_{q_1}G_E/(y(y-1))`."""
    e = jax.grad(lambda qq: energetic_fy(qq[0], qq[1], qq[2], y, mr, kappa, n, n_mid, n_in))(q)
    y2 = y * y
    return jnp.stack([-2.0 * alpha * e[0] / (mr * y2), -2.0 * alpha * e[1] / (y2 * (1.0 - mr)),
                      2.0 * alpha * e[2] / (y * (y - 1.0))])


def overlaps_fy(p, gamma, y, mr, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY):
    r"""Conjugates ``(q0_hat, qm_hat, q1_hat)`` -> overlaps ``(q0, qm, q1)``:
    :math:`q_0=-2\partial_{\hat q_0}G_S/(m_ry^2)`, :math:`q_m=-2\partial_{\hat q_m}G_S/(y^2(1-m_r))`,
    :math:`q_1=(2\partial_{\hat q_1}G_S-y)/(y(y-1))`."""
    s = jax.grad(lambda pp: entropic_fy(pp[0], pp[1], pp[2], gamma, y, mr, n, n_mid, n_in))(p)
    y2 = y * y
    return jnp.stack([-2.0 * s[0] / (mr * y2), -2.0 * s[1] / (y2 * (1.0 - mr)), (2.0 * s[2] - y) / (y * (y - 1.0))])


def sweep_fy(q, gamma, y, mr, alpha, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY):
    r"""One sweep of the finite-:math:`y` stationarity maps at fixed :math:`(\gamma,y,m_r)`: overlaps
    ``(q0, qm, q1)`` -> conjugates -> overlaps. Returns ``(q', p)``; a fixed point is a saddle point of
    :func:`total_free_entropy`. The collapsed (RS) point is always a fixed point."""
    p = conjugates_fy(q, y, mr, alpha, kappa, n, n_mid, n_in)
    return overlaps_fy(p, gamma, y, mr, n, n_mid, n_in), p


def derived_fy(theta, gamma, y, mr, alpha, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY):
    r"""At a saddle point (envelope theorem): ``(Phi, S, phi_int, Sigma_int, Sigma_ext, complexity)``.
    :math:`S=\partial_\gamma\Phi/y`; :math:`\phi_{\rm int}=\partial_y\Phi` at fixed :math:`m_r` (the
    :math:`y`-derivative of the free entropy of a cluster, averaged over the :math:`m_r`-weighted
    clusters: what a message-passing fixed point inside one cluster measures);
    :math:`\Sigma_{\rm int}=\phi_{\rm int}-\gamma S`; :math:`\Sigma_{\rm ext}=\Phi-y\phi_{\rm int}`;
    complexity of the clusters of references :math:`\Sigma=-m_r^2\partial_{m_r}\Phi` (the free entropy of
    a typical cluster is :math:`\Phi-\Sigma/m_r`). The overlap of two replicas drawn inside one cluster
    (focusing BP's :math:`\langle m_W^2\rangle`) is ``theta[1]`` (:math:`q_m`). ``theta`` may carry its
    implicit derivatives: the results then have exact total derivatives."""
    P = lambda g, yy, mm: total_free_entropy(theta, g, yy, mm, alpha, kappa, n, n_mid, n_in)  # noqa: E731
    tot = P(gamma, y, mr)
    dg, dy, dm = jax.grad(P, (0, 1, 2))(gamma, y, mr)
    S = dg / y
    return tot, S, dy, dy - gamma * S, tot - y * dy, -mr * mr * dm


def to_theta_fy(x):
    r"""Unconstrained ``x`` -> admissible ``theta``: :math:`0<q_0<q_m<q_1<1`,
    :math:`0<\hat q_0<\hat q_m<\hat q_1`."""
    q1 = jax.nn.sigmoid(x[2])
    qm = q1 * jax.nn.sigmoid(x[1])
    p1 = jnp.exp(x[5])
    pm = p1 * jax.nn.sigmoid(x[4])
    return jnp.stack([qm * jax.nn.sigmoid(x[0]), qm, q1, pm * jax.nn.sigmoid(x[3]), pm, p1])


def from_theta_fy(t):
    lg = lambda p: jnp.log(p) - jnp.log1p(-p)  # noqa: E731
    return jnp.stack([lg(t[0] / t[1]), lg(t[1] / t[2]), lg(t[2]), lg(t[3] / t[4]), lg(t[4] / t[5]), jnp.log(t[5])])


def start_fy(theta_rs, frac=0.5):
    r"""Start on top of the finite-:math:`y` RS saddle ``theta_rs = (q0, q1, q0_hat, q1_hat)`` of
    :mod:`physlearn.theory.local_entropy._finite_y`: the clusters hold the replicas of different references at
    :math:`q_m=q_0+\text{frac}(q_1-q_0)` (and likewise :math:`\hat q_m`). Returns ``theta``."""
    q0, q1, p0, p1 = (theta_rs[i] for i in range(4))
    return jnp.stack([q0, q0 + frac * (q1 - q0), q1, p0, p0 + frac * (p1 - p0), p1])


def collapsed_fy(theta, tol=COLLAPSE):
    return (theta[1] - theta[0]) < tol * (1.0 - theta[0])


# --------------------------------------------------------------------------------------------
# saddle points on the engine (physlearn.solvers)
# --------------------------------------------------------------------------------------------
_PRE_STEPS = 60  # damped sweeps before Newton: the collapsed (RS) point is also a fixed point
_PRE_TOL = 1e-6
_GAP_KEEP = 0.3  # Newton trial points that shrink the gap below this fraction of its start are rejected
_TOL = 1e-11
_ACCEPT = 1e-8
_NEWTON_STEPS = 30


def _solve_gap(F, q0, args, gap, ordered, collapsed):
    r"""A fixed point ``q = F(q, args)`` with an open gap (1RSB), not the collapsed one (RS): damped
    sweeps (:func:`physlearn.solvers.fixed_point`, damping 0.5, stopping early at a collapse) bring the
    iterate near the 1RSB fixed point, then :func:`physlearn.solvers.newton` (finite-difference
    Jacobian, backtracking) converges it; trial points that leave the ordered domain or shrink the gap
    below ``_GAP_KEEP`` of its value after the sweeps are inadmissible (NaN residual), so Newton cannot
    jump onto RS. Returns ``(q, collapsed, result, residual, n_steps)``; ``q`` carries implicit
    derivatives."""
    pre = solvers.fixed_point(F, q0, args, damping=0.5, tol=_PRE_TOL, max_steps=_PRE_STEPS, stop=collapsed,
                              residual=lambda y, fy, yn, aux: jnp.max(jnp.abs(fy - y)), differentiable=False)
    q1 = pre.value
    col = collapsed(q1)
    g0 = jax.lax.stop_gradient(gap(q1))

    def eqs(q, a):
        ok = ordered(q) & (gap(q) > _GAP_KEEP * a[0])
        r = F(q, a[1]) - q
        return jnp.where(ok, r, jnp.nan)

    sol = solvers.newton(eqs, q1, (g0, args), tol=_TOL, accept=_ACCEPT, max_steps=_NEWTON_STEPS, jacobian="fd")
    result = jnp.where(col, solvers.RESULTS.successful, sol.result).astype(jnp.int32)
    return sol.value, col, result, sol.residual, pre.n_steps + sol.n_steps


def _ordered_fy(q):
    return (q[0] > 0) & (q[0] < q[1]) & (q[1] < q[2]) & (q[2] < 1)


def search_fy(theta_rs, gamma, y, mr, alpha, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY,
              frac=0.5):
    r"""The saddle point of :func:`total_free_entropy` at fixed :math:`(\gamma,y,m_r)` from the RS saddle
    ``theta_rs = (q0, q1, q0_hat, q1_hat)`` with the clusters opened half-way (:func:`start_fy`).
    Returns ``(theta, collapsed, result, residual, n_steps)``; where the search returns to RS
    (``collapsed``, gap below ``COLLAPSE``, or ``COLLAPSE_M1`` for :math:`m_r\ge` ``M_ONE``), ``theta`` is
    the RS saddle in this form (:math:`q_m=q_0`), with its derivatives."""
    tol = jnp.where(mr >= M_ONE - 1e-12, COLLAPSE_M1, COLLAPSE)

    def F(q, a):
        g, yy, m, al, k = a
        qn = sweep_fy(q, g, yy, m, al, k, n, n_mid, n_in)[0]
        return qn.at[1].set(jnp.clip(qn[1], qn[0], qn[2]))

    args = (gamma, y, mr, alpha, kappa)
    q0 = jax.lax.stop_gradient(start_fy(theta_rs, frac)[:3])
    q, col, result, res, ns = _solve_gap(F, q0, args, lambda q: q[1] - q[0], _ordered_fy,
                                         lambda q: collapsed_fy(q, tol))
    col = col | collapsed_fy(q, tol)
    full = jnp.concatenate([q, conjugates_fy(q, y, mr, alpha, kappa, n, n_mid, n_in)])
    rs = jnp.stack([theta_rs[0], theta_rs[0], theta_rs[1], theta_rs[2], theta_rs[2], theta_rs[3]])
    theta = jnp.where(col, rs, full)
    return theta, col, jnp.where(col, solvers.RESULTS.successful, result).astype(jnp.int32), res, ns


_MR_TOL = 1e-5
_MR_STEPS = 24


def physical_fy(theta_rs, gamma, y, alpha, kappa=0.0, n=DEFAULT_N_FY, n_mid=DEFAULT_N_MID, n_in=DEFAULT_N_IN_FY,
                mr_low=0.2):
    r"""The physical Parisi parameter (derivation page, section 3): the search at :math:`m_r=` ``M_ONE``
    (reconstruction) first; if it collapses or its complexity :math:`\Sigma(1)=-\partial_{m_r}\Phi\ge0`, the
    clusters do not condense and :math:`m_r=1` (``theta`` is the reconstruction point; at :math:`m_r=1`
    :math:`\Phi, S, \phi_{\rm int}` are RS); otherwise :math:`m_r^*\in(` ``mr_low`` :math:`,1)` with
    :math:`\Sigma(m_r^*)=0` by bisection (a collapsed search counts as :math:`\Sigma>0`: the clusters
    merge below :math:`m_r^*`). One :func:`search_fy` per step of :func:`physlearn.solvers.iterate`
    (one compiled copy). :math:`m_r^*` gets implicit derivatives from :math:`\Sigma(m_r^*)=0`.
    Returns ``(theta, m_r, collapsed, result, residual, n_steps)``."""
    args = (theta_rs, gamma, y, alpha, kappa)
    a_sg = jax.lax.stop_gradient(args)
    dt = jnp.result_type(gamma, float)

    def evaluate(m, a):
        th, col, r, res, ns = search_fy(a[0], a[1], a[2], m, a[3], a[4], n, n_mid, n_in)
        cx = derived_fy(th, a[1], a[2], m, a[3], a[4], n, n_mid, n_in)[5]
        return th, col, r, res, ns, cx

    def step(st):
        k, lo, hi, _, _, _, _, _, ns, _, _ = st
        mid = jnp.where(k == 0, jnp.asarray(M_ONE, dt), 0.5 * (lo + hi))
        th, col, r, res, ns2, cx = evaluate(mid, a_sg)
        positive = col | (cx >= 0.0)
        # first step: no condensation (or a failed search) ends the search at m_r = 1
        first_end = (k == 0) & (positive | (r != solvers.RESULTS.successful))
        lo = jnp.where(k == 0, jnp.asarray(mr_low, dt), jnp.where(positive, mid, lo))
        hi = jnp.where(k == 0, jnp.asarray(M_ONE, dt), jnp.where(positive, hi, mid))
        stop = first_end | ((k > 0) & (hi - lo < _MR_TOL))
        return k + 1, lo, hi, mid, th, col, r, res, ns + ns2, cx, stop

    zero = jnp.zeros((), dt)
    th0 = jnp.zeros((6,), dt)
    init = (jnp.asarray(0), zero, zero, zero, th0, jnp.asarray(False), jnp.asarray(0, jnp.int32), zero,
            jnp.asarray(0), zero, jnp.asarray(False))
    (k, lo, hi, m, th, col, r, res, ns, _, _), _, _ = solvers.iterate(step, init, max_steps=_MR_STEPS,
                                                                        done=lambda st: st[-1])
    condensed = k > 1
    bad = condensed & (col | (hi - lo >= _MR_TOL) | (lo <= mr_low + _MR_TOL))
    m_star = solvers.implicit(lambda mm, a: evaluate(mm, a)[5], m, args, jacobian="fd")
    # the saddle at m_r* again with derivatives (search_fy attaches them); at m_r = 1 the one at M_ONE
    th_d = solvers.implicit(lambda q, a: sweep_fy(q, a[1], a[2], a[5], a[3], a[4], n, n_mid, n_in)[0] - q,
                            th[:3], args + (jnp.where(condensed, m_star, M_ONE),), jacobian="fd")
    th = jnp.where(col, th, jnp.concatenate([th_d, conjugates_fy(th_d, y, jnp.where(condensed, m_star, M_ONE), alpha,
                                                                   kappa, n, n_mid, n_in)]))
    result = solvers.combine(r, jnp.where(bad, solvers.RESULTS.tolerance_not_met, solvers.RESULTS.successful))
    return th, jnp.where(condensed, m_star, 1.0), col, result, res, ns


def _ordered_inf(q):
    return (q[0] > 0) & (q[0] < q[1]) & (q[1] < 1) & (q[2] > 0)


def search_inf(rs, mu, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN, gap=0.1):
    r"""The saddle point of :func:`free_entropy` at fixed :math:`(d,\mu)` from the RS saddle
    ``rs = (q1, dq, q1_hat, dq_hat, S_hat)`` with a gap opened between clusters (:func:`start_inf`),
    or from a 1RSB saddle ``rs = theta`` (8 values; e.g. that of a neighbouring distance) with its
    :math:`\mu` replaced. Returns ``(theta, collapsed, result, residual, n_steps)`` (``theta`` with
    implicit derivatives)."""
    if rs.shape[-1] == 8:
        th0 = jax.lax.stop_gradient(rs.at[7].set(mu))
    else:
        th0 = jax.lax.stop_gradient(start_inf(rs, mu, gap))
    sh0 = th0[6]

    def F(q, a):
        m, dd, al, k, sh = a
        qn = sweep_inf(q, sh, m, dd, al, k, n, n_in)[0]
        return qn.at[0].set(jnp.minimum(qn[0], qn[1]))

    args = (mu, d, alpha, kappa, sh0)
    q, col, result, res, ns = _solve_gap(F, th0[:3], args, lambda q: q[1] - q[0], _ordered_inf, collapsed_inf)
    _, p, sh, sres = sweep_inf(q, sh0, mu, d, alpha, kappa, n, n_in)
    theta = jnp.concatenate([q, p, jnp.stack([sh, mu * jnp.ones_like(sh)])])
    result = solvers.combine(result, jnp.where(sres < 1e-9, solvers.RESULTS.successful,
                                               solvers.RESULTS.tolerance_not_met))
    return theta, col, result, res, ns


def optimal_mu_inf(rs, d, alpha, kappa=0.0, n=DEFAULT_N, n_in=DEFAULT_N_IN, mu0=5.0):
    r""":math:`\mu^*` with :math:`\partial_\mu S_I=0` (zero complexity, the minimum of :math:`S_I(\mu)`):
    finite-difference Newton in :math:`\log\mu` (:func:`physlearn.solvers.newton`) on
    :math:`\partial_\mu S_I` itself at the fixed-:math:`\mu` saddle (:func:`search_inf`), from ``mu0``.
    Not on :math:`\mu\,\partial_\mu S_I` or the complexity :math:`-\mu^2\partial_\mu S_I`: both vanish
    trivially as :math:`\mu\to0` (the RS member, where :math:`\partial_\mu S_I` is finite), and Newton
    from :math:`\mu=5` slid there (:math:`\alpha=0.6, d=0.05`: :math:`\mu\to9\cdot10^{-4}`); with
    :math:`S_I(\mu)` convex around its minimum, Newton on :math:`\partial_\mu S_I` moves towards
    :math:`\mu^*`. Returns ``(theta, collapsed, result, residual, n_steps)``."""
    def dmu(x, a):
        m = jnp.exp(x[0])
        th, col, r, _, _ = search_inf(a[0], m, a[1], a[2], a[3], n, n_in)
        v = jax.grad(free_entropy)(th, a[1], a[2], a[3], n, n_in)[7]
        return jnp.where(col | (r != solvers.RESULTS.successful), jnp.nan, v)[None]

    x0 = jnp.log(jnp.asarray(mu0, jnp.result_type(d, float)))[None]
    sol = solvers.newton(dmu, x0, (rs, d, alpha, kappa), tol=1e-11, accept=1e-8, max_steps=15, fd_step=1e-4)
    th, col, r, res, ns = search_inf(rs, jnp.exp(sol.value[0]), d, alpha, kappa, n, n_in)
    return th, col, solvers.combine(sol.result, r), res, ns + sol.n_steps
