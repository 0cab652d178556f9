"""Random K-SAT: instances and DIMACS files, zero-temperature BP and its Bethe entropy, BP-guided
decimation, reinforced and focusing BP, WalkSAT (see each module)."""

from . import bp, instances
from .instances import KSAT, from_clauses, num_violated, parse_dimacs, random_ksat, read_dimacs, to_clauses, violated, write_dimacs

__all__ = [
    "bp", "instances", "KSAT", "from_clauses", "num_violated", "parse_dimacs", "random_ksat", "read_dimacs",
    "to_clauses", "violated", "write_dimacs",
]
