"""Attendance figures: per-session series with trend and events, means per period, seasonality,
loyalty (returns after a first visit).

Each function draws a result of :mod:`qsp_eval.attendance` and returns the
Axes; no statistics are computed here.
"""

from __future__ import annotations

import numpy as np

from ..i18n import tr
from .style import finish_ax, get_ax, palette

__all__ = ["plot_sessions", "plot_period_means", "plot_seasonality", "plot_loyalty", "MONTHS"]

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
    m = _floats(result["mean_visits_per_session"])
    ax.plot(x, m, marker="o", linestyle="none", color=c)
    _mean_error_bars(ax, x, m, result, ecolor=c, capsize=3, linewidth=1.2)
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
    m = _floats(result["mean_visits_per_session"])
    x = result["month"].to_numpy(dtype=int)
    ax.bar(x, np.nan_to_num(m), color=c, width=0.7)
    _mean_error_bars(ax, x, m, result, ecolor="#333333", capsize=2, linewidth=1)
    names = MONTHS[0] if lang == "fr" else MONTHS[1]
    ax.set_xticks(x, [names[i - 1] for i in x])
    return finish_ax(ax, title=tr("Saisonnalité : passages par permanence selon le mois",
                                  "Seasonality: visits per session by month", lang),
                     xlabel=tr("Mois (toutes années)", "Month (all years)", lang),
                     ylabel=tr("Passages par permanence", "Visits per session", lang))


def _mean_error_bars(ax, x, m, result, **style) -> None:
    """Error bars ``ci_low``–``ci_high`` of ``result`` around the means ``m`` (where known)."""
    lo, hi = _floats(result["ci_low"]), _floats(result["ci_high"])
    ok = ~(np.isnan(m) | np.isnan(lo) | np.isnan(hi))
    ax.errorbar(x[ok], m[ok], yerr=[m[ok] - lo[ok], hi[ok] - m[ok]], fmt="none", **style)


def _floats(values) -> np.ndarray:
    """Numbers as a float array; missing values (NaN, NA, None, text) become NaN."""
    import pandas as pd

    return pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


def _horizon_label(h: int, lang: str) -> str:
    if h == 1:
        return tr("Revenues dans le mois", "Back within 1 month", lang)
    return tr(f"Revenues dans les {h} mois", f"Back within {h} months", lang)


def plot_loyalty(result, *, ax=None, lang: str = "fr"):
    """Share of new people who came back within each horizon, by cohort of first visit.

    Parameters
    ----------
    result : DataFrame
        Output of :func:`qsp_eval.attendance.loyalty` (``period``,
        ``horizon_months``, ``share``, ``ci_low``, ``ci_high``...), possibly
        after the disclosure rules: a suppressed or undefined share (NaN/NA,
        e.g. nobody followed for the whole horizon) is not drawn.
    ax : matplotlib Axes, optional
    lang : {"fr", "en"}

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[i]`` holds the shares (in %, y-data; NaN where not drawn)
        of the i-th horizon in increasing order, one point per cohort, the
        horizons side by side around each cohort's tick; the Wilson 95 %
        intervals are error bars.  x tick labels are the cohorts; legend
        labels name the horizons ("Revenues dans les 3 mois").

    Examples
    --------
    >>> from qsp_eval.attendance import loyalty
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-25"}, {"date": "2023-06-07"}],
    ...                   visits=[{"date": "2023-01-04", "person_id": "a"},
    ...                           {"date": "2023-01-25", "person_id": "a"},
    ...                           {"date": "2023-01-04", "person_id": "b"}])
    >>> plot_loyalty(loyalty(ds, cohort="year")).lines[0].get_ydata().tolist()
    [50.0]
    """
    ax = get_ax(ax)
    periods = list(dict.fromkeys(str(p) for p in result["period"]))
    horizons = sorted({int(h) for h in result["horizon_months"]})
    colours = palette(max(len(horizons), 1))
    x = np.arange(len(periods), dtype=float)
    width = 0.5 / max(len(horizons), 1)
    series = []
    for i, h in enumerate(horizons):
        sub = result.loc[result["horizon_months"].astype(int) == h]
        # align on the cohorts: a cohort missing for this horizon gets NaN
        cols = {c: dict(zip((str(p) for p in sub["period"]), _floats(sub[c]), strict=True))
                for c in ("share", "ci_low", "ci_high")}
        share, lo, hi = (np.array([cols[c].get(p, np.nan) for p in periods], dtype=float)
                         for c in ("share", "ci_low", "ci_high"))
        xi = x + (i - (len(horizons) - 1) / 2) * width
        # all point lines first, so that ax.lines[i] is horizon i (error bars add cap lines)
        ax.plot(xi, 100 * share, marker="o", linestyle="none", color=colours[i],
                label=_horizon_label(h, lang))
        series.append((xi, 100 * share, 100 * lo, 100 * hi, colours[i]))
    for xi, y, lo, hi, col in series:
        ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            ax.errorbar(xi[ok], y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt="none",
                        ecolor=col, capsize=3, linewidth=1.2)
    ax.set_xticks(x, periods)
    if len(periods) > 6:  # quarters or months: "2021-Q42022-Q1..." would run together
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        for lab in ax.get_xticklabels():
            lab.set_horizontalalignment("right")
    ax.set_xlim(-0.5, max(len(periods) - 0.5, 0.5))
    ax.set_ylim(0, 100)
    if horizons:
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return finish_ax(ax, title=tr("Fidélisation : part des nouvelles personnes revenues (IC 95 %)",
                                  "Loyalty: share of new people who came back (95% CI)", lang),
                     xlabel=tr("Période de la première venue", "Period of the first visit", lang),
                     ylabel=tr("% des nouvelles personnes suivies",
                               "% of new people followed up", lang))
