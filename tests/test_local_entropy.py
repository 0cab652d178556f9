"""Large-deviation local entropy (y -> inf, free reference, RS): identities, bounds, limits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from physlearn.errors import NonConvergenceError
from physlearn.theory import _envelopes as env
from physlearn.theory import franz_parisi as fp
from physlearn.theory import local_entropy as le
from physlearn.theory.local_entropy import _finite_y as fy
from physlearn.theory.local_entropy import _free as lf
from physlearn.theory.local_entropy import _free_1rsb as r1
from physlearn.theory.local_entropy import _solution as ls
from scipy import integrate
from _fast import fast_jit

H = 1e-5
D = np.array([0.006, 0.01, 0.02, 0.05 - H, 0.05, 0.05 + H, 0.1, 0.15])
ALPHAS = np.array([0.05, 0.5, 0.7])
N = 48


@pytest.fixture(scope="module")
def curves():
    return le.binary(ALPHAS, D, n=N, on_failure="flag")


def test_converges_without_initial_guess(curves):
    assert curves.converged[1:].all()
    assert np.isfinite(curves.entropy[1:]).all()
    # alpha = 0.05, d < 0.05: S_I = H2(d) to ~1e-14 and the conjugates underflow (degenerate
    # corner, documented): flagged, not reported as converged
    assert curves.converged[0, 3:].all() and not curves.converged[0, :3].any()


def test_bounded_by_hamming_entropy(curves):
    ok = curves.converged
    assert (curves.entropy[ok] <= np.broadcast_to(le.h2(D), ok.shape)[ok] + 1e-12).all()


def test_small_alpha_tends_to_hamming_entropy(curves):
    gap = le.h2(D[3:]) - curves.entropy[:, 3:]
    assert (gap >= -1e-12).all()
    assert gap[0].max() < 1e-3 * 0.05 / 0.05  # tiny at alpha = 0.05
    # and grows with alpha at every d
    assert (gap[0] < gap[1]).all() and (gap[1] < gap[2]).all()


def test_sticks_to_hamming_entropy_at_small_d(curves):
    # Baldassi et al. PRL 2015: S_I(d) -> H2(d) at small d with a gap closing super-exponentially
    gap = le.h2(D) - curves.entropy[1]
    assert gap[0] < 1e-3 * gap[-1]


def test_legendre_identity(curves):
    # dS_I/dd = 2 S_hat: central finite difference vs the returned conjugate
    fd = (curves.entropy[:, 5] - curves.entropy[:, 3]) / (2 * H)
    np.testing.assert_allclose(fd, 2.0 * curves.S_hat[:, 4], rtol=1e-6, atol=1e-6)


def test_explicit_saddle_point_equations(curves):
    # the explicit equations of theory notes C.2 (Stein forms) hold at the autodiff solution
    # (the dq_hat equation uses Gaussian integration by parts, exact only up to quadrature error)

    conj = fast_jit(lambda q1, dq, a: lf.energetic_conj(q1, dq, a, 0.0, N))
    moms = fast_jit(lambda q1h, dqh, sh: lf.entropic_moments(q1h, dqh, sh, N))
    for i, a in enumerate(ALPHAS):
        for j, d in enumerate(D):
            if not curves.converged[i, j]:
                continue
            q1, dq, q1h, dqh, sh = (float(getattr(curves, f)[i, j]) for f in ("q1", "dq", "q1_hat", "dq_hat", "S_hat"))
            q1h_e, dqh_e = conj(q1, dq, a)
            m1, m2, mz = moms(q1h, dqh, sh)
            assert abs(m1 - (1 - 2 * d)) < 1e-9
            assert abs(m2 - q1) < 1e-8
            assert abs(mz / np.sqrt(q1h) - (1 - q1) - dq) < 1e-7 * max(1.0, dq)
            assert abs(q1h_e - q1h) < 1e-7 * q1h
            assert abs(dqh_e - dqh) < 1e-4 * dqh


@pytest.mark.slow
def test_local_entropy_exceeds_franz_parisi():
    # S_I (densest references) >= V (typical references) at equal (alpha, d)
    d = np.array([0.008, 0.03, 0.1, 0.2])
    alphas = np.array([0.6, 0.7])
    v = fp.binary(alphas, d, n=32, nx=16, neta=12)
    s = le.binary(alphas, d[:3], n=N)
    assert (s.entropy >= v.entropy[:, :3] - 1e-12).all()
    # strictly, where typical solutions are isolated (V < 0)
    assert ((s.entropy[:, 0] > 0) & (v.entropy[:, 0] < 0)).all()


@pytest.mark.slow
def test_branch_ends_are_flagged():
    # beyond the maximum of S_I (S_hat < 0) the y=inf branch is absent: flagged, not NaN-silent
    r = le.binary(0.7, np.array([0.1, 0.3]), on_failure="flag")
    assert r.converged[0] and not r.converged[1]
    with pytest.raises(NonConvergenceError):
        le.binary(0.7, np.array([0.1, 0.3]))


def test_bad_input_and_unavailable_conventions():
    with pytest.raises(ValueError, match="alpha"):
        le.binary(0.0, 0.1)
    with pytest.raises(ValueError, match="d"):
        le.binary(0.5, 0.5)
    with pytest.raises(ValueError, match="reference"):
        le.binary(0.5, 0.1, reference="typical")
    with pytest.raises(ValueError, match="rsb"):
        le.binary(0.5, 0.1, rsb="frsb")
    with pytest.raises(ValueError, match="y"):
        le.binary(0.5, 0.1, y=-1.0)
    with pytest.raises(ValueError, match="y"):
        le.binary(0.5, 0.1, y=1.0, reference="solution")
    with pytest.raises(ValueError, match="y"):
        le.binary(0.5, 0.1, y=0.5)
    with pytest.raises(ValueError, match="y must be a scalar"):
        le.binary(0.5, 0.1, y=[5.0, 10.0])
    with pytest.raises(ValueError, match="y"):
        le.fixed_coupling(0.5, 0.5, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        le.fixed_coupling(0.5, -0.5, 5.0)
    with pytest.raises(ValueError, match="kappa_ref"):
        le.binary(0.5, 0.1, reference="solution", kappa_ref=-0.1)
    with pytest.raises(ValueError, match="kappa_ref"):
        le.binary(0.5, 0.1, kappa_ref=0.2)
    with pytest.raises(NotImplementedError, match="m -> 1"):
        le.binary(0.5, 0.1, reference="solution", rsb="1rsb", m=0.5)
    with pytest.raises(NotImplementedError, match="finite-y 1RSB"):
        le.binary(0.5, 0.1, y=10.0, rsb="1rsb", reference="solution")
    with pytest.raises(ValueError, match="rsb"):
        le.dense_region_threshold(rsb="2rsb")
    with pytest.raises(ValueError, match="m"):
        le.binary(0.5, 0.1, m=0.5)  # the Parisi parameter needs rsb='1rsb'
    for bad_m in (0.0, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="m must"):
            le.binary(0.5, 0.1, rsb="1rsb", m=bad_m)


def test_h2():
    np.testing.assert_allclose(le.h2(0.5), np.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(le.h2(0.1), -(0.1 * np.log(0.1) + 0.9 * np.log(0.9)), rtol=1e-15)


@pytest.mark.slow
def test_dense_region_threshold():
    r = le.dense_region_threshold(0.0, full_output=True)
    # literature: ~0.77-0.78 (PRL 2015, constrained reference); the free-reference RS criterion
    # min_d S_hat = 0 gives a slightly lower value
    assert 0.74 < r.alpha_U < 0.78
    assert 0.0 <= r.min_S_hat_below < 0.01
    assert 0.01 < r.d_star < 0.04


@pytest.mark.slow
def test_gradient_through_solution_in_d():

    g = jax.grad(lambda dd: le.binary(0.6, dd).entropy)(0.05)
    s = le.binary(0.6, 0.05)
    np.testing.assert_allclose(g, 2.0 * s.S_hat, rtol=1e-7)


# --------------------------------------------------------------------------------------------
# reference = "solution" (PRL 2015, constrained reference)
# --------------------------------------------------------------------------------------------
def test_constrained_functional_reduces_to_free_one():
    # with R = a = 0 and the constraint out of reach (kappa_ref -> -inf) the nine-parameter
    # functional is the five-parameter free one (same saddle point, 2D vs 1D quadrature)


    tf = jnp.array([0.8127, 1.2654, 0.2647, 0.6139, 0.5972])
    th = jnp.array([tf[0], 2.0, 1.55, tf[1], 0.0, 0.0, tf[2], tf[3], tf[4]])
    f9 = fast_jit(lambda t: ls.free_entropy(t, 0.05, 0.6, 0.0, -50.0, 48))(th)
    f5 = fast_jit(lambda t: le.free_entropy(t, 0.05, 0.6, 0.0, 96))(tf)
    assert abs(float(f9) - float(f5)) < 1e-8


@pytest.mark.slow
def test_solution_reference_matches_free_reference_at_kappa_ref_equal_kappa():
    d = np.array([0.01, 0.05])
    r = le.binary(np.array([0.6]), d, reference="solution", kappa_ref=np.array([0.0, 0.3]), n=N, n2=48,
                  on_failure="flag")
    assert r.converged[0].all() and r.converged[1, 1]
    # kappa_ref = kappa, small d: the free optimum is already a solution (active mass ~1e-6, R -> 0;
    # at d = 0.01 R underflows to 0 and dS is a flat direction -- the solve used to set it to 0/0 = 0)
    assert (r.active_mass[0] < 1e-5).all() and (r.R[0] < 1e-3).all()
    assert (np.abs(r.entropy[0] - r.entropy_free[0]) < 1e-8).all()
    # kappa_ref > kappa: the constraint binds and lowers the local entropy
    assert r.active_mass[1, 1] > 1e-3 and r.R[1, 1] > 1e-3
    assert r.entropy[1, 1] < r.entropy_free[1, 1] - 1e-5
    assert (r.entropy <= le.h2(d) + 1e-12).all()


@pytest.mark.slow  # 30-37 s of compilation on a 2-core CI machine (2D quadratures at n = 48)
def test_solution_reference_1rsb_functional_reductions():
    # (i) at the collapse (q1 = q0, q1_hat = q0_hat) the 12-parameter 1RSB functional with a solution
    # reference is the nine-parameter RS one for any m (same nodes: exact up to rounding)


    th9 = jnp.array([0.9, 0.5, 0.3, 0.05, 0.02, 0.1, 1.5, 0.8, 0.3])
    rs = fast_jit(lambda t: ls.free_entropy(t, 0.1, 0.6, 0.0, 0.0, 16))(th9)
    one = fast_jit(jax.vmap(lambda m: ls.free_entropy_1rsb(ls.theta_1rsb(th9, th9[0], th9[6], m), 0.1, 0.6, 0.0,
                                                          0.0, 16)))(jnp.array([0.3, 0.5, r1.M_ONE]))
    assert np.abs(np.asarray(one) - float(rs)).max() < 1e-11


@pytest.mark.slow  # as above
def test_solution_reference_1rsb_intra_map_reduces_to_free_one():


    # (ii) with R = a = 0 and the constraint out of reach (kappa_ref -> -inf) the intra-cluster sweep
    # is the free-reference one (2D vs 1D quadrature; the m -> 1 maps divide by 1 - m = 1e-3)
    al, d = 0.7, 0.1
    rs5 = jnp.array([0.66834883, 0.39753668, 0.98792209, 0.38513219, 0.25869611])  # free RS saddle
    q0 = rs5[0]
    q1 = q0 + 1e-3 * (1.0 - q0)
    free = fast_jit(lambda q: r1.intra_map(q, rs5, al, 0.0, r1.M_ONE, 48, 24))(q1)
    th = jnp.array([rs5[0], 5.0, 1.0, rs5[1], 0.0, 0.0, rs5[2], rs5[3], rs5[4]])
    sol = fast_jit(lambda q: ls.intra_map_1rsb(q, th, d, al, 0.0, -40.0, r1.M_ONE, 48))(q1)
    assert abs(float(sol[1] - free[1])) < 1e-8 * float(free[1])  # q1_hat
    assert abs(float(sol[0] - free[0])) < 1e-6  # q1'


@pytest.mark.slow
def test_solution_reference_1rsb_curve():
    # m -> 1 analysis around a solution reference (PRL 2015 convention): it collapses onto the
    # constrained RS saddle; at small d the constraint is inactive and everything is the free-reference
    # result, at d = 0.1 it binds (active mass ~2e-2) and S_I drops below the free value
    d = np.array([0.03, 0.1])
    r = le.binary(0.7, d, reference="solution", rsb="1rsb")
    f = le.binary(0.7, d, rsb="1rsb")
    assert r.converged.all() and r.collapsed.all()
    np.testing.assert_allclose(r.entropy, r.entropy_rs, atol=1e-12)
    assert abs(r.entropy[0] - f.entropy[0]) < 1e-8 and r.active_mass[0] < 1e-5
    assert r.active_mass[1] > 1e-3 and r.entropy[1] < f.entropy[1] - 5e-5
    assert (r.replicon < 1.0).all() and abs(r.replicon[0] - f.replicon[0]) < 5e-3
    assert (r.entropy <= le.h2(d) + 1e-12).all()


# --------------------------------------------------------------------------------------------
# finite y, fixed coupling (free reference)
# --------------------------------------------------------------------------------------------
def test_finite_y_functional_at_alpha_zero():
    # alpha = 0: Phi_tot = log 2 + y log 2cosh(gamma) (q_hat = 0), so Sigma_int = H2(d), Sigma_ext = log 2


    g, y = 0.3, 5.0
    th = jnp.array([0.1, 0.2, 0.0, 0.0])
    tot, S, phi, s_int, s_ext = fast_jit(lambda t: fy.derived(t, g, y, 0.0, 0.0))(th)
    np.testing.assert_allclose(tot, np.log(2) + y * np.log(2 * np.cosh(g)), rtol=1e-13)
    np.testing.assert_allclose(S, np.tanh(g), rtol=1e-13)
    np.testing.assert_allclose(s_int, le.h2((1 - np.tanh(g)) / 2), rtol=1e-12)
    np.testing.assert_allclose(s_ext, np.log(2), rtol=1e-12)
    # free entropy per replica minus gamma S (fBP's free_entropy - gamma S): H2(d) + log 2 / y
    np.testing.assert_allclose(tot / y - g * S, le.h2((1 - np.tanh(g)) / 2) + np.log(2) / y, rtol=1e-12)


@pytest.mark.slow
def test_finite_y_approaches_y_infinity():
    # fixed coupling gamma = S_hat(d=0.05) of the y=inf curve at alpha = 0.6: as y grows the
    # distance and the internal entropy approach the y=inf point (S = 0.9, S_I = 0.130082)
    r = le.fixed_coupling(0.6, 0.59717301, np.array([10.0, 20.0, 40.0]), on_failure="flag")
    assert r.converged.all()
    err_S = np.abs(r.S - 0.9)
    err_s = np.abs(r.internal_entropy - 0.13008226)
    assert (np.diff(err_S) < 0).all() and (np.diff(err_s) < 0).all()
    assert err_S[-1] < 0.01 and err_s[-1] < 0.006
    assert (r.internal_entropy <= le.h2(r.d) + 1e-12).all()
    # external entropy turns negative at large y (RS LD measure unphysical there): flagged
    assert r.external_ok[0] and not r.external_ok[-1]


@pytest.mark.slow
def test_finite_y_at_fixed_distance_approaches_y_infinity():
    # Legendre transform of the fixed-coupling form: S_I(d, y) -> S_I(d) (0.130082 at alpha = 0.6,
    # d = 0.05) from below as y grows; Sigma_ext turns negative at large y (flagged)
    r = le.binary(0.6, np.array([0.05]), y=10.0, n=48)
    r40 = le.binary(0.6, np.array([0.05]), y=40.0, n=48, on_failure="flag")
    assert r.converged.all() and r40.converged.all()
    s_inf = 0.13008226
    assert r.entropy[0] < r40.entropy[0] < s_inf
    assert s_inf - r40.entropy[0] < 1e-3
    np.testing.assert_allclose(r.total_local_entropy, r.entropy + r.external_entropy / 10.0, rtol=1e-10)
    assert r.external_ok[0] and not r40.external_ok[0]


# --------------------------------------------------------------------------------------------
# 1RSB among the replicas around the reference (y = inf, free reference): functional only
# --------------------------------------------------------------------------------------------
def test_1rsb_inner_entropic_integral():
    # exact four-piece form of log int Dz [2 cosh(x + sigma z)]^m vs adaptive quadrature


    for x, s2, m in [(0.3, 4.0, 0.5), (2.0, 25.0, 0.3), (-1.0, 0.5, 0.8), (0.01, 1e-10, 0.5)]:
        f = lambda z: np.exp(-z * z / 2 + m * np.log(2 * np.cosh(x + np.sqrt(s2) * z))) / np.sqrt(2 * np.pi)  # noqa: E731
        ref = np.log(integrate.quad(f, -40, 40, points=[-x / np.sqrt(s2)], limit=400, epsabs=0, epsrel=1e-13)[0])
        assert abs(float(env.log_inner_entropic_1rsb(x, s2, m)) - ref) < 1e-9


# slow: 14 s (compiling the 1RSB functional). Notebook 2 asserts the collapse at the saddle in the
# default run: at every collapsed point the 1RSB value, the functional evaluated exactly at
# q1 = q0, q1_hat = q0_hat, equals the RS local entropy to 1e-5.
@pytest.mark.slow
def test_1rsb_functional_collapses_to_rs():


    rs = jnp.array([0.8127, 1.2654, 0.2647, 0.6139, 0.5972])  # near the RS saddle at alpha=0.6, d=0.05
    f1 = fast_jit(lambda t: r1.free_entropy(t, 0.05, 0.6, 0.0, 32, r1.DEFAULT_N_IN))
    f0 = float(le.free_entropy(rs, 0.05, 0.6, 0.0, 96))
    # m = 1: the intra-cluster level integrates out exactly, whatever q1 - q0, q1_hat - q0_hat
    assert abs(float(f1(r1.from_rs(rs, 0.05, 3.0, 1.0))) - f0) < 1e-7  # 32 vs 96 nodes
    # q1 -> q0, q1_hat -> q0_hat at any m (the ~3e-6 offset seen earlier was the inner quadrature
    # at n_in = 12; with the default 24 inner nodes the offset is 1.2e-9, the outer 32-vs-96 nodes)
    assert abs(float(f1(r1.from_rs(rs, 1e-10, 1e-10, 0.4))) - f0) < 1e-8
    # exactly at the collapse (zero intra-cluster variances): the truncated-Gaussian rule used to lose
    # its nodes there (cancellation in its scale) and returned 0.086 instead of 0.130
    assert abs(float(f1(r1.from_rs(rs, 0.0, 0.0, 0.4))) - f0) < 1e-8


@pytest.mark.slow
def test_1rsb_at_fixed_m_collapses_and_its_replicon_does_not_depend_on_m():
    # the full 7-parameter saddle point at m = 0.5, from a nearly frozen start (about 3 min on 2 cores)
    rs = le.binary(0.7, [0.1])
    one = le.binary(0.7, [0.1], rsb="1rsb")  # m -> 1 analysis
    half = le.binary(0.7, [0.1], rsb="1rsb", m=0.5)
    assert half.converged.all() and half.collapsed.all() and float(half.m[0]) == 0.5
    assert abs(float(half.entropy[0] - rs.entropy[0])) < 1e-10
    assert abs(float(half.q1[0] - half.q0[0])) == 0.0 and float(half.complexity[0]) == 0.0
    # the replicon is a property of the RS saddle: the same at m = 0.5 as at m -> 1 (1e-3 accuracy)
    assert 0.0 < float(half.replicon[0]) < 1.0
    assert abs(float(half.replicon[0] - one.replicon[0])) < 5e-3
