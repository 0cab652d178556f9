"""Solve time vs N: replicated SA vs standard SA vs quantum SA on the binary perceptron.

Reduced version of PNAS 113, E7655 (2016), Fig. 2 (section IV, appendix B.3) plus QSA (Baldassi &
Zecchina, PNAS 115, 1457 (2018)). For each N, ``--samples`` random instances at fixed alpha are
solved by every kind on a small grid of schedule parameters (one compiled hyper-parameter batch);
as in the paper, the solve time of an instance is the *minimum* over the grid of the attempted
moves needed to reach zero energy ("iterations"), and we report the median over instances. The
best single grid point (the smallest median) is reported too. Fits in log scale, as the paper:
power law ``log t = a + b log N`` and exponential ``log t = a + c N``, with their RMS residuals.

Runs are censored at ``--max-moves`` attempted moves; an instance that no grid point solves counts
as +inf (a median that is +inf is left out of the fits and marked in the table).

The uncertainty of the power-law exponents comes from the bootstrap over instances
(``physlearn.stats.bootstrap_power_law``: the instances of each size resampled with replacement,
the same draw for every kind, the medians refitted; 2000 resamples, 95% equal-tailed intervals).

Raw results accumulate in a JSON file, so that sizes can be run in separate invocations (each
invocation records its date, machine and load average in the JSON, and the report lists them):

    python benchmarks/annealing_scaling.py --ns 51,101,151,201 --samples 16
    python benchmarks/annealing_scaling.py --ns 301 --samples 16
    python benchmarks/annealing_scaling.py --report          # table, fits and figure only
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import numpy as np

from physlearn.algorithms import problems, quantum_sa, replicated_sa, schedules, standard_sa

# the schedule grids: every point uses schedule_every = 10 N accepted moves
GRIDS = {
    "replicated": dict(beta=schedules.exponential([1.0, 1.0, 1.0], 1.01),
                       gamma=schedules.exponential([0.75, 1.0, 1.5], 1.01)),
    "standard": dict(beta=schedules.exponential([1.5, 2.0, 3.0], 1.01)),
    "quantum": dict(beta=[4.0, 6.0, 6.0], field=schedules.exponential([0.3, 0.3, 0.5], 1 / 1.01)),
}
SOLVERS = {"replicated": replicated_sa.solve, "standard": standard_sa.solve, "quantum": quantum_sa.solve}
REPLICAS = {"replicated": 3, "standard": 3, "quantum": 4}


def run_size(n, alpha, samples, kinds, max_moves, seed=0):
    prob = problems.random_patterns(jax.random.key(seed), n, alpha, samples=samples)
    out = {}
    for kind in kinds:
        t0 = time.perf_counter()
        res = SOLVERS[kind](
            jax.random.key(seed + 1), prob, replicas=REPLICAS[kind], max_steps=max_moves,
            moves_per_step=5000, **GRIDS[kind],
        )
        steps = np.where(np.asarray(res.solved), np.asarray(res.steps, float), np.inf)  # (P, S)
        out[kind] = dict(
            steps=[[None if not np.isfinite(v) else float(v) for v in row] for row in steps],
            gave_up=np.asarray(res.gave_up).sum(axis=1).tolist(),
            seconds=time.perf_counter() - t0,
        )
        print(
            f"N={n} {kind}: per-instance min over grid, median {np.median(steps.min(0)):.3g}; "
            f"per grid point medians {[f'{m:.3g}' for m in np.median(steps, axis=1)]}; "
            f"solved {int(np.isfinite(steps.min(0)).sum())}/{samples}; {out[kind]['seconds']:.0f} s",
            flush=True,
        )
    return out


def _steps(entry):
    return np.array([[np.inf if v is None else v for v in row] for row in entry["steps"]])


def fit(ns, t):
    """Least squares in log scale: power law and exponential. Returns dicts with parameters and
    RMS residual of log10 t."""
    ns = np.asarray(ns, float)
    lt = np.log(np.asarray(t, float))
    out = {}
    for name, x in (("power", np.log(ns)), ("exp", ns)):
        A = np.stack([np.ones_like(x), x], axis=1)
        coef, *_ = np.linalg.lstsq(A, lt, rcond=None)
        res = lt - A @ coef
        out[name] = dict(a=float(coef[0]), slope=float(coef[1]), rms_log10=float(np.sqrt(np.mean(res**2)) / np.log(10)))
    return out


def _fmt(v, cap):
    return f">{cap:.0e}" if not np.isfinite(v) else f"{v:.3g}"


def _bootstrap_lines(raw, ns, kinds, fit_min_n):
    """Power-law exponents with bootstrap intervals over instances, on all sizes and on N >= fit_min_n."""
    from physlearn.stats import bootstrap_power_law

    times = np.array([[_steps(raw[str(n)][k]).min(axis=0) for n in ns] for k in kinds])  # (kind, N, instance)
    lines = ["", "Power-law exponent b of the median with its 95% bootstrap interval over instances (2000 "
             "resamples of the instances at every size, the same draw for every kind; medians refitted; "
             "'censored' is the share of resamples in which some median is above the budget, that size then left "
             "out of the fit):", "",
             "| kind | sizes | b [95% interval] | censored |", "|---|---|---|---|"]
    diffs = []
    for lo in (min(ns), fit_min_n):
        sel = [i for i, n in enumerate(ns) if n >= lo]
        if len(sel) < 3 or (lo != min(ns) and len(sel) == len(ns)):
            continue
        boot = bootstrap_power_law([ns[i] for i in sel], times[:, sel], n_boot=2000, seed=0)
        for j, k in enumerate(kinds):
            lines.append(f"| {k} | N = {ns[sel[0]]}..{ns[sel[-1]]} ({len(sel)} sizes) | {boot.exponent[j]:.2f} "
                         f"[{boot.low[j]:.2f}, {boot.high[j]:.2f}] | {boot.censored[j]:.2f} |")
        if "standard" in kinds and "replicated" in kinds:
            est, d_lo, d_hi, p = boot.difference(kinds.index("standard"), kinds.index("replicated"))
            diffs.append(f"N = {ns[sel[0]]}..{ns[sel[-1]]}: {est:.2f} [{d_lo:.2f}, {d_hi:.2f}], positive in "
                         f"{100 * p:.1f}% of the paired resamples")
    if diffs:
        lines += ["", "Standard minus replicated exponent (paired bootstrap): " + "; ".join(diffs) + "."]
    return lines


def _runs_lines(runs):
    if not runs:
        return []
    return ["", "Runs (date, N, machine, load average at the start; the sizes ran one after another, at nice 19, "
            "with other jobs on the machine):", ""] + [
        f"- {r['date']}: N = {r['n']}, {r.get('cpu', '?')}, {r.get('cores', '?')} cores, load {r.get('load', '?')}, "
        f"{r.get('seconds', float('nan')):.0f} s" for r in runs]


def report(raw, out_prefix, alpha, max_moves, fit_min_n=151, runs=()):
    ns = sorted(int(n) for n in raw)
    kinds = [k for k in ("replicated", "standard", "quantum") if all(k in raw[str(n)] for n in ns)]
    med, q1, q3, best_point, solved, secs = {}, {}, {}, {}, {}, {}
    for k in kinds:
        med[k], q1[k], q3[k], best_point[k], solved[k], secs[k] = [], [], [], [], [], []
        for n in ns:
            st = _steps(raw[str(n)][k])
            per = st.min(axis=0)
            med[k].append(float(np.median(per)))
            # quartiles as order statistics (censored runs are +inf: no interpolation with inf)
            q1[k].append(float(np.quantile(per, 0.25, method="inverted_cdf")))
            q3[k].append(float(np.quantile(per, 0.75, method="inverted_cdf")))
            best_point[k].append(float(np.min(np.median(st, axis=1))))
            solved[k].append(f"{int(np.isfinite(per).sum())}/{per.size}")
            secs[k].append(raw[str(n)][k]["seconds"])
    fits = {}  # (kind, range) -> fit
    for k in kinds:
        for lo in (min(ns), fit_min_n):
            ok = [i for i, m in enumerate(med[k]) if np.isfinite(m) and ns[i] >= lo]
            if len(ok) >= 3 and (lo == min(ns) or (k, min(ns)) not in fits or len(ok) < len(fits[k, min(ns)]["ns"])):
                fits[k, lo] = fit([ns[i] for i in ok], [med[k][i] for i in ok])
                fits[k, lo]["ns"] = [ns[i] for i in ok]

    lines = [
        f"# Annealing solve time vs N (perceptron, alpha = {alpha})",
        "",
        "Produced by `benchmarks/annealing_scaling.py` (see its docstring). Iterations = attempted single-flip "
        f"moves of the whole replicated system until some replica has zero energy; censored at {max_moves:.0e}. "
        "Per instance: minimum over the schedule grid (the paper's procedure); the table gives the median over "
        "instances [interquartile range], the number solved by some grid point, and the median of the best "
        "single grid point.",
        "",
        "Grids (all with `schedule_every = 10 N` accepted moves): "
        + "; ".join(f"{k} (y={REPLICAS[k]}): " + ", ".join(f"{a}={v}" for a, v in GRIDS[k].items()) for k in kinds),
        "",
        "| N | " + " | ".join(f"{k} median [IQR] | {k} solved | {k} best point" for k in kinds) + " |",
        "|---|" + "---|---|---|" * len(kinds),
    ]
    for i, n in enumerate(ns):
        cells = []
        for k in kinds:
            cells += [
                f"{_fmt(med[k][i], max_moves)} [{_fmt(q1[k][i], max_moves)}, {_fmt(q3[k][i], max_moves)}]",
                solved[k][i],
                _fmt(best_point[k][i], max_moves),
            ]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", "Fits of the median (natural logs; RMS residual in decades):", "",
              "| kind | power law t = e^a N^b | RMS | exponential t = e^a e^(c N) | RMS |", "|---|---|---|---|---|"]
    for (k, _lo), f in sorted(fits.items(), key=lambda kv: (kinds.index(kv[0][0]), kv[0][1])):
        p, e = f["power"], f["exp"]
        lines.append(
            f"| {k} (N = {f['ns'][0]}..{f['ns'][-1]}) | a = {p['a']:.2f}, b = {p['slope']:.2f} | {p['rms_log10']:.3f} "
            f"| a = {e['a']:.2f}, c = {e['slope']:.4f} (doubling every {np.log(2) / e['slope']:.0f} in N) "
            f"| {e['rms_log10']:.3f} |"
        )
    if "standard" in kinds and "replicated" in kinds:
        ratio = [s / r for s, r in zip(med["standard"], med["replicated"])]
        lines += ["", "Standard / replicated median ratio: " + ", ".join(f"N={n}: {r:.3g}" for n, r in zip(ns, ratio))]
    lines += _bootstrap_lines(raw, ns, kinds, fit_min_n)
    lines += _runs_lines(list(runs))
    lines += ["", "Wall time per size and kind (s, 2-core shared CPU, float32): "
              + "; ".join(f"N={n}: " + ", ".join(f"{k} {secs[k][i]:.0f}" for k in kinds) for i, n in enumerate(ns))]
    md = "\n".join(lines) + "\n"
    with open(out_prefix + ".md", "w") as fh:
        fh.write(md)
    print(md)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    colours = {"replicated": "C0", "standard": "C3", "quantum": "C2"}
    xs = np.linspace(min(ns), max(ns), 100)
    for ax, xscale in zip(axes, ("linear", "log")):
        for k in kinds:
            m = np.array(med[k])
            ok = np.isfinite(m)
            lo_err = m - np.array(q1[k])
            hi = np.minimum(np.array(q3[k]), max_moves)  # censored quartile drawn at the budget
            ax.errorbar(np.array(ns)[ok], m[ok], yerr=np.array([lo_err, hi - m])[:, ok], fmt="o", color=colours[k],
                        label=f"{k} SA (y={REPLICAS[k]})", capsize=3)
            if (k, min(ns)) in fits:
                p, e = fits[k, min(ns)]["power"], fits[k, min(ns)]["exp"]
                ax.plot(xs, np.exp(p["a"]) * xs ** p["slope"], "-", color=colours[k], lw=1)
                ax.plot(xs, np.exp(e["a"] + e["slope"] * xs), "--", color=colours[k], lw=1)
        ax.axhline(max_moves, color="grey", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xscale(xscale)
        if xscale == "log":
            ax.set_xticks(ns)
            ax.set_xticklabels([str(n) for n in ns], fontsize=7)
            ax.minorticks_off()
        ax.set_xlabel("N" + (" (log scale)" if xscale == "log" else ""))
    axes[0].set_ylabel("iterations to solution (median over instances)")
    axes[0].set_title("exponential fits are straight here (dashed)", fontsize=9)
    axes[1].set_title("power-law fits are straight here (solid)", fontsize=9)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"binary perceptron, alpha = {alpha}: replicated vs standard vs quantum SA "
                 f"(budget {max_moves:.0e}, dotted)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_prefix + ".png", dpi=85)
    print("wrote", out_prefix + ".md", out_prefix + ".png")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", default="51,101,151,201")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--kinds", default="replicated,standard,quantum")
    ap.add_argument("--max-moves", type=int, default=4_000_000)
    ap.add_argument("--raw", default=None, help="JSON file of raw results (default: <out>_raw.json)")
    ap.add_argument("--out", default="docs/experiments/annealing_scaling")
    ap.add_argument("--report", action="store_true", help="only rebuild the table, fits and figure")
    ap.add_argument("--fit-min-n", type=int, default=151, help="second set of fits on N >= this")
    args = ap.parse_args(argv)
    raw_path = args.raw or args.out + "_raw.json"
    raw = {}
    if os.path.exists(raw_path):
        with open(raw_path) as fh:
            raw = json.load(fh)
        if raw.get("_alpha", args.alpha) != args.alpha:
            raise SystemExit(f"{raw_path} holds alpha={raw['_alpha']}; use another --raw")
    meta = {k: raw.pop(k) for k in list(raw) if k.startswith("_")}
    runs = list(meta.get("_runs", []))
    if not args.report:
        import datetime
        import platform

        for n in [int(v) for v in args.ns.split(",") if v]:
            info = {"n": n, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
                    "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
            try:
                with open("/proc/cpuinfo") as fh:
                    info["cpu"] = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
            except (OSError, StopIteration):
                pass
            t0 = time.perf_counter()
            raw.setdefault(str(n), {}).update(
                run_size(n, args.alpha, args.samples, args.kinds.split(","), args.max_moves)
            )
            info["seconds"] = time.perf_counter() - t0
            runs.append(info)
            with open(raw_path, "w") as fh:
                json.dump({"_alpha": args.alpha, "_max_moves": args.max_moves, "_jax": jax.__version__,
                           "_runs": runs, **raw}, fh)
    report(raw, args.out, args.alpha, meta.get("_max_moves", args.max_moves), args.fit_min_n, runs)


if __name__ == "__main__":
    main()
