"""Tests of qsp_eval.theming: hand-worked numbers, rules, and recovery/coverage on simulated data.

Simulated data come from qsp_eval.simulate.simulate_session_counts, whose generative model
(negative binomial counts with a planted themed rate ratio) is written in its docstring.
"""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval.errors import ParameterError
from qsp_eval.schema import Change, EvaluationConfig, Event
from qsp_eval.simulate import simulate_session_counts
from qsp_eval.testing import make_dataset
from qsp_eval.theming import (
    ThemingResult,
    _batch_glm,
    grade_evidence,
    make_verdict,
    naive_before_after,
    session_series,
    themed_vs_plain,
    theming_analysis,
)

START = "2024-01-10"
CONFIG = EvaluationConfig(
    change=Change("theming", date(2024, 1, 10), "Thématisation", "Theming"),
    events=(Event(date(2023, 5, 15), "Ouverture d'un service chemsex", "Chemsex service opens"),),
)


def _dataset(sim: pd.DataFrame, config=CONFIG):
    """Internal-form dataset from simulate_session_counts output (tallies per session)."""
    rows = []
    for r in sim.itertuples():
        held = r.status == "held"
        rows.append({"date": r.date, "status": r.status,
                     "theme": "thème" if r.themed else pd.NA,
                     "attendance": int(r.visits) if held else pd.NA,
                     "new_visitors": int(r.first_time_visitors) if held else pd.NA})
    return make_dataset(rows, config=config)


def _series(sim: pd.DataFrame) -> pd.DataFrame:
    """The session series straight from the simulator (what session_series gives)."""
    d = sim.loc[sim["status"] == "held"].reset_index(drop=True)
    s = pd.DataFrame({"date": d["date"], "visits": d["visits"].astype(float),
                      "first_time_visitors": d["first_time_visitors"].astype(float),
                      "themed": d["themed"].astype(bool), "after": d["after"].astype(bool)})
    s["themed_after"] = (s["themed"] & s["after"]).astype(float)
    return s


# ---------------------------------------------------------------------------
# By hand
# ---------------------------------------------------------------------------
def test_naive_before_after_by_hand():
    s = pd.DataFrame({"date": pd.to_datetime(["2023-01-04", "2023-01-11", "2024-01-10",
                                              "2024-01-17"]),
                      "visits": [2.0, 4.0, 6.0, 6.0], "after": [False, False, True, True]})
    t = naive_before_after(s).set_index("period")
    # before: 6 visits / 2 sessions = 3; Garwood: (χ²_{0.025,12}/2, χ²_{0.975,14}/2) / 2
    # = (4.404/4, 26.119/4) = (1.101, 6.530)  [chi-square table]
    assert t.loc["before", "estimate"] == 3
    assert t.loc["before", "ci_low"] == pytest.approx(1.101, abs=1e-3)
    assert t.loc["before", "ci_high"] == pytest.approx(6.530, abs=1e-3)
    # after: 12 / 2 = 6; (χ²_{0.025,24}/2, χ²_{0.975,26}/2) / 2 = (12.401/4, 41.923/4)
    assert t.loc["after", "ci_low"] == pytest.approx(3.100, abs=1e-3)
    assert t.loc["after", "ci_high"] == pytest.approx(10.481, abs=1e-3)
    # ratio 6/3 = 2, SE = sqrt(1/6 + 1/12) = 0.5, CI = 2·exp(∓1.959964·0.5) = (0.75062, 5.32891)
    assert t.loc["ratio", "estimate"] == pytest.approx(2.0)
    assert t.loc["ratio", "ci_low"] == pytest.approx(0.75062, rel=1e-4)
    assert t.loc["ratio", "ci_high"] == pytest.approx(5.32891, rel=1e-4)


@pytest.mark.parametrize("lo, hi, placebo, sens, expected", [
    (1.2, 2.1, True, True, "strong"),
    (1.2, 2.1, True, False, "moderate"),
    (1.2, 2.1, False, True, "weak"),       # no placebo passed: sensitivity alone is weak
    (1.2, 2.1, False, False, "weak"),
    (0.8, 1.7, True, True, "inconclusive"),
    (0.5, 0.9, True, True, "strong"),      # a clear drop is graded the same way
    # by hand: ln 1.02 = 0.01980, ln 1.75 = 0.55962 → log RR 0.28971, SE = 0.53982/3.91993
    # = 0.13771, z = 2.104 < 2.576 (p ≈ 0.035): both checks pass but only "moderate"
    (1.02, 1.75, True, True, "moderate"),
    # (1.2, 2.1): z = 0.46210 / 0.14276 = 3.24 ≥ 2.576 → strong (first row above)
    (float("nan"), float("nan"), True, True, "inconclusive"),
])
def test_grade_evidence_rules(lo, hi, placebo, sens, expected):
    assert grade_evidence(lo, hi, placebo_passed=placebo, sensitivity_passed=sens) == expected


_EMPTY_SENS = pd.DataFrame(columns=["run", "term", "rate_ratio", "ci_low", "ci_high", "p_value"])


@settings(max_examples=40, deadline=None)
@given(rr=st.floats(0.3, 3.0), width=st.floats(0.05, 1.5), p_placebo=st.floats(0.04, 1.0),
       mdrr=st.one_of(st.just(float("nan")), st.floats(1.05, 4.0)))
def test_verdict_never_says_caused(rr, width, p_placebo, mdrr):
    lo, hi = rr * math.exp(-width), rr * math.exp(width)
    est = {"rate_ratio": rr, "ci_low": lo, "ci_high": hi}
    overall = {"ratio": rr, "ci_low": lo, "ci_high": hi, "n": 40, "observed": 400.0,
               "expected": 400.0 / rr, "difference": 400.0 - 400.0 / rr,
               "difference_low": 400.0 * (1 - 1 / lo), "difference_high": 400.0 * (1 - 1 / hi),
               "status": "estimated"}
    v = make_verdict(its_level=est, themed=est, first_time=est, overall=overall,
                     placebo={"cumulative": {"n": 20, "p_placebo": p_placebo,
                                             "n_as_extreme": 1}},
                     sensitivity=_EMPTY_SENS, mdrr={"level_change": mdrr}, naive_ratio=2.0)
    assert v.evidence in ("strong", "moderate", "weak", "inconclusive")
    assert "caused" not in v.text_en.lower() and "a causé" not in v.text_fr.lower()
    assert "not proof of a cause" in v.text_en
    # (a) comes first, with the cumulative difference and its interval
    assert v.text_en.startswith("Since theming started")
    assert "than expected (95% CI" in v.text_en and "que prévu (IC 95 % de" in v.text_fr
    if lo <= 1 <= hi:
        assert v.evidence == "inconclusive"
        assert "cannot tell" in v.text_en and "ne permettent pas de dire" in v.text_fr
        if np.isfinite(mdrr):
            assert "80% power" in v.text_en
    else:
        assert "associated with" in v.text_en and "associé à" in v.text_fr


def test_batch_glm_matches_statsmodels():
    # the vectorised IRLS used for power must give the same fit as statsmodels
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    x = np.linspace(0, 2, 60)
    X = np.column_stack([np.ones_like(x), x, (x > 1).astype(float)])
    Y = rng.poisson(np.exp(1 + 0.3 * x)[:, None] * np.ones((1, 3))).astype(float)
    for alpha in (0.0, 0.2):
        beta, cov = _batch_glm(X, Y, alpha=alpha)
        fam = sm.families.Poisson() if alpha == 0 else sm.families.NegativeBinomial(alpha=alpha)
        for k in range(3):
            r = sm.GLM(Y[:, k], X, family=fam).fit()
            assert beta[k] == pytest.approx(np.asarray(r.params), rel=1e-6)
            assert np.sqrt(np.diag(cov[k])) == pytest.approx(np.asarray(r.bse), rel=1e-5)


# ---------------------------------------------------------------------------
# The whole analysis on simulated data
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analysis() -> ThemingResult:
    sim = simulate_session_counts(7, themed_rate_ratio=1.5)
    return theming_analysis(_dataset(sim), n_placebo=12, n_sim=60, seed=1)


def test_analysis_tables_and_json(analysis):
    r = analysis
    assert list(r.effects["term"][:2]) == ["level_change", "slope_change"]
    assert {"rate_ratio", "ci_low", "ci_high", "p_value"} <= set(r.effects.columns)
    assert list(r.themed_vs_plain["outcome"]) == ["visits", "first_time_visitors"]
    post = r.series.loc[r.series["after"]]
    assert r.themed_vs_plain["n_themed"].iloc[0] == int(post["themed"].sum())
    assert r.themed_vs_plain["n_plain"].iloc[0] == int((~post["themed"]).sum())
    assert len(r.placebo) > 0 and set(r.placebo["term"]) <= {"level_change", "themed_after",
                                                             "cumulative"}
    assert (r.placebo["fake_start"] < r.start).all()
    # the context event gives one sensitivity run per term
    assert set(r.sensitivity["term"]) == {"level_change", "themed_after", "cumulative"}
    assert r.verdict.evidence in ("strong", "moderate", "weak", "inconclusive")
    d = json.loads(json.dumps(r.to_dict("en")))  # JSON-serialisable
    assert {"its", "themed_vs_plain", "naive", "placebo", "minimal_detectable_rate_ratio",
            "verdict"} <= set(d)
    assert [e["term"] for e in d["its"]["effects"]][:2] == ["level_change", "slope_change"]
    for k in ("visits", "first_time_visitors"):
        assert {"rate_ratio", "ci_low", "ci_high", "p_value", "n_themed", "n_plain"} <= set(
            d["themed_vs_plain"][k])
    assert {"mean_before", "mean_after", "mean_before_ci_low", "mean_after_ci_high"} <= set(
        d["naive"])
    assert {"estimates", "rank", "n"} <= set(d["placebo"])
    assert {"text", "evidence"} <= set(d["verdict"])
    # power: higher planted ratios are detected at least about as often
    pw = r.power.loc[r.power["target"] == "themed", "power"].to_numpy()
    assert pw[-1] >= pw[0] and pw[-1] > 0.8
    # no row-level data in the JSON: no session id or date of a session
    assert "session_id" not in json.dumps(d)


def test_start_override_and_missing_start():
    sim = simulate_session_counts(3)
    ds = _dataset(sim, config=EvaluationConfig())
    r = theming_analysis(ds, n_sim=0)  # no start date: not estimable, says why, never raises
    assert not r.estimable and r.verdict.evidence == "not_estimable"
    assert r.reason("fr").startswith("Pas de date de début de la thématisation dans "
                                     "evaluation.yml")
    assert "No theming start date" in r.reason("en")
    assert json.loads(json.dumps(r.to_dict("en")))["estimable"] is False
    with pytest.raises(ParameterError):  # an unreadable date is the user's mistake
        theming_analysis(ds, start="10 janvier", n_sim=0)
    r = theming_analysis(ds, start="10/01/2024", n_sim=0, n_placebo=0)
    assert r.start == pd.Timestamp("2024-01-10")
    assert np.isnan(r.minimal_detectable_rate_ratio)


def test_too_few_sessions_after_start():
    sim = simulate_session_counts(3)
    ds = _dataset(sim)
    last = sim.loc[sim["status"] == "held", "date"].max()
    r = theming_analysis(ds, start=last, n_sim=0)  # theming on the last week
    assert not r.estimable
    assert r.reason("fr") == ("Trop tôt pour juger : 1 permanence depuis le début de la "
                              "thématisation, il en faut au moins 6.")
    assert "at least 6" in r.reason("en")


def test_no_themed_session_falls_back_on_level_change():
    sim = simulate_session_counts(4, themed_probability=0.0)
    r = theming_analysis(_dataset(sim), n_sim=30, n_placebo=10)
    assert r.themed_vs_plain["n_themed"].iloc[0] == 0
    assert np.isnan(r.themed_vs_plain["rate_ratio"].iloc[0])
    assert r.themed_vs_plain["status"].iloc[0] == "not_estimable"
    # the answer rests on (a), the overall change, which needs no themed session
    assert r.verdict.checks["primary"] == "cumulative"
    assert "earlier trend" in r.verdict.text_en
    assert "no themed session since the start" in r.verdict.text_en


def test_session_series_uses_per_session_counts():
    # 2 held sessions with tallies, 1 cancelled: only held ones, counts from the tallies
    ds = make_dataset([{"date": "2023-01-04", "attendance": 3, "new_visitors": 1},
                       {"date": "2023-01-11", "status": "cancelled"},
                       {"date": "2024-02-07", "attendance": 5, "theme": "PrEP"}], config=CONFIG)
    s = session_series(ds)
    assert s["visits"].tolist() == [3.0, 5.0]
    assert s["themed_after"].tolist() == [0.0, 1.0]


def test_recovers_planted_themed_rate_ratio():
    # A long, Poisson series (2021-2031, themed half the time after 2024) so one dataset is
    # precise: the planted themed rate ratio 1.6 must be inside the interval and the
    # estimate within 15 % of it.
    sim = simulate_session_counts(11, end=date(2031, 12, 31), themed_rate_ratio=1.6,
                                  dispersion=None, themed_probability=0.5, trend=0.15)
    tv = themed_vs_plain(_series(sim), START)
    assert tv["ci_low"] <= 1.6 <= tv["ci_high"]
    assert tv["rate_ratio"] == pytest.approx(1.6, rel=0.15)


def _coverage(n: int, truth_visits=1.5, truth_first=1.8):
    cover_v = cover_f = 0
    for seed in range(n):
        s = _series(simulate_session_counts(seed, themed_rate_ratio=truth_visits,
                                            first_time_rate_ratio=truth_first))
        v = themed_vs_plain(s, START)
        f = themed_vs_plain(s, START, outcome="first_time_visitors")
        cover_v += v["ci_low"] <= truth_visits <= v["ci_high"]
        cover_f += f["ci_low"] <= truth_first <= f["ci_high"]
    return cover_v, cover_f


def test_coverage_small():
    # 40 datasets from the default simulator (NB counts, themed RR 1.5, first-time RR 1.8).
    # Accept >= 34/40 covered: if the true coverage is 95 %, P(X <= 33) = 0.0034
    # (binomial(40, 0.95)); this is a loose smoke check — the real check is the slow test.
    cv, cf = _coverage(40)
    assert cv >= 34 and cf >= 34


@pytest.mark.slow
def test_coverage_400_datasets():
    # 400 datasets: the 95 % intervals must cover the truth 93–97 % of the time
    # (372–388 of 400). For a true 95 %: P(X <= 371) = 0.031, P(X >= 389) = 0.019.
    cv, cf = _coverage(400)
    assert 372 <= cv <= 388, cv
    assert 372 <= cf <= 388, cf


def test_plot_theming(analysis):
    from qsp_eval.plots.theming import plot_theming

    fig = plot_theming(analysis, lang="en")
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title(loc="left") == "Visits per session"
    fig_fr = plot_theming(analysis, lang="fr")
    assert fig_fr.axes[1].get_xlabel() == "Rapport de taux"


def test_series_not_mutated():
    from qsp_eval.theming import placebo_tests

    s = _series(simulate_session_counts(2))
    before = s.copy()
    themed_vs_plain(s, START)
    naive_before_after(s)
    placebo_tests(s, START, real={"level_change": {"rate_ratio": 1.2, "z": 1.0}}, n_placebo=2)
    pd.testing.assert_frame_equal(s, before)


def test_placebo_summary_rank_and_monte_carlo_p_by_hand():
    from qsp_eval.theming import _placebo_summary

    # real z = -2.0 (a drop: |z| is what counts); placebo z: 0.5, -2.5, 2.0, 1.0, -0.3
    # |z| >= 2: 2.5 and 2.0 -> n_as_extreme 2, p = (1 + 2) / (5 + 1) = 0.5;
    # strictly larger: 2.5 only -> rank 2
    table = pd.DataFrame({"term": ["level_change"] * 5 + ["themed_after"],
                          "z": [0.5, -2.5, 2.0, 1.0, -0.3, 9.0]})
    s = _placebo_summary(table, {"level_change": {"rate_ratio": 0.7, "z": -2.0},
                                 "themed_after": {"rate_ratio": 1.1, "z": float("nan")}})
    lc = s["level_change"]
    assert (lc["n"], lc["n_as_extreme"], lc["rank"]) == (5, 2, 2)
    assert lc["p_placebo"] == pytest.approx(0.5)
    # the real estimate beyond every placebo: rank 1, p = 1 / (n + 1), never 0
    s = _placebo_summary(table, {"level_change": {"z": 3.0}})
    assert s["level_change"]["rank"] == 1
    assert s["level_change"]["p_placebo"] == pytest.approx(1 / 6)
    # no real z (or no placebo): no rank, NaN p
    th = _placebo_summary(table, {"themed_after": {"z": float("nan")}})["themed_after"]
    assert th["rank"] is None and math.isnan(th["p_placebo"])


def test_mdrr_interpolation_by_hand():
    from qsp_eval.theming import _interpolate_mdrr

    # power 0.2, 0.6, 0.9 at RR 1, 2, 4: 80 % is reached between 2 and 4; on the log scale
    # log RR = ln 2 + (0.8 - 0.6) / (0.9 - 0.6) · (ln 4 - ln 2) = (5/3) ln 2 -> RR = 2^(5/3)
    assert _interpolate_mdrr(np.array([1.0, 2.0, 4.0]), np.array([0.2, 0.6, 0.9]), 0.8) == \
        pytest.approx(2 ** (5 / 3))
    # reached at the first ratio: that ratio; never reached: NaN (the text then says so)
    assert _interpolate_mdrr(np.array([1.5, 2.0]), np.array([0.85, 0.95]), 0.8) == 1.5
    assert math.isnan(_interpolate_mdrr(np.array([1.5, 2.0]), np.array([0.1, 0.5]), 0.8))


def test_power_at_rate_ratio_1_is_the_one_sided_size():
    # With no planted effect (RR = 1) and Poisson counts, a rejection "p < 0.05 and estimate
    # above 1" happens about alpha / 2 = 2.5 % of the time. 2000 simulations: SE of the share
    # sqrt(0.025 · 0.975 / 2000) = 0.0035, so 0.025 ± 0.015 is over 4 SE wide.
    from qsp_eval.theming import power_analysis

    s = _series(simulate_session_counts(5, dispersion=None, themed_probability=0.5))
    table, summary = power_analysis(s, START, n_sim=2000, grid=[1.0], seed=3)
    assert (summary["alpha_nb"] == 0) == (summary["dispersion"] <= 1)  # NB only if overdispersed
    for p in table["power"]:
        assert 0.010 <= p <= 0.040, p


def test_interval_text_when_a_bound_cannot_be_estimated():
    from qsp_eval.theming import _ci

    # a missing upper bound (e.g. no event at all on one side) is said in words, never "0,00–—"
    assert _ci(0.0, float("nan"), "fr") == "IC 95 % non estimable"
    assert _ci(1.2, 2.1, "fr") == "IC 95 % 1,20–2,10"
    assert _ci(1.2, 2.1, "en") == "95% CI 1.20–2.10"
