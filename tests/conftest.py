"""Test configuration: float64 on (as the theory needs), explicit keys, memory hygiene."""

import gc
import os

os.environ.setdefault("MPLBACKEND", "Agg")
# Theory curves at test size are compiled once and evaluated once: compile them with XLA's backend
# optimisation level 0 (physlearn.set_compile_mode("fast"); a third less compilation time, the same
# values to rounding). Set here, before physlearn is imported, so that the notebook kernels and the
# subprocesses the tests start inherit it.
os.environ.setdefault("PHYSLEARN_COMPILE_MODE", "fast")
# Every other program (the algorithms' runs, mostly short at test size) is compiled with XLA's
# backend optimisation level 0 instead of the default 2 in the test processes (and the subprocesses
# they start): at test size a run's first call is mostly compilation. Measured on the 2-core AVX2
# machine (docs/performance.md): the default run took 764 s at level 0 against 832 s at level 1
# (1482 against 1621 s of test time), although the few long runs are slower (fBP at N = 1001: 7 s
# -> 24 s). The notebook kernels get level 1 instead (tests/test_notebooks.py): their annealing
# and BP runs are long enough that level 0 costs more than it saves (notebook 5: 30 s -> 157 s).
# The flag is XLA's, process-wide: set before JAX starts; a level already in XLA_FLAGS is kept.


def _default_xla_flag(name, value):
    """Add ``--name=value`` to XLA_FLAGS unless the environment already sets ``name`` (kept)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if name not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --{name}={value}".strip()


_default_xla_flag("xla_backend_optimization_level", 0)
# No Eigen intra-op thread pool in the test processes: the two pytest-xdist workers already fill the
# two cores, and the pool's threads (which spin while they wait) only steal time from the other
# worker. Measured: tests/test_rsgd.py + tests/test_sbp.py alone, 101 s wall / 125 s user against
# 113 s / 140 s with the pool; the whole fresh-clone run, 689 s against 723 s of pytest time.
_default_xla_flag("xla_cpu_multi_thread_eigen", "false")

# XLA's CPU fusion emitters (MLIR, the default of jax 0.10) off in the test processes, the
# notebook kernels and the subprocesses the tests start: each fused kernel then costs a fraction of
# the compilation time (every fusion otherwise builds its own MLIR context and pass pipeline).
# Measured on the 2-core AVX2 machine (docs/performance.md): tests/test_rsgd.py alone 58 s against
# 89 s (XLA backend compilation 25 s against 57 s); the notebooks 6 to 25 % less CPU time, except
# notebooks 3 and 5 (long algorithm runs: about 9 % more). Level 0 with these emitters off runs
# the jax.numpy replicated-SA loops several times slower; the annealings run their native CPU
# kernel instead (physlearn._native), unaffected -- with PHYSLEARN_NATIVE=0, run the slow tour
# section "Annealing" at XLA_FLAGS=--xla_backend_optimization_level=1 (a level already set is kept).
_default_xla_flag("xla_cpu_use_fusion_emitters", "false")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

# Theory solves (nested bisections with implicit adjoints) spend most of their test time in XLA
# compilation; JAX's persistent cache makes reruns cheap, but it is opt-in (PHYSLEARN_JAX_CACHE=1):
# with jax 0.10.1 a cache write (serialising a compiled executable) crashed a pytest-xdist worker
# with a segmentation fault. (A crash inside XLA's compiler itself was seen once too, without the
# cache; a test run with a 1 MiB stack limit passed, so it is not a stack overflow. A crashed worker
# now ends the run at once: --max-worker-restart=0 in pyproject.toml.)
if os.environ.get("PHYSLEARN_JAX_CACHE", "0") == "1":
    jax.config.update("jax_compilation_cache_dir", os.path.expanduser("~/.cache/physlearn/jax-tests"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory):
    """One folder per test session, shared by the pytest-xdist workers, where the notebook tests
    put the executed notebooks and tests/test_docs.py builds the site from them."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the workers' base folders sit side by side in the session's folder
    path = base / "executed-notebooks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_collection_finish(session):
    # the notebooks this session executes (after -k/-m selection): the site test waits for those
    # and executes the others itself
    session.config.physlearn_notebooks_in_session = {
        item.nodeid.split("::")[1].removeprefix("TestNotebook_")
        for item in session.items if "test_notebooks.py::TestNotebook_" in item.nodeid
    }


@pytest.fixture
def getkey():
    """Yield a function that returns fresh PRNG keys (never reuse a key)."""
    state = {"key": jax.random.key(20261122)}

    def next_key():
        state["key"], sub = jax.random.split(state["key"])
        return sub

    return next_key


# Tracing allocates millions of objects; with the default thresholds the cyclic collector keeps
# running full collections over all of them (JAX's caches included), a large share of the trace
# time of a theory curve. Collect less often in the test processes (physlearn's eager theory calls
# do the same, scoped, for users), and at a module boundary only when memory is high: a collection
# there costs seconds.
gc.set_threshold(100_000, 50, 100)
_COLLECT_ABOVE_BYTES = 5 * 2**30
_UNFREEZE_ABOVE_BYTES = 7 * 2**30


def _resident_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: always collect
        return _COLLECT_ABOVE_BYTES


def pytest_runtest_teardown(item, nextitem):
    # keep memory flat on the small CI machine without throwing compiled functions away. A full
    # collection walks every tracked object (millions: the traced programs in JAX's caches), 7-9 s
    # each time; after one, the survivors are frozen (gc.freeze: later collections skip them), so
    # the next boundary walks only what the modules in between allocated. Frozen objects are still
    # freed when their reference count drops to zero; only cycles among them wait for the unfreeze
    # that a second, higher memory mark triggers.
    if (nextitem is None or item.module is not nextitem.module) and _resident_bytes() >= _COLLECT_ABOVE_BYTES:
        if _resident_bytes() >= _UNFREEZE_ABOVE_BYTES:
            gc.unfreeze()
        gc.collect()
        gc.freeze()


def pytest_collection_modifyitems(config, items):
    """Longest scopes first; the docs site last.

    The notebooks (one test each, a fresh process compiling its own graphs, up to ~2 min) and the
    tour sections are the longest scopes of the suite. pytest-xdist's loadscope scheduler hands out
    scopes in collection order (``--no-loadscope-reorder`` in the addopts: its default reorder puts
    scopes with many tests first, which started the longest notebook last, on an otherwise idle
    machine). Starting them first lets the short scopes fill the other worker around them. The
    site test goes last: when a worker reaches it, every notebook test has been handed out, so it
    only ever waits for notebooks that are running or queued before it (no deadlock)."""

    def rank(item):
        if "test_notebooks.py::TestNotebook_" in item.nodeid:
            return 0
        if "test_cli.py::TestTour_" in item.nodeid:
            return 1
        if "test_docs.py::TestSite" in item.nodeid:
            return 3  # last: it builds the site from the notebooks the tests above execute
        return 2

    items.sort(key=rank)  # stable: the order within each group is kept
