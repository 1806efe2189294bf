"""The report window (``qsp-eval report SOURCE --from ... --to ...``, notebook parameters
``window_start`` / ``window_end``) and notebooks that run from any folder.

Expected numbers come from ``data/example/truth.json`` (the figures planted by
``qsp-eval simulate``) or are worked out by hand in a comment, never from the code's output.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from qsp_eval import publish, report
from qsp_eval.errors import ParameterError
from qsp_eval.schema import Change, Event
from qsp_eval.testing import make_dataset

ROOT = Path(__file__).resolve().parents[1]
NBSP = "\u00a0"


def _section(text: str, head: str) -> str:
    """The lines of one ``### head`` section of a write-up."""
    part = text.split(f"### {head}\n", 1)[1]
    return part.split("\n### ", 1)[0]


# ---------------------------------------------------------------------------
# Checking the window (before any notebook runs)
# ---------------------------------------------------------------------------
def _small():
    return make_dataset([{"date": "2022-12-28"}, {"date": "2023-01-04"},
                         {"date": "2023-01-11", "status": "cancelled"}, {"date": "2023-02-01"}])


def test_window_is_checked_against_the_data():
    ds = _small()
    st = publish.check_settings(ds, window_start="2023-01-01", window_end="31/01/2023")
    assert (st.window_start, st.window_end) == (date(2023, 1, 1), date(2023, 1, 31))
    assert st.window == (date(2023, 1, 1), date(2023, 1, 31))
    # an open side is the data's first / last session
    assert publish.check_settings(ds, window_start="2023-01-01").window == (
        date(2023, 1, 1), date(2023, 2, 1))
    assert publish.check_settings(ds).window is None
    with pytest.raises(ParameterError, match="Reversed window"):
        publish.check_settings(ds, window_start="2023-02-01", window_end="2023-01-01")
    with pytest.raises(ParameterError, match="outside the data"):
        publish.check_settings(ds, window_start="2024-01-01")
    with pytest.raises(ParameterError, match="outside the data"):
        publish.check_settings(ds, window_end="2021-12-31")
    with pytest.raises(ParameterError, match="not a date"):
        publish.check_settings(ds, window_start="2023-13-01")
    # inside the data, but only a cancelled session: nothing to report
    with pytest.raises(ParameterError, match="no held session"):
        publish.check_settings(ds, window_start="2023-01-10", window_end="2023-01-20")
    err = pytest.raises(ParameterError, publish.check_settings, ds, window_start="2023-02-01",
                        window_end="2023-01-01").value
    assert "Fenêtre inversée" in err.format("fr") and "01/01/2023" in err.format("fr")


def test_headline_year_is_the_last_full_year_of_the_window():
    def head(a, b):
        return publish.Settings("fr", "year", 0, None, window_start=a, window_end=b,
                                data_start=date(2021, 11, 3),
                                data_end=date(2024, 12, 25)).headline_period

    # 2021 is partial (from November), 2022 and 2023 full -> 2023
    assert head(date(2021, 11, 1), date(2023, 12, 31)) == "2023"
    # ends 30 June 2023: 2023 is not full -> 2022
    assert head(date(2022, 1, 1), date(2023, 6, 30)) == "2022"
    # inside one year, no full year: that year
    assert head(date(2023, 3, 1), date(2023, 9, 30)) == "2023"
    # open end: the data's last year counts as covered
    assert head(date(2022, 1, 1), None) == "2024"
    assert head(None, None) is None


def test_window_dataset_keeps_the_window_only_and_never_mutates():
    from qsp_eval.schema import EvaluationConfig

    days = ["2022-12-28", "2023-01-04", "2023-02-01"]
    cfg = EvaluationConfig(
        launch_date=date(2022, 12, 28), events=(Event(date(2022, 12, 30), "a", "a"),
                                                Event(date(2023, 1, 20), "b", "b")),
        change=Change("theming", date(2023, 6, 1), "T", "T"))
    ds = make_dataset(
        [{"date": d} for d in days],
        visits=[{"date": "2022-12-28", "person_id": "a"}, {"date": "2023-01-04", "person_id": "a"},
                {"date": "2023-02-01", "person_id": "b"}],
        services=[{"date": d, "service": "trod_hiv", "count": n}
                  for d, n in zip(days, [1, 2, 4], strict=True)],
        distributions=[{"month": m, "item": "needle", "quantity": q}
                       for m, q in (("2022-12", 10), ("2023-01", 20), ("2023-02", 40))],
        config=cfg)
    before = {t: getattr(ds, t).copy() for t in ("sessions", "visits", "services",
                                                  "distributions")}
    w = publish.window_dataset(ds, date(2023, 1, 1), date(2023, 2, 15))
    assert list(w.sessions["date"].dt.strftime("%Y-%m-%d")) == ["2023-01-04", "2023-02-01"]
    assert len(w.visits) == 2 and w.services["count"].tolist() == [2, 4]
    # by month: January is inside, February is cut by the window (15th): left out, said
    assert w.distributions["quantity"].tolist() == [20]
    assert any("2023-02" in n for n in w.notices)
    assert [e.label_fr for e in w.config.events] == ["b"]
    assert w.config.change is None  # starts after the window
    assert w.config.launch_date == date(2023, 1, 1)  # sessions expected from the window on
    for t, df in before.items():
        assert getattr(ds, t).equals(df), t
    assert publish.window_dataset(ds, None, None) is ds


# ---------------------------------------------------------------------------
# One year (in process: the analyses of the report on the windowed example)
# ---------------------------------------------------------------------------
def test_one_year_window_reports_that_year_only(example_dir, example_truth, tmp_path):
    from qsp_eval import attendance, material, services, writeup

    pub = publish.setup(str(example_dir), output_dir=str(tmp_path), lang="en",
                        window_start="2023-01-01", window_end="2023-12-31")
    assert pub.headline_period == "2023"
    att = attendance.by_period(pub.data, period="year")
    t23 = example_truth["figures_by_year"]["2023"]
    assert att["period"].tolist() == ["2023"]
    assert att.loc[0, ["sessions_held", "visits"]].tolist() == [t23["sessions_held"],
                                                                  t23["visits"]]
    rt = services.rapid_tests(pub.data, period="year").set_index("service")["count"]
    assert rt.to_dict() == {"trod_hiv": 6, "trod_hcv": 6, "trod_hbv": 2}  # truth: services_exact
    items = material.material_totals(pub.data, period="all")
    assert set(items["period"]) == {"2023"}
    # the theming analysis still gets the whole dataset (its baseline is before 2024)
    assert pub.full_data.sessions["date"].min() < pd.Timestamp("2023-01-01")
    text = writeup.build_writeup({"attendance_by_year": att, "rapid_tests_by_year":
                                  services.rapid_tests(pub.data, period="year")},
                                 config=pub.config, lang="en", period=pub.headline_period,
                                 window=pub._window_info())
    # one year: the single-year sentence, 234 / 43 = 5.44
    assert "In 2023, the drop-in welcomed 234 visits over 43 sessions, that is 5.44" in text
    assert "In 2023, 6 HIV, 6 HCV and 2 HBV rapid tests were done." in text
    assert "from 1 January 2023 to 31 December 2023" in _section(text, "Method and limitations")
    assert "2022" not in _section(text, "Attendance") and "2024" not in _section(text,
                                                                                "Attendance")


# ---------------------------------------------------------------------------
# The command, on the example, with the windows of the issue
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_2022_2023(tmp_path_factory):
    from qsp_eval.cli import main

    if not (ROOT / "data" / "example" / "sessions.csv").is_file():
        pytest.skip("data/example is not generated")
    out = tmp_path_factory.mktemp("w2223") / "report"
    rc = main(["report", str(ROOT / "data" / "example"), "--from", "2022-01-01", "--to",
               "2023-12-31", "--lang", "en", "--out", str(out)])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def run_from_november_2021(tmp_path_factory):
    """The window from 1 November 2021: the attendance and summary notebooks only (what the
    attendance section of the write-up reads); the whole command is run by the slow test."""
    if not (ROOT / "data" / "example" / "sessions.csv").is_file():
        pytest.skip("data/example is not generated")
    out = tmp_path_factory.mktemp("w2123") / "report"
    report.run_report(ROOT / "data" / "example", out, lang="fr",
                      parameters={"window_start": "2021-11-01", "window_end": "2023-12-31"},
                      notebooks=["01-attendance", "05-summary"], scan=False)
    return out


def test_window_material_totals_are_the_records(run_2022_2023, example_truth):
    items = pd.read_csv(run_2022_2023 / "tables" / "material_items.csv")
    got = dict(zip(items["item"], items["count"], strict=True))
    assert got == example_truth["material_totals_2022_2023"]
    # the ten of the record, spelled out
    for item, n in {"straw_booklet": 536, "syringe_1_2ml": 310, "needle": 374,
                    "external_condom": 426, "internal_condom": 128, "lube_sachet": 270,
                    "unmounted_syringe": 60, "pipette": 36, "dental_dam": 37,
                    "sharps_container": 7}.items():
        assert got[item] == n, item
    assert set(items["period"]) == {"2022–2023"}
    cat = pd.read_csv(run_2022_2023 / "tables" / "material_by_category.csv")
    assert dict(zip(cat["category"], cat["count"], strict=True)) == \
        example_truth["material_totals_2022_2023_by_category"]
    by_year = pd.read_csv(run_2022_2023 / "tables" / "material_items_by_year.csv")
    assert sorted(set(by_year["period"].astype(str))) == ["2022", "2023"]
    assert by_year.groupby("item")["count"].sum().to_dict() == got


def test_window_services_per_year_and_over_the_window(run_2022_2023, example_truth):
    truth = example_truth["services_by_year"]
    dc = pd.read_csv(run_2022_2023 / "tables" / "drug_checking.csv").set_index("route")
    assert dc.loc["on_site", "count"] == 15 and dc.loc["national_network", "count"] == 6
    dy = pd.read_csv(run_2022_2023 / "tables" / "drug_checking_by_year.csv", dtype={"period": str})
    on = dy.loc[dy["route"] == "on_site"].set_index("period")["count"].to_dict()
    assert on == {"2022": truth["sample_ccm"]["2022"], "2023": truth["sample_ccm"]["2023"]}
    tot = pd.read_csv(run_2022_2023 / "tables" / "services_total.csv").set_index("service")
    assert set(tot["period"]) == {"2022–2023"}
    for code in ("trod_hiv", "trod_hcv", "psy_on_call", "referral"):
        # a service never recorded in a year is absent from truth.json: 0
        expected = sum(truth[code].get(y, 0) for y in ("2022", "2023"))
        assert tot.loc[code, "count"] == expected, code
    rt = pd.read_csv(run_2022_2023 / "tables" / "rapid_tests_by_year.csv", dtype={"period": str})
    assert sorted(set(rt["period"])) == ["2022", "2023"]
    att = pd.read_csv(run_2022_2023 / "tables" / "attendance_by_year.csv", dtype={"period": str})
    assert att["period"].tolist() == ["2022", "2023"]


def test_window_english_writeup(run_2022_2023):
    text = (run_2022_2023 / "writeup.en.md").read_text(encoding="utf-8")
    dc = _section(text, "Drug checking")
    assert ("In 2022 and 2023, 15 samples were analysed on site by thin-layer chromatography "
            "(TLC) and 6 sent to the national SINTES network.") in dc
    assert "In 2023, 6 HIV, 6 HCV and 2 HBV rapid tests were done" in _section(
        text, "Services and screening")
    att = _section(text, "Attendance")
    assert "2024" not in att and "5.44 in 2023" in att and "3.11 people per session in 2022" in att
    mat = _section(text, "Material handed out")
    assert "- Straw booklet: 536" in mat and "- Sharps container: 7" in mat
    method = _section(text, "Method and limitations")
    assert "from 1 January 2022 to 31 December 2023" in method
    # the window ends before theming starts (10 January 2024): the section says so
    assert "ends before the change under evaluation starts (10 January 2024)" in _section(
        text, "Themed sessions")


def test_window_is_stated_on_the_first_page_and_in_the_manifest(run_2022_2023):
    man = json.loads((run_2022_2023 / "manifest.json").read_text(encoding="utf-8"))
    assert man["window"]["start"] == "2022-01-01" and man["window"]["end"] == "2023-12-31"
    assert man["parameters"]["window_start"] == "2022-01-01"
    page = (run_2022_2023 / "report.html").read_text(encoding="utf-8")
    assert "Window from 2022-01-01 to 2023-12-31 (data from 2021-11-03" in page
    # theming section and summary: the window precedes the change
    assert "the window precedes the change" in page
    assert "ends before the change under evaluation starts (2024-01-10)" in page
    kf = pd.read_csv(run_2022_2023 / "tables" / "key_figures.csv", dtype=str)
    visits = kf.set_index("key").loc["visits"]
    # headline 2023 (last full year of the window): 234 visits, +91 against 143 in 2022
    assert visits["period"] == "2023" and visits["value"] == "234"
    assert visits["change"] == "+91 vs 2022"
    # the key figures describe the window: no theming figure for a window before the change
    assert not kf["key"].str.startswith("theming_").any()


def test_window_from_november_2021_french_writeup(run_from_november_2021, example_truth):
    text = (run_from_november_2021 / "writeup.fr.md").read_text(encoding="utf-8")
    att = _section(text, "Fréquentation")
    # truth.json: 2021 22 visits / 8 sessions = 2.75; 2023 234 / 43 = 5.4419 -> "5,44"
    assert example_truth["figures_by_year"]["2021"]["mean_visits_per_held_session"] == 2.75
    assert "de 2,75 personnes par permanence en 2021" in att
    assert "à 5,44 en 2023" in att
    assert "En 2023, la permanence a accueilli 234 passages lors de 43 permanences." in att
    assert "2024" not in att
    kf = pd.read_csv(run_from_november_2021 / "tables" / "key_figures.csv", dtype=str)
    visits = kf.set_index("key").loc["visits"]
    # 234 - 143 = +91 against 2022; 234 - 22 = +212 against the first year
    assert visits["change"] == "+91 par rapport à 2022, +212 par rapport à 2021"
    man = json.loads((run_from_november_2021 / "manifest.json").read_text(encoding="utf-8"))
    assert man["window"]["start"] == "2021-11-01"


@pytest.mark.slow
def test_whole_command_from_november_2021(tmp_path):
    """``qsp-eval report data/example --from 2021-11-01 --to 2023-12-31``, every notebook."""
    from qsp_eval.cli import main

    out = tmp_path / "report"
    assert main(["report", str(ROOT / "data" / "example"), "--from", "2021-11-01", "--to",
                 "2023-12-31", "--out", str(out)]) == 0
    text = (out / "writeup.fr.md").read_text(encoding="utf-8")
    att = _section(text, "Fréquentation")
    assert "de 2,75 personnes par permanence en 2021" in att and "à 5,44 en 2023" in att
    assert "234 passages lors de 43 permanences" in att and "2024" not in att
    # the profile comparison with 2021 (1 trans, agender or non-binary person of 10,
    # truth.json) is suppressed: said in words
    prof = _section(text, "Publics accueillis")
    assert "effectif trop petit pour être publié en 2021" in prof
    assert f"<{NBSP}5 personnes en 2021" not in prof


@pytest.mark.slow
def test_whole_command_one_year(tmp_path):
    from qsp_eval.cli import main

    out = tmp_path / "report"
    assert main(["report", str(ROOT / "data" / "example"), "--from", "2023-01-01", "--to",
                 "2023-12-31", "--lang", "en", "--out", str(out)]) == 0
    text = (out / "writeup.en.md").read_text(encoding="utf-8")
    assert "In 2023, the drop-in welcomed 234 visits over 43 sessions" in text
    assert "In 2023, 6 HIV, 6 HCV and 2 HBV rapid tests were done." in text




def test_reversed_window_exits_2_before_any_notebook(tmp_path, capsys, example_dir):
    from qsp_eval.cli import main

    out = tmp_path / "out"
    rc = main(["report", str(example_dir), "--from", "2023-12-31", "--to", "2022-01-01",
               "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "2022" in err and ("inversée" in err or "Reversed" in err)
    assert not out.exists()
    assert main(["report", str(example_dir), "--from", "2030-01-01", "--out", str(out)]) == 2
    assert not out.exists()


# ---------------------------------------------------------------------------
# Notebooks run from anywhere
# ---------------------------------------------------------------------------
def test_default_paths_resolve_against_the_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = publish.resolve_path(publish.DEFAULT_SOURCE, default=publish.DEFAULT_SOURCE,
                               must_exist=True)
    assert src == ROOT / "data" / "example"
    out = publish.resolve_path(publish.DEFAULT_OUTPUT_DIR, default=publish.DEFAULT_OUTPUT_DIR,
                               must_exist=False)
    assert out == ROOT / "outputs" / "notebooks"
    # any other relative path is the shell's, as for every command
    assert publish.resolve_path("mine", default=publish.DEFAULT_OUTPUT_DIR,
                                must_exist=False) == tmp_path / "mine"
    monkeypatch.chdir(ROOT)
    assert publish.resolve_path("data/example", default=publish.DEFAULT_SOURCE,
                                must_exist=True) == ROOT / "data" / "example"


def test_notebook_defaults_are_the_publish_defaults():
    spec = report.declared_parameters(report.notebook_paths())
    assert spec["source"].default.strip("'\"") == publish.DEFAULT_SOURCE
    assert spec["output_dir"].default.strip("'\"") == publish.DEFAULT_OUTPUT_DIR


def test_missing_source_speaks_the_notebooks_language(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError) as e:
        publish.setup("nulle_part", output_dir=str(tmp_path), lang="fr")
    assert str(e.value).startswith("Source introuvable : « nulle_part »")
    with pytest.raises(ParameterError) as e:
        publish.setup("nowhere", output_dir=str(tmp_path), lang="en")
    assert str(e.value).startswith("Source not found: 'nowhere'")
    with pytest.raises(ParameterError) as e:
        publish.setup(str(ROOT / "data" / "example"), output_dir=str(tmp_path), lang="fr",
                      window_start="2023-12-31", window_end="2022-01-01")
    assert str(e.value).startswith("Fenêtre inversée")


@pytest.fixture(scope="module")
def from_root(tmp_path_factory):
    """Each notebook run with papermill from the repository root, default parameters
    (the tables go to a temporary folder instead of the project's outputs/notebooks, which
    test_default_paths_resolve_against_the_project checks)."""
    import papermill

    if not (ROOT / "data" / "example" / "sessions.csv").is_file():
        pytest.skip("data/example is not generated")
    report._register_engine()
    base = tmp_path_factory.mktemp("from_root")
    tables = base / "published"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for name in report.NOTEBOOKS:
            papermill.execute_notebook(
                f"notebooks/{name}.ipynb", str(base / f"{name}.ipynb"),
                parameters={"output_dir": str(tables)}, engine_name=report.ENGINE_NAME,
                kernel_name=report.KERNEL_NAME, language="python", progress_bar=False,
                log_output=False, request_save_on_cell_execute=False)
    finally:
        os.chdir(cwd)
    return base, tables


def test_papermill_from_the_repository_root_with_default_parameters(from_root, example_truth):
    base, tables = from_root
    att = pd.read_csv(tables / "tables" / "attendance_by_year.csv", dtype={"period": str})
    # the default source is the project's example: its four years, 2023 as planted
    assert att["period"].tolist() == ["2021", "2022", "2023", "2024"]
    assert att.set_index("period").loc["2023", "visits"] == example_truth["figures_2023"]["visits"]
    assert (tables / "writeup.fr.md").is_file()
    for name in report.NOTEBOOKS:
        nb = json.loads((base / f"{name}.ipynb").read_text(encoding="utf-8"))
        errors = [o for c in nb["cells"] for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, name
    # without a window the write-up leads with the last year, as before
    text = (tables / "writeup.fr.md").read_text(encoding="utf-8")
    assert re.search(r"En 2024, la permanence a accueilli \d+ passages", text)
