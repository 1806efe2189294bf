"""``qsp-eval app``: the coordinator's page, on this computer only (127.0.0.1)."""

from __future__ import annotations

from ..i18n import tr
from ._common import add_key_file_argument

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "ouvre la page locale : déposer le classeur, lire les problèmes, obtenir le rapport",
    "opens the local page: drop the workbook, read the problems, get the report",
)
DESCRIPTION = (
    "Lance une page dans le navigateur, sur cet ordinateur seulement (adresse 127.0.0.1) :\n"
    "déposez le classeur rempli (.xlsx, .ods) ou un dossier de données compressé (.zip),\n"
    "lisez la liste des problèmes à corriger, puis produisez le rapport, lisez-le dans la\n"
    "page et téléchargez-le en un seul .zip. Les données ne quittent pas l'ordinateur ; le\n"
    "fichier déposé et le rapport sont rangés dans un dossier temporaire effacé à l'arrêt\n"
    "(Ctrl+C) ou au dépôt d'un autre fichier. Fichier de 20 Mo au plus.\n\n"
    "Exemple : qsp-eval app",
    "Starts a page in the browser, on this computer only (address 127.0.0.1): drop the\n"
    "filled-in workbook (.xlsx, .ods) or a zipped data folder, read the list of problems to\n"
    "fix, then build the report, read it in the page and download it as one .zip. The data\n"
    "never leave the computer; the dropped file and the report live in a temporary folder\n"
    "erased when the app stops (Ctrl+C) or another file is dropped. Files of 20 MB at most.\n\n"
    "Example: qsp-eval app --lang en",
)


def add_arguments(parser) -> None:
    """Declare --port, --no-browser and --key-file."""
    parser.add_argument(
        "--port", type=int, default=8765, metavar="N",
        help=tr("port local (défaut 8765 ; un autre port libre s'il est pris)",
                "local port (default 8765; another free port when it is taken)"),
    )
    parser.add_argument(
        "--no-browser", action="store_true",
        help=tr("n'ouvre pas le navigateur (affiche seulement l'adresse)",
                "do not open the browser (only print the address)"),
    )
    add_key_file_argument(parser)


def run(args) -> int:
    """Serve the page until Ctrl+C or its close button; return 0."""
    from ..app import serve

    return serve(port=args.port, key_file=getattr(args, "key_file", None),
                 open_browser=not args.no_browser, lang=getattr(args, "lang", "fr"))
