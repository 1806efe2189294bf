"""``qsp-eval template OUT.xlsx|OUT.ods``: the empty data-entry workbook for coordinators."""

from __future__ import annotations

from ..i18n import tr

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "écrit un classeur vide (Excel .xlsx ou LibreOffice .ods), prêt à remplir",
    "write an empty workbook (Excel .xlsx or LibreOffice .ods), ready to fill",
)
DESCRIPTION = (
    "Écrit un classeur vide dans la forme du contrat de données, au format Excel (.xlsx) ou "
    "LibreOffice (.ods) selon le nom donné : une feuille par table (sessions, visits, "
    "services, distributions, survey_responses) avec des titres de colonnes en français "
    "(Date, Statut, Genre, Tranche d'âge...), des listes déroulantes pour chaque colonne à "
    "valeurs imposées, une feuille « explications » qui décrit chaque colonne (avec son code) "
    "et une feuille « evaluation » (nom du programme, date de lancement, changement "
    "évalué...).\n"
    "Une fois rempli, le classeur se vérifie avec « qsp-eval validate FICHIER ».\n"
    "Le fichier existant n'est jamais écrasé sans --force.\n\n"
    "Exemple : qsp-eval template saisie_permanence.xlsx   (ou saisie_permanence.ods)",
    "Writes an empty workbook in the data contract's shape, as Excel (.xlsx) or LibreOffice "
    "(.ods) according to the name given: one sheet per table (sessions, visits, services, "
    "distributions, survey_responses) with the right column headers (the contract's codes "
    "with --lang en, French labels otherwise), drop-down lists for every coded column, an "
    "'explanations' sheet describing each column and an 'evaluation' sheet (programme name, "
    "launch date, change under evaluation...).\n"
    "Once filled, check it with 'qsp-eval validate FILE'.\n"
    "An existing file is never overwritten without --force.\n\n"
    "Example: qsp-eval template data_entry.xlsx --lang en",
)


def add_arguments(parser) -> None:
    """Declare OUT and --force."""
    parser.add_argument("out", metavar="OUT.xlsx|OUT.ods",
                        help=tr("classeur à créer (.xlsx, ou .ods pour LibreOffice)",
                                "workbook to create (.xlsx, or .ods for LibreOffice)"))
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
