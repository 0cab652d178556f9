"""The failure contract of the theory API under jit, vmap and grad (issue 22's cases): a failed
point raises a clear error naming it (eagerly, under an eager grad, and from inside compiled code),
or, flagged, is NaN in every value field with converged=False and a result code; traced solves
without float64 raise a clear error instead of crashing inside JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlearn import solvers
from physlearn.errors import NonConvergenceError, PrecisionError
from physlearn.theory import gardner

N = 32  # quadrature nodes: the contract does not depend on them


def entropy(alpha, **kw):
    return gardner.binary_rs(alpha, n=N, **kw).entropy


def test_jit_raises_naming_the_failed_point():
    # alpha = 2 is beyond the RS branch (4/pi): under jit this returned -9.1e14 without an error
    f = jax.jit(entropy)
    with pytest.raises(Exception, match=r"(?s)binary_rs did not converge.*alpha=2"):
        jax.block_until_ready(f(2.0))
    with pytest.raises(Exception, match=r"(?s)alpha=-1.*admissible"):  # NaN before
        jax.block_until_ready(f(-1.0))
    assert abs(float(f(0.5)) - float(gardner.binary_rs(0.5, n=N).entropy)) < 1e-14


def test_grad_raises_nonconvergence_error():
    # grad raised TracerArrayConversionError from inside solvers.py
    with pytest.raises(NonConvergenceError, match=r"alpha=2"):
        jax.grad(entropy)(2.0)
    g = jax.grad(entropy)(0.5)
    assert abs(float(g) - float(gardner.energetic_term(gardner.binary_rs(0.5, n=N).q, 0.0, N))) < 1e-10


def test_vmap_raises():
    with pytest.raises(Exception, match=r"alpha=2"):
        jax.block_until_ready(jax.vmap(entropy)(jnp.array([0.5, 2.0])))


def test_flag_gives_nan_values_and_a_result_code():
    # flag returned the finite garbage -9.1e14
    r = gardner.binary_rs(np.array([0.5, 2.0]), n=N, on_failure="flag")
    assert list(r.converged) == [True, False]
    assert list(r.result) == [solvers.RESULTS.successful, solvers.RESULTS.branch_ended]
    for field in ("q", "q_hat", "entropy", "replicon"):
        v = np.asarray(getattr(r, field))
        assert np.isfinite(v[0]) and np.isnan(v[1]), field
    assert np.isfinite(r.residual).all() and list(r.alpha) == [0.5, 2.0]
    assert "branch ended" in solvers.RESULTS.message(r.result[1])
    # the same under jit, and gradients: NaN at the failed point only
    f = jax.jit(lambda a: entropy(a, on_failure="flag"))
    assert np.isnan(float(f(2.0)))
    g = jax.vmap(jax.grad(lambda a: entropy(a, on_failure="flag")))(jnp.array([0.5, 2.0]))
    assert np.isfinite(float(g[0])) and np.isnan(float(g[1]))


def test_traced_solve_without_x64_raises_a_clear_error():
    with jax.enable_x64(False):
        with pytest.raises(PrecisionError, match=r"enable_x64"):
            jax.grad(entropy)(0.5)
        with pytest.raises(PrecisionError, match=r"enable_x64"):
            jax.jit(entropy)(0.5)
        # eager calls need nothing; a closed form is traced in float32 (after a PrecisionWarning)
        assert np.asarray(gardner.binary_rs(0.5, n=N).q).dtype == np.float64
        assert abs(float(jax.jit(gardner.spherical_capacity)(0.0)) - 2.0) < 1e-5


def test_eager_theory_calls_in_a_fresh_process_without_x64():
    """A user who never enables x64: the eager entry points of each theory module compute in float64
    inside their own scope and leave the global switch off. Run in a fresh interpreter, because
    anything the modules fix at import (a float type read from the x64 switch then) is only wrong
    when physlearn is imported with x64 off; the tests' own process imports it with x64 on.
    (`local_entropy` once fixed float32 at import, and every local-entropy call, hence `physlearn
    tour`, failed inside optimistix with a dtype mismatch.)"""
    import os
    import subprocess
    import sys
    import textwrap

    # one eager call (compiled and run), and the programs of the other modules' entry points traced
    # in the same float64 scope that an eager call opens (tracing is where such a mismatch fails;
    # compiling them all would cost a minute)
    script = textwrap.dedent("""
        import jax
        import numpy as np
        from physlearn.theory import franz_parisi as fp, gardner, local_entropy as le
        v = gardner.binary_rs(0.5).entropy
        assert np.asarray(v).dtype == np.float64 and np.isfinite(v), v
        with jax.enable_x64(True):
            for f in (lambda a: fp.binary(a, 0.1, n=8, nx=4, neta=4).entropy,
                      lambda a: le.free_reference_rs(a, 0.05, n=8).entropy,
                      lambda a: le.fixed_coupling_rs(a, 0.5, 5.0, n=8, n_in=8).internal_entropy):
                assert jax.eval_shape(f, 0.6).dtype == np.float64
        assert not jax.config.jax_enable_x64
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
