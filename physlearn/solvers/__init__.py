r"""The saddle-point engine: every iterative solve of :mod:`physlearn.theory` runs here.

Replica computations end in stationarity conditions for a handful of order parameters,
:math:`\partial\phi/\partial\theta = 0` for a free entropy :math:`\phi(\theta; \alpha, \kappa, \dots)`,
or equivalently a fixed-point map :math:`\theta = F(\theta)`. Order parameters are any pytree
(an array, a tuple, a dict of named overlaps). The engine offers:

* :func:`fixed_point` -- damped iteration :math:`\theta \leftarrow (1-\eta)\theta + \eta F(\theta)`,
  with hooks for maps that carry auxiliary state (conjugates, warm starts of inner solves), a
  custom convergence measure and an early stop that counts as success (a collapse onto RS);
* :func:`root` -- Newton, Chord, Levenberg--Marquardt (any dimension) or bisection (one dimension)
  on equations :math:`f(\theta) = 0` (optimistix), :func:`stationary` on :math:`\nabla_\theta\phi`;
* :func:`newton` -- damped Newton with a finite-difference or autodiff Jacobian, backtracking
  (step halving) and an admissible domain (a NaN residual rejects the trial point), for small
  systems whose residual is expensive or itself made of gradients;
* :func:`continuation` -- an ordered sweep (``lax.scan``, or an unrolled loop over static values)
  warm-starting each point from the last kept one; :func:`follow` -- branch following from a known
  point to a set of targets in both directions, with step control and a reason
  (``RESULTS.branch_ended``) where a branch ends;
* :func:`iterate` -- the bounded driver underneath all of them (also used for the fixed-count
  Newton steps of inner maximisations); :func:`with_root_tangents` -- the derivatives of a root
  found on held values, attached by traced Newton steps added as zero (recentred quadratures);
* :func:`implicit` -- derivatives of a solution by the implicit function theorem (every solve
  above attaches them; loops are never differentiated), with autodiff or finite-difference
  Jacobians; :func:`fd_derivative` -- derivatives of any quantity by central differences (for
  integrands with moving kinks); :func:`nondifferentiable` -- NaN derivatives for what cannot be
  differentiated (never a silent wrong number);
* :func:`raise_if_not_converged` -- the eager/traced error of the failure contract;
* :func:`dense_solve`, :func:`dense_cholesky_solve` -- the small batched linear solves of the
  Newton steps, written out element by element (jaxlib's batched LAPACK kernels can deadlock on a
  2-core CPU when two run at once).

Every solve returns a :class:`SaddleSolution` with ``value``, ``result`` (a :class:`RESULTS`
code: ``successful``, ``max_steps_reached``, ``nonfinite``, ``inadmissible``, ``branch_ended``,
``tolerance_not_met``), ``residual`` and ``n_steps``; ``converged`` is ``result == 0``. Nothing
here raises inside ``jit``: solves run under ``jit`` and ``vmap`` (one compilation for a whole
parameter grid) and are differentiable in forward and reverse mode, with NaN derivatives (never
an exception) at failed points.

Writing a new saddle point on the engine (e.g. a new 1RSB ansatz):

1. write the free entropy ``phi(theta, args)`` as a pure JAX function (``theta`` a pytree);
2. choose the equations: ``jax.grad(phi)`` (or scaled versions of it) for :func:`root` /
   :func:`newton`, or the conjugate maps overlaps -> conjugates -> overlaps for
   :func:`fixed_point`;
3. solve one point, e.g. ``sol = solvers.root(eqs, theta0, args, method="levenberg_marquardt",
   tol=1e-12, accept=1e-9)``; reparametrise (logit/log) to keep the iterate admissible;
4. follow a curve with :func:`follow` (or :func:`continuation` for a homotopy), vmap over a grid;
5. compute derived quantities from ``sol.value`` *without* ``stop_gradient``: the implicit
   derivatives make their total derivatives exact (envelope theorem included);
6. at the public boundary, raise with :func:`raise_if_not_converged` or flag (NaN values).
"""

from ._continuation import continuation, continuation_path, follow
from ._failure import concrete, raise_if_not_converged
from ._fixed_point import fixed_point
from ._implicit import attach_derivatives, fd_derivative, implicit, nondifferentiable
from ._iterate import iterate, with_root_tangents
from ._linalg import cholesky_solve as dense_cholesky_solve
from ._linalg import solve as dense_solve
from ._result import RESULTS, SaddleSolution, all_finite, combine, from_checks, max_abs
from ._root import newton, root, stationary

__all__ = [
    "RESULTS",
    "SaddleSolution",
    "all_finite",
    "attach_derivatives",
    "combine",
    "concrete",
    "continuation",
    "continuation_path",
    "dense_cholesky_solve",
    "dense_solve",
    "fd_derivative",
    "fixed_point",
    "follow",
    "from_checks",
    "implicit",
    "iterate",
    "max_abs",
    "newton",
    "nondifferentiable",
    "raise_if_not_converged",
    "root",
    "stationary",
    "with_root_tangents",
]
