"""Build the physlearn documentation site: one command, offline, strict.

    python -m pip install -e ".[docs]" && python docs/build.py      # -> docs/_build/html/index.html

Steps:

1. **Notebooks.** Each ``notebooks/NN_*.py`` (jupytext ``py:percent``) is executed top to bottom
   in a Jupyter kernel at small size (``PHYSLEARN_SIZE=small``) and stored with its outputs as
   ``<notebooks dir>/NN_*.ipynb`` next to a ``.key`` file: the SHA-256 of the notebook, of every
   file of the ``physlearn`` package and of the size. A stored notebook whose key matches is
   reused, so a rebuild after editing a docs page executes nothing; the test suite
   (``tests/test_notebooks.py``) executes the notebooks through the same function and the site test
   (``tests/test_docs.py``) builds from those outputs -- no notebook runs twice in one test run.
2. **Staging.** ``docs/`` is copied to a staging folder and the generated pages are added there
   (the repository is never written to): ``api/`` (one page per public module, found by walking the
   package), ``cli.md`` (every subcommand's ``--help``) and ``notebooks/`` (the executed notebooks).
3. **Sphinx** (myst-nb renders the notebooks without executing them) with ``-W --keep-going -n``:
   any warning -- a cross-reference to a physlearn name that does not exist, a page missing from
   the toctree or linked but absent, a docstring that does not parse -- fails the build.

Options: ``--out`` (site folder, default ``docs/_build/html``), ``--notebooks`` (executed
notebooks, default ``docs/_build/notebooks``), ``--jobs`` (notebooks executed in parallel,
default 2), ``--no-execute`` (fail instead of executing a missing or stale notebook),
``--stale-ok`` (reuse executed notebooks although the sources changed: for editing the pages).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
DEFAULT_OUT = DOCS / "_build" / "html"
DEFAULT_NOTEBOOKS = DOCS / "_build" / "notebooks"


# ------------------------------------------------------------------------------------ notebooks
def source_key(notebook: Path, size: str = "small") -> str:
    """SHA-256 of what an executed notebook depends on: its text, the package's files, the size."""
    h = hashlib.sha256()
    h.update(f"size={size}\n".encode())
    h.update(Path(notebook).read_bytes())
    for f in sorted((ROOT / "physlearn").rglob("*.py")):
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def is_fresh(notebook: Path, dest: Path, size: str = "small") -> bool:
    """True when ``dest`` holds an executed copy of ``notebook`` made from the current sources."""
    key = Path(dest) / f"{Path(notebook).stem}.key"
    return key.exists() and (Path(dest) / f"{Path(notebook).stem}.ipynb").exists() and \
        key.read_text().strip() == source_key(notebook, size)


def execute_notebook(notebook: Path, dest: Path, *, size: str = "small", timeout: int = 1800,
                     env: dict | None = None) -> Path:
    """Execute a jupytext notebook in a fresh Jupyter kernel; write ``dest/<stem>.ipynb`` (with its
    outputs) and ``dest/<stem>.key``. The notebook's figures go to ``dest/<stem>_figures/``.

    On failure the partly executed notebook is kept as ``dest/<stem>.failed.ipynb`` and the
    exception (``nbclient``'s ``CellExecutionError``, with the cell's traceback) propagates."""
    import jupytext
    import nbclient
    import nbformat

    notebook, dest = Path(notebook), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stem = notebook.stem
    for suffix in (".ipynb", ".key", ".failed.ipynb"):
        (dest / f"{stem}{suffix}").unlink(missing_ok=True)
    figures = dest / f"{stem}_figures"
    figures.mkdir(exist_ok=True)
    nb = jupytext.read(notebook)
    nb.metadata.pop("jupytext", None)  # the .ipynb is an output, not a paired copy
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    kernel_env = dict(os.environ if env is None else env)
    kernel_env.update(
        PHYSLEARN_SIZE=size,
        PHYSLEARN_NOTEBOOK_OUT=str(figures),
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in kernel_env.get("PYTHONPATH", "").split(os.pathsep) if p]),
    )
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(figures)}})
    key = source_key(notebook, size)
    try:
        client.execute(env=kernel_env)
    except BaseException:
        nbformat.write(nb, dest / f"{stem}.failed.ipynb")
        raise
    nbformat.write(nb, dest / f"{stem}.ipynb")
    (dest / f"{stem}.key").write_text(key + "\n")
    return dest / f"{stem}.ipynb"


def ensure_notebooks(dest: Path, *, size: str = "small", jobs: int = 1, execute: bool = True,
                     stale_ok: bool = False, log=print) -> list[Path]:
    """Executed copies of every notebook in ``dest``: reuse the fresh ones, execute the others
    (``jobs`` at a time) or, with ``execute=False``, raise naming the missing ones. ``stale_ok``
    reuses an executed copy even when the sources changed since (for iterating on the pages)."""
    dest = Path(dest)
    stale = [nb for nb in NOTEBOOKS
             if not (is_fresh(nb, dest, size) or (stale_ok and (dest / f"{nb.stem}.ipynb").exists()))]
    if stale and not execute:
        raise FileNotFoundError(f"no executed copy (or a stale one) in {dest} of: {[nb.name for nb in stale]}")
    for nb in NOTEBOOKS:
        if nb not in stale:
            log(f"notebook {nb.name}: reusing the executed copy in {dest}")

    def run(nb):
        t0 = time.perf_counter()
        log(f"notebook {nb.name}: executing ...")
        execute_notebook(nb, dest, size=size)
        log(f"notebook {nb.name}: executed in {time.perf_counter() - t0:.0f} s")

    if stale:
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(run, stale))
    return [dest / f"{nb.stem}.ipynb" for nb in NOTEBOOKS]


# ------------------------------------------------------------------------------ generated pages
def public_modules() -> list[str]:
    """Every public module of the package: dotted names without a component starting with ``_``."""
    import pkgutil

    import physlearn

    import importlib
    import warnings

    names = ["physlearn"]
    for info in pkgutil.walk_packages(physlearn.__path__, "physlearn."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            mod = importlib.import_module(info.name)
        if mod.__name__ != info.name or (mod.__doc__ or "").lstrip().startswith("Deprecated"):
            continue  # a deprecated alias of a moved module: documented under its new name
        names.append(info.name)
    return sorted(names)


def _title(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def write_api(stage: Path) -> list[str]:
    api = stage / "api"
    api.mkdir(parents=True, exist_ok=True)
    mods = public_modules()
    for m in mods:
        (api / f"{m}.rst").write_text(
            _title(f"``{m}``", "=") + f"\n.. automodule:: {m}\n   :members:\n   :show-inheritance:\n"
        )
    index = [_title("API reference", "="),
             "Generated from the docstrings of every public module of the package (every module whose",
             "dotted name has no component starting with ``_``). Each docstring states the equation it",
             "solves, the paper, the arguments, the returns and the failure behaviour.", "",
             ".. autosummary::", "", *[f"   {m}" for m in mods], "",
             ".. toctree::", "   :hidden:", "", *[f"   {m}" for m in mods], ""]
    (api / "index.rst").write_text("\n".join(index))
    return mods


def write_cli(stage: Path) -> None:
    import argparse as _argparse

    from physlearn import cli

    parser = cli.build_parser()
    os.environ.setdefault("COLUMNS", "100")
    parts = ["# Command line", "",
             "Every subcommand of `physlearn`, with its `--help` text (generated from the parser).", ""]

    def walk(p, name):
        parts.extend([f"## `{name}`", "", "```text", p.format_help().rstrip(), "```", ""])
        for action in p._actions:
            if isinstance(action, _argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")

    walk(parser, "physlearn")
    (stage / "cli.md").write_text("\n".join(parts))


def stage_sources(stage: Path, notebooks: list[Path]) -> None:
    """A fresh copy of docs/ plus the generated pages."""
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(DOCS, stage, ignore=shutil.ignore_patterns("_build", "__pycache__", "build.py"))
    write_api(stage)
    write_cli(stage)
    nbdir = stage / "notebooks"
    nbdir.mkdir(exist_ok=True)
    for nb in notebooks:
        shutil.copy2(nb, nbdir / nb.name)


# ------------------------------------------------------------------------------------- the build
def run_sphinx(src: Path, out: Path, doctrees: Path, *, quiet: bool = True, log=print) -> str:
    """``sphinx-build -b html -W --keep-going -n`` (strict: any warning fails) in a subprocess;
    returns Sphinx's output, raises ``subprocess.CalledProcessError`` (output attached) on failure."""
    env = dict(os.environ, PHYSLEARN_DOCS_ROOT=str(ROOT), MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "-d", str(doctrees),
           str(src), str(out)] + (["-q"] if quiet else [])
    log("sphinx-build " + " ".join(cmd[3:]))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, output=proc.stdout + proc.stderr)
    return proc.stdout + proc.stderr


def build(out=DEFAULT_OUT, notebooks_dir=DEFAULT_NOTEBOOKS, *, stage=None, jobs: int = 1, execute: bool = True,
          stale_ok: bool = False, size: str = "small", quiet: bool = True, log=print) -> Path:
    """Build the site into ``out`` (strict); return the path of ``index.html``.

    Raises ``subprocess.CalledProcessError`` (with Sphinx's warnings in its ``output``) when Sphinx
    reports any warning or error."""
    out = Path(out).resolve()
    stage = Path(stage).resolve() if stage is not None else out.parent / "src"
    notebooks = ensure_notebooks(Path(notebooks_dir), size=size, jobs=jobs, execute=execute, stale_ok=stale_ok,
                                 log=log)
    stage_sources(stage, notebooks)
    run_sphinx(stage, out, out.parent / "doctrees", quiet=quiet, log=log)
    return out / "index.html"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="site folder (default: %(default)s)")
    ap.add_argument("--notebooks", default=str(DEFAULT_NOTEBOOKS),
                    help="folder of executed notebooks, reused when fresh (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed in parallel (default: %(default)s)")
    ap.add_argument("--no-execute", action="store_true", help="fail on a missing or stale executed notebook")
    ap.add_argument("--stale-ok", action="store_true",
                    help="reuse executed notebooks even if the sources changed since (when editing pages)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        index = build(args.out, args.notebooks, jobs=args.jobs, execute=not args.no_execute, stale_ok=args.stale_ok)
    except subprocess.CalledProcessError as err:
        print(err.output, file=sys.stderr)
        print(f"docs build FAILED (strict mode: warnings are errors) after {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        return 1
    print(f"site written to {index.parent} (open {index}) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
