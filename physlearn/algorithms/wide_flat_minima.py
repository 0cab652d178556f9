r"""The wide-flat-minima experiment of Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020): train
tree committee machines with continuous weights on random patterns by several algorithms, then
measure the minima each one finds -- the BP local volume around the solution as a function of the
distance (:func:`physlearn.algorithms.continuous_bp.local_volume`), the spectrum of the Hessian of
a smooth loss at the solution (:mod:`physlearn.algorithms.flatness`) -- and correlate them; and the
same on a reduced binarised real-data task, with the test error.

Algorithms (:data:`ALGORITHMS`), all on continuous weights:

* ``"fBP"``: continuous focusing BP, :func:`physlearn.algorithms.continuous_bp.solve`;
* ``"LAL"``: least action learning, :func:`physlearn.algorithms.committee.solve_lal`;
* ``"eLAL"``: its replicated version, :func:`physlearn.algorithms.committee.solve_elal`;
* ``"ceSGD-fast"``, ``"ceSGD-slow"``: cross-entropy SGD with the two polarisation schedules,
  :func:`physlearn.algorithms.committee.solve_cesgd`.

The Hessian is that of the ceSGD loss :func:`physlearn.algorithms.committee.ce_loss` at fixed
:math:`\beta,\gamma` (default 1, 1: the schedules' starting point) with every hidden unit on its
sphere; the loss depends on the directions of the :math:`W_k` only, so K of its eigenvalues are 0.
"""

from __future__ import annotations

import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import committee, continuous_bp, flatness
from .problems import Problem

__all__ = ["ALGORITHMS", "Trained", "train", "hessian_spectrum", "compare", "correlation", "markdown_table",
           "test_errors"]

ALGORITHMS = ("fBP", "LAL", "eLAL", "ceSGD-fast", "ceSGD-slow")


class Trained(eqx.Module):
    """One algorithm's runs on a batch of problems: ``solved (S,)``, ``errors (S,)`` (training
    errors of ``weights``), ``weights (S, K, n)`` (each unit rescaled to :math:`|W_k|^2=n`),
    ``steps (S,)`` (the algorithm's own unit) and ``seconds`` (wall time, compilation
    included)."""

    solved: np.ndarray
    errors: np.ndarray
    weights: np.ndarray
    steps: np.ndarray
    seconds: float = eqx.field(static=True)


def _sphere(w):
    w = np.asarray(w, dtype=np.float64)
    return w * (math.sqrt(w.shape[-1]) / np.linalg.norm(w, axis=-1, keepdims=True))


def train(key, problem: Problem, algorithms=ALGORITHMS, *, max_epochs: int = 1000, fbp_steps: int = 2000,
          progress: bool = False) -> dict[str, Trained]:
    """Run ``algorithms`` on ``problem`` (a batch with one sample axis) with continuous weights;
    every algorithm gets the same instances and ``key``. ``max_epochs`` bounds LAL/eLAL/ceSGD,
    ``fbp_steps`` the BP sweeps of fBP. Returns ``{name: Trained}``."""
    if problem.n_samples is None:
        raise ValueError("problem must be a batch with one sample axis (random_patterns(..., samples=S))")
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown:
        raise ValueError(f"algorithms must be among {ALGORITHMS}, got {unknown}")
    out = {}
    for name in algorithms:
        t = time.perf_counter()
        if name == "fBP":
            r = continuous_bp.solve(key, problem, max_steps=fbp_steps, progress=progress)
        elif name == "LAL":
            r = committee.solve_lal(key, problem, weights="continuous", max_epochs=max_epochs, progress=progress)
        elif name == "eLAL":
            r = committee.solve_elal(key, problem, weights="continuous", max_epochs=max_epochs, progress=progress)
        else:
            sched = "fast" if name.endswith("fast") else "slow"
            r = committee.solve_cesgd(key, problem, schedule=sched, weights="continuous", max_epochs=max_epochs,
                                      progress=progress)
        w = _sphere(jax.device_get(r.weights))
        out[name] = Trained(solved=np.asarray(r.errors) == 0, errors=np.asarray(r.errors), weights=w,
                            steps=np.asarray(r.steps), seconds=time.perf_counter() - t)
    return out


def _ce_loss(beta, gamma, tree):
    def loss(w, data):
        x, y = data
        return committee.ce_loss(w, x, y, beta=beta, gamma=gamma, tree=tree, normalize=True) / x.shape[0]

    return loss


def hessian_spectrum(key, problem: Problem, weights, *, beta=1.0, gamma=1.0, top: int = 1, density: bool = False,
                     probes: int = 4, iters: int = 64):
    r"""Top ``top`` Hessian eigenvalues (Lanczos) of the mean ceSGD loss at fixed ``beta``,
    ``gamma`` around every network of ``weights (S, K, n)`` (one per instance of ``problem``);
    with ``density=True`` also the stochastic-Lanczos spectral densities
    (:class:`~physlearn.algorithms.flatness.SpectralDensity`, one per instance). Returns
    ``(eigenvalues (S, top), densities or None)``."""
    S = problem.n_samples or 1
    loss = _ce_loss(beta, gamma, problem.tree)
    eig, dens = [], []
    for i, k in zip(range(S), jax.random.split(key, S)):
        p = problem.sample(i) if problem.n_samples else problem
        w = jnp.asarray(weights[i] if problem.n_samples else weights, jnp.float32)
        data = (p.inputs, p.labels)
        eig.append(np.asarray(flatness.hessian_eigenvalues(loss, w, data, top, k)))
        if density:
            dens.append(flatness.hessian_density(loss, w, data, jax.random.fold_in(k, 1), probes=probes, iters=iters))
    return np.stack(eig), (dens if density else None)


def test_errors(weights, test: Problem):
    """Test error (fraction of misclassified patterns of the single problem ``test``) of every
    network in ``weights (S, K, n)``."""
    from ._network import outputs_from_preacts, preactivations

    x = test.inputs.astype(jnp.float32)
    y = np.asarray(test.labels)
    out = []
    for w in np.asarray(weights):
        h = preactivations(jnp.asarray(w, jnp.float32), x, test.tree)
        out.append(float(np.mean(np.asarray(outputs_from_preacts(h)) != y)))
    return np.asarray(out)


def compare(key, problem: Problem, distances=(0.01, 0.03), algorithms=ALGORITHMS, *, max_epochs: int = 1000,
            fbp_steps: int = 2000, beta=1.0, gamma=1.0, density: bool = False, test: Problem | None = None,
            progress: bool = False):
    """Train every algorithm (:func:`train`), then for every *solved* instance the BP normalised
    local volume at ``distances`` and the top Hessian eigenvalue (and spectral density), and the
    test error on ``test`` if given. Returns ``{name: dict}`` with keys ``trained``, ``volume``
    ``(S, D)`` (NaN for unsolved instances or where BP did not converge), ``bp_converged``,
    ``top_eigenvalue (S,)``, ``densities`` (list or None), ``test_error (S,)`` or None."""
    k_train, k_bp, k_h = jax.random.split(key, 3)
    trained = train(k_train, problem, algorithms, max_epochs=max_epochs, fbp_steps=fbp_steps, progress=progress)
    d = np.asarray(distances, dtype=np.float64)
    out = {}
    for name, tr in trained.items():
        vol = continuous_bp.local_volume(k_bp, problem, tr.weights, d)
        v = np.asarray(vol.normalized, dtype=np.float64)
        conv = np.asarray(vol.converged)
        v = np.where(conv & tr.solved[:, None], v, np.nan)
        eig, dens = hessian_spectrum(k_h, problem, tr.weights, beta=beta, gamma=gamma, density=density)
        out[name] = dict(trained=tr, volume=v, bp_converged=conv, top_eigenvalue=np.where(tr.solved, eig[:, 0], np.nan),
                         densities=dens, test_error=None if test is None else test_errors(tr.weights, test))
    return out


def correlation(results, which: int = 0):
    """Pearson and Spearman correlation, over every solved instance of every algorithm, between
    the normalised local volume at distance index ``which`` and the top Hessian eigenvalue (wide
    flat minima: negative). Returns ``(pearson, spearman, number of points)``."""
    from scipy import stats

    v = np.concatenate([r["volume"][:, which] for r in results.values()])
    e = np.concatenate([r["top_eigenvalue"] for r in results.values()])
    ok = np.isfinite(v) & np.isfinite(e)
    if ok.sum() < 3:
        return float("nan"), float("nan"), int(ok.sum())
    return float(stats.pearsonr(v[ok], e[ok])[0]), float(stats.spearmanr(v[ok], e[ok])[0]), int(ok.sum())


def markdown_table(results, distances) -> str:
    """One row per algorithm: solved fraction, mean (standard error) normalised local volume at
    each distance over the solved instances, mean top Hessian eigenvalue, test error if any."""
    has_test = any(r["test_error"] is not None for r in results.values())
    head = ["algorithm", "solved"] + [f"volume d={d:g}" for d in distances] + ["top Hessian eigenvalue"]
    if has_test:
        head.append("test error")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ms(x):
        x = np.asarray(x, dtype=np.float64)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return "-"
        se = x.std(ddof=1) / math.sqrt(x.size) if x.size > 1 else float("nan")
        return f"{x.mean():.4f} ({se:.4f})"

    for name, r in results.items():
        tr = r["trained"]
        row = [name, f"{tr.solved.mean():.2f}"] + [ms(r["volume"][:, j]) for j in range(len(distances))]
        row.append(ms(r["top_eigenvalue"]))
        if has_test:
            te = r["test_error"]
            row.append("-" if te is None else ms(np.where(tr.solved, te, np.nan)))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
