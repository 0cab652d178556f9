"""Benchmark: one zero-temperature BP sweep on random K-SAT, physlearn (JAX) vs plain NumPy.

Workload: the damped parallel sweep of ``physlearn.algorithms.ksat.bp.sweep`` (every clause reads
the cavity fields of its K variables, the messages w = log(1 - delta) are updated with exact
leave-one-out sums, and one segment sum gives the new variable fields) on

* random 4-SAT, N = 20000, alpha = 9.5 (E = M K = 760000 edges), one instance;
* random 3-SAT, N = 20000, alpha = 4.0 (E = 240000), one instance;
* random 4-SAT, N = 5000, alpha = 9.5, a batch of 8 instances (physlearn vmaps; NumPy loops).

``numpy_sweep`` is the same sweep written with NumPy as a researcher would (fancy indexing,
``np.logaddexp``, ``np.bincount`` for the segment sum), float32 like physlearn's default.

Also measured and reported in the notes: the factor-graph layout behind the choice in
``physlearn.algorithms.ksat.instances`` -- the variable sums as (a) an unsorted
``jax.ops.segment_sum`` (what physlearn uses), (b) a segment sum over edges sorted by variable and
(c) a gather from a padded ``(N, d_max)`` table -- and the sweep's bytes-moved floor: the bytes a
sweep cannot avoid (read and write w, read the clause indices and signs, the field vectors:
``13 E + 8 N`` bytes in float32) divided by the memory bandwidth of a large NumPy copy measured in
the same process.

Contract: ``run() -> list[dict]`` and ``scaling() -> list[dict]`` (see ``run.py``).
"""

from __future__ import annotations

import sys as _sys
import time
from pathlib import Path as _Path

import numpy as np

_sys.path.insert(0, str(_Path(__file__).resolve().parent))
from _timing import timed  # noqa: E402

W_MAX = 60.0


# ------------------------------------------------------------------------------------------------
# Plain NumPy sweep (one instance)
# ------------------------------------------------------------------------------------------------
def numpy_sweep(w, H, clauses, signs, n, damping=0.5):
    s = signs.astype(w.dtype)
    u = -0.5 * s * w
    h = H[clauses] - u
    le = -np.logaddexp(np.zeros((), w.dtype), 2.0 * s * h)  # log sigmoid(-2 s h)
    k = clauses.shape[1]
    loo = le @ (1.0 - np.eye(k, dtype=w.dtype))
    with np.errstate(divide="ignore"):
        w_new = np.maximum(np.log(-np.expm1(np.minimum(loo, 0.0))), -W_MAX).astype(w.dtype)
    diff = np.max(np.abs(np.tanh(0.5 * w_new) - np.tanh(0.5 * w)))
    w_out = (1.0 - damping) * w_new + damping * w
    Hc = np.bincount(clauses.ravel(), weights=(-0.5 * s * w_out).ravel(), minlength=n).astype(w.dtype)
    return w_out, Hc, diff


def _instance(n, alpha, k, seed):
    import jax

    from physlearn.algorithms import ksat

    return ksat.random_ksat(jax.random.key(seed), n, alpha, k)


def _bandwidth():
    """Bytes per second of a 256 MB NumPy copy (read + write counted)."""
    a = np.ones(2**25, np.float64)
    b = np.empty_like(a)
    t = timed(lambda: np.copyto(b, a)).median
    return 2 * a.nbytes / t


def _time_pair(p, batch=None):
    import jax
    import jax.numpy as jnp

    from physlearn.algorithms.ksat import bp

    f = jax.jit(lambda w, H, q: bp.sweep(w, H, q, 0.5))
    if batch:
        f = jax.jit(jax.vmap(lambda w, H, q: bp.sweep(w, H, q, 0.5)))
    rng = np.random.default_rng(0)
    shape = (batch,) if batch else ()
    w0 = jnp.asarray(np.log1p(-0.5 * rng.random(shape + (p.m, p.k))), jnp.float32)
    H0 = jnp.asarray(rng.normal(size=shape + (p.n,)), jnp.float32)
    t_jax = timed(lambda: jax.block_until_ready(f(w0, H0, p)), calls=3).median
    cl, sg = np.asarray(p.clauses), np.asarray(p.signs)
    wn, Hn = np.asarray(w0), np.asarray(H0)
    if batch:
        t_np = timed(lambda: [numpy_sweep(wn[i], Hn[i], cl[i], sg[i], p.n) for i in range(batch)]).median
        ref = numpy_sweep(wn[0], Hn[0], cl[0], sg[0], p.n)
        got = [np.asarray(x)[0] for x in f(w0, H0, p)[:2]]
    else:
        t_np = timed(lambda: numpy_sweep(wn, Hn, cl, sg, p.n)).median
        ref = numpy_sweep(wn, Hn, cl, sg, p.n)
        got = [np.asarray(x) for x in f(w0, H0, p)[:2]]
    err = max(float(np.max(np.abs(got[0] - ref[0]))), float(np.max(np.abs(got[1] - ref[1]) / (1 + np.abs(ref[1])))))
    return t_jax, t_np, err


def _layouts(p):
    """Seconds per sweep with the variable sums done three ways (module doc)."""
    import jax
    import jax.numpy as jnp

    from physlearn.algorithms.ksat import bp
    from physlearn.algorithms.ksat.walksat import edge_table

    flat = np.asarray(p.clauses).ravel()
    deg = np.bincount(flat, minlength=p.n)
    table = edge_table(p, int(deg.max()))
    order = jnp.asarray(np.argsort(flat, kind="stable").astype(np.int32))
    sorted_ids = jnp.asarray(np.sort(flat).astype(np.int32))

    def make(kind):
        def varsum(u):
            if kind == "segment":
                return jax.ops.segment_sum(u.reshape(-1), p.clauses.reshape(-1), num_segments=p.n)
            if kind == "sorted":
                return jax.ops.segment_sum(u.reshape(-1)[order], sorted_ids, num_segments=p.n, indices_are_sorted=True)
            ue = jnp.concatenate([u.reshape(-1), jnp.zeros((1,), u.dtype)])
            return jnp.sum(ue[table], axis=-1)

        @jax.jit
        def sweep(w, H):
            le = bp._log_eta(w, H, p)
            loo = le @ (1.0 - jnp.eye(p.k, dtype=le.dtype))
            w2 = 0.5 * bp._log1m_exp(loo) + 0.5 * w
            return w2, varsum(bp.clause_fields(w2, p))

        return sweep

    rng = np.random.default_rng(0)
    w0 = jnp.asarray(np.log1p(-0.5 * rng.random((p.m, p.k))), jnp.float32)
    H0 = jnp.asarray(rng.normal(size=p.n), jnp.float32)
    out = {}
    for kind in ("segment", "sorted", "padded"):
        f = make(kind)
        out[kind] = timed(lambda: jax.block_until_ready(f(w0, H0)), calls=3).median
    return out, int(deg.max()), float(deg.mean())


def _load_note():
    import os

    try:
        return f"; load average {os.getloadavg()[0]:.0f} on {os.cpu_count()} cores while measured"
    except OSError:
        return ""


QUICK = dict(cases=((2000, 9.5, 4),), batch=(500, 9.5, 4, 2))
"""``run(**QUICK)``: the smallest sizes, for ``run.py --quick`` (a check that everything runs)."""


def run(cases=((20000, 9.5, 4), (20000, 4.0, 3)), batch=(5000, 9.5, 4, 8)):
    import jax

    rows = []
    bw = _bandwidth()
    for n, alpha, k in cases:
        p = _instance(n, alpha, k, 1)
        E = p.n_edges
        tj, tn, err = _time_pair(p)
        floor = (13 * E + 8 * n) / bw
        lay, dmax, dmean = _layouts(p)
        rows.append(dict(
            workload=f"K-SAT BP sweep, K={k}, N={n}, alpha={alpha} (E={E} edges)",
            physlearn_s=tj, baseline_s=tn, ratio=tn / tj,
            notes=(f"{tj / E * 1e9:.2f} ns/edge (f32); bytes floor {(13 * E + 8 * n) / 1e6:.1f} MB at "
                   f"{bw / 1e9:.1f} GB/s = {floor * 1e3:.2f} ms ({floor / tj:.0%} of the sweep time); layouts: "
                   f"segment_sum {lay['segment'] * 1e3:.2f} ms, sorted segment_sum {lay['sorted'] * 1e3:.2f} ms, "
                   f"padded (N, {dmax}) gather {lay['padded'] * 1e3:.2f} ms (mean degree {dmean:.1f}); "
                   f"max |jax - numpy| = {err:.1e}; jax {jax.__version__}, compile excluded{_load_note()}"),
        ))
    n, alpha, k, samples = batch
    p = _batch(n, alpha, k, samples)
    tj, tn, err = _time_pair(p, batch=samples)
    rows.append(dict(
        workload=f"K-SAT BP sweep, K={k}, N={n}, alpha={alpha}, {samples} samples",
        physlearn_s=tj, baseline_s=tn, ratio=tn / tj,
        notes=(f"{tj / (samples * p.n_edges) * 1e9:.2f} ns/edge (f32); physlearn vmapped, NumPy loops; "
               f"max |jax - numpy| = {err:.1e}{_load_note()}"),
    ))
    return rows


def _batch(n, alpha, k, samples):
    import jax

    from physlearn.algorithms import ksat

    return ksat.random_ksat(jax.random.key(2), n, alpha, k, samples=samples)


def scaling():
    ns = [2500, 5000, 10000, 20000, 40000]
    tj, tn = [], []
    for n in ns:
        p = _instance(n, 9.5, 4, 3)
        a, b, _ = _time_pair(p)
        tj.append(a)
        tn.append(b)
    return [dict(workload="K-SAT BP sweep, K=4, alpha=9.5, one instance", variable="N", values=ns,
                 physlearn_s=tj, baseline_s=tn, notes="E = 38 N edges; float32 both" + _load_note())]


if __name__ == "__main__":
    t0 = time.time()
    for r in run():
        print(r)
    print(f"{time.time() - t0:.0f} s")
