"""Gaussian quadrature against closed forms and scipy.integrate.quad."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from physlearn import numerics as nm


def test_hermite_moments_exact():
    for k in range(0, 10):
        got = nm.gauss_expect(lambda z: z ** (2 * k), n=20)
        exact = special.factorial2(2 * k - 1) if k > 0 else 1.0
        assert abs(float(got) - exact) <= 1e-12 * exact
    assert abs(float(nm.gauss_expect(lambda z: z**3, n=20))) < 1e-13


def test_weights_sum_to_one_and_cached():
    z, w = nm.gauss_hermite(401)
    assert abs(w.sum() - 1.0) < 1e-13 and np.all(np.isfinite(z))
    assert nm.gauss_hermite(401)[0] is z
    with pytest.raises(ValueError, match="n"):
        nm.gauss_hermite(0)


def test_closed_forms_and_pytrees():
    out = nm.gauss_expect(lambda z: {"c": jnp.cos(z), "e": jnp.exp(0.3 * z)}, n=60)
    assert abs(float(out["c"]) - math.exp(-0.5)) < 1e-14
    assert abs(float(out["e"]) - math.exp(0.045)) < 1e-14


def test_nested_two_variable():
    got = nm.gauss_expect2(lambda a, b: jnp.cos(a + b) * (1 + a * a * b * b), 40)
    # E cos(a+b) = e^{-1}; E[a^2 b^2 cos(a+b)] computed by quad below
    ref_extra = integrate.dblquad(
        lambda b, a: np.cos(a + b) * a * a * b * b * np.exp(-(a * a + b * b) / 2) / (2 * np.pi), -12, 12, -12, 12,
        epsabs=1e-13,
    )[0]
    assert abs(float(got) - (math.exp(-1) + ref_extra)) < 1e-10


def _quad_logH(q, kappa):
    def f(z):
        return special.log_ndtr(-(kappa - math.sqrt(q) * z) / math.sqrt(1 - q)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    c = kappa / math.sqrt(q)
    return integrate.quad(f, -np.inf, c, epsabs=1e-13, epsrel=1e-13, limit=400)[0] + integrate.quad(
        f, c, np.inf, epsabs=1e-13, epsrel=1e-13, limit=400
    )[0]


@pytest.mark.parametrize("q", [0.3, 0.9, 0.99, 0.999, 0.9999])
@pytest.mark.parametrize("kappa", [0.0, 0.7])
def test_split_rule_sharp_integrand_against_quad(q, kappa):
    """E log H((kappa - sqrt q z)/sqrt(1-q)) becomes sharp at z = kappa/sqrt(q) as q -> 1."""
    c = kappa / math.sqrt(q)
    got = nm.gauss_expect_split(lambda z: nm.log_H((kappa - jnp.sqrt(q) * z) / jnp.sqrt(1 - q)), c, n=128)
    ref = _quad_logH(q, kappa)
    assert abs(float(got) - ref) <= 1e-9 * abs(ref)


def test_split_rule_beats_plain_hermite_near_q_to_1():
    q, kappa = 0.999, 0.0
    ref = _quad_logH(q, kappa)
    f = lambda z: nm.log_H((kappa - jnp.sqrt(q) * z) / jnp.sqrt(1 - q))  # noqa: E731
    err_plain = abs(float(nm.gauss_expect(f, 256)) - ref)
    err_split = abs(float(nm.gauss_expect_split(f, 0.0, 128)) - ref)
    assert err_split < 1e-3 * err_plain


def test_half_line_rule_tail_mass_and_width():
    for c in [-1e4, -30.0, -8.0, -1.0, 0.0, 2.0, 10.0, 30.0, 1e4]:
        _, w = nm.half_line_rule(jnp.asarray(c), 96)
        assert abs(float(jnp.sum(w)) - float(nm.H(c))) <= 1e-12 * float(nm.H(c))
    # an edge far from the bulk: the integral of a smooth function is still right
    for c in [-1e4, 1e4]:
        got = nm.gauss_expect_split(lambda z: jnp.cos(z), c, 96)
        assert abs(float(got) - math.exp(-0.5)) < 1e-13
    # a narrow integrand (width 1e-10) is resolved when the width is given
    a = 1e10
    got = nm.gauss_expect_split(lambda z: 1 / jnp.cosh(a * z) ** 2, 0.0, 96, width=40 / a)
    assert abs(float(got) - 2 / (a * math.sqrt(2 * math.pi))) < 1e-9 * 2 / (a * math.sqrt(2 * math.pi))


def test_composable_under_jit_vmap_grad():
    def E(q):
        return nm.gauss_expect_split(lambda z: nm.log_H(-jnp.sqrt(q) * z / jnp.sqrt(1 - q)), 0.0, 96)

    qs = jnp.array([0.2, 0.5, 0.8])
    vals = jax.jit(jax.vmap(E))(qs)
    grads = jax.vmap(jax.grad(E))(qs)
    fd = (jax.vmap(E)(qs + 1e-6) - jax.vmap(E)(qs - 1e-6)) / 2e-6
    np.testing.assert_allclose(grads, fd, rtol=1e-7)
    # Stein identity: dE/dq = -<A(u)^2>/(2(1-q))
    stein = jax.vmap(
        lambda q: -nm.gauss_expect_split(lambda z: nm.GH(-jnp.sqrt(q) * z / jnp.sqrt(1 - q)) ** 2, 0.0, 96) / (2 * (1 - q))
    )(qs)
    np.testing.assert_allclose(grads, stein, rtol=1e-10)
    assert vals.shape == (3,)
