r"""Replica theory of the cross-entropy loss on the binary perceptron: where its minimisers sit
relative to the dense (high local entropy) regions of the solution space.

Reference: C. Baldassi, F. Pittorino, R. Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 117, 161 (2020), arXiv:1905.07833 (the loss
:math:`f_\gamma` with an explicit norm parameter; its minimisers lie in high-local-entropy
regions for a range of :math:`\gamma`, with an optimal :math:`\gamma`).

**Loss.** For the stability :math:`\Delta^\mu = \sigma^\mu W\cdot\xi^\mu/\sqrt N` of binary weights
:math:`W\in\{\pm1\}^N`,

.. math:: f_\gamma(x) = -\frac x2 + \frac1{2\gamma}\log 2\cosh(\gamma x)
          = \frac1{2\gamma}\log\big(1+e^{-2\gamma x}\big),

convex and decreasing; :math:`\gamma\to\infty` gives :math:`\max(0,-x)`, small :math:`\gamma` a
quadratic (robust) loss. With binary weights the norm is fixed, so :math:`\gamma` plays the role
of the norm of the weights.

**The minimiser** (:func:`minimizer`): the zero-temperature RS limit of the Gibbs measure
:math:`e^{-\beta\sum_\mu f_\gamma(\Delta^\mu)}` over binary weights, :math:`1-q = C/\beta`,
:math:`\hat q = \beta^2\hat R`. With :math:`\lambda^*(z)=\mathrm{prox}_{Cf_\gamma}(z)`, the root of
:math:`\lambda + Cf'_\gamma(\lambda) = z`, the ground-state energy per weight is
:math:`e = \alpha\,\mathbb E_z f_\gamma(\lambda^*(z))` with :math:`C` fixed by

.. math:: \alpha\,\mathbb E_z\big[(\lambda^*(z)-z)^2\big] = \frac2\pi, \qquad \hat R = \frac2{\pi C^2};

the stabilities of the minimiser are distributed as :math:`\lambda^*(z)`, :math:`z\sim\mathcal
N(0,1)`, and its training error is :math:`\epsilon = P(\lambda^*<0)`. (RS at zero temperature;
the branch exists while :math:`C<\infty`, i.e. for every finite :math:`\gamma` below the
capacity.)

**Local entropy around the minimiser** (:func:`local_entropy`): the Franz--Parisi potential of
:mod:`physlearn.theory.franz_parisi` (Huang & Kabashima 2014) with the reference drawn from the
:math:`\beta\to\infty` measure above instead of uniformly among solutions. The reference replicas
collapse (:math:`\tilde q\to1`); with :math:`\beta(p-t)\to C\tau`, :math:`\hat t=\beta\hat T`,
:math:`\hat p=\beta\hat T+\hat P` and :math:`a = \hat T/\sqrt{\hat R}` the limit is

.. math::

    V &= -\hat P p - \sqrt{2/\pi}\,a\tau - \tfrac12\hat q(1-q) + G_S + \alpha G_E,\\
    G_S &= 2\int_0^\infty Dz_0\int D\eta\,\log2\cosh\big(az_0 + \sqrt{\hat q - a^2}\,\eta + \hat P\big),\\
    G_E &= \int Dz_0\int D\eta\,\log H\Big(\frac{\kappa - pz_0 - \tau(\lambda^*(z_0)-z_0)
          - \sqrt{q-p^2}\,\eta}{\sqrt{1-q}}\Big),

the log-number per weight of margin-:math:`\kappa` solutions at overlap :math:`p = 1-2d` with
the minimiser (five order parameters, stationary). Without patterns it is :math:`H_2(d)`; it is
bounded by the robust-ensemble curve :func:`physlearn.theory.local_entropy.binary` (the local
entropy of the densest regions), and its maximum over d is the Gardner entropy
:func:`physlearn.theory.gardner.binary_rs`. :func:`optimal_gamma` maximises it over :math:`\gamma` at a given distance.

Solution path: at each distance, a homotopy that switches the patterns on,
:math:`V_s = (\text{entropic}) + s\,\alpha G_E`, :math:`s: 0\to1`, from the exact :math:`s=0`
point (:math:`q=p^2`, :math:`\hat q=a=0`, :math:`\hat P=\operatorname{atanh}p`,
:math:`\tau=p`), by damped Newton on the stationarity conditions, polished by :func:`physlearn.solvers.root`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validation as V
from .. import numerics as nm
from .. import solvers
from .._config import eager_x64, theory_jit
from ._inputs import (
    TheoryResult,
    as_param,
    broadcast,
    check_on_failure,
    finish,
    finish_curve,
    point_map,
    validate_d,
)
from ._integrals import h2 as _h2

__all__ = [
    "CELocalEntropy",
    "CEMinimizer",
    "OptimalGamma",
    "ce_loss",
    "local_entropy",
    "local_entropy_free_entropy",
    "minimizer",
    "optimal_gamma",
    "prox",
]

DEFAULT_NODES = 64  # per half line
DEFAULT_NETA = 32
_TOL = 1e-10
_CONVERGED_TOL = 1e-8
_N_HOMOTOPY = 16
_LOG_L = -14.0  # lower end of the bracket of log L (the margin L = log(1 + 2 gamma C) / (2 gamma))
_L_MAX = 50.0  # upper end of L; and 2 gamma L <= _EXP_MAX (C = expm1(2 gamma L) / (2 gamma) stays finite)
_EXP_MAX = 600.0
_HOMOTOPY_ITERS = 12  # damped Newton steps (at most) per homotopy step
_PROX_STEPS = 150  # at most; the safeguarded Newton stops when its step is at rounding level
_PROX_TOL = 1e-14


def ce_loss(x, gamma):
    r""":math:`f_\gamma(x) = \log(1+e^{-2\gamma x})/(2\gamma)` (module docstring), stable for any
    :math:`\gamma x`. Composable."""
    return jnp.logaddexp(0.0, -2.0 * gamma * x) / (2.0 * gamma)


def _dloss(x, gamma):
    return -jax.nn.sigmoid(-2.0 * gamma * x)


def _d2loss(x, gamma):
    return 2.0 * gamma * jax.nn.sigmoid(2.0 * gamma * x) * jax.nn.sigmoid(-2.0 * gamma * x)


def prox(z, C, gamma):
    r""":math:`\lambda^* = \arg\min_\lambda[f_\gamma(\lambda) + (\lambda-z)^2/(2C)]`: the root of
    :math:`\lambda + Cf'_\gamma(\lambda) = z` (increasing in :math:`\lambda`), in the bracket
    :math:`[z, z + C]`, by Newton from :math:`\max(z, \log(1+2\gamma C)/(2\gamma))` with a
    bisection step whenever Newton leaves the bracket (:func:`physlearn.solvers.iterate`, until the
    step is below :math:`10^{-14}(1+|\lambda|)` at every node, at most 150 steps: enough for
    :math:`\gamma C\sim10^{17}`). Composable; differentiable (one Newton step with live
    parameters from the converged root: exact value and implicit-function derivatives)."""
    z, C, gamma = jnp.broadcast_arrays(*(jnp.asarray(v, dtype=jnp.result_type(z, C, gamma, float))
                                         for v in (z, C, gamma)))
    zs, Cs, gs = jax.lax.stop_gradient((z, C, gamma))
    lo, hi = zs, zs + Cs
    start = jnp.clip(jnp.maximum(zs, jnp.log1p(2.0 * gs * Cs) / (2.0 * gs)), lo, hi)

    def step(c):
        lam, lo, hi, _ = c
        r = lam + Cs * _dloss(lam, gs) - zs
        lo = jnp.where(r < 0, lam, lo)
        hi = jnp.where(r < 0, hi, lam)
        new = lam - r / (1.0 + Cs * _d2loss(lam, gs))
        new = jnp.where((new > lo) & (new < hi), new, 0.5 * (lo + hi))
        return new, lo, hi, jnp.abs(new - lam)

    def done(c):
        return jnp.all(c[3] <= _PROX_TOL * (1.0 + jnp.abs(c[0])))

    init = (start, lo, hi, jnp.full_like(start, jnp.inf))
    (lam, _, _, _), _, _ = solvers.iterate(step, init, max_steps=_PROX_STEPS, done=done)
    # one Newton step with live parameters: exact value, exact derivatives (implicit function)
    r = lam + C * _dloss(lam, gamma) - z
    return lam - r / (1.0 + C * _d2loss(lam, gamma))


def _stability_rule(C, gamma, n):
    r"""Nodes/weights of :math:`\int Dz\,g(z)` for integrands built from :math:`\lambda^*(z)`:
    the proximal map has two crossovers of width :math:`\sim1/\gamma`, where
    :math:`\lambda^*` leaves :math:`z+C` (at :math:`z\approx-L-C`) and where it joins :math:`z`
    (at :math:`z\approx L`), :math:`L=\log(1+2\gamma C)/(2\gamma)` (the hinge's kinks at
    :math:`-C` and 0 as :math:`\gamma\to\infty`; the margin of the max-margin limit as
    :math:`C\to\infty`). The line is split there: two half-line rules clustered at the
    crossovers and Gauss--Legendre between them (``3n`` nodes)."""
    L = jnp.log1p(2.0 * gamma * C) / (2.0 * gamma)
    hi = L
    lo = jnp.minimum(jnp.maximum(-L - C, -9.0), hi - 1e-3)
    zu, wu = nm.half_line_rule(hi, n)
    zl, wl = nm.half_line_rule(-lo, n)
    s, ws = nm._gauss_legendre01(n)
    s = jnp.asarray(s, dtype=zu.dtype)
    zm = lo + (hi - lo) * s
    wm = (hi - lo) * jnp.asarray(ws, dtype=zu.dtype) * nm.G(zm)
    return jnp.concatenate([zu, -zl, zm]), jnp.concatenate([wu, wl, wm])


# --------------------------------------------------------------------------------------------
# The minimiser
# --------------------------------------------------------------------------------------------
class CEMinimizer(TheoryResult):
    r"""Zero-temperature RS minimiser of the cross-entropy loss (:func:`minimizer`).

    ``C``: :math:`\beta(1-q)`; ``R_hat``: :math:`\hat q/\beta^2=2/(\pi C^2)`; ``energy``: the loss
    per pattern :math:`\mathbb E f_\gamma(\lambda^*)`; ``errors``: training error
    :math:`P(\lambda^*<0)=H(C/2)` (fraction of patterns); ``mean_stability``:
    :math:`\mathbb E\lambda^*`; ``margin``: :math:`L=\log(1+2\gamma C)/(2\gamma)`, where the
    stabilities join :math:`\lambda^*=z` (the margin of the max-margin limit
    :math:`\gamma\to\infty`); ``converged``, ``result`` (:class:`~physlearn.solvers.RESULTS`),
    ``residual``, ``n_steps``."""

    INPUTS = ("alpha", "gamma")
    alpha: jax.Array
    gamma: jax.Array
    C: jax.Array
    R_hat: jax.Array
    energy: jax.Array
    errors: jax.Array
    mean_stability: jax.Array
    margin: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


def _c_of(x, gamma):
    """C from x = log L, L = log(1 + 2 gamma C) / (2 gamma) (the margin; O(1) for every gamma)."""
    return jnp.expm1(2.0 * gamma * jnp.exp(x)) / (2.0 * gamma)


def _c_upper(gamma):
    return jnp.log(jnp.minimum(_L_MAX, _EXP_MAX / (2.0 * gamma)))


def _c_residual(x, args):
    alpha, gamma, n = args
    C = _c_of(x, gamma)
    z, w = _stability_rule(C, gamma, n)
    lam = prox(z, C, gamma)
    return alpha * jnp.sum(w * (lam - z) ** 2) / (2.0 / math.pi) - 1.0


def _minimizer_point(alpha, gamma, n):
    dt = jnp.result_type(alpha, float)
    # bisection on [0, 1] mapped onto the gamma-dependent bracket of log L
    lo, hi = jnp.asarray(_LOG_L, dt), _c_upper(gamma)

    def eqs(t, a):
        return _c_residual(lo + (_c_upper(a[1]) - lo) * t, (a[0], a[1], n))

    sol = solvers.root(eqs, jnp.zeros((), dt), (alpha, gamma), method="bisection", lower=0.0, upper=1.0,
                       tol=1e-13, accept=0.1 * _CONVERGED_TOL, max_steps=200)
    x = lo + (hi - lo) * sol.value
    C = _c_of(x, gamma)
    z, w = _stability_rule(C, gamma, n)
    lam = prox(z, C, gamma)
    # errors: the stability crosses 0 where 0 + C f'(0) = z, i.e. at z = -C/2
    errors = nm.H(C / 2.0)
    res = jnp.abs(eqs(jax.lax.stop_gradient(sol.value), jax.lax.stop_gradient((alpha, gamma))))
    inside = (sol.value > 1e-9) & (sol.value < 1.0 - 1e-9)
    result = solvers.combine(sol.result, solvers.from_checks(jnp.isfinite(res), res < _CONVERGED_TOL,
                                                             admissible=inside))
    return CEMinimizer(alpha, gamma, C, 2.0 / (math.pi * C * C), jnp.sum(w * ce_loss(lam, gamma)), errors,
                       jnp.sum(w * lam), jnp.exp(x), result == 0, res, sol.n_steps, result)


@theory_jit(static_argnames=("n",))
def _minimizer_grid(alpha, gamma, n):
    return jax.vmap(lambda a, g: _minimizer_point(a, g, n))(alpha, gamma)


@eager_x64
def minimizer(alpha, gamma, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> CEMinimizer:
    r"""Zero-temperature RS minimiser of the cross-entropy loss :math:`\sum_\mu f_\gamma(\Delta^\mu)`
    over binary weights (module docstring; Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)):
    solves

    .. math:: \alpha\,\mathbb E_z\big[(\mathrm{prox}_{Cf_\gamma}(z)-z)^2\big] = \frac2\pi

    for :math:`C=\beta(1-q)` by bisection in :math:`\log C` (:func:`physlearn.solvers.root`),
    and returns the energy (loss per pattern), the training error :math:`P(\lambda^*<0) = H(C/2)`
    and the stability statistics. Limits: as :math:`\gamma\to0` the loss is linear plus
    :math:`\gamma x^2/2`, :math:`\lambda^*=(z+C/2)/(1+\gamma C)` and :math:`C\to\sqrt{8/(\pi\alpha)}`
    (training error :math:`H(\sqrt{2/(\pi\alpha)})`); as
    :math:`\gamma\to\infty` at a load below the binary RS branch end the minimiser becomes the RS
    max-margin solution: ``margin`` tends to :math:`\kappa^*` with
    :math:`(2/\pi)\alpha_c^{\rm sph}(\kappa^*)=\alpha`
    (:func:`physlearn.theory.gardner.binary_rs_branch_end`).

    Args:
        alpha, gamma: load and loss parameter (> 0), broadcast against each other.
        n: quadrature nodes per piece of the three-piece rule split at the crossovers of the
            proximal map.
        on_failure: ``"raise"`` (:class:`~physlearn.errors.NonConvergenceError`, also from inside
            ``jit``) or ``"flag"`` (NaN values, ``converged=False``, the reason in ``result``).

    Returns:
        :class:`CEMinimizer`. The solve runs in the margin :math:`L=\log(1+2\gamma C)/(2\gamma)`
        on :math:`[e^{-14}, \min(50, 300/\gamma)]` (so that :math:`C\le e^{600}`): a point whose
        solution lies outside fails (very large :math:`\gamma`, where the minimiser is the
        max-margin solution, or vanishing load).
    """
    check_on_failure(on_failure)
    a = as_param("alpha", alpha, positive=True)
    g = as_param("gamma", gamma, positive=True)
    n = V.integer("n", n, minimum=4)
    shape = broadcast(alpha=a, gamma=g)
    f = jnp.result_type(float)
    a, g = (jnp.broadcast_to(jnp.asarray(v, f), shape) for v in (a, g))
    out = _minimizer_grid(a.reshape(-1), g.reshape(-1), n)
    out = jax.tree_util.tree_map(lambda v: v.reshape(shape), out)
    return finish(out, on_failure, "cross_entropy.minimizer", {"alpha": out.alpha, "gamma": out.gamma},
                  "gamma * margin must stay below 300 (C <= e^600): lower gamma")


# --------------------------------------------------------------------------------------------
# Local entropy around the minimiser
# --------------------------------------------------------------------------------------------
class _Ref(eqx.Module):
    alpha: jax.Array
    p: jax.Array
    kappa: jax.Array
    C: jax.Array
    R_hat: jax.Array
    gamma: jax.Array
    s: jax.Array  # homotopy: the patterns' weight


def _nodes(C, gamma, n, neta):
    dtype = jnp.result_type(C, float)
    zh, wh = nm.half_line_rule(jnp.zeros((), dtype), n)  # z0 > 0 (entropic)
    zl, wl = _stability_rule(C, gamma, n)  # full line (energetic), split at the crossovers of lambda*
    e, we = nm.gauss_hermite(neta)
    return zh, wh, zl, wl, jnp.asarray(e, dtype), jnp.asarray(we, dtype)


def _value(theta, ref, nodes):
    q, tau, P, qh, a = theta
    zh, wh, zl, wl, e, we = nodes
    b = jnp.sqrt(jnp.maximum(qh - a * a, 1e-300))
    B = a * zh[:, None] + b * e[None, :] + P
    gs = 2.0 * jnp.sum(wh[:, None] * we[None, :] * nm.log2cosh(B))
    lam = prox(zl, ref.C, ref.gamma)
    mean = ref.p * zl + tau * (lam - zl)
    v = jnp.sqrt(jnp.maximum(q - ref.p * ref.p, 1e-300))
    u = (ref.kappa - mean[:, None] - v * e[None, :]) / jnp.sqrt(1.0 - q)
    ge = jnp.sum(wl[:, None] * we[None, :] * nm.log_H(u))
    return -P * ref.p - math.sqrt(2.0 / math.pi) * a * tau - 0.5 * qh * (1.0 - q) + gs + ref.s * ref.alpha * ge


def local_entropy_free_entropy(theta, d, alpha, gamma, kappa=0.0, *, n: int = DEFAULT_NODES,
                               neta: int = DEFAULT_NETA):
    r"""The functional :math:`V(q,\tau,\hat P,\hat q,a)` of the module docstring at distance
    ``d`` from the cross-entropy minimiser of :func:`minimizer` (``alpha``, ``gamma``); ``theta``
    is the array :math:`(q,\tau,\hat P,\hat q,a)`. Composable (no validation, the minimiser is
    solved inside); stationary at the solution of :func:`local_entropy`."""
    dt = jnp.result_type(d, alpha, gamma, float)
    mini = _minimizer_point(jnp.asarray(alpha, dt), jnp.asarray(gamma, dt), n)
    ref = _Ref(jnp.asarray(alpha, dt), 1.0 - 2.0 * jnp.asarray(d, dt), jnp.asarray(kappa, dt), mini.C, mini.R_hat,
               jnp.asarray(gamma, dt), jnp.ones((), dt))
    return _value(jnp.asarray(theta, dt), ref, _nodes(mini.C, ref.gamma, n, neta))


# Newton variables: log(1-q), tau, P, log(q_hat - a^2), a; the stationarity conditions are the
# gradient in the original order parameters, evaluated at the mapped point.
def _from_x(x, ref):
    q = -jnp.expm1(x[0])
    a = x[4]
    return jnp.stack([q, x[1], x[2], a * a + jnp.exp(x[3]), a])


def _to_x(theta, ref):
    q, tau, P, qh, a = theta
    return jnp.stack([jnp.log1p(-q), tau, P, jnp.log(jnp.maximum(qh - a * a, 1e-300)), a])


def _equations(x, args):
    ref, nodes = args
    theta = _from_x(x, ref)
    g = jax.grad(_value)(theta, ref, nodes)
    scale = jnp.stack([1.0, 1.0, 1.0, 1.0 + jnp.abs(theta[3]), 1.0])
    return g * scale


def _start(ref):
    p = ref.p
    dt = p.dtype
    return jnp.stack([p * p + 1e-3 * (1.0 - p * p), p, jnp.arctanh(p), jnp.asarray(1e-3, dt), jnp.zeros((), dt)])


class CELocalEntropy(TheoryResult):
    r"""Local entropy of the margin-:math:`\kappa` solutions around the cross-entropy minimiser
    (:func:`local_entropy`). Shapes: ``alpha, gamma, kappa, C, errors`` ``P``; the rest
    ``P + d.shape``.

    ``entropy``: :math:`V(d)` (log-number per weight); ``h2``: :math:`H_2(d)`, its
    :math:`\alpha=0` value and upper bound (never masked); ``q, tau, p_hat, q_hat, a``: order
    parameters (``p_hat`` is :math:`\hat P`, the field towards the reference; ``a`` the coupling to the
    reference's cavity field); ``C``, ``errors``: the minimiser's :math:`\beta(1-q)` and training error;
    ``converged``, ``residual``, ``n_steps``, ``result``."""

    INPUTS = ("alpha", "gamma", "kappa", "d", "h2")
    alpha: jax.Array
    gamma: jax.Array
    kappa: jax.Array
    d: jax.Array
    entropy: jax.Array
    h2: jax.Array
    q: jax.Array
    tau: jax.Array
    p_hat: jax.Array
    q_hat: jax.Array
    a: jax.Array
    C: jax.Array
    errors: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


def _le_point(alpha, gamma, kappa, d, mini, nodes):
    """One distance: the homotopy in the patterns' weight from the exact pattern-free point
    (damped Newton of :func:`physlearn.solvers.newton` at every step, warm-started by
    :func:`physlearn.solvers.continuation`), then a Newton polish by :func:`physlearn.solvers.root`
    (implicit derivatives)."""
    dt = d.dtype
    p = 1.0 - 2.0 * d

    def ref_at(s):
        return _Ref(alpha, p, kappa, mini.C, mini.R_hat, gamma, s)

    r0 = ref_at(jnp.zeros((), dt))
    s_path = (jnp.arange(1, _N_HOMOTOPY + 1, dtype=dt) / _N_HOMOTOPY) ** 2

    def hom(x, s):
        return solvers.newton(_equations, x, (ref_at(s), nodes), jacobian="autodiff", tol=_TOL,
                              accept=_CONVERGED_TOL, max_steps=_HOMOTOPY_ITERS, max_halvings=4,
                              differentiable=False)

    path = solvers.continuation(hom, jax.lax.stop_gradient(_to_x(_start(r0), r0)), s_path, carry="finite")
    ref = ref_at(jnp.ones((), dt))
    sol = solvers.root(_equations, jax.lax.stop_gradient(path.value[-1]), (ref, nodes), method="newton", tol=_TOL,
                       max_steps=30)
    theta = _from_x(sol.value, ref)
    val = _value(theta, ref, nodes)
    result = solvers.combine(mini.result, sol.result, solvers.from_checks(jnp.isfinite(val), True))
    return theta, val, result, sol.residual, sol.n_steps + jnp.sum(path.n_steps)


@theory_jit(static_argnames=("n", "neta"))
def _le_grid(alpha, gamma, kappa, d, n, neta):
    def one(a, g, k):
        mini = _minimizer_point(a, g, n)
        nodes = _nodes(mini.C, g, n, neta)
        theta, val, result, res, steps = point_map(lambda dd: _le_point(a, g, k, dd, mini, nodes), d)
        return CELocalEntropy(a, g, k, d, val, _h2(d), theta[:, 0], theta[:, 1], theta[:, 2], theta[:, 3],
                              theta[:, 4], mini.C, mini.errors, result == 0, res, steps, result)

    return point_map(one, alpha, gamma, kappa)


@eager_x64
def local_entropy(alpha, gamma, d, kappa=0.0, *, n: int = DEFAULT_NODES, neta: int = DEFAULT_NETA,
                  on_failure: str = "raise") -> CELocalEntropy:
    r"""Local entropy :math:`V(d)` of the margin-``kappa`` solutions of the binary perceptron at
    distance ``d`` from the minimiser of the cross-entropy loss :math:`f_\gamma` (module
    docstring; Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)): the Franz--Parisi potential
    with a frozen reference drawn from the :math:`\beta\to\infty` cross-entropy measure,

    .. math:: V = \operatorname{stat}_{q,\tau,\hat P,\hat q,a}\Big[-\hat Pp-\sqrt{2/\pi}\,a\tau
              -\tfrac12\hat q(1-q)+G_S+\alpha G_E\Big],\qquad p=1-2d .

    Solved at each distance by a homotopy in the patterns' weight from the exact pattern-free
    point (16 steps, damped Newton of :func:`physlearn.solvers.newton` at each), then a Newton
    polish by :func:`physlearn.solvers.root` (implicit derivatives). Exact checks: the maximum
    over d is the Gardner entropy :func:`physlearn.theory.gardner.binary_rs`; :math:`dV/dd` is the
    partial derivative of the functional in d at the saddle point (envelope theorem; the energetic
    term depends on :math:`p` too, so it is not :math:`2\hat P`). Compare with
    :func:`physlearn.theory.local_entropy.binary` (the densest regions, an upper bound) and
    :func:`physlearn.theory.franz_parisi.binary` (typical solutions).

    Args:
        alpha, gamma, kappa: broadcast against each other (shape ``P``); ``alpha, gamma > 0``.
        d: scalar or 1-D array in (0, 1/2); results have shape ``P + d.shape``.
        n, neta: quadrature nodes (per piece of the split rules; Gauss--Hermite).
        on_failure: ``"raise"`` (:class:`~physlearn.errors.NonConvergenceError`, also from inside
            ``jit``) or ``"flag"`` (NaN values, ``converged=False``, the reason in ``result``).

    Returns:
        :class:`CELocalEntropy`. Points fail where the minimiser fails (:func:`minimizer`) or the
        homotopy loses the branch (large alpha, small d).
    """
    check_on_failure(on_failure)
    a = as_param("alpha", alpha, positive=True)
    g = as_param("gamma", gamma, positive=True)
    k = as_param("kappa", kappa)
    dd = validate_d(d)
    n = V.integer("n", n, minimum=4)
    neta = V.integer("neta", neta, minimum=2)
    shape = broadcast(alpha=a, gamma=g, kappa=k)
    f = jnp.result_type(float)
    a, g, k = (jnp.broadcast_to(jnp.asarray(v, f), shape) for v in (a, g, k))
    darr = jnp.asarray(dd, f)
    out = _le_grid(a.reshape(-1), g.reshape(-1), k.reshape(-1), darr.reshape(-1), n, neta)

    def reshape(v):
        return v.reshape(shape) if v.ndim == 1 else v.reshape(shape + darr.shape)

    out = jax.tree_util.tree_map(reshape, out)
    return finish_curve(out, on_failure, "cross_entropy.local_entropy",
                        "lower alpha, or move gamma into the range where the minimiser exists")


class OptimalGamma(eqx.Module):
    """Result of :func:`optimal_gamma`: the maximiser ``gamma`` of the local entropy at distance
    ``d``, the maximum ``entropy``, and the scanned ``grid`` with its ``entropies`` (NaN where the
    solve failed)."""

    alpha: jax.Array
    d: jax.Array
    gamma: jax.Array
    entropy: jax.Array
    grid: jax.Array
    entropies: jax.Array


def optimal_gamma(alpha, d, gammas=None, *, kappa=0.0, n: int = DEFAULT_NODES, neta: int = DEFAULT_NETA):
    r"""The :math:`\gamma` whose cross-entropy minimiser has the largest local entropy
    :math:`V(d)` at distance ``d`` (scalar ``alpha`` and ``d``): :func:`local_entropy` on the grid
    ``gammas`` (default 25 points log-spaced in [0.1, 30]), then a parabola through the best grid
    point and its neighbours in :math:`\log\gamma`. Raises ``ValueError`` when fewer than three
    grid points converged or the maximum lies at an end of the grid (widen ``gammas``). Eager
    (NumPy) and not differentiable: a grid search refined by the parabola, as accurate as the
    grid spacing in :math:`\log\gamma` allows."""
    if np.ndim(alpha) or np.ndim(d):
        raise ValueError("optimal_gamma takes a scalar alpha and a scalar d")
    grid = np.geomspace(0.1, 30.0, 25) if gammas is None else np.asarray(gammas, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 3 or np.any(~np.isfinite(grid)) or np.any(grid <= 0) or np.any(np.diff(grid) <= 0):
        raise ValueError("gammas must be an increasing 1-D array of at least 3 positive numbers")
    le = local_entropy(np.full(grid.shape, float(alpha)), grid, float(d), kappa, n=n, neta=neta, on_failure="flag")
    ent = np.asarray(le.entropy, dtype=np.float64)
    ok = np.isfinite(ent)
    if ok.sum() < 3:
        raise ValueError("fewer than three gamma grid points converged; change gammas")
    i = int(np.nanargmax(np.where(ok, ent, -np.inf)))
    if i == 0 or i == grid.size - 1 or not (ok[i - 1] and ok[i + 1]):
        raise ValueError(f"the maximum over gamma lies at the end of the grid (gamma = {grid[i]:.4g}); widen gammas")
    x = np.log(grid[i - 1 : i + 2])
    y = ent[i - 1 : i + 2]
    c2, c1, c0 = np.polyfit(x, y, 2)
    xs = -c1 / (2.0 * c2) if c2 < 0 else x[1]
    xs = float(np.clip(xs, x[0], x[2]))
    best = float(np.exp(xs))
    val = float(np.polyval([c2, c1, c0], xs))
    return OptimalGamma(np.float64(alpha), np.float64(d), np.float64(best), np.float64(val), grid, np.where(ok, ent, np.nan))
