"""Attendance per session, per period, trend, loyalty and seasonality on hand-built tables."""

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval import attendance as A
from qsp_eval.errors import ParameterError
from qsp_eval.schema import Change, EvaluationConfig, Event
from qsp_eval.testing import make_dataset


def _ds():
    """2022: A (2 visit rows), B (held, 0 visits), C (cancelled), D (tally 4, 1 new);
    2023: no session at all; 2024: E (a single session, 3 visit rows, one without code)."""
    sessions = [
        {"date": "2022-06-01"},
        {"date": "2022-06-08"},
        {"date": "2022-06-15", "status": "cancelled"},
        {"date": "2022-06-22", "attendance": 4, "new_visitors": 1},
        {"date": "2024-03-06"},
    ]
    visits = [
        {"date": "2022-06-01", "person_id": "p1", "first_visit": "yes"},
        {"date": "2022-06-01", "person_id": "p2", "first_visit": "yes"},
        {"date": "2024-03-06", "person_id": "p1", "first_visit": "no"},
        {"date": "2024-03-06", "person_id": "p3", "first_visit": "yes"},
        {"date": "2024-03-06"},
    ]
    return make_dataset(sessions, visits)


def test_per_session_mixes_tallies_and_rows():
    ps = A.per_session(_ds())
    # held only: A=2 rows, B=0 (visits table supplied), D=tally 4, E=3 rows
    assert ps["visits"].tolist() == [2, 0, 4, 3]
    assert ps["first_time_visitors"].tolist() == [2, 0, 1, 1]
    assert ps["count_source"].tolist() == ["visits", "visits", "tally", "visits"]
    full = A.per_session(_ds(), include_cancelled=True)
    assert len(full) == 5 and pd.isna(full.loc[2, "visits"])


def test_per_session_without_visits_table():
    ds = make_dataset([{"date": "2023-01-04", "attendance": 2}, {"date": "2023-01-11"}])
    ps = A.per_session(ds)
    assert ps["visits"].iloc[0] == 2 and pd.isna(ps["visits"].iloc[1])


def test_by_period_year_by_hand():
    r = A.by_period(_ds())
    assert r["period"].tolist() == ["2022", "2023", "2024"]
    y22, y23, y24 = (r.iloc[i] for i in range(3))
    # 2022: held A, B, D; C cancelled; visits 2 + 0 + 4 = 6; mean 6/3 = 2
    assert (y22["sessions_held"], y22["sessions_cancelled"], y22["visits"]) == (3, 1, 6)
    assert y22["mean_visits_per_session"] == pytest.approx(2.0)
    # counts (2, 0, 4): variance ((0)^2 + (-2)^2 + 2^2)/2 = 4, phi = 4/2 = 2 > 1 -> quasi-Poisson
    # t(0.975, 2) = 4.302653; half = 4.302653 * sqrt(2/6) = 2.48414 -> 2 * exp(-/+ 2.48414)
    assert y22["ci_method"] == "quasi_poisson"
    assert y22["ci_low"] == pytest.approx(2 * math.exp(-2.48414), rel=1e-4)
    assert y22["ci_high"] == pytest.approx(2 * math.exp(2.48414), rel=1e-4)
    # people: p1, p2 (the tallied session has no codes); first-time: 2 (A) + 0 (B) + 1 (D tally)
    assert y22["distinct_people"] == 2 and y22["first_time_visitors"] == 3
    assert y22["returning_people"] == 0
    # 2023: no session at all -> present, 0 sessions, NaN mean
    assert (y23["sessions_held"], y23["sessions_cancelled"], y23["visits"]) == (0, 0, 0)
    assert math.isnan(y23["mean_visits_per_session"]) and y23["ci_method"] == "none"
    # 2024: a single session with 3 visits: exact Poisson, 0.619-8.767 (Garwood limits for 3)
    assert y24["mean_visits_per_session"] == 3.0 and y24["ci_method"] == "poisson_exact"
    assert y24["ci_low"] == pytest.approx(0.619, abs=5e-4)
    assert y24["ci_high"] == pytest.approx(8.767, abs=5e-4)
    # p1 and p3 (the row without code is not a person); p1 was seen in 2022 -> returning
    assert y24["distinct_people"] == 2 and y24["visits_without_id"] == 1
    assert y24["returning_people"] == 1 and y24["share_returning"] == pytest.approx(0.5)
    assert y24["first_time_visitors"] == 1


def test_by_period_other_periods():
    r = A.by_period(_ds(), period="half")
    assert r["period"].tolist() == ["2022-H1", "2022-H2", "2023-H1", "2023-H2", "2024-H1"]
    assert r["sessions_held"].tolist() == [3, 0, 0, 0, 1]
    q = A.by_period(_ds(), period="quarter")
    assert q["period"].iloc[0] == "2022-Q2" and q["period"].iloc[-1] == "2024-Q1"
    assert len(q) == 8  # 2022-Q2 .. 2024-Q1
    m = A.by_period(_ds(), period="month")
    assert len(m) == 22  # June 2022 .. March 2024
    assert m["visits"].sum() == 9
    # reporting year starting in September: June 2022 -> 2021-2022, March 2024 -> 2023-2024
    fy = A.by_period(_ds(), year_start_month=9)
    assert fy["period"].tolist() == ["2021-2022", "2022-2023", "2023-2024"]
    assert fy["visits"].tolist() == [6, 0, 3]


def test_by_period_zero_visit_period_has_zero_people():
    ds = make_dataset([{"date": "2023-01-04"}], visits=[])
    r = A.by_period(ds)
    assert r.loc[0, "visits"] == 0 and r.loc[0, "mean_visits_per_session"] == 0
    assert r.loc[0, "distinct_people"] == 0


def test_by_period_tallies_only_people_unknown():
    ds = make_dataset([{"date": "2023-01-04", "attendance": 3}])
    r = A.by_period(ds)
    assert r.loc[0, "visits"] == 3 and pd.isna(r.loc[0, "distinct_people"])
    assert pd.isna(r.loc[0, "first_time_visitors"])


def test_bad_period_is_parameter_error():
    with pytest.raises(ParameterError):
        A.by_period(_ds(), period="week")
    with pytest.raises(ParameterError):
        A.assign_period(pd.to_datetime(["2023-01-01"]), year_start_month=13)


def test_inputs_not_mutated():
    ds = _ds()
    before = copy.deepcopy((ds.sessions, ds.visits))
    A.by_period(ds)
    A.session_trend(ds)
    A.loyalty(ds)
    A.seasonality(ds)
    pd.testing.assert_frame_equal(ds.sessions, before[0])
    pd.testing.assert_frame_equal(ds.visits, before[1])


def test_session_trend_rolling_by_hand():
    r = A.session_trend(_ds(), method="rolling", window=3)
    # visits in date order 2, 0, 4, 3; centred window of 3, at least 2 present:
    # (2+0)/2 = 1, (2+0+4)/3 = 2, (0+4+3)/3 = 7/3, (4+3)/2 = 3.5
    assert r["trend"].tolist() == pytest.approx([1, 2, 7 / 3, 3.5])
    assert r["trend_method"].iloc[0] == "rolling_mean(window=3)"


def test_session_trend_lowess_reproduces_a_line():
    # LOWESS is a local linear fit: on exactly linear, equally spaced data it gives the line back
    ds = make_dataset([{"date": f"2023-{m:02d}-01", "attendance": m} for m in range(1, 11)])
    r = A.session_trend(ds, frac=0.5)
    assert r["trend"].to_numpy() == pytest.approx(np.arange(1, 11), abs=0.05)


def test_events_frame_and_trend_attrs():
    cfg = EvaluationConfig(
        change=Change("theming", dt.date(2024, 1, 10), "Thématisation", "Theming"),
        events=(Event(dt.date(2023, 5, 15), "Ouverture", "Opening"),),
    )
    ev = A.events_frame(cfg)
    assert ev["kind"].tolist() == ["context", "change"]  # sorted by date
    assert ev["date"].iloc[1] == pd.Timestamp("2024-01-10")
    ds = make_dataset([{"date": "2023-01-04", "attendance": 1}], config=cfg)
    assert len(A.session_trend(ds).attrs["events"]) == 2


def _loyalty_ds():
    # a: first 2023-01-04, back 2023-01-25 (within 1 month);
    # b: first 2023-01-04, back 2023-03-15 (after 1 month = 02-04, before 3 months = 04-04);
    # c: first 2023-01-04, never back; d: first 2023-06-07, last session 2023-06-21 -> censored
    dates = ["2023-01-04", "2023-01-25", "2023-03-15", "2023-06-07", "2023-06-21"]
    visits = [("2023-01-04", "a"), ("2023-01-25", "a"), ("2023-01-04", "b"), ("2023-03-15", "b"),
              ("2023-01-04", "c"), ("2023-06-07", "d")]
    return make_dataset([{"date": d} for d in dates],
                        [{"date": d, "person_id": p} for d, p in visits])


def test_loyalty_by_hand_with_censoring():
    r = A.loyalty(_loyalty_ds(), cohort="year")
    one = r.loc[r["horizon_months"] == 1].iloc[0]
    three = r.loc[r["horizon_months"] == 3].iloc[0]
    # 4 new people; d cannot be followed for 1 month (07-07 > 06-21) -> denominator 3
    assert (one["new_people"], one["denominator"], one["censored"], one["count"]) == (4, 3, 1, 1)
    assert (three["denominator"], three["count"]) == (3, 2)
    assert three["share"] == pytest.approx(2 / 3)
    assert 0 < three["ci_low"] < 2 / 3 < three["ci_high"] < 1
    # with follow-up until the end of 2023 everybody counts for 1 month: d never came back
    r2 = A.loyalty(_loyalty_ds(), cohort="year", as_of="2023-12-31")
    assert r2.loc[r2["horizon_months"] == 1, "denominator"].iloc[0] == 4


def test_loyalty_cohorts_by_quarter():
    r = A.loyalty(_loyalty_ds())
    assert r["period"].unique().tolist() == ["2023-Q1", "2023-Q2"]
    q2 = r.loc[(r["period"] == "2023-Q2") & (r["horizon_months"] == 3)].iloc[0]
    assert (q2["new_people"], q2["denominator"], q2["censored"]) == (1, 0, 1)
    assert math.isnan(q2["share"])


def test_seasonality_by_hand():
    ds = make_dataset(
        [{"date": "2022-08-03", "attendance": 1}, {"date": "2023-08-02", "attendance": 3},
         {"date": "2023-01-04"}, {"date": "2023-02-01", "status": "cancelled"}],
        visits=[],
    )
    r = A.seasonality(ds)
    assert r["month"].tolist() == list(range(1, 13))
    aug = r.loc[r["month"] == 8].iloc[0]
    # August: 2 sessions (2022, 2023), 1 + 3 = 4 visits, mean 2, 2 years
    assert (aug["sessions_held"], aug["visits"], aug["years"]) == (2, 4, 2)
    assert aug["mean_visits_per_session"] == 2.0
    jan = r.loc[r["month"] == 1].iloc[0]
    # January: one session with 0 visits: mean 0, exact upper bound -ln(0.025) = 3.689
    assert jan["mean_visits_per_session"] == 0 and jan["ci_high"] == pytest.approx(3.689, abs=1e-3)
    # February: only a cancelled session -> no held session, NaN mean
    feb = r.loc[r["month"] == 2].iloc[0]
    assert feb["sessions_held"] == 0 and math.isnan(feb["mean_visits_per_session"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.integers(0, 6), st.booleans()),
                min_size=1, max_size=25, unique_by=lambda t: t[0]))
def test_by_period_totals_property(rows):
    # whatever the sessions, the per-period table adds up to the per-session series
    start = pd.Timestamp("2022-01-05")
    sessions = [{"date": start + pd.Timedelta(days=7 * d), "attendance": a,
                 "status": "held" if held else "cancelled"} for d, a, held in rows]
    ds = make_dataset(sessions)
    r = A.by_period(ds, period="quarter")
    held = [a for _, a, h in rows if h]
    assert r["sessions_held"].sum() == len(held)
    assert r["sessions_cancelled"].sum() == len(rows) - len(held)
    assert r["visits"].sum() == sum(held)
    ok = r["sessions_held"] > 0
    assert (r.loc[~ok, "mean_visits_per_session"].isna()).all()
    means = r.loc[ok]
    assert (means["ci_low"] <= means["mean_visits_per_session"] + 1e-12).all()
    assert (means["mean_visits_per_session"] <= means["ci_high"] + 1e-12).all()


# --- Done when: the example data ------------------------------------------------------
def test_example_2023_attendance(example_dataset):
    r = A.by_period(example_dataset).set_index("period")
    # capitalisation write-up: 234 visits over 43 held sessions in 2023 = 5.44
    assert r.loc["2023", "sessions_held"] == 43
    assert r.loc["2023", "visits"] == 234
    assert round(r.loc["2023", "mean_visits_per_session"], 2) == 5.44
