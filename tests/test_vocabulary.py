"""One vocabulary across the algorithms (docs/conventions.md): every ``solve`` names its learning
rate, schedules, budget and stopping rule alike; old names raise a TypeError that names the new
ones (and the README's changelog lists them); bad keys and JAX arrays where Python numbers are
expected fail with one line naming the argument, before anything is traced; schedules (ours and
optax's) drive the algorithms; deprecated modules warn and still work."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import physlearn.algorithms as algorithms
from physlearn import _validation as V
from physlearn.algorithms import fbp, problems, results, rsgd, runner, schedules
from physlearn.deep import optim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _solver_modules():
    """Every public module of physlearn.algorithms with a ``solve`` (new algorithms are picked up
    automatically), except the deprecated ones and the annealing engine's deprecated dispatcher."""
    out = {}
    for info in pkgutil.iter_modules(algorithms.__path__):
        name = info.name
        if name.startswith("_") or name in algorithms.DEPRECATED_MODULES or name == "annealing":
            continue
        mod = importlib.import_module(f"physlearn.algorithms.{name}")
        if callable(getattr(mod, "solve", None)):
            out[name] = mod
    return out


SOLVERS = _solver_modules()
COMMON = ("max_steps", "stop", "dtype", "trace", "progress", "mesh")
# names that the vocabulary replaced (docs/conventions.md) -- none may come back
FORBIDDEN = {"lr", "max_epochs", "max_iters", "max_moves", "wait_centre", "stop_at_zero", "protocol", "scoping",
             "kind", "weights", "beta0", "gamma0", "field0", "gamma_step", "lam_step"}
FORBIDDEN_PATTERN = re.compile(r".*(_factor|_scoping|_max)$")
UNITS = ("epochs", "BP sweeps", "attempted moves")


def test_every_algorithm_is_found():
    expected = {"rsgd", "sbp", "fbp", "replicated_sa", "standard_sa", "quantum_sa", "cesgd", "lal", "elal"}
    assert expected <= set(SOLVERS), sorted(SOLVERS)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solve_signatures_share_the_vocabulary(name):
    solve = SOLVERS[name].solve
    params = inspect.signature(solve).parameters
    names = list(params)
    assert names[:2] == ["key", "problem"], names
    assert all(p.kind is p.KEYWORD_ONLY for p in list(params.values())[2:]), names
    for common in COMMON:
        assert common in params, (name, common)
    assert params["stop"].default == "any" and params["progress"].default is None and params["mesh"].default is None
    assert params["trace"].default is False
    bad = [n for n in names if n in FORBIDDEN or FORBIDDEN_PATTERN.match(n)]
    assert not bad, (name, bad)
    # the same quantity has the same name everywhere
    assert not any("rate" in n and n != "learning_rate" for n in names), names
    assert not any(n.startswith(("coupling", "temp_", "inverse")) for n in names), names
    # the budget's unit is stated in the docstring
    doc = inspect.getdoc(solve)
    assert "max_steps" in doc and any(f"**{u}**" in doc for u in UNITS), (name, doc[-500:])


def test_the_shared_names_mean_the_same_quantity():
    sig = {n: inspect.signature(m.solve).parameters for n, m in SOLVERS.items()}
    with_lr = {n for n, p in sig.items() if "learning_rate" in p}
    assert {"rsgd", "sbp", "cesgd", "lal", "elal"} <= with_lr
    with_gamma = {n for n, p in sig.items() if "gamma" in p}
    assert {"rsgd", "fbp", "replicated_sa", "cesgd", "elal"} <= with_gamma
    with_beta = {n for n, p in sig.items() if "beta" in p}
    assert {"sbp", "replicated_sa", "standard_sa", "quantum_sa", "cesgd"} <= with_beta
    # fixed_point: the same budget name (sweeps) and no stopping rule (it always converges or runs out)
    fp = inspect.signature(fbp.fixed_point).parameters
    assert "max_steps" in fp and "max_iters" not in fp
    # the deep-network optimisers: learning_rate first, couplings as numbers or schedules
    for fn in (optim.entropy_sgd, optim.replicated_sgd, optim.easgd, optim.parle, optim.sam):
        p = list(inspect.signature(fn).parameters)
        assert p[0] == "learning_rate" and not any(FORBIDDEN_PATTERN.match(n) or n == "scoping" for n in p), p


def _renamed():
    rows = []
    for name, mod in sorted(SOLVERS.items()):
        for old, new in getattr(mod.solve, "__renamed_arguments__", {}).items():
            rows.append((f"{name}.solve", mod.solve, old, new))
    for fn in (fbp.fixed_point, optim.entropy_sgd, optim.replicated_sgd, optim.parle):
        for old, new in fn.__renamed_arguments__.items():
            rows.append((f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}", fn, old, new))
    return rows


RENAMED = _renamed()


@pytest.mark.parametrize("where,fn,old,new", RENAMED, ids=[f"{w}:{o}" for w, _, o, _ in RENAMED])
def test_old_keywords_raise_a_type_error_naming_the_new_one(where, fn, old, new):
    prob = problems.random_patterns(jax.random.key(0), 11, 0.5)
    args = (jax.random.key(0), prob) if "solve" in where or "fixed_point" in where else (0.1,)
    with pytest.raises(TypeError) as err:
        fn(*args, **{old: 1.0})
    msg = str(err.value)
    assert "\n" not in msg and repr(old) in msg and new.split()[0].split("=")[0] in msg, msg


def test_readme_changelog_lists_every_rename():
    text = (ROOT / "README.md").read_text()
    assert "## Changelog" in text
    log = text[text.index("## Changelog"):]
    missing = [(w, o) for w, _, o, _ in RENAMED
               if not re.search(rf"`{re.escape(w.split('.')[0])}[^`]*`[^\n]*`{o}[`=]", log)]
    assert not missing, missing
    for old_module in algorithms.DEPRECATED_MODULES:
        assert f"physlearn.algorithms.{old_module}" in log, old_module


# ------------------------------------------------------------------------------------------------
# keys and Python numbers: one line naming the argument, before tracing
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_a_non_key_is_a_one_line_type_error(name):
    prob = problems.random_patterns(jax.random.key(0), 11, 0.5)
    for bad in (42, np.uint32([0, 42]), jax.random.PRNGKey(0), jax.random.split(jax.random.key(0), 2)):
        with pytest.raises((TypeError, ValueError)) as err:
            SOLVERS[name].solve(bad, prob)
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith("key "), msg
    with pytest.raises(TypeError, match=r"^key must be a JAX PRNG key, jax\.random\.key\(seed\); got int 42$"):
        rsgd.solve(42, prob)
    with pytest.raises(TypeError, match="jax.random.key"):
        rsgd.solve(jax.random.PRNGKey(0), prob)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(n=101, alpha=jnp.array(0.6)), "alpha"),
        (dict(n=jnp.array(101), alpha=0.6), "n"),
        (dict(n=101, alpha=0.6, samples=jnp.array(2)), "samples"),
        (dict(n=101, alpha=np.array(0.6)), "alpha"),
    ],
)
def test_a_jax_array_for_a_python_number_is_a_one_line_type_error(kwargs, name):
    with pytest.raises(TypeError) as err:
        problems.random_patterns(jax.random.key(0), **kwargs)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{name} must be a Python") and "pass " in msg, msg


def test_errors_are_value_errors_too_and_come_before_tracing():
    # wrong types are TypeErrors that are also ValueErrors (code catching either keeps working)
    assert issubclass(V.ArgumentTypeError, TypeError) and issubclass(V.ArgumentTypeError, ValueError)
    prob = problems.random_patterns(jax.random.key(0), 11, 0.5)
    with pytest.raises(ValueError, match="problem"):
        rsgd.solve(jax.random.key(0), np.ones((5, 11)))
    # under jit a solve refuses traced hyper-parameters with a clear message
    with pytest.raises(TypeError, match="concrete"):
        jax.jit(lambda g: rsgd.solve(jax.random.key(0), prob, gamma=g, max_steps=1).errors)(0.1)


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
def test_schedule_values():
    t = np.arange(5)
    np.testing.assert_allclose(schedules.evaluate(schedules.constant(0.3), t), 0.3)
    np.testing.assert_allclose(schedules.evaluate(schedules.linear(0.05, 0.001), t), 0.05 + 0.001 * t, rtol=1e-6)
    np.testing.assert_allclose(schedules.evaluate(schedules.exponential(1.0, 1.1), t), 1.1**t, rtol=1e-6)
    np.testing.assert_allclose(schedules.evaluate(schedules.exponential(1.0, 2.0, end=5.0), t), [1, 2, 4, 5, 5])
    np.testing.assert_allclose(schedules.evaluate(schedules.exponential(1.0, 0.5, end=0.3), t), [1, 0.5, 0.3, 0.3, 0.3])
    np.testing.assert_allclose(schedules.evaluate(schedules.table([3.0, 2.0]), t), [3, 2, 2, 2, 2])
    np.testing.assert_allclose(schedules.evaluate(optax.linear_schedule(0.0, 1.0, 4), t), [0, 0.25, 0.5, 0.75, 1])
    assert schedules.table([1.0, 2.0, 3.0]).steps == 3 and schedules.linear(0.0, 1.0).steps is None
    # a batch of hyper-parameter points, broadcast against single numbers
    hp, P = V.hyper_batch({"a": schedules.exponential([1.0, 2.0], 1.5), "b": V.hyper_parameter("b", 0.3),
                           "c": schedules.table([1.0, 2.0, 3.0])}, jnp.float32)
    assert P == 2 and hp["a"].start.shape == (2,) and hp["b"].shape == (2,) and hp["c"].values.shape == (2, 3)
    with pytest.raises(ValueError, match="factor"):
        schedules.exponential(1.0, 0.0)
    with pytest.raises(ValueError, match="equal lengths"):
        V.hyper_batch({"a": schedules.exponential([1.0, 2.0], 1.5), "b": V.hyper_parameter("b", [1.0, 2.0, 3.0])})


def test_schedules_numbers_and_optax_schedules_drive_the_algorithm_alike():
    prob = problems.random_patterns(jax.random.key(1), 31, 0.6, k=3, architecture="committee", samples=2)
    kw = dict(replicas=3, batch=10, formula="hard", max_steps=15, stop="never", trace=True, progress=False)
    base = rsgd.solve(jax.random.key(2), prob, learning_rate=2.0, gamma=np.inf, lam=0.5, **kw)
    same = [
        rsgd.solve(jax.random.key(2), prob, learning_rate=schedules.constant(2.0), gamma=schedules.linear(np.inf, 0.0),
                   lam=schedules.exponential(0.5, 1.0), **kw),
        rsgd.solve(jax.random.key(2), prob, learning_rate=optax.constant_schedule(2.0), gamma=np.inf,
                   lam=lambda t: 0.5, **kw),
    ]
    for other in same:
        np.testing.assert_array_equal(np.asarray(base.weights), np.asarray(other.weights))
        np.testing.assert_array_equal(np.asarray(base.trace.replica_errors), np.asarray(other.trace.replica_errors))
    # a schedule that changes something changes the run, and the trace records its values per epoch
    grow = rsgd.solve(jax.random.key(2), prob, learning_rate=2.0, gamma=schedules.linear(0.1, 0.05), lam=0.5, **kw)
    np.testing.assert_allclose(np.asarray(grow.trace.gamma)[0], 0.1 + 0.05 * np.arange(15), rtol=1e-5)


# ------------------------------------------------------------------------------------------------
# results, stopping rules, progress
# ------------------------------------------------------------------------------------------------
def test_results_share_the_base_and_stop_rules_mean_the_same():
    prob = problems.random_patterns(jax.random.key(3), 51, 0.3, samples=2)
    kw = dict(replicas=3, batch=20, max_steps=60, progress=False)
    any_ = rsgd.solve(jax.random.key(4), prob, **kw)
    centre = rsgd.solve(jax.random.key(4), prob, stop="centre", **kw)
    never = rsgd.solve(jax.random.key(4), prob, stop="never", **kw)
    for res in (any_, centre, never):
        assert isinstance(res, results.AlgorithmResult) and isinstance(res, results.ReplicaResult)
        for i in range(2):  # errors are counted from the returned weights
            from physlearn.algorithms import energies

            assert int(res.errors[i]) == int(energies.num_errors(res.weights[i], prob.sample(i)))
    assert np.all(np.asarray(any_.solved)) and np.all(np.asarray(centre.solved))
    assert np.all(np.asarray(centre.centre_errors) == 0)  # "centre": the read-out itself is a solution
    assert np.all(np.asarray(centre.steps) >= np.asarray(any_.steps))
    np.testing.assert_array_equal(np.asarray(never.steps), 60)  # "never": the whole budget
    np.testing.assert_array_equal(np.asarray(never.solved), np.asarray(never.errors) == 0)


def test_progress_default_appears_only_for_long_runs(monkeypatch, capsys):
    prob = problems.random_patterns(jax.random.key(5), 21, 0.3, samples=2)
    rsgd.solve(jax.random.key(6), prob, replicas=3, max_steps=5, stop="never")  # compile
    capsys.readouterr()
    rsgd.solve(jax.random.key(6), prob, replicas=3, max_steps=5, stop="never")  # quick: silent
    assert "RSGD" not in capsys.readouterr().out
    monkeypatch.setattr(runner, "PROGRESS_AFTER", 0.0)  # every run is "long"
    rsgd.solve(jax.random.key(6), prob, replicas=3, max_steps=5, stop="never")
    out = capsys.readouterr().out
    assert "RSGD (simple, y=3)" in out and "5/5" in out
    rsgd.solve(jax.random.key(6), prob, replicas=3, max_steps=5, stop="never", progress=False)
    assert "RSGD" not in capsys.readouterr().out
    with pytest.raises(TypeError, match="progress"):
        rsgd.solve(jax.random.key(6), prob, progress="yes")


# ------------------------------------------------------------------------------------------------
# deprecated modules and names
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("old", sorted(algorithms.DEPRECATED_MODULES))
def test_deprecated_modules_warn_and_keep_working(old):
    sys.modules.pop(f"physlearn.algorithms.{old}", None)
    new = algorithms.DEPRECATED_MODULES[old].split(",")[0].split()[0]
    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        mod = importlib.import_module(f"physlearn.algorithms.{old}")
    if old == "committee":
        from physlearn.algorithms import cesgd, elal, lal

        assert mod.solve_cesgd is cesgd.solve and mod.solve_lal is lal.solve and mod.solve_elal is elal.solve
    else:
        assert mod is importlib.import_module(new)


def test_deprecated_names_warn():
    with pytest.warns(DeprecationWarning, match="schedules.pseudo_reinforcement"):
        p = fbp.pseudo_reinforcement(0.25)
    assert p.steps == 4
    with pytest.warns(DeprecationWarning, match="schedules.exponential"):
        optim.scoping(0.1, 0.01)
    with pytest.warns(DeprecationWarning, match="physlearn.datasets"):
        problems.mnist  # noqa: B018
