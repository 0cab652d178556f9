"""Benchmark: a 60-point Franz-Parisi curve V(d) and 60- and 200-point local-entropy curves S_I(d),
physlearn (JAX: one compiled continuation, Newton with autodiff Jacobians) against a plain
NumPy/SciPy implementation of the same equations written here (scipy.optimize.fsolve/brentq,
NumPy quadrature, a Python continuation loop). Compile time is excluded (warm-up call first).
The baseline doubles as an independent check: the two curves must agree.

Contract: ``run() -> list[dict]`` and ``scaling() -> list[dict]`` (local-entropy curve vs its number
of d points; see ``run.py``); the local-entropy timings of both go through :func:`time_le_curve`.

Run: ``PYTHONPATH=. python benchmarks/bench_theory_fp_le.py``.
"""

from __future__ import annotations

import inspect
import math
import sys as _sys
from pathlib import Path as _Path

import jax
import numpy as np
from scipy import optimize, special

_sys.path.insert(0, str(_Path(__file__).resolve().parent))  # the shared helper, also when loaded by path
from _timing import timed, timed_few  # noqa: E402

jax.config.update("jax_enable_x64", True)

from physlearn.theory import franz_parisi as fp  # noqa: E402
from physlearn.theory import local_entropy as le  # noqa: E402

ALPHA_FP = 0.6
ALPHA_LE = 0.6
N_FP, NX, NETA = fp.DEFAULT_NODES, fp.DEFAULT_NX, fp.DEFAULT_NETA
N_LE = inspect.signature(le.free_reference_rs).parameters["n"].default  # the solver's default nodes


# ------------------------------------------------------------------------------------------
# NumPy building blocks (independent of physlearn.numerics)
# ------------------------------------------------------------------------------------------
def log_H(x):
    return special.log_ndtr(-x)


def A_of(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = math.sqrt(2 / math.pi) / special.erfcx(x[pos] / math.sqrt(2))
    xn = x[~pos]
    out[~pos] = np.exp(-0.5 * xn**2 - 0.5 * math.log(2 * math.pi) - special.log_ndtr(-xn))
    return out


def A_prime(x):
    a = A_of(x)
    return a * (a - x)


def log2cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2 * ax))


def half_line(c, n, width=np.inf):
    s, w = np.polynomial.legendre.leggauss(n)
    s, w = 0.5 * (s + 1), 0.5 * w
    U = min(-c + np.sqrt(c * c + 80.0), width)
    u = U * s * s
    z = c + u
    return z, w * 2 * U * s * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def split_rule(c, n, width=np.inf):
    zu, wu = half_line(c, n, width)
    zl, wl = half_line(-c, n, width)
    return np.concatenate([zu, -zl]), np.concatenate([wu, wl])


def truncated(c, n):
    s, w = np.polynomial.legendre.leggauss(n)
    s, w = 0.5 * (s + 1), 0.5 * w
    U = -c[:, None] + np.sqrt(c[:, None] ** 2 + 80.0)
    u = U * s * s
    lw = np.log(w * s) - c[:, None] * u - 0.5 * u * u
    lw -= lw.max(axis=1, keepdims=True)
    ww = np.exp(lw)
    return c[:, None] + u, ww / ww.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------
# Baseline: Gardner RS + Franz-Parisi (Huang & Kabashima 2014)
# ------------------------------------------------------------------------------------------
def gardner_rs(alpha, n):
    def qhat(q):
        zz, ww = split_rule(0.0, n)
        u = -np.sqrt(q) * zz / np.sqrt(1 - q)
        return alpha * np.sum(ww * A_of(u) ** 2) / (1 - q)

    def r(lq):
        q = 1 / (1 + np.exp(-lq))
        a = np.sqrt(qhat(q))
        z, w = split_rule(0.0, n, 40.0 / a)
        sech2 = np.exp(2 * (math.log(2) - log2cosh(a * z)))
        return np.log(np.sum(w * sech2)) - np.log1p(-q)

    lq = optimize.brentq(r, -25, 25, xtol=1e-14)
    q = 1 / (1 + np.exp(-lq))
    return q, qhat(q)


def fp_equations(theta, alpha, p, qr, qhr, n, nx, neta):
    q, t, ph, qh, th = theta
    z0, w0 = split_rule(0.0, n)
    eta, we = special.roots_hermitenorm(neta)
    we = we / math.sqrt(2 * math.pi)
    weight = w0 * (1 + np.tanh(np.sqrt(qhr) * z0))
    vs = np.sqrt(max(qh - th * th / qhr, 1e-13))
    B = (th / np.sqrt(qhr)) * z0[:, None] + vs * eta[None, :] + (ph - th)
    W = weight[:, None] * we[None, :]
    m = np.tanh(B)
    sech2 = np.exp(2 * (math.log(2) - log2cosh(B)))
    Em, Esech2, Emz = np.sum(W * m), np.sum(W * sech2), np.sum(W * m * z0[:, None])
    sq, sr = np.sqrt(qr), np.sqrt(1 - qr)
    c0, c1 = t / sq, (p - t) / sr
    v = np.sqrt(max(q - c0 * c0 - c1 * c1, 1e-13))
    s1 = np.sqrt(1 - q)
    xs, wx = truncated(-sq * z0 / sr, nx)
    u = (-c0 * z0[:, None, None] - c1 * xs[:, :, None] - v * eta[None, None, :]) / s1
    WE = w0[:, None, None] * wx[:, :, None] * we[None, None, :]
    A = A_of(u)
    Ap = A * (A - u)
    lever = z0[:, None, None] / sq - xs[:, :, None] / sr
    qh_new = alpha * np.sum(WE * A * A) / (1 - q)
    th_new = -(alpha / s1) * (np.sum(WE * A * lever) + (c0 / sq - c1 / sr) * np.sum(WE * Ap) / s1)
    t_new = Em + (th / qhr) * Esech2 - Emz / np.sqrt(qhr)
    sc = 1 + abs(qh)
    res = np.array([Em - p, (1 - q) - Esech2, t_new - t, (qh_new - qh) / sc, (th_new - th) / sc])
    V = -ph * p + th * t - 0.5 * qh * (1 - q) + np.sum(W * log2cosh(B)) + alpha * np.sum(WE * log_H(u))
    return res, V


def baseline_fp_curve(alpha, d):
    qr, qhr = gardner_rs(alpha, N_FP)
    d_typ = 0.5 * (1 - qr)
    x = np.array([np.log1p(-qr), qr, qhr, np.log(qhr), qhr])

    def unpack(x):
        return np.array([-np.expm1(x[0]), x[1], x[2], np.exp(x[3]), x[4]])

    out = {}
    for dd in sorted(d, reverse=True):  # continuation from d_typ downwards
        assert dd <= d_typ
        p = 1 - 2 * dd
        f = lambda x: fp_equations(unpack(x), alpha, p, qr, qhr, N_FP, NX, NETA)[0]  # noqa: E731
        sol, info, ier, _ = optimize.fsolve(f, x, full_output=True, xtol=1e-12)
        ok = ier == 1 and np.abs(info["fvec"]).max() < 1e-8
        if ok:
            x = sol
        out[dd] = (fp_equations(unpack(sol), alpha, p, qr, qhr, N_FP, NX, NETA)[1], ok)
    return np.array([out[dd][0] for dd in d]), np.array([out[dd][1] for dd in d]), d_typ


# ------------------------------------------------------------------------------------------
# Baseline: y -> inf local entropy, free reference (Baldassi et al. 2015/2016)
# ------------------------------------------------------------------------------------------
def h_root(B, D):
    aB = np.abs(B)
    h = aB + D
    for _ in range(60):
        t = np.tanh(h)
        h = h - (h - D * t - aB) / (1 - D * (1 - t * t))
    return np.sign(B) * h


def u_root(c, K):
    u = c.copy()
    for _ in range(60):
        u = u - (u + K * A_of(u) - c) / (1 + K * A_prime(u))
    return u


def le_parts(theta, alpha, n):
    q1, dq, q1h, dqh, sh = theta
    zs, ws = half_line(0.0, n)
    h = h_root(np.sqrt(q1h) * zs + sh, dqh)
    m = np.tanh(h)
    K = dq / (1 - q1)
    z, w = split_rule(0.0, n)
    u = u_root(-np.sqrt(q1) * z / np.sqrt(1 - q1), K)
    A = A_of(u)
    Ap = A * (A - u)
    return dict(
        m1=2 * np.sum(ws * m), m2=2 * np.sum(ws * m * m), mz=2 * np.sum(ws * m * zs),
        gs=2 * np.sum(ws * (-0.5 * dqh * m * m + log2cosh(h))),
        ge=np.sum(w * (-0.5 * K * A * A + log_H(u))),
        q1h=alpha * np.sum(w * A * A) / (1 - q1),
        dqh=alpha * np.sum(w * K * Ap * Ap / (1 + K * Ap)) / (1 - q1),
    )


def le_residual(theta, alpha, S, n):
    q1, dq, q1h, dqh, sh = theta
    P = le_parts(theta, alpha, n)
    return np.array([P["m1"] - S, P["m2"] - q1, (P["mz"] / np.sqrt(q1h) - (1 - q1)) / dq - 1,
                     P["q1h"] / q1h - 1, P["dqh"] / dqh - 1])


def le_value(theta, alpha, S, n):
    q1, dq, q1h, dqh, sh = theta
    P = le_parts(theta, alpha, n)
    return -sh * S - 0.5 * q1h * (1 - q1) - 0.5 * (dqh * q1 + q1h * dq) + P["gs"] + alpha * P["ge"]


def le_cold_start(alpha, d, n):
    S = 1 - 2 * d
    zs, ws = half_line(0.0, n)
    y = np.array([np.log(S * S / (1 - S * S)), 0.0])
    for _ in range(3000):
        q1, dq = 1 / (1 + np.exp(-y[0])), np.exp(y[1])
        P = le_parts(np.array([q1, dq, 1.0, 1.0, 0.0]), alpha, n)
        q1h, dqh = P["q1h"], P["dqh"]

        def mom(s):
            return 2 * np.sum(ws * np.tanh(h_root(np.sqrt(q1h) * zs + s, dqh))) - S

        sh = optimize.brentq(mom, -50, 50, xtol=1e-14)
        m = np.tanh(h_root(np.sqrt(q1h) * zs + sh, dqh))
        m2, mz = 2 * np.sum(ws * m * m), 2 * np.sum(ws * m * zs)
        y_new = np.array([np.log(m2 / (1 - m2)), np.log(max(mz / np.sqrt(q1h) - (1 - q1), 1e-12))])
        if np.abs(y_new - y).max() < 1e-9:
            break
        y = 0.5 * y + 0.5 * y_new
    return np.array([q1, dq, q1h, dqh, sh])


def baseline_le_curve(alpha, d, d_start=0.1):
    theta0 = le_cold_start(alpha, d_start, N_LE)

    def to_x(t):
        return np.array([np.log(t[0] / (1 - t[0])), np.log(t[1]), np.log(t[2]), np.log(t[3]), t[4]])

    def to_t(x):
        return np.array([1 / (1 + np.exp(-x[0])), np.exp(x[1]), np.exp(x[2]), np.exp(x[3]), x[4]])

    out = {}
    for branch in (sorted([x for x in d if x <= d_start], reverse=True), sorted([x for x in d if x > d_start])):
        x = to_x(theta0)
        for dd in branch:
            S = 1 - 2 * dd
            sol, info, ier, _ = optimize.fsolve(lambda x: le_residual(to_t(x), alpha, S, N_LE), x,
                                                full_output=True, xtol=1e-12)
            ok = ier == 1 and np.abs(info["fvec"]).max() < 1e-8
            if ok:
                x = sol
            out[dd] = (le_value(to_t(sol), alpha, S, N_LE), ok)
    return np.array([out[dd][0] for dd in d]), np.array([out[dd][1] for dd in d])


# ------------------------------------------------------------------------------------------
# Work counts (for the floor; ceilings.floor_seconds)
# ------------------------------------------------------------------------------------------
def inner_iterations(theta, alpha, n, tol=1e-15):
    """Newton iterations the two inner root solves of the local-entropy functional need at
    ``theta`` (the most over the quadrature nodes) when stopped at relative change ``tol``: what
    a convergence-checked inner solve costs (``physlearn.theory._envelopes.h_of``/``u_of`` stop at a
    step below 1e-13 (1 + |x|), at most 60)."""
    q1, dq, q1h, dqh, sh = theta
    zs, _ = half_line(0.0, n)
    B = np.sqrt(q1h) * zs + sh
    aB, h = np.abs(B), np.abs(B) + dqh
    k_h = 0
    for k_h in range(1, 61):
        t = np.tanh(h)
        step = (h - dqh * t - aB) / (1 - dqh * (1 - t * t))
        h = h - step
        if np.all(np.abs(step) <= tol * np.maximum(1.0, np.abs(h))):
            break
    K = dq / (1 - q1)
    z, _ = split_rule(0.0, n)
    c = -np.sqrt(q1) * z / np.sqrt(1 - q1)
    u = c.copy()
    k_u = 0
    for k_u in range(1, 61):
        step = (u + K * A_of(u) - c) / (1 + K * A_prime(u))
        u = u - step
        if np.all(np.abs(step) <= tol * np.maximum(1.0, np.abs(u))):
            break
    return k_h, k_u


def work_fp(steps, n=N_FP, nx=NX, neta=NETA) -> dict:
    """The work of the Franz--Parisi curve, counted from the algorithm.

    Per d, the solver's Newton ``steps`` (its own count). Each step evaluates the five equations
    and their 5 x 5 Jacobian (forward mode: the value and five tangents). The energetic triple
    integral has 2 n nx neta nodes and depends on the order parameters through (q, t) only: A(u)
    per node (one erfc-class evaluation; A' from it by arithmetic), ~30 ops for the value and ~15
    for each of the two tangents in (q, t) (the five columns of the Jacobian are combinations of
    those two); the truncated rule in x needs one exp per (z, x) node pair; the entropic double
    integral has 2 n neta nodes: tanh and the log-cosh terms (tanh, exp, log) and ~20 ops per
    value and each of five tangents. At the solution, V(d) adds one pass of log H (erfc + log)
    over the energetic nodes. Cache-resident (float64)."""
    steps = np.asarray(steps, dtype=float)
    ev, pts = float(steps.sum()), steps.size
    ne, nz, ns = 2 * n * nx * neta, 2 * n * nx, 2 * n * neta
    return dict(
        dtype="float64",
        flops=ev * (ne * (30 + 2 * 15) + ns * 6 * 20) + pts * ne * 10,
        bytes=0,
        transcendentals=dict(erfc=ev * ne + pts * ne, exp=ev * (nz + ns), tanh=ev * ns, log=ev * ns + pts * ne),
    )


def work_le(steps, k_h, k_u, n=N_LE) -> dict:
    """The work of the local-entropy curve (y = inf, free reference, RS), counted from the
    algorithm.

    Per d, the solver's Newton ``steps``; each evaluates the functional's parts and their
    Jacobian (five tangents). Entropic part, n nodes on the half line: the inner root
    h - dq_hat tanh h = |B| by ``k_h`` Newton iterations (1 tanh, ~8 ops each), then m = tanh h and
    log 2cosh h (exp, log) and ~20 ops per value and tangent (implicit differentiation of the
    root). Energetic part, 2 n nodes: the inner root u + K A(u) = c by ``k_u`` iterations (one
    erfc-class evaluation, ~15 ops each), then log H(u) (erfc + log) and ~20 ops per value and
    tangent. ``k_h``, ``k_u``: the iterations a convergence-checked inner Newton needs
    (:func:`inner_iterations`). Cache-resident (float64)."""
    steps = np.asarray(steps, dtype=float)
    ev = float(steps.sum())
    ns, ne = n, 2 * n
    return dict(
        dtype="float64",
        flops=ev * (ns * (8 * k_h + 6 * 20) + ne * (15 * k_u + 6 * 20)),
        bytes=0,
        transcendentals=dict(tanh=ev * ns * (k_h + 1), exp=ev * ns, log=ev * (ns + ne), erfc=ev * ne * (k_u + 1)),
    )


# ------------------------------------------------------------------------------------------
_LE_TIMES: dict[int, dict] = {}  # points -> result of time_le_curve, reused by scaling() after run()


def time_le_curve(points: int, repeat: int = 5) -> dict:
    """Time ``local_entropy.binary`` (y=inf, free reference, RS) at alpha=0.6 on ``points`` values
    of d, geometric in [0.005, 0.15] (compile excluded: a warm-up call on the same grid; median of
    ``repeat`` rounds, at least 5), and the SciPy baseline once on the same grid; the curves must
    agree to 1e-7. The result is remembered per ``points`` (this process), so ``scaling()`` reuses
    the measurements of ``run()``. Returns ``dict(physlearn_s, baseline_s, err, physlearn,
    baseline, steps, inner)``."""
    if points in _LE_TIMES:
        return _LE_TIMES[points]
    d_le = np.geomspace(0.005, 0.15, points)
    le.binary(ALPHA_LE, d_le)  # compile
    out = {}
    t_pl = timed(lambda: out.__setitem__("r", le.binary(ALPHA_LE, d_le)), rounds=repeat, warmup=False)
    r = out["r"]
    t_bl = timed_few(lambda: out.__setitem__("b", baseline_le_curve(ALPHA_LE, d_le)), warmup=False)
    s_bl, ok_bl = out["b"]
    assert r.converged.all() and ok_bl.all()
    ds = float(np.abs(r.entropy - s_bl).max())
    assert ds < 1e-7, ds
    mid = points // 2
    theta = np.array([r.q1[mid], r.dq[mid], r.q1_hat[mid], r.dq_hat[mid], r.S_hat[mid]], dtype=float)
    _LE_TIMES[points] = dict(physlearn_s=t_pl.median, baseline_s=t_bl.median, err=ds, physlearn=t_pl, baseline=t_bl,
                             steps=np.asarray(r.n_steps), inner=inner_iterations(theta, ALPHA_LE, N_LE))
    return _LE_TIMES[points]


QUICK = dict(fp_points=20, le_points=(20,))
"""``run(**QUICK)``: the smallest sizes, for ``run.py --quick`` (a check that everything runs)."""


def run(fp_points: int = 60, le_points=(60, 200)) -> list[dict]:
    rows = []
    # --- Franz-Parisi, fp_points from d_typ down to near the end of the RS branch --------------
    qr = fp.binary(ALPHA_FP, 0.1).q_ref  # warm-up + d_typ
    d_typ = 0.5 * (1 - float(qr))
    d_fp = np.linspace(0.005, d_typ * (1 - 1e-9), fp_points)
    fp.binary(ALPHA_FP, d_fp)  # compile for this shape
    out = {}
    t_pl = timed(lambda: out.__setitem__("r", fp.binary(ALPHA_FP, d_fp)), warmup=False)
    r = out["r"]
    t_bl = timed_few(lambda: out.__setitem__("b", baseline_fp_curve(ALPHA_FP, d_fp)), warmup=False)
    v_bl, ok_bl, _ = out["b"]
    assert r.converged.all() and ok_bl.all()
    dv = np.abs(r.entropy - v_bl).max()
    assert dv < 1e-7, dv
    rows.append(dict(workload=f"franz_parisi.binary alpha={ALPHA_FP}, {fp_points} d in [0.005, d_typ]",
                     **t_pl.as_row("physlearn"), **t_bl.as_row("baseline"), ratio=t_bl.median / t_pl.median,
                     work=work_fp(r.n_steps),
                     notes=f"max |V_physlearn - V_scipy| = {dv:.1e}; nodes {2 * N_FP}x{NX}x{NETA}; "
                           f"{np.mean(r.n_steps):.1f} Newton steps per d; baseline timed once"))
    # --- local entropy, 60 points and the 200-point curve of the issue ---------------------------
    for points in le_points:
        r = time_le_curve(points)
        k_h, k_u = r["inner"]
        rows.append(dict(workload=f"local_entropy.binary (y=inf, free, RS) alpha={ALPHA_LE}, {points} d in [0.005, 0.15]",
                         **r["physlearn"].as_row("physlearn"), **r["baseline"].as_row("baseline"),
                         ratio=r["baseline_s"] / r["physlearn_s"], work=work_le(r["steps"], k_h, k_u),
                         notes=f"max |S_I physlearn - S_I scipy| = {r['err']:.1e}; {2 * N_LE} nodes; "
                               f"{np.mean(r['steps']):.1f} Newton steps per d; floor with convergence-checked inner "
                               f"solves ({k_h} and {k_u} iterations at the middle point, as physlearn's); baseline timed once"))
    return rows


def scaling(points=(20, 60, 200)) -> list[dict]:
    """Time of the whole local-entropy curve vs its number of d points (both sides are a
    continuation in d, so the cost grows with the number of points). Points already measured by
    ``run()`` in this process are reused; the others are timed once."""
    rs = [time_le_curve(p) for p in points]
    return [
        dict(workload=f"local_entropy.binary (y=inf, free, RS) alpha={ALPHA_LE}, d in [0.005, 0.15] (geometric)",
             variable="points", values=list(points), physlearn_s=[r["physlearn_s"] for r in rs],
             baseline_s=[r["baseline_s"] for r in rs],
             notes="physlearn: one compiled continuation per grid (compile excluded); baseline: fsolve per point"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
