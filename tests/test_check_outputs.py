"""``scan_outputs`` and ``qsp-eval check-outputs`` on hand-made output folders.

Each doctored folder plants one known problem (values chosen by hand); the
scanner must name the file and the place, never print the planted value.
"""

from __future__ import annotations

import json

import pytest

from qsp_eval.cli import main
from qsp_eval.disclosure import DisclosureRules, manifest, scan_outputs

EMAIL = "camille.dupont@example.org"
PSEUDONYM = "3fa94c0d12ab67e9"  # 16 hexadecimal characters, like qsp_eval.privacy.pseudonymise


def clean_folder(root):
    """A small output folder that publishes nothing disclosive."""
    (root / "tables").mkdir(parents=True)
    (root / "figures").mkdir()
    # long-form person table: hidden cells shown "< 5" / "n.d.", counts >= 5, zeros allowed
    (root / "tables" / "profiles.csv").write_text(
        "period,field,group,unit,count,denominator,share,suppressed,count_display\n"
        "2023,gender,trans_woman,people,,40,,True,< 5\n"
        "2023,gender,non_binary,people,,40,,True,n.d.\n"
        "2023,gender,cis_man,people,25,40,0.625,False,25\n"
        "2023,gender,agender,people,0,40,0.0,False,0\n"
        "2023,chemsex,yes,people,12,40,0.3,False,12\n",
        encoding="utf-8")
    # activity table: small numbers are fine
    (root / "tables" / "attendance.csv").write_text(
        "period,unit,count\n2023-01,sessions,3\n2023-02,sessions,4\n", encoding="utf-8")
    # French Excel-style CSV (; and Windows-1252)
    (root / "tables" / "materiel.csv").write_bytes(
        "mois;matériel;quantité\n2023-05;Préservatif externe;2\n".encode("cp1252"))
    (root / "report.html").write_text(
        "<html><head><style>td{color:red}</style></head><body>"
        "<h1>Rapport</h1><p>234 passages en 43 permanences ; &lt; 5 personnes trans.</p>"
        '<table class="qsp-table"><tr><th>Groupe</th><th>Effectif</th></tr>'
        "<tr><td>Femme trans</td><td>&lt; 5</td></tr><tr><td>Homme cis</td><td>25</td></tr>"
        "</table>"
        '<table class="qsp-table"><tr><th>Mois</th><th>Permanences</th></tr>'
        "<tr><td>2023-01</td><td>3</td></tr></table></body></html>",
        encoding="utf-8")
    (root / "writeup.fr.md").write_text(
        "# Synthèse\n\nEn 2023, 234 passages ont eu lieu lors de 43 permanences.\n\n"
        "| Groupe | Effectif |\n|---|---|\n| Femme trans | < 5 |\n| Homme cis | 25 |\n",
        encoding="utf-8")
    (root / "figures" / "attendance.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="1">Passages par mois</text>'
        "</svg>", encoding="utf-8")
    (root / "figures" / "attendance.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "manifest.json").write_text(json.dumps(
        {"checksum": "a" * 64, "created": "2026-11-28T12:00:00"}), encoding="utf-8")


def kinds(findings):
    return sorted(f.kind for f in findings)


def test_clean_folder_has_no_finding(tmp_path):
    clean_folder(tmp_path)
    assert scan_outputs(tmp_path) == []
    # the PNG cannot be read: a notice, not a problem
    notices = scan_outputs(tmp_path, include_notices=True)
    assert [(f.file, f.kind, f.severity) for f in notices] == [
        ("figures/attendance.png", "unreadable", "notice")]


def test_planted_small_cell_in_csv(tmp_path):
    clean_folder(tmp_path)
    (tmp_path / "tables" / "age.csv").write_text(
        "period,field,group,unit,count,denominator\n"
        "2023,age_band,18-24,people,12,40\n"
        "2023,age_band,55+,people,3,40\n", encoding="utf-8")
    found = scan_outputs(tmp_path)
    assert [(f.file, f.kind) for f in found] == [("tables/age.csv", "small_cell")]
    # row 3 as a spreadsheet shows it (header is row 1), column count
    assert "ligne 3" in found[0].location and "count" in found[0].location


def test_planted_small_cell_strict_threshold(tmp_path):
    (tmp_path / "t.csv").write_text("field,group,count\ngender,cis_man,7\n", encoding="utf-8")
    assert scan_outputs(tmp_path) == []  # 7 >= 5
    assert kinds(scan_outputs(tmp_path, rules=DisclosureRules(min_cell=11))) == ["small_cell"]
    # strict preset (threshold 11, rounding to 5): a published 10 stands for 11 or 12
    # (rounded), a published 5 can only be a count of 3 to 7: under 11.
    strict = DisclosureRules(preset="strict", min_cell=11, round_to=5, min_denominator=11,
                             small_group=44)
    (tmp_path / "t.csv").write_text("field,group,count\ngender,cis_man,10\n", encoding="utf-8")
    assert scan_outputs(tmp_path, rules=strict) == []
    (tmp_path / "t.csv").write_text("field,group,count\ngender,cis_man,5\n", encoding="utf-8")
    assert kinds(scan_outputs(tmp_path, rules=strict)) == ["small_cell"]


def test_planted_email_in_html(tmp_path):
    clean_folder(tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    (tmp_path / "report.html").write_text(
        html.replace("<h1>Rapport</h1>", f"<h1>Rapport</h1><p>Contact : {EMAIL}</p>"),
        encoding="utf-8")
    found = scan_outputs(tmp_path)
    assert [(f.file, f.kind) for f in found] == [("report.html", "email")]
    assert EMAIL not in found[0].format("fr") and EMAIL not in found[0].format("en")


def test_planted_pseudonym_in_markdown(tmp_path):
    clean_folder(tmp_path)
    with open(tmp_path / "writeup.fr.md", "a", encoding="utf-8") as fh:
        fh.write(f"\nLa personne {PSEUDONYM} est venue souvent.\n")
    found = scan_outputs(tmp_path)
    assert [(f.file, f.kind) for f in found] == [("writeup.fr.md", "pseudonym")]
    assert PSEUDONYM not in found[0].format("fr")


def test_known_pseudonyms_are_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("vu: ZX-42\n", encoding="utf-8")
    assert scan_outputs(tmp_path) == []
    assert kinds(scan_outputs(tmp_path, pseudonyms=["ZX-42"])) == ["pseudonym"]


def test_small_cell_in_xlsx_sheet(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "profils"
    ws.append(["period", "field", "group", "unit", "count"])
    ws.append(["2023", "orientation", "lesbian", "people", 2])
    ws.append(["2023", "orientation", "gay", "people", 30])
    ws2 = wb.create_sheet("activite")
    ws2.append(["mois", "permanences"])
    ws2.append(["2023-01", 2])
    wb.save(tmp_path / "tables.xlsx")
    found = scan_outputs(tmp_path)
    assert [(f.file, f.kind) for f in found] == [("tables.xlsx[profils]", "small_cell")]


def test_small_cell_in_html_person_table_and_marked_tables(tmp_path):
    # a translated table recognised by its labels ("Non-binaire"), and a marked one
    (tmp_path / "a.html").write_text(
        "<table><tr><th>Groupe</th><th>Effectif</th></tr>"
        "<tr><td>Non-binaire</td><td>2</td></tr></table>"
        "<!-- qsp:person --><table><tr><th>A</th><th>B</th></tr>"
        "<tr><td>x</td><td>4</td></tr></table>"
        '<table class="qsp-activity"><tr><th>Produit</th><th>Échantillons</th></tr>'
        "<tr><td>Cocaïne</td><td>2</td></tr></table>", encoding="utf-8")
    found = scan_outputs(tmp_path)
    assert [(f.file, f.kind) for f in found] == [("a.html[tableau 1]", "small_cell"),
                                                ("a.html[tableau 2]", "small_cell")]


def test_manifest_marks_wide_tables(tmp_path):
    (tmp_path / "wide.csv").write_text("a,b\nx,3\n", encoding="utf-8")
    assert scan_outputs(tmp_path) == []
    (tmp_path / "disclosure.json").write_text(
        json.dumps(manifest(DisclosureRules(), ["wide.csv"])), encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == ["small_cell"]


def test_row_level_exact_age_and_identifier_columns(tmp_path):
    (tmp_path / "rows.csv").write_text(
        "date,person_id,gender\n2023-05-17,abc,trans_man\n2023-05-24,def,cis_man\n",
        encoding="utf-8")
    (tmp_path / "ages.csv").write_text("age,count\n34,6\n", encoding="utf-8")
    (tmp_path / "contacts.csv").write_text("Téléphone,count\n,6\n", encoding="utf-8")
    found = {(f.file, f.kind) for f in scan_outputs(tmp_path)}
    assert ("rows.csv", "row_level") in found and ("rows.csv", "exact_date") in found
    assert ("ages.csv", "exact_age") in found
    assert ("contacts.csv", "identifier_column") in found


def test_extreme_share_on_small_group(tmp_path):
    # denominator 8 < 20 and a share of 1.0: "100 % of 8 people"
    (tmp_path / "t.csv").write_text(
        "field,group,unit,count,denominator,share\ninjects,no,people,8,8,1.0\n",
        encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == ["extreme_share"]


def test_hundred_percent_not_stated_is_not_an_extreme_share(tmp_path):
    # 8 of 8 people "not stated" (the field was never filled): no one's attribute is told
    (tmp_path / "t.csv").write_text(
        "field,group,unit,count,denominator,share\norientation,unknown,people,8,8,1.0\n",
        encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == []
    (tmp_path / "t.csv").write_text(
        "Champ,Groupe,Effectif,Dénominateur,Part\norientation,Non renseigné,8,8,100\n",
        encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == []
    (tmp_path / "t.csv").write_text(  # the same row on a stated answer is flagged
        "Champ,Groupe,Effectif,Dénominateur,Part\norientation,Gay,8,8,100\n",
        encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == ["extreme_share"]


def test_docx_and_svg(tmp_path):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("Synthèse de l'année.")
    tb = d.add_table(rows=2, cols=2)
    tb.cell(0, 0).text, tb.cell(0, 1).text = "Groupe", "Effectif"
    tb.cell(1, 0).text, tb.cell(1, 1).text = "Homme trans", "3"
    d.save(tmp_path / "writeup.docx")
    (tmp_path / "fig.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg"><text>{EMAIL}</text></svg>', encoding="utf-8")
    found = sorted((f.file, f.kind) for f in scan_outputs(tmp_path))
    assert found == [("fig.svg", "email"), ("writeup.docx[tableau 1]", "small_cell")]


def test_notebook_outputs_are_read(tmp_path):
    # an executed notebook: a base64 PNG (not text), an HTML person table with a
    # small cell in an output, an e-mail printed by a code cell, a markdown cell.
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk0612345678wAAAABJRU5ErkJggg=="
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Profils\n", "Texte sûr."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["pub.table(x)"],
         "outputs": [
             {"output_type": "display_data", "metadata": {},
              "data": {"image/png": png, "text/plain": ["<Figure>"]}},
             {"output_type": "display_data", "metadata": {},
              "data": {"text/html": ['<table class="qsp-table qsp-person"><tr><th>Groupe</th>'
                                     "<th>Effectif</th></tr><tr><td>tanb</td><td>3</td></tr>"
                                     "</table>"],
                       "text/plain": ["  group  count\n0  tanb      3"]}},
             {"output_type": "stream", "name": "stdout",
              "text": [f"envoyé à {EMAIL}\n", "2022-03-30 2022-03-30  1  sessions\n"]}]}]}
    (tmp_path / "02-profiles.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    found = sorted((f.file, f.kind) for f in scan_outputs(tmp_path))
    assert found == [("02-profiles.ipynb", "email"),
                     ("02-profiles.ipynb[cellule 2, tableau 1]", "small_cell")]
    assert ("02-profiles.ipynb", "unreadable") in {
        (f.file, f.kind) for f in scan_outputs(tmp_path, include_notices=True)}


def test_no_false_alarm_on_dates_checksums_and_numbers(tmp_path):
    # two ISO dates side by side once looked like a phone number; a SHA-256 checksum
    # holds digit runs; long decimals and years are not identifiers.
    (tmp_path / "notes.txt").write_text(
        "2022-03-30 2022-03-30 cancelled\n"
        "sha256: 5b2a9b50294934f8acbfbe9c04d0235921263fed242b3c79b0e3933dd3edb63f\n",
        encoding="utf-8")
    (tmp_path / "x.csv").write_text("period,estimate\n2023,0.0123456789\n2024,0.10526315\n",
                                    encoding="utf-8")
    assert scan_outputs(tmp_path) == []
    # ... while a date of birth next to the words is found
    (tmp_path / "dob.md").write_text("Née le 12/03/1987.\n", encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == ["birth_date"]


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------
def test_command_exit_codes(tmp_path, capsys):
    clean_folder(tmp_path)
    assert main(["check-outputs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Aucun problème" in out and "attendance.png" in out  # the PNG is listed to look at
    (tmp_path / "contact.md").write_text(f"Écrire à {EMAIL}\n", encoding="utf-8")
    assert main(["check-outputs", str(tmp_path), "--lang", "en"]) == 2
    out = capsys.readouterr().out
    assert "contact.md" in out and "e-mail" in out and EMAIL not in out


def test_command_pseudonyms_file(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "t.md").write_text("Passages de ZX-42 en mai.\n", encoding="utf-8")
    assert main(["check-outputs", str(out)]) == 0
    known = tmp_path / "known.txt"
    known.write_text("AB12\nZX-42\n", encoding="utf-8")
    assert main(["check-outputs", str(out), "--pseudonyms", str(known)]) == 2
    printed = capsys.readouterr().out
    assert "t.md" in printed and "ZX-42" not in printed


def test_command_threshold_option(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("field,group,count\ngender,cis_man,7\n", encoding="utf-8")
    assert main(["check-outputs", str(tmp_path)]) == 0
    assert main(["check-outputs", str(tmp_path), "--threshold", "11"]) == 2
    assert "t.csv" in capsys.readouterr().out
    assert main(["check-outputs", str(tmp_path / "missing")]) == 2


# ---------------------------------------------------------------------------
# The full report on simulated data
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_full_report_on_simulated_data_is_clean(tmp_path):
    from qsp_eval import report, simulate

    src = tmp_path / "data"
    simulate.write_simulation(src, seed=2021)
    out = tmp_path / "out"
    report.run_report(src, out, lang="fr", scan=False)
    found = scan_outputs(out)
    assert found == [], [f.format("en") for f in found]
    # not vacuous: the simulated data has small groups, hidden in the person tables
    profiles = (out / "tables" / "profiles_by_year.csv").read_text(encoding="utf-8")
    assert "< 5" in profiles.replace("\u00a0", " ")
    assert main(["check-outputs", str(out)]) == 0


def test_a_long_number_is_not_a_pseudonym(tmp_path):
    """Issue 11: a 16-digit interval bound (1.23e15 written by a CSV writer) is a number, not a
    person's pseudonym; 16 hex characters, even all digits, standing alone still are."""
    from qsp_eval.disclosure import DisclosureRules, check_text

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "effects.csv").write_text(
        "term,rate_ratio,ci_low,ci_high\nslope_change,2.5,0.000001,1234567890123456.0\n",
        encoding="utf-8")
    (tmp_path / "report.html").write_text(
        "<html><body><p>IC 95 % 0,00–1234567890123456,00</p></body></html>", encoding="utf-8")
    assert kinds(scan_outputs(tmp_path)) == []
    rules = DisclosureRules()
    assert check_text("borne 1234567890123456.0", rules=rules) == []
    assert [f.kind for f in check_text("code 1234567890123456", rules=rules)] == ["pseudonym"]
    assert [f.kind for f in check_text(f"code {PSEUDONYM}.", rules=rules)] == ["pseudonym"]


def test_hex_token_of_pseudonym_length_anywhere(tmp_path):
    # issue 10: a 64-hex string (a full HMAC) at the end of a CSV row, in a free cell, was not
    # caught (only exactly 16 hex characters were); a checksum announced as such is not a
    # pseudonym ("sha256": "..." in manifest.json, data_checksum).
    clean_folder(tmp_path)
    (tmp_path / "tables" / "sessions.csv").write_text(
        "period,sessions,note\n2023,43,ok\n2024,44," + "ab12" * 16 + "\n", encoding="utf-8")
    assert [(f.file, f.kind) for f in scan_outputs(tmp_path)] == [
        ("tables/sessions.csv", "pseudonym")]
    (tmp_path / "tables" / "sessions.csv").unlink()
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"data_checksum": "c" * 64, "files": [{"path": "a.csv", "sha256": "d0" * 32}]}),
        encoding="utf-8")
    assert scan_outputs(tmp_path) == []
    (tmp_path / "notes.txt").write_text("code 3fa94c0d12ab67e9aa\n", encoding="utf-8")
    assert [f.kind for f in scan_outputs(tmp_path)] == ["pseudonym"]


def test_command_intruder_option_on_a_clean_folder(tmp_path, capsys):
    clean_folder(tmp_path)
    assert main(["check-outputs", str(tmp_path), "--intruder"]) == 0
