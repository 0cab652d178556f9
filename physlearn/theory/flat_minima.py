r"""Wide flat minima of tree committee and parity machines with continuous weights: the local
volume of the solution space around a reference, as a function of the distance, around typical
solutions (Franz--Parisi) and around the densest regions (the large-deviation limit).

Reference: C. Baldassi, F. Pittorino, R. Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 117, 161 (2020), arXiv:1905.07833 (and C. Baldassi's
IPAM 2019 talk): the normalised local volume of committee machines from the 1RSB formalism with
the intra-state overlap :math:`q_1` held fixed, the Parisi parameter :math:`y\to\infty` and no
energy on the reference; parity machines have no wide flat minima. The large-K forms are those
of E. Barkai, D. Hansel, H. Sompolinsky, PRA 45, 4146 (1992).

**Model.** A tree machine with K hidden units, each with its own :math:`N/K` inputs and
continuous weights on the sphere :math:`|W_l|^2 = N/K`; hidden fields
:math:`\lambda_l = W_l\cdot\xi_l/\sqrt{N/K}`, output :math:`\mathrm{sign}\sum_l\mathrm{sign}
\lambda_l` (``machine="committee"``, K odd) or :math:`\prod_l\mathrm{sign}\lambda_l`
(``"parity"``); :math:`P=\alpha N` random patterns (gauge: every label +1). K = 1 is the
spherical perceptron at zero margin. Every quantity is per weight and natural-log.

**Channel.** With the hidden fields Gaussian, :math:`\lambda_l\sim\mathcal N(\omega_l, V)`, the
probability that the output is right is

.. math:: Z_K(\omega; V) = \sum_{\tau\in T_+}\prod_l H(-\tau_l\omega_l/\sqrt V),

:math:`T_+` the internal representations with a correct output (:math:`2^{K-1}` of them). It is
evaluated as a log-sum-exp over :math:`T_+` (closed-form gradient and Hessian) for
:math:`K\le11` and by a dynamic programme over the vote count beyond.

**Local volume around the densest regions** (``reference="dense"``). The 1RSB free entropy with
Parisi parameter y, overlaps :math:`q_0<q_1`, at fixed :math:`q_1` and
:math:`y\to\infty` with :math:`\delta q = y(q_1-q_0)` finite (the Laplace limit of the inner
integral; the reference carries no energy, :math:`\beta=0`) is

.. math::

    \Phi(\delta q; q_1) = \tfrac12\Big[\log(1-q_1) + \frac{q_1}{1-q_1+\delta q}\Big]
        + \alpha\,\mathbb E_{z\in\mathbb R^K}\max_{w\in\mathbb R^K}
        \Big[\log Z_K\big(\sqrt{q_1}z+\sqrt{\delta q}\,w;\ 1-q_1\big)-\tfrac12|w|^2\Big],

stationary in :math:`\delta q` (a minimum). The reference is the centre of the replicas; at the
maximum of the local volume the replicas' mean is parallel to it, so :math:`q_1=p^2` with
:math:`p = 1-2d` the overlap with the (normalised) reference: ``d`` has the meaning of
:func:`physlearn.theory.franz_parisi.spherical`, and the :math:`\alpha=0` value is the cap
:math:`\frac12\log(1-p^2)`. The **normalised local volume** is :math:`\Phi-\frac12\log(1-p^2)\le0`.
The branch exists for :math:`d<d_{\rm end}=(1-\sqrt{\tilde q})/2` (:math:`\tilde q` the RS
overlap of typical solutions), where :math:`\delta q\to0` and it joins the total volume.

**Local volume around typical solutions** (``reference="typical"``): the Franz--Parisi potential
of :func:`physlearn.theory.franz_parisi.spherical` with the committee channel,

.. math::

    V(q,t) = \tfrac12\Big[\log(1-q)+\frac{q-s}{1-q}\Big] + \alpha\,\mathbb E\Big[
        \log Z_K\big(c_0z_0+c_1x+\sqrt{q-c_0^2-c_1^2}\,\eta;\ 1-q\big)\Big],

:math:`s=[p^2-t^2-\tilde q(p-t)^2/(1-\tilde q)]/(1-\tilde q)`, :math:`c_0=t/\sqrt{\tilde q}`,
:math:`c_1=(p-t)/\sqrt{1-\tilde q}`, the expectation over :math:`z_0,\eta\in\mathbb R^K` and the
reference's own fields :math:`\sqrt{\tilde q}z_0+\sqrt{1-\tilde q}x` conditioned to satisfy the
machine, with :math:`\tilde q` the RS Gardner overlap of the machine (:func:`gardner`).

**Large K.** For :math:`K\to\infty` the output field of a committee is Gaussian across replicas
with covariance :math:`f(Q)=\frac2\pi\arcsin Q` of the hidden overlaps: every energetic term is
the K = 1 term at the mapped overlaps (:math:`q_1\to f(q_1)`, :math:`\delta q\to f'(q_1)\delta q`,
and :math:`q,t,p,\tilde q\to f(\cdot)`), while the entropic terms are unchanged. For the parity
machine :math:`f(Q)^K\to0`: the outputs of different replicas decorrelate and every energetic
term is :math:`-\log2` per pattern, so both normalised curves are flat at :math:`-\alpha\log2`.
``K=math.inf`` selects these forms.

**Integration.** K = 1 and :math:`K=\infty` use Gauss quadrature (split at the kink, a truncated
rule for the reference's field); finite :math:`K>1` uses randomised quasi Monte Carlo (scrambled
Sobol points, ``samples`` of them in 8 independent randomisations, fixed by ``seed``): the
functionals are then smooth deterministic functions and ``mc_error`` is the standard error of the
result over the randomisations (at a saddle point the error of the value is that of the
functional, to first order). The inner maximisation over :math:`w` is a Newton ascent
(Cholesky, Gershgorin-damped when not concave, line search) from the previous solution and from
the decoupled guess (each unit's own K = 1 envelope, the best representation); derivatives
through it use the implicit-function form of the argmax (a Newton correction step, refused for a
sample where it would lower the objective).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from .. import _validation, solvers
from .. import numerics as nm
from .._config import eager_x64, theory_jit
from ._envelopes import u_of
from ._inputs import (
    TheoryResult,
    as_param,
    check_on_failure,
    finish,
    finish_curve,
    point_map,
    validate_d,
)

__all__ = [
    "MACHINES",
    "REFERENCES",
    "LocalVolume",
    "TreeGardner",
    "dense_free_entropy",
    "gardner",
    "gardner_free_entropy",
    "local_volume",
    "log_channel",
    "typical_free_entropy",
]

MACHINES = ("committee", "parity")
REFERENCES = ("dense", "typical")

DEFAULT_NODES = 64  # 1-D rules: nodes per half line
DEFAULT_NX = 24  # truncated rule for the reference's field (K = 1, inf)
DEFAULT_NETA = 24  # Gauss--Hermite nodes for eta (K = 1, inf)
DEFAULT_SAMPLES = 2**13  # quasi Monte Carlo points (finite K > 1)
_RANDOMISATIONS = 8
_MAX_K_ENUM = 11  # representation sum up to K = 11 (1024 terms), count DP beyond
_MAX_K_DENSE = 11
_NEG = -1e30
_VAR_FLOOR = 1e-13
_STEP_SLACK = 1e-9  # an inner correction step may lower the objective by rounding only
_TOL = 1e-10
_CONVERGED_TOL = 1e-8
_INNER_WARM = 8  # at most, Newton steps of the inner maximisation per outer iteration (each start)
_INNER_COLD = 6
_INNER_TOL = 1e-12  # the inner ascent stops when every sample's gradient is below this
_OUTER_MAX = 60
_X_LO, _X_HI = -18.0, 12.0  # bracket of log(delta q)


# --------------------------------------------------------------------------------------------
# Static description of a computation
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Spec:
    K: float  # int, or math.inf
    machine: str
    samples: int
    seed: int
    n: int
    nx: int
    neta: int

    @property
    def infinite(self):
        return math.isinf(self.K)

    @property
    def k(self):
        """Units the integrals see: K, or 1 for the large-K forms."""
        return 1 if self.infinite else int(self.K)

    @property
    def mc(self):
        return not self.infinite and self.K > 1

    @property
    def paramagnetic(self):
        """Parity with K >= 2: the typical overlap is 0 (the RS solution; module docstring)."""
        return self.machine == "parity" and self.K > 1


def _arcsin_map(q):
    return (2.0 / math.pi) * jnp.arcsin(q)


def _arcsin_slope(q):
    return (2.0 / math.pi) / jnp.sqrt(1.0 - q * q)


# --------------------------------------------------------------------------------------------
# The channel
# --------------------------------------------------------------------------------------------
@functools.cache
def _representations(K: int, machine: str) -> np.ndarray:
    """Rows: the internal representations with a correct output (1 = the unit votes +1)."""
    rows = np.array(list(itertools.product([0.0, 1.0], repeat=K)), dtype=np.float64)
    if machine == "committee":
        keep = rows.sum(axis=1) > K / 2
    else:
        keep = (K - rows.sum(axis=1)) % 2 == 0
    out = rows[keep]
    out.setflags(write=False)
    return out


@functools.cache
def _rep_pairs(K: int, machine: str) -> np.ndarray:
    B = _representations(K, machine)
    out = (B[:, :, None] * B[:, None, :]).reshape(B.shape[0], K * K)
    out.setflags(write=False)
    return out


def _unit_logs(omega, V):
    x = omega / jnp.sqrt(V)
    return nm.log_H(-x), nm.log_H(x)


def _log_channel_dp(lp, lq, machine):
    """Count (committee) / parity dynamic programme in log space, any K."""
    K = lp.shape[-1]
    if machine == "parity":
        even = jnp.zeros(lp.shape[:-1], lp.dtype)
        odd = jnp.full(lp.shape[:-1], _NEG, lp.dtype)
        for l in range(K):
            even, odd = (jnp.logaddexp(even + lp[..., l], odd + lq[..., l]),
                         jnp.logaddexp(even + lq[..., l], odd + lp[..., l]))
        return even
    L = nm.log_count_distribution(lp, lq)
    return jax.scipy.special.logsumexp(L[..., (K + 1) // 2 :], axis=-1)


def log_channel(omega, V, machine: str = "committee"):
    r""":math:`\log Z_K(\omega;V)`: the log-probability that a tree machine with hidden fields
    :math:`\lambda_l\sim\mathcal N(\omega_l,V)` (independent; ``omega`` of shape ``(..., K)``)
    outputs +1 -- the committee vote or the parity of the signs (module docstring). K = 1 is
    :math:`\log H(-\omega/\sqrt V)`. Composable (jit, vmap, grad)."""
    omega = jnp.asarray(omega, dtype=jnp.result_type(omega, float))
    K = omega.shape[-1]
    lp, lq = _unit_logs(omega, V)
    if K <= _MAX_K_ENUM:
        B = jnp.asarray(_representations(K, machine), omega.dtype)
        return jnp.sum(lq, axis=-1) + jax.scipy.special.logsumexp((lp - lq) @ B.T, axis=-1)
    return _log_channel_dp(lp, lq, machine)


def _channel_derivs(omega, V, machine):
    """Value, gradient and Hessian of :func:`log_channel` in ``omega`` (closed form from the
    representation sum; ``omega (S, K)``, K <= 11)."""
    K = omega.shape[-1]
    B = jnp.asarray(_representations(K, machine), omega.dtype)
    BB = jnp.asarray(_rep_pairs(K, machine), omega.dtype)
    sv = jnp.sqrt(V)
    x = omega / sv
    lp, lq = nm.log_H(-x), nm.log_H(x)
    Ap, Aq = nm.GH(-x), nm.GH(x)
    dlp, dlq = Ap / sv, -Aq / sv
    d2lp, d2lq = -nm.GH_prime(-x) / V, -nm.GH_prime(x) / V
    e = (lp - lq) @ B.T
    mx = jnp.max(e, axis=-1, keepdims=True)
    r = jnp.exp(e - mx)
    tot = jnp.sum(r, axis=-1, keepdims=True)
    r = r / tot
    val = jnp.sum(lq, axis=-1) + mx[..., 0] + jnp.log(tot[..., 0])
    m = r @ B
    cov = (r @ BB).reshape(m.shape + (K,)) - m[..., :, None] * m[..., None, :]
    da = dlp - dlq
    grad = dlq + m * da
    hess = da[..., :, None] * cov * da[..., None, :]
    hess = hess + jnp.eye(K, dtype=omega.dtype) * (d2lq + m * (d2lp - d2lq))[..., None, :]
    return val, grad, hess


# --------------------------------------------------------------------------------------------
# Integration rules
# --------------------------------------------------------------------------------------------
def _line_rule(n, dtype):
    """Nodes/weights for int Dz f(z), split at z = 0 (the kink of zero-margin integrands)."""
    zu, wu = nm.half_line_rule(jnp.zeros((), dtype), n)
    return jnp.concatenate([zu, -zu]), jnp.concatenate([wu, wu])


@functools.cache
def _sobol_normals(dim: int, samples: int, seed: int) -> np.ndarray:
    """``(R, samples // R, dim)`` standard normals from R independently scrambled Sobol
    sequences (randomised QMC)."""
    per = samples // _RANDOMISATIONS
    blocks = []
    for r in range(_RANDOMISATIONS):
        u = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng([seed, r])).random(per)
        blocks.append(ndtri(np.clip(u, 1e-15, 1.0 - 1e-15)))
    out = np.stack(blocks)
    out.setflags(write=False)
    return out


def _qmc_normals(dim, spec, dtype):
    """:func:`_sobol_normals` as an array of ``dtype`` behind an optimisation barrier: the
    samples are a constant of the program, and without the barrier XLA's constant folding
    evaluates every sample-wise operation on them at compile time (seconds per program for
    K = 9); with it they are computed when the program runs."""
    return jax.lax.optimization_barrier(jnp.asarray(_sobol_normals(dim, spec.samples, spec.seed), dtype))


def _group_error(estimates):
    """Standard error of the mean of the randomisations' estimates ``(R,)``."""
    return jnp.std(estimates, ddof=1) / math.sqrt(estimates.shape[0])


# --------------------------------------------------------------------------------------------
# RS Gardner volume of the tree machine (the typical reference)
# --------------------------------------------------------------------------------------------
def _rs_energy(q, spec, groups=False):
    """E_z log Z_K(sqrt(q) z; 1 - q) (mapped for K = inf); with ``groups`` also the per-sample
    values as ``(R, per)`` (MC) for error bars."""
    dt = jnp.result_type(q, float)
    if spec.infinite:
        if spec.machine == "parity":
            val = jnp.full((), -math.log(2.0), dt)
            return (val, None) if groups else val
        q = _arcsin_map(q)
    if not spec.mc:
        z, w = _line_rule(spec.n, dt)
        vals = log_channel((jnp.sqrt(q) * z)[:, None], 1.0 - q, spec.machine)
        val = jnp.sum(w * vals)
        return (val, None) if groups else val
    z = _qmc_normals(spec.k, spec, dt)
    vals = jnp.concatenate([log_channel(jnp.sqrt(q) * z, 1.0 - q, spec.machine),
                            log_channel(-jnp.sqrt(q) * z, 1.0 - q, spec.machine)], axis=-1)
    val = jnp.mean(vals)
    return (val, vals) if groups else val


def gardner_free_entropy(q, alpha, *, K=1, machine="committee", samples=DEFAULT_SAMPLES, seed=0,
                         n=DEFAULT_NODES):
    r"""RS free entropy of the tree machine (Gardner volume per weight),
    :math:`\phi(q) = \frac12[\log(1-q)+q/(1-q)] + \alpha\,\mathbb E_z\log Z_K(\sqrt q z;1-q)`
    (module docstring; :math:`K=\infty` maps the energetic overlap to :math:`\frac2\pi\arcsin q`).
    Composable; stationary at the RS saddle point."""
    spec = _make_spec(K, machine, samples, seed, n, DEFAULT_NX, DEFAULT_NETA)
    return _rs_phi(q, alpha, spec)


def _rs_phi(q, alpha, spec):
    return 0.5 * (jnp.log1p(-q) + q / (1.0 - q)) + alpha * _rs_energy(q, spec)


class TreeGardner(TheoryResult):
    """RS Gardner volume of a tree committee / parity machine (:func:`gardner`).

    ``q``: overlap of two typical solutions (0 for the parity machine, K >= 2); ``entropy``: log
    volume per weight relative to the sphere; ``mc_error``: its quasi Monte Carlo standard error
    (0 for quadrature); ``converged``, ``result`` (:class:`~physlearn.solvers.RESULTS`),
    ``residual``, ``n_steps``: solver diagnostics."""

    INPUTS = ("alpha",)
    alpha: jax.Array
    q: jax.Array
    entropy: jax.Array
    mc_error: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


def _rs_point(alpha, spec):
    dt = jnp.result_type(alpha, float)
    if spec.paramagnetic:
        zero = jnp.zeros((), dt)
        ent = alpha * _rs_energy(zero, spec)
        ok = solvers.RESULTS.successful
        return TreeGardner(alpha, zero, ent, zero, jnp.ones((), bool), zero, jnp.zeros((), jnp.int32),
                           jnp.asarray(ok, jnp.int32))

    def residual(x, a):
        q = jax.nn.sigmoid(x)
        return jax.grad(_rs_phi)(q, a, spec) * q * (1.0 - q)

    sol = solvers.root(residual, jnp.zeros((), dt), alpha, method="bisection", lower=-30.0, upper=30.0,
                       tol=1e-12, max_steps=200)
    q = jax.nn.sigmoid(sol.value)
    val, vals = _rs_energy(q, spec, groups=True)
    ent = 0.5 * (jnp.log1p(-q) + q / (1.0 - q)) + alpha * val
    err = jnp.zeros((), dt) if vals is None else alpha * _group_error(jnp.mean(vals, axis=-1))
    res = jnp.abs(jax.grad(_rs_phi)(jax.lax.stop_gradient(q), alpha, spec))
    result = solvers.combine(sol.result, solvers.from_checks(jnp.isfinite(ent), res < _CONVERGED_TOL))
    return TreeGardner(alpha, q, ent, err, result == 0, res, sol.n_steps, result)


@theory_jit(static_argnames=("spec",))
def _rs_grid(alpha, spec):
    return jax.vmap(lambda a: _rs_point(a, spec))(alpha)


# --------------------------------------------------------------------------------------------
# Dense regions: the y -> infinity limit at fixed q1
# --------------------------------------------------------------------------------------------
def _dense_geometry(q1, dq, spec):
    """(sqrt of the energetic overlap, sqrt of the energetic delta q, energetic variance)."""
    if spec.infinite:
        Q1 = _arcsin_map(q1)
        dQ = _arcsin_slope(q1) * dq
        return jnp.sqrt(Q1), jnp.sqrt(dQ), 1.0 - Q1
    return jnp.sqrt(q1), jnp.sqrt(dq), 1.0 - q1


def _dense_entropic(q1, dq):
    return 0.5 * (jnp.log1p(-q1) + q1 / (1.0 - q1 + dq))


def _envelope_1d(c, kappa):
    r"""K = 1 envelope :math:`\max_u[\log H(u)-(c-u)^2/(2\kappa)]`: the root of
    :math:`u+\kappa A(u)=c` (:func:`physlearn.theory._envelopes.u_of`, Newton until the step is at
    rounding level)."""
    u = u_of(c, kappa)
    return u, nm.log_H(u) - (c - u) ** 2 / (2.0 * kappa)


def _decoupled_start(om0, s, V, machine):
    """Inner start: each unit's own K = 1 envelope for either vote, then the best representation
    (exact as V -> 0)."""
    sv = jnp.sqrt(V)
    kappa = s * s / V
    x0 = om0 / sv
    u_p, m_p = _envelope_1d(-x0, kappa)  # vote +1: maximise log H(-x) - (x - x0)^2 / (2 kappa), x = -u
    u_m, m_m = _envelope_1d(x0, kappa)  # vote -1: x = u
    gain = m_p - m_m
    K = om0.shape[-1]
    if machine == "committee":
        need = (K + 1) // 2
        kth = -jnp.sort(-gain, axis=-1)[..., need - 1 : need]
        plus = (gain > 0) | (gain >= kth)
    else:
        plus = gain > 0
        odd = (jnp.sum(~plus, axis=-1) % 2) == 1
        weakest = jnp.argmin(jnp.abs(gain), axis=-1)
        flip = odd[..., None] & (jnp.arange(K) == weakest[..., None])
        plus = jnp.where(flip, ~plus, plus)
    omega = jnp.where(plus, -u_p * sv, u_m * sv)
    return (omega - om0) / s


def _inner_objective(w, om0, s, V, machine):
    return log_channel(om0 + s * w, V, machine) - 0.5 * jnp.sum(w * w, axis=-1)


def _inner_newton(w, om0, s, V, machine, iters):
    """Safeguarded Newton ascent on every sample's inner problem (:func:`physlearn.solvers.iterate`,
    at most ``iters`` steps, until the gradient of every sample is below ``_INNER_TOL``): Newton
    where the objective is locally concave, else Levenberg--Marquardt with the shift from
    Gershgorin's bound (every eigenvalue of the shifted matrix is >= 1), then the best of a few
    step lengths."""
    K = w.shape[-1]
    eye = jnp.eye(K, dtype=w.dtype)
    ts = jnp.asarray([1.0, 0.3, 0.05, 0.0], w.dtype)

    def step(st):
        w, _ = st
        _, g, h = _channel_derivs(om0 + s * w, V, machine)
        grad = s * g - w
        neg = eye - (s * s) * h  # minus the Hessian of the objective
        d_newton, ok = solvers.dense_cholesky_solve(neg, grad)
        diag = jnp.diagonal(neg, axis1=-2, axis2=-1)
        # Gershgorin: every eigenvalue of neg is >= min_i(neg_ii - sum_{j!=i}|neg_ij|)
        low = jnp.min(2.0 * diag - jnp.sum(jnp.abs(neg), axis=-1), axis=-1)
        shift = jnp.where(ok, 0.0, jnp.maximum(-low, 0.0) + 1.0)
        d_shifted, _ = solvers.dense_cholesky_solve(neg + shift[..., None, None] * eye, grad)
        d = jnp.where(ok[..., None], d_newton, d_shifted)
        # a non-finite direction or trial value is never taken (argmax would pick a NaN, and
        # w + 0 * NaN is NaN): such a sample keeps its point
        d = jnp.where(jnp.all(jnp.isfinite(d), axis=-1, keepdims=True), d, 0.0)
        vals = jnp.stack([_inner_objective(w + t * d, om0, s, V, machine) for t in ts])
        vals = jnp.where(jnp.isnan(vals), -jnp.inf, vals)
        best = jnp.argmax(vals, axis=0)
        return w + ts[best][..., None] * d, jnp.max(jnp.abs(grad))

    def done(st):
        return st[1] <= _INNER_TOL

    init = (w, jnp.asarray(jnp.inf, w.dtype))
    (w, _), _, _ = solvers.iterate(step, init, max_steps=iters, done=done)
    return w


def _inner_best(w_warm, om0, s, V, machine, iters):
    """The better of a warm-started and a decoupled-start Newton ascent, per sample (both starts
    run as one batch, so the ascent is traced once)."""
    S = w_warm.shape[0]
    starts = jnp.concatenate([w_warm, _decoupled_start(om0, s, V, machine)], axis=0)
    om2 = jnp.concatenate([om0, om0], axis=0)
    w = _inner_newton(starts, om2, s, V, machine, iters)
    f = _inner_objective(w, om2, s, V, machine)
    return jnp.where((f[S:] > f[:S])[..., None], w[S:], w[:S])


def _dense_nodes(spec, dtype):
    """z nodes ``(S, k)`` and weights ``(S,)``; for MC also the group shape (R, per)."""
    if not spec.mc:
        z, w = _line_rule(spec.n, dtype)
        return z[:, None], w
    z = _qmc_normals(spec.k, spec, dtype)
    R, per, k = z.shape
    return z.reshape(R * per, k), jnp.full((R * per,), 1.0 / (R * per), dtype)


def _dense_phi(x, q1, alpha, w_star, z, wz, spec):
    r""":math:`\Phi(\delta q=e^x; q_1)` with the inner argmax in implicit-function form around the
    (stop-gradient) solution ``w_star``: exact value, exact first and second derivatives at a
    converged inner solution. Returns (value, per-sample envelope values)."""
    dq = jnp.exp(x)
    sq, s, V = _dense_geometry(q1, dq, spec)
    om0 = sq * z
    w0 = jax.lax.stop_gradient(w_star)
    _, _g, h = _channel_derivs(jax.lax.stop_gradient(om0 + s * w0), jax.lax.stop_gradient(V), spec.machine)
    K = w0.shape[-1]
    eye = jnp.eye(K, dtype=w0.dtype)
    neg = eye - jax.lax.stop_gradient(s * s) * h
    _, g_live, _ = _channel_derivs(om0 + s * w0, V, spec.machine)
    grad = s * g_live - w0
    step, concave = solvers.dense_cholesky_solve(neg, grad)
    # the correction is O(|grad|) at a converged maximum; elsewhere keep the point itself. Where
    # the inner ascent stopped short of the maximum the quadratic model can be far off, so a step
    # that lowers the objective is refused (one had turned -0.74 into -2509 for a sample of K = 5,
    # d = 0.03, stalling the curve's delta q search). The choice is made on held values and the
    # value is then evaluated once, live, at the chosen point: a refused step never enters the
    # derivatives, where its non-finite partials would poison them.
    sg = jax.lax.stop_gradient
    step0 = sg(step)
    take = concave & jnp.all(jnp.isfinite(step0), axis=-1)
    f_step = _inner_objective(w0 + jnp.where(take[..., None], step0, 0.0), *sg((om0, s, V)), spec.machine)
    f_kept = _inner_objective(w0, *sg((om0, s, V)), spec.machine)
    take = take & (f_step > f_kept - _STEP_SLACK)
    w_hat = w0 + jnp.where(take[..., None], step, 0.0)
    env = _inner_objective(w_hat, om0, s, V, spec.machine)
    return _dense_entropic(q1, dq) + alpha * jnp.sum(wz * env), env


def dense_free_entropy(dq, q1, alpha, *, K=1, machine="committee", samples=DEFAULT_SAMPLES, seed=0,
                       n=DEFAULT_NODES):
    r"""The :math:`y\to\infty` 1RSB functional :math:`\Phi(\delta q; q_1)` of the module docstring
    (local volume around the densest regions, before the extremisation in :math:`\delta q`), with
    the inner maximisation solved afresh (decoupled start plus Newton). Composable; the
    normalised local volume at the stationary :math:`\delta q` is
    :math:`\Phi-\frac12\log(1-q_1)`."""
    spec = _make_spec(K, machine, samples, seed, n, DEFAULT_NX, DEFAULT_NETA)
    dt = jnp.result_type(dq, q1, alpha, float)
    if spec.infinite and spec.machine == "parity":
        return _dense_entropic(q1, dq) - alpha * math.log(2.0)
    z, wz = _dense_nodes(spec, dt)
    sq, s, V = _dense_geometry(q1, dq, spec)
    om0 = sq * z
    w = _inner_best(jnp.zeros_like(z), om0, s, V, spec.machine, 3 * _INNER_COLD)
    return _dense_phi(jnp.log(dq), q1, alpha, w, z, wz, spec)[0]


def _dense_slope(x, q1, alpha, w, z, wz, spec):
    r""":math:`\partial\Phi/\partial\log\delta q` at fixed inner solutions ``w`` (envelope
    theorem: exact at converged maxima)."""
    sq, _, V = _dense_geometry(q1, 1.0, spec)
    om0 = sq * z

    def f(xx):
        dq = jnp.exp(xx)
        s = _dense_geometry(q1, dq, spec)[1]
        return _dense_entropic(q1, dq) + alpha * jnp.sum(wz * _inner_objective(w, om0, s, V, spec.machine))

    return jax.grad(f)(x)


def _dense_presolve(w0, q1, alpha, z, wz, spec):
    """Bracketed Illinois (modified regula falsi) iteration in x = log(delta q) on the envelope
    slope, re-solving the inner problems from the last argmax at every step (no gradients: the
    polish gives them). Iterations 0 and 1 evaluate the ends of the bracket."""
    q1, alpha = jax.lax.stop_gradient(q1), jax.lax.stop_gradient(alpha)
    sq, _, V = _dense_geometry(q1, 1.0, spec)
    om0 = sq * z
    dt = z.dtype
    x_lo, x_hi = jnp.asarray(_X_LO, dt), jnp.asarray(_X_HI, dt)

    def cond(c):
        lo, hi, g_lo, g_hi, _x, g, _w, _w_best, _side, it = c
        bracketed = (g_lo < 0) & (g_hi > 0)
        return (it < 2) | (bracketed & (it < _OUTER_MAX) & (jnp.abs(g) > 0.1 * _TOL) & (hi - lo > 1e-12))

    def body(c):
        lo, hi, g_lo, g_hi, x, g, w, _w_best, side, it = c
        x = jnp.where(it == 0, x_lo, jnp.where(it == 1, x_hi, (lo * g_hi - hi * g_lo) / (g_hi - g_lo)))
        s = _dense_geometry(q1, jnp.exp(x), spec)[1]
        first = it < 2
        w_new = _inner_best(jnp.where(first, w0, w), om0, s, V, spec.machine, _INNER_WARM)
        g = _dense_slope(x, q1, alpha, w_new, z, wz, spec)
        left = g < 0
        # Illinois: halve the retained end's value when the same end is kept twice in a row
        g_hi = jnp.where(~first & left & (side == -1), 0.5 * g_hi, g_hi)
        g_lo = jnp.where(~first & ~left & (side == 1), 0.5 * g_lo, g_lo)
        g_lo = jnp.where(it == 0, g, jnp.where(first, g_lo, jnp.where(left, g, g_lo)))
        lo = jnp.where(first, lo, jnp.where(left, x, lo))
        g_hi = jnp.where(it == 1, g, jnp.where(first, g_hi, jnp.where(left, g_hi, g)))
        hi = jnp.where(first, hi, jnp.where(left, hi, x))
        side = jnp.where(first, 0, jnp.where(left, -1, 1)).astype(jnp.int32)
        w_keep = jnp.where(first, w0, w_new)  # warm start: the previous point's argmax
        return lo, hi, g_lo, g_hi, x, g, w_keep, w_new, side, it + 1

    inf = jnp.asarray(jnp.inf, dt)
    c0 = (x_lo, x_hi, inf, inf, x_lo, inf, w0, w0, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
    (_, _, _, _, x, _, _, w, _, it), _, _ = solvers.iterate(body, c0, max_steps=_OUTER_MAX + 2,
                                                             done=lambda c: ~cond(c))
    return x, w, it


def _dense_point(w0, q1, alpha, z, wz, spec):
    """One point of the dense curve: presolve, then a Newton polish through the solver engine
    (implicit derivatives). Returns (x, w, value, env values, SaddleSolution)."""
    x, w, it = _dense_presolve(w0, q1, alpha, z, wz, spec)
    wsg = jax.lax.stop_gradient(w)

    def eq(xx, args):
        qq, aa = args
        return jax.grad(lambda y: _dense_phi(y, qq, aa, wsg, z, wz, spec)[0])(xx)

    sol = solvers.root(eq, jax.lax.stop_gradient(x), (q1, alpha), method="newton", tol=_TOL, max_steps=20)
    val, env = _dense_phi(sol.value, q1, alpha, wsg, z, wz, spec)
    inside = (sol.value > _X_LO + 0.5) & (sol.value < _X_HI - 0.5)
    result = solvers.combine(sol.result, solvers.from_checks(jnp.isfinite(val), sol.residual < _CONVERGED_TOL,
                                                             admissible=inside))
    sol = solvers.SaddleSolution(sol.value, result, sol.residual, sol.n_steps + it)
    return x, w, val, env, sol


# --------------------------------------------------------------------------------------------
# Typical references: the Franz--Parisi potential of the tree machine
# --------------------------------------------------------------------------------------------
def _fp_s(t, p, q_ref):
    return (p * p - t * t - q_ref * (p - t) ** 2 / (1.0 - q_ref)) / (1.0 - q_ref)


def _truncated_rule(c, nx):
    r"""Nodes/weights of the normalised Gaussian truncated to :math:`x\ge c` (never forms
    :math:`H(c)`; :math:`x=c+Us^2`, Gauss--Legendre s)."""
    s, ws = nm._gauss_legendre01(nx)
    s = jnp.asarray(s, dtype=jnp.result_type(c, float))
    ws = jnp.asarray(ws, dtype=s.dtype)
    root = jnp.sqrt(c * c + 80.0)
    U = jnp.where(c > 0, 80.0 / (c + root), root - c)
    u = U * s * s
    w = jax.nn.softmax(jnp.log(ws * s) - c * u - 0.5 * u * u)
    return c + u, w


def _fp_nodes(q_ref, spec, dtype):
    r"""Nodes ``(z0, x, eta)`` each ``(S, k)`` and weights ``(S,)`` of the typical-reference
    energetic term at reference overlap ``q_ref`` (the energetic one for K = inf); for MC also
    the number of randomisations."""
    if not spec.mc:
        z0, w0 = _line_rule(spec.n, dtype)
        sq, sr = jnp.sqrt(q_ref), jnp.sqrt(1.0 - q_ref)
        xs, wx = jax.vmap(lambda z: _truncated_rule(-sq * z / sr, spec.nx))(z0)
        eta, we = nm.gauss_hermite(spec.neta)
        eta, we = jnp.asarray(eta, dtype), jnp.asarray(we, dtype)
        n0, nx = xs.shape
        ne = eta.shape[0]
        Z0 = jnp.broadcast_to(z0[:, None, None], (n0, nx, ne)).reshape(-1, 1)
        X = jnp.broadcast_to(xs[:, :, None], (n0, nx, ne)).reshape(-1, 1)
        E = jnp.broadcast_to(eta[None, None, :], (n0, nx, ne)).reshape(-1, 1)
        W = (w0[:, None, None] * wx[:, :, None] * we[None, None, :]).reshape(-1)
        return Z0, X, E, W
    k = spec.k
    base = _qmc_normals(3 * k, spec, dtype)
    R, per, _ = base.shape
    base = base.reshape(R * per, 3 * k)
    h, zeta, eta = base[:, :k], base[:, k : 2 * k], base[:, 2 * k :]
    # condition the reference's own fields on a correct output by a measure-preserving flip
    if spec.machine == "committee":
        h = jnp.where((jnp.sum(jnp.sign(h), axis=-1) < 0)[:, None], -h, h)
    else:
        odd = jnp.prod(jnp.sign(h), axis=-1) < 0
        h = h.at[:, 0].set(jnp.where(odd, -h[:, 0], h[:, 0]))
    sq, sr = jnp.sqrt(q_ref), jnp.sqrt(1.0 - q_ref)
    z0 = sq * h + sr * zeta
    x = sr * h - sq * zeta
    # weight 1 / (2 P(reference correct | z0)), self-normalised within each randomisation
    logw = -log_channel(sq * z0, 1.0 - q_ref, spec.machine)
    w = jax.nn.softmax(logw.reshape(R, per), axis=-1).reshape(-1) / R
    # antithetic eta: the variance enters only through E[f(a + v eta)], even in v
    return (jnp.concatenate([z0, z0]), jnp.concatenate([x, x]), jnp.concatenate([eta, -eta]),
            jnp.concatenate([w, w]) * 0.5)


def _channel_laplacian(omega, V, machine):
    r""":math:`\sum_l\partial^2_{\omega_l}\log Z_K` (closed form, per sample)."""
    K = omega.shape[-1]
    B = jnp.asarray(_representations(K, machine), omega.dtype)
    x = omega / jnp.sqrt(V)
    lp, lq = nm.log_H(-x), nm.log_H(x)
    da = (nm.GH(-x) + nm.GH(x)) / jnp.sqrt(V)
    d2lp, d2lq = -nm.GH_prime(-x) / V, -nm.GH_prime(x) / V
    m = jax.nn.softmax((lp - lq) @ B.T, axis=-1) @ B
    return jnp.sum(da * da * m * (1.0 - m) + d2lq + m * (d2lp - d2lq), axis=-1)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _eta_average(a, v2, q, eta, w, machine):
    r""":math:`\sum_n w_n\log Z_K(a_n+\sqrt{v_2}\,\eta_n; 1-q)` with the derivative in the
    variance :math:`v_2` in Stein form, :math:`\frac12\sum_n w_n\sum_l\partial^2_l\log Z_K`
    (finite at :math:`v_2\to0`, where the plain chain rule through :math:`\sqrt{v_2}` is not;
    the variance is floored at 1e-13 where a predictor makes it negative)."""
    v = jnp.sqrt(jnp.maximum(v2, _VAR_FLOOR))
    return jnp.sum(w * log_channel(a + v * eta, 1.0 - q, machine))


@_eta_average.defjvp
def _eta_average_jvp(machine, primals, tangents):
    a, v2, q, eta, w = primals
    da, dv2, dq, _, dw = tangents
    v = jnp.sqrt(jnp.maximum(v2, _VAR_FLOOR))

    def fixed_v(a_, q_, w_):
        return jnp.sum(w_ * log_channel(a_ + v * eta, 1.0 - q_, machine))

    val, dval = jax.jvp(fixed_v, (a, q, w), (da, dq, dw))
    lap = _channel_laplacian(a + v * eta, 1.0 - q, machine)
    return val, dval + 0.5 * dv2 * jnp.sum(w * lap)


def _fp_energy(q, t, p, q_ref, nodes, spec, per_sample=False):
    z0, x, eta, w = nodes
    if spec.infinite:
        q, t, p, q_ref = (_arcsin_map(v) for v in (q, t, p, q_ref))
    if spec.paramagnetic:
        c0 = jnp.zeros_like(q)
        c1 = p
    else:
        c0 = t / jnp.sqrt(q_ref)
        c1 = (p - t) / jnp.sqrt(1.0 - q_ref)
    a = c0 * z0 + c1 * x
    v2 = q - c0 * c0 - c1 * c1
    tot = _eta_average(a, v2, q, eta, w, spec.machine)
    if not per_sample:
        return tot
    vals = log_channel(a + jnp.sqrt(jnp.maximum(v2, _VAR_FLOOR)) * eta, 1.0 - q, spec.machine)
    return tot, vals


def _fp_value(q, t, p, q_ref, alpha, nodes, spec):
    if spec.infinite and spec.machine == "parity":
        energy = -math.log(2.0)
    else:
        energy = _fp_energy(q, t, p, q_ref, nodes, spec)
    return 0.5 * (jnp.log1p(-q) + (q - _fp_s(t, p, q_ref)) / (1.0 - q)) + alpha * energy


def typical_free_entropy(q, t, d, alpha, q_ref, *, K=1, machine="committee", samples=DEFAULT_SAMPLES,
                         seed=0, n=DEFAULT_NODES, nx=DEFAULT_NX, neta=DEFAULT_NETA):
    r"""The Franz--Parisi functional :math:`V(q,t)` of the module docstring at overlap
    :math:`p=1-2d` with a typical reference of overlap ``q_ref`` (:func:`gardner`'s ``q``).
    Composable; for K = 1 it is :func:`physlearn.theory.franz_parisi.spherical_free_entropy` at
    zero margins."""
    spec = _make_spec(K, machine, samples, seed, n, nx, neta)
    dt = jnp.result_type(q, t, d, alpha, q_ref, float)
    q_ref = jnp.asarray(q_ref, dt)
    eq_ref = _arcsin_map(q_ref) if spec.infinite else q_ref
    nodes = _fp_nodes(eq_ref, spec, dt)
    return _fp_value(q, t, 1.0 - 2.0 * d, q_ref, alpha, nodes, spec)


def _fp_width(p, q_ref):
    return jnp.sqrt((1.0 - p * p) * q_ref * (1.0 - q_ref))


def _fp_to_x(q, t, p, q_ref, spec):
    if spec.paramagnetic:
        return jnp.stack([jnp.log1p(-q), jnp.zeros_like(q)])
    z = (t - q_ref * p) / _fp_width(p, q_ref)
    return jnp.stack([jnp.log1p(-q), jnp.arctanh(jnp.clip(z, -1.0 + 1e-15, 1.0 - 1e-15))])


def _fp_from_x(x, p, q_ref, spec):
    q = -jnp.expm1(x[0])
    if spec.paramagnetic:
        return q, jnp.zeros_like(q)
    return q, q_ref * p + _fp_width(p, q_ref) * jnp.tanh(x[1])


def _fp_equations(x, args, spec):
    p, q_ref, alpha, nodes = args

    def phi(xx):
        q, t = _fp_from_x(xx, p, q_ref, spec)
        return _fp_value(q, t, p, q_ref, alpha, nodes, spec)

    g = jax.grad(phi)(x)
    if spec.paramagnetic:
        g = g.at[1].set(x[1])
    return g


# --------------------------------------------------------------------------------------------
# Results and curves
# --------------------------------------------------------------------------------------------
class LocalVolume(TheoryResult):
    r"""Local volume of a tree machine's solution space on a curve of distances
    (:func:`local_volume`). Shapes: ``alpha, q_ref, d_end`` have the parameters' shape ``P``;
    the other fields ``P + d.shape``.

    Attributes:
        d: distance to the reference, :math:`p=1-2d` the overlap.
        entropy: log-volume per weight (relative to the sphere) of the solutions at overlap
            :math:`p` with the reference.
        normalized: ``entropy`` minus the cap :math:`\frac12\log(1-p^2)` (the fraction of the
            ring that is solutions, per weight); :math:`\le0`, 0 in a wide flat minimum.
        q: overlap of two solutions around one reference (``dense``: :math:`q_1=p^2`).
        t: overlap with the other references (``typical``; NaN for ``dense``).
        dq: :math:`\delta q` (``dense``; NaN for ``typical``).
        q_ref: the RS overlap of typical solutions (:func:`gardner`).
        d_end: the end of the branch: ``dense`` :math:`(1-\sqrt{\tilde q})/2` (it joins the total
            volume there; no solution beyond), ``typical`` the typical distance
            :math:`(1-\tilde q)/2` where the potential equals the Gardner volume.
        mc_error: quasi Monte Carlo standard error of ``entropy`` (0 for quadrature).
        converged, result, residual, n_steps: solver diagnostics per point (``result``: a
            :class:`~physlearn.solvers.RESULTS` code; ``branch_ended`` beyond ``d_end`` for
            ``dense``).
    """

    INPUTS = ("alpha", "d")
    alpha: jax.Array
    d: jax.Array
    entropy: jax.Array
    normalized: jax.Array
    q: jax.Array
    t: jax.Array
    dq: jax.Array
    q_ref: jax.Array
    d_end: jax.Array
    mc_error: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


def _cap(d):
    return 0.5 * (math.log(4.0) + jnp.log(d) + jnp.log1p(-d))


def _dense_curve(alpha, d, spec):
    dt = d.dtype
    ref = _rs_point(alpha, spec)
    d_end = 0.5 * (1.0 - jnp.sqrt(ref.q))
    order = jnp.argsort(d)
    nan = jnp.full_like(d, jnp.nan)
    ended = jnp.where(d < d_end, solvers.RESULTS.successful, solvers.RESULTS.branch_ended)
    if spec.infinite and spec.machine == "parity":
        p = 1.0 - 2.0 * d
        ent = _cap(d) - alpha * math.log(2.0)
        result = solvers.combine(ref.result, ended)
        return LocalVolume(alpha, d, ent, ent - _cap(d), p * p, nan, jnp.full_like(d, jnp.inf), ref.q, d_end,
                           jnp.zeros_like(d), result == 0, jnp.zeros_like(d), jnp.zeros(d.shape, jnp.int32), result)
    z, wz = _dense_nodes(spec, dt)

    def solve_one(w0, dd):
        """One distance, warm-started from the last converged point's inner argmax ``w0``."""
        p = 1.0 - 2.0 * dd
        q1 = p * p
        _, w, val, env, sol = _dense_point(w0, q1, alpha, z, wz, spec)
        err = (alpha * _group_error(jnp.mean(env.reshape(_RANDOMISATIONS, -1), axis=-1)) if spec.mc
               else jnp.zeros((), dt))
        # beyond the end of the branch there is no saddle to find: that is the reason, whatever
        # the search did there
        result = jnp.where(dd < d_end, sol.result, solvers.RESULTS.branch_ended)
        return solvers.SaddleSolution(w, result, sol.residual, sol.n_steps, free_entropy=val,
                                      aux=(q1, jnp.exp(sol.value), err))

    sols = solvers.continuation(solve_one, jnp.zeros_like(z), d[order])
    inv = jnp.argsort(order)
    sols = jax.tree_util.tree_map(lambda o: o[inv], sols)
    val = sols.free_entropy
    q1, dq, err = sols.aux
    result = solvers.combine(ref.result, sols.result)
    return LocalVolume(alpha, d, val, val - _cap(d), q1, nan, dq, ref.q, d_end, err, result == 0, sols.residual,
                       sols.n_steps, result)


_N_DOWN, _N_UP = 12, 3


def _typical_curve(alpha, d, spec):
    dt = d.dtype
    ref = _rs_point(alpha, spec)
    q_ref = ref.q
    eq_ref = _arcsin_map(q_ref) if spec.infinite else q_ref
    nodes = _fp_nodes(eq_ref, spec, dt)
    d_typ = 0.5 * (1.0 - q_ref)
    nan = jnp.full_like(d, jnp.nan)

    def solve(x0, dd, d_from):
        p = 1.0 - 2.0 * dd
        p0 = 1.0 - 2.0 * d_from
        # keep the Newton variables of the previous point (a predictor that stays in the domain)
        y0 = _fp_to_x(*_fp_from_x(x0, p0, q_ref, spec), p0, q_ref, spec)
        return solvers.root(lambda x, a: _fp_equations(x, a, spec), y0, (p, q_ref, alpha, nodes),
                            method="newton", tol=_TOL, max_steps=60)

    x_typ = _fp_to_x(q_ref, q_ref, 1.0 - 2.0 * d_typ, q_ref, spec)
    # parity (q_ref = 0): start from d = 1/2 (p = 0), where q = t = 0
    start = jnp.minimum(d_typ, 0.5 - 1e-9)
    # continuation in d from the typical distance, down to min(d) and up to max(d); every solve
    # is a Newton solve of physlearn.solvers.root (implicit derivatives)
    curve = solvers.follow(solve, x_typ, start, d, n_down=_N_DOWN, n_up=_N_UP)
    p_all = 1.0 - 2.0 * d

    def values(x, p):
        q, t = _fp_from_x(x, p, q_ref, spec)
        if spec.infinite and spec.machine == "parity":
            return q, t, _fp_value(q, t, p, q_ref, alpha, nodes, spec), jnp.zeros((), dt)
        energy, vals = _fp_energy(q, t, p, q_ref, nodes, spec, per_sample=True)
        val = 0.5 * (jnp.log1p(-q) + (q - _fp_s(t, p, q_ref)) / (1.0 - q)) + alpha * energy
        if not spec.mc:
            return q, t, val, jnp.zeros((), dt)
        half = vals.shape[0] // 2
        w = (nodes[3][:half] * 2.0 * _RANDOMISATIONS).reshape(_RANDOMISATIONS, -1)  # sum 1 per group
        paired = (0.5 * (vals[:half] + vals[half:])).reshape(_RANDOMISATIONS, -1)
        return q, t, val, alpha * _group_error(jnp.sum(w * paired, axis=-1))

    q, t, val, err = jax.vmap(values)(curve.value, p_all)
    result = solvers.combine(ref.result, curve.result, solvers.from_checks(jnp.isfinite(val), True))
    t = jnp.where(spec.paramagnetic, nan, t)
    return LocalVolume(alpha, d, val, val - _cap(d), q, t, nan, q_ref, d_typ, err, result == 0,
                       curve.residual, curve.n_steps, result)


@theory_jit(static_argnames=("spec", "reference"))
def _curve_grid(alpha, d, spec, reference):
    fn = _dense_curve if reference == "dense" else _typical_curve
    return point_map(lambda a: fn(a, d, spec), alpha)


# --------------------------------------------------------------------------------------------
# Validation and public entry points
# --------------------------------------------------------------------------------------------
def _check_K(K, machine):
    _validation.choice("machine", machine, MACHINES)
    if isinstance(K, bool) or not isinstance(K, numbers.Real):
        raise _validation.ArgumentTypeError(f"K must be a positive integer or math.inf, got {K!r}")
    if math.isinf(K) and K > 0:
        return math.inf
    if not float(K).is_integer() or K < 1:
        raise ValueError(f"K must be a positive integer or math.inf, got {K!r}")
    K = int(K)
    if machine == "committee" and K % 2 == 0:
        raise ValueError(f"K must be odd for the committee machine (no tied votes), got {K}")
    return K


def _make_spec(K, machine, samples, seed, n, nx, neta):
    K = _check_K(K, machine)
    samples = _validation.integer("samples", samples, minimum=8 * _RANDOMISATIONS)
    if samples & (samples - 1) or samples % _RANDOMISATIONS:
        raise ValueError(f"samples must be a power of two >= {8 * _RANDOMISATIONS}, got {samples}")
    seed = _validation.integer("seed", seed, minimum=0)
    return _Spec(K, machine, samples, seed, _validation.integer("n", n, minimum=4),
                 _validation.integer("nx", nx, minimum=4), _validation.integer("neta", neta, minimum=2))


@eager_x64
def gardner(alpha, *, K=1, machine: str = "committee", samples: int = DEFAULT_SAMPLES, seed: int = 0,
            n: int = DEFAULT_NODES, on_failure: str = "raise") -> TreeGardner:
    r"""RS Gardner volume of the tree committee / parity machine with K hidden units and
    spherical weights (Barkai, Hansel, Kanter PRL 65, 2312 (1990); Engel et al., PRA 45, 7590
    (1992)):

    .. math:: \phi(q) = \tfrac12\Big[\log(1-q)+\frac q{1-q}\Big]
              + \alpha\,\mathbb E_{z\in\mathbb R^K}\log Z_K(\sqrt q z; 1-q),

    solved by bisection in :math:`\operatorname{logit}q` on :math:`\phi'(q)=0` (K = 1 is
    :func:`physlearn.theory.gardner.spherical_rs` at zero margin; ``K=math.inf`` the
    :math:`\frac2\pi\arcsin` form). For the parity machine with :math:`K\ge2` the RS solution is
    :math:`q=0`, :math:`\phi=-\alpha\log2` (the outputs of two independent weight vectors are
    uncorrelated). RS is not exact for the committee at large :math:`\alpha` (the true capacity
    needs RSB).

    Args:
        alpha: load (patterns per weight), scalar or array, > 0.
        K: hidden units (odd for the committee) or ``math.inf``.
        machine: ``"committee"`` or ``"parity"``.
        samples, seed: quasi Monte Carlo points (power of two) and scrambling seed, finite K > 1.
        n: quadrature nodes per half line (K = 1, inf).
        on_failure: ``"raise"`` (:class:`~physlearn.errors.NonConvergenceError`) or ``"flag"``
            (failed points have NaN values and ``converged=False``).

    Returns:
        :class:`TreeGardner`.
    """
    check_on_failure(on_failure)
    spec = _make_spec(K, machine, samples, seed, n, DEFAULT_NX, DEFAULT_NETA)
    a = as_param("alpha", alpha, positive=True)
    f = jnp.result_type(float)
    arr = jnp.asarray(a, f)
    out = _rs_grid(arr.reshape(-1), spec)
    out = jax.tree_util.tree_map(lambda v: v.reshape(arr.shape), out)
    return finish(out, on_failure, f"flat_minima.gardner(K={K}, machine={machine!r})", {"alpha": out.alpha},
                  "lower alpha (the RS branch ends where q -> 1)")


@eager_x64
def local_volume(alpha, d, *, K=1, machine: str = "committee", reference: str = "dense",
                 samples: int = DEFAULT_SAMPLES, seed: int = 0, n: int = DEFAULT_NODES, nx: int = DEFAULT_NX,
                 neta: int = DEFAULT_NETA, on_failure: str = "raise") -> LocalVolume:
    r"""Local volume of the solutions of a tree committee / parity machine (continuous weights)
    at distance ``d`` from a reference (Baldassi, Pittorino, Zecchina, PNAS 117, 161 (2020)).

    * ``reference="dense"``: around the densest regions -- the 1RSB free entropy at fixed
      :math:`q_1=(1-2d)^2`, :math:`y\to\infty`, no energy on the reference, stationary in
      :math:`\delta q` (module docstring). Solved per distance by a bracketed Newton iteration in
      :math:`\log\delta q` (inner maximisations warm-started along the curve) and polished by
      Newton through :func:`physlearn.solvers.root` (implicit derivatives). Exists for
      :math:`d<d_{\rm end}=(1-\sqrt{\tilde q})/2`; beyond, points fail.
    * ``reference="typical"``: around typical solutions -- the Franz--Parisi potential with the
      machine's channel (module docstring; K = 1 is
      :func:`physlearn.theory.franz_parisi.spherical` at zero margins), solved by Newton on
      :math:`(\log(1-q), t)` along a continuation in :math:`d` from the typical distance
      :math:`(1-\tilde q)/2`, where it equals the Gardner volume.

    ``normalized`` (the entropy minus the spherical cap :math:`\frac12\log(1-p^2)`) is the
    log-fraction of the ring at distance d that is solutions: 0 inside a wide flat minimum; for
    the parity machine the curves are flat at :math:`-\alpha\log2` (exactly for
    ``K=math.inf``).

    Args:
        alpha: load, scalar or array (shape ``P``), > 0.
        d: scalar or 1-D array of distances in (0, 1/2); results have shape ``P + d.shape``.
        K: hidden units (odd for the committee; at most 11 for finite-K ``"dense"``) or
            ``math.inf``.
        machine: ``"committee"`` or ``"parity"``.
        reference: ``"dense"`` or ``"typical"``.
        samples, seed: quasi Monte Carlo points and seed (finite K > 1; see the module
            docstring); n, nx, neta: quadrature nodes (K = 1, inf).
        on_failure: ``"raise"`` or ``"flag"`` (NaN values, ``converged=False``).

    Returns:
        :class:`LocalVolume`.
    """
    check_on_failure(on_failure)
    _validation.choice("reference", reference, REFERENCES)
    spec = _make_spec(K, machine, samples, seed, n, nx, neta)
    if reference == "dense" and spec.mc and spec.K > _MAX_K_DENSE:
        raise ValueError(f"K must be <= {_MAX_K_DENSE} (or math.inf) for reference='dense', got {K}")
    a = as_param("alpha", alpha, positive=True)
    dd = validate_d(d)
    f = jnp.result_type(float)
    arr = jnp.asarray(a, f)
    darr = jnp.asarray(dd, f)
    out = _curve_grid(arr.reshape(-1), darr.reshape(-1), spec, reference)

    def reshape(v):
        return v.reshape(arr.shape) if v.ndim == 1 else v.reshape(arr.shape + darr.shape)

    out = jax.tree_util.tree_map(reshape, out)
    hint = ("reference='dense' exists only below d_end = (1 - sqrt(q_ref))/2" if reference == "dense"
            else "use a denser d grid, more samples or lower alpha")
    return finish_curve(out, on_failure,
                        f"flat_minima.local_volume(K={K}, machine={machine!r}, reference={reference!r})", hint)
