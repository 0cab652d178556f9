"""Stable special functions against mpmath (50 digits) and exact limits."""

import math

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from physlearn import numerics as nm

mp.mp.dps = 50
XS = np.linspace(-40.0, 40.0, 801)


def _H(x):
    return mp.erfc(mp.mpf(x) / mp.sqrt(2)) / 2


def _G(x):
    x = mp.mpf(x)
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def _logH(x):
    # log1p form for x < 0: log(1 - tiny) is not representable even at 50 digits
    return mp.log(_H(x)) if x >= 0 else mp.log1p(-_H(-x))


def _atanh_erf(x):
    x = mp.mpf(x)
    c = mp.erfc(abs(x))
    return mp.sign(x) * (mp.log(2 - c) - mp.log(c)) / 2


REFERENCES = {
    "H": _H,
    "log_H": _logH,
    "GH": lambda x: _G(x) / _H(x),
    "GH_prime": lambda x: (_G(x) / _H(x)) * (_G(x) / _H(x) - x),
    "GH_minus_x": lambda x: _G(x) / _H(x) - x,
    "log2cosh": lambda x: mp.log(2 * mp.cosh(x)),
    "atanh_erf": _atanh_erf,
    "log_erfc": lambda x: mp.log(mp.erfc(x)),
    "erfc": lambda x: mp.erfc(x),
    "erf": lambda x: mp.erf(x),
}


def _max_rel(got, ref):
    ref = np.asarray(ref, dtype=np.float64)
    ok = np.abs(ref) > 1e-300  # below that the float64 reference is denormal
    return np.max(np.abs(np.asarray(got)[ok] - ref[ok]) / np.abs(ref[ok]))


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_against_mpmath(name):
    xs = XS
    if name == "atanh_erf":
        xs = XS[np.abs(XS) < 26.5]  # atanh(erf x) ~ x^2 stays finite; mpmath needs erfc > 0
    ref = [float(REFERENCES[name](x)) for x in xs]
    got = getattr(nm, name)(jnp.asarray(xs))
    assert np.all(np.isfinite(np.asarray(got)))
    assert _max_rel(got, ref) <= 1e-12


def test_erfcx_against_mpmath():
    xs = XS[XS > -26]
    ref = [float(mp.exp(mp.mpf(x) ** 2) * mp.erfc(x)) for x in xs]
    assert _max_rel(nm.erfcx(jnp.asarray(xs)), ref) <= 1e-12


DERIVATIVES = {
    "H": lambda x: -_G(x),
    "log_H": lambda x: -_G(x) / _H(x),
    "GH": REFERENCES["GH_prime"],
    "log2cosh": lambda x: mp.tanh(x),
    "atanh_erf": lambda x: 2 / mp.sqrt(mp.pi) * mp.exp(-mp.mpf(x) ** 2) / (mp.erfc(abs(mp.mpf(x))) * (2 - mp.erfc(abs(mp.mpf(x))))),
    "log_erfc": lambda x: -2 / mp.sqrt(mp.pi) * mp.exp(-mp.mpf(x) ** 2) / mp.erfc(x),
    "erfcx": lambda x: 2 * mp.mpf(x) * mp.exp(mp.mpf(x) ** 2) * mp.erfc(x) - 2 / mp.sqrt(mp.pi),
}


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_gradients_against_mpmath(name):
    xs = XS[::4]
    if name == "erfcx":
        xs = xs[(xs > -26) & (xs < 5)]  # 2x erfcx - 2/sqrt(pi) cancels beyond; documented
    grad = jax.vmap(jax.grad(getattr(nm, name)))(jnp.asarray(xs))
    ref = [float(DERIVATIVES[name](x)) for x in xs]
    assert _max_rel(grad, ref) <= 1e-11


@pytest.mark.parametrize("name", ["H", "log_H", "GH", "GH_prime", "GH_minus_x", "log2cosh", "atanh_erf", "log_erfc"])
def test_finite_values_and_gradients_far_out(name):
    x = jnp.array([-1e4, -1e3, -100.0, -38.5, 38.5, 100.0, 1e3, 1e4])
    f = getattr(nm, name)
    assert np.all(np.isfinite(np.asarray(f(x))))
    assert np.all(np.isfinite(np.asarray(jax.vmap(jax.grad(f))(x))))


def test_gaussian_tail_asymptotics_far_out():
    x = jnp.array([50.0, 1e2, 1e3, 1e4])
    # log H(x) = -x^2/2 - log(x sqrt(2 pi)) + log(1 - 1/x^2 + ...)
    lead = -x**2 / 2 - jnp.log(x * jnp.sqrt(2 * jnp.pi))
    series = jnp.log1p(-1 / x**2 + 3 / x**4 - 15 / x**6 + 105 / x**8)
    np.testing.assert_allclose(nm.log_H(x), lead + series, rtol=1e-14)
    # A(x) = x + 1/x - 2/x^3 + ...
    np.testing.assert_allclose(nm.GH_minus_x(x), 1 / x - 2 / x**3 + 10 / x**5 - 74 / x**7, rtol=1e-9)
    # -d log H / dx = A(x)
    np.testing.assert_allclose(-jax.vmap(jax.grad(nm.log_H))(x), nm.GH(x), rtol=1e-14)


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(a=finite, b=finite)
def test_monotonicity(a, b):
    lo, hi = min(a, b), max(a, b)
    x = jnp.array([lo, hi])
    # monotone up to rounding (two branches meet at x = 0)
    lh = np.asarray(nm.log_H(x))
    assert lh[0] >= lh[1] - 1e-15 * abs(lh[1])  # log H decreasing
    gh = np.asarray(nm.GH(x))
    assert gh[0] <= gh[1] + 1e-15 * abs(gh[1])  # inverse Mills ratio increasing
    ae = np.asarray(nm.atanh_erf(x))
    assert ae[0] <= ae[1] + 1e-15 * abs(ae[1])


@settings(max_examples=200, deadline=None)
@given(x=finite)
def test_bounds_and_identities(x):
    x = jnp.asarray(x)
    d = float(nm.GH_prime(x))
    assert 0.0 <= d <= 1.0  # -(log H)'' in (0, 1)
    a = float(nm.GH(x))
    assert a >= max(float(x), 0.0)  # A(x) > x and A > 0
    assert float(nm.log2cosh(x)) >= abs(float(x))
    assert float(nm.log2cosh(x)) <= abs(float(x)) + math.log(2) + 1e-15
    # H(x) + H(-x) = 1 and log_erfc(x) = log 2 + log H(sqrt 2 x)
    assert abs(float(nm.H(x) + nm.H(-x)) - 1.0) < 1e-14
    g = float(jax.grad(nm.log_H)(x))
    assert math.isfinite(g) and g <= 0.0


def test_dtype_follows_input():
    with jax.enable_x64(False):
        y = nm.log_H(jnp.float32(3.0))
        assert y.dtype == jnp.float32
    assert nm.log_H(jnp.float64(3.0)).dtype == jnp.float64
    assert nm.log_H(3).dtype == jnp.float64  # integers promote to float


@settings(max_examples=100, deadline=None)
@given(x=st.floats(min_value=-1e3, max_value=1e3, allow_nan=False))
def test_atanh_erf_fused_matches_accurate_version(x):
    """The fusible message-passing form agrees with the accurate kernel in both precisions."""
    ref = float(nm.atanh_erf(jnp.float64(x)))
    got64 = float(nm.atanh_erf_fused(jnp.float64(x)))
    assert abs(got64 - ref) <= 1e-13 * max(abs(ref), 1e-300)
    x32 = jnp.float32(x)
    ref32 = float(nm.atanh_erf(jnp.float64(float(x32))))  # same argument, rounded to float32
    got32 = float(nm.atanh_erf_fused(x32))
    assert np.isfinite(got32)
    assert abs(got32 - ref32) <= 2e-6 * abs(ref32) + 1e-37


def test_atanh_erf_fused_against_mpmath():
    xs = XS[np.abs(XS) < 26.5]
    ref = [float(_atanh_erf(x)) for x in xs]
    assert _max_rel(nm.atanh_erf_fused(jnp.asarray(xs)), ref) <= 1e-13
