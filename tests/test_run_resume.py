"""`physlearn run`: chunked sweeps, atomic chunk files, resume after a kill, config validation."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from physlearn import cli, experiments

# A tiny RSGD sweep: 6 grid points (seeds x lam), one chunk per point; lam is a traced
# hyper-parameter, so all points share one compiled program.
CONFIG = """
chunk_size = 1

[grid]
seed = [0, 1, 2]
lam = [0.0, 0.75]

[fixed]
alpha = 0.6
n = 21
samples = 3
replicas = 3
batch = 5
max_epochs = 20
"""


def _env(**extra):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", **extra}
    cache = jax.config.jax_compilation_cache_dir  # share the test session's persistent cache
    if cache:
        env["JAX_COMPILATION_CACHE_DIR"] = cache
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
    return env


def _cmd(cfg, out):
    return [sys.executable, "-m", "physlearn", "run", "rsgd-capacity", "--config", str(cfg), "--out", str(out)]


def _chunks(out):
    return sorted(p.name for p in out.glob("chunk-*.npz"))


def test_killed_sweep_resumes_to_the_same_results(tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG)
    killed = tmp_path / "killed"
    log = open(tmp_path / "killed.log", "w")
    # 1. start the sweep (slowed down to 1 s per chunk) and SIGKILL it once a chunk is on disk
    proc = subprocess.Popen(
        _cmd(cfg, killed), stdout=log, stderr=subprocess.STDOUT, env=_env(PHYSLEARN_RUN_CHUNK_DELAY="1.0")
    )
    try:
        deadline = time.monotonic() + 180
        while not _chunks(killed):
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()
            assert time.monotonic() < deadline, "no chunk written in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL
    before = {name: os.stat(killed / name) for name in _chunks(killed)}
    assert 1 <= len(before) < 6, before  # killed mid-way
    with pytest.raises(ValueError, match="rerun the same command"):
        experiments.load(killed)

    # 2. the same command again: skips the finished chunks, computes the rest
    out = subprocess.run(_cmd(cfg, killed), capture_output=True, text=True, env=_env(), timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"resuming: {len(before)} chunks already done" in out.stdout
    assert len(_chunks(killed)) == 6 and not list(killed.glob(".chunk-*"))
    for name, st in before.items():  # finished chunks were not rewritten
        now = os.stat(killed / name)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)

    # 3. an uninterrupted run of the same config (Python API, float32 as in the CLI)
    with jax.enable_x64(False):
        experiments.run("rsgd-capacity", cfg, tmp_path / "straight", verbose=False)
    a, b = experiments.load(killed), experiments.load(tmp_path / "straight")
    assert list(a) == ["point", "seed", "lam", "sample", "m", "solved", "errors", "steps"]
    assert list(a) == list(b)
    for col in a:
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    assert len(a["point"]) == 6 * 3 and 0 < a["solved"].sum() < 18  # non-trivial results
    np.testing.assert_array_equal(a["point"], np.repeat(np.arange(6), 3))
    np.testing.assert_array_equal(a["seed"], np.repeat([0, 0, 1, 1, 2, 2], 3))

    # 4. a third run has nothing to do
    out = subprocess.run(_cmd(cfg, killed) + ["--quiet"], capture_output=True, text=True, env=_env(), timeout=120)
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr


def test_theory_sweep_in_chunks_matches_direct_call(tmp_path):
    from physlearn.theory import gardner

    cfg = {"chunk_size": 2, "grid": {"alpha": [0.3, 0.5, 0.7], "kappa": [0.0]}, "fixed": {"model": "binary"}}
    experiments.run("gardner-rs", cfg, tmp_path / "g", verbose=False)
    t = experiments.load(tmp_path / "g")
    m = json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert (m["n_points"], m["n_chunks"], len(list((tmp_path / "g").glob("chunk-*.npz")))) == (3, 2, 2)
    ref = gardner.binary_rs([0.3, 0.5, 0.7], 0.0)
    np.testing.assert_allclose(t["entropy"], ref.entropy, rtol=1e-12)
    np.testing.assert_array_equal(t["alpha"], [0.3, 0.5, 0.7])
    assert t["converged"].all() and t["alpha"].dtype == np.float64


def test_config_validation_names_the_key(tmp_path):
    base = {"grid": {"alpha": [0.5]}, "fixed": {"n": 21}}

    def bad(cfg, match, exp="rsgd-capacity"):
        with pytest.raises(ValueError, match=match):
            experiments.plan(exp, cfg)

    experiments.plan("rsgd-capacity", base)  # fine
    bad({**base, "chunks": 3}, "unknown key 'chunks'")
    bad({**base, "chunk_size": 0}, "'chunk_size' must be a positive integer")
    bad({"grid": {"alpha": [0.5], "temperature": [1.0]}, "fixed": {"n": 21}}, r"\[grid\] 'temperature': not a parameter")
    bad({"grid": {"alpha": 0.5}, "fixed": {"n": 21}}, r"\[grid\] 'alpha' must be a non-empty list")
    bad({"grid": {"alpha": []}, "fixed": {"n": 21}}, r"\[grid\] 'alpha' must be a non-empty list")
    bad({"grid": {"alpha": [0.5, "x"]}, "fixed": {"n": 21}}, r"\[grid\] 'alpha': expected a finite number, got 'x'")
    bad({"grid": {"alpha": [0.5]}, "fixed": {"n": 21.0}}, r"\[fixed\] 'n': expected an integer")
    bad({"grid": {"alpha": [0.5]}, "fixed": {"n": 21, "alpha": 0.4}}, "'alpha' is both in")
    bad({"grid": {"alpha": [0.5]}}, "needs 'n'")
    bad({**base, "experiment": "sbp-capacity"}, "'experiment' is 'sbp-capacity'")
    bad(base, "unknown experiment", exp="nope")
    bad(tmp_path / "missing.toml", "cannot read config file")
    (tmp_path / "broken.toml").write_text("grid = [")
    bad(tmp_path / "broken.toml", "not valid TOML")

    # resuming into a folder made with another config is refused; a foreign folder too
    cfg = {"grid": {"alpha": [0.5], "kappa": [0.0]}}
    experiments.run("gardner-rs", cfg, tmp_path / "g", verbose=False)
    with pytest.raises(ValueError, match="different config"):
        experiments.run("gardner-rs", {"grid": {"alpha": [0.6]}}, tmp_path / "g", verbose=False)
    with pytest.raises(ValueError, match="different experiment"):
        experiments.run("rsgd-capacity", base, tmp_path / "g", verbose=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and has no manifest"):
        experiments.run("gardner-rs", cfg, tmp_path / "other", verbose=False)
    with pytest.raises(ValueError, match="no manifest.json"):
        experiments.load(tmp_path / "other")


def test_cli_errors_and_lock(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[grid]\nalpha = [0.5]\n[fixed]\nn = "21"\n')
    assert cli.main(["run", "rsgd-capacity", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "[fixed] 'n': expected an integer" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written for a bad config
    with pytest.raises(SystemExit):
        cli.main(["run", "nope", "--config", str(cfg), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit):
        cli.main(["run", "gardner-rs", "--config", str(cfg), "--out", str(tmp_path / "o"), "--devices", "0"])
    cfg.write_text("[grid]\nalpha = [0.5]\n")
    rc = cli.main(["run", "gardner-rs", "--config", str(cfg), "--out", str(tmp_path / "o"), "--devices", "64"])
    assert rc == 2 and "available devices" in capsys.readouterr().err

    # a second run into a folder that is being written is refused; stale temporary files go
    import fcntl

    out = tmp_path / "locked"
    out.mkdir()
    with open(out / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ValueError, match="another physlearn run"):
            experiments.run("gardner-rs", {"grid": {"alpha": [0.5]}}, out, verbose=False)
    cfg = {"grid": {"alpha": [0.5, 0.6]}}
    experiments.run("gardner-rs", cfg, out, verbose=False)
    (out / "chunk-000001.npz").unlink()  # as if killed while writing chunk 1
    (out / ".chunk-000001.npz.tmp-123").write_bytes(b"partial")
    with pytest.raises(ValueError, match="1 of 2 chunks missing"):
        experiments.load(out)
    assert len(experiments.load(out, partial=True)["alpha"]) == 1
    experiments.run("gardner-rs", cfg, out, verbose=False)
    assert not list(out.glob(".chunk-*")) and list(experiments.load(out)["alpha"]) == [0.5, 0.6]


def _fake_experiment(monkeypatch, point):
    """Register a cheap experiment 'fake' whose points run ``point(params)``."""
    exp = experiments.Experiment("fake", "test double", {"x": experiments.Param(float, help="a value")},
                                 lambda params, key, mesh=None: point(params))
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", exp)


def _rows(params):
    if params["x"] == 13.0:  # a value the experiment itself rejects (no range check in plan() knows it)
        raise ValueError("x must not be 13")
    return {"y": np.asarray([2.0 * params["x"]])}


def test_rejected_config_leaves_the_folder_reusable(tmp_path, capsys, monkeypatch):
    """A config that is rejected -- up front by plan()'s range checks, or by the experiment at its
    first point -- leaves nothing that blocks the same --out once the config is fixed."""
    cfg, out = tmp_path / "c.toml", tmp_path / "out"
    # 1. rejected up front: nothing is written at all
    cfg.write_text("[grid]\nalpha = [0.5, -0.8]\n")
    assert cli.main(["run", "gardner-rs", "--config", str(cfg), "--out", str(out)]) == 2
    assert "[grid] 'alpha' must be > 0, got -0.8" in capsys.readouterr().err
    assert not out.exists()
    # 2. rejected by the experiment at its first point: the manifest it wrote does not block the fixed config
    _fake_experiment(monkeypatch, _rows)
    cfg.write_text("chunk_size = 1\n[grid]\nx = [13.0, 1.0]\n")
    assert cli.main(["run", "fake", "--config", str(cfg), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "x must not be 13" in err and "nothing was written" in err
    cfg.write_text("chunk_size = 1\n[grid]\nx = [12.0, 1.0]\n")  # fixed
    assert cli.main(["run", "fake", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert list(experiments.load(out)["y"]) == [24.0, 2.0]
    assert json.loads((out / "manifest.json").read_text())["config"]["grid"] == [["x", [12.0, 1.0]]]
    # 3. a folder that holds finished chunks of another config stays protected
    cfg.write_text("chunk_size = 1\n[grid]\nx = [5.0]\n")
    assert cli.main(["run", "fake", "--config", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "different config" in capsys.readouterr().err
    # 4. a point rejected after some chunks were written: the error says what the folder holds
    cfg.write_text("chunk_size = 1\n[grid]\nx = [1.0, 13.0]\n")
    assert cli.main(["run", "fake", "--config", str(cfg), "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    assert "the 1 finished chunk(s)" in capsys.readouterr().err


def test_ctrl_c_stops_a_run_with_one_line_and_keeps_the_chunks(tmp_path, capsys, monkeypatch):
    calls = []

    def point(params):
        calls.append(params["x"])
        if params["x"] == 3.0 and calls.count(3.0) == 1:
            raise KeyboardInterrupt  # Ctrl-C while the third point computes
        return {"y": np.asarray([params["x"]])}

    _fake_experiment(monkeypatch, point)
    cfg, out = tmp_path / "c.toml", tmp_path / "out"
    cfg.write_text("chunk_size = 1\n[grid]\nx = [1.0, 2.0, 3.0, 4.0]\n")
    argv = ["run", "fake", "--config", str(cfg), "--out", str(out), "--quiet"]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted; 2 finished chunk(s) kept" in err[0], err
    assert _chunks(out) == ["chunk-000000.npz", "chunk-000001.npz"]
    assert cli.main(argv) == 0  # the same command resumes
    assert list(experiments.load(out)["y"]) == [1.0, 2.0, 3.0, 4.0] and calls == [1.0, 2.0, 3.0, 3.0, 4.0]


@pytest.mark.slow
def test_distributed_two_processes_match_one(tmp_path):
    """--distributed with 2 CPU processes x 2 devices (gloo collectives): the samples are sharded
    over 4 devices of 2 processes, process 0 writes; a resume also works; results as one process."""
    import socket

    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG.replace("samples = 3", "samples = 4"))

    def distributed(out):
        with socket.socket() as s:
            s.bind(("localhost", 0))
            port = s.getsockname()[1]
        procs = [
            subprocess.Popen(
                _cmd(cfg, out) + ["--distributed"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env=_env(
                    XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip(), JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo",
                    JAX_COORDINATOR_ADDRESS=f"localhost:{port}", JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(i),
                ),
            )
            for i in range(2)
        ]
        outs = [p.communicate(timeout=600)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs), "\n".join(outs)
        return outs[0]

    distributed(tmp_path / "d")
    (tmp_path / "d" / "chunk-000003.npz").unlink()
    assert "resuming: 5 chunks already done" in distributed(tmp_path / "d")
    with jax.enable_x64(False):
        experiments.run("rsgd-capacity", cfg, tmp_path / "one", verbose=False)
    a, b = experiments.load(tmp_path / "d"), experiments.load(tmp_path / "one")
    for col in a:
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
