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
