r"""Replicated simulated annealing on binary perceptrons and committee machines (Baldassi et al.,
PNAS 113, E7655 (2016), section IV and appendix B; Figs. 2 and 7: the solve time grows polynomially
with N, against exponentially for standard SA).

A chain holds ``y`` replicas :math:`W^a` coupled through their centre with strength
:math:`\gamma` and samples :math:`P \propto e^{-\beta H}`:

* ``interaction="traced"`` (the robust ensemble with the centre traced out, eq. 14 of appendix B):
  :math:`H = \sum_a E(W^a) - \frac1\beta\sum_{ki}\log 2\cosh(\gamma\sum_a W^a_{ki})`
  (:math:`\gamma` is not multiplied by :math:`\beta`);
* ``interaction="explicit"``: an explicit reference :math:`\tilde W` with no data energy,
  :math:`H = \sum_a E(W^a) - \frac{\gamma}{\beta}\sum_{ki}\tilde W_{ki}\sum_a W^a_{ki}`.

The moves, the energy bookkeeping and the schedules are those of the shared engine,
:mod:`physlearn.algorithms.annealing`.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from .annealing import (
    INTERACTIONS, RENAMED, AnnealResult, Chain, _key_table, _log2cosh_diff, _pick, _solve, _spins_summing_to, _times,
    _total, common_doc,
)
from .problems import Problem

__all__ = ["ReplicatedSA", "solve"]


class ReplicatedSA(Chain):
    """Replicated SA: the shared chain with the coupling ``gamma`` (a schedule of the schedule
    update, like ``beta``) and the ``interaction`` (``"traced"`` or ``"explicit"``)."""

    gamma: schedules.Schedule
    interaction: str = eqx.field(static=True)

    @property
    def _explicit(self) -> bool:
        return self.interaction == "explicit"

    def _coupling(self, beta, gamma, field):
        return gamma

    def _interaction(self, W, Wc, g):
        S = jnp.sum(W, axis=0, dtype=jnp.int32)
        if self._explicit:
            Wc = Wc.astype(jnp.int32)
            rep = _times(g, -2 * Wc[None] * W)
            ref = _times(g, -2 * Wc * S)
            return jnp.concatenate([rep, ref[None]], axis=0)
        return _log2cosh_diff(g, S[None] - 2 * W, jnp.broadcast_to(S, W.shape))

    def _flip_log_ratio(self, column, a, g):
        S = _total(column[: self.replicas])
        if self._explicit:
            wc = column[self.replicas]
            return _times(g, -2 * wc * jnp.where(a == self.replicas, S, _pick(column, a)))
        return _log2cosh_diff(g, S - 2 * _pick(column, a), S)

    def _schedule(self, k, dt):
        beta, _, field = super()._schedule(k, dt)
        return beta, self.gamma(k).astype(dt), field

    def _native_keys(self):
        y = self.replicas
        entries = []
        if self._explicit:  # replica flips: the sign of wc w; reference flips: wc S
            entries += [(0, [1] * y + [-1], 0), (1, [1] * y + [1], 0)]
            for s in range(-y, y + 1):
                rest = _spins_summing_to(y, s)
                if rest is not None:
                    entries.append((2 + s + y, rest + [1], y))
            return (2, *_key_table(2 * y + 3, entries))
        for s in range(-y, y + 1):  # traced: the site sum S and the flipped spin w
            for w in (-1, 1):
                rest = _spins_summing_to(y - 1, s - w)
                if rest is not None:
                    entries.append(((s + y) * 2 + (w > 0), [w] + rest, 0))
        return (1, *_key_table(2 * (2 * y + 1), entries))


_BETA = schedules.exponential(1.0, 1.01)
_GAMMA = schedules.exponential(1.0, 1.01)


@V.renamed_arguments(
    **RENAMED,
    gamma0="gamma (a number or a schedule: gamma=schedules.exponential(gamma0, gamma_factor))",
    gamma_factor="gamma=schedules.exponential(gamma0, gamma_factor)",
)
@common_doc
def solve(
    key,
    problem: Problem,
    *,
    replicas: int = 3,
    beta=_BETA,
    gamma=_GAMMA,
    interaction: str = "traced",
    energy: str = "minflip",
    proposal: str = "uniform",
    schedule_every: int | None = None,
    give_up: int | None = None,
    restarts: int = 0,
    runs: int | None = None,
    moves_per_step: int = 2000,
    init_equal: bool = True,
    max_steps: int = 20_000_000,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> AnnealResult:
    """Train a binary perceptron / committee machine by replicated simulated annealing (PNAS 113,
    E7655 (2016), sec. IV and appendix B; the module docstring has the sampled measure).

    **Arguments:**

    - ``replicas``: y, the number of replicas.
    - ``beta``: inverse temperature :math:`\\beta > 0`; ``gamma``: the coupling :math:`\\gamma \\ge 0`
      (may be ``inf``). Numbers or schedules of the schedule update :math:`k` (one every
      ``schedule_every`` accepted moves); defaults ``schedules.exponential(1.0, 1.01)`` for both
      (annealing and scoping; our choice, the paper's values are not in the text we have).
    - ``interaction``: ``"traced"`` (centre traced out, default) or ``"explicit"`` (explicit
      reference spins).
    {common}

    **Returns:** :class:`~physlearn.algorithms.annealing.AnnealResult`.

    With the defaults random perceptrons (N = 201, α ≤ 0.5) and committee machines (K = 3, 5;
    α = 0.2--0.3) are solved in :math:`10^3`--:math:`10^6` moves
    (``docs/experiments/annealing_scaling.md``).
    """
    return _solve(
        ReplicatedSA, key, problem, replicas=replicas,
        schedules_={"beta": schedules.check("beta", beta, positive=True),
                    "gamma": schedules.check("gamma", gamma, allow_inf=True)},
        interaction=V.choice("interaction", interaction, INTERACTIONS), energy=energy, proposal=proposal,
        schedule_every=schedule_every, give_up=give_up, restarts=restarts, runs=runs, moves_per_step=moves_per_step,
        init_equal=init_equal, max_steps=max_steps, stop=stop, dtype=dtype, trace=trace, progress=progress, mesh=mesh,
        description="replicated SA",
    )
