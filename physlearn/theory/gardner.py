r"""Storage capacity of the perceptron: Gardner volume, RS and 1RSB.

Setting (Gardner 1988; Gardner & Derrida 1988; Engel & Van den Broeck 2001, ch. 6 & 7):
:math:`P = \alpha N` random patterns :math:`\xi^\mu` with labels :math:`\sigma^\mu`; a weight
vector :math:`W` stores them with margin :math:`\kappa` when
:math:`\Delta^\mu = \sigma^\mu W\cdot\xi^\mu/\sqrt N \ge \kappa` for all :math:`\mu`. Spherical
weights have :math:`W\cdot W = N`; binary weights :math:`W_i=\pm1`. With
:math:`u = (\kappa - \sqrt q\, z)/\sqrt{1-q}` and the energetic term

.. math:: E(q) = \int Dz\, \log H(u),

the replica-symmetric free entropies (log-volume of the solution space per weight) are

.. math::

    \phi_{\rm sph}(q) &= \tfrac12\log(1-q) + \frac{q}{2(1-q)} + \alpha E(q),\\
    \phi_{\rm bin}(q,\hat q) &= -\tfrac12\hat q(1-q) + \int Dz\,\log 2\cosh(\sqrt{\hat q}z) + \alpha E(q).

Every public function accepts scalars or arrays (broadcast against each other and solved as one
vmapped, compiled call), works under ``jax.grad``/``jit``/``vmap`` (derivatives through the
saddle point by the implicit function theorem) and validates its input eagerly. Eager calls with
concrete inputs are computed in float64 and return NumPy arrays; traced solves need
``physlearn.enable_x64()``.

Failure contract (every solver here): with ``on_failure="raise"`` (default) a point that did not
converge raises :class:`~physlearn.errors.NonConvergenceError` naming it (inside ``jit``/``vmap``:
a runtime error with the same message); with ``on_failure="flag"`` its value fields are NaN,
``converged`` is False and ``result`` holds the reason (:class:`physlearn.solvers.RESULTS`).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm
from .. import solvers
from .._config import eager_x64, is_traced, theory_jit
from ..errors import ReplicaSymmetryWarning
from . import _integrals as ig
from ._gardner_core import GardnerRS, binary_point, spherical_point
from ._inputs import TheoryResult, as_param, broadcast, check_on_failure, finish, grid_call
from ._integrals import binary_rs_free_entropy, energetic_term

__all__ = [
    "energetic_term",
    "spherical_capacity",
    "spherical_rs",
    "binary_rs",
    "binary_rs_free_entropy",
    "binary_capacity",
    "binary_rs_branch_end",
    "one_rsb_free_entropy",
    "binary_1rsb",
    "binary_1rsb_frozen",
    "GardnerRS",
    "Gardner1RSB",
    "CapacityResult",
]

DEFAULT_NODES = ig.DEFAULT_NODES  # per half line of the split rule (2 x 128 evaluations per integral)


# --------------------------------------------------------------------------------------------
# Spherical perceptron
# --------------------------------------------------------------------------------------------
@eager_x64(solve=False)
def spherical_capacity(kappa=0.0):
    r"""RS storage capacity of the spherical perceptron (Gardner 1988):

    .. math:: \alpha_c(\kappa) = \Big[\int_{-\kappa}^\infty Dt\,(t+\kappa)^2\Big]^{-1}
              = \big[(1+\kappa^2)H(-\kappa) + \kappa G(\kappa)\big]^{-1},

    with :math:`\alpha_c(0) = 2` (Cover 1965). Exact for :math:`\kappa \ge 0` (convex problem);
    for :math:`\kappa < 0` replica symmetry is broken (Franz & Parisi 2016; Franz et al., SciPost
    2017) and a :class:`~physlearn.errors.ReplicaSymmetryWarning` is emitted. Array in, array
    out; differentiable in :math:`\kappa`. A closed form: no failure mode.
    """
    k = as_param("kappa", kappa)
    if not is_traced(k) and (np.asarray(k) < 0).any():
        warnings.warn(
            "spherical_capacity with kappa < 0: the RS result is only an upper estimate "
            "(full RSB needed; Franz & Parisi 2016).",
            ReplicaSymmetryWarning,
            stacklevel=2,
        )
    return ig.spherical_capacity(jnp.asarray(k, dtype=jnp.result_type(float)))


@theory_jit(static_argnames=("n",))
def _spherical_rs_grid(alpha, kappa, n):
    return jax.vmap(lambda a, k: spherical_point(a, k, n))(alpha, kappa)


@eager_x64
def spherical_rs(alpha, kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> GardnerRS:
    r"""RS Gardner volume of the spherical perceptron (Gardner 1988).

    Solves the stationarity condition of :math:`\phi_{\rm sph}(q)` in its Stein form

    .. math:: \frac{q}{1-q} = \alpha\int Dz\, A(u)^2, \qquad u = \frac{\kappa-\sqrt q z}{\sqrt{1-q}},

    by bisection in :math:`\operatorname{logit} q` (robust up to :math:`q\to1`), and returns
    ``entropy`` :math:`=\phi_{\rm sph}(q^*)` and the replicon
    :math:`\lambda = \alpha\int Dz\,[(\log H)''(u)]^2` (RS stable when :math:`\lambda<1`; Gardner
    & Derrida 1988).

    Args:
        alpha: load :math:`P/N > 0`; kappa: margin; broadcast against each other.
        n: quadrature nodes per half line.
        on_failure: ``"raise"`` or ``"flag"`` (module docstring).

    Returns:
        :class:`GardnerRS` (``q_hat`` is :math:`q/(1-q)^2`).

    Failure: the branch exists for :math:`0<\alpha<\alpha_c(\kappa)`; beyond it a point fails
    with ``result = RESULTS.branch_ended``.
    """
    return _solve_rs(
        _spherical_rs_grid, "spherical_rs", alpha, kappa, n, on_failure,
        "alpha must be below the capacity spherical_capacity(kappa); near it increase n",
    )


def _solve_rs(grid_fn, name, alpha, kappa, n, on_failure, hint):
    """Shared public path of the RS solvers: validate, solve the grid, raise or flag."""
    check_on_failure(on_failure)
    a = as_param("alpha", alpha, positive=True)
    k = as_param("kappa", kappa)
    broadcast(alpha=a, kappa=k)
    sol = grid_call(grid_fn, a, k, n=n)
    return finish(sol, on_failure, name, {"alpha": sol.alpha, "kappa": sol.kappa}, hint)


# --------------------------------------------------------------------------------------------
# Binary (Ising) perceptron
# --------------------------------------------------------------------------------------------
@theory_jit(static_argnames=("n",))
def _binary_rs_grid(alpha, kappa, n):
    return jax.vmap(lambda a, k: binary_point(a, k, n))(alpha, kappa)


@eager_x64
def binary_rs(alpha, kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> GardnerRS:
    r"""RS Gardner volume of the binary (Ising) perceptron (Gardner & Derrida 1988).

    Saddle point of :math:`\phi_{\rm bin}(q,\hat q)` (:func:`binary_rs_free_entropy`):

    .. math:: q = \int Dz\,\tanh^2(\sqrt{\hat q}z), \qquad
              \hat q = \frac{\alpha}{1-q}\int Dz\,A(u)^2,

    solved by bisection on :math:`q` in logit space (eliminating :math:`\hat q`). ``entropy`` is the
    RS entropy per weight (:math:`\log 2` at :math:`\alpha=0`; it vanishes at the Krauth--Mézard
    capacity, see :func:`binary_capacity`); ``replicon`` is
    :math:`\frac{\alpha}{(1-q)^2}\langle[(\log H)''(u)]^2\rangle\langle\operatorname{sech}^4(\sqrt{\hat q}z)\rangle`
    (RS stable below 1; reaches 1 at :math:`\alpha_{AT}\approx1.015` for :math:`\kappa=0`).

    Args:
        alpha: load :math:`> 0`; kappa: margin; broadcast against each other.
        n: quadrature nodes per half line.
        on_failure: ``"raise"`` or ``"flag"`` (module docstring).

    Returns:
        :class:`GardnerRS`.

    Failure: the branch exists for :math:`\alpha < \alpha_{q\to1}(\kappa) = (2/\pi)\,\alpha_c^{\rm sph}(\kappa)`
    (:math:`4/\pi` at :math:`\kappa=0`, see :func:`binary_rs_branch_end`); beyond it a point fails
    with ``result = RESULTS.branch_ended``.
    """
    return _solve_rs(
        _binary_rs_grid, "binary_rs", alpha, kappa, n, on_failure,
        "alpha must be below binary_rs_branch_end(kappa) (4/pi at kappa=0); near it increase n",
    )


@eager_x64(solve=False)
def binary_rs_branch_end(kappa=0.0):
    r"""End of the RS branch of the binary perceptron, where :math:`q\to1`:
    :math:`\alpha_{q\to1}(\kappa) = \frac{2}{\pi}\alpha_c^{\rm sph}(\kappa)` (:math:`4/\pi` at
    :math:`\kappa = 0`). This is *not* the capacity (Krauth & Mézard 1989; see
    :func:`binary_capacity`). A closed form: no failure mode."""
    k = as_param("kappa", kappa)
    return ig.binary_branch_end(jnp.asarray(k, dtype=jnp.result_type(float)))


class CapacityResult(TheoryResult):
    """Krauth--Mézard capacity with solver diagnostics (:func:`binary_capacity` with
    ``full_output=True``)."""

    INPUTS = ("kappa",)

    kappa: jax.Array
    alpha_c: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


@theory_jit(static_argnames=("n",))
def _binary_capacity_grid(kappa, n):
    def one(kappa):
        hi = ig.binary_branch_end(kappa) * (1.0 - 1e-6)

        def f(log_alpha, k):
            return binary_point(jnp.exp(log_alpha), k, n).entropy

        sol = solvers.root(
            f,
            jnp.zeros(()),
            kappa,
            method="bisection",
            lower=jnp.log(1e-4 * hi),
            upper=jnp.log(hi),
            tol=1e-13,
            max_steps=200,
        )
        alpha_c = jnp.exp(sol.value)
        inner = binary_point(jax.lax.stop_gradient(alpha_c), kappa, n)
        result = solvers.combine(sol.result, inner.result)
        return CapacityResult(kappa, alpha_c, result == 0, sol.residual, sol.n_steps, result)

    return jax.vmap(one)(kappa)


@eager_x64
def binary_capacity(kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise", full_output: bool = False):
    r"""Krauth--Mézard storage capacity of the binary perceptron (Krauth & Mézard 1989).

    The frozen 1RSB solution (:math:`q_1 = 1`: clusters are single configurations) has a
    complexity equal to the RS entropy (see :func:`binary_1rsb_frozen`), so the capacity is the
    zero of the RS entropy, :math:`\phi_{\rm RS}(\alpha_c;\kappa) = 0` -- found by bisection in
    :math:`\log\alpha` with the RS saddle point solved inside. :math:`\alpha_c(0) = 0.8330786`
    (Ding & Sun 2019: 0.833078599); the naive :math:`q\to1` limit :math:`4/\pi` is not the
    capacity. Differentiable in :math:`\kappa` (nested implicit differentiation).

    Args:
        kappa: margin (scalar or array); n: quadrature nodes per half line;
        on_failure: ``"raise"`` or ``"flag"``; full_output: return the diagnostics too.

    Returns:
        The array of :math:`\alpha_c`, or a :class:`CapacityResult` if ``full_output``.
    """
    check_on_failure(on_failure)
    k = as_param("kappa", kappa)
    out = grid_call(_binary_capacity_grid, k, n=n)
    out = finish(out, on_failure, "binary_capacity", {"kappa": out.kappa}, "increase n")
    return out if full_output else out.alpha_c


# --------------------------------------------------------------------------------------------
# One-step replica symmetry breaking
# --------------------------------------------------------------------------------------------
def _log_expect_pow(logf, m, n):
    r""":math:`\log\int Dz\, e^{m\,\mathrm{logf}(z)}` by a log-sum-exp over Gauss--Hermite nodes."""
    z, w = nm.gauss_hermite(n)
    z = jnp.asarray(z, dtype=jnp.result_type(float))
    lw = jnp.log(jnp.asarray(w, dtype=jnp.result_type(float)))
    return jax.nn.logsumexp(lw + m * jax.vmap(logf)(z))


def one_rsb_free_entropy(params, alpha, m, kappa=0.0, n: int = 64):
    r"""1RSB free entropy of the binary perceptron's storage problem (Krauth & Mézard 1989;
    Gardner & Derrida 1988), with order parameters ``params = {"q0", "q1", "q0_hat", "q1_hat"}``
    and Parisi parameter :math:`m`:

    .. math::

        \Phi_{\rm 1RSB} = -\tfrac12\hat q_1(1-q_1) - \tfrac m2(\hat q_1 q_1 - \hat q_0 q_0)
          + \frac1m\int Dz_0 \log\int Dz_1\,[2\cosh(\sqrt{\hat q_0}z_0 + \sqrt{\hat q_1-\hat q_0}z_1)]^m \\
          + \frac\alpha m\int Dz_0\log\int Dz_1\,
            H\Big(\frac{\kappa-\sqrt{q_0}z_0-\sqrt{q_1-q_0}z_1}{\sqrt{1-q_1}}\Big)^m .

    Reduces to the RS functional in :math:`(q_0,\hat q_0)` at :math:`m=1` and in
    :math:`(q_1,\hat q_1)` at :math:`q_1=q_0`. Inner integrals by log-sum-exp over ``n`` nodes
    (``n x n`` evaluations). Composable; no validation.
    """
    q0, q1, p0, p1 = params["q0"], params["q1"], params["q0_hat"], params["q1_hat"]
    dq = jnp.maximum(q1 - q0, 0.0)
    dp = jnp.maximum(p1 - p0, 0.0)

    def ent(z0):
        return _log_expect_pow(lambda z1: nm.log2cosh(jnp.sqrt(p0) * z0 + jnp.sqrt(dp) * z1), m, n)

    def energ(z0):
        return _log_expect_pow(
            lambda z1: nm.log_H((kappa - jnp.sqrt(q0) * z0 - jnp.sqrt(dq) * z1) / jnp.sqrt(1.0 - q1)), m, n
        )

    g_s = nm.gauss_expect(ent, n)
    g_e = nm.gauss_expect(energ, n)
    return -0.5 * p1 * (1.0 - q1) - 0.5 * m * (p1 * q1 - p0 * q0) + (g_s + alpha * g_e) / m


class Gardner1RSB(TheoryResult):
    r"""1RSB solution at a given Parisi parameter ``m``.

    Attributes: ``q0, q1, q0_hat, q1_hat``; ``free_entropy`` :math:`\Phi(m)`; ``complexity``
    :math:`\Sigma(m) = m\Phi - m^2\partial_m\Phi` (log-number of clusters per weight);
    ``internal_entropy`` :math:`s = \partial_m(m\Phi)`; diagnostics ``converged, residual,
    n_steps, result``.
    """

    INPUTS = ("alpha", "kappa", "m")

    alpha: jax.Array
    kappa: jax.Array
    m: jax.Array
    q0: jax.Array
    q1: jax.Array
    q0_hat: jax.Array
    q1_hat: jax.Array
    free_entropy: jax.Array
    complexity: jax.Array
    internal_entropy: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array
    result: jax.Array


def _inner_nodes(n):
    z, w = nm.gauss_hermite(n)
    dt = jnp.result_type(float)
    return jnp.asarray(z, dtype=dt), jnp.log(jnp.asarray(w, dtype=dt))


def _one_rsb_update(n):
    r"""The 1RSB saddle-point map (Gardner & Derrida 1988; Krauth & Mézard 1989), Stein form:

    .. math::
        q_1 = \int Dz_0\,\langle \tanh^2 h\rangle,\quad q_0 = \int Dz_0\,\langle\tanh h\rangle^2,\quad
        \hat q_1 = \frac{\alpha}{1-q_1}\int Dz_0\,\langle A(u)^2\rangle_m,\quad
        \hat q_0 = \frac{\alpha}{1-q_1}\int Dz_0\,\langle A(u)\rangle_m^2,

    where :math:`\langle\cdot\rangle` averages over :math:`z_1` with weight
    :math:`[2\cosh h]^m` (:math:`h=\sqrt{\hat q_0}z_0+\sqrt{\hat q_1-\hat q_0}z_1`) and
    :math:`\langle\cdot\rangle_m` with weight :math:`H(u)^m`. Unlike Newton in transformed
    variables, this map reaches the collapsed point :math:`q_0=q_1` continuously.
    """
    z1, lw1 = _inner_nodes(n)

    def update(theta, args):
        alpha, m, kappa = args
        q0, q1, p0, p1 = theta["q0"], theta["q1"], theta["q0_hat"], theta["q1_hat"]
        dq = jnp.maximum(q1 - q0, 0.0)
        dp = jnp.maximum(p1 - p0, 0.0)

        def ent(z0):
            h = jnp.sqrt(p0) * z0 + jnp.sqrt(dp) * z1
            w = jax.nn.softmax(lw1 + m * nm.log2cosh(h))
            t = jnp.tanh(h)
            return jnp.sum(w * t) ** 2, jnp.sum(w * t * t)

        def energ(z0):
            u = (kappa - jnp.sqrt(q0) * z0 - jnp.sqrt(dq) * z1) / jnp.sqrt(1.0 - q1)
            w = jax.nn.softmax(lw1 + m * nm.log_H(u))
            a = nm.GH(u)
            return jnp.sum(w * a) ** 2, jnp.sum(w * a * a)

        new_q0, new_q1 = nm.gauss_expect(ent, n)
        a0, a1 = nm.gauss_expect(energ, n)
        return {"q0": new_q0, "q1": new_q1, "q0_hat": alpha * a0 / (1.0 - q1), "q1_hat": alpha * a1 / (1.0 - q1)}

    return update


_ONE_RSB_KEYS = ("q0", "q1", "q0_hat", "q1_hat")


def _rs_map_equations(n):
    r"""The 1RSB map restricted to the collapse :math:`q_1=q_0=q`, :math:`\hat q_1=\hat q_0=\hat q` in the
    same quadrature: the RS map :math:`q=\langle\tanh^2\sqrt{\hat q}z\rangle`,
    :math:`\hat q=\alpha\langle A(u)^2\rangle/(1-q)`, written without the intra-cluster variances
    (whose square roots have no derivative at 0)."""

    def eqs(x, args):
        alpha, _, kappa = args
        q, qh = x[0], x[1]
        new_q = nm.gauss_expect(lambda z: jnp.tanh(jnp.sqrt(qh) * z) ** 2, n)
        a2 = nm.gauss_expect(lambda z: nm.GH((kappa - jnp.sqrt(q) * z) / jnp.sqrt(1.0 - q)) ** 2, n)
        return jnp.stack([new_q - q, alpha * a2 / (1.0 - q) - qh])

    return eqs


def _one_rsb_derivatives(update, p, args, n):
    r"""The 1RSB fixed point ``p`` (values unchanged) with implicit derivatives, and
    :math:`\partial_m\Phi` at it. At a collapse (:math:`q_1=q_0`, :math:`\hat q_1=\hat q_0`, the RS
    solution: RS is the 1RSB saddle) the derivatives are those of the RS map and
    :math:`\partial_m\Phi\equiv0`; elsewhere those of the 1RSB map."""
    alpha, m, kappa = args
    sg = jax.lax.stop_gradient
    collapsed = (p["q1"] - p["q0"] <= 1e-10) & (p["q1_hat"] - p["q0_hat"] <= 1e-10 * (1.0 + p["q1_hat"]))
    rs = solvers.implicit(_rs_map_equations(n), jnp.stack([p["q1"], p["q1_hat"]]), args)
    # the unused 1RSB branch is evaluated off the collapse, where its Jacobian is finite
    bump = jnp.where(collapsed, 1e-3, 0.0)
    off = {**p, "q1": p["q1"] + bump * (1.0 - p["q1"]), "q1_hat": p["q1_hat"] * (1.0 + bump) + bump}
    full = solvers.implicit(lambda th, a: jax.tree_util.tree_map(jnp.subtract, update(th, a), th), off, args)

    def pick(key, rs_value):
        v = jnp.where(collapsed, rs_value, full[key])
        return p[key] + (v - sg(v))  # the solve's value, the selected branch's derivatives

    out = {"q0": pick("q0", rs[0]), "q1": pick("q1", rs[0]), "q0_hat": pick("q0_hat", rs[1]),
           "q1_hat": pick("q1_hat", rs[1])}
    value = jax.grad(lambda mm: one_rsb_free_entropy(sg(p), alpha, mm, kappa, n))(m)  # partial, p held fixed
    src = jax.grad(lambda mm: one_rsb_free_entropy(full, alpha, mm, kappa, n))(m)
    dphi_dm = sg(value) + jnp.where(collapsed, 0.0, src - sg(src))
    return out, dphi_dm


@theory_jit(static_argnames=("n", "default_init"))
def _one_rsb_grid(alpha, m, kappa, theta0, n, default_init):
    def one(alpha, m, kappa, theta0):
        rs_result = jnp.zeros((), jnp.int32)
        if default_init:  # the RS solution split slightly: a collapse back onto it is a valid outcome
            rs = binary_point(alpha, kappa, DEFAULT_NODES)
            qrs, prs = rs.q, rs.q_hat
            theta0 = dict(zip(_ONE_RSB_KEYS, (jnp.clip(qrs - 0.05, 1e-3, None), jnp.clip(qrs + 0.05, None, 1 - 1e-3),
                                              0.8 * prs, 1.25 * prs)))
            theta0 = jax.lax.stop_gradient(theta0)
            rs_result = rs.result
        args = (alpha, m, kappa)
        update = _one_rsb_update(n)
        sol = solvers.fixed_point(update, theta0, args, damping=0.5, tol=1e-10, max_steps=5000, differentiable=False)
        p = sol.value
        p, dphi_dm = _one_rsb_derivatives(update, p, args, n)
        sg = jax.lax.stop_gradient
        phi = one_rsb_free_entropy(sg(p), alpha, m, kappa, n)  # envelope theorem: p is stationary
        complexity = m * phi - m * m * dphi_dm
        s_int = phi + m * dphi_dm
        result = solvers.combine(rs_result, sol.result, solvers.from_checks(jnp.isfinite(phi), True))
        return Gardner1RSB(
            alpha, kappa, m, p["q0"], p["q1"], p["q0_hat"], p["q1_hat"], phi, complexity, s_int, result == 0,
            sol.residual, sol.n_steps, result,
        )

    return jax.vmap(one)(alpha, m, kappa, theta0)


@eager_x64
def binary_1rsb(alpha, m, kappa=0.0, *, init=None, n: int = 64, on_failure: str = "raise") -> Gardner1RSB:
    r"""Saddle point of the 1RSB free entropy (:func:`one_rsb_free_entropy`) at fixed :math:`m`
    (Gardner & Derrida 1988; Krauth & Mézard 1989).

    Damped iteration of the saddle-point map (see ``_one_rsb_update``), ``0 < m < 1``. Also returns
    the complexity :math:`\Sigma(m) = m\Phi - m^2\partial_m\Phi` and the internal entropy
    :math:`\partial_m(m\Phi)` (envelope theorem).

    Args:
        alpha, m, kappa: broadcast against each other; ``0 < m < 1``.
        init: a dict with the four order parameters (``0 <= q0 <= q1 < 1``,
            ``0 <= q0_hat <= q1_hat``). By default the RS solution split slightly
            (:math:`q_{0,1} = q_{RS} \mp 0.05`, conjugates x0.8 and x1.25), so that a collapse back
            to :math:`q_0 = q_1 = q_{RS}` (RS is the 1RSB solution) is a valid outcome that the
            result shows.
        n: Gauss--Hermite nodes of the outer and inner integrals.
        on_failure: ``"raise"`` or ``"flag"`` (module docstring).

    Returns:
        :class:`Gardner1RSB`; differentiable in ``alpha``, ``m`` and ``kappa`` (implicit
        differentiation of the fixed point; at a collapse, the RS derivatives).

    Failure: no fixed point within 5000 damped steps (or a failed RS start) flags the point.
    """
    check_on_failure(on_failure)
    a = as_param("alpha", alpha, positive=True)
    mm = as_param("m", m, positive=True)
    k = as_param("kappa", kappa)
    shape = broadcast(alpha=a, m=mm, kappa=k)
    if not is_traced(mm) and ((np.asarray(mm) <= 0) | (np.asarray(mm) >= 1)).any():
        raise ValueError("m must be in (0, 1) (at m = 1 the 1RSB functional is the RS one)")
    f = jnp.result_type(float)
    af, mf, kf = (jnp.broadcast_to(jnp.asarray(v, dtype=f), shape).reshape(-1) for v in (a, mm, k))
    if init is None:
        x0 = {key: jnp.zeros_like(af) for key in _ONE_RSB_KEYS}
    else:
        missing = set(_ONE_RSB_KEYS) - set(init)
        if missing:
            raise ValueError(f"init is missing {sorted(missing)}")
        vals = [as_param(key, init[key]) for key in _ONE_RSB_KEYS]
        if not is_traced(vals):
            vals = [np.broadcast_to(np.asarray(v, dtype=np.float64), shape).reshape(-1) for v in vals]
            if not ((0 <= vals[0]) & (vals[0] <= vals[1]) & (vals[1] < 1)).all():
                raise ValueError("init must satisfy 0 <= q0 <= q1 < 1")
            if not ((0 <= vals[2]) & (vals[2] <= vals[3])).all():
                raise ValueError("init must satisfy 0 <= q0_hat <= q1_hat")
        x0 = {key: jnp.broadcast_to(jnp.asarray(v, dtype=f), shape).reshape(-1) for key, v in zip(_ONE_RSB_KEYS, vals)}
    out = _one_rsb_grid(af, mf, kf, x0, n, init is None)
    out = jax.tree_util.tree_map(lambda v: v.reshape(shape + v.shape[1:]), out)
    return finish(out, on_failure, "binary_1rsb", {"alpha": out.alpha, "m": out.m, "kappa": out.kappa},
                  "start from another init")


@eager_x64
def binary_1rsb_frozen(alpha, m=1.0, kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> Gardner1RSB:
    r"""The frozen 1RSB solution of the binary perceptron (Krauth & Mézard 1989).

    With :math:`q_1 \to 1` (clusters are single configurations) and
    :math:`\hat q_1-\hat q_0\to\infty`, the entropic inner integral gives
    :math:`e^{m^2(\hat q_1-\hat q_0)/2}\,2\cosh(m\sqrt{\hat q_0}z_0)` and
    :math:`H(\cdot/\sqrt{1-q_1})^m \to \theta(\cdot)`, so that

    .. math:: m\,\Phi_{\rm 1RSB}(m) = \phi_{\rm RS}(q_0, \hat Q), \qquad \hat Q = m^2\hat q_0 .

    The saddle point is the RS one, :math:`q_0 = q_{\rm RS}`, :math:`\hat q_0 = \hat q_{\rm RS}/m^2`;
    the internal entropy vanishes and the complexity :math:`\Sigma(m) = \phi_{\rm RS}(\alpha)`
    is independent of :math:`m` -- it vanishes at the capacity :func:`binary_capacity`.

    Returns :class:`Gardner1RSB` (``q1 = 1``, ``q1_hat = inf``). Failure: that of the RS solve
    (:func:`binary_rs`).
    """
    check_on_failure(on_failure)
    a = as_param("alpha", alpha, positive=True)
    mm = as_param("m", m, positive=True)
    k = as_param("kappa", kappa)
    shape = broadcast(alpha=a, m=mm, kappa=k)
    rs = binary_rs.__wrapped_traced__(a, k, n=n, on_failure=on_failure)
    a_, m_, k_ = (jnp.broadcast_to(jnp.asarray(v, dtype=jnp.result_type(float)), shape) for v in (a, mm, k))
    q0 = jnp.broadcast_to(rs.q, shape)
    p = jnp.broadcast_to(rs.q_hat, shape)
    s = jnp.broadcast_to(rs.entropy, shape)
    one = jnp.ones(shape, dtype=q0.dtype)
    return Gardner1RSB(
        a_, k_, m_, q0, one, p / m_**2, jnp.full(shape, jnp.inf, dtype=q0.dtype), s / m_, s, jnp.zeros_like(s),
        jnp.broadcast_to(rs.converged, shape), jnp.broadcast_to(rs.residual, shape), jnp.broadcast_to(rs.n_steps, shape),
        jnp.broadcast_to(rs.result, shape),
    )
