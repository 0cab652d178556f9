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

**Stopping.** With ``readout="marginals"`` (the default) the run stops with a solution as soon as
the current assignment (fixed variables at their values, free ones at :math:`\mathrm{sign}(H_i)`)
violates no clause -- usually long before every variable is fixed: the clamped marginals of the
partly decimated problem finish the job. With ``readout="fixed"`` only the decimation counts: the
run stops with a solution when the fixed variables alone satisfy every clause (the reduced formula
is empty, so every completion is a solution; the free variables are returned at
:math:`\mathrm{sign}(H_i)`). Either way it stops without a solution on a *contradiction*: a clause
whose K variables are all fixed to values that violate it (or every variable fixed and some clause
violated).

**Choice of the variables** (``order``): ``"polarised"`` (the default, the protocol of PNAS 2016)
fixes the most polarised free variables to :math:`\mathrm{sign}(H_i)`; ``"random"`` fixes free
variables chosen uniformly at random to a value drawn from their BP marginal,
:math:`P(x_i=+1)=(1+\tanh H_i)/2` -- the randomized decimation analysed by Montanari,
Ricci-Tersenghi and Semerjian (2007) and Ricci-Tersenghi and Semerjian (J. Stat. Mech. 2009,
P09001). The *pure* decimation of that analysis is ``order="random", readout="fixed"`` with one
variable per round (``fraction=1/N``) and BP converged between rounds (a small ``epsilon`` and a
large ``sweeps_per_round``); ``order="polarised", readout="fixed"`` is the greedy (most polarised)
decimation without the marginals' help.
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

__all__ = ["BPGD", "BPGDState", "BPGDInfo", "BPGDResult", "solve", "FIX_FIELD", "ORDERS", "READOUTS"]

ORDERS = ("polarised", "random")
"""Values of ``order``: fix the most polarised free variables to ``sign(H)``, or random free
variables to a value drawn from their marginal."""
READOUTS = ("marginals", "fixed")
"""Values of ``readout``: a solution is the fixed variables plus ``sign(H)`` of the free ones, or
the fixed variables alone must satisfy every clause."""

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
    """Per sweep: ``errors``/``best_errors`` (``readout="marginals"``: violated clauses of the
    current assignment; ``readout="fixed"``: clauses that no fixed variable satisfies yet),
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
    order: str = eqx.field(static=True, default="polarised")
    readout: str = eqx.field(static=True, default="marginals")

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
        k_pick, k_value = jax.random.split(key)
        if self.order == "polarised":  # the n_fix free variables with the most polarised marginals
            score, chosen = jnp.abs(H), assignment(H)
        else:  # n_fix free variables at random, each drawn from its marginal
            score = jax.random.uniform(k_pick, (problem.n,), dt)
            p_plus = 0.5 * (1.0 + jnp.tanh(H))
            chosen = jnp.where(jax.random.uniform(k_value, (problem.n,), dt) < p_plus, 1, -1).astype(jnp.int8)
        top, idx = jax.lax.top_k(jnp.where(st.fixed, -jnp.inf, score), self.n_fix)
        pick = jnp.zeros((problem.n,), bool).at[idx].set(jnp.isfinite(top)) & decimate
        fixed = st.fixed | pick
        value = jnp.where(pick, chosen, st.value)
        H = jnp.where(fixed, value.astype(dt) * FIX_FIELD, 0.0) + Hc
        # contradiction: a clause with every variable fixed against it
        fixed_false = jnp.take(fixed, problem.clauses, axis=0) & (jnp.take(value, problem.clauses, axis=0) != problem.signs)
        contradiction = st.contradiction | jnp.any(jnp.all(fixed_false, axis=-1))
        x = _current(fixed, value, H)
        e = num_violated(x, problem)
        contradiction = contradiction | (jnp.all(fixed) & (e > 0))
        if self.readout == "fixed":  # clauses that no fixed variable satisfies yet
            fixed_true = jnp.take(fixed, problem.clauses, axis=0) & (jnp.take(value, problem.clauses, axis=0) == problem.signs)
            e = jnp.sum(~jnp.any(fixed_true, axis=-1), dtype=e.dtype)
        st = BPGDState(w, H, fixed, value, jnp.where(decimate, 0, in_round), st.rounds + decimate.astype(jnp.int32),
                       contradiction)
        return st, BPGDInfo(e, e, diff, jnp.sum(fixed, dtype=jnp.int32), st.rounds, contradiction)


class BPGDResult(AlgorithmResult):
    """Result of :func:`solve` (leading axis S for a batch). Base fields: ``solved`` (``weights``
    violates no clause, counted on it), ``steps`` (BP sweeps done), ``errors``, ``weights (..., N)``
    int8 (fixed variables at their values, free ones at ``sign(H)``), ``trace``. Own fields:
    ``contradiction`` (the run stopped on one), ``n_fixed`` (decimated variables), ``rounds``
    (decimation rounds), ``fixed (..., N)`` bool (which variables were decimated)."""

    contradiction: jax.Array
    n_fixed: jax.Array
    rounds: jax.Array
    fixed: jax.Array


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
    order: str = "polarised",
    readout: str = "marginals",
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
    decimating until a contradiction, every variable fixed or the budget), ``order``
    (``"polarised"``, the default: the most polarised free variables, to ``sign(H)``; ``"random"``:
    free variables at random, each drawn from its marginal), ``readout`` (``"marginals"``, the
    default: stop once the fixed variables plus ``sign(H)`` of the free ones satisfy every clause;
    ``"fixed"``: only once the fixed variables alone satisfy every clause -- pure decimation, module
    doc), ``randfact`` (initial messages), ``dtype``, ``trace``, ``progress`` (None: a bar once the run lasts a few seconds),
    ``mesh`` (shard the samples axis).

    **Returns:** :class:`BPGDResult`; ``solved`` is verified by counting the violated clauses of
    the returned assignment.
    """
    key, problem, max_steps, fields = setup(key, problem, damping=damping, randfact=randfact, max_steps=max_steps,
                                            dtype=dtype, epsilon=epsilon)
    V.choice("stop", stop, V.STOPS)
    fraction = V.real("fraction", fraction, positive=True, at_most=1.0)
    algo = BPGD(**fields, n_fix=max(1, math.ceil(fraction * problem.n)),
                sweeps_per_round=V.integer("sweeps_per_round", sweeps_per_round),
                order=V.choice("order", order, ORDERS), readout=V.choice("readout", readout, READOUTS))
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
        fixed=st.fixed,
    )
