"""Replica theory of the cross-entropy minimiser of the binary perceptron
(physlearn.theory.cross_entropy): the saddle point of the minimiser, the exact identities of the
local entropy around it (maximum over d = Gardner entropy, Legendre slope), its bound by the
densest-region curve, gradients and input validation."""

import jax
import numpy as np
import pytest
from scipy.stats import norm

from physlearn.theory import cross_entropy as ce
from physlearn.theory import gardner
from physlearn.theory import local_entropy

ALPHA = 0.5
GAMMAS = np.array([1.0, 4.0])
D = np.array([0.02, 0.26, 0.27, 0.28, 0.29, 0.3])


@pytest.fixture(scope="module")
def curves():
    return ce.local_entropy(ALPHA, GAMMAS, D)


def test_minimizer_saddle_point_and_training_error():
    g = np.array([0.3, 1.0, 3.0, 30.0])
    m = ce.minimizer(ALPHA, g)
    assert m.converged.all()
    z = np.linspace(-12, 12, 200001)
    w = norm.pdf(z) * (z[1] - z[0])
    for C, gam, err, e in zip(m.C, g, m.errors, m.energy):
        lam = np.asarray(ce.prox(z, C, gam))
        np.testing.assert_allclose(ALPHA * np.sum(w * (lam - z) ** 2), 2 / np.pi, rtol=1e-7)
        np.testing.assert_allclose(np.sum(w * (lam < 0)), err, atol=1e-5)
        np.testing.assert_allclose(np.sum(w * np.asarray(ce.ce_loss(lam, gam))), e, rtol=1e-6, atol=1e-12)
    assert np.all(np.diff(m.errors) <= 0) and m.errors[-1] < 1e-12
    np.testing.assert_allclose(m.R_hat, 2 / (np.pi * m.C**2))


def test_prox_is_the_minimiser():
    z = np.linspace(-3, 3, 13)
    for C, gam in [(0.5, 0.3), (4.0, 2.0), (1e6, 30.0)]:
        lam = np.asarray(ce.prox(z, C, gam))
        np.testing.assert_allclose(lam + C * (-1 / (1 + np.exp(2 * gam * lam))), z, atol=1e-9 * max(1.0, C))


def test_local_entropy_maximum_is_the_gardner_entropy(curves):
    """Summing over the distance recovers every solution: max_d V(d) is the Gardner entropy, at the
    distance where the field towards the reference vanishes."""
    assert curves.converged.all()
    phi = float(gardner.binary_rs(ALPHA).entropy)
    for i in range(GAMMAS.size):
        v, ph = curves.entropy[i, 1:], curves.p_hat[i, 1:]
        assert ph[0] > 0 > ph[-1]
        assert abs(v.max() - phi) < 2e-4 and v.max() <= phi + 1e-9


def test_legendre_slope():
    """dV/dd = 2 p_hat (V is the Legendre transform in the overlap)."""
    h = 1e-4
    d0 = 0.1
    le = ce.local_entropy(ALPHA, 2.0, np.array([d0 - h, d0, d0 + h]))
    slope = (le.entropy[2] - le.entropy[0]) / (2 * h)
    np.testing.assert_allclose(slope, 2 * le.p_hat[1], rtol=1e-5)


def test_bounded_by_the_cap_and_the_densest_regions(curves):
    assert np.all(curves.entropy <= curves.h2)
    re = local_entropy.binary(ALPHA, D[:1])
    assert np.all(curves.entropy[:, 0] <= re.entropy[0] + 1e-9)


def test_gradient_in_gamma_matches_finite_differences():
    def v(g):
        return ce.local_entropy(ALPHA, g, np.array([0.05])).entropy[0]

    g0, h = 2.0, 1e-5
    np.testing.assert_allclose(jax.grad(v)(g0), (v(g0 + h) - v(g0 - h)) / (2 * h), rtol=1e-5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ce.minimizer(-0.5, 1.0), "alpha"),
        (lambda: ce.minimizer(0.5, 0.0), "gamma"),
        (lambda: ce.local_entropy(0.5, 1.0, 0.6), "d must"),
        (lambda: ce.local_entropy(0.5, 1.0, 0.1, kappa=np.nan), "kappa"),
        (lambda: ce.local_entropy(0.5, 1.0, 0.1, on_failure="skip"), "on_failure"),
        (lambda: ce.optimal_gamma([0.5, 0.6], 0.1), "scalar"),
        (lambda: ce.optimal_gamma(0.5, 0.1, [1.0, 0.5, 2.0]), "increasing"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
