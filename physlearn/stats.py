r"""Uncertainties of measured results: the bootstrap over disorder instances.

A time-to-solution scaling claim ("replicated SA grows as :math:`N^{3.1}`, standard SA as
:math:`N^{4.3}`") comes from a median over a handful of random instances at a handful of sizes;
:func:`bootstrap_power_law` says how much the exponents move when the instances are resampled.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["PowerLawBootstrap", "bootstrap_power_law"]


@dataclasses.dataclass(frozen=True)
class PowerLawBootstrap:
    r"""Result of :func:`bootstrap_power_law` for ``K`` series (e.g. algorithms) at the same sizes.

    Attributes:
        exponent: ``(K,)`` power-law exponent :math:`b` of the fit :math:`\log t = a + b\log N` to
            the medians of the data as measured (NaN where fewer than ``min_sizes`` medians are
            finite).
        low, high: ``(K,)`` the equal-tailed bootstrap interval of :math:`b` at ``level``.
        median_low, median_high: ``(K, len(ns))`` the same interval for each median (``inf`` where
            more than half the resampled instances are unsolved).
        defined: ``(K,)`` fraction of resamples with at least ``min_sizes`` finite medians (the
            interval is over those).
        censored: ``(K,)`` fraction of resamples in which some size's median is infinite (over half
            its resampled instances unsolved) and that size is left out of the fit -- the fit then
            leans towards the smaller sizes, so a large value means the interval understates the
            growth.
        samples: ``(n_boot, K)`` the resampled exponents (NaN where undefined).
        level: the interval's coverage, e.g. 0.95.
    """

    exponent: np.ndarray
    low: np.ndarray
    high: np.ndarray
    median_low: np.ndarray
    median_high: np.ndarray
    defined: np.ndarray
    censored: np.ndarray
    samples: np.ndarray
    level: float

    def difference(self, i: int, j: int) -> tuple[float, float, float, float]:
        """Exponent ``i`` minus exponent ``j``: ``(estimate, low, high, P(difference > 0))`` over the
        paired resamples (both series resampled with the same instances)."""
        d = self.samples[:, i] - self.samples[:, j]
        d = d[np.isfinite(d)]
        est = float(self.exponent[i] - self.exponent[j])
        if d.size == 0:
            return est, float("nan"), float("nan"), float("nan")
        q = (1 - self.level) / 2
        return est, float(np.quantile(d, q)), float(np.quantile(d, 1 - q)), float(np.mean(d > 0))


def _slopes(x, logt, mask):
    """Least-squares slope of logt against x over the masked entries of each row."""
    w = mask.astype(float)
    cnt = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = (w * x).sum(-1) / cnt
        lt = np.where(mask, logt, 0.0)
        ym = (w * lt).sum(-1) / cnt
        dx = np.where(mask, x - xm[..., None], 0.0)
        return (dx * (lt - ym[..., None])).sum(-1) / (dx * dx).sum(-1)


def bootstrap_power_law(ns, times, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                        min_sizes: int = 3) -> PowerLawBootstrap:
    r"""Bootstrap over instances of the power-law exponent of a median time to solution.

    ``times``: ``(K, len(ns), S)`` per-instance times (e.g. attempted moves to a solution) of ``K``
    series at sizes ``ns``, ``S`` instances per size, ``inf`` for an instance not solved within the
    budget (it counts as slower than any solved one, so the median stays defined while fewer than
    half are unsolved). The same ``S`` instances are used by every series at a given size; the
    instances of different sizes are independent.

    The statistic, for each series: the median over instances at each size, then the least-squares
    fit :math:`\log t = a + b\log N` over the sizes whose median is finite (at least ``min_sizes``;
    PNAS 2016 Figs. 2 and 7 fit the same way). Each of ``n_boot`` resamples draws ``S`` instances
    with replacement at every size independently, the same draw for every series (so differences
    between series are paired), and recomputes the statistic. The interval is the equal-tailed
    percentile interval at ``level`` over the resamples where the fit is defined. The draws come
    from ``numpy.random.default_rng(seed)``: the result is reproducible.

    Returns a :class:`PowerLawBootstrap`. Raises ``ValueError`` for shapes that do not match,
    fewer than two instances, ``n_boot < 100`` or ``level`` outside (0, 1).
    """
    ns = np.asarray(ns, dtype=float)
    t = np.asarray(times, dtype=float)
    if ns.ndim != 1 or ns.size < 2 or not np.all(ns > 0):
        raise ValueError(f"ns must be a 1-D array of at least two positive sizes, got {ns!r}")
    if t.ndim != 3 or t.shape[1] != ns.size:
        raise ValueError(f"times must have shape (K, len(ns)={ns.size}, S), got {t.shape}")
    if t.shape[2] < 2:
        raise ValueError(f"times needs at least two instances per size, got {t.shape[2]}")
    if np.isnan(t).any() or (t <= 0).any():
        raise ValueError("times must be positive (inf for an unsolved instance), without NaN")
    if int(n_boot) < 100:
        raise ValueError(f"n_boot must be >= 100, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    min_sizes = max(2, int(min_sizes))
    K, L, S = t.shape
    x = np.log(ns)

    def exponents(med):  # med (..., K, L) -> (..., K)
        finite = np.isfinite(med)
        b = _slopes(x, np.log(np.where(finite, med, 1.0)), finite)
        return np.where(finite.sum(-1) >= min_sizes, b, np.nan)

    med0 = np.median(t, axis=2)  # (K, L)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, S, size=(int(n_boot), L, S))  # per resample, per size: instance indices
    res = np.take_along_axis(t[None], idx[:, None], axis=3)  # (B, K, L, S)
    med = np.median(res, axis=3)  # (B, K, L)
    b = exponents(med)  # (B, K)
    q = (1 - level) / 2
    low, high = np.full(K, np.nan), np.full(K, np.nan)
    for k in range(K):
        ok = np.isfinite(b[:, k])
        if ok.any():
            low[k], high[k] = np.quantile(b[ok, k], [q, 1 - q])
    return PowerLawBootstrap(
        exponent=exponents(med0),
        low=low,
        high=high,
        median_low=np.quantile(med, q, axis=0, method="inverted_cdf"),
        median_high=np.quantile(med, 1 - q, axis=0, method="inverted_cdf"),
        defined=np.isfinite(b).mean(axis=0),
        censored=(~np.isfinite(med)).any(axis=2).mean(axis=0),
        samples=b,
        level=float(level),
    )
