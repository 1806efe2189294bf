"""Profile composition, tests, before/after and newcomers on hand-built tables."""

import copy
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval import profiles as P
from qsp_eval.errors import ParameterError
from qsp_eval.schema import VOCABULARIES, EvaluationConfig
from qsp_eval.stats import wilson_ci
from qsp_eval.testing import make_dataset

TANB = {"gender": {"tanb": {"label_fr": "Personnes TANB", "label_en": "TANB people",
                            "members": ["trans_woman", "trans_man", "non_binary", "agender"]}}}


def _ds():
    """2022: one held session nobody came to.  2023: S1 (Jan), S2 (Feb).  2024: S3.

    S1: p1 trans woman, chemsex yes, cocaine+ketamine, first visit
        p2 cis man, chemsex unknown
        (no code) non-binary, chemsex no, cocaine, first visit
    S2: p1 gender unknown, chemsex no
        p2 cis man, chemsex unknown
    S3: p3 agender, chemsex yes, first visit
    """
    sessions = [{"date": d} for d in ["2022-06-01", "2023-01-04", "2023-02-01", "2024-01-10"]]
    visits = [
        {"date": "2023-01-04", "person_id": "p1", "gender": "trans_woman", "chemsex": "yes",
         "products": "cocaine;ketamine", "first_visit": "yes"},
        {"date": "2023-01-04", "person_id": "p2", "gender": "cis_man"},
        {"date": "2023-01-04", "gender": "non_binary", "chemsex": "no", "products": "cocaine",
         "first_visit": "yes"},
        {"date": "2023-02-01", "person_id": "p1", "chemsex": "no"},
        {"date": "2023-02-01", "person_id": "p2", "gender": "cis_man"},
        {"date": "2024-01-10", "person_id": "p3", "gender": "agender", "chemsex": "yes",
         "first_visit": "yes"},
    ]
    return make_dataset(sessions, visits, config=EvaluationConfig(reporting_groups=TANB))


def _row(r, **kw):
    m = np.ones(len(r), dtype=bool)
    for k, v in kw.items():
        m &= (r[k] == v).to_numpy()
    assert m.sum() == 1, kw
    return r.loc[m].iloc[0]


def test_gender_per_visit_detail_and_reporting():
    r = P.composition(_ds(), fields=["gender"], unit="visits")
    # 2023 visits: trans_woman 1, cis_man 2, non_binary 1, unknown 1 -> denominator 5, known 4
    tw = _row(r, period="2023", level="detail", group="trans_woman")
    assert (tw["count"], tw["denominator"], tw["known_denominator"]) == (1, 5, 4)
    assert tw["share"] == pytest.approx(0.2) and tw["share_known"] == pytest.approx(0.25)
    assert (tw["ci_low"], tw["ci_high"]) == pytest.approx(wilson_ci(1, 5))
    assert (tw["ci_known_low"], tw["ci_known_high"]) == pytest.approx(wilson_ci(1, 4))
    unk = _row(r, period="2023", level="detail", group="unknown")
    assert unk["share"] == pytest.approx(0.2) and math.isnan(unk["share_known"])
    # reporting level: tanb = trans_woman + non_binary = 2 -> 2/5 among all, 2/4 among known
    tanb = _row(r, period="2023", level="reporting", group="tanb")
    assert tanb["count"] == 2 and tanb["share"] == pytest.approx(0.4)
    assert tanb["share_known"] == pytest.approx(0.5)
    assert set(r.loc[r["level"] == "reporting", "group"]) == {
        "tanb", "cis_man", "cis_woman", "other", "unknown"}
    # every code of the vocabulary appears, zeros included
    assert set(r.loc[r["level"] == "detail", "group"]) == set(VOCABULARIES["gender"])


def test_gender_per_person_most_recent_known():
    r = P.composition(_ds(), fields=["gender"], unit="people")
    # p1: trans_woman in S1, unknown in S2 -> most recent KNOWN value: trans_woman
    # p2: cis_man; the row without code is not a person -> denominator 2
    tanb = _row(r, period="2023", level="reporting", group="tanb", unit="people")
    assert (tanb["count"], tanb["denominator"], tanb["share"]) == (1, 2, 0.5)
    assert _row(r, period="2023", level="detail", group="unknown")["count"] == 0


def test_chemsex_people_and_visits():
    r = P.composition(_ds(), fields=["chemsex"])
    # people 2023: p1 yes (S1) then no (S2) -> most recent known "no"; p2 all unknown -> unknown
    no = _row(r, period="2023", group="no", unit="people")
    assert (no["count"], no["denominator"], no["known_denominator"]) == (1, 2, 1)
    assert no["share"] == pytest.approx(0.5) and no["share_known"] == pytest.approx(1.0)
    assert _row(r, period="2023", group="yes", unit="people")["count"] == 0
    # visits 2023: yes 1 (p1 S1), no 2 (no code S1, p1 S2), unknown 2 (p2 twice)
    v = {g: _row(r, period="2023", group=g, unit="visits")["count"] for g in ("yes", "no",
                                                                              "unknown")}
    assert v == {"yes": 1, "no": 2, "unknown": 2}
    # no reporting groups for chemsex: detail level only
    assert set(r["level"]) == {"detail"}


def test_period_with_nobody_and_all_unknown_field():
    r = P.composition(_ds(), fields=["orientation"], unit="visits")
    # 2022: one held session, nobody -> kept, denominator 0, NaN shares
    y22 = r.loc[r["period"] == "2022"]
    assert (y22["denominator"] == 0).all() and y22["share"].isna().all()
    # orientation never stated: unknown = 100 %, no known answer -> share_known NaN everywhere
    y23 = r.loc[r["period"] == "2023"]
    assert _row(y23, group="unknown")["share"] == 1.0
    assert (y23["known_denominator"] == 0).all() and y23["share_known"].isna().all()
    assert y23.loc[y23["group"] != "unknown", "count"].sum() == 0


def test_products_multi_select():
    r = P.composition(_ds(), fields=["products"])
    # visits 2023: cocaine in 2 visits (p1 S1, no-code S1), ketamine 1; 3 visits unknown
    # denominator 5 visits, 2 with a known answer; shares do not sum to 1
    coc = _row(r, period="2023", group="cocaine", unit="visits")
    assert (coc["count"], coc["denominator"], coc["known_denominator"]) == (2, 5, 2)
    assert coc["share"] == pytest.approx(0.4) and coc["share_known"] == pytest.approx(1.0)
    ket = _row(r, period="2023", group="ketamine", unit="visits")
    assert ket["share_known"] == pytest.approx(0.5)
    assert _row(r, period="2023", group="unknown", unit="visits")["count"] == 3
    assert r["multi"].all()
    # people: p1 -> cocaine;ketamine (most recent known), p2 unknown -> 1 of 2 for each option
    kp = _row(r, period="2023", group="ketamine", unit="people")
    assert (kp["count"], kp["denominator"], kp["known_denominator"]) == (1, 2, 1)


def test_group_share_over_periods():
    r = P.group_share(P.composition(_ds(), fields=["gender"]), "gender", "tanb")
    assert r["period"].tolist() == ["2022", "2023", "2024"]
    # people: 2022 nobody (NaN), 2023 p1 of (p1, p2) = 0.5, 2024 p3 agender = 1
    assert math.isnan(r["share"].iloc[0])
    assert r["share"].iloc[1:].tolist() == [0.5, 1.0]
    with pytest.raises(ParameterError):
        P.group_share(P.composition(_ds(), fields=["gender"]), "gender", "nobody")


def test_profile_tests_by_hand():
    # chemsex yes among known visits: 2022 0/2, 2023 1/2, 2024 2/2
    sessions = [{"date": d} for d in ["2022-03-02", "2023-03-01", "2024-03-06"]]
    answers = {"2022-03-02": ["no", "no"], "2023-03-01": ["yes", "no"],
               "2024-03-06": ["yes", "yes"]}
    visits = [{"date": d, "chemsex": a} for d, aa in answers.items() for a in aa]
    ds = make_dataset(sessions, visits)
    t = P.profile_tests(P.composition(ds, fields=["chemsex"], unit="visits"), unit="visits")
    ca = _row(t, group="yes", test="cochran_armitage")
    # hand arithmetic (see test_stats.test_cochran_armitage_by_hand): z = 2, p = 0.0455
    assert ca["statistic"] == pytest.approx(2.0) and ca["p_value"] == pytest.approx(0.0455,
                                                                                    abs=1e-4)
    h = _row(t, group="yes", test="fisher_freeman_halton_mc")
    # all expected counts are 1 -> exact test; p = 12/20 = 0.6 (test_stats, 3-column example)
    assert h["p_value"] == pytest.approx(0.6, abs=0.02)
    whole = _row(t, group="*")
    assert whole["test"] == "fisher_freeman_halton_mc" and whole["periods"] == 3


def test_profile_tests_large_counts_use_chi_square():
    sessions = [{"date": "2022-03-02"}, {"date": "2023-03-01"}]
    visits = ([{"date": "2022-03-02", "chemsex": "yes"}] * 20
              + [{"date": "2022-03-02", "chemsex": "no"}] * 20
              + [{"date": "2023-03-01", "chemsex": "yes"}] * 10
              + [{"date": "2023-03-01", "chemsex": "no"}] * 30)
    t = P.profile_tests(P.composition(make_dataset(sessions, visits), fields=["chemsex"],
                                      unit="visits"), unit="visits")
    h = _row(t, group="*")
    # [[20, 10], [20, 30]]: expected 15, 15, 25, 25; X^2 = 25/15*2 + 25/25*2 = 5.3333
    assert h["test"] == "chi_square" and h["statistic"] == pytest.approx(16 / 3)


def test_before_after_by_hand():
    r = P.before_after(_ds(), "2023-01-15", fields=["chemsex"], unit="visits")
    yes = _row(r, group="yes")
    # before (S1): known chemsex answers: p1 yes, no-code no -> 1/2
    # after (S2, S3): p1 no, p3 yes (p2 unknown) -> 1/2; difference 0
    assert (yes["count_before"], yes["denominator_before"]) == (1, 2)
    assert (yes["count_after"], yes["denominator_after"]) == (1, 2)
    assert yes["estimate"] == 0
    # Wilson 1/2: centre 0.5, half = 1.96 sqrt(0.125 + 0.2401) / (1 + 1.9208) = 0.40548;
    # Newcombe: -/+ sqrt(2 * 0.40548^2) = -/+ 0.57343
    assert yes["ci_low"] == pytest.approx(-0.57343, abs=2e-4)
    assert yes["ci_high"] == pytest.approx(0.57343, abs=2e-4)
    assert yes["ci_method"] == "newcombe_hybrid_score" and yes["test"] == "fisher_exact"
    assert yes["p_value"] == pytest.approx(1.0)
    assert "unknown" not in set(r["group"])  # among known answers


def test_before_after_people_and_all():
    r = P.before_after(_ds(), "2023-01-15", fields=["gender"], among="all")
    # people before: p1 trans_woman, p2 cis_man -> tanb 1/2
    # after: p1 (unknown in S2) -> unknown, p2 cis_man, p3 agender -> tanb 1/3
    tanb = _row(r, group="tanb")
    assert (tanb["count_before"], tanb["denominator_before"]) == (1, 2)
    assert (tanb["count_after"], tanb["denominator_after"]) == (1, 3)
    assert tanb["estimate"] == pytest.approx(1 / 3 - 1 / 2)
    assert tanb["level"] == "reporting"
    assert "unknown" in set(r["group"])


def test_newcomers_profile():
    r = P.newcomers_profile(_ds(), fields=["gender"])
    # first visits in 2023: p1 trans_woman, no-code non_binary -> tanb 2/2; 2024: p3 agender
    t23 = _row(r, period="2023", level="reporting", group="tanb")
    assert (t23["count"], t23["denominator"], t23["unit"]) == (2, 2, "people")
    assert _row(r, period="2024", level="reporting", group="tanb")["share"] == 1.0
    assert (r["population"] == "newcomers").all()


def test_errors_and_labels():
    with pytest.raises(ParameterError):
        P.composition(_ds(), fields=["shoe_size"])
    with pytest.raises(ParameterError):
        P.composition(_ds(), unit="sessions")
    cfg = EvaluationConfig(reporting_groups=TANB)
    assert P.group_label("gender", "tanb", cfg, "en") == "TANB people"
    assert P.group_label("gender", "unknown") == "Non renseigné"


def test_inputs_not_mutated():
    ds = _ds()
    before = copy.deepcopy((ds.sessions, ds.visits))
    P.composition(ds)
    P.before_after(ds, "2023-01-15")
    P.newcomers_profile(ds)
    pd.testing.assert_frame_equal(ds.sessions, before[0])
    pd.testing.assert_frame_equal(ds.visits, before[1])


_GENDERS = list(VOCABULARIES["gender"])
_PRODUCTS = ["cocaine", "ketamine", "ghb_gbl", "unknown", "cocaine;ketamine"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(_GENDERS),
                          st.sampled_from(["p1", "p2", "p3", None]),
                          st.sampled_from(_PRODUCTS)),
                min_size=0, max_size=30))
def test_composition_properties(rows):
    dates = ["2022-03-02", "2022-09-07", "2023-03-01", "2023-09-06"]
    visits = [{"date": dates[d], "gender": g, "person_id": p if p else pd.NA, "products": pr}
              for d, g, p, pr in rows]
    ds = make_dataset([{"date": d} for d in dates], visits,
                      config=EvaluationConfig(reporting_groups=TANB))
    r = P.composition(ds, fields=["gender", "products"])
    assert (r["count"] <= r["denominator"]).all()
    assert (r["known_denominator"] <= r["denominator"]).all()
    g = r.loc[(r["field"] == "gender") & (r["denominator"] > 0)]
    sums = g.groupby(["period", "level", "unit"])["share"].sum()
    assert np.allclose(sums, 1.0)
    known = g.loc[(g["group"] != "unknown") & (g["known_denominator"] > 0)]
    ks = known.groupby(["period", "level", "unit"])["share_known"].sum()
    assert np.allclose(ks, 1.0)
    # per visit, the denominators add up to the number of visits
    per_visit = g.loc[g["unit"] == "visits"].drop_duplicates(["period", "level"])
    assert per_visit.groupby("level")["denominator"].sum().eq(len(rows)).all() or not len(rows)
    # per person, a person counts at most once per period
    ppl = r.loc[(r["unit"] == "people") & (r["field"] == "gender")].drop_duplicates("period")
    assert (ppl["denominator"] <= 3).all()
    lo, hi = r["ci_low"], r["ci_high"]
    ok = r["denominator"] > 0
    assert ((lo[ok] <= r.loc[ok, "share"] + 1e-12) & (r.loc[ok, "share"] <= hi[ok] + 1e-12)).all()


# --- Done when: the example data ------------------------------------------------------
def test_example_2023_tanb_share_of_people(example_dataset):
    r = P.group_share(P.composition(example_dataset, fields=["gender"], unit="people"),
                      "gender", "tanb")
    # capitalisation write-up: 38 % trans, agender and non-binary people in 2023
    assert round(100 * float(r.set_index("period").loc["2023", "share"])) == 38
