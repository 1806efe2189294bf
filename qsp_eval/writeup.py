"""The write-up: the "observed results" of a capitalisation record, in French and English.

:func:`build_writeup` turns the **published** tables of a report (after
disclosure control, see :data:`TABLE_NAMES`) and the theming result into
Markdown sentences such as

    En 2023, la permanence a accueilli 234 passages lors de 43 permanences,
    soit 5,44 personnes en moyenne par permanence (IC 95 % : 4,77–6,18),
    contre 2,79 en 2021.

Rules
-----
- Every number comes from the tables passed in (or the theming result, or the
  configuration for dates): nothing is typed by hand and nothing is derived
  except by rounding for display (means and intervals to 2 decimals, shares
  to whole percents, rate ratios to 2 decimals).  :func:`numbers_in` lists
  the numbers of a text so a test can check them against the tables.
- Person-attribute figures (profile shares, first-time visitors, survey
  shares) go through :mod:`qsp_eval.disclosure` (``format_share``,
  ``format_count``); a suppressed value reads "< 5" (the threshold), never a
  number.  Activity counts (sessions, visits, tests, samples, material) are
  printed as they are.
- French number format: decimal comma, no-break space (U+00A0) as thousands
  separator and before "%" ("38 %"); English: "5.44", "1,234", "38%".
- A missing table makes its section say "not recorded", never fail.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

from .i18n import tr
from .schema import label as vlabel

__all__ = [
    "TABLE_NAMES",
    "NBSP",
    "fmt_number",
    "fmt_percent",
    "fmt_interval",
    "numbers_in",
    "parse_number",
    "build_writeup",
    "key_figures",
    "writeup_docx",
]

NBSP = "\u00a0"

#: The published tables the write-up reads: file stem under the report's ``tables/``
#: -> the function that produces it and the columns relied on.  The report publishes
#: each of them (after disclosure control) under exactly this name.
TABLE_NAMES: dict[str, dict] = {
    "attendance_by_year": {
        "function": "qsp_eval.attendance.by_period(dataset, period='year')",
        "columns": ("period", "sessions_held", "sessions_cancelled", "visits",
                    "mean_visits_per_session", "ci_low", "ci_high", "distinct_people",
                    "first_time_visitors"),
        "optional": ("sessions_cancelled", "distinct_people", "first_time_visitors"),
        "person_attribute": False,
    },
    "profiles_by_year": {
        "function": "qsp_eval.profiles.composition(dataset, period='year')",
        "columns": ("period", "field", "level", "group", "unit", "count", "denominator",
                    "share"),
        "optional": ("level",),
        "person_attribute": True,
    },
    "rapid_tests_by_year": {
        "function": "qsp_eval.services.rapid_tests(dataset, period='year')",
        "columns": ("period", "service", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "services_by_year": {
        "function": "qsp_eval.services.service_counts(dataset, period='year')",
        "columns": ("period", "service", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "services_total": {
        "function": "qsp_eval.services.service_counts(dataset, period='all')",
        "columns": ("period", "service", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "drug_checking_by_year": {
        "function": "qsp_eval.services.drug_checking(dataset, period='year')",
        "columns": ("period", "route", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "material_items_by_year": {
        "function": "qsp_eval.material.material_totals(dataset, period='year')",
        "columns": ("period", "category", "item", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "drug_checking": {
        "function": "qsp_eval.services.drug_checking(dataset, period='all')",
        "columns": ("period", "route", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "material_by_category": {
        "function": "qsp_eval.material.material_by_category(dataset, period='all')",
        "columns": ("period", "category", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "material_items": {
        "function": "qsp_eval.material.material_totals(dataset, period='all')",
        "columns": ("period", "category", "item", "count"),
        "optional": (),
        "person_attribute": False,
    },
    "profiles_before_after": {
        "function": "qsp_eval.profiles.before_after_events(dataset, window_years=1, rules=rules)",
        "columns": ("event", "event_label_fr", "event_label_en", "event_kind", "field", "group",
                    "unit", "period", "period_start", "period_end", "count", "denominator",
                    "difference", "diff_ci_low", "diff_ci_high"),
        "optional": ("event_label_fr", "event_label_en", "event_kind", "unit", "period_start",
                     "period_end", "difference", "diff_ci_low", "diff_ci_high"),
        "person_attribute": True,
    },
    "survey_results": {
        "function": "qsp_eval.surveys.question_summary(dataset)",
        "columns": ("survey", "question", "type", "answer", "count", "denominator",
                    "respondents", "label_fr", "label_en", "question_label_fr",
                    "question_label_en", "survey_label_fr", "survey_label_en"),
        "optional": ("type", "respondents", "label_fr", "label_en", "question_label_fr",
                     "question_label_en", "survey_label_fr", "survey_label_en"),
        "person_attribute": True,
    },
}

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


# ---------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------
def fmt_number(x, decimals: int = 0, lang: str = "fr") -> str:
    """Format a number the French (or English) way.

    French: decimal comma and a no-break space (U+00A0) between thousands;
    English: decimal point and a comma between thousands.  Rounds half away
    from zero (not Python's banker's rounding).  NA gives "–".

    Examples
    --------
    >>> fmt_number(5.444, 2)
    '5,44'
    >>> fmt_number(1234, 0) == "1\\u00a0234"
    True
    >>> fmt_number(1234.5, 1, "en")
    '1,234.5'
    """
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return "–"
    from decimal import ROUND_HALF_UP, Decimal

    q = Decimal(1).scaleb(-decimals)
    d = Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP)
    s = f"{d:,.{decimals}f}"
    if s.startswith("-") and float(d) == 0:
        s = s[1:]
    if lang == "fr":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", NBSP)
    return s


def fmt_percent(share, lang: str = "fr", decimals: int = 0) -> str:
    """Format a share (0–1) as a percentage: ``"38 %"`` (no-break space) or ``"38%"``.

    Examples
    --------
    >>> fmt_percent(0.381) == "38\\u00a0%"
    True
    >>> fmt_percent(0.381, "en")
    '38%'
    """
    num = fmt_number(None if share is None or pd.isna(share) else float(share) * 100,
                     decimals, lang)
    return f"{num}{NBSP}%" if lang == "fr" else f"{num}%"


def fmt_interval(low, high, decimals: int = 2, lang: str = "fr") -> str:
    """Format a confidence interval as ``"IC 95 % : 4,77–6,18"`` / ``"95% CI 4.77–6.18"``.

    Examples
    --------
    >>> fmt_interval(4.771, 6.18, 2, "en")
    '95% CI 4.77–6.18'
    """
    lo, hi = fmt_number(low, decimals, lang), fmt_number(high, decimals, lang)
    if lang == "fr":
        return f"IC 95{NBSP}% : {lo}–{hi}"
    return f"95% CI {lo}–{hi}"


_NUM_FR = re.compile(
    r"(?<![\w\-/.,])(?:\d{1,3}(?:[\u00a0\u202f]\d{3})+|\d+)(?:,\d+)?(?![\w\-+/])")
_NUM_EN = re.compile(r"(?<![\w\-/.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w\-+/])")


def numbers_in(text: str, lang: str = "fr") -> list[str]:
    """List the numbers written in ``text``, as written (e.g. ``"5,44"``, ``"1\u00a0234"``).

    A number is a run of digits, with thousands separators (no-break spaces
    in French, commas in English) and a decimal part (comma in French, point
    in English).  Digits that belong to a word or a code are skipped: those
    touching a letter, a hyphen, a slash or a trailing "+" (as in "3-MMC",
    "18-24", "55+", "COVID19").  Use :func:`parse_number` to get the value.

    Examples
    --------
    >>> numbers_in("En 2023, 5,44 personnes (IC 95 % : 4,77–6,18) ; 18-24 ans")
    ['2023', '5,44', '95', '4,77', '6,18']
    >>> numbers_in("In 2023, 1,234 visits (5.44 per session)", "en")
    ['2023', '1,234', '5.44']
    """
    rx = _NUM_FR if lang == "fr" else _NUM_EN
    return [m.group(0) for m in rx.finditer(text)]


def parse_number(token: str, lang: str = "fr") -> float:
    """Value of a number written as :func:`numbers_in` returns it.

    Examples
    --------
    >>> parse_number("1\\u00a0234,5")
    1234.5
    >>> parse_number("1,234.5", "en")
    1234.5
    """
    if lang == "fr":
        return float(token.replace(NBSP, "").replace("\u202f", "").replace(",", "."))
    return float(token.replace(",", ""))


def _fmt_date(d, lang: str) -> str:
    d = pd.Timestamp(d)
    if lang == "fr":
        day = "1er" if d.day == 1 else str(d.day)
        return f"{day} {_MONTHS_FR[d.month - 1]} {d.year}"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def _fmt_month(d, lang: str) -> str:
    d = pd.Timestamp(d)
    return f"{(_MONTHS_FR if lang == 'fr' else _MONTHS_EN)[d.month - 1]} {d.year}"


def _span_words(period: str, lang: str) -> str:
    """A period label in words: "en 2023", "en 2022 et 2023", "de 2021 à 2024",
    "du 1er novembre 2021 au 31 décembre 2023" (labels of :func:`qsp_eval.services.assign_period`).

    Examples
    --------
    >>> _span_words("2022–2023", "fr"), _span_words("2021–2024", "en")
    ('en 2022 et 2023', 'from 2021 to 2024')
    >>> _span_words("2021-11-01–2023-12-31", "fr")
    'du 1er novembre 2021 au 31 décembre 2023'
    """
    p = str(period)
    if re.fullmatch(r"\d{4}", p):
        return f"en {p}" if lang == "fr" else f"in {p}"
    m = re.fullmatch(r"(\d{4})–(\d{4})", p)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if b == a + 1:
            return f"en {a} et {b}" if lang == "fr" else f"in {a} and {b}"
        return f"de {a} à {b}" if lang == "fr" else f"from {a} to {b}"
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})–(\d{4}-\d{2}-\d{2})", p)
    if m:
        a, b = _fmt_date(m.group(1), lang), _fmt_date(m.group(2), lang)
        return f"du {a} au {b}" if lang == "fr" else f"from {a} to {b}"
    return f"sur la période {p}" if lang == "fr" else f"over {p}"


def _over(period: str, lang: str) -> str:
    """"En 2023", "En 2022 et 2023", "De 2021 à 2024"...: :func:`_span_words`, capitalised."""
    w = _span_words(period, lang)
    return w[:1].upper() + w[1:]


def _pl(n, word: str, lang: str) -> str:
    """``word`` with a plural "s": French singular for 0 and 1, English for 1 only.

    Not used for "passage": "1 passage" reads as a street address to
    :func:`qsp_eval.privacy.detect_identifier`, so visits stay plural in French.
    """
    try:
        x = float(n)
    except (TypeError, ValueError):
        return word + "s"
    single = x < 2 if lang == "fr" else x == 1
    return word if single else word + "s"


def _join(items: list[str], lang: str) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    word = " et " if lang == "fr" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


# ---------------------------------------------------------------------------
# Disclosure
# ---------------------------------------------------------------------------
class _Ctx:
    """What every section needs: tables, language, disclosure rules, configuration."""

    def __init__(self, tables, config, lang, rules):
        self.tables = tables or {}
        self.config = config
        self.lang = lang
        self.disclosure = _disclosure_module()
        if rules is None and self.disclosure is not None and config is not None:
            # a wrong disclosure section raises ParameterError: never fall back silently
            rules = self.disclosure.rules_from_config(config)
        self.rules = rules
        self.threshold = _threshold(rules)

    def table(self, name, required=()):
        t = self.tables.get(name)
        if t is None or not isinstance(t, pd.DataFrame) or t.empty:
            return None
        if any(c not in t.columns for c in required):
            return None
        return t

    def tr(self, fr, en):
        return tr(fr, en, self.lang)

    @property
    def suppressed(self) -> str:
        return f"<{NBSP}{self.threshold}"

    def person_count(self, count, display=None) -> str:
        """A count of people (with an attribute), through ``disclosure.format_count``.

        A cell already suppressed in a published table (NA, or a text such as
        "< 5") shows its ``count_display`` when given, else "< t".
        """
        if _is_suppressed(count):
            if isinstance(display, str) and display.strip():
                return _nbsp_lt(display, self.lang)
            if isinstance(count, str) and count.strip():
                return _nbsp_lt(count, self.lang)
            return self.suppressed
        d = self.disclosure
        if d is not None and self.rules is not None:
            return _nbsp_lt(d.format_count(_num(count), rules=self.rules, lang=self.lang,
                                           kind="person"), self.lang)
        c = int(_num(count))
        return self.suppressed if 0 < c < self.threshold else fmt_number(c, 0, self.lang)

    def person_share(self, count, denominator) -> str:
        """A share of people, through ``disclosure.format_share`` ("n.d." when withheld)."""
        if _is_suppressed(count) or _is_suppressed(denominator):
            return self.withheld
        d = self.disclosure
        if d is not None and self.rules is not None:
            return _nbsp_lt(d.format_share(_num(count), _num(denominator), rules=self.rules,
                                           lang=self.lang, sensitive=True), self.lang)
        c, n = int(_num(count)), int(_num(denominator))
        if n < self.threshold or 0 < c < self.threshold or (c in (0, n) and n < 4 * self.threshold):
            return self.withheld
        return fmt_percent(c / n, self.lang)

    def activity(self, v, display=None) -> str:
        """An activity count (tests, samples, items), printed as it is.

        Activity counts are published as they are unless the rules protect
        them too; a cell suppressed upstream (NA, "< 5", "n.d.") shows its
        ``count_display`` or "< t", never 0.
        """
        if _is_suppressed(v):
            if isinstance(display, str) and display.strip():
                return _nbsp_lt(display, self.lang)
            return self.suppressed if v is None or not isinstance(v, str) else _nbsp_lt(
                v, self.lang)
        return fmt_number(_num(v), 0, self.lang)

    @property
    def withheld(self) -> str:
        return self.tr("n.d.", "[c]")

    def person_share_phrase(self, count, denominator, display=None) -> tuple[str, str]:
        """How to say a share of people: ``(text, kind)``.

        ``kind`` is ``"share"`` (a percentage), ``"count"`` (the count is
        under the threshold or was suppressed as such: "< 5") or
        ``"withheld"`` ("n.d.": published neither as a share nor a count).
        """
        if _is_suppressed(count):
            shown = self.person_count(count, display)
            return (shown, "count") if "<" in shown else (shown, "withheld")
        share = self.person_share(count, denominator)
        if share != self.withheld:
            return share, "share"
        shown = self.person_count(count)
        if "<" in shown:
            return shown, "count"
        return self.withheld, "withheld"


def _nbsp_lt(text: str, lang: str) -> str:
    """Keep "< 5" on one line in French (no-break space after "<")."""
    text = str(text)
    if lang == "fr":
        text = re.sub(r"<\s+(?=\d)", f"<{NBSP}", text)
        text = re.sub(r"(\d)\s+%", rf"\1{NBSP}%", text)
    return text


def _disclosure_module():
    try:
        from . import disclosure
    except ImportError:
        return None
    return disclosure


def _threshold(rules) -> int:
    if rules is None:
        return 5
    for attr in ("threshold", "min_count", "minimum"):
        v = rules.get(attr) if isinstance(rules, Mapping) else getattr(rules, attr, None)
        if v is not None:
            try:
                return int(v)
            except (TypeError, ValueError):
                continue
    return 5


def _is_suppressed(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):  # "< 5", "n.d.", "[c]", "" : anything that is not a number
        try:
            float(v.replace(NBSP, "").replace(",", "."))
        except ValueError:
            return True
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(v):
    """A table cell as a float, or None when suppressed / missing / not a number."""
    if _is_suppressed(v):
        return None
    try:
        return float(v.replace(NBSP, "").replace(",", ".") if isinstance(v, str) else v)
    except (TypeError, ValueError):
        return None


def _plausible_ratio(v) -> bool:
    """A rate ratio or bound a key figure may show: finite, between 1/1000 and 1000.

    Beyond that the fit is degenerate (too few sessions): the key figure is left out
    rather than print "0,00–7e19" (the theming section says why).

    >>> _plausible_ratio(1.36), _plausible_ratio(5.7e13), _plausible_ratio(float("nan"))
    (True, False, False)
    """
    x = _num(v)
    return x is not None and math.isfinite(x) and 1e-3 <= x <= 1e3


def _by_period(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    t["period"] = t["period"].astype(str)
    return t.sort_values("period", kind="stable")


def _row_label(row, vocabulary: str, lang: str) -> str:
    col = "label_fr" if lang == "fr" else "label_en"
    if col in row.index and isinstance(row[col], str) and row[col]:
        return row[col]
    code = row.get("service") if vocabulary == "service" else row.get("item")
    return vlabel(vocabulary, str(code), lang)


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------
def _not_recorded(ctx, what_fr, what_en) -> str:
    return ctx.tr(f"{what_fr} : non renseigné dans les données.",
                  f"{what_en}: not recorded in the data.")


def _headline(periods: list[str], period) -> str:
    """The period to lead with: ``period`` when the table has it, else the last one."""
    return str(period) if period is not None and str(period) in periods else periods[-1]


def _compared(periods: list[str], p: str) -> list[str]:
    """The periods ``p`` is compared with: the first one, then the one before (if different)."""
    idx = periods.index(p)
    out = [periods[0]] if idx >= 1 else []
    if idx >= 2:
        out.append(periods[idx - 1])
    return out


def _attendance(ctx, period) -> list[str]:
    t = ctx.table("attendance_by_year", ("period", "sessions_held", "visits",
                                         "mean_visits_per_session"))
    head = ctx.tr("### Fréquentation", "### Attendance")
    if t is None:
        return [head, _not_recorded(ctx, "Fréquentation", "Attendance")]
    lang = ctx.lang
    t = _by_period(t)
    held = pd.to_numeric(t["sessions_held"], errors="coerce")
    t = t.loc[(held > 0).fillna(False).to_numpy()]
    if t.empty:
        return [head, ctx.tr("Aucune permanence tenue dans les données.",
                             "No session held in the data.")]
    periods = t["period"].tolist()
    p = _headline(periods, period)
    r = t.loc[t["period"] == p].iloc[0]

    def ci(row):  # a mean is an estimate: it comes with its interval
        if "ci_low" in t and _num(row.get("ci_low")) is not None \
                and _num(row.get("ci_high")) is not None:
            return f" ({fmt_interval(row['ci_low'], row['ci_high'], 2, lang)})"
        return ""

    def mean(row):
        return fmt_number(row["mean_visits_per_session"], 2, lang)

    visits = fmt_number(r["visits"], 0, lang)
    held = fmt_number(r["sessions_held"], 0, lang)
    others = [t.loc[t["period"] == q].iloc[0] for q in _compared(periods, p)]
    if others:
        f = others[0]
        sent = ctx.tr(
            f"La fréquentation est passée de {mean(f)} personnes par permanence en "
            f"{f['period']}{ci(f)} à {mean(r)} en {p}{ci(r)}.",
            f"Attendance went from {mean(f)} people per session in {f['period']}{ci(f)} to "
            f"{mean(r)} in {p}{ci(r)}.")
        if len(others) > 1:
            q = others[1]
            sent += " " + ctx.tr(f"Elle était de {mean(q)} en {q['period']}{ci(q)}.",
                                 f"It was {mean(q)} in {q['period']}{ci(q)}.")
        sent += " " + ctx.tr(
            f"En {p}, la permanence a accueilli {visits} passages lors de {held} "
            f"{_pl(r['sessions_held'], 'permanence', lang)}.",
            f"In {p}, the drop-in welcomed {visits} {_pl(r['visits'], 'visit', lang)} over "
            f"{held} {_pl(r['sessions_held'], 'session', lang)}.")
    else:
        sent = ctx.tr(
            f"En {p}, la permanence a accueilli {visits} passages lors "
            f"de {held} {_pl(r['sessions_held'], 'permanence', lang)}, "
            f"soit {mean(r)} personnes en moyenne par permanence{ci(r)}.",
            f"In {p}, the drop-in welcomed {visits} {_pl(r['visits'], 'visit', lang)} over "
            f"{held} {_pl(r['sessions_held'], 'session', lang)}, that is "
            f"{mean(r)} people per session on average{ci(r)}.")
    parts = [sent]
    canc = _num(r.get("sessions_cancelled")) if "sessions_cancelled" in t else None
    if canc:
        n = fmt_number(canc, 0, lang)
        parts.append(ctx.tr(
            f"Par ailleurs, {n} permanence a été annulée." if canc == 1
            else f"Par ailleurs, {n} permanences ont été annulées.",
            f"In addition, {n} session was cancelled." if canc == 1
            else f"In addition, {n} sessions were cancelled."))
    people = _num(r.get("distinct_people")) if "distinct_people" in t else None
    if people is not None:
        s = ctx.tr(f"Au total, {ctx.person_count(people)} personnes différentes sont venues",
                   f"In all, {ctx.person_count(people)} different people came")
        if "first_time_visitors" in t and not pd.isna(r.get("first_time_visitors")):
            s += ctx.tr(f", dont {ctx.person_count(r['first_time_visitors'])} pour la première fois",
                        f", {ctx.person_count(r['first_time_visitors'])} of them for the first time")
        parts.append(s + ".")
    elif "first_time_visitors" in t and not pd.isna(r.get("first_time_visitors")):
        parts.append(ctx.tr(
            f"Parmi elles, {ctx.person_count(r['first_time_visitors'])} personnes venaient pour "
            f"la première fois.",
            f"Of these, {ctx.person_count(r['first_time_visitors'])} people came for the first "
            f"time."))
    lines = [head, " ".join(parts), ""]
    if len(t) > 1:
        lines.append(ctx.tr("Passages par permanence, par année :",
                            "Visits per session, by year:"))
        for _, row in t.iterrows():
            lines.append(ctx.tr(
                f"- {row['period']} : {mean(row)}{ci(row)}, {fmt_number(row['visits'], 0, lang)} "
                f"passages, "
                f"{fmt_number(row['sessions_held'], 0, lang)} "
                f"{_pl(row['sessions_held'], 'permanence', lang)}",
                f"- {row['period']}: {mean(row)}{ci(row)}, {fmt_number(row['visits'], 0, lang)} "
                f"{_pl(row['visits'], 'visit', lang)}, "
                f"{fmt_number(row['sessions_held'], 0, lang)} "
                f"{_pl(row['sessions_held'], 'session', lang)}"))
    return lines


_GROUP_PHRASES = {
    ("chemsex", "yes"): ("personnes pratiquant le chemsex", "people practising chemsex"),
    ("injects", "yes"): ("personnes pratiquant l'injection", "people who inject"),
}


def _highlights(config) -> list[tuple[str, str, str, str]]:
    """(field, group, French noun phrase, English noun phrase) of the profile figures to report.

    The reporting groups of ``config.reporting_groups`` first (their labels,
    first letter lowered), then chemsex and injecting.
    """
    out = []
    groups = getattr(config, "reporting_groups", None) or {}
    for fld, spec in groups.items():
        for code, g in (spec or {}).items():
            g = g or {}
            fr = str(g.get("label_fr", code))
            en = str(g.get("label_en", code))
            out.append((fld, code, fr[:1].lower() + fr[1:], en[:1].lower() + en[1:]))
    for (fld, code), (fr, en) in _GROUP_PHRASES.items():
        out.append((fld, code, fr, en))
    return out


def _group_rows(t: pd.DataFrame, fld: str, code: str) -> pd.DataFrame:
    rows = t.loc[(t["field"] == fld) & (t["group"] == code)]
    if "level" in rows and rows["level"].nunique() > 1:
        keep = "reporting" if "reporting" in set(rows["level"]) else rows["level"].iloc[0]
        rows = rows.loc[rows["level"] == keep]
    return rows


def _share_interval(ctx, row) -> str:
    """" (IC 95 % : 29–49 %)" from a published row's ``ci_low``/``ci_high`` ("" if absent)."""
    lo, hi = _num(row.get("ci_low")), _num(row.get("ci_high"))
    if lo is None or hi is None:
        return ""
    a, b = fmt_number(lo * 100, 0, ctx.lang), fmt_number(hi * 100, 0, ctx.lang)
    return ctx.tr(f" (IC 95{NBSP}% : {a}–{b}{NBSP}%)", f" (95% CI {a}–{b}%)")


def _too_few(ctx, periods: list[str]) -> str:
    """"effectif trop petit pour être publié en 2021" (several periods joined)."""
    when = _join([str(q) for q in periods], ctx.lang)
    return ctx.tr(f"effectif trop petit pour être publié en {when}",
                  f"too few people to publish in {when}")


def _profile_sentence(ctx, noun, p, r, others) -> str:
    """One sentence for a group's share in period ``p``, compared with ``others`` (rows).

    A share is an estimate: it comes with its Wilson interval when the published
    table has one. A comparison period whose value is suppressed is said in words
    ("effectif trop petit pour être publié en 2021"), never as "< 5".
    """
    display = r.get("count_display") if "count_display" in r.index else None
    text, kind = ctx.person_share_phrase(r["count"], r["denominator"], display)
    den = ctx.person_count(r["denominator"])
    parts, hidden = [], []
    for o in others:
        otext, okind = ctx.person_share_phrase(
            o["count"], o["denominator"],
            o.get("count_display") if "count_display" in o.index else None)
        if okind == "share":
            parts.append(ctx.tr(f"{otext} en {o['period']}", f"{otext} in {o['period']}")
                         + _share_interval(ctx, o))
        else:
            hidden.append(o)
    comp = ""
    if parts:
        comp = ctx.tr(", contre ", ", against ") + _join(parts, ctx.lang)
    # a cell hidden to protect another one (secondary suppression) is not "too few people"
    small = [o["period"] for o in hidden if str(o.get("suppression", "")) != "secondary"]
    other = [o["period"] for o in hidden if str(o.get("suppression", "")) == "secondary"]
    if small:
        comp += ctx.tr(" ; ", "; ") + _too_few(ctx, small)
    if other:
        when = _join([str(q) for q in other], ctx.lang)
        comp += ctx.tr(f" ; non publié en {when} pour protéger de petits effectifs voisins",
                       f"; not published in {when}, to protect small neighbouring counts")
    if kind == "share":
        return ctx.tr(f"En {p}, les {noun} représentaient {text}{_share_interval(ctx, r)} des "
                      f"{den} personnes différentes accueillies{comp}.",
                      f"In {p}, {noun} made up {text}{_share_interval(ctx, r)} of the {den} "
                      f"different people welcomed{comp}.")
    if kind == "count":
        return ctx.tr(f"En {p}, les {noun} étaient {text} parmi les {den} personnes "
                      f"différentes accueillies{comp}.",
                      f"In {p}, {noun} numbered {text} among the {den} different people "
                      f"welcomed{comp}.")
    return ctx.tr(f"En {p}, la part des {noun} n'est pas publiée ({text} : petit effectif).",
                  f"In {p}, the share of {noun} is not published ({text}: small numbers).")


def _profiles(ctx, period) -> list[str]:
    head = ctx.tr("### Publics accueillis", "### Who comes")
    t = ctx.table("profiles_by_year", ("period", "field", "group", "count", "denominator"))
    if t is None:
        return [head, _not_recorded(ctx, "Profils des personnes", "Profiles of the people"),
                *_before_after(ctx)]
    if "unit" in t:
        t = t.loc[t["unit"] == "people"]
    if t.empty:
        return [head, ctx.tr(
            "Profils par personne : non disponibles (pas de code personne dans les données).",
            "Profiles per person: not available (no visitor codes in the data).")]
    t = _by_period(t)
    lines = [head]
    every = list(dict.fromkeys(t["period"].tolist()))  # periods of the table, any field
    for fld, code, fr, en in _highlights(ctx.config):
        rows = _group_rows(t, fld, code)
        if rows.empty:
            continue
        periods = rows["period"].tolist()
        p = _headline(periods, period)
        r = rows.loc[rows["period"] == p].iloc[0]
        # the first period, then the previous one; a period whose block of this field was
        # not published (too few people to protect it) is said in words, like a small cell
        others = []
        for q in _compared(every, p):
            hit = rows.loc[rows["period"] == q]
            others.append(hit.iloc[0] if len(hit) else pd.Series(
                {"period": q, "count": pd.NA, "denominator": pd.NA, "suppression": "withheld"}))
        lines.append("- " + _profile_sentence(ctx, fr if ctx.lang == "fr" else en, p, r, others))
    lines.extend(_before_after(ctx))
    if len(lines) == 1:
        lines.append(_not_recorded(ctx, "Profils des personnes", "Profiles of the people"))
    else:
        lines.append("")
        lines.append(ctx.tr(
            "Parts calculées sur les personnes différentes (une personne comptée une fois par "
            "année), non-réponses comprises dans le dénominateur.",
            "Shares of different people (each person counted once a year), with 'not stated' "
            "answers kept in the denominator."))
    return lines


def _minus(s: str, *, signed: bool = False) -> str:
    """A formatted number with a true minus sign (U+2212); ``signed``: "+" before a positive.

    >>> _minus("-41"), _minus("12", signed=True), _minus("0", signed=True)
    ('−41', '+12', '0')
    """
    if s.startswith("-"):
        return "\u2212" + s[1:]
    return "+" + s if signed and s not in ("0", "–") else s


def _points(x, lang) -> str:
    """A difference of shares in percentage points: "−27", "+5", "0" (true minus sign)."""
    s = fmt_number(float(x) * 100, 0, lang)
    if s.startswith("-"):
        return "\u2212" + s[1:]
    return s if s == "0" else "+" + s


def _side_months(row, lang) -> str:
    """ "novembre 2021–mai 2023": the months of a side's first and last session, if given."""
    a, b = row.get("period_start"), row.get("period_end")
    if any(x is None or pd.isna(x) or not str(x).strip() for x in (a, b)):
        return ""
    try:
        a, b = _fmt_month(a, lang), _fmt_month(b, lang)
    except (ValueError, TypeError):
        return ""
    return a if a == b else f"{a}–{b}"


def _before_after(ctx) -> list[str]:
    """One sentence per context event: cis men practising chemsex, before vs since the event.

    Reads ``profiles_before_after`` (field ``chemsex_cis_men``, group ``yes``,
    people): the two shares through the disclosure helpers, the difference and
    its Newcombe interval as published (blank when either side is hidden).
    """
    t = ctx.table("profiles_before_after",
                  ("event", "field", "group", "period", "count", "denominator"))
    if t is None:
        return []
    t = t.loc[(t["field"].astype(str) == "chemsex_cis_men") & (t["group"].astype(str) == "yes")]
    if "unit" in t:
        t = t.loc[t["unit"].astype(str) == "people"]
    if "event_kind" in t:
        t = t.loc[t["event_kind"].astype(str) != "change"]
    lines = []
    for ev, g in t.groupby(t["event"].astype(str), sort=True):
        b, a = g.loc[g["period"] == "before"], g.loc[g["period"] == "after"]
        if b.empty or a.empty:
            continue
        b, a = b.iloc[0], a.iloc[0]
        lab = str(b.get("event_label_fr" if ctx.lang == "fr" else "event_label_en", "") or "")
        lab = "" if lab == "nan" else lab
        day = b.get("event_date")
        day = ev if day is None or pd.isna(day) or not str(day).strip() else day
        try:
            when = _fmt_date(day, ctx.lang)
        except (ValueError, TypeError):
            continue
        what = f"{when} ({lab[:1].lower() + lab[1:]})" if lab else when
        sb, kb = ctx.person_share_phrase(b["count"], b["denominator"], b.get("count_display"))
        sa, ka = ctx.person_share_phrase(a["count"], a["denominator"], a.get("count_display"))
        if kb == ka == "share":
            sides = []
            for r, s in ((b, sb), (a, sa)):
                n = ctx.person_count(r["denominator"])
                win = r.get("window")
                win = "" if win is None or pd.isna(win) or not str(win).strip() else str(win)
                if win:  # a reporting period: "42 % en 2022 (67 personnes)"
                    sides.append(f"{s} {ctx.tr('en', 'in')} {win} "
                                 f"({n} {ctx.tr('personnes', 'people')})")
                    continue
                m = _side_months(r, ctx.lang)
                sides.append(f"{s} ({n} {ctx.tr('personnes', 'people')}"
                             + (f", {m})" if m else ")"))
            d, lo, hi = (_num(b.get(c)) for c in ("difference", "diff_ci_low", "diff_ci_high"))
            diff = ""
            if None not in (d, lo, hi):
                diff = ctx.tr(
                    f", soit une différence de {_points(d, 'fr')} points (IC 95{NBSP}% : "
                    f"{_points(lo, 'fr')} à {_points(hi, 'fr')})",
                    f", a difference of {_points(d, 'en')} points (95% CI {_points(lo, 'en')} "
                    f"to {_points(hi, 'en')})")
            lines.append("- " + ctx.tr(
                f"Autour du {what}, la part des hommes cis pratiquant le chemsex parmi les "
                f"personnes différentes accueillies est passée de {sides[0]} à {sides[1]}{diff} ; "
                "cette évolution coïncide avec l'événement, elle ne montre pas qu'il en est "
                "la cause.",
                f"Around {what}, the share of cis men practising chemsex among the different "
                f"people welcomed went from {sides[0]} to {sides[1]}{diff}; this change coincides "
                "with the event, it does not show that the event caused it."))
        else:
            lines.append("- " + ctx.tr(
                f"Autour du {what}, la part des hommes cis pratiquant le chemsex n'est pas "
                f"publiée (petits effectifs : {sb} avant, {sa} depuis).",
                f"Around {what}, the share of cis men practising chemsex is not published "
                f"(small numbers: {sb} before, {sa} since)."))
    return lines


def _theming_parts(theming, lang) -> dict | None:
    """Pull the verdict text, evidence grade and main estimate out of a theming result.

    Accepts a :class:`qsp_eval.theming.ThemingResult` (``verdict.text(lang)``,
    ``verdict.evidence``, ``themed_vs_plain`` table with an ``outcome``
    column) or the mapping of ``ThemingResult.to_dict()`` / ``qsp-eval
    theming --json`` (``verdict`` ``{text, text_fr, text_en, evidence}``,
    ``themed_vs_plain`` ``{"visits": {rate_ratio, ci_low, ci_high}}``).
    """
    if theming is None:
        return None

    def get(obj, key):
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            return obj.get(key)
        return getattr(obj, key, None)

    verdict = get(theming, "verdict")
    text = evidence = None
    if isinstance(verdict, str):
        text = verdict
    elif verdict is not None:
        t = get(verdict, "text")
        text = t(lang) if callable(t) else (get(verdict, f"text_{lang}") or t)
        evidence = get(verdict, "evidence")
    evidence = evidence or get(theming, "evidence")
    tvp = get(theming, "themed_vs_plain")
    est = None
    if isinstance(tvp, pd.DataFrame) and "outcome" in tvp:
        rows = tvp.loc[tvp["outcome"] == "visits"]
        est = rows.iloc[0].to_dict() if len(rows) else None
    elif isinstance(tvp, Mapping):
        est = tvp.get("visits")
    if isinstance(est, Mapping) and est.get("status", "estimated") != "estimated":
        est = None
    estimable = get(theming, "estimable")
    estimable = True if estimable is None else bool(estimable)
    if evidence == "not_estimable":
        estimable = False
    overall = get(theming, "overall")
    if not (isinstance(overall, Mapping) and overall.get("status") == "estimated"):
        overall = None
    method = get(theming, "method")
    if callable(method):
        method = method(lang)
    elif isinstance(method, Mapping):
        method = method.get("text")
    return {"text": text, "evidence": evidence, "estimate": est, "estimable": estimable,
            "overall": overall, "method": method or None}


def _evidence_labels() -> dict:
    """Evidence grades of :mod:`qsp_eval.theming` (the same words as its verdict)."""
    from .theming import EVIDENCE_LABELS

    return EVIDENCE_LABELS


def _theming(ctx) -> list[str]:
    head = ctx.tr("### Thématisation des permanences", "### Themed sessions")
    parts = _theming_parts(ctx.theming, ctx.lang)
    if parts is None or not parts.get("text"):
        return [head, _not_recorded(ctx, "Effet de la thématisation",
                                    "Effect of theming")]
    text = str(parts["text"])
    lines = [head, text]
    if not parts.get("estimable", True):
        return lines  # the one sentence saying why nothing could be estimated
    ev = parts.get("evidence")
    said = ("niveau de preuve" in text.lower() or "strength of evidence" in text.lower())
    if ev and not said:
        fr, en = _evidence_labels().get(str(ev), (str(ev), str(ev)))
        lines.append("")
        lines.append(ctx.tr(f"Niveau de preuve : {fr}.", f"Strength of evidence: {en}."))
    if parts.get("method"):
        lines.append("")
        lines.append(str(parts["method"]))
    return lines


def _test_items(ctx, labels: list[str], counts: list[str]) -> str:
    """"6 TROD VIH, 6 TROD VHC et 2 TROD VHB" / "6 HIV, 6 HCV and 2 HBV rapid tests"."""
    lang = ctx.lang
    suffix = " rapid test"
    if lang == "en" and labels and all(x.endswith(suffix) for x in labels):
        return _join([f"{n} {x[: -len(suffix)]}" for n, x in zip(counts, labels, strict=True)],
                     lang) + " rapid tests"
    items = []
    for n, x in zip(counts, labels, strict=True):
        if lang == "en" and x.endswith("test") and _num(n) != 1:
            x += "s"
        items.append(f"{n} {x}")
    return _join(items, lang)


def _services(ctx, period) -> list[str]:
    lang = ctx.lang
    head = ctx.tr("### Prestations et dépistage", "### Services and screening")
    lines = [head]
    total = ctx.table("services_total", ("period", "service", "count"))
    rt = ctx.table("rapid_tests_by_year", ("period", "service", "count"))
    if rt is None:
        lines.append(_not_recorded(ctx, "Dépistage rapide (TROD)", "Rapid tests"))
    else:
        rt = _by_period(rt)
        periods = rt["period"].unique().tolist()
        p = _headline(periods, period)
        shown = [p, *_compared(periods, p)]
        # the tests done in any period compared (a 0 then reads "0", never a gap)
        codes = [c for c in dict.fromkeys(rt["service"].astype(str))
                 if any(_num(v) != 0 for v in rt.loc[(rt["service"].astype(str) == c)
                                                     & rt["period"].isin(shown), "count"])]
        if not codes:
            lines.append(ctx.tr(f"En {p}, aucun test rapide n'a été enregistré.",
                                f"In {p}, no rapid test was recorded."))
        else:
            def counts(q):
                out = []
                for c in codes:
                    g = rt.loc[(rt["period"] == q) & (rt["service"].astype(str) == c)]
                    if len(g):
                        disp = g["count_display"].iloc[0] if "count_display" in g else None
                        out.append(ctx.activity(g["count"].iloc[0], disp))
                    else:  # rapid_tests gives every test every period: absent = none
                        out.append(fmt_number(0, 0, lang))
                return out

            g = rt.loc[rt["period"] == p]
            labels = [_row_label(g.loc[g["service"].astype(str) == c].iloc[0], "service", lang)
                      if (g["service"].astype(str) == c).any() else vlabel("service", c, lang)
                      for c in codes]
            sent = ctx.tr(f"En {p}, {_test_items(ctx, labels, counts(p))} ont été réalisés",
                          f"In {p}, {_test_items(ctx, labels, counts(p))} were done")
            comp = [ctx.tr(f"{_join(counts(q), lang)} en {q}", f"{_join(counts(q), lang)} in {q}")
                    for q in _compared(periods, p)]
            if comp:
                sent += ctx.tr(", contre ", ", against ") + _join(comp, lang)
            lines.append(sent + ".")
            if total is not None:
                tt = total.loc[total["service"].astype(str).isin(codes)]
                if len(tt) and len(set(tt["period"].astype(str))) == 1:
                    tp = str(tt["period"].iloc[0])
                    tl = [_row_label(tt.loc[tt["service"].astype(str) == c].iloc[0], "service",
                                     lang) for c in codes if (tt["service"].astype(str) == c).any()]
                    tc = [ctx.activity(r["count"], r.get("count_display"))
                          for c in codes for _, r in tt.loc[tt["service"].astype(str) == c]
                          .iterrows()]
                    if tp != p:
                        lines[-1] += " " + ctx.tr(
                            f"{_over(tp, 'fr')}, {_test_items(ctx, tl, tc)} au total.",
                            f"{_over(tp, 'en')}, {_test_items(ctx, tl, tc)} in all.")
    sv = ctx.table("services_by_year", ("period", "service", "count"))
    if sv is not None:
        sv = _by_period(sv)
        sv = sv.loc[~sv["service"].astype(str).str.startswith(("trod_", "sample_"))]
        if not sv.empty:
            periods = sv["period"].unique().tolist()
            p = _headline(periods, period)
            g = sv.loc[(sv["period"] == p)]
            tot = {}
            tp = None
            if total is not None and len(set(total["period"].astype(str))) == 1:
                tp = str(total["period"].iloc[0])
                tot = {str(r["service"]): ctx.activity(r["count"], r.get("count_display"))
                       for _, r in total.iterrows()}
            sep = " : " if lang == "fr" else ": "
            items = []
            for _, r in g.iterrows():
                if _num(r["count"]) == 0:
                    continue
                x = f"{_row_label(r, 'service', lang)}{sep}" \
                    f"{ctx.activity(r['count'], r.get('count_display'))}"
                if tp is not None and tp != p and str(r["service"]) in tot:
                    x += f" ({_span_words(tp, lang)}{sep}{tot[str(r['service'])]})"
                items.append(x)
            if items:
                lines.append("")
                lines.append(ctx.tr(f"Autres prestations en {p} :", f"Other services in {p}:"))
                lines.extend(f"- {x}" for x in items)
    return lines


def _routes(ctx, g) -> tuple[str, str]:
    by = {r["route"]: ctx.activity(r["count"], r.get("count_display")) for _, r in g.iterrows()}
    zero = fmt_number(0, 0, ctx.lang)
    return by.get("on_site", zero), by.get("national_network", zero)


def _drug_checking(ctx) -> list[str]:
    head = ctx.tr("### Analyse de produits", "### Drug checking")
    t = ctx.table("drug_checking", ("period", "route", "count"))
    by_year = ctx.table("drug_checking_by_year", ("period", "route", "count"))
    if t is None and by_year is None:
        return [head, _not_recorded(ctx, "Analyse de produits", "Drug checking")]
    lines = [head]
    for p, g in _by_period(t if t is not None else by_year).groupby("period", sort=False):
        on, net = _routes(ctx, g)
        fr1, en1 = on in ("0", "1"), on == "1"  # French: 0 and 1 take the singular
        lines.append(ctx.tr(
            f"{_over(p, 'fr')}, {on} échantillon{'' if fr1 else 's'} "
            f"{'a' if fr1 else 'ont'} été analysé{'' if fr1 else 's'} sur place par "
            f"chromatographie sur couche mince (CCM) et {net} "
            f"envoyé{'' if net in ('0', '1') else 's'} au réseau national SINTES.",
            f"{_over(p, 'en')}, {on} sample{'' if en1 else 's'} {'was' if en1 else 'were'} "
            f"analysed on site by thin-layer chromatography (TLC) and {net} sent to the "
            "national SINTES network."))
    if t is not None and by_year is not None and by_year["period"].nunique() > 1:
        lines.append("")
        lines.append(ctx.tr("Par année :", "By year:"))
        for p, g in _by_period(by_year).groupby("period", sort=False):
            on, net = _routes(ctx, g)
            lines.append(ctx.tr(f"- {p} : {on} analysé{'' if on in ('0', '1') else 's'} sur "
                                f"place, {net} envoyé{'' if net in ('0', '1') else 's'} au "
                                "réseau SINTES",
                                f"- {p}: {on} analysed on site, {net} sent to the SINTES network"))
    return lines


def _material(ctx) -> list[str]:
    lang = ctx.lang
    head = ctx.tr("### Matériel distribué", "### Material handed out")
    cat = ctx.table("material_by_category", ("period", "category", "count"))
    items = ctx.table("material_items", ("period", "item", "count"))
    if cat is None and items is None:
        return [head, _not_recorded(ctx, "Matériel distribué", "Material handed out")]
    lines = [head]
    periods = _by_period(cat if cat is not None else items)["period"].unique().tolist()
    for p in periods:
        if cat is not None:
            g = cat.loc[cat["period"].astype(str) == p]
            by = {r["category"]: ctx.activity(r["count"], r.get("count_display"))
                  for _, r in g.iterrows()}
            drug = by.get("drug_use", fmt_number(0, 0, lang))
            sex = by.get("sexual_health", fmt_number(0, 0, lang))
            lines.append(ctx.tr(
                f"{_over(p, 'fr')}, {drug} articles de réduction des risques liés aux drogues "
                f"et {sex} articles de santé sexuelle ont été distribués.",
                f"{_over(p, 'en')}, {drug} drug-use harm-reduction items and {sex} "
                f"sexual-health items were handed out."))
        if items is not None:
            g = items.loc[items["period"].astype(str) == p].copy()
            g["_n"] = pd.to_numeric(g["count"], errors="coerce")
            g = g.loc[g["_n"] > 0].sort_values("_n", ascending=False, kind="stable")
            if len(g):
                lines.append("")
                lines.append(ctx.tr(f"Détail par article ({_span_words(p, 'fr')}) :",
                                    f"By item ({_span_words(p, 'en')}):"))
                for _, r in g.iterrows():
                    sep = " : " if lang == "fr" else ": "
                    lines.append(f"- {_row_label(r, 'item', lang)}{sep}"
                                 f"{ctx.activity(r['count'], r.get('count_display'))}")
        lines.append("")
    return lines[:-1] if lines[-1] == "" else lines


def _survey_label(ctx, row, survey):
    col = "survey_label_fr" if ctx.lang == "fr" else "survey_label_en"
    if col in row.index and isinstance(row[col], str) and row[col]:
        return row[col]
    spec = (getattr(ctx.config, "surveys", None) or {}).get(survey) or {}
    return (spec.get("label_fr" if ctx.lang == "fr" else "label_en") or spec.get("label_fr")
            or str(survey))


def _question_label(ctx, row, survey, question):
    col = "question_label_fr" if ctx.lang == "fr" else "question_label_en"
    if col in row.index and isinstance(row[col], str) and row[col]:
        return row[col]
    spec = ((getattr(ctx.config, "surveys", None) or {}).get(survey) or {}).get("questions") or {}
    q = spec.get(question) or {}
    return (q.get("label_fr" if ctx.lang == "fr" else "label_en") or q.get("label_fr")
            or str(question))


def _answer_label(ctx, row):
    col = "label_fr" if ctx.lang == "fr" else "label_en"
    if col in row.index and isinstance(row[col], str) and row[col]:
        return row[col]
    a = str(row["answer"])
    if a in ("yes", "no", "unknown"):
        return vlabel("yes_no_unknown", a, ctx.lang)
    return a.replace("_", " ")


def _surveys(ctx) -> list[str]:
    head = ctx.tr("### Questionnaires", "### Surveys")
    t = ctx.table("survey_results", ("survey", "question", "answer", "count", "denominator"))
    if t is None:
        return [head, _not_recorded(ctx, "Questionnaires", "Surveys")]
    lang = ctx.lang
    lines = [head]
    for survey, g in t.groupby("survey", sort=True):
        first = g.iloc[0]
        lab = _survey_label(ctx, first, survey)
        n = _num(first.get("respondents")) if "respondents" in g else None
        if n is not None:
            lines.append(ctx.tr(f"{lab} : {fmt_number(n, 0, lang)} réponses.",
                                f"{lab}: {fmt_number(n, 0, lang)} responses."))
        else:
            lines.append(f"{lab} :" if lang == "fr" else f"{lab}:")
        for question, q in g.groupby("question", sort=False):
            q = q.loc[~q["answer"].astype(str).isin(["free_text", "<free_text>"])].copy()
            qtype = str(q["type"].iloc[0]) if "type" in q and len(q) else ""
            if q.empty or qtype == "free_text":
                continue
            q["_n"] = pd.to_numeric(q["count"], errors="coerce")
            answers = q["answer"].astype(str)
            if "yes" in set(answers):
                top = q.loc[answers == "yes"].iloc[0]
            else:
                top = q.sort_values("_n", ascending=False, kind="stable").iloc[0]
            qlab = _question_label(ctx, top, survey, question)
            ans = _answer_label(ctx, top)
            how = ctx.person_share_phrase(top["count"], top["denominator"],
                                          top.get("count_display"))
            den = ctx.person_count(top["denominator"])
            if how[1] in ("share", "count"):  # "38 % des 31" or "< 5 des 31"
                ci = _share_interval(ctx, top) if how[1] == "share" else ""
                body = ctx.tr(f"{ans} pour {how[0]}{ci} des {den} répondant·es",
                              f"{ans} for {how[0]}{ci} of {den} respondents")
            else:
                body = ctx.tr(f"{ans} : part non publiée ({how[0]}, petit effectif)",
                              f"{ans}: share not published ({how[0]}, small numbers)")
            if qtype == "vote":
                body = ctx.tr("choix le plus fréquent : ", "most frequent choice: ") + body
            lines.append(f"- « {qlab} » : {body}." if lang == "fr" else f"- '{qlab}': {body}.")
    return lines


def _window_sentences(ctx) -> list[str]:
    """The reporting window, stated at the head of the method paragraph ([] without one)."""
    w = getattr(ctx, "window", None)
    if not w or w.get("start") is None or w.get("end") is None:
        return []
    lang = ctx.lang
    a, b = _fmt_date(w["start"], lang), _fmt_date(w["end"], lang)
    out = [ctx.tr(f"Ces résultats portent sur la période du {a} au {b}, choisie pour ce rapport",
                  f"These results cover the period from {a} to {b}, chosen for this report")]
    if w.get("data_start") is not None and w.get("data_end") is not None:
        out[0] += ctx.tr(
            f" parmi les données enregistrées (du {_fmt_date(w['data_start'], 'fr')} au "
            f"{_fmt_date(w['data_end'], 'fr')})",
            f" out of the recorded data ({_fmt_date(w['data_start'], 'en')} to "
            f"{_fmt_date(w['data_end'], 'en')})")
    out[0] += ctx.tr(
        " : les tableaux, les figures et les chiffres du texte ne comptent que les permanences "
        "de cette période ; "
        "seule l'analyse de la thématisation utilise toutes les données, car ses modèles "
        "ont besoin des permanences d'avant le changement comme référence.",
        ": the tables, charts and numbers in the text count the sessions of this period only; "
        "only the theming analysis uses all the data, as its models need the sessions before "
        "the change as their baseline.")
    out.append(ctx.tr(
        "Les réponses aux questionnaires ne sont pas datées : elles sont présentées en entier. "
        "Les personnes venues avant la période y comptent comme nouvelles pour la "
        "fidélisation.",
        "Survey responses carry no date: they are shown in full. People who came before the "
        "period count as new there for loyalty."))
    return out


def _theming_window_note(ctx) -> str:
    """Said under the theming heading when a window is set ("" otherwise)."""
    w = getattr(ctx, "window", None)
    if not w or w.get("end") is None:
        return ""
    start = w.get("change_start")
    if start is None:
        th = ctx.theming
        start = (th.get("start") if isinstance(th, Mapping) else getattr(th, "start", None))
    if start is None or pd.isna(pd.Timestamp(start)):
        return ""
    c = _fmt_date(start, ctx.lang)
    if pd.Timestamp(w["end"]) < pd.Timestamp(start):
        return ctx.tr(
            f"La période de ce rapport se termine avant le début du changement évalué (le {c}) : "
            "elle le précède. Ce qui suit est calculé sur toutes les données enregistrées, "
            "permanences d'après la période comprises, et ne décrit pas la période.",
            f"The period of this report ends before the change under evaluation starts ({c}): "
            "it precedes the change. What follows is computed on all the recorded data, "
            "sessions after the period included, and does not describe the period.")
    return ctx.tr(
        f"Cette analyse utilise toutes les données enregistrées : les permanences d'avant le "
        f"changement (le {c}) lui servent de référence, même hors de la période du rapport.",
        f"This analysis uses all the recorded data: the sessions before the change ({c}) are "
        "its baseline, even outside the period of the report.")


def _method(ctx) -> list[str]:
    cfg = ctx.config
    lines = [ctx.tr("### Méthode et limites", "### Method and limitations")]
    text = [*_window_sentences(ctx), ctx.tr(
        "Les chiffres portent sur de petits effectifs (quelques personnes par permanence) : "
        f"chaque moyenne est donnée avec son intervalle de confiance à 95{NBSP}%, calculé pour "
        "des comptages (loi de Poisson, élargi quand les comptages varient plus que ne le "
        "prévoit cette loi), et les évolutions sont estimées par des modèles de "
        "comptage (Poisson, quasi-Poisson ou binomiale négative).",
        "The figures rest on small numbers (a few people per session): each mean comes with "
        "its 95% confidence interval, computed for counts (Poisson, widened when counts vary "
        "more than that law predicts), and changes are "
        "estimated with count models (Poisson, quasi-Poisson or negative binomial).")]
    text.append(ctx.tr(
        "Les évolutions sont « associées à » un changement, sans preuve de causalité : "
        "d'autres facteurs ont pu jouer en même temps.",
        "Changes are 'associated with' an intervention, not proven to be caused by it: other "
        "factors may have acted at the same time."))
    for ev in getattr(cfg, "events", ()) or ():
        text.append(ctx.tr(
            f"En particulier, l'événement « {ev.label('fr')} » ({_fmt_month(ev.date, 'fr')}) "
            f"coïncide avec une partie des évolutions observées et ne peut pas en être "
            f"entièrement séparé.",
            f"In particular, the event '{ev.label('en')}' ({_fmt_month(ev.date, 'en')}) "
            f"coincides with part of the changes seen and cannot be fully separated from them."))
    text.append(ctx.tr(
        "Les données ne disent rien des personnes qui ne viennent pas, ni de ce que deviennent "
        "celles qui viennent ; les non-réponses sont comptées à part.",
        "The data say nothing about people who do not come, nor about what happens to those "
        "who do; unanswered questions are counted separately."))
    text.append(ctx.tr(
        f"Pour protéger les personnes, les effectifs de moins de {ctx.threshold} personnes "
        f"sont masqués et affichés « {ctx.suppressed} ».",
        f"To protect people, counts of fewer than {ctx.threshold} people are hidden and shown "
        f"as '{ctx.suppressed}'."))
    base = getattr(ctx.rules, "round_to", None)
    if base:
        text.append(ctx.tr(f"Les effectifs de personnes publiés sont arrondis à {base} près.",
                           f"Published counts of people are rounded to the nearest {base}."))
    lines.append(" ".join(text))
    if getattr(cfg, "synthetic", False):
        lines.append("")
        lines.append(ctx.tr(
            "**Attention : ces résultats sont calculés sur des données synthétiques (simulées), "
            "pas sur des données réelles.**",
            "**Warning: these results are computed on synthetic (simulated) data, not on real "
            "data.**"))
    return lines


def build_writeup(tables: Mapping[str, pd.DataFrame], *, theming=None, config=None,
                  lang: str = "fr", rules=None, period=None, window=None) -> str:
    """The "observed results" section of a capitalisation record, in Markdown.

    Parameters
    ----------
    tables : Mapping[str, pandas.DataFrame]
        Published tables keyed by the names of :data:`TABLE_NAMES` (after
        disclosure control: a suppressed cell may be NA or a text such as
        "< 5"; it is then written "< 5").  Absent tables give a "not
        recorded" sentence in their section.
    theming : mapping or object, optional
        The theming result (``verdict`` with ``text`` and ``evidence``,
        ``themed_vs_plain`` with ``visits`` ``{rate_ratio, ci_low,
        ci_high}``), e.g. the object printed by ``qsp-eval theming --json``.
    config : EvaluationConfig
        Reporting groups, events, surveys, ``synthetic``.
    lang : {"fr", "en"}
    rules : optional
        Disclosure rules (default: :func:`qsp_eval.disclosure.rules_from_config`).
    period : str, optional
        Period to headline (default: the last period of each table); it is
        compared with the first period and the one before. The report passes
        the last full year of its window (:attr:`qsp_eval.publish.Settings.headline_period`).
    window : mapping, optional
        The report's window: ``start``, ``end`` (dates), optionally
        ``data_start``, ``data_end`` (first and last recorded session) and
        ``change_start``. Stated at the head of the method paragraph; under the
        theming heading, a note says that the theming analysis uses all the
        data, and when the window ends before the change starts.

    Returns
    -------
    str
        Markdown: a level-2 title and level-3 sections (attendance, who
        comes, theming, services and screening, drug checking, material,
        surveys, method and limitations).  Every number comes from
        ``tables``, ``theming`` or ``config`` (dates), rounded for display.

    Examples
    --------
    >>> att = pd.DataFrame({"period": ["2023"], "sessions_held": [43], "visits": [234],
    ...                     "mean_visits_per_session": [5.4419], "ci_low": [4.77],
    ...                     "ci_high": [6.18]})
    >>> "234 passages lors de 43 permanences" in build_writeup({"attendance_by_year": att})
    True
    """
    from .schema import EvaluationConfig

    ctx = _Ctx(tables, config if config is not None else EvaluationConfig(), lang, rules)
    ctx.theming = theming
    ctx.window = dict(window) if window else None
    theming_block = _theming(ctx)
    note = _theming_window_note(ctx)
    if note:
        theming_block = [theming_block[0], note, "", *theming_block[1:]]
    blocks = [
        [ctx.tr("## Résultats observés", "## Observed results")],
        _attendance(ctx, period),
        _profiles(ctx, period),
        theming_block,
        _services(ctx, period),
        _drug_checking(ctx),
        _material(ctx),
        _surveys(ctx),
        _method(ctx),
    ]
    out = []
    for b in blocks:
        out.append("\n".join([b[0], "", *b[1:]]).rstrip())
    return "\n\n".join(out) + "\n"


def key_figures(tables: Mapping[str, pd.DataFrame], *, theming=None, config=None,
                lang: str = "fr", rules=None, period=None) -> pd.DataFrame:
    """Five to eight key figures for the coordinator's summary page.

    Figures (each only when its table is present): visits, sessions held,
    mean visits per session (with interval), different people, first-time
    visitors, the share of the first reporting group (e.g. trans, agender and
    non-binary people) among different people, rapid tests, and the theming
    rate ratio with the strength of evidence.  The change is against the
    previous period of the same table: a difference (``+34``; shares in
    percentage points).  The only figures computed here are these
    differences of two published values and the total of rapid tests (sum of
    the published HIV, HCV and HBV counts); a suppressed value gives no
    change. The headline period (``period``, default the last one) is compared
    with the period before and, when different, with the first one
    (``"+91 par rapport à 2022, +212 par rapport à 2021"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``key`` (stable code), ``label``, ``period``, ``value``
        (text), ``change`` (text, "" when there is no previous period),
        ``unit`` (text), all in ``lang``.

    Examples
    --------
    >>> att = pd.DataFrame({"period": ["2022", "2023"], "sessions_held": [40, 43],
    ...                     "visits": [200, 234], "mean_visits_per_session": [5.0, 5.44]})
    >>> key_figures({"attendance_by_year": att}, lang="en").loc[0, "change"]
    '+34 vs 2022'
    """
    from .schema import EvaluationConfig

    ctx = _Ctx(tables, config if config is not None else EvaluationConfig(), lang, rules)
    rows = []

    def add(key, lab, p, value, change, unit):
        rows.append({"key": key, "label": lab, "period": p, "value": value,
                     "change": change, "unit": unit})

    def diff(cur, prev, prev_p, decimals=0, pct=False):
        a, b = _num(cur), _num(prev)
        if a is None or b is None or prev_p is None:
            return ""
        d = (a - b) * (100 if pct else 1)
        s = fmt_number(abs(d), decimals, lang)
        sign = "+" if d > 0 else ("−" if d < 0 and s.strip("0,.") else "")
        unit = (f"{NBSP}pt" if lang == "fr" else " pt") if pct else ""
        return f"{sign}{s}{unit} " + ctx.tr(f"par rapport à {prev_p}", f"vs {prev_p}")

    def diffs(cur, comps, decimals=0, pct=False):
        """Changes against the year before, then the first year: "+91 vs 2022, +212 vs 2021"."""
        return ", ".join(x for x in (diff(cur, v, q, decimals, pct) for v, q in comps) if x)

    def compared(ps, i):
        """Row indices compared with row ``i``: the one before, then the first (if different)."""
        return [j for j in dict.fromkeys([i - 1, 0]) if 0 <= j < i]

    att = ctx.table("attendance_by_year", ("period", "sessions_held", "visits",
                                           "mean_visits_per_session"))
    if att is not None:
        att = _by_period(att)
        ps = att["period"].tolist()
        p = _headline(ps, period)
        i = ps.index(p)
        r = att.iloc[i]
        comp_rows = [att.iloc[j] for j in compared(ps, i)]

        def cv(col):
            return [(o[col] if col in o.index else None, o["period"]) for o in comp_rows]

        add("visits", ctx.tr("Passages", "Visits"), p, fmt_number(r["visits"], 0, lang),
            diffs(r["visits"], cv("visits")), ctx.tr("passages", "visits"))
        add("sessions_held", ctx.tr("Permanences tenues", "Sessions held"), p,
            fmt_number(r["sessions_held"], 0, lang),
            diffs(r["sessions_held"], cv("sessions_held")),
            ctx.tr("permanences", "sessions"))
        val = fmt_number(r["mean_visits_per_session"], 2, lang)
        if "ci_low" in att and _num(r.get("ci_low")) is not None:
            val += f" ({fmt_interval(r['ci_low'], r['ci_high'], 2, lang)})"
        add("mean_visits_per_session",
            ctx.tr("Personnes en moyenne par permanence", "People per session on average"), p,
            val, diffs(r["mean_visits_per_session"], cv("mean_visits_per_session"), 2),
            ctx.tr("passages par permanence", "visits per session"))
        if "distinct_people" in att and _num(r.get("distinct_people")) is not None:
            add("distinct_people", ctx.tr("Personnes différentes", "Different people"), p,
                ctx.person_count(r["distinct_people"]),
                diffs(r["distinct_people"], [(v, q) for v, q in cv("distinct_people")
                                             if "<" not in ctx.person_count(v)]),
                ctx.tr("personnes", "people"))
        if "first_time_visitors" in att and not pd.isna(r.get("first_time_visitors")):
            shown = ctx.person_count(r["first_time_visitors"])
            ch = "" if _is_suppressed(shown) or "<" in shown else diffs(
                r["first_time_visitors"], [(v, q) for v, q in cv("first_time_visitors")
                                           if "<" not in ctx.person_count(v)])
            add("first_time_visitors", ctx.tr("Nouvelles personnes", "First-time visitors"), p,
                shown, ch, ctx.tr("personnes", "people"))
    prof = ctx.table("profiles_by_year", ("period", "field", "group", "count", "denominator"))
    hl = [h for h in _highlights(ctx.config) if (h[0], h[1]) not in _GROUP_PHRASES]
    if prof is not None and hl:
        fld, code, fr, en = hl[0]
        rows_ = prof.loc[prof["unit"] == "people"] if "unit" in prof else prof
        rows_ = _group_rows(rows_, fld, code)
        if len(rows_):
            rows_ = _by_period(rows_)
            ps = rows_["period"].tolist()
            p = _headline(ps, period)
            i = ps.index(p)
            r = rows_.iloc[i]

            def disp(row):
                return row.get("count_display") if "count_display" in row.index else None

            shown, kind = ctx.person_share_phrase(r["count"], r["denominator"], disp(r))
            ch = ""
            if kind == "share":
                comps = []
                for j in compared(ps, i):
                    prev = rows_.iloc[j]
                    _, pkind = ctx.person_share_phrase(prev["count"], prev["denominator"],
                                                       disp(prev))
                    if pkind == "share":
                        comps.append((_num(prev["count"]) / _num(prev["denominator"]),
                                      prev["period"]))
                ch = diffs(_num(r["count"]) / _num(r["denominator"]), comps, 0, pct=True)
            lab = fr if lang == "fr" else en
            add(f"share_{fld}_{code}", lab[:1].upper() + lab[1:], p, shown, ch,
                ctx.tr("des personnes différentes", "of different people") if kind == "share"
                else ctx.tr("personnes", "people"))
    rt = ctx.table("rapid_tests_by_year", ("period", "service", "count"))
    if rt is not None:
        rt = _by_period(rt)
        tot = pd.to_numeric(rt["count"], errors="coerce").groupby(rt["period"]).sum()
        ps = tot.index.tolist()
        p = _headline(ps, period)
        i = ps.index(p)
        add("rapid_tests", ctx.tr("Tests rapides (TROD)", "Rapid tests"), p,
            fmt_number(tot.iloc[i], 0, lang),
            diffs(tot.iloc[i], [(tot.iloc[j], ps[j]) for j in compared(ps, i)]),
            ctx.tr("tests", "tests"))
    parts = _theming_parts(theming, lang)
    if parts is not None and parts.get("estimable", True):
        ev = parts.get("evidence")
        evt = _evidence_labels().get(str(ev), (str(ev), str(ev)))[0 if lang == "fr" else 1] if ev else ""
        ev_text = ctx.tr(f"niveau de preuve : {evt}", f"evidence: {evt}") if evt else ""
        ov = parts.get("overall")
        if ov is not None and _num(ov.get("difference")) is not None:
            # (a) the overall change carries the grade
            add("theming_overall",
                ctx.tr("Passages depuis le début de la thématisation, écart à la tendance",
                       "Visits since theming started, gap to the trend"), "",
                f"{_minus(fmt_number(ov['difference'], 0, lang), signed=True)} "
                f"({ctx.tr('IC 95 %', '95% CI')} "
                f"{_minus(fmt_number(ov.get('difference_low'), 0, lang))}"
                f" {ctx.tr('à', 'to')} {_minus(fmt_number(ov.get('difference_high'), 0, lang))})",
                ev_text, ctx.tr("passages", "visits"))
            ev_text = ""
        if isinstance(parts.get("estimate"), Mapping) and all(
                _plausible_ratio(parts["estimate"].get(k))
                for k in ("rate_ratio", "ci_low", "ci_high")):
            est = parts["estimate"]
            add("theming_rate_ratio",
                ctx.tr("Thématisées / non thématisées (rapport des passages)",
                       "Themed / plain sessions (ratio of visits)"), "",
                f"{fmt_number(est['rate_ratio'], 2, lang)} "
                f"({fmt_interval(est.get('ci_low'), est.get('ci_high'), 2, lang)})",
                ev_text, ctx.tr("rapport de taux", "rate ratio"))
    return pd.DataFrame(rows, columns=["key", "label", "period", "value", "change", "unit"])


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _add_runs(par, text: str) -> None:
    pos = 0
    for m in _BOLD.finditer(text):
        if m.start() > pos:
            par.add_run(text[pos:m.start()])
        par.add_run(m.group(1)).bold = True
        pos = m.end()
    if pos < len(text):
        par.add_run(text[pos:])


def _set_language(doc, tag: str) -> None:
    """Set the document's language (default run properties and core properties) to ``tag``."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    lang_el = rpr.find(qn("w:lang"))
    if lang_el is None:
        lang_el = OxmlElement("w:lang")
        rpr.append(lang_el)
    for a in ("w:val", "w:eastAsia", "w:bidi"):
        lang_el.set(qn(a), tag)
    # styles of the default template carry their own language: align them
    for el in styles.iter(qn("w:lang")):
        for a in ("w:val", "w:eastAsia", "w:bidi"):
            el.set(qn(a), tag)
    doc.core_properties.language = tag


def _page_number_footer(section, lang: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    par = section.footer.paragraphs[0] if section.footer.paragraphs else section.footer.add_paragraph()
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    par.add_run("Page " if lang == "fr" else "Page ")
    run = par.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"),
                       ("end", None)):
        if kind is not None:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _add_table(doc, item: Mapping, number: int, lang: str) -> None:
    """A key table as a real Word table, with its caption above (style Caption)."""
    from docx.shared import Pt

    word = "Tableau" if lang == "fr" else "Table"
    cap = doc.add_paragraph(f"{word} {number} – {item.get('caption', '')}".rstrip(" –"),
                            style="Caption")
    cap.paragraph_format.keep_with_next = True
    columns = list(item.get("columns") or [])
    rows = list(item.get("rows") or [])
    ncol = max([len(columns)] + [len(r) for r in rows] + [1])
    table = doc.add_table(rows=1, cols=ncol)
    try:
        table.style = doc.styles["Light Grid Accent 1"]
    except KeyError:  # pragma: no cover - template without this style
        table.style = doc.styles["Table Grid"]
    for j, text in enumerate(columns):
        table.rows[0].cells[j].text = str(text)
    for row in rows:
        cells = table.add_row().cells
        if len(row) == 1 and ncol > 1:
            merged = cells[0].merge(cells[ncol - 1])
            merged.text = str(row[0])
            for r in merged.paragraphs[0].runs:
                r.bold = True
            continue
        for j, text in enumerate(row):
            cells[j].text = str(text)
    for row in table.rows:
        for cell in row.cells:
            for par in cell.paragraphs:
                for r in par.runs:
                    r.font.size = Pt(8.5)
    if item.get("note"):
        note = doc.add_paragraph(str(item["note"]))
        for r in note.runs:
            r.font.size = Pt(8)


def _add_figure(doc, item: Mapping, number: int, lang: str) -> None:
    """A key figure (PNG already drawn for the report) with its caption below."""
    from io import BytesIO
    from pathlib import Path

    from docx.shared import Cm

    from .io import read_binary

    path = Path(str(item.get("path", "")))
    if not path.is_file():
        return
    doc.add_picture(BytesIO(read_binary(path)), width=Cm(16))
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    word = "Figure" if lang == "fr" else "Figure"
    doc.add_paragraph(f"{word} {number} – {item.get('caption', '')}".rstrip(" –"),
                      style="Caption")


def writeup_docx(markdown: str, *, lang: str = "fr", inserts=None):
    """Turn the write-up's Markdown into a Word document (python-docx), ready to paste.

    Handles what :func:`build_writeup` writes: ``#``..``####`` headings (Word
    heading styles), paragraphs (consecutive lines joined), ``- `` bullet items
    and ``**bold**``.  The page is A4 portrait with 2 cm margins, the document
    language ``fr-FR`` (``en-GB`` for English) so that Word checks the spelling
    in the right language, and the footer numbers the pages.

    Parameters
    ----------
    markdown : str
    lang : {"fr", "en"}
    inserts : sequence of dict, optional
        Key tables and figures, each placed at the end of the section whose
        heading is ``after`` (at the end of the document when no heading
        matches): ``{"kind": "table", "after": "Fréquentation", "caption": ...,
        "columns": [...], "rows": [[...], ...], "note": ...}`` (a row of one cell
        is a group heading) or ``{"kind": "figure", "after": ..., "caption": ...,
        "path": "figures/x.png"}``.  Numbered "Tableau n" / "Figure n", with
        captions in the Word style "Caption".

    The document is returned, not saved: the report saves it
    (:func:`qsp_eval.io.write_docx`) with its other outputs.

    Returns
    -------
    docx.document.Document

    Examples
    --------
    >>> doc = writeup_docx("## Titre\\n\\nUn **mot** en gras.\\n\\n- point")
    >>> [p.style.name for p in doc.paragraphs if p.text]
    ['Heading 2', 'Normal', 'List Bullet']
    >>> round(doc.sections[0].page_width.mm), doc.core_properties.language
    (210, 'fr-FR')
    """
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    doc = docx.Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(20)
    sec.top_margin = sec.bottom_margin = Mm(20)
    _set_language(doc, "fr-FR" if lang == "fr" else "en-GB")
    _page_number_footer(sec, lang)
    pending = list(inserts or [])
    counters = {"table": 0, "figure": 0}
    buf: list[str] = []
    current: list[str] = [""]

    def flush():
        if buf:
            _add_runs(doc.add_paragraph(), " ".join(s.strip() for s in buf))
            buf.clear()

    def place(heading: str):
        for item in [i for i in pending if str(i.get("after", "")).strip() == heading]:
            pending.remove(item)
            kind = item.get("kind")
            if kind not in counters:
                continue
            counters[kind] += 1
            (_add_table if kind == "table" else _add_figure)(doc, item, counters[kind], lang)

    for line in markdown.splitlines():
        s = line.rstrip()
        m = re.match(r"^(#{1,4})\s+(.*)$", s)
        if m:
            flush()
            place(current[0])
            current[0] = m.group(2).strip()
            doc.add_heading(current[0], level=len(m.group(1)))
        elif s.lstrip().startswith(("- ", "* ")):
            flush()
            _add_runs(doc.add_paragraph(style="List Bullet"), s.lstrip()[2:].strip())
        elif not s.strip():
            flush()
        else:
            buf.append(s)
    flush()
    place(current[0])
    for item in list(pending):  # no matching heading: at the end
        item = dict(item, after="")
        pending[:] = [item]
        place("")
    return doc
