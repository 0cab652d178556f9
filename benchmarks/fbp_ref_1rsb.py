"""fBP against the RS and the 1RSB-among-references theory at fixed (y, gamma) (issue #27).

Two phases, so that the long fBP runs and the theory can be redone separately:

1. ``--measure``: focusing BP (``physlearn.algorithms.fbp``, scoping protocol through
   ``gammas``, BP converged to ``--eps`` at each step, float64) on random perceptrons at
   ``alpha``, for each ``N`` in ``--ns`` and each ``y`` in ``--ys``; per instance and gamma it
   records d, Sigma_int (the Bethe local entropy phi_int - gamma S), q = <m_W^2> and whether BP
   converged. Raw JSON: ``<out>/fbp_ref_1rsb_raw.json`` (appended per (N, y)).
2. ``--report``: the theory at the same (alpha, gamma, y) -- RS (``local_entropy.fixed_coupling_rs``)
   and 1RSB among the references (``local_entropy.fixed_coupling_ref_1rsb`` at its physical m_r) --
   and the table ``<out>/fbp_ref_1rsb.md`` (mean +- s.e. over instances).

    nice -n 10 python benchmarks/fbp_ref_1rsb.py --measure --ns 501,1001,2001 --ys 5
    nice -n 10 python benchmarks/fbp_ref_1rsb.py --report
    nice -n 10 python benchmarks/fbp_ref_1rsb.py --threshold   # hours: tens of seconds per (alpha, d)

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
            t = time.time()
            res = fbp.solve(jax.random.key(2), prob, gamma=schedules.table(np.asarray(GAMMAS)), y=y,
                            sweeps_per_step=args.max_sweeps, epsilon=args.eps, stop="never", trace=True,
                            dtype=jnp.float64)
            tr = res.trace
            wall = time.time() - t
            run = dict(alpha=ALPHA, y=y, N=n, samples=s, gammas=list(GAMMAS), eps=args.eps, max_sweeps=args.max_sweeps,
                       wall_s=wall, load=os.getloadavg()[0],
                       d=np.asarray(tr.distance).tolist(), sigma_int=np.asarray(tr.local_entropy).tolist(),
                       q=np.asarray(tr.q).tolist(), converged=np.asarray(tr.converged).tolist(),
                       errors=np.asarray(tr.errors).tolist())
            data = _load(raw_path)
            data["runs"] = [r for r in data["runs"] if not (r["N"] == n and r["y"] == y)] + [run]
            raw_path.write_text(json.dumps(data))
            print(f"y={y:g} N={n} samples={s}: {wall:.0f} s", flush=True)


def threshold(args):
    """alpha_U by the criterion of ``local_entropy.dense_region_threshold`` (the smallest S_hat = dS_I/dd / 2
    over d in [0.005, 0.06]) on the y = inf 1RSB-among-references curves, with the sign of S_I recorded
    too; raw JSON ``<out>/ref_1rsb_threshold_raw.json``."""
    from physlearn.theory import local_entropy as le

    ds = np.array([0.06, 0.045, 0.035, 0.03, 0.025, 0.02, 0.016, 0.013, 0.01, 0.009, 0.008, 0.007, 0.006, 0.005])
    out = []
    for a in [float(v) for v in args.alphas.split(",")]:
        t = time.time()
        r = le.free_reference_ref_1rsb(a, ds, on_failure="flag")
        out.append(dict(alpha=a, d=ds.tolist(), S_I=np.asarray(r.entropy).tolist(), S_hat=np.asarray(r.S_hat).tolist(),
                        mu=np.asarray(r.mu).tolist(), S_I_rs=np.asarray(r.entropy_rs).tolist(),
                        converged=np.asarray(r.converged).tolist(), wall_s=time.time() - t))
        (Path(args.out) / "ref_1rsb_threshold_raw.json").write_text(json.dumps(out))
        print(f"alpha={a}: {time.time() - t:.0f} s", flush=True)


def _theory(y, gammas):
    from physlearn.theory import local_entropy as le

    rs = le.fixed_coupling_rs(ALPHA, np.asarray(gammas), y, on_failure="flag")
    r1 = le.fixed_coupling_ref_1rsb(ALPHA, np.asarray(gammas), y, on_failure="flag")
    return rs, r1


def _ms(v):
    v = np.asarray(v, float)
    return v.mean(), (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan"))


def report(args):
    out = Path(args.out)
    data = _load(out / "fbp_ref_1rsb_raw.json")
    runs = sorted(data["runs"], key=lambda r: (r["y"], r["N"]))
    ys = sorted({r["y"] for r in runs})
    lines = ["# fBP against RS and the 1RSB among the references (issue #27)", "",
             f"`python benchmarks/fbp_ref_1rsb.py --measure/--report`; alpha = {ALPHA}, kappa = 0; scoping protocol "
             f"through gamma = {GAMMAS[0]}..{GAMMAS[-1]}, BP converged to eps at each step (float64). Machine: "
             f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (load at the fBP runs in the "
             f"raw JSON); jax {jax.__version__}; report written {time.strftime('%Y-%m-%d')}.", "",
             "Theory: RS = `local_entropy.fixed_coupling_rs`; 1RSB = `local_entropy.fixed_coupling_ref_1rsb` "
             "at its physical m_r (m_r = 1 when the clusters of references do not condense: then d and "
             "Sigma_int equal RS and only q_m, the overlap of replicas inside one cluster, differs). fBP: "
             "mean ± s.e. over instances; 'conv' counts the instances whose BP converged at that gamma.", ""]
    for y in ys:
        t0 = time.time()
        rs, r1 = _theory(y, GAMMAS)
        tt = time.time() - t0
        rows = [r for r in runs if r["y"] == y]
        lines += [f"## y = {y:g} (theory {tt:.0f} s)", "",
                  "| gamma | N | samples | conv | fBP d | fBP Σ_int | fBP q | RS d | RS Σ_int | RS q0 | 1RSB m_r | 1RSB d | 1RSB Σ_int | 1RSB q_m |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for i, g in enumerate(GAMMAS):
            for r in rows:
                j = r["gammas"].index(g)
                d = [v[j] for v in r["d"]]
                s = [v[j] for v in r["sigma_int"]]
                q = [v[j] for v in r["q"]]
                c = sum(bool(v[j]) for v in r["converged"])
                dm, de = _ms(d)
                sm, se = _ms(s)
                lines.append(
                    f"| {g:.1f} | {r['N']} | {r['samples']} | {c}/{r['samples']} | {dm:.4f} ± {de:.4f} | {sm:.4f} ± {se:.4f} | "
                    f"{np.mean(q):.3f} | {float(rs.d[i]):.4f} | {float(rs.internal_entropy[i]):.4f} | {float(rs.q0[i]):.3f} | "
                    f"{float(r1.m_r[i]):.3g} | {float(r1.d[i]):.4f} | {float(r1.internal_entropy[i]):.4f} | {float(r1.qm[i]):.3f} |")
        lines.append("")
    (out / "fbp_ref_1rsb.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/experiments")
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--threshold", action="store_true")
    ap.add_argument("--alphas", default="0.76,0.77,0.78,0.785,0.79,0.8")
    ap.add_argument("--ns", default="501,1001,2001")
    ap.add_argument("--samples", default="8,6,3")
    ap.add_argument("--ys", default="5")
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--max-sweeps", type=int, default=500)
    args = ap.parse_args()
    jax.config.update("jax_enable_x64", True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.measure:
        measure(args)
    if args.threshold:
        threshold(args)
    if args.report:
        report(args)


if __name__ == "__main__":
    main()
