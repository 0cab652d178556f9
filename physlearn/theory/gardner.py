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
saddle point by implicit differentiation) and validates its input eagerly. Eager calls with
concrete inputs are computed in float64 and return NumPy arrays.
"""

from __future__ import annotations

import math
import warnings
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm
from .. import solvers
from .._config import eager_x64, is_traced
from ..errors import ReplicaSymmetryWarning

__all__ = [
    "energetic_term",
    "spherical_capacity",
    "spherical_rs",
    "binary_rs",
    "binary_capacity",
    "binary_rs_branch_end",
    "one_rsb_free_entropy",
    "binary_1rsb",
    "binary_1rsb_frozen",
    "GardnerRS",
    "Gardner1RSB",
]

DEFAULT_NODES = 128  # per half line of the split rule (2 x 128 evaluations per integral)
_LOGIT_BOUND = 36.0  # q in (sigmoid(-36), sigmoid(36)) = (2e-16, 1 - 2e-16)
_SOLVE_TOL = 1e-11
_CONVERGED_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# Input validation (eager, before any compilation)
# --------------------------------------------------------------------------------------------
def _as_param(name: str, x, *, positive: bool = False, nonneg: bool = False, finite: bool = True):
    if is_traced(x):
        return x
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a real number or array of real numbers, got {x!r}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got a complex value")
    arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {x!r}")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got min {arr.min():.6g}")
    if nonneg and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {arr.min():.6g}")
    return arr


def _broadcast(**named):
    try:
        shapes = [jnp.shape(v) for v in named.values()]
        return jnp.broadcast_shapes(*shapes)
    except ValueError as err:
        desc = ", ".join(f"{k} of shape {jnp.shape(v)}" for k, v in named.items())
        raise ValueError(f"cannot broadcast {desc} against each other") from err


def _bucket(size: int) -> int:
    """Pad batch sizes to 8, 16, 32, ... so that sweeps of different lengths share compilations."""
    return max(8, 1 << max(0, size - 1).bit_length())


def _grid_map(fn, *arrays):
    """Broadcast, flatten, ``vmap`` ``fn`` over the points, reshape back (for use inside jit)."""
    arrays = [jnp.asarray(a, dtype=jnp.result_type(float)) for a in arrays]
    shape = jnp.broadcast_shapes(*[a.shape for a in arrays])
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in arrays]
    out = jax.vmap(fn)(*flat)
    return jax.tree_util.tree_map(lambda x: x.reshape(shape + x.shape[1:]), out)


def _grid_call(jitted, *arrays, **static):
    """Broadcast the parameter arrays, flatten, pad to a bucket size, call the jitted solver on
    the flat batch (one compilation per bucket, whatever the grid's shape), reshape back."""
    arrays = [jnp.asarray(a, dtype=jnp.result_type(float)) for a in arrays]
    shape = jnp.broadcast_shapes(*[a.shape for a in arrays])
    size = math.prod(shape)
    pad = _bucket(size) - size
    flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in arrays]
    flat = [jnp.concatenate([f, jnp.broadcast_to(f[:1], (pad,))]) if pad else f for f in flat]
    out = jitted(*flat, **static)
    return jax.tree_util.tree_map(lambda x: x[:size].reshape(shape + x.shape[1:]), out)


def _check(sol, on_failure, what, params, hint):
    if on_failure not in ("raise", "flag"):
        raise ValueError(f"on_failure must be 'raise' or 'flag', got {on_failure!r}")
    if on_failure == "raise" and not is_traced(sol.converged):
        solvers.raise_if_not_converged(sol, what, params, hint)


# --------------------------------------------------------------------------------------------
# Shared integrals
# --------------------------------------------------------------------------------------------
def _kink(q, kappa):
    return kappa / jnp.sqrt(jnp.maximum(q, 1e-300))


def _u(z, q, kappa):
    return (kappa - jnp.sqrt(q) * z) / jnp.sqrt(1.0 - q)


def energetic_term(q, kappa=0.0, n: int = DEFAULT_NODES):
    r""":math:`E(q) = \int Dz\,\log H\big((\kappa-\sqrt q z)/\sqrt{1-q}\big)` (Gardner 1988).

    The integrand changes from :math:`\approx -u^2/2` to 0 across :math:`z=\kappa/\sqrt q` over
    a width :math:`\sqrt{1-q}`: the line is split there (:func:`physlearn.numerics.gauss_expect_split`).
    Composable (no validation, no x64 scope).
    """
    return nm.gauss_expect_split(lambda z: nm.log_H(_u(z, q, kappa)), _kink(q, kappa), n)


def _A2_mean(q, kappa, n):
    r""":math:`\langle A(u)^2\rangle_z` (the Stein form of :math:`-2(1-q)E'(q)`)."""
    return nm.gauss_expect_split(lambda z: nm.GH(_u(z, q, kappa)) ** 2, _kink(q, kappa), n)


def _Aprime2_mean(q, kappa, n):
    r""":math:`\langle [(\log H)''(u)]^2\rangle_z = \langle A'(u)^2\rangle_z`."""
    return nm.gauss_expect_split(lambda z: nm.GH_prime(_u(z, q, kappa)) ** 2, _kink(q, kappa), n)


def _sech2(x):
    return jnp.exp(2.0 * (math.log(2.0) - nm.log2cosh(x)))


def _q_from_qhat(q_hat, n):
    return nm.gauss_expect_split(lambda z: jnp.tanh(jnp.sqrt(q_hat) * z) ** 2, 0.0, n)


def _one_minus_q_from_qhat(q_hat, n):
    """1 - <tanh^2> computed as <sech^2> (no cancellation as q -> 1)."""
    a = jnp.sqrt(q_hat)
    return nm.gauss_expect_split(lambda z: _sech2(a * z), 0.0, n, width=40.0 / a)


def _sech4_mean(q_hat, n):
    a = jnp.sqrt(q_hat)
    return nm.gauss_expect_split(lambda z: _sech2(a * z) ** 2, 0.0, n, width=40.0 / a)


def _log2cosh_mean(q_hat, n):
    return nm.gauss_expect_split(lambda z: nm.log2cosh(jnp.sqrt(q_hat) * z), 0.0, n)


class GardnerRS(eqx.Module):
    """RS solution of a Gardner volume.

    Attributes:
        alpha, kappa: the parameters (broadcast).
        q: overlap between two solutions.
        q_hat: its conjugate (binary model; for the spherical model
            :math:`\\hat q = q/(1-q)^2`, the Gaussian-prior analogue).
        entropy: RS free entropy = log-volume per weight (binary: log-number per weight).
        replicon: the de Almeida--Thouless eigenvalue; RS is locally stable when < 1.
        converged, residual, n_steps: solver diagnostics.
    """

    alpha: jax.Array
    kappa: jax.Array
    q: jax.Array
    q_hat: jax.Array
    entropy: jax.Array
    replicon: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array

    @property
    def stable(self):
        """RS (replicon) stability: replicon < 1."""
        return self.replicon < 1.0


# --------------------------------------------------------------------------------------------
# Spherical perceptron
# --------------------------------------------------------------------------------------------
def _spherical_capacity(kappa):
    return 1.0 / ((1.0 + kappa**2) * nm.H(-kappa) + kappa * nm.G(kappa))


@eager_x64
def spherical_capacity(kappa=0.0):
    r"""RS storage capacity of the spherical perceptron (Gardner 1988):

    .. math:: \alpha_c(\kappa) = \Big[\int_{-\kappa}^\infty Dt\,(t+\kappa)^2\Big]^{-1}
              = \big[(1+\kappa^2)H(-\kappa) + \kappa G(\kappa)\big]^{-1},

    with :math:`\alpha_c(0) = 2` (Cover 1965). Exact for :math:`\kappa \ge 0` (convex problem);
    for :math:`\kappa < 0` replica symmetry is broken (Franz & Parisi 2016; Franz et al., SciPost
    2017) and a :class:`~physlearn.errors.ReplicaSymmetryWarning` is emitted. Array in, array
    out; differentiable in :math:`\kappa`.
    """
    k = _as_param("kappa", kappa)
    if not is_traced(k) and (np.asarray(k) < 0).any():
        warnings.warn(
            "spherical_capacity with kappa < 0: the RS result is only an upper estimate "
            "(full RSB needed; Franz & Parisi 2016).",
            ReplicaSymmetryWarning,
            stacklevel=2,
        )
    return _spherical_capacity(jnp.asarray(k, dtype=jnp.result_type(float)))


def _logit_bisect(residual, args, max_steps=200):
    """Bisection for a residual r(q) in logit space on (sigmoid(-B), sigmoid(B))."""

    def f(x, a):
        return residual(jax.nn.sigmoid(x), a)

    y0 = jnp.zeros((), dtype=jnp.result_type(float))
    return solvers.root(
        f, y0, args, method="bisection", lower=-_LOGIT_BOUND, upper=_LOGIT_BOUND, tol=_SOLVE_TOL, max_steps=max_steps
    )


def _spherical_residual(n):
    def r(q, a):
        alpha, kappa = a
        return q - alpha * (1.0 - q) * _A2_mean(q, kappa, n)

    return r


def _spherical_point(alpha, kappa, n):
    sol = _logit_bisect(_spherical_residual(n), (alpha, kappa))
    q = jax.nn.sigmoid(sol.value)
    entropy = 0.5 * jnp.log1p(-q) + q / (2.0 * (1.0 - q)) + alpha * energetic_term(q, kappa, n)
    replicon = alpha * _Aprime2_mean(q, kappa, n)
    res = jnp.abs(_spherical_residual(n)(jax.lax.stop_gradient(q), (alpha, kappa)))
    ok = sol.converged & (res < _CONVERGED_TOL) & (alpha < _spherical_capacity(kappa))
    return GardnerRS(alpha, kappa, q, q / (1.0 - q) ** 2, entropy, replicon, ok, res, sol.n_steps)


@partial(jax.jit, static_argnames=("n",))
def _spherical_rs_grid(alpha, kappa, n):
    return jax.vmap(lambda a, k: _spherical_point(a, k, n))(alpha, kappa)


@eager_x64
def spherical_rs(alpha, kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> GardnerRS:
    r"""RS Gardner volume of the spherical perceptron (Gardner 1988).

    Solves the stationarity condition of :math:`\phi_{\rm sph}(q)` in its Stein form

    .. math:: \frac{q}{1-q} = \alpha\int Dz\, A(u)^2, \qquad u = \frac{\kappa-\sqrt q z}{\sqrt{1-q}},

    by bisection in :math:`\operatorname{logit} q` (robust up to :math:`q\to1`), and returns
    ``entropy`` :math:`=\phi_{\rm sph}(q^*)` and the replicon
    :math:`\lambda = \alpha\int Dz\,[(\log H)''(u)]^2` (RS stable when :math:`\lambda<1`; Gardner
    & Derrida 1988). Valid for :math:`0<\alpha<\alpha_c(\kappa)`; beyond, the point is flagged
    (``on_failure="flag"``) or :class:`~physlearn.errors.NonConvergenceError` is raised.
    """
    return _solve_rs(
        _spherical_rs_grid, "spherical_rs", alpha, kappa, n, on_failure,
        "alpha must be below the capacity spherical_capacity(kappa); near it increase n",
    )


def _solve_rs(grid_fn, name, alpha, kappa, n, on_failure, hint):
    """Shared public path of the RS solvers: validate, solve the grid, raise or flag."""
    a = _as_param("alpha", alpha, positive=True)
    k = _as_param("kappa", kappa)
    _broadcast(alpha=a, kappa=k)
    sol = _grid_call(grid_fn, a, k, n=n)
    _check(sol, on_failure, name, {"alpha": sol.alpha, "kappa": sol.kappa}, hint)
    return sol


# --------------------------------------------------------------------------------------------
# Binary (Ising) perceptron
# --------------------------------------------------------------------------------------------
def _binary_qhat(q, alpha, kappa, n):
    return alpha * _A2_mean(q, kappa, n) / (1.0 - q)


def _binary_residual(n):
    # In log(1 - q): this removes the spurious root q = 1 (where q_new -> 1 as well) and keeps
    # relative accuracy when q -> 1; the sign change is between q -> 0 and q -> 1 for
    # alpha < binary_rs_branch_end(kappa).
    def r(q, a):
        alpha, kappa = a
        return jnp.log(_one_minus_q_from_qhat(_binary_qhat(q, alpha, kappa, n), n)) - jnp.log1p(-q)

    return r


def binary_rs_free_entropy(q, q_hat, alpha, kappa=0.0, n: int = DEFAULT_NODES):
    r""":math:`\phi_{\rm bin}(q,\hat q) = -\hat q(1-q)/2 + \int Dz\log2\cosh(\sqrt{\hat q}z) + \alpha E(q)`
    (Gardner & Derrida 1988). Composable; its gradient vanishes at the RS saddle point."""
    return -0.5 * q_hat * (1.0 - q) + _log2cosh_mean(q_hat, n) + alpha * energetic_term(q, kappa, n)


def _binary_branch_end(kappa):
    # q -> 1 asymptotics: 1-q ~ sqrt(2/pi)/sqrt(qhat) and qhat ~ alpha/((1-q)^2 alpha_c^sph)
    return (2.0 / math.pi) * _spherical_capacity(kappa)


def _binary_point(alpha, kappa, n):
    sol = _logit_bisect(_binary_residual(n), (alpha, kappa))
    q = jax.nn.sigmoid(sol.value)
    q_hat = _binary_qhat(q, alpha, kappa, n)
    entropy = binary_rs_free_entropy(q, q_hat, alpha, kappa, n)
    replicon = alpha / (1.0 - q) ** 2 * _Aprime2_mean(q, kappa, n) * _sech4_mean(q_hat, n)
    res = jnp.abs(_binary_residual(n)(jax.lax.stop_gradient(q), (alpha, kappa)))
    ok = sol.converged & (res < _CONVERGED_TOL) & (alpha < _binary_branch_end(kappa))
    return GardnerRS(alpha, kappa, q, q_hat, entropy, replicon, ok, res, sol.n_steps)


@partial(jax.jit, static_argnames=("n",))
def _binary_rs_grid(alpha, kappa, n):
    return jax.vmap(lambda a, k: _binary_point(a, k, n))(alpha, kappa)


@eager_x64
def binary_rs(alpha, kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise") -> GardnerRS:
    r"""RS Gardner volume of the binary (Ising) perceptron (Gardner & Derrida 1988).

    Saddle point of :math:`\phi_{\rm bin}(q,\hat q)`:

    .. math:: q = \int Dz\,\tanh^2(\sqrt{\hat q}z), \qquad
              \hat q = \frac{\alpha}{1-q}\int Dz\,A(u)^2,

    solved by bisection on :math:`q` in logit space (eliminating :math:`\hat q`). ``entropy`` is the
    RS entropy per weight (:math:`\log 2` at :math:`\alpha=0`; it vanishes at the Krauth--Mézard
    capacity, see :func:`binary_capacity`); ``replicon`` is
    :math:`\frac{\alpha}{(1-q)^2}\langle[(\log H)''(u)]^2\rangle\langle\operatorname{sech}^4(\sqrt{\hat q}z)\rangle`
    (RS stable below 1; reaches 1 at :math:`\alpha_{AT}\approx1.015` for :math:`\kappa=0`).
    The branch exists for :math:`\alpha < \alpha_{q\to1}(\kappa) = (2/\pi)\,\alpha_c^{\rm sph}(\kappa)`
    (:math:`4/\pi` at :math:`\kappa=0`, see :func:`binary_rs_branch_end`).
    """
    return _solve_rs(
        _binary_rs_grid, "binary_rs", alpha, kappa, n, on_failure,
        "alpha must be below binary_rs_branch_end(kappa) (4/pi at kappa=0); near it increase n",
    )


@eager_x64
def binary_rs_branch_end(kappa=0.0):
    r"""End of the RS branch of the binary perceptron, where :math:`q\to1`:
    :math:`\alpha_{q\to1}(\kappa) = \frac{2}{\pi}\alpha_c^{\rm sph}(\kappa)` (:math:`4/\pi` at
    :math:`\kappa = 0`). This is *not* the capacity (Krauth & Mézard 1989; see
    :func:`binary_capacity`)."""
    k = _as_param("kappa", kappa)
    return _binary_branch_end(jnp.asarray(k, dtype=jnp.result_type(float)))


@partial(jax.jit, static_argnames=("n",))
def _binary_capacity_grid(kappa, n):
    def one(kappa):
        hi = _binary_branch_end(kappa) * (1.0 - 1e-6)

        def f(log_alpha, k):
            return _binary_point(jnp.exp(log_alpha), k, n).entropy

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
        inner = _binary_point(jax.lax.stop_gradient(alpha_c), kappa, n)
        ok = sol.converged & inner.converged
        return alpha_c, ok, sol.residual, sol.n_steps

    return jax.vmap(one)(kappa)


class CapacityResult(eqx.Module):
    kappa: jax.Array
    alpha_c: jax.Array
    converged: jax.Array
    residual: jax.Array
    n_steps: jax.Array


@eager_x64
def binary_capacity(kappa=0.0, *, n: int = DEFAULT_NODES, on_failure: str = "raise", full_output: bool = False):
    r"""Krauth--Mézard storage capacity of the binary perceptron (Krauth & Mézard 1989).

    The frozen 1RSB solution (:math:`q_1 = 1`: clusters are single configurations) has a
    complexity equal to the RS entropy (see :func:`binary_1rsb_frozen`), so the capacity is the
    zero of the RS entropy, :math:`\phi_{\rm RS}(\alpha_c;\kappa) = 0` -- found by bisection in
    :math:`\log\alpha` with the RS saddle point solved inside. :math:`\alpha_c(0) = 0.8330786`
    (Ding & Sun 2019: 0.833078599); the naive :math:`q\to1` limit :math:`4/\pi` is not the
    capacity. Differentiable in :math:`\kappa` (nested implicit differentiation). Returns the
    array of :math:`\alpha_c`, or a ``CapacityResult`` with diagnostics if ``full_output``.
    """
    k = _as_param("kappa", kappa)
    alpha_c, ok, res, steps = _grid_call(_binary_capacity_grid, k, n=n)
    out = CapacityResult(jnp.asarray(k), alpha_c, ok, res, steps)
    _check(out, on_failure, "binary_capacity", {"kappa": out.kappa}, "increase n")
    return out if full_output else alpha_c


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


class Gardner1RSB(eqx.Module):
    """1RSB solution at a given Parisi parameter ``m``.

    Attributes: ``q0, q1, q0_hat, q1_hat``; ``free_entropy`` :math:`\\Phi(m)`; ``complexity``
    :math:`\\Sigma(m) = m\\Phi - m^2\\partial_m\\Phi` (log-number of clusters per weight);
    ``internal_entropy`` :math:`s = \\partial_m(m\\Phi)`; diagnostics.
    """

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


@partial(jax.jit, static_argnames=("n",))
def _one_rsb_grid(alpha, m, kappa, theta0, n):
    def one(alpha, m, kappa, theta0):
        args = (alpha, m, kappa)
        sol = solvers.fixed_point(_one_rsb_update(n), theta0, args, damping=0.5, tol=1e-10, max_steps=5000)
        p = sol.value
        phi = one_rsb_free_entropy(p, alpha, m, kappa, n)
        dphi_dm = jax.grad(lambda mm: one_rsb_free_entropy(jax.lax.stop_gradient(p), alpha, mm, kappa, n))(m)
        complexity = m * phi - m * m * dphi_dm
        s_int = phi + m * dphi_dm
        ok = sol.converged & jnp.isfinite(phi)
        return Gardner1RSB(
            alpha, kappa, m, p["q0"], p["q1"], p["q0_hat"], p["q1_hat"], phi, complexity, s_int, ok, sol.residual,
            sol.n_steps,
        )

    return jax.vmap(one)(alpha, m, kappa, theta0)


@eager_x64
def binary_1rsb(alpha, m, kappa=0.0, *, init=None, n: int = 64, on_failure: str = "raise") -> Gardner1RSB:
    r"""Saddle point of the 1RSB free entropy (:func:`one_rsb_free_entropy`) at fixed :math:`m`.

    Damped iteration of the saddle-point map (see ``_one_rsb_update``), ``0 < m < 1``. ``init`` is
    a dict with the four order parameters; by default the RS solution is split slightly
    (:math:`q_{0,1} = q_{RS} \mp 0.05`),
    so a collapse back to :math:`q_0 = q_1 = q_{RS}` (RS is the 1RSB solution) is a valid outcome
    that the result shows. Also returns the complexity
    :math:`\Sigma(m) = m\Phi - m^2\partial_m\Phi` and the internal entropy
    :math:`\partial_m(m\Phi)` (envelope theorem). ``alpha``, ``m``, ``kappa`` broadcast.
    """
    a = _as_param("alpha", alpha, positive=True)
    mm = _as_param("m", m, positive=True)
    k = _as_param("kappa", kappa)
    shape = _broadcast(alpha=a, m=mm, kappa=k)
    af, mf, kf = (np.broadcast_to(np.asarray(v, dtype=np.float64), shape).reshape(-1) for v in (a, mm, k))
    if not is_traced(mm) and ((np.asarray(mm) <= 0) | (np.asarray(mm) >= 1)).any():
        raise ValueError("m must be in (0, 1) (at m = 1 the 1RSB functional is the RS one)")
    if init is None:
        rs = binary_rs(af, kf, on_failure="raise")
        qrs, prs = np.asarray(rs.q), np.asarray(rs.q_hat)
        vals = [np.clip(qrs - 0.05, 1e-3, None), np.clip(qrs + 0.05, None, 1 - 1e-3), 0.8 * prs, 1.25 * prs]
    else:
        missing = {"q0", "q1", "q0_hat", "q1_hat"} - set(init)
        if missing:
            raise ValueError(f"init is missing {sorted(missing)}")
        vals = [np.broadcast_to(np.asarray(init[key], dtype=np.float64), shape).reshape(-1) for key in ("q0", "q1", "q0_hat", "q1_hat")]
        if not ((0 <= vals[0]) & (vals[0] <= vals[1]) & (vals[1] < 1)).all():
            raise ValueError("init must satisfy 0 <= q0 <= q1 < 1")
        if not ((0 <= vals[2]) & (vals[2] <= vals[3])).all():
            raise ValueError("init must satisfy 0 <= q0_hat <= q1_hat")
    x0 = {k: jnp.asarray(v) for k, v in zip(("q0", "q1", "q0_hat", "q1_hat"), vals)}
    out = _one_rsb_grid(jnp.asarray(af), jnp.asarray(mf), jnp.asarray(kf), x0, n)
    out = jax.tree_util.tree_map(lambda v: v.reshape(shape + v.shape[1:]), out)
    _check(out, on_failure, "binary_1rsb", {"alpha": out.alpha, "m": out.m, "kappa": out.kappa}, "start from another init")
    return out


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
    """
    a = _as_param("alpha", alpha, positive=True)
    mm = _as_param("m", m, positive=True)
    k = _as_param("kappa", kappa)
    shape = _broadcast(alpha=a, m=mm, kappa=k)
    rs = binary_rs.__wrapped_traced__(a, k, n=n, on_failure=on_failure)
    a_, m_, k_ = (jnp.broadcast_to(jnp.asarray(v, dtype=jnp.result_type(float)), shape) for v in (a, mm, k))
    q0 = jnp.broadcast_to(rs.q, shape)
    p = jnp.broadcast_to(rs.q_hat, shape)
    s = jnp.broadcast_to(rs.entropy, shape)
    one = jnp.ones(shape, dtype=q0.dtype)
    return Gardner1RSB(
        a_, k_, m_, q0, one, p / m_**2, jnp.full(shape, jnp.inf, dtype=q0.dtype), s / m_, s, jnp.zeros_like(s),
        jnp.broadcast_to(rs.converged, shape), jnp.broadcast_to(rs.residual, shape), jnp.broadcast_to(rs.n_steps, shape),
    )
