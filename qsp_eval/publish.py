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
    "FigureSaver",
    "prefetch",
    "write_text",
    "read_published_tables",
    "write_workbook",
    "report_subtitle",
    "scan_folder",
]

#: Report parameters that :func:`check_settings` understands.
SETTING_NAMES = ("lang", "period", "theming_start", "disclosure_preset", "min_cell", "seed")
#: Aggregation periods accepted by the ``period`` parameter.
PERIODS = ("year", "half", "quarter", "month")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")

# ---------------------------------------------------------------------------
# Loading (cached)
# ---------------------------------------------------------------------------
_CACHE: dict = {}
_MEMO: dict = {}


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
    """

    lang: str
    period: str
    seed: int
    config: object
    rules: object = None


def _disclosure():
    try:
        from . import disclosure
    except ImportError:  # pragma: no cover - module being written
        return None
    return disclosure


def check_settings(dataset, *, lang: str = "fr", period: str = "year", theming_start: str = "",
                   disclosure_preset: str = "", min_cell: int = 0, seed: int = 0) -> Settings:
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

    Returns
    -------
    Settings

    Raises
    ------
    ParameterError
        A value outside what is accepted, with what is accepted.

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
    return Settings(lang=lang, period=period, seed=int(seed), config=cfg, rules=rules)


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
               config=None) -> str:
    """Render a published table as a small, escaped HTML ``<table>``.

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

    def submit(self, fig, stem, *, dpi: int = 150) -> bool:
        """Queue ``fig`` for saving at ``stem`` (.png, .svg); False if it cannot be pickled."""
        import pickle

        try:
            data = pickle.dumps(fig)
        except Exception:  # noqa: BLE001 - e.g. a lambda formatter: save here instead
            return False
        Path(stem).parent.mkdir(parents=True, exist_ok=True)
        self._futures.append(self._pool.submit(_save_pickled, data, str(stem), dpi))
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
        """Block until every queued figure is saved; re-raise the first failure."""
        try:
            for f in self._futures:
                f.result()
        finally:
            self._futures = []

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
        """Effective :class:`~qsp_eval.schema.EvaluationConfig` (parameters applied)."""
        return self.settings.config

    @property
    def rules(self):
        """Effective disclosure rules."""
        return self.settings.rules

    @property
    def seed(self) -> int:
        """Seed for anything random."""
        return self.settings.seed

    @property
    def data(self):
        """The dataset with the effective configuration (theming start override applied)."""
        ds = self.dataset
        if ds.config is self.config:
            return ds
        return dataclasses.replace(ds, config=self.config)

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
            limits = self._derived_floors(df)
            if limits is not None:
                out = mod.protect_table(df, limits=limits, **kw)
            else:
                out = mod.protect_table(df, **kw)
            if "population" in df.columns:
                out = self._protect_sub_population(mod, df, out, kw)
            if {"event", "window", "period"} <= set(df.columns):
                out = self._protect_windows(mod, df, out, kw)
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
        write_table(out, self.output_dir / "tables" / f"{name}.csv")
        self.published.append(("table", name))
        self._mark_table(name, kind)
        if show:
            self._show_table(out, name, title=title, person=kind == "person")
        return out

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
        for bk, idx in blocks.items():
            if multi[idx[0]] or np.isnan(den[idx[0]]) or bk not in whole_rest:
                continue
            h = [i for i in idx if hid[i]]
            rest_n = den[idx[0]] - sum(cnt[i] for i in idx if not hid[i])
            pub_whole = [i for i in h if rows[i] in shown]
            for i in pub_whole:
                floor = rest_n - whole_rest[bk] - sum(shown[rows[j]] for j in pub_whole
                                                      if j != i)
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

        comp = profiles.composition(self.data, period="year")
        prot = mod.protect_table(comp, rules=self.rules, kind="person",
                                 by=["period", "field", "level", "unit"])
        sel = prot.loc[(prot["group"] == "unknown") & (prot["unit"] == "visits")
                       & prot["suppressed"].astype(bool)]
        return {(str(p), str(f)) for p, f in zip(sel["period"], sel["field"], strict=True)}

    def _show_table(self, df, name, *, title="", person=False):
        meta = {"qsp_eval": {"kind": "table", "name": name, "title": title,
                             "table_kind": "person" if person else "activity"}}
        _display({"text/html": table_html(df, lang=self.lang, title=title, rules=self.rules,
                                          person=person, config=self.config),
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
        person = "suppressed" in df.columns
        self._show_table(view.reset_index(drop=True), name, title=title, person=person)
        return None

    def summary(self, key_figures, answer: str = "") -> None:
        """Publish the coordinator's key figures (``tables/key_figures.csv``) and show them as cards.

        ``key_figures`` is :func:`qsp_eval.writeup.key_figures` (columns ``label``,
        ``period``, ``value``, ``change``, ``unit``); ``answer`` the theming
        verdict, of which the first two sentences (the estimate and what it means)
        are shown under the figures; the full verdict is in the theming section.
        """
        from .io import write_table

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
        this module does not import it); ``tables`` the published tables.
        """
        paths = []
        for lang in ("fr", "en"):
            text = writeup.build_writeup(tables, theming=theming, config=self.config, lang=lang,
                                         rules=self.rules)
            paths.append(self.write_file(text, f"writeup.{lang}.md"))
            p = self.output_dir / f"writeup.{lang}.docx"
            if _SAVER is not None:  # python-docx is slow to import: the worker does it
                _SAVER.call(_write_docx, writeup.__name__, text, str(p))
            else:
                _write_docx(writeup.__name__, text, str(p))
            paths.append(p)
        return paths

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
        """Show a paragraph produced by a package function (Markdown); it goes into the report."""
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
        if items:
            self.text("\n".join(f"- {s}" for s in items), kind="notices")

    def run(self, func, *args, **kwargs):
        """Call ``func(self.data, *args, **kwargs)``, remembering the result in this process.

        For costly analyses used by two notebooks (the theming analysis in
        ``03-theming`` and in the summary): the report runs every notebook in one
        process, so the second call is free. Keyed by the function, the data
        checksum, the effective configuration and the arguments.

        Examples
        --------
        >>> # res = pub.run(theming.theming_analysis, seed=pub.seed)
        """
        key = _memo_key(func, self.dataset, self.config, args, kwargs)
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


def setup(source: str, *, output_dir: str, lang: str = "fr", period: str = "year",
          theming_start: str = "", disclosure_preset: str = "", min_cell: int = 0,
          seed: int = 0) -> Publisher:
    """Load the data (cached), check the parameters and return the notebook's :class:`Publisher`.

    Parameters are those of every report notebook's ``parameters`` cell; see
    :func:`check_settings`. ``output_dir`` is created.

    Examples
    --------
    >>> # pub = setup("../data/example", output_dir="../outputs/notebooks")
    """
    ds = load_dataset(source)
    settings = check_settings(ds, lang=lang, period=period, theming_start=theming_start,
                              disclosure_preset=disclosure_preset, min_cell=min_cell, seed=seed)
    out = Path(output_dir).resolve()
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


def _tidy_for_publication(df):
    """Round floats to 6 significant digits; drop empty free-text-named columns.

    Six significant digits are far more than any published figure shows and keep
    the CSV files short, stable across platforms and free of long digit runs.
    A column whose name announces free text (``note``, ``comment``...) is dropped
    when it is empty; a non-empty one is kept (the disclosure scan then refuses it).
    """
    import pandas as pd

    from .privacy import is_free_text_column

    out = df.copy()
    drop = [c for c in out.columns if is_free_text_column(str(c))
            and (out[c].isna() | (out[c].astype("string").str.strip() == "")).all()]
    out = out.drop(columns=drop)
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c].map(_significant).astype(out[c].dtype)
    return out


def _write_docx(module: str, markdown: str, path: str) -> str:
    """Turn Markdown into a .docx with ``<module>.writeup_docx``; save it with fixed dates."""
    import importlib

    from .io import write_docx

    write_docx(importlib.import_module(module).writeup_docx(markdown), path)
    return path


# ---------------------------------------------------------------------------
# Report-level helpers (used by qsp_eval.report)
# ---------------------------------------------------------------------------
def read_published_tables(folder) -> dict:
    """``{stem: DataFrame}`` of a report folder's ``tables/*.csv``.

    See :func:`qsp_eval.io.read_published_tables` (kept here by name).
    """
    from .io import read_published_tables as _read

    return _read(folder)


def write_workbook(folder) -> Path | None:
    """Write ``tables/tables.xlsx``, one sheet per published CSV table (None if none)."""
    from .io import write_tables_xlsx

    tables = read_published_tables(folder)
    if not tables:
        return None
    return write_tables_xlsx(tables, Path(folder) / "tables" / "tables.xlsx")


def report_subtitle(dataset, *, lang: str = "fr") -> str:
    """One line under the report title: data period, source name, synthetic-data warning."""
    s = dataset.sessions
    parts = []
    if len(s):
        d0, d1 = s["date"].min(), s["date"].max()
        fmt = "%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"
        parts.append(tr(f"Données du {d0:{fmt}} au {d1:{fmt}}", f"Data from {d0:{fmt}} to {d1:{fmt}}",
                        lang))
    if dataset.config.organisation:
        parts.append(str(dataset.config.organisation))
    if dataset.config.synthetic:
        parts.append(tr("DONNÉES SYNTHÉTIQUES (exemple)", "SYNTHETIC DATA (example)", lang))
    return " · ".join(parts)


def scan_folder(folder, dataset=None) -> None:
    """Run :func:`qsp_eval.disclosure.scan_outputs` on a finished folder; raise if it finds anything.

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
    findings = mod.scan_outputs(folder)
    if findings:
        lines = [str(f.format("fr")) if hasattr(f, "format") else str(f) for f in findings]
        lines_en = [str(f.format("en")) if hasattr(f, "format") else str(f) for f in findings]
        raise DisclosureError(
            "Le contrôle de diffusion a trouvé des éléments à risque ; rien n'est publié :\n"
            + "\n".join("  - " + s for s in lines),
            "The disclosure check found risky content; nothing is published:\n"
            + "\n".join("  - " + s for s in lines_en))

