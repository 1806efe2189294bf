"""Tests of qsp_eval.report (the papermill engine, parameters, HTML, atomic output) and publish.

Small notebooks are built here by hand, so each expectation is read off the
notebook written in the test (which cell fails, which parameter exists...).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval import publish, report
from qsp_eval.errors import ParameterError

PARAMS = (
    'source: str = "../data/example"  # data\n'
    'output_dir: str = "../outputs/x"  # where\n'
    'lang: str = "fr"  # language\n'
    "period: str = \"year\"  # period\n"
    "min_cell: int = 0  # threshold\n"
    "ratio: float = 1.5  # a float\n"
    "flag: bool = False  # a flag"
)


def _nb(path: Path, cells: list, params: str = PARAMS) -> Path:
    """Write a notebook: a French and an English Markdown cell, the parameters, ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    fr = nbformat.v4.new_markdown_cell("# Titre français\n\nTexte <script>alert(1)</script>")
    fr.metadata["tags"] = ["lang-fr"]
    en = nbformat.v4.new_markdown_cell("# English title\n\nText")
    en.metadata["tags"] = ["lang-en"]
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [fr, en, p] + [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c
                              for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
def test_parse_parameter_args():
    assert report.parse_parameter_args(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ParameterError):
        report.parse_parameter_args(["novalue"])
    with pytest.raises(ParameterError):
        report.parse_parameter_args(["a=1", "a=2"])


def test_declared_parameters_read_from_the_parameters_cell(tmp_path):
    path = _nb(tmp_path / "a.ipynb", ["x = 1"])
    spec = report.declared_parameters([path])
    # the cell above declares exactly these seven names
    assert set(spec) == {"source", "output_dir", "lang", "period", "min_cell", "ratio", "flag"}
    assert spec["min_cell"].type_name == "int"
    assert spec["ratio"].type_name == "float"
    assert spec["flag"].type_name == "bool"
    assert spec["lang"].help == "language"
    assert spec["lang"].notebooks == ("a",)


def test_check_parameters_converts_and_refuses(tmp_path):
    spec = report.declared_parameters([_nb(tmp_path / "a.ipynb", ["x = 1"])])
    out = report.check_parameters({"min_cell": "10", "ratio": "2,5", "flag": "oui",
                                   "period": "quarter"}, spec)
    assert out == {"min_cell": 10, "ratio": 2.5, "flag": True, "period": "quarter"}
    with pytest.raises(ParameterError) as e:
        report.check_parameters({"min_cel": "10"}, spec)
    assert "min_cel" in e.value.format("en") and "min_cell" in e.value.format("en")
    with pytest.raises(ParameterError) as e:
        report.check_parameters({"min_cell": "ten"}, spec)
    assert "int" in e.value.format("en")
    with pytest.raises(ParameterError):
        report.check_parameters({"flag": "maybe"}, spec)
    with pytest.raises(ParameterError):  # set by the command itself
        report.check_parameters({"output_dir": "/tmp/x"}, spec)


@given(st.integers(min_value=-10**9, max_value=10**9))
@settings(max_examples=50, deadline=None)
def test_int_parameters_round_trip(n):
    spec = {"k": report.ParameterSpec("k", "int", "0", "", ("x",))}
    assert report.check_parameters({"k": str(n)}, spec) == {"k": n}


# ---------------------------------------------------------------------------
# The in-process engine
# ---------------------------------------------------------------------------
def test_run_notebooks_injects_parameters_and_captures_outputs(tmp_path):
    path = _nb(tmp_path / "nb" / "a.ipynb", [
        'print("min", min_cell)',
        "from IPython.display import display\n"
        'display({"text/html": "<b>t</b>", "text/plain": "t"}, raw=True, '
        'metadata={"qsp_eval": {"kind": "table"}})',
        "min_cell * 2",
    ])
    lines = []
    [nb] = report.run_notebooks([path], tmp_path / "out", {"min_cell": 21, "unknown_here": 1},
                                progress=lines.append)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # cells: parameters, injected parameters, print, display, expression
    assert "injected-parameters" in code[1].metadata["tags"]
    assert code[2].outputs[0]["text"] == "min 21\n"
    assert code[3].outputs[0]["metadata"]["qsp_eval"] == {"kind": "table"}
    assert code[4].outputs[0]["data"]["text/plain"] == "42"  # 21 * 2
    assert [c.execution_count for c in code] == [1, 2, 3, 4, 5]
    assert (tmp_path / "out" / "a.ipynb").exists()
    assert any("a" in s for s in lines)


def test_notebooks_do_not_share_their_namespace(tmp_path):
    a = _nb(tmp_path / "nb" / "a.ipynb", ["leak = 1"])
    b = _nb(tmp_path / "nb" / "b.ipynb", ["leak"])
    with pytest.raises(report.NotebookFailed) as e:
        report.run_notebooks([a, b], tmp_path / "out", {})
    assert e.value.notebook == "b.ipynb"
    assert "NameError" in e.value.format("en")


def test_failure_names_notebook_cell_and_error(tmp_path):
    path = _nb(tmp_path / "nb" / "bad.ipynb", ["x = 1", "y = x + 1", "raise ValueError('boom')",
                                              "z = 3"])
    with pytest.raises(report.NotebookFailed) as e:
        report.run_notebooks([path], tmp_path / "out", {"min_cell": 3})
    err = e.value
    # code cells of the source: 1 parameters, 2 "x = 1", 3 "y = x + 1", 4 the raise
    assert err.notebook == "bad.ipynb"
    assert err.cell == 4
    msg = err.format("en")
    assert "bad.ipynb" in msg and "cell 4" in msg and "ValueError: boom" in msg
    assert "raise ValueError" in msg
    assert "cellule de code n° 4" in err.format("fr")


def test_qsp_errors_in_a_cell_keep_their_message(tmp_path):
    path = _nb(tmp_path / "nb" / "q.ipynb", [
        "from qsp_eval.errors import ParameterError\n"
        "raise ParameterError('message français', 'English message')"])
    with pytest.raises(report.NotebookFailed) as e:
        report.run_notebooks([path], tmp_path / "out", {})
    assert "English message" in e.value.format("en")
    assert "message français" in e.value.format("fr")


def test_per_cell_timeout(tmp_path):
    path = _nb(tmp_path / "nb" / "slow.ipynb", ["import time\ntime.sleep(20)"])
    with pytest.raises(report.NotebookFailed) as e:
        report.run_notebooks([path], tmp_path / "out", {}, timeout=0.3)
    assert e.value.cell == 2
    assert "timed out" in e.value.format("en")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
def _executed(tmp_path):
    cell_fig = ("from IPython.display import display\n"
                'display({"image/png": "iVBORw0KGgo=", "text/plain": "fig"}, raw=True, '
                'metadata={"qsp_eval": {"kind": "figure", "name": "f", "title": "Une figure"}})')
    cell_tab = ("from IPython.display import display\n"
                'display({"text/html": "<table class=\\"qsp-table\\"><tr><td>7</td></tr></table>",'
                ' "text/plain": "t"}, raw=True, metadata={"qsp_eval": {"kind": "table"}})')
    cell_stray = ('print("STRAY PRINT")\n'
                  'from IPython.display import display\n'
                  'display({"text/html": "<i>STRAY HTML</i>"}, raw=True)')
    path = _nb(tmp_path / "nb" / "h.ipynb", [cell_fig, cell_tab, cell_stray])
    return report.run_notebooks([path], tmp_path / "out", {})[0]


def test_html_has_no_code_no_script_and_only_published_outputs(tmp_path):
    nb = _executed(tmp_path)
    page = report.build_html([("h", nb)], lang="fr", title="Rapport", subtitle="sous-titre")
    assert "<script" not in page.lower()
    for cell in nb.cells:  # no line of any code cell appears
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                if line.strip():
                    assert line.strip() not in page
    assert "STRAY" not in page
    assert "data:image/png;base64,iVBORw0KGgo=" in page
    assert "<figcaption>Une figure</figcaption>" in page
    assert "<td>7</td>" in page
    assert "Titre français" in page and "English title" not in page
    assert '<nav class="toc"' in page and 'href="#titre-francais"' in page
    assert "@media print" in page
    en = report.build_html([("h", nb)], lang="en", title="Report")
    assert "English title" in en and "Titre français" not in en
    assert '<html lang="en">' in en


def test_html_prefers_the_svg_file(tmp_path):
    nb = _executed(tmp_path)
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "f.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    page = report.build_html([("h", nb)], figures_dir=figs)
    assert "data:image/svg+xml;base64," in page
    assert "data:image/png" not in page


# ---------------------------------------------------------------------------
# publish helpers
# ---------------------------------------------------------------------------
def test_table_html_labels_and_suppressed_cells():
    import pandas as pd

    df = pd.DataFrame({"period": ["2023", "2023"], "field": ["gender", "gender"],
                       "group": ["non_binary", "cis_man"], "count": [pd.NA, 20],
                       "share": [pd.NA, 0.625], "suppressed": [True, False],
                       "count_display": ["<\u00a05", "20"]})
    page = publish.table_html(df, lang="fr", person=True)
    assert "Non-binaire" in page and "Homme cis" in page  # schema labels
    assert "&lt;\u00a05" in page  # what disclosure says to print
    assert "62,5 %" in page  # 0.625 as a French percentage
    assert "suppressed" not in page and "count_display" not in page
    assert 'class="qsp-table qsp-person"' in page
    en = publish.table_html(df, lang="en")
    assert "Non-binary" in en and "62.5%" in en


def test_tidy_for_publication_rounds_and_drops_empty_free_text():
    import pandas as pd

    df = pd.DataFrame({"x": [1 / 3], "note": [None], "n": [3]})
    out = publish._tidy_for_publication(df)
    assert list(out.columns) == ["x", "n"]
    assert out.loc[0, "x"] == 0.333333  # 1/3 to 6 significant digits


def test_check_settings_values(tmp_path):
    from qsp_eval.testing import make_dataset

    ds = make_dataset(sessions=[{"date": "2023-01-04"}])
    s = publish.check_settings(ds, theming_start="2024-01-10", disclosure_preset="strict",
                               min_cell=12)
    assert s.config.change.start == date(2024, 1, 10)
    assert s.config.disclosure["preset"] == "strict"
    assert s.rules.min_cell == 12
    for bad in ({"lang": "de"}, {"period": "week"}, {"theming_start": "10 janvier"},
                {"disclosure_preset": "lax"}, {"min_cell": -1}):
        with pytest.raises(ParameterError):
            publish.check_settings(ds, **bad)


# ---------------------------------------------------------------------------
# run_report: atomic output, checks before running
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_source(tmp_path_factory):
    from qsp_eval.simulate import write_simulation

    d = tmp_path_factory.mktemp("src") / "data"
    write_simulation(d, seed=7, start=date(2023, 1, 4), end=date(2023, 12, 27),
                     theming_start=date(2023, 9, 6), year_totals={})
    return d


GOOD = [
    "from qsp_eval import publish, attendance",
    "pub = publish.setup(source, output_dir=output_dir, lang=lang, period=period, "
    "min_cell=min_cell)",
    'by_year = pub.table(attendance.by_period(pub.data, period="year"), "attendance_by_year")',
]


def _folder(tmp_path, fail=False):
    folder = tmp_path / "notebooks"
    _nb(folder / "n1.ipynb", GOOD)
    _nb(folder / "n2.ipynb", GOOD[:2] + (["1/0"] if fail else ["x = 1"]))
    return folder


def _tree(path: Path) -> dict:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def test_run_report_writes_folder_and_manifest(tmp_path, small_source):
    folder = _folder(tmp_path)
    before = _tree(small_source)
    out = tmp_path / "out"
    res = report.run_report(small_source, out, notebooks=["n1", "n2"], notebook_folder=folder,
                            scan=False, parameters={"min_cell": "6"})
    assert _tree(small_source) == before  # input never touched
    for rel in ("report.html", "manifest.json", "notebooks/n1.ipynb", "notebooks/n2.ipynb",
                "tables/attendance_by_year.csv", "tables/tables.xlsx"):
        assert (out / rel).is_file(), rel
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["parameters"]["min_cell"] == 6
    assert man["parameters"]["source"] == "data"
    assert man["data_checksum"] and len(man["data_checksum"]) == 64
    assert man["versions"]["pandas"]
    listed = {f["path"]: f for f in man["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"manifest.json"}
    import hashlib

    for rel, f in listed.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == f["sha256"]
    assert res.out_dir == out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_failed_run_keeps_previous_output_and_leaves_nothing(tmp_path, small_source):
    out = tmp_path / "out"
    report.run_report(small_source, out, notebooks=["n1", "n2"],
                      notebook_folder=_folder(tmp_path), scan=False)
    previous = _tree(out)
    bad = tmp_path / "bad"
    bad.mkdir()
    folder = _folder(bad, fail=True)
    with pytest.raises(report.NotebookFailed) as e:
        report.run_report(small_source, out, notebooks=["n1", "n2"], notebook_folder=folder,
                          scan=False)
    assert e.value.notebook == "n2.ipynb" and e.value.cell == 4
    assert _tree(out) == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "notebooks", "out"]
    fresh = tmp_path / "fresh"
    with pytest.raises(report.NotebookFailed):
        report.run_report(small_source, fresh, notebooks=["n1", "n2"], notebook_folder=folder,
                          scan=False)
    assert not fresh.exists()


def test_checks_happen_before_any_notebook_runs(tmp_path, small_source):
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    for params in ({"min_cel": "5"}, {"min_cell": "five"}, {"period": "week"}):
        with pytest.raises(ParameterError):
            report.run_report(small_source, out, notebooks=["n1"], notebook_folder=folder,
                              parameters=params, scan=False)
    with pytest.raises(ParameterError):
        report.run_report(small_source, small_source / "out", notebooks=["n1"],
                          notebook_folder=folder, scan=False)
    other = tmp_path / "not_a_report"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(ParameterError):
        report.run_report(small_source, other, notebooks=["n1"], notebook_folder=folder,
                          scan=False)
    assert (other / "precious.txt").read_text() == "keep me"
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["not_a_report", "notebooks"]


def test_cli_unknown_parameter_exits_2(tmp_path, small_source, capsys):
    from qsp_eval.cli import main

    rc = main(["report", str(small_source), "--out", str(tmp_path / "o"), "-p", "nope=1",
               "--lang", "en"])
    assert rc == 2
    assert "Unknown parameter: 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Background writer (figures, .docx, workbook) and prefetched analyses
# ---------------------------------------------------------------------------
def test_figure_saver_writes_picklable_and_refuses_unpicklable(tmp_path):
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([1, 2, 3], [2, 1, 3])
    bad = Figure(figsize=(3, 2))
    ax = bad.add_subplot()
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, p: f"{v:.0f}"))  # not picklable
    saver = publish.FigureSaver()
    try:
        assert saver.submit(fig, tmp_path / "ok") is True
        assert saver.submit(bad, tmp_path / "bad") is False
        saver.wait()
    finally:
        saver.close()
    assert (tmp_path / "ok.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "ok.svg").read_text().lstrip().startswith("<?xml")
    assert not (tmp_path / "bad.png").exists()


def test_svg_is_the_same_on_every_save(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    fig.add_subplot().bar(["a", "b"], [1, 2])
    publish.save_figure(fig, tmp_path / "a")
    publish.save_figure(fig, tmp_path / "b")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def _double_sessions(dataset, *, factor=2):
    return factor * len(dataset.sessions)


def test_prefetched_result_is_used_by_run(tmp_path):
    from qsp_eval.testing import make_dataset

    ds = make_dataset(sessions=[{"date": "2023-01-04"}, {"date": "2023-01-11"}])
    settings = publish.check_settings(ds)
    pub = publish.Publisher(ds, settings, tmp_path)
    saver = publish.FigureSaver()
    try:
        publish.prefetch(saver, ds, settings, _double_sessions, factor=3)
        assert pub.run(_double_sessions, factor=3) == 6  # 3 x 2 sessions, from the worker
        assert pub.run(_double_sessions, factor=5) == 10  # not prefetched: computed here
    finally:
        saver.close()
        publish._MEMO.clear()


def test_kernel_engine_runs_without_an_installed_kernel_name(tmp_path):
    path = _nb(tmp_path / "nb" / "k.ipynb", ['print("k", min_cell)', "1/0"])
    with pytest.raises(report.NotebookFailed) as e:
        report.run_notebooks([path], tmp_path / "out", {"min_cell": 4}, engine="kernel")
    # code cells: 1 parameters, 2 print, 3 the division
    assert e.value.cell == 3 and "ZeroDivisionError" in e.value.format("en")
    nb = nbformat.read(str(tmp_path / "out" / "k.ipynb"), as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert "k 4\n" in texts


def test_no_change_date_is_not_refused(tmp_path, small_source):
    """A programme that has not themed yet (no change.start) still gets its report (issue 11):
    the theming section says it in words; the run itself must not refuse it."""
    import shutil

    import yaml

    src = tmp_path / "nochange"
    shutil.copytree(small_source, src)
    cfg = yaml.safe_load((src / "evaluation.yml").read_text(encoding="utf-8"))
    cfg.pop("change", None)
    (src / "evaluation.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    folder = tmp_path / "notebooks"
    _nb(folder / "03-theming.ipynb", ["x = 1"])
    res = report.run_report(src, tmp_path / "out", notebooks=["03-theming"],
                            notebook_folder=folder, scan=False)
    assert (res.out_dir / "report.html").is_file()
    ds = publish.load_dataset(str(src))
    assert publish.check_settings(ds).config.change is None


# ---------------------------------------------------------------------------
# The output folder is the user's (issue 11)
# ---------------------------------------------------------------------------
EXTRA = GOOD[:2] + ['pub.table(attendance.by_period(pub.data, period="quarter"), "extra_table")']


def _user_files(out: Path) -> dict:
    files = {
        "mes_notes.txt": b"mes notes\n",
        "writeup.fr.annote.docx": b"PK edited by the coordinator",  # not in the manifest
        "tables/mon_tableau.csv": b"a,b\n1,2\n",  # inside a folder qsp-eval writes
        "brouillons/idee.md": b"# idee\n",  # a folder of the user's
    }
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    (out / "vide").mkdir()  # an empty folder of the user's
    return files


def test_second_run_keeps_the_users_files_and_says_so(tmp_path, small_source):
    folder = _folder(tmp_path)
    _nb(folder / "n3.ipynb", EXTRA)
    out = tmp_path / "out"
    report.run_report(small_source, out, notebooks=["n1", "n2", "n3"], notebook_folder=folder,
                      scan=False)
    first = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "tables/extra_table.csv" in {f["path"] for f in first["files"]}
    user = _user_files(out)
    lines = []
    res = report.run_report(small_source, out, notebooks=["n1", "n2"], notebook_folder=folder,
                            scan=False, progress=lines.append)
    for rel, data in user.items():
        assert (out / rel).read_bytes() == data, rel
    assert (out / "vide").is_dir()
    assert sorted(res.kept) == sorted(["brouillons", "mes_notes.txt", "tables/mon_tableau.csv",
                                       "vide", "writeup.fr.annote.docx"])
    # the previous report's own files: replaced, or removed when no longer written
    assert res.removed == ["notebooks/n3.ipynb", "tables/extra_table.csv"]
    assert not (out / "tables/extra_table.csv").exists()
    assert "report.html" in res.replaced and "tables/attendance_by_year.csv" in res.replaced
    # the new manifest lists only qsp-eval's files, so a third run keeps the user's files too
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert not {f["path"] for f in man["files"]} & set(user)
    # the report's last lines: counts only (file names are not published)
    html = (out / "report.html").read_text(encoding="utf-8")
    tail = html[html.index('<footer'):]
    n_prev = len(first["files"]) + 1  # its files and its manifest
    assert f"ses {n_prev} fichiers" in tail and "5 élément(s)" in tail
    assert "mes_notes" not in html
    # the terminal names them
    said = "\n".join(lines)
    assert "mes_notes.txt" in said and "tables/extra_table.csv" in said
    res3 = report.run_report(small_source, out, notebooks=["n1"], notebook_folder=folder,
                             scan=False)
    assert all((out / rel).read_bytes() == data for rel, data in user.items())
    assert "notebooks/n2.ipynb" in res3.removed


def test_failed_run_keeps_the_users_files(tmp_path, small_source):
    out = tmp_path / "out"
    report.run_report(small_source, out, notebooks=["n1", "n2"],
                      notebook_folder=_folder(tmp_path), scan=False)
    user = _user_files(out)
    previous = _tree(out)
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(report.NotebookFailed):
        report.run_report(small_source, out, notebooks=["n1", "n2"],
                          notebook_folder=_folder(bad, fail=True), scan=False)
    assert _tree(out) == previous
    assert all((out / rel).read_bytes() == data for rel, data in user.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "notebooks", "out"]


def test_a_failing_swap_puts_everything_back(tmp_path, small_source, monkeypatch):
    out = tmp_path / "out"
    folder = _folder(tmp_path)
    report.run_report(small_source, out, notebooks=["n1"], notebook_folder=folder, scan=False)
    user = _user_files(out)
    previous = _tree(out)
    real = os.replace

    def failing(src, dst):
        if Path(dst) == out and str(src).endswith(".tmp"):  # the new folder into place
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(report.os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        report.run_report(small_source, out, notebooks=["n1"], notebook_folder=folder,
                          scan=False)
    monkeypatch.undo()
    assert _tree(out) == previous
    assert all((out / rel).read_bytes() == data for rel, data in user.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "out"]


def test_edited_report_file_or_clash_is_refused_and_nothing_changes(tmp_path, small_source):
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    report.run_report(small_source, out, notebooks=["n2"], notebook_folder=folder, scan=False)
    # a file of the previous report edited by the user is not overwritten
    (out / "report.html").write_text("<p>mes corrections</p>", encoding="utf-8")
    before = _tree(out)
    with pytest.raises(ParameterError) as e:
        report.run_report(small_source, out, notebooks=["n2"], notebook_folder=folder,
                          scan=False)
    assert "report.html" in e.value.format("en") and "changed" in e.value.format("en")
    assert _tree(out) == before
    # a file of the user's where the new report must write: refused at the end, nothing moved
    report.run_report(small_source, tmp_path / "out2", notebooks=["n2"],
                      notebook_folder=folder, scan=False)
    out2 = tmp_path / "out2"
    (out2 / "tables").mkdir(exist_ok=True)
    (out2 / "tables" / "attendance_by_year.csv").write_text("mine\n", encoding="utf-8")
    before = _tree(out2)
    with pytest.raises(ParameterError) as e:
        report.run_report(small_source, out2, notebooks=["n1"], notebook_folder=folder,
                          scan=False)
    assert "tables/attendance_by_year.csv" in e.value.format("fr")
    assert _tree(out2) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "out", "out2"]


def test_folder_without_manifest_or_with_another_manifest_exits_2(tmp_path, small_source,
                                                                  capsys):
    from qsp_eval.cli import main

    other = tmp_path / "mes_documents"
    other.mkdir()
    (other / "mes_notes.txt").write_text("keep me", encoding="utf-8")
    rc = main(["report", str(small_source), "--out", str(other), "--lang", "en"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "is not a qsp-eval report" in err and "Nothing was written" in err
    (other / "manifest.json").write_text('{"tool": "something else", "files": []}',
                                         encoding="utf-8")
    rc = main(["report", str(small_source), "--out", str(other)])
    assert rc == 2
    assert sorted(os.listdir(other)) == ["manifest.json", "mes_notes.txt"]
    assert (other / "mes_notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["mes_documents"]


def test_empty_folder_is_used(tmp_path, small_source):
    out = tmp_path / "empty"
    out.mkdir()
    res = report.run_report(small_source, out, notebooks=["n1"],
                            notebook_folder=_folder(tmp_path), scan=False)
    assert (out / "report.html").is_file() and res.kept == [] and res.replaced == []


def test_tidy_for_publication_never_publishes_an_absurd_estimate():
    """Issue 11: 5.7e13 as an interval bound is a degenerate fit, not a number to print;
    a count of the same size is kept (made-up values, read off by eye)."""
    import pandas as pd

    df = pd.DataFrame({"rate_ratio": [27449.8, 1.2], "ci_high": [5.7e13, float("inf")],
                       "ci_low": [-2e6, 0.5], "quantity": [2e6, 3.0]})
    out = publish._tidy_for_publication(df)
    assert out["rate_ratio"].tolist() == [27449.8, 1.2]
    assert out["ci_high"].isna().tolist() == [True, True]
    assert out["ci_low"].isna().tolist() == [True, False]
    assert out["quantity"].tolist() == [2e6, 3.0]


def test_newcomers_of_a_small_year_are_not_published(tmp_path):
    """5 newcomers in 2024 (< small_group 20): whatever is hidden in their table, the whole
    public's cells minus the returning people bound each of their cells (e.g. 32 of the 34
    people of 2024 do not inject, 29 returned: 3 to 5 of the 5 newcomers do not inject).
    The year is not published; 2023 (30 newcomers) is, and a sentence says why."""
    import pandas as pd

    from qsp_eval.testing import make_dataset

    ds = make_dataset(sessions=[{"date": "2023-01-04"}, {"date": "2023-01-11"}])
    pub = publish.Publisher(ds, publish.check_settings(ds), tmp_path)
    df = pd.DataFrame({"period": ["2023", "2023", "2024", "2024"], "field": "injects",
                       "level": "detail", "group": ["yes", "no", "yes", "no"],
                       "unit": "people", "count": [6, 24, 0, 5], "denominator": [30, 30, 5, 5],
                       "population": "newcomers"})
    out = pub._withhold_small_sub_populations(df, "profiles_newcomers")
    assert out["period"].tolist() == ["2023", "2023"]
    assert pub.withheld_periods == {"profiles_newcomers": ["2024"]}
    assert len(df) == 4  # input untouched


def test_a_block_whose_total_must_be_hidden_is_not_published(tmp_path):
    """Strict preset (t = 11): 13 people in 2021, chemsex "yes" 6, "no" 7, "not stated" 0
    (0 visits too: a 0 a reader knows, no use as a secondary cell). Both are under 11, so
    protect_table hides the denominator too; but 13 is the year's distinct people, published
    in attendance_by_year: yes + no = 13, each under 11, gives each 3 to 10 (0 excluded, 8
    values < 11). The block is dropped, 2022 (60 people) is kept."""
    import pandas as pd

    from qsp_eval.testing import make_dataset

    ds = make_dataset(sessions=[{"date": "2023-01-04"}, {"date": "2023-01-11"}])
    pub = publish.Publisher(ds, publish.check_settings(ds, disclosure_preset="strict"),
                            tmp_path)
    df = pd.DataFrame({"period": ["2021"] * 6 + ["2022"] * 6, "field": "chemsex",
                       "level": "detail", "group": ["yes", "no", "unknown"] * 4,
                       "unit": (["people"] * 3 + ["visits"] * 3) * 2,
                       "count": [6, 7, 0, 10, 12, 0, 25, 35, 0, 50, 70, 0],
                       "denominator": [13] * 3 + [22] * 3 + [60] * 3 + [120] * 3})
    out = pub.table(df, "profiles_by_year", kind="person",
                    by=["period", "field", "level", "unit"], show=False)
    assert set(out["period"]) == {"2022"}
    assert pub.withheld_blocks == {("2021", "chemsex")}
    assert pub.person_tables[-1]["period"].eq("2022").all()  # what later tables link to
