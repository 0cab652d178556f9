"""PNAS 2016 Fig. 3 at reduced size: interacting vs non-interacting replicated SGD.

Baldassi et al., "Unreasonable effectiveness of learning neural networks: from accessible states
and robust ensembles to basic algorithmic schemes", PNAS 113, E7655 (2016), Fig. 3 (committee
machine) and appendix C.2 (perceptron). For each alpha, ``--samples`` random instances (random
+-1 labels) are solved by

* interacting RSGD: y replicas, formula "simple", lambda=0.75, gamma=0.05 + 0.001/epoch;
* non-interacting baseline: the same y replicas with lambda=0 (independent initialisations), i.e.
  y independent clipped-SGD runs, keeping the best replica (as the paper keeps the minimum error
  over replicas) -- a baseline at least as strong as a single y=1 run.

Output (in ``--out``, default ``benchmarks/out/``): ``rsgd_capacity.md`` (table) and
``rsgd_capacity.png`` (P(solved) and final training-error fraction vs alpha).

    python benchmarks/rsgd_capacity.py --out benchmarks/out
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from physlearn.algorithms import problems, rsgd, schedules


def experiment(arch, n, k, alphas, samples, replicas, max_epochs, seed, progress):
    rows = []
    for alpha in alphas:
        prob = problems.random_patterns(
            jax.random.fold_in(jax.random.key(seed), int(round(alpha * 1000))),
            n, alpha, k=k, architecture=arch, samples=samples,
        )
        for name, kw in (
            ("interacting", dict(lam=0.75, gamma=schedules.linear(0.05, 0.001), init_equal=True)),
            ("non-interacting", dict(lam=0.0, init_equal=False)),
        ):
            t0 = time.perf_counter()
            res = rsgd.solve(
                jax.random.key(seed + 1), prob, replicas=replicas, batch=80,
                max_steps=max_epochs, progress=progress, **kw,
            )
            solved = np.asarray(res.solved)
            errs = np.asarray(res.errors) / prob.m
            steps = np.asarray(res.steps)
            rows.append(dict(
                arch=arch, n=n, k=k, alpha=alpha, m=prob.m, algo=name,
                p_solved=float(solved.mean()), err=float(errs.mean()),
                err_sem=float(errs.std(ddof=1) / np.sqrt(len(errs))),
                epochs_solved=float(steps[solved].mean()) if solved.any() else float("nan"),
                seconds=time.perf_counter() - t0,
            ))
            r = rows[-1]
            print(f"{arch:10s} N={n} K={k} alpha={alpha:.2f} M={prob.m:4d} {name:16s} "
                  f"P(solved)={r['p_solved']:.2f} err={r['err']:.4f} "
                  f"epochs(solved)={r['epochs_solved']:.0f} [{r['seconds']:.0f}s]", flush=True)
    return rows


def write_outputs(rows, out, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    lines = [
        "# RSGD capacity (PNAS 2016 Fig. 3, reduced size)", "", meta, "",
        "| architecture | N | K | alpha | M | algorithm | P(solved) | final train error (mean ± sem) | mean epochs (solved) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['arch']} | {r['n']} | {r['k']} | {r['alpha']:.2f} | {r['m']} | {r['algo']} | "
            f"{r['p_solved']:.2f} | {r['err']:.4f} ± {r['err_sem']:.4f} | {r['epochs_solved']:.0f} |"
        )
    with open(os.path.join(out, "rsgd_capacity.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    archs = sorted({r["arch"] for r in rows})
    fig, axes = plt.subplots(2, len(archs), figsize=(5 * len(archs), 7), squeeze=False)
    for j, arch in enumerate(archs):
        for algo, style in (("interacting", "o-"), ("non-interacting", "s--")):
            sel = [r for r in rows if r["arch"] == arch and r["algo"] == algo]
            a = [r["alpha"] for r in sel]
            axes[0, j].plot(a, [r["p_solved"] for r in sel], style, label=algo)
            axes[1, j].errorbar(a, [r["err"] for r in sel], yerr=[r["err_sem"] for r in sel],
                                fmt=style, label=algo, capsize=3)
        r0 = [r for r in rows if r["arch"] == arch][0]
        axes[0, j].set_title(f"{arch}, N={r0['n']}, K={r0['k']}")
        axes[0, j].set_ylabel("probability of solving")
        axes[1, j].set_ylabel("final training error fraction")
        for i in range(2):
            axes[i, j].set_xlabel(r"$\alpha$ (patterns per synapse)")
            axes[i, j].legend()
            axes[i, j].grid(alpha=0.3)
    fig.suptitle("Replicated SGD vs non-interacting clipped SGD (Baldassi et al. PNAS 2016, Fig. 3)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "rsgd_capacity.png"), dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/out/")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--replicas", type=int, default=7)
    ap.add_argument("--max-epochs", type=int, default=1000)
    ap.add_argument("--committee-n", type=int, default=101)
    ap.add_argument("--committee-k", type=int, default=3)
    ap.add_argument("--committee-alphas", default="0.2,0.3,0.4,0.5,0.6")
    ap.add_argument("--perceptron-n", type=int, default=201)
    ap.add_argument("--perceptron-alphas", default="0.3,0.4,0.5,0.6,0.7")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    t0 = time.perf_counter()
    rows += experiment("committee", args.committee_n, args.committee_k,
                       [float(a) for a in args.committee_alphas.split(",")], args.samples,
                       args.replicas, args.max_epochs, args.seed, args.progress)
    rows += experiment("perceptron", args.perceptron_n, 1,
                       [float(a) for a in args.perceptron_alphas.split(",")], args.samples,
                       args.replicas, args.max_epochs, args.seed, args.progress)
    meta = (f"y={args.replicas} replicas, batch 80, eta=2, max {args.max_epochs} epochs, "
            f"{args.samples} samples per alpha, random +-1 labels, seed {args.seed}, float32, "
            f"jax {jax.__version__}, {time.perf_counter() - t0:.0f} s total. Interacting: formula "
            "'simple', lambda=0.75, gamma=0.05, gamma_step=0.001, equal init. Non-interacting: "
            "lambda=0, independent init, best of the y replicas.")
    write_outputs(rows, args.out, meta)
    print(meta)
    print(open(os.path.join(args.out, "rsgd_capacity.md")).read())


if __name__ == "__main__":
    main()
