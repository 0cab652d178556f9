"""Benchmark: epochs per second of replicated SGD, physlearn (JAX) vs a plain NumPy implementation.

Workload: fully connected committee machine, K=5 hidden units, N=321 inputs (N*K = 1605
synapses), y=7 replicas, minibatch 80, formula "simple", 16 disorder samples, alpha = 0.3 and
alpha = 0.5. Both implementations do the same work per epoch: ceil(M/80) minibatch steps for all
replicas of all samples (data term + interaction kick, replicas updated in parallel, as in
physlearn) and the training errors of the centre and of every replica on all M patterns.

The NumPy baseline below (``numpy_epoch``) is written for this benchmark, vectorised over samples
and replicas with ``np.matmul`` (float32, the same dtype as physlearn's default); the stopping rule
is disabled on both sides (a fixed number of epochs). Compile time is excluded (one warm-up call,
then ``block_until_ready``).

Measurement caveat (measured 2026-11-22 on the shared 2-core CPU box, identical code): the NumPy
time per epoch is bimodal, ~90 ms or ~1150 ms at alpha=0.3, depending on load -- multithreaded
OpenBLAS oversubscribing the cores. ``run.py`` therefore sets ``OPENBLAS_NUM_THREADS=1`` (stable,
and the baseline's fast mode), so the ratios are not inflated by the slow mode.

Where physlearn's time goes (profile of the jitted epoch, 16 samples, alpha=0.5): it used to be
the ``jax.random.permutation`` shuffles (~37 ms per epoch: XLA's CPU sort of key--value pairs) and
float matmuls of +-1 arrays. Every forward pass is now bit-packed XOR + popcount
(:func:`physlearn.algorithms._network.packed_preactivations`, 6x faster than the float einsum,
exact); the epoch's permutations are sort-free (:func:`physlearn.algorithms.runner.permutations`,
swap-or-not rounds evaluated in the minibatch layout: ~1 ms of CPU time against ~4.5 ms for the
two one-key sorts it replaced); and the gradient of the selected units is a plain row-major GEMM
per replica (:func:`physlearn.algorithms._network.batch_grad`, ~2x the rate of the layout XLA
chose before). What remains is the float unpacking of each minibatch (the gradient's operand),
the gradient product, the least-wrong selection and the end-of-epoch report
(``docs/performance.md``).

Contract: ``run() -> list[dict]`` with keys workload, physlearn_s, baseline_s, ratio
(= baseline_s / physlearn_s), notes, and ``scaling() -> list[dict]`` (see ``run.py``); both time
through :func:`time_epoch`.
"""

from __future__ import annotations

import math

import numpy as np
import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parent))  # the shared helper, also when loaded by path
from _timing import timed  # noqa: E402

# ------------------------------------------------------------------------------------------------
# Plain NumPy RSGD (same equations as physlearn.algorithms.rsgd; leading axis = samples)
# ------------------------------------------------------------------------------------------------


def _sign(x):
    return np.where(x > 0, 1.0, -1.0).astype(x.dtype)


def _preacts(xb, W, tree):
    # xb (S, y, b, N) or (S, y, b, K, N); W (S, y, K, N) -> (S, y, b, K)
    if tree:
        return np.einsum("sybkn,sykn->sybk", xb, W)
    return np.matmul(xb, np.swapaxes(W, -1, -2))


def _least_wrong(h, sb):
    sig = sb[..., None]
    tau = _sign(h)
    wrong = sig * tau < 0
    nfix = np.maximum(0.0, (1.0 - sb * tau.sum(-1)) / 2.0)
    cost = np.where(wrong, (1.0 - sig * h) / 2.0, np.inf)
    order = np.argsort(cost, axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    return (rank < nfix[..., None]) & wrong


def numpy_epoch(H, Hc, X, sig, idx, *, lr, lam, gamma, formula="simple", tree=False):
    """One RSGD epoch. H (S, y, K, N), Hc (S, K, N), X (S, M, N) or (S, M, K, N), sig (S, M),
    idx (nb, S, y, b) pattern indices (-1 = padding). Returns the new (H, Hc)."""
    S, y = H.shape[:2]
    s_ix = np.arange(S)[:, None, None]
    for ids in idx:
        mask = ids >= 0
        ids = np.maximum(ids, 0)
        W = _sign(H)
        xb = X[s_ix, ids]  # (S, y, b, ...)
        sb = sig[s_ix, ids]
        sel = _least_wrong(_preacts(xb, W, tree), sb) & mask[..., None]
        coef = (sel * sb[..., None]).astype(H.dtype)  # (S, y, b, K)
        if tree:
            g = np.einsum("sybk,sybkn->sykn", coef, xb)
        else:
            g = np.matmul(np.swapaxes(coef, -1, -2), xb)
        H = H + lr * g
        Wn = _sign(H)
        if formula == "explicit":
            delta = (_sign(Hc)[:, None] - Wn) / 2.0
            H = H + lam * delta
            Hc = Hc - lam * delta.sum(1)
            continue
        wbar = W.mean(axis=1, keepdims=True)
        if formula == "continuous":
            H = H + lam * (wbar - Wn)
            continue
        with np.errstate(invalid="ignore"):
            arg = np.where(wbar == 0, 0.0, gamma * y * wbar)
        target = np.clip(arg, -1.0, 1.0) if formula == "hard" else np.tanh(arg)
        self_term = np.tanh(gamma * y) * Wn if formula == "corrected" else Wn
        H = (H + lam * (target - self_term)).astype(H.dtype)
    return H, Hc


def numpy_errors(H, X, sig, tree=False):
    """Training errors of the centre and the replicas, (S, y+1)."""
    W = _sign(H)
    C = _sign(W.sum(1))
    nets = np.concatenate([C[:, None], W], axis=1)  # (S, y+1, K, N)
    if tree:
        h = np.einsum("smkn,sakn->samk", X, nets)
    else:
        h = np.matmul(X[:, None], np.swapaxes(nets, -1, -2))
    out = _sign(_sign(h).sum(-1))
    return (out != sig[:, None]).sum(-1)


def numpy_rsgd(H, X, sig, epochs, rng, *, batch, lr, lam, gamma, gamma_step):
    S, y = H.shape[:2]
    M = sig.shape[1]
    nb = math.ceil(M / batch)
    Hc = np.zeros(H.shape[:1] + H.shape[2:], H.dtype)
    for _ in range(epochs):
        perms = rng.permuted(np.broadcast_to(np.arange(M), (S, y, M)), axis=-1)
        idx = np.concatenate([perms, -np.ones((S, y, nb * batch - M), int)], axis=-1)
        idx = idx.reshape(S, y, nb, batch).transpose(2, 0, 1, 3)
        H, Hc = numpy_epoch(H, Hc, X, sig, idx, lr=lr, lam=lam, gamma=gamma)
        numpy_errors(H, X, sig)
        gamma = gamma + gamma_step
    return H


# ------------------------------------------------------------------------------------------------
K, Y, BATCH = 5, 7, 80
LR, LAM, GAMMA, GAMMA_STEP = 2.0, 0.75, 0.05, 0.001


def time_epoch(n: int, alpha: float, samples: int, epochs: int, *, np_epochs: int | None = None,
               repeats: int = 5, np_repeats: int = 5) -> dict:
    """Seconds per RSGD epoch (all ``samples`` committee machines K=5, y=7, batch 80, formula
    "simple", stopping rule off): physlearn's driver over ``epochs`` epochs (after a compiling
    warm-up), and the NumPy baseline over ``np_epochs`` (default ``max(2, epochs // 4)``) epochs
    after a one-epoch warm-up; medians over ``repeats`` / ``np_repeats`` rounds (at least 5).
    Returns ``dict(m, physlearn_s, baseline_s, physlearn, baseline)`` (the last two
    ``_timing.Timing`` per epoch)."""
    import jax

    from physlearn.algorithms import problems, rsgd, schedules
    from physlearn.algorithms.runner import run as run_driver

    prob = problems.random_patterns(jax.random.key(1), n, alpha, k=K, architecture="committee", samples=samples)
    f32 = jax.numpy.float32
    algo = rsgd.RSGD(
        learning_rate=schedules.constant(LR).astype(f32), lam=schedules.constant(LAM).astype(f32),
        gamma=schedules.linear(GAMMA, GAMMA_STEP).astype(f32), replicas=Y, batch=BATCH, formula="simple",
        init_equal=True, dtype="float32",
    )

    def go():
        res = run_driver(algo, jax.random.key(1), prob, max_steps=epochs, stop="never")
        return jax.block_until_ready(res.state.H)

    t_jax = timed(go, rounds=repeats).scaled(1.0 / epochs)

    X = np.asarray(prob.inputs, np.float32)
    sig = np.asarray(prob.labels, np.float32)
    rng = np.random.default_rng(0)
    H0 = np.broadcast_to(rng.choice(np.float32([-1, 1]), size=(samples, 1, K, n)), (samples, Y, K, n)).copy()
    np_epochs = max(2, epochs // 4) if np_epochs is None else np_epochs
    kw = dict(batch=BATCH, lr=LR, lam=LAM, gamma=GAMMA, gamma_step=GAMMA_STEP)
    numpy_rsgd(H0, X, sig, 1, rng, **kw)  # warm-up
    t_np = timed(lambda: numpy_rsgd(H0, X, sig, np_epochs, rng, **kw), rounds=np_repeats,
                 warmup=False).scaled(1.0 / np_epochs)
    return dict(m=prob.m, physlearn_s=t_jax.median, baseline_s=t_np.median, physlearn=t_jax, baseline=t_np)


def work(m: int, n: int, samples: int, k: int = K, y: int = Y, batch: int = BATCH) -> dict:
    """The work of one RSGD epoch, counted from the algorithm (``ceilings.floor_seconds``).

    Per sample and replica, every pattern is visited once in the minibatch steps: the K
    pre-activations x . w_k (2 K N FLOPs) and the gradient of the selected units (at most
    2 K N FLOPs); the end-of-epoch report computes the training errors of the centre and of the
    y replicas on all M patterns (2 K N FLOPs per pattern and network): 2 M K N (3 y + 1) FLOPs
    per sample, the multiply-adds of (batched) matrix products, counted at the matrix-product
    rate. Per synapse and step, the update of the replica's field, its sign and the coupling
    term (~8 ops). Memory: each sample's int8 patterns (M N bytes) come from memory once per
    epoch (they fit in cache for the other passes); the fields (4 bytes per synapse per replica)
    stay in cache. The shuffles (a sort-free permutation of M per replica: O(M) element-wise
    rounds) are left out."""
    nb = -(-m // batch)
    return dict(
        dtype="float32",
        matmul_flops=2 * m * k * n * (3 * y + 1) * samples,
        flops=8 * nb * y * k * n * samples,
        bytes=m * n * samples,
    )


QUICK = dict(samples=2, epochs=2, alphas=(0.3,), n=41)
"""``run(**QUICK)``: the smallest sizes, for ``run.py --quick`` (a check that everything runs)."""


def run(samples: int = 16, epochs: int = 20, alphas=(0.3, 0.5), n: int = 321) -> list[dict]:
    import jax

    rows = []
    for alpha in alphas:
        r = time_epoch(n, alpha, samples, epochs)
        t_jax, t_np = r["physlearn_s"], r["baseline_s"]
        rows.append(
            dict(
                workload=f"RSGD epoch, committee K={K} N={n} (N*K={n * K}), alpha={alpha} (M={r['m']}), "
                f"y={Y}, batch {BATCH}, {samples} samples",
                **r["physlearn"].as_row("physlearn"),
                **r["baseline"].as_row("baseline"),
                ratio=t_np / t_jax,
                work=work(r["m"], n, samples),
                notes=(
                    f"seconds per epoch for all {samples} samples (physlearn {1 / t_jax:.1f} epochs/s, "
                    f"NumPy {1 / t_np:.1f} epochs/s); float32 both; NumPy baseline vectorised over "
                    f"samples and replicas (np.matmul); jax {jax.__version__}, CPU, compile excluded"
                ),
            )
        )
    return rows


def scaling(ns=(81, 161, 321, 641), samples=(4, 16, 64), alpha: float = 0.3, epochs: int = 5,
            n_samples: int = 321, samples_n: int = 16) -> list[dict]:
    """Seconds per epoch vs N (alpha and ``samples_n`` samples fixed: M grows with N, so the work
    per epoch grows as N^2) and vs the number of samples at N = ``n_samples``. Cheaper than
    ``run()``: ``epochs`` physlearn epochs, 2 NumPy epochs, medians of 5 rounds."""
    kw = dict(np_epochs=2, repeats=5, np_repeats=5)
    by_n = [time_epoch(n, alpha, samples_n, epochs, **kw) for n in ns]
    by_s = [time_epoch(n_samples, alpha, s, epochs, **kw) for s in samples]
    return [
        dict(workload=f"RSGD epoch, committee K={K}, alpha={alpha}, y={Y}, batch {BATCH}, {samples_n} samples",
             variable="N", values=list(ns), physlearn_s=[r["physlearn_s"] for r in by_n],
             baseline_s=[r["baseline_s"] for r in by_n],
             notes="M = round(alpha N K): the work per epoch grows as N^2; float32 both"),
        dict(workload=f"RSGD epoch, committee K={K} N={n_samples}, alpha={alpha}, y={Y}, batch {BATCH}",
             variable="samples", values=list(samples), physlearn_s=[r["physlearn_s"] for r in by_s],
             baseline_s=[r["baseline_s"] for r in by_s],
             notes="physlearn vmapped over samples, NumPy vectorised over them (np.matmul); float32 both"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
