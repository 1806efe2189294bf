"""Reader tables, the French workbook, the Word write-up and the figures' hidden part (issue 14).

Expected cells are written by hand from the small tables built here (e.g. 35 of 92 people:
35 / 92 = 0.380 -> "38 % (35)").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from qsp_eval import tables as T
from qsp_eval.publish import figure_alt, table_html


def _composition():
    # two years, gender; 2023: 35 of 92 trans/non-binary people, cis women hidden (< 5)
    return pd.DataFrame({
        "period": ["2023", "2023", "2023", "2024", "2024", "2024"],
        "field": "gender", "level": "detail", "unit": "people",
        "group": ["non_binary", "cis_man", "cis_woman"] * 2,
        "count": [35, 55, np.nan, 40, 52, 8],
        "denominator": [92, 92, 92, 100, 100, 100],
        "share": [35 / 92, 55 / 92, np.nan, 0.40, 0.52, 0.08],
        "suppressed": [False, False, True, False, False, False],
        "count_display": ["35", "55", "< 5", "40", "52", "8"],
    })


def test_composition_is_groups_down_periods_across_with_share_and_count():
    rt = T.reader_table(_composition(), "profiles_by_year", lang="fr")
    assert rt.columns == ["Groupe", "2023 (n = 92)", "2024 (n = 100)"]
    assert rt.rows[0] == ["Non-binaire", "38 % (35)", "40 % (40)"]  # 35/92 = 38.0 %
    assert rt.rows[2] == ["Femme cis", "< 5", "8 % (8)"]  # hidden cell keeps its display text
    assert "< 5" in rt.note and "masqué" in rt.note  # the note says what is hidden
    assert "personnes différentes" in rt.caption  # the denominator, said once
    en = T.reader_table(_composition(), "profiles_by_year", lang="en")
    assert en.rows[0] == ["Non-binary", "38% (35)", "40% (40)"]


def test_all_withheld_tests_become_one_sentence_and_partly_withheld_a_note():
    t = pd.DataFrame({"field": ["gender", "age_band"], "group": ["*", "18-24"],
                      "test": ["chi_square", "cochran_armitage"], "p_value": [np.nan, np.nan],
                      "withheld": [True, True]})
    html = table_html(t, lang="fr", name="profiles_tests")
    assert "<table" not in html and "Aucun des 2 tests" in html
    t.loc[1, ["withheld", "p_value"]] = [False, 0.0123]
    rt = T.reader_table(t, "profiles_tests", lang="fr")
    assert rt.rows == [["Âge", "18-24 ans", "Cochran–Armitage (tendance)", "0,012", "—"]]
    assert rt.note.startswith("1 test")


def test_attendance_indicators_down_years_across_with_interval():
    t = pd.DataFrame({"period": ["2023", "2024"], "sessions_held": [43, 44], "visits": [234, 349],
                      "mean_visits_per_session": [5.44186, 7.93182],
                      "ci_low": [4.52354, 6.84], "ci_high": [6.54661, 9.2]})
    rt = T.reader_table(t, "attendance_by_year", lang="fr")
    assert rt.columns == ["Indicateur", "2023", "2024"]
    rows = {r[0]: r[1:] for r in rt.rows}
    assert rows["Passages"] == ["234", "349"]
    # 5.44186 -> 5,4 ; interval 4.52354-6.54661 -> 4,5-6,5 (one decimal, French comma)
    assert rows["Passages par permanence (IC 95 %)"][0] == "5,4 (4,5–6,5)"


def test_long_table_is_folded_and_every_cell_escaped():
    t = pd.DataFrame({"fake_start": [f"2022-{m:02d}-01" for m in range(1, 13)] * 2,
                      "term": ["level_change"] * 24, "rate_ratio": 1.0, "ci_low": 0.5,
                      "ci_high": 2.0, "p_value": 0.5})
    html = table_html(t, lang="fr", name="theming_placebo", title="Placebos <b>")
    assert html.startswith('<details class="fold">') and "<summary>" in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "Saut de niveau au début" in html and "level_change" not in html
    assert "01/01/2022" in html  # dates in French form


def test_unknown_table_name_keeps_the_generic_rendering():
    html = table_html(pd.DataFrame({"count": [3]}), lang="fr", name="not_a_known_table")
    assert "<table" in html and "Effectif" in html


def test_sheet_frame_gives_french_headers_labels_and_formats():
    f, fmt = T.sheet_frame(_composition(), "profiles_by_year", lang="fr")
    assert list(f.columns) == ["Période", "Champ", "Unité", "Groupe", "Effectif", "Dénominateur",
                               "Part", "Effectif publié"]  # "level" is technical: dropped
    assert f["Groupe"].tolist()[:3] == ["Non-binaire", "Homme cis", "Femme cis"]
    assert f["Champ"].iloc[0] == "Identité de genre" and f["Unité"].iloc[0] == "personnes"
    assert fmt["Part"] == "0.0%" and fmt["Effectif"] == "0"
    assert T.sheet_name("profiles_by_year") == "Profils par année"
    for lang in ("fr", "en"):
        names = [T.sheet_name(n, lang) for n in T.SHEET_INFO]
        assert all(len(n) <= 31 for n in names) and len(set(names)) == len(names)


def test_workbook_has_readme_first_french_sheets_frozen_headers_and_formats(tmp_path):
    from openpyxl import load_workbook

    from qsp_eval.io import write_table
    from qsp_eval.publish import write_workbook

    write_table(_composition(), tmp_path / "tables" / "profiles_by_year.csv")
    write_table(pd.DataFrame({"period": ["2024"], "sessions_held": [44]}),
                tmp_path / "tables" / "quality_sessions.csv")
    path = write_workbook(tmp_path, "fr")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Lisez-moi", "Permanences enregistrées", "Profils par année"]
    readme = [r for r in wb["Lisez-moi"].iter_rows(values_only=True)]
    assert readme[0][:3] == ("Feuille", "Contenu", "Unité")
    assert {r[0] for r in readme[1:3]} == {"Permanences enregistrées", "Profils par année"}
    ws = wb["Profils par année"]
    head = [c.value for c in ws[1]]
    assert "Part" in head and "share" not in head and "count" not in head
    assert ws.freeze_panes == "A2"
    assert ws.cell(row=2, column=head.index("Part") + 1).number_format == "0.0%"
    assert ws.column_dimensions["A"].width >= 10


def test_csvs_stay_tidy_for_programs(tmp_path):
    """Decision (README): tables/*.csv are for programs: comma, UTF-8 without BOM, codes."""
    from qsp_eval.io import write_table

    p = write_table(_composition(), tmp_path / "t.csv")
    raw = p.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8").splitlines()[0].startswith("period,field,level,unit,group")
    assert pd.read_csv(p)["group"].iloc[0] == "non_binary"


def _png(tmp_path):
    from qsp_eval.plots.style import finish_ax, get_ax

    ax = finish_ax(get_ax(), title="t", xlabel="x", ylabel="y")
    p = tmp_path / "f.png"
    ax.figure.savefig(p, dpi=40)
    return p


@pytest.mark.parametrize("lang, tag", [("fr", "fr-FR"), ("en", "en-GB")])
def test_writeup_docx_is_a4_in_the_language_with_tables_figures_and_captions(tmp_path, lang,
                                                                            tag):
    from docx.oxml.ns import qn

    from qsp_eval.writeup import writeup_docx

    png = _png(tmp_path)
    md = "## Résultats\n\n### Fréquentation\n\nTexte.\n\n### Publics\n\nAutre texte.\n"
    inserts = [{"kind": "table", "after": "Fréquentation", "caption": "Par année",
                "columns": ["Indicateur", "2024"], "rows": [["Passages", "349"]]},
               {"kind": "figure", "after": "Fréquentation", "caption": "Passages",
                "path": str(png)},
               {"kind": "table", "after": "Publics", "caption": "Profils",
                "columns": ["Groupe", "2024"], "rows": [["Identité de genre"],
                                                        ["Homme cis", "38 % (43)"]]},
               {"kind": "figure", "after": "Absent", "caption": "À la fin", "path": str(png)}]
    doc = writeup_docx(md, lang=lang, inserts=inserts)
    sec = doc.sections[0]
    assert round(sec.page_width.mm) == 210 and round(sec.page_height.mm) == 297
    assert doc.core_properties.language == tag
    langs = {el.get(qn("w:val")) for el in doc.styles.element.iter(qn("w:lang"))}
    assert langs == {tag}
    assert len(doc.tables) == 2 and len(doc.inline_shapes) == 2
    caps = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    word = "Tableau" if lang == "fr" else "Table"
    assert caps == [f"{word} 1 – Par année", "Figure 1 – Passages", f"{word} 2 – Profils",
                    "Figure 2 – À la fin"]
    # the first table sits in the "Fréquentation" section, before the next heading
    texts = [p.text for p in doc.paragraphs]
    assert texts.index(f"{word} 1 – Par année") < texts.index("Publics")
    assert [p.style.name for p in doc.paragraphs if p.text == "Fréquentation"] == ["Heading 3"]
    footer = sec.footer._element.xml
    assert "PAGE" in footer and "fldChar" in footer


def test_profile_stack_reaches_100_with_a_labelled_hidden_part():
    from qsp_eval.plots.profiles import plot_composition

    comp = _composition()
    ax = plot_composition(comp, field="gender", unit="people", level="detail")
    heights = np.array([[p.get_height() for p in c.patches] for c in ax.containers])
    # 2023: 38.0 + 59.8 shown, cis women hidden -> hatched part 2.2; 2024: 40 + 52 + 8 = 100
    assert np.allclose(heights.sum(axis=0), [100, 100])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1] == "Masqué (effectif < 5)"
    assert heights[-1][0] == pytest.approx(100 - 100 * 90 / 92)
    assert ax.get_xlabel() and ax.get_ylabel() == "Part (%)"


def test_figure_alt_names_what_the_figure_shows():
    from qsp_eval.plots.profiles import plot_composition

    ax = plot_composition(_composition(), field="gender", unit="people", level="detail")
    alt = figure_alt(ax.figure, lang="fr")
    assert alt.startswith("Graphique : Identité de genre")
    assert "Axe horizontal : Période" in alt and "Masqué (effectif < 5)" in alt


def test_reader_tables_of_the_example_say_no_code(example_dataset):
    """Every shaped table of the example (its published CSVs come from the analyses) is in
    French words: no snake_case code, no raw float with more than 3 decimals."""
    from qsp_eval import attendance, quality, services

    ds = example_dataset
    qt = quality.quality_tables(ds, period="year", lang="fr")
    shown = dict(qt)
    shown["attendance_by_year"] = attendance.by_period(ds, period="year")
    shown["attendance_loyalty"] = attendance.loyalty(ds)
    shown["services_by_year"] = services.service_counts(ds, period="year")
    for name, df in shown.items():
        html = table_html(df, lang="fr", name=name)
        text = re.sub(r"<[^>]+>", " ", html)
        assert not re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text), name
        assert not re.findall(r"\d[.,]\d{4,}", text), name


def test_a_theming_table_with_nothing_estimable_is_its_reason():
    df = pd.DataFrame({"group": ["all"], "n": [2], "status": ["not_estimable"],
                       "note": ["Trop tôt pour juger : 2 permanences depuis le début."]})
    rt = T.reader_table(df, "theming_overall", lang="fr")
    assert rt.sentence == "Trop tôt pour juger : 2 permanences depuis le début."
    # a not-estimable row among estimated ones shows its note in the estimate's cell
    df = pd.DataFrame({"term": ["level_change", "slope_change"], "rate_ratio": [1.25, np.nan],
                       "ci_low": [0.92, np.nan], "ci_high": [1.69, np.nan],
                       "p_value": [0.15, np.nan], "family": ["negbin", None], "n": [40, 40],
                       "status": ["estimated", "not_estimable"],
                       "note": ["", "pente non estimable"]})
    rt = T.reader_table(df, "theming_its_effects", lang="fr")
    assert rt.rows[1][1:] == ["pente non estimable", "—"]
    assert "loi binomiale négative" in rt.caption and "nan" not in rt.caption


def test_before_after_names_yearly_windows_and_an_event_at_the_edge():
    ev = {"event": "2023-05-15", "event_date": "2023-05-15", "event_label_fr": "Ouverture",
          "event_label_en": "Opening", "event_kind": "context", "field": "gender",
          "level": "reporting", "unit": "people", "among": "all", "group": "cis_man"}
    # data start in 2023: the "before" year (2022) holds no one
    edge = pd.DataFrame([
        {**ev, "period": "before", "window": np.nan, "period_start": np.nan,
         "period_end": np.nan, "count": 0, "denominator": 0},
        {**ev, "period": "after", "window": 2023.0, "period_start": "2023-01-04",
         "period_end": "2023-12-27", "count": 40, "denominator": 76, "share": 40 / 76}])
    rt = T.reader_table(edge, "profiles_before_after", lang="fr")
    assert rt.rows[1] == ["· Pas de comparaison : aucune personne enregistrée avant "
                          "l'événement dans les données."]
    both = edge.copy()
    both.loc[0, ["window", "period_start", "period_end", "count", "denominator"]] = [
        2022.0, "2022-01-05", "2022-12-21", 41, 67]
    both.loc[0, "share"] = 41 / 67
    rt = T.reader_table(both, "profiles_before_after", lang="fr")
    assert rt.rows[0][0].endswith("— avant : 2022 ; après : 2023")
    # 41/67 = 61.2 % -> "61 % (41)"; 40/76 = 52.6 % -> "53 % (40)"
    assert rt.rows[2][1:3] == ["61 % (41)", "53 % (40)"]
    assert "non-réponses comprises" in rt.caption
