"""Focusing BP: message kernels against enumeration, the Bethe free entropy against exact identities
and the replica theory, the reference cases of BinaryCommitteeMachineFBP.jl, and input validation."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

from physlearn.algorithms import fbp, problems, schedules
from physlearn.theory import franz_parisi, gardner


# ------------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------------
def test_output_node_matches_enumeration():
    rng = np.random.default_rng(0)
    for K in (1, 3, 5):
        up = rng.normal(size=(5, K)) * 2
        sig = rng.choice([-1.0, 1.0], 5)
        f, log_win = fbp._output_update(jnp.asarray(up), jnp.asarray(sig))
        p = 1 / (1 + np.exp(-2 * up))
        ref = np.zeros_like(up)
        win = np.zeros(5)
        for m in range(5):
            num = np.zeros((2, K))
            for taus in itertools.product([-1, 1], repeat=K):
                pr = np.prod([p[m, j] if t > 0 else 1 - p[m, j] for j, t in enumerate(taus)])
                if np.sign(sum(taus)) != sig[m]:
                    continue
                win[m] += pr
                for k in range(K):
                    num[(taus[k] + 1) // 2, k] += pr / (p[m, k] if taus[k] > 0 else 1 - p[m, k])
            with np.errstate(divide="ignore"):
                ref[m] = np.clip(0.5 * np.log(num[1] / num[0]), -fbp.FIELD_MAX, fbp.FIELD_MAX)
        np.testing.assert_allclose(np.asarray(f), ref, atol=1e-12)
        np.testing.assert_allclose(np.asarray(log_win), np.log(win), atol=1e-12)


def test_first_layer_update_is_the_clt_message():
    rng = np.random.default_rng(1)
    N = 15
    h = rng.normal(size=(4, N)) * 2
    xi = rng.choice([-1.0, 1.0], (4, N))
    a_h = np.array([0.3, -2.0, 30.0, -30.0])
    u, up, _ = fbp._theta_update(jnp.asarray(h), jnp.asarray(xi), jnp.asarray(a_h))
    m = np.tanh(h)
    mu, s2 = (xi * m).sum(1), (1 - m**2).sum(1)
    mub, s2b = mu[:, None] - xi * m, s2[:, None] - (1 - m**2)
    Ep = erf((mub + xi) / np.sqrt(2 * s2b))
    Em = erf((mub - xi) / np.sqrt(2 * s2b))
    H = np.tanh(a_h)[:, None]
    np.testing.assert_allclose(np.asarray(u), 0.5 * np.log((1 + H * Ep) / (1 + H * Em)), atol=1e-12)
    np.testing.assert_allclose(np.tanh(np.asarray(up)), erf(mu / np.sqrt(2 * s2)), atol=1e-12)


def test_focusing_message_limits():
    h = jnp.linspace(-3.0, 3.0, 13)
    g, r = 0.7, 4.0
    expect = np.tanh(g) * np.tanh(r * np.arctanh(np.tanh(g) * np.tanh(np.asarray(h))))
    np.testing.assert_allclose(np.tanh(np.asarray(fbp._focusing(h, g, r))), expect, atol=1e-12)
    # gamma = inf: standard reinforcement u = (y-1) h; r = 0 or gamma = 0: no message
    np.testing.assert_allclose(np.asarray(fbp._focusing(h, jnp.inf, 2.0)), 2.0 * np.asarray(h), atol=1e-12)
    assert np.all(np.asarray(fbp._focusing(h, 0.0, r)) == 0)
    assert np.all(np.asarray(fbp._focusing(h, g, 0.0)) == 0)


def test_protocol_formulas():
    p = schedules.pseudo_reinforcement(0.25)
    rho = np.array([0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(p.gamma.values, np.arctanh(np.sqrt(rho)))
    np.testing.assert_allclose(p.y.values, (2 - rho) / (1 - rho))
    assert p.steps == 4
    s = schedules.standard_reinforcement(0.01)
    y = schedules.evaluate(s.y, np.arange(100))
    assert s.steps == 100 and np.isinf(s.gamma.value) and y[0] == 1 and np.isclose(y[-1], 100, rtol=1e-6)
    np.testing.assert_allclose(schedules.pseudo_reinforcement(0.25, x=0.0).y.values, 1 / (1 - rho))  # x=0: standard
    assert schedules.scoping(np.arange(0, 10, 0.1), 21).steps == 100
    # the table repeats its last value after the end
    np.testing.assert_allclose(schedules.evaluate(p.y, [3, 4, 10]), [(2 - 0.75) / 0.25] * 3, rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# Bethe free entropy vs exact identities and the replica theory (float64)
# ------------------------------------------------------------------------------------------------
def test_bethe_entropy_at_zero_coupling_matches_gardner_rs():
    """gamma = 0: BP's entropy of solutions of a random perceptron at N = 1001 is the RS Gardner
    entropy (the internal part; the free reference adds log 2 / y), up to finite-size corrections."""
    prob = problems.random_patterns(jax.random.key(7), 1001, 0.3)
    info = fbp.fixed_point(jax.random.key(0), prob, y=1.0, gamma=0.0)
    assert bool(info.converged)
    rs = gardner.binary_rs(0.3)
    assert abs(float(info.local_entropy) - float(rs.entropy)) < 0.01
    assert abs(float(info.free_entropy) - (float(rs.entropy) + np.log(2))) < 0.01
    assert abs(float(info.external_entropy) - np.log(2)) < 1e-12
    assert abs(float(info.q) - float(rs.q)) < 0.01
    assert float(info.overlap) == 0.0


def test_free_entropy_derivative_is_the_overlap():
    """Along fixed points d phi / d gamma = S (the coupling's conjugate), and with almost no
    patterns Sigma_int = H2(d) and Sigma_ext = log 2. The first-layer factors use the Gaussian (CLT) form,
    whose messages are stationary points of the Bethe functional only up to O(1/N): measured
    |dphi/dgamma - S| = 1.1e-4 at N = 301 and 3e-5 at N = 1001."""
    prob = problems.random_patterns(jax.random.key(8), 301, 0.3)
    g0, dg = 0.5, 1e-4
    info = fbp.fixed_point(jax.random.key(0), prob, y=np.full(3, 3.0), gamma=np.array([g0 - dg, g0, g0 + dg]), epsilon=1e-9)
    assert np.all(np.asarray(info.converged))
    phi = np.asarray(info.free_entropy)
    S = np.asarray(info.overlap)
    assert abs((phi[2] - phi[0]) / (2 * dg) - S[1]) < 0.05 / 301
    np.testing.assert_allclose(np.asarray(info.local_entropy), np.asarray(info.internal_free_entropy) - np.asarray(info.gamma) * S, atol=1e-12)
    np.testing.assert_allclose(phi, np.asarray(info.internal_free_entropy) + np.asarray(info.external_entropy) / 3, atol=1e-12)
    one = problems.random_patterns(jax.random.key(9), 301, 1 / 301)  # a single pattern
    info = fbp.fixed_point(jax.random.key(0), one, y=np.full(3, 3.0), gamma=np.array([0.3, 1.0, 2.0]))
    bound = np.asarray(franz_parisi.h2(np.asarray(info.distance)))
    assert np.all(np.asarray(info.local_entropy) <= bound + 1e-9)
    np.testing.assert_allclose(np.asarray(info.local_entropy), bound, atol=5e-3)
    np.testing.assert_allclose(np.asarray(info.external_entropy), np.log(2), atol=5e-3)


def test_parallel_and_sequential_reach_the_same_fixed_point():
    prob = problems.random_patterns(jax.random.key(3), 21, 0.1, k=3, architecture="committee")
    kw = dict(y=4.0, gamma=0.6, epsilon=1e-10, max_steps=5000)
    par = fbp.fixed_point(jax.random.key(0), prob, mode="parallel", **kw)
    seq = fbp.fixed_point(jax.random.key(1), prob, mode="sequential", **kw)
    assert np.all(np.asarray(par.converged)) and np.all(np.asarray(seq.converged))
    for name in ("overlap", "q", "q_ref", "free_entropy", "local_entropy"):
        np.testing.assert_allclose(np.asarray(getattr(par, name)), np.asarray(getattr(seq, name)), atol=1e-7, err_msg=name)


# ------------------------------------------------------------------------------------------------
# reference cases (BinaryCommitteeMachineFBP.jl tests): N=21, K=5, alpha=0.1 -> 0 errors
# ------------------------------------------------------------------------------------------------
def _r1_protocols():
    rho = np.arange(100) / 100
    return schedules.stack([
        schedules.standard_reinforcement(0.01),
        schedules.pseudo_reinforcement(0.01),
        schedules.scoping(np.arange(100) / 10, 21),
        schedules.free_scoping(np.stack([np.arctanh(np.sqrt(rho)), (2 - rho) / (1 - rho)], axis=1)),
    ])


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_reference_case_r1_every_protocol_solves(getkey, mode):
    prob = problems.random_patterns(getkey(), 21, 0.1, k=5, architecture="committee", samples=3)
    assert prob.m == 10  # round(10.5) = 10, as Julia
    gamma, y = _r1_protocols()
    res = fbp.solve(getkey(), prob, gamma=gamma, y=y, mode=mode, sweeps_per_step=1)  # as the reference test
    assert res.errors.shape == (4, 3)
    assert np.all(np.asarray(res.solved)), np.asarray(res.errors)
    # the reported network really classifies every pattern
    from physlearn.algorithms.energies import num_errors

    W = np.asarray(res.weights)
    for p in range(4):
        for s in range(3):
            one = problems.Problem(prob.inputs[s], prob.labels[s], architecture="committee", k=5)
            assert int(num_errors(W[p, s], one)) == 0


def test_batched_samples_equal_single_runs(getkey):
    key = getkey()
    prob = problems.random_patterns(getkey(), 21, 0.3, k=3, architecture="tree", samples=2)
    gamma, y = schedules.pseudo_reinforcement(0.05)
    res = fbp.solve(key, prob, gamma=gamma, y=y, sweeps_per_step=3)
    one = problems.Problem(prob.inputs[1], prob.labels[1], architecture="tree", k=3)
    res1 = fbp.solve(jax.random.fold_in(key, 1), one, gamma=gamma, y=y, sweeps_per_step=3)
    assert int(res.steps[1]) == int(res1.steps) and int(res.focusing_steps[1]) == int(res1.focusing_steps)
    np.testing.assert_array_equal(np.asarray(res.weights[1]), np.asarray(res1.weights))
    np.testing.assert_allclose(float(res.info.overlap[1]), float(res1.info.overlap), rtol=1e-6)


# slow: 24 s of fBP sweeps at N = 1001 with the tests' XLA level 0 (conftest.py). The default run
# keeps fBP's reference case R1 (every protocol, both update orders) and notebook 3, which asserts
# that fBP with its defaults solves at least 3/4 of the perceptrons at alpha = 0.6 (N = 201).
@pytest.mark.slow
def test_perceptron_alpha_06_is_solved_by_default(getkey):
    prob = problems.random_patterns(getkey(), 1001, 0.6, samples=2)
    res = fbp.solve(getkey(), prob)
    assert np.all(np.asarray(res.solved)), np.asarray(res.errors)
    assert np.all(np.asarray(res.steps) < 100)


@pytest.mark.slow
def test_reference_cases_r4_and_perceptron_07(getkey):
    """R4: N=321, K=5, alpha=0.3 (a run which solves); perceptron N=1001 at alpha=0.7 solved in
    most seeds (issue #6)."""
    prob = problems.random_patterns(getkey(), 321, 0.3, k=5, architecture="committee", samples=4)
    gamma, y = schedules.standard_reinforcement(0.01)
    res = fbp.solve(getkey(), prob, sweeps_per_step=1, gamma=gamma, y=y)  # R4's settings
    assert np.sum(np.asarray(res.solved)) >= 1
    res = fbp.solve(getkey(), prob)  # defaults: 100 sweeps per step for committees
    assert np.all(np.asarray(res.solved))
    prob = problems.random_patterns(getkey(), 1001, 0.7, samples=4)
    res = fbp.solve(getkey(), prob)
    assert np.sum(np.asarray(res.solved)) >= 3


# ------------------------------------------------------------------------------------------------
# input validation (before compilation)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(damping=1.0), "damping"),
        (dict(damping=-0.1), "damping"),
        (dict(epsilon=0.0), "epsilon"),
        (dict(sweeps_per_step=0), "sweeps_per_step"),
        (dict(max_steps=0), "max_steps"),
        (dict(mode="async"), "mode"),
        (dict(gamma="pseudo", y=2.0), "gamma"),
        (dict(gamma=1.0), "gamma and y"),
        (dict(gamma=1.0, y=2.0), "max_steps"),
        (dict(gamma=schedules.table([1.0, -1.0]), y=2.0), "gamma"),
        (dict(gamma=schedules.table([1.0, 2.0]), y=schedules.table([1.0, 0.5])), "y"),
        (dict(randfact=float("nan")), "randfact"),
        (dict(dtype=jnp.int32), "dtype"),
    ],
)
def test_solve_rejects_bad_input(kwargs, match):
    prob = problems.random_patterns(jax.random.key(0), 21, 0.1)
    with pytest.raises(ValueError, match=match):
        fbp.solve(jax.random.key(1), prob, **kwargs)


def test_protocol_and_fixed_point_validation():
    with pytest.raises(ValueError, match="values"):
        schedules.table([1.0, np.nan])
    with pytest.raises(ValueError, match="lengths"):
        schedules.stack([schedules.scoping([1.0], 3), schedules.scoping([1.0, 2.0], 3)])
    with pytest.raises(ValueError, match="lengths"):
        fbp.solve(jax.random.key(0), problems.random_patterns(jax.random.key(0), 21, 0.1),
                  gamma=schedules.table([[1.0, 2.0], [1.0, 2.0]]), y=schedules.table(np.ones((3, 2))))
    prob = problems.random_patterns(jax.random.key(0), 21, 0.1)
    with pytest.raises(ValueError, match="y"):
        fbp.fixed_point(jax.random.key(0), prob, y=0.5, gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        fbp.fixed_point(jax.random.key(0), prob, y=2.0, gamma=-1.0)
    with pytest.raises(ValueError, match="problem"):
        fbp.solve(jax.random.key(0), np.ones((3, 21)))
