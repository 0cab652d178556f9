"""The `physlearn` command and the tour report."""

import json
import subprocess
import sys

import numpy as np
import pytest

from physlearn import cli
from physlearn.theory import gardner


def test_theory_gardner_json(capsys):
    rc = cli.main(["theory", "gardner", "--model", "binary", "--alpha", "0.4", "0.6", "--kappa", "0", "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["alpha"] for r in rows] == [0.4, 0.6]
    ref = gardner.binary_rs([0.4, 0.6])
    np.testing.assert_allclose([r["entropy"] for r in rows], ref.entropy, rtol=1e-12)
    assert all(r["converged"] for r in rows)


def test_theory_gardner_table_and_flagged_points(capsys):
    rc = cli.main(["theory", "gardner", "--model", "spherical", "--alpha", "1.0", "2.5"])
    out = capsys.readouterr()
    assert rc == 3 and "no RS solution at (alpha=2.5, kappa=0)" in out.err  # says which point and why
    assert "n/a" in out.out  # no result-looking numbers for the flagged point


def test_capacity_command(capsys):
    assert cli.main(["theory", "capacity", "--model", "spherical", "--kappa", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["alpha_c"] == pytest.approx(2.0, abs=1e-12)


def test_bad_input_is_a_clear_error(capsys):
    assert cli.main(["theory", "gardner", "--alpha", "-1"]) == 2
    assert "alpha must be > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["theory", "gardner", "--model", "gaussian"])


def test_help_runs_as_a_command():
    out = subprocess.run([sys.executable, "-m", "physlearn.cli", "--help"], capture_output=True, text=True, check=True)
    assert "tour" in out.stdout and "theory" in out.stdout


def _subparsers(parser, name="physlearn"):
    import argparse

    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _subparsers(sub, f"{name} {sub_name}")


def test_every_option_shows_its_default_and_every_help_ends_with_examples():
    for name, parser in _subparsers(cli.build_parser()):
        text = parser.format_help()
        tail = text.rstrip().splitlines()
        examples = text.rsplit("examples:", 1)
        assert len(examples) == 2, f"{name} --help has no examples"
        ex_lines = [line.strip() for line in examples[1].strip().splitlines()]
        assert 1 <= len(ex_lines) <= 2 and all(line.startswith("physlearn") for line in ex_lines), (name, tail)
        for action in parser._actions:
            if action.option_strings and action.help is not argparse_suppress() and "--help" not in action.option_strings \
                    and "--version" not in action.option_strings:
                shown = parser._get_formatter()._get_help_string(action)
                assert action.help and ("default" in shown or action.required), (name, action.option_strings, shown)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


@pytest.mark.parametrize("argv, option, bad", [
    (["theory", "gardner", "--alpha", "abc"], "--alpha", "'abc'"),
    (["theory", "gardner", "--kappa", "0", "x1"], "--kappa", "'x1'"),
    (["theory", "gardner", "--alpha-range", "0.1", "1", "2.5"], "--alpha-range", "2.5"),
    (["theory", "capacity", "--kappa", "zero"], "--kappa", "'zero'"),
    (["tour", "--sections", "gardner,nope"], "--sections", "'nope'"),
    (["run", "gardner-rs", "--config", "c.toml", "--out", "o", "--devices", "0"], "--devices", "'0'"),
])
def test_a_parse_error_names_the_argument(argv, option, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and bad in err, err
    assert err.strip().splitlines()[0].startswith("usage: physlearn " + argv[0])  # the subcommand's usage


def test_sections_flag_parses_keys_in_the_tours_order():
    from physlearn.tour import SECTION_KEYS, SECTIONS, _section_names

    args = cli.build_parser().parse_args(["tour", "--sections", "golf-course, gardner"])
    assert args.sections == ["golf-course", "gardner"]
    assert _section_names(args.sections) == ["Gardner capacity", "Golf course"]  # the report keeps the tour's order
    assert _section_names(None) == list(SECTIONS) and len(SECTION_KEYS) == len(SECTIONS)
    assert _HEAVY_SECTIONS < set(SECTIONS)  # the slow marks name real sections, and some stay in the default run
    assert _section_names("fbp,Annealing") == ["Focusing BP", "Annealing"]  # keys or titles
    with pytest.raises(ValueError, match="unknown tour section"):
        _section_names(["gardner", "nope"])


def test_readme_cli_examples_exit_0(capsys):
    """The README's command-line examples of the theory calculators run and succeed."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    examples = re.findall(r"`(physlearn theory (?:gardner|capacity) [^`]+)`", readme)
    assert len(examples) >= 2, examples
    for ex in examples:
        argv = [a for a in shlex.split(ex)[1:] if not a.startswith("[")]  # drop optional flags shown as [--json]
        assert cli.main(argv) == 0, (ex, capsys.readouterr().err)
        capsys.readouterr()


def test_ctrl_c_during_the_tour_writes_the_finished_sections(tmp_path, capsys, monkeypatch):
    from physlearn import tour

    def quick(ctx):
        return [tour.Row("one", 1.0, "s", 1.0, 0.0)]

    def interrupted(ctx):
        raise KeyboardInterrupt

    monkeypatch.setitem(tour.SECTIONS, "Gardner capacity", quick)
    monkeypatch.setitem(tour.SECTIONS, "Replicated SGD", interrupted)
    rc = cli.main(["tour", "--out", str(tmp_path / "r"), "--sections", "gardner,rsgd,fbp", "--quiet"])
    assert rc == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted during section 'Replicated SGD'" in err[0], err
    report = (tmp_path / "r" / "report.md").read_text()
    assert "**Interrupted**" in report and "| one |" in report and "| Gardner capacity |" in report
    assert "| Focusing BP |" not in report


def test_ctrl_c_stops_the_tour_at_once_with_one_line(tmp_path):
    """A real SIGINT while a section is inside a long computation that does not return to Python
    (a JAX call; here a sleep in the section): the command stops within seconds, prints one line,
    exits with 130 and leaves the report of the finished sections."""
    import os
    import signal
    import textwrap

    code = textwrap.dedent("""
        import sys, time
        from physlearn import cli, tour
        def quick(ctx):
            return [tour.Row("one", 1.0, "s", 1.0, 0.0)]
        def long(ctx):
            print("started", flush=True)
            time.sleep(600)
        tour.SECTIONS["Gardner capacity"] = quick
        tour.SECTIONS["Replicated SGD"] = long
        sys.exit(cli.main(["tour", "--out", sys.argv[1], "--sections", "gardner,rsgd", "--quiet"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "r")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    try:
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted during section 'Replicated SGD'" in lines[0], err
    report = (tmp_path / "r" / "report.md").read_text()
    assert "**Interrupted**" in report and "| one |" in report


def _check_tour_section(name, tmp_path):
    """One section through the command line (``physlearn tour --sections KEY``): its figures are all
    in the report, every row agrees, every missing point is said."""
    from physlearn.tour import SECTION_KEYS, SECTIONS

    key = dict(zip(SECTIONS, SECTION_KEYS))[name]
    assert cli.main(["tour", "--out", str(tmp_path / "report"), "--sections", key, "--quiet"]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert all(f"({p})" in text for p in pngs)  # every figure is in the report
    assert "| quantity | reference |" in text
    assert "**no**" not in text  # every theory-vs-reference row agrees
    timings = text.split("## Timings", 1)[1].split("##", 1)[0]
    assert f"| {name} |" in timings and timings.count("\n|") == 3, timings  # header, rule, this section only
    assert "nan" not in text.split("## Notes", 1)[-1].lower().replace("nan)", ""), "a note quotes a missing value"
    return text


def _tour_section_class(name):
    def test_section(self, tmp_path):
        text = _check_tour_section(name, tmp_path)
        if name == "Gardner capacity":
            assert "| binary capacity alpha_KM(kappa=0) | 0.833078599 |" in text
            assert len(list((tmp_path / "report").glob("*.png"))) >= 3
        if name == "Golf course":  # the curves end where their RS branch ends, and the caption says where
            assert "Not drawn: " in text and "beyond the end of the RS branch) at d = " in text
            assert "alpha_U = 0.755 computed by physlearn" in text and "≈ 0.77 quoted" in text
        if name == "Annealing":
            assert "bootstrap intervals over instances" in text and "positive in" in text

    if name in _HEAVY_SECTIONS:
        test_section = pytest.mark.slow(test_section)
    return type("TestTour_" + "".join(w.capitalize() for w in name.replace("-", " ").split()), (), {"test_section": test_section})


# The tour sections whose test costs 14-80 s on a 2-core CI machine (compiling and running the
# algorithms, or the theory curves): marked slow (`python -m pytest -m slow tests/test_cli.py`
# runs them). Their science is asserted in the default run by the notebooks they reduce (01 Gardner
# capacity, 02 golf course, 03 algorithms vs theory, 04 fBP as an instrument, 05 annealing
# scaling), which compute the same quantities; the tour's machinery (report, figures, rows, notes)
# by the section that stays in the default run (Flat minima) and the tests above.
_HEAVY_SECTIONS = {"Gardner capacity", "Replicated SGD", "Focusing BP", "fBP as a measuring instrument",
                   "Annealing", "Golf course"}

# one class per tour section: pytest-xdist (--dist loadscope) spreads them over the workers; together
# they are the whole tour (`physlearn tour` = every section, one report)
from physlearn.tour import SECTIONS as _SECTIONS  # noqa: E402

for _name in _SECTIONS:
    _cls = _tour_section_class(_name)
    globals()[_cls.__name__] = _cls


def test_tour_rejects_bad_arguments(tmp_path):
    from physlearn.tour import run_tour

    with pytest.raises(ValueError, match="size"):
        run_tour(tmp_path / "x", size="huge")
    with pytest.raises(ValueError, match="unknown tour section"):
        run_tour(tmp_path / "y", sections=["no such section"])


def test_report_rows_state_bounds_and_equalities():
    from physlearn.tour import Row

    assert Row("q", 1.0, "s", 1.05, 0.1).agrees and not Row("q", 1.0, "s", 1.2, 0.1).agrees
    low = Row("ratio", 2.0, "s", 6.0, 0.0, relation=">=")
    assert low.agrees and low.reference_text() == "≥ 2" and "bound holds" in low.verdict()
    assert not Row("ratio", 2.0, "s", 1.5, 0.0, relation=">=").agrees
    assert Row("x", 0.0, "s", -1.0, 0.0, relation="<=").agrees
    assert not Row("x", 0.0, "s", float("nan"), 1.0).agrees  # a missing measurement never agrees
    assert "**no**" in Row("x", 0.0, "s", 1.0, 0.0, relation="<=").verdict()
    with pytest.raises(ValueError, match="relation"):
        Row("x", 0.0, "s", 0.0, 0.0, relation="~")
