"""Derivatives through every public theory entry point against central finite differences.

One parametrised test walks the public entry points: for each, every differentiable output field
is differentiated by ``jax.jacfwd`` with respect to every continuous input (alpha, kappa, d, gamma,
y, kappa_ref, m) at two parameter points, and compared with central differences of the computed
values. Small quadratures keep it cheap: the claim is that the derivatives of the computed values
are right, whatever the nodes. The default run keeps one curve of each solver path: Gardner (RS,
1RSB, capacities) and the free-reference local entropy (a root solve along a continuation with
implicit derivatives, as the Franz--Parisi curves; about 30 s on a 2-core CI machine). The other
entry points whose test takes 20 s or more there are marked slow (``slow=True`` below;
``python -m pytest -m slow tests/test_gradients.py`` runs them): the binary and spherical
Franz--Parisi potentials, the finite-y and 1RSB free references, the solution references, the
fixed-coupling forms, the thresholds, the flat-minima curves and the cross-entropy local entropy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _fast import fast_jit

from physlearn.theory import cross_entropy as ce
from physlearn.theory import flat_minima as fm
from physlearn.theory import franz_parisi as fp
from physlearn.theory import gardner
from physlearn.theory import local_entropy as le


def _case(fn, inputs, points, fields, h=1e-5, rtol=1e-5, atol=1e-7, slow=False, nan_at=()):
    """``nan_at``: ``(point, fields)`` pairs where the contract is NaN derivatives of those fields."""
    return pytest.param(fn, inputs, points, fields, h, rtol, atol, nan_at,
                        marks=[pytest.mark.slow] if slow else [], id=None)


GARDNER_RS = ("q", "q_hat", "entropy", "replicon")
FP_FIELDS = ("entropy", "q", "t", "p_hat", "q_hat", "t_hat", "q_ref", "q_hat_ref", "d_typ", "gardner_entropy")
LE_RS = ("entropy", "q1", "dq", "q1_hat", "dq_hat", "S_hat")
FP_NODES = dict(n=16, nx=8, neta=8)
FC_FIELDS = ("free_entropy", "S", "d", "q0", "q1", "q0_hat", "q1_hat", "phi_int", "internal_entropy",
             "total_local_entropy", "external_entropy")
FY_FIELDS = ("entropy", "gamma", "total_local_entropy", "external_entropy", "q0", "q1", "q0_hat", "q1_hat")
ONE_RSB = ("entropy", "q0", "q1", "dq", "q0_hat", "q1_hat", "dq_hat", "S_hat", "replicon", "complexity")

CASES = {
    "gardner.spherical_capacity": _case(lambda kappa: gardner.spherical_capacity(kappa), ("kappa",),
                                        [(0.0,), (0.7,)], None),
    "gardner.binary_rs_branch_end": _case(lambda kappa: gardner.binary_rs_branch_end(kappa), ("kappa",),
                                          [(0.0,), (0.7,)], None),
    "gardner.spherical_rs": _case(lambda alpha, kappa: gardner.spherical_rs(alpha, kappa, n=32), ("alpha", "kappa"),
                                  [(0.5, 0.0), (1.2, 0.3)], GARDNER_RS),
    "gardner.binary_rs": _case(lambda alpha, kappa: gardner.binary_rs(alpha, kappa, n=32), ("alpha", "kappa"),
                               [(0.4, 0.0), (0.6, 0.3)], GARDNER_RS),
    "gardner.binary_capacity": _case(lambda kappa: gardner.binary_capacity(kappa, n=32), ("kappa",),
                                     [(0.0,), (0.4,)], None, h=1e-4, rtol=1e-5),
    "gardner.binary_1rsb": _case(lambda alpha, m, kappa: gardner.binary_1rsb(alpha, m, kappa, n=64),
                                 ("alpha", "m", "kappa"), [(0.5, 0.5, 0.0), (0.6, 0.4, 0.1)],
                                 ("q0", "q1", "q0_hat", "q1_hat", "free_entropy", "complexity", "internal_entropy"),
                                 h=1e-4, rtol=1e-4, atol=1e-6),
    "gardner.binary_1rsb_frozen": _case(lambda alpha, m, kappa: gardner.binary_1rsb_frozen(alpha, m, kappa, n=32),
                                        ("alpha", "m", "kappa"), [(0.5, 0.5, 0.0), (0.7, 0.3, 0.2)],
                                        ("q0", "q0_hat", "free_entropy", "complexity")),
    "franz_parisi.binary": _case(lambda alpha, d, kappa, kappa_ref: fp.binary(alpha, d, kappa, kappa_ref, **FP_NODES),
                                 ("alpha", "d", "kappa", "kappa_ref"), [(0.5, 0.05, 0.0, 0.2), (0.6, 0.1, 0.1, 0.2)],
                                 FP_FIELDS, rtol=1e-4, atol=1e-6, slow=True),
    "franz_parisi.spherical": _case(
        lambda alpha, d, kappa, kappa_ref: fp.spherical(alpha, d, kappa, kappa_ref, **FP_NODES),
        ("alpha", "d", "kappa", "kappa_ref"), [(0.5, 0.05, 0.0, 0.2), (1.0, 0.1, 0.1, 0.2)], FP_FIELDS,
        rtol=1e-4, atol=1e-6, slow=True),
    "franz_parisi.isolation_distance": _case(
        lambda alpha, kappa, kappa_ref: fp.isolation_distance(alpha, kappa, kappa_ref, **FP_NODES, full_output=True),
        ("alpha", "kappa", "kappa_ref"), [(0.5, 0.0, 0.0), (0.7, 0.0, 0.05)],
        ("d_min", "q", "t", "p_hat", "q_hat", "t_hat"), rtol=1e-4, atol=1e-6, slow=True),
    "franz_parisi.cap_entropy": _case(lambda d: fp.cap_entropy(d), ("d",), [(0.05,), (0.3,)], None),
    "franz_parisi.h2": _case(lambda d: fp.h2(d), ("d",), [(0.05,), (0.3,)], None),
    "local_entropy.free_reference_rs": _case(lambda alpha, d, kappa: le.free_reference_rs(alpha, d, kappa, n=32),
                                             ("alpha", "d", "kappa"), [(0.6, 0.05, 0.0), (0.5, 0.1, 0.2)], LE_RS,
                                             rtol=1e-4, atol=1e-6),
    # both points where the constraint binds (R >= 1e-2); where R < 1e-3 (alpha 0.5, d 0.1,
    # kappa_ref 0.2: R = 9.6e-4) the solve is degenerate (dQ held at its last iterate, R not
    # stationary) and the derivatives of every field but entropy_free are NaN by contract
    "local_entropy.solution_reference_rs": _case(
        lambda alpha, d, kappa, kappa_ref: le.solution_reference_rs(alpha, d, kappa, kappa_ref),
        ("alpha", "d", "kappa", "kappa_ref"), [(0.6, 0.05, 0.0, 0.3), (0.5, 0.1, 0.0, 0.4)],
        LE_RS + ("dQ", "dS", "R", "a", "active_mass", "entropy_free"), h=1e-4, rtol=1e-3, atol=1e-5, slow=True,
        nan_at=[((0.5, 0.1, 0.0, 0.2), LE_RS + ("dQ", "dS", "R", "a", "active_mass"))]),
    "local_entropy.free_reference_1rsb": _case(
        lambda alpha, d, kappa: le.free_reference_1rsb(alpha, d, kappa, n=32, n_1rsb=16),
        ("alpha", "d", "kappa"), [(0.7, 0.1, 0.0), (0.6, 0.05, 0.1)], ONE_RSB, h=1e-4, rtol=1e-3, atol=1e-5,
        slow=True),
    "local_entropy.free_reference_1rsb(m)": _case(
        lambda alpha, d, kappa, m: le.free_reference_1rsb(alpha, d, kappa, m=m, n=32, n_1rsb=16),
        ("alpha", "d", "kappa", "m"), [(0.7, 0.1, 0.0, 0.5), (0.6, 0.05, 0.1, 0.3)], ONE_RSB,
        h=1e-4, rtol=1e-3, atol=1e-5, slow=True),
    "local_entropy.solution_reference_1rsb": _case(
        lambda alpha, d, kappa, kappa_ref: le.solution_reference_1rsb(alpha, d, kappa, kappa_ref),
        # (0.6, 0.1, 0.0, 0.2), not d = 0.05: there R = 5.7e-4, a degenerate constrained RS solve (NaN
        # derivatives, see solution_reference_rs)
        ("alpha", "d", "kappa", "kappa_ref"), [(0.7, 0.1, 0.0, 0.0), (0.6, 0.1, 0.0, 0.2)], ONE_RSB,
        h=1e-4, rtol=1e-3, atol=1e-5, slow=True,
        # the replicon has NaN derivatives here (rounding noise of its m -> 1 slope; see the docstring)
        nan_at=[((0.7, 0.1, 0.0, 0.0), ("replicon",)), ((0.6, 0.1, 0.0, 0.2), ("replicon",))]),
    "local_entropy.free_reference_rs_finite_y": _case(
        lambda alpha, d, y, kappa: le.free_reference_rs_finite_y(alpha, d, y, kappa, n=32, n_fy=16),
        ("alpha", "d", "y", "kappa"), [(0.6, 0.1, 5.0, 0.0), (0.5, 0.15, 3.0, 0.1)], FY_FIELDS,
        h=1e-4, rtol=1e-4, atol=1e-6, slow=True),
    "local_entropy.free_reference_1rsb_finite_y": _case(
        lambda alpha, d, y, kappa, m: le.free_reference_1rsb_finite_y(alpha, d, y, kappa, m=m, n=32, n_fy=16),
        ("alpha", "d", "y", "kappa", "m"), [(0.6, 0.1, 5.0, 0.0, 3.0), (0.5, 0.15, 3.0, 0.1, 2.0)],
        FY_FIELDS[:5] + ("qb", "qc", "q0_hat", "qb_hat", "qc_hat"), h=1e-4, rtol=1e-4, atol=1e-6, slow=True),
    # n_fy = 24: at n_fy = 12 (inner rule of 4 nodes) the first reduced map leaves the admissible domain
    # at every point tried (alpha 0.5-0.6, d 0.1-0.15), no step is taken
    "local_entropy.solution_reference_rs_finite_y": _case(
        lambda alpha, d, kappa, kappa_ref: le.solution_reference_rs_finite_y(alpha, d, 1.5, kappa, kappa_ref, n_fy=24),
        ("alpha", "d", "kappa", "kappa_ref"), [(0.6, 0.1, 0.0, 0.0), (0.5, 0.15, 0.0, 0.1)],
        ("entropy", "gamma", "total_local_entropy", "external_entropy", "Q", "S0", "q0", "q1", "Q_hat", "S0_hat",
         "S1_hat", "q0_hat", "q1_hat"), h=1e-4, rtol=1e-3, atol=1e-5, slow=True),
    "local_entropy.fixed_coupling_rs": _case(
        lambda alpha, gamma, y, kappa: le.fixed_coupling_rs(alpha, gamma, y, kappa, n=16, n_in=12),
        ("alpha", "gamma", "y", "kappa"), [(0.6, 0.5, 5.0, 0.0), (0.4, 0.3, 3.0, 0.2)], FC_FIELDS,
        h=1e-4, rtol=1e-4, atol=1e-6, slow=True),
    "local_entropy.fixed_coupling_1rsb": _case(
        lambda alpha, gamma, y, kappa, m: le.fixed_coupling_1rsb(alpha, gamma, y, kappa, m=m, n=12, n_mid=8, n_in=8),
        # gamma 0.4 at the second point: at gamma 0.3 the search does not converge at these nodes
        # (residual 1.1e-3 after 400 steps); at 0.4 it reaches 9.6e-11 in 128
        ("alpha", "gamma", "y", "kappa", "m"), [(0.6, 0.4, 5.0, 0.0, 2.0), (0.5, 0.4, 4.0, 0.1, 3.0)],
        tuple(f for f in FC_FIELDS if f not in ("q1", "q1_hat")) + ("qb", "qc", "qb_hat", "qc_hat", "dphi_dm"),
        h=1e-4, rtol=1e-4, atol=1e-6, slow=True),
    "local_entropy.fixed_coupling_ref_1rsb": _case(
        lambda alpha, gamma, y, kappa, m_r: le.fixed_coupling_ref_1rsb(alpha, gamma, y, kappa, m_r, n=12, n_mid=8,
                                                                       n_in=12, n_rs_in=16),
        # the second point: a genuine 1RSB saddle (q0 0.74 < qm 0.81 < q1 0.81) at kappa > 0. The one
        # before, (0.6, 0.5, 5, 0, 0.5), sat next to a collapse (qm - q0 = 1e-3) and stopped
        # converging at alpha + 1e-4 (residual 0.06)
        ("alpha", "gamma", "y", "kappa", "m_r"), [(0.6, 0.6, 20.0, 0.0, 0.6), (0.6, 0.55, 20.0, 0.05, 0.7)],
        FC_FIELDS + ("qm", "qm_hat", "complexity"), h=1e-4, rtol=1e-4, atol=1e-6, slow=True),
    "local_entropy.free_reference_ref_1rsb": _case(
        lambda alpha, d, kappa: le.free_reference_ref_1rsb(alpha, d, kappa, mu=5.0, n=24, n_1rsb=16, n_in=12),
        ("alpha", "d", "kappa"), [(0.6, 0.05, 0.0), (0.65, 0.05, 0.1)], ONE_RSB[:-2] + ("complexity", "entropy_rs"),
        h=1e-4, rtol=1e-4, atol=1e-6, slow=True),
    "local_entropy.dense_region_threshold": _case(
        lambda kappa: le.dense_region_threshold(kappa, n=32, full_output=True), ("kappa",), [(0.0,), (0.05,)],
        ("alpha_U", "d_star", "min_S_hat_below"), h=2e-2, rtol=2e-2, atol=1e-3, slow=True),
}
FM_NODES = dict(n=16, nx=8, neta=8)
CASES.update({
    "flat_minima.gardner": _case(lambda alpha: fm.gardner(alpha, n=16), ("alpha",), [(0.5,), (1.2,)],
                                 ("q", "entropy")),
    "flat_minima.gardner(K=3)": _case(lambda alpha: fm.gardner(alpha, K=3, samples=2**7), ("alpha",),
                                      [(0.5,), (1.0,)], ("q", "entropy", "mc_error"), slow=True),
    "flat_minima.local_volume(dense)": _case(
        lambda alpha, d: fm.local_volume(alpha, d, **FM_NODES), ("alpha", "d"), [(0.8, 0.05), (1.0, 0.02)],
        ("entropy", "normalized", "dq", "q_ref", "d_end"), rtol=1e-4, atol=1e-6, slow=True),
    "flat_minima.local_volume(dense, K=inf)": _case(
        lambda alpha, d: fm.local_volume(alpha, d, K=math.inf, **FM_NODES), ("alpha", "d"),
        [(0.8, 0.05), (1.0, 0.02)], ("entropy", "normalized", "dq", "q_ref", "d_end"), rtol=1e-4, atol=1e-6,
        slow=True),
    "flat_minima.local_volume(typical)": _case(
        lambda alpha, d: fm.local_volume(alpha, d, reference="typical", **FM_NODES), ("alpha", "d"),
        [(0.8, 0.05), (1.0, 0.1)], ("entropy", "normalized", "q", "t", "q_ref", "d_end"), rtol=1e-4, atol=1e-6,
        slow=True),
    "cross_entropy.minimizer": _case(
        lambda alpha, gamma: ce.minimizer(alpha, gamma, n=24), ("alpha", "gamma"), [(0.5, 1.0), (0.7, 5.0)],
        ("C", "R_hat", "energy", "errors", "mean_stability", "margin")),
    "cross_entropy.local_entropy": _case(
        lambda alpha, gamma, d, kappa: ce.local_entropy(alpha, gamma, d, kappa, n=16, neta=8),
        ("alpha", "gamma", "d", "kappa"), [(0.5, 2.0, 0.05, 0.0), (0.4, 1.0, 0.1, 0.1)],
        ("entropy", "q", "tau", "p_hat", "q_hat", "a", "C", "errors"), rtol=1e-4, atol=1e-6, slow=True),
})
SLOW = sorted(k for k, v in CASES.items() if v.marks)


def _values(fn, fields, *xs):
    out = fn(*xs)
    if fields is None:
        return jnp.atleast_1d(jnp.asarray(out))
    return jnp.stack([jnp.asarray(getattr(out, f)).reshape(()) for f in fields])


@pytest.mark.parametrize("fn, inputs, points, fields, h, rtol, atol, nan_at", list(CASES.values()), ids=list(CASES))
def test_derivatives_match_finite_differences(fn, inputs, points, fields, h, rtol, atol, nan_at):
    # One compiled function per entry point, the forward-mode Jacobian with the values as its
    # auxiliary output, evaluated at each point and at its central-difference neighbours
    # x0 +- h e_j: the finite differences use the values of that same compiled function (eager
    # calls would compile the entry point a second time, doubling the cost of the test).
    def value_and_aux(x):
        v = _values(fn, fields, *x)
        return v, v

    jac_and_values = fast_jit(jax.jacfwd(value_and_aux, has_aux=True))
    nan_rows = {tuple(x): [fields.index(f) for f in fs] for x, fs in nan_at}
    for x0 in points:
        rows = nan_rows.get(tuple(x0), [])  # NaN derivatives by contract: checked below, not compared
        x0 = np.asarray(x0, dtype=np.float64)
        jac = np.array(jac_and_values(jnp.asarray(x0))[0])
        jac[rows] = 0.0
        assert np.isfinite(jac).all(), (x0, jac)
        for j, name in enumerate(inputs):
            step = h * max(1.0, abs(x0[j]))
            xp, xm = x0.copy(), x0.copy()
            xp[j] += step
            xm[j] -= step
            fd = (np.asarray(jac_and_values(jnp.asarray(xp))[1])
                  - np.asarray(jac_and_values(jnp.asarray(xm))[1])) / (2 * step)
            fd[rows] = 0.0
            np.testing.assert_allclose(jac[:, j], fd, rtol=rtol, atol=atol,
                                       err_msg=f"d/d{name} at {dict(zip(inputs, x0))}, fields {fields}")
    for x0, nan_fields in nan_at:
        jac = np.asarray(jac_and_values(jnp.asarray(x0, dtype=np.float64))[0])
        rows = [fields.index(f) for f in nan_fields]
        assert np.isnan(jac[rows]).all() and np.isfinite(np.delete(jac, rows, axis=0)).all(), (x0, jac)


@pytest.mark.slow  # 14 s of tracing on a 2-core CI machine
def test_dispatchers_differentiate_like_the_explicit_functions():
    """local_entropy.binary and fixed_coupling are conveniences over the explicit entry points: the
    derivative programs they trace are the explicit functions' ones, equation for equation (so
    their gradients are equal without compiling either)."""
    def program(f, x):
        closed = jax.make_jaxpr(jax.grad(f))(x)
        return str(closed.jaxpr), [np.asarray(c) for c in closed.consts]

    def same_program(f, g, x):
        (text_f, consts_f), (text_g, consts_g) = program(f, x), program(g, x)
        return text_f == text_g and len(consts_f) == len(consts_g) and all(
            a.shape == b.shape and np.array_equal(a, b) for a, b in zip(consts_f, consts_g))

    assert same_program(lambda a: le.binary(a, 0.05, n=32).entropy,
                        lambda a: le.free_reference_rs(a, 0.05, n=32).entropy, 0.6)
    assert same_program(lambda g: le.fixed_coupling(0.6, g, 5.0, n=16, n_in=12).internal_entropy,
                        lambda g: le.fixed_coupling_rs(0.6, g, 5.0, n=16, n_in=12).internal_entropy, 0.5)
    # the comparison sees the arguments: another load is another program
    assert not same_program(lambda g: le.fixed_coupling(0.6, g, 5.0, n=16, n_in=12).internal_entropy,
                            lambda g: le.fixed_coupling_rs(0.61, g, 5.0, n=16, n_in=12).internal_entropy, 0.5)
