r"""Shared driver for the iterative solvers of :mod:`physlearn.algorithms`.

An *algorithm* is an ``equinox.Module`` whose fields are its hyper-parameters (array fields can
be batched over hyper-parameter points; shape-determining ones are static) with two methods:

* ``init(key, problem) -> state`` -- ``state`` an ``equinox.Module``;
* ``step(key, state, problem) -> (state, info)`` -- one iteration (e.g. one epoch); ``info`` an
  ``equinox.Module`` with at least two integer scalar fields, ``errors`` (training errors of the
  algorithm's read-out network, e.g. the centre of a replicated system) and ``best_errors`` (the
  smallest training errors of any network it holds, e.g. min over centre and replicas).

:func:`run` iterates ``step`` on one problem or a batch of problems (leading axis = disorder
samples, ``jax.vmap``), optionally on a batch of hyper-parameter points as well (leading axis of
the algorithm's array fields, outermost), until the stopping rule holds:

* ``stop="any"`` (every solve's default): ``info.best_errors == 0`` -- some network the algorithm
  holds is a solution;
* ``stop="centre"``: ``info.errors == 0`` -- its read-out (centre, reference) is a solution;
* ``stop="never"``: run the full budget;

or ``max_steps`` iterations have been done, or the algorithm halts: an ``info`` may carry a bool
field ``halted`` (e.g. a Monte Carlo run that gave up or used its budget), which ends the run
without success. The loop is a ``lax.while_loop`` per instance (under ``vmap`` finished instances
are frozen), executed in chunks by a host loop that drives a ``rich`` progress bar
(``progress=True``; by default, ``progress=None``, the bar appears once a run has lasted
:data:`PROGRESS_AFTER` seconds) -- no host callbacks inside compiled code. By default a chunk
starts at about 1/50 of the budget and doubles while one call takes less than
:data:`CHUNK_SECONDS`, so that short steps do not each pay a call and a host round trip; chunking
never changes the results. Sample ``i`` uses the
key ``fold_in(key, i)`` (common random numbers across hyper-parameter points).

**Several devices** (``mesh=``): the samples axis is sharded over a device mesh with
``jax.sharding`` (no ``pmap``): the problem, the per-sample keys and the whole carry are placed
with ``NamedSharding(mesh, PartitionSpec("samples"))`` (the hyper-parameter axis and the
algorithm's fields are replicated) and every device runs the vmapped loop on its own samples
(``jax.shard_map``); every instance runs exactly the computation of the single-device run, so
results are identical. ``mesh`` may be a
``jax.sharding.Mesh`` with an axis named ``"samples"`` (other axes replicate), a number of devices
or ``"auto"`` (all devices; a 1-D mesh is built by :func:`make_mesh`). A batch whose size is not a
multiple of the number of devices is padded with copies of its last sample, and the padding is
dropped from the results -- which are then replicated rather than sharded, since JAX arrays are
only sharded evenly. Under ``jax.distributed`` (several processes) the mesh may span the devices
of every process: each process must pass the same ``problem`` and ``key``; the results are then
global arrays (``jax.experimental.multihost_utils.process_allgather`` brings them to the host).
"""

from __future__ import annotations

import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .. import _validation as V
from . import schedules

__all__ = [
    "RunResult", "run", "sample_keys", "make_mesh", "SAMPLES_AXIS", "STOPS", "PROGRESS_AFTER", "CHUNK_SECONDS",
    "hyper_parameter", "hyper_batch", "positive_int", "float_dtype", "shuffle",
    "permutations", "permutation_rounds", "permute",
]

STOPS = V.STOPS
"""The stopping rules, ``"any"`` (some network the algorithm holds is a solution), ``"centre"``
(its read-out / centre / reference is a solution), ``"never"`` (run the whole budget)."""

SAMPLES_AXIS = "samples"
"""Name of the mesh axis that :func:`run` shards the samples axis over."""


class RunResult(eqx.Module):
    """What :func:`run` returns (leading axes ``(P?, S?)`` on every array).

    - ``state``: final algorithm state; ``info``: info of the last step done;
    - ``steps``: iterations done (int32); ``solved``: the stopping rule fired (bool);
    - ``trace``: ``info`` of every step, with a step axis of length ``max_steps`` after the batch
      axes (entries past ``steps`` are zero), or ``None``.
    """

    state: eqx.Module
    info: eqx.Module
    steps: jax.Array
    solved: jax.Array
    trace: eqx.Module | None


class _Carry(eqx.Module):
    state: eqx.Module
    key: jax.Array
    step: jax.Array
    solved: jax.Array
    info: eqx.Module
    trace: eqx.Module | None


def sample_keys(key, n_samples: int):
    """Per-sample keys ``fold_in(key, i)`` for ``i < n_samples``."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n_samples))


def make_mesh(devices="auto") -> Mesh:
    """A 1-D device mesh with the axis ``"samples"`` for :func:`run` (and every ``solve``).

    ``devices``: ``"auto"`` (all of ``jax.devices()``, across processes under
    ``jax.distributed``), a number ``D`` (the first ``D`` devices) or a sequence of devices.
    """
    if isinstance(devices, str):
        if devices != "auto":
            raise ValueError(f"devices must be 'auto', a positive integer or a list of devices, got {devices!r}")
        devs = jax.devices()
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        avail = jax.devices()
        if not 1 <= devices <= len(avail):
            raise ValueError(f"devices must be between 1 and the {len(avail)} available devices, got {devices}")
        devs = avail[: int(devices)]
    elif isinstance(devices, (list, tuple)) and devices and all(isinstance(d, jax.Device) for d in devices):
        devs = list(devices)
    else:
        raise ValueError(f"devices must be 'auto', a positive integer or a list of devices, got {devices!r}")
    return Mesh(np.asarray(devs), (SAMPLES_AXIS,))


def _resolve_mesh(mesh):
    if mesh is None or isinstance(mesh, Mesh):
        if mesh is not None and SAMPLES_AXIS not in mesh.axis_names:
            raise ValueError(
                f"mesh must have an axis named {SAMPLES_AXIS!r} (the samples axis is sharded over it), "
                f"got axis names {mesh.axis_names}"
            )
        return mesh
    if isinstance(mesh, (str, int, np.integer)) and not isinstance(mesh, bool):
        return make_mesh(mesh)
    raise ValueError(
        f"mesh must be None, a jax.sharding.Mesh, a number of devices or 'auto', got {type(mesh).__name__}"
    )


def _place(x, sharding):
    """Put ``x`` on ``sharding`` (``x`` holds the global value; under several processes every
    process must hold the same value)."""
    if isinstance(x, jax.Array) and x.sharding == sharding:
        return x
    if sharding.is_fully_addressable:
        return jax.device_put(x, sharding)
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        data = _place(jax.random.key_data(x), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def _constrain(tree, sharding):
    """Shard the samples axis of every array leaf of a carry (axis 1 with a hyper axis)."""
    if sharding is None:
        return tree
    return jax.tree_util.tree_map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)


def _pad_samples(tree, n, n_pad):
    """Append ``n_pad - n`` copies of the last sample (axis 0) to every array leaf."""
    def pad(x):
        return jnp.concatenate([x, jnp.repeat(x[n - 1 : n], n_pad - n, axis=0)], axis=0)

    return jax.tree_util.tree_map(pad, tree)


@eqx.filter_jit
def _strip(tree, n, hyper):
    """Drop padded samples (axis 0, or 1 with a hyper axis)."""
    return jax.tree_util.tree_map(lambda x: x[:, :n] if hyper else x[:n], tree)


def _stop_fn(stop):
    if stop == "centre":
        return lambda info: info.errors == 0
    if stop == "any":
        return lambda info: info.best_errors == 0
    return lambda info: jnp.zeros((), bool)


def _halted(info):
    """The optional ``info.halted`` flag (the algorithm stopped without success), else False."""
    h = getattr(info, "halted", None)
    return jnp.zeros((), bool) if h is None else h


def shuffle(key, rows: tuple, m: int):
    r"""Independent uniformly random permutations of ``range(m)``, shape ``rows + (m,)`` (int32).

    Sort-based like :func:`jax.random.permutation`, but each round sorts a single ``uint32`` key
    that holds random high bits and the item's current position in its low ``ceil(log2 m)`` bits,
    which XLA sorts ~10x faster on CPU than a key--value pair. Two rounds: ties of the random bits
    (probability ~ m^2 / 2^(33 - log2 m) per row) are broken by the position after the first,
    already random, round, so the result is uniform up to double ties (~1e-13 for m = 802).
    Falls back to :func:`jax.random.permutation` when ``m > 2**16``.
    """
    if m > 2**16:
        flat = int(np.prod(rows)) if rows else 1
        ks = jax.random.split(key, flat)
        perms = jax.vmap(lambda kk: jax.random.permutation(kk, m))(ks)
        return perms.reshape(rows + (m,)).astype(jnp.int32)
    nb = max(1, (m - 1).bit_length())
    low = jnp.uint32((1 << nb) - 1)
    perm = jnp.broadcast_to(jnp.arange(m, dtype=jnp.int32), rows + (m,))
    for k in jax.random.split(key, 2):
        hi = jax.random.bits(k, rows + (m,), jnp.uint32) & ~low
        pos = jnp.sort(hi | jnp.arange(m, dtype=jnp.uint32), axis=-1) & low
        perm = jnp.take_along_axis(perm, pos.astype(jnp.int32), axis=-1)
    return perm


def permutations(key, rows: tuple, m: int, rounds: int | None = None):
    r"""Pseudo-random permutations of ``range(m)``, shape ``rows + (m,)`` (int32), without a sort.

    Each row applies a keyed bijection of :math:`\{0,\dots,m-1\}` to ``arange(m)``, so every
    item appears exactly once per row (an honest epoch); the bijection is the *swap-or-not*
    construction (Hoang, Morris, Rogaway, CRYPTO 2012): in round :math:`r` each item :math:`x`
    is paired with :math:`x' = (K_r - x) \bmod m` (:math:`K_r` uniform in
    :math:`\{0,\dots,m-1\}`) and the pair is swapped when a keyed bit of
    :math:`\max(x, x')` is 1 (here the top bit of :math:`a_r \max(x,x') + c_r \bmod 2^{32}`,
    :math:`a_r` odd, :math:`a_r, c_r` random); each round is an involution, so the composition
    is a permutation. ``rounds`` (default ``ceil(log2 m) + 8``, 18 for m = 802) element-wise
    passes fuse into one loop: O(m rounds) work per row and no sort, where :func:`shuffle` and
    :func:`jax.random.permutation` sort each row (XLA's CPU sort is the slow part of an epoch's
    shuffle; ``docs/performance.md``).

    The permutations are not exactly uniform over all m! orders (a keyed family), but the
    statistics checked in ``tests/test_algorithms_problems.py`` do not tell them from uniform:
    all 4! and 5! orders equally likely (chi-square), each item's mean position (m-1)/2, the
    positions of neighbouring items uncorrelated, and two given items in one minibatch as
    often as under a uniform shuffle.
    """
    rounds_key = permutation_rounds(key, rows, m, rounds)
    x = jnp.arange(m, dtype=jnp.int32)
    return permute(tuple(p[..., None, :] for p in rounds_key), x, m)


def permutation_rounds(key, rows: tuple, m: int, rounds: int | None = None):
    """The random numbers of :func:`permutations`: ``(pivot, mul, add)``, each
    ``rows + (rounds,)`` (pivots uniform in ``range(m)``, odd multipliers, offsets), for
    :func:`permute`."""
    rounds = max(1, (m - 1).bit_length()) + 8 if rounds is None else int(rounds)
    k_pivot, k_mul, k_add = jax.random.split(key, 3)
    pivot = jax.random.randint(k_pivot, rows + (rounds,), 0, m, dtype=jnp.int32)
    mul = jax.random.bits(k_mul, rows + (rounds,), jnp.uint32) | jnp.uint32(1)
    add = jax.random.bits(k_add, rows + (rounds,), jnp.uint32)
    return pivot, mul, add


def permute(rounds_key, x, m: int):
    """The keyed permutation of :func:`permutations` evaluated at positions ``x`` (int32 in
    ``range(m)``; other values give unspecified numbers): ``rounds_key`` from
    :func:`permutation_rounds`, each array shaped so that ``a[..., r]`` broadcasts against ``x``.
    Evaluating it where the result is wanted (e.g. directly in the layout of an epoch's
    minibatches) keeps the rounds one vectorised loop: XLA fuses them into any reshape or
    transpose that follows, and there they run on gathered scalars several times slower."""
    pivot, mul, add = rounds_key
    x = jnp.asarray(x, jnp.int32)
    for r in range(pivot.shape[-1]):
        d = pivot[..., r] - x  # in (-m, m)
        partner = jnp.where(d < 0, d + m, d)
        pair = jnp.maximum(x, partner).astype(jnp.uint32)  # the same for x and its partner
        swap = (pair * mul[..., r] + add[..., r]) >> 31
        x = jnp.where(swap == 1, partner, x)
    return x


def _init_one(algorithm, key, problem, max_steps, trace):
    k_init, k_run = jax.random.split(key)
    state = algorithm.init(k_init, problem)
    info_shape = jax.eval_shape(lambda: algorithm.step(k_run, state, problem)[1])
    info = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), info_shape)
    tr = None
    if trace:
        tr = jax.tree_util.tree_map(lambda s: jnp.zeros((max_steps,) + s.shape, s.dtype), info_shape)
    return _Carry(state, k_run, jnp.zeros((), jnp.int32), jnp.zeros((), bool), info, tr)


def _advance_one(algorithm, problem, carry: _Carry, until, stop):
    stop_fn = _stop_fn(stop)

    def cond(c):
        return (~c.solved) & (c.step < until) & ~_halted(c.info)

    def body(c):
        key, sub = jax.random.split(c.key)
        state, info = algorithm.step(sub, c.state, problem)
        tr = c.trace
        if tr is not None:
            tr = jax.tree_util.tree_map(lambda buf, v: buf.at[c.step].set(v), tr, info)
        return _Carry(state, key, c.step + 1, stop_fn(info), info, tr)

    return jax.lax.while_loop(cond, body, carry)


def _batched(fn, n_sample_axes, hyper):
    """vmap ``fn(algorithm, problem, x, ...)`` over sample axes of problem/x, then hyper axis."""
    for _ in range(n_sample_axes):
        fn = eqx.filter_vmap(fn, in_axes=(None, 0, 0) + (None,) * 2)
    if hyper:
        fn = eqx.filter_vmap(fn, in_axes=(eqx.if_array(0), None, 0) + (None,) * 2)
    return fn


@eqx.filter_jit
def _init_batched(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, sharding=None):
    return _init_impl(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, sharding)


def _init_impl(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, sharding):
    def f(alg, prob, k, ms, tr):
        return _init_one(alg, k, prob, ms, tr)

    keys = key if n_samples is None else sample_keys(key, n_samples)
    if hyper_batch is not None:
        keys = jnp.stack([keys] * hyper_batch)
    keys = _constrain(keys, sharding)
    fn = _batched(f, 0 if n_samples is None else 1, hyper_batch is not None)
    return _constrain(fn(algorithm, problem, keys, max_steps, trace), sharding)


def _advance_impl(algorithm, problem, carry, until, stop, n_sample_axes, hyper, sharding):
    def f(alg, prob, c, u, s):
        return _advance_one(alg, prob, c, u, s)

    fn = _batched(f, n_sample_axes, hyper)
    if sharding is None or not n_sample_axes:
        return _constrain(fn(algorithm, problem, carry, until, stop), sharding)
    # Each device runs the loop on its own samples (shard_map): the instances are independent, so
    # this is the computation that jit's partitioner would derive, and it also splits the steps
    # that the partitioner cannot see into (the native kernels' custom calls).
    arrays, static = eqx.partition(algorithm, eqx.is_array)

    def local(alg_arrays, prob, c, u):
        return fn(eqx.combine(alg_arrays, static), prob, c, u, stop)

    per_device = jax.shard_map(
        local, mesh=sharding.mesh, out_specs=sharding.spec, check_vma=False,
        in_specs=(PartitionSpec(), PartitionSpec(SAMPLES_AXIS), sharding.spec, PartitionSpec()),
    )
    return _constrain(per_device(arrays, problem, carry, until), sharding)


@eqx.filter_jit
def _run_batched(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, stop, sharding=None):
    """Whole run in one compiled call (no host loop): init, then advance to ``max_steps``."""
    carry = _init_impl(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, sharding)
    until = jnp.asarray(max_steps, jnp.int32)
    return _advance_impl(
        algorithm, problem, carry, until, stop, 0 if n_samples is None else 1, hyper_batch is not None,
        sharding,
    )


@eqx.filter_jit
def _advance_batched(algorithm, problem, carry, until, stop, n_sample_axes, hyper, sharding=None):
    return _advance_impl(algorithm, problem, carry, until, stop, n_sample_axes, hyper, sharding)


PROGRESS_AFTER = 2.0
"""With ``progress=None`` (every ``solve``'s default) the progress bar appears once a run has taken
this many seconds (compilation included) and is not finished; shorter runs print nothing."""


CHUNK_SECONDS = 0.25
"""With ``chunk=None`` the host loop doubles its chunk (steps per compiled call) while a call takes
less than this many seconds: the progress bar still updates a few times a second, and a short
step does not pay a call of its own (one RSGD epoch at N=321, 16 samples: ~3 ms per call)."""


class _Bar:
    """A ``rich`` progress bar shown from the start (``show=True``) or only once the run has lasted
    :data:`PROGRESS_AFTER` seconds (``show=None``: a timer thread starts the display, so that it
    also appears while XLA compiles)."""

    def __init__(self, description, total, show):
        import threading

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
        )
        self._task = self._progress.add_task(description, total=total, status="")
        self._lock = threading.Lock()
        self._started = self._closed = False
        self._timer = None
        if show or PROGRESS_AFTER <= 0:
            self._start()
        else:
            self._timer = threading.Timer(PROGRESS_AFTER, self._start)
            self._timer.daemon = True
            self._timer.start()

    def _start(self):
        from rich.errors import LiveError

        with self._lock:
            if not (self._started or self._closed):
                try:
                    self._progress.start()
                except LiveError:  # another rich display is live (e.g. the tour's): stay quiet
                    self._closed = True
                    return
                self._started = True

    def update(self, **kw):
        self._progress.update(self._task, **kw)

    def close(self):
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._started:
                self._progress.stop()


def run(
    algorithm,
    key,
    problem,
    *,
    max_steps: int,
    stop: str = "any",
    hyper_batch: int | None = None,
    trace: bool = False,
    progress: bool | None = None,
    chunk: int | None = None,
    description: str = "running",
    mesh=None,
) -> RunResult:
    """Run ``algorithm`` on ``problem`` until the stopping rule or ``max_steps`` (see module doc).

    **Arguments:**

    - ``algorithm``: Module with ``init``/``step`` (see module docstring). If ``hyper_batch=P``,
      every array field has a leading axis of length P (hyper-parameter points).
    - ``key``: PRNG key; ``problem``: a :class:`~physlearn.algorithms.problems.Problem`, single or
      with one leading sample axis.
    - ``max_steps``: iteration budget (calls of ``step``); ``stop``: ``"any"``, ``"centre"`` or
      ``"never"``.
    - ``trace``: keep every step's ``info``; ``progress``: ``True`` shows a ``rich`` progress bar,
      ``False`` never, ``None`` (default) once the run has lasted :data:`PROGRESS_AFTER` seconds;
      ``chunk``: steps per compiled call of the host loop (default: the whole budget with
      ``progress=False``; otherwise about 1/50 of it at first, doubled while a call takes less
      than :data:`CHUNK_SECONDS`).
    - ``mesh``: shard the samples axis over devices (see the module docstring): ``None``
      (default, one device), a ``jax.sharding.Mesh`` with an axis ``"samples"``, a number of
      devices or ``"auto"``. Needs a batched ``problem``. Results equal the single-device run.

    **Returns:** :class:`RunResult` with batch axes ``(P, S)`` (absent ones dropped). Progress,
    chunking and sharding never change the results.
    """
    V.choice("stop", stop, STOPS)
    max_steps = V.integer("max_steps", max_steps)
    if progress is not None and not isinstance(progress, bool):
        raise V.ArgumentTypeError(f"progress must be True, False or None, got {V.describe(progress)}")
    n_axes = len(problem.batch_shape)
    if n_axes > 1:
        raise ValueError(
            f"problem must be one instance or a batch with one leading axis, batch_shape={problem.batch_shape}"
        )
    grow = chunk is None and progress is not False  # adaptive chunks (see CHUNK_SECONDS)
    if chunk is None:
        chunk = max_steps if progress is False else max(1, math.ceil(max_steps / 50))
    chunk = V.integer("chunk", chunk)
    hyper = hyper_batch is not None
    n_samples = problem.batch_shape[0] if n_axes else None
    mesh = _resolve_mesh(mesh)
    sharding, n_real = None, n_samples
    if mesh is not None:
        if n_samples is None:
            raise ValueError(
                "mesh shards the samples axis: problem must be a batch with one leading sample axis "
                "(e.g. random_patterns(..., samples=S))"
            )
        n_dev = mesh.shape[SAMPLES_AXIS]
        n_samples = -(-n_real // n_dev) * n_dev
        if n_samples != n_real:
            problem = _pad_samples(problem, n_real, n_samples)
        spec = PartitionSpec(None, SAMPLES_AXIS) if hyper else PartitionSpec(SAMPLES_AXIS)
        sharding = NamedSharding(mesh, spec)
        by_sample = NamedSharding(mesh, PartitionSpec(SAMPLES_AXIS))
        problem = jax.tree_util.tree_map(lambda x: _place(x, by_sample), problem)
        replicated = NamedSharding(mesh, PartitionSpec())
        algorithm = jax.tree_util.tree_map(
            lambda x: _place(x, replicated) if eqx.is_array(x) else x, algorithm
        )
        key = _place(key, replicated)

    def finish(carry):
        res = RunResult(carry.state, carry.info, carry.step, carry.solved, carry.trace)
        if n_samples != n_real:
            res = _strip(res, n_real, hyper)
        return res

    if chunk >= max_steps and progress is False:
        carry = _run_batched(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, stop, sharding)
        return finish(carry)

    def advance(c, until):
        return _advance_batched(
            algorithm, problem, c, jnp.asarray(until, jnp.int32), stop, n_axes, hyper, sharding
        )

    def real_samples(x):  # padded samples (copies) are not counted
        return x[..., :n_real] if n_real is not None else x

    bar = None if progress is False else _Bar(description, max_steps, progress)
    try:
        carry = _init_batched(algorithm, problem, key, max_steps, trace, n_samples, hyper_batch, sharding)
        total = int(real_samples(carry.solved).size)
        done = 0
        while done < max_steps:
            started = time.perf_counter()
            done = min(max_steps, done + chunk)
            carry = advance(carry, done)
            n_over = int(jnp.sum(real_samples(carry.solved | _halted(carry.info))))
            if grow and time.perf_counter() - started < CHUNK_SECONDS:
                chunk *= 2
            if bar is not None:
                n_solved = int(jnp.sum(real_samples(carry.solved)))
                status = f"solved {n_solved}/{total}" if stop != "never" else f"{total} runs"
                bar.update(completed=max_steps if n_over == total else done, status=status)
            if n_over == total:
                break
    finally:
        if bar is not None:
            bar.close()
    return finish(carry)


# moved to physlearn._validation (kept here for code written against the runner)
hyper_parameter = V.hyper_parameter
hyper_batch = schedules.hyper_batch
float_dtype = V.float_dtype


def positive_int(name, v) -> int:
    """Validate a positive integer argument (bools rejected); see :func:`physlearn._validation.integer`."""
    return V.integer(name, v, minimum=1)
