"""Native CPU kernels, built on first use (private).

The simulated-annealing chains (:mod:`physlearn.algorithms.annealing`) spend their time in a
strictly sequential loop of tiny moves, which XLA:CPU runs as about ten kernels per move
(``docs/performance.md``). ``anneal.cc`` holds that loop as two XLA FFI handlers -- a block of
moves for every chain, and the threefry random bits of the block -- whose results are bit for bit
those of the jax.numpy path (the tests compare the two on every variant).

The library is compiled once per machine with the system's C++ compiler (``$CXX``, else ``c++``,
``g++`` or ``clang++``) against the XLA FFI headers that jaxlib ships, and cached under
``$PHYSLEARN_CACHE_DIR`` (default ``$XDG_CACHE_HOME/physlearn``, else ``~/.cache/physlearn``),
keyed by the source, jaxlib's version, the compiler and the CPU. Without a compiler, on a build
failure (one ``RuntimeWarning`` says why) or with ``PHYSLEARN_NATIVE=0`` in the environment, the
algorithms run their jax.numpy path, with the same results. The kernels exist for the CPU only: a
computation placed on an accelerator uses the jax.numpy path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["enabled", "status", "library_path", "anneal_moves", "threefry_bits"]

_SOURCE = Path(__file__).with_name("anneal.cc")
_FLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-fast-math", "-std=c++17", "-shared", "-fPIC", "-w"]
_TARGETS = {
    "physlearn_anneal_moves_f32": "PhyslearnAnnealMovesF32",
    "physlearn_anneal_moves_f64": "PhyslearnAnnealMovesF64",
    "physlearn_threefry_bits": "PhyslearnThreefryBits",
}

_lock = threading.Lock()
_state: dict = {}  # "path" once loaded, or "error" with the reason it is not


def _cache_dir() -> Path:
    if os.environ.get("PHYSLEARN_CACHE_DIR"):
        return Path(os.environ["PHYSLEARN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "physlearn"


def _compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx:
        return shutil.which(cxx) or cxx
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _cpu_tag() -> str:
    """What ``-march=native`` depends on: the CPU's model and feature flags where Linux says."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags", "Features"))]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def library_path() -> Path | None:
    """Where the built library lies (``None`` when no compiler is found)."""
    cxx = _compiler()
    if cxx is None:
        return None
    import jaxlib

    h = hashlib.sha256()
    for part in (_SOURCE.read_bytes(), jaxlib.__version__.encode(), cxx.encode(), " ".join(_FLAGS).encode(),
                 platform.machine().encode(), _cpu_tag().encode()):
        h.update(part)
        h.update(b"\0")
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return _cache_dir() / f"anneal-{h.hexdigest()[:16]}{suffix}"


def _build(path: Path, cxx: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + "-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        cmd = [cxx, *_FLAGS, f"-I{jax.ffi.include_dir()}", str(_SOURCE), "-o", tmp]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
        os.replace(tmp, path)  # atomic: concurrent builders each write their own file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load() -> None:
    if os.environ.get("PHYSLEARN_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        _state["error"] = "disabled by PHYSLEARN_NATIVE"
        return
    cxx = _compiler()
    path = library_path()
    if cxx is None or path is None:
        _state["error"] = "no C++ compiler found (set CXX)"
        return
    try:
        if not path.exists():
            _build(path, cxx)
        lib = ctypes.cdll.LoadLibrary(str(path))
        for target, symbol in _TARGETS.items():
            jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    except Exception as err:  # a build or load failure leaves the jax.numpy path, with a warning
        _state["error"] = f"{type(err).__name__}: {err}"
        warnings.warn(f"physlearn: the native CPU kernels are unavailable, the jax.numpy path runs "
                      f"instead ({_state['error']})", RuntimeWarning, stacklevel=3)
        return
    _state["path"] = path
    _state["lib"] = lib


def enabled() -> bool:
    """Whether computations traced now use the native kernels: they are built and loaded, and the
    default backend is the CPU."""
    if jax.default_backend() != "cpu":
        return False
    with _lock:
        if not _state:
            _load()
    return "path" in _state


def status() -> str:
    """One line: where the loaded library lies, or why the kernels are not used."""
    enabled()
    if jax.default_backend() != "cpu":
        return f"not used: the default backend is {jax.default_backend()}"
    return f"loaded from {_state['path']}" if "path" in _state else f"not used: {_state['error']}"


def anneal_moves(spins, stab, iv, gave_up, xs, spin_bits, log_u, scale, ltab, *, y, k, n, m, variant, energy,
                 schedule_every, give_up, max_steps, stop):
    """One block of Metropolis moves of the annealing chains (``anneal.cc`` has the layouts)."""
    dt = jnp.dtype(log_u.dtype)
    target = {jnp.dtype(jnp.float32): "physlearn_anneal_moves_f32",
              jnp.dtype(jnp.float64): "physlearn_anneal_moves_f64"}[dt]
    out = (jax.ShapeDtypeStruct(spins.shape, jnp.int8), jax.ShapeDtypeStruct(stab.shape, jnp.int32),
           jax.ShapeDtypeStruct(iv.shape, jnp.int32))
    call = jax.ffi.ffi_call(target, out, vmap_method="broadcast_all", input_output_aliases={0: 0, 1: 1, 2: 2})
    return call(
        spins.astype(jnp.int8), stab.astype(jnp.int32), iv.astype(jnp.int32), gave_up.astype(jnp.int8),
        xs.astype(jnp.int8), spin_bits.astype(jnp.uint32), log_u, scale.astype(dt), ltab.astype(dt),
        y=np.int32(y), yx=np.int32(spins.shape[-3]), K=np.int32(k), N=np.int32(n), M=np.int32(m),
        kx=np.int32(xs.shape[-3]), variant=np.int32(variant), energy=np.int32(energy),
        schedule_every=np.int64(schedule_every), give_up=np.int64(give_up), max_steps=np.int64(max_steps),
        stop=bool(stop),
    )


def threefry_bits(key, shape):
    """``jax.random.bits(key, shape, jnp.uint32)`` for a threefry key, or ``None`` where the native
    kernel cannot reproduce it (another PRNG implementation, or the non-partitionable threefry)."""
    if not jax.config.jax_threefry_partitionable:
        return None
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if str(jax.random.key_impl(key)) != "threefry2x32":
            return None
        data = jax.random.key_data(key)
    elif key.dtype == jnp.uint32 and key.shape[-1:] == (2,) and jax.config.jax_default_prng_impl == "threefry2x32":
        data = key
    else:
        return None
    size = int(np.prod(shape))
    out = jax.ffi.ffi_call("physlearn_threefry_bits", jax.ShapeDtypeStruct((size,), jnp.uint32),
                           vmap_method="broadcast_all")(data.astype(jnp.uint32))
    return out.reshape(shape)
