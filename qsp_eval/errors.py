"""The project's own exceptions.

Every error a user can cause (bad data, bad parameters, an output that would
disclose a person) is raised as a subclass of :class:`QspError`, carrying a
message a coordinator can act on.  The command line turns them into a short
message and exit status 2, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "QspError", "DataError", "ParameterError", "DisclosureError"]


@dataclass(frozen=True)
class Problem:
    """One problem found in the input data.

    Attributes
    ----------
    file : str
        File name (with the sheet as ``"book.xlsx[visits]"`` for workbooks).
    row : int or None
        Row number *as a spreadsheet shows it* (header is row 1, first data
        row is row 2); ``None`` for file- or column-level problems.
    column : str or None
        Column name as written in the file.
    value : str or None
        The offending value, already made safe to print (identifying values
        are never echoed: the loader passes a placeholder instead).
    message_fr, message_en : str
        What is wrong and what was expected, in French and English.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message_fr: str
    message_en: str

    def format(self, lang: str = "fr") -> str:
        """Return a one-line description, e.g. ``visits.csv, ligne 14, colonne « gender » : ...``."""
        where = [self.file]
        if self.row is not None:
            where.append(f"ligne {self.row}" if lang == "fr" else f"row {self.row}")
        if self.column is not None:
            where.append(
                f"colonne « {self.column} »" if lang == "fr" else f"column '{self.column}'"
            )
        head = ", ".join(where)
        msg = self.message_fr if lang == "fr" else self.message_en
        if self.value is not None:
            val = f"valeur « {self.value} »" if lang == "fr" else f"value '{self.value}'"
            return f"{head} : {val} : {msg}" if lang == "fr" else f"{head}: {val}: {msg}"
        return f"{head} : {msg}" if lang == "fr" else f"{head}: {msg}"


class QspError(Exception):
    """Base class of every error the user can cause; the CLI exits 2 on it.

    Parameters
    ----------
    message_fr, message_en : str
        The message in French and in English (English defaults to French).
    """

    def __init__(self, message_fr: str, message_en: str | None = None):
        self.message_fr = message_fr
        self.message_en = message_en if message_en is not None else message_fr
        super().__init__(self.message_en)

    def format(self, lang: str = "fr") -> str:
        """Return the message in ``lang`` ("fr" or "en")."""
        return self.message_fr if lang == "fr" else self.message_en


class DataError(QspError):
    """The input data breaks the data contract.

    Carries **all** the problems found (not just the first) in ``problems``.
    """

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        fr = f"{n} problème(s) dans les données :\n" + "\n".join(
            "  - " + p.format("fr") for p in self.problems
        )
        en = f"{n} problem(s) in the data:\n" + "\n".join(
            "  - " + p.format("en") for p in self.problems
        )
        super().__init__(fr, en)


class ParameterError(QspError):
    """A parameter or option given by the user is wrong (unknown name, wrong type, bad date)."""


class DisclosureError(QspError):
    """An output would disclose information about a person and was refused."""
