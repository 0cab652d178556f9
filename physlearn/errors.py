"""Error and warning classes of physlearn.

Every error says what went wrong *and what to try next*, so that a failed saddle-point solve
in the middle of a parameter sweep is actionable without reading the source.
"""

from __future__ import annotations

__all__ = ["NonConvergenceError", "PrecisionWarning", "ReplicaSymmetryWarning"]


class NonConvergenceError(RuntimeError):
    """A saddle-point (or other iterative) solve did not converge.

    Raised by the eager public API (e.g. :func:`physlearn.theory.gardner.binary_rs`) when at least
    one parameter point failed. The message names the offending parameters, the residual reached
    and the number of steps. Inside ``jit``/``vmap``/``grad`` nothing is raised: the returned
    :class:`physlearn.solvers.SaddleSolution` carries ``converged=False`` instead.

    Things to try: move the parameter back inside the branch (e.g. lower alpha), solve an ordered
    sweep by continuation (``physlearn.solvers.continuation``), increase the number of quadrature
    nodes, run in float64 (``physlearn.enable_x64()``), or raise ``max_steps``.
    """

    def __init__(self, message: str, *, params: dict | None = None, residual=None, n_steps=None):
        super().__init__(message)
        self.params = params or {}
        self.residual = residual
        self.n_steps = n_steps


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
