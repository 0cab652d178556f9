"""Plot helpers: one visual language for theory (lines) and simulation (markers with error bars).

Every figure physlearn writes uses these so that a theory curve can never be mistaken for data.

No point is dropped silently. :func:`theory_line` and :func:`data_points` take the *requested*
points with a mask ``ok`` (e.g. a solver's ``converged``) and a reason ``missing``: a theory line
breaks where it has no solution and a dot marks where each drawn stretch ends; a measured point
that is not available is drawn as a cross on the bottom edge of the axes. Both record what they
did not draw on the figure; :func:`missing_points` returns the records and
:func:`describe_missing` turns them into a sentence for the caption (the tour appends it to every
caption, and refuses a figure with a non-finite drawn value that was not recorded).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; respects an already chosen backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = [
    "figure",
    "theory_line",
    "data_points",
    "mark_value",
    "missing_points",
    "describe_missing",
    "save",
    "show",
    "output_dir",
    "golf_course",
]

_COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def figure(title: str, xlabel: str, ylabel: str, *, size=(6.0, 4.2)):
    """A new figure with labelled axes (units in the labels) and a light grid."""
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _valid(x, y, ok):
    x, y = np.asarray(x, dtype=float).reshape(-1), np.asarray(y, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same number of points, got {x.size} and {y.size}")
    valid = np.isfinite(y) & np.isfinite(x)
    if ok is not None:
        ok = np.broadcast_to(np.asarray(ok, dtype=bool).reshape(-1), x.shape)
        valid &= ok
    return x, y, valid


def _record(ax, label: str, where, n_total: int, why: str, name: str | None = None) -> None:
    fig = ax.figure
    if not hasattr(fig, "_physlearn_missing"):
        fig._physlearn_missing = []
    fig._physlearn_missing.append((label, np.asarray(where, dtype=float).reshape(-1), int(n_total), why, name))


def _where(at, x, valid):
    """The values that locate the missing points in prose: ``at=(name, values)`` or x itself."""
    if at is None:
        return x[~valid], None
    name, values = at
    values = np.broadcast_to(np.asarray(values, dtype=float).reshape(-1), x.shape)
    return values[~valid], name


def missing_points(fig) -> list[tuple]:
    """What :func:`theory_line` and :func:`data_points` did not draw on ``fig``: a list of
    ``(label, where, number of requested points, reason, name)``, where ``where`` locates the
    missing points (their x, or the values given as ``at=(name, values)``)."""
    return list(getattr(fig, "_physlearn_missing", []))


def _plain(label: str) -> str:
    """A legend label without TeX markup, for prose."""
    import re

    text = label.replace("$", "").replace("\\alpha", "α").replace("\\gamma", "γ").replace("\\kappa", "κ")
    text = text.replace("\\to", "→").replace("\\min", "min").replace("\\lambda", "λ")
    text = re.sub(r"_\{([^}]*)\}", r"_\1", text)
    return text.replace("{", "").replace("}", "").replace("\\", "")


def _fmt_x(v: float) -> str:
    return f"{v:.3g}"


def describe_missing(records, xname: str = "x") -> str:
    """One sentence per record of :func:`missing_points`, e.g. ``"binary weights: 12 of 120 points
    not drawn (no converged RS solution) at alpha from 1.2 to 1.25."``; ``""`` when nothing is
    missing."""
    out = []
    for label, xs, n, why, name in records:
        xs = np.sort(xs[np.isfinite(xs)])
        where = (", ".join(_fmt_x(v) for v in xs) if xs.size <= 6 else f"from {_fmt_x(xs[0])} to {_fmt_x(xs[-1])}")
        clean = _plain(label)
        if xs.size:
            out.append(f"{clean}: {xs.size} of {n} point{'s' if n != 1 else ''} not drawn ({why}) at "
                       f"{name or xname} = {where}.")
        else:
            out.append(f"{clean}: not drawn ({why}).")
    return " ".join(out)


def theory_line(ax, x, y, label: str, *, ok=None, missing: str = "no converged solution", at=None, color=None,
                style="-", end_marks: bool = True, **kw):
    """A theory curve: a continuous line, no markers.

    ``ok`` (bool, same length as ``x``): points to draw, e.g. ``converged``; non-finite values are
    never drawn either. Where points are missing the line breaks (it is never joined across a
    gap), a dot marks the end of each drawn stretch that borders a missing point (where the branch
    ends), and the missing points are recorded with the reason ``missing`` (see
    :func:`missing_points`), located by their x or by ``at=(name, values)`` (e.g. the coupling of a
    curve drawn parametrically, whose x is undefined where it has no solution)."""
    kw.setdefault("lw", 1.8)
    x, y, valid = _valid(x, y, ok)
    (line,) = ax.plot(x, np.where(valid, y, np.nan), style, color=color, label=label, **kw)
    if not valid.all():
        where, name = _where(at, x, valid)
        _record(ax, label, where, x.size, missing, name)
        if end_marks and valid.any():
            nxt = np.concatenate([valid[1:], [True]])
            prv = np.concatenate([[True], valid[:-1]])
            ends = valid & (~nxt | ~prv)
            ax.plot(x[ends], y[ends], "o", ms=3.5, color=line.get_color(), label="_nolegend_")
    return line


def data_points(ax, x, y, label: str, *, yerr=None, ok=None, missing: str = "not measured", at=None, color=None,
                marker="o", **kw):
    """Measured values: markers (with error bars when given), no connecting line.

    ``ok`` (bool, same length as ``x``): points that were measured (e.g. the solver converged on at
    least one instance); non-finite values are treated as not measured. A missing point is drawn as
    a cross on the bottom edge of the axes at its ``x`` and recorded with the reason ``missing``
    (see :func:`missing_points`; ``at=(name, values)`` locates it in prose instead of x). Its x
    must be finite (give where it would be, e.g. the theory's value at the same parameter)."""
    x, y, valid = _valid(x, y, ok)
    if not np.isfinite(x).all():
        raise ValueError(f"data_points {label!r}: every x must be finite (a missing point is drawn at its x)")
    err = None
    if yerr is not None:
        err = np.asarray(yerr, dtype=float)
        err = err[..., valid] if err.ndim else err
    art = ax.errorbar(x[valid], y[valid], yerr=err, fmt=marker, ms=5, capsize=2.5, color=color, label=label,
                      ls="none", **kw)
    if not valid.all():
        import matplotlib.transforms as mtransforms

        c = art[0].get_color()
        trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(x[~valid], np.full((~valid).sum(), 0.02), "x", ms=7, mew=1.8, color=c, transform=trans,
                clip_on=False, label=f"{label}: {missing} (×, not drawn)")
        where, name = _where(at, x, valid)
        _record(ax, label, where, x.size, missing, name)
    return art


def mark_value(ax, x, label: str, *, color="0.3", style=":"):
    """A vertical reference line (a threshold such as a capacity)."""
    return ax.axvline(float(x), color=color, ls=style, lw=1.2, label=label)


def save(fig, path) -> str:
    """Save as PNG (150 dpi) and close."""
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return str(path)


def show(fig, path) -> str:
    """Save as PNG (:func:`save`) and, inside a Jupyter kernel, display the saved image as the
    cell's output (so that an executed notebook carries its figures); as a script it only saves."""
    path = save(fig, path)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is not a dependency
        return path
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import Image, display

        display(Image(filename=path))
    return path


def output_dir(script=None, *, env: str = "PHYSLEARN_NOTEBOOK_OUT") -> Path:
    """The folder a notebook writes its figures to, created if needed: ``$PHYSLEARN_NOTEBOOK_OUT``
    when set; otherwise ``output/`` next to ``script`` (pass the notebook's ``__file__`` when it
    runs as a script, ``python notebooks/01_gardner_capacity.py`` -> ``notebooks/output/``), or in
    the working folder when ``script`` is None (a Jupyter kernel starts in the notebook's folder).
    ``notebooks/output/`` is ignored by git; figures never land in the repository root."""
    value = os.environ.get(env)
    if value:
        out = Path(value)
    elif script is not None:
        out = Path(script).resolve().parent / "output"
    else:
        out = Path.cwd() / "output"
    out.mkdir(parents=True, exist_ok=True)
    return out


def golf_course(ax, d, alphas, S, s_ok, V, v_ok, d_min, one_rsb=None):
    r"""The golf-course figure (Huang & Kabashima 2014; Baldassi et al. PRL 2015): per load
    :math:`\alpha`, the local entropy :math:`S_I(d)` of the dense regions (solid), the Franz--Parisi
    potential :math:`V(d)` around typical solutions (dashed), its zero :math:`d_{\min}` (triangle),
    and :math:`H_2(d)` (dotted). ``one_rsb=(S_1RSB, ok)`` adds the 1RSB curve on the same grid
    (thin dash-dot). Arrays are ``(len(alphas), len(d))`` with their convergence masks; each curve
    is drawn where its solve converged and ends (dot) where its RS branch ends; the grid points
    without a solution are recorded (:func:`missing_points`)."""
    from .theory.franz_parisi import h2

    d = np.asarray(d, dtype=float)
    dd = np.geomspace(d[0], 0.5, 200)
    theory_line(ax, dd, np.asarray(h2(dd)), r"$H_2(d)$ ($\alpha=0$ bound)", color="0.5", style=":")
    why = "no RS solution there: beyond the end of the RS branch"
    for i, a in enumerate(alphas):
        c = f"C{i}"
        theory_line(ax, d, S[i], rf"$S_I(d)$ dense regions, $\alpha={a:g}$", ok=s_ok[i], missing=why, color=c)
        theory_line(ax, d, V[i], rf"$V(d)$ around typical solutions, $\alpha={a:g}$", ok=v_ok[i], missing=why,
                    color=c, style="--")
        if one_rsb is not None:
            s1, ok1 = one_rsb
            theory_line(ax, d, s1[i], rf"$S_I(d)$ 1RSB ($m\to1$), $\alpha={a:g}$", ok=ok1[i],
                        missing="1RSB search flagged (no collapse onto RS, or no RS point to start from)",
                        color="k", style="-.", lw=0.9)
        if np.isfinite(d_min[i]):
            ax.plot([d_min[i]], [0.0], "v", color=c, ms=7, label=rf"$d_{{\min}}={d_min[i]:.3f}$ ($V=0$)")
        else:
            _record(ax, rf"$d_{{\min}}$ (zero of V), $\alpha={a:g}$", [np.nan], 1, "V has no zero on the drawn branch")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 0.45)
    ax.legend(fontsize=7, ncol=2)
