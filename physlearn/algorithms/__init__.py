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
* :mod:`~physlearn.algorithms.committee` -- the committee-machine rules of Baldassi, Pittorino &
  Zecchina, PNAS 117, 161 (2020): cross-entropy SGD with growing polarisation (ceSGD fast/slow,
  ``committee.solve_cesgd``), least action learning (``committee.solve_lal``) and its entropic
  replicated version (``committee.solve_elal``).
* :mod:`~physlearn.algorithms.optim` -- local-entropy optimisers for continuous weights
  (Entropy-SGD, replicated SGD, EASGD, Parle) as optax transformations, and ``optim.fit``.
* :mod:`~physlearn.algorithms.flatness` -- local energy, Hessian eigenvalues (Lanczos), spectral
  density (SLQ) and the index of critical points.
* :mod:`~physlearn.algorithms.nets` -- small equinox MLPs (ReLU/tanh/ESP...) and committee machines.
"""

from . import annealing, committee, energies, flatness, nets, optim, problems, rsgd, runner
from .problems import Problem, from_arrays, random_patterns, teacher_student
from .runner import RunResult, run

__all__ = [
    "annealing",
    "committee",
    "energies",
    "flatness",
    "nets",
    "optim",
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
