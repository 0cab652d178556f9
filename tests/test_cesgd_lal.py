"""Committee-machine rules of PNAS 117, 161 (2020): ceSGD (physlearn.algorithms.cesgd: the
cross-entropy loss, its gradient and limits), LAL / eLAL (physlearn.algorithms.lal, .elal: against a
hand-worked example and an independent NumPy loop), solving, honesty above capacity, batching,
validation."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.algorithms import cesgd, elal, lal, problems, schedules
from physlearn.algorithms.rsgd import minibatch_indices


def _const(v, dt):
    return schedules.constant(v).astype(dt)


def _np_problem(seed, n, alpha, k, arch, samples=None):
    """A random-pattern Problem built from NumPy arrays (no compiled generator: cheap in tests)."""
    rng = np.random.default_rng(seed)
    m = int(round(alpha * n * k))
    shape = (m, k, n) if arch == "tree" else (m, n)
    lead = () if samples is None else (samples,)
    x = rng.choice(np.array([-1, 1], np.int8), size=lead + shape)
    y = rng.choice(np.array([-1, 1], np.int8), size=lead + (m,))
    return problems.Problem(x, y, architecture=arch, k=k)


def _np_fields(W, x, tree):
    """Hidden fields (M, K) of one network W (K, n) in NumPy."""
    return np.einsum("mkn,kn->mk", x, W) if tree else x @ W.T


def _np_errors(W, x, sig, tree):
    tau = np.where(_np_fields(np.asarray(W, float), np.asarray(x, float), tree) > 0, 1, -1)
    out = np.where(tau.sum(-1) > 0, 1, -1)
    return int(np.sum(out != np.asarray(sig)))


# ------------------------------------------------------------------------------------------------
# LAL: hand-worked example and an independent NumPy epoch
# ------------------------------------------------------------------------------------------------
def test_lal_selection_hand_worked():
    # rows: (label, fields) -> unit chosen by hand
    h = jnp.array([[-5.0, -1.0, 3.0],   # +: votes (-,-,+) wrong; wrong units 0 (|5|), 1 (|1|) -> 1
                   [3.0, 1.0, -7.0],    # -: votes (+,+,-) wrong; wrong units 0, 1 -> 1
                   [3.0, -1.0, 5.0],    # +: right -> none
                   [-1.0, -1.0, 1.0],   # +: wrong; tie |h|=1 between units 0 and 1 -> 0
                   [-9.0, -3.0, -5.0]])  # +: all wrong -> smallest |h| is unit 1
    lab = jnp.array([1, -1, 1, 1, 1])
    expected = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(np.asarray(lal.lal_selection(h, lab)), expected)


def test_lal_step_hand_worked_tree():
    # tree K=3, n=3, one pattern with label +1; H chosen by hand:
    # W0 = (-1,-1, 1): h0 = xi0.W0 = -1-1+1 = -1
    # W1 = (-1, 1,-1): h1 = (1,-1,1).W1 = -1-1-1 = -3
    # W2 = ( 1, 1,-1): h2 = (-1,-1,1).W2 = -1-1-1 = -3
    # all three votes are -1 (wrong); the cheapest wrong unit is 0 (|h0| = 1): H0 += 2 * xi0.
    x = np.array([[[1, 1, 1], [1, -1, 1], [-1, -1, 1]]], np.int8)
    prob = problems.Problem(x, np.array([1], np.int8), architecture="tree")
    H0 = jnp.array([[[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, 1.0, -1.0]]])
    f = jnp.float32
    algo = lal.LAL(learning_rate=_const(2.0, f), lam=_const(0.0, f), gamma=_const(0.0, f), init_scale=f(1),
                   replicas=1, batch=1, synapses="binary", init_equal=True, dtype="float32")
    state = lal.LALState(H=H0, epoch=jnp.int32(0))
    step = eqx.filter_jit(algo.step)
    new, info = step(jax.random.key(0), state, prob)
    np.testing.assert_array_equal(np.asarray(new.H[0]), [[1, 1, 3], [-1, 1, -1], [1, 1, -1]])
    # votes are now (+,-,-): still wrong; the next epoch picks unit 1 (tie |h|=3 with unit 2)
    assert int(info.errors) == 1
    new2, _ = step(jax.random.key(1), new, prob)
    np.testing.assert_array_equal(np.asarray(new2.H[0]), [[1, 1, 3], [1, -1, 1], [1, 1, -1]])


def _np_lal_epoch(H, x, sig, idx, *, lr, lam, gamma, weights, tree):
    """Independent (e)LAL epoch: explicit loops over minibatches, replicas and patterns."""
    H = np.array(H, np.float64)
    y, K, _ = H.shape

    def readout(A):
        return np.where(A > 0, 1.0, -1.0) if weights == "binary" else A

    for ids in idx:  # (y, b)
        W = readout(H)
        G = np.zeros_like(H)
        for a in range(y):
            for mu in ids[a]:
                if mu < 0:
                    continue
                xm = x[mu] if tree else np.broadcast_to(x[mu], (K, x.shape[-1]))
                h = np.array([xm[k] @ W[a, k] for k in range(K)])
                tau = np.where(h > 0, 1, -1)
                if (1 if tau.sum() > 0 else -1) == sig[mu]:
                    continue
                cands = [k for k in range(K) if sig[mu] * tau[k] < 0]
                kstar = min(cands, key=lambda k: (abs(h[k]), k))
                G[a, kstar] += sig[mu] * xm[kstar]
        H = H + lr * G
        if y > 1:
            W = readout(H)
            target = np.tanh(gamma * W.sum(0)) if weights == "binary" else W.mean(0)
            H = H + lam * (target[None] - W)
    return H


@pytest.mark.parametrize(
    "weights,arch,k,replicas,batch",
    [
        ("binary", "committee", 3, 3, 4),   # eLAL, minibatches with a padded last one
        pytest.param("continuous", "tree", 3, 3, 1, marks=pytest.mark.slow),  # continuous eLAL, online
        pytest.param("binary", "tree", 3, 1, 1, marks=pytest.mark.slow),  # LAL (see the hand-worked test)
    ],
)
def test_lal_epoch_matches_numpy(weights, arch, k, replicas, batch):
    # alpha = 2 (M = 66 patterns, N = 33 weights): beyond capacity, see the end of the test
    prob = _np_problem(3, 11, 2.0, k, arch)
    lr, lam, gamma = (2.0, 0.37, 0.3) if weights == "binary" else (0.83, 0.21, 0.0)
    f = jnp.float64
    algo = lal.LAL(learning_rate=_const(lr, f), lam=schedules.exponential(lam, 1.1).astype(f),
                   gamma=schedules.linear(gamma, 0.01).astype(f), init_scale=f(1.0), replicas=replicas, batch=batch,
                   synapses=weights, init_equal=False, dtype="float64")
    state = algo.init(jax.random.key(4), prob)
    key = jax.random.key(5)
    step = eqx.filter_jit(algo.step)
    new, info = step(key, state, prob)
    idx = np.asarray(minibatch_indices(key, replicas, prob.m, batch))
    ref = _np_lal_epoch(np.asarray(state.H), np.asarray(prob.inputs, float), np.asarray(prob.labels),
                        idx, lr=lr, lam=lam, gamma=gamma, weights=weights, tree=prob.tree)
    np.testing.assert_allclose(np.asarray(new.H), ref, rtol=1e-12, atol=1e-12)
    assert not np.allclose(ref, np.asarray(state.H))  # the epoch did something
    # report and schedules
    W = np.asarray(new.H) if weights == "continuous" else np.where(np.asarray(new.H) > 0, 1, -1)
    x, s = np.asarray(prob.inputs, float), np.asarray(prob.labels)
    assert [int(e) for e in info.replica_errors] == [_np_errors(w, x, s, prob.tree) for w in W]
    C = W.mean(0) if weights == "continuous" else np.where(W.sum(0) > 0, 1, -1)
    if replicas == 1:
        C = W[0]
    assert int(info.errors) == _np_errors(C, x, s, prob.tree)
    assert float(info.lam) == pytest.approx(lam) and float(info.gamma) == pytest.approx(gamma)
    assert float(algo.lam(new.epoch)) == pytest.approx(lam * 1.1)
    assert float(algo.gamma(new.epoch)) == pytest.approx(gamma + 0.01)
    if weights == "binary":
        # for random labels P(some binary network solves it) <= 2^(N-M) = 2^-33 (first moment: a
        # fixed W is right on M independent uniform labels with probability 2^-M); 30 more epochs
        # never report a solution
        assert prob.m - prob.n_synapses == 33
        for t in range(30):
            new, info = step(jax.random.fold_in(key, t), new, prob)
            assert int(info.best_errors) > 0
        # a batch of two instances, vmapped, equals the instances one at a time
        other = _np_problem(4, 11, 2.0, k, arch)
        both = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), prob, other)
        states = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), state)
        keys = jnp.stack([key, jax.random.fold_in(key, 99)])
        newb, infob = eqx.filter_jit(eqx.filter_vmap(algo.step, in_axes=(0, 0, 0)))(keys, states, both)
        for i, (kk, pp) in enumerate([(keys[0], prob), (keys[1], other)]):
            ni, ii = step(kk, state, pp)
            np.testing.assert_array_equal(np.asarray(newb.H[i]), np.asarray(ni.H))
            np.testing.assert_array_equal(np.asarray(infob.replica_errors[i]), np.asarray(ii.replica_errors))


# ------------------------------------------------------------------------------------------------
# ceSGD: loss, gradient, limits, one epoch
# ------------------------------------------------------------------------------------------------
def test_ce_loss_function_identities():
    x = np.linspace(-3, 3, 61)
    for g in [0.5, 2.0, 40.0]:
        f = np.asarray(cesgd.ce_loss_fn(jnp.asarray(x), g))
        # the slides' form -x/2 + log(2 cosh(g x))/(2g)
        np.testing.assert_allclose(f, -x / 2 + np.log(2 * np.cosh(g * x)) / (2 * g), rtol=1e-12, atol=1e-14)
        # gamma -> inf: max(0, -x), uniformly within log(2)/(2 gamma), attained at x = 0
        gap = f - np.maximum(0, -x)
        assert np.all(gap >= 0) and np.all(gap <= math.log(2) / (2 * g) + 1e-15)
        assert gap[30] == pytest.approx(math.log(2) / (2 * g), rel=1e-12)
    np.testing.assert_array_equal(np.asarray(cesgd.ce_loss_fn(jnp.asarray(x), jnp.inf)), np.maximum(0, -x))
    # huge gamma * x: finite, no overflow
    assert np.isfinite(float(cesgd.ce_loss_fn(jnp.asarray(-50.0), 1e6)))


@pytest.mark.parametrize("arch,k", [("perceptron", 1), ("tree", 5),
                                    pytest.param("committee", 3, marks=pytest.mark.slow)])
def test_ce_loss_limit_counts_errors(arch, k):
    """beta, gamma -> inf: L -> sum over misclassified patterns of (2 n_fix - 1), counted here
    from the votes; for the perceptron that is the number of errors."""
    prob = _np_problem(10, 21, 1.0, k, arch)
    W = jnp.where(jax.random.bernoulli(jax.random.key(11), 0.5, (k, 21)), 1.0, -1.0)
    x, s = np.asarray(prob.inputs, float), np.asarray(prob.labels)
    tau = np.where(_np_fields(np.asarray(W), x, prob.tree) > 0, 1, -1)
    vote = tau.sum(-1)
    wrong = np.sign(vote) != s
    n_fix = (1 - s * vote) // 2
    count = int(np.sum(np.where(wrong, 2 * n_fix - 1, 0)))
    assert wrong.sum() > 0 and count >= wrong.sum()
    lim = float(cesgd.ce_loss(W, prob.inputs, prob.labels, beta=jnp.inf, gamma=jnp.inf, tree=prob.tree))
    assert lim == count
    if k == 1:  # the perceptron: n_fix = 1 on every error
        assert lim == wrong.sum()
    # large but finite beta, gamma: within M log2 / (2 gamma) (+ the tanh saturation, negligible)
    big = float(cesgd.ce_loss(W, prob.inputs, prob.labels, beta=200.0, gamma=1e4, tree=prob.tree))
    assert abs(big - count) <= prob.m * math.log(2) / 2e4 + 1e-9


@pytest.mark.parametrize(
    "arch,k,project",
    [("tree", 3, False),
     pytest.param("committee", 3, True, marks=pytest.mark.slow),
     pytest.param("committee", 3, False, marks=pytest.mark.slow),
     pytest.param("tree", 3, True, marks=pytest.mark.slow)],
)
def test_ce_gradient_equals_autodiff_and_finite_differences(arch, k, project):
    n = 15
    prob = _np_problem(20, n, 0.6, k, arch)
    if project:  # continuous weights on the sphere |W_k| = sqrt(n)
        w = jax.random.normal(jax.random.key(21), (k, n), dtype=jnp.float64)
        w = w * math.sqrt(n) / jnp.linalg.norm(w, axis=-1, keepdims=True)
    else:  # +-1 weights, norm held fixed (the straight-through gradient)
        w = jnp.where(jax.random.bernoulli(jax.random.key(21), 0.5, (k, n)), 1.0, -1.0).astype(jnp.float64)
    kw = dict(beta=1.3, gamma=0.7, tree=prob.tree)

    def loss(ww):
        return cesgd.ce_loss(ww, prob.inputs, prob.labels, normalize=project, **kw)

    g = np.asarray(cesgd.ce_gradient(w, prob.inputs, prob.labels, project=project, **kw))
    np.testing.assert_allclose(g, np.asarray(jax.grad(loss)(w)), rtol=1e-10, atol=1e-12)
    eps = 1e-6
    for idx in [(0, 0), (k - 1, n - 1), (k // 2, 7)]:
        e = jnp.zeros_like(w).at[idx].set(eps)
        fd = (float(loss(w + e)) - float(loss(w - e))) / (2 * eps)
        assert g[idx] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    if project:  # the loss depends only on the direction: the gradient is orthogonal to W_k
        np.testing.assert_allclose(np.sum(g * np.asarray(w), axis=-1), 0.0, atol=1e-10)



def _np_cesgd_epoch(H, x, sig, idx, *, lr, beta, gamma, weights, tree, clip):
    """Independent ceSGD epoch: per-pattern gradient of the slides' loss, in NumPy."""
    H = np.array(H, np.float64)
    K, n = H.shape
    for ids in idx:
        W = np.where(H > 0, 1.0, -1.0) if weights == "binary" else H
        G = np.zeros_like(H)
        ids = [mu for mu in ids if mu >= 0]
        for mu in ids:
            xm = x[mu] if tree else np.broadcast_to(x[mu], (K, n))
            z = np.array([xm[kk] @ W[kk] for kk in range(K)]) / np.sqrt(n)
            t = np.tanh(beta * z)
            dl = -1.0 / (1.0 + np.exp(2 * gamma * sig[mu] * t.sum()))  # f'_gamma
            for kk in range(K):
                dz = xm[kk] / np.sqrt(n)
                if weights == "continuous":
                    dz = dz - z[kk] * W[kk] / n
                G[kk] += dl * sig[mu] * beta * (1 - t[kk] ** 2) * dz
        H = H - lr * G / len(ids)
        if weights == "binary":
            H = np.clip(H, -clip, clip)
        else:
            H = H * np.sqrt(n) / np.linalg.norm(H, axis=-1, keepdims=True)
    return H


@pytest.mark.parametrize("weights,arch", [("binary", "tree"),
                                          pytest.param("continuous", "committee", marks=pytest.mark.slow)])
def test_cesgd_epoch_matches_numpy(weights, arch):
    prob = _np_problem(30, 9, 1.0, 3, arch)
    f = jnp.float64
    lr = 3.0 if weights == "binary" else 0.9
    algo = cesgd.CESGD(learning_rate=_const(lr, f), beta=schedules.exponential(1.7, 1.1).astype(f),
                       gamma=schedules.exponential(0.8, 1.2).astype(f), init_scale=f(0.1), clip=f(1.0), batch=4,
                       synapses=weights, dtype="float64")
    state = algo.init(jax.random.key(31), prob)
    key = jax.random.key(32)
    new, info = eqx.filter_jit(algo.step)(key, state, prob)
    idx = np.asarray(minibatch_indices(key, 1, prob.m, 4))[:, 0]
    ref = _np_cesgd_epoch(np.asarray(state.H), np.asarray(prob.inputs, float), np.asarray(prob.labels), idx,
                          lr=lr, beta=1.7, gamma=0.8, weights=weights, tree=prob.tree, clip=1.0)
    np.testing.assert_allclose(np.asarray(new.H), ref, rtol=1e-11, atol=1e-12)
    if weights == "binary":
        assert np.max(np.abs(ref)) == 1.0  # the clipping was active
    W = np.asarray(new.H) if weights == "continuous" else np.where(np.asarray(new.H) > 0, 1, -1)
    assert int(info.errors) == _np_errors(W, np.asarray(prob.inputs, float), np.asarray(prob.labels), prob.tree)
    assert float(info.beta) == pytest.approx(1.7) and float(info.gamma) == pytest.approx(0.8)
    assert float(algo.beta(new.epoch)) == pytest.approx(1.87) and float(algo.gamma(new.epoch)) == pytest.approx(0.96)


# ------------------------------------------------------------------------------------------------
# solving easy instances, honesty above capacity, batching
# ------------------------------------------------------------------------------------------------
def _check_result(res, prob):
    """Reported errors are those of the returned weights (independent count), solved <=> 0."""
    x, s = np.asarray(prob.inputs, float), np.asarray(prob.labels)
    W = np.asarray(res.weights, float)
    lead = W.shape[:-2]
    for i in np.ndindex(lead):
        samp = i[-1]
        assert int(np.asarray(res.errors)[i]) == _np_errors(W[i], x[samp], s[samp], prob.tree)
    np.testing.assert_array_equal(np.asarray(res.solved), np.asarray(res.errors) == 0)


_FAST_SLOW = schedules.exponential(1.0, [1.02, 1.002])
SOLVERS = {  # fixed settings, so that tests share compiled programs
    "ceSGD": lambda key, prob, max_steps: cesgd.solve(key, prob, schedule="slow", max_steps=max_steps),
    "ceSGD-fast+slow": lambda key, prob, max_steps: cesgd.solve(  # a hyper-parameter batch
        key, prob, beta=_FAST_SLOW, gamma=_FAST_SLOW, max_steps=max_steps),
    "LAL": lambda key, prob, max_steps: lal.solve(key, prob, max_steps=max_steps),
    "eLAL": lambda key, prob, max_steps: elal.solve(key, prob, replicas=3, max_steps=max_steps),
}


def _easy():
    # tree K=3, n=31, alpha=0.3, binary weights (benchmarks/committee_algorithms.py --quick: every
    # algorithm of the module solves all its instances at alpha = 0.4 and 0.6 at this size, except ceSGD-fast)
    return problems.random_patterns(jax.random.key(40), 31, 0.3, k=3, architecture="tree", samples=4)


@pytest.mark.parametrize("name", [pytest.param(k, marks=pytest.mark.slow) if "+" in k else k for k in SOLVERS])
def test_solves_easy_instances(name):
    easy = _easy()
    res = SOLVERS[name](jax.random.key(41), easy, 400)
    _check_result(res, easy)
    assert np.mean(np.asarray(res.solved), axis=-1).min() >= 0.75


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SOLVERS))
def test_fails_above_capacity(name):
    # for random labels P(some binary network is a solution) <= 2^(N-M) (first moment: every
    # fixed W is right on all M independent uniform labels with probability 2^-M); here 2^-33
    hard = problems.random_patterns(jax.random.key(42), 11, 2.0, k=3, architecture="tree", samples=2)
    assert hard.m - hard.n_synapses == 33
    res = SOLVERS[name](jax.random.key(43), hard, 30)
    _check_result(res, hard)
    assert not np.any(np.asarray(res.solved)) and np.all(np.asarray(res.steps) == 30)


def _cover_log2(m, n):
    """log2 of Cover's count 2 sum_{i<n} C(m-1, i) of homogeneous linear dichotomies of m points."""
    return math.log2(2 * sum(math.comb(m - 1, i) for i in range(n)))


@pytest.mark.slow
def test_continuous_weights_solve_and_respect_the_counting_bound():
    easy = problems.random_patterns(jax.random.key(50), 31, 1.0, k=3, architecture="tree", samples=2)
    for solver in (lal.solve, lambda *a, **k: elal.solve(*a, replicas=3, **k)):
        res = solver(jax.random.key(51), easy, synapses="continuous", max_steps=300)
        _check_result(res, easy)
        assert np.all(np.asarray(res.solved))
    res = cesgd.solve(jax.random.key(52), easy, synapses="continuous", max_steps=600)
    _check_result(res, easy)
    assert np.any(np.asarray(res.solved))
    np.testing.assert_allclose(np.linalg.norm(np.asarray(res.weights), axis=-1), math.sqrt(31), rtol=1e-5)
    # a tree committee realises at most C(M, n)^K of the 2^M labellings (Cover 1965, per hidden
    # unit): P(random labels are realisable) <= 2^(K log2 C(M, n) - M) < 1e-9 here
    hard = problems.random_patterns(jax.random.key(53), 5, 12.0, k=3, architecture="tree", samples=2)
    assert 3 * _cover_log2(hard.m, 5) - hard.m < -30
    res = lal.solve(jax.random.key(54), hard, synapses="continuous", max_steps=20)
    _check_result(res, hard)
    assert not np.any(np.asarray(res.solved))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["eLAL", "ceSGD-fast+slow"])
def test_batched_equals_single_sample(name):
    # the batched run is test_solves_easy_instances' (compiled once per session)
    easy, key = _easy(), jax.random.key(41)
    rb = SOLVERS[name](key, easy, 400)
    for i in (0, 3):
        ri = SOLVERS[name](jax.random.fold_in(key, i), easy.sample(i), 400)
        for field in ("steps", "errors", "solved", "weights", "replica_errors"):
            axis = {"weights": -3, "replica_errors": -2}.get(field, -1)  # the sample axis
            np.testing.assert_array_equal(np.asarray(getattr(ri, field)),
                                          np.take(np.asarray(getattr(rb, field)), i, axis=axis))


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn,kwargs,match",
    [
        (cesgd.solve, dict(schedule="medium"), "schedule"),
        (cesgd.solve, dict(synapses="ternary"), "synapses"),
        (cesgd.solve, dict(learning_rate=-1.0), "learning_rate"),
        (cesgd.solve, dict(beta=0.0), "beta"),
        (cesgd.solve, dict(gamma=schedules.exponential(-1.0, 1.0)), "gamma"),
        (cesgd.solve, dict(batch=0), "batch"),
        (cesgd.solve, dict(beta=[1.0, 2.0], gamma=[1.0, 2.0, 3.0]), "equal lengths"),
        (lal.solve, dict(max_steps=0), "max_steps"),
        (lal.solve, dict(learning_rate=float("inf")), "learning_rate"),
        (lal.solve, dict(synapses="real"), "synapses"),
        (elal.solve, dict(replicas=0), "replicas"),
        (elal.solve, dict(lam=-0.1), "lam"),
        (elal.solve, dict(dtype=jnp.int32), "dtype"),
    ],
)
def test_validation(fn, kwargs, match):
    prob = _np_problem(0, 11, 0.5, 3, "tree")
    with pytest.raises(ValueError, match=match):
        fn(jax.random.key(0), prob, **kwargs)
    with pytest.raises(ValueError, match="problem"):
        fn(jax.random.key(0), np.ones((5, 3, 11)))
