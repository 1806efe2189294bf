"""The synthetic example source: determinism, planted figures, the committed copy, the count model.

Expected values are the figures of the capitalisation record the example is built to
reproduce (issue 2, item 6), counted here straight from the written CSV files with plain
pandas, and the count model's mean worked out from the formula written in
``qsp_eval.simulate``'s docstring (not from the code's output).
"""

from __future__ import annotations

import filecmp
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsp_eval.cli import main
from qsp_eval.errors import ParameterError
from qsp_eval.simulate import simulate_session_counts, simulate_source, write_simulation

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"

# French labels written in the files, mapped by hand to the codes of the data contract
GENDER = {"Homme cis": "cis_man", "Femme cis": "cis_woman", "Femme trans": "trans_woman",
          "Homme trans": "trans_man", "Non-binaire": "non_binary", "Agenre": "agender",
          "Autre": "other", "Non renseigné": "unknown"}
TANB = {"trans_woman", "trans_man", "non_binary", "agender"}
YES = {"yes", "oui", "Oui"}
NO = {"no", "non", "Non"}

# Material handed out in 2022 and 2023 together (capitalisation record, issue 2)
MATERIAL = {"straw_booklet": 536, "sniff_kit": 20, "base_kit": 5, "pipette": 36,
            "unmounted_syringe": 60, "foil_roll": 6, "syringe_1_2ml": 310, "needle": 374,
            "sharps_container": 7, "external_condom": 426, "internal_condom": 128,
            "dental_dam": 37, "lube_sachet": 270, "lube_tube": 25, "sex_toy_cleaner": 11}


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_csv(folder / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("sessions", "visits", "services", "distributions", "survey_responses")}


def _check_planted(t: dict[str, pd.DataFrame]) -> None:
    """The exact figures of the record, counted from the files (external form)."""
    s, v = t["sessions"], t["visits"]
    s_year = s["date"].str[:4]
    v_year = v["date"].str[:4]
    held = s[s["status"] == "held"]
    # 234 visits over 43 held sessions in 2023 (mean 234/43 = 5.44)
    assert (held["date"].str[:4] == "2023").sum() == 43
    assert (v_year == "2023").sum() == 234
    assert round(234 / 43, 2) == 5.44
    # every visit belongs to a held session (cancelled sessions have none)
    assert set(v["date"]) <= set(held["date"])
    assert set(s["status"]) == {"held", "cancelled"}
    assert (s_year == "2023").sum() == 52  # every Wednesday of 2023 is scheduled
    # trans, agender and non-binary people: 38% of distinct 2023 people, unknowns included
    g = v["gender"].map(lambda x: GENDER.get(x, x)).replace("", "unknown")
    per_person = pd.DataFrame({"code": v["visitor_code"], "g": g}).drop_duplicates()
    assert not per_person["code"].duplicated().any()  # gender constant per person
    p23 = per_person[per_person["code"].isin(v.loc[v_year == "2023", "visitor_code"])]
    assert (p23["g"] == "unknown").sum() == 0  # so both denominators agree
    assert round(100 * p23["g"].isin(TANB).sum() / len(p23)) == 38
    # services: 15 on-site and 6 SINTES samples in 2022-2023, 6/6/2 rapid tests in 2023
    sv = t["services"].assign(year=t["services"]["date"].str[:4],
                              count=t["services"]["count"].astype(int))
    in2223 = sv[sv["year"].isin(["2022", "2023"])].groupby("service")["count"].sum()
    assert in2223["sample_ccm"] == 15 and in2223["sample_sintes"] == 6
    in23 = sv[sv["year"] == "2023"].groupby("service")["count"].sum()
    assert (in23["trod_hiv"], in23["trod_hcv"], in23["trod_hbv"]) == (6, 6, 2)
    # material totals over 2022-2023 (rows given by month or by session date)
    d = t["distributions"]
    d_year = d["month"].where(d["month"] != "", d["date"]).str[:4]
    tot = d[d_year.isin(["2022", "2023"])].assign(q=lambda x: x["quantity"].astype(int))
    assert tot.groupby("item")["q"].sum().to_dict() == MATERIAL
    # surveys: 113 consultation responses; every satisfaction respondent felt listened to
    sr = t["survey_responses"]
    cons = sr[sr["survey"] == "consultation_2024"]
    assert cons["response_id"].nunique() == 113
    sat = sr[sr["survey"] == "satisfaction_2023"]
    fl = sat[sat["question"] == "felt_listened"]
    assert fl["response_id"].nunique() == sat["response_id"].nunique() > 0
    assert fl["answer"].isin(YES).all()


def test_committed_example_holds_the_planted_figures():
    _check_planted(_read(EXAMPLE))


def test_committed_example_other_planted_shapes():
    t = _read(EXAMPLE)
    s, v = t["sessions"], t["visits"]
    held = s[s["status"] == "held"]
    # a couple of held sessions with nobody: real data points
    n_per_date = v.groupby("date").size()
    zero = held[~held["date"].isin(n_per_date.index)]
    assert len(zero) >= 2
    # weekly Wednesdays from the launch
    dates = pd.to_datetime(s["date"])
    assert dates.min() == pd.Timestamp("2021-11-03")
    assert (dates.dt.day_of_week == 2).all() and (dates.diff().dropna().dt.days == 7).all()
    # about 2.8 visits per held session in 2021 (record: 2.79)
    n21 = (held["date"].str[:4] == "2021").sum()
    assert 2.6 <= (v["date"].str[:4] == "2021").sum() / n21 <= 3.0
    # first_visit: "yes" on a person's first visit, "no" afterwards (a few left blank)
    fv = v["first_visit"]
    assert set(fv) <= YES | NO | {""}
    assert 1 <= (fv == "").sum() <= 10
    first_row = v.sort_values("date", kind="stable").groupby("visitor_code").cumcount() == 0
    assert fv[first_row].isin(YES | {""}).all()
    assert fv[~first_row].isin(NO | {""}).all()
    assert v["visitor_code"].str.fullmatch(r"V\d{4}").all()
    # one-off and regular visitors
    visits_per_person = v.groupby("visitor_code").size()
    assert (visits_per_person == 1).sum() >= 20 and visits_per_person.max() >= 10
    # themed sessions only from the theming start; some with a guest
    themed = s[s["theme"] != ""]
    assert len(themed) >= 5 and (themed["date"] >= "2024-01-10").all()
    assert themed["guest"].isin(YES).any() and (themed["theme_category"] != "").all()
    # fewer chemsex-practising cis men after the chemsex service opens (distinct people)
    g = v["gender"].map(lambda x: GENDER.get(x, x))
    cm = (g == "cis_man") & v["chemsex"].isin(YES)

    def share(mask):
        people = v.loc[mask, "visitor_code"].unique()
        return v.loc[mask & cm, "visitor_code"].nunique() / len(people)

    assert share(v["date"] >= "2023-05-15") < share(v["date"] < "2023-05-15")
    # a public getting younger: share of 18-24 among distinct people, 2022 vs 2024
    def young(year):
        pp = v[v["date"].str[:4] == year].drop_duplicates("visitor_code")
        return (pp["age_band"] == "18-24").mean()

    assert young("2024") > young("2022")
    # the tanb share grows: 2022 < 2023 < 2024 (distinct people)
    def tanb(year):
        pp = v[v["date"].str[:4] == year].drop_duplicates("visitor_code")
        return pp["gender"].map(lambda x: GENDER.get(x, x)).isin(TANB).mean()

    assert tanb("2022") < tanb("2023") < tanb("2024")
    # consultation: one clear winner, a clear majority to keep the weekly rhythm
    sr = t["survey_responses"]
    cons = sr[sr["survey"] == "consultation_2024"]
    votes = cons[cons["question"] == "new_name"]["answer"].value_counts()
    assert votes.iloc[0] > 1.5 * votes.iloc[1]
    weekly = cons[cons["question"] == "keep_weekly"]["answer"]
    assert weekly.isin(YES).sum() > 2 * weekly.isin(NO).sum()
    # about 7 sophrology sessions a full year
    sv = t["services"]
    soph = sv[sv["service"] == "sophrology"].groupby(sv["date"].str[:4])["count"].apply(
        lambda c: c.astype(int).sum())
    assert all(5 <= soph[y] <= 9 for y in ("2022", "2023", "2024"))


def test_committed_example_2024_stays_in_the_programme_range():
    # The programme sees 2-10 people a session: growth stops at the theming start
    # (planted slope change -0.771/year, recorded in truth.json), so 2024 averages
    # 6-8 visits per held session, themed sessions included.
    t = _read(EXAMPLE)
    held = t["sessions"][t["sessions"]["status"] == "held"]
    n24 = (held["date"].str[:4] == "2024").sum()
    v24 = (t["visits"]["date"].str[:4] == "2024").sum()
    assert 6 <= v24 / n24 <= 8
    truth = json.loads((EXAMPLE / "truth.json").read_text(encoding="utf-8"))
    assert truth["count_model"]["parameters"]["slope_change_per_year"] == SLOPE_CHANGE
    assert truth["theming"]["planted_slope_change_per_year"] == SLOPE_CHANGE
    assert truth["count_model"]["trend_after_theming_start"] == pytest.approx(0.471 - 0.771)
    assert "slope_change_per_year*(t - t0)*after" in truth["count_model"]["formula"]


def test_committed_example_is_marked_synthetic():
    ev = yaml.safe_load((EXAMPLE / "evaluation.yml").read_text(encoding="utf-8"))
    assert ev["synthetic"] is True and "synthétique" in ev["programme"]
    assert ev["launch_date"] == date(2021, 11, 3) and ev["session_weekday"] == 2
    assert ev["change"]["name"] == "theming" and ev["change"]["start"] == date(2024, 1, 10)
    assert ev["events"][0]["date"] == date(2023, 5, 15)
    assert ev["reporting_groups"]["gender"]["tanb"]["members"] == [
        "trans_woman", "trans_man", "non_binary", "agender"]
    assert ev["disclosure"] == {"preset": "default"}
    assert ev["surveys"]["satisfaction_2023"]["questions"]["felt_listened"]["type"] == "yes_no"
    assert "SYNTH" in (EXAMPLE / "README.md").read_text(encoding="utf-8").upper()
    truth = (EXAMPLE / "truth.json").read_text(encoding="utf-8")
    assert '"synthetic": true' in truth and '"seed": 2021' in truth


def test_committed_copy_is_what_simulate_writes(tmp_path):
    out = tmp_path / "example"
    assert main(["simulate", str(out), "--seed", "2021"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in EXAMPLE.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(out, EXAMPLE, names, shallow=False)
    assert mismatch == [] and errors == [], "regenerate: qsp-eval simulate data/example --force"


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = simulate_source(7), simulate_source(7), simulate_source(8)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.truth == b.truth and a.evaluation == b.evaluation
    assert not a.tables["visits"].equals(c.tables["visits"])
    pd.testing.assert_frame_equal(simulate_session_counts(7), simulate_session_counts(7))
    assert not simulate_session_counts(7)["visits"].equals(simulate_session_counts(8)["visits"])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_planted_figures_hold_for_any_seed(tmp_path_factory, seed):
    src = simulate_source(seed)
    t = {n: df.astype(str).replace({"nan": "", "None": ""}) for n, df in src.tables.items()}
    _check_planted(t)


def test_full_simulator_uses_the_fast_path_draws_outside_calibrated_years():
    # 2022 and 2024 are not calibrated: visits per held session are the fast path's draws
    fast = simulate_session_counts(2021)
    fast = fast[fast["status"] == "held"]
    v = _read(EXAMPLE)["visits"]
    per_date = v.groupby("date").size()
    for year in (2022, 2024):
        f = fast[fast["date"].dt.year == year]
        full = f["date"].dt.strftime("%Y-%m-%d").map(per_date).fillna(0).astype(int)
        assert full.tolist() == f["visits"].astype(int).tolist()


# Theming start 2024-01-10 is 798 days after the launch 2021-11-03 (730 days to 2023-11-03,
# + 30 + 31 to 2024-01-03, + 7), so t0 = 798 / 365.25 = 2.18480 years.
T0_DAYS = 798
SLOPE_CHANGE = -0.771  # documented default: trend 0.471 - 0.771 = -0.30/year after the start
K = 12  # documented default gamma shape (dispersion)


def _hand_log_mean(d: pd.Timestamp, themed: bool, after: bool,
                   start: str = "2024-01-10") -> float:
    """The documented formula with the documented default parameters."""
    t = (d - pd.Timestamp("2021-11-03")).days / 365.25
    t0 = (pd.Timestamp(start) - pd.Timestamp("2021-11-03")).days / 365.25
    w = 2 * math.pi * d.day_of_year / 365.25
    return (0.905 + 0.471 * t + 0.100 * math.sin(w) + 0.173 * math.cos(w)
            + math.log(1.0) * after + SLOPE_CHANGE * (t - t0) * after
            + math.log(1.5) * themed)


def _hand_log_means(h: pd.DataFrame) -> np.ndarray:
    """Vectorised :func:`_hand_log_mean` (same formula, same default parameters)."""
    days = (h["date"] - pd.Timestamp("2021-11-03")).dt.days.to_numpy()
    t = days / 365.25
    after = days >= T0_DAYS
    w = 2 * np.pi * h["date"].dt.day_of_year.to_numpy() / 365.25
    return (0.905 + 0.471 * t + 0.100 * np.sin(w) + 0.173 * np.cos(w)
            + SLOPE_CHANGE * (days - T0_DAYS) / 365.25 * after
            + math.log(1.5) * h["themed"].to_numpy())


def test_expected_column_is_the_documented_formula():
    # 2023-03-01: 483 days after 2021-11-03 (365 + 30 + 31 + 31 + 26), t = 1.32238 years,
    # day of year 60: log mu = 0.905 + 0.471*1.32238 + 0.1*sin(1.03213) + 0.173*cos(1.03213)
    #                        = 0.905 + 0.62284 + 0.08590 + 0.08856 = 1.70230, mu = 5.487
    df = simulate_session_counts(2021)
    row = df[df["date"] == pd.Timestamp("2023-03-01")].iloc[0]
    assert row["expected"] == pytest.approx(5.487, abs=0.002)
    # 2024-07-10: 980 days after the launch (798 + 21 + 29 + 31 + 30 + 31 + 30 + 10),
    # t = 2.68309, t - t0 = 182/365.25 = 0.49829, day of year 192 (w = 3.30287):
    # log mu = 0.905 + 0.471*2.68309 + 0.1*sin(w) + 0.173*cos(w) - 0.771*0.49829
    #        = 0.905 + 1.26374 - 0.01606 - 0.17076 - 0.38418 = 1.59774, mu = 4.942 on a plain
    #          session, 4.942 * 1.5 = 7.413 on a themed one
    row = df[df["date"] == pd.Timestamp("2024-07-10")].iloc[0]
    assert row["expected"] == pytest.approx(7.413 if row["themed"] else 4.942, abs=0.002)
    for _, r in df.iterrows():
        assert math.log(r["expected"]) == pytest.approx(
            _hand_log_mean(r["date"], r["themed"], r["after"]), abs=1e-9)
    assert not df.loc[df["date"] < pd.Timestamp("2024-01-10"), "themed"].any()
    assert df.loc[df["status"] == "cancelled", "visits"].isna().all()


def test_fast_path_mean_matches_the_model():
    # Over 200 seeds, sum (V - mu) / sqrt(sum Var V) is ~ N(0, 1) when V is gamma-Poisson
    # with mean mu (documented formula) and Var = mu + mu^2/k, k = 12; same for first-time
    # visitors on themed sessions (mean mu*pi, pi = 0.6*exp(-0.45 t)*1.8/1.5, thinned
    # gamma-Poisson: Var = m + m^2/k) -- |z| < 4 fails by chance with probability 6e-5.
    resid = var = resid_f = var_f = resid_t = var_t = 0.0
    for seed in range(200):
        df = simulate_session_counts(seed)
        h = df[df["status"] == "held"]
        mu = np.exp(_hand_log_means(h))
        v = h["visits"].astype(float).to_numpy()
        resid += (v - mu).sum()
        var += (mu + mu**2 / K).sum()
        th = h["themed"].to_numpy()
        resid_t += (v[th] - mu[th]).sum()
        var_t += (mu[th] + mu[th] ** 2 / K).sum()
        t = h["time_years"].to_numpy()
        m = mu * 0.6 * np.exp(-0.45 * t) * np.where(th, 1.8 / 1.5, 1.0)
        f = h["first_time_visitors"].astype(float).to_numpy()
        resid_f += (f[th] - m[th]).sum()
        var_f += (m[th] + m[th] ** 2 / K).sum()
    assert abs(resid / math.sqrt(var)) < 4
    assert abs(resid_t / math.sqrt(var_t)) < 4
    assert abs(resid_f / math.sqrt(var_f)) < 4


def test_fast_path_is_fast():
    import time

    simulate_session_counts(0)
    t0 = time.perf_counter()
    for seed in range(20):
        simulate_session_counts(seed)
    assert (time.perf_counter() - t0) / 20 < 0.02


def test_rate_ratios_and_dates_are_parameters():
    df = simulate_session_counts(3, themed_rate_ratio=1.0, first_time_rate_ratio=1.0,
                                 level_change_rate_ratio=2.0, theming_start="2023-06-07",
                                 dispersion=None)
    after = df["date"] >= pd.Timestamp("2023-06-07")
    assert df.loc[~after, "themed"].sum() == 0 and df.loc[after, "themed"].sum() > 0
    # level change 2 doubles the mean on and after the start (log 2 = 0.6931)
    i = df.index[after][0]
    assert math.log(df.loc[i, "expected"]) - _hand_log_mean(df.loc[i, "date"], False, False) \
        == pytest.approx(math.log(2.0), abs=1e-9)
    # the slope change: log mu moves by slope_change_per_year * (t - t0) on and after the
    # start, nothing before. 2024-06-05 is 364 days after 2023-06-07 (t - t0 = 0.99658):
    # slope change 0.5 instead of the default -0.771 adds 1.271 * 0.99658 = 1.26665.
    a = simulate_session_counts(3, theming_start="2023-06-07", dispersion=None)
    b = simulate_session_counts(3, theming_start="2023-06-07", dispersion=None,
                                slope_change_per_year=0.5)
    diff = np.log(b["expected"]) - np.log(a["expected"])
    assert (diff[~after] == 0).all()
    j = df.index[df["date"] == pd.Timestamp("2024-06-05")][0]
    assert diff[j] == pytest.approx(1.26665, abs=1e-5)
    with pytest.raises(ParameterError):
        simulate_session_counts(1, slope_change_per_year=float("nan"))
    with pytest.raises(ParameterError):
        simulate_session_counts(1, not_a_parameter=3)
    with pytest.raises(ParameterError):
        simulate_session_counts(1, themed_rate_ratio=-1)
    with pytest.raises(ParameterError):
        simulate_session_counts(1, theming_start="10/01/2024")


def test_cli_refuses_a_non_empty_folder_without_force(tmp_path, capsys):
    out = tmp_path / "ex"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["simulate", str(out), "--seed", "5"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert main(["simulate", str(out), "--seed", "5", "--force"]) == 0
    assert (out / "keep.txt").exists() and (out / "visits.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".simulate-")]
    paths = write_simulation(tmp_path / "new" / "deeper", seed=5)
    assert {p.name for p in paths} >= {"sessions.csv", "truth.json", "README.md"}
    assert filecmp.cmp(out / "visits.csv", tmp_path / "new" / "deeper" / "visits.csv",
                       shallow=False)


def test_example_loads_and_validates_cleanly():
    from qsp_eval.attendance import per_session
    from qsp_eval.io import load_source

    ds = load_source(EXAMPLE, key=b"0123456789abcdef0123456789abcdef")
    assert ds.config.synthetic is True
    ps = per_session(ds)
    in23 = ps[ps["date"].dt.year == 2023]
    assert len(in23) == 43 and int(in23["visits"].sum()) == 234
    assert not ds.visits.astype(str).isin(["V0001"]).any().any()  # raw codes never kept


@pytest.mark.slow
def test_planted_rate_ratios_are_recovered_with_nominal_coverage():
    # The truth of the fast path is exact: a negative binomial GLM with the true shape
    # (alpha = 1/k = 1/12) and the documented terms (trend, one harmonic of period 365.25,
    # after, (t - t0)*after, themed) gives Wald 95% intervals covering the planted rate
    # ratios (1.5 on visits, 1.8 on first-time visitors) and the planted slope change
    # (-0.771/year on visits) about 95% of the time. With 300 datasets the binomial SD of
    # the coverage is sqrt(.95*.05/300) = 1.3%, so 93-97% is the band the theming analysis
    # is held to (issue 4); seeds are fixed, so the test is not flaky.
    import statsmodels.api as sm

    n, cover_v, cover_f, cover_s, logs = 300, 0, 0, 0, []
    for seed in range(n):
        h = simulate_session_counts(seed)
        h = h[h["status"] == "held"]
        X = _design(h)
        for col, rr in (("visits", 1.5), ("first_time_visitors", 1.8)):
            y = h[col].astype(float).to_numpy()
            fit = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=1 / K)).fit()
            lo, hi = np.exp(fit.conf_int()[6])
            if col == "visits":
                cover_v += lo <= rr <= hi
                logs.append(fit.params[6])
                slo, shi = fit.conf_int()[5]
                cover_s += slo <= SLOPE_CHANGE <= shi
            else:
                cover_f += lo <= rr <= hi
    assert 0.93 <= cover_v / n <= 0.97 and 0.93 <= cover_f / n <= 0.97, (cover_v, cover_f)
    assert 0.93 <= cover_s / n <= 0.97, cover_s
    # geometric mean of the estimates within 3 SE of log(1.5) (SE of one estimate: the SD
    # of the 300 estimates, about 0.15)
    assert abs(np.mean(logs) - math.log(1.5)) < 3 * np.std(logs) / math.sqrt(n)


def test_planted_rate_ratio_is_recovered_small_version():
    # Small version of the coverage test above (run in CI): 40 datasets, the mean log
    # estimate of the themed rate ratio on visits lies within 4 SE of log(1.5) = 0.405
    # (Wald SE of one estimate about 0.15 at the defaults: 4 * 0.15 / sqrt(40) = 0.095), and
    # the mean slope change within 4 SE of -0.771 (SE of one estimate about 0.30, taken
    # as 0.35 for margin: 4 * 0.35 / sqrt(40) = 0.22).
    import statsmodels.api as sm

    logs, slopes = [], []
    for seed in range(1000, 1040):
        h = simulate_session_counts(seed)
        h = h[h["status"] == "held"]
        y = h["visits"].astype(float).to_numpy()
        fit = sm.GLM(y, _design(h), family=sm.families.NegativeBinomial(alpha=1 / K)).fit()
        logs.append(fit.params[6])
        slopes.append(fit.params[5])
    assert abs(np.mean(logs) - math.log(1.5)) < 4 * 0.15 / math.sqrt(40)
    assert abs(np.mean(slopes) - SLOPE_CHANGE) < 4 * 0.35 / math.sqrt(40)


def _design(h: pd.DataFrame) -> np.ndarray:
    """Columns: 1, t, sin, cos (one harmonic, period 365.25 d), after, (t - t0)*after, themed."""
    w = 2 * np.pi * h["day_of_year"].to_numpy() / 365.25
    after = h["after"].to_numpy(dtype=float)
    t = h["time_years"].to_numpy(dtype=float)
    return np.column_stack([np.ones(len(h)), t, np.sin(w), np.cos(w), after,
                            (t - T0_DAYS / 365.25) * after, h["themed"].to_numpy(dtype=float)])
