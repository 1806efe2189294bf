"""A matrix of valid, SYNTHETIC data sources of the shapes real users bring (issue 11).

Each source is written with :func:`qsp_eval.simulate.simulate_source` (same model as
``data/example``) and then reshaped the way a programme's own records would be: short,
sparse with cancellations, session tallies only, two sites, no change date, every session
themed after the start, theming starting on the last recorded week.

>>> sorted(SOURCES) == sorted(FAST + SLOW_ONLY)
True
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

#: name -> what the source is (the matrix of issue 11).
SOURCES = {
    "one_month": "1 month (5 weekly sessions), theming from the 3rd",
    "three_months": "3 months, theming from the 7th session",
    "six_months": "6 months, theming from month 4",
    "one_year_no_change": "one year, no change date in evaluation.yml",
    "sparse_18_months": "18 months, about one visit per session, many cancellations",
    "tallies_3_years": "three years of session tallies only (no visit rows, no other table)",
    "two_sites_8_years": "eight years over two sites",
    "all_themed": "every session themed after the start",
    "theming_last_week": "theming starting on the last recorded week",
}
#: Sources run in the fast suite (one per kind of difficulty); the others only in the slow one.
FAST = ["one_month", "tallies_3_years"]
SLOW_ONLY = [s for s in SOURCES if s not in FAST]


def _simulate(seed: int, start: date, end: date, theming_start: date, **params):
    from qsp_eval.simulate import simulate_source

    return simulate_source(seed, start=start, end=end, theming_start=theming_start,
                           year_totals={}, **params)


def _cut(src, first: date):
    """Keep what happens from ``first`` on (a programme whose records start then).

    The simulator plants its services and material totals over 2021-2023, so a short source
    is simulated over a longer span and cut, like a programme that launched later.
    """
    tables = {k: v.copy() for k, v in src.tables.items()}
    day = first.isoformat()
    for key in ("sessions", "visits", "services"):
        t = tables[key]
        tables[key] = t.loc[t["date"] >= day].reset_index(drop=True)
    d = tables["distributions"]
    key = d["month"].where(d["month"].astype(str) != "", d["date"].astype(str).str[:7])
    tables["distributions"] = d.loc[key >= day[:7]].reset_index(drop=True)
    evaluation = dict(src.evaluation, launch_date=first)
    return tables, evaluation


def _last_held(sessions: pd.DataFrame) -> date:
    held = sessions.loc[sessions["status"] == "held", "date"]
    return date.fromisoformat(str(held.max()))


def _tables_and_config(name: str):
    """(tables, evaluation) of source ``name`` (external form, as ``write_source`` takes)."""
    first = None
    if name == "one_month":
        src = _simulate(11, date(2023, 1, 4), date(2024, 4, 3), date(2024, 3, 20))
        first = date(2024, 3, 6)
    elif name == "three_months":
        src = _simulate(12, date(2023, 1, 4), date(2024, 5, 1), date(2024, 3, 20))
        first = date(2024, 2, 7)
    elif name == "six_months":
        src = _simulate(13, date(2023, 1, 4), date(2024, 6, 26), date(2024, 4, 3))
        first = date(2024, 1, 3)
    elif name == "one_year_no_change":
        src = _simulate(14, date(2023, 1, 4), date(2023, 12, 27), date(2023, 12, 27))
    elif name == "sparse_18_months":
        src = _simulate(15, date(2022, 7, 6), date(2023, 12, 27), date(2023, 5, 3),
                        intercept=-0.2, trend=0.0,
                        extra_cancellations={2022: 7, 2023: 12})
    elif name == "tallies_3_years":
        src = _simulate(16, date(2021, 11, 3), date(2024, 10, 30), date(2024, 1, 10))
    elif name == "two_sites_8_years":
        src = _simulate(17, date(2017, 1, 4), date(2024, 12, 25), date(2023, 1, 11),
                        intercept=0.3, trend=0.15)
    elif name == "all_themed":
        src = _simulate(18, date(2022, 9, 7), date(2024, 6, 26), date(2023, 9, 6),
                        themed_probability=1.0)
    elif name == "theming_last_week":
        src = _simulate(19, date(2023, 1, 4), date(2024, 3, 27), date(2024, 3, 27))
    else:
        raise KeyError(name)
    if first is not None:
        tables, evaluation = _cut(src, first)
    else:
        tables = {k: v.copy() for k, v in src.tables.items()}
        evaluation = dict(src.evaluation)
    if name == "one_year_no_change":
        evaluation.pop("change")
        # nothing themed: a programme that has not started theming
        s = tables["sessions"]
        s["theme"] = ""
        s["theme_category"] = ""
        s["guest"] = "no"
    elif name == "theming_last_week":
        s = tables["sessions"]
        last = _last_held(s)
        evaluation["change"] = dict(evaluation["change"], start=last)
        is_last = s["date"] == last.isoformat()
        s.loc[is_last, "theme"] = "Santé sexuelle"
        s.loc[is_last, "theme_category"] = "sexual_health"
    elif name == "tallies_3_years":
        v = tables.pop("visits")
        s = tables["sessions"]
        first = v["first_visit"].astype(str).str.lower().isin(["yes", "oui"])
        att = v.groupby("date").size()
        new = v.loc[first].groupby("date").size()
        held = s["status"] == "held"
        s["attendance"] = pd.array([pd.NA] * len(s), dtype="Int64")
        s["new_visitors"] = pd.array([pd.NA] * len(s), dtype="Int64")
        s.loc[held, "attendance"] = s.loc[held, "date"].map(att).fillna(0).astype(int)
        s.loc[held, "new_visitors"] = s.loc[held, "date"].map(new).fillna(0).astype(int)
        for other in ("services", "distributions", "survey_responses"):
            tables.pop(other)
        evaluation.pop("surveys")
    elif name == "two_sites_8_years":
        other = _simulate(27, date(2017, 1, 4), date(2024, 12, 25), date(2023, 1, 11),
                          intercept=0.0, trend=0.2).tables
        for key in ("sessions", "visits", "services", "distributions"):
            a = tables[key].copy()
            b = other[key].copy()
            a.insert(1, "site", "Centre")
            b.insert(1, "site", "Nord")
            if key == "visits":  # different people at the second site
                b["visitor_code"] = "N" + b["visitor_code"].astype(str)
            if key == "distributions":  # monthly totals: one row per site, month and item
                pass
            tables[key] = pd.concat([a, b], ignore_index=True)
    return tables, evaluation


def build_source(name: str, folder) -> Path:
    """Write source ``name`` into ``folder`` (created) and return the folder.

    Examples
    --------
    >>> # build_source("one_month", tmp_path / "one_month")
    """
    from qsp_eval.io import write_source

    tables, evaluation = _tables_and_config(name)
    folder = Path(folder)
    write_source(tables, evaluation, folder)
    return folder


# ---------------------------------------------------------------------------
# Checking a finished report folder
# ---------------------------------------------------------------------------
#: A number as the report writes it: digits with an optional thousands separator
#: (space, no-break or narrow no-break space), decimal part (point or comma) and exponent.
_NUMBER = re.compile(r"(?<![\w.,])[-−]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?![\w])"
                     r"|(?<![\w.,])[-−]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?(?![\w])")
#: Columns (CSV) and keys (JSON) that hold counts: a large integer there is not absurd.
COUNT_NAMES = {"count", "n", "denominator", "visits", "people", "sessions", "quantity",
               "bytes", "respondents", "sessions_expected", "sessions_recorded",
               "sessions_held", "sessions_cancelled", "distinct_people", "first_time_visitors",
               "returning_people", "new_people", "n_themed", "n_plain", "n_sim",
               "execution_count"}
#: JSON keys whose string values are not numbers (checksums, images).
_NOT_TEXT = {"sha256", "data_checksum", "image/png", "image/svg+xml", "id"}
LIMIT = 1e6  # 7 digits before the decimal point


def _value(token: str) -> float:
    t = token.replace("−", "-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    return float(t.replace(",", "."))


def _absurd_in_text(text: str) -> list[str]:
    return [m.group(0) for m in _NUMBER.finditer(text) if abs(_value(m.group(0))) >= LIMIT]


def _walk(obj, rel: str, out: list, key=None) -> None:
    """Absurd numbers of a parsed JSON document (numbers, and numbers inside strings)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _NOT_TEXT:
                _walk(v, rel, out, k)
    elif isinstance(obj, list):
        for v in obj:
            _walk(v, rel, out, key)
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, (int, float)):
        if key not in COUNT_NAMES and abs(obj) >= LIMIT:
            out.append(f"{rel} [{key}]: {obj}")
    elif isinstance(obj, str):
        text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+", " ", obj)
        out.extend(f"{rel} [{key}]: {t}" for t in _absurd_in_text(text))


def absurd_numbers(folder) -> list[str]:
    """Numbers of 7 digits or more that are not counts, in a report folder's CSV/JSON/HTML.

    Returns ``"file: token"`` lines (empty when there is none). Counts are the integer
    values of the columns/keys of :data:`COUNT_NAMES`; checksums and embedded images
    are skipped.
    """
    import csv
    import json

    folder = Path(folder)
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
            header = rows[0] if rows else []
            for row in rows[1:]:
                for name, cell in zip(header, row):
                    if name in COUNT_NAMES and re.fullmatch(r"\d+(?:\.0+)?", cell):
                        continue
                    out += [f"{rel} [{name}]: {t}" for t in _absurd_in_text(cell)]
        elif path.suffix in (".json", ".ipynb"):
            _walk(json.loads(path.read_text(encoding="utf-8")), rel, out)
        elif path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", " ", text)
            text = re.sub(r"<style\b.*?</style>", " ", text, flags=re.S)
            text = re.sub(r"<[^>]+>", " ", text)
            out += [f"{rel}: {t}" for t in _absurd_in_text(text)]
    return out
