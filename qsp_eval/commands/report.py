"""``qsp-eval report SOURCE [--out DIR] [--lang fr|en] [--from DATE] [--to DATE]
[-p name=value ...] [--key-file FILE]``."""

from __future__ import annotations

from ..i18n import tr
from ._common import add_key_file_argument, add_source_argument

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "produit le rapport complet (HTML, tableaux, figures, rédaction)",
    "builds the full report (HTML, tables, figures, write-up)",
)
DESCRIPTION = (
    "Vérifie les données et les paramètres, exécute les carnets d'analyse, puis écrit dans\n"
    "le dossier de sortie : report.html (un seul fichier, lisible hors ligne et imprimable),\n"
    "tables/ (CSV et tables.xlsx), figures/ (PNG et SVG), writeup.fr.md / writeup.en.md\n"
    "(et .docx), les carnets exécutés et manifest.json. Le dossier n'est remplacé que si\n"
    "tout a réussi et que le contrôle de diffusion n'a rien trouvé.\n\n"
    "Exemple : qsp-eval report data/example --out outputs/example -p period=quarter\n"
    "Fenêtre : qsp-eval report data/example --from 2022-01-01 --to 2023-12-31 (tableaux,\n"
    "figures et rédaction ne portent que sur la fenêtre).",
    "Checks the data and the parameters, runs the analysis notebooks, then writes into the\n"
    "output folder: report.html (one file, readable offline and printable), tables/ (CSV\n"
    "and tables.xlsx), figures/ (PNG and SVG), writeup.fr.md / writeup.en.md (and .docx),\n"
    "the executed notebooks and manifest.json. The folder is replaced only when everything\n"
    "succeeded and the disclosure check found nothing.\n\n"
    "Example: qsp-eval report data/example --out outputs/example -p period=quarter\n"
    "Window: qsp-eval report data/example --from 2022-01-01 --to 2023-12-31 (tables,\n"
    "figures and write-up cover the window only).",
)


def add_arguments(parser) -> None:
    """Declare SOURCE, --out, -p, --timeout, --engine, --key-file."""
    add_source_argument(parser)
    parser.add_argument(
        "--out", metavar="DIR", default=None,
        help=tr("dossier de sortie (défaut : outputs/<nom de la source>)",
                "output folder (default: outputs/<source name>)"),
    )
    parser.add_argument(
        "-p", "--parameter", metavar="NOM=VALEUR", action="append", default=[],
        dest="parameters",
        help=tr("paramètre des carnets, répétable (ex. -p period=quarter -p min_cell=10 ; "
                "liste : papermill --help-notebook notebooks/01-attendance.ipynb)",
                "notebook parameter, repeatable (e.g. -p period=quarter -p min_cell=10; "
                "list: papermill --help-notebook notebooks/01-attendance.ipynb)"),
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, metavar="S",
        help=tr("délai maximal par cellule, en secondes (défaut 600)",
                "maximum time per cell, in seconds (default 600)"),
    )
    parser.add_argument(
        "--engine", choices=("inprocess", "kernel"), default="inprocess",
        help=tr("inprocess (défaut, rapide : un seul interpréteur) ou kernel (un noyau "
                "ipykernel isolé par carnet)",
                "inprocess (default, fast: one interpreter) or kernel (one isolated ipykernel "
                "per notebook)"),
    )
    parser.add_argument(
        "--from", dest="window_start", metavar=tr("AAAA-MM-JJ", "YYYY-MM-DD"), default=None,
        help=tr("début de la fenêtre du rapport (incluse ; défaut : début des données) ; "
                "= -p window_start=...",
                "start of the report's window (inclusive; default: start of the data); "
                "= -p window_start=..."),
    )
    parser.add_argument(
        "--to", dest="window_end", metavar=tr("AAAA-MM-JJ", "YYYY-MM-DD"), default=None,
        help=tr("fin de la fenêtre du rapport (incluse ; défaut : fin des données) ; "
                "= -p window_end=...",
                "end of the report's window (inclusive; default: end of the data); "
                "= -p window_end=..."),
    )
    add_key_file_argument(parser)


def run(args) -> int:
    """Build the report; print progress on stderr and the output folder on stdout."""
    import sys
    from pathlib import Path

    from .. import report

    out = args.out or str(Path("outputs") / Path(args.source.rstrip("/\\")).stem)
    from ..errors import ParameterError

    params = report.parse_parameter_args(args.parameters)
    for name, flag in (("window_start", "--from"), ("window_end", "--to")):
        value = getattr(args, name, None)
        if value is None:
            continue
        if name in params and params[name] != value:
            raise ParameterError(f"{flag} et -p {name}= disent deux choses : gardez-en un.",
                                 f"{flag} and -p {name}= disagree: keep one.")
        params[name] = value
    engine = report.ENGINE_NAME if args.engine == "inprocess" else "kernel"

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = report.run_report(args.source, out, lang=args.lang, parameters=params,
                               timeout=args.timeout, progress=progress, engine=engine,
                               key_file=getattr(args, "key_file", None))
    print(result.out_dir / "report.html")
    return 0
