"""The coordinator's page: drop the workbook, read the problems, get the report — locally.

``qsp-eval app`` (or ``make app``) starts a small web server on **127.0.0.1 only**
and opens its page in the browser. The page is thin: it calls the same package
functions as the command line and computes nothing itself.

1. A workbook (``.xlsx``, ``.ods``) or a zip of a data folder is dropped on the
   page; it is checked (:func:`receive_upload`: not empty, not over
   :data:`MAX_UPLOAD_BYTES`, really a spreadsheet or zip) and stored in the app's
   temporary folder (:class:`Workspace`).
2. :func:`check_source` loads it with :func:`qsp_eval.io.load_source`, exactly
   as ``qsp-eval validate`` does; the problems of a
   :class:`~qsp_eval.errors.DataError` become the rows of the problem table
   (:func:`problem_rows`: sheet, row, column, value — already masked by the loader
   when identifying —, what is wrong, what was expected). Nothing runs until the
   data are valid.
3. The report is built by :func:`qsp_eval.report.run_report` in a child process
   (:class:`ReportJob`), whose progress lines feed the page's progress bar; the
   finished folder is zipped (:func:`qsp_eval.io.write_zip`) for download and its
   ``report.html`` is shown in the page. The key figures and the theming answer
   at the top are the report's own published summary (:func:`published_summary`,
   read from the executed ``05-summary`` notebook), so the page shows only what
   passed the report's disclosure control.

Privacy: the server listens on 127.0.0.1 and answers only requests addressed to
it by that name (``Host`` checked against DNS rebinding) carrying the page's
token; the uploaded file and every output live in one temporary folder, replaced
on each upload and removed when the app stops (folders left by an app that was
killed are removed at the next start). Responses are never cached by the
browser. The pseudonymisation key is resolved as by the command line
(``--key-file``, else ``QSP_PSEUDONYM_KEY``, else a random key per run) and is
never shown or written. The framework choice is explained in ``docs/app.md``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError, ParameterError, Problem, QspError
from .i18n import tr

__all__ = [
    "HOST",
    "DEFAULT_PORT",
    "MAX_UPLOAD_BYTES",
    "MAX_UNZIPPED_BYTES",
    "ACCEPTED_SUFFIXES",
    "PAGE_TEXT",
    "Workspace",
    "receive_upload",
    "find_source",
    "check_source",
    "problem_rows",
    "split_message",
    "progress_fraction",
    "published_summary",
    "window_parameters",
    "ReportJob",
    "AppServer",
    "serve",
]

#: The only address the server listens on.
HOST = "127.0.0.1"
#: Port tried first (another free port is taken when it is busy).
DEFAULT_PORT = 8765
#: Largest file accepted from the page: 20 MB (a year of weekly sessions is well under 1 MB).
MAX_UPLOAD_BYTES = 20 * 1000 * 1000
#: Largest content of a zip once uncompressed.
MAX_UNZIPPED_BYTES = 200 * 1000 * 1000
#: What the page accepts.
ACCEPTED_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".zip")
#: Name of the downloaded report archive.
ZIP_NAME = "rapport-qsp-eval.zip"
_TEMP_PREFIX = "qsp-eval-app-"
_TABLE_STEMS = ("sessions", "visits", "services", "distributions", "survey_responses")

#: Every text of the page, French first: key -> (french, english).
PAGE_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Rapport d'évaluation de la permanence", "Drop-in evaluation report"),
    "privacy": (
        "Vos données restent sur cet ordinateur : la page ne parle qu'à un programme lancé "
        "sur cette machine et rien n'est envoyé sur Internet. Le fichier déposé et le rapport "
        "sont effacés quand vous déposez un autre fichier ou fermez l'application.",
        "Your data stay on this computer: the page only talks to a program running on this "
        "machine and nothing is sent over the Internet. The file you drop and the report are "
        "erased when you drop another file or close the application."),
    "step1": ("1. Déposez votre classeur", "1. Drop your workbook"),
    "drop": ("Glissez ici le classeur rempli (.xlsx ou .ods) ou un dossier de données "
             "compressé (.zip)", "Drag the filled-in workbook (.xlsx or .ods) or a zipped data "
             "folder here"),
    "choose": ("… ou cliquez pour choisir le fichier", "... or click to choose the file"),
    "limit": ("{limit} au plus.", "{limit} at most."),
    "too_big": ("« {name} » pèse {size} : la limite est de {limit}. Déposez le classeur "
                "des données seul (sans images ni autres feuilles).",
                "'{name}' weighs {size}: the limit is {limit}. Drop the data workbook "
                "alone (without pictures or other sheets)."),
    "reading": ("Lecture et vérification de « {name} »…", "Reading and checking '{name}'..."),
    "step2": ("2. Vérification des données", "2. Checking the data"),
    "n_problems": ("{n} problème(s) à corriger dans « {name} »",
                   "{n} problem(s) to fix in '{name}'"),
    "fix_hint": ("Corrigez ces points dans le classeur, enregistrez-le, puis déposez-le à "
                 "nouveau. Rien n'est calculé tant que les données ne sont pas valides.",
                 "Fix these points in the workbook, save it, then drop it again. Nothing is "
                 "computed until the data are valid."),
    "more_problems": ("… et {n} autre(s) problème(s) : corrigez d'abord ceux-ci.",
                      "... and {n} more problem(s): fix these first."),
    "col_sheet": ("Feuille / fichier", "Sheet / file"),
    "col_row": ("Ligne", "Row"),
    "col_column": ("Colonne", "Column"),
    "col_value": ("Valeur", "Value"),
    "col_what": ("Ce qui ne va pas", "What is wrong"),
    "col_expected": ("Ce qui est attendu", "What is expected"),
    "refused": ("Fichier refusé", "File refused"),
    "valid": ("Données valides : « {name} »", "Data valid: '{name}'"),
    "notes": ("Remarques", "Notes"),
    "step3": ("3. Produire le rapport", "3. Build the report"),
    "theming_start": ("Début de la thématisation", "Start of theming"),
    "theming_start_help": (
        "Le classeur ne donne pas cette date (feuille « evaluation », ligne change.start) : "
        "indiquez le jour de la première permanence thématisée (jj/mm/aaaa).",
        "The workbook does not give this date (sheet 'evaluation', row change.start): give "
        "the day of the first themed session (dd/mm/yyyy)."),
    "theming_start_given": ("Début de la thématisation (d'après les données) : {date}",
                            "Start of theming (from the data): {date}"),
    "window": ("Période couverte par le rapport (facultatif)",
               "Period covered by the report (optional)"),
    "window_from": ("du", "from"),
    "window_to": ("au", "to"),
    "window_help": ("Laissez vide pour toute la période des données (jj/mm/aaaa).",
                    "Leave empty for the whole period of the data (dd/mm/yyyy)."),
    "run": ("Produire le rapport", "Build the report"),
    "running": ("Rapport en cours de production…", "Building the report..."),
    "failed": ("Le rapport n'a pas pu être produit", "The report could not be built"),
    "step4": ("Votre rapport", "Your report"),
    "done": ("Rapport prêt ({seconds} s).", "Report ready ({seconds} s)."),
    "download": ("Télécharger tout le rapport (.zip)", "Download the whole report (.zip)"),
    "open_tab": ("Ouvrir le rapport dans un nouvel onglet", "Open the report in a new tab"),
    "zip_hint": ("Le .zip contient report.html, les tableaux (CSV et tables.xlsx), les figures "
                 "et la rédaction (.md et .docx).",
                 "The .zip holds report.html, the tables (CSV and tables.xlsx), the figures "
                 "and the write-up (.md and .docx)."),
    "quit": ("Fermer et tout effacer", "Close and erase everything"),
    "quit_done": ("L'application est fermée et ses fichiers temporaires sont effacés. Vous "
                  "pouvez fermer cet onglet.",
                  "The application is closed and its temporary files are erased. You can "
                  "close this tab."),
    "lost": ("L'application ne répond plus (fermée ?). Relancez « make app ».",
             "The application no longer answers (closed?). Start 'make app' again."),
    "bad_date": ("« {value} » n'est pas une date : écrivez-la jj/mm/aaaa (ex. 10/01/2024).",
                 "'{value}' is not a date: write it dd/mm/yyyy (e.g. 10/01/2024)."),
    "need_theming_start": ("Indiquez le début de la thématisation avant de lancer le rapport.",
                           "Give the start of theming before building the report."),
    "report_frame": ("Le rapport", "The report"),
}

#: Parameters of the report window, when the notebooks declare them.
WINDOW_PARAMETERS = ("window_start", "window_end")


def _both(key: str, **fmt) -> dict:
    fr, en = PAGE_TEXT[key]
    return {"fr": fr.format(**fmt), "en": en.format(**fmt)}


def _msg(fr: str, en: str) -> dict:
    return {"fr": fr, "en": en}


def _size(n: int, lang: str) -> str:
    """A file size as a coordinator reads it (1 Mo = 10^6 octets).

    Examples
    --------
    >>> _size(2_500_000, "fr"), _size(20_000_000, "en"), _size(1001, "fr")
    ('2,5 Mo', '20 MB', '2 ko')
    """
    if n >= 1_000_000:
        num = f"{n / 1e6:.1f}".removesuffix(".0")
        return (num.replace(".", ",") + " Mo") if lang == "fr" else (num + " MB")
    k = -(-n // 1000)  # rounded up: never says "0 ko"
    return f"{k} ko" if lang == "fr" else f"{k} kB"


def _too_big(name: str, n: int, limit: int) -> dict:
    fr, en = PAGE_TEXT["too_big"]
    return {"fr": fr.format(name=name, size=_size(n, "fr"), limit=_size(limit, "fr")),
            "en": en.format(name=name, size=_size(n, "en"), limit=_size(limit, "en"))}


# ---------------------------------------------------------------------------
# The temporary folder
# ---------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


class Workspace:
    """The app's one temporary folder: uploads and reports, removed when the app stops.

    The folder (``qsp-eval-app-<pid>-*`` under ``parent``, default the system's
    temporary folder) is readable by its owner only. Each upload gets a fresh
    sub-folder (a *slot*); starting one removes the previous slot, so at most one
    workbook and one report exist at a time. Folders left by an app whose
    process no longer exists (killed) are removed when a new one starts.

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace(tempfile.mkdtemp())
    >>> first = ws.new_slot(); second = ws.new_slot()
    >>> first.exists(), second.exists()
    (False, True)
    >>> ws.close(); ws.root.exists()
    False
    """

    def __init__(self, parent=None):
        self.parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        self.parent.mkdir(parents=True, exist_ok=True)
        self.removed_stale = self.remove_stale(self.parent)
        self.root = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-",
                                          dir=self.parent))
        self.slot: Path | None = None
        self._count = 0
        self._lock = threading.Lock()

    @staticmethod
    def remove_stale(parent) -> list[Path]:
        """Remove the folders of apps that were killed before cleaning up; return them."""
        gone = []
        pat = re.compile(re.escape(_TEMP_PREFIX) + r"(\d+)-")
        for p in Path(parent).iterdir() if Path(parent).is_dir() else []:
            m = pat.match(p.name)
            if not m or not p.is_dir() or p.is_symlink():
                continue
            try:
                if p.stat().st_uid != os.getuid():
                    continue
            except OSError:
                continue
            if int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                shutil.rmtree(p, ignore_errors=True)
                gone.append(p)
        return gone

    def new_slot(self) -> Path:
        """Remove the previous upload and report; return a new empty folder for the next."""
        with self._lock:
            self.clear()
            self._count += 1
            self.slot = self.root / f"{self._count}"
            self.slot.mkdir(mode=0o700)
            return self.slot

    def clear(self) -> None:
        """Remove the current upload and report (the workspace stays usable)."""
        if self.slot is not None:
            shutil.rmtree(self.slot, ignore_errors=True)
            self.slot = None

    def close(self) -> None:
        """Remove the whole temporary folder (idempotent)."""
        self.slot = None
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Upload and validation
# ---------------------------------------------------------------------------
def _safe_name(filename: str) -> str:
    base = re.split(r"[\\/]", str(filename or ""))[-1].strip()
    base = re.sub(r"[^\w.\- ()À-ÿ]", "_", base)[:120].lstrip(".")
    return base or "classeur"


def receive_upload(workspace: Workspace, filename: str, data: bytes, *,
                   max_bytes: int = MAX_UPLOAD_BYTES,
                   max_unzipped: int = MAX_UNZIPPED_BYTES) -> tuple[Path, str]:
    """Check a file sent by the page, store it in a new slot, and return ``(source, name)``.

    ``source`` is what :func:`qsp_eval.io.load_source` is given: the workbook, or
    the data folder found in the zip (:func:`find_source`); ``name`` the file's
    name as the user knows it (for messages).

    Raises
    ------
    ParameterError
        Empty file, over ``max_bytes``, not a ``.xlsx``/``.ods``/``.zip``, or a
        content that is not a spreadsheet; one sentence, French and English.
    DataError
        A zip that cannot be extracted safely (see :func:`qsp_eval.io.extract_zip`).

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace(tempfile.mkdtemp())
    >>> try:
    ...     receive_upload(ws, "vide.xlsx", b"")
    ... except ParameterError as exc:
    ...     print(exc.format("fr"))
    « vide.xlsx » est vide (0 octet) : enregistrez le classeur dans le tableur puis déposez-le à nouveau.
    >>> ws.close()
    """
    from .io import extract_zip, write_binary

    name = _safe_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise ParameterError(
            f"« {name} » n'est pas un classeur : déposez le classeur Excel (.xlsx) ou "
            "LibreOffice (.ods) des données, ou le dossier des données compressé en .zip.",
            f"'{name}' is not a workbook: drop the Excel (.xlsx) or LibreOffice (.ods) "
            "workbook of the data, or the data folder compressed as a .zip.")
    if not data:
        raise ParameterError(
            f"« {name} » est vide (0 octet) : enregistrez le classeur dans le tableur puis "
            "déposez-le à nouveau.",
            f"'{name}' is empty (0 bytes): save the workbook in the spreadsheet program, then "
            "drop it again.")
    if len(data) > max_bytes:
        raise ParameterError(*_too_big(name, len(data), max_bytes).values())
    if not data.startswith(b"PK\x03\x04"):  # .xlsx, .ods and .zip are all zip containers
        what_fr = "un dossier compressé (.zip)" if suffix == ".zip" else "un classeur"
        what_en = "a zipped folder (.zip)" if suffix == ".zip" else "a workbook"
        raise ParameterError(
            f"« {name} » porte l'extension {suffix} mais son contenu n'est pas celui d'{what_fr} "
            "(fichier renommé ou abîmé ?) : ouvrez-le dans le tableur et enregistrez-le au format "
            "Excel (.xlsx) ou OpenDocument (.ods).",
            f"'{name}' has the extension {suffix} but its content is not {what_en} (renamed "
            "or damaged file?): open it in the spreadsheet program and save it as Excel (.xlsx) "
            "or OpenDocument (.ods).")
    slot = workspace.new_slot()
    stored = write_binary(data, slot / "upload" / name)
    if suffix != ".zip":
        return stored, name
    files = extract_zip(stored, slot / "upload" / "unzipped", max_bytes=max_unzipped,
                        display_name=name)
    return find_source(slot / "upload" / "unzipped", files, name), name


def find_source(folder: Path, files: list[Path], name: str) -> Path:
    """The data source inside an extracted zip: the folder holding the tables, or one workbook.

    The shallowest folder with a table file (``sessions.csv``, ``visits.xlsx``...)
    or ``evaluation.yml``; else the only workbook of the archive.

    Raises
    ------
    ParameterError
        Nothing that looks like data in the archive.
    """
    def is_table(p: Path) -> bool:
        return (p.stem.lower() in _TABLE_STEMS and p.suffix.lower() in (".csv", ".xlsx", ".ods",
                                                                       ".parquet")
                or p.name.lower() in ("evaluation.yml", "evaluation.yaml"))

    folders = sorted({p.parent for p in files if is_table(p)}, key=lambda d: (len(d.parts), d))
    if folders:
        return folders[0]
    books = [p for p in files if p.suffix.lower() in (".xlsx", ".xlsm", ".ods")]
    if len(books) == 1:
        return books[0]
    raise ParameterError(
        f"« {name} » ne contient pas de données : compressez le dossier qui contient "
        "sessions.csv, visits.csv… et evaluation.yml (ou un seul classeur).",
        f"'{name}' holds no data: compress the folder holding sessions.csv, visits.csv... "
        "and evaluation.yml (or a single workbook).")


# "what is wrong" / "what was expected" out of one validation message
_EXPECTED = {
    "fr": [re.compile(r"^(?P<what>.*?)\s*(?P<sep>[:;,.?])\s*(?P<key>attendue?s?|valeurs? permises?)"
                      r"\s*:?\s*(?P<exp>.+)$", re.I | re.S),
           re.compile(r"^(?P<exp1>.*?)\s+(?P<key>attendue?s?)\b\s*(?P<exp>.*)$", re.I | re.S)],
    "en": [re.compile(r"^(?P<what>.*?)\s*(?P<sep>[:;,.?])\s*(?P<key>expected|allowed values?)"
                      r"\s*:?\s*(?P<exp>.+)$", re.I | re.S),
           re.compile(r"^(?P<exp1>.*?)\s+(?P<key>(?:is |are )?expected)\b\s*(?P<exp>.*)$",
                      re.I | re.S)],
}


def split_message(message: str, lang: str = "fr") -> tuple[str, str]:
    """Split a validation message into ``(what is wrong, what was expected)``.

    The loader's messages say both in one sentence (``"date invalide : attendu
    jj/mm/aaaa"``); the page shows them in two columns. A message without an
    "expected" part is returned whole as the first element. Presentation only:
    the words are the loader's.

    Examples
    --------
    >>> split_message("date invalide : attendu jj/mm/aaaa (ex. 17/05/2023)")
    ('date invalide', 'jj/mm/aaaa (ex. 17/05/2023)')
    >>> split_message("nombre entier attendu (0, 1, 2...)")
    ('', 'nombre entier (0, 1, 2...)')
    >>> split_message("valeur inconnue : vouliez-vous dire « Femme » ? Valeurs permises : « Homme »")
    ('valeur inconnue : vouliez-vous dire « Femme » ?', '« Homme »')
    >>> split_message("unknown value; allowed values: 'Woman', 'Man'", "en")
    ('unknown value', "'Woman', 'Man'")
    >>> split_message("colonne obligatoire absente")
    ('colonne obligatoire absente', '')
    """
    text = str(message or "").strip()
    first, second = _EXPECTED["fr" if lang == "fr" else "en"]
    m = first.match(text)
    if m and m.group("what"):
        what = m.group("what").strip() + (" ?" if m.group("sep") == "?" else "")
        return what, m.group("exp").strip()
    m = second.match(text)
    if m and m.group("exp1") and not re.search(r"[:;]", m.group("exp1")):
        return "", (m.group("exp1").strip() + " " + m.group("exp").strip()).strip()
    return text, ""


def problem_rows(problems: list[Problem]) -> list[dict]:
    """The rows of the page's problem table, in both languages.

    Each row: ``sheet`` (the sheet of a workbook, else the file), ``row`` (as the
    spreadsheet shows it, or None), ``column``, ``value`` (already masked by the
    loader when identifying, ``"[masqué]"``), ``what`` and ``expected``
    (``{"fr": ..., "en": ...}``, see :func:`split_message`). Nothing else of the
    data is shown.

    Examples
    --------
    >>> p = Problem("b.xlsx[visits]", 4, "age", "abc", "âge attendu : nombre entier",
    ...             "age expected: a whole number")
    >>> r = problem_rows([p])[0]
    >>> r["sheet"], r["row"], r["column"], r["value"], r["expected"]["fr"]
    ('visits', 4, 'age', 'abc', 'âge : nombre entier')
    """
    rows = []
    for p in problems:
        m = re.match(r"^(?P<file>.*)\[(?P<sheet>[^\]]+)\]$", p.file or "")
        sheet = m.group("sheet") if m else (p.file or "")
        what_fr, exp_fr = split_message(p.message_fr, "fr")
        what_en, exp_en = split_message(p.message_en, "en")
        rows.append({
            "file": m.group("file") if m else (p.file or ""),
            "sheet": sheet,
            "row": p.row,
            "column": p.column,
            "value": p.value,
            "what": _msg(what_fr, what_en),
            "expected": _msg(exp_fr, exp_en),
            "line": _msg(p.format("fr"), p.format("en")),
        })
    return rows


def _error_payload(exc: BaseException) -> dict:
    """What the page shows for an error: problems (table) or one sentence; never a traceback."""
    if isinstance(exc, DataError):
        if all(p.row is None and p.column is None for p in exc.problems):
            return {"message": _msg("\n".join(p.format("fr") for p in exc.problems),
                                    "\n".join(p.format("en") for p in exc.problems))}
        return {"problems": problem_rows(exc.problems)}
    if isinstance(exc, QspError):
        return {"message": _msg(exc.format("fr"), exc.format("en"))}
    from .privacy import scrub_message

    text = scrub_message(exc)
    return {"message": _msg(
        f"Erreur inattendue ({type(exc).__name__}) : {text}. Signalez-la à l'équipe ; vos "
        "données n'ont pas été transmises.",
        f"Unexpected error ({type(exc).__name__}): {text}. Please report it to the team; your "
        "data were not sent anywhere.")}


#: At most this many problems are listed (all are counted), as in ``qsp-eval validate``.
MAX_LISTED = 300


def check_source(source, *, name: str, key_file=None) -> dict:
    """Load and validate ``source`` as ``qsp-eval validate`` does; return what the page shows.

    Returns
    -------
    dict
        ``valid`` (bool). When valid: ``summary`` and ``notices``
        (``{"fr": [lines], "en": [lines]}``, counts only, from
        :func:`qsp_eval.commands.validate.summary_lines`), ``theming_start``
        (ISO date from the source, or None). When not: ``problems`` (at most
        :data:`MAX_LISTED` rows of :func:`problem_rows`) and ``n_problems``, or
        ``message`` (one sentence, ``{"fr", "en"}``).
    """
    from .io import load_source

    try:
        ds = load_source(source, key_file=key_file)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message for the page
        out = {"valid": False, **_error_payload(exc)}
        if "problems" in out:
            out["n_problems"] = len(out["problems"])
            out["problems"] = out["problems"][:MAX_LISTED]
        return out
    from .commands.validate import summary_lines

    ds.source = name  # the summary names the file as the user knows it, not the temp path
    notices = list(ds.notices)
    change = ds.config.change
    return {
        "valid": True,
        "summary": {lang: summary_lines(ds, lang) for lang in ("fr", "en")},
        "notices": {lang: [n.format(lang) if hasattr(n, "en") else str(n) for n in notices]
                    for lang in ("fr", "en")},
        "theming_start": change.start.isoformat() if change is not None else None,
    }


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def progress_fraction(lines: list[str]) -> float:
    """How far a report run is, from :func:`qsp_eval.report.run_report`'s progress lines.

    Checking the data counts 5 %, the notebooks up to 90 %, assembling,
    the disclosure check and the zip the rest.

    Examples
    --------
    >>> progress_fraction([])
    0.0
    >>> progress_fraction(["Vérification des données...", "[1/6] 00-data-quality ..."])
    0.05
    >>> progress_fraction(["[3/6] 02-profiles ...", "      terminé en 1.0 s"])
    0.475
    """
    frac = 0.0
    current = None
    for ln in lines:
        s = str(ln).strip()
        m = _STEP.match(s)
        if m:
            current = (int(m.group(1)), int(m.group(2)))
            frac = max(frac, 0.05 + 0.85 * (current[0] - 1) / current[1])
        elif s.startswith(("terminé", "done")) and current:
            frac = max(frac, 0.05 + 0.85 * current[0] / current[1])
        elif s.startswith(("Vérification", "Checking")):
            frac = max(frac, 0.02)
        elif s.startswith(("Assemblage", "Assembling")):
            frac = max(frac, 0.92)
        elif s.startswith(("Contrôle", "Disclosure")):
            frac = max(frac, 0.95)
        elif s.startswith(("Préparation", "Preparing")):
            frac = max(frac, 0.98)
    return round(min(frac, 1.0), 4)


def published_summary(out_dir) -> str | None:
    """The key figures and theming answer the report shows on its first page (HTML), or None.

    Taken as published from the executed ``05-summary`` notebook of the report
    folder (the output marked ``kind: summary``): the same cards and sentence as
    at the top of ``report.html``, which passed its disclosure control. Nothing
    is computed here.
    """
    from .io import read_notebook

    path = Path(out_dir) / "notebooks" / "05-summary.ipynb"
    if not path.is_file():
        return None
    try:
        nb = read_notebook(path)
    except Exception:  # noqa: BLE001 - a report without the summary is still shown
        return None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = (out.get("metadata") or {}).get("qsp_eval") or {}
            if meta.get("kind") == "summary" and "text/html" in out.get("data", {}):
                html = out["data"]["text/html"]
                return "".join(html) if isinstance(html, list) else str(html)
    return None


def window_parameters() -> tuple[str, ...]:
    """The report-window parameters the notebooks declare (``window_start``/``window_end``), if any."""
    from . import report

    try:
        declared = report.declared_parameters(report.notebook_paths())
    except Exception:  # noqa: BLE001 - no notebooks: no window fields
        return ()
    return tuple(p for p in WINDOW_PARAMETERS if p in declared)


def _run_report(source, out, lang, parameters, key_file, say):
    """Build the report folder and its zip (the child process's work; replaced in tests)."""
    from . import report
    from .io import write_zip

    result = report.run_report(source, out, lang=lang, parameters=parameters,
                               progress=say, key_file=key_file)
    say(tr("Préparation du fichier .zip...", "Preparing the .zip file...", lang))
    write_zip(result.out_dir, Path(out).parent / ZIP_NAME, root="rapport")
    return result.seconds


def _worker_main(run=None) -> None:
    """Entry point of the report's child process (``python -c``): one JSON job on stdin.

    Writes one JSON message a line on its standard output — ``["line", text]``
    (progress), then ``["done", seconds]`` or ``["error", payload]`` — and never a
    traceback: anything the libraries print goes to standard error, which the
    app discards (kept with ``QSP_DEBUG=1``). ``run`` replaces
    :func:`_run_report` (tests).
    """
    import sys

    from . import i18n

    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stray prints cannot garble the messages
    sys.stdout = sys.stderr

    def send(kind, value) -> None:
        channel.write(json.dumps([kind, value], ensure_ascii=False) + "\n")
        channel.flush()

    try:
        job = json.loads(sys.stdin.read())
        i18n.set_language(job["lang"])
        seconds = (run or _run_report)(job["source"], job["out"], job["lang"],
                                       job["parameters"], job["key_file"],
                                       lambda line: send("line", str(line)))
        send("done", float(seconds or 0.0))
    except KeyboardInterrupt:
        send("error", _error_payload(QspError("Interrompu.", "Interrupted.")))
    except BaseException as exc:  # noqa: BLE001 - the page shows a sentence
        send("error", _error_payload(exc))
    finally:
        channel.close()


#: The command that runs :func:`_worker_main` in a fresh interpreter.
WORKER_COMMAND = ("-c", "import qsp_eval.app as a; a._worker_main()")


@dataclass
class ReportJob:
    """One report run in a child process (a fresh Python), followed with :meth:`poll`.

    ``state`` is ``"running"``, ``"done"`` or ``"failed"``; ``lines`` the progress
    lines; ``error`` the payload shown when it failed. The child is a new
    interpreter running :func:`_worker_main` (``command`` replaces its arguments
    in tests): nothing is shared with the server, a crash cannot take the page
    down, and the report's per-cell timeout works (it needs the main thread).
    """

    source: Path
    out: Path
    lang: str = "fr"
    parameters: dict = field(default_factory=dict)
    key_file: object = None
    command: tuple = WORKER_COMMAND
    state: str = "running"
    lines: list = field(default_factory=list)
    error: dict | None = None
    seconds: float = 0.0

    def start(self) -> ReportJob:
        import subprocess
        import sys

        debug = bool(os.environ.get("QSP_DEBUG"))
        self._messages: list = []
        self._proc = subprocess.Popen(
            [sys.executable, *self.command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if debug else subprocess.DEVNULL, text=True, encoding="utf-8",
            start_new_session=True)
        job = {"source": str(self.source), "out": str(self.out), "lang": self.lang,
               "parameters": dict(self.parameters),
               "key_file": None if self.key_file is None else str(self.key_file)}
        self._proc.stdin.write(json.dumps(job))
        self._proc.stdin.close()
        self._reader = threading.Thread(target=self._read, name="qsp-eval-report-reader",
                                        daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for raw in self._proc.stdout:
            try:
                kind, value = json.loads(raw)
            except (ValueError, TypeError):
                continue
            self._messages.append((kind, value))

    def poll(self) -> str:
        """Take the child's news; return the state."""
        if self.state != "running":
            return self.state
        ended = self._proc.poll() is not None
        if ended:
            self._reader.join(5)
        while self._messages:
            kind, value = self._messages.pop(0)
            if kind == "line":
                self.lines.append(value)
            elif kind == "done":
                self.seconds = value
                self.state = "done"
            elif kind == "error":
                self.error = value
                self.state = "failed"
        if self.state == "running" and ended:
            self.state = "failed"
            self.error = {"message": _msg(
                "Le calcul du rapport s'est arrêté sans explication (mémoire insuffisante ?).",
                "The report computation stopped without an explanation (out of memory?).")}
        if self.state != "running":
            self._proc.wait(10)
        return self.state

    def stop(self) -> None:
        """End the child process and its own children (a new upload, or the app stops)."""
        import signal
        import subprocess

        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # its own session: the report's worker too
            except (ProcessLookupError, PermissionError):
                proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover - ignored SIGTERM
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if self.state == "running":
            self.state = "failed"


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------
def _page(token: str, nonce: str, max_bytes: int, lang: str) -> str:
    from importlib import resources

    from .io import read_text_file

    template = read_text_file(resources.files("qsp_eval") / "templates" / "app.html")
    text = {k: {"fr": fr, "en": en} for k, (fr, en) in PAGE_TEXT.items()}
    config = {"token": token, "maxBytes": max_bytes, "lang": lang,
              "accept": ",".join(ACCEPTED_SUFFIXES)}

    def js(obj) -> str:
        return json.dumps(obj, ensure_ascii=False).replace("</", "<\\/")

    return (template.replace("{{NONCE}}", nonce).replace("{{LANG}}", lang)
            .replace("{{TEXT_JSON}}", js(text)).replace("{{CONFIG_JSON}}", js(config))
            .replace("{{ACCEPT}}", config["accept"]))


class _State:
    """Everything the server holds between requests (one user, one upload at a time)."""

    def __init__(self, workspace: Workspace, *, key_file=None, max_bytes=MAX_UPLOAD_BYTES,
                 lang="fr", command=WORKER_COMMAND):
        self.workspace = workspace
        self.key_file = key_file
        self.max_bytes = max_bytes
        self.lang = lang
        self.command = tuple(command)
        self.token = secrets.token_urlsafe(24)
        self.upload: dict | None = None  # source, name, slot, check result
        self.job: ReportJob | None = None
        self.lock = threading.Lock()

    def reset(self) -> None:
        if self.job is not None:
            self.job.stop()
        self.job = None
        self.upload = None

    def status(self) -> dict:
        job = self.job
        if job is None:
            return {"state": "idle"}
        state = job.poll()
        slot = self.upload["slot"] if self.upload else ""
        out = {"state": state, "lines": job.lines[-40:], "progress": progress_fraction(job.lines),
               "last": job.lines[-1].strip() if job.lines else ""}
        if state == "done":
            out["progress"] = 1.0
            out["seconds"] = round(job.seconds, 1)
            out["summary_html"] = published_summary(job.out)
            out["report_url"] = f"/report/{slot}/report.html"
            out["zip_url"] = f"/download/{slot}/{ZIP_NAME}"
        elif state == "failed":
            out["error"] = job.error
        return out


def _make_application(state: _State, on_quit):
    import tornado.web

    allowed_hosts = {"127.0.0.1", "localhost"}

    class Base(tornado.web.RequestHandler):
        def set_default_headers(self):
            self.set_header("Cache-Control", "no-store")
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Referrer-Policy", "no-referrer")
            self.set_header("Cross-Origin-Resource-Policy", "same-origin")

        def prepare(self):
            host = (self.request.host or "").rsplit(":", 1)[0].strip("[]").lower()
            if host not in allowed_hosts:
                raise tornado.web.HTTPError(403)
            if self.request.method == "POST" and \
                    self.request.headers.get("X-QSP-Token") != state.token:
                raise tornado.web.HTTPError(403)

        def write_error(self, status_code, **kwargs):
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"message": _msg(f"Requête refusée ({status_code}).",
                                                    f"Request refused ({status_code}).")}))

        def send_json(self, obj, status=200):
            self.set_status(status)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps(obj, ensure_ascii=False))

    class PageHandler(Base):
        def get(self):
            nonce = secrets.token_urlsafe(16)
            self.set_header(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'unsafe-inline'; "
                "img-src 'self' data:; connect-src 'self'; frame-src 'self'; "
                "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            lang = self.get_query_argument("lang", state.lang)
            self.finish(_page(state.token, nonce, state.max_bytes,
                              lang if lang in ("fr", "en") else "fr"))

    class UploadHandler(Base):
        async def post(self):
            from urllib.parse import unquote

            import tornado.ioloop

            name = unquote(self.request.headers.get("X-Filename", "")) or "classeur"
            body = self.request.body
            with state.lock:
                state.reset()
                state.workspace.clear()
            if len(body) > state.max_bytes:
                self.send_json({"valid": False, "refused": True, "name": _safe_name(name),
                                "message": _too_big(_safe_name(name), len(body),
                                                    state.max_bytes)}, 413)
                return
            loop = tornado.ioloop.IOLoop.current()

            def work():
                try:
                    source, shown = receive_upload(state.workspace, name, body,
                                                   max_bytes=state.max_bytes)
                except Exception as exc:  # noqa: BLE001 - shown as a sentence
                    state.workspace.clear()
                    return {"valid": False, "refused": True, "name": _safe_name(name),
                            **_error_payload(exc)}
                result = check_source(source, name=shown, key_file=state.key_file)
                result["name"] = shown
                with state.lock:
                    state.upload = {"source": source, "name": shown,
                                    "slot": state.workspace.slot.name, "check": result}
                if result["valid"]:
                    result["window"] = list(window_parameters())
                return result

            result = await loop.run_in_executor(None, work)
            self.send_json(result)

    class RunHandler(Base):
        def post(self):
            from .validation import parse_date

            try:
                form = json.loads(self.request.body or b"{}")
            except ValueError:
                form = {}
            up = state.upload
            if not up or not up["check"].get("valid"):
                self.send_json({"message": _msg(
                    "Déposez d'abord un classeur valide.", "Drop a valid workbook first.")}, 409)
                return
            if state.job is not None and state.job.poll() == "running":
                self.send_json({"message": _msg("Le rapport est déjà en cours.",
                                                "The report is already running.")}, 409)
                return
            lang = form.get("lang") if form.get("lang") in ("fr", "en") else "fr"
            params = {}
            fields = [("theming_start", "theming_start")]
            fields += [(p, p) for p in window_parameters()]
            for key, param in fields:
                value = str(form.get(key) or "").strip()
                if not value:
                    continue
                d = parse_date(value)
                if d is None:
                    self.send_json({"message": _both("bad_date", value=value[:40])}, 400)
                    return
                params[param] = d.isoformat()
            if up["check"].get("theming_start") and "theming_start" in params:
                params.pop("theming_start")  # the source gives it: the field was not shown
            if not up["check"].get("theming_start") and "theming_start" not in params:
                self.send_json({"message": _both("need_theming_start")}, 400)
                return
            slot = state.workspace.slot
            for old in (slot / "rapport", slot / ZIP_NAME):
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                elif old.exists():
                    old.unlink()
            state.job = ReportJob(up["source"], slot / "rapport", lang=lang, parameters=params,
                                  key_file=state.key_file,
                                  command=state.command).start()
            self.send_json({"state": "running"})

    class StatusHandler(Base):
        def get(self):
            self.send_json(state.status())

    class FileHandler(Base):
        zip = False

        def get(self, slot, path):
            from .io import read_binary

            cur = state.workspace.slot
            job = state.job
            if cur is None or slot != cur.name or job is None or job.poll() != "done":
                raise tornado.web.HTTPError(404)
            base = cur.resolve() if self.zip else (cur / "rapport").resolve()
            target = (base / path).resolve()
            if not target.is_relative_to(base) or not target.is_file():
                raise tornado.web.HTTPError(404)
            ctype = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8",
                     ".zip": "application/zip", ".png": "image/png",
                     ".svg": "image/svg+xml", ".json": "application/json",
                     ".md": "text/markdown; charset=utf-8"}.get(target.suffix.lower(),
                                                                 "application/octet-stream")
            self.set_header("Content-Type", ctype)
            if self.zip:
                self.set_header("Content-Disposition", f'attachment; filename="{ZIP_NAME}"')
            else:  # the report: no script runs, nothing is fetched from anywhere
                self.set_header("Content-Security-Policy",
                                "default-src 'none'; img-src data: 'self'; style-src "
                                "'unsafe-inline'; font-src data:; frame-ancestors 'self'")
            self.finish(read_binary(target))

    class ReportHandler(FileHandler):
        zip = False

    class DownloadHandler(FileHandler):
        zip = True

    class QuitHandler(Base):
        def post(self):
            self.send_json({"closed": True})
            tornado.ioloop.IOLoop.current().add_callback(on_quit)

    import tornado.ioloop

    return tornado.web.Application([
        (r"/", PageHandler),
        (r"/api/upload", UploadHandler),
        (r"/api/run", RunHandler),
        (r"/api/status", StatusHandler),
        (r"/api/quit", QuitHandler),
        (r"/report/([0-9]+)/(.+)", ReportHandler),
        (r"/download/([0-9]+)/(" + re.escape(ZIP_NAME) + ")", DownloadHandler),
    ], compress_response=False, xsrf_cookies=False, autoreload=False, debug=False)


class AppServer:
    """The local page's server: :meth:`start` it (in a thread), then :meth:`stop` it.

    On stop, the running report (if any) is ended and the temporary folder removed.

    Parameters
    ----------
    port : int
        0 for any free port; else this one (:data:`DEFAULT_PORT` by default in
        :func:`serve`), or a free one when it is busy.
    key_file : path-like, optional
        Pseudonymisation key file, as ``--key-file`` of the command line.
    max_upload_bytes : int
        Largest accepted file.
    temp_parent : path-like, optional
        Where the temporary folder is made (default: the system's).
    lang : {"fr", "en"}
        Language the page opens in.
    command : tuple of str
        Arguments of the report's child Python (see :class:`ReportJob`; tests).
    """

    def __init__(self, *, port: int = 0, key_file=None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 temp_parent=None, lang: str = "fr", command=WORKER_COMMAND):
        self.requested_port = port
        self.workspace = Workspace(temp_parent)
        self.state = _State(self.workspace, key_file=key_file, max_bytes=max_upload_bytes,
                            lang=lang, command=command)
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop = None
        self._server = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def _bind(self):
        import socket

        from tornado.netutil import bind_sockets

        if self.requested_port:
            try:
                return bind_sockets(self.requested_port, address=HOST, family=socket.AF_INET)
            except OSError:
                pass
        return bind_sockets(0, address=HOST, family=socket.AF_INET)

    def _run(self) -> None:
        import asyncio

        from tornado.httpserver import HTTPServer

        async def main():
            self._loop = asyncio.get_running_loop()
            self._quit = asyncio.Event()
            try:
                sockets = self._bind()
                app = _make_application(self.state, self._quit.set)
                # bodies a little over the limit are still read, so the page gets a sentence
                self._server = HTTPServer(app, max_body_size=self.state.max_bytes + (1 << 20),
                                          xheaders=False)
                self._server.add_sockets(sockets)
                self.port = sockets[0].getsockname()[1]
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self._quit.wait()
            self._server.stop()
            await self._server.close_all_connections()

        try:
            asyncio.run(main())
        finally:
            self._cleanup()
            self._stopped.set()

    def _cleanup(self) -> None:
        try:
            self.state.reset()
        finally:
            self.workspace.close()

    def start(self) -> AppServer:
        """Start serving in a background thread; return when the port is open."""
        self._thread = threading.Thread(target=self._run, name="qsp-eval-app", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 30) -> None:
        """Stop the server, end a running report, remove the temporary folder."""
        if self._loop is not None and not self._stopped.is_set():
            self._loop.call_soon_threadsafe(self._quit.set)
        if self._thread is not None:
            self._thread.join(timeout)
        if not self._stopped.is_set():
            self._cleanup()

    def wait(self) -> None:
        """Block until the server stops (the page's "close" button, or :meth:`stop`)."""
        while not self._stopped.wait(0.5):
            pass

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(*, port: int = DEFAULT_PORT, key_file=None, open_browser: bool = True,
          lang: str = "fr", max_upload_bytes: int = MAX_UPLOAD_BYTES, temp_parent=None,
          say=print) -> int:
    """Run the page until Ctrl+C, SIGTERM or its "close" button; clean up; return 0.

    ``say`` receives the lines for the terminal (the address first).

    Examples
    --------
    >>> # serve()  # prints the address, opens the browser, blocks
    """
    import signal

    server = AppServer(port=port, key_file=key_file, max_upload_bytes=max_upload_bytes,
                       lang=lang, temp_parent=temp_parent).start()
    previous = {}

    def _term(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, _term)
        except (ValueError, OSError):  # pragma: no cover - not the main thread
            pass
    try:
        say(tr(f"Page ouverte à l'adresse {server.url}  (sur cet ordinateur seulement)",
               f"Page open at {server.url}  (on this computer only)", lang))
        say(tr("Arrêt : Ctrl+C ici, ou le bouton « Fermer et tout effacer » de la page.",
               "Stop: Ctrl+C here, or the page's 'Close and erase everything' button.", lang))
        if open_browser:
            import webbrowser

            try:
                webbrowser.open_new_tab(server.url)  # a browser, not a file
            except Exception:  # noqa: BLE001 - the address is printed anyway
                pass
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
        say(tr("Application arrêtée ; fichiers temporaires effacés.",
               "Application stopped; temporary files erased.", lang))
    return 0
