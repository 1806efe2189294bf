"""Profile plots draw what is published, and say what is hidden."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from qsp_eval.plots.profiles import plot_composition  # noqa: E402


def _table():
    # 2021: the denominator itself is hidden (fewer people than the minimum denominator), so
    # every cell is hidden; 2022: 35 "yes" of 67 shown (52.2 %), "no" and "unknown" hidden.
    rows = []
    for g in ("yes", "no", "unknown"):
        rows.append({"period": "2021", "field": "chemsex", "level": "detail", "group": g,
                     "unit": "people", "count": pd.NA, "denominator": pd.NA, "share": pd.NA})
    rows += [
        {"period": "2022", "field": "chemsex", "level": "detail", "group": "yes",
         "unit": "people", "count": 35, "denominator": 67, "share": 35 / 67},
        {"period": "2022", "field": "chemsex", "level": "detail", "group": "no",
         "unit": "people", "count": pd.NA, "denominator": 67, "share": pd.NA},
        {"period": "2022", "field": "chemsex", "level": "detail", "group": "unknown",
         "unit": "people", "count": pd.NA, "denominator": 67, "share": pd.NA},
    ]
    return pd.DataFrame(rows)


def test_a_hidden_denominator_is_a_hidden_bar_not_n_0():
    ax = plot_composition(_table(), field="chemsex", unit="people")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["2021\n(n = n.d.)", "2022\n(n = 67)"]
    hidden = [c for c in ax.containers if c.get_label().startswith("Masqué")]
    assert len(hidden) == 1
    # 2021: all 100 % hidden; 2022: 100 - 35/67*100 = 47.76 % hidden
    heights = [round(float(p.get_height()), 2) for p in hidden[0].patches]
    assert heights == [100.0, 47.76]
