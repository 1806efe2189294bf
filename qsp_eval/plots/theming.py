"""Theming figures: the session series with the ITS fit and counterfactual; effect vs placebos.

Each function draws a :class:`qsp_eval.theming.ThemingResult`; no statistics here.
"""

from __future__ import annotations

import numpy as np

from ..i18n import tr
from .style import A4_WIDTH_IN, finish_ax, get_ax, palette

__all__ = ["plot_theming", "plot_theming_series", "plot_theming_effect"]


def plot_theming_series(result, *, ax=None, lang: str = "fr"):
    """Observed visits per session, the ITS fit and the counterfactual after the start.

    Plain sessions are open circles, themed sessions filled diamonds; the
    fitted line is solid; the counterfactual (no change at the start) is
    dashed with its 95 % band; the start and the context events are
    vertical lines.

    Parameters
    ----------
    result : ThemingResult
    ax : matplotlib Axes, optional
    lang : {"fr", "en"}

    Returns
    -------
    matplotlib.axes.Axes or None
        None when the analysis could not be made (``result.estimable`` False
        or no session): the reason is in ``result.reason(lang)``, shown
        instead of the figure.

    Examples
    --------
    >>> # plot_theming_series(theming_analysis(ds), lang="en")
    """
    if not getattr(result, "estimable", True) or not len(result.series) or \
            not len(result.fitted):
        return None
    ax = get_ax(ax)
    c = palette(6)
    s = result.series
    plain, themed = s.loc[~s["themed"]], s.loc[s["themed"]]
    ax.plot(plain["date"].to_numpy(), plain["visits"].to_numpy(), linestyle="none", marker="o",
            markersize=3.5, markerfacecolor="none", color=c[0], alpha=0.8,
            label=tr("Permanence non thématisée", "Plain session", lang))
    if len(themed):
        ax.plot(themed["date"].to_numpy(), themed["visits"].to_numpy(), linestyle="none",
                marker="D", markersize=4, color=c[3],
                label=tr("Permanence thématisée", "Themed session", lang))
    f = result.fitted
    ax.plot(f["date"].to_numpy(), f["estimate"].to_numpy(), color=c[1], linewidth=2,
            label=tr("Modèle ajusté", "Fitted model", lang))
    cf = result.counterfactual
    if len(cf):
        x = cf["date"].to_numpy()
        ax.fill_between(x, cf["ci_low"].to_numpy(), cf["ci_high"].to_numpy(), color=c[1],
                        alpha=0.15, linewidth=0)
        ax.plot(x, cf["estimate"].to_numpy(), color=c[1], linestyle="--", linewidth=1.5,
                label=tr("Sans changement (contrefactuel, IC 95 %)",
                         "Had nothing changed (counterfactual, 95% CI)", lang))
    top = float(np.nanmax(s["visits"].to_numpy())) if len(s) else 1.0
    ax.axvline(result.start, color=c[5], linewidth=1.2)
    label = result.change_label_fr if lang == "fr" else result.change_label_en
    # event labels above the data, in the head room under the legend, on a white ground:
    # the change to the right of its line, context events to the left of theirs
    ax.text(result.start, top * 1.22, " " + label, fontsize=7, color=c[5], va="bottom",
            ha="left", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    for k, e in enumerate(ev for ev in result.events if getattr(ev, "kind", "context") == "context"):
        ax.axvline(np.datetime64(e.date), color="#777777", linestyle=":", linewidth=1)
        ax.text(np.datetime64(e.date), top * (1.22 - 0.1 * (k % 2)), e.label(lang) + " ",
                fontsize=7, color="#555555", va="bottom", ha="right",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=2)
    ax.set_ylim(0, top * 1.6)
    return finish_ax(ax, title=tr("Passages par permanence", "Visits per session", lang),
                     xlabel=tr("Date de la permanence", "Session date", lang),
                     ylabel=tr("Passages", "Visits", lang))


def plot_theming_effect(result, *, ax=None, lang: str = "fr"):
    """Estimated rate ratios with 95 % intervals beside the placebo estimates.

    Rows: themed vs plain (visits), its placebo estimates (fake start dates,
    grey dots), the level change at the start (all sessions) and its
    placebos.  Log-scaled x axis, reference line at 1.

    Returns
    -------
    matplotlib.axes.Axes or None
        None when no effect could be estimated (see ``result.reason``).

    Examples
    --------
    >>> # plot_theming_effect(theming_analysis(ds))
    """
    rows = []
    ov = getattr(result, "overall", None) or {}
    if ov.get("status") == "estimated":
        rows.append((tr("Ensemble / tendance (cumul)", "All / trend (cumulative)", lang),
                     "cumulative", ov["ratio"], ov["ci_low"], ov["ci_high"]))
    tv = result.themed_vs_plain.set_index("outcome")
    if "visits" in tv.index and np.isfinite(tv.loc["visits", "rate_ratio"]):
        r = tv.loc["visits"]
        rows.append((tr("Thématisées / non thém.", "Themed / plain", lang), "themed_after",
                     r["rate_ratio"], r["ci_low"], r["ci_high"]))
    e = result.effects.set_index("term")
    if "level_change" in e.index and np.isfinite(e.loc["level_change", "rate_ratio"]):
        r = e.loc["level_change"]
        rows.append((tr("Saut au début (toutes)", "Jump at start (all)", lang), "level_change",
                     r["rate_ratio"], r["ci_low"], r["ci_high"]))
    if not rows:
        return None
    ax = get_ax(ax)
    c = palette(6)
    labels, y = [], 0
    rng = np.random.default_rng(0)  # fixed jitter: drawing only
    for name, term, rr, lo, hi in rows:
        pl = result.placebo.loc[result.placebo["term"] == term, "rate_ratio"].to_numpy()
        if len(pl):
            ax.plot(pl, y + rng.uniform(-0.15, 0.15, len(pl)), linestyle="none", marker="o",
                    markersize=3, color="#999999", alpha=0.8,
                    label=tr("Placebo (fausses dates)", "Placebo (fake dates)", lang)
                    if y == 0 else None)
            labels.append(tr("  placebos", "  placebos", lang))
            y += 1
        ax.errorbar([rr], [y], xerr=[[rr - lo], [hi - rr]], fmt="o", color=c[0], capsize=3,
                    markersize=5, label=tr("Estimation (IC 95 %)", "Estimate (95% CI)", lang)
                    if y <= 1 else None)
        labels.append(name)
        y += 1
    ax.axvline(1.0, color="#444444", linewidth=0.8)
    ax.set_xscale("log")
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

    lo_x, hi_x = ax.get_xlim()
    ticks = [t for t in (0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 6, 8)
             if lo_x <= t <= hi_x]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    # fixed labels, not a lambda formatter: the figure must pickle to be saved in the
    # report's background worker
    ax.xaxis.set_major_formatter(FixedFormatter(
        [f"{v:g}".replace(".", ",") if lang == "fr" else f"{v:g}" for v in ticks]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.7, max(len(labels), 1) - 0.3)
    if rows:
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    return finish_ax(ax, title=tr("Effet estimé et placebos", "Estimated effect and placebos",
                                  lang), xlabel=tr("Rapport de taux", "Rate ratio", lang))


def plot_theming(result, *, lang: str = "fr"):
    """Two panels: the session series with fit and counterfactual; the effect beside placebos.

    Parameters
    ----------
    result : ThemingResult
        Output of :func:`qsp_eval.theming.theming_analysis`.
    lang : {"fr", "en"}

    Returns
    -------
    matplotlib.figure.Figure or None
        Axes 0: :func:`plot_theming_series`; axes 1: :func:`plot_theming_effect`;
        None when the analysis could not be made.

    Examples
    --------
    >>> # fig = plot_theming(theming_analysis(ds), lang="en")
    """
    if not getattr(result, "estimable", True) or not len(result.fitted):
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(A4_WIDTH_IN, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, height_ratios=[3, 2])
    plot_theming_series(result, ax=ax1, lang=lang)
    plot_theming_effect(result, ax=ax2, lang=lang)
    return fig
