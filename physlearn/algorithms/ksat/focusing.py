r"""Reinforced BP (rBP) and focusing BP (fBP) on K-SAT.

References: Baldassi et al., PNAS 113, E7655 (2016), appendix D.4 (both algorithms on K-SAT,
the fBP protocol); A. Braunstein, R. Zecchina, PRL 96, 030201 (2006) (reinforcement);
:mod:`physlearn.algorithms.fbp` (fBP on perceptrons: the same focusing message).

Both run zero-temperature BP (:mod:`physlearn.algorithms.ksat.bp`) with an external field
:math:`f_i` on every variable that is updated after every sweep from the fields the clauses send,
:math:`H^c_i = \sum_{a\ni i} u_{a\to i}`; the total field is :math:`H_i = f_i + H^c_i`.

**rBP** ("soft decimation"): :math:`f_i \leftarrow \rho_t\,(f_i + H^c_i)`, the previous total
field scaled by the reinforcement :math:`\rho_t` that grows to 1 (``reinforcement``: a float or a
schedule ``sweep -> rho``, :mod:`~physlearn.algorithms.schedules`). With :math:`\rho` fixed the fixed point has
:math:`f = \rho H^c/(1-\rho)`: the marginals are sharpened as :math:`H = H^c/(1-\rho)`, which
drives BP onto one configuration. Fields are clipped at ``FIELD_MAX``.

**fBP**: the robust ensemble of y replicas coupled with strength :math:`\gamma` to a reference that
is traced out; under the replica-symmetric assumption the replicas' BP is one copy of BP with the
*focusing* field

.. math:: f_i = \operatorname{atanh}\Big[\tanh\gamma\,\tanh\Big((y-1)\operatorname{atanh}
          \big(\tanh\gamma\tanh H^c_i\big)\Big)\Big],

damped like the messages. The PNAS 2016 protocol: y fixed, :math:`\gamma` raised by steps
(``gamma``: a float or a schedule ``protocol step -> gamma``, default
``schedules.linear(0.05, 0.05)``); a protocol step ends when BP has converged (largest change below
``epsilon``) or after ``sweeps_per_step`` sweeps, and the run stops when clamping the marginals gives a
solution. :math:`\gamma=\infty` is standard reinforcement with :math:`f = (y-1)H^c`.

**Clamping.** After every sweep both :math:`\mathrm{sign}(H)` and the cavity assignment
:math:`\mathrm{sign}(H^c)` (without the external field) are checked; ``errors`` is that of
:math:`\mathrm{sign}(H)`, ``best_errors`` the smaller of the two, and the run stops when either
violates no clause (``stop="any"``) or when :math:`\mathrm{sign}(H)` does (``stop="centre"``). The
returned assignment is the better of the two, and its violated clauses are counted again.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ... import _validation as V
from .. import schedules
from ..fbp import _focusing
from ..results import AlgorithmResult
from ..runner import run
from .bp import FIELD_MAX, assignment, setup, start, sweep
from .instances import KSAT, num_violated

__all__ = [
    "FieldBP", "ReinforcedBP", "FocusingBP", "FieldBPState", "FieldBPInfo", "ReinforcedResult", "FocusingResult",
    "solve_rbp", "solve_fbp", "default_reinforcement",
]


class FieldBPState(eqx.Module):
    """``w (M, K)`` messages; ``f (N,)`` external fields; ``H (N,)`` total fields
    (:math:`f + H^c`); ``t`` sweeps done; ``k`` protocol step (fBP; 0 for rBP); ``in_step`` sweeps in
    the current protocol step."""

    w: jax.Array
    f: jax.Array
    H: jax.Array
    t: jax.Array
    k: jax.Array
    in_step: jax.Array


class FieldBPInfo(eqx.Module):
    """Per sweep: ``errors`` (of ``sign(H)``), ``best_errors`` (min with ``sign(H^c)``),
    ``max_diff``, ``parameter`` (rBP: the reinforcement :math:`\\rho`; fBP: :math:`\\gamma`),
    ``protocol_step`` (fBP)."""

    errors: jax.Array
    best_errors: jax.Array
    max_diff: jax.Array
    parameter: jax.Array
    protocol_step: jax.Array


def _clamped(H, f, problem):
    """``(x, errors)`` of the better of ``sign(H)`` and ``sign(H - f)``, and errors of ``sign(H)``."""
    x_tot, x_cav = assignment(H), assignment(H - f)
    e_tot, e_cav = num_violated(x_tot, problem), num_violated(x_cav, problem)
    best = e_cav < e_tot
    return jnp.where(best[..., None], x_cav, x_tot), jnp.minimum(e_tot, e_cav), e_tot


class FieldBP(eqx.Module):
    """The machinery that rBP and fBP share: BP with an external field ``f`` that ``_field``
    updates after every sweep (abstract; see :class:`ReinforcedBP`, :class:`FocusingBP`)."""

    damping: jax.Array
    randfact: jax.Array
    dtype: str = eqx.field(static=True)

    def init(self, key, problem: KSAT) -> FieldBPState:
        w, Hc = start(key, problem, self.randfact, self.dtype)
        z = jnp.zeros((), jnp.int32)
        return FieldBPState(w, jnp.zeros_like(Hc), Hc, z, z, z)

    @abc.abstractmethod
    def _field(self, st, Hc, diff):
        """The field after a sweep: ``(f, extra diff, parameter, k, in_step)``."""

    def step(self, key, st: FieldBPState, problem: KSAT):
        dt = st.w.dtype
        w, Hc, diff = sweep(st.w, st.H, problem, self.damping.astype(dt))
        f, dfield, par, k, in_step = self._field(st, Hc, diff)
        H = f + Hc
        _, best, e = _clamped(H, f, problem)
        st = FieldBPState(w, f, H, st.t + 1, k, in_step)
        return st, FieldBPInfo(e, best, jnp.maximum(diff, dfield), par, k)


class ReinforcedBP(FieldBP):
    """rBP hyper-parameters: ``reinforcement``, a schedule of the sweep
    (:mod:`~physlearn.algorithms.schedules`)."""

    reinforcement: schedules.Schedule

    def _field(self, st, Hc, diff):
        dt = Hc.dtype
        rho = jnp.asarray(self.reinforcement(st.t), dt)
        f = jnp.clip(rho * (st.f + Hc), -FIELD_MAX, FIELD_MAX)
        return f, jnp.zeros((), dt), rho, st.k, st.in_step


class FocusingBP(FieldBP):
    """fBP hyper-parameters: ``gamma`` and ``y``, schedules of the protocol step; ``epsilon``
    (convergence within a step), ``sweeps_per_step`` (sweeps per protocol step at most)."""

    gamma: schedules.Schedule
    y: schedules.Schedule
    epsilon: jax.Array
    sweeps_per_step: int = eqx.field(static=True)

    def _field(self, st, Hc, diff):
        dt = Hc.dtype
        g, r = jnp.asarray(self.gamma(st.k), dt), jnp.asarray(self.y(st.k), dt) - 1.0
        new = _focusing(Hc, g, r)
        lam = self.damping.astype(dt)
        f = (1.0 - lam) * new + lam * st.f
        dfield = jnp.max(jnp.abs(jnp.tanh(new) - jnp.tanh(st.f)), initial=0.0)
        in_step = st.in_step + 1
        advance = (jnp.maximum(diff, dfield) < self.epsilon.astype(dt)) | (in_step >= self.sweeps_per_step)
        return f, dfield, g, st.k + advance.astype(jnp.int32), jnp.where(advance, 0, in_step)


class ReinforcedResult(AlgorithmResult):
    """Result of :func:`solve_rbp` (leading axis S for a batch). Base fields: ``solved``
    (``weights`` violates no clause, counted on it), ``steps`` (sweeps), ``errors``, ``weights
    (..., N)`` int8 (the better of ``sign(H)``, ``sign(H^c)``), ``trace``. Own fields:
    ``reinforcement`` (the last :math:`\\rho` used), ``marginals (..., N)`` (:math:`\\tanh H`)."""

    reinforcement: jax.Array
    marginals: jax.Array


class FocusingResult(AlgorithmResult):
    """Result of :func:`solve_fbp`. Base fields as :class:`ReinforcedResult`. Own fields:
    ``gamma`` (the last coupling used), ``protocol_steps`` (γ steps completed), ``marginals``."""

    gamma: jax.Array
    protocol_steps: jax.Array
    marginals: jax.Array


def default_reinforcement(start: float = 0.0, increment: float = 2e-3) -> schedules.Table:
    r"""The default rBP schedule: :math:`\rho_t = \min(1, \text{start} + \text{increment}\,t)`
    (reaches 1 after 500 sweeps), as a :func:`~physlearn.algorithms.schedules.table` that ends at 1."""
    start = V.real("start", start, nonneg=True, at_most=1.0)
    increment = V.real("increment", increment, positive=True)
    n = math.ceil((1.0 - start) / increment) + 1
    return schedules.table(np.minimum(1.0, start + increment * np.arange(n)))


def _one_point(hp, dt):
    """Hyper-parameters as one point of ``dt`` numbers (the K-SAT solvers take no batches of
    hyper-parameter points: pass a batch of instances instead)."""
    hp, P = schedules.hyper_batch(hp, dt)
    if P is not None:
        raise ValueError(f"{', '.join(hp)}: the K-SAT solvers take one hyper-parameter point, got a batch of {P}")
    return hp


def _common(key, problem, damping, randfact, max_steps, dtype, stop):
    V.choice("stop", stop, ("any", "centre"))
    return setup(key, problem, damping=damping, randfact=randfact, max_steps=max_steps, dtype=dtype)


def solve_rbp(
    key,
    problem: KSAT,
    *,
    reinforcement=None,
    damping=0.0,
    max_steps: int = 2000,
    stop: str = "any",
    randfact=0.5,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> ReinforcedResult:
    r"""Solve K-SAT with reinforced BP (module doc).

    **Arguments:** ``key``, ``problem`` (:class:`~physlearn.algorithms.ksat.KSAT`, one or a batch),
    ``reinforcement`` :math:`\rho\in[0, 1]` (a float or a schedule ``sweep -> rho``; default
    :func:`default_reinforcement`), ``damping`` :math:`\lambda\in[0,1)` of the messages,
    ``max_steps`` (budget in **BP sweeps**), ``stop`` (``"any"``: ``sign(H)`` or ``sign(H^c)`` is a
    solution; ``"centre"``: ``sign(H)`` is), ``randfact``, ``dtype``, ``trace``, ``progress``,
    ``mesh``.

    **Returns:** :class:`ReinforcedResult` (``solved`` verified on the returned assignment).
    """
    key, problem, max_steps, common = _common(key, problem, damping, randfact, max_steps, dtype, stop)
    rho = default_reinforcement() if reinforcement is None else reinforcement
    hp = _one_point({"reinforcement": schedules.check("reinforcement", rho, at_most=1.0)}, common["dtype"])
    algo = ReinforcedBP(**common, **hp)
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, trace=trace, progress=progress,
              description="rBP (K-SAT)", mesh=mesh)
    x, e, H = _final(res, problem)
    return ReinforcedResult(solved=e == 0, steps=res.steps, errors=e, weights=x, trace=res.trace if trace else None,
                            reinforcement=res.info.parameter, marginals=jnp.tanh(H))


def solve_fbp(
    key,
    problem: KSAT,
    *,
    y=None,
    gamma=None,
    sweeps_per_step: int = 10,
    damping=0.5,
    epsilon=1e-3,
    max_steps: int = 5000,
    stop: str = "any",
    randfact=0.5,
    dtype=jnp.float32,
    trace: bool = False,
    progress: bool | None = None,
    mesh=None,
) -> FocusingResult:
    r"""Solve K-SAT with focusing BP, the PNAS 2016 protocol (module doc).

    **Arguments:** ``key``, ``problem`` (:class:`~physlearn.algorithms.ksat.KSAT`, one or a batch),
    ``y`` (number of replicas >= 1, may be ``inf``; a float or a schedule ``protocol step -> y``;
    default 4), ``gamma`` (coupling >= 0, may be ``inf``; a float or a schedule ``protocol step ->
    gamma``; default ``schedules.linear(0.05, 0.05)``), ``sweeps_per_step`` (sweeps per protocol
    step at most: γ moves on after ``sweeps_per_step`` sweeps or when BP has converged),
    ``damping`` :math:`\lambda\in[0,1)`, ``epsilon`` (convergence within a protocol step),
    ``max_steps`` (budget in **BP sweeps**, all protocol steps together),
    ``stop``, ``randfact``, ``dtype``, ``trace``, ``progress``, ``mesh``.

    **Returns:** :class:`FocusingResult` (``solved`` verified on the returned assignment).
    """
    key, problem, max_steps, common = _common(key, problem, damping, randfact, max_steps, dtype, stop)
    hp = _one_point({
        "gamma": schedules.check("gamma", schedules.linear(0.05, 0.05) if gamma is None else gamma, allow_inf=True),
        "y": schedules.check("y", 4.0 if y is None else y, allow_inf=True, at_least=1.0),
    }, common["dtype"])
    algo = FocusingBP(
        **common, **hp, epsilon=jnp.asarray(V.real("epsilon", epsilon, positive=True)),
        sweeps_per_step=V.integer("sweeps_per_step", sweeps_per_step),
    )
    res = run(algo, key, problem, max_steps=max_steps, stop=stop, trace=trace, progress=progress,
              description="fBP (K-SAT)", mesh=mesh)
    x, e, H = _final(res, problem)
    return FocusingResult(solved=e == 0, steps=res.steps, errors=e, weights=x, trace=res.trace if trace else None,
                          gamma=res.info.parameter, protocol_steps=res.state.k, marginals=jnp.tanh(H))


@eqx.filter_jit
def _final(res, problem):
    st = res.state
    x, _, _ = _clamped(st.H, st.f, problem)
    return x, num_violated(x, problem), st.H
