"""Services delivered at the sessions: counts, rates, screening (rapid tests) and drug checking.

Everything here is computed from the internal-form ``services`` table
(``session_id``, ``date``, ``site``, ``service``, ``count``) and from
:func:`qsp_eval.attendance.per_session` for the denominators (held sessions
and visits).  Results are tidy long tables using the project's column
vocabulary, with French and English labels in ``label_fr`` / ``label_en``.

Periods
-------
Every function takes ``period`` ("year" — the default —, "half", "quarter",
"month" or "all"; calendar labels as in :func:`qsp_eval.attendance.assign_period`)
or ``span``: a pair of dates ``(start, end)`` (inclusive) or a list
of such pairs, each becoming one period labelled e.g. ``"2022–2023"`` when
it covers whole calendar years.  Rows outside every span are left out.
See :func:`assign_period`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ParameterError
from .i18n import tr
from .schema import VOCABULARIES, label
from .stats import poisson_exact_ci, wilson_ci

__all__ = [
    "PERIODS",
    "RAPID_TESTS",
    "DRUG_CHECKING_ROUTES",
    "assign_period",
    "period_denominators",
    "service_counts",
    "service_session_share",
    "rapid_tests",
    "drug_checking",
    "drug_checking_note",
]

#: Accepted values of ``period``.
PERIODS = ("year", "half", "quarter", "month", "all")
#: Service codes of the rapid tests (TROD), in display order.
RAPID_TESTS = ("trod_hiv", "trod_hcv", "trod_hbv")
#: Drug-checking service code -> route code, and the routes' labels (fr, en).
DRUG_CHECKING_ROUTES: dict[str, tuple[str, str, str]] = {
    "sample_ccm": ("on_site", "Analyse sur place (CCM)", "On-site analysis (TLC)"),
    "sample_sintes": ("national_network", "Envoi au réseau national SINTES",
                      "Sent to the national SINTES network"),
}


# ---------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------
def _span_label(start: pd.Timestamp, end: pd.Timestamp) -> str:
    whole_years = (start.month, start.day) == (1, 1) and (end.month, end.day) == (12, 31)
    if whole_years:
        return str(start.year) if start.year == end.year else f"{start.year}–{end.year}"
    return f"{start:%Y-%m-%d}–{end:%Y-%m-%d}"


def _parse_spans(span) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    if span is None:
        return []
    if isinstance(span, tuple | list) and len(span) == 2 and not isinstance(span[0], tuple | list):
        span = [span]
    out = []
    for one in span:
        try:
            start, end = (pd.Timestamp(str(x)) if not isinstance(x, pd.Timestamp) else x
                          for x in one)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"Période invalide : {one!r} (attendu : (début, fin), dates AAAA-MM-JJ).",
                f"Invalid span: {one!r} (expected (start, end), dates YYYY-MM-DD).",
            ) from exc
        if pd.isna(start) or pd.isna(end) or end < start:
            raise ParameterError(
                f"Période invalide : {one!r} (la fin précède le début ou une date manque).",
                f"Invalid span: {one!r} (end before start or a date is missing).",
            )
        out.append((start.normalize(), end.normalize(), _span_label(start, end)))
    return out


def assign_period(dates, *, period: str = "year", span=None) -> pd.Series:
    """Label each date with its reporting period.

    Parameters
    ----------
    dates : array-like of datetime
        Dates (NaT gives NA).
    period : {"year", "half", "quarter", "month", "all"}, keyword-only
        Calendar grouping when ``span`` is not given: ``"2023"``, ``"2023-H1"``,
        ``"2023-Q2"``, ``"2023-05"`` (the labels of
        :func:`qsp_eval.attendance.assign_period`, so that every table of a
        report uses the same period labels), or one period for everything
        (labelled ``"first year–last year"`` of the given dates; the analysis
        functions use the years of the whole dataset).
    span : (start, end) or list of (start, end), keyword-only
        Inclusive date ranges, each one period; overrides ``period``.  A
        range covering whole calendar years is labelled ``"2022–2023"``
        (``"2023"`` for one year), otherwise ``"2022-03-01–2023-06-30"``.
        Dates outside every span get NA.  When spans overlap, the first wins.

    Returns
    -------
    pandas.Series of str (object), NA where the date is missing or outside.

    Examples
    --------
    >>> assign_period(pd.to_datetime(["2022-05-04", "2023-01-11"]),
    ...               span=("2022-01-01", "2023-12-31")).tolist()
    ['2022–2023', '2022–2023']
    >>> assign_period(pd.to_datetime(["2023-05-17"]), period="quarter").tolist()
    ['2023-Q2']
    """
    idx = dates.index if isinstance(dates, pd.Series) else None
    d = pd.Series(pd.to_datetime(pd.Series(dates)).to_numpy(), dtype="datetime64[ns]")
    if idx is not None:
        d.index = idx
    out = pd.Series([pd.NA] * len(d), index=d.index, dtype="object")
    spans = _parse_spans(span)
    ok = d.notna()
    if spans:
        for start, end, lab in spans:
            inside = ok & (d >= start) & (d <= end) & out.isna()
            out[inside] = lab
        return out
    if period not in PERIODS:
        raise ParameterError(
            f"Période inconnue : « {period} » (attendu : {', '.join(PERIODS)}).",
            f"Unknown period: '{period}' (expected: {', '.join(PERIODS)}).",
        )
    if not ok.any():
        return out
    if period == "all":
        y0, y1 = int(d[ok].dt.year.min()), int(d[ok].dt.year.max())
        out[ok] = str(y0) if y0 == y1 else f"{y0}–{y1}"
    else:  # calendar periods: one place decides their labels
        from .attendance import assign_period as calendar_period

        out[ok] = calendar_period(d[ok].to_numpy(), period).to_numpy()
    return out


def _resolve(dataset, period, span):
    """Turn ``period="all"`` into one span over every year of the dataset."""
    if span is not None or period != "all":
        return period, span
    dates = [pd.to_datetime(dataset.sessions["date"], errors="coerce")]
    d = dataset.distributions
    if d is not None and len(d):
        dates.append(pd.to_datetime(d["date"], errors="coerce"))
        dates.append(pd.to_datetime(d["month"].astype("string") + "-01", errors="coerce"))
    sv = dataset.services
    if sv is not None and len(sv):
        dates.append(pd.to_datetime(sv["date"], errors="coerce"))
    alld = pd.concat(dates).dropna()
    if alld.empty:
        return period, span
    return period, (f"{alld.min().year}-01-01", f"{alld.max().year}-12-31")


def _period_order(labels) -> list[str]:
    return sorted({x for x in labels if isinstance(x, str)})


def period_denominators(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Held sessions and visits per period, from :func:`qsp_eval.attendance.per_session`.

    Returns
    -------
    pandas.DataFrame
        Columns ``period``, ``sessions_held`` (int), ``visits`` (float; NaN when
        no session of the period has a known visit count), ``first_time_visitors``
        (float, NaN when unknown everywhere).  Sessions with an unknown visit
        count add to ``sessions_held`` but not to ``visits``.

    Examples
    --------
    >>> # period_denominators(ds, span=("2022-01-01", "2023-12-31"))
    """
    from .attendance import per_session

    period, span = _resolve(dataset, period, span)
    ps = per_session(dataset)
    ps = ps.assign(period=assign_period(ps["date"], period=period, span=span))
    ps = ps.loc[ps["period"].notna()]
    rows = []
    for p, g in ps.groupby("period", sort=True):
        v = pd.to_numeric(g["visits"], errors="coerce").astype(float)
        f = pd.to_numeric(g["first_time_visitors"], errors="coerce").astype(float)
        rows.append({
            "period": p,
            "sessions_held": int(len(g)),
            "visits": float(v.sum()) if v.notna().any() else np.nan,
            "first_time_visitors": float(f.sum()) if f.notna().any() else np.nan,
        })
    return pd.DataFrame(rows, columns=["period", "sessions_held", "visits", "first_time_visitors"])


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------
def _services_with_period(dataset, period, span) -> pd.DataFrame:
    period, span = _resolve(dataset, period, span)
    sv = dataset.services
    if sv is None or sv.empty:
        return pd.DataFrame(columns=["session_id", "date", "service", "count", "period"])
    dates = sv["date"]
    if dates.isna().any():  # fall back on the session's date
        by_id = dataset.sessions.set_index("session_id")["date"]
        dates = dates.where(dates.notna(), sv["session_id"].map(by_id))
    out = sv.assign(date=dates, period=assign_period(dates, period=period, span=span),
                    count=pd.to_numeric(sv["count"], errors="coerce").fillna(0).astype(int))
    return out.loc[out["period"].notna()].reset_index(drop=True)


def _service_codes(sv: pd.DataFrame, services) -> list[str]:
    """The codes asked for, else those of the table in vocabulary order (unknown codes last)."""
    if services is not None:
        return list(services)
    order = list(VOCABULARIES["service"])
    return sorted(set(sv["service"]),
                  key=lambda c: (order.index(c) if c in order else len(order), c))


def service_counts(dataset, *, period: str = "year", span=None,
                   services: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Number of services delivered per period and per service, with per-session rates.

    Parameters
    ----------
    dataset : Dataset
        Validated data (``services`` table; sessions and visits for denominators).
    period, span : keyword-only
        See :func:`assign_period`.
    services : tuple of str, optional
        Service codes to report (each gets a row per period, with 0 when not
        delivered).  Default: every code that appears in the table.

    Returns
    -------
    pandas.DataFrame
        One row per ``period`` x ``service``: ``period``, ``service``,
        ``label_fr``, ``label_en``, ``unit`` ("services"), ``count`` (sum of
        ``count``), ``sessions_held``, ``per_session`` (count / held sessions),
        ``ci_low``, ``ci_high`` (exact Poisson 95 % interval of the rate per
        held session: no model, the count is treated as Poisson over the held
        sessions), ``visits``, ``per_10_visits`` (10 x count / visits; NaN when
        visits are unknown).  Services of the vocabulary order first.
        Empty when the source has no services table.

    Notes
    -----
    Services recorded at a cancelled session still count in ``count``;
    denominators use held sessions only.  Missing counts count as 0.

    Examples
    --------
    >>> # service_counts(ds).query("period == '2023' and service == 'trod_hiv'")
    """
    cols = ["period", "service", "label_fr", "label_en", "unit", "count", "sessions_held",
            "per_session", "ci_low", "ci_high", "visits", "per_10_visits"]
    sv = _services_with_period(dataset, period, span)
    if not dataset.has("services") and sv.empty:
        return pd.DataFrame(columns=cols)
    den = period_denominators(dataset, period=period, span=span)
    periods = _period_order(list(den["period"]) + list(sv["period"]))
    codes = _service_codes(sv, services)
    totals = sv.groupby(["period", "service"])["count"].sum()
    den = den.set_index("period")
    rows = []
    for p in periods:
        held = int(den["sessions_held"].get(p, 0)) if p in den.index else 0
        visits = float(den["visits"].get(p, np.nan)) if p in den.index else np.nan
        for c in codes:
            n = int(totals.get((p, c), 0))
            lo, hi = poisson_exact_ci(n, held)
            rows.append({
                "period": p, "service": c, "label_fr": label("service", c, "fr"),
                "label_en": label("service", c, "en"), "unit": "services", "count": n,
                "sessions_held": held, "per_session": n / held if held else np.nan,
                "ci_low": lo, "ci_high": hi, "visits": visits,
                "per_10_visits": 10 * n / visits if visits and not np.isnan(visits) else np.nan,
            })
    return pd.DataFrame(rows, columns=cols)


def service_session_share(dataset, *, period: str = "year", span=None,
                          services: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Share of held sessions at which each service was used at least once.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``service``, ``label_fr``, ``label_en``, ``unit``
        ("sessions"), ``count`` (held sessions with a positive count of the
        service), ``denominator`` (held sessions of the period), ``share``,
        ``ci_low``, ``ci_high`` (Wilson score 95 % interval).  Services
        recorded at cancelled sessions are ignored here.

    Examples
    --------
    >>> # service_session_share(ds, span=("2023-01-01", "2023-12-31"))
    """
    from .attendance import per_session

    cols = ["period", "service", "label_fr", "label_en", "unit", "count", "denominator",
            "share", "ci_low", "ci_high"]
    sv = _services_with_period(dataset, period, span)
    if not dataset.has("services") and sv.empty:
        return pd.DataFrame(columns=cols)
    held_ids = set(per_session(dataset)["session_id"])
    used = sv.loc[(sv["count"] > 0) & sv["session_id"].isin(held_ids)]
    n_used = used.groupby(["period", "service"])["session_id"].nunique()
    den = period_denominators(dataset, period=period, span=span).set_index("period")
    codes = _service_codes(sv, services)
    rows = []
    for p in _period_order(list(den.index) + list(sv["period"])):
        held = int(den["sessions_held"].get(p, 0)) if p in den.index else 0
        for c in codes:
            k = int(n_used.get((p, c), 0))
            lo, hi = wilson_ci(k, held)
            rows.append({"period": p, "service": c, "label_fr": label("service", c, "fr"),
                         "label_en": label("service", c, "en"), "unit": "sessions", "count": k,
                         "denominator": held, "share": k / held if held else np.nan,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=cols)


def rapid_tests(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Rapid tests (TROD HIV, HCV, HBV) per period, always the three of them.

    Same columns as :func:`service_counts` (a test never done shows 0 when
    the source has a services table).

    Examples
    --------
    >>> # rapid_tests(ds).query("period == '2023'")[["service", "count"]]
    """
    return service_counts(dataset, period=period, span=span, services=RAPID_TESTS)


def drug_checking(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Drug samples per period and route: analysed on site (CCM/TLC) or sent to SINTES.

    Returns
    -------
    pandas.DataFrame
        Per period, one row per route and a ``total`` row: ``period``,
        ``route`` ("on_site", "national_network", "total"), ``service``
        (``sample_ccm``, ``sample_sintes``, NA for the total), ``label_fr``,
        ``label_en``, ``unit`` ("samples"), ``count``, ``denominator`` (all
        samples of the period), ``share``, ``ci_low``, ``ci_high`` (Wilson
        95 %; NaN for the total row), ``sessions_held``, ``per_session``.

    Notes
    -----
    The data contract has no column for the product declared by the person
    nor for the analysis result, so a "declared vs result" table cannot be
    made; see :func:`drug_checking_note`.

    Examples
    --------
    >>> # drug_checking(ds, span=("2022-01-01", "2023-12-31"))
    """
    cols = ["period", "route", "service", "label_fr", "label_en", "unit", "count", "denominator",
            "share", "ci_low", "ci_high", "sessions_held", "per_session"]
    sc = service_counts(dataset, period=period, span=span, services=tuple(DRUG_CHECKING_ROUTES))
    if sc.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for p, g in sc.groupby("period", sort=True):
        total = int(g["count"].sum())
        held = int(g["sessions_held"].iloc[0])
        for _, r in g.iterrows():
            route, fr, en = DRUG_CHECKING_ROUTES[r["service"]]
            lo, hi = wilson_ci(r["count"], total)
            rows.append({"period": p, "route": route, "service": r["service"], "label_fr": fr,
                         "label_en": en, "unit": "samples", "count": int(r["count"]),
                         "denominator": total, "share": r["count"] / total if total else np.nan,
                         "ci_low": lo, "ci_high": hi, "sessions_held": held,
                         "per_session": r["per_session"]})
        rows.append({"period": p, "route": "total", "service": pd.NA,
                     "label_fr": "Total des échantillons", "label_en": "All samples",
                     "unit": "samples", "count": total, "denominator": total,
                     "share": 1.0 if total else np.nan, "ci_low": np.nan, "ci_high": np.nan,
                     "sessions_held": held, "per_session": total / held if held else np.nan})
    return pd.DataFrame(rows, columns=cols)


def drug_checking_note(lang: str | None = None) -> str:
    """Say why there is no "declared product vs analysis result" table.

    Examples
    --------
    >>> drug_checking_note("en").startswith("The data")
    True
    """
    return tr(
        "Les données ne comportent ni le produit déclaré par la personne ni le résultat de "
        "l'analyse des échantillons : le tableau « produit déclaré / résultat » ne peut pas "
        "être établi (seuls les nombres d'échantillons par voie d'analyse le sont).",
        "The data hold neither the product declared by the person nor the analysis result: "
        "a 'declared product vs result' table cannot be made (only the number of samples "
        "per analysis route can).",
        lang,
    )
