"""Reader tables: published (already protected) tidy tables shaped for people.

``tables/*.csv`` keep the long tidy form for programs; the report shows the same
numbers shaped for reading: groups down, periods across, one cell such as
``"38 % (35)"``, a caption that says the unit and the denominator once, a note
for what is hidden, long detail folded behind ``<details>``, and a table whose
every row is withheld replaced by one sentence.  Every header, code and
message is in the report's language.

Nothing here decides what may be published: the input is the table returned by
:meth:`qsp_eval.publish.Publisher.table` (suppressed cells already NA, with
their ``count_display``); hidden cells stay hidden (shown as that display text).

The same shaping gives the French (or English) sheets of ``tables.xlsx``
(:func:`sheet_frame`: labels instead of codes, headers in the language) and
the key tables of the Word write-up (:func:`reader_table`).

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"period": ["2023", "2024"], "field": ["gender", "gender"],
...                   "group": ["cis_man", "cis_man"], "count": [35, 40],
...                   "denominator": [92, 100], "share": [0.38, 0.40], "unit": "people"})
>>> rt = reader_table(t, "profiles_by_year")
>>> rt.columns[1:], rt.rows[0]
(['2023 (n = 92)', '2024 (n = 100)'], ['Homme cis', '38 % (35)', '40 % (40)'])
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from .i18n import tr

__all__ = ["ReaderTable", "reader_table", "render_html", "sheet_frame", "sheet_name",
           "SHEET_INFO", "column_header", "code_label", "FOLD_ROWS"]

#: Tables longer than this (reader rows) are folded behind ``<details>``.
FOLD_ROWS = 14
#: Periods across when there are at most this many, else periods down.
MAX_PERIOD_COLUMNS = 6


@dataclass
class ReaderTable:
    """A table shaped for reading.

    Attributes
    ----------
    columns : list of str
        Header labels.
    rows : list of list of str
        Cells; a row of one cell is a group heading spanning the table.
    caption : str
        What the cells are (unit, denominator), said once.
    note : str
        What is hidden and why (or other remarks), under the table.
    fold : bool
        Put the table behind ``<details>`` (long detail).
    sentence : str
        When not empty, the whole table is replaced by this sentence.
    """

    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    caption: str = ""
    note: str = ""
    fold: bool = False
    sentence: str = ""


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------
_TERMS = {
    "level_change": ("Saut de niveau au début", "Level change at the start"),
    "slope_change": ("Changement de pente après le début", "Slope change after the start"),
    "trend": ("Tendance (par an)", "Trend (per year)"),
    "themed_after": ("Permanences thématisées / non thématisées", "Themed / plain sessions"),
    "themed": ("Permanences thématisées / non thématisées", "Themed / plain sessions"),
    "season_sin1": ("Saison (sinus, cycle annuel)", "Season (sine, yearly cycle)"),
    "season_cos1": ("Saison (cosinus, cycle annuel)", "Season (cosine, yearly cycle)"),
    "season_sin2": ("Saison (sinus, cycle semestriel)", "Season (sine, half-yearly cycle)"),
    "season_cos2": ("Saison (cosinus, cycle semestriel)", "Season (cosine, half-yearly cycle)"),
    "visits": ("Passages", "Visits"),
    "first_time_visitors": ("Nouvelles personnes", "First-time visitors"),
    "before": ("Avant", "Before"),
    "after": ("Après", "After"),
    "ratio": ("Rapport après / avant", "Ratio after / before"),
    "cancelled": ("Annulée(s)", "Cancelled"),
    "not_recorded": ("Non enregistrée(s)", "Not recorded"),
    "on_site": ("Analyse sur place", "On-site analysis"),
    "national_network": ("Envoi au réseau national", "Sent to the national network"),
    "total": ("Total", "Total"),
    "high": ("plus haute qu'attendu", "higher than expected"),
    "low": ("plus basse qu'attendu", "lower than expected"),
    "context": ("contexte", "context"),
    "change": ("changement évalué", "change under evaluation"),
    "cochran_armitage": ("Cochran–Armitage (tendance)", "Cochran–Armitage (trend)"),
    "fisher_freeman_halton_mc": ("Fisher–Freeman–Halton (Monte-Carlo)",
                                 "Fisher–Freeman–Halton (Monte Carlo)"),
    "fisher_exact": ("Fisher (exact)", "Fisher (exact)"),
    "chi_square": ("Khi-deux", "Chi-square"),
    "chi2": ("Khi-deux", "Chi-square"),
}

_FIELDS = {
    "gender": ("Identité de genre", "Gender identity"),
    "orientation": ("Orientation sexuelle", "Sexual orientation"),
    "age_band": ("Âge", "Age"),
    "chemsex": ("Chemsex", "Chemsex"),
    "injects": ("Injection", "Injecting"),
    "products": ("Produits consommés (plusieurs réponses possibles)",
                 "Products used (several answers possible)"),
    "heard_via": ("A connu la permanence par", "Heard of the session via"),
    "first_visit": ("Première venue", "First visit"),
    "chemsex_cis_men": ("Hommes cis pratiquant le chemsex", "Cis men practising chemsex"),
}


def code_label(code, lang: str = "fr", *, field_code=None, config=None) -> str:
    """Words for a code shown in a table (profile group, term, test, route...).

    Examples
    --------
    >>> code_label("level_change")
    'Saut de niveau au début'
    >>> code_label("non_binary", field_code="gender", lang="en")
    'Non-binary'
    """
    s = str(code)
    if field_code is not None:
        from .publish import _label_group

        return _label_group(field_code, s, lang, config)
    if s in _FIELDS:
        return tr(*_FIELDS[s], lang)
    if s in _TERMS:
        return tr(*_TERMS[s], lang)
    from .publish import _VALUES

    if s in _VALUES:
        return tr(*_VALUES[s], lang)
    return s


def column_header(col: str, lang: str = "fr") -> str:
    """Header of a tidy column in ``lang`` (used by the workbook).

    Examples
    --------
    >>> column_header("ci_low"), column_header("sessions_held", "en")
    ('IC 95 % bas', 'Sessions held')
    """
    from .publish import _HEADERS

    extra = {
        "periods": ("Périodes", "Periods"), "withheld": ("Non publié", "Withheld"),
        "flagged": ("Signalée", "Flagged"), "direction": ("Sens", "Direction"),
        "free_text_answers": ("Réponses en texte libre (non publiées)",
                              "Free-text answers (not published)"),
        "years": ("Années", "Years"), "themed": ("Thématisée", "Themed"),
        "share_returning": ("Part des personnes revenues", "Share returning"),
        "session_id": ("Permanence", "Session"), "event_kind": ("Type d'événement", "Event kind"),
        "count_display": ("Effectif publié", "Published count"),
        "suppressed": ("Masqué", "Hidden"), "suppression": ("Motif du masquage", "Why hidden"),
        "multi": ("Plusieurs réponses possibles", "Several answers possible"),
        "known_denominator": ("Dénominateur (renseignés)", "Denominator (stated)"),
        "ci_known_low": ("IC 95 % bas (renseignés)", "95% CI low (stated)"),
        "ci_known_high": ("IC 95 % haut (renseignés)", "95% CI high (stated)"),
        "level": ("Niveau", "Level"), "population": ("Population", "Population"),
        "sessions_counted": ("Permanences comptées", "Sessions counted"),
        "visits_without_id": ("Passages sans code", "Visits without code"),
        "ci_method": ("Méthode de l'IC", "CI method"), "dispersion": ("Dispersion", "Dispersion"),
        "diff_ci_method": ("Méthode de l'IC (diff.)", "CI method (diff.)"),
        "se": ("Erreur type", "Standard error"), "z": ("z", "z"),
        "family": ("Loi du modèle", "Model family"), "type": ("Type", "Type"),
        "order": ("Ordre", "Order"), "activity": ("Activité", "Activity"),
        "key": ("Clé", "Key"), "supplied": ("Colonne fournie", "Column supplied"),
        "guest": ("Intervenant·e", "Guest"), "site": ("Lieu", "Site"),
        "label_fr": ("Libellé", "Label (French)"), "label_en": ("Libellé (anglais)", "Label"),
        "note_fr": ("Note", "Note (French)"), "note_en": ("Note (anglais)", "Note"),
    }
    c = str(col)
    if c in extra:
        return tr(*extra[c], lang)
    if c in _HEADERS:
        return tr(*_HEADERS[c], lang)
    for suf in ("_label_fr", "_label_en"):
        if c.endswith(suf):
            base = column_header(c[: -len(suf)], lang)
            return base if suf[-2:] == lang else f"{base} ({tr('anglais', 'French', lang)})"
    return c.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------
def _na(v) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(x, digits: int = 1, lang: str = "fr") -> str:
    if _na(x):
        return "—"
    x = float(x)
    if math.isinf(x):
        return "—"
    if digits == 0 or (x.is_integer() and abs(x) >= 1000):
        s = f"{round(x):,}".replace(",", "\u202f" if lang == "fr" else ",")
    else:
        s = f"{x:.{digits}f}"
    if s.startswith("-"):
        s = "\u2212" + s[1:]
    return s.replace(".", ",") if lang == "fr" else s


def _int(x, lang: str = "fr") -> str:
    return _num(x, 0, lang)


def _pct(x, lang: str = "fr", digits: int = 0) -> str:
    if _na(x):
        return "—"
    s = _num(100 * float(x), digits, lang)
    return f"{s} %" if lang == "fr" else f"{s}%"


def _ci(est, lo, hi, lang: str = "fr", digits: int = 2, pct: bool = False) -> str:
    f = (lambda v: _pct(v, lang, digits)) if pct else (lambda v: _num(v, digits, lang))
    if _na(est):
        return "—"
    if _na(lo) or _na(hi):
        return f(est)
    return f"{f(est)} ({f(lo)} – {f(hi)})" if pct else f"{f(est)} ({f(lo)}–{f(hi)})"


def _p(x, lang: str = "fr") -> str:
    if _na(x):
        return "—"
    x = float(x)
    if x < 0.001:
        return "< 0,001" if lang == "fr" else "< 0.001"
    return _num(x, 3, lang)


def _date(v, lang: str = "fr") -> str:
    import pandas as pd

    if _na(v):
        return "—"
    try:
        d = pd.Timestamp(v)
    except (ValueError, TypeError):
        return str(v)
    return f"{d:%d/%m/%Y}" if lang == "fr" else f"{d:%Y-%m-%d}"


def _label(row, lang: str, code_col: str, label_col: str = "label") -> str:
    for c in (f"{label_col}_{lang}", label_col):
        if c in row and not _na(row[c]) and str(row[c]).strip():
            return str(row[c])
    return code_label(row[code_col], lang)


def _hidden_text(row, lang: str) -> str:
    d = row.get("count_display") if hasattr(row, "get") else None
    if d is not None and not _na(d) and str(d).strip():
        return str(d)
    return tr("masqué", "hidden", lang)


def _is_hidden(row) -> bool:
    s = row.get("suppressed") if hasattr(row, "get") else None
    return bool(s) if s is not None and not _na(s) else False


def _hidden_note(rules, lang: str) -> str:
    t = getattr(rules, "min_cell", 5) if rules is not None else 5
    return tr(f"« < {t} » : effectif de 1 à {t - 1}, masqué ; « n.d. » : case masquée pour "
              "qu'aucune case masquée ne se retrouve par différence ; « — » : sans objet ou non "
              "calculable.",
              f"'< {t}': a count from 1 to {t - 1}, hidden; '[c]' or 'n.d.': hidden so that no "
              "hidden cell can be recovered by subtraction; '—': not applicable or not "
              "computable.", lang)


def _share_cell(row, lang: str, share_col: str = "share") -> str:
    """``"38 % (35)"``; the display text of a hidden cell; ``"0"`` for nobody."""
    if _is_hidden(row) or _na(row.get("count")):
        return _hidden_text(row, lang) if _is_hidden(row) else "—"
    n = _int(row["count"], lang)
    sh = row.get(share_col)
    return f"{_pct(sh, lang)} ({n})" if not _na(sh) else n


def _group(records, key) -> dict:
    """Records grouped by ``key`` (a column name or a tuple of them), in order of appearance."""
    out: dict = {}
    for r in records:
        k = tuple(r[c] for c in key) if isinstance(key, tuple) else r[key]
        out.setdefault(k, []).append(r)
    return out


def _periods(values) -> list:
    return list(dict.fromkeys(str(v) for v in values))


# ---------------------------------------------------------------------------
# Shapers, one per published table (by name)
# ---------------------------------------------------------------------------
def _composition(df, name, lang, rules, config):
    """profiles_by_year / profiles_newcomers (shown rows): groups down, periods across."""
    sub = df
    if "unit" in sub.columns and sub["unit"].nunique() > 1:
        sub = sub.loc[sub["unit"] == "people"]
    if "level" in sub.columns and sub["level"].nunique() > 1:
        sub = sub.loc[sub["level"] == "reporting"]
    periods = _periods(sub["period"])
    dens = sub.drop_duplicates("period").set_index(sub.drop_duplicates("period")["period"]
                                                   .astype(str))["denominator"]
    cols = [tr("Groupe", "Group", lang)] + [
        f"{p} (n = {_int(dens.get(p), lang)})" for p in periods]
    rows = []
    by_field = _group(sub.to_dict("records"), "field")
    for f, frecs in by_field.items():
        if len(by_field) > 1:
            rows.append([code_label(f, lang)])
        for g, grecs in _group(frecs, "group").items():
            by_p = {str(r["period"]): r for r in grecs}
            rows.append([code_label(g, lang, field_code=f, config=config)]
                        + [_share_cell(by_p[p], lang) if p in by_p else "—" for p in periods])
    unit = str(sub["unit"].iloc[0]) if len(sub) and "unit" in sub.columns else "people"
    who = (tr("nouvelles personnes", "first-time visitors", lang) if "newcomers" in name
           else tr("personnes différentes", "different people", lang) if unit == "people"
           else tr("passages", "visits", lang))
    cap = tr(f"Part des {who} de l'année (effectif entre parenthèses) ; n : {who} de l'année, "
             "réponses non renseignées comprises.",
             f"Share of the year's {who} (count in brackets); n: {who} of the year, answers "
             "not stated included.", lang)
    return ReaderTable(cols, rows, cap, _hidden_note(rules, lang), fold=len(rows) > FOLD_ROWS)


def _window_text(v) -> str:
    """A window label as published: 2022.0 (read back from a CSV) -> "2022"."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _before_after(df, name, lang, rules, config):
    parts = []
    for ev, erecs in _group(df.to_dict("records"), "event").items():
        r0 = erecs[0]
        lab = _label(r0, lang, "event", "event_label")
        kind = code_label(r0.get("event_kind", ""), lang) if "event_kind" in r0 else ""
        b = [r for r in erecs if r["period"] == "before"]
        a = [r for r in erecs if r["period"] == "after"]
        span = ""
        if b and a and not _na(b[0].get("window")) and not _na(a[0].get("window")):
            bw, aw = _window_text(b[0]["window"]), _window_text(a[0]["window"])
            span = tr(f" — avant : {bw} ; après : {aw}", f" — before: {bw}; after: {aw}", lang)
        elif b and a and "period_start" in r0 and not any(
                _na(x.get(c)) for x in (b[0], a[0]) for c in ("period_start", "period_end")):
            b0, b1 = _date(b[0]["period_start"], lang), _date(b[0]["period_end"], lang)
            a0, a1 = _date(a[0]["period_start"], lang), _date(a[0]["period_end"], lang)
            span = tr(f" — avant : du {b0} au {b1} ; après : du {a0} au {a1}",
                      f" — before: {b0} to {b1}; after: {a0} to {a1}", lang)
        parts.append([f"{lab} ({kind}, {_date(r0.get('event_date', ev), lang)}){span}"])
        empty = [sd for sd, recs in (("before", b), ("after", a))
                 if not any(not _na(r.get("denominator")) and float(r["denominator"]) > 0
                            for r in recs)]
        if empty:  # no one recorded on one side (the event is at the edge of the data)
            parts.append(["· " + tr(
                "Pas de comparaison : aucune personne enregistrée "
                + ("avant" if empty[0] == "before" else "après") + " l'événement dans les données.",
                "No comparison: no one recorded "
                + ("before" if empty[0] == "before" else "after") + " the event in the data.",
                lang)])
            continue
        for f, frecs in _group(erecs, "field").items():
            bd = [r["denominator"] for r in frecs if r["period"] == "before"]
            ad = [r["denominator"] for r in frecs if r["period"] == "after"]
            n = (tr(f" (n = {_int(bd[0], lang)} avant, {_int(ad[0], lang)} après)",
                    f" (n = {_int(bd[0], lang)} before, {_int(ad[0], lang)} after)",
                    lang) if bd and ad else "")
            parts.append(["· " + code_label(f, lang) + n])
            for g, grecs in _group(frecs, "group").items():
                side = {str(r["period"]): r for r in grecs}
                cells = [code_label(g, lang, field_code=f, config=config)]
                for sd in ("before", "after"):
                    cells.append(_share_cell(side[sd], lang) if sd in side else "—")
                r = side.get("after", side.get("before"))
                if r is not None and not _na(r.get("difference")):
                    lo, hi = r.get("diff_ci_low"), r.get("diff_ci_high")
                    d = _ci(100 * r["difference"], None if _na(lo) else 100 * lo,
                            None if _na(hi) else 100 * hi, lang, 1)
                    d = ("+" if r["difference"] > 0 else "") + d
                else:
                    d = "—"
                cells.append(d)
                cells.append(_p(r.get("p_value"), lang) if r is not None else "—")
                parts.append(cells)
    cols = [tr("Groupe", "Group", lang), tr("Avant", "Before", lang), tr("Après", "After", lang),
            tr("Différence en points (IC 95 %)", "Difference in points (95% CI)", lang),
            tr("p", "p", lang)]
    if "among" in df.columns and (df["among"].astype(str) == "all").all():
        cap = tr("Part des personnes différentes de chaque côté (effectif), parmi toutes les "
                 "personnes de la période, non-réponses comprises.",
                 "Share of the different people on each side (count), among everyone of the "
                 "period, answers not stated included.", lang)
    else:
        cap = tr("Part des personnes différentes de chaque côté (effectif) ; parts parmi les "
                 "réponses renseignées, sauf « Hommes cis pratiquant le chemsex » (parmi toutes).",
                 "Share of the different people on each side (count); shares among stated "
                 "answers, except 'Cis men practising chemsex' (among all).", lang)
    return ReaderTable(cols, parts, cap, _hidden_note(rules, lang), fold=True)


def _tests(df, name, lang, rules, config):
    shown = df
    if "withheld" in df.columns:
        shown = df.loc[~df["withheld"].fillna(False).astype(bool)]
    n_withheld = len(df) - len(shown)
    if shown.empty:
        return ReaderTable(sentence=tr(
            f"Aucun des {len(df)} tests n'est publié : chacun utilise au moins un effectif "
            "masqué, dont sa statistique permettrait de retrouver la valeur.",
            f"None of the {len(df)} tests is published: each uses at least one hidden count, "
            "which its statistic would give back.", lang))
    cols = [tr("Champ", "Field", lang), tr("Groupe", "Group", lang), tr("Test", "Test", lang),
            "p", tr("p ajusté (Holm)", "p adjusted (Holm)", lang)]
    rows = [[code_label(r["field"], lang), code_label(r["group"], lang, field_code=r["field"],
                                                      config=config),
             code_label(r["test"], lang), _p(r.get("p_value"), lang),
             _p(r.get("p_value_holm"), lang)] for r in shown.to_dict("records")]
    note = tr(f"{n_withheld} test(s) non publié(s) : ils utilisent un effectif masqué.",
              f"{n_withheld} test(s) withheld: they use a hidden count.", lang) if n_withheld else ""
    return ReaderTable(cols, rows, "", note, fold=len(rows) > FOLD_ROWS)


_ATTENDANCE_ROWS = [
    ("sessions_held", ("Permanences tenues", "Sessions held"), "int"),
    ("sessions_cancelled", ("Permanences annulées", "Sessions cancelled"), "int"),
    ("visits", ("Passages", "Visits"), "int"),
    ("mean_visits_per_session", ("Passages par permanence (IC 95 %)",
                                 "Visits per session (95% CI)"), "ci"),
    ("distinct_people", ("Personnes différentes", "Different people"), "int"),
    ("first_time_visitors", ("Nouvelles personnes", "First-time visitors"), "int"),
    ("returning_people", ("Personnes revenues d'une année antérieure",
                          "People back from an earlier year"), "int"),
    ("share_returning", ("Part des personnes revenues", "Share of people coming back"), "pct"),
]


def _wide_by_period(df, specs, lang, first=""):
    """Indicators down, periods across (or periods down when there are many)."""
    periods = _periods(df["period"])
    by_p = {str(r["period"]): r for r in df.to_dict("records")}

    def cell(r, col, how):
        if col not in r or _na(r[col]):
            return "—"
        if how == "int":
            return _int(r[col], lang)
        if how == "pct":
            return _pct(r[col], lang)
        if how == "ci":
            return _ci(r[col], r.get("ci_low"), r.get("ci_high"), lang, 1)
        if how == "num2":
            return _num(r[col], 2, lang)
        return _num(r[col], 1, lang)

    specs = [s for s in specs if s[0] in df.columns]
    if len(periods) <= MAX_PERIOD_COLUMNS:
        cols = [first or tr("Indicateur", "Indicator", lang)] + periods
        rows = [[tr(*lab, lang)] + [cell(by_p[p], c, how) for p in periods]
                for c, lab, how in specs]
    else:
        cols = [tr("Période", "Period", lang)] + [tr(*lab, lang) for _, lab, _ in specs]
        rows = [[p] + [cell(by_p[p], c, how) for c, _, how in specs] for p in periods]
    return cols, rows


def _attendance(df, name, lang, rules, config):
    if name == "attendance_by_period" and df["period"].astype(str).str.fullmatch(r"\d{4}").all():
        return ReaderTable(sentence=tr("La période choisie est l'année : voir le tableau par "
                                       "année ci-dessus.", "The chosen period is the year: see "
                                       "the table per year above.", lang))
    cols, rows = _wide_by_period(df, _ATTENDANCE_ROWS, lang)
    cap = tr("Par année ; un passage = une venue d'une personne ; personnes revenues : déjà venues "
             "une année antérieure.",
             "Per year; a visit = one person coming once; people coming back: seen in an earlier "
             "year.", lang) if name == "attendance_by_year" else ""
    return ReaderTable(cols, rows, cap, fold=len(rows) > FOLD_ROWS)


def _quality_sessions(df, name, lang, rules, config):
    specs = [("sessions_expected", ("Permanences attendues", "Sessions expected"), "int"),
             ("sessions_recorded", ("Permanences enregistrées", "Sessions recorded"), "int"),
             ("sessions_held", ("Permanences tenues", "Sessions held"), "int"),
             ("sessions_cancelled", ("Permanences annulées", "Sessions cancelled"), "int"),
             ("weeks_not_recorded", ("Semaines sans enregistrement", "Weeks not recorded"), "int"),
             ("share_recorded", ("Part des semaines enregistrées", "Share of weeks recorded"),
              "pct")]
    cols, rows = _wide_by_period(df, specs, lang)
    return ReaderTable(cols, rows)


def _quality_gaps(df, name, lang, rules, config):
    if df.empty:
        return ReaderTable(sentence=tr("Aucune interruption.", "No gap.", lang))
    cols = [tr("Du", "From", lang), tr("Au", "To", lang), tr("Nature", "Kind", lang),
            tr("Permanences", "Sessions", lang)]
    rows = [[_date(r["start"], lang), _date(r["end"], lang), _label(r, lang, "group"),
             _int(r["count"], lang)] for r in df.to_dict("records")]
    return ReaderTable(cols, rows, tr("Permanences attendues non tenues, par série de semaines "
                                      "consécutives.", "Expected sessions not held, by run of "
                                      "consecutive weeks.", lang), fold=len(rows) > 6)


def _pivot_cells(df, row_key, row_label, cell, lang, first):
    periods = _periods(df["period"])
    rows = []
    for _k, recs in _group(df.to_dict("records"), row_key).items():
        by_p = {str(r["period"]): r for r in recs}
        rows.append([row_label(recs[0])] + [cell(by_p[p]) if p in by_p else "—"
                                            for p in periods])
    return [first] + periods, rows


def _quality_completeness(df, name, lang, rules, config):
    def cell(r):
        if _is_hidden(r) or _na(r.get("count")):
            return _hidden_text(r, lang) if _is_hidden(r) else "—"
        if "supplied" in r and not _na(r["supplied"]) and not bool(r["supplied"]):
            return tr("non fournie", "not supplied", lang)
        if float(r["count"]) == 0:
            return "0"
        return f"{_pct(r['share'], lang, 1)} ({_int(r['count'], lang)})"

    cols, rows = _pivot_cells(df, "field", lambda r: _label(r, lang, "field"), cell, lang,
                              tr("Champ", "Field", lang))
    return ReaderTable(cols, rows, tr("Part des passages de l'année où le champ n'est pas "
                                      "renseigné (nombre de passages).",
                                      "Share of the year's visits where the field is not stated "
                                      "(number of visits).", lang), _hidden_note(rules, lang))


def _quality_consistency(df, name, lang, rules, config):
    cols, rows = _pivot_cells(df, "check", lambda r: str(r.get("description") or r["check"]),
                              lambda r: _int(r["count"], lang), lang,
                              tr("Contrôle", "Check", lang))
    return ReaderTable(cols, rows, tr("Nombre de cas par année (0 : rien à vérifier).",
                                      "Number of cases per year (0: nothing to check).", lang))


def _quality_outliers(df, name, lang, rules, config):
    if df.empty:
        return ReaderTable(sentence=tr("Aucune permanence à fréquentation inhabituelle.",
                                       "No session with unusual attendance.", lang))
    cols = [tr("Date", "Date", lang), tr("Passages", "Visits", lang),
            tr("Attendu (médiane)", "Expected (median)", lang), tr("z robuste", "Robust z", lang),
            tr("Sens", "Direction", lang)]
    rows = [[_date(r.get("date"), lang), _int(r.get("count"), lang),
             _num(r.get("estimate"), 1, lang), _num(r.get("robust_z"), 1, lang),
             code_label(r.get("direction", ""), lang)] for r in df.to_dict("records")]
    return ReaderTable(cols, rows, fold=len(rows) > FOLD_ROWS)


def _quality_surveys(df, name, lang, rules, config):
    if df.empty:
        return ReaderTable(sentence=tr("Aucun questionnaire.", "No survey.", lang))
    cols = [tr("Questionnaire", "Survey", lang), tr("Réponses", "Responses", lang),
            tr("Questions", "Questions", lang),
            tr("Questionnaires sans réponse", "Unanswered forms", lang)]
    rows = [[_label(r, lang, "survey"), _int(r["count"], lang), _int(r.get("questions"), lang),
             _int(r.get("unanswered"), lang)] for r in df.to_dict("records")]
    return ReaderTable(cols, rows, tr("Les réponses en texte libre sont comptées (détails "
                                      "techniques), jamais publiées.",
                                      "Free-text answers are counted (technical details), never "
                                      "published.", lang))


def _loyalty(df, name, lang, rules, config):
    hs = sorted(df["horizon_months"].dropna().unique())
    cols = [tr("Venue pour la première fois en", "First came in", lang),
            tr("Nouvelles personnes", "New people", lang)] + [
        tr(f"Revenues dans les {int(h)} mois", f"Back within {int(h)} months", lang)
        if h != 1 else tr("Revenues dans le mois", "Back within a month", lang) for h in hs]
    rows = []
    by_p = _group(df.to_dict("records"), "period")
    for p, recs in by_p.items():
        r0 = recs[0]
        by_h = {r["horizon_months"]: r for r in recs}
        cells = [str(p), _int(r0.get("new_people", r0.get("denominator")), lang)]
        cells += [_share_cell(by_h[h], lang) if h in by_h else "—" for h in hs]
        rows.append(cells)
    return ReaderTable(cols, rows, tr("Part des nouvelles personnes de la période revenues "
                                      "ensuite (effectif).", "Share of the period's new people "
                                      "who came back (count).", lang),
                       fold=len(rows) > 8)  # the figure below shows them


def _by_service(df, name, lang, rules, config):
    measure = "per_session"

    def cell(r):
        if _na(r.get("count")):
            return "—"
        return f"{_int(r['count'], lang)} ({_num(r.get(measure), 2, lang)})"

    cols, rows = _pivot_cells(df, "service", lambda r: _label(r, lang, "service"), cell, lang,
                              tr("Prestation", "Service", lang))
    return ReaderTable(cols, rows, tr("Nombre dans l'année (par permanence tenue).",
                                      "Number in the year (per session held).", lang))


def _drug_checking(df, name, lang, rules, config):
    cols = [tr("Circuit", "Route", lang), tr("Échantillons", "Samples", lang),
            tr("Part (IC 95 %)", "Share (95% CI)", lang),
            tr("Par permanence", "Per session", lang)]
    rows = [[_label(r, lang, "route"), _int(r["count"], lang),
             _ci(r.get("share"), r.get("ci_low"), r.get("ci_high"), lang, 0, pct=True),
             _num(r.get("per_session"), 2, lang)] for r in df.to_dict("records")]
    per = str(df["period"].iloc[0]) if len(df) and "period" in df else ""
    return ReaderTable(cols, rows, tr(f"Échantillons de produits, {per}.",
                                      f"Drug samples, {per}.", lang))


def _material(df, name, lang, rules, config):
    key = "item" if "item" in df.columns else "category"
    cols = [tr("Matériel", "Item", lang) if key == "item" else tr("Catégorie", "Category", lang)]
    if key == "item" and "category" in df.columns:
        cols.append(tr("Catégorie", "Category", lang))
    cols += [tr("Quantité", "Quantity", lang), tr("Par passage", "Per visit", lang)]
    rows = []
    for r in df.to_dict("records"):
        cells = [_label(r, lang, key)]
        if key == "item" and "category" in df.columns:
            cells.append(_label(r, lang, "category", "category_label"))
        cells += [_int(r["count"], lang), _num(r.get("per_visit"), 2, lang)]
        rows.append(cells)
    per = str(df["period"].iloc[0]) if len(df) and "period" in df else ""
    return ReaderTable(cols, rows, tr(f"Quantités distribuées, {per}.",
                                      f"Quantities handed out, {per}.", lang),
                       fold=len(rows) > FOLD_ROWS)


def _by_year_counts(key, first_fr, first_en, title_fr, title_en):
    """A shaper for count tables by year: ``key`` down, periods across, counts in cells."""

    def shaper(df, name, lang, rules, config):
        cols, rows = _pivot_cells(df, key, lambda r: _label(r, lang, key),
                                  lambda r: "—" if _na(r.get("count")) else _int(r["count"], lang),
                                  lang, tr(first_fr, first_en, lang))
        return ReaderTable(cols, rows, tr(title_fr, title_en, lang), fold=len(rows) > FOLD_ROWS)

    return shaper


_drug_checking_by_year = _by_year_counts("route", "Circuit", "Route",
                                         "Échantillons de produits par année.",
                                         "Drug samples per year.")
_material_by_year = _by_year_counts("item", "Matériel", "Item",
                                    "Quantités distribuées par année.",
                                    "Quantities handed out per year.")


def _activities(df, name, lang, rules, config):
    cols, rows = _pivot_cells(df, "activity", lambda r: _label(r, lang, "activity"),
                              lambda r: _int(r["count"], lang), lang,
                              tr("Activité", "Activity", lang))
    return ReaderTable(cols, rows, tr("Nombre dans l'année.", "Number in the year.", lang))


def _themes(df, name, lang, rules, config):
    cols = [tr("Thème", "Theme", lang), tr("Catégorie", "Category", lang),
            tr("Permanences", "Sessions", lang), tr("Période", "Period", lang),
            tr("Passages par permanence", "Visits per session", lang),
            tr("Nouvelles personnes par permanence", "First-time visitors per session", lang)]
    rows = [[str(r["theme"]), "—" if _na(r.get("theme_category")) else str(r["theme_category"]),
             _int(r.get("sessions"), lang),
             f"{_date(r.get('first_date'), lang)} – {_date(r.get('last_date'), lang)}",
             _num(r.get("visits_per_session"), 1, lang),
             _num(r.get("first_time_per_session"), 1, lang)] for r in df.to_dict("records")]
    return ReaderTable(cols, rows, fold=len(rows) > FOLD_ROWS)


def _surveys(df, name, lang, rules, config):
    cols = [tr("Réponse", "Answer", lang), tr("Part (IC 95 %)", "Share (95% CI)", lang),
            tr("Effectif", "Count", lang)]
    rows = []
    for _key, recs in _group(df.to_dict("records"), ("survey", "question")).items():
        r0 = recs[0]
        den = r0.get("respondents", r0.get("denominator"))
        rows.append([f"{_label(r0, lang, 'survey', 'survey_label')} — "
                     f"{_label(r0, lang, 'question', 'question_label')} "
                     f"(n = {_int(den, lang)})"])
        for r in recs:
            hidden = _is_hidden(r) or _na(r.get("count"))
            rows.append([_label(r, lang, "answer"),
                         "—" if hidden else _ci(r.get("share"), r.get("ci_low"), r.get("ci_high"),
                                                lang, 0, pct=True),
                         _hidden_text(r, lang) if hidden else _int(r["count"], lang)])
    return ReaderTable(cols, rows, tr("Part des répondant·es (n) ; plusieurs réponses possibles "
                                      "aux questions à choix multiples.",
                                      "Share of respondents (n); several answers possible on "
                                      "multiple-choice questions.", lang),
                       _hidden_note(rules, lang), fold=len(rows) > 2 * FOLD_ROWS)


def _rr_table(df, key, lang, first, extra=()):
    cols = [first, tr("Rapport de taux (IC 95 %)", "Rate ratio (95% CI)", lang), "p"]
    cols += [h for h, _ in extra]
    rows = []
    for r in df.to_dict("records"):
        if "status" in r and str(r.get("status")) not in ("estimated", "nan", "None", ""):
            note = str(r.get("note") or "").strip() or tr("non estimable", "not estimable", lang)
            cells = [key(r), note, "—"]
        else:
            cells = [key(r), _ci(r.get("rate_ratio"), r.get("ci_low"), r.get("ci_high"), lang, 2),
                     _p(r.get("p_value"), lang)]
        cells += [f(r) for _, f in extra]
        rows.append(cells)
    return cols, rows


def _themed_vs_plain(df, name, lang, rules, config):
    cols, rows = _rr_table(df, lambda r: code_label(r["outcome"], lang), lang,
                           tr("Critère", "Outcome", lang),
                           [(tr("Permanences thématisées", "Themed sessions", lang),
                             lambda r: _int(r.get("n_themed"), lang)),
                            (tr("Non thématisées", "Plain", lang),
                             lambda r: _int(r.get("n_plain"), lang))])
    return ReaderTable(cols, rows, tr("Permanences thématisées rapportées aux permanences non "
                                      "thématisées de la même période (> 1 : plus de passages).",
                                      "Themed sessions relative to plain sessions of the same "
                                      "period (> 1: more visits).", lang))


_OVERALL_GROUPS = {
    "all": ("Toutes les permanences", "All sessions"),
    "plain": ("Permanences non thématisées", "Plain sessions"),
    "themed": ("Permanences thématisées", "Themed sessions"),
}


def _overall(df, name, lang, rules, config):
    cols = [tr("Permanences depuis le début", "Sessions since the start", lang),
            tr("Permanences", "Sessions", lang),
            tr("Passages observés", "Visits observed", lang),
            tr("Passages attendus sans changement", "Visits expected without change", lang),
            tr("Observés / attendus (IC 95 %)", "Observed / expected (95% CI)", lang),
            tr("Écart en passages (IC 95 %)", "Gap in visits (95% CI)", lang)]
    rows = []
    for r in df.to_dict("records"):
        label = tr(*_OVERALL_GROUPS.get(str(r.get("group")), (str(r.get("group")),) * 2), lang)
        if str(r.get("status")) != "estimated":
            note = str(r.get("note") or tr("non estimable", "not estimable", lang))
            rows.append([label, _int(r.get("n"), lang), note, "—", "—", "—"])
            continue
        gap = "—" if _na(r.get("difference")) else (
            f"{_int(r['difference'], lang)} ({_int(r.get('difference_low'), lang)} "
            f"{tr('à', 'to', lang)} {_int(r.get('difference_high'), lang)})")
        rows.append([label, _int(r.get("n"), lang), _int(r.get("observed"), lang),
                     _int(r.get("expected"), lang),
                     _ci(r.get("rate_ratio"), r.get("ci_low"), r.get("ci_high"), lang, 2), gap])
    return ReaderTable(cols, rows, tr("Passages depuis le début de la thématisation, comparés à ce "
                                      "que la tendance et la saison antérieures prévoyaient.",
                                      "Visits since theming started, against what the earlier "
                                      "trend and season predicted.", lang))


def _its(df, name, lang, rules, config):
    cols, rows = _rr_table(df, lambda r: code_label(r["term"], lang), lang,
                           tr("Terme du modèle", "Model term", lang))
    fams = list(df["family"].dropna().astype(str)) if "family" in df.columns else []
    fam = fams[0] if fams else ""
    fam = {"negbin": tr("binomiale négative", "negative binomial", lang),
           "quasipoisson": tr("quasi-Poisson", "quasi-Poisson", lang),
           "poisson": tr("Poisson", "Poisson", lang)}.get(fam, fam)
    n = _int(df["n"].iloc[0], lang) if "n" in df.columns and len(df) else "—"
    return ReaderTable(cols, rows, tr(f"Modèle de comptage (loi {fam}) sur {n} permanences ; "
                                      "rapport de taux : multiplication des passages.",
                                      f"Count model ({fam}) on {n} sessions; rate ratio: "
                                      "multiplication of visits.", lang))


def _naive(df, name, lang, rules, config):
    cols = [tr("Période", "Period", lang), tr("Permanences", "Sessions", lang),
            tr("Passages", "Visits", lang),
            tr("Passages par permanence (IC 95 %)", "Visits per session (95% CI)", lang)]
    rows = [[code_label(r["period"], lang), _int(r.get("n"), lang), _int(r.get("count"), lang),
             _ci(r.get("estimate"), r.get("ci_low"), r.get("ci_high"), lang, 2)]
            for r in df.to_dict("records")]
    return ReaderTable(cols, rows)


def _sensitivity(df, name, lang, rules, config):
    cols, rows = _rr_table(df, lambda r: f"{_label(r, lang, 'run')} — "
                           f"{code_label(r['term'], lang)}", lang,
                           tr("Événement pris en compte — estimation", "Event allowed for — "
                              "estimate", lang))
    return ReaderTable(cols, rows, tr("Les estimations quand le modèle tient compte de "
                                      "l'événement.", "The estimates when the model allows for "
                                      "the event.", lang))


def _placebo(df, name, lang, rules, config):
    cols, rows = _rr_table(df, lambda r: f"{_date(r['fake_start'], lang)} — "
                           f"{code_label(r['term'], lang)}", lang,
                           tr("Fausse date de début — estimation", "Fake start — estimate", lang))
    return ReaderTable(cols, rows, tr("Estimations avec de fausses dates de début, avant le "
                                      "vrai début : elles devraient rester proches de 1.",
                                      "Estimates with fake start dates before the real one: "
                                      "they should stay close to 1.", lang), fold=True)


def _power(df, name, lang, rules, config):
    targets = list(dict.fromkeys(df["target"]))
    cols = [tr("Effet vrai (rapport de taux)", "True effect (rate ratio)", lang)] + [
        code_label(t, lang) for t in targets]
    rows = []
    for rr, recs in sorted(_group(df.to_dict("records"), "rate_ratio").items()):
        by = {r["target"]: r for r in recs}
        rows.append([_num(rr, 2, lang)] + [_pct(by[t]["power"], lang) if t in by else "—"
                                           for t in targets])
    n = _int(df["n"].iloc[0], lang) if "n" in df.columns and len(df) else "—"
    return ReaderTable(cols, rows, tr(f"Puissance : chance de conclure à un effet s'il existe "
                                      f"({n} simulations par case).",
                                      f"Power: the chance of detecting an effect that exists "
                                      f"({n} simulations per cell).", lang), fold=True)


_SHAPERS = {
    "profiles_by_year": _composition,
    "profiles_newcomers": _composition,
    "profiles_before_after": _before_after,
    "profiles_tests": _tests,
    "attendance_by_year": _attendance,
    "attendance_by_period": _attendance,
    "attendance_loyalty": _loyalty,
    "quality_sessions": _quality_sessions,
    "quality_gaps": _quality_gaps,
    "quality_completeness": _quality_completeness,
    "quality_consistency": _quality_consistency,
    "quality_outliers": _quality_outliers,
    "quality_surveys": _quality_surveys,
    "rapid_tests_by_year": _by_service,
    "services_by_year": _by_service,
    "services_total": _by_service,
    "drug_checking": _drug_checking,
    "drug_checking_by_year": _drug_checking_by_year,
    "material_items_by_year": _material_by_year,
    "material_by_category": _material,
    "material_items": _material,
    "activities_by_year": _activities,
    "activities_themes": _themes,
    "survey_results": _surveys,
    "theming_themed_vs_plain": _themed_vs_plain,
    "theming_its_effects": _its,
    "theming_overall": _overall,
    "theming_naive": _naive,
    "theming_sensitivity": _sensitivity,
    "theming_placebo": _placebo,
    "theming_power": _power,
}


def reader_table(df, name: str, *, lang: str = "fr", rules=None, config=None):
    """Shape a published table for reading; ``None`` when ``name`` has no reader form.

    Parameters
    ----------
    df : pandas.DataFrame
        The published (protected) tidy table, or the rows of it to show.
    name : str
        Its published name (``profiles_by_year``...): chooses the shape.
    lang : {"fr", "en"}
    rules : DisclosureRules, optional
        Only to word the note on hidden cells (threshold).
    config : EvaluationConfig, optional
        For the labels of reporting groups.

    Returns
    -------
    ReaderTable or None
    """
    shaper = _SHAPERS.get(name)
    if shaper is None:
        return None
    if len(df) == 0 and shaper not in (_quality_gaps, _quality_outliers, _quality_surveys):
        return ReaderTable(sentence=tr("Rien à montrer pour cette période.",
                                       "Nothing to show for this period.", lang))
    if (name.startswith("theming_") and "status" in df.columns and len(df)
            and not (df["status"].astype(str) == "estimated").any()):
        # nothing in this theming table could be estimated: say why once, not a grid of dashes
        notes = [str(n) for n in (df["note"].dropna().unique() if "note" in df.columns else [])
                 if str(n).strip()]
        return ReaderTable(sentence=" ".join(notes) or tr(
            "Non estimable avec ces données.", "Not estimable with these data.", lang))
    try:
        return shaper(df, name, lang, rules, config)
    except (KeyError, IndexError, TypeError, ValueError):
        return None  # an unexpected shape: the generic rendering shows it


def _cell_class(text: str) -> str:
    t = text.strip()
    return ' class="num"' if t and (t[0].isdigit() or t[0] in "<+−-—" or t == "n.d.") else ""


def render_html(rt: ReaderTable, *, title: str = "", person: bool = False, lang: str = "fr") -> str:
    """HTML of a :class:`ReaderTable` (escaped), folded behind ``<details>`` when long."""
    if rt.sentence:
        return f'<p class="table-sentence">{html.escape(rt.sentence)}</p>'
    n = max(len(rt.columns), 1)
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in rt.columns)
    body = []
    for row in rt.rows:
        if len(row) == 1 and n > 1:
            body.append(f'<tr class="rowgroup"><th colspan="{n}" scope="colgroup">'
                        f"{html.escape(row[0])}</th></tr>")
        else:
            cells = [f'<th scope="row">{html.escape(row[0])}</th>'] + [
                f"<td{_cell_class(c)}>{html.escape(c)}</td>" for c in row[1:]]
            body.append("<tr>" + "".join(cells) + "</tr>")
    cap = " ".join(x for x in (title, rt.caption) if x)
    cap_html = ""
    if title or rt.caption:
        cap_html = ("<caption>" + (f"<strong>{html.escape(title)}</strong> " if title else "")
                    + (f'<span class="unit">{html.escape(rt.caption)}</span>' if rt.caption
                       else "") + "</caption>")
    cls = "qsp-table reader " + ("qsp-person" if person else "qsp-activity")
    table = (f'<div class="table-wrap"><table class="{cls}">{cap_html}<thead><tr>{head}</tr>'
             f"</thead><tbody>{''.join(body)}</tbody></table></div>")
    note = f'<p class="table-note">{html.escape(rt.note)}</p>' if rt.note else ""
    if rt.fold:
        summary = (title or rt.caption or tr("Tableau détaillé", "Detailed table", lang))
        rows = sum(1 for r in rt.rows if len(r) > 1)
        summary = tr(f"{summary} — tableau détaillé ({rows} lignes)",
                     f"{summary} — detailed table ({rows} rows)", lang) if cap else summary
        return (f'<details class="fold"><summary>{html.escape(summary)}</summary>'
                f"{table}{note}</details>")
    return table + note


# ---------------------------------------------------------------------------
# Workbook sheets
# ---------------------------------------------------------------------------
#: name -> (French sheet name, English sheet name, French definition, English definition, unit fr,
#: unit en). Sheet names are at most 31 characters (Excel).
SHEET_INFO = {
    "key_figures": ("Chiffres clés", "Key figures", "Les chiffres clés de la dernière année.",
                    "The key figures of the last year.", "selon la ligne", "per row"),
    "quality_sessions": ("Permanences enregistrées", "Sessions recorded",
                         "Permanences attendues, enregistrées, tenues et annulées par année.",
                         "Sessions expected, recorded, held and cancelled per year.",
                         "permanences", "sessions"),
    "quality_gaps": ("Interruptions", "Gaps", "Séries de permanences non tenues.",
                     "Runs of sessions not held.", "permanences", "sessions"),
    "quality_completeness": ("Complétude des profils", "Profile completeness",
                             "Passages où le champ de profil n'est pas renseigné.",
                             "Visits where the profile field is not stated.", "passages",
                             "visits"),
    "quality_consistency": ("Contrôles de cohérence", "Consistency checks",
                            "Nombre de cas de chaque contrôle par année.",
                            "Number of cases of each check per year.", "selon le contrôle",
                            "per check"),
    "quality_outliers": ("Permanences inhabituelles", "Unusual sessions",
                         "Permanences à fréquentation inhabituelle (z robuste > 3,5).",
                         "Sessions with unusual attendance (robust z > 3.5).", "passages",
                         "visits"),
    "quality_surveys": ("Réponses aux questionnaires", "Survey responses",
                        "Nombre de réponses par questionnaire.", "Responses per survey.",
                        "réponses", "responses"),
    "attendance_by_year": ("Fréquentation par année", "Attendance by year",
                           "Permanences, passages, personnes différentes et nouvelles par année.",
                           "Sessions, visits, different and new people per year.",
                           "permanences, passages, personnes", "sessions, visits, people"),
    "attendance_by_period": ("Fréquentation par période", "Attendance by period",
                             "Comme par année, pour la période choisie.",
                             "As per year, for the chosen period.",
                             "permanences, passages, personnes", "sessions, visits, people"),
    "attendance_seasonality": ("Saisonnalité", "Seasonality",
                               "Passages par permanence selon le mois de l'année.",
                               "Visits per session by month of the year.",
                               "passages par permanence", "visits per session"),
    "attendance_loyalty": ("Fidélisation", "Loyalty",
                           "Nouvelles personnes revenues dans le mois et les trois mois.",
                           "New people who came back within one and three months.",
                           "personnes", "people"),
    "profiles_by_year": ("Profils par année", "Profiles by year",
                         "Composition du public par année (personnes différentes et passages).",
                         "Who comes, per year (different people and visits).",
                         "personnes ou passages (colonne Unité)", "people or visits (Unit)"),
    "profiles_newcomers": ("Profils des nouvelles personnes", "Newcomers' profiles",
                           "Composition des personnes venues pour la première fois.",
                           "Profile of first-time visitors.", "personnes", "people"),
    "profiles_before_after": ("Profils avant-après", "Profiles before-after",
                              "Composition dans l'année avant et après chaque événement.",
                              "Who comes in the year before and after each event.",
                              "personnes", "people"),
    "profiles_tests": ("Tests sur les profils", "Profile tests",
                       "Tests de tendance et d'homogénéité des parts entre années.",
                       "Trend and homogeneity tests of shares across years.", "p", "p"),
    "theming_themed_vs_plain": ("Thématisées ou non", "Themed vs plain",
                                "Permanences thématisées rapportées aux non thématisées.",
                                "Themed sessions relative to plain sessions.",
                                "rapport de taux", "rate ratio"),
    "theming_overall": ("Écart à la tendance", "Gap to the trend",
                        "Passages observés depuis le début de la thématisation et passages "
                        "attendus sans changement.",
                        "Visits observed since theming started and visits expected without "
                        "change.", "passages", "visits"),
    "theming_its_effects": ("Série interrompue", "Interrupted series",
                            "Termes du modèle de série chronologique interrompue.",
                            "Terms of the interrupted time series model.", "rapport de taux",
                            "rate ratio"),
    "theming_naive": ("Avant-après simple", "Simple before-after",
                      "Passages par permanence avant et après le début (à ne pas lire seul).",
                      "Visits per session before and after the start (not to be read alone).",
                      "passages par permanence", "visits per session"),
    "theming_sensitivity": ("Sensibilité", "Sensitivity",
                            "Estimations en tenant compte des événements de contexte.",
                            "Estimates allowing for context events.", "rapport de taux",
                            "rate ratio"),
    "theming_placebo": ("Placebos", "Placebos", "Estimations avec de fausses dates de début.",
                        "Estimates with fake start dates.", "rapport de taux", "rate ratio"),
    "theming_power": ("Puissance", "Power", "Puissance selon l'effet vrai.",
                      "Power by true effect.", "probabilité", "probability"),
    "rapid_tests_by_year": ("Tests rapides", "Rapid tests", "Tests rapides (TROD) par année.",
                            "Rapid tests per year.", "tests", "tests"),
    "services_by_year": ("Prestations", "Services", "Prestations par année.",
                         "Services per year.", "prestations", "services"),
    "services_total": ("Prestations (total)", "Services (total)",
                       "Prestations sur toute la période du rapport.",
                       "Services over the whole period of the report.", "prestations",
                       "services"),
    "drug_checking_by_year": ("Analyse par année", "Drug checking by year",
                              "Échantillons analysés par année et par circuit.",
                              "Samples analysed per year and route.", "échantillons",
                              "samples"),
    "material_items_by_year": ("Matériel par année", "Material by year",
                               "Matériel distribué par article et par année.",
                               "Material by item and year.", "articles", "items"),
    "drug_checking": ("Analyse de produits", "Drug checking", "Échantillons analysés.",
                      "Samples analysed.", "échantillons", "samples"),
    "material_by_category": ("Matériel par catégorie", "Material by category",
                             "Matériel distribué par catégorie.", "Material by category.",
                             "articles", "items"),
    "material_items": ("Matériel distribué", "Material handed out",
                       "Matériel distribué par article.", "Material by item.", "articles",
                       "items"),
    "activities_by_year": ("Activités par année", "Activities by year",
                           "Activités collectives par année.", "Collective activities per year.",
                           "permanences, séances", "sessions"),
    "activities_themes": ("Thèmes", "Themes", "Fréquentation des permanences par thème.",
                          "Attendance of sessions by theme.", "permanences, passages",
                          "sessions, visits"),
    "survey_results": ("Questionnaires", "Surveys", "Réponses aux questionnaires.",
                       "Survey answers.", "réponses", "responses"),
}


def sheet_name(name: str, lang: str = "fr") -> str:
    """Sheet title of a published table in ``lang`` (at most 31 characters).

    Examples
    --------
    >>> sheet_name("profiles_by_year")
    'Profils par année'
    """
    info = SHEET_INFO.get(name)
    if info is None:
        return name[:31]
    return (info[0] if lang == "fr" else info[1])[:31]


_CODE_COLS = {"field", "group", "term", "outcome", "test", "route", "target", "service", "item",
              "category", "activity", "check", "event_kind", "direction", "among", "unit",
              "period"}
#: Columns of codes whose words are in a ``label_<lang>`` column of the same table.
_LABELLED_BY = {"service": "label", "item": "label", "activity": "label", "route": "label",
                "category": "category_label", "event": "event_label", "run": "label",
                "survey": "survey_label", "question": "question_label", "answer": "label",
                "group": "label"}


def sheet_frame(df, name: str, *, lang: str = "fr", config=None):
    """A published tidy table for people: labels instead of codes, headers in ``lang``.

    Rows and numbers are those of the CSV (nothing recomputed, hidden cells stay
    hidden); technical columns (``suppressed``, the other language's labels...)
    are dropped.  Returns ``(frame, formats)``, ``formats`` mapping a header to
    an Excel number format (``0.0%`` for shares, ``0.00`` for estimates...).

    Examples
    --------
    >>> import pandas as pd
    >>> f, fmt = sheet_frame(pd.DataFrame({"field": ["gender"], "group": ["cis_man"],
    ...                                    "share": [0.5]}), "profiles_by_year")
    >>> list(f.columns), f.iloc[0, :2].tolist(), fmt["Part"]
    (['Champ', 'Groupe', 'Part'], ['Identité de genre', 'Homme cis'], '0.0%')
    """
    import pandas as pd

    other = "en" if lang == "fr" else "fr"
    out = pd.DataFrame(index=df.index)
    formats = {}
    drop = {"suppressed", "suppression", "multi", "order", "key", "ci_method", "diff_ci_method",
            "trend_method", "count_source", "type", "level", "note_" + other}
    cols = [c for c in df.columns if str(c) not in drop and not str(c).endswith(f"_{other}")]
    used = set()
    for c in cols:
        c = str(c)
        if c.endswith(f"_{lang}") and c[: -len(lang) - 1] in ("label", "survey_label",
                                                              "question_label", "event_label",
                                                              "category_label", "theme_label"):
            continue  # used as the words of their code column below
        s = df[c]
        lab_col = f"{_LABELLED_BY.get(c, '')}_{lang}"
        if c in _LABELLED_BY and lab_col in df.columns:
            s = df[lab_col].where(df[lab_col].notna(), df[c])
        elif c == "group" and "field" in df.columns:
            s = pd.Series([code_label(g, lang, field_code=f, config=config)
                           for f, g in zip(df["field"], df["group"])], index=df.index)
        elif c in _CODE_COLS or c in ("term", "fake_start"):
            if c == "fake_start":
                s = df[c]
            else:
                s = df[c].map(lambda v: v if _na(v) else code_label(v, lang))
        elif pd.api.types.is_bool_dtype(s.dtype):
            s = s.map(lambda v: tr("oui", "yes", lang) if v else tr("non", "no", lang))
        head = column_header(c, lang)
        if c == "count_display":
            head = tr("Effectif publié", "Published count", lang)
        k = 2
        base = head
        while head in used:
            head = f"{base} ({k})"
            k += 1
        used.add(head)
        out[head] = s
        if c in ("share", "share_known", "share_recorded", "share_returning",
                 "share_of_respondents", "power") or (
                c in ("ci_low", "ci_high", "ci_known_low", "ci_known_high")
                and "share" in df.columns):
            formats[head] = "0.0%"
        elif c in ("p_value", "p_value_holm"):
            formats[head] = "0.000"
        elif pd.api.types.is_float_dtype(df[c].dtype):
            if df[c].dropna().map(float.is_integer).all():
                formats[head] = "0"
            else:
                formats[head] = "0.00" if c in ("rate_ratio", "ci_low", "ci_high", "estimate",
                                                "difference", "diff_ci_low", "diff_ci_high",
                                                "per_session", "per_visit", "per_10_visits",
                                                "statistic") else "0.0"
    return out.reset_index(drop=True), formats
