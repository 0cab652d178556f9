"""Wide flat minima in continuous networks (Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)):
the algorithms/experiment side behind notebook 08, with raw numbers for
``docs/experiments/wide_flat_minima.md``.

Parts (``--parts``, comma separated):

* ``bp``: the weight enumerator against Monte Carlo around planted teachers, for growing n
  (perceptron alpha = 0.5 and tree committee K = 3, alpha = 0.3; d = 0.1): the gap BP - MC per
  weight and in the total log-volume;
* ``committee``: tree committee K = 9, alpha = 1, random patterns; fBP, LAL, eLAL, ceSGD-fast,
  ceSGD-slow: solved fraction, BP normalised local volume on a grid of distances around every
  solution, the exact Hessian spectrum of the ceSGD loss at beta = gamma = 1, the volume--Hessian
  correlation and the talk's ordering;
* ``real``: fully connected committee (K = 9) on a binarised two-class task: Fashion-MNIST dress
  (3) vs coat (4), 250 training images per class, when ``--fashion-mnist DIR`` (or
  ``PHYSLEARN_FASHION_MNIST``) names the IDX files, else the 8x8 digits 3 vs 5 bundled with
  scikit-learn (30% held out); LAL, eLAL, ceSGD-fast, ceSGD-slow (no fBP: correlated patterns),
  volume (BP damping 0.9: with 0.5 it does not converge on these correlated patterns), top
  Hessian eigenvalue and test error.

Writes ``<out>/wide_flat_minima_raw.json`` (every number; a part run later replaces its own entry
and keeps the others') and prints the markdown tables::

    python benchmarks/wide_flat_minima.py --out docs/experiments                 # ~15 min on 2 cores
    python benchmarks/wide_flat_minima.py --out /tmp/wfm --n 11 --samples 3      # ~1 min
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from physlearn.algorithms import continuous_bp as cbp  # noqa: E402
from physlearn.algorithms import problems  # noqa: E402
from physlearn.algorithms import wide_flat_minima as wfm  # noqa: E402


def bp_part(draws: int, instances: int):
    rows = []
    for K, ns, alpha in [(1, (9, 15, 29, 51), 0.5), (3, (5, 11, 21), 0.3)]:
        for n in ns:
            arch = "perceptron" if K == 1 else "tree"
            prob, teacher = cbp.planted(jax.random.key(5), n, alpha, K, arch, samples=instances)
            bp = cbp.local_volume(jax.random.key(1), prob, teacher, 0.1, progress=False)
            mc = cbp.monte_carlo_volume(jax.random.key(2), prob, teacher, 0.1, draws=draws, chunk=20_000)
            gap = np.asarray(bp.normalized) - mc.normalized
            rows.append(dict(K=K, n=n, alpha=alpha, d=0.1, instances=instances, draws=mc.draws,
                             bp_converged=bool(np.all(bp.converged)), min_hits=int(mc.hits.min()),
                             bp=np.asarray(bp.normalized).tolist(), mc=mc.normalized.tolist(),
                             mc_stderr=mc.stderr.tolist(), gap=float(gap.mean()),
                             gap_se=float(gap.std(ddof=1) / np.sqrt(gap.size)), gap_total=float(gap.mean() * n * K)))
            print(f"bp: K={K} n={n}: gap {rows[-1]['gap']:+.4f} +- {rows[-1]['gap_se']:.4f} per weight, "
                  f"{rows[-1]['gap_total']:+.3f} in all (min hits {rows[-1]['min_hits']})", flush=True)
    return rows


def _summary(res, distances):
    out = {}
    for name, r in res.items():
        tr = r["trained"]
        out[name] = dict(solved=tr.solved.tolist(), errors=tr.errors.tolist(), steps=tr.steps.tolist(),
                         seconds=tr.seconds, volume=np.where(np.isfinite(r["volume"]), r["volume"], None).tolist(),
                         bp_converged=r["bp_converged"].tolist(),
                         top_eigenvalue=[None if not np.isfinite(v) else float(v) for v in r["top_eigenvalue"]],
                         test_error=None if r["test_error"] is None else r["test_error"].tolist())
    corr = {f"{d:g}": dict(zip(("pearson", "spearman", "points"), wfm.correlation(res, which=j)))
            for j, d in enumerate(distances)}
    order = {f"{d:g}": dict(zip(("order", "claims"), wfm.ordering(res, which=j))) for j, d in enumerate(distances)}
    return out, corr, order


def committee_part(n, samples, distances, max_steps, fbp_max_steps, bp_max_steps, seed):
    prob = problems.random_patterns(jax.random.key(seed), n, 1.0, 9, "tree", samples=samples)
    t = time.perf_counter()
    res = wfm.compare(jax.random.key(seed + 1), prob, distances, max_steps=max_steps, fbp_max_steps=fbp_max_steps,
                      bp_max_steps=bp_max_steps)
    seconds = time.perf_counter() - t
    table = wfm.markdown_table(res, distances)
    print(table, flush=True)
    summary, corr, order = _summary(res, distances)
    spectra = {k: (None if r["spectra"] is None else np.asarray(r["spectra"])[r["trained"].solved].tolist())
               for k, r in res.items()}
    return dict(n=n, K=9, alpha=1.0, M=prob.m, samples=samples, distances=list(map(float, distances)),
                max_steps=max_steps, fbp_max_steps=fbp_max_steps, bp_max_steps=bp_max_steps, seed=seed, seconds=seconds, table=table,
                algorithms=summary, correlation=corr, ordering=order, spectra=spectra)


def real_part(path, reps, distances, max_steps, seed):
    batch, test, task = wfm.two_class_task(path, reps=reps, seed=seed)
    t = time.perf_counter()
    res = wfm.compare(jax.random.key(seed), batch, distances, algorithms=("LAL", "eLAL", "ceSGD-fast", "ceSGD-slow"),
                      max_steps=max_steps, bp_damping=0.9, test=test)
    seconds = time.perf_counter() - t
    table = wfm.markdown_table(res, distances)
    print(task, flush=True)
    print(table, flush=True)
    summary, corr, order = _summary(res, distances)
    return dict(task=task, n=batch.n, M=batch.m, test_patterns=test.m, reps=reps, distances=list(map(float, distances)),
                max_steps=max_steps, seconds=seconds, table=table, algorithms=summary, correlation=corr,
                ordering=order)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--parts", default="bp,committee,real")
    ap.add_argument("--n", type=int, default=21, help="inputs per hidden unit of the K = 9 tree committee")
    ap.add_argument("--samples", type=int, default=8, help="instances of the K = 9 experiment")
    ap.add_argument("--distances", default="0.03,0.05,0.08")
    ap.add_argument("--max-steps", type=int, default=1000, help="epochs of LAL, eLAL, ceSGD")
    ap.add_argument("--fbp-max-steps", type=int, default=1000, help="BP sweeps of fBP")
    ap.add_argument("--bp-max-steps", type=int, default=500, help="BP sweeps of the local-volume measurement")
    ap.add_argument("--draws", type=int, default=400_000, help="Monte Carlo draws per instance (part bp)")
    ap.add_argument("--fashion-mnist", default=os.environ.get("PHYSLEARN_FASHION_MNIST"))
    ap.add_argument("--real-reps", type=int, default=4)
    ap.add_argument("--real-distances", default="0.02,0.05")
    ap.add_argument("--seed", type=int, default=2020)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    rep = dict(machine=f"{platform.machine()} CPU ({os.cpu_count()} cores), jax {jax.__version__}",
               date=time.strftime("%Y-%m-%d"), command="python benchmarks/wide_flat_minima.py " +
               " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None))
    t0 = time.perf_counter()
    if "bp" in parts:
        rep["bp_vs_monte_carlo"] = bp_part(args.draws, 16)
    if "committee" in parts:
        d = np.array([float(x) for x in args.distances.split(",")])
        rep["committee_k9"] = committee_part(args.n, args.samples, d, args.max_steps, args.fbp_max_steps,
                                             args.bp_max_steps, args.seed)
    if "real" in parts:
        d = np.array([float(x) for x in args.real_distances.split(",")])
        rep["real_data"] = real_part(args.fashion_mnist, args.real_reps, d, args.max_steps, args.seed)
    rep["seconds"] = time.perf_counter() - t0
    raw = out / "wide_flat_minima_raw.json"
    old = json.loads(raw.read_text()) if raw.exists() else {}
    runs = old.pop("runs", [])
    runs.append({k: rep.pop(k) for k in ("machine", "date", "command", "seconds")})
    raw.write_text(json.dumps({**old, **rep, "runs": runs}, indent=1))
    print(f"done in {runs[-1]['seconds']:.0f} s -> {raw}")


if __name__ == "__main__":
    main()
