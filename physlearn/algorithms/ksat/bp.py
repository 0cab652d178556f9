r"""Zero-temperature belief propagation on K-SAT: the uniform measure over solutions, its Bethe
entropy, and the message kernel shared by BPGD, reinforced BP, focusing BP and EdMC.

References: M. Mézard, A. Montanari, *Information, Physics, and Computation* (OUP 2009), ch. 14;
Baldassi et al., PNAS 113, E7655 (2016), appendix D.4 (the notation of the BP-family solvers).

**Messages.** With :math:`\eta_{i\to a}` the cavity probability that variable i does *not* satisfy
clause a (:math:`x_i = -s_{ai}`) and :math:`\delta_{a\to i} = \prod_{j\in\partial a\setminus i}
\eta_{j\to a}` the probability that the other variables of a all violate it, the clause tells i
"satisfy me" with weight :math:`1-\delta_{a\to i}`:

.. math:: \delta_{a\to i} = \prod_{j\in\partial a\setminus i}\eta_{j\to a},\qquad
          \eta_{i\to a} = \frac{e^{-s_{ai} h_{i\to a}}}{2\cosh h_{i\to a}},\qquad
          h_{i\to a} = H_i - u_{a\to i},

where the clause-to-variable *field* is :math:`u_{a\to i} = -\tfrac12 s_{ai}\log(1-\delta_{a\to i})`
(half log-odds, the units of :mod:`physlearn.algorithms.fbp`) and the total field of variable i
is :math:`H_i = f_i + \sum_{a\ni i} u_{a\to i}`, with :math:`f_i` an external field: 0 for plain
BP, the decimation field of BPGD, the reinforcement of rBP, the focusing message of fBP, the
coupling :math:`\gamma\tilde x_i` to a reference for EdMC. The stored message is
:math:`w_{ai} = \log(1-\delta_{a\to i})\in[-60, 0]` (clipped: a hard "you must satisfy me" is a
field of 30, :data:`W_MAX`/2, the clip of the perceptron fBP), computed as
:math:`\log(-\mathrm{expm1}\sum_{j\ne i}\log\eta_j)` without cancellation; the leave-one-out sums
over the K variables of a clause are exact (a K x K mask, no subtraction).

**Sweep** (parallel, damped in the w space: :math:`w\leftarrow(1-\lambda)w_{new}+\lambda w_{old}`):
every clause reads the cavity fields of its variables, every w is updated, and one segment sum
gives the new clause part :math:`H^c_i = \sum_a u_{a\to i}` of the fields. A sweep's change is the
largest change of a message :math:`\tanh u` (a magnetization).

**Bethe free entropy** of :math:`Z = \sum_x \mathbb 1[x\text{ satisfies every clause}]\,e^{f\cdot x}`
at a fixed point (with :math:`\log Z_{ai} = \log Z_a` for every edge of a, since
:math:`\delta_{a\to i}\eta_{i\to a} = \prod_{j\in\partial a}\eta_{j\to a}`):

.. math:: \log Z = \sum_i\Big[\tfrac12\sum_{a\ni i} w_{ai} + \log 2\cosh H_i\Big]
          - (K-1)\sum_a\log\Big(1-\prod_{j\in\partial a}\eta_{j\to a}\Big),

so :math:`\log Z / N` is the Bethe entropy of the solutions at :math:`f = 0` (:math:`\log 2` with
no clauses, the number of solutions on a tree).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ... import _validation as V
from ...numerics import log2cosh
from ..results import AlgorithmResult
from ..runner import run
from .instances import KSAT, check_problem, num_violated, variable_sums

__all__ = [
    "W_MAX", "FIELD_MAX", "BP", "BPState", "BPInfo", "BPResult", "solve", "bethe_free_entropy",
    "messages_init", "start", "sweep", "assignment",
]

W_MAX = 60.0
"""Clip of :math:`|\\log(1-\\delta)|`: a clause-to-variable field never exceeds ``W_MAX / 2``."""
FIELD_MAX = 30.0
"""Clip of the external fields of the BP-family solvers (as ``fbp.FIELD_MAX``)."""


# ================================================================================================
# Kernel (one instance; vmap for batches)
# ================================================================================================
def clause_fields(w, problem: KSAT):
    r"""Fields :math:`u_{a\to i} = -\tfrac12 s_{ai} w_{ai}` ``(M, K)``."""
    return -0.5 * problem.signs.astype(w.dtype) * w


def _log_eta(w, H, problem: KSAT):
    r""":math:`\log\eta_{i\to a}` ``(M, K)`` from messages ``w`` and total fields ``H``."""
    s = problem.signs.astype(w.dtype)
    h = jnp.take(H, problem.clauses, axis=0) - clause_fields(w, problem)
    return jax.nn.log_sigmoid(-2.0 * s * h)


def _log1m_exp(x):
    r""":math:`\log(1-e^{x})` for :math:`x\le 0`, clipped below at ``-W_MAX``."""
    return jnp.maximum(jnp.log(-jnp.expm1(jnp.minimum(x, 0.0))), -W_MAX)


def messages_init(key, problem: KSAT, randfact, dtype):
    r"""Random initial messages :math:`w = \log(1-\delta)`, :math:`\delta\sim U(0, \text{randfact})`."""
    d = randfact * jax.random.uniform(key, (problem.m, problem.k), dtype)
    return jnp.log1p(-d)


def start(key, problem: KSAT, randfact, dtype_name: str):
    r"""Random initial messages (:func:`messages_init`) and the variable fields
    :math:`H^c_i=\sum_a u_{a\to i}` they send: ``(w, Hc)``, for the ``init`` of every BP-family
    solver."""
    dt = jnp.dtype(dtype_name)
    w = messages_init(key, problem, randfact.astype(dt), dt)
    return w, variable_sums(clause_fields(w, problem), problem)


def sweep(w, H, problem: KSAT, damping):
    r"""One damped parallel sweep. ``w (M, K)`` messages, ``H (N,)`` total fields consistent with
    them. Returns ``(w_new, Hc_new, diff)``: the damped messages, the clause part of the new fields
    :math:`H^c_i = \sum_a u_{a\to i}` (the caller adds its external field) and the largest change of
    :math:`\tanh u` before damping."""
    le = _log_eta(w, H, problem)
    K = problem.k
    loo = le @ (1.0 - jnp.eye(K, dtype=le.dtype))  # exact leave-one-out sums over the clause
    w_new = _log1m_exp(loo)
    diff = jnp.max(jnp.abs(jnp.tanh(0.5 * w_new) - jnp.tanh(0.5 * w)), initial=0.0)
    w_out = (1.0 - damping) * w_new + damping * w
    return w_out, variable_sums(clause_fields(w_out, problem), problem), diff


def assignment(H):
    """Clamped marginals: ``sign(H)`` as int8 +-1 (ties +1)."""
    return jnp.where(H >= 0, 1, -1).astype(jnp.int8)


def bethe_free_entropy(w, f, problem: KSAT):
    r"""Bethe :math:`\log Z` (module doc) of messages ``w (M, K)`` with external fields ``f (N,)``;
    one instance. Returns ``(log Z, H)`` with ``H`` the total fields. A contradiction (a clause whose
    variables all violate it with probability 1) gives :math:`-\infty`-like large negative values
    (the logs are clipped at ``-W_MAX`` per clause)."""
    H = f + variable_sums(clause_fields(w, problem), problem)
    le = _log_eta(w, H, problem)
    log_za = _log1m_exp(jnp.sum(le, axis=-1))
    log_z = 0.5 * jnp.sum(w) + jnp.sum(log2cosh(H)) - (problem.k - 1) * jnp.sum(log_za)
    return log_z, H


# ================================================================================================
# Plain BP (init / step)
# ================================================================================================
class BPState(eqx.Module):
    """``w (M, K)``: messages :math:`\\log(1-\\delta_{a\\to i})`; ``H (N,)``: total fields (no
    external field for plain BP)."""

    w: jax.Array
    H: jax.Array


class BPInfo(eqx.Module):
    """Per sweep: ``errors`` (violated clauses of the clamped marginals ``sign(H)``),
    ``best_errors`` (the same), ``max_diff`` (largest message change), ``halted`` (converged:
    ``max_diff < epsilon``; plain BP stops at its fixed point)."""

    errors: jax.Array
    best_errors: jax.Array
    max_diff: jax.Array
    halted: jax.Array


class BP(eqx.Module):
    """Zero-temperature BP hyper-parameters (see :func:`solve`)."""

    damping: jax.Array
    epsilon: jax.Array
    randfact: jax.Array
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: KSAT) -> BPState:
        return BPState(*start(key, problem, self.randfact, self.dtype))

    def step(self, key, state: BPState, problem: KSAT):
        w, Hc, diff = sweep(state.w, state.H, problem, self.damping.astype(state.w.dtype))
        e = num_violated(assignment(Hc), problem)
        return BPState(w, Hc), BPInfo(e, e, diff, diff < self.epsilon)


class BPResult(AlgorithmResult):
    """Result of :func:`solve` (leading batch axis S when the problem is a batch).

    Base fields: ``solved`` (the clamped marginals satisfy every clause, counted on ``weights``),
    ``steps`` (sweeps done), ``errors`` (violated clauses of ``weights``), ``weights (..., N)`` int8
    (``sign(H)``), ``trace`` (per-sweep :class:`BPInfo` or ``None``). Own fields: ``converged``
    (the last sweep changed no message by ``epsilon`` or more), ``max_diff``, ``entropy`` (Bethe
    entropy per variable, :math:`\\log Z/N`), ``marginals (..., N)`` (:math:`\\tanh H_i`),
    ``messages (..., M, K)`` (:math:`w`)."""

    converged: jax.Array
    max_diff: jax.Array
    entropy: jax.Array
    marginals: jax.Array
    messages: jax.Array


def setup(key, problem, *, damping, randfact, max_steps, dtype, epsilon=None):
    """Shared public-boundary checks of the BP-family solvers (through :mod:`physlearn._validation`):
    returns ``(key, problem, max_steps, fields)`` with ``fields`` the validated ``damping``,
    ``randfact``, ``dtype`` (and ``epsilon``) for the algorithm Module."""
    key = V.key(key)
    problem = check_problem(problem)
    max_steps = V.integer("max_steps", max_steps)
    fields = dict(
        damping=jnp.asarray(V.real("damping", damping, nonneg=True, below=1.0)),
        randfact=jnp.asarray(V.real("randfact", randfact, nonneg=True, below=1.0)),
        dtype=V.float_dtype(dtype).name,
    )
    if epsilon is not None:
        fields["epsilon"] = jnp.asarray(V.real("epsilon", epsilon, positive=True))
    return key, problem, max_steps, fields


def solve(
    key,
    problem: KSAT,
    *,
    damping=0.5,
    epsilon=1e-6,
    max_steps: int = 1000,
    randfact=0.5,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> BPResult:
    r"""Iterate zero-temperature BP on K-SAT (module doc) to its fixed point and measure the Bethe
    entropy of the solutions.

    **Arguments:** ``key`` (typed PRNG key; sample i of a batch uses ``fold_in(key, i)``),
    ``problem`` (:class:`~physlearn.algorithms.ksat.KSAT`, one instance or a batch), ``damping``
    :math:`\lambda\in[0, 1)`, ``epsilon`` (convergence: largest change of :math:`\tanh u` below
    it), ``max_steps`` (budget in **sweeps**), ``randfact`` (initial :math:`\delta\sim
    U(0, \text{randfact})`), ``dtype``, ``trace``, ``progress`` (None: a bar once the run lasts
    a few seconds),
    ``mesh`` (shard the samples axis, see :func:`physlearn.algorithms.runner.run`).

    **Returns:** :class:`BPResult`; ``entropy`` is :math:`\log Z/N` at the last messages (meaningful
    where ``converged``; BP converges on random 3-SAT up to about the clustering threshold
    :math:`\alpha_d\approx 3.86`). ``solved`` says whether the clamped marginals happen to be a
    solution (verified by counting violated clauses).
    """
    key, problem, max_steps, fields = setup(key, problem, damping=damping, randfact=randfact, max_steps=max_steps,
                                            dtype=dtype, epsilon=epsilon)
    algo = BP(**fields)
    res = run(algo, key, problem, max_steps=max_steps, stop="never", trace=trace, progress=progress,
              description="BP (K-SAT)", mesh=mesh)
    return _bp_result(res, problem, trace)


@eqx.filter_jit
def _bp_result(res, problem, trace):
    st = res.state
    one = lambda w, p: bethe_free_entropy(w, jnp.zeros((p.n,), w.dtype), p)  # noqa: E731
    fn = jax.vmap(one) if problem.batch_shape else one
    log_z, H = fn(st.w, problem)
    x = assignment(H)
    e = num_violated(x, problem)
    return BPResult(
        solved=e == 0, steps=res.steps, errors=e, weights=x, trace=res.trace if trace else None,
        converged=res.info.halted, max_diff=res.info.max_diff,
        entropy=log_z / problem.n, marginals=jnp.tanh(H), messages=st.w,
    )

