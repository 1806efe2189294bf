"""Language of messages, labels and help texts (French first, English too)."""

from __future__ import annotations

import os

__all__ = ["LANGUAGES", "get_language", "set_language", "tr"]

LANGUAGES = ("fr", "en")
_current = os.environ.get("QSP_LANG", "fr") if os.environ.get("QSP_LANG") in LANGUAGES else "fr"


def set_language(lang: str) -> None:
    """Set the default language ("fr" or "en") for messages built with :func:`tr`."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {lang!r}")
    _current = lang


def get_language() -> str:
    """Return the current default language."""
    return _current


def tr(fr: str, en: str, lang: str | None = None) -> str:
    """Return ``fr`` or ``en`` according to ``lang`` (default: the current language).

    Examples
    --------
    >>> tr("permanence", "session", "en")
    'session'
    """
    return fr if (lang or _current) == "fr" else en
