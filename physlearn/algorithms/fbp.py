r"""Focusing belief propagation (fBP) on binary perceptrons and committee machines.

References: C. Baldassi, C. Borgs, J. T. Chayes, A. Ingrosso, C. Lucibello, L. Saglietti,
R. Zecchina, "Unreasonable effectiveness of learning neural networks: from accessible states and
robust ensembles to basic algorithmic schemes", PNAS 113, E7655 (2016), section VI and appendix D
(reference code: BinaryCommitteeMachineFBP.jl; specification in ``shared/science/algorithms.md``
section 1). Reinforced BP: A. Braunstein, R. Zecchina, PRL 96, 030201 (2006).

**Model.** A committee machine with K hidden units of N binary weights :math:`W_{ki}` (K = 1 is
the perceptron; fully connected or tree-like), replicated y times and coupled with strength
:math:`\gamma` to a binary reference :math:`\tilde W` that is traced out (the robust ensemble):

.. math:: Z(\gamma, y) = \sum_{\tilde W}\prod_{a=1}^y \sum_{W^a} \mathbb X(W^a)\,
          e^{\gamma\, \tilde W\cdot W^a},

with :math:`\mathbb X` the indicator that every pattern is classified correctly. Under the
replica-symmetric (all replicas equal) assumption BP on this graph is BP on one replica with one
extra *focusing* message per weight:

.. math:: \hat u_{ki} = \tanh\gamma\,\tanh\!\big((y-1)\operatorname{atanh}(\tanh\gamma\,
          \tanh\tilde h_{ki})\big),

where :math:`\tilde h_{ki}` is the cavity field of the weight from the data. :math:`\gamma=\infty`
is standard reinforcement, :math:`u = \tanh((y-1)\tilde h)`.

**Messages** are fields (:math:`h = \operatorname{atanh} m`) clipped to :math:`\pm30`. A first
layer factor (pattern :math:`\mu`, unit k) uses the central-limit (Gaussian) approximation, O(N):
with cavity magnetizations :math:`m_i`, :math:`\mu = \sum_i\xi_i m_i`,
:math:`\sigma^2 = \sum_i(1-m_i^2)`, the upward field is :math:`\operatorname{atanh}\operatorname{erf}
(\mu/\sqrt{2\sigma^2})` and the message to weight i is

.. math:: u_i = \tfrac12\big[\ell(a_H + a_+) - \ell(a_+) - \ell(a_H + a_-) + \ell(a_-)\big],\qquad
          a_\pm = \operatorname{atanh}\operatorname{erf}\frac{\bar\mu_i\pm\xi_i}{\sqrt{2\bar\sigma_i^2}},

with :math:`\ell = \log 2\cosh`, :math:`a_H` the field coming down from the output node and
:math:`\bar\mu_i,\bar\sigma_i^2` the sums without input i. The output node (K odd) is exact: the
distribution of the other K-1 votes by convolution, clamped to the label.

**Protocol.** The coupling :math:`\gamma` and the number of replicas :math:`y` are schedules of the
*focusing step* (:mod:`~physlearn.algorithms.schedules`; the papers' protocols are
:func:`~physlearn.algorithms.schedules.pseudo_reinforcement` -- the default --
:func:`~physlearn.algorithms.schedules.standard_reinforcement`,
:func:`~physlearn.algorithms.schedules.scoping` and
:func:`~physlearn.algorithms.schedules.free_scoping`). At each focusing step BP is iterated at fixed
:math:`(\gamma, y)`; the budget ``max_steps`` counts BP sweeps over all focusing steps.

**Sweeps.** ``mode="parallel"`` updates every first-layer factor from the same weight fields,
then every output node from the new upward fields, then every focusing message (vectorised; the
fast path). ``mode="sequential"`` is the reference code's dynamics: a random permutation of the
M patterns and K N focusing nodes per sweep, updated in place (Gauss--Seidel). Both are damped,
:math:`u \leftarrow (1-\lambda)u_{new} + \lambda u_{old}` in field space. A sweep's change is the
largest change of any message (as magnetization, before damping); a focusing step iterates sweeps
until it is below ``epsilon`` or ``sweeps_per_step`` sweeps were done, then moves on (as the Julia
code does; the step's ``converged`` flag says which).

**Observables** (per weight, at the end of every focusing step; PNAS 2016 appendix D): the Bethe
free entropy of the replicated system per replica,

.. math:: \phi = \frac1{NK}\Big[\sum_a\log Z_a + \sum_i\log Z_i - \sum_{(ia)}\log Z_{ia}\Big]
          + \frac1{NK}\sum_{ki}\Big[\log\cosh\gamma + \frac1y\ell(y\,b_{ki}) - \ell(b_{ki}) + \log 2
          - \log\frac{1+\tanh\tilde h_{ki}\tanh\hat u_{ki}}2\Big],

:math:`b = \operatorname{atanh}(\tanh\gamma\tanh\tilde h)`, the replica--reference overlap
:math:`S = \langle W\tilde W\rangle`, the distance :math:`d = (1-S)/2`, :math:`q = \langle m^2\rangle`
and the reference self-overlap :math:`\tilde q`. With :math:`\Phi = y\phi` the log-partition
function per weight, its :math:`y`-derivative splits it into an internal and an external part,
:math:`\phi_{int} = \partial_y\Phi` (the reference code's :math:`-\beta F`; in the star term
:math:`\ell(yb)/y` becomes :math:`b\tanh(yb)`) and :math:`\Sigma_{ext} = \Phi - y\phi_{int}` (the
entropy of the reference's marginals); the local entropy is
:math:`\Sigma_{int} = \phi_{int} - \gamma S`, the quantity of
:func:`physlearn.theory.local_entropy.fixed_coupling`. With no patterns
:math:`\phi = \log 2\cosh\gamma + \log 2/y`, :math:`\Sigma_{int} = H_2(d)` and
:math:`\Sigma_{ext} = \log 2`; along a fixed point :math:`\partial\phi/\partial\gamma = S` up to the
O(1/N) inconsistency of the Gaussian first-layer factors (tested).

Data convention: patterns carry their own labels (the reference code uses all-+1 outputs with
random inputs, equivalent by the gauge :math:`\xi\to\sigma\xi` for the perceptron).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validation as V
from .. import numerics as nm
from . import schedules
from ._network import sign_pm
from .energies import num_errors
from .problems import Problem, solve_arguments
from .results import ReplicaResult, base_fields
from .runner import run

__all__ = [
    "MODES",
    "FBP",
    "FBPState",
    "FBPInfo",
    "FBPResult",
    "solve",
    "fixed_point",
]

MODES = ("parallel", "sequential")
FIELD_MAX = 30.0  # clip of message fields (the reference code's ``mInf``)
_A_MAX = 60.0  # clip of intermediate fields in the focusing/overlap products (tanh saturated)
_LOG2 = math.log(2.0)


# ============================================================================================
# Message-passing kernels (pure, any leading shape)
# ============================================================================================
_l = nm.log2cosh


def _prod_field(g, x):
    r"""Field of :math:`\tanh g\,\tanh x` (``g`` may be ``inf``): :math:`\tfrac12[\ell(g+x)-\ell(g-x)]`."""
    finite = 0.5 * (_l(g + x) - _l(g - x))
    return jnp.where(jnp.isinf(g), x, finite)


def _log_half_1p(a, b):
    r""":math:`\log\frac{1+\tanh a\tanh b}2 = \ell(a+b)-\ell(a)-\ell(b)`."""
    return _l(a + b) - _l(a) - _l(b)


def _tanh_sech2(h):
    """``(tanh h, 1 - tanh(h)^2)`` from one exponential, without cancellation."""
    e = jnp.exp(-2.0 * jnp.abs(h))
    inv = 1.0 / (1.0 + e)
    return jnp.sign(h) * (1.0 - e) * inv, 4.0 * e * inv * inv


def _log_agree(a_h, x):
    r""":math:`\log\frac{1+\tanh(a_h)\operatorname{erf}(x)}2` as the log of a sum of two positive
    terms, :math:`\log(p_H p_E + q_H q_E)` with :math:`p_H = \sigma(2a_h)`, :math:`p_E =
    \tfrac12\operatorname{erfc}(-x)` and :math:`q = 1-p` each computed in its own tail -- no
    cancellation anywhere, one ``erfc`` and one ``log`` per element."""
    c = jax.lax.erfc(jnp.abs(x))
    big = 2.0 - c
    pos = x >= 0
    p_e = jnp.where(pos, big, c)
    q_e = jnp.where(pos, c, big)
    total = 0.5 * (jax.nn.sigmoid(2.0 * a_h) * p_e + jax.nn.sigmoid(-2.0 * a_h) * q_e)
    return jnp.log(jnp.maximum(total, jnp.finfo(total.dtype).tiny))


def _theta_update(h, xi, a_h):
    r"""First-layer factor updates (CLT). ``h`` cavity weight fields and ``xi`` inputs (..., N),
    ``a_h`` field of the output variable's cavity (...). Returns (downward fields (..., N),
    upward field (...), the upward field's erf argument (...)).

    The downward field is :math:`\tfrac12[\log(1+HE_+) - \log(1+HE_-)]` (module doc), evaluated
    with :func:`_log_agree` (equal to the log-cosh form, cheaper by a factor ~4)."""
    m, v = _tanh_sech2(h)
    xm = xi * m
    mu = jnp.sum(xm, axis=-1)
    s2 = jnp.sum(v, axis=-1)
    tiny = jnp.finfo(h.dtype).tiny ** 0.5
    arg = mu / jnp.sqrt(2.0 * jnp.maximum(s2, tiny))
    up = jnp.clip(nm.atanh_erf_fused(jnp.clip(arg, -12.0, 12.0)), -FIELD_MAX, FIELD_MAX)
    mub = mu[..., None] - xm
    inv = jax.lax.rsqrt(2.0 * jnp.maximum(s2[..., None] - v, tiny))
    ah = a_h[..., None]
    u = 0.5 * (_log_agree(ah, (mub + xi) * inv) - _log_agree(ah, (mub - xi) * inv))
    return jnp.clip(u, -FIELD_MAX, FIELD_MAX), up, arg


def _vote_distributions(p):
    """Leave-one-out vote-count distributions: ``p (..., K)`` the probabilities that each hidden
    unit votes +1; returns ``(..., K, K)``, entry ``[..., k, c]`` the probability that c of the
    other K-1 units vote +1."""
    K = p.shape[-1]
    dist = jnp.zeros(p.shape + (K,), p.dtype).at[..., 0].set(1.0)
    kk = jnp.arange(K)

    def body(j, dist):
        pj = jnp.take(p, j, axis=-1)[..., None, None]
        shifted = jnp.concatenate([jnp.zeros_like(dist[..., :1]), dist[..., :-1]], axis=-1)
        new = dist * (1.0 - pj) + shifted * pj
        return jnp.where((kk == j)[:, None], dist, new)

    return jax.lax.fori_loop(0, K, body, dist)


def _output_update(up, sigma):
    """Exact output node clamped to the label ``sigma (...)``: fields down to the hidden units
    from their upward fields ``up (..., K)``. Returns ``(fields (..., K), log P(output = sigma))``."""
    K = up.shape[-1]
    s = sigma[..., None]
    if K == 1:
        field = jnp.broadcast_to(FIELD_MAX * s, up.shape).astype(up.dtype)
        return field, jax.nn.log_sigmoid(2.0 * s[..., 0] * up[..., 0])
    p = jax.nn.sigmoid(2.0 * up)
    dist = _vote_distributions(p)
    half = (K - 1) // 2
    p_m = jnp.sum(dist[..., :half], axis=-1)
    p_z = dist[..., half]
    p_p = jnp.sum(dist[..., half + 1 :], axis=-1)
    num = jnp.where(s > 0, p_p + p_z, p_m)
    den = jnp.where(s > 0, p_p, p_m + p_z)
    f = 0.5 * (jnp.log(num) - jnp.log(den))
    f = jnp.where(p_z > 0, f, 0.0)
    f = jnp.clip(jnp.nan_to_num(f, nan=0.0), -FIELD_MAX, FIELD_MAX)
    # P(output = sigma) from unit 0's leave-one-out distribution
    p0 = p[..., 0]
    win = jnp.where(s[..., 0] > 0, p_p[..., 0] + p_z[..., 0] * p0, p_m[..., 0] + p_z[..., 0] * (1.0 - p0))
    return f, jnp.log(win)


def _focusing(hx, g, r):
    """Focusing messages from cavity fields ``hx``: field of tanh(g) tanh(r atanh(tanh g tanh hx))."""
    a = _prod_field(g, hx)
    ra = jnp.where(jnp.isinf(r), jnp.sign(a) * _A_MAX, r * jnp.clip(a, -_A_MAX, _A_MAX))
    ra = jnp.clip(ra, -_A_MAX, _A_MAX)
    u = _prod_field(g, ra)
    u = jnp.where((r == 0) | (g == 0), 0.0, u)
    return jnp.clip(u, -FIELD_MAX, FIELD_MAX)


def _mag_change(new, old):
    return jnp.max(jnp.abs(jnp.tanh(new) - jnp.tanh(old)), initial=0.0)


# ============================================================================================
# The algorithm (shared-driver protocol: init / step)
# ============================================================================================
class FBPState(eqx.Module):
    """Messages (fields): ``uw (M, K, N)`` first layer -> weights, ``up (M, K)`` first layer ->
    hidden units, ``down (M, K)`` output node -> hidden units, ``ux (K, N)`` focusing ->
    weights; ``t`` the focusing step to do next; ``sweeps`` done so far."""

    uw: jax.Array
    up: jax.Array
    down: jax.Array
    ux: jax.Array
    t: jax.Array
    sweeps: jax.Array


class FBPInfo(eqx.Module):
    """Per focusing step report (at the end of the step's sweeps).

    ``errors``: training errors of :math:`\\mathrm{sign}(m_W)`; ``best_errors``: the same
    (symmetric replicas); ``reference_errors``: of the reference :math:`\\mathrm{sign}(\\tilde m)`;
    ``converged``; ``iterations``: sweeps of the step; ``max_diff``: last sweep's change;
    ``gamma``, ``y``: the step's parameters; ``overlap`` S, ``distance`` d = (1-S)/2, ``q``,
    ``q_ref``; per weight: ``free_entropy`` :math:`\\phi=\\Phi/y`, ``internal_free_entropy``
    :math:`\\phi_{int}=\\partial_y\\Phi` (the reference code's :math:`-\\beta F`), ``local_entropy``
    :math:`\\Sigma_{int}=\\phi_{int}-\\gamma S` and ``external_entropy``
    :math:`\\Sigma_{ext} = y(\\phi-\\phi_{int})` (both free entropies are ``inf`` at
    :math:`\\gamma=\\infty`; the entropies stay finite); ``halted``: the sweep budget is used up."""

    errors: jax.Array
    best_errors: jax.Array
    reference_errors: jax.Array
    converged: jax.Array
    iterations: jax.Array
    max_diff: jax.Array
    gamma: jax.Array
    y: jax.Array
    overlap: jax.Array
    distance: jax.Array
    q: jax.Array
    q_ref: jax.Array
    free_entropy: jax.Array
    internal_free_entropy: jax.Array
    local_entropy: jax.Array
    external_entropy: jax.Array
    halted: jax.Array


def _inputs(problem: Problem, dtype):
    x = problem.inputs.astype(dtype)
    return x if problem.tree else x[..., :, None, :]  # (M, K|1, N)


class FBP(eqx.Module):
    """fBP hyper-parameters: ``gamma`` and ``y`` are schedules of the focusing step; numbers may
    carry a leading hyper-parameter axis. ``sweeps_per_step``: BP sweeps per focusing step at most;
    ``max_steps``: BP sweeps in all."""

    gamma: schedules.Schedule
    y: schedules.Schedule
    damping: jax.Array
    epsilon: jax.Array
    randfact: jax.Array
    sweeps_per_step: int = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)
    mode: str = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    # ---- init ---------------------------------------------------------------------------------
    def init(self, key, problem: Problem):
        dt = jnp.dtype(self.dtype)
        M, K, N = problem.m, problem.k, problem.n
        m0 = self.randfact.astype(dt) * jax.random.uniform(key, (M, K, N), dt, -1.0, 1.0)
        z = jnp.zeros((M, K), dt)
        return FBPState(
            uw=jnp.arctanh(m0), up=z, down=z, ux=jnp.zeros((K, N), dt),
            t=jnp.zeros((), jnp.int32), sweeps=jnp.zeros((), jnp.int32),
        )

    # ---- sweeps ------------------------------------------------------------------------------
    def _sweep_parallel(self, key, s: FBPState, xi, sigma, g, r):
        lam = self.damping.astype(xi.dtype)
        mw = s.ux + jnp.sum(s.uw, axis=0)
        h = mw[None] - s.uw
        u_new, up_new, _ = _theta_update(h, xi, s.down)
        # materialise the new messages once: without the barrier XLA fuses the whole first-layer
        # computation into the convergence check as well, doing it twice
        u_new = jax.lax.optimization_barrier(u_new)
        uw = (1 - lam) * u_new + lam * s.uw
        up = (1 - lam) * up_new + lam * s.up
        down_new, _ = _output_update(up, sigma)
        down = (1 - lam) * down_new + lam * s.down
        mw = s.ux + jnp.sum(uw, axis=0)
        hx = mw - s.ux
        ux_new = _focusing(hx, g, r)
        ux = (1 - lam) * ux_new + lam * s.ux
        diff = jnp.maximum(jnp.maximum(_mag_change(u_new, s.uw), _mag_change(down_new, s.down)),
                           _mag_change(ux_new, s.ux))
        return eqx.tree_at(lambda z: (z.uw, z.up, z.down, z.ux), s, (uw, up, down, ux)), diff

    def _sweep_sequential(self, key, s: FBPState, xi, sigma, g, r):
        lam = self.damping.astype(xi.dtype)
        M, K, N = s.uw.shape
        order = jax.random.permutation(key, M + K * N)
        skip_focus = (r == 0) | (g == 0)

        def pattern(mu, c):
            uw, up, down, ux, mw, diff = c
            old = uw[mu]
            h = mw - old
            x = jnp.broadcast_to(xi[mu], (K, N))
            u_new, up_new, _ = _theta_update(h, x, down[mu])
            u = (1 - lam) * u_new + lam * old
            upd = (1 - lam) * up_new + lam * up[mu]
            d_new, _ = _output_update(upd[None], sigma[mu][None])
            dd = (1 - lam) * d_new[0] + lam * down[mu]
            diff = jnp.maximum(diff, jnp.maximum(_mag_change(u_new, old), _mag_change(d_new[0], down[mu])))
            return uw.at[mu].set(u), up.at[mu].set(upd), down.at[mu].set(dd), ux, h + u, diff

        def focus(j, c):
            uw, up, down, ux, mw, diff = c
            k, i = j // N, j % N
            hx = mw[k, i] - ux[k, i]
            new = _focusing(hx, g, r)
            v = (1 - lam) * new + lam * ux[k, i]
            diff = jnp.maximum(diff, jnp.where(skip_focus, 0.0, _mag_change(new, ux[k, i])))
            v = jnp.where(skip_focus, ux[k, i], v)
            return uw, up, down, ux.at[k, i].set(v), mw.at[k, i].set(hx + v), diff

        def body(t, c):
            item = order[t]
            return jax.lax.cond(item < M, pattern, focus, jnp.where(item < M, item, item - M) , c)

        mw = s.ux + jnp.sum(s.uw, axis=0)
        c0 = (s.uw, s.up, s.down, s.ux, mw, jnp.zeros((), xi.dtype))
        uw, up, down, ux, _, diff = jax.lax.fori_loop(0, M + K * N, body, c0)
        return eqx.tree_at(lambda z: (z.uw, z.up, z.down, z.ux), s, (uw, up, down, ux)), diff

    # ---- one protocol step ---------------------------------------------------------------------
    def step(self, key, state: FBPState, problem: Problem):
        dt = jnp.dtype(self.dtype)
        xi = _inputs(problem, dt)
        sigma = problem.labels.astype(dt)
        g = self.gamma(state.t).astype(dt)
        y = self.y(state.t).astype(dt)
        r = y - 1.0
        sweep = self._sweep_parallel if self.mode == "parallel" else self._sweep_sequential
        eps = self.epsilon.astype(dt)

        budget = self.max_steps - state.sweeps  # sweeps left

        def cond(c):
            _, it, diff, _ = c
            return (it < self.sweeps_per_step) & (diff >= eps) & (it < budget)

        def body(c):
            s, it, _, k = c
            k, sub = jax.random.split(k)
            s, diff = sweep(sub, s, xi, sigma, g, r)
            return s, it + 1, diff, k

        s, it, diff, _ = jax.lax.while_loop(cond, body, (state, jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, dt), key))
        s = eqx.tree_at(lambda z: (z.t, z.sweeps), s, (state.t + 1, state.sweeps + it))
        info = _observables(s, problem, xi, sigma, g, y)
        info = eqx.tree_at(lambda z: (z.converged, z.iterations, z.max_diff, z.halted), info,
                           (diff < eps, it, diff, s.sweeps >= self.max_steps))
        return s, info


def _observables(s: FBPState, problem: Problem, xi, sigma, g, y) -> FBPInfo:
    """Bethe free entropy, overlaps and errors at the current messages (see the module doc)."""
    dt = xi.dtype
    M, K, N = s.uw.shape
    mw = s.ux + jnp.sum(s.uw, axis=0)
    h = mw[None] - s.uw
    _, _, arg = _theta_update(h, xi, s.down)
    # first-layer factors log Z_a; hidden units (degree 2) -log Z; output nodes log Z_a
    f_theta = jnp.sum(_log_agree(s.down, arg))
    f_hidden = -jnp.sum(_log_half_1p(s.up, s.down))
    _, log_win = _output_update(s.up, sigma)
    f_out = jnp.sum(log_win)
    # weights log Z_i minus their first-layer edges log((1 + tanh h tanh u)/2) = l(h+u)-l(h)-l(u):
    # with h + u = m_W for every edge, l(m_W) - l(u_x) - sum_mu l(u) - sum_mu [l(m_W) - l(h) - l(u)]
    f_weights = jnp.sum(-(M - 1) * _l(mw) - _l(s.ux)) + jnp.sum(_l(h))
    # the focusing star (reference traced out), per replica: the internal part d(log Z)/dy
    hx = mw - s.ux
    b = _prod_field(g, hx)
    yb = jnp.where(jnp.isinf(y), jnp.sign(b) * jnp.inf, y * b)
    yb = jnp.where(b == 0, 0.0, yb)
    x_ref = jnp.tanh(yb)
    site_int = _LOG2 + x_ref * b - _l(b) - _log_half_1p(hx, s.ux)
    # external part: the entropy of the reference's marginal, l(yb) - yb tanh(yb) (0 at y = inf)
    site_ext = jnp.where(jnp.isinf(yb), 0.0, _l(yb) - yb * x_ref)
    # overlap S = <W W~>: product field of (cavity, reference's field from the other y-1), + gamma
    rb = jnp.where(jnp.isinf(y), jnp.sign(b) * _A_MAX, jnp.clip((y - 1.0) * b, -_A_MAX, _A_MAX))
    z = _prod_field(hx, rb) + g
    S_site = jnp.where(jnp.isinf(g), 1.0, jnp.tanh(z))
    S = jnp.mean(S_site)
    # log cosh(g) - g S_site = g (1 - S_site) + log1p(e^{-2g}) - log 2, finite at g = inf
    one_minus_S = jnp.where(jnp.isinf(g), 0.0, 2.0 * jax.nn.sigmoid(-2.0 * z))
    gS = jnp.where(jnp.isinf(g) | (g == 0), 0.0, g * one_minus_S)
    lc_minus_gS = gS + jnp.log1p(jnp.exp(-2.0 * g)) - _LOG2
    nk = float(N * K)
    data = (f_theta + f_hidden + f_out + f_weights) / nk
    local = data + jnp.mean(site_int + lc_minus_gS)
    phi_int = jnp.where(jnp.isinf(g), jnp.inf, local + g * S)
    external = jnp.mean(site_ext)
    phi = phi_int + jnp.where(jnp.isinf(y), 0.0, external / y)
    q = jnp.mean(jnp.tanh(mw) ** 2)
    q_ref = jnp.mean(x_ref**2)
    W = sign_pm(mw)
    Wref = sign_pm(b)
    err = num_errors(W, problem).astype(jnp.int32)
    ref_err = num_errors(Wref, problem).astype(jnp.int32)
    zero = jnp.zeros((), jnp.int32)
    return FBPInfo(
        errors=err, best_errors=err, reference_errors=ref_err, converged=jnp.zeros((), bool),
        iterations=zero, max_diff=jnp.zeros((), dt), gamma=g, y=y, overlap=S,
        distance=(1.0 - S) / 2.0, q=q, q_ref=q_ref, free_entropy=phi, internal_free_entropy=phi_int,
        local_entropy=local, external_entropy=external, halted=jnp.zeros((), bool),
    )


# ============================================================================================
# Public entry points
# ============================================================================================
class FBPResult(ReplicaResult):
    """Result of :func:`solve` (:class:`~physlearn.algorithms.results.ReplicaResult`; every array
    has the batch axes ``(P?, S?)`` in front).

    - ``solved`` (bool): :math:`\\mathrm{sign}(m_W)` classifies every pattern;
    - ``steps``: BP sweeps done in all; ``errors``: training errors of ``weights``;
    - ``weights (..., K, N)`` int8: :math:`\\mathrm{sign}(m_W)`;
    - ``trace``: per focusing step :class:`FBPInfo` (zero past ``focusing_steps``), or ``None``;
    - ``centre (..., K, N)`` int8: the reference :math:`\\mathrm{sign}(\\tilde m)`;
      ``centre_errors``: its training errors; ``replica_errors (..., 1)``: the (single, symmetric)
      replica's errors, as in ``rsgd.solve``;
    - ``focusing_steps``: focusing (protocol) steps done; ``converged``: whether the last step's BP
      converged; ``info``: :class:`FBPInfo` of the last step (the observables).
    """

    focusing_steps: jax.Array
    converged: jax.Array
    info: FBPInfo

    @property
    def iterations(self):
        """The BP sweeps, deprecated (read ``steps``)."""
        V.warn_deprecated("FBPResult.iterations is deprecated: the BP sweeps are FBPResult.steps")
        return self.steps


def _build(gamma, y, damping, epsilon, randfact, sweeps_per_step, max_steps, mode, dtype):
    V.choice("mode", mode, MODES)
    sweeps_per_step = V.integer("sweeps_per_step", sweeps_per_step)
    dt = V.float_dtype(dtype)
    hp = {
        "gamma": schedules.check("gamma", gamma, allow_inf=True),
        "y": schedules.check("y", y, allow_inf=True, at_least=1.0),
        "damping": V.hyper_parameter("damping", damping, below=1.0),
        "epsilon": V.hyper_parameter("epsilon", epsilon, positive=True),
        "randfact": V.hyper_parameter("randfact", randfact, below=1.0),
    }
    steps = schedules.Protocol(hp["gamma"], hp["y"]).steps
    if max_steps is None:
        if steps is None:
            raise ValueError(
                "max_steps (the budget of BP sweeps) is required when neither gamma nor y is a finite protocol "
                "(a schedules.table or a schedules.Protocol); for a fixed point at one (gamma, y) use fbp.fixed_point"
            )
        max_steps = steps * sweeps_per_step
    max_steps = V.integer("max_steps", max_steps)
    hp, P = schedules.hyper_batch(hp, dt)
    algo = FBP(**hp, sweeps_per_step=sweeps_per_step, max_steps=max_steps, mode=mode, dtype=dt.name)
    # one driver step per focusing step: the protocol's length, or at most one per sweep
    return algo, P, steps if steps is not None else max_steps


_DEFAULT = schedules.pseudo_reinforcement(0.01)


@V.renamed_arguments(
    protocol="gamma=..., y=... (schedules; gamma, y = schedules.pseudo_reinforcement(0.01))",
    max_iters="sweeps_per_step (BP sweeps per focusing step; max_steps is the budget of sweeps in all)",
    stop_at_zero="stop ('any' or 'never')",
)
def solve(
    key,
    problem: Problem,
    *,
    gamma=None,
    y=None,
    damping=0.5,
    epsilon=1e-3,
    sweeps_per_step: int | None = None,
    mode: str = "parallel",
    randfact=0.1,
    max_steps: int | None = None,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> FBPResult:
    r"""Train a binary perceptron / committee machine with focusing BP (Baldassi et al., PNAS 113,
    E7655 (2016), sec. VI and appendix D).

    Runs the focusing protocol step by step; at each step (γ, y) the BP equations of the module
    docstring are iterated until the largest message change is below ``epsilon`` or
    ``sweeps_per_step`` sweeps were done; the run stops at the first step where
    :math:`\mathrm{sign}(m_W)` classifies every pattern (``stop="any"``), at the end of the
    protocol or when the sweep budget is used.

    **Arguments:**

    - ``key``: a JAX PRNG key, ``jax.random.key(seed)`` (sample ``i`` of a batch uses
      ``fold_in(key, i)``).
    - ``problem``: a :class:`~physlearn.algorithms.problems.Problem` (perceptron, committee or
      tree; K odd), one instance or a batch with one leading sample axis.
    - ``gamma``, ``y``: the coupling (may be ``inf``) and the number of replicas (>= 1, may be
      ``inf``), numbers or schedules of the focusing step. Default (both ``None``): the
      pseudo-reinforcement protocol of PNAS 2016, ``gamma, y =
      schedules.pseudo_reinforcement(0.01)`` (100 focusing steps). A table (see
      :mod:`~physlearn.algorithms.schedules`) sets the number of focusing steps; a P-point batch of
      protocols is ``schedules.stack([...])``.
    - ``damping``: :math:`\lambda\in[0,1)` (0.5 default: the parallel schedule oscillates without
      it); ``epsilon``: convergence threshold on the message change.
    - ``sweeps_per_step``: BP sweeps per focusing step at most. Default: 1 for the perceptron (one
      sweep per step: at N = 1001 it solves alpha = 0.7 in 15 of 16 instances; 20 sweeps per step
      did no better on 8 instances, at 9x the cost) and 100 for committee machines (with one sweep
      per step the committee often stays in the permutation-symmetric state: K = 5, N = 201 solved
      0/16 at alpha = 0.2 and 6/16 at 0.5, against 8/8 at both with 100). Use e.g. 1000 for
      converged thermodynamics.
    - ``mode``: ``"parallel"`` (vectorised, fast) or ``"sequential"`` (random-order in-place
      sweeps of the reference code).
    - ``randfact``: initial first-layer messages are ``randfact * U(-1, 1)`` magnetizations.
    - ``max_steps``: budget in **BP sweeps** over all focusing steps. Default: the whole protocol
      (its number of steps times ``sweeps_per_step``); required when ``gamma`` and ``y`` have no
      end (numbers, :func:`~physlearn.algorithms.schedules.linear`, optax schedules, ...).
    - ``stop``: ``"any"`` or ``"centre"`` (the same here: stop when :math:`\mathrm{sign}(m_W)` has
      zero training errors, the reference code's ``outatzero``) or ``"never"`` (the whole
      protocol, e.g. to measure the thermodynamics along it).
    - ``dtype``: float dtype of the messages; ``trace``: keep every focusing step's
      :class:`FBPInfo`; ``progress``: ``rich`` progress bar (``None``: once the run lasts a few
      seconds).
    - ``mesh``: shard the samples axis of a batched ``problem`` over devices (a
      ``jax.sharding.Mesh`` with an axis ``"samples"``, a number of devices or ``"auto"``; see
      :func:`physlearn.algorithms.runner.run`); the results equal the single-device run.

    ``damping``, ``epsilon``, ``randfact`` and the numbers of ``gamma`` and ``y`` may be 1-D arrays of
    equal length P (hyper-parameter points, broadcast with scalars); the result then has a leading
    axis P.

    **Returns:** :class:`FBPResult`.

    The defaults (pseudo-reinforcement with step 0.01, damping 0.5) solve random perceptrons with
    N = 1001 up to alpha ~ 0.7 and committee machines (K = 5, N = 201) up to alpha = 0.5
    (``docs/experiments/fbp.md``).
    """
    key, problem, _, _ = solve_arguments(key, problem, max_steps=1, stop=stop, dtype=dtype)
    if (gamma is None) != (y is None):
        raise ValueError(
            "gamma and y form one protocol: give both (e.g. gamma, y = schedules.pseudo_reinforcement(0.01))"
        )
    if gamma is None:
        gamma, y = _DEFAULT
    if sweeps_per_step is None:
        sweeps_per_step = 1 if problem.k == 1 else 100
    algo, P, T = _build(gamma, y, damping, epsilon, randfact, sweeps_per_step, max_steps, mode, dtype)
    res = run(
        algo, key, problem, max_steps=T, stop=stop, hyper_batch=P, trace=trace, progress=progress,
        description=f"fBP ({mode})", mesh=mesh,
    )
    return _result(res, problem, trace, P is not None)


@eqx.filter_jit
def _result(res, problem, trace, hyper):
    info = res.info
    mw = res.state.ux + jnp.sum(res.state.uw, axis=-3)
    hx = mw - res.state.ux
    b = _prod_field(info.gamma[..., None, None], hx)
    W = sign_pm(mw).astype(jnp.int8)
    C = sign_pm(b).astype(jnp.int8)
    # solved: sign(m_W) classifies every pattern, whatever the stopping rule ("never" included)
    return FBPResult(
        **base_fields(res, W, problem, trace=trace, hyper=hyper, stop="never", steps=res.state.sweeps),
        centre_errors=info.reference_errors,
        replica_errors=info.errors[..., None],
        centre=C,
        focusing_steps=res.steps,
        converged=info.converged,
        info=info,
    )


@V.renamed_arguments(max_iters="max_steps (BP sweeps)")
def fixed_point(
    key,
    problem: Problem,
    *,
    y,
    gamma,
    damping=0.5,
    epsilon=1e-6,
    max_steps: int = 2000,
    mode: str = "parallel",
    randfact=0.1,
    dtype=None,
    progress: bool | None = None,
    mesh=None,
) -> FBPInfo:
    r"""Iterate fBP at one (or a batch of) ``(y, gamma)`` from a random start until converged and
    return the observables (:class:`FBPInfo`): overlap S with the reference, distance d, q,
    :math:`\tilde q`, Bethe free entropy :math:`\phi` and local entropy :math:`\Sigma_{int} =
    \phi-\gamma S` (PNAS 2016, appendix D). ``y`` and ``gamma`` are numbers or 1-D arrays of equal
    length (independent fixed points, a leading axis in the result). ``max_steps``: budget in
    **BP sweeps**. Check ``converged``.

    For curves at fixed y and growing γ, warm starts are better: ``solve(..., gamma=
    schedules.table(gammas), y=y, stop="never", sweeps_per_step=..., trace=True)``. ``mesh``: shard
    the samples axis of a batched ``problem`` over devices, as in :func:`solve`.
    """
    if dtype is None:
        dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    key, problem, max_steps, _ = solve_arguments(key, problem, max_steps=max_steps, stop="never", dtype=dtype)
    gg = V.hyper_parameter("gamma", gamma, allow_inf=True)
    yy = V.hyper_parameter("y", y, allow_inf=True, at_least=1.0)
    algo, P, _ = _build(gg, yy, damping, epsilon, randfact, max_steps, max_steps, mode, dtype)
    res = run(algo, key, problem, max_steps=1, stop="never", hyper_batch=P, progress=progress,
              description=f"fBP fixed point ({mode})", mesh=mesh)
    return res.info


# ------------------------------------------------------------------------------------------------
# the focusing protocols moved to physlearn.algorithms.schedules
# ------------------------------------------------------------------------------------------------
def _moved(name):
    def fn(*args, **kwargs):
        V.warn_deprecated(f"fbp.{name} is deprecated: use physlearn.algorithms.schedules.{name}, which returns a "
                          "(gamma, y) pair for fbp.solve(gamma=..., y=...)")
        return getattr(schedules, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Deprecated alias of :func:`physlearn.algorithms.schedules.{name}`."
    return fn


standard_reinforcement = _moved("standard_reinforcement")
pseudo_reinforcement = _moved("pseudo_reinforcement")
scoping = _moved("scoping")
free_scoping = _moved("free_scoping")


def __getattr__(name):
    if name == "Protocol":
        V.warn_deprecated("fbp.Protocol is deprecated: use physlearn.algorithms.schedules.Protocol (gamma, y)")
        return schedules.Protocol
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
