"""``qsp-eval its CSV ...``: interrupted time series on any count series.

Heavy libraries (pandas, statsmodels) are imported inside :func:`run` only.
"""

from __future__ import annotations

from ..i18n import tr

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run", "its_payload"]

HELP = (
    "série temporelle interrompue sur une série de comptes (tout fichier CSV)",
    "interrupted time series on a count series (any CSV file)",
)
DESCRIPTION = (
    "Estime le changement de niveau (et de pente) d'une série de comptes à une date\n"
    "d'intervention : régression de comptes (log) comptes ~ tendance + saut à l'intervention\n"
    "+ changement de pente (centré sur l'intervention) + saisonnalité (paires sinus/cosinus)\n"
    "+ décalage log(exposition). Rapports de taux avec IC de Wald à 95 %.\n"
    "Le fichier : une ligne par période ; séparateur « ; » ou « , », dates jj/mm/aaaa ou\n"
    "aaaa-mm-jj, décimales avec virgule acceptées.\n\n"
    "Exemple : qsp-eval its sicily.csv --date date --count aces --intervention 2005-01-01 \\\n"
    "            --offset stdpop --harmonics 2 --period 12 --no-slope-change",
    "Estimates the level (and slope) change of a count series at an intervention date:\n"
    "count regression (log link) count ~ trend + jump at the intervention + slope change\n"
    "(centred at the intervention) + seasonality (sine/cosine pairs) + offset log(exposure).\n"
    "Rate ratios with 95% Wald intervals.\n"
    "The file: one row per period; ';' or ',' separated, dates dd/mm/yyyy or yyyy-mm-dd,\n"
    "decimal commas accepted.\n\n"
    "Example: qsp-eval its sicily.csv --date date --count aces --intervention 2005-01-01 \\\n"
    "            --offset stdpop --harmonics 2 --period 12 --no-slope-change",
)


def add_arguments(parser) -> None:
    """Declare the CSV argument and the model options."""
    parser.add_argument("csv", metavar="CSV", help=tr(
        "fichier CSV (ou XLSX) : une ligne par période", "CSV (or XLSX) file: one row per period"))
    parser.add_argument("--date", metavar="COL", help=tr(
        "colonne des dates (le temps est alors le temps calendaire, en années)",
        "column of dates (time is then calendar time, in years)"))
    parser.add_argument("--count", metavar="COL", required=True, help=tr(
        "colonne des comptes (entiers positifs ou nuls)",
        "column of counts (non-negative whole numbers)"))
    parser.add_argument("--intervention", metavar="DATE", required=True, help=tr(
        "première date après l'intervention (aaaa-mm-jj ou jj/mm/aaaa) ; sans --date, une "
        "valeur de --time",
        "first date after the intervention (yyyy-mm-dd or dd/mm/yyyy); without --date, a "
        "value of --time"))
    parser.add_argument("--time", metavar="COL", help=tr(
        "colonne d'un indice de temps tout prêt (1, 2, 3...) à la place du temps calendaire",
        "column holding a ready-made time index (1, 2, 3...) instead of calendar time"))
    parser.add_argument("--offset", metavar="COL", help=tr(
        "colonne d'exposition (population, nombre de permanences...) dont le log entre dans "
        "le modèle : les effets deviennent des rapports de taux par unité d'exposition",
        "exposure column (population, number of sessions...) whose log enters the model: "
        "effects become rate ratios per unit of exposure"))
    parser.add_argument("--harmonics", metavar="K", type=int, default=0, help=tr(
        "nombre de paires sinus/cosinus pour la saisonnalité (0 = aucune ; défaut 0)",
        "number of sine/cosine pairs for seasonality (0 = none; default 0)"))
    parser.add_argument("--period", metavar="P", type=float, default=12.0, help=tr(
        "longueur du cycle saisonnier (12 pour des mois, 365.25 pour des jours ; défaut 12)",
        "length of the seasonal cycle (12 for months, 365.25 for days; default 12)"))
    parser.add_argument("--season-position", metavar="COL", help=tr(
        "colonne de la position dans le cycle (ex. numéro du mois 1-12) ; par défaut le mois "
        "de la date si la période vaut 12, sinon le jour de l'année",
        "column with the position in the cycle (e.g. month number 1-12); default: the month "
        "of the date when the period is 12, else the day of the year"))
    parser.add_argument("--family", choices=("poisson", "quasipoisson", "negbin", "auto"),
                        default="quasipoisson", help=tr(
        "loi des comptes : poisson, quasipoisson (défaut ; échelle de Pearson), negbin "
        "(binomiale négative, α par maximum de vraisemblance) ou auto (Poisson si la "
        "dispersion ≤ 1, sinon quasi-Poisson)",
        "count family: poisson, quasipoisson (default; Pearson scale), negbin (negative "
        "binomial, α by maximum likelihood) or auto (Poisson when the dispersion ≤ 1, else "
        "quasi-Poisson)"))
    parser.add_argument("--no-slope-change", action="store_true", help=tr(
        "sans terme de changement de pente (saut de niveau seul)",
        "no slope-change term (level change only)"))
    parser.add_argument("--hac-lags", metavar="L", type=int, help=tr(
        "erreurs types de Newey-West (robustes à l'autocorrélation) avec L retards",
        "Newey-West (autocorrelation-robust) standard errors with L lags"))
    parser.add_argument("--json", action="store_true", help=tr(
        "sortie JSON : family, n, dispersion, effects [{term, rate_ratio, ci_low, ci_high, "
        "p_value}], diagnostics",
        "JSON output: family, n, dispersion, effects [{term, rate_ratio, ci_low, ci_high, "
        "p_value}], diagnostics"))


def _float(x):
    import math

    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def its_payload(result) -> dict:
    """The ``--json`` object of a :func:`qsp_eval.its.fit_its` result."""
    from ..its import inference_method, its_diagnostics, its_effects

    eff = its_effects(result)
    diag = its_diagnostics(result)
    inf = inference_method(result)
    return {
        "inference": {"distribution": inf["distribution"], "df": inf["df"],
                      "text_fr": inf["text_fr"], "text_en": inf["text_en"]},
        "family": diag["family"],
        "n": int(diag["n"]),
        "n_before": diag["n_before"],
        "n_after": diag["n_after"],
        "dispersion": _float(diag["dispersion"]),
        "alpha": _float(diag["alpha"]),
        "family_reason": diag["family_reason"],
        "effects": [{"term": r["term"], "rate_ratio": _float(r["rate_ratio"]),
                     "ci_low": _float(r["ci_low"]), "ci_high": _float(r["ci_high"]),
                     "p_value": _float(r["p_value"])} for _, r in eff.iterrows()],
        "diagnostics": {"ljung_box_lags": diag["ljung_box_lags"],
                        "ljung_box_p": _float(diag["ljung_box_p"]),
                        "acf1": _float(diag["acf1"]), "hac_lags": diag["hac_lags"]},
    }


def _fmt(x, lang, digits=3):
    if x is None:
        return "—"
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "fr" else s


def run(args) -> int:
    """Fit the model and print the effects (or the JSON object)."""
    import json
    from pathlib import Path

    from ..errors import ParameterError
    from ..io import read_table_file
    from ..its import fit_its

    lang = args.lang
    if args.date is None and args.time is None:
        raise ParameterError("Indiquez --date COL ou --time COL.", "Give --date COL or --time COL.")
    path = Path(args.csv)
    if not path.exists():
        raise ParameterError(f"Fichier introuvable : {path}", f"File not found: {path}")
    data = read_table_file(path)
    res = fit_its(data, count=args.count, date=args.date, time=args.time,
                  intervention=args.intervention, offset=args.offset, harmonics=args.harmonics,
                  period=args.period, season_position=args.season_position,
                  family=args.family, slope_change=not args.no_slope_change,
                  hac_lags=args.hac_lags, file=path.name)
    payload = its_payload(res)
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(tr(f"Série temporelle interrompue : {path.name}", f"Interrupted time series: {path.name}",
             lang))
    print(tr(f"  observations : {payload['n']} ({payload['n_before']} avant, "
             f"{payload['n_after']} après)",
             f"  observations: {payload['n']} ({payload['n_before']} before, "
             f"{payload['n_after']} after)", lang))
    print(tr(f"  loi : {payload['family']} ; dispersion de Pearson "
             f"{_fmt(payload['dispersion'], lang, 2)}",
             f"  family: {payload['family']}; Pearson dispersion "
             f"{_fmt(payload['dispersion'], lang, 2)}", lang))
    print("  " + tr(payload["inference"]["text_fr"], payload["inference"]["text_en"], lang))
    print()
    head = tr("terme", "term", lang)
    print(f"  {head:<16} {'RR':>8} {tr('IC 95 %', '95% CI', lang):>19} {'p':>8}")
    for e in payload["effects"]:
        ci = f"{_fmt(e['ci_low'], lang)}–{_fmt(e['ci_high'], lang)}"
        p = "<0,001" if lang == "fr" else "<0.001"
        p = p if (e["p_value"] is not None and e["p_value"] < 0.001) else _fmt(e["p_value"], lang)
        print(f"  {e['term']:<16} {_fmt(e['rate_ratio'], lang):>8} {ci:>19} {p:>8}")
    d = payload["diagnostics"]
    print()
    if d["ljung_box_p"] is not None:
        print(tr(f"  autocorrélation des résidus (Ljung-Box, {d['ljung_box_lags']} retards) : "
                 f"p = {_fmt(d['ljung_box_p'], lang)}",
                 f"  residual autocorrelation (Ljung-Box, {d['ljung_box_lags']} lags): "
                 f"p = {_fmt(d['ljung_box_p'], lang)}", lang))
        if d["ljung_box_p"] < 0.05 and d["hac_lags"] is None:
            print(tr("  → autocorrélation probable : relancez avec --hac-lags 2 (ou plus).",
                     "  → likely autocorrelation: run again with --hac-lags 2 (or more).", lang))
    print(tr("  level_change : saut à l'intervention ; slope_change : changement du rapport de "
             "taux par unité de temps après l'intervention.",
             "  level_change: jump at the intervention; slope_change: change in the rate ratio "
             "per time unit after the intervention.", lang))
    return 0
