r"""WalkSAT (SKC variant) on K-SAT, batched over instances and independent runs.

Reference: B. Selman, H. Kautz, B. Cohen, "Noise strategies for improving local search", AAAI
1994 (the SKC rule); the classical local-search baseline of the random K-SAT literature.

**Move (one flip).** Pick a violated clause uniformly at random; for each of its K variables
compute the *break count* (clauses that the flip would violate: those where the variable holds the
only true literal). If some variable has break count 0 flip it (a "freebie"); otherwise with
probability ``noise`` flip a uniformly random variable of the clause, else one with the smallest
break count. Ties are broken at random.

**Data structures** (fixed shapes, one run): the assignment, the number of true literals of every
clause, the number of violated clauses in each block of ``b ~ sqrt(M)`` consecutive clauses, and a
padded variable-to-edge table ``(N, d_max)`` built once per instance by a sort of the flat edge
list. The uniform pick of a violated clause is two-level (a block by the cumulative block counts,
then a clause inside it), O(sqrt(M)); a flip updates the counts of its variable's clauses with two
scatter-adds. Everything is vectorised, with no data-dependent loop, so that runs and instances are
cheap ``vmap`` axes (a violated-clause list with swap-removal needs a sequential loop per flip,
which ``vmap`` turns into whole-array selects). A runner step is a block of ``flips_per_step``
flips (a fixed-length loop; a run that is solved or out of budget idles).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ... import _validation as V
from ..results import AlgorithmResult
from ..runner import run
from .instances import KSAT, check_problem, num_violated

__all__ = ["WalkSAT", "WalkSATState", "WalkSATInfo", "WalkSATResult", "solve", "edge_table"]


def edge_table(problem: KSAT, dmax: int):
    """Padded variable-to-edge table ``(N, dmax)`` int32 of one instance: row i lists the flat edge
    indices ``a * K + j`` of variable i (increasing), padded with ``M K``. ``dmax`` must be at least
    the largest variable degree."""
    flat = problem.clauses.reshape(-1)
    E = flat.shape[0]
    order = jnp.argsort(flat, stable=True).astype(jnp.int32)
    deg = jnp.zeros((problem.n,), jnp.int32).at[flat].add(1)
    start = jnp.cumsum(deg) - deg
    var = flat[order]
    pos = jnp.arange(E, dtype=jnp.int32) - start[var]
    return jnp.full((problem.n, dmax), E, jnp.int32).at[var, pos].set(order, mode="drop")


class WalkSATState(eqx.Module):
    """One run: ``x (N,)`` int8 assignment; ``ntrue (M_pad,)`` true literals per clause (padding
    clauses count 1); ``block_unsat (M_pad / b,)`` violated clauses per block; ``n_unsat``;
    ``flips`` done; ``best`` fewest violated clauses seen; ``table (N, d_max)`` the variable-to-edge
    table."""

    x: jax.Array
    ntrue: jax.Array
    block_unsat: jax.Array
    n_unsat: jax.Array
    flips: jax.Array
    best: jax.Array
    table: jax.Array


class WalkSATInfo(eqx.Module):
    """Per block: ``errors`` (violated clauses now), ``best_errors`` (fewest seen), ``flips``,
    ``halted`` (budget of flips used)."""

    errors: jax.Array
    best_errors: jax.Array
    flips: jax.Array
    halted: jax.Array


def _unit(bits):
    return jax.lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0


def _block_size(m: int) -> int:
    return max(8, int(math.ceil(math.sqrt(m))))


class WalkSAT(eqx.Module):
    """WalkSAT hyper-parameters (see :func:`solve`)."""

    noise: jax.Array
    dmax: int = eqx.field(static=True)
    max_flips: int = eqx.field(static=True)
    flips_per_step: int = eqx.field(static=True)

    def init(self, key, problem: KSAT) -> WalkSATState:
        bs = _block_size(problem.m)
        nb = -(-problem.m // bs)
        x = jnp.where(jax.random.bernoulli(key, 0.5, (problem.n,)), 1, -1).astype(jnp.int8)
        lit = jnp.take(x, problem.clauses, axis=0) == problem.signs
        ntrue = jnp.sum(lit, axis=-1, dtype=jnp.int32)
        ntrue = jnp.concatenate([ntrue, jnp.ones((nb * bs - problem.m,), jnp.int32)])
        block = jnp.sum((ntrue == 0).reshape(nb, bs), axis=-1, dtype=jnp.int32)
        n_unsat = jnp.sum(block, dtype=jnp.int32)
        return WalkSATState(x, ntrue, block, n_unsat, jnp.zeros((), jnp.int32), n_unsat,
                            edge_table(problem, self.dmax))

    def _pick(self, st: WalkSATState, r):
        """The (r+1)-th violated clause in index order, ``0 <= r < n_unsat``."""
        bs = st.ntrue.shape[0] // st.block_unsat.shape[0]
        cum = jnp.cumsum(st.block_unsat)
        blk = jnp.searchsorted(cum, r, side="right", method="compare_all")
        r_in = r - (cum[blk] - st.block_unsat[blk])
        inside = jnp.cumsum(jax.lax.dynamic_slice(st.ntrue, (blk * bs,), (bs,)) == 0)
        return blk * bs + jnp.searchsorted(inside, r_in, side="right", method="compare_all")

    def _flip(self, st: WalkSATState, bits, problem: KSAT):
        K, E = problem.k, problem.n_edges
        bs = st.ntrue.shape[0] // st.block_unsat.shape[0]
        active = (st.n_unsat > 0) & (st.flips < self.max_flips)
        signs = problem.signs.reshape(-1)
        # a violated clause uniformly at random, and the break count of each of its variables
        r = (bits[0] % jnp.maximum(st.n_unsat, 1).astype(jnp.uint32)).astype(jnp.int32)
        c = jnp.minimum(self._pick(st, r), problem.m - 1)
        vars_ = problem.clauses[c]
        edges = st.table[vars_]  # (K, dmax)
        valid = edges < E
        e = jnp.where(valid, edges, 0)
        lit_true = (st.x[vars_][:, None] == signs[e]) & valid
        brk = jnp.sum(lit_true & (st.ntrue[e // K] == 1), axis=-1, dtype=jnp.int32)
        nbits = 32 // K
        shift = jnp.arange(K, dtype=jnp.uint32) * jnp.uint32(nbits)
        tie = ((bits[2] >> shift) & jnp.uint32((1 << nbits) - 1)).astype(jnp.float32) / float(1 << nbits)
        greedy = jnp.argmin(brk.astype(jnp.float32) + tie)
        noisy = (jnp.min(brk) > 0) & (_unit(bits[1]) < self.noise)
        v = vars_[jnp.where(noisy, jnp.argmax(tie), greedy)]
        # apply the flip: true-literal counts of v's clauses and the violated counts of their blocks
        ev = st.table[v]
        ok = (ev < E) & active
        evs = jnp.where(ok, ev, 0)
        b = evs // K
        # In-place updates: XLA copies a loop-carried array on every flip when one of its reads may be
        # scheduled after its scatter, so every read feeds the scatter's values. x is read once (xv:
        # the new value, -x[v] when active; a literal of v was true iff it differs from xv).
        xv = jnp.where(active, -st.x[v], st.x[v])
        delta = jnp.where(ok, jnp.where(xv != signs[evs], -1, 1), 0).astype(jnp.int32)
        old = st.ntrue[b]
        d_unsat = jnp.where(ok, (old + delta == 0).astype(jnp.int32) - (old == 0).astype(jnp.int32), 0)
        n = st.n_unsat + jnp.sum(d_unsat, dtype=jnp.int32)
        delta = jnp.where(old < 0, 0, delta)  # old >= 0: a no-op that orders the read before the scatter
        return WalkSATState(
            x=st.x.at[v].set(xv),
            # a variable is in a clause once: unique indices (the padding goes out of bounds)
            ntrue=st.ntrue.at[jnp.where(ok, b, st.ntrue.shape[0])].add(delta, unique_indices=True, mode="drop"),
            block_unsat=st.block_unsat.at[b // bs].add(d_unsat),
            n_unsat=n, flips=st.flips + active.astype(jnp.int32), best=jnp.minimum(st.best, n), table=st.table,
        )

    def step(self, key, st: WalkSATState, problem: KSAT):
        bits = jax.random.bits(key, (self.flips_per_step, 3), jnp.uint32)
        st = jax.lax.fori_loop(0, self.flips_per_step, lambda t, s: self._flip(s, bits[t], problem), st)
        return st, WalkSATInfo(st.n_unsat, st.best, st.flips, st.flips >= self.max_flips)


class WalkSATResult(AlgorithmResult):
    """Result of :func:`solve` (axes ``(S?, R?)``: samples, runs). Base fields: ``solved``
    (``weights`` violates no clause, counted on it), ``steps`` (**flips** done), ``errors``
    (violated clauses of ``weights``), ``weights (..., N)`` int8 (the final assignment), ``trace``
    (per-block :class:`WalkSATInfo` or ``None``). Own field: ``best_errors`` (fewest violated
    clauses seen during the run)."""

    best_errors: jax.Array


def solve(
    key,
    problem: KSAT,
    *,
    noise=None,
    max_steps: int = 1_000_000,
    runs: int | None = None,
    flips_per_step: int = 1000,
    stop: str = "any",
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> WalkSATResult:
    r"""Solve K-SAT with WalkSAT (module doc), from a uniformly random assignment.

    **Arguments:** ``key`` (typed PRNG key; batch element b -- sample s, run r, b = s R + r -- uses
    ``fold_in(key, b)``), ``problem`` (:class:`~physlearn.algorithms.ksat.KSAT`, one or a batch),
    ``noise`` (probability of a random-walk flip, in [0, 1]; default 0.567 for K = 3 -- the optimum
    reported for random 3-SAT -- and 0.35 for K >= 4, our choice), ``max_steps`` (budget in
    **flips** per run), ``runs`` (``None`` or R independent runs per instance: a result axis after
    the sample axis), ``flips_per_step`` (flips per compiled block; tunes overhead only),
    ``stop`` (``"any"``, the default: the call returns once every run has found a solution or used
    its budget; ``"never"``: it runs the whole budget -- a run stops flipping at its first solution
    either way, so the results agree; WalkSAT holds no centre, so ``"centre"`` is refused),
    ``trace``, ``progress`` (None: a bar once the run lasts a few seconds), ``mesh`` (shard the
    samples x runs axis). WalkSAT has no floating-point state, hence no ``dtype``.

    **Returns:** :class:`WalkSATResult`.
    """
    V.key(key)
    problem = check_problem(problem)
    V.choice("stop", stop, ("any", "never"))
    if noise is None:
        noise = 0.567 if problem.k == 3 else 0.35
    noise = V.real("noise", noise, nonneg=True, at_most=1.0)
    max_flips = V.integer("max_steps", max_steps, maximum=2**31 - 2**20)
    fps = V.integer("flips_per_step", flips_per_step)
    runs = V.integer("runs", runs, allow_none=True)
    if problem.k > 16:
        raise ValueError(f"WalkSAT supports clause widths K <= 16, got K = {problem.k}")
    deg = np.asarray(jax.vmap(lambda c: jnp.zeros((problem.n,), jnp.int32).at[c.reshape(-1)].add(1))(
        problem.clauses.reshape((-1,) + problem.clauses.shape[-2:])))
    algo = WalkSAT(noise=jnp.asarray(noise, jnp.float32), dmax=max(1, int(deg.max())), max_flips=max_flips,
                   flips_per_step=fps)
    prob, n_samples = problem, problem.n_samples
    if runs is not None:
        if n_samples is None:
            prob = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (runs,) + x.shape), prob)
        else:
            prob = jax.tree_util.tree_map(lambda x: jnp.repeat(x, runs, axis=0), prob)
    res = run(algo, key, prob, max_steps=math.ceil(max_flips / fps), stop=stop, trace=trace, progress=progress,
              description="WalkSAT", mesh=mesh)
    out = _result(res, prob, trace)
    if runs is not None and n_samples is not None:
        out = jax.tree_util.tree_map(lambda x: x.reshape((n_samples, runs) + x.shape[1:]), out)
    return out


@eqx.filter_jit
def _result(res, problem, trace):
    st = res.state
    e = num_violated(st.x, problem)
    return WalkSATResult(solved=e == 0, steps=st.flips, errors=e, weights=st.x,
                         trace=res.trace if trace else None, best_errors=st.best)
