"""Questionnaires: question specs, validation of answers, summaries, comparisons, wide exports.

The answers live in the long ``survey_responses`` table (``survey``,
``response_id``, ``question``, ``answer``; multi-select answers joined by
``";"``; free text replaced by the placeholder ``"<free_text>"``).  What each
question is lives in ``evaluation.yml`` under ``surveys`` (see
docs/DEVELOPING.md)::

    surveys:
      satisfaction_2023:
        label_fr: "Questionnaire de satisfaction 2023"
        label_en: "2023 satisfaction survey"
        questions:
          felt_listened: {type: yes_no, label_fr: "...", label_en: "..."}
          welcome: {type: likert, levels: [very_dissatisfied, ..., very_satisfied]}
          products_used: {type: multi, options: [cocaine, ketamine]}
          new_name: {type: vote, options: {name_a: "Nom A", name_b: {label_fr: "B", label_en: "B"}}}
          comment: {type: free_text}

Question types: ``yes_no``, ``single``, ``likert`` (ordered ``levels``,
required), ``multi`` (several answers joined by ``";"``), ``vote`` (ranked
results), ``free_text`` (never printed: only counted).  ``levels`` /
``options`` are a list of codes, or a mapping code -> label (a string or
``{label_fr, label_en}``).  A question absent from the spec is treated as
``single`` with no fixed list of answers.

Privacy: free-text answers are never returned, only their number; values
echoed in validation messages go through :func:`qsp_eval.privacy.safe_value`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, Problem
from .i18n import tr
from .schema import VOCABULARIES, lookup_code, normalise_label
from .stats import newcombe_diff_ci, wilson_ci

__all__ = [
    "QUESTION_TYPES",
    "FREE_TEXT_PLACEHOLDER",
    "QuestionSpec",
    "SurveySpec",
    "spec_problems",
    "parse_survey_spec",
    "check_responses",
    "question_summary",
    "vote_results",
    "likert_table",
    "newcombe_ci",
    "compare_answer",
    "wide_to_long",
    "spec_from_mapping",
]

#: The question types a spec may declare.
QUESTION_TYPES = ("yes_no", "single", "likert", "multi", "vote", "free_text")
#: What the loader keeps of a free-text answer.
FREE_TEXT_PLACEHOLDER = "<free_text>"
_SPEC_FILE = "evaluation.yml"


# ---------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionSpec:
    """One question of a survey.

    ``levels`` holds the allowed answer codes in display order (the Likert
    order, the options of a single/multi/vote question, ``("yes", "no")``
    for yes/no); empty when any answer is accepted.  ``level_labels`` maps a
    code to its ``(French, English)`` label.  ``declared`` is False for a
    question found in the data but absent from the spec.
    """

    code: str
    type: str = "single"
    label_fr: str = ""
    label_en: str = ""
    levels: tuple[str, ...] = ()
    level_labels: dict = field(default_factory=dict)
    declared: bool = True

    def label(self, lang: str = "fr") -> str:
        """The question's label in ``lang`` (the code when none is given)."""
        text = self.label_fr if lang == "fr" else (self.label_en or self.label_fr)
        return text or self.code

    def answer_label(self, code: str, lang: str = "fr") -> str:
        """Label of an answer code in ``lang`` (the code itself when unknown)."""
        if code == "free_text":
            return tr("Réponses libres (non publiées)", "Free-text answers (not published)", lang)
        pair = self.level_labels.get(code)
        if not pair:
            return str(code)
        return pair[0] if lang == "fr" else (pair[1] or pair[0])

    @property
    def coded(self) -> bool:
        """True when the answers must be one of ``levels``."""
        return bool(self.levels) and self.type != "free_text"

    def _index(self) -> dict[str, str]:
        idx: dict[str, str] = {}
        for c in self.levels:
            idx.setdefault(normalise_label(c), c)
            for lab in self.level_labels.get(c, ()):
                if lab:
                    idx.setdefault(normalise_label(lab), c)
        return idx

    def normalise(self, value: object) -> str | None:
        """Return the answer code for a code or label, ``None`` when not allowed.

        For a question without fixed answers the stripped value is returned.
        """
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        text = text.strip()
        if not text:
            return None
        if not self.coded:
            return text
        if self.type == "yes_no":
            code = lookup_code("yes_no", text)
            if code in self.levels:
                return code
        return self._index().get(normalise_label(text))

    def suggest(self, value: object) -> str | None:
        """Closest allowed answer code for an unknown value (or ``None``)."""
        idx = self._index()
        m = difflib.get_close_matches(normalise_label(value), list(idx), n=1, cutoff=0.6)
        return idx[m[0]] if m else None


@dataclass(frozen=True)
class SurveySpec:
    """One survey: its labels and questions (code -> :class:`QuestionSpec`)."""

    name: str
    label_fr: str = ""
    label_en: str = ""
    questions: dict = field(default_factory=dict)

    def label(self, lang: str = "fr") -> str:
        """The survey's label in ``lang`` (its name when none is given)."""
        text = self.label_fr if lang == "fr" else (self.label_en or self.label_fr)
        return text or self.name

    def question(self, code: str) -> QuestionSpec:
        """The spec of ``code``; an undeclared question is a ``single`` one."""
        q = self.questions.get(code)
        return q if q is not None else QuestionSpec(str(code), "single", declared=False)


def _p(where: str, value, fr: str, en: str) -> Problem:
    return Problem(_SPEC_FILE, None, where, None if value is None else str(value)[:60], fr, en)


def _parse_levels(raw, where: str, problems: list) -> tuple[tuple[str, ...], dict]:
    if raw is None:
        return (), {}
    codes: list[str] = []
    labels: dict[str, tuple[str, str]] = {}
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list | tuple):
        items = []
        for x in raw:
            if isinstance(x, dict) and "code" in x:
                items.append((x["code"], x))
            else:
                items.append((x, None))
    else:
        problems.append(_p(where, raw, "doit être une liste de codes (ou code: libellé).",
                           "must be a list of codes (or code: label)."))
        return (), {}
    for code, lab in items:
        if code is None or str(code).strip() in ("", "..."):
            continue  # placeholder of the documentation
        code = str(code).strip()
        if code in codes:
            problems.append(_p(where, code, "valeur en double.", "duplicated value."))
            continue
        codes.append(code)
        if isinstance(lab, dict):
            fr = str(lab.get("label_fr") or lab.get("label") or code)
            labels[code] = (fr, str(lab.get("label_en") or fr))
        elif isinstance(lab, str):
            labels[code] = (lab, lab)
        else:
            labels[code] = (code, code)
    return tuple(codes), labels


def _parse(surveys) -> tuple[dict[str, SurveySpec], list[Problem]]:
    problems: list[Problem] = []
    out: dict[str, SurveySpec] = {}
    if surveys is None:
        return out, problems
    if not isinstance(surveys, dict):
        problems.append(_p("surveys", type(surveys).__name__,
                           "« surveys » doit associer un nom de questionnaire à sa description.",
                           "'surveys' must map a survey name to its description."))
        return out, problems
    for name, body in surveys.items():
        name = str(name)
        if isinstance(body, SurveySpec):
            out[name] = body
            continue
        if body is None:
            body = {}
        if not isinstance(body, dict):
            problems.append(_p(f"surveys.{name}", None,
                               "la description du questionnaire doit être un dictionnaire "
                               "(label_fr, label_en, questions).",
                               "the survey description must be a mapping "
                               "(label_fr, label_en, questions)."))
            continue
        qs_raw = body.get("questions") or {}
        questions: dict[str, QuestionSpec] = {}
        if not isinstance(qs_raw, dict):
            problems.append(_p(f"surveys.{name}.questions", None,
                               "« questions » doit associer un code de question à sa description.",
                               "'questions' must map a question code to its description."))
            qs_raw = {}
        for code, q in qs_raw.items():
            code = str(code)
            where = f"surveys.{name}.questions.{code}"
            if isinstance(q, QuestionSpec):
                questions[code] = q
                continue
            if q is None:
                q = {}
            if isinstance(q, str):
                q = {"type": q}
            if not isinstance(q, dict):
                problems.append(_p(where, None, "doit être un dictionnaire (type, label_fr...).",
                                   "must be a mapping (type, label_fr...)."))
                continue
            qtype = str(q.get("type") or "single").strip()
            if qtype not in QUESTION_TYPES:
                close = difflib.get_close_matches(qtype, QUESTION_TYPES, n=1)
                hint_fr = f" Vouliez-vous dire « {close[0]} » ?" if close else ""
                hint_en = f" Did you mean '{close[0]}'?" if close else ""
                problems.append(_p(
                    f"{where}.type", qtype,
                    f"type de question inconnu (permis : {', '.join(QUESTION_TYPES)}).{hint_fr}",
                    f"unknown question type (allowed: {', '.join(QUESTION_TYPES)}).{hint_en}"))
                continue
            key = "levels" if q.get("levels") is not None else "options"
            levels, labels = _parse_levels(q.get(key), f"{where}.{key}", problems)
            if qtype == "yes_no":
                levels = levels or tuple(VOCABULARIES["yes_no"])
                for c in levels:
                    labels.setdefault(c, VOCABULARIES["yes_no"].get(c, (c, c)))
            if qtype == "likert" and len(levels) < 2:
                problems.append(_p(f"{where}.levels", None,
                                   "une échelle de Likert doit donner ses niveaux dans l'ordre "
                                   "(« levels: [...] », au moins deux).",
                                   "a Likert scale must list its levels in order "
                                   "('levels: [...]', at least two)."))
                continue
            fr = str(q.get("label_fr") or q.get("label") or "")
            questions[code] = QuestionSpec(code, qtype, fr, str(q.get("label_en") or fr),
                                           levels, labels)
        out[name] = SurveySpec(name, str(body.get("label_fr") or ""),
                               str(body.get("label_en") or body.get("label_fr") or ""), questions)
    return out, problems


def spec_problems(surveys) -> list[Problem]:
    """Problems of the ``surveys`` section of ``evaluation.yml`` (empty list when fine).

    Each problem names ``evaluation.yml`` as file and the dotted path of the
    faulty entry (e.g. ``surveys.s1.questions.q1.type``) as column.

    Examples
    --------
    >>> [p.column for p in spec_problems({"s": {"questions": {"q": {"type": "likret"}}}})]
    ['surveys.s.questions.q.type']
    """
    return _parse(surveys)[1]


def parse_survey_spec(surveys) -> dict[str, SurveySpec]:
    """Parse the ``surveys`` section of ``evaluation.yml`` (``config.surveys``).

    Parameters
    ----------
    surveys : dict or None
        Survey name -> ``{label_fr, label_en, questions: {code: {type,
        label_fr, label_en, levels | options}}}``.  Already-parsed
        :class:`SurveySpec` values pass through.

    Returns
    -------
    dict[str, SurveySpec]

    Raises
    ------
    DataError
        Listing every problem (unknown type with the closest one suggested,
        Likert scale without levels, duplicated level, wrong shapes).

    Examples
    --------
    >>> spec = parse_survey_spec({"s": {"questions": {"ok": {"type": "yes_no"}}}})
    >>> spec["s"].question("ok").levels
    ('yes', 'no')
    >>> spec["s"].question("other").type
    'single'
    """
    out, problems = _parse(surveys)
    if problems:
        raise DataError(problems)
    return out


def _as_spec(surveys_spec) -> dict[str, SurveySpec]:
    if surveys_spec is None:
        return {}
    if isinstance(surveys_spec, dict) and all(isinstance(v, SurveySpec)
                                              for v in surveys_spec.values()):
        return surveys_spec
    return parse_survey_spec(surveys_spec)


def _qspec(spec: dict, survey: str, question: str) -> QuestionSpec:
    s = spec.get(survey)
    return s.question(question) if s else QuestionSpec(str(question), "single", declared=False)


# ---------------------------------------------------------------------------
# Validation of the raw long table
# ---------------------------------------------------------------------------
_ROW_COLUMNS = ("spreadsheet_row", "__row__", "_row", "row_number", "__line__")


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or str(v).strip() == ""


def check_responses(raw: pd.DataFrame, surveys_spec, *, file: str,
                    row_column: str | None = None, structural: bool = True) -> list[Problem]:
    """Check a raw ``survey_responses`` table (strings, as read) against the survey specs.

    Pure function (reads no file).  Found problems:

    - a row whose ``question`` is empty;
    - an answer that is not an allowed code or label of a coded question
      (yes/no, Likert, or a single/multi/vote question with listed options;
      each part of a multi-select answer is checked), with the closest
      allowed value suggested;
    - a response id that answers the same question twice in one survey
      (reported on the repeat, naming the first row);
    - problems of the spec itself (see :func:`spec_problems`).

    Empty answers are accepted (no answer).  Free-text answers are never
    echoed; other values go through :func:`qsp_eval.privacy.safe_value`.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (column names already stripped).
    surveys_spec : dict
        ``config.surveys`` (raw dict) or the result of :func:`parse_survey_spec`.
    file : str
        File name to put in the problems.
    row_column : str, optional
        Column holding the spreadsheet row number of each row.  Default: the
        first of ``spreadsheet_row``, ``__row__``, ``_row``, ``row_number``,
        ``__line__`` present as a column, else the index when it carries one
        of these names (as :mod:`qsp_eval.validation` passes it), else the
        frame's position + 2 (header on row 1).
    structural : bool
        Also report empty questions and repeated (response, question) pairs.
        A caller that already checks these (required values, duplicates)
        passes ``False`` to get only the answer checks and spec problems.

    Returns
    -------
    list of Problem

    Examples
    --------
    >>> raw = pd.DataFrame({"survey": ["s", "s"], "response_id": ["1", "1"],
    ...                     "question": ["q", "q"], "answer": ["oui", "peut-être"]})
    >>> [p.row for p in check_responses(raw, {"s": {"questions": {"q": {"type": "yes_no"}}}},
    ...                                 file="survey_responses.csv")]
    [3, 3]
    """
    from .privacy import MASK, safe_value

    spec, problems = _parse(surveys_spec if not isinstance(surveys_spec, SurveySpec)
                            else {surveys_spec.name: surveys_spec})
    problems = list(problems)
    if raw is None or len(raw) == 0:
        return problems
    if row_column is None:
        row_column = next((c for c in _ROW_COLUMNS if c in raw.columns), None)
    if row_column:
        rows = pd.to_numeric(raw[row_column], errors="coerce").tolist()
    elif raw.index.name in _ROW_COLUMNS:
        rows = pd.to_numeric(pd.Series(raw.index), errors="coerce").tolist()
    else:
        rows = list(range(2, len(raw) + 2))
    rows = [int(r) if r == r else None for r in rows]

    def col(name):
        return raw[name].tolist() if name in raw.columns else [None] * len(raw)

    surveys, ids, questions, answers = col("survey"), col("response_id"), col("question"), \
        col("answer")
    seen: dict[tuple, int | None] = {}
    for i in range(len(raw)):
        row = rows[i]
        q = None if _blank(questions[i]) else str(questions[i]).strip()
        s = "" if _blank(surveys[i]) else str(surveys[i]).strip()
        rid = "" if _blank(ids[i]) else str(ids[i]).strip()
        if structural and "question" in raw.columns and q is None:
            problems.append(Problem(
                file, row, "question", None,
                "question vide : indiquez le code de la question à laquelle cette réponse "
                "se rapporte.",
                "empty question: give the code of the question this answer belongs to."))
            continue
        if q is None:
            continue
        qs = _qspec(spec, s, q)
        if structural and rid and "response_id" in raw.columns:
            key = (s, rid, q)
            if key in seen:
                first = seen[key]
                at_fr = f" (déjà ligne {first})" if first else ""
                at_en = f" (already on row {first})" if first else ""
                problems.append(Problem(
                    file, row, "response_id", safe_value(rid),
                    f"la réponse n° {safe_value(rid)} répond deux fois à la question « {q} » "
                    f"du questionnaire « {s} »{at_fr} : une seule ligne par réponse et par "
                    "question (pour un choix multiple, séparez les choix par « ; »).",
                    f"response {safe_value(rid)} answers question '{q}' of survey '{s}' twice"
                    f"{at_en}: one row per response and question (for a multi-select, join "
                    "the choices with ';')."))
            else:
                seen[key] = row
        a = answers[i]
        if (not qs.coded or _blank(a)
                or str(a).strip() in (FREE_TEXT_PLACEHOLDER, MASK)):  # masked: already reported
            continue
        parts = [x for x in str(a).split(";") if x.strip()] if qs.type == "multi" else [a]
        for part in parts:
            if qs.normalise(part) is not None:
                continue
            sug = qs.suggest(part)
            allowed = ", ".join(qs.levels)
            hint_fr = f" Vouliez-vous dire « {sug} » ?" if sug else ""
            hint_en = f" Did you mean '{sug}'?" if sug else ""
            problems.append(Problem(
                file, row, "answer", safe_value(str(part).strip()),
                f"réponse inconnue pour la question « {q} » ({qs.type}) ; valeurs permises : "
                f"{allowed}.{hint_fr}",
                f"unknown answer for question '{q}' ({qs.type}); allowed values: "
                f"{allowed}.{hint_en}"))
    return problems


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------
def _responses_and_spec(data, surveys_spec):
    if isinstance(data, pd.DataFrame):
        responses = data
    else:  # a Dataset
        responses = data.survey_responses
        if surveys_spec is None:
            surveys_spec = data.config.surveys
    return responses, _as_spec(surveys_spec)


def _clean(responses: pd.DataFrame) -> pd.DataFrame:
    r = responses[["survey", "response_id", "question", "answer"]].astype(object)
    r = r.loc[r["question"].notna() & r["survey"].notna()]
    for c in ("survey", "response_id", "question"):
        r[c] = r[c].map(lambda v: "" if _blank(v) else str(v).strip())
    r = r.loc[(r["question"] != "") & (r["survey"] != "")]
    return r.reset_index(drop=True)


def _codes(qs: QuestionSpec, answer) -> list[str]:
    """The answer codes of one response to ``qs`` (empty list when unanswered)."""
    if _blank(answer):
        return []
    text = str(answer).strip()
    if qs.type == "free_text" or text == FREE_TEXT_PLACEHOLDER:
        return ["free_text"]
    parts = [x.strip() for x in text.split(";")] if qs.type == "multi" else [text]
    out = []
    for p in parts:
        if not p:
            continue
        code = qs.normalise(p)
        out.append(code if code is not None else p)
    return list(dict.fromkeys(out))


_SUMMARY_COLS = ["survey", "survey_label_fr", "survey_label_en", "question", "question_label_fr",
                 "question_label_en", "type", "answer", "label_fr", "label_en", "order", "unit",
                 "count", "denominator", "respondents", "share", "ci_low", "ci_high",
                 "share_of_respondents"]


def question_summary(data, surveys_spec=None, *, survey: str | None = None,
                     question: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Counts and shares of every answer of every question, with Wilson intervals.

    Parameters
    ----------
    data : Dataset or pandas.DataFrame
        A dataset (its ``survey_responses`` and ``config.surveys``) or a long
        responses table.
    surveys_spec : dict, optional
        Survey specs (raw or parsed); default: the dataset's config.
    survey, question : str, optional
        Keep one survey / one question.
    level : float
        Confidence level of the Wilson score intervals.

    Returns
    -------
    pandas.DataFrame
        One row per survey x question x answer: ``survey``,
        ``survey_label_fr``/``_en``, ``question``, ``question_label_fr``/``_en``,
        ``type``, ``answer`` (code), ``label_fr``, ``label_en``, ``order``
        (position in the declared levels/options, then by decreasing count),
        ``unit`` ("responses"), ``count`` (respondents giving that answer),
        ``denominator`` (respondents who answered the question), ``respondents``
        (all respondents of the survey: distinct response ids), ``share`` =
        count / denominator with ``ci_low``/``ci_high`` (Wilson score),
        ``share_of_respondents`` = count / respondents.

    Notes
    -----
    Missing data: a respondent with no (or an empty) answer to a question is
    left out of its ``denominator`` but counted in ``respondents``.
    Multi-select: a respondent may give several answers, so shares do not
    add up to 1; the denominator is the respondents who ticked at least one.
    Declared levels/options appear with 0 when nobody chose them.
    Free text: one row with ``answer == "free_text"`` and the number of
    respondents who wrote something; no share, and never the text itself.

    Examples
    --------
    >>> r = pd.DataFrame({"survey": "s", "response_id": ["1", "2", "3"],
    ...                   "question": "q", "answer": ["yes", "yes", "no"]})
    >>> t = question_summary(r, {"s": {"questions": {"q": {"type": "yes_no"}}}})
    >>> t[["answer", "count", "denominator"]].values.tolist()
    [['yes', 2, 3], ['no', 1, 3]]
    """
    responses, spec = _responses_and_spec(data, surveys_spec)
    if responses is None or responses.empty:
        return pd.DataFrame(columns=_SUMMARY_COLS)
    r = _clean(responses)
    if survey is not None:
        r = r.loc[r["survey"] == survey]
    rows = []
    for s, rs in r.groupby("survey", sort=True):
        sspec = spec.get(s) or SurveySpec(s)
        respondents = rs["response_id"].nunique()
        declared = list(sspec.questions)
        qcodes = sorted(set(rs["question"]), key=lambda c: (
            declared.index(c) if c in declared else len(declared), c))
        for q in qcodes:
            if question is not None and q != question:
                continue
            qs = sspec.question(q)
            rq = rs.loc[rs["question"] == q]
            per_resp: dict[str, set] = {}
            for rid, a in zip(rq["response_id"], rq["answer"], strict=True):
                codes = _codes(qs, a)
                if codes:
                    per_resp.setdefault(rid, set()).update(codes)
            n = len(per_resp)
            counts: dict[str, int] = {}
            for codes in per_resp.values():
                for c in codes:
                    counts[c] = counts.get(c, 0) + 1
            if qs.type == "free_text" or set(counts) == {"free_text"}:
                answers = ["free_text"]
            else:
                extra = sorted((c for c in counts if c not in qs.levels),
                               key=lambda c: (-counts[c], c))
                answers = list(qs.levels) + extra
            for pos, a in enumerate(answers):
                k = counts.get(a, 0)
                free = a == "free_text"
                lo, hi = wilson_ci(k, n, level=level) if not free else (np.nan, np.nan)
                rows.append({
                    "survey": s, "survey_label_fr": sspec.label("fr"),
                    "survey_label_en": sspec.label("en"), "question": q,
                    "question_label_fr": qs.label("fr"), "question_label_en": qs.label("en"),
                    "type": "free_text" if free else qs.type, "answer": a,
                    "label_fr": qs.answer_label(a, "fr"), "label_en": qs.answer_label(a, "en"),
                    "order": pos, "unit": "responses", "count": k, "denominator": n,
                    "respondents": respondents,
                    "share": (k / n if n else np.nan) if not free else np.nan,
                    "ci_low": lo, "ci_high": hi,
                    "share_of_respondents": (k / respondents if respondents else np.nan)
                    if not free else np.nan,
                })
    return pd.DataFrame(rows, columns=_SUMMARY_COLS)


def vote_results(data, surveys_spec=None, *, survey: str, question: str) -> pd.DataFrame:
    """Ranked results of a vote (e.g. choosing a new name).

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`question_summary` for that question, sorted by
        decreasing ``count``, with ``rank`` (1 = most chosen; ties share the
        smallest rank) and ``tied`` (True when another option has the same
        count).

    Examples
    --------
    >>> r = pd.DataFrame({"survey": "s", "response_id": ["1", "2", "3"],
    ...                   "question": "name", "answer": ["B", "A", "B"]})
    >>> vote_results(r, survey="s", question="name")[["answer", "rank"]].values.tolist()
    [['B', 1], ['A', 2]]
    """
    t = question_summary(data, surveys_spec, survey=survey, question=question)
    if t.empty:
        raise ParameterError(
            f"Aucune réponse à la question « {question} » du questionnaire « {survey} ».",
            f"No answer to question '{question}' of survey '{survey}'.")
    t = t.sort_values(["count", "order"], ascending=[False, True], kind="stable")
    t = t.assign(rank=t["count"].rank(method="min", ascending=False).astype(int),
                 tied=t["count"].duplicated(keep=False))
    return t.reset_index(drop=True)


def likert_table(data, surveys_spec=None, *, survey: str, question: str) -> pd.DataFrame:
    """The levels of a Likert question in order, ready for a diverging stacked bar.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`question_summary` in level order, plus ``side``:
        -1 for the levels below the middle, +1 above, 0 for the middle level
        of an odd-length scale (drawn half on each side).

    Raises
    ------
    ParameterError
        When the question is not a declared Likert question.

    Examples
    --------
    >>> r = pd.DataFrame({"survey": "s", "response_id": ["1", "2", "3"], "question": "q",
    ...                   "answer": ["agree", "neutral", "agree"]})
    >>> spec = {"s": {"questions": {"q": {"type": "likert",
    ...                                   "levels": ["disagree", "neutral", "agree"]}}}}
    >>> likert_table(r, spec, survey="s", question="q")[["answer", "count", "side"]].values.tolist()
    [['disagree', 0, -1], ['neutral', 1, 0], ['agree', 2, 1]]
    """
    t = question_summary(data, surveys_spec, survey=survey, question=question)
    if t.empty or (t["type"] != "likert").any():
        raise ParameterError(
            f"« {question} » n'est pas une question de type likert déclarée dans evaluation.yml.",
            f"'{question}' is not a Likert question declared in evaluation.yml.")
    t = t.sort_values("order").reset_index(drop=True)
    spec = _responses_and_spec(data, surveys_spec)[1][survey].question(question)
    m = len(spec.levels)
    side = []
    for a, pos in zip(t["answer"], t["order"], strict=True):
        if a not in spec.levels:
            side.append(0)
            continue
        side.append(-1 if pos < (m - 1) / 2 else (1 if pos > (m - 1) / 2 else 0))
    return t.assign(side=side)


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------
def newcombe_ci(k1, n1, k2, n2, *, level: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for the difference ``k1/n1 - k2/n2``.

    Method 10 of Newcombe (1998), Statistics in Medicine 17:873-890, built
    from the two Wilson score intervals (no continuity correction).  NaN
    when a denominator is 0.  A thin alias of
    :func:`qsp_eval.stats.newcombe_diff_ci` returning only the bounds.

    Examples
    --------
    >>> lo, hi = newcombe_ci(56, 70, 48, 80)
    >>> round(lo, 4), round(hi, 4)
    (0.0524, 0.3339)
    """
    _, lo, hi = newcombe_diff_ci(k1, n1, k2, n2, level=level)
    return lo, hi


def _group_counts(r, qs, question, answer, ids):
    rq = r.loc[(r["question"] == question) & r["response_id"].isin(ids)]
    per: dict[str, set] = {}
    for rid, a in zip(rq["response_id"], rq["answer"], strict=True):
        codes = _codes(qs, a)
        if codes:
            per.setdefault(rid, set()).update(codes)
    return sum(answer in c for c in per.values()), len(per)


def compare_answer(data, surveys_spec=None, *, question: str, answer: str, a: str, b: str,
                   by: str = "survey", survey: str | None = None,
                   level: float = 0.95) -> pd.DataFrame:
    """Compare the share giving ``answer`` to ``question`` between two surveys or two groups.

    Parameters
    ----------
    data : Dataset or DataFrame
        Responses (see :func:`question_summary`).
    question, answer : str
        The question code and the answer code (or label) compared.
    a, b : str
        With ``by="survey"``: two survey names.  Otherwise two answer codes
        of the grouping question ``by`` (respondents of ``survey`` are split
        by their answer to it).
    by : str
        ``"survey"`` or the code of a grouping question.
    survey : str, optional
        The survey holding both questions when ``by`` is a question.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row: ``question``, ``answer``, ``by``, ``group_a``, ``group_b``,
        ``count_a``, ``denominator_a``, ``share_a``, ``count_b``,
        ``denominator_b``, ``share_b``, ``estimate`` (share_a - share_b),
        ``ci_low``, ``ci_high`` (Newcombe hybrid score interval, method 10),
        ``p_value``, ``test``: Fisher's exact test (two-sided) when an expected
        cell count is below 5, otherwise Pearson's chi-square test without
        continuity correction (the two-proportion z-test).  Denominators are
        the respondents of each group who answered the question.

    Examples
    --------
    >>> r = pd.DataFrame({"survey": ["s1"] * 2 + ["s2"] * 2, "response_id": ["1", "2", "1", "2"],
    ...                   "question": "q", "answer": ["yes", "yes", "yes", "no"]})
    >>> compare_answer(r, question="q", answer="yes", a="s1", b="s2")["estimate"].item()
    0.5
    """
    from scipy import stats as st

    responses, spec = _responses_and_spec(data, surveys_spec)
    r = _clean(responses)
    if by == "survey":
        qa, qb = _qspec(spec, a, question), _qspec(spec, b, question)
        ans_a, ans_b = qa.normalise(answer) or answer, qb.normalise(answer) or answer
        ra, rb = r.loc[r["survey"] == a], r.loc[r["survey"] == b]
        ka, na = _group_counts(ra, qa, question, ans_a, set(ra["response_id"]))
        kb, nb = _group_counts(rb, qb, question, ans_b, set(rb["response_id"]))
    else:
        if survey is None:
            raise ParameterError("Indiquez le questionnaire (survey=...) des deux questions.",
                                 "Give the survey (survey=...) holding both questions.")
        rs = r.loc[r["survey"] == survey]
        qg, qs = _qspec(spec, survey, by), _qspec(spec, survey, question)
        code_a, code_b = qg.normalise(a) or a, qg.normalise(b) or b
        grp = rs.loc[rs["question"] == by]
        ids_a = {rid for rid, x in zip(grp["response_id"], grp["answer"], strict=True)
                 if code_a in _codes(qg, x)}
        ids_b = {rid for rid, x in zip(grp["response_id"], grp["answer"], strict=True)
                 if code_b in _codes(qg, x)}
        ans = qs.normalise(answer) or answer
        ka, na = _group_counts(rs, qs, question, ans, ids_a)
        kb, nb = _group_counts(rs, qs, question, ans, ids_b)
        ans_a = ans
    if na == 0 or nb == 0:
        raise ParameterError(
            f"Comparaison impossible : aucun·e répondant·e à « {question} » dans "
            f"« {a if na == 0 else b} ».",
            f"Cannot compare: nobody answered '{question}' in '{a if na == 0 else b}'.")
    lo, hi = newcombe_ci(ka, na, kb, nb, level=level)
    table = np.array([[ka, na - ka], [kb, nb - kb]])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    if (expected < 5).any():
        p = float(st.fisher_exact(table, alternative="two-sided")[1])
        test = "Fisher's exact test (two-sided)"
    else:
        p = float(st.chi2_contingency(table, correction=False)[1])
        test = "Pearson chi-square test (no continuity correction)"
    return pd.DataFrame([{
        "question": question, "answer": ans_a, "by": by, "group_a": a, "group_b": b,
        "count_a": ka, "denominator_a": na, "share_a": ka / na,
        "count_b": kb, "denominator_b": nb, "share_b": kb / nb,
        "estimate": ka / na - kb / nb, "ci_low": lo, "ci_high": hi,
        "p_value": p, "test": test,
    }])


# ---------------------------------------------------------------------------
# Wide exports -> long table
# ---------------------------------------------------------------------------
# metadata columns of common form tools (normalised with schema.normalise_label)
_META_EXACT = {
    "start", "end", "today", "starttime", "endtime", "start time", "end time", "deviceid",
    "device id", "subscriberid", "simserial", "phonenumber", "username", "audit", "uuid",
    "id", "index", "submission time", "submitted by", "validation status", "notes", "status",
    "tags", "version", "instanceid", "meta instanceid", "formhub uuid", "timestamp",
    "horodateur", "horodatage", "date de soumission", "submitted at", "submit date",
    "ip", "ip address", "adresse ip", "network id", "response type", "completion time",
    "heure de debut", "heure de fin", "start date", "end date", "recorded date",
    "last modified time", "redcap survey identifier", "redcap event name",
    "redcap repeat instrument", "redcap repeat instance", "redcap data access group",
    "location latitude", "location longitude", "user language", "distribution channel",
    "progress", "duration in seconds", "finished", "external reference",
    "recipient last name", "recipient first name", "recipient email", "ipaddress",
    "responseid", "response id qualtrics",
}
_META_SUFFIXES = ("timestamp", "complete", "submission time", "ip address")
_RESPONDENT_ID_NAMES = ("response_id", "respondent_id", "record_id", "id_reponse",
                        "numero_reponse", "respondent", "reponse_id")


def _is_metadata(col: str) -> bool:
    raw = str(col).strip()
    if raw.startswith("_") or raw.startswith("__"):
        return True  # KoboToolbox system columns: _uuid, _id, _submission_time, _index...
    n = normalise_label(raw)
    if n in _META_EXACT or n.split(" ")[-1] in {"uuid", "instanceid", "deviceid"}:
        return True
    return any(n.endswith(s) for s in _META_SUFFIXES)


def _identifier_kind(col: str) -> str | None:
    from .privacy import identifier_column_kind

    return identifier_column_kind(col)


_TRUE = {"1", "1.0", "true", "vrai", "yes", "oui", "x", "checked", "coche"}
_FALSE = {"0", "0.0", "false", "faux", "no", "non", "unchecked", "", "nan", "none", "<na>"}


def _binary(series: pd.Series) -> bool:
    vals = {str(v).strip().lower() for v in series.tolist() if not _blank(v)}
    return vals <= (_TRUE | _FALSE)


def _split_option(col: str) -> tuple[str, str] | None:
    if "___" in col:
        q, o = col.rsplit("___", 1)
        return (q, o) if q and o else None
    if "/" in col:
        q, o = col.rsplit("/", 1)
        return (q, o) if q and o else None
    return None


def _normalise_mapping(mapping) -> dict[str, dict]:
    if not mapping:
        return {}
    if not isinstance(mapping, dict):
        raise ParameterError("Le fichier de correspondance doit associer une question à ses "
                             "niveaux (YAML : question: [niveaux]).",
                             "The mapping file must map a question to its levels "
                             "(YAML: question: [levels]).")
    body = mapping.get("questions", mapping)
    out = {}
    for q, m in (body or {}).items():
        if isinstance(m, list):
            m = {"levels": m}
        elif isinstance(m, str):
            m = {"type": m}
        elif m is None:
            m = {}
        if not isinstance(m, dict):
            raise ParameterError(f"Correspondance de « {q} » illisible (attendu : liste de "
                                 "niveaux ou {levels, recode, type}).",
                                 f"Mapping of '{q}' unreadable (expected a list of levels or "
                                 "{levels, recode, type}).")
        levels = [str(x) for x in (m.get("levels") or m.get("options") or [])]
        recode = {normalise_label(k): str(v) for k, v in (m.get("recode") or {}).items()}
        qtype = m.get("type") or ("likert" if m.get("levels") else None)
        out[str(q)] = {"levels": levels, "recode": recode, "type": qtype,
                       "label_fr": m.get("label_fr"), "label_en": m.get("label_en"),
                       "delimiter": m.get("delimiter")}
    return out


def _recode(value: str, m: dict | None) -> str:
    if not m:
        return value
    n = normalise_label(value)
    if n in m["recode"]:
        return m["recode"][n]
    for lev in m["levels"]:
        if normalise_label(lev) == n:
            return lev
    return value


def _looks_free_text(series: pd.Series) -> bool:
    vals = [str(v).strip() for v in series.tolist() if not _blank(v)]
    if len(vals) < 1:
        return False
    long = sum(len(v) > 40 or len(v.split()) > 6 for v in vals)
    return long / len(vals) >= 0.3


def wide_to_long(df: pd.DataFrame, *, survey: str, mapping: dict | None = None
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Turn a wide form export (one row per respondent) into the long ``survey_responses`` table.

    Handles the exports of online form tools and spreadsheets: one column per
    question; multi-select as one delimited cell (``";"``, ``","`` or ``"|"``
    when the mapping declares the question ``multi``, already ``";"``-joined
    otherwise) or as one 0/1 column per option, ``question___option``
    (REDCap) or ``question/option`` (KoboToolbox: recognised when Kobo's
    combined column ``question`` is there too, which is then ignored, or
    when the mapping declares the question ``multi``).  Kobo group prefixes
    (``group/question``) are dropped from question codes.  Output rows are
    ordered by respondent, then question (file order).

    Dropped with a notice (never copied into the output): columns whose name
    announces an identifier (name, e-mail, phone, address, birth date: the
    detector of :mod:`qsp_eval.privacy`) unless the mapping declares the
    column (a question such as ``new_name`` is then kept, its cells still
    scanned for e-mails and phone numbers), and metadata/timestamp columns
    (start/end/submission time, IP address, ``_uuid``, ``_id``, any column
    starting with ``_``, REDCap ``*_timestamp``/``*_complete``...).  Answers
    that look like free text (declared ``free_text`` in the mapping, a
    comment-like column name, or long sentences) become the placeholder
    ``"<free_text>"``: they are counted, never carried through.  A cell
    holding an e-mail or phone number is replaced by the placeholder too.

    Response ids: the values of a respondent-id column (``response_id``,
    ``respondent_id``, ``record_id``...) when it is unique, complete and not
    identifying; otherwise ``1..n`` in file order.

    Parameters
    ----------
    df : pandas.DataFrame
        The export as read (strings).
    survey : str
        Survey name to write in the ``survey`` column.
    mapping : dict, optional
        Per question: a list of levels (Likert order), or ``{levels: [...],
        recode: {label: code}, type: likert|multi|free_text|..., delimiter}``;
        may be nested under ``questions:``.  Answers are recoded label -> code.

    Returns
    -------
    (long_df, notices)
        ``long_df`` columns ``survey``, ``response_id``, ``question``,
        ``answer`` (str; one row per non-empty answer); ``notices`` a list
        of ``(french, english)`` message pairs, safe to print.

    Examples
    --------
    >>> wide = pd.DataFrame({"E-mail": ["a@b.fr"], "q1": ["oui"], "q2___a": ["1"], "q2___b": ["0"]})
    >>> long, notes = wide_to_long(wide, survey="s")
    >>> long.values.tolist()
    [['s', '1', 'q1', 'oui'], ['s', '1', 'q2', 'a']]
    """
    maps = _normalise_mapping(mapping)
    notices: list[tuple[str, str]] = []
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    df = df.dropna(how="all").reset_index(drop=True)
    dropped_id, dropped_meta = [], []
    keep = []
    for c in df.columns:
        declared = c in maps or c.rsplit("/", 1)[-1] in maps
        kind = None if declared else _identifier_kind(c)
        if kind is not None:
            dropped_id.append(c)
        elif _is_metadata(c) and normalise_label(c).replace(" ", "_") not in _RESPONDENT_ID_NAMES:
            dropped_meta.append(c)
        else:
            keep.append(c)
    if dropped_id:
        notices.append((
            "Colonnes identifiantes écartées (jamais recopiées) : " + ", ".join(dropped_id)
            + " (si l'une d'elles est une vraie question, par exemple un vote sur un « nom », "
            "déclarez-la dans le fichier de correspondance pour la garder)",
            "Identifying columns dropped (never copied): " + ", ".join(dropped_id)
            + " (if one is a real question, e.g. a vote on a 'name', declare it in the mapping "
            "file to keep it)"))
    if dropped_meta:
        notices.append((
            "Colonnes techniques ou d'horodatage écartées : " + ", ".join(dropped_meta),
            "Technical or timestamp columns dropped: " + ", ".join(dropped_meta)))
    # respondent ids
    id_col = next((c for c in keep if normalise_label(c).replace(" ", "_") in _RESPONDENT_ID_NAMES),
                  None)
    ids = [str(i) for i in range(1, len(df) + 1)]
    if id_col is not None:
        vals = [str(v).strip() for v in df[id_col].tolist()]
        ok = (all(v and not _blank(v) for v in vals) and len(set(vals)) == len(vals)
              and all(_safe_token(v) for v in vals))
        if ok:
            ids = [v[:-2] if v.endswith(".0") and v[:-2].isdigit() else v for v in vals]
        else:
            notices.append((
                f"La colonne « {id_col} » ne peut pas servir de numéro de réponse (vide, en "
                "double ou identifiante) : numéros 1..n attribués.",
                f"Column '{id_col}' cannot serve as response id (empty, repeated or "
                "identifying): ids 1..n assigned."))
        keep.remove(id_col)
    # option columns (multi-select as 0/1 columns)
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in keep:
        sp = _split_option(c)
        if sp and _binary(df[c]):
            groups.setdefault(sp[0], []).append((c, sp[1]))
    option_cols: dict[str, list[tuple[str, str]]] = {}
    for q, cols in groups.items():
        qname = q.rsplit("/", 1)[-1]
        declared_multi = maps.get(qname, {}).get("type") == "multi"
        # REDCap "q___opt" is unambiguous; Kobo "q/opt" could also be "group/question", so it
        # needs Kobo's combined column "q" beside it, or the mapping declaring q multi
        if "___" in cols[0][0] or q in keep or declared_multi:
            option_cols[q] = cols
    used = {c for cols in option_cols.values() for c, _ in cols}
    records = []
    free_cols = []
    order = []
    for c in keep:
        if c in used:
            q = next(q for q, cols in option_cols.items() if c in [x for x, _ in cols])
            if q not in order:
                order.append(q)
        elif c in option_cols:
            continue  # Kobo's combined column: the 0/1 columns are used instead
        else:
            order.append(c)
    from .privacy import detect_identifier, is_free_text_column

    masked = 0
    for item in order:
        if item in option_cols:
            qcode = item.rsplit("/", 1)[-1]
            m = maps.get(qcode)
            for i in range(len(df)):
                chosen = [_recode(o, m) for c, o in option_cols[item]
                          if str(df[c].iloc[i]).strip().lower() in _TRUE]
                if chosen:
                    records.append((ids[i], qcode, ";".join(chosen)))
            continue
        qcode = item.rsplit("/", 1)[-1]
        m = maps.get(qcode)
        free = ((m or {}).get("type") == "free_text" or is_free_text_column(item)
                or ((m or {}).get("type") in (None, "free_text") and not (m or {}).get("levels")
                    and _looks_free_text(df[item])))
        if free:
            free_cols.append(qcode)
        multi = (m or {}).get("type") == "multi"
        delim = (m or {}).get("delimiter")
        for i in range(len(df)):
            v = df[item].iloc[i]
            if _blank(v):
                continue
            text = str(v).strip()
            if free:
                records.append((ids[i], qcode, FREE_TEXT_PLACEHOLDER))
                continue
            if detect_identifier(text, dates=False) is not None:
                masked += 1
                records.append((ids[i], qcode, FREE_TEXT_PLACEHOLDER))
                continue
            if multi:
                parts = re.split(re.escape(delim) if delim else r"[;,|]", text)
                codes = [_recode(p.strip(), m) for p in parts if p.strip()]
                text = ";".join(dict.fromkeys(codes))
            else:
                text = _recode(text, m)
            if text.endswith(".0") and text[:-2].isdigit():
                text = text[:-2]
            records.append((ids[i], qcode, text))
    if free_cols:
        notices.append((
            "Réponses libres remplacées par « <free_text> » (seul leur nombre est gardé) : "
            + ", ".join(free_cols),
            "Free-text answers replaced by '<free_text>' (only their number is kept): "
            + ", ".join(free_cols)))
    if masked:
        notices.append((
            f"{masked} réponse(s) ressemblant à une adresse e-mail ou un téléphone remplacée(s) "
            "par « <free_text> ».",
            f"{masked} answer(s) that looked like an e-mail address or phone number replaced "
            "by '<free_text>'."))
    for q, m in maps.items():
        if m["levels"]:
            found = {a for rid, qq, ans in records if qq == q
                     for a in ans.split(";") if ans != FREE_TEXT_PLACEHOLDER}
            unknown = found - set(m["levels"])
            if unknown:
                notices.append((
                    f"Question « {q} » : {len(unknown)} réponse(s) hors des niveaux donnés "
                    "dans la correspondance (à recoder).",
                    f"Question '{q}': {len(unknown)} answer value(s) outside the levels given "
                    "in the mapping (to recode)."))
    pos = {rid: i for i, rid in enumerate(ids)}
    qpos = {q: i for i, q in enumerate(dict.fromkeys(q for _, q, _ in records))}
    records.sort(key=lambda r: (pos[r[0]], qpos[r[1]]))
    long = pd.DataFrame(records, columns=["response_id", "question", "answer"], dtype=object)
    long.insert(0, "survey", survey)
    long = long.astype(object)
    return long.reset_index(drop=True), notices


def _safe_token(v: str) -> bool:
    from .privacy import detect_identifier

    return len(v) <= 40 and detect_identifier(v, dates=False) is None and " " not in v.strip()


def spec_from_mapping(mapping, *, survey: str, label_fr: str = "", label_en: str = "") -> dict:
    """The ``surveys:`` entry of ``evaluation.yml`` that a mapping file implies.

    Questions with levels become ``likert`` (or their declared type) with the
    levels in the given order, so the answer order of Likert scales is kept.

    Examples
    --------
    >>> spec_from_mapping({"q": ["low", "mid", "high"]}, survey="s")
    {'s': {'label_fr': 's', 'label_en': 's', 'questions': {'q': {'type': 'likert', \
'levels': ['low', 'mid', 'high']}}}}
    """
    maps = _normalise_mapping(mapping)
    qs = {}
    for q, m in maps.items():
        entry: dict = {"type": m["type"] or "single"}
        if m["label_fr"]:
            entry["label_fr"] = m["label_fr"]
        if m["label_en"]:
            entry["label_en"] = m["label_en"]
        if m["levels"]:
            entry["levels" if entry["type"] == "likert" else "options"] = m["levels"]
        qs[q] = entry
    return {survey: {"label_fr": label_fr or survey, "label_en": label_en or label_fr or survey,
                     "questions": qs}}
