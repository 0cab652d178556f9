r"""Entropic least action learning (eLAL): ``y`` replicas of LAL (:mod:`~physlearn.algorithms.lal`)
coupled to their centre.

Reference: C. Baldassi, F. Pittorino, R. Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 117, 161 (2020) (the slides describe eLAL as LAL on a
replicated system with an interaction between the replicas); the replication recipe is that of
Baldassi et al., PNAS 113, E7655 (2016) (robust ensemble, appendix C).

**eLAL** (:func:`solve`). The robust-ensemble recipe of PNAS 2016 (the slides describe eLAL
as LAL on a replicated system with an interaction between the replicas): ``y`` replicas :math:`H^a` each run LAL on its
own pattern order, and after every minibatch every replica is pulled towards the centre,

* binary weights, the RSGD kick of PNAS 2016 eq. (C7):
  :math:`H^a \leftarrow H^a + \lambda[\tanh(\gamma\sum_b W^b) - W^a]`, with :math:`\gamma`
  a schedule of the epoch (default ``schedules.linear(0.05, 0.001)``: 0.05 plus 0.001 per epoch); the
  read-out centre is :math:`\mathrm{sign}\sum_b W^b`;
* continuous weights, the elastic coupling (gradient of :math:`\frac{\lambda}{2}\sum_a
  |W^a-\bar W|^2` with the centre of mass :math:`\bar W=\frac1y\sum_b W^b`):
  :math:`H^a \leftarrow H^a + \lambda(\bar W - W^a)`; the read-out centre is :math:`\bar W`.

:math:`\lambda` is a number or a schedule of the epoch (continuous synapses: by default
``schedules.exponential(1e-3, 1.01)``, growing 1% per epoch). The 2020 paper's own
equations for eLAL (its supplementary information) were not available to us: the coupling form
and the schedules above are the PNAS 2016 recipe applied to LAL, not a transcription of the 2020
definition.

"""

from __future__ import annotations

import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from .lal import LALResult, run_lal
from .problems import Problem

__all__ = ["solve"]

_GAMMA = schedules.linear(0.05, 0.001)


@V.renamed_arguments("lr", "max_epochs", "weights", "lam_factor", "gamma_step")
def solve(
    key,
    problem: Problem,
    *,
    replicas: int = 5,
    lam=None,
    gamma=_GAMMA,
    learning_rate=2.0,
    batch: int = 1,
    synapses: str = "binary",
    init_scale=1.0,
    init_equal: bool = True,
    max_steps: int = 1000,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> LALResult:
    r"""Entropic least action learning (eLAL, Baldassi, Pittorino & Zecchina, PNAS 117, 161
    (2020)): ``replicas`` copies of LAL coupled to their centre by the robust-ensemble kick of
    PNAS 113, E7655 (2016) after every minibatch (module docstring; the 2020 paper's own eLAL
    equations were not available to us).

    **Arguments** (others as :func:`physlearn.algorithms.lal.solve`):

    - ``replicas``: y.
    - ``lam``: coupling :math:`\lambda` of every kick (one per minibatch), a number or a schedule of
      the epoch. Defaults: binary ``0.1`` (the coupling grows through ``gamma``); continuous
      ``schedules.exponential(1e-3, 1.01)`` (the replicas are pulled together more and more). Our
      choices, tried on tree committees (K = 3, n = 51) only.
    - ``gamma``: binary synapses only, the :math:`\tanh(\gamma\sum_b W^b)` target, a number or a
      schedule of the epoch; default ``schedules.linear(0.05, 0.001)`` (PNAS 2016 eq. C7 and
      scoping).
    - ``init_equal``: all replicas start from the same network (default, as PNAS 2016).
    - ``max_steps``: budget in **epochs**; ``stop``: ``"any"`` (default: stop when the centre or a
      replica has zero training errors), ``"centre"`` or ``"never"``.

    **Returns:** :class:`~physlearn.algorithms.lal.LALResult`.
    """
    if lam is None:
        lam = 0.1 if synapses == "binary" else schedules.exponential(1e-3, 1.01)
    return run_lal(key, problem, replicas=replicas, lam=lam, gamma=gamma, learning_rate=learning_rate, batch=batch,
                   synapses=synapses, init_scale=init_scale, init_equal=init_equal, max_steps=max_steps, stop=stop,
                   dtype=dtype, trace=trace, progress=progress, mesh=mesh,
                   description=f"eLAL (y={replicas}, {synapses})")
