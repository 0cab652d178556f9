"""Replica theory of the cross-entropy minimiser of the binary perceptron
(physlearn.theory.cross_entropy): the saddle point of the minimiser against an independent
quadrature, its exact gamma -> 0 and gamma -> infinity limits, the failure contract, and (slow) the
exact identities of the local entropy around it (maximum over d = Gardner entropy, envelope
theorem), its bound by the densest-region curve, the optimal gamma."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from physlearn.errors import NonConvergenceError
from physlearn.solvers import RESULTS
from physlearn.theory import cross_entropy as ce
from physlearn.theory import gardner, local_entropy

ALPHA = 0.5
GAMMAS = np.array([1.0, 4.0])
D = np.array([0.02, 0.26, 0.27, 0.28, 0.29, 0.3])


@pytest.fixture(scope="module")
def curves():
    return ce.local_entropy(ALPHA, GAMMAS, D)


def test_minimizer_saddle_point_and_training_error():
    """alpha E[(lambda* - z)^2] = 2/pi and the training error H(C/2) against a fine trapezoid rule
    (spacing 1.2e-4, 40x below the narrowest crossover of lambda*(z), width 1/gamma)."""
    g = np.array([0.3, 1.0, 3.0, 30.0])
    m = ce.minimizer(ALPHA, g)
    assert m.converged.all() and (m.result == RESULTS.successful).all()
    z = np.linspace(-12, 12, 200001)
    w = norm.pdf(z) * (z[1] - z[0])
    for C, gam, err, e in zip(m.C, g, m.errors, m.energy):
        lam = np.asarray(ce.prox(z, C, gam))
        np.testing.assert_allclose(ALPHA * np.sum(w * (lam - z) ** 2), 2 / np.pi, rtol=1e-9)
        np.testing.assert_allclose(np.sum(w * (lam < 0)), err, atol=1e-5)
        np.testing.assert_allclose(np.sum(w * np.asarray(ce.ce_loss(lam, gam))), e, rtol=1e-8, atol=1e-12)
    assert np.all(np.diff(m.errors) <= 0) and m.errors[-1] < 1e-12
    np.testing.assert_allclose(m.R_hat, 2 / (np.pi * m.C**2))


def test_minimizer_limits_in_gamma():
    """gamma -> 0: f is linear plus gamma x^2/4, lambda* = z + C/2 + O(gamma), so C -> sqrt(8/(pi alpha))
    (relative gap ~1.13 gamma). gamma -> infinity: the minimiser becomes the RS max-margin solution,
    the margin L -> kappa* with (2/pi) alpha_c^sph(kappa*) = alpha (binary_rs_branch_end), the gap
    falling monotonically (0.165, 0.073, 0.028 at gamma 10, 30, 100)."""
    small = ce.minimizer(ALPHA, np.array([1e-4, 1e-6]))
    c0 = np.sqrt(8 / (np.pi * ALPHA))
    np.testing.assert_allclose(small.C, c0, rtol=2e-4)
    assert abs(small.C[1] / c0 - 1) < 2e-6
    np.testing.assert_allclose(small.errors[1], norm.sf(c0 / 2), rtol=1e-5)
    kstar = brentq(lambda k: float(gardner.binary_rs_branch_end(k)) - ALPHA, 0.0, 3.0)
    gaps = ce.minimizer(ALPHA, np.array([10.0, 30.0, 100.0])).margin - kstar
    assert np.all(gaps > 0) and np.all(np.diff(gaps) < 0) and gaps[-1] < 0.03, gaps


def test_prox_is_the_minimiser():
    z = np.linspace(-3, 3, 13)
    for C, gam in [(0.5, 0.3), (4.0, 2.0), (1e6, 30.0)]:
        lam = np.asarray(ce.prox(z, C, gam))
        np.testing.assert_allclose(lam + C * (-1 / (1 + np.exp(2 * gam * lam))), z, atol=1e-9 * max(1.0, C))


def test_failure_contract():
    """gamma 300 at alpha 0.5 needs C ~ e^400, outside the solved range: a clear error, NaN values
    with on_failure="flag"."""
    with pytest.raises(NonConvergenceError, match="gamma=300"):
        ce.minimizer(ALPHA, 300.0)
    m = ce.minimizer(ALPHA, np.array([1.0, 300.0]), on_failure="flag")
    assert m.converged.tolist() == [True, False] and m.result[1] != RESULTS.successful
    assert np.isnan([m.C[1], m.energy[1], m.errors[1], m.margin[1]]).all() and np.isfinite(m.C[0])
    assert m.gamma[1] == 300.0


@pytest.mark.slow
def test_failure_contract_under_jit():
    with pytest.raises(Exception, match="gamma=300"):
        jax.block_until_ready(jax.jit(lambda g: ce.minimizer(ALPHA, g).C)(jnp.asarray(300.0)))


@pytest.mark.slow
def test_local_entropy_maximum_is_the_gardner_entropy(curves):
    """Summing over the distance recovers every solution: max_d V(d) is the Gardner entropy."""
    assert curves.converged.all()
    phi = float(gardner.binary_rs(ALPHA).entropy)
    for i in range(GAMMAS.size):
        v = curves.entropy[i, 1:]
        assert abs(v.max() - phi) < 2e-4 and v.max() <= phi + 1e-9


@pytest.mark.slow
def test_envelope_theorem_in_d():
    """dV/dd along the solved curve equals the partial derivative of the functional in d at fixed
    order parameters (the other five stationarity conditions hold). It is not 2 p_hat: the
    energetic term depends on p = 1 - 2d too."""
    h, d0 = 1e-4, 0.1
    le = ce.local_entropy(ALPHA, 2.0, np.array([d0 - h, d0, d0 + h]), n=32, neta=16)
    slope = (le.entropy[2] - le.entropy[0]) / (2 * h)
    theta = jnp.array([le.q[1], le.tau[1], le.p_hat[1], le.q_hat[1], le.a[1]])
    partial = jax.grad(lambda d: ce.local_entropy_free_entropy(theta, d, ALPHA, 2.0, n=32, neta=16))(d0)
    np.testing.assert_allclose(slope, partial, rtol=1e-6)
    grad = jax.grad(lambda t: ce.local_entropy_free_entropy(t, d0, ALPHA, 2.0, n=32, neta=16))(theta)
    assert np.abs(grad).max() < 1e-12


@pytest.mark.slow
def test_bounded_by_the_cap_and_the_densest_regions(curves):
    assert np.all(curves.entropy <= curves.h2)
    re = local_entropy.binary(ALPHA, D[:1])
    assert np.all(curves.entropy[:, 0] <= re.entropy[0] + 1e-9)


@pytest.mark.slow
def test_optimal_gamma_is_an_interior_maximum():
    best = ce.optimal_gamma(ALPHA, 0.02, np.geomspace(0.3, 30, 9))
    i = np.nanargmax(best.entropies)
    assert 0 < i < best.grid.size - 1
    assert best.entropy >= np.nanmax(best.entropies) - 1e-6
    assert best.grid[i - 1] <= best.gamma <= best.grid[i + 1]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ce.minimizer(-0.5, 1.0), "alpha"),
        (lambda: ce.minimizer(0.5, 0.0), "gamma"),
        (lambda: ce.minimizer(0.5, 1.0, n=2), "n"),
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
