"""Algorithms that the replica theory explains, on binary (+-1 weight) networks.

Shared machinery:

* :mod:`~physlearn.algorithms.problems` -- random-pattern and teacher--student problems for the
  perceptron and the fully connected / tree-like committee machines (:class:`Problem`).
* :mod:`~physlearn.algorithms.energies` -- errors, the minimum-flip energy of Baldassi et al.,
  PNAS 113, E7655 (2016), stabilities, overlaps and Hamming distances.
* :mod:`~physlearn.algorithms.runner` -- the shared ``init``/``step`` driver (``run``), batched
  over disorder samples and hyper-parameter points, with a progress bar; ``mesh=`` shards the
  samples over devices.
* :mod:`~physlearn.algorithms.schedules` -- schedules ``step -> value`` of annealed parameters
  (``linear``, ``exponential``, ``table``, the focusing protocols of fBP).
* :mod:`~physlearn.algorithms.results` -- :class:`AlgorithmResult`, the base of every result.

The algorithms, each with a ``solve(key, problem, *, ..., max_steps, stop, dtype, trace, progress,
mesh)`` in one vocabulary (``docs/conventions.md``):

* :mod:`~physlearn.algorithms.rsgd` -- replicated SGD (robust ensemble);
* :mod:`~physlearn.algorithms.sbp` -- the stochastic binary perceptron's erfc-likelihood descent;
* :mod:`~physlearn.algorithms.fbp` -- focusing belief propagation (and ``fbp.fixed_point``);
* :mod:`~physlearn.algorithms.replicated_sa`, :mod:`~physlearn.algorithms.standard_sa`,
  :mod:`~physlearn.algorithms.quantum_sa` -- replicated, standard and quantum (Suzuki--Trotter)
  simulated annealing, on the Metropolis engine of :mod:`~physlearn.algorithms.annealing`;
* :mod:`~physlearn.algorithms.cesgd`, :mod:`~physlearn.algorithms.lal`,
  :mod:`~physlearn.algorithms.elal` -- cross-entropy SGD with growing polarisation, least action
  learning and its replicated version (Baldassi, Pittorino & Zecchina, PNAS 117, 161 (2020));
* :mod:`~physlearn.algorithms.continuous_bp` -- BP for continuous (spherical) weights: the Bethe
  volume, the weight enumerator (local volume around any given network) and focusing BP;
  :mod:`~physlearn.algorithms.wide_flat_minima` -- the PNAS 2020 comparison of the minima that
  fBP, LAL, eLAL and ceSGD find (BP local volumes, Hessian spectra);
* :mod:`~physlearn.algorithms.edmc` -- entropy-driven Monte Carlo (on these networks and on K-SAT);
* :mod:`~physlearn.algorithms.ksat` -- random K-SAT: instances and DIMACS files, BP and its Bethe
  entropy, BP-guided decimation, reinforced and focusing BP, WalkSAT.

The deep-network tools (local-entropy optimisers, flatness measures, small nets) are in
:mod:`physlearn.deep`, the data sets in :mod:`physlearn.datasets`. The old modules
``committee``, ``optim``, ``flatness`` and ``nets`` of this package still import, with a
``DeprecationWarning``.
"""

import importlib

from . import (
    annealing, cesgd, elal, energies, fbp, lal, problems, quantum_sa, replicated_sa, results, rsgd, runner, sbp,
    schedules, standard_sa,
)
from .problems import Problem, from_arrays, random_patterns, teacher_student
from .results import AlgorithmResult
from .runner import RunResult, run

__all__ = [
    "annealing",
    "cesgd",
    "elal",
    "energies",
    "fbp",
    "lal",
    "problems",
    "quantum_sa",
    "replicated_sa",
    "results",
    "rsgd",
    "runner",
    "sbp",
    "schedules",
    "standard_sa",
    "Problem",
    "from_arrays",
    "random_patterns",
    "teacher_student",
    "AlgorithmResult",
    "RunResult",
    "run",
]

DEPRECATED_MODULES = {
    "committee": "physlearn.algorithms.cesgd, .lal and .elal",
    "optim": "physlearn.deep.optim",
    "flatness": "physlearn.deep.flatness",
    "nets": "physlearn.deep.nets",
}
"""Old modules of this package that still import (with a ``DeprecationWarning``) -> their new home."""


def __getattr__(name):
    if name in DEPRECATED_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
