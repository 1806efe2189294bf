"""Tests of qsp_eval.its: a published reference, exact fits and ratios worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval.errors import DataError, ParameterError
from qsp_eval.its import (
    choose_family,
    fit_its,
    harmonic_terms,
    its_counterfactual,
    its_diagnostics,
    its_effects,
    its_fitted,
)

# exact-fit designs below are intentional: statsmodels warns about "perfect prediction"
pytestmark = pytest.mark.filterwarnings(
    "ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")

# ../shared/reference-data next to the checkout (a worktree one level deeper looks one up)
_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = next((p for p in (_ROOT.parent / "shared" / "reference-data",
                              _ROOT.parent.parent / "shared" / "reference-data")
                  if (p / "sicily.csv").exists()), _ROOT.parent / "shared" / "reference-data")
SICILY = REFERENCE / "sicily.csv"


def _sicily():
    if not SICILY.exists():
        pytest.skip(f"reference data not available: {SICILY} does not exist")
    return pd.read_csv(SICILY)


def _effect(res, term):
    return its_effects(res).set_index("term").loc[term]


# ---------------------------------------------------------------------------
# Published reference
# ---------------------------------------------------------------------------
def test_sicily_seasonal_quasipoisson_matches_published():
    """Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series regression for the
    evaluation of public health interventions: a tutorial. Int J Epidemiol 2017;46(1):348-355.
    Seasonally adjusted quasi-Poisson model, offset log(stdpop), smokban + time +
    harmonic(month, 2, 12).

    Our interval uses Student's t on the residual df, as R's summary.glm for a quasi family.
    Expected values from R 4 (run once; printed numbers pasted here):

        d <- read.csv("sicily.csv")
        for (k in 1:2) { d[[paste0("s", k)]] <- sin(2*pi*k*d$month/12)
                         d[[paste0("c", k)]] <- cos(2*pi*k*d$month/12) }
        m <- glm(aces ~ offset(log(stdpop)) + smokban + time + s1 + c1 + s2 + c2,
                 family = quasipoisson, data = d)
        s <- summary(m)$coefficients["smokban", ]  # -0.1220867929  0.02703110726  t -4.5165
        q <- qt(0.975, df.residual(m))              # df.residual = 52
        exp(s[1] + c(0, -1, 1) * q * s[2])          # 0.8850715472 0.8383423934 0.9344053812
        2 * pt(-abs(s[1] / s[2]), 52)               # 3.642277367e-05

    Second check: the published, normal-quantile interval 0.885 (0.839-0.933)
    = exp(b ± qnorm(0.975)·SE) with the same b and SE (R: 0.8394009557 0.9332270096)."""
    d = _sicily()
    res = fit_its(d, count="aces", time="time", intervention=37, offset="stdpop", harmonics=2,
                  period=12, season_position="month", family="quasipoisson",
                  slope_change=False)
    e = _effect(res, "level_change")
    assert e["estimate"] == pytest.approx(-0.1220867929, rel=1e-6)
    assert e["se"] == pytest.approx(0.02703110726, rel=1e-6)
    assert e["rate_ratio"] == pytest.approx(0.8850715472, rel=1e-6)
    assert e["ci_low"] == pytest.approx(0.8383423934, rel=1e-6)
    assert e["ci_high"] == pytest.approx(0.9344053812, rel=1e-6)
    assert e["p_value"] == pytest.approx(3.642277367e-05, rel=1e-4)
    assert e["inference"] == "t"
    # the published z-based interval from the same coefficient and standard error
    z = 1.959963984540054
    assert round(math.exp(e["estimate"] - z * e["se"]), 3) == 0.839
    assert round(math.exp(e["estimate"] + z * e["se"]), 3) == 0.933
    assert round(e["rate_ratio"], 3) == 0.885


def test_sicily_same_answer_from_dates_and_strings():
    """Same published model (Lopez Bernal et al., IJE 2017), with the
    intervention located by date, the month taken from the date, and every value given as a
    French-style string (dd/mm/yyyy, decimal comma)."""
    d = _sicily()
    df = pd.DataFrame({
        "date": [f"01/{m:02d}/{y}" for y, m in zip(d["year"], d["month"])],
        "time": d["time"].astype(str),
        "aces": d["aces"].astype(str),
        "stdpop": d["stdpop"].map(lambda v: f"{v}".replace(".", ",")),
    })
    res = fit_its(df, count="aces", date="date", time="time", intervention="01/01/2005",
                  offset="stdpop",
                  harmonics=2, period=12, family="quasipoisson", slope_change=False)
    e = _effect(res, "level_change")
    # t on 52 df (see the test above, R summary.glm): 0.885 (0.838-0.934)
    assert (round(e["rate_ratio"], 3), round(e["ci_low"], 3), round(e["ci_high"], 3)) == (
        0.885, 0.838, 0.934)
    assert res.its_design.t0 == 37


# ---------------------------------------------------------------------------
# Worked by hand
# ---------------------------------------------------------------------------
def test_step_only_poisson_is_ratio_of_means():
    # Poisson GLM with intercept + step: the MLE fits each segment's mean exactly, so
    # RR = mean_after / mean_before = 6 / 3 = 2.
    # SE(log RR) = sqrt(1/sum_before + 1/sum_after) = sqrt(1/12 + 1/24) = sqrt(0.125) = 0.353553
    # z·SE = 1.959964 × 0.353553 = 0.692951; exp(0.692951) = 1.999608
    # CI = (2 / 1.999608, 2 × 1.999608) = (1.000196, 3.999216)
    df = pd.DataFrame({"t": range(8), "y": [2, 4, 3, 3, 6, 5, 7, 6]})
    res = fit_its(df, count="y", time="t", intervention=4, family="poisson", trend=False,
                  slope_change=False)
    e = _effect(res, "level_change")
    assert e["rate_ratio"] == pytest.approx(2.0, rel=1e-6)
    assert e["ci_low"] == pytest.approx(1.000196, rel=1e-5)
    assert e["ci_high"] == pytest.approx(3.999216, rel=1e-5)
    # Quasi-Poisson: Pearson χ² = (1+1+0+0)/3 + (0+1+1+0)/6 = 2/3 + 1/3 = 1 on 8 - 2 = 6 df,
    # scale φ = 1/6, SE = 0.353553 × sqrt(1/6) = 0.144338.  The scale is estimated, so the
    # interval uses Student's t on 6 residual df (R summary.glm): qt(0.975, 6) = 2.446912,
    # t·SE = 0.353181, exp(0.353181) = 1.423589, CI = (2 / 1.423589, 2 × 1.423589)
    # = (1.404900, 2.847177)
    q = fit_its(df, count="y", time="t", intervention=4, family="quasipoisson", trend=False,
                slope_change=False)
    e = _effect(q, "level_change")
    assert e["rate_ratio"] == pytest.approx(2.0, rel=1e-6)
    assert e["ci_low"] == pytest.approx(1.404900, rel=1e-5)
    assert e["ci_high"] == pytest.approx(2.847177, rel=1e-5)
    assert e["inference"] == "t"
    assert its_diagnostics(q)["dispersion"] == pytest.approx(1 / 6)


def test_negbin_step_only_is_ratio_of_means():
    # With intercept + step each segment's fitted mean is its sample mean whatever alpha
    # (the NB score equations for indicator designs are Σ(y - μ)·w = 0 with w constant
    # within a segment), so RR = 6/3 = 2 again.
    df = pd.DataFrame({"t": range(8), "y": [0, 6, 1, 5, 12, 0, 11, 1]})
    res = fit_its(df, count="y", time="t", intervention=4, family="negbin", trend=False,
                  slope_change=False)
    assert _effect(res, "level_change")["rate_ratio"] == pytest.approx(2.0, rel=1e-5)
    assert res.its_design.alpha > 0


def test_negbin_alpha_recovered_on_large_sample():
    # 3000 gamma-Poisson counts with mean 5 and NB2 alpha 0.5 (variance 5 + 0.5·25 = 17.5):
    # the ML alpha has SE ≈ 0.03 here, so it must fall within 0.4–0.6.
    rng = np.random.default_rng(3)
    y = rng.poisson(rng.gamma(1 / 0.5, 0.5 * 5.0, 3000))
    df = pd.DataFrame({"t": range(3000), "y": y})
    res = fit_its(df, count="y", time="t", intervention=1500, family="negbin", trend=False,
                  slope_change=False)
    assert 0.4 < res.its_design.alpha < 0.6
    e = _effect(res, "level_change")
    assert e["ci_low"] < 1 < e["ci_high"] or abs(math.log(e["rate_ratio"])) < 0.1


def test_exact_fit_trend_level_and_slope_change():
    # y = 2^t before t0 = 4; after: 3 × 2^4 × 3^(t-4) = 48, 144, 432, 1296
    # => trend RR 2 per step, level change 3 (48 vs 16 at t0), post slope 3 = 2 × 1.5,
    # slope change RR 1.5. An exact fit, so the Poisson MLE reproduces these.
    y = [1, 2, 4, 8, 48, 144, 432, 1296]
    df = pd.DataFrame({"t": range(8), "y": y})
    res = fit_its(df, count="y", time="t", intervention=4, family="poisson")
    eff = its_effects(res).set_index("term")["rate_ratio"]
    assert eff["trend"] == pytest.approx(2.0, rel=1e-6)
    assert eff["level_change"] == pytest.approx(3.0, rel=1e-6)
    assert eff["slope_change"] == pytest.approx(1.5, rel=1e-6)
    assert list(its_effects(res)["term"][:2]) == ["level_change", "slope_change"]
    fitted = its_fitted(res)
    assert fitted["estimate"].to_numpy() == pytest.approx(np.array(y, float), rel=1e-6)
    # counterfactual: the pre-trend continued, 2^t for t = 4..7
    cf = its_counterfactual(res)
    assert cf["time"].tolist() == [4, 5, 6, 7]
    assert cf["estimate"].to_numpy() == pytest.approx([16, 32, 64, 128], rel=1e-6)
    assert (cf["ci_low"] <= cf["estimate"]).all() and (cf["estimate"] <= cf["ci_high"]).all()


def test_offset_turns_counts_into_rates():
    # Same rates (1 per unit exposure before, 2 after) with exposures 10 and 20:
    # counts 10,10,10 | 40,40,40; with offset log(exposure) RR = 2, without it 4.
    df = pd.DataFrame({"t": range(6), "y": [10, 10, 10, 40, 40, 40],
                       "pop": [10, 10, 10, 20, 20, 20]})
    kw = {"count": "y", "time": "t", "intervention": 3, "family": "poisson", "trend": False,
          "slope_change": False}
    assert _effect(fit_its(df, offset="pop", **kw), "level_change")["rate_ratio"] == (
        pytest.approx(2.0))
    assert _effect(fit_its(df, **kw), "level_change")["rate_ratio"] == pytest.approx(4.0)


@settings(max_examples=25, deadline=None)
@given(before=st.lists(st.integers(0, 30), min_size=3, max_size=8),
       after=st.lists(st.integers(0, 30), min_size=3, max_size=8))
def test_step_rate_ratio_is_ratio_of_means_property(before, after):
    if sum(before) == 0 or sum(after) == 0:
        return
    y = before + after
    df = pd.DataFrame({"t": range(len(y)), "y": y})
    res = fit_its(df, count="y", time="t", intervention=len(before), family="poisson",
                  trend=False, slope_change=False)
    expected = (sum(after) / len(after)) / (sum(before) / len(before))
    e = _effect(res, "level_change")
    assert e["rate_ratio"] == pytest.approx(expected, rel=1e-6)
    se = math.sqrt(1 / sum(before) + 1 / sum(after))
    # IRLS stops at statsmodels' deviance tolerance, so the fitted information
    # (hence the SE) carries ~1e-5 relative error when totals are tiny (e.g. 1 vs 2).
    assert math.log(e["ci_high"] / e["rate_ratio"]) == pytest.approx(1.959964 * se, rel=1e-4)


def test_harmonic_terms_values():
    # month 3 of 12: sin(2π·3/12) = sin(π/2) = 1, cos = 0; k = 2: sin(π) = 0, cos(π) = -1
    h = harmonic_terms([3], harmonics=2, period=12)
    assert list(h.columns) == ["season_sin1", "season_cos1", "season_sin2", "season_cos2"]
    assert h.iloc[0].to_numpy() == pytest.approx([1, 0, 0, -1], abs=1e-12)


def test_choose_family_rule():
    assert choose_family(0.7)["family"] == "poisson"
    q = choose_family(2.5, df_resid=40)
    assert q["family"] == "quasipoisson"
    assert q["dispersion"] == 2.5
    assert 0 <= q["p_value"] < 0.001  # χ² of 100 on 40 df is far in the tail


def test_auto_family_follows_hand_computed_dispersion():
    # step-only model (intercept + level change): fitted means are the segment means.
    # [2, 4, 3, 3 | 6, 5, 7, 6]: Pearson χ² = (1+1+0+0)/3 + (0+1+1+0)/6 = 1, df 6, φ = 1/6
    # -> no overdispersion -> Poisson.
    kw = {"count": "y", "time": "t", "intervention": 4, "family": "auto", "trend": False,
          "slope_change": False}
    calm = fit_its(pd.DataFrame({"t": range(8), "y": [2, 4, 3, 3, 6, 5, 7, 6]}), **kw)
    assert calm.its_design.dispersion == pytest.approx(1 / 6)
    assert calm.its_design.family == "poisson"
    # [0, 6, 1, 5 | 12, 0, 11, 1]: means 3 and 6; χ² = (9+9+4+4)/3 + (36+36+25+25)/6
    # = 26/3 + 61/3 = 29, df 6, φ = 29/6 = 4.8333 > 1 -> quasi-Poisson (the default), or
    # negative binomial when asked; the quasi-Poisson SE is the Poisson SE × sqrt(φ):
    # sqrt(1/12 + 1/24) × sqrt(29/6) = 0.353553 × 2.198484 = 0.777281
    wild = pd.DataFrame({"t": range(8), "y": [0, 6, 1, 5, 12, 0, 11, 1]})
    q = fit_its(wild, **kw)
    assert q.its_design.dispersion == pytest.approx(29 / 6)
    assert q.its_design.family == "quasipoisson"
    e = _effect(q, "level_change")
    assert e["rate_ratio"] == pytest.approx(2.0, rel=1e-6)
    assert e["se"] == pytest.approx(0.777281, rel=1e-5)
    assert fit_its(wild, overdispersed="negbin", **kw).its_design.family == "negbin"


def test_auto_family_and_hac_keep_point_estimates():
    rng = np.random.default_rng(1)
    y = rng.poisson(5, 40)
    df = pd.DataFrame({"t": range(40), "y": y})
    base = fit_its(df, count="y", time="t", intervention=20, family="poisson")
    auto = fit_its(df, count="y", time="t", intervention=20, family="auto")
    hac = fit_its(df, count="y", time="t", intervention=20, family="quasipoisson", hac_lags=2)
    assert auto.its_design.family in ("poisson", "quasipoisson")
    for r in (auto, hac):
        assert _effect(r, "level_change")["rate_ratio"] == pytest.approx(
            _effect(base, "level_change")["rate_ratio"], rel=1e-6)
    diag = its_diagnostics(hac)
    assert diag["hac_lags"] == 2 and 0 <= diag["ljung_box_p"] <= 1
    assert diag["n_before"] == 20 and diag["n_after"] == 20


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
def _weekly(n=12):
    return pd.DataFrame({"date": pd.date_range("2024-01-03", periods=n, freq="7D").strftime(
        "%d/%m/%Y"), "y": [str(v) for v in range(3, 3 + n)]})


def test_non_numeric_count_names_row_and_column():
    df = _weekly()
    df.loc[4, "y"] = "cinq"
    with pytest.raises(DataError) as exc:
        fit_its(df, count="y", date="date", intervention="2024-02-14")
    p = exc.value.problems[0]
    assert p.row == 6 and p.column == "y" and p.value == "cinq"  # header is row 1
    assert "ligne 6" in exc.value.format("fr") and "row 6" in exc.value.format("en")


def test_too_few_points_says_how_many():
    df = _weekly()
    with pytest.raises(DataError) as exc:
        fit_its(df, count="y", date="date", intervention="2024-03-13")  # 2 rows after
    assert "2 after" in exc.value.format("en") and "at least 3" in exc.value.format("en")


@pytest.mark.parametrize("when", ["2023-06-01", "2025-01-01", "2024-01-03"])
def test_intervention_outside_series(when):
    with pytest.raises(ParameterError) as exc:
        fit_its(_weekly(), count="y", date="date", intervention=when)
    assert "outside the series" in exc.value.format("en")
    assert "en dehors" in exc.value.format("fr")


def test_unknown_column_and_family():
    with pytest.raises(ParameterError, match="visits"):
        fit_its(_weekly(), count="visits", date="date", intervention="2024-02-14")
    with pytest.raises(ParameterError):
        fit_its(_weekly(), count="y", date="date", intervention="2024-02-14", family="gaussian")


def test_fit_its_does_not_mutate_its_input():
    df = _weekly()
    before = df.copy()
    fit_its(df, count="y", date="date", intervention="2024-02-14", harmonics=1, period=365.25)
    pd.testing.assert_frame_equal(df, before)
