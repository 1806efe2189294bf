"""Reading and writing data files: the only module that touches the file system for data.

(Owned by the io/validation work; this first version holds only the writers
that other modules need.)
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["write_source", "write_json", "load_source"]


def write_source(tables: dict, evaluation: dict, out_dir, *, fmt: str = "csv", extra_json: dict | None = None) -> list[Path]:
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


def load_source(path, *, key: bytes | None = None):
    """Load and validate a data source (folder or workbook); see the data contract."""
    raise NotImplementedError("load_source is being written")
