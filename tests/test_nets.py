"""Small networks: ESP against its limits, the committee and MLP forward passes against NumPy, the
losses against their definitions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.deep import nets


def test_esp_limits():
    x = jnp.linspace(-5.0, 5.0, 101)
    np.testing.assert_allclose(nets.esp(x, 1.0), jax.nn.silu(x), rtol=1e-12)
    np.testing.assert_allclose(nets.esp(x, 1e4), jax.nn.relu(x), atol=1e-12)  # beta -> inf: ReLU
    np.testing.assert_allclose(nets.esp(x, 1e-9), x / 2, rtol=1e-6)  # beta -> 0: x/2


def test_mlp_and_committee_forward_against_numpy():
    m = nets.mlp(jax.random.key(0), (4, 3, 2), "esp", beta=2.0, dtype=jnp.float64)
    x = np.random.default_rng(0).normal(size=4)
    (w1, b1), (w2, b2) = ((np.asarray(la.weight), np.asarray(la.bias)) for la in m.layers)
    h = w1 @ x + b1
    np.testing.assert_allclose(m(x), w2 @ (h / (1 + np.exp(-2.0 * h))) + b2, rtol=1e-12)
    assert np.all(np.abs(w1) <= 1 / 2) and np.all(np.abs(w2) <= 1 / np.sqrt(3))  # U(-1/sqrt(fan_in), ...)
    # trainable ESP temperatures start at beta and change the output
    mb = nets.mlp(jax.random.key(0), (4, 3, 2), "esp", beta=2.0, learn_beta=True, dtype=jnp.float64)
    np.testing.assert_allclose(mb(x), m(x), rtol=1e-12)
    assert mb.log_beta.shape == (1,)
    c = nets.committee(jax.random.key(1), 5, 3, tree=True, activation="tanh", dtype=jnp.float64)
    xt = np.sign(np.random.default_rng(1).normal(size=(3, 5)))
    want = np.sum(np.tanh(np.sum(np.asarray(c.weights) * xt, axis=1) / np.sqrt(5))) / np.sqrt(3)
    np.testing.assert_allclose(c(xt), want, rtol=1e-12)


def test_losses_and_errors():
    m = nets.mlp(jax.random.key(2), (3, 4), "relu", dtype=jnp.float64)
    x = jnp.asarray(np.random.default_rng(2).normal(size=(6, 3)))
    y = jnp.asarray([0, 1, 2, 3, 0, 1])
    out = np.asarray(jax.vmap(m)(x))
    logp = out - np.log(np.exp(out).sum(1, keepdims=True))
    np.testing.assert_allclose(nets.loss(m, (x, y)), -logp[np.arange(6), np.asarray(y)].mean(), rtol=1e-12)
    assert float(nets.error(m, (x, y))) == np.mean(out.argmax(1) != np.asarray(y))
    s = nets.mlp(jax.random.key(3), (3, 1), "relu", dtype=jnp.float64)  # scalar output, +-1 labels
    ys = jnp.asarray([1, -1, 1, 1, -1, -1])
    f = np.asarray(jax.vmap(s)(x))
    np.testing.assert_allclose(nets.loss(s, (x, ys)), np.mean(np.log1p(np.exp(-np.asarray(ys) * f))), rtol=1e-12)
    assert float(nets.error(s, (x, ys))) == np.mean(np.asarray(ys) * f <= 0)
    nan_model = jax.tree_util.tree_map(lambda v: v * jnp.nan, s)
    assert float(nets.error(nan_model, (x, ys))) == 1.0  # non-finite outputs are errors


def test_validation():
    with pytest.raises(ValueError, match="activation"):
        nets.mlp(jax.random.key(0), (2, 2), "swish")
    with pytest.raises(ValueError, match="sizes"):
        nets.mlp(jax.random.key(0), (2,), "relu")
    with pytest.raises(ValueError, match="learn_beta"):
        nets.mlp(jax.random.key(0), (2, 2, 2), "relu", learn_beta=True)
    with pytest.raises(ValueError, match="beta"):
        nets.committee(jax.random.key(0), 3, 3, activation="esp", beta=-1.0)
    with pytest.raises(ValueError, match="batch"):
        nets.loss(nets.mlp(jax.random.key(0), (2, 2)), jnp.ones((3, 2)))
