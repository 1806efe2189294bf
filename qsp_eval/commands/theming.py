"""``qsp-eval theming SOURCE``: did theming raise attendance?  The plain answer and the estimates.

Heavy libraries (pandas, statsmodels) are imported inside :func:`run` only.
"""

from __future__ import annotations

from ..i18n import tr
from ._common import add_key_file_argument, add_source_argument, load_dataset

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "la thématisation a-t-elle fait venir plus de monde ? réponse claire et estimations",
    "did theming raise attendance? plain answer and estimates",
)
DESCRIPTION = (
    "Répond à la question « depuis que certaines permanences sont thématisées, vient-il\n"
    "plus de monde ? », dans l'ordre : (a) la fréquentation de toutes les permanences\n"
    "face à ce que prolongeaient la tendance et la saison d'avant (saut, pente, passages\n"
    "de plus ou de moins que prévu depuis le début, avec leur intervalle) ; (b) les\n"
    "permanences thématisées face aux non thématisées de la même période ; (c) les\n"
    "permanences non thématisées face à la tendance (déplacement). Série temporelle\n"
    "interrompue sur les passages par permanence, comparaison naïve avant/après, tests\n"
    "placebo (fausses dates de début), puissance (plus petit effet détectable) et une\n"
    "phrase de conclusion graduée (solide, modéré, faible, non concluant). Toujours\n"
    "« associé à », jamais « a causé ». La date de début vient de evaluation.yml\n"
    "(change: start:) sauf si --start est donné.\n\n"
    "Exemple : qsp-eval theming data/example --lang fr",
    "Answers 'since some sessions became themed, do more people come?', in order: (a) all\n"
    "sessions against what the earlier trend and season predicted (level, slope, visits\n"
    "more or fewer than expected since the start, with intervals); (b) themed vs plain\n"
    "sessions of the same period; (c) plain sessions against the trend (displacement).\n"
    "Interrupted time series on visits per session, naive before/after comparison, placebo tests\n"
    "(fake start dates), power (smallest detectable effect) and a graded plain answer\n"
    "(strong, moderate, weak, inconclusive). Always 'associated with', never 'caused'.\n"
    "The start date comes from evaluation.yml (change: start:) unless --start is given.\n\n"
    "Example: qsp-eval theming data/example --lang en",
)


def add_arguments(parser) -> None:
    """Declare SOURCE, ``--key-file``, ``--start``, ``--n-sim``, ``--seed`` and ``--json``."""
    add_source_argument(parser)
    add_key_file_argument(parser)
    parser.add_argument("--start", metavar="DATE", help=tr(
        "date de début de la thématisation (aaaa-mm-jj ou jj/mm/aaaa), à la place de celle "
        "de evaluation.yml",
        "start date of theming (yyyy-mm-dd or dd/mm/yyyy), overriding evaluation.yml"))
    parser.add_argument("--n-sim", metavar="N", type=int, default=200, help=tr(
        "simulations par valeur pour le calcul de puissance (défaut 200 ; 0 = pas de calcul)",
        "simulations per value for the power calculation (default 200; 0 = skip)"))
    parser.add_argument("--seed", metavar="N", type=int, default=0, help=tr(
        "graine des simulations de puissance (défaut 0)", "seed of the power simulations "
        "(default 0)"))
    parser.add_argument("--json", action="store_true", help=tr(
        "sortie JSON : estimable, reason, method (famille, α, dispersion, inférence, "
        "Ljung–Box, autocorrélation, Newey–West), overall, its, themed_vs_plain, displacement, "
        "naive, placebo, minimal_detectable_rate_ratio, verdict",
        "JSON output: estimable, reason, method (family, α, dispersion, inference, "
        "Ljung–Box, autocorrelation, Newey–West), overall, its, themed_vs_plain, displacement, "
        "naive, placebo, minimal_detectable_rate_ratio, verdict"))


def _f(x, lang, digits=2):
    import math

    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "fr" else s


def _ci(low, high, lang):
    """``low–high``, or "not estimable" when a bound is missing or infinite."""
    if "—" in (_f(low, lang), _f(high, lang)):
        return tr("non estimable", "not estimable", lang)
    return f"{_f(low, lang)}–{_f(high, lang)}"


def run(args) -> int:
    """Run :func:`qsp_eval.theming.theming_analysis` and print the answer (or JSON)."""
    import json

    from ..errors import ParameterError
    from ..theming import EVIDENCE_LABELS, theming_analysis

    lang = args.lang
    if args.n_sim < 0:
        raise ParameterError("--n-sim doit être ≥ 0.", "--n-sim must be ≥ 0.")
    ds = load_dataset(args.source, key_file=getattr(args, "key_file", None))
    res = theming_analysis(ds, start=args.start, n_sim=args.n_sim, seed=args.seed)
    payload = res.to_dict(lang)
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not res.estimable:
        print(res.reason(lang))
        return 0
    ev = EVIDENCE_LABELS[res.verdict.evidence][0 if lang == "fr" else 1]
    print(tr(f"Thématisation (début le {res.start:%d/%m/%Y}) — niveau de preuve : {ev}",
             f"Theming (start {res.start:%Y-%m-%d}) — strength of evidence: {ev}", lang))
    print()
    print(res.verdict.text(lang))
    print()
    print(res.method(lang))
    print()
    ov = payload.get("overall") or {}
    if ov.get("status") == "estimated":
        print(tr(f"  passages depuis le début : {_f(ov['observed'], lang, 0)} observés, "
                 f"{_f(ov['expected'], lang, 0)} attendus sans changement ; différence "
                 f"{_f(ov['difference'], lang, 0)} (IC 95 % "
                 f"{_f(ov['difference_low'], lang, 0)} à {_f(ov['difference_high'], lang, 0)})",
                 f"  visits since the start: {_f(ov['observed'], lang, 0)} observed, "
                 f"{_f(ov['expected'], lang, 0)} expected without change; difference "
                 f"{_f(ov['difference'], lang, 0)} (95% CI "
                 f"{_f(ov['difference_low'], lang, 0)} to {_f(ov['difference_high'], lang, 0)})",
                 lang))
    ci = tr("IC 95 %", "95% CI", lang)
    print(tr("Estimations (rapports de taux) :", "Estimates (rate ratios):", lang))
    for e in payload["its"]["effects"]:
        if e["term"] in ("level_change", "slope_change"):
            name = {"level_change": tr("saut de niveau au début (toutes permanences)",
                                       "level change at the start (all sessions)", lang),
                    "slope_change": tr("changement de pente (par an)",
                                       "slope change (per year)", lang)}[e["term"]]
            print(f"  {name:<52} {_f(e['rate_ratio'], lang)}  ({ci} "
                  f"{_ci(e['ci_low'], e['ci_high'], lang)})")
    for key, name in (("visits", tr("thématisées / non thématisées : passages",
                                    "themed / plain: visits", lang)),
                      ("first_time_visitors", tr("thématisées / non thématisées : premières "
                                                 "venues", "themed / plain: first-time visitors",
                                                 lang))):
        t = payload["themed_vs_plain"].get(key, {})
        print(f"  {name:<52} {_f(t.get('rate_ratio'), lang)}  ({ci} "
              f"{_ci(t.get('ci_low'), t.get('ci_high'), lang)}"
              + tr(" ; ", "; ", lang)
              + tr(f"{t.get('n_themed')} thém., {t.get('n_plain')} non thém.)",
                   f"{t.get('n_themed')} themed, {t.get('n_plain')} plain)", lang))
    nv = payload["naive"]
    print(tr(f"  moyenne naïve par permanence : avant {_f(nv['mean_before'], lang)} "
             f"({ci} {_ci(nv['mean_before_ci_low'], nv['mean_before_ci_high'], lang)}), "
             f"après {_f(nv['mean_after'], lang)} "
             f"({ci} {_ci(nv['mean_after_ci_low'], nv['mean_after_ci_high'], lang)})",
             f"  naive mean per session: before {_f(nv['mean_before'], lang)} "
             f"({ci} {_ci(nv['mean_before_ci_low'], nv['mean_before_ci_high'], lang)}), "
             f"after {_f(nv['mean_after'], lang)} "
             f"({ci} {_ci(nv['mean_after_ci_low'], nv['mean_after_ci_high'], lang)})",
             lang))
    pl = payload["placebo"]
    if pl["n"]:
        print(tr(f"  placebo : rang {pl['rank']} sur {pl['n'] + 1} (p placebo "
                 f"{_f(pl['p_placebo'], lang)})",
                 f"  placebo: rank {pl['rank']} of {pl['n'] + 1} (placebo p "
                 f"{_f(pl['p_placebo'], lang)})", lang))
    m = payload["minimal_detectable_rate_ratio"]
    print(tr(f"  plus petit rapport de taux détectable (puissance 80 %) : {_f(m, lang)}",
             f"  minimal detectable rate ratio (80% power): {_f(m, lang)}", lang))
    return 0
