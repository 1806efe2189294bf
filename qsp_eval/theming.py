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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, Problem
from .i18n import tr
from .its import fit_its, harmonic_terms, its_counterfactual, its_effects, its_fitted

__all__ = [
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
]

PERIOD_DAYS = 365.25
#: Fewest sessions needed on each side of the start (and of a fake start).
MIN_SESSIONS = 6
_Z = 1.959963984540054


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def _resolve_start(dataset, start) -> pd.Timestamp:
    if start is None:
        change = getattr(dataset.config, "change", None)
        if change is None or change.start is None:
            raise ParameterError(
                "Pas de date de début de la thématisation : ajoutez « change: start: » dans "
                "evaluation.yml ou donnez --start AAAA-MM-JJ.",
                "No theming start date: add 'change: start:' to evaluation.yml or give "
                "--start YYYY-MM-DD.",
            )
        start = change.start
    try:
        ts = pd.to_datetime(start, dayfirst=isinstance(start, str) and "/" in start)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"Date de début illisible : « {start} ».",
                             f"Unreadable start date: '{start}'.") from exc
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
def _fit(series, count, start, *, harmonics, covariates=(), slope_change=True, family="auto"):
    return fit_its(series, count=count, date="date", intervention=start, harmonics=harmonics,
                   period=PERIOD_DAYS, family=family, slope_change=slope_change,
                   covariates=covariates, overdispersed="negbin", min_points=MIN_SESSIONS,
                   file="sessions")


def _row(eff: pd.DataFrame, term: str) -> dict:
    e = eff.set_index("term")
    if term not in e.index:
        return {"rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    r = e.loc[term]
    return {k: float(r[k]) for k in ("rate_ratio", "ci_low", "ci_high", "p_value")}


def themed_vs_plain(series: pd.DataFrame, start, *, outcome: str = "visits", harmonics: int = 1,
                    covariates=(), family: str = "auto") -> dict:
    """Rate ratio of ``outcome`` on themed vs plain sessions after the start.

    Model: ``outcome ~ trend + level_change + slope_change + season(K) +
    themed [+ covariates]`` on all sessions, log link, no offset (one row is
    one session).  Family (``family="auto"``): Poisson when the Pearson
    dispersion of the Poisson fit is ≤ 1, else negative binomial NB2 with α
    by maximum likelihood; Wald interval ``exp(b ± z·SE)``.  See the module
    docstring.  Sessions with a missing ``outcome`` are left out.

    Returns
    -------
    dict
        ``outcome``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``,
        ``n_themed``, ``n_plain`` (sessions on or after the start),
        ``family``, ``dispersion``, ``z`` (Wald statistic); NaN estimates with a ``note`` when there
        is no themed or no plain session after the start.

    Examples
    --------
    >>> # themed_vs_plain(session_series(ds), "2024-01-10")["rate_ratio"]
    """
    d = series.loc[series[outcome].notna()].reset_index(drop=True)
    if d.empty:
        return {"outcome": outcome, "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                "p_value": np.nan, "n_themed": 0, "n_plain": 0, "family": None,
                "dispersion": np.nan, "z": np.nan, "note": f"{outcome} not recorded"}
    post = d.loc[d["after"]]
    n_themed = int(post["themed"].sum())
    n_plain = int((~post["themed"]).sum())
    out = {"outcome": outcome, "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "p_value": np.nan, "n_themed": n_themed, "n_plain": n_plain, "family": None,
           "dispersion": np.nan, "z": np.nan, "note": None}
    if n_themed == 0 or n_plain == 0:
        out["note"] = "no themed or no plain session after the start"
        return out
    if d[outcome].sum() == 0:
        out["note"] = f"no {outcome} recorded"
        return out
    try:
        res = _fit(d, outcome, start, harmonics=harmonics,
                   covariates=("themed_after",) + tuple(covariates), family=family)
    except (DataError, ParameterError) as exc:
        out["note"] = exc.format("en")
        return out
    eff = its_effects(res)
    out.update(_row(eff, "themed_after"))
    e = eff.set_index("term")
    if "themed_after" in e.index:
        out["z"] = float(e.loc["themed_after", "estimate"] / e.loc["themed_after", "se"])
    out["family"] = res.its_design.family
    out["dispersion"] = res.its_design.dispersion
    return out


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
                  harmonics: int = 1, min_gap_days: int = 90, family: str = "auto") -> tuple:
    """The same models with fake start dates in the pre-period.

    Only sessions before the real start are used.  Fake starts are session
    dates with at least ``MIN_SESSIONS`` sessions before them and between
    them and the real start, at least ``min_gap_days`` before the real start;
    ``n_placebo`` of them, evenly spread.  At each fake start two estimates:

    * ``level_change``: the ITS (trend, level change, slope change, season);
    * ``themed_after``: the themed-vs-plain model, the real sequence of
      themed/plain sessions after the start being laid, in order, on the
      sessions after the fake start (repeated if it is shorter), so the
      placebo keeps the real timing pattern of theming.

    The real estimate is ranked by its Wald statistic |log RR / SE| (so
    placebo fits on shorter, noisier windows do not swamp it).

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
            try:
                res = _fit(p2, "visits", d, harmonics=harmonics, covariates=cov, family=family)
            except (DataError, ParameterError, np.linalg.LinAlgError, ValueError):
                continue
            e = its_effects(res).set_index("term")
            if term not in e.index or not np.isfinite(e.loc[term, "rate_ratio"]):
                continue
            r = e.loc[term]
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
        new = np.linalg.solve(xtwx, xtwz[..., None])[..., 0]
        done = np.max(np.abs(new - beta)) < 1e-8
        beta = new
        eta = np.clip(X @ beta.T, -30, 30)
        mu = np.exp(eta)
        if done:
            break
    w = mu / (1 + alpha * mu)
    cov = np.linalg.inv(np.einsum("ni,ns,nj->sij", X, w, X) + ridge)
    return beta, cov


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
}
"""Evidence grade -> (French, English) words, read after "niveau de preuve :" (masculine)."""


def grade_evidence(ci_low: float, ci_high: float, *, placebo_passed: bool,
                   sensitivity_passed: bool) -> str:
    """Grade the evidence by explicit rules.

    * ``inconclusive``: the 95 % interval includes 1 (or is missing);
    * otherwise count the checks passed — placebo (the real estimate's Wald
      statistic is larger than that of at least 90 % of the placebo
      estimates, i.e. placebo p ≤ 0.10 with at least 9 placebos) and
      sensitivity (every run adjusted for a context event keeps an interval
      on the same side of 1; passed when no event is declared):
      both → ``strong``, one → ``moderate``, none → ``weak``;
    * ``strong`` also needs the estimate to stand clearly away from 1: the
      99 % interval (derived from the 95 % one on the log scale) must exclude 1,
      i.e. p < 0.01; an interval that barely clears 1 is at most ``moderate``.

    Examples
    --------
    >>> grade_evidence(1.2, 2.1, placebo_passed=True, sensitivity_passed=True)
    'strong'
    >>> grade_evidence(0.8, 1.7, placebo_passed=True, sensitivity_passed=True)
    'inconclusive'
    >>> grade_evidence(1.1, 1.9, placebo_passed=False, sensitivity_passed=True)
    'moderate'
    >>> grade_evidence(1.02, 1.75, placebo_passed=True, sensitivity_passed=True)
    'moderate'
    """
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)) or ci_low <= 1 <= ci_high:
        return "inconclusive"
    passed = int(bool(placebo_passed)) + int(bool(sensitivity_passed))
    grade = {2: "strong", 1: "moderate", 0: "weak"}[passed]
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


def make_verdict(*, its_level: dict, themed: dict, first_time: dict, placebo: dict,
                 sensitivity: pd.DataFrame, mdrr: dict, naive_ratio: float) -> Verdict:
    """Word the answer from the estimates (rules in :func:`grade_evidence`).

    ``its_level``, ``themed``, ``first_time``: dicts with ``rate_ratio``,
    ``ci_low``, ``ci_high``; ``placebo``: the summary of
    :func:`placebo_tests` (term -> dict); ``sensitivity``: the sensitivity
    table; ``mdrr``: target -> minimal detectable rate ratio (NaN when even
    the largest ratio simulated is not detected; no key when power was not
    computed).

    The primary estimate is themed vs plain visits when it could be computed,
    else the ITS level change.  The text says "associated with", never
    "caused"; when the interval includes 1 it says the data cannot tell and
    gives the minimal detectable rate ratio.

    Returns
    -------
    Verdict

    Examples
    --------
    >>> # make_verdict(its_level=..., themed=..., ...).text("en")
    """
    use_themed = np.isfinite(themed.get("rate_ratio", np.nan))
    primary = themed if use_themed else its_level
    target = "themed" if use_themed else "level_change"
    rr, lo, hi = primary["rate_ratio"], primary["ci_low"], primary["ci_high"]
    up = bool(np.isfinite(rr) and rr > 1)
    # placebo of the primary estimate: beyond 90 % of the placebo estimates (|z|)
    pl = placebo.get("themed_after" if use_themed else "level_change", {})
    placebo_run = pl.get("n", 0) >= 9
    placebo_passed = bool(placebo_run and pl.get("p_placebo", 1.0) <= 0.10)
    sens = sensitivity.loc[sensitivity["term"] == ("themed_after" if use_themed
                                                   else "level_change")] \
        if len(sensitivity) else sensitivity
    if len(sens):
        same_side = ((sens["ci_low"] > 1) if up else (sens["ci_high"] < 1))
        sensitivity_passed = bool(same_side.all())
    else:
        sensitivity_passed = True
    evidence = grade_evidence(lo, hi, placebo_passed=placebo_passed,
                              sensitivity_passed=sensitivity_passed)
    m = mdrr.get(target, np.nan)
    power_run = target in mdrr

    def text(lang):
        parts = []
        ci = _ci(lo, hi, lang)
        if use_themed:
            subject = tr(
                f"Les permanences thématisées ont accueilli en moyenne {_num(rr, lang, 2)} fois "
                f"autant de passages que les permanences non thématisées de la même période "
                f"({ci}), à tendance et saison égales.",
                f"Themed sessions drew on average {_num(rr, lang, 2)} times as many visits as "
                f"plain sessions of the same period ({ci}), adjusted for trend and season.",
                lang)
        else:
            subject = tr(
                f"Après le début de la thématisation, la fréquentation a été {_num(rr, lang, 2)} "
                f"fois celle que prolongeait la tendance antérieure ({ci}).",
                f"After theming started, attendance was {_num(rr, lang, 2)} times what the "
                f"earlier trend predicted ({ci}).",
                lang)
        its_sentence = ""
        if use_themed and np.isfinite(its_level.get("rate_ratio", np.nan)):
            its_sentence = tr(
                f"Sur l'ensemble des permanences, la fréquentation après le début a été "
                f"{_num(its_level['rate_ratio'], lang, 2)} fois celle que prolongeait la "
                f"tendance antérieure "
                f"({_ci(its_level['ci_low'], its_level['ci_high'], lang)}).",
                f"Over all sessions, attendance after the start was "
                f"{_num(its_level['rate_ratio'], lang, 2)} times what the earlier trend "
                f"predicted ({_ci(its_level['ci_low'], its_level['ci_high'], lang)}).", lang)
        if evidence == "inconclusive":
            parts.append(tr(
                "Les données ne permettent pas de dire si la thématisation a changé la "
                "fréquentation.",
                "The data cannot tell whether theming changed attendance.", lang))
            parts.append(subject)
            parts.append(tr("Cet intervalle inclut l'absence d'effet.",
                            "That interval includes no change at all.", lang))
            if not power_run:
                pass  # power not computed: say nothing about it
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
            parts.append(subject)
            direction = tr("plus forte" if up else "plus faible",
                           "higher" if up else "lower", lang)
            parts.append(tr(
                f"La thématisation est associée à une fréquentation {direction} "
                f"(niveau de preuve : {EVIDENCE_LABELS[evidence][0]}).",
                f"Theming is associated with {direction} attendance "
                f"(strength of evidence: {EVIDENCE_LABELS[evidence][1]}).", lang))
            checks_fr, checks_en = [], []
            if placebo_passed:
                checks_fr.append("l'écart se démarque nettement de la même comparaison faite à "
                                 "des dates de début fictives : il coïncide avec la "
                                 "thématisation (test placebo passé)")
                checks_en.append("the difference stands out from the same comparison at fake "
                                 "start dates: it coincides with theming (placebo test passed)")
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
            joined = tr(" ; ".join(checks_fr), "; ".join(checks_en), lang)
            parts.append(joined[:1].upper() + joined[1:] + ".")
        if its_sentence:
            parts.append(its_sentence)
        if np.isfinite(first_time.get("rate_ratio", np.nan)):
            parts.append(tr(
                f"Premières venues : ×{_num(first_time['rate_ratio'], lang, 2)} "
                f"({_ci(first_time['ci_low'], first_time['ci_high'], lang)}).",
                f"First-time visitors: ×{_num(first_time['rate_ratio'], lang, 2)} "
                f"({_ci(first_time['ci_low'], first_time['ci_high'], lang)}).", lang))
        if np.isfinite(naive_ratio):
            parts.append(tr(
                f"La simple comparaison avant/après (×{_num(naive_ratio, lang, 2)}) ne tient "
                "compte ni de la hausse déjà en cours ni des saisons.",
                f"The naive before/after comparison (×{_num(naive_ratio, lang, 2)}) ignores the "
                "rise already under way and the seasons.", lang))
        parts.append(tr("Il s'agit d'une association, pas de la preuve d'une cause.",
                        "This is an association, not proof of a cause.", lang))
        return " ".join(parts)

    checks = {"primary": target, "rate_ratio": rr, "ci_low": lo, "ci_high": hi,
              "ci_excludes_1": evidence != "inconclusive", "placebo_run": placebo_run,
              "placebo_passed": placebo_passed, "sensitivity_runs": int(len(sens)),
              "sensitivity_passed": sensitivity_passed, "minimal_detectable_rate_ratio": m}
    return Verdict(evidence, text("fr"), text("en"), checks)


# ---------------------------------------------------------------------------
# The whole analysis
# ---------------------------------------------------------------------------
@dataclass
class ThemingResult:
    """Everything :func:`theming_analysis` found; tidy tables plus the verdict.

    Attributes
    ----------
    start : pandas.Timestamp
    series : pandas.DataFrame
        :func:`session_series` output.
    effects : pandas.DataFrame
        ITS effects (``qsp_eval.its.its_effects`` columns).
    fitted, counterfactual : pandas.DataFrame
        ``its_fitted`` / ``its_counterfactual`` of the ITS.
    diagnostics : dict
        ``its_diagnostics`` of the ITS.
    themed_vs_plain : pandas.DataFrame
        One row per outcome (``visits``, ``first_time_visitors``).
    naive : pandas.DataFrame
        :func:`naive_before_after` output.
    sensitivity : pandas.DataFrame
        ``run`` (event date), ``label_fr``, ``label_en``, ``term``
        (``level_change`` or ``themed_after``), ``rate_ratio``, ``ci_low``,
        ``ci_high``, ``p_value``.
    placebo, placebo_summary : pandas.DataFrame, dict
    power, power_summary : pandas.DataFrame, dict
    minimal_detectable_rate_ratio : float
    events : list of qsp_eval.schema.Event
    verdict : Verdict
    """

    start: pd.Timestamp
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

    def to_dict(self, lang: str = "fr") -> dict:
        """JSON-ready summary (no row-level data: only estimates and counts of sessions)."""
        def f(x):
            if x is None:
                return None
            try:
                x = float(x)
            except (TypeError, ValueError):
                return x
            return x if np.isfinite(x) else None

        def eff_list(df):
            return [{"term": r["term"], "rate_ratio": f(r["rate_ratio"]),
                     "ci_low": f(r["ci_low"]), "ci_high": f(r["ci_high"]),
                     "p_value": f(r["p_value"])} for _, r in df.iterrows()]

        tvp = {}
        for _, r in self.themed_vs_plain.iterrows():
            tvp[r["outcome"]] = {k: f(r[k]) for k in ("rate_ratio", "ci_low", "ci_high",
                                                      "p_value")}
            tvp[r["outcome"]].update({"n_themed": int(r["n_themed"]),
                                      "n_plain": int(r["n_plain"])})
        nv = self.naive.set_index("period")
        ps = self.placebo_summary
        primary = "themed_after" if self.verdict.checks.get("primary") == "themed" \
            else "level_change"
        pp = ps.get(primary, {})
        return {
            "start": f"{self.start:%Y-%m-%d}",
            "its": {"family": self.diagnostics["family"], "n": self.diagnostics["n"],
                    "dispersion": f(self.diagnostics["dispersion"]),
                    "effects": eff_list(self.effects)},
            "themed_vs_plain": tvp,
            "naive": {
                "mean_before": f(nv.loc["before", "estimate"]),
                "mean_before_ci_low": f(nv.loc["before", "ci_low"]),
                "mean_before_ci_high": f(nv.loc["before", "ci_high"]),
                "mean_after": f(nv.loc["after", "estimate"]),
                "mean_after_ci_low": f(nv.loc["after", "ci_low"]),
                "mean_after_ci_high": f(nv.loc["after", "ci_high"]),
                "n_before": int(nv.loc["before", "n"]), "n_after": int(nv.loc["after", "n"]),
                "ratio": f(nv.loc["ratio", "estimate"]),
                "ratio_ci_low": f(nv.loc["ratio", "ci_low"]),
                "ratio_ci_high": f(nv.loc["ratio", "ci_high"]),
                "explanation": tr(
                    "La comparaison naïve attribue au changement la hausse déjà en cours avant "
                    "lui et les différences de saison ; l'estimation ajustée les retire.",
                    "The naive comparison credits the change with the rise already under way "
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
                "by_term": {t: {k: f(v) if k != "rank" else v for k, v in d.items()}
                            for t, d in ps.items()},
            },
            "minimal_detectable_rate_ratio": f(self.minimal_detectable_rate_ratio),
            "power": {"n_sim": self.power_summary["n_sim"],
                      "mdrr": {k: f(v) for k, v in self.power_summary["mdrr"].items()},
                      "dispersion": f(self.power_summary["dispersion"])},
            "verdict": {"text": self.verdict.text(lang), "evidence": self.verdict.evidence,
                        "text_fr": self.verdict.text_fr, "text_en": self.verdict.text_en},
        }


def theming_analysis(dataset, *, start=None, harmonics: int = 1, n_placebo: int = 20,
                     n_sim: int = 200, seed: int = 0, power: bool = True) -> ThemingResult:
    """Answer "did theming raise attendance?" for a data source.

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
        No start date.
    DataError
        Fewer than ``MIN_SESSIONS`` held sessions with a count before or after.

    Examples
    --------
    >>> # res = theming_analysis(qsp_eval.io.load_source("data/example"))
    >>> # print(res.verdict.text("en"))
    """
    t0 = _resolve_start(dataset, start)
    series = session_series(dataset, start=t0)
    if series.empty:
        raise DataError(Problem("sessions", None, "visits", None,
                                "aucune permanence tenue avec un nombre de passages",
                                "no held session with a visit count"))
    its_res = _fit(series, "visits", t0, harmonics=harmonics)
    effects = its_effects(its_res)
    from .its import its_diagnostics

    diagnostics = its_diagnostics(its_res)
    fitted = its_fitted(its_res)
    counterfactual = its_counterfactual(its_res)
    tvp = pd.DataFrame([
        themed_vs_plain(series, t0, outcome="visits", harmonics=harmonics),
        themed_vs_plain(series, t0, outcome="first_time_visitors", harmonics=harmonics),
    ])
    # sensitivity: one run per context event (step term)
    events = _events(dataset, series)
    sens_rows = []
    for k, e in enumerate(events):
        col = f"event_{k + 1}"
        s2 = series.copy()
        s2[col] = (s2["date"] >= pd.Timestamp(e.date)).astype(float)
        try:
            r = _fit(s2, "visits", t0, harmonics=harmonics, covariates=(col,))
            lvl = _row(its_effects(r), "level_change")
        except (DataError, ParameterError):
            lvl = _row(pd.DataFrame({"term": []}), "level_change")
        tv = themed_vs_plain(s2, t0, outcome="visits", harmonics=harmonics, covariates=(col,))
        base = {"run": f"{pd.Timestamp(e.date):%Y-%m-%d}", "label_fr": e.label_fr,
                "label_en": e.label_en}
        sens_rows.append({**base, "term": "level_change", **lvl})
        sens_rows.append({**base, "term": "themed_after",
                          **{k2: tv[k2] for k2 in ("rate_ratio", "ci_low", "ci_high",
                                                    "p_value")}})
    sensitivity = pd.DataFrame(sens_rows, columns=["run", "label_fr", "label_en", "term",
                                                   "rate_ratio", "ci_low", "ci_high", "p_value"])
    sensitivity = sensitivity.loc[sensitivity["rate_ratio"].notna()].reset_index(drop=True)
    naive = naive_before_after(series)
    lvl = _row(effects, "level_change")
    e_lvl = effects.set_index("term").loc["level_change"]
    real = {"level_change": {"rate_ratio": lvl["rate_ratio"],
                             "z": float(e_lvl["estimate"] / e_lvl["se"])}}
    if np.isfinite(tvp.iloc[0]["rate_ratio"]):
        real["themed_after"] = {"rate_ratio": float(tvp.iloc[0]["rate_ratio"]),
                                "z": float(tvp.iloc[0]["z"])}
    placebo, placebo_summary = placebo_tests(series, t0, real=real, n_placebo=n_placebo,
                                             harmonics=harmonics)
    if power and n_sim > 0:
        power_table, power_summary = power_analysis(series, t0, harmonics=harmonics,
                                                    n_sim=n_sim, seed=seed)
    else:
        power_table = pd.DataFrame(columns=["target", "rate_ratio", "power", "n"])
        power_summary = {"mdrr": {}, "dispersion": float("nan"), "n_sim": 0}
    themed_row = tvp.iloc[0].to_dict()
    first_row = tvp.iloc[1].to_dict()
    target = "themed" if np.isfinite(themed_row["rate_ratio"]) else "level_change"
    mdrr = power_summary["mdrr"].get(target, float("nan"))
    verdict = make_verdict(its_level=lvl, themed=themed_row, first_time=first_row,
                           placebo=placebo_summary, sensitivity=sensitivity,
                           mdrr=power_summary["mdrr"],
                           naive_ratio=float(naive.set_index("period").loc["ratio", "estimate"]))
    change = getattr(dataset.config, "change", None)
    return ThemingResult(
        start=t0, series=series, effects=effects, fitted=fitted, counterfactual=counterfactual,
        diagnostics=diagnostics, themed_vs_plain=tvp, naive=naive, sensitivity=sensitivity,
        placebo=placebo, placebo_summary=placebo_summary, power=power_table,
        power_summary=power_summary, minimal_detectable_rate_ratio=mdrr,
        events=list(getattr(dataset.config, "events", ()) or ()), verdict=verdict,
        change_label_fr=change.label_fr if change else "Thématisation",
        change_label_en=change.label_en if change else "Theming",
    )


# Tidy accessors --------------------------------------------------------------
def theming_effects(result: ThemingResult) -> pd.DataFrame:
    """ITS effects table (``term``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``...).

    Examples
    --------
    >>> # theming_effects(theming_analysis(ds))
    """
    return result.effects.copy()


def theming_themed_vs_plain(result: ThemingResult) -> pd.DataFrame:
    """Themed vs plain table: ``outcome``, ``rate_ratio``, ``ci_low``, ``ci_high``,
    ``p_value``, ``n_themed``, ``n_plain``, ``family``, ``dispersion``, ``note``.

    Examples
    --------
    >>> # theming_themed_vs_plain(theming_analysis(ds))
    """
    return result.themed_vs_plain.copy()


def theming_naive(result: ThemingResult) -> pd.DataFrame:
    """Naive before/after table (see :func:`naive_before_after`).

    Examples
    --------
    >>> # theming_naive(theming_analysis(ds))
    """
    return result.naive.copy()


def theming_sensitivity(result: ThemingResult) -> pd.DataFrame:
    """Sensitivity runs: ``run``, ``label_fr``, ``label_en``, ``term``, ``rate_ratio``,
    ``ci_low``, ``ci_high``, ``p_value``.

    Examples
    --------
    >>> # theming_sensitivity(theming_analysis(ds))
    """
    return result.sensitivity.copy()


def theming_placebo(result: ThemingResult) -> pd.DataFrame:
    """Placebo estimates: ``fake_start``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``.

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



