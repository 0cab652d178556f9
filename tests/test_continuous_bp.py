"""BP for continuous weights (physlearn.algorithms.continuous_bp): the Bethe volume against the RS
Gardner volume and against direct Monte Carlo on the ring around a planted solution, the
alpha -> 0 cap, continuous fBP as a solver, and input validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.algorithms import continuous_bp as cbp
from physlearn.algorithms import problems
from physlearn.theory import gardner


def test_free_volume_matches_the_gardner_volume():
    prob = problems.random_patterns(jax.random.key(0), 301, 0.5, samples=4)
    r = cbp.free_volume(jax.random.key(1), prob)
    assert r.converged.all()
    theory = float(gardner.spherical_rs(prob.alpha).entropy)
    assert abs(float(np.mean(r.entropy)) - theory) < 0.01


def test_enumerator_without_constraints_is_the_cap():
    """One pattern that every weight vector near the reference satisfies (the reference's own
    field is huge): the volume is the spherical cap, normalized = 0."""
    n = 101
    ref = np.ones((1, n))
    x = np.ones((1, n), np.int8)
    prob = problems.Problem(x, np.ones(1, np.int8))
    r = cbp.local_volume(jax.random.key(0), prob, ref, np.array([0.02, 0.1]))
    assert r.converged.all()
    np.testing.assert_allclose(r.normalized, 0.0, atol=1e-6)
    np.testing.assert_allclose(r.overlap, [0.96, 0.8], atol=1e-8)


@pytest.mark.parametrize("n, k, alpha, d", [(29, 1, 0.5, 0.05), (11, 3, 0.3, 0.1)])
def test_planted_volume_agrees_with_monte_carlo(n, k, alpha, d):
    """Small instances (N <= 30 per hidden unit): the Bethe volume around the planted teacher
    against the fraction of the ring that is solutions, by direct sampling. BP is exact only as
    n -> inf; at these sizes it overestimates by a few 1e-3 per weight (a finite-n bias, see
    docs/experiments/wide_flat_minima.md), so the check is the instance average against the Monte
    Carlo average within its error bar plus that bias."""
    arch = "perceptron" if k == 1 else "tree"
    prob, teacher = cbp.planted(jax.random.key(7), n, alpha, k, arch, samples=6)
    bp = cbp.local_volume(jax.random.key(1), prob, teacher, d)
    mc = cbp.monte_carlo_volume(jax.random.key(2), prob, teacher, d, draws=40_000)
    assert bp.converged.all()
    diff = np.asarray(bp.normalized) - np.asarray(mc.normalized)
    err = np.sqrt(np.mean(np.asarray(mc.stderr) ** 2) / diff.size + np.var(diff, ddof=1) / diff.size)
    assert np.all(np.abs(diff) < 0.01)
    assert abs(diff.mean()) < 3 * err + 0.005
    # ranking of the instances is the same
    assert np.corrcoef(bp.normalized, mc.normalized)[0, 1] > 0.9


def test_continuous_fbp_solves_a_tree_committee():
    prob = problems.random_patterns(jax.random.key(3), 15, 0.6, 3, "tree", samples=3)
    res = cbp.solve(jax.random.key(4), prob, max_steps=400)
    assert res.solved.all()
    assert np.all(res.errors == 0)
    W = np.asarray(res.weights)
    np.testing.assert_allclose(np.sum(W * W, axis=-1), 15.0, rtol=1e-5)
    # the returned network classifies every pattern
    from physlearn.algorithms._network import outputs_from_preacts, preactivations

    for i in range(3):
        pi = prob.sample(i)
        h = preactivations(jnp.asarray(W[i]), pi.inputs, True)
        assert np.all(np.asarray(outputs_from_preacts(h)) == np.asarray(pi.labels))


def test_schedules_accept_callables():
    prob = problems.random_patterns(jax.random.key(5), 21, 0.3)
    res = cbp.solve(jax.random.key(6), prob, max_steps=50, stop="never", y=lambda t: 2.0 + t, gamma=0.1,
                    trace=True)
    np.testing.assert_allclose(res.trace.y[:5], [2, 3, 4, 5, 6])
    np.testing.assert_allclose(res.trace.gamma, 0.1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda p, w: cbp.local_volume(0, p, w, 0.1), TypeError, "key"),
        (lambda p, w: cbp.local_volume(jax.random.key(0), p, w[:, :-2], 0.1), ValueError, "weights must have shape"),
        (lambda p, w: cbp.local_volume(jax.random.key(0), p, w * np.nan, 0.1), ValueError, "finite"),
        (lambda p, w: cbp.local_volume(jax.random.key(0), p, w, 0.6), ValueError, "d must"),
        (lambda p, w: cbp.local_volume(jax.random.key(0), p, w, 0.1, damping=1.0), ValueError, "damping"),
        (lambda p, w: cbp.solve(jax.random.key(0), p, y=0.5), ValueError, "y must"),
        (lambda p, w: cbp.solve(jax.random.key(0), p, stop="first"), ValueError, "stop"),
        (lambda p, w: cbp.solve(jax.random.key(0), "data"), ValueError, "problem"),
    ],
)
def test_bad_input(call, exc, match):
    prob, w = cbp.planted(jax.random.key(0), 11, 0.5, architecture="perceptron")
    with pytest.raises(exc, match=match):
        call(prob, np.asarray(w))
