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
    assert rc == 3 and "did not converge" in out.err
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


def _check_tour_section(name, tmp_path):
    from physlearn.tour import run_tour

    path = run_tour(tmp_path / "report", sections=[name], progress=False)
    text = path.read_text()
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert all(f"({p})" in text for p in pngs)  # every figure is in the report
    assert "| quantity | reference |" in text
    assert "**no**" not in text  # every theory-vs-reference row agrees
    return text


def _tour_section_class(name):
    def test_section(self, tmp_path):
        text = _check_tour_section(name, tmp_path)
        if name == "Gardner capacity":
            assert "| binary capacity alpha_KM(kappa=0) | 0.833078599 |" in text
            assert len(list((tmp_path / "report").glob("*.png"))) >= 3

    return type("TestTour_" + "".join(w.capitalize() for w in name.replace("-", " ").split()), (), {"test_section": test_section})


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
