"""Harm-reduction and sexual-health material handed out: totals per item, category and period.

Computed from the internal-form ``distributions`` table (``month``, ``date``,
``item``, ``category``, ``quantity``); per-visit rates use the visits of
:func:`qsp_eval.attendance.per_session`.  Periods work as in
:func:`qsp_eval.services.assign_period` (``period="year"`` by default, or
any ``span`` such as ``("2022-01-01", "2023-12-31")``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .i18n import tr
from .schema import ITEM_CATEGORY, VOCABULARIES, label
from .services import _period_order, _resolve, assign_period, period_denominators

__all__ = ["material_totals", "material_by_category", "material_table"]

_CATEGORIES = tuple(VOCABULARIES["item_category"])


def _with_period(dataset, period, span) -> pd.DataFrame:
    period, span = _resolve(dataset, period, span)
    d = dataset.distributions
    if d is None or d.empty:
        return pd.DataFrame(columns=["item", "category", "quantity", "period"])
    when = pd.to_datetime(d["date"], errors="coerce")
    by_month = pd.to_datetime(d["month"].astype("string") + "-01", format="%Y-%m-%d",
                              errors="coerce")
    when = when.where(when.notna(), by_month)
    cat = d["category"].where(d["category"].notna(), d["item"].map(ITEM_CATEGORY))
    out = pd.DataFrame({
        "item": d["item"].astype(object),
        "category": cat.fillna("drug_use").astype(object),
        "quantity": pd.to_numeric(d["quantity"], errors="coerce").fillna(0).astype(int),
        "period": assign_period(when, period=period, span=span),
    })
    return out.loc[out["period"].notna()].reset_index(drop=True)


def _item_key(code):
    order = list(VOCABULARIES["item"])
    return (order.index(code) if code in order else len(order), code)


def material_totals(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Quantities handed out per period and item, with the rate per visit.

    Parameters
    ----------
    dataset : Dataset
        Validated data (``distributions``; sessions/visits for the rates).
    period, span : keyword-only
        See :func:`qsp_eval.services.assign_period`.  Rows given by month
        are dated on the first day of their month.

    Returns
    -------
    pandas.DataFrame
        One row per ``period`` x item seen in the period: ``period``,
        ``category``, ``item``, ``label_fr``, ``label_en``,
        ``category_label_fr``, ``category_label_en``, ``unit`` ("items"),
        ``count`` (total quantity), ``visits`` (visits of the period's held
        sessions; NaN when unknown), ``per_visit`` (count / visits).  Sorted
        by period, category, then catalogue order.  Empty when there is no
        distribution.  Missing quantities count as 0.

    Examples
    --------
    >>> # material_totals(ds, span=("2022-01-01", "2023-12-31"))
    """
    cols = ["period", "category", "item", "label_fr", "label_en", "category_label_fr",
            "category_label_en", "unit", "count", "visits", "per_visit"]
    d = _with_period(dataset, period, span)
    if d.empty:
        return pd.DataFrame(columns=cols)
    den = period_denominators(dataset, period=period, span=span).set_index("period")["visits"]
    tot = d.groupby(["period", "category", "item"], as_index=False)["quantity"].sum()
    rows = []
    for _, r in tot.iterrows():
        visits = float(den.get(r["period"], np.nan))
        n = int(r["quantity"])
        rows.append({
            "period": r["period"], "category": r["category"], "item": r["item"],
            "label_fr": label("item", r["item"], "fr"), "label_en": label("item", r["item"], "en"),
            "category_label_fr": label("item_category", r["category"], "fr"),
            "category_label_en": label("item_category", r["category"], "en"),
            "unit": "items", "count": n, "visits": visits,
            "per_visit": n / visits if visits and not np.isnan(visits) else np.nan,
        })
    out = pd.DataFrame(rows, columns=cols)
    key = out.apply(lambda r: (r["period"], _CATEGORIES.index(r["category"])
                               if r["category"] in _CATEGORIES else 9, _item_key(r["item"])),
                    axis=1)
    return out.iloc[sorted(range(len(out)), key=lambda i: key.iloc[i])].reset_index(drop=True)


def material_by_category(dataset, *, period: str = "year", span=None) -> pd.DataFrame:
    """Quantities per period and category (drug use / sexual health), with the rate per visit.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``category``, ``label_fr``, ``label_en``, ``unit``
        ("items"), ``count``, ``visits``, ``per_visit``.  Both categories
        appear for every period (0 when nothing was handed out).

    Examples
    --------
    >>> # material_by_category(ds)
    """
    cols = ["period", "category", "label_fr", "label_en", "unit", "count", "visits", "per_visit"]
    t = material_totals(dataset, period=period, span=span)
    if t.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for p in _period_order(t["period"]):
        g = t.loc[t["period"] == p]
        visits = float(g["visits"].iloc[0])
        for c in _CATEGORIES:
            n = int(g.loc[g["category"] == c, "count"].sum())
            rows.append({"period": p, "category": c,
                         "label_fr": label("item_category", c, "fr"),
                         "label_en": label("item_category", c, "en"), "unit": "items",
                         "count": n, "visits": visits,
                         "per_visit": n / visits if visits and not np.isnan(visits) else np.nan})
    return pd.DataFrame(rows, columns=cols)


def material_table(dataset, *, period: str = "year", span=None, lang: str = "fr") -> pd.DataFrame:
    """A table ready for the write-up: items grouped by category, one column per period.

    Rows: for each category, its items (catalogue order) then a subtotal
    row; a grand total last.  Columns: the category label, the item label
    (in ``lang``), then one column of quantities per period (the period
    label as header).  Items never handed out are left out.

    Examples
    --------
    >>> # material_table(ds, span=("2022-01-01", "2023-12-31"))
    """
    t = material_totals(dataset, period=period, span=span)
    cat_h, item_h = tr("Catégorie", "Category", lang), tr("Matériel", "Item", lang)
    periods = _period_order(t["period"]) if not t.empty else []
    if t.empty:
        return pd.DataFrame(columns=[cat_h, item_h])
    lab = "label_fr" if lang == "fr" else "label_en"
    clab = "category_label_fr" if lang == "fr" else "category_label_en"
    wide = t.pivot_table(index=["category", "item"], columns="period", values="count",
                         aggfunc="sum", fill_value=0)
    rows = []
    for c in _CATEGORIES:
        items = sorted((i for (cc, i) in wide.index if cc == c), key=_item_key)
        if not items:
            continue
        clabel = t.loc[t["category"] == c, clab].iloc[0]
        for i in items:
            row = {cat_h: clabel, item_h: t.loc[t["item"] == i, lab].iloc[0]}
            row.update({p: int(wide.loc[(c, i)].get(p, 0)) for p in periods})
            rows.append(row)
        sub = {cat_h: clabel, item_h: tr("Sous-total", "Subtotal", lang)}
        sub.update({p: int(sum(wide.loc[(c, i)].get(p, 0) for i in items)) for p in periods})
        rows.append(sub)
    total = {cat_h: tr("Ensemble", "All", lang), item_h: tr("Total", "Total", lang)}
    total.update({p: int(t.loc[t["period"] == p, "count"].sum()) for p in periods})
    rows.append(total)
    return pd.DataFrame(rows, columns=[cat_h, item_h, *periods])
