"""Finite-y large-deviation functional with the reference constrained to be a solution (theory notes
§C.1, PRL 2015 convention): exact limits that tie it to independent implementations (its y -> 0 limit,
Gardner and Franz-Parisi, is tested in test_franz_parisi.py, next to the Franz-Parisi curves)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from physlearn.theory.local_entropy import _finite_y as fy
from physlearn.theory.local_entropy import _finite_y_solution as fs
from physlearn.theory.local_entropy._curves import solution_fy_nodes
from _fast import fast_jit

NODES = (24, 32, 24, 12)  # reduced quadrature (error ~2e-6 at y = 5; the defaults ~5e-9)


def test_inactive_constraint_is_the_free_reference_functional():
    """kappa_ref -> -inf with Q^ = S0^ = 0: the free-reference fixed-d functional Phi_tot(gamma) - y gamma S
    (module _le_finite_y), whatever the (admissible) reference overlaps Q, S0."""
    y, S, g = 5.0, 0.8, 0.54
    q0, q1, q0h, q1h = 0.5575, 0.6919, 0.4954, 0.5740
    free = float(fy.total_free_entropy(jnp.array([q0, q1, q0h, q1h]), g, y, 0.6, 0.0, 64, 24)) - y * g * S
    f = fast_jit(fs.functional, static_argnames="nodes")
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


@pytest.mark.slow  # 62-66 s cold on 2 cores (compile of the nested residual derivatives)
def test_public_solve_is_a_saddle_point_between_franz_parisi_and_the_sphere():
    """binary(..., y, reference='solution'): a guess-free path from the Franz-Parisi saddle point; the
    returned order parameters make the full gradient of the functional vanish (an independent check
    of the reduced solve), and the local entropy of the selected references lies between the
    typical-reference value V(d) (y = 0) and the Hamming-sphere bound H2(d)."""
    from physlearn.theory import franz_parisi as fp
    from physlearn.theory import local_entropy as le

    d, y, n_fy = 0.1, 1.5, 24  # y = 1.5: the first step of every path (compile time dominates)
    r = le.binary(0.6, d, y=y, reference="solution", n_fy=n_fy)
    assert r.entropy.shape == () and bool(r.converged) and float(r.residual) < 1e-9
    th = jnp.array([float(r.Q), float(r.S0), float(r.q0), float(r.q1), float(r.Q_hat),
                    float(r.S0_hat) / np.sqrt(float(r.Q_hat)), float(r.S1_hat), float(r.q0_hat), float(r.q1_hat)])
    grad = fast_jit(jax.grad(fs.functional), static_argnames="nodes")(th, 1.0 - 2.0 * d, y, 0.6, 0.0, 0.0,
                                                                    nodes=solution_fy_nodes(n_fy))
    assert float(jnp.max(jnp.abs(grad))) < 1e-8
    s_i, s_ext = float(r.entropy), float(r.external_entropy)
    assert abs(float(r.total_local_entropy) - (s_i + s_ext / y)) < 1e-12
    assert bool(r.external_ok) and s_ext > 0 and float(r.gamma) > 0
    v = float(fp.binary(0.6, np.array([d])).entropy[0])
    assert v < s_i < float(fp.h2(d))


@pytest.mark.slow
def test_solution_reference_grows_towards_y_infinity_above_the_free_reference():
    """As y grows the selected references get denser: S_I(d, y) increases towards the y = inf value
    (where both conventions coincide at kappa_ref = kappa) and Sigma_ext decreases; at equal y the
    constraint lowers the total free entropy Phi/y below the free reference's."""
    from physlearn.theory import local_entropy as le

    ys = (2.5, 5.0, 10.0)
    res = [le.binary(0.6, 0.1, y=y, reference="solution", n_fy=36) for y in ys]
    s_i = [float(r.entropy) for r in res]
    s_ext = [float(r.external_entropy) for r in res]
    s_inf = float(le.binary(0.6, 0.1).entropy)
    assert all(bool(r.converged) for r in res)
    assert s_i[0] < s_i[1] < s_i[2] < s_inf
    assert s_ext[0] > s_ext[1] > s_ext[2] > 0
    free = le.binary(0.6, 0.1, y=5.0)
    assert float(res[1].total_local_entropy) < float(free.total_local_entropy)
