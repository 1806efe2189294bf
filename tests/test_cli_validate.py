"""``qsp-eval validate`` and ``qsp-eval template``: exit codes, messages, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qsp_eval.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _french(monkeypatch):
    """main() sets the process-wide language: start every test in French."""
    from qsp_eval import i18n

    monkeypatch.delenv("QSP_LANG", raising=False)
    i18n.set_language("fr")
    yield
    i18n.set_language("fr")


def make_source(folder: Path, *, bad: bool = False) -> Path:
    folder.mkdir()
    (folder / "sessions.csv").write_bytes(
        "date;status\r\n17/05/2023;Tenue\r\n24/05/2023;Annulée\r\n31/05/2023;tenue\r\n"
        .encode("cp1252"))
    gender = "Femme tran" if bad else "Femme trans"
    (folder / "visits.csv").write_bytes(
        f"date;visitor_code;gender\r\n17/05/2023;AB12;{gender}\r\n17/05/2023;CD34;Agenre\r\n"
        .encode("cp1252"))
    (folder / "evaluation.yml").write_text("programme: Essai\nlaunch_date: 2021-11-03\n",
                                           encoding="utf-8")
    return folder


def listing(folder: Path):
    return sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_validate_clean_exit_0_with_summary(tmp_path, capsys):
    src = make_source(tmp_path / "ok")
    before = listing(tmp_path)
    assert main(["validate", str(src)]) == 0
    out = capsys.readouterr().out
    assert "Données valides" in out
    # 3 sessions: 2 held (17/05, 31/05), 1 cancelled; 2 visit rows on 17/05, 0 on 31/05
    assert "2 tenue(s), 1 annulée(s)" in out
    assert "Passages : 2 sur 2 permanence(s)" in out
    assert "du 17/05/2023 au 31/05/2023" in out
    assert "Personnes distinctes (codes pseudonymisés) : 2" in out
    assert "AB12" not in out
    assert listing(tmp_path) == before  # nothing written


def test_validate_english(tmp_path, capsys):
    src = make_source(tmp_path / "ok")
    assert main(["validate", str(src), "--lang", "en"]) == 0
    assert "2 held, 1 cancelled" in capsys.readouterr().out


def test_validate_problems_exit_2_all_listed(tmp_path, capsys):
    src = make_source(tmp_path / "bad", bad=True)
    (src / "sessions.csv").write_text("date;attendance\n17/05/2023;-1\n24/05/2023;\n",
                                      encoding="utf-8")
    before = listing(tmp_path)
    assert main(["validate", str(src)]) == 2
    err = capsys.readouterr().err
    assert "visits.csv, ligne 2, colonne « gender » : valeur « Femme tran »" in err
    assert "vouliez-vous dire « Femme trans »" in err
    assert "sessions.csv, ligne 2, colonne « attendance »" in err
    assert "Traceback" not in err
    assert listing(tmp_path) == before


def test_validate_identifier_never_printed(tmp_path, capsys):
    src = make_source(tmp_path / "id")
    (src / "visits.csv").write_text(
        "date,gender,contact\n17/05/2023,Agenre,camille.d@example.org\n", encoding="utf-8")
    assert main(["validate", str(src)]) == 2
    captured = capsys.readouterr()
    assert "camille" not in captured.err + captured.out
    assert "(valeur masquée)" in captured.err


def test_validate_sentence_in_a_coded_column_never_printed(tmp_path, capsys):
    # a name and a health status typed where a code was expected: no pattern detects the
    # name, so a value that reads like a sentence is masked, row and column still named
    src = make_source(tmp_path / "txt")
    (src / "visits.csv").write_text(
        "date,gender\n17/05/2023,\"Camille Durand, séropo, vient avec Karim\"\n",
        encoding="utf-8")
    assert main(["validate", str(src)]) == 2
    err = capsys.readouterr().err
    assert "Camille" not in err and "séropo" not in err
    assert "visits.csv, ligne 2, colonne « gender »" in err


def test_validate_damaged_file_is_a_data_error(tmp_path, capsys):
    src = make_source(tmp_path / "bin")
    (src / "visits.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
    assert main(["validate", str(src)]) == 2
    err = capsys.readouterr().err
    assert "visits.csv" in err and "UnicodeDecodeError" not in err


def test_validate_missing_source_and_key_file_inside(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "absent")]) == 2
    src = make_source(tmp_path / "k")
    (src / "key.txt").write_text("une-cle-assez-longue-pour-passer")
    assert main(["validate", str(src), "--key-file", str(src / "key.txt")]) == 2
    err = capsys.readouterr().err
    assert "dossier des données" in err and "Traceback" not in err
    outside = tmp_path / "key.txt"
    outside.write_text("une-cle-assez-longue-pour-passer")
    assert main(["validate", str(src), "--key-file", str(outside)]) == 0


def test_validate_subprocess_no_traceback(tmp_path):
    src = make_source(tmp_path / "bad", bad=True)
    r = subprocess.run([sys.executable, "-m", "qsp_eval", "validate", str(src)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "Femme tran" in r.stderr


def test_template_command(tmp_path, capsys):
    out = tmp_path / "modele.xlsx"
    assert main(["template", str(out)]) == 0
    assert out.is_file()
    assert "qsp-eval validate" in capsys.readouterr().out
    # not overwritten without --force
    assert main(["template", str(out)]) == 2
    assert main(["template", str(out), "--force", "--lang", "en"]) == 0
    capsys.readouterr()
    # an unfilled template is refused: one message that says so
    assert main(["validate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 problème(s)" in err and "est vide" in err
    assert main(["template", str(tmp_path / "x.csv")]) == 2


@pytest.mark.parametrize("cmd", ["validate", "template"])
def test_help_texts(cmd, capsys):
    with pytest.raises(SystemExit) as ei:
        main([cmd, "--help"])
    assert ei.value.code == 0
    assert "Exemple" in capsys.readouterr().out


def test_theming_command_says_not_estimable_for_a_missing_bound():
    # a rate ratio of 0 (no first-time visitor at themed sessions) has no finite upper bound
    from qsp_eval.commands.theming import _ci

    assert _ci(0.59, 1.52, "fr") == "0,59–1,52"
    assert _ci(0.0, float("nan"), "fr") == "non estimable"
    assert _ci(0.0, float("inf"), "en") == "not estimable"
    assert _ci(None, 2.0, "en") == "not estimable"


def test_unexpected_error_never_prints_a_pseudonym_or_an_identifier(tmp_path, capsys,
                                                                     monkeypatch):
    # a bug whose message quotes data (pandas quotes index values, KeyError its key)
    from qsp_eval.commands import validate

    src = make_source(tmp_path / "ok")

    def boom(args):
        raise KeyError("3f2a9c0d1b2e4f56 not in index")

    monkeypatch.setattr(validate, "run", boom)
    assert main(["validate", str(src)]) != 0
    err = capsys.readouterr().err
    assert "3f2a9c0d1b2e4f56" not in err and "KeyError" in err and "Traceback" not in err

    def boom2(args):
        raise ValueError("bad row: camille.d@example.org")

    monkeypatch.setattr(validate, "run", boom2)
    assert main(["validate", str(src)]) != 0
    assert "camille" not in capsys.readouterr().err


def test_validate_ods_workbook_and_template_ods(tmp_path, capsys):
    import datetime as dt

    from test_io import write_ods

    out = tmp_path / "modele.ods"
    assert main(["template", str(out)]) == 0 and out.is_file()
    capsys.readouterr()
    assert main(["validate", str(out)]) == 2
    assert "est vide" in capsys.readouterr().err
    book = write_ods(tmp_path / "saisie.ods", {
        "sessions": [["Date", "Statut"], [dt.date(2023, 5, 17), "Tenue"],
                     [dt.date(2023, 5, 24), "Annulée"]],
        "visits": [["Date", "Code personne", "Genre"], [dt.date(2023, 5, 17), "AB12", "Agenre"]],
        "evaluation": [["key", "value"], ["programme", "Essai"],
                       ["launch_date", dt.date(2021, 11, 3)]]})
    assert main(["validate", str(book)]) == 0
    got = capsys.readouterr().out
    assert "Données valides" in got and "1 tenue(s), 1 annulée(s)" in got
    # a mistake in an .ods names the sheet, the row and the column as the user wrote it
    write_ods(book, {"sessions": [["Date", "Statut"], [dt.date(2023, 5, 17), "Tenu"]]})
    assert main(["validate", str(book)]) == 2
    err = capsys.readouterr().err
    assert "saisie.ods[sessions], ligne 2, colonne « Statut » : valeur « Tenu »" in err


def test_validate_date_with_mistyped_year_names_the_cell(tmp_path, capsys):
    src = make_source(tmp_path / "y")
    (src / "sessions.csv").write_text("date;status\n17/05/2023;tenue\n17/05/0023;tenue\n",
                                      encoding="utf-8")
    assert main(["validate", str(src)]) == 2
    err = capsys.readouterr().err
    assert "sessions.csv, ligne 3, colonne « date » : valeur « 17/05/0023 » : année 0023" in err
    assert "Erreur inattendue" not in err and "OutOfBounds" not in err


def test_closed_pipe_is_not_an_error_with_a_buffered_stdout(tmp_path):
    # a new shell has no PYTHONUNBUFFERED: a short output is written only at the final flush,
    # which must not end in "Exception ignored ... BrokenPipeError" (exit 120)
    import os

    src = make_source(tmp_path / "ok")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["validate", str(src)], ["--help"]):
        p = subprocess.Popen([sys.executable, "-m", "qsp_eval", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=ROOT, env=env)
        p.stdout.close()
        err = p.stderr.read().decode()
        assert p.wait() == 0, (args, err)
        assert "BrokenPipeError" not in err and "Traceback" not in err
