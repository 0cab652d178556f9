"""Local volume of tree committee / parity machines (physlearn.theory.flat_minima): K = 1 against
the spherical perceptron results physlearn already has, the parity machine's flat curves, the
large-K forms, implicit gradients against finite differences, and input validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _fast import fast_jit

from physlearn.errors import NonConvergenceError
from physlearn.solvers import RESULTS
from physlearn.theory import flat_minima as fm
from physlearn.theory import franz_parisi as fp
from physlearn.theory import gardner

NODES = dict(n=32, nx=16, neta=12)
SMALL = dict(n=16, nx=8, neta=8)
ALPHA = 1.0
# the typical distance at alpha = 1 is 0.205; the dense branch ends at d_end = 0.116
D = np.array([0.01, 0.04, 0.1, 0.3])


@pytest.fixture(scope="module")
def dense_k1():
    return fm.local_volume(ALPHA, D, **NODES, on_failure="flag")


@pytest.fixture(scope="module")
def spherical_fp():
    return fp.spherical(ALPHA, D, **NODES)


def test_k1_typical_functional_is_the_spherical_franz_parisi_functional():
    """K = 1: the tree machine's Franz--Parisi functional V(q, t) is
    franz_parisi.spherical_free_entropy at zero margins, to rounding, at the same nodes."""
    q_ref = 0.59

    def both(q, t, d):
        ours = fm.typical_free_entropy(q, t, d, ALPHA, q_ref, **SMALL)
        ref = fp._Ref(jnp.asarray(ALPHA), 1 - 2 * d, jnp.asarray(0.0), jnp.asarray(0.0), jnp.asarray(q_ref),
                      jnp.asarray(q_ref / (1 - q_ref) ** 2))
        return ours, fp.spherical_free_entropy(jnp.stack([q, t]), ref, **SMALL)

    ours, ref = fast_jit(jax.vmap(both))(jnp.array([0.7, 0.9, 0.95]), jnp.array([0.5, 0.6, 0.3]),
                                         jnp.array([0.1, 0.04, 0.2]))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-13)


@pytest.mark.slow
def test_k1_typical_reference_is_the_spherical_franz_parisi_potential():
    """K = 1, typical reference: the tree machine's Franz--Parisi curve is franz_parisi.spherical at
    zero margins, to 1e-8 (32/16/12 nodes: the two modules integrate the reference's Gardner
    volume differently, 4e-8 apart at 16/8/8 nodes)."""
    d = np.array([0.04, 0.3])
    ours = fm.local_volume(ALPHA, d, reference="typical", **NODES)
    ref = fp.spherical(ALPHA, d, **NODES)
    assert ours.converged.all()
    np.testing.assert_allclose(ours.entropy, ref.entropy, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.q, ref.q, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.t, ref.t, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.normalized, ref.entropy - fp.cap_entropy(d), atol=1e-8)
    np.testing.assert_allclose(ours.q_ref, ref.q_ref, rtol=0, atol=1e-8)


def test_k1_gardner_volume_is_the_spherical_gardner_volume():
    a = np.array([0.3, 1.0, 1.7])
    ours = fm.gardner(a, n=NODES["n"])
    ref = gardner.spherical_rs(a)
    np.testing.assert_allclose(ours.entropy, ref.entropy, atol=1e-8)
    np.testing.assert_allclose(ours.q, ref.q, atol=1e-8)
    assert np.all(ours.mc_error == 0)


@pytest.mark.slow
def test_k1_dense_curve_bounds(dense_k1, spherical_fp):
    """The densest regions are at least as dense as typical ones and never denser than the cap;
    wide flat minima: the normalised volume tends to 0 at small d."""
    ok = dense_k1.converged
    assert ok.tolist() == [True, True, True, False]  # d = 0.3 lies beyond the branch
    assert dense_k1.result[3] == RESULTS.branch_ended
    v = dense_k1.normalized[:3]
    assert np.all(v < 0) and np.all(np.diff(v) < 0) and -0.01 < v[0]
    np.testing.assert_allclose(dense_k1.q[:3], (1 - 2 * D[:3]) ** 2, atol=1e-15)
    assert np.all(dense_k1.entropy[:3] > spherical_fp.entropy[:3])
    assert np.isnan(dense_k1.entropy[3]) and np.isnan(dense_k1.dq[3])
    # the branch ends where delta q -> 0 and the volume joins the Gardner volume
    np.testing.assert_allclose(dense_k1.d_end, 0.5 * (1 - np.sqrt(gardner.spherical_rs(ALPHA).q)), atol=1e-8)


@pytest.mark.slow
def test_k1_dense_inner_problem_is_the_closed_form_envelope():
    """The generic K-dimensional inner maximisation at K = 1 equals the scalar envelope
    u + K A(u) = c of the perceptron."""
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


def test_large_k_committee_energy_approaches_the_arcsin_form():
    """K -> inf: E_z log Z_K(sqrt(q) z; 1 - q) of the committee tends to the K = 1 term at the mapped
    overlap (2/pi) arcsin q (the K = inf forms) like 1/K: at q = 0.5 the gap times K is
    -0.151, -0.140, -0.134, -0.120 for K = 1, 3, 5, 9 (quasi Monte Carlo, 2^10 points)."""
    q = 0.5

    def energy(K):
        f = fast_jit(lambda qq: fm.gardner_free_entropy(qq, 1.0, K=K, samples=2**10)
                     - fm.gardner_free_entropy(qq, 0.0, K=K, samples=2**10))
        return float(f(q))

    inf = energy(math.inf)
    np.testing.assert_allclose(energy(1), -1.0, atol=1e-12)  # log H(-sqrt(q) z / sqrt(1 - q)) at q = 1/2
    ks = np.array([1, 3, 5, 9])
    gaps = np.array([energy(K) for K in ks]) - inf
    assert np.all(gaps < 0) and np.all(np.diff(np.abs(gaps)) < 0), gaps
    assert np.all((ks * gaps > -0.16) & (ks * gaps < -0.10)), ks * gaps


@pytest.mark.slow
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


@pytest.mark.slow
def test_channel_derivatives_are_the_autodiff_ones():
    rng = np.random.default_rng(0)
    om = rng.normal(size=(5, 5))
    V = 0.3
    for machine in ("committee", "parity"):
        v, g, h = fm._channel_derivs(jnp.asarray(om), V, machine)
        np.testing.assert_allclose(g, jax.vmap(jax.grad(lambda o: fm.log_channel(o, V, machine)))(om), atol=1e-12)
        np.testing.assert_allclose(h, jax.vmap(jax.hessian(lambda o: fm.log_channel(o, V, machine)))(om), atol=1e-11)


@pytest.mark.slow
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


@pytest.mark.slow
def test_gradient_of_the_monte_carlo_gardner_volume():
    """Finite K: the quasi Monte Carlo functional is a smooth function of the parameters."""

    def ent(a):
        return fm.gardner(a, K=3, samples=2**10).entropy

    g = jax.grad(ent)(0.8)
    h = 1e-5
    fd = (ent(0.8 + h) - ent(0.8 - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


@pytest.mark.slow
def test_dense_raises_beyond_the_end_of_its_branch():
    with pytest.raises(NonConvergenceError, match="d_end"):
        fm.local_volume(ALPHA, D, **NODES)


def test_failure_contract_raise_eagerly_and_under_jit_flag_nan():
    """Above the RS branch (alpha 2.5 > the spherical capacity 2): NonConvergenceError eagerly, the
    same message from inside jit, NaN values and a result code with on_failure="flag"."""
    with pytest.raises(NonConvergenceError, match="alpha=2.5"):
        fm.gardner(2.5, n=16)
    with pytest.raises(Exception, match="alpha=2.5"):
        jax.block_until_ready(jax.jit(lambda a: fm.gardner(a, n=16).entropy)(jnp.asarray(2.5)))
    out = fm.gardner(np.array([1.0, 2.5]), n=16, on_failure="flag")
    assert out.converged.tolist() == [True, False] and out.result[1] != RESULTS.successful
    assert np.isfinite(out.entropy[0]) and np.isnan(out.entropy[1]) and np.isnan(out.q[1])
    assert out.alpha[1] == 2.5 and np.isfinite(out.residual[1])


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
    """K = 3, 5, 9 dense curves at alpha = 1 converge, lie between K = 1 (narrowest) and above
    K = inf, and decrease towards it as K grows. K = 5 at d = 0.03 and K = 9 at d <= 0.05 failed
    until the inner correction step was safeguarded. K = 9 at d = 0.01 converges at the default
    compile mode but not at the tests' fast one (a NaN, flagged; docs/results.md), so it is left
    out here. Slow: minutes for K = 9."""
    d = np.array([0.01, 0.03, 0.1])
    k1 = np.asarray(fm.local_volume(ALPHA, d).normalized)
    kinf = np.asarray(fm.local_volume(ALPHA, d, K=math.inf).normalized)
    prev = None
    for K in (3, 5, 9):
        sel = slice(1, None) if K == 9 else slice(None)
        r = fm.local_volume(ALPHA, d[sel], K=K)  # raises if a point fails
        v = np.asarray(r.normalized)
        assert np.all(v > k1[sel]) and np.all(v > kinf[sel])
        if prev is not None:
            assert np.all(v < prev[sel] + 3 * np.asarray(r.mc_error))
        prev = v
