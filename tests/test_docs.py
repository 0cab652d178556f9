"""The documentation site: built in strict mode (every Sphinx warning is an error) from the notebooks
that this test session executed, and a broken reference fails the strict build.

The site test runs last (tests/conftest.py orders it): it waits for the executed notebooks of the
notebook tests of this session (tests/test_notebooks.py) and executes only those that the session
does not run (e.g. ``pytest tests/test_docs.py`` alone executes all eight)."""

import subprocess
import time
from pathlib import Path

import pytest

from _docs_build import NOTEBOOKS, build, require

require("sphinx")
require("myst_nb")

WAIT_S = 2400  # the longest notebook, started last on a loaded 2-core machine, plus margin


def _wait_for_notebooks(dest: Path, stems: set[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    pending = set(stems)
    while pending:
        for stem in sorted(pending):
            marker = dest / f"{stem}.done"
            if marker.exists():
                status = marker.read_text()
                if status != "ok":
                    pytest.fail(f"notebook {stem} failed in this session (see its test), so the site cannot "
                                f"be built: {status.splitlines()[-1] if status else ''}")
                pending.discard(stem)
        if pending:
            if time.monotonic() > deadline:
                pytest.fail(f"notebooks still not executed after {WAIT_S} s: {sorted(pending)}")
            time.sleep(2.0)


class TestSite:
    def test_site_builds_in_strict_mode(self, request, executed_notebooks, tmp_path):
        in_session = getattr(request.config, "physlearn_notebooks_in_session", set())
        _wait_for_notebooks(executed_notebooks, in_session & {nb.stem for nb in NOTEBOOKS})
        t0 = time.perf_counter()
        try:
            index = build.build(tmp_path / "html", executed_notebooks, stage=tmp_path / "src", jobs=1,
                                log=lambda *a: None)
        except subprocess.CalledProcessError as err:
            pytest.fail("strict docs build failed:\n" + err.output[-6000:])
        seconds = time.perf_counter() - t0
        site = index.parent
        home = index.read_text()
        assert "Two commands" in home and home.count("<img") >= 5, "the landing page shows the tour figures"
        for name in ("results", "conventions", "cli", "notebooks/index", "api/index", "tour/report"):
            assert (site / f"{name}.html").exists(), name
        for mod in build.public_modules():  # the API reference covers every public module
            page = site / "api" / f"{mod}.html"
            assert page.exists(), mod
        for nb in NOTEBOOKS:  # the notebooks are rendered with their outputs (figures)
            page = (site / "notebooks" / f"{nb.stem}.html").read_text()
            assert page.count("<img") >= 1, f"{nb.stem}: no figure on the rendered page"
        assert "physlearn theory gardner" in (site / "cli.html").read_text()
        print(f"site built in {seconds:.0f} s (notebooks reused from the test run)")


def test_strict_mode_fails_on_a_broken_reference(tmp_path):
    """The configuration the site uses turns a reference to a physlearn name that does not exist
    (or a page that does not exist) into a failed build: a one-page site with each."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text((build.DOCS / "conf.py").read_text())
    (src / "index.md").write_text(
        "# Broken\n\nSee {py:func}`physlearn.theory.gardner.no_such_function` and {py:class}`numpy.ndarray` "
        "(external: ignored).\n\n```{toctree}\nmissing_page\n```\n"
    )
    with pytest.raises(subprocess.CalledProcessError) as exc:
        build.run_sphinx(src, tmp_path / "html", tmp_path / "doctrees", log=lambda *a: None)
    out = exc.value.output
    assert "physlearn.theory.gardner.no_such_function" in out and "reference target not found" in out, out
    assert "missing_page" in out, out
    assert "numpy.ndarray" not in out  # references into other projects cannot be checked offline


def test_notebook_sources_are_the_site_pages():
    """Every notebook in notebooks/ is a page (the toctree globs them) and has an executed copy."""
    index = (build.DOCS / "notebooks" / "index.md").read_text()
    assert ":glob:" in index and "[0-9]*" in index
    assert {nb.stem for nb in NOTEBOOKS} == {p.stem for p in (build.ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
