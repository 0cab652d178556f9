"""Every notebook (jupytext py:percent) runs top to bottom at its small size and passes its own
assertions."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PHYSLEARN_SIZE="small", PHYSLEARN_NOTEBOOK_OUT=str(tmp_path))
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), "a notebook should produce its figures"


def test_notebooks_are_valid_jupytext():
    jupytext = pytest.importorskip("jupytext")
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        assert any(c.cell_type == "markdown" for c in nb.cells) and any(c.cell_type == "code" for c in nb.cells)
