r"""Local-entropy optimisers for continuous weights, as optax gradient transformations.

All four optimisers return an ``optax.GradientTransformationExtraArgs`` whose ``update`` is called
as

.. code-block:: python

    updates, state = opt.update(grads, state, params, grad_fn=grad_fn, key=key)

where ``grad_fn(p, i)`` is the gradient of the loss at ``p`` on minibatch number ``i`` of the
current step (the convention of ``optax.contrib.sam`` in opaque mode, so SAM fits the same
interface) and ``key`` is a PRNG key for the Langevin noise. :func:`fit` builds ``grad_fn`` from a
loss and a data set and runs any optax optimiser -- plain ``optax.sgd``, :func:`sam`
(``optax.contrib.sam``) or the ones below -- with one ``lax.scan``; it vmaps over seeds.

* :func:`entropy_sgd` -- Entropy-SGD (Chaudhari, Choromanska, Soatto, LeCun, Baldassi, Borgs,
  Chayes, Sagun, Zecchina, "Entropy-SGD: biasing gradient descent into wide valleys", ICLR 2017).
  An inner Langevin (SGLD) loop samples the local Gibbs measure
  :math:`\propto e^{-f(x') - \frac{\gamma}{2}\|x'-x\|^2}`; the outer step follows the gradient of
  the local entropy, :math:`\gamma(x-\langle x'\rangle)`.
* :func:`replicated_sgd` -- replicated SGD / robust ensemble for continuous weights (Baldassi et
  al., PNAS 113, E7655 (2016); Pittorino et al., "Entropic gradient descent algorithms and wide
  flat minima", ICLR 2021): ``y`` replicas on their own minibatches, elastically pulled towards
  their mean.
* :func:`easgd` -- elastic averaging SGD (Zhang, Choromanska, LeCun, "Deep learning with elastic
  averaging SGD", NeurIPS 2015): workers coupled to a centre variable with a moving rate.
* :func:`parle` -- Parle (Chaudhari, Baldassi, Zecchina, Soatto, Talwalkar, Oberman, "Parle:
  parallelizing stochastic gradient descent", 2017): replicas running Entropy-SGD inner loops,
  elastically coupled to their mean.

**Replica axis.** The replicated optimisers keep the replicas inside the optimiser state (a
leading axis of length ``y`` on every leaf, :func:`replicas`); the ``params`` the user holds are
the *centre* -- the replica mean for :func:`replicated_sgd` and :func:`parle`, the elastic centre
variable for :func:`easgd` -- which is what one evaluates at test time. Their ``update`` returns
``new_centre - params``, so ``optax.apply_updates`` keeps ``params`` equal to the centre. The
replicas start at ``params`` (all equal: they separate through their different minibatches), or,
with ``spread = s > 0``, at :math:`W + s\,\mathrm{rms}(W)\,\xi_a` leaf by leaf, which needs a key:
``init(params, key=key)`` (:func:`fit` passes one). Replica ``a`` draws its gradients as
``grad_fn(w, a)`` (:func:`replicated_sgd`, :func:`easgd`) or ``grad_fn(w, a*L + l)`` at inner
step ``l`` (:func:`parle`); Entropy-SGD uses ``grad_fn(w, l)``.

:func:`compare` trains the same initial networks with several optimisers, vmapped over seeds,
and measures their test error, local energy and top Hessian eigenvalues.

**Coupling schedules.** Every coupling (``gamma``, ``rho``) and the learning rate are numbers or
schedules ``t -> value`` of the number ``t`` of updates done: the "scoping" of Entropy-SGD,
:math:`\gamma_t = \gamma_0 (1+\gamma_1)^t` capped at :math:`\gamma_{max}`, is
``physlearn.algorithms.schedules.exponential(gamma0, 1 + gamma1, end=gamma_max)``; optax schedules
work as they are.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import _validation as V
from ..algorithms import schedules

__all__ = [
    "entropy_sgd",
    "replicated_sgd",
    "easgd",
    "parle",
    "sam",
    "replicas",
    "EntropySGDState",
    "ReplicaState",
    "ParleState",
    "FitResult",
    "fit",
    "Comparison",
    "compare",
]


# ------------------------------------------------------------------------------------ arguments
def _rate(name, v):
    """A learning rate: a positive number or a schedule (callable of the step count)."""
    if callable(v):
        return v
    return V.real(name, v, positive=True)


def _coupling(name, value):
    """A coupling: a number or a schedule of the update count (one optimiser, no hyper batch)."""
    sched = V.schedule(name, value)
    if isinstance(sched, schedules.Schedule) and sched.batch_size() is not None:
        raise ValueError(f"{name} must be one number or schedule per optimiser, got a batch of {sched.batch_size()}")
    return sched


def scoping(gamma0, gamma1=0.0, *, maximum=None, name="gamma0") -> Callable:
    r"""Deprecated: use ``physlearn.algorithms.schedules.exponential(gamma0, 1 + gamma1,
    end=maximum)``, the exponential coupling schedule :math:`\gamma_t = \min(\gamma_0(1+\gamma_1)^t,
    \gamma_{max})`."""
    V.warn_deprecated("optim.scoping(gamma0, gamma1, maximum=...) is deprecated: use "
                      "physlearn.algorithms.schedules.exponential(gamma0, 1 + gamma1, end=maximum)")
    g1 = V.real("gamma1", gamma1, above=-1.0)
    return schedules.exponential(V.real(name, gamma0, nonneg=True), 1.0 + g1,
                                 end=V.real("maximum", maximum, positive=True, allow_none=True))


def _sgd(learning_rate, momentum, nesterov):
    momentum = V.real("momentum", momentum, nonneg=True, below=1.0)
    return optax.sgd(learning_rate, momentum=momentum if momentum > 0 else None, nesterov=bool(nesterov))


# ------------------------------------------------------------------------------------ tree helpers
def _tmap(fn, *trees):
    return jax.tree_util.tree_map(fn, *trees)


def _scal(x, like):
    return jnp.asarray(x, dtype=jnp.result_type(like))


def _tree_normal(key, tree):
    """Standard normal noise shaped like ``tree``: one draw for all leaves (one random-number call
    site compiles much faster than one per leaf), split and cast leaf by leaf."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if not leaves:
        return tree
    sizes = [math.prod(jnp.shape(x)) for x in leaves]
    z = jax.random.normal(key, (sum(sizes),), jnp.result_type(*leaves))
    out, start = [], 0
    for x, size in zip(leaves, sizes):
        out.append(z[start:start + size].reshape(jnp.shape(x)).astype(jnp.result_type(x)))
        start += size
    return jax.tree_util.tree_unflatten(treedef, out)


def _stack(tree, n):
    return _tmap(lambda x: jnp.broadcast_to(x, (n,) + jnp.shape(x)).copy(), tree)


def _init_replicas(params, n, spread, key, who):
    r"""``n`` copies of ``params``; with ``spread > 0`` copy ``a`` of each leaf is
    :math:`W + s\,\mathrm{rms}(W)\,\xi_a` (a relative perturbation, layer by layer); needs ``key``."""
    w = _stack(params, n)
    if spread == 0:
        return w
    if key is None:
        raise ValueError(f"{who}: init needs key= (a PRNG key) when spread > 0")
    xi = _tree_normal(key, w)
    return _tmap(lambda a, z: a + spread * jnp.sqrt(jnp.mean(a[0] ** 2)) * z, w, xi)


def _replica_init(n, spread, inner, who):
    """``init(params, *, key=None)`` of an optimiser holding ``n`` replicas, each with the state of
    the per-replica optimiser ``inner``."""
    def init(params, *, key=None):
        w = _init_replicas(params, n, spread, key, who)
        return ReplicaState(count=jnp.zeros((), jnp.int32), replicas=w, inner=jax.vmap(inner.init)(w))

    return init


def _mean0(tree):
    return _tmap(lambda x: jnp.mean(x, axis=0), tree)


def _need(grad_fn, key, noise, who, params=0):
    if params is None:
        raise ValueError(f"{who}: update needs params")
    if grad_fn is None:
        raise ValueError(f"{who}: update needs grad_fn=callable(params, i) (the minibatch gradient)")
    if noise > 0 and key is None:
        raise ValueError(f"{who}: update needs key= (a PRNG key) when noise > 0")


def _langevin_mean(grad_fn, x, key, *, steps, inner_lr, gamma, noise, alpha, inner_momentum, offset):
    r"""Entropy-SGD inner loop from ``x' = mu = x``: ``steps`` SGLD steps on
    :math:`f(x') + \frac{\gamma}{2}\|x'-x\|^2`,

    .. math:: g = \nabla f_{B_l}(x') + \gamma (x' - x),\quad
              x' \leftarrow x' - \eta' g + \sqrt{2\eta'}\,\varepsilon\,\xi,\quad
              \mu \leftarrow \alpha\mu + (1-\alpha) x',

    (with optional Nesterov momentum on ``g``, reset every outer step); returns :math:`\mu`."""

    def body(l, carry):
        xp, mu, mom = carry
        g = grad_fn(xp, offset + l)
        g = _tmap(lambda gi, a, x0: gi + _scal(gamma, a) * (a - x0), g, xp, x)
        if inner_momentum > 0:
            mom = _tmap(lambda m, gi: inner_momentum * m + gi, mom, g)
            g = _tmap(lambda gi, m: gi + inner_momentum * m, g, mom)
        xp = _tmap(lambda a, gi: a - inner_lr * gi, xp, g)
        if noise > 0:
            xi = _tree_normal(jax.random.fold_in(key, l), xp)
            xp = _tmap(lambda a, z: a + noise * math.sqrt(2.0 * inner_lr) * z, xp, xi)
        mu = _tmap(lambda m, a: alpha * m + (1.0 - alpha) * a, mu, xp)
        return xp, mu, mom

    zeros = _tmap(jnp.zeros_like, x)
    _, mu, _ = jax.lax.fori_loop(0, steps, body, (x, x, zeros))
    return mu


# ------------------------------------------------------------------------------------ Entropy-SGD
class EntropySGDState(NamedTuple):
    count: jax.Array  # outer updates done
    outer: Any  # state of the outer optax.sgd


_ESGD_GAMMA = schedules.exponential(1e-4, 1.001)


@V.renamed_arguments("scoping", "gamma_max")
def entropy_sgd(learning_rate=1.0, *, L=20, inner_lr=0.1, gamma=_ESGD_GAMMA, noise=1e-4, alpha=0.75, inner_momentum=0.0,
                momentum=0.0, nesterov=False):
    r"""Entropy-SGD (Chaudhari et al., ICLR 2017, Algorithm 1; as in its Lua/PyTorch code).

    Each update, from the outer weights :math:`x`:

    1. :math:`x' \leftarrow x,\ \mu \leftarrow x`; then ``L`` Langevin steps
       (:math:`l = 0..L-1`, gradient ``grad_fn(x', l)``):
       :math:`x' \leftarrow x' - \eta'[\nabla f_{B_l}(x') + \gamma_t (x'-x)] + \sqrt{2\eta'}\,\varepsilon\,\xi`,
       :math:`\mu \leftarrow \alpha\mu + (1-\alpha)x'`;
    2. the outer "gradient" is :math:`x - \mu` (the local-entropy gradient divided by
       :math:`\gamma`); with ``L = 0`` it is the plain gradient ``grads`` (plain SGD);
    3. :math:`x \leftarrow x - \eta\,(x-\mu)` through ``optax.sgd(learning_rate, momentum, nesterov)``.

    ``gamma``: the coupling :math:`\gamma_t`, a number or a schedule of the update count ``t``; the
    reference's scoping :math:`\gamma_t = \gamma_0(1+\gamma_1)^t` is ``schedules.exponential(gamma0,
    1 + gamma1)`` (optionally ``end=gamma_max``). The noise term is the code's
    :math:`\sqrt{2\eta'}\varepsilon` (SGLD at temperature :math:`\varepsilon^2`); the paper's
    Algorithm 1 writes :math:`\sqrt{\eta'}\varepsilon`. Defaults: the reference's MNIST recipe
    (``L=20``, :math:`\eta'=0.1`, :math:`\gamma_0=10^{-4}`, :math:`\gamma_1=10^{-3}`,
    :math:`\varepsilon=10^{-4}`, :math:`\alpha=0.75`) with outer learning rate 1.

    Stability: the inner loop needs :math:`\eta'(\lambda_{max}(\nabla^2 f) + \gamma_t) < 2`;
    with scoping, cap :math:`\gamma_t` (``schedules.exponential(..., end=gamma_max)``).

    Identities (tested): ``L=0`` is SGD; ``L=1`` without noise is SGD with learning rate
    :math:`\eta(1-\alpha)\eta'` for any :math:`\gamma`; for a quadratic
    :math:`f=\frac12 x^\top A x` and no noise, :math:`x-\mu \to (A+\gamma)^{-1}A x` as
    :math:`L\to\infty` (the gradient of the Moreau envelope). Cost: ``L`` gradients per update.

    ``update(grads, state, params, *, grad_fn, key)``; ``key`` is needed when ``noise > 0``.
    """
    lr = _rate("learning_rate", learning_rate)
    L = V.integer("L", L, minimum=0)
    inner_lr = V.real("inner_lr", inner_lr, positive=True)
    gam = _coupling("gamma", gamma)
    noise = V.real("noise", noise, nonneg=True)
    alpha = V.real("alpha", alpha, nonneg=True, below=1.0)
    inner_momentum = V.real("inner_momentum", inner_momentum, nonneg=True, below=1.0)
    outer = _sgd(lr, momentum, nesterov)

    def init(params):
        return EntropySGDState(count=jnp.zeros((), jnp.int32), outer=outer.init(params))

    def update(updates, state, params=None, *, grad_fn=None, key=None, **extra):
        del extra
        if params is None:
            raise ValueError("entropy_sgd: update needs params")
        if L == 0:
            direction = updates
        else:
            _need(grad_fn, key, noise, "entropy_sgd")
            mu = _langevin_mean(
                grad_fn, params, None if key is None else jax.random.fold_in(key, 0), steps=L, inner_lr=inner_lr,
                gamma=gam(state.count), noise=noise, alpha=alpha, inner_momentum=inner_momentum, offset=0,
            )
            direction = _tmap(lambda x, m: x - m, params, mu)
        upd, outer_state = outer.update(direction, state.outer, params)
        return upd, EntropySGDState(count=state.count + 1, outer=outer_state)

    return optax.GradientTransformationExtraArgs(init, update)


# ------------------------------------------------------------------------------------ replicated
class ReplicaState(NamedTuple):
    count: jax.Array  # updates done
    replicas: Any  # the replicas: leading axis y on every leaf
    inner: Any  # per-replica optax.sgd state (leading axis y)


class ParleState(NamedTuple):
    count: jax.Array  # synchronisations done
    replicas: Any  # the anchors x_a: leading axis n on every leaf
    outer: Any  # per-replica outer optax.sgd state (leading axis n)


def replicas(state):
    """The replicas held by a :func:`replicated_sgd`, :func:`easgd` or :func:`parle` state (also
    inside an ``optax.chain`` state): a pytree with a leading replica axis."""
    if isinstance(state, (ReplicaState, ParleState)):
        return state.replicas
    if isinstance(state, (tuple, list)):
        for s in state:
            try:
                return replicas(s)
            except ValueError:
                pass
    raise ValueError("state holds no replicas (use replicated_sgd, easgd or parle)")


_RSGD_GAMMA = schedules.exponential(0.1, 1.001)


@V.renamed_arguments("scoping", "gamma_max")
def replicated_sgd(learning_rate, *, replicas=3, gamma=_RSGD_GAMMA, spread=0.0, momentum=0.0, nesterov=False):
    r"""Replicated SGD (robust ensemble) for continuous weights.

    ``y = replicas`` copies :math:`W^a` of the network, each on its own minibatch
    (``grad_fn(W^a, a)``), coupled elastically to their mean :math:`\bar W`:

    .. math:: W^a \leftarrow W^a - \eta\,[\nabla f_{B_a}(W^a) + \gamma_t (W^a - \bar W)],
              \qquad \bar W = \frac1y\sum_b W^b,

    the gradient of :math:`\sum_a f(W^a) + \frac{\gamma}{2}\sum_a\|W^a-\bar W\|^2`, i.e. the
    continuous robust ensemble of Baldassi et al., PNAS 113, E7655 (2016) with its centre traced
    out (RSGD.jl's ``:continuous`` kick), as used for deep nets by Pittorino et al., ICLR 2021,
    with ``gamma`` a number or a schedule of the update count (default: exponential scoping
    :math:`\gamma_t=0.1\cdot 1.001^t`, ``schedules.exponential(0.1, 1.001)``). ``momentum``/``nesterov``
    act per replica (``optax.sgd``). ``params`` is the centre :math:`\bar W` (the network used at
    test time). With :math:`\gamma=0` this is ``y`` independent SGD runs (tested). Cost: ``y``
    gradients per update. The default couplings are ours (the paper's values were not
    available to us). Stability: without momentum the spread :math:`W^a-\bar W` is multiplied by
    :math:`1-\eta\gamma_t` per step (tested), so exponential scoping must stop before
    :math:`\eta\gamma_t` reaches 2 -- cap it (``schedules.exponential(..., end=gamma_max)``).
    ``spread``: relative spread of the
    replicas at ``init`` (see the module docstring; needs ``init(params, key=...)``).
    """
    lr = _rate("learning_rate", learning_rate)
    y = V.integer("replicas", replicas)
    gam = _coupling("gamma", gamma)
    spread = V.real("spread", spread, nonneg=True)
    inner = _sgd(lr, momentum, nesterov)

    init = _replica_init(y, spread, inner, "replicated_sgd")

    def update(updates, state, params=None, *, grad_fn=None, key=None, **extra):
        del updates, key, extra
        _need(grad_fn, None, 0.0, "replicated_sgd", params)
        w = state.replicas
        g = jax.vmap(grad_fn)(w, jnp.arange(y))
        centre = _mean0(w)
        gt = gam(state.count)
        total = _tmap(lambda gi, a, c: gi + _scal(gt, a) * (a - c), g, w, centre)
        upd, inner_state = jax.vmap(inner.update)(total, state.inner, w)
        w = optax.apply_updates(w, upd)
        out = _tmap(lambda c, p: c - p, _mean0(w), params)
        return out, ReplicaState(count=state.count + 1, replicas=w, inner=inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


def easgd(learning_rate, *, workers=4, moving_rate=None, beta=0.9, period=1, spread=0.0, momentum=0.0,
          nesterov=False):
    r"""Elastic averaging SGD, synchronous form (Zhang, Choromanska, LeCun, NeurIPS 2015, eqs. 5--6).

    ``p = workers`` local variables :math:`x^i` (own minibatches, ``grad_fn(x^i, i)``) and a centre
    :math:`\tilde x` (``params``):

    .. math:: x^i \leftarrow x^i - \eta\,\nabla f_{B_i}(x^i) - \alpha\,(x^i - \tilde x),\qquad
              \tilde x \leftarrow \tilde x + \alpha \sum_i (x^i - \tilde x),

    both with the old values, the elastic terms applied every ``period`` steps (:math:`\tau`).
    Moving-rate parametrisation: :math:`\alpha = \eta\rho` is the ``moving_rate``; by default
    :math:`\alpha = \beta/p` with :math:`\beta = 0.9` (the paper's choice keeping
    :math:`\beta = p\alpha` fixed). ``momentum``/``nesterov`` give the workers (Nesterov) momentum
    on the gradient term (EAMSGD when ``nesterov=True``). With one worker and
    :math:`\alpha = 0` the worker is plain SGD and the centre stays put (tested). ``spread``:
    relative spread of the workers at ``init`` (as in :func:`replicated_sgd`).
    """
    lr = _rate("learning_rate", learning_rate)
    p = V.integer("workers", workers)
    if moving_rate is None:
        a = V.real("beta", beta, nonneg=True) / p
    else:
        a = V.real("moving_rate", moving_rate, nonneg=True)
    if a * p > 2.0:
        raise ValueError(f"moving_rate * workers = {a * p:g} > 2: the centre update is unstable")
    tau = V.integer("period", period)
    spread = V.real("spread", spread, nonneg=True)
    inner = _sgd(lr, momentum, nesterov)

    init = _replica_init(p, spread, inner, "easgd")

    def update(updates, state, params=None, *, grad_fn=None, key=None, **extra):
        del updates, key, extra
        _need(grad_fn, None, 0.0, "easgd", params)
        x = state.replicas
        g = jax.vmap(grad_fn)(x, jnp.arange(p))
        upd, inner_state = jax.vmap(inner.update)(g, state.inner, x)
        rate = jnp.where(state.count % tau == 0, a, 0.0)
        diff = _tmap(lambda xi, c: xi - c, x, params)
        x = _tmap(lambda xi, u, d: xi + u - _scal(rate, xi) * d, x, upd, diff)
        out = _tmap(lambda d: _scal(rate, d) * jnp.sum(d, axis=0), diff)
        return out, ReplicaState(count=state.count + 1, replicas=x, inner=inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


@V.renamed_arguments(
    gamma_scoping="gamma=schedules.exponential(gamma, 1 + gamma_scoping)",
    gamma_max="gamma=schedules.exponential(gamma, 1 + gamma_scoping, end=gamma_max)",
    rho_scoping="rho=schedules.exponential(rho, 1 + rho_scoping)",
    rho_max="rho=schedules.exponential(rho, 1 + rho_scoping, end=rho_max)",
)
def parle(learning_rate=1.0, *, replicas=3, L=25, inner_lr=0.1, gamma=0.01, rho=0.01, noise=0.0, alpha=0.75,
          spread=0.0, inner_momentum=0.0, momentum=0.0, nesterov=False):
    r"""Parle (Chaudhari et al. 2017): ``n = replicas`` anchors :math:`x_a` running Entropy-SGD inner
    loops, elastically coupled to their mean :math:`x` (``params``).

    Each update (one synchronisation):

    1. every replica runs the Entropy-SGD inner loop of :func:`entropy_sgd` from its anchor
       (``L`` steps, gradients ``grad_fn(w, a*L + l)``, coupling :math:`\gamma_t`, noise
       :math:`\varepsilon`, running mean :math:`z_a` with coefficient :math:`\alpha`);
    2. :math:`x_a \leftarrow x_a - \eta\,[(x_a - z_a) + \rho_t (x_a - x)]` (through ``optax.sgd``
       with ``momentum``/``nesterov``, per replica);
    3. :math:`x \leftarrow \frac1n\sum_a x_a`.

    ``gamma`` and ``rho`` are numbers or schedules of the number ``t`` of synchronisations, e.g.
    :math:`\gamma_t = \gamma_0(1+\gamma_1)^t` capped at 1 is ``schedules.exponential(gamma0, 1 +
    gamma1, end=1.0)`` (the reference code caps :math:`\gamma\le1`, :math:`\rho\le10`).

    Differences from the reference code (ucla-vision/parle), chosen so that the paper's special
    cases hold exactly: the step of 2. is applied to the anchor (the code applies it to the last
    inner iterate), and the elastic term uses the mean of the anchors (the code uses the mean of
    the :math:`z_a`). Special cases (tested as identities): ``replicas=1, rho=0`` is
    :func:`entropy_sgd`; ``L=1, gamma=0, alpha=0, inner_lr=1`` is :func:`replicated_sgd` with
    coupling :math:`\rho` (Elastic-SGD). Cost: ``n*L`` gradients per update. ``spread``: relative
    spread of the anchors at ``init`` (as in :func:`replicated_sgd`).
    """
    lr = _rate("learning_rate", learning_rate)
    n = V.integer("replicas", replicas)
    L = V.integer("L", L)
    inner_lr = V.real("inner_lr", inner_lr, positive=True)
    gam = _coupling("gamma", gamma)
    rh = _coupling("rho", rho)
    noise = V.real("noise", noise, nonneg=True)
    alpha = V.real("alpha", alpha, nonneg=True, below=1.0)
    inner_momentum = V.real("inner_momentum", inner_momentum, nonneg=True, below=1.0)
    spread = V.real("spread", spread, nonneg=True)
    outer = _sgd(lr, momentum, nesterov)

    def init(params, *, key=None):
        x = _init_replicas(params, n, spread, key, "parle")
        return ParleState(count=jnp.zeros((), jnp.int32), replicas=x, outer=jax.vmap(outer.init)(x))

    def update(updates, state, params=None, *, grad_fn=None, key=None, **extra):
        del updates, extra
        if params is None:
            raise ValueError("parle: update needs params (the replica mean)")
        _need(grad_fn, key, noise, "parle")
        xa = state.replicas
        gt, rt = gam(state.count), rh(state.count)

        def inner_loop(x0, a):
            k = None if key is None else jax.random.fold_in(key, a)
            return _langevin_mean(grad_fn, x0, k, steps=L, inner_lr=inner_lr, gamma=gt, noise=noise, alpha=alpha,
                                  inner_momentum=inner_momentum, offset=a * L)

        z = jax.vmap(inner_loop)(xa, jnp.arange(n))
        direction = _tmap(lambda x, za, c: (x - za) + _scal(rt, x) * (x - c), xa, z, params)
        upd, outer_state = jax.vmap(outer.update)(direction, state.outer, xa)
        xa = optax.apply_updates(xa, upd)
        out = _tmap(lambda c, p: c - p, _mean0(xa), params)
        return out, ParleState(count=state.count + 1, replicas=xa, outer=outer_state)

    return optax.GradientTransformationExtraArgs(init, update)


def sam(learning_rate, rho=0.05, *, momentum=0.0, nesterov=False):
    r"""SAM (Foret, Kleiner, Mobahi, Neyshabur, ICLR 2021) as ``optax.contrib.sam`` in opaque mode:
    :math:`x \leftarrow x - \eta\,\nabla f(x + \rho\,g/\|g\|)` with :math:`g = \nabla f(x)` on the
    same minibatch. Only a constructor for optax's implementation (normalised-SGD ascent step,
    ``sync_period=2``), so that it takes the ``grad_fn`` interface of :func:`fit`."""
    lr = _rate("learning_rate", learning_rate)
    rho = V.real("rho", rho, nonneg=True)
    adv = optax.chain(optax.contrib.normalize(), optax.sgd(rho))
    return optax.contrib.sam(_sgd(lr, momentum, nesterov), adv, sync_period=2, opaque_mode=True)


# ------------------------------------------------------------------------------------ training
class FitResult(NamedTuple):
    params: Any  # trained parameters / model (the centre for replicated optimisers)
    opt_state: Any  # final optimiser state (replicas inside, see `replicas`)
    loss: jax.Array  # (steps,) minibatch loss at the parameters before each update


def _accepts_key(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return "key" in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _check_data(data, batch_size):
    leaves = jax.tree_util.tree_leaves(data)
    if not leaves:
        raise ValueError("data must be a pytree of arrays with a leading example axis, got no arrays")
    sizes = set()
    for x in leaves:
        shape = jnp.shape(x)
        if len(shape) < 1:
            raise ValueError("data arrays must have a leading example axis (got a scalar)")
        sizes.add(shape[0])
    if len(sizes) != 1:
        raise ValueError(f"data arrays must share their leading (example) axis, got lengths {sorted(sizes)}")
    m = sizes.pop()
    if m < 1:
        raise ValueError("data must hold at least one example")
    if batch_size is not None:
        batch_size = V.integer("batch_size", batch_size)
        if batch_size > m:
            raise ValueError(f"batch_size={batch_size} exceeds the number of examples {m}")
    return m, batch_size


def fit(key, params, loss_fn, data, optimizer, steps, batch_size=None) -> FitResult:
    r"""Train ``params`` (a pytree or an equinox model) by minimising ``loss_fn(params, batch)``
    with ``optimizer``, ``steps`` updates in one compiled ``lax.scan``.

    ``k_init, k_steps = split(key)``; ``k_init`` goes to ``optimizer.init`` when it takes a
    ``key`` (replica spreads). Update ``t`` uses ``k_t = split(k_steps, steps)[t]``: it draws one random permutation of
    the examples, and minibatch ``i`` of that update is block ``i`` of it, the examples
    ``perm[(i*B + j) mod M]``, ``j < B = batch_size`` (disjoint blocks while ``(i+1)*B <= M``; all
    of ``data`` when ``batch_size is None``). The optimiser gets ``grads`` (the gradient on minibatch 0),
    ``grad_fn(p, i)`` and, if its ``update`` takes it, ``key`` (for Langevin noise):

    .. code-block:: python

        updates, state = optimizer.update(grads, state, params, grad_fn=grad_fn, key=k)

    so plain optax optimisers, :func:`sam` and the local-entropy optimisers of this module all
    run through it. Only inexact (float) array leaves are trained. Everything is a pure function
    of ``key`` and ``params``: vmap over seeds with ``eqx.filter_vmap`` (for models) or
    ``jax.vmap``. ``loss_fn`` and ``optimizer`` are static: reuse the same objects to avoid
    recompiling.

    Returns :class:`FitResult` ``(params, opt_state, loss)``.
    """
    V.key(key)
    V.callable_arg("loss_fn", loss_fn, "a callable loss_fn(params, batch) -> scalar")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise V.ArgumentTypeError(
            f"optimizer must be an optax GradientTransformation (init/update), got {V.describe(optimizer)}"
        )
    steps = V.integer("steps", steps)
    _check_data(data, batch_size)
    return _fit(key, params, loss_fn, data, optimizer, steps, batch_size)


@eqx.filter_jit
def _fit(key, params, loss_fn, data, optimizer, steps, batch_size):
    dyn, static = eqx.partition(params, eqx.is_inexact_array)
    opt = optax.with_extra_args_support(optimizer)
    pass_key = _accepts_key(opt.update)
    m = jax.tree_util.tree_leaves(data)[0].shape[0]

    def loss_dyn(d, batch):
        return loss_fn(eqx.combine(d, static), batch)

    def step(carry, k):
        d, s = carry
        kd, ko = jax.random.split(k)
        perm = None if batch_size is None else jax.random.permutation(kd, m)

        def batch_at(i):
            if batch_size is None:
                return data
            idx = perm[(i * batch_size + jnp.arange(batch_size)) % m]
            return _tmap(lambda a: a[idx], data)

        def grad_fn(p, i):
            return jax.grad(loss_dyn)(p, batch_at(i))

        loss, g = jax.value_and_grad(loss_dyn)(d, batch_at(0))
        extra = {"grad_fn": grad_fn}
        if pass_key:
            extra["key"] = ko
        upd, s = opt.update(g, s, d, **extra)
        return (optax.apply_updates(d, upd), s), loss

    k_init, k_steps = jax.random.split(key)
    s0 = opt.init(dyn, key=k_init) if _accepts_key(optimizer.init) else opt.init(dyn)
    (d, s), losses = jax.lax.scan(step, (dyn, s0), jax.random.split(k_steps, steps))
    return FitResult(eqx.combine(d, static), s, losses)


# ------------------------------------------------------------------------------------ comparison
class Comparison(NamedTuple):
    """Per-seed measurements of one optimiser (NumPy arrays, leading axis = seeds), see
    :func:`compare`."""

    train_error: Any  # (S,)
    test_error: Any  # (S,) or None
    train_loss: Any  # (S,) final full-data training loss
    sigma: Any  # (nsigma,)
    local_energy: Any  # (S, nsigma) delta E(sigma) = E(sigma) - E(0) of the training error
    top_eigenvalues: Any  # (S, k) top Hessian eigenvalues of the training loss
    ritz_nodes: Any  # (S, iters) Ritz values of the Lanczos run (a one-probe SLQ quadrature ...)
    ritz_weights: Any  # (S, iters) ... with these weights, see flatness.SpectralDensity
    models: Any  # the trained models, stacked over seeds
    seconds: float  # wall time of training + measuring (includes compilation)


def compare(key, init, loss_fn, error_fn, train, optimizers, *, seeds=5, batch_size=None, test=None,
            sigmas=(0.0, 0.05, 0.1, 0.2, 0.3), draws=32, k=3, iters=40) -> dict:
    r"""Train the same ``seeds`` initial models with each optimiser and measure what the flat-minima
    literature compares (Pittorino et al., ICLR 2021): train/test error, the local energy
    :math:`\delta E_{train}(\sigma)` of the training *error* under multiplicative weight noise and
    the top ``k`` Hessian eigenvalues of the training *loss* (Lanczos, ``iters`` steps, from a
    Gaussian start; its Ritz values and weights are also returned: a one-probe stochastic Lanczos
    quadrature of the spectrum, e.g. for ``flatness.SpectralDensity(...).index``).

    ``init(key) -> model``; ``optimizers`` maps a name to ``(optimizer, steps)`` (choose ``steps``
    to equalise the budget you want to compare at, e.g. epochs: Entropy-SGD uses ``L`` gradients
    per update). Seed ``s`` uses ``fold_in(key, s)`` for the initial model (same for every
    optimiser) and for the minibatches; the flatness measures use common keys for all models.
    Everything is vmapped over seeds (``eqx.filter_vmap``). Returns ``{name: Comparison}``.
    """
    import time

    import numpy as np

    V.key(key)
    seeds = V.integer("seeds", seeds)
    sig = V.vector("sigmas", sigmas)
    draws, k, iters = V.integer("draws", draws), V.integer("k", k), V.integer("iters", iters)
    if k > iters:
        raise ValueError(f"k={k} must not exceed iters={iters}")
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(seeds))
    k_le, k_h = jax.random.split(jax.random.fold_in(key, 10**6))
    out = {}
    # initial networks, built outside the compiled training (random initialisers compile slowly)
    starts = eqx.filter_vmap(lambda kk: init(jax.random.fold_in(kk, 1)))(keys)
    for name, (opt, steps) in optimizers.items():
        t0 = time.perf_counter()
        models = _train_seeds(keys, starts, loss_fn, train, opt, V.integer("steps", steps), batch_size)
        tr, te, tl, le, theta, tau = _measure_seeds(models, train, test, jnp.asarray(sig), k_le, k_h, loss_fn,
                                                    error_fn, draws, iters)
        jax.block_until_ready(theta)
        theta, tau = np.asarray(theta), np.asarray(tau)
        out[name] = Comparison(np.asarray(tr), None if te is None else np.asarray(te), np.asarray(tl), sig,
                               np.asarray(le), theta[:, ::-1][:, :k], theta, tau, models, time.perf_counter() - t0)
    return out


@eqx.filter_jit
def _train_seeds(keys, starts, loss_fn, train, opt, steps, batch_size):
    def one(kk, m):
        return _fit(kk, m, loss_fn, train, opt, steps, batch_size).params

    return eqx.filter_vmap(one)(keys, starts)


@eqx.filter_jit
def _measure_seeds(models, train, test, sig, k_le, k_h, loss_fn, error_fn, draws, iters):
    # compiled once per model structure: the same function object serves every optimiser
    from .flatness import _local_energy, _lanczos_quadrature

    def measure(m):
        le = _local_energy(error_fn, m, train, sig, k_le, draws, draws)
        theta, tau = _lanczos_quadrature(loss_fn, m, train, k_h, iters)
        te = None if test is None else error_fn(m, test)
        return error_fn(m, train), te, loss_fn(m, train), le.delta, theta, tau

    return eqx.filter_vmap(measure)(models)
