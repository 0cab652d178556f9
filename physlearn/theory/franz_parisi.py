r"""Franz--Parisi potential of the binary perceptron (RS).

Huang & Kabashima, PRE 90, 052813 (2014); Huang, Wong & Kabashima, J. Phys. A 46, 375002 (2013).

A reference :math:`\tilde W` is drawn uniformly among the solutions with margin
:math:`\kappa_{\rm ref}` of :math:`P=\alpha N` random patterns; :math:`V(d)` is the (quenched)
log-number per weight of solutions :math:`W` with margin :math:`\kappa` at overlap
:math:`p = 1-2d` with it,

.. math:: V(d) = \frac1N\,\mathbb E\log\#\{W:\ \Delta^\mu(W)\ge\kappa,\ W\cdot\tilde W = Np\}.

Replicas: :math:`n\to0` copies of the reference (RS, overlap :math:`\tilde q` with conjugate
:math:`\hat{\tilde q}`: the Gardner RS solution at :math:`(\alpha,\kappa_{\rm ref})`) and
:math:`r\to0` constrained copies with mutual overlap :math:`q`, overlap :math:`p` with their own
reference and :math:`t` with the other reference replicas (conjugates :math:`\hat q,\hat p,\hat t`):

.. math::

    V &= -\hat p p + \hat t t - \tfrac12\hat q(1-q) + G_S + \alpha G_E,\\
    G_S &= \int Dz_0\,(1+\tanh\sqrt{\hat{\tilde q}}z_0)\int D\eta\,\log2\cosh\Big(
          \tfrac{\hat t}{\sqrt{\hat{\tilde q}}}z_0 + \sqrt{\hat q-\hat t^2/\hat{\tilde q}}\,\eta
          + \hat p - \hat t\Big),\\
    G_E &= \int Dz_0\Big\langle\int D\eta\,\log H\Big(
          \frac{\kappa - c_0z_0 - c_1x - \sqrt{q-c_0^2-c_1^2}\,\eta}{\sqrt{1-q}}\Big)\Big\rangle_x,
          \quad c_0=\frac t{\sqrt{\tilde q}},\ c_1=\frac{p-t}{\sqrt{1-\tilde q}},

where :math:`\langle\cdot\rangle_x` is the normalised Gaussian truncated to the reference's
own field :math:`\sqrt{\tilde q}z_0+\sqrt{1-\tilde q}\,x\ge\kappa_{\rm ref}`. At
:math:`p=\tilde q` (:math:`d = d_{\rm typ} = (1-\tilde q)/2`, :math:`\kappa=\kappa_{\rm ref}`) the
saddle point is known exactly, :math:`q=t=\tilde q`, :math:`\hat q=\hat t=\hat p=\hat{\tilde q}`,
and :math:`V=\phi_{\rm RS}` (the Gardner entropy); curves are solved by continuation from there.

The stationarity conditions are used in their Stein (integration-by-parts) form, which has no
:math:`1/\sqrt{q-c_0^2-c_1^2}` singularity:

.. math::

    p &= E_S[m],\quad q = E_S[m^2],\quad
    t = E_S[m] + \tfrac{\hat t}{\hat{\tilde q}}E_S[1-m^2] - E_S[m z_0]/\sqrt{\hat{\tilde q}},\\
    \hat q &= \frac{\alpha}{1-q}\langle A(u)^2\rangle,\quad
    \hat t = -\frac{\alpha}{\sqrt{1-q}}\Big\{\Big\langle A(u)\Big(\frac{z_0}{\sqrt{\tilde q}}
        - \frac{x}{\sqrt{1-\tilde q}}\Big)\Big\rangle + \Big(\frac{c_0}{\sqrt{\tilde q}}
        - \frac{c_1}{\sqrt{1-\tilde q}}\Big)\frac{\langle A'(u)\rangle}{\sqrt{1-q}}\Big\},

with :math:`m=\tanh(\cdot)` the argument of the :math:`\log2\cosh` and :math:`E_S` the
:math:`(z_0,\eta)` average with weight :math:`1+\tanh\sqrt{\hat{\tilde q}}z_0`. They are solved by
Newton (Jacobian by forward-mode autodiff) along the continuation path.

Spherical weights (:math:`W\cdot W=N`): the Gaussian prior integrates out,
the entropic part becomes :math:`\tfrac12[\log(1-q)+(q-s)/(1-q)]` with
:math:`s=[p^2-t^2-\tilde q(p-t)^2/(1-\tilde q)]/(1-\tilde q)`, the energetic part is the same
:math:`G_E`, and the reference is the spherical Gardner solution (:func:`spherical`,
:func:`spherical_free_entropy`). Both models share the continuation in :math:`d`.

Failure contract (every solver here): with ``on_failure="raise"`` (default) a point that did not
converge raises :class:`~physlearn.errors.NonConvergenceError` naming it (inside ``jit``/``vmap``:
a runtime error with the same message); with ``on_failure="flag"`` its value fields are NaN,
``converged`` is False and ``result`` holds the reason (:class:`physlearn.solvers.RESULTS`).
Every value is differentiable in ``alpha``, ``d``, ``kappa`` and ``kappa_ref`` (implicit
differentiation through the saddle point and the reference's Gardner solution).
"""

from __future__ import annotations

import math
import warnings
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from .. import numerics as nm
from .. import solvers
from .._config import eager_x64, is_traced, theory_jit
from ..errors import ReplicaSymmetryWarning
from . import _integrals as ig
from ._gardner_core import binary_point, spherical_point
from ._inputs import (TheoryResult, check_on_failure, curve_map, finish, finish_curve, grid_map, validate_d,
                      validate_margins)

__all__ = [
    "binary",
    "isolation_distance",
    "free_entropy",
    "saddle_equations",
    "spherical",
    "spherical_free_entropy",
    "spherical_saddle_equations",
    "cap_entropy",
    "FranzParisiRS",
    "IsolationResult",
    "h2",
]

DEFAULT_NODES = 48  # per half line of the z0 split rule
DEFAULT_NX = 24  # truncated reference field
DEFAULT_NETA = 20  # Gauss-Hermite nodes for eta
_VAR_FLOOR = 1e-13  # floor under the conditional variances inside square roots
_TOL = 1e-10
_CONVERGED_TOL = 1e-8
_N_HOMOTOPY = 12  # kappa -> kappa_W steps when kappa != kappa_ref
_N_GRID_DOWN = 12  # continuation points inserted (geometric) between d_typ and min(d)
_N_GRID_UP = 3  # ... and (linear) between d_typ and max(d)


h2 = eager_x64(solve=False)(ig.h2)
h2.__doc__ = ig.h2.__doc__ + " A closed form: no failure mode."


# --------------------------------------------------------------------------------------------
# The functional and its Stein-form stationarity conditions
# --------------------------------------------------------------------------------------------
class _Ref(eqx.Module):
    alpha: jax.Array
    p: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    q_ref: jax.Array
    qhat_ref: jax.Array


def _entropic(theta, ref, n, neta):
    _, _, ph, qh, th = theta
    qhr = ref.qhat_ref
    z0, w0 = ig.split_rule(jnp.zeros_like(qhr), n)
    eta, we = ig.hermite_rule(neta, qhr.dtype)
    weight = w0 * (1.0 + jnp.tanh(jnp.sqrt(qhr) * z0))
    vs = jnp.sqrt(jnp.maximum(qh - th * th / qhr, _VAR_FLOOR))
    B = (th / jnp.sqrt(qhr)) * z0[:, None] + vs * eta[None, :] + (ph - th)
    m = jnp.tanh(B)
    sech2 = nm.sech2(B)
    W = weight[:, None] * we[None, :]
    return {
        "m": jnp.sum(W * m),
        "m2": jnp.sum(W * m * m),
        "sech2": jnp.sum(W * sech2),
        "mz0": jnp.sum(W * m * z0[:, None]),
        "log2cosh": jnp.sum(W * nm.log2cosh(B)),
    }


def _energetic_nodes(q, t, ref, n, nx, neta):
    """The energetic quadrature at ``(q, t)``: the argument ``u`` of :math:`H` at every node
    ``(z0, x, eta)``, the weights, the lever ``z0/sqrt(q~) - x/sqrt(1-q~)`` and ``c0, c1``."""
    qr = ref.q_ref
    sq, sr = jnp.sqrt(qr), jnp.sqrt(1.0 - qr)
    c0 = t / sq
    c1 = (ref.p - t) / sr
    v = jnp.sqrt(jnp.maximum(q - c0 * c0 - c1 * c1, _VAR_FLOOR))
    s1 = jnp.sqrt(1.0 - q)
    z0, w0 = ig.split_rule(ig.kink(qr, ref.kappa), n)
    xs, wx = jax.vmap(lambda z: ig.truncated_rule((ref.kappa_ref - sq * z) / sr, nx))(z0)  # (n0, nx)
    eta, we = ig.hermite_rule(neta, qr.dtype)
    u = (ref.kappa - c0 * z0[:, None, None] - c1 * xs[:, :, None] - v * eta[None, None, :]) / s1
    W = w0[:, None, None] * wx[:, :, None] * we[None, None, :]
    lever = z0[:, None, None] / sq - xs[:, :, None] / sr
    return u, W, lever, c0, c1


def _stein_sums_raw(q, t, ref, n, nx, neta):
    u, W, lever, _, _ = _energetic_nodes(q, t, ref, n, nx, neta)
    A = nm.GH(u)
    Ap = A * nm.GH_minus_x(u)
    return jnp.stack([jnp.sum(W * A * A), jnp.sum(W * Ap), jnp.sum(W * A * lever)])


@partial(jax.custom_jvp, nondiff_argnums=(3, 4, 5))
def _stein_sums(q, t, ref, n, nx, neta):
    r""":math:`(\langle A^2\rangle, \langle A'\rangle, \langle A\,\mathrm{lever}\rangle)` over the energetic
    nodes. They depend on the order parameters through :math:`(q, t)` only, so their JVP forms
    the two columns of the Jacobian in :math:`(q, t)` once and contracts them with any number of
    tangents: a Newton step's Jacobian (five tangents, vmapped) pushes two tangents through the
    ~46k nodes instead of five."""
    return _stein_sums_raw(q, t, ref, n, nx, neta)


def _stein_sums_jvp(n, nx, neta, primals, tangents):
    q, t, ref = primals
    dq, dt, dref = tangents

    def f(qt):
        y = _stein_sums_raw(qt[0], qt[1], ref, n, nx, neta)
        return y, y

    jac, out = jax.jacfwd(f, has_aux=True)(jnp.stack([q, t]))
    tan = jnp.zeros_like(out)
    for col, d in ((0, dq), (1, dt)):
        if not isinstance(d, SymbolicZero):
            tan = tan + jac[:, col] * d
    leaves = jax.tree_util.tree_leaves(dref, is_leaf=lambda x: isinstance(x, SymbolicZero))
    if not all(isinstance(x, SymbolicZero) for x in leaves):  # derivatives in the parameters
        dref = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype) if isinstance(x, SymbolicZero) else x,
                                      dref, is_leaf=lambda x: isinstance(x, SymbolicZero))
        tan = tan + jax.jvp(lambda r: _stein_sums_raw(q, t, r, n, nx, neta), (ref,), (dref,))[1]
    return out, tan


_stein_sums.defjvp(_stein_sums_jvp, symbolic_zeros=True)


def _energetic(theta, ref, n, nx, neta):
    """The energetic averages at ``(q, t) = theta[:2]`` (both models)."""
    q, t = theta[0], theta[1]
    u, W, _, c0, c1 = _energetic_nodes(q, t, ref, n, nx, neta)
    A2, Ap, Alever = _stein_sums(q, t, ref, n, nx, neta)
    return {
        "logH": jnp.sum(W * nm.log_H(u)),
        "A2": A2,
        "Ap": Ap,
        "Alever": Alever,
        "c0": c0,
        "c1": c1,
    }


def _energetic_conjugates(q, ref, ee):
    r"""Stein forms of :math:`-2\alpha\,\partial_q G_E` and :math:`-\alpha\,\partial_t G_E`: the values
    of :math:`\hat q` and :math:`\hat t` at stationarity (module docstring)."""
    qr = ref.q_ref
    s1 = jnp.sqrt(1.0 - q)
    qh = ref.alpha * ee["A2"] / (1.0 - q)
    lev = ee["c0"] / jnp.sqrt(qr) - ee["c1"] / jnp.sqrt(1.0 - qr)
    th = -(ref.alpha / s1) * (ee["Alever"] + lev * ee["Ap"] / s1)
    return qh, th


def _fp_value(theta, ref, es, ee):
    q, t, ph, qh, th = theta
    return -ph * ref.p + th * t - 0.5 * qh * (1.0 - q) + es["log2cosh"] + ref.alpha * ee["logH"]


def saddle_equations(theta, ref, n=DEFAULT_NODES, nx=DEFAULT_NX, neta=DEFAULT_NETA):
    r"""Residuals of the Stein-form stationarity conditions (module docstring) at
    ``theta = (q, t, p_hat, q_hat, t_hat)``; ``ref`` carries ``alpha, p, kappa, kappa_ref`` and the
    reference's Gardner solution ``q_ref, qhat_ref``. Composable."""
    q, t, ph, qh, th = theta
    es = _entropic(theta, ref, n, neta)
    ee = _energetic(theta, ref, n, nx, neta)
    qhr = ref.qhat_ref
    t_new = es["m"] + (th / qhr) * es["sech2"] - es["mz0"] / jnp.sqrt(qhr)
    qh_new, th_new = _energetic_conjugates(q, ref, ee)
    scale = 1.0 + jnp.abs(qh)
    return jnp.stack(
        [
            es["m"] - ref.p,
            (1.0 - q) - es["sech2"],
            t_new - t,
            (qh_new - qh) / scale,
            (th_new - th) / scale,
        ]
    )


def free_entropy(theta, ref, n=DEFAULT_NODES, nx=DEFAULT_NX, neta=DEFAULT_NETA):
    r"""The RS Franz--Parisi functional :math:`V(q,t,\hat p,\hat q,\hat t)` of the module docstring
    (Huang & Kabashima 2014) at ``theta = (q, t, p_hat, q_hat, t_hat)``. Composable; its gradient
    vanishes at the solutions of :func:`saddle_equations` (where the conditional variances are
    positive)."""
    es = _entropic(theta, ref, n, neta)
    ee = _energetic(theta, ref, n, nx, neta)
    return _fp_value(theta, ref, es, ee)


# --------------------------------------------------------------------------------------------
# Solving along a path
# --------------------------------------------------------------------------------------------
class FranzParisiRS(TheoryResult):
    r"""RS Franz--Parisi potential on a curve of distances.

    Shapes: ``alpha, kappa, kappa_ref, q_ref, q_hat_ref, d_typ, gardner_entropy`` have the
    broadcast shape ``P`` of the parameters; every other field has shape ``P + d.shape``.

    Attributes:
        d: normalised Hamming distance to the reference; ``p = 1 - 2d`` the overlap.
        entropy: :math:`V(d)` (log-number per weight; negative where no solution exists at that
            distance from a typical reference).
        q, t, p_hat, q_hat, t_hat: order parameters (see the module docstring).
        q_ref, q_hat_ref: Gardner RS solution of the reference problem :math:`(\alpha,\kappa_{\rm ref})`.
        d_typ: :math:`(1-\tilde q)/2`, the typical distance between two reference solutions.
        gardner_entropy: the RS entropy :math:`\phi_{\rm RS}(\alpha,\kappa_{\rm ref})` of the reference problem.
        converged, residual, n_steps, result: solver diagnostics per point (``result``: a
            :class:`~physlearn.solvers.RESULTS` code).
    """

    INPUTS = ("alpha", "kappa", "kappa_ref", "d", "p")

    alpha: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    d: jax.Array
    p: jax.Array
    entropy: jax.Array
    q: jax.Array
    t: jax.Array
    p_hat: jax.Array
    q_hat: jax.Array
    t_hat: jax.Array
    q_ref: jax.Array
    q_hat_ref: jax.Array
    d_typ: jax.Array
    gardner_entropy: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


def _to_x(theta, ref=None):
    # Newton variables: log(1 - q) and log(q_hat) keep q < 1 and q_hat > 0
    return jnp.stack([jnp.log1p(-theta[0]), theta[1], theta[2], jnp.log(theta[3]), theta[4]])


def _from_x(x, ref=None):
    return jnp.stack([-jnp.expm1(x[0]), x[1], x[2], jnp.exp(x[3]), x[4]])


# --------------------------------------------------------------------------------------------
# Spherical weights
# --------------------------------------------------------------------------------------------
def _sph_s(q, t, ref):
    r""":math:`s = c^{\rm T}\tilde Q^{-1}c` at :math:`n\to0` (the part of the constrained replicas'
    overlap explained by the references) and its partial derivatives in :math:`t` and :math:`p`."""
    p, qr = ref.p, ref.q_ref
    s = (p * p - t * t - qr * (p - t) ** 2 / (1.0 - qr)) / (1.0 - qr)
    ds_dt = (-2.0 * t + 2.0 * qr * (p - t) / (1.0 - qr)) / (1.0 - qr)
    ds_dp = (2.0 * p - 2.0 * qr * (p - t) / (1.0 - qr)) / (1.0 - qr)
    return s, ds_dt, ds_dp


def _sph_value(theta, ref, n, nx, neta):
    q, t = theta
    s, _, _ = _sph_s(q, t, ref)
    ee = _energetic(theta, ref, n, nx, neta)
    return 0.5 * (jnp.log1p(-q) + (q - s) / (1.0 - q)) + ref.alpha * ee["logH"]


def spherical_saddle_equations(theta, ref, n=DEFAULT_NODES, nx=DEFAULT_NX, neta=DEFAULT_NETA):
    r"""Stationarity of the spherical Franz--Parisi functional (:func:`spherical_free_entropy`) at
    ``theta = (q, t)``, in Stein form:

    .. math:: \frac{q-s}{1-q} = \alpha\langle A(u)^2\rangle,\qquad
              \frac{\partial_t s}{2(1-q)} + \hat t = 0,

    with :math:`\hat t` the Stein form of :math:`-\alpha\partial_tG_E` (module docstring).
    Composable."""
    q, t = theta
    ee = _energetic(theta, ref, n, nx, neta)
    _, th = _energetic_conjugates(q, ref, ee)
    s, ds_dt, _ = _sph_s(q, t, ref)
    return jnp.stack([(q - s) / (1.0 - q) - ref.alpha * ee["A2"], (ds_dt / (2.0 * (1.0 - q)) + th) / (1.0 + jnp.abs(th))])


def spherical_free_entropy(theta, ref, n=DEFAULT_NODES, nx=DEFAULT_NX, neta=DEFAULT_NETA):
    r"""RS Franz--Parisi functional of the spherical perceptron (:math:`W\cdot W = N`) at
    ``theta = (q, t)`` (the Gaussian analogue of Huang & Kabashima 2014):

    .. math::

        V_{\rm sph}(q,t) = \tfrac12\Big[\log(1-q) + \frac{q-s}{1-q}\Big] + \alpha G_E(q,t),\qquad
        s = \frac1{1-\tilde q}\Big[p^2 - t^2 - \frac{\tilde q\,(p-t)^2}{1-\tilde q}\Big],

    the :math:`r\to0` derivative of :math:`\tfrac12\log\det` of the overlap matrix of the
    references (:math:`\tilde q` off the diagonal) and the constrained replicas (:math:`q` among
    them, :math:`p` with their own reference, :math:`t` with the others); :math:`G_E` is the binary
    energetic term. At :math:`\alpha=0` (:math:`\tilde q=t=0`, :math:`q=p^2`) it is the
    spherical-cap volume :math:`\tfrac12\log(1-p^2)` (:func:`cap_entropy`); at
    :math:`p=t=q=\tilde q` the spherical Gardner entropy. Composable."""
    return _sph_value(theta, ref, n, nx, neta)


def _sph_fields(theta, ref, n, nx, neta):
    q, t = theta
    ee = _energetic(theta, ref, n, nx, neta)
    qh, th = _energetic_conjugates(q, ref, ee)
    _, _, ds_dp = _sph_s(q, t, ref)
    return q, t, ds_dp / (2.0 * (1.0 - q)), qh, th


# Newton variables for the spherical model: log(1-q) as in the binary case, and y with
#   t = q~ p + sqrt((1-p^2) q~ (1-q~)) tanh(y),
# which keeps c(t) = t^2/q~ + (p-t)^2/(1-q~) = p^2 + (1-p^2) tanh(y)^2 (the part of the overlap that
# the references explain) below 1 for every real y. With t itself Newton left that domain on coarse
# continuation grids when the reference margin exceeds kappa. q may touch c: at d_typ
# (kappa = kappa_ref) q = c exactly, and where the energetic constraint is negligible (reference
# margin well above kappa, small d) the solution is the alpha = 0 one, q = c = p^2, t = q~ p; there
# the shared variance q - c of the energetic term is floored.
def _sph_width(ref):
    p, qr = ref.p, ref.q_ref
    return jnp.sqrt((1.0 - p * p) * qr * (1.0 - qr))


def _sph_to_x(theta, ref):
    z = (theta[1] - ref.q_ref * ref.p) / _sph_width(ref)
    return jnp.stack([jnp.log1p(-theta[0]), jnp.arctanh(jnp.clip(z, -1.0 + 1e-15, 1.0 - 1e-15))])


def _sph_from_x(x, ref):
    return jnp.stack([-jnp.expm1(x[0]), ref.q_ref * ref.p + _sph_width(ref) * jnp.tanh(x[1])])


class _Model(eqx.Module):
    """What the continuation in d needs to know about the weights' prior."""

    reference: callable = eqx.field(static=True)  # (alpha, kappa_ref, n) -> GardnerRS
    typical: callable = eqx.field(static=True)  # GardnerRS -> exact theta at d_typ, kappa = kappa_ref
    equations: callable = eqx.field(static=True)
    value: callable = eqx.field(static=True)
    fields: callable = eqx.field(static=True)  # -> (q, t, p_hat, q_hat, t_hat)
    to_x: callable = eqx.field(static=True)
    from_x: callable = eqx.field(static=True)
    homotopy: tuple = eqx.field(static=True, default=(_N_HOMOTOPY, 1))  # (steps, power of the schedule)


def _bin_value(theta, ref, n, nx, neta):
    return _fp_value(theta, ref, _entropic(theta, ref, n, neta), _energetic(theta, ref, n, nx, neta))


_BINARY = _Model(
    binary_point,
    lambda g: jnp.stack([g.q, g.q, g.q_hat, g.q_hat, g.q_hat]),
    saddle_equations,
    _bin_value,
    lambda theta, ref, n, nx, neta: tuple(theta),
    _to_x,
    _from_x,
)
_SPHERICAL = _Model(
    spherical_point,
    lambda g: jnp.stack([g.q, g.q]),
    spherical_saddle_equations,
    _sph_value,
    _sph_fields,
    _sph_to_x,
    _sph_from_x,
    # kappa_ref -> kappa on a quadratic schedule: when q~ is close to 1 (reference margin near the
    # maximal one) the solution moves fast at the start (the constraint on W is released) and a
    # uniform 12-step schedule failed at its first step
    (24, 2),
)
_MODELS = {"binary": _BINARY, "spherical": _SPHERICAL}


def _solve_point(model, theta0, ref, n, nx, neta, ref0=None):
    """Newton from ``theta0``, the solution at ``ref0`` (default ``ref``): the predictor keeps the
    model's Newton variables fixed, which for the spherical model keeps t at the same relative
    place in its allowed interval as p moves."""
    sol = solvers.root(
        lambda x, r: model.equations(model.from_x(x, r), r, n, nx, neta),
        model.to_x(theta0, ref if ref0 is None else ref0),
        ref,
        method="newton",
        tol=_TOL,
        max_steps=60,
    )
    return solvers.SaddleSolution(model.from_x(sol.value, ref), sol.result, sol.residual, sol.n_steps)


def _curve_one(alpha, kappa, kappa_ref, d_user, n, nx, neta, model=_BINARY):
    gard = model.reference(alpha, kappa_ref, n)
    qr, qhr = gard.q, gard.q_hat
    dtype = qr.dtype
    d_typ = 0.5 * (1.0 - qr)
    theta_typ = model.typical(gard)

    def ref_at(d, kap):
        return _Ref(alpha, 1.0 - 2.0 * d, kap, kappa_ref, qr, qhr)

    def step(theta, pt, d_from=None):
        d, kap = pt
        ref0 = None if d_from is None else ref_at(d_from, kap)
        return _solve_point(model, theta, ref_at(d, kap), n, nx, neta, ref0)

    # homotopy in the margin of W at p = q_ref (exact start when kappa == kappa_ref)
    same = kappa == kappa_ref
    n_hom, power = model.homotopy
    lam = (jnp.arange(1, n_hom + 1, dtype=dtype) / n_hom) ** power
    hom = solvers.continuation(step, theta_typ, (jnp.full_like(lam, d_typ), kappa_ref + lam * (kappa - kappa_ref)))
    theta_start = jnp.where(same, theta_typ, hom.value[-1])
    start_result = jnp.where(same, solvers.RESULTS.successful, hom.result[-1])

    def solve_at(init, d, d_from):
        sol = step(init, (d, kappa), d_from)
        exact = same & (d == d_typ)  # the start point is known exactly: keep it exact
        return solvers.SaddleSolution(
            jnp.where(exact, theta_typ, sol.value),
            jnp.where(exact, solvers.RESULTS.successful, sol.result).astype(sol.result.dtype),
            jnp.where(exact, 0.0, sol.residual),
            sol.n_steps,
        )

    # the curve: continuation in d from d_typ, down to min(d) and up to max(d)
    curve = solvers.follow(solve_at, theta_start, d_typ, d_user, n_down=_N_GRID_DOWN, n_up=_N_GRID_UP)
    val = curve.value
    refs = jax.vmap(lambda d: ref_at(d, kappa))(d_user)
    ent = jax.vmap(lambda th, r: model.value(th, r, n, nx, neta))(val, refs)
    fields = jax.vmap(lambda th, r: jnp.stack(model.fields(th, r, n, nx, neta)))(val, refs)
    result = solvers.combine(gard.result, start_result, curve.result, solvers.from_checks(jnp.isfinite(ent), True))
    return FranzParisiRS(
        alpha, kappa, kappa_ref, d_user, 1.0 - 2.0 * d_user, ent,
        *(fields[:, i] for i in range(5)),
        qr, qhr, d_typ, gard.entropy, result == 0, curve.residual, curve.n_steps, result,
    )


@theory_jit(static_argnames=("n", "nx", "neta", "model"))
def _fp_grid(alpha, kappa, kappa_ref, d, n, nx, neta, model="binary"):
    return curve_map(lambda a, k, kr, dd: _curve_one(a, k, kr, dd, n, nx, neta, _MODELS[model]), d, alpha, kappa,
                     kappa_ref)


@eager_x64
def binary(
    alpha,
    d,
    kappa=0.0,
    kappa_ref=0.0,
    *,
    n: int = DEFAULT_NODES,
    nx: int = DEFAULT_NX,
    neta: int = DEFAULT_NETA,
    on_failure: str = "raise",
) -> FranzParisiRS:
    r"""RS Franz--Parisi local entropy :math:`V(d)` of the binary perceptron
    (Huang & Kabashima, PRE 90, 052813 (2014)).

    Solves the saddle point of the functional :math:`V(q,t,\hat p,\hat q,\hat t)` of the module
    docstring (equations in Stein form) at fixed overlap :math:`p=1-2d` with a reference drawn
    uniformly among the solutions of margin ``kappa_ref``, counting solutions of margin ``kappa``.

    Path: the reference's Gardner RS solution :math:`(\tilde q,\hat{\tilde q})` is computed first
    (:func:`physlearn.theory.gardner.binary_rs`); at :math:`d_{\rm typ}=(1-\tilde q)/2` and
    ``kappa == kappa_ref`` the saddle point is exact (:math:`q=t=\tilde q`,
    :math:`\hat q=\hat t=\hat p=\hat{\tilde q}`, :math:`V=\phi_{\rm RS}`). For ``kappa != kappa_ref``
    a homotopy in the margin of :math:`W` at :math:`p=\tilde q` is run first. Then Newton along a
    continuation in :math:`d` (towards small d and towards large d), with extra points inserted, so
    no initial guess is needed.

    Failure: for :math:`\alpha\gtrsim0.6` the RS branch ends at small :math:`d` (a few
    :math:`10^{-3}`, where :math:`\hat q` diverges); points beyond the end of a branch, or beyond the
    Gardner branch of the reference, fail (``on_failure``: raise or flag, module docstring).

    Args:
        alpha, kappa, kappa_ref: broadcast against each other (shape ``P``); ``alpha > 0``.
        d: scalar or 1-D array of distances in :math:`(0, 1/2)` (the curve); results have shape
            ``P + d.shape``.
        n: nodes per half line for :math:`z_0`; nx: nodes for the truncated reference field;
            neta: Gauss--Hermite nodes for :math:`\eta`.
        on_failure: ``"raise"`` (:class:`~physlearn.errors.NonConvergenceError`) or ``"flag"``.

    Returns:
        :class:`FranzParisiRS` (``entropy`` is :math:`V(d)`).
    """
    return _public_curve(
        "binary", alpha, d, kappa, kappa_ref, n, nx, neta, on_failure,
        "alpha must be below the Gardner RS branch end; use a denser d grid or more nodes",
    )


@eager_x64
def spherical(
    alpha,
    d,
    kappa=0.0,
    kappa_ref=0.0,
    *,
    n: int = DEFAULT_NODES,
    nx: int = DEFAULT_NX,
    neta: int = DEFAULT_NETA,
    on_failure: str = "raise",
) -> FranzParisiRS:
    r"""RS Franz--Parisi local entropy of the spherical perceptron (:math:`W\cdot W=N`): the
    log-volume per weight, relative to the whole sphere, of the margin-``kappa`` solutions at
    overlap :math:`p = 1-2d` with a reference drawn uniformly among the margin-``kappa_ref``
    solutions (the continuous-weight probe of flatness of Baldassi,
    Pittorino & Zecchina, PNAS 117, 161 (2020)).

    Solves the stationarity of :func:`spherical_free_entropy` (two order parameters
    :math:`q, t`; the Gaussian prior is integrated out) by Newton along the same continuation in
    :math:`d` as :func:`binary`, starting from the exact point :math:`q=t=\tilde q` at
    :math:`d_{\rm typ}=(1-\tilde q)/2`, where :math:`V` equals the spherical Gardner entropy
    (:func:`physlearn.theory.gardner.spherical_rs` at ``kappa_ref``). :math:`V(d)\le`
    :func:`cap_entropy` (the :math:`\alpha=0` value) and :math:`\le` the Gardner entropy at
    ``kappa``. The solution space is convex for :math:`\kappa\ge0`, so there is no golf course:
    :math:`V` falls smoothly to :math:`-\infty` as :math:`d\to0`; as ``kappa_ref`` approaches the
    margin at which :math:`\alpha` is the capacity, the curve rises towards the cap at small
    :math:`d` (wide flat minima). RS is exact for margins :math:`\ge0`; negative margins emit a
    :class:`~physlearn.errors.ReplicaSymmetryWarning`.

    Returns a :class:`FranzParisiRS` whose ``p_hat, q_hat, t_hat`` are the conjugates the binary
    functional would have at the same saddle point (:math:`\hat p=\partial_ps/(2(1-q))`,
    :math:`\hat q=\alpha\langle A^2\rangle/(1-q)`, :math:`\hat t` its Stein form) and whose
    ``q_hat_ref`` is :math:`\tilde q/(1-\tilde q)^2`. Arguments as in :func:`binary`; ``alpha``
    must be below :func:`~physlearn.theory.gardner.spherical_capacity` (``kappa_ref``).
    """
    return _public_curve(
        "spherical", alpha, d, kappa, kappa_ref, n, nx, neta, on_failure,
        "alpha must be below gardner.spherical_capacity(kappa_ref); use a denser d grid or more nodes",
    )


@eager_x64
def cap_entropy(d):
    r"""Log-volume per weight of the spherical cap at overlap :math:`p=1-2d` with a fixed vector,
    relative to the sphere: :math:`\tfrac12\log(1-p^2) = \tfrac12\log[4d(1-d)]`. The
    :math:`\alpha=0` value of :func:`spherical` and its upper bound (the continuous analogue of
    :func:`h2`)."""
    d = jnp.asarray(d, dtype=jnp.result_type(d, float))
    return 0.5 * (math.log(4.0) + jnp.log(d) + jnp.log1p(-d))


def _public_curve(model, alpha, d, kappa, kappa_ref, n, nx, neta, on_failure, hint):
    """Shared public path of :func:`binary` and :func:`spherical`: validate, solve, raise or flag."""
    check_on_failure(on_failure)
    a, k, kr = validate_margins(alpha, kappa, kappa_ref)
    dd = validate_d(d)
    if model == "spherical" and not is_traced(k) and (np.asarray(k) < 0).any():
        warnings.warn(
            "franz_parisi.spherical with kappa < 0: the spherical problem is not convex and the RS "
            "result is only an approximation (Franz & Parisi 2016).",
            ReplicaSymmetryWarning,
            stacklevel=3,
        )
    f = jnp.result_type(float)
    sol = _fp_grid(jnp.asarray(a, f), jnp.asarray(k, f), jnp.asarray(kr, f), jnp.asarray(dd, f), n, nx, neta,
                   model=model)
    return finish_curve(sol, on_failure, f"franz_parisi.{model}", hint)


# --------------------------------------------------------------------------------------------
# Isolation distance
# --------------------------------------------------------------------------------------------
class IsolationResult(TheoryResult):
    """Zero crossing of :math:`V(d)` (see :func:`isolation_distance`): ``d_min`` and the saddle
    point ``q, t, p_hat, q_hat, t_hat`` there; diagnostics ``converged, residual, n_steps,
    result``."""

    INPUTS = ("alpha", "kappa", "kappa_ref")

    alpha: jax.Array
    kappa: jax.Array
    kappa_ref: jax.Array
    d_min: jax.Array
    q: jax.Array
    t: jax.Array
    p_hat: jax.Array
    q_hat: jax.Array
    t_hat: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


_N_SCAN = 40
_D_SCAN_MIN = 1e-3


def _isolation_one(alpha, kappa, kappa_ref, n, nx, neta):
    gard = binary_point(alpha, kappa_ref, n)
    d_typ = 0.5 * (1.0 - gard.q)
    k = jnp.arange(1, _N_SCAN + 1, dtype=d_typ.dtype) / _N_SCAN
    grid = d_typ * (_D_SCAN_MIN / d_typ) ** k  # decreasing
    curve = _curve_one(alpha, kappa, kappa_ref, grid, n, nx, neta)
    pos = curve.converged & (curve.entropy > 0.0)
    neg = curve.converged & (curve.entropy < 0.0)
    cross = pos[:-1] & neg[1:]
    found = jnp.any(cross)
    i = jnp.argmax(cross) + 1
    theta0 = jnp.stack([curve.q[i], curve.t[i], curve.p_hat[i], curve.q_hat[i], curve.t_hat[i]])
    y0 = jnp.concatenate([_to_x(theta0), jnp.log(grid[i])[None]])
    qr, qhr = curve.q_ref, curve.q_hat_ref

    def eqs(y, _):
        theta = _from_x(y[:5])
        d = jnp.exp(y[5])
        r = _Ref(alpha, 1.0 - 2.0 * d, kappa, kappa_ref, qr, qhr)
        v = _fp_value(theta, r, _entropic(theta, r, n, neta), _energetic(theta, r, n, nx, neta))
        return jnp.concatenate([saddle_equations(theta, r, n, nx, neta), v[None]])

    sol = solvers.root(eqs, y0, None, method="newton", tol=_TOL, max_steps=60)
    th = _from_x(sol.value[:5])
    d_min = jnp.exp(sol.value[5])
    result = solvers.combine(
        gard.result,
        jnp.where(found, solvers.RESULTS.successful, solvers.RESULTS.branch_ended),  # no crossing on the branch
        sol.result,
        jnp.where(d_min < d_typ, solvers.RESULTS.successful, solvers.RESULTS.inadmissible),
    )
    return IsolationResult(alpha, kappa, kappa_ref, d_min, *th, result == 0, sol.residual, sol.n_steps, result)


@theory_jit(static_argnames=("n", "nx", "neta"))
def _isolation_grid(alpha, kappa, kappa_ref, n, nx, neta):
    return grid_map(lambda a, k, kr: _isolation_one(a, k, kr, n, nx, neta), alpha, kappa, kappa_ref)


@eager_x64
def isolation_distance(
    alpha,
    kappa=0.0,
    kappa_ref=0.0,
    *,
    n: int = DEFAULT_NODES,
    nx: int = DEFAULT_NX,
    neta: int = DEFAULT_NETA,
    on_failure: str = "raise",
    full_output: bool = False,
):
    r"""Isolation distance :math:`d_{\min}(\alpha)` of typical solutions (Huang & Kabashima 2014):
    the zero crossing of the RS Franz--Parisi potential, :math:`V(d_{\min}) = 0`, with
    :math:`V(d) < 0` on :math:`(d_{\rm end}, d_{\min})` (no solutions at those distances from a
    typical reference).

    The curve :math:`V(d)` of :func:`binary` is followed by continuation on a geometric grid from
    :math:`d_{\rm typ}` down to :math:`10^{-3}`; the first sign change brackets the crossing, which is
    then solved jointly with the saddle point (Newton on the six equations
    :math:`\{\partial V = 0, V = 0\}` in :math:`(q,t,\hat p,\hat q,\hat t,\log d)`).
    Broadcasts over ``alpha, kappa, kappa_ref``; differentiable in all three (implicit
    differentiation of the six equations).

    Returns:
        The array of :math:`d_{\min}`, or an :class:`IsolationResult` if ``full_output``.

    Failure: no crossing on the converged part of the branch (``result = RESULTS.branch_ended``),
    or the joint Newton solve fails; flagged or raised per ``on_failure`` (module docstring).
    """
    check_on_failure(on_failure)
    a, k, kr = validate_margins(alpha, kappa, kappa_ref)
    out = _isolation_grid(a, k, kr, n, nx, neta)
    out = finish(out, on_failure, "franz_parisi.isolation_distance",
                 {"alpha": out.alpha, "kappa": out.kappa, "kappa_ref": out.kappa_ref},
                 "V(d) has no zero crossing above d = 1e-3 on the RS branch")
    return out if full_output else out.d_min
