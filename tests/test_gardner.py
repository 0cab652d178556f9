"""Gardner capacity: published numbers, exact identities, independent SciPy solves, gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

from physlearn.errors import NonConvergenceError, ReplicaSymmetryWarning
from physlearn.theory import gardner

SQ2PI = math.sqrt(2 * math.pi)


# ----------------------------------------------------------------- independent SciPy reference
def _dz(f, c=0.0):
    g = lambda z: f(z) * math.exp(-z * z / 2) / SQ2PI  # noqa: E731
    kw = dict(epsabs=1e-13, epsrel=1e-12, limit=500)
    c = min(max(c, -10.0), 10.0)  # quad misses the Gaussian bulk on a half line starting far out
    return integrate.quad(g, -np.inf, c, **kw)[0] + integrate.quad(g, c, np.inf, **kw)[0]


def _A(u):
    return math.sqrt(2 / math.pi) / special.erfcx(u / math.sqrt(2))


def _scipy_binary_rs(alpha, kappa=0.0):
    def qhat_of(q):
        c = kappa / math.sqrt(q)
        return alpha / (1 - q) * _dz(lambda z: _A((kappa - math.sqrt(q) * z) / math.sqrt(1 - q)) ** 2, c)

    def r(q):  # in log(1 - q), which has no spurious root at q = 1
        a = math.sqrt(qhat_of(q))
        sech2 = lambda z: 4 * math.exp(-2 * abs(a * z)) / (1 + math.exp(-2 * abs(a * z))) ** 2  # noqa: E731
        return math.log(_dz(sech2)) - math.log1p(-q)

    q = optimize.brentq(r, 1e-6, 0.99, xtol=1e-14)
    qh = qhat_of(q)
    E = _dz(lambda z: special.log_ndtr(-(kappa - math.sqrt(q) * z) / math.sqrt(1 - q)), kappa / math.sqrt(q))
    S = _dz(lambda z: np.logaddexp(math.sqrt(qh) * z, -math.sqrt(qh) * z))
    return q, qh, -qh * (1 - q) / 2 + S + alpha * E


def _scipy_spherical_rs(alpha, kappa=0.0):
    def r(q):
        c = kappa / math.sqrt(q)
        return q - alpha * (1 - q) * _dz(lambda z: _A((kappa - math.sqrt(q) * z) / math.sqrt(1 - q)) ** 2, c)

    q = optimize.brentq(r, 1e-8, 1 - 1e-7, xtol=1e-14)
    E = _dz(lambda z: special.log_ndtr(-(kappa - math.sqrt(q) * z) / math.sqrt(1 - q)), kappa / math.sqrt(q))
    return q, 0.5 * math.log(1 - q) + q / (2 * (1 - q)) + alpha * E


# ----------------------------------------------------------------- spherical
def test_spherical_capacity_published_and_closed_form():
    assert abs(float(gardner.spherical_capacity(0.0)) - 2.0) < 1e-12  # Cover 1965
    kap = np.array([0.0, 0.5, 1.0, 2.0])
    direct = [1 / integrate.quad(lambda t: (t + k) ** 2 * math.exp(-t * t / 2) / SQ2PI, -k, np.inf, epsabs=1e-14)[0] for k in kap]
    np.testing.assert_allclose(gardner.spherical_capacity(kap), direct, rtol=1e-12)
    g = jax.grad(gardner.spherical_capacity)(0.3)
    fd = (gardner.spherical_capacity(0.3 + 1e-6) - gardner.spherical_capacity(0.3 - 1e-6)) / 2e-6
    assert abs(float(g) - float(fd)) < 1e-7
    with pytest.warns(ReplicaSymmetryWarning):
        gardner.spherical_capacity(-0.5)


def test_spherical_rs_against_scipy_and_capacity_limit():
    sol = gardner.spherical_rs([0.5, 1.5, 1.0], [0.0, 0.0, 0.3])
    for a, k, q, s in zip([0.5, 1.5, 1.0], [0.0, 0.0, 0.3], sol.q, sol.entropy):
        qr, sr = _scipy_spherical_rs(a, k)
        assert abs(q - qr) < 1e-9 and abs(s - sr) < 1e-8
    assert sol.converged.all() and (sol.residual < 1e-9).all()
    # q -> 1 as alpha -> alpha_c(kappa): 1 - q shrinks like (alpha_c - alpha)
    near = gardner.spherical_rs([1.99, 1.999])
    assert near.q[1] > 0.999 and (1 - near.q[1]) < 0.2 * (1 - near.q[0])
    # kappa >= 0: RS stable all the way (replicon < 1)
    assert (near.replicon < 1).all() and (sol.replicon < 1).all()


def test_spherical_stationarity_is_grad_of_free_entropy():
    """The Stein-form equation that is solved must be the stationarity of phi(q) (autodiff)."""
    sol = gardner.spherical_rs(0.9, 0.4)

    def phi(q):
        return 0.5 * jnp.log1p(-q) + q / (2 * (1 - q)) + 0.9 * gardner.energetic_term(q, 0.4)

    assert abs(float(jax.grad(phi)(jnp.asarray(sol.q)))) < 1e-9


# ----------------------------------------------------------------- binary
def test_binary_rs_against_scipy():
    sol = gardner.binary_rs([0.3, 0.4], [0.0, 0.5])
    for a, k, q, qh, s in zip([0.3, 0.4], [0.0, 0.5], sol.q, sol.q_hat, sol.entropy):
        qr, qhr, sr = _scipy_binary_rs(a, k)
        assert abs(q - qr) < 1e-9 and abs(qh - qhr) < 1e-7 * qhr and abs(s - sr) < 1e-9


def test_binary_rs_limits_and_stationarity():
    sol = gardner.binary_rs([1e-4, 0.5])
    assert abs(sol.entropy[0] - math.log(2)) < 1e-3  # alpha -> 0: log 2
    # the solution is a stationary point of phi(q, q_hat) (autodiff of the functional)
    g = jax.grad(gardner.binary_rs_free_entropy, argnums=(0, 1))(jnp.asarray(sol.q[1]), jnp.asarray(sol.q_hat[1]), 0.5)
    assert abs(float(g[0])) < 1e-9 and abs(float(g[1])) < 1e-9


def test_krauth_mezard_capacity():
    a_c = gardner.binary_capacity([0.0, 0.25, 0.5])[0]
    assert abs(float(a_c) - 0.833078599) < 1e-6  # Krauth & Mezard 1989; Ding & Sun 2019
    assert abs(float(a_c) - 4 / math.pi) > 0.4  # not the naive q -> 1 limit
    assert abs(float(gardner.binary_rs(float(a_c)).entropy)) < 1e-10
    # it decreases with the margin, and stays below the spherical capacity
    a_k = gardner.binary_capacity([0.0, 0.25, 0.5])[1:]
    assert a_k[0] < a_c and a_k[1] < a_k[0]
    assert (a_k < gardner.spherical_capacity([0.25, 0.5])).all()


def test_replicon_at_capacity_and_at_threshold():
    """Gardner & Derrida 1988: RS stable at the capacity, unstable beyond alpha_AT ~ 1.015."""
    sol = gardner.binary_rs(np.linspace(1.0, 1.03, 31))
    alpha_at = float(np.interp(1.0, sol.replicon, sol.alpha))
    assert abs(alpha_at - 1.015) < 2e-3
    assert gardner.binary_rs(0.833).stable


def test_grid_of_1000_points_one_compilation():
    alphas, kappas = np.meshgrid(np.linspace(0.05, 0.8, 50), np.linspace(0.0, 0.5, 20))
    gardner._binary_rs_grid.clear_cache()
    # 32 quadrature nodes instead of 128: the claim under test is one compilation for the whole
    # grid (and sane values), not quadrature accuracy, which other tests check
    sol = gardner.binary_rs(alphas, kappas, n=32, on_failure="flag")
    assert sol.q.shape == (20, 50)
    assert gardner._binary_rs_grid._cache_size() == 1
    inside = alphas < 0.9 * np.asarray(gardner.binary_capacity(np.unique(kappas)))[:, None]
    assert sol.converged[inside].all()
    q_inside = np.where(inside, sol.q, np.nan)
    steps = np.diff(q_inside, axis=1)
    assert np.all(steps[np.isfinite(steps)] > 0)  # q grows with alpha at every kappa
    # beyond the end of the RS branch the points are flagged, not NaN
    beyond = alphas >= np.asarray(gardner.binary_rs_branch_end(kappas))
    assert beyond.any() and not sol.converged[beyond].any() and np.isfinite(sol.residual).all()


def test_gradients_agree_with_finite_differences_and_envelope_theorem():
    def f(a):
        sol = gardner.binary_rs(a, 0.2)
        return jnp.stack([sol.entropy, sol.q])

    a = jnp.array([0.35, 0.55])
    jac = jax.vmap(jax.jacfwd(f))(a)  # vmapped derivatives through the saddle point
    h = 1e-5
    plus, minus = gardner.binary_rs(np.asarray(a) + h, 0.2), gardner.binary_rs(np.asarray(a) - h, 0.2)
    np.testing.assert_allclose(jac[:, 0], (plus.entropy - minus.entropy) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(jac[:, 1], (plus.q - minus.q) / (2 * h), rtol=1e-6)
    # envelope theorem: d phi_RS / d alpha = E(q*) exactly
    q = gardner.binary_rs(np.asarray(a), 0.2).q
    np.testing.assert_allclose(jac[:, 0], [float(gardner.energetic_term(jnp.asarray(qq), 0.2)) for qq in q], rtol=1e-9)


@pytest.mark.slow
def test_capacity_derivative_in_kappa():
    g = float(jax.grad(lambda k: gardner.binary_capacity(k))(0.3))
    fd = (float(gardner.binary_capacity(0.3 + 1e-4)) - float(gardner.binary_capacity(0.3 - 1e-4))) / 2e-4
    assert g < 0 and abs(g - fd) < 1e-5 * abs(fd)


# ----------------------------------------------------------------- 1RSB
def test_1rsb_functional_reduces_to_rs():
    a, k = 0.6, 0.2
    rs = gardner.binary_rs(a, k)
    q, qh = float(rs.q), float(rs.q_hat)
    phi_rs = float(gardner.binary_rs_free_entropy(q, qh, a, k))
    # m = 1: RS in (q0, q0_hat), whatever q1, q1_hat
    p = {"q0": q, "q1": 0.9, "q0_hat": qh, "q1_hat": 3 * qh}
    assert abs(float(gardner.one_rsb_free_entropy(p, a, 1.0, k, n=96)) - phi_rs) < 1e-7
    # q1 = q0: RS in (q1, q1_hat), whatever m
    p = {"q0": q, "q1": q, "q0_hat": qh, "q1_hat": qh}
    assert abs(float(gardner.one_rsb_free_entropy(p, a, 0.4, k, n=96)) - phi_rs) < 1e-7


def test_1rsb_frozen_complexity_is_rs_entropy_and_vanishes_at_capacity():
    a_c = float(gardner.binary_capacity(0.0))
    fr = gardner.binary_1rsb_frozen([0.5, a_c], m=[0.3, 0.7])
    np.testing.assert_allclose(fr.complexity, gardner.binary_rs([0.5, a_c]).entropy, rtol=1e-12)
    assert abs(fr.complexity[1]) < 1e-10 and (fr.internal_entropy == 0).all() and (fr.q1 == 1).all()
    np.testing.assert_allclose(fr.free_entropy * fr.m, fr.complexity, rtol=1e-12)


def test_1rsb_saddle_collapses_to_rs_where_rs_is_stable():
    """Below alpha_AT the RS point is the 1RSB solution: a split start collapses back onto it."""
    sol = gardner.binary_1rsb([0.5, 0.9], [0.5, 0.3])
    rs = gardner.binary_rs([0.5, 0.9])
    assert sol.converged.all()
    np.testing.assert_allclose(sol.q1 - sol.q0, 0.0, atol=1e-8)
    np.testing.assert_allclose(sol.q0, rs.q, atol=1e-3)  # n=64 Gauss-Hermite vs the split rule
    np.testing.assert_allclose(sol.free_entropy, rs.entropy, atol=1e-5)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gardner.binary_rs(-0.1), "alpha"),
        (lambda: gardner.binary_rs(0.0), "alpha"),
        (lambda: gardner.binary_rs(float("nan")), "alpha"),
        (lambda: gardner.spherical_rs(0.5, float("nan")), "kappa"),
        (lambda: gardner.binary_rs(np.ones(3) * 0.5, np.zeros(2)), "broadcast"),
        (lambda: gardner.binary_rs("0.5"), "alpha"),
        (lambda: gardner.binary_rs(0.5, on_failure="ignore"), "on_failure"),
        (lambda: gardner.binary_1rsb(0.5, -1.0), "m"),
        (lambda: gardner.binary_1rsb(0.5, 1.0), "m"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_beyond_the_branch_raises_or_flags():
    with pytest.raises(NonConvergenceError, match="alpha=2.5"):
        gardner.spherical_rs([1.0, 2.5])
    with pytest.raises(NonConvergenceError, match="binary_rs"):
        gardner.binary_rs(1.4)
    flagged = gardner.binary_rs([0.5, 1.4], on_failure="flag")
    assert list(flagged.converged) == [True, False]
    assert np.isfinite(flagged.residual).all()


def test_eager_x64_without_global_switch():
    """Eager calls compute in float64 even when the user has not enabled x64."""
    with jax.enable_x64(False):
        sol = gardner.binary_rs(0.5)
        assert np.asarray(sol.q).dtype == np.float64
        assert not jax.config.jax_enable_x64


def test_compile_modes_give_the_same_values():
    """set_compile_mode changes how the theory's curves are compiled, not what they compute."""
    import physlearn

    before = physlearn.compile_mode()
    try:
        vals = {}
        for mode in ("default", "fast"):
            physlearn.set_compile_mode(mode)
            assert physlearn.compile_mode() == mode
            r = gardner.spherical_rs([0.5, 1.2], n=16)
            vals[mode] = np.array([r.q, r.entropy, r.replicon])
        np.testing.assert_allclose(vals["fast"], vals["default"], rtol=1e-13, atol=0)
        with pytest.raises(ValueError, match="mode must be one of"):
            physlearn.set_compile_mode("quick")
    finally:
        physlearn.set_compile_mode(before)
