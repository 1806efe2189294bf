"""Notebook-facing helpers: show a table, figure or sentence and publish it.

A report notebook does, in its first code cell after the parameters::

    pub = publish.setup(source, output_dir=output_dir, lang=lang, period=period,
                        theming_start=theming_start, disclosure_preset=disclosure_preset,
                        min_cell=min_cell, seed=seed)

and then, in each cell, one analysis call wrapped by one of

- ``pub.table(df, "name", kind="activity" | "person", by=[...], title=...)``: passes a
  person-attribute table through :func:`qsp_eval.disclosure.protect_table`, writes
  ``tables/name.csv`` (via :func:`qsp_eval.io.write_table`), shows it, and returns the
  *published* table (use it for the matching figure, so a figure never draws a
  suppressed value);
- ``pub.figure(ax, "name", title=...)``: writes ``figures/name.png`` and ``.svg`` and
  shows it;
- ``pub.text(markdown)``: shows a paragraph produced by a package function.

Everything shown this way carries ``metadata["qsp_eval"]`` in the notebook's
outputs; :func:`qsp_eval.report.build_html` puts **only** those outputs (and the
Markdown cells) into ``report.html``. Anything else a researcher displays while
exploring never reaches the report.

The loaded data are cached in the process (:func:`load_dataset`), so the report
command loads the source once for all notebooks.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .errors import DisclosureError, ParameterError
from .i18n import tr

__all__ = [
    "SETTING_NAMES",
    "PERIODS",
    "Settings",
    "Publisher",
    "load_dataset",
    "check_settings",
    "setup",
    "table_html",
    "save_figure",
    "figure_alt",
    "TABLE_INPUTS",
    "FIGURE_TABLES",
    "missing_input",
    "nothing_to_show",
    "FigureSaver",
    "prefetch",
    "write_text",
    "read_published_tables",
    "write_workbook",
    "write_workbook_scanned",
    "WORKBOOK_PATH",
    "report_subtitle",
    "window_dataset",
    "resolve_path",
    "DEFAULT_SOURCE",
    "DEFAULT_OUTPUT_DIR",
    "scan_folder",
    "docx_inserts",
    "DOCX_KEY_ITEMS",
]

#: Report parameters that :func:`check_settings` understands.
SETTING_NAMES = ("lang", "period", "theming_start", "disclosure_preset", "min_cell", "seed",
                 "window_start", "window_end")
#: Defaults of the notebooks' ``source`` and ``output_dir`` parameters (relative to the
#: notebooks' folder); :func:`setup` resolves them against the project, wherever it runs.
DEFAULT_SOURCE = "../data/example"
DEFAULT_OUTPUT_DIR = "../outputs/notebooks"
#: Aggregation periods accepted by the ``period`` parameter.
PERIODS = ("year", "half", "quarter", "month")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")

# ---------------------------------------------------------------------------
# Loading (cached)
# ---------------------------------------------------------------------------
_CACHE: dict = {}
_MEMO: dict = {}
_WINDOWED: dict = {}  # the last windowed dataset: {"key": (key, dataset)}


def _signature(path: Path) -> tuple:
    if path.is_dir():
        items = sorted(p for p in path.rglob("*") if p.is_file())
    else:
        items = [path]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in items)


def load_dataset(source, *, key_file=None):
    """Load and validate ``source`` with :func:`qsp_eval.io.load_source`, cached in the process.

    The cache holds one source, keyed by its absolute path and the name, size and
    modification time of every file in it: a changed file is reloaded. The
    returned :class:`~qsp_eval.schema.Dataset` is shared: never modify it
    (analysis functions never do).

    Parameters
    ----------
    source : path-like
        Data folder or workbook.
    key_file : path-like, keyword-only, optional
        Pseudonymisation key file (see :func:`qsp_eval.privacy.resolve_key`: kept
        outside the data folder; refused otherwise). With a key file, a cached
        dataset is reused only if it was loaded with the same key file (same path,
        size and modification time), so pseudonyms are the same on every run.
        Without one, whatever dataset is cached for ``source`` is reused: the
        report's notebooks call ``setup(source, ...)`` and so get the dataset the
        report loaded with its key. A first load without key file uses
        ``QSP_PSEUDONYM_KEY``, else a random key.

    Examples
    --------
    >>> # ds = load_dataset("../data/example", key_file="~/cles/qsp.key")
    """
    from .io import load_source

    path = Path(source).resolve()
    if not path.exists():
        raise ParameterError(f"Source introuvable : « {source} ».", f"Source not found: '{source}'.")
    key = (str(path), _signature(path))
    key_sig = None
    if key_file is not None:
        kf = Path(key_file).expanduser().resolve()
        key_sig = (str(kf), *(_signature(kf)[0][1:] if kf.is_file() else ()))
    cached = _CACHE.get(key)
    if cached is None or (key_sig is not None and cached[0] != key_sig):
        _CACHE.clear()
        _MEMO.clear()
        _WINDOWED.clear()
        _CACHE[key] = (key_sig, load_source(path, key_file=key_file))
    return _CACHE[key][1]


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """The checked report parameters and the configuration they give.

    Attributes
    ----------
    lang, period : str
    seed : int
    config : EvaluationConfig
        ``evaluation.yml`` with the parameter overrides applied (theming start,
        disclosure preset, minimum cell).
    rules : object
        Disclosure rules from :func:`qsp_eval.disclosure.rules_from_config`
        (``None`` when that module is not available).
    window_start, window_end : datetime.date or None
        The reporting window as given (``window_start`` / ``window_end``
        parameters, ``--from`` / ``--to``); ``None`` for an open side. Both
        ``None``: no window, the report covers all the data.
    data_start, data_end : datetime.date or None
        First and last recorded session of the data (whatever the window).
    """

    lang: str
    period: str
    seed: int
    config: object
    rules: object = None
    window_start: date | None = None
    window_end: date | None = None
    data_start: date | None = None
    data_end: date | None = None

    @property
    def windowed(self) -> bool:
        """True when a reporting window was given."""
        return self.window_start is not None or self.window_end is not None

    @property
    def window(self) -> tuple[date, date] | None:
        """The effective window ``(start, end)``: an open side is the data's first/last session.

        ``None`` without a window.
        """
        if not self.windowed:
            return None
        return (self.window_start or self.data_start, self.window_end or self.data_end)

    @property
    def headline_period(self) -> str | None:
        """The year the write-up and key figures lead with: the last full year of the window.

        A year is full when the window covers 1 January to 31 December of it (an
        open side counts as covering); without a full year, the window's last
        year. ``None`` without a window (then the last year of the data, as the
        tables give it).

        Examples
        --------
        >>> Settings("fr", "year", 0, None, window_start=date(2021, 11, 1),
        ...          window_end=date(2023, 12, 31)).headline_period
        '2023'
        >>> Settings("fr", "year", 0, None, window_start=date(2022, 1, 1),
        ...          window_end=date(2023, 6, 30)).headline_period
        '2022'
        """
        w = self.window
        if w is None or w[0] is None or w[1] is None:
            return None
        full = [y for y in range(w[0].year, w[1].year + 1)
                if (self.window_start is None or self.window_start <= date(y, 1, 1))
                and (self.window_end is None or self.window_end >= date(y, 12, 31))]
        return str(full[-1] if full else w[1].year)


def _disclosure():
    try:
        from . import disclosure
    except ImportError:  # pragma: no cover - module being written
        return None
    return disclosure


def check_settings(dataset, *, lang: str = "fr", period: str = "year", theming_start: str = "",
                   disclosure_preset: str = "", min_cell: int = 0, seed: int = 0,
                   window_start: str = "", window_end: str = "") -> Settings:
    """Check report parameter values and apply them to the dataset's configuration.

    Parameters
    ----------
    dataset : Dataset
    lang : {"fr", "en"}
    period : {"year", "half", "quarter", "month"}
    theming_start : str
        ``YYYY-MM-DD`` (or ``dd/mm/yyyy``) start of the change under evaluation;
        empty keeps ``evaluation.yml``.
    disclosure_preset : str
        A preset of :mod:`qsp_eval.disclosure` (``default``, ``strict``); empty
        keeps ``evaluation.yml``.
    min_cell : int
        Minimum published count of people; 0 keeps ``evaluation.yml``/the preset.
    seed : int
        Seed for anything random (non-negative).
    window_start, window_end : str
        The reporting window, ``YYYY-MM-DD`` (or ``dd/mm/yyyy``), both
        inclusive; empty leaves that side open (the data's first or last
        session). The window must overlap the recorded sessions and hold at
        least one held session.

    Returns
    -------
    Settings

    Raises
    ------
    ParameterError
        A value outside what is accepted, with what is accepted; a window that
        is not a date, reversed (end before start), outside the data or
        without any held session.

    Examples
    --------
    >>> # check_settings(ds, period="quarter", min_cell=10).config.disclosure
    """
    if lang not in ("fr", "en"):
        raise ParameterError(f"lang : « {lang} » n'est pas accepté (fr ou en).",
                             f"lang: '{lang}' is not accepted (fr or en).")
    if period not in PERIODS:
        raise ParameterError(f"period : « {period} » n'est pas accepté ({', '.join(PERIODS)}).",
                             f"period: '{period}' is not accepted ({', '.join(PERIODS)}).")
    if not isinstance(min_cell, int) or min_cell < 0:
        raise ParameterError("min_cell doit être un entier positif ou nul.",
                             "min_cell must be a non-negative integer.")
    if not isinstance(seed, int) or seed < 0:
        raise ParameterError("seed doit être un entier positif ou nul.",
                             "seed must be a non-negative integer.")
    cfg = dataset.config
    if theming_start:
        start = _parse_date(theming_start)
        if start is None:
            raise ParameterError(
                f"theming_start : « {theming_start} » n'est pas une date (AAAA-MM-JJ).",
                f"theming_start: '{theming_start}' is not a date (YYYY-MM-DD).")
        from .schema import Change

        change = cfg.change or Change("theming", start, "Thématisation de certaines permanences",
                                      "Theming of some sessions")
        cfg = dataclasses.replace(cfg, change=dataclasses.replace(change, start=start))
    disc = dict(cfg.disclosure or {})
    mod = _disclosure()
    if disclosure_preset:
        presets = getattr(mod, "PRESETS", None) if mod else None
        if presets is not None and disclosure_preset not in presets:
            raise ParameterError(
                f"disclosure_preset : « {disclosure_preset} » inconnu ({', '.join(presets)}).",
                f"disclosure_preset: unknown '{disclosure_preset}' ({', '.join(presets)}).")
        disc["preset"] = disclosure_preset
    if min_cell:
        disc["min_cell"] = int(min_cell)
    cfg = dataclasses.replace(cfg, disclosure=disc)
    rules = None
    if mod is not None:
        try:
            rules = mod.rules_from_config(disc)
        except (ValueError, KeyError, TypeError) as exc:
            raise ParameterError(f"Règles de diffusion invalides : {exc}",
                                 f"Invalid disclosure rules: {exc}") from None
    ws, we, d0, d1 = _check_window(dataset, window_start, window_end)
    return Settings(lang=lang, period=period, seed=int(seed), config=cfg, rules=rules,
                    window_start=ws, window_end=we, data_start=d0, data_end=d1)


def _fmt_day(d, lang: str) -> str:
    return f"{d:%d/%m/%Y}" if lang == "fr" else f"{d:%Y-%m-%d}"


def _check_window(dataset, window_start, window_end):
    """Parse and check the window against the data; return (start, end, data start, data end)."""
    bounds = []
    for name, value in (("window_start", window_start), ("window_end", window_end)):
        if value is None or not str(value).strip():
            bounds.append(None)
            continue
        d = _parse_date(value)
        if d is None:
            raise ParameterError(f"{name} : « {value} » n'est pas une date (AAAA-MM-JJ).",
                                 f"{name}: '{value}' is not a date (YYYY-MM-DD).")
        bounds.append(d)
    ws, we = bounds
    s = dataset.sessions
    d0 = s["date"].min().date() if len(s) else None
    d1 = s["date"].max().date() if len(s) else None
    if ws is None and we is None:
        return None, None, d0, d1
    if ws is not None and we is not None and we < ws:
        raise ParameterError(
            f"Fenêtre inversée : la fin ({_fmt_day(we, 'fr')}) précède le début "
            f"({_fmt_day(ws, 'fr')}).",
            f"Reversed window: the end ({_fmt_day(we, 'en')}) is before the start "
            f"({_fmt_day(ws, 'en')}).")
    if d0 is None:
        raise ParameterError("Fenêtre impossible : les données n'ont aucune permanence.",
                             "Window impossible: the data have no session.")

    def said(lang):
        a = _fmt_day(ws, lang) if ws else ("le début des données" if lang == "fr" else "the start")
        b = _fmt_day(we, lang) if we else ("la fin des données" if lang == "fr" else "the end")
        return (f"du {a} au {b}", f"from {a} to {b}")[lang == "en"]

    data_fr = f"permanences du {_fmt_day(d0, 'fr')} au {_fmt_day(d1, 'fr')}"
    data_en = f"sessions from {_fmt_day(d0, 'en')} to {_fmt_day(d1, 'en')}"
    if (ws is not None and ws > d1) or (we is not None and we < d0):
        raise ParameterError(
            f"La fenêtre {said('fr')} est en dehors des données ({data_fr}).",
            f"The window {said('en')} is outside the data ({data_en}).")
    held = s.loc[s["status"] == "held", "date"].dt.date
    inside = held[((held >= ws) if ws else True) & ((held <= we) if we else True)]
    if inside.empty:
        raise ParameterError(
            f"La fenêtre {said('fr')} ne contient aucune permanence tenue ({data_fr}).",
            f"The window {said('en')} holds no held session ({data_en}).")
    return ws, we, d0, d1


def window_dataset(dataset, start=None, end=None):
    """The dataset restricted to the window ``[start, end]`` (inclusive; ``None``: open side).

    Every section of a windowed report reads this dataset, so every table,
    figure and sentence covers the window only. Never modifies ``dataset``.

    - ``sessions``: dated inside the window; ``visits`` and ``services``: those of
      the kept sessions (by date, or by session when a row has no date);
    - ``distributions``: rows dated inside the window; rows given by month only
      when the whole month lies inside (a month cut by the window cannot be
      split: it is left out and a notice says so);
    - ``survey_responses``: kept whole (responses carry no date; a notice says so);
    - ``config``: the context events inside the window; the change under
      evaluation only if it starts inside (the theming analysis itself uses the
      whole dataset, see :meth:`Publisher.run`); the launch date moved to the
      window start when the window starts later (sessions are expected from
      there on).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2022-12-28"}, {"date": "2023-01-04"}])
    >>> len(window_dataset(ds, date(2023, 1, 1), None).sessions)
    1
    """
    import pandas as pd

    from .validation import Notice

    if start is None and end is None:
        return dataset
    lo = pd.Timestamp(start) if start is not None else None
    hi = pd.Timestamp(end) if end is not None else None

    def inside(dates):
        d = pd.to_datetime(dates, errors="coerce")
        m = d.notna()
        if lo is not None:
            m &= d >= lo
        if hi is not None:
            m &= d <= hi
        return m.to_numpy(dtype=bool)

    s = dataset.sessions
    sessions = s.loc[inside(s["date"])].reset_index(drop=True)
    keep = set(sessions["session_id"])

    def by_session(t):
        if t is None or t.empty:
            return t
        undated = t["date"].isna().to_numpy() if "date" in t else True
        m = inside(t["date"]) | (undated & t["session_id"].isin(keep).to_numpy())
        return t.loc[m].reset_index(drop=True)

    notices = list(dataset.notices)
    d = dataset.distributions
    if d is not None and len(d):
        dated = d["date"].notna().to_numpy()
        first = pd.to_datetime(d["month"].astype("string") + "-01", errors="coerce")
        last = first + pd.offsets.MonthEnd(0)
        whole = inside(first) & inside(last)
        overlaps = first.notna().to_numpy() & ((first <= hi).to_numpy() if hi is not None
                                               else True) & ((last >= lo).to_numpy()
                                                             if lo is not None else True)
        cut = ~dated & ~whole & overlaps
        if cut.any():
            months = ", ".join(sorted(set(d.loc[cut, "month"].astype(str))))
            notices.append(Notice(
                f"Matériel saisi par mois : {months} n'est qu'en partie dans la fenêtre et "
                "n'est pas compté (un mois ne peut pas être coupé).",
                f"Material recorded by month: {months} is only partly inside the window and "
                "is not counted (a month cannot be split)."))
        d = d.loc[(dated & inside(d["date"])) | (~dated & whole)].reset_index(drop=True)
    if dataset.survey_responses is not None and len(dataset.survey_responses):
        notices.append(Notice(
            "Les réponses aux questionnaires ne sont pas datées : elles sont présentées en "
            "entier, quelle que soit la fenêtre.",
            "Survey responses carry no date: they are shown in full, whatever the window."))
    cfg = dataset.config
    if cfg is not None:
        def in_window(day):
            t = pd.Timestamp(day)
            return (lo is None or t >= lo) and (hi is None or t <= hi)

        events = tuple(e for e in (cfg.events or ()) if in_window(e.date))
        change = cfg.change if cfg.change is not None and in_window(cfg.change.start) else None
        launch = cfg.launch_date
        begin = launch or (s["date"].min().date() if len(s) else None)
        if lo is not None and (begin is None or lo.date() > begin):
            launch = lo.date()
        cfg = dataclasses.replace(cfg, events=events, change=change, launch_date=launch)
    return dataclasses.replace(
        dataset, sessions=sessions, visits=by_session(dataset.visits),
        services=by_session(dataset.services), distributions=d, config=cfg, notices=notices)


def _parse_date(text: str) -> date | None:
    text = str(text).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------
_HEADERS = {
    "period": ("Période", "Period"),
    "field": ("Champ", "Field"),
    "group": ("Groupe", "Group"),
    "unit": ("Unité", "Unit"),
    "count": ("Effectif", "Count"),
    "denominator": ("Dénominateur", "Denominator"),
    "share": ("Part", "Share"),
    "share_known": ("Part (renseignés)", "Share (stated)"),
    "estimate": ("Estimation", "Estimate"),
    "ci_low": ("IC 95 % bas", "95% CI low"),
    "ci_high": ("IC 95 % haut", "95% CI high"),
    "p_value": ("p", "p"),
    "p_value_holm": ("p ajusté (Holm)", "p adjusted (Holm)"),
    "withheld": ("Non publié (calculé sur des effectifs masqués)",
                 "Withheld (computed from hidden counts)"),
    "event": ("Événement", "Event"),
    "event_date": ("Date de l'événement", "Event date"),
    "event_label": ("Événement", "Event"),
    "event_kind": ("Type", "Kind"),
    "period_start": ("Du", "From"),
    "period_end": ("Au", "To"),
    "difference": ("Différence (après − avant)", "Difference (after − before)"),
    "diff_ci_low": ("IC 95 % bas (diff.)", "95% CI low (diff.)"),
    "diff_ci_high": ("IC 95 % haut (diff.)", "95% CI high (diff.)"),
    "among": ("Parmi", "Among"),
    "test": ("Test", "Test"),
    "rate_ratio": ("Rapport de taux", "Rate ratio"),
    "n": ("n", "n"),
    "sessions": ("Permanences", "Sessions"),
    "visits": ("Passages", "Visits"),
    "people": ("Personnes", "People"),
    "year": ("Année", "Year"),
    "date": ("Date", "Date"),
    "service": ("Prestation", "Service"),
    "item": ("Matériel", "Item"),
    "category": ("Catégorie", "Category"),
    "quantity": ("Quantité", "Quantity"),
    "description": ("Description", "Description"),
    "survey": ("Questionnaire", "Survey"),
    "question": ("Question", "Question"),
    "answer": ("Réponse", "Answer"),
    "start": ("Début", "Start"),
    "end": ("Fin", "End"),
    "change": ("Évolution", "Change"),
    "value": ("Valeur", "Value"),
    "indicator": ("Indicateur", "Indicator"),
    "sessions_expected": ("Permanences attendues", "Sessions expected"),
    "sessions_recorded": ("Permanences enregistrées", "Sessions recorded"),
    "sessions_held": ("Permanences tenues", "Sessions held"),
    "sessions_cancelled": ("Permanences annulées", "Sessions cancelled"),
    "weeks_not_recorded": ("Semaines sans enregistrement", "Weeks not recorded"),
    "share_recorded": ("Part enregistrée", "Share recorded"),
    "mean_visits_per_session": ("Passages par permanence", "Visits per session"),
    "distinct_people": ("Personnes différentes", "Different people"),
    "first_time_visitors": ("Nouvelles personnes", "First-time visitors"),
    "returning_people": ("Personnes revenues", "Returning people"),
    "new_people": ("Nouvelles personnes", "New people"),
    "horizon_months": ("Délai (mois)", "Within (months)"),
    "per_session": ("Par permanence", "Per session"),
    "per_10_visits": ("Pour 10 passages", "Per 10 visits"),
    "per_visit": ("Par passage", "Per visit"),
    "respondents": ("Répondant·es", "Respondents"),
    "share_of_respondents": ("Part des répondant·es", "Share of respondents"),
    "outcome": ("Critère", "Outcome"),
    "term": ("Terme", "Term"),
    "n_themed": ("Permanences thématisées", "Themed sessions"),
    "n_plain": ("Permanences non thématisées", "Plain sessions"),
    "fake_start": ("Fausse date de début", "Fake start"),
    "power": ("Puissance", "Power"),
    "target": ("Cible", "Target"),
    "run": ("Événement", "Event"),
    "route": ("Circuit", "Route"),
    "questions": ("Questions", "Questions"),
    "unanswered": ("Sans réponse", "Unanswered"),
    "check": ("Contrôle", "Check"),
    "theme": ("Thème", "Theme"),
    "theme_category": ("Catégorie du thème", "Theme category"),
    "first_date": ("Première date", "First date"),
    "last_date": ("Dernière date", "Last date"),
    "visits_per_session": ("Passages par permanence", "Visits per session"),
    "first_time_per_session": ("Nouvelles personnes par permanence",
                               "First-time visitors per session"),
    "single_session": ("Une seule permanence", "Single session"),
    "reference": ("Référence", "Reference"),
    "month": ("Mois", "Month"),
    "mean": ("Moyenne", "Mean"),
    "robust_z": ("z robuste", "Robust z"),
    "statistic": ("Statistique", "Statistic"),
    "df": ("ddl", "df"),
    "label": ("Libellé", "Label"),
    "status": ("Statut", "Status"),
}
#: Codes shown in tables, with their French and English words.
_VALUES = {
    "cochran_armitage": ("Cochran–Armitage (tendance)", "Cochran–Armitage (trend)"),
    "fisher_freeman_halton_mc": ("Fisher–Freeman–Halton (exact, Monte-Carlo)",
                                 "Fisher–Freeman–Halton (exact, Monte Carlo)"),
    "fisher_exact": ("Fisher (exact)", "Fisher (exact)"),
    "chi_square": ("Khi-deux de Pearson", "Pearson chi-square"),
    "chi2": ("Khi-deux de Pearson", "Pearson chi-square"),
    "newcombe_hybrid_score": ("Newcombe (score hybride)", "Newcombe (hybrid score)"),
    "known": ("réponses renseignées", "stated answers"),
    "all": ("toutes les réponses", "all answers"),
    "visits": ("passages", "visits"),
    "people": ("personnes", "people"),
    "sessions": ("permanences", "sessions"),
    "responses": ("réponses", "responses"),
    "items": ("articles", "items"),
    "services": ("prestations", "services"),
    "samples": ("échantillons", "samples"),
    "first_time_visitors": ("nouvelles personnes", "first-time visitors"),
    "level_change": ("changement de niveau", "level change"),
    "slope_change": ("changement de pente", "slope change"),
    "trend": ("tendance", "trend"),
    "themed_after": ("thématisée (après le début)", "themed (after the start)"),
    "before": ("avant", "before"),
    "context": ("contexte", "context"),
    "change": ("changement évalué", "change under evaluation"),
    "after": ("après", "after"),
    "ratio": ("rapport", "ratio"),
    "rate_ratio": ("rapport de taux", "rate ratio"),
}
#: Technical columns kept in the CSV files but not shown in report.html.
_TECHNICAL_COLS = {"dispersion", "se", "z", "family", "sessions_counted", "visits_without_id",
                   "supplied", "known_denominator", "ci_known_low", "ci_known_high",
                   "population", "censored", "level", "note_fr", "note_en", "type"}
_PERCENT_COLS = {"share", "share_known"}
_HIDDEN_COLS = {"suppressed", "suppression", "count_display", "person_id", "visitor_code",
                "multi", "key", "ci_method", "trend_method", "count_source", "order",
                "diff_ci_method"}
_KEY_LIKE = {"period", "field", "level", "group", "unit", "survey", "question", "answer", "service",
             "item", "category", "route", "activity", "theme", "check", "term", "outcome", "test",
             "among", "event_kind"}


def _fmt_value(col: str, v, lang: str) -> str:
    import math

    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "—"
    if isinstance(v, bool):
        return tr("oui", "yes", lang) if v else tr("non", "no", lang)
    if isinstance(v, pd.Timestamp):
        return f"{v:%d/%m/%Y}" if lang == "fr" else f"{v:%Y-%m-%d}"
    if isinstance(v, (int,)) or (hasattr(v, "dtype") and "int" in str(getattr(v, "dtype", ""))):
        s = f"{int(v):,}"
        return s.replace(",", "\u202f") if lang == "fr" else s
    if isinstance(v, float) or "float" in str(getattr(v, "dtype", "")):
        x = float(v)
        if math.isinf(x) or math.isnan(x):
            return "—"
        if col in _PERCENT_COLS:
            s = f"{100 * x:.1f} %" if lang == "fr" else f"{100 * x:.1f}%"
        elif col == "p_value":
            s = "< 0.001" if x < 0.001 else f"{x:.3f}"
        elif x.is_integer() and abs(x) < 1e12:
            s = f"{int(x):,}".replace(",", "\u202f" if lang == "fr" else ",")
        else:
            s = f"{x:.2f}"
        return s.replace(".", ",") if lang == "fr" else s
    return str(v)


#: Profile fields, with their French and English names.
_FIELD_LABELS = {
    "gender": ("Identité de genre", "Gender identity"),
    "orientation": ("Orientation sexuelle", "Sexual orientation"),
    "age_band": ("Âge", "Age"),
    "chemsex": ("Chemsex", "Chemsex"),
    "injects": ("Injection", "Injecting"),
    "products": ("Produits consommés", "Products used"),
    "heard_via": ("A connu la permanence par", "Heard of the session via"),
    "first_visit": ("Première venue", "First visit"),
    "chemsex_cis_men": ("Hommes cis pratiquant le chemsex", "Cis men practising chemsex"),
}


def _label_group(field_code, group, lang: str, config=None) -> str:
    from .schema import PROFILE_FIELDS, label

    if str(group) == "*":  # a test on the whole distribution
        return tr("toutes catégories", "all categories", lang)
    groups = (getattr(config, "reporting_groups", None) or {}).get(str(field_code), {})
    if str(group) in groups:
        g = groups[str(group)] or {}
        return str(g.get("label_fr" if lang == "fr" else "label_en", group))
    vocab = PROFILE_FIELDS.get(str(field_code)) if field_code is not None else None
    if str(field_code) == "chemsex_cis_men":  # derived yes/no field of profiles.before_after_events
        vocab = "yes_no"
    if vocab is None:
        return str(group)
    return label(vocab, str(group), lang)


def table_html(df, *, lang: str = "fr", title: str = "", rules=None, person: bool = False,
               config=None, name: str = "") -> str:
    """Render a published table as a small, escaped HTML ``<table>``.

    With the ``name`` of a published table that :mod:`qsp_eval.tables` knows, the
    table is shaped for reading (groups down, periods across, ``"38 % (35)"``,
    caption with unit and denominator, note on hidden cells, long detail folded,
    an all-withheld table as one sentence): :func:`qsp_eval.tables.reader_table`.
    Otherwise (generic rendering):

    Column names of the project's vocabulary get French/English headers;
    profile codes in ``group`` get their labels; shares are shown as
    percentages; a cell hidden by disclosure control (NA count in a row with
    ``suppressed`` True) is shown as ``< threshold`` (via
    :func:`qsp_eval.disclosure.format_count` when available); other missing
    values as "—". The ``suppressed`` column itself is not shown.

    Examples
    --------
    >>> import pandas as pd
    >>> "<table" in table_html(pd.DataFrame({"count": [3]}))
    True
    """
    if name:
        from .tables import reader_table, render_html

        rt = reader_table(df, name, lang=lang, rules=rules, config=config)
        if rt is not None:
            return render_html(rt, title=title, person=person, lang=lang)
    other = "en" if lang == "fr" else "fr"
    names = [str(c) for c in df.columns]
    primary = next((c for c in ("service", "item", "activity", "answer", "route", "check",
                                "field", "group") if c in names), None)
    cols = []
    for c in df.columns:
        c = str(c)
        if c in _HIDDEN_COLS or c in _TECHNICAL_COLS or c.endswith(f"_{other}"):
            continue
        if f"{c}_label_{lang}" in names or (c == primary and f"label_{lang}" in names):
            continue
        cols.append(c)
    import pandas as pd

    numeric_cols = {str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)
                    and not pd.api.types.is_bool_dtype(df[c].dtype)} | {"count"}
    supp = df["suppressed"] if "suppressed" in df.columns else None
    shown_count = df["count_display"] if "count_display" in df.columns else None

    def _head(c):
        c = str(c)
        base = c[: -len(lang) - 1] if c.endswith(f"_{lang}") else c
        if base in ("label", "theme_label"):
            return tr("Libellé", "Label", lang)
        if base.endswith("_label"):
            base = base[: -len("_label")]
        return tr(*_HEADERS[base], lang) if base in _HEADERS else base.replace("_", " ")

    head = "".join(f'<th scope="col">{html.escape(_head(c))}</th>' for c in cols)
    rows = []
    for i, (_, row) in enumerate(df.iterrows()):
        cells = []
        hidden = bool(supp.iloc[i]) if supp is not None and not _isna(supp.iloc[i]) else False
        for c in cols:
            v = row[c]
            if c == "count" and shown_count is not None and not _isna(shown_count.iloc[i]):
                txt = str(shown_count.iloc[i])
            elif c == "group" and "field" in df.columns:
                txt = _label_group(row["field"], v, lang, config)
            elif c == "field" and isinstance(v, str) and v in _FIELD_LABELS:
                txt = tr(*_FIELD_LABELS[v], lang)
            elif isinstance(v, str) and v in _VALUES and c in _KEY_LIKE | {"unit", "period"}:
                txt = tr(*_VALUES[v], lang)
            else:
                txt = _fmt_value(c, v, lang)
            num = _is_number(v) or (c in numeric_cols and _isna(v))
            cls = ' class="num"' if num else ""
            cells.append(f"<td{cls}>{html.escape(txt)}</td>")
        rows.append(('<tr class="hidden-cell">' if hidden else "<tr>") + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(title)}</caption>" if title else ""
    cls = "qsp-table qsp-person" if person else "qsp-table qsp-activity"
    return (f'<div class="table-wrap"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _is_test_table(df) -> bool:
    """True for a table of test results on person attributes (``field`` and ``test`` columns,
    a sensitive field)."""
    from .schema import SENSITIVE_FIELDS

    return ({"field", "test"} <= set(df.columns)
            and df["field"].astype(str).isin(SENSITIVE_FIELDS).any())


def _is_field_count_table(df) -> bool:
    """True for counts by sensitive field without groups (e.g. completeness by field)."""
    from .schema import SENSITIVE_FIELDS

    return ({"field", "count"} <= set(df.columns) and "group" not in df.columns
            and "suppressed" not in df.columns
            and df["field"].astype(str).isin(SENSITIVE_FIELDS).any())


def _isna(v) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_number(v) -> bool:
    import numbers

    return isinstance(v, numbers.Number) and not isinstance(v, bool) and not _isna(v)


def figure_alt(fig, *, lang: str = "fr") -> str:
    """Alternative text of a figure, from what it draws: titles, axis labels, legend entries.

    Examples
    --------
    >>> from qsp_eval.plots.style import get_ax, finish_ax
    >>> ax = finish_ax(get_ax(), title="Passages", xlabel="Année", ylabel="Nombre")
    >>> figure_alt(ax.figure)
    'Graphique : Passages. Axe horizontal : Année ; axe vertical : Nombre.'
    """
    fig = getattr(fig, "figure", fig)
    parts = []
    for ax in getattr(fig, "axes", []):
        title = ax.get_title(loc="left") or ax.get_title()
        bits = [tr(f"Graphique : {title}.", f"Chart: {title}.", lang) if title else ""]
        axes = []
        if ax.get_xlabel():
            axes.append(tr(f"axe horizontal : {ax.get_xlabel()}",
                           f"horizontal axis: {ax.get_xlabel()}", lang))
        if ax.get_ylabel():
            axes.append(tr(f"axe vertical : {ax.get_ylabel()}", f"vertical axis: {ax.get_ylabel()}",
                           lang))
        if axes:
            a = " ; ".join(axes) if lang == "fr" else "; ".join(axes)
            bits.append(a[0].upper() + a[1:] + ".")
        leg = ax.get_legend()
        if leg is not None:
            entries = [t.get_text() for t in leg.get_texts() if t.get_text()]
            if entries:
                bits.append(tr("Légende : ", "Legend: ", lang) + ", ".join(entries) + ".")
        s = " ".join(b for b in bits if b).replace("\n", " ")
        if s:
            parts.append(s)
    return " ".join(parts)


def save_figure(fig, path_stem, *, dpi: int = 150) -> list[Path]:
    """Save a figure as PNG and SVG: :func:`qsp_eval.io.save_figure` (kept here by name).

    Examples
    --------
    >>> # save_figure(ax, "outputs/figures/attendance_by_year")
    """
    from .io import save_figure as _save

    return _save(fig, path_stem, dpi=dpi)


def _save_pickled(data: bytes, stem: str, dpi: int) -> list[str]:
    """Worker side of :class:`FigureSaver`: unpickle a figure and save it."""
    import pickle

    import matplotlib

    matplotlib.use("Agg")
    fig = pickle.loads(data)
    return [str(p) for p in save_figure(fig, stem, dpi=dpi)]


class FigureSaver:
    """Save figures in one background process while the notebooks go on computing.

    Used by :func:`qsp_eval.report.run_report` (in-process engine only): drawing
    a figure twice (PNG and SVG) costs about 0.3 s, a large share of a report
    run; a forked worker does it on the second core. A figure that cannot be
    pickled is saved in the calling process instead. :meth:`wait` returns when
    every figure is written (and raises the first error).
    """

    def __init__(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=1,
                                         mp_context=multiprocessing.get_context("fork"))
        self._futures = []
        self._jobs: dict = {}  # id(future) -> (pickled figure, stem, dpi), for steal()

    def submit(self, fig, stem, *, dpi: int = 150) -> bool:
        """Queue ``fig`` for saving at ``stem`` (.png, .svg); False if it cannot be pickled."""
        import pickle

        try:
            data = pickle.dumps(fig)
        except Exception:  # noqa: BLE001 - e.g. a lambda formatter: save here instead
            return False
        Path(stem).parent.mkdir(parents=True, exist_ok=True)
        fut = self._pool.submit(_save_pickled, data, str(stem), dpi)
        self._futures.append(fut)
        self._jobs[id(fut)] = (data, str(stem), dpi)
        return True

    def call(self, func, *args, track: bool = True):
        """Queue ``func(*args)`` (a module-level function) to run in the worker; return the future.

        With ``track=False`` the result is not awaited by :meth:`wait` (used for
        computations the notebooks fetch themselves, see :func:`prefetch`).
        """
        fut = self._pool.submit(func, *args)
        if track:
            self._futures.append(fut)
        return fut

    def wait(self) -> None:
        """Block until every queued figure is saved; re-raise the first failure.

        Figures the worker has not started yet are taken back and saved here (the calling
        process would otherwise sit idle while the worker finishes the queue), the last
        queued first.
        """
        try:
            for f in reversed(self._futures):
                job = self._jobs.get(id(f))
                if job is not None and f.cancel():
                    _save_pickled(*job)
            for f in self._futures:
                if not f.cancelled():
                    f.result()
        finally:
            self._futures = []
            self._jobs = {}

    def close(self) -> None:
        """Stop the worker (after :meth:`wait`, or to abandon a failed run)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _memo_key(func, dataset, config, args, kwargs) -> tuple:
    return (getattr(func, "__module__", ""), getattr(func, "__qualname__", repr(func)),
            dataset.checksum, id(dataset), repr(config), repr(args), repr(sorted(kwargs.items())))


def _call_by_name(module: str, qualname: str, dataset, args, kwargs):
    import importlib

    return getattr(importlib.import_module(module), qualname)(dataset, *args, **kwargs)


def prefetch(saver: FigureSaver, dataset, settings: Settings, func, *args, **kwargs) -> None:
    """Start ``func(dataset, *args, **kwargs)`` in the background worker for a later ``pub.run``.

    The report run uses it for the theming analysis (the costliest step, about
    2 s), so that it is computed on the second core while the first notebooks
    run. ``Publisher.run`` with the same function, settings and arguments then
    takes the result; if anything differs or fails, it simply computes it itself.
    """
    key = _memo_key(func, dataset, settings.config, args, kwargs)
    data = dataset if dataset.config is settings.config else dataclasses.replace(
        dataset, config=settings.config)
    _MEMO[key] = saver.call(_call_by_name, func.__module__, func.__qualname__, data, args,
                            kwargs, track=False)


#: Set by the report run to save figures in the background (None: save at once).
_SAVER: FigureSaver | None = None


def write_text(text: str, path) -> Path:
    """Write UTF-8 text with ``\\n`` line ends: :func:`qsp_eval.io.write_text` (kept by name)."""
    from .io import write_text as _write

    return _write(text, path)


# ---------------------------------------------------------------------------
# The publisher
# ---------------------------------------------------------------------------
def _display(data: dict, metadata: dict) -> None:
    from IPython.display import display

    display(data, raw=True, metadata=metadata)


#: Published table -> the input table it is computed from. When that input has no row,
#: the table is not written and the section says so in a sentence (see :func:`missing_input`).
TABLE_INPUTS = {
    "profiles_by_year": "visits", "profiles_newcomers": "visits",
    "profiles_before_after": "visits", "profiles_tests": "visits",
    "attendance_loyalty": "visits", "quality_completeness": "visits",
    "rapid_tests_by_year": "services", "services_by_year": "services",
    "drug_checking": "services",
    "material_by_category": "distributions", "material_items": "distributions",
    "survey_results": "survey_responses", "quality_surveys": "survey_responses",
}
#: Figure -> the published table it draws (default: the table of the same name).
FIGURE_TABLES = {
    "profiles_gender": "profiles_by_year", "profiles_orientation": "profiles_by_year",
    "profiles_age": "profiles_by_year", "profiles_chemsex": "profiles_by_year",
    "profiles_injects": "profiles_by_year",
}
#: What a table shows, as the end of a sentence (fr, en).
_WHAT = {
    "profiles_by_year": ("le profil des personnes", "the profile of the people"),
    "profiles_newcomers": ("le profil des nouvelles personnes",
                           "the profile of first-time visitors"),
    "profiles_before_after": ("la comparaison des profils avant et après",
                              "the before/after comparison of profiles"),
    "profiles_tests": ("les tests d'évolution des profils", "the tests of profile changes"),
    "attendance_loyalty": ("la fidélisation", "loyalty"),
    "quality_completeness": ("la complétude des profils", "the completeness of the profiles"),
    "rapid_tests_by_year": ("les tests rapides", "rapid tests"),
    "services_by_year": ("les prestations", "services"),
    "drug_checking": ("l'analyse de produits", "drug checking"),
    "material_by_category": ("le matériel distribué", "the material handed out"),
    "material_items": ("le détail du matériel distribué", "the material handed out by item"),
    "survey_results": ("les résultats des questionnaires", "the survey results"),
    "quality_surveys": ("les réponses aux questionnaires", "the survey responses"),
    "activities_themes": ("les thèmes abordés", "the themes"),
}
#: A table with no row is a finding: what it means (fr, en).
_EMPTY = {
    "quality_gaps": ("Aucune interruption : ni permanence annulée ni semaine sans "
                     "enregistrement.", "No gap: no cancelled session and no week without a "
                     "record."),
    "quality_outliers": ("Aucune permanence à fréquentation inhabituelle.",
                         "No session with unusual attendance."),
    "activities_themes": ("Aucune permanence thématisée dans les données (0 thème).",
                          "No themed session in the data (0 theme)."),
}
_INPUT_FILES = {"visits": "visits", "services": "services", "distributions": "distributions",
                "survey_responses": "survey_responses"}


def missing_input(dataset, name: str, *, lang: str = "fr") -> str:
    """Why table ``name`` cannot be computed from ``dataset`` ("" when it can).

    A table of :data:`TABLE_INPUTS` whose input table has no row: one sentence with the
    number that is missing, e.g. "Aucune fiche de passage dans les données (0 passage
    détaillé ; les 134 permanences tenues n'ont qu'un décompte) : pas de chiffres sur le
    profil des personnes."

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset(sessions=[{"date": "2023-01-04", "attendance": 4}], visits=[])
    >>> missing_input(ds, "profiles_by_year", lang="en")[:40]
    'No visit rows in the data (0 visit recor'
    """
    needed = TABLE_INPUTS.get(name)
    table = getattr(dataset, needed, None) if needed else None
    if table is None or len(table):
        return ""
    what_fr, what_en = _WHAT.get(name, ("ce tableau", "this table"))
    if needed == "visits":
        s = dataset.sessions
        held = s["status"].astype(str) == "held" if "status" in s else s.index == s.index
        tallied = int((held & s["attendance"].notna()).sum()) if "attendance" in s else 0
        if tallied:
            return tr(
                f"Aucune fiche de passage dans les données (0 passage détaillé ; les {tallied} "
                f"permanences tenues n'ont qu'un décompte) : pas de chiffres sur {what_fr}.",
                f"No visit rows in the data (0 visit recorded one by one; the {tallied} held "
                f"sessions only have a headcount): no figures on {what_en}.", lang)
        return tr(f"Aucune fiche de passage dans les données (0 passage) : pas de chiffres sur "
                  f"{what_fr}.",
                  f"No visit rows in the data (0 visit): no figures on {what_en}.", lang)
    file = _INPUT_FILES[needed]
    kind_fr, kind_en = {
        "services": ("Aucune prestation enregistrée", "No service recorded"),
        "distributions": ("Aucun matériel distribué enregistré", "No material recorded"),
        "survey_responses": ("Aucune réponse à un questionnaire", "No survey response"),
    }[needed]
    return tr(f"{kind_fr} dans les données (table « {file} » absente ou vide, 0 ligne) : "
              f"pas de chiffres sur {what_fr}.",
              f"{kind_en} in the data (table '{file}' absent or empty, 0 row): no figures on "
              f"{what_en}.", lang)


def nothing_to_show(table, name: str, *, lang: str = "fr") -> str:
    """Why a computed table has nothing to show ("" when it has).

    No row (a finding for gaps, outliers, themes: said as such), or rows whose
    ``denominator`` is 0 everywhere (no share can be computed: for loyalty, no
    first-time visitor followed long enough yet).

    Examples
    --------
    >>> import pandas as pd
    >>> nothing_to_show(pd.DataFrame({"period": []}), "quality_outliers", lang="en")
    'No session with unusual attendance.'
    """
    import pandas as pd

    what_fr, what_en = _WHAT.get(name, ("ce tableau", "this table"))
    if len(table) == 0:
        fr, en = _EMPTY.get(name, (f"Rien à publier pour {what_fr} avec ces données (0 ligne).",
                                   f"Nothing to publish for {what_en} with these data (0 row)."))
        return tr(fr, en, lang)
    if "denominator" in table.columns:
        den = pd.to_numeric(table["denominator"], errors="coerce").fillna(0)
        if (den <= 0).all():
            if name == "attendance_loyalty":
                return tr(
                    "Trop tôt pour mesurer la fidélisation : aucune nouvelle personne n'a encore "
                    "été suivie assez longtemps (0 personne avec au moins un mois de données "
                    "après sa première venue).",
                    "Too early to measure loyalty: no first-time visitor has been followed long "
                    "enough yet (0 person with at least one month of data after the first "
                    "visit).", lang)
            return tr(f"Aucune part ne peut être calculée pour {what_fr} (0 personne ou réponse "
                      "au dénominateur sur toutes les périodes).",
                      f"No share can be computed for {what_en} (0 person or response in the "
                      "denominator in every period).", lang)
    return ""


@dataclass
class Publisher:
    """Shows and publishes a notebook's tables, figures and text (see module doc).

    Attributes
    ----------
    dataset : Dataset
        The loaded data (shared, read-only).
    settings : Settings
        Checked parameters; ``config`` and ``rules`` are the effective ones.
    output_dir : Path
        Report folder: tables go to ``tables/``, figures to ``figures/``.
    """

    dataset: object
    settings: Settings
    output_dir: Path
    published: list = field(default_factory=list)
    person_tables: list = field(default_factory=list, repr=False)
    #: Tables replaced by a sentence saying why (name -> sentence); their figures are not drawn.
    explained: dict = field(default_factory=dict)
    #: Periods of a sub-population table not published (name -> periods), see
    #: :meth:`_withhold_small_sub_populations`.
    withheld_periods: dict = field(default_factory=dict)
    #: ``(period, field)`` blocks of the profile tables not published
    #: (:meth:`_withhold_unprotectable`): the before/after sides on them are not either.
    withheld_blocks: set = field(default_factory=set)

    @property
    def lang(self) -> str:
        """Language of the text."""
        return self.settings.lang

    @property
    def period(self) -> str:
        """Aggregation period."""
        return self.settings.period

    @property
    def config(self):
        """Effective :class:`~qsp_eval.schema.EvaluationConfig` of :attr:`data`.

        The parameters applied; with a window, only the events (and the change)
        inside it (see :func:`window_dataset`). The whole configuration is
        ``settings.config``.
        """
        return self.data.config if self.settings.windowed else self.settings.config

    @property
    def rules(self):
        """Effective disclosure rules."""
        return self.settings.rules

    @property
    def seed(self) -> int:
        """Seed for anything random."""
        return self.settings.seed

    @property
    def window(self):
        """The reporting window ``(start, end)`` as dates, or ``None`` (see :class:`Settings`)."""
        return self.settings.window

    @property
    def headline_period(self) -> str | None:
        """Year the write-up and key figures lead with (see :attr:`Settings.headline_period`)."""
        return self.settings.headline_period

    @property
    def full_data(self):
        """The whole dataset (no window) with the effective configuration.

        For analyses that learn from all the data whatever is reported: the
        theming models need the sessions before the change as their baseline
        (see :meth:`run`).
        """
        ds = self.dataset
        if ds.config is self.settings.config:
            return ds
        return dataclasses.replace(ds, config=self.settings.config)

    @property
    def data(self):
        """The dataset every section reports on: the window of :attr:`full_data`.

        Without a window, :attr:`full_data` itself. With one,
        :func:`window_dataset` of it (computed once per process and window).
        """
        full = self.full_data
        if not self.settings.windowed:
            return full
        key = (id(self.dataset), self.dataset.checksum, repr(self.settings.config),
               self.settings.window_start, self.settings.window_end)
        hit = _WINDOWED.get("key")
        if hit is None or hit[0] != key:
            _WINDOWED["key"] = (key, window_dataset(full, self.settings.window_start,
                                                    self.settings.window_end))
        return _WINDOWED["key"][1]

    def theming_window_note(self) -> str:
        """What the theming section says about the window ("" without a window or change).

        The theming analysis always runs on all the data (:meth:`run`); with a
        window, the section says so, and says when the window ends before the
        change starts (it then precedes the change: nothing of the window is
        "after").

        Examples
        --------
        >>> # pub.theming_window_note()
        """
        change = self.settings.config.change
        w = self.window
        if w is None or change is None:
            return ""
        lang = self.lang
        a, b = _fmt_day(w[0], lang), _fmt_day(w[1], lang)
        c = _fmt_day(change.start, lang)
        d0, d1 = _fmt_day(self.settings.data_start, lang), _fmt_day(self.settings.data_end, lang)
        lab = change.label(lang)
        lab = lab[:1].lower() + lab[1:]
        if w[1] < change.start:
            return tr(
                f"La fenêtre choisie (du {a} au {b}) se termine avant le début du changement "
                f"évalué ({lab}, le {c}) : elle précède le changement. Les résultats de cette "
                f"section sont calculés sur toutes les données enregistrées (permanences du {d0} "
                f"au {d1}), permanences d'après la fenêtre comprises ; ils ne décrivent pas la "
                "fenêtre.",
                f"The chosen window ({a} to {b}) ends before the change under evaluation starts "
                f"({lab}, on {c}): the window precedes the change. The results of this section "
                f"are computed on all the recorded data (sessions from {d0} to {d1}), sessions "
                "after the window included; they do not describe the window.", lang)
        return tr(
            f"Fenêtre choisie : du {a} au {b}. Les modèles de cette section utilisent toutes les "
            f"données enregistrées (permanences du {d0} au {d1}) : les permanences d'avant le "
            f"changement ({c}) leur servent de référence, même hors de la fenêtre.",
            f"Chosen window: {a} to {b}. The models of this section use all the recorded data "
            f"(sessions from {d0} to {d1}): the sessions before the change ({c}) are their "
            "baseline, even outside the window.", lang)

    def _check_name(self, name: str) -> None:
        if not _NAME_RE.match(name):
            raise ParameterError(
                f"Nom de sortie invalide « {name} » (minuscules, chiffres, _).",
                f"Invalid output name '{name}' (lower case, digits, _).")

    def table(self, df, name: str, *, kind: str = "activity", by=None, title: str = "",
              show: bool = True):
        """Publish one table: disclosure control, ``tables/<name>.csv``, display.

        Parameters
        ----------
        df : pandas.DataFrame
            A tidy result table (exact counts).
        name : str
            File stem (lower case, digits, ``_``); the write-up reads tables by it.
        kind : {"activity", "person"}
            ``"person"``: a table of people by sensitive attributes, passed
            through :func:`qsp_eval.disclosure.protect_table` (with ``by``);
            ``"activity"``: published as it is (sessions, visits, material...),
            except a table of tests on person attributes (``field`` and ``test``
            columns): its rows computed from cells hidden in the person tables
            this publisher published before are withheld
            (:func:`qsp_eval.disclosure.protect_tests`); and a table of counts by
            sensitive ``field`` without ``group`` (completeness) has its small
            counts hidden (:func:`qsp_eval.disclosure.protect_field_counts`).
        by : list of str, optional
            Columns that identify a cell (passed to ``protect_table``).
        title : str
            Caption shown above the table.
        show : bool
            Display it in the notebook (and so in the report).

        Returns
        -------
        pandas.DataFrame
            The published table (suppressed cells NA, ``suppressed`` column
            for person tables); use it for the matching figure.
        """
        self._check_name(name)
        if kind not in ("activity", "person"):
            raise ParameterError(f"kind : « {kind} » (activity ou person).",
                                 f"kind: '{kind}' (activity or person).")
        out = df
        if kind == "person":
            mod = _disclosure()
            if mod is None:
                raise DisclosureError(
                    "Le module de contrôle de diffusion est absent : table de personnes refusée.",
                    "The disclosure-control module is missing: person table refused.")
            kw = {"rules": self.rules, "kind": "person"}
            if by is not None:
                kw["by"] = by
            if "population" in df.columns:
                df = self._withhold_small_sub_populations(df, name)
            out = self._protect_once(mod, df, name, kw)
            if "population" in df.columns:
                out = self._protect_sub_population(mod, df, out, kw)
            if {"event", "window", "period"} <= set(df.columns):
                out = self._protect_windows(mod, df, out, kw)
            out = self._withhold_unprotectable(df, out, name)
            self.person_tables.append(out)
        elif _is_test_table(df):
            mod = _disclosure()
            if mod is None:
                raise DisclosureError(
                    "Le module de contrôle de diffusion est absent : table de tests refusée.",
                    "The disclosure-control module is missing: test table refused.")
            # statistics computed from person-attribute cells can reveal hidden cells
            out = mod.protect_tests(df, self.person_tables, rules=self.rules)
        elif _is_field_count_table(df):
            mod = _disclosure()
            if mod is None:
                raise DisclosureError(
                    "Le module de contrôle de diffusion est absent : table refusée.",
                    "The disclosure-control module is missing: table refused.")
            # e.g. completeness: each count is the "not stated" cell of a profile table
            out = mod.protect_field_counts(df, rules=self.rules, lang=self.lang,
                                           hidden=self._profile_hidden_unknown(mod))
        from .io import write_table

        out = _tidy_for_publication(out)
        missing = missing_input(self.dataset, name, lang=self.lang)
        why = missing or nothing_to_show(out, name, lang=self.lang)
        if why:
            self.explained[name] = why
            self.text(why, kind="explained")
        if missing or (why and len(out)):
            # nothing computable from these data: no file (the write-up then omits it)
            return out
        write_table(out, self.output_dir / "tables" / f"{name}.csv")
        self.published.append(("table", name))
        self._mark_table(name, kind)
        if show and not why:
            self._show_table(out, name, title=title, person=kind == "person")
        return out

    def _withhold_small_sub_populations(self, df, name):
        """Drop the periods of a sub-population table with fewer than ``small_group`` people.

        A newcomers cell lies between the whole public's cell minus the returning people
        and the whole public's cell, both published: for a group of a few newcomers
        (5 newcomers in a year, 32 of the 34 people of that year who do not inject, 29
        returning) that range is narrow (3 to 5 newcomers who do not inject) whatever is
        hidden in the newcomers' table. Such a period is not published at all; a sentence
        says so.
        """
        import pandas as pd

        if "denominator" not in df.columns or "period" not in df.columns:
            return df
        den = pd.to_numeric(df["denominator"], errors="coerce")
        people = df["unit"].astype(str) == "people" if "unit" in df.columns else True
        size = den.where(people).groupby(df["period"].astype(str)).max()
        small = [p for p, v in size.items() if v == v and v < self.rules.small_group]
        if not small:
            return df
        keep = ~df["period"].astype(str).isin(small)
        periods = ", ".join(small)
        g = self.rules.small_group
        self.text(tr(
            f"Profil des nouvelles personnes non publié pour {periods} : moins de {g} nouvelles "
            "personnes dans la période ; leur profil se déduirait en partie de celui de "
            "l'ensemble du public et des personnes revenues.",
            f"Newcomers' profile not published for {periods}: fewer than {g} newcomers in the "
            "period; their profile could partly be worked out from the whole public's and the "
            "returning people's.", self.lang), kind="explained")
        self.withheld_periods[name] = small
        return df.loc[keep].reset_index(drop=True)

    def _protect_once(self, mod, df, name, kw):
        """``protect_table`` of a person table (with :meth:`_derived_floors`), remembered.

        ``00-data-quality`` protects the composition of the public as ``02-profiles``
        will (:meth:`_profile_hidden_unknown`); the second call, with an equal table, takes
        the first result (the same cells hidden in both sections, and paid once).
        """
        key = ("protect", name, id(self.dataset), self.dataset.checksum,
               repr(self.settings), repr(sorted(kw.items(), key=lambda x: x[0])))
        hit = _MEMO.get(key)
        if hit is not None and hit[0].equals(df):
            return hit[1].copy()
        limits = self._derived_floors(df)
        if limits is not None:
            out = mod.protect_table(df, limits=limits, **kw)
        else:
            out = mod.protect_table(df, **kw)
        if "population" not in df.columns and "event" not in df.columns:
            if len(_MEMO) > 16:
                _MEMO.clear()
            _MEMO[key] = (df.copy(), out.copy())
        return out

    def _block_keys(self, df) -> list:
        """Columns naming a block of a person table: a period's field (both sides of an
        event's field in a before/after table), whatever its level and unit."""
        if "event" in df.columns:
            cols = ["event", "field"]
        else:
            cols = ["period", "field"]
        return [c for c in ("site", "population", *cols) if c in df.columns]

    def _withhold_unprotectable(self, df, out, name):
        """Drop the blocks whose own total had to be hidden: their total is published anyway.

        When a block cannot be protected by hiding cells (13 people in a year, chemsex
        "yes" and "no" both under 11), :func:`qsp_eval.disclosure.protect_table` hides
        its denominator too. But a person block's total is the period's distinct people,
        visits or first-time visitors, which ``attendance_by_year`` publishes: "yes" +
        "no" = 13 with each under 11 gives each 3 to 10. Such a block (the period's
        field, every level and unit; for a before/after table, both sides of the event's
        field, and any event whose side is a withheld year) is not published; a sentence
        says so.
        """
        import pandas as pd

        keys = self._block_keys(df)
        if "denominator" not in df.columns or "field" not in df.columns or len(out) != len(df):
            return out
        d_in = pd.to_numeric(df["denominator"], errors="coerce")
        d_out = pd.to_numeric(out["denominator"], errors="coerce")
        lost = d_in.notna().to_numpy() & d_out.isna().to_numpy()
        blocks = set(out.loc[lost, keys].astype(str).itertuples(index=False, name=None))
        drop = pd.Series(False, index=out.index)
        if blocks:
            drop |= pd.Series([k in blocks for k in out[keys].astype(str).itertuples(
                index=False, name=None)], index=out.index)
        if "event" in out.columns and "window" in out.columns and self.withheld_blocks:
            side = [(str(w), str(f)) for w, f in zip(out["window"], out["field"], strict=True)]
            ev = {(str(e), str(f)) for (w, f), e in zip(side, out["event"], strict=True)
                  if (w, f) in self.withheld_blocks}
            drop |= pd.Series([(str(e), str(f)) in ev for e, f in
                               zip(out["event"], out["field"], strict=True)], index=out.index)
        if not drop.any():
            return out
        if "event" not in out.columns and "population" not in out.columns:
            for p, f in out.loc[drop, ["period", "field"]].astype(str).itertuples(
                    index=False, name=None):
                self.withheld_blocks.add((p, f))
        lang = self.lang
        what = sorted({(str(r["period"]) if "event" not in out.columns else str(r["event"]),
                        tr(*_FIELD_LABELS.get(str(r["field"]), (str(r["field"]),) * 2), lang))
                       for _, r in out.loc[drop].iterrows()})
        by_period: dict = {}
        for p, f in what:
            by_period.setdefault(p, []).append(f.lower() if self.lang == "fr" else f)
        sep, colon = (" ; ", " : ") if self.lang == "fr" else ("; ", ": ")
        listed = sep.join(f"{p}{colon}{', '.join(fs)}" for p, fs in by_period.items())
        self.text(tr(
            f"Certains profils ne sont pas publiés ({listed}) : trop peu de personnes pour "
            "masquer les petites cases sans que les totaux publiés (personnes et passages de "
            "la période) ne les redonnent.",
            f"Some profiles are not published ({listed}): too few people to hide the small "
            "cells without the published totals (people and visits of the period) giving "
            "them back.", self.lang), kind="explained")
        return out.loc[~drop].reset_index(drop=True)

    def _protect_sub_population(self, mod, df, out, kw):
        """Hide sub-population cells whose difference with the whole population is small.

        A table of a sub-population (``population`` column, e.g. newcomers) published
        next to the whole population (same period, field, level, group, unit in a
        person table published earlier) gives the rest of the population by
        subtraction: whole 8, newcomers 7 -> 1 returning person of that group. Such a
        newcomers cell (difference 1 to t - 1) is suppressed (``force``) and the table
        protected again, until no published pair differs by 1 to t - 1.
        """
        import numpy as np

        keys = [c for c in ("period", "site", "field", "level", "group", "unit")
                if c in df.columns]
        shown: dict = {}
        for t in self.person_tables:
            if "population" in t.columns or not set(keys) <= set(t.columns):
                continue
            ok = ~t["suppressed"].astype(bool) & t["count"].notna()
            for k, v in zip(t.loc[ok, keys].astype(str).itertuples(index=False, name=None),
                            t.loc[ok, "count"], strict=True):
                shown[k] = float(v)
        if not shown:
            return out
        t = self.rules.min_cell
        kw = dict(kw, limits=self._sub_population_limits(df, keys), any_value=True)
        # a cell hidden for the whole public is hidden for the newcomers too: published,
        # the newcomers' count would be a floor of the hidden one
        hidden_whole = set()
        for tab in self.person_tables:
            if "population" in tab.columns or not set(keys) <= set(tab.columns):
                continue
            sel = tab["suppressed"].astype(bool)
            hidden_whole |= set(tab.loc[sel, keys].astype(str).itertuples(index=False,
                                                                           name=None))
        force = np.array([k in hidden_whole for k in
                          df[keys].astype(str).itertuples(index=False, name=None)], dtype=bool)
        out = mod.protect_table(df, force=force if force.any() else None, **kw)
        for _ in range(10):
            more = force.copy()
            key_rows = out[keys].astype(str).itertuples(index=False, name=None)
            for i, (k, hidden, v) in enumerate(zip(key_rows, out["suppressed"].astype(bool),
                                                   out["count"], strict=True)):
                if not hidden and k in shown and 1 <= shown[k] - float(v) <= t - 1:
                    more[i] = True
            more |= self._sub_population_squeezed(df, out, keys, shown)
            if (more == force).all():
                break
            force = more
            out = mod.protect_table(df, force=force, **kw)
        return out

    def _sub_population_squeezed(self, df, out, keys, shown):
        """Cells to hide more where the whole public squeezes a hidden newcomers cell.

        In a block (same period, field, level, unit), the hidden newcomers cells add up to
        the newcomers' residual; those whose whole-public cell is hidden too add up to at
        most the whole public's residual. So a hidden newcomers cell whose whole cell is
        published is at least (newcomers' residual - whole residual - the others' whole
        cells): when that floor leaves it fewer than t values without 0, the smallest
        published newcomers cell of the block is hidden too.
        """
        import numpy as np

        t = self.rules.min_cell
        more = np.zeros(len(df), dtype=bool)
        rows = list(out[keys].astype(str).itertuples(index=False, name=None))
        hid = out["suppressed"].astype(bool).to_numpy()
        cnt = df["count"].astype(float).to_numpy()
        den = df["denominator"].astype(float).to_numpy() if "denominator" in df.columns \
            else np.full(len(df), np.nan)
        if "multi" in df.columns and df["multi"].astype(bool).any():
            multi = df["multi"].astype(bool).to_numpy()
        else:
            multi = np.zeros(len(df), dtype=bool)
        whole_rest = self._whole_residuals(keys)
        blocks: dict = {}
        for i, k in enumerate(rows):
            blocks.setdefault(k[:-2] + k[-1:], []).append(i)
        groups = []  # (member rows, newcomers total, whole public's hidden rest)
        for bk, idx in blocks.items():
            if multi[idx[0]] or np.isnan(den[idx[0]]) or bk not in whole_rest:
                continue
            groups.append((idx, den[idx[0]], whole_rest[bk]))
        # a reporting group published on both sides is a block of its members too
        # (trans, agender and non-binary people = trans women + trans men + ...)
        if "level" in keys and "group" in keys:
            li, gi = keys.index("level"), keys.index("group")
            pos = {k: i for i, k in enumerate(rows)}
            reporting = getattr(self.config, "reporting_groups", None) or {}
            fi = keys.index("field") if "field" in keys else None
            for i, k in enumerate(rows):
                if k[li] != "reporting" or hid[i] or multi[i] or k not in shown:
                    continue
                spec = (reporting.get(k[fi], {}) if fi is not None else {}).get(k[gi]) or {}
                members = [str(m) for m in spec.get("members", []) or []]
                idx = []
                for m_ in members:
                    mk = list(k)
                    mk[li], mk[gi] = "detail", m_
                    if tuple(mk) in pos:
                        idx.append(pos[tuple(mk)])
                if len(idx) < 2:
                    continue
                whole_pub = sum(shown.get(rows[j], 0.0) for j in idx if rows[j] in shown)
                groups.append((idx, cnt[i], shown[k] - whole_pub))
        for idx, total, w_rest in groups:
            h = [i for i in idx if hid[i]]
            rest_n = total - sum(cnt[i] for i in idx if not hid[i])
            pub_whole = [i for i in h if rows[i] in shown]
            for i in pub_whole:
                floor = rest_n - w_rest - sum(shown[rows[j]] for j in pub_whole if j != i)
                top = min(shown[rows[i]], rest_n)
                if floor >= 1 and top - floor + 1 < t:
                    # not a cell the whole public already shows as 0 (hidden, still 0)
                    cand = [j for j in idx if not hid[j] and not more[j]
                            and shown.get(rows[j], 1.0) > 0]
                    if cand:
                        more[min(cand, key=lambda j: (cnt[j], j))] = True
                    break
        return more

    def _whole_residuals(self, keys) -> dict:
        """Per block of the whole-public tables: the sum of its hidden cells (what a reader
        gets as denominator minus the published cells)."""
        out: dict = {}
        for tab in self.person_tables:
            if "population" in tab.columns or not set(keys) <= set(tab.columns) \
                    or "denominator" not in tab.columns:
                continue
            rows = list(tab[keys].astype(str).itertuples(index=False, name=None))
            sup = tab["suppressed"].astype(bool).tolist()
            cnt, den = tab["count"].tolist(), tab["denominator"].tolist()
            acc: dict = {}
            for i, k in enumerate(rows):
                bk = k[:-2] + k[-1:]
                d = None if _isna(den[i]) else float(den[i])
                a = acc.setdefault(bk, [d, 0.0])
                if a[0] is None:
                    a[0] = d
                if not sup[i] and not _isna(cnt[i]):
                    a[1] += float(cnt[i])
            for bk, (d, pub) in acc.items():
                if d is not None:
                    out[bk] = d - pub  # with rounding, within a few units: a heuristic
        return out

    def _derived_floors(self, df):
        """Floors of the yearly "cis man" and "chemsex: yes" people cells of a profile table.

        The before/after table publishes, for a year, the cis men practising chemsex
        (:func:`qsp_eval.profiles.cis_men_chemsex_by_year`): at most each of those cells.
        Given as ``limits`` so that secondary suppression does not hide one of them where
        that floor would leave a reader fewer than t values.
        """
        need = {"period", "field", "group", "unit"}
        if not need <= set(df.columns) or "population" in df.columns or "event" in df.columns:
            return None
        sel = (df["unit"].astype(str) == "people") & (
            ((df["field"].astype(str) == "gender") & (df["group"].astype(str) == "cis_man"))
            | ((df["field"].astype(str) == "chemsex") & (df["group"].astype(str) == "yes")))
        if not sel.any():
            return None
        from . import profiles

        floors = profiles.cis_men_chemsex_by_year(self.data)
        half = (self.rules.round_to or 0) // 2
        out = []
        for s_, p in zip(sel.tolist(), df["period"].astype(str).tolist(), strict=True):
            out.append((max(0.0, floors[p] - half), float("inf")) if s_ and p in floors
                       else None)
        return out if any(x is not None for x in out) else None

    def _sub_population_limits(self, df, keys):
        """Per row of a sub-population table, the range a reader gets from the whole public.

        A newcomers cell is at most the same cell of the whole public and at least that
        cell minus the returning people of its block (whole denominator minus newcomers
        denominator); with a rounding base, the published values are known to within
        half of it. A whole-public cell shown ``< t`` bounds the newcomers cell by t - 1.
        """
        half = (self.rules.round_to or 0) // 2
        t = self.rules.min_cell
        whole: dict = {}
        for tab in self.person_tables:
            if "population" in tab.columns or not set(keys) <= set(tab.columns):
                continue
            cnt = tab["count"].tolist()
            den = tab["denominator"].tolist() if "denominator" in tab.columns \
                else [None] * len(tab)
            disp = tab["count_display"].astype(str).tolist() if "count_display" in tab.columns \
                else [""] * len(tab)
            sup = tab["suppressed"].astype(bool).tolist()
            multi = tab["multi"].astype(bool).tolist() if "multi" in tab.columns \
                else [False] * len(tab)
            rows = list(tab[keys].astype(str).itertuples(index=False, name=None))
            # what the block's total says of each hidden cell (the residual rule)
            blocks: dict = {}
            for i, k in enumerate(rows):
                blocks.setdefault(k[:-2] + k[-1:], []).append(i)
            hidden_range: dict = {}
            for idx in blocks.values():
                d = next((float(den[i]) for i in idx if not _isna(den[i])), None)
                hid = [i for i in idx if sup[i]]
                if d is None or not hid:
                    continue
                lo = {i: 0.0 if disp[i].startswith("<") else float(t) for i in hid}
                hi = {i: float(t - 1) if disp[i].startswith("<") else d for i in hid}
                if not multi[idx[0]]:
                    rest = d - sum(float(cnt[i]) for i in idx
                                   if not sup[i] and not _isna(cnt[i]))
                    for i in hid:
                        others = [j for j in hid if j != i]
                        hi[i] = min(hi[i], rest - sum(lo[j] for j in others) + half * len(idx))
                        lo[i] = max(lo[i], rest - sum(hi[j] for j in others) - half * len(idx))
                for i in hid:
                    hidden_range[i] = (lo[i], hi[i])
            for i, k in enumerate(rows):
                whole[k] = (None if sup[i] or _isna(cnt[i]) else float(cnt[i]),
                            sup[i] and disp[i].startswith("<"),
                            None if _isna(den[i]) else float(den[i]),
                            hidden_range.get(i))
        if not whole:
            return None
        out = []
        nden = df["denominator"].tolist() if "denominator" in df.columns else [None] * len(df)
        for i, k in enumerate(df[keys].astype(str).itertuples(index=False, name=None)):
            w = whole.get(k)
            if w is None:
                out.append(None)
                continue
            c, small, wden, rng = w
            lo, hi = 0.0, float("inf")
            returning = None
            if wden is not None and not _isna(nden[i]):
                returning = (wden + half) - (float(nden[i]) - half)
            if c is not None:
                hi = c + half
                if returning is not None:
                    lo = max(0.0, c - half - returning)
            elif rng is not None:
                hi = rng[1]
                if returning is not None:
                    lo = max(0.0, rng[0] - returning)
            elif small:
                hi = float(t - 1)
            out.append((lo, hi))
        return out

    def _protect_windows(self, mod, df, out, kw):
        """Keep a before/after table consistent with the profile tables published before.

        A side whose ``window`` is one calendar year (``profiles.before_after_events``
        aligns its sides with the years) holds the same people as that year's column
        of the profile tables: a cell hidden there is hidden here too (``force``), and
        the pair columns (difference, interval, p-value, test) are blanked wherever a
        side is hidden (:func:`qsp_eval.disclosure.blank_pairs`).
        """
        import numpy as np

        keys = ["field", "level", "group", "unit"]
        hidden: set = set()
        for t in self.person_tables:
            if "population" in t.columns or "event" in t.columns \
                    or not set(keys + ["period"]) <= set(t.columns):
                continue
            sel = t["suppressed"].astype(bool)
            for k in t.loc[sel, ["period", *keys]].astype(str).itertuples(index=False,
                                                                          name=None):
                hidden.add(k)
        if hidden:
            rows = df[["window", *keys]].astype(str).itertuples(index=False, name=None)
            force = np.array([k in hidden for k in rows], dtype=bool)
            if (force & ~out["suppressed"].to_numpy(dtype=bool)).any():
                out = mod.protect_table(df, force=force, **kw)
        pair = [c for c in ("difference", "diff_ci_low", "diff_ci_high", "p_value", "test")
                if c in out.columns]
        if hasattr(mod, "blank_pairs") and pair:
            blanked = mod.blank_pairs(df, out, keys=["event", *keys], columns=pair)
            for c in pair:
                out[c] = blanked[c]
        return out

    def _profile_hidden_unknown(self, mod) -> set:
        """``(year, field)`` of the "not stated" visit cells the profile tables hide.

        Protects, as notebook ``02-profiles`` does (``profiles_by_year``: per year, ``by``
        period, field, level, unit), the composition of the public, and returns the
        hidden ``unknown`` cells counted in visits, so that a completeness table published
        earlier in the report does not reveal them.
        """
        from . import profiles

        comp = self.compute(profiles.composition, period="year")
        kw = {"rules": self.rules, "kind": "person", "by": ["period", "field", "level", "unit"]}
        prot = self._protect_once(mod, comp, "profiles_by_year", kw)
        sel = prot.loc[(prot["group"] == "unknown") & (prot["unit"] == "visits")
                       & prot["suppressed"].astype(bool)]
        return {(str(p), str(f)) for p, f in zip(sel["period"], sel["field"], strict=True)}

    def _show_table(self, df, name, *, title="", person=False):
        meta = {"qsp_eval": {"kind": "table", "name": name, "title": title,
                             "table_kind": "person" if person else "activity"}}
        _display({"text/html": table_html(df, lang=self.lang, title=title, rules=self.rules,
                                          person=person, config=self.config, name=name),
                  "text/plain": _plain_caption(name, title, df)},
                 meta)

    def _mark_table(self, name: str, kind: str) -> None:
        """List a published table as person or activity in the folder's ``disclosure.json``.

        Both its CSV (``tables/<name>.csv``) and its sheet of ``tables/tables.xlsx`` are
        listed, following the convention of :func:`qsp_eval.disclosure.scan_outputs`.
        """
        from .io import read_json

        mod = _disclosure()
        path = self.output_dir / getattr(mod, "MANIFEST_NAME", "disclosure.json")
        lists = {"person": set(), "activity": set()}
        if path.is_file():
            try:
                man = read_json(path)
                lists["person"] = set(man.get("person_tables", []) or [])
                lists["activity"] = set(man.get("activity_tables", []) or [])
            except ValueError:
                pass
        entries = {f"tables/{name}.csv", f"tables/tables.xlsx[{name[:31]}]"}
        other = "activity" if kind == "person" else "person"
        lists[other] -= entries
        lists[kind] |= entries
        if mod is not None and self.rules is not None:
            try:
                content = mod.manifest(self.rules, sorted(lists["person"]),
                                       sorted(lists["activity"]))
            except TypeError:  # older signature without activity tables
                content = mod.manifest(self.rules, sorted(lists["person"]))
        else:
            content = {"person_tables": sorted(lists["person"]),
                       "activity_tables": sorted(lists["activity"])}
        from .io import write_json

        write_json(content, path)

    def show(self, df, name: str, *, where: dict | None = None, title: str = ""):
        """Show part of an already published table (rows matching ``where``), without writing.

        ``df`` must be the table returned by :meth:`table` (already protected);
        ``name`` is the published table it comes from.

        Examples
        --------
        >>> # pub.show(comp, "profiles_by_year", where={"unit": "people", "level": "reporting"})
        """
        view = df
        for col, val in (where or {}).items():
            if col in view.columns:
                view = view.loc[view[col] == val]
        view = view.drop(columns=[c for c in (where or {}) if c in view.columns])
        if name in self.explained:  # already said why, above: under this heading too
            self.text(tr("Pas de tableau : les données ne permettent pas de l'établir "
                         "(voir ci-dessus).",
                         "No table: the data do not allow it (see above).", self.lang),
                      kind="explained")
            return None
        if view.empty:
            self.text(tr("Rien à montrer ici avec ces données.",
                         "Nothing to show here with these data.", self.lang), kind="explained")
            return None
        person = "suppressed" in df.columns
        self._show_table(view.reset_index(drop=True), name, title=title, person=person)
        return None

    def withheld_tests(self, rows):
        """Which test rows the disclosure check would withhold, given what is published so far.

        ``rows`` has the columns ``field``, ``unit``, ``level``, ``among``, ``group``;
        returns a boolean array (``True`` = withheld). Passed as ``skip`` to
        :func:`qsp_eval.profiles.profile_tests`, so that tests that cannot be published are
        not computed; :meth:`table` still applies the same check to what is computed.

        Examples
        --------
        >>> # profiles.profile_tests(exact, skip=pub.withheld_tests)
        """
        mod = _disclosure()
        if mod is None:  # no disclosure control: nothing is published, nothing to compute
            return [True] * len(rows)
        return mod.protect_tests(rows, self.person_tables, rules=self.rules)["withheld"].to_numpy()

    def summary(self, key_figures, answer: str = "") -> None:
        """Publish the coordinator's key figures (``tables/key_figures.csv``) and show them as cards.

        ``key_figures`` is :func:`qsp_eval.writeup.key_figures` (columns ``label``,
        ``period``, ``value``, ``change``, ``unit``); ``answer`` the theming
        verdict, of which the first two sentences (the estimate and what it means)
        are shown under the figures; the full verdict is in the theming section.
        """
        from .io import write_table

        evaluated = self.settings.config.change
        precedes = (self.window is not None and evaluated is not None
                    and self.window[1] < evaluated.start)
        if precedes and "key" in key_figures.columns:
            # the key figures describe the window; a window before the change has no theming
            # figure (the answer below still says what all the data show, and says so)
            key_figures = key_figures.loc[
                ~key_figures["key"].astype(str).str.startswith("theming_")].reset_index(drop=True)
        write_table(key_figures, self.output_dir / "tables" / "key_figures.csv")
        cards = []
        for _, r in key_figures.iterrows():
            per = f" ({html.escape(str(r['period']))})" if str(r.get("period", "") or "") else ""
            change = str(r.get("change", "") or "")
            value, _, detail = str(r["value"]).partition(" (")
            detail = f'<span class="kf-detail">({html.escape(detail)}</span>' if detail else ""
            cards.append(
                '<div class="kf"><div class="kf-value">' + html.escape(value) + detail
                + '</div><div class="kf-label">' + html.escape(str(r["label"])) + per + "</div>"
                + (f'<div class="kf-change">{html.escape(change)}</div>' if change else "")
                + "</div>")
        body = '<div class="keyfigures">' + "".join(cards) + "</div>"
        answer = _first_sentences(answer, 2)
        if answer and precedes:
            answer = tr(
                f"La fenêtre choisie se termine avant le début du changement évalué "
                f"({_fmt_day(evaluated.start, 'fr')}) : elle le précède. Sur toutes les données : ",
                f"The chosen window ends before the change under evaluation starts "
                f"({_fmt_day(evaluated.start, 'en')}): it precedes the change. On all the data: ",
                self.lang) + answer[:1].lower() + answer[1:]
        if answer:
            body += ('<p class="answer"><strong>' + html.escape(
                tr("La thématisation ? ", "Theming? ", self.lang)) + "</strong>"
                + html.escape(answer) + "</p>")
        _display({"text/html": body, "text/plain": key_figures.to_string(index=False)
                  + ("\n\n" + answer if answer else "")},
                 {"qsp_eval": {"kind": "summary", "name": "key_figures"}})
        return None

    def write_writeups(self, writeup, tables: dict, *, theming=None) -> list:
        """Write ``writeup.fr.md``, ``writeup.en.md`` and their ``.docx`` into the report folder.

        ``writeup`` is the :mod:`qsp_eval.writeup` module (passed by the notebook so that
        this module does not import it); ``tables`` the published tables. Each ``.docx``
        holds the key tables (attendance by year, the profiles, themed vs plain
        sessions) as Word tables and the key figures (``figures/*.png`` already drawn
        for the report, not redrawn) with captions: :func:`docx_inserts`.
        """
        paths = []
        for lang in ("fr", "en"):
            text = writeup.build_writeup(tables, theming=theming, config=self.config, lang=lang,
                                         rules=self.rules, period=self.headline_period,
                                         window=self._window_info())
            paths.append(self.write_file(text, f"writeup.{lang}.md"))
            p = self.output_dir / f"writeup.{lang}.docx"
            inserts = docx_inserts(tables, self.output_dir, lang=lang, rules=self.rules,
                                   config=self.config)
            if _SAVER is not None:  # python-docx is slow to import: the worker does it
                _SAVER.call(_write_docx, writeup.__name__, text, str(p), lang, inserts)
            else:
                _write_docx(writeup.__name__, text, str(p), lang, inserts)
            paths.append(p)
        return paths

    def _window_info(self) -> dict | None:
        """The window for :func:`qsp_eval.writeup.build_writeup` (``None`` without one)."""
        w = self.window
        if w is None:
            return None
        change = self.settings.config.change
        return {"start": w[0], "end": w[1], "data_start": self.settings.data_start,
                "data_end": self.settings.data_end,
                "change_start": change.start if change is not None else None}

    def tables(self, tables: dict, *, kind: str = "activity", titles: dict | None = None,
               show: bool = True) -> dict:
        """Publish several tables (name -> DataFrame) with :meth:`table`; return the published ones."""
        titles = titles or {}
        return {name: self.table(df, name, kind=kind, title=titles.get(name, ""), show=show)
                for name, df in tables.items()}

    def figure(self, fig, name: str, *, title: str = "", alt: str = "", show: bool = True):
        """Publish one figure (Axes or Figure): ``figures/<name>.png`` and ``.svg``, display.

        Returns None (so the notebook shows the figure once).
        """
        self._check_name(name)
        if fig is None:
            return None
        fig = getattr(fig, "figure", fig)
        alt = alt or figure_alt(fig, lang=self.lang) or title
        source = FIGURE_TABLES.get(name, name)
        if source in self.explained:  # drawn from a table with nothing to show
            if source != name and show:  # under its own heading: say it there too
                self.text(tr("Pas de figure : les données ne permettent pas de la tracer "
                             "(voir ci-dessus).",
                             "No figure: the data do not allow drawing it (see above).",
                             self.lang), kind="explained")
            return None
        stem = self.output_dir / "figures" / name
        self.published.append(("figure", name))
        if _SAVER is not None and _SAVER.submit(fig, stem):
            if show:  # the image is being written: the notebook links to the file
                meta = {"qsp_eval": {"kind": "figure", "name": name, "title": title,
                                     "alt": alt or title, "file": f"figures/{name}.svg"}}
                _display({"text/html": f'<img src="../figures/{html.escape(name)}.svg" '
                                       f'alt="{html.escape(alt or title or name)}">',
                          "text/plain": title or name}, meta)
            return None
        png, svg = save_figure(fig, stem)
        if show:
            meta = {"qsp_eval": {"kind": "figure", "name": name, "title": title,
                                 "alt": alt or title}}
            # PNG only in the notebook: the report reads the SVG file (figures/<name>.svg)
            from .io import read_binary

            _display({"image/png": base64.b64encode(read_binary(png)).decode("ascii"),
                      "text/plain": title or name}, meta)
        return None

    def text(self, markdown: str, *, kind: str = "text") -> None:
        """Show a paragraph produced by a package function (Markdown); it goes into the report.

        With ``kind="verdict"`` (the theming answer) and a reporting window, the
        paragraph is preceded by :meth:`theming_window_note`.
        """
        if kind == "verdict" and markdown:
            note = self.theming_window_note()
            if note:
                self.text(note, kind="window-note")
        if not markdown:
            return None
        _display({"text/markdown": str(markdown), "text/plain": str(markdown)},
                  {"qsp_eval": {"kind": kind}})
        return None

    def html(self, fragment: str, *, kind: str = "html") -> None:
        """Show an HTML fragment built by a package function (already escaped); into the report."""
        _display({"text/html": str(fragment), "text/plain": re.sub(r"<[^>]+>", "", fragment)},
                 {"qsp_eval": {"kind": kind}})
        return None

    def notices(self) -> None:
        """Show what the loader did that the reader should know (as a bullet list)."""
        items = [n.format(self.lang) if hasattr(n, "en") else str(n)
                 for n in self.dataset.notices]
        if items:  # for the person who prepares the report: folded, not on the first screen
            summary = tr("Détails techniques du chargement (pour la personne qui prépare le "
                         "rapport)", "Technical details of the loading (for the person who "
                         "prepares the report)", self.lang)
            body = "".join(f"<li>{html.escape(s)}</li>" for s in items)
            self.html(f'<details class="fold notices"><summary>{html.escape(summary)}</summary>'
                      f"<ul>{body}</ul></details>", kind="notices")

    def run(self, func, *args, **kwargs):
        """Call ``func(self.full_data, *args, **kwargs)``, remembering the result in this process.

        For costly analyses used by two notebooks (the theming analysis in
        ``03-theming`` and in the summary): the report runs every notebook in one
        process, so the second call is free. Keyed by the function, the data
        checksum, the effective configuration and the arguments.

        The analysis receives the **whole** dataset, not the reporting window:
        the window chooses what is reported, not what the models learn from (the
        theming models need the sessions before the change as their baseline).
        The section says so (:meth:`theming_window_note`).

        Examples
        --------
        >>> # res = pub.run(theming.theming_analysis, seed=pub.seed)
        """
        key = _memo_key(func, self.dataset, self.settings.config, args, kwargs)
        value = _MEMO.get(key)
        if value is not None and hasattr(value, "result") and hasattr(value, "done"):
            try:  # computed ahead in the background by the report run (see prefetch)
                value = value.result()
                _MEMO[key] = value
            except Exception:  # noqa: BLE001 - compute it here: same error, proper traceback
                value = None
                del _MEMO[key]
        if key not in _MEMO:
            if len(_MEMO) > 16:
                _MEMO.clear()
            _MEMO[key] = func(self.full_data, *args, **kwargs)
        return _MEMO[key]

    def compute(self, func, *args, **kwargs):
        """Call ``func(self.data, *args, **kwargs)`` (the reported window), remembered here.

        For a table two notebooks need (the composition of the public: ``00-data-quality``
        protects it to know which "not stated" cells the profiles hide, ``02-profiles``
        publishes it). Keyed like :meth:`run`, plus the window. Without a window, a result
        computed ahead by the report run's worker (:func:`prefetch`) is taken.

        Examples
        --------
        >>> # exact = pub.compute(profiles.composition, period="year")
        """
        if not self.settings.windowed:
            return self.run(func, *args, **kwargs)
        key = ("window", self.settings.window_start, self.settings.window_end,
               *_memo_key(func, self.data, self.settings.config, args, kwargs))
        if key not in _MEMO:
            if len(_MEMO) > 16:
                _MEMO.clear()
            _MEMO[key] = func(self.data, *args, **kwargs)
        return _MEMO[key]

    def published_tables(self) -> dict:
        """Read back every table published so far in this report folder (name -> DataFrame)."""
        return read_published_tables(self.output_dir)

    def write_file(self, text: str, filename: str) -> Path:
        """Write a text file (e.g. ``writeup.fr.md``) at the top of the report folder."""
        if "/" in filename or "\\" in filename or filename.startswith("."):
            raise ParameterError(f"Nom de fichier invalide « {filename} ».",
                                 f"Invalid file name '{filename}'.")
        from .io import write_text as _write

        return _write(text, self.output_dir / filename)


def _project_folder() -> Path:
    """The notebooks' folder: relative defaults of the notebooks are written from there."""
    from .report import notebook_dir

    return notebook_dir()


def resolve_path(value, *, default: str, must_exist: bool,
                 what: tuple[str, str] = ("Source", "Source")) -> Path:
    """Resolve a notebook's path parameter, whatever folder the notebook runs from.

    The rule (same in Jupyter, ``papermill`` from any folder, and the report):

    - an absolute path is kept;
    - the parameter's own default (``default``, written relative to the
      notebooks' folder, e.g. ``"../data/example"``) resolves against the
      notebooks' folder, i.e. inside the project: ``papermill
      notebooks/01-attendance.ipynb out.ipynb`` run from the repository root
      reads ``data/example`` and writes to ``outputs/notebooks``;
    - any other relative path resolves against the current folder (the
      shell's, as for every command); a ``source`` missing there is looked up
      from the notebooks' folder too (a path written as in the notebooks).

    Raises
    ------
    ParameterError
        ``must_exist`` and the path is nowhere (both places tried are named).

    Examples
    --------
    >>> resolve_path("../outputs/notebooks", default="../outputs/notebooks",
    ...              must_exist=False) == (_project_folder() / "../outputs/notebooks").resolve()
    True
    """
    p = Path(str(value)).expanduser()
    if p.is_absolute():
        tried = [p]
    elif str(value) == default:
        tried = [_project_folder() / p]
    else:
        tried = [Path.cwd() / p]
        if must_exist:
            tried.append(_project_folder() / p)
    if not must_exist:
        return tried[0].resolve()
    for t in tried:
        if t.exists():
            return t.resolve()
    where_fr = " ni ".join(f"« {t.resolve()} »" for t in tried)
    where_en = " nor ".join(f"'{t.resolve()}'" for t in tried)
    raise ParameterError(f"{what[0]} introuvable : « {value} » (ni {where_fr} n'existe).",
                         f"{what[1]} not found: '{value}' (neither {where_en} exists)."
                         if len(tried) > 1 else
                         f"{what[1]} not found: '{value}' ({where_en} does not exist).")


def setup(source: str, *, output_dir: str, lang: str = "fr", period: str = "year",
          theming_start: str = "", disclosure_preset: str = "", min_cell: int = 0,
          seed: int = 0, window_start: str = "", window_end: str = "") -> Publisher:
    """Load the data (cached), check the parameters and return the notebook's :class:`Publisher`.

    Parameters are those of every report notebook's ``parameters`` cell; see
    :func:`check_settings`. ``output_dir`` is created. Relative ``source`` and
    ``output_dir`` follow :func:`resolve_path`: the notebooks' defaults always
    mean the project's ``data/example`` and ``outputs/notebooks``, from any
    folder. With ``window_start`` / ``window_end``, the publisher's
    :attr:`Publisher.data` is the window (:func:`window_dataset`).

    Raises
    ------
    ParameterError, DataError
        With the message in the notebook's language (``lang``) as the
        exception's text, so the notebook shows it in that language.

    Examples
    --------
    >>> # pub = setup("../data/example", output_dir="../outputs/notebooks")
    """
    from .errors import QspError

    try:
        src = resolve_path(source, default=DEFAULT_SOURCE, must_exist=True)
        ds = load_dataset(src)
        settings = check_settings(ds, lang=lang, period=period, theming_start=theming_start,
                                  disclosure_preset=disclosure_preset, min_cell=min_cell,
                                  seed=seed, window_start=window_start, window_end=window_end)
    except QspError as exc:
        exc.args = (exc.format(lang if lang in ("fr", "en") else "fr"),)
        raise
    out = resolve_path(output_dir, default=DEFAULT_OUTPUT_DIR, must_exist=False)
    out.mkdir(parents=True, exist_ok=True)
    return Publisher(ds, settings, out)


def _first_sentences(text: str, n: int) -> str:
    """The first ``n`` sentences of ``text`` (a sentence ends with . ! or ? before a capital).

    Examples
    --------
    >>> _first_sentences("Un ×1,36 (IC 1,01–1,83). Deux. Trois.", 2)
    'Un ×1,36 (IC 1,01–1,83). Deux.'
    """
    parts = re.split(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ«\"0-9])", str(text or "").strip())
    return " ".join(parts[:n])


def _plain_caption(name: str, title: str, df) -> str:
    """Plain-text stand-in of a shown table (the HTML carries the content)."""
    return f"[{name}] {title}".strip() + f" ({len(df)} rows)"


def _significant(x, digits: int = 6):
    import math

    if x is None or not isinstance(x, float) or math.isnan(x) or math.isinf(x) or x == 0:
        return x
    return float(f"{x:.{digits}g}")


#: Float columns that hold counts (a large value there is a real count, not an estimate).
_COUNT_COLUMNS = {"count", "n", "denominator", "visits", "people", "sessions", "quantity",
                  "distinct_people", "first_time_visitors", "returning_people", "new_people",
                  "respondents", "attendance", "new_visitors", "among", "unanswered"}
#: No estimate, interval bound, ratio or statistic of a report reaches this: beyond it a
#: value comes from a degenerate fit and is not published (NA, shown as "—").
ABSURD = 1e6


def _tidy_for_publication(df):
    """Round floats to 6 significant digits; blank absurd estimates; drop empty free text.

    Six significant digits are far more than any published figure shows and keep
    the CSV files short, stable across platforms and free of long digit runs.
    A float that is not a count (column not in ``_COUNT_COLUMNS``, nor ``sessions_*``
    or ``n_*``) and is infinite or at least :data:`ABSURD` in absolute value (a rate
    ratio or bound of a degenerate fit: ``5.7e13``) becomes NA: a report never prints it.
    A column whose name announces free text (``note``, ``comment``...) is dropped
    when it is empty; a non-empty one is kept (the disclosure scan then refuses it).
    """
    import numpy as np
    import pandas as pd

    from .privacy import is_free_text_column

    out = df.copy()
    drop = [c for c in out.columns if is_free_text_column(str(c))
            and (out[c].isna() | (out[c].astype("string").str.strip() == "")).all()]
    out = out.drop(columns=drop)
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c].map(_significant).astype(out[c].dtype)
            name = str(c)
            if name in _COUNT_COLUMNS or name.startswith(("sessions_", "n_")):
                continue
            vals = pd.to_numeric(out[c], errors="coerce").astype(float)
            bad = ~np.isfinite(vals.to_numpy()) & vals.notna().to_numpy()
            bad |= (vals.abs() >= ABSURD).to_numpy()
            if bad.any():
                out[c] = out[c].mask(bad)
    return out


def _write_docx(module: str, markdown: str, path: str, lang: str = "fr", inserts=None) -> str:
    """Turn Markdown into a .docx with ``<module>.writeup_docx``; save it with fixed dates."""
    import importlib

    from .io import write_docx

    write_docx(importlib.import_module(module).writeup_docx(markdown, lang=lang, inserts=inserts),
               path)
    return path


#: Key tables and figures of the Word write-up: (kind, name, section heading fr, en,
#: caption fr, caption en).
DOCX_KEY_ITEMS = (
    ("table", "attendance_by_year", "Fréquentation", "Attendance",
     "Fréquentation par année", "Attendance per year"),
    ("figure", "attendance_by_year", "Fréquentation", "Attendance",
     "Passages par permanence et par année (moyenne, IC 95 %)",
     "Visits per session per year (mean, 95% CI)"),
    ("table", "profiles_by_year", "Publics accueillis", "Who comes",
     "Évolution des profils (groupes de restitution, personnes différentes)",
     "Profile shift (reporting groups, different people)"),
    ("figure", "profiles_gender", "Publics accueillis", "Who comes",
     "Identité de genre des personnes différentes, par année",
     "Gender identity of the different people, per year"),
    ("table", "theming_themed_vs_plain", "Thématisation des permanences", "Themed sessions",
     "Permanences thématisées et non thématisées", "Themed and plain sessions"),
    ("figure", "theming_series", "Thématisation des permanences", "Themed sessions",
     "Passages par permanence, modèle ajusté et contrefactuel (série chronologique "
     "interrompue)", "Visits per session, fitted model and counterfactual (interrupted time "
     "series)"),
)


def docx_inserts(tables: dict, output_dir, *, lang: str = "fr", rules=None, config=None) -> list:
    """The key tables (reader form) and figures (PNG paths) for :func:`writeup_docx`.

    Only published tables are used (``tables``: name -> published DataFrame) and
    only figures already written in ``output_dir/figures``; a missing one is left out.
    """
    from .tables import reader_table

    out = []
    for kind, name, h_fr, h_en, c_fr, c_en in DOCX_KEY_ITEMS:
        after, caption = tr(h_fr, h_en, lang), tr(c_fr, c_en, lang)
        if kind == "table":
            df = tables.get(name)
            if df is None:
                continue
            if name == "profiles_by_year" and {"unit", "level"} <= set(df.columns):
                df = df.loc[(df["unit"] == "people") & (df["level"] == "reporting")]
            rt = reader_table(df, name, lang=lang, rules=rules, config=config)
            if rt is None or rt.sentence:
                continue
            out.append({"kind": "table", "after": after,
                        "caption": f"{caption}. {rt.caption}".strip(),
                        "columns": rt.columns, "rows": rt.rows, "note": rt.note})
        else:
            out.append({"kind": "figure", "after": after, "caption": caption,
                        "path": str(Path(output_dir) / "figures" / f"{name}.png")})
    return out


# ---------------------------------------------------------------------------
# Report-level helpers (used by qsp_eval.report)
# ---------------------------------------------------------------------------
def read_published_tables(folder) -> dict:
    """``{stem: DataFrame}`` of a report folder's ``tables/*.csv``.

    See :func:`qsp_eval.io.read_published_tables` (kept here by name).
    """
    from .io import read_published_tables as _read

    return _read(folder)


def write_workbook(folder, lang: str = "fr", config=None) -> Path | None:
    """Write ``tables/tables.xlsx`` for people: one sheet per published table (None if none).

    In ``lang``: sheet names, headers and categories are words, not codes
    (:func:`qsp_eval.tables.sheet_frame`), numbers carry display formats
    (percentages, decimals), headers are frozen, widths fit; the first sheet,
    "Lisez-moi" ("Read me"), lists each sheet with its definition and unit and
    says that ``tables/*.csv`` hold the same tables in tidy form for programs.
    The folder's ``disclosure.json`` lists the sheets under their new names.
    """
    import pandas as pd

    from .io import write_tables_xlsx
    from .tables import SHEET_INFO, sheet_frame, sheet_name

    tables = read_published_tables(folder)
    if not tables:
        return None
    sheets, formats, rows, renamed = {}, {}, [], {}
    order = {n: i for i, n in enumerate(SHEET_INFO)}
    for name, df in sorted(tables.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        sname = sheet_name(name, lang)
        k = 2
        while sname in sheets:
            sname = f"{sheet_name(name, lang)[:28]} {k}"
            k += 1
        frame, fmt = sheet_frame(df, name, lang=lang, config=config)
        sheets[sname], formats[sname] = frame, fmt
        renamed[name] = sname
        info = SHEET_INFO.get(name)
        i = 0 if lang == "fr" else 1
        rows.append({tr("Feuille", "Sheet", lang): sname,
                     tr("Contenu", "Content", lang): info[2 + i] if info else name,
                     tr("Unité", "Unit", lang): info[4 + i] if info else "",
                     tr("Fichier CSV (pour les programmes)", "CSV file (for programs)", lang):
                         f"tables/{name}.csv"})
    readme = pd.DataFrame(rows)
    note = tr("Ce classeur est fait pour être lu (libellés en français, formats). Les mêmes "
              "tableaux, sous forme « tidy » (codes, une ligne par case, séparateur virgule, "
              "UTF-8), sont dans tables/*.csv pour R, Python ou un tableur configuré : ils ne "
              "s'ouvrent pas correctement d'un double-clic dans Excel en français. "
              "« < 5 » et « n.d. » : cases masquées par la règle de diffusion.",
              "This workbook is made for reading (labels, formats). The same tables in tidy "
              "form (codes, one row per cell, comma-separated, UTF-8) are in tables/*.csv for "
              "R, Python or a configured spreadsheet. '< 5' and '[c]'/'n.d.': cells hidden by "
              "the disclosure rule.", lang)
    readme = pd.concat([readme, pd.DataFrame([{readme.columns[0]: "", readme.columns[1]: note}])],
                       ignore_index=True)
    out = write_tables_xlsx(sheets, Path(folder) / "tables" / "tables.xlsx", formats=formats,
                            readme=readme, readme_title=tr("Lisez-moi", "Read me", lang))
    _rename_workbook_entries(Path(folder), renamed)
    return out


def _rename_workbook_entries(folder: Path, renamed: dict) -> None:
    """List the workbook's sheets in ``disclosure.json`` under their titles (person/activity)."""
    from .io import read_json, write_json

    mod = _disclosure()
    path = folder / getattr(mod, "MANIFEST_NAME", "disclosure.json")
    if not path.is_file():
        return
    try:
        man = read_json(path)
    except ValueError:
        return
    changed = False
    for key in ("person_tables", "activity_tables"):
        items = list(man.get(key, []) or [])
        for name, sname in renamed.items():
            old = f"tables/tables.xlsx[{name[:31]}]"
            if old in items:
                items[items.index(old)] = f"tables/tables.xlsx[{sname}]"
                changed = True
        man[key] = items
    if changed:
        write_json(man, path)


def report_subtitle(dataset, *, lang: str = "fr", window=None) -> str:
    """One line under the report title: period covered, source name, synthetic-data warning.

    ``window`` (``(start, end)`` dates, :attr:`Settings.window`) is stated first:
    "Fenêtre du 01/01/2022 au 31/12/2023 (données du 03/11/2021 au 18/12/2024)".
    """
    s = dataset.sessions
    parts = []
    if len(s):
        d0, d1 = s["date"].min(), s["date"].max()
        fmt = "%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"
        if window is not None:
            w0, w1 = window
            parts.append(tr(f"Fenêtre du {w0:{fmt}} au {w1:{fmt}} (données du {d0:{fmt}} au "
                            f"{d1:{fmt}})",
                            f"Window from {w0:{fmt}} to {w1:{fmt}} (data from {d0:{fmt}} to "
                            f"{d1:{fmt}})", lang))
        else:
            parts.append(tr(f"Données du {d0:{fmt}} au {d1:{fmt}}",
                            f"Data from {d0:{fmt}} to {d1:{fmt}}", lang))
    if dataset.config.organisation:
        parts.append(str(dataset.config.organisation))
    if dataset.config.synthetic:
        parts.append(tr("DONNÉES SYNTHÉTIQUES (exemple)", "SYNTHETIC DATA (example)", lang))
    return " · ".join(parts)


WORKBOOK_PATH = "tables/tables.xlsx"


def write_workbook_scanned(folder, lang: str = "fr", config=None, *, scan: bool = True) -> list:
    """:func:`write_workbook`, then the disclosure scan of that workbook alone (its findings).

    Run by the report while its worker finishes the figures (reading the workbook back is the
    slowest part of the scan); :func:`scan_folder` then skips it and adds these findings.
    """
    path = write_workbook(folder, lang, config)
    mod = _disclosure()
    if path is None or mod is None or not scan:
        return []
    return list(mod.scan_outputs(folder, only=[WORKBOOK_PATH]))


def scan_folder(folder, dataset=None, *, skip=(), findings=()) -> None:
    """Run :func:`qsp_eval.disclosure.scan_outputs` on a finished folder; raise if it finds anything.

    ``skip`` lists relative paths already scanned elsewhere, whose ``findings`` are added.

    Raises
    ------
    DisclosureError
        Listing what was found (file and reason), never the values.
    """
    mod = _disclosure()
    if mod is None:
        raise DisclosureError(
            "Contrôle de diffusion indisponible : le rapport n'est pas publié.",
            "Disclosure control unavailable: the report is not published.")
    findings = list(findings) + list(mod.scan_outputs(folder, skip=skip))
    if findings:
        lines = [str(f.format("fr")) if hasattr(f, "format") else str(f) for f in findings]
        lines_en = [str(f.format("en")) if hasattr(f, "format") else str(f) for f in findings]
        raise DisclosureError(
            "Le contrôle de diffusion a trouvé des éléments à risque ; rien n'est publié :\n"
            + "\n".join("  - " + s for s in lines),
            "The disclosure check found risky content; nothing is published:\n"
            + "\n".join("  - " + s for s in lines_en))

