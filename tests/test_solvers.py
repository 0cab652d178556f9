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


# ----------------------------------------------------------------- engine pieces used by the theory
def test_result_codes_and_messages():
    assert solvers.RESULTS.successful == 0 and solvers.RESULTS.message(0) == "converged"
    codes = solvers.combine(jnp.array([0, 0, 2]), jnp.array([0, 1, 1]))
    assert list(np.asarray(codes)) == [0, 1, 2]  # the first failure wins
    bad = solvers.root(lambda y, c: y**2 + c, jnp.asarray(1.0), 1.0, max_steps=20)
    assert int(bad.result) != 0 and not bool(bad.converged)


def test_iterate_fixed_count_and_until_done():
    out, k, stopped = solvers.iterate(lambda x: x / 2, jnp.asarray(1.0), max_steps=3)
    assert float(out) == 0.125 and int(k) == 3 and bool(stopped)
    out, k, stopped = solvers.iterate(lambda x: x / 2, jnp.asarray(1.0), max_steps=50, done=lambda x: x < 0.1)
    assert float(out) == 0.0625 and int(k) == 4 and bool(stopped)
    _, k, stopped = solvers.iterate(lambda x: x / 2, jnp.asarray(1.0), max_steps=2, done=lambda x: x < 0.1)
    assert int(k) == 2 and not bool(stopped)


def test_newton_fd_rejects_inadmissible_points_and_differentiates():
    # x^2 = a with the domain x > 0 (NaN outside): backtracking keeps the iterate admissible
    def eqs(x, a):
        return jnp.where(x > 0, x * x - a, jnp.nan)

    sol = solvers.newton(eqs, jnp.array([3.0]), jnp.asarray(2.0), tol=1e-14, accept=1e-12)
    assert bool(sol.converged) and abs(float(sol.value[0]) - np.sqrt(2.0)) < 1e-12
    g = jax.grad(lambda a: solvers.newton(eqs, jnp.array([3.0]), a, tol=1e-14, accept=1e-12).value[0])(2.0)
    assert abs(float(g) - 0.5 / np.sqrt(2.0)) < 1e-6  # finite-difference Jacobians: ~1e-7
    stuck = solvers.newton(lambda x, a: jnp.where(x > 0, x * x + a, jnp.nan), jnp.array([1.0]), jnp.asarray(1.0))
    assert not bool(stuck.converged)


def test_implicit_fd_and_autodiff_agree_and_fd_derivative():
    def eqs(q, b):
        return _sk_update(q, b) - q

    q0 = solvers.root(eqs, jnp.asarray(0.5), 1.4, tol=1e-13, differentiable=False).value
    ga = jax.grad(lambda b: solvers.implicit(eqs, q0, b))(1.4)
    gf = jax.grad(lambda b: solvers.implicit(eqs, q0, b, jacobian="fd"))(1.4)
    assert abs(float(ga - gf)) < 1e-7 * abs(float(ga))
    f = lambda x: jnp.sin(x) * x  # noqa: E731
    g = jax.grad(lambda x: solvers.fd_derivative(f, x))(0.7)
    assert abs(float(g) - (np.cos(0.7) * 0.7 + np.sin(0.7))) < 1e-8


def test_nondifferentiable_masks_without_poisoning():
    def f(a):
        return solvers.nondifferentiable(jnp.stack([a, a * a]), jnp.array([False, True]), (a,))

    jac = jax.jacfwd(f)(2.0)  # forward mode: the unmasked entry keeps its derivative, the masked one is NaN
    assert float(jac[0]) == 1.0 and np.isnan(float(jac[1]))
    # reverse mode over per-point inputs (vmap of grad, the theory's batched use): no leak across points
    g = jax.vmap(jax.grad(lambda a, mask: solvers.nondifferentiable(a * a, mask, (a,))))(
        jnp.array([2.0, 3.0]), jnp.array([False, True]))
    assert float(g[0]) == 4.0 and np.isnan(float(g[1]))


def test_follow_ends_branches_with_a_reason_and_refines_steps():
    # q(beta) on a branch that does not exist below beta = 1 (only q = 0 there)
    def solve_at(q, b, b_from):
        sol = solvers.root(lambda qq, bb: _sk_update(qq, bb) - qq, q, b, max_steps=30)
        ok = sol.converged & (b > 1.0)
        return solvers.SaddleSolution(sol.value, jnp.where(ok, 0, 1).astype(jnp.int32), sol.residual, sol.n_steps)

    targets = jnp.array([0.5, 0.8, 1.5, 2.5])
    start = solve_at(jnp.asarray(0.5), jnp.asarray(2.0), jnp.asarray(2.0)).value
    sols = solvers.follow(solve_at, start, jnp.asarray(2.0), targets, n_down=4, n_up=2, stop_at_failure=True)
    assert list(np.asarray(sols.converged)) == [False, False, True, True]
    assert int(sols.result[0]) == solvers.RESULTS.branch_ended  # beyond the first failure: not solved
    # step control: a jump too far for a cold Newton start succeeds in halved steps
    def short_reach(q, b, b_from):
        sol = solvers.root(lambda qq, bb: _sk_update(qq, bb) - qq, q, b, max_steps=30)
        ok = sol.converged & (jnp.abs(b - b_from) <= 0.3)
        return solvers.SaddleSolution(sol.value, jnp.where(ok, 0, 1).astype(jnp.int32), sol.residual, sol.n_steps)

    far = jnp.array([3.0])
    plain = solvers.follow(short_reach, start, jnp.asarray(2.0), far, n_down=1, n_up=1)
    refined = solvers.follow(short_reach, start, jnp.asarray(2.0), far, n_down=1, n_up=1, max_refinements=4)
    assert not bool(plain.converged[0]) and bool(refined.converged[0])


def test_follow_skips_inserted_points_that_dense_targets_make_redundant():
    # each solution records where its warm start came from (aux = b_from)
    def solve_at(q, b, b_from):
        sol = solvers.root(lambda qq, bb: _sk_update(qq, bb) - qq, q, b, max_steps=30)
        return solvers.SaddleSolution(sol.value, sol.result, sol.residual, sol.n_steps, aux=b_from)

    b0 = jnp.asarray(2.0)
    start = solve_at(jnp.asarray(0.5), b0, b0).value
    dense = np.linspace(1.2, 3.0, 41)  # spacing 0.045: closer than the inserted 2 * 0.6**(k/4), 2 + k/3
    sols = solvers.follow(solve_at, start, b0, jnp.asarray(dense), n_down=4, n_up=3)
    assert bool(sols.converged.all())
    below, above = dense < 2.0, dense > 2.0
    # every warm start is the neighbouring target on the same leg (or the start): no inserted point
    np.testing.assert_allclose(np.asarray(sols.aux)[below], np.append(dense[below][1:], 2.0))
    np.testing.assert_allclose(np.asarray(sols.aux)[above], np.append(2.0, dense[above][:-1]))
    # two far targets: each is reached through the inserted points
    sparse = solvers.follow(solve_at, start, b0, jnp.array([1.2, 3.0]), n_down=4, n_up=3)
    np.testing.assert_allclose(np.asarray(sparse.aux), [2.0 * 0.6**0.75, 2.0 + 2.0 / 3.0])
    np.testing.assert_allclose(sparse.value, sols.value[np.array([0, 40])], rtol=1e-10)


def test_follow_with_step_refinement_is_reverse_differentiable():
    def short_reach(q, b, b_from):
        sol = solvers.root(lambda qq, bb: _sk_update(qq, bb) - qq, q, b, max_steps=30)
        ok = sol.converged & (jnp.abs(b - b_from) <= 0.3)
        return solvers.SaddleSolution(sol.value, jnp.where(ok, 0, 1).astype(jnp.int32), sol.residual, sol.n_steps)

    b0 = jnp.asarray(2.0)
    start = short_reach(jnp.asarray(0.5), b0, b0).value

    def q_at(b):  # reached from 2.0 only by halving the step (the reach is 0.3)
        return solvers.follow(short_reach, start, b0, b[None], n_down=1, n_up=1, max_refinements=4).value[0]

    b, h = 3.0, 1e-5
    fd = (q_at(jnp.asarray(b + h)) - q_at(jnp.asarray(b - h))) / (2 * h)
    np.testing.assert_allclose(jax.grad(q_at)(jnp.asarray(b)), fd, rtol=1e-6)
    np.testing.assert_allclose(jax.jacfwd(q_at)(jnp.asarray(b)), fd, rtol=1e-6)


def test_with_root_tangents_gives_the_exact_roots_derivatives():
    # sqrt(theta) as the root of x^2 = theta, found on held values by a few Newton steps: the
    # traced steps keep the value and give d/dtheta = 1/(2 sqrt theta), d2/dtheta2 = -1/(4 theta^1.5)
    def newton(x, theta):
        return x - (x * x - theta) / (2.0 * x)

    def root(theta, order):
        x = solvers.iterate(lambda x: newton(x, jax.lax.stop_gradient(theta)), jnp.ones_like(theta),
                            max_steps=40)[0]
        return solvers.with_root_tangents(lambda x: newton(x, theta), x, order=order)

    th = jnp.float64(2.3)
    held = solvers.iterate(lambda x: newton(x, th), jnp.ones_like(th), max_steps=40)[0]
    assert float(root(th, 2)) == float(held)  # the value is the loop's, bit for bit
    d1 = jax.grad(lambda t: root(t, 2))(th)
    d2 = jax.grad(jax.grad(lambda t: root(t, 2)))(th)
    np.testing.assert_allclose(d1, 0.5 / np.sqrt(2.3), rtol=1e-13)
    np.testing.assert_allclose(d2, -0.25 * 2.3**-1.5, rtol=1e-12)
    # one traced step gives the first derivative only
    np.testing.assert_allclose(jax.grad(lambda t: root(t, 1))(th), 0.5 / np.sqrt(2.3), rtol=1e-13)
    assert abs(float(jax.grad(jax.grad(lambda t: root(t, 1)))(th)) + 0.25 * 2.3**-1.5) > 1e-3
    # with the root held, no derivative at all
    assert float(jax.grad(lambda t: root(t, 0))(th)) == 0.0


def test_dense_solves_match_lapack_and_flag_what_they_cannot_do():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(50, 7, 7))
    a[:, 0, 0] = 1e-14  # the first pivot must come from another row
    b = rng.normal(size=(50, 7))
    want = np.linalg.solve(a, b[..., None])[..., 0]
    np.testing.assert_allclose(solvers.dense_solve(jnp.asarray(a), jnp.asarray(b)), want, rtol=1e-9, atol=1e-11)
    B = rng.normal(size=(50, 7, 3))
    np.testing.assert_allclose(solvers.dense_solve(jnp.asarray(a), jnp.asarray(B)), np.linalg.solve(a, B), rtol=1e-9,
                               atol=1e-11)
    assert not np.all(np.isfinite(solvers.dense_solve(jnp.ones((3, 3)), jnp.ones(3))))  # singular: never finite garbage
    # symmetric positive definite, and indefinite matrices flagged
    spd = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(7)
    x, ok = solvers.dense_cholesky_solve(jnp.asarray(spd), jnp.asarray(b))
    np.testing.assert_allclose(x, np.linalg.solve(spd, b[..., None])[..., 0], rtol=1e-9, atol=1e-11)
    assert bool(np.all(ok))
    lam = np.linalg.eigvalsh(spd)[:, 0]
    shift = lam + np.where(np.arange(50) % 2, 0.05, -0.05) * lam  # every other matrix indefinite
    _, ok = solvers.dense_cholesky_solve(jnp.asarray(spd - shift[:, None, None] * np.eye(7)), jnp.asarray(b))
    np.testing.assert_array_equal(ok, np.arange(50) % 2 == 0)
    # differentiable: d x / d b = a^{-1}
    jac = jax.jacfwd(lambda bb: solvers.dense_solve(jnp.asarray(a[0]), bb))(jnp.asarray(b[0]))
    np.testing.assert_allclose(jac, np.linalg.inv(a[0]), rtol=1e-9, atol=1e-11)
