"""Entropy-driven Monte Carlo: the local (free) entropy it climbs, measured by BP with a field,
against exact enumeration (K-SAT trees) and exact identities; the walk solves small instances."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from physlearn.algorithms import edmc, energies, ksat, problems

from test_ksat_bp import enumerate_all, tree_instance


def test_ksat_local_entropy_is_exact_on_trees():
    p = tree_instance(np.random.default_rng(3), 5, 3)
    ref = np.where(np.random.default_rng(4).random(p.n) < 0.5, 1, -1)
    for g in (0.0, 0.4, 1.5):
        log_z, mag = enumerate_all(p, g * ref.astype(float))
        F, S, conv = edmc.local_entropy(jax.random.key(0), p, ref, g, objective="free_entropy", dtype=jnp.float64,
                                        epsilon=1e-13, damping=0.0)
        sigma, _, _ = edmc.local_entropy(jax.random.key(0), p, ref, g, dtype=jnp.float64, epsilon=1e-13, damping=0.0)
        assert bool(conv)
        np.testing.assert_allclose(float(F), log_z / p.n, atol=1e-10)
        np.testing.assert_allclose(float(S), float(np.mean(ref * mag)), atol=1e-10)
        np.testing.assert_allclose(float(sigma), log_z / p.n - g * float(np.mean(ref * mag)), atol=1e-10)


@pytest.mark.parametrize("model", ["ksat", "perceptron"])
def test_free_entropy_derivative_is_the_overlap(model, getkey):
    """dF/dgamma = S at a BP fixed point (exact for K-SAT; for the perceptron up to the O(1/N)
    inconsistency of the Gaussian first-layer factors)."""
    if model == "ksat":
        p = ksat.random_ksat(getkey(), 400, 2.5, 3)
        ref = np.where(np.asarray(jax.random.bernoulli(getkey(), 0.5, (400,))), 1, -1)
        tol = 1e-6
    else:
        p = problems.random_patterns(getkey(), 201, 0.3)
        ref = np.where(np.asarray(jax.random.bernoulli(getkey(), 0.5, (1, 201))), 1, -1)
        tol = 1e-2
    key = getkey()
    g, h = 0.8, 1e-4

    def F(gg):
        return edmc.local_entropy(key, p, ref, gg, objective="free_entropy", dtype=jnp.float64, epsilon=1e-12,
                                  max_steps=5000)

    fp, _, c1 = F(g + h)
    fm, _, c2 = F(g - h)
    _, S, c3 = F(g)
    assert bool(c1 & c2 & c3)
    assert abs((float(fp) - float(fm)) / (2 * h) - float(S)) < tol


def test_perceptron_local_entropy_limits(getkey):
    """gamma = 0: F is the Bethe entropy of the solutions, the same as fBP's at y = 1 minus the
    traced reference's log 2; large gamma with a solution as reference: Sigma -> 0+, S -> 1."""
    from physlearn.algorithms import fbp

    p = problems.teacher_student(getkey(), 201, 0.3)
    info = fbp.fixed_point(getkey(), p, y=1.0, gamma=0.0, epsilon=1e-10, max_steps=3000)
    ref = np.asarray(p.teacher)
    F0, _, _ = edmc.local_entropy(getkey(), p, ref, 0.0, objective="free_entropy", dtype=jnp.float64, epsilon=1e-10)
    np.testing.assert_allclose(float(F0), float(info.free_entropy) - np.log(2), atol=1e-6)
    sig, S, conv = edmc.local_entropy(getkey(), p, ref, 6.0, dtype=jnp.float64, epsilon=1e-10)
    assert bool(conv) and float(S) > 0.99 and -1e-3 < float(sig) < 0.05


@pytest.mark.slow  # ~60 s on 2 busy cores, a third of it compiling EdMC
def test_edmc_solves_small_perceptrons_and_ksat(getkey):
    p = problems.random_patterns(getkey(), 101, 0.3, samples=2)
    r = edmc.solve(getkey(), p, max_steps=20, stop="centre", progress=False)
    assert bool(np.all(r.solved)), r.errors
    e = np.asarray(jax.vmap(energies.num_errors)(r.weights, p))
    np.testing.assert_array_equal(e, np.asarray(r.errors))
    assert np.all(np.asarray(r.reference_errors) == 0)  # stop="centre": the reference itself
    assert np.all(np.asarray(r.steps) <= 20 * 101) and np.all(np.asarray(r.accepted) <= np.asarray(r.steps))
    q = ksat.random_ksat(getkey(), 200, 3.0, 3)
    rk = edmc.solve(getkey(), q, max_steps=20, progress=False)
    assert bool(rk.solved) and int(ksat.num_violated(rk.weights, q)) == 0


def test_edmc_validation(getkey):
    p = problems.random_patterns(getkey(), 51, 0.3)
    with pytest.raises(ValueError, match="objective"):
        edmc.solve(getkey(), p, objective="energy")
    with pytest.raises(ValueError, match="beta must be > 0"):
        edmc.solve(getkey(), p, beta=0.0)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        edmc.solve(getkey(), p, gamma=-1.0)
    with pytest.raises(ValueError, match="problem must be"):
        edmc.solve(getkey(), np.zeros(3))
    with pytest.raises(ValueError, match="reference must be"):
        edmc.local_entropy(getkey(), p, np.ones(51), 1.0)
    with pytest.raises(TypeError, match="key"):
        edmc.solve(3, p)
