"""The report notebooks: committed clean, parameters declared, and the whole pipeline run
through papermill on a small simulated data source (one shared run).

Expected names (notebooks, parameters, files) are those the issue and the report's
contract list; numbers are not checked here (the write-up tests check them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import nbformat
import pytest

from qsp_eval import report

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED_NOTEBOOKS = ["00-data-quality", "01-attendance", "02-profiles", "03-theming",
                      "04-services-and-surveys", "05-summary"]
# the parameters every notebook declares, with their types
EXPECTED_PARAMETERS = {"source": "str", "output_dir": "str", "lang": "str", "period": "str",
                       "theming_start": "str", "disclosure_preset": "str", "min_cell": "int",
                       "seed": "int", "window_start": "str", "window_end": "str"}


def _notebooks():
    return [nbformat.read(str(NOTEBOOK_DIR / f"{n}.ipynb"), as_version=4)
            for n in EXPECTED_NOTEBOOKS]


# ---------------------------------------------------------------------------
# Static checks on the committed notebooks
# ---------------------------------------------------------------------------
def test_the_six_notebooks_exist_in_order():
    assert list(report.NOTEBOOKS) == EXPECTED_NOTEBOOKS
    assert report.notebook_dir() == NOTEBOOK_DIR
    for n in EXPECTED_NOTEBOOKS:
        assert (NOTEBOOK_DIR / f"{n}.ipynb").is_file()


@pytest.mark.parametrize("name", EXPECTED_NOTEBOOKS)
def test_notebook_is_committed_clean(name):
    nb = nbformat.read(str(NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for c in code:
        assert c.outputs == [] and c.execution_count is None
        # notebooks only call the package: no function or class defined in them
        assert not re.search(r"^\s*(def|class|async def)\s", c.source, re.M), c.source
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    langs = {t for c in md for t in c.metadata.get("tags", []) if t.startswith("lang-")}
    assert langs == {"lang-fr", "lang-en"}
    n_fr = sum("lang-fr" in c.metadata.get("tags", []) for c in md)
    n_en = sum("lang-en" in c.metadata.get("tags", []) for c in md)
    assert n_fr == n_en  # every text in both languages


def test_parameters_are_declared_with_types():
    paths = report.notebook_paths()
    spec = report.declared_parameters(paths)
    assert {k: v.type_name for k, v in spec.items()} == EXPECTED_PARAMETERS
    for v in spec.values():
        assert v.help  # every parameter is commented
        assert v.notebooks == tuple(EXPECTED_NOTEBOOKS)


def test_papermill_help_notebook_shows_the_parameters():
    exe = Path(sys.executable).with_name("papermill")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "papermill"]
    out = subprocess.run(cmd + ["--help-notebook", str(NOTEBOOK_DIR / "01-attendance.ipynb")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name, tname in EXPECTED_PARAMETERS.items():
        assert f"{name}: {tname}" in out.stdout


# ---------------------------------------------------------------------------
# The whole pipeline, once, on a small simulated source
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from qsp_eval.simulate import write_simulation

    base = tmp_path_factory.mktemp("pipeline")
    src = base / "data"
    # 18 months, theming from January 2024: six months after the start
    write_simulation(src, seed=11, start=date(2023, 1, 4), end=date(2024, 6, 26),
                     theming_start=date(2024, 1, 10), year_totals={})
    out = base / "out"
    lines: list = []
    # relative paths, as `make report` gives them (the notebooks run in their own folder)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        res = report.run_report("data", "out", lang="fr", parameters={"seed": "3"},
                                progress=lines.append, scan=False)
    finally:
        os.chdir(cwd)
    return {"src": src, "out": out, "result": res, "progress": lines}


def test_every_notebook_was_executed_without_error(run):
    for name in EXPECTED_NOTEBOOKS:
        nb = nbformat.read(str(run["out"] / "notebooks" / f"{name}.ipynb"), as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count is not None for c in code), name
        assert not [o for c in code for o in c.outputs if o.output_type == "error"], name
        injected = [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "seed = 3" in injected[0].source
    assert any("05-summary" in s for s in run["progress"])


def test_report_folder_holds_everything(run):
    out = run["out"]
    for rel in ("report.html", "manifest.json", "tables/tables.xlsx", "writeup.fr.md",
                "writeup.en.md", "writeup.fr.docx", "writeup.en.docx"):
        assert (out / rel).is_file(), rel
    from qsp_eval.writeup import TABLE_NAMES

    csv = {p.stem for p in (out / "tables").glob("*.csv")}
    missing = set(TABLE_NAMES) - csv
    assert not missing, f"tables the write-up reads but the notebooks do not publish: {missing}"
    pngs = {p.stem for p in (out / "figures").glob("*.png")}
    svgs = {p.stem for p in (out / "figures").glob("*.svg")}
    assert pngs and pngs == svgs
    from openpyxl import load_workbook

    from qsp_eval.tables import sheet_name

    wb = load_workbook(out / "tables" / "tables.xlsx", read_only=True)
    # issue 14: a "Lisez-moi" sheet first, then one sheet per CSV under its French name
    assert wb.sheetnames[0] == "Lisez-moi"
    assert set(wb.sheetnames[1:]) == {sheet_name(s, "fr") for s in csv}
    assert len(wb.sheetnames) == len(csv) + 1
    wb.close()


def test_manifest(run):
    out = run["out"]
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["parameters"]["seed"] == 3 and man["parameters"]["lang"] == "fr"
    assert man["notebooks"] == [f"{n}.ipynb" for n in EXPECTED_NOTEBOOKS]
    assert re.fullmatch(r"[0-9a-f]{64}", man["data_checksum"])
    files = {f["path"]: f["sha256"] for f in man["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(files) == on_disk - {"manifest.json"}
    for rel, sha in files.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha


def test_report_html_has_no_code_and_no_script(run):
    page = (run["out"] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert 'class="prompt' not in page and "In&nbsp;[" not in page and "In [" not in page
    for name in EXPECTED_NOTEBOOKS:  # no line of any code cell is in the page
        nb = nbformat.read(str(NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                for line in c.source.splitlines():
                    if len(line.strip()) > 12:
                        assert line.strip() not in page, line
    assert "pub.table" not in page and "import " not in page
    # self-contained: images embedded, no external resource
    assert 'src="data:image/svg+xml;base64,' in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    # summary first, then data quality, with a table of contents
    assert page.index("Synthèse") < page.index("Qualité des données") < page.index("Fréquentation")
    assert '<nav class="toc"' in page and "@media print" in page
    assert 'class="keyfigures"' in page


def test_disclosure_scan_finds_nothing(run):
    from qsp_eval import disclosure

    findings = [f for f in disclosure.scan_outputs(run["out"])
                if getattr(f, "severity", "error") == "error"]
    assert findings == [], [f.format("en") for f in findings]


def test_input_data_untouched_and_tables_reproducible(run, tmp_path):
    """A second run gives the same tables (CSV bytes) and never writes into the source."""
    before = {p.name: p.read_bytes() for p in run["src"].iterdir() if p.is_file()}
    out2 = tmp_path / "again"
    report.run_report(run["src"], out2, lang="fr", parameters={"seed": "3"}, scan=False,
                      notebooks=["00-data-quality", "01-attendance"])
    after = {p.name: p.read_bytes() for p in run["src"].iterdir() if p.is_file()}
    assert before == after
    for p in (out2 / "tables").glob("*.csv"):
        assert p.read_bytes() == (run["out"] / "tables" / p.name).read_bytes(), p.name


@pytest.mark.slow
def test_second_full_run_identical_tables(run, tmp_path):
    out2 = tmp_path / "again"
    report.run_report(run["src"], out2, lang="fr", parameters={"seed": "3"}, scan=False)
    a = {p.name: p.read_bytes() for p in (run["out"] / "tables").glob("*.csv")}
    b = {p.name: p.read_bytes() for p in (out2 / "tables").glob("*.csv")}
    assert a == b


def test_every_number_in_the_writeups_is_in_the_published_tables(run):
    """Issue 7: no number in the write-up is typed by hand or computed apart from the tables."""
    import math

    import pandas as pd

    from qsp_eval.writeup import numbers_in, parse_number

    values: set[float] = {95.0}  # "IC 95 %" is the interval's level, not a result
    for p in (run["out"] / "tables").glob("*.csv"):
        if p.stem == "key_figures":  # written by the write-up module itself
            continue
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        for cell in df.to_numpy().ravel():
            for lang in ("fr", "en"):
                for tok in numbers_in(str(cell), lang):
                    values.add(parse_number(tok, lang))
            try:
                values.add(float(cell))
            except ValueError:
                pass
    values = {v for v in values if math.isfinite(v)}
    for lang in ("fr", "en"):
        text = (run["out"] / f"writeup.{lang}.md").read_text(encoding="utf-8")
        unexplained = []
        assert len(numbers_in(text, lang)) >= 20  # the check is not vacuous
        for tok in numbers_in(text, lang):
            x = parse_number(tok, lang)
            sep = "," if lang == "fr" else "."
            decimals = len(tok.split(sep)[1]) if sep in tok else 0
            tol = 0.5 * 10 ** -decimals + 1e-9  # display rounding of the token
            # numbers_in drops a leading minus sign ("−24 points"), so compare magnitudes
            if not any(abs(x - abs(v)) <= tol or abs(x - abs(100 * v)) <= tol for v in values):
                unexplained.append(tok)
        assert not unexplained, (lang, unexplained)


def test_check_outputs_finds_nothing_in_the_full_report(run):
    """Issue 5: the whole report on small simulated data passes the output scanner."""
    from qsp_eval.cli import main

    assert main(["check-outputs", str(run["out"])]) == 0
    # small cells did occur and were hidden, so the clean scan is not empty by construction
    profiles = (run["out"] / "tables" / "profiles_by_year.csv").read_text(encoding="utf-8")
    assert "< 5" in profiles or "n.d." in profiles


def test_before_after_table_is_protected_and_pairs_never_give_a_hidden_side_back(run):
    """Issue 3: the before/after comparison is published as a person table, and its
    difference is blank wherever one side of the pair is hidden."""
    import pandas as pd

    out = run["out"]
    man = json.loads((out / "disclosure.json").read_text(encoding="utf-8"))
    assert "tables/profiles_before_after.csv" in man["person_tables"]
    t = pd.read_csv(out / "tables" / "profiles_before_after.csv")
    assert {"event", "period", "count", "denominator", "difference", "suppressed"} <= set(t)
    assert set(t["period"]) == {"before", "after"}
    for _, g in t.groupby(["event", "field", "level", "group", "unit"]):
        if g["suppressed"].astype(str).str.lower().eq("true").any():
            assert g["difference"].isna().all() and g["diff_ci_low"].isna().all()


def test_completeness_never_shows_a_not_stated_cell_the_profiles_hide(run):
    """A completeness count (visits with the field not stated) is the "unknown" cell of the
    profile table: shown where the profile table hides it, it undoes the suppression by
    subtraction (period total - shown groups - it = the hidden group)."""
    import pandas as pd

    from qsp_eval.schema import SENSITIVE_FIELDS

    out = run["out"]
    comp = pd.read_csv(out / "tables" / "quality_completeness.csv", dtype=str)
    prof = pd.read_csv(out / "tables" / "profiles_by_year.csv", dtype=str)
    hidden = prof.loc[(prof["group"] == "unknown") & (prof["unit"] == "visits")
                      & (prof["suppressed"].str.lower() == "true")]
    keys = set(zip(hidden["period"], hidden["field"], strict=True))
    assert keys, "the simulated source should have hidden not-stated cells"
    for _, r in comp.iterrows():
        if (r["period"][:4], r["field"]) in keys:
            assert pd.isna(r["count"]) and pd.isna(r["share"]), (r["period"], r["field"])
        if r["field"] in SENSITIVE_FIELDS and not pd.isna(r["count"]):
            assert not 1 <= int(r["count"]) <= 4


def test_profile_tests_never_use_a_hidden_cell(run):
    """A test statistic is a function of its counts: published, it lets a reader try each
    value a hidden cell can take and keep the one giving the statistic."""
    import pandas as pd

    out = run["out"]
    tests = pd.read_csv(out / "tables" / "profiles_tests.csv", dtype=str)
    prof = pd.read_csv(out / "tables" / "profiles_by_year.csv", dtype=str)
    assert "withheld" in tests
    for _, r in tests.iterrows():
        if r["withheld"].lower() == "true":
            assert pd.isna(r["statistic"]) and pd.isna(r["p_value"]) and pd.isna(r["n"])
            continue
        cells = prof.loc[(prof["field"] == r["field"]) & (prof["unit"] == r["unit"])
                         & (prof["level"] == r["level"])]
        used = cells if r["group"] == "*" else cells.loc[cells["group"] == r["group"]]
        used = used.loc[used["group"] != "unknown"]
        assert not used["suppressed"].str.lower().eq("true").any(), (r["field"], r["group"])


def test_newcomers_and_all_people_never_differ_by_a_small_number(run):
    """All people minus newcomers = returning people of the group: published side by side,
    a difference of 1 to 4 would publish a small cell of returning people."""
    import pandas as pd

    out = run["out"]
    everyone = pd.read_csv(out / "tables" / "profiles_by_year.csv")
    new = pd.read_csv(out / "tables" / "profiles_newcomers.csv")
    keys = ["period", "field", "level", "group", "unit"]
    both = everyone.merge(new, on=keys, suffixes=("_all", "_new"))
    both = both.loc[both["count_all"].notna() & both["count_new"].notna()]
    assert len(both), "some cells are published in both tables"
    diff = both["count_all"] - both["count_new"]
    assert not diff.between(1, 4).any(), both.loc[diff.between(1, 4), keys].to_string()


# ---------------------------------------------------------------------------
# Issue 14: outputs a reader reads and a researcher pastes
# ---------------------------------------------------------------------------
#: Column names of the tidy tables that are also ordinary French words.
_FRENCH_WORDS = {"date", "n", "question", "questions", "se", "service", "test", "z", "description",
                 "type", "label", "route", "reference", "change", "total",
                 "dispersion"}


def _visible_text(page: str) -> str:
    """The text a reader sees (and hears: alt text), without style, script or tags."""
    from html.parser import HTMLParser

    class _P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.out, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "script")
            self.out += [v for k, v in attrs if k in ("alt", "title", "aria-label") and v]

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "script")

        def handle_data(self, data):
            if not self.skip:
                self.out.append(data)

    p = _P()
    p.feed(page)
    return "\n".join(p.out)


def test_french_report_shows_no_code_no_english_column_and_no_long_float(run):
    import pandas as pd

    text = _visible_text((run["out"] / "report.html").read_text(encoding="utf-8"))
    assert "Qualité des données" in text  # not vacuous
    text_no_files = re.sub(r"\b\w+\.(csv|xlsx|yml)\b", " ", text)  # file names are names
    codes = set(re.findall(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b", text_no_files))
    assert not codes, codes
    columns = set()
    for p in (run["out"] / "tables").glob("*.csv"):
        columns |= {str(c) for c in pd.read_csv(p, nrows=0).columns}
    words = set(re.findall(r"[A-Za-zÀ-ÿ_]+", text_no_files))
    english = {c for c in columns if c in words} - _FRENCH_WORDS
    assert not english, english
    assert not re.findall(r"\d[.,]\d{4,}", text)
    # every figure has an alternative text that names what it shows
    page = (run["out"] / "report.html").read_text(encoding="utf-8")
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', page)
    assert alts and all(a.startswith("Graphique : ") and len(a) > 30 for a in alts)
    # operator notices are folded at the end of data quality, not on the first screen
    first = page[: page.index('<nav class="toc"')]
    assert "pseudonymisation" not in first
    if "pseudonymisation" in page:
        i = page.index("pseudonymisation")
        assert page.rfind('<details class="fold notices">', 0, i) > page.rfind("</details>", 0, i)


def test_french_workbook_has_french_sheets_headers_and_a_readme(run):
    from openpyxl import load_workbook

    wb = load_workbook(run["out"] / "tables" / "tables.xlsx", read_only=True)
    names = wb.sheetnames
    assert names[0] == "Lisez-moi"
    assert {"Profils par année", "Fréquentation par année", "Permanences enregistrées"} <= set(names)
    assert not [n for n in names if re.fullmatch(r"[a-z0-9_]+", n)]
    listed = {r[0] for r in wb["Lisez-moi"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert set(names[1:]) <= listed
    head = next(wb["Fréquentation par année"].iter_rows(max_row=1, values_only=True))
    assert "Permanences tenues" in head and "sessions_held" not in head
    assert "Part des personnes revenues" in head
    head = next(wb["Profils par année"].iter_rows(max_row=1, values_only=True))
    assert {"Période", "Champ", "Groupe", "Effectif", "Part"} <= set(head)
    groups = {r[head.index("Groupe")] for r in wb["Profils par année"].iter_rows(
        min_row=2, values_only=True)}
    assert "Homme cis" in groups and "cis_man" not in groups
    wb.close()
    # the renamed sheets are still listed for the disclosure scan
    man = json.loads((run["out"] / "disclosure.json").read_text(encoding="utf-8"))
    assert "tables/tables.xlsx[Profils par année]" in man["person_tables"]


def test_french_writeup_docx_is_a4_french_with_tables_and_figures(run):
    import docx

    doc = docx.Document(str(run["out"] / "writeup.fr.docx"))
    sec = doc.sections[0]
    assert round(sec.page_width.mm) == 210 and round(sec.page_height.mm) == 297
    assert doc.core_properties.language == "fr-FR"
    assert len(doc.tables) >= 3 and len(doc.inline_shapes) >= 3
    caps = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert len([c for c in caps if c.startswith("Tableau ")]) >= 3
    assert len([c for c in caps if c.startswith("Figure ")]) >= 3
    assert any(p.style.name.startswith("Heading") for p in doc.paragraphs)
    en = docx.Document(str(run["out"] / "writeup.en.docx"))
    assert en.core_properties.language == "en-GB"


def _chromium():
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium_args(tmp):
    return [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp}"]


def _print_pages(html_path: Path, tmp: Path) -> int:
    pdf = tmp / "report.pdf"
    subprocess.run(_chromium_args(tmp / "profile") + ["--no-pdf-header-footer",
                                                      f"--print-to-pdf={pdf}",
                                                      html_path.as_uri()],
                   capture_output=True, timeout=180, check=False)
    pages, width, height = _pdf_info(pdf)
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 portrait
    return pages


def _pdf_info(pdf: Path) -> tuple[int, float, float]:
    """(pages, width, height in points) of a PDF, with poppler's pdfinfo."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    w, h = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", info, re.M).groups()
    return pages, float(w), float(h)


_FIT_JS = """<script>
document.querySelectorAll('details').forEach(function (d) { d.open = true; });
var W = document.documentElement.clientWidth, bad = [];
document.querySelectorAll('table').forEach(function (t, i) {
  var r = t.getBoundingClientRect();
  if (r.right > W + 1 || t.scrollWidth > t.parentElement.clientWidth + 1) bad.push(i);
});
document.body.setAttribute('data-fit', document.querySelectorAll('table').length + ';' + bad.join(','));
</script>"""


def _tables_too_wide(html_path: Path, tmp: Path) -> tuple[int, list]:
    """Lay the page out with its print rules at the width of A4 text (210 - 2 x 16 mm = 178 mm
    = 673 px) with every fold open; return (tables, indexes of those wider than the page)."""
    page = html_path.read_text(encoding="utf-8").replace("@media print", "@media all")
    copy = tmp / "fit.html"
    copy.write_text(page.replace("</body>", _FIT_JS + "</body>"), encoding="utf-8")
    out = subprocess.run(_chromium_args(tmp / "profile2") + [
        "--hide-scrollbars", "--window-size=673,1200", "--dump-dom", copy.as_uri()],
        capture_output=True, text=True, timeout=180, check=False)
    m = re.search(r'data-fit="(\d+);([\d,]*)"', out.stdout)
    assert m, out.stderr[-500:]
    return int(m.group(1)), [int(x) for x in m.group(2).split(",") if x]


def _check_print(html_path: Path, tmp: Path, max_pages: int = 15) -> int:
    pages = _print_pages(html_path, tmp)
    assert pages <= max_pages, pages
    n, wide = _tables_too_wide(html_path, tmp)
    assert n >= 10 and wide == [], wide
    return pages


def _can_print():
    import shutil

    return bool(_chromium()) and bool(shutil.which("pdfinfo"))


@pytest.mark.skipif(not _can_print(), reason="chromium or pdfinfo is not installed")
def test_printed_french_report_fits_a4(run, tmp_path):
    _check_print(run["out"] / "report.html", tmp_path)
    # the width check is not vacuous: a table of 40 unbreakable cells is caught
    wide = tmp_path / "wide.html"
    cells = "".join(f'<td style="white-space: nowrap">colonne {k} assez longue</td>'
                    for k in range(40))
    wide.write_text((run["out"] / "report.html").read_text(encoding="utf-8").replace(
        "<main>", f"<main><table><tr>{cells}</tr></table>"), encoding="utf-8")
    assert _tables_too_wide(wide, tmp_path)[1] == [0]


@pytest.mark.slow
@pytest.mark.skipif(not _can_print(), reason="chromium or pdfinfo is not installed")
def test_printed_example_report_is_at_most_15_a4_pages(tmp_path):
    """The bundled example's French report, printed with headless Chromium: <= 15 A4 pages,
    no table wider than the page; its write-up converts to an A4 PDF with LibreOffice."""
    import shutil

    example = Path(__file__).resolve().parents[1] / "data" / "example"
    if not (example / "sessions.csv").is_file():
        pytest.skip("data/example is not generated")
    out = tmp_path / "example"
    report.run_report(example, out, lang="fr")
    _check_print(out / "report.html", tmp_path)
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office:
        subprocess.run([office, "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), str(out /
                                                                             "writeup.fr.docx")],
                       capture_output=True, timeout=240, check=False)
        pages, width, _ = _pdf_info(tmp_path / "writeup.fr.pdf")
        assert abs(width - 595.3) < 2 and pages >= 2
