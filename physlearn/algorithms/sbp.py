r"""Stochastic binary perceptron: gradient descent on the synapses' magnetizations.

Reference: C. Baldassi, F. Gerace, H. J. Kappen, C. Lucibello, L. Saglietti, E. Tartaglione,
R. Zecchina, "Role of synaptic stochasticity in training low-precision neural networks",
PRL 120, 268103 (2018).

Each binary synapse is random, :math:`P(W_{ki}=\pm1) = (1\pm m_{ki})/2`, with magnetization
:math:`m_{ki} = \tanh(\beta h_{ki})`. For large N the hidden pre-activation
:math:`\sum_i W_{ki}\xi_{(k)i}` is Gaussian with mean :math:`\mu_k = \sum_i m_{ki}\xi_{(k)i}` and
variance :math:`v_k = \sum_i (1-m_{ki}^2)\xi_{(k)i}^2`, so that a perceptron classifies pattern
:math:`(\xi,\sigma)` correctly with probability

.. math:: P(\sigma\mid\xi) = H\!\Big(-\frac{\sigma\mu}{\sqrt v}\Big)

(the *erfc likelihood*). For a committee machine (K odd) the hidden units are treated as
independent (the paper's "uncorrelated neurons" approximation): unit k agrees with the label with
probability :math:`p_k = H(-\sigma\mu_k/\sqrt{v_k})`, and the majority vote is right with the
Poisson-binomial probability :math:`P(\#\{k:\text{agrees}\} > K/2)`, computed exactly in log space.

Training minimises the negative log-likelihood :math:`L(h) = -\sum_\mu \log P(\sigma^\mu\mid\xi^\mu)`
(minibatch means, any optax optimiser) with ``log_H`` in its stable form; the binary network read
out is :math:`W = \mathrm{sign}(h)`, and the run stops when it has zero training errors.
Options: a polarisation schedule :math:`\beta_t` (a schedule of the epoch, e.g.
``schedules.exponential(1.0, 1.01)``), and an annealed entropy bonus :math:`-(T_t/M)\sum_i
S((1+m_i)/2)` (e.g. ``temperature=schedules.exponential(1.0, 0.998)``, the one measure that helped
at :math:`\alpha=0.7` in an independent NumPy study).

:func:`mc_pattern_probabilities` estimates :math:`P(\sigma\mid\xi)` by sampling W, to check the
large-N formula at finite N.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import _validation as V
from .. import numerics as nm
from . import schedules
from ._network import outputs_from_preacts, preactivations, sign_pm
from .problems import Problem, solve_arguments
from .problems import check as check_problem
from .results import AlgorithmResult, base_fields
from .rsgd import minibatch_indices
from .runner import run

__all__ = [
    "SBP",
    "SBPState",
    "SBPInfo",
    "SBPResult",
    "magnetizations",
    "pattern_log_likelihood",
    "loss",
    "mc_pattern_probabilities",
    "solve",
]


def magnetizations(h, beta=1.0):
    r""":math:`m = \tanh(\beta h)`."""
    return jnp.tanh(beta * h)


def _unit_z(m, inputs, tree: bool, var_floor):
    """Per hidden unit: mean / sqrt(variance) of the pre-activation, shape (M, K)."""
    mu = preactivations(m, inputs, tree)
    # +-1 inputs (xi^2 = 1): v_k = sum_i (1 - m_ki^2) is the same for every pattern
    v = jnp.sum(1.0 - m * m, axis=-1)
    return mu * jax.lax.rsqrt(jnp.maximum(v, var_floor))


def _majority_log_prob(log_agree, log_disagree):
    """log P(more than K/2 of K independent units agree), from per-unit log-probabilities
    ``(..., K)``: Poisson-binomial dynamic programme in log space."""
    k = log_agree.shape[-1]
    counts = [jnp.zeros(log_agree.shape[:-1], log_agree.dtype)]  # log P(j of the first u agree)
    for u in range(k):  # the list only holds reachable counts: no -inf, finite gradients
        la, ld = log_agree[..., u], log_disagree[..., u]
        counts = (
            [counts[0] + ld]
            + [jnp.logaddexp(counts[j] + ld, counts[j - 1] + la) for j in range(1, len(counts))]
            + [counts[-1] + la]
        )
    return jax.nn.logsumexp(jnp.stack(counts[(k + 1) // 2 :], axis=-1), axis=-1)


def pattern_log_likelihood(m, inputs, labels, *, tree: bool = False, var_floor=1e-6):
    r"""Large-N log-probability that a network with synapse magnetizations ``m (K, N)`` classifies
    each pattern correctly, shape ``(M,)``: :math:`\log H(-\sigma\mu/\sqrt v)` for the perceptron,
    the log Poisson-binomial majority probability for committees (K > 1). Stable for
    :math:`|m|\to1` and large stabilities (``numerics.log_H``)."""
    z = _unit_z(m, inputs, tree, var_floor)
    s = labels.astype(m.dtype)[..., None] * z  # sigma * mu_k / sqrt(v_k)
    log_agree = nm.log_H(-s)
    if m.shape[-2] == 1:
        return log_agree[..., 0]
    return _majority_log_prob(log_agree, nm.log_H(s))


def _entropy_of_field(x):
    r"""Binary entropy of :math:`p=(1+\tanh x)/2`, i.e. :math:`\log2\cosh x - x\tanh x`: finite
    with a vanishing gradient :math:`-x\,\mathrm{sech}^2 x` as :math:`|x|\to\infty` (the form
    in p has :math:`\log 0` there)."""
    return nm.log2cosh(x) - x * jnp.tanh(x)


def loss(h, inputs, labels, *, tree: bool = False, beta=1.0, temperature=0.0, var_floor=1e-6):
    r"""Mean negative erfc log-likelihood over the given patterns, minus the entropy bonus
    :math:`(T/M)\sum_i S((1+m_i)/2)` (zero by default); :math:`m=\tanh(\beta h)`."""
    m = magnetizations(h, beta)
    nll = -jnp.mean(pattern_log_likelihood(m, inputs, labels, tree=tree, var_floor=var_floor))
    m_total = labels.shape[-1]
    return nll - temperature * jnp.sum(_entropy_of_field(beta * h)) / m_total


def mc_pattern_probabilities(key, m, problem: Problem, samples: int = 1000):
    r"""Monte Carlo estimate of :math:`P(\sigma^\mu\mid\xi^\mu)` for one instance: draw ``samples``
    networks :math:`W_{ki}=\pm1` with :math:`P(W_{ki}=1)=(1+m_{ki})/2` and count correct
    classifications. Returns ``(p_hat, stderr)``, each ``(M,)``. Exact in distribution at any N
    (no Gaussian approximation): compare with ``exp(pattern_log_likelihood(...))``."""
    key = V.key(key)
    problem = check_problem(problem)
    if problem.batch_shape:
        raise ValueError("mc_pattern_probabilities takes one instance (use jax.vmap over a batch)")
    samples = V.integer("samples", samples, minimum=2)
    m = jnp.asarray(m, dtype=jnp.result_type(float))
    if m.shape != (problem.k, problem.n):
        raise ValueError(f"m must have shape {(problem.k, problem.n)}, got {m.shape}")

    def one(k):
        u = jax.random.uniform(k, m.shape, dtype=m.dtype)
        w = jnp.where(u < 0.5 * (1.0 + m), 1.0, -1.0).astype(m.dtype)
        out = outputs_from_preacts(preactivations(w, problem.inputs, problem.tree))
        return (out == problem.labels.astype(m.dtype)).astype(m.dtype)

    correct = jax.lax.map(one, jax.random.split(key, samples), batch_size=64)
    p_hat = jnp.mean(correct, axis=0)
    se = jnp.sqrt(jnp.maximum(p_hat * (1.0 - p_hat), 1.0 / samples) / samples)
    return p_hat, se


class SBPState(eqx.Module):
    """Carried state: fields ``h (K, N)``, the optimiser state, the ``epoch`` counter (the step of
    the schedules) and ``beta``, the polarisation of the next epoch."""

    h: jax.Array
    opt_state: optax.OptState
    epoch: jax.Array
    beta: jax.Array


class SBPInfo(eqx.Module):
    """Per-epoch report: training ``errors`` of ``sign(h)`` (``best_errors`` is the same, for the
    shared driver), the full-batch negative log-likelihood ``nll``, the mean squared magnetization
    ``q`` (1 = fully polarised) and ``beta``."""

    errors: jax.Array
    best_errors: jax.Array
    nll: jax.Array
    q: jax.Array
    beta: jax.Array


class SBP(eqx.Module):
    """SBP hyper-parameters: ``learning_rate`` (of the default Adam; ignored with an ``optimizer``),
    ``beta`` and ``temperature`` are schedules of the epoch; numbers may carry a leading
    hyper-parameter axis."""

    learning_rate: schedules.Schedule
    beta: schedules.Schedule
    temperature: schedules.Schedule
    init_scale: jax.Array
    var_floor: jax.Array
    optimizer: optax.GradientTransformation | None = eqx.field(static=True)
    batch: int = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def _optimizer(self, epoch, dt):
        if self.optimizer is not None:
            return self.optimizer
        return optax.adam(self.learning_rate(epoch).astype(dt))

    def init(self, key, problem: Problem) -> SBPState:
        """Fields :math:`h \\sim N(0, \\text{init\\_scale}^2)`."""
        dt = jnp.dtype(self.dtype)
        h = self.init_scale.astype(dt) * jax.random.normal(key, (problem.k, problem.n), dtype=dt)
        epoch = jnp.zeros((), jnp.int32)
        return SBPState(h=h, opt_state=self._optimizer(epoch, dt).init(h), epoch=epoch,
                        beta=self.beta(epoch).astype(dt))

    def _report(self, h, mm, x, sig, tree: bool, b: int):
        """End-of-epoch report: training errors of the read-out ``sign(h)`` and the mean negative
        log-likelihood at magnetizations ``mm``, over contiguous blocks of ``b`` patterns (the
        last block shifted back to end at pattern M, its repeated patterns masked). Each block's
        int8 -> float conversion stays in cache: a whole-X expression would make XLA hoist one
        float copy of every pattern (4 bytes per entry, written and read twice) out of the epoch."""
        dt = h.dtype
        m_tot = sig.shape[-1]
        w = sign_pm(h)
        var_floor = self.var_floor.astype(dt)

        def block(carry, j):
            start = jnp.minimum(j * b, m_tot - b)
            xb = jax.lax.dynamic_slice_in_dim(x, start, b, axis=0)
            sb = jax.lax.dynamic_slice_in_dim(sig, start, b, axis=0)
            new = start + jnp.arange(b) >= j * b  # not counted by the previous block
            wrong = outputs_from_preacts(preactivations(w, xb, tree)) != sb.astype(dt)
            ll = pattern_log_likelihood(mm, xb, sb, tree=tree, var_floor=var_floor)
            errs, total = carry
            return (errs + jnp.sum(new & wrong, dtype=jnp.int32), total + jnp.sum(jnp.where(new, ll, 0))), None

        zero = (jnp.zeros((), jnp.int32), jnp.zeros((), dt))
        (errs, total), _ = jax.lax.scan(block, zero, jnp.arange(-(-m_tot // b), dtype=jnp.int32))
        return errs, -total / m_tot

    def step(self, key, state: SBPState, problem: Problem):
        """One epoch: a random permutation of the patterns in minibatches, one optimiser step per
        minibatch; then the read-out's training errors."""
        dt = state.h.dtype
        m_tot = problem.m
        b = min(self.batch, m_tot)
        x = problem.inputs
        sig = problem.labels
        tree = problem.tree
        idx = minibatch_indices(key, 1, m_tot, b)[:, 0, :]  # (nb, b), -1 = padding
        beta = self.beta(state.epoch).astype(dt)
        temperature = self.temperature(state.epoch).astype(dt)
        optimizer = self._optimizer(state.epoch, dt)

        def minibatch(carry, ids):
            h, opt_state = carry
            mask = (ids >= 0).astype(dt)
            ids = jnp.maximum(ids, 0)

            def objective(hh):
                mm = magnetizations(hh, beta)
                ll = pattern_log_likelihood(mm, x[ids], sig[ids], tree=tree, var_floor=self.var_floor.astype(dt))
                nll = -jnp.sum(mask * ll) / jnp.sum(mask)
                return nll - temperature * jnp.sum(_entropy_of_field(beta * hh)) / m_tot

            grads = jax.grad(objective)(h)
            updates, opt_state = optimizer.update(grads, opt_state, h)
            return (optax.apply_updates(h, updates), opt_state), None

        (h, opt_state), _ = jax.lax.scan(minibatch, (state.h, state.opt_state), idx)
        mm = magnetizations(h, beta)
        errs, nll = self._report(h, mm, x, sig, tree, b)
        info = SBPInfo(errors=errs, best_errors=errs, nll=nll, q=jnp.mean(mm * mm), beta=beta)
        epoch = state.epoch + 1
        return SBPState(h=h, opt_state=opt_state, epoch=epoch, beta=self.beta(epoch).astype(dt)), info


class SBPResult(AlgorithmResult):
    """Result of :func:`solve` (:class:`~physlearn.algorithms.results.AlgorithmResult`; batch axes
    ``(P?, S?)`` in front of every array): ``solved``, ``steps`` (epochs), ``errors``, ``weights``
    (the binary read-out ``sign(h)``, int8 ``(K, N)``), ``trace`` (per-epoch :class:`SBPInfo`), and
    ``magnetizations`` (:math:`\\tanh(\\beta h)` at the end)."""

    magnetizations: jax.Array


@V.renamed_arguments(
    "lr", "max_epochs", "beta_factor",
    temperature_factor="temperature=schedules.exponential(temperature, temperature_factor)",
)
def solve(
    key,
    problem: Problem,
    *,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate=None,
    batch: int = 100,
    beta=1.0,
    temperature=0.0,
    init_scale=0.1,
    var_floor=1e-6,
    max_steps: int = 1000,
    stop: str = "any",
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> SBPResult:
    r"""Train a binary perceptron / committee machine by gradient descent on the erfc likelihood
    of the stochastic binary perceptron (Baldassi et al., PRL 120, 268103 (2018)).

    **Arguments:**

    - ``key``, ``problem``: as in :func:`physlearn.algorithms.rsgd.solve` (one instance or a batch
      with one leading sample axis; sample ``i`` uses ``fold_in(key, i)``).
    - ``optimizer``: any optax transformation (default: ``optax.adam(learning_rate)``).
    - ``learning_rate``: Adam's step size (default 0.05), a number or a schedule of the epoch;
      not with ``optimizer`` (which carries its own).
    - ``batch``: minibatch size (clipped to M; ``batch >= M`` is full-batch descent).
    - ``beta``: polarisation, :math:`m=\tanh(\beta h)`, a number or a schedule of the epoch (e.g.
      ``schedules.exponential(1.0, 1.01)``).
    - ``temperature``: the entropy bonus (0 = off), a number or a schedule of the epoch (e.g.
      ``schedules.exponential(1.0, 0.998)``).
    - ``init_scale``: std of the initial fields; ``var_floor``: floor on the pre-activation
      variance (the Gaussian approximation degenerates when all :math:`|m_i|\to1`).
    - ``max_steps``: budget in **epochs**; ``stop``: ``"any"``/``"centre"`` (the same here: stop
      when ``sign(h)`` has zero training errors) or ``"never"``.
    - ``dtype``: float32 (default) or float64; ``trace``, ``progress``, ``mesh``: as for RSGD.

    Numbers of ``learning_rate``, ``beta``, ``temperature``, ``init_scale``, ``var_floor`` may be
    1-D arrays of equal length P (a hyper-parameter batch; leading result axis P). Defaults (Adam,
    learning rate 0.05, batch 100) solve random perceptrons up to :math:`\alpha\approx0.6` at
    N ~ 1000.
    """
    key, problem, max_steps, dt = solve_arguments(key, problem, max_steps=max_steps, stop=stop, dtype=dtype)
    batch = V.integer("batch", batch)
    if optimizer is not None:
        if not isinstance(optimizer, optax.GradientTransformation):
            raise V.ArgumentTypeError(f"optimizer must be an optax.GradientTransformation, got {V.describe(optimizer)}")
        if learning_rate is not None:
            raise ValueError("give learning_rate or optimizer, not both (the optimizer carries its own learning rate)")
    hp = {
        "learning_rate": schedules.check("learning_rate", 0.05 if learning_rate is None else learning_rate, positive=True),
        "beta": schedules.check("beta", beta, positive=True),
        "temperature": schedules.check("temperature", temperature),
        "init_scale": V.hyper_parameter("init_scale", init_scale, positive=True),
        "var_floor": V.hyper_parameter("var_floor", var_floor, positive=True),
    }
    hp, P = schedules.hyper_batch(hp, dt)
    algo = SBP(**hp, optimizer=optimizer, batch=batch, dtype=dt.name)
    res = run(
        algo, key, problem, max_steps=max_steps, stop=stop, hyper_batch=P, trace=trace, progress=progress,
        description="SBP descent", mesh=mesh,
    )
    return _result(res, problem, trace, P is not None, stop)


@eqx.filter_jit
def _result(res, problem, trace, hyper, stop):
    h = res.state.h
    weights = sign_pm(h).astype(jnp.int8)
    return SBPResult(
        **base_fields(res, weights, problem, trace=trace, hyper=hyper, stop=stop),
        magnetizations=jnp.tanh(res.state.beta[..., None, None] * h),
    )
