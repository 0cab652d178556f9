"""Benchmark: the binary perceptron's RS curve on a 1000-point alpha grid.

physlearn (one vmapped, compiled call; compile excluded by a warm-up on another grid) against a
plain NumPy/SciPy implementation of the same equations, written here: for each alpha, brentq on
the same log(1-q) residual, with the same split Gauss-Legendre quadrature evaluated in NumPy
(scipy.special.log_ndtr / erfcx for log H and G/H). Both must agree to 1e-8.

Contract: ``run() -> list[dict]`` and ``scaling() -> list[dict]`` (see ``run.py``); both time
through :func:`time_curve`.
"""

from __future__ import annotations

import math
import sys as _sys
from pathlib import Path as _Path

import numpy as np
from scipy import optimize, special

_sys.path.insert(0, str(_Path(__file__).resolve().parent))  # the shared helper, also when loaded by path
from _timing import timed, timed_few  # noqa: E402


# ------------------------------------------------------------------ plain NumPy/SciPy baseline
def _half_line(c, n=128):
    s, w = np.polynomial.legendre.leggauss(n)
    s, w = 0.5 * (s + 1), 0.5 * w
    c = max(c, -9.0)
    U = -c + math.sqrt(c * c + 80.0)
    z = c + U * s * s
    return z, w * 2 * U * s * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _split(f, c, n=128, width=None):
    zu, wu = _half_line(c, n)
    zl, wl = _half_line(-c, n)
    if width is not None:  # integrand supported within `width` of c (here c = 0)
        s, w = np.polynomial.legendre.leggauss(n)
        s, w = 0.5 * (s + 1), 0.5 * w
        U = min(math.sqrt(80.0), width)
        zu = U * s * s
        wu = w * 2 * U * s * np.exp(-zu * zu / 2) / math.sqrt(2 * math.pi)
        zl, wl = zu, wu
    return np.dot(wu, f(zu)) + np.dot(wl, f(-zl))


def _A(u):
    return math.sqrt(2 / math.pi) / special.erfcx(u / math.sqrt(2))


def numpy_binary_rs(alpha, kappa=0.0):
    def qhat(q):
        f = lambda z: _A((kappa - math.sqrt(q) * z) / math.sqrt(1 - q)) ** 2  # noqa: E731
        return alpha * _split(f, kappa / math.sqrt(q)) / (1 - q)

    def r(x):
        q = 1 / (1 + math.exp(-x))
        a = math.sqrt(qhat(q))
        sech2 = lambda z: 4 * np.exp(-2 * np.abs(a * z)) / (1 + np.exp(-2 * np.abs(a * z))) ** 2  # noqa: E731
        return math.log(_split(sech2, 0.0, width=40 / a)) - math.log1p(-q)

    x = optimize.brentq(r, -36, 36, xtol=1e-12)
    q = 1 / (1 + math.exp(-x))
    qh = qhat(q)
    E = _split(lambda z: special.log_ndtr(-(kappa - math.sqrt(q) * z) / math.sqrt(1 - q)), kappa / math.sqrt(q))
    a = math.sqrt(qh)
    S = _split(lambda z: np.logaddexp(a * z, -a * z), 0.0)
    return q, -qh * (1 - q) / 2 + S + alpha * E


def time_curve(points: int, baseline_points: int, *, rounds: int = 5) -> dict:
    """Time ``gardner.binary_rs`` on ``points`` alphas in [0.05, 1.2] (compile excluded: a warm-up
    on another grid of the same size; median of ``rounds`` rounds, at least 5) and the NumPy/SciPy
    baseline once on an evenly spread subset of about ``baseline_points`` of them, its time scaled
    to the full grid (its cost per point is flat in alpha); the two must agree to 1e-8 on the
    subset. Also returns the physlearn solution's bisection steps per point (for :func:`work`)."""
    from physlearn.theory import gardner

    alphas = np.linspace(0.05, 1.2, points)
    gardner.binary_rs(alphas + 1e-3)  # compile (same shape), excluded from the timing
    out = {}

    def curve():
        out["sol"] = gardner.binary_rs(alphas)

    t_pl = timed(curve, rounds=rounds, warmup=False)
    sol = out["sol"]
    sub = slice(None, None, max(1, points // baseline_points))
    numpy_binary_rs(0.5)  # warm-up (first-call costs of NumPy/SciPy), excluded
    base = []
    t_np_sub = timed_few(lambda: base.append([numpy_binary_rs(a) for a in alphas[sub]]), warmup=False)
    base = base[-1]
    qb = np.array([b[0] for b in base])
    sb = np.array([b[1] for b in base])
    err = max(np.max(np.abs(qb - sol.q[sub])), np.max(np.abs(sb - sol.entropy[sub])))
    if err > 1e-8:
        raise AssertionError(f"physlearn and the NumPy baseline disagree by {err:.3g}")
    scale = points / len(base)
    return dict(physlearn_s=t_pl.median, physlearn=t_pl, baseline_s=t_np_sub.median * scale,
                baseline=t_np_sub.scaled(scale), baseline_sub_s=t_np_sub.median, baseline_points=len(base),
                err=float(err), steps=np.asarray(sol.n_steps), points=points)


def work(steps, nodes: int = 2 * 128) -> dict:
    """The work of the binary RS curve, counted from the algorithm (``ceilings.floor_seconds``).

    Per alpha point, the bisection in logit q evaluates the residual ``steps`` times (the solver's
    own count, per point). Each evaluation: q_hat = alpha/(1-q) int Dz A(u)^2 on ``nodes`` nodes
    (one G/H per node: counted as one erfc, and ~10 ops), then 1 - q = int Dz sech^2(sqrt(q_hat) z)
    on a width-adapted rule of ``nodes`` nodes (the node weights' Gaussian: 1 exp; sech^2: 1 exp
    and ~8 ops). At the solution the entropy and the replicon add one pass of log H, A', log 2cosh
    and sech^4 over the nodes (erfc + log, erfc, exp + log, exp; ~40 ops). Everything is
    cache-resident (float64): no main-memory term."""
    steps = np.asarray(steps, dtype=float)
    evals = float(steps.sum())
    pts = steps.size
    return dict(
        dtype="float64",
        flops=nodes * (18 * evals + 40 * pts),
        bytes=0,
        transcendentals=dict(erfc=nodes * (evals + 2 * pts), exp=nodes * (2 * evals + 2 * pts),
                             log=nodes * 2 * pts),
    )


QUICK = dict(points=40, baseline_every=10)
"""``run(**QUICK)``: the smallest sizes, for ``run.py --quick`` (a check that everything runs)."""


def run(points: int = 1000, baseline_every: int = 10) -> list[dict]:
    # The baseline costs ~0.2 s per point: it is timed on every `baseline_every`-th point and its
    # time scaled to the full grid.
    r = time_curve(points, points // baseline_every)
    return [
        dict(
            workload=f"binary RS curve, {points} alpha points (kappa=0)",
            **r["physlearn"].as_row("physlearn"),
            **r["baseline"].as_row("baseline"),
            ratio=r["baseline_s"] / r["physlearn_s"],
            work=work(r["steps"]),
            notes=(
                f"max abs diff {r['err']:.1e}; {np.mean(r['steps']):.1f} bisection steps per point; baseline = "
                f"SciPy brentq per point, timed once on {r['baseline_points']} points ({r['baseline_sub_s']:.1f} s) "
                f"and scaled to {points}"
            ),
        )
    ]


def scaling(points=(100, 300, 1000), baseline_points: int = 20) -> list[dict]:
    """Time of the whole curve vs the number of alpha points. physlearn pads the grid to a power of
    two (one compilation per bucket), so its time is a step function of the number of points."""
    from physlearn.theory import gardner

    rs = [time_curve(p, baseline_points) for p in points]
    return [
        dict(
            workload="binary RS curve, alpha in [0.05, 1.2], kappa=0",
            variable="points",
            values=list(points),
            physlearn_s=[r["physlearn_s"] for r in rs],
            baseline_s=[r["baseline_s"] for r in rs],
            notes=(
                f"baseline timed on {baseline_points} points of each grid and scaled linearly (so its slope is 1 "
                f"by construction); physlearn pads the grid to {[gardner._bucket(p) for p in points]} points"
            ),
        )
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
