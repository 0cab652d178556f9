"""Stochastic binary perceptron (erfc likelihood): the loss against independent computations,
gradients, the Monte Carlo check of the large-N formula, and solving."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import special

from physlearn.algorithms import problems, sbp, schedules


def _problem(arch, k, n, alpha, seed=0, samples=None):
    return problems.random_patterns(jax.random.key(seed), n, alpha, k=k, architecture=arch, samples=samples)


def test_perceptron_likelihood_against_scipy():
    prob = _problem("perceptron", 1, 101, 0.5)
    m = np.tanh(np.random.default_rng(0).normal(0, 1.5, (1, 101)))
    got = sbp.pattern_log_likelihood(jnp.asarray(m), prob.inputs, prob.labels)
    x = np.asarray(prob.inputs, float)
    s = np.asarray(prob.labels, float)
    z = s * (x @ m[0]) / np.sqrt(np.sum(1 - m[0] ** 2))
    np.testing.assert_allclose(got, special.log_ndtr(z), rtol=1e-12)


@pytest.mark.parametrize("arch", ["committee", "tree"])
def test_committee_majority_against_enumeration(arch):
    prob = _problem(arch, 3, 51, 0.3)
    m = np.tanh(np.random.default_rng(1).normal(0, 1.0, (3, 51)))
    got = np.asarray(sbp.pattern_log_likelihood(jnp.asarray(m), prob.inputs, prob.labels, tree=prob.tree))
    x = np.asarray(prob.inputs, float)
    s = np.asarray(prob.labels, float)
    mu = np.einsum("mkn,kn->mk", x, m) if prob.tree else x @ m.T
    v = np.sum(1 - m**2, axis=1)
    p = special.ndtr(s[:, None] * mu / np.sqrt(v))  # P(unit k agrees with the label)
    ref = np.zeros(len(s))
    for agree in itertools.product([0, 1], repeat=3):  # brute force over the 2^K unit outcomes
        if sum(agree) >= 2:
            ref += np.prod([p[:, k] if a else 1 - p[:, k] for k, a in enumerate(agree)], axis=0)
    np.testing.assert_allclose(np.exp(got), ref, rtol=1e-10)


def test_gradient_matches_finite_differences_and_stays_finite():
    prob = _problem("committee", 3, 31, 0.4, seed=3)
    h = jax.random.normal(jax.random.key(4), (3, 31))
    f = lambda hh: sbp.loss(hh, prob.inputs, prob.labels, beta=0.7, temperature=0.3)  # noqa: E731
    g = jax.grad(f)(h)
    e = jnp.zeros_like(h).at[1, 5].set(1.0)
    fd = (f(h + 1e-6 * e) - f(h - 1e-6 * e)) / 2e-6
    assert abs(float(g[1, 5] - fd)) < 1e-6 * max(1.0, abs(float(fd)))
    # |m| -> 1 (huge fields) and large stabilities: finite loss and gradient
    for scale in [30.0, 1e3]:
        hh = scale * jnp.sign(jax.random.normal(jax.random.key(5), (3, 31)))
        val, grad = jax.value_and_grad(f)(hh)
        assert np.isfinite(float(val)) and np.all(np.isfinite(np.asarray(grad)))
    pp = _problem("perceptron", 1, 31, 0.4, seed=3)
    hh = 50.0 * jnp.asarray(np.asarray(pp.inputs[0], float) * float(pp.labels[0]))[None, :]
    val, grad = jax.value_and_grad(lambda x: sbp.loss(x, pp.inputs, pp.labels))(hh)
    assert np.isfinite(float(val)) and np.all(np.isfinite(np.asarray(grad)))


@pytest.mark.parametrize("arch,k", [("perceptron", 1), ("committee", 3)])
def test_large_n_formula_agrees_with_monte_carlo(arch, k):
    """At N ~ 100 the Gaussian (CLT) likelihood matches sampling W within the error bars."""
    prob = _problem(arch, k, 101, 0.5, seed=7)
    m = jnp.tanh(0.8 * jax.random.normal(jax.random.key(8), (k, 101)))
    p_clt = np.exp(np.asarray(sbp.pattern_log_likelihood(m, prob.inputs, prob.labels, tree=prob.tree)))
    p_mc, se = map(np.asarray, sbp.mc_pattern_probabilities(jax.random.key(9), m, prob, samples=4000))
    zscores = (p_mc - p_clt) / se
    assert np.mean(zscores**2) < 1.6  # chi^2 per pattern ~ 1 if the formula is right
    assert np.mean(np.abs(zscores) < 3) > 0.97
    # and the total log-likelihood agrees to the MC precision
    ll_mc = np.sum(np.log(np.clip(p_mc, 1e-12, None)))
    ll_se = math.sqrt(np.sum((se / np.clip(p_mc, 1e-12, None)) ** 2))
    assert abs(ll_mc - np.sum(np.log(p_clt))) < 4 * ll_se + 0.02 * abs(ll_mc)


def test_solves_inside_capacity_with_defaults():
    prob = _problem("perceptron", 1, 401, 0.5, seed=11, samples=6)
    res = sbp.solve(jax.random.key(12), prob, max_steps=600)
    assert res.solved.all() and (res.errors == 0).all()
    # the returned weights really are solutions
    x = np.asarray(prob.inputs, float)
    w = np.asarray(res.weights, float)[:, 0, :]
    out = np.sign(np.einsum("smn,sn->sm", x, w))
    assert np.all(out == np.asarray(prob.labels))


def test_committee_and_any_optax_optimizer():
    prob = _problem("tree", 3, 101, 0.3, seed=13, samples=3)
    res = sbp.solve(jax.random.key(14), prob, optimizer=optax.sgd(0.5, momentum=0.9), max_steps=800)
    assert res.solved.all()
    assert res.weights.shape == (3, 3, 101)


def test_hyper_batch_polarisation_schedule():
    prob = _problem("perceptron", 1, 201, 0.4, seed=15, samples=2)
    res = sbp.solve(jax.random.key(16), prob, beta=schedules.exponential([1.0, 1.0], [1.0, 1.01]), max_steps=400,
                    trace=True)
    assert res.solved.shape == (2, 2)
    b = np.asarray(res.trace.beta)  # (P, S, steps)
    assert b[0, 0, 5] == pytest.approx(1.0) and b[1, 0, 5] == pytest.approx(1.01**5, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch=0), "batch"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(learning_rate=0.1, optimizer=optax.adam(0.1)), "learning_rate"),
        (dict(beta=0.0), "beta"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(optimizer="adam"), "optimizer"),
        (dict(beta=schedules.exponential([1.0, 2.0], [1.0, 1.0, 1.0])), "equal lengths"),
    ],
)
def test_bad_arguments(kwargs, match):
    prob = _problem("perceptron", 1, 21, 0.3)
    with pytest.raises(ValueError, match=match):
        sbp.solve(jax.random.key(0), prob, **kwargs)
    with pytest.raises(ValueError, match="problem"):
        sbp.solve(jax.random.key(0), np.ones((3, 21)))
