r"""Stable special functions and Gaussian quadrature for replica computations.

Notation (Engel & Van den Broeck, *Statistical Mechanics of Learning*, 2001):

.. math::

    Dz = \frac{e^{-z^2/2}}{\sqrt{2\pi}}\,dz, \qquad G(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}, \qquad
    H(x) = \int_x^\infty Dz = \tfrac12\operatorname{erfc}(x/\sqrt2),

and the inverse Mills ratio :math:`A(x) = G(x)/H(x) = -\frac{d}{dx}\log H(x)` (``GH``).

Why not ``jax.scipy.special``: in float64 its ``erfcx`` returns 0 on an interval near 26.6,
``ndtr``/``erfc`` lose all relative accuracy in the far tail and ``log_ndtr`` is off by up to
25 % in ``log H(x)`` for ``x`` near -15 (measured against mpmath at 50 digits). Every function
here is instead built on one accurate kernel, the scaled complementary error function
``erfcx(t) = exp(t^2) erfc(t)`` for ``t >= 0``: a piecewise Chebyshev interpolant on [0, 10]
(fitted once, at import, to SciPy's Faddeeva-based ``erfcx``, itself accurate to ~1e-15) and its
asymptotic series beyond. All public functions carry hand-written JVPs so that gradients are
finite and correct on the whole real line (tested to :math:`|x| = 10^4`) and never form ``G/H`` or
``log(erfc)`` naively.

Quadrature: :func:`gauss_expect` (Gauss--Hermite with the probabilists' weight), its nested form
:func:`gauss_expect2`, and :func:`gauss_expect_split` for integrands with a kink or a sharp
crossover at a known point (the regime ``q -> 1`` of every replica computation).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special as _sp

__all__ = [
    "log_count_distribution",
    "erfcx",
    "erfc",
    "erf",
    "log_erfc",
    "H",
    "log_H",
    "G",
    "GH",
    "GH_prime",
    "GH_minus_x",
    "log2cosh",
    "sech2",
    "atanh_erf",
    "atanh_erf_fused",
    "gauss_hermite",
    "gauss_expect",
    "gauss_expect2",
    "half_line_rule",
    "gauss_expect_split",
]

_SQRT2 = math.sqrt(2.0)
_SQRTPI = math.sqrt(math.pi)
_LOG2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

# --------------------------------------------------------------------------------------------
# The kernel: erfcx(t) and 1 - sqrt(pi) t erfcx(t) for t >= 0, straight-line.
# --------------------------------------------------------------------------------------------
# With y = (t - k)/(t + k), which maps [0, inf] onto [-1, 1], and kr = k/(t + k):
#
#     erfcx(t)                   = kr   * S(y),   S(-1) = 1,  S(1) = 1/(k sqrt(pi)),
#     phi(t) = 1 - sqrt(pi) t erfcx(t) = kr^2 * P(y),   P(-1) = 1,  P(1) = 1/(2 k^2),
#
# where S and P are smooth on [-1, 1] (their only non-analytic point is y = 1, where both have
# asymptotic expansions in powers of 1 - y), so that truncated Chebyshev series reach double
# precision with 26 and 28 terms at k = 3. They are evaluated as polynomials in y (the exact
# monomial form of the truncated series, by Estrin's scheme: its short dependency chains run
# about 3x faster than Clenshaw's recurrence; the monomial coefficients are well conditioned,
# sum |a_j| ~ 1). One division, two polynomials and no branch: XLA fuses every function below
# into one element-wise loop (no while loop, no table gather).
# phi carries the cancellation-free tail quantities: A(x) - x, A'(x) and erfcx'(t) are all
# multiples of it. The coefficients are exact Chebyshev projections of S and P computed with
# mpmath at 40 digits (``_fit_kernel``; ``tests/test_numerics.py`` refits and compares).
_KERNEL_K = 3.0
_KERNEL_S = (
    0.4711460746602906, -0.37715894969156577, 0.11803603344749546, -0.028362346699695153,
    0.004871757757605546, -0.00045985238787654427, -2.143022238105315e-05, 1.301447369924135e-05,
    -8.809283582853514e-07, -2.7464800479702846e-07, 4.415991899223785e-08, 6.398408385575483e-09,
    -1.6768357212484645e-09, -1.9473354700890025e-10, 6.247441303469389e-11, 8.124557552244496e-12,
    -2.330314613222566e-12, -4.191038539225333e-13, 8.19333526881303e-14, 2.3352472107929263e-14,
    -2.2442585649165363e-15, -1.2811435298050507e-15, 1.1054582965396302e-18, 6.44579513564904e-17,
    6.525175975538486e-18, -2.679550553424818e-18,
)
_KERNEL_P = (
    0.3518399237750042, -0.4253182894264585, 0.16761710816008904, -0.04625341360241223,
    0.00842196361761083, -0.000682780695328601, -0.00010063304025706085, 3.325072601542953e-05,
    -6.723483099404804e-07, -1.0206910965869577e-06, 9.194911263340677e-08, 3.2647015263484854e-08,
    -4.516372557110954e-09, -1.2328951771322142e-09, 1.8760912118003376e-10, 5.562247265509372e-11,
    -6.895459359013047e-12, -2.826357479893966e-12, 1.8636534873020903e-13, 1.4933422113951445e-13,
    1.2328842434430545e-15, -7.586114875569702e-15, -7.468914703190313e-16, 3.354903415668114e-16,
    7.71699372546332e-17, -9.98252977252102e-18, -5.663037762046873e-18, -1.563075477503177e-19,
)


def _fit_kernel(k=_KERNEL_K, terms_s=len(_KERNEL_S), terms_p=len(_KERNEL_P), nodes=128, dps=40):
    """Chebyshev coefficients of S and P (see above) on ``nodes + 1`` Chebyshev--Lobatto points,
    evaluated with mpmath at ``dps`` digits (mpmath is a test dependency, imported here only).
    How ``_KERNEL_S`` and ``_KERNEL_P`` were made; returns them as two tuples of floats."""
    import mpmath as mp

    with mp.workdps(dps):
        k, sqpi = mp.mpf(k), mp.sqrt(mp.pi)
        s_vals, p_vals = [], []
        for j in range(nodes + 1):
            y = mp.cos(mp.pi * j / nodes)
            if j == 0:  # y = 1, t = inf
                s_vals.append(1 / (k * sqpi))
                p_vals.append(1 / (2 * k * k))
                continue
            t = k * (1 + y) / (1 - y)
            e = mp.exp(t * t) * mp.erfc(t)
            s_vals.append(e * (t + k) / k)
            p_vals.append((1 - sqpi * t * e) * ((t + k) / k) ** 2)

        def project(vals, terms):
            out = []
            for m in range(terms):
                s = sum(v * mp.cos(mp.pi * m * j / nodes) * (0.5 if j in (0, nodes) else 1) for j, v in enumerate(vals))
                out.append(float(2 * s / nodes / (2 if m == 0 else 1)))
            return tuple(out)

        return project(s_vals, terms_s), project(p_vals, terms_p)


@functools.lru_cache(maxsize=None)
def _terms_for(dtype, which: str) -> tuple:
    """The coefficients needed at ``dtype``'s precision: the series is cut where the tail left
    out is below 1/20 of an ulp of its smallest value (all terms in float64, 14/15 in float32)."""
    coef = _KERNEL_S if which == "S" else _KERNEL_P
    smallest = 1.0 / (_KERNEL_K * _SQRTPI) if which == "S" else 1.0 / (2.0 * _KERNEL_K**2)
    budget = 0.05 * float(jnp.finfo(dtype).eps) * smallest
    n = len(coef)
    while n > 1 and sum(abs(c) for c in coef[n - 1 :]) <= budget:
        n -= 1
    return coef[:n]


@functools.lru_cache(maxsize=None)
def _monomial(dtype, which: str) -> tuple:
    """Monomial coefficients of the truncated Chebyshev series (exact rational conversion of the
    float coefficients, rounded once)."""
    coef = _terms_for(dtype, which)
    cheb = [[1], [0, 1]]  # integer coefficients of T_m
    while len(cheb) < len(coef):
        a, b = cheb[-1], cheb[-2]
        cheb.append([(2 * a[j - 1] if j else 0) - (b[j] if j < len(b) else 0) for j in range(len(a) + 1)])
    out = [Fraction(0)] * len(coef)
    for c, t in zip(coef, cheb):
        for j, tj in enumerate(t):
            out[j] += Fraction(c) * tj
    return tuple(float(v) for v in out)


def _polyval(x, coef):
    """sum_j coef[j] x^j by Estrin's scheme (pairs, then pairs of pairs with x^2, x^4, ...): the
    same work as Horner's rule with a dependency chain of log2(len) multiply-adds instead of
    len. ``coef`` is a static tuple."""
    terms, power = list(coef), x
    while len(terms) > 1:
        if len(terms) % 2:
            terms.append(0.0)
        terms = [terms[2 * i] + terms[2 * i + 1] * power for i in range(len(terms) // 2)]
        if len(terms) > 1:
            power = power * power
    return terms[0]


def _kernel(t, tail: bool = False):
    """For t >= 0 (``inf`` allowed): ``(kr, S)`` with erfcx(t) = kr S, and with ``tail`` also P,
    with 1 - sqrt(pi) t erfcx(t) = kr^2 P (see the comment above ``_KERNEL_K``)."""
    # a quotient used once (XLA materialises a division with several users outside the fusion)
    kr = _KERNEL_K * (1.0 / (t + _KERNEL_K))
    y = 1.0 - 2.0 * kr
    s = _polyval(y, _monomial(t.dtype, "S"))
    if not tail:
        return kr, s
    return kr, s, _polyval(y, _monomial(t.dtype, "P"))


_SQUARE_CLAMP = 64.0  # exp(-64^2/2) = 0 and exp(64^2) = inf in every float type


def _square(ax):
    """``(p, e)`` with p = fl(a^2) and p + e = a^2 exactly, a = min(|x|, 64) (Veltkamp's split; the
    rounding of x^2 otherwise costs a relative error x^2 ulp in exp(+-x^2)). e = 0 for dtypes
    narrower than float32."""
    a = jnp.minimum(ax, _SQUARE_CLAMP)
    p = a * a
    bits = jnp.finfo(a.dtype).nmant + 1
    if bits < 24:
        return p, jnp.zeros_like(p)
    c = float(2 ** ((bits + 1) // 2) + 1) * a
    hi = c - (c - a)
    lo = a - hi
    return p, ((hi * hi - p) + 2.0 * hi * lo) + lo * lo


def _exp_neg_square(ax, scale):
    """exp(-scale x^2) for scale in {1, 1/2}, with x^2 carried exactly (see :func:`_square`)."""
    p, e = _square(ax)
    return jnp.exp(-scale * p) * (1.0 - scale * e)


def _float(x):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


# --------------------------------------------------------------------------------------------
# Logarithms that vectorise
# --------------------------------------------------------------------------------------------
# XLA on CPU lowers a float64 log or log1p to one scalar libm call per element (about 2.5 and
# 8 ns per element against 0.6 for exp, which it expands inline), and its float64 log1p is off
# by up to 3e-14 relative for arguments in (-0.415, -0.36). The float64 logarithm below is made
# of element-wise arithmetic only: x = 2^k m with m in [sqrt(1/2), sqrt(2)) read from the bits,
# f = m - 1 (exact), s = f/(2 + f), and log(1 + f) = 2 atanh(s) = f - s (f - R), where
# R = 2 s^2/3 + 2 s^4/5 + ... (ten terms reach 1e-17 for s^2 <= 0.0295); k log 2 is added in two
# parts so that k ln2_hi is exact. Within 1.5 ulp of the exact value (tested against mpmath;
# XLA's own float64 log1p is off by up to 128 ulp). Other float types use XLA's (vectorised) log.
_LN2_HI = 6.93147180369123816490e-01  # log 2 rounded to 32 significant bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # log 2 - _LN2_HI
_ATANH_SERIES = tuple(2.0 / (2 * n + 1) for n in range(1, 11))


def _is_f64(x):
    return x.dtype == jnp.float64


def _log_kernel(v, c=None):
    """log(v + c) for finite normal v > 0 and |c| <= ulp(v) (``c`` = a rounding error carried
    along; ``None`` for 0), float64."""
    bits = jax.lax.bitcast_convert_type(v, jnp.int64)
    # high word shifted so that the exponent field counts from sqrt(1/2), not from 1
    hi = (bits >> 32).astype(jnp.int32) + (0x3FF00000 - 0x3FE6A09E)
    k = (hi >> 20) - 1023
    hi = (hi & 0x000FFFFF) + 0x3FE6A09E
    m = jax.lax.bitcast_convert_type((hi.astype(jnp.int64) << 32) | (bits & 0xFFFFFFFF), jnp.float64)
    f = m - 1.0
    # one use of the quotient only: XLA keeps a division with several users out of the fusion
    s = f * (1.0 / (2.0 + f))
    w = s * s
    r = _polyval(w, _ATANH_SERIES)
    lead = f
    if c is not None:
        # log(m + c 2^-k) = log m + c 2^-k / m + ...; 1/m = 1 - f + f^2 - ... to 7 % is enough
        two_to_minus_k = jax.lax.bitcast_convert_type((1023 - k).astype(jnp.int64) << 52, jnp.float64)
        lead = f + (c * two_to_minus_k) * (1.0 - f * (1.0 - f))
    kf = k.astype(jnp.float64)
    return kf * _LN2_HI + ((lead - s * (f - r * w)) + kf * _LN2_LO)


def _log(x):
    """Natural logarithm; float64 by element-wise arithmetic (see above), with log(0) = -inf,
    log(inf) = inf and NaN below 0. As everywhere in XLA on CPU, subnormals count as 0."""
    if not _is_f64(x):
        return jnp.log(x)
    tiny = float(jnp.finfo(jnp.float64).tiny)
    out = _log_kernel(jnp.clip(x, tiny, float(jnp.finfo(jnp.float64).max)))
    out = jnp.where(x >= tiny, out, jnp.where(x >= 0, -jnp.inf, jnp.nan))
    return jnp.where(x <= float(jnp.finfo(jnp.float64).max), out, x)  # inf and NaN pass through


def _log1p(u):
    """log(1 + u) for -1 < u <= 4 (what this module needs): log of the rounded 1 + u with its
    rounding error (Knuth's two-sum) carried into the kernel."""
    if not _is_f64(u):
        return jnp.log1p(u)
    v, c = _one_plus(u)
    return _log_kernel(v, c)


def _one_plus(u):
    """``(v, c)`` with v = fl(1 + u) and v + c = 1 + u exactly (Knuth's two-sum), for u > -1.
    The maximum (v > 0 in any case) hides the sum from XLA's algebraic simplifier, which would
    otherwise rewrite (1 + u) - 1 as u and lose c."""
    v = jnp.maximum(1.0 + u, float(jnp.finfo(u.dtype).tiny))
    b = v - 1.0
    return v, (1.0 - (v - b)) + (u - b)


def _log_select(use_v, v, u):
    """One logarithm for two branches: log(v) where ``use_v``, else log(1 + u) (as :func:`_log1p`,
    for -1 < u <= 4). Only float64 shares the kernel; other types take both XLA logs."""
    if not _is_f64(v):
        return jnp.where(use_v, jnp.log(v), jnp.log1p(u))
    w, c = _one_plus(u)
    return _log_kernel(jnp.where(use_v, v, w), jnp.where(use_v, 0.0, c))


def _nan_through(x, y):
    """``y`` with NaN wherever ``x`` is NaN (the bit-level kernels would otherwise map NaN to a
    number)."""
    return jnp.where(jnp.isnan(x), x, y)


# --------------------------------------------------------------------------------------------
# Error functions
# --------------------------------------------------------------------------------------------
@jax.custom_jvp
def erfcx(x):
    r"""Scaled complementary error function :math:`\operatorname{erfcx}(x) = e^{x^2}\operatorname{erfc}(x)`.

    Relative accuracy ~1e-15 on the whole line (against mpmath; ``exp(x^2)`` for :math:`x<0` is
    formed with :math:`x^2` carried exactly, so it is also accurate where SciPy's is not);
    overflows to ``inf`` for :math:`x \lesssim -26.6` (where the true value exceeds the float64
    range). Derivative :math:`2x\,\operatorname{erfcx}(x) - 2/\sqrt\pi`, computed without the
    cancellation of that difference at large :math:`x`.
    """
    x = _float(x)
    ax = jnp.abs(x)
    kr, s = _kernel(ax)
    pos = kr * s
    p, e = _square(ax)
    neg = 2.0 * (jnp.exp(p) * (1.0 + e)) - pos
    return jnp.where(x >= 0, pos, neg)


@erfcx.defjvp
def _erfcx_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = erfcx(x)
    x = _float(x)
    kr, _, p = _kernel(jnp.abs(x), tail=True)
    # x >= 0: 2x erfcx(x) - 2/sqrt(pi) = -(2/sqrt(pi)) (1 - sqrt(pi) x erfcx(x)) = -(2/sqrt(pi)) kr^2 P
    d = jnp.where(x >= 0, -(2.0 / _SQRTPI) * (kr * kr * p), 2.0 * x * y - 2.0 / _SQRTPI)
    return y, d * dx


def _erfc_nonneg(t):
    """erfc(t) for t >= 0, relative accuracy in the far tail."""
    kr, s = _kernel(t)
    return _exp_neg_square(t, 1.0) * (kr * s)


_ERF_SERIES = tuple((-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(13))


def _erf_series(x):
    """erf(x) by its Maclaurin series (a polynomial in x^2); accurate for |x| <= 0.5 (13 terms in
    float64: the first left out is below 1e-19 relative)."""
    u = x * x
    coef = _ERF_SERIES if jnp.finfo(x.dtype).eps < 1e-10 else _ERF_SERIES[:7]
    return (2.0 / _SQRTPI) * x * _polyval(u, coef)


@jax.custom_jvp
def erfc(x):
    r"""Complementary error function with full relative accuracy in the right tail."""
    x = _float(x)
    c = _erfc_nonneg(jnp.abs(x))
    return jnp.where(x >= 0, c, 2.0 - c)


@erfc.defjvp
def _erfc_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = _float(x)
    return erfc(x), -(2.0 / _SQRTPI) * _exp_neg_square(jnp.abs(x), 1.0) * dx


@jax.custom_jvp
def erf(x):
    r"""Error function, accurate in relative terms near 0 and near :math:`\pm 1`."""
    x = _float(x)
    ax = jnp.abs(x)
    big = jnp.sign(x) * (1.0 - _erfc_nonneg(ax))
    small = _erf_series(jnp.clip(x, -0.5, 0.5))
    return jnp.where(ax < 0.5, small, big)


@erf.defjvp
def _erf_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = _float(x)
    return erf(x), (2.0 / _SQRTPI) * _exp_neg_square(jnp.abs(x), 1.0) * dx


# --------------------------------------------------------------------------------------------
# Gaussian tail H, log H and the inverse Mills ratio A = G/H
# --------------------------------------------------------------------------------------------
def G(x):
    r"""Standard Gaussian density :math:`G(x) = e^{-x^2/2}/\sqrt{2\pi}`."""
    x = _float(x)
    # the constant is applied after exp: exp(-x^2/2 - c) would round the exponent, costing a
    # relative error of x^2 ulp (4e-14 at |x| = 35)
    return _exp_neg_square(jnp.abs(x), 0.5) * (1.0 / math.sqrt(2.0 * math.pi))


def _tail_parts(ax):
    """For |x|: ``(g, kr, s)`` with g = exp(-x^2/2) and erfcx(|x|/sqrt 2) = kr s, so that
    H(|x|) = g kr s / 2 and G(x) = g / sqrt(2 pi)."""
    kr, s = _kernel(ax * (1.0 / _SQRT2))
    return _exp_neg_square(ax, 0.5), kr, s


def _H_upper(ax):
    """H(|x|) for |x| >= 0, relative accuracy in the far tail."""
    g, kr, s = _tail_parts(ax)
    return 0.5 * g * (kr * s)


@jax.custom_jvp
def H(x):
    r"""Gaussian tail :math:`H(x) = \int_x^\infty Dz = \tfrac12\operatorname{erfc}(x/\sqrt2)`.

    Gardner (1988); relative accuracy ~1e-15 for all :math:`x`, with :math:`H'(x) = -G(x)`.
    """
    x = _float(x)
    up = _H_upper(jnp.abs(x))
    return jnp.where(x >= 0, up, 1.0 - up)


@H.defjvp
def _H_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return H(x), -G(x) * dx


@jax.custom_jvp
def log_H(x):
    r""":math:`\log H(x)` without underflow: :math:`-x^2/2 + \log(\operatorname{erfcx}(x/\sqrt2)/2)`
    for :math:`x \ge 0` and :math:`\operatorname{log1p}(-H(-x))` for :math:`x<0`.

    Derivative :math:`-A(x) = -G(x)/H(x)` (stable, see :func:`GH`). Finite for :math:`|x|` up to ~1e150.
    """
    x = _float(x)
    ax = jnp.abs(x)
    g, kr, s = _tail_parts(ax)
    e = kr * s  # erfcx(|x|/sqrt 2) in (0, 1]
    pos = x >= 0
    lg = _log_select(pos, e, -0.5 * g * e)
    return _nan_through(x, jnp.where(pos, lg - 0.5 * ax * ax - _LOG2, lg))


@log_H.defjvp
def _log_H_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return log_H(x), -GH(x) * dx


def _gh_raw(x):
    ax = jnp.abs(x)
    kr, s = _kernel(ax * (1.0 / _SQRT2))
    pos = _SQRT_2_OVER_PI / (kr * s)
    # x < 0: G/(1 - H(|x|)) = (1/sqrt(2 pi)) / (exp(x^2/2) - erfcx(|x|/sqrt 2)/2), one exp
    p, e = _square(ax)
    neg = (1.0 / math.sqrt(2.0 * math.pi)) / (jnp.exp(0.5 * p) * (1.0 + 0.5 * e) - 0.5 * (kr * s))
    return jnp.where(x >= 0, pos, neg)


def _gh_minus_x_raw(x):
    ax = jnp.abs(x)
    kr, s, p = _kernel(ax * (1.0 / _SQRT2), tail=True)
    # x >= 0, t = x/sqrt 2: A - x = sqrt(2/pi) (1 - sqrt(pi) t erfcx(t)) / erfcx(t) = sqrt(2/pi) kr P / S
    pos = _SQRT_2_OVER_PI * kr * p / s
    return jnp.where(x >= 0, pos, _gh_raw(x) + ax)


@jax.custom_jvp
def GH(x):
    r"""Inverse Mills ratio :math:`A(x) = G(x)/H(x) = -(\log H)'(x)`.

    Computed as :math:`\sqrt{2/\pi}/\operatorname{erfcx}(x/\sqrt2)` for :math:`x\ge0` (never as a
    ratio of underflowing numbers). :math:`A(x)\sim x` as :math:`x\to\infty`,
    :math:`A(x)\sim G(x)` as :math:`x\to-\infty`. Derivative :func:`GH_prime`.
    """
    return _gh_raw(_float(x))


@GH.defjvp
def _GH_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    a = GH(x)
    return a, a * GH_minus_x(x) * dx


@jax.custom_jvp
def GH_minus_x(x):
    r""":math:`A(x) - x`, without the cancellation of the naive difference at large :math:`x`:
    for :math:`x\ge0` it is :math:`\sqrt{2/\pi}\,\varphi(t)/\operatorname{erfcx}(t)` with
    :math:`t = x/\sqrt2` and :math:`\varphi(t) = 1-\sqrt\pi\,t\operatorname{erfcx}(t)` evaluated
    from its own expansion. Positive for all x; :math:`\sim 1/x` as :math:`x\to\infty`."""
    return _gh_minus_x_raw(_float(x))


@GH_minus_x.defjvp
def _GH_minus_x_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = GH_minus_x(x)
    return y, (GH(x) * y - 1.0) * dx


def GH_prime(x):
    r"""Derivative of the inverse Mills ratio, :math:`A'(x) = A(x)\,(A(x) - x) \in (0, 1)`.

    Equivalently :math:`-(\log H)''(x)`; it tends to 1 as :math:`x \to \infty` and to 0 as
    :math:`x\to-\infty`.
    """
    return GH(x) * GH_minus_x(x)


@jax.custom_jvp
def log_erfc(x):
    r""":math:`\log\operatorname{erfc}(x)`, stable for all x: :math:`-x^2 + \log\operatorname{erfcx}(x)`
    for :math:`x\ge1/2`, :math:`\operatorname{log1p}(1-\operatorname{erfc}|x|)` for
    :math:`x\le-1/2` and :math:`\log(1-\operatorname{erf}x)` in between (relative accuracy
    near 0 too). Derivative :math:`-2/(\sqrt\pi\operatorname{erfcx}(x))`."""
    x = _float(x)
    ax = jnp.abs(x)
    kr, s = _kernel(ax)
    e = kr * s  # erfcx(|x|)
    pos = x >= 0.5
    # x <= -1/2: log(2 - erfc|x|) = log1p(1 - erfc|x|); |x| < 1/2: log1p(-erf x), erf x from its
    # series (log 2 + log1p(-erfc|x|/2) would cancel near 0)
    u = jnp.where(ax < 0.5, -_erf_series(jnp.clip(x, -0.5, 0.5)), 1.0 - _exp_neg_square(ax, 1.0) * e)
    lg = _log_select(pos, e, u)
    return _nan_through(x, jnp.where(pos, lg - ax * ax, lg))


@log_erfc.defjvp
def _log_erfc_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return log_erfc(x), -(2.0 / _SQRTPI) / erfcx(x) * dx


# --------------------------------------------------------------------------------------------
# Hyperbolic helpers
# --------------------------------------------------------------------------------------------
@jax.custom_jvp
def log2cosh(x):
    r""":math:`\log(2\cosh x) = |x| + \operatorname{log1p}(e^{-2|x|})`; derivative :math:`\tanh x`."""
    x = _float(x)
    ax = jnp.abs(x)
    return _nan_through(x, ax + _log1p(jnp.exp(-2.0 * ax)))


@log2cosh.defjvp
def _log2cosh_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return log2cosh(x), jnp.tanh(_float(x)) * dx


@jax.custom_jvp
def sech2(x):
    r""":math:`\operatorname{sech}^2 x = 4t/(1+t)^2` with :math:`t = e^{-2|x|}`: one exponential,
    no cancellation (``1 - tanh(x)**2`` loses all relative accuracy for :math:`|x| \gtrsim 3`),
    no overflow, 0 only where :math:`e^{-2|x|}` underflows. Derivative :math:`-2\operatorname{sech}^2
    x\,\tanh x` (also at :math:`x = 0`, where the ``|x|`` form alone would give the wrong second
    derivative). Relative error a few ulps (float64 and float32); NaN passes through."""
    x = _float(x)
    t = jnp.exp(-2.0 * jnp.abs(x))
    return 4.0 * t / ((1.0 + t) * (1.0 + t))


@sech2.defjvp
def _sech2_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    s = sech2(x)
    return s, -2.0 * s * jnp.tanh(_float(x)) * dx


@jax.custom_jvp
def atanh_erf(x):
    r""":math:`\operatorname{atanh}(\operatorname{erf} x)`, finite for all x (grows like
    :math:`x^2`): :math:`\tfrac12[\log(2-\operatorname{erfc}|x|) - \log\operatorname{erfc}|x|]`.

    Appears as the cavity field of a binary unit fed by a Gaussian (BP on binary networks,
    Braunstein & Zecchina 2006; Baldassi et al. 2016). Derivative
    :math:`\frac{2}{\sqrt\pi}\,\frac{1}{\operatorname{erfcx}(|x|)\,(2-\operatorname{erfc}|x|)}`.
    """
    x = _float(x)
    ax = jnp.abs(x)
    kr, s = _kernel(ax)
    ek = kr * s  # erfcx(|x|)
    c = _exp_neg_square(ax, 1.0) * ek
    e = _erf_series(jnp.clip(ax, 0.0, 0.5))
    small = ax < 0.5
    # |x| < 1/2: log1p(2 erf/(1 - erf)); beyond: log((2 - erfc)/erfcx) + x^2 = log((2 - erfc)/erfc)
    lg = _log_select(~small, (2.0 - c) * (1.0 / ek), (2.0 * e) * (1.0 / (1.0 - e)))
    return _nan_through(x, jnp.sign(x) * (0.5 * jnp.where(small, lg, lg + ax * ax)))


@atanh_erf.defjvp
def _atanh_erf_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    x = _float(x)
    ax = jnp.abs(x)
    kr, s = _kernel(ax)
    d = (2.0 / _SQRTPI) / ((kr * s) * (2.0 - _exp_neg_square(ax, 1.0) * (kr * s)))
    return atanh_erf(x), d * dx


def atanh_erf_fused(x):
    r""":math:`\operatorname{atanh}(\operatorname{erf} x)` from element-wise primitives only, for
    message passing on large arrays.

    :func:`atanh_erf` is accurate to ~1e-13 but its Chebyshev kernel runs a loop per element,
    which XLA cannot fuse: on a (601, 1001) float32 array it takes ~300 ms against ~3 ms here.
    This version uses ``lax.erf``/``lax.erfc`` (XLA's rational approximations, relative error
    ~2e-15 in float64 for :math:`|x| \le 26`, ~1e-5 in float32 for :math:`|x| \le 8`) in the
    bulk and the asymptotic series

    .. math:: \log\operatorname{erfc} x = -x^2 - \log(x\sqrt\pi)
              + \log\big(1 - \tfrac1{2x^2} + \tfrac3{4x^4} - \tfrac{15}{8x^6}
              + \tfrac{105}{16x^8}\big) + O(x^{-10})

    beyond :math:`|x| = 6` (float32) or :math:`25` (float64), so it is finite for all finite
    ``x`` (grows like :math:`x^2`). Measured against :func:`atanh_erf`: relative error below
    1e-14 in float64 and 1e-6 in float32 on :math:`|x| \le 10^3` (``tests/test_numerics.py``).
    Its derivative is left to autodiff (use :func:`atanh_erf` where gradients matter).
    """
    x = _float(x)
    ax = jnp.abs(x)
    t = 6.0 if x.dtype == jnp.float32 or x.dtype == jnp.float16 or x.dtype == jnp.bfloat16 else 25.0
    e = jax.lax.erf(jnp.minimum(ax, 1.0))
    small = 0.5 * jnp.log1p(2.0 * e / (1.0 - e))
    c = jax.lax.erfc(jnp.clip(ax, 1.0, t))
    mid = 0.5 * (jnp.log1p(-0.5 * c) + _LOG2 - jnp.log(c))
    al = jnp.maximum(ax, t)
    u = 1.0 / (al * al)
    series = 1.0 + u * (-0.5 + u * (0.75 + u * (-1.875 + u * 6.5625)))
    log_erfc_tail = -al * al - jnp.log(al * _SQRTPI) + jnp.log(series)
    large = 0.5 * (_LOG2 - log_erfc_tail)
    return jnp.sign(x) * jnp.where(ax < 1.0, small, jnp.where(ax < t, mid, large))


# --------------------------------------------------------------------------------------------
# Gaussian quadrature
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and weights for :math:`\int Dz\, f(z) \approx \sum_i w_i f(z_i)` (probabilists'
    Hermite; the weights sum to 1). Cached float64 NumPy arrays (read-only); stable for n in the
    thousands (``scipy.special.roots_hermitenorm``)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"n (number of quadrature nodes) must be >= 1, got {n}")
    z, w = _sp.roots_hermitenorm(n)
    w = w / math.sqrt(2.0 * math.pi)
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w


@functools.lru_cache(maxsize=None)
def _gauss_legendre01(n: int) -> tuple[np.ndarray, np.ndarray]:
    s, w = np.polynomial.legendre.leggauss(int(n))
    s, w = 0.5 * (s + 1.0), 0.5 * w
    s.setflags(write=False)
    w.setflags(write=False)
    return s, w


def _weighted_sum(weights, values):
    # a multiply-and-sum over the node axis, not a tensordot: under vmap (a grid of parameter
    # points, each with its own nodes) a dot becomes a batched dot_general of 1 x n by n x 1
    # products, which XLA:CPU runs ~2x slower than the fused reduction (docs/performance.md)
    def one(v):
        return jnp.sum(weights.reshape(weights.shape + (1,) * (v.ndim - 1)) * v, axis=0)

    return jax.tree_util.tree_map(one, values)


def _nodes_like(arr, like=None):
    dtype = jnp.result_type(float) if like is None else jnp.result_type(like, float)
    return jnp.asarray(arr, dtype=dtype)


def gauss_expect(f, n: int = 101, *, dtype=None):
    r""":math:`\int Dz\, f(z)` by ``n``-point Gauss--Hermite quadrature.

    ``f`` maps a scalar ``z`` to a pytree of arrays; it is ``vmap``-ed over the nodes, so it may
    close over traced values and the whole call composes with ``jit``/``vmap``/``grad``. Exact for
    polynomials of degree ``< 2n``; for integrands with a kink use :func:`gauss_expect_split`.
    """
    z, w = gauss_hermite(n)
    z = _nodes_like(z, dtype)
    w = _nodes_like(w, dtype)
    return _weighted_sum(w, jax.vmap(f)(z))


def gauss_expect2(f, n1: int = 61, n2: int | None = None, *, dtype=None):
    r""":math:`\int Dz_1 Dz_2\, f(z_1, z_2)` by a tensor Gauss--Hermite rule (``n1`` x ``n2``)."""
    n2 = n1 if n2 is None else n2
    return gauss_expect(lambda z1: gauss_expect(lambda z2: f(z1, z2), n2, dtype=dtype), n1, dtype=dtype)


_HALF_LINE_CUT = 9.0


def half_line_rule(c, n: int = 96, width=None):
    r"""Nodes and weights for :math:`\int_c^\infty Dz\, g(z) \approx \sum_j w_j\, g(z_j)`.

    With :math:`z = c + u`, :math:`u = U s^2`, :math:`s\in(0,1)` Gauss--Legendre and
    :math:`U = -c + \sqrt{c^2+80}` (beyond which the Gaussian mass is below :math:`e^{-40}`). The
    quadratic map clusters nodes at the edge :math:`z=c`, which resolves a crossover of width
    :math:`\ll 1` there (e.g. :math:`\sqrt{1-q}` in Gardner integrals as :math:`q\to1`); it also
    follows the mass when it sits within :math:`1/c` of the edge (:math:`c \gg 1`). ``c`` may be
    traced; nodes and weights are differentiable in ``c``.

    ``width`` (optional, may be traced) caps :math:`U`: use it when the *integrand* itself is
    supported within ``width`` of the edge (e.g. :math:`\operatorname{sech}^2(\sqrt{\hat q}z)` with
    width :math:`\sim 40/\sqrt{\hat q}`), so that the nodes resolve it however narrow it is.
    """
    c = _float(c)
    s, ws = _gauss_legendre01(n)
    s = jnp.asarray(s, dtype=c.dtype)
    ws = jnp.asarray(ws, dtype=c.dtype)
    # An edge far left of the bulk: integrate from -9 instead (the mass left out is
    # Phi(-9) ~ 1e-19), otherwise the nodes would be spread over [c, |c|] and miss the bulk.
    c = jnp.maximum(c, -_HALF_LINE_CUT)
    U = -c + jnp.sqrt(c * c + 80.0)
    if width is not None:
        U = jnp.minimum(U, width)
    u = U * s * s
    z = c + u
    w = ws * 2.0 * U * s * G(z)
    return z, w


def gauss_expect_split(f, c=0.0, n: int = 96, width=None):
    r""":math:`\int Dz\, f(z)` for integrands with a kink or a sharp crossover at :math:`z = c`:
    the line is split at ``c`` and each half integrated with :func:`half_line_rule`
    (``2n`` evaluations of ``f``). ``c`` may be traced (e.g. :math:`\kappa/\sqrt q`). ``width``:
    see :func:`half_line_rule` (for integrands that vanish beyond ``width`` of ``c``)."""
    zu, wu = half_line_rule(c, n, width)
    zl, wl = half_line_rule(-_float(c), n, width)
    # one vmapped call on both halves: ``f`` is traced (and compiled) once, not twice
    vals = jax.vmap(f)(jnp.concatenate([zu, -zl]))
    upper = _weighted_sum(wu, jax.tree_util.tree_map(lambda v: v[:n], vals))
    lower = _weighted_sum(wl, jax.tree_util.tree_map(lambda v: v[n:], vals))
    return jax.tree_util.tree_map(jnp.add, upper, lower)


def log_count_distribution(log_p, log_q):
    r"""Log-distribution of the number of successes of independent trials: ``log_p[..., l]`` and
    ``log_q[..., l]`` are the log-probabilities of success and failure of trial ``l`` (last axis,
    K trials); returns ``L[..., k]`` :math:`=\log P(\#\text{successes}=k)`, ``(..., K+1)``, by the
    dynamic programme over the trials in log space (exact, :math:`O(K^2)`; e.g. the vote count of
    a committee machine's hidden units). Composable (jit, vmap, grad)."""
    K = log_p.shape[-1]
    lead = log_p.shape[:-1]
    neg = jnp.asarray(-1e30, log_p.dtype)  # log 0, finite so that gradients stay finite
    L = jnp.concatenate([jnp.zeros(lead + (1,), log_p.dtype), jnp.full(lead + (K,), neg)], axis=-1)
    pad = jnp.full(lead + (1,), neg)
    for k in range(K):
        shifted = jnp.concatenate([pad, L[..., :-1]], axis=-1)
        L = jnp.logaddexp(L + log_q[..., k : k + 1], shifted + log_p[..., k : k + 1])
    return L


# Public special functions are jitted: eager calls then run one cached executable instead of
# re-tracing their internal loops op by op (and they remain differentiable and vmappable).
erfcx = jax.jit(erfcx)
erfc = jax.jit(erfc)
erf = jax.jit(erf)
G = jax.jit(G)
H = jax.jit(H)
log_H = jax.jit(log_H)
GH = jax.jit(GH)
GH_minus_x = jax.jit(GH_minus_x)
GH_prime = jax.jit(GH_prime)
log_erfc = jax.jit(log_erfc)
log2cosh = jax.jit(log2cosh)
sech2 = jax.jit(sech2)
atanh_erf = jax.jit(atanh_erf)
