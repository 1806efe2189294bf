"""``qsp-eval summary SOURCE``: attendance per period and the main profile shares.

Heavy libraries (pandas, scipy) are imported inside :func:`run` only.
"""

from __future__ import annotations

from ..i18n import tr
from ._common import add_key_file_argument, add_source_argument, load_dataset

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run", "build_summary"]

HELP = (
    "fréquentation par période et principaux profils",
    "attendance per period and main profile shares",
)
DESCRIPTION = (
    "Affiche, pour chaque période, les permanences tenues et annulées, les passages, la\n"
    "moyenne de passages par permanence tenue avec son intervalle de confiance à 95 %, le\n"
    "nombre de personnes distinctes et de nouvelles personnes ; puis la part de chaque\n"
    "groupe de profil (groupes de restitution de evaluation.yml appliqués), parmi les\n"
    "personnes distinctes et parmi les passages. Les petits effectifs sont masqués selon\n"
    "les règles de diffusion.\n\n"
    "Avec --year-start 9, l'année de restitution va de septembre à août (périodes\n"
    "« 2022-2023 »...).\n\n"
    "Exemple : qsp-eval summary data/example --period quarter",
    "Prints, for each period, the sessions held and cancelled, the visits, the mean\n"
    "number of visits per held session with its 95% confidence interval, the number of\n"
    "distinct people and of first-time visitors; then the share of each profile group\n"
    "(reporting groups of evaluation.yml applied), among distinct people and among visits.\n"
    "Small cells are hidden as the disclosure rules say.\n\n"
    "With --year-start 9 the reporting year runs from September to August (periods\n"
    "'2022-2023'...).\n\n"
    "Example: qsp-eval summary data/example --period quarter --lang en",
)

_ATT_KEYS = ("period", "sessions_held", "sessions_cancelled", "visits", "mean_visits_per_session",
             "ci_low", "ci_high", "distinct_people", "first_time_visitors")
_PROF_KEYS = ("field", "period", "group", "unit", "count", "share", "share_known")


def _month(text: str) -> int:
    """``--year-start`` value: a month number 1-12 (ArgumentTypeError otherwise)."""
    import argparse

    try:
        m = int(str(text).strip())
    except ValueError:
        m = 0
    if not 1 <= m <= 12:
        raise argparse.ArgumentTypeError(tr(
            f"mois invalide « {text} » : un nombre de 1 (janvier) à 12 (décembre)",
            f"invalid month '{text}': a number from 1 (January) to 12 (December)"))
    return m


def add_arguments(parser) -> None:
    """Declare SOURCE, ``--key-file``, ``--period``, ``--year-start`` and ``--json``."""
    add_source_argument(parser)
    add_key_file_argument(parser)
    parser.add_argument(
        "--period", choices=("year", "half", "quarter", "month"), default="year",
        help=tr("période de regroupement (année par défaut)",
                "grouping period (default: year)"),
    )
    parser.add_argument(
        "--year-start", metavar=tr("MOIS", "MONTH"), type=_month, default=1,
        help=tr("premier mois de l'année de restitution, de 1 à 12 (défaut 1 = année civile ; "
                "9 : de septembre à août, périodes « 2022-2023 »)",
                "first month of the reporting year, 1 to 12 (default 1 = calendar year; "
                "9: September to August, periods '2022-2023')"),
    )
    parser.add_argument(
        "--json", action="store_true",
        help=tr("sortie JSON (objet avec « attendance » et « profiles »)",
                "JSON output (object with 'attendance' and 'profiles')"),
    )


def _protect_profiles(profiles, config, lang="fr"):
    """The single place where the disclosure rules are applied to the profile table.

    Uses :mod:`qsp_eval.disclosure` (small person-attribute cells suppressed,
    shares of small groups blanked; adds ``suppressed`` and ``count_display``).
    Single-choice fields are protected with their per-period margin
    (``field, period, unit``: the cells add up to the denominator); the
    multi-select ``products`` cells do not add up to a margin and are
    protected cell by cell.  Returns ``(table, applied)``; ``applied`` is False
    only when the disclosure module is not installed.
    """
    import importlib

    import pandas as pd

    try:
        disclosure = importlib.import_module("qsp_eval.disclosure")
    except ModuleNotFoundError as exc:  # module not written yet
        if exc.name != "qsp_eval.disclosure":
            raise
        return profiles, False
    rules = disclosure.rules_from_config(getattr(config, "disclosure", {}) or {})
    shares = ("share", "share_known", "ci_low", "ci_high", "ci_known_low", "ci_known_high")
    parts = []
    multi = profiles["multi"].astype(bool)
    for is_multi, part in ((False, profiles.loc[~multi]), (True, profiles.loc[multi])):
        if part.empty:
            continue
        parts.append(disclosure.protect_table(
            part, rules=rules, kind="person",
            by=() if is_multi else ("field", "period", "unit"),
            count_col="count", denominator_col="denominator", share_cols=shares, lang=lang))
    return pd.concat(parts).sort_index(), True


def build_summary(dataset, *, period: str = "year", year_start_month: int = 1,
                  lang: str = "fr"):
    """Compute the two summary tables (attendance, profiles) of ``dataset``.

    ``period`` and ``year_start_month`` (first month of the reporting year,
    1 = calendar year) are passed to both analyses.

    Returns
    -------
    (attendance, profiles, protected) : (DataFrame, DataFrame, bool)
        ``attendance`` from :func:`qsp_eval.attendance.by_period`; ``profiles``
        from :func:`qsp_eval.profiles.composition` with reporting groups applied
        (the ``reporting`` level for fields that have groups, detailed codes
        otherwise), both units, after the disclosure rules when available
        (``protected`` True).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> att, prof, _ = build_summary(make_dataset([{"date": "2023-01-04", "attendance": 2}]))
    >>> str(att.loc[0, "period"]), int(att.loc[0, "visits"])
    ('2023', 2)
    """
    from ..attendance import by_period
    from ..profiles import composition

    att = by_period(dataset, period=period, year_start_month=year_start_month)
    comp = composition(dataset, period=period, year_start_month=year_start_month)
    has_rep = set(comp.loc[comp["level"] == "reporting", "field"])
    keep = (comp["level"] == "reporting") | ~comp["field"].isin(has_rep)
    prof = comp.loc[keep].reset_index(drop=True)
    prof, protected = _protect_profiles(prof, dataset.config, lang)
    return att, prof, protected


def _num(x, nd=None):
    """A JSON-safe number: None for NA/NaN/inf, int when whole (unless ``nd`` given)."""
    import math

    import pandas as pd

    if x is None or isinstance(x, str):
        return x
    if pd.isna(x):
        return None
    f = float(x)
    if math.isinf(f):
        return None
    if nd is None and f.is_integer():
        return int(f)
    return round(f, nd) if nd is not None else f


def _json_rows(att, prof):
    a = []
    floats = {"mean_visits_per_session", "ci_low", "ci_high"}
    for r in att.to_dict("records"):
        row = {}
        for k in _ATT_KEYS:
            if k == "period":
                row[k] = str(r[k])
            elif k in floats:
                row[k] = _num(r[k], 6)
            else:
                row[k] = _num(r[k])
        a.append(row)
    p = []
    for r in prof.to_dict("records"):
        row = {k: r.get(k) for k in _PROF_KEYS}
        row["count"] = _num(row["count"])
        row["share"] = _num(row["share"], 6)
        row["share_known"] = _num(row["share_known"], 6)
        for k in ("field", "period", "group", "unit"):
            row[k] = str(row[k])
        if r.get("suppressed") is True:
            row["count"] = row["share"] = row["share_known"] = None
        p.append(row)
    return {"attendance": a, "profiles": p}


def _fmt_num(x, nd=2, lang="fr"):
    v = _num(x)
    if v is None:
        return "–"
    if isinstance(v, int) and nd == 0:
        return str(v)
    s = f"{float(v):.{nd}f}"
    return s.replace(".", ",") if lang == "fr" else s


def _fmt_pct(x, lang="fr"):
    v = _num(x)
    if v is None:
        return "–"
    s = f"{100 * float(v):.0f}"
    return f"{s} %" if lang == "fr" else f"{s}%"


def _table(header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w)
                       for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


_FIELD_LABELS = {
    "gender": ("Identité de genre", "Gender identity"),
    "orientation": ("Orientation sexuelle", "Sexual orientation"),
    "age_band": ("Tranche d'âge", "Age band"),
    "chemsex": ("Pratique le chemsex", "Practises chemsex"),
    "injects": ("Pratique l'injection", "Injects"),
    "products": ("Produits consommés (plusieurs réponses possibles)",
                 "Products used (several answers possible)"),
    "heard_via": ("A connu la permanence par", "Heard of the session via"),
}


def _text(dataset, att, prof, protected, lang):
    from ..profiles import group_label

    out = []
    cfg = dataset.config
    out.append(tr(f"Synthèse : {cfg.programme}", f"Summary: {cfg.programme}", lang))
    if cfg.synthetic:
        out.append(tr("(données synthétiques)", "(synthetic data)", lang))
    out.append("")
    out.append(tr("Fréquentation par période", "Attendance per period", lang))
    header = [tr("Période", "Period", lang), tr("Tenues", "Held", lang),
              tr("Annulées", "Cancelled", lang), tr("Passages", "Visits", lang),
              tr("Moy./perm.", "Mean/session", lang), tr("IC 95 %", "95% CI", lang),
              tr("Personnes", "People", lang), tr("Nouvelles", "First-time", lang)]
    rows = []
    for r in att.to_dict("records"):
        ci = "–" if _num(r["ci_low"]) is None else (
            f"{_fmt_num(r['ci_low'], 2, lang)}–{_fmt_num(r['ci_high'], 2, lang)}")
        rows.append([r["period"], _fmt_num(r["sessions_held"], 0), _fmt_num(r["sessions_cancelled"], 0),
                     _fmt_num(r["visits"], 0), _fmt_num(r["mean_visits_per_session"], 2, lang), ci,
                     _fmt_num(r["distinct_people"], 0), _fmt_num(r["first_time_visitors"], 0)])
    out.append(_table(header, rows))
    methods = sorted(set(att["ci_method"]) - {"none"})
    names = {"poisson_exact": tr("Poisson exact", "exact Poisson", lang),
             "quasi_poisson": tr("quasi-Poisson (surdispersion)", "quasi-Poisson (overdispersion)",
                                 lang)}
    if methods:
        out.append(tr("Intervalle : ", "Interval: ", lang)
                   + ", ".join(names.get(m, m) for m in methods)
                   + tr(". Les permanences annulées sont exclues de la moyenne ; les permanences "
                        "sans passage comptent pour 0.",
                        ". Cancelled sessions are left out of the mean; sessions without any "
                        "visit count as 0.", lang))
    periods = list(att["period"])
    has_people = bool((prof.loc[prof["unit"] == "people", "denominator"] > 0).any())
    for unit in (("people",) if has_people else ("visits",)):
        out.append("")
        out.append(tr("Profils — part des personnes distinctes (valeur connue la plus récente "
                      "de chaque personne dans la période)",
                      "Profiles — share of distinct people (each person's most recent known "
                      "answer in the period)", lang) if unit == "people" else
                   tr("Profils — part des passages", "Profiles — share of visits", lang))
        out.append(tr("Part parmi toutes les réponses, « Non renseigné » compris ; entre "
                      "parenthèses : part parmi les réponses connues.",
                      "Share among all answers, 'Not stated' included; in brackets: share among "
                      "known answers.", lang))
        for field, lab in _FIELD_LABELS.items():
            f = prof.loc[(prof["field"] == field) & (prof["unit"] == unit)]
            if f.empty:
                continue
            groups = list(dict.fromkeys(f["group"]))
            rows = []
            for g in groups:
                cells = []
                any_nonzero = False
                for per in periods:
                    c = f.loc[(f["group"] == g) & (f["period"] == per)]
                    if c.empty:
                        cells.append("–")
                        continue
                    c = c.iloc[0]
                    if bool(c.get("suppressed", False)):
                        cells.append(str(c.get("count_display") or tr("n.d.", "[c]", lang)))
                        any_nonzero = True
                        continue
                    if _num(c["count"]):
                        any_nonzero = True
                    if _num(c["share"]) is None:
                        cells.append(tr("n.d.", "[c]", lang) if _num(c["denominator"]) else "–")
                        continue
                    cell = _fmt_pct(c["share"], lang)
                    if g != "unknown" and _num(c["share_known"]) is not None:
                        cell += f" ({_fmt_pct(c['share_known'], lang)})"
                    cells.append(cell)
                if any_nonzero:
                    rows.append([group_label(field, g, dataset.config, lang), *cells])
            if not rows:
                continue
            out.append("")
            out.append(tr(*lab, lang))
            out.append(_table([tr("Groupe", "Group", lang), *periods], rows))
    out.append("")
    out.append(tr("Les profils ne portent que sur les passages enregistrés un par un (pas sur les "
                  "décomptes). Tableau complet, personnes et passages : --json.",
                  "Profiles only cover visits recorded one by one (not tallies). Full table, "
                  "people and visits: --json.", lang))
    if protected:
        out.append(tr("Petits effectifs masqués selon les règles de diffusion (« < 5 » : moins "
                      "de 5 ; « n.d. » : non diffusé).",
                      "Small cells hidden as the disclosure rules say ('< 5': under 5; '[c]': "
                      "withheld).", lang))
    else:
        out.append(tr("Attention : règles de diffusion non appliquées (module indisponible) ; "
                      "ne pas diffuser ce tableau tel quel.",
                      "Warning: disclosure rules not applied (module unavailable); do not "
                      "publish this table as it is.", lang))
    return "\n".join(out)


def run(args) -> int:
    """Load SOURCE, compute the summary and print it (text or ``--json``)."""
    import json

    dataset = load_dataset(args.source, key_file=getattr(args, "key_file", None))
    att, prof, protected = build_summary(dataset, period=args.period,
                                         year_start_month=getattr(args, "year_start", 1),
                                         lang=args.lang)
    if args.json:
        print(json.dumps(_json_rows(att, prof), ensure_ascii=False, indent=1, allow_nan=False))
    else:
        print(_text(dataset, att, prof, protected, args.lang))
    return 0
