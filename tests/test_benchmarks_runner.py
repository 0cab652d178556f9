"""benchmarks/run.py: the log-log slope, the JSON merge and the Markdown rendering (no benchmark
is run: fake bench files and fake results)."""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load_runner():
    spec = importlib.util.spec_from_file_location("bench_runner", ROOT / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MACHINE = dict(system="Linux", arch="x86_64", processor="x86_64", cores=2, python="3.11.7", jax="0.10.1",
               backend="cpu", devices=["cpu"], blas_threads={})


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 2.0, -1.0])
def test_loglog_slope_recovers_power_law(p):
    run = _load_runner()
    x = [81, 161, 321, 641]
    t = [3.7e-3 * v**p for v in x]
    assert run.loglog_slope(x, t) == pytest.approx(p, abs=1e-12)


def test_loglog_slope_least_squares_and_missing_points():
    run = _load_runner()
    # least squares, not end points: log t = 2 log x + noise orthogonal to (1, log x); the slope
    # between the end points is 2 - 0.1 / log 8
    x = [1.0, 2.0, 4.0, 8.0]
    eps = [0.1, -0.2, 0.1, 0.0]
    t = [v**2 * math.exp(e) for v, e in zip(x, eps)]
    assert run.loglog_slope(x, t) == pytest.approx(2.0, abs=1e-12)
    # missing / non-positive times are skipped; fewer than two points -> None
    assert run.loglog_slope([1, 10, 100], [None, 2.0, 20.0]) == pytest.approx(1.0, abs=1e-12)
    assert run.loglog_slope([1, 10], [None, 2.0]) is None
    assert run.loglog_slope([5, 5], [1.0, 2.0]) is None


def _fake_results(run):
    data = {"format": run.FORMAT, "files": {}}
    run.merge(data, "bench_a.py", "rows", [dict(workload="A work", physlearn_s=0.5, baseline_s=5.0, ratio=10.0,
                                                 notes="a note")], date="2026-01-01", machine=MACHINE)
    xs = [100, 200, 400]
    run.merge(data, "bench_a.py", "scaling", [dict(workload="A curve", variable="N", values=xs,
                                                    physlearn_s=[1e-3 * (v / 100) for v in xs],
                                                    baseline_s=[2e-3 * (v / 100) ** 2 for v in xs])],
              date="2026-01-01", machine=MACHINE)
    run.merge(data, "bench_b.py", "rows", [dict(workload="B work", physlearn_s=2.0, baseline_s=1.0, ratio=0.5,
                                                 notes="b note")], date="2026-01-01", machine=MACHINE)
    run.merge(data, "bench_b.py", "scaling", [dict(workload="B curve", variable="samples", values=[4, 16, 64],
                                                    physlearn_s=[1.0, 1.0, 1.0], baseline_s=[None, 2.0, 8.0],
                                                    notes="b scaling")], date="2026-01-01", machine=MACHINE)
    return data


def test_render_from_json_file(tmp_path):
    run = _load_runner()
    js, md = tmp_path / "results.json", tmp_path / "RESULTS.md"
    js.write_text(json.dumps(_fake_results(run)))
    assert run.main(["--render", "--json", str(js), "--md", str(md)]) == 0
    text = md.read_text()
    assert "Machine: Linux x86_64 (x86_64), 2 cores; Python 3.11.7; JAX 0.10.1 (backend cpu" in text
    assert "date 2026-01-01." in text and "Run dates" not in text
    assert "| A work | 0.5 | — | — | — | 5 | 10.0x | a note | bench_a.py |" in text
    assert "| B work | 2 | — | — | — | 1 | 0.5x | b note | bench_b.py |" in text
    lines = text.splitlines()
    a = next(ln for ln in lines if ln.startswith("| A curve |"))
    cells = [c.strip() for c in a.strip("|").split("|")]
    # workload, variable, values, physlearn times, slope, baseline times, slope, notes, file
    assert cells[1:3] == ["N", "100, 200, 400"]
    assert cells[4] == "1" and cells[6] == "2"  # t = c N and t = c N^2
    b = next(ln for ln in lines if ln.startswith("| B curve |"))
    cells = [c.strip() for c in b.strip("|").split("|")]
    assert cells[4] == "0" and cells[5] == "—, 2, 8" and cells[6] == "1"  # missing point skipped
    assert "1 means time grows linearly" in text


def test_render_escapes_pipes_in_cells():
    run = _load_runner()
    data = _fake_results(run)
    data["files"]["bench_a.py"]["rows"]["items"][0]["notes"] = "max |u - v| = 1e-16"
    line = next(ln for ln in run.render(data).splitlines() if ln.startswith("| A work |"))
    assert "max \\|u - v\\| = 1e-16" in line
    assert line.replace("\\|", "").count("|") == 10  # 9 columns


def test_cli_rerun_merges_instead_of_dropping(tmp_path, monkeypatch):
    run = _load_runner()
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    for name, t in (("a", 0.5), ("b", 2.0)):
        (bench / f"bench_{name}.py").write_text(
            "def run():\n"
            f"    return [dict(workload='{name} work', physlearn_s={t}, baseline_s=1.0, ratio={1.0 / t}, notes='')]\n"
            "def scaling():\n"
            f"    return [dict(workload='{name} curve', variable='N', values=[1, 2], physlearn_s=[{t}, {2 * t}],"
            " baseline_s=[1.0, 4.0])]\n"
        )
    monkeypatch.setattr(run, "HERE", bench)
    js, md = tmp_path / "results.json", tmp_path / "RESULTS.md"
    io = ["--json", str(js), "--md", str(md)]
    assert run.main(io) == 0
    first = json.loads(js.read_text())
    assert set(first["files"]) == {"bench_a.py", "bench_b.py"}
    assert set(first["files"]["bench_a.py"]) == {"rows", "scaling"}
    assert first["files"]["bench_a.py"]["rows"]["machine"]["cores"] >= 1

    # bench_a changes; re-run only its rows: bench_b and bench_a's scaling are kept
    (bench / "bench_a.py").write_text(
        "def run():\n    return [dict(workload='a work v2', physlearn_s=0.25, baseline_s=1.0, ratio=4.0, notes='')]\n"
        "def scaling():\n    raise AssertionError('must not run')\n"
    )
    assert run.main(["a", "--no-scaling", *io]) == 0
    second = json.loads(js.read_text())
    assert second["files"]["bench_b.py"] == first["files"]["bench_b.py"]
    assert second["files"]["bench_a.py"]["scaling"] == first["files"]["bench_a.py"]["scaling"]
    assert second["files"]["bench_a.py"]["rows"]["items"][0]["workload"] == "a work v2"
    text = md.read_text()
    assert "a work v2" in text and "b work" in text and "a curve" in text and "b curve" in text
    assert "| a curve | N | 1, 2 | 0.5, 1 | 1 | 1, 4 | 2 |" in text

    # a failing section keeps the stored one and makes the exit status non-zero
    assert run.main(["a", "--only-scaling", *io]) == 1
    assert json.loads(js.read_text())["files"]["bench_a.py"]["scaling"] == first["files"]["bench_a.py"]["scaling"]
    with pytest.raises(SystemExit):
        run.main(["nosuch", *io])


def test_render_marks_dates_and_machines():
    run = _load_runner()
    data = _fake_results(run)
    other = dict(MACHINE, cores=16, backend="gpu", devices=["NVIDIA H100"])
    run.merge(data, "bench_b.py", "rows", data["files"]["bench_b.py"]["rows"]["items"], date="2026-02-03",
              machine=other)
    text = run.render(data)
    assert "Run dates:" in text and "bench_b.py rows 2026-02-03, scaling 2026-01-01" in text
    assert "1. Linux x86_64 (x86_64), 2 cores" in text and "2. Linux x86_64 (x86_64), 16 cores" in text
    assert "| b note | bench_b.py (2026-02-03) [machine 2] |" in text
    assert "| a note | bench_a.py (2026-01-01) [machine 1] |" in text


CEILINGS = dict(
    matmul_f32=dict(median=200.0, min=190.0, max=210.0, n=5), matmul_f64=dict(median=100.0, min=90.0, max=110.0, n=5),
    elementwise_f32=dict(median=100.0, min=90.0, max=110.0, n=5),
    elementwise_f64=dict(median=50.0, min=45.0, max=55.0, n=5),
    copy_bandwidth=dict(median=50.0, min=45.0, max=55.0, n=5),
    transcendental={"float32": {"exp": dict(median=2.0, min=1.0, max=3.0, n=5)},
                    "float64": {"exp": dict(median=1.0, min=1.0, max=1.0, n=5),
                                "GH": dict(median=0.5, min=0.5, max=0.5, n=5)}},
)


def test_floor_is_the_slower_of_memory_and_arithmetic():
    run = _load_runner()
    mod = run._ceilings_module()
    # compute: 2e9 matmul FLOP at 200 GFLOP/s (10 ms) + 1e9 ops at 100 GFLOP/s (10 ms)
    #          + 2e7 exp at 2 per ns (10 ms) = 30 ms; memory: 1e9 B at 50 GB/s = 20 ms
    w = dict(matmul_flops=2e9, flops=1e9, bytes=1e9, transcendentals=dict(exp=2e7))
    assert mod.floor_seconds(w, CEILINGS) == pytest.approx(0.03)
    assert mod.floor_seconds(dict(w, bytes=2e9), CEILINGS) == pytest.approx(0.04)  # memory-bound now
    # float64 rates; a numerics function is looked up among the float64 rates
    w64 = dict(dtype="float64", flops=5e8, transcendentals=dict(exp=1e7, GH=1e7))
    assert mod.floor_seconds(w64, CEILINGS) == pytest.approx(0.01 + 0.01 + 0.02)


def test_render_floor_and_spread_columns():
    run = _load_runner()
    data = _fake_results(run)
    row = data["files"]["bench_a.py"]["rows"]["items"][0]
    row.update(physlearn_spread=[0.4, 0.7, 5], work=dict(flops=1e10))  # 1e10 ops at 100 GFLOP/s: 0.1 s
    data["files"]["bench_a.py"]["rows"]["ceilings"] = CEILINGS
    data["files"]["bench_a.py"]["rows"]["load"] = [1.5, 1.7]
    data["ceilings"] = dict(date="2026-01-01", machine=MACHINE, values=dict(CEILINGS, load=[1.5, 1.6, 1.7]))
    text = run.render(data)
    assert "| A work | 0.5 | 0.4–0.7 (n=5) | 0.1 | 5.0x | 5 | 10.0x | a note | bench_a.py |" in text
    assert "| B work | 2 | — | — | — | 1 | 0.5x | b note | bench_b.py |" in text  # no work, no ceilings: no floor
    assert "## Floors" in text and "| A work | 1e+10 ops (float32) | 0.1 |" in text
    assert "## Ceilings" in text and "| f32 matmul, n=2048 | 200 GFLOP/s (190-210, n=5) |" in text
    assert "bench_a.py rows 1.5–1.7" in text


def test_quick_runs_each_rows_at_its_quick_size_into_a_scratch_folder(tmp_path, monkeypatch):
    run = _load_runner()
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_a.py").write_text(
        "QUICK = dict(n=3)\n"
        "def run(n=1000):\n"
        "    return [dict(workload=f'a work n={n}', physlearn_s=0.5, baseline_s=1.0, ratio=2.0, notes='')]\n"
        "def scaling():\n    raise AssertionError('--quick runs rows only')\n"
    )
    (bench / "bench_b.py").write_text("raise ImportError('an API this file uses moved')\n")
    monkeypatch.setattr(run, "HERE", bench)
    monkeypatch.setattr(run, "QUICK_DIR", tmp_path / "quick")
    assert run.main(["--quick", "--no-ceilings"]) == 1  # bench_b fails to load; bench_a still runs
    data = json.loads((tmp_path / "quick" / "results.json").read_text())
    assert data["files"]["bench_a.py"]["rows"]["items"][0]["workload"] == "a work n=3"
    assert "scaling" not in data["files"]["bench_a.py"]
    assert "a work n=3" in (tmp_path / "quick" / "RESULTS.md").read_text()
    assert not (bench / "results.json").exists() and not (bench / "RESULTS.md").exists()
    with pytest.raises(SystemExit):
        run.main(["--quick", "--only-scaling"])
