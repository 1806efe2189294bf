"""A calibrated, SYNTHETIC example data source (no real person in it).

Two entry points share one generative model of session attendance:

- :func:`simulate_session_counts` -- the fast path: one row per scheduled
  session with the model mean and the drawn visits and first-time visitors,
  no people and no other table (for simulation studies of the theming
  analysis: hundreds of calls, < 20 ms each, exact truth, no calibration);
- :func:`simulate_source` / :func:`write_simulation` -- the full example data
  source (sessions, visits with pseudonymous visitor codes, services,
  distributions, survey responses, ``evaluation.yml`` and ``truth.json``) in
  the contract's external form, with the figures of the capitalisation record
  planted exactly (234 visits over 43 held sessions in 2023, 38% trans,
  agender and non-binary people among the distinct people of 2023, material
  and service totals, survey answers...).

The count model (both paths)
----------------------------
Sessions are scheduled every 7 days from ``start`` (the launch, a Wednesday)
to ``end``. A session is *cancelled* when it falls in the Christmas closure
(24 December to 1 January), the summer closure (1 to 21 August) or on a French
fixed-date public holiday (1 Jan, 1 May, 8 May, 14 Jul, 15 Aug, 1 Nov, 11 Nov,
25 Dec), plus ``extra_cancellations[year]`` other sessions of each year drawn
at random (never the launch session). Cancelled sessions have no visit.

For held session *i* on date *d*, with ``t`` = years since ``start``
(days / 365.25), ``t0`` = years from ``start`` to ``theming_start``, ``doy`` =
day of the year, ``after`` = 1 on or after ``theming_start`` and ``themed`` =
1 for a themed session::

    log mu_i = intercept + trend * t
               + season_sin * sin(2 pi doy / 365.25) + season_cos * cos(2 pi doy / 365.25)
               + log(level_change_rate_ratio) * after
               + slope_change_per_year * (t - t0) * after
               + log(themed_rate_ratio) * themed
    lambda_i = mu_i * G_i,   G_i ~ Gamma(shape=dispersion, scale=1/dispersion)  (mean 1)
    V_i ~ Poisson(lambda_i)                    (so V_i is negative binomial, Var = mu + mu^2/k)

(``dispersion=None`` gives plain Poisson, ``G_i = 1``.) These are exactly the
terms of the project's interrupted-time-series model (trend, level change,
slope change, season, themed), so the theming analysis is correctly
specified. By default the growth of 2021-2023 stops at the theming start and
plain-session attendance then eases (``trend + slope_change_per_year`` =
0.471 - 0.771 = -0.30 per year), so 2024 stays in the programme's range (a
model mean of about 7.4 visits per held session over 2024, themed sessions
included, instead of about 10.5 if the 2021-2023 trend ran on). A held
session on or after ``theming_start`` is themed with probability
``themed_probability``, independently of everything else. First-time visitors
are a binomial thinning of the visits::

    pi_i = first_time_share * exp(first_time_trend * t)
           * (first_time_rate_ratio / themed_rate_ratio) ** themed
    F*_i ~ Binomial(V_i, pi_i),   F_i = max(F*_i, V_i - sum_{j<i} F_j)

so ``log E[F_i] = log mu_i + log pi_i`` is log-linear in the same terms (same
level and slope change) with trend ``trend + first_time_trend`` and a themed
rate ratio of exactly ``first_time_rate_ratio`` (the ``max`` says nobody can come back before their
first visit; it only binds at the first sessions after the launch).

Calibration (full simulator only)
---------------------------------
The full simulator draws exactly the counts of the fast path for the same seed
and parameters, then conditions the visits of each year in ``year_totals`` on
that year's total: given the total, independent Poisson(lambda_i) counts are
multinomial with probabilities proportional to lambda_i, so the shape of the
series (trend, season, overdispersion draws) is kept. First-time visitors of
those years are drawn again from the binomial above. ``truth.json`` lists
every calibrated figure.

Randomness: ``numpy.random.SeedSequence(seed).spawn(...)`` gives one
independent ``Generator`` (PCG64) per stage, so a seed gives the same data
on every machine running the same numpy.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ParameterError
from .schema import ITEM_CATEGORY, label

__all__ = [
    "DEFAULT_SEED",
    "MATERIAL_TOTALS_2022_2023",
    "CountModel",
    "SimulatedSource",
    "simulate_session_counts",
    "simulate_source",
    "write_simulation",
]

DEFAULT_SEED = 2021

#: Material handed out over 2022 and 2023 together (capitalisation record), planted exactly.
MATERIAL_TOTALS_2022_2023: dict[str, int] = {
    "straw_booklet": 536,
    "sniff_kit": 20,
    "base_kit": 5,
    "pipette": 36,
    "unmounted_syringe": 60,
    "foil_roll": 6,
    "syringe_1_2ml": 310,
    "needle": 374,
    "sharps_container": 7,
    "external_condom": 426,
    "internal_condom": 128,
    "dental_dam": 37,
    "lube_sachet": 270,
    "lube_tube": 25,
    "sex_toy_cleaner": 11,
}

#: Services planted exactly: (service, first year, last year) -> total.
EXACT_SERVICES: dict[tuple[str, int, int], int] = {
    ("sample_ccm", 2022, 2023): 15,
    ("sample_sintes", 2022, 2023): 6,
    ("trod_hiv", 2023, 2023): 6,
    ("trod_hcv", 2023, 2023): 6,
    ("trod_hbv", 2023, 2023): 2,
}

#: Sophrology sessions in a year with at least 40 held sessions (pro rata below).
SOPHROLOGY_PER_YEAR = 7

_TANB = ("trans_woman", "trans_man", "non_binary", "agender")
_FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
_STREAMS = ("schedule", "themed", "counts", "calibration", "people", "services",
            "distributions", "surveys", "labels")
_CHEMSEX_EVENT = date(2023, 5, 15)


# ---------------------------------------------------------------------------
# The count model
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CountModel:
    """Parameters of the session-count model (see the module docstring for the equations).

    Defaults reproduce the capitalisation record: the model mean is 2.79
    visits per held session over the 2021 sessions and 5.44 over 2023 (trend
    and season solved for these two figures), a summer trough around 1
    August (amplitude 0.2 on the log scale), overdispersion shape 12 (the
    session rate varies with a coefficient of variation of 0.29 around the
    model mean). From the theming start the growth stops and plain sessions
    ease slowly (``slope_change_per_year`` -0.771: slope -0.30 per year
    after the start), so 2024 averages about 7.4 visits per held session,
    themed sessions (40%, rate ratio 1.5) included.
    """

    start: date = date(2021, 11, 3)
    end: date = date(2024, 12, 31)
    theming_start: date = date(2024, 1, 10)
    themed_rate_ratio: float = 1.5
    first_time_rate_ratio: float = 1.8
    level_change_rate_ratio: float = 1.0
    slope_change_per_year: float = -0.771
    intercept: float = 0.905
    trend: float = 0.471
    season_sin: float = 0.100
    season_cos: float = 0.173
    dispersion: float | None = 12.0
    themed_probability: float = 0.4
    first_time_share: float = 0.6
    first_time_trend: float = -0.45
    extra_cancellations: dict = field(
        default_factory=lambda: {2021: 0, 2022: 2, 2023: 4, 2024: 2})
    default_extra_cancellations: int = 2

    def check(self) -> None:
        """Raise :class:`ParameterError` on impossible parameters."""
        bad = []
        if self.end < self.start:
            bad.append(("end < start", "end < start"))
        for name in ("themed_rate_ratio", "first_time_rate_ratio", "level_change_rate_ratio",
                     "first_time_share"):
            if not getattr(self, name) > 0:
                bad.append((f"{name} doit être > 0", f"{name} must be > 0"))
        if not math.isfinite(self.slope_change_per_year):
            bad.append(("slope_change_per_year doit être un nombre fini",
                        "slope_change_per_year must be a finite number"))
        if self.dispersion is not None and not self.dispersion > 0:
            bad.append(("dispersion doit être > 0", "dispersion must be > 0"))
        if not 0 <= self.themed_probability <= 1:
            bad.append(("themed_probability doit être entre 0 et 1",
                        "themed_probability must be between 0 and 1"))
        if bad:
            raise ParameterError("; ".join(b[0] for b in bad), "; ".join(b[1] for b in bad))

    def as_dict(self) -> dict:
        """Plain-dict view (dates as ISO strings) for ``truth.json``."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, date):
                d[k] = v.isoformat()
        d["extra_cancellations"] = {str(k): int(v) for k, v in self.extra_cancellations.items()}
        return d


def _as_date(value, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ParameterError(
            f"{name} : date invalide « {value} » (attendu AAAA-MM-JJ)",
            f"{name}: invalid date '{value}' (expected YYYY-MM-DD)",
        ) from None


def _model(params: dict) -> CountModel:
    names = set(CountModel.__dataclass_fields__)
    unknown = sorted(set(params) - names)
    if unknown:
        raise ParameterError(f"paramètre(s) inconnu(s) : {', '.join(unknown)}",
                             f"unknown parameter(s): {', '.join(unknown)}")
    for k in ("start", "end", "theming_start"):
        if k in params:
            params[k] = _as_date(params[k], k)
    m = CountModel(**params)
    m.check()
    return m


def _t0(m: CountModel) -> float:
    """Years (days / 365.25) from the launch to the theming start."""
    return (m.theming_start - m.start).days / 365.25


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    return {name: np.random.Generator(np.random.PCG64(s)) for name, s in zip(_STREAMS, children)}


def _schedule(m: CountModel, rng: np.random.Generator):
    """Dates (datetime64[D] array) and held mask of the scheduled sessions."""
    first = np.datetime64(m.start, "D")
    n = int((np.datetime64(m.end, "D") - first).astype(int)) // 7 + 1
    dates = first + 7 * np.arange(n)
    idx = pd.DatetimeIndex(dates)
    month = np.asarray(idx.month)
    day = np.asarray(idx.day)
    years = np.asarray(idx.year)
    closed = ((month == 12) & (day >= 24)) | ((month == 1) & (day == 1))
    closed |= (month == 8) & (day <= 21)
    for mo, da in _FIXED_HOLIDAYS:
        closed |= (month == mo) & (day == da)
    held = ~closed
    for year in sorted(set(years.tolist())):
        k = int(m.extra_cancellations.get(year, m.default_extra_cancellations))
        cand = np.flatnonzero(held & (years == year) & (np.arange(n) > 0))
        k = min(k, len(cand))
        if k > 0:
            held[rng.choice(cand, size=k, replace=False)] = False
    return dates, held, years


def _pool_constraint(visits: np.ndarray, first: np.ndarray, held: np.ndarray) -> np.ndarray:
    """F_i = max(F_i, V_i - people seen before): nobody returns before a first visit."""
    out = first.copy()
    pool = 0
    for i in np.flatnonzero(held):
        need = visits[i] - pool
        if out[i] < need:
            out[i] = need
        pool += out[i]
    return out


def _draw_counts(m: CountModel, rngs: dict) -> dict:
    dates, held, years = _schedule(m, rngs["schedule"])
    n = len(dates)
    idx = pd.DatetimeIndex(dates)
    t = (dates - np.datetime64(m.start, "D")).astype(float) / 365.25
    doy = np.asarray(idx.day_of_year, dtype=float)
    after = dates >= np.datetime64(m.theming_start, "D")
    t0 = _t0(m)
    u = rngs["themed"].random(n)
    themed = after & held & (u < m.themed_probability)
    w = 2 * math.pi * doy / 365.25
    log_mu = (m.intercept + m.trend * t + m.season_sin * np.sin(w) + m.season_cos * np.cos(w)
              + math.log(m.level_change_rate_ratio) * after
              + m.slope_change_per_year * (t - t0) * after
              + math.log(m.themed_rate_ratio) * themed)
    mu = np.exp(log_mu)
    rc = rngs["counts"]
    if m.dispersion is None:
        gam = np.ones(n)
    else:
        gam = rc.gamma(m.dispersion, 1.0 / m.dispersion, size=n)
    lam = mu * gam
    visits = rc.poisson(lam)
    pi = (m.first_time_share * np.exp(m.first_time_trend * t)
          * np.where(themed, m.first_time_rate_ratio / m.themed_rate_ratio, 1.0))
    if np.any(pi[held] > 1):
        raise ParameterError(
            "la part attendue de nouvelles personnes dépasse 1 : réduisez first_time_share "
            "ou le rapport first_time_rate_ratio / themed_rate_ratio",
            "the expected share of first-time visitors exceeds 1: lower first_time_share "
            "or the ratio first_time_rate_ratio / themed_rate_ratio",
        )
    pi = np.clip(pi, 0.0, 1.0)
    first = rc.binomial(visits, pi)
    visits = np.where(held, visits, 0)
    first = np.where(held, first, 0)
    first = _pool_constraint(visits, first, held)
    return {"dates": dates, "held": held, "years": years, "t": t, "doy": doy, "after": after,
            "themed": themed, "mu": mu, "lam": lam, "pi": pi, "visits": visits, "first": first}


def _counts_frame(d: dict) -> pd.DataFrame:
    held = d["held"]
    v = pd.array(d["visits"], dtype="Int64")
    f = pd.array(d["first"], dtype="Int64")
    v[~held] = pd.NA
    f[~held] = pd.NA
    return pd.DataFrame({
        "date": pd.DatetimeIndex(d["dates"]).astype("datetime64[ns]"),
        "status": np.where(held, "held", "cancelled"),
        "themed": d["themed"].astype(bool),
        "after": d["after"].astype(bool),
        "time_years": d["t"],
        "day_of_year": d["doy"].astype(int),
        "expected": d["mu"],
        "expected_first_time": d["mu"] * d["pi"],
        "visits": v,
        "first_time_visitors": f,
    })


def simulate_session_counts(
    seed: int = DEFAULT_SEED,
    *,
    start=date(2021, 11, 3),
    end=date(2024, 12, 31),
    theming_start=date(2024, 1, 10),
    themed_rate_ratio: float = 1.5,
    first_time_rate_ratio: float = 1.8,
    level_change_rate_ratio: float = 1.0,
    slope_change_per_year: float = -0.771,
    dispersion: float | None = 12.0,
    **params,
) -> pd.DataFrame:
    """Draw session counts from the documented model (fast path, no calibration).

    The model (see the module docstring for the full text)::

        log E[visits_i] = intercept + trend*t + season_sin*sin(2 pi doy/365.25)
                          + season_cos*cos(2 pi doy/365.25)
                          + log(level_change_rate_ratio)*after
                          + slope_change_per_year*(t - t0)*after
                          + log(themed_rate_ratio)*themed
        visits_i ~ gamma-Poisson (negative binomial) with shape ``dispersion``
        first_time_visitors_i ~ Binomial(visits_i, pi_i),
        pi_i = first_time_share*exp(first_time_trend*t)*(first_time_rate_ratio/themed_rate_ratio)**themed

    with ``t`` in years since ``start`` (days / 365.25), ``t0`` the same for
    ``theming_start``, ``after`` = date >= ``theming_start``, ``doy`` the day
    of the year, each held session after the start themed with probability
    ``themed_probability`` (default 0.4), and at least ``visits_i`` minus the
    people seen before counted as first-time visitors. Defaults: intercept
    0.905, trend 0.471/year, season_sin 0.100, season_cos 0.173, no level
    change (rate ratio 1), slope change -0.771/year (the growth stops at the
    theming start and the trend is -0.30/year after it), themed rate ratio
    1.5 on visits and 1.8 on first-time visitors, dispersion 12,
    first_time_share 0.6, first_time_trend -0.45/year (see :class:`CountModel`).
    A negative binomial GLM (log link, no offset) with the terms trend,
    level change, ``(t - t0)*after``, one harmonic of period 365.25 days and
    themed is correctly specified for these counts.
    These are exactly the counts the full simulator draws for the same seed
    and parameters before it calibrates the 2021 and 2023 totals.

    Parameters
    ----------
    seed : int
        Seed of the random generators.
    start, end, theming_start : date or "YYYY-MM-DD"
        Launch (first session, weekly after it), last possible date, theming start.
    themed_rate_ratio, first_time_rate_ratio, level_change_rate_ratio : float
        Planted rate ratios (themed vs plain on visits and on first-time
        visitors; level change at the start for every session).
    slope_change_per_year : float
        Planted change of the log-linear trend from the theming start, per
        year (``exp`` of it is the ITS ``slope_change`` rate ratio per year;
        0 lets the 2021-2023 trend run on).
    dispersion : float or None
        Gamma shape k (``None``: Poisson).
    **params
        Any other field of :class:`CountModel` (``intercept``, ``trend``,
        ``season_sin``, ``season_cos``, ``themed_probability``,
        ``first_time_share``, ``first_time_trend``, ``extra_cancellations``).

    Returns
    -------
    pandas.DataFrame
        One row per scheduled session, in date order: ``date`` (datetime64),
        ``status`` ("held"/"cancelled"), ``themed`` (bool), ``after`` (bool,
        on or after the theming start), ``time_years``, ``day_of_year``,
        ``expected`` (model mean mu_i of visits, also given for cancelled
        sessions), ``expected_first_time`` (mu_i * pi_i), ``visits`` and
        ``first_time_visitors`` (Int64, NA for cancelled sessions).

    Examples
    --------
    >>> df = simulate_session_counts(1)
    >>> held = df[df["status"] == "held"]
    >>> bool((held["visits"] >= held["first_time_visitors"]).all())
    True
    """
    params.update(start=start, end=end, theming_start=theming_start,
                  themed_rate_ratio=themed_rate_ratio, first_time_rate_ratio=first_time_rate_ratio,
                  level_change_rate_ratio=level_change_rate_ratio,
                  slope_change_per_year=slope_change_per_year, dispersion=dispersion)
    m = _model(params)
    return _counts_frame(_draw_counts(m, _rngs(seed)))


# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------
_NON_TANB = (("cis_man", 0.82), ("cis_woman", 0.15), ("other", 0.03))
_TANB_SPLIT = (("trans_woman", 0.40), ("non_binary", 0.35), ("trans_man", 0.15), ("agender", 0.10))
_ORIENTATION = {
    "cis_man": (("gay", 0.75), ("bi_pan", 0.15), ("queer", 0.05), ("hetero", 0.02), ("other", 0.03)),
    "cis_woman": (("lesbian", 0.45), ("bi_pan", 0.30), ("queer", 0.20), ("hetero", 0.05)),
    "tanb": (("queer", 0.35), ("bi_pan", 0.25), ("gay", 0.10), ("lesbian", 0.15), ("hetero", 0.05),
             ("asexual", 0.05), ("other", 0.05)),
}
_AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
_AGE_START = np.array([0.10, 0.35, 0.30, 0.17, 0.08])
_AGE_END = np.array([0.28, 0.40, 0.20, 0.08, 0.04])  # after 3 years: a younger public
_HEARD = (("word_of_mouth", 0.45), ("social_media", 0.25), ("partner_org", 0.15),
          ("festive_outreach", 0.08), ("health_professional", 0.05), ("other", 0.02))
_CHEMSEX_PRODUCTS = (("cathinones", 0.8), ("ghb_gbl", 0.6), ("methamphetamine", 0.2),
                     ("poppers", 0.3))
_OTHER_PRODUCTS = (("cocaine", 0.3), ("ketamine", 0.3), ("mdma", 0.25), ("alcohol", 0.5),
                   ("cannabis", 0.35), ("opioids", 0.03), ("crack", 0.03))


def _pick(rng, pairs):
    codes = [c for c, _ in pairs]
    p = np.array([w for _, w in pairs], dtype=float)
    return codes[int(rng.choice(len(codes), p=p / p.sum()))]


def _tanb_probability(t: float) -> float:
    # logistic growth of the share of trans, agender and non-binary newcomers
    return 1.0 / (1.0 + math.exp(-(-1.4 + 0.75 * t)))


def _orientation(rng, gender):
    key = gender if gender in ("cis_man", "cis_woman") else "tanb"
    return _pick(rng, _ORIENTATION[key])


def _new_person(rng, d: date, t: float) -> dict:
    tanb = rng.random() < _tanb_probability(t)
    gender = _pick(rng, _TANB_SPLIT if tanb else _NON_TANB)
    orientation = "unknown" if rng.random() < 0.03 else _orientation(rng, gender)
    frac = min(max(t / 3.0, 0.0), 1.0)
    p_age = (1 - frac) * _AGE_START + frac * _AGE_END
    age = "unknown" if rng.random() < 0.03 else _AGE_BANDS[int(rng.choice(5, p=p_age / p_age.sum()))]
    if gender == "cis_man":
        p_chem = 0.55 if d < _CHEMSEX_EVENT else 0.20
    elif gender == "cis_woman":
        p_chem = 0.10
    else:
        p_chem = 0.20
    u = rng.random()
    chemsex = "unknown" if u < 0.04 else ("yes" if rng.random() < p_chem else "no")
    injects = "unknown" if chemsex == "unknown" else (
        "yes" if rng.random() < (0.20 if chemsex == "yes" else 0.03) else "no")
    if rng.random() < 0.05:
        products = "unknown"
    else:
        chosen = [c for c, p in _OTHER_PRODUCTS if rng.random() < p]
        if chemsex == "yes":
            chosen += [c for c, p in _CHEMSEX_PRODUCTS if rng.random() < p]
        if not chosen:
            chosen = ["alcohol"]
        products = ";".join(sorted(set(chosen)))
    heard = "unknown" if rng.random() < 0.04 else _pick(rng, _HEARD)
    loyalty = 0.03 if rng.random() < 0.35 else float(rng.gamma(1.5, 1.0))  # one-off vs regular
    return {"gender": gender, "orientation": orientation, "age_band": age, "chemsex": chemsex,
            "injects": injects, "products": products, "heard_via": heard, "loyalty": loyalty,
            "first_seen": d}


def _simulate_people(counts: dict, rng) -> tuple[list[dict], pd.DataFrame]:
    """Visits (one row per passage, codes and values) from the per-session counts."""
    people: list[dict] = []
    last_seen = np.zeros(0)
    loyalty = np.zeros(0)
    chem_man = np.zeros(0, dtype=bool)
    rows = []
    for i in np.flatnonzero(counts["held"]):
        d = pd.Timestamp(counts["dates"][i]).date()
        day = float((counts["dates"][i] - counts["dates"][0]).astype(int))
        v, f = int(counts["visits"][i]), int(counts["first"][i])
        r = v - f
        chosen: list[int] = []
        if r > 0:
            gap = day - last_seen
            w = loyalty * (0.15 + np.exp(-gap / 120.0))
            if d >= _CHEMSEX_EVENT:
                w = np.where(chem_man, w * 0.25, w)
            w = np.maximum(w, 1e-9)
            chosen = [int(x) for x in rng.choice(len(people), size=r, replace=False, p=w / w.sum())]
        for pid in chosen:
            rows.append((i, pid, "no"))
        new_ids = []
        for _ in range(f):
            p = _new_person(rng, d, float(counts["t"][i]))
            p["code"] = f"V{len(people) + 1:04d}"
            people.append(p)
            new_ids.append(len(people) - 1)
            rows.append((i, len(people) - 1, "yes"))
        if new_ids:
            loyalty = np.append(loyalty, [people[k]["loyalty"] for k in new_ids])
            last_seen = np.append(last_seen, np.zeros(len(new_ids)))
            chem_man = np.append(chem_man, [people[k]["gender"] == "cis_man"
                                            and people[k]["chemsex"] == "yes" for k in new_ids])
        for pid in chosen + new_ids:
            last_seen[pid] = day
    visits = pd.DataFrame(rows, columns=["session", "person", "first_visit"])
    # shuffle rows within a session so first-timers are not always last
    visits["order"] = rng.random(len(visits))
    visits = visits.sort_values(["session", "order"], kind="stable").drop(columns="order")
    return people, visits.reset_index(drop=True)


# ---------------------------------------------------------------------------
# The full source
# ---------------------------------------------------------------------------
@dataclass
class SimulatedSource:
    """A simulated data source.

    Attributes
    ----------
    tables : dict[str, pandas.DataFrame]
        ``sessions``, ``visits``, ``services``, ``distributions``,
        ``survey_responses`` in the contract's external form (strings: ISO
        dates, codes with a few French labels).
    evaluation : dict
        Content of ``evaluation.yml``.
    truth : dict
        Every planted parameter and figure (content of ``truth.json``).
    """

    tables: dict
    evaluation: dict
    truth: dict


def _iso(x) -> str:
    return pd.Timestamp(x).strftime("%Y-%m-%d")


def _calibrate_counts(counts: dict, year_totals: dict, rng) -> dict:
    c = dict(counts)
    visits = counts["visits"].copy()
    first = counts["first"].copy()
    for year in sorted(year_totals):
        sel = counts["held"] & (counts["years"] == year)
        if not sel.any():
            continue
        lam = counts["lam"][sel]
        visits[sel] = rng.multinomial(int(year_totals[year]), lam / lam.sum())
        first[sel] = rng.binomial(visits[sel], counts["pi"][sel])
    c["visits"] = visits
    c["first"] = _pool_constraint(visits, first, counts["held"])
    return c


_THEMES = (
    ("Chemsex et réduction des risques", "produits"),
    ("Analyse de produits : comment ça marche ?", "produits"),
    ("Santé mentale et consommations", "santé mentale"),
    ("Santé trans : hormones et parcours", "santé trans"),
    ("PrEP, dépistage et santé sexuelle", "santé sexuelle"),
    ("Consentement et sexualités", "santé sexuelle"),
    ("Droits et accès aux soins", "droits"),
    ("Soirée jeux et discussion", "convivialité"),
)


def _sessions_table(counts: dict, rng) -> tuple[pd.DataFrame, dict]:
    n = len(counts["dates"])
    theme = np.full(n, "", dtype=object)
    cat = np.full(n, "", dtype=object)
    guest = np.full(n, "no", dtype=object)
    for i in np.flatnonzero(counts["themed"]):
        k = int(rng.integers(len(_THEMES)))
        theme[i], cat[i] = _THEMES[k]
        if rng.random() < 0.5:
            guest[i] = "yes" if rng.random() < 0.8 else "oui"
    status = np.where(counts["held"], "held", "cancelled").astype(object)
    df = pd.DataFrame({
        "date": [_iso(d) for d in counts["dates"]],
        "status": status,
        "theme": theme,
        "theme_category": cat,
        "guest": guest,
        "format": "on_site",
    })
    return df, {"themed_sessions": int(counts["themed"].sum())}


def _french_mix(rng, codes: pd.Series, vocabulary: str, share: float) -> pd.Series:
    """Write a share of the values as their French label (exercises the loader)."""
    out = codes.astype(object).copy()
    mask = rng.random(len(out)) < share
    out[mask] = [label(vocabulary, c, "fr") for c in out[mask]]
    return out


def _share_ok(k: int, n: int, share: float) -> bool:
    """True when k/n rounds to the percentage of ``share`` without sitting on a .5 boundary."""
    return abs(100 * k / n - round(100 * share)) < 0.5


def _calibrate_tanb(people, visits, counts, rng, target_share: float, year: int) -> dict:
    years = counts["years"]
    split = 0
    while True:
        yr = years[visits["session"].to_numpy()]
        seen = sorted(set(visits.loc[yr == year, "person"].tolist()))
        n = len(seen)
        if n == 0:
            return {"year": year, "distinct_people": 0}
        if any(_share_ok(k, n, target_share) for k in range(n + 1)):
            break
        # no whole number of people gives the share: hand one return visit of a person seen
        # several times that year to a new person (one more distinct person, one more newcomer)
        in_year = visits[(yr == year)]
        repeat = in_year["person"].map(in_year["person"].value_counts()) >= 2
        cand = in_year.index[repeat & (in_year["first_visit"] == "no")]
        if len(cand) == 0:
            break
        row = int(rng.choice(cand))
        i = int(visits.loc[row, "session"])
        p = _new_person(rng, pd.Timestamp(counts["dates"][i]).date(), float(counts["t"][i]))
        p["code"] = f"V{len(people) + 1:04d}"
        people.append(p)
        visits.loc[row, ["person", "first_visit"]] = [len(people) - 1, "yes"]
        split += 1
    # the numerator closest to target_share * n
    target = min((k for k in range(n + 1) if _share_ok(k, n, target_share)),
                 key=lambda k: abs(k / n - target_share), default=int(round(target_share * n)))
    is_tanb = [people[p]["gender"] in _TANB for p in seen]
    current = int(sum(is_tanb))
    flipped = 0
    if current > target:
        cand = [p for p, b in zip(seen, is_tanb) if b]
        for p in rng.choice(cand, size=current - target, replace=False):
            people[int(p)]["gender"] = _pick(rng, _NON_TANB)
            people[int(p)]["orientation"] = _orientation(rng, people[int(p)]["gender"])
            flipped += 1
    elif current < target:
        cand = [p for p, b in zip(seen, is_tanb) if not b]
        for p in rng.choice(cand, size=target - current, replace=False):
            people[int(p)]["gender"] = _pick(rng, _TANB_SPLIT)
            people[int(p)]["orientation"] = _orientation(rng, people[int(p)]["gender"])
            flipped += 1
    return {"year": year, "distinct_people": n, "tanb_people": target,
            "tanb_before_calibration": current, "people_regendered": flipped,
            "return_visits_given_to_new_people": split}


def _services(counts: dict, rng) -> pd.DataFrame:
    held = counts["held"]
    visits = counts["visits"]
    years = counts["years"]
    n = len(held)
    out: dict[str, np.ndarray] = {}
    visits_in = {}
    for (svc, y0, y1), total in EXACT_SERVICES.items():
        sel = held & (years >= y0) & (years <= y1)
        vis = visits[sel].astype(float)
        visits_in[svc] = (sel, vis.sum(), total)
        arr = np.zeros(n, dtype=int)
        arr[sel] = rng.multinomial(total, vis / vis.sum())
        rate = total / vis.sum()
        other = held & ~sel
        arr[other] = rng.poisson(rate * visits[other])
        out[svc] = arr
    out["psy_on_call"] = np.where(held, rng.binomial(visits, 0.10), 0)
    out["doctor_on_call"] = np.where(held, rng.binomial(visits, 0.05), 0)
    out["referral"] = np.where(held, rng.binomial(visits, 0.05), 0)
    out["hormone_injection"] = np.where(held & (years >= 2023), rng.binomial(visits, 0.02), 0)
    # sophrology: 7 sessions a full year (pro rata for a partial year), among sessions with visitors
    soph = np.zeros(n, dtype=int)
    for y in sorted(set(years.tolist())):
        cand = np.flatnonzero(held & (years == y) & (visits > 0))
        k = min(len(cand), int(round(SOPHROLOGY_PER_YEAR * min(1.0, (held & (years == y)).sum()
                                                               / 40))))
        if k:
            soph[rng.choice(cand, size=k, replace=False)] = 1
    out["sophrology"] = soph
    rows = []
    for i in range(n):
        for svc in ("trod_hiv", "trod_hcv", "trod_hbv", "sample_ccm", "sample_sintes",
                    "psy_on_call", "doctor_on_call", "hormone_injection", "sophrology",
                    "referral"):
            k = int(out[svc][i])
            if k > 0:
                rows.append({"date": _iso(counts["dates"][i]), "service": svc, "count": k})
    return pd.DataFrame(rows, columns=["date", "service", "count"])


def _distributions(counts: dict, rng) -> pd.DataFrame:
    held = counts["held"]
    visits = counts["visits"]
    years = counts["years"]
    months = np.array([pd.Timestamp(d).strftime("%Y-%m") for d in counts["dates"]])
    in_2223 = held & (years >= 2022) & (years <= 2023)
    v2223 = visits[in_2223].sum()
    m2223 = sorted(set(months[in_2223].tolist()))
    mv = np.array([visits[in_2223 & (months == mo)].sum() for mo in m2223], dtype=float)
    early = sorted(set(months[held & (years < 2022)].tolist()))
    rows = []
    for item, total in MATERIAL_TOTALS_2022_2023.items():
        rate = total / v2223
        for mo in early:
            q = int(rng.poisson(rate * visits[held & (months == mo)].sum()))
            if q > 0:
                rows.append({"date": "", "month": mo, "item": item, "quantity": q})
        for mo, q in zip(m2223, rng.multinomial(total, mv / mv.sum())):
            if q > 0:
                rows.append({"date": "", "month": mo, "item": item, "quantity": int(q)})
        # from 2024 the team records material per session
        for i in np.flatnonzero(held & (years > 2023)):
            q = int(rng.poisson(rate * visits[i]))
            if q > 0:
                rows.append({"date": _iso(counts["dates"][i]), "month": "", "item": item,
                             "quantity": q})
    df = pd.DataFrame(rows, columns=["date", "month", "item", "quantity"])
    df["_key"] = df["month"].where(df["month"] != "", df["date"].str[:7])
    df = df.sort_values(["_key", "date", "item"], kind="stable").drop(columns="_key")
    return df.reset_index(drop=True)


# -- surveys ---------------------------------------------------------------
_SATISFACTION_N = 31
_SATISFACTION_WELCOME = {"very_satisfied": 17, "satisfied": 11, "neutral": 2,
                         "dissatisfied": 1, "very_dissatisfied": 0}
_SATISFACTION_MATERIAL = {"yes": 26, "no": 3}  # 2 did not answer
_SATISFACTION_COMMENTS = 9
_GENERIC_COMMENTS = ("Merci à l'équipe.", "Rien à ajouter.", "Continuez comme ça.")
_CONSULTATION_N = 113
_VOTE = {"l_escale": 54, "la_permanence": 27, "safe_place": 20, "le_refuge": 12}
_KEEP_WEEKLY = {"yes": 89, "no": 17}  # 7 did not answer
_THEMED_INTEREST = {"yes": 84, "no": 22}  # 7 did not answer
_THEMES_WANTED_P = {"chemsex": 0.45, "trans_health": 0.40, "sexual_health": 0.50,
                    "drug_checking": 0.35, "mental_health": 0.55, "rights": 0.25}


_LIKERT = {
    "very_dissatisfied": ("Pas du tout satisfait·e", "Very dissatisfied"),
    "dissatisfied": ("Pas satisfait·e", "Dissatisfied"),
    "neutral": ("Ni l'un ni l'autre", "Neutral"),
    "satisfied": ("Satisfait·e", "Satisfied"),
    "very_satisfied": ("Très satisfait·e", "Very satisfied"),
}
_VOTE_LABELS = {  # invented names of the synthetic example
    "l_escale": ("L'Escale", "L'Escale"),
    "la_permanence": ("La Perm'", "La Perm'"),
    "safe_place": ("Safe Place", "Safe Place"),
    "le_refuge": ("Le Refuge", "Le Refuge"),
}
_THEMES_WANTED_LABELS = {
    "chemsex": ("Chemsex", "Chemsex"),
    "trans_health": ("Santé trans", "Trans health"),
    "sexual_health": ("Santé sexuelle", "Sexual health"),
    "drug_checking": ("Analyse de produits", "Drug checking"),
    "mental_health": ("Santé mentale", "Mental health"),
    "rights": ("Droits et accès aux soins", "Rights and access to care"),
}


def _labelled(pairs: dict) -> dict:
    return {code: {"label_fr": fr, "label_en": en} for code, (fr, en) in pairs.items()}


def _survey_block() -> dict:
    yn = "yes_no"
    return {
        "satisfaction_2023": {
            "label_fr": "Questionnaire de satisfaction 2023 (exemple synthétique)",
            "label_en": "2023 satisfaction survey (synthetic example)",
            "questions": {
                "felt_listened": {"type": yn, "label_fr": "Je me suis senti·e écouté·e",
                                  "label_en": "I felt listened to"},
                "welcome": {"type": "likert", "levels": _labelled(_LIKERT),
                            "label_fr": "Satisfaction quant à l'accueil",
                            "label_en": "Satisfaction with the welcome"},
                "material_useful": {"type": yn, "label_fr": "Le matériel proposé m'est utile",
                                    "label_en": "The material offered is useful to me"},
                "comment": {"type": "free_text", "label_fr": "Commentaire libre",
                            "label_en": "Free comment"},
            },
        },
        "consultation_2024": {
            "label_fr": "Consultation des usager·es 2024 (exemple synthétique)",
            "label_en": "2024 users' consultation (synthetic example)",
            "questions": {
                "new_name": {"type": "vote", "options": _labelled(_VOTE_LABELS),
                             "label_fr": "Nouveau nom de la permanence",
                             "label_en": "New name for the drop-in"},
                "keep_weekly": {"type": yn, "label_fr": "Garder le rythme hebdomadaire",
                                "label_en": "Keep the weekly rhythm"},
                "themed_interest": {"type": yn,
                                    "label_fr": "Intérêt pour des permanences thématiques",
                                    "label_en": "Interest in themed sessions"},
                "themes_wanted": {"type": "multi", "options": _labelled(_THEMES_WANTED_LABELS),
                                  "label_fr": "Thèmes souhaités",
                                  "label_en": "Themes wanted"},
            },
        },
    }


def _answers(rng, counts: dict, n: int) -> list:
    """Exact counts spread at random over n respondents (None = no answer)."""
    vals = [k for k, c in counts.items() for _ in range(c)]
    vals += [None] * (n - len(vals))
    return [vals[i] for i in rng.permutation(n)]


def _surveys(rng) -> tuple[pd.DataFrame, dict]:
    rows = []
    n = _SATISFACTION_N
    welcome = _answers(rng, _SATISFACTION_WELCOME, n)
    material = _answers(rng, _SATISFACTION_MATERIAL, n)
    commenters = set(rng.choice(n, size=_SATISFACTION_COMMENTS, replace=False).tolist())
    for r in range(n):
        rid = str(r + 1)
        rows.append(("satisfaction_2023", rid, "felt_listened", "oui" if r % 5 == 0 else "yes"))
        if welcome[r] is not None:
            rows.append(("satisfaction_2023", rid, "welcome", welcome[r]))
        if material[r] is not None:
            rows.append(("satisfaction_2023", rid, "material_useful", material[r]))
        if r in commenters:
            rows.append(("satisfaction_2023", rid, "comment",
                         _GENERIC_COMMENTS[int(rng.integers(len(_GENERIC_COMMENTS)))]))
    n = _CONSULTATION_N
    vote = _answers(rng, _VOTE, n)
    weekly = _answers(rng, _KEEP_WEEKLY, n)
    themed = _answers(rng, _THEMED_INTEREST, n)
    wanted_counts = dict.fromkeys(_THEMES_WANTED_P, 0)
    wanted_respondents = 0
    for r in range(n):
        rid = str(r + 1)
        rows.append(("consultation_2024", rid, "new_name", vote[r]))
        if weekly[r] is not None:
            rows.append(("consultation_2024", rid, "keep_weekly", weekly[r]))
        if themed[r] is not None:
            rows.append(("consultation_2024", rid, "themed_interest", themed[r]))
        if themed[r] == "yes":
            chosen = [k for k, p in _THEMES_WANTED_P.items() if rng.random() < p]
            if chosen:
                wanted_respondents += 1
                for k in chosen:
                    wanted_counts[k] += 1
                rows.append(("consultation_2024", rid, "themes_wanted", ";".join(chosen)))
    df = pd.DataFrame(rows, columns=["survey", "response_id", "question", "answer"])
    truth = {
        "satisfaction_2023": {
            "respondents": _SATISFACTION_N,
            "felt_listened": {"yes": _SATISFACTION_N, "no": 0, "share_yes": 1.0},
            "welcome": dict(_SATISFACTION_WELCOME),
            "material_useful": dict(_SATISFACTION_MATERIAL),
            "comment_count": _SATISFACTION_COMMENTS,
        },
        "consultation_2024": {
            "respondents": _CONSULTATION_N,
            "new_name": dict(_VOTE),
            "new_name_winner": max(_VOTE, key=_VOTE.get),
            "keep_weekly": dict(_KEEP_WEEKLY),
            "themed_interest": dict(_THEMED_INTEREST),
            "themes_wanted": wanted_counts,
            "themes_wanted_respondents": wanted_respondents,
        },
    }
    return df, truth


def _evaluation(m: CountModel) -> dict:
    return {
        "programme": "Permanence QSP (exemple synthétique)",
        "organisation": "Association (exemple synthétique)",
        "language": "fr",
        "synthetic": True,
        "launch_date": m.start,
        "session_weekday": int(m.start.weekday()),
        "change": {
            "name": "theming",
            "start": m.theming_start,
            "label_fr": "Thématisation de certaines permanences",
            "label_en": "Theming of some sessions",
        },
        "events": [{
            "date": _CHEMSEX_EVENT,
            "label_fr": "Ouverture d'un service chemsex à proximité",
            "label_en": "A dedicated chemsex service opens nearby",
            "kind": "context",
            "sensitivity": True,
        }],
        "disclosure": {"preset": "default"},
        "reporting_groups": {
            "gender": {
                "tanb": {
                    "label_fr": "Personnes trans, agenres et non-binaires",
                    "label_en": "Trans, agender and non-binary people",
                    "members": list(_TANB),
                },
            },
        },
        "surveys": _survey_block(),
    }


def _r(x: float, k: int = 4) -> float:
    return float(round(float(x), k))


def simulate_source(
    seed: int = DEFAULT_SEED,
    *,
    start=date(2021, 11, 3),
    end=date(2024, 12, 31),
    theming_start=date(2024, 1, 10),
    themed_rate_ratio: float = 1.5,
    first_time_rate_ratio: float = 1.8,
    level_change_rate_ratio: float = 1.0,
    slope_change_per_year: float = -0.771,
    dispersion: float | None = 12.0,
    year_totals: dict | None = None,
    tanb_share_2023: float = 0.38,
    **params,
) -> SimulatedSource:
    """Simulate the complete SYNTHETIC example data source.

    Counts come from the model of :func:`simulate_session_counts` (same seed,
    same draws), then the visits of the years in ``year_totals`` are
    conditioned on their totals (multinomial with probabilities proportional
    to the drawn gamma-Poisson rates). People are then created for the
    first-time visitors (pseudonymous codes ``V0001``...) and returning
    visitors drawn among the people already seen (weights: a loyalty
    propensity, 35% near one-off visitors, times recency; chemsex-practising
    cis men come back 4 times less after the chemsex service opens on
    2023-05-15, and fewer new cis men practise chemsex after it). A person's
    gender, orientation, age band, chemsex, injecting, products and
    "heard via" are fixed; newcomers are more often trans, agender or
    non-binary and younger as time goes on. The gender of a few 2023 people is
    reassigned so the share of trans, agender and non-binary people among the
    distinct people of 2023 is ``tanb_share_2023`` to the nearest person
    (every 2023 person has a stated gender, so the share is the same with or
    without unknowns in the denominator). Services, material and survey
    answers are planted with the exact totals of the capitalisation record.

    Parameters
    ----------
    seed : int
        Seed (default 2021: the committed ``data/example/``).
    start, end, theming_start, themed_rate_ratio, first_time_rate_ratio,
    level_change_rate_ratio, slope_change_per_year, dispersion, **params
        As for :func:`simulate_session_counts`.
    year_totals : dict[int, int], optional
        Year -> exact number of visits. Default: 234 in 2023 and
        round(2.79 x held sessions) in 2021.
    tanb_share_2023 : float
        Share planted among the distinct people seen in 2023.

    Returns
    -------
    SimulatedSource
        ``tables`` (external form), ``evaluation`` (evaluation.yml content),
        ``truth`` (truth.json content). Missing values: a few visit rows have
        ``first_visit`` "unknown" (2022), three people seen only outside 2023
        have no stated gender, about 3-5% of people have an unknown
        orientation, age band, chemsex, products or "heard via".

    Examples
    --------
    >>> src = simulate_source(2021)
    >>> sorted(src.tables)
    ['distributions', 'services', 'sessions', 'survey_responses', 'visits']
    """
    params.update(start=start, end=end, theming_start=theming_start,
                  themed_rate_ratio=themed_rate_ratio, first_time_rate_ratio=first_time_rate_ratio,
                  level_change_rate_ratio=level_change_rate_ratio,
                  slope_change_per_year=slope_change_per_year, dispersion=dispersion)
    m = _model(params)
    rngs = _rngs(seed)
    raw = _draw_counts(m, rngs)
    held, years = raw["held"], raw["years"]
    if year_totals is None:
        year_totals = {2023: 234}
        n21 = int((held & (years == 2021)).sum())
        if n21:
            year_totals[2021] = int(round(2.79 * n21))
    counts = _calibrate_counts(raw, year_totals, rngs["calibration"])

    people, visit_rows = _simulate_people(counts, rngs["people"])
    rp = rngs["people"]
    tanb_truth = _calibrate_tanb(people, visit_rows, counts, rngs["calibration"],
                                 tanb_share_2023, 2023)
    vyear = years[visit_rows["session"].to_numpy()]
    # three people seen only outside 2023 did not state their gender
    in23 = set(visit_rows.loc[vyear == 2023, "person"].tolist())
    outside = sorted(set(visit_rows["person"].tolist()) - in23)
    unknown_gender = sorted(int(x) for x in rp.choice(outside, size=min(3, len(outside)),
                                                      replace=False))
    for p in unknown_gender:
        people[p]["gender"] = "unknown"

    # the external visits table
    vis = pd.DataFrame({
        "date": [_iso(counts["dates"][s]) for s in visit_rows["session"]],
        "visitor_code": [people[p]["code"] for p in visit_rows["person"]],
        "first_visit": visit_rows["first_visit"].to_numpy(dtype=object),
    })
    for col in ("gender", "orientation", "age_band", "chemsex", "injects", "products",
                "heard_via"):
        vis[col] = [people[p][col] for p in visit_rows["person"]]
    rl = rngs["labels"]
    # a few 2022 rows where "first visit" was not filled in
    idx22 = np.flatnonzero(vyear == 2022)
    blank_first = np.sort(rl.choice(idx22, size=min(6, len(idx22)), replace=False))
    vis.loc[blank_first, "first_visit"] = ""
    # a share of values written as French labels, as a coordinator would type them
    vis["gender"] = _french_mix(rl, vis["gender"], "gender", 0.15)
    known = vis["first_visit"] != ""
    vis.loc[known, "first_visit"] = _french_mix(rl, vis.loc[known, "first_visit"],
                                                "yes_no_unknown", 0.15)
    vis["chemsex"] = _french_mix(rl, vis["chemsex"], "yes_no_unknown", 0.10)
    for col in ("orientation", "age_band", "chemsex", "injects", "products", "heard_via",
                "gender"):
        vis.loc[vis[col] == "unknown", col] = ""

    sessions, sess_truth = _sessions_table(counts, rngs["themed"])
    services = _services(counts, rngs["services"])
    distributions = _distributions(counts, rngs["distributions"])
    surveys, survey_truth = _surveys(rngs["surveys"])
    tables = {"sessions": sessions, "visits": vis, "services": services,
              "distributions": distributions, "survey_responses": surveys}
    evaluation = _evaluation(m)
    truth = _truth(seed, m, raw, counts, people, visit_rows, year_totals, tanb_truth,
                   unknown_gender, blank_first, services, distributions, survey_truth,
                   sess_truth)
    return SimulatedSource(tables=tables, evaluation=evaluation, truth=truth)


def _truth(seed, m, raw, counts, people, visit_rows, year_totals, tanb_truth, unknown_gender,
           blank_first, services, distributions, survey_truth, sess_truth) -> dict:
    held, years = counts["held"], counts["years"]
    vyear = years[visit_rows["session"].to_numpy()]
    vdates = counts["dates"][visit_rows["session"].to_numpy()]
    first_known = np.ones(len(visit_rows), dtype=bool)
    first_known[blank_first] = False
    per_year = {}
    for y in sorted(set(years.tolist())):
        sel = held & (years == y)
        nv = int(counts["visits"][sel].sum())
        pp = sorted(set(visit_rows.loc[vyear == y, "person"].tolist()))
        tanb = sum(people[p]["gender"] in _TANB for p in pp)
        unknown = sum(people[p]["gender"] == "unknown" for p in pp)
        ages = pd.Series([people[p]["age_band"] for p in pp]).value_counts().to_dict()
        per_year[str(y)] = {
            "sessions_scheduled": int((years == y).sum()),
            "sessions_held": int(sel.sum()),
            "sessions_cancelled": int(((years == y) & ~held).sum()),
            "sessions_held_zero_visits": int((sel & (counts["visits"] == 0)).sum()),
            "visits": nv,
            "mean_visits_per_held_session": _r(nv / sel.sum()) if sel.any() else None,
            "model_mean_visits_per_held_session": _r(raw["mu"][sel].mean()) if sel.any() else None,
            "first_time_visitors_stated_yes": int(((visit_rows["first_visit"] == "yes").to_numpy()
                                                   & first_known & (vyear == y)).sum()),
            "first_visit_unknown_rows": int((~first_known & (vyear == y)).sum()),
            "distinct_people": len(pp),
            "tanb_people": int(tanb),
            "unknown_gender_people": int(unknown),
            "tanb_share_of_distinct_people": _r(tanb / len(pp)) if pp else None,
            "age_band_people": {k: int(v) for k, v in sorted(ages.items())},
        }
    # chemsex-practising cis men among distinct people before / after the event
    ev = np.datetime64(_CHEMSEX_EVENT, "D")
    chem = {}
    for name, sel in (("before", vdates < ev), ("after", vdates >= ev)):
        pp = sorted(set(visit_rows.loc[sel, "person"].tolist()))
        k = sum(people[p]["gender"] == "cis_man" and people[p]["chemsex"] == "yes" for p in pp)
        kv = sum(people[visit_rows.loc[i, "person"]]["gender"] == "cis_man"
                 and people[visit_rows.loc[i, "person"]]["chemsex"] == "yes"
                 for i in np.flatnonzero(sel))
        chem[name] = {"distinct_people": len(pp), "chemsex_cis_men_people": int(k),
                      "share_people": _r(k / len(pp)), "visits": int(sel.sum()),
                      "chemsex_cis_men_visits": int(kv), "share_visits": _r(kv / sel.sum())}
    svc_year = services.assign(year=services["date"].str[:4]).groupby(
        ["service", "year"])["count"].sum()
    svc = {s: {y: int(v) for y, v in svc_year[s].items()} for s in svc_year.index.levels[0]
           if s in svc_year.index.get_level_values(0)}
    dyear = distributions["month"].where(distributions["month"] != "",
                                         distributions["date"].str[:7]).str[:4]
    d2223 = distributions[dyear.isin(["2022", "2023"])].groupby("item")["quantity"].sum()
    by_cat: dict[str, int] = {}
    for item, q in d2223.items():
        by_cat[ITEM_CATEGORY[item]] = by_cat.get(ITEM_CATEGORY[item], 0) + int(q)
    after = held & raw["after"]
    themed = after & counts["themed"]
    plain = after & ~counts["themed"]
    return {
        "synthetic": True,
        "description": "SYNTHETIC example data generated by qsp-eval simulate: no real person.",
        "seed": int(seed),
        "random_generator": "numpy.random.SeedSequence(seed).spawn(9) -> Generator(PCG64) per "
                            "stage: " + ", ".join(_STREAMS),
        "regenerate": f"qsp-eval simulate OUT_DIR --seed {seed}",
        "count_model": {
            "formula": "log mu = intercept + trend*t + season_sin*sin(2*pi*doy/365.25) + "
                       "season_cos*cos(2*pi*doy/365.25) + log(level_change_rate_ratio)*after + "
                       "slope_change_per_year*(t - t0)*after + "
                       "log(themed_rate_ratio)*themed; visits ~ Poisson(mu*G), "
                       "G ~ Gamma(shape=dispersion, scale=1/dispersion); t = years since start "
                       "(days/365.25), t0 = t at theming_start",
            "t0_years": _r(_t0(m), 6),
            "trend_after_theming_start": _r(m.trend + m.slope_change_per_year),
            "first_time_formula": "first ~ Binomial(visits, first_time_share*exp(first_time_trend"
                                  "*t)*(first_time_rate_ratio/themed_rate_ratio)**themed), "
                                  "at least visits minus people seen before",
            "themed_assignment": "each held session on or after theming_start is themed with "
                                 "probability themed_probability; guests have no effect",
            "parameters": m.as_dict(),
            "season_trough_doy": 213,
            "season_amplitude_log": _r(math.hypot(m.season_sin, m.season_cos)),
            "cancellation_rule": "Christmas closure 24 Dec-1 Jan, summer closure 1-21 Aug, "
                                 "French fixed-date public holidays, plus extra_cancellations "
                                 "per year at random (never the launch session)",
        },
        "calibrated": {
            "visit_totals_by_year": {str(k): int(v) for k, v in sorted(year_totals.items())},
            "method_visits": "visits of these years conditioned on the total: multinomial with "
                             "probabilities proportional to the drawn gamma-Poisson rates; "
                             "first-time visitors of these years redrawn from the binomial",
            "tanb_share_2023": tanb_truth,
            "tanb_denominator": "distinct people (visitor codes) seen in 2023, unknown gender "
                                "included; no 2023 person has an unknown gender",
            "exact_totals": "services (samples 2022-2023, rapid tests 2023), material 2022-2023 "
                            "and survey answer counts are planted exactly",
            "not_calibrated": "other years' visits, first-time visitors, profiles other than the "
                              "2023 tanb share, 2021 and 2024 services and material (Poisson at "
                              "the 2022-2023 rate per visit)",
        },
        "figures_by_year": per_year,
        "figures_2023": {
            "sessions_held": per_year.get("2023", {}).get("sessions_held"),
            "visits": per_year.get("2023", {}).get("visits"),
            "mean_visits_per_held_session": per_year.get("2023", {}).get(
                "mean_visits_per_held_session"),
            "tanb_people": per_year.get("2023", {}).get("tanb_people"),
            "distinct_people": per_year.get("2023", {}).get("distinct_people"),
            "tanb_share_percent": round(100 * per_year["2023"]["tanb_people"]
                                        / per_year["2023"]["distinct_people"])
            if per_year.get("2023", {}).get("distinct_people") else None,
        },
        "chemsex_cis_men": {"event_date": _CHEMSEX_EVENT.isoformat(), **chem,
                            "mechanism": "new cis men practise chemsex with probability 0.55 "
                                         "before, 0.20 after; chemsex cis men come back 4 times "
                                         "less after the event"},
        "age_bands_new_people": {"start": dict(zip(_AGE_BANDS, _AGE_START.tolist())),
                                 "after_3_years": dict(zip(_AGE_BANDS, _AGE_END.tolist())),
                                 "interpolation": "linear in years since start"},
        "tanb_newcomer_probability": "1 / (1 + exp(-(-1.4 + 0.75 t)))",
        "unknowns": {"first_visit_blank_rows": len(blank_first),
                     "people_unknown_gender": len(unknown_gender)},
        "services_by_year": svc,
        "services_exact": {f"{s}_{y0}_{y1}": t for (s, y0, y1), t in EXACT_SERVICES.items()},
        "sophrology_rule": "7 sessions in each year with at least 40 held sessions, "
                           "round(7 x held / 40) otherwise, among sessions with visitors",
        "material_totals_2022_2023": {k: int(d2223.get(k, 0)) for k in MATERIAL_TOTALS_2022_2023},
        "material_totals_2022_2023_by_category": by_cat,
        "material_recording": "by month (month column) until 2023, by session (date) from 2024",
        "theming": {
            "start": m.theming_start.isoformat(),
            "planted_themed_rate_ratio_visits": m.themed_rate_ratio,
            "planted_themed_rate_ratio_first_time": m.first_time_rate_ratio,
            "planted_level_change_rate_ratio": m.level_change_rate_ratio,
            "planted_slope_change_per_year": m.slope_change_per_year,
            "planted_slope_change_rate_ratio_per_year": _r(math.exp(m.slope_change_per_year)),
            "its_model": "count ~ trend + level_change + slope_change*(t - t0)*after + "
                         "season (1 harmonic) + themed: correctly specified",
            "themed_sessions": int(themed.sum()),
            "plain_sessions_after_start": int(plain.sum()),
            "mean_visits_themed": _r(counts["visits"][themed].mean()) if themed.any() else None,
            "mean_visits_plain_after_start": _r(counts["visits"][plain].mean())
            if plain.any() else None,
            "sessions_table": sess_truth,
        },
        "surveys": survey_truth,
    }


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _readme(seed: int, truth: dict) -> str:
    f = truth["figures_2023"]
    return (
        "# Données d'exemple SYNTHÉTIQUES / SYNTHETIC example data\n\n"
        "**Ces données sont synthétiques** : elles ont été générées par `qsp-eval simulate` et ne "
        "décrivent aucune personne réelle. Elles imitent une permanence hebdomadaire de réduction "
        "des risques (depuis novembre 2021) pour tester et montrer l'atelier.\n\n"
        "**This data is SYNTHETIC**: generated by `qsp-eval simulate`, it describes no real "
        "person. It mimics a weekly harm-reduction drop-in (since November 2021) to test and "
        "demonstrate the workbench.\n\n"
        f"- Graine / seed : {seed}\n"
        f"- Régénérer / regenerate : `qsp-eval simulate DOSSIER --seed {seed}` "
        "(`--force` pour remplacer un dossier existant / to replace an existing folder)\n"
        f"- 2023 : {f['visits']} passages, {f['sessions_held']} permanences tenues, "
        f"{f['tanb_share_percent']} % de personnes trans, agenres et non-binaires\n"
        + _readme_2024(truth) +
        "- `truth.json` : tous les paramètres et chiffres plantés / every planted parameter "
        "and figure\n"
    )


def _readme_2024(truth: dict) -> str:
    y = truth["figures_by_year"].get("2024")
    th = truth["theming"]
    if not y or not y["sessions_held"]:
        return ""

    def fr(x: float) -> str:
        return f"{x:g}".replace(".", ",").replace("-", "−")

    mean = round(y["mean_visits_per_held_session"], 1)
    rr_v, rr_f = th["planted_themed_rate_ratio_visits"], th["planted_themed_rate_ratio_first_time"]
    slope = th["planted_slope_change_per_year"]
    after = truth["count_model"]["trend_after_theming_start"]
    return (
        f"- 2024 : {y['visits']} passages, {y['sessions_held']} permanences tenues "
        f"({fr(mean)} en moyenne), dont {th['themed_sessions']} thématisées / "
        f"2024: {y['visits']} visits, {y['sessions_held']} sessions held ({mean:g} on average), "
        f"{th['themed_sessions']} themed\n"
        f"- Effets plantés : permanence thématisée ×{fr(rr_v)} sur les passages, "
        f"×{fr(rr_f)} sur les premières venues ; au début de la thématisation la croissance "
        f"s'arrête et la fréquentation décroît doucement (changement de pente {fr(slope)} par an, tendance {fr(after)} par an "
        f"ensuite) / planted effects: themed session ×{rr_v:g} on visits, ×{rr_f:g} on "
        f"first-time visitors; growth stops when theming starts and attendance eases (slope change {slope:g} per "
        f"year, trend {after:g} per year after it)\n"
    )


def write_simulation(out_dir, *, seed: int = DEFAULT_SEED, overwrite: bool = False,
                     **params) -> list[Path]:
    """Simulate and write the SYNTHETIC example source to ``out_dir``.

    Writes ``sessions.csv``, ``visits.csv``, ``services.csv``,
    ``distributions.csv``, ``survey_responses.csv``, ``evaluation.yml``,
    ``truth.json`` (through :func:`qsp_eval.io.write_source`) and a
    ``README.md`` saying the data is synthetic. Everything is first written to
    a temporary folder beside ``out_dir`` and moved into place only when
    complete, so a failure leaves nothing half-written.

    Parameters
    ----------
    out_dir : path-like
        Destination folder. If it exists and is not empty, ``overwrite=True``
        is needed; the files above are then replaced (other files are kept).
    seed : int
        Seed (default 2021).
    **params
        Passed to :func:`simulate_source`.

    Returns
    -------
    list of Path
        The files written, in ``out_dir``.

    Examples
    --------
    >>> # write_simulation("data/example", seed=2021, overwrite=True)
    """
    from .io import write_source, write_text

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"« {out} » existe et n'est pas un dossier",
                             f"'{out}' exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ParameterError(
            f"le dossier « {out} » n'est pas vide : choisissez un autre dossier ou ajoutez --force",
            f"the folder '{out}' is not empty: choose another folder or add --force",
        )
    src = simulate_source(seed, **params)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; give the folder the usual rights
    try:
        written = write_source(src.tables, src.evaluation, tmp,
                               extra_json={"truth.json": src.truth})
        written.append(write_text(_readme(seed, src.truth), tmp / "README.md"))
        if not out.exists():
            os.replace(tmp, out)
            return [out / p.name for p in written]
        out.mkdir(parents=True, exist_ok=True)
        final = []
        for p in written:
            os.replace(p, out / p.name)
            final.append(out / p.name)
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
