"""Run the ``benchmarks/bench_*.py`` files, store their raw results in ``benchmarks/results.json``
and re-render ``benchmarks/RESULTS.md`` from that file.

Each benchmark module defines

* ``run() -> list[dict]``: one row per workload, keys ``workload``, ``physlearn_s``, ``baseline_s``,
  ``ratio`` (baseline / physlearn) and ``notes``;
  optional keys ``physlearn_spread`` / ``baseline_spread`` (``[min, max, rounds]`` around the
  median ``physlearn_s`` / ``baseline_s``, from ``_timing.timed``) and ``work`` (the FLOPs, bytes and
  transcendental evaluations one unit of work needs, counted from the algorithm: see
  ``ceilings.py``), from which the floor column is computed;
* optionally ``scaling() -> list[dict]``: one entry per (workload, variable), keys ``workload``,
  ``variable`` (``"N"``, ``"samples"``, ``"points"``, ...), ``values`` (the x values),
  ``physlearn_s`` and ``baseline_s`` (times at each value, ``None`` where not measured) and an
  optional ``notes``.

physlearn and its NumPy/SciPy baseline run side by side in this one process, compile time
excluded. Every run first measures this machine's ceilings (``ceilings.py``: matrix-product and
element-wise FLOP rates, memory bandwidth, transcendental throughput) and stores them with each
section it runs, so that every floor is computed at the ceilings of the run that timed its row.
Every run of a file replaces only that file's section (rows, scaling or both) in the JSON, with
the machine, the date and the load average of that run; the Markdown is always rendered from the
whole JSON, so re-running a few files loses nothing.

    python benchmarks/run.py                    # every file, rows and scaling
    python benchmarks/run.py rsgd sbp           # only bench_rsgd.py and bench_sbp.py
    python benchmarks/run.py --no-scaling       # rows only (keep the stored scaling entries)
    python benchmarks/run.py fbp --only-scaling # scaling only
    python benchmarks/run.py --render           # re-render RESULTS.md from results.json, run nothing
    python benchmarks/run.py --no-ceilings sbp  # skip the ceilings (the section then has no floor)
    python benchmarks/run.py --quick            # every row at its smallest size (each file's QUICK),
                                                # quick ceilings, written to a scratch folder: a check

The re-measurement of record is ``nice -n 10 python benchmarks/run.py --no-scaling``: the ceilings
and every row at the issue's sizes, rows replaced in ``results.json``, ``RESULTS.md`` re-rendered
(the stored scaling sections stay, with their own dates).

JSON layout (``FORMAT`` = 1)::

    {"format": 1,
     "ceilings": {"date": "YYYY-MM-DD", "machine": {...}, "values": {...}},   # the latest measured
     "files": {"bench_sbp.py": {"rows":    {"date": "YYYY-MM-DD", "machine": {...}, "items": [row, ...],
                                            "load": [before, after], "ceilings": {...}},
                                "scaling": {"date": "YYYY-MM-DD", "machine": {...}, "items": [entry, ...]}},
               ...}}

``machine`` = ``{"system", "arch", "processor", "cores", "python", "jax", "backend", "devices",
"blas_threads"}`` (see :func:`machine_info`).

BLAS threads: unless the caller sets them, ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/
``MKL_NUM_THREADS`` are set to 1 before NumPy is imported. Multithreaded OpenBLAS on a small shared
machine has a bimodal, sometimes 10x slower mode (oversubscription), which would inflate the ratios;
single-threaded it is stable and fast for these small matrices.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import datetime as dt
import functools
import importlib.util
import json
import math
import platform
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "physlearn-bench-quick"
"""Where ``--quick`` writes its JSON and Markdown (never over the stored results)."""
FORMAT = 1
SECTIONS = ("rows", "scaling")


# ------------------------------------------------------------------------------------------------
# measurement side
# ------------------------------------------------------------------------------------------------
def machine_info() -> dict:
    """Where the numbers come from: OS, CPU, cores, Python, JAX version, backend and devices, and
    the BLAS/OpenMP thread variables if set (they change NumPy baselines on small machines)."""
    import jax

    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    return dict(
        system=platform.system(),
        arch=platform.machine(),
        processor=platform.processor() or platform.machine(),
        cores=os.cpu_count(),
        python=platform.python_version(),
        jax=jax.__version__,
        backend=jax.default_backend(),
        devices=[d.device_kind for d in jax.devices()],
        blas_threads=threads,
    )


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _plain(x):
    """JSON-safe copy (NumPy scalars/arrays and tuples -> Python floats/ints/lists; NaN -> None)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "tolist"):
        return _plain(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def load_results(path: Path) -> dict:
    if not path.exists():
        return {"format": FORMAT, "files": {}}
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown format {data.get('format')!r} (expected {FORMAT})")
    return data


def save_results(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def merge(data: dict, file: str, section: str, items: list, *, date: str, machine: dict, **extra) -> dict:
    """Replace ``data["files"][file][section]`` (one of ``SECTIONS``) and leave everything else.
    ``extra`` (e.g. ``load``, ``ceilings``) is stored with the section."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {SECTIONS}, got {section!r}")
    sec = dict(date=date, machine=machine, items=_plain(items))
    sec.update({k: _plain(v) for k, v in extra.items() if v is not None})
    data.setdefault("files", {}).setdefault(file, {})[section] = sec
    return data


def _ceilings_module():
    """``benchmarks/ceilings.py`` (its floor arithmetic is pure Python), or None where absent."""
    path = HERE / "ceilings.py"
    return _load(path) if path.exists() else None


def floor_of(row: dict, section: dict):
    """Floor time of a row: its ``work`` at the ceilings stored with its section (None if either
    is missing)."""
    if not row.get("work") or not section.get("ceilings"):
        return None
    mod = _ceilings_module()
    return None if mod is None else mod.floor_seconds(row["work"], section["ceilings"])


# ------------------------------------------------------------------------------------------------
# rendering side (pure: JSON -> Markdown)
# ------------------------------------------------------------------------------------------------
def loglog_slope(x, t):
    """Least-squares slope of log t against log x over the points where both are finite and > 0;
    ``None`` with fewer than two such points (or a single distinct x). t = c x^p gives p."""
    pts = [(math.log(a), math.log(b)) for a, b in zip(x, t)
           if a is not None and b is not None and a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def _cell(s) -> str:
    """Table cell text: a literal ``|`` (as in ``max |u - v|``) escaped so that it does not split the cell."""
    return str(s).replace("|", "\\|")


def _g(x, digits=4):
    return "—" if x is None else f"{x:.{digits}g}"


def _ratio(r):
    if r.get("ratio") is not None:
        return f"{r['ratio']:.1f}x"
    if r.get("physlearn_s") and r.get("baseline_s") is not None:
        return f"{r['baseline_s'] / r['physlearn_s']:.1f}x"
    return "—"


def _spread(r, prefix="physlearn"):
    sp = r.get(f"{prefix}_spread")
    if not sp:
        return "—"
    lo, hi, n = sp
    return f"{lo:.3g}–{hi:.3g} (n={n})"


def _work_text(w: dict) -> str:
    parts = []
    if w.get("matmul_flops"):
        parts.append(f"{w['matmul_flops']:.3g} matmul FLOP")
    if w.get("flops"):
        parts.append(f"{w['flops']:.3g} ops")
    if w.get("bytes"):
        parts.append(f"{w['bytes']:.3g} B")
    for k, v in sorted(w.get("transcendentals", {}).items()):
        parts.append(f"{v:.3g} {k}")
    return ", ".join(parts) + f" ({w.get('dtype', 'float32')})"


def machine_line(m: dict) -> str:
    line = (f"{m.get('system', '?')} {m.get('arch', '?')} ({m.get('processor', '?')}), {m.get('cores', '?')} cores; "
            f"Python {m.get('python', '?')}; JAX {m.get('jax', '?')} (backend {m.get('backend', '?')}, "
            f"devices {m.get('devices', '?')})")
    if m.get("blas_threads"):
        line += "; " + ", ".join(f"{k}={v}" for k, v in sorted(m["blas_threads"].items()))
    return line


def render(data: dict) -> str:
    """RESULTS.md text from the JSON ``data``: header (machine, JAX, backend, date), the rows
    table and the scaling table. When sections were measured on different days or machines the
    header lists them per file and the ``file`` column carries the date."""
    files = data.get("files", {})
    sections = [(f, s, files[f][s]) for f in sorted(files) for s in SECTIONS if s in files[f]]
    machines = []
    for _, _, sec in sections:
        if sec.get("machine") not in machines:
            machines.append(sec.get("machine"))
    dates = sorted({sec.get("date") for _, _, sec in sections if sec.get("date")})
    several_dates = len(dates) > 1

    def where(f, s):
        sec = files[f][s]
        tag = f" ({sec['date']})" if several_dates and sec.get("date") else ""
        if len(machines) > 1:
            tag += f" [machine {machines.index(sec.get('machine')) + 1}]"
        return f + tag

    lines = ["# Benchmark results", ""]
    if len(machines) == 1 and machines[0]:
        lines.append(f"Machine: {machine_line(machines[0])}; date {', '.join(dates) or '?'}.")
    elif machines:
        lines.append("Machines (the `file` columns say which one, and the date, for each section):")
        lines.append("")
        for i, m in enumerate(machines, 1):
            lines.append(f"{i}. {machine_line(m or {})}")
    if several_dates:
        lines += ["", "Run dates: " + "; ".join(
            f"{f} " + ", ".join(f"{s} {files[f][s].get('date', '?')}" for s in SECTIONS if s in files[f])
            for f in sorted(files)) + "."]
    loads = [(f, s, sec["load"]) for f, s, sec in sections if sec.get("load")]
    if loads:
        lines += ["", "Load average (1 min) while timing: " + "; ".join(
            f"{f} {s} {lo:.1f}–{hi:.1f}" for f, s, (lo, hi) in loads) + " (on a machine with "
            f"{(machines[0] or {}).get('cores', '?')} cores; above it the times are inflated by other work)."]
    lines += [
        "",
        "physlearn (s) = median over at least 5 timed rounds (spread: min–max over the rounds); floor = the "
        "fewest FLOPs, bytes and transcendental evaluations one unit of work needs (counted from the algorithm in "
        "each benchmark file's `work` function) at this machine's ceilings measured in the same run (table below), "
        "`benchmarks/ceilings.py`; physlearn / floor: lower is better, 1 is the hardware limit. Ratio = baseline "
        "time / physlearn time (higher is better), both measured in the same process by "
        "`python benchmarks/run.py`; compile time excluded (warm-up call). Raw numbers: `benchmarks/results.json`.",
        "",
        "| workload | physlearn (s) | spread | floor (s) | physlearn / floor | NumPy/SciPy baseline (s) | ratio | notes "
        "| file |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    floors = []
    for f, s, sec in sections:
        if s != "rows":
            continue
        for r in sec.get("items", []):
            fl = floor_of(r, sec)
            if fl is not None:
                floors.append((r, fl))
            over = f"{r['physlearn_s'] / fl:.1f}x" if fl and r.get("physlearn_s") else "—"
            lines.append(f"| {_cell(r['workload'])} | {_g(r.get('physlearn_s'))} | {_spread(r)} | {_g(fl)} | {over} | "
                         f"{_g(r.get('baseline_s'))} | {_ratio(r)} | {_cell(r.get('notes', ''))} | {where(f, s)} |")
    if floors:
        lines += ["", "## Floors", "",
                  "The work per unit each floor is computed from (counts documented next to the algorithm in each "
                  "`bench_*.py` file's `work` function):", "",
                  "| workload | work per unit | floor (s) |", "|---|---|---|"]
        lines += [f"| {_cell(r['workload'])} | {_cell(_work_text(r['work']))} | {_g(fl)} |" for r, fl in floors]
    ceil = data.get("ceilings")
    mod = _ceilings_module() if ceil else None
    if ceil and mod is not None:
        load = ceil["values"].get("load")
        lines += ["", "## Ceilings", "",
                  f"Measured by `benchmarks/ceilings.py` on {ceil.get('date', '?')}"
                  + (f" (load average {load[0]:.1f})" if load else "") + "; medians (min–max, rounds):", "",
                  mod.table(ceil["values"])]
    scal = [(f, s, sec) for f, s, sec in sections if s == "scaling" and sec.get("items")]
    lines += [
        "",
        "## Scaling",
        "",
        "Time per unit of work (as in the first table: per epoch, sweep, move or curve) at several sizes, the "
        "other parameters fixed. Slope = least-squares fit of log t on log x over the points: 1 means time "
        "grows linearly with x, 2 quadratically, 0 not at all (fixed overheads dominate); a slope below the "
        "baseline's means physlearn gains as x grows.",
        "",
    ]
    if not scal:
        lines.append("(no scaling measurements stored yet: `python benchmarks/run.py --only-scaling`)")
    else:
        lines += [
            "| workload | variable | values | physlearn (s) | physlearn slope | baseline (s) | baseline slope | notes | file |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for f, s, sec in scal:
            for e in sec["items"]:
                x, tp, tb = e["values"], e["physlearn_s"], e.get("baseline_s") or [None] * len(e["values"])
                lines.append(
                    f"| {_cell(e['workload'])} | {e['variable']} | {', '.join(str(v) for v in x)} | "
                    f"{', '.join(_g(t, 3) for t in tp)} | {_g(loglog_slope(x, tp), 2)} | "
                    f"{', '.join(_g(t, 3) for t in tb)} | {_g(loglog_slope(x, tb), 2)} | {_cell(e.get('notes', ''))} | "
                    f"{where(f, s)} |"
                )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
def _bench_files(names):
    files = sorted(HERE.glob("bench_*.py"))
    if not names:
        return files
    by_name = {f.stem.removeprefix("bench_"): f for f in files}
    unknown = [n for n in names if n.removeprefix("bench_").removesuffix(".py") not in by_name]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; available: {sorted(by_name)}")
    return [by_name[n.removeprefix("bench_").removesuffix(".py")] for n in names]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="benchmark files to run, e.g. `rsgd sbp` (default: all bench_*.py)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-scaling", action="store_true", help="run only run() (keep the stored scaling entries)")
    g.add_argument("--only-scaling", action="store_true", help="run only scaling() (keep the stored rows)")
    g.add_argument("--render", action="store_true", help="run nothing; re-render the Markdown from the JSON")
    p.add_argument("--no-ceilings", action="store_true", help="do not measure the ceilings (no floors for this run)")
    p.add_argument("--quick", action="store_true",
                   help="rows only, each file's run(**QUICK) (smallest sizes) and quick ceilings, written to "
                        f"{QUICK_DIR} unless --json/--md say otherwise: checks that everything runs, not a measurement")
    p.add_argument("--json", type=Path, default=None, help="raw results (default benchmarks/results.json)")
    p.add_argument("--md", type=Path, default=None, help="rendered table (default benchmarks/RESULTS.md)")
    a = p.parse_args(argv)
    if a.quick and (a.only_scaling or a.render):
        p.error("--quick runs rows only")
    out_dir = QUICK_DIR if a.quick else HERE
    if a.quick:
        out_dir.mkdir(parents=True, exist_ok=True)
    a.json = a.json or out_dir / "results.json"
    a.md = a.md or out_dir / "RESULTS.md"

    data = load_results(a.json)
    failed = []
    if not a.render:
        import jax

        jax.config.update("jax_enable_x64", True)
        machine, date = machine_info(), dt.date.today().isoformat()
        ceil, mod = None, (None if a.no_ceilings else _ceilings_module())
        if mod is not None:
            print("measuring the ceilings ...", flush=True)
            ceil = mod.measure(quick=a.quick)
            print(mod.table(ceil), flush=True)
            data["ceilings"] = dict(date=date, machine=machine, values=_plain(ceil))
        todo = [s for s in SECTIONS if not (s == "scaling" and (a.no_scaling or a.quick))
                and not (s == "rows" and a.only_scaling)]
        for f in _bench_files(a.names):
            try:
                mod = _load(f)
            except Exception:  # e.g. an API the file uses moved: report it, run the others
                traceback.print_exc()
                failed.append(f.name)
                continue
            for s in todo:
                fn = getattr(mod, "run" if s == "rows" else "scaling", None)
                if fn is not None and a.quick:
                    fn = functools.partial(fn, **getattr(mod, "QUICK", {}))
                if fn is None:
                    print(f"{f.name}: no {'run' if s == 'rows' else 'scaling'}(), skipped", flush=True)
                    continue
                print(f"running {f.name} {s} ...", flush=True)
                load0 = os.getloadavg()[0]
                try:
                    items = fn()
                except Exception:  # keep going; the stored section of this file stays as it was
                    traceback.print_exc()
                    failed.append(f"{f.name} {s}")
                    continue
                for r in items:
                    if s == "rows":
                        fl = floor_of(r, dict(ceilings=ceil)) if ceil else None
                        print(f"  {r['workload']}: physlearn {r['physlearn_s']:.4g} s, baseline {r['baseline_s']:.4g} s, "
                              f"ratio {r['ratio']:.1f}x" + (f", floor {fl:.3g} s ({r['physlearn_s'] / fl:.1f}x)" if fl else ""),
                              flush=True)
                    else:
                        print(f"  {r['workload']} vs {r['variable']} {list(r['values'])}: slopes physlearn "
                              f"{_g(loglog_slope(r['values'], r['physlearn_s']), 2)}, baseline "
                              f"{_g(loglog_slope(r['values'], r['baseline_s'] or []), 2)}", flush=True)
                merge(data, f.name, s, items, date=date, machine=machine, load=[load0, os.getloadavg()[0]],
                      ceilings=ceil)
                save_results(data, a.json)  # after every section: an interrupted run keeps what it measured
    a.md.write_text(render(data))
    print(f"wrote {a.md}" + ("" if a.render else f" and {a.json}"))
    if failed:
        print(f"FAILED (previous results kept): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
