"""Figures of survey results: answer shares, Likert scales (diverging bars), votes.

Each function draws a table made by :mod:`qsp_eval.surveys`; no statistics,
no saving.  Free-text rows are never drawn (they hold only a count).
"""

from __future__ import annotations

import numpy as np

from ..i18n import tr
from .style import finish_ax, get_ax, palette

__all__ = ["plot_question", "plot_likert", "plot_vote"]


def _one_question(result):
    r = result.loc[result["type"] != "free_text"]
    qs = r[["survey", "question"]].drop_duplicates()
    if len(qs) != 1:
        raise ValueError("pass the rows of one survey question (filter on survey and question)")
    return r


def _title(r, lang):
    q = r["question_label_fr" if lang == "fr" else "question_label_en"].iloc[0]
    n = int(r["denominator"].iloc[0])
    tot = int(r["respondents"].iloc[0])
    extra = ""
    if r["type"].iloc[0] == "multi":
        extra = tr(" ; plusieurs réponses possibles", "; several answers allowed", lang)
    return f"{q}\n" + tr(f"(n = {n} répondant·es sur {tot}{extra})",
                         f"(n = {n} respondents out of {tot}{extra})", lang)


def plot_question(result, *, ax=None, lang: str = "fr"):
    """Horizontal bars of the share of each answer with its Wilson 95 % interval.

    ``result``: the rows of :func:`qsp_eval.surveys.question_summary` for
    one question.  The title states the denominator (respondents who
    answered, out of all respondents).

    Examples
    --------
    >>> import pandas as pd
    >>> from qsp_eval.surveys import question_summary
    >>> r = pd.DataFrame({"survey": "s", "response_id": ["1", "2", "3"], "question": "q",
    ...                   "answer": ["yes", "yes", "no"]})
    >>> t = question_summary(r, {"s": {"questions": {"q": {"type": "yes_no",
    ...                                                    "label_en": "I felt listened to"}}}})
    >>> ax = plot_question(t, lang="en")
    >>> print(ax.get_title(loc="left"))
    I felt listened to
    (n = 3 respondents out of 3)
    >>> [round(float(p.get_width()), 1) for p in ax.patches]   # "no" 1/3, "yes" 2/3
    [33.3, 66.7]
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    r = _one_question(result).sort_values("order", ascending=False)
    ax = get_ax(ax, height=max(1.8, 0.35 * len(r) + 1.2))
    lab = r["label_fr" if lang == "fr" else "label_en"].astype(str)
    v = r["share"].astype(float).to_numpy() * 100
    lo = r["ci_low"].astype(float).to_numpy() * 100
    hi = r["ci_high"].astype(float).to_numpy() * 100
    ax.barh(lab, v, xerr=np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)]),
            color=palette(1)[0], capsize=2, error_kw={"linewidth": 0.8})
    ax.set_xlim(0, 100)
    finish_ax(ax, title=_title(r, lang), xlabel=tr("% des répondant·es (IC 95 %)",
                                                   "% of respondents (95% CI)", lang))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    return ax


def plot_likert(result, *, ax=None, lang: str = "fr"):
    """Diverging stacked bar of a Likert question (levels in their declared order).

    ``result``: :func:`qsp_eval.surveys.likert_table` (rows of one
    question with ``side``), or several such tables concatenated (one bar per
    survey/question).  Levels below the middle go left of 0, above it
    right, the middle level is split across 0.

    Examples
    --------
    >>> import pandas as pd
    >>> from qsp_eval.surveys import likert_table
    >>> r = pd.DataFrame({"survey": "s", "response_id": ["1", "2", "3"], "question": "q",
    ...                   "answer": ["agree", "neutral", "agree"]})
    >>> spec = {"s": {"questions": {"q": {"type": "likert",
    ...                                   "levels": ["disagree", "neutral", "agree"]}}}}
    >>> ax = plot_likert(likert_table(r, spec, survey="s", question="q"), lang="en")
    >>> # neutral (1/3) split across 0, agree (2/3) to the right of it
    >>> [(round(float(p.get_x()), 1), round(float(p.get_width()), 1)) for p in ax.patches]
    [(-16.7, 0.0), (-16.7, 33.3), (16.7, 66.7)]
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    keys = list(dict.fromkeys(zip(result["survey"], result["question"], strict=True)))
    ax = get_ax(ax, height=max(2.2, 0.5 * len(keys) + 1.6))
    first = result.loc[(result["survey"] == keys[0][0]) & (result["question"] == keys[0][1])]
    first = first.sort_values("order")
    n_levels = len(first)
    cols = ["#B2182B", "#EF8A62", "#CCCCCC", "#67A9CF", "#2166AC"]
    if n_levels != 5:
        from matplotlib import colormaps

        cmap = colormaps["RdBu"]
        cols = [cmap(x) for x in np.linspace(0.1, 0.9, n_levels)]
    ylabels = []
    for y, (s, q) in enumerate(keys):
        t = result.loc[(result["survey"] == s) & (result["question"] == q)].sort_values("order")
        share = t["share"].astype(float).fillna(0).to_numpy() * 100
        side = t["side"].to_numpy()
        left_total = share[side < 0].sum() + share[side == 0].sum() / 2
        x = -left_total
        for i, (w, lab) in enumerate(zip(share, t["label_fr" if lang == "fr" else "label_en"],
                                         strict=True)):
            ax.barh(y, w, left=x, color=cols[i % len(cols)], label=str(lab) if y == 0 else None,
                    edgecolor="white", linewidth=0.5)
            x += w
        n = int(t["denominator"].iloc[0])
        qlab = t["question_label_fr" if lang == "fr" else "question_label_en"].iloc[0]
        ylabels.append(f"{qlab} (n = {n})")
    ax.set_yticks(range(len(keys)), ylabels)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_xlim(-100, 100)
    ax.legend(fontsize=7, frameon=False, ncol=min(n_levels, 3), loc="lower center",
              bbox_to_anchor=(0.5, 1.0))
    ticks = [-100, -50, 0, 50, 100]
    ax.set_xticks(ticks, [str(abs(t)) for t in ticks])
    finish_ax(ax, xlabel=tr("% des répondant·es", "% of respondents", lang))
    ax.grid(axis="y", visible=False)
    return ax


def plot_vote(result, *, ax=None, lang: str = "fr"):
    """Ranked horizontal bars of a vote (most chosen on top), with counts.

    ``result``: :func:`qsp_eval.surveys.vote_results`.

    Examples
    --------
    >>> import pandas as pd
    >>> from qsp_eval.surveys import vote_results
    >>> r = pd.DataFrame({"survey": "s", "response_id": ["1", "2", "3"], "question": "name",
    ...                   "answer": ["B", "A", "B"]})
    >>> ax = plot_vote(vote_results(r, survey="s", question="name"), lang="en")
    >>> [t.get_text() for t in ax.get_yticklabels()], [float(p.get_width()) for p in ax.patches]
    (['A', 'B'], [1.0, 2.0])
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    r = _one_question(result).sort_values("rank", ascending=False, kind="stable")
    ax = get_ax(ax, height=max(1.8, 0.35 * len(r) + 1.2))
    lab = r["label_fr" if lang == "fr" else "label_en"].astype(str)
    counts = r["count"].astype(float).to_numpy()
    colours = [palette(1)[0] if k == 1 else "#999999" for k in r["rank"]]
    ax.barh(lab, counts, color=colours)
    for y, c in enumerate(counts):
        ax.text(c, y, f" {int(c)}", va="center", fontsize=8)
    finish_ax(ax, title=_title(r, lang), xlabel=tr("Nombre de voix", "Votes", lang))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    return ax
