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
