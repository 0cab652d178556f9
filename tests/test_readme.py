"""The README's examples run as printed.

Every ```python block of README.md runs in a fresh process (so that imports, float64 and the device
count are those of a user's session). A line that ends in ``# test: <code>`` runs as ``<code>``: the
README marks the examples that are sized for an accelerator this way, with the smaller size the
test uses. The ```toml sweep runs through ``physlearn run`` on the sweep it shows. Wall times are
printed (``pytest -s``): the README states them for a quiet 2-core machine.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
TEST_LINE = re.compile(r"^(?P<indent>\s*)(?P<code>.*?)\s*#\s*test:\s*(?P<test>.+)$")


def as_tested(block: str) -> str:
    """The block with every ``... # test: <code>`` line replaced by ``<code>``."""
    out = []
    for line in block.splitlines():
        m = TEST_LINE.match(line)
        out.append(m.group("indent") + m.group("test").strip() if m else line)
    return "\n".join(out) + "\n"


def _env():
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cache = jax.config.jax_compilation_cache_dir  # share the test session's persistent cache
    if cache:
        env["JAX_COMPILATION_CACHE_DIR"] = cache
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
    return env


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 4
    assert any("# test:" in b for b in BLOCKS)  # the accelerator-sized example says how the test runs it
    assert "## Changelog" in README


@pytest.mark.parametrize("i", range(len(BLOCKS)), ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_block_runs_as_printed(i, tmp_path):
    code = as_tested(BLOCKS[i])
    script = tmp_path / f"readme_{i}.py"
    script.write_text(code)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=_env(), cwd=tmp_path,
                         timeout=600)
    wall = time.perf_counter() - t
    print(f"\nREADME block {i}: {wall:.1f} s wall")
    assert out.returncode == 0, (f"README block {i} failed:\n{code}\n--- stdout\n{out.stdout[-3000:]}\n"
                                 f"--- stderr\n{out.stderr[-6000:]}")
    assert "DeprecationWarning" not in out.stderr, out.stderr[-3000:]


def test_toml_sweep_runs_as_printed(tmp_path):
    m = re.search(r"```toml\n(.*?)```", README, flags=re.S)
    cmd = re.search(r"`(physlearn run [a-z][\w-]* --config sweep\.toml --out [^`\s]+)`", README)
    assert m and cmd, "the README shows a sweep config and the command that runs it"
    (tmp_path / "sweep.toml").write_text(m.group(1))
    args = cmd.group(1).split()
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "physlearn", *args[1:]], capture_output=True, text=True, env=_env(),
                         cwd=tmp_path, timeout=600)
    print(f"\nREADME sweep: {time.perf_counter() - t:.1f} s wall")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    from physlearn import experiments

    table = experiments.load(tmp_path / args[-1])
    assert len(table["solved"]) > 0
