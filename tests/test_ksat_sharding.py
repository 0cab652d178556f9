"""K-SAT solvers and EdMC sharded over 4 simulated CPU devices (``mesh=4``) give the unsharded
results (a subprocess: the device count is fixed when JAX starts)."""

import os
import subprocess
import sys
import textwrap

import jax
import pytest

_SCRIPT = """
import jax, jax.numpy as jnp, numpy as np
from physlearn.algorithms import edmc, ksat, problems
from physlearn.algorithms.ksat import bp, bpgd, focusing, walksat

assert jax.device_count() == 4, jax.devices()


def same(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(x, y)


key = jax.random.key(0)
p = ksat.random_ksat(key, 120, 3.5, 3, samples=6)  # 6 samples: padded to 8 on 4 devices
same(bp.solve(key, p, max_steps=60, mesh=4), bp.solve(key, p, max_steps=60))
same(walksat.solve(key, p, runs=2, max_steps=3000, mesh=4), walksat.solve(key, p, runs=2, max_steps=3000))
if ALL:
  same(bpgd.solve(key, p, max_steps=200, mesh=4), bpgd.solve(key, p, max_steps=200))
  same(focusing.solve_fbp(key, p, max_steps=100, mesh=4), focusing.solve_fbp(key, p, max_steps=100))
  q = problems.random_patterns(key, 31, 0.3, samples=4)
  same(edmc.solve(key, q, max_steps=3, mesh=4), edmc.solve(key, q, max_steps=3))
print("ksat sharded ok")
"""


def _run(tmp_path, all_solvers):
    script = tmp_path / "ksat_sharded.py"
    script.write_text(f"ALL = {all_solvers}\n" + textwrap.dedent(_SCRIPT))
    env = {
        **os.environ,
        "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip(),
        "JAX_PLATFORMS": "cpu",
    }
    cache = jax.config.jax_compilation_cache_dir
    if cache:
        env["JAX_COMPILATION_CACHE_DIR"] = cache
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    assert "ksat sharded ok" in out.stdout


def test_bp_and_walksat_sharded_equal_unsharded(tmp_path):
    _run(tmp_path, False)


@pytest.mark.slow
def test_every_ksat_solver_and_edmc_sharded(tmp_path):
    _run(tmp_path, True)
