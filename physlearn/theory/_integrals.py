r"""Gaussian integrals shared by the theory modules (Gardner, Franz--Parisi, local entropy).

Notation: :math:`u = (\kappa-\sqrt q z)/\sqrt{1-q}`, :math:`H(x)=\int_x^\infty Dz`,
:math:`A = G/H = -(\log H)'`. Every integrand with a kink (a crossover of width
:math:`\sqrt{1-q}` at :math:`z=\kappa/\sqrt q`, a switch between maximisers) is integrated with the
line split there (:func:`physlearn.numerics.gauss_expect_split`, :func:`split_rule`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .. import numerics as nm
from .. import solvers

DEFAULT_NODES = 128  # per half line of the split rule (2 x 128 evaluations per integral)


def h2(d):
    r"""Entropy of the Hamming sphere, :math:`H_2(d) = -d\log d-(1-d)\log(1-d)` (natural log):
    the :math:`\alpha=0` value of every local entropy and their universal upper bound."""
    d = jnp.asarray(d, dtype=jnp.result_type(d, float))
    return -(jax.scipy.special.xlogy(d, d) + jax.scipy.special.xlog1py(1.0 - d, -d))


# --------------------------------------------------------------------------------------------
# The energetic term of the Gardner volume and its Stein forms
# --------------------------------------------------------------------------------------------
def kink(q, kappa):
    r"""Where the integrand of :math:`E(q)` crosses over: :math:`z = \kappa/\sqrt q`."""
    return kappa / jnp.sqrt(jnp.maximum(q, 1e-300))


def u_field(z, q, kappa):
    return (kappa - jnp.sqrt(q) * z) / jnp.sqrt(1.0 - q)


def energetic_term(q, kappa=0.0, n: int = DEFAULT_NODES):
    r""":math:`E(q) = \int Dz\,\log H\big((\kappa-\sqrt q z)/\sqrt{1-q}\big)` (Gardner 1988).

    The integrand changes from :math:`\approx -u^2/2` to 0 across :math:`z=\kappa/\sqrt q` over
    a width :math:`\sqrt{1-q}`: the line is split there (:func:`physlearn.numerics.gauss_expect_split`).
    Composable (no validation, no x64 scope).
    """
    return nm.gauss_expect_split(lambda z: nm.log_H(u_field(z, q, kappa)), kink(q, kappa), n)


def a2_mean(q, kappa, n):
    r""":math:`\langle A(u)^2\rangle_z` (the Stein form of :math:`-2(1-q)E'(q)`)."""
    return nm.gauss_expect_split(lambda z: nm.GH(u_field(z, q, kappa)) ** 2, kink(q, kappa), n)


def aprime2_mean(q, kappa, n):
    r""":math:`\langle [(\log H)''(u)]^2\rangle_z = \langle A'(u)^2\rangle_z`."""
    return nm.gauss_expect_split(lambda z: nm.GH_prime(u_field(z, q, kappa)) ** 2, kink(q, kappa), n)


# --------------------------------------------------------------------------------------------
# The entropic term of binary weights
# --------------------------------------------------------------------------------------------
def one_minus_q_from_qhat(q_hat, n):
    """1 - <tanh^2(sqrt(q_hat) z)> computed as <sech^2> (no cancellation as q -> 1)."""
    a = jnp.sqrt(q_hat)
    return nm.gauss_expect_split(lambda z: nm.sech2(a * z), 0.0, n, width=40.0 / a)


def sech4_mean(q_hat, n):
    a = jnp.sqrt(q_hat)
    return nm.gauss_expect_split(lambda z: nm.sech2(a * z) ** 2, 0.0, n, width=40.0 / a)


def log2cosh_mean(q_hat, n):
    return nm.gauss_expect_split(lambda z: nm.log2cosh(jnp.sqrt(q_hat) * z), 0.0, n)


def binary_rs_free_entropy(q, q_hat, alpha, kappa=0.0, n: int = DEFAULT_NODES):
    r""":math:`\phi_{\rm bin}(q,\hat q) = -\hat q(1-q)/2 + \int Dz\log2\cosh(\sqrt{\hat q}z) + \alpha E(q)`
    (Gardner & Derrida 1988). Composable; its gradient vanishes at the RS saddle point."""
    return -0.5 * q_hat * (1.0 - q) + log2cosh_mean(q_hat, n) + alpha * energetic_term(q, kappa, n)


# --------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------
def spherical_capacity(kappa):
    r""":math:`\alpha_c(\kappa) = [(1+\kappa^2)H(-\kappa)+\kappa G(\kappa)]^{-1}` (Gardner 1988)."""
    return 1.0 / ((1.0 + kappa**2) * nm.H(-kappa) + kappa * nm.G(kappa))


def binary_branch_end(kappa):
    r"""End of the binary RS branch, :math:`(2/\pi)\alpha_c^{\rm sph}(\kappa)`: the :math:`q\to1`
    asymptotics :math:`1-q\sim\sqrt{2/\pi}/\sqrt{\hat q}`, :math:`\hat q\sim\alpha/((1-q)^2\alpha_c^{\rm sph})`."""
    return (2.0 / math.pi) * spherical_capacity(kappa)


# --------------------------------------------------------------------------------------------
# Quadrature rules
# --------------------------------------------------------------------------------------------
def split_rule(c, n):
    r"""Nodes/weights of :math:`\int Dz\,f(z)` split at ``c`` (``n`` nodes per half line)."""
    zu, wu = nm.half_line_rule(c, n)
    zl, wl = nm.half_line_rule(-c, n)
    return jnp.concatenate([zu, -zl]), jnp.concatenate([wu, wl])


def truncated_rule(c, nx):
    r"""Nodes/weights for :math:`\int Dx\,\theta(x-c) f(x)/H(c)` (normalised truncated Gaussian):
    :math:`x = c + U s^2` with Gauss--Legendre :math:`s`, weights proportional to
    :math:`s\,e^{-cu-u^2/2}` (never forms :math:`H(c)`, which underflows for :math:`c\gg1`)."""
    s, ws = nm._gauss_legendre01(nx)
    s = jnp.asarray(s, dtype=jnp.result_type(c, float))
    ws = jnp.asarray(ws, dtype=s.dtype)
    root = jnp.sqrt(c * c + 80.0)
    U = jnp.where(c > 0, 80.0 / (c + root), root - c)  # sqrt(c^2 + 80) - c without cancellation
    u = U * s * s
    logw = jnp.log(ws * s) - c * u - 0.5 * u * u
    w = jax.nn.softmax(logw)
    return c + u, w


def hermite_rule(n, dtype):
    """Gauss--Hermite nodes/weights (probabilists') as arrays of ``dtype``."""
    e, we = nm.gauss_hermite(n)
    return jnp.asarray(e, dtype=dtype), jnp.asarray(we, dtype=dtype)


def envelope_partials(functional, argnums, *args):
    r"""``(value, *partials)``: ``functional(*args)`` and its partial derivatives in the arguments
    ``argnums`` (at a saddle point, by the envelope theorem, the total derivatives in those
    parameters), each with derivatives of its own by central differences
    (:func:`physlearn.solvers.attach_derivatives`) in every inexact argument, and through the
    implicit derivatives the arguments may carry. For functionals whose integrals are split at kinks
    or recentred on points held under ``stop_gradient``: their autodiff gradients are accurate to
    quadrature, but derivatives of those gradients by autodiff miss the motion of the held points.
    The values are those of ``jax.value_and_grad``."""
    def partials(*a):
        value, grads = jax.value_and_grad(functional, argnums)(*a)
        return value, *grads

    return solvers.attach_derivatives(partials, *args, jacobian="fd")
