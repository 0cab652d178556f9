"""K-SAT instances: random generation, energy, validation, DIMACS round trips and errors, PySAT."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from physlearn.algorithms import ksat
from physlearn.algorithms.ksat import instances

pysat_solvers = pytest.importorskip("pysat.solvers")


def brute_force_energy(x, clauses, signs):
    lit_true = x[clauses] == signs
    return int(np.sum(~lit_true.any(axis=-1)))


def test_random_instance_shape_and_statistics(getkey):
    p = ksat.random_ksat(getkey(), 2000, 4.0, 3, samples=3)
    assert p.batch_shape == (3,) and p.m == 8000 and p.k == 3 and p.n == 2000 and p.n_edges == 24000
    c = np.asarray(p.clauses)
    assert c.min() >= 0 and c.max() < 2000
    assert np.all(np.diff(c, axis=-1) > 0)  # distinct, stored in increasing order
    s = np.asarray(p.signs)
    assert abs(s.mean()) < 0.02  # unbiased signs (24000 per sample: 4 sigma ~ 0.026/sqrt(3))
    # variable degrees are Poisson(K alpha): mean 12, variance 12
    deg = np.bincount(c[0].ravel(), minlength=2000)
    assert abs(deg.mean() - 12.0) < 1e-9 and 9.5 < deg.var() < 14.5
    # each position of the K-subset uniform: every variable equally likely overall
    counts = np.bincount(c.ravel(), minlength=2000)
    assert counts.min() > 0


def test_samples_are_stable_when_the_batch_grows(getkey):
    key = getkey()
    a = ksat.random_ksat(key, 50, 3.0, 3, samples=2)
    b = ksat.random_ksat(key, 50, 3.0, 3, samples=5)
    np.testing.assert_array_equal(np.asarray(a.clauses), np.asarray(b.clauses)[:2])
    np.testing.assert_array_equal(np.asarray(a.signs), np.asarray(b.signs)[:2])


def test_floyd_subsets_are_uniform(getkey):
    """Every 2-subset of 4 variables is equally likely (chi-square, 6 cells)."""
    p = ksat.random_ksat(getkey(), 4, 3000.0, 2)  # 12000 clauses on 4 variables
    c = np.asarray(p.clauses)
    codes = c[:, 0] * 4 + c[:, 1]
    obs = np.array([np.sum(codes == a * 4 + b) for a in range(4) for b in range(a + 1, 4)])
    exp = 12000 / 6
    chi2 = float(np.sum((obs - exp) ** 2 / exp))
    assert obs.sum() == 12000 and chi2 < 25.0  # 5 dof: p ~ 1e-4


def test_energy_matches_brute_force_and_batches(getkey):
    p = ksat.random_ksat(getkey(), 30, 4.0, 3, samples=2)
    x = np.where(np.asarray(jax.random.bernoulli(getkey(), 0.5, (4, 2, 30))), 1, -1).astype(np.int8)
    e = np.asarray(ksat.num_violated(jnp.asarray(x), p))
    assert e.shape == (4, 2)
    for r in range(4):
        for s in range(2):
            assert e[r, s] == brute_force_energy(x[r, s], np.asarray(p.clauses[s]), np.asarray(p.signs[s]))
    with pytest.raises(ValueError, match="x must have"):
        ksat.num_violated(jnp.ones((2, 29), jnp.int8), p)


def test_variable_sums_is_the_degree_count(getkey):
    p = ksat.random_ksat(getkey(), 100, 3.0, 4)
    s = instances.variable_sums(jnp.ones((p.m, p.k)), p)
    np.testing.assert_array_equal(np.asarray(s), np.bincount(np.asarray(p.clauses).ravel(), minlength=100))


@pytest.mark.parametrize(
    "clauses, signs, n, match",
    [
        ([[0], [1]], [[1], [1]], 3, "K = 1"),
        (np.zeros((2, 0), int), np.zeros((2, 0), int), 3, "K = 0"),
        ([[0, 3], [1, 2]], [[1, 1], [1, -1]], 3, "index 3 in clause 0 is out of range 0..2"),
        ([[0, -1], [1, 2]], [[1, 1], [1, -1]], 3, "index -1"),
        ([[0, 1], [2, 2]], [[1, 1], [1, -1]], 3, "clause 1 repeats a variable"),
        ([[0, 1], [1, 2]], [[1, 0], [1, -1]], 3, "signs must contain only"),
        ([[0, 1], [1, 2]], [[1, 1]], 3, "signs must have the shape"),
        ([[0, 1]], [[1, 1]], 0, "n \\(number of variables\\)"),
        (np.zeros((0, 3), int), np.zeros((0, 3), int), 3, "at least one clause"),
        ([[0.0, 1.0]], [[1, 1]], 3, "integer variable indices"),
    ],
)
def test_invalid_instances_name_the_argument(clauses, signs, n, match):
    with pytest.raises(ValueError, match=match):
        ksat.KSAT(clauses, signs, n)


def test_random_ksat_validation(getkey):
    with pytest.raises(ValueError, match="k \\(clause width\\)"):
        ksat.random_ksat(getkey(), 10, 2.0, 1)
    with pytest.raises(ValueError, match="alpha"):
        ksat.random_ksat(getkey(), 10, -1.0, 3)
    with pytest.raises(ValueError, match="n \\(number of variables, at least the clause width k\\) must be an integer >= 3"):
        ksat.random_ksat(getkey(), 2, 2.0, 3)
    with pytest.raises(ValueError, match="samples"):
        ksat.random_ksat(getkey(), 10, 2.0, 3, samples=0)
    with pytest.raises(TypeError, match="key"):
        ksat.random_ksat(0, 10, 2.0, 3)


@pytest.mark.parametrize(
    "clauses, match",
    [
        ([[1, 2, 3], [1, 2]], "clause 1: clause has 2 literals but clause 0 has 3"),
        ([[1, 2], []], "clause 1: empty clause"),
        ([[1, 2], [3, -3]], "clause 1: a variable appears twice"),
        ([[1, 2], [3, 0]], "literal 0"),
        ([[1], [2]], "1 literal"),
        ([[1, True]], "non-zero integers"),
    ],
)
def test_from_clauses_errors_name_the_clause(clauses, match):
    with pytest.raises(ValueError, match=match):
        ksat.from_clauses(clauses)


def test_from_clauses_out_of_range():
    with pytest.raises(ValueError, match="literal -5 names variable 5, out of range 1..4"):
        ksat.from_clauses([[1, 2], [3, -5]], n=4)


def test_dimacs_round_trip_and_pysat(getkey, tmp_path):
    p = ksat.random_ksat(getkey(), 40, 4.0, 3)
    path = tmp_path / "f.cnf"
    ksat.write_dimacs(p, path, comment="random 3-SAT\nalpha = 4")
    text = path.read_text()
    assert text.startswith("c random 3-SAT\nc alpha = 4\np cnf 40 160\n")
    q = ksat.read_dimacs(path)
    np.testing.assert_array_equal(np.asarray(p.clauses), np.asarray(q.clauses))
    np.testing.assert_array_equal(np.asarray(p.signs), np.asarray(q.signs))
    assert q.n == 40
    # the clause lists PySAT reads are the same formula: a model PySAT finds has zero energy here
    with pysat_solvers.Solver(name="cadical153", bootstrap_with=ksat.to_clauses(p)) as s:
        if s.solve():
            model = np.asarray(s.get_model())
            x = np.where(model > 0, 1, -1).astype(np.int8)[np.argsort(np.abs(model))]
            assert int(ksat.num_violated(jnp.asarray(x), p)) == 0
    with pytest.raises(ValueError, match="one instance"):
        ksat.to_clauses(ksat.random_ksat(getkey(), 10, 2.0, 3, samples=2))


def test_dimacs_accepts_satlib_layout(tmp_path):
    text = "c SATLIB-style\np cnf 4 3\n 1 -2\n 3 0\n-1 2 4 0\n2 -3 -4 0\n%\n0\n"
    p = ksat.parse_dimacs(text)
    assert p.n == 4 and p.m == 3 and p.k == 3
    assert ksat.to_clauses(p) == [[1, -2, 3], [-1, 2, 4], [2, -3, -4]]
    gz = tmp_path / "f.cnf.gz"
    import gzip

    gz.write_bytes(gzip.compress(text.encode()))
    assert ksat.to_clauses(ksat.read_dimacs(gz)) == ksat.to_clauses(p)


@pytest.mark.parametrize(
    "text, match",
    [
        ("1 2 0\n", "line 1: clause before the 'p cnf"),
        ("c only a comment\n", "no 'p cnf"),
        ("p cnf 3\n1 2 0\n", "line 1: malformed header"),
        ("p cnf x 2\n", "line 1: header counts must be integers"),
        ("p cnf 3 1\np cnf 3 1\n1 2 0\n", "line 2: second header line"),
        ("p cnf 3 2\n1 2 0\n1 x 0\n", "line 3: 'x' is not an integer literal"),
        ("p cnf 3 2\n1 2 0\n1 -4 0\n", "line 3: literal -4 names variable 4, out of range 1..3"),
        ("p cnf 3 2\n1 2 0\n0\n", "line 3: empty clause"),
        ("p cnf 3 2\n1 2 0\n2 -2 0\n", "line 3: a variable appears twice"),
        ("p cnf 4 2\n1 2 3 0\n\n1 2 0\n", "line 4: clause has 2 literals but the first clause \\(line 2\\) has 3"),
        ("p cnf 3 2\n1 0\n2 3 0\n", "line 2: clause \\[1\\] has 1 literal"),
        ("p cnf 3 2\n1 2 0\n2 3\n", "line 3: clause \\[2, 3\\] is not ended by 0"),
        ("p cnf 3 3\n1 2 0\n2 3 0\n", "announces 3 clauses, the file has 2"),
        ("p cnf 3 1\n1\n1 0\n", "line 2-3: a variable appears twice"),
    ],
)
def test_malformed_dimacs_names_the_line(text, match):
    with pytest.raises(ValueError, match=match):
        ksat.parse_dimacs(text)


def test_dimacs_width_argument_and_file_errors(tmp_path):
    with pytest.raises(ValueError, match="line 2: clause has 2 literals but k=3 has 3"):
        ksat.parse_dimacs("p cnf 3 1\n1 2 0\n", k=3)
    with pytest.raises(ValueError, match="existing DIMACS"):
        ksat.read_dimacs(tmp_path / "missing.cnf")
    bad = tmp_path / "bad.cnf"
    bad.write_text("p cnf 2 1\n1 3 0\n")
    with pytest.raises(ValueError, match="bad.cnf, line 2"):
        ksat.read_dimacs(bad)


def test_satisfiability_of_small_instances_agrees_with_enumeration(getkey):
    """PySAT's CDCL solver and exhaustive enumeration agree on 40 small random 3-SAT instances
    around the threshold (N = 12, alpha = 3.5..6)."""
    xs = np.array(np.meshgrid(*[[-1, 1]] * 12, indexing="ij")).reshape(12, -1).T.astype(np.int8)
    seen = set()
    for alpha in (3.5, 4.5, 6.0):
        p = ksat.random_ksat(getkey(), 12, alpha, 3, samples=12)
        e = np.asarray(ksat.num_violated(jnp.asarray(xs)[:, None, :].repeat(12, axis=1), p))  # (4096, 12)
        for s in range(12):
            with pysat_solvers.Solver(name="minisat22", bootstrap_with=ksat.to_clauses(p.sample(s))) as sol:
                sat = sol.solve()
            assert sat == bool(e[:, s].min() == 0)
            seen.add(sat)
    assert seen == {True, False}
