"""Benchmark: focusing-BP sweeps, physlearn (JAX) vs a plain NumPy implementation.

Workload: one parallel fBP sweep (every first-layer factor, every output node, every focusing
message; damping 0.5) at fixed (gamma, y), on

* the perceptron, N = 1001, M = 601 (alpha = 0.6) -- the size the issue fixes;
* a fully connected committee machine, K = 5, N = 321, M = 482 (alpha = 0.3);
* a batch of 8 perceptron instances at N = 1001, M = 601 (physlearn vmaps; NumPy loops).

``numpy_sweep`` below is written for this benchmark: the same equations as
``physlearn.algorithms.fbp`` (fields, CLT first layer with the same erfc/log form, exact output
node, focusing messages), vectorised over patterns and weights with NumPy/SciPy in float64, as a
researcher would write it. physlearn runs in its default float32 and in float64 (both reported).
Time per sweep per edge = time / (M K N). Compile time excluded (warm-up call, then
``block_until_ready``).

Contract: ``run() -> list[dict]`` with keys workload, physlearn_s, baseline_s, ratio, notes, and
``scaling() -> list[dict]`` (see ``run.py``); both time through :func:`time_sweep`.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sp
import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parent))  # the shared helper, also when loaded by path
from _timing import best_time  # noqa: E402

FIELD_MAX = 30.0


# ------------------------------------------------------------------------------------------------
# Plain NumPy fBP parallel sweep (one instance)
# ------------------------------------------------------------------------------------------------
def _l(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax))


def _prod_field(g, x):
    if np.isinf(g):
        return x
    return 0.5 * (_l(g + x) - _l(g - x))


def _log_agree(a_h, x):
    c = sp.erfc(np.abs(x))
    big = 2.0 - c
    pos = x >= 0
    p_e = np.where(pos, big, c)
    q_e = np.where(pos, c, big)
    total = 0.5 * (sp.expit(2.0 * a_h) * p_e + sp.expit(-2.0 * a_h) * q_e)
    return np.log(np.maximum(total, np.finfo(float).tiny))


def _atanh_erf(x):
    ax = np.minimum(np.abs(x), 25.0)
    c = sp.erfc(ax)
    return np.sign(x) * 0.5 * (np.log(2.0 - c) - np.log(c))


def _output(up, sigma):
    M, K = up.shape
    if K == 1:
        return np.broadcast_to(FIELD_MAX * sigma[:, None], up.shape).copy()
    p = sp.expit(2.0 * up)
    dist = np.zeros((M, K, K))
    dist[..., 0] = 1.0
    for j in range(K):
        pj = p[:, j][:, None, None]
        shifted = np.concatenate([np.zeros_like(dist[..., :1]), dist[..., :-1]], axis=-1)
        new = dist * (1.0 - pj) + shifted * pj
        new[:, j, :] = dist[:, j, :]
        dist = new
    half = (K - 1) // 2
    p_m = dist[..., :half].sum(-1)
    p_z = dist[..., half]
    p_p = dist[..., half + 1 :].sum(-1)
    s = sigma[:, None]
    num = np.where(s > 0, p_p + p_z, p_m)
    den = np.where(s > 0, p_p, p_m + p_z)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 0.5 * (np.log(num) - np.log(den))
    f = np.where(p_z > 0, f, 0.0)
    return np.clip(np.nan_to_num(f, nan=0.0), -FIELD_MAX, FIELD_MAX)


def _focusing(hx, g, r):
    if r == 0 or g == 0:
        return np.zeros_like(hx)
    a = _prod_field(g, hx)
    ra = np.sign(a) * 60.0 if np.isinf(r) else np.clip(r * np.clip(a, -60, 60), -60, 60)
    return np.clip(_prod_field(g, ra), -FIELD_MAX, FIELD_MAX)


def numpy_sweep(uw, up, down, ux, xi, sigma, g, r, lam):
    """One damped parallel sweep; ``uw (M,K,N)``, ``up, down (M,K)``, ``ux (K,N)``, ``xi (M,K|1,N)``.
    Returns the new messages and the largest magnetization change."""
    mw = ux + uw.sum(0)
    h = mw[None] - uw
    e = np.exp(-2.0 * np.abs(h))
    inv1 = 1.0 / (1.0 + e)
    m = np.sign(h) * (1.0 - e) * inv1
    v = 4.0 * e * inv1 * inv1
    xm = xi * m
    mu = xm.sum(-1)
    s2 = v.sum(-1)
    tiny = 1e-150
    arg = mu / np.sqrt(2.0 * np.maximum(s2, tiny))
    up_new = np.clip(_atanh_erf(np.clip(arg, -12, 12)), -FIELD_MAX, FIELD_MAX)
    mub = mu[..., None] - xm
    inv = 1.0 / np.sqrt(2.0 * np.maximum(s2[..., None] - v, tiny))
    ah = down[..., None]
    u_new = np.clip(0.5 * (_log_agree(ah, (mub + xi) * inv) - _log_agree(ah, (mub - xi) * inv)), -FIELD_MAX, FIELD_MAX)
    uw2 = (1 - lam) * u_new + lam * uw
    up2 = (1 - lam) * up_new + lam * up
    down_new = _output(up2, sigma)
    down2 = (1 - lam) * down_new + lam * down
    mw2 = ux + uw2.sum(0)
    ux_new = _focusing(mw2 - ux, g, r)
    ux2 = (1 - lam) * ux_new + lam * ux
    diff = max(np.abs(np.tanh(u_new) - np.tanh(uw)).max(), np.abs(np.tanh(down_new) - np.tanh(down)).max(),
               np.abs(np.tanh(ux_new) - np.tanh(ux)).max())
    return uw2, up2, down2, ux2, diff


# ------------------------------------------------------------------------------------------------
G, Y, LAM = 0.6, 5.0, 0.5


def time_sweep(arch: str, n: int, k: int, alpha: float, samples: int | None, *, dtypes=("float32", "float64"),
               calls: int = 10, repeats: int = 3, np_calls: int = 3, np_repeats: int = 3, check: bool = True) -> dict:
    """Seconds per parallel fBP sweep at fixed (gamma, y) = (0.6, 5), damping 0.5, on
    ``random_patterns(n, alpha, k, arch, samples)``: physlearn (jitted; vmapped over samples when
    ``samples`` is not None) in each of ``dtypes``, after 5 untimed sweeps so that the messages are
    not all near zero, and the NumPy float64 baseline (a Python loop over samples) from the same
    messages. ``check``: one float64 sweep on both sides from the same messages (single instance
    only), max |u_jax - u_numpy| reported. Returns ``dict(m, edges, times={dtype: s}, numpy_s,
    agree)``."""
    import jax
    import jax.numpy as jnp

    from physlearn.algorithms import fbp, problems, schedules

    prob = problems.random_patterns(jax.random.key(3), n, alpha, k=k, architecture=arch, samples=samples)
    times = {}
    for dname in dtypes:
        dt = jnp.dtype(dname)
        algo, _, _ = fbp._build(schedules.table([G]), Y, LAM, 1e-3, 0.1, 1, None, "parallel", dt)

        def one(key, p):
            s = algo.init(key, p)
            xi = fbp._inputs(p, dt)
            sig = p.labels.astype(dt)
            return s, xi, sig

        def sweep(s, xi, sig):
            return algo._sweep_parallel(None, s, xi, sig, jnp.asarray(G, dt), jnp.asarray(Y - 1.0, dt))

        if samples is None:
            s, xi, sig = one(jax.random.key(0), prob)
            f = jax.jit(sweep)
        else:
            keys = jax.random.split(jax.random.key(0), samples)
            s, xi, sig = jax.vmap(one)(keys, prob)
            f = jax.jit(jax.vmap(sweep))
        for _ in range(5):  # a few sweeps first so that messages are not all near zero
            s, _ = f(s, xi, sig)
        state = {"s": s}

        def step():
            state["s"], d = f(state["s"], xi, sig)
            jax.block_until_ready(d)

        times[dname] = best_time(step, calls=calls, repeats=repeats)
    # NumPy baseline from the last warmed-up messages (float64)
    s = state["s"]
    xi_np = np.asarray(xi, dtype=np.float64)
    sig_np = np.asarray(sig, dtype=np.float64)
    msgs = [np.asarray(a, dtype=np.float64) for a in (s.uw, s.up, s.down, s.ux)]
    if samples is None:
        def np_step():
            numpy_sweep(*msgs, xi_np, sig_np, G, Y - 1.0, LAM)
    else:
        def np_step():
            for i in range(samples):
                numpy_sweep(*[a[i] for a in msgs], xi_np[i], sig_np[i], G, Y - 1.0, LAM)
    t_np = best_time(np_step, calls=np_calls, repeats=np_repeats)
    agree = float("nan")
    if check and samples is None:  # one sweep on both sides from the same float64 messages
        algo64, _, _ = fbp._build(schedules.table([G]), Y, LAM, 1e-3, 0.1, 1, None, "parallel", jnp.float64)
        st = fbp.FBPState(*[jnp.asarray(a) for a in msgs], jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
        sj, _ = algo64._sweep_parallel(None, st, jnp.asarray(xi_np), jnp.asarray(sig_np), jnp.float64(G), jnp.float64(Y - 1))
        ref = numpy_sweep(*msgs, xi_np, sig_np, G, Y - 1.0, LAM)
        agree = float(np.max(np.abs(np.asarray(sj.uw) - ref[0])))
    return dict(m=prob.m, edges=prob.m * k * n, times=times, numpy_s=t_np, agree=agree)


def run():
    rows = []
    cases = [("perceptron", 1001, 1, 0.6, None), ("committee", 321, 5, 0.3, None), ("perceptron", 1001, 1, 0.6, 8)]
    for arch, n, k, alpha, samples in cases:
        r = time_sweep(arch, n, k, alpha, samples)
        times, t_np = r["times"], r["numpy_s"]
        label = f"fBP sweep, {arch} K={k}, N={n}, M={r['m']}" + (f", {samples} samples" if samples else "")
        note = (
            f"{times['float32'] / (r['edges'] * (samples or 1)) * 1e9:.2f} ns/edge (f32); "
            f"float64: {times['float64'] * 1e3:.1f} ms, {t_np / times['float64']:.1f}x"
        )
        if r["agree"] == r["agree"]:
            note += f"; max |u_jax - u_numpy| = {r['agree']:.1e} (f64)"
        rows.append({
            "workload": label,
            "physlearn_s": times["float32"],
            "baseline_s": t_np,
            "ratio": t_np / times["float32"],
            "notes": note,
        })
    return rows


def scaling(ns=(251, 501, 1001, 2001), samples=(1, 4, 16), alpha: float = 0.6, n_samples: int = 1001) -> list[dict]:
    """Seconds per sweep (physlearn float32, NumPy float64) of the perceptron vs N (one instance,
    alpha fixed, so the work M*N grows as N^2) and vs the number of samples at N=n_samples (physlearn
    vmapped, NumPy looping)."""
    kw = dict(dtypes=("float32",), calls=5, repeats=2, np_calls=1, np_repeats=2, check=False)
    by_n = [time_sweep("perceptron", n, 1, alpha, None, **kw) for n in ns]
    by_s = [time_sweep("perceptron", n_samples, 1, alpha, s, **kw) for s in samples]
    return [
        dict(workload=f"fBP sweep, perceptron alpha={alpha}, one instance", variable="N", values=list(ns),
             physlearn_s=[r["times"]["float32"] for r in by_n], baseline_s=[r["numpy_s"] for r in by_n],
             notes="M = round(alpha N): the work per sweep M*N grows as N^2; physlearn float32, NumPy float64"),
        dict(workload=f"fBP sweep, perceptron N={n_samples}, alpha={alpha}", variable="samples", values=list(samples),
             physlearn_s=[r["times"]["float32"] for r in by_s], baseline_s=[r["numpy_s"] for r in by_s],
             notes="physlearn vmapped over samples, NumPy loops over them; physlearn float32, NumPy float64"),
    ]


if __name__ == "__main__":
    import jax

    jax.config.update("jax_enable_x64", True)
    for r in run():
        print(r)
