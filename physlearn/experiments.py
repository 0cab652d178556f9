r"""Parameter sweeps in resumable chunks: ``physlearn run <experiment> --config file.toml --out DIR``.

An *experiment* maps one point of a parameter grid (α, N, y, γ, seed, ...) to a small table of
results (e.g. one row per disorder sample). A TOML config gives the grid and the fixed settings::

    # rsgd.toml -- physlearn run rsgd-capacity --config rsgd.toml --out runs/rsgd
    chunk_size = 2                  # grid points per chunk (one output file each); default 1

    [grid]                          # swept: the Cartesian product, the last key varies fastest
    alpha = [0.3, 0.4, 0.5]
    seed = [0, 1]

    [fixed]                         # held fixed; unlisted parameters take their defaults
    n = 101
    samples = 16
    max_epochs = 500

(an optional top-level ``experiment = "rsgd-capacity"`` must then match the command line).
:data:`EXPERIMENTS` lists the experiments and their parameters (``physlearn run --help`` prints
them): ``rsgd-capacity``, ``sbp-capacity``, ``fbp-capacity`` (P(solved) of random instances) and
``gardner-rs`` (the replica-symmetric Gardner volume of the perceptron).

:func:`run` works through the grid in chunks of ``chunk_size`` points. Each finished chunk is
written atomically (``chunk-000007.npz`` written under a temporary name, then ``os.replace``), so
a killed run loses at most the chunk in flight; running the same command again skips the chunks
that exist and finishes the rest. The output folder holds a copy of the config (``config.toml``)
and ``manifest.json`` (experiment, canonical config and its SHA-256, number of points and
chunks); resuming into a folder made with another config or experiment is refused. A lock file
stops two runs from sharing a folder. :func:`load` reads every chunk back into one tidy table: a
dict of equal-length NumPy columns, the grid parameters and ``point`` (grid point index) first,
then the experiment's columns.

Keys: the point with seed ``s`` and other parameters ``p`` uses ``fold_in(key(s), crc32(p))``
(problem and solver keys are folded from it), so a point's results depend only on its
parameters -- not on the chunking, the order of the run or an interruption.

Several devices: ``mesh=`` (``--devices N|auto``) shards the samples axis of the algorithm
experiments over devices (see :func:`physlearn.algorithms.runner.run`); results are unchanged.
Several hosts: ``physlearn run ... --distributed`` calls ``jax.distributed.initialize()`` with
the coordinator address, number of processes and process id from ``JAX_COORDINATOR_ADDRESS``,
``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` when set, else detected by JAX (SLURM, Open MPI,
Kubernetes, Cloud TPU), and shards the samples over the devices of all processes (from Python:
call ``jax.distributed.initialize`` yourself, then :func:`run` with ``mesh="auto"``). Start the
same command on every host, with ``--out`` on a file system that all of them see: process 0
checks the folder and decides which chunks are left (the others follow its verdict), every
process computes its share of each chunk, process 0 writes it.

For tests of interruption, ``PHYSLEARN_RUN_CHUNK_DELAY=<seconds>`` sleeps after computing each
chunk, before writing it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import time
import tomllib
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["Experiment", "Param", "EXPERIMENTS", "run", "load", "plan", "Plan"]

_FORMAT = 1
_CHUNK = "chunk-{:06d}.npz"
_TOP_KEYS = ("experiment", "chunk_size", "grid", "fixed")
_REQUIRED = object()


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter of an experiment: its type (``int``, ``float``, ``str`` or ``bool``), default
    (none: required) and a one-line description."""

    kind: type
    default: Any = _REQUIRED
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A named experiment.

    ``point(params, key, *, mesh=None) -> dict[str, array]`` computes one grid point (``params``:
    every parameter, as Python scalars; ``key``: the point's PRNG key) and returns equal-length
    result columns (the point's rows, e.g. one per disorder sample).
    """

    name: str
    description: str
    params: dict[str, Param]
    point: Callable[..., dict]


# ------------------------------------------------------------------------------------------------
# The experiments
# ------------------------------------------------------------------------------------------------
_PROBLEM = {
    "alpha": Param(float, help="patterns per synapse"),
    "n": Param(int, help="inputs per hidden unit (odd)"),
    "k": Param(int, 1, "hidden units (odd; 1 for the perceptron)"),
    "architecture": Param(str, "perceptron", "perceptron, committee or tree"),
    "samples": Param(int, 8, "random instances per point (the sharded axis)"),
    "seed": Param(int, 0, "seed of the point's key"),
}


def _host(x):
    """Device array -> NumPy, gathering the shards of other processes under jax.distributed."""
    import jax

    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def _problem(params, key):
    import jax

    from .algorithms import problems

    return problems.random_patterns(
        jax.random.fold_in(key, 0), params["n"], params["alpha"], k=params["k"],
        architecture=params["architecture"], samples=params["samples"],
    )


def _solver_rows(prob, res):
    s = prob.n_samples
    return {
        "sample": np.arange(s, dtype=np.int64),
        "m": np.full(s, prob.m, dtype=np.int64),
        "solved": _host(res.solved).astype(bool),
        "errors": _host(res.errors).astype(np.int64),
        "steps": _host(res.steps).astype(np.int64),
    }


def _rsgd_point(params, key, *, mesh=None):
    import jax

    from .algorithms import rsgd, schedules

    prob = _problem(params, key)
    res = rsgd.solve(
        jax.random.fold_in(key, 1), prob, replicas=params["replicas"], batch=params["batch"],
        learning_rate=params["lr"], lam=params["lam"], gamma=schedules.linear(params["gamma"], params["gamma_step"]),
        formula=params["formula"], max_steps=params["max_epochs"], mesh=mesh, progress=False,
    )
    return _solver_rows(prob, res)


def _sbp_point(params, key, *, mesh=None):
    import jax

    from .algorithms import sbp, schedules

    prob = _problem(params, key)
    res = sbp.solve(
        jax.random.fold_in(key, 1), prob, learning_rate=params["lr"], batch=params["batch"],
        max_steps=params["max_epochs"], beta=schedules.exponential(1.0, params["beta_factor"]),
        temperature=schedules.exponential(params["temperature"], 0.998), mesh=mesh, progress=False,
    )
    return _solver_rows(prob, res)


def _fbp_point(params, key, *, mesh=None):
    import jax

    from .algorithms import fbp, schedules

    prob = _problem(params, key)
    gamma, y = schedules.pseudo_reinforcement(params["drho"])
    res = fbp.solve(
        jax.random.fold_in(key, 1), prob, gamma=gamma, y=y,
        damping=params["damping"], sweeps_per_step=params["max_iters"], mode=params["mode"],
        randfact=params["randfact"], mesh=mesh, progress=False,
    )
    return _solver_rows(prob, res)


def _gardner_point(params, key, *, mesh=None):
    from .theory import gardner

    if params["model"] not in ("binary", "spherical"):
        raise ValueError(f"model must be 'binary' or 'spherical', got {params['model']!r}")
    fn = gardner.binary_rs if params["model"] == "binary" else gardner.spherical_rs
    sol = fn(params["alpha"], params["kappa"], on_failure="flag")
    out = {c: np.atleast_1d(np.asarray(getattr(sol, c), dtype=np.float64))
           for c in ("q", "q_hat", "entropy", "replicon", "residual")}
    out["converged"] = np.atleast_1d(np.asarray(sol.converged, dtype=bool))
    return out


#: The experiments ``physlearn run`` knows, by name (``physlearn run --help`` lists their parameters).
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "rsgd-capacity",
            "replicated SGD on random patterns: solved / errors / epochs per sample",
            {
                **_PROBLEM,
                "replicas": Param(int, 7, "y, number of replicas"),
                "batch": Param(int, 80, "minibatch size"),
                "lr": Param(float, 2.0, "learning rate eta"),
                "lam": Param(float, 0.75, "interaction strength (0: independent clipped SGD)"),
                "gamma": Param(float, 0.05, "initial coupling gamma"),
                "gamma_step": Param(float, 0.001, "gamma increment per epoch"),
                "formula": Param(str, "simple", "interaction formula (rsgd.FORMULAS)"),
                "max_epochs": Param(int, 1000, "epoch budget"),
            },
            _rsgd_point,
        ),
        Experiment(
            "sbp-capacity",
            "stochastic-binary-perceptron descent on random patterns: solved / errors / epochs",
            {
                **_PROBLEM,
                "lr": Param(float, 0.05, "Adam learning rate"),
                "batch": Param(int, 100, "minibatch size"),
                "max_epochs": Param(int, 1000, "epoch budget"),
                "beta_factor": Param(float, 1.0, "polarisation schedule (beta multiplied per epoch)"),
                "temperature": Param(float, 0.0, "initial entropy bonus"),
            },
            _sbp_point,
        ),
        Experiment(
            "fbp-capacity",
            "focusing BP (pseudo-reinforcement) on random patterns: solved / errors / steps",
            {
                **_PROBLEM,
                "drho": Param(float, 0.01, "pseudo-reinforcement step"),
                "damping": Param(float, 0.5, "message damping"),
                "max_iters": Param(int, 1, "BP sweeps per protocol step"),
                "mode": Param(str, "parallel", "parallel or sequential"),
                "randfact": Param(float, 0.1, "initial message randomness"),
            },
            _fbp_point,
        ),
        Experiment(
            "gardner-rs",
            "RS Gardner volume of the perceptron (q, q_hat, entropy, replicon, converged)",
            {
                "alpha": Param(float, help="load P/N"),
                "kappa": Param(float, 0.0, "margin"),
                "model": Param(str, "binary", "binary or spherical"),
            },
            _gardner_point,
        ),
    )
}


# ------------------------------------------------------------------------------------------------
# Value ranges, checked by plan() for every grid point before anything is written: a config the
# experiment would reject is rejected up front, so it never leaves a run folder behind. Keyed by
# parameter name (shared across experiments); each check returns an error text or None.
# ------------------------------------------------------------------------------------------------
def _gt(lo):
    return lambda v: None if v > lo else f"must be > {lo:g}"


def _ge(lo):
    return lambda v: None if v >= lo else f"must be >= {lo:g}"


def _odd(v):
    return None if v >= 1 and v % 2 == 1 else "must be a positive odd integer"


def _one_of(get_choices):
    def check(v):
        choices = get_choices()
        return None if v in choices else f"must be one of {', '.join(map(repr, choices))}"

    return check


def _rsgd_formulas():
    from .algorithms import rsgd

    return tuple(rsgd.FORMULAS)


def _fbp_modes():
    from .algorithms import fbp

    return tuple(fbp.MODES)


def _architectures():
    from ._validation import ARCHITECTURES

    return tuple(ARCHITECTURES)


_RANGES: dict[str, Callable[[Any], str | None]] = {
    "alpha": _gt(0), "n": _odd, "k": _odd, "samples": _ge(1), "seed": _ge(0),
    "architecture": _one_of(_architectures), "model": _one_of(lambda: ("binary", "spherical")),
    "replicas": _ge(1), "batch": _ge(1), "lam": _ge(0), "gamma": _ge(0), "gamma_step": _ge(0),
    "formula": _one_of(_rsgd_formulas), "mode": _one_of(_fbp_modes),
    "lr": _gt(0), "learning_rate": _gt(0),  # (learning_rate, max_steps: the names after the renames)
    "max_epochs": _ge(1), "max_iters": _ge(1), "max_steps": _ge(1),
    "beta_factor": _ge(1), "temperature": _ge(0), "drho": _ge(0), "randfact": _ge(0),
    "damping": lambda v: None if 0 <= v < 1 else "must be in [0, 1)",
}


def _check_range(where, name, v):
    check = _RANGES.get(name)
    problem = check(v) if check is not None else None
    if problem:
        raise ValueError(f"config {where} {name!r} {problem}, got {v!r}")
    return v


def describe() -> str:
    """The experiments and their parameters, as text (for ``physlearn run --help``)."""
    lines = []
    for e in EXPERIMENTS.values():
        lines.append(f"{e.name}: {e.description}")
        for name, p in e.params.items():
            d = "required" if p.required else f"default {p.default!r}"
            lines.append(f"    {name} ({p.kind.__name__}, {d}): {p.help}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Config -> plan
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Plan:
    """A validated sweep: every grid point's parameters, the chunking and the config's hash."""

    experiment: Experiment
    canonical: dict
    sha256: str
    grid_keys: tuple[str, ...]
    points: tuple[dict, ...]
    chunk_size: int
    text: str | None

    @property
    def n_chunks(self) -> int:
        return math.ceil(len(self.points) / self.chunk_size)

    def chunk(self, i: int) -> range:
        return range(i * self.chunk_size, min(len(self.points), (i + 1) * self.chunk_size))


def _check_value(where, name, p: Param, v):
    if p.kind is bool:
        ok = isinstance(v, bool)
    elif p.kind is int:
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif p.kind is float:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    else:
        ok = isinstance(v, str)
    if not ok:
        what = {bool: "a boolean", int: "an integer", float: "a finite number", str: "a string"}[p.kind]
        raise ValueError(f"config {where} {name!r}: expected {what}, got {v!r}")
    return float(v) if p.kind is float else v


def _read_config(config):
    if isinstance(config, dict):
        return config, None
    path = Path(config)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"cannot read config file {str(path)!r}: {err.strerror or err}") from err
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config file {str(path)!r} is not valid TOML: {err}") from err


def plan(experiment: str, config) -> Plan:
    """Validate ``config`` (a TOML file path or an already parsed dict) for ``experiment``.

    Raises ``ValueError`` naming the offending key: unknown experiment, unknown top-level key or
    parameter, a parameter both swept and fixed, an empty or non-list grid entry, a value of the
    wrong type or out of range (e.g. ``alpha <= 0``, an even ``n``, an unknown ``architecture``),
    a missing required parameter, a bad ``chunk_size``.
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose one of {sorted(EXPERIMENTS)}")
    exp = EXPERIMENTS[experiment]
    cfg, text = _read_config(config)
    for key in cfg:
        if key not in _TOP_KEYS:
            raise ValueError(f"config: unknown key {key!r} (allowed top-level keys: {list(_TOP_KEYS)})")
    if "experiment" in cfg and cfg["experiment"] != experiment:
        raise ValueError(f"config 'experiment' is {cfg['experiment']!r} but the command asks for {experiment!r}")
    chunk_size = cfg.get("chunk_size", 1)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"config 'chunk_size' must be a positive integer, got {chunk_size!r}")
    grid, fixed = cfg.get("grid", {}), cfg.get("fixed", {})
    for section, table in (("grid", grid), ("fixed", fixed)):
        if not isinstance(table, dict):
            raise ValueError(f"config {section!r} must be a table ([{section}]), got {table!r}")
        for name in table:
            if name not in exp.params:
                raise ValueError(
                    f"config [{section}] {name!r}: not a parameter of {experiment!r} "
                    f"(parameters: {', '.join(exp.params)})"
                )
    for name in grid:
        if name in fixed:
            raise ValueError(f"config: {name!r} is both in [grid] and in [fixed]")
    values = {}
    for name, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise ValueError(f"config [grid] {name!r} must be a non-empty list of values, got {vals!r}")
        values[name] = [_check_range("[grid]", name, _check_value("[grid]", name, exp.params[name], v)) for v in vals]
    base = {}
    for name, p in exp.params.items():
        if name in fixed:
            base[name] = _check_range("[fixed]", name, _check_value("[fixed]", name, p, fixed[name]))
        elif name not in grid:
            if p.required:
                raise ValueError(f"config: {experiment!r} needs {name!r} (in [grid] or [fixed])")
            base[name] = p.default
    points = tuple(
        {name: (combo[list(grid).index(name)] if name in grid else base[name]) for name in exp.params}
        for combo in itertools.product(*values.values())
    )
    canonical = {
        "experiment": experiment,
        "chunk_size": chunk_size,
        "grid": [[name, values[name]] for name in grid],  # order matters: it fixes the chunks
        "fixed": {name: fixed[name] for name in sorted(fixed)},
    }
    sha = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    return Plan(exp, canonical, sha, tuple(grid), points, chunk_size, text)


def _point_key(params):
    import jax

    rest = {k: v for k, v in params.items() if k != "seed"}
    tag = zlib.crc32(json.dumps(rest, sort_keys=True).encode()) & 0x7FFFFFFF
    return jax.random.fold_in(jax.random.key(params.get("seed", 0)), tag)


def _column(values, kind):
    dtype = {bool: bool, int: np.int64, float: np.float64, str: np.str_}[kind]
    return np.asarray(values, dtype=dtype)


def _compute_chunk(pl: Plan, i: int, mesh) -> dict[str, np.ndarray]:
    parts = []
    for j in pl.chunk(i):
        params = pl.points[j]
        out = pl.experiment.point(params, _point_key(params), mesh=mesh)
        out = {k: np.asarray(v) for k, v in out.items()}
        lens = {len(v) for v in out.values()}
        if len(lens) != 1:
            raise RuntimeError(f"experiment {pl.experiment.name!r} returned columns of unequal lengths {lens}")
        rows = lens.pop()
        cols = {"point": np.full(rows, j, dtype=np.int64)}
        for name in pl.grid_keys:
            cols[name] = _column([params[name]] * rows, pl.experiment.params[name].kind)
        cols.update(out)
        parts.append(cols)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# ------------------------------------------------------------------------------------------------
# Output folder
# ------------------------------------------------------------------------------------------------
def _atomic_write(path: Path, write: Callable):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    with contextlib.suppress(OSError):  # make the rename durable (POSIX)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, obj):
    _atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))


@contextlib.contextmanager
def _lock(out: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    with open(out / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise ValueError(f"another physlearn run is writing to {str(out)!r}") from err
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _prepare(out: Path, pl: Plan):
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        m = json.loads(manifest_path.read_text())
        differs = m.get("experiment") != pl.experiment.name or m.get("config_sha256") != pl.sha256
        if differs and not any(out.glob("chunk-*.npz")):
            # no finished chunk: nothing to protect (e.g. the first point of a rejected config failed);
            # the folder starts over with this config
            for f in (manifest_path, out / "config.toml"):
                f.unlink(missing_ok=True)
            return _prepare(out, pl)
        if differs:
            raise ValueError(
                f"{str(out)!r} holds a sweep made with a different "
                f"{'experiment' if m.get('experiment') != pl.experiment.name else 'config'} "
                f"({m.get('experiment')!r}, config sha256 {str(m.get('config_sha256'))[:12]}...; this run: "
                f"{pl.experiment.name!r}, {pl.sha256[:12]}...): choose another --out or remove the folder"
            )
        return
    if out.exists() and any(p.name != ".lock" for p in out.iterdir()):
        raise ValueError(f"{str(out)!r} is not empty and has no manifest.json: choose another --out")
    if pl.text is not None:
        _atomic_write(out / "config.toml", lambda f: f.write(pl.text.encode()))
    from . import __version__

    _write_json(manifest_path, {
        "format": _FORMAT,
        "experiment": pl.experiment.name,
        "config_sha256": pl.sha256,
        "config": pl.canonical,
        "n_points": len(pl.points),
        "n_chunks": pl.n_chunks,
        "chunk_size": pl.chunk_size,
        "grid_keys": list(pl.grid_keys),
        "physlearn_version": __version__,
    })


def run(experiment: str, config, out, *, mesh=None, verbose: bool = True) -> Path:
    """Run (or resume) the sweep of ``config`` (TOML path or parsed dict) for ``experiment``,
    writing one file per chunk into the folder ``out``; see the module docstring.

    ``mesh``: shard the samples axis of each point over devices (``None``, a number of devices,
    ``"auto"`` or a ``jax.sharding.Mesh`` with an axis ``"samples"``). ``verbose``: print a line
    per chunk. Returns ``out`` as a ``Path``; :func:`load` reads the results.
    """
    import jax

    pl = plan(experiment, config)
    out = Path(out)
    writer = jax.process_index() == 0  # under jax.distributed only process 0 touches the folder
    multi = jax.process_count() > 1
    say = print if verbose and writer else (lambda *a, **k: None)
    if mesh is not None:
        from .algorithms.runner import _resolve_mesh

        mesh = _resolve_mesh(mesh)
    with contextlib.ExitStack() as stack:
        error = None
        if writer:
            try:
                if out.exists() and not out.is_dir():
                    raise ValueError(f"--out {str(out)!r} exists and is not a folder")
                out.mkdir(parents=True, exist_ok=True)
                stack.enter_context(_lock(out))
                _prepare(out, pl)
                for stale in out.glob(".chunk-*.tmp-*"):  # left by a killed run
                    stale.unlink()
            except (ValueError, OSError) as err:
                error = err
        done = np.asarray([writer and (out / _CHUNK.format(i)).exists() for i in range(pl.n_chunks)])
        if multi:  # every process follows process 0: the same verdict, the same chunks to skip
            from jax.experimental import multihost_utils

            ok = bool(multihost_utils.broadcast_one_to_all(np.asarray(error is None)))
            if not ok:
                raise error or ValueError(f"process 0 could not use the output folder {str(out)!r} (see its error)")
            done = np.asarray(multihost_utils.broadcast_one_to_all(done))
        elif error is not None:
            raise error
        todo = [i for i in range(pl.n_chunks) if not done[i]]
        say(
            f"{pl.experiment.name}: {len(pl.points)} points in {pl.n_chunks} chunks -> {out}"
            + (f" (resuming: {pl.n_chunks - len(todo)} chunks already done)" if len(todo) < pl.n_chunks else ""),
            flush=True,
        )
        delay = float(os.environ.get("PHYSLEARN_RUN_CHUNK_DELAY", "0") or 0)
        t_all = time.perf_counter()
        for n_done, i in enumerate(todo, start=pl.n_chunks - len(todo) + 1):
            t0 = time.perf_counter()
            try:
                cols = _compute_chunk(pl, i, mesh)
            except ValueError as err:  # a point the experiment rejects (plan() checks the common ranges)
                kept = sum(writer and (out / _CHUNK.format(j)).exists() for j in range(pl.n_chunks))
                after = ("nothing was written: fix the config and run the same command again" if not kept else
                         f"the {kept} finished chunk(s) in {str(out)!r} belong to this config: fix the config "
                         "and choose another --out (or remove the folder)")
                raise ValueError(f"chunk {i + 1} of the sweep was rejected: {err}; {after}") from err
            if delay:
                time.sleep(delay)
            if writer:
                _atomic_write(out / _CHUNK.format(i), lambda f: np.savez(f, **cols))
            pts = pl.chunk(i)
            say(
                f"  chunk {i + 1}/{pl.n_chunks} done ({n_done}/{pl.n_chunks}): points {pts.start}-{pts.stop - 1}, "
                f"{len(next(iter(cols.values())))} rows, {time.perf_counter() - t0:.2f} s",
                flush=True,
            )
        say(f"{pl.experiment.name}: all {pl.n_chunks} chunks done ({time.perf_counter() - t_all:.1f} s this run)", flush=True)
    return out


def load(out, *, partial: bool = False) -> dict[str, np.ndarray]:
    """Load a sweep written by :func:`run` into one tidy table: a dict of equal-length NumPy
    columns (``point``, the swept parameters, then the experiment's results), in grid order.

    Raises ``ValueError`` when chunks are missing (an unfinished run: rerun the same command),
    unless ``partial=True``. ``np.rec.fromarrays(list(t.values()), names=list(t))`` turns the
    table into a structured array.
    """
    out = Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise ValueError(f"{str(out)!r} has no manifest.json: not a physlearn run folder")
    m = json.loads(manifest_path.read_text())
    files = [out / _CHUNK.format(i) for i in range(m["n_chunks"])]
    missing = [f.name for f in files if not f.exists()]
    if missing and not partial:
        raise ValueError(
            f"{str(out)!r}: {len(missing)} of {m['n_chunks']} chunks missing (e.g. {missing[0]}); the run did "
            "not finish -- rerun the same command to resume, or load(..., partial=True)"
        )
    parts = []
    for f in files:
        if f.exists():
            with np.load(f, allow_pickle=False) as z:
                parts.append({k: z[k] for k in z.files})
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

