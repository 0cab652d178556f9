r"""Small equinox networks with continuous weights for the flat-minima experiments.

* :func:`mlp` -- a fully connected network with a named activation (:data:`ACTIVATIONS`),
  including ESP ("expected signal propagation", Milletari, Chotibut, Trevisanutto,
  arXiv:1805.08786 (2018)), :math:`\mathrm{esp}_\beta(h) = h\,\sigma(\beta h)`: the expected
  output of a unit that passes its signal :math:`h` with the Fermi probability
  :math:`\sigma(\beta h)`. :math:`\beta\to\infty` gives ReLU; the same form was found by search as
  Swish (Ramachandran, Zoph, Le, arXiv:1710.05941) and :math:`\beta=1` is the SiLU (Elfwing,
  Uchibe, Doya, arXiv:1702.03118). The inverse temperatures :math:`\beta_l` (one per hidden
  layer) may be trained (``learn_beta=True``), as in the ESP paper.
* :func:`committee` -- a committee machine with continuous weights (fully connected or tree),
  the continuous counterpart of :mod:`physlearn.algorithms.problems`' architectures:
  :math:`f(x) = \frac{1}{\sqrt K}\sum_k g(h_k)`, :math:`h_k = W_k\cdot x_{(k)}/\sqrt n`.
* :func:`loss` / :func:`error` -- cross-entropy and 0/1 error on a batch ``(inputs, labels)``:
  softmax cross-entropy for integer class labels (vector outputs), the logistic loss
  :math:`\log(1+e^{-\sigma f(x)})` for +-1 labels (scalar outputs).

Models map one example to its output; batches are handled by ``jax.vmap`` inside
:func:`loss`/:func:`error`, so they plug into :func:`physlearn.deep.optim.fit` and
:mod:`physlearn.deep.flatness` as ``loss_fn(model, batch)``.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validation as V

__all__ = [
    "ACTIVATIONS", "esp", "activation", "Dense", "MLP", "mlp", "Committee", "committee", "outputs", "loss", "error",
]

ACTIVATIONS = ("relu", "tanh", "esp", "silu", "sigmoid", "gelu", "identity")
"""The activation names that :class:`MLP` and :func:`activation` accept."""


def esp(x, beta=1.0):
    r""":math:`\mathrm{esp}_\beta(x) = x\,\sigma(\beta x)` with :math:`\sigma` the logistic function
    (Milletari et al., arXiv:1805.08786); :math:`\beta\to\infty` is ReLU."""
    return x * jax.nn.sigmoid(beta * x)


def activation(name: str, beta: float = 1.0):
    """The activation function called ``name`` (one of :data:`ACTIVATIONS`); ``beta`` is ESP's
    inverse width (ignored by the others)."""
    V.choice("activation", name, ACTIVATIONS)
    return {
        "relu": jax.nn.relu,
        "tanh": jnp.tanh,
        "esp": lambda x: esp(x, beta),
        "silu": jax.nn.silu,
        "sigmoid": jax.nn.sigmoid,
        "gelu": jax.nn.gelu,
        "identity": lambda x: x,
    }[name]


def _check_act(name, beta):
    V.choice("activation", name, ACTIVATIONS)
    return V.real("beta", beta, positive=True)


class Dense(eqx.Module):
    """Affine layer ``W x + b`` (``W`` of shape ``(out, in)``); ``scalar=True`` returns a scalar
    (``out = 1``)."""

    weight: jax.Array
    bias: jax.Array
    scalar: bool = eqx.field(static=True)

    def __call__(self, x):
        y = self.weight @ x + self.bias
        return y[0] if self.scalar else y


class MLP(eqx.Module):
    """Fully connected network: ``Dense -> act -> ... -> Dense`` (no activation on the output).
    An input of any shape is flattened. ``log_beta`` (``None`` unless ``learn_beta``) holds the
    trained log inverse temperatures of ESP, one per hidden layer."""

    layers: tuple
    log_beta: jax.Array | None
    activation: str = eqx.field(static=True)
    beta: float = eqx.field(static=True)

    def __call__(self, x):
        x = jnp.ravel(x).astype(self.layers[0].weight.dtype)
        for i, layer in enumerate(self.layers[:-1]):
            if self.log_beta is None:
                x = activation(self.activation, self.beta)(layer(x))
            else:
                x = esp(layer(x), jnp.exp(self.log_beta[i]))
        return self.layers[-1](x)


def mlp(key, sizes, activation="relu", *, beta=1.0, learn_beta=False, dtype=None) -> MLP:
    """An :class:`MLP` with layer widths ``sizes = (n_in, hidden..., n_out)`` (``n_out = 1`` gives a
    scalar output, for +-1 labels). Weights and biases of a layer with fan-in ``a`` are i.i.d.
    uniform on :math:`[-1/\\sqrt a, 1/\\sqrt a]` (the PyTorch/equinox default), drawn with one
    random call. ``learn_beta=True`` (ESP only) makes the per-layer :math:`\\beta_l` trainable,
    starting at ``beta``."""
    V.key(key)
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must be at least two positive integers (n_in, ..., n_out), got {sizes!r}")
    sizes = tuple(V.integer(f"sizes[{i}]", s) for i, s in enumerate(sizes))
    beta = _check_act(activation, beta)
    if learn_beta and activation != "esp":
        raise ValueError(f"learn_beta=True needs activation='esp', got {activation!r}")
    dtype = dtype or jnp.result_type(float)
    total = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    u = jax.random.uniform(key, (total,), dtype, -1.0, 1.0)
    layers, start = [], 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        block = u[start:start + (a + 1) * b] / math.sqrt(a)
        start += (a + 1) * b
        scalar = i == len(sizes) - 2 and b == 1
        layers.append(Dense(block[: a * b].reshape(b, a), block[a * b:], scalar))
    log_beta = None
    if learn_beta:
        log_beta = jnp.full((len(sizes) - 2,), math.log(beta), dtype)
    return MLP(tuple(layers), log_beta, activation, beta)


class Committee(eqx.Module):
    r"""Committee machine with continuous weights ``(K, n)``: fully connected (inputs ``(n,)``) or
    tree (inputs ``(K, n)``); output :math:`\frac{1}{\sqrt K}\sum_k g(W_k\cdot x_{(k)}/\sqrt n)`."""

    weights: jax.Array
    tree: bool = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    beta: float = eqx.field(static=True)

    def __call__(self, x):
        w = self.weights
        x = jnp.asarray(x).astype(w.dtype)
        h = (jnp.sum(w * x, axis=-1) if self.tree else w @ x) / math.sqrt(w.shape[-1])
        return jnp.sum(activation(self.activation, self.beta)(h)) / math.sqrt(w.shape[0])


def committee(key, n, k, *, tree=True, activation="tanh", beta=1.0, dtype=None) -> Committee:
    """A :class:`Committee` with ``k`` hidden units of ``n`` inputs each, i.i.d. standard Gaussian
    weights."""
    V.key(key)
    n, k = V.integer("n", n), V.integer("k", k)
    beta = _check_act(activation, beta)
    w = jax.random.normal(key, (k, n), dtype or jnp.result_type(float))
    return Committee(w, bool(tree), activation, beta)


def outputs(model, inputs):
    """``jax.vmap(model)(inputs)``."""
    return jax.vmap(model)(inputs)


def _split(batch):
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ValueError("batch must be a pair (inputs, labels)")
    return batch


def loss(model, batch):
    r"""Mean training loss on ``batch = (inputs, labels)``: softmax cross-entropy
    :math:`-\log p_{y}` for vector outputs and integer labels; the logistic loss
    :math:`\log(1+e^{-\sigma f(x)})` for scalar outputs and +-1 labels."""
    x, y = _split(batch)
    out = outputs(model, x)
    if out.ndim == 1:
        return jnp.mean(jax.nn.softplus(-y.astype(out.dtype) * out))
    logp = jax.nn.log_softmax(out, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y.astype(jnp.int32)[:, None], axis=-1))


def error(model, batch):
    """Fraction of misclassified examples in ``batch = (inputs, labels)`` (argmax for vector
    outputs; ``sign(f)`` against +-1 labels for scalar outputs, ``f = 0`` counted as an error;
    non-finite outputs count as errors)."""
    x, y = _split(batch)
    out = outputs(model, x)
    if out.ndim == 1:
        return jnp.mean((~(y.astype(out.dtype) * out > 0)).astype(out.dtype))  # NaN counts as an error
    wrong = (jnp.argmax(out, axis=-1) != y.astype(jnp.int32)) | ~jnp.all(jnp.isfinite(out), axis=-1)
    return jnp.mean(wrong.astype(out.dtype))
