"""Data quality: the first section of the report.

What the data lets us trust before any analysis: sessions expected vs
recorded, gaps in the record, completeness of each profile field, internal
consistency checks, unusual sessions, survey response counts.

Every function takes a validated :class:`~qsp_eval.schema.Dataset` and returns
a new tidy DataFrame; nothing here is person-level: visits are counted, never
listed, and pseudonyms are used only inside the functions to count people.

Periods
-------
``period="year"`` (default) labels rows ``"2023"``; ``"half"`` ``"2023-H1"``;
``"quarter"`` ``"2023-Q2"``; ``"month"`` ``"2023-05"``.

Outlier rule (visits per session)
---------------------------------
Counts are first put on a scale where Poisson noise is roughly constant, the
Anscombe transform ``y = 2 * sqrt(x + 3/8)`` (variance close to 1 for any
Poisson mean).  Within each period, the robust z-score of Iglewicz and
Hoaglin (1993) is ``z = 0.6745 * (y - median(y)) / MAD(y)``, with
``MAD = median(|y - median(y)|)``; when the MAD is 0 (half the sessions or
more share one value) the mean absolute deviation is used instead,
``z = (y - median(y)) / (1.253314 * meanAD(y))``.  A session is flagged when
``|z| > 3.5``.  Periods with fewer than 5 held sessions are not screened
(``robust_z`` NA).  Flags are prompts to check the record (a typo, a
forgotten sheet, an exceptional evening), **not** a reason to remove the
session: a real busy evening is data.

References: F. J. Anscombe (1948), "The transformation of Poisson, binomial
and negative-binomial data", Biometrika 35, 246–254; B. Iglewicz and D. C.
Hoaglin (1993), *How to Detect and Handle Outliers*, ASQC Quality Press
(0.6745 is the 75th percentile of the standard normal; 1.253314 = sqrt(pi/2)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .attendance import PERIODS
from .i18n import tr
from .schema import PROFILE_FIELDS

__all__ = [
    "PERIODS",
    "period_labels",
    "expected_schedule",
    "sessions_expected",
    "session_gaps",
    "completeness",
    "consistency_checks",
    "visit_outliers",
    "survey_counts",
    "quality_tables",
    "describe_quality",
    "OUTLIER_THRESHOLD",
    "COLUMN_LABELS",
    "COMPLETENESS_FIELDS",
    "CHECKS",
]

#: French and English headers of the columns this module adds to the shared vocabulary
#: (for the report's tables; the shared ones are in ``qsp_eval.publish``).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "sessions_expected": ("Permanences attendues", "Sessions expected"),
    "sessions_recorded": ("Permanences enregistrées", "Sessions recorded"),
    "sessions_held": ("Permanences tenues", "Sessions held"),
    "sessions_cancelled": ("Permanences annulées", "Sessions cancelled"),
    "weeks_not_recorded": ("Semaines sans enregistrement", "Weeks with no record"),
    "share_recorded": ("Part des semaines enregistrées", "Share of weeks recorded"),
    "supplied": ("Colonne fournie", "Column supplied"),
    "check": ("Contrôle", "Check"),
    "robust_z": ("z robuste", "Robust z"),
    "flagged": ("Signalée", "Flagged"),
    "direction": ("Sens", "Direction"),
    "questions": ("Questions", "Questions"),
    "free_text_questions": ("Questions en texte libre (non publiées)",
                            "Free-text questions (not published)"),
    "unanswered": ("Réponses vides", "Empty answers"),
}
#: Robust z-score above which a session is flagged (Iglewicz & Hoaglin 1993).
OUTLIER_THRESHOLD = 3.5
_MIN_SESSIONS_SCREENED = 5


def period_labels(dates, period: str = "year") -> pd.Series:
    """Label dates by period: ``"2023"``, ``"2023-H1"``, ``"2023-Q2"`` or ``"2023-05"``.

    The labels of :func:`qsp_eval.attendance.assign_period` (one place
    decides them), keeping the index of ``dates``; missing dates give NA.

    Examples
    --------
    >>> period_labels(pd.Series(pd.to_datetime(["2023-05-17"])), "quarter").tolist()
    ['2023-Q2']
    """
    from .attendance import assign_period

    d = pd.Series(pd.to_datetime(pd.Series(dates)))
    out = assign_period(d.to_numpy(), period)
    out.index = d.index
    return out.astype("string")


def _monday(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates)
    return (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).dt.normalize()


def expected_schedule(dataset) -> pd.DataFrame:
    """One row per expected weekly session, with what the record holds for its week.

    Sessions are expected every week on ``config.session_weekday`` (0 =
    Monday), from the first such day on or after ``config.launch_date`` to
    the last recorded session date (any status).  Without a launch date the
    first recorded session starts the schedule; without a weekday, the launch
    date's weekday (or, without a launch date, the most frequent weekday of
    the recorded sessions) is used.  A week (Monday to Sunday) counts as
    ``"held"`` when it has at least one held session, ``"cancelled"`` when it
    only has cancelled ones, ``"not_recorded"`` when it has none.

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (the expected session date), ``week`` (its Monday),
        ``state`` ("held", "cancelled", "not_recorded"). Empty when there are
        no sessions.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-18"}])
    >>> expected_schedule(ds)["state"].tolist()
    ['held', 'not_recorded', 'held']
    """
    s = dataset.sessions
    cols = ["date", "week", "state"]
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    cfg = dataset.config
    first_rec = s["date"].min()
    last_rec = s["date"].max()
    launch = pd.Timestamp(cfg.launch_date) if cfg.launch_date is not None else first_rec
    weekday = cfg.session_weekday
    if weekday is None:
        weekday = (launch.weekday() if cfg.launch_date is not None
                   else int(s["date"].dt.day_of_week.mode().iloc[0]))
    start = launch + pd.Timedelta(days=(weekday - launch.weekday()) % 7)
    if start > last_rec:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    dates = pd.date_range(start, last_rec, freq="7D").astype("datetime64[ns]")
    out = pd.DataFrame({"date": dates})
    out["week"] = _monday(out["date"])
    wk = _monday(s["date"])
    held_weeks = set(wk[s["status"] == "held"])
    any_weeks = set(wk)
    out["state"] = [
        "held" if w in held_weeks else ("cancelled" if w in any_weeks else "not_recorded")
        for w in out["week"]
    ]
    return out


def sessions_expected(dataset, *, period: str = "year") -> pd.DataFrame:
    """Sessions expected (weekly from launch) against sessions recorded, per period.

    Parameters
    ----------
    dataset : Dataset
        Validated data (sessions table; ``config.launch_date`` and
        ``config.session_weekday`` define the schedule, see
        :func:`expected_schedule`).
    period : {"year", "half", "quarter", "month"}

    Returns
    -------
    pandas.DataFrame
        One row per period with ``period``, ``unit`` ("sessions"),
        ``sessions_expected`` (weeks of the schedule falling in the period),
        ``sessions_recorded`` (rows of the sessions table, any status, any
        day, any site), ``sessions_held``, ``sessions_cancelled``,
        ``weeks_not_recorded`` (expected weeks with no session row at all),
        ``share_recorded`` (share of expected weeks with a session row, held
        or cancelled; NA when nothing is expected).  Sessions off the weekly
        schedule (outreach, a second site) are counted as recorded but do
        not fill a missing week of another calendar week.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-18", "status": "cancelled"}])
    >>> sessions_expected(ds)[["sessions_expected", "weeks_not_recorded"]].values.tolist()
    [[3, 1]]
    """
    sched = expected_schedule(dataset)
    s = dataset.sessions
    cols = ["period", "unit", "sessions_expected", "sessions_recorded", "sessions_held",
            "sessions_cancelled", "weeks_not_recorded", "share_recorded"]
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    sp = period_labels(s["date"], period)
    rec = sp.value_counts()
    held = sp[s["status"] == "held"].value_counts()
    canc = sp[s["status"] == "cancelled"].value_counts()
    if sched.empty:
        exp = pd.Series(dtype="int64")
        miss = pd.Series(dtype="int64")
    else:
        ep = period_labels(sched["date"], period)
        exp = ep.value_counts()
        miss = ep[sched["state"] == "not_recorded"].value_counts()
    periods = sorted(set(rec.index) | set(exp.index))
    out = pd.DataFrame({"period": pd.array(periods, dtype="string")})
    out["unit"] = "sessions"
    for name, ser in (("sessions_expected", exp), ("sessions_recorded", rec),
                      ("sessions_held", held), ("sessions_cancelled", canc),
                      ("weeks_not_recorded", miss)):
        out[name] = out["period"].map(ser).fillna(0).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (out["sessions_expected"] - out["weeks_not_recorded"]) / out["sessions_expected"]
    out["share_recorded"] = share.where(out["sessions_expected"] > 0)
    return out[cols]


def session_gaps(dataset, *, period: str = "year") -> pd.DataFrame:
    """Runs of consecutive expected weeks without a held session, listed as date ranges.

    Parameters
    ----------
    dataset : Dataset
    period : str
        Period used to label each run (the period of its first week).

    Returns
    -------
    pandas.DataFrame
        One row per run with ``period``, ``group`` ("not_recorded": no
        session row for those weeks; "cancelled": only cancelled sessions),
        ``label_fr``, ``label_en`` (the group in words),
        ``start`` and ``end`` (expected dates of the first and last week of
        the run), ``count`` (number of weeks), ``unit`` ("sessions").  Runs
        are of weeks of the schedule (see :func:`expected_schedule`), never of
        people.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-25"}])
    >>> session_gaps(ds)[["group", "count"]].values.tolist()
    [['not_recorded', 2]]
    """
    sched = expected_schedule(dataset)
    cols = ["period", "group", "label_fr", "label_en", "start", "end", "count", "unit"]
    rows = []
    if not sched.empty:
        state = sched["state"].tolist()
        dates = sched["date"].tolist()
        i = 0
        while i < len(state):
            if state[i] == "held":
                i += 1
                continue
            j = i
            while j + 1 < len(state) and state[j + 1] == state[i]:
                j += 1
            rows.append({"group": state[i], "start": dates[i], "end": dates[j],
                         "count": j - i + 1})
            i = j + 1
    out = pd.DataFrame(rows, columns=["group", "start", "end", "count"])
    out["start"] = pd.to_datetime(out["start"]).astype("datetime64[ns]")
    out["end"] = pd.to_datetime(out["end"]).astype("datetime64[ns]")
    out["count"] = out["count"].astype("int64")
    out["period"] = period_labels(out["start"], period) if len(out) else pd.Series(
        dtype="string")
    out["unit"] = "sessions"
    out["label_fr"] = out["group"].map(lambda g: _GAP_LABELS[g][0]).astype("object")
    out["label_en"] = out["group"].map(lambda g: _GAP_LABELS[g][1]).astype("object")
    return out[cols].reset_index(drop=True)


_GAP_LABELS = {
    "not_recorded": ("Aucun enregistrement", "No record"),
    "cancelled": ("Annulée(s)", "Cancelled"),
}


_FIELD_LABELS = {
    "first_visit": ("Première venue", "First visit"),
    "gender": ("Identité de genre", "Gender identity"),
    "orientation": ("Orientation sexuelle", "Sexual orientation"),
    "age_band": ("Tranche d'âge", "Age band"),
    "chemsex": ("Chemsex", "Chemsex"),
    "injects": ("Injection", "Injecting"),
    "products": ("Produits consommés", "Products used"),
    "heard_via": ("A connu la permanence par", "Heard of the drop-in via"),
    "visitor_code": ("Code personne", "Visitor code"),
}


#: Fields whose completeness is measured, in display order, with their "missing" test.
COMPLETENESS_FIELDS = ("first_visit", *PROFILE_FIELDS, "visitor_code")


def completeness(dataset, *, period: str = "year") -> pd.DataFrame:
    """Share of visits with each profile field not stated, per period.

    Counted per visit (passage), over the visit rows of held and cancelled
    sessions alike; sessions known only by a tally have no visit rows and do
    not enter the denominator.  ``visitor_code`` counts visits without a
    visitor code (no pseudonym), which cannot be counted as people.

    Parameters
    ----------
    dataset : Dataset
    period : str

    Returns
    -------
    pandas.DataFrame
        One row per period × field with ``period``, ``field``
        (``first_visit``, the profile fields of
        :data:`qsp_eval.schema.PROFILE_FIELDS`, ``visitor_code``),
        ``label_fr``, ``label_en`` (the field in words), ``unit``
        ("visits"), ``count`` (visits with the field "unknown", or no code),
        ``denominator`` (visits in the period), ``share`` (count /
        denominator), ``supplied`` (False when the source had no such
        column: every visit then reads "unknown").  Empty when there are no
        visit rows.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...                   [{"date": "2023-01-04", "gender": "cis_man"}, {"date": "2023-01-04"}])
    >>> completeness(ds).set_index("field").loc["gender", "share"]
    np.float64(0.5)
    """
    v = dataset.visits
    cols = ["period", "field", "label_fr", "label_en", "unit", "count", "denominator", "share",
            "supplied"]
    if v.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    p = period_labels(v["date"], period)
    rows = []
    for fld in COMPLETENESS_FIELDS:
        if fld == "visitor_code":
            missing = v["person_id"].isna()
            supplied = dataset.has("visits", "visitor_code") or dataset.has("visits", "person_id")
        else:
            missing = v[fld].isna() | (v[fld].astype("string") == "unknown")
            supplied = dataset.has("visits", fld)
        cnt = missing.groupby(p).sum()
        den = p.value_counts()
        for per in sorted(den.index):
            rows.append({"period": per, "field": fld, "unit": "visits",
                         "count": int(cnt.get(per, 0)), "denominator": int(den[per]),
                         "supplied": bool(supplied)})
    out = pd.DataFrame(rows)
    out["share"] = out["count"] / out["denominator"]
    out["period"] = out["period"].astype("string")
    out["label_fr"] = out["field"].map(lambda f: _FIELD_LABELS[f][0])
    out["label_en"] = out["field"].map(lambda f: _FIELD_LABELS[f][1])
    return out[cols]


_CHECKS: dict[str, tuple[str, str, str]] = {
    # code: (unit, French description, English description)
    "first_visit_already_seen": (
        "visits",
        "Passages notés « première venue » pour une personne déjà vue à une permanence antérieure",
        "Visits marked 'first visit' for a person already seen at an earlier session"),
    "duplicate_person_in_session": (
        "visits",
        "Passages en double : même code personne deux fois à la même permanence",
        "Duplicate visits: the same visitor code twice at one session"),
    "tally_without_visit_rows": (
        "sessions",
        "Permanences tenues avec un décompte de passages mais aucune fiche de passage",
        "Held sessions with an attendance tally but no visit rows"),
    "tally_differs_from_visit_rows": (
        "sessions",
        "Permanences dont le décompte diffère du nombre de fiches de passage",
        "Sessions whose attendance tally differs from their number of visit rows"),
    "new_visitors_above_attendance": (
        "sessions",
        "Permanences avec plus de nouvelles personnes que de passages",
        "Sessions with more first-time visitors than visits"),
    "visits_on_cancelled_session": (
        "visits",
        "Passages rattachés à une permanence annulée (fiches ou décompte)",
        "Visits recorded for a cancelled session (rows or tally)"),
    "services_on_cancelled_session": (
        "sessions",
        "Permanences annulées avec des prestations enregistrées",
        "Cancelled sessions with services recorded"),
    "held_session_without_visits": (
        "sessions",
        "Permanences tenues sans aucun passage (vrai zéro ou fiche oubliée ?)",
        "Held sessions with no visit at all (a true zero or a forgotten sheet?)"),
    "session_before_launch": (
        "sessions",
        "Permanences datées avant le lancement",
        "Sessions dated before the launch"),
    "session_off_weekday": (
        "sessions",
        "Permanences un autre jour que le jour habituel",
        "Sessions on another day than the usual weekday"),
}
CHECKS = tuple(_CHECKS)


def consistency_checks(dataset, *, period: str = "year", lang: str = "fr") -> pd.DataFrame:
    """Things that pass validation but deserve a look, counted per period.

    Checks (code: what is counted):

    - ``first_visit_already_seen``: visit rows with ``first_visit == "yes"``
      whose visitor code was seen at a session on an earlier date;
    - ``duplicate_person_in_session``: visit rows repeating a visitor code
      already present at the same session (the repeats, not the first);
    - ``tally_without_visit_rows``: held sessions with an ``attendance``
      tally above 0 and no visit rows, when the source has a visits table;
    - ``tally_differs_from_visit_rows``: sessions with both a tally and visit
      rows that disagree;
    - ``new_visitors_above_attendance``: ``new_visitors`` > ``attendance``;
    - ``visits_on_cancelled_session``: visit rows of cancelled sessions plus
      their tallies;
    - ``services_on_cancelled_session``: cancelled sessions with services;
    - ``held_session_without_visits``: held sessions with 0 visits (kept as
      real data by the analyses; listed so a forgotten sheet can be found);
    - ``session_before_launch``: sessions before ``config.launch_date``;
    - ``session_off_weekday``: sessions on another day than
      ``config.session_weekday`` (outreach often is: informative only).

    Visits without a visitor code never enter the two person-based checks.

    Returns
    -------
    pandas.DataFrame
        One row per check × period (periods of the sessions table, zeros
        included) with ``check``, ``period``, ``unit`` ("visits" or
        "sessions"), ``count`` and ``description`` (in ``lang``).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-11"}],
    ...     [{"date": "2023-01-04", "person_id": "a", "first_visit": "yes"},
    ...      {"date": "2023-01-11", "person_id": "a", "first_visit": "yes"}])
    >>> t = consistency_checks(ds).set_index("check")
    >>> int(t.loc["first_visit_already_seen", "count"])
    1
    """
    from .attendance import per_session

    s = dataset.sessions
    v = dataset.visits
    cfg = dataset.config
    cols = ["check", "period", "unit", "count", "description"]
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    s_period = period_labels(s["date"], period)
    v_period = period_labels(v["date"], period) if len(v) else pd.Series(dtype="string")
    periods = sorted(set(s_period.dropna()))
    counts: dict[str, pd.Series] = {}

    coded = v.loc[v["person_id"].notna()]
    if len(coded):
        first_date = coded.groupby("person_id")["date"].transform("min")
        mask = (coded["first_visit"] == "yes") & (coded["date"] > first_date)
        counts["first_visit_already_seen"] = v_period.loc[mask[mask].index].value_counts()
        dup = coded.duplicated(["session_id", "person_id"])
        counts["duplicate_person_in_session"] = v_period.loc[dup[dup].index].value_counts()

    n_rows = v.groupby("session_id").size()
    rows = s["session_id"].map(n_rows).fillna(0).astype("int64")
    tally = s["attendance"].astype("Int64")
    held = s["status"] == "held"
    if dataset.has("visits"):
        m = held & tally.notna() & (tally > 0).fillna(False) & (rows == 0)
        counts["tally_without_visit_rows"] = s_period[m.to_numpy(dtype=bool)].value_counts()
    m = (tally.notna() & (rows > 0) & (tally != rows).fillna(False)).to_numpy(dtype=bool)
    counts["tally_differs_from_visit_rows"] = s_period[m].value_counts()
    newv = s["new_visitors"].astype("Int64")
    m = (newv > tally).fillna(False).to_numpy(dtype=bool)
    counts["new_visitors_above_attendance"] = s_period[m].value_counts()
    canc = (s["status"] == "cancelled").to_numpy()
    n_canc_visits = (rows + tally.fillna(0).astype("int64")).where(canc, 0)
    counts["visits_on_cancelled_session"] = n_canc_visits.groupby(s_period).sum()
    if len(dataset.services):
        sv_sessions = set(dataset.services.loc[dataset.services["count"] > 0, "session_id"])
        m = canc & s["session_id"].isin(sv_sessions).to_numpy()
        counts["services_on_cancelled_session"] = s_period[m].value_counts()
    ps = per_session(dataset)
    zero = ps.loc[(ps["visits"] == 0).fillna(False)]
    counts["held_session_without_visits"] = period_labels(zero["date"], period).value_counts()
    if cfg.launch_date is not None:
        m = (s["date"] < pd.Timestamp(cfg.launch_date)).to_numpy()
        counts["session_before_launch"] = s_period[m].value_counts()
    if cfg.session_weekday is not None:
        m = (s["date"].dt.day_of_week != cfg.session_weekday).to_numpy()
        counts["session_off_weekday"] = s_period[m].value_counts()

    out = []
    for code, (unit, fr, en) in _CHECKS.items():
        ser = counts.get(code, pd.Series(dtype="int64"))
        for per in periods:
            out.append({"check": code, "period": per, "unit": unit,
                        "count": int(ser.get(per, 0)), "description": tr(fr, en, lang)})
    res = pd.DataFrame(out, columns=cols)
    res["period"] = res["period"].astype("string")
    return res


def _robust_z(y: np.ndarray) -> np.ndarray:
    med = np.median(y)
    dev = np.abs(y - med)
    mad = np.median(dev)
    if mad > 0:
        return 0.6745 * (y - med) / mad
    mean_ad = np.mean(dev)
    if mean_ad > 0:
        return (y - med) / (1.253314 * mean_ad)
    return np.zeros_like(y)


def visit_outliers(dataset, *, period: str = "year", threshold: float = OUTLIER_THRESHOLD,
                   flagged_only: bool = False) -> pd.DataFrame:
    """Flag held sessions whose number of visits is unusual for their period.

    Rule (documented in the module docstring): Anscombe transform
    ``y = 2 sqrt(x + 3/8)`` of the visits per held session
    (:func:`qsp_eval.attendance.per_session`), robust z-score
    ``0.6745 (y - median) / MAD`` within each period (mean-absolute-deviation
    fallback when the MAD is 0), flagged when ``|z| > threshold`` (3.5).
    Periods with fewer than 5 held sessions with a count are not screened.
    Sessions with no count (NA) are left out.  A flag asks for a check of the
    record; it is not a reason to drop the session.

    Parameters
    ----------
    dataset : Dataset
    period : str
    threshold : float
        Cut-off on ``|robust_z|``.
    flagged_only : bool
        Return only flagged sessions (what the report publishes).

    Returns
    -------
    pandas.DataFrame
        ``period``, ``session_id``, ``date``, ``unit`` ("visits"), ``count``
        (visits of the session), ``estimate`` (median visits per session in
        the period), ``robust_z`` (Float64, NA when not screened),
        ``flagged`` (bool), ``direction`` ("high", "low" or NA).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": f"2023-01-{d:02d}", "attendance": a}
    ...                    for d, a in zip((4, 11, 18, 25, 31), (4, 5, 5, 6, 30))])
    >>> visit_outliers(ds, flagged_only=True)["count"].tolist()
    [30]
    """
    from .attendance import per_session

    ps = per_session(dataset)
    ps = ps.loc[ps["visits"].notna()].copy()
    cols = ["period", "session_id", "date", "unit", "count", "estimate", "robust_z", "flagged",
            "direction"]
    ps["period"] = period_labels(ps["date"], period)
    ps["count"] = ps["visits"].astype("int64")
    ps["unit"] = "visits"
    ps["estimate"] = ps.groupby("period")["count"].transform("median").astype("float64")
    z = pd.Series(np.nan, index=ps.index, dtype="float64")
    for _, idx in ps.groupby("period").groups.items():
        x = ps.loc[idx, "count"].to_numpy(dtype=float)
        if len(x) < _MIN_SESSIONS_SCREENED:
            continue
        z.loc[idx] = _robust_z(2.0 * np.sqrt(x + 3.0 / 8.0))
    ps["robust_z"] = z.astype("Float64")
    ps["flagged"] = (z.abs() > threshold).fillna(False).astype(bool)
    direction = pd.Series(pd.NA, index=ps.index, dtype="string")
    direction[ps["flagged"] & (z > 0)] = "high"
    direction[ps["flagged"] & (z < 0)] = "low"
    ps["direction"] = direction
    out = ps[cols]
    if flagged_only:
        out = out.loc[out["flagged"]]
    return out.reset_index(drop=True)


def survey_counts(dataset, *, lang: str = "fr") -> pd.DataFrame:
    """Number of responses per survey.

    Returns
    -------
    pandas.DataFrame
        One row per survey with ``survey`` (code), ``label`` (from
        ``config.surveys``, in ``lang``; the code when absent), ``unit``
        ("responses"), ``count`` (distinct response ids), ``questions``
        (distinct question codes), ``free_text_questions`` (questions whose
        answers are free text, kept only as the ``"<free_text>"`` placeholder or
        declared ``free_text`` in ``config.surveys``), ``unanswered`` (answers
        empty or NA, free-text questions left out). The number of free-text
        answers is not given: it is a count of people (respondents who wrote
        something), published only through the survey results, where a small
        one is hidden; given exactly here it would undo that.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}], survey_responses=[
    ...     {"survey": "s", "response_id": "1", "question": "q", "answer": "yes"},
    ...     {"survey": "s", "response_id": "2", "question": "q", "answer": "no"}])
    >>> int(survey_counts(ds)["count"].iloc[0])
    2
    """
    r = dataset.survey_responses
    cols = ["survey", "label", "unit", "count", "questions", "free_text_questions",
            "unanswered"]
    if r.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    surveys = dataset.config.surveys or {}
    ans = r["answer"].astype("string")
    free = (ans == "<free_text>").fillna(False).to_numpy(dtype=bool)
    declared = {(sv, q) for sv, spec in surveys.items()
                for q, qs in ((spec or {}).get("questions") or {}).items()
                if str((qs or {}).get("type", "")) == "free_text"}
    pairs = list(zip(r["survey"].astype(str), r["question"].astype(str), strict=True))
    free_q = {p for p, f in zip(pairs, free, strict=True) if f} | declared
    in_free_q = np.array([p in free_q for p in pairs], dtype=bool)
    empty = (ans.isna() | (ans.str.strip() == "")).fillna(True).to_numpy(dtype=bool)
    r = r.assign(_empty=empty & ~in_free_q)
    g = r.groupby("survey", sort=True)
    out = pd.DataFrame({
        "count": g["response_id"].nunique(),
        "questions": g["question"].nunique(),
        "unanswered": g["_empty"].sum(),
    }).reset_index()
    out["free_text_questions"] = [sum(1 for sv, _ in free_q if sv == str(code))
                                  for code in out["survey"]]
    out = out.astype({"count": "int64", "questions": "int64", "free_text_questions": "int64",
                      "unanswered": "int64"})

    def _label(code):
        spec = surveys.get(code) or {}
        return spec.get("label_fr" if lang == "fr" else "label_en") or spec.get("label_fr") or code

    out["label"] = out["survey"].map(_label)
    out["unit"] = "responses"
    return out[cols]


def quality_tables(dataset, *, period: str = "year", lang: str = "fr") -> dict[str, pd.DataFrame]:
    """All data-quality tables, keyed by the name under which the report publishes them.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``quality_sessions`` (:func:`sessions_expected`), ``quality_gaps``
        (:func:`session_gaps`), ``quality_completeness``
        (:func:`completeness`), ``quality_consistency``
        (:func:`consistency_checks`), ``quality_outliers``
        (:func:`visit_outliers`, flagged sessions only), ``quality_surveys``
        (:func:`survey_counts`).  None is person-level; all are activity
        counts or counts of missing answers.

    Examples
    --------
    >>> # tables = quality_tables(qsp_eval.io.load_source("data/example"))
    """
    return {
        "quality_sessions": sessions_expected(dataset, period=period),
        "quality_gaps": session_gaps(dataset, period=period),
        "quality_completeness": completeness(dataset, period=period),
        "quality_consistency": consistency_checks(dataset, period=period, lang=lang),
        "quality_outliers": visit_outliers(dataset, period=period, flagged_only=True),
        "quality_surveys": survey_counts(dataset, lang=lang),
    }


def _field_label(code: str, lang: str) -> str:
    fr, en = _FIELD_LABELS.get(code, (code, code))
    return tr(fr, en, lang)


def describe_quality(tables, *, lang: str = "fr") -> str:
    """A short Markdown summary of the data-quality tables, for the top of the section.

    Every number comes from ``tables`` (as returned by :func:`quality_tables`).

    Examples
    --------
    >>> # print(describe_quality(quality_tables(ds), lang="en"))
    """
    from .writeup import fmt_number, fmt_percent

    lines = []
    qs = tables.get("quality_sessions")
    if qs is not None and len(qs):
        exp = int(qs["sessions_expected"].sum())
        held = int(qs["sessions_held"].sum())
        canc = int(qs["sessions_cancelled"].sum())
        miss = int(qs["weeks_not_recorded"].sum())
        lines.append(tr(
            f"- Permanences attendues (une par semaine depuis le lancement) : "
            f"{fmt_number(exp, 0, lang)} ; tenues : {fmt_number(held, 0, lang)} ; "
            f"annulées : {fmt_number(canc, 0, lang)} ; semaines sans aucun enregistrement : "
            f"{fmt_number(miss, 0, lang)}.",
            f"- Sessions expected (one a week since launch): {fmt_number(exp, 0, lang)}; "
            f"held: {fmt_number(held, 0, lang)}; cancelled: {fmt_number(canc, 0, lang)}; "
            f"weeks with no record at all: {fmt_number(miss, 0, lang)}.", lang))
    gaps = tables.get("quality_gaps")
    if gaps is not None and len(gaps):
        for group, fr, en in (
                ("not_recorded", "Plus longue interruption sans enregistrement",
                 "Longest gap with no record"),
                ("cancelled", "Plus longue série de permanences annulées",
                 "Longest run of cancelled sessions")):
            g = gaps.loc[gaps["group"] == group]
            if len(g):
                longest = g.sort_values(["count", "start"], ascending=[False, True]).iloc[0]
                n = int(longest["count"])
                lines.append(tr(
                    f"- {fr} : {n} semaine{'s' if n > 1 else ''}, du "
                    f"{pd.Timestamp(longest['start']):%d/%m/%Y} au "
                    f"{pd.Timestamp(longest['end']):%d/%m/%Y}.",
                    f"- {en}: {n} week{'s' if n > 1 else ''}, from "
                    f"{pd.Timestamp(longest['start']):%Y-%m-%d} to "
                    f"{pd.Timestamp(longest['end']):%Y-%m-%d}.", lang))
    comp = tables.get("quality_completeness")
    if comp is not None and len(comp):
        tot = comp.groupby("field")[["count", "denominator"]].sum()
        tot = tot.loc[tot["denominator"] > 0]
        if len(tot):
            order = [f for f in COMPLETENESS_FIELDS if f in tot.index]
            tot = tot.reindex(order + [f for f in tot.index if f not in order])
            share = (tot["count"] / tot["denominator"]).sort_values(ascending=False,
                                                                     kind="stable")
            worst = _field_label(share.index[0], lang)
            lines.append(tr(
                f"- Champ le moins renseigné : « {worst} » (non renseigné sur "
                f"{fmt_percent(share.iloc[0], lang)} des passages).",
                f"- Least complete field: '{worst}' (not stated on "
                f"{fmt_percent(share.iloc[0], lang)} of visits).", lang))
    cons = tables.get("quality_consistency")
    if cons is not None and len(cons):
        tot = cons.groupby(["check", "description"], sort=False)["count"].sum()
        for (_, desc), n in tot.items():
            if n > 0:
                lines.append(f"- {desc} : {int(n)}" if lang == "fr" else f"- {desc}: {int(n)}")
    out = tables.get("quality_outliers")
    if out is not None:
        lines.append(tr(
            f"- Permanences à fréquentation inhabituelle (z robuste > 3,5, à vérifier, non "
            f"exclues) : {len(out)}.",
            f"- Sessions with unusual attendance (robust z > 3.5, to check, not removed): "
            f"{len(out)}.", lang))
    return "\n".join(lines)
