r"""RS Gardner saddle points at one parameter point, shared by :mod:`~physlearn.theory.gardner`
(the public Gardner volume) and :mod:`~physlearn.theory.franz_parisi` (whose reference is a
typical Gardner solution).

Both stationarity conditions are solved by bisection in :math:`\operatorname{logit} q` on
:math:`(\sigma(-36), \sigma(36)) = (2\cdot10^{-16}, 1-2\cdot10^{-16})`, robust up to :math:`q\to1`;
the solution carries implicit-function derivatives (:func:`physlearn.solvers.implicit`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import solvers
from . import _integrals as ig
from ._inputs import TheoryResult

_LOGIT_BOUND = 36.0
_SOLVE_TOL = 1e-11
CONVERGED_TOL = 1e-9


class GardnerRS(TheoryResult):
    """RS solution of a Gardner volume.

    Attributes:
        alpha, kappa: the parameters (broadcast).
        q: overlap between two solutions.
        q_hat: its conjugate (binary model; for the spherical model
            :math:`\\hat q = q/(1-q)^2`, the Gaussian-prior analogue).
        entropy: RS free entropy = log-volume per weight (binary: log-number per weight).
        replicon: the de Almeida--Thouless eigenvalue; RS is locally stable when < 1.
        converged, result, residual, n_steps: solver diagnostics (``result``: a
            :class:`~physlearn.solvers.RESULTS` code).
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
    result: jax.Array

    @property
    def stable(self):
        """RS (replicon) stability, replicon < 1."""
        return self.replicon < 1.0


def logit_bisect(residual, args, max_steps=200):
    """Bisection for a residual r(q) in logit space on (sigmoid(-B), sigmoid(B))."""

    def f(x, a):
        return residual(jax.nn.sigmoid(x), a)

    y0 = jnp.zeros((), dtype=jnp.result_type(float))
    return solvers.root(
        f, y0, args, method="bisection", lower=-_LOGIT_BOUND, upper=_LOGIT_BOUND, tol=_SOLVE_TOL, max_steps=max_steps
    )


def _result_code(sol, res, alpha, branch_end):
    return solvers.combine(
        jnp.where(alpha > 0, solvers.RESULTS.successful, solvers.RESULTS.inadmissible),
        jnp.where(alpha < branch_end, solvers.RESULTS.successful, solvers.RESULTS.branch_ended),
        sol.result,
        solvers.from_checks(jnp.isfinite(res), res < CONVERGED_TOL),
    )


def spherical_residual(n):
    def r(q, a):
        alpha, kappa = a
        return q - alpha * (1.0 - q) * ig.a2_mean(q, kappa, n)

    return r


def spherical_point(alpha, kappa, n):
    r"""Spherical perceptron: :math:`q/(1-q) = \alpha\langle A(u)^2\rangle`, entropy
    :math:`\phi_{\rm sph}(q^*)`, replicon :math:`\alpha\langle A'(u)^2\rangle`."""
    sol = logit_bisect(spherical_residual(n), (alpha, kappa))
    q = jax.nn.sigmoid(sol.value)
    entropy = 0.5 * jnp.log1p(-q) + q / (2.0 * (1.0 - q)) + alpha * ig.energetic_term(q, kappa, n)
    replicon = alpha * ig.aprime2_mean(q, kappa, n)
    res = jnp.abs(spherical_residual(n)(jax.lax.stop_gradient(q), jax.lax.stop_gradient((alpha, kappa))))
    result = _result_code(sol, res, alpha, ig.spherical_capacity(kappa))
    return GardnerRS(alpha, kappa, q, q / (1.0 - q) ** 2, entropy, replicon, result == 0, res, sol.n_steps, result)


def binary_qhat(q, alpha, kappa, n):
    return alpha * ig.a2_mean(q, kappa, n) / (1.0 - q)


def binary_residual(n):
    # In log(1 - q): this removes the spurious root q = 1 (where q_new -> 1 as well) and keeps
    # relative accuracy when q -> 1; the sign change is between q -> 0 and q -> 1 for
    # alpha < binary_branch_end(kappa).
    def r(q, a):
        alpha, kappa = a
        return jnp.log(ig.one_minus_q_from_qhat(binary_qhat(q, alpha, kappa, n), n)) - jnp.log1p(-q)

    return r


def binary_point(alpha, kappa, n):
    r"""Binary perceptron: :math:`q = \langle\tanh^2\sqrt{\hat q}z\rangle`,
    :math:`\hat q = \alpha\langle A^2\rangle/(1-q)` (bisection on :math:`q` with :math:`\hat q`
    eliminated), entropy :math:`\phi_{\rm bin}(q^*,\hat q^*)`, replicon."""
    sol = logit_bisect(binary_residual(n), (alpha, kappa))
    q = jax.nn.sigmoid(sol.value)
    q_hat = binary_qhat(q, alpha, kappa, n)
    entropy = ig.binary_rs_free_entropy(q, q_hat, alpha, kappa, n)
    replicon = alpha / (1.0 - q) ** 2 * ig.aprime2_mean(q, kappa, n) * ig.sech4_mean(q_hat, n)
    res = jnp.abs(binary_residual(n)(jax.lax.stop_gradient(q), jax.lax.stop_gradient((alpha, kappa))))
    result = _result_code(sol, res, alpha, ig.binary_branch_end(kappa))
    return GardnerRS(alpha, kappa, q, q_hat, entropy, replicon, result == 0, res, sol.n_steps, result)
