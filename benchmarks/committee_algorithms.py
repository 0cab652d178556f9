"""Solved fraction vs alpha for the committee-machine rules of Baldassi, Pittorino & Zecchina,
PNAS 117, 161 (2020): ceSGD fast / slow, LAL, eLAL, with replicated SGD (PNAS 2016) as reference.

Random +-1 patterns and labels, tree committee machines with binary weights (K hidden units, n
inputs each, N = n*K synapses, alpha = M/N). For each alpha the same ``--samples`` instances are
given to every algorithm, each with the same epoch budget; an instance counts as solved when the
algorithm's read-out network (centre or a replica for eLAL / RSGD) has zero training errors.

* ceSGD-fast / ceSGD-slow: ``cesgd.solve`` with the ``"fast"`` / ``"slow"`` schedules
  (beta, gamma x1.02 / x1.002 per epoch; one run with a hyper-parameter batch of the two);
* LAL: ``lal.solve`` (online, eta = 2);
* eLAL: ``elal.solve`` (y = 5 replicas, lambda = 0.1, gamma = 0.05 + 0.001/epoch);
* RSGD: ``rsgd.solve`` with its defaults (y = 7, batch 80, formula "simple").

Output in ``--out``: ``committee_algorithms.md`` (table) and ``committee_algorithms.png``.

    python benchmarks/committee_algorithms.py --out benchmarks/out --quick   # <= 2 min, 2 cores
    python benchmarks/committee_algorithms.py --out docs/experiments          # larger run
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from physlearn.algorithms import cesgd, elal, lal, problems, rsgd, schedules

ALGOS = ("ceSGD-fast", "ceSGD-slow", "LAL", "eLAL", "RSGD")


def run_alpha(n, k, alpha, samples, max_epochs, seed, progress):
    prob = problems.random_patterns(
        jax.random.fold_in(jax.random.key(seed), int(round(alpha * 1000))), n, alpha, k=k,
        architecture="tree", samples=samples,
    )
    key = jax.random.key(seed + 1)
    out = {}

    def record(name, res, seconds, axis=None):
        solved = np.asarray(res.solved)
        errs = np.asarray(res.errors) / prob.m
        steps = np.asarray(res.steps)
        if axis is not None:
            solved, errs, steps = solved[axis], errs[axis], steps[axis]
        out[name] = dict(
            p_solved=float(solved.mean()), err=float(errs.mean()),
            epochs=float(np.median(steps[solved])) if solved.any() else float("nan"), seconds=seconds,
        )

    t = time.perf_counter()
    fast_slow = schedules.exponential(1.0, [cesgd.SCHEDULES["fast"]["beta"].factor, cesgd.SCHEDULES["slow"]["beta"].factor])
    res = cesgd.solve(key, prob, beta=fast_slow, gamma=fast_slow, max_steps=max_epochs, progress=progress)
    dt = time.perf_counter() - t
    record("ceSGD-fast", res, dt / 2, axis=0)
    record("ceSGD-slow", res, dt / 2, axis=1)
    for name, fn in (
        ("LAL", lambda: lal.solve(key, prob, max_steps=max_epochs, progress=progress)),
        ("eLAL", lambda: elal.solve(key, prob, replicas=5, max_steps=max_epochs, progress=progress)),
        ("RSGD", lambda: rsgd.solve(key, prob, max_steps=max_epochs, progress=progress)),
    ):
        t = time.perf_counter()
        res = fn()
        record(name, res, time.perf_counter() - t)
    for name in ALGOS:
        r = out[name]
        print(f"alpha={alpha:.2f} M={prob.m:4d} {name:11s} P(solved)={r['p_solved']:.2f} "
              f"err={r['err']:.4f} median epochs={r['epochs']:.0f} [{r['seconds']:.1f}s]", flush=True)
    return prob.m, out


def write_outputs(rows, out, meta, n, k):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    lines = [
        "# Committee-machine algorithms: solved fraction vs alpha", "", meta, "",
        "P(solved) (mean final training-error fraction; median epochs of the solved runs):", "",
        "| alpha | M | " + " | ".join(ALGOS) + " |",
        "|---|---|" + "---|" * len(ALGOS),
    ]
    for alpha, m, res in rows:
        cells = []
        for name in ALGOS:
            r = res[name]
            ep = "-" if np.isnan(r["epochs"]) else f"{r['epochs']:.0f}"
            cells.append(f"{r['p_solved']:.2f} ({r['err']:.3f}; {ep})")
        lines.append(f"| {alpha:.2f} | {m} | " + " | ".join(cells) + " |")
    with open(os.path.join(out, "committee_algorithms.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    alphas = [a for a, _, _ in rows]
    for name, style in zip(ALGOS, ("v--", "^-", "s--", "o-", "d:")):
        axes[0].plot(alphas, [res[name]["p_solved"] for _, _, res in rows], style, label=name)
        axes[1].plot(alphas, [res[name]["err"] for _, _, res in rows], style, label=name)
    axes[0].set_ylabel("fraction of instances solved")
    axes[1].set_ylabel("final training-error fraction (mean)")
    for ax in axes:
        ax.set_xlabel(r"$\alpha = M/N$")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Tree committee, binary weights, K={k}, n={n} per unit (N={n * k})")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "committee_algorithms.png"), dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/out/")
    ap.add_argument("--quick", action="store_true", help="small run (<= 2 min on 2 cores)")
    ap.add_argument("--n", type=int, default=None, help="inputs per hidden unit (odd)")
    ap.add_argument("--k", type=int, default=3, help="hidden units (odd)")
    ap.add_argument("--alphas", default=None)
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--max-epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    quick = dict(n=31, alphas="0.4,0.6,0.8", samples=8, max_epochs=1000)
    full = dict(n=101, alphas="0.3,0.4,0.5,0.6,0.7,0.8", samples=16, max_epochs=3000)
    d = quick if args.quick else full
    n = args.n or d["n"]
    alphas = [float(a) for a in (args.alphas or d["alphas"]).split(",")]
    samples = args.samples or d["samples"]
    max_epochs = args.max_epochs or d["max_epochs"]
    t0 = time.perf_counter()
    rows = []
    for alpha in alphas:
        m, res = run_alpha(n, args.k, alpha, samples, max_epochs, args.seed, args.progress)
        rows.append((alpha, m, res))
    meta = (f"Tree committee, binary weights, K={args.k}, n={n} inputs per unit (N={n * args.k}), random "
            f"+-1 labels, {samples} instances per alpha (the same for every algorithm), at most "
            f"{max_epochs} epochs, seed {args.seed}, float32, jax {jax.__version__}, "
            f"{time.perf_counter() - t0:.0f} s in all (compilation included).")
    write_outputs(rows, args.out, meta, n, args.k)
    print(meta)
    print(open(os.path.join(args.out, "committee_algorithms.md")).read())


if __name__ == "__main__":
    main()
