"""docs/build.py, importable from the tests (it is a script, not part of the package)."""

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parents[1] / "docs" / "build.py"
_spec = importlib.util.spec_from_file_location("physlearn_docs_build", _path)
build = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = build
_spec.loader.exec_module(build)
NOTEBOOKS = build.NOTEBOOKS


def require(module: str):
    """Import ``module`` for a docs/notebook test; skip without it locally, but fail on CI (CI=true),
    where the test extra installs it: the strict site build must never be skipped silently there."""
    import os

    import pytest

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)
    return pytest.importorskip(module)
