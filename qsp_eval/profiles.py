"""Profiles: who comes, per period, per visit and per person, and how it shifts.

Every function takes a validated :class:`~qsp_eval.schema.Dataset` (or a result
of :func:`composition`) and returns a new tidy DataFrame; inputs are never
modified.  Only visit rows of held sessions are used.

Counting rules (stated in every table through the ``unit`` column)
------------------------------------------------------------------
``unit == "visits"``
    one count per visit (passage); a person coming 4 times counts 4 times.
``unit == "people"``
    one count per distinct ``person_id`` per period, with the person's **most
    recent known value** in that period (the last visit whose answer is not
    ``"unknown"``); a person whose answers are all unknown in the period counts
    as ``"unknown"``.  Visits without ``person_id`` cannot be counted as people
    and are left out of this unit.

Missing answers are never dropped: ``"unknown"`` ("not stated") is a group of
its own.  ``share`` is among all units (unknown included, so single-choice
shares sum to 1 per period, field, level and unit) and ``share_known`` among units
with a known answer (NaN for the ``unknown`` row).

Reporting groups
----------------
``config.reporting_groups`` (``field -> group -> {"members": [...]}``) merge
detailed codes into a reporting group (e.g. ``tanb`` = trans women, trans men,
non-binary and agender people).  Rows with ``level == "reporting"`` show
those groups plus every code that belongs to no group; rows with
``level == "detail"`` keep the detailed codes.

Before/after an event
---------------------
:func:`before_after` compares two sides of one date; :func:`before_after_events`
does it for every dated event of the configuration (and the start of the
change), in one long table, and adds derived groups that no single field holds
(``chemsex_cis_men``: cis men practising chemsex, among all distinct people).

Multi-select fields
-------------------
``products`` holds several options per answer.  Each option is counted once
per unit that selected it; the denominator is the number of units (all, or
those with a known answer), so shares do not sum to 1 (``multi`` is True).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .attendance import _held_visits
from .errors import ParameterError
from .schema import PROFILE_FIELDS, VOCABULARIES
from .schema import label as _vlabel

__all__ = [
    "MULTI_FIELDS",
    "UNITS",
    "composition",
    "group_share",
    "profile_tests",
    "before_after",
    "before_after_events",
    "BEFORE_AFTER_BY",
    "DERIVED_FIELDS",
    "cis_men_chemsex_by_year",
    "newcomers_profile",
    "group_label",
]

#: Profile fields whose answers may hold several options joined by ";".
MULTI_FIELDS = frozenset({"products"})
#: Counting units of profile tables.
UNITS = ("visits", "people")
_COLUMNS = ["period", "field", "level", "group", "unit", "count", "denominator",
            "known_denominator", "share", "share_known", "ci_low", "ci_high", "ci_known_low",
            "ci_known_high", "multi"]


def group_label(field: str, group: str, config=None, lang: str = "fr") -> str:
    """Display label of a group: a reporting group of ``config`` or a vocabulary code.

    Examples
    --------
    >>> group_label("gender", "non_binary")
    'Non-binaire'
    >>> group_label("chemsex", "unknown", lang="en")
    'Not stated'
    """
    groups = (getattr(config, "reporting_groups", None) or {}).get(field, {})
    if group in groups:
        g = groups[group] or {}
        return str(g.get("label_fr" if lang == "fr" else "label_en", group))
    return _vlabel(PROFILE_FIELDS.get(field, field), group, lang)


def _check(fields, unit=None):
    fields = list(PROFILE_FIELDS) if fields is None else list(fields)
    bad = [f for f in fields if f not in PROFILE_FIELDS]
    if bad:
        raise ParameterError(
            f"Champ de profil inconnu : {', '.join(bad)} (attendu : {', '.join(PROFILE_FIELDS)}).",
            f"Unknown profile field: {', '.join(bad)} (expected: {', '.join(PROFILE_FIELDS)}).",
        )
    if unit is not None:
        units = [unit] if isinstance(unit, str) else list(unit)
        if any(u not in UNITS for u in units):
            raise ParameterError(f"Unité inconnue : {unit} (visits ou people).",
                                 f"Unknown unit: {unit} (visits or people).")
        return fields, units
    return fields


def _groups_for(field, config):
    """(ordered list of reporting group codes, member -> group)."""
    groups = (getattr(config, "reporting_groups", None) or {}).get(field, {}) or {}
    member_of = {}
    for g, spec in groups.items():
        for m in (spec or {}).get("members", []) or []:
            member_of[m] = g
    return list(groups), member_of


def _values(v: pd.DataFrame, field: str, unit: str) -> pd.DataFrame:
    """Per unit: columns ``_p`` (period) and ``value`` (str code or ';'-joined codes)."""
    if unit == "visits":
        return pd.DataFrame({"_p": v["_p"].to_numpy(),
                             "value": v[field].astype("object").fillna("unknown").to_numpy()})
    w = v.loc[v["person_id"].notna(), ["person_id", "date", "_p", field]].copy()
    w["value"] = w[field].astype("object").fillna("unknown")
    w = w.sort_values("date", kind="stable")
    known = w.loc[w["value"] != "unknown"]
    last_known = known.groupby(["_p", "person_id"], sort=False)["value"].last()
    persons = w.groupby(["_p", "person_id"], sort=False).size().index
    vals = pd.Series(last_known.reindex(persons).to_numpy(), index=persons).fillna("unknown")
    return pd.DataFrame({"_p": persons.get_level_values(0), "value": vals.to_numpy()})


def _compose(v, labels, fields, units, config, levels=("reporting", "detail")) -> pd.DataFrame:
    """Core counting; ``v`` has a ``_p`` column with the period label of each visit."""
    from .stats import wilson_ci

    frames = []
    for field in fields:
        vocab = PROFILE_FIELDS[field]
        codes = [c for c in VOCABULARIES[vocab] if c != "unknown"]
        multi = field in MULTI_FIELDS
        rgroups, member_of = _groups_for(field, config)
        for unit in units:
            vals = _values(v, field, unit)
            extra = sorted({o for x in vals["value"] for o in str(x).split(";")}
                           - set(codes) - {"unknown"})
            all_codes = codes + extra
            # indicator matrix unit x code
            if multi:
                sets = vals["value"].map(lambda x: set(str(x).split(";")))
                ind = pd.DataFrame({c: sets.map(lambda s, c=c: c in s) for c in all_codes},
                                   index=vals.index)
            else:
                ind = pd.DataFrame({c: vals["value"] == c for c in all_codes}, index=vals.index)
            unknown = vals["value"] == "unknown"
            for level in levels:
                if level == "reporting":
                    if not rgroups:
                        continue
                    cols = {}
                    for g in rgroups:
                        mem = [c for c in all_codes if member_of.get(c) == g]
                        cols[g] = ind[mem].any(axis=1) if mem else pd.Series(False, index=ind.index)
                    for c in all_codes:
                        if c not in member_of:
                            cols[c] = ind[c]
                    lind = pd.DataFrame(cols, index=ind.index)
                else:
                    lind = ind
                lind = lind.assign(unknown=unknown)
                grp = lind.groupby(vals["_p"].to_numpy()).sum()
                den = vals.groupby("_p").size()
                kden = (~unknown).groupby(vals["_p"].to_numpy()).sum()
                grp = grp.reindex(labels, fill_value=0)
                den = den.reindex(labels, fill_value=0)
                kden = kden.reindex(labels, fill_value=0)
                long = grp.stack().rename("count").reset_index()
                long.columns = ["period", "group", "count"]
                long["denominator"] = long["period"].map(den).astype(int)
                long["known_denominator"] = long["period"].map(kden).astype(int)
                long["field"], long["level"], long["unit"], long["multi"] = (
                    field, level, unit, multi)
                frames.append(long)
    if not frames:
        return pd.DataFrame(columns=_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["count"] = out["count"].astype(int)
    n, k, d = out["count"], out["known_denominator"], out["denominator"]
    is_unk = out["group"] == "unknown"
    out["share"] = np.where(d > 0, n / d.where(d > 0, 1), np.nan)
    out["share_known"] = np.where((k > 0) & ~is_unk, n / k.where(k > 0, 1), np.nan)
    out["ci_low"], out["ci_high"] = wilson_ci(n.to_numpy(), d.to_numpy())
    lo, hi = wilson_ci(n.to_numpy(), k.to_numpy())
    out["ci_known_low"] = np.where(is_unk, np.nan, lo)
    out["ci_known_high"] = np.where(is_unk, np.nan, hi)
    out["group"] = out["group"].astype(str)
    out["period"] = out["period"].astype(str)
    return out[_COLUMNS]


def composition(dataset, *, fields=None, unit=("visits", "people"), period: str = "year",
                year_start_month: int = 1, levels=("reporting", "detail")) -> pd.DataFrame:
    """Composition of the public per period for each profile field, per visit and per person.

    Parameters
    ----------
    dataset : Dataset
    fields : list of str, optional
        Profile fields (default: every field of ``schema.PROFILE_FIELDS``).
    unit : str or sequence of {"visits", "people"}
        Counting units (see the module docstring for the people rule).
    period, year_start_month
        As in :func:`qsp_eval.attendance.by_period`; every period between the
        first and last scheduled session appears (denominator 0, NaN shares
        when nobody came).
    levels : sequence of {"reporting", "detail"}
        ``"reporting"`` rows (only for fields with reporting groups in the
        configuration) and/or ``"detail"`` rows (detailed codes).

    Returns
    -------
    pandas.DataFrame
        ``period``, ``field``, ``level``, ``group`` (code; ``"unknown"`` = not
        stated; every code of the vocabulary appears, with 0 when absent),
        ``unit``, ``count``, ``denominator`` (all units of the period),
        ``known_denominator`` (units with a known answer), ``share``
        (``count / denominator``), ``share_known`` (``count /
        known_denominator``, NaN on the unknown row), ``ci_low``/``ci_high``
        (Wilson 95 % for ``share``), ``ci_known_low``/``ci_known_high`` (Wilson
        95 % for ``share_known``), ``multi`` (True for multi-select fields,
        whose shares do not sum to 1).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...                   visits=[{"date": "2023-01-04", "gender": "non_binary", "person_id": "a"},
    ...                           {"date": "2023-01-04", "person_id": "b"}])
    >>> r = composition(ds, fields=["gender"], unit="people")
    >>> r.loc[r["group"] == "non_binary", ["count", "denominator", "known_denominator"]].values.tolist()
    [[1, 2, 1]]
    """
    from .attendance import _dataset_periods, assign_period

    fields, units = _check(fields, unit)
    labels = _dataset_periods(dataset, period, year_start_month)
    v = _held_visits(dataset)
    v["_p"] = assign_period(v["date"], period, year_start_month=year_start_month).to_numpy()
    return _compose(v, labels, fields, units, dataset.config, levels)


def newcomers_profile(dataset, *, fields=None, period: str = "year", year_start_month: int = 1,
                      levels=("reporting", "detail")) -> pd.DataFrame:
    """Profile of first-time visitors per period (who the programme is newly reaching).

    Uses the visits flagged ``first_visit == "yes"`` (one per newcomer, so the
    count is of people, ``unit == "people"``); visits whose flag is ``"no"`` or
    ``"unknown"`` are left out.  Same columns as :func:`composition`, plus
    ``population == "newcomers"``.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...                   visits=[{"date": "2023-01-04", "first_visit": "yes", "chemsex": "yes"},
    ...                           {"date": "2023-01-04", "first_visit": "no", "chemsex": "no"}])
    >>> r = newcomers_profile(ds, fields=["chemsex"])
    >>> r.loc[r["group"] == "yes", ["count", "denominator"]].values.tolist()
    [[1, 1]]
    """
    from .attendance import _dataset_periods, assign_period

    fields = _check(fields)
    labels = _dataset_periods(dataset, period, year_start_month)
    v = _held_visits(dataset)
    v = v.loc[v["first_visit"] == "yes"].copy()
    v["_p"] = assign_period(v["date"], period, year_start_month=year_start_month).to_numpy()
    out = _compose(v, labels, fields, ["visits"], dataset.config, levels)
    out["unit"] = "people"
    out["population"] = "newcomers"
    return out


def group_share(comp: pd.DataFrame, field: str, group: str, *, unit: str = "people",
                level: str | None = None) -> pd.DataFrame:
    """Share of one group over the periods, with its Wilson intervals (a slice of a composition).

    Parameters
    ----------
    comp : DataFrame
        Result of :func:`composition` (or :func:`newcomers_profile`).
    field, group : str
        E.g. ``"gender"``, ``"tanb"``.
    unit : {"people", "visits"}
    level : {"reporting", "detail"}, optional
        Default: ``"reporting"`` when ``group`` is a reporting group, else ``"detail"``.

    Returns
    -------
    pandas.DataFrame
        The rows of ``comp`` for that field, group and unit, one per period in
        period order (same columns).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}],
    ...                   visits=[{"date": "2023-01-04", "chemsex": "yes", "person_id": "a"}])
    >>> group_share(composition(ds), "chemsex", "yes")["share"].tolist()
    [1.0]
    """
    sub = comp.loc[(comp["field"] == field) & (comp["unit"] == unit)]
    if level is None:
        rep = sub.loc[(sub["level"] == "reporting") & (sub["group"] == group)]
        level = "reporting" if len(rep) else "detail"
    out = sub.loc[(sub["level"] == level) & (sub["group"] == group)]
    if out.empty:
        raise ParameterError(
            f"Groupe « {group} » introuvable pour le champ « {field} » ({unit}).",
            f"Group '{group}' not found for field '{field}' ({unit}).",
        )
    return out.reset_index(drop=True)


def profile_tests(comp: pd.DataFrame, *, fields=None, unit: str = "people",
                  level: str | None = None, among: str = "known", groups=None,
                  n_sim: int = 20000, seed: int = 20231, skip=None) -> pd.DataFrame:
    """Trend and homogeneity tests of profile shares across ordered periods.

    For each field (single-choice fields only) and unit:

    * one homogeneity test of the whole distribution across periods (``group ==
      "*"``): Pearson chi-square, or the Fisher–Freeman–Halton exact test by
      Monte Carlo when an expected count is below 5
      (:func:`qsp_eval.stats.homogeneity_test`);
    * for each group: the Cochran–Armitage test for a linear trend in its share
      (period scores 0, 1, 2... in order), and the homogeneity test of the 2 × k
      table group vs. the rest.

    ``level`` defaults to the reporting groups for fields that have them, the
    detailed codes otherwise.  Periods with no unit are dropped.  ``among == "known"`` (default) leaves
    the ``unknown`` answers out of the tables (the question is whether the
    known public changes; a change in recording would otherwise look like a
    shift); ``among == "all"`` keeps "not stated" as a category.

    ``skip`` (optional) is called once with the rows to compute (columns ``field``,
    ``unit``, ``level``, ``among``, ``group``) and returns a boolean per row: ``True``
    rows are not computed (``test`` empty, statistics NaN) -- the report passes the
    disclosure check's verdict (:meth:`qsp_eval.publish.Publisher.withheld_tests`), so
    tests it would withhold anyway cost nothing; the published table is the same.

    Returns
    -------
    pandas.DataFrame
        ``field``, ``group``, ``unit``, ``level``, ``among``, ``test``
        ("cochran_armitage", "chi_square" or "fisher_freeman_halton_mc"),
        ``statistic`` (z for Cochran–Armitage, X² otherwise), ``df``,
        ``p_value``, ``p_value_holm`` (Holm–Bonferroni adjustment over every
        test of the returned table: many tests are run on the same few people,
        so about one in twenty unadjusted p-values falls under 0.05 by chance),
        ``n``, ``periods`` (number of periods used).

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2022-01-05"}, {"date": "2023-01-04"}],
    ...   visits=[{"date": "2022-01-05", "chemsex": c} for c in ["yes"] * 6 + ["no"] * 4]
    ...        + [{"date": "2023-01-04", "chemsex": c} for c in ["yes"] * 2 + ["no"] * 8])
    >>> t = profile_tests(composition(ds, fields=["chemsex"], unit="visits"), unit="visits")
    >>> sorted(set(t["test"]))
    ['cochran_armitage', 'fisher_exact']
    """
    from .stats import cochran_armitage, holm_adjust, homogeneity_test

    if among not in ("known", "all"):
        raise ParameterError("among : « known » ou « all ».", "among: 'known' or 'all'.")
    sub = comp.loc[(comp["unit"] == unit) & ~comp["multi"].astype(bool)]
    if fields is not None:
        sub = sub.loc[sub["field"].isin(list(fields))]
    plan = []  # (field, level, table, base) computed once, then the rows
    for field, f in sub.groupby("field", sort=False):
        lev = level
        if lev is None:
            lev = "reporting" if (f["level"] == "reporting").any() else "detail"
        f = f.loc[f["level"] == lev]
        if among == "known":
            f = f.loc[f["group"] != "unknown"]
        tab = f.pivot_table(index="group", columns="period", values="count", aggfunc="sum",
                            sort=False)
        order = list(dict.fromkeys(f["period"]))
        tab = tab.reindex(columns=order).fillna(0)
        tab = tab.loc[:, tab.sum(axis=0) > 0]
        base = {"field": field, "unit": unit, "level": lev, "among": among,
                "periods": tab.shape[1]}
        plan.append((base, tab))
    keys = [{**base, "group": g} for base, tab in plan
            for g in ["*"] + [g for g in tab.index if groups is None or g in groups]]
    skipped = set()
    if skip is not None and keys:
        flags = skip(pd.DataFrame(keys)[["field", "unit", "level", "among", "group"]])
        skipped = {(k["field"], k["group"]) for k, s in zip(keys, flags, strict=True) if s}
    rows = []
    for base, tab in plan:
        field = base["field"]
        totals = tab.sum(axis=0).to_numpy()
        if (field, "*") in skipped:
            rows.append({**base, "group": "*", "test": None, "statistic": np.nan,
                         "df": np.nan, "p_value": np.nan, "n": int(totals.sum())})
        else:
            r = homogeneity_test(tab.to_numpy(), n_sim=n_sim, seed=seed)
            rows.append({**base, "group": "*", "test": r["test"], "statistic": r["statistic"],
                         "df": r["df"], "p_value": r["p_value"], "n": r["n"]})
        for g in tab.index:
            if groups is not None and g not in groups:
                continue
            x = tab.loc[g].to_numpy()
            if x.sum() == 0 or (field, g) in skipped:
                # a fixed row set: a missing row would tell that the group is empty
                for _ in range(2):
                    rows.append({**base, "group": g, "test": None, "statistic": np.nan,
                                 "df": np.nan, "p_value": np.nan, "n": int(totals.sum())})
                continue
            ca = cochran_armitage(x, totals)
            rows.append({**base, "group": g, "test": ca["test"], "statistic": ca["statistic"],
                         "df": 1, "p_value": ca["p_value"], "n": ca["n"]})
            h = homogeneity_test(np.vstack([x, totals - x]), n_sim=n_sim, seed=seed)
            rows.append({**base, "group": g, "test": h["test"], "statistic": h["statistic"],
                         "df": h["df"], "p_value": h["p_value"], "n": h["n"]})
    cols = ["field", "group", "unit", "level", "among", "test", "statistic", "df", "p_value",
            "p_value_holm", "n", "periods"]
    out = pd.DataFrame(rows, columns=[c for c in cols if c != "p_value_holm"])
    out.insert(cols.index("p_value_holm"), "p_value_holm", holm_adjust(out["p_value"]))
    return out


def before_after(dataset, date, *, fields=None, unit: str = "people", among: str = "known",
                 level: str = "reporting", start=None, end=None) -> pd.DataFrame:
    """Composition before vs. after a date, with the difference in shares and its interval.

    Visits strictly before ``date`` form "before", visits on or after it
    "after" (optionally limited to ``[start, date)`` and ``[date, end]``).
    People are counted once per side with their most recent known value on
    that side (a person seen on both sides counts on both).

    The difference ``share_after - share_before`` gets Newcombe's hybrid score
    interval (Newcombe 1998, method 10, :func:`qsp_eval.stats.newcombe_diff_ci`);
    ``p_value`` tests equal shares with the Pearson chi-square on the 2 × 2
    table, or the exact test when an expected count is below 5 (the test is
    named in ``test``).  The two sides are compared as independent samples,
    which is approximate for people seen on both sides.

    Parameters
    ----------
    dataset : Dataset
    date : date-like
        The change under evaluation or a context event (e.g. ``config.change.start``).
    fields : list of str, optional
    unit : {"people", "visits"}
    among : {"known", "all"}
        Denominator of the shares: units with a known answer (default) or all.
    level : {"reporting", "detail"}
    start, end : date-like, optional
        Limits of the comparison window.

    Returns
    -------
    pandas.DataFrame
        One row per field × group: ``field``, ``level``, ``group``, ``unit``,
        ``among``, ``count_before``, ``denominator_before``, ``share_before``,
        ``count_after``, ``denominator_after``, ``share_after``, ``estimate``
        (difference after - before), ``ci_low``, ``ci_high``, ``ci_method``
        ("newcombe_hybrid_score"), ``test``, ``p_value``.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-06-07"}],
    ...   visits=[{"date": "2023-01-04", "chemsex": "yes"}, {"date": "2023-06-07", "chemsex": "no"}])
    >>> r = before_after(ds, "2023-05-15", fields=["chemsex"], unit="visits")
    >>> r.loc[r["group"] == "yes", ["share_before", "share_after", "estimate"]].values.tolist()
    [[1.0, 0.0, -1.0]]
    """
    from .stats import homogeneity_test, newcombe_diff_ci

    fields, units = _check(fields, unit)
    if among not in ("known", "all"):
        raise ParameterError("among : « known » ou « all ».", "among: 'known' or 'all'.")
    cut = pd.Timestamp(date)
    v = _held_visits(dataset)
    if start is not None:
        v = v.loc[v["date"] >= pd.Timestamp(start)]
    if end is not None:
        v = v.loc[v["date"] <= pd.Timestamp(end)]
    v["_p"] = np.where(v["date"] < cut, "before", "after")
    comp = _compose(v, ["before", "after"], fields, units, dataset.config, (level,))
    if level == "reporting" and comp.empty:
        comp = _compose(v, ["before", "after"], fields, units, dataset.config, ("detail",))
    elif level == "reporting":
        missing = [f for f in fields if f not in set(comp["field"])]
        if missing:
            comp = pd.concat([comp, _compose(v, ["before", "after"], missing, units,
                                             dataset.config, ("detail",))], ignore_index=True)
    if among == "known":
        comp = comp.loc[comp["group"] != "unknown"]
    den_col = "known_denominator" if among == "known" else "denominator"
    rows = []
    for (field, lev, group), g in comp.groupby(["field", "level", "group"], sort=False):
        b = g.loc[g["period"] == "before"].iloc[0]
        a = g.loc[g["period"] == "after"].iloc[0]
        x0, n0, x1, n1 = int(b["count"]), int(b[den_col]), int(a["count"]), int(a[den_col])
        d, lo, hi = newcombe_diff_ci(x1, n1, x0, n0)
        h = homogeneity_test([[x0, x1], [n0 - x0, n1 - x1]])
        rows.append({"field": field, "level": lev, "group": group, "unit": unit, "among": among,
                     "count_before": x0, "denominator_before": n0,
                     "share_before": x0 / n0 if n0 else np.nan,
                     "count_after": x1, "denominator_after": n1,
                     "share_after": x1 / n1 if n1 else np.nan,
                     "estimate": d, "ci_low": lo, "ci_high": hi,
                     "ci_method": "newcombe_hybrid_score", "test": h["test"],
                     "p_value": h["p_value"]})
    cols = ["field", "level", "group", "unit", "among", "count_before", "denominator_before",
            "share_before", "count_after", "denominator_after", "share_after", "estimate",
            "ci_low", "ci_high", "ci_method", "test", "p_value"]
    return pd.DataFrame(rows, columns=cols)


#: Derived profile fields of :func:`before_after_events` (not columns of the data):
#: code -> (French noun phrase, English noun phrase).
DERIVED_FIELDS = {
    "chemsex_cis_men": ("hommes cis pratiquant le chemsex", "cis men practising chemsex"),
}
#: Columns whose groups add up to a published total in :func:`before_after_events`
#: (pass them as ``by`` when publishing the table).
BEFORE_AFTER_BY = ["event", "field", "level", "unit", "period"]
_BA_COLUMNS = ["event", "event_date", "event_label_fr", "event_label_en", "event_kind",
               "field", "level", "group", "unit", "among", "period", "period_start",
               "period_end", "window", "count", "denominator", "share", "ci_low", "ci_high",
               "difference", "diff_ci_low", "diff_ci_high", "diff_ci_method", "test", "p_value"]
_BA_PAIR = ["difference", "diff_ci_low", "diff_ci_high", "p_value"]


def _cis_men_chemsex(v: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Per side (``_p``): count of units that are cis men practising chemsex, and all units."""
    if unit == "visits":
        flag = ((v["gender"].astype("object") == "cis_man")
                & (v["chemsex"].astype("object") == "yes")).to_numpy()
        sides = v["_p"].to_numpy()
    else:
        w = v.loc[v["person_id"].notna()].sort_values("date", kind="stable")
        persons = w.groupby(["_p", "person_id"], sort=False).size().index

        def last_known(col):
            x = w[col].astype("object").fillna("unknown")
            known = w.loc[(x != "unknown").to_numpy()]
            return known.groupby(["_p", "person_id"], sort=False)[col].last().reindex(persons)

        g, c = last_known("gender"), last_known("chemsex")
        flag = ((g.astype("object") == "cis_man") & (c.astype("object") == "yes")).to_numpy()
        sides = persons.get_level_values(0).to_numpy()
    out = []
    for side in ("before", "after"):
        m = sides == side
        out.append({"_p": side, "count": int(flag[m].sum()), "denominator": int(m.sum())})
    return pd.DataFrame(out)


def cis_men_chemsex_by_year(dataset) -> dict:
    """Per calendar year, the distinct people counted in ``chemsex_cis_men`` (group "yes").

    The same rule as :func:`before_after_events` (last known gender ``cis_man`` and last
    known chemsex answer ``yes`` within the year). The publisher uses it as a floor of
    the year's "cis men" and "chemsex: yes" people cells: a before/after side aligned with
    the year publishes this count, so hiding one of those cells next to it would leave
    a reader a narrow range.

    Examples
    --------
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}], visits=[
    ...     {"date": "2023-01-04", "person_id": "a", "gender": "cis_man", "chemsex": "yes"}])
    >>> cis_men_chemsex_by_year(ds)
    {'2023': 1}
    """
    v = _held_visits(dataset)
    w = v.loc[v["person_id"].notna(), ["date", "person_id", "gender", "chemsex"]]
    if not len(w):
        return {}
    w = w.sort_values("date", kind="stable").assign(_p=w["date"].dt.year.astype(str))
    persons = w.groupby(["_p", "person_id"], sort=False).size().index

    def last_known(col):
        x = w[col].astype("object")
        known = w.loc[(x.notna() & (x != "unknown")).to_numpy()]
        return known.groupby(["_p", "person_id"], sort=False)[col].last().reindex(persons)

    flag = ((last_known("gender").astype("object") == "cis_man")
            & (last_known("chemsex").astype("object") == "yes"))
    counts = flag.groupby(level=0, sort=True).sum()
    return {str(y): int(n) for y, n in counts.items()}


def _event_list(dataset, events, include_change):
    cfg = dataset.config
    evs = list(getattr(cfg, "events", ()) or ()) if events is None else list(events)
    out = [(pd.Timestamp(e.date), e.label_fr, e.label_en, getattr(e, "kind", "context"))
           for e in evs]
    change = getattr(cfg, "change", None)
    if include_change and change is not None:
        out.append((pd.Timestamp(change.start), change.label_fr, change.label_en, "change"))
    seen, uniq = set(), []
    for e in sorted(out, key=lambda e: e[0]):
        if (e[0], e[3]) not in seen:
            seen.add((e[0], e[3]))
            uniq.append(e)
    return uniq


def _year_cut(when: pd.Timestamp) -> pd.Timestamp:
    """The 1 January nearest to ``when`` (a tie goes to the earlier one)."""
    jan = pd.Timestamp(year=when.year, month=1, day=1)
    nxt = pd.Timestamp(year=when.year + 1, month=1, day=1)
    return jan if (when - jan) <= (nxt - when) else nxt


def _window_label(held: pd.Series, first: pd.Timestamp | None, last: pd.Timestamp | None) -> str:
    """Calendar years a side covers (``"2023"``, ``"2021-2022"``), from its held sessions."""
    d = held
    if first is not None:
        d = d.loc[d >= first]
    if last is not None:
        d = d.loc[d <= last]
    if not len(d):
        return ""
    a, b = int(d.min().year), int(d.max().year)
    return str(a) if a == b else f"{a}-{b}"


def before_after_events(dataset, events=None, *, fields=None, derived=("chemsex_cis_men",),
                        unit: str = "people", among: str = "all", level: str = "reporting",
                        window_years: int | None = None, include_change: bool = True,
                        rules=None, align: str | None = "year") -> pd.DataFrame:
    """Composition before vs. after each dated event, as one tidy long table.

    Runs :func:`before_after` around each event (the context events of
    ``config.events`` and, with ``include_change``, the start of the change
    under evaluation) and stacks the results, one row per event × field ×
    group × side.  The difference after − before, its Newcombe hybrid score
    95 % interval (Newcombe 1998, method 10,
    :func:`qsp_eval.stats.newcombe_diff_ci`) and the test of equal shares
    (chi-square, or Fisher's exact test when an expected count is below 5)
    are repeated on both rows of a pair.  A difference around a date is an
    association: the event coincides with it, it is not shown to cause it
    (other things change at the same time, e.g. theming from 2024).

    Derived field ``chemsex_cis_men`` (group ``"yes"``; ``"no"`` is everybody
    else): a person whose most recent known gender on that side is
    ``cis_man`` **and** whose most recent known chemsex answer on that side is
    ``yes``.  Its denominator is **all distinct people on that side**
    (``among == "all"``), unknown answers included: people whose gender or
    chemsex answer is not stated count as "no", so the share is a lower bound
    of the true share.  With ``unit="visits"``, visits instead of people.

    Parameters
    ----------
    dataset : Dataset
    events : sequence of Event, optional
        Default ``dataset.config.events``.  ``[]`` and no change: empty table.
    fields : list of str, optional
        Profile fields (default: all of ``schema.PROFILE_FIELDS``).
    derived : sequence of str
        Derived fields of :data:`DERIVED_FIELDS` to add (``()`` for none).
    unit, among, level
        As in :func:`before_after` (``among`` applies to the data fields; the
        derived field is always among all).
    window_years : int, optional
        Compare only the ``window_years`` years before the date with the
        ``window_years`` years from the date on (default: all the data).
    align : {"year", None}
        ``"year"`` (default, disclosure by design): the sides are cut at the
        1 January nearest to the event, so that with ``window_years=1`` each
        side is exactly one calendar year, the same people as the year's
        column of the profile tables (no new cell for a reader to subtract:
        windows that straddle the published years would give differences of
        published cells, e.g. "the 2024 sessions minus the first one").
        The comparison then says which years it compares (``window``), not the
        exact day of the event. ``None``: cut at the event date itself.
    include_change : bool
        Add ``config.change.start`` as an event (``event_kind == "change"``).
    rules : DisclosureRules, optional
        When given (``pub.rules``), the pair columns ``difference``,
        ``diff_ci_low``, ``diff_ci_high`` and ``p_value`` are blanked for a
        group where either side would be hidden or have its share withheld by
        :func:`qsp_eval.disclosure.protect_table` with ``by=BEFORE_AFTER_BY``
        (the same call the publisher makes): a difference shown next to one
        published side would give the hidden side back.

    Returns
    -------
    pandas.DataFrame
        ``event`` (ISO date, the key of the event; "(change)" appended when the
        change starts on the day of another event), ``event_date``, ``event_label_fr``,
        ``event_label_en``, ``event_kind`` ("context" or "change"), ``field``,
        ``level``, ``group``, ``unit``, ``among``, ``period`` ("before" or
        "after"), ``period_start``, ``period_end`` (first and last held session
        of the side, ISO dates), ``count``, ``denominator``, ``share``,
        ``window`` (calendar years of the side, e.g. ``"2023"``),
        ``ci_low``/``ci_high`` (Wilson 95 % for ``share``), ``difference``
        (share after − share before), ``diff_ci_low``, ``diff_ci_high``,
        ``diff_ci_method`` ("newcombe_hybrid_score"), ``test``, ``p_value``.

    Examples
    --------
    >>> from qsp_eval.schema import Event
    >>> from qsp_eval.testing import make_dataset
    >>> ds = make_dataset([{"date": "2023-01-04"}, {"date": "2023-06-07"}],
    ...   visits=[{"date": "2023-01-04", "person_id": "a", "gender": "cis_man", "chemsex": "yes"},
    ...           {"date": "2023-06-07", "person_id": "b", "gender": "cis_man", "chemsex": "no"}])
    >>> ev = [Event(pd.Timestamp("2023-05-15").date(), "Ouverture", "Opening")]
    >>> r = before_after_events(ds, ev, fields=[], align=None)
    >>> r.loc[r["group"] == "yes", ["period", "count", "denominator", "difference"]].values.tolist()
    [['before', 1, 1, -1.0], ['after', 0, 1, -1.0]]
    >>> r = before_after_events(ds, ev, fields=[])  # cut at 1 January 2023: 2022 vs 2023
    >>> r.loc[r["group"] == "yes", ["window", "count", "denominator"]].values.tolist()
    [['', 0, 0], ['2023', 1, 2]]
    """
    from .stats import homogeneity_test, newcombe_diff_ci, wilson_ci

    fields = _check(fields)
    bad = [d for d in derived if d not in DERIVED_FIELDS]
    if bad:
        raise ParameterError(f"Champ dérivé inconnu : {', '.join(bad)}.",
                             f"Unknown derived field: {', '.join(bad)}.")
    if window_years is not None and int(window_years) < 1:
        raise ParameterError("window_years : un entier ≥ 1.", "window_years: an integer ≥ 1.")
    frames = []
    held_dates = dataset.sessions.loc[dataset.sessions["status"] == "held", "date"]
    used: set = set()
    for when, lab_fr, lab_en, kind in _event_list(dataset, events, include_change):
        key = when.date().isoformat()
        key = key if key not in used else f"{key} ({kind})"  # two events on one day
        used.add(key)
        event_day = when
        if align == "year":
            when = _year_cut(when)
        elif align is not None:
            raise ParameterError("align : « year » ou vide.", "align: 'year' or None.")
        start = end = None
        if window_years is not None:
            start = when - pd.DateOffset(years=int(window_years))
            end = when + pd.DateOffset(years=int(window_years)) - pd.Timedelta(days=1)
        d = held_dates
        if start is not None:
            d = d.loc[(d >= start) & (d <= end)]
        limits, windows = {}, {}
        for side, m in (("before", d < when), ("after", d >= when)):
            sd = d.loc[m]
            limits[side] = ((sd.min().date().isoformat(), sd.max().date().isoformat())
                            if len(sd) else ("", ""))
            windows[side] = _window_label(sd, None, None)
        rows = []
        if fields:
            ba = before_after(dataset, when, fields=fields, unit=unit, among=among,
                              level=level, start=start, end=end)
            for r in ba.to_dict("records"):
                rows.append(r)
        if derived:
            v = _held_visits(dataset)
            if start is not None:
                v = v.loc[(v["date"] >= start) & (v["date"] <= end)]
            v["_p"] = np.where(v["date"] < when, "before", "after")
            for name in derived:
                c = _cis_men_chemsex(v, unit).set_index("_p")
                x0, n0 = int(c.loc["before", "count"]), int(c.loc["before", "denominator"])
                x1, n1 = int(c.loc["after", "count"]), int(c.loc["after", "denominator"])
                for grp, (y0, y1) in (("yes", (x0, x1)), ("no", (n0 - x0, n1 - x1))):
                    diff, lo, hi = newcombe_diff_ci(y1, n1, y0, n0)
                    h = homogeneity_test([[y0, y1], [n0 - y0, n1 - y1]])
                    rows.append({"field": name, "level": "derived", "group": grp, "unit": unit,
                                 "among": "all", "count_before": y0, "denominator_before": n0,
                                 "count_after": y1, "denominator_after": n1, "estimate": diff,
                                 "ci_low": lo, "ci_high": hi,
                                 "ci_method": "newcombe_hybrid_score", "test": h["test"],
                                 "p_value": h["p_value"]})
        for r in rows:
            for side in ("before", "after"):
                x, n = int(r[f"count_{side}"]), int(r[f"denominator_{side}"])
                lo, hi = wilson_ci(x, n)
                frames.append({
                    "event": key, "event_date": event_day.date().isoformat(),
                    "event_label_fr": lab_fr, "event_label_en": lab_en, "event_kind": kind,
                    "field": r["field"], "level": r["level"], "group": r["group"],
                    "unit": r["unit"], "among": r["among"], "period": side,
                    "period_start": limits[side][0], "period_end": limits[side][1],
                    "window": windows[side],
                    "count": x, "denominator": n, "share": x / n if n else np.nan,
                    "ci_low": lo if n else np.nan, "ci_high": hi if n else np.nan,
                    "difference": r["estimate"], "diff_ci_low": r["ci_low"],
                    "diff_ci_high": r["ci_high"], "diff_ci_method": r["ci_method"],
                    "test": r["test"], "p_value": r["p_value"]})
    out = pd.DataFrame(frames, columns=_BA_COLUMNS)
    for c in ("count", "denominator"):
        out[c] = out[c].astype(int)
    for c in ("share", "ci_low", "ci_high", *_BA_PAIR):
        out[c] = out[c].astype(float)
    if rules is not None and len(out):
        out = _blank_unpublished_pairs(out, rules)
    return out


def _blank_unpublished_pairs(out: pd.DataFrame, rules) -> pd.DataFrame:
    """Blank the pair columns where either side is hidden by the publisher's disclosure call.

    The test name goes too (chi-square or exact test tells whether an expected
    count reaches 5). With a rounding base (``rules.round_to``, strict preset)
    the difference, its interval and the p-value are recomputed from the
    published (rounded) counts and denominators and rounded to whole
    percentage points (p-value: two decimals): computed on exact counts, they
    would undo the rounding.
    """
    from .disclosure import blank_pairs, protect_table

    prot = protect_table(out, rules=rules, kind="person", by=BEFORE_AFTER_BY)
    out = out.copy()
    if getattr(rules, "round_to", None):
        from .stats import homogeneity_test, newcombe_diff_ci

        keys = ["event", "field", "level", "group", "unit"]
        cnt = pd.to_numeric(prot["count"], errors="coerce")
        den = pd.to_numeric(prot["denominator"], errors="coerce")
        for _, idx in out.groupby(keys, sort=False).indices.items():
            side = out["period"].to_numpy()[idx]
            if set(side) != {"before", "after"} or len(idx) != 2:
                out.loc[out.index[idx], _BA_PAIR] = np.nan
                continue
            b = idx[list(side).index("before")]
            a = idx[list(side).index("after")]
            x0, n0, x1, n1 = cnt.iloc[b], den.iloc[b], cnt.iloc[a], den.iloc[a]
            if any(pd.isna(v) for v in (x0, n0, x1, n1)) or min(n0, n1) <= 0:
                out.loc[out.index[idx], _BA_PAIR] = np.nan
                continue
            x0, n0, x1, n1 = (int(v) for v in (x0, n0, x1, n1))
            x0, x1 = min(x0, n0), min(x1, n1)
            d, lo, hi = newcombe_diff_ci(x1, n1, x0, n0)
            h = homogeneity_test([[x0, x1], [n0 - x0, n1 - x1]])
            vals = [round(d, 2), round(lo, 2), round(hi, 2), round(float(h["p_value"]), 2)]
            out.loc[out.index[idx], _BA_PAIR] = vals
            out.loc[out.index[idx], "test"] = h["test"]
    return blank_pairs(out, prot, keys=["event", "field", "level", "group", "unit"],
                       columns=[*_BA_PAIR, "test"])
