"""The experiment's bookkeeping (physlearn.algorithms.wide_flat_minima), without training: the
real-data task, test errors counted from the weights, the ordering of the talk's claims, the
correlation and the table. The training and BP parts run in notebook 08."""

import numpy as np
import pytest
from test_datasets import _write_idx

from physlearn.algorithms import wide_flat_minima as wfm


def test_two_class_task_defaults_to_the_bundled_digits():
    train, test, what = wfm.two_class_task(reps=2)
    assert "digits" in what and train.batch_shape == (2,) and train.k == 9 and train.n == 65
    np.testing.assert_array_equal(np.asarray(train.inputs[0]), np.asarray(train.inputs[1]))
    assert test.n_samples is None and test.m > 0
    # the test error of a network that answers +1 everywhere: the fraction of -1 labels
    w = np.zeros((1, 9, 65))
    w[:, :, -1] = 1.0  # the constant bias input
    np.testing.assert_allclose(wfm.error_rates(w, test), np.mean(np.asarray(test.labels) == -1))
    with pytest.raises(ValueError, match="^path"):
        wfm.two_class_task("/nonexistent")


def test_two_class_task_reads_fashion_mnist_idx_files(tmp_path):
    """A folder in the Fashion-MNIST layout (made here: the real files are not bundled): dress (3)
    against coat (4), the first ``per_class`` training images of each class, pixels binarised at
    127, a committee input with the constant bias unit, the test set of both classes."""
    rng = np.random.default_rng(1)
    ytr = np.array([3, 0, 4, 4, 3, 7, 3, 4, 3, 4])
    yte = np.array([4, 3, 9, 3])
    img = rng.integers(0, 256, size=(10, 28, 28)).astype(np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", img, 0x08, compress=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", ytr, 0x08, compress=True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", img[:4], 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", yte, 0x08)
    train, test, what = wfm.two_class_task(tmp_path, reps=2, per_class=3)
    assert "Fashion-MNIST" in what and train.batch_shape == (2,) and train.k == 9 and train.n == 785
    keep = np.array([0, 4, 6, 2, 3, 7])  # the first three dresses, then the first three coats
    np.testing.assert_array_equal(np.asarray(train.labels[0]), np.where(ytr[keep] == 3, 1, -1))
    np.testing.assert_array_equal(np.asarray(train.inputs[1])[:, :784],
                                  np.where(img[keep].reshape(-1, 784) > 127, 1, -1))
    assert np.all(np.asarray(train.inputs[0])[:, 784] == 1)
    assert test.m == 3 and np.array_equal(np.asarray(test.labels), [-1, 1, 1])


def _fake(volumes, tops):
    out = {}
    for name, v in volumes.items():
        v = np.asarray(v, dtype=float)
        tr = wfm.Trained(solved=np.isfinite(v[:, 0]), errors=np.where(np.isfinite(v[:, 0]), 0, 3),
                         weights=np.ones((v.shape[0], 1, 3)), steps=np.ones(v.shape[0], int), seconds=0.0)
        out[name] = dict(trained=tr, volume=v, bp_converged=np.isfinite(v), top_eigenvalue=np.asarray(tops[name]),
                         spectra=None, test_error=None)
    return out


def test_ordering_correlation_and_table():
    res = _fake({"fBP": [[-0.1, -0.2], [-0.12, -0.22]], "LAL": [[-0.4, -0.5], [np.nan, np.nan]],
                 "eLAL": [[-0.2, -0.3], [-0.22, -0.3]], "ceSGD-slow": [[-0.15, -0.25], [-0.17, -0.26]],
                 "ceSGD-fast": [[-0.3, -0.35], [-0.32, -0.4]]},
                {"fBP": [0.03, 0.031], "LAL": [0.06, np.nan], "eLAL": [0.045, 0.046], "ceSGD-slow": [0.035, 0.036],
                 "ceSGD-fast": [0.05, 0.052]})
    order, claims = wfm.ordering(res)
    assert order == ["fBP", "ceSGD-slow", "eLAL", "ceSGD-fast", "LAL"]
    assert claims == {"LAL narrowest": True, "fBP, eLAL, ceSGD-slow widest": True}
    res["LAL"]["volume"][0] = [-0.01, -0.02]  # now LAL is the widest
    _, claims = wfm.ordering(res)
    assert claims == {"LAL narrowest": False, "fBP, eLAL, ceSGD-slow widest": False}
    pearson, spearman, points = wfm.correlation(res)
    assert points == 9 and -1 <= pearson <= 1 and -1 <= spearman <= 1
    table = wfm.markdown_table(res, [0.02, 0.05])
    assert "| LAL | 1/2 | -0.0100 (-) |" in table and table.count("\n") == 6
