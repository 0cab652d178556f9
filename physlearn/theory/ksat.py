r"""Random K-SAT: the replica-symmetric (RS) cavity entropy of the solutions by population
dynamics, the annealed entropy, and the literature thresholds.

**RS cavity** (Mézard & Montanari, *Information, Physics, and Computation*, OUP 2009, ch. 14;
Monasson & Zecchina, PRL 76, 3881 (1996)). On the random factor graph every variable has
:math:`d_\pm\sim\mathrm{Poisson}(K\alpha/2)` clauses in which it appears with sign :math:`\pm`
(the same law for the cavity graph). The clause-to-variable message :math:`w = \log(1-\delta)`
(:mod:`physlearn.algorithms.ksat.bp`) has a distribution :math:`\mathcal P(w)`, the fixed point of

.. math:: w \overset{d}{=} \log\Big(1-\prod_{j=1}^{K-1}\eta_j\Big),\qquad
          \log\eta_j = \log\sigma\Big(\sum_{b=1}^{d_+} w_b - \sum_{b=1}^{d_-} w'_b\Big),

with :math:`w_b, w'_b` i.i.d. from :math:`\mathcal P` and :math:`\sigma` the logistic function
(:math:`\eta_j` is the cavity probability that variable j violates the clause; its :math:`d_+`
clauses are those with the same sign). The RS entropy density is the average Bethe free entropy,

.. math:: s_{RS}(\alpha) = \mathbb E\log\Big(e^{\sum_{b\le d_+}w_b} + e^{\sum_{b\le d_-}w'_b}\Big)
          - (K-1)\,\alpha\,\mathbb E\log\Big(1-\prod_{j=1}^{K}\eta_j\Big).

**Population dynamics**: a population of ``population`` messages is updated in parallel
generations (each member from freshly drawn Poisson degrees and random members), and every
generation after ``burn_in`` gives a Monte-Carlo estimate of :math:`s_{RS}` from the same draws;
the result is their mean, with a standard error from blocks of generations. Degrees
are drawn per generation and their sums taken over one flat buffer of random members (sized ten
standard deviations above the mean total degree).

Below the clustering threshold :math:`\alpha_d` (3.86 for K = 3) the RS entropy is believed exact
and equals the :math:`N\to\infty` limit of BP's Bethe entropy on single instances (checked in
``docs/experiments/ksat.md``); it is always below the annealed entropy
:math:`\log 2 + \alpha\log(1-2^{-K})`.

**Thresholds** (:data:`THRESHOLDS`, literature, not recomputed here): :math:`\alpha_d` (clustering)
and :math:`\alpha_c` (condensation): Krzakala, Montanari, Ricci-Tersenghi, Semerjian, Zdeborová,
PNAS 104, 10318 (2007) and Montanari, Ricci-Tersenghi, Semerjian, J. Stat. Mech. P04004 (2008);
:math:`\alpha_s` (SAT/UNSAT) and :math:`\alpha_{SP}` (onset of non-trivial SP): Mertens, Mézard,
Zecchina, Random Struct. Alg. 28, 340 (2006).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validation as V
from .. import solvers
from .._config import _x64_scope

__all__ = ["THRESHOLDS", "EntropyRS", "annealed_entropy", "entropy_rs"]

THRESHOLDS = {
    3: {"alpha_d": 3.86, "alpha_c": 3.86, "alpha_s": 4.2667, "alpha_sp": 3.927},
    4: {"alpha_d": 9.38, "alpha_c": 9.547, "alpha_s": 9.931, "alpha_sp": 8.297},
    5: {"alpha_d": 19.16, "alpha_c": 20.80, "alpha_s": 21.117, "alpha_sp": 16.12},
}
"""The literature thresholds of random K-SAT quoted in the module doc, as
``THRESHOLDS[K]["alpha_d" | "alpha_c" | "alpha_s" | "alpha_sp"]``, to the last digit quoted there."""


def _check_k(k):
    return V.integer("k", k, minimum=2, what="clause width")


def _check_alpha(alpha):
    return V.real("alpha", alpha, nonneg=True)


def annealed_entropy(alpha, k: int = 3):
    r"""Annealed entropy :math:`\log 2 + \alpha\log(1-2^{-K})` (the first moment of the number of
    solutions; an upper bound on the quenched entropy). ``alpha`` scalar or array (>= 0)."""
    k = _check_k(k)
    a = np.asarray(alpha, dtype=np.float64)
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"alpha (clause density) must be finite and >= 0, got {alpha!r}")
    return math.log(2.0) + a * math.log1p(-(2.0 ** -k))


class EntropyRS(eqx.Module):
    """Result of :func:`entropy_rs`: ``alpha``, ``k``, ``entropy`` (the RS entropy density),
    ``stderr`` (its Monte-Carlo standard error), ``annealed`` (the annealed entropy at the same
    alpha), ``population`` and ``generations`` (measured generations)."""

    alpha: float
    k: int
    entropy: float
    stderr: float
    annealed: float
    population: int
    generations: int


def _log1m_exp(x):
    return jnp.log(-jnp.expm1(jnp.minimum(x, -1e-300)))


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
def _popdyn(key, lam, k, pop, total, burn_in, generations, n_clause):
    r"""Population-dynamics generations (run by :func:`physlearn.solvers.iterate`); returns the per-generation means of
    :math:`\log Z_i` and :math:`\log Z_a`. The ``2 pop`` degree sums use one flat buffer of
    ``total`` random members (a segment sum), not a padded ``(pop, 2, d_max)`` table."""

    def gen(w, key):
        kd, ki, ke, ka = jax.random.split(key, 4)
        d = jax.random.poisson(kd, lam, (2 * pop,)).astype(jnp.int32)
        ends = jnp.cumsum(d)
        # segment id of every buffer slot: the number of segment ends at or before it (2 pop = unused)
        seg = jnp.cumsum(jnp.zeros((total,), jnp.int32).at[ends].add(1, mode="drop"))
        vals = w[jax.random.randint(ki, (total,), 0, pop)]
        L = jax.ops.segment_sum(vals, seg, num_segments=2 * pop + 1, indices_are_sorted=True)[:-1].reshape(pop, 2)
        log_eta = jax.nn.log_sigmoid(L[:, 0] - L[:, 1])  # (same-sign sum) - (opposite-sign sum)
        log_zi = jnp.logaddexp(L[:, 0], L[:, 1])
        je = jax.random.randint(ke, (pop, k - 1), 0, pop)
        w_new = _log1m_exp(jnp.sum(log_eta[je], axis=-1))
        ja = jax.random.randint(ka, (n_clause, k), 0, pop)
        log_za = _log1m_exp(jnp.sum(log_eta[ja], axis=-1))
        return w_new, (jnp.mean(log_zi), jnp.mean(log_za), ends[-1] > total)

    k0, k1 = jax.random.split(key)
    w0 = jnp.log1p(-0.5 * jax.random.uniform(k0, (pop,), jnp.float64))
    n_gen = burn_in + generations
    keys = jax.random.split(k1, n_gen)

    def step(state):  # one generation; its means are written to slot i
        w, i, zi, za, over = state
        w, (mzi, mza, ov) = gen(w, keys[i])
        return w, i + 1, zi.at[i].set(mzi), za.at[i].set(mza), over | ov

    zeros = jnp.zeros((n_gen,), jnp.float64)
    state0 = (w0, jnp.zeros((), jnp.int32), zeros, zeros, jnp.zeros((), bool))
    (_, _, zi, za, over), _, _ = solvers.iterate(step, state0, max_steps=n_gen)
    return zi[burn_in:], za[burn_in:], over


def entropy_rs(alpha, k: int = 3, *, population: int = 200_000, generations: int = 300,
               burn_in: int = 100, key=None) -> EntropyRS:
    r"""RS cavity entropy density of random K-SAT by population dynamics (module doc), in float64.

    **Arguments:** ``alpha`` (clause density >= 0), ``k`` (clause width >= 2), ``population``
    (messages in the population), ``generations`` (measured generations after ``burn_in``
    equilibration generations), ``key`` (typed PRNG key; default ``jax.random.key(0)``, so the
    result is reproducible).

    **Returns:** :class:`EntropyRS`; ``stderr`` is the standard error of the mean over blocks of 10
    generations (the population's own finite-size bias is :math:`O(1/\text{population})`). Raises
    ``ValueError`` naming the argument on bad input. At :math:`\alpha = 0` the entropy is
    :math:`\log 2` exactly.
    """
    k = _check_k(k)
    alpha = _check_alpha(alpha)
    for name, v, lo in (("population", population, 100), ("generations", generations, 10), ("burn_in", burn_in, 0)):
        V.integer(name, v, minimum=lo)
    key = jax.random.key(0) if key is None else V.key(key)
    ann = float(annealed_entropy(alpha, k))
    if alpha == 0:
        return EntropyRS(alpha, k, math.log(2.0), 0.0, ann, int(population), int(generations))
    lam = k * alpha / 2.0
    mean = 2 * population * lam
    total = int(math.ceil(mean + 10.0 * math.sqrt(mean) + 100))  # overflow probability < 1e-20
    n_clause = 4 * int(population)  # clause terms carry the factor (K-1) alpha: sample them more
    with _x64_scope():
        zi, za, over = _popdyn(key, jnp.float64(lam), k, int(population), total, int(burn_in), int(generations),
                               n_clause)
    if bool(over):  # pragma: no cover - a 10-sigma event
        raise RuntimeError("entropy_rs: the degree buffer overflowed (a 10-sigma event); rerun with another key")
    s = np.asarray(zi, np.float64) - (k - 1) * alpha * np.asarray(za, np.float64)
    nb = max(len(s) // 10, 1)
    blocks = s[: nb * (len(s) // nb)].reshape(nb, -1).mean(axis=1)
    err = float(blocks.std(ddof=1) / math.sqrt(nb)) if nb > 1 else float("nan")
    return EntropyRS(alpha, k, float(s.mean()), err, ann, int(population), int(generations))
