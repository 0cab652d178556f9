"""Error and warning classes of physlearn.

Every error says what went wrong *and what to try next*, so that a failed saddle-point solve
in the middle of a parameter sweep is actionable without reading the source.
"""

from __future__ import annotations

__all__ = ["NonConvergenceError", "PrecisionError", "PrecisionWarning", "ReplicaSymmetryWarning"]


class NonConvergenceError(RuntimeError):
    """A saddle-point (or other iterative) solve did not converge.

    Raised by the public theory API (e.g. :func:`physlearn.theory.gardner.binary_rs`) with the
    default ``on_failure="raise"`` when at least one parameter point failed, eagerly and under an
    eager ``jax.grad``. The message names the offending parameters, the residual reached, the
    number of steps and the reason (a :class:`physlearn.solvers.RESULTS` code). Inside ``jit`` or
    ``vmap`` the same message is raised from the compiled program when it runs (it surfaces as a
    ``jax.errors.JaxRuntimeError`` whose text ends with this error). With ``on_failure="flag"``
    nothing is raised: failed points are NaN, with ``converged=False``.

    Things to try: move the parameter back inside the branch (e.g. lower alpha), solve an ordered
    sweep by continuation (``physlearn.solvers.continuation``), increase the number of quadrature
    nodes, run in float64 (``physlearn.enable_x64()``), or raise ``max_steps``.
    """

    def __init__(self, message: str, *, params: dict | None = None, residual=None, n_steps=None):
        super().__init__(message)
        self.params = params or {}
        self.residual = residual
        self.n_steps = n_steps


class PrecisionError(RuntimeError):
    """A theory solve was traced (under ``jit``/``grad``/``vmap``) with float64 disabled.

    Saddle-point tolerances (1e-9 to 1e-12) cannot be met in float32, so physlearn refuses to
    trace its solvers in float32 instead of returning unconverged numbers. Call
    ``physlearn.enable_x64()`` (or ``jax.config.update("jax_enable_x64", True)``) before tracing.
    Eager calls with concrete inputs need nothing: they run in float64 in a scoped way.
    """


class PrecisionWarning(UserWarning):
    """A theory computation is running in float32, which cannot reach the requested tolerance.

    Enable float64 with ``physlearn.enable_x64()`` (or ``jax.config.update("jax_enable_x64",
    True)``) before tracing theory functions under ``jit``/``grad``. Eager calls with concrete
    inputs are computed in float64 automatically.
    """


class ReplicaSymmetryWarning(UserWarning):
    """A replica-symmetric result is used where replica symmetry is known to be broken.

    Example: the spherical perceptron with negative margin (kappa < 0) is non-convex, and its RS
    capacity is only an upper estimate (Franz & Parisi 2016; Franz et al., SciPost 2017).
    """
