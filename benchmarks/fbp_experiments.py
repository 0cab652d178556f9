"""Focusing BP experiments (issue #6): capacity curves and fBP as a measuring instrument.

1. Solve probability vs alpha for the perceptron (N = ``--n``) with fBP (default protocol:
   pseudo-reinforcement, step 0.01, one sweep per step; and a 5x finer protocol at the larger
   alpha), next to the SBP-descent and RSGD numbers of ``docs/experiments/sbp_capacity_n1001.md``
   (read from that generated table) and the equilibrium capacity alpha_KM of
   ``physlearn.theory.gardner``; the same for a fully connected committee machine (K = 5) with
   fBP and RSGD run here.
2. Local entropy at fixed y while gamma grows (scoping, converged BP in float64): Sigma_int(d)
   measured by fBP on N = ``--n`` perceptrons at alpha = 0.6 against the finite-y RS theory of
   ``physlearn.theory.local_entropy.fixed_coupling`` (PNAS 2016 Fig. 11), and the overlap q of
   the replicas against the theory's q0 (replicas around different references) and q1 (around the
   same one) (Fig. 5).

    python benchmarks/fbp_experiments.py --out docs/experiments
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from physlearn.algorithms import fbp, problems, rsgd, schedules
from physlearn.theory import gardner, local_entropy


def _se(p, n):
    return float(np.sqrt(max(p * (1 - p), 1e-12) / n))


def capacity(args, lines, figs):
    alphas = [0.5, 0.6, 0.65, 0.7, 0.75, 0.8]
    rows = []
    for a in alphas:
        prob = problems.random_patterns(jax.random.key(int(1000 * a)), args.n, a, samples=args.samples)
        t = time.time()
        res = fbp.solve(jax.random.key(1), prob)
        rows.append((a, "fBP, pseudo-reinforcement dρ=0.01 (1 sweep/step)", res, time.time() - t))
        if a >= 0.7:
            t = time.time()
            gamma, y = schedules.pseudo_reinforcement(0.002)
            res = fbp.solve(jax.random.key(1), prob, gamma=gamma, y=y)
            rows.append((a, "fBP, pseudo-reinforcement dρ=0.002 (1 sweep/step)", res, time.time() - t))
        print(f"perceptron alpha={a}: done", flush=True)
    alpha_km = float(gardner.binary_capacity(0.0))
    lines += [
        f"## Perceptron, N = {args.n}, {args.samples} samples per alpha (random ±1 labels)",
        "",
        f"Equilibrium capacity alpha_KM = {alpha_km:.6f} (physlearn.theory.gardner.binary_capacity).",
        "",
        "| alpha | algorithm | P(solved) ± se | final train error | median steps (solved) | wall s |",
        "|---|---|---|---|---|---|",
    ]
    curves = {}
    for a, name, res, wall in rows:
        solved = np.asarray(res.solved)
        p = float(solved.mean())
        err = float(np.asarray(res.errors).mean()) / res.weights.shape[-1] / a
        steps = np.asarray(res.focusing_steps)[solved]  # protocol steps
        med = float(np.median(steps)) if steps.size else float("nan")
        lines.append(f"| {a:.2f} | {name} | {p:.2f} ± {_se(p, solved.size):.2f} | {err:.4f} | {med:.0f} | {wall:.0f} |")
        curves.setdefault(name, []).append((a, p, _se(p, solved.size)))
    # SBP / RSGD numbers from the generated SBP experiment table
    other = Path(args.out) / "sbp_capacity_n1001.md"
    if other.exists():
        for line in other.read_text().splitlines():
            m = re.match(r"\| ([0-9.]+) \| (SBP descent \(Adam\)|RSGD \(y=7\)) \| ([0-9.]+) ± ([0-9.]+) \|", line)
            if m:
                curves.setdefault(m.group(2) + " [sbp_capacity_n1001.md]", []).append(
                    (float(m.group(1)), float(m.group(3)), float(m.group(4))))
    lines.append("")
    figs["perceptron"] = (curves, alpha_km)

    # committee machine: fBP vs RSGD
    K, n = 5, args.n_committee
    calphas = [0.2, 0.3, 0.4, 0.5]
    lines += [
        f"## Committee machine (fully connected), K = {K}, N = {n} per unit, {args.committee_samples} samples",
        "",
        "| alpha | algorithm | P(solved) ± se | median steps (solved) | wall s |",
        "|---|---|---|---|---|",
    ]
    ccurves = {}
    for a in calphas:
        prob = problems.random_patterns(jax.random.key(int(1000 * a) + 7), n, a, k=K, architecture="committee",
                                        samples=args.committee_samples)
        for name, fn in (
            ("fBP, pseudo-reinforcement dρ=0.01 (default: ≤100 sweeps/step)", lambda: fbp.solve(jax.random.key(1), prob)),
            ("fBP, pseudo-reinforcement dρ=0.01 (1 sweep/step)", lambda: fbp.solve(jax.random.key(1), prob, sweeps_per_step=1)),
            ("fBP, standard reinforcement dr=0.01 (1 sweep/step)", lambda: fbp.solve(jax.random.key(1), prob, sweeps_per_step=1, **schedules.standard_reinforcement(0.01)._asdict())),
            ("RSGD (y=7, 1000 epochs)", lambda: rsgd.solve(jax.random.key(1), prob, max_steps=1000)),
        ):
            t = time.time()
            res = fn()
            wall = time.time() - t
            solved = np.asarray(res.solved)
            p = float(solved.mean())
            steps = np.asarray(getattr(res, "focusing_steps", res.steps))[solved]  # fBP: protocol steps
            med = float(np.median(steps)) if steps.size else float("nan")
            lines.append(f"| {a:.2f} | {name} | {p:.2f} ± {_se(p, solved.size):.2f} | {med:.0f} | {wall:.0f} |")
            ccurves.setdefault(name, []).append((a, p, _se(p, solved.size)))
        print(f"committee alpha={a}: done", flush=True)
    lines.append("")
    figs["committee"] = (ccurves, None)


def thermodynamics(args, lines, figs):
    alpha, y = 0.6, args.y
    gammas = np.round(np.linspace(0.1, 1.0, 10), 3)
    prob = problems.random_patterns(jax.random.key(60), args.n, alpha, samples=args.thermo_samples)
    t = time.time()
    res = fbp.solve(jax.random.key(2), prob, gamma=schedules.table(gammas), y=y, sweeps_per_step=args.max_iters,
                    epsilon=1e-5, stop="never", trace=True, dtype=jnp.float64)
    wall = time.time() - t
    tr = res.trace
    th = local_entropy.fixed_coupling(alpha, gammas, y, on_failure="flag")
    conv_th = np.asarray(th.converged)
    lines += [
        f"## fBP as a measuring instrument: alpha = {alpha}, y = {y:g}, N = {args.n}, {args.thermo_samples} samples",
        "",
        f"Scoping protocol (gamma = {gammas[0]}..{gammas[-1]}), BP converged to 1e-5 at each step "
        f"(at most {args.max_iters} sweeps), float64; {wall:.0f} s. Theory: finite-y RS "
        "(`local_entropy.fixed_coupling`); 'conv' = the theory solve converged.",
        "",
        "| gamma | fBP d (mean) | fBP Σ_int (mean ± sd) | fBP q | BP conv. | train err | RS d | RS Σ_int | RS q0 | RS q1 | RS Σ_ext | RS conv |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, g in enumerate(gammas):
        d = np.asarray(tr.distance[:, i])
        s = np.asarray(tr.local_entropy[:, i])
        q = np.asarray(tr.q[:, i])
        conv = np.asarray(tr.converged[:, i])
        err = np.asarray(tr.errors[:, i])
        lines.append(
            f"| {g:.2f} | {d.mean():.4f} | {s.mean():.4f} ± {s.std():.4f} | {q.mean():.3f} | {conv.sum()}/{conv.size} | "
            f"{err.mean():.1f} | {float(th.d[i]):.4f} | {float(th.internal_entropy[i]):.4f} | {float(th.q0[i]):.3f} | "
            f"{float(th.q1[i]):.3f} | {float(th.external_entropy[i]):+.4f} | {bool(conv_th[i])} |"
        )
    lines.append("")
    figs["thermo"] = (gammas, tr, th, args.n, y)


def plot(figs, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "perceptron" in figs and "committee" in figs:
        _plot_capacity(figs, out, plt)
    if "thermo" in figs:
        _plot_thermo(figs, out, plt)


def _plot_capacity(figs, out, plt):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((axes[0], "perceptron", "perceptron"), (axes[1], "committee", "committee K = 5")):
        curves, a_km = figs[key]
        for name, pts in curves.items():
            pts = np.asarray(sorted(pts))
            ax.errorbar(pts[:, 0], pts[:, 1], yerr=pts[:, 2], marker="o", ms=4, capsize=2, label=name)
        if a_km is not None:
            ax.axvline(a_km, color="k", ls="--", lw=1, label=f"α_KM = {a_km:.3f} (theory)")
        ax.set_xlabel("α = M / (N K)")
        ax.set_ylabel("P(solved)")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out) / "fbp_capacity.png", dpi=120)


def _plot_thermo(figs, out, plt):
    gammas, tr, th, n, y = figs["thermo"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    d = np.asarray(tr.distance)
    s = np.asarray(tr.local_entropy)
    for i in range(d.shape[0]):
        ax.plot(d[i], s[i], "o", ms=4, color="C0", label=f"fBP, N = {n} weights, {d.shape[0]} instances" if i == 0 else None)
    ok = np.asarray(th.converged)
    ax.plot(np.asarray(th.d)[ok], np.asarray(th.internal_entropy)[ok], "-", color="C1", label=f"RS theory, y = {y:g}")
    dd = np.linspace(1e-3, 0.3, 200)
    from physlearn.theory.franz_parisi import h2

    ax.plot(dd, np.asarray(h2(dd)), ":", color="gray", label="H₂(d) (α = 0 bound)")
    ax.set_xlabel("distance d = (1 − S)/2")
    ax.set_ylabel("local entropy Σ_int (nats per weight)")
    ax.set_title(f"α = 0.6, fixed y = {y:g}, γ growing")
    ax.legend(fontsize=7)
    ax = axes[1]
    q = np.asarray(tr.q)
    for i in range(q.shape[0]):
        ax.plot(gammas, q[i], "o", ms=4, color="C0", label=f"fBP q, N = {n} weights" if i == 0 else None)
    ax.plot(gammas[ok], np.asarray(th.q0)[ok], "-", color="C2", label="RS theory q0")
    ax.plot(gammas[ok], np.asarray(th.q1)[ok], "-", color="C3", label="RS theory q1")
    ax.set_xlabel("coupling γ")
    ax.set_ylabel("overlap")
    ax.set_title("replica overlaps")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out) / "fbp_thermodynamics.png", dpi=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/experiments")
    ap.add_argument("--n", type=int, default=1001)
    ap.add_argument("--n-committee", type=int, default=201)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--committee-samples", type=int, default=8)
    ap.add_argument("--thermo-samples", type=int, default=2)
    ap.add_argument("--y", type=float, default=5.0)
    ap.add_argument("--max-iters", type=int, default=500)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    jax.config.update("jax_enable_x64", True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    lines = ["# Focusing BP: capacity and thermodynamics", ""]
    figs = {}
    if "capacity" not in args.skip:
        capacity(args, lines, figs)
    if "thermo" not in args.skip:
        thermodynamics(args, lines, figs)
    lines.insert(2, f"`python benchmarks/fbp_experiments.py` (jax {jax.__version__}, {jax.devices()[0].platform}); {time.time() - t0:.0f} s in all.\n")
    plot(figs, args.out)
    if len(figs) == 3:
        lines += ["![capacity](fbp_capacity.png)", "", "![thermodynamics](fbp_thermodynamics.png)", ""]
    (Path(args.out) / "fbp.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
