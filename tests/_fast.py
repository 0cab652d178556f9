"""``fast_jit``: ``jax.jit`` with the compiler options of physlearn's current compile mode (the tests
run in the fast mode, see ``conftest.py``), for the tests that compile a theory functional and
evaluate it once or twice: compilation is nearly all of their cost."""

import jax

from physlearn._config import compiler_options


def fast_jit(fun, **jit_kwargs):
    return jax.jit(fun, compiler_options=compiler_options(), **jit_kwargs)
