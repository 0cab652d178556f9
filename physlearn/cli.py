"""The ``physlearn`` command.

    physlearn tour [--out DIR] [--size small|paper] [--sections gardner,fbp,...] [--quiet]
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

Every option's ``--help`` line shows its default, and each subcommand's help ends with examples.
A malformed value is a usage error naming the option (exit status 2); Ctrl-C during ``physlearn
run`` or ``physlearn tour`` stops with one line on stderr (exit status 130): the chunks of a run
that were written are kept (the same command resumes), and the tour writes the report of the
sections that finished.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import __version__
from .errors import NonConvergenceError


def _number(value: str) -> float:
    """argparse type: a real number (argparse names the option in the error)."""
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None


def _floats(values):
    return np.asarray([float(v) for v in values], dtype=np.float64)


def _grid(args) -> tuple[np.ndarray, np.ndarray]:
    if args.alpha_range is not None:
        lo, hi, num = args.alpha_range
        alpha = np.linspace(lo, hi, num)
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
        bad = ", ".join(f"(alpha={float(sol.alpha[i]):g}, kappa={float(sol.kappa[i]):g})"
                        for i in np.flatnonzero(~np.asarray(sol.converged)))
        print(f"warning: no RS solution at {bad}: beyond the end of the RS branch at that margin "
              "(the table shows n/a there); exit status 3", file=sys.stderr)
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


def _sections(value: str) -> list[str]:
    """argparse type of ``--sections``: comma-separated section keys (see ``physlearn tour --help``)."""
    from .tour import SECTION_KEYS

    keys = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [k for k in keys if k not in SECTION_KEYS]
    if not keys or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(map(repr, unknown)) or repr(value)}; choose from {', '.join(SECTION_KEYS)}")
    return keys


def _interruptible(fn, on_interrupt):
    """Run ``fn()`` in a worker thread so that Ctrl-C is handled at once, even while a long JAX
    computation (which does not return to Python until it is done) runs: on SIGINT the main thread
    calls ``on_interrupt()`` (which prints the one line) and ends the process with status 130;
    files are written atomically, so nothing half-written is left behind. A ``KeyboardInterrupt``
    raised inside ``fn`` (e.g. between two chunks) propagates to the caller as usual."""
    import os
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the main thread
            outcome["error"] = err

    worker = threading.Thread(target=target, name="physlearn-command", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        on_interrupt()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _cmd_tour(args) -> int:
    from .tour import _TourRun

    tour = _TourRun(args.out, args.size, args.sections, progress=not args.quiet)

    def stop():
        report = tour.write_partial()
        print(f"physlearn tour: interrupted during section {tour.current!r}; the report of the "
              f"{len(tour.timings)} finished section(s) is in {report}", file=sys.stderr)

    try:
        path = _interruptible(tour.run, stop)
    except KeyboardInterrupt:
        stop()
        return 130
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
    def stop():
        from pathlib import Path

        n = len(list(Path(args.out).glob("chunk-*.npz"))) if Path(args.out).is_dir() else 0
        print(f"physlearn run: interrupted; {n} finished chunk(s) kept in {args.out} "
              "(run the same command again to resume)", file=sys.stderr)

    try:
        out = _interruptible(
            lambda: experiments.run(args.experiment, args.config, args.out, mesh=devices, verbose=not args.quiet), stop)
    except KeyboardInterrupt:
        stop()
        return 130
    import jax

    if not args.quiet and jax.process_index() == 0:
        print(f"results in {out}; load them with physlearn.experiments.load({str(out)!r})")
    return 0


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default; a text with line breaks (the examples) is kept as
    written, a one-paragraph description is wrapped to the terminal."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or action.required or not action.option_strings:
            return text  # states its default itself, or has none (a positional, a required option, --version)
        d = action.default
        if isinstance(d, bool):
            d = "on" if d else "off"
        elif isinstance(d, (list, tuple)):
            d = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in d)
        elif d is None:
            d = "none"
        return f"{text} (default: {d})"


class _AlphaRange(argparse.Action):
    """``--alpha-range START STOP NUM``: NUM must be a positive integer (the error names the option)."""

    def __call__(self, parser, namespace, values, option_string=None):
        start, stop, num = values
        if num < 1 or num != int(num):
            parser.error(f"argument {option_string}: NUM must be a positive integer, got {num:g}")
        setattr(namespace, self.dest, (start, stop, int(num)))


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    from .experiments import EXPERIMENTS, describe
    from .tour import SECTION_KEYS, SECTIONS

    p = argparse.ArgumentParser(
        prog="physlearn", formatter_class=_HelpFormatter,
        description="Statistical physics of learning: replica theory and algorithms, in JAX.",
        epilog=_examples("physlearn tour                  # the main job: figures + report in ./physlearn-report",
                         "physlearn theory gardner --alpha 0.5 0.8 --kappa 0 0.25"),
    )
    p.add_argument("--version", action="version", version=f"physlearn {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{tour,theory,run}")

    sections_help = "comma-separated subset of the sections, in this order: " + ", ".join(
        f"{k} ({name})" for k, name in zip(SECTION_KEYS, SECTIONS))
    tour = sub.add_parser(
        "tour", help="run the main job on embedded defaults and write a report folder", formatter_class=_HelpFormatter,
        description="Compute the theory curves and run the algorithms on embedded defaults; write PNG figures and "
        "report.md (theory and literature vs measured) into --out.",
        epilog=_examples("physlearn tour --out report                # every section, ~2.5 min on 2 CPU cores",
                         "physlearn tour --sections gardner,golf-course --quiet"),
    )
    tour.add_argument("--out", default="physlearn-report", help="output folder (created if needed)")
    tour.add_argument("--size", choices=["small", "paper"], default="small",
                      help="small: minutes on 2 CPU cores; paper: the papers' sizes (meant for an accelerator)")
    tour.add_argument("--sections", type=_sections, default=None, metavar="KEY[,KEY...]",
                      help=sections_help + " (default: all)")
    tour.add_argument("--quiet", action="store_true", help="no progress display")
    tour.set_defaults(func=_cmd_tour)

    theory = sub.add_parser("theory", help="replica-theory calculators", formatter_class=_HelpFormatter,
                            description="Replica-theory calculators on the command line.",
                            epilog=_examples("physlearn theory gardner --alpha 0.5 0.8 --kappa 0 0.25",
                                             "physlearn theory capacity --model spherical --kappa 0 0.5 1"))
    tsub = theory.add_subparsers(dest="theory_command", required=True, metavar="{gardner,capacity}")
    g = tsub.add_parser(
        "gardner", help="RS Gardner volume of the perceptron on an (alpha, kappa) grid", formatter_class=_HelpFormatter,
        description="Replica-symmetric Gardner volume of the perceptron on the grid alpha x kappa: overlap q, its "
        "conjugate, entropy per weight (nats), replicon eigenvalue (RS stable below 1). A point beyond the end of "
        "the RS branch prints n/a and the command exits with status 3.",
        epilog=_examples("physlearn theory gardner --model binary --alpha 0.5 0.8 --kappa 0 0.25",
                         "physlearn theory gardner --alpha-range 0.1 1.2 12 --json"),
    )
    g.add_argument("--model", choices=["spherical", "binary"], default="binary", help="weights: binary (+-1) or spherical")
    g.add_argument("--alpha", nargs="+", type=_number, default=[0.5], metavar="A", help="load(s) alpha = P/N")
    g.add_argument("--alpha-range", nargs=3, type=_number, metavar=("START", "STOP", "NUM"), action=_AlphaRange,
                   help="NUM loads from START to STOP (a linspace) instead of --alpha (default: not used)")
    g.add_argument("--kappa", nargs="+", type=_number, default=[0.0], metavar="K", help="margin(s) kappa")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")
    g.set_defaults(func=_cmd_gardner)
    c = tsub.add_parser(
        "capacity", help="storage capacity vs margin (spherical: Gardner; binary: Krauth-Mezard)",
        formatter_class=_HelpFormatter,
        description="Storage capacity alpha_c(kappa): spherical weights (Gardner 1988) or binary weights (zero of "
        "the RS entropy, Krauth-Mezard 1989).",
        epilog=_examples("physlearn theory capacity --kappa 0            # 0.8330786 (Krauth-Mezard)",
                         "physlearn theory capacity --model spherical --kappa 0 0.5 1 --json"),
    )
    c.add_argument("--model", choices=["spherical", "binary"], default="binary", help="weights: binary (+-1) or spherical")
    c.add_argument("--kappa", nargs="+", type=_number, default=[0.0], metavar="K", help="margin(s) kappa")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(func=_cmd_capacity)

    r = sub.add_parser(
        "run",
        help="sweep an experiment over a TOML config's grid in resumable chunks",
        description="Sweep EXPERIMENT over the grid of a TOML config ([grid]: lists swept as a Cartesian product; "
        "[fixed]: settings; chunk_size: grid points per output file). Each finished chunk is written atomically "
        "to DIR; rerunning the same command skips finished chunks. Load results with "
        "physlearn.experiments.load(DIR).",
        epilog="experiments and parameters:\n" + describe() + "\n\n" + _examples(
            "physlearn run rsgd-capacity --config sweep.toml --out runs/rsgd",
            "physlearn run gardner-rs --config grid.toml --out runs/g --devices auto --quiet"),
        formatter_class=_HelpFormatter,
    )
    r.add_argument("experiment", choices=sorted(EXPERIMENTS), metavar="EXPERIMENT",
                   help="one of " + ", ".join(sorted(EXPERIMENTS)))
    r.add_argument("--config", required=True, help="TOML file with [grid], [fixed] and chunk_size")
    r.add_argument("--out", required=True, help="output folder (created; an existing one is resumed)")
    r.add_argument("--devices", type=_devices, default=None,
                   help="shard each point's samples over N devices, or 'auto' (all); default: one device "
                   "('auto' with --distributed)")
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
    except KeyboardInterrupt:  # Ctrl-C outside the commands' own handling (e.g. during start-up)
        print("physlearn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
