"""K-SAT solvers: BPGD, rBP, fBP, WalkSAT -- solutions verified against the instance and against
PySAT's complete solver, counters checked against recomputation, schedules and validation."""

import equinox as eqx
import numpy as np
import jax
import jax.numpy as jnp
import pytest

from physlearn.algorithms import ksat, schedules
from physlearn.algorithms.ksat import bpgd, focusing, walksat

pysat_solvers = pytest.importorskip("pysat.solvers")

SOLVERS = {
    "bpgd": lambda key, p, **kw: bpgd.solve(key, p, **kw),
    "rbp": lambda key, p, **kw: focusing.solve_rbp(key, p, **kw),
    "fbp": lambda key, p, **kw: focusing.solve_fbp(key, p, **kw),
    "walksat": lambda key, p, **kw: walksat.solve(key, p, max_steps=200_000, **kw),
}


def pysat_satisfiable(p):
    with pysat_solvers.Solver(name="cadical153", bootstrap_with=ksat.to_clauses(p)) as s:
        return s.solve()


@pytest.fixture(scope="module")
def easy():
    return ksat.random_ksat(jax.random.key(11), 300, 3.0, 3, samples=3)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_solves_easy_instances_and_verifies(name, easy):
    r = SOLVERS[name](jax.random.key(1), easy, progress=False)
    e = np.asarray(ksat.num_violated(r.weights, easy))
    np.testing.assert_array_equal(e, np.asarray(r.errors))
    np.testing.assert_array_equal(np.asarray(r.solved), e == 0)
    assert bool(np.all(r.solved)), (name, r.errors)
    assert r.weights.shape == (3, 300) and r.weights.dtype == jnp.int8
    assert np.all(np.asarray(r.steps) >= 1)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_never_claims_an_unsatisfiable_instance(name):
    """N = 20 at alpha = 9: PySAT proves both instances UNSAT; no solver reports a solution."""
    p = ksat.random_ksat(jax.random.key(5), 20, 9.0, 3, samples=2)
    assert not any(pysat_satisfiable(p.sample(s)) for s in range(2))
    kw = {"max_steps": 300} if name != "walksat" else {}
    r = SOLVERS[name](jax.random.key(2), p, progress=False, **kw) if name != "walksat" else walksat.solve(
        jax.random.key(2), p, max_steps=20_000, progress=False)
    assert not np.any(np.asarray(r.solved)) and np.all(np.asarray(r.errors) > 0)


def test_bpgd_stops_on_contradiction():
    p = ksat.random_ksat(jax.random.key(5), 20, 9.0, 3)
    r = bpgd.solve(jax.random.key(0), p, fraction=0.1, max_steps=2000)
    assert bool(r.contradiction) and int(r.steps) < 2000
    assert 1 <= int(r.n_fixed) <= 20 and int(r.rounds) >= 1


def test_bpgd_trace_fixes_a_fraction_per_round(getkey):
    p = ksat.random_ksat(getkey(), 200, 3.8, 3)
    r = bpgd.solve(getkey(), p, fraction=0.05, trace=True, max_steps=400)
    nf = np.asarray(r.trace.n_fixed)[: int(r.steps)]
    steps = np.diff(nf)
    assert np.all(steps >= 0) and set(np.unique(steps)) <= {0, 10}


def test_bpgd_pure_decimation_solves_with_the_fixed_variables_alone(getkey):
    """order="random", readout="fixed", one variable per round: a reported solution has every clause
    satisfied by a decimated variable (the reduced formula is empty)."""
    p = ksat.random_ksat(getkey(), 100, 2.5, 3)
    kw = dict(fraction=0.01, epsilon=1e-3, sweeps_per_round=50, max_steps=5000, progress=False)
    r = bpgd.solve(jax.random.key(3), p, order="random", readout="fixed", **kw)
    assert bool(r.solved), (r.errors, r.contradiction)
    assert int(ksat.num_violated(r.weights, p)) == 0
    c, s = np.asarray(p.clauses), np.asarray(p.signs)
    fixed, x = np.asarray(r.fixed), np.asarray(r.weights)
    assert np.all((fixed[c] & (x[c] == s)).any(-1))
    assert int(r.rounds) == int(r.n_fixed)  # one variable per round


def test_walksat_counters_match_recomputation(getkey):
    p = ksat.random_ksat(getkey(), 400, 4.2, 3)
    deg = int(np.bincount(np.asarray(p.clauses).ravel()).max())
    algo = walksat.WalkSAT(noise=jnp.asarray(0.5, jnp.float32), dmax=deg, max_flips=10**6, flips_per_step=137)
    st = algo.init(getkey(), p)
    for _ in range(3):
        st, info = eqx.filter_jit(algo.step)(getkey(), st, p)
        lit = np.asarray(jnp.take(st.x, p.clauses, axis=0) == p.signs)
        ntrue = lit.sum(-1)
        np.testing.assert_array_equal(np.asarray(st.ntrue)[: p.m], ntrue)
        assert np.all(np.asarray(st.ntrue)[p.m:] == 1)
        assert int(st.n_unsat) == int(np.sum(ntrue == 0)) == int(info.errors)
        bs = st.ntrue.shape[0] // st.block_unsat.shape[0]
        np.testing.assert_array_equal(np.asarray(st.block_unsat), (np.asarray(st.ntrue) == 0).reshape(-1, bs).sum(-1))
    assert int(st.flips) == 3 * 137 or int(st.n_unsat) == 0


def test_edge_table(getkey):
    p = ksat.random_ksat(getkey(), 50, 4.0, 4)
    deg = np.bincount(np.asarray(p.clauses).ravel(), minlength=50)
    t = np.asarray(walksat.edge_table(p, int(deg.max()) + 2))
    flat = np.asarray(p.clauses).ravel()
    for i in range(50):
        row = t[i][t[i] < flat.size]
        assert len(row) == deg[i] and np.all(flat[row] == i) and np.all(np.diff(row) > 0)


def test_walksat_runs_axis_and_key_layout(getkey):
    p = ksat.random_ksat(getkey(), 100, 3.5, 3, samples=2)
    key = getkey()
    r = walksat.solve(key, p, runs=3, max_steps=5000, progress=False)
    assert r.solved.shape == (2, 3) and r.weights.shape == (2, 3, 100)
    one = walksat.solve(jax.random.fold_in(key, 1 * 3 + 2), p.sample(1), max_steps=5000, progress=False)
    np.testing.assert_array_equal(np.asarray(one.weights), np.asarray(r.weights[1, 2]))
    assert int(one.steps) == int(r.steps[1, 2])


def test_walksat_flip_budget_is_exact(getkey):
    p = ksat.random_ksat(getkey(), 300, 4.26, 3)
    r = walksat.solve(getkey(), p, max_steps=1234, flips_per_step=100, noise=0.0, progress=False)
    assert int(r.steps) <= 1234 and (bool(r.solved) or int(r.steps) == 1234)


def test_schedules_and_validation(getkey):
    p = ksat.random_ksat(getkey(), 50, 3.0, 3)
    r = focusing.solve_fbp(getkey(), p, gamma=lambda k: 0.1 * k, y=3.0, max_steps=50, trace=True)
    g = np.asarray(r.trace.parameter)[: int(r.steps)]
    ks = np.asarray(r.trace.protocol_step)[: int(r.steps)]
    # gamma of a sweep is the schedule at the protocol step it belongs to
    np.testing.assert_allclose(g[1:], 0.1 * ks[:-1], rtol=1e-6)
    r = focusing.solve_rbp(getkey(), p, reinforcement=0.5, max_steps=20, trace=True)
    assert np.allclose(np.asarray(r.trace.parameter)[: int(r.steps)], 0.5)
    with pytest.raises(ValueError, match="gamma \\(schedule start\\) must be >= 0"):
        focusing.solve_fbp(getkey(), p, gamma=schedules.linear(-1.0, 0.1))
    with pytest.raises(ValueError, match="y must be >= 1"):
        focusing.solve_fbp(getkey(), p, y=0.5)
    with pytest.raises(ValueError, match="reinforcement must be <= 1"):
        focusing.solve_rbp(getkey(), p, reinforcement=1.5)
    with pytest.raises(ValueError, match="reinforcement must be <= 1"):
        focusing.solve_rbp(getkey(), p, reinforcement=schedules.table([0.5, 1.2]))
    with pytest.raises(ValueError, match="one hyper-parameter point"):
        focusing.solve_fbp(getkey(), p, y=[2.0, 3.0])
    with pytest.raises(ValueError, match="stop must be one of"):
        walksat.solve(getkey(), p, stop="centre")
    with pytest.raises(ValueError, match="stop must be one of"):
        focusing.solve_rbp(getkey(), p, stop="never")
    with pytest.raises(ValueError, match="fraction"):
        bpgd.solve(getkey(), p, fraction=0.0)
    with pytest.raises(ValueError, match="order must be one of"):
        bpgd.solve(getkey(), p, order="greedy")
    with pytest.raises(ValueError, match="readout must be one of"):
        bpgd.solve(getkey(), p, readout="beliefs")
    with pytest.raises(ValueError, match="noise"):
        walksat.solve(getkey(), p, noise=1.5)
    with pytest.raises(ValueError, match="max_steps"):
        walksat.solve(getkey(), p, max_steps=0)
    with pytest.raises(TypeError, match="key"):
        walksat.solve(jnp.zeros(2, jnp.uint32), p)
