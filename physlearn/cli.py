"""The ``physlearn`` command.

    physlearn tour [--out DIR] [--size small|paper]
    physlearn theory gardner --model {spherical,binary} --alpha A [A ...] [--kappa K [K ...]] [--json]
    physlearn theory capacity --model {spherical,binary} --kappa K [K ...] [--json]
    physlearn run EXPERIMENT --config FILE.toml --out DIR [--devices N|auto] [--distributed] [--quiet]

``physlearn run`` sweeps an experiment over the grid of a TOML config in chunks, writing each
finished chunk atomically; rerunning the same command resumes (see :mod:`physlearn.experiments`,
``physlearn.experiments.load(DIR)`` reads the results). Several hosts: start the same command on
every host with ``--distributed``; it calls ``jax.distributed.initialize()``, which reads the
coordinator address, process count and process id from the environment (SLURM, or
``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``), and shards each point's
samples over the devices of all hosts; ``--out`` must be on a file system all hosts see.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import __version__
from .errors import NonConvergenceError


def _floats(values):
    return np.asarray([float(v) for v in values], dtype=np.float64)


def _grid(args) -> tuple[np.ndarray, np.ndarray]:
    if args.alpha_range is not None:
        lo, hi, num = args.alpha_range
        alpha = np.linspace(float(lo), float(hi), int(num))
    else:
        alpha = _floats(args.alpha)
    kappa = _floats(args.kappa)
    a, k = np.meshgrid(alpha, kappa, indexing="ij")
    return a.reshape(-1), k.reshape(-1)


def _print_table(title: str, columns: list[str], rows: list[list], as_json: bool) -> None:
    if as_json:
        print(json.dumps([dict(zip(columns, r)) for r in rows], indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*["n/a" if v is None else f"{v:.8g}" if isinstance(v, float) else str(v) for v in r])
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(table)


def _cmd_gardner(args) -> int:
    from .theory import gardner

    alpha, kappa = _grid(args)
    fn = gardner.spherical_rs if args.model == "spherical" else gardner.binary_rs
    sol = fn(alpha, kappa, on_failure="flag")
    cols = ["alpha", "kappa", "q", "q_hat", "entropy", "replicon", "rs_stable", "converged", "residual"]
    rows = []
    for i in range(alpha.size):
        vals = [float(sol.q[i]), float(sol.q_hat[i]), float(sol.entropy[i]), float(sol.replicon[i]), bool(sol.replicon[i] < 1)]
        if not sol.converged[i]:  # flagged points: no numbers that look like results
            vals = [None] * len(vals)
        rows.append([float(sol.alpha[i]), float(sol.kappa[i]), *vals, bool(sol.converged[i]), float(sol.residual[i])])
    _print_table(f"{args.model} perceptron, RS Gardner volume", cols, rows, args.json)
    if not np.all(sol.converged):
        print("warning: some points did not converge (beyond the RS branch?); see 'converged'", file=sys.stderr)
        return 3
    return 0


def _cmd_capacity(args) -> int:
    from .theory import gardner

    kappa = _floats(args.kappa)
    if args.model == "spherical":
        a = np.asarray(gardner.spherical_capacity(kappa))
    else:
        a = np.asarray(gardner.binary_capacity(kappa))
    rows = [[float(k), float(v)] for k, v in zip(kappa, a)]
    _print_table(f"{args.model} perceptron capacity", ["kappa", "alpha_c"], rows, args.json)
    return 0


def _cmd_tour(args) -> int:
    from .tour import run_tour

    path = run_tour(args.out, size=args.size, progress=not args.quiet)
    print(f"report written to {path}")
    return 0


def _devices(value: str):
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a positive integer, got {value!r}")
    return n


def _distributed_initialize():
    """``jax.distributed.initialize()`` with the process count and id taken from
    ``JAX_NUM_PROCESSES`` / ``JAX_PROCESS_ID`` when set (JAX itself reads
    ``JAX_COORDINATOR_ADDRESS``); otherwise JAX detects the cluster (SLURM, Open MPI, Kubernetes,
    Cloud TPU)."""
    import os

    import jax

    kw = {}
    for env, name in (("JAX_NUM_PROCESSES", "num_processes"), ("JAX_PROCESS_ID", "process_id")):
        if os.environ.get(env):
            try:
                kw[name] = int(os.environ[env])
            except ValueError:
                raise ValueError(f"{env} must be an integer, got {os.environ[env]!r}") from None
    jax.distributed.initialize(**kw)


def _cmd_run(args) -> int:
    from . import experiments

    experiments.plan(args.experiment, args.config)  # validate before touching devices
    if args.distributed:
        _distributed_initialize()
    devices = args.devices
    if devices is None and args.distributed:
        devices = "auto"
    out = experiments.run(args.experiment, args.config, args.out, mesh=devices, verbose=not args.quiet)
    import jax

    if not args.quiet and jax.process_index() == 0:
        print(f"results in {out}; load them with physlearn.experiments.load({str(out)!r})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="physlearn", description="Statistical physics of learning: replica theory and algorithms, in JAX.")
    p.add_argument("--version", action="version", version=f"physlearn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    tour = sub.add_parser("tour", help="run the main job on embedded defaults and write a report folder")
    tour.add_argument("--out", default="physlearn-report", help="output folder (default: ./physlearn-report)")
    tour.add_argument("--size", choices=["small", "paper"], default="small", help="small: minutes on 2 CPU cores; paper: large (accelerator)")
    tour.add_argument("--quiet", action="store_true", help="no progress display")
    tour.set_defaults(func=_cmd_tour)

    theory = sub.add_parser("theory", help="replica-theory calculators")
    tsub = theory.add_subparsers(dest="theory_command", required=True)
    g = tsub.add_parser("gardner", help="RS Gardner volume of the perceptron on an (alpha, kappa) grid")
    g.add_argument("--model", choices=["spherical", "binary"], default="binary")
    g.add_argument("--alpha", nargs="+", default=["0.5"], help="load(s) alpha = P/N")
    g.add_argument("--alpha-range", nargs=3, metavar=("START", "STOP", "NUM"), help="a linspace of alphas instead of --alpha")
    g.add_argument("--kappa", nargs="+", default=["0.0"], help="margin(s) kappa")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")
    g.set_defaults(func=_cmd_gardner)
    c = tsub.add_parser("capacity", help="storage capacity vs margin (spherical: Gardner; binary: Krauth-Mezard)")
    c.add_argument("--model", choices=["spherical", "binary"], default="binary")
    c.add_argument("--kappa", nargs="+", default=["0.0"])
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_cmd_capacity)

    from .experiments import EXPERIMENTS, describe

    r = sub.add_parser(
        "run",
        help="sweep an experiment over a TOML config's grid in resumable chunks",
        description="Sweep EXPERIMENT over the grid of a TOML config ([grid]: lists swept as a Cartesian product; "
        "[fixed]: settings; chunk_size: grid points per output file). Each finished chunk is written atomically "
        "to DIR; rerunning the same command skips finished chunks. Load results with "
        "physlearn.experiments.load(DIR).",
        epilog="experiments and parameters:\n" + describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("experiment", choices=sorted(EXPERIMENTS), metavar="EXPERIMENT", help=", ".join(sorted(EXPERIMENTS)))
    r.add_argument("--config", required=True, help="TOML file with [grid], [fixed] and chunk_size")
    r.add_argument("--out", required=True, help="output folder (created; an existing one is resumed)")
    r.add_argument("--devices", type=_devices, default=None, help="shard each point's samples over N devices, or 'auto' (all)")
    r.add_argument("--distributed", action="store_true", help="multi-host: call jax.distributed.initialize() first (settings from the environment)")
    r.add_argument("--quiet", action="store_true", help="no per-chunk progress lines")
    r.set_defaults(func=_cmd_run)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, NonConvergenceError) as err:
        print(f"physlearn: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
