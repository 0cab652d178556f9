r"""Quantum (Suzuki--Trotter) simulated annealing on binary perceptrons and committee machines
(C. Baldassi, R. Zecchina, "Efficiency of quantum vs. classical annealing in nonconvex learning
problems", PNAS 115, 1457 (2018)).

The Suzuki--Trotter representation of :math:`E - \Gamma\sum_{ki}\sigma^x_{ki}` at inverse
temperature :math:`\beta` with ``y`` Trotter slices on a ring,

.. math:: H = \frac{1}{y}\sum_a E(W^a) - \frac{\gamma_\Gamma}{\beta}\sum_{a=1}^{y}\sum_{ki}
   W^a_{ki}W^{a+1}_{ki},\qquad \gamma_\Gamma = -\tfrac12\log\tanh\frac{\beta\Gamma}{y}
   = \operatorname{atanh}\big(e^{-2\beta\Gamma/y}\big),

with :math:`W^{y+1}\equiv W^1` (for ``y = 2`` the ring has the bond 1--2 twice, as the formula
says; the additive constant of the transformation is dropped). As the transverse field
:math:`\Gamma\to0`, :math:`\gamma_\Gamma\to\infty` and the slices collapse onto one classical
configuration. The moves and the schedules are those of the shared engine,
:mod:`physlearn.algorithms.annealing`.
"""

from __future__ import annotations

import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from .annealing import RENAMED, AnnealResult, Chain, _key_table, _pick, _solve, _times, common_doc, quantum_coupling
from .problems import Problem

__all__ = ["QuantumSA", "solve"]


class QuantumSA(Chain):
    """Quantum SA: ``replicas`` Trotter slices on a ring; ``field`` (the transverse field
    :math:`\\Gamma`) is a schedule of the schedule update, like ``beta``."""

    field: schedules.Schedule

    def _coupling(self, beta, gamma, field):
        return quantum_coupling(beta, field, self.replicas)

    def _interaction(self, W, Wc, g):
        nb = jnp.roll(W, 1, axis=0) + jnp.roll(W, -1, axis=0)
        return _times(g, -2 * W * nb)

    def _flip_log_ratio(self, column, a, g):
        y = self.replicas
        nb = _pick(column, (a + 1) % y) + _pick(column, (a + y - 1) % y)
        return _times(g, -2 * _pick(column, a) * nb)

    def _native_keys(self):
        y = self.replicas
        entries = {}
        for p in (-1, 1):  # the flipped spin a = 0 is +1; its ring neighbours p, q: key (w nb + 2) / 2
            for q in (-1, 1):
                col = [1] * y
                col[1 % y], col[(y - 1) % y] = p, q
                if col[0] == 1 and col[1 % y] == p and col[(y - 1) % y] == q:
                    entries[(col[1 % y] + col[(y - 1) % y] + 2) // 2] = col
        return (3, *_key_table(3, [(key, col, 0) for key, col in entries.items()]))

    def _data_scale(self, beta):
        return beta / self.replicas

    def _schedule(self, k, dt):
        beta, gamma, _ = super()._schedule(k, dt)
        return beta, gamma, self.field(k).astype(dt)


_FIELD = schedules.exponential(0.3, 1 / 1.01)


@V.renamed_arguments(
    **RENAMED,
    field0="field (a number or a schedule: field=schedules.exponential(field0, 1 / field_factor))",
    field_factor="field=schedules.exponential(field0, 1 / field_factor)",
    gamma0="nothing (the Trotter coupling follows from beta and field)",
    gamma_factor="nothing (the Trotter coupling follows from beta and field)",
)
@common_doc
def solve(
    key,
    problem: Problem,
    *,
    replicas: int = 4,
    beta=6.0,
    field=_FIELD,
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
    """Train a binary perceptron / committee machine by quantum simulated annealing (PNAS 115, 1457
    (2018); the module docstring has the sampled measure).

    **Arguments:**

    - ``replicas``: y >= 2, the number of Trotter slices.
    - ``beta``: inverse temperature :math:`\\beta > 0` (default 6, fixed); ``field``: the transverse
      field :math:`\\Gamma > 0` (default ``schedules.exponential(0.3, 1 / 1.01)``: divided by 1.01 at
      each update). Numbers or schedules of the schedule update :math:`k` (one every
      ``schedule_every`` accepted moves). Our choices: the paper's values are not in the text we
      have.
    {common}

    **Returns:** :class:`~physlearn.algorithms.annealing.AnnealResult` (``gamma`` is the Trotter
    coupling :math:`\\gamma_\\Gamma`).
    """
    if V.integer("replicas", replicas) < 2:
        raise ValueError(f"replicas (Trotter slices) must be >= 2 for quantum SA, got {replicas}")
    return _solve(
        QuantumSA, key, problem, replicas=replicas,
        schedules_={"beta": schedules.check("beta", beta, positive=True),
                    "field": schedules.check("field", field, positive=True)},
        energy=energy, proposal=proposal, schedule_every=schedule_every, give_up=give_up, restarts=restarts,
        runs=runs, moves_per_step=moves_per_step, init_equal=init_equal, max_steps=max_steps, stop=stop,
        dtype=dtype, trace=trace, progress=progress, mesh=mesh, description="quantum SA",
    )
