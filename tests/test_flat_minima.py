"""Local volume of tree committee / parity machines (physlearn.theory.flat_minima): K = 1 against
the spherical perceptron results physlearn already has, the parity machine's flat curves, the
large-K forms, implicit gradients against finite differences, and input validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn.errors import NonConvergenceError
from physlearn.theory import flat_minima as fm
from physlearn.theory import franz_parisi as fp
from physlearn.theory import gardner

NODES = dict(n=32, nx=16, neta=12)
ALPHA = 1.0
# the typical distance at alpha = 1 is 0.205; the dense branch ends at d_end = 0.116
D = np.array([0.01, 0.04, 0.1, 0.3])


@pytest.fixture(scope="module")
def typical_k1():
    return fm.local_volume(ALPHA, D, reference="typical", **NODES)


@pytest.fixture(scope="module")
def dense_k1():
    return fm.local_volume(ALPHA, D, **NODES, on_failure="flag")


@pytest.fixture(scope="module")
def spherical_fp():
    return fp.spherical(ALPHA, D, **NODES)


def test_k1_typical_reference_is_the_spherical_franz_parisi_potential(typical_k1, spherical_fp):
    ref = spherical_fp
    assert typical_k1.converged.all()
    np.testing.assert_allclose(typical_k1.entropy, ref.entropy, rtol=0, atol=1e-8)
    np.testing.assert_allclose(typical_k1.q, ref.q, rtol=0, atol=1e-8)
    np.testing.assert_allclose(typical_k1.t, ref.t, rtol=0, atol=1e-8)
    np.testing.assert_allclose(typical_k1.normalized, ref.entropy - fp.cap_entropy(D), atol=1e-8)


def test_k1_gardner_volume_is_the_spherical_gardner_volume():
    a = np.array([0.3, 1.0, 1.7])
    ours = fm.gardner(a, n=NODES["n"])
    ref = gardner.spherical_rs(a)
    np.testing.assert_allclose(ours.entropy, ref.entropy, atol=1e-8)
    np.testing.assert_allclose(ours.q, ref.q, atol=1e-8)
    assert np.all(ours.mc_error == 0)


def test_k1_dense_curve_bounds(dense_k1, spherical_fp):
    """The densest regions are at least as dense as typical ones and never denser than the cap;
    wide flat minima: the normalised volume tends to 0 at small d."""
    ok = dense_k1.converged
    assert ok.tolist() == [True, True, True, False]  # d = 0.3 lies beyond the branch
    v = dense_k1.normalized[:3]
    assert np.all(v < 0) and np.all(np.diff(v) < 0) and -0.01 < v[0]
    np.testing.assert_allclose(dense_k1.q[:3], (1 - 2 * D[:3]) ** 2, atol=1e-15)
    assert np.all(dense_k1.entropy[:3] > spherical_fp.entropy[:3])
    assert np.isnan(dense_k1.entropy[3]) and np.isnan(dense_k1.dq[3])
    # the branch ends where delta q -> 0 and the volume joins the Gardner volume
    np.testing.assert_allclose(dense_k1.d_end, 0.5 * (1 - np.sqrt(gardner.spherical_rs(ALPHA).q)), atol=1e-8)


def test_k1_dense_inner_problem_is_the_closed_form_envelope():
    """The generic K-dimensional inner maximisation at K = 1 equals the scalar envelope
    u + K A(u) = c of the perceptron (theory notes C.2)."""
    z = jnp.linspace(-4.0, 4.0, 41)[:, None]
    q1, dq = 0.81, 0.7
    om0, s, V = math.sqrt(q1) * z, math.sqrt(dq), 1.0 - q1
    w = fm._inner_best(jnp.zeros_like(z), om0, s, V, "committee", 20)
    generic = fm._inner_objective(w, om0, s, V, "committee")
    _, closed = fm._envelope_1d(-om0[:, 0] / math.sqrt(V), dq / V)
    np.testing.assert_allclose(generic, closed, atol=1e-12)


def test_parity_machine_has_no_wide_flat_minima():
    """K -> inf: the curves are flat at -alpha log 2 exactly, for both references."""
    d = np.array([0.01, 0.1, 0.3])
    for ref in ("dense", "typical"):
        r = fm.local_volume([0.5, 1.0], d, K=math.inf, machine="parity", reference=ref)
        np.testing.assert_allclose(r.normalized, -np.array([[0.5], [1.0]]) * math.log(2) * np.ones(3), atol=1e-12)
    g = fm.gardner([0.5, 2.0], K=3, machine="parity")
    np.testing.assert_allclose(g.entropy, -np.array([0.5, 2.0]) * math.log(2), atol=1e-14)
    np.testing.assert_allclose(g.q, 0.0)


def test_large_k_committee_gardner_volume_approaches_the_arcsin_form():
    inf = fm.gardner(ALPHA, K=math.inf, n=NODES["n"])
    k3 = fm.gardner(ALPHA, K=3, samples=2**11)
    k45 = fm.gardner(ALPHA, K=45, samples=2**11)  # 45 units: the count DP (beyond the representation sum)
    gap3, gap45 = abs(float(k3.entropy - inf.entropy)), abs(float(k45.entropy - inf.entropy))
    assert gap45 < gap3 / 5 and gap45 < 3e-3


def test_channel_matches_brute_force_enumeration():
    rng = np.random.default_rng(0)
    om = rng.normal(size=(5, 5))
    V = 0.3
    p = 0.5 * jax.scipy.special.erfc(-om / np.sqrt(2 * V))
    for machine in ("committee", "parity"):
        brute = np.zeros(5)
        for bits in np.ndindex(*(2,) * 5):
            b = np.array(bits)
            ok = b.sum() > 2.5 if machine == "committee" else (5 - b.sum()) % 2 == 0
            if ok:
                brute += np.prod(np.where(b == 1, p, 1 - p), axis=1)
        np.testing.assert_allclose(np.exp(fm.log_channel(om, V, machine)), brute, rtol=1e-12)
        lp = jax.scipy.special.log_ndtr(om / np.sqrt(V))
        lq = jax.scipy.special.log_ndtr(-om / np.sqrt(V))
        np.testing.assert_allclose(fm._log_channel_dp(lp, lq, machine), np.log(brute), rtol=1e-12)
        v, g, h = fm._channel_derivs(jnp.asarray(om), V, machine)
        np.testing.assert_allclose(g, jax.vmap(jax.grad(lambda o: fm.log_channel(o, V, machine)))(om), atol=1e-12)
        np.testing.assert_allclose(h, jax.vmap(jax.hessian(lambda o: fm.log_channel(o, V, machine)))(om), atol=1e-11)


@pytest.mark.parametrize("reference", ["dense", "typical"])
def test_gradient_in_alpha_matches_finite_differences(reference):
    """Derivatives through the saddle point (implicit function theorem) against central
    differences of the eager results."""
    d = np.array([0.05])

    def ent(a):
        return fm.local_volume(a, d, reference=reference, **NODES).entropy[0]

    g = jax.grad(ent)(0.8)
    h = 1e-5
    fd = (ent(0.8 + h) - ent(0.8 - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_gradient_of_the_monte_carlo_gardner_volume():
    """Finite K: the quasi Monte Carlo functional is a smooth function of the parameters."""

    def ent(a):
        return fm.gardner(a, K=3, samples=2**10).entropy

    g = jax.grad(ent)(0.8)
    h = 1e-5
    fd = (ent(0.8 + h) - ent(0.8 - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_dense_raises_beyond_the_end_of_its_branch():
    with pytest.raises(NonConvergenceError, match="d_end"):
        fm.local_volume(ALPHA, D, **NODES)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=-1.0), "alpha"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(d=0.7), "d must"),
        (dict(d=np.ones((2, 2)) * 0.1), "d must"),
        (dict(K=2), "odd"),
        (dict(K=0), "K must"),
        (dict(K=2.5), "K must"),
        (dict(machine="xor"), "machine"),
        (dict(reference="nearby"), "reference"),
        (dict(samples=1000), "power of two"),
        (dict(K=13), "K must be <= 11"),
        (dict(on_failure="ignore"), "on_failure"),
    ],
)
def test_bad_input_is_a_value_error_naming_the_argument(kwargs, match):
    args = dict(alpha=1.0, d=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fm.local_volume(args.pop("alpha"), args.pop("d"), **args)


@pytest.mark.slow
def test_finite_k_committee_curves_paper_size():
    """K = 3, 5, 9 dense curves at alpha = 1 lie between K = 1 (narrowest) and above K = inf at
    small d, and decrease towards it as K grows (slow: minutes per K)."""
    d = np.array([0.03, 0.1])
    k1 = fm.local_volume(ALPHA, d)
    kinf = fm.local_volume(ALPHA, d, K=math.inf)
    prev = None
    for K in (3, 5, 9):
        r = fm.local_volume(ALPHA, d, K=K)
        assert np.all(r.normalized > k1.normalized) and np.all(r.normalized > kinf.normalized)
        if prev is not None:
            assert np.all(r.normalized < prev + 3 * r.mc_error)
        prev = r.normalized
