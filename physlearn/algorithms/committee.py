r"""Committee-machine learning rules of Baldassi, Pittorino & Zecchina: cross-entropy SGD with an
explicit polarisation schedule (ceSGD "fast" / "slow"), least action learning (LAL) and its
entropic, replicated version (eLAL).

Reference: C. Baldassi, F. Pittorino, R. Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 117, 161 (2020), arXiv:1905.07833 (the comparison of
fBP, LAL, eLAL, ceSGD-fast and ceSGD-slow on tree committee machines); LAL is the rule of
G. Mitchison and R. Durbin, "Bounds on the learning capacity of some multi-layer networks",
Biol. Cybern. 60, 345 (1989); the replication recipe is that of Baldassi et al., PNAS 113, E7655
(2016) (robust ensemble, appendix C).

**Networks.** Every algorithm trains hidden variables :math:`H_{ki}` (``K x n``, see
:mod:`~physlearn.algorithms.problems` for the architectures). The trained network is

* ``weights="binary"`` (default): :math:`W = \mathrm{sign}(H)`, +-1 synapses -- the setting of
  the rest of :mod:`physlearn.algorithms` (the hidden variables play the role of the clipped
  perceptron's / RSGD's hidden states);
* ``weights="continuous"``: :math:`W = H`, real synapses -- the setting of the 2020 paper's
  numerical comparison. ceSGD keeps every hidden unit on the sphere :math:`|W_k|^2 = n`.

The hidden field of unit k on pattern :math:`\mu` is :math:`h^\mu_k = \xi^\mu_{(k)}\cdot W_k`, the
hidden output :math:`\tau^\mu_k = \mathrm{sign}(h^\mu_k)` and the network output the committee
vote :math:`\mathrm{sign}\sum_k\tau^\mu_k`.

**ceSGD** (:func:`solve_cesgd`). Minibatch SGD on the cross-entropy loss of the seed slides (and
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
renormalised to :math:`|W_k|=\sqrt n` after each step. After every epoch
:math:`\beta\leftarrow\beta\,\beta_f`, :math:`\gamma\leftarrow\gamma\,\gamma_f`.

The schedules ``"fast"`` and ``"slow"`` (:data:`SCHEDULES`) are *our* choice. The sources
available to us -- the seed slides of C. Baldassi's IPAM 2019 talk and the paper's abstract --
say only that ceSGD-fast increases :math:`\beta` and :math:`\gamma` gradually, that ceSGD-slow
increases them more slowly, and that changing the norm slowly during SGD on the cross-entropy
leads to wide flat minima; the numbers are in the paper's supplementary information, which we
could not consult. Both start from :math:`\beta_0=\gamma_0=1` (a hidden unit with
:math:`|z|\sim1` is then in the linear part of tanh) and multiply both by ``1.02`` ("fast") or
``1.002`` ("slow") per epoch: a factor 10 apart in the rate. On tree committees (K = 3,
n = 51, binary weights, alpha = 0.6) the slow schedule solved 8/8 instances within 2000 epochs and
the fast one 1/8 (``benchmarks/committee_algorithms.py`` measures the whole curve).

**LAL** (:func:`solve_lal`). Patterns are presented in minibatches (``batch=1``: one at a time,
the original online rule). For each misclassified pattern, among the hidden units with the wrong
sign (:math:`\sigma^\mu\tau^\mu_k<0`) the one with the smallest :math:`|h^\mu_k|` (the unit that is
cheapest to fix, :func:`lal_selection`; ties to the lower index) receives the perceptron update

.. math:: H_k \leftarrow H_k + \eta\,\sigma^\mu\xi^\mu_{(k)} ;

nothing else changes. With binary weights this is the clipped-perceptron form: the field is that
of the binary network, and it is the PNAS 2016 minimum-flip rule (eqs. 9--13, used by
:mod:`~physlearn.algorithms.rsgd`) restricted to the single least-wrong unit -- the variation that
PNAS 2016 (section V, after eq. 37) identifies with the least action algorithm.

**eLAL** (:func:`solve_elal`). The robust-ensemble recipe of PNAS 2016 (the slides describe eLAL
as LAL on a replicated system with an interaction between the replicas): ``y`` replicas :math:`H^a` each run LAL on its
own pattern order, and after every minibatch every replica is pulled towards the centre,

* binary weights, the RSGD kick of PNAS 2016 eq. (C7):
  :math:`H^a \leftarrow H^a + \lambda[\tanh(\gamma\sum_b W^b) - W^a]`, with :math:`\gamma`
  increased by ``gamma_step`` per epoch; the read-out centre is :math:`\mathrm{sign}\sum_b W^b`;
* continuous weights, the elastic coupling (gradient of :math:`\frac{\lambda}{2}\sum_a
  |W^a-\bar W|^2` with the centre of mass :math:`\bar W=\frac1y\sum_b W^b`):
  :math:`H^a \leftarrow H^a + \lambda(\bar W - W^a)`; the read-out centre is :math:`\bar W`.

After every epoch :math:`\lambda\leftarrow\lambda\,\lambda_f` (scoping). The 2020 paper's own
equations for eLAL (its supplementary information) were not available to us: the coupling form
and the schedules above are the PNAS 2016 recipe applied to LAL, not a transcription of the 2020
definition.

All three follow the shared driver's ``init``/``step`` shape (:mod:`~physlearn.algorithms.runner`):
one ``step`` is one epoch, batched over disorder samples and hyper-parameter points, ``mesh=``
shards the samples over devices, and a run stops when the centre or any replica classifies every
pattern correctly.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ._network import outputs_from_preacts, preactivations, sign_pm
from .problems import Problem
from .rsgd import minibatch_indices
from .runner import float_dtype, hyper_batch, hyper_parameter, positive_int, run

__all__ = [
    "WEIGHTS",
    "SCHEDULES",
    "ce_loss_fn",
    "ce_loss",
    "ce_gradient",
    "lal_selection",
    "CESGD",
    "CESGDState",
    "CESGDInfo",
    "LAL",
    "LALState",
    "LALInfo",
    "CommitteeResult",
    "solve_cesgd",
    "solve_lal",
    "solve_elal",
]

WEIGHTS = ("binary", "continuous")

SCHEDULES = {
    "fast": dict(beta=1.0, beta_factor=1.02, gamma=1.0, gamma_factor=1.02),
    "slow": dict(beta=1.0, beta_factor=1.002, gamma=1.0, gamma_factor=1.002),
}
"""ceSGD polarisation schedules (our choice, see the module docstring): initial
:math:`\\beta,\\gamma` and their factors per epoch."""


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
# shared helpers
# ------------------------------------------------------------------------------------------------
def _readout(H, weights: str):
    return sign_pm(H) if weights == "binary" else H


def _batch_fields(xb, W, tree: bool):
    """Fields ``(y, b, K)`` of replicas ``W (y, K, n)`` on their minibatches ``xb (y, b, ...)``."""
    if tree:
        return jnp.einsum("ybkn,ykn->ybk", xb, W)
    return jnp.einsum("ybn,ykn->ybk", xb, W)


def _batch_grad(coef, xb, tree: bool):
    if tree:
        return jnp.einsum("ybk,ybkn->ykn", coef, xb)
    return jnp.einsum("ybk,ybn->ykn", coef, xb)


def _errors(nets, x, sig, tree: bool):
    """Training errors of networks ``nets (A, K, n)`` (int32 ``(A,)``)."""
    if tree:
        hh = jnp.einsum("mkn,akn->amk", x, nets)
    else:
        hh = jnp.einsum("mn,akn->amk", x, nets)
    out = outputs_from_preacts(hh)
    return jnp.sum(out != sig[None], axis=-1, dtype=jnp.int32)


def _init_hidden(key, shape, weights: str, scale, dt):
    """Binary: +-scale uniformly at random; continuous: Gaussian rows of norm sqrt(n)."""
    if weights == "binary":
        bits = jax.random.bits(key, shape, dtype=jnp.uint8)
        return jnp.where((bits & 1) == 1, 1.0, -1.0).astype(dt) * scale.astype(dt)
    g = jax.random.normal(key, shape, dtype=dt)
    return _to_sphere(g)


def _to_sphere(H):
    n = H.shape[-1]
    return H * (math.sqrt(n) / jnp.sqrt(jnp.sum(H * H, axis=-1, keepdims=True)))


# ------------------------------------------------------------------------------------------------
# ceSGD
# ------------------------------------------------------------------------------------------------
class CESGDState(eqx.Module):
    """Carried state: hidden variables ``H (K, n)``, the scheduled ``beta`` and ``gamma``, the
    ``epoch`` counter."""

    H: jax.Array
    beta: jax.Array
    gamma: jax.Array
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
    """ceSGD hyper-parameters (array fields may carry a leading hyper-parameter axis)."""

    lr: jax.Array
    beta: jax.Array
    beta_factor: jax.Array
    gamma: jax.Array
    gamma_factor: jax.Array
    init_scale: jax.Array
    clip: jax.Array
    batch: int = eqx.field(static=True)
    weights: str = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: Problem) -> CESGDState:
        """Binary: :math:`H=\\pm` ``init_scale`` at random; continuous: a random point of the
        sphere :math:`|W_k|=\\sqrt n`."""
        dt = jnp.dtype(self.dtype)
        H = _init_hidden(key, (problem.k, problem.n), self.weights, self.init_scale, dt)
        return CESGDState(H=H, beta=self.beta.astype(dt), gamma=self.gamma.astype(dt),
                          epoch=jnp.zeros((), jnp.int32))

    def step(self, key, state: CESGDState, problem: Problem):
        """One epoch of minibatch SGD (random permutation, ``ceil(M/batch)`` steps), then the
        schedules (module docstring)."""
        dt = state.H.dtype
        m = problem.m
        b = min(self.batch, m)
        x = problem.inputs.astype(dt)
        sig = problem.labels
        tree = problem.tree
        binary = self.weights == "binary"
        idx = minibatch_indices(key, 1, m, b)[:, 0, :]  # (nb, b), -1 = padding
        lr = self.lr.astype(dt)
        clip = self.clip.astype(dt)

        def minibatch(H, ids):
            mask = (ids >= 0).astype(dt)
            ids = jnp.maximum(ids, 0)
            W = _readout(H, self.weights)
            g = ce_gradient(W, x[ids], sig[ids], beta=state.beta, gamma=state.gamma, tree=tree,
                            project=not binary, mask=mask)
            H = H - lr * g / jnp.sum(mask)
            if binary:
                H = jnp.clip(H, -clip, clip)
            else:
                H = _to_sphere(H)
            return H, None

        H, _ = jax.lax.scan(minibatch, state.H, idx)
        W = _readout(H, self.weights)
        errs = _errors(W[None], x, sig.astype(dt), tree)[0]
        loss = ce_loss(W, x, sig, beta=state.beta, gamma=state.gamma, tree=tree, normalize=False) / m
        info = CESGDInfo(errors=errs, best_errors=errs, loss=loss, beta=state.beta, gamma=state.gamma)
        new = CESGDState(H=H, beta=state.beta * self.beta_factor.astype(dt),
                         gamma=state.gamma * self.gamma_factor.astype(dt), epoch=state.epoch + 1)
        return new, info


# ------------------------------------------------------------------------------------------------
# LAL / eLAL
# ------------------------------------------------------------------------------------------------
class LALState(eqx.Module):
    """Carried state: hidden variables ``H (y, K, n)`` (``y = 1`` for LAL), the scheduled
    ``lam`` and ``gamma`` (eLAL coupling), the ``epoch`` counter."""

    H: jax.Array
    lam: jax.Array
    gamma: jax.Array
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
    """LAL / eLAL hyper-parameters (``replicas = 1`` and ``lam = 0``: plain LAL)."""

    lr: jax.Array
    lam: jax.Array
    lam_factor: jax.Array
    gamma: jax.Array
    gamma_step: jax.Array
    init_scale: jax.Array
    replicas: int = eqx.field(static=True)
    batch: int = eqx.field(static=True)
    weights: str = eqx.field(static=True)
    init_equal: bool = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: Problem) -> LALState:
        """Binary: :math:`H=\\pm` ``init_scale`` at random; continuous: random points of the
        sphere :math:`|W_k|=\\sqrt n`; all replicas equal if ``init_equal``."""
        dt = jnp.dtype(self.dtype)
        y = self.replicas
        shape = (problem.k, problem.n)
        if self.init_equal:
            H = jnp.broadcast_to(_init_hidden(key, shape, self.weights, self.init_scale, dt), (y,) + shape)
        else:
            H = jax.vmap(lambda kk: _init_hidden(kk, shape, self.weights, self.init_scale, dt))(
                jax.random.split(key, y))
        return LALState(H=H, lam=self.lam.astype(dt), gamma=self.gamma.astype(dt),
                        epoch=jnp.zeros((), jnp.int32))

    def centre(self, W):
        """Read-out centre of replicas ``W (y, K, n)``: ``sign(sum_a W^a)`` (binary; ties to -1)
        or the mean (continuous); the network itself for ``y = 1``."""
        if self.replicas == 1:
            return W[0]
        if self.weights == "binary":
            return sign_pm(jnp.sum(W, axis=0))
        return jnp.mean(W, axis=0)

    def _kick(self, H, lam, gamma):
        W = _readout(H, self.weights)
        if self.weights == "binary":
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
        lr = self.lr.astype(dt)

        def minibatch(H, ids):
            mask = (ids >= 0).astype(dt)
            ids = jnp.maximum(ids, 0)
            W = _readout(H, self.weights)
            xb, sb = x[ids], sig[ids]
            sel = lal_selection(_batch_fields(xb, W, tree), sb)
            H = H + lr * _batch_grad(sel * (sb * mask)[..., None], xb, tree)
            if y > 1:
                H = self._kick(H, state.lam, state.gamma)
            return H, None

        H, _ = jax.lax.scan(minibatch, state.H, idx)
        W = _readout(H, self.weights)
        C = self.centre(W)
        errs = _errors(jnp.concatenate([C[None], W], axis=0), x, sig, tree)
        dist = jnp.mean((W - C[None]) ** 2) / 4.0
        info = LALInfo(errors=errs[0], replica_errors=errs[1:], best_errors=jnp.min(errs),
                       distance=dist.astype(dt), lam=state.lam, gamma=state.gamma)
        new = LALState(H=H, lam=state.lam * self.lam_factor.astype(dt),
                       gamma=state.gamma + self.gamma_step.astype(dt), epoch=state.epoch + 1)
        return new, info


# ------------------------------------------------------------------------------------------------
# results and solvers
# ------------------------------------------------------------------------------------------------
class CommitteeResult(eqx.Module):
    """Result of :func:`solve_cesgd`, :func:`solve_lal`, :func:`solve_elal` (the fields of
    :class:`~physlearn.algorithms.rsgd.RSGDResult`; batch axes ``(P?, S?)`` in front).

    - ``solved`` (bool): the stopping rule fired (a zero-error network was found);
    - ``errors``: training errors of ``weights`` at the end (min over centre and replicas);
    - ``centre_errors``, ``replica_errors (..., y)``: at the end (``y = 1`` for ceSGD and LAL);
    - ``steps``: epochs used;
    - ``weights (..., K, n)``: the best network (the centre when it ties), int8 for binary
      weights, float for continuous ones;
    - ``centre (..., K, n)``: the centre (the network itself for ceSGD and LAL);
    - ``trace``: per-epoch info (:class:`CESGDInfo` / :class:`LALInfo`) or ``None``.
    """

    solved: jax.Array
    errors: jax.Array
    centre_errors: jax.Array
    replica_errors: jax.Array
    steps: jax.Array
    weights: jax.Array
    centre: jax.Array
    trace: eqx.Module | None


def _check_common(problem, weights, batch, max_epochs, dtype):
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a physlearn.algorithms.problems.Problem, got {type(problem).__name__}")
    if len(problem.batch_shape) > 1:
        raise ValueError(f"problem must have at most one sample axis, batch_shape={problem.batch_shape}")
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    batch = positive_int("batch", batch)
    max_epochs = positive_int("max_epochs", max_epochs)
    dt = float_dtype(dtype)
    if problem.teacher is not None:  # not used for training; one compiled program per shape
        problem = Problem(problem.inputs, problem.labels, architecture=problem.architecture, k=problem.k)
    return problem, batch, max_epochs, dt


def solve_cesgd(
    key,
    problem: Problem,
    *,
    schedule: str = "slow",
    lr=None,
    batch: int = 10,
    beta=None,
    beta_factor=None,
    gamma=None,
    gamma_factor=None,
    weights: str = "binary",
    clip=1.0,
    init_scale=0.1,
    max_epochs: int = 1000,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool = False,
    mesh=None,
) -> CommitteeResult:
    r"""Train a committee machine (or perceptron) by SGD on the cross-entropy loss with an explicit,
    growing polarisation :math:`\beta` (hidden units :math:`\tanh(\beta z)`) and norm
    :math:`\gamma` (output) -- ceSGD of Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020). The
    loss, the update and the schedules are in the module docstring.

    **Arguments:**

    - ``key``, ``problem``: as in :func:`physlearn.algorithms.rsgd.solve` (one instance or a batch
      with one leading sample axis; sample ``i`` uses ``fold_in(key, i)``).
    - ``schedule``: ``"fast"`` or ``"slow"`` (:data:`SCHEDULES`) gives the defaults of ``beta``
      (:math:`\beta_0`), ``beta_factor``, ``gamma`` (:math:`\gamma_0`), ``gamma_factor``; any
      of them given explicitly overrides the schedule's value.
    - ``lr``: learning rate (the gradient is the minibatch mean); default 0.1 for binary, 1 for
      continuous weights (measured on tree committees, K = 3); ``batch``: minibatch size
      (clipped to M).
    - ``weights``: ``"binary"`` (straight-through training of :math:`\mathrm{sign}(H)`, ``H``
      clipped to ``[-clip, clip]``; ``clip=inf`` turns clipping off) or ``"continuous"``
      (weights on the sphere :math:`|W_k|^2=n`).
    - ``init_scale``: binary initial :math:`|H|` (continuous: ignored, random point of the sphere).
    - ``max_epochs``, ``dtype``, ``trace``, ``progress``, ``mesh``: as for RSGD.

    Float hyper-parameters may be 1-D arrays of equal length P (a hyper-parameter batch, leading
    result axis P).

    **Returns:** :class:`CommitteeResult`.
    """
    problem, batch, max_epochs, dt = _check_common(problem, weights, batch, max_epochs, dtype)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {tuple(SCHEDULES)}, got {schedule!r}")
    sched = SCHEDULES[schedule]
    given = dict(beta=beta, beta_factor=beta_factor, gamma=gamma, gamma_factor=gamma_factor)
    vals = {k: sched[k] if v is None else v for k, v in given.items()}
    if lr is None:
        lr = 0.1 if weights == "binary" else 1.0
    hp = {
        "lr": hyper_parameter("lr", lr, positive=True),
        "beta": hyper_parameter("beta", vals["beta"], positive=True),
        "beta_factor": hyper_parameter("beta_factor", vals["beta_factor"], positive=True),
        "gamma": hyper_parameter("gamma", vals["gamma"], positive=True),
        "gamma_factor": hyper_parameter("gamma_factor", vals["gamma_factor"], positive=True),
        "init_scale": hyper_parameter("init_scale", init_scale, positive=True),
        "clip": hyper_parameter("clip", clip, positive=True, allow_inf=True),
    }
    hp, P = hyper_batch(hp)
    algo = CESGD(**{k: jnp.asarray(v, dtype=dt) for k, v in hp.items()}, batch=batch, weights=weights,
                 dtype=dt.name)
    res = run(algo, key, problem, max_steps=max_epochs, stop="any", hyper_batch=P, trace=trace,
              progress=progress, description=f"ceSGD ({schedule}, {weights})", mesh=mesh)
    return _cesgd_result(algo, res, trace)


@eqx.filter_jit
def _cesgd_result(algo, res, trace):
    W = _readout(res.state.H, algo.weights)
    if algo.weights == "binary":
        W = W.astype(jnp.int8)
    return CommitteeResult(
        solved=res.solved,
        errors=res.info.errors,
        centre_errors=res.info.errors,
        replica_errors=res.info.errors[..., None],
        steps=res.steps,
        weights=W,
        centre=W,
        trace=res.trace if trace else None,
    )


def _solve_lal(key, problem, *, replicas, lam, lam_factor, gamma, gamma_step, lr, batch, weights,
               init_scale, init_equal, max_epochs, dtype, trace, progress, mesh, description):
    problem, batch, max_epochs, dt = _check_common(problem, weights, batch, max_epochs, dtype)
    replicas = positive_int("replicas", replicas)
    hp = {
        "lr": hyper_parameter("lr", lr, positive=True),
        "lam": hyper_parameter("lam", lam),
        "lam_factor": hyper_parameter("lam_factor", lam_factor),
        "gamma": hyper_parameter("gamma", gamma, allow_inf=True),
        "gamma_step": hyper_parameter("gamma_step", gamma_step),
        "init_scale": hyper_parameter("init_scale", init_scale, positive=True),
    }
    hp, P = hyper_batch(hp)
    algo = LAL(**{k: jnp.asarray(v, dtype=dt) for k, v in hp.items()}, replicas=replicas, batch=batch,
               weights=weights, init_equal=bool(init_equal), dtype=dt.name)
    res = run(algo, key, problem, max_steps=max_epochs, stop="any", hyper_batch=P, trace=trace,
              progress=progress, description=description, mesh=mesh)
    return _lal_result(algo, res, trace)


@eqx.filter_jit
def _lal_result(algo, res, trace):
    info = res.info
    W = _readout(res.state.H, algo.weights)  # (..., y, K, n)
    C = jax.vmap(algo.centre)(W.reshape((-1,) + W.shape[-3:])).reshape(W.shape[:-3] + W.shape[-2:])
    best_rep = jnp.argmin(info.replica_errors, axis=-1)
    rep_best = jnp.take_along_axis(W, best_rep[..., None, None, None], axis=-3)[..., 0, :, :]
    use_centre = info.errors <= jnp.min(info.replica_errors, axis=-1)
    best = jnp.where(use_centre[..., None, None], C, rep_best)
    if algo.weights == "binary":
        best, C = best.astype(jnp.int8), C.astype(jnp.int8)
    return CommitteeResult(
        solved=res.solved,
        errors=info.best_errors,
        centre_errors=info.errors,
        replica_errors=info.replica_errors,
        steps=res.steps,
        weights=best,
        centre=C,
        trace=res.trace if trace else None,
    )


def solve_lal(
    key,
    problem: Problem,
    *,
    lr=2.0,
    batch: int = 1,
    weights: str = "binary",
    init_scale=1.0,
    max_epochs: int = 1000,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool = False,
    mesh=None,
) -> CommitteeResult:
    r"""Least action learning (Mitchison & Durbin, Biol. Cybern. 60, 345 (1989); the LAL of
    Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)): on each misclassified pattern, the
    perceptron update :math:`H_k \mathrel{+}= \eta\sigma^\mu\xi^\mu_{(k)}` of the wrong hidden unit
    with the smallest :math:`|h^\mu_k|` (module docstring, :func:`lal_selection`).

    **Arguments:**

    - ``key``, ``problem``: as in :func:`physlearn.algorithms.rsgd.solve`.
    - ``lr``: :math:`\eta`. With binary weights, ``lr=2`` and ``init_scale=1`` (the defaults)
      keep :math:`H` odd integers, so :math:`\mathrm{sign}(H)` is never tied (the clipped
      perceptron's hidden states).
    - ``batch``: patterns per update (``1``: online, the original rule; larger: the updates of a
      minibatch are computed with the same weights and summed).
    - ``weights``: ``"binary"`` (:math:`W=\mathrm{sign}(H)`) or ``"continuous"`` (:math:`W=H`,
      started on the sphere :math:`|W_k|^2=n`).
    - ``init_scale``: binary initial :math:`|H|`; ``max_epochs``, ``dtype``, ``trace``,
      ``progress``, ``mesh``: as for RSGD. ``lr`` and ``init_scale`` may be 1-D arrays
      (hyper-parameter batch).

    **Returns:** :class:`CommitteeResult` (``replica_errors`` has one entry).
    """
    return _solve_lal(key, problem, replicas=1, lam=0.0, lam_factor=1.0, gamma=0.0, gamma_step=0.0,
                      lr=lr, batch=batch, weights=weights, init_scale=init_scale, init_equal=True,
                      max_epochs=max_epochs, dtype=dtype, trace=trace, progress=progress, mesh=mesh,
                      description=f"LAL ({weights})")


def solve_elal(
    key,
    problem: Problem,
    *,
    replicas: int = 5,
    lam=None,
    lam_factor=None,
    gamma=0.05,
    gamma_step=0.001,
    lr=2.0,
    batch: int = 1,
    weights: str = "binary",
    init_scale=1.0,
    init_equal: bool = True,
    max_epochs: int = 1000,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool = False,
    mesh=None,
) -> CommitteeResult:
    r"""Entropic least action learning (eLAL, Baldassi, Pittorino & Zecchina, PNAS 117, 161
    (2020)): ``replicas`` copies of LAL coupled to their centre by the robust-ensemble kick of
    PNAS 113, E7655 (2016) after every minibatch (module docstring; the 2020 paper's own eLAL
    equations were not available to us).

    **Arguments** (others as :func:`solve_lal`):

    - ``replicas``: y.
    - ``lam``: coupling :math:`\lambda` of every kick (one per minibatch), multiplied by
      ``lam_factor`` after every epoch. Defaults: binary ``lam=0.1``, ``lam_factor=1`` (the
      coupling grows through ``gamma``); continuous ``lam=1e-3``, ``lam_factor=1.01`` (the
      replicas are pulled together more and more). Our choices, tried on tree committees
      (K = 3, n = 51) only.
    - ``gamma``, ``gamma_step``: binary weights only, :math:`\tanh(\gamma\sum_b W^b)` target,
      :math:`\gamma` increased by ``gamma_step`` per epoch (PNAS 2016 eq. C7 and scoping).
    - ``init_equal``: all replicas start from the same network (default, as PNAS 2016).

    **Returns:** :class:`CommitteeResult`.
    """
    if weights == "binary":
        lam = 0.1 if lam is None else lam
        lam_factor = 1.0 if lam_factor is None else lam_factor
    else:
        lam = 1e-3 if lam is None else lam
        lam_factor = 1.01 if lam_factor is None else lam_factor
    return _solve_lal(key, problem, replicas=replicas, lam=lam, lam_factor=lam_factor, gamma=gamma,
                      gamma_step=gamma_step, lr=lr, batch=batch, weights=weights, init_scale=init_scale,
                      init_equal=init_equal, max_epochs=max_epochs, dtype=dtype, trace=trace,
                      progress=progress, mesh=mesh, description=f"eLAL (y={replicas}, {weights})")
