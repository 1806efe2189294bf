"""Any valid data gives an honest report (issue 11): the matrix of ``matrix_sources``.

For each source: ``report.run_report`` succeeds; ``report.html`` has every section, and in
every subsection a table with rows, a figure or a sentence (an empty table is never shown);
no CSV/JSON/HTML output holds a number of 7 digits or more that is not a count; and
``qsp-eval check-outputs`` finds nothing. Each report costs about 6-10 s on a quiet machine:
the fast suite runs :data:`matrix_sources.FAST`, ``make test-slow`` the whole matrix.

Sources whose theming analysis cannot be estimated (too few sessions on one side of the start,
no change date) must say so in words in the theming section and the summary: checked below.
"""

from __future__ import annotations

import re

import pytest
from matrix_sources import FAST, SLOW_ONLY, absurd_numbers, build_source

from qsp_eval import report

#: Sources whose theming analysis cannot be estimated: the theming section says why in words.
NOT_ESTIMABLE = {"one_month": "Trop tôt pour juger", "three_months": "Pas assez de recul",
                 "one_year_no_change": "Pas de date de début",
                 "theming_last_week": "Trop tôt pour juger"}
SECTIONS = {
    "00-data-quality": "Qualité des données", "01-attendance": "Fréquentation",
    "02-profiles": "Qui vient ?", "03-theming": "La thématisation a-t-elle augmenté",
    "04-services-and-surveys": "Prestations, analyse de produits", "05-summary": "Synthèse",
}


def check_report_folder(out, notebooks=report.NOTEBOOKS) -> None:
    """The checks of the module docstring on a finished report folder."""
    from qsp_eval.cli import main

    html = (out / "report.html").read_text(encoding="utf-8")
    for stem in notebooks:
        assert f'id="{stem}"' in html or SECTIONS[stem] in html, stem
        assert SECTIONS[stem] in html, stem
    body = html[html.index("<main>"):]
    # no table without a row
    for m in re.finditer(r"<tbody>(.*?)</tbody>", html, flags=re.S):
        assert "<tr" in m.group(1), "an empty table is shown"
    # every subsection shows something: a table, a figure or a published sentence
    parts = re.split(r"<h([2-4]) id=", body)  # [before, level, chunk, level, chunk, ...]
    levels = [int(x) for x in parts[1::2]]
    chunks = parts[2::2]
    for i, chunk in enumerate(chunks):
        if i + 1 < len(chunks) and levels[i + 1] > levels[i]:
            continue  # a section title followed by its subsections
        title = re.sub(r"<[^>]+>", "", chunk.split(">", 1)[1].split("</h", 1)[0])
        shown = ("<table" in chunk or "<img" in chunk or '<div class="text ' in chunk
                 or '<div class="block ' in chunk)
        assert shown, f"section without content nor explanation: {title}"
    found = absurd_numbers(out)
    assert not found, "\n".join(found[:20])
    assert main(["check-outputs", str(out)]) == 0


def _run(name, tmp_path):
    src = build_source(name, tmp_path / "src" / name)
    out = tmp_path / "out" / name
    report.run_report(src, out, lang="fr")
    check_report_folder(out)
    if name in NOT_ESTIMABLE:
        html = (out / "report.html").read_text(encoding="utf-8")
        section = html[html.index(SECTIONS["03-theming"]):]
        assert NOT_ESTIMABLE[name] in section, name


@pytest.mark.parametrize("name", FAST)
def test_report_on_matrix_source(name, tmp_path):
    _run(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_ONLY)
def test_report_on_matrix_source_slow(name, tmp_path):
    _run(name, tmp_path)


def test_tally_only_sections_say_what_is_missing(tmp_path):
    """Three years of headcounts only: profiles, loyalty, services... say why in one sentence."""
    from qsp_eval import publish
    from qsp_eval.io import load_source

    src = build_source("tallies_3_years", tmp_path / "src")
    ds = load_source(src)
    held = int((ds.sessions["status"] == "held").sum())
    text = publish.missing_input(ds, "profiles_by_year", lang="fr")
    # every held session of the simulated source has a headcount
    assert f"les {held} permanences tenues n'ont qu'un décompte" in text
    assert "0 passage détaillé" in text
    assert "services" in publish.missing_input(ds, "rapid_tests_by_year", lang="en")
    assert publish.missing_input(ds, "attendance_by_year") == ""
