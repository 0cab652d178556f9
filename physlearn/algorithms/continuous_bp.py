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
:math:`\frac12\log(1-p^2)` exactly. ``normalized`` subtracts the cap.

**Focusing BP** (:func:`solve`). y replicas coupled to a traced-out reference by
:math:`e^{-\frac\gamma2|W^a-\tilde W|^2}`; under replica symmetry every replica receives one extra
Gaussian message per weight from the other y - 1 through the reference,

.. math:: A^f_{ki}=\Big[\frac1\gamma+\frac{v_{ki}+1/\gamma}{y-1}\Big]^{-1},\qquad
          B^f_{ki}=A^f_{ki}\,m_{ki},

with :math:`(m, v)` the cavity mean and variance of :math:`W_{ki}` without the focusing message
(:math:`y\to\infty`: a self-reinforcement of strength :math:`\gamma` towards the weight's own
cavity mean). The read-out network is the marginal mean :math:`\langle W\rangle`.

Updates are parallel (every factor from the same marginals) and damped,
:math:`(A,B)\leftarrow(1-\lambda)(A,B)_{new}+\lambda(A,B)_{old}`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm
from ._network import outputs_from_preacts, preactivations
from .problems import Problem
from .runner import float_dtype, positive_int, run

__all__ = [
    "BPState",
    "VolumeResult",
    "ContinuousFBP",
    "ContinuousFBPInfo",
    "ContinuousFBPResult",
    "local_volume",
    "free_volume",
    "monte_carlo_volume",
    "MonteCarloVolume",
    "planted",
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


def _count_logdist(lp, lq):
    """Log-distribution of the number of +1 votes of independent units (last axis), ``(..., K+1)``."""
    K = lp.shape[-1]
    lead = lp.shape[:-1]
    L = jnp.concatenate([jnp.zeros(lead + (1,), lp.dtype), jnp.full(lead + (K,), _NEG, lp.dtype)], axis=-1)
    pad = jnp.full(lead + (1,), _NEG, lp.dtype)
    for k in range(K):
        shifted = jnp.concatenate([pad, L[..., :-1]], axis=-1)
        L = jnp.logaddexp(L + lq[..., k : k + 1], shifted + lp[..., k : k + 1])
    return L


def _others(lp, lq):
    """``(log a, log b)`` per unit ``(..., K)``: the other units' votes decide the committee for
    +1 (a), or leave unit k pivotal (b). K = 1: a = 0, b = 1."""
    K = lp.shape[-1]
    if K == 1:
        return jnp.full_like(lp, _NEG), jnp.zeros_like(lp)
    eye = jnp.eye(K, dtype=bool)
    lp_ex = jnp.where(eye, _NEG, lp[..., None, :])  # (..., K, K): unit k removed (votes -1 surely)
    lq_ex = jnp.where(eye, 0.0, lq[..., None, :])
    L = _count_logdist(lp_ex, lq_ex)  # (..., K, K+1)
    half = (K - 1) // 2
    log_a = jax.scipy.special.logsumexp(L[..., half + 1 :], axis=-1)
    log_b = L[..., half]
    return log_a, log_b


def _unit_logs(omega, V):
    x = omega / jnp.sqrt(V)
    return nm.log_H(-x), nm.log_H(x)


def _log_output(omega, V):
    """log P(committee output +1) for fields ``(..., K)`` with variances ``(..., K)``."""
    lp, lq = _unit_logs(omega, V)
    K = omega.shape[-1]
    L = _count_logdist(lp, lq)
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
    V = jnp.sum(v, axis=-1) / n
    return At, Bt, Acav, Bcav, m, v, omega, V


def _pattern_messages(x, m, v, omega, V, n):
    """New first-layer messages from the cavity quantities (module docstring)."""
    lp, lq = _unit_logs(omega, V)
    log_a, log_b = _others(lp, lq)
    sq = math.sqrt(n)
    om_i = omega[..., None] - x * m / sq
    V_i = jnp.maximum(V[..., None] - v / n, _A_FLOOR)
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
    _, _, _, _, m, v, omega, V = _cavities(s, x, ref, n)
    A_new, B_new = _pattern_messages(x, m, v, omega, V, n)
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
    At, Bt, Acav, Bcav, m, v, omega, V = _cavities(s, x, ref, n)
    K = At.shape[0]
    f_fact = jnp.sum(_log_output(omega, V))
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
# Weight enumerator
# ============================================================================================
class VolumeResult(eqx.Module):
    r"""Result of :func:`local_volume` / :func:`free_volume`; batch axes ``(S?, D?)`` in front
    (samples, distances).

    - ``d``: distance; ``entropy``: Bethe log-volume per weight (relative to the sphere) of the
      solutions at overlap :math:`p=1-2d` with the given weights (for :func:`free_volume`: of all
      solutions); ``normalized``: ``entropy`` minus the cap :math:`\frac12\log(1-p^2)`;
    - ``overlap``: :math:`\tilde W\cdot\langle W\rangle/n` reached (equals p at convergence);
    - ``lam``, ``gamma`` ``(..., K)``: the fields; ``mean`` ``(..., K, n)``: marginal means;
    - ``converged``: the largest change of a marginal mean fell below ``tol``; ``sweeps``.
    """

    d: jax.Array
    entropy: jax.Array
    normalized: jax.Array
    overlap: jax.Array
    lam: jax.Array
    gamma: jax.Array
    mean: jax.Array
    converged: jax.Array
    sweeps: jax.Array


def _check_problem(problem):
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a physlearn.algorithms.problems.Problem, got {type(problem).__name__}")
    if len(problem.batch_shape) > 1:
        raise ValueError(f"problem must have at most one sample axis, batch_shape={problem.batch_shape}")
    if problem.teacher is not None:
        problem = Problem(problem.inputs, problem.labels, architecture=problem.architecture, k=problem.k)
    return problem


def _check_key(key):
    if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
        raise TypeError("key must be a typed JAX PRNG key, jax.random.key(seed)")


def _default_dtype(dtype):
    if dtype is None:
        return jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return float_dtype(dtype)


def _check_weights(weights, problem):
    if isinstance(weights, jax.core.Tracer):
        raise ValueError("weights must be concrete (local_volume is an eager entry point)")
    arr = np.asarray(weights)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"weights must be a real array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    shape = tuple(problem.batch_shape) + (problem.k, problem.n)
    if arr.shape != shape:
        raise ValueError(f"weights must have shape {shape} (batch, K, n) to match problem, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("weights must be finite")
    if np.any(np.linalg.norm(arr, axis=-1) == 0):
        raise ValueError("weights must have a non-zero vector for every hidden unit")
    return arr


def _check_d(d):
    arr = np.asarray(d, dtype=np.float64)
    if arr.ndim > 1:
        raise ValueError(f"d must be a scalar or a 1-D array of distances, got shape {arr.shape}")
    if np.any(np.isnan(arr)) or np.any((arr <= 0) | (arr >= 0.5)):
        raise ValueError(f"d must lie in (0, 1/2), got {d!r}")
    return arr


def _to_sphere(w):
    n = w.shape[-1]
    return w * (math.sqrt(n) / jnp.linalg.norm(w, axis=-1, keepdims=True))


def _measure_impl(key, x, ref, p, damping, tol, randfact, max_sweeps, enumerate_):
    M, K, n = x.shape[0], ref.shape[0], ref.shape[1]
    s = _init_state(key, M, K, n, ref.dtype, randfact)

    def cond(c):
        s, it = c
        return (it < max_sweeps) & (s.diff > tol)

    def body(c):
        s, it = c
        return _sweep(s, x, ref, p, n, damping, enumerate_), it + 1

    s, it = jax.lax.while_loop(cond, body, (s, jnp.zeros((), jnp.int32)))
    ent, overlap, mean = _bethe(s, x, ref, p, n, enumerate_)
    return ent, overlap, s.lam, s.gamma, mean, s.diff <= tol, it


@functools.partial(jax.jit, static_argnames=("max_sweeps", "enumerate_", "tree", "batched"))
def _measure(keys, inputs, labels, ref, p, damping, tol, randfact, *, max_sweeps, enumerate_, tree, batched):
    dt = ref.dtype

    def one(key, xin, lab, r, pp):
        prob_x = xin.astype(dt) * lab.astype(dt)[:, None, None] if tree else \
            (xin.astype(dt) * lab.astype(dt)[:, None])[:, None, :]
        return _measure_impl(key, prob_x, r, pp, damping, tol, randfact, max_sweeps, enumerate_)

    over_d = jax.vmap(one, in_axes=(0, None, None, None, 0))
    if batched:
        return jax.vmap(over_d, in_axes=(0, 0, 0, 0, None))(keys, inputs, labels, ref, p)
    return over_d(keys, inputs, labels, ref, p)


def _run_measure(key, problem, ref, d, *, damping, tol, max_sweeps, randfact, dtype, enumerate_):
    _check_key(key)
    problem = _check_problem(problem)
    dt = _default_dtype(dtype)
    max_sweeps = positive_int("max_sweeps", max_sweeps)
    for name, v in (("damping", damping), ("tol", tol), ("randfact", randfact)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if damping >= 1:
        raise ValueError(f"damping must lie in [0, 1), got {damping!r}")
    scalar_d = np.ndim(d) == 0
    dd = np.atleast_1d(d)
    p = jnp.asarray(1.0 - 2.0 * dd, dt)
    batched = problem.n_samples is not None
    S = problem.n_samples or 1
    keys = jax.random.split(key, S * dd.size).reshape((S, dd.size) if batched else (dd.size,))
    ref = _to_sphere(jnp.asarray(ref, dt))
    ent, ov, lam, gam, mean, conv, it = _measure(
        keys, problem.inputs, problem.labels, ref, p, jnp.asarray(damping, dt), jnp.asarray(tol, dt),
        jnp.asarray(randfact, dt), max_sweeps=max_sweeps, enumerate_=enumerate_, tree=problem.tree, batched=batched)
    cap = 0.5 * jnp.log1p(-p * p) if enumerate_ else jnp.zeros_like(p)
    out = VolumeResult(d=jnp.asarray(dd, dt) * jnp.ones_like(ent), entropy=ent, normalized=ent - cap,
                       overlap=ov, lam=lam, gamma=gam, mean=mean, converged=conv, sweeps=it)
    if scalar_d:
        out = jax.tree_util.tree_map(lambda v: jnp.take(v, 0, axis=1 if batched else 0), out)
    return out


def local_volume(key, problem: Problem, weights, d, *, damping=0.5, tol=1e-7, max_sweeps: int = 2000,
                 randfact=0.01, dtype=None) -> VolumeResult:
    r"""Weight enumerator: the Bethe log-volume (per weight, relative to the sphere) of the
    solutions of ``problem`` at distance ``d`` from the given ``weights`` (module docstring;
    Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)), usable on any network a user
    trained -- physlearn's algorithms or their own.

    Runs damped parallel BP with the norm field :math:`\lambda_k` and the overlap field
    :math:`\gamma_k` self-adjusted after every sweep, until the largest change of a marginal mean
    is below ``tol`` or ``max_sweeps`` sweeps (unit: one sweep over all messages); the messages
    start from ``randfact`` times Gaussian noise (``key``). ``normalized`` is the log-fraction per
    weight of the ring at distance d that is solutions: 0 when the ring lies inside the
    solution space (a wide flat minimum), compared with
    :func:`physlearn.theory.flat_minima.local_volume` at large n.

    Args:
        key: typed PRNG key (``jax.random.key(seed)``).
        problem: a :class:`~physlearn.algorithms.problems.Problem` (perceptron, committee or tree;
            one instance or a batch with one sample axis).
        weights: real ``(K, n)`` (or ``(S, K, n)`` for a batch; ``+-1`` weights work too), each
            hidden unit rescaled to :math:`|W_k|^2=n` (the machine's output does not change).
        d: distance or 1-D array of distances in (0, 1/2); the overlap is :math:`p=1-2d`.
        damping, tol, max_sweeps, randfact: BP settings; dtype: float dtype (default float64
            when enabled, else float32).

    Returns:
        :class:`VolumeResult` with axes ``(S?, D?)``. Check ``converged``: BP does not converge
        where the measure is not replica symmetric (e.g. large d in the glassy phase).
    """
    problem = _check_problem(problem)
    w = _check_weights(weights, problem)
    dd = _check_d(d)
    return _run_measure(key, problem, w, dd, damping=damping, tol=tol, max_sweeps=max_sweeps,
                        randfact=randfact, dtype=dtype, enumerate_=True)


def free_volume(key, problem: Problem, *, damping=0.5, tol=1e-7, max_sweeps: int = 2000, randfact=0.01,
                dtype=None) -> VolumeResult:
    r"""Bethe log-volume per weight (relative to the sphere) of *all* the solutions of ``problem``
    (no reference field): the single-instance Gardner volume, to compare with
    :func:`physlearn.theory.flat_minima.gardner` (and, K = 1,
    :func:`physlearn.theory.gardner.spherical_rs`). Settings as :func:`local_volume`; ``d`` is
    reported as 1/2 and ``normalized`` equals ``entropy``."""
    problem = _check_problem(problem)
    K, n = problem.k, problem.n
    shape = tuple(problem.batch_shape) + (K, n)
    ref = jnp.ones(shape)
    return _run_measure(key, problem, ref, 0.5, damping=damping, tol=tol, max_sweeps=max_sweeps,
                        randfact=randfact, dtype=dtype, enumerate_=False)


class MonteCarloVolume(eqx.Module):
    """Result of :func:`monte_carlo_volume` (axes ``(S?, D?)``): ``fraction`` of the ring that
    classifies every pattern, ``normalized`` its log per weight and ``stderr`` the binomial
    standard error of ``normalized`` (delta method; ``inf`` when no draw was a solution)."""

    d: jax.Array
    fraction: jax.Array
    normalized: jax.Array
    stderr: jax.Array


def monte_carlo_volume(key, problem: Problem, weights, d, *, draws: int = 100_000, chunk: int = 10_000):
    r"""Direct Monte Carlo estimate of the normalised local volume that :func:`local_volume`
    computes by BP: the fraction of the ring :math:`\{W:|W_k|^2=n,\ W_k\cdot\tilde W_k=pn\}`
    (:math:`p=1-2d`, every hidden unit) that classifies every pattern correctly, from ``draws``
    uniform points :math:`W_k = p\tilde W_k+\sqrt{1-p^2}\,\varepsilon_k`
    (:math:`\varepsilon_k` uniform on the sphere orthogonal to :math:`\tilde W_k`). Exact for any
    n, but the fraction is exponentially small in :math:`nK`: use it on small instances (the
    check of BP in the tests and notebook 08). Arguments as :func:`local_volume`; ``chunk`` draws
    are evaluated at a time."""
    _check_key(key)
    problem = _check_problem(problem)
    w = _check_weights(weights, problem)
    dd = _check_d(d)
    draws = positive_int("draws", draws)
    chunk = min(positive_int("chunk", chunk), draws)
    n_chunks = -(-draws // chunk)
    scalar_d = np.ndim(d) == 0
    dd = np.atleast_1d(dd)
    dt = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    batched = problem.n_samples is not None
    S = problem.n_samples or 1
    ref = _to_sphere(jnp.asarray(w, dt).reshape((S,) + w.shape[-2:]))
    x = problem.inputs.reshape((S,) + problem.inputs.shape[-(3 if problem.tree else 2):])
    y = problem.labels.reshape(S, -1)
    keys = jax.random.split(key, S * dd.size).reshape(S, dd.size)
    frac = _mc_fraction(keys, x, y, ref, jnp.asarray(1.0 - 2.0 * dd, dt), n_chunks, chunk, problem.tree)
    frac = np.asarray(frac, dtype=np.float64)
    total = n_chunks * chunk
    N = problem.n * problem.k
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.log(frac) / N
        err = np.sqrt((1.0 - frac) / (frac * total)) / N
    out = MonteCarloVolume(d=np.broadcast_to(dd, frac.shape).copy(), fraction=frac, normalized=norm, stderr=err)
    if not batched:
        out = jax.tree_util.tree_map(lambda v: v[0], out)
    if scalar_d:
        out = jax.tree_util.tree_map(lambda v: v[..., 0], out)
    return out


@functools.partial(jax.jit, static_argnames=("n_chunks", "chunk", "tree"))
def _mc_fraction(keys, x, y, ref, p, n_chunks, chunk, tree):
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
            return jnp.sum(jnp.all(outputs_from_preacts(h) == yf, axis=-1))

        hits = jax.lax.map(block, jax.random.split(key, n_chunks))
        return jnp.sum(hits) / (n_chunks * chunk)

    per_d = jax.vmap(one, in_axes=(0, None, None, None, 0))
    return jax.vmap(per_d, in_axes=(0, 0, 0, 0, None))(keys, x, y, ref, p)


def planted(key, n: int, alpha, k: int = 1, architecture: str = "tree", samples: int | None = None):
    r"""A problem with a planted continuous solution: random +-1 inputs labelled by a teacher with
    Gaussian weights (each hidden unit on its sphere :math:`|W^*_k|^2=n`). Returns
    ``(problem, teacher)`` with ``teacher`` of shape ``(S?, K, n)``; the teacher classifies every
    pattern, so :func:`local_volume` around it is defined at every distance.
    ``architecture``: ``"perceptron"`` (k = 1), ``"tree"`` or ``"committee"``;
    ``M = round(alpha * n * k)`` patterns."""
    from .problems import _check_common, _input_shape, _pm1

    _check_key(key)
    n, k, m, samples = _check_common(n, alpha, k, architecture, samples)
    tree = architecture == "tree"
    dt = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32

    def one(kk):
        kx, kw = jax.random.split(kk)
        x = _pm1(kx, _input_shape(m, n, k, architecture))
        w = _to_sphere(jax.random.normal(kw, (k, n), dt))
        y = outputs_from_preacts(preactivations(w, x.astype(dt), tree)).astype(jnp.int8)
        return x, y, w

    if samples is None:
        x, y, w = one(key)
    else:
        x, y, w = jax.vmap(one)(jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(samples)))
    return Problem(x, y, architecture=architecture, k=k), w


# ============================================================================================
# Focusing BP as a solver
# ============================================================================================
def _schedule_values(name, v, max_steps, *, allow_inf=False, minimum=0.0):
    """A float (constant) or a schedule callable ``step -> value`` -> ``(max_steps,)`` float64."""
    if callable(v):
        vals = np.asarray(jax.device_get(jax.vmap(v)(jnp.arange(max_steps))), dtype=np.float64)
        vals = np.broadcast_to(vals, (max_steps,))
    else:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"{name} must be a number or a schedule callable step -> value, got {v!r}")
        vals = np.full((max_steps,), float(v))
    if np.any(np.isnan(vals)) or (not allow_inf and np.any(np.isinf(vals))) or np.any(vals < minimum):
        raise ValueError(f"{name} must be >= {minimum}{'' if allow_inf else ' and finite'} at every step")
    return vals


class ContinuousFBPInfo(eqx.Module):
    """Per-sweep report of :class:`ContinuousFBP`: ``errors`` (training errors of the read-out
    :math:`\\langle W\\rangle`; ``best_errors`` the same), ``max_diff`` (largest change of a
    marginal mean), ``y``, ``gamma`` (the sweep's focusing parameters), ``q`` (mean of
    :math:`\\langle W\\rangle^2`, 1 when the marginals have collapsed onto a point) and
    ``entropy`` (the Bethe log-volume per weight of the single-replica measure with the focusing
    messages as external fields; a diagnostic)."""

    errors: jax.Array
    best_errors: jax.Array
    max_diff: jax.Array
    y: jax.Array
    gamma: jax.Array
    q: jax.Array
    entropy: jax.Array


class ContinuousFBP(eqx.Module):
    """Continuous focusing BP: ``y`` and ``gamma`` per step ``(T,)`` (the schedules), damping,
    initial message noise ``randfact``. ``init(key, problem)``, ``step(key, state, problem)`` (one
    sweep), run by :func:`physlearn.algorithms.runner.run`."""

    y: jax.Array
    gamma: jax.Array
    damping: jax.Array
    randfact: jax.Array
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: Problem):
        dt = jnp.dtype(self.dtype)
        s = _init_state(key, problem.m, problem.k, problem.n, dt, self.randfact.astype(dt))
        return (s, jnp.zeros((), jnp.int32))

    def step(self, key, state, problem: Problem):
        s, t = state
        dt = jnp.dtype(self.dtype)
        x = _gauged_inputs(problem, dt)
        n = problem.n
        ref = jnp.zeros((problem.k, n), dt)
        T = self.y.shape[-1]
        tt = jnp.minimum(t, T - 1)
        y, g = self.y[tt].astype(dt), self.gamma[tt].astype(dt)
        s = _sweep(s, x, ref, jnp.zeros((), dt), n, self.damping.astype(dt), False, focus=(y, g))
        ent, _, mean = _bethe(s, x, ref, jnp.zeros((), dt), n, False)
        W = mean
        h = preactivations(W, problem.inputs, problem.tree)
        err = jnp.sum(outputs_from_preacts(h) != problem.labels.astype(dt), dtype=jnp.int32)
        info = ContinuousFBPInfo(errors=err, best_errors=err, max_diff=s.diff, y=y, gamma=g,
                                 q=jnp.mean(W * W), entropy=ent)
        return (s, t + 1), info


class ContinuousFBPResult(eqx.Module):
    """Result of :func:`solve` (batch axis ``S?`` in front): ``solved`` (the stopping rule fired),
    ``steps`` (sweeps done), ``errors`` (training errors of ``weights``), ``weights (..., K, n)``
    (the read-out :math:`\\langle W\\rangle`, rescaled to :math:`|W_k|^2=n`), ``info`` (the last
    sweep's :class:`ContinuousFBPInfo`), ``trace`` (per-sweep info, or ``None``)."""

    solved: jax.Array
    steps: jax.Array
    errors: jax.Array
    weights: jax.Array
    info: ContinuousFBPInfo
    trace: ContinuousFBPInfo | None


def _exponential_default(start, factor):
    return lambda step: start * factor ** jnp.asarray(step, jnp.float32)


def solve(key, problem: Problem, *, max_steps: int = 2000, stop: str = "any", y=8.0, gamma=None,
          damping=0.5, randfact=0.1, dtype=None, trace: bool = False, progress: bool | None = None,
          mesh=None) -> ContinuousFBPResult:
    r"""Train a perceptron / committee machine with continuous weights by focusing BP
    (module docstring; Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)).

    One step is one parallel damped BP sweep (``max_steps`` counts sweeps). The focusing
    parameters may be floats or schedule callables ``step -> value`` (optax schedules work):
    ``y`` (replicas, >= 1, ``inf`` allowed) and ``gamma`` (coupling to the reference; default
    :math:`0.01\cdot1.005^t`, growing until the marginals collapse onto a point). The read-out
    network is the marginal mean :math:`\langle W\rangle`; ``stop`` is the runner's rule
    (``"any"``, ``"centre"`` -- the same here -- or ``"never"``).

    Args:
        key: typed PRNG key (sample ``i`` of a batch uses ``fold_in(key, i)``).
        problem: :class:`~physlearn.algorithms.problems.Problem` (perceptron, committee or tree).
        max_steps, stop, y, gamma, damping: as above; randfact: initial message noise.
        dtype: float dtype of the messages (default float64 when enabled, else float32).
        trace, progress, mesh: as :func:`physlearn.algorithms.runner.run` (``progress=None``:
            a bar for runs expected to be long).

    Returns:
        :class:`ContinuousFBPResult`.
    """
    _check_key(key)
    problem = _check_problem(problem)
    max_steps = positive_int("max_steps", max_steps)
    if stop not in ("any", "centre", "never"):
        raise ValueError(f"stop must be 'any', 'centre' or 'never', got {stop!r}")
    dt = _default_dtype(dtype)
    if gamma is None:
        gamma = _exponential_default(0.01, 1.005)
    yv = _schedule_values("y", y, max_steps, allow_inf=True, minimum=1.0)
    gv = _schedule_values("gamma", gamma, max_steps, allow_inf=False, minimum=0.0)
    for name, v, hi in (("damping", damping, 1.0), ("randfact", randfact, None)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0 \
                or (hi is not None and v >= hi):
            raise ValueError(f"{name} must be a finite number in [0, {hi if hi else 'inf'}), got {v!r}")
    algo = ContinuousFBP(y=jnp.asarray(yv, dt), gamma=jnp.asarray(gv, dt), damping=jnp.asarray(damping, dt),
                         randfact=jnp.asarray(randfact, dt), dtype=dt.name)
    if progress is None:
        progress = problem.m * problem.n * problem.k * max_steps * (problem.n_samples or 1) > 5e9
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, trace=trace, progress=progress,
              description="continuous fBP", mesh=mesh)
    return _result(res, problem, trace)


@eqx.filter_jit
def _result(res, problem, trace):
    s, _ = res.state
    Ad = jnp.sum(s.A, axis=-3) + s.Af
    Bd = jnp.sum(s.B, axis=-3) + s.Bf
    W = _to_sphere(Bd / (Ad + s.lam[..., None]))
    return ContinuousFBPResult(solved=res.solved, steps=res.steps, errors=res.info.errors, weights=W,
                               info=res.info, trace=res.trace if trace else None)
