"""Did theming raise attendance?  ITS, themed vs plain, naive, placebo, power and a plain answer.

Everything works on one row per held session (:func:`qsp_eval.attendance.per_session`),
with ``visits`` as the count.  Time is calendar time in years since the first
session; season is ``harmonics`` sine/cosine pairs of the day of the year
(period 365.25 days).  Family: Poisson when the Pearson dispersion is ≤ 1,
negative binomial (NB2, α by maximum likelihood) otherwise
(:func:`qsp_eval.its.choose_family` with ``overdispersed="negbin"``): session
counts rise over time and their extra variation grows with the mean, which a
quasi-Poisson scale (variance φ·μ) misses — in simulations its 95 % intervals
for the themed rate ratio covered the truth only about 92 % of the time.

Models (log link, no offset: one row is one session):

* **ITS** (:func:`qsp_eval.its.fit_its`): ``visits ~ trend + level_change +
  slope_change + season``; ``level_change`` is the jump at the start of
  theming for all sessions, themed or not.
* **Themed vs plain**: the ITS terms plus ``themed`` (1 for a themed session
  on or after the start).  With the level and slope after the start in the
  model, ``exp(themed)`` compares themed sessions with plain sessions of the
  same period, adjusted for trend and season.  Same model for first-time
  visitors (sessions where they were not recorded are left out).
* **Sensitivity**: the same two models plus a step (0 before, 1 from the
  date) for each context event of ``evaluation.yml`` marked ``sensitivity``.
* **Placebo**: the ITS on the pre-period only, with fake start dates.
* **Power**: counts simulated from the pre-period model (trend + season,
  negative binomial with its α, Poisson when not overdispersed),
  with a planted rate ratio; the minimal detectable rate ratio is where 80 %
  of the simulated analyses find p < 0.05 in the right direction.

The answer (:func:`make_verdict`) follows the coordinator's question in order:
(a) did the drop-in's attendance change against what the earlier trend and
season predicted — the cumulative difference in visits since the start with
its interval (:func:`qsp_eval.its.its_cumulative`, delta method), the level
and the slope change; the grade rests on (a); (b) do themed sessions draw more
than plain ones of the same period (never graded on its own); (c) did plain
sessions fall below the earlier trend (displacement: attendance moved rather
than grew).

Inference: Wald intervals with the normal quantile (Poisson, negative binomial
by maximum likelihood; Student's t with the residual df for a quasi-Poisson
fit, see :func:`qsp_eval.its.inference_method`).  The ITS residuals are
tested (Ljung–Box, lag-1 autocorrelation); when Ljung–Box p < 0.05 every
model is refitted with Newey–West errors, lag ⌊4·(n/100)^(2/9)⌋.  Season
terms are used only when the series spans at least a year.

Robustness: :func:`theming_analysis` never raises on a validated dataset
(except :class:`ParameterError` for an unreadable start date).  What cannot be
estimated — no start date, fewer than ``MIN_SESSIONS`` sessions on a side, a
failed or singular fit, an interval that is not :func:`plausible` — is marked
``not_estimable`` with a one-sentence reason, and its numbers are left blank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError
from .i18n import tr
from .its import (
    fit_its,
    harmonic_terms,
    its_counterfactual,
    its_cumulative,
    its_effects,
    its_fitted,
)

__all__ = [
    "MIN_SESSIONS",
    "plausible",
    "ThemingResult",
    "Verdict",
    "session_series",
    "theming_analysis",
    "themed_vs_plain",
    "naive_before_after",
    "placebo_tests",
    "power_analysis",
    "grade_evidence",
    "make_verdict",
    "theming_effects",
    "theming_sensitivity",
    "theming_placebo",
    "theming_power",
    "theming_naive",
    "theming_themed_vs_plain",
    "theming_overall",
    "theming_notes",
    "EVIDENCE_LABELS",
    "NO_START",
]

PERIOD_DAYS = 365.25
#: Fewest sessions needed on each side of the start (and of a fake start).
MIN_SESSIONS = 6
_Z = 1.959963984540054
#: A rate ratio is shown only when its 95 % interval lies within these bounds ...
RR_BOUNDS = (1e-3, 1e3)
#: ... and spans at most this factor (3 orders of magnitude); else "non estimable".
MAX_CI_WIDTH = 1e3

NO_START = (
    "Pas de date de début de la thématisation dans evaluation.yml : l'effet de la "
    "thématisation n'est pas évalué (ajoutez « change: start: AAAA-MM-JJ » ou donnez "
    "--start pour l'évaluer).",
    "No theming start date in evaluation.yml: the effect of theming is not assessed (add "
    "'change: start: YYYY-MM-DD' or give --start to assess it).",
)
IMPLAUSIBLE = (
    "non estimable : intervalle de confiance sans valeur utile (borne au-delà de 1000 ou en "
    "deçà de 1/1000, ou plus de trois ordres de grandeur entre les bornes), trop peu de "
    "données pour cet effet",
    "not estimable: confidence interval of no use (a bound beyond 1000 or below 1/1000, or "
    "more than three orders of magnitude between its bounds), too few data for this effect",
)


def plausible(rate_ratio, ci_low, ci_high) -> bool:
    """Whether a rate ratio and its interval are worth publishing.

    False when a value is missing or not finite, or the interval has a bound
    beyond :data:`RR_BOUNDS` (below 1/1000 or above 1000) or spans more than
    :data:`MAX_CI_WIDTH` (three orders of magnitude): such an interval comes
    from a degenerate fit (separation, a nearly singular design, a series too
    short for the terms) and says nothing; it is shown as "non estimable".

    Examples
    --------
    >>> plausible(1.2, 0.9, 1.6), plausible(1.0, 0.0, 7e19), plausible(2.0, 0.1, 40)
    (True, False, True)
    >>> plausible(3.0, 0.01, 900)
    False
    """
    try:
        v = [float(rate_ratio), float(ci_low), float(ci_high)]
    except (TypeError, ValueError):
        return False
    if not all(np.isfinite(x) for x in v) or v[1] <= 0:
        return False
    return bool(RR_BOUNDS[0] <= v[1] and v[2] <= RR_BOUNDS[1] and v[2] / v[1] <= MAX_CI_WIDTH)


def _reason_text(reason, lang: str) -> str:
    if not reason:
        return ""
    return reason[0] if lang == "fr" else reason[1]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _sample_reason(series: pd.DataFrame, t0: pd.Timestamp):
    """(fr, en) reason why the series cannot be analysed around ``t0``, or None."""
    if series.empty:
        return ("Aucune permanence tenue avec un nombre de passages : l'effet de la "
                "thématisation ne peut pas être estimé.",
                "No held session with a visit count: the effect of theming cannot be "
                "estimated.")
    n_after = int(series["after"].sum())
    n_before = int((~series["after"]).sum())
    last = series["date"].max()
    if n_after == 0:
        return (f"Trop tôt pour juger : aucune permanence depuis le début de la thématisation "
                f"({t0:%d/%m/%Y} ; dernière permanence le {last:%d/%m/%Y}), il en faut au moins "
                f"{MIN_SESSIONS}.",
                f"Too early to judge: no session since theming started ({t0:%Y-%m-%d}; last "
                f"session {last:%Y-%m-%d}), at least {MIN_SESSIONS} are needed.")
    if n_after < MIN_SESSIONS:
        s_fr = "permanence" if n_after == 1 else "permanences"
        s_en = "session" if n_after == 1 else "sessions"
        return (f"Trop tôt pour juger : {n_after} {s_fr} depuis le début de la thématisation, "
                f"il en faut au moins {MIN_SESSIONS}.",
                f"Too early to judge: {n_after} {s_en} since theming started, at least "
                f"{MIN_SESSIONS} are needed.")
    if n_before < MIN_SESSIONS:
        s_fr = "permanence" if n_before == 1 else "permanences"
        s_en = "session" if n_before == 1 else "sessions"
        return (f"Pas assez de recul : {n_before} {s_fr} avant le début de la thématisation, il "
                f"en faut au moins {MIN_SESSIONS} pour connaître la tendance antérieure.",
                f"Not enough history: {n_before} {s_en} before theming started, at least "
                f"{MIN_SESSIONS} are needed to know the earlier trend.")
    if float(series["visits"].sum()) == 0:
        return ("Aucun passage enregistré : l'effet de la thématisation ne peut pas être estimé.",
                "No visit recorded: the effect of theming cannot be estimated.")
    return None


def _fit_failure(exc) -> tuple:
    if isinstance(exc, (DataError, ParameterError)):
        return (f"Modèle non estimable : {exc.format('fr')}", f"Model not estimable: "
                f"{exc.format('en')}")
    return ("Modèle non estimable : l'ajustement a échoué sur ces données (plan singulier ou "
            "série trop courte pour ses termes).",
            "Model not estimable: the fit failed on these data (singular design or a series "
            "too short for its terms).")


def _fit_problem(res):
    """(fr, en) reason when a fit did not converge or its design is singular, else None."""
    X = np.asarray(res.its_design.exog, dtype=float)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return ("Modèle non estimable : plan singulier (les termes du modèle ne peuvent pas être "
                "séparés sur ces permanences).",
                "Model not estimable: singular design (the model's terms cannot be told apart "
                "on these sessions).")
    if not bool(getattr(res, "converged", True)):
        return ("Modèle non estimable : l'ajustement n'a pas convergé.",
                "Model not estimable: the fit did not converge.")
    if not np.all(np.isfinite(np.asarray(res.bse, dtype=float))):
        return ("Modèle non estimable : erreurs types infinies (séparation ou série trop courte).",
                "Model not estimable: infinite standard errors (separation or a series too "
                "short).")
    return None


_FIT_ERRORS = (DataError, ParameterError, np.linalg.LinAlgError, ValueError, ZeroDivisionError,
               FloatingPointError, OverflowError)


def _safe_fit(*args, **kwargs):
    """:func:`_fit` that returns (result, None) or (None, (fr, en) reason); never raises."""
    import warnings

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = _fit(*args, **kwargs)
    except _FIT_ERRORS as exc:
        return None, _fit_failure(exc)
    except Exception as exc:  # noqa: BLE001 - statsmodels' own errors (separation, ...)
        if type(exc).__module__.startswith(("statsmodels", "numpy", "scipy")):
            return None, _fit_failure(exc)
        raise
    problem = _fit_problem(res)
    return (None, problem) if problem else (res, None)


def _plausible_rows(eff: pd.DataFrame) -> np.ndarray:
    """Vectorised :func:`plausible` over the rows of an effects table."""
    rr, lo, hi = (eff[c].to_numpy(dtype=float) for c in ("rate_ratio", "ci_low", "ci_high"))
    with np.errstate(all="ignore"):
        return (np.isfinite(rr) & np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
                & (lo >= RR_BOUNDS[0]) & (hi <= RR_BOUNDS[1]) & (hi / lo <= MAX_CI_WIDTH))


def _screen(eff: pd.DataFrame) -> pd.DataFrame:
    """Add ``status``/``note_fr``/``note_en``; blank the numbers of implausible rows."""
    ok = _plausible_rows(eff)
    eff = eff.copy()
    eff["status"] = pd.Series(np.where(ok, "estimated", "not_estimable"), index=eff.index,
                              dtype=object)
    eff["note_fr"] = pd.Series(np.where(ok, "", IMPLAUSIBLE[0]), index=eff.index, dtype=object)
    eff["note_en"] = pd.Series(np.where(ok, "", IMPLAUSIBLE[1]), index=eff.index, dtype=object)
    if not ok.all():
        cols = [c for c in ("estimate", "se", "rate_ratio", "ci_low", "ci_high", "p_value")
                if c in eff]
        eff.loc[~ok, cols] = np.nan
    return eff


def _localise(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``note_fr``/``note_en`` -> one ``note`` column in ``lang``."""
    out = df.copy()
    if "note_fr" in out or "note_en" in out:
        out["note"] = out.get(f"note_{lang}", out.get("note_en"))
        out = out.drop(columns=[c for c in ("note_fr", "note_en") if c in out])
    return out


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def _resolve_start(dataset, start):
    """The start date as a Timestamp; None when neither ``start`` nor ``change.start`` gives one.

    Raises ParameterError only for an unreadable date (a user mistake).
    """
    if start is None or (isinstance(start, str) and not start.strip()):
        change = getattr(dataset.config, "change", None)
        if change is None or change.start is None:
            return None
        start = change.start
    try:
        ts = pd.to_datetime(start, dayfirst=isinstance(start, str) and "/" in start)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"Date de début illisible : « {start} ».",
                             f"Unreadable start date: '{start}'.") from exc
    if pd.isna(ts):
        raise ParameterError(f"Date de début illisible : « {start} ».",
                             f"Unreadable start date: '{start}'.")
    return pd.Timestamp(ts).normalize()


def session_series(dataset, *, start=None) -> pd.DataFrame:
    """The session-level series the theming analysis models.

    Held sessions with a known visit count, in date order.

    Returns
    -------
    pandas.DataFrame
        ``session_id``, ``date``, ``visits`` (float), ``first_time_visitors``
        (float, NaN when not recorded), ``themed`` (bool), ``after`` (bool,
        on or after the start), ``themed_after`` (float 0/1: themed and after).
        Sessions whose visit count is unknown are left out.

    Examples
    --------
    >>> # session_series(ds).head()
    """
    from .attendance import per_session

    t0 = _resolve_start(dataset, start)
    if t0 is None:
        raise ParameterError(NO_START[0], NO_START[1])
    ps = per_session(dataset)
    ps = ps.loc[ps["visits"].notna()].sort_values("date").reset_index(drop=True)
    out = pd.DataFrame({
        "session_id": ps["session_id"].astype(str),
        "date": pd.to_datetime(ps["date"]).astype("datetime64[ns]"),
        "visits": ps["visits"].astype("Float64").astype(float),
        "first_time_visitors": ps["first_time_visitors"].astype("Float64").astype(float),
        "themed": ps["themed"].astype(bool),
    })
    out["after"] = out["date"] >= t0
    out["themed_after"] = (out["themed"] & out["after"]).astype(float)
    return out


def _events(dataset, series: pd.DataFrame) -> list:
    """Context events to adjust for: marked ``sensitivity`` and inside the series."""
    evs = []
    lo, hi = series["date"].min(), series["date"].max()
    for e in getattr(dataset.config, "events", ()) or ():
        if not getattr(e, "sensitivity", False) or getattr(e, "kind", "context") != "context":
            continue
        d = pd.Timestamp(e.date)
        n_before = int((series["date"] < d).sum())
        n_after = int((series["date"] >= d).sum())
        if lo < d <= hi and n_before >= 3 and n_after >= 3:
            evs.append(e)
    return evs


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
def _fit(series, count, start, *, harmonics, covariates=(), slope_change=True, family="auto",
         hac_lags=None):
    return fit_its(series, count=count, date="date", intervention=start, harmonics=harmonics,
                   period=PERIOD_DAYS, family=family, slope_change=slope_change,
                   covariates=covariates, overdispersed="negbin", min_points=MIN_SESSIONS,
                   hac_lags=hac_lags, file="sessions")


def _row(eff: pd.DataFrame, term: str) -> dict:
    e = eff.set_index("term")
    if term not in e.index:
        return {"rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    r = e.loc[term]
    return {k: float(r[k]) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")}


def themed_vs_plain(series: pd.DataFrame, start, *, outcome: str = "visits", harmonics: int = 1,
                    covariates=(), family: str = "auto", hac_lags: int | None = None) -> dict:
    """Rate ratio of ``outcome`` on themed vs plain sessions after the start.

    Model: ``outcome ~ trend + level_change + slope_change + season(K) +
    themed [+ covariates]`` on all sessions, log link, no offset (one row is
    one session).  Family (``family="auto"``): Poisson when the Pearson
    dispersion of the Poisson fit is ≤ 1, else negative binomial NB2 with α
    by maximum likelihood; Wald interval ``exp(b ± z·SE)`` (Newey–West
    errors with ``hac_lags``).  See the module docstring.  Sessions with a
    missing ``outcome`` are left out.  Never raises on a bad fit: the row is
    then "not estimable" with the reason.

    Returns
    -------
    dict
        ``outcome``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``,
        ``n_themed``, ``n_plain`` (sessions on or after the start),
        ``family``, ``dispersion``, ``z`` (Wald statistic), ``status``
        ("estimated" or "not_estimable"), ``note_fr``, ``note_en`` (why not,
        in words); NaN estimates when not estimable.

    Examples
    --------
    >>> # themed_vs_plain(session_series(ds), "2024-01-10")["rate_ratio"]
    """
    return _themed_fit(series, start, outcome=outcome, harmonics=harmonics,
                       covariates=covariates, family=family, hac_lags=hac_lags)[0]


def _themed_fit(series, start, *, outcome="visits", harmonics=1, covariates=(), family="auto",
                hac_lags=None):
    """:func:`themed_vs_plain` and the fitted model (None when not estimable)."""
    d = series.loc[series[outcome].notna()].reset_index(drop=True)
    post = d.loc[d["after"]]
    n_themed = int(post["themed"].sum())
    n_plain = int((~post["themed"]).sum())
    out = {"outcome": outcome, "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "p_value": np.nan, "n_themed": n_themed, "n_plain": n_plain, "family": None,
           "dispersion": np.nan, "z": np.nan, "status": "not_estimable", "note_fr": "",
           "note_en": ""}

    def no(fr, en):
        out["note_fr"], out["note_en"] = fr, en
        return out, None

    what_fr = "passages" if outcome == "visits" else "premières venues"
    what_en = "visits" if outcome == "visits" else "first-time visitors"
    if d.empty:
        return no(f"{what_fr} non enregistrés", f"{what_en} not recorded")
    if n_themed == 0:
        return no("aucune permanence thématisée depuis le début : pas de comparaison",
                  "no themed session since the start: nothing to compare")
    if n_plain == 0:
        return no("toutes les permanences sont thématisées depuis le début : aucune permanence "
                  "non thématisée à comparer",
                  "every session has been themed since the start: no plain session to compare")
    if d[outcome].sum() == 0:
        return no(f"aucun(e) {what_fr} enregistré(e)", f"no {what_en} recorded")
    res, why = _safe_fit(d, outcome, start, harmonics=harmonics,
                         covariates=("themed_after",) + tuple(covariates), family=family,
                         hac_lags=hac_lags)
    if res is None:
        return no(why[0], why[1])
    e = _screen(its_effects(res)).set_index("term")
    out["family"] = res.its_design.family
    out["dispersion"] = res.its_design.dispersion
    if "themed_after" not in e.index:
        return no("terme non estimable", "term not estimable")
    r = e.loc["themed_after"]
    if r["status"] != "estimated":
        return no(IMPLAUSIBLE[0], IMPLAUSIBLE[1])
    out.update({k: float(r[k]) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")})
    out["z"] = float(r["estimate"] / r["se"])
    out["status"] = "estimated"
    return out, res


def naive_before_after(series: pd.DataFrame, *, outcome: str = "visits") -> pd.DataFrame:
    """Mean ``outcome`` per session before and after the start, with exact Poisson intervals.

    No adjustment at all: a rising trend or a different season mix is
    credited to the change.  Intervals: Garwood exact Poisson interval of
    total / sessions (they ignore overdispersion, so they are too narrow
    when counts vary more than Poisson).  The ``ratio`` row is after / before
    with the Wald interval ``exp(log r ± z·sqrt(1/total_before + 1/total_after))``.

    Returns
    -------
    pandas.DataFrame
        Rows ``before``, ``after``, ``ratio`` in ``period``; columns
        ``period``, ``n`` (sessions), ``count`` (total), ``estimate``,
        ``ci_low``, ``ci_high``, ``unit``.

    Examples
    --------
    >>> # naive_before_after(session_series(ds))
    """
    from .stats import poisson_exact_ci

    d = series.loc[series[outcome].notna()]
    rows = []
    tot = {}
    for name, part in (("before", d.loc[~d["after"]]), ("after", d.loc[d["after"]])):
        n, s = len(part), float(part[outcome].sum())
        lo, hi = poisson_exact_ci(s, n)
        tot[name] = (n, s)
        rows.append({"period": name, "n": n, "count": s, "estimate": s / n if n else np.nan,
                     "ci_low": lo, "ci_high": hi, "unit": outcome})
    (n0, s0), (n1, s1) = tot["before"], tot["after"]
    if n0 and n1 and s0 > 0 and s1 > 0:
        r = (s1 / n1) / (s0 / n0)
        se = math.sqrt(1 / s0 + 1 / s1)
        rows.append({"period": "ratio", "n": n0 + n1, "count": s0 + s1, "estimate": r,
                     "ci_low": r * math.exp(-_Z * se), "ci_high": r * math.exp(_Z * se),
                     "unit": "rate_ratio"})
    else:
        rows.append({"period": "ratio", "n": n0 + n1, "count": s0 + s1, "estimate": np.nan,
                     "ci_low": np.nan, "ci_high": np.nan, "unit": "rate_ratio"})
    return pd.DataFrame(rows)


def placebo_tests(series: pd.DataFrame, start, *, real: dict, n_placebo: int = 20,
                  harmonics: int = 1, min_gap_days: int = 90, family: str = "auto",
                  hac_lags: int | None = None) -> tuple:
    """The same models with fake start dates in the pre-period.

    Only sessions before the real start are used.  Fake starts are session
    dates with at least ``MIN_SESSIONS`` sessions before them and between
    them and the real start, at least ``min_gap_days`` before the real start;
    ``n_placebo`` of them, evenly spread.  At each fake start two estimates:

    * ``level_change``: the ITS (trend, level change, slope change, season),
      and from the same fit ``cumulative`` (when ``real`` has it): observed
      vs counterfactual total after the fake start
      (:func:`qsp_eval.its.its_cumulative`, its z = log ratio / SE);
    * ``themed_after``: the themed-vs-plain model, the real sequence of
      themed/plain sessions after the start being laid, in order, on the
      sessions after the fake start (repeated if it is shorter), so the
      placebo keeps the real timing pattern of theming.

    The real estimate is ranked by its Wald statistic |log RR / SE| (so
    placebo fits on shorter, noisier windows do not swamp it).  A fit that
    fails or gives an implausible interval (:func:`plausible`) is left out:
    the function never raises on a short or degenerate series.

    Parameters
    ----------
    real : dict
        term -> {"rate_ratio", "z"} of the real estimates.

    Returns
    -------
    (pandas.DataFrame, dict)
        Table: ``fake_start``, ``term``, ``rate_ratio``, ``ci_low``,
        ``ci_high``, ``p_value``, ``z``.  Summary: term -> ``n``, ``rank``
        (rank of the real |z| among real and placebo |z|, 1 = largest),
        ``n_as_extreme`` (placebos with |z| ≥ the real one),
        ``p_placebo`` = (1 + n_as_extreme) / (n + 1), ``real_rate_ratio``.

    Examples
    --------
    >>> # table, summary = placebo_tests(series, "2024-01-10",
    >>> #     real={"level_change": {"rate_ratio": 1.3, "z": 2.1}})
    """
    t0 = pd.Timestamp(start)
    pre = series.loc[series["date"] < t0].reset_index(drop=True)
    pattern = series.loc[series["after"], "themed"].to_numpy(dtype=float)
    cols = ["fake_start", "term", "rate_ratio", "ci_low", "ci_high", "p_value", "z"]
    cand = [d for i, d in enumerate(pre["date"])
            if i >= MIN_SESSIONS and len(pre) - i >= MIN_SESSIONS
            and (t0 - d).days >= min_gap_days]
    if n_placebo > 0 and cand:
        idx = np.unique(np.round(np.linspace(0, len(cand) - 1, min(n_placebo, len(cand))))
                        .astype(int))
        cand = [cand[i] for i in idx]
    else:
        cand = []
    rows = []
    for d in cand:
        p2 = pre.copy()
        fake_after = (p2["date"] >= d).to_numpy()
        lab = np.zeros(len(p2))
        if pattern.size and pattern.sum() > 0 and "themed_after" in real:
            lab[fake_after] = np.resize(pattern, int(fake_after.sum()))
        p2["themed_after"] = lab
        fits = [("level_change", ())]
        if 0 < lab.sum() < fake_after.sum():
            fits.append(("themed_after", ("themed_after",)))
        for term, cov in fits:
            res, _why = _safe_fit(p2, "visits", d, harmonics=harmonics, covariates=cov,
                                  family=family, hac_lags=hac_lags)
            if res is None:
                continue
            e = its_effects(res).set_index("term")
            if term == "level_change" and "cumulative" in real:
                c = its_cumulative(res)
                if plausible(c["ratio"], c["ci_low"], c["ci_high"]) and np.isfinite(c["z"]):
                    rows.append({"fake_start": d, "term": "cumulative",
                                 "rate_ratio": c["ratio"], "ci_low": c["ci_low"],
                                 "ci_high": c["ci_high"], "p_value": np.nan, "z": c["z"]})
            if term not in e.index:
                continue
            r = e.loc[term]
            if not plausible(r["rate_ratio"], r["ci_low"], r["ci_high"]):
                continue
            rows.append({"fake_start": d, "term": term, "rate_ratio": float(r["rate_ratio"]),
                         "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
                         "p_value": float(r["p_value"]),
                         "z": float(r["estimate"] / r["se"])})
    table = pd.DataFrame(rows, columns=cols)
    return table, _placebo_summary(table, real)


def _placebo_summary(table: pd.DataFrame, real: dict) -> dict:
    """Rank of each real |z| among the placebo |z| of its term, and the placebo p-value.

    ``n_as_extreme`` = #{placebo |z| ≥ real |z|}; ``p_placebo`` = (1 + n_as_extreme) / (n + 1)
    (the real estimate counts as one of the n + 1 draws, as a Monte Carlo p-value);
    ``rank`` = 1 + #{placebo |z| > real |z|} (1 = the real one is the most extreme).
    """
    summary = {}
    for term, rv in real.items():
        sub = table.loc[table["term"] == term]
        n = len(sub)
        z = rv.get("z", np.nan)
        s = {"n": n, "rank": None, "p_placebo": np.nan, "n_as_extreme": None,
             "real_rate_ratio": rv.get("rate_ratio", np.nan), "real_z": z}
        if n and np.isfinite(z):
            fake = np.abs(sub["z"].to_numpy(dtype=float))
            k = int(np.sum(fake >= abs(z)))
            s.update({"rank": int(np.sum(fake > abs(z))) + 1, "n_as_extreme": k,
                      "p_placebo": (1 + k) / (n + 1)})
        summary[term] = s
    return summary


# ---------------------------------------------------------------------------
# Power by simulation (vectorised Poisson IRLS over simulated datasets)
# ---------------------------------------------------------------------------
def _batch_glm(X: np.ndarray, Y: np.ndarray, *, alpha: float = 0.0, iters: int = 30):
    """Fit a log-link Poisson (``alpha = 0``) or NB2 GLM with known α to every column of ``Y``.

    Iteratively reweighted least squares, vectorised over the columns
    (weights μ/(1 + αμ)).  Returns (beta S×p, unscaled covariance S×p×p).
    """
    n, p = X.shape
    mu = Y + 0.1
    eta = np.log(mu)
    ridge = 1e-9 * np.eye(p)
    beta = np.zeros((Y.shape[1], p))
    for _ in range(iters):
        w = mu / (1 + alpha * mu)
        z = eta + (Y - mu) / mu
        xtwx = np.einsum("ni,ns,nj->sij", X, w, X) + ridge
        xtwz = np.einsum("ni,ns->si", X, w * z)
        new = _solve(xtwx, xtwz)
        done = np.max(np.abs(new - beta)) < 1e-8
        beta = new
        eta = np.clip(X @ beta.T, -30, 30)
        mu = np.exp(eta)
        if done:
            break
    w = mu / (1 + alpha * mu)
    info = np.einsum("ni,ns,nj->sij", X, w, X) + ridge
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:  # a singular simulated design: pseudo-inverse, then NaN
        cov = np.linalg.pinv(info)
    bad = ~np.isfinite(beta).all(axis=1)
    cov[bad] = np.nan
    return beta, cov


def _solve(a, b):
    """Batched ``solve(a, b)``; pseudo-inverse where a matrix is singular (never raises)."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("sij,sj->si", np.linalg.pinv(a), b)


def _pre_model_mean(series, harmonics):
    """Fit trend + season on the pre-period; return (μ for every session, α, dispersion).

    α is the NB2 α (ML) when the Pearson dispersion exceeds 1, else 0 (Poisson).
    """
    import statsmodels.api as sm

    from .its import _nb_alpha

    t = ((series["date"] - series["date"].min()) / pd.Timedelta(days=1)).to_numpy() / 365.25
    X = np.column_stack([np.ones_like(t), t,
                         harmonic_terms(series["date"].dt.day_of_year.to_numpy(),
                                        harmonics=harmonics, period=PERIOD_DAYS).to_numpy()])
    pre = ~series["after"].to_numpy()
    y = series["visits"].to_numpy()[pre]
    res = sm.GLM(y, X[pre], family=sm.families.Poisson()).fit()
    mu_pre = np.asarray(res.fittedvalues)
    disp = float(np.sum((y - mu_pre) ** 2 / mu_pre) / max(res.df_resid, 1))
    params = np.asarray(res.params)
    alpha = 0.0
    if disp > 1:
        alpha = _nb_alpha(y, X[pre], np.zeros(len(y)), res)
        nb = sm.GLM(y, X[pre], family=sm.families.NegativeBinomial(alpha=alpha)).fit()
        params = np.asarray(nb.params)
    return np.exp(X @ params), alpha, disp, t


def power_analysis(series: pd.DataFrame, start, *, harmonics: int = 1, n_sim: int = 200,
                   grid=None, seed: int = 0, alpha: float = 0.05, power: float = 0.80) -> tuple:
    """Power to detect a rise, by parametric bootstrap from the pre-period model.

    The pre-period is fitted with ``visits ~ trend + season`` (log link;
    negative binomial NB2 when overdispersed, else Poisson); its
    predictions, continued after the start, are the no-effect means μ₀.
    For each rate ratio RR of ``grid``, ``n_sim`` series are simulated
    with mean μ₀·RR on the targeted sessions (themed sessions after the
    start for ``themed``; every session after the start for
    ``level_change``) and the pre-period variance (gamma–Poisson with the
    fitted α), then refitted with the analysis model (same terms, NB2 with α
    held at the pre-period value, Wald test).  Power = share of fits with
    p < ``alpha`` and an estimate above 1.

    Returns
    -------
    (pandas.DataFrame, dict)
        Table: ``target`` ("themed" or "level_change"), ``rate_ratio``
        (planted), ``power``, ``n`` (simulations).  Summary: ``mdrr``
        (target -> minimal detectable rate ratio, log-linear interpolation on
        the grid; NaN when even the largest RR of the grid is not detected
        with ``power``), ``alpha_nb``, ``dispersion``, ``n_sim``,
        ``grid_max``, ``power``.

    Examples
    --------
    >>> # table, summary = power_analysis(session_series(ds), "2024-01-10", n_sim=100)
    """
    from scipy import stats

    if grid is None:
        grid = np.exp(np.linspace(np.log(1.05), np.log(4.0), 16))
    grid = np.asarray(grid, dtype=float)
    rng = np.random.default_rng(seed)
    mu0, a_nb, disp, t = _pre_model_mean(series, harmonics)
    after = series["after"].to_numpy().astype(float)
    t0 = (pd.Timestamp(start) - series["date"].min()) / pd.Timedelta(days=1) / 365.25
    season = harmonic_terms(series["date"].dt.day_of_year.to_numpy(), harmonics=harmonics,
                            period=PERIOD_DAYS).to_numpy()
    base = np.column_stack([np.ones_like(t), t, after, (t - t0) * after, season])
    themed = series["themed_after"].to_numpy()
    targets = {"level_change": (base, after, 2)}
    if themed.sum() > 0 and (after - themed).sum() > 0:
        targets["themed"] = (np.column_stack([base, themed]), themed, base.shape[1])
    crit = stats.norm.ppf(1 - alpha / 2)
    rows, mdrr = [], {}
    for name, (X, mask, j) in targets.items():
        pw = []
        for rr in grid:
            mu = mu0 * np.where(mask > 0, rr, 1.0)
            M = np.repeat(mu[:, None], n_sim, axis=1)
            if a_nb > 0:
                M = rng.gamma(1 / a_nb, a_nb * M)
            Y = rng.poisson(M).astype(float)
            with np.errstate(all="ignore"):
                beta, cov = _batch_glm(X, Y, alpha=a_nb)
                zval = beta[:, j] / np.sqrt(cov[:, j, j])
            p = float(np.mean(np.isfinite(zval) & (zval > crit)))
            pw.append(p)
            rows.append({"target": name, "rate_ratio": float(rr), "power": p, "n": n_sim})
        mdrr[name] = _interpolate_mdrr(grid, np.array(pw), power)
    table = pd.DataFrame(rows, columns=["target", "rate_ratio", "power", "n"])
    return table, {"mdrr": mdrr, "alpha_nb": a_nb, "dispersion": disp, "n_sim": n_sim,
                   "grid_max": float(grid.max()), "power": power}


def _interpolate_mdrr(grid, pw, target) -> float:
    above = np.flatnonzero(pw >= target)
    if len(above) == 0:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(grid[0])
    x0, x1 = np.log(grid[i - 1]), np.log(grid[i])
    y0, y1 = pw[i - 1], pw[i]
    x = x0 + (target - y0) * (x1 - x0) / (y1 - y0) if y1 > y0 else x1
    return float(np.exp(x))


# ---------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------
@dataclass
class Verdict:
    """The plain answer.

    Attributes
    ----------
    evidence : str
        ``"strong"``, ``"moderate"``, ``"weak"`` or ``"inconclusive"``.
    text_fr, text_en : str
        The answer in French and English.
    checks : dict
        What the grading used (``primary``, ``ci_excludes_1``,
        ``placebo_passed``, ``sensitivity_passed``, ...).
    """

    evidence: str
    text_fr: str
    text_en: str
    checks: dict = field(default_factory=dict)

    def text(self, lang: str = "fr") -> str:
        """The answer in ``lang``."""
        return self.text_fr if lang == "fr" else self.text_en


EVIDENCE_LABELS = {
    "strong": ("solide", "strong"),
    "moderate": ("modéré", "moderate"),
    "weak": ("faible", "weak"),
    "inconclusive": ("non concluant", "inconclusive"),
    "not_estimable": ("non estimable", "not estimable"),
}
"""Evidence grade -> (French, English) words, read after "niveau de preuve :" (masculine)."""


def grade_evidence(ci_low: float, ci_high: float, *, placebo_passed: bool,
                   sensitivity_passed: bool) -> str:
    """Grade the evidence by explicit rules.

    * ``inconclusive``: the 95 % interval includes 1 (or is missing);
    * otherwise the checks — placebo (the real estimate's Wald statistic is
      larger than that of at least 90 % of the placebo estimates, i.e.
      placebo p ≤ 0.10 with at least 9 placebos) and sensitivity (every run
      adjusted for a context event keeps an interval on the same side of 1;
      passed when no event is declared): both → ``strong``; the placebo
      alone → ``moderate``; without the placebo → ``weak`` (the sensitivity
      runs only re-check the same interval, and pass by default without
      events, so alone they do not lift the grade: on simulated programmes
      with no effect this keeps "moderate" or "strong" at or below 5 %);
    * ``strong`` also needs the estimate to stand clearly away from 1: the
      99 % interval (derived from the 95 % one on the log scale) must exclude 1,
      i.e. p < 0.01; an interval that barely clears 1 is at most ``moderate``.

    Examples
    --------
    >>> grade_evidence(1.2, 2.1, placebo_passed=True, sensitivity_passed=True)
    'strong'
    >>> grade_evidence(0.8, 1.7, placebo_passed=True, sensitivity_passed=True)
    'inconclusive'
    >>> grade_evidence(1.1, 1.9, placebo_passed=True, sensitivity_passed=False)
    'moderate'
    >>> grade_evidence(1.1, 1.9, placebo_passed=False, sensitivity_passed=True)
    'weak'
    >>> grade_evidence(1.02, 1.75, placebo_passed=True, sensitivity_passed=True)
    'moderate'
    """
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)) or ci_low <= 1 <= ci_high:
        return "inconclusive"
    if not placebo_passed:
        return "weak"
    grade = "strong" if sensitivity_passed else "moderate"
    if grade == "strong":
        z95 = 1.959963984540054
        se = (np.log(ci_high) - np.log(ci_low)) / (2 * z95)
        z = abs(np.log(ci_low) + np.log(ci_high)) / 2 / se
        if z < 2.5758293035489004:  # the 99 % interval would include 1
            grade = "moderate"
    return grade


def _num(x: float, lang: str, digits: int = 1) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "fr" else s


def _ci(lo, hi, lang) -> str:
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return tr("IC 95 % non estimable", "95% CI not estimable", lang)
    return tr(f"IC 95 % {_num(lo, 'fr', 2)}–{_num(hi, 'fr', 2)}",
              f"95% CI {_num(lo, 'en', 2)}–{_num(hi, 'en', 2)}", lang)


def _excludes_1(d) -> bool:
    """The estimate is plausible and its interval is on one side of 1."""
    if not d:
        return False
    rr = d.get("rate_ratio", d.get("ratio"))
    lo, hi = d.get("ci_low"), d.get("ci_high")
    return plausible(rr, lo, hi) and (lo > 1 or hi < 1)


def _ratio(d):
    return d.get("rate_ratio", d.get("ratio", np.nan)) if d else np.nan


def _int(x: float, lang: str, signed: bool = False) -> str:
    v = int(round(float(x)))
    s = f"{abs(v):,}".replace(",", "\u00a0" if lang == "fr" else ",")
    if v < 0:
        return "−" + s
    return ("+" + s) if signed and v > 0 else s


def _pct_change(rr: float, lang: str) -> str:
    """×1.6 -> "une hausse d'environ 60 %"; ×0.8 -> "une baisse d'environ 20 %"."""
    pct = (rr - 1) * 100
    n = _num(abs(pct), lang, 0)
    if rr >= 1:
        return tr(f"une hausse d'environ {n} %", f"a rise of about {n}%", lang)
    return tr(f"une baisse d'environ {n} %", f"a fall of about {n}%", lang)


def make_verdict(*, its_level: dict, themed: dict, first_time: dict, placebo: dict,
                 sensitivity: pd.DataFrame, mdrr: dict, naive_ratio: float,
                 overall: dict | None = None, its_slope: dict | None = None,
                 displacement: dict | None = None, trend: dict | None = None,
                 start=None) -> Verdict:
    """Word the answer from the estimates, in the order the question asks.

    (a) **Overall change** against the counterfactual (earlier trend and
    season continued): the cumulative difference in visits since the start
    (``overall``, :func:`qsp_eval.its.its_cumulative`), then the level and
    slope changes.  The grade (:func:`grade_evidence`) rests on (a): on the
    cumulative ratio when it could be estimated, else on the level change.
    (b) **Themed vs plain** sessions of the same period (``themed``): said,
    never graded on its own.  (c) **Displacement** (``displacement["plain"]``:
    plain sessions after the start against the earlier trend): when themed
    sessions draw more than plain ones while plain sessions fall below the
    trend, the answer says attendance moved (rather than grew when (a) shows
    no rise; in part when it does, and the grade is then at most moderate).
    Every effect whose interval excludes 1 is stated in words.  The text says
    "associated with", never "caused".

    Parameters
    ----------
    its_level, its_slope, themed, first_time : dict
        ``rate_ratio``, ``ci_low``, ``ci_high`` (NaN when not estimable).
    overall : dict
        :func:`qsp_eval.its.its_cumulative` output.
    displacement : dict
        ``{"plain": its_cumulative of plain sessions, "themed": ... of themed}``
        from the themed-vs-plain model.
    trend : dict
        ``rate_ratio`` of the yearly trend before the start.
    placebo : dict
        :func:`placebo_tests` summary (term -> dict); ``cumulative`` ranks (a).
    sensitivity : pandas.DataFrame
        :func:`theming_sensitivity` table (``term`` ``cumulative`` or
        ``level_change``).
    mdrr : dict
        target -> minimal detectable rate ratio (no key: power not computed).

    Returns
    -------
    Verdict
        ``checks`` has ``primary``, ``rate_ratio``, ``ci_low``, ``ci_high``,
        ``ci_excludes_1``, ``direction`` ("higher", "lower" or None),
        ``displacement`` (bool), ``moved_not_grew`` (bool), ``slope_change``
        (``"higher"``/``"lower"``/None), ``placebo_*``, ``sensitivity_*``,
        ``minimal_detectable_rate_ratio``, ``estimable``.

    Examples
    --------
    >>> # make_verdict(its_level=..., themed=..., overall=..., ...).text("en")
    """
    overall = overall or {}
    its_slope = its_slope or {}
    displacement = displacement or {}
    use_overall = overall.get("status", "estimated") == "estimated" and plausible(
        overall.get("ratio"), overall.get("ci_low"), overall.get("ci_high"))
    if use_overall:
        target = "cumulative"
        rr, lo, hi = overall["ratio"], overall["ci_low"], overall["ci_high"]
    else:
        target = "level_change"
        rr, lo, hi = (its_level.get("rate_ratio", np.nan), its_level.get("ci_low", np.nan),
                      its_level.get("ci_high", np.nan))
        if not plausible(rr, lo, hi):
            rr = lo = hi = np.nan
    up = bool(np.isfinite(rr) and rr > 1)
    pl = placebo.get(target, {})
    placebo_run = pl.get("n", 0) >= 9
    placebo_passed = bool(placebo_run and pl.get("p_placebo", 1.0) <= 0.10)
    sens = sensitivity.loc[sensitivity["term"] == target] if len(sensitivity) else sensitivity
    if len(sens):
        same_side = ((sens["ci_low"] > 1) if up else (sens["ci_high"] < 1))
        sensitivity_passed = bool(same_side.all())
    else:
        sensitivity_passed = True
    evidence = grade_evidence(lo, hi, placebo_passed=placebo_passed,
                              sensitivity_passed=sensitivity_passed)
    overall_clear = evidence != "inconclusive"
    plain = displacement.get("plain") or {}
    themed_up = _excludes_1(themed) and themed["rate_ratio"] > 1
    plain_down = _excludes_1(plain) and plain["ratio"] < 1
    displaced = bool(themed_up and plain_down)
    moved_not_grew = bool(displaced and not (overall_clear and up))
    if displaced and evidence == "strong":
        evidence = "moderate"
    slope_dir = None
    if _excludes_1(its_slope):
        slope_dir = "higher" if its_slope["rate_ratio"] > 1 else "lower"
    m = mdrr.get("level_change", np.nan)
    power_run = "level_change" in mdrr

    def text(lang):
        parts = []
        # (a) the overall change -------------------------------------------------
        when = ""
        if start is not None:
            when = tr(f" (le {pd.Timestamp(start):%d/%m/%Y})", f" ({pd.Timestamp(start):%Y-%m-%d})",
                      lang)
        if use_overall:
            d, dlo, dhi = overall["difference"], overall["difference_low"], \
                overall["difference_high"]
            more = d >= 0
            parts.append(tr(
                f"Depuis le début de la thématisation{when}, l'ensemble des "
                f"{overall['n']} permanences a accueilli {_int(overall['observed'], lang)} "
                f"passages, contre environ {_int(overall['expected'], lang)} si la tendance et "
                f"la saison d'avant s'étaient prolongées : environ {_int(abs(d), lang)} passages "
                f"{'de plus' if more else 'de moins'} que prévu (IC 95 % de "
                f"{_int(dlo, lang, True)} à {_int(dhi, lang, True)}), soit "
                f"×{_num(rr, lang, 2)} ({_ci(lo, hi, lang)}).",
                f"Since theming started{when}, the {overall['n']} sessions drew "
                f"{_int(overall['observed'], lang)} visits, against about "
                f"{_int(overall['expected'], lang)} had the earlier trend and season gone on: "
                f"about {_int(abs(d), lang)} visits {'more' if more else 'fewer'} than expected "
                f"(95% CI {_int(dlo, lang, True)} to {_int(dhi, lang, True)}), i.e. "
                f"×{_num(rr, lang, 2)} ({_ci(lo, hi, lang)}).", lang))
        elif np.isfinite(rr):
            parts.append(tr(
                f"Après le début de la thématisation{when}, la fréquentation a été "
                f"{_num(rr, lang, 2)} fois celle que prolongeait la tendance antérieure "
                f"({_ci(lo, hi, lang)}).",
                f"After theming started{when}, attendance was {_num(rr, lang, 2)} times what "
                f"the earlier trend predicted ({_ci(lo, hi, lang)}).", lang))
        if not use_overall:
            parts.append(tr(
                "Le nombre de passages de plus ou de moins que prévu depuis le début n'est pas "
                "estimable sur ces données (série trop courte pour prolonger la tendance).",
                "The number of visits more or fewer than expected since the start cannot be "
                "estimated from these data (series too short to extend the trend).", lang))
        if not use_overall and not np.isfinite(rr):
            parts.append(tr(
                "L'évolution de la fréquentation depuis le début de la thématisation n'est pas "
                "estimable sur ces données.",
                "The change in attendance since theming started cannot be estimated from "
                "these data.", lang))
        if evidence == "inconclusive" and np.isfinite(rr):
            parts.append(tr(
                "Les données ne permettent pas de dire si la fréquentation de la permanence a "
                "changé depuis le début de la thématisation : cet intervalle inclut l'absence "
                "de changement.",
                "The data cannot tell whether the drop-in's attendance changed after theming "
                "started: that interval includes no change at all.", lang))
        if evidence == "inconclusive":
            if not power_run:
                pass
            elif np.isfinite(m):
                parts.append(tr(
                    f"Avec ces données, seule une hausse d'environ ×{_num(m, lang, 1)} ou plus "
                    "aurait été détectée avec une puissance de 80 % : un effet plus petit peut "
                    "exister sans être visible.",
                    f"With these data, only a rise of about ×{_num(m, lang, 1)} or more would "
                    "have been detected with 80% power: a smaller effect may exist unseen.",
                    lang))
            else:
                parts.append(tr(
                    "Avec ces données, même une hausse très forte n'aurait pas été détectée de "
                    "façon fiable : il faut plus de permanences avant de conclure.",
                    "With these data even a very large rise would not have been reliably "
                    "detected: more sessions are needed before concluding.", lang))
        else:
            direction = tr("plus forte" if up else "plus faible", "higher" if up else "lower",
                           lang)
            parts.append(tr(
                f"Le début de la thématisation est associé à une fréquentation {direction} que "
                f"ne le prévoyait la tendance antérieure (niveau de preuve : "
                f"{EVIDENCE_LABELS[evidence][0]}).",
                f"The start of theming is associated with {direction} attendance than the "
                f"earlier trend predicted (strength of evidence: {EVIDENCE_LABELS[evidence][1]}).",
                lang))
            checks_fr, checks_en = [], []
            if placebo_passed:
                checks_fr.append("l'écart se démarque nettement de la même comparaison faite à "
                                 "des dates de début fictives (test placebo passé)")
                checks_en.append("the difference stands out from the same comparison at fake "
                                 "start dates (placebo test passed)")
            elif placebo_run:
                checks_fr.append(f"{pl['n_as_extreme']} date(s) de début fictive(s) sur "
                                 f"{pl['n']} donnent un écart au moins aussi net (test placebo "
                                 "non passé)")
                checks_en.append(f"{pl['n_as_extreme']} of {pl['n']} fake start dates give a "
                                 "change at least as clear (placebo test not passed)")
            else:
                checks_fr.append("le test placebo n'a pas pu être fait (période antérieure "
                                 "trop courte)")
                checks_en.append("the placebo test could not be run (pre-period too short)")
            if len(sens):
                if sensitivity_passed:
                    checks_fr.append("le résultat tient quand on tient compte des événements de "
                                     "contexte")
                    checks_en.append("the result holds when context events are accounted for")
                else:
                    checks_fr.append("le résultat ne tient pas une fois les événements de "
                                     "contexte pris en compte")
                    checks_en.append("the result does not hold once context events are "
                                     "accounted for")
            parts.append(_sentence(tr(" ; ".join(checks_fr), "; ".join(checks_en), lang)))
        # level and slope -------------------------------------------------------
        if use_overall and plausible(its_level.get("rate_ratio"), its_level.get("ci_low"),
                                     its_level.get("ci_high")):
            L = its_level["rate_ratio"]
            ci = _ci(its_level["ci_low"], its_level["ci_high"], lang)
            if _excludes_1(its_level):
                parts.append(tr(
                    f"Au début, la fréquentation a fait un saut : ×{_num(L, lang, 2)} ({ci}), "
                    f"{_pct_change(L, lang)} par rapport à la tendance.",
                    f"At the start attendance jumped: ×{_num(L, lang, 2)} ({ci}), "
                    f"{_pct_change(L, lang)} against the trend.", lang))
            else:
                parts.append(tr(f"Pas de saut net au début (×{_num(L, lang, 2)}, {ci}).",
                                f"No clear jump at the start (×{_num(L, lang, 2)}, {ci}).",
                                lang))
        if plausible(its_slope.get("rate_ratio"), its_slope.get("ci_low"),
                     its_slope.get("ci_high")):
            S = its_slope["rate_ratio"]
            ci = _ci(its_slope["ci_low"], its_slope["ci_high"], lang)
            if slope_dir is not None:
                T = (trend or {}).get("rate_ratio", np.nan)
                how = ""
                if np.isfinite(T):
                    how = tr(f" : elle est passée d'{_pct_change(T, lang)} par an avant le "
                             f"début à {_pct_change(T * S, lang)} par an depuis",
                             f": from {_pct_change(T, lang)} a year before the start to "
                             f"{_pct_change(T * S, lang)} a year since", lang)
                word = tr("moins favorable" if S < 1 else "plus favorable",
                          "less favourable" if S < 1 else "more favourable", lang)
                parts.append(tr(
                    f"Depuis le début, la tendance est {word} : la pente a été multipliée par "
                    f"{_num(S, lang, 2)} par an ({ci}){how}.",
                    f"Since the start the trend is {word}: the slope changed by "
                    f"×{_num(S, lang, 2)} a year ({ci}){how}.", lang))
            else:
                parts.append(tr(
                    f"La pente n'a pas changé nettement (×{_num(S, lang, 2)} par an, {ci}).",
                    f"The slope did not change clearly (×{_num(S, lang, 2)} a year, {ci}).",
                    lang))
        elif its_slope:
            parts.append(tr("Le changement de pente n'est pas estimable sur ces données.",
                            "The slope change cannot be estimated from these data.", lang))
        # (b) themed vs plain ---------------------------------------------------
        if plausible(themed.get("rate_ratio"), themed.get("ci_low"), themed.get("ci_high")):
            T = themed["rate_ratio"]
            parts.append(tr(
                f"Les permanences thématisées ont accueilli en moyenne {_num(T, lang, 2)} fois "
                f"autant de passages que les permanences non thématisées de la même période "
                f"({_ci(themed['ci_low'], themed['ci_high'], lang)}), à tendance et saison "
                f"égales{'' if _excludes_1(themed) else ' (pas d’écart net)'}.",
                f"Themed sessions drew on average {_num(T, lang, 2)} times as many visits as "
                f"plain sessions of the same period "
                f"({_ci(themed['ci_low'], themed['ci_high'], lang)}), adjusted for trend and "
                f"season{'' if _excludes_1(themed) else ' (no clear gap)'}.", lang))
            if themed_up and not displaced and not (overall_clear and up):
                parts.append(tr(
                    "Cet écart ne montre pas à lui seul que la permanence attire plus de monde : "
                    "il peut venir de personnes qui choisissent les semaines à thème, ou des "
                    "dates choisies pour les thèmes.",
                    "That gap alone does not show that the drop-in draws more people: it can "
                    "come from people choosing themed weeks, or from when themes were "
                    "scheduled.", lang))
        elif themed.get("note_fr"):
            parts.append(_sentence(tr(
                f"Comparaison thématisées / non thématisées non faite : {themed['note_fr']}",
                f"Themed / plain comparison not made: {themed.get('note_en', '')}", lang)))
        # (c) displacement ------------------------------------------------------
        if plausible(plain.get("ratio"), plain.get("ci_low"), plain.get("ci_high")):
            P = plain["ratio"]
            ci = _ci(plain["ci_low"], plain["ci_high"], lang)
            if plain_down:
                parts.append(tr(
                    f"Les permanences non thématisées ont, depuis le début, accueilli moins que "
                    f"ne le prévoyait la tendance antérieure (×{_num(P, lang, 2)}, {ci}).",
                    f"Plain sessions since the start drew fewer visits than the earlier trend "
                    f"predicted (×{_num(P, lang, 2)}, {ci}).", lang))
            elif _excludes_1(plain):
                parts.append(tr(
                    f"Les permanences non thématisées ont, depuis le début, accueilli plus que "
                    f"ne le prévoyait la tendance antérieure (×{_num(P, lang, 2)}, {ci}).",
                    f"Plain sessions since the start drew more visits than the earlier trend "
                    f"predicted (×{_num(P, lang, 2)}, {ci}).", lang))
            else:
                parts.append(tr(
                    f"Rien ne montre que les permanences non thématisées se soient écartées de "
                    f"la tendance antérieure (×{_num(P, lang, 2)}, {ci}).",
                    f"Nothing shows plain sessions departing from the earlier trend "
                    f"(×{_num(P, lang, 2)}, {ci}).", lang))
            if moved_not_grew:
                parts.append(tr(
                    "La fréquentation s'est donc déplacée vers les permanences thématisées "
                    "plutôt qu'elle n'a augmenté.",
                    "Attendance therefore moved to themed sessions rather than grew.", lang))
            elif displaced:
                parts.append(tr(
                    "Une partie du gain des permanences thématisées vient donc des permanences "
                    "non thématisées.",
                    "Part of what themed sessions gained therefore came from plain sessions.",
                    lang))
        if plausible(first_time.get("rate_ratio"), first_time.get("ci_low"),
                     first_time.get("ci_high")):
            parts.append(tr(
                f"Premières venues, thématisées / non thématisées : "
                f"×{_num(first_time['rate_ratio'], lang, 2)} "
                f"({_ci(first_time['ci_low'], first_time['ci_high'], lang)}).",
                f"First-time visitors, themed / plain: ×{_num(first_time['rate_ratio'], lang, 2)} "
                f"({_ci(first_time['ci_low'], first_time['ci_high'], lang)}).", lang))
        if naive_ratio is not None and np.isfinite(naive_ratio):
            parts.append(tr(
                f"La simple comparaison avant/après (×{_num(naive_ratio, lang, 2)}) ne tient "
                "compte ni de la tendance déjà en cours ni des saisons.",
                f"The naive before/after comparison (×{_num(naive_ratio, lang, 2)}) ignores the "
                "trend already under way and the seasons.", lang))
        parts.append(tr("Il s'agit d'une association, pas de la preuve d'une cause.",
                        "This is an association, not proof of a cause.", lang))
        return " ".join(p for p in parts if p)

    checks = {"primary": target, "rate_ratio": rr, "ci_low": lo, "ci_high": hi,
              "ci_excludes_1": evidence != "inconclusive",
              "direction": (("higher" if up else "lower") if evidence != "inconclusive"
                            else None),
              "displacement": displaced, "moved_not_grew": moved_not_grew,
              "slope_change": slope_dir, "placebo_run": placebo_run,
              "placebo_passed": placebo_passed, "sensitivity_runs": int(len(sens)),
              "sensitivity_passed": sensitivity_passed, "minimal_detectable_rate_ratio": m,
              "estimable": bool(np.isfinite(rr))}
    return Verdict(evidence, text("fr"), text("en"), checks)


# ---------------------------------------------------------------------------
# The whole analysis
# ---------------------------------------------------------------------------
_EFFECT_COLS = ["term", "estimate", "se", "rate_ratio", "ci_low", "ci_high", "p_value", "family",
                "n", "inference", "status", "note_fr", "note_en"]
_TVP_COLS = ["outcome", "rate_ratio", "ci_low", "ci_high", "p_value", "n_themed", "n_plain",
             "family", "dispersion", "z", "status", "note_fr", "note_en"]
_SENS_COLS = ["run", "label_fr", "label_en", "term", "rate_ratio", "ci_low", "ci_high", "p_value"]
_PLACEBO_COLS = ["fake_start", "term", "rate_ratio", "ci_low", "ci_high", "p_value", "z"]
_POWER_COLS = ["target", "rate_ratio", "power", "n"]
_PARTS = {
    "its": ("série chronologique interrompue", "interrupted time series"),
    "overall": ("différence cumulée depuis le début", "cumulative difference since the start"),
    "themed_vs_plain": ("comparaison thématisées / non thématisées", "themed / plain comparison"),
    "displacement": ("permanences non thématisées face à la tendance",
                     "plain sessions against the trend"),
    "sensitivity": ("sensibilité aux événements de contexte", "sensitivity to context events"),
    "placebo": ("tests placebo", "placebo tests"),
    "power": ("puissance", "power"),
}


@dataclass
class ThemingResult:
    """Everything :func:`theming_analysis` found; tidy tables plus the verdict.

    Attributes
    ----------
    start : pandas.Timestamp or None
        None when there is no start date (then ``estimable`` is False).
    series : pandas.DataFrame
        :func:`session_series` output.
    effects : pandas.DataFrame
        ITS effects (``qsp_eval.its.its_effects`` columns) plus ``status``
        ("estimated" / "not_estimable"), ``note_fr``, ``note_en``; numbers of
        a not-estimable row are NaN (:func:`plausible`).
    fitted, counterfactual : pandas.DataFrame
        ``its_fitted`` / ``its_counterfactual`` of the ITS (counterfactual
        empty when the overall change is not estimable).
    diagnostics : dict
        ``its_diagnostics`` of the ITS plus ``autocorrelation`` (Ljung–Box
        p < 0.05), ``hac_rule``, ``inference``, ``inference_df``.
    themed_vs_plain : pandas.DataFrame
        One row per outcome (``visits``, ``first_time_visitors``), with
        ``status``, ``note_fr``, ``note_en``.
    naive : pandas.DataFrame
        :func:`naive_before_after` output.
    sensitivity : pandas.DataFrame
        ``run`` (event date), ``label_fr``, ``label_en``, ``term``
        (``cumulative``, ``level_change`` or ``themed_after``), ``rate_ratio``,
        ``ci_low``, ``ci_high``, ``p_value``.
    placebo, placebo_summary : pandas.DataFrame, dict
    power, power_summary : pandas.DataFrame, dict
    minimal_detectable_rate_ratio : float
    events : list of qsp_eval.schema.Event
    verdict : Verdict
    overall : dict
        (a) :func:`qsp_eval.its.its_cumulative` of all sessions after the
        start, plus ``status``.
    displacement : dict
        (c) ``plain`` and ``themed``: the same for plain / themed sessions
        after the start in the themed-vs-plain model (counterfactual: no
        level, slope or themed term), each with ``status``.
    notes : dict
        part -> (fr, en) reason, for every part that could not be estimated
        (parts: ``its``, ``overall``, ``themed_vs_plain``, ``displacement``,
        ``sensitivity``, ``placebo``, ``power``).
    estimable : bool
        False when the analysis could not be made at all (no start date,
        too few sessions before or after, failed fit): :meth:`reason` says why.
    """

    start: pd.Timestamp | None
    series: pd.DataFrame
    effects: pd.DataFrame
    fitted: pd.DataFrame
    counterfactual: pd.DataFrame
    diagnostics: dict
    themed_vs_plain: pd.DataFrame
    naive: pd.DataFrame
    sensitivity: pd.DataFrame
    placebo: pd.DataFrame
    placebo_summary: dict
    power: pd.DataFrame
    power_summary: dict
    minimal_detectable_rate_ratio: float
    events: list
    verdict: Verdict
    change_label_fr: str = "Thématisation"
    change_label_en: str = "Theming"
    overall: dict = field(default_factory=dict)
    displacement: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    estimable: bool = True

    def reason(self, lang: str = "fr") -> str:
        """Why the analysis could not be made (one sentence), or "" when it was."""
        if self.estimable:
            return ""
        return _reason_text(self.notes.get("analysis"), lang)

    def method(self, lang: str = "fr") -> str:
        """The method line: family, α or dispersion, inference, residual checks."""
        d = self.diagnostics or {}
        if not self.estimable or not d.get("family"):
            return ""
        fam = d["family"]
        disp = d.get("dispersion")
        if fam == "negbin":
            fam_txt = tr(f"binomiale négative (α = {_num(d.get('alpha') or 0, 'fr', 3)}, "
                         f"estimé par maximum de vraisemblance ; dispersion de Pearson du modèle "
                         f"de Poisson {_num(disp, 'fr', 2)})",
                         f"negative binomial (α = {_num(d.get('alpha') or 0, 'en', 3)}, maximum "
                         f"likelihood; Pearson dispersion of the Poisson fit "
                         f"{_num(disp, 'en', 2)})", lang)
        elif fam == "quasipoisson":
            fam_txt = tr(f"quasi-Poisson (dispersion {_num(disp, 'fr', 2)})",
                         f"quasi-Poisson (dispersion {_num(disp, 'en', 2)})", lang)
        else:
            fam_txt = tr(f"Poisson (dispersion de Pearson {_num(disp, 'fr', 2)} ≤ 1)",
                         f"Poisson (Pearson dispersion {_num(disp, 'en', 2)} ≤ 1)", lang)
        inf = tr(d.get("inference_text_fr", ""), d.get("inference_text_en", ""), lang)
        lb = tr(f"résidus : test de Ljung–Box à {d.get('ljung_box_lags')} retards "
                f"p = {_num(d.get('ljung_box_p'), 'fr', 3)}, autocorrélation d'ordre 1 "
                f"{_num(d.get('acf1'), 'fr', 2)}",
                f"residuals: Ljung–Box test at {d.get('ljung_box_lags')} lags "
                f"p = {_num(d.get('ljung_box_p'), 'en', 3)}, lag-1 autocorrelation "
                f"{_num(d.get('acf1'), 'en', 2)}", lang)
        if d.get("autocorrelation"):
            lb += tr(" : autocorrélation détectée, d'où les erreurs de Newey–West (nombre de "
                     "retards : ⌊4·(n/100)^(2/9)⌋)",
                     ": autocorrelation detected, hence the Newey–West errors (number of lags: "
                     "⌊4·(n/100)^(2/9)⌋)", lang)
        else:
            lb += tr(" : pas d'autocorrélation détectée", ": no autocorrelation detected", lang)
        h = d.get("harmonics", 1)
        season = tr(f"saison ({h} paire(s) sinus/cosinus du jour de l'année)",
                    f"season ({h} sine/cosine pair(s) of the day of the year)", lang) if h else \
            tr("sans saison (moins d'un an de données)", "no season (less than a year of data)",
               lang)
        return tr(
            f"Méthode : {d.get('n')} permanences ; modèle de comptage {fam_txt}, lien log, "
            f"tendance, saut et changement de pente au début, {season} ; {inf} ; {lb}. "
            "Différence cumulée : passages observés moins prédits sans changement, intervalle "
            "par la méthode delta (incertitude des coefficients et variation des comptages).",
            f"Method: {d.get('n')} sessions; count model {fam_txt}, log link, trend, level and "
            f"slope change at the start, {season}; {inf}; {lb}. Cumulative difference: observed "
            "minus predicted-without-change visits, interval by the delta method (coefficient "
            "uncertainty and count variation).", lang)

    def notes_text(self, lang: str = "fr") -> str:
        """What could not be estimated, one bullet per part (Markdown), or ""."""
        if not self.estimable:
            return self.reason(lang)
        items = []
        for part, why in self.notes.items():
            if part == "analysis" or part not in _PARTS:
                continue
            name = _PARTS[part][0 if lang == "fr" else 1]
            items.append(f"- {_sentence(name + ' : ' + _reason_text(why, lang).rstrip('.'))}"
                         if lang == "fr" else
                         f"- {_sentence(name + ': ' + _reason_text(why, lang).rstrip('.'))}")
        return "\n".join(items)

    def to_dict(self, lang: str = "fr") -> dict:
        """JSON-ready summary (no row-level data: only estimates and counts of sessions).

        Numbers that are not estimable are ``null`` with the reason next to them.
        """
        def f(x):
            if x is None:
                return None
            try:
                x = float(x)
            except (TypeError, ValueError):
                return x
            return x if np.isfinite(x) else None

        def note(r):
            return r.get(f"note_{lang}") or None

        def eff_list(df):
            return [{"term": r["term"], "rate_ratio": f(r["rate_ratio"]),
                     "ci_low": f(r["ci_low"]), "ci_high": f(r["ci_high"]),
                     "p_value": f(r["p_value"]), "status": r.get("status", "estimated"),
                     "note": note(r)} for _, r in df.iterrows()]

        def cum(c):
            if not c:
                return None
            keys = ("n", "observed", "expected", "ratio", "ci_low", "ci_high", "difference",
                    "difference_low", "difference_high")
            out = {k: f(c.get(k)) for k in keys}
            out["status"] = c.get("status", "not_estimable")
            if out["status"] != "estimated":
                out.update({k: None for k in keys[3:]})
            return out

        notes = {k: _reason_text(v, lang) for k, v in self.notes.items()}
        ev = {"text": self.verdict.text(lang), "evidence": self.verdict.evidence,
              "text_fr": self.verdict.text_fr, "text_en": self.verdict.text_en,
              "direction": self.verdict.checks.get("direction"),
              "displacement": self.verdict.checks.get("displacement"),
              "moved_not_grew": self.verdict.checks.get("moved_not_grew"),
              "slope_change": self.verdict.checks.get("slope_change")}
        d = self.diagnostics or {}
        method = {"family": d.get("family"), "alpha": f(d.get("alpha")),
                  "dispersion": f(d.get("dispersion")), "inference": d.get("inference"),
                  "inference_df": f(d.get("inference_df")), "hac_lags": d.get("hac_lags"),
                  "hac_rule": d.get("hac_rule"), "ljung_box_lags": d.get("ljung_box_lags"),
                  "ljung_box_stat": f(d.get("ljung_box_stat")),
                  "ljung_box_p": f(d.get("ljung_box_p")), "acf1": f(d.get("acf1")),
                  "autocorrelation": d.get("autocorrelation"), "text": self.method(lang)}
        base = {"start": None if self.start is None else f"{self.start:%Y-%m-%d}",
                "estimable": bool(self.estimable), "reason": self.reason(lang) or None,
                "notes": notes, "method": method, "verdict": ev}
        tvp = {}
        for _, r in self.themed_vs_plain.iterrows():
            tvp[r["outcome"]] = {k: f(r[k]) for k in ("rate_ratio", "ci_low", "ci_high",
                                                      "p_value")}
            tvp[r["outcome"]].update({"n_themed": int(r["n_themed"]),
                                      "n_plain": int(r["n_plain"]),
                                      "status": r.get("status", "estimated"),
                                      "note": note(r)})
        its = {"family": d.get("family"), "n": d.get("n", int(len(self.series))),
               "alpha": f(d.get("alpha")), "dispersion": f(d.get("dispersion")),
               "inference": d.get("inference"), "effects": eff_list(self.effects)}
        ps = self.placebo_summary or {}
        primary = self.verdict.checks.get("primary") or "cumulative"
        pp = ps.get(primary, {})
        nv = self.naive.set_index("period") if len(self.naive) else None

        def nvv(row, col):
            return f(nv.loc[row, col]) if nv is not None and row in nv.index else None

        base.update({
            "its": its,
            "overall": cum(self.overall),
            "themed_vs_plain": tvp,
            "displacement": {k: cum(v) for k, v in (self.displacement or {}).items()},
            "naive": {
                "mean_before": nvv("before", "estimate"),
                "mean_before_ci_low": nvv("before", "ci_low"),
                "mean_before_ci_high": nvv("before", "ci_high"),
                "mean_after": nvv("after", "estimate"),
                "mean_after_ci_low": nvv("after", "ci_low"),
                "mean_after_ci_high": nvv("after", "ci_high"),
                "n_before": int(nvv("before", "n") or 0), "n_after": int(nvv("after", "n") or 0),
                "ratio": nvv("ratio", "estimate"),
                "ratio_ci_low": nvv("ratio", "ci_low"),
                "ratio_ci_high": nvv("ratio", "ci_high"),
                "explanation": tr(
                    "La comparaison naïve attribue au changement la tendance déjà en cours avant "
                    "lui et les différences de saison ; l'estimation ajustée les retire.",
                    "The naive comparison credits the change with the trend already under way "
                    "before it and with season differences; the adjusted estimate removes them.",
                    lang),
            },
            "sensitivity": [{"run": r["run"], "term": r["term"],
                             "rate_ratio": f(r["rate_ratio"]), "ci_low": f(r["ci_low"]),
                             "ci_high": f(r["ci_high"]), "p_value": f(r["p_value"])}
                            for _, r in self.sensitivity.iterrows()],
            "placebo": {
                "term": primary,
                "n": pp.get("n", 0), "real_rate_ratio": f(pp.get("real_rate_ratio")),
                "rank": pp.get("rank"), "p_placebo": f(pp.get("p_placebo")),
                "estimates": [{"fake_start": f"{r['fake_start']:%Y-%m-%d}", "term": r["term"],
                               "rate_ratio": f(r["rate_ratio"]), "ci_low": f(r["ci_low"]),
                               "ci_high": f(r["ci_high"]), "p_value": f(r["p_value"])}
                              for _, r in self.placebo.iterrows()],
                "by_term": {t: {k: f(v) if k != "rank" else v for k, v in dd.items()}
                            for t, dd in ps.items()},
            },
            "minimal_detectable_rate_ratio": f(self.minimal_detectable_rate_ratio),
            "power": {"n_sim": (self.power_summary or {}).get("n_sim", 0),
                      "mdrr": {k: f(v) for k, v in
                               (self.power_summary or {}).get("mdrr", {}).items()},
                      "dispersion": f((self.power_summary or {}).get("dispersion"))},
        })
        return base


def _empty_naive() -> pd.DataFrame:
    return pd.DataFrame(columns=["period", "n", "count", "estimate", "ci_low", "ci_high", "unit"])


def _not_estimable(dataset, t0, series, reason) -> ThemingResult:
    """A ThemingResult that says, in one sentence, why nothing could be estimated."""
    change = getattr(dataset.config, "change", None)
    series = series if series is not None else pd.DataFrame(
        columns=["session_id", "date", "visits", "first_time_visitors", "themed", "after",
                 "themed_after"])
    rows = []
    for term in ("level_change", "slope_change"):
        rows.append({"term": term, "status": "not_estimable", "note_fr": reason[0],
                     "note_en": reason[1]})
    effects = pd.DataFrame(rows, columns=_EFFECT_COLS)
    post = series.loc[series["after"].astype(bool)] if len(series) else series
    tvp = pd.DataFrame([{"outcome": o, "n_themed": int(post["themed"].astype(bool).sum())
                         if len(post) else 0,
                         "n_plain": int((~post["themed"].astype(bool)).sum()) if len(post) else 0,
                         "status": "not_estimable", "note_fr": reason[0], "note_en": reason[1]}
                        for o in ("visits", "first_time_visitors")], columns=_TVP_COLS)
    naive = naive_before_after(series) if len(series) and series["after"].any() \
        and (~series["after"].astype(bool)).any() else _empty_naive()
    verdict = Verdict("not_estimable", reason[0], reason[1],
                      {"primary": None, "estimable": False, "direction": None,
                       "displacement": False, "moved_not_grew": False, "slope_change": None})
    return ThemingResult(
        start=t0, series=series, effects=effects, fitted=pd.DataFrame(),
        counterfactual=pd.DataFrame(), diagnostics={}, themed_vs_plain=tvp, naive=naive,
        sensitivity=pd.DataFrame(columns=_SENS_COLS), placebo=pd.DataFrame(columns=_PLACEBO_COLS),
        placebo_summary={}, power=pd.DataFrame(columns=_POWER_COLS),
        power_summary={"mdrr": {}, "dispersion": float("nan"), "n_sim": 0},
        minimal_detectable_rate_ratio=float("nan"),
        events=list(getattr(dataset.config, "events", ()) or ()), verdict=verdict,
        change_label_fr=change.label_fr if change else "Thématisation",
        change_label_en=change.label_en if change else "Theming",
        notes={"analysis": reason}, estimable=False)


def _with_status(c: dict) -> dict:
    c = dict(c)
    c["status"] = "estimated" if plausible(c.get("ratio"), c.get("ci_low"), c.get("ci_high")) \
        else "not_estimable"
    return c


def theming_analysis(dataset, *, start=None, harmonics: int = 1, n_placebo: int = 20,
                     n_sim: int = 200, seed: int = 0, power: bool = True) -> ThemingResult:
    """Answer "did theming raise attendance?" for a data source.

    The answer comes in the order of the question (see :func:`make_verdict`):
    (a) the overall change against the earlier trend and season (level,
    slope, cumulative difference in visits since the start), (b) themed vs
    plain sessions of the same period, (c) plain sessions against the
    earlier trend (displacement).  The ITS residuals are tested (Ljung–Box,
    lag-1 autocorrelation); when Ljung–Box p < 0.05 every model is refitted
    with Newey–West errors, lag ⌊4·(n/100)^(2/9)⌋ (:func:`qsp_eval.its.newey_west_lags`).

    Never raises on a validated dataset except :class:`ParameterError` for
    an unreadable ``start``: without a start date, with too few sessions
    before or after it (fewer than ``MIN_SESSIONS``), or when the ITS cannot
    be fitted, the result has ``estimable = False`` and :meth:`ThemingResult.reason`
    says why in one sentence; a part that cannot be estimated (themed vs
    plain when every session is themed, an implausible interval, the power
    simulation or the placebo tests on a degenerate series) is marked
    ``not_estimable`` with its reason in ``notes`` and its numbers blank.

    Parameters
    ----------
    dataset : Dataset
        Validated data (held sessions with a visit count are used).
    start : date-like, optional
        Start of theming; default ``dataset.config.change.start``.
    harmonics : int
        Sine/cosine pairs of the day of the year (period 365.25).
    n_placebo : int
        Number of fake start dates.
    n_sim : int
        Simulations per rate ratio of the power grid.
    seed : int
        Seed of the power simulation (results are reproducible).
    power : bool
        Skip the power simulation when False (MDRR NaN).

    Returns
    -------
    ThemingResult
        See the module docstring for the models.

    Raises
    ------
    ParameterError
        Unreadable start date.

    Examples
    --------
    >>> # res = theming_analysis(qsp_eval.io.load_source("data/example"))
    >>> # print(res.verdict.text("en"))
    """
    from .its import inference_method, its_diagnostics, newey_west_lags

    t0 = _resolve_start(dataset, start)
    if t0 is None:
        return _not_estimable(dataset, None, None, NO_START)
    series = session_series(dataset, start=t0)
    why = _sample_reason(series, t0)
    if why:
        return _not_estimable(dataset, t0, series, why)
    span = (series["date"].max() - series["date"].min()).days
    if span < 365:  # a season cannot be told from a trend on less than a year
        harmonics = 0
    its_res, why = _safe_fit(series, "visits", t0, harmonics=harmonics)
    if its_res is None:
        return _not_estimable(dataset, t0, series, why)
    notes = {}
    diagnostics = its_diagnostics(its_res)
    lb_p = diagnostics.get("ljung_box_p")
    autocorr = bool(lb_p is not None and np.isfinite(lb_p) and lb_p < 0.05)
    hac = None
    if autocorr:
        hac = newey_west_lags(len(series))
        r2, _w = _safe_fit(series, "visits", t0, harmonics=harmonics,
                           family=its_res.its_design.family, hac_lags=hac)
        if r2 is not None:
            its_res = r2
            diagnostics = its_diagnostics(its_res)
        else:
            hac = None
    inf = inference_method(its_res)
    diagnostics.update({"autocorrelation": autocorr, "hac_lags": hac,
                        "hac_rule": "floor(4*(n/100)^(2/9))" if hac else None,
                        "harmonics": int(harmonics),
                        "inference": inf["distribution"], "inference_df": inf["df"],
                        "inference_text_fr": inf["text_fr"], "inference_text_en": inf["text_en"]})
    effects = _screen(its_effects(its_res))
    e = effects.set_index("term")
    lvl, slope = _row(effects, "level_change"), _row(effects, "slope_change")
    trend = _row(effects, "trend")
    if e.loc["level_change", "status"] != "estimated":
        notes["its"] = (f"saut de niveau {IMPLAUSIBLE[0]}", f"level change {IMPLAUSIBLE[1]}")
    if "slope_change" in e.index and e.loc["slope_change", "status"] != "estimated":
        notes["its"] = (f"changement de pente {IMPLAUSIBLE[0]}",
                        f"slope change {IMPLAUSIBLE[1]}")
    overall = _with_status(its_cumulative(its_res))
    if "its" in notes or overall["status"] != "estimated":
        overall["status"] = "not_estimable"
        notes["overall"] = notes.get("its", IMPLAUSIBLE)
    fitted = its_fitted(its_res)
    counterfactual = its_counterfactual(its_res)
    if overall["status"] != "estimated" or not np.all(np.isfinite(counterfactual[
            ["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float))) or (
            counterfactual["ci_high"].max() > RR_BOUNDS[1] * max(series["visits"].max(), 1)):
        counterfactual = counterfactual.iloc[0:0]
    tv_v, tv_res = _themed_fit(series, t0, outcome="visits", harmonics=harmonics, hac_lags=hac)
    tv_f, _ = _themed_fit(series, t0, outcome="first_time_visitors", harmonics=harmonics,
                          hac_lags=hac)
    tvp = pd.DataFrame([tv_v, tv_f], columns=_TVP_COLS)
    if tv_v["status"] != "estimated":
        notes["themed_vs_plain"] = (tv_v["note_fr"], tv_v["note_en"])
    displacement = {}
    if tv_res is not None:
        is_themed = tv_res.its_design.frame["themed_after"].to_numpy() == 1
        zero = ("level_change", "slope_change", "themed_after")
        displacement = {
            "plain": _with_status(its_cumulative(tv_res, rows=~is_themed, zero_terms=zero)),
            "themed": _with_status(its_cumulative(tv_res, rows=is_themed, zero_terms=zero)),
        }
        if overall["status"] != "estimated":
            for v in displacement.values():
                v["status"] = "not_estimable"
        if displacement["plain"]["status"] != "estimated":
            notes["displacement"] = notes.get("overall", IMPLAUSIBLE)
    # sensitivity: one run per context event (step term)
    events = _events(dataset, series)
    sens_rows = []
    for k, ev in enumerate(events):
        col = f"event_{k + 1}"
        s2 = series.copy()
        s2[col] = (s2["date"] >= pd.Timestamp(ev.date)).astype(float)
        base = {"run": f"{pd.Timestamp(ev.date):%Y-%m-%d}", "label_fr": ev.label_fr,
                "label_en": ev.label_en}
        r, _w = _safe_fit(s2, "visits", t0, harmonics=harmonics, covariates=(col,),
                          hac_lags=hac)
        if r is not None:
            c = its_cumulative(r)
            sens_rows.append({**base, "term": "cumulative", "rate_ratio": c["ratio"],
                              "ci_low": c["ci_low"], "ci_high": c["ci_high"],
                              "p_value": np.nan})
            sens_rows.append({**base, "term": "level_change",
                              **_row(_screen(its_effects(r)), "level_change")})
        tv = themed_vs_plain(s2, t0, outcome="visits", harmonics=harmonics, covariates=(col,),
                             hac_lags=hac)
        sens_rows.append({**base, "term": "themed_after",
                          **{k2: tv[k2] for k2 in ("rate_ratio", "ci_low", "ci_high",
                                                    "p_value")}})
    sensitivity = pd.DataFrame(sens_rows, columns=_SENS_COLS)
    ok = [plausible(a, b, c) for a, b, c in zip(sensitivity["rate_ratio"],
                                                 sensitivity["ci_low"], sensitivity["ci_high"])]
    if events and not any(ok):
        notes["sensitivity"] = IMPLAUSIBLE
    sensitivity = sensitivity.loc[np.asarray(ok, dtype=bool)].reset_index(drop=True)
    naive = naive_before_after(series)
    real = {}
    if overall["status"] == "estimated":
        real["cumulative"] = {"rate_ratio": overall["ratio"], "z": overall["z"]}
    if e.loc["level_change", "status"] == "estimated":
        real["level_change"] = {"rate_ratio": lvl["rate_ratio"],
                                "z": float(e.loc["level_change", "estimate"]
                                           / e.loc["level_change", "se"])}
    if tv_v["status"] == "estimated":
        real["themed_after"] = {"rate_ratio": float(tv_v["rate_ratio"]), "z": float(tv_v["z"])}
    try:
        placebo, placebo_summary = placebo_tests(series, t0, real=real, n_placebo=n_placebo,
                                                 harmonics=harmonics, hac_lags=hac)
    except Exception:  # noqa: BLE001 - a placebo failure must not stop the answer
        placebo, placebo_summary = pd.DataFrame(columns=_PLACEBO_COLS), {}
        notes["placebo"] = ("non estimable sur ces données", "not estimable on these data")
    if n_placebo > 0 and not len(placebo) and "placebo" not in notes:
        notes["placebo"] = (
            f"pas fait : il faut au moins {2 * MIN_SESSIONS} permanences avant le début, dont "
            f"{MIN_SESSIONS} au moins 90 jours avant lui",
            f"not run: at least {2 * MIN_SESSIONS} sessions before the start are needed, "
            f"{MIN_SESSIONS} of them at least 90 days before it")
    power_table = pd.DataFrame(columns=_POWER_COLS)
    power_summary = {"mdrr": {}, "dispersion": float("nan"), "n_sim": 0}
    if power and n_sim > 0:
        try:
            with np.errstate(all="ignore"):
                power_table, power_summary = power_analysis(series, t0, harmonics=harmonics,
                                                            n_sim=n_sim, seed=seed)
        except Exception:  # noqa: BLE001 - a degenerate pre-period: say so, never crash
            notes["power"] = ("non estimable : le modèle de la période antérieure ne peut pas "
                              "être ajusté sur si peu de permanences",
                              "not estimable: the pre-period model cannot be fitted on so few "
                              "sessions")
    target = "themed" if tv_v["status"] == "estimated" else "level_change"
    mdrr = power_summary["mdrr"].get(target, float("nan"))
    nv = naive.set_index("period")
    verdict = make_verdict(its_level=lvl, themed=tv_v, first_time=tv_f,
                           placebo=placebo_summary, sensitivity=sensitivity,
                           mdrr=power_summary["mdrr"],
                           naive_ratio=float(nv.loc["ratio", "estimate"]),
                           overall=overall, its_slope=slope, displacement=displacement,
                           trend=trend, start=t0)
    change = getattr(dataset.config, "change", None)
    return ThemingResult(
        start=t0, series=series, effects=effects, fitted=fitted, counterfactual=counterfactual,
        diagnostics=diagnostics, themed_vs_plain=tvp, naive=naive, sensitivity=sensitivity,
        placebo=placebo, placebo_summary=placebo_summary, power=power_table,
        power_summary=power_summary, minimal_detectable_rate_ratio=mdrr,
        events=list(getattr(dataset.config, "events", ()) or ()), verdict=verdict,
        change_label_fr=change.label_fr if change else "Thématisation",
        change_label_en=change.label_en if change else "Theming",
        overall=overall, displacement=displacement, notes=notes, estimable=True,
    )


# Tidy accessors --------------------------------------------------------------
def theming_effects(result: ThemingResult, lang: str = "fr") -> pd.DataFrame:
    """ITS effects table: ``term``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``,
    ``status`` ("estimated" / "not_estimable"), ``note`` (why not, in ``lang``)...

    Examples
    --------
    >>> # theming_effects(theming_analysis(ds))
    """
    return _localise(result.effects, lang)


def theming_themed_vs_plain(result: ThemingResult, lang: str = "fr") -> pd.DataFrame:
    """Themed vs plain table: ``outcome``, ``rate_ratio``, ``ci_low``, ``ci_high``,
    ``p_value``, ``n_themed``, ``n_plain``, ``family``, ``dispersion``, ``status``, ``note``.

    Examples
    --------
    >>> # theming_themed_vs_plain(theming_analysis(ds))
    """
    return _localise(result.themed_vs_plain, lang)


def theming_overall(result: ThemingResult, lang: str = "fr") -> pd.DataFrame:
    """(a) and (c) as a table: observed vs counterfactual visits since the start.

    Rows ``all`` (every session after the start, the ITS), ``plain`` and
    ``themed`` (the themed-vs-plain model) in ``group``; columns ``n``
    (sessions), ``observed``, ``expected``, ``rate_ratio`` (observed /
    expected), ``ci_low``, ``ci_high``, ``difference``, ``difference_low``,
    ``difference_high`` (visits), ``status``, ``note``.  Numbers of a
    not-estimable row are blank.

    Examples
    --------
    >>> # theming_overall(theming_analysis(ds))
    """
    cols = ["group", "n", "observed", "expected", "rate_ratio", "ci_low", "ci_high",
            "difference", "difference_low", "difference_high", "status", "note"]
    rows = []
    parts = [("all", result.overall, "overall")] + [
        (k, (result.displacement or {}).get(k), "displacement") for k in ("plain", "themed")]
    for group, c, part in parts:
        if not c:
            continue
        ok = c.get("status") == "estimated"
        row = {"group": group, "n": c.get("n"), "status": c.get("status", "not_estimable"),
               "note": "" if ok else _reason_text(result.notes.get(part, IMPLAUSIBLE), lang)}
        if ok:
            row.update({"observed": c["observed"], "expected": c["expected"],
                        "rate_ratio": c["ratio"], "ci_low": c["ci_low"], "ci_high": c["ci_high"],
                        "difference": c["difference"], "difference_low": c["difference_low"],
                        "difference_high": c["difference_high"]})
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def theming_notes(result: ThemingResult, lang: str = "fr") -> str:
    """Markdown: the method line, then what could not be estimated and why ("" if nothing).

    Examples
    --------
    >>> # pub.text(theming_notes(theming_analysis(ds), "en"))
    """
    parts = [p for p in (result.method(lang), result.notes_text(lang) if result.estimable
                         else "") if p]
    return "\n\n".join(parts)


def theming_naive(result: ThemingResult) -> pd.DataFrame:
    """Naive before/after table (see :func:`naive_before_after`).

    Examples
    --------
    >>> # theming_naive(theming_analysis(ds))
    """
    return result.naive.copy()


def theming_sensitivity(result: ThemingResult) -> pd.DataFrame:
    """Sensitivity runs: ``run``, ``label_fr``, ``label_en``, ``term``, ``rate_ratio``,
    ``ci_low``, ``ci_high``, ``p_value`` (runs that could not be estimated are left out).

    Examples
    --------
    >>> # theming_sensitivity(theming_analysis(ds))
    """
    return result.sensitivity.copy()


def theming_placebo(result: ThemingResult) -> pd.DataFrame:
    """Placebo estimates: ``fake_start``, ``term``, ``rate_ratio``, ``ci_low``, ``ci_high``,
    ``p_value``.

    Examples
    --------
    >>> # theming_placebo(theming_analysis(ds))
    """
    return result.placebo.copy()


def theming_power(result: ThemingResult) -> pd.DataFrame:
    """Power curve: ``target``, ``rate_ratio``, ``power``, ``n``.

    Examples
    --------
    >>> # theming_power(theming_analysis(ds))
    """
    return result.power.copy()
