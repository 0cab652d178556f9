"""Plot helpers: one visual language for theory (lines) and simulation (markers with error bars).

Every figure physlearn writes uses these so that a theory curve can never be mistaken for data.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; respects an already chosen backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["figure", "theory_line", "data_points", "mark_value", "save"]

_COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def figure(title: str, xlabel: str, ylabel: str, *, size=(6.0, 4.2)):
    """A new figure with labelled axes (units in the labels) and a light grid."""
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def theory_line(ax, x, y, label: str, *, color=None, style="-", **kw):
    """A theory curve: a continuous line, no markers."""
    kw.setdefault("lw", 1.8)
    return ax.plot(np.asarray(x), np.asarray(y), style, color=color, label=label, **kw)


def data_points(ax, x, y, label: str, *, yerr=None, color=None, marker="o", **kw):
    """Measured values: markers (with error bars when given), no connecting line."""
    return ax.errorbar(
        np.asarray(x), np.asarray(y), yerr=None if yerr is None else np.asarray(yerr), fmt=marker, ms=5,
        capsize=2.5, color=color, label=label, ls="none", **kw,
    )


def mark_value(ax, x, label: str, *, color="0.3", style=":"):
    """A vertical reference line (a threshold such as a capacity)."""
    return ax.axvline(float(x), color=color, ls=style, lw=1.2, label=label)


def save(fig, path) -> str:
    """Save as PNG (150 dpi) and close."""
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return str(path)


def golf_course(ax, d, alphas, S, s_ok, V, v_ok, d_min, one_rsb=None):
    r"""The golf-course figure (Huang & Kabashima 2014; Baldassi et al. PRL 2015): per load
    :math:`\alpha`, the local entropy :math:`S_I(d)` of the dense regions (solid), the Franz--Parisi
    potential :math:`V(d)` around typical solutions (dashed), its zero :math:`d_{\min}` (triangle),
    and :math:`H_2(d)` (dotted). ``one_rsb=(S_1RSB, ok)`` adds the 1RSB curve on the same grid
    (thin dash-dot). Arrays are ``(len(alphas), len(d))`` with their convergence masks."""
    from .theory.franz_parisi import h2

    dd = np.geomspace(d[0], 0.5, 200)
    theory_line(ax, dd, np.asarray(h2(dd)), r"$H_2(d)$ ($\alpha=0$ bound)", color="0.5", style=":")
    for i, a in enumerate(alphas):
        c = f"C{i}"
        theory_line(ax, d[s_ok[i]], S[i][s_ok[i]], rf"$S_I(d)$ dense regions, $\alpha={a:g}$", color=c)
        theory_line(ax, d[v_ok[i]], V[i][v_ok[i]], rf"$V(d)$ around typical solutions, $\alpha={a:g}$",
                    color=c, style="--")
        if one_rsb is not None:
            s1, ok1 = one_rsb
            theory_line(ax, d[ok1[i]], s1[i][ok1[i]], rf"$S_I(d)$ 1RSB ($m\to1$), $\alpha={a:g}$", color="k",
                        style="-.", lw=0.9)
        if np.isfinite(d_min[i]):
            ax.plot([d_min[i]], [0.0], "v", color=c, ms=7, label=rf"$d_{{\min}}={d_min[i]:.3f}$ ($V=0$)")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 0.45)
    ax.legend(fontsize=7, ncol=2)
