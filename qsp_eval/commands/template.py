"""``qsp-eval template OUT.xlsx``: the empty data-entry workbook for coordinators."""

from __future__ import annotations

from ..i18n import tr

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "écrit un classeur Excel vide, prêt à remplir, au format des données",
    "write an empty Excel workbook, ready to fill, in the data's format",
)
DESCRIPTION = (
    "Écrit un classeur .xlsx vide dans la forme du contrat de données : une feuille par "
    "table (sessions, visits, services, distributions, survey_responses) avec les bons "
    "titres de colonnes, des listes déroulantes pour chaque colonne à valeurs imposées, "
    "une feuille « explications » qui décrit chaque colonne et une feuille « evaluation » "
    "(nom du programme, date de lancement, changement évalué...).\n"
    "Une fois rempli, le classeur se vérifie avec « qsp-eval validate FICHIER.xlsx ».\n"
    "Le fichier existant n'est jamais écrasé sans --force.\n\n"
    "Exemple : qsp-eval template saisie_permanence.xlsx",
    "Writes an empty .xlsx workbook in the data contract's shape: one sheet per table "
    "(sessions, visits, services, distributions, survey_responses) with the right column "
    "headers, drop-down lists for every coded column, an 'explanations' sheet describing each "
    "column and an 'evaluation' sheet (programme name, launch date, change under "
    "evaluation...).\n"
    "Once filled, check it with 'qsp-eval validate FILE.xlsx'.\n"
    "An existing file is never overwritten without --force.\n\n"
    "Example: qsp-eval template data_entry.xlsx --lang en",
)


def add_arguments(parser) -> None:
    """Declare OUT and --force."""
    parser.add_argument("out", metavar="OUT.xlsx",
                        help=tr("classeur à créer (.xlsx)", "workbook to create (.xlsx)"))
    parser.add_argument("--force", action="store_true",
                        help=tr("remplace le fichier s'il existe", "replace the file if it exists"))


def run(args) -> int:
    """Write the template workbook; return 0."""
    from pathlib import Path

    from ..errors import ParameterError
    from ..io import write_template

    lang = getattr(args, "lang", "fr")
    out = Path(args.out)
    if out.exists() and not getattr(args, "force", False):
        raise ParameterError(
            f"{out} existe déjà : choisissez un autre nom ou ajoutez --force pour le remplacer",
            f"{out} already exists: choose another name or add --force to replace it")
    write_template(out, lang=lang)
    print(tr(f"Modèle écrit : {out}\nRemplissez-le puis vérifiez-le avec : qsp-eval validate {out}",
             f"Template written: {out}\nFill it in, then check it with: qsp-eval validate {out}",
             lang))
    return 0
