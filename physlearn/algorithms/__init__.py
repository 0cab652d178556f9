"""Algorithms that the replica theory explains, on binary (+-1 weight) networks.

* :mod:`~physlearn.algorithms.problems` -- random-pattern and teacher--student problems for the
  perceptron and the fully connected / tree-like committee machines (:class:`Problem`).
* :mod:`~physlearn.algorithms.energies` -- errors, the minimum-flip energy of Baldassi et al.,
  PNAS 113, E7655 (2016), stabilities, overlaps and Hamming distances.
* :mod:`~physlearn.algorithms.runner` -- the shared ``init``/``step`` driver (``run``), batched
  over disorder samples and hyper-parameter points; ``mesh=`` shards the samples over devices.
* :mod:`~physlearn.algorithms.rsgd` -- replicated SGD (robust ensemble), ``rsgd.solve``.
* :mod:`~physlearn.algorithms.annealing` -- replicated simulated annealing, standard SA and
  quantum (Suzuki--Trotter) simulated annealing, ``annealing.solve``.
"""

from . import annealing, energies, problems, rsgd, runner
from .problems import Problem, from_arrays, random_patterns, teacher_student
from .runner import RunResult, run

__all__ = [
    "annealing",
    "energies",
    "problems",
    "rsgd",
    "runner",
    "Problem",
    "from_arrays",
    "random_patterns",
    "teacher_student",
    "RunResult",
    "run",
]
