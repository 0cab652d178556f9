"""Sharding the samples axis over a device mesh (runner.run(mesh=...)): identical results.

The multi-device checks run in a subprocess with 4 simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``): the device count is fixed when JAX
starts, and the test process has one device.
"""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from physlearn.algorithms import problems, rsgd, runner

# Shared by the subprocess scripts: a cheap toy algorithm (a noisy perceptron rule on real weights) that compiles in a blink, to exercise every path of runner.run.
_PRELUDE = """
import os, sys
import equinox as eqx
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from physlearn.algorithms import problems, runner

assert jax.device_count() == 4, jax.devices()
mesh4 = runner.make_mesh(4)


class ToyState(eqx.Module):
    w: jax.Array


class ToyInfo(eqx.Module):
    errors: jax.Array
    best_errors: jax.Array
    norm: jax.Array


class Toy(eqx.Module):
    rate: jax.Array

    def init(self, key, problem):
        return ToyState(jax.random.normal(key, (problem.n,)))

    def step(self, key, state, problem):  # noisy perceptron rule
        x, y = problem.inputs.astype(state.w.dtype), problem.labels.astype(state.w.dtype)
        wrong = y * (x @ state.w) <= 0
        w = state.w + (wrong * y) @ x + self.rate * jax.random.normal(key, state.w.shape)
        e = jnp.sum(y * (x @ w) <= 0).astype(jnp.int32)
        return ToyState(w), ToyInfo(e, e, jnp.linalg.norm(w))


def leaves_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape, x.dtype, y.dtype)
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_array_equal(x, y)


def sharded_over_4(x, axis=0):
    shards = x.addressable_shards
    assert len({s.device for s in shards}) == 4, x.sharding
    assert all(s.data.shape[axis] == x.shape[axis] // 4 for s in shards), x.sharding
    return True


def sample_slice(tree, n, hyper=False):
    return jax.tree_util.tree_map(lambda x: x[:, :n] if hyper else x[:n], tree)
"""

_TOY_QUICK = """
key = jax.random.key(3)
p6 = problems.random_patterns(jax.random.key(1), 7, 1.4, samples=6)
kw = dict(max_steps=40, stop="any", trace=True)
ref = runner.run(Toy(jnp.asarray(0.3)), key, p6, **kw)
assert 0 < int(jnp.sum(ref.solved)) < ref.solved.size  # some finish early, some run out
# the host loop (init, then chunks of 7 steps), 6 samples padded to 8 on 4 devices
leaves_equal(runner.run(Toy(jnp.asarray(0.3)), key, p6, mesh=4, chunk=7, **kw), ref)
print("toy ok")
"""

_TOY_ALL = """
key = jax.random.key(3)
p6 = problems.random_patterns(jax.random.key(1), 7, 1.4, samples=6)
p8 = problems.random_patterns(jax.random.key(1), 7, 1.4, samples=8)   # p8[:6] == p6
kw = dict(max_steps=40, stop="any", trace=True)
for hyper, rate in ((None, jnp.asarray(0.3)), (2, jnp.asarray([0.1, 0.5]))):
    toy = Toy(rate)
    ref = runner.run(toy, key, p6, hyper_batch=hyper, **kw)
    assert 0 < int(jnp.sum(ref.solved)) < ref.solved.size
    # 6 samples on 4 devices: padded to 8, padding dropped; one compiled call and the host loop
    leaves_equal(runner.run(toy, key, p6, hyper_batch=hyper, mesh=mesh4, **kw), ref)
    leaves_equal(runner.run(toy, key, p6, hyper_batch=hyper, mesh=4, chunk=7, **kw), ref)
    leaves_equal(runner.run(toy, key, p6, hyper_batch=hyper, mesh="auto", progress=True, **kw), ref)
    # 8 samples: results stay sharded, 2 samples per device; sample i does not depend on S
    r8 = runner.run(toy, key, p8, hyper_batch=hyper, mesh=mesh4, **kw)
    ax = 0 if hyper is None else 1
    assert sharded_over_4(r8.steps, ax) and sharded_over_4(r8.state.w, ax) and sharded_over_4(r8.trace.norm, ax)
    leaves_equal(sample_slice(r8, 6, hyper is not None), ref)
# a 2-D mesh: the samples axis is sharded over "samples", replicated over the other axis
mesh22 = Mesh(np.asarray(jax.devices()).reshape(2, 2), ("hyper", "samples"))
leaves_equal(runner.run(Toy(jnp.asarray(0.3)), key, p6, mesh=mesh22, **kw),
             runner.run(Toy(jnp.asarray(0.3)), key, p6, **kw))
print("toy ok")
"""

_RSGD = """
from physlearn.algorithms import rsgd
key = jax.random.key(5)
p6 = problems.random_patterns(jax.random.key(2), 21, 0.6, samples=6)
p8 = problems.random_patterns(jax.random.key(2), 21, 0.6, samples=8)   # p8[:6] == p6
kw = dict(replicas=3, batch=5, max_steps=25, lam=[0.0, 0.75], trace=True)
ref = rsgd.solve(key, p6, **kw)
assert 0 < int(ref.solved.sum()) < ref.solved.size
leaves_equal(rsgd.solve(key, p6, mesh=mesh4, **kw), ref)   # padded to 8 samples
r8 = rsgd.solve(key, p8, mesh=mesh4, **kw)                 # same compiled program
assert sharded_over_4(r8.errors, 1) and sharded_over_4(r8.weights, 1)
leaves_equal(sample_slice(r8, 6, True), ref)
print("rsgd ok")
"""

_SBP_FBP = """
from physlearn.algorithms import fbp, sbp, schedules
key = jax.random.key(7)
p6 = problems.random_patterns(jax.random.key(4), 21, 0.7, samples=6)
kw = dict(batch=10, max_steps=20, trace=True)
leaves_equal(sbp.solve(key, p6, mesh=mesh4, **kw), sbp.solve(key, p6, **kw))
gamma, y = schedules.pseudo_reinforcement(0.05)
kw = dict(gamma=gamma, y=y, trace=True)
leaves_equal(fbp.solve(key, p6, mesh=mesh4, **kw), fbp.solve(key, p6, **kw))
leaves_equal(fbp.fixed_point(key, p6, y=3.0, gamma=0.5, max_steps=20, mesh=mesh4),
             fbp.fixed_point(key, p6, y=3.0, gamma=0.5, max_steps=20))
from physlearn.algorithms import replicated_sa
kw = dict(replicas=3, max_steps=4000, moves_per_step=1000)
leaves_equal(replicated_sa.solve(key, p6, mesh=mesh4, **kw), replicated_sa.solve(key, p6, **kw))
print("sbp fbp ok")
"""


def _run_on_4_devices(tmp_path, body, timeout=300):
    script = tmp_path / "sharded.py"
    script.write_text(textwrap.dedent(_PRELUDE) + textwrap.dedent(body))
    env = {
        **os.environ,
        "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip(),
        "JAX_PLATFORMS": "cpu",
    }
    cache = jax.config.jax_compilation_cache_dir  # share the test session's persistent cache
    if cache:
        env["JAX_COMPILATION_CACHE_DIR"] = cache
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    return out.stdout


def test_sharded_equals_unsharded_on_4_devices(tmp_path):
    """RSGD with a hyper-parameter batch: 6 samples (padded to 8) and 8 samples (sharded output),
    and the runner's host loop (toy algorithm)."""
    out = _run_on_4_devices(tmp_path, _RSGD + _TOY_QUICK)
    assert "rsgd ok" in out and "toy ok" in out


@pytest.mark.slow
def test_every_runner_path_and_solver_sharded_on_4_devices(tmp_path):
    out = _run_on_4_devices(tmp_path, _TOY_ALL + _SBP_FBP, timeout=900)
    assert "toy ok" in out and "sbp fbp ok" in out


def test_mesh_validation():
    prob = problems.random_patterns(jax.random.key(0), 7, 0.5, samples=3)
    bad = Mesh(np.asarray(jax.devices()[:1]), ("batch",))
    with pytest.raises(ValueError, match="axis named 'samples'"):
        rsgd.solve(jax.random.key(1), prob, mesh=bad, max_steps=1)
    with pytest.raises(ValueError, match="needs|available devices"):
        rsgd.solve(jax.random.key(1), prob, mesh=len(jax.devices()) + 1, max_steps=1)
    for m in (0, True, "all", 1.5):
        with pytest.raises(ValueError, match="mesh|devices"):
            rsgd.solve(jax.random.key(1), prob, mesh=m, max_steps=1)
    with pytest.raises(ValueError, match="samples axis"):
        rsgd.solve(jax.random.key(1), prob.sample(0), mesh=1, max_steps=1)
    assert runner.make_mesh(1).axis_names == (runner.SAMPLES_AXIS,)
