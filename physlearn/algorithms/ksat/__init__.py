"""Random K-SAT: instances and DIMACS files, zero-temperature BP and its Bethe entropy, BP-guided
decimation, reinforced and focusing BP, WalkSAT.

* :mod:`~physlearn.algorithms.ksat.instances` -- :class:`KSAT` (batched over samples),
  :func:`random_ksat`, the energy (:func:`num_violated`), DIMACS CNF (:func:`read_dimacs`,
  :func:`parse_dimacs`, :func:`write_dimacs`), clause lists for PySAT (:func:`to_clauses`,
  :func:`from_clauses`).
* :mod:`~physlearn.algorithms.ksat.bp` -- BP on the uniform measure over solutions, Bethe
  entropy (``bp.solve``), and the message kernel the other solvers share.
* :mod:`~physlearn.algorithms.ksat.bpgd` -- BP-guided decimation (``bpgd.solve``).
* :mod:`~physlearn.algorithms.ksat.focusing` -- reinforced BP (``focusing.solve_rbp``) and focusing
  BP (``focusing.solve_fbp``, PNAS 2016 appendix D.4).
* :mod:`~physlearn.algorithms.ksat.walksat` -- WalkSAT batched over instances and runs
  (``walksat.solve``).

Entropy-driven Monte Carlo on K-SAT is :func:`physlearn.algorithms.edmc.solve`; the RS cavity
entropy and the literature thresholds are in :mod:`physlearn.theory.ksat`.
"""

from . import bp, bpgd, focusing, instances, walksat
from .instances import (
    KSAT, dimacs_text, from_clauses, num_violated, parse_dimacs, random_ksat, read_dimacs, to_clauses, violated,
    write_dimacs,
)

__all__ = [
    "bp", "bpgd", "focusing", "instances", "walksat", "KSAT", "dimacs_text", "from_clauses", "num_violated",
    "parse_dimacs", "random_ksat", "read_dimacs", "to_clauses", "violated", "write_dimacs",
]
