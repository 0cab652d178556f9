"""Run every ``benchmarks/bench_*.py`` and rewrite ``benchmarks/RESULTS.md``.

Each benchmark module defines ``run() -> list[dict]`` with keys ``workload``, ``physlearn_s``,
``baseline_s``, ``ratio`` (baseline / physlearn) and ``notes``; physlearn and its NumPy/SciPy
baseline run side by side in this one process, compile time excluded.

    python benchmarks/run.py            # all
    python benchmarks/run.py gardner    # only bench_gardner.py
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import platform
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    files = sorted(HERE.glob("bench_*.py"))
    if argv:
        files = [f for f in files if any(f.stem == f"bench_{a}" for a in argv)]
    rows = []
    for f in files:
        print(f"running {f.name} ...", flush=True)
        for r in _load(f).run():
            r["file"] = f.name
            rows.append(r)
            print(f"  {r['workload']}: physlearn {r['physlearn_s']:.4g} s, baseline {r['baseline_s']:.4g} s, ratio {r['ratio']:.1f}x", flush=True)
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; JAX {jax.__version__} (backend {jax.default_backend()}, "
        f"devices {[d.device_kind for d in jax.devices()]}); date {dt.date.today().isoformat()}.",
        "",
        "Ratio = baseline time / physlearn time (higher is better), both measured in the same process by "
        "`python benchmarks/run.py`; physlearn compile time excluded (warm-up call).",
        "",
        "| workload | physlearn (s) | NumPy/SciPy baseline (s) | ratio | notes | file |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['physlearn_s']:.4g} | {r['baseline_s']:.4g} | {r['ratio']:.1f}x | {r['notes']} | {r['file']} |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
