r"""Standard simulated annealing on binary perceptrons and committee machines: the baseline of
Baldassi et al., PNAS 113, E7655 (2016), section IV (Figs. 2 and 7: its solve time grows
exponentially-like with N).

A chain holds ``y`` independent copies of the network (no interaction, :math:`\gamma = 0`),
started from the same random configuration, each sampling :math:`P \propto e^{-\beta E(W)}`; the
run stops when any of them reaches zero energy. The moves and the schedule are those of the shared
engine, :mod:`physlearn.algorithms.annealing`.
"""

from __future__ import annotations

import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from .annealing import RENAMED, AnnealResult, Chain, _key_table, _solve, common_doc
from .problems import Problem

__all__ = ["StandardSA", "solve"]


class StandardSA(Chain):
    """Standard SA: the shared chain without interaction (the coupling is 0)."""

    def _coupling(self, beta, gamma, field):
        return jnp.zeros_like(gamma)

    def _interaction(self, W, Wc, g):
        return jnp.zeros(W.shape, g.dtype)

    def _flip_log_ratio(self, column, a, g):
        return jnp.zeros((), g.dtype)

    def _native_keys(self):
        return (0, *_key_table(1, [(0, [1] * self.replicas, 0)]))


_BETA = schedules.exponential(2.0, 1.01)


@V.renamed_arguments(**RENAMED, gamma0="nothing (standard SA has no coupling; use replicated_sa)",
                     gamma_factor="nothing (standard SA has no coupling; use replicated_sa)")
@common_doc
def solve(
    key,
    problem: Problem,
    *,
    replicas: int = 3,
    beta=_BETA,
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
    """Train a binary perceptron / committee machine by standard simulated annealing: ``replicas``
    independent Metropolis chains from the same start, stopped when any solves (PNAS 113, E7655
    (2016), sec. IV).

    **Arguments:**

    - ``replicas``: the number of independent copies.
    - ``beta``: inverse temperature :math:`\\beta > 0`, a number or a schedule of the schedule
      update :math:`k` (one every ``schedule_every`` accepted moves); default
      ``schedules.exponential(2.0, 1.01)`` (our choice).
    {common}

    **Returns:** :class:`~physlearn.algorithms.annealing.AnnealResult`.
    """
    return _solve(
        StandardSA, key, problem, replicas=replicas, schedules_={"beta": schedules.check("beta", beta, positive=True)},
        energy=energy, proposal=proposal, schedule_every=schedule_every, give_up=give_up, restarts=restarts,
        runs=runs, moves_per_step=moves_per_step, init_equal=init_equal, max_steps=max_steps, stop=stop,
        dtype=dtype, trace=trace, progress=progress, mesh=mesh, description="standard SA",
    )
