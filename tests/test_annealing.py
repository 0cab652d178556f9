"""Replicated / standard / quantum simulated annealing (physlearn.algorithms.replicated_sa,
standard_sa, quantum_sa on the engine of physlearn.algorithms.annealing)."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from physlearn.algorithms import (_network, annealing, energies, problems, quantum_sa, replicated_sa, schedules,
                                  standard_sa)

F32 = jnp.float32
SOLVERS = {"replicated": replicated_sa.solve, "standard": standard_sa.solve, "quantum": quantum_sa.solve}


def _algo(kind="replicated", interaction="traced", energy="minflip", proposal="uniform", y=3, beta=1.0, gamma=0.5,
          field=1.0, moves=1, init_equal=False, dtype=F32, **sched):
    """A fixed-temperature chain (no schedule, no give-up, no stop at zero energy) unless ``sched``
    gives ``beta``/``gamma`` schedules."""
    def as_schedule(v):
        return (v if isinstance(v, schedules.Schedule) else schedules.constant(v)).astype(dtype)

    beta = as_schedule(sched.pop("beta_schedule", beta))
    common = dict(
        replicas=y, energy=energy, proposal=proposal, schedule_every=sched.pop("schedule_every", 10**6),
        give_up=2**30, restarts=0, max_steps=2**30, moves_per_step=moves, init_equal=init_equal,
        stop_at_solution=False, dtype=jnp.dtype(dtype).name,
    )
    if kind == "replicated":
        gamma = as_schedule(sched.pop("gamma_schedule", gamma))
        return replicated_sa.ReplicatedSA(beta=beta, gamma=gamma, interaction=interaction, **common)
    if kind == "quantum":
        return quantum_sa.QuantumSA(beta=beta, field=as_schedule(field), **common)
    return standard_sa.StandardSA(beta=beta, **common)


# ------------------------------------------------------------------------------------------------
# 1. energy bookkeeping: incremental == recomputed after every move (property test)
# ------------------------------------------------------------------------------------------------
_BOOK_CASES = {
    # name: (architecture, k, n, alpha, algorithm kwargs)
    "perceptron-traced-minflip": ("perceptron", 1, 11, 0.9, dict(energy="minflip", beta=0.3, gamma=0.7)),
    "committee-explicit-errors": ("committee", 3, 7, 0.9, dict(interaction="explicit", energy="errors", beta=0.3)),
    "tree-quantum-minflip-biased": ("tree", 3, 5, 0.9, dict(kind="quantum", proposal="biased", beta=0.5, field=0.8)),
}
_BOOK_FNS = {}


def _bookkeeping_fn(name):
    if name in _BOOK_FNS:
        return _BOOK_FNS[name]
    arch, k, n, alpha, kw = _BOOK_CASES[name]
    algo = _algo(**kw)

    @jax.jit
    def check(key, prob):
        k0, k1 = jax.random.split(key)
        st0 = algo.init(k0, prob)

        def body(s, kk):
            s2, _ = algo.step(kk, s, prob)
            W = s2.W.astype(F32)
            E = energies.num_errors(W, prob) if algo.energy == "errors" else energies.min_flips_energy(W, prob)
            ok_e = jnp.all(E.astype(jnp.int32) == s2.energy)
            stab = jnp.swapaxes(energies.stabilities(W, prob), -1, -2).astype(jnp.int32)  # (y, K, M)
            ok_s = jnp.all(stab == s2.stab)
            ok_w = jnp.all(jnp.sum(s2.W.astype(jnp.int32), axis=0) == s2.wsum)
            return s2, ok_e & ok_s & ok_w

        s_end, ok = jax.lax.scan(body, st0, jax.random.split(k1, 400))
        return ok, s_end.accepted

    _BOOK_FNS[name] = (check, arch, k, n, alpha)
    return _BOOK_FNS[name]


@pytest.mark.parametrize("name", sorted(_BOOK_CASES))
@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_incremental_energy_equals_recomputed_after_every_move(name, seed):
    check, arch, k, n, alpha = _bookkeeping_fn(name)
    key = jax.random.key(seed)
    prob = problems.random_patterns(jax.random.fold_in(key, 1), n, alpha, k=k, architecture=arch)
    ok, accepted = check(key, prob)
    assert bool(jnp.all(ok)), f"bookkeeping broke at move {int(np.argmin(np.asarray(ok)))}"
    assert int(accepted) > 50  # the check saw many accepted moves


# ------------------------------------------------------------------------------------------------
# 2. detailed balance: empirical distribution vs exact Boltzmann weights (enumeration)
# ------------------------------------------------------------------------------------------------
def _minflip_np(W, X, sig):
    """Perceptron min-flip energy, W (..., N) +-1, X (M, N), sig (M,) -> (...)."""
    d = (W @ X.T) * sig
    return np.sum(np.where(d < 0, (1 - d) // 2, 0), axis=-1)


def _log_weights(variant, X, sig, y, n, beta, gamma, field):
    """Exact log Boltzmann weights of every configuration, in the order of _encode."""
    n_spins = y * n + (n if variant == "explicit" else 0)
    conf = np.array(list(itertools.product([-1, 1], repeat=n_spins)), dtype=np.int64)[:, ::-1]  # bit j = spin j
    W = conf[:, : y * n].reshape(-1, y, n)
    E = _minflip_np(W, X, sig)  # (C, y)
    S = W.sum(axis=1)  # (C, n)
    if variant == "traced":
        return -beta * E.sum(1) + np.sum(np.log(2 * np.cosh(gamma * S)), axis=1)
    if variant == "explicit":
        Wc = conf[:, y * n:]
        return -beta * E.sum(1) + gamma * np.sum(Wc * S, axis=1)
    if variant == "quantum":
        g = np.arctanh(np.exp(-2 * beta * field / y))
        ring = np.sum(W * np.roll(W, -1, axis=1), axis=(1, 2))
        return -(beta / y) * E.sum(1) + g * ring
    raise AssertionError(variant)


def _encode(W, Wc, explicit):
    """Configuration index: spin j = (replica a, site i) -> bit a*n + i (reference after)."""
    W = np.asarray(W).reshape(W.shape[0], -1)
    if explicit:
        W = np.concatenate([W, np.asarray(Wc).reshape(Wc.shape[0], -1)], axis=1)
    bits = (W > 0).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1], dtype=np.int64))


def _chi2_pvalue(counts, logw):
    p = np.exp(logw - logw.max())
    p /= p.sum()
    expected = p * counts.sum()
    order = np.argsort(expected)
    # pool the rarest states until every bin expects >= 5
    obs, exp, acc_o, acc_e = [], [], 0.0, 0.0
    for j in order:
        acc_o += counts[j]
        acc_e += expected[j]
        if acc_e >= 5:
            obs.append(acc_o)
            exp.append(acc_e)
            acc_o = acc_e = 0.0
    if acc_e > 0:
        obs[-1] += acc_o
        exp[-1] += acc_e
    return stats.chisquare(obs, exp).pvalue


_DB_CASES = [
    # variant, kind/interaction/proposal, y, beta, gamma, field
    ("traced", dict(), 3, 1.0, 0.6, 1.0),
    ("traced", dict(proposal="biased"), 3, 1.0, 0.6, 1.0),
    ("explicit", dict(interaction="explicit"), 2, 1.0, 0.5, 1.0),
    ("quantum", dict(kind="quantum"), 3, 1.5, 0.0, 0.8),
]


@pytest.mark.parametrize("variant,kw,y,beta,gamma,field", _DB_CASES)
def test_detailed_balance_matches_exact_boltzmann(variant, kw, y, beta, gamma, field):
    n, chains, burn = 3, 8192, 400
    prob = problems.random_patterns(jax.random.key(7), n, 1.0)  # M = 3 patterns
    X = np.asarray(prob.inputs, np.int64)
    sig = np.asarray(prob.labels, np.int64)
    algo = _algo(y=y, beta=beta, gamma=gamma, field=field, moves=burn, **kw)

    def chain(key):  # random start, then one block of `burn` moves at fixed beta, gamma
        k0, k1 = jax.random.split(key)
        return algo.step(k1, algo.init(k0, prob), prob)[0]

    # 8192 chains x 400 moves: long enough that XLA's level 1 beats the tests' level 0 (conftest.py)
    run = jax.jit(jax.vmap(chain), compiler_options={"xla_backend_optimization_level": 1})
    final = run(jax.random.split(jax.random.key(11), chains))
    explicit = variant == "explicit"
    idx = _encode(final.W[:, :, 0, :], final.Wc[:, 0, :], explicit)
    n_states = 2 ** (y * n + (n if explicit else 0))
    counts = np.bincount(idx, minlength=n_states).astype(float)
    logw = _log_weights(variant, X, sig, y, n, beta, gamma, field)
    assert _chi2_pvalue(counts, logw) > 1e-3
    # the test has power: slightly wrong measures (beta 20% off; coupling off) are rejected
    assert _chi2_pvalue(counts, _log_weights(variant, X, sig, y, n, 1.2 * beta, gamma, field)) < 1e-6
    if variant == "quantum":
        wrong = _log_weights(variant, X, sig, y, n, beta, gamma, 1.3 * field)
    else:
        wrong = _log_weights(variant, X, sig, y, n, beta, 1.5 * gamma, field)
    assert _chi2_pvalue(counts, wrong) < 1e-6


# ------------------------------------------------------------------------------------------------
# 3. solving: defaults work out of the box; gamma = 0 is standard SA
# ------------------------------------------------------------------------------------------------
def _p201():
    # one problem shape for the solve tests: programs compiled for the defaults are reused
    return problems.random_patterns(jax.random.key(3), 201, 0.3, samples=2)


@pytest.mark.parametrize("kind", sorted(SOLVERS))
def test_defaults_solve_perceptron(kind):
    prob = _p201()
    res = SOLVERS[kind](jax.random.key(4), prob)
    assert res.solved.shape == (2,) and bool(jnp.all(res.solved))
    np.testing.assert_array_equal(np.asarray(res.errors), 0)
    W = res.weights.astype(F32)
    np.testing.assert_array_equal(np.asarray(jax.vmap(energies.num_errors)(W, prob)), 0)
    assert res.weights.shape == (2, 1, 201) and res.weights.dtype == jnp.int8
    assert not bool(jnp.any(res.gave_up)) and int(jnp.max(res.restarts)) == 0
    steps = np.asarray(res.steps)
    assert np.all(steps > 0) and np.all(steps < 20_000_000)
    assert np.all(np.asarray(res.accepted) <= steps)
    # the run stopped at the first zero-energy replica: some replica has zero errors
    assert np.all(np.min(np.asarray(res.replica_errors), axis=-1) == 0)


@pytest.mark.slow
def test_committee_solves_with_defaults():
    prob = problems.random_patterns(jax.random.key(5), 21, 0.3, k=3, architecture="committee", samples=2)
    res = replicated_sa.solve(jax.random.key(6), prob)
    assert bool(jnp.all(res.solved))
    np.testing.assert_array_equal(np.asarray(jax.vmap(energies.num_errors)(res.weights.astype(F32), prob)), 0)


def test_gamma_zero_is_standard_sa():
    prob = _p201()
    a = standard_sa.solve(jax.random.key(9), prob)
    b = replicated_sa.solve(jax.random.key(9), prob, beta=schedules.exponential(2.0, 1.01), gamma=0.0)
    assert bool(jnp.all(a.solved))
    for name in ("solved", "steps", "accepted", "weights", "replica_errors", "beta"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)), err_msg=name)
    # ... and not by accident: with the interaction on, the trajectory differs
    c = replicated_sa.solve(jax.random.key(9), prob, beta=schedules.exponential(2.0, 1.01), gamma=1.0)
    assert not np.array_equal(np.asarray(a.steps), np.asarray(c.steps))


def test_batched_equals_per_sample_and_runs_axis():
    prob = _p201()
    key = jax.random.key(10)
    batch = replicated_sa.solve(key, prob)
    for i in range(2):
        one = replicated_sa.solve(jax.random.fold_in(key, i), prob.sample(i))
        assert int(one.steps) == int(batch.steps[i])
        np.testing.assert_array_equal(np.asarray(one.weights), np.asarray(batch.weights[i]))
    runs = replicated_sa.solve(key, prob.sample(0), runs=2)
    assert runs.steps.shape == (2,) and bool(jnp.all(runs.solved))
    # run r of a single instance is batch element r: fold_in(key, r)
    assert int(runs.steps[0]) == int(batch.steps[0])
    assert int(runs.steps[1]) != int(runs.steps[0])


# ------------------------------------------------------------------------------------------------
# 4. freezing, give-up, restarts, exact move budget, hyper-parameter batches, trace
# ------------------------------------------------------------------------------------------------
def test_freezing_give_up_restarts_budget_hyper_batch_and_trace():
    # far above capacity (unsatisfiable): the cold chains (beta = 30) freeze in a local minimum,
    # are restarted twice and then give up; the hot ones (beta = 0.3) never freeze and use the
    # whole budget, exactly (12345 is not a multiple of the block)
    prob = problems.random_patterns(jax.random.key(12), 21, 2.0, samples=2)
    res = replicated_sa.solve(
        jax.random.key(14), prob, beta=schedules.exponential([30.0, 0.3], 1.01), give_up=300, restarts=2,
        max_steps=12_345, moves_per_step=1000, trace=True,
    )
    assert res.steps.shape == (2, 2) and not bool(jnp.any(res.solved))
    cold, hot = 0, 1
    assert bool(jnp.all(res.gave_up[cold])) and not bool(jnp.any(res.gave_up[hot]))
    np.testing.assert_array_equal(np.asarray(res.restarts[cold]), 2)
    np.testing.assert_array_equal(np.asarray(res.restarts[hot]), 0)
    steps = np.asarray(res.steps)
    assert np.all(steps[cold] >= 3 * 300) and np.all(steps[cold] < 12_345)
    np.testing.assert_array_equal(steps[hot], 12_345)
    moves = np.asarray(res.trace.moves)  # (P, S, blocks)
    np.testing.assert_array_equal(moves[hot, :, 12], 12_345)
    assert np.all(np.diff(moves[hot, :, :13], axis=-1) > 0)
    assert np.all(np.asarray(res.trace.acceptance)[hot, :, :12] > 0.05)
    halted = np.asarray(res.trace.halted)
    assert np.all(halted[hot, :, 12]) and not np.any(halted[hot, :, :12])


# ------------------------------------------------------------------------------------------------
# 5. validation at the public boundary (before compilation)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind,kwargs,match",
    [
        ("replicated", dict(beta=-1.0), "beta"),
        ("replicated", dict(beta=float("nan")), "beta"),
        ("replicated", dict(beta=float("inf")), "beta"),
        ("replicated", dict(beta=schedules.exponential(-1.0, 1.01)), "beta"),
        ("replicated", dict(gamma=-0.5), "gamma"),
        ("replicated", dict(gamma=float("nan")), "gamma"),
        ("quantum", dict(field=0.0), "field"),
        ("quantum", dict(field=schedules.exponential(0.0, 0.99)), "field"),
        ("quantum", dict(replicas=1), "replicas"),
        ("replicated", dict(replicas=0), "replicas"),
        ("standard", dict(replicas=2.5), "replicas"),
        ("replicated", dict(interaction="centre"), "interaction"),
        ("replicated", dict(energy="hinge"), "energy"),
        ("standard", dict(proposal="gibbs"), "proposal"),
        ("replicated", dict(max_steps=0), "max_steps"),
        ("replicated", dict(max_steps=2**31), "max_steps"),
        ("quantum", dict(moves_per_step=0), "moves_per_step"),
        ("replicated", dict(give_up=0), "give_up"),
        ("replicated", dict(schedule_every=True), "schedule_every"),
        ("standard", dict(restarts=-1), "restarts"),
        ("replicated", dict(runs=0), "runs"),
        ("replicated", dict(stop="first"), "stop"),
        ("replicated", dict(beta=np.array([1.0, 2.0]), gamma=np.array([1.0, 2.0, 3.0])), "equal lengths"),
        ("replicated", dict(dtype=jnp.int32), "dtype"),
    ],
)
def test_validation(kind, kwargs, match):
    prob = problems.random_patterns(jax.random.key(0), 11, 0.5)
    with pytest.raises(ValueError, match=match):
        SOLVERS[kind](jax.random.key(0), prob, **kwargs)


@pytest.mark.parametrize("kind,old,new", [
    ("replicated", "beta0", "beta"), ("replicated", "gamma_factor", "gamma="), ("replicated", "max_moves", "max_steps"),
    ("quantum", "field_factor", "field="), ("standard", "gamma0", "replicated_sa"), ("replicated", "kind", "replicated_sa"),
])
def test_old_keywords_name_the_new_ones(kind, old, new):
    prob = problems.random_patterns(jax.random.key(0), 11, 0.5)
    with pytest.raises(TypeError, match=new):
        SOLVERS[kind](jax.random.key(0), prob, **{old: 1.0})


def test_validation_problem():
    for solve in SOLVERS.values():
        with pytest.raises(ValueError, match="problem"):
            solve(jax.random.key(0), np.ones((3, 5)))


def test_deprecated_solve_kind_dispatches():
    prob = problems.random_patterns(jax.random.key(0), 11, 0.5)
    with pytest.warns(DeprecationWarning, match="standard_sa"):
        old = annealing.solve(jax.random.key(1), prob, kind="standard", max_steps=5000)
    new = standard_sa.solve(jax.random.key(1), prob, max_steps=5000)
    assert int(old.steps) == int(new.steps)
    with pytest.raises(AttributeError, match="ReplicatedSA"):
        annealing.Annealing  # noqa: B018


# ------------------------------------------------------------------------------------------------
# 6. the benchmark's NumPy baseline follows the same trajectory as physlearn
# ------------------------------------------------------------------------------------------------
def _load_bench():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_annealing.py"
    spec = importlib.util.spec_from_file_location("bench_annealing", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_block_matches_numpy_reference():
    bench = _load_bench()
    n, y, B = 21, 3, 3000
    prob = problems.random_patterns(jax.random.key(20), n, 1.0)
    algo = _algo(y=y, moves=B, dtype=jnp.float64, beta_schedule=schedules.exponential(0.5, 1.05),
                 gamma_schedule=schedules.exponential(0.8, 1.05), schedule_every=50)
    st0 = algo.init(jax.random.key(21), prob)
    key = jax.random.key(22)
    st1, info = jax.jit(lambda k, s, p: algo.step(k, s, p))(key, st0, prob)
    bits = np.asarray(jax.random.bits(key, (B, 2), dtype=jnp.uint32))  # the step's draws
    r = (bits[:, 0] % np.uint32(y * n)).astype(np.int64)[:, None]
    u = bench.unit_uniform(bits[:, 1])[:, None]
    XT = (np.asarray(prob.inputs, np.int32) * np.asarray(prob.labels, np.int32)[:, None]).T[None]
    ref = bench.numpy_anneal(
        np.asarray(st0.W)[:, 0, :][None], XT, r, u, beta=0.5, gamma=0.8, beta_factor=1.05,
        gamma_factor=1.05, schedule_every=50, dtype=np.float64,
    )
    assert int(st1.moves) == B and 300 < int(st1.accepted) < B
    assert int(st1.accepted) == int(ref["accepted"][0])
    np.testing.assert_array_equal(np.asarray(st1.W)[:, 0, :], ref["W"][0])
    np.testing.assert_array_equal(np.asarray(st1.energy), ref["energy"][0])
    np.testing.assert_array_equal(np.asarray(st1.stab)[:, 0, :], ref["stab"][0])
    assert float(st1.beta) == pytest.approx(float(ref["beta"][0]), rel=1e-12)
    assert float(st1.gamma) == pytest.approx(float(ref["gamma"][0]), rel=1e-12)
    assert float(info.acceptance) == pytest.approx(int(st1.accepted) / B)


@settings(max_examples=50, deadline=None)
@given(st.floats(-3.0, 3.0), st.floats(0.5, 4.0), st.floats(1e-3, 0.05))
def test_scaling_fits_recover_exact_power_laws_and_exponentials(a, b, c):
    ns = np.array([51.0, 101.0, 201.0, 401.0])
    power = annealing.scaling_fits(ns, np.exp(a) * ns**b)
    assert power["power"][1] == pytest.approx(b, rel=1e-10) and power["power"][2] < 1e-10
    assert power["power"][0] == pytest.approx(a, abs=1e-9)
    expo = annealing.scaling_fits(ns, np.exp(a + c * ns))
    assert expo["exp"][1] == pytest.approx(c, rel=1e-9) and expo["exp"][2] < 1e-10
    # each law is curved in the other's coordinates: a strictly worse fit there
    assert power["exp"][2] > 1e-3 and expo["power"][2] > 1e-4


def test_scaling_fits_drop_unsolved_points_and_validate():
    ns = np.array([51, 101, 151])
    fit = annealing.scaling_fits(ns, np.array([10.0, 40.0, np.inf]))
    assert fit["power"][1] == pytest.approx(np.log(4.0) / np.log(101 / 51))
    with pytest.raises(ValueError, match="at least two"):
        annealing.scaling_fits(ns, np.array([10.0, np.inf, np.inf]))
    with pytest.raises(ValueError, match="equal length"):
        annealing.scaling_fits(ns, np.array([1.0, 2.0]))


def test_moves_to_solution_takes_the_best_point_per_instance():
    prob = problems.random_patterns(jax.random.key(3), 31, 0.3, samples=3)
    res = replicated_sa.solve(jax.random.key(4), prob, beta=schedules.exponential([1.0, 2.0], 1.01),
                              gamma=schedules.exponential([1.0, 0.0], 1.01), max_steps=20_000, moves_per_step=500)
    steps = np.where(np.asarray(res.solved), np.asarray(res.steps, float), np.inf)
    np.testing.assert_array_equal(annealing.moves_to_solution(res), steps.min(axis=0))
    np.testing.assert_array_equal(annealing.moves_to_solution(res, slice(1, None)), steps[1])
    assert np.isfinite(annealing.moves_to_solution(res)).all()  # alpha = 0.3 is easy
    one = replicated_sa.solve(jax.random.key(4), prob, max_steps=20_000, moves_per_step=500)
    with pytest.raises(ValueError, match=r"\(P, S\)"):
        annealing.moves_to_solution(one)


@pytest.mark.parametrize("K", [2, 3, 5, 8, 9])
def test_committee_minflip_network_equals_sort(K, monkeypatch):
    """The sorting network of the committee min-flip energy gives the same per-pattern energies as
    sorting the units' costs (the form it replaced), ties and units that cannot fix included."""
    rng = np.random.default_rng(K)
    stab = jnp.asarray(rng.integers(-9, 10, size=(K, 64, 7)), jnp.int32)
    got = np.asarray(annealing._energies(stab, "minflip", 0))
    monkeypatch.setattr(_network, "NETWORK_SORT_MAX", 0)
    ref = np.asarray(annealing._energies(stab, "minflip", 0))
    np.testing.assert_array_equal(got, ref)
    assert got.min() >= 0 and got.max() > 0


@pytest.mark.parametrize("m", [1, 10, 32, 33, 100, 1024, 1203])
def test_packed_columns_round_trip(m):
    """The moves gather the pattern columns bit-packed: unpacking gives back the +-1 column in the
    padded `_pattern_dims` layout, 0 on the padding."""
    rng = np.random.default_rng(m)
    xs = jnp.asarray(rng.choice([-1, 1], size=(2, 5, m)), jnp.int8)
    xs_p = annealing._to_pattern_dims(xs, 0)
    words = annealing._pack_columns(xs_p)
    assert words.shape == xs_p.shape[:-1] and words.dtype == jnp.uint32
    for k, i in [(0, 0), (1, 4), (0, 2)]:
        col = annealing._unpack_column(words[k, i], xs_p.shape[-1], m)
        np.testing.assert_array_equal(np.asarray(col), np.asarray(xs_p[k, i], np.int32))
