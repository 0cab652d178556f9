r"""Schedules of annealed parameters: ``step -> value``.

Every annealed parameter of a physlearn algorithm -- the coupling :math:`\gamma` of the replicated
algorithms, the inverse temperature :math:`\beta`, the transverse field :math:`\Gamma`, the
polarisation of ceSGD, fBP's number of replicas :math:`y`, the learning rate -- accepts either a
number (held constant) or a schedule: any callable ``step -> value``. The step is the algorithm's
own counter, stated in each ``solve``'s docstring (the epoch for RSGD, SBP, ceSGD and (e)LAL, the
focusing step for fBP, the schedule update -- every ``schedule_every`` accepted moves -- for
simulated annealing, the update for the optimisers of :mod:`physlearn.deep.optim`). optax
schedules work as they are (``optax.linear_schedule(0.05, 0.5, 500)``, ...).

The constructors below build the schedules of the papers. They are ``equinox`` modules whose
numbers may be 1-D arrays of equal length P: a batch of P hyper-parameter points, run together
(the result then has a leading axis P), e.g. ``exponential(1.0, [1.01, 1.02])``.

* :func:`constant` -- :math:`v`;
* :func:`linear` -- :math:`v_t = v_0 + \delta\,t` (RSGD's scoping :math:`\gamma \mathrel{+}=
  \gamma_{step}`, PNAS 113, E7655 (2016), appendix C);
* :func:`exponential` -- :math:`v_t = v_0 f^t`, optionally stopped at ``end`` (annealing
  :math:`\beta \leftarrow f_\beta\beta`, appendix B.3; the "scoping"
  :math:`\gamma_t=\gamma_0(1+\gamma_1)^t` of Entropy-SGD, Chaudhari et al., ICLR 2017);
* :func:`table` -- explicit values, one per step (the last one repeats);
* the focusing protocols of focusing BP (PNAS 2016, section VI; reference code
  BinaryCommitteeMachineFBP.jl), each a :class:`Protocol` pair ``(gamma, y)`` of tables:
  :func:`standard_reinforcement`, :func:`pseudo_reinforcement`, :func:`scoping`,
  :func:`free_scoping`.
"""

from __future__ import annotations

import abc
import math
from typing import Any, Callable, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _validation as V

__all__ = [
    "Schedule",
    "Constant",
    "Linear",
    "Exponential",
    "Table",
    "Function",
    "Protocol",
    "constant",
    "linear",
    "exponential",
    "table",
    "standard_reinforcement",
    "pseudo_reinforcement",
    "scoping",
    "free_scoping",
    "stack",
    "evaluate",
]


def _point(x):
    """Scalars as Python floats (readable reprs), batches as float64 NumPy arrays."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float64)


def _steps_as(t, like):
    dt = jnp.result_type(like) if jnp.issubdtype(jnp.result_type(like), jnp.floating) else jnp.result_type(float)
    return jnp.asarray(t).astype(dt)


class Schedule(eqx.Module):
    """A schedule: a callable ``step -> value`` whose numbers may carry a leading axis of
    hyper-parameter points. Subclasses list their numbers in ``_numbers`` (``_ndim``: the rank of
    one point's value array, 0 for scalars)."""

    _numbers: ClassVar[tuple[str, ...]] = ()
    _ndim: ClassVar[int] = 0

    @abc.abstractmethod
    def __call__(self, step): ...

    def __repr__(self):
        def fmt(v):
            if isinstance(v, (np.ndarray, jax.Array)) and not isinstance(v, jax.core.Tracer):
                a = np.asarray(v)
                return repr(a.tolist()) if a.size <= 8 else f"<{a.dtype}{list(a.shape)}>"
            return repr(v)

        vals = self._values()
        return f"{type(self).__name__}({', '.join(f'{n}={fmt(v)}' for n, v in vals.items())})"

    @property
    def steps(self) -> int | None:
        """Number of steps a finite protocol defines (``None``: unbounded)."""
        return None

    # ---- hyper-parameter batches (used by the solvers) ----------------------------------------
    def _values(self):
        return {n: getattr(self, n) for n in self._numbers if getattr(self, n) is not None}

    def batch_size(self) -> int | None:
        """P for a batch of hyper-parameter points, ``None`` for a single schedule."""
        sizes = {np.shape(v)[0] for v in self._values().values() if np.ndim(v) > self._ndim}
        if len(sizes) > 1:
            raise ValueError(f"{type(self).__name__}: batched numbers must have equal lengths, got {sorted(sizes)}")
        return sizes.pop() if sizes else None

    def broadcast(self, P: int) -> "Schedule":
        """Every number broadcast to a leading axis of P hyper-parameter points."""
        vals = self._values()
        new = {n: np.broadcast_to(np.asarray(v, dtype=np.float64),
                                  (P,) + np.shape(v)[np.ndim(v) - self._ndim:]) for n, v in vals.items()}
        return eqx.tree_at(lambda s: [getattr(s, n) for n in new], self, list(new.values()))

    def astype(self, dtype) -> "Schedule":
        """The same schedule with its numbers as JAX arrays of ``dtype`` (dynamic leaves)."""
        vals = self._values()
        new = [jnp.asarray(v, dtype=dtype) for v in vals.values()]
        return eqx.tree_at(lambda s: [getattr(s, n) for n in vals], self, new)

    def check(self, name: str, rule: Callable) -> None:
        """Check the values the schedule starts from with ``rule(label, value, ndim=...)``."""


class Constant(Schedule):
    """:math:`v_t = v`."""

    value: Any
    _numbers: ClassVar[tuple[str, ...]] = ("value",)

    def __call__(self, step):
        return jnp.asarray(self.value)

    def check(self, name, rule):
        rule(name, self.value)


class Linear(Schedule):
    r""":math:`v_t = v_0 + \delta\, t`."""

    start: Any
    increment: Any
    _numbers: ClassVar[tuple[str, ...]] = ("start", "increment")

    def __call__(self, step):
        start = jnp.asarray(self.start)
        return start + jnp.asarray(self.increment, start.dtype) * _steps_as(step, start)

    def check(self, name, rule):
        rule(f"{name} (schedule start)", self.start)


class Exponential(Schedule):
    r""":math:`v_t = v_0 f^t`, stopped at ``end`` if given (an upper bound when :math:`f \ge 1`, a
    lower bound when :math:`f < 1`)."""

    start: Any
    factor: Any
    end: Any = None
    _numbers: ClassVar[tuple[str, ...]] = ("start", "factor", "end")

    def __call__(self, step):
        start = jnp.asarray(self.start)
        factor = jnp.asarray(self.factor, start.dtype)
        v = start * jnp.power(factor, _steps_as(step, start))
        if self.end is not None:
            end = jnp.asarray(self.end, start.dtype)
            v = jnp.where(factor >= 1, jnp.minimum(v, end), jnp.maximum(v, end))
        return v

    def check(self, name, rule):
        rule(f"{name} (schedule start)", self.start)


class Table(Schedule):
    """Explicit values ``values[t]``, one per step; after the last step the last value repeats.
    :attr:`steps` is the number of values."""

    values: Any
    _numbers: ClassVar[tuple[str, ...]] = ("values",)
    _ndim: ClassVar[int] = 1

    def __call__(self, step):
        vals = jnp.asarray(self.values)
        t = jnp.minimum(jnp.asarray(step), vals.shape[-1] - 1)
        return vals[..., t]

    @property
    def steps(self) -> int:
        return int(np.shape(self.values)[-1])

    def check(self, name, rule):
        rule(name, self.values, ndim=1)


class Function(Schedule):
    """A user's callable ``step -> value`` (e.g. an optax schedule), kept as a static field: it
    cannot be batched over hyper-parameter points and each new function object compiles anew."""

    fn: Callable = eqx.field(static=True)

    def __call__(self, step):
        return jnp.asarray(self.fn(step))

    def __repr__(self):
        return f"Function({self.fn!r})"


# ------------------------------------------------------------------------------------------------
# constructors
# ------------------------------------------------------------------------------------------------
def _number(name, v, **kw):
    return _point(V.hyper_parameter(name, v, nonneg=False, **kw))


def constant(value) -> Constant:
    """:math:`v_t = v` (``value`` may be ``inf``, or a 1-D array of hyper-parameter points)."""
    return Constant(_number("value", value, allow_inf=True))


def linear(start, increment) -> Linear:
    r""":math:`v_t = v_0 + \delta\,t`: e.g. RSGD's coupling :math:`\gamma \mathrel{+}=
    \gamma_{step}` per epoch is ``linear(0.05, 0.001)`` (PNAS 113, E7655 (2016), appendix C)."""
    return Linear(_number("start", start, allow_inf=True), _number("increment", increment))


def exponential(start, factor, end=None) -> Exponential:
    r""":math:`v_t = v_0 f^t` (``factor`` :math:`f > 0`), stopped at ``end`` if given: e.g. simulated
    annealing's :math:`\beta \leftarrow 1.01\,\beta` is ``exponential(1.0, 1.01)``; Entropy-SGD's
    scoping :math:`\gamma_0(1+\gamma_1)^t` capped at :math:`\gamma_{max}` is
    ``exponential(gamma0, 1 + gamma1, end=gamma_max)``."""
    f = _point(V.hyper_parameter("factor", factor, positive=True))
    e = None if end is None else _number("end", end, allow_inf=True)
    return Exponential(_number("start", start, allow_inf=True), f, e)


def table(values) -> Table:
    """Explicit values, one per step (a 1-D sequence, or ``(P, T)`` for P hyper-parameter points);
    the last value repeats after the end. ``steps`` = T."""
    return Table(np.array(V.hyper_parameter("values", values, allow_inf=True, nonneg=False, ndim=1)))


def evaluate(schedule, steps) -> np.ndarray:
    """Values of a schedule at ``steps`` (eagerly, as a NumPy array): for plotting and checks."""
    s = V.schedule("schedule", schedule, allow_inf=True, nonneg=False)
    return np.asarray(jax.vmap(s)(jnp.asarray(steps)))


# ------------------------------------------------------------------------------------------------
# focusing protocols (fBP)
# ------------------------------------------------------------------------------------------------
class Protocol(NamedTuple):
    """A focusing protocol: the schedules of the coupling ``gamma`` and of the number of replicas
    ``y`` over the focusing steps. Unpack it into :func:`physlearn.algorithms.fbp.solve`:
    ``gamma, y = pseudo_reinforcement(0.01)``, ``fbp.solve(key, problem, gamma=gamma, y=y)``."""

    gamma: Any
    y: Any

    @property
    def steps(self) -> int | None:
        """Number of focusing steps (the shortest table), ``None`` if unbounded."""
        lens = [s.steps for s in (self.gamma, self.y) if isinstance(s, Schedule) and s.steps is not None]
        return min(lens) if lens else None


def _julia_range(step, stop):
    """``0:step:stop`` inclusive, as Julia ranges (robust to rounding)."""
    step = V.real("step", step, positive=True)
    n = int(math.floor(stop / step + 1e-9))
    return np.arange(n + 1) * step


def _fractions(name, v, default_stop):
    x = _julia_range(v, default_stop(v)) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or np.any(np.isnan(x)) or np.any((x < 0) | (x >= 1)):
        raise ValueError(f"{name} values must be a non-empty 1-D sequence in [0, 1)")
    return x


def standard_reinforcement(dr=0.01) -> Protocol:
    r"""Standard reinforcement: :math:`\gamma=\infty`, :math:`y = 1/(1-x)` for :math:`x = 0, dr,
    \dots, 1-dr` (``dr`` a step) or the given values of ``x`` (a sequence in [0, 1)). The reference
    code's default, ``dr = 0.01``: 100 focusing steps, y from 1 to 100."""
    x = _fractions("standard_reinforcement", dr, lambda s: 1 - s)
    return Protocol(constant(np.inf), table(1.0 / (1.0 - x)))


def pseudo_reinforcement(drho=0.01, *, x=0.5) -> Protocol:
    r"""Pseudo-reinforcement: :math:`\gamma = \operatorname{atanh}(\rho^x)`,
    :math:`y = 1 + \rho^{1-2x}/(1-\rho)` for :math:`\rho = 0, d\rho, \dots, 1-d\rho` (``drho`` a
    step) or the given values of :math:`\rho` (a sequence in [0, 1)). With x = 1/2 (default):
    :math:`\gamma=\operatorname{atanh}\sqrt\rho`, :math:`y = (2-\rho)/(1-\rho)`; x = 0 is standard
    reinforcement. fBP's default protocol is ``pseudo_reinforcement(0.01)`` (100 steps)."""
    rho = _fractions("pseudo_reinforcement", drho, lambda s: 1 - s)
    x = V.real("x", x, nonneg=True)
    with np.errstate(divide="ignore"):
        g = np.arctanh(rho**x)
        yy = 1.0 + rho ** (1.0 - 2.0 * x) / (1.0 - rho)
    return Protocol(table(g), table(yy))


def scoping(gammas, y) -> Protocol:
    r"""Scoping: ``y`` fixed, :math:`\gamma` swept over ``gammas`` (one focusing step each)."""
    return Protocol(table(gammas), constant(y))


def free_scoping(pairs) -> Protocol:
    r"""An explicit list of ``(gamma, y)`` pairs, one per focusing step."""
    arr = np.asarray(pairs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"free_scoping needs a sequence of (gamma, y) pairs, got shape {arr.shape}")
    return Protocol(table(arr[:, 0]), table(arr[:, 1]))


def stack(protocols) -> Protocol:
    """P protocols of equal length as one batch of P hyper-parameter points (a :class:`Protocol` of
    ``(P, T)`` tables): every point runs in the same compiled call, the result has a leading axis
    P."""
    protocols = list(protocols)
    if not protocols or not all(isinstance(p, Protocol) for p in protocols):
        raise V.ArgumentTypeError("stack needs a non-empty sequence of schedules.Protocol")
    lens = {p.steps for p in protocols}
    if len(lens) != 1 or None in lens:
        raise ValueError(f"stacked protocols must have equal, finite lengths, got {sorted(lens, key=str)}")
    T = lens.pop()

    def values(s):  # exact (float64) for tables and constants
        if isinstance(s, Table):
            v = np.asarray(s.values)
            return v[..., np.minimum(np.arange(T), v.shape[-1] - 1)]
        if isinstance(s, Constant):
            return np.full(T, s.value)
        if isinstance(s, Function):
            raise ValueError("stack cannot batch a user function schedule")
        return evaluate(s, np.arange(T))

    return Protocol(table(np.stack([values(p.gamma) for p in protocols])),
                    table(np.stack([values(p.y) for p in protocols])))
