"""Benchmark: attempted moves per second of replicated simulated annealing, physlearn (JAX) vs a
plain NumPy implementation of the same moves.

Workload: 64 independent chains (64 random perceptron instances), N=201, alpha=0.5 (M=100), y=3
replicas with the traced interaction, min-flip energy, uniform proposals, beta0=1, gamma0=1, both
multiplied by 1.01 every 2010 accepted moves; 20000 attempted moves per chain, no stopping rule
(the give-up rule and the stop at zero energy are off on both sides, so both do exactly the same
number of moves).

The NumPy baseline below (``numpy_anneal``) is written for this benchmark: every chain's dynamics
is sequential, and one NumPy statement processes the current move of all chains at once (fancy
indexing over the chain axis) -- the natural way to batch independent Markov chains in NumPy.
It keeps the same incremental bookkeeping as physlearn (integer stabilities, per-replica energies,
site sums), and given the same proposals and uniforms it follows the same trajectory
(``tests/test_annealing.py`` checks this). Compile time is excluded (one warm-up call, then
``block_until_ready``).

Contract: ``run() -> list[dict]`` with keys workload, physlearn_s, baseline_s, ratio
(= baseline_s / physlearn_s), notes, and ``scaling() -> list[dict]`` (see ``run.py``); both time
through :func:`time_moves`.
"""

from __future__ import annotations

import numpy as np
import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parent))  # the shared helper, also when loaded by path
from _timing import timed, timed_few  # noqa: E402

# ------------------------------------------------------------------------------------------------
# Plain NumPy replicated SA (perceptron, traced interaction, min-flip energy, uniform proposals)
# ------------------------------------------------------------------------------------------------


def _log2cosh_diff(g, p, q):
    ap, aq = np.abs(p).astype(g.dtype), np.abs(q).astype(g.dtype)
    with np.errstate(invalid="ignore"):
        lin = np.where(ap == aq, 0.0, g * (ap - aq))
        tp = np.where(ap == 0, 0.0, g * ap)
        tq = np.where(aq == 0, 0.0, g * aq)
    return lin + np.log1p(np.exp(-2.0 * tp)) - np.log1p(np.exp(-2.0 * tq))


def minflip(stab):
    """Perceptron min-flip energy per pattern from integer stabilities."""
    return np.where(stab < 0, (1 - stab) // 2, 0)


def numpy_anneal(W, XT, r, u, *, beta, gamma, beta_factor, gamma_factor, schedule_every, dtype=np.float32):
    """Replicated SA moves for C chains.

    ``W (C, y, N)`` +-1 start, ``XT (C, N, M)`` signed inputs sigma^mu xi^mu_i, ``r (T, C)`` flat
    spin indices ``a*N + i``, ``u (T, C)`` acceptance uniforms. Returns a dict with the final
    ``W``, ``stab``, ``energy``, ``wsum``, ``beta``, ``gamma``, ``accepted``.
    """
    C, y, N = W.shape
    W = W.astype(np.int32).copy()
    XT = XT.astype(np.int32)
    stab = np.einsum("cnm,can->cam", XT, W)
    energy = minflip(stab).sum(-1)
    wsum = W.sum(1)
    beta = np.full(C, beta, dtype)
    gamma = np.full(C, gamma, dtype)
    since = np.zeros(C, np.int64)
    accepted = np.zeros(C, np.int64)
    c = np.arange(C)
    for t in range(r.shape[0]):
        a, i = np.divmod(r[t], N)
        w = W[c, a, i]
        s_old = stab[c, a]
        s_new = s_old - 2 * w[:, None] * XT[c, i]
        e_new = minflip(s_new).sum(-1)
        dE = e_new - energy[c, a]
        S = wsum[c, i]
        L = _log2cosh_diff(gamma, S - 2 * w, S)
        dlog = np.where(dE == 0, 0.0, -beta * dE).astype(dtype) + L.astype(dtype)
        with np.errstate(divide="ignore"):
            acc = np.log(u[t].astype(dtype)) < dlog
        ca, aa, ia = c[acc], a[acc], i[acc]
        W[ca, aa, ia] = -w[acc]
        stab[ca, aa] = s_new[acc]
        energy[ca, aa] = e_new[acc]
        wsum[ca, ia] -= 2 * w[acc]
        accepted += acc
        since += acc
        upd = since >= schedule_every
        beta = np.where(upd, beta * dtype(beta_factor), beta).astype(dtype)
        gamma = np.where(upd, gamma * dtype(gamma_factor), gamma).astype(dtype)
        since[upd] = 0
    return dict(W=W, stab=stab, energy=energy, wsum=wsum, beta=beta, gamma=gamma, accepted=accepted)


def unit_uniform(bits):
    """The same uint32 -> [0, 1) map as physlearn.algorithms.annealing (float32 mantissa)."""
    return ((bits >> 9) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1.0)


# ------------------------------------------------------------------------------------------------
Y = 3


def make_algorithm(n: int, moves: int):
    """The benchmarked replicated SA (y=3, traced interaction, min-flip energy, uniform proposals,
    beta/gamma x1.01 every 10 N accepted moves, no stopping rule, ``moves`` moves per step)."""
    import jax.numpy as jnp

    from physlearn.algorithms import replicated_sa, schedules

    f = jnp.float32
    return replicated_sa.ReplicatedSA(
        beta=schedules.exponential(1.0, 1.01).astype(f), gamma=schedules.exponential(1.0, 1.01).astype(f),
        replicas=Y, interaction="traced", energy="minflip", proposal="uniform", schedule_every=10 * n,
        give_up=2**30, restarts=0, max_steps=2**30, moves_per_step=moves, init_equal=True, stop_at_solution=False,
        dtype="float32",
    )


def _time_xla_path(go, repeats: int, moves: int):
    """``go`` timed on the jax.numpy path (the native kernel off, as with ``PHYSLEARN_NATIVE=0``),
    or ``None`` where the kernel is not in use anyway."""
    import jax

    from physlearn import _native

    if not _native.enabled():
        return None
    enabled = _native.enabled
    _native.enabled = lambda: False
    try:
        jax.clear_caches()  # a fresh trace of the step
        return timed(go, rounds=repeats).scaled(1.0 / moves)
    finally:
        _native.enabled = enabled
        jax.clear_caches()


def time_moves(n: int, alpha: float, chains: int, moves: int, *, np_moves: int | None = None, repeats: int = 5,
               xla_path: bool = False) -> dict:
    """Seconds per attempted move of all ``chains`` chains (replicated SA, y=3, traced interaction,
    min-flip energy, uniform proposals, beta/gamma x1.01 every 10 N accepted moves, no stopping
    rule): physlearn's driver doing one block of ``moves`` moves (median of ``repeats`` rounds, at
    least 5, after a compiling warm-up) and the NumPy baseline doing ``np_moves`` (default
    ``max(500, moves // 10)``) moves, median of 3 rounds after a 50-move warm-up. Returns
    ``dict(m, physlearn_s, baseline_s, np_moves, physlearn, baseline, xla)`` (the last three
    ``_timing.Timing`` per move; ``xla``: with ``xla_path=True`` and the native kernel in use
    (:mod:`physlearn._native`), the same block on the jax.numpy path, else ``None``)."""
    import jax

    from physlearn.algorithms import problems
    from physlearn.algorithms.runner import run as run_driver

    prob = problems.random_patterns(jax.random.key(1), n, alpha, samples=chains)
    algo = make_algorithm(n, moves)

    def go():
        res = run_driver(algo, jax.random.key(1), prob, max_steps=1, stop="never")
        return jax.block_until_ready(res.state.W)

    t_jax = timed(go, rounds=repeats).scaled(1.0 / moves)
    t_xla = None
    if xla_path:
        t_xla = _time_xla_path(go, repeats, moves)

    rng = np.random.default_rng(0)
    XT = np.swapaxes(np.asarray(prob.inputs, np.int32) * np.asarray(prob.labels, np.int32)[:, :, None], 1, 2)
    W0 = np.broadcast_to(rng.choice([-1, 1], size=(chains, 1, n)), (chains, Y, n))
    np_moves = max(500, moves // 10) if np_moves is None else np_moves
    r = rng.integers(0, Y * n, size=(np_moves, chains))
    u = unit_uniform(rng.integers(0, 2**32, size=(np_moves, chains), dtype=np.uint32))
    kw = dict(beta=1.0, gamma=1.0, beta_factor=1.01, gamma_factor=1.01, schedule_every=10 * n)
    numpy_anneal(W0, XT, r[:50], u[:50], **kw)  # warm-up
    t_np = timed_few(lambda: numpy_anneal(W0, XT, r, u, **kw), rounds=3, warmup=False).scaled(1.0 / np_moves)
    return dict(m=prob.m, physlearn_s=t_jax.median, baseline_s=t_np.median, np_moves=np_moves, physlearn=t_jax,
                baseline=t_np, xla=t_xla)


def work(m: int, chains: int, y: int = Y) -> dict:
    """The work of one attempted move of all ``chains`` chains, counted from the algorithm
    (``ceilings.floor_seconds``).

    Per chain: two random numbers (the proposed spin, the acceptance uniform; ~20 integer ops
    each as a counter-based generator), the proposed replica's M stabilities updated by
    -2 w x_i (M multiply-adds), their min-flip energies and sum (3 M ops), the change of the
    interaction term from the site sum (2 log-cosh: 2 exp and 2 log, ~10 ops), the Metropolis
    test (1 log, ~5 ops) and, if accepted, the stabilities written back (M ops): 5 M + 55 ops,
    2 exp and 3 log per chain and move. The chains' state (y M int32 stabilities, the site sums)
    and the patterns (int8) stay in cache: no main-memory term. ``y`` enters only through the
    cached state."""
    del y
    return dict(dtype="float32", flops=(5 * m + 55) * chains, bytes=0,
                transcendentals=dict(exp=2 * chains, log=3 * chains))


QUICK = dict(chains=4, moves=1000, n=51)
"""``run(**QUICK)``: the smallest sizes, for ``run.py --quick`` (a check that everything runs)."""


def run(chains: int = 64, moves: int = 20_000, n: int = 201, alpha: float = 0.5) -> list[dict]:
    import jax

    from physlearn import _native

    r = time_moves(n, alpha, chains, moves, xla_path=True)
    t_jax, t_np = r["physlearn_s"], r["baseline_s"]
    path = (f"native CPU kernel (physlearn._native); the jax.numpy path (PHYSLEARN_NATIVE=0) "
            f"{r['xla'].median * 1e6:.2f} us per move ({r['xla'].min * 1e6:.2f}-{r['xla'].max * 1e6:.2f})"
            if r["xla"] is not None else f"jax.numpy path ({_native.status()})")
    return [
        dict(
            workload=f"replicated SA moves, perceptron N={n} alpha={alpha} (M={r['m']}), y={Y}, traced, "
            f"min-flip energy, {chains} chains",
            **r["physlearn"].as_row("physlearn"),
            **r["baseline"].as_row("baseline"),
            ratio=t_np / t_jax,
            work=work(r["m"], chains),
            notes=(
                f"seconds per attempted move of all {chains} chains (physlearn {chains / t_jax / 1e6:.2f} M "
                f"chain-moves/s, NumPy {chains / t_np / 1e6:.2f} M chain-moves/s); {path}; float32 both; NumPy "
                f"vectorised over chains, {r['np_moves']} moves timed; jax {jax.__version__}, CPU, compile excluded"
            ),
        )
    ]


def scaling(ns=(101, 201, 401), chains=(8, 64, 256), alpha: float = 0.5, moves: int = 4000, np_moves: int = 400,
            n_chains: int = 201, chains_n: int = 64) -> list[dict]:
    """Seconds per attempted move of all chains vs N (alpha and ``chains_n`` chains fixed; one move
    updates M = alpha N stabilities, so the work grows as N) and vs the number of chains at
    N = ``n_chains``. Cheaper than ``run()``: blocks of ``moves`` moves, medians of 5 rounds;
    ``np_moves`` NumPy moves."""
    kw = dict(np_moves=np_moves, repeats=5)
    by_n = [time_moves(n, alpha, chains_n, moves, **kw) for n in ns]
    by_c = [time_moves(n_chains, alpha, c, moves, **kw) for c in chains]
    return [
        dict(workload=f"replicated SA moves, perceptron alpha={alpha}, y={Y}, traced, min-flip, {chains_n} chains",
             variable="N", values=list(ns), physlearn_s=[r["physlearn_s"] for r in by_n],
             baseline_s=[r["baseline_s"] for r in by_n],
             notes="seconds per attempted move of all chains; M = round(alpha N); float32 both"),
        dict(workload=f"replicated SA moves, perceptron N={n_chains} alpha={alpha}, y={Y}, traced, min-flip",
             variable="chains", values=list(chains), physlearn_s=[r["physlearn_s"] for r in by_c],
             baseline_s=[r["baseline_s"] for r in by_c],
             notes="physlearn vmapped over chains, NumPy vectorised over them (fancy indexing); float32 both"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
