"""SBP descent vs replicated SGD vs clipped SGD on the binary perceptron (PRL 120, 268103 (2018)).

1. Solve probability vs alpha (``--samples`` instances per alpha, N = ``--n``), side by side for
   SBP descent (erfc likelihood, Adam) and interacting RSGD, with the equilibrium capacity
   alpha_KM = 0.833 from ``physlearn.theory.gardner``.
2. Local-entropy profile of the solutions found at ``--profile-alpha`` by SBP, RSGD and a
   non-robust method (plain clipped SGD: one replica, no interaction): for each Hamming distance
   d, ``--flips`` random networks at distance d from the solution are drawn, and we report the
   fraction of them that are still solutions and their mean training-error fraction ("local
   energy"). Solutions in dense regions keep more solutions around them.

    python benchmarks/sbp_capacity.py --out benchmarks/out
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from physlearn.algorithms import problems, rsgd, sbp
from physlearn.theory import gardner


def perturbation_profile(key, weights, prob, ds, flips):
    """For each solution (S, 1, N) and distance d: (fraction of solutions, mean error fraction) over
    ``flips`` random networks at Hamming distance round(d N)."""
    x = jnp.asarray(prob.inputs, jnp.float32)  # (S, M, N)
    y = jnp.asarray(prob.labels, jnp.float32)
    w = jnp.asarray(weights, jnp.float32)[:, 0, :]  # (S, N)
    n = w.shape[-1]

    @jax.jit
    def at_distance(key, n_flip):
        def one(k, w_s, x_s, y_s):
            r = jax.random.uniform(k, (flips, n))
            rank = jnp.argsort(jnp.argsort(r, axis=1), axis=1)
            flip = jnp.where(rank < n_flip, -1.0, 1.0)  # exactly n_flip flips per draw
            out = jnp.sign((w_s[None] * flip) @ x_s.T)
            err = jnp.mean(out != y_s[None], axis=1)
            return jnp.mean(err == 0), jnp.mean(err)

        keys = jax.random.split(key, w.shape[0])
        return jax.vmap(one)(keys, w, x, y)

    rows = []
    for i, d in enumerate(ds):
        frac, err = at_distance(jax.random.fold_in(key, i), int(round(d * n)))
        rows.append((float(d), float(jnp.mean(frac)), float(jnp.mean(err))))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/out/")
    ap.add_argument("--n", type=int, default=1001)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--alphas", default="0.5,0.6,0.65,0.7,0.75")
    ap.add_argument("--max-epochs", type=int, default=1000)
    ap.add_argument("--profile-alpha", type=float, default=0.4)  # clipped SGD still solves here
    ap.add_argument("--flips", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    key = jax.random.key(args.seed)
    t_start = time.perf_counter()
    alphas = [float(a) for a in args.alphas.split(",")]
    table = []
    for i, alpha in enumerate(alphas):
        prob = problems.random_patterns(jax.random.fold_in(key, i), args.n, alpha, samples=args.samples)
        for name, fn in (
            ("SBP descent (Adam)", lambda p: sbp.solve(jax.random.key(1), p, max_steps=args.max_epochs)),
            ("RSGD (y=7)", lambda p: rsgd.solve(jax.random.key(2), p, max_steps=args.max_epochs)),
        ):
            t0 = time.perf_counter()
            res = fn(prob)
            solved = np.asarray(res.solved)
            steps = np.asarray(res.steps)
            table.append(dict(alpha=alpha, algo=name, p=solved.mean(), se=solved.std(ddof=1) / np.sqrt(len(solved)),
                              err=float(np.mean(np.asarray(res.errors)) / prob.m),
                              epochs=float(np.median(steps[solved])) if solved.any() else float("nan"),
                              seconds=time.perf_counter() - t0))
            r = table[-1]
            print(f"alpha={alpha:.2f} {name:20s} P(solved)={r['p']:.2f} err={r['err']:.4f} median epochs={r['epochs']:.0f} [{r['seconds']:.0f}s]", flush=True)
    a_km = float(gardner.binary_capacity(0.0))

    # local-entropy profiles at one alpha
    prob = problems.random_patterns(jax.random.fold_in(key, 99), args.n, args.profile_alpha, samples=args.samples)
    found = {
        "SBP descent": sbp.solve(jax.random.key(3), prob, max_steps=args.max_epochs),
        "RSGD (y=7)": rsgd.solve(jax.random.key(4), prob, max_steps=args.max_epochs),
        "clipped SGD (non-robust)": rsgd.solve(jax.random.key(5), prob, replicas=1, lam=0.0, max_steps=5 * args.max_epochs),
    }
    ds = np.array([0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12])
    profiles = {}
    for name, res in found.items():
        ok = np.asarray(res.solved)
        if not ok.any():
            print(f"{name}: no solution found at alpha={args.profile_alpha}; no profile")
            continue
        sub = problems.Problem(np.asarray(prob.inputs)[ok], np.asarray(prob.labels)[ok])
        profiles[name] = (int(ok.sum()), perturbation_profile(jax.random.key(6), np.asarray(res.weights)[ok], sub, ds, args.flips))

    lines = [
        "# SBP descent vs RSGD (perceptron)", "",
        f"N={args.n}, {args.samples} samples per alpha, max {args.max_epochs} epochs, random +-1 labels; "
        f"capacity alpha_KM = {a_km:.6f} (physlearn.theory.gardner); jax {jax.__version__}; "
        f"{time.perf_counter() - t_start:.0f} s.", "",
        "| alpha | algorithm | P(solved) ± se | final train error | median epochs (solved) |", "|---|---|---|---|---|",
    ]
    lines += [f"| {r['alpha']:.2f} | {r['algo']} | {r['p']:.2f} ± {r['se']:.2f} | {r['err']:.4f} | {r['epochs']:.0f} |" for r in table]
    lines += ["", f"## Perturbation profile of the solutions at alpha = {args.profile_alpha} ({args.flips} random networks per d)", "",
              "| d | " + " | ".join(f"{k}: frac. solutions / mean error" for k in profiles) + " |",
              "|---|" + "---|" * len(profiles)]
    for j, d in enumerate(ds):
        lines.append(f"| {d:.3f} | " + " | ".join(f"{p[j][1]:.3f} / {p[j][2]:.4f}" for _, p in profiles.values()) + " |")
    lines += ["", "Solutions found per method: " + ", ".join(f"{k}: {c}" for k, (c, _) in profiles.items())]
    with open(os.path.join(args.out, "sbp_capacity.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    from physlearn import plotting

    fig, ax = plotting.figure(f"Binary perceptron N={args.n}: algorithms vs theory", r"load $\alpha$", "fraction of instances solved")
    for algo, marker, shift in (("SBP descent (Adam)", "o", -0.003), ("RSGD (y=7)", "s", 0.003)):
        sel = [r for r in table if r["algo"] == algo]
        plotting.data_points(ax, np.array([r["alpha"] for r in sel]) + shift, [r["p"] for r in sel], algo, yerr=[r["se"] for r in sel], marker=marker)
    plotting.mark_value(ax, a_km, rf"capacity $\alpha_{{KM}}={a_km:.3f}$ (theory)", color="k", style="-")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    plotting.save(fig, os.path.join(args.out, "sbp_capacity.png"))
    fig, ax = plotting.figure(f"Around the solutions at alpha={args.profile_alpha}", "Hamming distance d (fraction of flipped weights)", "mean training-error fraction")
    for name, (_, prof) in profiles.items():
        plotting.data_points(ax, ds, [p[2] for p in prof], name)
    ax.legend(fontsize=8)
    plotting.save(fig, os.path.join(args.out, "sbp_local_energy.png"))


if __name__ == "__main__":
    main()
