r"""Dense linear solves for the small systems of the saddle-point engine, written out element by
element.

Why not ``jnp.linalg.solve`` / ``jnp.linalg.cholesky``: with jaxlib 0.10 on CPU, the batched
LAPACK kernels (``getrf``, ``potrf``) split their batch over XLA's intra-op thread pool and block
the calling pool thread until the pieces finish. When two such kernels run at once (two independent
solves in one program, which XLA's executor starts concurrently) on a pool with as many threads as
kernels -- two on a 2-core machine -- every pool thread waits for work that no thread is free to
run: the program hangs at 0 % CPU, with or without ``--xla_cpu_multi_thread_eigen=false``
(``docs/findings.md`` has the reproducer). The systems here are small (the Newton steps of the
replica equations, the inner problems of :mod:`physlearn.theory.flat_minima`), so Gaussian
elimination unrolled over the static size, vectorised over the batch, is as accurate, fuses into a
few loops, and needs no thread pool. Larger systems fall back to LAPACK.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["solve", "cholesky_solve", "MAX_UNROLLED"]

MAX_UNROLLED = 24  # sizes up to this are eliminated element-wise; larger ones go to LAPACK


def solve(a, b):
    r"""Solution of :math:`a x = b` by Gaussian elimination with partial pivoting (the algorithm of
    LAPACK's ``getrf``/``getrs``, unblocked), batched over the leading axes.

    Args:
        a: ``(..., n, n)``.
        b: ``(..., n)`` or ``(..., n, k)``, broadcast against ``a``'s batch axes.

    Returns:
        ``x`` with ``b``'s shape (after broadcasting). A singular ``a`` gives non-finite entries,
        as LAPACK does. Differentiable (the pivot choice is piecewise constant).
    """
    n = a.shape[-1]
    if a.shape[-2] != n:
        raise ValueError(f"a must be square in its last two axes, got shape {a.shape}")
    if n > MAX_UNROLLED:
        return jnp.linalg.solve(a, b)
    vec = b.ndim == a.ndim - 1
    B = b[..., None] if vec else b
    batch = jnp.broadcast_shapes(a.shape[:-2], B.shape[:-2])
    dt = jnp.result_type(a, b)
    A = jnp.broadcast_to(a, batch + (n, n)).astype(dt)
    B = jnp.broadcast_to(B, batch + B.shape[-2:]).astype(dt)
    # A is eliminated in place; B gets the same row operations, with multipliers taken from A
    # alone (so that the solve stays linear in b, and transposable for reverse mode)
    rows = jnp.arange(n)
    for j in range(n - 1):
        col = jnp.where(rows >= j, jnp.abs(A[..., :, j]), -1.0)
        at_p = (rows == jnp.argmax(col, axis=-1)[..., None])[..., None]  # the pivot row
        at_j = (rows == j)[:, None]
        A, B = (jnp.where(at_j, jnp.sum(jnp.where(at_p, M, 0.0), axis=-2, keepdims=True),
                          jnp.where(at_p, M[..., j : j + 1, :], M)) for M in (A, B))
        factor = jnp.where(rows > j, A[..., :, j] / A[..., j : j + 1, j], 0.0)[..., :, None]
        A = A - factor * A[..., j : j + 1, :]
        B = B - factor * B[..., j : j + 1, :]
    x = [None] * n
    for i in reversed(range(n)):
        acc = B[..., i, :]
        for k in range(i + 1, n):
            acc = acc - A[..., i, k, None] * x[k]
        x[i] = acc / A[..., i, i, None]
    X = jnp.stack(x, axis=-2)
    return X[..., 0] if vec else X


def cholesky_solve(a, b):
    r"""``(x, ok)``: the solution of :math:`a x = b` for symmetric ``a`` by a Cholesky factorisation
    written out element by element, and whether ``a`` is positive definite (every pivot > 0;
    where it is not, ``x`` is finite but meaningless). Batched over the leading axes.

    Args:
        a: ``(..., n, n)`` symmetric (only the lower triangle is read), n at most
            ``MAX_UNROLLED`` (24).
        b: ``(..., n)``.
    """
    n = a.shape[-1]
    if n > MAX_UNROLLED:
        raise ValueError(f"cholesky_solve is for n <= {MAX_UNROLLED}, got n = {n}")
    zero = jnp.zeros(jnp.broadcast_shapes(a.shape[:-2], b.shape[:-1]), jnp.result_type(a, b))
    L = [[None] * n for _ in range(n)]
    ok = jnp.ones(zero.shape, bool)
    for j in range(n):
        piv = a[..., j, j] + zero
        for k in range(j):
            piv = piv - L[j][k] * L[j][k]
        ok = ok & (piv > 0)
        L[j][j] = jnp.sqrt(jnp.where(piv > 0, piv, 1.0))
        inv = 1.0 / L[j][j]
        for i in range(j + 1, n):
            acc = a[..., i, j] + zero
            for k in range(j):
                acc = acc - L[i][k] * L[j][k]
            L[i][j] = acc * inv
    y = [None] * n
    for i in range(n):
        acc = b[..., i] + zero
        for k in range(i):
            acc = acc - L[i][k] * y[k]
        y[i] = acc / L[i][i]
    x = [None] * n
    for i in reversed(range(n)):
        acc = y[i]
        for k in range(i + 1, n):
            acc = acc - L[k][i] * x[k]
        x[i] = acc / L[i][i]
    return jnp.stack(x, axis=-1), ok
