r"""The dense-region threshold :math:`\alpha_U` (Baldassi et al. PRL 115, 128101 (2015); PNAS 113,
E7655 (2016))."""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from ... import solvers
from ..._config import eager_x64, is_traced, theory_jit
from .._inputs import as_param, check_on_failure, finish
from . import _api
from ._curves import DEFAULT_NODES, curve_free
from ._results import ThresholdResult

_D_SCAN = (0.005, 0.06, 28)
_D_CHECK_1RSB = (0.005, 0.06, 8)
_DALPHA = 5e-3
_OK = solvers.RESULTS.successful


def _min_shat(alpha, kappa, n):
    r""":math:`\min_d\hat S(d)` on 28 geometric distances in [0.005, 0.06], refined by a parabola in
    :math:`\log d` through the smallest value and its neighbours; returns ``(all converged, min, d*)``."""
    lo, hi, k = _D_SCAN
    grid = jnp.asarray(np.geomspace(lo, hi, k), dtype=jnp.result_type(alpha, float))
    c = curve_free(alpha, kappa, grid, n)
    sh = jnp.where(c.converged, c.S_hat, jnp.inf)
    i = jnp.clip(jnp.argmin(sh), 1, k - 2)
    # parabolic refinement of the minimum in log d
    x = jnp.log(jnp.stack([grid[i - 1], grid[i], grid[i + 1]]))
    yv = jnp.stack([c.S_hat[i - 1], c.S_hat[i], c.S_hat[i + 1]])
    den = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    A = (x[2] * (yv[1] - yv[0]) + x[1] * (yv[0] - yv[2]) + x[0] * (yv[2] - yv[1])) / den
    B = (x[2] ** 2 * (yv[0] - yv[1]) + x[1] ** 2 * (yv[2] - yv[0]) + x[0] ** 2 * (yv[1] - yv[2])) / den
    C = yv[1] - A * x[1] ** 2 - B * x[1]
    xm = jnp.clip(-B / (2 * A), x[0], x[2])
    refined = jnp.where(A > 0, jnp.minimum(A * xm * xm + B * xm + C, jnp.min(yv)), jnp.min(yv))
    return jnp.all(c.converged), refined, jnp.exp(jnp.where(A > 0, xm, x[1]))


def _threshold_one(kappa, n, lo, hi):
    def g(alpha, k):
        ok, m, _ = _min_shat(alpha, k, n)
        return jnp.where(ok, m, -1.0)

    sol = solvers.root(g, jnp.zeros_like(kappa), kappa, method="bisection", lower=lo, upper=hi, tol=1e-5,
                       max_steps=60)
    a = sol.value
    ok_lo, m_lo, d_lo = _min_shat(a - 1e-5, kappa, n)
    result = solvers.combine(
        jnp.where(sol.n_steps < 60, _OK, solvers.RESULTS.max_steps_reached),
        jnp.where(ok_lo & (m_lo >= 0.0) & (m_lo < 0.01), _OK, solvers.RESULTS.tolerance_not_met),
    )
    return ThresholdResult(kappa, a, d_lo, m_lo, result == _OK, sol.residual, sol.n_steps, result)


@theory_jit(static_argnames=("n", "lo", "hi"))
def _threshold_grid(kappa, n, lo, hi):
    return jax.lax.map(lambda k: _threshold_one(k, n, lo, hi), kappa.reshape(-1))


@theory_jit(static_argnames=("n",))
def _min_shat_jit(alpha, kappa, n):
    return _min_shat(alpha, kappa, n)


@eager_x64
def dense_region_threshold(
    kappa=0.0,
    reference: str = "free",
    rsb: str = "rs",
    *,
    n: int = DEFAULT_NODES,
    bracket=(0.6, 0.9),
    on_failure: str = "raise",
    full_output: bool = False,
):
    r""":math:`\alpha_U(\kappa)`: end of the dense-region phase of the binary perceptron
    (Baldassi et al. PRL 115, 128101 (2015); PNAS 113, E7655 (2016)).

    Criterion (``reference="free"``, ``rsb="rs"``, :math:`y\to\infty`): the largest :math:`\alpha`
    for which the local-entropy curve :math:`S_I(d)` of :func:`free_reference_rs` is monotone at
    small :math:`d`, i.e. :math:`\min_d \hat S(d) \ge 0` with :math:`\hat S = \frac12 dS_I/dd`, the
    minimum taken over :math:`d\in[0.005, 0.06]` (28 geometric points, parabolic refinement in
    :math:`\log d`). At :math:`\alpha_U` the minimum of :math:`\hat S` touches 0, and just above
    it the :math:`\hat S\ge0` branch ends (the inner envelope :math:`M_S` has a kink at :math:`B=0`
    once :math:`\delta\hat q>1`). Found by bisection in :math:`\alpha` (tolerance 1e-5) on that
    criterion; differentiable in :math:`\kappa` (implicit differentiation of the criterion).

    ``reference="solution"`` (PRL 2015): the free threshold shifted to first order by the
    constrained solve at :math:`(\alpha_U, d^*)`,
    :math:`\alpha_U^{\rm sol} = \alpha_U - [\hat S_{\rm sol}-\hat S_{\rm free}](d^*)/\partial_\alpha\min_d\hat S`
    (the shift of the minimiser is second order; the slope by a one-sided difference, step 5e-3).

    ``rsb="1rsb"``: the RS threshold checked by the :math:`m\to1` 1RSB analysis
    (:func:`free_reference_1rsb`, or :func:`solution_reference_1rsb` with ``reference="solution"``)
    at :math:`\alpha_U-10^{-5}` on 8 geometric distances of the criterion's window: if every search
    collapses onto RS, the 1RSB curve *is* the RS curve there, hence so is the criterion,
    :math:`\alpha_U^{\rm 1RSB}=\alpha_U^{\rm RS}`, and ``max_replicon`` holds the largest replicon
    slope seen; a non-collapsed point flags the result (the threshold would then need the 1RSB
    curve itself).

    Args:
        kappa: margin (scalar or array); reference: ``"free"`` or ``"solution"``; rsb: ``"rs"``
            or ``"1rsb"``; n: nodes per half line of the curves; bracket: the :math:`\alpha`
            interval searched; on_failure: ``"raise"`` or ``"flag"``; full_output: return a
            :class:`ThresholdResult`.

    Returns:
        :math:`\alpha_U` (array shaped like ``kappa``), or a :class:`ThresholdResult` with the
        distance :math:`d^*` of the minimum if ``full_output``.

    Failure: no sign change of the criterion in ``bracket`` (or a failed curve just below
    :math:`\alpha_U`) raises :class:`~physlearn.errors.NonConvergenceError` / flags the point.
    The ``"solution"`` and ``"1rsb"`` variants run the curve solvers point by point in Python: they
    need concrete inputs (``ValueError`` under ``jit``/``grad``).
    """
    check_on_failure(on_failure)
    k = as_param("kappa", kappa)
    _api.validate_conventions(float("inf"), reference, rsb)
    lo, hi = (float(b) for b in bracket)
    if not 0.0 < lo < hi:
        raise ValueError(f"bracket must satisfy 0 < lo < hi, got {bracket!r}")
    if (reference != "free" or rsb != "rs") and is_traced(k):
        raise ValueError("dense_region_threshold with reference='solution' or rsb='1rsb' needs a concrete kappa "
                         "(it runs the curve solvers point by point); only the default criterion is traceable")
    kk = jnp.asarray(k, jnp.result_type(float))
    out = _threshold_grid(kk, n, lo, hi)
    out = jax.tree_util.tree_map(lambda v: v.reshape(kk.shape), out)
    out = finish(out, on_failure, "local_entropy.dense_region_threshold", {"kappa": out.kappa},
                 "widen bracket (alpha_U must lie inside it)")
    if reference == "solution":
        out = _solution_threshold(out, n, on_failure)
    if rsb == "1rsb":
        out = _one_rsb_threshold(out, n, on_failure, reference)
    return out if full_output else out.alpha_U


def _with(out, ok, **fields):
    """``out`` with the given fields replaced and ``ok`` (per point) folded into its result code."""
    result = solvers.combine(jnp.asarray(out.result),
                             jnp.where(jnp.asarray(ok), _OK, solvers.RESULTS.tolerance_not_met))
    return ThresholdResult(**{**{f: getattr(out, f) for f in ("kappa", "alpha_U", "d_star", "min_S_hat_below",
                                                               "residual", "n_steps", "max_replicon")},
                              **fields, "converged": result == _OK, "result": result})


def _one_rsb_threshold(rs, n, on_failure, reference="free"):
    r"""1RSB check of the RS threshold (see :func:`dense_region_threshold`)."""
    kap = np.asarray(rs.kappa).reshape(-1)
    aU = np.asarray(rs.alpha_U).reshape(-1)
    grid = np.geomspace(*_D_CHECK_1RSB)
    fn = _api.free_reference_1rsb if reference == "free" else _api.solution_reference_1rsb
    ok, lam = [], []
    for kq, a0 in zip(kap, aU):
        c = fn(a0 - 1e-5, grid, kq, n=n, on_failure="flag")
        ok.append(bool(np.all(np.asarray(c.converged) & np.asarray(c.collapsed))))
        lam.append(float(np.max(np.asarray(c.replicon))))
    shape = np.shape(rs.alpha_U)
    out = _with(rs, np.asarray(ok).reshape(shape), max_replicon=np.asarray(lam).reshape(shape))
    return finish(out, on_failure, "local_entropy.dense_region_threshold(rsb='1rsb')", {"kappa": out.kappa},
                  "a 1RSB search at alpha_U did not collapse onto RS (or did not converge)")


def _solution_threshold(free, n, on_failure):
    r"""First-order shift of :math:`\alpha_U` from the free to the constrained reference (see
    :func:`dense_region_threshold`)."""
    kap = np.asarray(free.kappa).reshape(-1)
    aU = np.asarray(free.alpha_U).reshape(-1)
    ds = np.asarray(free.d_star).reshape(-1)
    new_a, ok = [], []
    for kq, a0, d0 in zip(kap, aU, ds):
        sol = _api.solution_reference_rs(a0, np.array([d0]), kq, n=n, on_failure="flag")
        fr = _api.free_reference_rs(a0, np.array([d0]), kq, n=n, on_failure="flag")
        m_lo = float(_min_shat_jit(jnp.asarray(a0 - _DALPHA), jnp.asarray(kq), n)[1])
        m_0 = float(np.asarray(fr.S_hat)[0])
        slope = (m_0 - m_lo) / _DALPHA
        shift = float(np.asarray(sol.S_hat)[0] - fr.S_hat[0])
        new_a.append(a0 - shift / slope if slope < 0 else a0)
        ok.append(bool(np.asarray(sol.converged)[0]) and slope < 0)
    shape = np.shape(free.alpha_U)
    out = _with(free, np.asarray(ok).reshape(shape), alpha_U=np.asarray(new_a).reshape(shape))
    return finish(out, on_failure, "local_entropy.dense_region_threshold(reference='solution')",
                  {"kappa": out.kappa}, "the constrained solve at (alpha_U, d*) did not converge")
