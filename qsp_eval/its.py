"""Interrupted time series (ITS) for any count series.

The model (segmented regression on counts, log link)::

    log E[count] = b0 + b1·time + b2·after + b3·(time − t0)·after
                   + Σ_k [c_k·sin(2πk·s/P) + d_k·cos(2πk·s/P)]
                   + covariates + log(offset)

``after`` is 1 from the intervention on; ``t0`` is the time at the
intervention, so ``exp(b2)`` (term ``level_change``) is the jump at the
intervention and ``exp(b3)`` (term ``slope_change``) the change in the
yearly (or per time unit) rate ratio after it.  ``s`` is the position in the
seasonal cycle of length ``P`` (month number 1–12 with ``P = 12``; day of
the year with ``P = 365.25`` for session-level data).

Families: ``poisson``; ``quasipoisson`` (Poisson fit, scale = Pearson χ²
/ residual df, as R's ``quasipoisson``); ``negbin`` (NB2, variance
μ + αμ², α estimated by maximum likelihood as ``MASS::glm.nb`` does, the
coefficients' standard errors conditional on α).  Optional Newey–West (HAC)
errors.  Intervals are Wald intervals ``exp(b ± q·SE)``: for ``quasipoisson``
(the scale is estimated) ``q`` is the Student t quantile with the residual
degrees of freedom and p-values come from the same t distribution, as R's
``summary.glm`` does for quasi families; for ``poisson`` and ``negbin``
(maximum likelihood) ``q`` is the normal quantile (:func:`inference_method`).

Reference: Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series
regression for the evaluation of public health interventions: a tutorial.
Int J Epidemiol 2017;46(1):348–355 (``tests/test_its.py`` reproduces it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, Problem

__all__ = [
    "FAMILIES",
    "MIN_POINTS",
    "ITSDesign",
    "fit_its",
    "its_effects",
    "its_fitted",
    "its_counterfactual",
    "its_diagnostics",
    "choose_family",
    "harmonic_terms",
    "inference_method",
    "its_cumulative",
    "newey_west_lags",
]

#: Families accepted by :func:`fit_its` (``"auto"`` picks via :func:`choose_family`).
FAMILIES = ("poisson", "quasipoisson", "negbin", "auto")
#: Fewest observations needed on each side of the intervention.
MIN_POINTS = 3

_EFFECT_TERMS = ("level_change", "slope_change")


@dataclass
class ITSDesign:
    """Everything :func:`fit_its` built, kept on the result as ``result.its_design``.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows used (in time order) with columns ``time``, ``after``,
        ``count``, ``offset`` (exposure or 1) and, when given, ``date``.
    exog : pandas.DataFrame
        The design matrix (columns ``intercept``, ``trend``, ``level_change``,
        ``slope_change``, ``season_sin1``, ``season_cos1``..., covariates).
    t0 : float
        Time at the intervention.
    family, family_reason : str
        Family used and why.
    dispersion : float
        Pearson χ² / residual df of the Poisson fit with the same terms.
    alpha : float or None
        Negative-binomial α (``negbin`` only).
    time_unit : str
        ``"years"`` when time was derived from dates, else ``"time"``.
    """

    frame: pd.DataFrame
    exog: pd.DataFrame
    t0: float
    family: str
    family_reason: str
    dispersion: float
    alpha: float | None = None
    time_unit: str = "time"
    hac_lags: int | None = None
    harmonics: int = 0
    period: float = 12.0
    covariates: tuple = field(default_factory=tuple)


def harmonic_terms(position, *, harmonics: int, period: float) -> pd.DataFrame:
    """Sine/cosine pairs of the position in a cycle.

    Columns ``season_sin{k}`` = sin(2πk·position/period) and ``season_cos{k}``
    = cos(2πk·position/period) for k = 1..harmonics (R: ``tsModel::harmonic``).

    Examples
    --------
    >>> h = harmonic_terms([3, 6], harmonics=1, period=12)
    >>> [round(v, 6) for v in h["season_sin1"]]
    [1.0, 0.0]
    """
    s = np.asarray(position, dtype=float)
    cols = {}
    for k in range(1, int(harmonics) + 1):
        cols[f"season_sin{k}"] = np.sin(2 * np.pi * k * s / period)
        cols[f"season_cos{k}"] = np.cos(2 * np.pi * k * s / period)
    return pd.DataFrame(cols)


def _numeric(series: pd.Series, column: str, *, file: str, integer: bool = False,
             positive: bool = False) -> np.ndarray:
    """Convert a column to float, raising a DataError naming each bad row."""
    raw = series.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(raw):
        vals = pd.to_numeric(raw, errors="coerce").astype(float)
        text = raw.astype("string")
    else:
        text = raw.astype("string").str.strip()
        vals = pd.to_numeric(text.str.replace(",", ".", regex=False).str.replace(" ", "",
                                                                               regex=False),
                             errors="coerce").astype(float)
    bad = vals.isna() | ~np.isfinite(vals)
    if integer:
        bad |= (vals < 0) | (vals != np.round(vals))
    if positive:
        bad |= vals <= 0
    if bad.any():
        what_fr = ("un entier positif ou nul" if integer else
                   "un nombre strictement positif" if positive else "un nombre")
        what_en = ("a non-negative whole number" if integer else
                   "a strictly positive number" if positive else "a number")
        problems = [
            Problem(file, int(i) + 2, column,
                    None if pd.isna(text.iloc[i]) else str(text.iloc[i])[:40],
                    f"valeur manquante ou invalide : il faut {what_fr}",
                    f"missing or invalid value: {what_en} is needed")
            for i in np.flatnonzero(bad.to_numpy())[:20]
        ]
        raise DataError(problems)
    return vals.to_numpy(dtype=float)


def _check_column(data: pd.DataFrame, col: str | None, option: str) -> None:
    if col is not None and col not in data.columns:
        cols = ", ".join(map(str, data.columns))
        raise ParameterError(
            f"Colonne « {col} » introuvable (option {option}). Colonnes disponibles : {cols}.",
            f"Column '{col}' not found (option {option}). Available columns: {cols}.",
        )


def _parse_dates(series: pd.Series, column: str, *, file: str) -> pd.Series:
    s = series.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        text = s.astype("string").str.strip()
        iso = text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}")
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        if iso.fillna(False).any():
            out[iso.fillna(False)] = pd.to_datetime(text[iso.fillna(False)], errors="coerce",
                                                    format="mixed")
        rest = ~iso.fillna(False)
        if rest.any():
            out[rest] = pd.to_datetime(text[rest], errors="coerce", dayfirst=True,
                                       format="mixed")
    bad = out.isna()
    if bad.any():
        problems = [
            Problem(file, int(i) + 2, column, None if pd.isna(s.iloc[i]) else str(s.iloc[i])[:40],
                    "date manquante ou illisible (attendu jj/mm/aaaa ou aaaa-mm-jj)",
                    "missing or unreadable date (expected dd/mm/yyyy or yyyy-mm-dd)")
            for i in np.flatnonzero(bad.to_numpy())[:20]
        ]
        raise DataError(problems)
    return out.astype("datetime64[ns]")


def _parse_intervention(value) -> pd.Timestamp:
    try:
        if isinstance(value, str) and "/" in value:
            ts = pd.to_datetime(value, dayfirst=True)
        else:
            ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"Date d'intervention illisible : « {value} » (attendu aaaa-mm-jj ou jj/mm/aaaa).",
            f"Unreadable intervention date: '{value}' (expected yyyy-mm-dd or dd/mm/yyyy).",
        ) from exc
    if pd.isna(ts):
        raise ParameterError("Date d'intervention manquante.", "Missing intervention date.")
    return ts


def _years_since(dates: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    return ((dates - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float) / 365.25


def _pearson_dispersion(y, mu, df_resid) -> float:
    if df_resid <= 0:
        return float("nan")
    return float(np.sum((y - mu) ** 2 / mu) / df_resid)


def _poisson_glm(y, exog, offset):
    import statsmodels.api as sm

    return sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset)


def choose_family(dispersion: float, *, n: int | None = None, df_resid: int | None = None,
                  overdispersed: str = "quasipoisson") -> dict:
    """Pick the count family from the Poisson overdispersion estimate.

    Rule: Pearson dispersion φ = χ²/df ≤ 1 → ``poisson`` (no sign of extra
    variation; a quasi-Poisson scale below 1 would narrow the intervals);
    φ > 1 → ``overdispersed``: ``quasipoisson`` by default (inflates the
    Poisson standard errors by √φ; variance φ·μ) or ``negbin`` (variance
    μ + αμ², better when the extra variation grows with the mean, as with
    session counts whose mean rises over time).

    Parameters
    ----------
    dispersion : float
        Pearson χ² / residual df of the Poisson fit.
    n, df_resid : int, optional
        Reported with the choice; with ``df_resid`` a one-sided χ² test
        p-value of "no overdispersion" is added.
    overdispersed : {"quasipoisson", "negbin"}
        Family used when φ > 1.

    Returns
    -------
    dict
        ``family``, ``dispersion``, ``p_value`` (NaN without ``df_resid``),
        ``reason_fr``, ``reason_en``.

    Examples
    --------
    >>> choose_family(2.3)["family"]
    'quasipoisson'
    >>> choose_family(0.8)["family"]
    'poisson'
    """
    from scipy import stats

    phi = float(dispersion)
    p = float("nan")
    if df_resid:
        p = float(stats.chi2.sf(phi * df_resid, df_resid))
    if not np.isfinite(phi) or phi <= 1:
        fam = "poisson"
        fr = (f"dispersion de Pearson {phi:.2f} ≤ 1 : pas de surdispersion, modèle de Poisson")
        en = (f"Pearson dispersion {phi:.2f} ≤ 1: no overdispersion, Poisson model")
    elif overdispersed == "negbin":
        fam = "negbin"
        fr = (f"dispersion de Pearson {phi:.2f} > 1 : surdispersion, binomiale négative "
              "(variance μ + αμ², α estimé par maximum de vraisemblance)")
        en = (f"Pearson dispersion {phi:.2f} > 1: overdispersion, negative binomial "
              "(variance μ + αμ², α estimated by maximum likelihood)")
    else:
        fam = "quasipoisson"
        fr = (f"dispersion de Pearson {phi:.2f} > 1 : surdispersion, quasi-Poisson "
              f"(erreurs types multipliées par {np.sqrt(phi):.2f})")
        en = (f"Pearson dispersion {phi:.2f} > 1: overdispersion, quasi-Poisson "
              f"(standard errors multiplied by {np.sqrt(phi):.2f})")
    return {"family": fam, "dispersion": phi, "p_value": p, "n": n, "reason_fr": fr,
            "reason_en": en}


def fit_its(data: pd.DataFrame, *, count: str, date: str | None = None, time: str | None = None,
            intervention, offset: str | None = None, harmonics: int = 0, period: float = 12,
            season_position: str | None = None, family: str = "quasipoisson",
            slope_change: bool = True, covariates=(), hac_lags: int | None = None,
            trend: bool = True, overdispersed: str = "quasipoisson",
            min_points: int = MIN_POINTS, file: str = "data"):
    """Fit a segmented (interrupted time series) count regression.

    Model: ``count ~ trend + level_change [+ slope_change] [+ K harmonic
    pairs] [+ covariates] + offset(log(offset))``, log link.  ``trend`` is
    the time; ``level_change`` is 1 from the intervention on;
    ``slope_change`` is ``(time − t0) × level_change`` with ``t0`` the time
    at the intervention.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per time point (strings are accepted: French decimals with
        a comma, dates dd/mm/yyyy or yyyy-mm-dd).
    count : str
        Column of counts (non-negative whole numbers).
    date : str, optional
        Column of dates.  Without ``time``, time is calendar time in years
        since the first date, and ``t0`` the intervention date in those years.
    time : str, optional
        Column holding a ready-made time index; with ``date`` too, the
        intervention is located by date and ``t0`` is the time of the first
        row on or after it; without ``date``, ``intervention`` is a time value.
    intervention : date-like or number
        First date (or time) of the post-intervention period.
    offset : str, optional
        Exposure column (e.g. population, sessions per period); its log enters
        with coefficient 1, so effects are rate ratios per unit of exposure.
    harmonics : int
        Number K of sine/cosine pairs for seasonality (0 = none).
    period : float
        Length of the seasonal cycle (12 for months, 365.25 for days).
    season_position : str, optional
        Column with the position in the cycle (e.g. month 1–12).  Default:
        the month of ``date`` when ``period == 12``, the ISO week when
        ``period`` is 52 or 53, else the day of the year; without dates,
        the time index itself.
    family : {"poisson", "quasipoisson", "negbin", "auto"}
        ``auto`` applies :func:`choose_family` to the Poisson fit.
    overdispersed : {"quasipoisson", "negbin"}
        With ``family="auto"``: the family used when the data are overdispersed.
    slope_change : bool
        Include the centred slope-change term.
    trend : bool
        Include the pre-existing trend (leave True for a real ITS; False
        gives a plain before/after model, e.g. for checks by hand).
    covariates : sequence of str
        Extra numeric columns (e.g. step terms for context events).
    hac_lags : int, optional
        Newey–West (HAC) standard errors with this many lags.
    min_points : int
        Fewest rows needed before and after the intervention.
    file : str
        Name used in error messages.

    Returns
    -------
    statsmodels GLMResults
        With the attribute ``its_design`` (:class:`ITSDesign`).  Rows with a
        missing count are not allowed (a :class:`DataError` names them):
        drop them beforehand if they are truly missing.

    Raises
    ------
    ParameterError
        Unknown column or family, intervention outside the series.
    DataError
        Non-numeric counts, too few points before or after.

    Examples
    --------
    Counts that double each step and triple at the intervention (an exact fit):

    >>> df = pd.DataFrame({"t": range(8), "y": [1, 2, 4, 8, 48, 96, 192, 384]})
    >>> res = fit_its(df, count="y", time="t", intervention=4, family="poisson",
    ...               slope_change=False)
    >>> eff = its_effects(res).set_index("term")["rate_ratio"]
    >>> round(float(eff["level_change"]), 3), round(float(eff["trend"]), 3)
    (3.0, 2.0)
    """
    import statsmodels.api as sm

    if family not in FAMILIES:
        raise ParameterError(
            f"Famille inconnue « {family} » : choisir parmi {', '.join(FAMILIES)}.",
            f"Unknown family '{family}': choose among {', '.join(FAMILIES)}.",
        )
    if date is None and time is None:
        raise ParameterError("Il faut une colonne de date ou de temps.",
                             "A date or a time column is needed.")
    for col, opt in ((count, "--count"), (date, "--date"), (time, "--time"),
                     (offset, "--offset"), (season_position, "--season-position")):
        _check_column(data, col, opt)
    covariates = tuple(covariates)
    for c in covariates:
        _check_column(data, c, "covariates")
    if harmonics < 0 or period <= 0:
        raise ParameterError("Le nombre d'harmoniques doit être ≥ 0 et la période > 0.",
                             "Harmonics must be ≥ 0 and the period > 0.")

    df = data.reset_index(drop=True)
    frame = pd.DataFrame(index=df.index)
    frame["count"] = _numeric(df[count], count, file=file, integer=True)
    time_unit = "time"
    if date is not None:
        frame["date"] = _parse_dates(df[date], date, file=file)
    if time is not None:
        frame["time"] = _numeric(df[time], time, file=file)
    else:
        frame["time"] = _years_since(frame["date"], frame["date"].min())
        time_unit = "years"
    if date is not None:
        t_int = _parse_intervention(intervention)
        after = (frame["date"] >= t_int).to_numpy()
        lo, hi = frame["date"].min(), frame["date"].max()
        outside = not (lo < t_int <= hi)
        shown = f"{t_int:%Y-%m-%d}"
        bounds = f"{lo:%Y-%m-%d} – {hi:%Y-%m-%d}"
    else:
        try:
            t_int = float(intervention)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"Intervention « {intervention} » : un nombre est attendu (pas de colonne de date).",
                f"Intervention '{intervention}': a number is expected (no date column).",
            ) from exc
        after = (frame["time"] >= t_int).to_numpy()
        lo, hi = frame["time"].min(), frame["time"].max()
        outside = not (lo < t_int <= hi)
        shown, bounds = f"{t_int:g}", f"{lo:g} – {hi:g}"
    if outside:
        raise ParameterError(
            f"La date d'intervention {shown} est en dehors de la série ({bounds}) : il faut "
            "des observations avant et après.",
            f"The intervention {shown} is outside the series ({bounds}): observations are "
            "needed before and after it.",
        )
    n_before, n_after = int((~after).sum()), int(after.sum())
    if n_before < min_points or n_after < min_points:
        raise DataError(Problem(
            file, None, None, None,
            f"trop peu d'observations : {n_before} avant et {n_after} après l'intervention "
            f"{shown} ; il en faut au moins {min_points} de chaque côté (davantage pour un "
            "résultat utile)",
            f"too few observations: {n_before} before and {n_after} after the intervention "
            f"{shown}; at least {min_points} are needed on each side (more for a useful result)",
        ))
    frame["after"] = after.astype(float)
    if date is not None and time_unit == "years":
        t0 = float(_years_since(pd.Series([t_int]), frame["date"].min())[0])
    elif date is not None:
        t0 = float(frame.loc[after, "time"].min())
    else:
        t0 = float(t_int)
    if offset is not None:
        frame["offset"] = _numeric(df[offset], offset, file=file, positive=True)
    else:
        frame["offset"] = 1.0

    exog = pd.DataFrame({"intercept": 1.0, "trend": frame["time"], "level_change": frame["after"]})
    if not trend:
        exog = exog.drop(columns="trend")
    if slope_change:
        exog["slope_change"] = (frame["time"] - t0) * frame["after"]
    if harmonics:
        if season_position is not None:
            pos = _numeric(df[season_position], season_position, file=file)
        elif date is not None:
            d = frame["date"]
            if period == 12:
                pos = d.dt.month.to_numpy(dtype=float)
            elif period in (52, 53):
                pos = d.dt.isocalendar().week.to_numpy(dtype=float)
            else:
                pos = d.dt.day_of_year.to_numpy(dtype=float)
        else:
            pos = frame["time"].to_numpy(dtype=float)
        frame["season_position"] = pos
        exog = pd.concat([exog, harmonic_terms(pos, harmonics=harmonics, period=period)], axis=1)
    for c in covariates:
        exog[c] = _numeric(df[c], c, file=file)
        frame[c] = exog[c]
    # drop covariates that are constant (e.g. an event before the series): not estimable
    keep = [c for c in exog.columns
            if c in ("intercept", "trend", "level_change") or exog[c].std() > 0]
    exog = exog[keep]
    if len(frame) - exog.shape[1] < 1:
        raise DataError(Problem(
            file, None, None, None,
            f"trop peu d'observations ({len(frame)}) pour {exog.shape[1]} paramètres",
            f"too few observations ({len(frame)}) for {exog.shape[1]} parameters"))

    y = frame["count"].to_numpy()
    log_off = np.log(frame["offset"].to_numpy())
    pois = _poisson_glm(y, exog, log_off).fit()
    phi = _pearson_dispersion(y, pois.fittedvalues.to_numpy(), pois.df_resid)
    alpha = None
    if family == "auto":
        ch = choose_family(phi, n=len(frame), df_resid=int(pois.df_resid),
                           overdispersed=overdispersed)
        family, reason = ch["family"], ch["reason_en"]
    elif family == "poisson":
        reason = f"requested (Pearson dispersion {phi:.2f})"
    elif family == "quasipoisson":
        reason = f"requested; scale = Pearson dispersion {phi:.2f}"
    else:
        reason = "requested; NB2 with alpha estimated by maximum likelihood"
    fit_kw = {}
    if hac_lags is not None:
        fit_kw = {"cov_type": "HAC", "cov_kwds": {"maxlags": int(hac_lags)}}
    if family == "poisson":
        res = _poisson_glm(y, exog, log_off).fit(**fit_kw)
    elif family == "quasipoisson":
        res = _poisson_glm(y, exog, log_off).fit(scale="X2", **fit_kw)
    else:
        alpha = _nb_alpha(y, exog, log_off, pois)
        res = sm.GLM(y, exog, family=sm.families.NegativeBinomial(alpha=alpha),
                     offset=log_off).fit(**fit_kw)
        reason += f" (alpha = {alpha:.3f})"
    res.its_design = ITSDesign(frame=frame, exog=exog, t0=t0, family=family, family_reason=reason,
                               dispersion=phi, alpha=alpha, time_unit=time_unit,
                               hac_lags=hac_lags, harmonics=int(harmonics), period=float(period),
                               covariates=covariates)
    return res


def _nb_alpha(y, exog, log_off, pois) -> float:
    """ML estimate of the NB2 alpha (as MASS::glm.nb, whose theta = 1/alpha).

    Joint maximum likelihood of (coefficients, alpha) by Newton's method
    (statsmodels ``NegativeBinomial``, ``nb2``) started from the Poisson fit;
    alpha is floored at 1e-8 (no extra-Poisson variation).
    """
    import warnings

    import statsmodels.api as sm

    start = np.r_[np.asarray(pois.params, dtype=float), 0.1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = sm.NegativeBinomial(np.asarray(y, float), np.asarray(exog, float),
                                    offset=log_off, loglike_method="nb2").fit(
                start_params=start, method="newton", maxiter=100, disp=0)
            alpha = float(np.asarray(r.params)[-1])
            if not np.isfinite(alpha) or not r.mle_retvals.get("converged", True):
                raise ValueError("not converged")
        except Exception:  # noqa: BLE001 - fall back on a slower but sturdy optimiser
            r = sm.NegativeBinomial(np.asarray(y, float), np.asarray(exog, float),
                                    offset=log_off, loglike_method="nb2").fit(
                start_params=start, method="nm", maxiter=5000, disp=0)
            alpha = float(np.asarray(r.params)[-1])
    return max(alpha, 1e-8)


def _design(result) -> ITSDesign:
    d = getattr(result, "its_design", None)
    if d is None:
        raise ParameterError("Ce résultat ne vient pas de fit_its.",
                             "This result does not come from fit_its.")
    return d


def inference_method(result) -> dict:
    """Which reference distribution the Wald intervals and tests of a fit use.

    Quasi-Poisson (scale estimated from the Pearson χ²): Student's t with the
    residual degrees of freedom, as R's ``summary.glm`` for quasi families;
    Poisson and negative binomial (maximum likelihood): the normal.

    Returns
    -------
    dict
        ``distribution`` ("t" or "normal"), ``df`` (residual df, or None),
        ``text_fr``, ``text_en`` (one phrase naming it, and the Newey–West
        lag when HAC errors are used).

    Examples
    --------
    >>> # inference_method(fit_its(df, count="y", time="t", intervention=5))["distribution"]
    """
    d = _design(result)
    df = float(result.df_resid)
    use_t = d.family == "quasipoisson" and df > 0
    if use_t:
        fr = f"intervalles et tests de Wald avec la loi de Student à {df:g} degrés de liberté"
        en = f"Wald intervals and tests with Student's t on {df:g} residual degrees of freedom"
    else:
        fr, en = "intervalles et tests de Wald (loi normale)", "Wald intervals and tests (normal)"
    if d.hac_lags is not None:
        fr += f", erreurs types de Newey–West (HAC, {d.hac_lags} retard(s))"
        en += f", Newey–West (HAC) standard errors with {d.hac_lags} lag(s)"
    return {"distribution": "t" if use_t else "normal", "df": df if use_t else None,
            "text_fr": fr, "text_en": en}


def newey_west_lags(n: int) -> int:
    """Newey–West lag rule: ``floor(4·(n/100)^(2/9))``, at least 1.

    Newey WK, West KD. Automatic lag selection in covariance matrix
    estimation. Rev Econ Stud 1994;61:631–653 (the usual rule of thumb).

    Examples
    --------
    >>> newey_west_lags(100), newey_west_lags(160), newey_west_lags(14)
    (4, 4, 2)
    """
    return max(1, int(np.floor(4 * (max(int(n), 1) / 100) ** (2 / 9))))


def _quantile(result, level: float):
    """(quantile, two-sided p-value function) of the distribution of :func:`inference_method`."""
    from scipy import stats

    d = _design(result)
    df = float(result.df_resid)
    if d.family == "quasipoisson" and df > 0:
        return float(stats.t.ppf(0.5 + level / 2, df)), lambda x: 2 * stats.t.sf(x, df)
    return float(stats.norm.ppf(0.5 + level / 2)), lambda x: 2 * stats.norm.sf(x)


def its_effects(result, *, level: float = 0.95) -> pd.DataFrame:
    """Tidy table of the model's rate ratios.

    Parameters
    ----------
    result
        Output of :func:`fit_its`.
    level : float
        Confidence level of the Wald intervals.

    Returns
    -------
    pandas.DataFrame
        One row per term (``level_change``, ``slope_change`` when fitted,
        then ``trend``, the harmonics and covariates; not the intercept):
        ``term``, ``estimate`` (log rate ratio), ``se``, ``rate_ratio``,
        ``ci_low``, ``ci_high`` (``exp(b ± q·SE)``), ``p_value`` (Wald,
        two-sided), ``family``, ``n``, ``inference`` ("t" or "normal").

    Notes
    -----
    ``q`` and the p-values come from Student's t with the residual degrees
    of freedom for a quasi-Poisson fit (the scale is estimated), as R's
    ``summary.glm`` does; from the normal for Poisson and negative binomial
    fits (R's ``summary.glm`` and ``confint.default``).  The published
    tutorial (Lopez Bernal et al. 2017) used the normal quantile for its
    quasi-Poisson model, hence its slightly narrower interval.  With
    ``family="quasipoisson"`` a Pearson dispersion below 1 narrows the
    intervals (as in R): prefer ``family="auto"``, which falls back on
    Poisson then.

    Examples
    --------
    >>> # its_effects(fit_its(df, count="y", date="d", intervention="2024-01-10"))
    """
    d = _design(result)
    q, sf = _quantile(result, level)
    b = pd.Series(np.asarray(result.params), index=d.exog.columns)
    se = pd.Series(np.asarray(result.bse), index=d.exog.columns)
    order = [t for t in _EFFECT_TERMS if t in b.index] + [
        t for t in b.index if t not in _EFFECT_TERMS and t != "intercept"]
    b, se = b[order], se[order]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        zval = b / se
        out = pd.DataFrame({
            "term": order,
            "estimate": b.to_numpy(),
            "se": se.to_numpy(),
            "rate_ratio": np.exp(b.to_numpy()),
            "ci_low": np.exp((b - q * se).to_numpy()),
            "ci_high": np.exp((b + q * se).to_numpy()),
            "p_value": sf(np.abs(zval.to_numpy())),
        })
    out["family"] = d.family
    out["n"] = len(d.frame)
    out["inference"] = "t" if d.family == "quasipoisson" and result.df_resid > 0 else "normal"
    return out


def _predict(result, exog: pd.DataFrame, level: float) -> pd.DataFrame:
    """Predicted mean count with a Wald interval on the log scale (quantile of :func:`its_effects`)."""
    d = _design(result)
    z, _ = _quantile(result, level)
    X = exog.to_numpy(dtype=float)
    b = np.asarray(result.params)
    V = np.asarray(result.cov_params())
    eta = X @ b + np.log(d.frame["offset"].to_numpy())
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, V, X))
    return pd.DataFrame({"estimate": np.exp(eta), "ci_low": np.exp(eta - z * se),
                         "ci_high": np.exp(eta + z * se)})


def _base_columns(d: ITSDesign) -> pd.DataFrame:
    cols = ["date"] if "date" in d.frame else []
    out = d.frame[cols + ["time", "after", "count"]].copy()
    out["after"] = out["after"].astype(bool)
    return out


def its_fitted(result, *, level: float = 0.95) -> pd.DataFrame:
    """Observed and fitted counts for every row used.

    Returns
    -------
    pandas.DataFrame
        ``date`` (when dates were given), ``time``, ``after`` (bool),
        ``count`` (observed), ``estimate`` (fitted mean, offset included),
        ``ci_low``, ``ci_high`` (Wald interval of the mean, log scale).

    Examples
    --------
    >>> # its_fitted(fit_its(df, count="y", time="t", intervention=5)).head()
    """
    d = _design(result)
    return pd.concat([_base_columns(d), _predict(result, d.exog, level)], axis=1)


def its_counterfactual(result, *, level: float = 0.95) -> pd.DataFrame:
    """What the model predicts after the intervention had it not happened.

    The fitted model with ``level_change`` and ``slope_change`` set to 0
    (pre-intervention trend and season continued), for the rows after the
    intervention; the interval is the Wald interval of that prediction
    (log scale, from the full covariance matrix).

    Returns
    -------
    pandas.DataFrame
        ``date`` (when given), ``time``, ``after``, ``count``, ``estimate``,
        ``ci_low``, ``ci_high``; post-intervention rows only.

    Examples
    --------
    >>> # its_counterfactual(fit_its(df, count="y", time="t", intervention=5))
    """
    d = _design(result)
    X = d.exog.copy()
    for t in _EFFECT_TERMS:
        if t in X:
            X[t] = 0.0
    out = pd.concat([_base_columns(d), _predict(result, X, level)], axis=1)
    return out.loc[out["after"]].reset_index(drop=True)


def its_cumulative(result, *, rows=None, zero_terms=_EFFECT_TERMS, level: float = 0.95) -> dict:
    """Observed vs counterfactual total after the intervention, with its interval.

    The counterfactual of each post-intervention row is the fitted model with
    ``zero_terms`` (by default the level and slope changes) set to 0, i.e.
    the earlier trend and season continued.  Over the chosen rows:
    ``observed`` = Σ count, ``expected`` = Σ μ₀, ``ratio`` = observed /
    expected and ``difference`` = observed − expected (as CausalImpact's
    cumulative effect).

    Interval (delta method on the log scale): Var(log ratio) = gᵀVg +
    Var(Σ count)/(Σ μ̂)², with g = Σ μ₀ᵢxᵢ / Σ μ₀ᵢ the gradient of
    log Σ μ₀ in the coefficients, V their covariance matrix (HAC when the fit
    used it) and Var(Σ count) the count variation of the fitted model
    (Poisson Σμ̂; negative binomial Σ(μ̂ + αμ̂²); quasi-Poisson φΣμ̂).  The
    ratio's interval is ``exp(log ratio ± q·SE)`` (q as in :func:`its_effects`);
    the difference's interval follows from it, observed·(1 − 1/ratio bound).

    Parameters
    ----------
    rows : array of bool, optional
        Restrict to these rows of the design frame (e.g. plain sessions);
        always intersected with the post-intervention rows.
    zero_terms : sequence of str
        Terms set to 0 for the counterfactual.

    Returns
    -------
    dict
        ``n`` (rows), ``observed``, ``expected``, ``ratio``, ``ci_low``,
        ``ci_high``, ``difference``, ``difference_low``, ``difference_high``,
        ``se_log`` and ``z`` (log ratio / SE); NaN when there is no row or no
        count.

    Examples
    --------
    >>> # its_cumulative(fit_its(df, count="y", date="d", intervention="2024-01-10"))
    """
    d = _design(result)
    b = np.asarray(result.params, dtype=float)
    V = np.asarray(result.cov_params(), dtype=float)
    post = (d.frame["after"].to_numpy() == 1)
    if rows is not None:
        post = post & np.asarray(rows, dtype=bool)
    nan = float("nan")
    out = {"n": int(post.sum()), "observed": nan, "expected": nan, "ratio": nan,
           "ci_low": nan, "ci_high": nan, "difference": nan, "difference_low": nan,
           "difference_high": nan, "se_log": nan, "z": nan}
    if not post.any():
        return out
    X = d.exog.to_numpy(dtype=float)[post]
    X0 = d.exog.copy()
    for t in zero_terms:
        if t in X0:
            X0[t] = 0.0
    X0 = X0.to_numpy(dtype=float)[post]
    log_off = np.log(d.frame["offset"].to_numpy(dtype=float))[post]
    with np.errstate(all="ignore"):
        mu0 = np.exp(X0 @ b + log_off)
        mu = np.exp(X @ b + log_off)
        y = d.frame["count"].to_numpy(dtype=float)[post]
        obs, exp0 = float(y.sum()), float(mu0.sum())
        out.update({"observed": obs, "expected": exp0, "difference": obs - exp0})
        if not (obs > 0 and np.isfinite(exp0) and exp0 > 0):
            return out
        g = (mu0[:, None] * X0).sum(axis=0) / exp0
        if d.family == "negbin":
            var_y = float(np.sum(mu + (d.alpha or 0.0) * mu ** 2))
        elif d.family == "quasipoisson":
            var_y = float(result.scale) * float(mu.sum())
        else:
            var_y = float(mu.sum())
        var_log = float(g @ V @ g) + var_y / float(mu.sum()) ** 2
        se = float(np.sqrt(var_log)) if var_log >= 0 else nan
        q, _ = _quantile(result, level)
        lr = float(np.log(obs / exp0))
        lo, hi = float(np.exp(lr - q * se)), float(np.exp(lr + q * se))
        out.update({"ratio": obs / exp0, "ci_low": lo, "ci_high": hi,
                    "difference_low": obs * (1 - 1 / lo) if lo > 0 else nan,
                    "difference_high": obs * (1 - 1 / hi) if hi > 0 else nan,
                    "se_log": se, "z": lr / se if se > 0 else nan})
    return out


def its_diagnostics(result, *, lags: int | None = None) -> dict:
    """Model checks: family and why, dispersion, residual autocorrelation.

    Returns
    -------
    dict
        ``family``, ``family_reason``, ``dispersion`` (Pearson χ²/df of the
        Poisson fit), ``alpha`` (negbin only), ``n``, ``n_before``,
        ``n_after``, ``hac_lags``, ``ljung_box_lags``, ``ljung_box_stat``,
        ``ljung_box_p`` (Ljung–Box test of the Pearson residuals;
        p < 0.05 suggests autocorrelation: refit with ``hac_lags``),
        ``acf1`` (lag-1 autocorrelation of the residuals).

    Examples
    --------
    >>> # its_diagnostics(fit_its(df, count="y", time="t", intervention=5))["dispersion"]
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox

    d = _design(result)
    resid = np.asarray(result.resid_pearson, dtype=float)
    n = len(resid)
    if lags is None:
        lags = max(1, min(10, n // 5))
    lb_stat = lb_p = acf1 = float("nan")
    if n > lags + 2:
        lb = acorr_ljungbox(resid, lags=[lags], return_df=True)
        lb_stat, lb_p = float(lb["lb_stat"].iloc[0]), float(lb["lb_pvalue"].iloc[0])
        r = resid - resid.mean()
        acf1 = float(np.sum(r[1:] * r[:-1]) / np.sum(r * r)) if np.sum(r * r) > 0 else np.nan
    return {
        "family": d.family,
        "family_reason": d.family_reason,
        "dispersion": d.dispersion,
        "alpha": d.alpha,
        "n": n,
        "n_before": int((d.frame["after"] == 0).sum()),
        "n_after": int((d.frame["after"] == 1).sum()),
        "hac_lags": d.hac_lags,
        "ljung_box_lags": int(lags),
        "ljung_box_stat": lb_stat,
        "ljung_box_p": lb_p,
        "acf1": acf1,
    }
