"""The result that every ``solve`` of :mod:`physlearn.algorithms` returns (or extends).

Every array has the batch axes of the call in front: ``(P?, S?)`` -- hyper-parameter points (when a
hyper-parameter is a batch of P points) and disorder samples (when the problem is a batch of S
instances) -- followed by its own axes.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ._network import outputs_from_preacts, preactivations

__all__ = ["AlgorithmResult", "ReplicaResult", "errors_of", "solved_flag", "base_fields", "best_network"]


class AlgorithmResult(eqx.Module):
    """Fields shared by every algorithm's result.

    - ``solved`` (bool): the stopping rule's network is a solution (``stop="never"``: the returned
      network is one);
    - ``steps`` (int): steps used, in the unit of the ``solve`` (epochs, sweeps, attempted moves;
      its docstring says which);
    - ``errors`` (int): training errors (violated patterns) of ``weights``, counted from them;
    - ``weights``: the returned configuration ``(..., K, N)`` (int8 for +-1 weights);
    - ``trace``: the per-step report of the algorithm (its ``Info`` with a step axis after the batch
      axes, zero past ``steps``) when ``trace=True``, else ``None``.

    Each algorithm's result adds its own fields after these.
    """

    solved: jax.Array
    steps: jax.Array
    errors: jax.Array
    weights: jax.Array
    trace: eqx.Module | None


class ReplicaResult(AlgorithmResult):
    """:class:`AlgorithmResult` of an algorithm that holds several networks (replicas) and a
    read-out centre (reference): ``centre_errors``, ``replica_errors (..., y)`` at the end and the
    ``centre (..., K, N)``."""

    centre_errors: jax.Array
    replica_errors: jax.Array
    centre: jax.Array


def errors_of(weights, problem, hyper: bool = False):
    """Training errors of ``weights (..., K, N)`` on ``problem`` (one instance or a batch with one
    sample axis; ``hyper``: ``weights`` has a leading axis of hyper-parameter points), counted from
    the weights themselves (int32, the batch axes of ``weights``)."""
    def one(w, inputs, labels):
        dt = w.dtype if jnp.issubdtype(w.dtype, jnp.floating) else jnp.float32  # +-1: exact for N < 2**24
        h = preactivations(w.astype(dt), inputs, problem.tree)
        return jnp.sum(outputs_from_preacts(h) != labels.astype(dt), dtype=jnp.int32)

    fn = one
    if problem.batch_shape:
        fn = jax.vmap(fn)
    if hyper:
        fn = jax.vmap(fn, in_axes=(0, None, None))
    return fn(weights, problem.inputs, problem.labels)


def solved_flag(stop_fired, errors, stop: str):
    """``solved`` of a result: the stopping rule fired (``"any"``/``"centre"``); for
    ``stop="never"``, which never fires, whether the returned network classifies every pattern."""
    return errors == 0 if stop == "never" else stop_fired


def base_fields(run_result, weights, problem, *, trace: bool, hyper: bool, stop: str, steps=None) -> dict:
    """The :class:`AlgorithmResult` fields of a finished :func:`~physlearn.algorithms.runner.run`:
    ``errors`` counted from ``weights``, ``solved`` (:func:`solved_flag`), ``steps`` (default: the
    driver's steps) and ``trace``; pass them on as ``Result(**base_fields(...), own fields...)``."""
    errors = errors_of(weights, problem, hyper)
    return dict(
        solved=solved_flag(run_result.solved, errors, stop),
        steps=run_result.steps if steps is None else steps,
        errors=errors,
        weights=weights,
        trace=run_result.trace if trace else None,
    )


def best_network(centre, replicas, centre_errors, replica_errors):
    """The network to return from replicas ``(..., y, K, N)`` and their centre ``(..., K, N)``:
    the centre when it has no more errors than the best replica, else the best replica."""
    best = jnp.argmin(replica_errors, axis=-1)
    rep = jnp.take_along_axis(replicas, best[..., None, None, None], axis=-3)[..., 0, :, :]
    use_centre = centre_errors <= jnp.min(replica_errors, axis=-1)
    return jnp.where(use_centre[..., None, None], centre, rep)
