r"""Energies and observables of binary networks (pure functions, vmappable, jittable).

Weights are +-1 arrays of shape ``(K, N)`` (the perceptron is ``(1, N)``; a bare ``(N,)`` vector
is accepted for it). Problems are :class:`~physlearn.algorithms.problems.Problem` instances
(single instances; ``jax.vmap`` over a batch, e.g. ``jax.vmap(num_errors)(W, problems)``).

Reference: C. Baldassi, C. Borgs, J. T. Chayes, A. Ingrosso, C. Lucibello, L. Saglietti,
R. Zecchina, "Unreasonable effectiveness of learning neural networks: from accessible states and
robust ensembles to basic algorithmic schemes", PNAS 113, E7655 (2016), appendix A.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._network import least_wrong_energy, outputs_from_preacts, preactivations, sign_pm
from .problems import Problem

__all__ = [
    "preactivations",
    "outputs",
    "stabilities",
    "errors_per_pattern",
    "num_errors",
    "min_flips_per_pattern",
    "min_flips_energy",
    "overlap",
    "hamming",
    "replica_overlaps",
    "centre",
    "distances_to_centre",
]

_preacts_raw = preactivations


def _weights(weights, problem: Problem | None = None, dtype=None):
    w = jnp.asarray(weights)
    if w.ndim == 1:
        w = w[None, :]
    if dtype is None:
        dtype = w.dtype if jnp.issubdtype(w.dtype, jnp.floating) else jnp.float32
    w = w.astype(dtype)
    if problem is not None:
        if problem.batch_shape:
            raise ValueError(
                f"problem is a batch (batch_shape={problem.batch_shape}); energies take one "
                "instance, use jax.vmap over the batch"
            )
        if w.shape[-2:] != (problem.k, problem.n):
            raise ValueError(
                f"weights must have shape (..., {problem.k}, {problem.n}) for this problem, got {w.shape}"
            )
    return w


def preactivations(weights, problem: Problem):  # noqa: F811 - public wrapper
    r"""Hidden pre-activations :math:`h^\mu_k = \sum_i \xi^\mu_{(k)i} W_{ki}`, shape ``(M, K)``.

    Leading axes of ``weights`` (e.g. replicas, ``(y, K, N)``) give ``(y, M, K)``.
    """
    w = _weights(weights, problem)
    if w.ndim == 2:
        return _preacts_raw(w, problem.inputs, problem.tree)
    x = problem.inputs.astype(w.dtype)
    if problem.tree:
        return jnp.einsum("mkn,...kn->...mk", x, w)
    return jnp.einsum("mn,...kn->...mk", x, w)


def outputs(weights, problem: Problem):
    r"""Network outputs :math:`\mathrm{sign}\sum_k \mathrm{sign}(h^\mu_k)` (``(..., M)``, +-1)."""
    return outputs_from_preacts(preactivations(weights, problem))


def stabilities(weights, problem: Problem, *, normalize: bool = False):
    r"""Hidden-unit stabilities :math:`\Delta^\mu_k = \sigma^\mu h^\mu_k` (``(..., M, K)``).

    For the perceptron (K = 1) this is the usual :math:`\Delta^\mu = \sigma^\mu\sum_i\xi^\mu_i
    W_i`; with ``normalize=True`` it is divided by :math:`\sqrt N`.
    """
    h = preactivations(weights, problem)
    lab = problem.labels.astype(h.dtype)[:, None]
    d = lab.reshape((1,) * (h.ndim - 2) + lab.shape) * h
    if normalize:
        d = d / jnp.sqrt(jnp.asarray(problem.n, h.dtype))
    return d


def errors_per_pattern(weights, problem: Problem):
    """Boolean ``(..., M)``: pattern mu is misclassified."""
    out = outputs(weights, problem)
    lab = problem.labels.astype(out.dtype)
    return out != lab.reshape((1,) * (out.ndim - 1) + lab.shape)


def num_errors(weights, problem: Problem):
    r"""Number of training errors :math:`\sum_\mu \Theta(-\sigma^\mu \hat\sigma^\mu)` (int32)."""
    return jnp.sum(errors_per_pattern(weights, problem), axis=-1, dtype=jnp.int32)


def min_flips_per_pattern(weights, problem: Problem):
    r"""Minimum number of weight flips that make each pattern correctly classified, ``(..., M)``.

    PNAS 2016 eqs. (9)--(13): for a violated pattern, :math:`n_{fix} = (1-\sigma\sum_k\tau_k)/2`
    hidden units must change sign; fixing a wrong unit costs :math:`(1-\sigma h_k)/2` flips (N
    odd); the energy is the sum of the :math:`n_{fix}` smallest costs among the wrong units. For
    the perceptron it reduces to :math:`\Theta(-\Delta)(1-\Delta)/2`. Returned in the float dtype
    of the computation (the values are integers).
    """
    return least_wrong_energy(preactivations(weights, problem), problem.labels)


def min_flips_energy(weights, problem: Problem):
    """Total minimum-flip energy :math:`E = \\sum_\\mu E^\\mu` (PNAS 2016, eq. 9), ``(...)``."""
    return jnp.sum(min_flips_per_pattern(weights, problem), axis=-1)


# ------------------------------------------------------------------------------------------------
# Replica observables
# ------------------------------------------------------------------------------------------------
def overlap(w1, w2):
    r"""Normalised overlap :math:`q = \frac{1}{KN}\sum_{ki} W^1_{ki}W^2_{ki}` (broadcasts over
    leading axes)."""
    a = _weights(w1)
    b = _weights(w2, dtype=a.dtype)
    return jnp.mean(a * b, axis=(-2, -1))


def hamming(w1, w2):
    """Number of differing weights (int32), broadcasting over leading axes."""
    a = jnp.asarray(w1)
    b = jnp.asarray(w2)
    axes = tuple(range(-min(a.ndim, b.ndim, 2), 0))
    return jnp.sum(a != b, axis=axes, dtype=jnp.int32)


def replica_overlaps(replicas):
    r"""``(y, y)`` matrix of overlaps :math:`q_{ab}` between replicas ``(y, K, N)``."""
    w = _weights(replicas)
    return jnp.einsum("akn,bkn->ab", w, w) / (w.shape[-1] * w.shape[-2])


def centre(replicas):
    r"""Binary centre of a replica ensemble, :math:`\tilde W = \mathrm{sign}\sum_a W^a` (ties, only
    possible for even y, go to -1 as in the reference code). ``(y, K, N) -> (K, N)``."""
    w = _weights(replicas)
    return sign_pm(jnp.sum(w, axis=0))


def distances_to_centre(replicas, centre_weights=None):
    r"""Normalised Hamming distances :math:`d_a = (1 - q_{a,c})/2` of each replica from the centre
    (default: :func:`centre` of the replicas), shape ``(y,)``."""
    if centre_weights is None:
        centre_weights = centre(replicas)
    return (1.0 - overlap(replicas, centre_weights[None])) / 2.0
