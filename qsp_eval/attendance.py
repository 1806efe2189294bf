"""Attendance: visits per session, per period, trends, loyalty and seasonality."""

from __future__ import annotations

import pandas as pd

__all__ = ["per_session"]


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
    >>> # ds = qsp_eval.io.load_source("data/example"); per_session(ds).head()
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
