"""Helpers shared by subcommands (kept light: no heavy import at module level)."""

from __future__ import annotations

from ..i18n import tr

__all__ = ["add_source_argument", "load_dataset"]


def add_source_argument(parser) -> None:
    """Declare the positional SOURCE argument (data folder or .xlsx workbook)."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help=tr(
            "dossier de données (sessions.csv, visits.csv..., evaluation.yml) ou classeur .xlsx",
            "data folder (sessions.csv, visits.csv..., evaluation.yml) or .xlsx workbook",
        ),
    )


def load_dataset(source: str):
    """Load and validate ``source``; raises :class:`qsp_eval.errors.DataError` on any problem."""
    from ..io import load_source

    return load_source(source)
