"""Franz--Parisi potential of the spherical perceptron (theory notes, section E): exact identities,
the alpha -> 0 limit with its first-order bound, and the flat-minima ordering in kappa_ref.
Two compiled calls in all (the fixtures)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from physlearn.errors import NonConvergenceError, ReplicaSymmetryWarning
from physlearn.theory import franz_parisi as fp
from physlearn.theory import gardner
from physlearn.theory._inputs import finish_curve
from _fast import fast_jit

NODES = dict(n=32, nx=16, neta=12)
ALPHAS = np.array([1e-3, 0.5, 1.5, 2.5])  # 2.5 > spherical capacity 2: flagged
D = np.geomspace(1e-3, 0.45, 14)
# second block of rows: alpha = 0.5 with kappa_ref above kappa (homotopy in the margin at d_typ),
# and one negative margin (warns)
KAPPA = np.array([0.0, 0.0, 0.0, 0.3, -0.2])
KAPPA_REF = np.array([0.0, 0.5, 0.93, 0.5, 0.0])
DM = np.array([1e-3, 5e-3, 0.02, 0.05])
NA = ALPHAS.size


@pytest.fixture(scope="module")
def gard():
    return gardner.spherical_rs(ALPHAS[:3], n=NODES["n"])


@pytest.fixture(scope="module")
def both(gard):
    # one compiled call for every test: 9 parameter rows, each on the distances D, DM and the
    # typical distance of each alpha
    d = np.concatenate([D, DM, 0.5 * (1.0 - np.asarray(gard.q))])
    alpha = np.concatenate([ALPHAS, np.full(KAPPA.size, 0.5)])
    kappa = np.concatenate([np.zeros(NA), KAPPA])
    kappa_ref = np.concatenate([np.zeros(NA), KAPPA_REF])
    with pytest.warns(ReplicaSymmetryWarning):
        return fp.spherical(alpha, d, kappa, kappa_ref, **NODES, on_failure="flag")


@pytest.fixture(scope="module")
def curves(both):
    return jax.tree_util.tree_map(lambda x: x[:NA], both)


@pytest.fixture(scope="module")
def margins(both):
    nd = D.size
    return jax.tree_util.tree_map(lambda x: x[NA:, nd:nd + DM.size] if x.ndim == 2 else x[NA:], both)


def test_typical_distance_gives_spherical_gardner_entropy(curves, gard):
    nd = len(D) + len(DM)
    assert curves.converged[:3, : len(D)].all()
    for i, (q, s) in enumerate(zip(gard.q, gard.entropy)):
        j = nd + i
        assert curves.converged[i, j]
        assert abs(curves.entropy[i, j] - s) < 1e-10
        np.testing.assert_allclose([curves.q[i, j], curves.t[i, j]], [q, q], atol=1e-12)
        # conjugates at the exact point: all equal to the spherical q/(1-q)^2
        np.testing.assert_allclose(
            [curves.p_hat[i, j], curves.q_hat[i, j], curves.t_hat[i, j]], [q / (1 - q) ** 2] * 3, rtol=1e-6
        )


def test_bounded_by_cap_and_by_gardner(curves, gard):
    ok = curves.converged[:3]
    v = curves.entropy[:3]
    cap = np.broadcast_to(np.asarray(fp.cap_entropy(curves.d[:3])), v.shape)
    assert (v[ok] <= cap[ok] + 1e-12).all()
    # a subset of the solutions: never more than the Gardner volume, which is reached at d_typ only
    g = np.broadcast_to(np.asarray(gard.entropy)[:, None], v.shape)
    assert (v[ok] <= g[ok] + 1e-10).all()


def test_small_alpha_limit_is_the_cap_with_a_first_order_bound(curves):
    # To first order in alpha, V - cap = alpha E log P(pattern satisfied by W | W in the cap). With
    # kappa = kappa_ref = 0 and p = 1 - 2d > 0 the field of W given the reference's field is centred
    # on p * (reference field) >= 0, so that probability is >= 1/2: -log 2 <= (V - cap)/alpha <= 0.
    a = ALPHAS[0]
    gap = (curves.entropy[0, : len(D)] - np.asarray(fp.cap_entropy(D))) / a
    assert (gap <= 0).all() and (gap >= -np.log(2.0) - 10 * a).all()
    # ... and the gap grows with alpha at every distance
    gaps = curves.entropy[:3, : len(D)] - np.asarray(fp.cap_entropy(D))
    assert (np.diff(gaps, axis=0) < 0).all()


def test_above_capacity_is_flagged_or_raised(curves):
    assert not curves.converged[3].any()
    with pytest.raises(NonConvergenceError, match="spherical_capacity"):  # the public path's raise
        finish_curve(curves, "raise", "franz_parisi.spherical", "alpha must be below gardner.spherical_capacity")


def test_stationarity_after_the_margin_homotopy(margins):
    assert margins.converged.all()
    i, j = 3, 3  # kappa = 0.3, kappa_ref = 0.5, d = 0.05
    args = (0.5, margins.p[i, j], KAPPA[i], KAPPA_REF[i], margins.q_ref[i], margins.q_hat_ref[i])
    ref = fp._Ref(*[jnp.asarray(float(v)) for v in args])
    nodes = dict(n=48, nx=24, neta=40)  # Stein's identity is exact only up to quadrature error
    theta = jnp.array([margins.q[i, j], margins.t[i, j]])
    grad = fast_jit(jax.grad(lambda th: fp.spherical_free_entropy(th, ref, **nodes)))(theta)
    assert np.abs(grad).max() < 1e-5
    # the function of (q, t) has the value the solver reports
    assert abs(float(fp.spherical_free_entropy(theta, ref, **NODES)) - margins.entropy[i, j]) < 1e-12


def test_high_margin_references_sit_in_flat_regions(margins):
    # PNAS 2020 / theory notes B.1 and E: as kappa_ref approaches the maximal margin at this alpha
    # (1.034), the local entropy around the reference rises to the cap at small d
    gap = np.asarray(fp.cap_entropy(DM)) - margins.entropy[:3]
    assert (np.diff(gap[:, :3], axis=0) < 0).all()  # flatter with every increase of kappa_ref
    assert gap[0, 0] > 1e-2 and gap[2, 0] < 1e-8


def test_spherical_bad_input():
    with pytest.raises(ValueError, match="kappa"):
        fp.spherical(0.5, 0.1, kappa=0.5, kappa_ref=0.0)
    with pytest.raises(ValueError, match="alpha"):
        fp.spherical(-0.5, 0.1)
    with pytest.raises(ValueError, match="d"):
        fp.spherical(0.5, [0.1, 0.6])
    with pytest.raises(ValueError, match="d"):
        fp.spherical(0.5, [[0.1]])
    assert abs(float(fp.cap_entropy(0.25)) - 0.5 * np.log(0.75)) < 1e-15
