"""``qsp-eval check-outputs DIR``: re-scan a finished output folder before it is shared."""

from __future__ import annotations

from ..i18n import tr

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "vérifie qu'un dossier de résultats ne peut identifier personne",
    "check that an output folder cannot single out anyone",
)
DESCRIPTION = (
    "Relit tous les fichiers d'un dossier de résultats (CSV, XLSX, HTML, Markdown,\n"
    "DOCX, SVG, carnets .ipynb...) et signale : les effectifs de personnes sous le\n"
    "seuil dans les tableaux de caractéristiques sensibles, les 0 % / 100 % sur de\n"
    "petits groupes, les adresses e-mail, numéros de téléphone, NIR, adresses\n"
    "postales, dates de naissance, pseudonymes, données individuelles et âges exacts.\n"
    "Les images (PNG, JPEG, PDF) ne peuvent pas être lues et les colonnes de texte\n"
    "libre sont à relire : elles sont listées pour un contrôle à l'œil.\n"
    "Code de sortie : 0 si rien n'a été trouvé, 2 sinon (chaque fichier et case est\n"
    "nommé, jamais la valeur trouvée). Règles : docs/disclosure.md.\n\n"
    "Exemple : qsp-eval check-outputs outputs/rapport-2023 --threshold 11",
    "Reads every file of an output folder (CSV, XLSX, HTML, Markdown, DOCX, SVG,\n"
    ".ipynb notebooks...) and reports: counts of people under the threshold in tables\n"
    "of sensitive characteristics, 0% / 100% on small groups, e-mail addresses, phone\n"
    "numbers, NIR, postal addresses, dates of birth, pseudonyms, row-level records\n"
    "and exact ages. Images (PNG, JPEG, PDF) cannot be read and free-text columns\n"
    "need reading: they are listed for a check by eye.\n"
    "Exit status: 0 when nothing was found, 2 otherwise (each file and cell is named,\n"
    "never the value found). Rules: docs/disclosure.md.\n\n"
    "Example: qsp-eval check-outputs outputs/report-2023 --threshold 11",
)


def add_arguments(parser) -> None:
    """Declare DIR, --threshold, --preset, --intruder and --pseudonyms."""
    parser.add_argument(
        "folder", metavar="DIR",
        help=tr("dossier de résultats à vérifier", "output folder to check"),
    )
    parser.add_argument(
        "--threshold", type=int, default=None, metavar="N",
        help=tr("seuil : les effectifs de 1 à N-1 sont signalés (défaut : celui du dossier, "
                "sinon 5)",
                "threshold: counts from 1 to N-1 are reported (default: the folder's, else 5)"),
    )
    parser.add_argument(
        "--preset", choices=("default", "strict"), default=None,
        help=tr("préréglage de règles (default : seuil 5 ; strict : seuil 11)",
                "rules preset (default: threshold 5; strict: threshold 11)"),
    )
    parser.add_argument(
        "--intruder", action="store_true",
        help=tr("attaque aussi le dossier en combinant tous ses tableaux (programmation en "
                "nombres entiers, quelques secondes) : une case masquée retrouvée ou réduite à "
                "moins de t valeurs non nulles est signalée",
                "also attack the folder by combining all its tables (integer programming, a "
                "few seconds): a hidden cell recovered or narrowed to fewer than t non-zero "
                "values is reported"),
    )
    parser.add_argument(
        "--pseudonyms", metavar="FILE", default=None,
        help=tr("fichier de pseudonymes connus (un par ligne) à rechercher",
                "file of known pseudonyms (one per line) to look for"),
    )


def run(args) -> int:
    """Scan the folder; print each finding; return 2 if any would disclose, else 0."""
    from pathlib import Path

    from ..disclosure import MANIFEST_NAME, rules_from_config, scan_outputs
    from ..errors import ParameterError
    from ..io import read_json, read_text_file

    lang = getattr(args, "lang", "fr")
    folder = Path(args.folder)
    if not folder.is_dir():
        raise ParameterError(f"Dossier introuvable : {folder}", f"Folder not found: {folder}")
    config: dict = {}
    man = folder / MANIFEST_NAME
    if man.is_file():
        try:
            saved = read_json(man).get("rules") or {}
        except (ValueError, OSError):
            saved = {}
        config = {k: v for k, v in saved.items()
                  if k in ("preset", "min_cell", "round_to", "dominance", "min_denominator",
                           "protect_activity", "no_extreme_shares", "small_group")}
    if args.preset:
        config = {"preset": args.preset}
    if args.threshold is not None:
        config["min_cell"] = args.threshold
        config.pop("min_denominator", None)
        config.pop("small_group", None)
    rules = rules_from_config(config)
    pseudonyms = None
    if args.pseudonyms:
        p = Path(args.pseudonyms)
        if not p.is_file():
            raise ParameterError(f"Fichier introuvable : {p}", f"File not found: {p}")
        pseudonyms = [x.strip() for x in read_text_file(p).splitlines() if x.strip()]
    findings = scan_outputs(folder, rules=rules, pseudonyms=pseudonyms, lang=lang,
                            include_notices=True)
    if getattr(args, "intruder", False):
        from ..disclosure import intruder_findings

        findings = list(findings) + intruder_findings(folder, rules=rules)
    errors = [f for f in findings if f.severity == "error"]
    notices = [f for f in findings if f.severity != "error"]
    for f in errors:
        print("  - " + f.format(lang))
    images = [f for f in notices if f.kind == "unreadable"]
    for f in notices:
        if f.kind != "unreadable":
            print("  ? " + f.format(lang))
    if images:
        names = ", ".join(dict.fromkeys(f.file + (f" ({f.location})" if f.location else "")
                                        for f in images))
        print(tr(f"  ? {len(images)} image(s) que la vérification ne peut pas lire, à contrôler "
                 f"à l'œil : {names}",
                 f"  ? {len(images)} image(s) the check cannot read, to check by eye: {names}",
                 lang))
    if errors:
        print(tr(f"{len(errors)} problème(s) de confidentialité trouvé(s) dans {folder} "
                 f"(seuil {rules.min_cell}). Ne diffusez pas ce dossier en l'état.",
                 f"{len(errors)} confidentiality problem(s) found in {folder} "
                 f"(threshold {rules.min_cell}). Do not share this folder as it is.", lang))
        return 2
    print(tr(f"Aucun problème de confidentialité trouvé dans {folder} (seuil {rules.min_cell}).",
             f"No confidentiality problem found in {folder} (threshold {rules.min_cell}).", lang))
    return 0
