"""Problems, validation and energies of physlearn.algorithms (checked against NumPy / brute force)."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.algorithms import energies, problems
from physlearn.algorithms.problems import Problem

ARCHS = [("perceptron", 1), ("committee", 3), ("tree", 3)]


# ------------------------------------------------------------------------------------------------
# NumPy references
# ------------------------------------------------------------------------------------------------
def np_preacts(W, X, arch):
    W = np.asarray(W, np.int64)
    X = np.asarray(X, np.int64)
    if arch == "tree":
        return np.einsum("...mkn,kn->...mk", X, W)
    return np.einsum("...mn,kn->...mk", X, W)


def np_outputs(W, X, arch):
    h = np_preacts(W, X, arch)
    tau = np.where(h > 0, 1, -1)
    return np.where(tau.sum(-1) > 0, 1, -1)


def brute_force_min_flips(W, X, y, arch):
    """min Hamming distance from W to a network classifying each pattern correctly."""
    K, N = W.shape
    configs = np.array(list(itertools.product([-1, 1], repeat=K * N))).reshape(-1, K, N)
    dist = (configs != W[None]).sum(axis=(1, 2))
    out = np.stack([np_outputs(c, X, arch) for c in configs])  # (C, M)
    ok = out == y[None]
    big = K * N + 10
    return np.where(ok, dist[:, None], big).min(axis=0)


# ------------------------------------------------------------------------------------------------
# generators
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,k", ARCHS)
def test_random_patterns_shapes_and_values(arch, k):
    n, alpha = 11, 0.55
    p = problems.random_patterns(jax.random.key(1), n, alpha, k=k, architecture=arch)
    m = round(alpha * n * k)
    assert p.m == m and p.n == n and p.k == k and p.batch_shape == () and p.n_samples is None
    assert p.inputs.shape == ((m, k, n) if arch == "tree" else (m, n))
    assert p.inputs.dtype == jnp.int8 and p.labels.dtype == jnp.int8
    assert set(np.unique(np.asarray(p.inputs))) == {-1, 1}
    assert set(np.unique(np.asarray(p.labels))) <= {-1, 1}
    assert p.alpha == pytest.approx(m / (n * k))
    pb = problems.random_patterns(jax.random.key(1), n, alpha, k=k, architecture=arch, samples=4)
    assert pb.batch_shape == (4,) and pb.n_samples == 4
    assert pb.labels.shape == (4, m)
    # sample i does not depend on how many samples are drawn (fold_in(key, i))
    pc = problems.random_patterns(jax.random.key(1), n, alpha, k=k, architecture=arch, samples=2)
    np.testing.assert_array_equal(pb.inputs[:2], pc.inputs)
    np.testing.assert_array_equal(pb.labels[1], pc.labels[1])
    # different samples differ
    assert not np.array_equal(pb.inputs[0], pb.inputs[1])


def test_random_labels_are_unbiased_and_ones_gauge():
    p = problems.random_patterns(jax.random.key(3), 101, 2.0, samples=8)
    frac = float(np.mean(np.asarray(p.labels) == 1))
    assert 0.45 < frac < 0.55
    q = problems.random_patterns(jax.random.key(3), 101, 0.5, labels="ones")
    assert np.all(np.asarray(q.labels) == 1)


def test_rounding_of_m_half_to_even():
    # alpha * n * k = 10.5 -> 10 (round half to even, as Julia's round), cf. spec R1
    p = problems.random_patterns(jax.random.key(0), 21, 0.1, k=5, architecture="committee")
    assert p.m == 10


@pytest.mark.parametrize("arch,k", ARCHS)
def test_teacher_student_teacher_has_zero_errors(arch, k):
    p = problems.teacher_student(jax.random.key(5), 15, 0.8, k=k, architecture=arch, samples=3)
    assert p.teacher.shape == (3, k, 15)
    for i in range(3):
        ref = np_outputs(np.asarray(p.teacher[i]), np.asarray(p.inputs[i]), arch)
        np.testing.assert_array_equal(ref, np.asarray(p.labels[i]))
        assert int(energies.num_errors(p.teacher[i], p.sample(i))) == 0


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n=10, alpha=0.5), "n"),
        (dict(n=0, alpha=0.5), "n"),
        (dict(n=11.0, alpha=0.5), "n"),
        (dict(n=11, alpha=0.0), "alpha"),
        (dict(n=11, alpha=-1.0), "alpha"),
        (dict(n=11, alpha=float("nan")), "alpha"),
        (dict(n=11, alpha=float("inf")), "alpha"),
        (dict(n=11, alpha=0.001), "alpha"),
        (dict(n=11, alpha=0.5, k=2, architecture="committee"), "k"),
        (dict(n=11, alpha=0.5, k=3, architecture="perceptron"), "k"),
        (dict(n=11, alpha=0.5, architecture="mlp"), "architecture"),
        (dict(n=11, alpha=0.5, samples=0), "samples"),
        (dict(n=11, alpha=0.5, samples=2.5), "samples"),
    ],
)
@pytest.mark.parametrize("gen", [problems.random_patterns, problems.teacher_student])
def test_generator_validation(gen, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gen(jax.random.key(0), **kwargs)


def test_generator_bad_key_and_labels():
    with pytest.raises(ValueError, match="key"):
        problems.random_patterns(0, 11, 0.5)
    with pytest.raises(ValueError, match="labels"):
        problems.random_patterns(jax.random.key(0), 11, 0.5, labels="zeros")


def test_problem_from_arrays_and_validation():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(7, 5))
    y = rng.choice([-1, 1], size=(7,))
    p = problems.from_arrays(X, y)
    assert p.architecture == "perceptron" and p.k == 1 and p.m == 7
    p = Problem(X, y, architecture="committee", k=3)
    assert p.k == 3
    Xt = rng.choice([-1, 1], size=(7, 3, 5))
    assert Problem(Xt, y, architecture="tree").k == 3
    with pytest.raises(ValueError, match="inputs"):
        Problem(np.where(X == 1, 1, 0), y)
    with pytest.raises(ValueError, match="labels"):
        Problem(X, 2 * y)
    with pytest.raises(ValueError, match="labels"):
        Problem(X, y[:5])
    with pytest.raises(ValueError, match="k"):
        Problem(X, y, architecture="committee")
    with pytest.raises(ValueError, match="k"):
        Problem(Xt, y, architecture="tree", k=5)
    with pytest.raises(ValueError, match="n"):
        Problem(X[:, :4], y)
    with pytest.raises(ValueError, match="inputs"):
        Problem(X[0], y[:1])
    with pytest.raises(ValueError, match="architecture"):
        Problem(X, y, architecture="Tree")
    with pytest.raises(ValueError, match="teacher"):
        Problem(X, y, teacher=np.ones((1, 4)))


# ------------------------------------------------------------------------------------------------
# energies
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,k", ARCHS)
def test_errors_and_stabilities_match_numpy(arch, k):
    n = 21
    p = problems.random_patterns(jax.random.key(7), n, 1.0, k=k, architecture=arch)
    rng = np.random.default_rng(1)
    for _ in range(3):
        W = rng.choice([-1, 1], size=(k, n))
        ref = np_outputs(W, np.asarray(p.inputs), arch)
        lab = np.asarray(p.labels)
        assert int(energies.num_errors(jnp.asarray(W), p)) == int(np.sum(ref != lab))
        np.testing.assert_array_equal(np.asarray(energies.outputs(jnp.asarray(W), p)), ref)
        st = np.asarray(energies.stabilities(jnp.asarray(W), p))
        np.testing.assert_array_equal(st, lab[:, None] * np_preacts(W, np.asarray(p.inputs), arch))


@pytest.mark.parametrize("arch,k,n", [("perceptron", 1, 7), ("committee", 3, 3), ("tree", 3, 3), ("committee", 1, 9)])
def test_min_flips_energy_brute_force(arch, k, n):
    p = problems.random_patterns(jax.random.key(11), n, 3.0, k=k, architecture=arch)
    rng = np.random.default_rng(2)
    X, lab = np.asarray(p.inputs), np.asarray(p.labels)
    for _ in range(4):
        W = rng.choice([-1, 1], size=(k, n))
        ref = brute_force_min_flips(W, X, lab, arch)
        got = np.asarray(energies.min_flips_per_pattern(jnp.asarray(W), p))
        np.testing.assert_array_equal(got, ref)
        assert float(energies.min_flips_energy(jnp.asarray(W), p)) == ref.sum()
        # zero energy exactly on the correctly classified patterns
        errs = np_outputs(W, X, arch) != lab
        np.testing.assert_array_equal(ref > 0, errs)


@pytest.mark.parametrize("K", [1, 2, 3, 5, 9])
def test_least_wrong_energy_equals_the_ranked_selection(K, monkeypatch):
    """The energy-only min-flip form (sorting network over the units' costs, or ``jnp.sort`` past
    its size) equals the energy of the ranked selection it stands in for (replicas x patterns,
    ties and patterns that need no fix included)."""
    from physlearn.algorithms import _network

    rng = np.random.default_rng(K)
    h = jnp.asarray(2 * rng.integers(-5, 5, size=(3, 40, K)) + 1, jnp.float32)  # odd fields
    labels = jnp.asarray(rng.choice([-1, 1], size=(40,)), jnp.int8)
    _, ref = _network.least_wrong_selection(h, labels[None])
    got = _network.least_wrong_energy(h, labels[None])
    np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))
    monkeypatch.setattr(_network, "NETWORK_SORT_MAX", 0)
    np.testing.assert_array_equal(np.asarray(_network.least_wrong_energy(h, labels[None])), np.asarray(ref))
    assert float(ref.max()) > 0 and float(ref.min()) == 0


def test_min_flips_perceptron_closed_form():
    p = problems.random_patterns(jax.random.key(4), 51, 2.0)
    W = jnp.asarray(np.random.default_rng(3).choice([-1, 1], size=(51,)))
    d = np.asarray(energies.stabilities(W, p))[:, 0]
    ref = np.where(d < 0, (1 - d) / 2, 0)
    np.testing.assert_array_equal(np.asarray(energies.min_flips_per_pattern(W, p)), ref)


def test_energies_vmap_equals_loop():
    S, k, n = 5, 3, 15
    pb = problems.random_patterns(jax.random.key(9), n, 1.2, k=k, architecture="committee", samples=S)
    W = jnp.asarray(np.random.default_rng(4).choice([-1, 1], size=(S, k, n)))
    ev = jax.vmap(energies.num_errors)(W, pb)
    fv = jax.jit(jax.vmap(energies.min_flips_energy))(W, pb)
    for i in range(S):
        assert int(ev[i]) == int(energies.num_errors(W[i], pb.sample(i)))
        assert float(fv[i]) == float(energies.min_flips_energy(W[i], pb.sample(i)))
    with pytest.raises(ValueError, match="batch"):
        energies.num_errors(W[0], pb)
    with pytest.raises(ValueError, match="weights"):
        energies.num_errors(W[0, :, :5], pb.sample(0))


def test_overlaps_hamming_centre():
    rng = np.random.default_rng(5)
    R = rng.choice([-1, 1], size=(5, 3, 11))
    q = np.asarray(energies.replica_overlaps(jnp.asarray(R)))
    ref_q = np.einsum("akn,bkn->ab", R, R) / 33
    np.testing.assert_allclose(q, ref_q, rtol=1e-6)
    hm = np.asarray(energies.hamming(jnp.asarray(R[:, None]), jnp.asarray(R[None])))
    np.testing.assert_array_equal(hm, (R[:, None] != R[None]).sum(axis=(-2, -1)))
    np.testing.assert_allclose(hm, 33 * (1 - ref_q) / 2, atol=1e-4)
    c = np.asarray(energies.centre(jnp.asarray(R)))
    np.testing.assert_array_equal(c, np.where(R.sum(0) > 0, 1, -1))
    d = np.asarray(energies.distances_to_centre(jnp.asarray(R)))
    np.testing.assert_allclose(d, (R != c[None]).mean(axis=(1, 2)), atol=1e-6)
    assert float(energies.overlap(jnp.asarray(R[0]), jnp.asarray(R[0]))) == 1.0


# ------------------------------------------------------------------------------------------------
# bit-packed forward pass and the fast shuffle
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,k", [(1, 1), (33, 5), (321, 3)])  # word boundaries: 32 bits
def test_packed_preactivations_equal_the_float_matmul(n, k):
    from physlearn.algorithms._network import pack_pm, packed_preactivations, unpack_pm

    rng = np.random.default_rng(n)
    w = rng.choice([-1, 1], size=(2, k, n)).astype(np.int8)  # two networks (replicas)
    for arch, shape in (("committee", (7, n)), ("tree", (7, k, n))):
        x = rng.choice([-1, 1], size=shape).astype(np.int8)
        ref = np.stack([np_preacts(wa, x, arch) for wa in w])
        got = packed_preactivations(pack_pm(jnp.asarray(w)), pack_pm(jnp.asarray(x))[None], n, arch == "tree", jnp.float32)
        np.testing.assert_array_equal(np.asarray(got), ref)
    np.testing.assert_array_equal(np.asarray(unpack_pm(pack_pm(jnp.asarray(w)), n, jnp.int8)), w)


def test_shuffle_gives_uniform_permutations():
    from physlearn.algorithms.runner import shuffle

    # all 4! orders of 4 items equally likely (chi-square, 23 dof; p < 1e-4 fails)
    p = np.asarray(shuffle(jax.random.key(0), (24000,), 4))
    assert np.all(np.sort(p, axis=1) == np.arange(4))
    codes = p @ np.array([64, 16, 4, 1])
    counts = np.unique(codes, return_counts=True)[1]
    assert counts.size == 24
    chi2 = np.sum((counts - 1000.0) ** 2 / 1000.0)
    assert chi2 < 56.0, chi2  # chi2_{23}: P(> 56) ~ 1.5e-4
    # a long row: a permutation, and each item's mean position (m-1)/2 within 5 sigma
    m = 802
    q = np.asarray(shuffle(jax.random.key(1), (4000,), m))
    assert np.all(np.sort(q, axis=1) == np.arange(m))
    pos = np.argsort(q, axis=1).mean(axis=0)
    sigma = np.sqrt((m * m - 1) / 12.0 / 4000)
    assert np.max(np.abs(pos - (m - 1) / 2)) < 5 * sigma


def test_permutations_are_honest_epochs_and_look_uniform():
    from physlearn.algorithms.runner import permutations

    # all 4! orders of 4 items and all 5! of 5 equally likely (chi-square; p < 2e-4 fails)
    for m, rows, limit in ((4, 24000, 56.0), (5, 60000, 185.0)):  # chi2_{23}, chi2_{119} at ~1.5e-4
        p = np.asarray(permutations(jax.random.key(m), (rows,), m))
        assert p.dtype == np.int32 and np.all(np.sort(p, axis=1) == np.arange(m))
        counts = np.unique(p @ (m ** np.arange(m)), return_counts=True)[1]
        expected = rows / math.factorial(m)
        assert counts.size == math.factorial(m)
        assert np.sum((counts - expected) ** 2 / expected) < limit
    # long rows: permutations; mean positions (m-1)/2 within 5 sigma; neighbours' positions
    # uncorrelated; items 0 and 1 share a minibatch of 80 as often as under a uniform shuffle
    m, rows = 802, 4000
    q = np.asarray(permutations(jax.random.key(1), (rows,), m))
    assert np.all(np.sort(q, axis=1) == np.arange(m))
    pos = np.argsort(q, axis=1)
    sigma = np.sqrt((m * m - 1) / 12.0 / rows)
    assert np.max(np.abs(pos.mean(axis=0) - (m - 1) / 2)) < 5 * sigma
    corr = np.corrcoef(pos[:, :-1].ravel(), pos[:, 1:].ravel())[0, 1]
    assert abs(corr + 1 / (m - 1)) < 5 / np.sqrt(rows * (m - 1))  # uniform: -1/(m-1)
    # P(same batch) for a uniform shuffle of 802 items in batches of 80 (10 full, one of 2)
    p_same = (10 * 80 * 79 + 2 * 1) / (m * (m - 1))
    together = np.mean(pos[:, 0] // 80 == pos[:, 1] // 80)
    assert abs(together - p_same) < 5 * np.sqrt(p_same * (1 - p_same) / rows)
    # rows differ, and m = 1 is the identity
    assert not np.array_equal(q[0], q[1])
    assert np.asarray(permutations(jax.random.key(0), (3,), 1)).tolist() == [[0], [0], [0]]


def test_minibatch_indices_cut_the_epoch_permutation():
    from physlearn.algorithms.rsgd import minibatch_indices
    from physlearn.algorithms.runner import permutations

    key = jax.random.key(3)
    for m, batch in ((802, 80), (40, 8), (7, 10)):
        idx = np.asarray(minibatch_indices(key, 3, m, batch))  # (nb, replicas, batch)
        nb = -(-m // batch)
        assert idx.shape == (nb, 3, batch)
        flat = idx.transpose(1, 0, 2).reshape(3, nb * batch)
        np.testing.assert_array_equal(flat[:, :m], np.asarray(permutations(key, (3,), m)))
        assert np.all(flat[:, m:] == -1)
