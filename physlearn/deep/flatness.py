r"""Flatness of a minimum: local energy and the Hessian spectrum, on any pytree / equinox model.

Every function takes ``loss_fn(params, data) -> scalar`` and ``params`` (a pytree or an equinox
model; only its inexact array leaves are perturbed / differentiated, flattened in the order of
``jax.flatten_util.ravel_pytree``; ``n`` below is their total size).

* :func:`local_energy` -- the train loss (or error) under multiplicative Gaussian weight noise,
  :math:`E(\sigma) = \mathbb{E}_\xi\, L(W \odot (1+\sigma\xi))`, as a curve in :math:`\sigma`
  (Pittorino et al., "Entropic gradient descent algorithms and wide flat minima", ICLR 2021;
  Baldassi, Pittorino, Zecchina, PNAS 117, 161 (2020)). Flat minima have a small
  :math:`\delta E(\sigma) = E(\sigma) - E(0)`.
* :func:`hessian_eigenvalues` -- extreme eigenvalues by Lanczos with full reorthogonalisation on
  Hessian-vector products (forward-over-reverse, ``jax.jvp`` of ``jax.grad``).
* :func:`hessian_density` -- the spectral density by stochastic Lanczos quadrature (Golub & Meurant;
  Ghorbani, Krishnan, Xiao, "An investigation into neural net optimization via Hessian eigenvalue
  density", ICML 2019), Gaussian-broadened.
* :func:`critical_point_index` -- fractions of negative and (near-)zero Hessian eigenvalues, from
  the dense Hessian (small models) or from the SLQ quadrature (large ones).
"""

from __future__ import annotations

import math
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .. import _validation as V

__all__ = [
    "LocalEnergy",
    "SpectralDensity",
    "CriticalIndex",
    "local_energy",
    "hessian_eigenvalues",
    "hessian_density",
    "critical_point_index",
    "dense_hessian",
]


# ------------------------------------------------------------------------------------ helpers
def _check_loss(loss_fn):
    V.callable_arg("loss_fn", loss_fn, "a callable loss_fn(params, data) -> scalar")


def _flatten(params):
    dyn, static = eqx.partition(params, eqx.is_inexact_array)
    flat, unravel = ravel_pytree(dyn)
    if flat.size == 0:
        raise ValueError("params has no inexact (float) array leaves to perturb or differentiate")
    return flat, unravel, static


def _flat_loss(loss_fn, unravel, static, data):
    def f(v):
        return loss_fn(eqx.combine(unravel(v), static), data)

    return f


def _n_params(params):
    leaves = jax.tree_util.tree_leaves(eqx.filter(params, eqx.is_inexact_array))
    n = int(sum(math.prod(jnp.shape(x)) for x in leaves))
    if n == 0:
        raise ValueError("params has no inexact (float) array leaves to perturb or differentiate")
    return n


# ------------------------------------------------------------------------------------ local energy
class LocalEnergy(eqx.Module):
    r"""Local-energy curve: ``energy[j]`` = mean over ``draws`` noise draws of
    :math:`L(W\odot(1+\sigma_j\xi))`, ``stderr[j]`` its standard error, ``base`` = :math:`L(W)`.
    ``delta`` = ``energy - base`` (:math:`\delta E(\sigma)`)."""

    sigma: jax.Array
    energy: jax.Array
    stderr: jax.Array
    base: jax.Array

    @property
    def delta(self):
        return self.energy - self.base


def local_energy(loss_fn, params, data, sigmas, key, *, draws=32, chunk=None) -> LocalEnergy:
    r"""Train loss (or error) under multiplicative Gaussian weight noise, as a curve in
    :math:`\sigma` (Pittorino et al., ICLR 2021, "local energy"):

    .. math:: E(\sigma) = \frac{1}{D}\sum_{d=1}^{D} L\big(W \odot (1 + \sigma\,\xi_d)\big),
              \qquad \xi_d \sim \mathcal N(0, I_n).

    The relative noise makes the measure invariant under rescaling of individual weights. Draw
    ``d`` uses ``xi_d = jax.random.normal(jax.random.split(key, draws)[d], (n,))`` on the
    flattened float leaves (``ravel_pytree`` order); the same draws serve every
    :math:`\sigma` (common random numbers, so the curve is smooth in :math:`\sigma`). Vmapped
    over :math:`\sigma` and over draws (``chunk`` draws at a time, all by default, to bound
    memory). ``loss_fn(params, data)`` may be a loss or a 0/1 error rate.

    Returns :class:`LocalEnergy` (``sigma``, ``energy``, ``stderr``, ``base``).
    """
    _check_loss(loss_fn)
    V.key(key)
    draws = V.integer("draws", draws)
    chunk = draws if chunk is None else V.integer("chunk", chunk)
    sig = V.vector("sigmas", sigmas)
    _n_params(params)
    return _local_energy(loss_fn, params, data, jnp.asarray(sig), key, draws, min(chunk, draws))


@eqx.filter_jit
def _local_energy(loss_fn, params, data, sig, key, draws, chunk):
    flat, unravel, static = _flatten(params)
    f = _flat_loss(loss_fn, unravel, static, data)
    sig = sig.astype(flat.dtype)

    def one_draw(k):
        xi = jax.random.normal(k, flat.shape, flat.dtype)
        return jax.vmap(lambda s: f(flat * (1 + s * xi)))(sig)

    e = jax.lax.map(one_draw, jax.random.split(key, draws), batch_size=chunk)  # (draws, S)
    mean = jnp.mean(e, axis=0)
    stderr = jnp.std(e, axis=0, ddof=1) / math.sqrt(draws) if draws > 1 else jnp.zeros_like(mean)
    return LocalEnergy(sigma=sig, energy=mean, stderr=stderr, base=f(flat))


# ------------------------------------------------------------------------------------ Lanczos
def _lanczos(matvec, v0, iters):
    r"""``iters`` Lanczos steps with full reorthogonalisation (classical Gram--Schmidt, twice).

    Returns ``(alpha, beta, V)``: the tridiagonal :math:`T` has diagonal ``alpha`` and
    off-diagonal ``beta[:-1]``; ``beta[-1]`` is the residual norm; ``V`` (iters, n) the basis.
    On an invariant subspace (``beta`` ~ 0) the iteration restarts, with ``beta = 0`` (T block
    diagonal), from a cyclic shift of the start vector orthogonalised against the basis (the
    shifts of a Gaussian vector are linearly independent with probability one), so that
    ``iters = n`` gives the whole spectrum.
    """
    n = v0.shape[0]
    dtype = v0.dtype
    eps = jnp.finfo(dtype).eps
    V = jnp.zeros((iters + 1, n), dtype).at[0].set(v0 / jnp.linalg.norm(v0))

    def orth(V, w):
        w = w - V.T @ (V @ w)
        return w - V.T @ (V @ w)

    def body(j, carry):
        V, alpha, beta, scale = carry
        v = V[j]
        w = matvec(v)
        a = jnp.dot(w, v)
        scale = jnp.maximum(scale, jnp.linalg.norm(w))
        w = orth(V, w)
        b = jnp.linalg.norm(w)
        broke = b <= 10 * math.sqrt(n) * eps * scale
        r = orth(V, jnp.roll(v0, j + 1))
        nxt = jnp.where(broke, r / jnp.linalg.norm(r), w / jnp.where(broke, 1.0, b))
        V = V.at[j + 1].set(nxt)
        return V, alpha.at[j].set(a), beta.at[j].set(jnp.where(broke, 0.0, b)), scale

    init = (V, jnp.zeros((iters,), dtype), jnp.zeros((iters,), dtype), jnp.zeros((), dtype))
    V, alpha, beta, _ = jax.lax.fori_loop(0, iters, body, init)
    return alpha, beta, V[:iters]


def _ritz(alpha, beta):
    """Eigenvalues and eigenvectors of the tridiagonal Lanczos matrix."""
    off = beta[:-1]
    t = jnp.diag(alpha) + jnp.diag(off, 1) + jnp.diag(off, -1)
    return jnp.linalg.eigh(t)


def _hvp(f, x):
    g = jax.grad(f)
    return lambda v: jax.jvp(g, (x,), (v,))[1]


def hessian_eigenvalues(loss_fn, params, data, k, key, *, iters=None, which="largest", return_residuals=False):
    r"""The ``k`` largest (``which="largest"``, sorted descending) or smallest (sorted ascending)
    eigenvalues of the Hessian :math:`\nabla^2 L(W)` of ``loss_fn(params, data)``.

    Lanczos with full reorthogonalisation on Hessian-vector products
    :math:`Hv = \frac{d}{d\epsilon}\nabla L(W+\epsilon v)` (``jax.jvp`` of ``jax.grad``; one HVP
    costs about two gradients), ``iters`` steps from a Gaussian start drawn with ``key``
    (default ``min(n, max(4k, 80))``); the extreme Ritz values of the tridiagonal matrix converge
    first. With ``return_residuals=True`` also returns the Ritz residual bounds
    :math:`|\beta_m s_{m,i}| \ge \min_j|\lambda_j - \theta_i|` (Parlett, "The symmetric eigenvalue
    problem", §13.2): small residuals certify convergence. Memory: ``iters * n`` numbers.
    """
    _check_loss(loss_fn)
    V.key(key)
    n = _n_params(params)
    k = V.integer("k", k)
    if k > n:
        raise ValueError(f"k={k} exceeds the number of parameters n={n}")
    iters = min(n, max(4 * k, 80)) if iters is None else V.integer("iters", iters)
    if iters < k or iters > n:
        raise ValueError(f"iters must satisfy k <= iters <= n (k={k}, n={n}), got {iters}")
    V.choice("which", which, ("largest", "smallest"))
    theta, res = _hessian_ritz(loss_fn, params, data, key, iters)  # ascending Ritz values
    if which == "largest":
        vals, res = theta[::-1][:k], res[::-1][:k]
    else:
        vals, res = theta[:k], res[:k]
    return (vals, res) if return_residuals else vals


def _ritz_from_start(loss_fn, params, data, key, iters):
    flat, unravel, static = _flatten(params)
    f = _flat_loss(loss_fn, unravel, static, data)
    v0 = jax.random.normal(key, flat.shape, flat.dtype)
    alpha, beta, _ = _lanczos(_hvp(f, flat), v0, iters)
    theta, s = _ritz(alpha, beta)
    return theta, s, beta


@eqx.filter_jit
def _hessian_ritz(loss_fn, params, data, key, iters):
    """Ascending Ritz values and their residual bounds."""
    theta, s, beta = _ritz_from_start(loss_fn, params, data, key, iters)
    return theta, jnp.abs(beta[-1] * s[-1, :])


@eqx.filter_jit
def _lanczos_quadrature(loss_fn, params, data, key, iters):
    """Ascending Ritz values and their quadrature weights (a one-probe SLQ, Gaussian start)."""
    theta, s, _ = _ritz_from_start(loss_fn, params, data, key, iters)
    return theta, s[0, :] ** 2


def dense_hessian(loss_fn, params, data):
    """The dense ``(n, n)`` Hessian of ``loss_fn(params, data)`` in ``ravel_pytree`` order
    (``jax.hessian``; for small models and for checks)."""
    _check_loss(loss_fn)
    _n_params(params)
    return _dense_hessian(loss_fn, params, data)


@eqx.filter_jit
def _dense_hessian(loss_fn, params, data):
    flat, unravel, static = _flatten(params)
    return jax.hessian(_flat_loss(loss_fn, unravel, static, data))(flat)


# ------------------------------------------------------------------------------------ SLQ density
class SpectralDensity(eqx.Module):
    r"""Stochastic Lanczos quadrature of the Hessian spectrum.

    - ``nodes``, ``weights``: ``(probes, iters)`` Ritz values :math:`\theta_i^{(p)}` and weights
      :math:`\tau_i^{(p)} = (e_1^\top s_i)^2` (each probe's weights sum to 1);
    - ``grid``, ``density``: the broadened density
      :math:`\phi(t) = \frac1P\sum_p\sum_i \tau_i^{(p)}\,\mathcal N(t;\theta_i^{(p)},\sigma^2)` on
      ``grid``, with ``width`` :math:`\sigma`.

    ``moment(j)`` is :math:`\frac1P\sum_p\sum_i\tau_i^{(p)}(\theta_i^{(p)})^j`, the quadrature
    estimate of :math:`\mathrm{tr}(H^j)/n` (exact for ``j < 2*iters`` and a given probe:
    :math:`v^\top H^j v`).
    """

    nodes: jax.Array
    weights: jax.Array
    grid: jax.Array
    density: jax.Array
    width: jax.Array

    def moment(self, j: int):
        return jnp.mean(jnp.sum(self.weights * self.nodes**j, axis=-1))

    def index(self, tol=1e-6):
        r"""Quadrature estimate of the fractions of negative and (near-)zero eigenvalues:
        :math:`\frac1P\sum_p\sum_i\tau_i^{(p)}[\theta_i^{(p)} < -\mathrm{tol}\cdot s]` and
        :math:`[|\theta_i^{(p)}| \le \mathrm{tol}\cdot s]`, :math:`s = \max|\theta|`."""
        s = jnp.max(jnp.abs(self.nodes))
        p = self.nodes.shape[0]
        neg = jnp.sum(self.weights * (self.nodes < -tol * s)) / p
        zero = jnp.sum(self.weights * (jnp.abs(self.nodes) <= tol * s)) / p
        return neg, zero


def hessian_density(loss_fn, params, data, key, *, probes=8, iters=64, grid=512, width=None) -> SpectralDensity:
    r"""Hessian eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al., ICML 2019).

    For each probe :math:`v_p` (``probes`` Rademacher vectors drawn with ``key``, or an explicit
    ``(P, n)`` array of probe vectors, each normalised), ``iters`` Lanczos steps from
    :math:`v_p` give Ritz values :math:`\theta_i` and weights :math:`\tau_i = (e_1^\top s_i)^2`,
    a Gauss quadrature of the spectral measure :math:`\mu_v = \sum_j (v\cdot u_j)^2\delta_{\lambda_j}`
    whose average over probes estimates :math:`\frac1n\sum_j\delta_{\lambda_j}` (unbiased for
    random probes; exact for the ``n`` basis vectors with ``iters = n``). The density is that
    quadrature broadened by Gaussians of standard deviation ``width`` (default 1% of the node
    range), on ``grid`` (a number of points spanning the nodes +- 5 ``width``, or an explicit 1-D
    array). ``iters`` is capped at ``n``.
    """
    _check_loss(loss_fn)
    V.key(key)
    n = _n_params(params)
    iters = min(V.integer("iters", iters), n)
    if isinstance(probes, numbers.Integral) and not isinstance(probes, bool):  # a number of probes
        probes = V.integer("probes", probes)
        explicit = None
    else:
        explicit = np.asarray(probes, dtype=float)
        if explicit.ndim != 2 or explicit.shape[1] != n or explicit.shape[0] < 1:
            raise ValueError(f"probes must be a positive integer or a (P, n={n}) array, got shape {explicit.shape}")
        if not np.all(np.isfinite(explicit)) or np.any(np.linalg.norm(explicit, axis=1) == 0):
            raise ValueError("probes must be finite, non-zero vectors")
    if isinstance(grid, numbers.Integral) and not isinstance(grid, bool):
        grid_pts, grid_arr = V.integer("grid", grid, minimum=2), None
    else:
        grid_arr = np.asarray(grid, dtype=float)
        if grid_arr.ndim != 1 or grid_arr.size < 2 or not np.all(np.isfinite(grid_arr)):
            raise ValueError("grid must be a number of points (>= 2) or a finite 1-D array")
        grid_pts = None
    width = V.real("width", width, positive=True, allow_none=True)
    nprobe = probes if explicit is None else explicit.shape[0]
    return _slq(loss_fn, params, data, key, nprobe, None if explicit is None else jnp.asarray(explicit),
                iters, grid_pts, None if grid_arr is None else jnp.asarray(grid_arr), width)


@eqx.filter_jit
def _slq(loss_fn, params, data, key, nprobe, explicit, iters, grid_pts, grid_arr, width):
    flat, unravel, static = _flatten(params)
    f = _flat_loss(loss_fn, unravel, static, data)
    hvp = _hvp(f, flat)
    if explicit is None:
        v = jax.random.rademacher(key, (nprobe, flat.size), flat.dtype)
    else:
        v = explicit.astype(flat.dtype)

    def one(vp):
        alpha, beta, _ = _lanczos(hvp, vp, iters)
        theta, s = _ritz(alpha, beta)
        return theta, s[0, :] ** 2

    nodes, weights = jax.lax.map(one, v)
    lo, hi = jnp.min(nodes), jnp.max(nodes)
    if width is None:
        w = 0.01 * (hi - lo)
        w = jnp.where(w > 0, w, 1e-3 * jnp.maximum(1.0, jnp.maximum(jnp.abs(hi), jnp.abs(lo))))
    else:
        w = jnp.asarray(width, flat.dtype)
    t = jnp.linspace(lo - 5 * w, hi + 5 * w, grid_pts) if grid_arr is None else grid_arr.astype(flat.dtype)
    gauss = jnp.exp(-0.5 * ((t[:, None] - nodes.reshape(-1)[None, :]) / w) ** 2) / (w * math.sqrt(2 * math.pi))
    density = gauss @ weights.reshape(-1) / nprobe
    return SpectralDensity(nodes=nodes, weights=weights, grid=t, density=density, width=w)


# ------------------------------------------------------------------------------------ index
class CriticalIndex(eqx.Module):
    """Fractions of negative and (near-)zero Hessian eigenvalues; ``method`` says how they were
    obtained (``"dense"``: exact counts of ``eigvalsh`` of the dense Hessian; ``"slq"``: quadrature
    estimate)."""

    negative: jax.Array
    zero: jax.Array
    method: str = eqx.field(static=True)


def critical_point_index(loss_fn, params, data, *, method="auto", tol=1e-6, key=None, probes=8, iters=64,
                         dense_max=1500) -> CriticalIndex:
    r"""Index of a critical point: the fraction of negative Hessian eigenvalues
    (:math:`\lambda < -\mathrm{tol}\cdot\max|\lambda|`) and of (near-)zero ones
    (:math:`|\lambda|\le\mathrm{tol}\cdot\max|\lambda|`).

    ``method="dense"``: eigenvalues of the dense Hessian (``jax.hessian`` then ``eigvalsh``;
    :math:`O(n^2)` memory, :math:`O(n^3)` time) -- exact counts. ``method="slq"``: from the
    stochastic Lanczos quadrature of :func:`hessian_density` (``key``, ``probes``, ``iters``
    needed): :math:`\frac1P\sum_p\sum_i\tau_i^{(p)}[\theta_i^{(p)} < -\mathrm{tol}\cdot s]` with
    :math:`s = \max|\theta|` -- an estimate (exact for basis probes with ``iters = n``; with
    ``iters < n`` a Ritz value stands for a whole band of eigenvalues, and bands straddling the
    thresholds blur the counts). ``method="auto"``: dense when ``n <= dense_max``, else SLQ.
    """
    _check_loss(loss_fn)
    n = _n_params(params)
    V.choice("method", method, ("auto", "dense", "slq"))
    tol = V.real("tol", tol, nonneg=True)
    if method == "auto":
        method = "dense" if n <= V.integer("dense_max", dense_max) else "slq"
    if method == "dense":
        lam = jnp.linalg.eigvalsh(dense_hessian(loss_fn, params, data))
        s = jnp.max(jnp.abs(lam))
        return CriticalIndex(negative=jnp.mean((lam < -tol * s).astype(lam.dtype)),
                             zero=jnp.mean((jnp.abs(lam) <= tol * s).astype(lam.dtype)), method="dense")
    if key is None:
        raise V.ArgumentTypeError("key is required for method='slq' (a JAX PRNG key, jax.random.key(seed))")
    neg, zero = hessian_density(loss_fn, params, data, key, probes=probes, iters=iters, grid=2).index(tol)
    return CriticalIndex(negative=neg, zero=zero, method="slq")
