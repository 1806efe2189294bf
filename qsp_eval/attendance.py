"""Attendance: visits per session, per period, trends, loyalty and seasonality.

Every function takes a validated :class:`~qsp_eval.schema.Dataset` (internal
form) and returns a new tidy DataFrame; inputs are never modified.  All counts
of visits go through :func:`per_session`, so tallies (``sessions.attendance``)
and visit rows feed one series.

Periods
-------
``period`` is one of ``"year"`` (default), ``"half"``, ``"quarter"``,
``"month"``; ``year_start_month`` (1-12) moves the start of the reporting
year (e.g. 9 for a September-August year).  Labels: ``"2023"`` (or
``"2023-2024"`` when the year does not start in January), ``"2023-H1"``,
``"2023-Q2"``, ``"2023-05"``.  Every period between the first and the last
scheduled session appears, even one without any session.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = [
    "PERIODS",
    "per_session",
    "assign_period",
    "period_labels",
    "by_period",
    "session_trend",
    "events_frame",
    "loyalty",
    "seasonality",
]

#: Accepted values of the ``period`` option.
PERIODS = ("year", "half", "quarter", "month")
_PER_YEAR = {"year": 1, "half": 2, "quarter": 4, "month": 12}


def per_session(dataset, *, include_cancelled: bool = False) -> pd.DataFrame:
    """One row per session with its visit and first-time-visitor counts.

    Tallies and visit rows feed one series: a session's ``visits`` is its
    ``attendance`` tally when recorded, otherwise the number of its visit
    rows (0 when it has none and the source has a visits table); NA when the
    source has neither.  Same rule for ``first_time_visitors`` (tally
    ``new_visitors``, else visit rows with ``first_visit == "yes"``; NA for a
    tallied session with neither).
    Held sessions with no visitor keep ``visits == 0``: they are real data.

    Parameters
    ----------
    dataset : Dataset
        Validated data.
    include_cancelled : bool, keyword-only
        Keep cancelled sessions (with NA counts). Default: held sessions only.

    Returns
    -------
    pandas.DataFrame
        Columns ``session_id``, ``date``, ``site``, ``status``, ``themed``,
        ``theme``, ``theme_category``, ``guest``, ``format``, ``visits``
        (Int64), ``first_time_visitors`` (Int64), ``count_source``
        ("visits", "tally" or NA). Unit: visits (passages), not people.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-11", "attendance": 4}],
    ...                   visits=[{"date": "2023-01-04"}])
    >>> per_session(ds)["visits"].tolist()
    [1, 4]
    """
    s = dataset.sessions
    v = dataset.visits
    has_visits = dataset.has("visits")
    n_rows = v.groupby("session_id").size()
    n_first = v.loc[v["first_visit"] == "yes"].groupby("session_id").size()
    out = s[["session_id", "date", "site", "status", "themed", "theme", "theme_category",
             "guest", "format"]].copy()
    rows = s["session_id"].map(n_rows)
    firsts = s["session_id"].map(n_first)
    if has_visits:
        rows = rows.fillna(0)
        firsts = firsts.fillna(0)
    tally = s["attendance"].astype("Int64")
    tally_new = s["new_visitors"].astype("Int64")
    out["visits"] = tally.where(tally.notna(), rows.astype("Int64"))
    # a tallied session without visit rows has first-timers only if they were tallied too
    firsts = firsts.astype("Int64").mask(tally.notna() & s["session_id"].map(n_rows).isna())
    out["first_time_visitors"] = tally_new.where(tally_new.notna(), firsts)
    src = pd.Series(pd.NA, index=s.index, dtype="object")
    src[tally.notna().to_numpy()] = "tally"
    src[(tally.isna() & out["visits"].notna()).to_numpy()] = "visits"
    out["count_source"] = src
    held = s["status"] == "held"
    out.loc[~held, ["visits", "first_time_visitors"]] = pd.NA
    out.loc[~held, "count_source"] = pd.NA
    if not include_cancelled:
        out = out.loc[held]
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------
def _check_period(period: str, year_start_month: int) -> None:
    if period not in PERIODS:
        raise ParameterError(
            f"Période inconnue « {period} » : choisir parmi {', '.join(PERIODS)}.",
            f"Unknown period '{period}': choose one of {', '.join(PERIODS)}.",
        )
    if not (isinstance(year_start_month, int | np.integer) and 1 <= year_start_month <= 12):
        raise ParameterError(
            f"Mois de début d'année invalide : {year_start_month!r} (1 à 12).",
            f"Invalid year start month: {year_start_month!r} (1 to 12).",
        )


def _keys(dates, period: str, year_start_month: int) -> np.ndarray:
    """Integer key of the period of each date (consecutive periods have consecutive keys)."""
    d = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates)))
    months = d.year.to_numpy() * 12 + d.month.to_numpy() - 1
    if period == "month":
        return months
    shifted = months - (year_start_month - 1)
    per = 12 // _PER_YEAR[period]
    return shifted // per  # year: fiscal year; half: fy*2+h; quarter: fy*4+q


def _label(key: int, period: str, year_start_month: int) -> str:
    if period == "month":
        return f"{key // 12:04d}-{key % 12 + 1:02d}"
    n = _PER_YEAR[period]
    fy, sub = divmod(int(key), n)
    ylab = f"{fy}" if year_start_month == 1 else f"{fy}-{fy + 1}"
    if period == "year":
        return ylab
    return f"{ylab}-{'H' if period == 'half' else 'Q'}{sub + 1}"


def assign_period(dates, period: str = "year", *, year_start_month: int = 1) -> pd.Series:
    """Label the period of each date.

    Parameters
    ----------
    dates : array-like of datetime
        Dates (NaT gives NA).
    period : {"year", "half", "quarter", "month"}
    year_start_month : int
        First month of the reporting year (1 = calendar year).

    Returns
    -------
    pandas.Series of str
        Period labels, same length and order as ``dates`` (index 0..n-1).

    Examples
    --------
    >>> assign_period(pd.to_datetime(["2023-05-17", "2023-09-06"]), "half").tolist()
    ['2023-H1', '2023-H2']
    >>> assign_period(pd.to_datetime(["2023-05-17", "2023-09-06"]), year_start_month=9).tolist()
    ['2022-2023', '2023-2024']
    """
    _check_period(period, year_start_month)
    d = pd.Series(pd.to_datetime(pd.Series(dates)).to_numpy())
    out = pd.Series(pd.NA, index=d.index, dtype="object")
    ok = d.notna().to_numpy()
    if ok.any():
        keys = _keys(d[ok], period, year_start_month)
        out[ok] = [_label(k, period, year_start_month) for k in keys]
    return out


def period_labels(start, end, period: str = "year", *, year_start_month: int = 1) -> list[str]:
    """All period labels from the period of ``start`` to the period of ``end``, in order.

    Examples
    --------
    >>> period_labels("2023-11-01", "2024-02-01", "month")
    ['2023-11', '2023-12', '2024-01', '2024-02']
    """
    _check_period(period, year_start_month)
    k0, k1 = _keys([start, end], period, year_start_month)
    return [_label(k, period, year_start_month) for k in range(int(k0), int(k1) + 1)]


def _dataset_periods(dataset, period, year_start_month) -> list[str]:
    dates = dataset.sessions["date"].dropna()
    if dates.empty:
        return []
    return period_labels(dates.min(), dates.max(), period, year_start_month=year_start_month)


def _held_visits(dataset) -> pd.DataFrame:
    """Visit rows of held sessions (copy)."""
    held = dataset.sessions.loc[dataset.sessions["status"] == "held", "session_id"]
    return dataset.visits.loc[dataset.visits["session_id"].isin(held)].copy()


# ---------------------------------------------------------------------------
# Per period
# ---------------------------------------------------------------------------
def by_period(dataset, *, period: str = "year", year_start_month: int = 1,
              level: float = 0.95) -> pd.DataFrame:
    """Attendance per period: sessions, visits, mean per held session with its interval, people.

    Parameters
    ----------
    dataset : Dataset
        Validated data.
    period : {"year", "half", "quarter", "month"}
        Length of the periods (see the module docstring for labels).
    year_start_month : int
        First month of the reporting year.
    level : float
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per period, in order, every period between the first and last
        scheduled session included (a period with no session has 0 sessions
        and NaN mean).  Columns:

        ``period``; ``sessions_held``; ``sessions_cancelled``; ``sessions_counted``
        (held sessions whose number of visits is known); ``visits`` (sum over
        held sessions, tallies and visit rows together); ``mean_visits_per_session``
        (``visits / sessions_counted``: zero-visit sessions count as 0,
        cancelled sessions are excluded); ``ci_low``, ``ci_high`` and
        ``ci_method`` (from :func:`qsp_eval.stats.count_mean_ci`: exact Poisson
        on the total, or quasi-Poisson when the per-session counts are
        overdispersed); ``dispersion`` (variance / mean of visits per
        session); ``distinct_people`` (distinct ``person_id`` among visit rows of
        the period; NA when the period has visits but none carries a code, 0 when it
        has no visit); ``visits_without_id``; ``first_time_visitors`` (sum of
        :func:`per_session` ``first_time_visitors`` over the sessions where it is
        known, a lower bound when some tallied sessions lack it; NA when unknown
        for every session); ``returning_people`` (people of the period already seen in an
        earlier period; the first period of the data cannot see earlier visits,
        so it under-counts them); ``share_returning`` (``returning_people /
        distinct_people``).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04", "attendance": 3},
    ...                    {"date": "2023-01-11", "attendance": 0},
    ...                    {"date": "2023-01-18", "status": "cancelled"}])
    >>> r = by_period(ds)
    >>> r.loc[0, ["sessions_held", "sessions_cancelled", "visits"]].tolist()
    [2, 1, 3]
    >>> float(r.loc[0, "mean_visits_per_session"])
    1.5
    """
    from .stats import count_mean_ci

    _check_period(period, year_start_month)
    labels = _dataset_periods(dataset, period, year_start_month)
    key_of = {}
    if labels:
        k0 = int(_keys([dataset.sessions["date"].min()], period, year_start_month)[0])
        key_of = {lab: k0 + i for i, lab in enumerate(labels)}
    ps = per_session(dataset, include_cancelled=True)
    ps["period"] = assign_period(ps["date"], period, year_start_month=year_start_month).to_numpy()
    v = _held_visits(dataset)
    v["period"] = assign_period(v["date"], period, year_start_month=year_start_month).to_numpy()
    ids = v.dropna(subset=["person_id"])
    first_key = {}
    if not ids.empty:
        ids_keys = _keys(ids["date"], period, year_start_month)
        first_key = pd.Series(ids_keys, index=ids.index).groupby(ids["person_id"]).min()
    rows = []
    for lab in labels:
        p = ps.loc[ps["period"] == lab]
        held = p.loc[p["status"] == "held"]
        counted = held["visits"].dropna()
        m = count_mean_ci(counted.to_numpy(dtype=float), level=level)
        total = int(counted.sum()) if len(counted) else 0
        pv = v.loc[v["period"] == lab]
        people = pv["person_id"].dropna().unique()
        if len(people):
            distinct = len(people)
            key = key_of[lab]
            returning = int(sum(first_key[pid] < key for pid in people))
        elif total == 0 and len(counted) == len(held):
            distinct, returning = 0, 0
        else:
            distinct, returning = pd.NA, pd.NA
        ft = held["first_time_visitors"].dropna()
        rows.append({
            "period": lab,
            "sessions_held": len(held),
            "sessions_cancelled": int((p["status"] == "cancelled").sum()),
            "sessions_counted": len(counted),
            "visits": total,
            "mean_visits_per_session": m["estimate"],
            "ci_low": m["ci_low"],
            "ci_high": m["ci_high"],
            "ci_method": m["ci_method"],
            "dispersion": m["dispersion"],
            "distinct_people": distinct,
            "visits_without_id": int(pv["person_id"].isna().sum()),
            "first_time_visitors": int(ft.sum()) if len(ft) else pd.NA,
            "returning_people": returning,
        })
    cols = ["period", "sessions_held", "sessions_cancelled", "sessions_counted", "visits",
            "mean_visits_per_session", "ci_low", "ci_high", "ci_method", "dispersion",
            "distinct_people", "visits_without_id", "first_time_visitors", "returning_people"]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("distinct_people", "first_time_visitors", "returning_people"):
        out[c] = out[c].astype("Int64")
    for c in ("mean_visits_per_session", "ci_low", "ci_high", "dispersion"):
        out[c] = out[c].astype(float)
    dp = out["distinct_people"].astype("Float64")
    out["share_returning"] = (out["returning_people"].astype("Float64") / dp.where(dp > 0)
                              ).astype(float)
    return out


# ---------------------------------------------------------------------------
# Trend and events
# ---------------------------------------------------------------------------
def session_trend(dataset, *, method: str = "lowess", frac: float = 0.3,
                  window: int = 8) -> pd.DataFrame:
    """The per-session series of held sessions with a smoothed trend.

    Parameters
    ----------
    dataset : Dataset
    method : {"lowess", "rolling"}
        ``"lowess"``: locally weighted regression of visits on the date
        (``statsmodels.nonparametric.lowess``, ``frac`` of the sessions in each
        local fit, 3 robustness iterations); ``"rolling"``: centred mean over
        ``window`` sessions (at least half of them present).
    frac, window : float, int
        Smoothing parameters of each method.

    Returns
    -------
    pandas.DataFrame
        One row per held session in date order: ``session_id``, ``date``,
        ``site``, ``themed``, ``visits`` (Int64), ``first_time_visitors``,
        ``count_source``, ``trend`` (float, NaN where visits are unknown),
        ``trend_method`` (e.g. ``"lowess(frac=0.3)"``).  Sessions with unknown
        counts are kept with NaN trend.  The events of the configuration
        are in ``result.attrs["events"]`` (see :func:`events_frame`).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": f"2023-01-{d:02d}", "attendance": a}
    ...                    for d, a in [(4, 2), (11, 4), (18, 6)]])
    >>> session_trend(ds, method="rolling", window=3)["trend"].tolist()
    [3.0, 4.0, 5.0]
    """
    if method not in ("lowess", "rolling"):
        raise ParameterError(f"Méthode de lissage inconnue : {method}",
                             f"Unknown smoothing method: {method}")
    ps = per_session(dataset).sort_values("date", kind="stable").reset_index(drop=True)
    out = ps[["session_id", "date", "site", "themed", "visits", "first_time_visitors",
              "count_source"]].copy()
    known = out["visits"].notna().to_numpy()
    y = out.loc[known, "visits"].to_numpy(dtype=float)
    trend = np.full(len(out), np.nan)
    if method == "lowess":
        label = f"lowess(frac={frac})"
        if known.sum() >= 3:
            from statsmodels.nonparametric.smoothers_lowess import lowess

            x = out.loc[known, "date"].to_numpy(dtype="datetime64[D]").astype(float)
            trend[known] = lowess(y, x, frac=frac, it=3, return_sorted=False)
        else:
            trend[known] = y.mean() if len(y) else np.nan
    else:
        label = f"rolling_mean(window={window})"
        trend[known] = (pd.Series(y).rolling(window, center=True,
                                             min_periods=max(1, (window + 1) // 2))
                        .mean().to_numpy())
    out["trend"] = trend
    out["trend_method"] = label
    out.attrs["events"] = events_frame(dataset.config)
    return out


def events_frame(config) -> pd.DataFrame:
    """Dated events of the configuration (the change under evaluation first), for time axes.

    Returns
    -------
    pandas.DataFrame
        ``date`` (datetime64), ``label_fr``, ``label_en``, ``kind``
        ("change" or the event's kind), sorted by date.

    Examples
    --------
    >>> from qsp_eval.schema import EvaluationConfig
    >>> events_frame(EvaluationConfig()).empty
    True
    """
    rows = []
    if config is not None and config.change is not None:
        c = config.change
        rows.append({"date": c.start, "label_fr": c.label_fr, "label_en": c.label_en,
                     "kind": "change"})
    for e in (config.events if config is not None else ()):
        rows.append({"date": e.date, "label_fr": e.label_fr, "label_en": e.label_en,
                     "kind": e.kind})
    out = pd.DataFrame(rows, columns=["date", "label_fr", "label_en", "kind"])
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    return out.sort_values("date", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Loyalty
# ---------------------------------------------------------------------------
def loyalty(dataset, *, cohort: str = "quarter", horizons=(1, 3), as_of=None,
            year_start_month: int = 1, level: float = 0.95) -> pd.DataFrame:
    """Returns within 1 and 3 months of a first visit, by cohort of first visit.

    Only visit rows with a ``person_id`` (of held sessions) are used.  A
    person's first visit is their earliest visit in the data; cohorts are the
    periods of that first visit.  A person "returns within h months" when they
    have another visit on a later date no more than h calendar months after
    the first.

    Censoring: a person is followed for h months only if ``first + h months``
    is on or before ``as_of`` (default: the date of the last held session);
    people first seen more recently are excluded from that horizon's
    denominator and counted in ``censored``.  Left censoring: people already
    coming before the data starts look like newcomers in the first cohort.

    Returns
    -------
    pandas.DataFrame
        One row per cohort × horizon (every period of the data): ``period``,
        ``horizon_months``, ``unit`` ("people"), ``new_people`` (first seen in
        the cohort), ``denominator`` (followed for the whole horizon),
        ``censored``, ``count`` (returned), ``share`` (``count / denominator``),
        ``ci_low``, ``ci_high`` (Wilson).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-25"}, {"date": "2023-06-07"}],
    ...                   visits=[{"date": "2023-01-04", "person_id": "a"},
    ...                           {"date": "2023-01-25", "person_id": "a"},
    ...                           {"date": "2023-01-04", "person_id": "b"}])
    >>> loyalty(ds, cohort="year")[["horizon_months", "count", "denominator"]].values.tolist()
    [[1, 1, 2], [3, 1, 2]]
    """
    from .stats import wilson_ci

    _check_period(cohort, year_start_month)
    v = _held_visits(dataset).dropna(subset=["person_id"])
    held_dates = dataset.sessions.loc[dataset.sessions["status"] == "held", "date"]
    end = pd.Timestamp(as_of) if as_of is not None else (
        held_dates.max() if len(held_dates) else pd.NaT)
    labels = _dataset_periods(dataset, cohort, year_start_month)
    first = v.groupby("person_id")["date"].min()
    people = pd.DataFrame({"first": first})
    people["period"] = assign_period(people["first"], cohort,
                                     year_start_month=year_start_month).to_numpy()
    vv = v[["person_id", "date"]].merge(people[["first"]], left_on="person_id", right_index=True)
    rows = []
    for h in horizons:
        limit = vv["first"] + pd.DateOffset(months=h)
        ret = vv.loc[(vv["date"] > vv["first"]) & (vv["date"] <= limit), "person_id"].unique()
        followed = (people["first"] + pd.DateOffset(months=h)) <= end
        returned = people.index.isin(ret)
        for lab in labels:
            inc = (people["period"] == lab).to_numpy()
            n_new = int(inc.sum())
            den = int((inc & followed.to_numpy()).sum())
            cnt = int((inc & followed.to_numpy() & returned).sum())
            lo, hi = wilson_ci(cnt, den, level=level)
            rows.append({"period": lab, "horizon_months": int(h), "unit": "people",
                         "new_people": n_new, "denominator": den, "censored": n_new - den,
                         "count": cnt, "share": cnt / den if den else np.nan,
                         "ci_low": lo, "ci_high": hi})
    cols = ["period", "horizon_months", "unit", "new_people", "denominator", "censored", "count",
            "share", "ci_low", "ci_high"]
    out = pd.DataFrame(rows, columns=cols)
    order = {lab: i for i, lab in enumerate(labels)}
    out = out.sort_values(["period", "horizon_months"], key=lambda s: s.map(order)
                          if s.name == "period" else s, kind="stable")
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------
# Seasonality
# ---------------------------------------------------------------------------
def seasonality(dataset, *, level: float = 0.95) -> pd.DataFrame:
    """Mean visits per held session for each calendar month, pooled across years.

    Returns
    -------
    pandas.DataFrame
        Twelve rows (``month`` 1-12; months without a session have 0 sessions
        and NaN mean): ``month``, ``years`` (distinct years contributing),
        ``sessions_held`` (with known counts), ``visits``,
        ``mean_visits_per_session``, ``ci_low``, ``ci_high``, ``ci_method``
        (see :func:`qsp_eval.stats.count_mean_ci`).  Not adjusted for the
        overall trend: a month observed only in busy years looks busy.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2022-08-03", "attendance": 1},
    ...                    {"date": "2023-08-02", "attendance": 3}])
    >>> seasonality(ds).loc[7, ["sessions_held", "visits"]].tolist()
    [2, 4]
    """
    from .stats import count_mean_ci

    ps = per_session(dataset).dropna(subset=["visits"])
    months = ps["date"].dt.month
    rows = []
    for m in range(1, 13):
        sub = ps.loc[months == m]
        r = count_mean_ci(sub["visits"].to_numpy(dtype=float), level=level)
        rows.append({"month": m, "years": int(sub["date"].dt.year.nunique()),
                     "sessions_held": len(sub), "visits": int(sub["visits"].sum()),
                     "mean_visits_per_session": r["estimate"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "ci_method": r["ci_method"]})
    return pd.DataFrame(rows)
