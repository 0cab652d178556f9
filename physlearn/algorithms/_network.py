"""Forward pass of binary perceptrons and committee machines on raw arrays (internal).

Conventions (Baldassi et al., PNAS 113, E7655 (2016), appendix A):

* weights ``W`` have shape ``(K, N)`` with entries +-1 (the perceptron is K = 1);
* fully connected committee / perceptron inputs have shape ``(M, N)`` (every hidden unit sees the
  same N inputs); tree-like committee inputs have shape ``(M, K, N)`` (hidden unit k sees its own
  N inputs ``xi[mu, k, :]``);
* hidden pre-activation ``h_{mu k} = sum_i xi_{mu (k) i} W_{k i}``, hidden output
  ``tau = sign(h)``, network output ``sign(sum_k tau_k)``. ``sign(0)`` is taken as -1, as the
  bit convention ``J = [H > 0]`` of the reference code; with N and K odd (enforced by
  :class:`physlearn.algorithms.problems.Problem`) ties never occur.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

ARCHITECTURES = ("perceptron", "committee", "tree")


def sign_pm(x):
    """+1 where x > 0, -1 elsewhere, in the dtype of ``x`` (ties go to -1, like ``J = [H > 0]``)."""
    one = jnp.ones((), dtype=x.dtype)
    return jnp.where(x > 0, one, -one)


def preactivations(weights, inputs, tree: bool):
    """Hidden pre-activations ``h[..., mu, k]`` for ``weights (K, N)``.

    ``inputs`` is ``(M, N)`` (fully connected) or ``(M, K, N)`` (tree); leading batch axes of
    ``inputs`` are allowed and carried through.
    """
    x = inputs.astype(weights.dtype)
    if tree:
        return jnp.einsum("...mkn,kn->...mk", x, weights)
    return jnp.einsum("...mn,kn->...mk", x, weights)


def outputs_from_preacts(h):
    """Network output ``sign(sum_k sign(h_k))`` (K odd, so no ties), same dtype as ``h``."""
    return sign_pm(jnp.sum(sign_pm(h), axis=-1))


def _fix_costs(h, labels):
    """``(wrong, n_fix, cost)`` of :func:`least_wrong_selection`: the wrong units ``(..., M, K)``,
    the number of units to fix ``(..., M)`` and each unit's cost (``inf`` on the right units)."""
    lab = labels.astype(h.dtype)
    lab = lab.reshape((1,) * (h.ndim - 1 - lab.ndim) + lab.shape)  # explicit rank (no promotion)
    sigma = lab[..., None]
    tau = sign_pm(h)
    wrong = sigma * tau < 0
    n_fix = jnp.maximum(0.0, (1.0 - sigma[..., 0] * jnp.sum(tau, axis=-1)) / 2.0)
    cost = jnp.where(wrong, (1.0 - sigma * h) / 2.0, jnp.inf)
    return wrong, n_fix, cost


def least_wrong_selection(h, labels):
    r"""Per-pattern minimum-flip bookkeeping from pre-activations (PNAS 2016, eqs. 9--13).

    For a pattern with label :math:`\sigma` and hidden fields :math:`h_k`:

    * :math:`n_{fix} = \max(0, (1 - \sigma \sum_k \tau_k)/2)` hidden units must change sign;
    * the cost of fixing a wrong unit (:math:`\sigma\tau_k<0`) is :math:`(1 - \sigma h_k)/2`
      weight flips (N odd);
    * the chosen units are the :math:`n_{fix}` wrong units of smallest cost ("least wrong").

    Returns ``(selected, energy)``: ``selected[..., mu, k]`` is 1 on the chosen units, 0 elsewhere
    (dtype of ``h``), and ``energy[..., mu]`` the minimum number of weight flips that make pattern
    mu correctly classified. Ties between equal costs are broken by the lower unit index.
    """
    wrong, n_fix, cost = _fix_costs(h, labels)
    # rank of each unit by cost (ties: lower index first) by pairwise comparison -- O(K^2), K small
    kk = jnp.arange(cost.shape[-1])
    ci, cj = cost[..., :, None], cost[..., None, :]
    lower = jnp.broadcast_to(kk[None, :] < kk[:, None], ci.shape[:-1] + (cost.shape[-1],))
    before = (cj < ci) | ((cj == ci) & lower)
    rank = jnp.sum(before, axis=-1, dtype=jnp.int32)
    selected = (rank.astype(h.dtype) < n_fix[..., None]) & wrong
    energy = jnp.sum(jnp.where(selected, cost, 0.0), axis=-1)
    return selected.astype(h.dtype), energy


NETWORK_SORT_MAX = 32
"""Largest number of units whose costs :func:`sum_of_smallest` orders with a sorting network (else ``jnp.sort``)."""


def sum_of_smallest(cost, count, max_count: int):
    """Sum of the ``count`` smallest entries of ``cost`` along its first axis (the K hidden units;
    ``count <= max_count``, broadcasting against ``cost[0]``), in the dtype of ``cost``.

    For K <= :data:`NETWORK_SORT_MAX` an odd-even transposition network: K rounds of elementwise
    min/max that XLA fuses into the surrounding sum (``jnp.sort`` is a kernel of its own with a
    comparator call per comparison; docs/performance.md); above, ``jnp.sort``."""
    K = cost.shape[0]
    zero = jnp.zeros((), cost.dtype)
    if K > NETWORK_SORT_MAX:
        srt = jnp.sort(cost, axis=0)
        rank = jnp.arange(K, dtype=jnp.int32).reshape((K,) + (1,) * (cost.ndim - 1))
        return jnp.sum(jnp.where(rank < count[None], srt, zero), axis=0)
    c = [cost[j] for j in range(K)]
    for r in range(K):
        for j in range(r % 2, K - 1, 2):
            c[j], c[j + 1] = jnp.minimum(c[j], c[j + 1]), jnp.maximum(c[j], c[j + 1])
    out = jnp.zeros(jnp.broadcast_shapes(c[0].shape, jnp.shape(count)), cost.dtype)
    for j in range(min(K, max_count)):
        out = out + jnp.where(j < count, c[j], zero)
    return out


def least_wrong_energy(h, labels):
    r"""The ``energy`` of :func:`least_wrong_selection` alone (the minimum number of weight flips
    that fix each pattern, ``(..., M)``), without the ranks of the units: the sum of the
    costs of rank below :math:`n_{fix}` (at most :math:`\lfloor K/2\rfloor+1` of them: :math:`n_{fix}`
    is a half-integer on a tied vote of an even K), by :func:`sum_of_smallest`."""
    _, n_fix, cost = _fix_costs(h, labels)
    return sum_of_smallest(jnp.moveaxis(cost, -1, 0), n_fix, h.shape[-1] // 2 + 1)


# ------------------------------------------------------------------------------------------------
# Bit-packed forward pass. For +-1 vectors x and w of length N, packed into 32-bit words with bit
# 1 <-> +1 (padding bits 0 in both), x . w = N - 2 * popcount(x XOR w): one XOR and one popcount
# per 32 synapses instead of 32 multiply-adds. The result is the exact integer, so it equals the
# float matmul bit for bit (|h| <= N < 2**24).
# ------------------------------------------------------------------------------------------------
WORD = 32


def packed_words(n: int) -> int:
    """Number of 32-bit words holding ``n`` packed +-1 entries."""
    return -(-n // WORD)


def pack_pm(x):
    """Pack a +-1 array along its last axis into ``uint32`` words (bit 1 where ``x > 0``)."""
    n = x.shape[-1]
    words = packed_words(n)
    bits = (x > 0).astype(jnp.uint32)
    bits = jnp.pad(bits, [(0, 0)] * (x.ndim - 1) + [(0, words * WORD - n)])
    bits = bits.reshape(x.shape[:-1] + (words, WORD))
    return jnp.sum(bits << jnp.arange(WORD, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)


def unpack_pm(packed, n: int, dtype):
    """Inverse of :func:`pack_pm`: ``(..., words)`` -> ``(..., n)`` +-1 in ``dtype``."""
    bits = (packed[..., None] >> jnp.arange(WORD, dtype=jnp.uint32)) & 1
    bits = bits.reshape(packed.shape[:-1] + (packed.shape[-1] * WORD,))[..., :n]
    one = jnp.ones((), dtype)
    return jnp.where(bits == 1, one, -one)


def packed_dot(xp, wp, n: int):
    """``x . w`` from packed operands (broadcast over leading axes), as ``int32``."""
    mismatches = jnp.sum(jax.lax.population_count(xp ^ wp), axis=-1, dtype=jnp.int32)
    return n - 2 * mismatches


def packed_preactivations(wp, xp, n: int, tree: bool, dtype):
    """Hidden pre-activations ``h[..., mu, k]`` from packed weights ``wp (..., K, words)`` and packed
    inputs ``xp (..., M, words)`` (fully connected) or ``(..., M, K, words)`` (tree); leading axes
    broadcast. Equal to :func:`preactivations` on the unpacked arrays."""
    if tree:
        h = packed_dot(xp, wp[..., None, :, :], n)
    else:
        h = packed_dot(xp[..., :, None, :], wp[..., None, :, :], n)
    return h.astype(dtype)


# ------------------------------------------------------------------------------------------------
# Hidden variables H behind the synapses (ceSGD, LAL/eLAL): W = sign(H) ("binary" synapses) or
# W = H ("continuous" synapses, kept on the sphere |W_k|^2 = n by ceSGD).
# ------------------------------------------------------------------------------------------------
SYNAPSES = ("binary", "continuous")


def readout(H, synapses: str):
    """The synapses of hidden variables ``H``: ``sign(H)`` (binary) or ``H`` (continuous)."""
    return sign_pm(H) if synapses == "binary" else H


def batch_fields(xb, W, tree: bool):
    """Fields ``(y, b, K)`` of replicas ``W (y, K, n)`` on their minibatches ``xb (y, b, ...)``."""
    if tree:
        return jnp.einsum("ybkn,ykn->ybk", xb, W)
    return jnp.einsum("ybn,ykn->ybk", xb, W)


def batch_grad(coef, xb, tree: bool):
    """``sum_b coef[y, b, k] xb[y, b, (k), :]`` -> ``(y, K, n)``.

    Fully connected: ``coef`` is transposed to ``(y, K, b)`` behind an optimization barrier, so
    that the product is a plain row-major GEMM ``(K, b) @ (b, n)`` per replica. Left to itself,
    XLA folds the transpose into the dot, which then contracts the major axis of ``coef``, and the
    CPU backend runs that layout on its generic batched-dot path at under half the rate
    (``docs/performance.md``); the transposed copy is small (K b numbers per replica)."""
    if tree:
        return jnp.einsum("ybk,ybkn->ykn", coef, xb)
    coef_t = jax.lax.optimization_barrier(jnp.swapaxes(coef, -1, -2))
    return jnp.einsum("ykb,ybn->ykn", coef_t, xb)


def network_errors(nets, x, sig, tree: bool):
    """Training errors of networks ``nets (A, K, n)`` on inputs ``x`` and labels ``sig`` (int32 ``(A,)``)."""
    if tree:
        hh = jnp.einsum("mkn,akn->amk", x, nets)
    else:
        hh = jnp.einsum("mn,akn->amk", x, nets)
    out = outputs_from_preacts(hh)
    return jnp.sum(out != sig[None], axis=-1, dtype=jnp.int32)


def init_hidden(key, shape, synapses: str, scale, dt):
    """Binary: +-scale uniformly at random; continuous: Gaussian rows of norm sqrt(n)."""
    if synapses == "binary":
        bits = jax.random.bits(key, shape, dtype=jnp.uint8)
        return jnp.where((bits & 1) == 1, 1.0, -1.0).astype(dt) * scale.astype(dt)
    g = jax.random.normal(key, shape, dtype=dt)
    return to_sphere(g)


def to_sphere(H):
    """Rows of ``H`` rescaled to norm sqrt(n)."""
    n = H.shape[-1]
    return H * (math.sqrt(n) / jnp.sqrt(jnp.sum(H * H, axis=-1, keepdims=True)))
