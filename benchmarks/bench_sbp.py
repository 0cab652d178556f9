"""Benchmark: epochs per second of stochastic-binary-perceptron descent (erfc likelihood, PRL 120,
268103 (2018)), physlearn (JAX) vs a plain NumPy/SciPy implementation.

Workload: random perceptrons N=1001, alpha=0.6 (M=601), minibatch 100, Adam (lr 0.05), beta=1,
no entropy bonus, a batch of disorder samples. One epoch = ceil(M/100) minibatch steps (forward
pass, gradient of the negative log-likelihood, Adam update) plus the end-of-epoch report (training
errors of sign(h) and the full-batch negative log-likelihood), as ``physlearn.algorithms.sbp``
does. Stopping rule off on both sides (a fixed number of epochs).

``numpy_epoch`` below is written for this benchmark: the gradient by hand (NumPy has no autodiff),
log H through ``scipy.special.log_ndtr``, vectorised over samples with ``np.matmul`` (float32,
physlearn's default dtype). Its gradient is checked against ``jax.grad`` of
``physlearn.algorithms.sbp.loss`` (reported in the notes). Compile time excluded.

Contract: ``run() -> list[dict]`` (workload, physlearn_s, baseline_s, ratio, notes) and
``scaling() -> list[dict]`` (see ``run.py``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sp
import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parent))  # the shared helper, also when loaded by path
from _timing import timed  # noqa: E402

LR, B1, B2, EPS = 0.05, 0.9, 0.999, 1e-8
VAR_FLOOR = 1e-6


# ------------------------------------------------------------------------------------------------
# Plain NumPy SBP descent (perceptron), leading axis = samples
# ------------------------------------------------------------------------------------------------
def numpy_grad(h, xb, sb, mask, beta=1.0):
    """Gradient of -mean_mu log H(-sigma mu/sqrt v) w.r.t. the fields h (S, N) on a minibatch
    ``xb (S, b, N)``, ``sb (S, b)``, ``mask (S, b)``; returns (grad, nll)."""
    m = np.tanh(beta * h)
    mu = np.matmul(xb, m[..., None])[..., 0]  # (S, b)
    v = np.maximum(np.sum(1.0 - m * m, axis=-1), VAR_FLOOR)  # (S,), xi^2 = 1
    sv = np.sqrt(v)
    z = sb * mu / sv[:, None]
    log_p = sp.log_ndtr(z)
    r = np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - log_p)  # d log Phi(z) / dz
    w = mask / mask.sum(-1, keepdims=True)
    a = (w * r * sb).astype(h.dtype)  # (S, b)
    # dz/dm_i = sigma x_i / sqrt(v) + sigma mu m_i / v^(3/2)
    gm = np.matmul(a[:, None, :], xb)[:, 0, :] / sv[:, None] + (a * mu).sum(-1)[:, None] * m / (v * sv)[:, None]
    g = -gm * beta * (1.0 - m * m)
    return g.astype(h.dtype), -np.sum(w * log_p, axis=-1)


def numpy_epoch(h, m1, m2, t, X, sig, idx):
    S = h.shape[0]
    s_ix = np.arange(S)[:, None]
    for ids in idx:  # (S, b)
        mask = (ids >= 0).astype(h.dtype)
        ids = np.maximum(ids, 0)
        g, _ = numpy_grad(h, X[s_ix, ids], sig[s_ix, ids], mask)
        t += 1
        m1 = B1 * m1 + (1 - B1) * g
        m2 = B2 * m2 + (1 - B2) * g * g
        h = h - LR * (m1 / (1 - B1**t)) / (np.sqrt(m2 / (1 - B2**t)) + EPS)
    # report: errors of sign(h) and the full-batch nll
    w = np.where(h > 0, 1.0, -1.0).astype(h.dtype)
    out = np.where(np.matmul(X, w[..., None])[..., 0] > 0, 1.0, -1.0)
    errors = (out != sig).sum(-1)
    _, nll = numpy_grad(h, X, sig, np.ones_like(sig))
    return h, m1, m2, t, errors, nll


def numpy_sbp(h, X, sig, epochs, rng, batch):
    S, M = sig.shape
    nb = math.ceil(M / batch)
    m1, m2, t = np.zeros_like(h), np.zeros_like(h), 0
    for _ in range(epochs):
        perms = rng.permuted(np.broadcast_to(np.arange(M), (S, M)), axis=-1)
        idx = np.concatenate([perms, -np.ones((S, nb * batch - M), int)], axis=-1)
        idx = idx.reshape(S, nb, batch).transpose(1, 0, 2)
        h, m1, m2, t, _, _ = numpy_epoch(h, m1, m2, t, X, sig, idx)
    return h


# ------------------------------------------------------------------------------------------------
def make_algorithm(batch: int = 100):
    """The benchmarked SBP (Adam lr 0.05, beta 1, temperature 0, minibatches of ``batch``)."""
    import jax.numpy as jnp
    import optax

    from physlearn.algorithms import sbp, schedules

    f32 = jnp.float32
    return sbp.SBP(
        learning_rate=schedules.constant(LR).astype(f32), beta=schedules.constant(1.0).astype(f32),
        temperature=schedules.constant(0.0).astype(f32), init_scale=f32(0.1), var_floor=f32(VAR_FLOOR),
        optimizer=optax.adam(LR), batch=batch, dtype="float32",
    )


def time_epoch(n, alpha, samples, epochs, batch=100, *, np_epochs=None, repeats=5, np_repeats=5):
    """Seconds per SBP epoch of all ``samples`` perceptrons (Adam lr 0.05, beta 1, stopping rule
    off): physlearn's driver over ``epochs`` epochs (median of ``repeats`` rounds after a compiling
    warm-up) and the NumPy baseline over ``np_epochs`` (default ``max(2, epochs // 4)``) epochs
    after a warm-up; medians over ``repeats`` / ``np_repeats`` rounds (at least 5). Returns
    ``(problem, physlearn, baseline)``, two ``_timing.Timing`` per epoch."""
    import jax

    from physlearn.algorithms import problems
    from physlearn.algorithms.runner import run as run_driver

    prob = problems.random_patterns(jax.random.key(1), n, alpha, samples=samples)
    algo = make_algorithm(batch)

    def go():
        res = run_driver(algo, jax.random.key(1), prob, max_steps=epochs, stop="never")
        return jax.block_until_ready(res.state.h)

    t_jax = timed(go, rounds=repeats).scaled(1.0 / epochs)
    X = np.asarray(prob.inputs, np.float32)
    sig = np.asarray(prob.labels, np.float32)
    if X.ndim == 2:
        X, sig = X[None], sig[None]
    rng = np.random.default_rng(0)
    h0 = (0.1 * rng.standard_normal((X.shape[0], n))).astype(np.float32)
    np_epochs = max(2, epochs // 4) if np_epochs is None else np_epochs
    t_np = timed(lambda: numpy_sbp(h0, X, sig, np_epochs, rng, batch), rounds=np_repeats).scaled(1.0 / np_epochs)
    return prob, t_jax, t_np


def _grad_check(prob):
    import jax
    import jax.numpy as jnp

    from physlearn.algorithms import sbp

    rng = np.random.default_rng(3)
    b = min(100, prob.m)
    x = np.asarray(prob.inputs[0, :b], np.float64)
    s = np.asarray(prob.labels[0, :b], np.float64)
    h = 0.3 * rng.standard_normal(x.shape[-1])
    with jax.enable_x64(True):
        gj = jax.grad(lambda hh: sbp.loss(hh[None], jnp.asarray(x), jnp.asarray(s)))(jnp.asarray(h))
    gn, _ = numpy_grad(h[None], x[None], s[None], np.ones((1, b)))
    return float(np.max(np.abs(np.asarray(gj) - gn[0])))


def work(m: int, n: int, samples: int, batch: int = 100) -> dict:
    """The work of one SBP epoch, counted from the algorithm (``ceilings.floor_seconds``).

    Per sample, with nb = ceil(M / batch) minibatch steps: every pattern is visited once by the
    forward pass mu = x . tanh(beta h) and once by the gradient a^T x (2 N FLOPs each, the
    multiply-adds of matrix-vector products: counted at the FMA peak the matrix product reaches,
    a lower bound), and the end-of-epoch report visits every pattern twice more (training errors
    of sign(h), full-batch likelihood): 8 M N FLOPs. Per pattern, G/H of its stability in the
    step (the gradient; counted as one erfc) and log H in the report (erfc + log). Per weight and
    step: tanh of the field (nb N tanh), the variance sum and
    the chain rule (~10 ops) and Adam (~12 ops, 1 rsqrt). Memory: the int8 patterns are read
    from memory twice per epoch (the steps and the report), M N bytes each; the weights' state
    (h, two moments: 12 N bytes) stays in cache."""
    nb = -(-m // batch)
    return dict(
        dtype="float32",
        matmul_flops=8 * m * n * samples,
        flops=(22 * nb * n + 10 * m) * samples,
        bytes=2 * m * n * samples,
        transcendentals=dict(tanh=(nb + 1) * n * samples, rsqrt=nb * n * samples, erfc=2 * m * samples,
                             log=m * samples),
    )


QUICK = dict(samples=2, epochs=4, n=101)
"""``run(**QUICK)``: the smallest sizes, for ``run.py --quick`` (a check that everything runs)."""


def run(samples: int = 16, epochs: int = 40, n: int = 1001, alpha: float = 0.6) -> list[dict]:
    import jax

    prob, t_jax, t_np = time_epoch(n, alpha, samples, epochs)
    err = _grad_check(prob)
    return [
        dict(
            workload=f"SBP epoch (erfc likelihood, Adam), perceptron N={n}, alpha={alpha} (M={prob.m}), "
            f"batch 100, {samples} samples",
            **t_jax.as_row("physlearn"),
            **t_np.as_row("baseline"),
            ratio=t_np.median / t_jax.median,
            work=work(prob.m, n, samples),
            notes=(
                f"seconds per epoch for all {samples} samples (physlearn {1 / t_jax.median:.0f} epochs/s, NumPy "
                f"{1 / t_np.median:.0f} epochs/s); float32 both; NumPy gradient by hand, vectorised over samples; "
                f"max |grad_numpy - jax.grad| = {err:.1e} (float64); jax {jax.__version__}, compile excluded"
            ),
        )
    ]


def scaling(ns=(251, 501, 1001, 2001), samples=(4, 16, 64), alpha: float = 0.6, epochs: int = 8,
            n_samples: int = 1001, samples_n: int = 16) -> list[dict]:
    """Seconds per epoch vs N (alpha and ``samples_n`` samples fixed: M grows with N, so the work
    per epoch grows as N^2) and vs the number of samples at N = ``n_samples``. Cheaper than
    ``run()``: ``epochs`` physlearn epochs, 2 NumPy epochs, medians of 5 rounds."""
    kw = dict(np_epochs=2, repeats=5, np_repeats=5)
    pts = [[t.median for t in time_epoch(n, alpha, samples_n, epochs, **kw)[1:]] for n in ns]
    out = [dict(workload=f"SBP epoch, perceptron alpha={alpha}, batch 100, {samples_n} samples", variable="N",
                values=list(ns), physlearn_s=[p[0] for p in pts], baseline_s=[p[1] for p in pts],
                notes="M = round(alpha N): the work per epoch grows as N^2; float32 both")]
    pts = [[t.median for t in time_epoch(n_samples, alpha, s, epochs, **kw)[1:]] for s in samples]
    out.append(dict(workload=f"SBP epoch, perceptron N={n_samples} alpha={alpha}, batch 100", variable="samples",
                    values=list(samples), physlearn_s=[p[0] for p in pts], baseline_s=[p[1] for p in pts],
                    notes="physlearn vmapped over samples, NumPy vectorised over them (np.matmul); float32 both"))
    return out


if __name__ == "__main__":
    for row in run():
        print(row)
