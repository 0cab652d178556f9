"""This machine's ceilings, measured by XLA in the same process as the benchmarks, and the floor
time of a unit of work at those ceilings.

``measure()`` returns (all rates as medians over ``repeats`` timed calls, with min and max):

* ``matmul_f32`` / ``matmul_f64`` -- GFLOP/s of one ``jnp.dot`` of two n x n matrices
  (n = 2048: 2 n^3 FLOPs), XLA's default intra-op threading, i.e. all cores;
* ``elementwise_f32`` / ``elementwise_f64`` -- GFLOP/s of an element-wise chain of 32 fused
  multiply-adds per element on a cache-resident array (the rate of arithmetic that is not a
  matrix product: message passing, annealing moves, the quadrature integrands);
* ``copy_bandwidth`` -- GB/s of ``x + 1`` on a 256 MB float64 array (bytes read + written);
* ``transcendental`` -- evaluations per ns of ``exp``, ``log``, ``tanh``, ``rsqrt`` and
  ``lax.erfc`` in float32 and float64 as XLA compiles them (each on a cache-resident array inside
  a compiled loop, so that neither memory nor dispatch limits them), and of the
  ``physlearn.numerics`` special functions the theory hot paths call (``erfcx``, ``GH``,
  ``log_H``, float64).

``floor_seconds(work, ceilings)`` turns a count of the work one unit needs into the floor time:

    floor = max(bytes / bandwidth, matmul_flops / matmul_rate + flops / elementwise_rate
                + sum_k transcendentals[k] / rate[k])

-- memory traffic overlaps arithmetic, the arithmetic parts do not overlap one another (they
share the vector units). ``work`` is a dict with optional keys ``matmul_flops``, ``flops``
(element-wise arithmetic, an integer or float operation counts one), ``bytes`` (main-memory
traffic), ``transcendentals`` (``{name: count}``, names as in ``transcendental`` above, e.g.
``"erfc"``, or a ``numerics`` function such as ``"GH"``) and ``dtype`` (``"float32"`` or
``"float64"``, default float32). Each ``bench_*.py`` file documents its counts next to the
algorithm they come from.

Run alone: ``python benchmarks/ceilings.py`` (prints the table; ``run.py`` stores it with the
benchmark results).
"""

from __future__ import annotations

import os
import statistics
import time

N_MATMUL = 2048
COPY_MB = 256
CACHE_ELEMENTS = 1 << 16  # 512 KB in float64: within the L2 caches of the cores together
LOOP = 16  # passes over the cache-resident array per timed call
UNROLL = 8  # evaluations per element and pass
FMA_CHAIN = 32


def _stats(samples):
    return dict(median=statistics.median(samples), min=min(samples), max=max(samples), n=len(samples))


def _time(fn, repeats):
    fn()  # compile
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def matmul_rate(dtype: str, n: int = N_MATMUL, repeats: int = 5) -> dict:
    """GFLOP/s of an n x n x n matrix product (2 n^3 FLOPs) through XLA, all cores."""
    import jax
    import jax.numpy as jnp

    k1, k2 = jax.random.split(jax.random.key(0))
    a = jax.random.normal(k1, (n, n), dtype)
    b = jax.random.normal(k2, (n, n), dtype)
    f = jax.jit(jnp.dot)
    times = _time(lambda: f(a, b).block_until_ready(), repeats)
    return _stats([2.0 * n**3 / t / 1e9 for t in times])


def copy_bandwidth(mb: int = COPY_MB, repeats: int = 7) -> dict:
    """GB/s of ``x + 1`` over ``mb`` MB of float64 (read + write counted), all cores."""
    import jax
    import jax.numpy as jnp

    x = jnp.zeros((mb * 2**20 // 8,), jnp.float64)
    f = jax.jit(lambda v: v + 1.0)
    times = _time(lambda: f(x).block_until_ready(), repeats)
    return _stats([2.0 * x.nbytes / t / 1e9 for t in times])


def _looped(fn, dtype, repeats, *, span=(0.1, 4.0), elements=CACHE_ELEMENTS, loop=LOOP, unroll=UNROLL):
    """Evaluations per ns of the element-wise ``fn`` on a cache-resident array: ``unroll``
    evaluations per element at shifted arguments, summed in one fused kernel, ``loop`` passes per
    compiled call (the shifts keep XLA from merging or hoisting them), so that neither memory
    traffic nor the per-pass dispatch limits the rate; the sums add one operation per evaluation."""
    import jax
    import jax.numpy as jnp

    x = jnp.linspace(span[0], span[1], elements, dtype=dtype)

    @jax.jit
    def f(x):
        def body(i, acc):
            xi = x + i.astype(dtype) * 1e-6
            return acc + sum(fn(xi + k * 1e-7) for k in range(unroll))

        return jax.lax.fori_loop(0, loop, body, jnp.zeros_like(x))

    times = _time(lambda: f(x).block_until_ready(), repeats)
    return _stats([elements * loop * unroll / t / 1e9 for t in times])


def elementwise_rate(dtype: str, repeats: int = 7) -> dict:
    """GFLOP/s of ``FMA_CHAIN`` multiply-adds per element (2 FLOPs each; four independent chains),
    cache-resident."""

    def chain(x):  # four independent chains, so that latency does not limit the rate
        ys = [x + 0.25 * j for j in range(4)]
        for _ in range(FMA_CHAIN // 4):
            ys = [y * 0.999 + x for y in ys]
        return (ys[0] + ys[1]) + (ys[2] + ys[3])

    r = _looped(chain, dtype, repeats, unroll=1)
    return {k: (v * 2 * FMA_CHAIN if k != "n" else v) for k, v in r.items()}


def _transcendentals():
    import jax
    import jax.numpy as jnp

    return {
        "exp": jnp.exp,
        "log": jnp.log,
        "tanh": jnp.tanh,
        "rsqrt": jax.lax.rsqrt,
        "erfc": jax.lax.erfc,
    }


NUMERICS_HOT = ("erfcx", "GH", "GH_prime", "log_H", "log2cosh")


def transcendental_rates(repeats: int = 5) -> dict:
    """``{"float32": {name: stats}, "float64": {...}}`` in evaluations per ns; float64 also holds
    the ``physlearn.numerics`` functions of ``NUMERICS_HOT``."""
    import jax.numpy as jnp

    from physlearn import numerics as nm

    out = {}
    for dtype in ("float32", "float64"):
        dt = jnp.dtype(dtype)
        funcs = dict(_transcendentals())
        if dtype == "float64":
            funcs.update({name: getattr(nm, name) for name in NUMERICS_HOT})
        out[dtype] = {name: _looped(fn, dt, repeats, span=(-4.0, 4.0) if name not in ("log", "rsqrt") else (0.1, 4.0))
                      for name, fn in funcs.items()}
    return out


def measure(*, quick: bool = False) -> dict:
    """All ceilings (see the module docstring); ``quick`` for tests: tiny sizes, 2 repeats."""
    import jax

    with jax.enable_x64(True):
        if quick:
            r = 2
            return dict(
                matmul_f32=matmul_rate("float32", 256, r), matmul_f64=matmul_rate("float64", 256, r),
                elementwise_f32=elementwise_rate("float32", r), elementwise_f64=elementwise_rate("float64", r),
                copy_bandwidth=copy_bandwidth(8, r), transcendental=transcendental_rates(r),
                load=list(os.getloadavg()), settings=dict(quick=True),
            )
        load0 = os.getloadavg()
        out = dict(
            matmul_f32=matmul_rate("float32"),
            matmul_f64=matmul_rate("float64"),
            elementwise_f32=elementwise_rate("float32"),
            elementwise_f64=elementwise_rate("float64"),
            copy_bandwidth=copy_bandwidth(),
            transcendental=transcendental_rates(),
        )
    out["load"] = [max(a, b) for a, b in zip(load0, os.getloadavg())]
    out["settings"] = dict(n_matmul=N_MATMUL, copy_mb=COPY_MB, cache_elements=CACHE_ELEMENTS, loop=LOOP,
                           unroll=UNROLL, fma_chain=FMA_CHAIN, xla_flags=os.environ.get("XLA_FLAGS", ""))
    return out


def floor_seconds(work: dict, ceilings: dict) -> float:
    """Floor time of ``work`` (see the module docstring) at the median ``ceilings``."""
    dtype = work.get("dtype", "float32")
    suffix = "f32" if dtype == "float32" else "f64"
    compute = work.get("matmul_flops", 0.0) / (ceilings[f"matmul_{suffix}"]["median"] * 1e9)
    compute += work.get("flops", 0.0) / (ceilings[f"elementwise_{suffix}"]["median"] * 1e9)
    rates = ceilings["transcendental"][dtype]
    for name, count in work.get("transcendentals", {}).items():
        rate = rates.get(name) or ceilings["transcendental"]["float64"][name]
        compute += count / (rate["median"] * 1e9)
    memory = work.get("bytes", 0.0) / (ceilings["copy_bandwidth"]["median"] * 1e9)
    return max(memory, compute)


def table(c: dict) -> str:
    """Markdown table of the ceilings ``c``."""
    def cell(s, unit):
        return f"{s['median']:.4g} {unit} ({s['min']:.4g}-{s['max']:.4g}, n={s['n']})"

    rows = [
        ("f32 matmul, n=" + str(c.get("settings", {}).get("n_matmul", N_MATMUL)), cell(c["matmul_f32"], "GFLOP/s")),
        ("f64 matmul", cell(c["matmul_f64"], "GFLOP/s")),
        ("f32 element-wise FMA chain (cache-resident)", cell(c["elementwise_f32"], "GFLOP/s")),
        ("f64 element-wise FMA chain (cache-resident)", cell(c["elementwise_f64"], "GFLOP/s")),
        ("main-memory copy (x + 1, read + write)", cell(c["copy_bandwidth"], "GB/s")),
    ]
    for dtype, funcs in c["transcendental"].items():
        for name, s in funcs.items():
            kind = "numerics." + name if name in NUMERICS_HOT else name
            rows.append((f"{kind} {dtype}", cell(s, "/ns")))
    lines = ["| ceiling | median (min-max, runs) |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    c = measure()
    print(table(c))
    print("load average", c["load"])
