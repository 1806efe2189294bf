"""``qsp-eval validate SOURCE``: check a data source against the contract, write nothing."""

from __future__ import annotations

import sys

from ..i18n import tr
from ._common import add_key_file_argument, add_source_argument

__all__ = ["HELP", "DESCRIPTION", "MAX_PRINTED", "add_arguments", "run", "summary_lines"]

#: At most this many problems are printed (all are counted).
MAX_PRINTED = 300

HELP = (
    "vérifie un dossier ou un classeur de données (n'écrit rien)",
    "check a data folder or workbook (writes nothing)",
)
DESCRIPTION = (
    "Vérifie toutes les tables et evaluation.yml selon le contrat de données "
    "(docs/data-contract.md) et signale TOUS les problèmes d'un coup : fichier (et feuille), "
    "ligne telle que l'affiche le tableur, colonne, valeur et ce qui était attendu.\n"
    "Refuse les données identifiantes (noms, e-mails, téléphones, adresses, dates de "
    "naissance, n° de sécurité sociale) sans jamais les afficher.\n"
    "Code de sortie : 0 si tout est correct (avec un court résumé), 2 s'il y a des problèmes.\n"
    "N'écrit aucun fichier.\n\n"
    "Exemple : qsp-eval validate data/example",
    "Checks every table and evaluation.yml against the data contract (docs/data-contract.md) "
    "and reports ALL problems at once: file (and sheet), row as the spreadsheet shows it, "
    "column, value and what was expected.\n"
    "Refuses identifying data (names, e-mails, phone numbers, addresses, dates of birth, "
    "social security numbers) without ever printing it.\n"
    "Exit status: 0 when everything is correct (with a short summary), 2 when there are "
    "problems. Writes no file.\n\n"
    "Example: qsp-eval validate data/example",
)


def add_arguments(parser) -> None:
    """Declare SOURCE and --key-file."""
    add_source_argument(parser)
    add_key_file_argument(parser)


def summary_lines(ds, lang: str = "fr") -> list[str]:
    """Short, safe summary of a validated dataset (counts only, no row-level data)."""
    from ..attendance import per_session

    lines = [tr(f"Source : {ds.source}", f"Source: {ds.source}", lang)]
    if ds.config.synthetic:
        lines.append(tr("Données SYNTHÉTIQUES (exemple)", "SYNTHETIC data (example)", lang))
    lines.append(tr(f"Programme : {ds.config.programme}", f"Programme: {ds.config.programme}",
                    lang))
    for name in ("sessions", "visits", "services", "distributions", "survey_responses"):
        if ds.has(name):
            n = len(getattr(ds, name))
            lines.append(tr(f"  {name} : {n} ligne(s)", f"  {name}: {n} row(s)", lang))
    s = ds.sessions
    if len(s):
        d0, d1 = s["date"].min(), s["date"].max()
        lines.append(tr(f"Période : du {d0:%d/%m/%Y} au {d1:%d/%m/%Y}",
                        f"Period: {d0:%Y-%m-%d} to {d1:%Y-%m-%d}", lang))
        held = int((s["status"] == "held").sum())
        canc = int((s["status"] == "cancelled").sum())
        lines.append(tr(f"Permanences : {held} tenue(s), {canc} annulée(s)",
                        f"Sessions: {held} held, {canc} cancelled", lang))
        ps = per_session(ds)
        known = ps["visits"].dropna()
        if len(known):
            lines.append(tr(
                f"Passages : {int(known.sum())} sur {len(known)} permanence(s) "
                f"dont le nombre est connu",
                f"Visits: {int(known.sum())} over {len(known)} session(s) with a known count",
                lang))
    if ds.has("visits", "person_id"):
        n = int(ds.visits["person_id"].dropna().nunique())
        lines.append(tr(f"Personnes distinctes (codes pseudonymisés) : {n}",
                        f"Distinct people (pseudonymised codes): {n}", lang))
    if ds.config.change is not None:
        c = ds.config.change
        lines.append(tr(f"Changement évalué : {c.label_fr} (depuis le {c.start:%d/%m/%Y})",
                        f"Change under evaluation: {c.label_en} (from {c.start:%Y-%m-%d})",
                        lang))
    return lines


def run(args) -> int:
    """Validate ``args.source``; print all problems (exit 2) or a summary (exit 0)."""
    from ..errors import DataError
    from ._common import load_dataset

    lang = getattr(args, "lang", "fr")
    try:
        ds = load_dataset(args.source, key_file=getattr(args, "key_file", None))
    except DataError as exc:
        probs = exc.problems
        print(tr(f"{len(probs)} problème(s) dans les données :",
                 f"{len(probs)} problem(s) in the data:", lang), file=sys.stderr)
        for p in probs[:MAX_PRINTED]:
            print("  - " + p.format(lang), file=sys.stderr)
        if len(probs) > MAX_PRINTED:
            rest = len(probs) - MAX_PRINTED
            print(tr(f"  … et {rest} autre(s) problème(s) (corrigez d'abord ceux-ci)",
                     f"  ... and {rest} more problem(s) (fix these first)", lang),
                  file=sys.stderr)
        print(tr("\nCorrigez ces points puis relancez « qsp-eval validate ». Aucun fichier "
                 "n'a été écrit.",
                 "\nFix these points and run 'qsp-eval validate' again. No file was written.",
                 lang), file=sys.stderr)
        return 2
    print(tr("Données valides.", "Data valid.", lang))
    for line in summary_lines(ds, lang):
        print(line)
    if ds.notices:
        print(tr("Remarques :", "Notes:", lang))
        for n in ds.notices:
            print("  - " + (n.format(lang) if hasattr(n, "en") else str(n)))
    return 0
