r"""Replicated simulated annealing, standard SA and quantum (Suzuki--Trotter) annealing on binary
perceptrons and committee machines.

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

* ``kind="replicated"``, ``interaction="traced"`` (robust ensemble with the centre traced out,
  eq. 14 of appendix B):

  .. math:: H = \sum_a E(W^a) - \frac{1}{\beta}\sum_{k,i}\log 2\cosh\Big(\gamma\sum_a W^a_{ki}\Big)

  (:math:`\gamma` is *not* multiplied by :math:`\beta`: the weight of a configuration is
  :math:`e^{-\beta\sum_a E(W^a)}\prod_{ki}2\cosh(\gamma\sum_a W^a_{ki})`);
* ``kind="replicated"``, ``interaction="explicit"``: an explicit reference :math:`\tilde W` with no
  data energy, :math:`H = \sum_a E(W^a) - \frac{\gamma}{\beta}\sum_{ki}\tilde W_{ki}\sum_a
  W^a_{ki}`; the reference spins are flipped by the same Metropolis moves;
* ``kind="standard"``: :math:`\gamma = 0`, i.e. ``y`` independent simulated annealings (started
  from the same configuration), the run stopping when any of them reaches zero energy;
* ``kind="quantum"``: the Suzuki--Trotter representation of :math:`E - \Gamma\sum_{ki}
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

**Schedules (appendix B.3).** All replicas start from the same random network. After every
``schedule_every`` *accepted* moves, :math:`\beta \leftarrow \beta f_\beta` (annealing) and
:math:`\gamma \leftarrow \gamma f_\gamma` (scoping); for the quantum kind
:math:`\Gamma \leftarrow \Gamma / f_\Gamma` instead of the γ update. The run stops at the first
move after which some replica has zero data energy (solved), or after ``give_up`` consecutive
non-improving moves (a move is non-improving if it is rejected or does not lower :math:`H`): the
chain is frozen in a local minimum. A frozen chain is restarted from a fresh random network at the
initial β, γ (Γ) if ``restarts`` allow it, and otherwise ends with ``gave_up=True``. Every attempted
move counts, including those of abandoned attempts.

The paper's numerical values of :math:`\beta_0, \gamma_0, f_\beta, f_\gamma`, the number of
accepted moves per schedule update and the give-up length were lost from the text available to us;
the defaults here are our own, chosen so that random perceptrons well inside capacity are solved
out of the box (see :func:`solve`).

**Batching.** A step of the shared driver (:func:`~physlearn.algorithms.runner.run`) is a block of
``moves_per_step`` attempted moves (a fixed-length ``lax.fori_loop``; a chain that is solved,
frozen or out of budget idles for the rest of the block, so move counts are exact). Disorder samples, independent
runs (``runs``) and hyper-parameter points are ``vmap`` axes: an accelerator runs thousands of
chains, each with its exact sequential dynamics.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .problems import Problem
from .runner import float_dtype, hyper_batch, hyper_parameter, positive_int, run

__all__ = [
    "KINDS",
    "INTERACTIONS",
    "ENERGIES",
    "PROPOSALS",
    "Annealing",
    "AnnealState",
    "AnnealInfo",
    "AnnealResult",
    "pattern_energies",
    "quantum_coupling",
    "solve",
    "moves_to_solution",
    "scaling_fits",
]

KINDS = ("replicated", "standard", "quantum")
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
    stab = stab.astype(jnp.int32)
    K = stab.shape[-2]
    if K == 1:
        s = stab[..., 0, :]
        if energy == "errors":
            return (s < 0).astype(jnp.int32)
        return jnp.where(s < 0, (1 - s) // 2, 0)
    votes = jnp.sum(jnp.where(stab > 0, 1, -1), axis=-2, dtype=jnp.int32)
    if energy == "errors":
        return (votes < 0).astype(jnp.int32)
    nfix = jnp.maximum(0, (1 - votes) // 2)
    cost = jnp.sort(jnp.where(stab < 0, (1 - stab) // 2, _BIG), axis=-2)
    rank = jnp.arange(K, dtype=jnp.int32).reshape((K, 1))
    return jnp.sum(jnp.where(rank < nfix[..., None, :], cost, 0), axis=-2, dtype=jnp.int32)


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
    values; ``since`` accepted moves since the last schedule update; ``stuck`` consecutive
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
    out); ``energy (y,)``: data energies; ``beta``, ``gamma`` (for the quantum kind the coupling
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


class Annealing(eqx.Module):
    """Annealing hyper-parameters (array fields may carry a leading hyper-parameter axis).

    ``kind="standard"`` ignores ``gamma0``/``gamma_factor`` (no interaction: the coupling is 0);
    ``stop_at_solution=False`` and a huge ``give_up`` turn a chain into a plain sampler at fixed
    β, γ (factors 1), as the detailed-balance tests use it. See :func:`solve` for every field."""

    beta0: jax.Array
    beta_factor: jax.Array
    gamma0: jax.Array
    gamma_factor: jax.Array
    field0: jax.Array
    field_factor: jax.Array
    replicas: int = eqx.field(static=True)
    kind: str = eqx.field(static=True)
    interaction: str = eqx.field(static=True)
    energy: str = eqx.field(static=True)
    proposal: str = eqx.field(static=True)
    schedule_every: int = eqx.field(static=True)
    give_up: int = eqx.field(static=True)
    restarts: int = eqx.field(static=True)
    max_moves: int = eqx.field(static=True)
    moves_per_step: int = eqx.field(static=True)
    init_equal: bool = eqx.field(static=True, default=True)
    stop_at_solution: bool = eqx.field(static=True, default=True)
    dtype: str = eqx.field(static=True, default="float32")

    # -------------------------------------------------------------------------------------------
    @property
    def _explicit(self) -> bool:
        return self.kind == "replicated" and self.interaction == "explicit"

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
        return AnnealState(
            W=W, Wc=Wc, stab=stab, wsum=wsum, energy=energy,
            beta=self.beta0.astype(dt), gamma=self.gamma0.astype(dt), field=self.field0.astype(dt),
            since=i0, stuck=i0, moves=i0, accepted=i0, best=jnp.min(energy), restarts=i0,
            gave_up=jnp.zeros((), bool),
        )

    # -------------------------------------------------------------------------------------------
    def _coupling(self, st):
        """The coupling that enters the log weights: γ, or :math:`\\gamma_\\Gamma` (quantum)."""
        if self.kind == "quantum":
            return quantum_coupling(st.beta, st.field, self.replicas)
        if self.kind == "standard":
            return jnp.zeros_like(st.gamma)
        return st.gamma

    def _log_ratios(self, W, Wc, g):
        r"""Change :math:`L` of the log interaction weight caused by flipping each spin of the
        columns ``W (y, ...)`` (and, explicit, of the reference ``Wc (...)``): ``(y[+1], ...)``."""
        W = W.astype(jnp.int32)
        if self.kind == "quantum":
            nb = jnp.roll(W, 1, axis=0) + jnp.roll(W, -1, axis=0)
            return _times(g, -2 * W * nb)
        S = jnp.sum(W, axis=0, dtype=jnp.int32)
        if self._explicit:
            Wc = Wc.astype(jnp.int32)
            rep = _times(g, -2 * Wc[None] * W)
            ref = _times(g, -2 * Wc * S)
            return jnp.concatenate([rep, ref[None]], axis=0)
        return _log2cosh_diff(g, S[None] - 2 * W, jnp.broadcast_to(S, W.shape))

    def _data_scale(self, beta):
        return beta / self.replicas if self.kind == "quantum" else beta

    def _move(self, st: AnnealState, r, u, u2, xs):
        """One attempted move. ``r``: flat spin index (uniform proposal), ``u``: acceptance
        uniform, ``u2``: proposal uniform (biased proposal). A chain that is no longer active
        (:meth:`_active`) is left unchanged: its move is rejected and not counted -- cheaper under
        ``vmap`` than a loop with a per-chain exit, which selects the whole state every move."""
        act = self._active(st)
        y = self.replicas
        _, K, N = st.W.shape
        KN = K * N
        g = self._coupling(st)
        dt = g.dtype
        if self.proposal == "biased":
            L_all = self._log_ratios(st.W, st.Wc, g).reshape(-1)
            q = jnp.exp(jnp.minimum(L_all, 0.0))
            cq = jnp.cumsum(q)
            Z = cq[-1]
            r = jnp.minimum(jnp.searchsorted(cq, u2 * Z, side="right"), cq.shape[0] - 1).astype(jnp.int32)
        a = r // KN
        j = r % KN
        k = j // N
        i = j % N
        is_ref = a == y  # explicit reference spin (never for the other variants)
        ar = jnp.minimum(a, y - 1)
        w = st.W[ar, k, i].astype(jnp.int32)
        kx = k if xs.shape[0] > 1 else 0
        col = xs[kx, i].astype(jnp.int32)  # (M,)
        # one-hot selections instead of batched gathers/scatters (faster under vmap on CPU)
        oh_a = jnp.arange(y, dtype=jnp.int32) == ar
        oh_k = jnp.arange(K, dtype=jnp.int32) == k
        stab_a = jnp.sum(jnp.where(oh_a[:, None, None], st.stab, 0), axis=0, dtype=jnp.int32)  # (K, M)
        s_old = stab_a[0] if K == 1 else jnp.sum(jnp.where(oh_k[:, None], stab_a, 0), axis=0, dtype=jnp.int32)
        s_new = s_old - 2 * w * col
        rows = s_new[None] if K == 1 else jnp.where(oh_k[:, None], s_new[None], stab_a)
        e_old = jnp.sum(jnp.where(oh_a, st.energy, 0), dtype=jnp.int32)
        e_new = jnp.sum(pattern_energies(rows, self.energy), dtype=jnp.int32)
        dE = jnp.where(is_ref, 0, e_new - e_old)
        # interaction: log-weight change of this flip (column (k, i) only)
        Lcol = self._log_ratios(st.W[:, k, i], st.Wc[k, i], g)
        L = Lcol[a]
        bd = self._data_scale(st.beta)
        data_term = jnp.where(dE == 0, jnp.zeros((), dt), -bd * dE.astype(dt))
        dlog = data_term + L  # = -beta * (change of H)
        if self.proposal == "biased":
            # Z after the flip: only the column (k, i) changes
            Wn = st.W.at[ar, k, i].set(jnp.where(is_ref, w, -w).astype(st.W.dtype))
            wcn = jnp.where(is_ref, -st.Wc[k, i], st.Wc[k, i])
            Lcol_new = self._log_ratios(Wn[:, k, i], wcn, g)
            Zn = Z - jnp.sum(jnp.exp(jnp.minimum(Lcol, 0.0))) + jnp.sum(jnp.exp(jnp.minimum(Lcol_new, 0.0)))
            log_acc = data_term + jnp.log(Z) - jnp.log(Zn)
        else:
            log_acc = dlog
        accept = (jnp.log(u) < log_acc) & act
        improving = accept & (dlog > 0)
        rep = accept & ~is_ref
        ref = accept & is_ref
        W = st.W.at[ar, k, i].set(jnp.where(rep, -w, w).astype(st.W.dtype))
        Wc = st.Wc.at[k, i].set(jnp.where(ref, -st.Wc[k, i], st.Wc[k, i]))
        stab = jnp.where((oh_a[:, None] & oh_k[None, :] & rep)[:, :, None], s_new, st.stab)
        energy = jnp.where(oh_a & rep, e_new, st.energy)
        wsum = st.wsum.at[k, i].add(jnp.where(rep, -2 * w, 0))
        # schedules, per accepted moves (appendix B.3)
        since = st.since + accept.astype(jnp.int32)
        upd = since >= self.schedule_every
        one = jnp.ones((), dt)
        beta = st.beta * jnp.where(upd, self.beta_factor.astype(dt), one)
        gamma = st.gamma * jnp.where(upd, self.gamma_factor.astype(dt), one)
        field = st.field / jnp.where(upd, self.field_factor.astype(dt), one)
        return AnnealState(
            W=W, Wc=Wc, stab=stab, wsum=wsum, energy=energy, beta=beta, gamma=gamma, field=field,
            since=jnp.where(upd, 0, since),
            stuck=jnp.where(improving, 0, st.stuck + act.astype(jnp.int32)),
            moves=st.moves + act.astype(jnp.int32), accepted=st.accepted + accept.astype(jnp.int32),
            best=jnp.minimum(st.best, jnp.min(energy)), restarts=st.restarts, gave_up=st.gave_up,
        )

    def _active(self, st: AnnealState):
        act = (st.moves < self.max_moves) & ~st.gave_up & (st.stuck < self.give_up)
        if self.stop_at_solution:
            act = act & (jnp.min(st.energy) > 0)
        return act

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
        # one threefry call per block (cheap to compile): column 0 -> spin index (uniform
        # proposal) or proposal uniform (biased), column 1 -> acceptance uniform
        bits = jax.random.bits(key, (B, 2), dtype=jnp.uint32)
        if self.proposal == "biased":
            rs = jnp.zeros((B,), jnp.int32)
            u2s = _unit_uniform(bits[:, 0], dt)
        else:
            # modulo reduction of 32 random bits: bias below n_spins / 2**32 (< 1e-5 for 4e4 spins)
            rs = (bits[:, 0] % jnp.uint32(n_spins)).astype(jnp.int32)
            u2s = jnp.zeros((B,), dt)
        us = _unit_uniform(bits[:, 1], dt)
        acc0 = state.accepted

        # a fixed-length loop (the trip count is the same for every chain under vmap); inactive
        # chains idle through the rest of the block
        st = jax.lax.fori_loop(0, B, lambda t, st: self._move(st, rs[t], us[t], u2s[t], xs), state)
        n_done = st.moves - state.moves

        # frozen: restart from a fresh random network, or give up
        frozen = st.stuck >= self.give_up
        if self.stop_at_solution:
            frozen = frozen & (jnp.min(st.energy) > 0)
        if self.restarts > 0:
            can_restart = frozen & (st.restarts < self.restarts)
            W, Wc, stab, wsum, energy = self._fresh(jax.random.fold_in(key, 1), xs, K, N)
            sel = lambda new, old: jnp.where(can_restart, new, old)  # noqa: E731
            st = AnnealState(
                W=sel(W, st.W), Wc=sel(Wc, st.Wc), stab=sel(stab, st.stab), wsum=sel(wsum, st.wsum),
                energy=sel(energy, st.energy), beta=sel(self.beta0.astype(dt), st.beta),
                gamma=sel(self.gamma0.astype(dt), st.gamma), field=sel(self.field0.astype(dt), st.field),
                since=sel(0, st.since), stuck=sel(0, st.stuck), moves=st.moves, accepted=st.accepted,
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
            gamma=self._coupling(st),
            field=st.field,
            moves=st.moves,
            acceptance=((st.accepted - acc0).astype(dt) / jnp.maximum(n_done, 1).astype(dt)),
            halted=st.gave_up | (st.moves >= self.max_moves),
        )
        return st, info


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
class AnnealResult(eqx.Module):
    """Result of :func:`solve`; every array has the batch axes ``(P?, S?, R?)`` in front
    (hyper-parameter points, disorder samples, independent runs).

    - ``solved`` (bool): some replica reached zero energy;
    - ``errors`` (int): training errors of ``weights`` (min over centre and replicas);
    - ``centre_errors``, ``replica_errors (..., y)``: at the end;
    - ``steps`` (int): attempted moves used (all attempts, restarts included);
    - ``weights (..., K, N)`` int8: the best network (a zero-energy replica when solved);
    - ``centre (..., K, N)`` int8: sign of the replica sum (the reference for ``"explicit"``);
    - ``gave_up`` (bool): the run froze (``give_up`` consecutive non-improving moves) with no
      restart left; ``restarts`` (int): frozen attempts that were restarted;
    - ``accepted`` (int): accepted moves; ``beta``, ``gamma``, ``field``: final schedule values
      (``gamma`` is :math:`\\gamma_\\Gamma` for the quantum kind);
    - ``trace``: per-block :class:`AnnealInfo` (block axis of length ``ceil(max_moves /
      moves_per_step) + restarts + 1``, zero past the end), or ``None``.
    """

    solved: jax.Array
    errors: jax.Array
    centre_errors: jax.Array
    replica_errors: jax.Array
    steps: jax.Array
    weights: jax.Array
    centre: jax.Array
    gave_up: jax.Array
    restarts: jax.Array
    accepted: jax.Array
    beta: jax.Array
    gamma: jax.Array
    field: jax.Array
    trace: AnnealInfo | None


# defaults per kind: (replicas, beta0, beta_factor, gamma0, gamma_factor, field0, field_factor)
_DEFAULTS = {
    "replicated": dict(replicas=3, beta0=1.0, beta_factor=1.01, gamma0=1.0, gamma_factor=1.01, field0=1.0,
                       field_factor=1.0),
    "standard": dict(replicas=3, beta0=2.0, beta_factor=1.01, gamma0=0.0, gamma_factor=1.0, field0=1.0,
                     field_factor=1.0),
    "quantum": dict(replicas=4, beta0=6.0, beta_factor=1.0, gamma0=0.0, gamma_factor=1.0, field0=0.3,
                    field_factor=1.01),
}


def _int_arg(name, v, *, minimum=1):
    import numbers

    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def solve(
    key,
    problem: Problem,
    *,
    replicas: int | None = None,
    beta0=None,
    beta_factor=None,
    gamma0=None,
    gamma_factor=None,
    field0=None,
    field_factor=None,
    kind: str = "replicated",
    interaction: str = "traced",
    energy: str = "minflip",
    proposal: str = "uniform",
    max_moves: int = 20_000_000,
    schedule_every: int | None = None,
    give_up: int | None = None,
    restarts: int = 0,
    runs: int | None = None,
    moves_per_step: int = 2000,
    init_equal: bool = True,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool = False,
    mesh=None,
) -> AnnealResult:
    r"""Train a binary perceptron / committee machine by replicated simulated annealing, standard
    SA or quantum simulated annealing (PNAS 113, E7655 (2016) sec. IV and appendix B; PNAS 115,
    1457 (2018)). See the module docstring for the sampled measures and the move rule.

    **Arguments:**

    - ``key``: JAX PRNG key (batch element ``b`` uses ``fold_in(key, b)``, see ``runs``).
    - ``problem``: a :class:`~physlearn.algorithms.problems.Problem`, one instance or a batch with
      one leading sample axis.
    - ``kind``: ``"replicated"`` (interacting replicas), ``"standard"`` (γ = 0: ``replicas``
      independent SAs from the same start, stopped when any solves) or ``"quantum"`` (QSA:
      Trotter slices on a ring, transverse field Γ decreasing to 0).
    - ``replicas``: y (replicas or Trotter slices; ≥ 2 for the quantum kind).
    - ``beta0``, ``beta_factor``: initial inverse temperature, multiplied by ``beta_factor`` (≥ 1)
      every ``schedule_every`` accepted moves (annealing).
    - ``gamma0``, ``gamma_factor``: initial coupling γ ≥ 0 and its factor (≥ 1, scoping);
      replicated kind only (``"standard"`` requires γ = 0).
    - ``field0``, ``field_factor``: initial transverse field Γ > 0, *divided* by ``field_factor``
      (≥ 1) every ``schedule_every`` accepted moves; quantum kind only.
    - ``interaction``: ``"traced"`` (centre traced out, default) or ``"explicit"`` (explicit
      reference spins); replicated kind only.
    - ``energy``: ``"minflip"`` (minimum number of flips, the paper's energy, default) or
      ``"errors"`` (number of misclassified patterns).
    - ``proposal``: ``"uniform"`` (default) or ``"biased"`` (interaction absorbed in the choice of
      the spin; O(yKN) per move).
    - ``max_moves``: budget of attempted moves per run (restarts included).
    - ``schedule_every``: accepted moves per schedule update (default ``10 * K * N``).
    - ``give_up``: consecutive non-improving moves after which a run is frozen (default
      ``100 * K * N * y``); ``restarts``: how many times a frozen run restarts from scratch before
      giving up.
    - ``runs``: ``None`` or R independent runs per instance (result axis R after the sample
      axis; element ``b = s * R + r`` of the flattened batch uses ``fold_in(key, b)``).
    - ``moves_per_step``: moves per compiled block (the driver's step; tunes overhead only).
    - ``init_equal``: all replicas start equal (paper, default); ``dtype``: float dtype of β, γ;
      ``trace``: keep the per-block :class:`AnnealInfo`; ``progress``: ``rich`` progress bar.
    - ``mesh``: shard the samples axis (samples x runs) over devices: a ``jax.sharding.Mesh`` with
      an axis ``"samples"``, a number of devices or ``"auto"`` (see
      :func:`physlearn.algorithms.runner.run`); the results equal the single-device run.

    ``beta0``, ``beta_factor``, ``gamma0``, ``gamma_factor``, ``field0``, ``field_factor`` may be
    1-D arrays of equal length P (hyper-parameter points; leading result axis P).

    Defaults (``None`` = per kind; our own choice, the paper's values are not in the text we
    have): replicated y=3, β0=1, f_β=1.01, γ0=1, f_γ=1.01; standard y=3, β0=2, f_β=1.01, γ=0; quantum
    y=4 slices, β=6 fixed (f_β=1), Γ0=0.3, f_Γ=1.01. With ``schedule_every = 10 K N`` they solve
    random perceptrons (N=201, α ≤ 0.5) and committee machines (K=3, 5; α = 0.2--0.3) in
    :math:`10^3`--:math:`10^6` moves (``docs/experiments/annealing_scaling.md``).

    **Returns:** :class:`AnnealResult`.
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a physlearn.algorithms.problems.Problem, got {type(problem).__name__}")
    if len(problem.batch_shape) > 1:
        raise ValueError(f"problem must have at most one sample axis, batch_shape={problem.batch_shape}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if interaction not in INTERACTIONS:
        raise ValueError(f"interaction must be one of {INTERACTIONS}, got {interaction!r}")
    if energy not in ENERGIES:
        raise ValueError(f"energy must be one of {ENERGIES}, got {energy!r}")
    if proposal not in PROPOSALS:
        raise ValueError(f"proposal must be one of {PROPOSALS}, got {proposal!r}")
    if interaction == "explicit" and kind != "replicated":
        raise ValueError(f"interaction='explicit' needs kind='replicated', got kind={kind!r}")
    d = _DEFAULTS[kind]
    if kind != "quantum" and (field0 is not None or field_factor is not None):
        raise ValueError(f"field0/field_factor (transverse field) only apply to kind='quantum', got kind={kind!r}")
    if kind == "quantum" and (gamma0 is not None or gamma_factor is not None):
        raise ValueError("gamma0/gamma_factor do not apply to kind='quantum' (its coupling comes from beta and field0)")
    replicas = positive_int("replicas", d["replicas"] if replicas is None else replicas)
    if kind == "quantum" and replicas < 2:
        raise ValueError(f"replicas (Trotter slices) must be >= 2 for kind='quantum', got {replicas}")
    max_moves = positive_int("max_moves", max_moves)
    if max_moves >= 2**31 - 2**20:
        raise ValueError(f"max_moves must be < 2**31 - 2**20 (int32 move counters), got {max_moves}")
    moves_per_step = positive_int("moves_per_step", moves_per_step)
    KN = problem.k * problem.n
    schedule_every = positive_int("schedule_every", 10 * KN if schedule_every is None else schedule_every)
    give_up = positive_int("give_up", 100 * KN * replicas if give_up is None else give_up)
    restarts = _int_arg("restarts", restarts, minimum=0)
    if runs is not None:
        runs = positive_int("runs", runs)
    dt = float_dtype(dtype)

    def pick(name, v):
        return d[name] if v is None else v

    hp = {
        "beta0": hyper_parameter("beta0", pick("beta0", beta0), positive=True),
        "beta_factor": hyper_parameter("beta_factor", pick("beta_factor", beta_factor), positive=True),
        "gamma0": hyper_parameter("gamma0", pick("gamma0", gamma0)),
        "gamma_factor": hyper_parameter("gamma_factor", pick("gamma_factor", gamma_factor), positive=True),
        "field0": hyper_parameter("field0", pick("field0", field0), positive=True),
        "field_factor": hyper_parameter("field_factor", pick("field_factor", field_factor), positive=True),
    }
    for name in ("beta_factor", "gamma_factor", "field_factor"):
        if np.any(hp[name] < 1):
            raise ValueError(f"{name} must be >= 1 (β and γ grow, Γ shrinks), got {hp[name]!r}")
    if kind == "standard" and np.any(hp["gamma0"] != 0):
        raise ValueError(f"kind='standard' has no interaction: gamma0 must be 0 (or None), got {gamma0!r}")
    hp, P = hyper_batch(hp)
    algo = Annealing(
        **{k_: jnp.asarray(v, dtype=dt) for k_, v in hp.items()},
        replicas=replicas,
        kind=kind,
        interaction=interaction,
        energy=energy,
        proposal=proposal,
        schedule_every=schedule_every,
        give_up=give_up,
        restarts=restarts,
        max_moves=max_moves,
        moves_per_step=moves_per_step,
        init_equal=bool(init_equal),
        stop_at_solution=True,
        dtype=dt.name,
    )
    prob = Problem(problem.inputs, problem.labels, architecture=problem.architecture, k=problem.k)
    n_samples = problem.n_samples
    if runs is not None:
        if n_samples is None:
            prob = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (runs,) + x.shape), prob)
        else:
            prob = jax.tree_util.tree_map(
                lambda x: jnp.repeat(x, runs, axis=0), prob
            )
    max_steps = math.ceil(max_moves / moves_per_step) + restarts + 1
    res = run(
        algo,
        key,
        prob,
        max_steps=max_steps,
        stop="any",
        hyper_batch=P,
        trace=trace,
        progress=progress,
        description=f"annealing ({kind}, y={replicas})",
        mesh=mesh,
    )
    out = _result(algo, res, trace)
    if runs is not None and n_samples is not None:
        lead = 0 if P is None else 1

        def split(x):
            if x is None or not hasattr(x, "shape"):
                return x
            return x.reshape(x.shape[:lead] + (n_samples, runs) + x.shape[lead + 1:])

        out = jax.tree_util.tree_map(split, out)
    return out


@eqx.filter_jit
def _result(algo, res, trace):
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
    solved = jnp.min(rep_e, axis=-1) == 0
    use_centre = (info.errors < min_rep) & ~solved
    weights = jnp.where(use_centre[..., None, None], C, rep_best)
    return AnnealResult(
        solved=solved,
        errors=jnp.minimum(info.errors, min_rep),
        centre_errors=info.errors,
        replica_errors=rep_err,
        steps=st.moves,
        weights=weights,
        centre=C,
        gave_up=st.gave_up,
        restarts=st.restarts,
        accepted=st.accepted,
        beta=st.beta,
        gamma=info.gamma,
        field=st.field,
        trace=res.trace if trace else None,
    )


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
