r"""Public entry points of :mod:`physlearn.theory.local_entropy`: one function per convention, each
with one result type, and the two dispatching conveniences :func:`binary` and :func:`fixed_coupling`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..._config import eager_x64, is_traced
from .._envelopes import DEFAULT_N_IN as _N_IN_1RSB
from .._inputs import as_param, broadcast, check_on_failure, finish, finish_curve, validate_d
from . import _curves as cv
from ._finite_y import DEFAULT_N_INNER, DEFAULT_N_OUTER
from ._free import DEFAULT_NODES
from ._ref_1rsb import DEFAULT_N_FY as _N_REF_FY
from ._ref_1rsb import DEFAULT_N_IN_FY as _N_REF_IN_FY
from ._ref_1rsb import DEFAULT_N_MID as _N_REF_MID
from ._results import (FiniteY1RSB, FiniteYRS, FiniteYSolutionRS, FixedCoupling1RSB, FixedCouplingRef1RSB,
                       FixedCouplingRS, LocalEntropy1RSB, LocalEntropyRef1RSB, LocalEntropyRS, LocalEntropySolution1RSB,
                       LocalEntropySolutionRS)
from ._solution import DEFAULT_N2


_CONTRACT = """
    Failure: with ``on_failure="raise"`` (default) a point that did not converge raises
    :class:`~physlearn.errors.NonConvergenceError` naming it (inside ``jit``/``vmap``: a runtime
    error with the same message); with ``on_failure="flag"`` its value fields are NaN,
    ``converged`` is False and ``result`` gives the reason (:class:`physlearn.solvers.RESULTS`)."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.rstrip() + "\n" + _CONTRACT + "\n"
    return fn


def _f(v):
    # the float type of the call (float64 inside the eager x64 scope), never one fixed at import
    return jnp.asarray(v, jnp.result_type(float))


def _curve_inputs(alpha, d, kappa):
    a = as_param("alpha", alpha, positive=True)
    k = as_param("kappa", kappa)
    dd = validate_d(d)
    broadcast(alpha=a, kappa=k)
    return a, dd, k


def _kappa_ref(a, k, kappa_ref):
    kr = k if kappa_ref is None else as_param("kappa_ref", kappa_ref)
    broadcast(alpha=a, kappa=k, kappa_ref=kr)
    if not is_traced(kr, k) and (np.asarray(k) > np.asarray(kr) + 1e-15).any():
        raise ValueError("kappa_ref must be >= kappa (the reference must itself be a margin-kappa solution)")
    return kr


def _finite_y_value(y, *, concrete: bool):
    """A finite number of real replicas ``y > 1`` (a scalar; concrete where it selects a schedule)."""
    if is_traced(y):
        if concrete:
            raise ValueError("y must be a concrete Python number here (it selects a static path), not a traced value")
        return y
    if np.ndim(y) != 0:
        raise ValueError(f"y must be a scalar (one functional per call; loop over y values), got shape {np.shape(y)}")
    yv = float(np.asarray(y))
    if np.isnan(yv) or not np.isfinite(yv) or yv <= 1.0:
        raise ValueError(f"finite y must be > 1 (number of real replicas), got {y!r}")
    return yv


def _parisi_m(m, lo, hi, rng, what, *, y=None):
    if is_traced(m):
        return m
    if np.ndim(m) != 0:
        raise ValueError(f"m must be a number in {rng}")
    mv = float(np.asarray(m))
    hi_v = float(np.asarray(hi)) if not is_traced(hi) else np.inf
    if not lo < mv < hi_v:
        raise ValueError(f"m must satisfy {rng} ({what}), got m={m!r}" + (f", y={y!r}" if y is not None else ""))
    return mv


# --------------------------------------------------------------------------------------------
# y = infinity
# --------------------------------------------------------------------------------------------
@eager_x64
@_doc
def free_reference_rs(alpha, d, kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> LocalEntropyRS:
    r"""Local entropy of the densest regions, :math:`y\to\infty`, free reference (robust ensemble),
    RS (Baldassi et al. PNAS 113, E7655 (2016); PRL 115, 128101 (2015) SM).

    Solves :math:`\nabla S_I = 0` for the five-parameter functional
    (:func:`~physlearn.theory.local_entropy.free_entropy`)

    .. math:: S_I = -\hat S S - \tfrac12\hat q_1(1-q_1) - \tfrac12(\delta\hat q q_1 + \hat q_1\delta q)
              + \langle M_S(\sqrt{\hat q_1}|z|+\hat S)\rangle + \alpha\langle M_E(\tfrac{\kappa-\sqrt{q_1}z}{\sqrt{1-q_1}})\rangle,
              \quad S = 1-2d .

    Path, no initial guess needed: a cold start at :math:`d=0.1` by the reduced damped iteration
    :math:`(q_1,\delta q)\to(\hat q_1,\delta\hat q)\to\hat S\to(q_1,\delta q)`, then
    damped Newton along a continuation towards small and large :math:`d` (a point where it fails is
    approached again in up to three halved steps); each direction ends at its first failure (the branch exists while :math:`\hat S\ge0`, and for
    :math:`\alpha>\alpha_U` (:func:`dense_region_threshold`) not at small :math:`d`). The degenerate
    corner :math:`\alpha\lesssim0.3`, :math:`d\lesssim 3\cdot10^{-3}`, where the conjugates
    underflow (there :math:`S_I = H_2(d)` to 1e-14), is flagged as not converged.

    Args:
        alpha, kappa: broadcast against each other (shape ``P``); ``alpha > 0``.
        d: scalar or 1-D array of distances in (0, 1/2); results have shape ``P + d.shape``.
        n: quadrature nodes per half line.
        on_failure: ``"raise"`` or ``"flag"``.

    Returns:
        :class:`LocalEntropyRS` (``entropy`` is :math:`S_I(d)`; ``S_hat`` is :math:`\frac12 dS_I/dd`).
        Every value is differentiable in ``alpha``, ``d`` and ``kappa``.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    sol = cv.free_grid(_f(a), _f(k), _f(dd), n)
    return finish_curve(sol, on_failure, "local_entropy.free_reference_rs",
                        "the y=inf RS branch exists for S_hat >= 0 and, above alpha_U, not at small d")


@eager_x64
@_doc
def solution_reference_rs(alpha, d, kappa=0.0, kappa_ref=None, *, n: int = DEFAULT_NODES, n2: int | None = None,
                          on_failure: str = "raise") -> LocalEntropySolutionRS:
    r"""Local entropy of the densest regions, :math:`y\to\infty`, RS, with the reference constrained
    to be a solution of margin ``kappa_ref`` (PRL 115, 128101 (2015) and its SM).

    The nine-parameter functional :math:`S_I(q_1,\delta Q,\delta S,\delta q;R,a,\hat q_1,\delta\hat q,\hat S)`
    (2D Gaussian integrals split at their kinks: the switch of the optimal reference and the
    activation of the constraint :math:`r\ge\kappa_{\rm ref}` on the reference field) is solved by a
    damped reduced iteration started from the free-reference solution at the same point
    (:func:`free_reference_rs`, whose :math:`S_I` is returned as ``entropy_free``, an upper bound).

    Args:
        alpha, kappa: broadcast (shape ``P``); d: scalar or 1-D array in (0, 1/2).
        kappa_ref: margin of the reference, ``>= kappa`` (default ``kappa``).
        n: nodes per half line of the free-reference start; n2: nodes per half line in each
            dimension of the 2D integrals (default 48).
        on_failure: ``"raise"`` or ``"flag"``.

    Returns:
        :class:`LocalEntropySolutionRS`. Differentiable in ``alpha, d, kappa, kappa_ref`` (the
        value by the envelope theorem, the order parameters by implicit differentiation with
        finite-difference Jacobians). Where the constraint binds on a vanishing mass
        (:math:`R<10^{-3}`), :math:`\delta Q` is numerically a flat direction: the solve holds it at
        its last iterate without imposing stationarity in :math:`R`, so the values there are not a
        resolved saddle point and every field has NaN derivatives.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    kr = _kappa_ref(a, k, kappa_ref)
    sol = cv.solution_grid(_f(a), _f(k), _f(kr), _f(dd), n, DEFAULT_N2 if n2 is None else int(n2))
    return finish_curve(sol, on_failure, "local_entropy.solution_reference_rs",
                        "the constrained solve starts from the free-reference branch (S_hat >= 0; above alpha_U not "
                        "at small d)")


@eager_x64
@_doc
def free_reference_1rsb(alpha, d, kappa=0.0, *, m=None, n: int = DEFAULT_NODES, n_1rsb: int = 48,
                        on_failure: str = "raise") -> LocalEntropy1RSB:
    r"""Local entropy of the densest regions, :math:`y\to\infty`, free reference, with a 1RSB
    structure among the replicas around each reference (intra-cluster :math:`q_1`, inter-cluster
    :math:`q_0`, Parisi parameter :math:`m`; PRL 115, 128101 (2015) SM; functional in
    :mod:`physlearn.theory.local_entropy._free_1rsb`).

    ``m=None``: the :math:`m\to1` analysis. Its inter-cluster level is exactly the RS saddle
    (:func:`free_reference_rs`) and the intra-cluster level a scalar fixed point: at every point
    the replicon slope :math:`\lambda` of that fixed point at the collapse is computed (RS locally
    stable if :math:`\lambda<1`) and a non-trivial solution is searched from a nearly frozen start
    :math:`q_1=q_0+0.9(1-q_0)`. A number ``m`` in (0, 1): the full 1RSB saddle point at that
    Parisi parameter (seven order parameters and :math:`\hat S`, damped iteration of the two
    conjugate maps from the same start); ``replicon`` is then the slope of the gap mode
    :math:`q_1-q_0` under one full sweep, independent of :math:`m`, and ``complexity``
    :math:`\Sigma(m)=-m^2\partial_mS_I` (the physical :math:`m` is where it vanishes, if a
    non-collapsed solution exists).

    Args:
        alpha, kappa, d: as :func:`free_reference_rs`; m: ``None`` or a number in (0, 1);
        n: nodes of the RS start; n_1rsb: outer nodes per half line of the 1RSB functional
            (inner nodes 24); on_failure: ``"raise"`` or ``"flag"``.

    Returns:
        :class:`LocalEntropy1RSB`. A point where a non-collapsed solution has negative complexity
        (condensation: it needs :math:`m<1`) is flagged (``result = RESULTS.inadmissible``); so is
        the degenerate corner of :func:`free_reference_rs`, where the search runs to a frozen
        solution this parametrisation does not resolve. At a collapse every value is the RS one
        with the RS derivatives (``replicon``: derivatives by finite differences); the values of a
        non-collapsed solution have NaN derivatives.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    if m is not None:
        m = _parisi_m(m, 0.0, 1.0, "(0, 1)", "m -> 1 is the default analysis, m=None")
    sol = cv.free_1rsb_grid(_f(a), _f(k), _f(dd), n, int(n_1rsb), _N_IN_1RSB, m)
    return finish_curve(sol, on_failure, "local_entropy.free_reference_1rsb",
                        "the 1RSB analysis runs on the y=inf RS branch (S_hat >= 0; above alpha_U not at small d); "
                        "a converged=False point inside it is a condensed 1RSB solution (needs m < 1)")


@eager_x64
@_doc
def solution_reference_1rsb(alpha, d, kappa=0.0, kappa_ref=None, *, n: int = DEFAULT_NODES,
                            n2: int | None = None, on_failure: str = "raise") -> LocalEntropySolution1RSB:
    r"""The :math:`m\to1` 1RSB analysis of :func:`free_reference_1rsb` around a reference constrained
    to be a solution (PRL 115, 128101 (2015) SM), on the twelve-parameter functional of
    :mod:`physlearn.theory.local_entropy._solution` (the 1RSB envelopes inside the 2D integrals
    split at their kinks). At :math:`m\to1` it equals the constrained RS functional for any
    intra-cluster :math:`(q_1,\hat q_1)`, so the inter-cluster level is the saddle of
    :func:`solution_reference_rs` and the intra-cluster sweep runs on the 2D integrals, the
    reference constraint included.

    Args:
        alpha, kappa, d, kappa_ref, n, n2: as :func:`solution_reference_rs`; on_failure.

    Returns:
        :class:`LocalEntropySolution1RSB` (``entropy_rs``: the constrained RS :math:`S_I`, equal to
        ``entropy`` where the search collapses). Derivatives as in :func:`free_reference_1rsb`,
        except ``replicon``, which has none (NaN): the slope of the constrained maps carries
        rounding noise of order 1e-9 from the :math:`1/(1-m)` of the :math:`m\to1` limit, and a
        difference quotient of it would be wrong by ~1e-3.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    kr = _kappa_ref(a, k, kappa_ref)
    sol = cv.solution_1rsb_grid(_f(a), _f(k), _f(kr), _f(dd), n, DEFAULT_N2 if n2 is None else int(n2), _N_IN_1RSB)
    return finish_curve(sol, on_failure, "local_entropy.solution_reference_1rsb",
                        "the analysis runs on the constrained RS branch (see solution_reference_rs); a converged=False "
                        "point inside it is a condensed 1RSB solution (needs m < 1)")


# --------------------------------------------------------------------------------------------
# finite y, fixed distance
# --------------------------------------------------------------------------------------------
@eager_x64
@_doc
def free_reference_rs_finite_y(alpha, d, y, kappa=0.0, *, n: int = DEFAULT_NODES, n_fy: int | None = None,
                               on_failure: str = "raise") -> FiniteYRS:
    r"""Local entropy at a finite number ``y`` of real replicas and fixed distance, free reference,
    RS (PNAS 113, E7655 (2016)): the Legendre transform of :func:`fixed_coupling_rs`, i.e.
    stationarity of :math:`\Phi_{\rm tot}(\gamma)-y\gamma(1-2d)` in the four order parameters and
    :math:`\gamma`. Started from :math:`\gamma_0=\hat S(d)` of the :math:`y=\infty` curve
    (:func:`free_reference_rs`) and the fixed-coupling saddle there; :math:`S_I(d,y)\to S_I(d)` as
    :math:`y\to\infty`.

    Args:
        alpha, kappa, d: as :func:`free_reference_rs`; y: number of real replicas, a scalar
            ``> 1`` (may be traced: differentiable in ``y``); n: nodes of the :math:`y=\infty`
            start; n_fy: outer nodes per half line of the finite-y functional (default 48, inner 24);
            on_failure.

    Returns:
        :class:`FiniteYRS` (``entropy`` = :math:`\Sigma_{\rm int}`, ``gamma``, ``external_entropy``
        with ``external_ok`` False where it is negative, ``total_local_entropy``).
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    yv = _finite_y_value(y, concrete=False)
    sol = cv.finite_y_grid(_f(a), _f(k), _f(yv), _f(dd), n, DEFAULT_N_OUTER if n_fy is None else int(n_fy),
                           DEFAULT_N_INNER)
    return finish_curve(sol, on_failure, "local_entropy.free_reference_rs_finite_y",
                        "the fixed-d solve starts from the fixed-coupling point at gamma = S_hat(d) of the y=inf "
                        "curve; large gamma*y pushes q1 -> 1")


@eager_x64
@_doc
def free_reference_1rsb_finite_y(alpha, d, y, kappa=0.0, *, m=None, n: int = DEFAULT_NODES,
                                 n_fy: int | None = None, on_failure: str = "raise") -> FiniteY1RSB:
    r"""Finite-:math:`y` fixed-distance local entropy, free reference, with groups of ``m`` replicas
    around each reference (Parisi parameter :math:`1<m<y`, default :math:`(1+y)/2`; PNAS 2016
    App. D.3): the RS fixed-d saddle (:func:`free_reference_rs_finite_y`) is solved and the 1RSB
    saddle searched at its coupling :math:`\gamma(d)` from a nearly frozen intra-group start
    (functional of :mod:`physlearn.theory.local_entropy._finite_y_1rsb`). Where the search
    collapses, the 1RSB result is the RS one; a non-collapsed point is flagged (its fixed-d
    Legendre transform is not solved; see :func:`fixed_coupling_1rsb`).

    Returns:
        :class:`FiniteY1RSB`. Arguments as :func:`free_reference_rs_finite_y`.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    yv = _finite_y_value(y, concrete=False)
    mm = 0.5 * (1.0 + yv) if m is None else _parisi_m(m, 1.0, yv, "1 < m < y",
                                                      "group size of the replicas around a reference", y=y)
    rs = cv.finite_y_grid(_f(a), _f(k), _f(yv), _f(dd), n, DEFAULT_N_OUTER if n_fy is None else int(n_fy),
                          DEFAULT_N_INNER)
    sol = cv.finite_y_1rsb(rs, _f(yv), _f(mm))
    return finish_curve(sol, on_failure, "local_entropy.free_reference_1rsb_finite_y",
                        "converged=False with rs_converged=True is a non-collapsed 1RSB saddle at the RS coupling: "
                        "its fixed-d Legendre transform is not solved; inspect fixed_coupling_1rsb")


@eager_x64
@_doc
def solution_reference_rs_finite_y(alpha, d, y, kappa=0.0, kappa_ref=None, *, n_fy: int | None = None,
                                   on_failure: str = "raise") -> FiniteYSolutionRS:
    r"""Finite-:math:`y` fixed-distance local entropy, RS, with the reference constrained to be a
    solution of margin ``kappa_ref`` (PRL 115, 128101 (2015)): the nine-parameter functional of
    :mod:`physlearn.theory.local_entropy._finite_y_solution`, solved guess-free from the
    Franz--Parisi saddle point (:func:`physlearn.theory.franz_parisi.binary`, its :math:`y\to0`
    limit) along :math:`y=1.5\to y` (geometric steps, at most x1.6), with the conjugates eliminated
    and damped Newton (finite-difference Jacobian) on the four overlaps.

    Args:
        alpha, kappa, d, kappa_ref: as :func:`solution_reference_rs`; y: a concrete number of real
            replicas ``> 1`` (it fixes the path, so it cannot be traced: not differentiable in ``y``);
        n_fy: outer nodes per half line (default 48; the quadrature is
            ``(2 n_fy/3, n_fy, 2 n_fy/3, n_fy/3)``); on_failure.

    Returns:
        :class:`FiniteYSolutionRS`; differentiable in ``alpha, d, kappa, kappa_ref``.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    kr = _kappa_ref(a, k, kappa_ref)
    yv = _finite_y_value(y, concrete=True)
    sol = cv.finite_y_solution(a, k, kr, dd, yv, 48 if n_fy is None else int(n_fy))
    return finish_curve(sol, on_failure, f"local_entropy.solution_reference_rs_finite_y(y={yv:g})",
                        "the path starts at the Franz-Parisi saddle point (y -> 0) and follows y from 1.5 upwards; "
                        "the Franz-Parisi branch ends at small d for alpha >~ 0.6")


# --------------------------------------------------------------------------------------------
# finite y, fixed coupling
# --------------------------------------------------------------------------------------------
def _coupling_inputs(alpha, gamma, y, kappa):
    a = as_param("alpha", alpha, positive=True)
    g = as_param("gamma", gamma, positive=True)
    yy = as_param("y", y)
    k = as_param("kappa", kappa)
    if not is_traced(yy) and (np.asarray(yy) <= 1.0).any():
        raise ValueError(f"y must be > 1 (number of real replicas), got {y!r}")
    return a, g, yy, k


@eager_x64
@_doc
def fixed_coupling_rs(alpha, gamma, y, kappa=0.0, *, n: int | None = None, n_in: int | None = None,
                      on_failure: str = "raise") -> FixedCouplingRS:
    r"""Finite-:math:`y` large-deviation measure of the binary perceptron at fixed coupling
    :math:`\gamma`, free reference, RS (robust ensemble; Baldassi et al. PNAS 113, E7655 (2016):
    the form focusing BP measures, their App. D.1):

    .. math:: \Phi_{\rm tot} = -\tfrac y2\hat q_1(1-q_1)-\tfrac{y^2}2(\hat q_1q_1-\hat q_0q_0)
              + \int Dz\log\sum_{\tilde W}\int Dz_2[2\cosh(\sqrt{\hat q_0}z+\sqrt{\hat q_1-\hat q_0}z_2+\gamma\tilde W)]^y
              + \alpha\int Dz\log\int Dz_2 H\big(\tfrac{\kappa-\sqrt{q_0}z-\sqrt{q_1-q_0}z_2}{\sqrt{1-q_1}}\big)^y .

    :math:`\Phi_{\rm tot}=\frac1N\mathbb E\log Z` for the whole replicated system (reference +
    ``y`` replicas); ``free_entropy`` :math:`=\Phi_{\rm tot}/y` is per replica. Derived quantities
    (envelope theorem): :math:`S=\partial_\gamma\Phi_{\rm tot}/y`,
    :math:`\Sigma_{\rm int}=\partial_y\Phi_{\rm tot}-\gamma S` (``internal_entropy``, the
    thermodynamic local entropy, :math:`H_2(d)` at :math:`\alpha=0`; focusing BP's
    ``local_entropy``), ``total_local_entropy`` :math:`=\Phi_{\rm tot}/y-\gamma S
    =\Sigma_{\rm int}+\Sigma_{\rm ext}/y`, :math:`\Sigma_{\rm ext}` (flagged by ``external_ok``
    where negative). Solved without initial guess by a homotopy in :math:`\alpha`
    (Levenberg--Marquardt at each of 8 steps). As :math:`y\to\infty` at fixed :math:`d` the internal
    entropy tends to :func:`free_reference_rs`'s :math:`S_I(d)` (roughly as :math:`1/y`).

    Args:
        alpha, gamma, y, kappa: broadcast against each other; ``alpha > 0``, ``gamma > 0``,
            ``y > 1``. All four may be traced; every value is differentiable in each.
        n, n_in: outer nodes per half line and inner Gauss--Hermite nodes (default 48, 24);
        on_failure.

    Returns:
        :class:`FixedCouplingRS`.
    """
    check_on_failure(on_failure)
    a, g, yy, k = _coupling_inputs(alpha, gamma, y, kappa)
    broadcast(alpha=a, gamma=g, y=yy, kappa=k)
    out = cv.fixed_coupling_grid(a, g, yy, k, int(n or 48), int(n_in or 24))
    return finish(out, on_failure, "local_entropy.fixed_coupling_rs",
                  {"alpha": out.alpha, "gamma": out.gamma, "y": out.y},
                  "large gamma*y pushes q1 -> 1: increase n_in or lower y")


@eager_x64
@_doc
def fixed_coupling_1rsb(alpha, gamma, y, kappa=0.0, *, m=None, n: int | None = None, n_in: int | None = None,
                        n_mid: int = 16, on_failure: str = "raise") -> FixedCoupling1RSB:
    r"""The fixed-coupling measure of :func:`fixed_coupling_rs` with a 1RSB structure among the
    ``y`` replicas around each reference (PNAS 2016 App. D.3, Fig. 11): groups of ``m`` replicas
    (Parisi parameter :math:`1<m<y`, default :math:`(1+y)/2`), three levels of overlaps
    :math:`q_0\le q_b\le q_c` (functional and reductions in
    :mod:`physlearn.theory.local_entropy._finite_y_1rsb`). The RS saddle is solved first; the 1RSB
    saddle is then searched from a nearly frozen intra-group start. Where the search collapses onto
    RS (``collapsed``) every entropy equals the RS one.

    Args:
        alpha, gamma, y, kappa: as :func:`fixed_coupling_rs`; m: Parisi parameter (may be traced);
        n, n_in, n_mid: outer, inner and middle nodes (default 32, 16, 16); on_failure.

    Returns:
        :class:`FixedCoupling1RSB` (``replicon`` has no derivative: NaN).
    """
    check_on_failure(on_failure)
    a, g, yy, k = _coupling_inputs(alpha, gamma, y, kappa)
    mm = 0.5 * (1.0 + np.asarray(yy)) if m is None and not is_traced(yy) else (
        0.5 * (1.0 + jnp.asarray(yy)) if m is None else as_param("m", m))
    if not is_traced(mm) and not is_traced(yy) and ((np.asarray(mm) <= 1.0) | (np.asarray(mm) >= np.asarray(yy))).any():
        raise ValueError(f"m must satisfy 1 < m < y (group size of the replicas around a reference), got m={m!r}, y={y!r}")
    broadcast(alpha=a, gamma=g, y=yy, kappa=k, m=mm)
    out = cv.fixed_coupling_1rsb_grid(a, g, yy, k, mm, int(n or 32), int(n_mid), int(n_in or 16))
    return finish(out, on_failure, "local_entropy.fixed_coupling_1rsb",
                  {"alpha": out.alpha, "gamma": out.gamma, "y": out.y, "m": out.m},
                  "the 1RSB search neither collapsed nor reached a fixed point: try another m or more nodes")


# --------------------------------------------------------------------------------------------
# 1RSB among the references (clusters of references)
# --------------------------------------------------------------------------------------------
@eager_x64
@_doc
def fixed_coupling_ref_1rsb(alpha, gamma, y, kappa=0.0, m_r=None, *, n: int = _N_REF_FY, n_mid: int = _N_REF_MID,
                            n_in: int = _N_REF_IN_FY, n_rs_in: int = 24,
                            on_failure: str = "raise") -> FixedCouplingRef1RSB:
    r"""The fixed-coupling measure of :func:`fixed_coupling_rs` with one step of replica symmetry
    breaking *among the references*: the references (each with its ``y`` replicas) are organised
    in clusters of :math:`m_r` (Parisi parameter over references, :math:`0<m_r\le1`), the picture
    of several dense regions that PNAS 113, E7655 (2016) (sec. VI, App. D.3) uses for focusing BP.
    Per reference (derivation and exact reductions: ``docs/theory/rsb_among_references.md``):

    .. math::

        \Phi &= -\tfrac y2\hat q_1(1-q_1)-\tfrac{y^2}2(\hat q_1q_1-\hat q_mq_m)
               -\tfrac{m_ry^2}2(\hat q_mq_m-\hat q_0q_0) + G_S + \alpha G_E,\\
        G_S &= \frac1{m_r}\int Dz_0\log\int Dz_1\,e^{m_rL_S(\sqrt{\hat q_0}z_0+\sqrt{\hat q_m-\hat q_0}z_1)},
        \quad L_S(x)=\log\sum_{\tilde W=\pm1}\int Dz_2\,[2\cosh(x+\gamma\tilde W+\sqrt{\hat q_1-\hat q_m}z_2)]^y,\\
        G_E &= \frac1{m_r}\int Dz_0\log\int Dz_1\,e^{m_rL_E(\kappa-\sqrt{q_0}z_0-\sqrt{q_m-q_0}z_1)},
        \quad L_E(v)=\log\int Dz_2\,H\Big(\frac{v-\sqrt{q_1-q_m}z_2}{\sqrt{1-q_1}}\Big)^y .

    :math:`q_1`: replicas of one reference; :math:`q_m`: of two references in one cluster (focusing
    BP's :math:`\langle m_W^2\rangle`); :math:`q_0`: of different clusters. At :math:`m_r=1` or
    :math:`q_m=q_0` it is the RS functional of :func:`fixed_coupling_rs`. Path: the RS saddle, then
    the clusters opened half-way (:math:`q_m=(q_0+q_1)/2`), damped sweeps of the stationarity maps and
    finite-difference Newton (:mod:`physlearn.solvers`). ``m_r=None`` takes the physical :math:`m_r`:
    the search at :math:`m_r=1-10^{-3}` (reconstruction); if its complexity
    :math:`\Sigma=-m_r^2\partial_{m_r}\Phi` is :math:`\ge0` (or it collapses), the clusters do not
    condense, ``m_r = 1`` and :math:`\Phi, S, \phi_{\rm int}` are the RS ones, computed by the RS functional
    of :func:`fixed_coupling_rs` at nodes ``(n, n_rs_in)`` (only ``qm``, ``qm_hat`` and ``complexity``
    come from the reconstruction);
    otherwise :math:`m_r^*` with :math:`\Sigma(m_r^*)=0` by bisection on :math:`(0.2, 1)`.

    Args:
        alpha, gamma, y, kappa: broadcast; ``alpha, gamma > 0``, ``y > 1``.
        m_r: ``None`` (physical) or a fixed value in ``(0, 1)`` (broadcast; may be traced).
        n, n_mid, n_in: outer (per half line), cluster-level and innermost nodes (32, 16, 16);
            n_rs_in: inner nodes of the RS start (24).
        on_failure: ``"raise"`` or ``"flag"``.

    Returns:
        :class:`FixedCouplingRef1RSB`. Values are differentiable in ``alpha, gamma, y, kappa`` (and
        a fixed ``m_r``) by implicit differentiation; through the bisection for :math:`m_r^*` too.
        The recentred Gauss--Hermite rules move with their centres in the derivatives
        (:func:`physlearn.solvers.with_root_tangents`), so derivatives are those of the computed
        values, up to the convergence of the centres' Newton loops, also for the fields that are
        themselves partial derivatives of :math:`\Phi` (the conjugates, ``S``, ``phi_int`` and
        what is built from them).
    """
    check_on_failure(on_failure)
    a, g, yy, k = _coupling_inputs(alpha, gamma, y, kappa)
    mode = "physical" if m_r is None else "fixed"
    mr = as_param("m_r", 1.0 if m_r is None else m_r)
    if mode == "fixed" and not is_traced(mr) and ((np.asarray(mr) <= 0.0) | (np.asarray(mr) >= 1.0)).any():
        raise ValueError(f"m_r must satisfy 0 < m_r < 1 (clusters of references; None: the physical m_r), got {m_r!r}")
    broadcast(alpha=a, gamma=g, y=yy, kappa=k, m_r=mr)
    out = cv.fixed_coupling_ref_1rsb_grid(a, g, yy, k, mr, int(n), int(n_mid), int(n_in), int(n_rs_in), mode)
    return finish(out, on_failure, "local_entropy.fixed_coupling_ref_1rsb",
                  {"alpha": out.alpha, "gamma": out.gamma, "y": out.y},
                  "the 1RSB search neither collapsed nor converged: try more nodes or a fixed m_r")


@eager_x64
@_doc
def free_reference_ref_1rsb(alpha, d, kappa=0.0, *, mu=None, n: int = DEFAULT_NODES, n_1rsb: int = 64,
                            n_in: int = 24, on_failure: str = "raise") -> LocalEntropyRef1RSB:
    r"""Local entropy of the densest regions, :math:`y\to\infty` at fixed :math:`d`, free reference,
    with 1RSB among the references (the :math:`y\to\infty` limit of :func:`fixed_coupling_ref_1rsb` at
    fixed :math:`\mu=m_ry`; derivation: ``docs/theory/rsb_among_references.md``):

    .. math::

        S_I &= -\hat SS-\tfrac12\hat q_1(1-q_1)-\tfrac12(\delta\hat q\,q_1+\hat q_1\delta q)
               -\tfrac\mu2(\hat q_1q_1-\hat q_0q_0)\\
            &\quad+\frac1\mu\int Dz_0\log\int Dz_1\,e^{\mu M_S(|\sqrt{\hat q_0}z_0+\sqrt{\hat q_1-\hat q_0}z_1|+\hat S)}
               +\frac\alpha\mu\int Dz_0\log\int Dz_1\,e^{\mu M_E\big(\frac{\kappa-\sqrt{q_0}z_0-\sqrt{q_1-q_0}z_1}{\sqrt{1-q_1}}\big)},

    a zero-temperature 1RSB on top of the RS Moreau envelopes :math:`M_S, M_E` of
    :func:`free_reference_rs` (its :math:`\mu\to0` member and its collapse :math:`q_0=q_1`). The RS
    saddle is unstable towards it at every :math:`d` (the optimal reference flips at :math:`B=0`).
    Path: the RS curve (:func:`free_reference_rs`), a gap opened between clusters
    (:math:`q_0=q_1-0.1(1-q_1)`) -- where the RS curve has ended (small :math:`d` beyond
    :math:`\alpha_U^{\rm RS}`), the previous distance's 1RSB saddle instead --, damped sweeps and
    finite-difference Newton at fixed :math:`\mu`;
    ``mu=None`` then solves :math:`\partial_\mu S_I=0` (zero complexity, the minimum of
    :math:`S_I(\mu)`: the largest local entropy carried by a non-negative number of clusters) by
    Newton in :math:`\log\mu`, from :math:`\mu=5` at the first distance and from the previous
    distance's :math:`\mu^*` at the next ones (pass ``d`` sorted). One compilation serves every
    ``alpha, kappa`` and distance of a call: pass them all at once. Costly: tens of seconds per point
    at the default nodes on one core.

    Args:
        alpha, kappa: broadcast (shape ``P``); d: scalar or 1-D array in (0, 1/2).
        mu: ``None`` (the optimum) or a fixed :math:`\mu>0` (a concrete number).
        n: nodes of the RS start; n_1rsb, n_in: outer (per half line) and cluster-level nodes.
        on_failure: ``"raise"`` or ``"flag"``.

    Returns:
        :class:`LocalEntropyRef1RSB` (``entropy`` is :math:`S_I(d)`, ``S_hat`` is
        :math:`\frac12 dS_I/dd`), differentiable in ``alpha``, ``d`` and ``kappa``.
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    fixed = mu is not None
    if fixed and (is_traced(mu) or np.ndim(mu) != 0 or not float(mu) > 0):
        raise ValueError(f"mu must be a concrete number > 0 (None: the optimum), got {mu!r}")
    out = cv.free_ref_1rsb_grid(_f(a), _f(k), _f(dd), _f(mu if fixed else 5.0), int(n), int(n_1rsb), int(n_in),
                                fixed)
    return finish_curve(out, on_failure, "local_entropy.free_reference_ref_1rsb",
                        "the 1RSB search collapsed or did not converge: try more nodes or another mu")


# --------------------------------------------------------------------------------------------
# dispatching conveniences
# --------------------------------------------------------------------------------------------
def validate_conventions(y, reference, rsb):
    if reference not in ("free", "solution"):
        raise ValueError(f"reference must be 'free' or 'solution', got {reference!r}")
    if rsb not in ("rs", "1rsb"):
        raise ValueError(f"rsb must be 'rs' or '1rsb', got {rsb!r}")
    if is_traced(y):
        raise ValueError("y must be a concrete Python number (it selects the functional), not a traced value")
    if np.ndim(y) != 0:
        raise ValueError(f"y must be a scalar (one functional per call; loop over y values), got shape {np.shape(y)}")
    yv = float(np.asarray(y))
    if np.isnan(yv) or yv <= 0:
        raise ValueError(f"y must be > 0 (or inf), got {y!r}")
    if np.isfinite(yv) and yv <= 1.0:
        raise ValueError(f"finite y must be > 1 (number of real replicas), got {y!r}")
    if np.isfinite(yv) and rsb != "rs" and reference != "free":
        raise NotImplementedError("physlearn.theory.local_entropy: finite-y 1RSB is implemented for reference='free'")


@eager_x64
def binary(
    alpha,
    d,
    kappa=0.0,
    y=float("inf"),
    reference: str = "free",
    rsb: str = "rs",
    *,
    kappa_ref=None,
    n: int = DEFAULT_NODES,
    n2: int | None = None,
    n_fy: int | None = None,
    n_1rsb: int = 48,
    m: float | None = None,
    on_failure: str = "raise",
):
    r"""Large-deviation local entropy :math:`S_I(d)` of the binary perceptron (Baldassi, Ingrosso,
    Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015); Baldassi et al., PNAS 113, E7655
    (2016)): a convenience that dispatches on the convention to the explicit entry points, which
    document the equations, the paths and the failure behaviour:

    ==================  =========  ======  ===========================================================
    ``y``               reference  rsb     function (result type)
    ==================  =========  ======  ===========================================================
    ``inf`` (default)   free       rs      :func:`free_reference_rs` (:class:`LocalEntropyRS`)
    ``inf``             solution   rs      :func:`solution_reference_rs` (:class:`LocalEntropySolutionRS`)
    ``inf``             free       1rsb    :func:`free_reference_1rsb` (:class:`LocalEntropy1RSB`)
    ``inf``             solution   1rsb    :func:`solution_reference_1rsb` (:class:`LocalEntropySolution1RSB`)
    finite ``> 1``      free       rs      :func:`free_reference_rs_finite_y` (:class:`FiniteYRS`)
    finite              free       1rsb    :func:`free_reference_1rsb_finite_y` (:class:`FiniteY1RSB`)
    finite              solution   rs      :func:`solution_reference_rs_finite_y` (:class:`FiniteYSolutionRS`)
    ==================  =========  ======  ===========================================================

    Arguments are passed on (``kappa_ref`` and ``n2`` for ``reference="solution"``; ``n_fy`` for
    finite ``y``; ``n_1rsb`` and ``m`` for ``rsb="1rsb"``: ``m=None`` is the :math:`m\to1` analysis
    at ``y = inf`` and :math:`(1+y)/2` at finite ``y``). ``y``, ``reference`` and ``rsb`` must be
    concrete (they select the functional); a fixed ``m < 1`` with ``reference="solution"`` and the
    finite-y 1RSB with a solution reference are not implemented (``NotImplementedError``).
    """
    check_on_failure(on_failure)
    a, dd, k = _curve_inputs(alpha, d, kappa)
    validate_conventions(y, reference, rsb)
    finite_y = bool(np.isfinite(float(np.asarray(y))))
    if m is not None:
        if rsb != "1rsb":
            raise ValueError("m (the Parisi parameter) is only used with rsb='1rsb'")
        if is_traced(m) or np.ndim(m) != 0:
            rng = "1 < m < y" if finite_y else "(0, 1)"
            raise ValueError(f"m must be a concrete Python number in {rng}")
    if reference == "solution":
        if finite_y:
            return solution_reference_rs_finite_y.__wrapped_traced__(a, dd, float(y), k, kappa_ref, n_fy=n_fy,
                                                                     on_failure=on_failure)
        if rsb == "1rsb":
            if m is not None:
                raise NotImplementedError(
                    "physlearn.theory.local_entropy: with reference='solution' the 1RSB analysis is the "
                    "m -> 1 one (m=None); a fixed m < 1 is implemented for reference='free'")
            return solution_reference_1rsb.__wrapped_traced__(a, dd, k, kappa_ref, n=n, n2=n2, on_failure=on_failure)
        return solution_reference_rs.__wrapped_traced__(a, dd, k, kappa_ref, n=n, n2=n2, on_failure=on_failure)
    if kappa_ref is not None:
        raise ValueError("kappa_ref is only used with reference='solution'")
    if finite_y:
        if rsb == "1rsb":
            return free_reference_1rsb_finite_y.__wrapped_traced__(a, dd, float(y), k, m=m, n=n, n_fy=n_fy,
                                                                   on_failure=on_failure)
        return free_reference_rs_finite_y.__wrapped_traced__(a, dd, float(y), k, n=n, n_fy=n_fy, on_failure=on_failure)
    if rsb == "1rsb":
        return free_reference_1rsb.__wrapped_traced__(a, dd, k, m=m, n=n, n_1rsb=n_1rsb, on_failure=on_failure)
    return free_reference_rs.__wrapped_traced__(a, dd, k, n=n, on_failure=on_failure)


@eager_x64
def fixed_coupling(alpha, gamma, y, kappa=0.0, *, rsb: str = "rs", m=None, n: int | None = None,
                   n_in: int | None = None, n_mid: int = 16, on_failure: str = "raise"):
    r"""Finite-:math:`y` large-deviation measure at fixed coupling (PNAS 113, E7655 (2016)): a
    convenience that dispatches to :func:`fixed_coupling_rs` (``rsb="rs"``, default nodes
    ``n=48, n_in=24``; returns :class:`FixedCouplingRS`) or :func:`fixed_coupling_1rsb`
    (``rsb="1rsb"``, Parisi parameter ``m``, default nodes ``n=32, n_in=16``; returns
    :class:`FixedCoupling1RSB`), which document the equations and the failure behaviour."""
    if rsb not in ("rs", "1rsb"):
        raise ValueError(f"rsb must be 'rs' or '1rsb', got {rsb!r}")
    if m is not None and rsb != "1rsb":
        raise ValueError("m (the Parisi parameter) is only used with rsb='1rsb'")
    if rsb == "1rsb":
        return fixed_coupling_1rsb.__wrapped_traced__(alpha, gamma, y, kappa, m=m, n=n, n_in=n_in, n_mid=n_mid,
                                                      on_failure=on_failure)
    return fixed_coupling_rs.__wrapped_traced__(alpha, gamma, y, kappa, n=n, n_in=n_in, on_failure=on_failure)
