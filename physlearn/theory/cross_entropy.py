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
entropy of the densest regions), and its maximum over d is the Gardner entropy (there
:math:`\hat P=0`). :func:`optimal_gamma` maximises it over :math:`\gamma` at a given distance.

Solution path: at each distance, a homotopy that switches the patterns on,
:math:`V_s = (\text{entropic}) + s\,\alpha G_E`, :math:`s: 0\to1`, from the exact :math:`s=0`
point (:math:`q=p^2`, :math:`\hat q=a=0`, :math:`\hat P=\operatorname{atanh}p`,
:math:`\tau=p`), by damped Newton on the stationarity conditions, polished by :func:`physlearn.solvers.root`.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm
from .. import solvers
from .._config import eager_x64, is_traced

__all__ = [
    "ce_loss",
    "prox",
    "CEMinimizer",
    "CELocalEntropy",
    "OptimalGamma",
    "minimizer",
    "local_entropy",
    "local_entropy_free_entropy",
    "optimal_gamma",
]

DEFAULT_NODES = 64  # per half line
DEFAULT_NETA = 32
_TOL = 1e-10
_CONVERGED_TOL = 1e-8
_N_HOMOTOPY = 16
_LOG_C = (-12.0, 200.0)  # bracket of log C
_HOMOTOPY_ITERS = 12  # damped Newton iterations per homotopy step


def ce_loss(x, gamma):
    r""":math:`f_\gamma(x) = \log(1+e^{-2\gamma x})/(2\gamma)` (module docstring), stable for any
    :math:`\gamma x`. Composable."""
    return jnp.logaddexp(0.0, -2.0 * gamma * x) / (2.0 * gamma)


def _dloss(x, gamma):
    return -jax.nn.sigmoid(-2.0 * gamma * x)


def _d2loss(x, gamma):
    return 2.0 * gamma * jax.nn.sigmoid(2.0 * gamma * x) * jax.nn.sigmoid(-2.0 * gamma * x)


def prox(z, C, gamma, iters: int = 150):
    r""":math:`\lambda^* = \arg\min_\lambda[f_\gamma(\lambda) + (\lambda-z)^2/(2C)]`: the root of
    :math:`\lambda + Cf'_\gamma(\lambda) = z` (increasing in :math:`\lambda`), in the bracket
    :math:`[z, z + C]`, by Newton from :math:`\max(z, \log(1+2\gamma C)/(2\gamma))` with a
    bisection step whenever Newton leaves the bracket (so ``iters`` = 100 also covers
    :math:`\gamma C\sim10^{10}`). Composable; differentiable (implicit-function form of the last
    step)."""
    lo, hi = z, z + C
    start = jnp.clip(jnp.maximum(z, jnp.log1p(2.0 * gamma * C) / (2.0 * gamma)), lo, hi)

    def body(_, c):
        lam, lo, hi = c
        r = lam + C * _dloss(lam, gamma) - z
        lo = jnp.where(r < 0, lam, lo)
        hi = jnp.where(r < 0, hi, lam)
        new = lam - r / (1.0 + C * _d2loss(lam, gamma))
        ok = (new > lo) & (new < hi)
        return jnp.where(ok, new, 0.5 * (lo + hi)), lo, hi

    lam, _, _ = jax.lax.fori_loop(0, iters, body, (start, lo, hi))
    lam = jax.lax.stop_gradient(lam)
    # one Newton step with live parameters: exact value, exact derivatives (implicit function)
    r = lam + C * _dloss(lam, gamma) - z
    return lam - r / (1.0 + C * _d2loss(lam, gamma))


def _line(n, dtype):
    zu, wu = nm.half_line_rule(jnp.zeros((), dtype), n)
    return jnp.concatenate([zu, -zu]), jnp.concatenate([wu, wu])


# --------------------------------------------------------------------------------------------
# The minimiser
# --------------------------------------------------------------------------------------------
class CEMinimizer(eqx.Module):
    r"""Zero-temperature RS minimiser of the cross-entropy loss (:func:`minimizer`).

    ``C``: :math:`\beta(1-q)`; ``R_hat``: :math:`\hat q/\beta^2=2/(\pi C^2)`; ``energy``: the loss
    per pattern :math:`\mathbb E f_\gamma(\lambda^*)`; ``errors``: training error
    :math:`P(\lambda^*<0)` (fraction of patterns); ``mean_stability``: :math:`\mathbb E\lambda^*`;
    ``converged``, ``residual``, ``n_steps``."""

    alpha: jax.Array
    gamma: jax.Array
    C: jax.Array
    R_hat: jax.Array
    energy: jax.Array
    errors: jax.Array
    mean_stability: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


def _c_residual(x, args):
    alpha, gamma, n = args
    C = jnp.exp(x)
    z, w = _line(n, C.dtype)
    lam = prox(z, C, gamma)
    return alpha * jnp.sum(w * (lam - z) ** 2) / (2.0 / math.pi) - 1.0


def _minimizer_point(alpha, gamma, n):
    dt = jnp.result_type(alpha, float)
    sol = solvers.root(lambda x, a: _c_residual(x, (a[0], a[1], n)), jnp.zeros((), dt), (alpha, gamma),
                       method="bisection", lower=_LOG_C[0], upper=_LOG_C[1], tol=1e-12, max_steps=200)
    C = jnp.exp(sol.value)
    z, w = _line(n, dt)
    lam = prox(z, C, gamma)
    # errors: the stability crosses 0 at z_0 = C f'(0) ... = -C/2 (lambda = 0 solves 0 - C/2 = z)
    errors = nm.H(C / 2.0)
    res = jnp.abs(_c_residual(jax.lax.stop_gradient(sol.value), (alpha, gamma, n)))
    inside = (sol.value > _LOG_C[0] + 0.5) & (sol.value < _LOG_C[1] - 0.5)
    ok = sol.converged & (res < _CONVERGED_TOL) & inside
    return CEMinimizer(alpha, gamma, C, 2.0 / (math.pi * C * C), jnp.sum(w * ce_loss(lam, gamma)), errors,
                       jnp.sum(w * lam), ok, res, sol.n_steps)


@functools.partial(jax.jit, static_argnames=("n",))
def _minimizer_grid(alpha, gamma, n):
    return jax.vmap(lambda a, g: _minimizer_point(a, g, n))(alpha, gamma)


def _as_positive(name, x):
    if is_traced(x):
        return x
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real number or array of real numbers, got {x!r}")
    arr = arr.astype(np.float64)
    if np.isnan(arr).any() or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN), got {x!r}")
    if (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got min {arr.min():.6g}")
    return arr


def _check_on_failure(on_failure):
    if on_failure not in ("raise", "flag"):
        raise ValueError(f"on_failure must be 'raise' or 'flag', got {on_failure!r}")


def _flag(sol, keep):
    conv = sol.converged

    def nanify(name, v):
        if name in keep or not jnp.issubdtype(jnp.asarray(v).dtype, jnp.floating):
            return v
        extra = tuple(range(jnp.ndim(v), jnp.ndim(conv)))
        mask = conv if not extra else jnp.any(conv, axis=extra)
        return jnp.where(mask, v, jnp.nan)

    import dataclasses

    return type(sol)(**{f.name: nanify(f.name, getattr(sol, f.name)) for f in dataclasses.fields(sol)})


def _finish(sol, on_failure, what, params, hint, keep):
    if on_failure == "raise" and not is_traced(sol.converged):
        solvers.raise_if_not_converged(sol, what, params, hint)
    return _flag(sol, keep)


def _count(name, v, minimum):
    import numbers

    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


@eager_x64
def minimizer(alpha, gamma, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> CEMinimizer:
    r"""Zero-temperature RS minimiser of the cross-entropy loss :math:`\sum_\mu f_\gamma(\Delta^\mu)`
    over binary weights (module docstring): solves
    :math:`\alpha\,\mathbb E_z[(\mathrm{prox}_{Cf_\gamma}(z)-z)^2] = 2/\pi` for C by bisection in
    :math:`\log C`, and returns the energy (loss per pattern), the training error
    :math:`P(\lambda^*<0) = H(C/2)` and the stability statistics.

    Args:
        alpha, gamma: load and loss parameter (> 0), broadcast against each other.
        n: quadrature nodes per half line.
        on_failure: ``"raise"`` or ``"flag"`` (NaN values, ``converged=False``).
    """
    _check_on_failure(on_failure)
    a = _as_positive("alpha", alpha)
    g = _as_positive("gamma", gamma)
    n = _count("n", n, 4)
    f = jnp.result_type(float)
    a, g = jnp.broadcast_arrays(jnp.asarray(a, f), jnp.asarray(g, f))
    out = _minimizer_grid(a.reshape(-1), g.reshape(-1), n)
    out = jax.tree_util.tree_map(lambda v: v.reshape(a.shape), out)
    return _finish(out, on_failure, "cross_entropy.minimizer", {"alpha": out.alpha, "gamma": out.gamma},
                   "lower alpha or gamma", ("alpha", "gamma", "converged", "residual", "n_steps"))


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


def _nodes(n, neta, dtype):
    zh, wh = nm.half_line_rule(jnp.zeros((), dtype), n)  # z0 > 0 (entropic)
    zl, wl = _line(n, dtype)  # full line (energetic)
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
    ``d`` from the cross-entropy minimiser of :func:`minimizer` (``alpha``, ``gamma``). Composable;
    stationary at the solution of :func:`local_entropy`."""
    dt = jnp.result_type(d, alpha, gamma, float)
    mini = _minimizer_point(jnp.asarray(alpha, dt), jnp.asarray(gamma, dt), n)
    ref = _Ref(jnp.asarray(alpha, dt), 1.0 - 2.0 * jnp.asarray(d, dt), jnp.asarray(kappa, dt), mini.C, mini.R_hat,
               jnp.asarray(gamma, dt), jnp.ones((), dt))
    return _value(jnp.asarray(theta, dt), ref, _nodes(n, neta, dt))


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


class CELocalEntropy(eqx.Module):
    r"""Local entropy of the margin-:math:`\kappa` solutions around the cross-entropy minimiser
    (:func:`local_entropy`). Shapes: ``alpha, gamma, C, errors`` ``P``; the rest ``P + d.shape``.

    ``entropy``: :math:`V(d)` (log-number per weight); ``h2``: :math:`H_2(d)`, its
    :math:`\alpha=0` value and upper bound; ``q, tau, p_hat, q_hat, a``: order parameters
    (``p_hat`` is :math:`\hat P`, the field towards the reference: positive where the distance
    constraint binds, zero at the maximum of V; ``a`` the coupling to the reference's cavity
    field); ``C``, ``errors``: the minimiser's :math:`\beta(1-q)` and training error;
    ``converged``, ``residual``, ``n_steps``."""

    alpha: jax.Array
    gamma: jax.Array
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


def _h2(d):
    return -(jax.scipy.special.xlogy(d, d) + jax.scipy.special.xlog1py(1.0 - d, -d))


def _damped_newton(fn, x, args, iters):
    """Newton with backtracking on |F| (steps 1, 1/2, ..., 1/16; the best finite one that
    decreases |F|): the pre-solve of each homotopy step (plain Newton's basin is narrow here)."""
    ts = jnp.asarray([1.0, 0.5, 0.25, 0.125, 0.0625], x.dtype)

    def body(_, x):
        F = fn(x, args)
        J = jax.jacfwd(fn)(x, args)
        step = jnp.linalg.solve(J, -F)
        cand = x[None] + ts[:, None] * step[None]
        norms = jax.vmap(lambda c: jnp.max(jnp.abs(fn(c, args))))(cand)
        norms = jnp.where(jnp.isfinite(norms) & jnp.all(jnp.isfinite(cand), axis=-1), norms, jnp.inf)
        best = jnp.argmin(norms)
        better = norms[best] < jnp.max(jnp.abs(F))
        return jnp.where(better, cand[best], x)

    return jax.lax.fori_loop(0, iters, body, x)


def _le_point(alpha, gamma, kappa, d, mini, nodes):
    """One distance: the homotopy in the patterns' weight from the exact pattern-free point
    (damped Newton at every step), then a Newton polish through the solver engine."""
    dt = d.dtype
    p = 1.0 - 2.0 * d

    def ref_at(s):
        return _Ref(alpha, p, kappa, mini.C, mini.R_hat, gamma, s)

    r0 = ref_at(jnp.zeros((), dt))
    s_path = (jnp.arange(1, _N_HOMOTOPY + 1, dtype=dt) / _N_HOMOTOPY) ** 2

    def hom(x, s):
        return _damped_newton(_equations, x, (ref_at(s), nodes), _HOMOTOPY_ITERS), None

    x, _ = jax.lax.scan(hom, jax.lax.stop_gradient(_to_x(_start(r0), r0)), s_path)
    ref = ref_at(jnp.ones((), dt))
    sol = solvers.root(_equations, jax.lax.stop_gradient(x), (ref, nodes), method="newton", tol=_TOL, max_steps=30)
    theta = _from_x(sol.value, ref)
    val = _value(theta, ref, nodes)
    ok = sol.converged & mini.converged & jnp.isfinite(val)
    return theta, val, ok, sol.residual, sol.n_steps


def _le_curve(alpha, gamma, kappa, d, mini, n, neta):
    nodes = _nodes(n, neta, d.dtype)
    return jax.vmap(lambda dd: _le_point(alpha, gamma, kappa, dd, mini, nodes))(d)


@functools.partial(jax.jit, static_argnames=("n", "neta"))
def _le_grid(alpha, gamma, kappa, d, n, neta):
    def one(a, g, k):
        mini = _minimizer_point(a, g, n)
        theta, val, ok, res, steps = _le_curve(a, g, k, d, mini, n, neta)
        return CELocalEntropy(a, g, d, val, _h2(d), theta[:, 0], theta[:, 1], theta[:, 2], theta[:, 3],
                              theta[:, 4], mini.C, mini.errors, ok, res, steps)

    return jax.vmap(one)(alpha, gamma, kappa)


def _as_d(d):
    if is_traced(d):
        return d
    arr = np.asarray(d)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"d must be a real number or 1-D array, got {d!r}")
    arr = arr.astype(np.float64)
    if arr.ndim > 1:
        raise ValueError(f"d must be a scalar or a 1-D array of distances, got shape {arr.shape}")
    if np.isnan(arr).any() or ((arr <= 0) | (arr >= 0.5)).any():
        raise ValueError(f"d must lie in (0, 1/2) without NaN, got {d!r}")
    return arr


@eager_x64
def local_entropy(alpha, gamma, d, kappa=0.0, *, n: int = DEFAULT_NODES, neta: int = DEFAULT_NETA,
                  on_failure: str = "raise") -> CELocalEntropy:
    r"""Local entropy :math:`V(d)` of the margin-``kappa`` solutions of the binary perceptron at
    distance ``d`` from the minimiser of the cross-entropy loss :math:`f_\gamma` (module
    docstring; Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)): the Franz--Parisi potential
    with a frozen reference drawn from the :math:`\beta\to\infty` cross-entropy measure.

    Solved at each distance by a homotopy in the patterns' weight from the exact pattern-free
    point (16 steps, damped Newton with backtracking at each), then a Newton polish through
    :func:`physlearn.solvers.root` (implicit derivatives). Compare with :func:`physlearn.theory.local_entropy.binary` (the densest regions,
    an upper bound) and :func:`physlearn.theory.franz_parisi.binary` (typical solutions).

    Args:
        alpha, gamma, kappa: broadcast against each other (shape ``P``); ``alpha, gamma > 0``.
        d: scalar or 1-D array in (0, 1/2); results have shape ``P + d.shape``.
        n, neta: quadrature nodes (per half line; Gauss--Hermite).
        on_failure: ``"raise"`` or ``"flag"`` (NaN values, ``converged=False``).
    """
    _check_on_failure(on_failure)
    a = _as_positive("alpha", alpha)
    g = _as_positive("gamma", gamma)
    if not is_traced(kappa):
        k = np.asarray(kappa, dtype=np.float64)
        if np.isnan(k).any() or not np.isfinite(k).all():
            raise ValueError(f"kappa must be finite, got {kappa!r}")
    else:
        k = kappa
    dd = _as_d(d)
    n = _count("n", n, 4)
    neta = _count("neta", neta, 2)
    f = jnp.result_type(float)
    a, g, k = jnp.broadcast_arrays(jnp.asarray(a, f), jnp.asarray(g, f), jnp.asarray(k, f))
    darr = jnp.asarray(dd, f)
    out = _le_grid(a.reshape(-1), g.reshape(-1), k.reshape(-1), darr.reshape(-1), n, neta)

    def reshape(v):
        return v.reshape(a.shape) if v.ndim == 1 else v.reshape(a.shape + darr.shape)

    out = jax.tree_util.tree_map(reshape, out)
    alpha_b = out.alpha[..., None] if darr.ndim else out.alpha
    return _finish(out, on_failure, "cross_entropy.local_entropy", {"alpha": alpha_b, "d": out.d},
                   "lower alpha, or move gamma into the range where the minimiser exists",
                   ("alpha", "gamma", "d", "h2", "converged", "residual", "n_steps"))


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
    grid points converged or the maximum lies at an end of the grid (widen ``gammas``)."""
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
