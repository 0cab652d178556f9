"""Deprecated: the committee-machine rules moved to :mod:`physlearn.algorithms.cesgd` (ceSGD),
:mod:`physlearn.algorithms.lal` (LAL) and :mod:`physlearn.algorithms.elal` (eLAL).

This module keeps the old names working (``solve_cesgd`` is ``cesgd.solve``, ``solve_lal`` is
``lal.solve``, ``solve_elal`` is ``elal.solve``, ``CommitteeResult`` is
:class:`~physlearn.algorithms.results.ReplicaResult`, ``WEIGHTS`` is ``SYNAPSES``); importing it
emits a ``DeprecationWarning``.
"""

from .._validation import warn_deprecated
from .cesgd import (  # noqa: F401
    CESGD, SCHEDULES, SYNAPSES, CESGDInfo, CESGDState, ce_gradient, ce_loss, ce_loss_fn,
)
from .cesgd import solve as solve_cesgd  # noqa: F401
from .elal import solve as solve_elal  # noqa: F401
from .lal import LAL, LALInfo, LALState, lal_selection  # noqa: F401
from .lal import solve as solve_lal  # noqa: F401
from .results import ReplicaResult as CommitteeResult  # noqa: F401

WEIGHTS = SYNAPSES

warn_deprecated(
    "physlearn.algorithms.committee is deprecated: use physlearn.algorithms.cesgd, physlearn.algorithms.lal "
    "and physlearn.algorithms.elal (solve_cesgd -> cesgd.solve, solve_lal -> lal.solve, solve_elal -> elal.solve)"
)
