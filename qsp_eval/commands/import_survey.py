"""``qsp-eval import-survey``: turn a wide questionnaire export into the long survey table."""

from __future__ import annotations

from ..i18n import tr

HELP = (
    "convertit l'export d'un questionnaire (une ligne par personne) en table survey_responses",
    "turn a questionnaire export (one row per respondent) into the survey_responses table",
)
DESCRIPTION = (
    "Lit l'export d'un outil de formulaire ou d'un tableur (une ligne par répondant·e, une "
    "colonne par question ; choix multiples dans une cellule séparés par « ; » ou en colonnes "
    "0/1 « question___option » (REDCap) ou « question/option » (KoboToolbox)) et écrit la table "
    "longue survey_responses (survey, response_id, question, answer).\n"
    "Les colonnes qui ressemblent à des identifiants (nom, e-mail, téléphone, adresse IP) ou à "
    "des horodatages (début, fin, date de soumission, _uuid, _id...) sont écartées avec un "
    "avis ; les réponses en texte libre sont remplacées par un marqueur (seul leur nombre est "
    "gardé).\n"
    "Un petit fichier YAML (--mapping) peut donner, par question, l'ordre des niveaux d'une "
    "échelle de Likert et le recodage des libellés en codes, par exemple :\n"
    "  accueil:\n"
    "    levels: [pas_du_tout, plutot_non, plutot_oui, tout_a_fait]\n"
    "    recode: {\"Pas du tout\": pas_du_tout, \"Tout à fait\": tout_a_fait}\n"
    "La commande affiche alors la section « surveys » à recopier dans evaluation.yml.\n"
    "Exemple : qsp-eval import-survey export.xlsx --survey consultation_2024 "
    "--out donnees/survey_responses.csv",
    "Reads the export of a form tool or spreadsheet (one row per respondent, one column per "
    "question; multi-select in one cell separated by ';' or as 0/1 columns "
    "'question___option' (REDCap) or 'question/option' (KoboToolbox)) and writes the long "
    "survey_responses table (survey, response_id, question, answer).\n"
    "Columns that look like identifiers (name, e-mail, phone, IP address) or timestamps "
    "(start, end, submission time, _uuid, _id...) are dropped with a notice; free-text answers "
    "are replaced by a placeholder (only their number is kept).\n"
    "A small YAML file (--mapping) may give, per question, the order of a Likert scale's "
    "levels and the recoding of labels into codes, for example:\n"
    "  welcome:\n"
    "    levels: [not_at_all, rather_not, rather_yes, fully]\n"
    "    recode: {\"Not at all\": not_at_all, \"Fully\": fully}\n"
    "The command then prints the 'surveys' section to copy into evaluation.yml.\n"
    "Example: qsp-eval import-survey export.xlsx --survey consultation_2024 "
    "--out data/survey_responses.csv",
)


def add_arguments(parser) -> None:
    """Declare EXPORT, --survey, --out, --mapping and --sheet."""
    parser.add_argument("export", metavar="EXPORT",
                        help=tr("export du questionnaire (.csv, .xlsx ou .parquet)",
                                "questionnaire export (.csv, .xlsx or .parquet)"))
    parser.add_argument("--survey", required=True, metavar="NOM",
                        help=tr("nom du questionnaire (comme dans evaluation.yml)",
                                "survey name (as in evaluation.yml)"))
    parser.add_argument("--out", required=True, metavar="FICHIER",
                        help=tr("table longue à écrire (ex. survey_responses.csv)",
                                "long table to write (e.g. survey_responses.csv)"))
    parser.add_argument("--mapping", metavar="MAP.yml",
                        help=tr("fichier YAML : niveaux (ordre) et recodage par question",
                                "YAML file: levels (order) and recoding per question"))
    parser.add_argument("--sheet", metavar="FEUILLE",
                        help=tr("feuille du classeur (par défaut la première)",
                                "workbook sheet (default: the first)"))


def run(args) -> int:
    """Convert the export; print notices, the row count and the implied survey spec."""
    from ..io import read_evaluation_file, read_table_file, write_table
    from ..surveys import spec_from_mapping, wide_to_long

    lang = args.lang
    df = read_table_file(args.export, sheet=args.sheet)
    mapping = read_evaluation_file(args.mapping) if args.mapping else None
    long, notices = wide_to_long(df, survey=args.survey, mapping=mapping)
    for fr, en in notices:
        print(tr(f"Avis : {fr}", f"Notice: {en}", lang))
    path = write_table(long, args.out)
    n_resp = long["response_id"].nunique() if len(long) else 0
    print(tr(f"{len(long)} réponse(s) de {n_resp} répondant·e(s) écrite(s) dans {path}.",
             f"{len(long)} answer(s) from {n_resp} respondent(s) written to {path}.", lang))
    if mapping:
        import yaml

        spec = {"surveys": spec_from_mapping(mapping, survey=args.survey)}
        print(tr("Section à recopier dans evaluation.yml :",
                 "Section to copy into evaluation.yml:", lang))
        print(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False).rstrip())
    return 0
