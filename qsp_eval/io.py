"""Reading and writing data files: the only module that touches the file system for data.

Reading is forgiving about *format* (French Excel CSV: ``;`` delimiter,
Windows-1252 or UTF-8 with a byte-order mark, stray spaces in headers,
trailing empty rows and columns; XLSX with date cells; Parquet) and strict
about *content*, which :mod:`qsp_eval.validation` checks.

Tables read by :func:`read_table_file` are DataFrames of **strings**: every
cell is a Python ``str``, empty cells are ``""`` (never NA); the index holds
the row number *as a spreadsheet shows it* (header = row 1, first data row =
row 2) and is named ``"spreadsheet_row"``, so messages can point at the
right row even after blank rows were dropped.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io as _io
import json
import math
from pathlib import Path

from .errors import DataError, Problem

__all__ = [
    "TABLE_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "ROW_INDEX_NAME",
    "read_table_file",
    "read_evaluation_file",
    "write_table",
    "write_tables_xlsx",
    "write_source",
    "write_json",
    "load_source",
    "read_source",
    "write_template",
    "write_text",
    "read_text_file",
    "read_binary",
    "write_binary",
    "extract_zip",
    "write_zip",
    "read_json",
    "file_sha256",
    "save_figure",
    "write_docx",
    "read_docx",
    "read_published_tables",
    "read_output_table",
    "read_output_workbook",
    "read_notebook",
]

#: Suffixes accepted for a table file, in order of preference.
TABLE_SUFFIXES = (".csv", ".xlsx", ".ods", ".parquet")
#: Suffixes of a workbook source (one sheet per table).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
#: Name of the index of tables returned by :func:`read_table_file`.
ROW_INDEX_NAME = "spreadsheet_row"

_EVALUATION_NAMES = ("evaluation.yml", "evaluation.yaml")
_EVALUATION_SHEET = "evaluation"


def _file_problem(file: str, fr: str, en: str) -> DataError:
    return DataError(Problem(file, None, None, None, fr, en))


# ---------------------------------------------------------------------------
# Cells to strings
# ---------------------------------------------------------------------------
def _cell_to_str(v) -> str:
    """Turn one cell (from openpyxl, pandas or csv) into a string; empty -> ""."""
    if v is None or type(v).__name__ in ("NaTType", "NAType"):
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, _dt.datetime):
        # isoformat, not strftime: strftime writes year 23 as "23" on some platforms
        if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0):
            return v.date().isoformat()
        return f"{v.date().isoformat()} {v:%H:%M:%S}"
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, _dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return str(v)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    try:
        import pandas as pd

        if v is pd.NaT or (not isinstance(v, list | tuple | dict) and pd.isna(v)):
            return ""
        if isinstance(v, pd.Timestamp):
            return _cell_to_str(v.to_pydatetime())
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):  # numpy scalars
        try:
            return _cell_to_str(v.item())
        except (TypeError, ValueError):
            pass
    return str(v)


#: How many filled rows at the top of a table are looked at for the header row.
_HEADER_SEARCH_ROWS = 10


def _header_score(cells: list[str], table: str) -> tuple[int, int]:
    """(cells naming a column of ``table``, filled cells) of one row."""
    from .schema import column_for_header, normalise_label

    filled = [c for c in cells if c.strip()]
    known = sum(1 for c in filled if column_for_header(table, c) is not None
                or (table == "visits" and normalise_label(c) == "age"))
    return known, len(filled)


def _find_header(rows: list[list[str]], first: int, table: str | None) -> int:
    """Index of the header row: the first filled one, unless title rows sit above it.

    With ``table`` known, a later row among the first filled ones is taken as the header when
    it names more of the table's columns than the first filled row does (and at least half of
    its filled cells are column names): the rows above are titles or notes.
    """
    if table is None:
        return first
    best, best_known = first, _header_score(rows[first], table)[0]
    seen = 0
    for k in range(first + 1, len(rows)):
        if not any(c.strip() for c in rows[k]):
            continue
        seen += 1
        if seen >= _HEADER_SEARCH_ROWS:
            break
        known, filled = _header_score(rows[k], table)
        if known > best_known and 2 * known >= filled:
            best, best_known = k, known
            break
    return best


def _rows_to_frame(rows: list[list], file: str, table: str | None = None):
    """Header row + data rows -> string DataFrame indexed by spreadsheet row.

    With ``table``, title rows above the header row are skipped (see :func:`_find_header`);
    their spreadsheet row numbers are kept in ``df.attrs["title_rows"]``.
    """
    import pandas as pd

    rows = [[_cell_to_str(c) for c in r] for r in rows]
    # the header is the first non-empty row (leading empty rows are tolerated), unless
    # title rows sit above the headers
    first = 0
    while first < len(rows) and not any(c.strip() for c in rows[first]):
        first += 1
    if first == len(rows):
        df = pd.DataFrame({})
        df.index.name = ROW_INDEX_NAME
        return df
    header_at = _find_header(rows, first, table)
    title_rows = [k + 1 for k in range(first, header_at) if any(c.strip() for c in rows[k])]
    first = header_at
    width = max(len(r) for r in rows[first:])
    rows = [r + [""] * (width - len(r)) for r in rows]
    header = [h.replace("\ufeff", "").strip() for h in rows[first]]
    data = rows[first + 1:]
    row_numbers = list(range(first + 2, first + 2 + len(data)))
    # drop columns with no header and no value (trailing empty columns)
    keep = [j for j in range(width) if header[j] or any(r[j].strip() for r in data)]
    names = []
    for j in keep:
        names.append(header[j] if header[j] else f"(colonne {_column_letter(j)})")
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    dup = [n for n, k in seen.items() if k > 1]
    if dup:
        raise _file_problem(
            file,
            "colonnes en double dans l'en-tête : " + ", ".join(f"« {d} »" for d in dup),
            "duplicated column names in the header: " + ", ".join(f"'{d}'" for d in dup),
        )
    # drop fully empty rows (their numbers are kept by the index)
    kept_rows, kept_numbers = [], []
    for n, r in zip(row_numbers, data):
        cells = [r[j] for j in keep]
        if any(c.strip() for c in cells):
            kept_rows.append(cells)
            kept_numbers.append(n)
    df = pd.DataFrame(kept_rows, columns=names, dtype=object) if kept_rows else \
        pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    df.index = pd.Index(kept_numbers, name=ROW_INDEX_NAME, dtype="int64")
    if title_rows:
        df.attrs["title_rows"] = title_rows
        df.attrs["header_row"] = first + 1
    return df


def _column_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _decode(raw: bytes, file: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise _file_problem(
                file,
                "le fichier commence comme un texte UTF-16 mais n'en est pas un (fichier "
                "abîmé ?) : réenregistrez-le en CSV UTF-8 ou ouvrez-le dans Excel puis "
                "« Enregistrer sous » CSV",
                "the file starts like UTF-16 text but is not (damaged file?): save it "
                "again as UTF-8 CSV, or open it in Excel and 'Save as' CSV") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _count_delimiters(lines: list[str]) -> dict[str, int]:
    counts = {";": 0, ",": 0, "\t": 0}
    for line in lines:
        quoted = False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in counts:
                counts[ch] += 1
    return counts


def _sniff_delimiter(text: str) -> str:
    """Most frequent of ``;``, ``,``, tab outside quotes on the header line (else the first
    lines); ties and single-column files give ``,``."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    for sample in (lines[:1], lines[:20]):
        counts = _count_delimiters(sample)
        best = max(counts, key=lambda c: (counts[c], c == ","))
        if counts[best] > 0:
            return best
    return ","


def _read_csv(path: Path, file: str, table: str | None = None):
    raw = path.read_bytes()
    text = _decode(raw, file)
    if "\x00" in text:
        raise _file_problem(file, "ce fichier n'est pas un fichier texte CSV lisible",
                            "this file is not a readable CSV text file")
    sep = _sniff_delimiter(text)
    try:
        rows = list(csv.reader(_io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise _file_problem(file, f"CSV illisible ({exc})", f"unreadable CSV ({exc})") from None
    return _rows_to_frame(rows, file, table)


def _find_sheet(names: list[str], sheet: str) -> str | None:
    for n in names:
        if n == sheet:
            return n
    for n in names:
        if n.strip().lower() == sheet.strip().lower():
            return n
    return None


class _Book:
    """An open workbook: ``.xlsx``/``.xlsm`` (openpyxl) or LibreOffice ``.ods`` (pandas + odfpy).

    ``sheetnames`` lists its sheets; :meth:`rows` returns one sheet's cells, row by row, with
    blank rows kept (so row numbers stay the spreadsheet's). An ``.ods`` file is parsed once.
    """

    def __init__(self, path: Path, file: str):
        self.path, self.file = path, file
        self.ods = path.suffix.lower() == ".ods"
        if self.ods:
            self._open_ods()
        else:
            self._open_xlsx()

    def _open_xlsx(self):
        import zipfile

        from openpyxl import load_workbook

        try:
            self._wb = load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
            raise _file_problem(
                self.file,
                f"classeur Excel illisible ({type(exc).__name__}) : ouvrez-le dans Excel ou "
                "LibreOffice et enregistrez-le de nouveau au format .xlsx",
                f"unreadable Excel workbook ({type(exc).__name__}): open it in Excel or "
                "LibreOffice and save it again as .xlsx") from None
        self.sheetnames = list(self._wb.sheetnames)

    def _open_ods(self):
        try:
            from odf.opendocument import load as odf_load
            from odf.table import Table
        except ImportError:  # pragma: no cover - odfpy is a dependency
            raise _file_problem(
                self.file,
                "lire un classeur .ods demande le module odfpy (make setup l'installe) ; ou "
                "enregistrez le classeur au format .xlsx",
                "reading an .ods workbook needs the odfpy module (make setup installs it); or "
                "save the workbook as .xlsx") from None
        try:
            doc = odf_load(str(self.path))
            self._tables = {str(t.getAttribute("name")): t
                            for t in doc.spreadsheet.getElementsByType(Table)}
            self.sheetnames = list(self._tables)
        except Exception as exc:  # noqa: BLE001 - zip, XML and odfpy errors of many kinds
            raise _file_problem(
                self.file,
                f"classeur LibreOffice (.ods) illisible ({type(exc).__name__}) : ouvrez-le "
                "dans LibreOffice et enregistrez-le de nouveau (.ods ou .xlsx)",
                f"unreadable LibreOffice workbook (.ods) ({type(exc).__name__}): open it in "
                "LibreOffice and save it again (.ods or .xlsx)") from None

    def sheet(self, sheet: str | None, file: str) -> str:
        """The real name of ``sheet`` (case-insensitive; None = the first sheet)."""
        if not self.sheetnames:
            raise _file_problem(file, "classeur sans feuille", "workbook without any sheet")
        if sheet is None:
            return self.sheetnames[0]
        name = _find_sheet(self.sheetnames, sheet)
        if name is None:
            raise _file_problem(file, f"pas de feuille « {sheet} » dans ce classeur",
                                f"no sheet '{sheet}' in this workbook")
        return name

    def rows(self, name: str, file: str) -> list[list]:
        if not self.ods:
            return [list(r) for r in self._wb[name].iter_rows(values_only=True)]
        try:
            return _ods_rows(self._tables[name])
        except Exception as exc:  # noqa: BLE001 - odfpy errors of many kinds
            raise _file_problem(
                file, f"feuille illisible ({type(exc).__name__}) : enregistrez le classeur "
                "de nouveau dans LibreOffice", f"unreadable sheet ({type(exc).__name__}): "
                "save the workbook again in LibreOffice") from None

    def frame(self, sheet: str | None, file: str, table: str | None = None):
        """One sheet as a string DataFrame (see :func:`read_table_file`)."""
        return _rows_to_frame(self.rows(self.sheet(sheet, file), file), file, table)

    def close(self):
        if not self.ods:
            self._wb.close()


def _ods_text(node) -> str:
    """The text of an ODF cell or paragraph (``text:s`` runs of spaces, line breaks)."""
    from odf.element import Element
    from odf.namespaces import OFFICENS, TEXTNS

    out = []
    seen_p = False
    for frag in node.childNodes:
        if isinstance(frag, Element):
            if frag.qname == (TEXTNS, "s"):
                out.append(" " * int(frag.attributes.get((TEXTNS, "c"), 1)))
            elif frag.qname in ((TEXTNS, "line-break"),):
                out.append("\n")
            elif frag.qname == (TEXTNS, "tab"):
                out.append("\t")
            elif frag.qname == (OFFICENS, "annotation"):
                continue
            else:
                if frag.qname == (TEXTNS, "p"):
                    if seen_p:
                        out.append("\n")
                    seen_p = True
                out.append(_ods_text(frag))
        else:
            out.append(str(frag))
    return "".join(out)


def _ods_value(cell):
    """One ODF cell -> a Python value (None when empty), by its stored type, not its display.

    Booleans are read from ``office:boolean-value`` (a French LibreOffice displays VRAI/FAUX);
    dates from ``office:date-value`` (any year: 0023 stays 0023, for the validator to refuse).
    """
    from odf.namespaces import OFFICENS

    a = cell.attributes
    kind = a.get((OFFICENS, "value-type"))
    if kind is None:
        text = _ods_text(cell)
        return text if text else None
    if kind == "boolean":
        return str(a.get((OFFICENS, "boolean-value"), "")).lower() == "true"
    if kind in ("float", "percentage", "currency"):
        v = float(a.get((OFFICENS, "value")))
        return int(v) if v.is_integer() and abs(v) < 1e15 else v
    if kind == "date":
        v = str(a.get((OFFICENS, "date-value")))
        try:
            if "T" in v:
                return _dt.datetime.fromisoformat(v)
            return _dt.date.fromisoformat(v)
        except ValueError:
            return v  # a year the standard library cannot hold: the validator says so
    if kind == "time":
        return _ods_text(cell) or str(a.get((OFFICENS, "time-value")))
    return _ods_text(cell)


def _ods_rows(table) -> list[list]:
    """Rows of an ODF table: repeated rows and cells expanded, trailing empty ones dropped,
    blank rows in between kept (so row numbers stay the spreadsheet's)."""
    from odf.namespaces import TABLENS
    from odf.table import TableRow

    cell_names = {(TABLENS, "table-cell"), (TABLENS, "covered-table-cell")}
    out: list[list] = []
    empty_rows = 0
    for row in table.getElementsByType(TableRow):
        cells: list = []
        empty_cells = 0
        for cell in row.childNodes:
            if getattr(cell, "qname", None) not in cell_names:
                continue
            rep = int(cell.attributes.get((TABLENS, "number-columns-repeated"), 1))
            v = _ods_value(cell)
            if v is None:
                empty_cells += rep
            else:
                cells.extend([None] * empty_cells)
                empty_cells = 0
                cells.extend([v] * rep)
        rep = int(row.attributes.get((TABLENS, "number-rows-repeated"), 1))
        if not cells:
            empty_rows += rep
        else:
            out.extend([[] for _ in range(empty_rows)])
            empty_rows = 0
            out.extend(list(cells) for _ in range(rep))
    return out


def _read_book(path: Path, file: str, sheet: str | None, table: str | None = None):
    book = _Book(path, file)
    try:
        return book.frame(sheet, file, table)
    finally:
        book.close()


def _read_parquet(path: Path, file: str, table: str | None = None):
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds
        raise _file_problem(file, f"fichier Parquet illisible ({type(exc).__name__})",
                            f"unreadable Parquet file ({type(exc).__name__})") from None
    rows = [[str(c) for c in df.columns]] + df.astype(object).values.tolist()
    return _rows_to_frame(rows, file, table)


def read_table_file(path, *, sheet: str | None = None, display_name: str | None = None,
                    table: str | None = None):
    """Read one CSV, XLSX or ODS (one sheet) or Parquet file into a DataFrame of strings.

    Survives files saved by French Excel or LibreOffice: the delimiter
    (``;``, ``,`` or tab) is sniffed from the header line; the encoding is
    UTF-8 (with or without byte-order mark), else Windows-1252; header names
    are stripped of stray spaces; fully empty rows and columns without a
    header are dropped. XLSX and ODS date cells become ``YYYY-MM-DD``, whole
    numbers lose their ``.0``, booleans become ``yes``/``no``.

    Parameters
    ----------
    path : path-like
        ``.csv`` (or ``.txt``), ``.xlsx``/``.xlsm``, ``.ods`` (LibreOffice) or
        ``.parquet`` file.
    sheet : str, optional
        Sheet of a workbook (case-insensitive); default the first sheet.
    display_name : str, optional
        Name used in messages (default: the file name, plus ``[sheet]``).
    table : str, optional
        The contract table the file holds (``"visits"``...). When given, title
        rows above the header row are skipped: a row among the first ten filled
        ones that names more of the table's columns (codes or French headers)
        than the first filled row is the header. The skipped rows' numbers are
        in ``df.attrs["title_rows"]`` and the header's in ``df.attrs["header_row"]``.

    Returns
    -------
    pandas.DataFrame
        Columns as in the file's header (stripped; a column with values but
        no header is named ``"(colonne F)"``); every cell a ``str``, empty
        cells ``""``; index ``spreadsheet_row`` = the row number a
        spreadsheet shows (header row 1). Missing data: kept as ``""``.

    Raises
    ------
    DataError
        File missing, unreadable, unknown suffix, sheet absent, or two
        columns with the same name; the message names the file.

    Examples
    --------
    >>> # df = read_table_file("donnees/visits.csv"); df.loc[2, "gender"]
    """
    p = Path(path)
    file = display_name or (f"{p.name}[{sheet}]" if sheet else p.name)
    if not p.is_file():
        raise _file_problem(file, f"fichier introuvable : {p}", f"file not found: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return _read_csv(p, file, table)
        if suffix in WORKBOOK_SUFFIXES:
            return _read_book(p, file, sheet, table)
        if suffix == ".parquet":
            return _read_parquet(p, file, table)
    except OSError as exc:
        raise _file_problem(file, f"lecture impossible ({exc.strerror})",
                            f"cannot read the file ({exc.strerror})") from None
    raise _unsupported(file, suffix)


def _unsupported(file: str, suffix: str) -> DataError:
    if suffix == ".xls":
        return _file_problem(file, "ancien format Excel .xls : enregistrez le fichier en .xlsx "
                             "(ou .ods)", "old Excel .xls format: save the file as .xlsx (or .ods)")
    if suffix in (".numbers", ".fods", ".xlsb"):
        return _file_problem(
            file, f"format « {suffix} » non pris en charge : enregistrez le classeur en .xlsx ou "
            ".ods", f"format '{suffix}' not supported: save the workbook as .xlsx or .ods")
    return _file_problem(
        file, f"format non pris en charge « {suffix} » (attendu : .csv, .xlsx, .ods ou .parquet)",
        f"unsupported format '{suffix}' (expected .csv, .xlsx, .ods or .parquet)")


# ---------------------------------------------------------------------------
# evaluation.yml
# ---------------------------------------------------------------------------
def read_evaluation_file(path) -> dict:
    """Read ``evaluation.yml`` into a dict (raises DataError naming the file if unreadable).

    Examples
    --------
    >>> # cfg = read_evaluation_file("data/example/evaluation.yml")["launch_date"]
    """
    import yaml

    p = Path(path)
    try:
        text = _decode(p.read_bytes(), p.name)
        obj = yaml.safe_load(text)
    except OSError as exc:
        raise _file_problem(p.name, f"lecture impossible ({exc.strerror})",
                            f"cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise DataError(Problem(
            p.name, row, None, None,
            "YAML mal formé (vérifiez l'indentation et les deux-points)",
            "malformed YAML (check indentation and colons)")) from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise _file_problem(p.name, "le fichier doit contenir des paires « clé: valeur »",
                            "the file must hold 'key: value' pairs")
    return obj


def _evaluation_from_sheet(df, file: str) -> dict:
    """Turn a key/value sheet into an evaluation dict.

    Keys are dotted paths (``change.start``); a numeric part indexes a list
    (``events.1.date``). Values stay strings (whole numbers become ints);
    :func:`qsp_eval.validation.parse_evaluation` interprets dates, yes/no and
    ``;``-separated lists. Rows with an empty key or value are skipped.
    """
    import re

    cols = {c.strip().lower(): c for c in df.columns}
    kcol = cols.get("key") or cols.get("clé") or cols.get("cle")
    vcol = cols.get("value") or cols.get("valeur")
    if kcol is None or vcol is None:
        raise _file_problem(file, "la feuille evaluation doit avoir les colonnes « key » et « value »",
                            "the evaluation sheet needs the columns 'key' and 'value'")
    out: dict = {}
    problems = []
    for row, k, v in zip(df.index, df[kcol], df[vcol]):
        k, v = str(k).strip(), str(v).strip()
        if not k or not v:
            continue
        val: object = int(v) if re.fullmatch(r"-?\d{1,9}", v) else v
        parts = [p.strip() for p in k.split(".")]
        if any(not p for p in parts):
            problems.append(Problem(file, int(row), kcol, k, "clé mal formée", "malformed key"))
            continue
        node: object = out
        ok = True
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            child_list = (not last) and parts[i + 1].isdigit()
            if isinstance(node, dict):
                if part.isdigit():
                    ok = False
                    break
                if last:
                    node[part] = val
                else:
                    if part not in node or not isinstance(node[part], dict | list):
                        node[part] = [] if child_list else {}
                    node = node[part]
            elif isinstance(node, list):
                if not part.isdigit():
                    ok = False
                    break
                idx = int(part)
                if idx > 1000:
                    ok = False
                    break
                while len(node) <= idx:
                    node.append(None)
                if last:
                    node[idx] = val
                else:
                    if not isinstance(node[idx], dict | list):
                        node[idx] = [] if child_list else {}
                    node = node[idx]
        if not ok:
            problems.append(Problem(file, int(row), kcol, k, "clé mal formée", "malformed key"))
    if problems:
        raise DataError(problems)
    return _compact_lists(out)


def _compact_lists(obj):
    """Drop the holes left in lists by skipped rows (e.g. events.0 empty, events.1 filled)."""
    if isinstance(obj, dict):
        return {k: _compact_lists(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_compact_lists(v) for v in obj if v is not None]
    return obj


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------
def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        h.update(p.name.encode("utf-8") + b"\x00")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\x00")
    return h.hexdigest()


def _title_notice(df, file: str):
    """The notice for title rows skipped above a table's headers (None if there were none)."""
    from .validation import Notice

    rows = df.attrs.get("title_rows")
    if not rows:
        return None
    head = df.attrs.get("header_row")
    which = (f"ligne {rows[0]}" if len(rows) == 1 else
             "lignes " + ", ".join(str(r) for r in rows))
    which_en = (f"row {rows[0]}" if len(rows) == 1 else
                "rows " + ", ".join(str(r) for r in rows))
    return Notice(
        f"{file} : {which} au-dessus des titres de colonnes ignorée(s) (titre, remarques) ; les "
        f"titres sont lus ligne {head}, les numéros de ligne des messages restent ceux du "
        "tableur.",
        f"{file}: {which_en} above the column headers skipped (title, notes); the headers are "
        f"read on row {head}; row numbers in messages stay the spreadsheet's.")


def _evaluation_beside(ev: Path, files: dict, problems: list, paths: list):
    """Read ``evaluation.yml`` found beside the tables (``None`` on a problem, then listed)."""
    files["evaluation"] = ev.name
    paths.append(ev)
    try:
        return read_evaluation_file(ev)
    except DataError as exc:
        problems.extend(exc.problems)
        return None


def read_source(path) -> tuple[dict, dict | None, dict, list[Path], list]:
    """Read a data source's raw tables without validating them.

    Parameters
    ----------
    path : path-like
        A folder (one file per table, ``.csv``/``.xlsx``/``.ods``/``.parquet``,
        plus ``evaluation.yml``) or one ``.xlsx``/``.xlsm``/``.ods`` workbook
        (one sheet per table; ``evaluation.yml`` beside it, or else a sheet
        ``evaluation`` of ``key``/``value`` rows with dotted keys such as
        ``change.start``). Title rows above a table's headers are skipped
        (with a notice).

    Returns
    -------
    tuple
        ``(raw, evaluation, files, paths, notices)``: table name -> string
        DataFrame (see :func:`read_table_file`); the evaluation dict (None
        if absent); table name -> display name (``"visits.csv"``,
        ``"saisie.ods[visits]"``; ``files["_workbook"]`` is the workbook's
        name for a workbook source); the files read (for the checksum);
        notices (:class:`qsp_eval.validation.Notice`, French str with ``.en``).

    Examples
    --------
    >>> # raw, evaluation, files, paths, notices = read_source("data/example")
    """
    from .schema import TABLES

    p = Path(path).expanduser()
    raw: dict = {}
    files: dict[str, str] = {}
    paths: list[Path] = []
    notices: list = []
    evaluation = None
    problems: list[Problem] = []

    def keep(table, df, disp):
        raw[table] = df
        files[table] = disp
        n = _title_notice(df, disp)
        if n is not None:
            notices.append(n)

    if p.is_dir():
        entries = {q.name.lower(): q for q in p.iterdir() if q.is_file()}
        for table in TABLES:
            found = [entries[f"{table}{s}"] for s in TABLE_SUFFIXES if f"{table}{s}" in entries]
            if len(found) > 1:
                problems.append(Problem(
                    p.name, None, None, None,
                    f"plusieurs fichiers pour la table {table} ("
                    + ", ".join(q.name for q in found) + ") : n'en gardez qu'un",
                    f"several files for table {table} ("
                    + ", ".join(q.name for q in found) + "): keep only one"))
                continue
            if not found:
                # "sessions.xls", "sessions.numbers": say why it is not read, rather than
                # "sessions missing"
                other = sorted(q for n, q in entries.items()
                               if Path(n).stem == table and not n.startswith("~$")
                               and Path(n).suffix not in (".bak", ".tmp", ".lock"))
                if other:
                    problems.extend(_unsupported(other[0].name, other[0].suffix.lower())
                                    .problems)
                continue
            try:
                df = read_table_file(found[0], table=table)
            except DataError as exc:
                problems.extend(exc.problems)
                continue
            keep(table, df, found[0].name)
            paths.append(found[0])
        ev = next((entries[n] for n in _EVALUATION_NAMES if n in entries), None)
        if ev is not None:
            evaluation = _evaluation_beside(ev, files, problems, paths)
    elif p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES:
        book = _Book(p, p.name)
        try:
            paths.append(p)
            files["_workbook"] = p.name
            for table in TABLES:
                name = _find_sheet(book.sheetnames, table)
                if name is None:
                    continue
                disp = f"{p.name}[{name}]"
                try:
                    keep(table, book.frame(name, disp, table), disp)
                except DataError as exc:
                    problems.extend(exc.problems)
            ev = next((p.parent / n for n in _EVALUATION_NAMES if (p.parent / n).is_file()),
                      None)
            if ev is not None:
                evaluation = _evaluation_beside(ev, files, problems, paths)
            elif _find_sheet(book.sheetnames, _EVALUATION_SHEET) is not None:
                name = _find_sheet(book.sheetnames, _EVALUATION_SHEET)
                disp = f"{p.name}[{name}]"
                files["evaluation"] = disp
                try:
                    sheet = book.frame(name, disp)
                    evaluation = _evaluation_from_sheet(sheet, disp) if len(sheet.columns) \
                        else {}
                except DataError as exc:
                    problems.extend(exc.problems)
        finally:
            book.close()
    elif not p.exists():
        raise _file_problem(str(p), "source de données introuvable (dossier, ou classeur .xlsx "
                            "ou .ods)", "data source not found (folder, or .xlsx or .ods "
                            "workbook)")
    else:
        fr = ("une source de données est un dossier (sessions.csv, visits.csv..., "
              "evaluation.yml) ou un classeur .xlsx ou .ods avec une feuille par table")
        en = ("a data source is a folder (sessions.csv, visits.csv..., evaluation.yml) or an "
              ".xlsx or .ods workbook with one sheet per table")
        if p.suffix.lower() in (".xls", ".numbers", ".xlsb", ".fods"):
            fr = _unsupported(p.name, p.suffix.lower()).problems[0].message_fr + " ; " + fr
            en = _unsupported(p.name, p.suffix.lower()).problems[0].message_en + "; " + en
        raise _file_problem(p.name, fr, en)
    if problems:
        raise DataError(problems)
    return raw, evaluation, files, paths, notices


def load_source(path, *, key: bytes | None = None, key_file=None, today=None):
    """Load and validate a data source (folder or workbook) into a Dataset.

    Reads every table (see :func:`read_source` for the layout and
    :func:`read_table_file` for the formats), then validates them with
    :func:`qsp_eval.validation.build_dataset`. Never writes anything and
    never modifies the input files.

    Parameters
    ----------
    path : path-like
        Data folder, or ``.xlsx`` workbook with one sheet per table.
    key : bytes, optional
        Pseudonymisation key. Default: :func:`qsp_eval.privacy.resolve_key`
        (``key_file``, else ``QSP_PSEUDONYM_KEY``, else a fresh random key).
    key_file : path-like, optional
        File holding the key; refused when inside the data folder.
    today : datetime.date, optional
        Reference day for "date in the future" (default: today).

    Returns
    -------
    Dataset
        Internal form (see :mod:`qsp_eval.schema`); ``source`` is the path,
        ``checksum`` the SHA-256 over the raw files read (name and bytes, in
        name order).

    Raises
    ------
    DataError
        With **all** problems found, each naming file (and sheet), row,
        column, value (masked when identifying) and what was expected.

    Examples
    --------
    >>> # ds = load_source("data/example"); ds.sessions.head()
    """
    from .privacy import resolve_key_with_origin
    from .validation import Notice, build_dataset

    raw, evaluation, files, paths, notices = read_source(path)
    origin = None
    if key is None:
        key, origin = resolve_key_with_origin(key_file=key_file, data_path=path)
    ds = build_dataset(raw, evaluation, files=files, key=key, today=today)
    ds.source = str(path)
    ds.checksum = _hash_files(paths)
    extra = list(notices)
    if origin == "random" and ds.has("visits", "visitor_code"):
        extra.append(Notice(
            "Clé de pseudonymisation tirée au hasard pour cette exécution : les pseudonymes "
            "changent d'une exécution à l'autre (ils ne sont jamais écrits).",
            "A random pseudonymisation key was drawn for this run: pseudonyms differ between "
            "runs (they are never written out)."))
    if evaluation is None and "_workbook" in files:
        extra.append(Notice(
            "Ni fichier evaluation.yml à côté du classeur, ni feuille « evaluation » : valeurs "
            "par défaut (pas de date de lancement, pas de changement évalué).",
            "Neither an evaluation.yml beside the workbook nor an 'evaluation' sheet: defaults "
            "used (no launch date, no change under evaluation)."))
    elif evaluation is None:
        extra.append(Notice(
            "Pas de fichier evaluation.yml : valeurs par défaut (pas de date de lancement, pas "
            "de changement évalué).",
            "No evaluation.yml: defaults used (no launch date, no change under evaluation)."))
    ds.notices = list(ds.notices) + extra
    return ds


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------
def write_table(df, path, *, sep: str = ",", encoding: str = "utf-8", sheet: str = "data") -> Path:
    """Write one table to ``.csv``, ``.xlsx`` or ``.parquet`` according to the suffix.

    CSV: UTF-8, comma-separated, ``\\n`` line ends by default; pass
    ``sep=";", encoding="cp1252"`` (or ``"utf-8-sig"``) for a file that
    French Excel opens directly. The index is not written. Missing values
    are written as empty cells.

    Parameters
    ----------
    df : pandas.DataFrame
    path : path-like
        Destination; parent folders are created.
    sep, encoding : str, keyword-only
        CSV delimiter and encoding (ignored for other formats).
    sheet : str, keyword-only
        Sheet name for ``.xlsx``.

    Returns
    -------
    Path

    Examples
    --------
    >>> # write_table(df, "out/visits.csv", sep=";", encoding="cp1252")
    """
    from .errors import ParameterError

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        df.to_csv(p, index=False, sep=sep, encoding=encoding, lineterminator="\n")
    elif suffix == ".xlsx":
        write_tables_xlsx({sheet: df}, p)
    elif suffix == ".parquet":
        df.to_parquet(p, index=False)
    else:
        raise ParameterError(
            f"format de sortie non pris en charge « {suffix} » (.csv, .xlsx ou .parquet)",
            f"unsupported output format '{suffix}' (.csv, .xlsx or .parquet)")
    return p


def write_tables_xlsx(tables: dict, path, *, formats: dict | None = None,
                      readme=None, readme_title: str = "Lisez-moi") -> Path:
    """Write several tables to one ``.xlsx`` workbook, one sheet per table.

    Sheet names are the dict keys (cut to Excel's 31 characters); the index
    is not written; the header row is bold and frozen; column widths follow
    the longest cell (10 to 60 characters).

    Parameters
    ----------
    tables : dict
        Sheet name -> DataFrame.
    path : path-like
    formats : dict, optional
        Sheet name -> {header: Excel number format} (``"0.0%"``, ``"0.00"``...).
    readme : DataFrame, optional
        Written first, as sheet ``readme_title`` (for people: what each sheet
        holds, its unit), with wrapped text.

    Examples
    --------
    >>> # write_tables_xlsx({"sessions": s, "visits": v}, "out/tables.xlsx")
    """
    import pandas as pd
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    formats = formats or {}
    sheets = ([(readme_title, readme)] if readme is not None else []) + list(tables.items())
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        for name, df in sheets:
            sname = str(name)[:31]
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                    out[c] = out[c].dt.tz_localize(None)
            out.to_excel(xw, sheet_name=sname, index=False)
            ws = xw.sheets[sname]
            for cell in ws[1]:
                cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.freeze_panes = "A2"
            fmt = formats.get(name, {})
            for j, col in enumerate(out.columns, start=1):
                letter = get_column_letter(j)
                cells = out[col].astype("string").fillna("")
                longest = max([len(str(col)) // 2 + 1] + [len(x) for x in cells.head(200)])
                width = 60 if (df is readme and j > 1) else min(max(10, longest + 2), 60)
                ws.column_dimensions[letter].width = width
                if str(col) in fmt:
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = fmt[str(col)]
                if df is readme:
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    return p


def write_source(tables: dict, evaluation: dict, out_dir, *, fmt: str = "csv",
                 extra_json: dict | None = None) -> list[Path]:
    """Write a data source in the contract's external form.

    Parameters
    ----------
    tables : dict[str, pandas.DataFrame]
        Table name -> DataFrame with the contract's column names.
    evaluation : dict
        Content of ``evaluation.yml``.
    out_dir : path-like
        Folder to create (parents included).
    fmt : {"csv"}
        CSV files are UTF-8, comma-separated, ISO dates.
    extra_json : dict[str, object], optional
        File name -> object written as JSON beside the tables (e.g. ``truth.json``).

    Returns
    -------
    list of Path
        The files written.
    """
    import yaml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        p = out / f"{name}.csv"
        df.to_csv(p, index=False, lineterminator="\n")
        written.append(p)
    p = out / "evaluation.yml"
    p.write_text(yaml.safe_dump(evaluation, allow_unicode=True, sort_keys=False), encoding="utf-8")
    written.append(p)
    for fname, obj in (extra_json or {}).items():
        written.append(write_json(obj, out / fname))
    return written


def write_json(obj, path) -> Path:
    """Write ``obj`` as pretty, UTF-8 JSON with sorted keys; return the path."""
    p = Path(path)
    p.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return p


# ---------------------------------------------------------------------------
# The empty workbook for coordinators
# ---------------------------------------------------------------------------
#: Rows of the ``evaluation`` sheet of the template: key, French and English explanation.
_EVALUATION_TEMPLATE_ROWS = (
    ("programme", "Nom du programme (ex. Permanence QSP)", "Programme name"),
    ("organisation", "Nom de l'association", "Organisation name"),
    ("language", "Langue du rapport : fr ou en", "Report language: fr or en"),
    ("launch_date", "Date de la première permanence (jj/mm/aaaa)",
     "Date of the first session (dd/mm/yyyy)"),
    ("session_weekday", "Jour habituel des permanences (0 = lundi ... 6 = dimanche)",
     "Usual session weekday (0 = Monday ... 6 = Sunday)"),
    ("change.name", "Changement évalué : nom court (ex. theming)",
     "Change under evaluation: short name (e.g. theming)"),
    ("change.start", "Changement évalué : date de début (jj/mm/aaaa)",
     "Change under evaluation: start date"),
    ("change.label_fr", "Changement évalué : libellé en français", "Change: French label"),
    ("change.label_en", "Changement évalué : libellé en anglais", "Change: English label"),
    ("events.1.date", "Événement de contexte : date (ex. ouverture d'un service voisin)",
     "Context event: date (e.g. a nearby service opens)"),
    ("events.1.label_fr", "Événement de contexte : libellé en français", "Context event: French label"),
    ("events.1.label_en", "Événement de contexte : libellé en anglais", "Context event: English label"),
    ("disclosure.preset", "Protection des petits effectifs : default (seuil 5) ou strict",
     "Small-cell protection: default (threshold 5) or strict"),
)


def _template_content(lang: str) -> dict:
    """What the template holds, whatever its format: sheets, headers, lists, explanations."""
    from .schema import TABLES, VOCABULARIES, header_label

    fr = lang == "fr"
    lists = [(vocab, [v[0] if fr else v[1] for v in codes.values()])
             for vocab, codes in VOCABULARIES.items()]
    heads = (("table", "colonne", "code", "obligatoire ?", "signification", "valeurs permises",
              "exemple") if fr else
             ("table", "column", "code", "required?", "meaning", "allowed values", "example"))
    expl = []
    tables = []
    for tname, spec in TABLES.items():
        cols = []
        for col in spec.columns:
            desc = col.description_fr if fr else col.description_en
            if col.vocabulary:
                allowed = "; ".join(v[0] if fr else v[1] for v in VOCABULARIES[col.vocabulary]
                                    .values())
            else:
                allowed = {
                    "date": "jj/mm/aaaa" if fr else "dd/mm/yyyy",
                    "month": ("AAAA-MM, MM/AAAA ou mars-23" if fr else
                              "YYYY-MM, MM/YYYY or Mar-23"),
                    "int": "0, 1, 2...",
                }.get(col.kind, "texte court" if fr else "short text")
            if col.kind == "multi":
                allowed += " (plusieurs, séparés par « ; »)" if fr else " (several, separated by ';')"
            if col.default is not None:
                dflt = col.default
                if col.vocabulary and dflt in VOCABULARIES[col.vocabulary]:
                    dflt = VOCABULARIES[col.vocabulary][dflt][0 if fr else 1]
                allowed += (f" ; vide = {dflt}" if fr else f"; empty = {dflt}")
            if not desc:
                desc = (("Permanence (identifiant)" if fr else "Session (identifier)")
                        if col.name == "session_id" else
                        ("Lieu" if fr else "Site") if col.name == "site" else col.name)
            required = col.required or (tname == "sessions" and col.name == "date")
            head = header_label(tname, col.name, lang)
            expl.append([tname, head, col.name, ("oui" if fr else "yes") if required else
                         ("non" if fr else "no"), desc, allowed,
                         str(spec.example.get(col.name, ""))])
            cols.append({"name": col.name, "header": head, "kind": col.kind,
                         "vocabulary": col.vocabulary})
        tables.append((tname, cols))
    notes = (
        ["Aucune donnée identifiante : pas de nom, prénom, téléphone, e-mail, adresse, date de "
         "naissance ni numéro de sécurité sociale, dans aucune colonne, remarques comprises (le "
         "fichier serait refusé).",
         "Les titres de colonnes peuvent être ceux de ce modèle (en français) ou les codes de la "
         "colonne « code » ; la ligne des titres doit rester la première ligne de chaque feuille.",
         "visits : une ligne par passage ; Identifiant de permanence OU Date pour relier le "
         "passage à sa permanence. Colonne « Âge » possible à la place de Tranche d'âge "
         "(convertie puis effacée).",
         "Les permanences tenues sans aucun passage restent des données : gardez leur ligne "
         "dans sessions.",
         "Vérifiez le fichier avec : qsp-eval validate CE_FICHIER (ou make validate "
         "SOURCE=CE_FICHIER)"]
        if fr else
        ["No identifying data: no name, phone number, e-mail, address, date of birth or social "
         "security number, in any column, notes included (the file would be refused).",
         "Column headers may be the codes of the 'code' column (or the French labels); the "
         "header row must stay the first row of each sheet.",
         "visits: one row per visit; session_id OR date links it to its session. An 'age' "
         "column may replace age_band (banded then discarded).",
         "Held sessions with no visit are data too: keep their row in sessions.",
         "Check the file with: qsp-eval validate THIS_FILE (or make validate SOURCE=THIS_FILE)"]
    )
    ev_head = ["key", "value", "explication" if fr else "explanation"]
    ev_rows = []
    for k, efr, een in _EVALUATION_TEMPLATE_ROWS:
        value = lang if k == "language" else ("default" if k == "disclosure.preset" else None)
        ev_rows.append([k, value, efr if fr else een])
    return {"fr": fr, "lists": lists, "lists_name": "listes" if fr else "lists",
            "expl_name": "explications" if fr else "explanations", "expl_heads": list(heads),
            "expl": expl, "notes": notes, "tables": tables, "ev_head": ev_head,
            "ev_rows": ev_rows}


def write_template(path, *, lang: str = "fr", rows: int = 1000) -> Path:
    """Write the empty data-entry workbook for coordinators (``.xlsx`` or LibreOffice ``.ods``).

    One sheet per table of the contract (sheet names are the contract's table
    names; column headers are French labels, such as ``Genre`` or ``Tranche
    d'âge``, with ``lang="fr"``, or the contract's codes with ``lang="en"``:
    the loader reads both, so a filled copy loads without change), with
    drop-down lists of the labels (French, or English) for every coded column,
    whole-number checks on count columns and ``jj/mm/aaaa`` date formats; a
    first sheet ``explications`` (``explanations``) with one row per column
    (table, header, code, required?, meaning, allowed values, example); a
    sheet ``evaluation`` of key/value rows standing for ``evaluation.yml``;
    and a hidden sheet ``listes`` (``lists``) holding the drop-down values.

    Parameters
    ----------
    path : path-like
        Destination ``.xlsx`` or ``.ods`` (parent folders created).
    lang : {"fr", "en"}, keyword-only
        Language of headers, labels and explanations.
    rows : int, keyword-only
        Number of rows that get drop-downs and formats.

    Returns
    -------
    Path

    Examples
    --------
    >>> # write_template("saisie.xlsx"); then fill it in Excel and run qsp-eval validate saisie.xlsx
    """
    from .errors import ParameterError

    if lang not in ("fr", "en"):
        raise ParameterError("langue attendue : fr ou en", "expected language: fr or en")
    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".ods"):
        raise ParameterError(f"le modèle doit être un fichier .xlsx ou .ods, pas « {p.name} »",
                             f"the template must be an .xlsx or .ods file, not '{p.name}'")
    p.parent.mkdir(parents=True, exist_ok=True)
    content = _template_content(lang)
    if p.suffix.lower() == ".ods":
        _write_template_ods(p, content, rows)
    else:
        _write_template_xlsx(p, content, rows)
    return p


def _write_template_xlsx(p: Path, c: dict, rows: int) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    fr = c["fr"]
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    wb = Workbook()
    expl = wb.active
    expl.title = c["expl_name"]
    # hidden sheet of drop-down values, one column per vocabulary
    lists = wb.create_sheet(c["lists_name"])
    ranges: dict[str, str] = {}
    for j, (vocab, labels) in enumerate(c["lists"], start=1):
        letter = get_column_letter(j)
        lists.cell(1, j, vocab).font = bold
        for i, lab in enumerate(labels, start=2):
            lists.cell(i, j, lab)
        ranges[vocab] = f"'{lists.title}'!${letter}$2:${letter}${len(labels) + 1}"
    lists.sheet_state = "hidden"
    expl.append(c["expl_heads"])
    for cell in expl[1]:
        cell.font = bold
        cell.fill = head_fill
    for row in c["expl"]:
        expl.append(row)
    for tname, cols in c["tables"]:
        ws = wb.create_sheet(tname)
        ws.append([col["header"] for col in cols])
        for j, col in enumerate(cols, start=1):
            cell = ws.cell(1, j)
            cell.font = bold
            cell.fill = head_fill
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(14, len(col["header"]) + 4)
            area = f"{letter}2:{letter}{rows + 1}"
            if col["kind"] in ("category", "multi") and col["vocabulary"]:
                dv = DataValidation(type="list", formula1=f"={ranges[col['vocabulary']]}",
                                    allow_blank=True)
                if col["kind"] == "multi":
                    dv.showErrorMessage = False
                    dv.promptTitle = col["header"]
                    dv.prompt = ("Plusieurs réponses : séparez-les par « ; »" if fr else
                                 "Several answers: separate them with ';'")
                    dv.showInputMessage = True
                else:
                    dv.error = ("Choisissez une valeur dans la liste" if fr else
                                "Pick a value from the list")
                    dv.errorTitle = col["header"]
                    dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(area)
                ws.column_dimensions[letter].width = max(24, len(col["header"]) + 4)
            elif col["kind"] == "int":
                dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                                    allow_blank=True)
                dv.error = ("Nombre entier positif ou nul" if fr else "Whole number, 0 or more")
                dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(area)
            # column-level formats (no empty cells are created, so the file stays small)
            if col["kind"] == "date":
                ws.column_dimensions[letter].number_format = "DD/MM/YYYY"
            elif col["kind"] in ("text", "id", "month"):
                ws.column_dimensions[letter].number_format = "@"
        ws.freeze_panes = "A2"
    expl.append([])
    for note in c["notes"]:
        expl.append(["", "", "", "", note, "", ""])
    for letter, width in zip("ABCDEFG", (18, 24, 16, 12, 50, 60, 24)):
        expl.column_dimensions[letter].width = width
    for row in expl.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    expl.freeze_panes = "A2"
    ev = wb.create_sheet("evaluation")
    ev.append(c["ev_head"])
    for cell in ev[1]:
        cell.font = bold
        cell.fill = head_fill
    for row in c["ev_rows"]:
        ev.append(row)
    ev.column_dimensions["B"].number_format = "@"
    ev.column_dimensions["A"].width = 20
    ev.column_dimensions["B"].width = 30
    ev.column_dimensions["C"].width = 70
    # sheets order: explanations, tables, evaluation, (hidden) lists
    wb.move_sheet(lists, offset=len(wb.sheetnames))
    wb.save(p)


def _write_template_ods(p: Path, c: dict, rows: int) -> None:
    """The template as a LibreOffice ``.ods`` (odfpy): same sheets, headers, drop-downs."""
    from odf import number as onum
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import (
        Style,
        TableCellProperties,
        TableColumnProperties,
        TableProperties,
        TextProperties,
    )
    from odf.table import (
        ContentValidation,
        ContentValidations,
        ErrorMessage,
        HelpMessage,
        Table,
        TableCell,
        TableColumn,
        TableRow,
    )
    from odf.text import P

    fr = c["fr"]
    doc = OpenDocumentSpreadsheet()
    head = Style(name="qspHead", family="table-cell")
    head.addElement(TableCellProperties(backgroundcolor="#DDEBF7"))
    head.addElement(TextProperties(fontweight="bold"))
    wrap = Style(name="qspWrap", family="table-cell")
    wrap.addElement(TableCellProperties(wrapoption="wrap", verticalalign="top"))
    date_style = onum.DateStyle(name="qspDateFr")
    for part in (onum.Day(style="long"), onum.Text(text="/"), onum.Month(style="long"),
                 onum.Text(text="/"), onum.Year(style="long")):
        date_style.addElement(part)
    text_style = onum.TextStyle(name="qspText")
    text_style.addElement(onum.TextContent())
    doc.automaticstyles.addElement(date_style)
    doc.automaticstyles.addElement(text_style)
    date_cell = Style(name="qspDate", family="table-cell", datastylename="qspDateFr")
    text_cell = Style(name="qspTextCell", family="table-cell", datastylename="qspText")
    hidden = Style(name="qspHidden", family="table")
    hidden.addElement(TableProperties(display="false"))
    for st in (head, wrap, date_cell, text_cell, hidden):
        doc.automaticstyles.addElement(st)
    widths: dict[str, Style] = {}

    def col_style(cm: float) -> Style:
        key = f"qspCol{int(cm * 10)}"
        if key not in widths:
            st = Style(name=key, family="table-column")
            st.addElement(TableColumnProperties(columnwidth=f"{cm:.1f}cm"))
            doc.automaticstyles.addElement(st)
            widths[key] = st
        return widths[key]

    def cell(value, style=None, validation=None):
        kw = {}
        if style is not None:
            kw["stylename"] = style
        if validation is not None:
            kw["contentvalidationname"] = validation
        if value is None or value == "":
            return TableCell(**kw)
        tc = TableCell(valuetype="string", **kw)
        tc.addElement(P(text=str(value)))
        return tc

    def text_row(values, style=None):
        tr = TableRow()
        for v in values:
            tr.addElement(cell(v, style))
        return tr

    lists_name = c["lists_name"]
    validations = ContentValidations()
    cols_letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ranges: dict[str, str] = {}
    for j, (vocab, labels) in enumerate(c["lists"]):
        letter = cols_letters[j]
        ranges[vocab] = f"[${lists_name}.${letter}$2:.${letter}${len(labels) + 1}]"
    tables_xml = []
    n_val = 0
    for tname, cols in c["tables"]:
        t = Table(name=tname)
        for col in cols:
            t.addElement(TableColumn(stylename=col_style(
                max(3.0, 0.25 * len(col["header"]) + 1.0))))
        t.addElement(text_row([col["header"] for col in cols], head))
        tr = TableRow(numberrowsrepeated=rows)
        for col in cols:
            vname = None
            if col["kind"] in ("category", "multi") and col["vocabulary"]:
                n_val += 1
                vname = f"qspList{n_val}"
                cv = ContentValidation(
                    name=vname, condition="of:cell-content-is-in-list("
                    f"{ranges[col['vocabulary']]})", allowemptycell="true",
                    displaylist="unsorted", basecelladdress=f"{tname}.A2")
                if col["kind"] == "multi":
                    hm = HelpMessage(title=col["header"], display="true")
                    hm.addElement(P(text="Plusieurs réponses : séparez-les par « ; »" if fr
                                    else "Several answers: separate them with ';'"))
                    cv.addElement(hm)
                    cv.addElement(ErrorMessage(display="false"))
                else:
                    em = ErrorMessage(title=col["header"], display="true", messagetype="stop")
                    em.addElement(P(text="Choisissez une valeur dans la liste" if fr else
                                    "Pick a value from the list"))
                    cv.addElement(em)
                validations.addElement(cv)
            elif col["kind"] == "int":
                n_val += 1
                vname = f"qspInt{n_val}"
                cv = ContentValidation(
                    name=vname, condition="of:cell-content-is-whole-number() and "
                    "cell-content()>=0", allowemptycell="true", basecelladdress=f"{tname}.A2")
                em = ErrorMessage(title=col["header"], display="true", messagetype="stop")
                em.addElement(P(text="Nombre entier positif ou nul" if fr else
                                "Whole number, 0 or more"))
                cv.addElement(em)
                validations.addElement(cv)
            style = date_cell if col["kind"] == "date" else (
                text_cell if col["kind"] in ("text", "id", "month") else None)
            tr.addElement(cell(None, style, vname))
        t.addElement(tr)
        tables_xml.append(t)
    doc.spreadsheet.addElement(validations)
    expl = Table(name=c["expl_name"])
    for cm in (3.2, 4.5, 3.0, 2.2, 9.0, 10.0, 4.0):
        expl.addElement(TableColumn(stylename=col_style(cm)))
    expl.addElement(text_row(c["expl_heads"], head))
    for row in c["expl"]:
        expl.addElement(text_row(row, wrap))
    expl.addElement(TableRow())
    for note in c["notes"]:
        expl.addElement(text_row(["", "", "", "", note, "", ""], wrap))
    doc.spreadsheet.addElement(expl)
    for t in tables_xml:
        doc.spreadsheet.addElement(t)
    ev = Table(name="evaluation")
    for cm in (4.0, 6.0, 14.0):
        ev.addElement(TableColumn(stylename=col_style(cm)))
    ev.addElement(text_row(c["ev_head"], head))
    for k, v, e in c["ev_rows"]:
        tr = TableRow()
        tr.addElement(cell(k))
        tr.addElement(cell(v, text_cell))
        tr.addElement(cell(e, wrap))
        ev.addElement(tr)
    doc.spreadsheet.addElement(ev)
    lists = Table(name=lists_name, stylename=hidden)
    longest = max(len(labels) for _, labels in c["lists"])
    lists.addElement(text_row([vocab for vocab, _ in c["lists"]], head))
    for i in range(longest):
        lists.addElement(text_row([labels[i] if i < len(labels) else None
                                   for _, labels in c["lists"]]))
    doc.spreadsheet.addElement(lists)
    doc.save(str(p))


# ---------------------------------------------------------------------------
# Report and output files (figures, text, Word, manifests, published tables)
# ---------------------------------------------------------------------------
#: Fixed SVG id salt: a figure saved twice gives byte-identical SVG files.
SVG_HASH_SALT = "qsp-eval"
#: Fixed core dates of every saved Word document, so a rerun writes the same properties.
DOCX_FIXED_DATE = _dt.datetime(2000, 1, 1)


def write_text(text: str, path) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends; create parent folders; return the path.

    Examples
    --------
    >>> import tempfile
    >>> p = write_text("bonjour\\n", Path(tempfile.mkdtemp()) / "a" / "b.md")
    >>> p.read_bytes()
    b'bonjour\\n'
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return p


def read_text_file(path, *, errors: str = "strict") -> str:
    """Return the content of a UTF-8 text file.

    Parameters
    ----------
    path : path-like
    errors : str, keyword-only
        Decoding error handler: ``"strict"`` (default: a byte that is not UTF-8
        raises :class:`UnicodeDecodeError`) or ``"replace"`` (it becomes U+FFFD,
        as the disclosure scanner wants: it must read every file it can).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_bytes(b"caf\\xe9")
    >>> read_text_file(p, errors="replace")
    'caf\\ufffd'
    """
    return Path(path).read_text(encoding="utf-8", errors=errors)


def read_binary(path) -> bytes:
    """Return the bytes of a file (an image to embed, a key file...).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "k"
    >>> _ = p.write_bytes(b"\\x00\\x01")
    >>> read_binary(p)
    b'\\x00\\x01'
    """
    return Path(path).read_bytes()


def write_binary(data: bytes, path) -> Path:
    """Write ``data`` to ``path`` (parents created, file readable by its owner only); return it.

    Used for a workbook received by the local page (:mod:`qsp_eval.app`).

    Examples
    --------
    >>> import tempfile
    >>> p = write_binary(b"PK", Path(tempfile.mkdtemp()) / "in" / "b.xlsx")
    >>> read_binary(p)
    b'PK'
    """
    import os

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return p


#: Names inside a zip that are the archiver's own bookkeeping, never data.
_ZIP_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


def extract_zip(path, dest, *, max_bytes: int, max_files: int = 200,
                display_name: str | None = None) -> list[Path]:
    """Extract a zip archive (a data folder sent as one file) into ``dest``, safely.

    Only regular files are written, each under ``dest``: a member whose name is
    absolute or climbs out with ``..`` is refused, as is an archive holding more
    than ``max_files`` files or more than ``max_bytes`` once uncompressed (counted
    while extracting, not trusted from the archive's header). The archiver's own
    files (``__MACOSX/``, ``.DS_Store``...) are skipped.

    Parameters
    ----------
    path : path-like
        The ``.zip`` file.
    dest : path-like
        Folder to extract into (created).
    max_bytes, max_files : int
        Limits on the uncompressed content.
    display_name : str, optional
        Name used in messages (default: the file's name).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    DataError
        Not a zip archive, encrypted, unsafe member names, or over a limit; with
        a sentence naming the file.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(d / "a.zip", "w") as z:
    ...     z.writestr("data/sessions.csv", "date\\n")
    >>> [p.relative_to(d / "x").as_posix() for p in extract_zip(d / "a.zip", d / "x", max_bytes=100)]
    ['data/sessions.csv']
    """
    import os
    import zipfile

    name = display_name or Path(path).name
    out = Path(dest)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _file_problem(name, "ce fichier .zip est illisible (archive abîmée ou d'un autre format)",
                            "this .zip file cannot be read (damaged archive or another format)"
                            ) from None
    written: list[Path] = []
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir()
                   and not any(j in i.filename for j in _ZIP_JUNK)
                   and not Path(i.filename).name.startswith("._")]
        if len(members) > max_files:
            raise _file_problem(name, f"l'archive contient {len(members)} fichiers : {max_files} au "
                                "plus sont acceptés (ne compressez que le dossier des données)",
                                f"the archive holds {len(members)} files: at most {max_files} are "
                                "accepted (compress only the data folder)")
        total = 0
        for info in members:
            parts = Path(info.filename.replace("\\", "/")).parts
            if (info.filename.startswith(("/", "\\")) or ".." in parts or not parts
                    or ":" in parts[0]):
                raise _file_problem(name, f"nom de fichier refusé dans l'archive : « {info.filename} »",
                                    f"file name refused in the archive: '{info.filename}'")
            if info.flag_bits & 0x1:
                raise _file_problem(name, "l'archive est protégée par un mot de passe : "
                                    "compressez le dossier sans mot de passe",
                                    "the archive is password-protected: compress the folder "
                                    "without a password")
            target = out.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh, zf.open(info) as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    total += len(chunk)
                    if total > max_bytes:
                        raise _file_problem(
                            name, f"une fois décompressée, l'archive dépasse "
                            f"{max_bytes / 1e6:.0f} Mo : ce n'est pas un dossier de données",
                            f"once uncompressed, the archive is over {max_bytes / 1e6:.0f} MB: "
                            "it is not a data folder")
                    fh.write(chunk)
            written.append(target)
    return written


def write_zip(folder, path, *, root: str = "") -> Path:
    """Write every file under ``folder`` into the zip archive ``path``; return it.

    Members are in name order, paths relative to ``folder`` (under ``root/``
    when ``root`` is given), compressed with deflate.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = write_text("x", d / "r" / "report.html")
    >>> zipfile.ZipFile(write_zip(d / "r", d / "r.zip", root="rapport")).namelist()
    ['rapport/report.html']
    """
    import zipfile

    src = Path(folder)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{root.strip('/')}/" if root else ""
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(q for q in src.rglob("*") if q.is_file()):
            zf.write(f, prefix + f.relative_to(src).as_posix())
    return p


def read_json(path):
    """Return the object held in a UTF-8 JSON file.

    Raises :class:`ValueError` (a :class:`json.JSONDecodeError` or
    :class:`UnicodeDecodeError`) when the file is not valid UTF-8 JSON, and
    :class:`OSError` when it cannot be read; callers decide what that means.

    Examples
    --------
    >>> import tempfile
    >>> p = write_json({"b": 1, "a": [2]}, Path(tempfile.mkdtemp()) / "m.json")
    >>> read_json(p)
    {'a': [2], 'b': 1}
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))


def file_sha256(path) -> str:
    """Return the SHA-256 of a file's bytes as 64 lowercase hex digits (read by 1 MiB chunks).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "e"
    >>> _ = p.write_bytes(b"")
    >>> file_sha256(p)[:16]  # SHA-256 of the empty string (FIPS 180-4 test vector)
    'e3b0c44298fc1c14'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_figure(fig, path_stem, *, dpi: int = 150) -> list[Path]:
    """Save a Matplotlib figure (or the figure of an Axes) as PNG and SVG.

    Writes ``<path_stem>.png`` (``dpi``, white background, no "Software"
    metadata) and ``<path_stem>.svg`` (no creation date or creator, and element
    ids drawn with the fixed salt :data:`SVG_HASH_SALT`, so a rerun gives the
    same file byte for byte). Parent folders are created.

    Returns
    -------
    list of Path
        The PNG and SVG paths.

    Examples
    --------
    >>> # save_figure(ax, "outputs/figures/attendance_by_year")
    """
    import matplotlib

    fig = getattr(fig, "figure", fig)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = stem.with_name(stem.name + ".png")
    svg = stem.with_name(stem.name + ".svg")
    fig.savefig(png, dpi=dpi, facecolor="white", metadata={"Software": None})
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        fig.savefig(svg, facecolor="white", metadata={"Date": None, "Creator": None})
    return [png, svg]


def write_docx(document, path) -> Path:
    """Save a python-docx ``Document`` to ``path`` (parents created); return the path.

    The document's core dates (created, modified, last printed) are first set to
    :data:`DOCX_FIXED_DATE`, so that a rerun writes the same properties.

    Examples
    --------
    >>> # write_docx(docx.Document(), "outputs/writeup.fr.docx")
    """
    try:
        document.core_properties.created = DOCX_FIXED_DATE
        document.core_properties.modified = DOCX_FIXED_DATE
        document.core_properties.last_printed = DOCX_FIXED_DATE
    except (AttributeError, ValueError):  # pragma: no cover - older python-docx
        pass
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(p))
    return p


def read_docx(path):
    """Open a ``.docx`` file and return its python-docx ``Document`` (for reading).

    Examples
    --------
    >>> # doc = read_docx("outputs/writeup.fr.docx"); [p.text for p in doc.paragraphs]
    """
    import docx

    return docx.Document(str(path))


def read_published_tables(folder) -> dict:
    """Return ``{stem: DataFrame}`` for every ``tables/*.csv`` of a report folder.

    Read with :func:`pandas.read_csv` defaults (comma-separated UTF-8, header
    row; numbers come back as numbers since the write-up computes with them;
    empty cells are NA); sorted by name; ``{}`` when there is no ``tables/``.

    Examples
    --------
    >>> import tempfile
    >>> read_published_tables(tempfile.mkdtemp())
    {}
    """
    import pandas as pd

    tdir = Path(folder) / "tables"
    if not tdir.is_dir():
        return {}
    return {p.stem: pd.read_csv(p) for p in sorted(tdir.glob("*.csv"))}


def read_output_table(path):
    """Read a ``.csv``/``.tsv`` or ``.parquet`` output file for the disclosure scanner.

    CSV/TSV: the delimiter is sniffed, UTF-8 (byte-order mark allowed) is tried
    first, then Windows-1252; every cell is a ``str`` and empty cells are
    ``""`` (nothing is turned into NA). A file whose delimiter cannot be
    sniffed (an empty file, for one) raises :class:`csv.Error`.
    Parquet: the columns keep their stored types (missing values stay NA).
    The index is a plain range.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("groupe;n\\nfemme trans;3\\n".encode("cp1252"))
    >>> read_output_table(p).to_dict("records")
    [{'groupe': 'femme trans', 'n': '3'}]
    """
    import pandas as pd

    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    last = None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(p, sep=None, engine="python", dtype=str, encoding=enc,
                               keep_default_na=False)
        except UnicodeDecodeError as exc:
            last = exc
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
    raise last  # pragma: no cover - cp1252 decodes almost any byte


def read_output_workbook(path) -> dict:
    """Read every sheet of an ``.xlsx``/``.xlsm`` output file, values only.

    Returns
    -------
    dict[str, list[tuple]]
        Sheet title -> its rows in order, each a tuple of the cells' stored
        values (formulas give their cached value; empty cells are ``None``).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> p = write_tables_xlsx({"t": pd.DataFrame({"n": [3]})}, Path(tempfile.mkdtemp()) / "w.xlsx")
    >>> read_output_workbook(p)
    {'t': [('n',), (3,)]}
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    finally:
        wb.close()


def read_notebook(path):
    """Read a Jupyter notebook file (nbformat 4) and return its ``NotebookNode``.

    Examples
    --------
    >>> # nb = read_notebook("outputs/example/notebooks/01-attendance.ipynb"); len(nb.cells)
    """
    import nbformat

    return nbformat.read(str(path), as_version=4)
