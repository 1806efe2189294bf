"""Privacy on load: identifier detection, keyed pseudonymisation and key handling.

The data describe LGBTQI+ people who use drugs: a leak is a real harm. This
module decides

- which column *names* announce a direct identifier (names, e-mail, phone,
  address, date of birth, social security number) or free text (notes,
  comments), see :func:`identifier_column_kind` and :func:`is_free_text_column`;
- which cell *contents* look like a direct identifier (e-mail address, French
  or international phone number, French NIR, full date of birth, postal
  address), see :func:`detect_identifier`;
- how visitor codes become pseudonyms (HMAC-SHA256 under a key), see
  :func:`pseudonymise`, and where the key comes from, see :func:`resolve_key`.

Identifying values are never echoed: messages use :data:`MASK` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from datetime import date
from pathlib import Path

from .errors import ParameterError
from .schema import normalise_label

__all__ = [
    "MASK",
    "KEY_ENV",
    "IDENTIFIER_KINDS",
    "identifier_column_kind",
    "is_free_text_column",
    "detect_identifier",
    "safe_value",
    "scrub_message",
    "pseudonymise",
    "resolve_key",
    "resolve_key_with_origin",
]

#: Placeholder printed instead of a value that looks identifying.
MASK = "(valeur masquée)"

#: Environment variable holding the pseudonymisation key.
KEY_ENV = "QSP_PSEUDONYM_KEY"

_MIN_KEY_LENGTH = 16

#: Kinds of identifiers, with their French and English names.
IDENTIFIER_KINDS: dict[str, tuple[str, str]] = {
    "name": ("nom ou prénom", "name"),
    "email": ("adresse e-mail", "e-mail address"),
    "phone": ("numéro de téléphone", "phone number"),
    "address": ("adresse postale", "postal address"),
    "birth_date": ("date de naissance", "date of birth"),
    "nir": ("numéro de sécurité sociale", "social security number"),
}

# ---------------------------------------------------------------------------
# Column names
# ---------------------------------------------------------------------------
# single words (normalised: lower case, no accents) announcing an identifier
_ID_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ["nom", "noms", "prenom", "prenoms", "name", "names", "surname", "firstname",
         "lastname", "fullname", "username", "patronyme", "nomprenom"], "name"),
    **dict.fromkeys(["email", "emails", "mail", "mails", "courriel", "courriels", "mel"],
                    "email"),
    **dict.fromkeys(["telephone", "tel", "phone", "portable", "cellulaire", "gsm",
                     "telephones", "phones", "mobile phone"], "phone"),
    **dict.fromkeys(["adresse", "address", "adresses", "addresses", "domicile", "postcode",
                     "zipcode", "street"], "address"),
    **dict.fromkeys(["naissance", "birth", "birthdate", "birthday", "dob", "ddn",
                     "datenaissance", "anniversaire"], "birth_date"),
    **dict.fromkeys(["nir", "secu", "ssn", "insee", "securite"], "nir"),
}
# multi-word phrases (checked on the normalised name with spaces)
_ID_PHRASES: dict[str, str] = {
    "code postal": "address",
    "zip code": "address",
    "post code": "address",
    "e mail": "email",
    "numero de securite sociale": "nir",
    "securite sociale": "nir",
    "social security": "nir",
}
_FREE_TEXT_WORDS = frozenset({
    "note", "notes", "comment", "comments", "commentaire", "commentaires", "remarque",
    "remarques", "remark", "remarks", "observation", "observations", "verbatim",
    "precision", "precisions", "detail", "details", "libre", "freetext", "texte",
})


def _words(column: str) -> list[str]:
    return normalise_label(column).replace("'", " ").split()


def identifier_column_kind(column: object) -> str | None:
    """Return the identifier kind a column name announces, or ``None``.

    The name is normalised (lower case, no accents, ``_ - . /`` as spaces) and
    checked word by word against French and English names of direct
    identifiers (nom, prénom, name, e-mail/mail/courriel, téléphone/tel/phone/
    portable, adresse/address/code postal, date de naissance/birth/dob/ddn,
    NIR/sécu/SSN).

    Examples
    --------
    >>> identifier_column_kind("Prénom")
    'name'
    >>> identifier_column_kind("date_de_naissance")
    'birth_date'
    >>> identifier_column_kind("visitor_code") is None
    True
    """
    norm = " ".join(_words(str(column)))
    for phrase, kind in _ID_PHRASES.items():
        if f" {phrase} " in f" {norm} ":
            return kind
    for w in norm.split():
        if w in _ID_WORDS:
            return _ID_WORDS[w]
    return None


def is_free_text_column(column: object) -> bool:
    """True when a column name announces free text (notes, comments, remarks...).

    Examples
    --------
    >>> is_free_text_column("Commentaires")
    True
    >>> is_free_text_column("theme")
    False
    """
    words = _words(str(column))
    if "texte libre" in " ".join(words) or "free text" in " ".join(words):
        return True
    return any(w in _FREE_TEXT_WORDS for w in words)


# ---------------------------------------------------------------------------
# Cell contents
# ---------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_SEP = r"[ .\-]?"
_PHONE_FR = re.compile(rf"(?<![\d])(?:0|(?:\+|00)\s?33\s?(?:\(0\))?\s?)[1-9](?:{_SEP}\d{{2}}){{4}}(?!\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}[ .\-]?(?:\d[ .\-]?){6,13}\d(?!\d)")
_NIR = re.compile(
    r"(?<![\dA-Za-z])[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?"
    r"\d{3}[ .]?\d{3}(?:[ .]?\d{2})?(?![\dA-Za-z])",
    re.IGNORECASE,
)
# Postal addresses: number, optional bis/ter, a *singular* street type, then a name.
# Types that are also everyday words in report prose ("1 passage", "3 cours de yoga",
# "1 route de distribution", "1 place libre", "voie injectable") need a proper name after
# them: a capitalised word, possibly after a particle ("passage Brady", "route de Lyon",
# "place du 8 Mai"). Unambiguous types (rue, avenue, boulevard...) need any name word.
_UPPER = r"(?-i:[A-ZÀ-ÖØ-Þ])"
_PARTICLE = r"(?:(?:de|du|des|la|le|les|of|the)[ \t]+|[dl]['’][ \t]?){0,2}"
# (each stretch of blanks can be matched one way only: no catastrophic backtracking on
# cells full of spaces)
_NUMBER = r"(?<![\w,.])\d{1,4}(?:[ \t]*(?:bis|ter|quater|[a-d])\b)?(?:[ \t]*,[ \t]*|[ \t]+)"
_STREET = re.compile(
    _NUMBER
    + r"(?:(?:rue|avenue|boulevard|impasse|all[ée]e|quai|street|lane)\b"
    r"|(?:av|ave|bd|bld|blvd)\b\.?)"
    r"[ \t]+(?:[dl]['’])?[^\W\d_]{2,}"
    r"|" + _NUMBER
    + r"(?:(?:place|chemin|route|cours|passage|square|cit[ée]|r[ée]sidence|villa|voie|"
    r"road|drive|hameau|lotissement|parvis|promenade|esplanade|sentier|mont[ée]e)\b"
    r"|(?:st|rd)\b\.?)"
    rf"[ \t]+{_PARTICLE}(?:\d{{1,2}}[ \t]+)?{_UPPER}[^\W\d_]",
    re.IGNORECASE,
)
# English order: "221B Baker Street", "10 Downing St"
_STREET_EN = re.compile(
    r"(?<![\w,.])\d{1,4}[A-Za-z]?[ \t]+(?:[A-Z][a-z]+[ \t]+){1,3}"
    r"(?:Street|St|Road|Rd|Lane|Avenue|Ave|Drive|Boulevard|Blvd)\b"
)
_POSTCODE_TOWN = re.compile(
    r"(?<!\d)(?:0[1-9]|[1-8]\d|9[0-8])\d{3}\s+(?:[Cc][Ee][Dd][Ee][Xx]\s+)?"
    r"[A-ZÀ-Ý][A-Za-zÀ-ÿ'\-]{2,}"
)
_FULL_DATE = re.compile(
    r"(?<!\d)(?:(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2}))(?!\d)"
)


def _birth_date_like(text: str, today: date) -> bool:
    for m in _FULL_DATE.finditer(text):
        if m.group("y"):
            y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        else:
            y, mo, d = int(m.group("y2")), int(m.group("m2")), int(m.group("d2"))
        try:
            dt = date(y, mo, d)
        except ValueError:
            continue
        # an adult's date of birth: 1900 .. today - 18 years
        if 1900 <= dt.year and dt <= date(today.year - 18, today.month, min(today.day, 28)):
            return True
    return False


def detect_identifier(value: object, *, dates: bool = True, today: date | None = None) -> str | None:
    """Return the kind of direct identifier a cell seems to hold, or ``None``.

    Detected: e-mail addresses; French phone numbers (``06 12 34 56 78``
    with spaces, dots or dashes, ``+33 6 ...``, ``0033 ...``) and
    international ones (``+44 ...``); French social security numbers (NIR,
    13 or 15 digits starting with 1 or 2); postal addresses (``12 rue ...``,
    ``avenue``, ``boulevard``..., or a 5-digit postcode followed by a town);
    and, when ``dates`` is true, full dates that could be an adult's date of
    birth (a day-month-year date between 1900 and 18 years before ``today``).
    Session dates (recent) and counts never match.

    Parameters
    ----------
    value : object
        The cell (converted with ``str``); missing values return ``None``.
    dates : bool, keyword-only
        Look for dates of birth too (switch off for the session-date columns).
    today : datetime.date, optional
        Reference day for the date-of-birth rule (default: today).

    Examples
    --------
    >>> detect_identifier("06 12 34 56 78")
    'phone'
    >>> detect_identifier("17/05/2023") is None
    True
    >>> detect_identifier("12 rue des Lilas")
    'address'
    >>> detect_identifier("1 passage, 3 cours de sophrologie") is None
    True
    """
    if value is None:
        return None
    text = str(value).strip()
    if len(text) < 5:
        return None
    if "@" in text and _EMAIL.search(text):
        return "email"
    if _PHONE_FR.search(text):
        return "phone"
    if _NIR.search(text):
        return "nir"
    if _PHONE_INTL.search(text):
        return "phone"
    if _STREET.search(text) or _STREET_EN.search(text) or _POSTCODE_TOWN.search(text):
        return "address"
    if dates and _birth_date_like(text, today or date.today()):
        return "birth_date"
    return None


_PROSE_WORDS = 4


def _is_vocabulary_label(text: str) -> bool:
    from .schema import VOCABULARIES

    norm = normalise_label(text)
    return any(norm in (normalise_label(code), normalise_label(fr), normalise_label(en))
               for vocab in VOCABULARIES.values() for code, (fr, en) in vocab.items())


def safe_value(value: object, *, limit: int = 60, dates: bool = True,
               today: date | None = None) -> str:
    """Return ``value`` made safe to print in a message.

    A value that looks identifying (see :func:`detect_identifier`) becomes
    :data:`MASK`, and so does a value that reads like a sentence (four words or
    more, unless it is a label of a vocabulary): free text typed in a coded
    column may name or describe a person in ways no pattern detects; long values
    are cut to ``limit`` characters.

    Examples
    --------
    >>> safe_value("Femme tran")
    'Femme tran'
    >>> safe_value("marie@example.org")
    '(valeur masquée)'
    >>> safe_value("Je suis Camille Durand")
    '(valeur masquée)'
    >>> safe_value("55 ans et plus")
    '55 ans et plus'
    """
    text = "" if value is None else str(value)
    if detect_identifier(text, dates=dates, today=today) is not None:
        return MASK
    if len(text.split()) >= _PROSE_WORDS and not _is_vocabulary_label(text):
        return MASK
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


_PSEUDONYM_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{16}(?![0-9A-Za-z])")


def scrub_message(text: object, *, limit: int = 300) -> str:
    """Make the text of an unexpected error safe to print or to paste in an e-mail.

    An unexpected error (a bug) may quote data: pandas lists index values,
    a ``KeyError`` shows the key. Pseudonym-like tokens (16 lowercase
    hexadecimal characters) become :data:`MASK`; a message holding anything
    :func:`detect_identifier` finds is replaced by :data:`MASK` whole; the
    rest is cut to ``limit`` characters.

    Examples
    --------
    >>> scrub_message("KeyError: '3f2a9c0d1b2e4f56'")
    "KeyError: '(valeur masquée)'"
    >>> scrub_message("ValueError: camille@example.org")
    '(valeur masquée)'
    >>> scrub_message("ZeroDivisionError: division by zero")
    'ZeroDivisionError: division by zero'
    """
    text = _PSEUDONYM_TOKEN.sub(MASK, "" if text is None else str(text))
    if detect_identifier(text, dates=False) is not None:
        return MASK
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# ---------------------------------------------------------------------------
# Pseudonymisation
# ---------------------------------------------------------------------------
def _normalise_code(code: str) -> str:
    return " ".join(str(code).split()).upper()


def pseudonymise(codes, key: bytes):
    """Replace visitor codes by keyed pseudonyms (HMAC-SHA256).

    A plain hash of a short code could be reversed by trying every code; a
    keyed hash cannot without the key. Codes are normalised first (spaces
    trimmed and collapsed, upper case), so ``" ab12"`` and ``"AB12"`` are the
    same person.

    Parameters
    ----------
    codes : pandas.Series
        Visitor codes; missing or empty values stay missing (``pd.NA``).
    key : bytes
        The secret key (see :func:`resolve_key`).

    Returns
    -------
    pandas.Series
        Same index; each pseudonym is the first 16 hexadecimal characters of
        HMAC-SHA256(key, code). Same code and key give the same pseudonym;
        another key gives another one. Pseudonyms serve only to count people
        and are never written out.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pseudonymise(pd.Series(["AB12", "ab12 ", None]), b"k" * 16)
    >>> bool(p[0] == p[1]), len(p[0]), bool(p.isna()[2])
    (True, 16, True)
    """
    import pandas as pd

    if not isinstance(key, bytes | bytearray) or len(key) == 0:
        raise ParameterError("La clé de pseudonymisation doit être une suite d'octets non vide.",
                             "The pseudonymisation key must be non-empty bytes.")
    cache: dict[str, str] = {}

    def one(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return pd.NA
        c = _normalise_code(v)
        if not c:
            return pd.NA
        if c not in cache:
            cache[c] = hmac.new(bytes(key), c.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        return cache[c]

    return pd.Series([one(v) for v in codes], index=codes.index, dtype="object",
                     name="person_id")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def resolve_key_with_origin(*, key_file=None, data_path=None) -> tuple[bytes, str]:
    """Return ``(key, origin)`` with origin ``"file"``, ``"env"`` or ``"random"``.

    See :func:`resolve_key` for the rules.
    """
    if key_file is not None:
        kf = Path(key_file).expanduser()
        if not kf.is_file():
            raise ParameterError(
                f"Fichier de clé introuvable : {kf}",
                f"Key file not found: {kf}",
            )
        if data_path is not None:
            dp = Path(data_path).expanduser().resolve()
            folder = dp if dp.is_dir() else dp.parent
            if _inside(kf.resolve(), folder):
                raise ParameterError(
                    f"Le fichier de clé {kf.name} est rangé dans le dossier des données ({folder}). "
                    "Rangez-le ailleurs : qui aurait les données et la clé pourrait retrouver les "
                    "codes des personnes à partir des pseudonymes.",
                    f"The key file {kf.name} lies inside the data folder ({folder}). Keep it "
                    "elsewhere: whoever holds both the data and the key could link pseudonyms "
                    "back to visitor codes.",
                )
        from .io import read_binary

        key = read_binary(kf).strip()
        origin = "file"
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].strip().encode("utf-8")
        origin = "env"
    else:
        return secrets.token_bytes(32), "random"
    if len(key) < _MIN_KEY_LENGTH:
        raise ParameterError(
            f"La clé de pseudonymisation est trop courte ({len(key)} caractères) : il en faut "
            f"au moins {_MIN_KEY_LENGTH}.",
            f"The pseudonymisation key is too short ({len(key)} characters): at least "
            f"{_MIN_KEY_LENGTH} are needed.",
        )
    return key, origin


def resolve_key(*, key_file=None, data_path=None) -> bytes:
    """Return the pseudonymisation key for this run.

    In order: the content of ``key_file`` (a file the user names, which must
    lie **outside** the data folder: whoever holds both could re-identify
    codes); else the environment variable ``QSP_PSEUDONYM_KEY``; else a
    fresh random key (pseudonyms then differ between runs, which is fine
    since they are never written out). A given key needs at least 16
    characters.

    Parameters
    ----------
    key_file : path-like, optional
        File holding the key (surrounding whitespace ignored).
    data_path : path-like, optional
        The data source (folder, or workbook whose folder counts); the key
        file is refused inside it.

    Raises
    ------
    ParameterError
        Key file missing, inside the data folder, or key too short.

    Examples
    --------
    >>> len(resolve_key()) >= 16
    True
    """
    return resolve_key_with_origin(key_file=key_file, data_path=data_path)[0]
