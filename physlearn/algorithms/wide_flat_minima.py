r"""The wide-flat-minima experiment of Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020): train
tree committee machines with continuous weights on random patterns by several algorithms, then
measure the minima each one finds -- the BP local volume around the solution as a function of the
distance (:func:`physlearn.algorithms.continuous_bp.local_volume`), the spectrum of the Hessian of
a smooth loss at the solution (:mod:`physlearn.deep.flatness`) -- and correlate them; and the
same on a binarised real-data task, with the test error.

Algorithms (:data:`ALGORITHMS`), all on continuous weights (``synapses="continuous"``):

* ``"fBP"``: continuous focusing BP, :func:`physlearn.algorithms.continuous_bp.solve`;
* ``"LAL"``: least action learning, :func:`physlearn.algorithms.lal.solve`;
* ``"eLAL"``: its replicated version, :func:`physlearn.algorithms.elal.solve`;
* ``"ceSGD-fast"``, ``"ceSGD-slow"``: cross-entropy SGD with the two polarisation schedules,
  :func:`physlearn.algorithms.cesgd.solve`.

The Hessian is that of the mean ceSGD loss :func:`physlearn.algorithms.cesgd.ce_loss` at fixed
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

from .. import _validation as V
from .. import datasets
from ..deep import flatness
from . import cesgd, continuous_bp, elal, lal
from .problems import Problem
from .problems import check as check_problem
from .results import errors_of

__all__ = ["ALGORITHMS", "IMPOSSIBLE_VOLUME", "DENSE_HESSIAN_UP_TO", "Trained", "train", "hessian_spectrum", "compare", "correlation", "ordering",
           "markdown_table", "error_rates", "two_class_task"]

#: the algorithms compared, in the order of the tables
ALGORITHMS = ("fBP", "LAL", "eLAL", "ceSGD-fast", "ceSGD-slow")

IMPOSSIBLE_VOLUME = 1e-6
"""A BP normalised local volume above this is discarded by :func:`compare` (the true value is
at most 0)."""

DENSE_HESSIAN_UP_TO = 2000
"""Networks with at most this many weights get their exact Hessian spectrum (``eigvalsh`` of the
dense Hessian); larger ones the top eigenvalue by Lanczos."""


class Trained(eqx.Module):
    """One algorithm's runs on a batch of problems: ``solved (S,)``, ``errors (S,)`` (training
    errors of ``weights``), ``weights (S, K, n)`` (each unit rescaled to :math:`|W_k|^2=n`),
    ``steps (S,)`` (the algorithm's own unit: epochs, or BP sweeps for fBP) and ``seconds`` (wall
    time, compilation included)."""

    solved: np.ndarray
    errors: np.ndarray
    weights: np.ndarray
    steps: np.ndarray
    seconds: float = eqx.field(static=True)


def _sphere(w):
    w = np.asarray(w, dtype=np.float64)
    return w * (math.sqrt(w.shape[-1]) / np.linalg.norm(w, axis=-1, keepdims=True))


def _batch(problem):
    problem = check_problem(problem)
    if problem.n_samples is None:
        raise ValueError("problem must be a batch with one sample axis (e.g. random_patterns(..., samples=S))")
    return problem


def _algorithms(algorithms):
    algorithms = tuple(algorithms)
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown or not algorithms:
        raise ValueError(f"algorithms must be a non-empty selection of {ALGORITHMS}, got {algorithms}")
    return algorithms


def train(key, problem: Problem, algorithms=ALGORITHMS, *, max_steps: int = 1000, fbp_max_steps: int = 2000,
          progress: bool | None = False) -> dict[str, Trained]:
    """Run ``algorithms`` (:data:`ALGORITHMS`) on ``problem`` (a batch with one sample axis) with
    continuous weights and each solve's defaults; every algorithm gets the same instances and
    ``key``. ``max_steps`` is the budget in epochs of LAL, eLAL and ceSGD, ``fbp_max_steps`` in BP
    sweeps of fBP. Returns ``{name: Trained}``; ``solved`` means zero training errors."""
    V.key(key)
    problem = _batch(problem)
    algorithms = _algorithms(algorithms)
    max_steps = V.integer("max_steps", max_steps)
    fbp_max_steps = V.integer("fbp_max_steps", fbp_max_steps)
    out = {}
    for name in algorithms:
        t = time.perf_counter()
        kw = dict(max_steps=max_steps, progress=progress)
        if name == "fBP":
            r = continuous_bp.solve(key, problem, max_steps=fbp_max_steps, progress=progress)
        elif name == "LAL":
            r = lal.solve(key, problem, synapses="continuous", **kw)
        elif name == "eLAL":
            r = elal.solve(key, problem, synapses="continuous", **kw)
        else:
            sched = "fast" if name.endswith("fast") else "slow"
            r = cesgd.solve(key, problem, schedule=sched, synapses="continuous", **kw)
        w = _sphere(jax.device_get(r.weights))
        errors = np.asarray(errors_of(jnp.asarray(w), problem))
        out[name] = Trained(solved=errors == 0, errors=errors, weights=w, steps=np.asarray(r.steps),
                            seconds=time.perf_counter() - t)
    return out


def _ce_loss(beta, gamma, tree):
    def loss(w, data):
        x, y = data
        return cesgd.ce_loss(w, x, y, beta=beta, gamma=gamma, tree=tree, normalize=True) / x.shape[0]

    return loss


def hessian_spectrum(key, problem: Problem, weights, *, beta=1.0, gamma=1.0):
    r"""Hessian of the mean ceSGD loss :func:`physlearn.algorithms.cesgd.ce_loss` at fixed
    ``beta``, ``gamma`` at every network of ``weights (S, K, n)`` (one per instance of the batched
    ``problem``; float32). Networks with at most :data:`DENSE_HESSIAN_UP_TO` weights: the exact
    spectrum (``eigvalsh`` of :func:`physlearn.deep.flatness.dense_hessian`); larger: the top
    eigenvalue by Lanczos (:func:`physlearn.deep.flatness.hessian_eigenvalues`, ``key``). Returns
    ``(top (S,), spectra (S, K n) or None)``."""
    V.key(key)
    problem = _batch(problem)
    S, K, n = problem.n_samples, problem.k, problem.n
    w = V.real_array("weights", weights, (S, K, n), nonzero_rows=True)
    beta = V.real("beta", beta, positive=True)
    gamma = V.real("gamma", gamma, positive=True)
    loss = _ce_loss(beta, gamma, problem.tree)
    dense = K * n <= DENSE_HESSIAN_UP_TO
    tops, spectra = [], []
    for i, k in enumerate(jax.random.split(key, S)):
        p = problem.sample(i)
        wi = jnp.asarray(_sphere(w[i]), jnp.float32)
        data = (p.inputs, p.labels)
        if dense:
            ev = np.linalg.eigvalsh(np.asarray(flatness.dense_hessian(loss, wi, data), dtype=np.float64))
            spectra.append(ev)
            tops.append(ev[-1])
        else:
            tops.append(float(flatness.hessian_eigenvalues(loss, wi, data, 1, k)[0]))
    return np.asarray(tops), (np.stack(spectra) if dense else None)


def error_rates(weights, test: Problem):
    """Fraction of the patterns of the single problem ``test`` that each network of ``weights
    (S, K, n)`` misclassifies (the test error)."""
    test = check_problem(test)
    if test.n_samples is not None:
        raise ValueError("test must be a single problem (no sample axis)")
    w = V.real_array("weights", weights, (np.shape(weights)[0], test.k, test.n), nonzero_rows=True)
    errs = jax.vmap(lambda wi: errors_of(wi, test))(jnp.asarray(w, jnp.float32))
    return np.asarray(errs) / test.m


def two_class_task(fashion_mnist=None, *, reps: int = 1, per_class: int = 250, k: int = 9, seed: int = 0):
    """The binarised real-data task of the experiment, for a fully connected committee of ``k``
    hidden units: Fashion-MNIST dress (3) vs coat (4) -- the first ``per_class`` training images of
    each class, the official test images of both, pixels binarised at 127
    (:func:`physlearn.datasets.mnist`) -- when ``fashion_mnist`` names a folder with the four IDX
    files; otherwise the 8x8 digits 3 vs 5 bundled with scikit-learn (binarised at 8, 30% held out
    with ``seed``; :func:`physlearn.datasets.digits`). Returns ``(train, test, description)``:
    ``train`` holds ``reps`` copies of the training set (a batch: each run of an algorithm starts
    from its own random network), ``test`` a single problem."""
    reps = V.integer("reps", reps)
    per_class = V.integer("per_class", per_class)
    if fashion_mnist:
        train_all, test = datasets.mnist(fashion_mnist, binarize=True, classes=(3, 4), architecture="committee", k=k)
        lab = np.asarray(train_all.labels)
        keep = np.concatenate([np.flatnonzero(lab == 1)[:per_class], np.flatnonzero(lab == -1)[:per_class]])
        x, y = np.asarray(train_all.inputs)[keep], lab[keep]
        what = f"Fashion-MNIST dress (3) vs coat (4), {per_class} + {per_class} training images, binarised at 127"
    else:
        train, test = datasets.digits(binarize=True, classes=(3, 5), test_fraction=0.3, seed=seed,
                                      architecture="committee", k=k)
        x, y = np.asarray(train.inputs), np.asarray(train.labels)
        what = "8x8 digits 3 vs 5 (scikit-learn), binarised at 8, 30% held out"
    batch = Problem(np.stack([x] * reps), np.stack([y] * reps), architecture="committee", k=k)
    return batch, test, what


def compare(key, problem: Problem, distances=(0.01, 0.03), algorithms=ALGORITHMS, *, max_steps: int = 1000,
            fbp_max_steps: int = 2000, beta=1.0, gamma=1.0, bp_damping=0.5, bp_max_steps: int = 2000,
            test: Problem | None = None,
            progress: bool | None = False):
    r"""Train every algorithm (:func:`train`), then for every instance the BP normalised local
    volume around the network it returned at each of ``distances``
    (:func:`~physlearn.algorithms.continuous_bp.local_volume` with damping ``bp_damping``: 0.5
    suits random patterns, real data need more, e.g. 0.9; at most ``bp_max_steps`` sweeps), the
    Hessian spectrum
    (:func:`hessian_spectrum`) and, with ``test``, the test error (:func:`error_rates`).
    Returns ``{name: dict}`` with keys ``trained`` (:class:`Trained`), ``volume (S, D)`` (NaN for
    unsolved instances, where BP did not converge and where it returned a normalised volume above
    :data:`IMPOSSIBLE_VOLUME`: a fraction of the ring cannot exceed 1; BP does so where its
    Gaussian messages are invalid, :math:`4dn \lesssim 1`), ``bp_converged (S, D)``, ``top_eigenvalue
    (S,)`` (NaN for unsolved instances), ``spectra`` (``(S, K n)`` or None) and ``test_error (S,)``
    or None."""
    k_train, k_bp, k_h = jax.random.split(V.key(key), 3)
    d = V.vector("distances", distances, above=0.0, below=0.5)
    trained = train(k_train, problem, algorithms, max_steps=max_steps, fbp_max_steps=fbp_max_steps,
                    progress=progress)
    out = {}
    for name, tr in trained.items():
        vol = continuous_bp.local_volume(k_bp, problem, tr.weights, d, damping=bp_damping,
                                         max_steps=bp_max_steps, progress=progress)
        conv = np.asarray(vol.converged).T
        norm = np.asarray(vol.normalized, dtype=np.float64).T
        v = np.where(conv & tr.solved[:, None] & (norm <= IMPOSSIBLE_VOLUME), norm, np.nan)
        top, spectra = hessian_spectrum(k_h, problem, tr.weights, beta=beta, gamma=gamma)
        out[name] = dict(trained=tr, volume=v, bp_converged=conv, top_eigenvalue=np.where(tr.solved, top, np.nan),
                         spectra=spectra, test_error=None if test is None else error_rates(tr.weights, test))
    return out


def correlation(results, which: int = 0):
    """Pearson and Spearman correlation, over every solved instance of every algorithm of
    :func:`compare`'s ``results``, between the normalised local volume at distance index ``which``
    and the top Hessian eigenvalue (wide flat minima: negative). Returns ``(pearson, spearman,
    number of points)`` (NaNs with fewer than 3 points)."""
    from scipy import stats

    v = np.concatenate([r["volume"][:, which] for r in results.values()])
    e = np.concatenate([r["top_eigenvalue"] for r in results.values()])
    ok = np.isfinite(v) & np.isfinite(e)
    if ok.sum() < 3:
        return float("nan"), float("nan"), int(ok.sum())
    return float(stats.pearsonr(v[ok], e[ok])[0]), float(stats.spearmanr(v[ok], e[ok])[0]), int(ok.sum())


def ordering(results, which: int = 0):
    """Algorithms of :func:`compare`'s ``results`` sorted by their mean normalised local volume at
    distance index ``which`` over solved instances, widest first (those without a solved instance
    last), and the talk's two claims checked on it: ``{"LAL narrowest": bool, "fBP, eLAL,
    ceSGD-slow widest": bool}`` (each ``None`` when an algorithm it names is missing or solved
    nothing)."""
    mean = {k: (np.nanmean(r["volume"][:, which]) if np.isfinite(r["volume"][:, which]).any() else np.nan)
            for k, r in results.items()}
    order = sorted(mean, key=lambda k: -mean[k] if np.isfinite(mean[k]) else np.inf)
    ok = [k for k in order if np.isfinite(mean[k])]
    wide = {"fBP", "eLAL", "ceSGD-slow"}
    claims = {
        "LAL narrowest": (ok[-1] == "LAL") if "LAL" in ok else None,
        "fBP, eLAL, ceSGD-slow widest": (set(ok[:3]) == wide) if wide <= set(ok) and len(ok) >= 3 else None,
    }
    return order, claims


def markdown_table(results, distances) -> str:
    """One row per algorithm: solved fraction, mean (standard error) normalised local volume at
    each distance over the solved instances with converged BP, mean (standard error) top Hessian
    eigenvalue, and the test error if measured."""
    has_test = any(r["test_error"] is not None for r in results.values())
    head = ["algorithm", "solved"] + [f"volume d={d:g}" for d in distances] + ["top Hessian eigenvalue"]
    if has_test:
        head.append("test error")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ms(x, digits=4):
        x = np.asarray(x, dtype=np.float64)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return "-"
        se = f"{x.std(ddof=1) / math.sqrt(x.size):.{digits}f}" if x.size > 1 else "-"
        return f"{x.mean():.{digits}f} ({se})"

    for name, r in results.items():
        tr = r["trained"]
        row = [name, f"{int(tr.solved.sum())}/{tr.solved.size}"] + [ms(r["volume"][:, j]) for j in range(len(distances))]
        row.append(ms(r["top_eigenvalue"], 3))
        if has_test:
            te = r["test_error"]
            row.append("-" if te is None else ms(np.where(tr.solved, te, np.nan), 3))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
