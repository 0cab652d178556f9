"""Figures never drop a requested point silently; notebooks write figures to their output folder."""

import numpy as np
import pytest

from physlearn import plotting
from physlearn.tour import TourContext


def _ctx(tmp_path):
    return TourContext(out=tmp_path, size="small")


def test_theory_line_breaks_at_missing_points_and_records_them():
    fig, ax = plotting.figure("t", "x", "y")
    x = np.linspace(0.0, 1.0, 11)
    y = x**2
    ok = np.ones(11, bool)
    ok[4:6] = False  # a gap in the middle
    ok[-2:] = False  # the branch ends early
    line = plotting.theory_line(ax, x, y, "curve", ok=ok, missing="no RS solution")
    drawn = np.asarray(line.get_ydata(), float)
    assert np.isnan(drawn[~ok]).all() and np.isfinite(drawn[ok]).all()  # never joined across the gap
    dots = [ln for ln in ax.get_lines() if ln is not line]
    assert len(dots) == 1 and sorted(dots[0].get_xdata()) == pytest.approx([0.3, 0.6, 0.8])  # stretch ends
    (label, where, n, why, name), = plotting.missing_points(fig)
    assert (label, n, why, name) == ("curve", 11, "no RS solution", None)
    assert where == pytest.approx([0.4, 0.5, 0.9, 1.0])
    text = plotting.describe_missing(plotting.missing_points(fig), "α")
    assert text == "curve: 4 of 11 points not drawn (no RS solution) at α = 0.4, 0.5, 0.9, 1."


def test_data_points_mark_a_missing_measurement_on_the_axis():
    fig, ax = plotting.figure("t", "x", "y")
    plotting.data_points(ax, [0.1, 0.2, 0.3], [1.0, np.nan, 3.0], "BP", yerr=[0.1, 0.2, 0.3],
                         missing="BP did not converge", at=("γ", [1.0, 2.0, 3.0]))
    crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [0.2]
    assert "not drawn" in crosses[0].get_label()  # the legend says what the cross is
    assert plotting.describe_missing(plotting.missing_points(fig)) == (
        "BP: 1 of 3 points not drawn (BP did not converge) at γ = 2.")
    with pytest.raises(ValueError, match="every x must be finite"):
        plotting.data_points(ax, [np.nan], [1.0], "bad")


def test_every_tour_caption_says_what_was_not_drawn(tmp_path):
    ctx = _ctx(tmp_path)
    fig, ax = plotting.figure("t", "α", "y")
    plotting.theory_line(ax, [0.1, 0.2, 0.3], [1.0, 2.0, 3.0], "complete")
    ctx.figure(fig, "complete.png", "Complete", "All points.")
    fig, ax = plotting.figure("t", "α", "y")
    plotting.theory_line(ax, [0.1, 0.2, 0.3], [1.0, 2.0, 3.0], "RS", ok=[True, True, False],
                         missing="no converged RS solution")
    ctx.figure(fig, "partial.png", "Partial", "Some points.", xname="α")
    (_, _, cap_all), (_, _, cap_part) = ctx.figures
    assert cap_all == "All points."
    assert cap_part == "Some points. Not drawn: RS: 1 of 3 points not drawn (no converged RS solution) at α = 0.3."
    assert (tmp_path / "partial.png").exists()


def test_a_tour_figure_that_drops_points_silently_is_refused(tmp_path):
    fig, ax = plotting.figure("t", "x", "y")
    ax.plot([0.1, 0.2, 0.3], [1.0, np.nan, 3.0], label="raw")  # matplotlib would skip the NaN silently
    with pytest.raises(RuntimeError, match="drops non-finite points"):
        _ctx(tmp_path).figure(fig, "raw.png", "Raw", "caption")


def test_golf_course_records_branch_ends_and_a_missing_zero():
    d = np.geomspace(1e-3, 0.3, 8)
    S = np.tile(np.linspace(0.01, 0.3, 8), (2, 1))
    V = S - 0.05
    s_ok = np.ones((2, 8), bool)
    s_ok[:, -2:] = False  # S_I's branch ends before the last distances
    v_ok = np.ones((2, 8), bool)
    v_ok[1, :3] = False  # V's branch starts above the first distances
    fig, ax = plotting.figure("t", "d", "S")
    plotting.golf_course(ax, d, [0.5, 0.7], S, s_ok, V, v_ok, np.array([0.01, np.nan]))
    text = plotting.describe_missing(plotting.missing_points(fig), "d")
    assert text.count("not drawn") == 4, text  # two S_I ends, one V start, the missing zero of V at 0.7
    assert "S_I(d) dense regions, α=0.5: 2 of 8 points" in text and "d_min (zero of V), α=0.7: not drawn" in text


def test_output_dir_is_never_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PHYSLEARN_NOTEBOOK_OUT", raising=False)
    script = tmp_path / "notebooks" / "01_x.py"
    script.parent.mkdir()
    script.write_text("")
    monkeypatch.chdir(tmp_path)  # e.g. running `python notebooks/01_x.py` from the repository root
    assert plotting.output_dir(str(script)) == script.parent / "output"
    assert (script.parent / "output").is_dir() and not (tmp_path / "output").exists()
    monkeypatch.setenv("PHYSLEARN_NOTEBOOK_OUT", str(tmp_path / "figs"))
    assert plotting.output_dir(str(script)) == tmp_path / "figs"


def test_show_saves_without_a_kernel(tmp_path):
    fig, _ = plotting.figure("t", "x", "y")
    assert plotting.show(fig, tmp_path / "f.png") == str(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0
