"""Services, rapid tests and drug checking (qsp_eval.services) on hand-built tables."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval import services as S
from qsp_eval.errors import ParameterError
from qsp_eval.testing import make_dataset


def small():
    # 2022: one held session (3 visits, tally).  2023: two held sessions (5 tallied visits;
    # 2 visit rows) and one cancelled session that still has a service row.
    return make_dataset(
        [{"date": "2022-06-01", "attendance": 3},
         {"date": "2023-01-04", "attendance": 5},
         {"date": "2023-01-11"},
         {"date": "2023-01-18", "status": "cancelled"}],
        visits=[{"date": "2023-01-11", "first_visit": "yes"}, {"date": "2023-01-11"}],
        services=[{"date": "2022-06-01", "service": "sample_sintes", "count": 1},
                  {"date": "2023-01-04", "service": "trod_hiv", "count": 2},
                  {"date": "2023-01-11", "service": "trod_hiv", "count": 1},
                  {"date": "2023-01-11", "service": "sample_ccm", "count": 1},
                  {"date": "2023-01-18", "service": "sample_ccm", "count": 4}],
    )


def test_assign_period_year_quarter_month_and_spans():
    d = pd.Series(pd.to_datetime(["2021-12-31", "2022-05-04", "2023-11-15", None]))
    assert S.assign_period(d).tolist()[:3] == ["2021", "2022", "2023"]
    assert pd.isna(S.assign_period(d).iloc[3])
    # quarters and halves carry the labels of qsp_eval.attendance (one vocabulary per report)
    assert S.assign_period(d, period="quarter").tolist()[:3] == ["2021-Q4", "2022-Q2", "2023-Q4"]
    assert S.assign_period(d, period="half").tolist()[:3] == ["2021-H2", "2022-H1", "2023-H2"]
    assert S.assign_period(d, period="month").tolist()[:2] == ["2021-12", "2022-05"]
    assert S.assign_period(d, period="all").tolist()[:3] == ["2021–2023"] * 3
    # whole years -> "2022–2023"; 2021-12-31 is outside the span -> NA
    sp = S.assign_period(d, span=("2022-01-01", "2023-12-31"))
    assert pd.isna(sp.iloc[0]) and sp.tolist()[1:3] == ["2022–2023", "2022–2023"]
    # a partial span is labelled with its dates; a list of spans gives several periods
    sp = S.assign_period(d, span=[("2021-12-01", "2022-06-30"), ("2023-01-01", "2023-12-31")])
    assert sp.tolist()[:3] == ["2021-12-01–2022-06-30", "2021-12-01–2022-06-30", "2023"]


def test_assign_period_rejects_bad_input():
    d = pd.Series(pd.to_datetime(["2022-05-04"]))
    with pytest.raises(ParameterError):
        S.assign_period(d, period="week")
    with pytest.raises(ParameterError):
        S.assign_period(d, span=("2023-12-31", "2022-01-01"))


def test_period_denominators():
    den = S.period_denominators(small()).set_index("period")
    # 2022: 1 held session, 3 visits (tally); 2023: 2 held (cancelled one excluded),
    # 5 (tally) + 2 (visit rows) = 7 visits
    assert den.loc["2022", "sessions_held"] == 1 and den.loc["2022", "visits"] == 3
    assert den.loc["2023", "sessions_held"] == 2 and den.loc["2023", "visits"] == 7


def test_service_counts_by_hand():
    t = S.service_counts(small()).set_index(["period", "service"])
    r = t.loc[("2023", "trod_hiv")]
    # 2 + 1 = 3 HIV tests over 2 held sessions and 7 visits
    assert r["count"] == 3 and r["sessions_held"] == 2
    assert r["per_session"] == pytest.approx(1.5)
    assert r["per_10_visits"] == pytest.approx(30 / 7)
    # exact Poisson limits for x = 3 are 0.6187 and 8.7673 (standard tables), / 2 sessions
    assert r["ci_low"] == pytest.approx(0.6187 / 2, abs=1e-4)
    assert r["ci_high"] == pytest.approx(8.7673 / 2, abs=1e-4)
    # the service at the cancelled session counts (1 + 4), the denominator does not grow
    assert t.loc[("2023", "sample_ccm"), "count"] == 5
    # a service observed in another period shows 0 here
    assert t.loc[("2022", "trod_hiv"), "count"] == 0
    assert t.loc[("2023", "trod_hiv"), "label_fr"] == "TROD VIH"
    assert t.loc[("2023", "trod_hiv"), "label_en"] == "HIV rapid test"


def test_service_session_share_by_hand():
    t = S.service_session_share(small(), span=("2022-01-01", "2023-12-31"))
    t = t.set_index("service")
    # 3 held sessions over 2022-2023; HIV tests at 2 of them; on-site sample at 1 held one
    # (the cancelled session is not counted)
    assert t.loc["trod_hiv", "count"] == 2 and t.loc["trod_hiv", "denominator"] == 3
    assert t.loc["sample_ccm", "count"] == 1
    assert t.loc["trod_hiv", "share"] == pytest.approx(2 / 3)
    assert (t["period"] == "2022–2023").all()


def test_session_share_wilson_matches_newcombe_table_1():
    # Newcombe (1998) Stat Med 17:857-872, Table I, method 3 (Wilson score):
    # 81/263 -> 0.2553-0.3662
    dates = pd.date_range("2000-01-05", periods=263, freq="7D")
    ds = make_dataset([{"date": d} for d in dates],
                      services=[{"date": d, "service": "psy_on_call", "count": 1}
                                for d in dates[:81]])
    t = S.service_session_share(ds, period="all")
    assert t["count"].item() == 81 and t["denominator"].item() == 263
    assert t["ci_low"].item() == pytest.approx(0.2553, abs=5e-5)
    assert t["ci_high"].item() == pytest.approx(0.3662, abs=5e-5)


def test_session_share_edges_are_exact_zero_and_one():
    # 2 held sessions, HIV tests at both, HCV tests at none:
    # 2/2 -> upper bound exactly 1, lower = 1 - z²/(2 + z²) = 1 - 3.8415/5.8415 = 0.3424;
    # 0/2 -> lower bound exactly 0, upper = z²/(2 + z²) = 0.6576 (Wilson at the edges)
    ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-11"}],
                      services=[{"date": "2023-01-04", "service": "trod_hiv", "count": 1},
                                {"date": "2023-01-11", "service": "trod_hiv", "count": 2},
                                {"date": "2023-01-11", "service": "trod_hcv", "count": 0}])
    t = S.service_session_share(ds).set_index("service")
    assert t.loc["trod_hiv", "ci_high"] == 1.0
    assert t.loc["trod_hiv", "ci_low"] == pytest.approx(0.3424, abs=5e-5)
    assert t.loc["trod_hcv", "count"] == 0 and t.loc["trod_hcv", "ci_low"] == 0.0
    assert t.loc["trod_hcv", "ci_high"] == pytest.approx(0.6576, abs=5e-5)


def test_rapid_tests_always_three_rows():
    t = S.rapid_tests(small())
    assert t.loc[t["period"] == "2023", "service"].tolist() == ["trod_hiv", "trod_hcv", "trod_hbv"]
    assert t.loc[t["period"] == "2023", "count"].tolist() == [3, 0, 0]


def test_no_services_table_gives_empty_result():
    ds = make_dataset([{"date": "2023-01-04"}])
    assert S.service_counts(ds).empty
    assert S.drug_checking(ds).empty


def test_drug_checking_by_route():
    t = S.drug_checking(small(), span=("2022-01-01", "2023-12-31")).set_index("route")
    # on site: 1 + 4 = 5; sent to SINTES: 1; total 6
    assert t.loc["on_site", "count"] == 5
    assert t.loc["national_network", "count"] == 1
    assert t.loc["total", "count"] == 6
    assert t.loc["on_site", "share"] == pytest.approx(5 / 6)
    assert "produit déclaré" in S.drug_checking_note("fr") and "declared" in S.drug_checking_note("en")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=12))
def test_span_total_equals_sum_of_years(rows):
    # each row: (year offset 0..3, count); one session per row
    sessions = [{"date": f"{2021 + y}-03-{i % 28 + 1:02d}"} for i, (y, _) in enumerate(rows)]
    sessions = list({s["date"]: s for s in sessions}.values())
    services = [{"date": f"{2021 + y}-03-{i % 28 + 1:02d}", "service": "trod_hcv", "count": c}
                for i, (y, c) in enumerate(rows)]
    ds = make_dataset(sessions, services=services)
    yearly = S.service_counts(ds)["count"].sum()
    whole = S.service_counts(ds, span=("2021-01-01", "2024-12-31"))
    assert whole["count"].sum() == yearly == sum(c for _, c in rows)
    assert whole["period"].unique().tolist() == ["2021–2024"]


# --- the example data (issue 6, Done when) ----------------------------------------------
def test_example_rapid_tests_2023(example_dataset):
    ds = example_dataset
    t = S.rapid_tests(ds).query("period == '2023'").set_index("service")["count"]
    # issue 2 item 6 / issue 6: 6 HIV, 6 HCV, 2 HBV rapid tests in 2023
    assert t.to_dict() == {"trod_hiv": 6, "trod_hcv": 6, "trod_hbv": 2}


def test_example_samples_2022_2023(example_dataset):
    ds = example_dataset
    t = S.drug_checking(ds, span=("2022-01-01", "2023-12-31")).set_index("route")["count"]
    # 15 analysed on site, 6 sent to the national network, in 2022-2023
    assert (t["on_site"], t["national_network"], t["total"]) == (15, 6, 21)


# --- figures ------------------------------------------------------------------------------
def test_service_figures_draw_and_label_in_both_languages():
    from qsp_eval.material import material_totals
    from qsp_eval.plots import services as P

    ds = small()
    ax = P.plot_service_counts(S.service_counts(ds), lang="en")
    # 3 services x 2 periods = 6 bars; English tick labels
    assert len(ax.patches) == 6
    assert "HIV rapid test" in [t.get_text() for t in ax.get_xticklabels()]
    ax = P.plot_service_counts(S.service_counts(ds), measure="per_session")
    assert "permanence" in ax.get_ylabel()
    ax = P.plot_service_share(S.service_session_share(ds))
    assert ax.get_ylim() == (0, 100)
    ax = P.plot_drug_checking(S.drug_checking(ds))
    assert len(ax.patches) == 4  # 2 routes x 2 periods, stacked
    ds2 = make_dataset([{"date": "2023-01-04", "attendance": 2}],
                       distributions=[{"month": "2023-01", "item": "needle", "quantity": 3},
                                      {"month": "2023-01", "item": "dental_dam", "quantity": 1}])
    ax = P.plot_material(material_totals(ds2))
    assert len(ax.patches) == 2 and "Aiguille" in [t.get_text() for t in ax.get_yticklabels()]


def test_inputs_not_mutated():
    import copy

    from qsp_eval import activities, material

    ds = small()
    before = copy.deepcopy((ds.sessions, ds.visits, ds.services))
    S.service_counts(ds, period="quarter")
    S.service_session_share(ds, period="all")
    S.drug_checking(ds, span=("2022-01-01", "2023-12-31"))
    material.material_totals(ds)
    activities.activity_summary(ds)
    for now, then in zip((ds.sessions, ds.visits, ds.services), before, strict=True):
        pd.testing.assert_frame_equal(now, then)
