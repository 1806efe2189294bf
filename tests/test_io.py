"""Reading files that real French Excel saves; writing tables; loading sources."""

from __future__ import annotations

import datetime as dt
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from qsp_eval.errors import DataError
from qsp_eval.io import (
    load_source,
    read_table_file,
    write_table,
    write_tables_xlsx,
    write_template,
)
from qsp_eval.schema import TABLES, VOCABULARIES, header_label, lookup_code

KEY = b"0123456789abcdef-test-key"
TODAY = date(2025, 1, 1)


def write_bytes(path, text, encoding, bom=False):
    data = text.replace("\n", "\r\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


# A visits file as French Excel saves it: ';', cp1252, CRLF, stray header spaces,
# trailing empty columns (';;' at line ends) and trailing empty rows.
FRENCH_VISITS = (
    " date ; visitor_code;gender ;first_visit; age ;products;;\n"
    "17/05/2023;AB12;Femme trans;oui;27;\"Cocaïne; Kétamine\";;\n"
    "17/05/2023;CD34;Non-binaire;non;45;;;\n"
    "31/05/2023;AB12;Homme cis;Non;;poppers;;\n"
    ";;;;;;;\n"
    ";;;;;;;\n"
)


def test_read_cp1252_semicolon_excel_csv(tmp_path):
    p = write_bytes(tmp_path / "visits.csv", FRENCH_VISITS, "cp1252")
    df = read_table_file(p)
    assert list(df.columns) == ["date", "visitor_code", "gender", "first_visit", "age",
                                "products"]
    assert len(df) == 3  # trailing empty rows dropped
    assert list(df.index) == [2, 3, 4]  # spreadsheet rows (header = 1)
    assert df.index.name == "spreadsheet_row"
    assert df.loc[2, "products"] == "Cocaïne; Kétamine"
    assert df.loc[3, "products"] == ""
    assert all(isinstance(v, str) for v in df.to_numpy().ravel())


def test_read_utf8_bom_comma(tmp_path):
    p = write_bytes(tmp_path / "s.csv", "date,theme\n17/05/2023,Soirée trans\n", "utf-8",
                    bom=True)
    df = read_table_file(p)
    assert list(df.columns) == ["date", "theme"]
    assert df.loc[2, "theme"] == "Soirée trans"


def test_read_utf8_semicolon_without_bom(tmp_path):
    p = write_bytes(tmp_path / "s.csv", "date;theme\n17/05/2023;Énergie\n", "utf-8")
    assert read_table_file(p).loc[2, "theme"] == "Énergie"


def test_read_utf16_excel_text(tmp_path):
    # Excel's "Unicode text" export: UTF-16 LE with a BOM
    p = tmp_path / "s.csv"
    p.write_bytes("date;theme\n17/05/2023;Énergie\n".encode("utf-16"))
    assert read_table_file(p).loc[2, "theme"] == "Énergie"


def test_damaged_utf16_file_is_a_data_error_naming_the_file(tmp_path):
    # a UTF-16 byte-order mark followed by an odd number of bytes cannot be decoded
    p = tmp_path / "visits.csv"
    p.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(DataError) as ei:
        read_table_file(p)
    assert ei.value.problems[0].file == "visits.csv"


def test_interior_blank_rows_keep_row_numbers(tmp_path):
    p = write_bytes(tmp_path / "sessions.csv", "date\n17/05/2023\n\n;\nxx/05/2023\n", "utf-8")
    df = read_table_file(p)
    assert list(df.index) == [2, 5]


def test_unnamed_column_with_values_is_named_by_letter(tmp_path):
    p = write_bytes(tmp_path / "s.csv", "date;;\n17/05/2023;;x\n", "utf-8")
    assert list(read_table_file(p).columns) == ["date", "(colonne C)"]


def test_duplicate_header_refused(tmp_path):
    p = write_bytes(tmp_path / "s.csv", "date;date\n1;2\n", "utf-8")
    with pytest.raises(DataError) as ei:
        read_table_file(p)
    assert ei.value.problems[0].file == "s.csv"


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(DataError) as ei:
        read_table_file(tmp_path / "absent.csv")
    assert "introuvable" in ei.value.format("fr")
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError) as ei:
        read_table_file(bad)
    assert ei.value.problems[0].file == "x.xlsx"
    odd = tmp_path / "x.ods"
    odd.write_bytes(b"")
    with pytest.raises(DataError):
        read_table_file(odd)


def test_read_xlsx_cells(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "visits"
    ws.append([" date", "count", "ratio", "flag", None])
    ws.append([dt.datetime(2023, 5, 17), 3.0, 2.5, True, None])
    ws.append([dt.date(2023, 5, 24), 4, None, False, None])
    ws.append([None, None, None, None, None])
    wb.save(tmp_path / "b.xlsx")
    df = read_table_file(tmp_path / "b.xlsx", sheet="Visits")
    assert list(df.columns) == ["date", "count", "ratio", "flag"]
    assert df.loc[2].tolist() == ["2023-05-17", "3", "2.5", "yes"]
    assert df.loc[3].tolist() == ["2023-05-24", "4", "", "no"]
    with pytest.raises(DataError) as ei:
        read_table_file(tmp_path / "b.xlsx", sheet="nope")
    assert "nope" in ei.value.format("fr")


def test_read_parquet(tmp_path):
    pd.DataFrame({"date": pd.to_datetime(["2023-05-17"]), "count": [3]}).to_parquet(
        tmp_path / "t.parquet")
    df = read_table_file(tmp_path / "t.parquet")
    assert df.loc[2].tolist() == ["2023-05-17", "3"]


# ---------------------------------------------------------------------------
# loading sources
# ---------------------------------------------------------------------------
def french_folder(tmp_path):
    src = tmp_path / "donnees"
    src.mkdir()
    write_bytes(src / "sessions.csv",
                "date;status ;guest;attendance;;\n17/05/2023;Tenue;non;;;\n24/05/2023;Annulée;"
                "non;;;\n31/05/2023;tenue;oui;;;\n07/06/2023;tenue;non;0;;\n;;;;;\n", "cp1252")
    write_bytes(src / "visits.csv", FRENCH_VISITS, "cp1252")
    (src / "evaluation.yml").write_text("programme: Essai\nlaunch_date: 03/11/2021\n",
                                        encoding="utf-8")
    return src


def test_load_french_excel_folder(tmp_path):
    src = french_folder(tmp_path)
    ds = load_source(src, key=KEY, today=TODAY)
    assert len(ds.sessions) == 4
    assert list(ds.sessions["status"]) == ["held", "cancelled", "held", "held"]
    assert list(ds.sessions["guest"]) == [False, False, True, False]
    # 31/05 held with one visit; 07/06 held with a zero tally: both kept
    assert ds.sessions.loc[3, "attendance"] == 0
    assert list(ds.visits["age_band"]) == ["25-34", "45-54", "unknown"]
    assert list(ds.visits["first_visit"]) == ["yes", "no", "no"]
    assert list(ds.visits["products"]) == ["cocaine;ketamine", "unknown", "poppers"]
    assert ds.config.launch_date == date(2021, 11, 3)
    assert ds.source == str(src) and len(ds.checksum) == 64


def test_problem_rows_as_spreadsheet_shows_them(tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    write_bytes(src / "sessions.csv", "date\n17/05/2023\n\n\n24/13/2023\n;\n", "cp1252")
    with pytest.raises(DataError) as ei:
        load_source(src, key=KEY, today=TODAY)
    p = ei.value.problems[0]
    assert (p.file, p.row, p.column, p.value) == ("sessions.csv", 5, "date", "24/13/2023")
    assert p.format("fr").startswith("sessions.csv, ligne 5, colonne « date » : valeur "
                                     "« 24/13/2023 »")


def test_load_never_writes_nor_modifies(tmp_path):
    src = french_folder(tmp_path)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in src.iterdir()}
    load_source(src, key=KEY, today=TODAY)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in src.iterdir()}
    assert before == after


def test_checksum_tracks_raw_bytes(tmp_path):
    src = french_folder(tmp_path)
    c1 = load_source(src, key=KEY, today=TODAY).checksum
    assert load_source(src, key=b"another-key-0123456", today=TODAY).checksum == c1
    with open(src / "evaluation.yml", "a", encoding="utf-8") as fh:
        fh.write("organisation: Asso\n")
    assert load_source(src, key=KEY, today=TODAY).checksum != c1


def test_two_files_for_one_table_is_a_problem(tmp_path):
    src = french_folder(tmp_path)
    pd.DataFrame({"date": ["2023-05-17"]}).to_parquet(src / "sessions.parquet")
    with pytest.raises(DataError) as ei:
        load_source(src, key=KEY, today=TODAY)
    assert "plusieurs fichiers" in ei.value.format("fr")


def test_missing_source(tmp_path):
    with pytest.raises(DataError):
        load_source(tmp_path / "absent", key=KEY)


def test_workbook_source_with_evaluation_sheet(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "sessions"
    ws.append(["date", "status"])
    ws.append([dt.datetime(2023, 5, 17), "Tenue"])
    ws.append(["24/05/2023", "annulée"])
    v = wb.create_sheet("visits")
    v.append(["date", "gender", "visitor_code"])
    v.append([dt.datetime(2023, 5, 17), "Femme trans", "AB12"])
    ev = wb.create_sheet("evaluation")
    ev.append(["key", "value"])
    ev.append(["programme", "Essai"])
    ev.append(["launch_date", dt.datetime(2021, 11, 3)])
    ev.append(["session_weekday", 2])
    ev.append(["change.start", "10/01/2024"])
    ev.append(["events.1.date", "15/05/2023"])
    ev.append(["events.1.label_fr", "Ouverture"])
    ev.append(["reporting_groups.gender.tanb.members", "trans_woman; non_binary"])
    ev.append(["organisation", None])
    wb.create_sheet("notes libres").append(["n'importe quoi"])
    wb.save(tmp_path / "saisie.xlsx")
    ds = load_source(tmp_path / "saisie.xlsx", key=KEY, today=TODAY)
    assert len(ds.sessions) == 2 and len(ds.visits) == 1
    assert ds.config.programme == "Essai"
    assert ds.config.launch_date == date(2021, 11, 3)
    assert ds.config.session_weekday == 2
    assert ds.config.change.start == date(2024, 1, 10)
    assert ds.config.events[0].date == date(2023, 5, 15)
    assert ds.config.reporting_groups["gender"]["tanb"]["members"] == ["trans_woman",
                                                                       "non_binary"]
    # problems in a workbook name the sheet
    ws.append(["pas une date", ""])
    wb.save(tmp_path / "saisie.xlsx")
    with pytest.raises(DataError) as ei:
        load_source(tmp_path / "saisie.xlsx", key=KEY, today=TODAY)
    p = ei.value.problems[0]
    assert (p.file, p.row) == ("saisie.xlsx[sessions]", 4)


def test_workbook_prefers_evaluation_yml_beside_it(tmp_path):
    wb = Workbook()
    wb.active.title = "sessions"
    wb.active.append(["date"])
    wb.active.append(["17/05/2023"])
    wb.save(tmp_path / "b.xlsx")
    (tmp_path / "evaluation.yml").write_text("programme: Depuis le YAML\n", encoding="utf-8")
    assert load_source(tmp_path / "b.xlsx", key=KEY, today=TODAY).config.programme == \
        "Depuis le YAML"


def test_malformed_yaml_is_a_data_error(tmp_path):
    src = french_folder(tmp_path)
    (src / "evaluation.yml").write_text("programme: [oops\n", encoding="utf-8")
    with pytest.raises(DataError) as ei:
        load_source(src, key=KEY, today=TODAY)
    assert ei.value.problems[0].file == "evaluation.yml"


# ---------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------
def test_write_table_csv_roundtrip_french_excel(tmp_path):
    df = pd.DataFrame({"date": ["17/05/2023"], "theme": ["Soirée été"], "n": [3]})
    p = write_table(df, tmp_path / "out" / "t.csv", sep=";", encoding="cp1252")
    assert p.read_bytes() == "date;theme;n\n17/05/2023;Soirée été;3\n".encode("cp1252")
    back = read_table_file(p)
    assert back.loc[2].tolist() == ["17/05/2023", "Soirée été", "3"]
    p2 = write_table(df, tmp_path / "t2.csv")
    assert p2.read_text(encoding="utf-8").startswith("date,theme,n\n")


def test_write_tables_xlsx_and_write_table_xlsx(tmp_path):
    a = pd.DataFrame({"x": [1, 2]})
    b = pd.DataFrame({"y": ["é"]})
    p = write_tables_xlsx({"a": a, "b": b}, tmp_path / "t.xlsx")
    assert load_workbook(p).sheetnames == ["a", "b"]
    assert read_table_file(p, sheet="b").loc[2, "y"] == "é"
    p2 = write_table(a, tmp_path / "one.xlsx")
    assert read_table_file(p2)["x"].tolist() == ["1", "2"]


# ---------------------------------------------------------------------------
# template
# ---------------------------------------------------------------------------
def _dropdown_values(wb, ws, column_letter):
    """The labels a drop-down offers in a column of ``ws`` (read back from the workbook)."""
    for dv in ws.data_validations.dataValidation:
        if any(str(r).startswith(column_letter + "2") for r in dv.sqref.ranges) and \
                dv.type == "list":
            sheet, rng = dv.formula1.lstrip("=").split("!")
            lst = wb[sheet.strip("'")]
            return [c.value for row in lst[rng.replace("$", "")] for c in row]
    return None


def test_template_shape(tmp_path):
    p = write_template(tmp_path / "modele.xlsx")
    wb = load_workbook(p)
    for name, spec in TABLES.items():
        ws = wb[name]
        # French headers, in the contract's order
        assert [c.value for c in ws[1]] == [header_label(name, c) for c in spec.names]
    assert [c.value for c in wb["visits"][1]][5:8] == ["Genre", "Orientation", "Tranche d'âge"]
    assert wb["explications"]["A1"].value == "table"
    # one explanation row per contract column, with the French header and its code
    n_cols = sum(len(s.columns) for s in TABLES.values())
    rows = [r for r in wb["explications"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert len(rows) == n_cols
    assert ("visits", "Genre", "gender") in {r[:3] for r in rows}
    assert wb["listes"].sheet_state == "hidden"
    # French labels in the gender drop-down
    gender_col = "ABCDEFGHIJKL"[TABLES["visits"].names.index("gender")]
    assert _dropdown_values(wb, wb["visits"], gender_col) == [
        v[0] for v in VOCABULARIES["gender"].values()]
    # an empty template is refused, saying so (never "valid, 0 sessions")
    with pytest.raises(DataError) as ei:
        load_source(p, key=KEY, today=TODAY)
    assert len(ei.value.problems) == 1
    assert "est vide" in ei.value.problems[0].message_fr


def test_filled_template_loads_without_change(tmp_path):
    p = write_template(tmp_path / "modele.xlsx")
    wb = load_workbook(p)
    names = {t: list(TABLES[t].names) for t in TABLES}

    def put(sheet, row, values):
        ws = wb[sheet]
        for col, val in values.items():
            ws.cell(row, names[sheet].index(col) + 1, val)

    def pick(sheet, col, i):
        letter = "ABCDEFGHIJKL"[names[sheet].index(col)]
        return _dropdown_values(wb, wb[sheet], letter)[i]

    put("sessions", 2, {"date": dt.datetime(2023, 5, 17), "status": pick("sessions", "status", 0),
                        "guest": pick("sessions", "guest", 1),
                        "format": pick("sessions", "format", 0)})
    put("sessions", 3, {"date": dt.datetime(2023, 5, 24), "status": pick("sessions", "status", 1)})
    put("sessions", 4, {"date": "31/05/2023", "theme": "Soirée trans",
                        "status": pick("sessions", "status", 0), "attendance": 0})
    put("visits", 2, {"date": dt.datetime(2023, 5, 17), "visitor_code": "AB12",
                      "first_visit": pick("visits", "first_visit", 0),
                      "gender": pick("visits", "gender", 4),
                      "orientation": pick("visits", "orientation", 3),
                      "age_band": pick("visits", "age_band", 0),
                      "chemsex": pick("visits", "chemsex", 2),
                      "products": pick("visits", "products", 0) + "; " +
                      pick("visits", "products", 5),
                      "heard_via": pick("visits", "heard_via", 1)})
    put("services", 2, {"date": dt.datetime(2023, 5, 17),
                        "service": pick("services", "service", 0), "count": 2})
    put("distributions", 2, {"month": "2023-05", "item": pick("distributions", "item", 9),
                             "quantity": 30})
    put("survey_responses", 2, {"survey": "s1", "response_id": 1, "question": "q1",
                                "answer": "oui"})
    ev = wb["evaluation"]
    for r in range(2, ev.max_row + 1):
        key = ev.cell(r, 1).value
        if key == "launch_date":
            ev.cell(r, 2, "03/11/2021")
        if key == "programme":
            ev.cell(r, 2, "Permanence test")
    filled = tmp_path / "rempli.xlsx"
    wb.save(filled)
    ds = load_source(filled, key=KEY, today=TODAY)
    assert list(ds.sessions["status"]) == ["held", "cancelled", "held"]
    assert ds.sessions["guest"].tolist() == [False, False, False]
    v = ds.visits.iloc[0]
    # drop-down positions -> codes, by the order of schema.VOCABULARIES
    assert (v["first_visit"], v["gender"], v["orientation"], v["age_band"], v["chemsex"],
            v["products"], v["heard_via"]) == ("yes", "non_binary", "queer", "18-24", "unknown",
                                              "cathinones;ketamine", "social_media")
    assert ds.services.loc[0, "service"] == "trod_hiv"
    assert ds.distributions.loc[0, "item"] == "external_condom"
    assert ds.distributions.loc[0, "category"] == "sexual_health"
    assert ds.config.launch_date == date(2021, 11, 3)
    assert ds.config.programme == "Permanence test"
    assert ds.config.language == "fr"


def test_template_as_ods(tmp_path):
    from odf.opendocument import load as odf_load
    from odf.table import ContentValidation

    p = write_template(tmp_path / "modele.ods")
    assert p.suffix == ".ods"
    raw = {name: read_table_file(p, sheet=name) for name in TABLES}
    for name, spec in TABLES.items():
        assert list(raw[name].columns) == [header_label(name, c) for c in spec.names]
        assert len(raw[name]) == 0
    expl = read_table_file(p, sheet="explications")
    assert len(expl[expl["table"] != ""]) == sum(len(s.columns) for s in TABLES.values())
    # drop-downs: the gender column points at the French labels of the hidden lists sheet
    doc = odf_load(str(p))
    conds = [str(v.getAttribute("condition")) for v in
             doc.spreadsheet.getElementsByType(ContentValidation)]
    lists = read_table_file(p, sheet="listes")
    j = list(VOCABULARIES).index("gender")
    letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[j]
    n = len(VOCABULARIES["gender"])
    assert f"of:cell-content-is-in-list([$listes.${letter}$2:.${letter}${n + 1}])" in conds
    assert list(lists["gender"][:n]) == [v[0] for v in VOCABULARIES["gender"].values()]
    # an unfilled .ods template is refused like the .xlsx one
    with pytest.raises(DataError) as ei:
        load_source(p, key=KEY, today=TODAY)
    assert len(ei.value.problems) == 1 and "est vide" in ei.value.problems[0].message_fr
    # filled in (French headers, as the template has them), it loads
    rows = {"sessions": [list(raw["sessions"].columns),
                         [dt.date(2023, 5, 17), None, "Tenue"]],
            "visits": [list(raw["visits"].columns),
                       [None, dt.date(2023, 5, 17), None, "AB12", "Oui", "Non-binaire"]]}
    ds = load_source(write_ods(tmp_path / "rempli.ods", rows), key=KEY, today=TODAY)
    assert ds.visits.loc[0, "gender"] == "non_binary" and ds.visits.loc[0, "first_visit"] == "yes"


def test_template_english_labels(tmp_path):
    p = write_template(tmp_path / "t.xlsx", lang="en")
    wb = load_workbook(p)
    assert "explanations" in wb.sheetnames
    col = "ABCDEFGHIJKL"[TABLES["visits"].names.index("gender")]
    assert _dropdown_values(wb, wb["visits"], col)[0] == "Cis man"


@pytest.mark.skipif(os.name == "nt", reason="posix permissions")
def test_template_does_not_touch_other_files(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    write_template(tmp_path / "t.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "t.xlsx"]


# ---------------------------------------------------------------------------
# the bundled example survives a French-Excel round trip
# ---------------------------------------------------------------------------
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example"


@pytest.mark.skipif(not (EXAMPLE / "sessions.csv").exists(), reason="no data/example yet")
def test_example_as_french_excel_csv_loads_to_the_same_dataset(tmp_path):
    import shutil

    original = load_source(EXAMPLE, key=KEY)
    out = tmp_path / "fr"
    out.mkdir()
    for name, spec in TABLES.items():
        f = EXAMPLE / f"{name}.csv"
        if not f.exists():
            continue
        df = read_table_file(f)
        for col in df.columns:
            if col not in spec.names:
                continue
            c = spec.column(col)
            if c.kind == "date":
                df[col] = [dt.date.fromisoformat(v).strftime("%d/%m/%Y") if v else ""
                           for v in df[col]]
            elif c.kind == "category":
                df[col] = [VOCABULARIES[c.vocabulary][lookup_code(c.vocabulary, v)][0].upper()
                           if v else "" for v in df[col]]
            elif c.kind == "multi":
                df[col] = ["; ".join(VOCABULARIES[c.vocabulary][lookup_code(c.vocabulary, x)][0]
                                     for x in v.split(";"))
                           if v else "" for v in df[col]]
        write_table(df, out / f"{name}.csv", sep=";", encoding="cp1252")
    shutil.copy(EXAMPLE / "evaluation.yml", out / "evaluation.yml")
    assert b";" in (out / "sessions.csv").read_bytes().splitlines()[0]
    again = load_source(out, key=KEY)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(original, name))
    assert again.config == original.config


# ---------------------------------------------------------------------------
# property-based: any file content ends in a table or in DataError
# ---------------------------------------------------------------------------

_CSV_TEXT = st.lists(st.sampled_from(["date", "visitor_code", "gender", ";", ",", '"', "\n",
                                      "\r\n", " ", "17/05/2023", "é", "\x00", "oui", "",
                                      "\ufeff", "\t", "45063", "Nom", "x@y.fr"]), max_size=40)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=_CSV_TEXT, raw=st.binary(max_size=60), encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_any_csv_bytes_load_or_raise_data_error(tmp_path_factory, parts, raw, encoding):
    src = tmp_path_factory.mktemp("src")
    (src / "sessions.csv").write_bytes("".join(parts).encode(encoding, errors="replace"))
    (src / "visits.csv").write_bytes(raw)
    df = None
    try:
        df = read_table_file(src / "sessions.csv")
    except DataError:
        pass
    if df is not None:
        assert all(isinstance(v, str) for v in df.to_numpy().ravel())
    try:
        load_source(src, key=KEY, today=TODAY)
    except DataError as exc:
        assert exc.problems


def test_example_rows_in_the_data_contract_doc_load(tmp_path):
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "data-contract.md").read_text(
        encoding="utf-8")
    blocks = re.findall(r"Exemple / example \(`(\w+)\.csv`, `;`\) :\n\n```\n(.*?)```", doc,
                        flags=re.S)
    assert {name for name, _ in blocks} == set(TABLES)
    src = tmp_path / "doc"
    src.mkdir()
    for name, body in blocks:
        (src / f"{name}.csv").write_text(body, encoding="utf-8")
    ds = load_source(src, key=KEY, today=TODAY)
    assert len(ds.sessions) == 1 and len(ds.visits) == 1 and len(ds.services) == 1
    assert ds.visits.loc[0, "products"] == "cocaine;ketamine"


# ---------------------------------------------------------------------------
# Report and output files (the readers and writers other modules call)
# ---------------------------------------------------------------------------
def test_write_text_makes_parents_and_writes_lf_utf8(tmp_path):
    from qsp_eval.io import read_text_file, write_text

    p = write_text("Élodie\nligne 2\n", tmp_path / "a" / "b" / "w.md")
    # "É" is C3 89 in UTF-8; line ends stay "\n" (0A), never "\r\n"
    assert p.read_bytes() == b"\xc3\x89lodie\nligne 2\n"
    assert read_text_file(p) == "Élodie\nligne 2\n"


def test_read_text_file_strict_or_replace(tmp_path):
    from qsp_eval.io import read_text_file

    p = tmp_path / "cp.txt"
    p.write_bytes("café".encode("cp1252"))  # é = 0xE9 alone: not UTF-8
    with pytest.raises(UnicodeDecodeError):
        read_text_file(p)
    assert read_text_file(p, errors="replace") == "caf\ufffd"


def test_read_json_and_binary(tmp_path):
    from qsp_eval.io import read_binary, read_json, write_json

    p = write_json({"é": [1, None], "a": "b"}, tmp_path / "m.json")
    assert read_json(p) == {"é": [1, None], "a": "b"}
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError):
        read_json(tmp_path / "bad.json")
    (tmp_path / "b.bin").write_bytes(b"\x00\xff\n")
    assert read_binary(tmp_path / "b.bin") == b"\x00\xff\n"


def test_file_sha256_matches_the_fips_test_vectors(tmp_path):
    from qsp_eval.io import file_sha256

    # FIPS 180-4 / NIST example "abc"
    (tmp_path / "abc").write_bytes(b"abc")
    assert file_sha256(tmp_path / "abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    # NIST one-million-"a" vector: crosses the 1 MiB (1 048 576 bytes) chunk boundary? no,
    # 1 000 000 < 1 048 576; use 2 MiB + 3 bytes of "a" against hashlib in one go instead
    import hashlib

    data = b"a" * (2 * 1048576 + 3)
    (tmp_path / "big").write_bytes(data)
    assert file_sha256(tmp_path / "big") == hashlib.sha256(data).hexdigest()


def test_save_figure_png_and_reproducible_svg(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qsp_eval.io import save_figure

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    png, svg = save_figure(ax, tmp_path / "f" / "one", dpi=50)
    assert (png.name, svg.name) == ("one.png", "one.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # PNG signature
    again = save_figure(fig, tmp_path / "f" / "two", dpi=50)[1]
    assert svg.read_bytes() == again.read_bytes()  # fixed ids, no date
    assert b"<dc:date>" not in svg.read_bytes()
    plt.close(fig)


def test_write_docx_fixes_dates_and_reads_back(tmp_path):
    import docx

    from qsp_eval.io import read_docx, write_docx

    d = docx.Document()
    d.add_paragraph("Bonjour")
    p = write_docx(d, tmp_path / "w" / "x.docx")
    back = read_docx(p)
    assert [q.text for q in back.paragraphs] == ["Bonjour"]
    fixed = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # python-docx reads W3CDTF dates as UTC
    assert back.core_properties.created == fixed
    assert back.core_properties.modified == fixed


def test_read_published_tables_numbers_come_back_as_numbers(tmp_path):
    from qsp_eval.io import read_published_tables

    assert read_published_tables(tmp_path) == {}
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "b.csv").write_text("year,visits\n2023,234\n", encoding="utf-8")
    (tmp_path / "tables" / "a.csv").write_text("rate,lo\n5.44,\n", encoding="utf-8")
    out = read_published_tables(tmp_path)
    assert list(out) == ["a", "b"]
    assert out["b"]["visits"].tolist() == [234] and out["a"]["rate"].tolist() == [5.44]
    assert pd.isna(out["a"]["lo"].iloc[0])


def test_read_output_table_csv_parquet_and_empty(tmp_path):
    from qsp_eval.io import read_output_table

    p = tmp_path / "fr.csv"
    p.write_bytes("groupe;n;note\r\nFemme trans;3;\r\nNon renseigné;12;x\r\n"
                  .encode("cp1252"))
    df = read_output_table(p)
    assert df.columns.tolist() == ["groupe", "n", "note"]
    assert df.to_numpy().tolist() == [["Femme trans", "3", ""], ["Non renseigné", "12", "x"]]
    (tmp_path / "empty.csv").write_bytes(b"")
    import csv

    with pytest.raises(csv.Error):  # the scanner then reports the file as unparsable
        read_output_table(tmp_path / "empty.csv")
    pq = tmp_path / "t.parquet"
    pd.DataFrame({"n": [3.0, 12.5]}).to_parquet(pq, index=False)
    assert read_output_table(pq)["n"].tolist() == [3.0, 12.5]


def test_read_output_workbook_every_sheet_values_only(tmp_path):
    from qsp_eval.io import read_output_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "a"
    ws.append(["g", "n"])
    ws.append(["x", 3])
    ws2 = wb.create_sheet("b")
    ws2["A1"] = 2
    ws2["A2"] = "=A1*2"  # no cached value: openpyxl wrote the formula only
    wb.save(tmp_path / "w.xlsx")
    out = read_output_workbook(tmp_path / "w.xlsx")
    assert out == {"a": [("g", "n"), ("x", 3)], "b": [(2,), (None,)]}


def test_read_notebook(tmp_path):
    import nbformat

    from qsp_eval.io import read_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T")]
    nbformat.write(nb, str(tmp_path / "n.ipynb"))
    assert read_notebook(tmp_path / "n.ipynb").cells[0].source == "# T"


# ---------------------------------------------------------------------------
# The rule: only qsp_eval/io.py reads or writes data files
# ---------------------------------------------------------------------------
#: Method/function names that read or write a file when called.
_FILE_CALLS = frozenset({
    "open", "read_text", "write_text", "read_bytes", "write_bytes",
    "read_csv", "read_excel", "read_parquet", "read_json", "read_table", "read_pickle",
    "to_csv", "to_excel", "to_parquet", "to_json", "to_pickle",
    "savefig", "save", "load_workbook", "execute_notebook",
})
#: ``module.function`` calls that read or write files (``json.loads`` parses a string: allowed).
_MODULE_FILE_CALLS = frozenset({
    ("json", "load"), ("json", "dump"), ("pickle", "load"), ("pickle", "dump"),
    ("nbformat", "read"), ("nbformat", "write"),
})
#: (module path, call name) -> why it may stay outside io.py. Keep this list short.
_ALLOWED = {
    ("qsp_eval/cli.py", "open"):
        "os.open(os.devnull) to silence a broken pipe: no data file",
    ("qsp_eval/report.py", "read_text"):
        "templates/report.css is a package resource (importlib.resources), not data",
    ("qsp_eval/report.py", "execute_notebook"):
        "papermill writes the executed notebook; report.py is the only module knowing papermill",
}


def _file_io_calls(path: Path):
    """Yield (line, call name) of file-I/O calls in a module (docstrings are not code)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    io_aliases = set()  # names bound to the qsp_eval.io module: calling it is the point
    io_functions = set()  # functions imported from qsp_eval.io
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.module in ("qsp_eval", None) and (node.level or node.module):
            io_aliases |= {a.asname or a.name for a in node.names if a.name == "io"}
        elif node.module == "qsp_eval.io" or (node.level and node.module == "io"):
            io_functions |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name):
            if f.id in io_functions:
                continue
            if f.id in _FILE_CALLS or (f.id == "Document" and node.args):
                yield node.lineno, f.id
        elif isinstance(f, ast.Attribute):
            owner = f.value.id if isinstance(f.value, ast.Name) else None
            if owner in io_aliases:
                continue
            if (owner, f.attr) in _MODULE_FILE_CALLS:
                yield node.lineno, f"{owner}.{f.attr}"
            elif f.attr in _FILE_CALLS or (f.attr == "Document" and node.args):
                yield node.lineno, f.attr


def test_only_io_reads_or_writes_files():
    import qsp_eval

    pkg = Path(qsp_eval.__file__).parent
    root = pkg.parent
    offenders, used = [], set()
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "qsp_eval/io.py":
            continue
        for line, name in _file_io_calls(path):
            if (rel, name) in _ALLOWED:
                used.add((rel, name))
            else:
                offenders.append(f"{rel}:{line}: {name}(...)")
    assert not offenders, ("file I/O outside qsp_eval/io.py (add a documented function to io "
                           "and call it):\n" + "\n".join(offenders))
    assert used == set(_ALLOWED), f"stale allow-list entries: {set(_ALLOWED) - used}"


def test_the_rule_checker_sees_what_it_must(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        '"""Doc: (d / "t.csv").write_text("x") in a docstring is not code."""\n'
        "import json\n"
        "from . import io as qio\n"
        "from .io import write_text\n"
        "def f(p, df, fig, doc):\n"
        "    qio.read_json(p); write_text('x', p)\n"  # through io: fine
        "    json.loads('{}')\n"  # parsing a string: fine
        "    p.read_text()\n"
        "    df.to_csv(p)\n"
        "    fig.savefig(p)\n"
        "    doc.save(p)\n"
        "    json.load(open(p))\n"
        "    docx.Document(p)\n",
        encoding="utf-8")
    got = sorted(_file_io_calls(src))
    assert got == [(8, "read_text"), (9, "to_csv"), (10, "savefig"), (11, "save"),
                   (12, "json.load"), (12, "open"), (13, "Document")]


# ---------------------------------------------------------------------------
# LibreOffice .ods workbooks and tables (issue 16)
# ---------------------------------------------------------------------------
def write_ods(path, sheets: dict):
    """Write an .ods as LibreOffice would: date cells for dates, float cells for numbers.

    ``sheets``: sheet name -> list of rows (None = empty cell). Written with odfpy directly,
    not with qsp_eval, so the reader is tested against an independent writer.
    """
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        t = Table(name=name)
        for r in rows:
            tr = TableRow()
            for v in r:
                if v is None or v == "":
                    tc = TableCell()
                elif isinstance(v, dt.date):
                    tc = TableCell(valuetype="date", datevalue=v.isoformat())
                    tc.addElement(P(text=v.strftime("%d/%m/%Y")))
                elif isinstance(v, bool):
                    tc = TableCell(valuetype="boolean", booleanvalue="true" if v else "false")
                    tc.addElement(P(text="VRAI" if v else "FAUX"))
                elif isinstance(v, int | float):
                    tc = TableCell(valuetype="float", value=v)
                    tc.addElement(P(text=str(v)))
                else:
                    tc = TableCell(valuetype="string")
                    tc.addElement(P(text=str(v)))
                tr.addElement(tc)
            t.addElement(tr)
        doc.spreadsheet.addElement(t)
    doc.save(str(path))
    return path


def _typed_rows(df, spec):
    """A string table back to typed cells (date cells, numbers), as a spreadsheet holds it."""
    rows = [list(df.columns)]
    for rec in df.itertuples(index=False):
        out = []
        for col, v in zip(df.columns, rec):
            kind = spec.column(col).kind if col in spec.names else "text"
            if v and kind == "date":
                out.append(dt.date.fromisoformat(v))
            elif v and kind == "int":
                out.append(int(v))
            else:
                out.append(v or None)
        rows.append(out)
    return rows


def test_read_ods_cells_and_rows(tmp_path):
    p = write_ods(tmp_path / "b.ods", {"visits": [
        [" date", "count", "ratio", "flag", None],
        [dt.date(2023, 5, 17), 3, 2.5, True, None],
        [None, None, None, None, None],
        [dt.date(2023, 5, 24), 4, None, False, None]]})
    df = read_table_file(p, sheet="Visits")
    assert list(df.columns) == ["date", "count", "ratio", "flag"]
    assert list(df.index) == [2, 4]  # the blank row 3 is dropped, numbers kept
    assert df.loc[2].tolist() == ["2023-05-17", "3", "2.5", "yes"]
    assert df.loc[4].tolist() == ["2023-05-24", "4", "", "no"]
    with pytest.raises(DataError) as ei:
        read_table_file(p, sheet="nope")
    assert "nope" in ei.value.format("fr")


def test_damaged_ods_is_a_data_error_saying_what_to_do(tmp_path):
    bad = tmp_path / "saisie.ods"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError) as ei:
        load_source(bad, key=KEY, today=TODAY)
    p = ei.value.problems[0]
    assert p.file == "saisie.ods" and "LibreOffice" in p.message_fr
    assert "enregistrez-le de nouveau" in p.message_fr


def test_ods_date_cell_with_a_mistyped_year_is_a_cell_problem(tmp_path):
    p = write_ods(tmp_path / "s.ods", {"sessions": [["date"], [dt.date(2023, 5, 17)],
                                                    [dt.date(23, 5, 17)]]})
    with pytest.raises(DataError) as ei:
        load_source(p, key=KEY, today=TODAY)
    (prob,) = ei.value.problems
    assert (prob.file, prob.row, prob.column, prob.value) == ("s.ods[sessions]", 3, "date",
                                                             "0023-05-17")
    assert "année 0023" in prob.message_fr


def test_folder_with_ods_tables_is_read_not_ignored(tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    write_ods(src / "sessions.ods", {"Feuille1": [["date", "status"],
                                                  [dt.date(2023, 5, 17), "Tenue"]]})
    write_ods(src / "visits.ods", {"Feuille1": [["date", "gender"],
                                                [dt.date(2023, 5, 17), "Agenre"]]})
    ds = load_source(src, key=KEY, today=TODAY)
    assert len(ds.sessions) == 1 and ds.visits.loc[0, "gender"] == "agender"
    # an old .xls is named, never reported as "sessions missing"
    (src / "sessions.ods").unlink()
    (src / "sessions.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError) as ei:
        load_source(src, key=KEY, today=TODAY)
    assert ei.value.problems[0].file == "sessions.xls"
    assert ".xls" in ei.value.problems[0].message_fr
    assert not any("absente" in p.message_fr for p in ei.value.problems)


def _example_tables():
    out = {}
    for name, spec in TABLES.items():
        f = EXAMPLE / f"{name}.csv"
        if f.exists():
            out[name] = _typed_rows(read_table_file(f), spec)
    return out


@pytest.mark.skipif(not (EXAMPLE / "sessions.csv").exists(), reason="no data/example yet")
def test_example_saved_as_ods_workbook_and_folder_loads_like_the_csv(tmp_path):
    import shutil

    original = load_source(EXAMPLE, key=KEY)
    tables = _example_tables()
    # workbook form: one sheet per table, evaluation.yml beside it
    book = write_ods(tmp_path / "book" / "exemple.ods", tables) if (tmp_path / "book").mkdir() \
        is None else None
    shutil.copy(EXAMPLE / "evaluation.yml", tmp_path / "book" / "evaluation.yml")
    # folder form: one .ods per table
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, rows in tables.items():
        write_ods(folder / f"{name}.ods", {"Feuille1": rows})
    shutil.copy(EXAMPLE / "evaluation.yml", folder / "evaluation.yml")
    for src in (book, folder):
        again = load_source(src, key=KEY)
        for name in TABLES:
            pd.testing.assert_frame_equal(getattr(again, name), getattr(original, name))
        assert again.config == original.config


def test_title_rows_above_the_headers_are_skipped_with_a_notice(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "sessions"
    ws.append(["Suivi des permanences 2023"])
    ws.append(["Association X – ne pas diffuser"])
    ws.append(["date", "status", "attendance"])
    ws.append([dt.datetime(2023, 5, 17), "Tenue", 3])
    ws.append(["pas une date", "Tenue", 2])
    v = wb.create_sheet("visits")
    v.append(["Passages"])
    v.append(["Date", "Genre"])  # French headers
    for _ in range(3):
        v.append([dt.datetime(2023, 5, 17), "Agenre"])
    wb.save(tmp_path / "saisie.xlsx")
    with pytest.raises(DataError) as ei:
        load_source(tmp_path / "saisie.xlsx", key=KEY, today=TODAY)
    probs = ei.value.problems
    # one mistake, one message: the bad date on spreadsheet row 5, named as the sheet shows it
    assert len(probs) == 1, ei.value.format("fr")
    assert (probs[0].file, probs[0].row, probs[0].column) == ("saisie.xlsx[sessions]", 5, "date")
    ws.delete_rows(5)
    wb.save(tmp_path / "saisie.xlsx")
    ds = load_source(tmp_path / "saisie.xlsx", key=KEY, today=TODAY)
    assert len(ds.sessions) == 1 and len(ds.visits) == 3
    notes = [n for n in ds.notices if "au-dessus des titres" in n]
    assert len(notes) == 2
    assert any("lignes 1, 2" in n and "ligne 3" in n for n in notes)
    # the title's text is never repeated in a message
    assert not any("diffuser" in n for n in ds.notices)


def test_title_row_in_a_csv_too(tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    write_bytes(src / "sessions.csv", "Permanences 2023;;\ndate;status;\n17/05/2023;tenue;\n",
                "cp1252")
    ds = load_source(src, key=KEY, today=TODAY)
    assert len(ds.sessions) == 1
    assert any("ligne 1 au-dessus des titres" in n for n in ds.notices)
