"""Data-quality section: expected values worked out by hand in the comments."""

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval.errors import ParameterError
from qsp_eval.quality import (
    completeness,
    consistency_checks,
    describe_quality,
    expected_schedule,
    period_labels,
    quality_tables,
    session_gaps,
    sessions_expected,
    survey_counts,
    visit_outliers,
)
from qsp_eval.schema import EvaluationConfig
from qsp_eval.testing import make_dataset

WED = 2  # 2023-01-04 is a Wednesday


def _cfg(**kw):
    base = {"launch_date": date(2023, 1, 4), "session_weekday": WED}
    base.update(kw)
    return EvaluationConfig(**base)


def _schedule_ds(**cfg):
    # Jan 4 held, Jan 11 held, (Jan 18 nothing), Jan 25 cancelled, (Feb 1, Feb 8 nothing),
    # Feb 15 held, Feb 17 (a Friday) held outreach session.
    return make_dataset(
        [{"date": "2023-01-04"}, {"date": "2023-01-11"},
         {"date": "2023-01-25", "status": "cancelled"},
         {"date": "2023-02-15"}, {"date": "2023-02-17", "format": "outreach"}],
        config=_cfg(**cfg))


def test_expected_schedule_states():
    # Expected Wednesdays from Jan 4 to the last record (Feb 17): Jan 4, 11, 18, 25,
    # Feb 1, 8, 15 (Feb 22 is after the last record) = 7 weeks.
    sched = expected_schedule(_schedule_ds())
    assert sched["date"].dt.strftime("%m-%d").tolist() == [
        "01-04", "01-11", "01-18", "01-25", "02-01", "02-08", "02-15"]
    assert sched["state"].tolist() == ["held", "held", "not_recorded", "cancelled",
                                       "not_recorded", "not_recorded", "held"]


def test_sessions_expected_per_year_and_month():
    t = sessions_expected(_schedule_ds())
    # 7 expected, 5 rows, 4 held, 1 cancelled, 3 weeks without any row; 4 of 7 weeks recorded
    r = t.iloc[0]
    assert t["period"].tolist() == ["2023"]
    assert (r["sessions_expected"], r["sessions_recorded"], r["sessions_held"],
            r["sessions_cancelled"], r["weeks_not_recorded"]) == (7, 5, 4, 1, 3)
    assert r["share_recorded"] == pytest.approx(4 / 7)
    assert r["unit"] == "sessions"
    m = sessions_expected(_schedule_ds(), period="month").set_index("period")
    # January: 4 expected (4, 11, 18, 25), 3 rows, 2 held, 1 cancelled, 1 missing (18th)
    assert m.loc["2023-01", ["sessions_expected", "sessions_recorded", "sessions_held",
                             "sessions_cancelled", "weeks_not_recorded"]].tolist() == [4, 3, 2, 1, 1]
    # February: 3 expected (1, 8, 15), 2 rows (15th, 17th), both held, 2 missing (1st, 8th)
    assert m.loc["2023-02", ["sessions_expected", "sessions_recorded", "sessions_held",
                             "sessions_cancelled", "weeks_not_recorded"]].tolist() == [3, 2, 2, 0, 2]


def test_launch_before_first_record_counts_missing_weeks_in_earlier_period():
    # launch Wednesday 2022-12-28: one more expected week (in 2022) with nothing recorded
    t = sessions_expected(_schedule_ds(launch_date=date(2022, 12, 28))).set_index("period")
    assert t.loc["2022", ["sessions_expected", "sessions_recorded", "weeks_not_recorded"]].tolist() \
        == [1, 0, 1]
    assert pd.isna(t.loc["2022", "share_recorded"]) is False
    assert t.loc["2022", "share_recorded"] == 0


def test_launch_on_another_weekday_starts_on_next_session_day():
    # launch Monday 2023-01-02, sessions on Wednesdays: first expected session Jan 4
    sched = expected_schedule(_schedule_ds(launch_date=date(2023, 1, 2)))
    assert sched["date"].iloc[0] == pd.Timestamp("2023-01-04")
    assert len(sched) == 7


def test_schedule_without_config_uses_first_record_and_its_weekday():
    ds = make_dataset([{"date": "2023-03-01"}, {"date": "2023-03-15"}, {"date": "2023-03-22"}])
    # Wednesdays Mar 1, 8, 15, 22: one missing (Mar 8)
    assert expected_schedule(ds)["state"].tolist() == ["held", "not_recorded", "held", "held"]


def test_gaps_are_runs_of_weeks():
    g = session_gaps(_schedule_ds())
    assert g[["group", "count"]].values.tolist() == [["not_recorded", 1], ["cancelled", 1],
                                                      ["not_recorded", 2]]
    assert g["start"].dt.strftime("%m-%d").tolist() == ["01-18", "01-25", "02-01"]
    assert g["end"].dt.strftime("%m-%d").tolist() == ["01-18", "01-25", "02-08"]
    assert set(g["unit"]) == {"sessions"}
    assert g["period"].tolist() == ["2023"] * 3
    assert g["label_en"].tolist() == ["No record", "Cancelled", "No record"]


def test_no_sessions_gives_empty_tables():
    ds = make_dataset([{"date": "2023-01-04"}])
    ds.sessions = ds.sessions.iloc[0:0]
    assert sessions_expected(ds).empty
    assert session_gaps(ds).empty
    assert consistency_checks(ds).empty


def test_completeness_per_period_per_visit():
    ds = make_dataset(
        [{"date": "2023-01-04"}, {"date": "2024-01-10"}],
        [{"date": "2023-01-04", "gender": "cis_man", "person_id": "a", "first_visit": "yes"},
         {"date": "2023-01-04", "gender": "unknown", "first_visit": "no"},
         {"date": "2023-01-04", "gender": "non_binary", "person_id": "b"},
         {"date": "2023-01-04", "person_id": "a"},
         {"date": "2024-01-10", "person_id": "c"}],
        config=_cfg())
    t = completeness(ds).set_index(["period", "field"])
    # 2023: gender unknown on 2 of 4 visits; first_visit unknown on 2 of 4; no code on 1 of 4
    assert t.loc[("2023", "gender"), ["count", "denominator"]].tolist() == [2, 4]
    assert t.loc[("2023", "gender"), "share"] == 0.5
    assert t.loc[("2023", "first_visit"), "share"] == 0.5
    assert t.loc[("2023", "visitor_code"), ["count", "denominator"]].tolist() == [1, 4]
    # orientation never given: 4 of 4
    assert t.loc[("2023", "orientation"), "share"] == 1.0
    # 2024: one visit, everything unknown but the code
    assert t.loc[("2024", "age_band"), "share"] == 1.0
    assert t.loc[("2024", "visitor_code"), "share"] == 0.0
    assert set(t["unit"]) == {"visits"}
    assert t.loc[("2023", "gender"), "label_fr"] == "Identité de genre"
    assert "person_id" not in completeness(ds).columns


def test_completeness_flags_columns_not_supplied():
    ds = make_dataset([{"date": "2023-01-04"}], [{"date": "2023-01-04", "gender": "cis_man"}])
    ds.supplied["visits"] = frozenset({"date", "gender"})
    t = completeness(ds).set_index("field")
    assert bool(t.loc["gender", "supplied"]) is True
    assert bool(t.loc["orientation", "supplied"]) is False


def test_completeness_without_visits_is_empty():
    ds = make_dataset([{"date": "2023-01-04", "attendance": 3}])
    assert completeness(ds).empty


def _consistency_ds():
    sessions = [
        {"date": "2022-12-28"},                                   # before launch, 0 visits
        {"date": "2023-01-04"},
        {"date": "2023-01-11"},
        {"date": "2023-01-18", "attendance": 5},                  # tally, no rows
        {"date": "2023-01-25", "attendance": 3, "new_visitors": 4},  # tally 3 vs 2 rows; 4 > 3
        {"date": "2023-02-01", "status": "cancelled"},            # 1 row + services
        {"date": "2023-02-08"},                                   # held, no rows, no tally
        {"date": "2023-02-10"},                                   # a Friday, no rows
    ]
    visits = [
        {"date": "2023-01-04", "person_id": "a", "first_visit": "yes"},
        {"date": "2023-01-11", "person_id": "a", "first_visit": "yes"},  # already seen on Jan 4
        {"date": "2023-01-11", "person_id": "b"},
        {"date": "2023-01-11", "person_id": "b"},                         # duplicate in session
        {"date": "2023-01-25", "person_id": "c"},
        {"date": "2023-01-25"},
        {"date": "2023-02-01", "person_id": "d"},                         # cancelled session
    ]
    services = [{"date": "2023-02-01", "service": "trod_hiv", "count": 2},
                {"date": "2023-01-04", "service": "trod_hiv", "count": 1}]
    return make_dataset(sessions, visits, services, config=_cfg())


def test_consistency_checks_counted_by_hand():
    t = consistency_checks(_consistency_ds()).set_index(["check", "period"])["count"]
    assert t[("first_visit_already_seen", "2023")] == 1
    assert t[("duplicate_person_in_session", "2023")] == 1
    assert t[("tally_without_visit_rows", "2023")] == 1          # Jan 18
    assert t[("tally_differs_from_visit_rows", "2023")] == 1     # Jan 25
    assert t[("new_visitors_above_attendance", "2023")] == 1     # Jan 25
    assert t[("visits_on_cancelled_session", "2023")] == 1       # Feb 1: one row, no tally
    assert t[("services_on_cancelled_session", "2023")] == 1
    # held with 0 visits: Feb 8 and Feb 10 in 2023, Dec 28 in 2022
    assert t[("held_session_without_visits", "2023")] == 2
    assert t[("held_session_without_visits", "2022")] == 1
    assert t[("session_before_launch", "2022")] == 1
    assert t[("session_before_launch", "2023")] == 0
    assert t[("session_off_weekday", "2023")] == 1               # Friday Feb 10
    # every check appears for every period, zeros included
    assert len(t) == 10 * 2


def test_consistency_has_no_person_level_column_and_speaks_english():
    t = consistency_checks(_consistency_ds(), lang="en")
    assert list(t.columns) == ["check", "period", "unit", "count", "description"]
    assert t["description"].str.contains("session|visit", case=False).all()


def test_tally_without_rows_not_flagged_when_source_has_only_tallies():
    ds = make_dataset([{"date": "2023-01-04", "attendance": 4}], config=_cfg())
    t = consistency_checks(ds).set_index("check")["count"]
    assert t["tally_without_visit_rows"] == 0


def _attendance_ds(counts, start="2023-01-04"):
    dates = pd.date_range(start, periods=len(counts), freq="7D")
    return make_dataset([{"date": d, "attendance": c} for d, c in zip(dates, counts)])


def test_outlier_high_flagged_by_hand():
    # y = 2*sqrt(x + 3/8): 4 -> 4.18330, 5 -> 4.63681, 6 -> 5.04975, 20 -> 9.02774
    # median y = 4.63681; |dev| = 0.45351, 0, 0, 0, 0.41294, 4.39093 -> MAD = 0.20647
    # z(20) = 0.6745 * 4.39093 / 0.20647 = 14.344; z(4) = 0.6745 * -0.45351 / 0.20647 = -1.4815
    t = visit_outliers(_attendance_ds([4, 5, 5, 6, 5, 20]))
    assert t["flagged"].tolist() == [False, False, False, False, False, True]
    assert float(t["robust_z"].iloc[5]) == pytest.approx(14.344, abs=2e-3)
    assert float(t["robust_z"].iloc[0]) == pytest.approx(-1.4815, abs=2e-3)
    assert t["direction"].iloc[5] == "high"
    assert (t["estimate"] == 5.0).all()  # median visits per session
    assert visit_outliers(_attendance_ds([4, 5, 5, 6, 5, 20]), flagged_only=True)[
        "count"].tolist() == [20]


def test_outlier_low_flagged_by_hand():
    # y: 10 -> 6.44205, 11 -> 6.74537, 9 -> 6.12372, 0 -> 1.22474; median 6.44205
    # |dev|: 0, 0, 0.30332, 0.31833, 0, 5.21730 -> MAD = (0 + 0.30332) / 2 = 0.15166
    # z(0) = 0.6745 * -5.21730 / 0.15166 = -23.20
    t = visit_outliers(_attendance_ds([10, 10, 11, 9, 10, 0]))
    assert t["flagged"].tolist() == [False] * 5 + [True]
    assert t["direction"].iloc[5] == "low"
    assert float(t["robust_z"].iloc[5]) == pytest.approx(-23.20, abs=0.02)


def test_outlier_mad_zero_uses_mean_absolute_deviation():
    # five 5s and a 12: MAD = 0; meanAD = (7.03562 - 4.63681) / 6 = 0.399802
    # z(12) = 2.39881 / (1.253314 * 0.399802) = 4.787 > 3.5
    t = visit_outliers(_attendance_ds([5, 5, 5, 5, 5, 12]))
    assert float(t["robust_z"].iloc[5]) == pytest.approx(4.787, abs=2e-3)
    assert t["flagged"].sum() == 1
    assert (t["robust_z"].iloc[:5] == 0).all()


def test_outlier_small_period_not_screened_and_constant_series_never_flagged():
    t = visit_outliers(_attendance_ds([1, 2, 30, 2]))  # 4 sessions < 5
    assert t["robust_z"].isna().all() and not t["flagged"].any()
    t = visit_outliers(_attendance_ds([3] * 8))
    assert not t["flagged"].any()


def test_outliers_screened_within_each_period():
    # 2022 around 2, 2023 around 8: neither year's sessions are outliers of their own year
    d22 = [{"date": d, "attendance": c} for d, c in
           zip(pd.date_range("2022-10-05", periods=6, freq="7D"), [2, 2, 3, 1, 2, 2])]
    d23 = [{"date": d, "attendance": c} for d, c in
           zip(pd.date_range("2023-01-04", periods=6, freq="7D"), [8, 8, 7, 9, 8, 8])]
    t = visit_outliers(make_dataset(d22 + d23))
    assert not t["flagged"].any()
    assert t.groupby("period")["estimate"].first().tolist() == [2.0, 8.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=15), min_size=5, max_size=20))
def test_outlier_flags_invariant_to_order(counts):
    a = visit_outliers(_attendance_ds(counts))
    b = visit_outliers(_attendance_ds(list(reversed(counts))))
    # the same values are flagged whatever the order of the sessions
    assert sorted(a.loc[a["flagged"], "count"]) == sorted(b.loc[b["flagged"], "count"])
    # a session equal to the median is never flagged
    med = a["estimate"].iloc[0]
    assert not a.loc[a["count"] == med, "flagged"].any()


def test_survey_counts():
    ds = make_dataset(
        [{"date": "2023-01-04"}],
        survey_responses=[
            {"survey": "sat", "response_id": "1", "question": "q1", "answer": "yes"},
            {"survey": "sat", "response_id": "1", "question": "q2", "answer": "<free_text>"},
            {"survey": "sat", "response_id": "2", "question": "q1", "answer": "no"},
            {"survey": "sat", "response_id": "3", "question": "q1", "answer": ""},
            {"survey": "vote", "response_id": "1", "question": "name", "answer": "a"},
        ],
        config=EvaluationConfig(surveys={"sat": {"label_fr": "Satisfaction", "label_en": "Sat"}}))
    t = survey_counts(ds).set_index("survey")
    # sat: responses 1, 2, 3 -> 3; questions q1, q2 -> 2; one free-text question (q2: its
    # number of answers is not published); one empty answer (q1, response 3)
    assert t.loc["sat", ["count", "questions", "free_text_questions", "unanswered"]].tolist() \
        == [3, 2, 1, 1]
    assert "free_text_answers" not in t.columns
    assert t.loc["sat", "label"] == "Satisfaction"
    assert t.loc["vote", "count"] == 1
    assert t.loc["vote", "label"] == "vote"
    assert survey_counts(ds, lang="en").set_index("survey").loc["sat", "label"] == "Sat"
    assert survey_counts(make_dataset([{"date": "2023-01-04"}])).empty


def test_period_labels_follow_attendance_labels():
    d = pd.Series(pd.to_datetime(["2023-05-17", "2023-09-06"]), index=[10, 11])
    assert period_labels(d, "half").tolist() == ["2023-H1", "2023-H2"]
    assert period_labels(d, "quarter").tolist() == ["2023-Q2", "2023-Q3"]
    assert period_labels(d, "month").index.tolist() == [10, 11]
    with pytest.raises(ParameterError):
        period_labels(d, "fortnight")


def test_quality_tables_names_and_no_person_level_output():
    ds = _consistency_ds()
    tabs = quality_tables(ds)
    assert set(tabs) == {"quality_sessions", "quality_gaps", "quality_completeness",
                         "quality_consistency", "quality_outliers", "quality_surveys"}
    for name, t in tabs.items():
        assert "person_id" not in t.columns, name
        for col in t.columns:
            if t[col].dtype == object or str(t[col].dtype).startswith("str"):
                assert not t[col].astype(str).isin(["a", "b", "c", "d"]).any(), (name, col)
    text = describe_quality(tabs, lang="fr")
    assert "Permanences attendues" in text
    # the consistency problems are listed with their counts
    assert "déjà vue" in text
    text_en = describe_quality(tabs, lang="en")
    assert "Sessions expected" in text_en


def test_describe_quality_names_field_and_runs():
    ds = make_dataset(
        [{"date": "2023-01-04"}, {"date": "2023-01-11", "status": "cancelled"},
         {"date": "2023-01-18", "status": "cancelled"}, {"date": "2023-02-08"}],
        [{"date": "2023-01-04", "person_id": "a", "first_visit": "yes", "gender": "cis_man",
          "orientation": "gay", "age_band": "25-34", "chemsex": "no", "injects": "no",
          "products": "alcohol", "heard_via": "other"},
         {"date": "2023-02-08", "person_id": "b", "first_visit": "yes", "gender": "unknown",
          "orientation": "gay", "age_band": "25-34", "chemsex": "no", "injects": "no",
          "products": "alcohol", "heard_via": "other"}],
        config=_cfg())
    fr = describe_quality(quality_tables(ds), lang="fr")
    # expected Jan 4, 11, 18, 25, Feb 1, 8 = 6; held 2; cancelled 2; not recorded Jan 25-Feb 1
    assert ("- Permanences attendues (une par semaine depuis le lancement) : 6 ; tenues : 2 ; "
            "annulées : 2 ; semaines sans aucun enregistrement : 2.") in fr
    assert "- Plus longue interruption sans enregistrement : 2 semaines, du 25/01/2023 au " \
           "01/02/2023." in fr
    assert "- Plus longue série de permanences annulées : 2 semaines, du 11/01/2023 au " \
           "18/01/2023." in fr
    # gender unknown on 1 of 2 visits = 50 %, the only incomplete field
    assert "« Identité de genre » (non renseigné sur 50\u00a0% des passages)" in fr
    en = describe_quality(quality_tables(ds, lang="en"), lang="en")
    assert "'Gender identity' (not stated on 50% of visits)" in en
