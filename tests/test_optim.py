"""Local-entropy optimisers: identities between them (derived in the docstrings), closed forms on
quadratics, descent on a convex problem, the fit driver, and validation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from physlearn.algorithms import schedules
from physlearn.deep import optim

# a small least-squares problem (convex quadratic loss) shared by the tests: f(w) = mean (x.w + b - y)^2 / 2
_RNG = np.random.default_rng(0)
_X = jnp.asarray(_RNG.normal(size=(40, 5)))
_Y = jnp.asarray(_X @ _RNG.normal(size=5) + 0.3 * _RNG.normal(size=40))
DATA = (_X, _Y)
P0 = {"w": jnp.zeros(5), "b": jnp.asarray(0.5)}


def lsq(p, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ p["w"] + p["b"] - y) ** 2)


def _close(a, b, tol=1e-12):
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=tol, atol=tol)


STEPS, BATCH = 40, 20


def _run(opt, steps=STEPS, batch=BATCH, seed=0, params=P0):
    return optim.fit(jax.random.key(seed), params, lsq, DATA, opt, steps, batch)


# One object per optimiser: fit compiles once per (optimiser, steps, batch), and the tests reuse
# the compiled runs (the descent test runs every optimiser below again from the cache).
SGD = optax.sgd(0.2)
ESGD = optim.entropy_sgd(1.0, L=3, inner_lr=0.2, gamma=schedules.exponential(0.4, 1.02), noise=0.05)
PARLE_1 = optim.parle(1.0, replicas=1, rho=0.0, L=3, inner_lr=0.2, gamma=schedules.exponential(0.4, 1.02), noise=0.05)
RSGD = optim.replicated_sgd(0.2, replicas=3, gamma=schedules.exponential(0.5, 1.1, end=2.0))
PARLE_ELASTIC = optim.parle(0.2, replicas=3, L=1, gamma=0.0, alpha=0.0, inner_lr=1.0,
                            rho=schedules.exponential(0.5, 1.1, end=2.0))
PARLE = optim.parle(1.0, replicas=2, L=3, inner_lr=0.2, gamma=0.1, rho=0.1, noise=1e-3)
EASGD = optim.easgd(0.2, workers=3)
SAM = optim.sam(0.2, rho=0.05)


@eqx.filter_jit
def _steps(opt, params, grad_fn, n=4, key=None):
    """n updates of opt with gradient oracle grad_fn(p, i) (grads = grad_fn(p, 0)), compiled."""
    state = opt.init(params)
    for t in range(n):
        k = None if key is None else jax.random.fold_in(key, t)
        upd, state = opt.update(grad_fn(params, 0), state, params, grad_fn=grad_fn, key=k)
        params = optax.apply_updates(params, upd)
    return params, state


def _oracle(p, i):  # gradient of a non-quadratic function, different per minibatch index i
    return jax.tree_util.tree_map(lambda x: jnp.sin(x + 0.3 * i) + 0.5 * x, p)


def test_entropy_sgd_L0_is_sgd_and_L1_is_rescaled_sgd():
    x0 = {"a": jnp.asarray([0.3, -1.0, 2.0]), "b": jnp.asarray(0.7)}
    ref, _ = _steps(optax.with_extra_args_support(optax.sgd(0.3)), x0, _oracle)
    got, _ = _steps(optim.entropy_sgd(0.3, L=0, gamma=0.7, noise=0.1), x0, _oracle)
    _close(got, ref)
    # L = 1, no noise: x - mu = (1 - alpha) * inner_lr * grad f(x), whatever gamma
    ref, _ = _steps(optax.with_extra_args_support(optax.sgd(0.5 * (1 - 0.6) * 0.2)), x0, _oracle)
    for gamma in (0.0, 3.0):
        got, _ = _steps(optim.entropy_sgd(0.5, L=1, inner_lr=0.2, alpha=0.6, gamma=schedules.exponential(gamma, 1.1),
                                          noise=0.0), x0, _oracle)
        _close(got, ref)


def test_entropy_sgd_inner_loop_gives_the_moreau_envelope_gradient():
    # f = x.A.x/2, no noise: x' -> argmin f(x') + gamma/2 |x'-x|^2 = gamma (A+gamma)^-1 x,
    # so the outer direction x - mu -> (A + gamma)^-1 A x (gradient of the Moreau envelope / gamma)
    a = jnp.asarray([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.3]])
    x = jnp.asarray([1.0, -2.0, 0.5])
    gamma = 0.7
    opt = optim.entropy_sgd(1.0, L=400, inner_lr=0.2, gamma=gamma, noise=0.0)
    upd, _ = opt.update(None, opt.init(x), x, grad_fn=lambda p, i: a @ p)
    want = np.linalg.solve(np.asarray(a) + gamma * np.eye(3), np.asarray(a) @ np.asarray(x))
    np.testing.assert_allclose(-np.asarray(upd), want, rtol=1e-10, atol=1e-12)


def test_scoping_schedule():
    s = schedules.exponential(0.01, 1.5, end=0.05)
    want = np.minimum(0.01 * 1.5 ** np.arange(6), 0.05)
    np.testing.assert_allclose([float(s(t)) for t in range(6)], want, rtol=1e-12)
    with pytest.warns(DeprecationWarning, match="schedules.exponential"):
        old = optim.scoping(0.01, 0.5, maximum=0.05)
    np.testing.assert_allclose([float(old(t)) for t in range(6)], want, rtol=1e-12)
    # optax schedules work as they are
    opt = optim.replicated_sgd(0.2, replicas=2, gamma=optax.linear_schedule(0.1, 0.5, 10))
    assert _run(opt, steps=3).params["w"].shape == (5,)


def test_parle_special_cases():
    # n = 1, rho = 0: Entropy-SGD (same noise keys and minibatches)
    _close(_run(PARLE_1).params, _run(ESGD).params)
    # L = 1, gamma = 0, alpha = 0, inner_lr = 1: Elastic-SGD = replicated SGD with coupling rho
    p, r = _run(PARLE_ELASTIC), _run(RSGD)
    _close(p.params, r.params)
    _close(optim.replicas(p.opt_state), optim.replicas(r.opt_state))


def test_replicated_sgd_uncoupled_is_independent_sgd_and_coupling_contracts():
    # gamma = 0: y independent SGD runs (distinct starts, replica-specific losses)
    c = jnp.asarray([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]])
    w0 = jnp.asarray([[0.0, 0.0], [1.0, 1.0], [-2.0, 0.3]])
    a = jnp.asarray([[1.5, 0.2], [0.2, 0.7]])

    def grad_fn(w, i):
        return a @ (w - c[i])

    @eqx.filter_jit
    def run(opt, w0, grad_fn, steps):
        state = opt.init(jnp.zeros(2))._replace(replicas=w0)
        params = jnp.mean(w0, axis=0)
        for _ in range(steps):
            upd, state = opt.update(None, state, params, grad_fn=grad_fn)
            params = optax.apply_updates(params, upd)
        return params, state.replicas

    params, reps = run(optim.replicated_sgd(0.3, replicas=3, gamma=0.0), w0, grad_fn, 5)
    w = w0
    for _ in range(5):
        w = w - 0.3 * jax.vmap(grad_fn)(w, jnp.arange(3))
    _close(reps, w)
    _close(params, jnp.mean(w, axis=0))
    # no data term: the spread contracts by (1 - eta*gamma_t) per step, the mean stays
    params, reps = run(optim.replicated_sgd(0.3, replicas=3, gamma=schedules.exponential(0.5, 2.0)), w0,
                       lambda w, i: jnp.zeros_like(w), 3)
    factor = np.prod([1 - 0.3 * 0.5 * 2.0**t for t in range(3)])
    _close(reps - params, factor * (w0 - jnp.mean(w0, axis=0)))
    _close(params, jnp.mean(w0, axis=0))


def test_replica_spread_at_init():
    w = {"a": jnp.linspace(-2.0, 2.0, 1000), "b": jnp.zeros(3)}
    opt = optim.replicated_sgd(0.1, replicas=3, spread=0.5)
    reps = opt.init(w, key=jax.random.key(0)).replicas
    rms = float(jnp.sqrt(jnp.mean(w["a"] ** 2)))
    z = np.asarray(reps["a"] - w["a"]) / rms  # 3000 standard normals times the spread
    assert abs(z.std() - 0.5) < 0.03 and abs(z.mean()) < 0.03
    np.testing.assert_array_equal(reps["b"], 0.0)  # a zero leaf has no scale: no spread
    assert not np.allclose(reps["a"][0], reps["a"][1])
    with pytest.raises(ValueError, match="key"):
        opt.init(w)


def test_easgd_single_worker_zero_moving_rate_is_sgd_and_elastic_step():
    x0 = {"a": jnp.asarray([0.3, -1.0, 2.0]), "b": jnp.asarray(0.7)}
    centre, state = _steps(optim.easgd(0.2, workers=1, moving_rate=0.0), x0, _oracle)
    ref, _ = _steps(optax.with_extra_args_support(optax.sgd(0.2)), x0, _oracle)
    _close(jax.tree_util.tree_map(lambda x: x[0], optim.replicas(state)), ref)
    _close(centre, x0)  # the centre does not move
    # one step against eqs. 5-6 of Zhang et al. (old values on both sides)
    x = jnp.asarray([[1.0, 0.0], [0.0, 2.0]])
    centre = jnp.asarray([0.5, 0.5])
    opt = optim.easgd(0.1, workers=2, moving_rate=0.2)
    state = opt.init(centre)._replace(replicas=x)
    upd, state = opt.update(None, state, centre, grad_fn=lambda w, i: 2.0 * w)
    _close(state.replicas, x - 0.1 * 2.0 * x - 0.2 * (x - centre))
    _close(centre + upd, centre + 0.2 * jnp.sum(x - centre, axis=0))


def test_sam_is_the_sam_step():
    g = jax.grad(lsq)
    g0 = g(P0, DATA)
    upd, _ = SAM.update(g0, SAM.init(P0), P0, grad_fn=lambda p, i: g(p, DATA))
    norm = jnp.sqrt(sum(jnp.sum(v**2) for v in jax.tree_util.tree_leaves(g0)))
    adv = jax.tree_util.tree_map(lambda p, v: p + 0.05 * v / norm, P0, g0)
    _close(upd, jax.tree_util.tree_map(lambda v: -0.2 * v, g(adv, DATA)))


def test_every_optimiser_decreases_a_convex_loss():
    w_opt = np.linalg.lstsq(np.c_[np.asarray(_X), np.ones(40)], np.asarray(_Y), rcond=None)[0]
    f_min = float(lsq({"w": jnp.asarray(w_opt[:5]), "b": jnp.asarray(w_opt[5])}, DATA))
    f0 = float(lsq(P0, DATA))
    for name, opt in dict(esgd=ESGD, rsgd=RSGD, easgd=EASGD, parle=PARLE, sam=SAM).items():
        f = float(lsq(_run(opt).params, DATA))
        assert f - f_min < 0.05 * (f0 - f_min), name


def test_fit_vmaps_over_seeds_and_models():
    keys = jax.random.split(jax.random.key(3), 3)
    starts = jax.vmap(lambda k: {"w": jax.random.normal(k, (5,)), "b": jnp.asarray(0.0)})(keys)
    batched = jax.vmap(lambda k, p: optim.fit(k, p, lsq, DATA, RSGD, STEPS, BATCH))(keys, starts)
    for i in range(3):
        one = optim.fit(keys[i], jax.tree_util.tree_map(lambda x: x[i], starts), lsq, DATA, RSGD, STEPS, BATCH)
        _close(jax.tree_util.tree_map(lambda x: x[i], batched.params), one.params, 1e-10)
        np.testing.assert_allclose(batched.loss[i], one.loss, rtol=1e-10)


def test_fit_trains_equinox_models_and_keeps_static_parts():
    model = eqx.nn.Linear(5, "scalar", key=jax.random.key(0))

    def loss(m, batch):
        x, y = batch
        return 0.5 * jnp.mean((jax.vmap(m)(x) - y) ** 2)

    r = optim.fit(jax.random.key(1), model, loss, DATA, optax.sgd(0.1), 30)
    assert isinstance(r.params, eqx.nn.Linear) and r.params.out_features == "scalar"
    assert r.loss[-1] < 0.5 * r.loss[0]


def test_validation():
    with pytest.raises(ValueError, match="learning_rate"):
        optim.entropy_sgd(-1.0)
    with pytest.raises(ValueError, match="alpha"):
        optim.entropy_sgd(1.0, alpha=1.0)
    with pytest.raises(ValueError, match="L"):
        optim.parle(1.0, L=0)
    with pytest.raises(ValueError, match="replicas"):
        optim.replicated_sgd(0.1, replicas=0)
    with pytest.raises(ValueError, match="factor"):
        optim.replicated_sgd(0.1, gamma=schedules.exponential(0.1, -0.5))
    with pytest.raises(TypeError, match="gamma=schedules.exponential"):
        optim.replicated_sgd(0.1, scoping=0.01)
    with pytest.raises(TypeError, match="rho=schedules.exponential"):
        optim.parle(0.1, rho_scoping=0.01)
    with pytest.raises(ValueError, match="one number or schedule"):
        optim.entropy_sgd(1.0, gamma=[0.1, 0.2])
    with pytest.raises(ValueError, match="moving_rate"):
        optim.easgd(0.1, workers=4, moving_rate=0.6)
    with pytest.raises(ValueError, match="momentum"):
        optim.easgd(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="gamma"):
        optim.entropy_sgd(1.0, gamma=float("nan"))
    with pytest.raises(ValueError, match="batch_size"):
        optim.fit(jax.random.key(0), P0, lsq, DATA, optax.sgd(0.1), 3, 41)
    with pytest.raises(ValueError, match="steps"):
        optim.fit(jax.random.key(0), P0, lsq, DATA, optax.sgd(0.1), 0)
    with pytest.raises(ValueError, match="leading"):
        optim.fit(jax.random.key(0), P0, lsq, (_X, _Y[:10]), optax.sgd(0.1), 3)
    with pytest.raises(ValueError, match="grad_fn"):
        opt = optim.replicated_sgd(0.1)
        opt.update(None, opt.init(P0), P0)
    with pytest.raises(ValueError, match="key"):
        opt = optim.entropy_sgd(1.0, noise=0.1)
        opt.update(None, opt.init(P0), P0, grad_fn=lambda p, i: p)
    with pytest.raises(ValueError, match="no replicas"):
        optim.replicas(optax.sgd(0.1).init(P0))
