r"""Large-deviation local entropy of the binary perceptron (dense regions of solutions).

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015) (+ SM);
Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti & Zecchina, PNAS 113, E7655 (2016).

A reference :math:`\tilde W\in\{\pm1\}^N` is weighted by :math:`\mathcal N(\tilde W,d)^y`, the
number of solutions :math:`W` at normalised Hamming distance :math:`d` from it. As
:math:`y\to\infty` the measure concentrates on the references with the largest local entropy,

.. math:: S_I(d) = \lim_{y\to\infty}\frac1{Ny}\,\mathbb E\log\sum_{\tilde W}\mathcal N(\tilde W,d)^y,

the log-number per weight of solutions around the densest regions. With a free reference (the
robust-ensemble convention of PNAS 2016: the reference need not be a solution) the
:math:`y\to\infty` limit of the RS functional collapses the references (:math:`Q\to1`, with
:math:`1-Q`, :math:`S-S_0`, :math:`q_1-q_0 = \delta q/y` and :math:`\hat q_1-\hat q_0=\delta\hat q/y`)
and the inner Gaussian integrals become maximisations. With :math:`S=1-2d` and five order
parameters :math:`(q_1,\delta q;\hat q_1,\delta\hat q,\hat S)`:

.. math::

    S_I &= -\hat S S - \tfrac12\hat q_1(1-q_1) - \tfrac12(\delta\hat q\, q_1 + \hat q_1\delta q)
          + \int Dz\, M_S\big(\sqrt{\hat q_1}|z| + \hat S\big)
          + \alpha\int Dz\, M_E\Big(\frac{\kappa-\sqrt{q_1}z}{\sqrt{1-q_1}}\Big),\\
    M_S(B) &= \max_w\big[-w^2/2 + \log2\cosh(B+\sqrt{\delta\hat q}\,w)\big]
            = -\tfrac12\delta\hat q\tanh^2h + \log2\cosh h,\quad h = B + \delta\hat q\tanh h,\\
    M_E(c) &= \max_w\big[-w^2/2 + \log H(c-\sqrt K w)\big] = -\tfrac12 K A(u)^2 + \log H(u),
            \quad u + K A(u) = c,\quad K = \frac{\delta q}{1-q_1}.

The saddle point :math:`\nabla S_I = 0` reads :math:`S=\langle m\rangle`, :math:`q_1=\langle m^2\rangle`,
:math:`\delta q=\langle m|z|\rangle/\sqrt{\hat q_1}-(1-q_1)`,
:math:`\hat q_1=\alpha\langle A^2\rangle/(1-q_1)`,
:math:`\delta\hat q = \alpha\langle K A'^2/(1+KA')\rangle/(1-q_1)` (:math:`m=\tanh h`).
Since :math:`S_I` depends on :math:`d` only through :math:`-\hat S S`, the Legendre identity
:math:`dS_I/dd = 2\hat S` holds along the solution, and :math:`S_I(d)\le H_2(d)` with equality at
:math:`\alpha=0`.

Entry points, one per convention, each with one result type:

* :math:`y\to\infty`: :func:`free_reference_rs`, :func:`solution_reference_rs` (the PRL 2015
  convention: the reference is itself a solution of margin ``kappa_ref``),
  :func:`free_reference_1rsb`, :func:`solution_reference_1rsb` (a 1RSB structure among the
  replicas around each reference);
* finite :math:`y`, fixed distance: :func:`free_reference_rs_finite_y`,
  :func:`free_reference_1rsb_finite_y`, :func:`solution_reference_rs_finite_y`;
* finite :math:`y`, fixed coupling (what focusing BP measures): :func:`fixed_coupling_rs`,
  :func:`fixed_coupling_1rsb`;
* :func:`dense_region_threshold` (:math:`\alpha_U`), and the conveniences :func:`binary` and
  :func:`fixed_coupling` that dispatch on string flags.

Every solver validates its input eagerly, solves a whole grid in one compiled call, works under
``jit``, ``vmap`` and ``grad`` (derivatives by implicit differentiation through the saddle point)
and follows the failure contract: ``on_failure="raise"`` raises
:class:`~physlearn.errors.NonConvergenceError` naming the failed points, ``on_failure="flag"``
returns NaN values with ``converged=False`` and a :class:`physlearn.solvers.RESULTS` code.
Eager calls run in float64 and return NumPy arrays; traced solves need ``physlearn.enable_x64()``.
"""

from .._envelopes import moreau_energetic, moreau_entropic
from ..franz_parisi import h2
from ._api import (binary, fixed_coupling, fixed_coupling_1rsb, fixed_coupling_rs, free_reference_1rsb,
                   free_reference_1rsb_finite_y, free_reference_rs, free_reference_rs_finite_y,
                   solution_reference_1rsb, solution_reference_rs, solution_reference_rs_finite_y)
from ._free import free_entropy
from ._results import (FiniteY1RSB, FiniteYRS, FiniteYSolutionRS, FixedCoupling1RSB, FixedCouplingRS,
                       LocalEntropy1RSB, LocalEntropyRS, LocalEntropySolution1RSB, LocalEntropySolutionRS,
                       ThresholdResult)
from ._threshold import dense_region_threshold

__all__ = [
    "binary",
    "dense_region_threshold",
    "fixed_coupling",
    "fixed_coupling_1rsb",
    "fixed_coupling_rs",
    "free_entropy",
    "free_reference_1rsb",
    "free_reference_1rsb_finite_y",
    "free_reference_rs",
    "free_reference_rs_finite_y",
    "h2",
    "moreau_energetic",
    "moreau_entropic",
    "solution_reference_1rsb",
    "solution_reference_rs",
    "solution_reference_rs_finite_y",
    "FiniteY1RSB",
    "FiniteYRS",
    "FiniteYSolutionRS",
    "FixedCoupling1RSB",
    "FixedCouplingRS",
    "LocalEntropy1RSB",
    "LocalEntropyRS",
    "LocalEntropySolution1RSB",
    "LocalEntropySolutionRS",
    "ThresholdResult",
]
