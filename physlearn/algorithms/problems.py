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
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._network import ARCHITECTURES, outputs_from_preacts, preactivations

__all__ = ["Problem", "from_arrays", "random_patterns", "teacher_student", "Dataset", "digits", "load_idx", "mnist"]


def _check_architecture(architecture):
    if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {ARCHITECTURES}, got {architecture!r}"
        )


def _check_odd_int(name, value, *, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} ({what}) must be a positive odd integer, got {value!r}")
    value = int(value)
    if value < 1 or value % 2 == 0:
        raise ValueError(
            f"{name} ({what}) must be a positive odd integer (no ties in sign(h)), got {value}"
        )
    return value


def _check_k(k, architecture):
    k = _check_odd_int("k", k, what="number of hidden units")
    if architecture == "perceptron" and k != 1:
        raise ValueError(f"k must be 1 for architecture='perceptron', got {k}")
    return k


def _is_concrete(x):
    return not isinstance(x, jax.core.Tracer)


def _check_pm1(name, x):
    if _is_concrete(x):
        arr = np.asarray(x)
        if arr.size and not np.all(np.abs(arr) == 1):
            bad = arr[np.abs(arr) != 1].ravel()[:3]
            raise ValueError(f"{name} must contain only +1 and -1 entries; found e.g. {bad.tolist()}")


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
        _check_architecture(architecture)
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
            k = _check_k(k, architecture)
            if inputs.shape[-2] != k:
                raise ValueError(
                    f"inputs shape {inputs.shape} does not match k={k} for the tree committee "
                    "(expected (..., M, k, n))"
                )
        elif architecture == "perceptron":
            k = _check_k(1 if k is None else k, architecture)
        else:
            if k is None:
                raise ValueError("k (number of hidden units) is required for architecture='committee'")
            k = _check_k(k, architecture)
        n = inputs.shape[-1]
        _check_odd_int("n", n, what="inputs per hidden unit, inputs.shape[-1]")
        batch = inputs.shape[: inputs.ndim - base]
        m = inputs.shape[inputs.ndim - base]
        if m < 1:
            raise ValueError(f"inputs must hold at least one pattern, got shape {inputs.shape}")
        if tuple(labels.shape) != tuple(batch) + (m,):
            raise ValueError(
                f"labels must have shape {tuple(batch) + (m,)} to match inputs {inputs.shape}, "
                f"got {labels.shape}"
            )
        _check_pm1("inputs", inputs)
        _check_pm1("labels", labels)
        if teacher is not None:
            teacher = teacher if isinstance(teacher, (jax.Array, jax.core.Tracer)) else np.asarray(teacher)
            if tuple(teacher.shape) != tuple(batch) + (k, n):
                raise ValueError(
                    f"teacher must have shape {tuple(batch) + (k, n)}, got {teacher.shape}"
                )
            _check_pm1("teacher", teacher)
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
def _check_common(n, alpha, k, architecture, samples):
    _check_architecture(architecture)
    n = _check_odd_int("n", n, what="inputs per hidden unit")
    k = _check_k(k, architecture)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha (patterns per synapse) must be a finite number > 0, got {alpha!r}")
    m = int(round(float(alpha) * n * k))
    if m < 1:
        raise ValueError(
            f"alpha={alpha} gives M = round(alpha*n*k) = {m} patterns; alpha must give at least one"
        )
    if samples is not None:
        if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < 1:
            raise ValueError(f"samples must be None or a positive integer, got {samples!r}")
        samples = int(samples)
    return n, k, m, samples


def _check_key(key):
    if not isinstance(key, jax.Array) or not (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or (key.dtype == jnp.uint32 and key.shape == (2,))
    ):
        raise ValueError("key must be a JAX PRNG key (jax.random.key(seed))")


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
    n, k, m, samples = _check_common(n, alpha, k, architecture, samples)
    if labels not in ("random", "ones"):
        raise ValueError(f"labels must be 'random' or 'ones', got {labels!r}")
    _check_key(key)
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
    n, k, m, samples = _check_common(n, alpha, k, architecture, samples)
    _check_key(key)
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


# ------------------------------------------------------------------------------------------------
# Real data: scikit-learn's digits, MNIST-format files
# ------------------------------------------------------------------------------------------------
class Dataset(eqx.Module):
    """A labelled data set with a train/test split, for networks with continuous weights.

    ``x_train (M, ...)`` float32 inputs, ``y_train (M,)`` int32 class labels ``0..C-1``, and the
    same for the test set; ``classes`` are the original labels of classes ``0..C-1``. ``train`` and
    ``test`` are the ``(inputs, labels)`` pairs that :func:`physlearn.algorithms.optim.fit` and
    :mod:`physlearn.algorithms.nets` take.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    classes: tuple = eqx.field(static=True)

    @property
    def train(self):
        return (self.x_train, self.y_train)

    @property
    def test(self):
        return (self.x_test, self.y_test)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _check_classes(classes, available, *, binarize):
    if classes is None:
        if binarize:
            raise ValueError("classes must name the two classes (e.g. (3, 8)) when binarize=True")
        return tuple(int(c) for c in available)
    try:
        cl = tuple(classes)
    except TypeError:
        raise ValueError(f"classes must be a sequence of class labels, got {classes!r}") from None
    if any(isinstance(c, bool) or not isinstance(c, numbers.Integral) for c in cl):
        raise ValueError(f"classes must be integers, got {classes!r}")
    cl = tuple(int(c) for c in cl)
    if len(set(cl)) != len(cl) or len(cl) < 2:
        raise ValueError(f"classes must hold at least two distinct labels, got {classes!r}")
    missing = [c for c in cl if c not in set(int(a) for a in available)]
    if missing:
        raise ValueError(f"classes {missing} do not occur in the data (labels: {sorted(set(available))})")
    if binarize and len(cl) != 2:
        raise ValueError(f"binarize=True needs exactly two classes (labels +1, -1), got {classes!r}")
    return cl


def _check_fraction(test_fraction, binarize):
    if test_fraction is None:
        return 0.0 if binarize else 0.25
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be a number in [0, 1), got {test_fraction!r}")
    return float(test_fraction)


def _permuted_split(m, test_fraction, seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    perm = np.random.default_rng(int(seed)).permutation(m)
    n_test = int(round(test_fraction * m))
    if test_fraction > 0 and (n_test < 1 or n_test >= m):
        raise ValueError(f"test_fraction={test_fraction} leaves an empty train or test set ({m} examples)")
    return perm[n_test:], perm[:n_test]


def _binary_problem(x_pm1, y_pm1, architecture, k):
    """+-1 pixels (M, d) plus one constant +1 input -> Problem (d+1 must split into odd k*n)."""
    x = np.concatenate([x_pm1, np.ones((x_pm1.shape[0], 1), x_pm1.dtype)], axis=1)
    d = x.shape[1]
    if architecture == "tree":
        if d % k:
            raise ValueError(f"tree committee: k={k} must divide the {d} inputs (pixels + bias)")
        x = x.reshape(x.shape[0], k, d // k)
    return Problem(x, y_pm1, architecture=architecture, k=k)


def _finish(x, y, classes, *, binarize, threshold, test_fraction, seed, architecture, k, scale):
    keep = np.isin(y, classes)
    x, y = x[keep], y[keep]
    train, test = _permuted_split(len(y), test_fraction, seed)
    if binarize:
        xb = np.where(x > threshold, 1, -1).astype(np.int8)
        yb = np.where(y == classes[0], 1, -1).astype(np.int8)
        if test_fraction == 0:
            return _binary_problem(xb, yb, architecture, k)
        return (_binary_problem(xb[train], yb[train], architecture, k),
                _binary_problem(xb[test], yb[test], architecture, k))
    relabel = np.zeros(max(classes) + 1, np.int32)
    relabel[list(classes)] = np.arange(len(classes))
    xf = (x / scale).astype(np.float32)
    yi = relabel[y].astype(np.int32)
    return Dataset(jnp.asarray(xf[train]), jnp.asarray(yi[train]), jnp.asarray(xf[test]), jnp.asarray(yi[test]),
                   tuple(classes))


def digits(binarize=False, classes=None, *, test_fraction=None, seed=0, threshold=8, architecture="perceptron", k=1):
    r"""The 8x8 handwritten digits bundled with scikit-learn (``sklearn.datasets.load_digits``: 1797
    images, 16 grey levels, UCI "Optical Recognition of Handwritten Digits"; nothing is
    downloaded).

    * ``binarize=False`` (for networks with continuous weights): a :class:`Dataset` with inputs
      ``pixel/16`` in [0, 1] (64 features, float32), labels ``0..C-1`` in the order of ``classes``
      (default: all ten digits), split at random (``seed``) with ``test_fraction`` (default 0.25)
      of the examples in the test set.
    * ``binarize=True`` (for the binary perceptron / committee machines): a :class:`Problem` with
      +-1 inputs, ``+1`` where ``pixel > threshold`` (default 8, half the grey range), and
      +-1 labels for the two ``classes`` (``classes[0]`` -> +1, ``classes[1]`` -> -1). A constant
      +1 input (a bias) is appended to the 64 pixels, so ``n = 65`` is odd as :class:`Problem`
      requires. ``architecture``/``k``: ``"perceptron"`` (k = 1), ``"committee"`` (odd k, every
      unit sees the 65 inputs) or ``"tree"`` (k must divide 65: k = 5 gives n = 13, k = 13 gives
      n = 5). By default (``test_fraction=None`` -> 0) all patterns of the two classes form one
      Problem; with ``test_fraction > 0`` returns ``(train, test)`` Problems.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("digits() needs scikit-learn (pip install scikit-learn)") from err
    _check_architecture(architecture)
    if binarize:
        k = _check_k(k, architecture)
    fraction = _check_fraction(test_fraction, bool(binarize))
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    d = load_digits()
    x, y = np.asarray(d.data), np.asarray(d.target).astype(np.int64)
    cl = _check_classes(classes, np.unique(y), binarize=bool(binarize))
    return _finish(x, y, cl, binarize=bool(binarize), threshold=float(threshold), test_fraction=fraction, seed=seed,
                   architecture=architecture, k=k, scale=16.0)


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path):
    """Read an IDX file (the format of MNIST and Fashion-MNIST; gzip-compressed or not) into a NumPy
    array.

    Format (LeCun et al., the MNIST database): two zero bytes, a type byte (``0x08`` uint8,
    ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number
    of dimensions, each dimension as a big-endian uint32, then the data in C order, big-endian.
    Gzip is recognised by its magic bytes. Raises ``ValueError`` on a malformed file.
    """
    import gzip
    import os

    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise ValueError(f"path must name an existing IDX file, got {path!r}")
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the first two bytes must be zero)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX data type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dt = np.dtype(_IDX_TYPES[code])
    count = math.prod(shape)
    if len(raw) - header != count * dt.itemsize:
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({count * dt.itemsize} bytes) but the file has "
            f"{len(raw) - header} data bytes"
        )
    return np.frombuffer(raw, dt, count=count, offset=header).reshape(shape).astype(dt.newbyteorder("="))


_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(path, stem):
    import os

    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(path, name)
        if os.path.isfile(p):
            return p
    raise ValueError(f"no file {stem}[.gz] in {path!r} (MNIST / Fashion-MNIST file names expected)")


def mnist(path, *, binarize=False, classes=None, threshold=127, limit=None, architecture="perceptron", k=1):
    r"""MNIST or Fashion-MNIST from user-supplied IDX files (nothing is downloaded).

    ``path`` is a directory holding the four standard files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each
    optionally ``.gz``); they are read with :func:`load_idx`. The official train/test split is kept;
    ``limit`` keeps the first ``limit`` examples of each (after selecting ``classes``).

    * ``binarize=False``: a :class:`Dataset`, inputs ``pixel/255`` as float32 ``(M, 28, 28)``,
      labels ``0..C-1`` in the order of ``classes`` (default all).
    * ``binarize=True``: ``(train, test)`` :class:`Problem` s with +-1 inputs
      (``pixel > threshold``) plus a constant +1 input (n = 785, odd; ``"tree"`` needs k | 785,
      e.g. 5), and +-1 labels for the two ``classes``.
    """
    import os

    if not isinstance(path, (str, os.PathLike)) or not os.path.isdir(path):
        raise ValueError(f"path must be a directory with the MNIST IDX files, got {path!r}")
    _check_architecture(architecture)
    if binarize:
        k = _check_k(k, architecture)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1):
        raise ValueError(f"limit must be None or a positive integer, got {limit!r}")
    parts = {}
    for split, (img, lab) in _MNIST_FILES.items():
        x = load_idx(_find_idx(path, img))
        y = load_idx(_find_idx(path, lab)).astype(np.int64)
        if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError(f"{split}: images {x.shape} and labels {y.shape} do not match")
        parts[split] = (x, y)
    cl = _check_classes(classes, np.unique(np.concatenate([parts["train"][1], parts["test"][1]])),
                        binarize=bool(binarize))
    out = []
    for split in ("train", "test"):
        x, y = parts[split]
        keep = np.isin(y, cl)
        x, y = x[keep][:limit], y[keep][:limit]
        if binarize:
            xb = np.where(x.reshape(len(y), -1) > threshold, 1, -1).astype(np.int8)
            yb = np.where(y == cl[0], 1, -1).astype(np.int8)
            out.append(_binary_problem(xb, yb, architecture, k))
        else:
            relabel = np.zeros(max(cl) + 1, np.int32)
            relabel[list(cl)] = np.arange(len(cl))
            out.append(((x / 255.0).astype(np.float32), relabel[y].astype(np.int32)))
    if binarize:
        return tuple(out)
    (xtr, ytr), (xte, yte) = out
    return Dataset(jnp.asarray(xtr), jnp.asarray(ytr), jnp.asarray(xte), jnp.asarray(yte), tuple(cl))
