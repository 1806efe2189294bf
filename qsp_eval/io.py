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
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
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
        if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0):
            return v.strftime("%Y-%m-%d")
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.strftime("%Y-%m-%d")
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


def _rows_to_frame(rows: list[list], file: str):
    """Header row + data rows -> string DataFrame indexed by spreadsheet row."""
    import pandas as pd

    rows = [[_cell_to_str(c) for c in r] for r in rows]
    # the header is the first non-empty row (leading empty rows are tolerated)
    first = 0
    while first < len(rows) and not any(c.strip() for c in rows[first]):
        first += 1
    if first == len(rows):
        df = pd.DataFrame({})
        df.index.name = ROW_INDEX_NAME
        return df
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


def _read_csv(path: Path, file: str):
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
    return _rows_to_frame(rows, file)


def _find_sheet(names: list[str], sheet: str) -> str | None:
    for n in names:
        if n == sheet:
            return n
    for n in names:
        if n.strip().lower() == sheet.strip().lower():
            return n
    return None


def _read_xlsx(path: Path, file: str, sheet: str | None):
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise _file_problem(
            file,
            f"classeur Excel illisible ({type(exc).__name__}) : enregistrez-le au format .xlsx",
            f"unreadable Excel workbook ({type(exc).__name__}): save it as .xlsx",
        ) from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        else:
            name = _find_sheet(wb.sheetnames, sheet)
            if name is None:
                raise _file_problem(
                    file, f"pas de feuille « {sheet} » dans ce classeur",
                    f"no sheet '{sheet}' in this workbook")
            ws = wb[name]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    return _rows_to_frame(rows, file)


def _read_parquet(path: Path, file: str):
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds
        raise _file_problem(file, f"fichier Parquet illisible ({type(exc).__name__})",
                            f"unreadable Parquet file ({type(exc).__name__})") from None
    rows = [[str(c) for c in df.columns]] + df.astype(object).values.tolist()
    return _rows_to_frame(rows, file)


def read_table_file(path, *, sheet: str | None = None, display_name: str | None = None):
    """Read one CSV, XLSX (one sheet) or Parquet file into a DataFrame of strings.

    Survives files saved by French Excel or LibreOffice: the delimiter
    (``;``, ``,`` or tab) is sniffed from the header line; the encoding is
    UTF-8 (with or without byte-order mark), else Windows-1252; header names
    are stripped of stray spaces; fully empty rows and columns without a
    header are dropped. XLSX date cells become ``YYYY-MM-DD``, whole numbers
    lose their ``.0``, booleans become ``yes``/``no``.

    Parameters
    ----------
    path : path-like
        ``.csv`` (or ``.txt``), ``.xlsx``/``.xlsm`` or ``.parquet`` file.
    sheet : str, optional
        Sheet of a workbook (case-insensitive); default the first sheet.
    display_name : str, optional
        Name used in messages (default: the file name, plus ``[sheet]``).

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
            return _read_csv(p, file)
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(p, file, sheet)
        if suffix == ".parquet":
            return _read_parquet(p, file)
    except OSError as exc:
        raise _file_problem(file, f"lecture impossible ({exc.strerror})",
                            f"cannot read the file ({exc.strerror})") from None
    if suffix == ".xls":
        raise _file_problem(file, "ancien format Excel .xls : enregistrez le fichier en .xlsx",
                            "old Excel .xls format: save the file as .xlsx")
    raise _file_problem(
        file, f"format non pris en charge « {suffix} » (attendu : .csv, .xlsx ou .parquet)",
        f"unsupported format '{suffix}' (expected .csv, .xlsx or .parquet)")


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


def read_source(path) -> tuple[dict, dict | None, dict, list[Path], list[str]]:
    """Read a data source's raw tables without validating them.

    Parameters
    ----------
    path : path-like
        A folder (one file per table, ``.csv``/``.xlsx``/``.parquet``, plus
        ``evaluation.yml``) or one ``.xlsx`` workbook (one sheet per table;
        ``evaluation.yml`` beside it, or else a sheet ``evaluation`` of
        ``key``/``value`` rows with dotted keys such as ``change.start``).

    Returns
    -------
    tuple
        ``(raw, evaluation, files, paths, notices)``: table name -> string
        DataFrame (see :func:`read_table_file`); the evaluation dict (None
        if absent); table name -> display name; the files read (for the
        checksum); notices (plain strings, French).

    Examples
    --------
    >>> # raw, evaluation, files, paths, notices = read_source("data/example")
    """
    from .schema import TABLES

    p = Path(path).expanduser()
    raw: dict = {}
    files: dict[str, str] = {}
    paths: list[Path] = []
    evaluation = None
    problems: list[Problem] = []
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
            if found:
                try:
                    raw[table] = read_table_file(found[0])
                except DataError as exc:
                    problems.extend(exc.problems)
                    continue
                files[table] = found[0].name
                paths.append(found[0])
        ev = next((entries[n] for n in _EVALUATION_NAMES if n in entries), None)
        if ev is not None:
            files["evaluation"] = ev.name
            try:
                evaluation = read_evaluation_file(ev)
            except DataError as exc:
                problems.extend(exc.problems)
            paths.append(ev)
    elif p.is_file() and p.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(p, read_only=True)
            sheetnames = list(wb.sheetnames)
            wb.close()
        except Exception:  # noqa: BLE001 - any failure means unreadable
            raise _file_problem(p.name, "classeur Excel illisible : enregistrez-le au format .xlsx",
                                "unreadable Excel workbook: save it as .xlsx") from None
        paths.append(p)
        for table in TABLES:
            name = _find_sheet(sheetnames, table)
            if name is None:
                continue
            disp = f"{p.name}[{name}]"
            try:
                raw[table] = read_table_file(p, sheet=name, display_name=disp)
            except DataError as exc:
                problems.extend(exc.problems)
                continue
            files[table] = disp
        ev = next((p.parent / n for n in _EVALUATION_NAMES if (p.parent / n).is_file()), None)
        if ev is not None:
            files["evaluation"] = ev.name
            try:
                evaluation = read_evaluation_file(ev)
            except DataError as exc:
                problems.extend(exc.problems)
            paths.append(ev)
        elif _find_sheet(sheetnames, _EVALUATION_SHEET) is not None:
            name = _find_sheet(sheetnames, _EVALUATION_SHEET)
            disp = f"{p.name}[{name}]"
            files["evaluation"] = disp
            try:
                sheet = read_table_file(p, sheet=name, display_name=disp)
                evaluation = _evaluation_from_sheet(sheet, disp) if len(sheet.columns) else {}
            except DataError as exc:
                problems.extend(exc.problems)
    elif not p.exists():
        raise _file_problem(str(p), "source de données introuvable (dossier ou classeur .xlsx)",
                            "data source not found (folder or .xlsx workbook)")
    else:
        raise _file_problem(
            p.name,
            "une source de données est un dossier (sessions.csv, visits.csv..., evaluation.yml) "
            "ou un classeur .xlsx avec une feuille par table",
            "a data source is a folder (sessions.csv, visits.csv..., evaluation.yml) or an "
            ".xlsx workbook with one sheet per table")
    if problems:
        raise DataError(problems)
    return raw, evaluation, files, paths, []


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
    if evaluation is None:
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


def write_tables_xlsx(tables: dict, path) -> Path:
    """Write several tables to one ``.xlsx`` workbook, one sheet per table.

    Sheet names are the dict keys (cut to Excel's 31 characters); the index
    is not written; the header row is bold and frozen.

    Examples
    --------
    >>> # write_tables_xlsx({"sessions": s, "visits": v}, "out/tables.xlsx")
    """
    import pandas as pd
    from openpyxl.styles import Font

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        for name, df in tables.items():
            sname = str(name)[:31]
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                    out[c] = out[c].dt.tz_localize(None)
            out.to_excel(xw, sheet_name=sname, index=False)
            ws = xw.sheets[sname]
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
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


def write_template(path, *, lang: str = "fr", rows: int = 1000) -> Path:
    """Write the empty data-entry workbook for coordinators (``.xlsx``).

    One sheet per table of the contract (sheet names and column headers are
    the contract's names, so a filled copy loads without change), with
    drop-down lists of the labels (French, or English with ``lang="en"``)
    for every coded column, whole-number checks on count columns and
    ``jj/mm/aaaa`` date formats; a first sheet ``explications``
    (``explanations``) with one row per column (table, column, required?,
    meaning, allowed values, example); a sheet ``evaluation`` of key/value
    rows standing for ``evaluation.yml``; and a hidden sheet ``listes``
    holding the drop-down values.

    Parameters
    ----------
    path : path-like
        Destination ``.xlsx`` (parent folders created).
    lang : {"fr", "en"}, keyword-only
        Language of labels and explanations.
    rows : int, keyword-only
        Number of rows that get drop-downs and formats.

    Returns
    -------
    Path

    Examples
    --------
    >>> # write_template("saisie.xlsx"); then fill it in Excel and run qsp-eval validate saisie.xlsx
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .errors import ParameterError
    from .schema import TABLES, VOCABULARIES

    if lang not in ("fr", "en"):
        raise ParameterError("langue attendue : fr ou en", "expected language: fr or en")
    fr = lang == "fr"
    p = Path(path)
    if p.suffix.lower() != ".xlsx":
        raise ParameterError(f"le modèle doit être un fichier .xlsx, pas « {p.name} »",
                             f"the template must be an .xlsx file, not '{p.name}'")
    p.parent.mkdir(parents=True, exist_ok=True)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    wb = Workbook()
    expl = wb.active
    expl.title = "explications" if fr else "explanations"
    # hidden sheet of drop-down values, one column per vocabulary
    lists = wb.create_sheet("listes" if fr else "lists")
    ranges: dict[str, str] = {}
    for j, (vocab, codes) in enumerate(VOCABULARIES.items(), start=1):
        letter = get_column_letter(j)
        lists.cell(1, j, vocab).font = bold
        for i, (fr_lab, en_lab) in enumerate(codes.values(), start=2):
            lists.cell(i, j, fr_lab if fr else en_lab)
        ranges[vocab] = f"'{lists.title}'!${letter}$2:${letter}${len(codes) + 1}"
    lists.sheet_state = "hidden"

    heads = (("table", "colonne", "obligatoire ?", "signification", "valeurs permises",
              "exemple") if fr else
             ("table", "column", "required?", "meaning", "allowed values", "example"))
    expl.append(list(heads))
    for c in expl[1]:
        c.font = bold
        c.fill = head_fill
    for tname, spec in TABLES.items():
        ws = wb.create_sheet(tname)
        ws.append(list(spec.names))
        for j, col in enumerate(spec.columns, start=1):
            cell = ws.cell(1, j)
            cell.font = bold
            cell.fill = head_fill
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(14, len(col.name) + 4)
            area = f"{letter}2:{letter}{rows + 1}"
            desc = col.description_fr if fr else col.description_en
            if col.kind in ("category", "multi") and col.vocabulary:
                dv = DataValidation(type="list", formula1=f"={ranges[col.vocabulary]}",
                                    allow_blank=True)
                if col.kind == "multi":
                    dv.showErrorMessage = False
                    dv.promptTitle = col.name
                    dv.prompt = ("Plusieurs réponses : séparez-les par « ; »" if fr else
                                 "Several answers: separate them with ';'")
                    dv.showInputMessage = True
                else:
                    dv.error = ("Choisissez une valeur dans la liste" if fr else
                                "Pick a value from the list")
                    dv.errorTitle = col.name
                    dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(area)
                ws.column_dimensions[letter].width = 24
            elif col.kind == "int":
                dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                                    allow_blank=True)
                dv.error = ("Nombre entier positif ou nul" if fr else "Whole number, 0 or more")
                dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(area)
            # column-level formats (no empty cells are created, so the file stays small)
            if col.kind == "date":
                ws.column_dimensions[letter].number_format = "DD/MM/YYYY"
            elif col.kind in ("text", "id", "month"):
                ws.column_dimensions[letter].number_format = "@"
            # explanation row
            if col.vocabulary:
                allowed = "; ".join(v[0] if fr else v[1] for v in VOCABULARIES[col.vocabulary]
                                    .values())
            else:
                allowed = {
                    "date": "jj/mm/aaaa" if fr else "dd/mm/yyyy",
                    "month": "AAAA-MM" if fr else "YYYY-MM",
                    "int": "0, 1, 2..." if fr else "0, 1, 2...",
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
            expl.append([tname, col.name, ("oui" if fr else "yes") if required else
                         ("non" if fr else "no"), desc, allowed,
                         str(spec.example.get(col.name, ""))])
        ws.freeze_panes = "A2"
    notes = (
        [("", "", "", "Aucune donnée identifiante : pas de nom, prénom, téléphone, e-mail, "
          "adresse, date de naissance ni numéro de sécurité sociale (le fichier serait refusé).",
          "", ""),
         ("", "", "", "visits : une ligne par passage ; session_id OU date pour relier le passage "
          "à sa permanence. Colonne « age » possible à la place de age_band (convertie puis "
          "effacée).", "", ""),
         ("", "", "", "Les permanences tenues sans aucun passage restent des données : gardez "
          "leur ligne dans sessions.", "", ""),
         ("", "", "", "Vérifiez le fichier avec : qsp-eval validate CE_FICHIER.xlsx", "", "")]
        if fr else
        [("", "", "", "No identifying data: no name, phone number, e-mail, address, date of "
          "birth or social security number (the file would be refused).", "", ""),
         ("", "", "", "visits: one row per visit; session_id OR date links it to its session. "
          "An 'age' column may replace age_band (banded then discarded).", "", ""),
         ("", "", "", "Held sessions with no visit are data too: keep their row in sessions.",
          "", ""),
         ("", "", "", "Check the file with: qsp-eval validate THIS_FILE.xlsx", "", "")]
    )
    expl.append([])
    for r in notes:
        expl.append(list(r))
    for letter, width in zip("ABCDEF", (18, 16, 12, 50, 60, 24)):
        expl.column_dimensions[letter].width = width
    for row in expl.iter_rows(min_row=2):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    expl.freeze_panes = "A2"
    ev = wb.create_sheet("evaluation")
    ev.append(["key", "value", "explication" if fr else "explanation"])
    for c in ev[1]:
        c.font = bold
        c.fill = head_fill
    for k, efr, een in _EVALUATION_TEMPLATE_ROWS:
        value = lang if k == "language" else ("default" if k == "disclosure.preset" else None)
        ev.append([k, value, efr if fr else een])
    ev.column_dimensions["B"].number_format = "@"
    ev.column_dimensions["A"].width = 20
    ev.column_dimensions["B"].width = 30
    ev.column_dimensions["C"].width = 70
    # sheets order: explanations, tables, evaluation, (hidden) lists
    wb.move_sheet(lists, offset=len(wb.sheetnames))
    wb.save(p)
    return p


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
