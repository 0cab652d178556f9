"""Run the benchmark suite and the notebooks at paper size on a GPU; print a compact table.

    python benchmarks/gpu.py                   # GPU: every bench_*.py, then notebooks/*.py at PHYSLEARN_SIZE=paper
    python benchmarks/gpu.py --cpu             # no GPU needed: the same at the small size (a check)
    python benchmarks/gpu.py --only rsgd --no-notebooks
    python benchmarks/gpu.py --results benchmarks/out/gpu.md   # also write the table as markdown

Without a GPU (and without ``--cpu``) it says so and exits 0. Every benchmark and notebook runs in
its own process (a failure is a row of the table, not the end of the run; each process gets the
GPU memory to itself). Benchmarks follow the contract of ``benchmarks/run.py`` (``run() ->
rows``, compile time excluded; the baselines are NumPy/SciPy on the host CPU) but do not rewrite
``benchmarks/RESULTS.md``, which records the CPU reference machine. Notebook figures go to
``--out`` (default ``benchmarks/out/gpu``). Exit status: 1 if anything failed, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_MARK = "@@rows@@"


def _probe(env) -> dict:
    """Backend and devices, asked in a child process (the parent never holds the GPU)."""
    code = "import jax, json; print(json.dumps({'backend': jax.default_backend(), 'devices': [d.device_kind for d in jax.devices()], 'jax': jax.__version__}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        return {"backend": "unavailable", "devices": [], "jax": "?", "error": out.stderr.strip()[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _bench_worker(path: str) -> int:
    """Child process: run one benchmark module, print its rows as JSON after a marker."""
    import importlib.util

    import jax

    jax.config.update("jax_enable_x64", True)  # as benchmarks/run.py
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.run()
    print(_MARK + json.dumps(rows, default=float), flush=True)
    return 0


def _run_bench(path: Path, env, timeout) -> list[dict]:
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--_bench-worker", str(path)],
            capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return [{"kind": "bench", "name": path.stem, "wall_s": time.perf_counter() - t0, "status": f"timeout ({timeout} s)"}]
    wall = time.perf_counter() - t0
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(_MARK)]
    if out.returncode != 0 or not lines:
        err = (out.stderr.strip().splitlines() or ["?"])[-1][:80]
        return [{"kind": "bench", "name": path.stem, "wall_s": wall, "status": f"FAILED: {err}"}]
    rows = json.loads(lines[-1][len(_MARK):])
    return [
        {"kind": "bench", "name": f"{path.stem}: {r['workload']}", "wall_s": wall,
         "physlearn_s": r["physlearn_s"], "baseline_s": r["baseline_s"], "ratio": r["ratio"], "status": "ok"}
        for r in rows
    ]


def _run_notebook(path: Path, env, size, out_dir: Path, timeout) -> dict:
    nb_out = out_dir / path.stem
    nb_out.mkdir(parents=True, exist_ok=True)
    env = {**env, "PHYSLEARN_SIZE": size, "PHYSLEARN_NOTEBOOK_OUT": str(nb_out), "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=timeout, cwd=nb_out)
        status = "ok" if out.returncode == 0 else "FAILED: " + ((out.stderr.strip().splitlines() or ["?"])[-1][:80])
    except subprocess.TimeoutExpired:
        status = f"timeout ({timeout} s)"
    return {"kind": f"notebook ({size})", "name": path.stem, "wall_s": time.perf_counter() - t0, "status": status}


def _table(rows) -> list[str]:
    def f(v):
        return "" if v is None else f"{v:.4g}"

    head = ["kind", "name", "wall (s)", "physlearn (s)", "baseline (s)", "ratio", "status"]
    body = [[r["kind"], r["name"], f(r["wall_s"]), f(r.get("physlearn_s")), f(r.get("baseline_s")),
             "" if r.get("ratio") is None else f"{r['ratio']:.1f}x", r["status"]] for r in rows]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(b) + " |" for b in body]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu", action="store_true", help="run without a GPU (notebooks at the small size)")
    p.add_argument("--only", nargs="+", default=None, help="benchmark names (bench_NAME.py) to run")
    p.add_argument("--no-benchmarks", action="store_true")
    p.add_argument("--no-notebooks", action="store_true")
    p.add_argument("--size", choices=["small", "paper"], default=None, help="notebook size (default: paper on GPU, small with --cpu)")
    p.add_argument("--out", default=str(HERE / "out" / "gpu"), help="folder for notebook figures")
    p.add_argument("--results", default=None, help="also write the table (markdown) to this file")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark file or notebook")
    p.add_argument("--_bench-worker", dest="bench_worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.bench_worker:
        return _bench_worker(args.bench_worker)

    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    info = _probe(env)
    on_gpu = info["backend"] in ("gpu", "cuda", "rocm")
    print(f"JAX {info['jax']}, backend {info['backend']}, devices {info['devices']}", flush=True)
    if not on_gpu and not args.cpu:
        print("no GPU found: nothing to do (pass --cpu to run the small-size check on this machine)")
        return 0
    size = args.size or ("paper" if on_gpu else "small")
    rows = []
    if not args.no_benchmarks:
        files = sorted(HERE.glob("bench_*.py"))
        if args.only:
            files = [f for f in files if f.stem.removeprefix("bench_") in args.only]
        for f in files:
            print(f"benchmark {f.name} ...", flush=True)
            rows += _run_bench(f, env, args.timeout)
    if not args.no_notebooks:
        for nb in sorted((ROOT / "notebooks").glob("*.py")):
            print(f"notebook {nb.name} (PHYSLEARN_SIZE={size}) ...", flush=True)
            rows.append(_run_notebook(nb, env, size, Path(args.out), args.timeout))
    lines = _table(rows)
    print("\n".join(lines))
    if args.results:
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(
            f"# physlearn on {info['backend']} ({', '.join(info['devices'])}), JAX {info['jax']}\n\n" + "\n".join(lines) + "\n"
        )
    return 1 if any(r["status"] != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
