r"""Training problems for binary (+-1 weight) perceptrons and committee machines.

A :class:`Problem` is an ``equinox.Module`` pytree holding ``inputs`` (+-1, ``int8``) and
``labels`` (+-1, ``int8``), optionally the ``teacher`` weights that generated the labels, and two
static fields: the ``architecture`` and the number of hidden units ``k``.

Architectures and the meaning of ``n`` (Baldassi et al., "Unreasonable effectiveness of learning
neural networks: from accessible states and robust ensembles to basic algorithmic schemes",
PNAS 113, E7655 (2016), appendix A):

* ``"perceptron"``: K = 1, ``n`` inputs, weights ``(1, n)``, inputs ``(M, n)``;
* ``"committee"`` (fully connected committee machine): K hidden units that all see the same ``n``
  inputs; weights ``(K, n)``, inputs ``(M, n)``;
* ``"tree"`` (tree-like committee machine): K hidden units, unit k sees its *own* ``n`` inputs, so
  the total input dimension is ``n*K``; weights ``(K, n)``, inputs ``(M, K, n)``.

In every case ``n`` is the number of inputs *per hidden unit*, the network has ``n*K`` synapses and
``alpha = M / (n*K)`` is the number of patterns per synapse; generators use
``M = round(alpha * n * K)`` (Python rounds half to even, as Julia does). ``n`` and ``K`` must be
odd so that no pre-activation or vote is ever tied.

A *batch* of problems (disorder samples) is the same Module with one extra leading axis on every
array (``samples=S``); :attr:`Problem.n_samples` tells which.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validation as V
from ._network import outputs_from_preacts, preactivations

__all__ = ["Problem", "from_arrays", "random_patterns", "teacher_student"]


def _as_int8(x):
    if isinstance(x, jax.Array) or isinstance(x, jax.core.Tracer):
        return x.astype(jnp.int8)
    return jnp.asarray(np.asarray(x), dtype=jnp.int8)


class Problem(eqx.Module):
    r"""A (batch of) binary classification problem(s) for a binary network.

    **Arguments:**

    - ``inputs``: +-1 array, ``(..., M, n)`` for ``"perceptron"``/``"committee"``, ``(..., M, K, n)``
      for ``"tree"``. Leading axes are disorder samples.
    - ``labels``: +-1 array ``(..., M)``.
    - ``architecture``: ``"perceptron"``, ``"committee"`` or ``"tree"``.
    - ``k``: number of hidden units (odd). Defaults to 1 for the perceptron and to
      ``inputs.shape[-2]`` for the tree; required for the fully connected committee.
    - ``teacher``: optional +-1 teacher weights ``(..., K, n)``.

    Raises ``ValueError`` naming the offending argument on bad shapes, non +-1 entries, even
    ``n`` or ``k`` and unknown architectures. Values are checked when the arrays are concrete;
    shapes are always checked.
    """

    inputs: jax.Array
    labels: jax.Array
    teacher: jax.Array | None
    architecture: str = eqx.field(static=True)
    k: int = eqx.field(static=True)

    def __init__(self, inputs, labels, *, architecture="perceptron", k=None, teacher=None):
        V.architecture(architecture)
        inputs = inputs if isinstance(inputs, (jax.Array, jax.core.Tracer)) else np.asarray(inputs)
        labels = labels if isinstance(labels, (jax.Array, jax.core.Tracer)) else np.asarray(labels)
        base = 3 if architecture == "tree" else 2
        if inputs.ndim < base:
            raise ValueError(
                f"inputs must have at least {base} dimensions for architecture={architecture!r} "
                f"({'(M, K, n)' if base == 3 else '(M, n)'}), got shape {inputs.shape}"
            )
        if architecture == "tree":
            if k is None:
                k = inputs.shape[-2]
            k = V.hidden_units(k, architecture)
            if inputs.shape[-2] != k:
                raise ValueError(
                    f"inputs shape {inputs.shape} does not match k={k} for the tree committee "
                    "(expected (..., M, k, n))"
                )
        elif architecture == "perceptron":
            k = V.hidden_units(1 if k is None else k, architecture)
        else:
            if k is None:
                raise ValueError("k (number of hidden units) is required for architecture='committee'")
            k = V.hidden_units(k, architecture)
        n = inputs.shape[-1]
        V.integer("n", n, odd=True, what="inputs per hidden unit, inputs.shape[-1]")
        batch = inputs.shape[: inputs.ndim - base]
        m = inputs.shape[inputs.ndim - base]
        if m < 1:
            raise ValueError(f"inputs must hold at least one pattern, got shape {inputs.shape}")
        if tuple(labels.shape) != tuple(batch) + (m,):
            raise ValueError(
                f"labels must have shape {tuple(batch) + (m,)} to match inputs {inputs.shape}, "
                f"got {labels.shape}"
            )
        V.pm1("inputs", inputs)
        V.pm1("labels", labels)
        if teacher is not None:
            teacher = teacher if isinstance(teacher, (jax.Array, jax.core.Tracer)) else np.asarray(teacher)
            if tuple(teacher.shape) != tuple(batch) + (k, n):
                raise ValueError(
                    f"teacher must have shape {tuple(batch) + (k, n)}, got {teacher.shape}"
                )
            V.pm1("teacher", teacher)
            teacher = _as_int8(teacher)
        self.inputs = _as_int8(inputs)
        self.labels = _as_int8(labels)
        self.teacher = teacher
        self.architecture = architecture
        self.k = k

    # ---- static shape information -------------------------------------------------------------
    @property
    def tree(self) -> bool:
        return self.architecture == "tree"

    @property
    def _base_ndim(self) -> int:
        return 3 if self.tree else 2

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Leading (disorder-sample) axes; ``()`` for a single instance."""
        return tuple(self.inputs.shape[: self.inputs.ndim - self._base_ndim])

    @property
    def n_samples(self) -> int | None:
        """Number of samples of a batch with one leading axis, ``None`` for one instance."""
        bs = self.batch_shape
        if not bs:
            return None
        return int(math.prod(bs))

    @property
    def n(self) -> int:
        """Inputs per hidden unit (the total input dimension is ``n*k`` for the tree)."""
        return int(self.inputs.shape[-1])

    @property
    def m(self) -> int:
        """Number of patterns M."""
        return int(self.labels.shape[-1])

    @property
    def n_synapses(self) -> int:
        return self.n * self.k

    @property
    def alpha(self) -> float:
        """Patterns per synapse, ``M / (n*k)``."""
        return self.m / self.n_synapses

    def sample(self, i: int) -> "Problem":
        """Instance ``i`` of a batch with one leading axis."""
        if len(self.batch_shape) != 1:
            raise ValueError(f"sample(i) needs a batch with one leading axis, batch_shape={self.batch_shape}")
        return jax.tree_util.tree_map(lambda x: x[i], self)


def from_arrays(inputs, labels, *, architecture="perceptron", k=None, teacher=None) -> Problem:
    """Build a validated :class:`Problem` from user arrays (same as ``Problem(...)``)."""
    return Problem(inputs, labels, architecture=architecture, k=k, teacher=teacher)


# ------------------------------------------------------------------------------------------------
# Generators
# ------------------------------------------------------------------------------------------------
def _check_common(key, n, alpha, k, architecture, samples):
    V.key(key)
    V.architecture(architecture)
    n = V.integer("n", n, odd=True, what="inputs per hidden unit")
    k = V.hidden_units(k, architecture)
    alpha = V.real("alpha", alpha, positive=True)
    m = int(round(alpha * n * k))
    if m < 1:
        raise ValueError(
            f"alpha={alpha} gives M = round(alpha*n*k) = {m} patterns; alpha must give at least one"
        )
    samples = V.integer("samples", samples, allow_none=True)
    return n, k, m, samples


def _pm1(key, shape):
    """i.i.d. unbiased +-1 int8 entries (the lowest bit of uniform random bits)."""
    bits = jax.random.bits(key, shape, dtype=jnp.uint8)
    return jnp.where((bits & 1) == 1, 1, -1).astype(jnp.int8)


def _input_shape(m, n, k, architecture):
    return (m, k, n) if architecture == "tree" else (m, n)


def _per_sample(fn, key, samples):
    if samples is None:
        return fn(key)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(samples))
    return jax.vmap(fn)(keys)


def random_patterns(key, n, alpha, k=1, architecture="perceptron", samples=None, *, labels="random"):
    r"""Random classification problem: i.i.d. unbiased +-1 inputs and labels.

    ``M = round(alpha * n * k)`` patterns (``alpha`` = patterns per synapse, as in Baldassi et al.,
    PNAS 113, E7655 (2016), Fig. 3). ``n`` is the number of inputs per hidden unit (see the module
    docstring; for ``"tree"`` the input vector has ``n*k`` entries, split into ``k`` blocks).

    **Arguments:**

    - ``key``: a JAX PRNG key. Sample ``i`` of a batch uses ``jax.random.fold_in(key, i)``, so an
      instance does not change when ``samples`` grows.
    - ``n``: inputs per hidden unit (odd). ``k``: hidden units (odd; 1 for the perceptron).
    - ``alpha``: patterns per synapse (> 0).
    - ``architecture``: ``"perceptron"``, ``"committee"`` (fully connected) or ``"tree"``.
    - ``samples``: ``None`` for one instance, or S for a batch with leading axis S.
    - ``labels``: ``"random"`` (i.i.d. +-1) or ``"ones"`` (all +1; equivalent for unbiased inputs
      by the gauge :math:`\xi^\mu \to \sigma^\mu \xi^\mu`, the convention of the reference code).

    **Returns:** a :class:`Problem`.
    """
    n, k, m, samples = _check_common(key, n, alpha, k, architecture, samples)
    V.choice("labels", labels, ("random", "ones"))
    x, y = _random_arrays(key, m, n, k, architecture, samples, labels)
    return Problem(x, y, architecture=architecture, k=k)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _random_arrays(key, m, n, k, architecture, samples, labels):
    shape = _input_shape(m, n, k, architecture)

    size = math.prod(shape)

    def one(kk):
        # one call of the generator per sample (cheaper to compile than split + two calls)
        pm = _pm1(kk, (size + m,))
        x = pm[:size].reshape(shape)
        y = jnp.ones((m,), jnp.int8) if labels == "ones" else pm[size:]
        return x, y

    return _per_sample(one, key, samples)


def teacher_student(key, n, alpha, k=1, architecture="perceptron", samples=None):
    r"""Teacher--student problem: a random +-1 teacher of the same architecture labels i.i.d. +-1
    inputs, :math:`\sigma^\mu = \mathrm{sign}\sum_k \mathrm{sign}(\sum_i \xi^\mu_{(k)i} W^*_{ki})`.

    Arguments as :func:`random_patterns`; the teacher is stored in ``Problem.teacher`` (shape
    ``(..., k, n)``). Such problems are always solvable (by the teacher).
    """
    n, k, m, samples = _check_common(key, n, alpha, k, architecture, samples)
    x, y, t = _teacher_arrays(key, m, n, k, architecture, samples)
    return Problem(x, y, architecture=architecture, k=k, teacher=t)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _teacher_arrays(key, m, n, k, architecture, samples):
    shape = _input_shape(m, n, k, architecture)
    tree = architecture == "tree"

    size = math.prod(shape)

    def one(kk):
        pm = _pm1(kk, (size + k * n,))
        x = pm[:size].reshape(shape)
        t = pm[size:].reshape(k, n)
        h = preactivations(t.astype(jnp.float32), x, tree)
        y = outputs_from_preacts(h).astype(jnp.int8)
        return x, y, t

    return _per_sample(one, key, samples)


_MOVED = ("Dataset", "digits", "load_idx", "mnist")


def __getattr__(name):  # the data sets moved to physlearn.datasets
    if name in _MOVED:
        from .. import datasets

        V.warn_deprecated(f"problems.{name} is deprecated: use physlearn.datasets.{name}")
        return getattr(datasets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
