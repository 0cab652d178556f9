"""Real-data loaders: scikit-learn's digits (as floats and as +-1 Problems) against the raw
scikit-learn arrays, and the IDX / MNIST reader on files the test writes itself."""

import gzip
import struct

import numpy as np
import pytest

from physlearn import datasets
from physlearn.algorithms import energies, problems

sk_datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def raw():
    d = sk_datasets.load_digits()
    return np.asarray(d.data), np.asarray(d.target)


def test_digits_floats_split_and_relabel(raw):
    x, y = raw
    ds = datasets.digits(seed=3)
    assert ds.x_train.shape[0] + ds.x_test.shape[0] == 1797 and ds.x_test.shape[0] == round(0.25 * 1797)
    assert ds.x_train.shape[1] == 64 and ds.n_classes == 10
    # every example appears once, with its scaled pixels and its label
    allx = np.concatenate([ds.x_train, ds.x_test])
    ally = np.concatenate([ds.y_train, ds.y_test])
    order = np.lexsort(np.c_[allx, ally].T)
    ref = np.lexsort(np.c_[x / 16, y].T)
    np.testing.assert_allclose(allx[order], (x / 16)[ref], rtol=1e-6)
    np.testing.assert_array_equal(ally[order], y[ref])
    assert not np.array_equal(datasets.digits(seed=4).y_test, ds.y_test)  # the seed matters
    np.testing.assert_array_equal(datasets.digits(seed=3).y_test, ds.y_test)  # ... and reproduces
    sub = datasets.digits(classes=(7, 2), test_fraction=0.5)
    assert sub.classes == (7, 2) and set(np.unique(sub.y_train)) == {0, 1}
    assert len(sub.y_train) + len(sub.y_test) == np.sum((y == 7) | (y == 2))
    # class 0 of the subset is digit 7: its images are the 7s of scikit-learn
    sevens = np.concatenate([sub.x_train[sub.y_train == 0], sub.x_test[sub.y_test == 0]])
    assert sevens.shape[0] == np.sum(y == 7)


def test_digits_binarized_problem(raw):
    x, y = raw
    p = datasets.digits(binarize=True, classes=(3, 8))
    keep = (y == 3) | (y == 8)
    assert isinstance(p, problems.Problem) and p.n == 65 and p.k == 1 and p.m == keep.sum()
    np.testing.assert_array_equal(np.asarray(p.inputs)[:, :64], np.where(x[keep] > 8, 1, -1))
    np.testing.assert_array_equal(np.asarray(p.inputs)[:, 64], 1)  # the bias input
    np.testing.assert_array_equal(np.asarray(p.labels), np.where(y[keep] == 3, 1, -1))
    # usable by the binary-network code: errors of a random +-1 perceptron against NumPy
    w = np.where(np.random.default_rng(0).random((1, 65)) < 0.5, -1, 1)
    out = np.where(np.asarray(p.inputs, float) @ w[0] > 0, 1, -1)
    assert int(energies.num_errors(w, p)) == np.sum(out != np.asarray(p.labels))
    tree = datasets.digits(binarize=True, classes=(3, 8), architecture="tree", k=5)
    assert tree.inputs.shape == (p.m, 5, 13) and tree.alpha == pytest.approx(p.m / 65)
    np.testing.assert_array_equal(np.asarray(tree.inputs).reshape(p.m, 65), np.asarray(p.inputs))
    tr, te = datasets.digits(binarize=True, classes=(3, 8), test_fraction=0.3, seed=1)
    assert tr.m + te.m == p.m and te.m == round(0.3 * p.m)


def _write_idx(path, arr, code, compress=False):
    dt = {0x08: ">u1", 0x0D: ">f4", 0x0C: ">i4"}[code]
    raw = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.astype(dt).tobytes()
    with open(path, "wb") as fh:
        fh.write(gzip.compress(raw) if compress else raw)


def test_idx_reader_and_mnist_loader(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    _write_idx(tmp_path / "a.idx", img, 0x08)
    _write_idx(tmp_path / "a.idx.gz", img, 0x08, compress=True)
    f = rng.normal(size=(3, 2)).astype(np.float32)
    _write_idx(tmp_path / "f.idx", f, 0x0D)
    np.testing.assert_array_equal(datasets.load_idx(tmp_path / "a.idx"), img)
    np.testing.assert_array_equal(datasets.load_idx(tmp_path / "a.idx.gz"), img)
    np.testing.assert_array_equal(datasets.load_idx(tmp_path / "f.idx"), f)
    (tmp_path / "bad.idx").write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2]))  # 5 announced, 2 present
    with pytest.raises(ValueError, match="announces"):
        datasets.load_idx(tmp_path / "bad.idx")
    (tmp_path / "notidx").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX"):
        datasets.load_idx(tmp_path / "notidx")
    # a tiny MNIST directory (some files gzipped, as downloaded)
    d = tmp_path / "mnist"
    d.mkdir()
    ytr, yte = rng.integers(0, 10, 7), rng.integers(0, 10, 5)
    _write_idx(d / "train-images-idx3-ubyte.gz", img, 0x08, compress=True)
    _write_idx(d / "train-labels-idx1-ubyte.gz", ytr, 0x08, compress=True)
    _write_idx(d / "t10k-images-idx3-ubyte", img[:5], 0x08)
    _write_idx(d / "t10k-labels-idx1-ubyte", yte, 0x08)
    ds = datasets.mnist(d)
    assert ds.x_train.shape == (7, 28, 28) and ds.x_test.shape == (5, 28, 28)
    np.testing.assert_allclose(ds.x_train, img / 255.0, rtol=1e-6)
    cl = tuple(sorted(set(ytr) | set(yte)))
    np.testing.assert_array_equal(np.asarray(cl)[np.asarray(ds.y_train)], ytr)
    a, b = int(ytr[0]), int(next(c for c in ytr if c != ytr[0]))
    tr, te = datasets.mnist(d, binarize=True, classes=(a, b))
    keep = (ytr == a) | (ytr == b)
    assert tr.n == 785 and tr.m == keep.sum()
    np.testing.assert_array_equal(np.asarray(tr.inputs)[:, :784], np.where(img[keep].reshape(-1, 784) > 127, 1, -1))
    np.testing.assert_array_equal(np.asarray(tr.labels), np.where(ytr[keep] == a, 1, -1))


def test_validation(tmp_path):
    with pytest.raises(ValueError, match="classes"):
        datasets.digits(binarize=True)
    with pytest.raises(ValueError, match="two classes"):
        datasets.digits(binarize=True, classes=(1, 2, 3))
    with pytest.raises(ValueError, match="do not occur"):
        datasets.digits(classes=(1, 12))
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.digits(test_fraction=1.0)
    with pytest.raises(ValueError, match="k=2|odd"):
        datasets.digits(binarize=True, classes=(0, 1), architecture="committee", k=2)
    with pytest.raises(ValueError, match="divide"):
        datasets.digits(binarize=True, classes=(0, 1), architecture="tree", k=3)
    with pytest.raises(ValueError, match="path"):
        datasets.load_idx(tmp_path / "missing")
    with pytest.raises(ValueError, match="no file"):
        datasets.mnist(tmp_path)


def test_old_paths_warn_and_still_work():
    with pytest.warns(DeprecationWarning, match="physlearn.datasets.digits"):
        old = problems.digits
    assert old is datasets.digits
