"""Finite-y 1RSB (free reference, fixed coupling): exact reductions of the functional to the RS one,
and the collapse of the saddle point onto RS at the parameters of notebook 04 (PNAS 2016 Fig. 11)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from physlearn.theory.local_entropy import _finite_y as fy
from physlearn.theory.local_entropy import _finite_y_1rsb as f1
from _fast import fast_jit

NODES = dict(n=16, n_mid=16, n_in=24)


@pytest.fixture(scope="module")
def phi():
    jax.config.update("jax_enable_x64", True)
    return fast_jit(f1.total_free_entropy, static_argnames=("n", "n_mid", "n_in"))


def _rs(q0, q1, q0h, q1h, g, y, a, k):
    # n_in = 96: the RS module's single recentred Gauss-Hermite rule converges slowly where the inner
    # integrand is flat-topped (y (q1_hat - q0_hat) ~ 1: 2e-4 off at n_in = 24); the 1RSB inner levels
    # use the exact four-piece form and are converged at 24
    return float(fy.total_free_entropy(jnp.array([q0, q1, q0h, q1h]), g, y, a, k, n=16, n_in=96))


@pytest.mark.parametrize("g, y, a, k", [(0.3, 3.0, 0.6, 0.0), (0.8, 6.0, 0.4, 0.3)])
def test_reductions_to_replica_symmetry(phi, g, y, a, k):
    """m = 1: RS with q1 = qb whatever (qc, qc_hat); qc = qb, qc_hat = qb_hat: RS for any m; m = y:
    RS with q1 = qc (a point where the RS inner integrand is unimodal)."""
    q0, qb, qc, q0h, qbh, qch = 0.3, 0.45, 0.7, 0.2, 0.3, 0.5
    rs_b = _rs(q0, qb, q0h, qbh, g, y, a, k)
    for qc_, qch_ in ((0.7, 0.5), (0.8, 1.5)):
        v = float(phi(jnp.array([q0, qb, qc_, q0h, qbh, qch_]), g, y, 1.0, a, k, **NODES))
        assert abs(v - rs_b) < 1e-6 * (1 + abs(rs_b)), (v, rs_b)
    for m in (1.5, 0.5 * (1 + y), y - 0.3):
        v = float(phi(jnp.array([q0, qb, qb, q0h, qbh, qbh]), g, y, m, a, k, **NODES))
        assert abs(v - rs_b) < 1e-7 * (1 + abs(rs_b)), (m, v, rs_b)
    rs_c = _rs(q0, qc, q0h, qch, g, y, a, k)
    v = float(phi(jnp.array([q0, qb, qc, q0h, qbh, qch]), g, y, y, a, k, **NODES))
    assert abs(v - rs_c) < 1e-7 * (1 + abs(rs_c)), (v, rs_c)
    # and a genuinely 1RSB point is neither
    v = float(phi(jnp.array([q0, qb, qc, q0h, qbh, qch]), g, y, 0.5 * (1 + y), a, k, **NODES))
    assert min(abs(v - rs_b), abs(v - rs_c)) > 1e-4


def test_bad_m_is_refused():
    from physlearn.theory import local_entropy as le

    with pytest.raises(ValueError, match="m must satisfy"):
        le.fixed_coupling(0.6, 0.4, 5.0, rsb="1rsb", m=5.0)
    with pytest.raises(ValueError, match="m must satisfy"):
        le.fixed_coupling(0.6, 0.4, 5.0, rsb="1rsb", m=1.0)
    with pytest.raises(ValueError, match="only used with rsb='1rsb'"):
        le.fixed_coupling(0.6, 0.4, 5.0, m=2.0)
    with pytest.raises(ValueError, match="rsb must be"):
        le.fixed_coupling(0.6, 0.4, 5.0, rsb="2rsb")


@pytest.mark.slow
def test_finite_y_1rsb_collapses_onto_rs_at_notebook_parameters():
    """alpha = 0.6, y = 5 (notebook 04): from a nearly frozen intra-group start the 1RSB search returns to
    RS for every coupling and group size tried, so its local entropy is the RS one (~70 s cold)."""
    from physlearn.theory import local_entropy as le

    g = np.array([0.25, 0.4, 0.7])
    r = le.fixed_coupling(0.6, g, 5.0, rsb="1rsb", m=np.array([[2.0], [4.0]]))  # default nodes (32, 16, 16)
    rs = le.fixed_coupling(0.6, g, 5.0, n=32, n_in=16)
    assert np.all(np.asarray(r.converged)) and np.all(np.asarray(r.collapsed))
    np.testing.assert_allclose(np.asarray(r.internal_entropy), np.broadcast_to(rs.internal_entropy, (2, 3)), atol=1e-7)
    np.testing.assert_allclose(np.asarray(r.qc), np.asarray(r.qb))
    assert np.all(np.abs(np.asarray(r.dphi_dm)) < 1e-6)


def test_fixed_distance_conventions():
    from physlearn.theory import local_entropy as le

    with pytest.raises(ValueError, match="1 < m < y"):
        le.binary(0.6, 0.1, y=5.0, rsb="1rsb", m=0.5)
    with pytest.raises(NotImplementedError, match="reference='free'"):
        le.binary(0.6, 0.1, y=5.0, rsb="1rsb", reference="solution")


@pytest.mark.slow
def test_fixed_distance_1rsb_is_the_rs_curve_where_it_collapses():
    """binary(y=5, rsb='1rsb'): at every distance the 1RSB search at the RS coupling gamma(d) collapses,
    so the fixed-d 1RSB local entropy is the RS one (~2 min cold)."""
    from physlearn.theory import local_entropy as le

    d = np.array([0.05, 0.1, 0.2])
    r = le.binary(0.6, d, y=5.0, rsb="1rsb", m=3.0)
    rs = le.binary(0.6, d, y=5.0)
    assert isinstance(r, le.FiniteY1RSB) and r.entropy.shape == (3,)
    assert np.all(np.asarray(r.collapsed)) and np.all(np.asarray(r.converged))
    np.testing.assert_allclose(np.asarray(r.entropy), np.asarray(rs.entropy), rtol=0, atol=0)
    np.testing.assert_allclose(np.asarray(r.qc), np.asarray(rs.q1))
