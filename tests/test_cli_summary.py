"""``qsp-eval summary``: text and JSON output on a hand-built dataset and on the example."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qsp_eval.cli import main
from qsp_eval.commands import summary as S
from qsp_eval.schema import EvaluationConfig
from qsp_eval.testing import make_dataset

ROOT = Path(__file__).resolve().parents[1]
TANB = {"gender": {"tanb": {"label_fr": "Personnes trans, agenres et non-binaires",
                            "label_en": "Trans, agender and non-binary people",
                            "members": ["trans_woman", "trans_man", "non_binary", "agender"]}}}


def _ds():
    # 2023: 3 held sessions (20 visit rows, 0 visits, tally 4) and one cancelled;
    # 20 people, 8 of them trans or non-binary, 12 cis men; 2 first visits
    sessions = [{"date": "2023-01-04"}, {"date": "2023-01-11"},
                {"date": "2023-01-18", "status": "cancelled"},
                {"date": "2023-01-25", "attendance": 4}]
    genders = ["trans_woman"] * 5 + ["non_binary"] * 3 + ["cis_man"] * 12
    visits = [{"date": "2023-01-04", "person_id": f"p{i}", "gender": g,
               "first_visit": "yes" if i < 2 else "no"} for i, g in enumerate(genders)]
    return make_dataset(sessions, visits,
                        config=EvaluationConfig(programme="Test", reporting_groups=TANB))


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(S, "load_dataset", lambda source, key_file=None: _ds())


def test_json_exact_keys_and_values(patched, capsys):
    assert main(["summary", "anything", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"attendance", "profiles"}
    (row,) = out["attendance"]
    assert list(row) == ["period", "sessions_held", "sessions_cancelled", "visits",
                         "mean_visits_per_session", "ci_low", "ci_high", "distinct_people",
                         "first_time_visitors"]
    # 3 held (20 + 0 + 4 = 24 visits, mean 8), 1 cancelled; people p0..p19; 2 first visits
    # (the tallied session has no new_visitors tally: unknown, left out of the sum)
    assert (row["period"], row["sessions_held"], row["sessions_cancelled"], row["visits"]) == (
        "2023", 3, 1, 24)
    assert row["mean_visits_per_session"] == 8.0
    assert row["ci_low"] < 8 < row["ci_high"]
    assert (row["distinct_people"], row["first_time_visitors"]) == (20, 2)
    prof = out["profiles"]
    assert all(list(p) == ["field", "period", "group", "unit", "count", "share", "share_known"]
               for p in prof)
    cis = [p for p in prof if p["field"] == "gender" and p["group"] == "cis_man"
           and p["unit"] == "people"]
    # reporting groups applied: 12 cis men and 8 trans/non-binary people of 20
    assert len(cis) == 1 and cis[0]["count"] == 12
    assert cis[0]["share"] == pytest.approx(12 / 20) and cis[0]["share_known"] == pytest.approx(0.6)
    tanb = [p for p in prof if p["field"] == "gender" and p["group"] == "tanb"
            and p["unit"] == "people"]
    assert tanb[0]["count"] == 8 and tanb[0]["share"] == pytest.approx(0.4)
    groups = {p["group"] for p in prof if p["field"] == "gender"}
    assert "tanb" in groups and "trans_woman" not in groups
    assert {p["unit"] for p in prof} == {"people", "visits"}


def test_text_french_default(patched, capsys):
    assert main(["summary", "anything"]) == 0
    out = capsys.readouterr().out
    assert "Fréquentation par période" in out
    assert "Tenues" in out and "Annulées" in out
    assert "8,00" in out  # decimal comma
    assert "40 %" in out  # 8 of 20 people
    assert "Identité de genre" in out


def test_text_english(patched, capsys):
    assert main(["summary", "anything", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Attendance per period" in out and "Gender identity" in out
    assert "8.00" in out


def test_period_option(patched, capsys):
    assert main(["summary", "anything", "--json", "--period", "quarter"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["period"] for r in out["attendance"]] == ["2023-Q1"]


def test_json_rows_null_for_suppressed_and_nan():
    import pandas as pd

    att = pd.DataFrame({"period": ["2023"], "sessions_held": [0], "sessions_cancelled": [0],
                        "visits": [0], "mean_visits_per_session": [float("nan")],
                        "ci_low": [float("nan")], "ci_high": [float("nan")],
                        "distinct_people": pd.array([pd.NA], dtype="Int64"),
                        "first_time_visitors": pd.array([pd.NA], dtype="Int64")})
    prof = pd.DataFrame({"field": ["gender"], "period": ["2023"], "group": ["cis_man"],
                         "unit": ["people"], "count": [3], "share": [0.5],
                         "share_known": [0.5], "suppressed": [True]})
    out = S._json_rows(att, prof)
    assert out["attendance"][0]["mean_visits_per_session"] is None
    assert out["attendance"][0]["distinct_people"] is None
    assert out["profiles"][0]["count"] is None and out["profiles"][0]["share"] is None
    json.dumps(out, allow_nan=False)


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from qsp_eval.cli import build_parser; build_parser('fr'); "
            "import qsp_eval.commands.summary; "
            "print(any(m in sys.modules for m in ('pandas', 'scipy', 'matplotlib')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_example_summary_2023():
    if not (ROOT / "data" / "example" / "sessions.csv").exists():
        pytest.skip("data/example is not generated yet (qsp-eval simulate)")
    r = subprocess.run([sys.executable, "-m", "qsp_eval", "summary", str(ROOT / "data" / "example"),
                        "--json"], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0 and "NotImplementedError" in r.stderr:
        pytest.skip("qsp_eval.io.load_source is not written yet")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    y23 = next(a for a in out["attendance"] if a["period"] == "2023")
    # capitalisation write-up: 43 held sessions, 234 visits, 5.44 visits per session in 2023
    assert (y23["sessions_held"], y23["visits"]) == (43, 234)
    assert round(y23["mean_visits_per_session"], 2) == 5.44
    tanb = next(p for p in out["profiles"] if p["field"] == "gender" and p["group"] == "tanb"
                and p["period"] == "2023" and p["unit"] == "people")
    assert round(100 * tanb["share"]) == 38


# --- --key-file ------------------------------------------------------------------------
def _tiny_source(folder: Path) -> Path:
    # French Excel CSV: 2 held sessions (17/05 and 31/05/2023), 2 visits on 17/05
    folder.mkdir()
    (folder / "sessions.csv").write_bytes(
        "date;status\r\n17/05/2023;Tenue\r\n31/05/2023;tenue\r\n".encode("cp1252"))
    (folder / "visits.csv").write_bytes(
        "date;visitor_code;gender\r\n17/05/2023;AB12;Femme trans\r\n17/05/2023;CD34;Agenre\r\n"
        .encode("cp1252"))
    (folder / "evaluation.yml").write_text("programme: Essai\nlaunch_date: 2021-11-03\n",
                                           encoding="utf-8")
    return folder


def test_key_file_is_passed_to_the_loader(monkeypatch, capsys):
    seen = {}

    def fake(source, key_file=None):
        seen.update(source=source, key_file=key_file)
        return _ds()

    monkeypatch.setattr(S, "load_dataset", fake)
    assert main(["summary", "src", "--key-file", "/elsewhere/key.txt", "--json"]) == 0
    assert seen == {"source": "src", "key_file": "/elsewhere/key.txt"}
    capsys.readouterr()
    assert main(["summary", "src", "--json"]) == 0
    assert seen["key_file"] is None


def test_key_file_inside_data_folder_refused_outside_accepted(tmp_path, capsys):
    src = _tiny_source(tmp_path / "data")
    (src / "key.txt").write_text("une-cle-assez-longue-pour-passer")
    assert main(["summary", str(src), "--key-file", str(src / "key.txt"), "--lang", "fr"]) == 2
    err = capsys.readouterr().err
    assert "dossier des données" in err and "Traceback" not in err
    outside = tmp_path / "key.txt"
    outside.write_text("une-cle-assez-longue-pour-passer")
    assert main(["summary", str(src), "--key-file", str(outside), "--json", "--lang", "fr"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["attendance"]
    # 2 held sessions, 2 visits, 2 distinct people (AB12, CD34)
    assert (row["sessions_held"], row["visits"], row["distinct_people"]) == (2, 2, 2)
    too_short = tmp_path / "short.txt"
    too_short.write_text("court")
    assert main(["summary", str(src), "--key-file", str(too_short), "--lang", "en"]) == 2
    assert "too short" in capsys.readouterr().err


# --- --year-start ------------------------------------------------------------------------
def _ds_school_year():
    # held sessions 30/08/2023 (3 visits) and 06/09/2023 (2 visits), plus 03/01/2024 (4)
    return make_dataset([{"date": "2023-08-30", "attendance": 3},
                         {"date": "2023-09-06", "attendance": 2},
                         {"date": "2024-01-03", "attendance": 4}],
                        config=EvaluationConfig(programme="Test"))


def test_year_start_moves_the_reporting_year(monkeypatch, capsys):
    monkeypatch.setattr(S, "load_dataset", lambda source, key_file=None: _ds_school_year())
    assert main(["summary", "x", "--json"]) == 0
    att = json.loads(capsys.readouterr().out)["attendance"]
    # calendar years: 2023 = 30/08 + 06/09 (3 + 2 = 5 visits), 2024 = 03/01 (4)
    assert [(a["period"], a["visits"]) for a in att] == [("2023", 5), ("2024", 4)]
    assert main(["summary", "x", "--json", "--year-start", "9"]) == 0
    att = json.loads(capsys.readouterr().out)["attendance"]
    # September-August years: 30/08/2023 in 2022-2023 (3); 06/09/2023 and 03/01/2024 in
    # 2023-2024 (2 + 4 = 6 visits over 2 held sessions, mean 3)
    assert [(a["period"], a["visits"], a["sessions_held"]) for a in att] == [
        ("2022-2023", 3, 1), ("2023-2024", 6, 2)]
    assert att[1]["mean_visits_per_session"] == 3.0
    assert main(["summary", "x", "--json", "--year-start", "9", "--period", "half"]) == 0
    att = json.loads(capsys.readouterr().out)["attendance"]
    # halves of the Sept-Aug year: H2 = March-August, H1 = September-February
    assert [(a["period"], a["visits"]) for a in att] == [("2022-2023-H2", 3),
                                                         ("2023-2024-H1", 6)]


@pytest.mark.parametrize("bad", ["0", "13", "septembre"])
def test_year_start_invalid_month_is_a_usage_error(monkeypatch, capsys, bad):
    monkeypatch.setattr(S, "load_dataset", lambda source, key_file=None: _ds_school_year())
    with pytest.raises(SystemExit) as ei:
        main(["summary", "x", "--year-start", bad, "--lang", "fr"])
    assert ei.value.code == 2
    assert "mois invalide" in capsys.readouterr().err
