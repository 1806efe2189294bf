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
from qsp_eval.testing import make_dataset

TANB = {"gender": {"tanb": {"label_fr": "Personnes TANB", "label_en": "TANB people",
                            "members": ["trans_woman", "trans_man", "non_binary", "agender"]}}}



def _ba_exact(*args, **kwargs):
    """before_after_events cut at the event day itself, shares among known answers (the
    behaviour these hand-made tests were written for; the default aligns with years)."""
    kwargs.setdefault("align", None)
    kwargs.setdefault("among", "known")
    return P.before_after_events(*args, **kwargs)

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
    # Wilson 95 % by hand (z = 1.959964, z² = 3.841459), not from qsp_eval.stats:
    # 1/5: centre (0.2 + z²/10)/(1 + z²/5) = 0.584146/1.768292 = 0.330345,
    #      half z·sqrt(0.2·0.8/5 + z²/100)/(1 + z²/5) = 1.959964·0.265357/1.768292 = 0.294121
    #      -> (0.036224, 0.624466)
    # 1/4: centre (0.25 + z²/8)/(1 + z²/4) = 0.730182/1.960365 = 0.372473,
    #      half z·sqrt(0.25·0.75/4 + z²/64)/(1 + z²/4) = 1.959964·0.326953/1.960365 = 0.326886
    #      -> (0.045587, 0.699359)
    assert (tw["ci_low"], tw["ci_high"]) == pytest.approx((0.036224, 0.624466), abs=2e-6)
    assert (tw["ci_known_low"], tw["ci_known_high"]) == pytest.approx((0.045587, 0.699359),
                                                                      abs=2e-6)
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
    from qsp_eval.schema import Event

    ba = _ba_exact(ds, [Event(pd.Timestamp("2023-01-15").date(), "x", "x")],
                               include_change=False)
    assert len(ba) > 0
    comp = P.composition(ds, fields=["chemsex"], unit="visits")
    comp_before = comp.copy()
    P.profile_tests(comp, unit="visits")
    P.group_share(comp, "chemsex", "yes", unit="visits")
    pd.testing.assert_frame_equal(comp, comp_before)
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


# --- before/after around dated events ---------------------------------------------------
def _ba_ds(events=True, change=True):
    """Event 2023-05-15.  Before: S1 2023-01-04.  After: S2 2023-06-07, S3 2023-07-05.

    Before (10 people with a code + 1 visit without one):
        p1-p4 cis man, chemsex yes; p5 cis man, chemsex no; p6, p7 trans woman, chemsex yes;
        p8 gender unknown, chemsex yes; p9, p10 non-binary, chemsex unknown;
        (no code) cis man, chemsex yes -> not countable as a person.
    After (6 people):
        q1 cis man, chemsex yes (S2) then chemsex unknown (S3) -> last known: yes;
        p1 cis man, now chemsex no; q2-q4 cis woman, chemsex no;
        p5 cis man, chemsex unknown.
    """
    from datetime import date

    from qsp_eval.schema import Change, Event

    b, a, a2 = "2023-01-04", "2023-06-07", "2023-07-05"
    visits = ([{"date": b, "person_id": f"p{i}", "gender": "cis_man", "chemsex": "yes"}
               for i in range(1, 5)]
              + [{"date": b, "person_id": "p5", "gender": "cis_man", "chemsex": "no"},
                 {"date": b, "person_id": "p6", "gender": "trans_woman", "chemsex": "yes"},
                 {"date": b, "person_id": "p7", "gender": "trans_woman", "chemsex": "yes"},
                 {"date": b, "person_id": "p8", "chemsex": "yes"},
                 {"date": b, "person_id": "p9", "gender": "non_binary"},
                 {"date": b, "person_id": "p10", "gender": "non_binary"},
                 {"date": b, "gender": "cis_man", "chemsex": "yes"},
                 {"date": a, "person_id": "q1", "gender": "cis_man", "chemsex": "yes"},
                 {"date": a2, "person_id": "q1", "gender": "cis_man"},
                 {"date": a, "person_id": "p1", "gender": "cis_man", "chemsex": "no"},
                 {"date": a, "person_id": "p5", "gender": "cis_man"}]
              + [{"date": a, "person_id": f"q{i}", "gender": "cis_woman", "chemsex": "no"}
                 for i in range(2, 5)])
    cfg = EvaluationConfig(
        reporting_groups=TANB,
        events=(Event(date(2023, 5, 15), "Ouverture d'un service", "A service opens"),)
        if events else (),
        change=Change("theming", date(2023, 7, 1), "Thématisation", "Theming")
        if change else None)
    return make_dataset([{"date": d} for d in (b, a, a2)], visits, config=cfg)


def _wilson(x, n, z=1.959963984540054):
    # Wilson (1927) score interval, written out here independently of qsp_eval.stats
    c = (x + z * z / 2) / (n + z * z)
    h = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    return c - h, c + h


def test_before_after_events_cis_men_chemsex_by_hand():
    r = _ba_exact(_ba_ds(change=False), fields=["gender"])
    assert set(r["event"]) == {"2023-05-15"} and set(r["event_kind"]) == {"context"}
    y = r.loc[(r["field"] == "chemsex_cis_men") & (r["group"] == "yes")].set_index("period")
    # before: p1-p4 out of 10 distinct people (the visit without a code is not a person)
    # after: q1 (last known chemsex answer: yes) out of q1, p1, q2, q3, q4, p5 = 6
    assert y.loc["before", ["count", "denominator"]].tolist() == [4, 10]
    assert y.loc["after", ["count", "denominator"]].tolist() == [1, 6]
    assert (y["among"] == "all").all() and (y["unit"] == "people").all()
    assert y.loc["before", "share"] == pytest.approx(0.4)
    assert y.loc["after", "share"] == pytest.approx(1 / 6)
    # difference after - before = 1/6 - 4/10 = -7/30
    assert y["difference"].tolist() == pytest.approx([-7 / 30] * 2)
    # Newcombe (1998) method 10 by hand, from the Wilson limits:
    #   4/10: (0.168182, 0.687328)   1/6: (0.030053, 0.563503)   (hand, to ~1e-5)
    #   low  = d - sqrt((1/6 - 0.030053)^2 + (0.687328 - 0.4)^2) = -0.233333 - 0.318151
    #   high = d + sqrt((0.563503 - 1/6)^2 + (0.4 - 0.168182)^2) = -0.233333 + 0.459586
    l_b, u_b = _wilson(4, 10)
    l_a, u_a = _wilson(1, 6)
    assert (l_b, u_b) == pytest.approx((0.168182, 0.687328), abs=1e-5)
    assert (l_a, u_a) == pytest.approx((0.030053, 0.563503), abs=1e-5)
    low = -7 / 30 - math.sqrt((1 / 6 - l_a) ** 2 + (u_b - 0.4) ** 2)
    high = -7 / 30 + math.sqrt((u_a - 1 / 6) ** 2 + (0.4 - l_b) ** 2)
    assert (low, high) == pytest.approx((-0.551484, 0.226253), abs=1e-5)
    assert y["diff_ci_low"].tolist() == pytest.approx([low] * 2)
    assert y["diff_ci_high"].tolist() == pytest.approx([high] * 2)
    assert (y["diff_ci_method"] == "newcombe_hybrid_score").all()
    # side shares carry their Wilson interval
    assert y.loc["before", ["ci_low", "ci_high"]].tolist() == pytest.approx([l_b, u_b])
    # 2 x 2 table [[4, 1], [6, 5]]: expected counts < 5 -> Fisher's exact test.
    # P(X = k) = C(10, k) C(6, 5 - k) / C(16, 5), C(16, 5) = 4368: 6, 150, 900, 1800, 1260, 252;
    # two-sided p = P(tables no more likely than 1260) = (6 + 150 + 900 + 1260 + 252) / 4368
    assert (y["test"] == "fisher_exact").all()
    assert y["p_value"].tolist() == pytest.approx([2568 / 4368] * 2)
    # "no" is everybody else: 6/10 and 5/6
    n = r.loc[(r["field"] == "chemsex_cis_men") & (r["group"] == "no")].set_index("period")
    assert n["count"].tolist() == [6, 5] and n["denominator"].tolist() == [10, 6]
    # a data field rides along (reporting level by default): cis men among people of known
    # gender, before 5/9 (p8 not stated), after 3/6 (q1, p1, p5)
    g = r.loc[(r["field"] == "gender") & (r["level"] == "reporting")
              & (r["group"] == "cis_man")].set_index("period")
    assert g["count"].tolist() == [5, 3] and g["denominator"].tolist() == [9, 6]
    assert (g["among"] == "known").all()
    assert y.loc["before", "period_start"] == "2023-01-04"
    assert y.loc["after", ["period_start", "period_end"]].tolist() == ["2023-06-07", "2023-07-05"]


def test_before_after_events_change_window_and_no_events():
    r = _ba_exact(_ba_ds(), fields=[])
    # the change start (2023-07-01) is added as a second event, in date order
    assert list(dict.fromkeys(r["event"])) == ["2023-05-15", "2023-07-01"]
    ch = r.loc[(r["event"] == "2023-07-01") & (r["group"] == "yes")].set_index("period")
    assert set(ch["event_kind"]) == {"change"} and set(ch["event_label_en"]) == {"Theming"}
    # before 2023-07-01: S1 + S2 -> people p1..p10, q1..q4 = 14; cis men practising chemsex:
    # p2, p3, p4 (p1 said "no" on S2, his most recent known answer) and q1 -> 4
    # after: S3 only -> q1 (chemsex unknown on that side) -> 0 of 1
    assert ch["count"].tolist() == [4, 0] and ch["denominator"].tolist() == [14, 1]
    assert len(_ba_exact(_ba_ds(), fields=[], include_change=False)["event"]
               .unique()) == 1
    # a one-year window around 2023-05-15 keeps all three sessions (same result)
    w = _ba_exact(_ba_ds(change=False), fields=[], window_years=1)
    full = _ba_exact(_ba_ds(change=False), fields=[])
    pd.testing.assert_frame_equal(w, full)
    empty = _ba_exact(_ba_ds(events=False, change=False))
    assert empty.empty and "event" in empty.columns and "difference" in empty.columns
    with pytest.raises(ParameterError):
        _ba_exact(_ba_ds(), derived=["nope"])
    with pytest.raises(ParameterError):
        _ba_exact(_ba_ds(), window_years=0)


def test_before_after_events_window_drops_far_sessions():
    from datetime import date

    from qsp_eval.schema import Event

    ds = make_dataset([{"date": d} for d in ("2021-01-06", "2023-01-04", "2023-06-07")],
                      [{"date": "2021-01-06", "person_id": "old", "gender": "cis_man",
                        "chemsex": "yes"},
                       {"date": "2023-01-04", "person_id": "a", "gender": "cis_man",
                        "chemsex": "no"},
                       {"date": "2023-06-07", "person_id": "b", "gender": "cis_man",
                        "chemsex": "no"}])
    ev = [Event(date(2023, 5, 15), "x", "x")]
    # all data: before = old (yes) + a (no) -> 1/2; one-year window: a only -> 0/1
    full = _ba_exact(ds, ev, fields=[], include_change=False)
    win = _ba_exact(ds, ev, fields=[], include_change=False, window_years=1)
    yb = (full["group"] == "yes") & (full["period"] == "before")
    assert full.loc[yb, ["count", "denominator"]].values.tolist() == [[1, 2]]
    assert win.loc[yb, ["count", "denominator"]].values.tolist() == [[0, 1]]
    assert win.loc[yb, "period_start"].tolist() == ["2023-01-04"]


def test_before_after_events_hides_a_difference_that_would_give_back_a_hidden_side():
    from qsp_eval.disclosure import DisclosureRules, protect_table

    rules = DisclosureRules()  # threshold 5
    ds = _ba_ds(change=False)
    r = _ba_exact(ds, fields=["gender"], rules=rules)
    prot = protect_table(r, rules=rules, kind="person", by=P.BEFORE_AFTER_BY)
    keys = ["event", "field", "level", "group", "unit"]
    for _, g in prot.groupby(keys):
        if g["suppressed"].any():
            assert g["difference"].isna().all() and g["p_value"].isna().all()
    # cis men practising chemsex: 4 before (< 5, hidden) -> no difference on either row
    y = r.loc[(r["field"] == "chemsex_cis_men") & (r["group"] == "yes")]
    assert y["difference"].isna().all() and y["diff_ci_low"].isna().all()
    assert y["count"].tolist() == [4, 1]  # the exact counts stay: the publisher hides them
    # without rules, nothing is blanked
    r0 = _ba_exact(ds, fields=["gender"])
    assert r0["difference"].notna().all()


def test_before_after_events_change_on_the_day_of_an_event_keeps_two_keys():
    from datetime import date

    from qsp_eval.schema import Change

    ds = _ba_ds(change=False)
    cfg = EvaluationConfig(events=ds.config.events,
                           change=Change("theming", date(2023, 5, 15), "T", "T"))
    import dataclasses

    r = _ba_exact(dataclasses.replace(ds, config=cfg), fields=[])
    assert list(dict.fromkeys(r["event"])) == ["2023-05-15", "2023-05-15 (change)"]
    # same data on both: 4/10 before, 1/6 after for each key
    y = r.loc[r["group"] == "yes"]
    assert y["count"].tolist() == [4, 1, 4, 1]


def test_before_after_events_aligned_with_the_years():
    # issue 10: sides cut at the 1 January nearest to the event, so that a one-year side is
    # a published profile year. Event 2023-05-15: 1 Jan 2023 is 134 days before, 1 Jan 2024
    # 231 days after -> cut 2023-01-01: before = 2022, after = 2023.
    from datetime import date

    from qsp_eval.schema import Event

    days = ("2022-06-01", "2022-12-28", "2023-01-04", "2023-06-07")
    visits = [{"date": "2022-06-01", "person_id": "a", "gender": "cis_man", "chemsex": "yes"},
              {"date": "2022-12-28", "person_id": "b", "gender": "cis_woman"},
              {"date": "2023-01-04", "person_id": "a", "gender": "cis_man", "chemsex": "yes"},
              {"date": "2023-06-07", "person_id": "c"},
              {"date": "2023-06-07", "person_id": "d", "gender": "cis_man", "chemsex": "no"}]
    ds = make_dataset([{"date": d} for d in days], visits)
    ev = [Event(date(2023, 5, 15), "x", "x")]
    r = P.before_after_events(ds, ev, fields=["gender"], include_change=False, window_years=1)
    assert set(r["event"]) == {"2023-05-15"} and set(r["event_date"]) == {"2023-05-15"}
    g = r.loc[(r["field"] == "gender") & (r["group"] == "cis_man")].set_index("period")
    # 2022: a, b -> cis men 1 of 2; 2023: a, c, d -> 2 of 3 (among all: c not stated counts)
    assert g["window"].tolist() == ["2022", "2023"]
    assert g["count"].tolist() == [1, 2] and g["denominator"].tolist() == [2, 3]
    assert (g["among"] == "all").all()
    unk = r.loc[(r["field"] == "gender") & (r["group"] == "unknown")].set_index("period")
    assert unk["count"].tolist() == [0, 1]
    y = r.loc[(r["field"] == "chemsex_cis_men") & (r["group"] == "yes")].set_index("period")
    assert y["count"].tolist() == [1, 1] and y["denominator"].tolist() == [2, 3]
    # the same cells as the profile tables' years
    comp = P.composition(ds, fields=["gender"], unit="people")
    c = comp.loc[(comp["group"] == "cis_man") & (comp["level"] == "detail")].set_index("period")
    assert c.loc[["2022", "2023"], "count"].tolist() == [1, 2]
    assert c.loc[["2022", "2023"], "denominator"].tolist() == [2, 3]
    assert P.cis_men_chemsex_by_year(ds) == {"2022": 1, "2023": 1}


def test_before_after_events_hidden_pair_loses_its_test_name():
    from qsp_eval.disclosure import DisclosureRules

    r = P.before_after_events(_ba_ds(change=False), fields=["gender"], rules=DisclosureRules())
    y = r.loc[(r["field"] == "chemsex_cis_men") & (r["group"] == "yes")]
    # 4 before (< 5): the pair is hidden, and so is the name of the test (Fisher here)
    assert y["test"].isna().all() and y["p_value"].isna().all()


def test_profile_tests_keep_a_row_for_an_empty_group():
    # chemsex "yes" never answered: its two rows stay (test and statistic empty), so that a
    # missing row does not tell that the group is empty
    ds = make_dataset([{"date": "2022-01-05"}, {"date": "2023-01-04"}],
                      visits=[{"date": "2022-01-05", "chemsex": "no"}] * 3
                      + [{"date": "2023-01-04", "chemsex": "no"}] * 3)
    t = P.profile_tests(P.composition(ds, fields=["chemsex"], unit="visits"), unit="visits")
    yes = t.loc[t["group"] == "yes"]
    assert len(yes) == 2 and yes["test"].isna().all() and yes["p_value"].isna().all()


def test_profile_tests_skip_computes_only_what_can_be_published():
    # Three periods of 20 people; chemsex "yes" 12, 10, 3 (the 3 is published "< 5").
    # The disclosure check withholds the whole-distribution test ("*") and the "yes" rows
    # (a hidden cell of theirs); "no" (all shown) stays. Skipping the withheld rows must leave
    # the published table unchanged, and they are not computed at all (no test, no statistic).
    from qsp_eval.disclosure import protect_tests
    from qsp_eval.profiles import profile_tests

    rows = []
    for p, yes in (("2021", 12), ("2022", 10), ("2023", 3)):
        for g, c in (("yes", yes), ("no", 20 - yes)):
            rows.append({"period": p, "field": "chemsex", "level": "detail", "group": g,
                         "unit": "people", "count": c, "denominator": 20, "multi": False})
    comp = pd.DataFrame(rows)
    pub = comp.assign(suppressed=(comp["count"] < 5))
    asked = []

    def skip(keys):
        asked.append(keys.copy())
        return protect_tests(keys, [pub])["withheld"].to_numpy()

    full = protect_tests(profile_tests(comp, n_sim=200, seed=1), [pub])
    lean = profile_tests(comp, n_sim=200, seed=1, skip=skip)
    assert list(asked[0].columns) == ["field", "unit", "level", "among", "group"]
    assert sorted(asked[0]["group"]) == ["*", "no", "yes"]
    skipped = lean["group"].isin(["*", "yes"])
    assert lean.loc[skipped, "test"].isna().all() and lean.loc[skipped, "p_value"].isna().all()
    assert lean.loc[~skipped, "p_value"].notna().all()
    pd.testing.assert_frame_equal(protect_tests(lean, [pub]), full, check_dtype=False)
