"""physlearn: a JAX toolkit for the statistical physics of learning.

Submodules:

* :mod:`physlearn.numerics` -- stable special functions (log H, G/H, log 2cosh, ...) and Gaussian
  quadrature.
* :mod:`physlearn.solvers` -- the saddle-point engine (damped fixed point, Newton, bisection,
  continuation, implicit differentiation).
* :mod:`physlearn.theory` -- replica theory, one module per model/quantity.
* :mod:`physlearn.algorithms` -- algorithms that the theory explains, on binary networks.
* :mod:`physlearn.deep` -- local-entropy optimisers, flatness measures and small nets with
  continuous weights.
* :mod:`physlearn.datasets` -- digits and MNIST-format data for both.

physlearn never enables float64 globally on import; eager theory calls are computed in float64
in a scoped way. Call :func:`physlearn.enable_x64` to get float64 everywhere.
:func:`physlearn.set_compile_mode` trades the run time of the compiled theory curves for
compilation time (``"fast"``: for small grids evaluated once).
"""

from importlib.metadata import PackageNotFoundError, version as _version

from . import errors, numerics
from ._config import compile_mode, enable_x64, set_compile_mode

try:
    __version__ = _version("physlearn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

__all__ = ["enable_x64", "set_compile_mode", "compile_mode", "errors", "numerics", "__version__"]


def __getattr__(name):  # lazy subpackages keep `import physlearn` cheap
    import importlib

    if name in {"solvers", "theory", "algorithms", "deep", "datasets", "plotting", "cli", "tour", "experiments", "stats"}:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'physlearn' has no attribute {name!r}")
