r"""Data sets for both sides of physlearn: networks with continuous weights
(:mod:`physlearn.deep`, a :class:`Dataset` of float inputs and integer classes) and the binary
perceptrons and committee machines of :mod:`physlearn.algorithms` (a
:class:`~physlearn.algorithms.problems.Problem` of +-1 inputs and labels, ``binarize=True``).

* :func:`digits` -- the 8x8 handwritten digits bundled with scikit-learn (nothing is downloaded);
* :func:`mnist` -- MNIST / Fashion-MNIST from user-supplied IDX files, read by :func:`load_idx`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _validation as V

__all__ = ["Dataset", "digits", "load_idx", "mnist"]


# ------------------------------------------------------------------------------------------------
# Real data: scikit-learn's digits, MNIST-format files
# ------------------------------------------------------------------------------------------------
class Dataset(eqx.Module):
    """A labelled data set with a train/test split, for networks with continuous weights.

    ``x_train (M, ...)`` float32 inputs, ``y_train (M,)`` int32 class labels ``0..C-1``, and the
    same for the test set; ``classes`` are the original labels of classes ``0..C-1``. ``train`` and
    ``test`` are the ``(inputs, labels)`` pairs that :func:`physlearn.deep.optim.fit` and
    :mod:`physlearn.deep.nets` take.
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
    cl = tuple(V.integer(f"classes[{i}]", c, minimum=None) for i, c in enumerate(cl))
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
    return V.real("test_fraction", test_fraction, nonneg=True, below=1.0)


def _permuted_split(m, test_fraction, seed):
    perm = np.random.default_rng(V.integer("seed", seed, minimum=0)).permutation(m)
    n_test = int(round(test_fraction * m))
    if test_fraction > 0 and (n_test < 1 or n_test >= m):
        raise ValueError(f"test_fraction={test_fraction} leaves an empty train or test set ({m} examples)")
    return perm[n_test:], perm[:n_test]


def _binary_problem(x_pm1, y_pm1, architecture, k):
    """+-1 pixels (M, d) plus one constant +1 input -> Problem (d+1 must split into odd k*n)."""
    from .algorithms.problems import Problem

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
    * ``binarize=True`` (for the binary perceptron / committee machines): a :class:`~physlearn.algorithms.problems.Problem` with
      +-1 inputs, ``+1`` where ``pixel > threshold`` (default 8, half the grey range), and
      +-1 labels for the two ``classes`` (``classes[0]`` -> +1, ``classes[1]`` -> -1). A constant
      +1 input (a bias) is appended to the 64 pixels, so ``n = 65`` is odd as :class:`~physlearn.algorithms.problems.Problem`
      requires. ``architecture``/``k``: ``"perceptron"`` (k = 1), ``"committee"`` (odd k, every
      unit sees the 65 inputs) or ``"tree"`` (k must divide 65: k = 5 gives n = 13, k = 13 gives
      n = 5). By default (``test_fraction=None`` -> 0) all patterns of the two classes form one
      Problem; with ``test_fraction > 0`` returns ``(train, test)`` Problems.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("digits() needs scikit-learn (pip install scikit-learn)") from err
    V.architecture(architecture)
    if binarize:
        k = V.hidden_units(k, architecture)
    fraction = _check_fraction(test_fraction, bool(binarize))
    threshold = V.real("threshold", threshold)
    d = load_digits()
    x, y = np.asarray(d.data), np.asarray(d.target).astype(np.int64)
    cl = _check_classes(classes, np.unique(y), binarize=bool(binarize))
    return _finish(x, y, cl, binarize=bool(binarize), threshold=threshold, test_fraction=fraction, seed=seed,
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
    * ``binarize=True``: ``(train, test)`` :class:`~physlearn.algorithms.problems.Problem` s with +-1 inputs
      (``pixel > threshold``) plus a constant +1 input (n = 785, odd; ``"tree"`` needs k | 785,
      e.g. 5), and +-1 labels for the two ``classes``.
    """
    import os

    if not isinstance(path, (str, os.PathLike)) or not os.path.isdir(path):
        raise ValueError(f"path must be a directory with the MNIST IDX files, got {path!r}")
    V.architecture(architecture)
    if binarize:
        k = V.hidden_units(k, architecture)
    limit = V.integer("limit", limit, allow_none=True)
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
