r"""Random K-SAT instances, their factor graph, the energy (violated clauses) and DIMACS CNF files.

An instance has N Boolean variables :math:`x_i\in\{\pm1\}` and M clauses of K distinct variables;
clause :math:`a` holds variables :math:`i_{a1},\dots,i_{aK}` with literal signs :math:`s_{aj}=\pm1`
(+1: the literal :math:`x_i`, -1: :math:`\neg x_i`). The clause is satisfied when some literal is
true, :math:`x_{i_{aj}} = s_{aj}`, and violated when :math:`x_{i_{aj}} = -s_{aj}` for every j; the
energy is the number of violated clauses,

.. math:: E(x) = \sum_{a=1}^{M}\prod_{j=1}^{K}\frac{1 - s_{aj}x_{i_{aj}}}2 .

Random K-SAT (Baldassi et al., PNAS 113, E7655 (2016), appendix D.4): every clause draws its K
variables uniformly among the :math:`\binom NK` subsets and its signs independently with
probability 1/2; :math:`\alpha = M/N` is the clause density.

**Factor graph.** :class:`KSAT` stores the clause side as dense ``(M, K)`` arrays (every factor has
degree K); the variable side (Poisson degrees of mean :math:`K\alpha`) is never padded: sums over
the clauses of a variable are segment sums over the flat edge list ``clauses.ravel()``
(:func:`variable_sums`). Measured on 2 CPU cores (``benchmarks/bench_ksat.py``), a
``jax.ops.segment_sum`` scatter-add beats both a padded ``(N, d_max)`` gather table (d_max ~ 1.7
times the mean degree) and a sorted segment sum, which is why there is no padded table.

**DIMACS CNF** (:func:`read_dimacs`, :func:`parse_dimacs`, :func:`write_dimacs`): ``c`` comment
lines, one ``p cnf <variables> <clauses>`` header, then clauses as 1-based signed integers ended
by ``0`` (a clause may span lines; a ``%`` line, as in the SATLIB files, ends the formula).
Malformed files raise ``ValueError`` naming the line.
"""

from __future__ import annotations

import functools
import math
import numbers
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ... import _validation as V

__all__ = [
    "KSAT", "random_ksat", "from_clauses", "to_clauses", "violated", "num_violated", "variable_sums",
    "parse_dimacs", "read_dimacs", "write_dimacs", "dimacs_text",
]


def _concrete(x):
    return not isinstance(x, jax.core.Tracer)


class KSAT(eqx.Module):
    r"""A (batch of) K-SAT instance(s).

    **Arguments:**

    - ``clauses``: integer array ``(..., M, K)``, 0-based variable indices; the K variables of a
      clause are distinct. Leading axes are disorder samples.
    - ``signs``: +-1 array of the same shape (+1: literal :math:`x_i`, -1: :math:`\neg x_i`).
    - ``n``: number of variables N.

    Raises ``ValueError`` naming the argument (and the clause) for: K < 2, no clause, an index
    outside ``0..n-1``, a variable repeated in a clause, signs not +-1, shapes that do not match.
    Values are checked when the arrays are concrete; shapes always.
    """

    clauses: jax.Array
    signs: jax.Array
    n: int = eqx.field(static=True)

    def __init__(self, clauses, signs, n):
        n = V.integer("n", n, what="number of variables")
        n = int(n)
        clauses = clauses if isinstance(clauses, jax.Array | jax.core.Tracer) else np.asarray(clauses)
        signs = signs if isinstance(signs, jax.Array | jax.core.Tracer) else np.asarray(signs)
        if clauses.ndim < 2:
            raise ValueError(f"clauses must have shape (..., M, K), got shape {clauses.shape}")
        if not jnp.issubdtype(clauses.dtype, jnp.integer):
            raise ValueError(f"clauses must hold integer variable indices, got dtype {clauses.dtype}")
        m, k = clauses.shape[-2:]
        if k < 2:
            raise ValueError(
                f"clauses have K = {k} literal(s) each (shape {clauses.shape}); K-SAT needs K >= 2 "
                f"({'an empty clause is unsatisfiable' if k == 0 else 'unit clauses are not K-SAT'})"
            )
        if m < 1:
            raise ValueError(f"clauses must hold at least one clause, got shape {clauses.shape}")
        if tuple(signs.shape) != tuple(clauses.shape):
            raise ValueError(f"signs must have the shape of clauses {clauses.shape}, got {signs.shape}")
        if _concrete(clauses):
            c = np.asarray(clauses).reshape(-1, m, k)
            bad = (c < 0) | (c >= n)
            if bad.any():
                s, a, j = np.argwhere(bad)[0]
                where = f"clause {a}" + (f" of sample {s}" if clauses.ndim > 2 else "")
                raise ValueError(
                    f"clauses: variable index {int(c[s, a, j])} in {where} is out of range 0..{n - 1} (n = {n})"
                )
            srt = np.sort(c, axis=-1)
            rep = np.any(srt[..., 1:] == srt[..., :-1], axis=-1)
            if rep.any():
                s, a = np.argwhere(rep)[0]
                where = f"clause {a}" + (f" of sample {s}" if clauses.ndim > 2 else "")
                raise ValueError(
                    f"clauses: {where} repeats a variable ({c[s, a].tolist()}); the K variables of a clause "
                    "must be distinct"
                )
        if _concrete(signs):
            sg = np.asarray(signs)
            if not np.all(np.abs(sg) == 1):
                bad = sg[np.abs(sg) != 1].ravel()[:3]
                raise ValueError(f"signs must contain only +1 and -1 entries; found e.g. {bad.tolist()}")
        self.clauses = clauses.astype(jnp.int32) if not isinstance(clauses, np.ndarray) else jnp.asarray(clauses, jnp.int32)
        self.signs = signs.astype(jnp.int8) if not isinstance(signs, np.ndarray) else jnp.asarray(signs, jnp.int8)
        self.n = n

    # ---- static shape information ----------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Leading (disorder-sample) axes; ``()`` for a single instance."""
        return tuple(self.clauses.shape[:-2])

    @property
    def n_samples(self) -> int | None:
        """Samples of a batch with one leading axis, ``None`` for one instance."""
        return int(math.prod(self.batch_shape)) if self.batch_shape else None

    @property
    def m(self) -> int:
        """Number of clauses M."""
        return int(self.clauses.shape[-2])

    @property
    def k(self) -> int:
        """Clause width K."""
        return int(self.clauses.shape[-1])

    @property
    def alpha(self) -> float:
        """Clause density M / N."""
        return self.m / self.n

    @property
    def n_edges(self) -> int:
        """Edges of the factor graph per instance, M K."""
        return self.m * self.k

    def sample(self, i: int) -> "KSAT":
        """Instance ``i`` of a batch with one leading axis."""
        if len(self.batch_shape) != 1:
            raise ValueError(f"sample(i) needs a batch with one leading axis, batch_shape={self.batch_shape}")
        return jax.tree_util.tree_map(lambda x: x[i], self)


# ------------------------------------------------------------------------------------------------
# Factor graph and energy (one instance; vmap for batches)
# ------------------------------------------------------------------------------------------------
def variable_sums(values, problem: KSAT):
    r"""Sum over the clauses of each variable: ``values (M, K)`` per edge -> ``(N,)``,
    :math:`\sum_{a\ni i} v_{ai}` (a ``segment_sum`` over the flat edge list; one instance)."""
    return jax.ops.segment_sum(values.reshape(-1), problem.clauses.reshape(-1), num_segments=problem.n)


def _literals_true(x, problem: KSAT):
    """``(M, K)`` bool: literal j of clause a is true under ``x`` (+-1, ``(N,)``)."""
    xv = jnp.take(x, problem.clauses, axis=0)
    return xv.astype(jnp.int8) == problem.signs


def violated(x, problem: KSAT):
    """``(..., M)`` bool: clause violated by the +-1 assignment ``x (..., N)`` (batches broadcast
    over the leading axes of ``x`` and ``problem``)."""
    return _batched(lambda xx, pp: ~jnp.any(_literals_true(xx, pp), axis=-1), x, problem)


def num_violated(x, problem: KSAT):
    """Energy: the number of clauses violated by the +-1 assignment ``x (..., N)`` (int32)."""
    return jnp.sum(violated(x, problem), axis=-1, dtype=jnp.int32)


def _batched(fn, x, problem):
    nb = len(problem.batch_shape)
    xb = x.ndim - 1
    if xb < nb or tuple(x.shape[xb - nb : xb]) != problem.batch_shape:
        raise ValueError(
            f"x must have shape (..., {', '.join(map(str, problem.batch_shape + (problem.n,)))}) to match the "
            f"problem's batch {problem.batch_shape} and n = {problem.n}, got {x.shape}"
        )
    if x.shape[-1] != problem.n:
        raise ValueError(f"x must have n = {problem.n} entries on its last axis, got shape {x.shape}")
    f = fn
    for _ in range(nb):
        f = jax.vmap(f)
    for _ in range(xb - nb):
        f = jax.vmap(f, in_axes=(0, None))
    return f(x, problem)


# ------------------------------------------------------------------------------------------------
# Random instances
# ------------------------------------------------------------------------------------------------
def random_ksat(key, n, alpha, k=3, samples=None) -> KSAT:
    r"""Random K-SAT: :math:`M = \mathrm{round}(\alpha N)` clauses, each on K distinct variables
    drawn uniformly (Floyd's sampling of a K-subset; stored in increasing order) with independent
    unbiased signs.

    **Arguments:** ``key`` (typed PRNG key; sample ``i`` of a batch uses ``fold_in(key, i)``, so an
    instance does not change when ``samples`` grows), ``n`` (variables, >= k), ``alpha`` (clause
    density > 0), ``k`` (clause width >= 2), ``samples`` (``None`` or a batch size).

    **Returns:** :class:`KSAT`. Raises ``ValueError`` naming the argument.
    """
    V.key(key)
    k = V.integer("k", k, minimum=2, what="clause width")
    n = V.integer("n", n, minimum=k, what="number of variables, at least the clause width k")
    alpha = V.real("alpha", alpha, positive=True)
    m = int(round(alpha * n))
    if m < 1:
        raise ValueError(f"alpha = {alpha} gives M = round(alpha n) = {m} clauses; it must give at least one")
    samples = V.integer("samples", samples, allow_none=True)
    c, s = _random_arrays(key, int(n), m, int(k), None if samples is None else int(samples))
    return KSAT(c, s, int(n))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _random_arrays(key, n, m, k, samples):
    def one(kk):
        k_var, k_sign = jax.random.split(kk)
        keys = jax.random.split(k_var, k)
        chosen = []
        for idx, j in enumerate(range(n - k, n)):  # Floyd: a uniform k-subset of range(n)
            t = jax.random.randint(keys[idx], (m,), 0, j + 1, dtype=jnp.int32)
            dup = functools.reduce(jnp.logical_or, [t == p for p in chosen], jnp.zeros((m,), bool))
            chosen.append(jnp.where(dup, j, t))
        c = jnp.sort(jnp.stack(chosen, axis=-1), axis=-1)
        bits = jax.random.bits(k_sign, (m, k), dtype=jnp.uint8)
        return c, jnp.where((bits & 1) == 1, 1, -1).astype(jnp.int8)

    if samples is None:
        return one(key)
    return jax.vmap(lambda i: one(jax.random.fold_in(key, i)))(jnp.arange(samples))


# ------------------------------------------------------------------------------------------------
# Lists of clauses (DIMACS literals) and DIMACS files
# ------------------------------------------------------------------------------------------------
def _check_clause(lits, n, where, width=None):
    """Validate one clause of DIMACS literals; ``where`` names it in errors. Returns the width."""
    if len(lits) == 0:
        raise ValueError(f"{where}: empty clause (an empty clause is unsatisfiable; K-SAT clauses need K >= 2 literals)")
    for lit in lits:
        if lit == 0:
            raise ValueError(f"{where}: literal 0 inside a clause (0 only ends a clause)")
        if n is not None and abs(lit) > n:
            raise ValueError(f"{where}: literal {lit} names variable {abs(lit)}, out of range 1..{n} (n = {n})")
    if len({abs(v) for v in lits}) != len(lits):
        raise ValueError(f"{where}: a variable appears twice in the clause {list(lits)}; K-SAT clauses have K distinct variables")
    if len(lits) < 2:
        raise ValueError(f"{where}: clause {list(lits)} has 1 literal; K-SAT needs K >= 2 literals per clause")
    if width is not None and len(lits) != width[0]:
        raise ValueError(
            f"{where}: clause has {len(lits)} literals but {width[1]} has {width[0]}; physlearn's K-SAT needs "
            "every clause of the same width K"
        )
    return len(lits)


def from_clauses(clauses, n=None) -> KSAT:
    r"""A :class:`KSAT` instance from a list of clauses of DIMACS literals (1-based variable
    indices, negative for :math:`\neg x`), e.g. ``[[1, -2, 3], [-1, 2, 4]]`` -- the format PySAT
    uses. ``n``: number of variables (default: the largest index). Every clause must have the same
    width K >= 2 and distinct variables; errors name the clause."""
    try:
        items = list(clauses)
    except TypeError:
        raise ValueError(f"clauses must be a sequence of clauses of integer literals, got {clauses!r}") from None
    cls = []
    for a, c in enumerate(items):
        try:
            lits = list(c)
        except TypeError:
            raise ValueError(f"clause {a} must be a sequence of integer literals, got {c!r}") from None
        for v in lits:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral | np.integer):
                raise ValueError(f"clause {a}: literals must be non-zero integers, got {v!r}")
        cls.append([int(v) for v in lits])
    if not cls:
        raise ValueError("clauses must hold at least one clause")
    n = V.integer("n", n, allow_none=True, what="number of variables")
    width = None
    for a, c in enumerate(cls):
        w = _check_clause(c, n, f"clause {a}", width)
        width = width or (w, f"clause {a}")
    arr = np.asarray(cls, dtype=np.int64)
    if n is None:
        n = int(np.abs(arr).max())
    return KSAT(np.abs(arr) - 1, np.sign(arr), int(n))


def to_clauses(problem: KSAT) -> list[list[int]]:
    """One instance as a list of clauses of DIMACS literals (1-based, negative = negated), e.g. for
    ``pysat.solvers.Solver(bootstrap_with=to_clauses(problem))``."""
    if problem.batch_shape:
        raise ValueError(f"to_clauses needs one instance, got a batch {problem.batch_shape}: use problem.sample(i)")
    c = np.asarray(problem.clauses, dtype=np.int64) + 1
    return (c * np.asarray(problem.signs, dtype=np.int64)).tolist()


def parse_dimacs(text: str, *, k=None, source: str = "<text>") -> KSAT:
    """Parse DIMACS CNF ``text`` (see the module doc) into a :class:`KSAT`. ``k``: the clause width
    to require (default: that of the first clause). ``source`` names the input in errors. Raises
    ``ValueError`` naming the line for a missing or repeated header, a token that is not an
    integer, a literal out of range, an empty clause, a repeated variable, a clause of another width,
    a clause not ended by 0, or a clause count that differs from the header's."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    k = V.integer("k", k, minimum=2, allow_none=True, what="clause width")
    n = m_decl = header_line = None
    clauses, cur, cur_line = [], [], None
    width = None if k is None else (int(k), f"k={k}")
    for ln, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] == "c":
            continue
        if line[0] == "%":
            break
        if line[0] == "p":
            parts = line.split()
            if header_line is not None:
                raise ValueError(f"{source}, line {ln}: second header line (the first is line {header_line})")
            if clauses or cur:
                raise ValueError(f"{source}, line {ln}: the 'p cnf' header must come before the clauses")
            if len(parts) != 4 or parts[1] != "cnf":
                raise ValueError(f"{source}, line {ln}: malformed header {line!r}; expected 'p cnf <variables> <clauses>'")
            try:
                n, m_decl = int(parts[2]), int(parts[3])
            except ValueError:
                raise ValueError(f"{source}, line {ln}: header counts must be integers, got {line!r}") from None
            if n < 1 or m_decl < 1:
                raise ValueError(f"{source}, line {ln}: header needs >= 1 variable and >= 1 clause, got {line!r}")
            header_line = ln
            continue
        if header_line is None:
            raise ValueError(f"{source}, line {ln}: clause before the 'p cnf <variables> <clauses>' header")
        for tok in line.split():
            try:
                lit = int(tok)
            except ValueError:
                raise ValueError(f"{source}, line {ln}: {tok!r} is not an integer literal") from None
            if cur_line is None:
                cur_line = ln
            where = f"{source}, line {cur_line}" + (f"-{ln}" if ln != cur_line else "")
            if lit == 0:
                w = _check_clause(cur, n, where, width)
                width = width or (w, f"the first clause (line {cur_line})")
                clauses.append(cur)
                cur, cur_line = [], None
            else:
                if abs(lit) > n:
                    raise ValueError(f"{where}: literal {lit} names variable {abs(lit)}, out of range 1..{n} "
                                     f"(header on line {header_line})")
                cur.append(lit)
    if cur:
        raise ValueError(f"{source}, line {cur_line}: clause {cur} is not ended by 0")
    if header_line is None:
        raise ValueError(f"{source}: no 'p cnf <variables> <clauses>' header line")
    if len(clauses) != m_decl:
        raise ValueError(
            f"{source}: the header (line {header_line}) announces {m_decl} clauses, the file has {len(clauses)}"
        )
    arr = np.asarray(clauses, dtype=np.int64)
    return KSAT(np.abs(arr) - 1, np.sign(arr), n)


def read_dimacs(path, *, k=None) -> KSAT:
    """Read a DIMACS CNF file (plain or ``.gz``) into a :class:`KSAT`; errors name the file and the
    line (see :func:`parse_dimacs`)."""
    import gzip

    if not isinstance(path, str | os.PathLike) or not os.path.isfile(path):
        raise ValueError(f"path must name an existing DIMACS CNF file, got {path!r}")
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text file ({err})") from None
    return parse_dimacs(text, k=k, source=str(path))


def dimacs_text(problem: KSAT, *, comment: str | None = None) -> str:
    """One instance as DIMACS CNF text (``comment`` lines first, prefixed with ``c``)."""
    cls = to_clauses(problem)
    out = [f"c {line}" for line in (comment.splitlines() if comment else [])]
    out.append(f"p cnf {problem.n} {problem.m}")
    out.extend(" ".join(map(str, c)) + " 0" for c in cls)
    return "\n".join(out) + "\n"


def write_dimacs(problem: KSAT, path, *, comment: str | None = None) -> None:
    """Write one instance to ``path`` as DIMACS CNF (see :func:`dimacs_text`)."""
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"path must be a file path, got {path!r}")
    text = dimacs_text(problem, comment=comment)
    with open(path, "w") as fh:
        fh.write(text)


def check_problem(problem, name: str = "problem") -> KSAT:
    """The public-boundary check of a K-SAT solver's problem: a :class:`KSAT`, one instance or a
    batch with one leading axis (``ValueError`` naming ``name`` otherwise)."""
    if not isinstance(problem, KSAT):
        raise V.ArgumentTypeError(f"{name} must be a physlearn.algorithms.ksat.KSAT instance, got {V.describe(problem)}")
    if len(problem.batch_shape) > 1:
        raise ValueError(f"{name} must be one instance or a batch with one leading axis, "
                         f"batch_shape={problem.batch_shape}")
    return problem
