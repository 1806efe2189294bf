"""Shared look of every figure: colour-blind-safe palette, sizes readable at A4 width.

No global state is changed: functions return colours or create axes with the
project's size; fonts and grid are set per axes.
"""

from __future__ import annotations

__all__ = ["PALETTE", "A4_WIDTH_IN", "get_ax", "finish_ax", "palette"]

#: Okabe–Ito palette (colour-blind safe), in drawing order.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#999999"]
#: Text width of an A4 page with 2 cm margins, in inches.
A4_WIDTH_IN = 6.7


def palette(n: int) -> list[str]:
    """Return ``n`` colours of the palette (cycling, grey last)."""
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def get_ax(ax=None, *, height: float = 3.6, width: float = A4_WIDTH_IN):
    """Return ``ax`` or a new Axes on a figure sized for an A4 text width."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    # attach a canvas so the figure can be saved and shown in notebooks
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    del plt
    return fig.add_subplot()


def finish_ax(ax, *, title: str | None = None, xlabel: str | None = None, ylabel: str | None = None):
    """Apply the common look: light horizontal grid, no top/right spines, labels at 9–10 pt."""
    if title is not None:
        ax.set_title(title, fontsize=10, loc="left")
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=9)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax
