"""Activities: themed sessions and their topics, guests, outreach and collective activities.

Person-free: everything is counted from ``sessions``, ``services`` and the
visit counts of :func:`qsp_eval.attendance.per_session` (visits are passages,
not people).  Periods as in :func:`qsp_eval.services.assign_period`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import normalise_label
from .services import _period_order, _resolve, _services_with_period, assign_period

__all__ = ["ACTIVITIES", "activity_summary", "themes_by_period", "theme_table"]

#: Activity code -> (unit, French label, English label).
ACTIVITIES: dict[str, tuple[str, str, str]] = {
    "sessions_held": ("sessions", "Permanences tenues", "Sessions held"),
    "themed_sessions": ("sessions", "Permanences thématiques", "Themed sessions"),
    "themes": ("themes", "Thèmes différents abordés", "Distinct themes"),
    "guest_sessions": ("sessions", "Permanences avec intervenant·e invité·e",
                       "Sessions with a guest speaker"),
    "outreach_sessions": ("sessions", "Permanences hors les murs", "Outreach sessions"),
    "sophrology": ("services", "Séances de sophrologie", "Sophrology sessions"),
}


def _with_theme_key(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``theme_key`` (spelling-insensitive) and show each theme in its first spelling."""
    theme = df["theme"].astype(str).str.strip()
    key = theme.map(normalise_label)
    first = theme.groupby(key).transform("first")
    return df.assign(theme=first, theme_key=key)


def _held(dataset, period, span) -> pd.DataFrame:
    from .attendance import per_session

    period, span = _resolve(dataset, period, span)
    ps = per_session(dataset)
    ps = ps.assign(period=assign_period(ps["date"], period=period, span=span))
    return ps.loc[ps["period"].notna()].reset_index(drop=True)


def activity_summary(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Collective activities per period: themed, guest and outreach sessions, sophrology.

    Returns
    -------
    pandas.DataFrame
        One row per ``period`` x ``activity`` (see :data:`ACTIVITIES`):
        ``period``, ``activity``, ``label_fr``, ``label_en``, ``unit``
        ("sessions", "themes" or "services"), ``count``, ``denominator``
        (held sessions of the period, for the session counts; NaN otherwise),
        ``share`` (count / denominator).  ``sophrology`` is the sum of the
        ``sophrology`` service counts (NaN when the source has no services
        table).  Cancelled sessions are not counted.

    Examples
    --------
    >>> # activity_summary(ds).query("activity == 'sophrology'")
    """
    cols = ["period", "activity", "label_fr", "label_en", "unit", "count", "denominator",
            "share"]
    ps = _held(dataset, period, span)
    sv = _services_with_period(dataset, period, span)
    soph = sv.loc[sv["service"] == "sophrology"].groupby("period")["count"].sum()
    rows = []
    for p in _period_order(list(ps["period"]) + list(sv["period"])):
        g = ps.loc[ps["period"] == p]
        held = len(g)
        themes = g.loc[g["themed"], "theme"].astype(str).map(normalise_label)
        counts = {
            "sessions_held": held,
            "themed_sessions": int(g["themed"].sum()),
            "themes": int(themes.nunique()),
            "guest_sessions": int(g["guest"].astype(bool).sum()),
            "outreach_sessions": int((g["format"] == "outreach").sum()),
            "sophrology": int(soph.get(p, 0)) if dataset.has("services") or len(sv) else np.nan,
        }
        for code, (unit, fr, en) in ACTIVITIES.items():
            k = counts[code]
            den = held if unit == "sessions" else np.nan
            rows.append({"period": p, "activity": code, "label_fr": fr, "label_en": en,
                         "unit": unit, "count": k, "denominator": den,
                         "share": k / den if unit == "sessions" and held else np.nan})
    return pd.DataFrame(rows, columns=cols)


def themes_by_period(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Topics of the themed sessions per period.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``theme``, ``theme_category`` (NA when not given),
        ``unit`` ("sessions"), ``count`` (held sessions on that theme),
        ``guest_sessions`` (of which with a guest speaker), ``first_date``,
        ``last_date``.  Sorted by period then first date.

    Examples
    --------
    >>> # themes_by_period(ds, period="all")
    """
    cols = ["period", "theme", "theme_category", "unit", "count", "guest_sessions",
            "first_date", "last_date"]
    ps = _held(dataset, period, span)
    t = ps.loc[ps["themed"]]
    if t.empty:
        return pd.DataFrame(columns=cols)
    t = _with_theme_key(t)
    rows = []
    for (p, _key), g in t.groupby(["period", "theme_key"], sort=False):
        theme = g["theme"].iloc[0]
        cat = g["theme_category"].dropna()
        rows.append({"period": p, "theme": theme,
                     "theme_category": cat.iloc[0] if len(cat) else pd.NA, "unit": "sessions",
                     "count": len(g), "guest_sessions": int(g["guest"].astype(bool).sum()),
                     "first_date": g["date"].min(), "last_date": g["date"].max()})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["period", "first_date", "theme"]).reset_index(drop=True)


def theme_table(dataset, *, span=None, reference: bool = True) -> pd.DataFrame:
    """Each theme with the visits and first-time visitors its sessions drew (person-free).

    Parameters
    ----------
    dataset : Dataset
        Validated data.
    span : (start, end), optional
        Restrict to sessions within these dates (default: all).
    reference : bool
        Add a last row (``theme`` NA, ``reference`` True) for the non-themed
        held sessions between the first and the last themed session, as a
        point of comparison.  Descriptive only: the effect of theming is
        estimated by the interrupted time series, not here.

    Returns
    -------
    pandas.DataFrame
        ``theme``, ``theme_category``, ``reference`` (bool), ``unit``
        ("visits"), ``sessions`` (held), ``first_date``, ``last_date``,
        ``visits``, ``first_time_visitors`` (sums over the sessions whose
        count is known; NaN when none is), ``visits_per_session``,
        ``first_time_per_session`` (means over the sessions with a known
        count), ``single_session`` (True when the theme had one session),
        ``note_fr``, ``note_en`` (small-numbers caveat, empty otherwise).

    Examples
    --------
    >>> # theme_table(ds)
    """
    cols = ["theme", "theme_category", "reference", "unit", "sessions", "first_date",
            "last_date", "visits", "first_time_visitors", "visits_per_session",
            "first_time_per_session", "single_session", "note_fr", "note_en"]
    ps = _held(dataset, "all", span)
    themed = ps.loc[ps["themed"]]
    if themed.empty:
        return pd.DataFrame(columns=cols)

    def one(g, theme, cat, ref):
        v = pd.to_numeric(g["visits"], errors="coerce").astype(float)
        f = pd.to_numeric(g["first_time_visitors"], errors="coerce").astype(float)
        n = len(g)
        single = n == 1 and not ref
        few = n < 3
        note_fr = note_en = ""
        if single:
            note_fr = "Une seule permanence : chiffre à ne pas généraliser."
            note_en = "A single session: do not generalise this figure."
        elif few:
            note_fr = "Très peu de permanences : chiffres fragiles."
            note_en = "Very few sessions: fragile figures."
        return {"theme": theme, "theme_category": cat, "reference": ref, "unit": "visits",
                "sessions": n, "first_date": g["date"].min(), "last_date": g["date"].max(),
                "visits": float(v.sum()) if v.notna().any() else np.nan,
                "first_time_visitors": float(f.sum()) if f.notna().any() else np.nan,
                "visits_per_session": float(v.mean()) if v.notna().any() else np.nan,
                "first_time_per_session": float(f.mean()) if f.notna().any() else np.nan,
                "single_session": single, "note_fr": note_fr, "note_en": note_en}

    themed = _with_theme_key(themed)
    rows = []
    for _key, g in themed.groupby("theme_key", sort=False):
        theme = g["theme"].iloc[0]
        cat = g["theme_category"].dropna()
        rows.append(one(g, theme, cat.iloc[0] if len(cat) else pd.NA, False))
    out = pd.DataFrame(rows, columns=cols).sort_values(["first_date", "theme"])
    if reference:
        lo, hi = themed["date"].min(), themed["date"].max()
        plain = ps.loc[~ps["themed"] & (ps["date"] >= lo) & (ps["date"] <= hi)]
        if len(plain):
            out = pd.concat([out, pd.DataFrame([one(plain, pd.NA, pd.NA, True)], columns=cols)],
                            ignore_index=True)
    return out.reset_index(drop=True)
