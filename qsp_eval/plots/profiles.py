"""Profile figures: composition per period (stacked) and one group's share over time.

Each function draws a result of :mod:`qsp_eval.profiles` and returns the Axes;
no statistics are computed here.  Titles say whether the unit is visits or people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..i18n import tr
from .style import finish_ax, get_ax, palette

__all__ = ["plot_composition", "plot_group_share", "unit_phrase"]

_FIELD = {
    "gender": ("Identité de genre", "Gender identity"),
    "orientation": ("Orientation sexuelle", "Sexual orientation"),
    "age_band": ("Tranche d'âge", "Age band"),
    "chemsex": ("Pratique le chemsex", "Practises chemsex"),
    "injects": ("Pratique l'injection", "Injects"),
    "products": ("Produits consommés", "Products used"),
    "heard_via": ("A connu la permanence par", "Heard of the session via"),
}


def unit_phrase(unit: str, lang: str = "fr") -> str:
    """Words naming the unit in titles ("parmi les personnes distinctes"...).

    Examples
    --------
    >>> unit_phrase("visits", "en")
    'among visits'
    """
    return {"people": tr("parmi les personnes distinctes", "among distinct people", lang),
            "visits": tr("parmi les passages", "among visits", lang)}.get(unit, unit)


def _hidden_label(sub, lang: str) -> str:
    """Legend entry of the hidden part: "Masqué (effectif < 5)", threshold read from the table."""
    import re

    t = ""
    if "count_display" in sub.columns:
        for v in sub["count_display"].dropna().astype(str):
            m = re.search(r"<\s*(\d+)", v)
            if m:
                t = m.group(1)
                break
    t = t or "5"
    return tr(f"Masqué (effectif < {t})", f"Hidden (count < {t})", lang)


def _pick_level(sub, level):
    if level is None:
        level = "reporting" if (sub["level"] == "reporting").any() else "detail"
    return sub.loc[sub["level"] == level]


def plot_composition(result, *, field: str, unit: str = "people", level: str | None = None,
                     config=None, ax=None, lang: str = "fr"):
    """Stacked composition per period of one single-choice profile field.

    Parameters
    ----------
    result : DataFrame
        Output of :func:`qsp_eval.profiles.composition` (or ``newcomers_profile``).
    field : str
        A single-choice field (``products`` is multi-select: use
        :func:`plot_group_share` per option).
    unit : {"people", "visits"}
        Named in the title.
    level : {"reporting", "detail"}, optional
        Default: reporting groups when the field has some.
    config : EvaluationConfig, optional
        For the labels of reporting groups.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per group (``ax.containers``, in legend order),
        heights = ``share`` (among all, "not stated" included, in %), then,
        when disclosure control hid cells (NA shares), one hatched container
        "Masqué (effectif < t)" with the rest, so the stack of each period
        sums to 100 (0 for periods without anyone).

    Examples
    --------
    >>> from qsp_eval.profiles import composition
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...                   visits=[{"date": "2023-01-04", "gender": "cis_man", "person_id": "a"},
    ...                           {"date": "2023-01-04", "person_id": "b"}])
    >>> ax = plot_composition(composition(ds), field="gender", unit="people")
    >>> [float(c.patches[0].get_height()) for c in ax.containers]
    [50.0, 50.0]
    """
    from ..profiles import MULTI_FIELDS, group_label

    if field in MULTI_FIELDS:
        raise ParameterError(
            f"« {field} » admet plusieurs réponses : utiliser plot_group_share par option.",
            f"'{field}' allows several answers: use plot_group_share per option.",
        )
    ax = get_ax(ax)
    sub = _pick_level(result.loc[(result["field"] == field) & (result["unit"] == unit)], level)
    periods = list(dict.fromkeys(sub["period"]))
    groups = [g for g in dict.fromkeys(sub["group"]) if g != "unknown"]
    groups = [g for g in groups if sub.loc[sub["group"] == g, "count"].sum() > 0] + ["unknown"]
    cols = palette(len(groups) - 1) + ["#BBBBBB"]
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    for g, col in zip(groups, cols):
        s = sub.loc[sub["group"] == g].set_index("period")["share"].reindex(periods)
        h = 100 * np.nan_to_num(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float,
                                                                            na_value=np.nan))
        ax.bar(x, h, bottom=bottom, color=col, width=0.7,
               label=group_label(field, g, config, lang))
        bottom += h
    den = sub.drop_duplicates("period").set_index("period")["denominator"].reindex(periods)
    # cells hidden by disclosure control (NA shares): one labelled part, so each bar reaches 100
    # a period whose denominator is itself hidden is all hidden (not "n = 0": there were people)
    den_v = pd.to_numeric(den, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    rest = np.where(np.isnan(den_v) | (den_v > 0), 100 - bottom, 0)
    rest = np.where(rest > 0.5, rest, 0)
    if rest.any():
        ax.bar(x, rest, bottom=bottom, color="#FFFFFF", edgecolor="#888888", hatch="////",
               linewidth=0.5, width=0.7, label=_hidden_label(sub, lang))

    nd = tr("n.d.", "n/a", lang)
    ax.set_xticks(x, [f"{p}\n(n = {nd if np.isnan(n) else int(n)})" for p, n in zip(periods, den_v)])
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    name = tr(*_FIELD.get(field, (field, field)), lang)
    return finish_ax(ax, title=f"{name} — {tr('composition', 'composition', lang)} "
                               f"{unit_phrase(unit, lang)}",
                     xlabel=tr("Période", "Period", lang), ylabel=tr("Part (%)", "Share (%)", lang))


def plot_group_share(result, *, known: bool = False, config=None, ax=None, lang: str = "fr"):
    """Share of one group over the periods with its Wilson 95 % intervals.

    Parameters
    ----------
    result : DataFrame
        Output of :func:`qsp_eval.profiles.group_share` (one field, group and unit).
    known : bool
        Plot ``share_known`` (among known answers) instead of ``share`` (among all).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[0]`` holds the shares in % (NaN for periods without anyone);
        error bars from ``ci_low``/``ci_high`` (or the ``ci_known_*`` pair).

    Examples
    --------
    >>> from qsp_eval.profiles import composition, group_share
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...                   visits=[{"date": "2023-01-04", "chemsex": "yes", "person_id": "a"},
    ...                           {"date": "2023-01-04", "chemsex": "no", "person_id": "b"}])
    >>> ax = plot_group_share(group_share(composition(ds), "chemsex", "yes"))
    >>> ax.lines[0].get_ydata().tolist()
    [50.0]
    """
    from ..profiles import group_label

    ax = get_ax(ax)
    c = palette(1)[0]
    col, lo_c, hi_c = (("share_known", "ci_known_low", "ci_known_high") if known
                       else ("share", "ci_low", "ci_high"))
    x = np.arange(len(result))
    m = 100 * result[col].to_numpy(dtype=float)
    lo = 100 * result[lo_c].to_numpy(dtype=float)
    hi = 100 * result[hi_c].to_numpy(dtype=float)
    ax.plot(x, m, marker="o", color=c, linewidth=1)
    ok = ~np.isnan(m)
    ax.errorbar(x[ok], m[ok], yerr=[m[ok] - lo[ok], hi[ok] - m[ok]], fmt="none", ecolor=c,
                capsize=3)
    den_col = "known_denominator" if known else "denominator"
    ax.set_xticks(x, [f"{p}\n(n = {int(n)})" for p, n in zip(result["period"], result[den_col])])
    ax.set_ylim(0, 100)
    field = str(result["field"].iloc[0]) if len(result) else ""
    group = str(result["group"].iloc[0]) if len(result) else ""
    unit = str(result["unit"].iloc[0]) if len(result) else "people"
    basis = (tr(" (réponses connues)", " (known answers)", lang) if known
             else tr(" (non renseigné compris)", " (not stated included)", lang))
    title = (f"{group_label(field, group, config, lang)} — "
             f"{tr('part', 'share', lang)} {unit_phrase(unit, lang)}{basis}")
    return finish_ax(ax, title=title, xlabel=tr("Période", "Period", lang),
                     ylabel=tr("% (IC 95 %)", "% (95% CI)", lang))
