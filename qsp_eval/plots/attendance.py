"""Attendance figures: per-session series with trend and events, means per period, seasonality.

Each function draws a result of :mod:`qsp_eval.attendance` and returns the
Axes; no statistics are computed here.
"""

from __future__ import annotations

import numpy as np

from ..i18n import tr
from .style import finish_ax, get_ax, palette

__all__ = ["plot_sessions", "plot_period_means", "plot_seasonality", "MONTHS"]

#: Short month names (French, English), January first.
MONTHS = (
    ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
     "déc."),
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
)


def plot_sessions(result, *, events=None, ax=None, lang: str = "fr"):
    """Visits per held session over time, its smoothed trend and the dated events.

    Parameters
    ----------
    result : DataFrame
        Output of :func:`qsp_eval.attendance.session_trend` (``date``,
        ``visits``, ``trend``, ``themed``, ``trend_method``).
    events : DataFrame, optional
        Output of :func:`qsp_eval.attendance.events_frame`; default
        ``result.attrs["events"]`` when present.  Drawn as vertical dashed
        lines (the change under evaluation in a distinct colour) with labels.
    ax : matplotlib Axes, optional
    lang : {"fr", "en"}

    Returns
    -------
    matplotlib.axes.Axes
        Lines: ``ax.lines[0]`` the sessions (markers), ``ax.lines[1]`` the trend;
        one vertical line per event after them.  Themed sessions are filled markers
        drawn as a separate collection when any exist.

    Examples
    --------
    >>> from qsp_eval.attendance import session_trend
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04", "attendance": 2},
    ...                    {"date": "2023-01-11", "attendance": 4}])
    >>> ax = plot_sessions(session_trend(ds, method="rolling", window=2))
    >>> ax.lines[0].get_ydata().tolist()
    [2.0, 4.0]
    """
    ax = get_ax(ax)
    c = palette(4)
    d = result.loc[result["visits"].notna()]
    x = d["date"].to_numpy()
    y = d["visits"].to_numpy(dtype=float)
    ax.plot(x, y, linestyle="none", marker="o", markersize=3.5, color=c[0], alpha=0.7,
            label=tr("Passages par permanence", "Visits per session", lang))
    method = str(result["trend_method"].iloc[0]) if len(result) else ""
    tlab = tr("Tendance lissée", "Smoothed trend", lang) + (f" ({method})" if method else "")
    ax.plot(x, d["trend"].to_numpy(dtype=float), color=c[1], linewidth=2, label=tlab)
    if "themed" in d and d["themed"].astype(bool).any():
        t = d.loc[d["themed"].astype(bool)]
        ax.scatter(t["date"].to_numpy(), t["visits"].to_numpy(dtype=float), s=22,
                   facecolors="none", edgecolors=c[3], linewidths=1.2, zorder=3,
                   label=tr("Permanence thématisée", "Themed session", lang))
    if events is None:
        events = result.attrs.get("events")
    if events is not None and len(events):
        ymax = float(np.nanmax(y)) if len(y) else 1.0
        for i, e in enumerate(events.to_dict("records")):
            col = c[2] if e["kind"] == "change" else "#555555"
            ax.axvline(e["date"], color=col, linestyle="--", linewidth=1)
            ax.annotate(e["label_fr"] if lang == "fr" else e["label_en"], xy=(e["date"], ymax),
                        xytext=(3, -10 * (i % 3)), textcoords="offset points", fontsize=7,
                        color=col, va="top", ha="left")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return finish_ax(ax, title=tr("Fréquentation par permanence tenue",
                                  "Attendance per held session", lang),
                     xlabel=tr("Date", "Date", lang),
                     ylabel=tr("Passages", "Visits", lang))


def plot_period_means(result, *, ax=None, lang: str = "fr"):
    """Mean visits per held session per period with its 95 % interval.

    Parameters
    ----------
    result : DataFrame
        Output of :func:`qsp_eval.attendance.by_period`.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[0]`` holds the means (y-data, NaN for periods without
        session); the error bars are the intervals ``ci_low``–``ci_high``.

    Examples
    --------
    >>> from qsp_eval.attendance import by_period
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04", "attendance": 3}])
    >>> plot_period_means(by_period(ds)).lines[0].get_ydata().tolist()
    [3.0]
    """
    ax = get_ax(ax)
    c = palette(1)[0]
    x = np.arange(len(result))
    m = result["mean_visits_per_session"].to_numpy(dtype=float)
    lo = result["ci_low"].to_numpy(dtype=float)
    hi = result["ci_high"].to_numpy(dtype=float)
    ax.plot(x, m, marker="o", linestyle="none", color=c)
    ok = ~np.isnan(m)
    ax.errorbar(x[ok], m[ok], yerr=[m[ok] - lo[ok], hi[ok] - m[ok]], fmt="none", ecolor=c,
                capsize=3, linewidth=1.2)
    for xi, mi, n in zip(x, m, result["sessions_held"]):
        if not np.isnan(mi):
            ax.annotate(f"{mi:.2f}".replace(".", ",") if lang == "fr" else f"{mi:.2f}",
                        xy=(xi, mi), xytext=(6, 0), textcoords="offset points", fontsize=7,
                        va="center")
        else:
            ax.annotate(tr("aucune permanence", "no session", lang) if n == 0 else "–",
                        xy=(xi, 0), xytext=(0, 4), textcoords="offset points", fontsize=7,
                        ha="center")
    ax.set_xticks(x, [str(p) for p in result["period"]])
    ax.set_ylim(bottom=0)
    return finish_ax(ax, title=tr("Passages par permanence tenue (moyenne, IC 95 %)",
                                  "Visits per held session (mean, 95% CI)", lang),
                     xlabel=tr("Période", "Period", lang),
                     ylabel=tr("Passages par permanence", "Visits per session", lang))


def plot_seasonality(result, *, ax=None, lang: str = "fr"):
    """Mean visits per held session for each calendar month (all years pooled).

    Parameters
    ----------
    result : DataFrame
        Output of :func:`qsp_eval.attendance.seasonality` (12 rows).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per month (``ax.patches``, height = mean, 0 for months
        without session) with its 95 % interval as error bars.

    Examples
    --------
    >>> from qsp_eval.attendance import seasonality
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04", "attendance": 3}])
    >>> float(plot_seasonality(seasonality(ds)).patches[0].get_height())
    3.0
    """
    ax = get_ax(ax)
    c = palette(1)[0]
    m = result["mean_visits_per_session"].to_numpy(dtype=float)
    lo = result["ci_low"].to_numpy(dtype=float)
    hi = result["ci_high"].to_numpy(dtype=float)
    x = result["month"].to_numpy(dtype=int)
    h = np.nan_to_num(m)
    ax.bar(x, h, color=c, width=0.7)
    ok = ~np.isnan(m)
    ax.errorbar(x[ok], m[ok], yerr=[m[ok] - lo[ok], hi[ok] - m[ok]], fmt="none", ecolor="#333333",
                capsize=2, linewidth=1)
    names = MONTHS[0] if lang == "fr" else MONTHS[1]
    ax.set_xticks(x, [names[i - 1] for i in x])
    return finish_ax(ax, title=tr("Saisonnalité : passages par permanence selon le mois",
                                  "Seasonality: visits per session by month", lang),
                     xlabel=tr("Mois (toutes années)", "Month (all years)", lang),
                     ylabel=tr("Passages par permanence", "Visits per session", lang))
