"""Finite-y large-deviation functional with the reference constrained to be a solution (theory notes
§C.1, PRL 2015 convention): exact limits that tie it to three independent implementations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.theory import _le_finite_y as fy
from physlearn.theory import _le_finite_y_solution as fs
from physlearn.theory import franz_parisi as fp
from physlearn.theory import gardner

NODES = (24, 32, 24, 12)  # reduced quadrature (error ~1e-7; the defaults ~1e-8)


def _theta(Q, S0, q1, Qh, rho, Sh1, q1h, S, frac0=0.5, frac0h=0.5):
    """An admissible theta: q0 (q0_hat) anywhere between its two bounds."""
    a0sq, a1sq = S0 * S0 / Q, (S - S0) ** 2 / (1.0 - Q)
    q0 = a0sq + frac0 * (q1 - a0sq - a1sq)
    q0h = rho * rho + frac0h * (q1h - rho * rho)
    return jnp.array([Q, S0, q0, q1, Qh, rho, Sh1, q0h, q1h])


@pytest.fixture(scope="module")
def fp_point():
    return fp.binary(0.6, 0.1)


def test_y_to_zero_is_gardner_then_franz_parisi(fp_point):
    """At y = 0 the functional is the Gardner RS entropy of the reference, and its y-derivative at the
    Franz-Parisi saddle point (p = S, t = S0, q = q1, q~ = Q; p^, t^ = S0^, q^, q~^ = Q^) is the
    Franz-Parisi potential V(d): the reference is then a typical solution."""
    r = fp_point
    S, Q, Qh = float(r.p), float(r.q_ref), float(r.q_hat_ref)
    th = _theta(Q, float(r.t), float(r.q), Qh, float(r.t_hat) / np.sqrt(Qh), float(r.p_hat), float(r.q_hat), S)
    phi0, dphi, sigma_ext, _ = jax.jit(fs.derived, static_argnames="nodes")(th, 0.1, 0.0, 0.6, 0.0, 0.0,
                                                                           nodes=NODES)
    gardner_entropy = float(gardner.binary_rs_free_entropy(Q, Qh, 0.6, 0.0))
    assert abs(float(phi0) - gardner_entropy) < 1e-6
    assert float(sigma_ext) == float(phi0)  # at y = 0 the references are all the typical solutions
    assert abs(float(dphi) - float(r.entropy)) < 1e-6
    # the replica-replica overlaps across references (q0, q0_hat) drop out at y = 0
    th2 = _theta(Q, float(r.t), float(r.q), Qh, float(r.t_hat) / np.sqrt(Qh), float(r.p_hat), float(r.q_hat), S,
                 frac0=0.2, frac0h=0.9)
    dphi2 = jax.jit(jax.grad(fs.functional, 2), static_argnames="nodes")(th2, S, 0.0, 0.6, 0.0, 0.0, nodes=NODES)
    assert abs(float(dphi2) - float(dphi)) < 1e-6


def test_inactive_constraint_is_the_free_reference_functional():
    """kappa_ref -> -inf with Q^ = S0^ = 0: the free-reference fixed-d functional Phi_tot(gamma) - y gamma S
    (module _le_finite_y), whatever the (admissible) reference overlaps Q, S0."""
    y, S, g = 5.0, 0.8, 0.54
    q0, q1, q0h, q1h = 0.5575, 0.6919, 0.4954, 0.5740
    free = float(fy.total_free_entropy(jnp.array([q0, q1, q0h, q1h]), g, y, 0.6, 0.0, 64, 24)) - y * g * S
    f = jax.jit(fs.functional, static_argnames="nodes")
    for Q in (q0 / S**2, 0.8):
        S0 = S * Q + 0.3 * np.sqrt((q1 - S * S) * Q * (1.0 - Q)) * (Q != q0 / S**2)
        b0 = q0 - S0 * S0 / Q
        b1 = q1 - q0 - (S - S0) ** 2 / (1.0 - Q)
        assert b0 >= 0 and b1 >= 0
        th = jnp.array([Q, S0, q0, q1, 1e-300, 0.0, g, q0h, q1h])
        assert abs(float(f(th, S, y, 0.6, 0.0, -40.0, nodes=NODES)) - free) < 2e-6
    # an active constraint lowers the partition function
    assert float(f(th, S, y, 0.6, 0.0, 0.0, nodes=NODES)) < free


def test_parametrisation_round_trip_and_admissibility():
    S = 0.8
    x = jnp.array([1.5, 0.06, -4.0, -1.9, -2.3, 0.1, -0.7, -2.5, 0.54])
    th = fs.to_theta(x, S)
    np.testing.assert_allclose(fs.from_theta(th, S), x, atol=1e-12)
    for seed in range(5):
        xr = jax.random.normal(jax.random.PRNGKey(seed), (9,)) * 3.0
        Q, S0, q0, q1, Qh, rho, Sh1, q0h, q1h = np.asarray(fs.to_theta(xr, S))
        assert 0 < Q < 1 and q1 < 1 and Qh > 0
        assert q0 >= S0 * S0 / Q - 1e-12 and q1 - q0 >= (S - S0) ** 2 / (1.0 - Q) - 1e-12
        assert q0h >= rho * rho and q1h >= q0h
