"""Figures of services, rapid tests, drug checking and material handed out.

Each function draws a table made by :mod:`qsp_eval.services` or
:mod:`qsp_eval.material`; no statistics, no saving.
"""

from __future__ import annotations

import numpy as np

from ..i18n import tr
from .style import finish_ax, get_ax, palette

__all__ = ["plot_service_counts", "plot_service_share", "plot_drug_checking", "plot_material"]


def _lab(result, lang):
    return result["label_fr" if lang == "fr" else "label_en"].astype(str)


def _grouped_bars(ax, cats, periods, values, errs=None):
    width = 0.8 / max(len(periods), 1)
    x = np.arange(len(cats))
    cols = palette(len(periods))
    for j, p in enumerate(periods):
        kw = {}
        if errs is not None:
            kw = {"yerr": errs[j], "capsize": 2, "error_kw": {"linewidth": 0.8}}
        ax.bar(x + (j - (len(periods) - 1) / 2) * width, values[j], width, label=str(p),
               color=cols[j], **kw)
    ax.set_xticks(x, cats, rotation=30, ha="right")
    if len(periods) > 1:
        ax.legend(fontsize=8, frameon=False)


def plot_service_counts(result, *, ax=None, lang: str = "fr", measure: str = "count"):
    """Bars of services per period: ``measure`` = "count", "per_session" or "per_10_visits".

    ``result`` is :func:`qsp_eval.services.service_counts` (or
    :func:`~qsp_eval.services.rapid_tests`).  For ``per_session`` the exact
    Poisson interval (``ci_low``/``ci_high``) is drawn.

    Examples
    --------
    >>> from qsp_eval.services import service_counts
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2024-01-10"}],
    ...     services=[{"date": "2023-01-04", "service": "trod_hiv", "count": 2},
    ...               {"date": "2024-01-10", "service": "trod_hiv", "count": 1}])
    >>> ax = plot_service_counts(service_counts(ds), lang="en")
    >>> ax.get_title(loc="left"), [float(p.get_height()) for p in ax.patches]
    ('Services', [2.0, 1.0])
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    ax = get_ax(ax)
    periods = sorted(result["period"].unique())
    cats_codes = list(dict.fromkeys(result["service"]))
    labels = dict(zip(result["service"], _lab(result, lang), strict=True))
    vals, errs = [], []
    for p in periods:
        g = result.loc[result["period"] == p].set_index("service")
        v = np.array([float(g[measure].get(c, np.nan)) for c in cats_codes])
        vals.append(v)
        if measure == "per_session":
            lo = np.array([float(g["ci_low"].get(c, np.nan)) for c in cats_codes])
            hi = np.array([float(g["ci_high"].get(c, np.nan)) for c in cats_codes])
            errs.append(np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)]))
    _grouped_bars(ax, [labels[c] for c in cats_codes], periods, vals,
                  errs if measure == "per_session" else None)
    ylabel = {
        "count": tr("Nombre", "Number", lang),
        "per_session": tr("Par permanence tenue (IC 95 %)", "Per held session (95% CI)", lang),
        "per_10_visits": tr("Pour 10 passages", "Per 10 visits", lang),
    }[measure]
    return finish_ax(ax, title=tr("Prestations", "Services", lang), ylabel=ylabel,
                     xlabel=tr("Prestation (barres : années)", "Service (bars: years)", lang))


def plot_service_share(result, *, ax=None, lang: str = "fr"):
    """Share of held sessions where each service was used, with Wilson 95 % intervals.

    ``result`` is :func:`qsp_eval.services.service_session_share`.

    Examples
    --------
    >>> from qsp_eval.services import service_session_share
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-01-11"}],
    ...     services=[{"date": "2023-01-04", "service": "trod_hiv", "count": 2}])
    >>> ax = plot_service_share(service_session_share(ds), lang="en")
    >>> [float(p.get_height()) for p in ax.patches]    # 1 session of 2: 50 %
    [50.0]
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    ax = get_ax(ax)
    periods = sorted(result["period"].unique())
    codes = list(dict.fromkeys(result["service"]))
    labels = dict(zip(result["service"], _lab(result, lang), strict=True))
    vals, errs = [], []
    for p in periods:
        g = result.loc[result["period"] == p].set_index("service")
        v = np.array([float(g["share"].get(c, np.nan)) for c in codes]) * 100
        lo = np.array([float(g["ci_low"].get(c, np.nan)) for c in codes]) * 100
        hi = np.array([float(g["ci_high"].get(c, np.nan)) for c in codes]) * 100
        vals.append(v)
        errs.append(np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)]))
    _grouped_bars(ax, [labels[c] for c in codes], periods, vals, errs)
    ax.set_ylim(0, 100)
    return finish_ax(ax, title=tr("Permanences où la prestation a eu lieu",
                                  "Sessions where the service was used", lang),
                     ylabel=tr("% des permanences tenues (IC 95 %)",
                               "% of held sessions (95% CI)", lang))


def plot_drug_checking(result, *, ax=None, lang: str = "fr"):
    """Stacked bars of drug samples per period by route (on site / sent to SINTES).

    ``result`` is :func:`qsp_eval.services.drug_checking`.

    Examples
    --------
    >>> from qsp_eval.services import drug_checking
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...     services=[{"date": "2023-01-04", "service": "sample_ccm", "count": 3},
    ...               {"date": "2023-01-04", "service": "sample_sintes", "count": 1}])
    >>> ax = plot_drug_checking(drug_checking(ds), lang="en")
    >>> [(float(p.get_y()), float(p.get_height())) for p in ax.patches]  # stacked: 3, then 1
    [(0.0, 3.0), (3.0, 1.0)]
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    ax = get_ax(ax)
    r = result.loc[result["route"] != "total"]
    periods = sorted(r["period"].unique())
    bottom = np.zeros(len(periods))
    for j, route in enumerate(dict.fromkeys(r["route"])):
        g = r.loc[r["route"] == route].set_index("period")
        v = np.array([float(g["count"].get(p, 0)) for p in periods])
        lab = g[("label_fr" if lang == "fr" else "label_en")].iloc[0]
        ax.bar([str(p) for p in periods], v, bottom=bottom, label=lab, color=palette(2)[j % 2])
        bottom += v
    ax.legend(fontsize=8, frameon=False)
    return finish_ax(ax, title=tr("Échantillons de produits analysés", "Drug samples analysed",
                                  lang), ylabel=tr("Nombre d'échantillons", "Samples", lang))


def plot_material(result, *, ax=None, lang: str = "fr", period: str | None = None):
    """Horizontal bars of the quantity handed out per item, coloured by category.

    ``result`` is :func:`qsp_eval.material.material_totals`; one period is
    drawn (``period``, default the last one).

    Examples
    --------
    >>> from qsp_eval.material import material_totals
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...     distributions=[{"date": "2023-01-04", "item": "sniff_kit", "quantity": 10}])
    >>> ax = plot_material(material_totals(ds), lang="en")
    >>> ax.get_title(loc="left"), [float(p.get_width()) for p in ax.patches]
    ('Material handed out (2023)', [10.0])
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    ax = get_ax(ax, height=4.2)
    if result.empty:
        return finish_ax(ax, title=tr("Aucun matériel distribué", "No material handed out", lang))
    p = period if period is not None else sorted(result["period"].unique())[-1]
    g = result.loc[result["period"] == p].iloc[::-1]
    cats = list(dict.fromkeys(result["category"]))
    colours = dict(zip(cats, palette(len(cats)), strict=True))
    lab = g["label_fr" if lang == "fr" else "label_en"].astype(str)
    ax.barh(lab, g["count"].astype(float), color=[colours[c] for c in g["category"]])
    from matplotlib.patches import Patch

    clab = "category_label_fr" if lang == "fr" else "category_label_en"
    names = dict(zip(result["category"], result[clab], strict=True))
    ax.legend(handles=[Patch(color=colours[c], label=names[c]) for c in cats], fontsize=8,
              frameon=False, loc="lower right")
    finish_ax(ax, title=tr(f"Matériel distribué ({p})", f"Material handed out ({p})", lang),
              xlabel=tr("Quantité", "Quantity", lang), ylabel=tr("Article", "Item", lang))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    return ax
