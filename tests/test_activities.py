"""Activities (qsp_eval.activities): themes, guests, outreach, sophrology; person-free."""

from __future__ import annotations

import pandas as pd
import pytest

from qsp_eval import activities as A
from qsp_eval.testing import make_dataset


def small():
    # 2024: five scheduled sessions, one cancelled (themed, must not count).
    # "Chemsex" twice (spelled two ways, one with a guest), "Santé trans" once, one plain.
    return make_dataset(
        [{"date": "2024-01-10", "theme": "Chemsex", "guest": True, "attendance": 8,
          "new_visitors": 2},
         {"date": "2024-01-17", "attendance": 4, "new_visitors": 0},
         {"date": "2024-01-24", "theme": "Santé trans", "attendance": 6, "format": "outreach"},
         {"date": "2024-01-31", "theme": "chemsex ", "attendance": 7, "new_visitors": 1},
         {"date": "2024-02-07", "status": "cancelled", "theme": "Autre"}],
        services=[{"date": "2024-01-17", "service": "sophrology", "count": 1},
                  {"date": "2024-01-31", "service": "sophrology", "count": 1}],
    )


def test_activity_summary_by_hand():
    t = A.activity_summary(small()).set_index("activity")
    # 4 held; 3 themed; 2 distinct themes; 1 guest; 1 outreach; 2 sophrology sessions
    assert t.loc["sessions_held", "count"] == 4
    assert t.loc["themed_sessions", "count"] == 3
    assert t.loc["themed_sessions", "share"] == pytest.approx(3 / 4)
    assert t.loc["themes", "count"] == 2
    assert t.loc["guest_sessions", "count"] == 1
    assert t.loc["outreach_sessions", "count"] == 1
    assert t.loc["sophrology", "count"] == 2 and t.loc["sophrology", "unit"] == "services"
    assert t.loc["themed_sessions", "label_fr"] == "Permanences thématiques"


def test_themes_by_period():
    t = A.themes_by_period(small())
    assert t["theme"].tolist() == ["Chemsex", "Santé trans"]
    assert t["count"].tolist() == [2, 1]
    assert t["guest_sessions"].tolist() == [1, 0]
    assert t["first_date"].iloc[0] == pd.Timestamp("2024-01-10")


def test_theme_table_visits_first_timers_and_caveat():
    t = A.theme_table(small())
    chem = t.loc[t["theme"] == "Chemsex"].iloc[0]
    # Chemsex: 8 + 7 = 15 visits over 2 sessions; 2 + 1 = 3 first-timers
    assert (chem["sessions"], chem["visits"], chem["first_time_visitors"]) == (2, 15, 3)
    assert chem["visits_per_session"] == pytest.approx(7.5)
    assert not chem["single_session"] and "fragiles" in chem["note_fr"]
    trans = t.loc[t["theme"] == "Santé trans"].iloc[0]
    # a single session: flagged; its first-timers were not tallied -> NaN, not 0
    assert trans["single_session"] and "seule permanence" in trans["note_fr"]
    assert pd.isna(trans["first_time_visitors"])
    ref = t.loc[t["reference"]].iloc[0]
    # the one plain session between the first and last themed ones: 4 visits
    assert pd.isna(ref["theme"]) and ref["sessions"] == 1 and ref["visits"] == 4
    # person-free: no pseudonym column anywhere
    assert "person_id" not in t.columns


def test_no_themes():
    ds = make_dataset([{"date": "2023-01-04"}])
    assert A.theme_table(ds).empty and A.themes_by_period(ds).empty
    t = A.activity_summary(ds).set_index("activity")
    assert t.loc["themed_sessions", "count"] == 0
    assert pd.isna(t.loc["sophrology", "count"])  # no services table: unknown, not 0


def test_example_activities(example_dataset):
    ds = example_dataset
    t = A.activity_summary(ds).set_index(["period", "activity"])["count"]
    # issue 2: about 7 sophrology sessions a year; themed sessions only from 2024
    assert t[("2023", "sophrology")] == 7
    assert t[("2023", "themed_sessions")] == 0 and t[("2024", "themed_sessions")] > 0
    tt = A.theme_table(ds)
    assert tt.loc[~tt["reference"], "sessions"].sum() == t[("2024", "themed_sessions")]
