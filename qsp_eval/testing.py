"""Build small internal-form datasets by hand, for tests and examples.

>>> ds = make_dataset(sessions=[{"date": "2023-01-04"}, {"date": "2023-01-11", "status": "cancelled"}],
...                   visits=[{"date": "2023-01-04", "gender": "non_binary", "person_id": "p1"}])
>>> len(ds.sessions), len(ds.visits)
(2, 1)
"""

from __future__ import annotations

import pandas as pd

from .schema import INTERNAL_COLUMNS, ITEM_CATEGORY, Dataset, EvaluationConfig, empty_table

__all__ = ["make_dataset"]

_SESSION_DEFAULTS = {"site": "main", "status": "held", "theme": pd.NA, "theme_category": pd.NA,
                     "guest": False, "format": "on_site", "attendance": pd.NA, "new_visitors": pd.NA}
_VISIT_DEFAULTS = {"site": "main", "person_id": pd.NA, "first_visit": "unknown", "gender": "unknown",
                   "orientation": "unknown", "age_band": "unknown", "chemsex": "unknown",
                   "injects": "unknown", "products": "unknown", "heard_via": "unknown"}


def _fill(df, defaults):
    for k, v in defaults.items():
        if k not in df:
            df[k] = v
        elif v is not pd.NA:
            df[k] = df[k].where(df[k].notna(), v)


def _sid(date, site):
    return f"{pd.Timestamp(date):%Y-%m-%d}" + ("" if site == "main" else f"_{site}")


def make_dataset(sessions, visits=None, services=None, distributions=None, survey_responses=None,
                 *, config: EvaluationConfig | None = None) -> Dataset:
    """Build a :class:`~qsp_eval.schema.Dataset` from lists of dicts (or DataFrames).

    Sessions need ``date``; other columns take contract defaults (held, not
    themed, on site). Visits, services and distribution rows may give
    ``date`` instead of ``session_id``. A table passed as ``None`` counts as
    not supplied (``Dataset.has`` is False); pass ``[]`` for supplied but empty.
    """
    s = pd.DataFrame(sessions)
    _fill(s, _SESSION_DEFAULTS)
    s["date"] = pd.to_datetime(s["date"]).astype("datetime64[ns]")
    if "session_id" not in s:
        s["session_id"] = [_sid(d, site) for d, site in zip(s["date"], s["site"])]
    s["themed"] = (s["theme"].notna() & (s["theme"].astype("string").fillna("") != "")).astype(bool)
    s["guest"] = s["guest"].astype(bool)
    s["attendance"] = s["attendance"].astype("Int64")
    s["new_visitors"] = s["new_visitors"].astype("Int64")
    s = s[list(INTERNAL_COLUMNS["sessions"])].sort_values(["date", "site"]).reset_index(drop=True)
    by_id = s.set_index("session_id")

    def linked(rows, defaults, name):
        if rows is None:
            return empty_table(name)
        df = pd.DataFrame(rows)
        if df.empty:
            return empty_table(name)
        _fill(df, defaults)
        if "session_id" not in df:
            df["session_id"] = [_sid(d, site) for d, site in zip(df["date"], df["site"])]
        df["date"] = df["session_id"].map(by_id["date"]).astype("datetime64[ns]")
        df["site"] = df["session_id"].map(by_id["site"])
        return df[list(INTERNAL_COLUMNS[name])].reset_index(drop=True)

    v = linked(visits, _VISIT_DEFAULTS, "visits")
    sv = linked(services, {"site": "main"}, "services")
    if distributions is None:
        d = empty_table("distributions")
    else:
        d = pd.DataFrame(distributions)
        if d.empty:
            d = empty_table("distributions")
        else:
            if "date" not in d:
                d["date"] = pd.NaT
            d["date"] = pd.to_datetime(d["date"]).astype("datetime64[ns]")
            if "month" not in d:
                d["month"] = d["date"].dt.strftime("%Y-%m")
            d["session_id"] = d.get("session_id", pd.NA)
            d["site"] = d.get("site", "main")
            d["category"] = d["item"].map(ITEM_CATEGORY)
            d = d[list(INTERNAL_COLUMNS["distributions"])]
    sr = pd.DataFrame(survey_responses) if survey_responses else empty_table("survey_responses")
    supplied = {"sessions": frozenset(s.columns)}
    for name, rows in (("visits", visits), ("services", services), ("distributions", distributions),
                       ("survey_responses", survey_responses)):
        if rows is not None:
            supplied[name] = frozenset(INTERNAL_COLUMNS[name])
    return Dataset(s, v, sv, d, sr, config or EvaluationConfig(), source="<test>", supplied=supplied)
