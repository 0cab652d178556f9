r"""BP-guided decimation (BPGD) on K-SAT.

References: Montanari, Ricci-Tersenghi, Semerjian, "Solving constraint satisfaction problems
through belief propagation-guided decimation", Allerton 2007 (arXiv:0709.1667); Baldassi et al.,
PNAS 113, E7655 (2016), appendix D.4 (the variant used here).

**Protocol.** Iterate zero-temperature BP (:mod:`physlearn.algorithms.ksat.bp`) until the largest
message change is below ``epsilon`` or ``sweeps_per_round`` sweeps were done (a *round*); then fix the
``ceil(fraction * N)`` free variables with the most polarised marginals :math:`|H_i|` to their
preferred value :math:`\mathrm{sign}(H_i)`, and start the next round on the reduced problem. A fixed
variable keeps an external field :math:`\pm10^4` (hard): its messages are exactly 0 or 1, so
clauses it satisfies drop out and clauses it violates shrink; a clause reduced to one free variable
sends it a hard field (unit propagation through BP), so that variable is among the next ones fixed.

**Stopping.** The run stops with a solution as soon as the current assignment (fixed variables at
their values, free ones at :math:`\mathrm{sign}(H_i)`) violates no clause -- usually long before
every variable is fixed -- and stops without one on a *contradiction*: a clause whose K variables
are all fixed to values that violate it (or every variable fixed and some clause violated).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ... import _validation as V
from ..results import AlgorithmResult
from ..runner import run
from .bp import assignment, setup, start, sweep
from .instances import KSAT, num_violated

__all__ = ["BPGD", "BPGDState", "BPGDInfo", "BPGDResult", "solve", "FIX_FIELD"]

FIX_FIELD = 1e4
"""The external field that holds a decimated variable at its value; it is hard, so that its
messages are exactly 0 or 1."""


class BPGDState(eqx.Module):
    """``w (M, K)`` messages; ``H (N,)`` total fields; ``fixed (N,)`` bool; ``value (N,)`` int8
    values of the fixed variables; ``in_round`` sweeps in the current round; ``rounds`` completed
    decimation rounds; ``contradiction`` bool."""

    w: jax.Array
    H: jax.Array
    fixed: jax.Array
    value: jax.Array
    in_round: jax.Array
    rounds: jax.Array
    contradiction: jax.Array


class BPGDInfo(eqx.Module):
    """Per sweep: ``errors``/``best_errors`` (violated clauses of the current assignment),
    ``max_diff``, ``n_fixed``, ``rounds``, ``halted`` (contradiction)."""

    errors: jax.Array
    best_errors: jax.Array
    max_diff: jax.Array
    n_fixed: jax.Array
    rounds: jax.Array
    halted: jax.Array


def _current(st_fixed, st_value, H):
    return jnp.where(st_fixed, st_value, assignment(H))


class BPGD(eqx.Module):
    """BPGD hyper-parameters (see :func:`solve`)."""

    damping: jax.Array
    epsilon: jax.Array
    randfact: jax.Array
    n_fix: int = eqx.field(static=True)
    sweeps_per_round: int = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: KSAT) -> BPGDState:
        w, H = start(key, problem, self.randfact, self.dtype)
        z = jnp.zeros((), jnp.int32)
        return BPGDState(w, H, jnp.zeros((problem.n,), bool), jnp.ones((problem.n,), jnp.int8), z, z,
                         jnp.zeros((), bool))

    def step(self, key, st: BPGDState, problem: KSAT):
        dt = st.w.dtype
        w, Hc, diff = sweep(st.w, st.H, problem, self.damping.astype(dt))
        f_old = jnp.where(st.fixed, st.value.astype(dt) * FIX_FIELD, 0.0)
        H = f_old + Hc
        in_round = st.in_round + 1
        decimate = (diff < self.epsilon.astype(dt)) | (in_round >= self.sweeps_per_round)
        # the n_fix free variables with the most polarised marginals
        score = jnp.where(st.fixed, -jnp.inf, jnp.abs(H))
        top, idx = jax.lax.top_k(score, self.n_fix)
        pick = jnp.zeros((problem.n,), bool).at[idx].set(jnp.isfinite(top)) & decimate
        fixed = st.fixed | pick
        value = jnp.where(pick, assignment(H), st.value)
        H = jnp.where(fixed, value.astype(dt) * FIX_FIELD, 0.0) + Hc
        # contradiction: a clause with every variable fixed against it
        fixed_false = jnp.take(fixed, problem.clauses, axis=0) & (jnp.take(value, problem.clauses, axis=0) != problem.signs)
        contradiction = st.contradiction | jnp.any(jnp.all(fixed_false, axis=-1))
        x = _current(fixed, value, H)
        e = num_violated(x, problem)
        contradiction = contradiction | (jnp.all(fixed) & (e > 0))
        st = BPGDState(w, H, fixed, value, jnp.where(decimate, 0, in_round), st.rounds + decimate.astype(jnp.int32),
                       contradiction)
        return st, BPGDInfo(e, e, diff, jnp.sum(fixed, dtype=jnp.int32), st.rounds, contradiction)


class BPGDResult(AlgorithmResult):
    """Result of :func:`solve` (leading axis S for a batch). Base fields: ``solved`` (``weights``
    violates no clause, counted on it), ``steps`` (BP sweeps done), ``errors``, ``weights (..., N)``
    int8 (fixed variables at their values, free ones at ``sign(H)``), ``trace``. Own fields:
    ``contradiction`` (the run stopped on one), ``n_fixed`` (decimated variables), ``rounds``
    (decimation rounds)."""

    contradiction: jax.Array
    n_fixed: jax.Array
    rounds: jax.Array


def solve(
    key,
    problem: KSAT,
    *,
    fraction=0.01,
    sweeps_per_round: int = 50,
    damping=0.5,
    epsilon=1e-3,
    max_steps: int = 10_000,
    stop: str = "any",
    randfact=0.5,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> BPGDResult:
    r"""Solve K-SAT by BP-guided decimation (module doc).

    **Arguments:** ``key`` (typed PRNG key; sample i of a batch uses ``fold_in(key, i)``),
    ``problem`` (:class:`~physlearn.algorithms.ksat.KSAT`, one or a batch), ``fraction`` (variables
    fixed per round, as a fraction of N, in (0, 1]; ``ceil(fraction N)`` of them),
    ``sweeps_per_round`` (BP sweeps per round at most), ``damping`` :math:`\lambda\in[0,1)`,
    ``epsilon`` (BP convergence threshold of a round), ``max_steps`` (budget in **BP sweeps**, all
    rounds together), ``stop`` (``"any"``, the default, or ``"centre"``: stop as soon as the current
    assignment is a solution -- BPGD holds one configuration, so the two agree; ``"never"``: go on
    decimating until a contradiction, every variable fixed or the budget), ``randfact`` (initial
    messages), ``dtype``, ``trace``, ``progress`` (None: a bar once the run lasts a few seconds),
    ``mesh`` (shard the samples axis).

    **Returns:** :class:`BPGDResult`; ``solved`` is verified by counting the violated clauses of
    the returned assignment.
    """
    key, problem, max_steps, fields = setup(key, problem, damping=damping, randfact=randfact, max_steps=max_steps,
                                            dtype=dtype, epsilon=epsilon)
    V.choice("stop", stop, V.STOPS)
    fraction = V.real("fraction", fraction, positive=True, at_most=1.0)
    algo = BPGD(**fields, n_fix=max(1, math.ceil(fraction * problem.n)),
                sweeps_per_round=V.integer("sweeps_per_round", sweeps_per_round))
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, trace=trace, progress=progress,
              description="BPGD (K-SAT)", mesh=mesh)
    return _result(res, problem, trace)


@eqx.filter_jit
def _result(res, problem, trace):
    st = res.state
    x = _current(st.fixed, st.value, st.H)
    e = num_violated(x, problem)
    return BPGDResult(
        solved=e == 0, steps=res.steps, errors=e, weights=x, trace=res.trace if trace else None,
        contradiction=st.contradiction, n_fixed=jnp.sum(st.fixed, axis=-1, dtype=jnp.int32), rounds=st.rounds,
    )
