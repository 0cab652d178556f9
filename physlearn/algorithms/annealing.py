r"""The Metropolis engine shared by the simulated-annealing algorithms on binary perceptrons and
committee machines -- :mod:`~physlearn.algorithms.replicated_sa` (replicated SA),
:mod:`~physlearn.algorithms.standard_sa` (standard SA) and :mod:`~physlearn.algorithms.quantum_sa`
(quantum, Suzuki--Trotter SA), each with its own ``solve`` -- and the time-to-solution analysis
(:func:`moves_to_solution`, :func:`scaling_fits`).

References:

* C. Baldassi, C. Borgs, J. T. Chayes, A. Ingrosso, C. Lucibello, L. Saglietti, R. Zecchina,
  "Unreasonable effectiveness of learning neural networks: from accessible states and robust
  ensembles to basic algorithmic schemes", PNAS 113, E7655 (2016), section IV and appendix B
  (Figs. 2 and 7: solve time polynomial in N with the interaction, exponential without).
* C. Baldassi, R. Zecchina, "Efficiency of quantum vs. classical annealing in nonconvex learning
  problems", PNAS 115, 1457 (2018) (quantum simulated annealing, QSA).

**The sampled measures.** A chain holds ``y`` replicas :math:`W^a \in \{\pm1\}^{K\times N}` of the
network. With the data energy :math:`E(W)` (``energy="minflip"``: the minimum number of weight
flips that fix every pattern, PNAS 2016 eq. 9, the energy of appendix B.1; ``energy="errors"``:
the number of misclassified patterns) the chain samples :math:`P \propto e^{-\beta H}` with

* replicated SA, ``interaction="traced"`` (robust ensemble with the centre traced out,
  eq. 14 of appendix B):

  .. math:: H = \sum_a E(W^a) - \frac{1}{\beta}\sum_{k,i}\log 2\cosh\Big(\gamma\sum_a W^a_{ki}\Big)

  (:math:`\gamma` is *not* multiplied by :math:`\beta`: the weight of a configuration is
  :math:`e^{-\beta\sum_a E(W^a)}\prod_{ki}2\cosh(\gamma\sum_a W^a_{ki})`);
* replicated SA, ``interaction="explicit"``: an explicit reference :math:`\tilde W` with no
  data energy, :math:`H = \sum_a E(W^a) - \frac{\gamma}{\beta}\sum_{ki}\tilde W_{ki}\sum_a
  W^a_{ki}`; the reference spins are flipped by the same Metropolis moves;
* standard SA: :math:`\gamma = 0`, i.e. ``y`` independent simulated annealings (started
  from the same configuration), the run stopping when any of them reaches zero energy;
* quantum SA: the Suzuki--Trotter representation of :math:`E - \Gamma\sum_{ki}
  \sigma^x_{ki}` at inverse temperature :math:`\beta` with ``y`` Trotter slices on a ring,

  .. math:: H = \frac{1}{y}\sum_a E(W^a) - \frac{\gamma_\Gamma}{\beta}\sum_{a=1}^{y}\sum_{ki}
     W^a_{ki}W^{a+1}_{ki},\qquad \gamma_\Gamma = -\tfrac12\log\tanh\frac{\beta\Gamma}{y}
     = \operatorname{atanh}\big(e^{-2\beta\Gamma/y}\big),

  with :math:`W^{y+1}\equiv W^1` (for ``y = 2`` the ring has the bond 1--2 twice, as the formula
  says; the additive constant of the transformation is dropped). As :math:`\Gamma\to0`,
  :math:`\gamma_\Gamma\to\infty` and the slices collapse onto one classical configuration.

**Moves (one chain, strictly sequential).** A move picks one spin (a replica ``a`` -- or the
reference -- and a weight ``(k, i)``) and flips it with the Metropolis probability
:math:`\min(1, e^{-\beta\Delta H})`. ``proposal="uniform"`` picks the spin uniformly (appendix B);
``proposal="biased"`` absorbs the interaction into the choice of the spin, in the spirit of appendix
B.2, with a Metropolis--Hastings form of our own (not the paper's hypergeometric class rule): spin
``j`` is proposed with probability :math:`q_j = \min(1, e^{L_j})/Z` where :math:`L_j` is the change
of the log interaction weight caused by flipping ``j`` and :math:`Z = \sum_j\min(1, e^{L_j})`, and
accepted with probability :math:`\min(1, e^{-\beta\Delta E_{data}}Z/Z')` (:math:`Z'` after the
flip). Detailed balance holds exactly; the interaction never causes a rejection, only the small
:math:`Z/Z'` correction does. Its cost is :math:`O(yKN)` per move.

**Energy bookkeeping.** The chain keeps the integer stabilities :math:`\Delta^\mu_{ak} = \sigma^\mu
\sum_i \xi^\mu_{(k)i} W^a_{ki}` (``(y, K, M)`` int32), the per-replica data energies and the site
sums :math:`\sum_a W^a_{ki}`. Flipping :math:`W^a_{ki}` shifts :math:`\Delta^\mu_{ak}` by
:math:`-2W^a_{ki}\sigma^\mu\xi^\mu_{(k)i}` for every :math:`\mu`; the energy difference is the sum
of the per-pattern energies of the shifted row minus the stored energy. The reference code
(RRRMC.jl) tracks the set of marginal patterns so that a rejected move costs O(#marginal); on fixed
shapes we instead do the masked, vectorised O(M K) update, which is what XLA does well. The
interaction part is O(y) (a log 2cosh difference of the site sum, computed stably also at
:math:`\gamma=\infty`). ``tests/test_annealing.py`` checks the stored quantities against a full
recomputation with :mod:`physlearn.algorithms.energies` after every move.

**Schedules (appendix B.3).** All replicas start from the same random network. The inverse
temperature :math:`\beta`, the coupling :math:`\gamma` (replicated SA) and the transverse field
:math:`\Gamma` (quantum SA) are numbers or schedules of the *schedule update* :math:`k`
(:mod:`~physlearn.algorithms.schedules`): after every ``schedule_every`` *accepted* moves,
:math:`k \leftarrow k+1` and each takes its value at :math:`k` -- e.g. annealing
:math:`\beta_k = \beta_0 f_\beta^k` is ``schedules.exponential(beta0, f_beta)``. The run stops at
the first move after which some replica has zero data energy (solved), or after ``give_up``
consecutive non-improving moves (a move is non-improving if it is rejected or does not lower
:math:`H`): the chain is frozen in a local minimum. A frozen chain is restarted from a fresh random
network at :math:`k = 0` if ``restarts`` allow it, and otherwise ends with ``gave_up=True``. Every
attempted move counts, including those of abandoned attempts.

The paper's numerical values of :math:`\beta_0, \gamma_0, f_\beta, f_\gamma`, the number of
accepted moves per schedule update and the give-up length were lost from the text available to us;
the defaults of the three ``solve`` functions are our own, chosen so that random perceptrons well
inside capacity are solved out of the box.

**Batching.** A step of the shared driver (:func:`~physlearn.algorithms.runner.run`) is a block of
``moves_per_step`` attempted moves (a fixed-length ``lax.fori_loop``; a chain that is solved,
frozen or out of budget idles for the rest of the block, so move counts are exact). Disorder samples, independent
runs (``runs``) and hyper-parameter points are ``vmap`` axes: an accelerator runs thousands of
chains, each with its exact sequential dynamics.

**The native CPU kernel.** On the CPU a block of uniform-proposal moves runs in one C++ loop per
chain (:mod:`physlearn._native`, an XLA FFI custom call; the chains are spread over XLA's thread
pool), built on first use with the system's C++ compiler. It draws the same threefry bits,
reads the same XLA-computed floats (acceptance log uniforms, data scales, the interaction
log-ratios tabulated per schedule update) and keeps the same integer bookkeeping as the
jax.numpy moves, so its trajectories are the same bit for bit (``tests/test_native.py``). The
jax.numpy path runs on accelerators, for ``proposal="biased"``, without a compiler, or with
``PHYSLEARN_NATIVE=0``.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _native
from .. import _validation as V
from . import schedules
from ._network import sum_of_smallest
from .problems import Problem, solve_arguments
from .results import ReplicaResult, base_fields
from .runner import run

__all__ = [
    "INTERACTIONS",
    "ENERGIES",
    "PROPOSALS",
    "Chain",
    "AnnealState",
    "AnnealInfo",
    "AnnealResult",
    "pattern_energies",
    "quantum_coupling",
    "moves_to_solution",
    "scaling_fits",
]

KINDS = ("replicated", "standard", "quantum")  # the deprecated solve(kind=...)
INTERACTIONS = ("traced", "explicit")
ENERGIES = ("minflip", "errors")
PROPOSALS = ("uniform", "biased")

_BIG = 1 << 28


# ------------------------------------------------------------------------------------------------
# Energies on integer stabilities
# ------------------------------------------------------------------------------------------------
def pattern_energies(stab, energy: str = "minflip"):
    r"""Per-pattern data energies from integer hidden stabilities ``stab (..., K, M)``
    (:math:`\Delta_k = \sigma h_k`, odd integers) -> ``(..., M)`` int32.

    ``"errors"``: 1 if the majority vote :math:`\sum_k \mathrm{sign}\Delta_k` is negative;
    ``"minflip"``: the minimum number of weight flips that fix the pattern (PNAS 2016 eqs. 9--13):
    the :math:`n_{fix} = \max(0, (1-\sum_k\mathrm{sign}\Delta_k)/2)` cheapest wrong units, a wrong
    unit costing :math:`(1-\Delta_k)/2` flips (for the perceptron :math:`\Theta(-\Delta)(1-\Delta)/2`).

    This is the integer form of :func:`physlearn.algorithms.energies.min_flips_per_pattern` and
    :func:`~physlearn.algorithms.energies.errors_per_pattern` (the shared energies), evaluated on
    stored stabilities; the tests check the two against each other after every move.
    """
    return _energies(stab, energy, -2)


def _energies(stab, energy: str, axis: int):
    """:func:`pattern_energies` with the hidden units on ``axis`` (the patterns on the other
    axes: the moves lay them out as ``(m1, 32)``, see :func:`_pattern_dims`)."""
    stab = jnp.moveaxis(stab.astype(jnp.int32), axis, 0)
    K = stab.shape[0]
    if K == 1:
        s = stab[0]
        if energy == "errors":
            return (s < 0).astype(jnp.int32)
        return jnp.where(s < 0, (1 - s) // 2, 0)
    votes = jnp.sum(jnp.where(stab > 0, 1, -1), axis=0, dtype=jnp.int32)
    if energy == "errors":
        return (votes < 0).astype(jnp.int32)
    nfix = jnp.maximum(0, (1 - votes) // 2)
    cost = jnp.where(stab < 0, (1 - stab) // 2, _BIG)
    return sum_of_smallest(cost, nfix, (K + 1) // 2)  # at most (K + 1) / 2 units need fixing


def _pattern_dims(m: int) -> tuple[int, ...]:
    """The layout of M patterns inside a block of moves: ``(m1, 32)`` (``(m2, 32, 32)``, ...) with
    ``prod >= M``, padded. XLA:CPU splits a reduction over a dimension longer than 32 into a
    reduce-window and a second reduction over a materialised input (three kernels per move where
    one does); with every pattern dimension at most 32 long the energy sum of a move stays one
    kernel."""
    dims, n = [], m
    while n > 32:
        dims.insert(0, 32)
        n = -(-n // 32)
    return (n, *dims)


def _to_pattern_dims(x, fill):
    """Pad the last (pattern) axis of ``x`` with ``fill`` and lay it out as :func:`_pattern_dims`."""
    dims = _pattern_dims(x.shape[-1])
    x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, math.prod(dims) - x.shape[-1])], constant_values=fill)
    return x.reshape(x.shape[:-1] + dims)


def _pack_columns(xs_p):
    """``(..., L)`` int8 patterns (+1, -1, or 0 for padding) -> ``(...)`` uint32 words, bit ``j``
    set where entry ``j`` is +1 (``L <= 32``, the last axis of :func:`_pattern_dims`)."""
    shifts = jnp.arange(xs_p.shape[-1], dtype=jnp.uint32)
    return jnp.sum((xs_p > 0).astype(jnp.uint32) << shifts, axis=-1, dtype=jnp.uint32)


def _unpack_column(words, L, m):
    """Inverse of :func:`_pack_columns` for one weight's column: ``words (m1, ...)`` -> int32
    ``(m1, ..., L)`` of +-1, 0 beyond the ``m`` real patterns (the padding)."""
    bits = (words[..., None] >> jnp.arange(L, dtype=jnp.uint32)) & jnp.uint32(1)
    flat = jax.lax.broadcasted_iota(jnp.int32, bits.shape, bits.ndim - 1)
    stride = L
    for ax in range(bits.ndim - 2, -1, -1):
        flat = flat + jax.lax.broadcasted_iota(jnp.int32, bits.shape, ax) * stride
        stride *= bits.shape[ax]
    return jnp.where(flat < m, 2 * bits.astype(jnp.int32) - 1, 0)


def _errors_from_stab(stab):
    """Training errors per replica from stabilities ``(..., K, M)`` -> ``(...)`` int32."""
    votes = jnp.sum(jnp.where(stab > 0, 1, -1), axis=-2, dtype=jnp.int32)
    return jnp.sum(votes < 0, axis=-1, dtype=jnp.int32)


def _signed_inputs(problem: Problem):
    r""":math:`\sigma^\mu\xi^\mu_{(k)i}` as int8, laid out ``(K or 1, N, M)`` (a weight's column of
    patterns is contiguous)."""
    lab = problem.labels.astype(jnp.int32)
    x = problem.inputs.astype(jnp.int32) * (lab[:, None, None] if problem.tree else lab[:, None])
    if problem.tree:
        return jnp.transpose(x, (1, 2, 0)).astype(jnp.int8)  # (M, K, N) -> (K, N, M)
    return jnp.transpose(x, (1, 0))[None].astype(jnp.int8)  # (M, N) -> (1, N, M)


def _stabilities(W, xs):
    """``W (y, K, N)`` int, ``xs (K|1, N, M)`` -> ``(y, K, M)`` int32."""
    return jnp.einsum("knm,ykn->ykm", xs.astype(jnp.int32), W.astype(jnp.int32))


# ------------------------------------------------------------------------------------------------
# Interaction log-weight ratios
# ------------------------------------------------------------------------------------------------
def _log2cosh_diff(g, p, q):
    r""":math:`\log2\cosh(g p) - \log2\cosh(g q)` for integer ``p, q`` and ``g >= 0`` (``inf``
    allowed): :math:`g(|p|-|q|) + \log1p(e^{-2g|p|}) - \log1p(e^{-2g|q|})`, exactly 0 when
    :math:`|p| = |q|`."""
    ap = jnp.abs(p).astype(g.dtype)
    aq = jnp.abs(q).astype(g.dtype)
    zero = jnp.zeros((), g.dtype)
    lin = jnp.where(ap == aq, zero, g * (ap - aq))
    tp = jnp.where(ap == 0, zero, g * ap)
    tq = jnp.where(aq == 0, zero, g * aq)
    return lin + (jnp.log1p(jnp.exp(-2.0 * tp)) - jnp.log1p(jnp.exp(-2.0 * tq)))


def _times(g, c):
    """``g * c`` with ``c`` integer, 0 where ``c == 0`` (also for ``g = inf``)."""
    return jnp.where(c == 0, jnp.zeros((), g.dtype), g * c.astype(g.dtype))


def quantum_coupling(beta, field, y):
    r"""Suzuki--Trotter coupling :math:`\gamma_\Gamma = -\frac12\log\tanh(\beta\Gamma/y) =
    \operatorname{atanh}(e^{-2\beta\Gamma/y})` (``inf`` at :math:`\Gamma = 0`)."""
    return jnp.arctanh(jnp.exp(-2.0 * beta * field / y))


# ------------------------------------------------------------------------------------------------
# State, info, algorithm
# ------------------------------------------------------------------------------------------------
class AnnealState(eqx.Module):
    """Carried state of one chain.

    ``W (y, K, N)`` int8 replicas; ``Wc (K, N)`` int8 explicit reference (a copy of the initial
    network otherwise unused); ``stab (y, K, M)`` int32 stabilities; ``wsum (K, N)`` int32 site
    sums; ``energy (y,)`` int32 data energies; ``beta``, ``gamma``, ``field`` (Γ) current schedule
    values; ``updates`` schedule updates done (the step of the schedules); ``since`` accepted moves
    since the last schedule update; ``stuck`` consecutive
    non-improving moves; ``moves`` attempted moves (all attempts); ``accepted`` accepted moves;
    ``best`` smallest data energy of any replica seen; ``restarts`` restarts done; ``gave_up``
    the chain froze with no restart left."""

    W: jax.Array
    Wc: jax.Array
    stab: jax.Array
    wsum: jax.Array
    energy: jax.Array
    beta: jax.Array
    gamma: jax.Array
    field: jax.Array
    updates: jax.Array
    since: jax.Array
    stuck: jax.Array
    moves: jax.Array
    accepted: jax.Array
    best: jax.Array
    restarts: jax.Array
    gave_up: jax.Array


class AnnealInfo(eqx.Module):
    """Per-block report (after the block's moves).

    ``errors``: training errors of the centre (sign of the replica sum; the reference for
    ``interaction="explicit"``); ``replica_errors (y,)``; ``best_errors``: min over the *replicas*
    (the stopping rule: the run ends at the first zero-energy replica, the centre is only read
    out); ``energy (y,)``: data energies; ``beta``, ``gamma`` (for quantum SA the coupling
    :math:`\\gamma_\\Gamma`), ``field`` (Γ); ``moves``: attempted moves so far; ``acceptance``:
    accepted fraction in the block; ``halted``: the chain gave up or used its move budget."""

    errors: jax.Array
    replica_errors: jax.Array
    best_errors: jax.Array
    energy: jax.Array
    beta: jax.Array
    gamma: jax.Array
    field: jax.Array
    moves: jax.Array
    acceptance: jax.Array
    halted: jax.Array


class Chain(eqx.Module):
    """The Metropolis chain shared by :class:`~physlearn.algorithms.replicated_sa.ReplicatedSA`,
    :class:`~physlearn.algorithms.standard_sa.StandardSA` and
    :class:`~physlearn.algorithms.quantum_sa.QuantumSA` (abstract: each defines its coupling and
    its schedules). ``beta`` is a schedule of the schedule update (numbers may carry a leading
    hyper-parameter axis); ``max_steps`` is the budget of attempted moves. ``stop_at_solution=False``
    and a huge ``give_up`` turn a chain into a plain sampler at fixed parameters, as the
    detailed-balance tests use it."""

    beta: schedules.Schedule
    replicas: int = eqx.field(static=True)
    energy: str = eqx.field(static=True)
    proposal: str = eqx.field(static=True)
    schedule_every: int = eqx.field(static=True)
    give_up: int = eqx.field(static=True)
    restarts: int = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)
    moves_per_step: int = eqx.field(static=True)
    init_equal: bool = eqx.field(static=True)
    stop_at_solution: bool = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    # ---- the hooks of the three algorithms ------------------------------------------------------
    @property
    def _explicit(self) -> bool:
        """An explicit reference spin per weight (replicated SA, ``interaction="explicit"``)."""
        return False

    @abc.abstractmethod
    def _coupling(self, beta, gamma, field):
        """The coupling that enters the log weights (γ, 0, or :math:`\\gamma_\\Gamma`), from the
        current schedule values."""

    @abc.abstractmethod
    def _interaction(self, W, Wc, g):
        """Change of the log interaction weight caused by flipping each spin of the columns
        ``W (y, ...)`` (and of the reference ``Wc``): ``(y[+1], ...)``."""

    def _flip_log_ratio(self, column, a, g):
        """Change of the log interaction weight caused by flipping spin ``a`` of the int32 column
        ``(y[+1],)`` of one site (the replicas, then the reference): the entry ``a`` of
        :meth:`_interaction`, computed for that spin only (a move needs no other)."""
        return _pick(self._log_ratios(column, g), a)

    def _data_scale(self, beta):
        return beta

    def _scales(self, beta, gamma, field):
        """``(data scale, coupling)`` that a move's log weights use, from the schedule values."""
        return self._data_scale(beta), self._coupling(beta, gamma, field)

    def _schedule(self, k, dt):
        """``(beta, gamma, field)`` at schedule update ``k``."""
        zero = jnp.zeros((), dt)
        return self.beta(k).astype(dt), zero, zero

    # -------------------------------------------------------------------------------------------
    def _fresh(self, key, xs, k, n):
        """Random network (all replicas equal if ``init_equal``) with its bookkeeping."""
        y = self.replicas
        bits = jax.random.bits(key, (y + 1, k, n), dtype=jnp.uint8)
        pm = jnp.where((bits & 1) == 1, 1, -1).astype(jnp.int8)
        W = jnp.broadcast_to(pm[0], (y, k, n)) if self.init_equal else pm[1:]
        stab = _stabilities(W, xs)
        energy = jnp.sum(pattern_energies(stab, self.energy), axis=-1, dtype=jnp.int32)
        return W, W[0], stab, jnp.sum(W.astype(jnp.int32), axis=0, dtype=jnp.int32), energy

    def init(self, key, problem: Problem) -> AnnealState:
        dt = jnp.dtype(self.dtype)
        xs = _signed_inputs(problem)
        W, Wc, stab, wsum, energy = self._fresh(key, xs, problem.k, problem.n)
        i0 = jnp.zeros((), jnp.int32)
        beta, gamma, field = self._schedule(i0, dt)
        return AnnealState(
            W=W, Wc=Wc, stab=stab, wsum=wsum, energy=energy, beta=beta, gamma=gamma, field=field,
            updates=i0, since=i0, stuck=i0, moves=i0, accepted=i0, best=jnp.min(energy), restarts=i0,
            gave_up=jnp.zeros((), bool),
        )

    def _log_ratios(self, Wx, g):
        r"""Change :math:`L` of the log interaction weight caused by flipping each spin of the
        columns ``Wx (y[+1], ...)`` (the replicas, then, explicit, the reference): ``(y[+1], ...)``."""
        Wx = Wx.astype(jnp.int32)
        return self._interaction(Wx[: self.replicas], Wx[self.replicas] if self._explicit else None, g)

    def _spins(self, st: AnnealState):
        """The chain's spins as one array ``(y[+1], K, N)`` int8: the replicas, then (explicit
        interaction) the reference -- a move flips one entry of it."""
        return jnp.concatenate([st.W, st.Wc[None]], axis=0) if self._explicit else st.W

    def _move(self, carry, prop, log_u, xs, gave_up, table, m):
        """One attempted move on the block's carry ``(Wx, stab, counters)`` (see :meth:`step`).
        ``prop``: the proposed spin ``(a, k, i)`` (uniform proposal) or the proposal uniform
        (biased proposal); ``log_u``: the log of the acceptance uniform; ``table``: the schedule's
        ``(data scale, coupling)`` at the block's schedule updates. A chain that is no longer
        active (:meth:`_active`) is left unchanged: its move is rejected and not counted --
        cheaper under ``vmap`` than a loop with a per-chain exit, which selects the whole state
        every move.

        Cost layout (this runs ``moves_per_step`` times per block, vmapped over every chain, one
        XLA kernel per fusion): the proposed replica's stability row and the pattern column are
        read, shifted and summed in one reduction; every per-chain scalar (energies, counters)
        lives in one int32 vector, so that the bookkeeping is one elementwise pass; the pattern
        column is gathered bit-packed (``m1`` words per chain, unpacked inside the kernels that
        use it); the stability row is written back as a masked select over the chain's
        stabilities (a scatter under ``vmap`` is two kernels plus its index arithmetic) and the
        spin by a scatter of one element per chain (cheaper than a select over every spin); the
        index arithmetic of the proposals and the schedule values are computed once per block."""
        Wx, stab, iv = carry
        y = self.replicas
        _, K, N = Wx.shape
        dt = table.dtype
        energy = iv[:y]
        since, stuck, moves, accepted, updates, best = (iv[y + j] for j in range(len(_COUNTERS)))
        act = self._active(energy, stuck, moves, gave_up)
        bd, g = table[updates - iv[y + len(_COUNTERS)]]
        if self.proposal == "biased":
            L_all = self._log_ratios(Wx, g).reshape(-1)
            q = jnp.exp(jnp.minimum(L_all, 0.0))
            cq = jnp.cumsum(q)
            Z = cq[-1]
            r = jnp.minimum(jnp.searchsorted(cq, prop * Z, side="right"), cq.shape[0] - 1).astype(jnp.int32)
            a, k, i = _split_spin(r, K, N)
        else:
            a, k, i = prop
        is_ref = a == y  # explicit reference spin (never for the other variants)
        ar = jnp.minimum(a, y - 1)
        column = Wx[:, k, i].astype(jnp.int32)  # (y[+1],) the spins of site (k, i)
        w = _pick(column, a)
        # data term: the proposed replica's stabilities after the flip, and their energy
        col = _unpack_column(xs[k if xs.shape[0] > 1 else 0, i], stab.shape[-1], m)  # (m1, 32): the patterns
        own = _pick(stab, ar)  # (K, m1, 32): the proposed replica's rows
        kmask = (jnp.arange(K) == k).reshape((K,) + (1,) * col.ndim)
        shifted = own - 2 * w * col[None]
        rows = shifted if K == 1 else jnp.where(kmask, shifted, own)
        e_new = jnp.sum(_energies(rows, self.energy, 0), dtype=jnp.int32)
        onehot = jnp.arange(y, dtype=jnp.int32) == ar
        e_old = _pick(energy, ar)
        dE = jnp.where(is_ref, 0, e_new - e_old)
        # interaction: log-weight change of this flip (column (k, i) only)
        L = self._flip_log_ratio(column, a, g)
        data_term = jnp.where(dE == 0, jnp.zeros((), dt), -bd * dE.astype(dt))
        dlog = data_term + L  # = -beta * (change of H)
        if self.proposal == "biased":
            # Z after the flip: only the column (k, i) changes
            Lcol = self._log_ratios(column, g)
            Lcol_new = self._log_ratios(column.at[a].set(-w), g)
            Zn = Z - jnp.sum(jnp.exp(jnp.minimum(Lcol, 0.0))) + jnp.sum(jnp.exp(jnp.minimum(Lcol_new, 0.0)))
            log_acc = data_term + jnp.log(Z) - jnp.log(Zn)
        else:
            log_acc = dlog
        accept = (log_u < log_acc) & act
        improving = accept & (dlog > 0)
        rep = accept & ~is_ref
        Wx = Wx.at[a, k, i].set(jnp.where(accept, -w, w).astype(Wx.dtype))
        ymask = (jnp.arange(y) == ar).reshape((y,) + (1,) * (stab.ndim - 1))
        stab = jnp.where(rep & ymask & kmask[None], stab - 2 * w * col[None, None], stab)
        energy = jnp.where(onehot & rep, e_new, energy)
        # schedules, per accepted moves (appendix B.3)
        since = since + accept.astype(jnp.int32)
        upd = since >= self.schedule_every
        counters = (
            jnp.where(upd, 0, since),  # since
            jnp.where(improving, 0, stuck + act.astype(jnp.int32)),  # stuck
            moves + act.astype(jnp.int32),  # moves
            accepted + accept.astype(jnp.int32),  # accepted
            updates + upd.astype(jnp.int32),  # updates
            jnp.minimum(best, jnp.min(energy)),  # best
            iv[y + len(_COUNTERS)],  # the block's first schedule update (the table's origin)
        )
        return Wx, stab, jnp.concatenate([energy, jnp.stack(counters)])

    def _active(self, energy, stuck, moves, gave_up):
        act = (moves < self.max_steps) & ~gave_up & (stuck < self.give_up)
        if self.stop_at_solution:
            act = act & (jnp.min(energy) > 0)
        return act

    def _native_keys(self):
        """The interaction keys of the native kernel (``interaction_key`` in
        ``physlearn/_native/anneal.cc``): ``(variant code, columns (L, y[+1]) int32, flipped spin
        (L,) int32, valid (L,) bool)``, one representative column per key, from which the block's
        table of log-ratios is computed by :meth:`_flip_log_ratio` itself; ``None``: the variant
        has no native kernel. A subclass whose :meth:`_flip_log_ratio` depends on the column
        through anything other than these keys must override this method (``None`` is always
        correct: the jax.numpy moves)."""
        return None

    def _native_block(self, state: AnnealState, xs, iv, spin_bits, log_us, table, keys):
        """The block of uniform-proposal moves in the native CPU kernel (:mod:`physlearn._native`):
        the same random draws as :meth:`step`'s loop (``spin_bits``, ``log_us``), the same floats
        (the acceptance log uniforms, the data scales and the interaction log-ratios, computed
        here by XLA and tabulated per schedule update and interaction key), the same integer
        bookkeeping -- the same trajectory, bit for bit. Returns ``(spins, stab, iv)`` as
        :meth:`_move`'s carry, with ``stab (y, K, M)``."""
        y = self.replicas
        _, K, N = state.W.shape
        dt = state.beta.dtype
        variant, cols, flipped, valid = keys
        ltab = jax.vmap(lambda g: jax.vmap(lambda c, a: self._flip_log_ratio(c, a, g))(
            jnp.asarray(cols), jnp.asarray(flipped)))(table[:, 1])
        ltab = jnp.where(jnp.asarray(valid), ltab, jnp.zeros((), dt))
        return _native.anneal_moves(
            self._spins(state), state.stab, iv, state.gave_up, xs, spin_bits, log_us, table[:, 0], ltab,
            y=y, k=K, n=N, m=state.stab.shape[-1], variant=variant, energy=ENERGIES.index(self.energy),
            schedule_every=self.schedule_every, give_up=self.give_up, max_steps=self.max_steps,
            stop=self.stop_at_solution)

    # -------------------------------------------------------------------------------------------
    def step(self, key, state: AnnealState, problem: Problem):
        """A block of at most ``moves_per_step`` attempted moves, then the give-up/restart check
        and the report."""
        xs = _signed_inputs(problem)
        y = self.replicas
        _, K, N = state.W.shape
        B = self.moves_per_step
        n_spins = (y + int(self._explicit)) * K * N
        dt = state.beta.dtype
        keys = self._native_keys() if self.proposal == "uniform" else None
        native = keys is not None and n_spins < 2**31 and _native.enabled()
        # one threefry call per block (cheap to compile; in the native kernel when it runs, the
        # same words): column 0 -> spin index (uniform proposal) or proposal uniform (biased),
        # column 1 -> acceptance uniform
        bits = _native.threefry_bits(key, (B, 2)) if native else None
        if bits is None:
            bits = jax.random.bits(key, (B, 2), dtype=jnp.uint32)
        log_us = jnp.log(_unit_uniform(bits[:, 1], dt))
        acc0 = state.accepted
        # (data scale, coupling) at every schedule update the block can reach: at most one per
        # schedule_every accepted moves
        n_upd = (B + self.schedule_every - 1) // self.schedule_every
        table = jax.vmap(lambda j: jnp.stack(self._scales(*self._schedule(state.updates + j, dt))))(
            jnp.arange(n_upd + 1, dtype=jnp.int32))

        # a fixed-length loop (the trip count is the same for every chain under vmap); inactive
        # chains idle through the rest of the block. The carry: the spins, the stabilities and
        # every per-chain counter in one int32 vector (see _move).
        iv = jnp.concatenate([state.energy, jnp.stack([getattr(state, f) for f in _COUNTERS] + [state.updates])])
        if native:  # the kernel reduces and splits the spin words itself
            Wx, stab, iv = self._native_block(state, xs, iv, bits[:, 0], log_us, table, keys)
        else:
            if self.proposal == "biased":
                props = _unit_uniform(bits[:, 0], dt)
            else:
                # modulo reduction of 32 random bits: bias below n_spins / 2**32 (< 1e-5 for 4e4 spins)
                props = _split_spin((bits[:, 0] % jnp.uint32(n_spins)).astype(jnp.int32), K, N)

            def body(t, c, xs_p):
                prop = props[t] if self.proposal == "biased" else tuple(p[t] for p in props)
                return self._move(c, prop, log_us[t], xs_p, state.gave_up, table, xs.shape[-1])

            # patterns padded (zero inputs, stability +1: no energy), laid out as _pattern_dims and
            # bit-packed along the last axis: a move gathers m1 words per chain instead of M bytes
            xs_p = _pack_columns(_to_pattern_dims(xs, 0))
            Wx, stab, iv = jax.lax.fori_loop(
                0, B, lambda t, c: body(t, c, xs_p), (self._spins(state), _to_pattern_dims(state.stab, 1), iv))
            stab = stab.reshape(stab.shape[:2] + (-1,))[..., : state.stab.shape[-1]]
        W = Wx[:y]
        beta, gamma, field = self._schedule(iv[y + _COUNTERS.index("updates")], dt)
        st = eqx.tree_at(
            lambda z: (z.W, z.Wc, z.stab, z.wsum, z.energy, z.beta, z.gamma, z.field) + tuple(getattr(z, f) for f in _COUNTERS),
            state,
            (W, Wx[y] if self._explicit else state.Wc, stab, jnp.sum(W.astype(jnp.int32), axis=0, dtype=jnp.int32),
             iv[:y], beta, gamma, field) + tuple(iv[y + j] for j in range(len(_COUNTERS))),
        )
        n_done = st.moves - state.moves

        # frozen: restart from a fresh random network, or give up
        frozen = st.stuck >= self.give_up
        if self.stop_at_solution:
            frozen = frozen & (jnp.min(st.energy) > 0)
        if self.restarts > 0:
            can_restart = frozen & (st.restarts < self.restarts)
            W, Wc, stab, wsum, energy = self._fresh(jax.random.fold_in(key, 1), xs, K, N)
            sel = lambda new, old: jnp.where(can_restart, new, old)  # noqa: E731
            beta0, gamma0, field0 = self._schedule(jnp.zeros((), jnp.int32), dt)
            st = AnnealState(
                W=sel(W, st.W), Wc=sel(Wc, st.Wc), stab=sel(stab, st.stab), wsum=sel(wsum, st.wsum),
                energy=sel(energy, st.energy), beta=sel(beta0, st.beta), gamma=sel(gamma0, st.gamma),
                field=sel(field0, st.field), updates=sel(0, st.updates), since=sel(0, st.since),
                stuck=sel(0, st.stuck), moves=st.moves, accepted=st.accepted,
                best=st.best, restarts=st.restarts + can_restart.astype(jnp.int32),
                gave_up=st.gave_up | (frozen & ~can_restart),
            )
        else:
            st = eqx.tree_at(lambda z: z.gave_up, st, st.gave_up | frozen)

        # report
        rep_err = _errors_from_stab(st.stab)
        C = _centre(st.W, st.Wc, self._explicit)
        c_err = _errors_from_stab(_stabilities(C[None], xs))[0]
        info = AnnealInfo(
            errors=c_err,
            replica_errors=rep_err,
            best_errors=jnp.min(rep_err),
            energy=st.energy,
            beta=st.beta,
            gamma=self._coupling(st.beta, st.gamma, st.field),
            field=st.field,
            moves=st.moves,
            acceptance=((st.accepted - acc0).astype(dt) / jnp.maximum(n_done, 1).astype(dt)),
            halted=st.gave_up | (st.moves >= self.max_steps),
        )
        return st, info


_COUNTERS = ("since", "stuck", "moves", "accepted", "updates", "best")
"""The per-chain int32 counters of :class:`AnnealState` that a block of moves carries in one vector
(after the y energies)."""


def _key_table(length: int, entries):
    """The arrays of :meth:`Chain._native_keys` from ``entries``: ``(key, column, flipped spin)``
    triples; keys without an entry are marked invalid (their log-ratio is never read)."""
    width = len(entries[0][1])
    cols = np.ones((length, width), np.int32)
    flipped = np.zeros(length, np.int32)
    valid = np.zeros(length, bool)
    for key, col, a in entries:
        cols[key], flipped[key], valid[key] = col, a, True
    return cols, flipped, valid


def _spins_summing_to(count: int, total: int):
    """``count`` spins +-1 with sum ``total``, or ``None`` if there are none."""
    if abs(total) > count or (count + total) % 2:
        return None
    plus = (count + total) // 2
    return [1] * plus + [-1] * (count - plus)


def _pick(v, idx):
    """``v[idx]`` along the (short, static) leading axis as a chain of selects: elementwise, so
    that XLA fuses it into its consumers (a dynamic index is a gather kernel of its own under
    ``vmap``)."""
    out = v[0]
    for j in range(1, v.shape[0]):
        out = jnp.where(idx == j, v[j], out)
    return out


def _total(v):
    """Sum over the (short, static) leading axis as a chain of adds (fused, unlike a reduction)."""
    out = v[0]
    for j in range(1, v.shape[0]):
        out = out + v[j]
    return out


def _split_spin(r, K, N):
    """Flat spin index ``r = (a K + k) N + i`` -> ``(a, k, i)``."""
    j = r % (K * N)
    return r // (K * N), j // N, j % N


def _unit_uniform(bits, dtype):
    """Uniform floats in [0, 1) from uint32 random bits (the top 23 bits as a float32 mantissa)."""
    f = jax.lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0
    return f.astype(dtype)


def _centre(W, Wc, explicit):
    if explicit:
        return Wc
    s = jnp.sum(W.astype(jnp.int32), axis=-3, dtype=jnp.int32)
    return jnp.where(s > 0, 1, -1).astype(jnp.int8)


# ------------------------------------------------------------------------------------------------
# Public entry point
# ------------------------------------------------------------------------------------------------
class AnnealResult(ReplicaResult):
    """Result of the simulated-annealing ``solve`` functions
    (:class:`~physlearn.algorithms.results.ReplicaResult`); every array has the batch axes
    ``(P?, S?, R?)`` in front (hyper-parameter points, disorder samples, independent runs).

    - ``solved`` (bool): some replica reached zero energy (``stop="centre"``: the centre did);
    - ``steps`` (int): attempted moves used (all attempts, restarts included);
    - ``errors`` (int): training errors of ``weights``;
    - ``weights (..., K, N)`` int8: the best network (a zero-energy replica when solved);
    - ``trace``: per-block :class:`AnnealInfo` (block axis of length ``ceil(max_steps /
      moves_per_step) + restarts + 1``, zero past the end), or ``None``;
    - ``centre_errors``, ``replica_errors (..., y)``: at the end;
    - ``centre (..., K, N)`` int8: sign of the replica sum (the reference for ``"explicit"``);
    - ``gave_up`` (bool): the run froze (``give_up`` consecutive non-improving moves) with no
      restart left; ``restarts`` (int): frozen attempts that were restarted;
    - ``accepted`` (int): accepted moves; ``beta``, ``gamma``, ``field``: final schedule values
      (``gamma`` is :math:`\\gamma_\\Gamma` for quantum SA).
    """

    gave_up: jax.Array
    restarts: jax.Array
    accepted: jax.Array
    beta: jax.Array
    gamma: jax.Array
    field: jax.Array


COMMON_DOC = """
    - ``key``: a JAX PRNG key, ``jax.random.key(seed)`` (batch element ``b`` uses ``fold_in(key, b)``,
      see ``runs``).
    - ``problem``: a :class:`~physlearn.algorithms.problems.Problem`, one instance or a batch with
      one leading sample axis.
    - ``energy``: ``"minflip"`` (minimum number of flips, the paper's energy, default) or
      ``"errors"`` (number of misclassified patterns).
    - ``proposal``: ``"uniform"`` (default) or ``"biased"`` (interaction absorbed in the choice of
      the spin; O(yKN) per move).
    - ``schedule_every``: accepted moves per schedule update (default ``10 * K * N``): the step of
      the schedules.
    - ``give_up``: consecutive non-improving moves after which a run is frozen (default
      ``100 * K * N * y``); ``restarts``: how many times a frozen run restarts from scratch before
      giving up.
    - ``runs``: ``None`` or R independent runs per instance (result axis R after the sample
      axis; element ``b = s * R + r`` of the flattened batch uses ``fold_in(key, b)``).
    - ``moves_per_step``: moves per compiled block (the driver's step; tunes overhead only).
    - ``init_equal``: all replicas start equal (paper, default).
    - ``max_steps``: budget in **attempted moves** per run (restarts included).
    - ``stop``: ``"any"`` (default: stop at the first move after which some replica has zero
      energy), ``"centre"`` (at the end of the first block where the centre classifies every
      pattern) or ``"never"`` (the whole budget, the chain keeps sampling).
    - ``dtype``: float dtype of the schedules; ``trace``: keep the per-block :class:`AnnealInfo`;
      ``progress``: ``rich`` progress bar (``None``: once the run lasts a few seconds).
    - ``mesh``: shard the samples axis (samples x runs) over devices: a ``jax.sharding.Mesh`` with
      an axis ``"samples"``, a number of devices or ``"auto"`` (see
      :func:`physlearn.algorithms.runner.run`); the results equal the single-device run.

    The numbers of the schedules may be 1-D arrays of equal length P (hyper-parameter points;
    leading result axis P)."""

def common_doc(fn):
    """Put the arguments shared by the three ``solve`` functions (:data:`COMMON_DOC`) in place of
    the line ``{common}`` of ``fn``'s docstring."""
    fn.__doc__ = fn.__doc__.replace("\n    {common}\n", COMMON_DOC.rstrip() + "\n")
    return fn


RENAMED = dict(
    beta0="beta (a number or a schedule: beta=schedules.exponential(beta0, beta_factor))",
    beta_factor="beta=schedules.exponential(beta0, beta_factor)",
    max_moves=V.RENAMED["max_moves"],
    kind="the module of the algorithm: replicated_sa, standard_sa or quantum_sa",
)
"""The keywords that the three ``solve`` functions replaced alike."""


def _solve(cls, key, problem, *, replicas, schedules_, energy, proposal, schedule_every, give_up, restarts,
           runs, moves_per_step, init_equal, max_steps, stop, dtype, trace, progress, mesh, description, **fields):
    """The shared body of the three ``solve`` functions: validation, batching, the driver, the
    result. ``schedules_``: the algorithm's validated schedules (name -> Schedule)."""
    key, problem, max_steps, dt = solve_arguments(key, problem, max_steps=max_steps, stop=stop, dtype=dtype)
    V.choice("energy", energy, ENERGIES)
    V.choice("proposal", proposal, PROPOSALS)
    replicas = V.integer("replicas", replicas)
    if max_steps >= 2**31 - 2**20:
        raise ValueError(f"max_steps must be < 2**31 - 2**20 (int32 move counters), got {max_steps}")
    moves_per_step = V.integer("moves_per_step", moves_per_step)
    KN = problem.k * problem.n
    schedule_every = V.integer("schedule_every", 10 * KN if schedule_every is None else schedule_every)
    give_up = V.integer("give_up", 100 * KN * replicas if give_up is None else give_up)
    restarts = V.integer("restarts", restarts, minimum=0)
    runs = V.integer("runs", runs, allow_none=True)
    hp, P = schedules.hyper_batch(schedules_, dt)
    algo = cls(
        **hp, **fields, replicas=replicas, energy=energy, proposal=proposal, schedule_every=schedule_every,
        give_up=give_up, restarts=restarts, max_steps=max_steps, moves_per_step=moves_per_step,
        init_equal=bool(init_equal), stop_at_solution=stop == "any", dtype=dt.name,
    )
    prob = problem
    n_samples = problem.n_samples
    if runs is not None:
        if n_samples is None:
            prob = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (runs,) + x.shape), prob)
        else:
            prob = jax.tree_util.tree_map(lambda x: jnp.repeat(x, runs, axis=0), prob)
    blocks = math.ceil(max_steps / moves_per_step) + restarts + 1
    res = run(algo, key, prob, max_steps=blocks, stop=stop, hyper_batch=P, trace=trace, progress=progress,
              description=f"{description} (y={replicas})", mesh=mesh)
    out = _result(algo, res, prob, trace, P is not None, stop)
    if runs is not None and n_samples is not None:
        lead = 0 if P is None else 1

        def split(x):
            if x is None or not hasattr(x, "shape"):
                return x
            return x.reshape(x.shape[:lead] + (n_samples, runs) + x.shape[lead + 1:])

        out = jax.tree_util.tree_map(split, out)
    return out


@eqx.filter_jit
def _result(algo, res, problem, trace, hyper, stop):
    info = res.info
    st = res.state
    W = st.W
    C = _centre(W, st.Wc, algo._explicit)
    rep_err = info.replica_errors
    rep_e = st.energy
    # best replica: zero energy first, then fewest errors
    score = jnp.where(rep_e == 0, -1, rep_err)
    best_rep = jnp.argmin(score, axis=-1)
    rep_best = jnp.take_along_axis(W, best_rep[..., None, None, None], axis=-3)[..., 0, :, :]
    min_rep = jnp.min(rep_err, axis=-1)
    use_centre = (info.errors < min_rep) & (jnp.min(rep_e, axis=-1) > 0)
    weights = jnp.where(use_centre[..., None, None], C, rep_best)
    return AnnealResult(
        **base_fields(res, weights, problem, trace=trace, hyper=hyper, stop=stop, steps=st.moves),
        centre_errors=info.errors,
        replica_errors=rep_err,
        centre=C,
        gave_up=st.gave_up,
        restarts=st.restarts,
        accepted=st.accepted,
        beta=st.beta,
        gamma=info.gamma,
        field=st.field,
    )


def solve(key, problem, *, kind: str = "replicated", **kwargs):
    """Deprecated: use :func:`physlearn.algorithms.replicated_sa.solve`,
    :func:`physlearn.algorithms.standard_sa.solve` or :func:`physlearn.algorithms.quantum_sa.solve`
    (their arguments: ``beta``/``gamma``/``field`` as numbers or schedules, ``max_steps``)."""
    import importlib
    V.choice("kind", kind, KINDS)
    module = f"{kind}_sa"
    V.warn_deprecated(f"annealing.solve(kind={kind!r}) is deprecated: use physlearn.algorithms.{module}.solve")
    return importlib.import_module(f".{module}", __package__).solve(key, problem, **kwargs)


def __getattr__(name):
    if name == "Annealing":
        raise AttributeError(
            "annealing.Annealing was split into replicated_sa.ReplicatedSA, standard_sa.StandardSA and "
            "quantum_sa.QuantumSA (fields beta/gamma/field are schedules, max_steps counts moves)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------------
# Time-to-solution analysis (PNAS 2016 Figs. 2 and 7)
# ------------------------------------------------------------------------------------------------
def moves_to_solution(result: AnnealResult, points=slice(None)):
    r"""Attempted moves to a solution per instance, the best over hyper-parameter ``points``
    (the leading axis of a hyper-parameter batch: e.g. a grid of schedules, of which the best one is
    kept per instance, as PNAS 2016 optimises the schedule), ``inf`` where no point solved the
    instance. ``result`` must have the axes ``(P, S)``. Returns a float NumPy array ``(S,)``; its
    median over instances is the time to solution of Figs. 2 and 7 (robust to a minority of
    unsolved instances, which count as infinitely slow)."""
    solved = np.asarray(result.solved)
    if solved.ndim != 2:
        raise ValueError(f"result must have a hyper-parameter and a sample axis (P, S), got shape {solved.shape}")
    steps = np.where(solved, np.asarray(result.steps, dtype=float), np.inf)
    return steps[points].min(axis=0)


def scaling_fits(ns, t):
    r"""Least-squares fits of a time to solution ``t`` against the size ``ns`` in log scale: a
    power law :math:`\log t = a + b\log N` and an exponential :math:`\log t = a + cN` (PNAS 2016,
    Fig. 2: polynomial for replicated SA, exponential-like for standard SA). Returns
    ``{"power": (a, b, rms), "exp": (a, c, rms)}`` with the RMS residual in decades; needs at least
    two finite points (non-finite ones are dropped)."""
    ns, t = np.asarray(ns, dtype=float), np.asarray(t, dtype=float)
    if ns.shape != t.shape or ns.ndim != 1:
        raise ValueError(f"ns and t must be 1-D arrays of equal length, got shapes {ns.shape} and {t.shape}")
    ok = np.isfinite(t) & (t > 0)
    if ok.sum() < 2:
        raise ValueError(f"scaling_fits needs at least two finite positive times, got {t!r}")
    lt = np.log(t[ok])
    out = {}
    for kind, x in (("power", np.log(ns[ok])), ("exp", ns[ok])):
        A = np.stack([np.ones_like(x), x], axis=1)
        coef = np.linalg.lstsq(A, lt, rcond=None)[0]
        rms = float(np.sqrt(np.mean((lt - A @ coef) ** 2)) / np.log(10))
        out[kind] = (float(coef[0]), float(coef[1]), rms)
    return out
