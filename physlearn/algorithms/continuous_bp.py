r"""Belief propagation for perceptrons and tree committee machines with continuous (spherical)
weights: the Bethe local volume around any given weight vector (the weight enumerator), and
focusing BP (fBP) as a solver that finds wide flat minima.

Reference: C. Baldassi, F. Pittorino, R. Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 117, 161 (2020), arXiv:1905.07833 (BP on the continuous
committee machine, the norm-controlling field, the weight enumerator, continuous fBP); the
focusing construction is that of Baldassi et al., PNAS 113, E7655 (2016) (see
:mod:`physlearn.algorithms.fbp` for the binary version).

**Model.** K hidden units with real weights :math:`W_k\in\mathbb R^n` on the spheres
:math:`|W_k|^2=n`; pattern :math:`\mu` (inputs :math:`\xi^\mu_{(k)}=\pm1`, label
:math:`\sigma^\mu`) is classified correctly when :math:`\sigma^\mu\,\mathrm{sign}\sum_k
\mathrm{sign}(h^\mu_k)>0`, :math:`h^\mu_k=\xi^\mu_{(k)}\cdot W_k/\sqrt n` (tree committee; the
perceptron is K = 1, the fully connected committee has every unit read the same inputs). The
label is gauged into the inputs (:math:`\xi\to\sigma\xi`; the vote is odd), so every factor asks
for output +1.

**Messages** are Gaussian, two numbers each, in natural parameters so that composing messages
is adding them: the message from pattern :math:`\mu` to :math:`W_{ki}` is
:math:`\exp(B_{\mu ki}W-\frac12A_{\mu ki}W^2)`, the marginal of :math:`W_{ki}` is
:math:`\exp(B_{ki}W-\frac12A_{ki}W^2)` with
:math:`A_{ki}=\lambda_k+\sum_\mu A_{\mu ki}`, :math:`B_{ki}=\gamma_k\tilde W_{ki}+\sum_\mu
B_{\mu ki}`, and the cavity mean and variance of :math:`W_{ki}` seen by pattern :math:`\mu`
are :math:`m=(B_{ki}-B_{\mu ki})/(A_{ki}-A_{\mu ki})`, :math:`v=1/(A_{ki}-A_{\mu ki})`. With the
central limit theorem, unit k's field has cavity mean :math:`\omega_{\mu k}=\sum_i\xi_i m_i/\sqrt
n` and variance :math:`V_{\mu k}=\sum_iv_i/n`; the other units' votes enter through
:math:`a_{\mu k}` (probability that they already decide the output correctly) and
:math:`b_{\mu k}` (that unit k is pivotal), so the exact factor-to-variable message is
:math:`a+b\,H(-(\omega^{(i)}+\xi_iW/\sqrt n)/\sqrt{V^{(i)}})` with the cavity field
:math:`\omega^{(i)}` without weight i; its log is expanded to second order in :math:`W/\sqrt n`:

.. math:: B_{\mu ki}=\frac{\xi_i\,g}{\sqrt{nV^{(i)}}},\quad A_{\mu ki}=\frac{g\,(u+g)}{nV^{(i)}},
          \qquad g=\frac{b\,G(u)}{a+b\,H(-u)},\ u=\frac{\omega^{(i)}}{\sqrt{V^{(i)}}}.

**Norm control.** One self-adjusting field per hidden unit, the Gaussian prior precision
:math:`\lambda_k`, is set after every sweep so that :math:`\sum_i\langle W_{ki}^2\rangle=n`
(the spherical constraint as a Lagrange multiplier).

**Weight enumerator** (:func:`local_volume`). A second field :math:`\gamma_k\tilde W_k` towards a
given configuration :math:`\tilde W` is set with :math:`\lambda_k` so that also
:math:`\tilde W_k\cdot\langle W_k\rangle=pn`, :math:`p=1-2d` (:math:`\tilde W_k` normalised to
the sphere). The Bethe free entropy

.. math:: \Phi = \sum_\mu\log Z_\mu+\sum_i\log Z_i-\sum_{\mu i}\log Z_{\mu i},\qquad
          \log Z_{\mu i} = \frac{B_i^2}{2A_i}-\frac{B_{i\to\mu}^2}{2A_{i\to\mu}}-\frac12\log
          \frac{A_i}{A_{i\to\mu}},

(:math:`Z_\mu` the probability of the right output under the cavity fields,
:math:`Z_i=\sqrt{2\pi/A_i}\,e^{B_i^2/2A_i}`), Legendre-transformed back to fixed norm and overlap,
:math:`\Phi+\sum_k(\lambda_kn/2-\gamma_kpn)`, and divided by :math:`nK`, minus
:math:`\frac12\log(2\pi e)`, is the log-volume per weight (relative to the sphere) of the solutions
at overlap p with :math:`\tilde W` -- the quantity of
:func:`physlearn.theory.flat_minima.local_volume`; without patterns it is the cap
:math:`\frac12\log(1-p^2)` exactly. ``normalized`` subtracts the cap. The second-order
expansion is in :math:`W_i/\sqrt n` against the width :math:`\sqrt{1-p^2}\approx2\sqrt d` of
the ring, so the enumerator needs :math:`4dn\gg1`; at finite n the Bethe volume exceeds the exact
one by an amount of order one in the total log-volume (order 1/n per weight).

**Focusing BP** (:func:`solve`). y replicas coupled to a traced-out reference by
:math:`e^{-\frac\gamma2|W^a-\tilde W|^2}`; under replica symmetry every replica receives one extra
Gaussian message per weight from the other y - 1 through the reference,

.. math:: A^f_{ki}=\Big[\frac1\gamma+\frac{v_{ki}+1/\gamma}{y-1}\Big]^{-1},\qquad
          B^f_{ki}=A^f_{ki}\,m_{ki},

with :math:`(m, v)` the cavity mean and variance of :math:`W_{ki}` without the focusing message
(:math:`y\to\infty`: a self-reinforcement of strength :math:`\gamma` towards the weight's own
cavity mean). The read-out network is the marginal mean :math:`\langle W\rangle`.

Updates are parallel (every factor from the same marginals) and damped,
:math:`(A,B)\leftarrow(1-\lambda)(A,B)_{new}+\lambda(A,B)_{old}`. The three uses share one
``init``/``step`` module, :class:`ContinuousBP` (one step = one sweep), driven by
:func:`physlearn.algorithms.runner.run`: batched over disorder samples (and over distances or
other hyper-parameter points), with a progress bar and ``mesh=`` sharding; the measuring modes
stop at convergence (``info.halted``), fBP when the marginal means classify every pattern.
"""


from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validation as V
from .. import numerics as nm
from . import schedules
from ._network import outputs_from_preacts, preactivations
from .problems import Problem, _check_common, _input_shape, _pm1, solve_arguments
from .problems import check as check_problem
from .results import AlgorithmResult, base_fields
from .runner import run, sample_keys

__all__ = [
    "MODES",
    "Instance",
    "BPState",
    "ContinuousBPState",
    "ContinuousBPInfo",
    "ContinuousBP",
    "VolumeResult",
    "local_volume",
    "free_volume",
    "MonteCarloVolume",
    "monte_carlo_volume",
    "planted",
    "ContinuousFBPResult",
    "solve",
]

_NEG = -1e30
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_A_FLOOR = 1e-10  # floor of cavity precisions
_NORM_STEPS = 60  # bisection steps of the norm/overlap fields


# ============================================================================================
# Kernels
# ============================================================================================
def _gauged_inputs(problem: Problem, dtype):
    """``(M, K|1, n)`` inputs times the label."""
    x = problem.inputs.astype(dtype)
    s = problem.labels.astype(dtype)
    if problem.tree:
        return x * s[..., :, None, None]
    return (x * s[..., :, None])[..., :, None, :]


def _add_unit(L, lp, lq):
    """Count distribution ``L (..., K+1)`` after one more unit voting +1 with log-probability
    ``lp`` (else ``lq``), both ``(...)``."""
    shifted = jnp.concatenate([jnp.full(L.shape[:-1] + (1,), _NEG, L.dtype), L[..., :-1]], axis=-1)
    return jnp.logaddexp(L + lq[..., None], shifted + lp[..., None])


def _others(lp, lq):
    """``(log a, log b)`` per unit ``(..., K)``: the other units' votes decide the committee for
    +1 (a), or leave unit k pivotal (b). K = 1: a = 0, b = 1. The others' count distribution is
    the convolution of the distributions of the units before and after k (prefix and suffix
    products, O(K^2) per pattern)."""
    K = lp.shape[-1]
    if K == 1:
        return jnp.full_like(lp, _NEG), jnp.zeros_like(lp)
    lead = lp.shape[:-1]
    empty = jnp.concatenate([jnp.zeros(lead + (1,), lp.dtype), jnp.full(lead + (K,), _NEG, lp.dtype)], axis=-1)
    pre, suf = [empty], [empty]
    for k in range(K - 1):
        pre.append(_add_unit(pre[-1], lp[..., k], lq[..., k]))
        suf.append(_add_unit(suf[-1], lp[..., K - 1 - k], lq[..., K - 1 - k]))
    P = jnp.stack(pre, axis=-2)  # (..., K, K+1): units before k
    S = jnp.stack(suf[::-1], axis=-2)  # units after k
    half = (K - 1) // 2
    j = np.arange(half + 1)
    log_b = jax.scipy.special.logsumexp(P[..., j] + S[..., half - j], axis=-1)  # others count == half
    tail = jax.lax.cumlogsumexp(S, axis=S.ndim - 1, reverse=True)  # log P(after-count >= c)
    j = np.arange(K + 1)
    log_a = jax.scipy.special.logsumexp(P + tail[..., np.clip(half + 1 - j, 0, K)], axis=-1)  # count > half
    return log_a, log_b


def _unit_logs(omega, var):
    x = omega / jnp.sqrt(var)
    return nm.log_H(-x), nm.log_H(x)


def _log_output(omega, var):
    """log P(committee output +1) for fields ``(..., K)`` with variances ``(..., K)``."""
    lp, lq = _unit_logs(omega, var)
    K = omega.shape[-1]
    L = nm.log_count_distribution(lp, lq)
    return jax.scipy.special.logsumexp(L[..., (K + 1) // 2 :], axis=-1)


class BPState(eqx.Module):
    """BP messages and fields: ``A, B (M, K, n)`` pattern-to-weight messages (precision, linear
    coefficient), ``Af, Bf (K, n)`` focusing messages, ``lam, gamma (K,)`` the norm and overlap
    fields, ``diff`` the last sweep's largest change of a marginal mean."""

    A: jax.Array
    B: jax.Array
    Af: jax.Array
    Bf: jax.Array
    lam: jax.Array
    gamma: jax.Array
    diff: jax.Array


def _totals(s: BPState, ref):
    """Data-and-focusing totals (without the fields), ``(K, n)``."""
    Ad = jnp.sum(s.A, axis=0) + s.Af
    Bd = jnp.sum(s.B, axis=0) + s.Bf
    return Ad, Bd


def _solve_fields(Ad, Bd, ref, p, enumerate_: bool, n):
    r"""Per unit, the prior precision :math:`\lambda` (and, enumerating, the field :math:`\gamma`)
    such that :math:`\sum_i\langle W_i^2\rangle=n` (and :math:`\tilde W\cdot\langle W\rangle=pn`):
    bisection in :math:`\log(\lambda+\min_iA_i)`, :math:`\gamma` eliminated in closed form."""
    amin = jnp.min(Ad, axis=-1, keepdims=True)

    def fields(ell):
        lam = -amin + jnp.exp(ell)
        P = Ad + lam
        if enumerate_:
            num = p * n - jnp.sum(ref * Bd / P, axis=-1, keepdims=True)
            den = jnp.sum(ref * ref / P, axis=-1, keepdims=True)
            gam = num / den
        else:
            gam = jnp.zeros_like(lam)
        mean = (Bd + gam * ref) / P
        norm = jnp.sum(1.0 / P + mean * mean, axis=-1, keepdims=True)
        return lam, gam, norm - n

    dt = Ad.dtype
    lo = jnp.full(amin.shape, -30.0, dt) + jnp.log(jnp.maximum(jnp.abs(amin), 1e-3))
    hi = jnp.full(amin.shape, 30.0, dt) + jnp.log(jnp.maximum(jnp.abs(amin), 1e-3))

    def body(_, c):
        lo, hi = c
        mid = 0.5 * (lo + hi)
        _, _, r = fields(mid)
        return jnp.where(r > 0, mid, lo), jnp.where(r > 0, hi, mid)

    lo, hi = jax.lax.fori_loop(0, _NORM_STEPS, body, (lo, hi))
    lam, gam, _ = fields(0.5 * (lo + hi))
    return lam[..., 0], gam[..., 0]


def _cavities(s: BPState, x, ref, n):
    """Marginals and the per-edge cavity means/variances and factor fields."""
    Ad, Bd = _totals(s, ref)
    At = Ad + s.lam[:, None]
    Bt = Bd + s.gamma[:, None] * ref
    Acav = jnp.maximum(At[None] - s.A, _A_FLOOR)
    Bcav = Bt[None] - s.B
    m = Bcav / Acav
    v = 1.0 / Acav
    sq = math.sqrt(n)
    omega = jnp.sum(x * m, axis=-1) / sq  # (M, K)
    var = jnp.sum(v, axis=-1) / n
    return At, Bt, Acav, Bcav, m, v, omega, var


def _pattern_messages(x, m, v, omega, var, n):
    """New first-layer messages from the cavity quantities (module docstring)."""
    lp, lq = _unit_logs(omega, var)
    log_a, log_b = _others(lp, lq)
    sq = math.sqrt(n)
    om_i = omega[..., None] - x * m / sq
    V_i = jnp.maximum(var[..., None] - v / n, _A_FLOOR)
    u = om_i / jnp.sqrt(V_i)
    la, lb = log_a[..., None], log_b[..., None]
    log_g = lb - 0.5 * u * u - _LOG_SQRT_2PI - jnp.logaddexp(la, lb + nm.log_H(-u))
    g = jnp.exp(log_g)
    B = x * g / jnp.sqrt(n * V_i)
    A = g * (u + g) / (n * V_i)
    return A, B


def _focusing(Ad, Bd, s: BPState, y, g):
    """Focusing messages from the cavity without them (module docstring)."""
    A_nf = jnp.maximum(Ad - s.Af + s.lam[:, None], _A_FLOOR)
    m = (Bd - s.Bf) / A_nf
    v = 1.0 / A_nf
    on = (y > 1) & (g > 0)
    ginv = 1.0 / jnp.where(on, g, 1.0)
    rep = jnp.where(jnp.isinf(y), 0.0, 1.0 / jnp.maximum(y - 1.0, 1e-30))
    Af = jnp.where(on, 1.0 / (ginv + (v + ginv) * rep), 0.0)
    return Af, Af * m


def _sweep(s: BPState, x, ref, p, n, damping, enumerate_: bool, focus=None):
    """One parallel damped sweep: pattern messages, focusing messages, then the fields."""
    _, _, _, _, m, v, omega, var = _cavities(s, x, ref, n)
    A_new, B_new = _pattern_messages(x, m, v, omega, var, n)
    lam_ = damping
    A = (1.0 - lam_) * A_new + lam_ * s.A
    B = (1.0 - lam_) * B_new + lam_ * s.B
    s2 = eqx.tree_at(lambda z: (z.A, z.B), s, (A, B))
    if focus is not None:
        y, g = focus
        Ad, Bd = _totals(s2, ref)
        Af_new, Bf_new = _focusing(Ad, Bd, s2, y, g)
        s2 = eqx.tree_at(lambda z: (z.Af, z.Bf), s2,
                         ((1.0 - lam_) * Af_new + lam_ * s.Af, (1.0 - lam_) * Bf_new + lam_ * s.Bf))
    Ad, Bd = _totals(s2, ref)
    lam, gam = _solve_fields(Ad, Bd, ref, p, enumerate_, n)
    old_mean = (jnp.sum(s.B, 0) + s.Bf + s.gamma[:, None] * ref) / (jnp.sum(s.A, 0) + s.Af + s.lam[:, None])
    new_mean = (Bd + gam[:, None] * ref) / (Ad + lam[:, None])
    diff = jnp.max(jnp.abs(new_mean - old_mean))
    return eqx.tree_at(lambda z: (z.lam, z.gamma, z.diff), s2, (lam, gam, diff))


def _bethe(s: BPState, x, ref, p, n, enumerate_: bool):
    """Log-volume per weight relative to the sphere (module docstring) and the achieved overlap."""
    At, Bt, Acav, Bcav, _, _, omega, var = _cavities(s, x, ref, n)
    K = At.shape[0]
    f_fact = jnp.sum(_log_output(omega, var))
    f_var = jnp.sum(0.5 * jnp.log(2.0 * math.pi / At) + Bt * Bt / (2.0 * At))
    f_edge = jnp.sum(Bt[None] ** 2 / (2.0 * At[None]) - Bcav**2 / (2.0 * Acav) - 0.5 * jnp.log(At[None] / Acav))
    phi = f_fact + f_var - f_edge
    legendre = jnp.sum(s.lam) * n / 2.0
    if enumerate_:
        legendre = legendre - jnp.sum(s.gamma) * p * n
    ent = (phi + legendre) / (n * K) - 0.5 * math.log(2.0 * math.pi * math.e)
    mean = Bt / At
    overlap = jnp.mean(jnp.sum(ref * mean, axis=-1)) / n
    return ent, overlap, mean


def _init_state(key, M, K, n, dtype, randfact):
    B = randfact * jax.random.normal(key, (M, K, n), dtype) / math.sqrt(n)
    z = jnp.zeros((M, K, n), dtype)
    zk = jnp.zeros((K, n), dtype)
    return BPState(A=z, B=B, Af=zk, Bf=zk, lam=jnp.ones((K,), dtype), gamma=jnp.zeros((K,), dtype),
                   diff=jnp.asarray(jnp.inf, dtype))




# ============================================================================================
# The algorithm (init/step, run by physlearn.algorithms.runner.run)
# ============================================================================================
MODES = ("free", "enumerate", "focus")
"""What :class:`ContinuousBP` iterates: plain BP on the solutions (``"free"``), BP with the
weight-enumerator field towards a reference (``"enumerate"``), focusing BP (``"focus"``)."""


class Instance(eqx.Module):
    """A :class:`~physlearn.algorithms.problems.Problem` with the real reference configuration
    ``reference (..., K, n)`` of the weight enumerator (``None`` in the other modes): what
    :class:`ContinuousBP` is run on (the runner batches both over the samples axis)."""

    problem: Problem
    reference: jax.Array | None

    @property
    def batch_shape(self):
        return self.problem.batch_shape


class ContinuousBPState(eqx.Module):
    """Carried state: the BP messages and fields (:class:`BPState`) and the sweep counter ``t``
    (the step of the schedules)."""

    bp: BPState
    t: jax.Array


class ContinuousBPInfo(eqx.Module):
    """Per-sweep report of :class:`ContinuousBP`: ``errors`` (training errors of the marginal
    means :math:`\\langle W\\rangle`; ``best_errors`` the same), ``max_diff`` (the sweep's largest
    change of a marginal mean), ``converged`` (``max_diff <= tol``), ``halted`` (the measuring
    modes stop at convergence), ``y``, ``gamma`` (the sweep's focusing parameters; 0 when not
    focusing) and ``q`` (mean of :math:`\\langle W\\rangle^2`: 1 when the marginals have collapsed
    onto a point)."""

    errors: jax.Array
    best_errors: jax.Array
    max_diff: jax.Array
    converged: jax.Array
    halted: jax.Array
    y: jax.Array
    gamma: jax.Array
    q: jax.Array


class ContinuousBP(eqx.Module):
    """Continuous BP as an ``init``/``step`` module (one step = one parallel damped sweep):
    ``mode`` (:data:`MODES`), the overlap ``p`` with the reference (``"enumerate"``), the focusing
    schedules ``y`` and ``gamma`` of the sweep (``"focus"``), ``damping``, the convergence
    threshold ``tol`` and the initial message noise ``randfact``. Array fields may carry a leading
    axis of hyper-parameter points (e.g. several distances)."""

    p: jax.Array
    y: schedules.Schedule
    gamma: schedules.Schedule
    damping: jax.Array
    tol: jax.Array
    randfact: jax.Array
    mode: str = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def _ref(self, inst: Instance, dt):
        if self.mode == "enumerate":
            return _to_sphere(inst.reference.astype(dt))
        return jnp.zeros((inst.problem.k, inst.problem.n), dt)

    def init(self, key, inst: Instance) -> ContinuousBPState:
        """Messages ``B`` start as ``randfact`` times Gaussian noise, ``A = 0``; fields 1 and 0."""
        dt = jnp.dtype(self.dtype)
        pr = inst.problem
        return ContinuousBPState(_init_state(key, pr.m, pr.k, pr.n, dt, self.randfact.astype(dt)),
                                 jnp.zeros((), jnp.int32))

    def step(self, key, state: ContinuousBPState, inst: Instance):
        """One parallel damped sweep (module docstring), then the fields."""
        dt = jnp.dtype(self.dtype)
        pr = inst.problem
        x = _gauged_inputs(pr, dt)
        ref = self._ref(inst, dt)
        p = self.p.astype(dt)
        focus = None
        y = g = jnp.zeros((), dt)
        if self.mode == "focus":
            y, g = self.y(state.t).astype(dt), self.gamma(state.t).astype(dt)
            focus = (y, g)
        s = _sweep(state.bp, x, ref, p, pr.n, self.damping.astype(dt), self.mode == "enumerate", focus=focus)
        W = _marginal_means(s, ref)
        err = jnp.sum(outputs_from_preacts(preactivations(W, pr.inputs, pr.tree)) != pr.labels.astype(dt),
                      dtype=jnp.int32)
        conv = s.diff <= self.tol.astype(dt)
        halted = conv if self.mode != "focus" else jnp.zeros((), bool)
        info = ContinuousBPInfo(errors=err, best_errors=err, max_diff=s.diff, converged=conv, halted=halted,
                                y=y, gamma=g, q=jnp.mean(W * W))
        return ContinuousBPState(s, state.t + 1), info


def _marginal_means(s: BPState, ref):
    Ad, Bd = _totals(s, ref)
    return (Bd + s.gamma[..., None] * ref) / (Ad + s.lam[..., None])


def _to_sphere(w):
    n = w.shape[-1]
    return w * (math.sqrt(n) / jnp.linalg.norm(w, axis=-1, keepdims=True))


def _algorithm(mode, dt, *, p=0.0, y=1.0, gamma=0.0, damping, tol, randfact):
    hp = {
        "p": V.hyper_parameter("p", p, nonneg=False),
        "y": schedules.check("y", y, allow_inf=True, at_least=1.0),
        "gamma": schedules.check("gamma", gamma, allow_inf=False),
        "damping": V.hyper_parameter("damping", damping, below=1.0),
        "tol": V.hyper_parameter("tol", tol, positive=True),
        "randfact": V.hyper_parameter("randfact", randfact),
    }
    hp, P = schedules.hyper_batch(hp, dt)
    return ContinuousBP(**hp, mode=mode, dtype=dt.name), P



# ============================================================================================
# Weight enumerator and free volume
# ============================================================================================
class VolumeResult(eqx.Module):
    r"""Result of :func:`local_volume` / :func:`free_volume`; batch axes ``(D?, S?)`` in front
    (distances, when ``d`` is an array; samples, when the problem is a batch).

    - ``d``: distance; ``entropy``: Bethe log-volume per weight (relative to the sphere) of the
      solutions at overlap :math:`p=1-2d` with the reference (for :func:`free_volume`: of all
      solutions); ``normalized``: ``entropy`` minus the cap :math:`\frac12\log(1-p^2)`;
    - ``overlap``: :math:`\tilde W\cdot\langle W\rangle/n` reached (equals p at convergence);
    - ``lam``, ``gamma`` ``(..., K)``: the norm and overlap fields; ``mean`` ``(..., K, n)``:
      marginal means;
    - ``converged``: the last sweep's largest change of a marginal mean was below ``tol``;
      ``steps``: BP sweeps done.
    """

    d: jax.Array
    entropy: jax.Array
    normalized: jax.Array
    overlap: jax.Array
    lam: jax.Array
    gamma: jax.Array
    mean: jax.Array
    converged: jax.Array
    steps: jax.Array


def _measure(mode, key, problem, reference, d, *, damping, tol, max_steps, randfact, dtype, progress, mesh):
    key, problem, max_steps, _ = solve_arguments(key, problem, max_steps=max_steps, stop="never",
                                                 dtype=V.default_float_dtype(dtype))
    dt = V.default_float_dtype(dtype)
    dd = V.hyper_parameter("d", d, above=0.0, below=0.5) if mode == "enumerate" else np.float64(0.5)
    if mode == "enumerate":
        shape = tuple(problem.batch_shape) + (problem.k, problem.n)
        reference = V.real_array("reference", reference, shape, nonzero_rows=True)
    algo, P = _algorithm(mode, dt, p=1.0 - 2.0 * dd, damping=damping, tol=tol, randfact=randfact)
    inst = Instance(problem, None if reference is None else jnp.asarray(reference, dt))
    res = run(algo, key, inst, max_steps=max_steps, stop="never", hyper_batch=P, progress=progress,
              description="continuous BP" + (" (weight enumerator)" if mode == "enumerate" else ""), mesh=mesh)
    return _volume_result(algo, res, inst, P is not None)


@eqx.filter_jit
def _volume_result(algo, res, inst, hyper):
    enum = algo.mode == "enumerate"
    dt = jnp.dtype(algo.dtype)

    def one(state, problem, reference, p):
        x = _gauged_inputs(problem, dt)
        ref = _to_sphere(reference.astype(dt)) if enum else jnp.zeros((problem.k, problem.n), dt)
        ent, ov, mean = _bethe(state.bp, x, ref, p, problem.n, enum)
        cap = 0.5 * jnp.log1p(-p * p) if enum else jnp.zeros((), dt)
        return ent, ent - cap, ov, mean

    fn = one
    if inst.batch_shape:
        fn = jax.vmap(fn, in_axes=(0, 0, 0, None))
    if hyper:
        fn = jax.vmap(fn, in_axes=(0, None, None, 0))
    p = algo.p.astype(dt)
    ent, norm, ov, mean = fn(res.state, inst.problem, inst.reference, p)
    d = (1.0 - p.reshape(p.shape + (1,) * (ent.ndim - p.ndim))) / 2.0 * jnp.ones_like(ent)
    s = res.state.bp
    return VolumeResult(d=d, entropy=ent, normalized=norm, overlap=ov, lam=s.lam, gamma=s.gamma, mean=mean,
                        converged=res.info.converged, steps=res.steps)


def local_volume(key, problem: Problem, reference, d, *, damping=0.5, tol=1e-7, max_steps: int = 2000,
                 randfact=0.01, dtype=None, progress: bool | None = None, mesh=None) -> VolumeResult:
    r"""Weight enumerator: the Bethe log-volume (per weight, relative to the sphere) of the
    solutions of ``problem`` at distance ``d`` from the configuration ``reference`` (module
    docstring; Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)), usable on any network a user
    trained -- physlearn's algorithms or their own.

    Runs damped parallel BP (:class:`ContinuousBP`, mode ``"enumerate"``, through
    :func:`physlearn.algorithms.runner.run`) with the norm field :math:`\lambda_k` and the overlap
    field :math:`\gamma_k` set after every sweep, until the largest change of a marginal mean is
    at most ``tol`` or ``max_steps`` **BP sweeps** were done; the messages start from ``randfact``
    times Gaussian noise. ``normalized`` is the log-fraction per weight of the ring at distance d
    that is solutions: 0 when the ring lies inside the solution space (a wide flat minimum); at
    large n it compares with :func:`physlearn.theory.flat_minima.local_volume`, at small n with
    :func:`monte_carlo_volume`.

    Args:
        key: typed PRNG key (``jax.random.key(seed)``; sample ``i`` of a batch uses
            ``fold_in(key, i)``).
        problem: a :class:`~physlearn.algorithms.problems.Problem` (perceptron, committee or tree;
            one instance or a batch with one sample axis).
        reference: real ``(K, n)`` (``(S, K, n)`` for a batch; +-1 weights work too), each hidden
            unit rescaled to :math:`|\tilde W_k|^2=n` (the machine's output does not change).
        d: a distance in (0, 1/2) or a 1-D array of them (one BP run each, batched); the overlap
            is :math:`p=1-2d`.
        damping: in [0, 1); tol: convergence threshold (> 0); max_steps: budget in BP sweeps;
            randfact: initial message noise; dtype: float dtype (default float64 when x64 is
            enabled, else float32); progress, mesh: as :func:`physlearn.algorithms.runner.run`.

    Returns:
        :class:`VolumeResult` with axes ``(D?, S?)``. Check ``converged``: BP need not converge
        where the measure is not replica symmetric (e.g. large d in the glassy phase); its numbers
        are then those of the last sweep.

    Raises ``ValueError`` (``TypeError`` for a non-key) naming the argument on bad input, before
    anything is compiled.
    """
    return _measure("enumerate", key, problem, reference, d, damping=damping, tol=tol, max_steps=max_steps,
                    randfact=randfact, dtype=dtype, progress=progress, mesh=mesh)


def free_volume(key, problem: Problem, *, damping=0.5, tol=1e-7, max_steps: int = 2000, randfact=0.01,
                dtype=None, progress: bool | None = None, mesh=None) -> VolumeResult:
    r"""Bethe log-volume per weight (relative to the sphere) of *all* the solutions of ``problem``
    (no reference field; :class:`ContinuousBP` in mode ``"free"``): the single-instance Gardner
    volume, to compare with :func:`physlearn.theory.flat_minima.gardner` (and, K = 1, with
    :func:`physlearn.theory.gardner.spherical_rs`). Arguments as :func:`local_volume`
    (``max_steps`` in **BP sweeps**); ``d`` is reported as 1/2 and ``normalized`` equals
    ``entropy``; axes ``(S?,)``."""
    return _measure("free", key, problem, None, None, damping=damping, tol=tol, max_steps=max_steps,
                    randfact=randfact, dtype=dtype, progress=progress, mesh=mesh)


# ============================================================================================
# Monte Carlo check and planted instances
# ============================================================================================
class MonteCarloVolume(eqx.Module):
    r"""Result of :func:`monte_carlo_volume` (axes ``(D?, S?)``): ``hits`` of ``draws`` uniform
    points of the ring classify every pattern; ``fraction`` = hits/draws (unbiased);
    ``normalized`` = :math:`\log(\mathrm{fraction})/(nK)`; ``stderr``: its standard error by the
    delta method, :math:`\sqrt{(1-f)/\mathrm{hits}}/(nK)` (``inf`` without hits; trustworthy
    once ``hits`` is in the hundreds, where the bias :math:`-(1-f)/(2\,\mathrm{hits}\,nK)` of the
    log is negligible)."""

    d: np.ndarray
    hits: np.ndarray
    fraction: np.ndarray
    normalized: np.ndarray
    stderr: np.ndarray
    draws: int = eqx.field(static=True)


def monte_carlo_volume(key, problem: Problem, reference, d, *, draws: int = 100_000,
                       chunk: int = 10_000) -> MonteCarloVolume:
    r"""Direct Monte Carlo estimate of the normalised local volume that :func:`local_volume`
    computes by BP: the fraction of the ring :math:`\{W:|W_k|^2=n,\ W_k\cdot\tilde W_k=pn\}`
    (:math:`p=1-2d`, every hidden unit) that classifies every pattern, from ``draws`` independent
    uniform points :math:`W_k = p\tilde W_k+\sqrt{1-p^2}\,\varepsilon_k` (:math:`\varepsilon_k`
    uniform on the sphere of radius :math:`\sqrt n` orthogonal to :math:`\tilde W_k`), evaluated
    ``chunk`` at a time. Exact at any n up to its statistical error (:class:`MonteCarloVolume`),
    but the fraction is exponentially small in :math:`nK`: use it on small instances, at
    distances where ``hits`` is large. Arguments as :func:`local_volume`; ``draws`` is rounded up
    to a multiple of ``chunk``."""
    key = V.key(key)
    problem = check_problem(problem)
    shape = tuple(problem.batch_shape) + (problem.k, problem.n)
    ref = V.real_array("reference", reference, shape, nonzero_rows=True)
    dd = V.hyper_parameter("d", d, above=0.0, below=0.5)
    draws = V.integer("draws", draws)
    chunk = min(V.integer("chunk", chunk), draws)
    n_chunks = -(-draws // chunk)
    total = n_chunks * chunk
    dt = V.default_float_dtype(None)
    batched = problem.n_samples is not None
    S = problem.n_samples or 1
    d1 = np.atleast_1d(dd)
    x = problem.inputs.reshape((S,) + problem.inputs.shape[len(problem.batch_shape):])
    y = problem.labels.reshape(S, -1)
    keys = jax.random.split(key, d1.size * S).reshape(d1.size, S)
    hits = np.asarray(_mc_hits(keys, x, y, _to_sphere(jnp.asarray(ref, dt).reshape((S,) + shape[-2:])),
                               jnp.asarray(1.0 - 2.0 * d1, dt), n_chunks, chunk, problem.tree), dtype=np.int64)
    N = problem.n * problem.k
    frac = hits / total
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.log(frac) / N
        err = np.where(hits > 0, np.sqrt((1.0 - frac) / np.maximum(hits, 1)) / N, np.inf)
    dfull = np.broadcast_to(d1[:, None], hits.shape).copy()
    index = (slice(None) if np.ndim(dd) else 0, slice(None) if batched else 0)
    return MonteCarloVolume(d=dfull[index], hits=hits[index], fraction=frac[index], normalized=norm[index],
                            stderr=err[index], draws=total)


@functools.partial(jax.jit, static_argnames=("n_chunks", "chunk", "tree"))
def _mc_hits(keys, x, y, ref, p, n_chunks, chunk, tree):
    K, n = ref.shape[-2:]
    dt = ref.dtype

    def one(key, xx, yy, w, pp):
        xf = xx.astype(dt)
        yf = yy.astype(dt)

        def block(k):
            eps = jax.random.normal(k, (chunk, K, n), dt)
            eps = eps - jnp.sum(eps * w, axis=-1, keepdims=True) * w / n
            eps = eps * (math.sqrt(n) / jnp.linalg.norm(eps, axis=-1, keepdims=True))
            W = pp * w + jnp.sqrt(1.0 - pp * pp) * eps
            h = jax.vmap(lambda v: preactivations(v, xf, tree))(W)
            return jnp.sum(jnp.all(outputs_from_preacts(h) == yf, axis=-1), dtype=jnp.int32)

        return jnp.sum(jax.lax.map(block, jax.random.split(key, n_chunks)))

    per_sample = jax.vmap(one, in_axes=(0, 0, 0, 0, None))
    return jax.vmap(per_sample, in_axes=(0, None, None, None, 0))(keys, x, y, ref, p)


def planted(key, n: int, alpha, k: int = 1, architecture: str = "tree", samples: int | None = None):
    r"""A problem with a planted continuous solution: random +-1 inputs labelled by a teacher with
    Gaussian weights (each hidden unit on its sphere :math:`|W^*_k|^2=n`). Returns
    ``(problem, teacher)`` with ``teacher`` of shape ``(S?, K, n)``; the teacher classifies every
    pattern, so :func:`local_volume` around it is defined at every distance. Arguments as
    :func:`physlearn.algorithms.problems.random_patterns` (``M = round(alpha * n * k)``
    patterns; sample ``i`` uses ``fold_in(key, i)``)."""
    n, k, m, samples = _check_common(key, n, alpha, k, architecture, samples)
    dt = V.default_float_dtype(None)
    x, y, w = _planted_arrays(key, m, n, k, architecture, samples, dt.name)
    return Problem(x, y, architecture=architecture, k=k), w


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _planted_arrays(key, m, n, k, architecture, samples, dtype):
    tree = architecture == "tree"

    def one(kk):
        kx, kw = jax.random.split(kk)
        x = _pm1(kx, _input_shape(m, n, k, architecture))
        w = _to_sphere(jax.random.normal(kw, (k, n), dtype))
        y = outputs_from_preacts(preactivations(w, x.astype(dtype), tree)).astype(jnp.int8)
        return x, y, w

    if samples is None:
        return one(key)
    return jax.vmap(one)(sample_keys(key, samples))


# ============================================================================================
# Focusing BP as a solver
# ============================================================================================
class ContinuousFBPResult(AlgorithmResult):
    """Result of :func:`solve` (:class:`~physlearn.algorithms.results.AlgorithmResult`; batch axes
    ``(P?, S?)`` in front): ``solved``, ``steps`` (BP sweeps), ``errors`` (training errors of
    ``weights``), ``weights (..., K, n)`` (the marginal means :math:`\\langle W\\rangle`, each
    hidden unit rescaled to :math:`|W_k|^2=n`), ``trace`` (per-sweep :class:`ContinuousBPInfo`);
    ``converged`` (the last sweep changed no marginal mean by more than ``tol``) and ``info`` (the
    last sweep's :class:`ContinuousBPInfo`)."""

    converged: jax.Array
    info: ContinuousBPInfo


def solve(key, problem: Problem, *, y=8.0, gamma=None, damping=0.5, randfact=0.1, tol=1e-7,
          max_steps: int = 2000, stop: str = "any", dtype=None, trace: bool = False,
          progress: bool | None = None, mesh=None) -> ContinuousFBPResult:
    r"""Train a perceptron / committee machine with continuous weights by focusing BP (module
    docstring; Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)), :class:`ContinuousBP` in
    mode ``"focus"`` run by :func:`physlearn.algorithms.runner.run`.

    **Arguments:**

    - ``key``: typed PRNG key (sample ``i`` of a batch uses ``fold_in(key, i)``); ``problem``: a
      :class:`~physlearn.algorithms.problems.Problem` (perceptron, committee or tree; one instance
      or a batch with one sample axis).
    - ``y`` (replicas, >= 1, ``inf`` allowed) and ``gamma`` (coupling to the reference, >= 0):
      numbers or schedules of the sweep (:mod:`~physlearn.algorithms.schedules`, optax schedules,
      any callable ``step -> value``); default ``gamma``: ``schedules.linear(0.01, 0.01)``, which
      grows until the marginals collapse onto a point (with ``y = 8`` it solved 4 of 4 random
      tree committees with K = 9, n = 11, alpha = 1 within 400 sweeps, where
      ``schedules.linear(0.001, 0.002)`` solved 1).
    - ``damping`` in [0, 1), ``randfact`` (initial message noise), ``tol`` (the threshold of
      ``converged``). Numbers may be 1-D arrays of P hyper-parameter points (a leading axis P in
      the result).
    - ``max_steps``: budget in **BP sweeps**; ``stop``: ``"any"`` / ``"centre"`` (the same here:
      the marginal means classify every pattern) or ``"never"``.
    - ``dtype``: float dtype of the messages (default float64 when x64 is enabled, else
      float32); ``trace``: keep every sweep's :class:`ContinuousBPInfo`; ``progress``, ``mesh``:
      as :func:`physlearn.algorithms.runner.run`.

    **Returns:** :class:`ContinuousFBPResult`. Bad input raises ``ValueError`` (``TypeError`` for a
    non-key) naming the argument, before anything is compiled.
    """
    dt = V.default_float_dtype(dtype)
    key, problem, max_steps, _ = solve_arguments(key, problem, max_steps=max_steps, stop=stop, dtype=dt)
    if gamma is None:
        gamma = schedules.linear(0.01, 0.01)
    algo, P = _algorithm("focus", dt, y=y, gamma=gamma, damping=damping, tol=tol, randfact=randfact)
    inst = Instance(problem, None)
    res = run(algo, key, inst, max_steps=max_steps, stop=stop, hyper_batch=P, trace=trace, progress=progress,
              description="continuous fBP", mesh=mesh)
    return _result(res, problem, trace, P is not None, stop)


@eqx.filter_jit
def _result(res, problem, trace, hyper, stop):
    s = res.state.bp
    W = _to_sphere((jnp.sum(s.B, axis=-3) + s.Bf) / (jnp.sum(s.A, axis=-3) + s.Af + s.lam[..., None]))
    return ContinuousFBPResult(**base_fields(res, W, problem, trace=trace, hyper=hyper, stop=stop),
                               converged=res.info.converged, info=res.info)
