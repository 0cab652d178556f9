"""Checks at the public boundary of physlearn's algorithms, deep-network tools and data sets.

Every public entry point validates its arguments here, eagerly and before anything is traced or
compiled, so that each rule is written once and every message has the same shape: one line that
names the argument, says what it must be and shows what it got.

Errors: a value of the wrong *type* (an int where a key is expected, a JAX array where a Python
number is expected, ...) raises :class:`ArgumentTypeError`, which is both a ``TypeError`` and a
``ValueError`` (code that catches either keeps working); a value of the right type but out of range
raises ``ValueError``.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ArgumentTypeError",
    "describe",
    "key",
    "integer",
    "real",
    "choice",
    "concrete",
    "hyper_parameter",
    "vector",
    "float_dtype",
    "default_float_dtype",
    "real_array",
    "pm1",
    "ARCHITECTURES",
    "architecture",
    "hidden_units",
    "STOPS",
    "callable_arg",
    "RENAMED",
    "renamed_arguments",
    "warn_deprecated",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a ``TypeError``; also a ``ValueError``, so that code written
    against the earlier ``ValueError`` keeps working)."""


def describe(v) -> str:
    """Short description of a value for error messages (type, and shape/dtype of arrays)."""
    if isinstance(v, jax.core.Tracer):
        return f"a traced JAX value ({v.dtype}{list(v.shape)})"
    if isinstance(v, jax.Array):
        return f"a JAX array ({v.dtype}{list(v.shape)})"
    if isinstance(v, np.ndarray):
        return f"a NumPy array ({v.dtype}{list(v.shape)})"
    text = repr(v)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(v).__name__} {text}"


def _is_jax(v) -> bool:
    return isinstance(v, (jax.Array, jax.core.Tracer))


# ------------------------------------------------------------------------------------------------
# keys
# ------------------------------------------------------------------------------------------------
def key(v, name: str = "key"):
    """A typed JAX PRNG key of shape ``()`` (``jax.random.key(seed)``); traced keys are accepted."""
    if _is_jax(v) and jnp.issubdtype(v.dtype, jax.dtypes.prng_key):
        if v.shape != ():
            raise ValueError(f"{name} must be a single PRNG key (shape ()), got keys of shape {tuple(v.shape)}")
        return v
    if _is_jax(v) and v.dtype == jnp.uint32 and v.shape == (2,):
        raise ArgumentTypeError(
            f"{name} must be a typed PRNG key, jax.random.key(seed); got a raw uint32 key "
            f"(jax.random.PRNGKey): use jax.random.key(seed) or jax.random.wrap_key_data({name})"
        )
    raise ArgumentTypeError(f"{name} must be a JAX PRNG key, jax.random.key(seed); got {describe(v)}")


# ------------------------------------------------------------------------------------------------
# Python scalars
# ------------------------------------------------------------------------------------------------
def _not_array(name, v, what):
    if _is_jax(v) or isinstance(v, np.ndarray):
        raise ArgumentTypeError(f"{name} must be a Python {what}, got {describe(v)}: pass {what}({name}) instead")


def integer(name: str, v, *, minimum: int | None = 1, odd: bool = False, allow_none: bool = False,
            what: str = "", maximum: int | None = None) -> int | None:
    """A Python (or NumPy) integer, bools rejected; ``>= minimum`` (and ``<= maximum`` if given); odd
    if asked."""
    if v is None and allow_none:
        return None
    label = f"{name} ({what})" if what else name
    _not_array(name, v, "int")
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ArgumentTypeError(f"{label} must be an integer, got {describe(v)}")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{label} must be an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{label} must be an integer <= {maximum}, got {v}")
    if odd and v % 2 == 0:
        raise ValueError(f"{label} must be odd (no ties in sign(h)), got {v}")
    return v


def real(name: str, v, *, positive: bool = False, nonneg: bool = False, finite: bool = True,
         allow_none: bool = False, **bounds) -> float | None:
    """A Python (or NumPy) real number, bools rejected; range checks as asked."""
    if v is None and allow_none:
        return None
    _not_array(name, v, "float")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {describe(v)}")
    v = float(v)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    if finite and math.isinf(v):
        raise ValueError(f"{name} must be finite, got {v}")
    _check_range(name, np.asarray(v), v, positive=positive, nonneg=nonneg, **bounds)
    return v


def _check_range(name, arr, shown, *, positive=False, nonneg=False, below=None, above=None, at_most=None,
                 at_least=None):
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {shown!r}")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {shown!r}")
    if below is not None and np.any(arr >= below):
        raise ValueError(f"{name} must be < {below:g}, got {shown!r}")
    if above is not None and np.any(arr <= above):
        raise ValueError(f"{name} must be > {above:g}, got {shown!r}")
    if at_most is not None and np.any(arr > at_most):
        raise ValueError(f"{name} must be <= {at_most:g}, got {shown!r}")
    if at_least is not None and np.any(arr < at_least):
        raise ValueError(f"{name} must be >= {at_least:g}, got {shown!r}")


def choice(name: str, v, options):
    """One of ``options`` (strings or other hashables)."""
    options = tuple(options)
    try:
        ok = v in options
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {options}, got {v!r}")
    return v


def callable_arg(name: str, v, what: str = "a callable"):
    if not callable(v):
        raise ArgumentTypeError(f"{name} must be {what}, got {describe(v)}")
    return v


# ------------------------------------------------------------------------------------------------
# hyper-parameters: a scalar or a 1-D batch of hyper-parameter points
# ------------------------------------------------------------------------------------------------
def concrete(name: str, v):
    if isinstance(v, jax.core.Tracer):
        raise ArgumentTypeError(
            f"{name} must be concrete, got a traced value (solve is an eager entry point: call it outside jit/vmap)"
        )
    return v


def hyper_parameter(name: str, v, *, allow_inf: bool = False, nonneg: bool = True, positive: bool = False,
                    ndim: int = 0, **bounds) -> np.ndarray:
    """A float hyper-parameter as float64 NumPy: a scalar (more generally ``ndim`` axes) or the same
    with one leading axis of hyper-parameter points. ``bounds``: ``below``, ``above``, ``at_most``,
    ``at_least`` (``nonneg``, the default, is ``at_least=0``)."""
    concrete(name, v)
    if isinstance(v, bool) or isinstance(v, str):
        raise ArgumentTypeError(f"{name} must be a number or an array of numbers, got {describe(v)}")
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a number or an array of numbers, got {describe(v)}") from None
    if arr.ndim > ndim + 1 or arr.ndim < ndim:
        want = "a scalar" if ndim == 0 else f"a {ndim}-D array"
        raise ValueError(
            f"{name} must be {want} or one more leading axis of hyper-parameter points, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not be NaN")
    if not allow_inf and np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be finite, got {v!r}")
    _check_range(name, arr, v, positive=positive, nonneg=nonneg and not positive, **bounds)
    return arr


def vector(name: str, v, *, allow_inf: bool = False, nonneg: bool = True, positive: bool = False,
           **bounds) -> np.ndarray:
    """A non-empty 1-D float array (float64 NumPy), range-checked as :func:`hyper_parameter`."""
    arr = hyper_parameter(name, v, allow_inf=allow_inf, nonneg=nonneg, positive=positive, ndim=1, **bounds)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr


def float_dtype(dtype):
    """An algorithm's float dtype (float64 only when x64 is enabled)."""
    try:
        dt = jnp.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be a floating dtype, got {dtype!r}") from err
    if not jnp.issubdtype(dt, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype, got {dtype!r}")
    if dt == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype=float64 needs float64 enabled: call physlearn.enable_x64() first")
    return dt


def default_float_dtype(dtype):
    """:func:`float_dtype`, with ``None`` meaning float64 when x64 is enabled, else float32."""
    if dtype is None:
        return jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return float_dtype(dtype)


# ------------------------------------------------------------------------------------------------
# arrays and problems
# ------------------------------------------------------------------------------------------------
def real_array(name: str, v, shape: tuple, *, nonzero_rows: bool = False) -> np.ndarray:
    """A concrete, finite, real array of the given ``shape`` (float64 NumPy); ``nonzero_rows``:
    no vector along the last axis is zero."""
    concrete(name, v)
    if isinstance(v, (bool, str)):
        raise ArgumentTypeError(f"{name} must be a real array, got {describe(v)}")
    try:
        arr = np.asarray(v)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a real array, got {describe(v)}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ArgumentTypeError(f"{name} must be a real array, got {describe(v)}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf entries)")
    if nonzero_rows and np.any(np.all(arr == 0, axis=-1)):
        raise ValueError(f"{name} must not contain an all-zero vector along its last axis")
    return arr


def pm1(name: str, x):
    """Entries of a concrete array are +1 or -1 (traced arrays are not checked)."""
    if isinstance(x, jax.core.Tracer):
        return x
    arr = np.asarray(x)
    if arr.size and not np.all(np.abs(arr) == 1):
        bad = arr[np.abs(arr) != 1].ravel()[:3]
        raise ValueError(f"{name} must contain only +1 and -1 entries; found e.g. {bad.tolist()}")
    return x


STOPS = ("any", "centre", "never")


ARCHITECTURES = ("perceptron", "committee", "tree")


def architecture(v):
    """One of :data:`ARCHITECTURES`."""
    return choice("architecture", v, ARCHITECTURES)


def hidden_units(k, arch):
    """The number of hidden units: a positive odd integer, 1 for the perceptron."""
    k = integer("k", k, odd=True, what="number of hidden units")
    if arch == "perceptron" and k != 1:
        raise ValueError(f"k must be 1 for architecture='perceptron', got {k}")
    return k


# ------------------------------------------------------------------------------------------------
# renamed and removed keyword arguments
# ------------------------------------------------------------------------------------------------
RENAMED = {
    "lr": "learning_rate",
    "max_epochs": "max_steps (epochs)",
    "max_moves": "max_steps (attempted moves)",
    "gamma_step": "gamma=schedules.linear(gamma, gamma_step)",
    "lam_factor": "lam=schedules.exponential(lam, lam_factor)",
    "beta_factor": "beta=schedules.exponential(beta, beta_factor)",
    "gamma_factor": "gamma=schedules.exponential(gamma, gamma_factor)",
    "weights": "synapses ('binary' or 'continuous')",
    "scoping": "gamma=schedules.exponential(gamma, 1 + scoping)",
    "gamma_max": "gamma=schedules.exponential(gamma, 1 + scoping, end=gamma_max)",
}
"""Old keyword -> what replaced it, for the names that several functions shared."""


def renamed_arguments(*shared, **moved):
    """Decorator: calling with an old keyword argument raises a one-line ``TypeError`` that says
    what replaced it instead of accepting it silently. ``shared``: old names of :data:`RENAMED`;
    ``moved``: old name -> replacement, for this function. The table is kept on the function as
    ``__renamed_arguments__`` (the README's changelog is checked against it)."""
    import functools

    moved = {**{k: RENAMED[k] for k in shared}, **moved}

    def deco(fn):
        where = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}()"

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            old = [k for k in kwargs if k in moved]
            if old:
                raise TypeError(f"{where} has no argument {old[0]!r} any more: use {moved[old[0]]}")
            return fn(*args, **kwargs)

        wrapper.__renamed_arguments__ = dict(moved)
        return wrapper

    return deco


def warn_deprecated(message: str) -> None:
    """A ``DeprecationWarning`` attributed to the caller's code: frames of physlearn itself and of
    the import machinery are skipped, so that the warning points at the user's line (and Python's
    default filters show it in scripts and notebooks)."""
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__))
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is our caller
    while frame is not None:
        fname = frame.f_code.co_filename
        if not (fname.startswith(package) or "importlib" in fname):
            break
        if not ("importlib" in fname and "_bootstrap" in fname):  # warnings skips these itself
            level += 1
        frame = frame.f_back
    warnings.warn(message, DeprecationWarning, stacklevel=level)
