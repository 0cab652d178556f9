r"""Replicated stochastic gradient descent (RSGD) on binary perceptrons and committee machines.

Reference: C. Baldassi, C. Borgs, J. T. Chayes, A. Ingrosso, C. Lucibello, L. Saglietti,
R. Zecchina, "Unreasonable effectiveness of learning neural networks: from accessible states and
robust ensembles to basic algorithmic schemes", PNAS 113, E7655 (2016), section V and appendix C
(reference code: BinaryCommitteeMachineRSGD.jl).

The model: ``y`` replicas, each with continuous hidden variables :math:`H^a_{ki}` and binary
weights :math:`W^a = \mathrm{sign}(H^a)`, coupled with strength :math:`\gamma` to a centre
:math:`\tilde W` that is traced out (default) or explicit.

One *epoch* (one ``step`` of the shared driver) presents every pattern once to every replica, in
``ceil(M/batch)`` minibatches drawn from an independent permutation per replica. For each
minibatch:

1. data term -- gradient of the minimum-flip energy (eqs. 9--13, 37): for each violated pattern,
   the :math:`n_{fix}` least-wrong hidden units receive :math:`\Delta H^a_k = \eta\,\sigma^\mu
   \xi^\mu_{(k)}`, accumulated over the minibatch;
2. interaction kick, with :math:`\bar W = \frac1y\sum_b W^b` (traced centre) and ``formula``:

   * ``"simple"`` (eq. C7/40): :math:`H^a \mathrel{+}= \lambda[\tanh(\gamma y \bar W) - W^a]`;
   * ``"corrected"`` (eq. C9/43): :math:`H^a \mathrel{+}= \lambda[\tanh(\gamma y \bar W) -
     \tanh(\gamma y) W^a]`;
   * ``"hard"``: as simple with :math:`\tanh \to \mathrm{clip}(\cdot,-1,1)`;
   * ``"continuous"``: :math:`H^a \mathrel{+}= \lambda[\bar W - W^a]` (continuous trace over the
     centre);
   * ``"explicit"``: an explicit binary centre :math:`W^c=\mathrm{sign}(H^c)` with no data term;
     :math:`\delta_a = (W^c - W^a)/2`, :math:`H^a \mathrel{+}= \lambda\delta_a`,
     :math:`H^c \mathrel{-}= \lambda\sum_a\delta_a`.

The step size :math:`\eta` (``learning_rate``), the kick :math:`\lambda` (``lam``) and the coupling
:math:`\gamma` are numbers or schedules of the epoch (:mod:`~physlearn.algorithms.schedules`); the
paper's scoping :math:`\gamma \mathrel{+}= \gamma_{step}` per epoch is the default
``gamma=schedules.linear(0.05, 0.001)``. After each epoch the training errors of the centre and of
every replica are computed.

Replica order: by default (``replica_update="parallel"``) all replicas take their minibatch step,
then all are kicked with the centre computed at the start of the minibatch -- the paper (appendix
C.2) notes the scheme parallelises this way. ``replica_update="sequential"`` is the order of the
Julia code: per minibatch the replicas are visited in a fresh random order, each kicked with the
current centre, which is refreshed after each kick (:math:`\bar W \mathrel{+}= (W^a_{new} -
W^a_{old})/y`; explicit centre: :math:`H^c` updated). Measured on the alpha = 0.5 reference case
(committee K=5, N=321, M=802, y=7, 4 samples, 5000 epochs) the order does not change which
formulas solve: simple/corrected/hard solve in both, continuous and explicit in neither (see
``tests/test_rsgd.py``), so the faster parallel order stays the default.

Other differences from the reference code (documented, deliberate): a final partial minibatch is
masked instead of wrapping around. With :math:`\gamma=\infty`,
:math:`\tanh(\infty\cdot 0)` is taken as 0 (the reference code gives NaN for even y).

``replicas=1, lam=0`` (or any ``replicas`` with ``lam=0``, each replica then runs independently)
is the non-interacting "clipped" SGD baseline.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from ._network import (batch_grad, least_wrong_energy, least_wrong_selection, pack_pm, packed_preactivations, sign_pm,
                       unpack_pm)
from .problems import Problem, solve_arguments
from .results import ReplicaResult, base_fields, best_network
from .runner import permutation_rounds, permute, run

__all__ = ["REPLICA_UPDATES", "RSGD", "RSGDState", "RSGDInfo", "RSGDResult", "FORMULAS", "solve"]

FORMULAS = ("simple", "corrected", "hard", "continuous", "explicit")
REPLICA_UPDATES = ("parallel", "sequential")


def minibatch_indices(key, replicas: int, m: int, batch: int):
    """Pattern indices of one epoch, ``(ceil(m/batch), replicas, batch)``: an independent random
    permutation of the M patterns per replica (:func:`~physlearn.algorithms.runner.permutations`:
    each pattern once per epoch, no sort), cut into minibatches; the last minibatch is padded
    with -1 (masked) when ``batch`` does not divide M. The permutation is evaluated directly at
    the positions ``j * batch + i`` of this layout (:func:`~physlearn.algorithms.runner.permute`)."""
    nb = math.ceil(m / batch)
    pivot, mul, add = permutation_rounds(key, (replicas,), m)
    pos = (jnp.arange(nb, dtype=jnp.int32)[:, None, None] * batch
           + jnp.arange(batch, dtype=jnp.int32)[None, None, :])  # (nb, 1, batch)
    idx = permute(tuple(p[None, :, None, :] for p in (pivot, mul, add)), pos, m)  # (nb, replicas, batch)
    return jnp.where(pos < m, idx, -1)


def replica_orders(key, nb: int, replicas: int):
    """Replica visiting orders of one epoch for ``replica_update="sequential"``, ``(nb, y)``: an
    independent random permutation per sub-epoch (drawn from ``fold_in(key, 1)``, so the minibatch
    indices of :func:`minibatch_indices` are the same in both update orders)."""
    keys = jax.random.split(jax.random.fold_in(key, 1), nb)
    return jax.vmap(lambda kk: jax.random.permutation(kk, replicas))(keys).astype(jnp.int32)


class RSGDState(eqx.Module):
    """Carried state: hidden variables ``H (y, K, N)``, explicit centre ``Hc (K, N)`` (unused by
    the traced formulas) and the ``epoch`` counter (the step of the schedules)."""

    H: jax.Array
    Hc: jax.Array
    epoch: jax.Array


class RSGDInfo(eqx.Module):
    """Per-epoch report (after the epoch's updates).

    ``errors``: training errors of the binary centre; ``replica_errors (y,)``; ``best_errors``:
    min over centre and replicas; ``centre_energy`` / ``replica_energy (y,)``: minimum-flip
    energies (eq. 9); ``distance``: mean normalised Hamming distance replica--centre; ``gamma``:
    the coupling used in the epoch."""

    errors: jax.Array
    replica_errors: jax.Array
    best_errors: jax.Array
    centre_energy: jax.Array
    replica_energy: jax.Array
    distance: jax.Array
    gamma: jax.Array


class RSGD(eqx.Module):
    """RSGD hyper-parameters: ``learning_rate``, ``lam``, ``gamma`` are schedules of the epoch
    (:mod:`~physlearn.algorithms.schedules`; their numbers may carry a leading hyper-parameter
    axis)."""

    learning_rate: schedules.Schedule
    lam: schedules.Schedule
    gamma: schedules.Schedule
    replicas: int = eqx.field(static=True)
    batch: int = eqx.field(static=True)
    formula: str = eqx.field(static=True)
    init_equal: bool = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    replica_update: str = eqx.field(static=True, default="parallel")

    # -------------------------------------------------------------------------------------------
    def init(self, key, problem: Problem) -> RSGDState:
        """H = +-1 uniformly at random; all replicas equal if ``init_equal`` (paper, C.2)."""
        dt = jnp.dtype(self.dtype)
        k, n, y = problem.k, problem.n, self.replicas
        bits = jax.random.bits(key, (y + 1, k, n), dtype=jnp.uint8)
        pm = jnp.where((bits & 1) == 1, 1.0, -1.0).astype(dt)
        if self.init_equal:
            H = jnp.broadcast_to(pm[0], (y, k, n))
            Hc = pm[0]
        else:
            H, Hc = pm[1:], pm[0]
        return RSGDState(H=H, Hc=Hc, epoch=jnp.zeros((), jnp.int32))

    # -------------------------------------------------------------------------------------------
    def _kick(self, H, Hc, W_new, W_old, lam, gamma):
        y = self.replicas
        dt = H.dtype
        if self.formula == "explicit":
            Wc = sign_pm(Hc)
            delta = (Wc[None] - W_new) / 2.0
            return H + lam * delta, Hc - lam * jnp.sum(delta, axis=0)
        wbar = jnp.mean(W_old, axis=0)
        if self.formula == "continuous":
            return H + lam * (wbar[None] - W_new), Hc
        # gamma * y * wbar = gamma * sum_b W_b; with gamma = inf and wbar = 0 the product is NaN,
        # the limit of tanh(gamma * 0) is 0 at every finite gamma.
        arg = jnp.where(wbar == 0, jnp.zeros((), dt), gamma * y * wbar)
        if self.formula == "hard":
            target = jnp.clip(arg, -1.0, 1.0)
        else:
            target = jnp.tanh(arg)
        if self.formula == "corrected":
            self_term = jnp.tanh(gamma * y) * W_new
        else:
            self_term = W_new
        return H + lam * (target[None] - self_term), Hc

    def _kick_sequential(self, H_data, W_old, Hc, perm, lam, gamma):
        r"""Sequential interaction kicks (reference-code order): replicas ``perm[0], perm[1], ...``
        are kicked one after the other, the centre being refreshed after each one
        (traced: :math:`\bar W \mathrel{+}= (W_a^{new} - W_a^{old})/y`; explicit: :math:`H^c`
        updated). ``H_data``: fields after every replica's data step (the data step of replica
        ``a`` does not depend on the other replicas, so it is computed for all in parallel);
        ``W_old``: binary weights before it."""
        y = self.replicas
        dt = H_data.dtype
        if self.formula == "explicit":

            def body(j, carry):
                H, Hc = carry
                a = perm[j]
                Ha = H[a]
                delta = (sign_pm(Hc) - sign_pm(Ha)) / 2.0
                H = H.at[a].set(Ha + lam * delta)
                return H, Hc - lam * delta

            return jax.lax.fori_loop(0, y, body, (H_data, Hc), unroll=True)

        gy = jnp.tanh(gamma * y)

        def body(j, carry):
            H, wsum = carry  # wsum = y * wbar, exact small integers
            a = perm[j]
            Ha = H[a]
            Wn = sign_pm(Ha)
            if self.formula == "continuous":
                Ha = Ha + lam * (wsum / y - Wn)
            else:
                arg = jnp.where(wsum == 0, jnp.zeros((), dt), gamma * wsum)
                target = jnp.clip(arg, -1.0, 1.0) if self.formula == "hard" else jnp.tanh(arg)
                self_term = gy * Wn if self.formula == "corrected" else Wn
                Ha = Ha + lam * (target - self_term)
            H = H.at[a].set(Ha)
            return H, wsum + sign_pm(Ha) - W_old[a]

        H, _ = jax.lax.fori_loop(0, y, body, (H_data, jnp.sum(W_old, axis=0)), unroll=True)
        return H, Hc

    def step(self, key, state: RSGDState, problem: Problem):
        """One epoch of RSGD (see the module docstring for the equations).

        The forward passes use bit-packed +-1 arithmetic (:func:`~._network.packed_preactivations`:
        one XOR + popcount per 32 synapses), which gives the exact integer fields of the float
        matmul; only the gradient of the selected units is accumulated in floating point."""
        dt = state.H.dtype
        y, b = self.replicas, self.batch
        m, n = problem.m, problem.n
        lr = self.learning_rate(state.epoch).astype(dt)
        lam = self.lam(state.epoch).astype(dt)
        gamma = self.gamma(state.epoch).astype(dt)
        b = min(b, m)
        xp = pack_pm(problem.inputs)  # (M, words) or (M, K, words), uint32
        sig = problem.labels.astype(dt)
        tree = problem.tree

        idx = minibatch_indices(key, y, m, b)  # (nb, y, b), -1 = padding
        nb = idx.shape[0]
        if self.replica_update == "sequential":  # a random replica order per sub-epoch
            perms = replica_orders(key, nb, y)
        else:
            perms = jnp.zeros((nb, y), jnp.int32)

        def sub_epoch(carry, xs):
            ids, perm = xs
            H, Hc = carry
            mask = (ids >= 0).astype(dt)
            ids = jnp.maximum(ids, 0)
            W = sign_pm(H)
            xbp = xp[ids]  # (y, b, words) or (y, b, K, words)
            sb = sig[ids]  # (y, b)
            h = packed_preactivations(pack_pm(W), xbp, n, tree, dt)  # (y, b, K)
            sel, _ = least_wrong_selection(h, sb)
            coef = sel * (sb * mask)[..., None]  # (y, b, K)
            g = batch_grad(coef, unpack_pm(xbp, n, dt), tree)  # (y, K, N)
            H_data = H + lr * g
            if self.replica_update == "sequential":
                H, Hc = self._kick_sequential(H_data, W, Hc, perm, lam, gamma)
            else:
                H, Hc = self._kick(H_data, Hc, sign_pm(H_data), W, lam, gamma)
            return (H, Hc), None

        (H, Hc), _ = jax.lax.scan(sub_epoch, (state.H, state.Hc), (idx, perms))

        # ---- report ----------------------------------------------------------------------------
        W = sign_pm(H)
        if self.formula == "explicit":
            Wc = sign_pm(Hc)
        else:
            Wc = sign_pm(jnp.sum(W, axis=0))
        nets = jnp.concatenate([Wc[None], W], axis=0)  # (y+1, K, N)
        hh = packed_preactivations(pack_pm(nets), xp[None], n, tree, dt)  # (y+1, M, K)
        e = least_wrong_energy(hh, problem.labels[None])
        out = sign_pm(jnp.sum(sign_pm(hh), axis=-1))
        errs = jnp.sum(out != sig[None], axis=-1, dtype=jnp.int32)  # (y+1,)
        energy = jnp.sum(e, axis=-1)
        dist = jnp.mean(W != Wc[None]).astype(dt)
        info = RSGDInfo(
            errors=errs[0],
            replica_errors=errs[1:],
            best_errors=jnp.min(errs),
            centre_energy=energy[0],
            replica_energy=energy[1:],
            distance=dist,
            gamma=gamma,
        )
        return RSGDState(H=H, Hc=Hc, epoch=state.epoch + 1), info


class RSGDResult(ReplicaResult):
    """Result of :func:`solve` (:class:`~physlearn.algorithms.results.ReplicaResult`; every array
    has the batch axes ``(P?, S?)`` in front).

    - ``solved``, ``steps`` (epochs), ``errors``, ``weights (..., K, N)`` int8 (the best network:
      the centre when it ties with a replica), ``trace`` (per-epoch :class:`RSGDInfo`);
    - ``centre_errors``, ``replica_errors (..., y)``: at the end;
    - ``centre (..., K, N)`` int8: the binary centre.
    """


_DEFAULT_GAMMA = schedules.linear(0.05, 0.001)


@V.renamed_arguments(
    "lr", "max_epochs", "gamma_step", "lam_factor",
    lr_factor="learning_rate=schedules.exponential(learning_rate, lr_factor)",
    wait_centre="stop='centre'",
)
def solve(
    key,
    problem: Problem,
    *,
    replicas: int = 7,
    batch: int = 80,
    learning_rate=2.0,
    lam=0.75,
    gamma=_DEFAULT_GAMMA,
    formula: str = "simple",
    replica_update: str = "parallel",
    init_equal: bool = True,
    max_steps: int = 1000,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> RSGDResult:
    r"""Train a binary perceptron / committee machine with replicated SGD (Baldassi et al., PNAS
    113, E7655 (2016), sec. V, eqs. 37--43 of appendix C).

    **Arguments:**

    - ``key``: a JAX PRNG key, ``jax.random.key(seed)`` (sample ``i`` of a batch uses
      ``fold_in(key, i)``).
    - ``problem``: a :class:`~physlearn.algorithms.problems.Problem`, one instance or a batch with
      one leading sample axis.
    - ``replicas``: y, number of replicas (``1`` with ``lam=0``: non-interacting clipped SGD).
    - ``batch``: minibatch size (clipped to M).
    - ``learning_rate``: :math:`\eta` of the data term (2 keeps H odd integers when λ=0).
    - ``lam``: :math:`\lambda` (:math:`\eta'` in the paper), strength of the interaction kick.
    - ``gamma``: the coupling :math:`\gamma` (may be ``inf``); default ``schedules.linear(0.05,
      0.001)``: 0.05, plus 0.001 after every epoch (scoping).
    - ``learning_rate``, ``lam`` and ``gamma`` are numbers or schedules ``epoch -> value``
      (:mod:`~physlearn.algorithms.schedules`, optax schedules).
    - ``formula``: ``"simple"`` (eq. C7), ``"corrected"`` (C9), ``"hard"``, ``"continuous"`` or
      ``"explicit"`` (explicit centre); see the module docstring.
    - ``replica_update``: ``"parallel"`` (all replicas kicked with the centre of the start of the
      minibatch) or ``"sequential"`` (reference-code order: replicas kicked one after the other
      in a random order per minibatch, the centre refreshed after each).
    - ``init_equal``: all replicas start from the same random network (default, as the paper).
    - ``max_steps``: budget in **epochs** (one epoch presents every pattern once to every replica).
    - ``stop``: ``"any"`` (default: stop when the centre or a replica has zero errors),
      ``"centre"`` (only when the centre has) or ``"never"`` (the whole budget).
    - ``dtype``: float dtype of H (float32 default); ``trace``: keep per-epoch :class:`RSGDInfo`;
      ``progress``: ``rich`` progress bar (``None``: once the run lasts a few seconds).
    - ``mesh``: shard the samples axis of a batched ``problem`` over devices: a
      ``jax.sharding.Mesh`` with an axis ``"samples"``, a number of devices or ``"auto"``
      (see :func:`physlearn.algorithms.runner.run`); the results equal the single-device run.

    The numbers of ``learning_rate``, ``lam``, ``gamma`` may be 1-D arrays of equal length P
    (hyper-parameter points, broadcast with scalars): the result then has a leading axis P, before
    the sample axis.

    **Returns:** :class:`RSGDResult`.

    The defaults (y=7, batch 80, η=2, λ=0.75, γ=0.05 + 0.001/epoch, the reference-code test
    settings) solve random committee and perceptron instances well inside capacity (α ≲ 0.4).
    """
    key, problem, max_steps, dt = solve_arguments(key, problem, max_steps=max_steps, stop=stop, dtype=dtype)
    replicas = V.integer("replicas", replicas)
    batch = V.integer("batch", batch)
    V.choice("formula", formula, FORMULAS)
    V.choice("replica_update", replica_update, REPLICA_UPDATES)
    hp = {
        "learning_rate": schedules.check("learning_rate", learning_rate, positive=True),
        "lam": schedules.check("lam", lam),
        "gamma": schedules.check("gamma", gamma, allow_inf=True),
    }
    hp, P = schedules.hyper_batch(hp, dt)
    algo = RSGD(
        **hp,
        replicas=replicas,
        batch=batch,
        formula=formula,
        init_equal=bool(init_equal),
        dtype=dt.name,
        replica_update=replica_update,
    )
    res = run(
        algo,
        key,
        problem,
        max_steps=max_steps,
        stop=stop,
        hyper_batch=P,
        trace=trace,
        progress=progress,
        description=f"RSGD ({formula}, y={replicas})",
        mesh=mesh,
    )
    return _result(algo, res, problem, trace, P is not None, stop)


@eqx.filter_jit
def _result(algo, res, problem, trace, hyper, stop):
    info = res.info
    state = res.state
    W = sign_pm(state.H).astype(jnp.int8)  # (..., y, K, N)
    if algo.formula == "explicit":
        C = sign_pm(state.Hc).astype(jnp.int8)
    else:
        C = sign_pm(jnp.sum(W.astype(jnp.int32), axis=-3)).astype(jnp.int8)
    weights = best_network(C, W, info.errors, info.replica_errors)
    return RSGDResult(
        **base_fields(res, weights, problem, trace=trace, hyper=hyper, stop=stop),
        centre_errors=info.errors,
        replica_errors=info.replica_errors,
        centre=C,
    )
