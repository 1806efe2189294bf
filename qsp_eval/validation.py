"""Validation: raw string tables + evaluation.yml -> a Dataset in the internal form.

:func:`build_dataset` checks everything and reports **all** problems at once
(a :class:`~qsp_eval.errors.DataError` carrying one
:class:`~qsp_eval.errors.Problem` per problem: file and sheet, row as a
spreadsheet shows it, column, value made safe to print, and what was
expected, in French and English). When nothing is wrong it returns a
:class:`~qsp_eval.schema.Dataset` whose tables are in the internal form
described in :mod:`qsp_eval.schema`.

What it does on the way (each reported in ``Dataset.notices``):

- refuses columns that carry direct identifiers, by name or by content
  (:mod:`qsp_eval.privacy`), never echoing the value;
- drops free-text columns (notes, comments...) and unknown columns;
- turns an ``age`` column into ``age_band`` and drops it;
- replaces ``visitor_code`` by ``person_id``, a keyed HMAC-SHA256 pseudonym.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from datetime import date, datetime, timedelta

from .errors import DataError, Problem
from .io import _cell_to_str
from .privacy import (
    IDENTIFIER_KINDS,
    MASK,
    detect_identifier,
    identifier_column_kind,
    is_free_text_column,
    pseudonymise,
    safe_value,
)
from .schema import (
    INTERNAL_COLUMNS,
    ITEM_CATEGORY,
    PROFILE_FIELDS,
    TABLES,
    VOCABULARIES,
    Change,
    Dataset,
    EvaluationConfig,
    Event,
    column_for_header,
    empty_table,
    header_label,
    lookup_code,
    normalise_label,
    suggest_code,
)

__all__ = [
    "Notice",
    "build_dataset",
    "parse_evaluation",
    "parse_date",
    "date_problem_text",
    "parse_month",
    "parse_count",
    "age_to_band",
    "EVALUATION_KEYS",
]

ROW_INDEX_NAME = "spreadsheet_row"
FREE_TEXT_PLACEHOLDER = "<free_text>"
_MAX_ID_PROBLEMS_PER_COLUMN = 20

#: Top-level keys of evaluation.yml.
EVALUATION_KEYS = ("programme", "organisation", "language", "synthetic", "launch_date",
                   "session_weekday", "change", "events", "disclosure", "reporting_groups",
                   "surveys")


class Notice(str):
    """A message for the user, in French (the string itself) and English (``.en``).

    Behaves as a plain ``str`` (French); :meth:`format` picks the language.

    Examples
    --------
    >>> n = Notice("colonne ignorée", "column ignored")
    >>> n == "colonne ignorée", n.format("en")
    (True, 'column ignored')
    """

    en: str

    def __new__(cls, fr: str, en: str | None = None):
        obj = super().__new__(cls, fr)
        obj.en = en if en is not None else fr
        return obj

    @property
    def fr(self) -> str:
        """The French text."""
        return str.__str__(self)

    def format(self, lang: str = "fr") -> str:
        """Return the notice in ``lang``."""
        return self.fr if lang == "fr" else self.en

    def __reduce__(self):
        return (Notice, (self.fr, self.en))


# ---------------------------------------------------------------------------
# Value parsers
# ---------------------------------------------------------------------------
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$")
_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)
#: Years a date of the data may have (pandas holds 1677..2262; a drop-in's records and its
#: events fall well inside). A date outside is a typing slip (``0023`` for ``2023``).
MIN_YEAR, MAX_YEAR = 1900, 2100


def _date_parts(s: str) -> tuple[int, int, int, str] | None:
    """(year, month, day, year as typed) of a date-shaped string, not range-checked."""
    m = _ISO.match(s)
    if m:
        return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(1)
    m = _DMY.match(s)
    if m:
        y = int(m.group(3))
        if len(m.group(3)) == 2:
            y += 2000
        return y, int(m.group(2)), int(m.group(1)), m.group(3)
    return None


def parse_date(value: object) -> date | None:
    """Parse a date cell; return ``None`` when it is not a valid date.

    Accepted: ``dd/mm/yyyy`` (also ``-`` or ``.``, and two-digit years read
    as 20yy), ``yyyy-mm-dd`` (optionally with a time, as written for Excel
    date cells), ``datetime.date`` objects, and Excel serial day numbers
    between 25569 (1970-01-01) and 73050 (2099-12-31). Years outside
    1900-2100 (:data:`MIN_YEAR`, :data:`MAX_YEAR`) are refused: ``17/05/0023``
    or ``01/01/0001`` are slips, and pandas cannot hold dates before 1677.

    Examples
    --------
    >>> parse_date("17/05/2023"), parse_date("2023-05-17"), parse_date("45063")
    (datetime.date(2023, 5, 17), datetime.date(2023, 5, 17), datetime.date(2023, 5, 17))
    >>> parse_date("31/02/2023") is None, parse_date("17/05/0023") is None
    (True, True)
    """
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value if MIN_YEAR <= value.year <= MAX_YEAR else None
    s = str(value).strip() if value is not None else ""
    if not s:
        return None
    try:
        parts = _date_parts(s)
        if parts is not None:
            y, mo, d, _ = parts
            if not MIN_YEAR <= y <= MAX_YEAR:
                return None
            return date(y, mo, d)
        m = _SERIAL.match(s)
        if m:
            n = int(m.group(1))
            if 25569 <= n <= 73050:
                return _EXCEL_EPOCH + timedelta(days=n)
    except ValueError:
        return None
    return None


def date_problem_text(value: object) -> tuple[str, str]:
    """French and English text of the problem with a cell that :func:`parse_date` refused.

    Says the expected form; when the cell is a date whose year is out of range
    (``17/05/0023``, ``01/01/1200``), says so.

    Examples
    --------
    >>> date_problem_text("17/05/0023")[1]
    'year 0023 out of range (1900-2100): expected dd/mm/yyyy with a four-digit year (e.g. 17/05/2023)'
    """
    s = str(value).strip() if value is not None else ""
    parts = _date_parts(s)
    if isinstance(value, date):
        parts = (value.year, value.month, value.day, f"{value.year:04d}")
    if parts is not None and not MIN_YEAR <= parts[0] <= MAX_YEAR:
        typed = parts[3]
        return (f"année {typed} hors de la plage attendue ({MIN_YEAR}-{MAX_YEAR}) : attendu "
                "jj/mm/aaaa avec l'année sur quatre chiffres (ex. 17/05/2023)",
                f"year {typed} out of range ({MIN_YEAR}-{MAX_YEAR}): expected dd/mm/yyyy with "
                "a four-digit year (e.g. 17/05/2023)")
    return ("date invalide : attendu jj/mm/aaaa (ex. 17/05/2023)",
            "invalid date: expected dd/mm/yyyy (e.g. 17/05/2023) or yyyy-mm-dd")


_MONTH_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_MONTH_FR = re.compile(r"^(\d{1,2})[/.\-](\d{4})$")
#: French and English month names (normalised: lower case, no accents) and their numbers;
#: abbreviations as French Excel writes them (``janv.``, ``févr.``, ``juil.``...).
_MONTH_NAMES = {
    **{n: i for i, names in enumerate((
        ("janvier", "janv", "jan", "january"),
        ("fevrier", "fevr", "fev", "feb", "february"),
        ("mars", "mar", "march"),
        ("avril", "avr", "apr", "april"),
        ("mai", "may"),
        ("juin", "jun", "june"),
        ("juillet", "juil", "jul", "july"),
        ("aout", "aug", "august"),
        ("septembre", "sept", "sep", "september"),
        ("octobre", "oct", "october"),
        ("novembre", "nov", "november"),
        ("decembre", "dec", "december")), start=1) for n in names},
}
_MONTH_WORD = re.compile(r"^([^\W\d_]+)\.?[ \-/.]*(?:(\d{4})|(\d{2}))$")


def parse_month(value: object) -> str | None:
    """Parse a month cell into ``"YYYY-MM"``; ``None`` when invalid.

    Accepted: ``2023-05``, ``2023/05``, ``05/2023``, a month name in French or
    English, full or abbreviated, with a four- or two-digit year (``mars 2023``,
    ``mars-23`` as French Excel shows a month, ``févr. 2024``, ``March 2023``),
    or a full date (its month). Years outside 1900-2100 are refused.

    Examples
    --------
    >>> parse_month("05/2023"), parse_month("2023-5"), parse_month("2023-05-01")
    ('2023-05', '2023-05', '2023-05')
    >>> parse_month("mars-23"), parse_month("Mars 2023"), parse_month("févr. 24")
    ('2023-03', '2023-03', '2024-02')
    """
    from .schema import normalise_label

    s = str(value).strip() if value is not None else ""
    m = _MONTH_ISO.match(s)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
    else:
        m = _MONTH_FR.match(s)
        if m:
            y, mo = int(m.group(2)), int(m.group(1))
        else:
            import unicodedata

            plain = "".join(ch for ch in unicodedata.normalize("NFKD", s)
                            if not unicodedata.combining(ch)).lower()
            m = _MONTH_WORD.match(plain)
            if m and normalise_label(m.group(1)) in _MONTH_NAMES:
                mo = _MONTH_NAMES[normalise_label(m.group(1))]
                y = int(m.group(2)) if m.group(2) else 2000 + int(m.group(3))
            else:
                d = parse_date(s)
                if d is None:
                    return None
                y, mo = d.year, d.month
    if not (1 <= mo <= 12 and MIN_YEAR <= y <= MAX_YEAR):
        return None
    return f"{y:04d}-{mo:02d}"


_INT = re.compile(r"^[+-]?\d+(?:[.,]0+)?$")


def parse_count(value: object) -> tuple[int | None, str | None]:
    """Parse a count cell: ``(n, None)`` or ``(None, reason)``.

    ``reason`` is ``"negative"`` or ``"not_integer"``. Thousands spaces and
    a zero decimal part (``"3,0"``, ``"3.0"``) are tolerated.

    Examples
    --------
    >>> parse_count("1 200"), parse_count("-2"), parse_count("2,5")
    ((1200, None), (None, 'negative'), (None, 'not_integer'))
    """
    s = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not _INT.match(s):
        return None, "not_integer"
    n = int(re.split(r"[.,]", s)[0])
    if n < 0:
        return None, "negative"
    return n, None


def age_to_band(age: int) -> str:
    """Return the age band code of an adult's age (18 or more).

    Examples
    --------
    >>> age_to_band(18), age_to_band(34), age_to_band(55)
    ('18-24', '25-34', '55+')
    """
    if age < 25:
        return "18-24"
    if age < 35:
        return "25-34"
    if age < 45:
        return "35-44"
    if age < 55:
        return "45-54"
    return "55+"


def _fmt_date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


# ---------------------------------------------------------------------------
# Collecting problems
# ---------------------------------------------------------------------------
_SHEET_NAME = re.compile(r"^(.+\.(?:xlsx|xlsm|ods))\[(.+)\]$", re.IGNORECASE)


def _workbook_of(files: dict[str, str]) -> str | None:
    if files.get("_workbook"):
        return files["_workbook"]
    for name in files.values():
        m = _SHEET_NAME.match(str(name))
        if m:
            return m.group(1)
    return None


class _Ctx:
    def __init__(self, files: dict[str, str], today: date):
        self.files = files
        self.today = today
        self.problems: list[Problem] = []
        self.notices: list[Notice] = []
        self.headers: dict[str, dict[str, str]] = {}  # table -> code -> header as written
        self.pending: list[dict] = []  # rows that found no session (see _report_link_failures)
        # the workbook's name when the source is one workbook (messages then speak of sheets)
        self.workbook = _workbook_of(files)

    def file(self, table: str) -> str:
        return self.files.get(table, f"{table}.csv")

    def where(self, table: str, lang: str = "fr") -> str:
        """How a message names a table: ``sessions.csv``, or the sheet of the workbook."""
        name = self.files.get(table, "evaluation.yml" if table == "evaluation" else
                              f"{table}.csv")
        m = _SHEET_NAME.match(name)
        if m:
            return f"la feuille « {m.group(2)} »" if lang == "fr" else f"the sheet '{m.group(2)}'"
        return name

    def add(self, table, row, column, value, fr, en, *, safe=True):
        if value is not None:
            value = safe_value(value, today=self.today) if safe else str(value)
        # the column as the user wrote it ("Genre", " Date "), not the contract's code
        column = self.headers.get(table, {}).get(column, column)
        self.problems.append(Problem(self.file(table) if table in TABLES or table in self.files
                                     else table, row, column, value, fr, en))

    def notice(self, fr, en):
        self.notices.append(Notice(fr, en))


def _allowed_text(vocabulary: str) -> tuple[str, str]:
    vocab = VOCABULARIES[vocabulary]
    fr = ", ".join(f"« {v[0]} »" for v in vocab.values())
    en = ", ".join(f"'{v[1]}'" for v in vocab.values())
    return fr, en


def _unknown_category(ctx, table, row, column, value, vocabulary):
    sug = suggest_code(vocabulary, value)
    fr_list, en_list = _allowed_text(vocabulary)
    fr = f"valeur inconnue ; valeurs permises : {fr_list}"
    en = f"unknown value; allowed values: {en_list}"
    if sug is not None:
        code = lookup_code(vocabulary, sug)
        en_sug = VOCABULARIES[vocabulary][code][1] if code else sug
        fr = f"valeur inconnue : vouliez-vous dire « {sug} » ? Valeurs permises : {fr_list}"
        en = f"unknown value: did you mean '{en_sug}'? Allowed values: {en_list}"
    ctx.add(table, row, column, value, fr, en)


# ---------------------------------------------------------------------------
# evaluation.yml
# ---------------------------------------------------------------------------
_WEEKDAYS = {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5,
             "dimanche": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
             "friday": 4, "saturday": 5, "sunday": 6}


def _as_bool(v) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        code = lookup_code("yes_no", v)
        if code is not None:
            return code == "yes"
    return None


def _parse_evaluation(obj, file: str, today: date):
    problems: list[Problem] = []
    notices: list[Notice] = []

    def bad(key, value, fr, en):
        problems.append(Problem(file, None, key,
                                None if value is None else safe_value(value, today=today), fr, en))

    def text(key, v, default):
        if v is None:
            return default
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            return str(v).strip()
        bad(key, None, "un texte est attendu", "a text is expected")
        return default

    def a_date(key, v, required=False):
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                bad(key, None, "date obligatoire absente (jj/mm/aaaa ou aaaa-mm-jj)",
                    "required date missing (dd/mm/yyyy or yyyy-mm-dd)")
            return None
        d = parse_date(v) if isinstance(v, str | date) else None
        if d is None:
            if isinstance(v, str | date) and "hors de la plage" in date_problem_text(v)[0]:
                bad(key, v if isinstance(v, str) else v.isoformat(), *date_problem_text(v))
            else:
                bad(key, v, "date invalide : attendu jj/mm/aaaa ou aaaa-mm-jj",
                    "invalid date: expected dd/mm/yyyy or yyyy-mm-dd")
        return d

    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        bad(None, None, "le fichier doit contenir des paires « clé: valeur »",
            "the file must hold 'key: value' pairs")
        return EvaluationConfig(), problems, notices
    for k in obj:
        if k not in EVALUATION_KEYS:
            close = difflib.get_close_matches(str(k), EVALUATION_KEYS, n=1, cutoff=0.75)
            if close:
                bad(str(k), None, f"clé inconnue : vouliez-vous dire « {close[0]} » ?",
                    f"unknown key: did you mean '{close[0]}'?")
            else:
                notices.append(Notice(f"{file} : clé « {k} » inconnue, ignorée.",
                                      f"{file}: unknown key '{k}' ignored."))
    kw: dict = {}
    kw["programme"] = text("programme", obj.get("programme"), "Programme") or "Programme"
    kw["organisation"] = text("organisation", obj.get("organisation"), "")
    lang = obj.get("language", "fr")
    if lang is None:
        lang = "fr"
    if str(lang).strip().lower() not in ("fr", "en"):
        bad("language", lang, "langue attendue : fr ou en", "expected language: fr or en")
        lang = "fr"
    kw["language"] = str(lang).strip().lower()
    syn = obj.get("synthetic", False)
    b = _as_bool(syn) if syn is not None else False
    if b is None:
        bad("synthetic", syn, "attendu : true/false (oui/non)", "expected: true/false (yes/no)")
        b = False
    kw["synthetic"] = b
    launch = a_date("launch_date", obj.get("launch_date"))
    if launch is not None and launch > today:
        bad("launch_date", _fmt_date(launch), "date de lancement dans le futur",
            "launch date in the future")
    kw["launch_date"] = launch
    wd = obj.get("session_weekday")
    if wd is not None:
        if isinstance(wd, str) and normalise_label(wd) in _WEEKDAYS:
            wd = _WEEKDAYS[normalise_label(wd)]
        elif isinstance(wd, str) and wd.strip().isdigit():
            wd = int(wd.strip())
        if isinstance(wd, bool) or not isinstance(wd, int) or not 0 <= wd <= 6:
            bad("session_weekday", wd, "jour attendu : 0 (lundi) à 6 (dimanche)",
                "expected a weekday: 0 (Monday) to 6 (Sunday)")
            wd = None
    kw["session_weekday"] = wd
    ch = obj.get("change")
    if ch is not None:
        if not isinstance(ch, dict):
            bad("change", None, "attendu : name, start, label_fr, label_en",
                "expected: name, start, label_fr, label_en")
        else:
            name = text("change.name", ch.get("name"), "change") or "change"
            start = a_date("change.start", ch.get("start"), required=True)
            lfr = text("change.label_fr", ch.get("label_fr"), None)
            len_ = text("change.label_en", ch.get("label_en"), None)
            if start is not None:
                if launch is not None and start < launch:
                    bad("change.start", _fmt_date(start),
                        "le changement commence avant la date de lancement",
                        "the change starts before the launch date")
                kw["change"] = Change(name, start, lfr or len_ or name, len_ or lfr or name)
    evs = obj.get("events")
    events = []
    if evs is not None:
        if not isinstance(evs, list):
            bad("events", None, "une liste d'événements est attendue (lignes « - date: ... »)",
                "a list of events is expected ('- date: ...' lines)")
        else:
            for i, ev in enumerate(evs):
                key = f"events[{i + 1}]"
                if not isinstance(ev, dict):
                    bad(key, None, "attendu : date, label_fr, label_en, kind, sensitivity",
                        "expected: date, label_fr, label_en, kind, sensitivity")
                    continue
                d = a_date(f"{key}.date", ev.get("date"), required=True)
                lfr = text(f"{key}.label_fr", ev.get("label_fr"), None)
                len_ = text(f"{key}.label_en", ev.get("label_en"), None)
                kind = str(ev.get("kind", "context") or "context").strip().lower()
                if kind not in ("context", "change"):
                    bad(f"{key}.kind", kind, "attendu : context ou change",
                        "expected: context or change")
                    kind = "context"
                sens = ev.get("sensitivity", True)
                sb = True if sens is None else _as_bool(sens)
                if sb is None:
                    bad(f"{key}.sensitivity", sens, "attendu : true/false",
                        "expected: true/false")
                    sb = True
                if d is not None:
                    lab = lfr or len_ or f"événement {i + 1}"
                    events.append(Event(d, lfr or lab, len_ or lab, kind, sb))
    kw["events"] = tuple(events)
    for key in ("disclosure", "surveys"):
        v = obj.get(key)
        if v is None:
            kw[key] = {}
        elif not isinstance(v, dict):
            bad(key, None, "une section « clé: valeur » est attendue",
                "a 'key: value' section is expected")
            kw[key] = {}
        else:
            kw[key] = v
    surveys = kw["surveys"]
    for s, spec in surveys.items():
        if not isinstance(spec, dict):
            bad(f"surveys.{s}", None, "une section « clé: valeur » est attendue",
                "a 'key: value' section is expected")
        elif spec.get("questions") is not None and not isinstance(spec.get("questions"), dict):
            bad(f"surveys.{s}.questions", None, "une section « question: description » est attendue",
                "a 'question: description' section is expected")
    kw["reporting_groups"] = _parse_groups(obj.get("reporting_groups"), bad)
    return EvaluationConfig(**kw), problems, notices


def _parse_groups(rg, bad) -> dict:
    if rg is None:
        return {}
    if not isinstance(rg, dict):
        bad("reporting_groups", None, "attendu : champ -> groupe -> members",
            "expected: field -> group -> members")
        return {}
    fields = dict(PROFILE_FIELDS)
    fields["first_visit"] = "yes_no_unknown"
    out: dict = {}
    for fld, groups in rg.items():
        key = f"reporting_groups.{fld}"
        if fld not in fields:
            close = difflib.get_close_matches(str(fld), list(fields), n=1)
            hint_fr = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
            hint_en = f"; did you mean '{close[0]}'?" if close else ""
            bad(key, None, "champ inconnu (attendu : " + ", ".join(fields) + ")" + hint_fr,
                "unknown field (expected: " + ", ".join(fields) + ")" + hint_en)
            continue
        if not isinstance(groups, dict):
            bad(key, None, "attendu : groupe -> members", "expected: group -> members")
            continue
        vocab = fields[fld]
        out_f = {}
        for g, spec in groups.items():
            gkey = f"{key}.{g}"
            if isinstance(spec, dict) and isinstance(spec.get("members"), str):
                spec = {**spec, "members": [m.strip() for m in re.split(r"[;,]", spec["members"])
                                            if m.strip()]}
            if not isinstance(spec, dict) or not isinstance(spec.get("members"), list) \
                    or not spec["members"]:
                bad(gkey, None, "attendu : label_fr, label_en et une liste members non vide",
                    "expected: label_fr, label_en and a non-empty members list")
                continue
            members = []
            for m in spec["members"]:
                code = lookup_code(vocab, m) if isinstance(m, str | int) else None
                if code is None:
                    sug = suggest_code(vocab, m)
                    fr = "membre inconnu : codes permis : " + ", ".join(VOCABULARIES[vocab])
                    en = "unknown member: allowed codes: " + ", ".join(VOCABULARIES[vocab])
                    if sug:
                        fr += f" (vouliez-vous dire « {lookup_code(vocab, sug)} » ?)"
                        en += f" (did you mean '{lookup_code(vocab, sug)}'?)"
                    bad(f"{gkey}.members", str(m), fr, en)
                elif code not in members:
                    members.append(code)
            lfr = spec.get("label_fr") or spec.get("label_en") or str(g)
            len_ = spec.get("label_en") or spec.get("label_fr") or str(g)
            out_f[str(g)] = {"label_fr": str(lfr), "label_en": str(len_), "members": members}
        out[fld] = out_f
    return out


def parse_evaluation(obj: dict | None, *, file: str = "evaluation.yml",
                     today: date | None = None) -> EvaluationConfig:
    """Validate the content of ``evaluation.yml`` and return an EvaluationConfig.

    Dates (``launch_date``, ``change.start``, ``events[].date``) become
    ``datetime.date`` objects (YAML dates, ``dd/mm/yyyy`` or ``yyyy-mm-dd``
    strings); ``language`` must be fr/en; ``session_weekday`` 0-6 or a day
    name; ``events[].kind`` context/change; ``reporting_groups`` maps a
    profile field (``gender``, ``orientation``, ``age_band``, ``chemsex``,
    ``injects``, ``products``, ``heard_via``, ``first_visit``) to groups
    whose ``members`` must be codes (or labels) of that field's vocabulary;
    they are stored as codes. ``disclosure`` and ``surveys`` are kept as
    dicts. A missing key takes the EvaluationConfig default.

    Parameters
    ----------
    obj : dict or None
        Parsed YAML (None = empty file).
    file : str, keyword-only
        Name used in messages.
    today : datetime.date, optional
        Reference day (a launch date in the future is a problem).

    Raises
    ------
    DataError
        With all problems; ``Problem.column`` holds the key path
        (e.g. ``"change.start"``).

    Examples
    --------
    >>> cfg = parse_evaluation({"launch_date": "03/11/2021", "reporting_groups": {
    ...     "gender": {"tanb": {"members": ["Femme trans", "non_binary"]}}}})
    >>> cfg.launch_date, cfg.reporting_groups["gender"]["tanb"]["members"]
    (datetime.date(2021, 11, 3), ['trans_woman', 'non_binary'])
    """
    cfg, problems, _ = _parse_evaluation(obj, file, today or date.today())
    if problems:
        raise DataError(problems)
    return cfg


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------
def _to_str(v) -> str:
    try:
        return _cell_to_str(v).strip()
    except Exception:  # noqa: BLE001 - any odd object becomes its repr-free str
        return str(type(v).__name__)


def _clean(df):
    """Coerce a raw table to stripped strings, keep spreadsheet row numbers, drop empty rows."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError
    if df.index.name == ROW_INDEX_NAME:
        rows = []
        for i, r in enumerate(df.index):
            try:
                rows.append(int(r))
            except (TypeError, ValueError):
                rows.append(i + 2)
    else:
        rows = list(range(2, len(df) + 2))
    cols = [_to_str(c) for c in df.columns]
    data = {}
    for j, _c in enumerate(cols):
        data[j] = [_to_str(v) for v in df.iloc[:, j].tolist()]
    keep = [i for i in range(len(rows)) if any(data[j][i] for j in data)]
    return cols, {j: [v[i] for i in keep] for j, v in data.items()}, [rows[i] for i in keep]


class _Table:
    """One raw table after column triage: contract columns -> values by row."""

    def __init__(self, name: str, rows: list[int], cols: dict[str, list[str]],
                 extra: dict[str, list[str]], dropped: dict[str, list[str]] | None = None):
        self.name = name
        self.rows = rows
        self.cols = cols  # contract (or "age") name -> values
        self.extra = extra  # unknown columns (kept only to scan them)
        # free-text and untitled columns: dropped (notice or problem already given), but
        # scanned for identifiers like every other column
        self.dropped = dropped or {}
        self.headerless = False  # no header recognised (reported once by _triage)

    def has(self, c):
        return c in self.cols

    def get(self, c, i):
        return self.cols[c][i] if c in self.cols else ""


def _triage(ctx: _Ctx, name: str, df) -> _Table | None:
    try:
        cols, data, rows = _clean(df)
    except TypeError:
        ctx.add(name, None, None, None, "table illisible", "unreadable table")
        return None
    out: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    dropped: dict[str, list[str]] = {}
    untitled: list[tuple[str, str, str]] = []
    seen_from: dict[str, str] = {}
    headers = ctx.headers.setdefault(name, {})
    for j, col in enumerate(cols):
        target = column_for_header(name, col)
        if target is None and name == "visits" and normalise_label(col) in ("age", "âge"):
            target = "age"
        if target is not None:
            if target in out:
                ctx.add(name, 1, col, None,
                        f"colonne en double (« {seen_from[target]} » et « {col} »)",
                        f"duplicated column ('{seen_from[target]}' and '{col}')")
                continue
            out[target] = data[j]
            seen_from[target] = col
            headers[target] = col
            continue
        kind = identifier_column_kind(col)
        if kind is not None:
            kfr, ken = IDENTIFIER_KINDS[kind]
            ctx.add(name, 1, col, None,
                    f"cette colonne semble contenir des données identifiantes ({kfr}) : "
                    "supprimez-la du fichier ; aucune donnée permettant de reconnaître une "
                    "personne ne doit figurer dans les données",
                    f"this column seems to hold identifying data ({ken}): delete it from the "
                    "file; the data must hold nothing that could identify a person")
            continue
        if not col or re.fullmatch(r"\(colonne [A-Z]+\)", col):
            if re.search(r"\.(csv|txt|tsv)$", ctx.file(name), re.IGNORECASE):
                fr = ("valeurs dans une colonne sans titre : une cellule contient peut-être un "
                      "« ; » ou une « , » sans guillemets, ce qui décale les colonnes ; donnez un "
                      "titre à la colonne ou supprimez-la")
                en = ("values in a column without a header: a cell may hold an unquoted ';' or "
                      "',' that shifts the columns; give the column a header or delete it")
            else:
                fr = ("valeurs dans une colonne sans titre : donnez un titre à la colonne (voir "
                      "les titres permis) ou supprimez-la")
                en = ("values in a column without a header: give the column a header (see the "
                      "allowed headers) or delete it")
            untitled.append((col, fr, en))
            dropped[col or f"(colonne {j + 1})"] = data[j]
            continue
        if is_free_text_column(col):
            dropped[col] = data[j]
            n = sum(1 for v in data[j] if v)
            ctx.notice(
                f"{ctx.file(name)} : colonne de texte libre « {col} » ignorée ({n} cellule(s) "
                "remplie(s)) : le texte libre n'est jamais analysé ni publié.",
                f"{ctx.file(name)}: free-text column '{col}' dropped ({n} filled cell(s)): free "
                "text is never analysed nor published.")
            continue
        extra[col] = data[j]
    t = _Table(name, rows, out, extra, dropped)
    if not out and (extra or untitled or dropped):
        # no header recognised (a title row, or headers typed in another language): one
        # message, instead of one per column and one per row that cannot be linked
        t.headerless = True
        allowed = ", ".join(TABLES[name].names)
        allowed_fr = ", ".join(header_label(name, c) for c in TABLES[name].names)
        fr = ("aucun titre de colonne reconnu : la première ligne remplie doit porter les "
              f"titres des colonnes ({allowed_fr} ; ou les codes : {allowed})")
        en = ("no column header recognised: the first filled row must hold the column "
              f"headers ({allowed})")
        for i in range(min(len(rows), 10)):
            cells = [data[j][i] for j in data if data[j][i]]
            hits_ = sum(1 for c in cells if column_for_header(name, c))
            if hits_ and 2 * hits_ >= len(cells):
                fr = (f"les titres des colonnes semblent être à la ligne {rows[i]} : supprimez "
                      "la ou les lignes au-dessus (titre, remarques), la ligne des titres doit "
                      "être la première remplie")
                en = (f"the column headers seem to be on row {rows[i]}: delete the row(s) "
                      "above it (title, notes); the header row must be the first filled one")
                break
        ctx.add(name, None, None, None, fr, en)
        return t
    for col, fr, en in untitled:
        ctx.add(name, 1, col or None, None, fr, en)
    return t


_NAME_LIKE = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]{2,}(?:[ '\-][A-ZÀ-Ýa-zà-ÿ][a-zà-ÿ]+)*\.?$|"
                        r"^[A-ZÀ-Ý][a-zà-ÿ]{2,} [A-ZÀ-Ý]\.?$")


def _scan_identifiers(ctx: _Ctx, t: _Table, *, skip: frozenset = frozenset()) -> set[tuple]:
    """Report cells whose content looks identifying; return the (column, i) cells hit.

    Every column is scanned, free-text, untitled and unknown columns included
    (session-date and month columns without the date-of-birth rule); visitor codes are also refused when they look like
    a first name or a name ("Camille", "Jean Dupont", "Camille D.").
    """
    hits: set[tuple] = set()
    spec = TABLES[t.name]
    for col, values in (list(t.cols.items()) + list(t.extra.items())
                        + list(t.dropped.items())):
        if col in skip:
            continue
        kind_col = spec.column(col).kind if col in spec.names else "text"
        dates = kind_col not in ("date", "month")
        cache: dict[str, str | None] = {}
        n = 0
        for i, v in enumerate(values):
            if not v:
                continue
            if v not in cache:
                cache[v] = detect_identifier(v, dates=dates, today=ctx.today)
                if cache[v] is None and col == "visitor_code" and _NAME_LIKE.match(v):
                    cache[v] = "name"
            kind = cache[v]
            if kind is None:
                continue
            hits.add((col, i))
            n += 1
            if n <= _MAX_ID_PROBLEMS_PER_COLUMN:
                kfr, ken = IDENTIFIER_KINDS[kind]
                ctx.add(t.name, t.rows[i], col, MASK,
                        f"contenu identifiant ({kfr}) : retirez-le ; aucune donnée permettant "
                        "de reconnaître une personne ne doit figurer dans les données",
                        f"identifying content ({ken}): remove it; the data must hold nothing "
                        "that could identify a person", safe=False)
        if n > _MAX_ID_PROBLEMS_PER_COLUMN:
            ctx.add(t.name, None, col, None,
                    f"… et {n - _MAX_ID_PROBLEMS_PER_COLUMN} autre(s) cellule(s) identifiante(s) "
                    "dans cette colonne",
                    f"... and {n - _MAX_ID_PROBLEMS_PER_COLUMN} more identifying cell(s) in this "
                    "column")
    for col in t.extra:
        ctx.notice(
            f"{ctx.file(t.name)} : colonne « {col} » hors du contrat, ignorée.",
            f"{ctx.file(t.name)}: column '{col}' is not in the contract, ignored.")
    return hits


def _require(ctx: _Ctx, t: _Table, columns: tuple[str, ...]) -> bool:
    if t.headerless:
        return False
    ok = True
    for c in columns:
        if not t.has(c):
            fr, en = "colonne obligatoire absente", "required column missing"
            if not t.cols:
                names = ", ".join(TABLES[t.name].names)
                fr += (" (aucun titre de colonne reconnu : la première ligne remplie doit porter "
                       f"les titres du contrat : {names})")
                en += (f" (no column header recognised: the first filled row must hold the "
                       f"contract's headers: {names})")
            ctx.add(t.name, None, c, None, fr, en)
            ok = False
    return ok


def _category(ctx, t, col, i, vocabulary, default, hits):
    v = t.get(col, i)
    if not v:
        return default
    if (col, i) in hits:
        return None
    code = lookup_code(vocabulary, v)
    if code is None:
        _unknown_category(ctx, t.name, t.rows[i], col, v, vocabulary)
    return code


def _count(ctx, t, col, i, hits, *, required=False):
    v = t.get(col, i)
    if not v:
        if required:
            ctx.add(t.name, t.rows[i], col, None, "nombre obligatoire manquant",
                    "required count missing")
        return None, not required
    if (col, i) in hits:
        return None, False
    n, why = parse_count(v)
    if why == "negative":
        ctx.add(t.name, t.rows[i], col, v, "nombre négatif : un décompte est positif ou nul",
                "negative number: a count is zero or more")
    elif why:
        ctx.add(t.name, t.rows[i], col, v, "nombre entier attendu (0, 1, 2...)",
                "whole number expected (0, 1, 2...)")
    return n, why is None


def _a_date(ctx, t, col, i, hits, *, launch=None, check_range=True):
    """Parse a date cell; problems for invalid/future/pre-launch. Returns date or None."""
    v = t.get(col, i)
    if not v or (col, i) in hits:
        return None
    d = parse_date(v)
    if d is None:
        ctx.add(t.name, t.rows[i], col, v, *date_problem_text(v))
        return None
    if check_range:
        shown = _fmt_date(d)
        if d > ctx.today:
            ctx.add(t.name, t.rows[i], col, shown, "date dans le futur",
                    "date in the future")
        elif launch is not None and d < launch:
            ctx.add(t.name, t.rows[i], col, shown,
                    f"date antérieure au lancement du programme ({_fmt_date(launch)}, "
                    f"launch_date dans {ctx.where('evaluation')})",
                    f"date before the programme's launch ({_fmt_date(launch)}, launch_date in "
                    f"{ctx.where('evaluation', 'en')})")
    return d


def _sid(d: date, site: str) -> str:
    return d.isoformat() + ("" if site == "main" else f"_{site}")


class _Sessions:
    """Lookups from session keys to sessions."""

    def __init__(self):
        self.by_id: dict[str, dict] = {}
        self.by_date_site: dict[tuple, str] = {}
        self.by_date: dict[date, list[str]] = defaultdict(list)
        # session rows whose date could not be read: {row, value, prev, next, problem}
        self.bad_rows: list[dict] = []
        # True when the sessions table is missing or has no usable date column: every link
        # from another table then fails for that one reason
        self.broken = False

    def add(self, rec):
        self.by_id.setdefault(rec["session_id"], rec)
        self.by_date_site.setdefault((rec["date"], rec["site"].casefold()), rec["session_id"])
        if rec["session_id"] not in self.by_date[rec["date"]]:
            self.by_date[rec["date"]].append(rec["session_id"])


def _build_sessions(ctx: _Ctx, t: _Table | None, launch):
    import pandas as pd

    sess = _Sessions()
    if t is None:
        sess.broken = True
        return empty_table("sessions"), sess
    hits = _scan_identifiers(ctx, t)
    ok_cols = _require(ctx, t, ("date",))
    if not ok_cols:
        sess.broken = True
    recs = []
    first_key: dict[tuple, int] = {}
    first_id: dict[str, int] = {}
    prev_date = None
    for i, row in enumerate(t.rows):
        n_before = len(ctx.problems)
        d = _a_date(ctx, t, "date", i, hits, launch=launch) if ok_cols else None
        if ok_cols and not t.get("date", i):
            ctx.add(t.name, row, "date", None, "date obligatoire manquante",
                    "required date missing")
        if ok_cols and d is None and t.get("date", i) and ("date", i) not in hits:
            sess.bad_rows.append({"row": row, "value": t.get("date", i), "prev": prev_date,
                                  "next": None, "problem": n_before})
        if d is not None:
            for b in sess.bad_rows:
                if b["next"] is None and b["row"] < row:
                    b["next"] = d
            prev_date = d
        site = t.get("site", i) or "main"
        status = _category(ctx, t, "status", i, "status", "held", hits)
        theme = t.get("theme", i) or None
        theme_cat = t.get("theme_category", i) or None
        guest = _category(ctx, t, "guest", i, "yes_no", "no", hits)
        fmt = _category(ctx, t, "format", i, "format", "on_site", hits)
        att, _ = _count(ctx, t, "attendance", i, hits)
        new, _ = _count(ctx, t, "new_visitors", i, hits)
        if att is not None and new is not None and new > att:
            ctx.add(t.name, row, "new_visitors", str(new),
                    f"plus de nouvelles personnes que de passages ({att})",
                    f"more first-time visitors than visits ({att})")
        if status == "cancelled" and att:
            ctx.add(t.name, row, "attendance", str(att),
                    "permanence annulée avec des passages : corrigez le statut ou le décompte",
                    "cancelled session with visits: fix the status or the tally")
        sid = t.get("session_id", i) or None
        if d is None:
            continue
        key = (d, site.casefold())
        if key in first_key:
            ctx.add(t.name, row, "date", _fmt_date(d),
                    f"permanence en double : même date et même lieu qu'à la ligne {first_key[key]}",
                    f"duplicated session: same date and site as row {first_key[key]}")
            continue
        first_key[key] = row
        if sid is None:
            sid = _sid(d, site)
        if sid in first_id:
            ctx.add(t.name, row, "session_id", sid,
                    f"identifiant de permanence en double (déjà ligne {first_id[sid]})",
                    f"duplicated session identifier (already row {first_id[sid]})")
            continue
        first_id[sid] = row
        rec = {"session_id": sid, "date": d, "site": site, "status": status or "held",
               "theme": theme, "theme_category": theme_cat, "themed": theme is not None,
               "guest": guest == "yes", "format": fmt or "on_site",
               "attendance": att if att is not None else pd.NA,
               "new_visitors": new if new is not None else pd.NA, "_row": row}
        recs.append(rec)
        sess.add(rec)
    if not recs:
        return empty_table("sessions"), sess
    df = pd.DataFrame(recs)
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df["attendance"] = df["attendance"].astype("Int64")
    df["new_visitors"] = df["new_visitors"].astype("Int64")
    df["themed"] = df["themed"].astype(bool)
    df["guest"] = df["guest"].astype(bool)
    for c in ("theme", "theme_category"):
        df[c] = df[c].astype(object).where(df[c].notna(), pd.NA)
    df = df[list(INTERNAL_COLUMNS["sessions"])].sort_values(["date", "site"], kind="stable")
    return df.reset_index(drop=True), sess


def _link(ctx: _Ctx, t: _Table, i: int, sess: _Sessions, hits, *, month_ok=False):
    """Find the session a row points to. Returns (session record or None, ok flag).

    A row pointing at no session is not reported here but kept in ``ctx.pending``:
    :func:`_report_link_failures` reports such rows once per cause (the bad session row
    they most likely belong to, or the missing date/identifier), with the rows counted.
    """
    row = t.rows[i]
    sid = t.get("session_id", i)
    dval = t.get("date", i)
    site = t.get("site", i)
    if sid and ("session_id", i) not in hits:
        rec = sess.by_id.get(sid)
        d_sid = None
        if rec is None:
            d_sid = parse_date(sid)
            cands = sess.by_date.get(d_sid, []) if d_sid else []
            if len(cands) == 1:
                rec = sess.by_id[cands[0]]
        if rec is None:
            ctx.pending.append({"table": t.name, "row": row, "column": "session_id",
                                "kind": "no_id", "value": sid, "date": d_sid,
                                "month_ok": month_ok})
            return None, False
        if dval:
            d = parse_date(dval)
            if d is not None and d != rec["date"]:
                ctx.add(t.name, row, "date", _fmt_date(d),
                        f"ne correspond pas à la date de la permanence {sid} "
                        f"({_fmt_date(rec['date'])})",
                        f"does not match the date of session {sid} ({_fmt_date(rec['date'])})")
                return None, False
        return rec, True
    if dval and ("date", i) not in hits:
        d = parse_date(dval)
        if d is None:
            ctx.pending.append({"table": t.name, "row": row, "column": "date",
                                "kind": "bad_date", "value": dval, "date": None,
                                "month_ok": month_ok})
            return None, False
        if site:
            s_id = sess.by_date_site.get((d, site.casefold()))
            if s_id is None:
                ctx.pending.append({"table": t.name, "row": row, "column": "date",
                                    "kind": "no_site", "value": _fmt_date(d), "date": d,
                                    "site": site, "month_ok": month_ok})
                return None, False
            return sess.by_id[s_id], True
        cands = sess.by_date.get(d, [])
        if not cands:
            ctx.pending.append({"table": t.name, "row": row, "column": "date",
                                "kind": "no_date", "value": _fmt_date(d), "date": d,
                                "month_ok": month_ok})
            return None, False
        if len(cands) > 1:
            ctx.add(t.name, row, "date", _fmt_date(d),
                    "plusieurs permanences ce jour-là : précisez le lieu (site) ou session_id",
                    "several sessions that day: give the site or the session_id")
            return None, False
        return sess.by_id[cands[0]], True
    if ("session_id", i) in hits or ("date", i) in hits:
        return None, False
    if month_ok:
        return None, True
    ctx.add(t.name, row, "session_id" if t.has("session_id") else "date", None,
            "permanence non indiquée : remplissez session_id ou date",
            "session not given: fill in session_id or date")
    return None, False


def _rows_text(rows: list[int], lang: str) -> str:
    shown = ", ".join(str(r) for r in rows[:6]) + ("…" if len(rows) > 6 else "")
    if lang == "fr":
        return f"ligne {shown}" if len(rows) == 1 else f"{len(rows)} lignes : {shown}"
    return f"row {shown}" if len(rows) == 1 else f"{len(rows)} rows: {shown}"


def _matches_bad_row(item: dict, b: dict) -> bool:
    """Does a row that found no session most likely belong to the bad session row ``b``?"""
    if item["kind"] == "bad_date" or item["date"] is None:
        return normalise_label(item["value"]) == normalise_label(b["value"])
    d = item["date"]
    parts = _date_parts(str(b["value"]).strip())
    if parts is not None and (parts[1], parts[2]) == (d.month, d.day) and \
            (not MIN_YEAR <= parts[0] <= MAX_YEAR or parts[0] % 100 == d.year % 100):
        return True  # the same day and month, the year mistyped (0023 for 2023)
    prev, nxt = b["prev"], b["next"]
    if prev is not None and nxt is not None:
        return prev < d < nxt
    if prev is not None:
        return prev < d <= prev + timedelta(days=31)
    if nxt is not None:
        return nxt - timedelta(days=31) <= d < nxt
    return True  # the only session row, and it is unreadable


def _report_link_failures(ctx: _Ctx, sess: _Sessions) -> None:
    """Report the rows that found no session: once per cause, with the rows counted."""
    import dataclasses

    pending, ctx.pending = ctx.pending, []
    if not pending:
        return
    s_where = ctx.where("sessions")
    if sess.broken:
        by_table: dict[str, list[int]] = defaultdict(list)
        for item in pending:
            by_table[item["table"]].append(item["row"])
        for table, rows in by_table.items():
            ctx.add(table, rows[0], None, None,
                    f"{len(rows)} ligne(s) non reliée(s) à une permanence ({_rows_text(rows, 'fr')})"
                    f" : {s_where} n'a pas pu être lue (voir le problème signalé pour elle)",
                    f"{len(rows)} row(s) not linked to a session ({_rows_text(rows, 'en')}): "
                    f"{ctx.where('sessions', 'en')} could not be read (see its problem)")
        return
    rest = []
    attached: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for item in pending:
        b = next((b for b in sess.bad_rows if _matches_bad_row(item, b)), None)
        if b is None:
            rest.append(item)
        else:
            attached[id(b)][item["table"]].append(item["row"])
    for b in sess.bad_rows:
        tables = attached.get(id(b))
        if not tables:
            continue
        fr = "; ".join(f"{len(r)} ligne(s) de {ctx.where(t)} ({_rows_text(r, 'fr')})"
                       for t, r in tables.items())
        en = "; ".join(f"{len(r)} row(s) of {ctx.where(t, 'en')} ({_rows_text(r, 'en')})"
                       for t, r in tables.items())
        old = ctx.problems[b["problem"]]
        ctx.problems[b["problem"]] = dataclasses.replace(
            old,
            message_fr=old.message_fr + f" ; {fr} se rapportent sans doute à cette permanence "
            "et seront reliées une fois sa date corrigée",
            message_en=old.message_en + f"; {en} most likely belong to this session and will be "
            "linked once its date is fixed")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for item in rest:
        key = (item["table"], item["kind"], item["column"],
               normalise_label(item["value"]), normalise_label(item.get("site", "")))
        groups[key].append(item)
    for (table, kind, column, _, _), items in groups.items():
        first = items[0]
        rows = [it["row"] for it in items]
        more_fr = f" ({_rows_text(rows, 'fr')})" if len(rows) > 1 else ""
        more_en = f" ({_rows_text(rows, 'en')})" if len(rows) > 1 else ""
        if kind == "bad_date":
            fr, en = date_problem_text(first["value"])
        elif kind == "no_id":
            fr = f"aucune permanence avec cet identifiant dans {s_where}"
            en = f"no session with this identifier in {ctx.where('sessions', 'en')}"
        elif kind == "no_site":
            fr = (f"aucune permanence ce jour-là à ce lieu (« {first['site']} ») dans {s_where}")
            en = (f"no session on that day at that site ('{first['site']}') in "
                  f"{ctx.where('sessions', 'en')}")
        else:
            fr = f"aucune permanence à cette date dans {s_where}"
            en = f"no session on this date in {ctx.where('sessions', 'en')}"
            if first["month_ok"]:
                fr += " ; ou donnez le mois (colonne month)"
                en += "; or give the month (column month)"
        ctx.add(table, first["row"], column, first["value"], fr + more_fr, en + more_en)


def _link_columns_ok(ctx, t, alternatives):
    if any(t.has(c) for c in alternatives):
        return True
    if t.headerless:
        return False
    ctx.add(t.name, None, alternatives[0], None,
            "colonne absente : il faut " + " ou ".join(f"« {c} »" for c in alternatives),
            "missing column: one of " + ", ".join(f"'{c}'" for c in alternatives)
            + " is required")
    return False


def _build_visits(ctx: _Ctx, t: _Table, sess: _Sessions, key: bytes):
    import pandas as pd

    hits = _scan_identifiers(ctx, t)
    linkable = _link_columns_ok(ctx, t, ("session_id", "date"))
    if "age" in t.cols:
        n = sum(1 for v in t.cols["age"] if v)
        ctx.notice(
            f"{ctx.file('visits')} : colonne « age » convertie en tranches d'âge puis effacée "
            f"({n} valeur(s)) ; l'âge exact n'est jamais conservé.",
            f"{ctx.file('visits')}: column 'age' turned into age bands then discarded ({n} "
            "value(s)); exact ages are never kept.")
    recs = []
    codes = []
    by_session_rows: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(t.rows):
        rec_s, ok = _link(ctx, t, i, sess, hits) if linkable else (None, False)
        r = {}
        for col, vocab in (("first_visit", "yes_no_unknown"), ("gender", "gender"),
                           ("orientation", "orientation"), ("chemsex", "yes_no_unknown"),
                           ("injects", "yes_no_unknown"), ("heard_via", "heard_via")):
            r[col] = _category(ctx, t, col, i, vocab, "unknown", hits) or "unknown"
        band = _category(ctx, t, "age_band", i, "age_band", None, hits)
        age_v = t.get("age", i)
        if age_v and ("age", i) not in hits:
            n, why = parse_count(age_v)
            shown = age_v if len(age_v) <= 4 else MASK
            if n is None or not 18 <= n <= 120:
                ctx.add("visits", row, "age", shown,
                        "âge attendu : nombre entier de 18 à 120 (la permanence accueille des "
                        "adultes)",
                        "expected age: a whole number from 18 to 120 (the drop-in is for adults)",
                        safe=False)
            else:
                from_age = age_to_band(n)
                if band is not None and band != "unknown" and band != from_age:
                    ctx.add("visits", row, "age_band", t.get("age_band", i),
                            "ne correspond pas à la colonne « age » de la même ligne",
                            "does not match the 'age' column of the same row")
                band = band if band not in (None, "unknown") else from_age
        r["age_band"] = band or "unknown"
        r["products"] = _products(ctx, t, i, hits)
        code = t.get("visitor_code", i)
        codes.append(code if code and ("visitor_code", i) not in hits else None)
        if rec_s is None:
            continue
        r["session_id"] = rec_s["session_id"]
        r["date"] = rec_s["date"]
        r["site"] = rec_s["site"]
        r["_i"] = i
        recs.append(r)
        by_session_rows[rec_s["session_id"]].append(i)
    # session-level consistency
    for sid, idx in by_session_rows.items():
        rec_s = sess.by_id[sid]
        rows = [t.rows[i] for i in idx]
        where = ", ".join(str(x) for x in rows[:5]) + ("…" if len(rows) > 5 else "")
        if rec_s["status"] == "cancelled":
            ctx.add("visits", rows[0], "session_id" if t.get("session_id", idx[0]) else "date",
                    _fmt_date(rec_s["date"]),
                    f"{len(rows)} passage(s) pour une permanence annulée (lignes {where}) ; "
                    f"corrigez le statut dans {ctx.where('sessions')} (ligne {rec_s['_row']}) "
                    "ou les passages",
                    f"{len(rows)} visit(s) at a cancelled session (rows {where}); fix the status "
                    f"in {ctx.where('sessions', 'en')} (row {rec_s['_row']}) or the visits")
            continue
        att = rec_s["attendance"]
        if att is not pd.NA and att is not None and att != len(rows):
            ctx.add("sessions", rec_s["_row"], "attendance", str(att),
                    f"le décompte contredit {ctx.where('visits')}, qui a {len(rows)} passage(s) "
                    f"pour cette permanence (lignes {where})",
                    f"the tally contradicts {ctx.where('visits', 'en')}, which has {len(rows)} visit(s) "
                    f"for this session (rows {where})")
        new = rec_s["new_visitors"]
        if new is not pd.NA and new is not None:
            fv = _first_visits(recs, idx)
            n_yes = sum(1 for x in fv if x == "yes")
            n_known = sum(1 for x in fv if x != "unknown")
            if n_yes > new or (n_known == len(fv) and n_yes != new):
                ctx.add("sessions", rec_s["_row"], "new_visitors", str(new),
                        f"le décompte contredit {ctx.where('visits')}, qui a {n_yes} première(s) "
                        "venue(s) pour cette permanence",
                        f"the tally contradicts {ctx.where('visits', 'en')}, which has {n_yes} first "
                        "visit(s) for this session")
    if not recs:
        return empty_table("visits")
    person = pseudonymise(pd.Series([codes[r["_i"]] for r in recs], dtype=object), key)
    df = pd.DataFrame(recs)
    df["person_id"] = person.to_numpy()
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df = df[list(INTERNAL_COLUMNS["visits"])]
    return df.reset_index(drop=True)


def _first_visits(recs, idx):
    """First-visit values of the visit records whose row position is in ``idx``."""
    wanted = set(idx)
    return [r["first_visit"] for r in recs if r["_i"] in wanted]


def _products(ctx, t, i, hits):
    v = t.get("products", i)
    if not v:
        return "unknown"
    if ("products", i) in hits:
        return "unknown"
    parts = [p.strip() for p in re.split(r"[;\n|]", v) if p.strip()]
    codes = set()
    for p in parts:
        code = lookup_code("products", p)
        if code is None:
            _unknown_category(ctx, t.name, t.rows[i], "products", p, "products")
        else:
            codes.add(code)
    if len(codes) > 1:
        codes.discard("unknown")
    return ";".join(sorted(codes)) if codes else "unknown"


def _cancelled_problem(ctx, t, i, rec_s, what_fr, what_en):
    ctx.add(t.name, t.rows[i], "session_id" if t.get("session_id", i) else "date",
            _fmt_date(rec_s["date"]),
            f"{what_fr} pour une permanence annulée ({ctx.where('sessions')}, ligne "
            f"{rec_s['_row']})",
            f"{what_en} at a cancelled session ({ctx.where('sessions', 'en')}, row {rec_s['_row']})")


def _build_services(ctx: _Ctx, t: _Table, sess: _Sessions):
    import pandas as pd

    hits = _scan_identifiers(ctx, t)
    linkable = _link_columns_ok(ctx, t, ("session_id", "date"))
    ok = _require(ctx, t, ("service", "count"))
    recs = []
    for i, row in enumerate(t.rows):
        rec_s, _ = _link(ctx, t, i, sess, hits) if linkable else (None, False)
        if not ok:
            continue
        svc = _category(ctx, t, "service", i, "service", None, hits)
        if not t.get("service", i):
            ctx.add(t.name, row, "service", None, "prestation obligatoire manquante",
                    "required service missing")
        n, _ = _count(ctx, t, "count", i, hits, required=True)
        if rec_s is None or svc is None or n is None:
            continue
        if rec_s["status"] == "cancelled" and n > 0:
            _cancelled_problem(ctx, t, i, rec_s, "prestation", "service")
            continue
        recs.append({"session_id": rec_s["session_id"], "date": rec_s["date"],
                     "site": rec_s["site"], "service": svc, "count": n})
    if not recs:
        return empty_table("services")
    df = pd.DataFrame(recs)
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df["count"] = df["count"].astype("int64")
    return df[list(INTERNAL_COLUMNS["services"])].reset_index(drop=True)


def _build_distributions(ctx: _Ctx, t: _Table, sess: _Sessions, launch):
    import pandas as pd

    hits = _scan_identifiers(ctx, t)
    linkable = _link_columns_ok(ctx, t, ("session_id", "date", "month"))
    ok = _require(ctx, t, ("item", "quantity"))
    recs = []
    for i, row in enumerate(t.rows):
        month = None
        rec_s = None
        linked_ok = False
        if linkable:
            if t.get("session_id", i) or t.get("date", i):
                rec_s, linked_ok = _link(ctx, t, i, sess, hits, month_ok=True)
            elif t.get("month", i) and ("month", i) not in hits:
                mv = t.get("month", i)
                month = parse_month(mv)
                if month is None:
                    ctx.add(t.name, row, "month", mv, "mois invalide : attendu AAAA-MM (ex. 2023-05)",
                            "invalid month: expected YYYY-MM (e.g. 2023-05)")
                else:
                    linked_ok = True
                    if month > ctx.today.strftime("%Y-%m"):
                        ctx.add(t.name, row, "month", month, "mois dans le futur",
                                "month in the future")
                        linked_ok = False
                    elif launch is not None and month < launch.strftime("%Y-%m"):
                        ctx.add(t.name, row, "month", month,
                                f"mois antérieur au lancement du programme ({_fmt_date(launch)})",
                                f"month before the programme's launch ({_fmt_date(launch)})")
                        linked_ok = False
            elif ("month", i) not in hits:
                ctx.add(t.name, row, "month", None,
                        "ni permanence, ni date, ni mois : remplissez session_id, date ou month",
                        "no session, date nor month: fill in session_id, date or month")
        if not ok:
            continue
        item = _category(ctx, t, "item", i, "item", None, hits)
        if not t.get("item", i):
            ctx.add(t.name, row, "item", None, "matériel obligatoire manquant",
                    "required item missing")
        q, _ = _count(ctx, t, "quantity", i, hits, required=True)
        if not linked_ok or item is None or q is None:
            continue
        if rec_s is not None:
            if rec_s["status"] == "cancelled" and q > 0:
                _cancelled_problem(ctx, t, i, rec_s, "distribution", "distribution")
                continue
            recs.append({"session_id": rec_s["session_id"], "date": rec_s["date"],
                         "month": rec_s["date"].strftime("%Y-%m"), "site": rec_s["site"],
                         "item": item, "category": ITEM_CATEGORY.get(item, "drug_use"),
                         "quantity": q})
        else:
            recs.append({"session_id": pd.NA, "date": None, "month": month,
                         "site": t.get("site", i) or "main", "item": item,
                         "category": ITEM_CATEGORY.get(item, "drug_use"), "quantity": q})
    if not recs:
        return empty_table("distributions")
    df = pd.DataFrame(recs)
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df["quantity"] = df["quantity"].astype("int64")
    df["session_id"] = df["session_id"].astype(object).where(df["session_id"].notna(), pd.NA)
    return df[list(INTERNAL_COLUMNS["distributions"])].reset_index(drop=True)


def _free_text_questions(surveys: dict) -> set[tuple[str, str]]:
    out = set()
    for s, spec in (surveys or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("questions"), dict):
            continue
        for q, qs in spec["questions"].items():
            if isinstance(qs, dict) and str(qs.get("type", "")).strip().lower() == "free_text":
                out.add((str(s), str(q)))
    return out


def _build_survey(ctx: _Ctx, t: _Table, config: EvaluationConfig):
    import pandas as pd

    free = _free_text_questions(config.surveys)
    # identifiers are looked for in every answer, free text included (never echoed: masked)
    hits = _scan_identifiers(ctx, t)
    # then free-text answers are replaced: they are never kept nor echoed
    n_free = 0
    if t.has("answer") and t.has("survey") and t.has("question"):
        ans = list(t.cols["answer"])
        for i in range(len(t.rows)):
            if (t.get("survey", i), t.get("question", i)) in free and ans[i]:
                ans[i] = FREE_TEXT_PLACEHOLDER
                n_free += 1
        t.cols["answer"] = ans
    if n_free:
        ctx.notice(
            f"{ctx.file('survey_responses')} : {n_free} réponse(s) en texte libre remplacée(s) "
            "par un marqueur (comptées, jamais lues ni publiées).",
            f"{ctx.file('survey_responses')}: {n_free} free-text answer(s) replaced by a "
            "placeholder (counted, never read nor published).")
    ok = _require(ctx, t, ("survey", "response_id", "question"))
    recs = []
    seen: dict[tuple, int] = {}
    if ok:
        for i, row in enumerate(t.rows):
            vals = {c: t.get(c, i) for c in ("survey", "response_id", "question")}
            bad = False
            for c, v in vals.items():
                if not v:
                    ctx.add(t.name, row, c, None, "valeur obligatoire manquante",
                            "required value missing")
                    bad = True
                elif (c, i) in hits:
                    bad = True
            if bad:
                continue
            k = (vals["survey"], vals["response_id"], vals["question"])
            if k in seen:
                ctx.add(t.name, row, "question", vals["question"],
                        f"question répétée pour la même réponse (déjà ligne {seen[k]})",
                        f"question repeated for the same response (already row {seen[k]})")
                continue
            seen[k] = row
            ans = t.get("answer", i)
            recs.append({**vals, "answer": ans if ans and ("answer", i) not in hits else pd.NA})
    # optional checks by the surveys module, on a masked copy
    try:
        from .surveys import check_responses
    except (ImportError, AttributeError):
        check_responses = None
    if check_responses is not None and ok:
        masked = {c: [MASK if (c, i) in hits else v for i, v in enumerate(vals)]
                  for c, vals in t.cols.items()}
        raw = pd.DataFrame(masked, index=pd.Index(t.rows, name=ROW_INDEX_NAME), dtype=object)
        import inspect

        kwargs = {"file": ctx.file("survey_responses")}
        if "structural" in inspect.signature(check_responses).parameters:
            kwargs["structural"] = False  # empty questions and repeats are checked above
        try:
            extra = check_responses(raw, config.surveys, **kwargs)
        except DataError as exc:
            extra = exc.problems
        ctx.problems.extend(extra or [])
    _undeclared_questions_notice(ctx, recs, config.surveys)
    if not recs:
        return empty_table("survey_responses")
    df = pd.DataFrame(recs)
    return df[list(INTERNAL_COLUMNS["survey_responses"])].reset_index(drop=True)


def _undeclared_questions_notice(ctx: _Ctx, recs: list[dict], surveys) -> None:
    """A notice for questions answered in the table but not declared in evaluation.yml."""
    import pandas as pd

    declared: dict[str, set[str]] = {}
    for sname, spec in (surveys or {}).items():
        qs = spec.get("questions") if isinstance(spec, dict) else None
        declared[str(sname)] = set(map(str, qs)) if isinstance(qs, dict) else set()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in recs:
        a = r["answer"]
        if a is pd.NA or a is None or a == "":
            continue
        if r["question"] not in declared.get(r["survey"], set()):
            counts[(r["survey"], r["question"])] += 1
    if not counts:
        return
    items = sorted(counts.items())
    shown = [f"{s}.{q} ({n} réponse(s))" for (s, q), n in items[:10]]
    shown_en = [f"{s}.{q} ({n} answer(s))" for (s, q), n in items[:10]]
    more = len(items) - 10
    tail_fr = f" et {more} autre(s)" if more > 0 else ""
    tail_en = f" and {more} more" if more > 0 else ""
    ev = ctx.where("evaluation")
    ctx.notice(
        f"{ctx.where('survey_responses')} : question(s) répondue(s) mais non déclarée(s) dans "
        f"{ev} (surveys) : " + ", ".join(shown) + tail_fr + " ; elles sont lues comme des "
        "choix simples, sans libellé. Déclarez-les (type, libellés), et type free_text si ce "
        "sont des réponses libres.",
        f"{ctx.where('survey_responses', 'en')}: question(s) answered but not declared in "
        f"{ev} (surveys): " + ", ".join(shown_en) + tail_en + "; they are read as single "
        "choices without labels. Declare them (type, labels), with type free_text for "
        "free answers.")


def _coverage_notices(ctx: _Ctx, sessions, has_visits: bool, config: EvaluationConfig):
    """Notices about counts that will be missing, and sessions off the usual weekday."""
    if not len(sessions):
        return
    held = sessions["status"] == "held"
    if not has_visits:
        n = int((held & sessions["attendance"].isna()).sum())
        if n:
            ctx.notice(
                f"{n} permanence(s) tenue(s) sans décompte (attendance) et sans table des "
                "passages : leur fréquentation est inconnue.",
                f"{n} held session(s) without a tally (attendance) and no visits table: their "
                "attendance is unknown.")
    wd = config.session_weekday
    if wd is not None:
        off = int((sessions["date"].dt.day_of_week != wd).sum())
        if off:
            days_fr = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
            days_en = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                       "Sunday")
            ctx.notice(
                f"{off} permanence(s) un autre jour que le {days_fr[wd]} (session_weekday).",
                f"{off} session(s) on another day than {days_en[wd]} (session_weekday).")


def _nothing_held(ctx: _Ctx, t: _Table | None, sessions) -> None:
    """An empty sessions table (a template never filled) or no held session is an error."""
    if t is None or t.headerless:
        return
    if not t.rows:
        ctx.add("sessions", None, None, None,
                f"aucune permanence : {ctx.where('sessions')} est vide (modèle pas encore "
                "rempli ?) ; saisissez une ligne par permanence, tenue ou annulée",
                f"no session: {ctx.where('sessions', 'en')} is empty (template not filled "
                "yet?); enter one row per session, held or cancelled")
    elif len(sessions) and not (sessions["status"] == "held").any() and not any(
            p.file == ctx.file("sessions") for p in ctx.problems):
        ctx.add("sessions", None, "status", None,
                f"aucune permanence tenue : les {len(sessions)} permanence(s) de "
                f"{ctx.where('sessions')} sont toutes annulées ; il n'y a rien à évaluer",
                f"no held session: the {len(sessions)} session(s) of "
                f"{ctx.where('sessions', 'en')} are all cancelled; there is nothing to evaluate")


def _merge_repeats(problems: list[Problem]) -> list[Problem]:
    """Say once a problem repeated on several rows (same file, column, value, message)."""
    import dataclasses

    groups: dict[tuple, list[Problem]] = {}
    for p in problems:
        key = (p.file, p.column, p.value, p.message_fr, p.message_en) if p.row is not None \
            else (id(p),)
        groups.setdefault(key, []).append(p)
    out = []
    for items in groups.values():
        if len(items) == 1:
            out.append(items[0])
            continue
        rows = sorted({p.row for p in items})
        first = min(items, key=lambda p: p.row)
        out.append(dataclasses.replace(
            first,
            message_fr=first.message_fr + f" (même problème sur {_rows_text(rows, 'fr')})",
            message_en=first.message_en + f" (same problem on {_rows_text(rows, 'en')})"))
    return out


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------
def build_dataset(raw: dict, evaluation: dict | None, *, files: dict[str, str] | None = None,
                  key: bytes | None = None, today: date | None = None,
                  source: str = "") -> Dataset:
    """Validate raw string tables and evaluation.yml; return the internal-form Dataset.

    Checks every rule of the data contract (see ``docs/data-contract.md``)
    and reports **all** problems at once. Category values may be codes or
    French/English labels in any case, with or without accents. Held
    sessions without any visit are kept (they are real data points).

    Parameters
    ----------
    raw : dict[str, pandas.DataFrame]
        Table name (``sessions``, ``visits``, ``services``,
        ``distributions``, ``survey_responses``) -> table as read from the
        file, with the contract's column names (case, accents and spaces of
        headers are tolerated). Cells may be strings or any scalar (NaN/None
        = empty). When the index is named ``"spreadsheet_row"`` (as
        :func:`qsp_eval.io.read_table_file` makes it) it gives the row
        numbers of messages; otherwise rows are numbered 2, 3, ... in order.
    evaluation : dict or None
        Parsed ``evaluation.yml`` (see :func:`parse_evaluation`).
    files : dict[str, str], keyword-only, optional
        Table name -> display name for messages (``"visits.csv"``,
        ``"donnees.xlsx[visits]"``); default ``"<table>.csv"``. The key
        ``"_workbook"`` names the workbook when the source is one (messages then
        speak of its sheets), as :func:`qsp_eval.io.read_source` gives it.
    key : bytes, keyword-only, optional
        Pseudonymisation key for ``visitor_code``; default a fresh random
        key (said in the notices).
    today : datetime.date, keyword-only, optional
        Reference day for "date in the future" (default today).
    source : str, keyword-only
        Stored in ``Dataset.source``.

    Returns
    -------
    Dataset
        Every table present in the internal form (see :mod:`qsp_eval.schema`;
        missing optional categories become ``"unknown"``); ``supplied`` maps
        each supplied table to the contract columns it held (plus
        ``person_id`` when ``visitor_code`` was given and ``age_band`` when
        ``age`` was); ``notices`` lists what was dropped or converted
        (:class:`Notice`, French str with ``.en``). ``checksum`` is empty
        (set by :func:`qsp_eval.io.load_source`).

    Raises
    ------
    DataError
        With every problem found (file, spreadsheet row, column, value -
        masked when identifying - and what was expected).

    Examples
    --------
    >>> import pandas as pd
    >>> ds = build_dataset({"sessions": pd.DataFrame({"date": ["17/05/2023"]}),
    ...                     "visits": pd.DataFrame({"date": ["17/05/2023"],
    ...                                             "gender": ["Femme trans"]})},
    ...                    {"launch_date": "2021-11-03"}, key=b"0123456789abcdef")
    >>> ds.visits.loc[0, "gender"], ds.sessions.loc[0, "session_id"]
    ('trans_woman', '2023-05-17')
    """
    import secrets

    today = today or date.today()
    files = dict(files or {})
    ctx = _Ctx(files, today)
    ev_file = files.get("evaluation", "evaluation.yml")
    config, ev_problems, ev_notices = _parse_evaluation(evaluation, ev_file, today)
    ctx.problems.extend(ev_problems)
    ctx.notices.extend(ev_notices)
    raw = raw or {}
    if not isinstance(raw, dict):
        raise DataError(Problem("?", None, None, None, "aucune table lisible",
                                "no readable table"))
    for name in raw:
        if name not in TABLES:
            ctx.notice(f"Table « {name} » hors du contrat, ignorée.",
                       f"Table '{name}' is not in the contract, ignored.")
    tables: dict[str, _Table] = {}
    for name in TABLES:
        if name in raw and raw[name] is not None:
            t = _triage(ctx, name, raw[name])
            if t is not None:
                tables[name] = t
    if "sessions" not in raw or raw.get("sessions") is None:
        if ctx.workbook:
            ctx.add(ctx.workbook, None, None, None,
                    "pas de feuille « sessions » (les permanences) dans ce classeur : elle est "
                    "obligatoire ; ajoutez une feuille nommée sessions, une ligne par permanence",
                    "no sheet 'sessions' in this workbook: it is required; add a sheet named "
                    "sessions, one row per session")
        else:
            ctx.add("sessions", None, None, None,
                    "table des permanences absente (fichier sessions.csv, .xlsx, .ods ou "
                    ".parquet dans le dossier) : elle est obligatoire",
                    "sessions table missing (a sessions.csv, .xlsx, .ods or .parquet file in "
                    "the folder): it is required")
    if key is None:
        key = secrets.token_bytes(32)
        if "visits" in tables and tables["visits"].has("visitor_code"):
            ctx.notice("Clé de pseudonymisation tirée au hasard pour cette exécution.",
                       "A random pseudonymisation key was drawn for this run.")
    launch = config.launch_date
    sessions, sess = _build_sessions(ctx, tables.get("sessions"), launch)
    out = {"sessions": sessions}
    out["visits"] = _build_visits(ctx, tables["visits"], sess, key) if "visits" in tables \
        else empty_table("visits")
    out["services"] = _build_services(ctx, tables["services"], sess) if "services" in tables \
        else empty_table("services")
    out["distributions"] = (_build_distributions(ctx, tables["distributions"], sess, launch)
                            if "distributions" in tables else empty_table("distributions"))
    out["survey_responses"] = (_build_survey(ctx, tables["survey_responses"], config)
                               if "survey_responses" in tables
                               else empty_table("survey_responses"))
    _report_link_failures(ctx, sess)
    _nothing_held(ctx, tables.get("sessions"), out["sessions"])
    if ctx.problems:
        # one message per mistake: the same problem on several rows is said once, then
        # grouped by file, in spreadsheet order (file-level problems first)
        raise DataError(sorted(_merge_repeats(ctx.problems),
                               key=lambda p: (str(p.file), p.row or 0)))
    _coverage_notices(ctx, out["sessions"], "visits" in tables, config)
    supplied = {}
    for name, t in tables.items():
        cols = set(c for c in t.cols if c in TABLES[name].names)
        if name == "visits":
            if "visitor_code" in cols:
                cols.add("person_id")
            if "age" in t.cols:
                cols.add("age_band")
        supplied[name] = frozenset(cols)
    return Dataset(out["sessions"], out["visits"], out["services"], out["distributions"],
                   out["survey_responses"], config, source=source, supplied=supplied,
                   notices=list(ctx.notices))
