"""Command-line tests of `qsp-eval its` and `qsp-eval theming`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qsp_eval.cli import main

_ROOT = Path(__file__).resolve().parents[1]
SICILY = next((p for p in (_ROOT.parent / "shared" / "reference-data" / "sicily.csv",
                           _ROOT.parent.parent / "shared" / "reference-data" / "sicily.csv")
               if p.exists()), _ROOT.parent / "shared" / "reference-data" / "sicily.csv")


def _run(capsys, argv):
    if "--lang" not in argv:  # the language is process-wide state: always say which
        argv = [*argv, "--lang", "fr"]
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_its_json_matches_published_reference(capsys):
    """Lopez Bernal J, Cummins S, Gasparrini A. Int J Epidemiol 2017;46(1):348-355:
    quasi-Poisson, offset log(stdpop), smokban + time + harmonic(month, 2, 12): rate ratio
    0.885; with Student's t on 52 residual df (R summary.glm, see tests/test_its.py for the R
    code and output: 0.8850715 (0.8383424-0.9344054)) the interval is 0.838-0.934; the
    published normal-quantile interval is 0.839-0.933."""
    if not SICILY.exists():
        pytest.skip(f"reference data not available: {SICILY} does not exist")
    code, out, _ = _run(capsys, [
        "its", str(SICILY), "--time", "time", "--count", "aces", "--intervention", "37",
        "--offset", "stdpop", "--harmonics", "2", "--period", "12", "--season-position", "month",
        "--family", "quasipoisson", "--no-slope-change", "--json"])
    assert code == 0
    d = json.loads(out)
    assert d["family"] == "quasipoisson" and d["n"] == 59
    assert d["dispersion"] > 1
    lvl = next(e for e in d["effects"] if e["term"] == "level_change")
    assert (round(lvl["rate_ratio"], 3), round(lvl["ci_low"], 3), round(lvl["ci_high"], 3)) == (
        0.885, 0.838, 0.934)
    assert not any(e["term"] == "slope_change" for e in d["effects"])
    # the scale is estimated: Student's t on 59 - 7 = 52 residual df, named in the output
    assert d["inference"]["distribution"] == "t" and d["inference"]["df"] == 52
    assert "Student" in d["inference"]["text_en"]


def _write(tmp_path, rows, sep=";", encoding="cp1252"):
    p = tmp_path / "serie.csv"
    p.write_bytes(("\n".join(sep.join(r) for r in rows) + "\n").encode(encoding))
    return p


def _monthly(n=24, bad_row=None):
    rows = [["mois", "décès", "population"]]
    for i in range(n):
        y, m = 2020 + i // 12, i % 12 + 1
        rows.append([f"01/{m:02d}/{y}", "cinq" if i == bad_row else str(20 + i % 5 + (i >= 12) * 6),
                     "1000,5"])
    return rows


def test_its_french_excel_csv_text_output(tmp_path, capsys):
    p = _write(tmp_path, _monthly())
    code, out, _ = _run(capsys, ["its", str(p), "--date", "mois", "--count", "décès",
                                 "--intervention", "01/01/2021", "--offset", "population",
                                 "--harmonics", "1"])
    assert code == 0, out
    assert "level_change" in out and "slope_change" in out and "IC 95 %" in out
    code, out, _ = _run(capsys, ["its", str(p), "--date", "mois", "--count", "décès",
                                 "--intervention", "2021-01-01", "--json"])
    d = json.loads(out)
    assert [e["term"] for e in d["effects"]][:2] == ["level_change", "slope_change"]
    assert {"family", "n", "dispersion", "effects"} <= set(d)


def test_its_non_numeric_count_names_row_and_column(tmp_path, capsys):
    p = _write(tmp_path, _monthly(bad_row=3))
    code, _, err = _run(capsys, ["its", str(p), "--date", "mois", "--count", "décès",
                                 "--intervention", "2021-01-01", "--lang", "en"])
    assert code == 2
    # data row index 3 is spreadsheet row 5 (header = row 1)
    assert "row 5" in err and "décès" in err and "cinq" in err
    assert "Traceback" not in err


def test_its_too_few_points(tmp_path, capsys):
    p = _write(tmp_path, _monthly())
    code, _, err = _run(capsys, ["its", str(p), "--date", "mois", "--count", "décès",
                                 "--intervention", "01/11/2021"])
    assert code == 2
    assert "22 avant et 2 après" in err and "au moins 3" in err


@pytest.mark.parametrize("when", ["2019-01-01", "2023-06-01"])
def test_its_intervention_outside_series(tmp_path, capsys, when):
    p = _write(tmp_path, _monthly())
    code, _, err = _run(capsys, ["its", str(p), "--date", "mois", "--count", "décès",
                                 "--intervention", when, "--lang", "en"])
    assert code == 2 and "outside the series" in err


def test_its_unknown_column_and_bad_date(tmp_path, capsys):
    p = _write(tmp_path, _monthly())
    code, _, err = _run(capsys, ["its", str(p), "--date", "mois", "--count", "deces",
                                 "--intervention", "2021-01-01"])
    assert code == 2 and "deces" in err and "introuvable" in err
    code, _, err = _run(capsys, ["its", str(p), "--date", "mois", "--count", "décès",
                                 "--intervention", "pas une date"])
    assert code == 2 and "illisible" in err


def test_its_help_explains_each_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["its", "--help", "--lang", "en"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--date", "--count", "--intervention", "--time", "--offset", "--harmonics",
                "--period", "--season-position", "--family", "--no-slope-change", "--json"):
        assert opt in out
    assert "exposure" in out and "sine/cosine" in out


def test_theming_cli_json_and_text(tmp_path, capsys):
    from qsp_eval.simulate import write_simulation

    src = tmp_path / "src"
    write_simulation(src, seed=2021)
    code, out, err = _run(capsys, ["theming", str(src), "--json", "--n-sim", "40",
                                   "--lang", "en"])
    assert code == 0, err
    d = json.loads(out)
    for k in ("its", "themed_vs_plain", "naive", "placebo", "minimal_detectable_rate_ratio",
              "verdict"):
        assert k in d
    truth = json.loads((src / "truth.json").read_text())["theming"]
    tv = d["themed_vs_plain"]["visits"]
    assert tv["n_themed"] == truth["themed_sessions"]
    assert tv["n_plain"] == truth["plain_sessions_after_start"]
    assert d["verdict"]["evidence"] in ("strong", "moderate", "weak", "inconclusive")
    code, out, _ = _run(capsys, ["theming", str(src), "--n-sim", "0", "--start", "2024-02-07",
                                 "--lang", "fr"])
    assert code == 0
    assert "niveau de preuve" in out and "07/02/2024" in out
