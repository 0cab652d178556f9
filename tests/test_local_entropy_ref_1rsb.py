"""1RSB among the references (physlearn.theory.local_entropy._ref_1rsb): exact reductions of the finite-y and
y -> inf functionals to the RS ones and to the existing finite-y 1RSB, derivatives, and the
instability of the y -> inf RS saddle towards clusters of references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.theory.local_entropy import _finite_y as fy
from physlearn.theory.local_entropy import _finite_y_1rsb as f1
from physlearn.theory.local_entropy import _ref_1rsb as rr
from physlearn.theory import local_entropy as le
from _fast import fast_jit

INF = dict(n=24, n_in=16)
FY = dict(n=16, n_mid=16, n_in=24)  # the innermost four-piece form needs 24 nodes for 1e-10
# an RS y = inf saddle (alpha = 0.6, d = 0.05, kappa = 0; local_entropy.binary), used as a point of the
# functional and as a start, never as an expected value
RS_INF = (0.8127018547560003, 1.2654038354691188, 0.26466224109066927, 0.6139379458375097, 0.5971730088075976)


@pytest.fixture(scope="module")
def s_inf():
    jax.config.update("jax_enable_x64", True)
    return fast_jit(rr.free_entropy, static_argnames=("n", "n_in"))


@pytest.fixture(scope="module")
def phi_fy():
    jax.config.update("jax_enable_x64", True)
    return fast_jit(rr.total_free_entropy, static_argnames=("n", "n_mid", "n_in"))


def _inf_theta(q0, p0, mu, rs=RS_INF):
    q1, dq, p1, dp, sh = rs
    return jnp.array([q0, q1, dq, p0, p1, dp, sh, mu])


def test_y_inf_reduces_to_rs(s_inf):
    """q0 = q1, q0_hat = q1_hat: the RS S_I for every mu (exact, 1e-9); mu -> 0: the RS S_I with q1
    whatever (q0, q0_hat) (a limit, linear in mu: the Richardson combination 2 S(mu) - S(2 mu) is the
    limit up to O(mu^2) and quadrature noise / mu, 1e-6 here)."""
    d, a = 0.05, 0.6
    rs = jnp.asarray(RS_INF)
    ref = float(le.free_entropy(rs, d, a, 0.0, INF["n"]))
    for mu in (0.3, 2.0, 11.0):
        v = float(s_inf(_inf_theta(RS_INF[0], RS_INF[2], mu), d, a, 0.0, **INF))
        assert abs(v - ref) < 1e-9, (mu, v, ref)
    for q0, p0 in ((0.6, 0.2), (0.75, 0.05)):
        mu = 5e-4
        v1 = float(s_inf(_inf_theta(q0, p0, mu), d, a, 0.0, **INF))
        v2 = float(s_inf(_inf_theta(q0, p0, 2 * mu), d, a, 0.0, **INF))
        assert abs(v1 - ref) > 1e-8  # a genuine 1RSB point at finite mu ...
        assert abs(2 * v1 - v2 - ref) < 1e-6, (q0, 2 * v1 - v2, ref)  # ... whose mu -> 0 limit is RS


def test_y_inf_alpha_zero_is_the_hamming_sphere(s_inf):
    """alpha = 0 at the saddle (q_hat = 0, S_hat = atanh S) of any mu: S_I = H2(d)."""
    d = 0.1
    S = 1 - 2 * d
    sh = np.arctanh(S)
    th = jnp.array([S * S, S * S, 1e-9, 0.0, 0.0, 0.0, sh, 2.0])
    v = float(s_inf(th, d, 0.0, 0.0, **INF))
    assert abs(v - float(le.h2(d))) < 1e-9


@pytest.mark.parametrize("g, y, a, k", [(0.4, 5.0, 0.6, 0.0), (0.8, 3.0, 0.4, 0.3)])
def test_finite_y_reductions(phi_fy, g, y, a, k):
    """m_r = 1: the RS functional with (q0, q1) whatever (qm, qm_hat); qm = q0, qm_hat = q0_hat: that
    RS functional for every m_r (both exact, 1e-8); m_r -> 0: RS with (qm, q1) (a limit: Richardson
    in m_r, O(m_r^2) and quadrature noise / m_r left, 1e-6)."""
    q0, qm, q1, p0, pm, p1 = 0.3, 0.45, 0.7, 0.05, 0.08, 0.15

    def rs(a0, a1, b0, b1):  # the RS module's inner rule needs many nodes where y (p1 - p0) ~ 1
        return float(fy.total_free_entropy(jnp.array([a0, a1, b0, b1]), g, y, a, k, n=FY["n"], n_in=96))

    r01, rm1 = rs(q0, q1, p0, p1), rs(qm, q1, pm, p1)
    for qm_, pm_ in ((qm, pm), (0.6, 0.12)):
        v = float(phi_fy(jnp.array([q0, qm_, q1, p0, pm_, p1]), g, y, 1.0, a, k, **FY))
        assert abs(v - r01) < 1e-8 * (1 + abs(r01)), (qm_, v, r01)
    for mr in (0.2, 0.7):
        v = float(phi_fy(jnp.array([q0, q0, q1, p0, p0, p1]), g, y, mr, a, k, **FY))
        assert abs(v - r01) < 1e-8 * (1 + abs(r01)), (mr, v, r01)
    th = jnp.array([q0, qm, q1, p0, pm, p1])
    mr = 1e-3
    v1, v2 = float(phi_fy(th, g, y, mr, a, k, **FY)), float(phi_fy(th, g, y, 2 * mr, a, k, **FY))
    assert abs(v1 - rm1) > 1e-5
    assert abs(2 * v1 - v2 - rm1) < 1e-6 * (1 + abs(rm1)), (2 * v1 - v2, rm1)
    v = float(phi_fy(th, g, y, 0.5, a, k, **FY))
    assert min(abs(v - r01), abs(v - rm1)) > 1e-3  # and a genuinely 1RSB point is neither


@pytest.mark.slow  # ~100 s on 2 busy cores (two 32-node compilations); the other reductions stay in CI
@pytest.mark.parametrize("mr", [0.3, 0.8])
def test_decoupled_references_equal_the_existing_finite_y_1rsb(phi_fy, mr):
    """gamma = 0 (the reference decouples): clusters of m_r references with y replicas each are groups
    of y replicas inside blocks of m_r y, the existing finite-y 1RSB functional with (y, m) -> (m_r y, y):
    Phi = log 2 + [Phi_groups - log 2] / m_r."""
    y, a, k = 5.0, 0.6, 0.2
    th = jnp.array([0.3, 0.45, 0.7, 0.05, 0.08, 0.15])
    nodes = dict(FY, n=32, n_mid=24)  # 16 outer nodes leave 1.7e-7 between the two outer rules; 32 agree to 1e-14
    v = float(phi_fy(th, 0.0, y, mr, a, k, **nodes))
    old = float(f1.total_free_entropy(th, 0.0, mr * y, y, a, k, **nodes))
    assert abs(v - (np.log(2.0) + (old - np.log(2.0)) / mr)) < 1e-9, (v, old)


@pytest.mark.slow  # ~45 s on 2 busy cores
def test_gradients_match_finite_differences(s_inf, phi_fy):
    """Both functionals are differentiable in every order parameter (the stationarity maps use it)."""
    th = _inf_theta(0.65, 0.22, 3.0)
    g = np.asarray(jax.grad(lambda t: s_inf(t, 0.05, 0.6, 0.0, **INF))(th))
    h = 1e-5
    for i in (0, 3, 6, 7):
        e = jnp.zeros(8).at[i].set(h)
        fd = (float(s_inf(th + e, 0.05, 0.6, 0.0, **INF)) - float(s_inf(th - e, 0.05, 0.6, 0.0, **INF))) / (2 * h)
        assert abs(g[i] - fd) < 1e-6 * (1 + abs(fd)), (i, g[i], fd)
    tf = jnp.array([0.3, 0.45, 0.7, 0.05, 0.08, 0.15])
    gf = np.asarray(jax.grad(lambda t: phi_fy(t, 0.4, 5.0, 0.5, 0.6, 0.0, **FY))(tf))
    for i in (1, 4):
        e = jnp.zeros(6).at[i].set(h)
        fd = (float(phi_fy(tf + e, 0.4, 5.0, 0.5, 0.6, 0.0, **FY))
              - float(phi_fy(tf - e, 0.4, 5.0, 0.5, 0.6, 0.0, **FY))) / (2 * h)
        assert abs(gf[i] - fd) < 1e-6 * (1 + abs(fd)), (i, gf[i], fd)


def test_parametrisations_round_trip():
    x = jnp.array([0.3, 1.2, -0.5, -1.0, 0.4, -2.0, 0.7, 1.1])
    t = rr.to_theta_inf(x)
    assert 0 < t[0] < t[1] < 1 and 0 < t[3] < t[4] and t[2] > 0 and t[5] > 0 and t[7] > 0
    np.testing.assert_allclose(rr.from_theta_inf(t), x, atol=1e-12)
    x6 = x[:6]
    t6 = rr.to_theta_fy(x6)
    assert 0 < t6[0] < t6[1] < t6[2] < 1 and 0 < t6[3] < t6[4] < t6[5]
    np.testing.assert_allclose(rr.from_theta_fy(t6), x6, atol=1e-12)
    s = rr.start_fy(jnp.array([0.3, 0.7, 0.05, 0.15]))
    assert float(s[1]) == pytest.approx(0.5) and not bool(rr.collapsed_fy(s))


# --------------------------------------------------------------------------------------------
# the public entry points (local_entropy.fixed_coupling_ref_1rsb, local_entropy.free_reference_ref_1rsb)
# --------------------------------------------------------------------------------------------
CHEAP_FY = dict(n=12, n_mid=8, n_in=12, n_rs_in=16)


def test_entry_points_validate_their_input():
    with pytest.raises(ValueError, match="m_r"):
        le.fixed_coupling_ref_1rsb(0.6, 0.5, 5.0, m_r=1.5)
    with pytest.raises(ValueError, match="y"):
        le.fixed_coupling_ref_1rsb(0.6, 0.5, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        le.fixed_coupling_ref_1rsb(-0.6, 0.5, 5.0)
    with pytest.raises(ValueError, match="mu"):
        le.free_reference_ref_1rsb(0.6, 0.05, mu=-1.0)
    with pytest.raises(ValueError, match="d"):
        le.free_reference_ref_1rsb(0.6, 0.7)


@pytest.mark.slow
def test_fixed_coupling_without_condensation_is_rs_and_with_it_is_not():
    """y = 5 (alpha = 0.6, gamma = 0.5): the clusters of references do not condense (m_r = 1), so d,
    Sigma_int and the free entropy are the RS ones (exact reduction at m_r = 1, evaluated on the RS
    saddle); y = 20, gamma = 0.6: Sigma(1) < 0, the physical m_r* < 1 has zero complexity, and the
    external entropy, negative in RS, is raised (derivation page, section 11). At m_r = 1 the
    thermodynamics are those of the RS functional at the same nodes (the three-level 1RSB quadrature
    would add its own error: 1.4e-4 in Phi at these reduced nodes), so they agree to rounding."""
    r = le.fixed_coupling_ref_1rsb(0.6, [0.5, 0.6], [5.0, 20.0], **CHEAP_FY)
    rs = le.fixed_coupling_rs(0.6, [0.5, 0.6], [5.0, 20.0], n=CHEAP_FY["n"], n_in=CHEAP_FY["n_rs_in"])
    assert float(r.m_r[0]) == 1.0 and not bool(r.condensed[0])
    for f in ("d", "internal_entropy", "free_entropy", "external_entropy", "q0", "q1"):
        assert abs(float(getattr(r, f)[0]) - float(getattr(rs, f)[0])) < 1e-12, f
    assert float(r.q0[0]) <= float(r.qm[0]) <= float(r.q1[0])  # the reconstruction's intra-cluster overlap
    assert 0.3 < float(r.m_r[1]) < 0.9 and bool(r.condensed[1]) and abs(float(r.complexity[1])) < 1e-6
    assert float(rs.external_entropy[1]) < 0 < float(r.external_entropy[1])
    assert float(r.q0[1]) < float(r.qm[1]) < float(r.q1[1])


@pytest.mark.slow
def test_y_inf_local_entropy_lies_below_rs_at_zero_complexity():
    """alpha = 0.6, d = 0.05: a genuine 1RSB saddle (q0 < q1) at mu*, zero complexity, S_I below the RS
    value (RS is the mu -> 0 member: an upper bound), and S_I(mu*) is the minimum over mu."""
    r = le.free_reference_ref_1rsb(0.6, 0.05, n_1rsb=24, n_in=16)
    assert not bool(r.collapsed) and float(r.q0) < float(r.q1) - 1e-3
    assert abs(float(r.complexity)) < 1e-6
    assert float(r.entropy) < float(r.entropy_rs) - 1e-5
    for mu in (0.7 * float(r.mu), 1.4 * float(r.mu)):
        assert float(le.free_reference_ref_1rsb(0.6, 0.05, mu=mu, n_1rsb=24, n_in=16).entropy) > float(r.entropy)

