"""fBP against the RS and the 1RSB-among-references theory at fixed (y, gamma) (issue #27).

Two phases, so that the long fBP runs and the theory can be redone separately:

1. ``--measure``: focusing BP (``physlearn.algorithms.fbp``, scoping protocol through
   ``gammas``, BP converged to ``--eps`` at each step, float64) on random perceptrons at
   ``alpha``, for each ``N`` in ``--ns`` and each ``y`` in ``--ys``; per instance and gamma it
   records d, Sigma_int (the Bethe local entropy phi_int - gamma S), q = <m_W^2> and whether BP
   converged. Raw JSON: ``<out>/fbp_ref_1rsb_raw.json`` (appended per (N, y)).
2. ``--theory`` and ``--report``: the theory at the same (alpha, gamma, y) -- RS (``local_entropy.fixed_coupling_rs``)
   and 1RSB among the references (``local_entropy.fixed_coupling_ref_1rsb`` at its physical m_r) --
   and the table ``<out>/fbp_ref_1rsb.md`` (mean +- s.e. over instances).

    nice -n 10 python benchmarks/fbp_ref_1rsb.py --measure --ns 501,1001,2001 --ys 5
    nice -n 10 python benchmarks/fbp_ref_1rsb.py --theory --ys 3,5,7
    nice -n 10 python benchmarks/fbp_ref_1rsb.py --report
    nice -n 10 python benchmarks/fbp_ref_1rsb.py --threshold --alphas 0.78,0.79,0.8 --ds 0.06,0.03,0.009

3. ``--threshold``: the y = inf curves of ``local_entropy.free_reference_ref_1rsb`` near alpha_U.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ALPHA = 0.6
GAMMAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def _load(path):
    return json.loads(path.read_text()) if path.exists() else {"runs": []}


def measure(args):
    from physlearn.algorithms import fbp, problems, schedules

    raw_path = Path(args.out) / "fbp_ref_1rsb_raw.json"
    for y in [float(v) for v in args.ys.split(",")]:
        for n, s in zip([int(v) for v in args.ns.split(",")], [int(v) for v in args.samples.split(",")]):
            prob = problems.random_patterns(jax.random.key(7000 + n), n, ALPHA, samples=s)
            # a shorter protocol is the same run stopped earlier (deterministic warm-started scoping)
            gammas = [g for g in GAMMAS if g <= args.gamma_max + 1e-12]
            t = time.time()
            res = fbp.solve(jax.random.key(2), prob, gamma=schedules.table(np.asarray(gammas)), y=y,
                            sweeps_per_step=args.max_sweeps, epsilon=args.eps, stop="never", trace=True,
                            dtype=jnp.float64)
            tr = res.trace
            wall = time.time() - t
            run = dict(alpha=ALPHA, y=y, N=n, samples=s, gammas=gammas, eps=args.eps, max_sweeps=args.max_sweeps,
                       wall_s=wall, load=os.getloadavg()[0],
                       d=np.asarray(tr.distance).tolist(), sigma_int=np.asarray(tr.local_entropy).tolist(),
                       q=np.asarray(tr.q).tolist(), converged=np.asarray(tr.converged).tolist(),
                       sweeps=np.asarray(tr.iterations).tolist(), errors=np.asarray(tr.errors).tolist())
            data = _load(raw_path)
            data["runs"] = [r for r in data["runs"] if not (r["N"] == n and r["y"] == y)] + [run]
            raw_path.write_text(json.dumps(data))
            print(f"y={y:g} N={n} samples={s}: {wall:.0f} s", flush=True)


def threshold(args):
    """alpha_U by the criterion of ``local_entropy.dense_region_threshold`` (the smallest S_hat = dS_I/dd / 2
    over d in [0.005, 0.06]) on the y = inf 1RSB-among-references curves, with the sign of S_I recorded
    too; raw JSON ``<out>/ref_1rsb_threshold_raw.json`` (an (alpha, nodes) entry replaced when it is run again)."""
    from physlearn.theory import local_entropy as le

    ds = np.array([float(v) for v in args.ds.split(",")])
    alphas = np.array([float(v) for v in args.alphas.split(",")])
    t = time.time()  # one call: one compilation for every (alpha, d)
    r = le.free_reference_ref_1rsb(alphas, ds, n_1rsb=args.n_1rsb, n_in=args.n_in, on_failure="flag")
    wall = time.time() - t
    out = [dict(alpha=float(a), d=ds.tolist(), S_I=np.asarray(r.entropy)[i].tolist(),
                S_hat=np.asarray(r.S_hat)[i].tolist(), mu=np.asarray(r.mu)[i].tolist(),
                S_I_rs=np.asarray(r.entropy_rs)[i].tolist(), q0=np.asarray(r.q0)[i].tolist(),
                q1=np.asarray(r.q1)[i].tolist(), complexity=np.asarray(r.complexity)[i].tolist(),
                converged=np.asarray(r.converged)[i].tolist(), n_1rsb=args.n_1rsb, n_in=args.n_in, wall_s=wall,
                load=os.getloadavg()[0]) for i, a in enumerate(alphas)]
    path = Path(args.out) / "ref_1rsb_threshold_raw.json"  # merged per (alpha, nodes): one alpha per call also works
    kept = [o for o in (json.loads(path.read_text()) if path.exists() else [])
            if o["alpha"] not in alphas or (o["n_1rsb"], o["n_in"]) != (args.n_1rsb, args.n_in)]
    path.write_text(json.dumps(sorted(kept + out, key=lambda o: (o["n_1rsb"], o["alpha"])), indent=1))
    print(f"{alphas.size} x {ds.size} points, nodes {args.n_1rsb}/{args.n_in}: {wall:.0f} s", flush=True)
    print("| α | d | μ* | S_I | Ŝ | S_I (RS) | converged |\n|---|---|---|---|---|---|---|")
    for o in out:
        for j, d in enumerate(ds):
            print(f"| {o['alpha']:g} | {d:g} | {o['mu'][j]:.3f} | {o['S_I'][j]:.4f} | {o['S_hat'][j]:.3f} | "
                  f"{o['S_I_rs'][j]:.4f} | {o['converged'][j]} |")


FIELDS = ("d", "internal_entropy", "q0", "q1", "external_entropy", "converged")
FIELDS_1RSB = FIELDS + ("m_r", "qm", "complexity", "collapsed", "condensed", "result")


def theory(args):
    """RS and 1RSB-among-references theory at (ALPHA, GAMMAS, y) for each y: ``<out>/fbp_ref_1rsb_theory.json``."""
    from physlearn.theory import local_entropy as le

    path = Path(args.out) / "fbp_ref_1rsb_theory.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["gammas"] = list(GAMMAS)  # read by notebook 4 (its small size draws this record)
    for y in [float(v) for v in args.ys.split(",")]:
        t = time.time()
        rs = le.fixed_coupling_rs(ALPHA, np.asarray(GAMMAS), y, on_failure="flag")
        t_rs = time.time() - t
        r1 = le.fixed_coupling_ref_1rsb(ALPHA, np.asarray(GAMMAS), y, on_failure="flag")
        data[f"{y:g}"] = dict(rs={f: np.asarray(getattr(rs, f)).tolist() for f in FIELDS},
                              ref_1rsb={f: np.asarray(getattr(r1, f)).tolist() for f in FIELDS_1RSB},
                              wall_rs_s=t_rs, wall_1rsb_s=time.time() - t - t_rs, load=os.getloadavg()[0])
        path.write_text(json.dumps(data))
        print(f"theory y={y:g}: RS {t_rs:.0f} s, 1RSB {time.time() - t - t_rs:.0f} s", flush=True)


def excess(runs):
    """fBP's Sigma_int minus the RS Sigma_int at the distance fBP measured (RS on a dense gamma line,
    interpolated in d), per (y, N, gamma): mean +- s.e. over the instances whose BP converged."""
    from physlearn.theory import local_entropy as le

    lines = ["## fBP minus RS at the measured distance", "",
             "Sigma_int(fBP) - Sigma_int^RS(d_fBP), RS interpolated in d along 33 couplings in [0.05, 0.85]; "
             "mean ± s.e. over the instances whose BP converged at that gamma (n in brackets). At y = 5 the "
             "1RSB among the references has m_r = 1 (see above), so this is also the excess over it.", "",
             "| y | N | " + " | ".join(f"γ={g:.1f}" for g in GAMMAS) + " |", "|---|---|" + "---|" * len(GAMMAS)]
    rel = ["", "The same per instance relative to its own value at γ = 0.1 (far from the reference): the "
           "offset of an instance is nearly constant in γ at small γ (a sample-to-sample fluctuation), so this "
           "isolates how fBP leaves RS close to the reference.", "",
           "| y | N | " + " | ".join(f"γ={g:.1f}" for g in GAMMAS[1:]) + " |", "|---|---|" + "---|" * (len(GAMMAS) - 1)]
    for y in sorted({r["y"] for r in runs}):
        gl = np.linspace(0.05, 0.85, 33)
        th = le.fixed_coupling_rs(ALPHA, gl, y, on_failure="flag")
        ok = np.asarray(th.converged) & np.asarray(th.external_ok)
        dth, sth = np.asarray(th.d)[ok], np.asarray(th.internal_entropy)[ok]
        o = np.argsort(dth)
        for r in sorted((r for r in runs if r["y"] == y), key=lambda r: r["N"]):
            d, s, c = (np.asarray(r[k], float) for k in ("d", "sigma_int", "converged"))
            gap = s - np.interp(d, dth[o], sth[o], left=np.nan, right=np.nan)
            ok_j = (c > 0) & np.isfinite(gap)
            cells = [_cell(gap[ok_j[:, j], j]) for j in range(len(r["gammas"]))]
            cells += ["–"] * (len(GAMMAS) - len(cells))  # a protocol stopped early (--gamma-max)
            lines.append(f"| {y:g} | {r['N']} | " + " | ".join(cells) + " |")
            cells = [_cell(gap[ok_j[:, j] & ok_j[:, 0], j] - gap[ok_j[:, j] & ok_j[:, 0], 0])
                     for j in range(1, len(r["gammas"]))]
            cells += ["–"] * (len(GAMMAS) - 1 - len(cells))
            rel.append(f"| {y:g} | {r['N']} | " + " | ".join(cells) + " |")
    return lines + rel


def _cell(v):
    """'mean ± s.e. (n)' of the values ``v``, '–' when there are none."""
    if v.size == 0:
        return "–"
    m, e = _ms(v)
    return f"{m:+.4f}" + (f" ± {e:.4f}" if np.isfinite(e) else "") + f" ({v.size})"


def _ms(v):
    v = np.asarray(v, float)
    return v.mean(), (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan"))


def _stopped(runs):
    """' (stopped at gamma = g for N = n, y = y; ...)' for the runs whose protocol ended early (--gamma-max)."""
    short = [f"{r['gammas'][-1]:g} for N = {r['N']}, y = {r['y']:g}" for r in runs if len(r["gammas"]) < len(GAMMAS)]
    return f" (stopped at gamma = {'; '.join(short)})" if short else ""


HAND_WRITTEN = "## Findings"


def report(args):
    out = Path(args.out)
    data = _load(out / "fbp_ref_1rsb_raw.json")
    runs = sorted(data["runs"], key=lambda r: (r["y"], r["N"]))
    ys = sorted({r["y"] for r in runs})
    lines = ["# fBP against RS and the 1RSB among the references (issue #27)", "",
             f"`python benchmarks/fbp_ref_1rsb.py --measure/--report`; alpha = {ALPHA}, kappa = 0; scoping protocol "
             f"through gamma = {GAMMAS[0]}..{GAMMAS[-1]}{_stopped(runs)}, BP converged to {runs[0]['eps']:g} at each step (at most "
             f"{runs[0]['max_sweeps']} sweeps per γ; float64). Machine: "
             f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (load at the fBP runs in the "
             f"raw JSON); jax {jax.__version__}; report written {time.strftime('%Y-%m-%d')}.", "",
             "Theory: RS = `local_entropy.fixed_coupling_rs`; 1RSB = `local_entropy.fixed_coupling_ref_1rsb` "
             "at its physical m_r (m_r = 1 when the clusters of references do not condense: then d and "
             "Sigma_int equal RS and only q_m, the overlap of replicas inside one cluster, differs). fBP: "
             "mean ± s.e. over instances; 'conv' counts the instances whose BP converged at that gamma.", ""]
    th_all = json.loads((out / "fbp_ref_1rsb_theory.json").read_text())
    for y in ys:
        if f"{y:g}" not in th_all:
            continue
        th = th_all[f"{y:g}"]
        rs, r1 = th["rs"], th["ref_1rsb"]
        rows = [r for r in runs if r["y"] == y]
        lines += [f"## y = {y:g} (theory: RS {th['wall_rs_s']:.0f} s, 1RSB {th['wall_1rsb_s']:.0f} s)", "",
                  "| gamma | N | samples | conv | fBP d | fBP Σ_int | fBP q | RS d | RS Σ_int | RS q0 | 1RSB m_r | 1RSB d | 1RSB Σ_int | 1RSB q_m |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for i, g in enumerate(GAMMAS):
            for r in rows:
                if g not in r["gammas"]:
                    continue
                j = r["gammas"].index(g)
                d = [v[j] for v in r["d"]]
                s = [v[j] for v in r["sigma_int"]]
                q = [v[j] for v in r["q"]]
                c = sum(bool(v[j]) for v in r["converged"])
                dm, de = _ms(d)
                sm, se = _ms(s)
                lines.append(
                    f"| {g:.1f} | {r['N']} | {r['samples']} | {c}/{r['samples']} | {dm:.4f} ± {de:.4f} | {sm:.4f} ± {se:.4f} | "
                    f"{np.mean(q):.3f} | {rs['d'][i]:.4f} | {rs['internal_entropy'][i]:.4f} | {rs['q0'][i]:.3f} | "
                    f"{r1['m_r'][i]:.3g} | {r1['d'][i]:.4f} | {r1['internal_entropy'][i]:.4f} | {r1['qm'][i]:.3f} |")
        lines.append("")
    lines += excess(runs) + [""]
    page = out / "fbp_ref_1rsb.md"
    old = page.read_text() if page.exists() else ""
    kept = old[old.index(HAND_WRITTEN):] if HAND_WRITTEN in old else ""  # the findings are written by hand
    page.write_text("\n".join(lines) + "\n" + kept)
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/experiments")
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--threshold", action="store_true")
    ap.add_argument("--theory", action="store_true")
    ap.add_argument("--alphas", default="0.78,0.79,0.8")
    ap.add_argument("--ds", default="0.06,0.03,0.015,0.009,0.008")
    ap.add_argument("--n-1rsb", type=int, default=64, help="outer nodes of the 1RSB curve (--threshold)")
    ap.add_argument("--n-in", type=int, default=24, help="cluster-level nodes of the 1RSB curve (--threshold)")
    ap.add_argument("--ns", default="501,1001,2001")
    ap.add_argument("--samples", default="8,6,3")
    ap.add_argument("--ys", default="5")
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--max-sweeps", type=int, default=500)
    ap.add_argument("--gamma-max", type=float, default=max(GAMMAS), help="stop the scoping protocol here")
    args = ap.parse_args()
    jax.config.update("jax_enable_x64", True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.measure:
        measure(args)
    if args.theory:
        theory(args)
    if args.threshold:
        threshold(args)
    if args.report:
        report(args)


if __name__ == "__main__":
    main()
