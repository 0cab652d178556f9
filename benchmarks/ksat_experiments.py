"""K-SAT and EdMC experiments (issue #25). Not part of CI.

Parts (``--part``), each appending its raw results to ``--raw`` (JSON; reruns replace the same
keys) so that long campaigns can be split into runs of well under an hour; ``--report`` redraws
the figures and the Markdown page from the JSON without running anything.

* ``entropy``: BP's Bethe entropy on random 3-SAT at alpha = 2 and 3 (N = ``--ns``, ``--samples``
  instances, float64) against the RS cavity entropy by population dynamics
  (``physlearn.theory.ksat.entropy_rs``) and the annealed entropy.
* ``psolve``: probability of solving vs alpha for BPGD, rBP, fBP and WalkSAT (``--algos``) at
  K = ``--k`` and N = ``--ns``, ``--samples`` instances per point, every solution verified by
  counting violated clauses; budgets per run in the JSON and the page (sweeps for the BP family,
  flips for WalkSAT; ``--budget`` overrides them). The satisfiability of the small-N instances is
  checked with PySAT (CaDiCaL) where that is cheap (N <= ``--pysat-max-n``, ``--pysat-limit`` s
  per instance; near the 4-SAT threshold at N = 1000 the interrupt did not stop CaDiCaL here, so
  the 2026-12-05 runs used ``--pysat-max-n 0``). The BPGD controls ``bpgd_pure`` (random variable
  drawn from its marginal, success only when the fixed variables alone satisfy every clause),
  ``bpgd_greedy`` (the same with the most polarised variable) and ``bpgd_single`` (the default
  read-out) fix ``--pure-fix`` variables per round.
* ``edmc``: EdMC vs simulated annealing (``standard_sa``: one Metropolis chain on the min-flip
  energy, its default schedule) on random perceptrons: attempted moves and seconds to solution vs N at the
  loads ``--alphas``; SA gets the same number of attempted moves as EdMC's budget and, separately,
  ``--sa-factor`` times more.

    nice python benchmarks/ksat_experiments.py --part entropy --ns 5000 --samples 8
    nice python benchmarks/ksat_experiments.py --part psolve --k 4 --ns 5000 --samples 8
    nice python benchmarks/ksat_experiments.py --part psolve --k 4 --ns 20000 --samples 2 --budget walksat=150
    nice python benchmarks/ksat_experiments.py --part psolve --k 4 --ns 1000 --algos bpgd_pure,bpgd_greedy --pure-fix 2
    nice python benchmarks/ksat_experiments.py --part edmc --ns 101,201,401 --alphas 0.3,0.5,0.6
    python benchmarks/ksat_experiments.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # the entropy part measures in float64; algorithms keep float32

from physlearn.algorithms import edmc, energies, ksat, problems, schedules, standard_sa
from physlearn.algorithms.ksat import bp, bpgd, focusing, walksat
from physlearn.theory import ksat as theory

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "docs" / "experiments" / "ksat_raw.json"
OUT = ROOT / "docs" / "experiments"

# alpha grids (sized for a shared 2-core CPU; denser grids are one --alphas away)
ALPHAS = {3: [3.8, 4.0, 4.1, 4.2], 4: [8.5, 9.0, 9.3, 9.6]}
# budgets per run (sweeps for the BP family, flips for WalkSAT)
BUDGET = {"bpgd": 6000, "rbp": 1500, "fbp": 2000, "rbp_slow": 8000, "fbp_slow": 8000,
          "bpgd_pure": 30_000, "bpgd_greedy": 30_000, "bpgd_single": 30_000}
# BPGD controls (``--pure-fix`` variables per round, BP to a change below 1e-3 or 50 sweeps between
# rounds): bpgd_pure = random variable drawn from its marginal, success only when the fixed
# variables satisfy every clause (the decimation analysed by Montanari, Ricci-Tersenghi and
# Semerjian); bpgd_greedy = the same with the most polarised variable; bpgd_single = the default
# BPGD (most polarised, stop when the marginals of the free variables finish the job) but with
# --pure-fix variables per round instead of 1% of N
BPGD_VARIANTS = {"bpgd_pure": dict(order="random", readout="fixed"),
                 "bpgd_greedy": dict(order="polarised", readout="fixed"),
                 "bpgd_single": dict(order="polarised", readout="marginals")}
PURE_FIX = 1
# the *_slow variants anneal 5x more slowly: rBP's rho reaches 1 after 2500 sweeps (default 500),
# fBP's gamma grows by 0.01 per protocol step (default 0.05)
WALKSAT_FLIPS_PER_N = 2000  # flips per run = 2000 N


def _load(path):
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def _budgets(text):
    """``--budget bpgd=6000,walksat=500``: per-run budgets replacing :data:`BUDGET` (sweeps) and, for
    ``walksat``, :data:`WALKSAT_FLIPS_PER_N` (flips per variable)."""
    global WALKSAT_FLIPS_PER_N
    for item in filter(None, text.split(",")):
        name, value = item.split("=")
        if name == "walksat":
            WALKSAT_FLIPS_PER_N = int(value)
        elif name in BUDGET:
            BUDGET[name] = int(value)
        else:
            raise SystemExit(f"--budget: unknown algorithm {name!r}")
    return text


def _save(path, data):
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True))


def _load_info():
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "load unknown"


# ------------------------------------------------------------------------------------------------
def part_entropy(args, raw):
    for alpha in (2.0, 3.0):
        key = f"{alpha}/{args.population}/{args.generations}"
        if key not in raw.get("rs", {}):  # the population dynamics is the slow part: kept between runs
            t0 = time.time()
            rs = theory.entropy_rs(alpha, 3, population=args.population, generations=args.generations, burn_in=100)
            raw.setdefault("rs", {})[key] = dict(entropy=rs.entropy, stderr=rs.stderr, annealed=rs.annealed,
                                                 population=rs.population, generations=rs.generations,
                                                 seconds=time.time() - t0)
            _save(args.raw, raw)
        rs = theory.EntropyRS(alpha=alpha, k=3, **{k: v for k, v in raw["rs"][key].items() if k != "seconds"})
        t_rs = raw["rs"][key]["seconds"]
        for n in args.ns:
            t0 = time.time()
            p = ksat.random_ksat(jax.random.key(1000 + n), n, alpha, 3, samples=args.samples)
            r = bp.solve(jax.random.key(1), p, max_steps=3000, dtype=jnp.float64, epsilon=1e-10, progress=False)
            s = np.asarray(r.entropy)
            raw.setdefault("entropy", {})[f"{alpha}/{n}"] = dict(
                alpha=alpha, n=n, samples=args.samples, bethe=s.tolist(), converged=np.asarray(r.converged).tolist(),
                sweeps=np.asarray(r.steps).tolist(), rs=rs.entropy, rs_stderr=rs.stderr, annealed=rs.annealed,
                population=rs.population, generations=rs.generations, seconds_bp=time.time() - t0,
                seconds_rs=t_rs, load=_load_info(), date=time.strftime("%Y-%m-%d"),
            )
            print(f"alpha={alpha} N={n}: Bethe {s.mean():.5f} +- {s.std(ddof=1) / np.sqrt(len(s)):.5f} "
                  f"(converged {int(np.sum(r.converged))}/{len(s)}), RS {rs.entropy:.5f} +- {rs.stderr:.5f}, "
                  f"annealed {rs.annealed:.5f}", flush=True)
            _save(args.raw, raw)


# ------------------------------------------------------------------------------------------------
def _pysat_sat(p, limit_s):
    from threading import Timer

    from pysat.solvers import Solver

    out = []
    for s in range(p.n_samples):
        with Solver(name="cadical153", bootstrap_with=ksat.to_clauses(p.sample(s))) as sol:
            timer = Timer(limit_s, lambda: sol.interrupt())
            timer.start()
            res = sol.solve_limited(expect_interrupt=True)
            timer.cancel()
            out.append(None if res is None else bool(res))
    return out


def _run_algo(name, key, p, n):
    if name == "bpgd":
        return bpgd.solve(key, p, max_steps=BUDGET["bpgd"], progress=False)
    if name in BPGD_VARIANTS:
        return bpgd.solve(key, p, fraction=PURE_FIX / n, sweeps_per_round=50, epsilon=1e-3, max_steps=BUDGET[name],
                          progress=False, **BPGD_VARIANTS[name])
    if name == "rbp":
        return focusing.solve_rbp(key, p, max_steps=BUDGET["rbp"], progress=False)
    if name == "fbp":
        return focusing.solve_fbp(key, p, max_steps=BUDGET["fbp"], progress=False)
    if name == "rbp_slow":
        return focusing.solve_rbp(key, p, reinforcement=focusing.default_reinforcement(0.0, 4e-4),
                                  max_steps=BUDGET[name], progress=False)
    if name == "fbp_slow":
        return focusing.solve_fbp(key, p, gamma=schedules.linear(0.01, 0.01), max_steps=BUDGET[name], progress=False)
    if name == "walksat":
        return walksat.solve(key, p, max_steps=WALKSAT_FLIPS_PER_N * n, progress=False)
    raise ValueError(name)


def part_psolve(args, raw):
    k = args.k
    alphas = args.alphas or ALPHAS[k]
    for n in args.ns:
        for alpha in alphas:
            p = ksat.random_ksat(jax.random.key(int(1e6 * k + 1000 * alpha + n)), n, alpha, k, samples=args.samples)
            entry = raw.setdefault("psolve", {}).setdefault(f"{k}/{n}/{alpha}", dict(k=k, n=n, alpha=alpha))
            if n <= args.pysat_max_n and "sat" not in entry:
                entry["sat"] = _pysat_sat(p, args.pysat_limit)
            for name in args.algos:
                t0 = time.time()
                r = _run_algo(name, jax.random.key(7), p, n)
                e = np.asarray(ksat.num_violated(r.weights, p))  # verified here once more
                assert np.array_equal(e == 0, np.asarray(r.solved))
                budget = f"{WALKSAT_FLIPS_PER_N * n} flips" if name == "walksat" else f"{BUDGET[name]} sweeps"
                if name in BPGD_VARIANTS:
                    budget += f", {PURE_FIX} variable(s) per round"
                entry[name] = dict(solved=(e == 0).tolist(), errors=e.tolist(), steps=np.asarray(r.steps).tolist(),
                                   budget=budget, seconds=time.time() - t0, load=_load_info(),
                                   date=time.strftime("%Y-%m-%d"))
                print(f"K={k} N={n} alpha={alpha} {name}: {int((e == 0).sum())}/{len(e)} solved, errors {e.tolist()}, "
                      f"steps {np.asarray(r.steps).tolist()} ({time.time() - t0:.0f} s)", flush=True)
                _save(args.raw, raw)


# ------------------------------------------------------------------------------------------------
def part_edmc(args, raw):
    for alpha in args.alphas:
        for n in args.ns:
            p = problems.random_patterns(jax.random.key(int(1000 * alpha) + n), n, alpha, samples=args.samples)
            t0 = time.time()
            r = edmc.solve(jax.random.key(3), p, max_steps=args.edmc_steps, stop="centre", progress=False)
            t_e = time.time() - t0
            ok = np.asarray(jax.vmap(energies.num_errors)(r.reference, p)) == 0
            assert np.array_equal(ok, np.asarray(r.solved) & (np.asarray(r.reference_errors) == 0))
            moves = np.asarray(r.steps)
            budget = args.edmc_steps * n
            res = {}
            for label, mm in (("sa_same", budget), ("sa_more", budget * args.sa_factor)):
                t0 = time.time()
                s = standard_sa.solve(jax.random.key(4), p, replicas=1, max_steps=int(mm), progress=False)
                res[label] = dict(solved=np.asarray(s.solved).tolist(), moves=np.asarray(s.steps).tolist(),
                                  budget=int(mm), seconds=time.time() - t0)
            raw.setdefault("edmc", {})[f"{alpha}/{n}"] = dict(
                alpha=alpha, n=n, samples=args.samples, edmc=dict(
                    solved=ok.tolist(), moves=moves.tolist(), bp_sweeps=np.asarray(r.bp_sweeps).tolist(),
                    accepted=np.asarray(r.accepted).tolist(), budget=budget, seconds=t_e),
                **res, load=_load_info(), date=time.strftime("%Y-%m-%d"),
            )
            print(f"alpha={alpha} N={n}: EdMC {int(ok.sum())}/{len(ok)} (moves {moves.tolist()}, {t_e:.0f} s); "
                  f"SA same budget {int(np.sum(res['sa_same']['solved']))}/{len(ok)}; "
                  f"SA x{args.sa_factor} {int(np.sum(res['sa_more']['solved']))}/{len(ok)} "
                  f"({res['sa_more']['seconds']:.0f} s)", flush=True)
            _save(args.raw, raw)


# ------------------------------------------------------------------------------------------------
FINDINGS_BEGIN = "<!-- findings: written by hand, kept by --report -->"
FINDINGS_END = "<!-- end of findings -->"


def _threshold(rows, algo):
    """Where P(solve) first drops below 1/2 on the alpha grid: ``(last alpha with P >= 1/2 before it,
    first alpha with P < 1/2)``, either None when absent; ``nonmonotone`` when P climbs back to
    1/2 or more at a larger alpha."""
    pts = sorted((v["alpha"], float(np.mean(v[algo]["solved"]))) for v in rows if algo in v)
    first = next((i for i, (_, q) in enumerate(pts) if q < 0.5), None)
    if first is None:
        return (pts[-1][0] if pts else None), None, False
    below = pts[first][0]
    above = pts[first - 1][0] if first > 0 else None
    return above, below, any(q >= 0.5 for _, q in pts[first + 1:])


def _threshold_lines(raw):
    entries = list(raw["psolve"].values())
    algos = [a for a in ("bpgd", "rbp", "fbp", "walksat", "fbp_slow", "rbp_slow", *BPGD_VARIANTS)
             if any(a in v for v in entries)]
    lines = ["## Algorithmic thresholds seen", "",
             "Where P(solve) first drops below 1/2 on each alpha grid: `a-b` means P >= 1/2 at alpha = a and "
             "P < 1/2 at the next grid point b (`< b`: already below at the smallest alpha run; `> a`: never "
             "below on the grid; `*`: P climbs back to 1/2 or more at a larger alpha). Instances and budgets "
             "as in the tables below; a coarse grid and 2-4 instances per point make these brackets, not "
             "estimates.", "",
             "| K | N | " + " | ".join(algos) + " | alpha_d | alpha_c | alpha_s |",
             "|---|---" + "|---" * (len(algos) + 3) + "|"]
    for k, n in sorted({(v["k"], v["n"]) for v in entries}):
        rows = [v for v in entries if v["k"] == k and v["n"] == n]
        cells = []
        for a in algos:
            if not any(a in v for v in rows):
                cells.append("")
                continue
            above, below, nonmono = _threshold(rows, a)
            cell = f"> {above}" if below is None else (f"< {below}" if above is None else f"{above}-{below}")
            cells.append(cell + ("*" if nonmono else ""))
        th = theory.THRESHOLDS[k]
        lines.append(f"| {k} | {n} | " + " | ".join(cells) + f" | {th['alpha_d']} | {th['alpha_c']} | {th['alpha_s']} |")
    return lines + [""]


def report(raw, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# Random K-SAT and EdMC experiments (issue #25)", "",
             "Generated by `benchmarks/ksat_experiments.py --report` from `ksat_raw.json` (the commands are in the",
             "script's docstring and in `README.md` here). Every solution counted below was verified by",
             "counting the violated clauses (training errors) of the returned configuration.", ""]
    if "entropy" in raw:
        lines += ["## BP's Bethe entropy vs the RS cavity entropy (random 3-SAT)", "",
                  "| alpha | N | instances | Bethe entropy (mean +- s.e.) | RS (population dynamics) | difference | annealed |",
                  "|---|---|---|---|---|---|---|"]
        for key in sorted(raw["entropy"], key=lambda s: tuple(map(float, s.split("/")))):
            d = raw["entropy"][key]
            b = np.asarray(d["bethe"])
            se = b.std(ddof=1) / np.sqrt(len(b))
            lines.append(f"| {d['alpha']} | {d['n']} | {len(b)} ({sum(d['converged'])} converged) | {b.mean():.5f} +- "
                         f"{se:.5f} | {d['rs']:.5f} +- {d['rs_stderr']:.5f} | {b.mean() - d['rs']:+.5f} | "
                         f"{d['annealed']:.5f} |")
        d0 = next(iter(raw["entropy"].values()))
        lines += ["", f"Population {d0['population']}, {d0['generations']} measured generations after 100; BP in float64 "
                  f"to a message change below 1e-10; {d0['load']} ({d0['date']}).", ""]
    previous = (out / "ksat.md").read_text() if (out / "ksat.md").exists() else ""
    if FINDINGS_BEGIN in previous and FINDINGS_END in previous:
        i, j = previous.index(FINDINGS_BEGIN), previous.index(FINDINGS_END) + len(FINDINGS_END)
        lines += [previous[i:j], ""]
    if "psolve" in raw:
        lines += _threshold_lines(raw)
        ks = sorted({v["k"] for v in raw["psolve"].values()})
        ncol = max(len({v["n"] for v in raw["psolve"].values() if v["k"] == k}) for k in ks)
        fig, axes = plt.subplots(len(ks), ncol, figsize=(4.6 * ncol, 3.8 * len(ks)), squeeze=False)
        for row, k in zip(axes, ks):
            entries = [v for v in raw["psolve"].values() if v["k"] == k]
            ns = sorted({v["n"] for v in entries})
            for ax in row[len(ns):]:
                ax.set_visible(False)
            algos = [a for a in ("bpgd", "rbp", "fbp", "walksat", "rbp_slow", "fbp_slow", *BPGD_VARIANTS)
                     if any(a in v for v in entries)]
            lines += [f"## P(solve) vs alpha, K = {k}", ""]
            for ax, n in zip(row, ns):
                rows = sorted([v for v in entries if v["n"] == n], key=lambda v: v["alpha"])
                hdr = "| alpha | " + " | ".join(algos) + (" | PySAT SAT |" if any("sat" in v for v in rows) else " |")
                lines += [f"N = {n}:", "", hdr, "|---" * (len(algos) + 1 + any("sat" in v for v in rows)) + "|"]
                for v in rows:
                    cells = []
                    for a in algos:
                        if a in v:
                            s = np.asarray(v[a]["solved"])
                            cells.append(f"{s.mean():.2f} ({int(s.sum())}/{len(s)})")
                        else:
                            cells.append("-")
                    sat = ""
                    if "sat" in v:
                        known = [x for x in v["sat"] if x is not None]
                        sat = f" | {sum(known)}/{len(known)}" + (f" ({len(v['sat']) - len(known)} undecided)" if len(known) < len(v["sat"]) else "")
                    lines.append(f"| {v['alpha']} | " + " | ".join(cells) + sat + " |")
                lines += ["", "Median steps of the solved runs (sweeps for the BP family, flips for WalkSAT):", "",
                          "| alpha | " + " | ".join(algos) + " |", "|---" * (len(algos) + 1) + "|"]
                for v in rows:
                    cells = []
                    for a in algos:
                        st = [t for t, ok in zip(v[a]["steps"], v[a]["solved"]) if ok] if a in v else []
                        cells.append(f"{np.median(st):.4g}" if st else "-")
                    lines.append(f"| {v['alpha']} | " + " | ".join(cells) + " |")
                lines += ["", "Budget per run, wall time per point (all instances together) and the machine's load:", ""]
                for a in algos:
                    per = [(v["alpha"], v[a]) for v in rows if a in v]
                    lines.append(f"- {a}: " + "; ".join(
                        f"alpha {al}: {e['budget']}, {e['seconds']:.0f} s, {e['load']} ({e['date']})" for al, e in per))
                lines.append("")
                for a, m in zip(algos, "osd^vx<>P"):
                    xs = [v["alpha"] for v in rows if a in v]
                    ys = [np.mean(v[a]["solved"]) for v in rows if a in v]
                    if xs:
                        ax.plot(xs, ys, marker=m, ls="--" if a.startswith("bpgd_") else "-", label=a)
                th = theory.THRESHOLDS[k]
                for name, ls in (("alpha_d", ":"), ("alpha_c", "--"), ("alpha_s", "-")):
                    ax.axvline(th[name], color="k", ls=ls, lw=0.8, label=f"{name} = {th[name]}")
                ax.set_xlabel("alpha = M/N")
                ax.set_ylabel("P(solve)")
                ax.set_ylim(-0.05, 1.05)
                ax.set_xlim(min(v["alpha"] for v in entries) - 0.05, max(th["alpha_s"], *(v["alpha"] for v in entries)) + 0.05)
                ax.set_title(f"random {k}-SAT, N = {n}")
                ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        fig.savefig(out / "ksat_psolve.png", dpi=120)
        lines += ["![P(solve) vs alpha](ksat_psolve.png)", ""]
    if "edmc" in raw:
        lines += ["## EdMC vs simulated annealing (random binary perceptron)", "",
                  "SA is `standard_sa` (one chain, min-flip energy, its default schedule, `replicas=1`). Its "
                  "schedule does not depend on the budget, so a run with a larger budget passes through the "
                  "same states: *SA within EdMC's moves* counts the instances that SA solved in no more attempted "
                  "moves than EdMC used on the same instance; *SA, EdMC's budget* gives SA EdMC's whole budget "
                  "(`--edmc-steps` x N moves), *SA, 100x* a hundred times more. An EdMC move costs a BP "
                  "re-convergence (the BP sweeps column), an SA move O(alpha N) operations: the wall times compare "
                  "the real cost.", "",
                  "| alpha | N | instances | EdMC solved | EdMC moves (median) | EdMC BP sweeps (median) | EdMC s | "
                  "SA within EdMC's moves | SA, EdMC's budget | SA, 100x | SA moves (median) | SA s (100x) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        fig, ax = plt.subplots(figsize=(6, 4))
        for alpha in sorted({v["alpha"] for v in raw["edmc"].values()}):
            rows = sorted([v for v in raw["edmc"].values() if v["alpha"] == alpha], key=lambda v: v["n"])
            for v in rows:
                e = v["edmc"]
                mv = np.where(e["solved"], e["moves"], np.inf)
                sw = np.where(e["solved"], e["bp_sweeps"], np.inf)
                sa = v["sa_more"]
                within = sum(bool(ok and se and m <= em) for ok, se, m, em in
                             zip(sa["solved"], e["solved"], sa["moves"], e["moves"]))
                sa_mv = np.where(sa["solved"], sa["moves"], np.inf)
                lines.append(
                    f"| {alpha} | {v['n']} | {v['samples']} | {sum(e['solved'])}/{v['samples']} | {np.median(mv):.0f} | "
                    f"{np.median(sw):.0f} | {e['seconds']:.0f} | {within}/{v['samples']} | "
                    f"{sum(v['sa_same']['solved'])}/{v['samples']} | {sum(sa['solved'])}/{v['samples']} | "
                    f"{np.median(sa_mv):.0f} | {sa['seconds']:.0f} |")
            ns = [v["n"] for v in rows]
            med = [np.median(np.where(v["edmc"]["solved"], v["edmc"]["moves"], np.inf)) for v in rows]
            sa = [np.median(np.where(v["sa_more"]["solved"], v["sa_more"]["moves"], np.inf)) for v in rows]
            ax.plot(ns, med, "o-", label=f"EdMC alpha={alpha}")
            ax.plot(ns, sa, "s--", label=f"SA alpha={alpha}")
        loads = sorted({v["load"] for v in raw["edmc"].values()})
        budgets = sorted({v["edmc"]["budget"] // v["n"] for v in raw["edmc"].values()})
        lines += ["", f"EdMC budget {', '.join(map(str, budgets))} sweeps of N attempted moves (its defaults otherwise: "
                  "gamma = exponential(0.3, 1.2), beta = inf, stop='centre'); measured "
                  f"{', '.join(sorted({v['date'] for v in raw['edmc'].values()}))} at {loads[0]} to {loads[-1]}."]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N")
        ax.set_ylabel("attempted moves to solution (median; inf = not solved)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "edmc_vs_sa.png", dpi=120)
        lines += ["", "![EdMC vs SA](edmc_vs_sa.png)", ""]
    (out / "ksat.md").write_text("\n".join(lines) + "\n")
    print("wrote", out / "ksat.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["entropy", "psolve", "edmc"])
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--raw", default=str(RAW))
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--ns", type=lambda s: [int(x) for x in s.split(",")], default=[5000])
    ap.add_argument("--alphas", type=lambda s: [float(x) for x in s.split(",")], default=None)
    ap.add_argument("--algos", type=lambda s: s.split(","), default=["bpgd", "rbp", "fbp", "walksat"])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--population", type=int, default=200_000)
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--pysat-max-n", type=int, default=1000)
    ap.add_argument("--pysat-limit", type=float, default=60.0, help="seconds per instance for PySAT")
    ap.add_argument("--pure-fix", type=int, default=1, help="variables fixed per round by the bpgd_* controls")
    ap.add_argument("--budget", type=_budgets, default="",
                    help="per-run budgets, e.g. bpgd=6000,walksat=500 (walksat: flips per variable)")
    ap.add_argument("--edmc-steps", type=int, default=30)
    ap.add_argument("--sa-factor", type=int, default=100)
    args = ap.parse_args()
    global PURE_FIX
    PURE_FIX = args.pure_fix
    raw = _load(args.raw)
    if args.part == "entropy":
        part_entropy(args, raw)
    elif args.part == "psolve":
        part_psolve(args, raw)
    elif args.part == "edmc":
        if args.alphas is None:
            args.alphas = [0.3, 0.5, 0.6]
        part_edmc(args, raw)
    if args.report or args.part:
        report(_load(args.raw), Path(args.out))


if __name__ == "__main__":
    main()
