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
