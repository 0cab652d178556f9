"""Flatness measures against dense linear algebra and exact identities: Lanczos top-k vs eigh of
jax.hessian, SLQ quadrature moments vs traces, the critical-point index vs dense counts and a
quadratic with a known spectrum, local energy at sigma = 0 and batched vs loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from physlearn.deep import flatness, nets

_RNG = np.random.default_rng(1)
X = jnp.asarray(_RNG.normal(size=(30, 4)))
Y = jnp.asarray(_RNG.integers(0, 3, size=30))
DATA = (X, Y)
# a small tanh MLP (4-5-3: 43 parameters) in float64, slightly trained-looking random weights
MODEL = nets.mlp(jax.random.key(0), (4, 5, 3), "tanh", dtype=jnp.float64)
N = ravel_pytree(MODEL)[0].size


@pytest.fixture(scope="module")
def dense_eigs():
    h = np.asarray(flatness.dense_hessian(nets.loss, MODEL, DATA))
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    return np.linalg.eigvalsh(h)


def test_lanczos_top_and_bottom_k_match_dense(dense_eigs):
    # 30 Lanczos steps for n = 43 parameters: the extreme eigenvalues have converged (and the
    # residual bounds say so); the full spectrum with iters = n is checked through SLQ below
    top, res = flatness.hessian_eigenvalues(nets.loss, MODEL, DATA, 4, jax.random.key(1), iters=30,
                                            return_residuals=True)
    np.testing.assert_allclose(top, dense_eigs[::-1][:4], rtol=1e-6)
    assert np.all(np.asarray(res) < 1e-6 * np.abs(dense_eigs).max())
    low = flatness.hessian_eigenvalues(nets.loss, MODEL, DATA, 2, jax.random.key(2), iters=30, which="smallest")
    np.testing.assert_allclose(low, dense_eigs[:2], rtol=1e-6)


def test_slq_density_is_normalised_and_its_moments_are_traces(dense_eigs):
    # basis probes e_1..e_n with iters = n: the quadrature is exact, sum_p v_p.H^j.v_p = tr(H^j)
    d = flatness.hessian_density(nets.loss, MODEL, DATA, jax.random.key(4), probes=np.eye(N), iters=N, grid=4001)
    np.testing.assert_allclose(np.sum(d.weights, axis=1), 1.0, rtol=1e-12)
    for j in (1, 2, 3):
        np.testing.assert_allclose(float(d.moment(j)), np.mean(dense_eigs**j), rtol=1e-9, atol=1e-12)
    t, phi = np.asarray(d.grid), np.asarray(d.density)
    assert abs(np.trapezoid(phi, t) - 1.0) < 1e-6
    w = float(d.width)  # broadening adds width^2 to the second moment, nothing to the first
    np.testing.assert_allclose(np.trapezoid(t * phi, t), np.mean(dense_eigs), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.trapezoid(t**2 * phi, t), np.mean(dense_eigs**2) + w**2, rtol=1e-6)
    # random Rademacher probes (same shapes: no new compilation): unbiased estimates, within 5
    # standard errors of tr(H^j)/n
    probes = np.asarray(jax.random.rademacher(jax.random.key(5), (N, N), jnp.float64))
    d = flatness.hessian_density(nets.loss, MODEL, DATA, jax.random.key(5), probes=probes, iters=N, grid=4001)
    h = np.asarray(flatness.dense_hessian(nets.loss, MODEL, DATA))
    for j, hj in ((1, h), (2, h @ h)):
        # variance of v.A.v/n for Rademacher v: 2 sum_{i != k} A_ik^2 / n^2
        se = np.sqrt(2 * (np.sum(hj**2) - np.sum(np.diag(hj) ** 2)) / N**2 / N)
        assert abs(float(d.moment(j)) - np.trace(hj) / N) < 5 * se


def test_critical_index_against_known_spectrum_and_dense_counts(dense_eigs):
    # quadratic with a known spectrum: 2 negative, 3 zero, 5 positive eigenvalues out of 10
    lam = jnp.asarray([-2.0, -0.5, 0.0, 0.0, 0.0, 0.3, 1.0, 1.5, 2.0, 4.0])
    q, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(6), (10, 10)))
    a = q @ jnp.diag(lam) @ q.T

    def quad(p, data):
        return 0.5 * p["x"] @ a @ p["x"]

    p = {"x": jnp.ones(10)}
    # SLQ is exact with the basis probes and iters = n (a random probe gives a random estimate)
    for method, kw in (("dense", {}), ("slq", dict(key=jax.random.key(7), probes=np.eye(10), iters=10))):
        ci = flatness.critical_point_index(quad, p, None, method=method, tol=1e-8, **kw)
        assert ci.method == method
        np.testing.assert_allclose([float(ci.negative), float(ci.zero)], [0.2, 0.3], atol=1e-9)
    ci = flatness.critical_point_index(nets.loss, MODEL, DATA, method="dense", tol=1e-6)
    scale = np.abs(dense_eigs).max()
    assert round(float(ci.negative) * N) == np.sum(dense_eigs < -1e-6 * scale)
    assert round(float(ci.zero) * N) == np.sum(np.abs(dense_eigs) <= 1e-6 * scale)


def test_local_energy_sigma0_and_batched_equals_loop():
    sig = np.asarray([0.0, 0.05, 0.2])
    key = jax.random.key(8)
    le = flatness.local_energy(nets.error, MODEL, DATA, sig, key, draws=6, chunk=3)
    base = float(nets.error(MODEL, DATA))
    assert float(le.energy[0]) == pytest.approx(base, abs=1e-15) and float(le.base) == base
    assert float(le.stderr[0]) < 1e-15
    flat, unravel = ravel_pytree(MODEL)
    err = jax.jit(lambda v: nets.error(unravel(v), DATA))
    loop = np.zeros((6, 3))
    for d, k in enumerate(jax.random.split(key, 6)):
        xi = jax.random.normal(k, flat.shape, flat.dtype)
        for j, s in enumerate(sig):
            loop[d, j] = float(err(flat * (1 + s * xi)))
    np.testing.assert_allclose(le.energy, loop.mean(0), rtol=1e-12)
    np.testing.assert_allclose(le.stderr, loop.std(0, ddof=1) / np.sqrt(6), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(le.delta, le.energy - base)


def test_local_energy_of_a_quadratic_is_exact():
    # L(W) = |W|^2/2: E_xi L(W(1+sigma xi)) = (1+sigma^2)|W|^2/2; with many draws the mean is close
    w = {"a": jnp.asarray([1.0, -2.0, 0.5])}
    sig = np.asarray([0.0, 0.3, 1.0])
    le = flatness.local_energy(lambda p, d: 0.5 * jnp.sum(p["a"] ** 2), w, None, sig, jax.random.key(9), draws=4000)
    want = (1 + sig**2) * 0.5 * 5.25
    assert np.all(np.abs(np.asarray(le.energy) - want) < 5 * np.asarray(le.stderr) + 1e-12)


def test_validation():
    k = jax.random.key(0)
    with pytest.raises(ValueError, match="sigmas"):
        flatness.local_energy(nets.loss, MODEL, DATA, [-0.1], k)
    with pytest.raises(ValueError, match="sigmas"):
        flatness.local_energy(nets.loss, MODEL, DATA, [[0.1]], k)
    with pytest.raises(ValueError, match="key"):
        flatness.local_energy(nets.loss, MODEL, DATA, [0.1], 0)
    with pytest.raises(ValueError, match="k="):
        flatness.hessian_eigenvalues(nets.loss, MODEL, DATA, N + 1, k)
    with pytest.raises(ValueError, match="iters"):
        flatness.hessian_eigenvalues(nets.loss, MODEL, DATA, 3, k, iters=2)
    with pytest.raises(ValueError, match="which"):
        flatness.hessian_eigenvalues(nets.loss, MODEL, DATA, 3, k, which="middle")
    with pytest.raises(ValueError, match="probes"):
        flatness.hessian_density(nets.loss, MODEL, DATA, k, probes=np.ones((2, N + 1)))
    with pytest.raises(ValueError, match="method"):
        flatness.critical_point_index(nets.loss, MODEL, DATA, method="exact")
    with pytest.raises(ValueError, match="key"):
        flatness.critical_point_index(nets.loss, MODEL, DATA, method="slq")
    with pytest.raises(ValueError, match="inexact"):
        flatness.hessian_eigenvalues(nets.loss, {"i": jnp.arange(3)}, DATA, 1, k)
