"""How physlearn should use the cores of one CPU: the same batched workloads timed in several
fresh processes under each way XLA can spread them over the cores (``docs/performance.md``).

Configurations (``CONFIGS``):

* ``default`` -- one CPU device, XLA's intra-op thread pool over all cores (what a plain
  ``import jax`` gives);
* ``one-thread`` -- one CPU device, one thread (``--xla_cpu_multi_thread_eigen=false``): the
  single-core reference;
* ``devices`` -- one host device per core (``--xla_force_host_platform_device_count=<cores>``)
  and ``runner.run(..., mesh=<cores>)``: the samples axis sharded over the devices, each
  device's computation in its own thread;
* ``devices-1t`` -- as ``devices`` with the intra-op pool off, so that each device runs exactly
  one thread.

Workloads (the same calls as ``bench_annealing.py`` and ``bench_sbp.py``): replicated SA, 64
chains, N=201, alpha=0.5, y=3, a block of moves per step (seconds per attempted move of all
chains), and an SBP epoch, 16 samples, N=1001, alpha=0.6 (seconds per epoch).

Every (configuration, workload) pair runs in ``--processes`` fresh Python processes (the slow
mode, where it appears, is a property of the process); each process reports the median of
``--rounds`` timed rounds after a compiling warm-up, and the load average. The summary is the
median over processes and the ratio of the slowest process to the fastest: a stable
configuration has that ratio near 1.

    python benchmarks/cpu_parallelism.py                       # all, 6 processes each
    python benchmarks/cpu_parallelism.py --processes 3 --only sa --configs default devices
    python benchmarks/cpu_parallelism.py --json out.json       # also store the raw numbers
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CONFIGS = ("default", "one-thread", "devices", "devices-1t")
WORKLOADS = ("sa", "sbp")


def _flags(config: str, cores: int) -> str:
    base = os.environ.get("XLA_FLAGS", "")
    extra = {
        "default": "",
        "one-thread": "--xla_cpu_multi_thread_eigen=false",
        "devices": f"--xla_force_host_platform_device_count={cores}",
        "devices-1t": f"--xla_force_host_platform_device_count={cores} --xla_cpu_multi_thread_eigen=false",
    }[config]
    return f"{base} {extra}".strip()


def _child(workload: str, config: str, rounds: int) -> dict:
    """Runs in the child process: time the workload, return its per-unit times."""
    import jax

    import bench_annealing
    import bench_sbp
    from physlearn.algorithms import problems
    from physlearn.algorithms.runner import run as run_driver

    mesh = len(jax.devices()) if config.startswith("devices") else None
    if workload == "sa":
        n, moves, chains = 201, 20_000, 64
        prob = problems.random_patterns(jax.random.key(1), n, 0.5, samples=chains)
        algo, steps, per, field = bench_annealing.make_algorithm(n, moves), 1, moves, "W"
    else:
        prob = problems.random_patterns(jax.random.key(1), 1001, 0.6, samples=16)
        algo, steps, per, field = bench_sbp.make_algorithm(), 40, 40, "h"

    def go():
        res = run_driver(algo, jax.random.key(1), prob, max_steps=steps, stop="never", mesh=mesh)
        return jax.block_until_ready(getattr(res.state, field))

    go()
    load0 = os.getloadavg()[0]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        go()
        times.append((time.perf_counter() - t0) / per)
    return dict(median=statistics.median(times), min=min(times), max=max(times), load=[load0, os.getloadavg()[0]],
                devices=len(jax.devices()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, default=6)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--only", nargs="*", default=list(WORKLOADS), choices=WORKLOADS)
    p.add_argument("--json", default=None)
    p.add_argument("--child", nargs=3, metavar=("WORKLOAD", "CONFIG", "ROUNDS"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.child[0], a.child[1], int(a.child[2]))))
        return 0
    cores = os.cpu_count() or 1
    results = {}
    for workload in a.only:
        for config in a.configs:
            env = dict(os.environ, XLA_FLAGS=_flags(config, cores))
            per_process = []
            for _ in range(a.processes):
                out = subprocess.run([sys.executable, __file__, "--child", workload, config, str(a.rounds)], env=env,
                                     capture_output=True, text=True, check=True)
                per_process.append(json.loads(out.stdout.strip().splitlines()[-1]))
            meds = [r["median"] for r in per_process]
            results[f"{workload}/{config}"] = per_process
            unit = "s/move" if workload == "sa" else "s/epoch"
            print(f"{workload:4s} {config:11s} median over processes {statistics.median(meds):.3g} {unit}; per process "
                  + ", ".join(f"{m:.3g}" for m in meds) + f"; slowest/fastest {max(meds) / min(meds):.2f}; load "
                  + ", ".join(f"{r['load'][0]:.1f}" for r in per_process), flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(dict(cores=cores, processes=a.processes, rounds=a.rounds, results=results), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
