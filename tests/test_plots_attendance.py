"""Attendance and profile figures, checked for the data they draw (not pixels)."""

import datetime as dt

import matplotlib
import numpy as np
import pytest

from qsp_eval import attendance as A
from qsp_eval import profiles as P
from qsp_eval.errors import ParameterError
from qsp_eval.plots import attendance as PA
from qsp_eval.plots import profiles as PP
from qsp_eval.schema import Change, EvaluationConfig, Event
from qsp_eval.testing import make_dataset

matplotlib.use("Agg")

TANB = {"gender": {"tanb": {"label_fr": "Personnes TANB", "label_en": "TANB people",
                            "members": ["trans_woman", "trans_man", "non_binary", "agender"]}}}
CFG = EvaluationConfig(
    change=Change("theming", dt.date(2024, 1, 10), "Thématisation", "Theming"),
    events=(Event(dt.date(2023, 5, 15), "Ouverture", "Opening"),),
    reporting_groups=TANB,
)


def _ds():
    # 2022: visits 1 and 3 (mean 2); 2023: nothing; 2024: a themed session with 4 visits
    sessions = [{"date": "2022-03-02", "attendance": 1}, {"date": "2022-08-03", "attendance": 3},
                {"date": "2024-01-10", "theme": "PrEP"}]
    visits = [{"date": "2024-01-10", "person_id": p, "gender": g}
              for p, g in [("a", "trans_woman"), ("b", "cis_man"), ("c", "cis_man"),
                           ("d", "unknown")]]
    return make_dataset(sessions, visits, config=CFG)


def test_plot_sessions_data_and_events():
    tr = A.session_trend(_ds(), method="rolling", window=3)
    ax = PA.plot_sessions(tr)
    assert ax.lines[0].get_ydata().tolist() == [1, 3, 4]
    # rolling mean over 3 (at least 2): (1+3)/2, (1+3+4)/3, (3+4)/2
    assert np.allclose(ax.lines[1].get_ydata(), [2, 8 / 3, 3.5])
    # two events -> two vertical lines after the two data lines
    assert len(ax.lines) == 4
    texts = [t.get_text() for t in ax.texts]
    assert "Ouverture" in texts and "Thématisation" in texts
    assert ax.get_ylabel() == "Passages"
    ax_en = PA.plot_sessions(tr, lang="en")
    assert ax_en.get_ylabel() == "Visits" and "Opening" in [t.get_text() for t in ax_en.texts]
    # themed session marked
    assert len(ax.collections) >= 1


def test_plot_period_means_data():
    r = A.by_period(_ds())
    ax = PA.plot_period_means(r)
    y = ax.lines[0].get_ydata()
    # 2022: (1+3)/2 = 2; 2023: no session -> NaN; 2024: 4
    assert y[0] == 2 and np.isnan(y[1]) and y[2] == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2022", "2023", "2024"]
    assert any("aucune permanence" in t.get_text() for t in ax.texts)


def test_plot_seasonality_bars():
    ax = PA.plot_seasonality(A.seasonality(_ds()))
    heights = [p.get_height() for p in ax.patches]
    # March: 1, August: 3, January: 4, every other month 0 (no session)
    expected = [0.0] * 12
    expected[2], expected[7], expected[0] = 1, 3, 4
    assert heights == expected
    assert ax.get_xticklabels()[0].get_text() == "janv."


def test_plot_composition_stacks_to_100():
    comp = P.composition(_ds(), fields=["gender"])
    ax = PP.plot_composition(comp, field="gender", unit="people", config=CFG)
    assert "personnes" in ax.get_title(loc="left")
    # 2024 people: tanb 1, cis_man 2, unknown 1 of 4 -> 25, 50, 25 (the last period)
    labels = [c.get_label() for c in ax.containers]
    assert labels[0] == "Personnes TANB" and labels[-1] == "Non renseigné"
    tops = {lab: c.patches[-1].get_height() for lab, c in zip(labels, ax.containers)}
    assert tops["Personnes TANB"] == pytest.approx(25)
    assert tops["Homme cis"] == pytest.approx(50)
    assert tops["Non renseigné"] == pytest.approx(25)
    # a period without anyone is drawn empty
    assert sum(c.patches[1].get_height() for c in ax.containers) == 0
    ax_v = PP.plot_composition(comp, field="gender", unit="visits", lang="en", config=CFG)
    assert "visits" in ax_v.get_title(loc="left")
    with pytest.raises(ParameterError):
        PP.plot_composition(P.composition(_ds(), fields=["products"]), field="products")


def test_plot_group_share_line():
    comp = P.composition(_ds(), fields=["gender"])
    gs = P.group_share(comp, "gender", "tanb")
    ax = PP.plot_group_share(gs, config=CFG)
    y = ax.lines[0].get_ydata()
    assert np.isnan(y[0]) and np.isnan(y[1]) and y[2] == pytest.approx(25)
    ax_k = PP.plot_group_share(gs, known=True, config=CFG, lang="en")
    # among known answers: 1 of 3
    assert ax_k.lines[0].get_ydata()[2] == pytest.approx(100 / 3)
    assert "known" in ax_k.get_title(loc="left") and "TANB people" in ax_k.get_title(loc="left")


def test_plots_draw_on_given_axes():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert PA.plot_period_means(A.by_period(_ds()), ax=ax) is ax


def _loyalty_ds():
    # held sessions of 2023; people (first visit -> returns):
    # a 01-04 -> 01-18 (within 1 month: limit 02-04)      Q1: back in 1 and in 3 months
    # b 01-04 -> 02-15 (after 02-04, before 04-04)        Q1: back in 3 months only
    # c 01-04, never back                                 Q1: never
    # d 01-18 -> 04-12 (after 02-18, before 04-18)        Q1: back in 3 months only
    # e 04-05 -> 04-12; f 04-05 never                     Q2: 1 of 2 for both horizons
    # g 08-02 -> 12-20 (after 11-02)                      Q3: 0 of 1 for both horizons
    # h 12-20 = last session: not followed for 1 month    Q4: denominator 0, share NaN
    dates = ["2023-01-04", "2023-01-18", "2023-02-15", "2023-04-05", "2023-04-12", "2023-08-02",
             "2023-12-20"]
    visits = [("2023-01-04", "a"), ("2023-01-18", "a"), ("2023-01-04", "b"), ("2023-02-15", "b"),
              ("2023-01-04", "c"), ("2023-01-18", "d"), ("2023-04-12", "d"), ("2023-04-05", "e"),
              ("2023-04-12", "e"), ("2023-04-05", "f"), ("2023-08-02", "g"), ("2023-12-20", "g"),
              ("2023-12-20", "h")]
    return make_dataset([{"date": d} for d in dates],
                        [{"date": d, "person_id": p} for d, p in visits])


def test_plot_loyalty_draws_the_shares_and_wilson_intervals():
    r = A.loyalty(_loyalty_ds(), cohort="quarter", horizons=(1, 3))
    ax = PA.plot_loyalty(r)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2023-Q1", "2023-Q2", "2023-Q3",
                                                           "2023-Q4"]
    # Q1: 1 of 4 back within 1 month (a), 3 of 4 within 3 months (a, b, d); Q2: 1 of 2;
    # Q3: 0 of 1; Q4: nobody followed -> not drawn
    one, three = ax.lines[0].get_ydata(), ax.lines[1].get_ydata()
    assert one[:3] == pytest.approx([25, 50, 0]) and np.isnan(one[3])
    assert three[:3] == pytest.approx([75, 50, 0]) and np.isnan(three[3])
    assert [ln.get_label() for ln in ax.lines[:2]] == ["Revenues dans le mois",
                                                       "Revenues dans les 3 mois"]
    # the two horizons sit side by side around each tick
    assert ax.lines[0].get_xdata()[0] < 0 < ax.lines[1].get_xdata()[0]
    # Wilson 95 % by hand (z² = 3.8415): 1/4 -> centre (0.25 + z²/8)/(1 + z²/4) = 0.3725,
    # half-width z·sqrt(0.25·0.75/4 + z²/64)/(1 + z²/4) = 0.3269 -> 4.56 %–69.94 %;
    # 1/2 -> centre 0.5, half-width z·sqrt(0.25/2 + z²/16)/(1 + z²/2) = 0.4055 -> 9.45–90.55 %;
    # 0/1 -> 0 % to z²/(1 + z²) = 79.35 %
    seg = ax.collections[0].get_segments()
    assert [s[0][1] for s in seg] == pytest.approx([4.56, 9.45, 0.0], abs=0.01)
    assert [s[1][1] for s in seg] == pytest.approx([69.94, 90.55, 79.35], abs=0.01)
    assert ax.get_ylim() == (0, 100)
    ax_en = PA.plot_loyalty(r, lang="en")
    assert ax_en.lines[1].get_label() == "Back within 3 months"
    assert "Loyalty" in ax_en.get_title(loc="left")


def test_plot_loyalty_suppressed_share_and_given_axes():
    from matplotlib.figure import Figure

    r = A.loyalty(_loyalty_ds(), cohort="quarter", horizons=(3,))
    r["share"] = r["share"].astype(object)
    r.loc[r["period"] == "2023-Q2", ["share", "ci_low", "ci_high"]] = None  # as if suppressed
    ax = Figure().add_subplot()
    assert PA.plot_loyalty(r, ax=ax) is ax
    y = ax.lines[0].get_ydata()
    assert y[0] == pytest.approx(75) and np.isnan(y[1]) and y[2] == 0
    assert len(ax.collections[0].get_segments()) == 2   # Q1 and Q3 only


def test_plot_loyalty_many_periods_slants_the_labels():
    # 13 quarters (the example): upright labels "2021-Q42022-Q1..." ran together
    import pandas as pd

    periods = [f"{y}-Q{q}" for y in (2022, 2023, 2024) for q in (1, 2, 3, 4)] + ["2021-Q4"]
    r = pd.DataFrame({"period": periods, "horizon_months": 1, "share": 0.5, "ci_low": 0.2,
                      "ci_high": 0.8})
    ax = PA.plot_loyalty(r)
    assert all(t.get_rotation() == 45 for t in ax.get_xticklabels())
    ax4 = PA.plot_loyalty(r.iloc[:4])  # four quarters stay upright
    assert all(t.get_rotation() == 0 for t in ax4.get_xticklabels())
