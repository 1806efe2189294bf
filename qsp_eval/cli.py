"""The ``qsp-eval`` command line.

Each subcommand lives in ``qsp_eval/commands/<name>.py`` and exposes:

- ``HELP``: a ``(french, english)`` pair, one line shown in ``qsp-eval --help``;
- ``DESCRIPTION``: a ``(french, english)`` pair, the longer text of ``qsp-eval NAME --help``;
- ``add_arguments(parser)``: declares its options (help texts through :func:`qsp_eval.i18n.tr`);
- ``run(args) -> int``: does the work and returns the exit status.

Command modules import only ``argparse`` and light modules at import time, so
``qsp-eval --help`` stays fast; heavy libraries are imported inside ``run``.
Any :class:`qsp_eval.errors.QspError` becomes a plain message and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import i18n
from .i18n import tr

__all__ = ["main", "COMMANDS"]

#: Subcommand name -> module under ``qsp_eval.commands``.
COMMANDS: dict[str, str] = {
    "simulate": "simulate",
    "validate": "validate",
    "template": "template",
    "summary": "summary",
    "its": "its",
    "theming": "theming",
    "report": "report",
    "check-outputs": "check_outputs",
    "import-survey": "import_survey",
    "app": "app",
}


def _guess_language(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv) and argv[i + 1] in i18n.LANGUAGES:
            return argv[i + 1]
        if a.startswith("--lang=") and a.split("=", 1)[1] in i18n.LANGUAGES:
            return a.split("=", 1)[1]
    env = os.environ.get("QSP_LANG")
    return env if env in i18n.LANGUAGES else "fr"


def _available() -> dict[str, object]:
    mods = {}
    for name, modname in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"qsp_eval.commands.{modname}")
        except ModuleNotFoundError as exc:  # command not built yet
            if exc.name != f"qsp_eval.commands.{modname}":
                raise
    return mods


class _Formatter(argparse.HelpFormatter):
    """Says "utilisation :" in French."""

    def add_usage(self, usage, actions, groups, prefix=None):
        if prefix is None:
            prefix = tr("utilisation : ", "usage: ")
        return super().add_usage(usage, actions, groups, prefix)


class _RawFormatter(_Formatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of a subcommand's description."""


def _localise(parser: argparse.ArgumentParser, lang: str) -> None:
    """French (or English) headings and -h text, instead of argparse's built-in English."""
    parser.add_argument(
        "-h", "--help", action="help",
        help=tr("affiche cette aide et quitte", "show this help message and exit", lang),
    )
    parser._positionals.title = tr("arguments", "positional arguments", lang)
    parser._optionals.title = tr("options", "options", lang)


def build_parser(lang: str) -> argparse.ArgumentParser:
    """Build the argument parser with help texts in ``lang``."""
    parser = argparse.ArgumentParser(
        add_help=False,
        formatter_class=_Formatter,
        prog="qsp-eval",
        description=tr(
            "Atelier d'évaluation d'une permanence de réduction des risques : vérifie les "
            "données anonymisées, calcule la fréquentation, les profils et l'effet de la "
            "thématisation, et produit un rapport en français ou en anglais.",
            "Evaluation workbench for a harm-reduction drop-in: checks the anonymised data, "
            "computes attendance, profiles and the effect of themed sessions, and writes a "
            "report in French or English.",
            lang,
        ),
        epilog=tr(
            "Exemple : qsp-eval validate data/example   |   Aide d'une commande : qsp-eval COMMANDE --help",
            "Example: qsp-eval validate data/example   |   Help on a command: qsp-eval COMMAND --help",
            lang,
        ),
    )
    _localise(parser, lang)
    parser.add_argument(
        "--lang", choices=i18n.LANGUAGES, default=lang,
        help=tr("langue des messages (fr ou en)", "language of messages (fr or en)", lang),
    )
    parser.add_argument(
        "--debug", action="store_true",
        help=tr("affiche le détail technique d'une erreur inattendue",
                "show the technical detail of an unexpected error", lang),
    )
    sub = parser.add_subparsers(dest="command", metavar=tr("COMMANDE", "COMMAND", lang))
    for name, mod in _available().items():
        p = sub.add_parser(
            name,
            help=tr(*mod.HELP, lang),
            description=tr(*mod.DESCRIPTION, lang),
            formatter_class=_RawFormatter,
            add_help=False,
        )
        _localise(p, lang)
        p.add_argument(
            "--lang", choices=i18n.LANGUAGES, default=lang,
            help=tr("langue des messages et des sorties (fr ou en)",
                    "language of messages and outputs (fr or en)", lang),
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``qsp-eval``; returns the exit status."""
    try:
        try:
            return _main(argv)
        finally:
            # flush here, not at interpreter exit: with a block-buffered stdout (a new shell
            # has no PYTHONUNBUFFERED) a short output, --help included, reaches a closed
            # pipe only when flushed
            sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` or a closed pager: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = _guess_language(argv)
    i18n.set_language(lang)
    parser = build_parser(lang)
    args = parser.parse_args(argv)
    i18n.set_language(args.lang)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    from .errors import QspError

    try:
        return int(args._run(args) or 0)
    except QspError as exc:
        print(exc.format(args.lang), file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # handled in main()
    except KeyboardInterrupt:
        print(tr("Interrompu.", "Interrupted."), file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a raw traceback
        if args.debug or os.environ.get("QSP_DEBUG"):
            raise
        from .privacy import scrub_message

        msg = scrub_message(exc)
        print(
            tr(
                f"Erreur inattendue ({type(exc).__name__}) : {msg}\n"
                "Relancez avec --debug pour le détail technique et signalez-la à l'équipe.",
                f"Unexpected error ({type(exc).__name__}): {msg}\n"
                "Run again with --debug for the technical detail and report it to the team.",
            ),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
