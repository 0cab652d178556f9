r"""Entropy-driven Monte Carlo (EdMC) on binary perceptrons / committee machines and on K-SAT.

References: C. Baldassi, A. Ingrosso, C. Lucibello, L. Saglietti, R. Zecchina, "Local entropy as a
measure for sampling solutions in constraint satisfaction problems", J. Stat. Mech. (2016) 023301;
Baldassi et al., PNAS 113, E7655 (2016) (the robust ensemble, of which EdMC is the explicit-
reference version).

**Objective.** For a reference configuration :math:`\tilde x` (the weights of the network, or a
K-SAT assignment) and a coupling :math:`\gamma`, the *local free entropy* and the *local entropy*

.. math:: F(\tilde x,\gamma) = \frac1N\log\sum_{x}\mathbb X(x)\,e^{\gamma\,\tilde x\cdot x},\qquad
          \Sigma_{int}(\tilde x,\gamma) = F(\tilde x,\gamma) - \gamma\,S(\tilde x,\gamma),\quad
          S = \frac1N\sum_i\tilde x_i\langle x_i\rangle ,

(:math:`\mathbb X` = every pattern classified / every clause satisfied; N the number of binary
variables) count the solutions around :math:`\tilde x` at the distance :math:`d=(1-S)/2` that
:math:`\gamma` selects. Both are measured by BP with an external field :math:`\gamma\tilde x_i` on
every variable (its Bethe free entropy), warm-started from the messages of the current reference:

* perceptrons: the BP of :mod:`physlearn.algorithms.fbp` (Gaussian first-layer factors, exact
  output node; the same kernels), with the focusing message replaced by the fixed field
  :math:`\gamma\tilde W_{ki}`; :math:`\log Z` is fBP's data term plus :math:`NK\log2\cosh\gamma`;
* K-SAT: zero-temperature BP of :mod:`physlearn.algorithms.ksat.bp` with :math:`f=\gamma\tilde x`.

**Moves.** EdMC is a Metropolis walk on :math:`\tilde x` with energy :math:`-N F` (``objective=
"free_entropy"``, the default: the weight :math:`e^{\beta N F} = Z(\tilde x,\gamma)^\beta` of the
reference in the robust ensemble with :math:`y = \beta` replicas) or :math:`-N\,\Sigma_{int}`
(``"local_entropy"``; at fixed :math:`\gamma` it rewards references *far* from the solutions, whose
selected distance and count are large, so it drives the walk to solutions only with a coupling
tuned to a target distance -- see ``docs/experiments/ksat.md``): a uniformly
chosen variable of the reference is flipped, BP is re-converged (at most ``sweeps_per_move`` sweeps, until
the largest message change is below ``epsilon``), and the flip is accepted with probability
:math:`\min(1, e^{\beta N\Delta})` (:math:`\Delta` the change of the objective). With
``reject_unconverged`` (the default for networks) a proposal whose BP did not converge is rejected
(its value is not a measurement); on K-SAT beyond the clustering threshold BP does not converge at
all, and the walk uses the value after ``sweeps_per_move`` sweeps as a rough estimate (the default there;
the companion paper also calls its K-SAT estimate rough, because of replica symmetry breaking).

A *step* is a sweep of N attempted moves; at the start of every step the schedules set :math:`\gamma_t` (scoping: the coupling grows) and :math:`\beta_t` (annealing;
``inf`` is the zero-temperature walk), and BP is re-converged at the new coupling (from the current
messages, or from fresh random ones if that fails: BP can have several fixed points at large
:math:`\gamma`, and the walk measures on the branch it follows).

**Stopping.** After every accepted move the reference is checked (its training errors / violated
clauses, counted exactly); the run stops when it is a solution (``stop="centre"``) or when the
reference or the clamped BP marginals :math:`\mathrm{sign}\langle x\rangle` are
(``stop="any"``, default). The moves counter stops at the move that solved.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import numerics as nm
from . import fbp as _fbp
from ._network import sign_pm
from .energies import num_errors
from .ksat import bp as _kbp
from .. import _validation as V
from . import schedules
from .results import AlgorithmResult
from .ksat.instances import KSAT, check_problem, num_violated
from .problems import Problem
from .problems import check as check_binary_problem
from .runner import run

__all__ = ["EdMC", "EdMCState", "EdMCInfo", "EdMCResult", "solve", "local_entropy", "OBJECTIVES"]

OBJECTIVES = ("local_entropy", "free_entropy")


# ================================================================================================
# BP with a fixed external field: perceptrons / committee machines (fBP's kernels)
# ================================================================================================
class _PerceptronMsgs(eqx.Module):
    uw: jax.Array  # (M, K, N) first layer -> weights
    up: jax.Array  # (M, K) first layer -> hidden units
    down: jax.Array  # (M, K) output node -> hidden units


def _perc_init(key, problem: Problem, randfact, dt):
    M, K, N = problem.m, problem.k, problem.n
    m0 = randfact * jax.random.uniform(key, (M, K, N), dt, -1.0, 1.0)
    z = jnp.zeros((M, K), dt)
    return _PerceptronMsgs(jnp.arctanh(m0), z, z)


def _perc_sweep(msgs: _PerceptronMsgs, field, problem: Problem, lam):
    """One damped parallel sweep of fBP's messages with the fixed field ``field (K, N)`` in place of
    the focusing message. Returns ``(msgs, diff)``."""
    xi = _fbp._inputs(problem, field.dtype)
    sigma = problem.labels.astype(field.dtype)
    mw = field + jnp.sum(msgs.uw, axis=0)
    u_new, up_new, _ = _fbp._theta_update(mw[None] - msgs.uw, xi, msgs.down)
    uw = (1 - lam) * u_new + lam * msgs.uw
    up = (1 - lam) * up_new + lam * msgs.up
    down_new, _ = _fbp._output_update(up, sigma)
    down = (1 - lam) * down_new + lam * msgs.down
    diff = jnp.maximum(_fbp._mag_change(u_new, msgs.uw), _fbp._mag_change(down_new, msgs.down))
    return _PerceptronMsgs(uw, up, down), diff


def _perc_local(msgs: _PerceptronMsgs, ref, gamma, problem: Problem):
    r"""``(F, S, clamped)``: Bethe :math:`\log Z/NK` with the field :math:`\gamma\tilde W` -- fBP's
    data terms with the field as every weight's extra incoming message, plus the field factor's own
    term :math:`\log Z_f - \log Z_{f,i} = \log2\cosh\gamma` per weight (so that no patterns give
    :math:`F = \log 2\cosh\gamma`) -- the overlap S and :math:`\mathrm{sign}(m_W)`."""
    dt = msgs.uw.dtype
    xi = _fbp._inputs(problem, dt)
    sigma = problem.labels.astype(dt)
    field = gamma * ref.astype(dt)
    M, K, N = msgs.uw.shape
    mw = field + jnp.sum(msgs.uw, axis=0)
    h = mw[None] - msgs.uw
    _, _, arg = _fbp._theta_update(h, xi, msgs.down)
    f_theta = jnp.sum(_fbp._log_agree(msgs.down, arg))
    f_hidden = -jnp.sum(_fbp._log_half_1p(msgs.up, msgs.down))
    f_out = jnp.sum(_fbp._output_update(msgs.up, sigma)[1])
    f_weights = jnp.sum(-(M - 1) * nm.log2cosh(mw) - nm.log2cosh(field)) + jnp.sum(nm.log2cosh(h))
    nk = float(N * K)
    F = (f_theta + f_hidden + f_out + f_weights) / nk + nm.log2cosh(gamma)
    S = jnp.mean(ref.astype(dt) * jnp.tanh(mw))
    return F, S, sign_pm(mw).astype(jnp.int8)


# ================================================================================================
# BP with a fixed external field: K-SAT
# ================================================================================================
def _ksat_init(key, problem: KSAT, randfact, dt):
    return _kbp.messages_init(key, problem, randfact, dt)


def _ksat_sweep(w, field, problem: KSAT, lam):
    H = field + _kbp.variable_sums(_kbp.clause_fields(w, problem), problem)
    w, _, diff = _kbp.sweep(w, H, problem, lam)
    return w, diff


def _ksat_local(w, ref, gamma, problem: KSAT):
    log_z, H = _kbp.bethe_free_entropy(w, gamma * ref.astype(w.dtype), problem)
    return log_z / problem.n, jnp.mean(ref.astype(w.dtype) * jnp.tanh(H)), _kbp.assignment(H)


_MODELS = {
    "perceptron": (_perc_init, _perc_sweep, _perc_local, lambda x, p: num_errors(x, p).astype(jnp.int32)),
    "ksat": (_ksat_init, _ksat_sweep, _ksat_local, num_violated),
}


def _model_of(problem):
    return "ksat" if isinstance(problem, KSAT) else "perceptron"


def _ref_shape(problem):
    return (problem.n,) if isinstance(problem, KSAT) else (problem.k, problem.n)


def _n_vars(problem):
    return problem.n if isinstance(problem, KSAT) else problem.k * problem.n


# ================================================================================================
# The Monte Carlo walk
# ================================================================================================
class EdMCState(eqx.Module):
    """``ref`` the reference (int8, ``(K, N)`` for networks, ``(N,)`` for K-SAT); ``msgs`` its BP
    messages; ``value`` the objective (:math:`\\Sigma_{int}` or F per variable) of ``ref``;
    ``overlap`` S; ``t`` steps done; ``moves`` attempted moves; ``accepted``; ``rejected_bp``
    proposals rejected because BP did not converge; ``bp_sweeps`` BP sweeps done in all;
    ``errors`` of ``ref``; ``clamped_errors`` of the clamped marginals; ``clamped`` the clamped
    marginals."""

    ref: jax.Array
    msgs: eqx.Module | jax.Array
    value: jax.Array
    overlap: jax.Array
    t: jax.Array
    moves: jax.Array
    accepted: jax.Array
    rejected_bp: jax.Array
    bp_sweeps: jax.Array
    errors: jax.Array
    clamped_errors: jax.Array
    clamped: jax.Array


class EdMCInfo(eqx.Module):
    """Per step (sweep of N attempted moves): ``errors`` (of the reference), ``best_errors`` (min
    with the clamped marginals), ``value`` (objective per variable), ``overlap`` S, ``gamma``,
    ``beta``, ``moves``, ``acceptance`` (accepted fraction in the step), ``bp_sweeps`` (total)."""

    errors: jax.Array
    best_errors: jax.Array
    value: jax.Array
    overlap: jax.Array
    gamma: jax.Array
    beta: jax.Array
    moves: jax.Array
    acceptance: jax.Array
    bp_sweeps: jax.Array


class EdMC(eqx.Module):
    """EdMC hyper-parameters: ``gamma``, ``beta`` (schedules of the step), damping, epsilon,
    randfact; static: ``sweeps_per_move``, ``model`` (``"perceptron"``/``"ksat"``), ``objective``,
    ``stop``, ``max_moves`` and ``dtype``."""

    gamma: schedules.Schedule
    beta: schedules.Schedule
    damping: jax.Array
    epsilon: jax.Array
    randfact: jax.Array
    sweeps_per_move: int = eqx.field(static=True)
    reject_unconverged: bool = eqx.field(static=True)
    model: str = eqx.field(static=True)
    objective: str = eqx.field(static=True)
    stop: str = eqx.field(static=True)
    max_moves: int = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def _converge(self, msgs, ref, g, problem):
        """BP from ``msgs`` with field ``g * ref`` until converged or ``sweeps_per_move`` sweeps:
        ``(msgs, value, overlap, clamped, converged, sweeps)``."""
        _, sweep_fn, local_fn, _ = _MODELS[self.model]
        dt = jnp.dtype(self.dtype)
        field = g * ref.astype(dt)
        lam, eps = self.damping.astype(dt), self.epsilon.astype(dt)

        def cond(c):
            return (c[1] < self.sweeps_per_move) & (c[2] >= eps)

        def body(c):
            m, it, _ = c
            m, diff = sweep_fn(m, field, problem, lam)
            return m, it + 1, diff

        msgs, it, diff = jax.lax.while_loop(cond, body, (msgs, jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, dt)))
        F, S, clamped = local_fn(msgs, ref, g, problem)
        value = F - g * S if self.objective == "local_entropy" else F
        return msgs, value, S, clamped, diff < eps, it

    def init(self, key, problem) -> EdMCState:
        init_fn, _, _, err_fn = _MODELS[self.model]
        dt = jnp.dtype(self.dtype)
        k_ref, k_msg = jax.random.split(key)
        ref = jnp.where(jax.random.bernoulli(k_ref, 0.5, _ref_shape(problem)), 1, -1).astype(jnp.int8)
        msgs = init_fn(k_msg, problem, self.randfact.astype(dt), dt)
        msgs, value, S, clamped, _, it = self._converge(msgs, ref, jnp.asarray(self.gamma(0), dt), problem)
        z = jnp.zeros((), jnp.int32)
        return EdMCState(ref, msgs, value, S, z, z, z, z, it, err_fn(ref, problem), err_fn(clamped, problem), clamped)

    def _done(self, st):
        if self.stop == "centre":
            return st.errors == 0
        if self.stop == "any":
            return (st.errors == 0) | (st.clamped_errors == 0)
        return jnp.zeros((), bool)

    def step(self, key, st: EdMCState, problem):
        _, _, _, err_fn = _MODELS[self.model]
        dt = jnp.dtype(self.dtype)
        g = jnp.asarray(self.gamma(st.t), dt)
        beta = jnp.asarray(self.beta(st.t), dt)
        n_vars = _n_vars(problem)
        # the new coupling: re-converge BP for the current reference (warm start); if that fails, from
        # fresh random messages (BP can have several fixed points; a failed warm start is not a measurement)
        k_msg, key = jax.random.split(key)
        msgs, value, S, clamped, conv, it = self._converge(st.msgs, st.ref, g, problem)
        fresh = _MODELS[self.model][0](k_msg, problem, self.randfact.astype(dt), dt)
        msgs, value, S, clamped, conv, it2 = jax.lax.cond(
            conv, lambda: (msgs, value, S, clamped, conv, jnp.zeros((), jnp.int32)),
            lambda: self._converge(fresh, st.ref, g, problem))
        it = it + it2
        st = eqx.tree_at(lambda s: (s.msgs, s.value, s.overlap, s.clamped, s.bp_sweeps, s.clamped_errors), st,
                         (msgs, value, S, clamped, st.bp_sweeps + it, err_fn(clamped, problem)))
        bits = jax.random.bits(key, (n_vars, 2), jnp.uint32)
        acc0 = st.accepted

        def move(j, st):
            active = ~self._done(st) & (st.moves < self.max_moves)
            i = (bits[j, 0] % jnp.uint32(n_vars)).astype(jnp.int32)
            new_ref = st.ref.reshape(-1).at[i].multiply(-1).reshape(st.ref.shape)

            def propose(st):
                m2, v2, S2, cl2, conv, it2 = self._converge(st.msgs, new_ref, g, problem)
                u = jax.lax.bitcast_convert_type((bits[j, 1] >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0
                gain = (v2 - st.value) * n_vars
                ok = (gain >= 0) | (jnp.log(u).astype(dt) < beta * gain)
                if self.reject_unconverged:
                    ok = ok & conv
                errs = jax.lax.cond(ok, lambda: (err_fn(new_ref, problem), err_fn(cl2, problem)),
                                    lambda: (st.errors, st.clamped_errors))
                sel = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(ok, x, y), a, b)  # noqa: E731
                return EdMCState(
                    ref=sel(new_ref, st.ref), msgs=sel(m2, st.msgs), value=sel(v2, st.value),
                    overlap=sel(S2, st.overlap), t=st.t, moves=st.moves + 1,
                    accepted=st.accepted + ok.astype(jnp.int32), rejected_bp=st.rejected_bp + (~conv).astype(jnp.int32),
                    bp_sweeps=st.bp_sweeps + it2, errors=errs[0], clamped_errors=errs[1], clamped=sel(cl2, st.clamped),
                )

            return jax.lax.cond(active, propose, lambda s: s, st)

        st = jax.lax.fori_loop(0, n_vars, move, st)
        st = eqx.tree_at(lambda s: s.t, st, st.t + 1)
        n_done = jnp.maximum(jnp.minimum(n_vars, st.moves), 1)
        info = EdMCInfo(
            errors=st.errors, best_errors=jnp.minimum(st.errors, st.clamped_errors), value=st.value,
            overlap=st.overlap, gamma=g, beta=beta, moves=st.moves,
            acceptance=(st.accepted - acc0).astype(dt) / n_done.astype(dt), bp_sweeps=st.bp_sweeps,
        )
        return st, info


class EdMCResult(AlgorithmResult):
    """Result of :func:`solve` (leading axis S for a batch). Base fields: ``solved`` (``weights``
    is a solution, counted on it), ``steps`` (**attempted moves**), ``errors`` (training errors /
    violated clauses of ``weights``), ``weights`` (the reference, or the clamped marginals when
    they are a solution and the reference is not; int8), ``trace``. Own fields: ``reference``
    (the final reference), ``reference_errors``, ``accepted`` moves, ``rejected_bp`` (proposals
    whose BP did not converge), ``bp_sweeps`` (BP sweeps in all: the real cost), ``value``
    (objective per variable), ``overlap`` S, ``gamma`` and ``beta`` (last used)."""

    reference: jax.Array
    reference_errors: jax.Array
    accepted: jax.Array
    rejected_bp: jax.Array
    bp_sweeps: jax.Array
    value: jax.Array
    overlap: jax.Array
    gamma: jax.Array
    beta: jax.Array


def _check_problem(problem):
    """A perceptron / committee :class:`~physlearn.algorithms.problems.Problem` (teacher dropped) or
    a :class:`~physlearn.algorithms.ksat.KSAT`, one instance or a batch with one leading axis."""
    if isinstance(problem, KSAT):
        return check_problem(problem)
    if not isinstance(problem, Problem):
        raise V.ArgumentTypeError(
            f"problem must be a physlearn.algorithms.problems.Problem or a ksat.KSAT instance, got {V.describe(problem)}"
        )
    return check_binary_problem(problem)


def solve(
    key,
    problem,
    *,
    gamma=None,
    beta=None,
    objective: str = "free_entropy",
    max_steps: int = 100,
    stop: str = "any",
    sweeps_per_move: int = 50,
    reject_unconverged: bool | None = None,
    damping=0.5,
    epsilon=1e-4,
    randfact=0.1,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> EdMCResult:
    r"""Entropy-driven Monte Carlo (module doc) on a perceptron / committee machine or on K-SAT.

    **Arguments:**

    - ``key`` (typed PRNG key; sample i of a batch uses ``fold_in(key, i)``), ``problem`` (a
      :class:`~physlearn.algorithms.problems.Problem` or a :class:`~physlearn.algorithms.ksat.KSAT`,
      one instance or a batch).
    - ``gamma``: coupling :math:`\gamma\ge0` per step (a float or a schedule ``step -> gamma``,
      scoping); default ``schedules.exponential(0.3, 1.2)`` (a 20% increase per sweep of moves).
    - ``beta``: inverse temperature :math:`\beta>0` per step (float, ``inf`` allowed, or a schedule;
      annealing); default ``inf`` (the zero-temperature walk of the companion paper).
    - ``objective``: ``"free_entropy"`` (F, default) or ``"local_entropy"`` (:math:`\Sigma_{int}`).
    - ``max_steps``: budget in steps, each a sweep of N **attempted moves** (N the number of binary
      variables); the result's ``steps`` counts attempted moves.
    - ``stop``: ``"any"`` (reference or clamped marginals a solution), ``"centre"`` (reference) or
      ``"never"``.
    - ``sweeps_per_move``, ``damping``, ``epsilon``, ``randfact``: BP's sweeps per measurement at most, its
      damping, convergence threshold and initial messages; ``reject_unconverged``: reject proposals
      whose BP did not converge (default True for networks, False for K-SAT).
    - ``dtype``, ``trace``, ``progress`` (None: a bar once the run lasts a few seconds), ``mesh``
      (shard the samples).

    **Returns:** :class:`EdMCResult`; ``solved`` is verified on the returned configuration.
    """
    V.key(key)
    problem = _check_problem(problem)
    model = _model_of(problem)
    V.choice("objective", objective, OBJECTIVES)
    V.choice("stop", stop, V.STOPS)
    max_steps = V.integer("max_steps", max_steps)
    dt = V.float_dtype(dtype)
    hp, P = schedules.hyper_batch({
        "gamma": schedules.check("gamma", schedules.exponential(0.3, 1.2) if gamma is None else gamma),
        "beta": schedules.check("beta", float("inf") if beta is None else beta, allow_inf=True, positive=True),
    }, dt)
    if P is not None:
        raise ValueError(f"gamma, beta: edmc.solve takes one hyper-parameter point, got a batch of {P}")
    algo = EdMC(
        **hp, **_bp_fields(damping, epsilon, randfact, dt),
        sweeps_per_move=V.integer("sweeps_per_move", sweeps_per_move), model=model, objective=objective, stop=stop,
        reject_unconverged=(model != "ksat") if reject_unconverged is None else bool(reject_unconverged),
        max_moves=max_steps * _n_vars(problem), dtype=dt.name,
    )
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, trace=trace,
              progress=progress, description=f"EdMC ({model})", mesh=mesh)
    return _result(res, problem, model, trace)


@eqx.filter_jit
def _result(res, problem, model, trace):
    _, _, _, err_fn = _MODELS[model]
    st = res.state
    use_clamped = (st.errors > 0) & (st.clamped_errors == 0)
    shape = st.ref.shape[st.ref.ndim - len(_ref_shape(problem)) :]
    w = jnp.where(use_clamped.reshape(use_clamped.shape + (1,) * len(shape)), st.clamped, st.ref)
    errs = _batched_errors(err_fn, w, problem)
    return EdMCResult(
        solved=errs == 0, steps=st.moves, errors=errs, weights=w, trace=res.trace if trace else None,
        reference=st.ref, reference_errors=_batched_errors(err_fn, st.ref, problem), accepted=st.accepted,
        rejected_bp=st.rejected_bp, bp_sweeps=st.bp_sweeps, value=st.value, overlap=st.overlap,
        gamma=res.info.gamma, beta=res.info.beta,
    )


def _bp_fields(damping, epsilon, randfact, dt):
    """BP's validated ``damping``, ``epsilon`` and ``randfact`` as ``dt`` arrays."""
    return dict(
        damping=jnp.asarray(V.real("damping", damping, nonneg=True, below=1.0), dt),
        epsilon=jnp.asarray(V.real("epsilon", epsilon, positive=True), dt),
        randfact=jnp.asarray(V.real("randfact", randfact, nonneg=True, below=1.0), dt),
    )


def _batched_errors(err_fn, x, problem):
    return jax.vmap(err_fn)(x, problem) if problem.batch_shape else err_fn(x, problem)


def local_entropy(key, problem, reference, gamma, *, objective: str = "local_entropy", max_steps: int = 1000,
                  damping=0.5, epsilon=1e-6, randfact=0.1, dtype=None):
    r"""Measure :math:`\Sigma_{int}(\tilde x,\gamma)` (or F) of a given reference by BP with the
    field :math:`\gamma\tilde x` (module doc), on one instance. Returns ``(value, overlap S,
    converged)``; ``reference`` is +-1, shape ``(K, N)`` for networks and ``(N,)`` for K-SAT;
    ``max_steps`` bounds the BP sweeps."""
    V.key(key)
    problem = _check_problem(problem)
    if problem.batch_shape:
        raise ValueError(f"local_entropy measures one instance, got a batch {problem.batch_shape}")
    V.choice("objective", objective, OBJECTIVES)
    ref = np.asarray(reference)
    if ref.shape != _ref_shape(problem) or not np.all(np.abs(ref) == 1):
        raise ValueError(f"reference must be a +-1 array of shape {_ref_shape(problem)}, got shape {ref.shape}")
    dt = V.float_dtype(dtype if dtype is not None else (jnp.float64 if jax.config.jax_enable_x64 else jnp.float32))
    g = V.real("gamma", gamma, nonneg=True)
    one = schedules.Constant(jnp.asarray(1.0, dt))
    algo = EdMC(
        gamma=schedules.Constant(jnp.asarray(g, dt)), beta=one, **_bp_fields(damping, epsilon, randfact, dt),
        sweeps_per_move=V.integer("max_steps", max_steps), reject_unconverged=True, model=_model_of(problem),
        objective=objective, stop="never", max_moves=1, dtype=dt.name,
    )
    return _measure(algo, key, problem, jnp.asarray(ref, jnp.int8), jnp.asarray(g, dt))


@eqx.filter_jit
def _measure(algo, key, problem, ref, g):
    init_fn = _MODELS[algo.model][0]
    dt = jnp.dtype(algo.dtype)
    msgs = init_fn(key, problem, algo.randfact.astype(dt), dt)
    _, value, S, _, conv, _ = algo._converge(msgs, ref, g, problem)
    return value, S, conv
