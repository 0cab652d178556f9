"""Every notebook (jupytext py:percent) runs top to bottom in a Jupyter kernel at its small size and
passes its own assertions; the executed copy (with its outputs and figures) is what the docs site
renders: ``tests/test_docs.py`` builds the site from these copies, so no notebook runs twice.

Each notebook gets its own test class, so that pytest-xdist (``--dist loadscope``) can run
notebooks on different workers: a notebook costs about a minute, mostly XLA compilation of the
theory functions in a fresh kernel."""

import os
import traceback

import jax
import pytest

from _docs_build import NOTEBOOKS, build, require

nbformat = require("nbformat")
require("nbclient")


def run_notebook(path, dest):
    env = dict(os.environ, MPLBACKEND="Agg")
    # XLA level 1 for the notebooks' algorithm runs, long enough for it (conftest.py: 0 for the tests)
    # (the fusion emitters stay off, as in the test processes: conftest.py)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "").replace("--xla_backend_optimization_level=0",
                                                        "--xla_backend_optimization_level=1")
    cache = jax.config.jax_compilation_cache_dir  # set by conftest.py when PHYSLEARN_JAX_CACHE=1
    if cache:  # the notebooks share the tests' persistent compilation cache (the tour compiles the same curves)
        env.update(JAX_COMPILATION_CACHE_DIR=cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0.5")
    status = "failed"
    try:
        executed = build.execute_notebook(path, dest, size="small", env=env)
        nb = nbformat.read(executed, as_version=4)
        images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert images, "an executed notebook carries its figures as outputs"
        assert list((dest / f"{path.stem}_figures").glob("*.png")), "a notebook should write its figures"
        status = "ok"
    except Exception:
        status = "failed\n" + traceback.format_exc()
        raise
    finally:  # tests/test_docs.py waits for this marker
        (dest / f"{path.stem}.done").write_text(status)


def _notebook_class(path):
    def test_runs(self, executed_notebooks):
        run_notebook(path, executed_notebooks)

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
        text = path.read_text()
        assert "plotting.output_dir(" in text and "plotting.save(" not in text, (
            f"{path.name}: figures go through plotting.output_dir/show (never the working folder)")
