"""Wide flat minima in continuous networks (Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020)):
the science experiment behind notebook 08, at paper size.

Parts (each writes its numbers into the report):

1. theory: normalised local volume of the tree committee machine at alpha = 1 around the densest
   regions and around typical solutions, K = 1, 3, 5, 9, inf, and the parity machine
   (``physlearn.theory.flat_minima``);
2. BP against Monte Carlo: the Bethe volume around planted teachers against direct sampling of
   the ring, for growing n (the finite-size bias of BP);
3. the K = 9, alpha = 1 comparison of fBP, LAL, eLAL, ceSGD-fast, ceSGD-slow on random patterns:
   solved fraction, BP local volume at two distances, top Hessian eigenvalue, their correlation
   (``physlearn.algorithms.wide_flat_minima``);
4. the cross-entropy minimiser of the binary perceptron: local entropy against the densest-region
   curve and the optimal gamma (``physlearn.theory.cross_entropy``);
5. real data: fully connected committee (K = 9) on Fashion-MNIST dress vs coat
   (``--fashion-mnist DIR`` with the IDX files) or the 8x8 digits 3 vs 5, with test errors.

Output in ``--out``: ``wide_flat_minima.md``, ``wide_flat_minima.json``, ``wide_flat_minima.png``.

    python benchmarks/wide_flat_minima.py --out docs/experiments             # paper size (hours on 2 cores)
    python benchmarks/wide_flat_minima.py --out /tmp/wfm --n 21 --samples 4  # minutes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from physlearn.algorithms import continuous_bp as cbp  # noqa: E402
from physlearn.algorithms import problems  # noqa: E402
from physlearn.algorithms import wide_flat_minima as wfm  # noqa: E402
from physlearn.theory import cross_entropy as ce  # noqa: E402
from physlearn.theory import flat_minima as fm  # noqa: E402
from physlearn.theory import local_entropy  # noqa: E402


def theory_part(alpha, distances, ks, samples):
    rows = {}
    for K in ks:
        name = "inf" if math.isinf(K) else str(K)
        rows[name] = {}
        for ref in ("dense", "typical"):
            t = time.perf_counter()
            r = fm.local_volume(alpha, distances, K=K, reference=ref, samples=samples, on_failure="flag")
            rows[name][ref] = dict(normalized=r.normalized.tolist(), mc_error=r.mc_error.tolist(),
                                   d_end=float(r.d_end), seconds=time.perf_counter() - t)
    par = {}
    for K in (3, 5, math.inf):
        r = fm.local_volume(alpha, distances, K=K, machine="parity", samples=samples, on_failure="flag")
        par["inf" if math.isinf(K) else str(K)] = dict(normalized=r.normalized.tolist(), mc_error=r.mc_error.tolist())
    return rows, par


def bp_vs_mc_part(ns, instances, draws):
    out = []
    for n, K, alpha, d in [(n, 1, 0.5, 0.05) for n in ns] + [(n // 3 | 1, 3, 0.3, 0.1) for n in ns]:
        arch = "perceptron" if K == 1 else "tree"
        prob, teacher = cbp.planted(jax.random.key(7), n, alpha, K, arch, samples=instances)
        bp = cbp.local_volume(jax.random.key(1), prob, teacher, d)
        mc = cbp.monte_carlo_volume(jax.random.key(2), prob, teacher, d, draws=draws)
        diff = np.asarray(bp.normalized) - np.asarray(mc.normalized)
        ok = np.isfinite(diff)
        out.append(dict(n=n, K=K, alpha=alpha, d=d, mc=float(np.mean(mc.normalized[ok])),
                        mc_stderr=float(np.sqrt(np.mean(np.asarray(mc.stderr)[ok] ** 2))),
                        bias=float(diff[ok].mean()), bias_se=float(diff[ok].std(ddof=1) / math.sqrt(ok.sum())),
                        bp_converged=bool(np.all(bp.converged))))
    return out


def committee_part(n, samples, distances, max_epochs, fbp_steps, seed):
    prob = problems.random_patterns(jax.random.key(seed), n, 1.0, 9, "tree", samples=samples)
    t = time.perf_counter()
    res = wfm.compare(jax.random.key(seed + 1), prob, distances, max_epochs=max_epochs, fbp_steps=fbp_steps,
                      density=True)
    secs = time.perf_counter() - t
    pear, spear, npts = wfm.correlation(res, which=1)
    vol = {k: float(np.nanmean(r["volume"][:, 1])) for k, r in res.items()}
    order = sorted(vol, key=lambda k: -vol[k] if np.isfinite(vol[k]) else np.inf)
    claims = {"LAL narrowest": order[-1] == "LAL",
              "fBP, eLAL, ceSGD-slow widest": set(order[:3]) == {"fBP", "eLAL", "ceSGD-slow"}}
    return res, dict(table=wfm.markdown_table(res, distances), pearson=pear, spearman=spear, points=npts,
                     order=order, claims=claims, seconds=secs, m=prob.m)


def ce_part(alpha, gammas, distances):
    le = ce.local_entropy(alpha, gammas, distances, on_failure="flag")
    re = local_entropy.binary(alpha, distances, on_failure="flag")
    best = {float(d): ce.optimal_gamma(alpha, float(d), np.geomspace(0.3, 30, 16)) for d in (0.01, 0.02, 0.05)}
    mini = ce.minimizer(alpha, gammas, on_failure="flag")
    return dict(gammas=gammas.tolist(), distances=distances.tolist(), ce=(le.entropy - le.h2[0]).tolist(),
                robust_ensemble=(re.entropy - le.h2[0]).tolist(), errors=mini.errors.tolist(),
                optimal={str(d): dict(gamma=float(b.gamma), entropy=float(b.entropy)) for d, b in best.items()})


def real_part(path, reps, distances, max_epochs):
    if path:
        train_all, test = problems.mnist(path, binarize=True, classes=(3, 4), architecture="committee", k=9)
        lab = np.asarray(train_all.labels)
        keep = np.concatenate([np.flatnonzero(lab == 1)[:250], np.flatnonzero(lab == -1)[:250]])
        train = problems.Problem(np.asarray(train_all.inputs)[keep], lab[keep], architecture="committee", k=9)
        task = "Fashion-MNIST dress vs coat, 250 + 250 training images"
    else:
        train, test = problems.digits(binarize=True, classes=(3, 5), test_fraction=0.3, architecture="committee", k=9)
        task = "8x8 digits 3 vs 5 (scikit-learn), 70/30 split"
    batch = problems.Problem(np.stack([np.asarray(train.inputs)] * reps), np.stack([np.asarray(train.labels)] * reps),
                             architecture="committee", k=9)
    res = wfm.compare(jax.random.key(3), batch, distances, algorithms=("LAL", "eLAL", "ceSGD-fast", "ceSGD-slow"),
                      max_epochs=max_epochs, test=test)
    vol = np.concatenate([r["volume"][:, 1] for r in res.values()])
    te = np.concatenate([np.where(r["trained"].solved, r["test_error"], np.nan) for r in res.values()])
    ok = np.isfinite(vol) & np.isfinite(te)
    from scipy import stats

    rho = float(stats.spearmanr(vol[ok], te[ok])[0]) if ok.sum() > 2 else float("nan")
    return res, dict(task=task, table=wfm.markdown_table(res, distances), spearman_volume_test=rho, m=train.m,
                     n=train.n, test_m=test.m)


def figure(out, distances, theory, committee_res, ce_res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    for name, rows in theory.items():
        ax[0].plot(distances, rows["dense"]["normalized"], "-o", ms=3, label=f"K = {name}, densest")
    ax[0].set_xscale("log")
    ax[0].set_xlabel("d")
    ax[0].set_ylabel("normalised local volume (alpha = 1)")
    ax[0].legend(fontsize=7)
    for name, r in committee_res.items():
        ax[1].plot(r["top_eigenvalue"], r["volume"][:, 1], "o", ms=4, label=name)
    ax[1].set_xlabel("top Hessian eigenvalue")
    ax[1].set_ylabel("BP normalised volume, d = %g" % DIST[1])
    ax[1].legend(fontsize=7)
    g = np.asarray(ce_res["gammas"])
    for j, d in enumerate(ce_res["distances"]):
        ax[2].semilogx(g, np.asarray(ce_res["ce"])[:, j], "-o", ms=3, label=f"d = {d:.3g}")
    ax[2].set_xlabel("gamma")
    ax[2].set_ylabel("local entropy - H2(d) around the CE minimiser")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "wide_flat_minima.png"), dpi=120)


DIST = (0.01, 0.03)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=111, help="inputs per hidden unit of the K = 9 tree committee")
    ap.add_argument("--samples", type=int, default=10, help="instances of the K = 9 experiment")
    ap.add_argument("--max-epochs", type=int, default=1000)
    ap.add_argument("--fbp-steps", type=int, default=3000)
    ap.add_argument("--qmc", type=int, default=2**13, help="quasi Monte Carlo points of the finite-K theory")
    ap.add_argument("--fashion-mnist", default=os.environ.get("PHYSLEARN_FASHION_MNIST"))
    ap.add_argument("--parts", default="theory,bp,committee,ce,real")
    ap.add_argument("--seed", type=int, default=2020)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    parts = set(args.parts.split(","))
    report = dict(machine=platform.platform(), cpus=os.cpu_count(), jax=jax.__version__,
                  date=time.strftime("%Y-%m-%d"), args=vars(args))
    t0 = time.perf_counter()
    distances = np.geomspace(0.004, 0.1, 10)
    theory = par = committee_res = ce_res = None
    if "theory" in parts:
        theory, par = theory_part(1.0, distances, (1, 3, 5, 9, math.inf), args.qmc)
        report["theory"] = dict(distances=distances.tolist(), committee=theory, parity=par)
    if "bp" in parts:
        report["bp_vs_mc"] = bp_vs_mc_part((15, 29, 59), 8, 400_000)
    if "committee" in parts:
        committee_res, report["committee"] = committee_part(args.n, args.samples, DIST, args.max_epochs,
                                                             args.fbp_steps, args.seed)
    if "ce" in parts:
        ce_res = ce_part(0.6, np.geomspace(0.3, 30, 12), np.array([0.01, 0.02, 0.05, 0.1]))
        report["cross_entropy"] = ce_res
    if "real" in parts:
        _, report["real"] = real_part(args.fashion_mnist, 4, DIST, args.max_epochs)
    report["seconds"] = time.perf_counter() - t0
    with open(os.path.join(args.out, "wide_flat_minima.json"), "w") as fh:
        json.dump(report, fh, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    if theory and committee_res and ce_res:
        figure(args.out, distances, theory, committee_res, ce_res)
    write_markdown(args.out, report)


def write_markdown(out, rep):
    L = ["# Wide flat minima in continuous networks (PNAS 117, 161 (2020))", "",
         f"Machine: {rep['machine']}, {rep['cpus']} CPUs, jax {rep['jax']}, {rep['date']}; "
         f"total {rep['seconds']:.0f} s. Command: `python benchmarks/wide_flat_minima.py` with {rep['args']}.", ""]
    if "theory" in rep:
        th = rep["theory"]
        d = np.asarray(th["distances"])
        L += ["## Theory: normalised local volume at alpha = 1", "",
              "Around the densest regions (1RSB, fixed q1, y -> inf) / around typical solutions; "
              "finite K > 1 by randomised QMC (error <= the last digit shown unless noted).", "",
              "| K | reference | " + " | ".join(f"d={x:.3g}" for x in d) + " |", "|" + "---|" * (d.size + 2)]
        for K, rows in th["committee"].items():
            for ref in ("dense", "typical"):
                v = rows[ref]["normalized"]
                L.append(f"| {K} | {ref} | " + " | ".join("-" if not np.isfinite(x) else f"{x:.4f}" for x in v) + " |")
        for K, r in th["parity"].items():
            L.append(f"| parity {K} | dense | " + " | ".join("-" if not np.isfinite(x) else f"{x:.4f}"
                                                          for x in r["normalized"]) + " |")
        L.append("")
    if "bp_vs_mc" in rep:
        L += ["## BP against Monte Carlo around planted teachers", "",
              "| n | K | alpha | d | MC volume | MC error | BP - MC (s.e.) | BP converged |", "|---|---|---|---|---|---|---|---|"]
        for r in rep["bp_vs_mc"]:
            L.append(f"| {r['n']} | {r['K']} | {r['alpha']} | {r['d']} | {r['mc']:.4f} | {r['mc_stderr']:.4f} | "
                     f"{r['bias']:+.4f} ({r['bias_se']:.4f}) | {r['bp_converged']} |")
        L.append("")
    if "committee" in rep:
        c = rep["committee"]
        L += [f"## Tree committee K = 9, alpha = 1 (n = {rep['args']['n']}, M = {c['m']}, "
              f"{rep['args']['samples']} instances)", "", c["table"], "",
              f"Ordering by volume at d = {DIST[1]}: {' > '.join(c['order'])}. "
              + "; ".join(f"'{k}': {'confirmed' if v else 'contradicted'}" for k, v in c["claims"].items()) + ".",
              f"Volume vs top Hessian eigenvalue: Pearson {c['pearson']:+.2f}, Spearman {c['spearman']:+.2f} "
              f"({c['points']} minima). {c['seconds']:.0f} s.", ""]
    if "cross_entropy" in rep:
        x = rep["cross_entropy"]
        L += ["## Cross-entropy minimiser, binary perceptron, alpha = 0.6", "",
              "| gamma | training error | " + " | ".join(f"V-H2 d={d:g}" for d in x["distances"]) + " |",
              "|" + "---|" * (len(x["distances"]) + 2)]
        for g, e, row in zip(x["gammas"], x["errors"], x["ce"]):
            L.append(f"| {g:.3g} | {e:.4f} | " + " | ".join("-" if not np.isfinite(v) else f"{v:.4f}" for v in row) + " |")
        L.append("| robust ensemble | - | " + " | ".join("-" if not np.isfinite(v) else f"{v:.4f}"
                                                         for v in x["robust_ensemble"]) + " |")
        L += ["", "Optimal gamma: " + ", ".join(f"d = {d}: {o['gamma']:.3g}" for d, o in x["optimal"].items()), ""]
    if "real" in rep:
        r = rep["real"]
        L += [f"## Real data: {r['task']} (fully connected committee, K = 9, n = {r['n']}, M = {r['m']}, "
              f"{r['test_m']} test patterns)", "", r["table"], "",
              f"Spearman correlation of the volume (d = {DIST[1]}) with the test error: {r['spearman_volume_test']:+.2f}.", ""]
    with open(os.path.join(out, "wide_flat_minima.md"), "w") as fh:
        fh.write("\n".join(L))


if __name__ == "__main__":
    main()
