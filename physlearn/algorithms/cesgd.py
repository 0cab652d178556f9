r"""Cross-entropy SGD with an explicit, growing polarisation (ceSGD "fast" / "slow") on committee
machines and perceptrons.

Reference: C. Baldassi, F. Pittorino, R. Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 117, 161 (2020), arXiv:1905.07833 (the comparison of
fBP, LAL, eLAL, ceSGD-fast and ceSGD-slow on tree committee machines). Least action learning and
its replicated version are :mod:`~physlearn.algorithms.lal` and :mod:`~physlearn.algorithms.elal`.

**Networks.** Every algorithm trains hidden variables :math:`H_{ki}` (``K x n``, see
:mod:`~physlearn.algorithms.problems` for the architectures). The trained network is

* ``synapses="binary"`` (default): :math:`W = \mathrm{sign}(H)`, +-1 synapses -- the setting of
  the rest of :mod:`physlearn.algorithms` (the hidden variables play the role of the clipped
  perceptron's / RSGD's hidden states);
* ``synapses="continuous"``: :math:`W = H`, real synapses -- the setting of the 2020 paper's
  numerical comparison. ceSGD keeps every hidden unit on the sphere :math:`|W_k|^2 = n`.

The hidden field of unit k on pattern :math:`\mu` is :math:`h^\mu_k = \xi^\mu_{(k)}\cdot W_k`, the
hidden output :math:`\tau^\mu_k = \mathrm{sign}(h^\mu_k)` and the network output the committee
vote :math:`\mathrm{sign}\sum_k\tau^\mu_k`.

**ceSGD** (:func:`solve`). Minibatch SGD on the cross-entropy loss of the seed slides (and
of the 2020 paper's perceptron analysis), with an explicit norm/polarisation parameter
:math:`\gamma`:

.. math:: f_\gamma(x) = -\frac{x}{2} + \frac{1}{2\gamma}\log 2\cosh(\gamma x)
          = \frac{1}{2\gamma}\log\left(1 + e^{-2\gamma x}\right),

applied to the continuous surrogate of the committee vote in which each hidden unit outputs
:math:`\tanh(\beta z)` (the slides describe ceSGD as tanh hidden units whose :math:`\beta`, like
:math:`\gamma`, is increased gradually during training):

.. math:: L = \sum_\mu f_\gamma\!\Big(\sigma^\mu \sum_k \tanh(\beta z^\mu_k)\Big),\qquad
          z^\mu_k = \frac{\xi^\mu_{(k)}\cdot W_k}{|W_k|}.

:math:`f_\gamma(x)` is the logistic loss :math:`\log(1+e^{-\gamma'x})` with :math:`\gamma'=2\gamma`,
divided by :math:`\gamma'` so that the limit :math:`\gamma\to\infty` is finite:
:math:`f_\gamma(x)\to\max(0,-x)`, uniformly within :math:`\log 2/(2\gamma)`. As
:math:`\beta\to\infty` the surrogate becomes the vote :math:`\sum_k\tau_k` itself, so that in the
double limit the loss counts :math:`2n^\mu_{fix}-1` for every misclassified pattern
(:math:`n_{fix} = (1-\sigma\sum_k\tau_k)/2` hidden units must change sign, PNAS 2016 eq. 10) and
nothing for the others: the number of errors for the perceptron, between the number of errors
and K times it for committees. (The vote is summed, not averaged, so that :math:`\gamma` sets the
scale of the per-pattern margin independently of K; with the mean, the correctly classified
patterns of a committee, :math:`\sigma\,\mathrm{out}\ge1/K`, keep a large gradient unless
:math:`\gamma\gg K`, and in our runs the average version solved fewer instances at equal
:math:`\gamma`.)

Binary weights are trained with the straight-through rule: the gradient of :math:`L` with respect
to :math:`W` at :math:`W=\mathrm{sign}(H)` (with :math:`|W_k|=\sqrt n` held fixed) is applied to
:math:`H`, which is then clipped to :math:`[-1, 1]` (the BinaryConnect scheme; ``clip=inf`` turns
the clipping off). Continuous weights follow the gradient projected on the sphere and are
renormalised to :math:`|W_k|=\sqrt n` after each step. :math:`\beta` and :math:`\gamma` are
numbers or schedules of the epoch (:mod:`~physlearn.algorithms.schedules`).

The schedules ``"fast"`` and ``"slow"`` (:data:`SCHEDULES`) are *our* choice. The sources
available to us -- the seed slides of C. Baldassi's IPAM 2019 talk and the paper's abstract --
say only that ceSGD-fast increases :math:`\beta` and :math:`\gamma` gradually, that ceSGD-slow
increases them more slowly, and that changing the norm slowly during SGD on the cross-entropy
leads to wide flat minima; the numbers are in the paper's supplementary information, which we
could not consult. Both start from :math:`\beta_0=\gamma_0=1` (a hidden unit with
:math:`|z|\sim1` is then in the linear part of tanh) and multiply both by ``1.02`` ("fast") or
``1.002`` ("slow") per epoch, ``schedules.exponential(1.0, 1.02)`` and
``schedules.exponential(1.0, 1.002)``: a factor 10 apart in the rate. On tree committees (K = 3,
n = 51, binary weights, alpha = 0.6) the slow schedule solved 8/8 instances within 2000 epochs and
the fast one 1/8 (``benchmarks/committee_algorithms.py`` measures the whole curve).

ceSGD follows the shared driver's ``init``/``step`` shape (:mod:`~physlearn.algorithms.runner`):
one ``step`` is one epoch, batched over disorder samples and hyper-parameter points, ``mesh=``
shards the samples over devices.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validation as V
from . import schedules
from ._network import (
    SYNAPSES, init_hidden, network_errors, preactivations, readout, sign_pm, to_sphere,
)
from .problems import Problem
from .results import ReplicaResult, base_fields
from .rsgd import minibatch_indices
from .runner import run

__all__ = [
    "SYNAPSES",
    "SCHEDULES",
    "ce_loss_fn",
    "ce_loss",
    "ce_gradient",
    "CESGD",
    "CESGDState",
    "CESGDInfo",
    "CESGDResult",
    "solve",
]

SCHEDULES = {
    "fast": dict(beta=schedules.exponential(1.0, 1.02), gamma=schedules.exponential(1.0, 1.02)),
    "slow": dict(beta=schedules.exponential(1.0, 1.002), gamma=schedules.exponential(1.0, 1.002)),
}
"""ceSGD polarisation schedules (our choice, see the module docstring) -- the schedules of
:math:`\\beta` and :math:`\\gamma` over the epochs."""


# ------------------------------------------------------------------------------------------------
# Cross-entropy loss and its gradient
# ------------------------------------------------------------------------------------------------
@jax.jit
def ce_loss_fn(x, gamma):
    r""":math:`f_\gamma(x) = -x/2 + \log(2\cosh\gamma x)/(2\gamma) = \log(1+e^{-2\gamma x})/(2\gamma)`
    (seed slides, "The role of the Cross Entropy loss"), computed stably for any :math:`\gamma x`;
    :math:`\gamma=\infty` gives the limit :math:`\max(0,-x)`."""
    x = jnp.asarray(x)
    gamma = jnp.asarray(gamma, dtype=x.dtype)
    finite = jnp.isfinite(gamma)
    g = jnp.where(finite, gamma, 1.0)
    val = jnp.logaddexp(0.0, -2.0 * g * x) / (2.0 * g)
    return jnp.where(finite, val, jnp.maximum(0.0, -x))


def _ce_dloss(x, gamma):
    """:math:`f'_\\gamma(x) = -1/(1+e^{2\\gamma x})`."""
    return -jax.nn.sigmoid(-2.0 * gamma * x)


def _unit_norms(w, normalize: bool):
    if normalize:
        return jnp.sqrt(jnp.sum(w * w, axis=-1))
    return jnp.full(w.shape[:-1], math.sqrt(w.shape[-1]), w.dtype)


@functools.partial(jax.jit, static_argnames=("tree", "normalize"))
def ce_loss(weights, inputs, labels, *, beta, gamma, tree: bool = False, normalize: bool = True):
    r"""Total ceSGD loss :math:`L=\sum_\mu f_\gamma(\sigma^\mu\sum_k\tanh(\beta z^\mu_k))`
    (module docstring), with :math:`z^\mu_k = \xi^\mu_{(k)}\cdot W_k/|W_k|`.

    ``weights (K, n)`` real; ``inputs``, ``labels`` as in a :class:`Problem` instance;
    ``normalize=False`` divides by :math:`\sqrt n` instead of :math:`|W_k|` (the same for +-1
    weights; the straight-through gradient of binary ceSGD holds the norm fixed). ``beta`` and
    ``gamma`` may be ``inf`` (the limits of the module docstring)."""
    w = jnp.asarray(weights)
    z = preactivations(w, inputs, tree) / _unit_norms(w, normalize)
    beta = jnp.asarray(beta, w.dtype)
    act = jnp.where(jnp.isfinite(beta), jnp.tanh(jnp.where(jnp.isfinite(beta), beta, 1.0) * z), sign_pm(z))
    out = jnp.sum(act, axis=-1)
    return jnp.sum(ce_loss_fn(labels.astype(w.dtype) * out, gamma))


@functools.partial(jax.jit, static_argnames=("tree", "project"))
def ce_gradient(weights, inputs, labels, *, beta, gamma, tree: bool = False, project: bool = False,
                mask=None):
    r"""Closed-form gradient of :func:`ce_loss` with respect to ``weights (K, n)``, for weights of
    norm :math:`|W_k| = \sqrt n` (+-1 weights, or continuous weights on the sphere).

    With :math:`c^\mu_k = f'_\gamma(\sigma^\mu o^\mu)\,\sigma^\mu\,\beta\,
    [1-\tanh^2(\beta z^\mu_k)]` (:math:`o^\mu=\sum_k\tanh(\beta z^\mu_k)` the surrogate vote,
    :math:`f'_\gamma(x) = -1/(1+e^{2\gamma x})`):

    * ``project=False`` (norm held fixed, ``normalize=False``): :math:`\partial L/\partial W_k =
      \sum_\mu c^\mu_k\,\xi^\mu_{(k)}/\sqrt n`;
    * ``project=True`` (``normalize=True``, the loss depends on the direction of :math:`W_k`
      only): :math:`\sum_\mu c^\mu_k(\xi^\mu_{(k)} - z^\mu_k W_k/\sqrt n)/\sqrt n`.

    ``mask (M,)`` weights each pattern's term (0/1 for padded minibatches)."""
    w = jnp.asarray(weights)
    dt = w.dtype
    n = w.shape[-1]
    rn = jnp.asarray(math.sqrt(n), dt)
    x = inputs.astype(dt)
    sig = labels.astype(dt)
    z = preactivations(w, x, tree) / rn  # (M, K)
    t = jnp.tanh(beta * z)
    out = jnp.sum(t, axis=-1)
    d = _ce_dloss(sig * out, gamma) * sig
    if mask is not None:
        d = d * mask
    c = d[:, None] * beta * (1.0 - t * t)  # (M, K)
    if tree:
        g = jnp.einsum("mk,mkn->kn", c, x)
    else:
        g = jnp.einsum("mk,mn->kn", c, x)
    if project:
        g = g - jnp.sum(c * z, axis=0)[:, None] * w / rn
    return g / rn


# ------------------------------------------------------------------------------------------------
# ceSGD
# ------------------------------------------------------------------------------------------------
class CESGDState(eqx.Module):
    """Carried state: hidden variables ``H (K, n)`` and the ``epoch`` counter (the step of the
    schedules)."""

    H: jax.Array
    epoch: jax.Array


class CESGDInfo(eqx.Module):
    """Per-epoch report: ``errors`` of the read-out network (``best_errors`` the same, for the
    driver), the full-batch ``loss`` per pattern at the epoch's end, and the ``beta``, ``gamma``
    used in the epoch."""

    errors: jax.Array
    best_errors: jax.Array
    loss: jax.Array
    beta: jax.Array
    gamma: jax.Array


class CESGD(eqx.Module):
    """ceSGD hyper-parameters: ``learning_rate``, ``beta``, ``gamma`` are schedules of the epoch;
    numbers may carry a leading hyper-parameter axis."""

    learning_rate: schedules.Schedule
    beta: schedules.Schedule
    gamma: schedules.Schedule
    init_scale: jax.Array
    clip: jax.Array
    batch: int = eqx.field(static=True)
    synapses: str = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: Problem) -> CESGDState:
        """Binary: :math:`H=\\pm` ``init_scale`` at random; continuous: a random point of the
        sphere :math:`|W_k|=\\sqrt n`."""
        dt = jnp.dtype(self.dtype)
        H = init_hidden(key, (problem.k, problem.n), self.synapses, self.init_scale, dt)
        return CESGDState(H=H, epoch=jnp.zeros((), jnp.int32))

    def step(self, key, state: CESGDState, problem: Problem):
        """One epoch of minibatch SGD (random permutation, ``ceil(M/batch)`` steps), then the
        reports (module docstring)."""
        dt = state.H.dtype
        m = problem.m
        b = min(self.batch, m)
        x = problem.inputs.astype(dt)
        sig = problem.labels
        tree = problem.tree
        binary = self.synapses == "binary"
        idx = minibatch_indices(key, 1, m, b)[:, 0, :]  # (nb, b), -1 = padding
        lr = self.learning_rate(state.epoch).astype(dt)
        beta = self.beta(state.epoch).astype(dt)
        gamma = self.gamma(state.epoch).astype(dt)
        clip = self.clip.astype(dt)

        def minibatch(H, ids):
            mask = (ids >= 0).astype(dt)
            ids = jnp.maximum(ids, 0)
            W = readout(H, self.synapses)
            g = ce_gradient(W, x[ids], sig[ids], beta=beta, gamma=gamma, tree=tree, project=not binary, mask=mask)
            H = H - lr * g / jnp.sum(mask)
            if binary:
                H = jnp.clip(H, -clip, clip)
            else:
                H = to_sphere(H)
            return H, None

        H, _ = jax.lax.scan(minibatch, state.H, idx)
        W = readout(H, self.synapses)
        errs = network_errors(W[None], x, sig.astype(dt), tree)[0]
        loss = ce_loss(W, x, sig, beta=beta, gamma=gamma, tree=tree, normalize=False) / m
        info = CESGDInfo(errors=errs, best_errors=errs, loss=loss, beta=beta, gamma=gamma)
        return CESGDState(H=H, epoch=state.epoch + 1), info



# ------------------------------------------------------------------------------------------------
# result and solver
# ------------------------------------------------------------------------------------------------
class CESGDResult(ReplicaResult):
    """Result of :func:`solve` (:class:`~physlearn.algorithms.results.ReplicaResult`; batch axes
    ``(P?, S?)`` in front): ``solved``, ``steps`` (epochs), ``errors``, ``weights (..., K, n)`` (int8
    for binary synapses, float for continuous ones), ``trace`` (per-epoch :class:`CESGDInfo`);
    ``centre`` is the network itself, ``replica_errors`` has one entry."""


@V.renamed_arguments("lr", "max_epochs", "beta_factor", "gamma_factor", "weights")
def solve(
    key,
    problem: Problem,
    *,
    schedule: str = "slow",
    learning_rate=None,
    batch: int = 10,
    beta=None,
    gamma=None,
    synapses: str = "binary",
    clip=1.0,
    init_scale=0.1,
    max_steps: int = 1000,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> CESGDResult:
    r"""Train a committee machine (or perceptron) by SGD on the cross-entropy loss with an explicit,
    growing polarisation :math:`\beta` (hidden units :math:`\tanh(\beta z)`) and norm
    :math:`\gamma` (output) -- ceSGD of Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020). The
    loss, the update and the schedules are in the module docstring.

    **Arguments:**

    - ``key``, ``problem``: as in :func:`physlearn.algorithms.rsgd.solve` (one instance or a batch
      with one leading sample axis; sample ``i`` uses ``fold_in(key, i)``).
    - ``schedule``: ``"fast"`` or ``"slow"`` (:data:`SCHEDULES`): the default ``beta`` and ``gamma``.
    - ``beta``, ``gamma``: numbers or schedules of the epoch; given, they override ``schedule``.
    - ``learning_rate``: a number or a schedule of the epoch (the gradient is the minibatch mean);
      default 0.1 for binary, 1 for continuous synapses (measured on tree committees, K = 3).
    - ``batch``: minibatch size (clipped to M).
    - ``synapses``: ``"binary"`` (straight-through training of :math:`\mathrm{sign}(H)`, ``H``
      clipped to ``[-clip, clip]``; ``clip=inf`` turns clipping off) or ``"continuous"``
      (weights on the sphere :math:`|W_k|^2=n`).
    - ``init_scale``: binary initial :math:`|H|` (continuous: ignored, random point of the sphere).
    - ``max_steps``: budget in **epochs**; ``stop``: ``"any"``/``"centre"`` (the same here: stop
      at zero training errors) or ``"never"``.
    - ``dtype``, ``trace``, ``progress``, ``mesh``: as for RSGD.

    Numbers may be 1-D arrays of equal length P (a hyper-parameter batch, leading result axis P).

    **Returns:** :class:`CESGDResult`.
    """
    key, problem, max_steps, dt = V.solve_arguments(key, problem, max_steps=max_steps, stop=stop, dtype=dtype)
    V.choice("synapses", synapses, SYNAPSES)
    batch = V.integer("batch", batch)
    preset = SCHEDULES[V.choice("schedule", schedule, tuple(SCHEDULES))]
    if learning_rate is None:
        learning_rate = 0.1 if synapses == "binary" else 1.0
    hp = {
        "learning_rate": V.schedule("learning_rate", learning_rate, positive=True),
        "beta": V.schedule("beta", preset["beta"] if beta is None else beta, positive=True),
        "gamma": V.schedule("gamma", preset["gamma"] if gamma is None else gamma, positive=True),
        "init_scale": V.hyper_parameter("init_scale", init_scale, positive=True),
        "clip": V.hyper_parameter("clip", clip, positive=True, allow_inf=True),
    }
    hp, P = V.hyper_batch(hp, dt)
    algo = CESGD(**hp, batch=batch, synapses=synapses, dtype=dt.name)
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, hyper_batch=P, trace=trace,
              progress=progress, description=f"ceSGD ({schedule}, {synapses})", mesh=mesh)
    return _result(algo, res, problem, trace, P is not None, stop)


@eqx.filter_jit
def _result(algo, res, problem, trace, hyper, stop):
    W = readout(res.state.H, algo.synapses)
    if algo.synapses == "binary":
        W = W.astype(jnp.int8)
    fields = base_fields(res, W, problem, trace=trace, hyper=hyper, stop=stop)
    errors = fields["errors"]
    return CESGDResult(**fields, centre_errors=errors, replica_errors=errors[..., None], centre=W)
