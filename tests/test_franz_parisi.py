"""Franz--Parisi potential of the binary perceptron: identities and limits (no self-generated
reference numbers)."""

import jax
import numpy as np
import pytest
from physlearn.errors import NonConvergenceError
from physlearn.theory import franz_parisi as fp
from physlearn.theory import gardner
from physlearn.theory.local_entropy import _finite_y_solution as fs
from _fast import fast_jit

NODES = dict(n=32, nx=16, neta=12)
D = np.array([0.004, 0.01, 0.03, 0.08, 0.15, 0.25, 0.3, 0.36, 0.42])


ALPHAS = np.array([0.02, 0.3, 0.5, 0.6, 0.75])


@pytest.fixture(scope="module")
def gard():
    return gardner.binary_rs(ALPHAS, n=NODES["n"])


@pytest.fixture(scope="module")
def curves(gard):
    # one compiled call: every row also contains the typical distance of each alpha
    d = np.concatenate([D, 0.5 * (1.0 - np.asarray(gard.q))])
    return fp.binary(ALPHAS, d, **NODES, on_failure="flag")


def test_typical_distance_gives_gardner_entropy(curves, gard):
    nd = len(D)
    for i, (q, s) in enumerate(zip(gard.q, gard.entropy)):
        j = nd + i
        assert curves.converged[i, j]
        assert abs(curves.entropy[i, j] - s) < 1e-10
        # the saddle point is the exact one: q = t = q_ref, all conjugates = q_hat_ref
        np.testing.assert_allclose([curves.q[i, j], curves.t[i, j]], [q, q], atol=1e-9)
        np.testing.assert_allclose(
            [curves.p_hat[i, j], curves.q_hat[i, j], curves.t_hat[i, j]], [curves.q_hat_ref[i]] * 3, rtol=1e-8
        )


def test_saddle_equations_are_the_gradient_of_the_functional():
    g = gardner.binary_rs(0.5, n=NODES["n"])
    ref = fp._Ref(*[jax.numpy.asarray(v) for v in (0.5, float(g.q) - 0.1, 0.0, 0.0, float(g.q), float(g.q_hat))])
    theta = jax.numpy.array([0.8, 0.3, 1.3, 2.5, 0.9])
    nodes = dict(n=48, nx=24, neta=40)  # Stein's identity is exact only up to quadrature error
    grad = fast_jit(jax.grad(lambda th: fp.free_entropy(th, ref, **nodes)))(theta)
    r = fast_jit(lambda th: fp.saddle_equations(th, ref, **nodes))(theta)
    scale = 1.0 + 2.5
    expected = np.array([-r[3] * scale / 2, -r[4] * scale, r[0], -r[1] / 2, -r[2]])
    np.testing.assert_allclose(grad, expected, rtol=1e-7, atol=1e-10)


def test_bounded_by_hamming_entropy_and_by_gardner(curves):
    ok = curves.converged
    assert ok[:4].all()  # alpha = 0.75: the RS branch ends above d = 0.004
    h = np.asarray(fp.h2(curves.d))
    assert (curves.entropy[ok] <= np.broadcast_to(h, ok.shape)[ok] + 1e-12).all()
    # V(d) <= V(d_typ) = phi_RS: the typical distance maximises V
    assert (curves.entropy[ok] <= np.broadcast_to(curves.gardner_entropy[:, None], ok.shape)[ok] + 1e-10).all()


def test_small_alpha_tends_to_hamming_entropy(curves):
    h = np.asarray(fp.h2(curves.d))
    gap = h - curves.entropy[0]
    assert (gap >= -1e-12).all()
    # the gap is O(alpha): alpha * E(.) with |E| <= log 2 here
    assert gap.max() < 0.02 * np.log(2.0) * 1.5


def test_typical_solutions_are_isolated(curves):
    # Huang & Kabashima 2014: V < 0 at small d for alpha = 0.5, 0.6, positive near d_typ
    # (alpha = 0.5: d_min ~ 0.007; alpha = 0.6: d_min ~ 0.016)
    assert curves.entropy[2, 0] < 0 < curves.entropy[2, 2]
    assert curves.entropy[3, 0] < 0 and curves.entropy[3, 1] < 0 < curves.entropy[3, 3]


@pytest.mark.slow
def test_isolation_distance_grows_with_alpha_and_is_a_zero():
    out = fp.isolation_distance(np.array([0.5, 0.7]), **NODES, full_output=True)
    assert out.converged.all()
    assert 0.0 < out.d_min[0] < out.d_min[1] < 0.1
    v = fp.binary(0.7, np.array([0.8, 1.0, 1.25]) * out.d_min[1], **NODES).entropy
    assert v[0] < 0 < v[2]
    assert abs(v[1]) < 1e-9


def test_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        fp.binary(-0.1, 0.1)
    with pytest.raises(ValueError, match="d"):
        fp.binary(0.5, 0.6)
    with pytest.raises(ValueError, match="d"):
        fp.binary(0.5, np.zeros((2, 2)) + 0.1)
    with pytest.raises(ValueError, match="kappa"):
        fp.binary(0.5, 0.1, kappa=0.5, kappa_ref=0.0)
    with pytest.raises(ValueError, match="NaN"):
        fp.binary(np.nan, 0.1)


@pytest.mark.slow
def test_end_of_branch_is_flagged_not_nan_silently():
    # far beyond the RS branch end at small d (theory notes: branch ends where q_hat diverges)
    r = fp.binary(0.6, np.array([0.01, 0.0002]), **NODES, on_failure="flag")
    assert r.converged[0] and not r.converged[1]
    with pytest.raises(NonConvergenceError):
        fp.binary(0.6, np.array([0.01, 0.0002]), **NODES)


@pytest.mark.slow
def test_gradient_in_alpha_matches_finite_differences():
    f = lambda a: fp.binary(a, 0.05, **NODES).entropy  # noqa: E731
    g = jax.grad(lambda a: fp.binary(a, 0.05, **NODES).entropy)(0.6)
    h = 1e-4
    fd = (f(0.6 + h) - f(0.6 - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_y_to_zero_limit_of_the_finite_y_local_entropy(curves):
    """The finite-y large-deviation functional with a solution reference (theory notes §C.1) at y = 0
    is the Gardner RS entropy of the reference, and its y-derivative at the Franz-Parisi saddle
    point is V(d): with y -> 0 the reference is a typical solution. Ties the two implementations
    (different quadratures and parametrisations) together."""
    i, j = 3, 3  # alpha = 0.6, d = 0.08
    assert ALPHAS[i] == 0.6 and D[j] == 0.08
    f = {k: float(np.asarray(getattr(curves, k))[i, j] if np.ndim(getattr(curves, k)) == 2
                  else np.asarray(getattr(curves, k))[i])
         for k in ("p", "t", "q", "q_ref", "p_hat", "t_hat", "q_hat", "q_hat_ref", "entropy")}
    V = f.pop("entropy")
    nodes = (24, 32, 24, 12)
    th = fs.theta_from_franz_parisi(**f)
    derived = fast_jit(fs.derived, static_argnames="nodes")
    phi0, dphi, sigma_ext, _ = derived(th, D[j], 0.0, 0.6, 0.0, 0.0, nodes=nodes)
    assert abs(float(phi0) - float(gardner.binary_rs_free_entropy(f["q_ref"], f["q_hat_ref"], 0.6, 0.0))) < 1e-6
    assert float(sigma_ext) == float(phi0)  # at y = 0 the references are all the typical solutions
    assert abs(float(dphi) - V) < 1e-6
    # the overlaps across references (q0, q0_hat) drop out at y = 0
    th2 = fs.theta_from_franz_parisi(**f, frac0=0.2, frac0_hat=0.9)
    assert abs(float(derived(th2, D[j], 0.0, 0.6, 0.0, 0.0, nodes=nodes)[1]) - float(dphi)) < 1e-6
