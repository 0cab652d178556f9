"""The saddle-point engine: convergence flags, vmap, continuation, implicit differentiation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn import numerics as nm
from physlearn import solvers
from physlearn.errors import NonConvergenceError


def _sk_update(q, beta):
    """RS fixed point of an Ising-like model: q = E tanh^2(beta sqrt(q) z + 0.3)."""
    return nm.gauss_expect(lambda z: jnp.tanh(beta * jnp.sqrt(q) * z + 0.3) ** 2, 81)


def test_fixed_point_matches_newton_and_bisection():
    beta = jnp.asarray(1.5)
    fp = solvers.fixed_point(_sk_update, jnp.asarray(0.5), beta, damping=0.7, tol=1e-13)
    nt = solvers.root(lambda q, b: _sk_update(q, b) - q, jnp.asarray(0.5), beta, method="newton", tol=1e-13)
    bi = solvers.root(lambda q, b: _sk_update(q, b) - q, jnp.asarray(0.0), beta, method="bisection", lower=0.05, upper=1.0, tol=1e-13)
    assert fp.converged and nt.converged and bi.converged
    assert abs(float(fp.value - nt.value)) < 1e-12 and abs(float(bi.value - nt.value)) < 1e-12
    assert float(fp.residual) < 1e-12 and int(fp.n_steps) > 1


def test_vmap_over_grid_one_compilation():
    @jax.jit
    def solve(betas):
        return jax.vmap(lambda b: solvers.root(lambda q, bb: _sk_update(q, bb) - q, jnp.asarray(0.5), b))(betas)

    betas = jnp.linspace(1.1, 2.0, 32)
    out = solve(betas)
    out2 = solve(betas + 0.01)
    assert solve._cache_size() == 1
    assert out.converged.all() and out2.converged.all()
    loop = [float(solvers.root(lambda q, bb: _sk_update(q, bb) - q, jnp.asarray(0.5), b).value) for b in betas[:4]]
    np.testing.assert_allclose(out.value[:4], loop, rtol=1e-12)


def test_implicit_derivative_matches_finite_differences():
    def qstar(beta):
        return solvers.root(lambda q, b: _sk_update(q, b) - q, jnp.asarray(0.5), beta, tol=1e-13).value

    b0, h = 1.4, 1e-5
    g = jax.grad(qstar)(b0)
    fd = (qstar(b0 + h) - qstar(b0 - h)) / (2 * h)
    assert abs(float(g - fd)) < 1e-7 * abs(float(fd))
    # the damped fixed point is differentiated by the same implicit rule
    gfp = jax.grad(lambda b: solvers.fixed_point(_sk_update, jnp.asarray(0.5), b, tol=1e-13).value)(b0)
    assert abs(float(gfp - fd)) < 1e-7 * abs(float(fd))


def test_stationary_point_of_a_free_entropy():
    # phi(x, y) = -(x-a)^2 + (y-2a)^2 is a saddle (neither max nor min) at (a, 2a)
    def phi(p, a):
        return -((p["x"] - a) ** 2) + (p["y"] - 2 * a) ** 2 + 0.1 * p["x"] * p["y"]

    sol = solvers.stationary(phi, {"x": jnp.asarray(0.0), "y": jnp.asarray(0.0)}, jnp.asarray(1.0))
    assert sol.converged
    g = jax.grad(phi)(sol.value, 1.0)
    assert abs(float(g["x"])) < 1e-10 and abs(float(g["y"])) < 1e-10
    assert float(sol.free_entropy) == pytest.approx(float(phi(sol.value, 1.0)))


def test_failures_are_flagged_never_silent():
    # no real root: y^2 + c with c > 0
    sols = jax.vmap(lambda c: solvers.root(lambda y, cc: y**2 + cc, jnp.asarray(1.0), c, max_steps=50))(jnp.array([-1.0, 4.0 * 0 - 4.0, 1.0]))
    assert list(np.asarray(sols.converged)) == [True, True, False]
    bis = solvers.root(lambda y, c: y**2 + c, jnp.asarray(0.0), 1.0, method="bisection", lower=-1.0, upper=2.0)
    assert not bool(bis.converged) and np.isfinite(float(bis.value))
    fp = solvers.fixed_point(lambda y, a: 2.0 * y + 1.0, jnp.asarray(0.1), None, damping=1.0, max_steps=100)
    assert not bool(fp.converged)
    with pytest.raises(NonConvergenceError, match=r"c=1.*residual"):
        solvers.raise_if_not_converged(sols, "toy", {"c": np.array([-1.0, -4.0, 1.0])})


def test_continuation_follows_branch():
    betas = jnp.linspace(1.05, 3.0, 40)

    def one(q0, b):
        return solvers.root(lambda q, bb: _sk_update(q, bb) - q, q0, b)

    sweep = solvers.continuation(one, jnp.asarray(0.5), betas)
    assert sweep.converged.all()
    assert np.all(np.diff(np.asarray(sweep.value)) > 0)  # q grows with beta
    assert int(sweep.n_steps.max()) < 10  # warm starts


def test_bad_arguments():
    with pytest.raises(ValueError, match="damping"):
        solvers.fixed_point(lambda y, a: y, jnp.asarray(0.0), None, damping=0.0)
    with pytest.raises(ValueError, match="method"):
        solvers.root(lambda y, a: y, jnp.asarray(0.0), None, method="secant")
    with pytest.raises(ValueError, match="lower"):
        solvers.root(lambda y, a: y, jnp.asarray(0.0), None, method="bisection")
