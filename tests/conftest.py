"""Test configuration: float64 on (as the theory needs), memory hygiene."""

import gc

import jax

jax.config.update("jax_enable_x64", True)


def pytest_runtest_teardown(item, nextitem):
    if nextitem is None or item.module is not nextitem.module:
        jax.clear_caches()
        gc.collect()
