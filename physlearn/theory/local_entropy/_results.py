r"""Result types of the local-entropy entry points (one per entry point).

Every result echoes its parameters, carries the values at the saddle point and the diagnostics
``converged, residual, n_steps, result`` (``result``: a :class:`physlearn.solvers.RESULTS` code).
With ``on_failure="flag"`` the value fields of a failed point are NaN.
"""

from __future__ import annotations

import jax

from .._inputs import TheoryResult

__all__ = [
    "LocalEntropyRS",
    "LocalEntropySolutionRS",
    "LocalEntropy1RSB",
    "LocalEntropySolution1RSB",
    "FiniteYRS",
    "FiniteY1RSB",
    "FiniteYSolutionRS",
    "FixedCouplingRS",
    "FixedCoupling1RSB",
    "FixedCouplingRef1RSB",
    "LocalEntropyRef1RSB",
    "ThresholdResult",
]


class LocalEntropyRS(TheoryResult):
    r"""Large-deviation local entropy (:math:`y\to\infty`, free reference, RS) on a curve
    (:func:`~physlearn.theory.local_entropy.free_reference_rs`).

    Shapes: ``alpha, kappa`` have the broadcast parameter shape ``P``; the others ``P + d.shape``.

    Attributes:
        d: distance from the reference; ``S = 1 - 2d``.
        entropy: :math:`S_I(d)` (log-number per weight of solutions at distance d from the densest
            references); bounded by ``h2(d)``.
        q1, dq, q1_hat, dq_hat, S_hat: order parameters; :math:`dS_I/dd = 2\hat S` (Legendre).
        converged, residual, n_steps, result: diagnostics.
    """

    INPUTS = ("alpha", "kappa", "d")

    alpha: jax.Array
    kappa: jax.Array
    d: jax.Array
    entropy: jax.Array
    q1: jax.Array
    dq: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    S_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class LocalEntropySolutionRS(TheoryResult):
    r"""Large-deviation local entropy (:math:`y\to\infty`, RS) with the reference constrained to be
    a solution of margin ``kappa_ref`` (PRL 2015 convention;
    :func:`~physlearn.theory.local_entropy.solution_reference_rs`). Shapes as in :class:`LocalEntropyRS`.

    Attributes:
        entropy: :math:`S_I(d)`; q1, dq, q1_hat, dq_hat, S_hat: as in the free case;
        dQ, dS, R, a: the four extra order parameters of the constrained reference
            (:math:`R\to0` and :math:`\delta Q` flat when the constraint is inactive);
        active_mass: Gaussian mass of the :math:`(z_0,z_1)` region where the reference field sits
            at the constraint :math:`\kappa_{\rm ref}` (0 = the free reference is already a solution);
        entropy_free: :math:`S_I(d)` of the free reference at the same point (an upper bound);
        converged, residual, n_steps, result: diagnostics of the constrained solve.
    """

    INPUTS = ("alpha", "kappa", "kappa_ref", "d")

    alpha: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    d: jax.Array
    entropy: jax.Array
    q1: jax.Array
    dq: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    S_hat: jax.Array
    dQ: jax.Array
    dS: jax.Array
    R: jax.Array
    a: jax.Array
    active_mass: jax.Array
    entropy_free: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class LocalEntropy1RSB(TheoryResult):
    r"""Large-deviation local entropy with a 1RSB structure among the replicas around each reference
    (:math:`y\to\infty`, free reference; :func:`~physlearn.theory.local_entropy.free_reference_1rsb`).
    Shapes as :class:`LocalEntropyRS`.

    Attributes:
        entropy: the 1RSB functional at its saddle point (the RS :math:`S_I` where it collapses).
        m: Parisi parameter of the reported saddle (:math:`1-10^{-3}`, the :math:`m\to1` limit, or the
            fixed ``m``).
        q0, dq, q0_hat, dq_hat, S_hat: inter-cluster level (at :math:`m\to1` the RS saddle);
        q1, q1_hat: intra-cluster overlap and conjugate; ``q1 == q0`` where the solution collapses.
        replicon: slope of the intra-cluster sweep at the collapse (RS locally stable if < 1).
        complexity: :math:`\Sigma=-m^2\partial_mS_I` of the clusters (0 at collapse).
        collapsed: the 1RSB search from a nearly frozen start returned to :math:`q_1=q_0`.
        converged: RS saddle converged, the intra-cluster search converged, and the result is not
            condensed (``complexity >= 0``; a condensed point would need :math:`m<1` and is flagged).
        residual, n_steps, result: of the intra-cluster search.
    """

    INPUTS = ("alpha", "kappa", "d", "m")

    alpha: jax.Array
    kappa: jax.Array
    d: jax.Array
    entropy: jax.Array
    m: jax.Array
    q0: jax.Array
    q1: jax.Array
    dq: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    S_hat: jax.Array
    replicon: jax.Array
    complexity: jax.Array
    collapsed: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class LocalEntropySolution1RSB(LocalEntropy1RSB):
    r"""Large-deviation local entropy with the reference constrained to be a solution (PRL 2015) and a
    1RSB structure among the replicas around it, :math:`m\to1` analysis
    (:func:`~physlearn.theory.local_entropy.solution_reference_1rsb`).

    Its fields (shapes as in :class:`LocalEntropyRS`) are those of :class:`LocalEntropy1RSB` (``q0, dq,
    q0_hat, dq_hat, S_hat`` the inter-cluster level = the constrained RS saddle, ``q1, q1_hat`` the
    intra-cluster level, ``replicon``, ``complexity``, ``collapsed``), plus the constrained reference's
    ``kappa_ref, dQ, dS, R, a`` and ``active_mass`` (Gaussian mass where the reference field sits at
    :math:`\kappa_{\rm ref}`), and ``entropy_rs``: the constrained RS :math:`S_I` at the same point
    (equal to ``entropy`` where the search collapses).
    """

    INPUTS = ("alpha", "kappa", "kappa_ref", "d", "m")

    kappa_ref: jax.Array
    dQ: jax.Array
    dS: jax.Array
    R: jax.Array
    a: jax.Array
    active_mass: jax.Array
    entropy_rs: jax.Array


class FiniteYRS(TheoryResult):
    r"""Finite-:math:`y` local entropy at fixed distance (free reference, RS): the Legendre transform
    of the fixed-coupling measure (:func:`~physlearn.theory.local_entropy.free_reference_rs_finite_y`).
    Shapes: ``alpha`` broadcast shape ``P`` then ``d``.

    Attributes:
        entropy: :math:`S_I(d,y)=\Sigma_{\rm int}` at :math:`S=1-2d` (:math:`\to` the :math:`y=\infty`
            :math:`S_I(d)` as :math:`y\to\infty`); gamma: the coupling :math:`\gamma(d)` conjugate to d;
        total_local_entropy: :math:`\Phi_{\rm tot}/y-\gamma S = \Sigma_{\rm int}+\Sigma_{\rm ext}/y`;
        external_entropy: :math:`\Sigma_{\rm ext}` and ``external_ok`` (False where it is negative);
        q0, q1, q0_hat, q1_hat; converged, residual, n_steps, result.
    """

    INPUTS = ("alpha", "kappa", "y", "d")

    alpha: jax.Array
    kappa: jax.Array
    y: jax.Array
    d: jax.Array
    entropy: jax.Array
    gamma: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    q0: jax.Array
    q1: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class FiniteY1RSB(TheoryResult):
    r"""Finite-:math:`y` local entropy at fixed distance, free reference, with a 1RSB structure among
    the replicas around each reference (:func:`~physlearn.theory.local_entropy.free_reference_1rsb_finite_y`).
    Shapes as :class:`FiniteYRS`.

    At every point the RS fixed-d saddle (:class:`FiniteYRS`) is solved, and the 1RSB saddle is searched
    at its coupling :math:`\gamma(d)` and Parisi parameter ``m`` from a nearly frozen intra-group
    start. Where the search collapses, the 1RSB functional equals the RS one in a neighbourhood, so
    the fixed-d 1RSB result *is* the RS one (entropies, :math:`\gamma`, overlaps with
    :math:`q_c=q_b=q_1`). A non-collapsed point is flagged ``converged=False`` (its fixed-d Legendre
    transform is not solved; the fixed-coupling values are in
    :func:`~physlearn.theory.local_entropy.fixed_coupling_1rsb`).

    Attributes: entropy, gamma, total_local_entropy, external_entropy, external_ok (as
    :class:`FiniteYRS`), m, q0, qb, qc, q0_hat, qb_hat, qc_hat, collapsed, rs_converged, converged,
    residual, n_steps and result (of the 1RSB search).
    """

    INPUTS = ("alpha", "kappa", "y", "d", "m")

    alpha: jax.Array
    kappa: jax.Array
    y: jax.Array
    d: jax.Array
    m: jax.Array
    entropy: jax.Array
    gamma: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    q0: jax.Array
    qb: jax.Array
    qc: jax.Array
    q0_hat: jax.Array
    qb_hat: jax.Array
    qc_hat: jax.Array
    collapsed: jax.Array
    rs_converged: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class FiniteYSolutionRS(TheoryResult):
    r"""Finite-:math:`y` local entropy at fixed distance with the reference constrained to be a
    solution of margin ``kappa_ref`` (PRL 2015 convention, RS;
    :func:`~physlearn.theory.local_entropy.solution_reference_rs_finite_y`). Shapes: ``alpha``
    broadcast shape ``P`` then ``d``.

    Attributes:
        entropy: :math:`S_I(d,y)=\partial_y\Phi` (local entropy of the selected references; the
            Franz--Parisi :math:`V(d)` at :math:`y\to0`); gamma: the coupling
            :math:`-\frac1y\partial_S\Phi` conjugate to d; total_local_entropy: :math:`\Phi/y =
            S_I + \Sigma_{\rm ext}/y`; external_entropy: :math:`\Sigma_{\rm ext}=\Phi-yS_I` and
            ``external_ok`` (False where it is negative);
        Q, S0, q0, q1, Q_hat, S0_hat, S1_hat, q0_hat, q1_hat: the order parameters;
        converged, residual, n_steps, result: diagnostics of the whole path (Franz--Parisi start and
            every step in y).
    """

    INPUTS = ("alpha", "kappa", "kappa_ref", "y", "d")

    alpha: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    y: jax.Array
    d: jax.Array
    entropy: jax.Array
    gamma: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    Q: jax.Array
    S0: jax.Array
    q0: jax.Array
    q1: jax.Array
    Q_hat: jax.Array
    S0_hat: jax.Array
    S1_hat: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class FixedCouplingRS(TheoryResult):
    r"""Finite-:math:`y` large-deviation measure at fixed coupling :math:`\gamma` (free reference,
    RS; :func:`~physlearn.theory.local_entropy.fixed_coupling_rs`). Shapes: broadcast shape of
    ``alpha, gamma, y, kappa``.

    Attributes:
        free_entropy: :math:`\Phi_{\rm tot}/y` (LD free entropy per replica);
        S, d: replica--reference overlap and distance :math:`d=(1-S)/2`;
        q0, q1, q0_hat, q1_hat: overlaps of replicas around different / the same reference;
        phi_int: :math:`\partial_y\Phi_{\rm tot}`; internal_entropy: :math:`\Sigma_{\rm int}=\phi_{\rm int}-\gamma S`
            (thermodynamic local entropy of the selected references at distance d; :math:`H_2(d)` at
            :math:`\alpha=0`);
        total_local_entropy: :math:`\Phi_{\rm tot}/y-\gamma S`, with :math:`\Phi_{\rm tot}/y` the free
            entropy per replica of :math:`Z=\sum_{\tilde W}\prod_a\sum_{W^a}X(W^a)e^{\gamma\tilde W\cdot W^a}`;
            equals ``internal_entropy + external_entropy / y`` (:math:`H_2(d)+\log2/y` at :math:`\alpha=0`).
            Focusing BP (:func:`physlearn.algorithms.fbp.fixed_point`) reports both: its ``local_entropy``
            is ``internal_entropy`` (the reference code's :math:`-\beta F-\gamma S`) and its
            ``free_entropy - gamma * overlap`` is this;
        external_entropy: :math:`\Sigma_{\rm ext}=\Phi_{\rm tot}-y\phi_{\rm int}` (must be >= 0;
            ``external_ok`` is False where it is negative: the RS measure is then unphysical);
        converged, residual, n_steps, result.
    """

    INPUTS = ("alpha", "gamma", "y", "kappa")

    alpha: jax.Array
    gamma: jax.Array
    y: jax.Array
    kappa: jax.Array
    free_entropy: jax.Array
    S: jax.Array
    d: jax.Array
    q0: jax.Array
    q1: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    phi_int: jax.Array
    internal_entropy: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class FixedCoupling1RSB(TheoryResult):
    r"""Finite-:math:`y` measure at fixed coupling with a 1RSB structure among the replicas around each
    reference (free reference; :func:`~physlearn.theory.local_entropy.fixed_coupling_1rsb`).
    Shapes: broadcast shape of ``alpha, gamma, y, kappa, m``.

    Attributes:
        m: Parisi parameter (group size, :math:`1<m<y`);
        free_entropy, S, d, phi_int, internal_entropy, total_local_entropy, external_entropy,
            external_ok: as :class:`FixedCouplingRS`, at the 1RSB saddle (the RS values where it collapses);
        q0, qb, qc, q0_hat, qb_hat, qc_hat: overlaps with replicas of other references, of other groups
            around the same reference, inside a group (``qc == qb`` where the solution collapses);
        dphi_dm: :math:`\partial_m\Phi_{\rm tot}` (0 at the optimal :math:`m`; ~0 at a collapse, where
            :math:`\Phi` does not depend on :math:`m`);
        collapsed: the 1RSB search from a nearly frozen intra-group start returned to RS;
        replicon: contraction rate of the intra-group gap at the collapse (RS locally stable in this
            direction if < 1; NaN where the collapse was reached by the gap threshold instead). It is
            read off the iteration and has no derivative (NaN).
        rs_converged: the RS saddle converged; converged: RS converged and the 1RSB search either
            collapsed or reached a fixed point; residual, n_steps, result: of the 1RSB search.
    """

    INPUTS = ("alpha", "gamma", "y", "kappa", "m")

    alpha: jax.Array
    gamma: jax.Array
    y: jax.Array
    kappa: jax.Array
    m: jax.Array
    free_entropy: jax.Array
    S: jax.Array
    d: jax.Array
    q0: jax.Array
    qb: jax.Array
    qc: jax.Array
    q0_hat: jax.Array
    qb_hat: jax.Array
    qc_hat: jax.Array
    phi_int: jax.Array
    internal_entropy: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    dphi_dm: jax.Array
    collapsed: jax.Array
    replicon: jax.Array
    rs_converged: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class FixedCouplingRef1RSB(TheoryResult):
    r"""Finite-:math:`y` measure at fixed coupling with 1RSB *among the references* (clusters of
    :math:`m_r` references; free reference; :func:`~physlearn.theory.local_entropy.fixed_coupling_ref_1rsb`).
    Shapes: broadcast shape of ``alpha, gamma, y, kappa`` (and ``m_r`` when given).

    Attributes:
        m_r: Parisi parameter over references (the physical one when not given: 1 where the clusters
            do not condense);
        free_entropy, S, d, phi_int, internal_entropy, total_local_entropy, external_entropy,
            external_ok: as :class:`FixedCouplingRS`, at the saddle (:math:`\phi_{\rm int}=\partial_y\Phi`
            at fixed :math:`m_r`: the free entropy inside one cluster, what focusing BP measures);
        q0, qm, q1, q0_hat, qm_hat, q1_hat: overlaps of replicas of references in different clusters,
            in the same cluster (focusing BP's :math:`\langle m_W^2\rangle`), of the same reference;
        complexity: :math:`\Sigma=-m_r^2\partial_{m_r}\Phi` of the clusters of references (at
            :math:`m_r=1`: its value at the reconstruction point);
        collapsed: the search returned to RS (``qm == q0``); condensed: :math:`m_r<1`;
        rs_converged: the RS start converged; converged, residual, n_steps, result: of the whole solve.
    """

    INPUTS = ("alpha", "gamma", "y", "kappa")

    alpha: jax.Array
    gamma: jax.Array
    y: jax.Array
    kappa: jax.Array
    m_r: jax.Array
    free_entropy: jax.Array
    S: jax.Array
    d: jax.Array
    q0: jax.Array
    qm: jax.Array
    q1: jax.Array
    q0_hat: jax.Array
    qm_hat: jax.Array
    q1_hat: jax.Array
    phi_int: jax.Array
    internal_entropy: jax.Array
    total_local_entropy: jax.Array
    external_entropy: jax.Array
    external_ok: jax.Array
    complexity: jax.Array
    collapsed: jax.Array
    condensed: jax.Array
    rs_converged: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class LocalEntropyRef1RSB(TheoryResult):
    r"""Local entropy at :math:`y\to\infty` (fixed :math:`d`) with 1RSB among the references
    (:func:`~physlearn.theory.local_entropy.free_reference_ref_1rsb`). Shapes: ``P + d.shape``.

    Attributes:
        entropy: :math:`S_I(d)` at the saddle (at :math:`\mu^*`: the largest local entropy carried by a
            non-negative complexity of clusters of references); S_hat: :math:`\frac12 dS_I/dd`;
        mu: :math:`\mu=m_ry` (the optimum :math:`\mu^*` unless given);
        q0, q1, dq, q0_hat, q1_hat, dq_hat: inter-cluster overlap, intra-cluster overlap and its
            :math:`1/y` correction, and their conjugates;
        complexity: :math:`\Sigma(\mu)=-\mu^2\partial_\mu S_I` (0 at :math:`\mu^*`);
        entropy_rs: the RS :math:`S_I` at the same point (an upper bound; NaN where the RS curve, followed
            down from :math:`d=0.1`, has ended); collapsed: returned to RS;
        converged, residual, n_steps, result: of the solve.
    """

    INPUTS = ("alpha", "kappa")

    alpha: jax.Array
    kappa: jax.Array
    d: jax.Array
    mu: jax.Array
    entropy: jax.Array
    S_hat: jax.Array
    q0: jax.Array
    q1: jax.Array
    dq: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    dq_hat: jax.Array
    complexity: jax.Array
    entropy_rs: jax.Array
    collapsed: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


class ThresholdResult(TheoryResult):
    r""":math:`\alpha_U` and where it happens (:func:`~physlearn.theory.local_entropy.dense_region_threshold`
    with ``full_output=True``): ``alpha_U``, the distance ``d_star`` of the minimum of :math:`\hat S`
    and that minimum just below :math:`\alpha_U` (``min_S_hat_below``); diagnostics ``converged,
    residual`` (of the bisection on the criterion), ``n_steps, result``; ``max_replicon``: the
    largest replicon slope seen by the 1RSB check (``rsb="1rsb"`` only)."""

    INPUTS = ("kappa",)

    kappa: jax.Array
    alpha_U: jax.Array
    d_star: jax.Array
    min_S_hat_below: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array
    max_replicon: jax.Array | None = None
