"""Every notebook (jupytext py:percent) runs top to bottom at its small size and passes its own
assertions.

Each notebook gets its own test class, so that pytest-xdist (``--dist loadscope``) can run
notebooks on different workers: a notebook costs about a minute, mostly XLA compilation of the
theory functions in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


def run_notebook(path, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PHYSLEARN_SIZE="small", PHYSLEARN_NOTEBOOK_OUT=str(tmp_path))
    cache = jax.config.jax_compilation_cache_dir  # set by conftest.py unless PHYSLEARN_JAX_CACHE=0
    if cache:  # the notebooks share the tests' persistent compilation cache (the tour compiles the same curves)
        env.update(JAX_COMPILATION_CACHE_DIR=cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0.5")
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), "a notebook should produce its figures"


def _notebook_class(path):
    def test_runs(self, tmp_path):
        run_notebook(path, tmp_path)

    return type(f"TestNotebook_{path.stem}", (), {"test_runs": test_runs})


for _path in NOTEBOOKS:
    _cls = _notebook_class(_path)
    globals()[_cls.__name__] = _cls


def test_every_notebook_has_a_test_class():
    assert len(NOTEBOOKS) >= 5
    for path in NOTEBOOKS:
        assert f"TestNotebook_{path.stem}" in globals()


def test_notebooks_are_valid_jupytext():
    jupytext = pytest.importorskip("jupytext")
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        assert any(c.cell_type == "markdown" for c in nb.cells) and any(c.cell_type == "code" for c in nb.cells)
