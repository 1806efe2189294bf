"""Helpers shared by subcommands (kept light: no heavy import at module level)."""

from __future__ import annotations

import sys

from ..i18n import tr

__all__ = ["add_source_argument", "add_key_file_argument", "load_dataset", "print_notices"]


def add_source_argument(parser) -> None:
    """Declare the positional SOURCE argument (data folder, or .xlsx or .ods workbook)."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help=tr(
            "dossier de données (sessions.csv, visits.csv..., evaluation.yml) ou classeur .xlsx "
            "ou .ods",
            "data folder (sessions.csv, visits.csv..., evaluation.yml) or .xlsx or .ods workbook",
        ),
    )


def add_key_file_argument(parser) -> None:
    """Declare ``--key-file`` (pseudonymisation key kept outside the data folder)."""
    parser.add_argument(
        "--key-file",
        metavar=tr("FICHIER", "FILE"),
        default=None,
        help=tr(
            "fichier contenant la clé de pseudonymisation (au moins 16 caractères), rangé hors "
            "du dossier des données ; sinon la variable QSP_PSEUDONYM_KEY, sinon une clé "
            "au hasard à chaque exécution",
            "file holding the pseudonymisation key (at least 16 characters), kept outside the "
            "data folder; else the QSP_PSEUDONYM_KEY variable, else a random key each run",
        ),
    )


def load_dataset(source: str, key_file=None, *, today=None):
    """Load and validate ``source``; raises :class:`qsp_eval.errors.DataError` on any problem.

    ``key_file`` (optional) names the pseudonymisation key file; see
    :func:`qsp_eval.privacy.resolve_key`.
    """
    from ..io import load_source

    return load_source(source, key_file=key_file, today=today)


def print_notices(dataset, lang: str | None = None, stream=None) -> None:
    """Print the loader's notices (dropped columns, banded ages...) to ``stream`` (stderr)."""
    from ..i18n import get_language

    lang = lang or get_language()
    stream = stream or sys.stderr
    for n in dataset.notices:
        text = n.format(lang) if hasattr(n, "en") else str(n)
        print(tr("Note : ", "Note: ", lang) + text, file=stream)
