"""Precision policy.

physlearn never flips ``jax_enable_x64`` behind the user's back. Instead:

* Eager calls of the theory API with concrete inputs run inside a scoped ``jax.enable_x64(True)``
  and return NumPy float64 arrays (see :func:`eager_x64`).
* Traced calls (under the user's ``jit``/``grad``/``vmap``) follow the dtype that JAX is
  configured for. A saddle-point solve traced in float32 raises
  :class:`~physlearn.errors.PrecisionError` (its tolerances cannot be met) telling the user to call
  :func:`enable_x64`; a closed form traced in float32 works, after a
  :class:`~physlearn.errors.PrecisionWarning` (once per function).
* :func:`enable_x64` is an explicit one-liner for users who want float64 everywhere.

Compilation policy (:func:`set_compile_mode`): the theory's grid functions are jitted by
:func:`theory_jit`, which compiles them with XLA's default optimisations (``"default"``) or, in
``"fast"`` mode, with XLA's backend optimisation level 0: about a third less compilation time for
up to three times the run time of the compiled code. A theory curve is compiled for every new
grid shape and node count and then evaluated once or a few times, so at small sizes its cost is
mostly compilation and ``"fast"`` is quicker end to end (the test suite runs in it); at paper
sizes the run time dominates and ``"default"`` is the better choice. Both give the same values
to rounding (the generated code differs, the arithmetic does not).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import warnings

import jax
import numpy as np

from .errors import PrecisionError, PrecisionWarning

__all__ = ["enable_x64", "x64_enabled", "is_traced", "eager_x64", "require_x64", "set_compile_mode",
           "compile_mode", "compiler_options", "theory_jit"]

COMPILE_MODES = ("default", "fast")
_FAST_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def _mode_from_environment() -> str:
    mode = os.environ.get("PHYSLEARN_COMPILE_MODE", "default")
    if mode not in COMPILE_MODES:
        raise ValueError(f"PHYSLEARN_COMPILE_MODE must be one of {COMPILE_MODES}, got {mode!r}")
    return mode


_compile_mode = _mode_from_environment()


def set_compile_mode(mode: str) -> None:
    """Choose how the theory's curves are compiled: ``"default"`` (XLA's default optimisations) or
    ``"fast"`` (XLA backend optimisation level 0: about a third less compilation time, up to three
    times the run time of the compiled code -- quicker end to end for curves evaluated once at small
    size). The starting mode is read from the environment variable ``PHYSLEARN_COMPILE_MODE``
    (``"default"`` when unset). Functions compiled before the call keep their compiled code; the
    next call of a theory entry point uses the new mode.

    Raises:
        ValueError: ``mode`` is not ``"default"`` or ``"fast"``.
    """
    global _compile_mode
    if mode not in COMPILE_MODES:
        raise ValueError(f"mode must be one of {COMPILE_MODES}, got {mode!r}")
    _compile_mode = mode


def compile_mode() -> str:
    """The current compilation mode of the theory curves (see :func:`set_compile_mode`)."""
    return _compile_mode


def compiler_options() -> dict | None:
    """The XLA compiler options of the current compile mode (``None`` in the default mode), for a
    user's own top-level ``jax.jit(..., compiler_options=...)`` around theory calls."""
    return dict(_FAST_COMPILER_OPTIONS) if _compile_mode == "fast" else None


def theory_jit(fun=None, **jit_kwargs):
    """``jax.jit`` for the theory's grid functions, honouring :func:`set_compile_mode`: the
    function is jitted twice (default and fast compiler options, each compiled on first use) and
    every call with concrete arguments goes to the one of the current mode. Under an outer
    ``jit``/``grad``/``vmap`` (traced arguments) the default one is used: the outer transformation
    decides how the whole program is compiled (:func:`compiler_options` gives the options of the
    current mode for a user's own ``jax.jit``)."""
    if fun is None:
        return functools.partial(theory_jit, **jit_kwargs)
    jitted = {"default": jax.jit(fun, **jit_kwargs),
              "fast": jax.jit(fun, compiler_options=_FAST_COMPILER_OPTIONS, **jit_kwargs)}

    @functools.wraps(fun)
    def call(*args, **kwargs):
        # compiler options belong to a top-level jit only: under an outer transformation the
        # outer program is compiled as a whole, as its owner decided
        return jitted["default" if is_traced(args, kwargs) else _compile_mode](*args, **kwargs)

    # the jitted function's own tools, for the mode in use
    call.lower = lambda *args, **kwargs: jitted[_compile_mode].lower(*args, **kwargs)
    call._cache_size = lambda: jitted[_compile_mode]._cache_size()

    def clear_cache():
        for j in jitted.values():
            j.clear_cache()

    call.clear_cache = clear_cache
    return call

_warned: set[str] = set()


def enable_x64(enabled: bool = True) -> None:
    """Turn JAX's float64 mode on (globally). Equivalent to ``jax.config.update("jax_enable_x64", True)``."""
    jax.config.update("jax_enable_x64", bool(enabled))


def x64_enabled() -> bool:
    return bool(jax.config.jax_enable_x64)


def is_traced(*trees) -> bool:
    """True when any leaf is a JAX tracer (we are inside jit/grad/vmap)."""
    for tree in trees:
        for leaf in jax.tree_util.tree_leaves(tree):
            if isinstance(leaf, jax.core.Tracer):
                return True
    return False


def warn_precision(name: str) -> None:
    if not x64_enabled() and name not in _warned:
        _warned.add(name)
        warnings.warn(
            f"{name} is traced in float32: saddle-point tolerances of 1e-10 cannot be met. "
            "Call physlearn.enable_x64() (or jax.config.update('jax_enable_x64', True)) first.",
            PrecisionWarning,
            stacklevel=3,
        )


@contextlib.contextmanager
def _x64_scope():
    if x64_enabled():
        yield
    else:
        with jax.enable_x64(True):
            yield


# Tracing a theory curve allocates millions of Python objects; with the interpreter's default
# thresholds the cyclic garbage collector then runs full collections over every live object again
# and again (JAX's caches included), which was ~40% of the tracing time of a local-entropy curve.
_EAGER_GC_THRESHOLDS = (100_000, 50, 100)


@contextlib.contextmanager
def _rare_collections():
    """Raise the garbage collector's thresholds for the duration of an eager theory call (restored
    on exit; nothing changes when the collector is disabled). Garbage is still collected, less
    often."""
    old = gc.get_threshold()
    if old[0] == 0:
        yield
        return
    gc.set_threshold(*(max(o, t) for o, t in zip(old, _EAGER_GC_THRESHOLDS)))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def to_numpy(tree):
    """Convert every array leaf of a pytree to NumPy (host) arrays."""
    return jax.tree_util.tree_map(
        lambda x: np.asarray(x) if isinstance(x, (jax.Array, np.ndarray)) else x, tree
    )


def require_x64(name: str) -> None:
    """Raise :class:`~physlearn.errors.PrecisionError` when float64 is off (a traced solve)."""
    if not x64_enabled():
        raise PrecisionError(
            f"{name} was traced (jit/grad/vmap) with float64 disabled: its saddle-point tolerances "
            "cannot be met in float32. Call physlearn.enable_x64() (or "
            "jax.config.update('jax_enable_x64', True)) before tracing; eager calls need nothing."
        )


def eager_x64(fn=None, *, solve: bool = True):
    """Decorator for public theory entry points.

    With concrete inputs the wrapped function runs in float64 (scoped), with Python's garbage
    collector running less often while it traces and compiles (scoped), and its pytree result is
    converted to NumPy. With traced inputs it runs as is: a saddle-point solve (``solve=True``)
    raises :class:`~physlearn.errors.PrecisionError` if float64 is off; a closed form warns once
    and runs in float32.
    """
    if fn is None:
        return functools.partial(eager_x64, solve=solve)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if is_traced(args, kwargs):
            if solve:
                require_x64(fn.__qualname__)
            else:
                warn_precision(fn.__qualname__)
            return fn(*args, **kwargs)
        with _x64_scope(), _rare_collections():
            return to_numpy(fn(*args, **kwargs))

    wrapper.__wrapped_traced__ = fn
    return wrapper
