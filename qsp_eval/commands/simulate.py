"""``qsp-eval simulate OUT_DIR [--seed N]``: write the SYNTHETIC example data source."""

from __future__ import annotations

from ..i18n import tr

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = (
    "écrit un jeu de données d'exemple SYNTHÉTIQUE (aucune personne réelle)",
    "write a SYNTHETIC example data source (no real person)",
)

DESCRIPTION = (
    "Écrit dans OUT_DIR un jeu de données complet et valide, entièrement synthétique, qui imite "
    "une permanence hebdomadaire depuis novembre 2021 (234 passages sur 43 permanences en 2023, "
    "38 % de personnes trans, agenres et non-binaires parmi les personnes vues en 2023, "
    "thématisation de certaines permanences à partir de janvier 2024, quand la croissance "
    "s'arrête...). Les fichiers : "
    "sessions.csv, visits.csv, services.csv, distributions.csv, survey_responses.csv, "
    "evaluation.yml, truth.json (les effets et chiffres plantés) et README.md. Le résultat est "
    "identique pour une même graine ; data/example/ est la graine 2021.\n\n"
    "Exemple : qsp-eval simulate mon_exemple --seed 2021",
    "Writes to OUT_DIR a complete, valid, entirely synthetic data source mimicking a weekly "
    "drop-in since November 2021 (234 visits over 43 sessions in 2023, 38% trans, agender and "
    "non-binary people among the people seen in 2023, theming of some sessions from January "
    "2024, when growth levels off...). Files: sessions.csv, visits.csv, services.csv, distributions.csv, "
    "survey_responses.csv, evaluation.yml, truth.json (the planted effects and figures) and "
    "README.md. The same seed always gives the same data; data/example/ is seed 2021.\n\n"
    "Example: qsp-eval simulate my_example --seed 2021",
)


def add_arguments(parser) -> None:
    """Declare OUT_DIR, --seed and --force."""
    parser.add_argument(
        "out_dir", metavar="OUT_DIR",
        help=tr("dossier à créer (il ne doit pas contenir de fichiers, sauf avec --force)",
                "folder to create (it must hold no file, unless --force)"),
    )
    parser.add_argument(
        "--seed", type=int, default=2021,
        help=tr("graine du hasard (défaut 2021, celle de data/example/)",
                "random seed (default 2021, the one of data/example/)"),
    )
    parser.add_argument(
        "--force", action="store_true",
        help=tr("remplace les fichiers d'un dossier existant",
                "replace the files of an existing folder"),
    )


def run(args) -> int:
    """Simulate and write; print what was written."""
    from ..simulate import write_simulation

    lang = getattr(args, "lang", None)
    paths = write_simulation(args.out_dir, seed=args.seed, overwrite=args.force)
    print(tr(
        f"Données SYNTHÉTIQUES écrites dans {args.out_dir} (graine {args.seed}) : "
        f"{len(paths)} fichiers ({', '.join(p.name for p in paths)}).",
        f"SYNTHETIC data written to {args.out_dir} (seed {args.seed}): "
        f"{len(paths)} files ({', '.join(p.name for p in paths)}).",
        lang,
    ))
    return 0
