"""The data contract: tables, columns, category vocabularies and the internal form.

This module is the single place where the shape of the data is written down.
:mod:`qsp_eval.io` reads files and enforces it; every other module receives a
:class:`Dataset` whose tables are in the **internal form** described below and
can trust it.

Internal form (what every analysis function receives)
-----------------------------------------------------
``sessions`` (one row per session, sorted by date then site)
    ``session_id`` str; ``date`` datetime64[ns] (midnight); ``site`` str
    (``"main"`` when the file has no site); ``status`` "held"/"cancelled";
    ``theme`` str or NA; ``theme_category`` str or NA; ``themed`` bool
    (True when ``theme`` is not empty); ``guest`` bool; ``format``
    "on_site"/"outreach"; ``attendance`` Int64 (tally, NA when not recorded);
    ``new_visitors`` Int64 (tally, NA when not recorded).
``visits`` (one row per passage)
    ``session_id``; ``date``; ``site``; ``person_id`` str or NA (keyed
    pseudonym, HMAC-SHA256; never written out); ``first_visit``
    yes/no/unknown; ``gender``; ``orientation``; ``age_band``; ``chemsex``;
    ``injects``; ``heard_via`` (codes of the vocabularies below, "unknown"
    when missing or when the column was not supplied); ``products`` str:
    the selected product codes sorted and joined by ";", or "unknown".
``services``
    ``session_id``; ``date``; ``site``; ``service`` code; ``count`` int.
``distributions``
    ``session_id`` (NA when given by month); ``date`` (NaT when given by
    month); ``month`` str "YYYY-MM"; ``item`` code; ``category``
    "drug_use"/"sexual_health"; ``quantity`` int.
``survey_responses``
    ``survey``; ``response_id`` str; ``question``; ``answer`` str (multi-select
    answers joined by ";"; free text is kept only by the loader to count it,
    as the placeholder ``"<free_text>"``).

Every table is always present (possibly empty, with these columns);
``Dataset.supplied`` tells which tables and columns the source really had.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

__all__ = [
    "VOCABULARIES",
    "ITEM_CATEGORY",
    "TABLES",
    "HEADERS_FR",
    "header_label",
    "column_for_header",
    "ColumnSpec",
    "TableSpec",
    "INTERNAL_COLUMNS",
    "PROFILE_FIELDS",
    "SENSITIVE_FIELDS",
    "normalise_label",
    "lookup_code",
    "suggest_code",
    "label",
    "Event",
    "Change",
    "EvaluationConfig",
    "Dataset",
    "empty_table",
]

# ---------------------------------------------------------------------------
# Vocabularies: code -> (French label, English label)
# ---------------------------------------------------------------------------
VOCABULARIES: dict[str, dict[str, tuple[str, str]]] = {
    "status": {"held": ("Tenue", "Held"), "cancelled": ("Annulée", "Cancelled")},
    "format": {"on_site": ("Sur place", "On site"), "outreach": ("Hors les murs", "Outreach")},
    "yes_no": {"yes": ("Oui", "Yes"), "no": ("Non", "No")},
    "yes_no_unknown": {
        "yes": ("Oui", "Yes"),
        "no": ("Non", "No"),
        "unknown": ("Non renseigné", "Not stated"),
    },
    "gender": {
        "cis_man": ("Homme cis", "Cis man"),
        "cis_woman": ("Femme cis", "Cis woman"),
        "trans_woman": ("Femme trans", "Trans woman"),
        "trans_man": ("Homme trans", "Trans man"),
        "non_binary": ("Non-binaire", "Non-binary"),
        "agender": ("Agenre", "Agender"),
        "other": ("Autre", "Other"),
        "unknown": ("Non renseigné", "Not stated"),
    },
    "orientation": {
        "gay": ("Gay", "Gay"),
        "lesbian": ("Lesbienne", "Lesbian"),
        "bi_pan": ("Bi / pan", "Bi / pan"),
        "queer": ("Queer", "Queer"),
        "hetero": ("Hétéro", "Heterosexual"),
        "asexual": ("Asexuel·le", "Asexual"),
        "other": ("Autre", "Other"),
        "unknown": ("Non renseigné", "Not stated"),
    },
    "age_band": {
        "18-24": ("18-24 ans", "18-24"),
        "25-34": ("25-34 ans", "25-34"),
        "35-44": ("35-44 ans", "35-44"),
        "45-54": ("45-54 ans", "45-54"),
        "55+": ("55 ans et plus", "55+"),
        "unknown": ("Non renseigné", "Not stated"),
    },
    "heard_via": {
        "word_of_mouth": ("Bouche-à-oreille", "Word of mouth"),
        "social_media": ("Réseaux sociaux", "Social media"),
        "partner_org": ("Structure partenaire", "Partner organisation"),
        "festive_outreach": ("Milieu festif", "Festive outreach"),
        "health_professional": ("Professionnel·le de santé", "Health professional"),
        "other": ("Autre", "Other"),
        "unknown": ("Non renseigné", "Not stated"),
    },
    "products": {
        "cathinones": ("Cathinones (3-MMC, 4-MMC...)", "Cathinones (3-MMC, 4-MMC...)"),
        "ghb_gbl": ("GHB / GBL", "GHB / GBL"),
        "methamphetamine": ("Méthamphétamine", "Methamphetamine"),
        "cocaine": ("Cocaïne", "Cocaine"),
        "crack": ("Crack / free base", "Crack / freebase"),
        "ketamine": ("Kétamine", "Ketamine"),
        "mdma": ("MDMA / ecstasy", "MDMA / ecstasy"),
        "poppers": ("Poppers", "Poppers"),
        "alcohol": ("Alcool", "Alcohol"),
        "cannabis": ("Cannabis", "Cannabis"),
        "opioids": ("Opioïdes", "Opioids"),
        "other": ("Autre", "Other"),
        "unknown": ("Non renseigné", "Not stated"),
    },
    "service": {
        "trod_hiv": ("TROD VIH", "HIV rapid test"),
        "trod_hcv": ("TROD VHC", "HCV rapid test"),
        "trod_hbv": ("TROD VHB", "HBV rapid test"),
        "sample_ccm": ("Échantillon analysé sur place (CCM)", "Sample analysed on site (TLC)"),
        "sample_sintes": ("Échantillon envoyé au réseau SINTES", "Sample sent to the SINTES network"),
        "psy_on_call": ("Psychologue de permanence", "On-call psychologist"),
        "doctor_on_call": ("Médecin de permanence", "On-call doctor"),
        "hormone_injection": ("Injection d'hormones", "Hormone injection"),
        "sophrology": ("Sophrologie", "Sophrology"),
        "referral": ("Orientation", "Referral"),
        "other": ("Autre", "Other"),
    },
    "item": {
        "straw_booklet": ("Carnet de roule-ta-paille", "Straw booklet"),
        "sniff_kit": ("Kit sniff", "Sniff kit"),
        "base_kit": ("Kit base", "Base kit"),
        "pipette": ("Pipette", "Pipette"),
        "syringe_1_2ml": ("Seringue 1-2 mL", "Syringe 1-2 mL"),
        "unmounted_syringe": ("Seringue non montée", "Unmounted syringe"),
        "needle": ("Aiguille", "Needle"),
        "foil_roll": ("Rouleau d'aluminium", "Foil roll"),
        "sharps_container": ("Récupérateur de seringues", "Sharps container"),
        "external_condom": ("Préservatif externe", "External condom"),
        "internal_condom": ("Préservatif interne", "Internal condom"),
        "dental_dam": ("Digue dentaire", "Dental dam"),
        "lube_sachet": ("Dosette de lubrifiant", "Lube sachet"),
        "lube_tube": ("Tube de lubrifiant", "Lube tube"),
        "sex_toy_cleaner": ("Nettoyant pour sex-toys", "Sex-toy cleaner"),
        "other": ("Autre", "Other"),
    },
    "item_category": {
        "drug_use": ("Réduction des risques liés aux drogues", "Drug-use harm reduction"),
        "sexual_health": ("Santé sexuelle", "Sexual health"),
    },
}

#: Which category each material item belongs to.
ITEM_CATEGORY: dict[str, str] = {
    "straw_booklet": "drug_use",
    "sniff_kit": "drug_use",
    "base_kit": "drug_use",
    "pipette": "drug_use",
    "syringe_1_2ml": "drug_use",
    "unmounted_syringe": "drug_use",
    "needle": "drug_use",
    "foil_roll": "drug_use",
    "sharps_container": "drug_use",
    "external_condom": "sexual_health",
    "internal_condom": "sexual_health",
    "dental_dam": "sexual_health",
    "lube_sachet": "sexual_health",
    "lube_tube": "sexual_health",
    "sex_toy_cleaner": "sexual_health",
    "other": "drug_use",
}

#: Extra spellings accepted on load (normalised form -> code), beyond codes and labels.
ALIASES: dict[str, dict[str, str]] = {
    "yes_no": {"o": "yes", "y": "yes", "1": "yes", "true": "yes", "vrai": "yes", "x": "yes",
               "n": "no", "0": "no", "false": "no", "faux": "no"},
    "yes_no_unknown": {"o": "yes", "y": "yes", "1": "yes", "true": "yes", "vrai": "yes",
                       "n": "no", "0": "no", "false": "no", "faux": "no",
                       "nsp": "unknown", "ne sait pas": "unknown", "inconnu": "unknown",
                       "non renseigne": "unknown", "nr": "unknown", "na": "unknown",
                       "not stated": "unknown", "?": "unknown"},
    "status": {"tenue": "held", "realisee": "held", "annulee": "cancelled", "annule": "cancelled"},
    "gender": {"homme cisgenre": "cis_man", "femme cisgenre": "cis_woman", "homme": "cis_man",
               "femme": "cis_woman", "nb": "non_binary", "non binaire": "non_binary",
               "inconnu": "unknown", "nr": "unknown", "mtf": "trans_woman", "ftm": "trans_man"},
    "orientation": {"bi": "bi_pan", "pan": "bi_pan", "bisexuel": "bi_pan", "bisexuelle": "bi_pan",
                    "pansexuel": "bi_pan", "heterosexuel": "hetero", "heterosexuelle": "hetero",
                    "lesbienne": "lesbian", "asexuel": "asexual", "asexuelle": "asexual",
                    "homo": "gay", "homosexuel": "gay", "inconnu": "unknown", "nr": "unknown"},
    "age_band": {"18 24": "18-24", "25 34": "25-34", "35 44": "35-44", "45 54": "45-54",
                 "55": "55+", "55 +": "55+", "55 et plus": "55+", "55 ans et +": "55+",
                 "inconnu": "unknown", "nr": "unknown"},
}

# ---------------------------------------------------------------------------
# Table specifications (external form: what the files hold)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    ``kind`` is one of: ``"date"``, ``"month"`` (YYYY-MM), ``"int"``
    (non-negative integer), ``"text"`` (short label such as a theme), ``"id"``
    (identifier-like key such as session_id), ``"category"`` (one code of
    ``vocabulary``), ``"multi"`` (codes of ``vocabulary`` separated by ";").
    """

    name: str
    kind: str
    required: bool = False
    vocabulary: str | None = None
    default: object = None
    description_fr: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract, with an example row (external form)."""

    name: str
    required: bool
    columns: tuple[ColumnSpec, ...]
    example: dict
    description_fr: str = ""
    description_en: str = ""

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(c.name for c in self.columns)


C = ColumnSpec
TABLES: dict[str, TableSpec] = {
    "sessions": TableSpec(
        "sessions", True,
        (
            C("date", "date", True, description_fr="Date de la permanence (jj/mm/aaaa)",
              description_en="Session date (dd/mm/yyyy or yyyy-mm-dd)"),
            C("site", "text", description_fr="Lieu (si plusieurs sites)", description_en="Site (if several)"),
            C("status", "category", vocabulary="status", default="held",
              description_fr="Tenue ou annulée (tenue par défaut)", description_en="Held or cancelled (default held)"),
            C("theme", "text", description_fr="Thème annoncé (vide = non thématisée)",
              description_en="Announced theme (empty = not themed)"),
            C("theme_category", "text", description_fr="Catégorie du thème", description_en="Theme category"),
            C("guest", "category", vocabulary="yes_no", default="no",
              description_fr="Intervenant·e invité·e (oui/non)", description_en="Guest speaker (yes/no)"),
            C("format", "category", vocabulary="format", default="on_site",
              description_fr="Sur place ou hors les murs", description_en="On site or outreach"),
            C("attendance", "int", description_fr="Nombre de passages (si pas de fiche par passage)",
              description_en="Number of visits (tally, when visits are not recorded one by one)"),
            C("new_visitors", "int", description_fr="Nombre de nouvelles personnes (décompte)",
              description_en="Number of first-time visitors (tally)"),
            C("session_id", "id", description_fr="Identifiant de permanence (déduit de la date sinon)",
              description_en="Session identifier (derived from date and site when absent)"),
        ),
        {"date": "17/05/2023", "status": "tenue", "theme": "", "theme_category": "", "guest": "non",
         "format": "sur place", "attendance": "", "new_visitors": ""},
        "Une ligne par permanence prévue", "One row per scheduled session",
    ),
    "visits": TableSpec(
        "visits", False,
        (
            C("session_id", "id", description_fr="Permanence (ou donner la date)", description_en="Session (or give the date)"),
            C("date", "date", description_fr="Date de la permanence", description_en="Session date"),
            C("site", "text", description_fr="Lieu", description_en="Site"),
            C("visitor_code", "id", description_fr="Code pseudonyme de la personne (jamais le nom)",
              description_en="Pseudonymous visitor code (never a name)"),
            C("first_visit", "category", vocabulary="yes_no_unknown", default="unknown",
              description_fr="Première venue (oui/non/non renseigné)", description_en="First visit (yes/no/unknown)"),
            C("gender", "category", vocabulary="gender", default="unknown",
              description_fr="Identité de genre", description_en="Gender identity"),
            C("orientation", "category", vocabulary="orientation", default="unknown",
              description_fr="Orientation sexuelle", description_en="Sexual orientation"),
            C("age_band", "category", vocabulary="age_band", default="unknown",
              description_fr="Tranche d'âge (ou colonne « age », convertie puis effacée)",
              description_en="Age band (or an 'age' column, banded then discarded)"),
            C("chemsex", "category", vocabulary="yes_no_unknown", default="unknown",
              description_fr="Pratique le chemsex", description_en="Practises chemsex"),
            C("injects", "category", vocabulary="yes_no_unknown", default="unknown",
              description_fr="Pratique l'injection", description_en="Injects"),
            C("products", "multi", vocabulary="products", default="unknown",
              description_fr="Produits consommés, séparés par « ; »", description_en="Products used, separated by ';'"),
            C("heard_via", "category", vocabulary="heard_via", default="unknown",
              description_fr="A connu la permanence par", description_en="Heard of the session via"),
        ),
        {"date": "17/05/2023", "visitor_code": "AB12", "first_visit": "non", "gender": "Femme trans",
         "orientation": "Queer", "age_band": "25-34 ans", "chemsex": "non", "injects": "non",
         "products": "Cocaïne; Kétamine", "heard_via": "Bouche-à-oreille"},
        "Une ligne par passage d'une personne", "One row per visit (passage)",
    ),
    "services": TableSpec(
        "services", False,
        (
            C("session_id", "id", description_fr="Permanence (ou donner la date)",
              description_en="Session (or give the date)"),
            C("date", "date", description_fr="Date de la permanence", description_en="Session date"),
            C("site", "text", description_fr="Lieu (si plusieurs sites)", description_en="Site (if several)"),
            C("service", "category", True, vocabulary="service", description_fr="Prestation", description_en="Service"),
            C("count", "int", True, description_fr="Nombre", description_en="Count"),
        ),
        {"date": "17/05/2023", "service": "TROD VIH", "count": "2"},
        "Prestations réalisées par permanence", "Services delivered per session",
    ),
    "distributions": TableSpec(
        "distributions", False,
        (
            C("session_id", "id", description_fr="Permanence (ou donner la date)",
              description_en="Session (or give the date)"),
            C("date", "date", description_fr="Date (ou donner le mois)", description_en="Date (or give the month)"),
            C("month", "month", description_fr="Mois AAAA-MM", description_en="Month YYYY-MM"),
            C("site", "text", description_fr="Lieu (si plusieurs sites)", description_en="Site (if several)"),
            C("item", "category", True, vocabulary="item", description_fr="Matériel", description_en="Item"),
            C("quantity", "int", True, description_fr="Quantité", description_en="Quantity"),
        ),
        {"month": "2023-05", "item": "Préservatif externe", "quantity": "30"},
        "Matériel de réduction des risques distribué", "Harm-reduction material handed out",
    ),
    "survey_responses": TableSpec(
        "survey_responses", False,
        (
            C("survey", "id", True, description_fr="Nom du questionnaire", description_en="Survey name"),
            C("response_id", "id", True, description_fr="Numéro de réponse", description_en="Response number"),
            C("question", "id", True, description_fr="Code de la question", description_en="Question code"),
            C("answer", "text", description_fr="Réponse", description_en="Answer"),
        ),
        {"survey": "satisfaction_2023", "response_id": "12", "question": "felt_listened", "answer": "oui"},
        "Réponses aux questionnaires (format long)", "Survey answers (long format)",
    ),
}
del C

_SESSION_ID_FR = ("Identifiant de permanence", "Permanence", "Id permanence")
_DATE_FR = ("Date", "Date de la permanence")
_SITE_FR = ("Lieu", "Site")
#: French column headers (what the French template shows; the first is the one written,
#: the others are accepted too). Headers are matched like labels (case, accents, spaces,
#: dashes and the inclusive dot are ignored); the contract's codes are always accepted.
HEADERS_FR: dict[str, dict[str, tuple[str, ...]]] = {
    "sessions": {
        "date": _DATE_FR, "site": _SITE_FR, "status": ("Statut", "État"),
        "theme": ("Thème",), "theme_category": ("Catégorie du thème", "Catégorie"),
        "guest": ("Intervenant·e invité·e", "Intervenant invité", "Invité·e", "Invité"),
        "format": ("Format", "Forme"),
        "attendance": ("Nombre de passages", "Passages", "Fréquentation"),
        "new_visitors": ("Nouvelles personnes", "Nouveaux", "Nouvelles venues"),
        "session_id": _SESSION_ID_FR,
    },
    "visits": {
        "session_id": _SESSION_ID_FR, "date": _DATE_FR, "site": _SITE_FR,
        "visitor_code": ("Code personne", "Code visiteur", "Code de la personne"),
        "first_visit": ("Première venue", "Première visite", "Premier passage"),
        "gender": ("Genre", "Identité de genre"),
        "orientation": ("Orientation", "Orientation sexuelle"),
        "age_band": ("Tranche d'âge", "Tranche d'age", "Classe d'âge"),
        "chemsex": ("Chemsex",), "injects": ("Injection", "Injecte", "Pratique l'injection"),
        "products": ("Produits", "Produits consommés"),
        "heard_via": ("Connu par", "A connu la permanence par", "Connaissance de la permanence"),
    },
    "services": {
        "session_id": _SESSION_ID_FR, "date": _DATE_FR, "site": _SITE_FR,
        "service": ("Prestation",), "count": ("Nombre", "Nombre de prestations"),
    },
    "distributions": {
        "session_id": _SESSION_ID_FR, "date": _DATE_FR, "month": ("Mois",), "site": _SITE_FR,
        "item": ("Matériel",), "quantity": ("Quantité", "Nombre"),
    },
    "survey_responses": {
        "survey": ("Questionnaire", "Enquête"), "response_id": ("Numéro de réponse", "Réponse n°"),
        "question": ("Question",), "answer": ("Réponse",),
    },
}


def header_label(table: str, column: str, lang: str = "fr") -> str:
    """The column header the template writes: French label, or the code in English.

    Examples
    --------
    >>> header_label("visits", "gender"), header_label("visits", "gender", "en")
    ('Genre', 'gender')
    """
    if lang == "fr":
        return HEADERS_FR.get(table, {}).get(column, (column,))[0]
    return column


@functools.cache
def _header_index(table: str) -> dict[str, str]:
    idx = {normalise_label(c): c for c in TABLES[table].names}
    for col, labels in HEADERS_FR.get(table, {}).items():
        for lab in labels:
            idx.setdefault(normalise_label(lab), col)
    return idx


def column_for_header(table: str, header: object) -> str | None:
    """The contract column a header names (code or French label), or ``None``.

    Examples
    --------
    >>> column_for_header("visits", " GENRE "), column_for_header("visits", "Tranche d’âge")
    ('gender', 'age_band')
    >>> column_for_header("sessions", "meteo") is None
    True
    """
    return _header_index(table).get(normalise_label(header))


INTERNAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": ("session_id", "date", "site", "status", "theme", "theme_category", "themed",
                 "guest", "format", "attendance", "new_visitors"),
    "visits": ("session_id", "date", "site", "person_id", "first_visit", "gender", "orientation",
               "age_band", "chemsex", "injects", "products", "heard_via"),
    "services": ("session_id", "date", "site", "service", "count"),
    "distributions": ("session_id", "date", "month", "site", "item", "category", "quantity"),
    "survey_responses": ("survey", "response_id", "question", "answer"),
}

#: Profile fields of ``visits`` and their vocabulary.
PROFILE_FIELDS: dict[str, str] = {
    "gender": "gender",
    "orientation": "orientation",
    "age_band": "age_band",
    "chemsex": "yes_no_unknown",
    "injects": "yes_no_unknown",
    "products": "products",
    "heard_via": "heard_via",
}

#: Person attributes whose tables fall under disclosure control.
SENSITIVE_FIELDS: frozenset[str] = frozenset(
    {"gender", "orientation", "age_band", "chemsex", "injects", "products", "heard_via", "first_visit"}
)


# ---------------------------------------------------------------------------
# Label matching
# ---------------------------------------------------------------------------
def normalise_label(value: object) -> str:
    """Normalise a label for matching: lower case, no accents, single spaces.

    Dashes (including en/em dashes), underscores, slashes and dots become
    spaces; a trailing "ans" is dropped so "18–24 ans" matches "18-24".

    Examples
    --------
    >>> normalise_label("  Non-Binaire ")
    'non binaire'
    >>> normalise_label("18–24 ans")
    '18 24'
    """
    return _normalise(str(value))


@functools.lru_cache(maxsize=65536)
def _normalise(text: str) -> str:
    # cached: the loader and the output scanner normalise the same few labels many times
    s = unicodedata.normalize("NFKD", text)
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).lower()
    s = s.replace("·", "").replace("’", "'")
    for ch in "-–—_/.":
        s = s.replace(ch, " ")
    s = " ".join(s.split())
    if s.endswith(" ans"):
        s = s[:-4].strip()
    return s


def _index(vocabulary: str) -> dict[str, str]:
    idx = _INDEX_CACHE.get(vocabulary)
    if idx is None:
        idx = {}
        for code, (fr, en) in VOCABULARIES[vocabulary].items():
            for v in (code, fr, en):
                idx.setdefault(normalise_label(v), code)
        for alias, code in ALIASES.get(vocabulary, {}).items():
            idx.setdefault(normalise_label(alias), code)
        _INDEX_CACHE[vocabulary] = idx
    return idx


_INDEX_CACHE: dict[str, dict[str, str]] = {}


def lookup_code(vocabulary: str, value: object) -> str | None:
    """Return the code for a code or French/English label, or ``None`` if unknown.

    Examples
    --------
    >>> lookup_code("gender", "Femme trans")
    'trans_woman'
    >>> lookup_code("yes_no_unknown", "OUI")
    'yes'
    >>> lookup_code("age_band", "18–24 ans")
    '18-24'
    """
    return _index(vocabulary).get(normalise_label(value))


def suggest_code(vocabulary: str, value: object) -> str | None:
    """Return the closest allowed French label for an unknown value (or None).

    Examples
    --------
    >>> suggest_code("gender", "Non-binaiire")
    'Non-binaire'
    """
    idx = _index(vocabulary)
    match = difflib.get_close_matches(normalise_label(value), list(idx), n=1, cutoff=0.6)
    if not match:
        return None
    return VOCABULARIES[vocabulary][idx[match[0]]][0]


def label(vocabulary: str, code: str, lang: str = "fr") -> str:
    """Return the display label of ``code`` in ``lang`` (the code itself if unknown).

    Examples
    --------
    >>> label("gender", "non_binary")
    'Non-binaire'
    >>> label("gender", "non_binary", "en")
    'Non-binary'
    """
    pair = VOCABULARIES.get(vocabulary, {}).get(code)
    if pair is None:
        return str(code)
    return pair[0] if lang == "fr" else pair[1]


# ---------------------------------------------------------------------------
# evaluation.yml
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """A dated event to mark on time axes (and, for context events, to test in sensitivity runs)."""

    date: date
    label_fr: str
    label_en: str
    kind: str = "context"  # "context" or "change"
    sensitivity: bool = True

    def label(self, lang: str = "fr") -> str:
        """Label in ``lang``."""
        return self.label_fr if lang == "fr" else self.label_en


@dataclass(frozen=True)
class Change:
    """The change under evaluation (e.g. theming of some sessions) and its start date."""

    name: str
    start: date
    label_fr: str
    label_en: str

    def label(self, lang: str = "fr") -> str:
        """Label in ``lang``."""
        return self.label_fr if lang == "fr" else self.label_en


@dataclass(frozen=True)
class EvaluationConfig:
    """Parsed ``evaluation.yml``.

    ``reporting_groups`` maps a profile field to ``{group_code: {"label_fr",
    "label_en", "members": [codes]}}``; ``disclosure`` and ``surveys`` are
    kept as plain dicts and interpreted by :mod:`qsp_eval.disclosure` and
    :mod:`qsp_eval.surveys`.
    """

    programme: str = "Programme"
    organisation: str = ""
    language: str = "fr"
    launch_date: date | None = None
    synthetic: bool = False
    change: Change | None = None
    events: tuple[Event, ...] = ()
    disclosure: dict = field(default_factory=dict)
    reporting_groups: dict = field(default_factory=dict)
    surveys: dict = field(default_factory=dict)
    session_weekday: int | None = None  # 0 = Monday ... 6 = Sunday; used for "expected sessions"


@dataclass
class Dataset:
    """A validated data source in the internal form (see module docstring).

    Attributes
    ----------
    sessions, visits, services, distributions, survey_responses : pandas.DataFrame
        Tables in the internal form; always present, possibly empty.
    config : EvaluationConfig
        The parsed ``evaluation.yml``.
    source : str
        Where the data came from (a folder or workbook path), for display.
    checksum : str
        SHA-256 over the raw input files, for the manifest.
    supplied : dict[str, frozenset[str]]
        For each table the source really had, the contract columns it held.
    notices : list[str]
        Things the loader did that the user should know (free-text columns
        dropped, ages banded...), already safe to print.
    """

    sessions: pd.DataFrame
    visits: pd.DataFrame
    services: pd.DataFrame
    distributions: pd.DataFrame
    survey_responses: pd.DataFrame
    config: EvaluationConfig
    source: str = ""
    checksum: str = ""
    supplied: dict = field(default_factory=dict)
    notices: list = field(default_factory=list)

    def has(self, table: str, column: str | None = None) -> bool:
        """True when the source supplied ``table`` (and ``column`` of it)."""
        cols = self.supplied.get(table)
        if cols is None:
            return False
        return column is None or column in cols

    def __repr__(self) -> str:
        """Sizes only: the default dataclass repr would print rows, pseudonyms included.

        Examples
        --------
        >>> Dataset(*(empty_table(t) for t in ("sessions", "visits", "services",
        ...           "distributions", "survey_responses")), config=None, source="x")
        Dataset(source='x', sessions=0 rows, visits=0 rows, services=0 rows, distributions=0 rows, survey_responses=0 rows)
        """  # noqa: E501
        sizes = ", ".join(f"{t}={len(getattr(self, t))} rows" for t in
                          ("sessions", "visits", "services", "distributions",
                           "survey_responses"))
        return f"Dataset(source={self.source!r}, {sizes})"


def empty_table(name: str) -> pd.DataFrame:
    """Return an empty table in the internal form, with the right dtypes."""
    dtypes = {
        "date": "datetime64[ns]",
        "attendance": "Int64",
        "new_visitors": "Int64",
        "count": "int64",
        "quantity": "int64",
        "themed": "bool",
        "guest": "bool",
    }
    return pd.DataFrame(
        {c: pd.Series(dtype=dtypes.get(c, "object")) for c in INTERNAL_COLUMNS[name]}
    )
