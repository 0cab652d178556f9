r"""Least action learning (LAL) on committee machines and perceptrons.

References: G. Mitchison and R. Durbin, "Bounds on the learning capacity of some multi-layer
networks", Biol. Cybern. 60, 345 (1989); the LAL of C. Baldassi, F. Pittorino, R. Zecchina, "Shaping
the learning landscape in neural networks around wide flat minima", PNAS 117, 161 (2020). The
replicated version (eLAL) is :mod:`~physlearn.algorithms.elal`, which shares :class:`LAL`.

**Networks.** LAL trains hidden variables :math:`H_{ki}` behind binary synapses
:math:`W=\mathrm{sign}(H)` (``synapses="binary"``, default) or continuous ones :math:`W=H`
(``synapses="continuous"``), as ceSGD does (:mod:`~physlearn.algorithms.cesgd` describes both);
:math:`h^\mu_k = \xi^\mu_{(k)}\cdot W_k` is the field of hidden unit k and the output is the
committee vote :math:`\mathrm{sign}\sum_k\mathrm{sign}(h^\mu_k)`.

**LAL** (:func:`solve`). Patterns are presented in minibatches (``batch=1``: one at a time,
the original online rule). For each misclassified pattern, among the hidden units with the wrong
sign (:math:`\sigma^\mu\tau^\mu_k<0`) the one with the smallest :math:`|h^\mu_k|` (the unit that is
cheapest to fix, :func:`lal_selection`; ties to the lower index) receives the perceptron update

.. math:: H_k \leftarrow H_k + \eta\,\sigma^\mu\xi^\mu_{(k)} ;

nothing else changes. With binary weights this is the clipped-perceptron form: the field is that
of the binary network, and it is the PNAS 2016 minimum-flip rule (eqs. 9--13, used by
:mod:`~physlearn.algorithms.rsgd`) restricted to the single least-wrong unit -- the variation that
PNAS 2016 (section V, after eq. 37) identifies with the least action algorithm.

LAL follows the shared driver's ``init``/``step`` shape (:mod:`~physlearn.algorithms.runner`): one
``step`` is one epoch, batched over disorder samples and hyper-parameter points, ``mesh=`` shards
the samples over devices.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from ._network import (
    SYNAPSES, batch_fields, batch_grad, init_hidden, network_errors, outputs_from_preacts, readout, sign_pm,
)
from .problems import Problem
from .results import ReplicaResult, base_fields, best_network
from .rsgd import minibatch_indices
from .runner import run

__all__ = ["SYNAPSES", "lal_selection", "LAL", "LALState", "LALInfo", "LALResult", "solve"]


# ------------------------------------------------------------------------------------------------
# LAL selection
# ------------------------------------------------------------------------------------------------
@jax.jit
def lal_selection(h, labels):
    r"""Least-action choice: ``(..., M, K)`` one-hot on, for each misclassified pattern, the hidden
    unit of wrong sign (:math:`\sigma\,\mathrm{sign}(h_k) < 0`) with the smallest :math:`|h_k|`
    (ties: lowest index); all zeros on correctly classified patterns. ``h`` are the hidden fields
    ``(..., M, K)``, ``labels`` +-1 ``(..., M)``. (Mitchison & Durbin 1989; PNAS 2016 sec. V.)"""
    sig = labels.astype(h.dtype)[..., None]
    tau = sign_pm(h)
    wrong_unit = sig * tau < 0
    wrong_pattern = outputs_from_preacts(h) != sig[..., 0]
    cost = jnp.where(wrong_unit, jnp.abs(h), jnp.inf)
    k_star = jnp.argmin(cost, axis=-1)
    onehot = jax.nn.one_hot(k_star, h.shape[-1], dtype=h.dtype)
    return onehot * wrong_pattern[..., None].astype(h.dtype)


# ------------------------------------------------------------------------------------------------
# LAL / eLAL
# ------------------------------------------------------------------------------------------------
class LALState(eqx.Module):
    """Carried state: hidden variables ``H (y, K, n)`` (``y = 1`` for LAL) and the ``epoch``
    counter (the step of the schedules)."""

    H: jax.Array
    epoch: jax.Array


class LALInfo(eqx.Module):
    """Per-epoch report: ``errors`` of the centre (LAL: the network itself), ``replica_errors
    (y,)``, ``best_errors`` (min over both), ``distance`` (mean squared distance replica--centre
    per synapse divided by 4: the Hamming fraction for +-1 weights) and the coupling ``lam``,
    ``gamma`` used in the epoch."""

    errors: jax.Array
    replica_errors: jax.Array
    best_errors: jax.Array
    distance: jax.Array
    lam: jax.Array
    gamma: jax.Array


class LAL(eqx.Module):
    """LAL / eLAL hyper-parameters (``replicas = 1`` and ``lam = 0``: plain LAL): ``learning_rate``,
    ``lam`` and ``gamma`` (the eLAL coupling) are schedules of the epoch."""

    learning_rate: schedules.Schedule
    lam: schedules.Schedule
    gamma: schedules.Schedule
    init_scale: jax.Array
    replicas: int = eqx.field(static=True)
    batch: int = eqx.field(static=True)
    synapses: str = eqx.field(static=True)
    init_equal: bool = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: Problem) -> LALState:
        """Binary: :math:`H=\\pm` ``init_scale`` at random; continuous: random points of the
        sphere :math:`|W_k|=\\sqrt n`; all replicas equal if ``init_equal``."""
        dt = jnp.dtype(self.dtype)
        y = self.replicas
        shape = (problem.k, problem.n)
        if self.init_equal:
            H = jnp.broadcast_to(init_hidden(key, shape, self.synapses, self.init_scale, dt), (y,) + shape)
        else:
            H = jax.vmap(lambda kk: init_hidden(kk, shape, self.synapses, self.init_scale, dt))(
                jax.random.split(key, y))
        return LALState(H=H, epoch=jnp.zeros((), jnp.int32))

    def centre(self, W):
        """Read-out centre of replicas ``W (y, K, n)``: ``sign(sum_a W^a)`` (binary; ties to -1)
        or the mean (continuous); the network itself for ``y = 1``."""
        if self.replicas == 1:
            return W[0]
        if self.synapses == "binary":
            return sign_pm(jnp.sum(W, axis=0))
        return jnp.mean(W, axis=0)

    def _kick(self, H, lam, gamma):
        W = readout(H, self.synapses)
        if self.synapses == "binary":
            target = jnp.tanh(gamma * jnp.sum(W, axis=0))
        else:
            target = jnp.mean(W, axis=0)
        return H + lam * (target[None] - W)

    def step(self, key, state: LALState, problem: Problem):
        """One epoch of (e)LAL (module docstring): every replica sees every pattern once, in its
        own random order, in minibatches; after each minibatch the coupling kick (``y > 1``)."""
        dt = state.H.dtype
        y, m = self.replicas, problem.m
        b = min(self.batch, m)
        x = problem.inputs.astype(dt)
        sig = problem.labels.astype(dt)
        tree = problem.tree
        idx = minibatch_indices(key, y, m, b)  # (nb, y, b)
        lr = self.learning_rate(state.epoch).astype(dt)
        lam = self.lam(state.epoch).astype(dt)
        gamma = self.gamma(state.epoch).astype(dt)

        def minibatch(H, ids):
            mask = (ids >= 0).astype(dt)
            ids = jnp.maximum(ids, 0)
            W = readout(H, self.synapses)
            xb, sb = x[ids], sig[ids]
            sel = lal_selection(batch_fields(xb, W, tree), sb)
            H = H + lr * batch_grad(sel * (sb * mask)[..., None], xb, tree)
            if y > 1:
                H = self._kick(H, lam, gamma)
            return H, None

        H, _ = jax.lax.scan(minibatch, state.H, idx)
        W = readout(H, self.synapses)
        C = self.centre(W)
        errs = network_errors(jnp.concatenate([C[None], W], axis=0), x, sig, tree)
        dist = jnp.mean((W - C[None]) ** 2) / 4.0
        info = LALInfo(errors=errs[0], replica_errors=errs[1:], best_errors=jnp.min(errs),
                       distance=dist.astype(dt), lam=lam, gamma=gamma)
        return LALState(H=H, epoch=state.epoch + 1), info


# ------------------------------------------------------------------------------------------------
# result and solvers
# ------------------------------------------------------------------------------------------------
class LALResult(ReplicaResult):
    """Result of :func:`solve` and of :func:`physlearn.algorithms.elal.solve`
    (:class:`~physlearn.algorithms.results.ReplicaResult`; batch axes ``(P?, S?)`` in front):
    ``solved``, ``steps`` (epochs), ``errors``, ``weights (..., K, n)`` (the best network, the centre
    when it ties; int8 for binary synapses, float for continuous ones), ``trace`` (per-epoch
    :class:`LALInfo`); ``centre`` (the network itself for LAL), ``centre_errors``,
    ``replica_errors (..., y)`` (one entry for LAL)."""


def run_lal(key, problem, *, replicas, lam, gamma, learning_rate, batch, synapses, init_scale, init_equal,
            max_steps, stop, dtype, trace, progress, mesh, description):
    """The shared body of :func:`solve` and :func:`physlearn.algorithms.elal.solve`."""
    key, problem, max_steps, dt = V.solve_arguments(key, problem, max_steps=max_steps, stop=stop, dtype=dtype)
    V.choice("synapses", synapses, SYNAPSES)
    batch = V.integer("batch", batch)
    replicas = V.integer("replicas", replicas)
    hp = {
        "learning_rate": V.schedule("learning_rate", learning_rate, positive=True),
        "lam": V.schedule("lam", lam),
        "gamma": V.schedule("gamma", gamma, allow_inf=True),
        "init_scale": V.hyper_parameter("init_scale", init_scale, positive=True),
    }
    hp, P = V.hyper_batch(hp, dt)
    algo = LAL(**hp, replicas=replicas, batch=batch, synapses=synapses, init_equal=bool(init_equal), dtype=dt.name)
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, hyper_batch=P, trace=trace,
              progress=progress, description=description, mesh=mesh)
    return _result(algo, res, problem, trace, P is not None, stop)


@eqx.filter_jit
def _result(algo, res, problem, trace, hyper, stop):
    info = res.info
    W = readout(res.state.H, algo.synapses)  # (..., y, K, n)
    C = jax.vmap(algo.centre)(W.reshape((-1,) + W.shape[-3:])).reshape(W.shape[:-3] + W.shape[-2:])
    best = best_network(C, W, info.errors, info.replica_errors)
    if algo.synapses == "binary":
        best, C = best.astype(jnp.int8), C.astype(jnp.int8)
    return LALResult(
        **base_fields(res, best, problem, trace=trace, hyper=hyper, stop=stop),
        centre_errors=info.errors,
        replica_errors=info.replica_errors,
        centre=C,
    )


@V.renamed_arguments("lr", "max_epochs", "weights")
def solve(
    key,
    problem: Problem,
    *,
    learning_rate=2.0,
    batch: int = 1,
    synapses: str = "binary",
    init_scale=1.0,
    max_steps: int = 1000,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> LALResult:
    r"""Least action learning (Mitchison & Durbin, Biol. Cybern. 60, 345 (1989); the LAL of
    Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)): on each misclassified pattern, the
    perceptron update :math:`H_k \mathrel{+}= \eta\sigma^\mu\xi^\mu_{(k)}` of the wrong hidden unit
    with the smallest :math:`|h^\mu_k|` (module docstring, :func:`lal_selection`).

    **Arguments:**

    - ``key``, ``problem``: as in :func:`physlearn.algorithms.rsgd.solve`.
    - ``learning_rate``: :math:`\eta`, a number or a schedule of the epoch. With binary synapses,
      ``learning_rate=2`` and ``init_scale=1`` (the defaults) keep :math:`H` odd integers, so
      :math:`\mathrm{sign}(H)` is never tied (the clipped perceptron's hidden states).
    - ``batch``: patterns per update (``1``: online, the original rule; larger: the updates of a
      minibatch are computed with the same weights and summed).
    - ``synapses``: ``"binary"`` (:math:`W=\mathrm{sign}(H)`) or ``"continuous"`` (:math:`W=H`,
      started on the sphere :math:`|W_k|^2=n`).
    - ``init_scale``: binary initial :math:`|H|`.
    - ``max_steps``: budget in **epochs**; ``stop``: ``"any"``/``"centre"`` (the same here: stop at
      zero training errors) or ``"never"``.
    - ``dtype``, ``trace``, ``progress``, ``mesh``: as for RSGD. Numbers of ``learning_rate`` and
      ``init_scale`` may be 1-D arrays (hyper-parameter batch).

    **Returns:** :class:`LALResult` (``replica_errors`` has one entry).
    """
    return run_lal(key, problem, replicas=1, lam=0.0, gamma=0.0, learning_rate=learning_rate, batch=batch,
                   synapses=synapses, init_scale=init_scale, init_equal=True, max_steps=max_steps, stop=stop,
                   dtype=dtype, trace=trace, progress=progress, mesh=mesh, description=f"LAL ({synapses})")
