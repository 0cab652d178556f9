"""The native CPU kernels (physlearn._native): the annealing chains' block of moves and the threefry
bits follow the jax.numpy path bit for bit, on every variant, energy, architecture and dtype, and
through the stopping, give-up and schedule rules inside a block."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn import _native
from physlearn.algorithms import problems, quantum_sa, replicated_sa, schedules, standard_sa

pytestmark = pytest.mark.skipif(not _native.enabled(), reason=f"native kernels: {_native.status()}")

F32 = jnp.float32


def test_threefry_bits_equal_jax_random_bits():
    key = jax.random.key(3)
    for shape in [(1,), (5, 2), (2001, 2), (3, 7, 2)]:
        got = jax.jit(lambda k, shape=shape: _native.threefry_bits(k, shape))(key)
        np.testing.assert_array_equal(got, jax.random.bits(key, shape, jnp.uint32))
    keys = jax.random.split(jax.random.key(11), 6).reshape(2, 3)  # nested vmap: broadcast_all
    got = jax.jit(jax.vmap(jax.vmap(lambda k: _native.threefry_bits(k, (300, 2)))))(keys)
    want = jax.vmap(jax.vmap(lambda k: jax.random.bits(k, (300, 2), jnp.uint32)))(keys)
    np.testing.assert_array_equal(got, want)
    raw = jax.random.key_data(key)  # a raw uint32 key
    np.testing.assert_array_equal(_native.threefry_bits(raw, (4, 2)), jax.random.bits(key, (4, 2), jnp.uint32))


def _chain(kind="replicated", *, y=3, energy="minflip", interaction="traced", beta=0.8, gamma=0.6, field=0.7,
           moves=700, every=10**6, give_up=2**30, max_steps=2**30, stop=False, dtype=F32):
    def sched(v):
        return (v if isinstance(v, schedules.Schedule) else schedules.constant(v)).astype(dtype)

    common = dict(replicas=y, energy=energy, proposal="uniform", schedule_every=every, give_up=give_up,
                  restarts=0, max_steps=max_steps, moves_per_step=moves, init_equal=False, stop_at_solution=stop,
                  dtype=jnp.dtype(dtype).name)
    if kind == "replicated":
        return replicated_sa.ReplicatedSA(beta=sched(beta), gamma=sched(gamma), interaction=interaction, **common)
    if kind == "quantum":
        return quantum_sa.QuantumSA(beta=sched(beta), field=sched(field), **common)
    return standard_sa.StandardSA(beta=sched(beta), **common)


def _run(algo, prob, native, blocks, monkeypatch):
    """``blocks`` steps of every sample's chain, traced with the native kernel on or off."""
    monkeypatch.setattr(_native, "enabled", lambda: native)

    def go(key, prob):  # a new function per call: a new trace
        st = algo.init(key, prob)
        infos = []
        for j in range(blocks):
            st, info = algo.step(jax.random.fold_in(key, j), st, prob)
            infos.append(info)
        return st, infos

    keys = jax.random.split(jax.random.key(5), prob.inputs.shape[0])
    return jax.jit(jax.vmap(go))(keys, prob)


def _assert_same(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, z in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(z))


_CASES = {
    # name: (problem kwargs, chain kwargs)
    "perceptron-traced-minflip": (dict(n=41, alpha=0.7), dict()),
    "perceptron-traced-errors": (dict(n=41, alpha=0.7), dict(energy="errors")),
    "perceptron-traced-gamma-inf": (dict(n=31, alpha=0.5), dict(gamma=float("inf"), y=5)),
    "perceptron-explicit-minflip": (dict(n=41, alpha=0.7), dict(interaction="explicit")),
    "committee3-traced-minflip": (dict(n=21, alpha=0.6, k=3, architecture="committee"), dict()),
    "committee5-explicit-minflip": (dict(n=21, alpha=0.6, k=5, architecture="committee"),
                                    dict(interaction="explicit", y=2)),
    "tree5-traced-errors": (dict(n=11, alpha=0.6, k=5, architecture="tree"), dict(energy="errors")),
    "tree3-quantum-minflip": (dict(n=11, alpha=0.6, k=3, architecture="tree"), dict(kind="quantum", y=4)),
    "perceptron-quantum-y2": (dict(n=41, alpha=0.7), dict(kind="quantum", y=2, beta=2.0)),
    "perceptron-quantum-y1": (dict(n=41, alpha=0.7), dict(kind="quantum", y=1)),
    "perceptron-standard": (dict(n=41, alpha=0.7), dict(kind="standard", y=2)),
    "perceptron-float64": (dict(n=41, alpha=0.7), dict(dtype=jnp.float64, beta=1.3)),
    # the rules that end or change a chain inside a block
    "annealed-schedules": (dict(n=41, alpha=0.7), dict(beta=schedules.exponential(0.5, 1.05),
                                                        gamma=schedules.exponential(0.2, 1.1), every=7)),
    "stop-at-solution": (dict(n=41, alpha=0.3), dict(beta=3.0, stop=True)),
    "give-up": (dict(n=41, alpha=1.2), dict(beta=5.0, give_up=150)),
    "move-budget": (dict(n=41, alpha=0.7), dict(max_steps=1234)),
}


@pytest.mark.parametrize("name", sorted(_CASES))
def test_native_block_equals_jax_path(name, monkeypatch):
    pkw, ckw = _CASES[name]
    if ckw.get("dtype") == jnp.float64 and not jax.config.jax_enable_x64:
        pytest.skip("float64 needs jax_enable_x64")
    prob = problems.random_patterns(jax.random.key(2), samples=3, **pkw)
    algo = _chain(**ckw)
    native = _run(algo, prob, True, 3, monkeypatch)
    plain = _run(algo, prob, False, 3, monkeypatch)
    _assert_same(native, plain)
    st = native[0]
    assert int(st.accepted.min()) > 0  # the chains moved
    assert np.array_equal(np.asarray(st.wsum), np.asarray(st.W.astype(np.int32).sum(axis=-3)))
    if name == "stop-at-solution":
        assert (np.asarray(st.energy).min(axis=-1) == 0).all() and (np.asarray(st.moves) < 3 * 700).all()
    if name == "give-up":
        assert np.asarray(st.gave_up).any()
    if name == "move-budget":
        assert (np.asarray(st.moves) == 1234).all()
    if name == "annealed-schedules":
        assert (np.asarray(st.updates) > 5).all()


def test_solve_uses_the_kernel_and_agrees_with_the_jax_path(monkeypatch):
    """A whole ``solve`` (restarts, the driver's blocks and stop) with and without the kernel."""
    prob = problems.random_patterns(jax.random.key(4), 41, 0.4, samples=2)
    kw = dict(replicas=3, max_steps=20_000, moves_per_step=1000, restarts=1, give_up=3000)
    monkeypatch.setattr(_native, "enabled", lambda: True)
    jaxpr = str(jax.make_jaxpr(lambda p: _chain().step(jax.random.key(0), _chain().init(jax.random.key(1), p), p))(
        jax.tree_util.tree_map(lambda x: x[0], prob)))
    assert "physlearn_anneal_moves_f32" in jaxpr and "physlearn_threefry_bits" in jaxpr
    jax.clear_caches()  # no compiled solve from another test's setting
    native = replicated_sa.solve(jax.random.key(1), prob, **kw)
    monkeypatch.setattr(_native, "enabled", lambda: False)
    jax.clear_caches()
    plain = replicated_sa.solve(jax.random.key(1), prob, **kw)
    _assert_same(native, plain)
    assert bool(native.solved.all())


def _in_subprocess(code, **env):
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def test_disabled_by_environment():
    out = _in_subprocess("from physlearn import _native; print(_native.enabled(), _native.status())",
                         PHYSLEARN_NATIVE="0")
    assert out.stdout.strip() == "False not used: disabled by PHYSLEARN_NATIVE"


def test_failed_build_warns_once_and_falls_back(tmp_path):
    """A compiler that fails: one RuntimeWarning, and the annealing runs its jax.numpy path."""
    code = (
        "import jax\n"
        "from physlearn import _native\n"
        "from physlearn.algorithms import problems, replicated_sa\n"
        "p = problems.random_patterns(jax.random.key(0), 21, 0.3)\n"
        "r = replicated_sa.solve(jax.random.key(1), p, max_steps=20000, progress=False)\n"
        "r = replicated_sa.solve(jax.random.key(2), p, max_steps=20000, progress=False)\n"
        "print(_native.enabled(), bool(r.solved))\n"
    )
    out = _in_subprocess(code, CXX="false", PHYSLEARN_CACHE_DIR=str(tmp_path))
    assert out.stdout.strip().splitlines()[-1] == "False True"
    assert out.stderr.count("the native CPU kernels are unavailable") == 1, out.stderr
    assert not list(tmp_path.glob("*.so"))
