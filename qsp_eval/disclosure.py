"""Disclosure control at the publication boundary: nothing published can single out a person.

Every table, figure, sentence and file that leaves the workbench goes through
this module. Analysis modules keep exact counts internally; this module
decides what may be published and how it is shown.

What it does
------------
- :func:`rules_from_config` reads the ``disclosure:`` section of
  ``evaluation.yml`` into :class:`DisclosureRules` (presets ``default`` and
  ``strict``, with overrides).
- :func:`protect_table` applies the rules to one long-form table of people by
  a sensitive attribute: **primary suppression** of small cells (1 to
  threshold - 1, counted on distinct people when the caller gives them), of
  dominated cells (one person accounts for most of the visits) and of 100 %
  cells of small groups; **secondary suppression** so that no suppressed cell
  can be recovered by subtraction from a published margin (optionally after
  merging small categories into reporting groups); blanking of shares and
  intervals that would disclose; optional rounding to base 5.
- :func:`protect_tables` keeps several tables of one report consistent (a
  cell hidden in one table is hidden wherever the same cell appears).
- :func:`protect_tests` withholds test statistics and p-values computed from
  hidden cells (a statistic is a function of its counts: trying each value a
  hidden cell may take gives it back); :func:`protect_field_counts` hides the
  counts of a table by field without groups (completeness) that are small or
  hidden in the profile tables.
- :func:`format_count`, :func:`format_share`, :func:`publishable_sentence`
  and :func:`check_text` serve the write-ups.
- :func:`scan_outputs` re-scans a finished output folder (used by
  ``qsp-eval check-outputs``).

Attacker model (what "cannot be recovered" means)
-------------------------------------------------
The attacker knows every published cell exactly, every margin (the sum of the
cells of each group named in ``by`` / ``margins``, whether or not it is
printed), that a cell shown ``< t`` lies in ``0 .. t-1`` and that a cell shown
``n.d.`` lies in ``t .. infinity``, that counts are whole numbers, and, for a
table with ``detail`` and ``reporting`` levels, that a reporting group is the
sum of its members. Secondary suppression guarantees that, under this model,
every suppressed cell can take at least two values (exact rule on each single
margin; exact integer programming, ``scipy.optimize.milp``, wherever margins
interact). Where no choice of cells can do it (a group with one non-zero
cell), the group's margin is hidden too. Rounding to base 5 is an extra layer
on top of that guarantee, not a part of it. See ``docs/disclosure.md``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ParameterError
from .i18n import tr
from .schema import SENSITIVE_FIELDS

__all__ = [
    "PRESETS",
    "MANIFEST_NAME",
    "KEY_COLUMNS",
    "DisclosureRules",
    "rules_from_config",
    "rule_statement",
    "protect_table",
    "protect_tables",
    "protect_wide",
    "protect_tests",
    "protect_field_counts",
    "attack_table",
    "blank_pairs",
    "attack_folder",
    "report_model",
    "ReportModel",
    "intruder_findings",
    "merge_map",
    "cell_contributions",
    "format_count",
    "format_share",
    "publishable_sentence",
    "Finding",
    "check_text",
    "scan_outputs",
    "manifest",
]

#: Name of the optional manifest an output folder may carry (see :func:`manifest`).
MANIFEST_NAME = "disclosure.json"

#: Columns that identify a cell across the tables of one report.
KEY_COLUMNS: tuple[str, ...] = ("period", "site", "field", "group", "unit", "survey", "question")

NBSP = "\u00a0"


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DisclosureRules:
    """The disclosure rules applied to every output.

    Attributes
    ----------
    preset : str
        ``"default"`` or ``"strict"`` (the preset the rules started from).
    min_cell : int
        Threshold ``t``: a person-attribute cell counting 1 to ``t - 1``
        people is suppressed and shown ``"< t"``. At least 3.
    round_to : int or None
        Published person-attribute counts (and denominators) are rounded to a
        multiple of this base (``None``: no rounding).
    dominance : float or None
        A cell where one person accounts for more than this share of its count
        (e.g. of its visits) is suppressed. ``None`` switches the rule off.
    min_denominator : int
        Shares and intervals are published only when their denominator is at
        least this.
    protect_activity : bool
        Apply the rules to activity counts too (sessions held, visits,
        material, tests done). Off by default: these are not about persons.
    no_extreme_shares : bool
        Do not publish 0 % or 100 % on a person attribute of a group smaller
        than ``small_group`` (the 100 % cell itself is suppressed).
    small_group : int
        Size under which a group is "small" for ``no_extreme_shares``.
    secondary : bool
        Secondary suppression (always on in real use; ``False`` exists only to
        show, in tests, what an attacker recovers without it).
    """

    preset: str = "default"
    min_cell: int = 5
    round_to: int | None = None
    dominance: float | None = 0.5
    min_denominator: int = 5
    protect_activity: bool = False
    no_extreme_shares: bool = True
    small_group: int = 20
    secondary: bool = True

    @property
    def threshold(self) -> int:
        """Alias of ``min_cell``."""
        return self.min_cell

    def hidden_label(self) -> str:
        """Text shown instead of a small count, e.g. ``"< 5"``."""
        return f"<{NBSP}{self.min_cell}"


#: Named presets: the values each starts from.
PRESETS: dict[str, dict] = {
    "default": {"min_cell": 5, "round_to": None, "dominance": 0.5, "min_denominator": 5,
                "protect_activity": False, "no_extreme_shares": True, "small_group": 20},
    "strict": {"min_cell": 11, "round_to": 5, "dominance": 0.5, "min_denominator": 11,
               "protect_activity": False, "no_extreme_shares": True, "small_group": 44},
}

_KEYS = ("preset", "min_cell", "round_to", "dominance", "min_denominator", "protect_activity",
         "no_extreme_shares", "small_group")


def _bad(key, value, fr, en):
    return ParameterError(
        f"evaluation.yml, disclosure.{key} = {value!r} : {fr}",
        f"evaluation.yml, disclosure.{key} = {value!r}: {en}",
    )


def _as_int(key, value, lo):
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value \
            or value < lo:
        raise _bad(key, value, f"un nombre entier d'au moins {lo} est attendu",
                   f"a whole number of at least {lo} is expected")
    return int(value)


def _as_bool(key, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("oui", "yes", "true", "vrai"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("non", "no", "false", "faux"):
        return False
    raise _bad(key, value, "oui/non (true/false) est attendu", "yes/no (true/false) is expected")


def rules_from_config(disclosure: dict | None = None) -> DisclosureRules:
    """Build :class:`DisclosureRules` from the ``disclosure:`` section of ``evaluation.yml``.

    Parameters
    ----------
    disclosure : dict or None
        ``{"preset": "default" | "strict", <override>: value, ...}``. Overrides:
        ``min_cell``, ``round_to`` (``null`` or a base such as 5),
        ``dominance`` (a share such as 0.5, or a percentage such as 50),
        ``min_denominator``, ``protect_activity``, ``no_extreme_shares``,
        ``small_group``. An :class:`~qsp_eval.schema.EvaluationConfig` is
        accepted too (its ``disclosure`` attribute is used). ``None`` or
        ``{}`` gives the default preset. When ``min_cell`` is overridden and
        ``min_denominator`` / ``small_group`` are not, they follow it
        (``min_denominator = min_cell``, ``small_group = 4 * min_cell``).

    Returns
    -------
    DisclosureRules

    Raises
    ------
    qsp_eval.errors.ParameterError
        Unknown preset or key, or a value of the wrong type (message in
        French and English naming the key).

    Examples
    --------
    >>> rules_from_config(None).min_cell
    5
    >>> r = rules_from_config({"preset": "strict"})
    >>> r.min_cell, r.round_to
    (11, 5)
    >>> rules_from_config({"min_cell": 10}).min_denominator
    10
    """
    if disclosure is not None and not isinstance(disclosure, Mapping):
        disclosure = getattr(disclosure, "disclosure", None)
    d = dict(disclosure or {})
    unknown = sorted(set(d) - set(_KEYS))
    if unknown:
        raise ParameterError(
            f"evaluation.yml, section disclosure : clé(s) inconnue(s) {', '.join(unknown)} "
            f"(clés possibles : {', '.join(_KEYS)})",
            f"evaluation.yml, disclosure section: unknown key(s) {', '.join(unknown)} "
            f"(allowed keys: {', '.join(_KEYS)})",
        )
    preset = str(d.get("preset") or "default").strip().lower()
    if preset not in PRESETS:
        raise _bad("preset", preset, f"préréglage inconnu (possibles : {', '.join(PRESETS)})",
                   f"unknown preset (allowed: {', '.join(PRESETS)})")
    v = dict(PRESETS[preset])
    if "min_cell" in d:
        v["min_cell"] = _as_int("min_cell", d["min_cell"], 3)
        v["min_denominator"] = v["min_cell"]
        v["small_group"] = 4 * v["min_cell"]
    if "min_denominator" in d:
        v["min_denominator"] = _as_int("min_denominator", d["min_denominator"], 1)
    if "small_group" in d:
        v["small_group"] = _as_int("small_group", d["small_group"], 1)
    if "round_to" in d:
        r = d["round_to"]
        v["round_to"] = None if r in (None, 0, 1, False) else _as_int("round_to", r, 2)
    if "dominance" in d:
        x = d["dominance"]
        if x is None or x is False:
            v["dominance"] = None
        else:
            if isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x <= 100:
                raise _bad("dominance", x, "une part entre 0 et 1 (ou un pourcentage) est attendue",
                           "a share between 0 and 1 (or a percentage) is expected")
            v["dominance"] = float(x) / 100 if x > 1 else float(x)
    for key in ("protect_activity", "no_extreme_shares"):
        if key in d:
            v[key] = _as_bool(key, d[key])
    return DisclosureRules(preset=preset, **v)


def rule_statement(rules: DisclosureRules, lang: str = "fr") -> str:
    """One paragraph stating the rules applied, for the report and the write-ups.

    Examples
    --------
    >>> "5" in rule_statement(DisclosureRules(), "en")
    True
    """
    t = rules.min_cell
    s = tr(
        f"Règle de confidentialité appliquée (préréglage « {rules.preset} ») : dans les tableaux "
        f"de personnes selon une caractéristique sensible, les effectifs de 1 à {t - 1} sont "
        f"masqués et notés « < {t} » ; d'autres cases sont masquées (« n.d. ») pour qu'aucune "
        f"case masquée ne puisse être retrouvée par soustraction ; les pourcentages ne sont "
        f"donnés que si le dénominateur atteint {rules.min_denominator}.",
        f"Confidentiality rule applied (preset '{rules.preset}'): in tables of people by a "
        f"sensitive characteristic, counts from 1 to {t - 1} are hidden and shown as '< {t}'; "
        f"further cells are hidden ('[c]') so that no hidden cell can be recovered by "
        f"subtraction; percentages are given only when the denominator is at least "
        f"{rules.min_denominator}.",
        lang,
    )
    if rules.dominance is not None:
        pct = _pct_text(rules.dominance * 100, lang)
        s += tr(f" Une case dont une seule personne représente plus de {pct} est masquée.",
                f" A cell where one person accounts for more than {pct} is hidden.", lang)
    if rules.no_extreme_shares:
        s += tr(f" Pas de 0 % ni de 100 % sur un groupe de moins de {rules.small_group} "
                "personnes.",
                f" No 0% or 100% on a group of fewer than {rules.small_group} people.", lang)
    if rules.round_to:
        s += tr(f" Les effectifs publiés sont arrondis à {rules.round_to} près.",
                f" Published counts are rounded to the nearest {rules.round_to}.", lang)
    if not rules.protect_activity:
        s += tr(" Les chiffres d'activité (permanences, passages, matériel, dépistages) sont "
                "publiés tels quels.",
                " Activity figures (sessions, visits, material, tests) are published as they "
                "are.", lang)
    return s


# ---------------------------------------------------------------------------
# Small numeric helpers
# ---------------------------------------------------------------------------
def _isna(x) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN
    except (TypeError, ValueError):
        pass
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _round_base(x: float, base: int) -> int:
    return int(base * math.floor(x / base + 0.5))


def _hidden_text(true_count, rules: DisclosureRules, lang: str) -> str:
    """Display of a suppressed cell: ``< t`` when its true value is under t, else ``n.d.``."""
    if true_count is not None and not _isna(true_count) and float(true_count) >= rules.min_cell:
        return tr("n.d.", "[c]", lang)
    return rules.hidden_label()


def _pct_text(value: float, lang: str, decimals: int = 0) -> str:
    txt = f"{value:.{decimals}f}"
    if lang == "fr":
        return txt.replace(".", ",") + NBSP + "%"
    return txt + "%"


# ---------------------------------------------------------------------------
# Secondary suppression engine
# ---------------------------------------------------------------------------
_BIG = 10**9


def _bounds(true_counts, t, any_value=False):
    """Attacker bounds of a suppressed cell from how it is displayed.

    ``any_value``: every hidden cell is shown ``n.d.`` whatever its value (0 .. inf).
    """
    lo, hi = [], []
    for c in true_counts:
        if any_value:
            lo.append(0)
            hi.append(_BIG)
        elif c < t:
            lo.append(0)
            hi.append(t - 1)
        else:
            lo.append(t)
            hi.append(_BIG)
    return lo, hi


def _limit(lo, hi, positions, limits):
    """Intersect attacker bounds with known per-cell limits (``{position: (low, high)}``)."""
    if limits:
        for k, p in enumerate(positions):
            if p in limits:
                a, b = limits[p]
                lo[k] = max(lo[k], a)
                hi[k] = min(hi[k], b)
    return lo, hi


def _group_pinned(values, sup, t, limits=None, positions=None, any_value=False):
    """Indices (into ``values``) of suppressed cells pinned or narrowed by one equality.

    ``limits`` (``{position: (low, high)}``, positions given by ``positions``)
    are what the reader knows of a cell from elsewhere (e.g. a newcomers cell
    lies between the whole public's cell minus the returning people and it).
    """
    idx = [i for i, s in enumerate(sup) if s]
    if not idx:
        return []
    r = sum(values[i] for i in idx)
    lo, hi = _bounds([values[i] for i in idx], t, any_value)
    if limits and positions is not None:
        lo, hi = _limit(lo, hi, [positions[i] for i in idx], limits)
    sum_lo, sum_hi = sum(lo), sum(hi)
    pinned = []
    for k, i in enumerate(idx):
        a = max(lo[k], r - (sum_hi - hi[k]))
        b = min(hi[k], r - (sum_lo - lo[k]))
        if b - a < 1 or (a >= 1 and b - a + 1 < t):
            pinned.append(i)  # one value left, or 0 excluded and fewer than t values left
    return pinned


def _lp_ranges(values, sup, constraints, t, only=None, limits=None, any_value=False):
    """Exact integer range of each suppressed cell given what is published.

    ``constraints`` is a list of ``(positions, coefficients)``: each is an
    equality ``sum(coef * x) == sum(coef * true value)`` the attacker knows
    (a margin: all coefficients 1 and a published total; or a definition such
    as ``reporting group - sum of its members == 0``). Published cells are
    known exactly; a suppressed cell lies in ``0..t-1`` (shown ``< t``) or in
    ``t..total`` (shown ``n.d.``). Returns ``{position: (low, high)}``.
    """
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    spos = sorted({p for pos, _ in constraints for p in pos if sup[p]} if only is None
                  else {p for p in only if sup[p]})
    if not spos:
        return {}
    # every suppressed cell of a constraint touching a target is a variable
    variables = set(spos)
    changed = True
    while changed:
        changed = False
        for pos, _ in constraints:
            if any(p in variables for p in pos):
                for p in pos:
                    if sup[p] and p not in variables:
                        variables.add(p)
                        changed = True
    var = sorted(variables)
    col = {p: k for k, p in enumerate(var)}
    rows, rhs = [], []
    for pos, coefs in constraints:
        if not any(p in col for p in pos):
            continue
        a = np.zeros(len(var))
        r = 0.0
        for p, c in zip(pos, coefs):
            if p in col:
                a[col[p]] += c
                r += c * values[p]
        rows.append(a)
        rhs.append(r)
    total = sum(abs(v) for v in values) + t
    lo, hi = _bounds([values[p] for p in var], t, any_value)
    lo, hi = _limit(lo, hi, var, limits)
    hi = [h if h < _BIG else total for h in hi]
    bounds = Bounds(np.array(lo, float), np.array(hi, float))
    cons = [LinearConstraint(np.array(rows), np.array(rhs), np.array(rhs))] if rows else []
    integ = np.ones(len(var))
    out = {}
    for p in spos:
        k = col[p]
        res = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(var))
            c[k] = sign
            r = milp(c, constraints=cons, integrality=integ, bounds=bounds)
            res.append(round(sign * r.fun) if r.success else values[p])
        out[p] = (res[0], res[1])
    return out


def _components(n, constraints):
    """Connected components of the constraints (lists of constraint indices)."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pos, _ in constraints:
        for p in pos[1:]:
            ra, rb = find(pos[0]), find(p)
            if ra != rb:
                parent[ra] = rb
    comp: dict[int, list[int]] = {}
    for ci, (pos, _) in enumerate(constraints):
        if pos:
            comp.setdefault(find(pos[0]), []).append(ci)
    return list(comp.values())


#: Options of the attacker's integer programmes. HiGHS's MIP presolve (scipy 1.17) can return a
#: sub-optimal point as optimal on these small programmes (measured: a hidden cell's minimum
#: given as 1 where a feasible point at 0 exists, on the example by quarter; HiGHS issues
#: 2957, 3073, 3094, fixed in HiGHS 1.15), so the audit runs without it. Secondary
#: suppression (:func:`_lp_ranges`) keeps it, 6 times faster (0.55 s against 3.4 s on the
#: example's profiles): that error only ever makes a range look narrower than it is, so it
#: can hide a cell more, never one less; the audit checks the result exactly.
_MILP_OPTIONS = {"presolve": False}


def _secondary(values, status, constraints, t, limits=None, any_value=False):
    """Add secondary suppressions in place (status 2); return indices of lost constraints.

    Per connected set of constraints: first the exact one-constraint rule on
    every margin (all coefficients 1), taking the smallest unsuppressed cell
    each time; then, when several constraints interact, an exact integer
    programme finds any cell still pinned and the smallest unsuppressed cell
    of a constraint through it is suppressed, until none is pinned. A
    constraint whose cells are all suppressed and still pins one is returned
    (its margin must be hidden).
    """
    bad: set[int] = set()

    def _hideable(p):
        # a cell the reader already knows within fewer than t values (from ``limits``) is
        # no use as a secondary cell: hidden, it would itself be pinned or narrowed
        if not limits or p not in limits:
            return True
        lo, hi = limits[p]
        if any_value:
            return min(hi, _BIG) - lo >= 1 and (lo < 1 or min(hi, _BIG) - lo + 1 >= t)
        if values[p] >= t:
            return min(hi, _BIG) - max(lo, t) + 1 >= t
        return hi - lo >= 1 and (lo < 1 or hi - lo + 1 >= t)

    for comp in _components(len(values), constraints):
        margins = [ci for ci in comp if all(c == 1 for c in constraints[ci][1])]
        for _ in range(10 * len(values) + 10):
            changed = False
            for ci in margins:
                g = constraints[ci][0]
                vals = [values[p] for p in g]
                while True:
                    sup = [status[p] > 0 for p in g]
                    left = len(_group_pinned(vals, sup, t, limits, g, any_value))
                    if not left:
                        break
                    cand = sorted((p for p in g if status[p] == 0 and _hideable(p)),
                                  key=lambda p: (values[p], p))
                    if not cand:
                        bad.add(ci)
                        break
                    # the smallest cell that clears the group, else the smallest that helps,
                    # else the smallest
                    pick, best = cand[0], left
                    for p in cand:
                        trial = [status[q] > 0 or q == p for q in g]
                        n_left = len(_group_pinned(vals, trial, t, limits, g, any_value))
                        if n_left < best:
                            pick, best = p, n_left
                            if n_left == 0:
                                break
                    status[pick] = 2
                    changed = True
            if not changed and len(comp) > 1:
                sup = [s > 0 for s in status]
                cons = [constraints[ci] for ci in comp if ci not in bad]
                ranges = _lp_ranges(values, sup, cons, t, limits=limits,
                                    any_value=any_value)
                pinned = [p for p, (lo, hi) in ranges.items()
                          if hi - lo < 1 or (lo >= 1 and hi - lo + 1 < t)]
                for p in pinned:
                    through = sorted((ci for ci in comp if p in constraints[ci][0]
                                      and ci not in bad), key=lambda ci: len(constraints[ci][0]))
                    cand = next(([q for q in constraints[ci][0]
                                  if status[q] == 0 and _hideable(q)]
                                 for ci in through
                                 if any(status[q] == 0 and _hideable(q)
                                        for q in constraints[ci][0])), [])
                    if cand:
                        status[min(cand, key=lambda q: (values[q], q))] = 2
                        changed = True
                        break
                else:
                    for p in pinned:
                        bad.update(ci for ci in comp if p in constraints[ci][0]
                                   and ci in margins)
            if not changed:
                break
    return bad


def _build_constraints(df, *, margin_specs, known, count_col, level_col, nested):
    """The equalities a reader knows about the cells of a long-form table.

    - each group of each margin spec: the sum of its cells (a published or
      computable total);
    - with a ``level_col`` holding ``"reporting"`` and ``"detail"`` rows: each
      reporting group equals the sum of its detail members (``nested`` map,
      or inferred: a code present at both levels is the same cell; the one
      reporting code absent from the detail level is the sum of the detail
      codes absent from the reporting level).
    """
    import numpy as np

    positions = np.flatnonzero(known)
    sub = df.iloc[positions]
    cons: list = []
    for spec in margin_specs:
        if spec:
            for _, idx in sub.groupby(list(spec), dropna=False, sort=False).indices.items():
                cons.append(([int(positions[i]) for i in idx], [1] * len(idx)))
        else:
            cons.append(([int(p) for p in positions], [1] * len(positions)))
    by = margin_specs[0] if margin_specs else ()
    if level_col and level_col in df and "group" in df:
        lv = df[level_col].astype("object").to_numpy()
        if {"reporting", "detail"} <= set(lv[positions]):
            block_cols = [c for c in by if c != level_col]
            grp = df["group"].astype("object").to_numpy()
            fld = df["field"].astype("object").to_numpy() if "field" in df else None
            blocks = (sub.groupby(block_cols, dropna=False, sort=False).indices.values()
                      if block_cols else [np.arange(len(sub))])
            for idx in blocks:
                pos = [int(positions[i]) for i in idx]
                rep = [p for p in pos if lv[p] == "reporting"]
                det = [p for p in pos if lv[p] == "detail"]
                if not rep or not det:
                    continue
                f = fld[rep[0]] if fld is not None else None
                mp = {}
                if nested:
                    per_field = all(isinstance(v, Mapping) for v in nested.values())
                    mp = dict(nested.get(f, {}) if per_field else nested)
                rep_codes = {grp[p] for p in rep}
                det_codes = {grp[p] for p in det}
                if not mp:
                    only_rep = rep_codes - det_codes
                    only_det = det_codes - rep_codes
                    if len(only_rep) == 1:
                        target = next(iter(only_rep))
                        mp = {c: target for c in only_det}
                for r in rep:
                    members = [d for d in det if mp.get(grp[d], grp[d]) == grp[r]]
                    if members:
                        cons.append(([r] + members, [1] + [-1] * len(members)))
    return cons


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------
def merge_map(reporting_groups: Mapping, field: str | None = None) -> dict:
    """Turn ``reporting_groups`` of ``evaluation.yml`` into a merge map for :func:`protect_table`.

    Parameters
    ----------
    reporting_groups : mapping
        ``{field: {group: {"members": [codes], ...}}}``.
    field : str, optional
        Return only that field's map ``{member: group}``; by default
        ``{field: {member: group}}`` for every field.

    Examples
    --------
    >>> rg = {"gender": {"tanb": {"members": ["trans_woman", "non_binary"]}}}
    >>> merge_map(rg, "gender")
    {'trans_woman': 'tanb', 'non_binary': 'tanb'}
    """
    out: dict = {}
    for f, groups in (reporting_groups or {}).items():
        out[f] = {m: g for g, spec in (groups or {}).items() for m in (spec or {}).get("members", [])}
    return out.get(field, {}) if field is not None else out


def cell_contributions(visits, by: Sequence[str], *, person_col: str = "person_id"):
    """Count visits per cell with what disclosure control needs to know about people.

    Parameters
    ----------
    visits : pandas.DataFrame
        Visits in the internal form (one row per visit).
    by : sequence of str
        Columns defining the cells (e.g. ``("period", "gender")``).
    person_col : str
        Column of pseudonyms; missing pseudonyms are not counted as people.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns plus ``count`` (visits), ``people`` (distinct non-missing
        pseudonyms; NA when the cell has none) and ``max_per_person`` (visits
        of the most frequent person; NA when unknown). Pass
        ``people_col="people", dominance_col="max_per_person"`` to
        :func:`protect_table`, which drops ``max_per_person`` from its output.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"gender": ["a", "a", "a", "b"], "person_id": ["x", "x", "y", None]})
    >>> cell_contributions(v, ["gender"])["max_per_person"].tolist()
    [2, <NA>]
    """
    import pandas as pd

    by = list(by)
    g = visits.groupby(by, dropna=False, sort=True)
    out = g.size().rename("count").reset_index()
    if person_col in visits:
        ids = visits.dropna(subset=[person_col])
        if len(ids):
            per = ids.groupby(by + [person_col], dropna=False).size()
            people = per.groupby(level=list(range(len(by)))).size().rename("people")
            top = per.groupby(level=list(range(len(by)))).max().rename("max_per_person")
            extra = pd.concat([people, top], axis=1).reset_index()
            out = out.merge(extra, on=by, how="left")
    for c in ("people", "max_per_person"):
        if c not in out:
            out[c] = pd.NA
        out[c] = out[c].astype("Int64")
    return out


def _apply_merge(df, merge, count_col, denominator_col, people_col, dominance_col, share_cols,
                 primary_mask_fn):
    import numpy as np
    import pandas as pd

    if not merge or "group" not in df:
        return df
    per_field = all(isinstance(v, Mapping) for v in merge.values())
    if per_field and "field" not in df:
        maps = {None: {m: g for sub in merge.values() for m, g in sub.items()}}
    elif per_field:
        maps = dict(merge)
    else:
        maps = {None: dict(merge)}
    small = primary_mask_fn(df)
    newgroup = df["group"].astype("object").copy()
    for f, mp in maps.items():
        rows = pd.Series(True, index=df.index) if f is None else (df["field"] == f)
        for target in set(mp.values()):
            members = [m for m, g in mp.items() if g == target]
            sel = rows & df["group"].isin(members)
            if (sel & small).any():
                newgroup[sel] = target
    if (newgroup == df["group"].astype("object")).all():
        return df
    df = df.copy()
    merged_rows = newgroup != df["group"].astype("object")
    df["group"] = newgroup
    sums = [c for c in (count_col, people_col) if c and c in df]
    maxes = [c for c in (dominance_col,) if c and c in df]
    keys = [c for c in df.columns if c not in sums + maxes and c not in share_cols
            and c != denominator_col
            and (c in KEY_COLUMNS or c == "level"
                 or not (pd.api.types.is_numeric_dtype(df[c])
                         or pd.api.types.is_bool_dtype(df[c])))]
    df["_merged"] = merged_rows
    agg = {c: "sum" for c in sums}
    agg.update({c: "max" for c in maxes})
    if denominator_col in df:
        agg[denominator_col] = "first"
    agg["_merged"] = "max"
    for c in df.columns:
        if c not in agg and c not in keys and c not in share_cols:
            agg[c] = "first"
    order = df[keys].drop_duplicates()
    out = df.groupby(keys, dropna=False, sort=False).agg(agg).reset_index()
    out = order.merge(out, on=keys, how="left")
    # recompute shares of merged rows from count / denominator (NA without a denominator)
    m = out["_merged"].astype(bool)
    present = [c for c in share_cols if c in df]
    recomputed: dict = {}
    if denominator_col in out and present:
        cnt = pd.to_numeric(out[count_col], errors="coerce").astype(float)
        den = pd.to_numeric(out[denominator_col], errors="coerce").astype(float)
        from .stats import wilson_ci

        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(den > 0, cnt / den, np.nan)
        lo, hi = wilson_ci(cnt.to_numpy(), den.to_numpy())
        recomputed = {"share": share, "ci_low": lo, "ci_high": hi}
    if present:
        original = df.groupby(keys, dropna=False, sort=False)[present].first().reset_index()
        original = order.merge(original, on=keys, how="left")
        for c in present:
            vals = pd.to_numeric(original[c], errors="coerce").astype("Float64")
            if c in recomputed:
                vals = vals.where(~m, pd.Series(recomputed[c], index=out.index).astype("Float64"))
            else:
                vals = vals.where(~m, pd.NA)
            out[c] = vals
    out = out.drop(columns="_merged")
    return out[[c for c in df.columns if c != "_merged"]]


def _infer_by(df, count_col):
    return tuple(c for c in ("period", "site", "field", "level", "population", "unit", "survey",
                             "question") if c in df)


def protect_table(table, *, rules: DisclosureRules, kind: str = "person",
                  by: Sequence[str] | None = None, margins: Iterable[Sequence[str]] = (),
                  count_col: str = "count", denominator_col: str = "denominator",
                  share_cols: Sequence[str] = ("share", "share_known", "ci_low", "ci_high"),
                  people_col: str | None = None, dominance_col: str | None = None,
                  merge: Mapping | None = None, nested: Mapping | None = None,
                  level_col: str | None = "level", force=None, limits=None,
                  any_value: bool = False, lang: str = "fr"):
    """Return a publishable copy of a long-form table of people by a sensitive attribute.

    Parameters
    ----------
    table : pandas.DataFrame
        Long-form table (column vocabulary of ``docs/DEVELOPING.md``); never
        mutated.
    rules : DisclosureRules
        From :func:`rules_from_config`.
    kind : {"person", "activity"}
        ``"activity"`` tables (sessions held, visits, material, tests done)
        are returned unchanged (a copy) unless ``rules.protect_activity``.
    by : sequence of str, optional
        Columns whose groups have a published margin (their cells add up to a
        total the reader knows or can compute, usually ``denominator``).
        Default: those of ``period, site, field, level, population, unit,
        survey, question`` present in the table. ``()`` means one group: the grand total of the
        table is taken as published.
    margins : iterable of sequences of str
        Further published margins, e.g. ``[("field", "group", "unit")]`` when
        all-period totals per group are published (in this table or another
        one of the report). Each is an extra equality the attacker knows.
    count_col, denominator_col, share_cols : str
        Names of the count, the denominator and the share-like columns.
    people_col : str, optional
        Column with the number of distinct people behind each cell (e.g. for
        a table counting visits): the threshold applies to it when given,
        and it is blanked with the count. Without it, when the table has
        both ``unit == "visits"`` and ``unit == "people"`` rows, a visits
        cell whose people row (same keys and ``group``) counts 1 to t-1 people
        is suppressed too.
    dominance_col : str, optional
        Column with the count contributed by the largest single person (see
        :func:`cell_contributions`); a cell where it exceeds
        ``rules.dominance`` of the count is suppressed. Dropped from output.
    merge : mapping, optional
        ``{group: merged_group}`` or ``{field: {group: merged_group}}``
        (see :func:`merge_map`). When any member of a merged group is a small
        cell anywhere in the table, all members of that field are replaced by
        the merged group (counts and people summed, dominance maximum, share
        and Wilson interval recomputed, ``share_known`` blanked) **before**
        suppression: merging is preferred over blanking.
    nested, level_col : optional
        For a table publishing two levels of the same field (``level_col``
        values ``"detail"`` and ``"reporting"``): each reporting group is the
        sum of its detail members, a relation the reader can use. ``nested``
        is ``{field: {member: reporting_group}}`` (see :func:`merge_map`);
        without it the relation is inferred (a code present at both levels is
        the same cell; the single reporting code absent from the detail level
        sums the detail codes absent from the reporting level).
    force : array-like of bool, optional
        Rows to suppress whatever their value (used by :func:`protect_tables`).
    limits : sequence of (low, high) or None, optional
        Per row, what a reader knows of the cell from elsewhere in the report
        (e.g. a newcomers cell lies between the whole public's cell minus the
        returning people, and the whole public's cell): secondary suppression
        then makes sure no hidden cell is pinned or narrowed given them too.
    any_value : bool
        Show every hidden cell ``n.d.`` whatever its value (a reader then knows
        only ``0 ..``): for a sub-population (newcomers), whose cells are
        bounded by the whole public's, "at least t" would often leave a range of
        fewer than t values.
    lang : {"fr", "en"}
        Language of ``count_display``.

    Returns
    -------
    pandas.DataFrame
        A new table with the same columns (``dominance_col`` dropped), where
        suppressed cells have ``count`` (and ``people``, shares, intervals and
        any other numeric non-key column) set to NA, plus:

        - ``suppressed`` (bool): the count is hidden;
        - ``suppression`` (str): ``""``, ``"small"`` (1 to t-1), ``"dominance"``,
          ``"extreme"`` (100 % of a small group), ``"secondary"`` (hidden so
          that another cell cannot be recovered), ``"linked"`` (hidden in
          another table of the report), ``"margin"`` (its group's margin had
          to be hidden too: the group cannot be protected otherwise);
        - ``count_display`` (str): what to print: the (possibly rounded) count,
          ``"< t"`` for a hidden cell whose value is under the threshold, or
          ``"n.d."`` (``"[c]"`` in English) for other hidden cells.

        When the table gives both units of a cell (``unit`` ``people`` and ``visits``),
        the two rows are hidden together whatever the reason (a published visits count
        caps its people: 5 visits, at most 5 people and at least 1).
        Columns whose name contains ``known`` (``known_denominator``,
        ``share_known``, ``ci_known_low``...) are blanked for a whole group
        where its ``"unknown"`` cell is hidden (total minus known would give
        it back). Shares and intervals are also blanked where the denominator is under
        ``rules.min_denominator`` and, with ``no_extreme_shares``, where a share
        is 0 or 1 in a group under ``rules.small_group``. With ``round_to``,
        published counts, people and denominators are rounded to that base
        (shares stay computed on exact counts). Rows with a missing count are
        left as they are (nothing to publish). ``table.attrs["disclosure"]``
        records the rules and what was done.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"period": "2023", "field": "gender", "unit": "people",
    ...                   "group": ["trans_man", "cis_man", "non_binary"],
    ...                   "count": [2, 20, 9], "denominator": 31})
    >>> out = protect_table(t, rules=DisclosureRules(), lang="en")
    >>> out["count_display"].tolist()
    ['<\\xa05', '20', '[c]']
    """
    import numpy as np
    import pandas as pd

    if kind not in ("person", "activity"):
        raise ParameterError(f"kind doit valoir 'person' ou 'activity', pas {kind!r}",
                             f"kind must be 'person' or 'activity', not {kind!r}")
    df = table.copy(deep=True)
    if kind == "activity" and not rules.protect_activity:
        return df
    if count_col not in df:
        raise ParameterError(
            f"Tableau à protéger : colonne « {count_col} » absente.",
            f"Table to protect: column '{count_col}' is missing.",
        )
    t = rules.min_cell
    share_cols = tuple(share_cols) + tuple(
        c for c in df.columns if c not in share_cols and str(c).startswith(("share", "ci_")))

    def numeric(s):
        return pd.to_numeric(s, errors="coerce").astype(float).to_numpy()

    def primary_small(d):
        base = d[people_col] if people_col and people_col in d else d[count_col]
        v = numeric(base)
        return pd.Series((v >= 1) & (v <= t - 1), index=d.index)

    forced = None
    if force is not None:
        forced = pd.Series(np.asarray(force, dtype=bool), index=df.index)
    if merge:
        before = len(df)
        df = _apply_merge(df, merge, count_col, denominator_col, people_col, dominance_col,
                          share_cols, primary_small)
        if len(df) != before:
            forced = None  # rows changed: forced cells were merged away
            limits = None

    cnt = numeric(df[count_col])
    known = ~np.isnan(cnt)
    status = np.zeros(len(df), dtype=int)  # 0 published, 1 primary, 2 secondary
    reason = np.array([""] * len(df), dtype=object)

    small = primary_small(df).to_numpy() & known
    by = _infer_by(df, count_col) if by is None else tuple(by)
    twin = np.full(len(df), -1)  # the visits row of a people row and back (same cell)
    if "unit" in df and "group" in df and not people_col:
        # visits rows: the threshold applies to the people behind them when the
        # same table gives the people row of the same cell
        unit = df["unit"].astype("object").to_numpy()
        if "people" in set(unit) and "visits" in set(unit):
            kcols = [c for c in by if c != "unit" and c in df] + ["group"]
            keys = [tuple(str(x) for x in row) for row in df[kcols].itertuples(index=False)]
            people_of = {k: cnt[i] for i, k in enumerate(keys) if unit[i] == "people"}
            visits_of = {k: cnt[i] for i, k in enumerate(keys) if unit[i] == "visits"}
            row_of = {(k, unit[i]): i for i, k in enumerate(keys)}
            for i, k in enumerate(keys):
                other = {"people": "visits", "visits": "people"}.get(unit[i])
                j = row_of.get((k, other)) if other else None
                if j is not None and known[j]:
                    twin[i] = j
            for i, k in enumerate(keys):
                pv = people_of.get(k)
                if unit[i] == "visits" and pv is not None and 1 <= pv <= t - 1 and known[i]:
                    small[i] = True
                if cnt[i] == 0 and ((unit[i] == "people" and visits_of.get(k) == 0) or (
                        unit[i] == "visits" and people_of.get(k) == 0)):
                    # no visit, no person: hidden, this 0 would still be known (no use as a
                    # secondary cell)
                    limits = list(limits) if limits is not None else [None] * len(df)
                    limits[i] = (0, 0)
    status[small] = 1
    reason[small] = "small"
    if rules.dominance is not None:
        dom = np.zeros(len(df), dtype=bool)
        if dominance_col and dominance_col in df:
            top = numeric(df[dominance_col])
            with np.errstate(invalid="ignore", divide="ignore"):
                dom |= np.nan_to_num(top / cnt, nan=0.0) > rules.dominance
        if people_col and people_col in df:
            ppl = numeric(df[people_col])
            with np.errstate(invalid="ignore", divide="ignore"):
                # the largest contributor has at least count / people
                dom |= np.nan_to_num(1.0 / ppl, nan=0.0, posinf=0.0) > rules.dominance
        dom &= known & (cnt > 0) & (status == 0)
        status[dom] = 1
        reason[dom] = "dominance"
    den = numeric(df[denominator_col]) if denominator_col in df else np.full(len(df), np.nan)
    if rules.no_extreme_shares and denominator_col in df:
        ext = known & (cnt > 0) & (cnt == den) & (den < rules.small_group) & (status == 0)
        if "group" in df:
            # "nobody answered" tells nothing about anyone: a 100 % "not stated" cell is
            # not an attribute of the group (and hiding it gains nothing: the known cells
            # are 0 and its total is published)
            ext &= df["group"].astype("object").to_numpy() != "unknown"
        status[ext] = 1
        reason[ext] = "extreme"
    if forced is not None:
        f = forced.to_numpy() & known & (status == 0)
        status[f] = 1
        reason[f] = "linked"

    # --- secondary suppression --------------------------------------------------
    margin_specs = [tuple(by)] + [tuple(m) for m in margins]
    for spec in margin_specs:
        missing = [c for c in spec if c not in df]
        if missing:
            raise ParameterError(
                f"Tableau à protéger : colonne(s) de marge absente(s) : {', '.join(missing)}",
                f"Table to protect: margin column(s) missing: {', '.join(missing)}",
            )
    values = [int(round(x)) if not np.isnan(x) else 0 for x in cnt]
    constraints = _build_constraints(df, margin_specs=margin_specs, known=known,
                                     count_col=count_col, level_col=level_col, nested=nested)
    bad: set[int] = set()
    if rules.secondary and constraints:
        before = status.copy()
        lim = None
        if limits is not None:
            lim = {}
            for i, ab in enumerate(limits):
                if ab is not None and known[i]:
                    lim[i] = (float(ab[0]), float(ab[1]))
        bad = _secondary(values, status, constraints, t, lim, any_value)
        # people <= visits: a published visits cell caps its hidden people cell (5 visits:
        # at most 5 people, and at least 1), a published people cell floors its hidden
        # visits cell. Both units of a cell are hidden together, then secondary
        # suppression runs again on the blocks that gained a hidden cell.
        for _ in range(20):
            lone = np.flatnonzero((twin >= 0) & (status > 0))
            lone = lone[status[twin[lone]] == 0]
            if not len(lone):
                break
            status[twin[lone]] = 2
            bad |= _secondary(values, status, constraints, t, lim, any_value)
        reason[(status == 2) & (before == 0)] = "secondary"
    margin_hidden = np.zeros(len(df), dtype=bool)
    for ci in bad:
        for p in constraints[ci][0]:
            margin_hidden[p] = True
            if limits is not None and limits[p] is not None \
                    and limits[p][0] == limits[p][1] == values[p]:
                continue  # a reader knows this cell from elsewhere: hiding it says nothing
            if status[p] == 0:
                status[p] = 2
                reason[p] = "margin"

    suppressed = status > 0
    # "known" denominators (total minus the "unknown" group) would give back a
    # hidden "unknown" cell: blank every *known* column of such a group.
    known_cols = [c for c in df.columns if "known" in str(c)]
    if known_cols and "group" in df:
        grp = df["group"].astype("object").to_numpy()
        hide_known = np.zeros(len(df), dtype=bool)
        keyframe = df[list(by)] if by else None
        for i in np.flatnonzero(suppressed & (grp == "unknown")):
            if keyframe is None:
                hide_known[:] = True
            else:
                same = (keyframe == keyframe.iloc[i]).all(axis=1).to_numpy()
                hide_known |= same
        if hide_known.any():
            for c in known_cols:
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64").mask(
                    pd.Series(hide_known, index=df.index))
    # --- write the published table --------------------------------------------
    true_counts = cnt.copy()
    keys = set(c for spec in margin_specs for c in spec) | set(KEY_COLUMNS)
    protected_numeric = [
        c for c in df.columns
        if c not in keys and c != denominator_col
        and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    ]
    for c in set(protected_numeric) | {count_col} | {c for c in share_cols if c in df}:
        s = df[c]
        if not (pd.api.types.is_float_dtype(s) or str(s.dtype) in ("Int64", "Float64")):
            s = pd.to_numeric(s, errors="coerce")
            s = s.astype("Int64") if c in (count_col, people_col) else s.astype("Float64")
        df[c] = s.mask(pd.Series(suppressed, index=df.index))
    if margin_hidden.any():
        for c in (denominator_col, "known_denominator", *share_cols):
            if c in df:
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64").mask(
                    pd.Series(margin_hidden, index=df.index))
    # shares: small denominators, extreme shares
    present_shares = [c for c in share_cols if c in df]
    if present_shares:
        blank = np.zeros(len(df), dtype=bool)
        if denominator_col in df:
            blank |= ~np.isnan(den) & (den < rules.min_denominator)
            if rules.no_extreme_shares:
                for c in present_shares:
                    if str(c).startswith("ci_"):
                        continue
                    v = numeric(df[c])
                    ext = (~np.isnan(v)) & ((np.abs(v) < 1e-12) | (np.abs(v - 1) < 1e-12))
                    if "group" in df:
                        ext &= df["group"].astype("object").to_numpy() != "unknown"
                    blank |= ext & ~np.isnan(den) & (den < rules.small_group)
        for c in present_shares:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64").mask(
                pd.Series(blank, index=df.index))
    # rounding
    if rules.round_to:
        base = rules.round_to
        for c in [count_col, people_col, denominator_col,
                  *[c for c in df.columns if "denominator" in str(c) and c != denominator_col]]:
            if c and c in df:
                s = pd.to_numeric(df[c], errors="coerce")
                df[c] = s.map(lambda x: pd.NA if _isna(x) else _round_base(float(x), base)
                              ).astype("Int64")
        _shares_from_published(df, present_shares, count_col, denominator_col)
    elif pd.api.types.is_float_dtype(df[count_col]):
        v = pd.to_numeric(df[count_col], errors="coerce")
        if ((v.dropna() % 1) == 0).all():
            df[count_col] = v.round().astype("Int64")
    if dominance_col and dominance_col in df:
        df = df.drop(columns=dominance_col)
    df["suppressed"] = suppressed
    df["suppression"] = pd.Series(reason, index=df.index).astype("object")
    display = []
    # visits next to people in one table: a hidden visits cell is always "n.d." ("at least t
    # visits" would tell that someone is behind a people cell shown "< t")
    with_people = np.zeros(len(df), dtype=bool)
    if "unit" in df:
        units = df["unit"].astype(str).to_numpy()
        if "people" in set(units):
            with_people = units == "visits"
    if any_value:
        with_people[:] = True
    for i, c in enumerate(df[count_col]):
        if suppressed[i] and with_people[i]:
            display.append(tr("n.d.", "[c]", lang))
        elif suppressed[i]:
            display.append(_hidden_text(true_counts[i], rules, lang))
        elif _isna(c):
            display.append("")
        else:
            display.append(str(int(c)) if float(c) == int(c) else str(c))
    df["count_display"] = display
    df.attrs["disclosure"] = {
        "rules": {f.name: getattr(rules, f.name) for f in fields(rules)},
        "kind": kind,
        "margins": [list(m) for m in margin_specs],
        "suppressed": int(suppressed.sum()),
        "margins_hidden": int(margin_hidden.any()),
    }
    return df


def _shares_from_published(df, share_cols, count_col, denominator_col) -> None:
    """Recompute shares and intervals from the published (rounded) counts, in whole percents.

    With a rounding base, a share or an interval computed on the exact counts
    (and printed with several digits) gives the exact count back: ``share``,
    ``ci_low``/``ci_high`` (Wilson) are recomputed from the published count and
    denominator, ``share_known``/``ci_known_*`` from the published count and
    ``known_denominator``; every share-like column is rounded to two decimals
    (whole percents). A value blanked before stays blank. In place.
    """
    import numpy as np
    import pandas as pd

    from .stats import wilson_ci

    if not share_cols:
        return
    cnt = pd.to_numeric(df[count_col], errors="coerce").astype(float).to_numpy()

    def den_of(col):
        if col not in df:
            return None
        return pd.to_numeric(df[col], errors="coerce").astype(float).to_numpy()

    dens = {"": den_of(denominator_col), "known": den_of("known_denominator")}
    for which, den in dens.items():
        if den is None:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.minimum(cnt, den)
            share = np.where(den > 0, x / den, np.nan)
            lo, hi = wilson_ci(np.nan_to_num(x), np.where(den > 0, den, 0))
        names = (("share", share), ("ci_low", lo), ("ci_high", hi)) if not which else (
            ("share_known", share), ("ci_known_low", lo), ("ci_known_high", hi))
        for c, v in names:
            if c in df and c in share_cols:
                old = pd.to_numeric(df[c], errors="coerce").astype("Float64")
                new = pd.Series(np.asarray(v, dtype=float), index=df.index).astype("Float64")
                df[c] = new.where(old.notna() & new.notna())
    for c in share_cols:
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64").round(2)


def protect_wide(table, *, rules: DisclosureRules, totals: bool = True, lang: str = "fr"):
    """Protect a wide 2-D table of person counts (rows x columns) with its margins.

    Parameters
    ----------
    table : pandas.DataFrame
        Counts only (index = row categories, columns = column categories),
        without total row or column; never mutated.
    rules : DisclosureRules
    totals : bool
        Add a ``Total`` column and row (the margins; a total from 1 to t-1 is
        itself shown ``"< t"``, rounded with ``round_to``). The protection
        assumes both margins are known to the reader in any case.
    lang : {"fr", "en"}

    Returns
    -------
    pandas.DataFrame
        Same shape (plus totals), every cell a string as it may be printed:
        the count (rounded with ``round_to``), ``"< t"`` or ``"n.d."``/``"[c]"``.
        Suppression as :func:`protect_table` with the row totals as ``by``
        and the column totals as a further margin.

    Examples
    --------
    >>> import pandas as pd
    >>> w = pd.DataFrame({"2022": [3, 20, 9], "2023": [12, 25, 8]},
    ...                  index=["trans_man", "cis_man", "non_binary"])
    >>> protect_wide(w, rules=DisclosureRules(), lang="en").loc["trans_man", "2022"]
    '<\xa05'
    """
    import pandas as pd

    rname, cname = "_row", "_col"
    long = table.copy(deep=True)
    long.index = [str(i) for i in long.index]
    long.columns = [str(c) for c in long.columns]
    long = long.rename_axis(rname).reset_index().melt(id_vars=rname, var_name=cname,
                                                     value_name="count")
    out = protect_table(long, rules=rules, by=(rname,), margins=[(cname,)], lang=lang)
    wide = out.pivot(index=rname, columns=cname, values="count_display")
    wide = wide.loc[[str(i) for i in table.index], [str(c) for c in table.columns]]
    wide.index, wide.columns = table.index, table.columns
    if totals:
        label = tr("Total", "Total", lang)
        num = table.apply(pd.to_numeric, errors="coerce")

        def fmt(v):  # a total is a count of people too: under the threshold it is hidden
            return format_count(v, rules=rules, lang=lang)

        wide[label] = [fmt(v) for v in num.sum(axis=1)]
        wide.loc[label] = [fmt(v) for v in num.sum(axis=0)] + [fmt(num.to_numpy().sum())]
    return wide


def attack_table(original, protected, *, by: Sequence[str] | None = None,
                 margins: Iterable[Sequence[str]] = (), count_col: str = "count",
                 rules: DisclosureRules, level_col: str | None = "level",
                 nested: Mapping | None = None, denominator_col: str = "denominator"):
    """Try to recover each suppressed cell of a protected table (audit).

    Solves, for each suppressed cell, min and max of its value under the
    attacker model of the module docstring (integer programming,
    ``scipy.optimize.milp``). The margins' true sums are taken from
    ``original``; a margin whose denominator ``protect_table`` had to blank is
    taken as unknown (if the same total is published elsewhere, e.g. as an
    activity count, that does not hold: see ``docs/disclosure.md``). Both
    tables must have the same rows in the same order (no merge).

    Returns
    -------
    pandas.DataFrame
        One row per suppressed cell: ``row`` (position), ``low``, ``high``,
        ``pinned`` (True when ``low == high``: the cell is disclosed).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"g": ["a", "b", "c"], "count": [2, 20, 9]})
    >>> p = protect_table(t, rules=DisclosureRules(), by=())
    >>> bool(attack_table(t, p, by=(), rules=DisclosureRules())["pinned"].any())
    False
    """
    import numpy as np
    import pandas as pd

    by = _infer_by(original, count_col) if by is None else tuple(by)
    specs = [tuple(by)] + [tuple(m) for m in margins]
    cnt = pd.to_numeric(original[count_col], errors="coerce").astype(float).to_numpy()
    known = ~np.isnan(cnt)
    values = [int(round(x)) if k else 0 for x, k in zip(cnt, known)]
    sup = list(protected["suppressed"].to_numpy(dtype=bool) & known)
    constraints = _build_constraints(original, margin_specs=specs, known=known,
                                     count_col=count_col, level_col=level_col, nested=nested)
    if denominator_col in original and denominator_col in protected:
        # a margin hidden by protect_table (denominator blanked) is not known to the reader
        hidden = (protected[denominator_col].isna().to_numpy()
                  & original[denominator_col].notna().to_numpy())
        constraints = [(pos, co) for pos, co in constraints
                       if not (all(c == 1 for c in co) and all(hidden[p] for p in pos))]
    ranges = _lp_ranges(values, sup, constraints, rules.min_cell)
    rows = [{"row": p, "low": a, "high": b, "pinned": b - a < 1} for p, (a, b) in ranges.items()]
    return pd.DataFrame(rows, columns=["row", "low", "high", "pinned"])


def blank_pairs(table, protected, *, keys: Sequence[str], columns: Sequence[str]):
    """Blank the columns shared by a pair of rows (e.g. before / after) where one side is hidden.

    A difference, its interval, a p-value or the name of the test chosen,
    repeated on both rows of a pair, gives the hidden side back next to the
    published one. ``protected`` is ``protect_table(table)`` (same rows): a row
    is hidden when it is suppressed or its ``share`` was blanked.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with ``columns`` set to NA on every row of a pair
        (same ``keys``) that has a hidden row.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"g": ["a", "a"], "count": [3, 9], "d": [0.2, 0.2]})
    >>> p = t.assign(suppressed=[True, False])
    >>> blank_pairs(t, p, keys=["g"], columns=["d"])["d"].isna().tolist()
    [True, True]
    """
    import numpy as np
    import pandas as pd

    hidden = protected["suppressed"].to_numpy(dtype=bool).copy()
    if "share" in protected.columns and "share" in table.columns:
        hidden |= (pd.to_numeric(protected["share"], errors="coerce").isna().to_numpy()
                   & pd.to_numeric(table["share"], errors="coerce").notna().to_numpy())
    out = table.copy()
    keys = [k for k in keys if k in out.columns]
    if not keys or not len(out):
        return out
    pair = pd.Series(hidden, index=out.index).groupby(
        [out[k].astype(str) for k in keys], sort=False).transform("any").to_numpy(dtype=bool)
    for c in columns:
        if c not in out.columns:
            continue
        if pd.api.types.is_numeric_dtype(out[c].dtype):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
            out.loc[pair, c] = np.nan
        else:
            out[c] = out[c].astype("object")
            out.loc[pair, c] = None
    return out


#: Columns of a test table that describe the test, never withheld.
_TEST_KEEP = ("field", "group", "unit", "level", "among", "test", "df", "periods", "withheld")


def _test_cells(published, field, unit, level):
    """Hidden-cell flags of the published person tables a test row was computed from.

    Returns ``{period: {group: hidden}}`` and ``{period: margin hidden}``, or ``None``
    when no published table has that field, unit (and level).
    """

    found = []
    for t in published:
        if t is None or not {"field", "group", "unit", "suppressed"} <= set(t.columns):
            continue
        m = (t["field"].astype(str) == str(field)) & (t["unit"].astype(str) == str(unit))
        if level is not None and "level" in t.columns:
            m &= t["level"].astype(str) == str(level)
        if m.any():
            found.append((t, m))
    if not found:
        return None
    # tests are computed on the whole population: prefer tables without a sub-population
    whole = [(t, m) for t, m in found if "population" not in t.columns]
    cells: dict = {}
    margin: dict = {}
    for t, m in whole or found:
        sub = t.loc[m]
        n = len(sub)
        # plain Python lists: scalar access on the frame copies its attrs for every cell
        periods = (sub["period"].astype(str).tolist() if "period" in sub.columns
                   else ["*"] * n)
        groups = sub["group"].astype(str).tolist()
        flags = sub["suppressed"].tolist()
        supp = (sub["suppression"].astype(str).tolist() if "suppression" in sub.columns
                else [None] * n)
        for p, g, flag, how in zip(periods, groups, flags, supp, strict=True):
            hidden = bool(flag) if not _isna(flag) else True
            cells.setdefault(p, {})
            cells[p][g] = cells[p].get(g, False) or hidden
            if how == "margin":
                margin[p] = True
    return cells, margin


def protect_tests(tests, published: Iterable = (), *, rules: DisclosureRules | None = None):
    """Withhold the test results that would let a reader recover a hidden cell.

    A test statistic or p-value computed from counts is a function of those
    counts: with the published margins a reader can try every value a hidden
    cell may take (``0 .. t - 1`` for ``< t``) and keep the one that gives the
    published statistic, which usually singles it out. A row of a test table
    (one ``field``, ``unit``, ``level``, ``group``, ``among``; see
    :func:`qsp_eval.profiles.profile_tests`) is therefore published only when
    every count it was computed from can already be read or derived from the
    published person tables of the report:

    - ``group == "*"`` (homogeneity of the whole distribution): every cell of
      the field is published (the ``unknown`` cells only when ``among == "all"``);
    - one group (trend test and group-vs-rest test): its cells are published and,
      in each period, the total it is compared with is derivable (every cell of
      the period published, or its margin and, when ``among == "known"``, its
      ``unknown`` cell published).

    Rows of a field no published table shows are withheld (nothing to check
    against). In a withheld row every numeric column other than ``df`` and
    ``periods`` (``statistic``, ``p_value``, ``p_value_holm``, ``n``...) is set to
    NA and ``withheld`` is True. ``p_value_holm`` of the published rows is
    recomputed with the withheld p-values counted as 1 (same number of tests):
    the true Holm-adjusted values depend on the withheld p-values, this bound is
    never smaller than them (so still controls the family-wise error) and
    depends on published values only.

    Parameters
    ----------
    tests : pandas.DataFrame
        Columns ``field``, ``group``, ``unit`` and optionally ``level``,
        ``among`` (default ``"known"``), ``p_value``, ``p_value_holm``.
    published : iterable of pandas.DataFrame
        The protected person tables of the report (outputs of
        :func:`protect_table`, with ``period``, ``field``, ``group``, ``unit``,
        ``suppressed``). Tables with a ``population`` column (a
        sub-population, e.g. newcomers) are used only when no whole-population
        table shows the field.
    rules : DisclosureRules, optional
        With a rounding base (``round_to``, strict preset) every row is
        withheld: a statistic computed on the exact counts would undo the
        rounding of the published ones.

    Returns
    -------
    pandas.DataFrame
        A copy of ``tests`` with a boolean ``withheld`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> pub = pd.DataFrame({"period": ["2023"] * 3, "field": "gender", "unit": "people",
    ...                     "group": ["a", "b", "unknown"], "suppressed": [False, True, False]})
    >>> tests = pd.DataFrame({"field": "gender", "unit": "people", "group": ["*", "a", "b"],
    ...                       "p_value": [0.2, 0.03, 0.5]})
    >>> protect_tests(tests, [pub])["withheld"].tolist()   # b hidden: "*" and b withheld
    [True, False, True]
    """
    import numpy as np
    import pandas as pd

    from .stats import holm_adjust

    out = tests.copy()
    published = [t for t in published if t is not None]
    rounded = bool(rules is not None and getattr(rules, "round_to", None))
    withheld = []
    seen: dict = {}  # many test rows share a field, unit and level: look their cells up once
    for _, row in out.iterrows():
        level = row["level"] if "level" in out.columns and not _isna(row["level"]) else None
        among = str(row["among"]) if "among" in out.columns and not _isna(row["among"]) \
            else "known"
        key = (str(row["field"]), str(row["unit"]), None if level is None else str(level))
        if key not in seen:
            seen[key] = _test_cells(published, row["field"], row["unit"], level)
        info = seen[key]
        if info is None or rounded:
            # with a rounding base, a statistic computed on the exact counts undoes it
            withheld.append(True)
            continue
        cells, margin = info
        g = str(row["group"])
        hide = False
        for p, groups in cells.items():
            counted = {k: v for k, v in groups.items() if among == "all" or k != "unknown"}
            if g == "*":
                hide = any(counted.values())
            else:
                all_known = not any(counted.values())
                via_margin = not margin.get(p, False) and (
                    among == "all" or not groups.get("unknown", False))
                hide = groups.get(g, False) or not (all_known or via_margin)
            if hide:
                break
        withheld.append(hide)
    w = np.array(withheld, dtype=bool)
    blank = [c for c in out.columns if c not in _TEST_KEEP
             and pd.api.types.is_numeric_dtype(out[c].dtype)
             and not pd.api.types.is_bool_dtype(out[c].dtype)]
    if "p_value" in out.columns and "p_value_holm" in out.columns and w.any():
        p = pd.to_numeric(out["p_value"], errors="coerce").to_numpy(dtype=float).copy()
        p[w] = 1.0  # every withheld row, so that the number of tests is the row count
        out["p_value_holm"] = holm_adjust(p)
    for c in blank:
        out[c] = out[c].astype("Float64" if pd.api.types.is_float_dtype(out[c].dtype)
                               else "Int64")
        out.loc[w, c] = pd.NA
    # the test chosen (chi-square or exact: do expected counts reach 5?) and its degrees of
    # freedom (how many groups are not empty) describe the hidden counts too
    for c in ("test", "df"):
        if c in out.columns:
            if pd.api.types.is_numeric_dtype(out[c].dtype):
                out[c] = pd.to_numeric(out[c], errors="coerce").astype("Float64")
                out.loc[w, c] = pd.NA
            else:
                out[c] = out[c].astype("object")
                out.loc[w, c] = None
    out["withheld"] = w
    return out


def protect_field_counts(table, *, rules: DisclosureRules, hidden: Iterable = (),
                         count_col: str = "count", lang: str = "fr"):
    """Hide small per-field counts of a table by field without groups (e.g. completeness).

    A table such as ``quality_completeness`` (``period``, ``field``, ``count`` of
    visits whose answer is missing, ``denominator``) has no ``group`` column, but
    each of its counts *is* a person-attribute cell: the "not stated" cell of
    that field in the profile tables. Published there as it is, it would undo
    their suppression by subtraction (period total minus the published groups
    minus it gives the hidden group). Rows whose ``field`` is sensitive
    (:data:`qsp_eval.schema.SENSITIVE_FIELDS`) and whose count is 1 to t - 1
    get the count and every other numeric column except ``denominator`` set to
    NA (so also the share), and so do the rows whose ``(period, field)`` is in
    ``hidden``: the cells the profile tables hide (by distinct people, or as
    secondary cells). A period label starting with a hidden year (``"2023-Q2"``
    for ``("2023", field)``) is hidden too: the quarters would add up to it; and
    when one sub-period of a year is hidden, so are the others of that year and
    field (the year minus the shown ones would give it back).

    Parameters
    ----------
    table : pandas.DataFrame
        ``field``, ``count`` and optionally ``period``, ``denominator``, ``share``.
    rules : DisclosureRules
    hidden : iterable of (period, field)
        Cells hidden elsewhere in the report (suppression ``"linked"``).
    count_col : str
    lang : {"fr", "en"}

    Returns
    -------
    pandas.DataFrame
        A copy with ``suppressed`` (bool), ``suppression`` (``"small"`` or ``""``) and
        ``count_display`` (``"n.d."`` for a hidden count, whatever its value, or the
        count) added.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"period": "2023", "field": ["gender", "gender", "site"],
    ...                   "count": [4, 12, 3], "denominator": 100, "share": [.04, .12, .03]})
    >>> protect_field_counts(t, rules=DisclosureRules())["count_display"].tolist()
    ['n.d.', '12', '3']
    >>> protect_field_counts(t, rules=DisclosureRules(), hidden=[("2023", "gender")],
    ...                      lang="en")["count_display"].tolist()
    ['[c]', '[c]', '3']
    """
    import numpy as np
    import pandas as pd

    out = table.copy()
    counts = pd.to_numeric(out[count_col], errors="coerce")
    sens = out["field"].astype(str).isin(SENSITIVE_FIELDS).to_numpy(dtype=bool)
    small = sens & ((counts >= 1) & (counts <= rules.min_cell - 1)).fillna(False).to_numpy(
        dtype=bool)
    hidden = {(str(p), str(f)) for p, f in hidden}
    periods = (out["period"].astype(str) if "period" in out.columns
               else pd.Series("", index=out.index)).tolist()
    fields = out["field"].astype(str).tolist()
    linked = sens & ~small & np.array(
        [(p, f) in hidden or (p[:4], f) in hidden
         for p, f in zip(periods, fields, strict=True)], dtype=bool)
    # sub-periods (quarters, months) add up to the year the profile tables publish: one
    # hidden quarter would be the year minus the others, so hide the whole year's rows
    hit = {(p[:4], f) for p, f, h in zip(periods, fields, small | linked, strict=True)
           if h and len(p) > 4}
    linked |= sens & ~small & np.array([len(p) > 4 and (p[:4], f) in hit
                                        for p, f in zip(periods, fields, strict=True)],
                                       dtype=bool)
    blank = [c for c in out.columns if c not in KEY_COLUMNS and c != "denominator"
             and pd.api.types.is_numeric_dtype(out[c].dtype)
             and not pd.api.types.is_bool_dtype(out[c].dtype)]
    for c in blank:
        if pd.api.types.is_integer_dtype(out[c].dtype):
            out[c] = out[c].astype("Int64")
        out.loc[small | linked, c] = pd.NA
    out["suppressed"] = small | linked
    out["suppression"] = ["small" if s else ("linked" if k else "")
                          for s, k in zip(small, linked, strict=True)]
    # a hidden count is "n.d." whatever its value: these are visits, and "at least t visits
    # not stated" would tell that someone is behind a "not stated" people cell shown "< t",
    # while "fewer than t" leaves the rest of the period's visits to the other hidden groups
    # (people "< 5" who inject, 37 hidden visits, at most 4 of them "not stated": someone
    # injects)
    out["count_display"] = [
        tr("n.d.", "[c]", lang) if (s or k) else ("" if _isna(v) else str(int(v)))
        for s, k, v in zip(small, linked, counts, strict=True)]
    return out


def _cell_keys(df):
    cols = [c for c in KEY_COLUMNS if c in df]
    keys = []
    for _, row in df[cols].iterrows():
        keys.append(tuple((c, str(row[c])) for c in cols if not _isna(row[c])))
    return keys


def protect_tables(tables: Mapping, *, rules: DisclosureRules, specs: Mapping | None = None,
                   lang: str = "fr") -> dict:
    """Protect the tables of one report together, so that they stay consistent.

    Each table is protected with :func:`protect_table` and the keyword
    arguments of ``specs[name]`` (missing: ``kind="person"`` and defaults).
    Then a cell suppressed in one table is suppressed in every other table
    where the **same cell** appears (same values of the key columns
    ``period, site, field, group, unit, survey, question`` present in the row),
    secondary suppression is redone there, and so on until nothing changes.

    Limits: cells of different tables are linked only through identical keys.
    When one table publishes totals of another (e.g. all-period totals of a
    per-period table), declare them as ``margins`` of the detailed table so
    that its secondary suppression accounts for them; per-visit and
    per-person counts of the same group (different ``unit``) are different
    cells.

    Returns
    -------
    dict[str, pandas.DataFrame]
        Same names, protected tables (see :func:`protect_table`).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"field": "gender", "unit": "people", "group": ["x", "y", "z"],
    ...                   "count": [3, 10, 12]})
    >>> b = a.iloc[[0, 1]].assign(count=[3, 10])
    >>> out = protect_tables({"a": a, "b": b}, rules=DisclosureRules())
    >>> out["b"]["suppressed"].tolist()
    [True, True]
    """
    specs = dict(specs or {})
    out: dict = {}
    forced: dict = {name: None for name in tables}
    for _ in range(20):
        hidden: set = set()
        for name, tab in tables.items():
            kw = dict(specs.get(name, {}))
            kw.setdefault("lang", lang)
            out[name] = protect_table(tab, rules=rules, force=forced[name], **kw)
            res = out[name]
            if "suppressed" in res and len(res) == len(tab):
                for k, s in zip(_cell_keys(res), res["suppressed"]):
                    if s and k:
                        hidden.add(k)
        changed = False
        for name, tab in tables.items():
            res = out[name]
            if "suppressed" not in res or len(res) != len(tab):
                continue
            want = [bool(k) and k in hidden for k in _cell_keys(tab)]
            have = res["suppressed"].tolist()
            if any(w and not h for w, h in zip(want, have)):
                prev = forced[name]
                forced[name] = [w or (bool(prev[i]) if prev is not None else False)
                                for i, w in enumerate(want)]
                changed = True
        if not changed:
            break
    return out


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------
def format_count(count, *, suppressed: bool = False, rules: DisclosureRules, lang: str = "fr",
                 kind: str = "person") -> str:
    """Format a count for publication.

    Parameters
    ----------
    count : int or None
        The exact count (or NA when already suppressed).
    suppressed : bool
        The cell was suppressed elsewhere (e.g. ``suppressed`` column).
    rules : DisclosureRules
    lang : {"fr", "en"}
    kind : {"person", "activity"}
        Person-attribute counts in 1..t-1 are shown ``"< t"`` even when
        ``suppressed`` is False; activity counts are printed as they are
        (unless ``rules.protect_activity``).

    Returns
    -------
    str
        ``"< 5"`` (with a non-breaking space), ``"n.d."``/``"[c]"`` for a
        suppressed count at or above the threshold, or the count (rounded to
        ``rules.round_to`` for person counts), with a thin grouping of
        thousands in French (``"1 234"``).

    Examples
    --------
    >>> format_count(3, rules=DisclosureRules())
    '<\\xa05'
    >>> format_count(11, rules=rules_from_config({"preset": "strict"}))
    '10'
    """
    person = kind == "person" or rules.protect_activity
    if suppressed or _isna(count):
        return _hidden_text(None if _isna(count) else count, rules, lang)
    c = float(count)
    if person and 1 <= c <= rules.min_cell - 1:
        return rules.hidden_label()
    if person and rules.round_to and c > 0:
        c = _round_base(c, rules.round_to)
    txt = f"{int(c):,}" if c == int(c) else f"{c:,}"
    return txt.replace(",", NBSP) if lang == "fr" else txt


def format_share(count, denominator, *, rules: DisclosureRules, lang: str = "fr",
                 sensitive: bool = True, decimals: int = 0) -> str:
    """Format ``count / denominator`` as a percentage, or say it is withheld.

    For a sensitive (person-attribute) share, returns ``"n.d."`` (English
    ``"[c]"``) when the count is in 1..t-1, the denominator is under
    ``rules.min_denominator``, or the share is 0 % or 100 % of a group under
    ``rules.small_group``; also when count or denominator is missing or the
    denominator is 0. French: ``"38 %"`` with a non-breaking space, decimal
    comma (``"38,5 %"``); English ``"38%"``.

    Examples
    --------
    >>> format_share(3, 8, rules=DisclosureRules(), lang="en")
    '[c]'
    >>> format_share(12, 40, rules=DisclosureRules())
    '30\\xa0%'
    >>> format_share(77, 200, rules=DisclosureRules(), decimals=1)
    '38,5\\xa0%'
    """
    withheld = tr("n.d.", "[c]", lang)
    if _isna(count) or _isna(denominator) or float(denominator) <= 0:
        return withheld
    c, d = float(count), float(denominator)
    if sensitive:
        if 1 <= c <= rules.min_cell - 1 or d < rules.min_denominator:
            return withheld
        if rules.no_extreme_shares and d < rules.small_group and (c == 0 or c == d):
            return withheld
    return _pct_text(100 * c / d, lang, decimals)


def publishable_sentence(template: str, *, rules: DisclosureRules, lang: str = "fr",
                         **values) -> str:
    """Fill a sentence template with publishable numbers.

    Each value is either a count (formatted with :func:`format_count`, as a
    person count) or a ``(count, denominator)`` pair (formatted with
    :func:`format_share`).

    Examples
    --------
    >>> publishable_sentence("{n} personnes trans sont venues ({p}).", n=3, p=(3, 40),
    ...                      rules=DisclosureRules())
    '<\\xa05 personnes trans sont venues (n.d.).'
    """
    filled = {}
    for k, v in values.items():
        if isinstance(v, tuple) and len(v) == 2:
            filled[k] = format_share(v[0], v[1], rules=rules, lang=lang)
        else:
            filled[k] = format_count(v, rules=rules, lang=lang)
    return template.format(**filled)


@dataclass(frozen=True)
class Finding:
    """Something found in an output that may disclose a person.

    Attributes
    ----------
    file : str
        File (relative to the scanned folder), with ``[sheet]`` or
        ``[table N]`` when relevant; ``""`` for a text checked alone.
    location : str
        Where in the file (``"ligne 3, colonne count"``), never the value.
    kind : str
        ``small_cell``, ``extreme_share``, ``email``, ``phone``, ``nir``,
        ``address``, ``birth_date``, ``name``, ``pseudonym``, ``row_level``,
        ``exact_date``, ``exact_age``, ``free_text``, ``identifier_column``,
        ``unreadable``.
    severity : str
        ``"error"`` (would disclose: ``check-outputs`` exits 2) or
        ``"notice"`` (could not be checked, e.g. a PNG image).
    """

    file: str
    location: str
    kind: str
    severity: str = "error"

    def format(self, lang: str = "fr") -> str:
        """One line, e.g. ``tables/x.csv, ligne 3, colonne count : petit effectif``."""
        what = tr(*_KIND_TEXT.get(self.kind, (self.kind, self.kind)), lang)
        head = ", ".join(x for x in (self.file, self.location) if x)
        sep = " : " if lang == "fr" else ": "
        return f"{head}{sep}{what}" if head else what


_KIND_TEXT = {
    "small_cell": ("effectif de personnes sous le seuil (à masquer)",
                   "count of people under the threshold (must be hidden)"),
    "extreme_share": ("0 % ou 100 % sur un petit groupe", "0% or 100% on a small group"),
    "email": ("adresse e-mail", "e-mail address"),
    "phone": ("numéro de téléphone", "phone number"),
    "nir": ("numéro de sécurité sociale (NIR)", "social security number (NIR)"),
    "address": ("adresse postale", "postal address"),
    "birth_date": ("date de naissance", "date of birth"),
    "name": ("nom ou prénom", "name"),
    "pseudonym": ("pseudonyme de personne", "person pseudonym"),
    "row_level": ("données individuelles (une ligne par personne ou par passage)",
                  "row-level records (one row per person or visit)"),
    "exact_date": ("date exacte à côté de caractéristiques de personnes",
                   "exact date next to people's characteristics"),
    "exact_age": ("âge exact", "exact age"),
    "free_text": ("colonne de texte libre : à relire avant diffusion",
                  "free-text column: read it before sharing"),
    "identifier_column": ("colonne d'identifiant", "identifier column"),
    "unreadable": ("fichier image non lisible par la vérification : à contrôler à l'œil",
                   "image file the check cannot read: check it by eye"),
    "unparsable": ("fichier illisible : à contrôler à l'œil",
                   "file could not be read: check it by eye"),
    "recoverable_cell": ("case masquée retrouvée ou presque en combinant les tableaux",
                         "hidden cell recovered, or nearly, by combining the tables"),
}

_DATE_TOKEN = re.compile(r"(?<!\d)(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}-\d{1,2}-\d{1,2})(?!\d)")
_LONG_TOKEN = re.compile(r"[0-9A-Za-z+/=_\-]{24,}")
_NUMERIC_SAFE = re.compile(r"^[-+]?(?:\d+\.\d+|[1-9]\d{0,8}|0)(?:[eE][-+]?\d+)?$")
#: A pseudonym by its shape: 16 lowercase hexadecimal characters (qsp_eval.privacy) or a
#: longer run of them (the full 64-character HMAC, a pseudonym glued to another), anywhere.
_PSEUDONYM = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{16,}(?![0-9A-Za-z])")
#: Words that announce a file checksum just before a hex run (manifest.json: "sha256").
_CHECKSUM_WORDS = re.compile(r"(?:sha-?256|sha-?1|md5|checksum|digest|hash)\W{0,6}$",
                             re.IGNORECASE)


_AGE_TEXT = re.compile(
    r"(?:\bâg[ée]+(?:·e|\(e\)|e)?s?\s+de\s+\d{1,3}\s*ans\b|\baged\s+\d{1,3}\b"
    r"|\b\d{1,3}[- ]year[- ]old\b|\b\d{1,3}\s*ans\s*,\s*(?:homme|femme|personne))",
    re.IGNORECASE,
)
_PEOPLE_WORDS = (
    r"personnes?|people|persons?|r[ée]pondant(?:·e|\(e\)|e)?s?|respondents?|femmes?|hommes?|"
    r"visiteu(?:r|se|r·euse)s?|visitors?|usag[eè]r(?:·e|e)?s?|participant(?:·e|e)?s?|"
    r"men|women|individus?|individuals?|personnes? trans|gars|meufs?"
)
_NUMBER_WORDS = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
                 "neuf": 9, "dix": 10, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10}
_SMALL_TEXT = re.compile(
    rf"(?<![\d.,<\w])(?<!<\s)(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})\s+(?:[\w·-]+\s+)?"
    rf"(?:{_PEOPLE_WORDS})\b",
    re.IGNORECASE)
_THOUSANDS_SEP = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")
_EXTREME_TEXT = re.compile(r"(?<![\d,.])(?:100|0)\s?%\s*(?:des|of|de|d')\s+(?:\w+\s+){0,2}"
                           r"(\d{1,3})\b", re.IGNORECASE)


def _has_pseudonym(text: str) -> bool:
    """A hex run of pseudonym length (16 or more) that is not a number nor a declared checksum.

    ``1234567890123456.0`` (a float as a CSV writes it) or ``…,00`` is a number, never a
    person's pseudonym; 16 digits standing alone are still taken for one.

    Examples
    --------
    >>> _has_pseudonym("ci_high 1234567890123456.0"), _has_pseudonym("0,1234567890123456")
    (False, False)
    >>> _has_pseudonym("3fa94c0d12ab67e9"), _has_pseudonym("1234567890123456")
    (True, True)
    """
    for m in _PSEUDONYM.finditer(text):
        tok = m.group(0)
        if tok.isdigit() and (re.match(r"[.,]\d", text[m.end():m.end() + 2])
                              or re.search(r"\d[.,]$", text[:m.start()])):
            continue  # the digits of a number
        if _CHECKSUM_WORDS.search(text[max(0, m.start() - 30):m.start()]):
            continue  # a checksum announced as such ("sha256": "...")
        return True
    return False


def _line_findings(text: str, *, rules: DisclosureRules, file: str, where: str,
                   pseudonyms: frozenset = frozenset(), people_text: bool = True) -> list:
    kind, pseudo, age, small, extreme = _line_kinds(text, people_text, rules.min_cell,
                                                    rules.small_group)
    out = []
    if kind:
        out.append(Finding(file, where, kind))
    if pseudo or (pseudonyms and any(p and p in text for p in pseudonyms)):
        out.append(Finding(file, where, "pseudonym"))
    if age:
        out.append(Finding(file, where, "exact_age"))
    if small:
        out.append(Finding(file, where, "small_cell"))
    if extreme:
        out.append(Finding(file, where, "extreme_share"))
    return out


@functools.lru_cache(maxsize=65536)
def _line_kinds(text: str, people_text: bool, min_cell: int, small_group: int) -> tuple:
    """What :func:`_line_findings` finds in ``text`` (a function of the text alone, remembered:
    the cells of a folder repeat a lot): identifier kind or None, 16-hex pseudonym, exact age,
    small number of people, 0 %/100 % of a small group."""
    from .privacy import detect_identifier

    kind = None
    if not _NUMERIC_SAFE.match(text.strip()):
        masked = _LONG_TOKEN.sub(" ", _DATE_TOKEN.sub(" ", text))
        kind = detect_identifier(masked, dates=False)
        if kind is None:
            for m in _DATE_TOKEN.finditer(text):
                if detect_identifier(m.group(0)) == "birth_date":
                    kind = "birth_date"
                    break
    small = extreme = False
    if people_text:
        # "1 000 personnes" (French thousands separator) is one number, not "1" and "000"
        t = _THOUSANDS_SEP.sub("", text)
        for m in _SMALL_TEXT.finditer(t):
            word = m.group(1).lower()
            n = _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)
            if 1 <= n <= min_cell - 1:
                small = True
                break
        for m in _EXTREME_TEXT.finditer(t):
            if int(m.group(1)) < small_group:
                extreme = True
                break
    return kind, _has_pseudonym(text), bool(_AGE_TEXT.search(text)), small, extreme


def check_text(text: str, *, rules: DisclosureRules, pseudonyms: Iterable[str] = ()) -> list:
    """Check a sentence or a paragraph before publishing it.

    Looks for: a number of people under the threshold (``"3 personnes"``,
    ``"2 respondents"``...), 0 % / 100 % of a small group (``"100 % des 3
    répondants"``), identifiers (e-mail, phone, NIR, postal address, date of
    birth: :func:`qsp_eval.privacy.detect_identifier`), 16-hex-character
    pseudonyms and the given known ``pseudonyms``, exact ages (``"âgée de 34
    ans"``, ``"aged 34"``).

    Returns
    -------
    list of Finding
        ``location`` is ``"ligne N"`` (1-based line of ``text``); empty when
        the text is publishable.

    Examples
    --------
    >>> [f.kind for f in check_text("3 personnes trans sont venues.", rules=DisclosureRules())]
    ['small_cell']
    >>> check_text("< 5 personnes trans sont venues.", rules=DisclosureRules())
    []
    """
    ps = frozenset(str(p) for p in pseudonyms)
    out = []
    for i, line in enumerate(str(text).splitlines() or [""], start=1):
        out += _line_findings(line, rules=rules, file="", where=tr(f"ligne {i}", f"line {i}"),
                              pseudonyms=ps)
    return out


# ---------------------------------------------------------------------------
# Scanning a finished output folder
# ---------------------------------------------------------------------------
_COUNT_HEADERS = {"count", "n", "people", "effectif", "effectifs", "nombre", "personnes",
                  "nb", "visits", "passages", "responses", "reponses"}
_ID_HEADERS = {"person id", "visitor code", "code visiteur", "pseudonym", "pseudonyme",
               "person", "visitor", "code personne", "id personne"}
_SKIP_HEADER_WORDS = {"share", "part", "ci", "ic", "low", "high", "p", "value", "rate", "taux",
                      "ratio", "estimate", "estimation", "mean", "moyenne", "year", "annee",
                      "month", "mois", "period", "periode", "week", "semaine", "trimestre",
                      "quarter", "denominator", "denominateur", "total", "id", "rank", "rang",
                      "pct", "percent", "pourcentage", "%"}
_DISTINCTIVE_VOCABS = ("gender", "orientation", "age_band", "products", "heard_via")
_INT = re.compile(r"^\s*\d+(?:[.,]0+)?\s*$")


def _norm_header(h) -> str:
    from .schema import normalise_label

    return normalise_label(str(h))


def _is_sensitive_label(value) -> bool:
    from .schema import lookup_code

    s = str(value).strip()
    if not s or _INT.match(s):
        return False
    if s in SENSITIVE_FIELDS:
        return True
    for voc in _DISTINCTIVE_VOCABS:
        code = lookup_code(voc, s)
        if code is not None and code not in ("other", "unknown"):
            return True
    return False


def _table_findings(header: list, rows: list[list], *, rules: DisclosureRules, file: str,
                    marked: str | None, pseudonyms: frozenset, lang: str) -> list:
    """Check one table given as a header and rows of strings."""
    out: list = []
    hn = [_norm_header(h) for h in header]
    t = rules.min_cell

    def where(r, c):
        col = str(header[c]) if c < len(header) else str(c + 1)
        return tr(f"ligne {r + 2}, colonne « {col} »", f"row {r + 2}, column '{col}'", lang)

    from .privacy import identifier_column_kind, is_free_text_column

    # column-level checks
    for c, h in enumerate(header):
        n = hn[c]
        if n in _ID_HEADERS or n.replace(" ", "_") in ("person_id", "visitor_code"):
            out.append(Finding(file, tr(f"colonne « {h} »", f"column '{h}'", lang), "row_level"))
        elif identifier_column_kind(h) is not None:
            out.append(Finding(file, tr(f"colonne « {h} »", f"column '{h}'", lang),
                               "identifier_column"))
        elif is_free_text_column(h):
            texts = [r[c] for r in rows if c < len(r) and str(r[c]).strip()
                     and not _INT.match(str(r[c])) and not _NUMERIC_SAFE.match(str(r[c]).strip())
                     and str(r[c]).strip().lower() not in ("true", "false", "oui", "non")]
            if texts:
                out.append(Finding(file, tr(f"colonne « {h} »", f"column '{h}'", lang),
                                   "free_text", "notice"))
        elif n in ("age", "age exact", "exact age"):
            vals = [r[c] for r in rows if c < len(r) and _INT.match(str(r[c]))]
            if vals:
                out.append(Finding(file, tr(f"colonne « {h} »", f"column '{h}'", lang),
                                   "exact_age"))
    # cell-level identifiers
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            s = str(cell)
            if not s or s in ("nan", "<NA>", "None"):
                continue
            for f in _line_findings(s, rules=rules, file=file, where=where(r, c),
                                    pseudonyms=pseudonyms, people_text=False):
                out.append(f)
    # person-attribute tables
    if marked == "activity":
        return out
    field_c = next((c for c, n in enumerate(hn) if n in ("field", "champ")), None)
    sens_cols = [c for c, n in enumerate(hn) if n.replace(" ", "_") in SENSITIVE_FIELDS]
    label_rows = [r for r, row in enumerate(rows) if any(_is_sensitive_label(x) for x in row)]
    header_labels = any(_is_sensitive_label(h) for h in header)
    count_cs = [c for c, n in enumerate(hn) if n in _COUNT_HEADERS]
    has_date = any(n in ("date", "session id", "jour", "day") for n in hn)
    person_rows: list[int]
    group_c = next((c for c, n in enumerate(hn)
                    if n in ("group", "groupe", "answer", "reponse", "category", "categorie")),
                   None)
    person_rows = []
    if field_c is not None and group_c is not None:
        person_rows = [r for r, row in enumerate(rows)
                       if field_c < len(row) and str(row[field_c]).strip() in SENSITIVE_FIELDS]
    elif field_c is not None and marked != "person":
        label_rows = []  # a field without groups (e.g. completeness by field) is not a profile
    if not person_rows:
        if marked == "person" or sens_cols or header_labels or label_rows:
            # a table with sensitive labels: every row except totals (a reporting
            # group such as "tanb" has no vocabulary label of its own)
            person_rows = [r for r, row in enumerate(rows)
                           if not (row and _norm_header(row[0]) in ("total", "ensemble"))]
    if not person_rows:
        return out
    if sens_cols and not count_cs and len(rows) > 1 and field_c is None:
        out.append(Finding(file, tr("tableau", "table", lang), "row_level"))
    if has_date:
        out.append(Finding(file, tr("tableau", "table", lang), "exact_date"))
    if count_cs:
        check_cs = count_cs
    else:
        check_cs = [c for c, n in enumerate(hn)
                    if not (set(n.split()) & _SKIP_HEADER_WORDS) and c not in sens_cols
                    and c != field_c]
    den_c = next((c for c, n in enumerate(hn) if n in ("denominator", "denominateur")), None)
    share_cs = [c for c, n in enumerate(hn) if n in ("share", "share known", "part")]
    for r in person_rows:
        row = rows[r]
        for c in check_cs:
            if c >= len(row):
                continue
            s = str(row[c]).strip()
            if _INT.match(s):
                v = int(float(s.replace(",", ".")))
                base = rules.round_to
                # with rounding, a published multiple of the base may stand for a count
                # at or above the threshold (strict: 10 stands for 11 or 12)
                rounded_ok = bool(base) and v % base == 0 and v + base // 2 >= t
                if 1 <= v <= t - 1 and not rounded_ok:
                    out.append(Finding(file, where(r, c), "small_cell"))
        unknown_row = group_c is not None and group_c < len(row) and _norm_header(
            str(row[group_c])) in ("unknown", "non renseigne", "not stated")
        if den_c is not None and den_c < len(row) and _INT.match(str(row[den_c])) \
                and not unknown_row:
            d = int(float(str(row[den_c]).replace(",", ".")))
            if d < rules.small_group:
                for c in share_cs:
                    if c < len(row):
                        try:
                            v = float(str(row[c]).replace(",", ".").replace("%", ""))
                        except ValueError:
                            continue
                        if v in (0.0, 1.0, 100.0) and str(row[c]).strip():
                            out.append(Finding(file, where(r, c), "extreme_share"))
    return out


def _frame_rows(df) -> tuple[list, list[list]]:
    header = [str(c) for c in df.columns]
    rows = [["" if _isna(v) else (str(int(v)) if isinstance(v, float) and v == int(v) else str(v))
             for v in rec] for rec in df.itertuples(index=False, name=None)]
    return header, rows


class _HTMLCollector:
    """Collect tables (with their marking) and text lines from an HTML/SVG document."""

    def __init__(self):
        from html.parser import HTMLParser

        outer = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                outer.start(tag, dict(attrs))

            def handle_endtag(self, tag):
                outer.end(tag)

            def handle_data(self, data):
                outer.data(data)

            def handle_comment(self, data):
                if "qsp:person" in data:
                    outer.pending_mark = "person"
                elif "qsp:activity" in data:
                    outer.pending_mark = "activity"

        self.parser = P(convert_charrefs=True)
        self.tables: list[dict] = []
        self.stack: list[dict] = []
        self.text: list[str] = []
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.pending_mark: str | None = None
        self.skip = 0

    def start(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "table":
            cls = ((attrs.get("class") or "") + " " + (attrs.get("data-qsp") or "")).split()
            mark = self.pending_mark or None
            if "person" in cls or "qsp-person" in cls:
                mark = "person"
            elif "activity" in cls or "qsp-activity" in cls:
                mark = "activity"
            self.pending_mark = None
            self.stack.append({"rows": [], "marked": mark})
        elif tag == "tr" and self.stack:
            self.row = []
        elif tag in ("td", "th") and self.stack:
            self.cell = []
        elif tag in ("br", "p", "div", "li", "h1", "h2", "h3", "h4", "tspan", "text"):
            self.text.append("\n")

    def end(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.stack:
            self.stack[-1]["rows"].append(self.row)
            self.row = None
        elif tag == "table" and self.stack:
            self.tables.append(self.stack.pop())
        elif tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "text", "tspan", "title"):
            self.text.append("\n")

    def data(self, data):
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif not self.stack:
            self.text.append(data)

    def feed(self, s):
        self.parser.feed(s)
        self.parser.close()


def _markdown_tables(lines: list[str]):
    """Yield (first_line_no, header, rows, marked) for pipe tables; other lines as text."""
    i = 0
    n = len(lines)
    tables, text = [], []
    while i < n:
        line = lines[i]
        if line.strip().startswith("|") and i + 1 < n and re.match(
                r"^\s*\|?\s*:?-{3,}", lines[i + 1]):
            start = i
            header = [c.strip() for c in line.strip().strip("|").split("|")]
            i += 2
            rows = []
            while i < n and lines[i].strip().startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            prev = " ".join(lines[max(0, start - 3):start])
            mark = "person" if "qsp:person" in prev else (
                "activity" if "qsp:activity" in prev else None)
            tables.append((start + 1, header, rows, mark))
            continue
        text.append((i + 1, line))
        i += 1
    return tables, text


def manifest(rules: DisclosureRules, person_tables: Iterable[str] = (),
             activity_tables: Iterable[str] = ()) -> dict:
    """Content of the ``disclosure.json`` manifest an output folder may carry.

    ``person_tables`` lists files (relative paths, ``"tables.xlsx[sheet]"``
    for a sheet) that are person-attribute tables but do not follow the
    long-form convention; ``activity_tables`` lists tables that must not be
    taken for person tables (e.g. drug-checking results by product);
    :func:`scan_outputs` reads the rules and these lists.

    Examples
    --------
    >>> manifest(DisclosureRules(), ["tables/wide.csv"])["person_tables"]
    ['tables/wide.csv']
    """
    return {"rules": {f.name: getattr(rules, f.name) for f in fields(rules)
                      if f.name != "secondary"},
            "person_tables": list(person_tables), "activity_tables": list(activity_tables)}


def scan_outputs(folder, *, rules: DisclosureRules | None = None,
                 pseudonyms: Iterable[str] | None = None, lang: str = "fr",
                 include_notices: bool = False, only: Iterable[str] | None = None,
                 skip: Iterable[str] = ()) -> list:
    """Re-scan a finished output folder for anything that could disclose a person.

    Reads every file under ``folder``: CSV (``,`` or ``;``, UTF-8 or
    Windows-1252), XLSX (every sheet), Parquet, HTML, Markdown, DOCX
    (paragraphs and tables), SVG (its text), JSON/TXT/YAML/IPYNB (as text).
    PNG, JPEG, GIF and PDF files cannot be read: each gives a ``notice``.

    A table is a **person-attribute table** when (the convention outputs must
    follow, see ``docs/disclosure.md``): it has a ``field`` column (then the
    rows whose ``field`` is in :data:`qsp_eval.schema.SENSITIVE_FIELDS` are
    checked); or a column named after a sensitive field (``gender``...); or
    a header or row label that is a label of a sensitive vocabulary
    (``Femme trans``, ``18-24 ans``...); or it is marked: HTML
    ``<table class="qsp-person">`` / ``data-qsp="person"``, Markdown
    ``<!-- qsp:person -->`` just above the table, or listed in
    ``person_tables`` of the folder's ``disclosure.json`` (:func:`manifest`).
    In such a table, integer cells of count columns (``count``, ``n``,
    ``people``, ``effectif``...; or, without one, every column that is not a
    share, interval, period or total) between 1 and t-1 are reported, and
    0 % / 100 % shares on a denominator under ``small_group``.

    Everywhere: e-mail, phone numbers, NIR, postal addresses, dates of birth
    (:func:`qsp_eval.privacy.detect_identifier`), 16-hex-character
    pseudonyms and the given ``pseudonyms``, columns of person codes or
    identifiers or free text (row-level records), a person-attribute table
    with a date column, exact ages; in text (Markdown, HTML, DOCX, SVG), small
    numbers of people and 0 %/100 % of small groups as :func:`check_text`.

    Parameters
    ----------
    folder : path-like
    rules : DisclosureRules, optional
        Default: those of ``disclosure.json`` in the folder, else the default
        preset.
    pseudonyms : iterable of str, optional
        Known pseudonyms to look for (never printed).
    only, skip : iterable of str, optional
        Relative paths (``tables/tables.xlsx``) to scan alone, or to leave out (a file
        scanned separately, e.g. by the report's worker while the HTML is built).
    lang : {"fr", "en"}
        Language of the locations.
    include_notices : bool
        Also return ``notice`` findings (files that cannot be checked, such
        as PNG images). Off by default, so that any returned finding is a
        problem; ``check-outputs`` lists them.

    Returns
    -------
    list of Finding
        Never contains the value found, only where and what.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.csv").write_text("field,group,count\\ngender,trans_man,3\\n")
    >>> [f.kind for f in scan_outputs(d)]
    ['small_cell']
    """
    from .io import read_json

    root = Path(folder)
    ps = frozenset(str(p) for p in (pseudonyms or ()) if str(p))
    marked_files: dict = {"person": set(), "activity": set()}
    mpath = root / MANIFEST_NAME
    if mpath.is_file():
        try:
            man = read_json(mpath)
        except (ValueError, OSError):
            man = {}
        marked_files = {"person": set(man.get("person_tables", []) or []),
                        "activity": set(man.get("activity_tables", []) or [])}
        if rules is None and isinstance(man.get("rules"), dict):
            r = {k: v for k, v in man["rules"].items() if k in _KEYS}
            try:
                rules = replace(DisclosureRules(), **r)
            except TypeError:
                rules = None
    rules = rules or DisclosureRules()
    out: list = []
    only = None if only is None else {str(x) for x in only}
    skip = {str(x) for x in skip}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST_NAME or rel in skip or (only is not None and rel not in only):
            continue
        ext = path.suffix.lower()
        try:
            out += _scan_file(path, rel, ext, rules=rules, ps=ps, marked_files=marked_files,
                              lang=lang)
        except Exception:  # noqa: BLE001 - a file we cannot parse must be looked at by a human
            out.append(Finding(rel, "", "unparsable"))
    if not include_notices:
        out = [f for f in out if f.severity == "error"]
    return out


def _scan_file(path, rel, ext, *, rules, ps, marked_files, lang):
    # the files are read by qsp_eval.io; what may be published is decided here
    from . import io as qio

    out: list = []
    tab_word, line_word = tr("tableau", "table", lang), tr("ligne", "line", lang)

    def table(header, rows, name, marked=None):
        if name in marked_files.get("person", ()) or rel in marked_files.get("person", ()):
            marked = "person"
        elif name in marked_files.get("activity", ()) or rel in marked_files.get("activity", ()):
            marked = marked or "activity"
        return _table_findings(header, rows, rules=rules, file=name, marked=marked,
                               pseudonyms=ps, lang=lang)

    def text_lines(lines, name, where, people_text=True):
        res = []
        for no, line in lines:
            res += _line_findings(line, rules=rules, file=name, where=where(no), pseudonyms=ps,
                                  people_text=people_text)
        return res

    def html(raw, name, prefix=""):
        res = []
        col = _HTMLCollector()
        col.feed(raw)
        for k, tb in enumerate(col.tables, start=1):
            rows = tb["rows"]
            if rows:
                res += table(rows[0], rows[1:], f"{name}[{prefix}{tab_word} {k}]", tb["marked"])
        lines = "".join(col.text).splitlines()
        res += text_lines([(i + 1, x) for i, x in enumerate(lines) if x.strip()], name,
                          lambda no: (prefix + tr(f"texte, ligne {no}", f"text, line {no}", lang)))
        if "data:image/png" in raw or "data:image/jpeg" in raw:
            res.append(Finding(name, prefix.rstrip(", "), "unreadable", "notice"))
        return res

    def markdown(lines, name, prefix=""):
        res = []
        tables, text = _markdown_tables(lines)
        for k, (start, header, rows, marked) in enumerate(tables, start=1):
            res += table(header, rows, f"{name}[{prefix}{tab_word} {k}, {line_word} {start}]",
                         marked)
        return res + text_lines(text, name, lambda no: prefix + f"{line_word} {no}")

    if ext in (".png", ".jpg", ".jpeg", ".gif", ".pdf", ".webp", ".tif", ".tiff"):
        return [Finding(rel, "", "unreadable", "notice")]
    if ext in (".csv", ".tsv", ".parquet"):
        header, rows = _frame_rows(qio.read_output_table(path))
        return table(header, rows, rel)
    if ext in (".xlsx", ".xlsm"):
        for title, sheet_rows in qio.read_output_workbook(path).items():
            vals = [["" if v is None else (str(int(v)) if isinstance(v, float) and v == int(v)
                                           else str(v)) for v in row]
                    for row in sheet_rows]
            vals = [r for r in vals if any(x != "" for x in r)]
            if not vals:
                continue
            name = f"{rel}[{title}]"
            out += table(vals[0], vals[1:], name)
        return out
    if ext in (".html", ".htm", ".svg"):
        return html(qio.read_text_file(path, errors="replace"), rel)
    if ext in (".md", ".markdown"):
        return markdown(qio.read_text_file(path, errors="replace").splitlines(), rel)
    if ext == ".ipynb":
        nb = qio.read_json(path)
        for k, cell in enumerate(nb.get("cells", []), start=1):
            prefix = tr(f"cellule {k}, ", f"cell {k}, ", lang)
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            if cell.get("cell_type") == "markdown":
                out += markdown(src.splitlines(), rel, prefix)
                continue
            out += text_lines(list(enumerate(src.splitlines(), start=1)), rel,
                              lambda no, p=prefix: p + f"{line_word} {no}", people_text=False)
            for o in cell.get("outputs", []) or []:
                data = o.get("data") or {}

                def joined(v):
                    return "".join(v) if isinstance(v, list) else str(v)

                if "text/html" in data:
                    out += html(joined(data["text/html"]), rel, prefix)
                elif "text/markdown" in data:
                    out += markdown(joined(data["text/markdown"]).splitlines(), rel, prefix)
                elif "text/plain" in data or "text" in o:
                    txt = joined(data.get("text/plain", o.get("text", "")))
                    out += text_lines(list(enumerate(txt.splitlines(), start=1)), rel,
                                      lambda no, p=prefix: p + tr(f"sortie, ligne {no}",
                                                                  f"output, line {no}", lang),
                                      people_text=False)
                if "image/png" in data or "image/jpeg" in data:
                    out.append(Finding(rel, prefix.rstrip(", "), "unreadable", "notice"))
        return out
    if ext in (".txt", ".json", ".yml", ".yaml", ".tex", ".rst"):
        lines = qio.read_text_file(path, errors="replace").splitlines()
        return text_lines(list(enumerate(lines, start=1)), rel,
                          lambda no: f"{line_word} {no}")
    if ext == ".docx":
        doc = qio.read_docx(path)
        paras = [(i + 1, p.text) for i, p in enumerate(doc.paragraphs)]
        out += text_lines(paras, rel, lambda no: tr(f"paragraphe {no}", f"paragraph {no}", lang))
        for k, tb in enumerate(doc.tables, start=1):
            rows = [[c.text for c in r.cells] for r in tb.rows]
            if rows:
                out += table(rows[0], rows[1:], f"{rel}[{tab_word} {k}]")
        return out
    return out


# ---------------------------------------------------------------------------
# Report-wide audit: every person cell of a published folder, every relation
# ---------------------------------------------------------------------------
_YEAR = re.compile(r"^\d{4}$")


def _num(x):
    """Float of a published cell ("" or unparsable: None)."""
    if x is None:
        return None
    s = str(x).strip().replace("\u00a0", "").replace(" ", "")
    if not s or s.lower() in ("nan", "<na>", "none"):
        return None
    try:
        return float(s.replace(",", ".")) if s.count(",") == 1 and "." not in s else float(s)
    except ValueError:
        return None


def _truthy(x) -> bool:
    return str(x).strip().lower() in ("true", "1", "yes", "vrai")


@dataclass
class ReportModel:
    """What a reader can derive about the person cells of an output folder.

    Built by :func:`report_model` from the published files only. Each variable
    is one person cell (the same cell published in two tables is one
    variable); ``low``/``high`` are what its display says (published exactly:
    its value; rounded to a base: the values that round to it; ``< t``:
    ``0 .. t-1``; ``n.d.``: ``t ..``); ``constraints`` are linear relations
    ``low <= sum(coef * x) <= high`` a reader knows (margins, reporting
    groups, known denominators, people <= visits, newcomers <= everyone,
    sub-periods adding up, derived groups bounded by their parts...).

    Attributes
    ----------
    keys : list of tuple
        ``(population, period, field, level, group, unit, question)`` per variable.
    low, high : list of float
    hidden : list of str
        ``""`` (published), ``"small"`` (shown ``< t``), ``"other"`` (``n.d.``: at least
        t) or ``"any"`` (a visits cell shown ``n.d.`` next to people: any value).
    where : list of str
        ``table, row N`` of a publication of each variable.
    constraints : list of (dict, float, float)
        ``({variable: coefficient}, low, high)``.
    threshold : int
    """

    keys: list = field(default_factory=list)
    low: list = field(default_factory=list)
    high: list = field(default_factory=list)
    hidden: list = field(default_factory=list)
    where: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    threshold: int = 5
    index: dict = field(default_factory=dict, repr=False)
    kinds: list = field(default_factory=list, repr=False)

    def var(self, key, where=""):
        """Index of the variable of ``key`` (created unbounded when new)."""
        i = self.index.get(key)
        if i is None:
            i = len(self.keys)
            self.index[key] = i
            self.keys.append(key)
            self.low.append(0.0)
            self.high.append(float(_BIG))
            self.hidden.append("")
            self.where.append(where)
        return i

    def bound(self, i, lo, hi, hidden=""):
        """Intersect the bounds of variable ``i`` with ``[lo, hi]``."""
        self.low[i] = max(self.low[i], float(lo))
        self.high[i] = min(self.high[i], float(hi))
        if hidden and not self.hidden[i]:
            self.hidden[i] = hidden

    def add(self, coefs: dict, lo, hi, kind: str = ""):
        """Add the relation ``lo <= sum(coef * x) <= hi`` (``kind``: what it says)."""
        coefs = {k: v for k, v in coefs.items() if v}
        if coefs:
            self.constraints.append((coefs, float(lo), float(hi)))
            self.kinds.append(kind)

    def violations(self, values) -> list:
        """Relations and bounds the given values break (empty: they are feasible)."""
        bad = []
        for i, v in enumerate(values):
            if v is not None and not (self.low[i] - 1e-6 <= v <= self.high[i] + 1e-6):
                bad.append(("bound", self.keys[i], v, self.low[i], self.high[i]))
        for coefs, lo, hi in self.constraints:
            if any(values[k] is None for k in coefs):
                continue
            s = sum(c * values[k] for k, c in coefs.items())
            if not (lo - 1e-6 <= s <= hi + 1e-6):
                bad.append(("relation", [self.keys[k] for k in coefs], s, lo, hi))
        return bad


def _rules_of_folder(folder, rules):
    from . import io as qio

    if rules is not None:
        return rules, None
    path = Path(folder) / MANIFEST_NAME
    man = None
    if path.is_file():
        try:
            man = qio.read_json(path)
        except ValueError:
            man = None
    r = (man or {}).get("rules") or {}
    known = {f.name for f in fields(DisclosureRules)}
    return DisclosureRules(**{k: v for k, v in r.items() if k in known}), man


def report_model(folder, *, rules: DisclosureRules | None = None) -> ReportModel:
    """Rebuild, from a finished output folder only, the person cells and their relations.

    Reads ``tables/*.csv`` and ``disclosure.json`` (the person tables and the
    rules). Person cells: rows of the person tables (profiles, newcomers,
    before/after, survey results) and the "not stated" counts of the
    completeness table. A before/after side whose ``window`` is one calendar
    year is the same cell as that year's column of the profile tables. Relations:
    each block's cells add up to its published denominator (multi-select:
    each cell at most the denominator), or to the visits / distinct people /
    first-time visitors of the year published by ``attendance_by_year``; cells
    of known answers add up to ``known_denominator``; a reporting group is the
    sum of its members (the one reporting code absent from the detail level is
    the sum of the detail codes absent from the reporting level); people <=
    visits; newcomers <= everyone; cis men practising chemsex <= cis men and
    <= people practising chemsex; quarters or months of the completeness table
    add up to the year; shares published with exact denominators bound their
    count.

    Returns
    -------
    ReportModel
    """
    from . import io as qio

    rules, man = _rules_of_folder(folder, rules)
    t = rules.min_cell
    half = (rules.round_to // 2) if rules.round_to else 0
    tdir = Path(folder) / "tables"
    person = set()
    if man is None:
        _, man = _rules_of_folder(folder, None)
    for name in (man or {}).get("person_tables", []) or []:
        if str(name).startswith("tables/") and str(name).endswith(".csv"):
            person.add(Path(name).stem)
    m = ReportModel(threshold=t)
    tables = {}
    for p in sorted(tdir.glob("*.csv")) if tdir.is_dir() else []:
        try:
            tables[p.stem] = qio.read_output_table(p)
        except Exception:  # noqa: BLE001 - unreadable tables are the scanner's business
            continue

    def col(df, c):
        return df[c].astype(str).tolist() if c in df.columns else [""] * len(df)

    # reporting-only codes per field (from tables that show both levels)
    rep_only: dict = {}
    for name in person:
        df = tables.get(name)
        if df is None or "level" not in df.columns or "field" not in df.columns:
            continue
        for f, g in df.groupby("field", sort=False):
            rep = set(g.loc[g["level"] == "reporting", "group"])
            det = set(g.loc[g["level"] == "detail", "group"])
            if rep and det:
                rep_only.setdefault(f, set()).update(rep - det)

    # multi-select fields (a cell per option: they do not add up), marked in any table
    multi_fields = {"products"}
    for name in person:
        df = tables.get(name)
        if df is not None and {"multi", "field"} <= set(df.columns):
            multi_fields |= set(df.loc[df["multi"].map(_truthy), "field"])

    def level_of(f, lvl, g):
        if lvl == "derived":
            return "derived"
        return "reporting" if lvl == "reporting" and g in rep_only.get(f, set()) else "detail"

    def set_cell(i, count, shown, supp):
        if supp:
            if shown.startswith("<"):
                m.bound(i, 0, t - 1, "small")
            else:
                m.bound(i, t, _BIG, "other")
        elif count is not None:
            m.bound(i, max(0, count - half), count + half)

    blocks: dict = {}      # block key -> {"vars": {group: var}, "den": .., "kden": .., multi}
    for name in sorted(person):
        df = tables.get(name)
        if df is None or "count" not in df.columns:
            continue
        survey = "survey" in df.columns and "question" in df.columns
        if not survey and not {"field", "group", "unit"} <= set(df.columns):
            continue
        pops, pers, evs = col(df, "population"), col(df, "period"), col(df, "event")
        wins = col(df, "window")
        cnts, shown, supp = col(df, "count"), col(df, "count_display"), col(df, "suppressed")
        dens, kdens = col(df, "denominator"), col(df, "known_denominator")
        any_visits = "unit" in df.columns and "people" in set(df["unit"].astype(str))
        shares = col(df, "share")
        multi = col(df, "multi")
        if survey:
            flds = ["survey:" + s for s in col(df, "survey")]
            grps, units, qs = col(df, "answer"), col(df, "unit"), col(df, "question")
            lvls = ["detail"] * len(df)
            multi = ["True" if ty in ("multi",) else "False" for ty in col(df, "type")]
        else:
            flds, grps, units = col(df, "field"), col(df, "group"), col(df, "unit")
            qs, lvls = [""] * len(df), col(df, "level")
        for r in range(len(df)):
            f, g, lvl = flds[r], grps[r], lvls[r]
            if "event" in df.columns:
                per = wins[r] if _YEAR.match(wins[r]) else f"{evs[r]}|{pers[r]}"
            else:
                per = pers[r]
            key = (pops[r], per, f, level_of(f, lvl, g), g, units[r], qs[r])
            i = m.var(key, f"{name}, row {r + 2}")
            sup = _truthy(supp[r])
            c = _num(cnts[r])
            if sup and ((any_visits and units[r] == "visits") or pops[r]):
                m.bound(i, 0, _BIG, "any")  # shown n.d. whatever its value
            else:
                set_cell(i, c, shown[r], sup)
            bkey = (name, pops[r], per, f, lvl, units[r], qs[r], evs[r])
            b = blocks.setdefault(bkey, {"vars": {}, "den": None, "kden": None,
                                         "multi": _truthy(multi[r]) or f in multi_fields})
            b["vars"][g] = i
            d, kd = _num(dens[r]), _num(kdens[r])
            if d is not None:
                b["den"] = d
            if kd is not None:
                b["kden"] = kd
            s = _num(shares[r])
            if sup and s is not None and d is not None:
                m.bound(i, 0, _BIG, "other")
                m.add({i: 1}, s * d - 0.5, s * d + 0.5, "share")  # a share on a hidden cell
    # facts from the activity tables: visits, distinct people, newcomers per year
    facts: dict = {}
    per_session: dict = {}   # year -> (sessions held, visits without a code)
    att = tables.get("attendance_by_year")
    if att is not None and "period" in att.columns:
        for r in range(len(att)):
            p = str(att["period"].iloc[r])
            for c, key in (("visits", ("", p, "visits")), ("distinct_people", ("", p, "people")),
                           ("first_time_visitors", ("newcomers", p, "people"))):
                v = _num(att[c].iloc[r]) if c in att.columns else None
                if v is not None:
                    facts[key] = v
            held = _num(att["sessions_held"].iloc[r]) if "sessions_held" in att.columns else None
            noid = (_num(att["visits_without_id"].iloc[r])
                    if "visits_without_id" in att.columns else None)
            if held is not None and noid is not None:
                per_session[p] = (held, noid)
    for bkey, b in blocks.items():
        name, pop, per, f, lvl, unit, q, ev = bkey
        vs = b["vars"]
        den = b["den"] if b["den"] is not None else facts.get((pop, per, unit))
        dlo, dhi = (den - half, den + half) if den is not None else (None, None)
        if b["den"] is None and den is not None:
            dlo, dhi = den, den
        if b["multi"]:
            if den is not None:
                for i in vs.values():
                    m.add({i: 1}, 0, dhi, "multi")
            continue
        if den is not None:
            m.add({i: 1 for i in vs.values()}, dlo, dhi, "margin")
        if b["kden"] is not None and "unknown" in vs:
            kd = b["kden"]
            m.add({i: 1 for g, i in vs.items() if g != "unknown"}, kd - half, kd + half,
                  "known")
    # reporting groups = sum of their members, per table block holding both levels
    by_block: dict = {}
    for (name, pop, per, f, lvl, unit, q, ev), b in blocks.items():
        by_block.setdefault((name, pop, per, f, unit, q, ev), {})[lvl] = b
    for lv in by_block.values():
        if "reporting" in lv and "detail" in lv and not lv["detail"]["multi"]:
            rep, det = lv["reporting"]["vars"], lv["detail"]["vars"]
            only_rep = [g for g in rep if g not in det]
            only_det = [g for g in det if g not in rep]
            if len(only_rep) == 1 and only_det:
                coefs = {rep[only_rep[0]]: 1}
                for g in only_det:
                    coefs[det[g]] = coefs.get(det[g], 0) - 1
                m.add(coefs, 0, 0, "reporting")
    # cross-table relations
    keys = list(m.keys)
    for i, (pop, per, f, lvl, g, unit, q) in enumerate(keys):
        if unit == "people":
            j = m.index.get((pop, per, f, lvl, g, "visits", q))
            if j is not None:
                m.add({i: 1, j: -1}, -_BIG, 0, "people<=visits")
                if per in per_session and not pop:
                    # one visit per person and session: sessions x people >= visits with a code
                    held, noid = per_session[per]
                    m.add({i: held, j: -1}, -noid, _BIG, "visits<=sessions*people")
        if pop:
            j = m.index.get(("", per, f, lvl, g, unit, q))
            if j is not None:
                m.add({i: 1, j: -1}, -_BIG, 0, "newcomers<=all")
        if f == "chemsex_cis_men" and g == "yes":
            for part in (("gender", "detail", "cis_man"), ("chemsex", "detail", "yes")):
                j = m.index.get((pop, per, part[0], part[1], part[2], unit, q))
                if j is not None:
                    m.add({i: 1, j: -1}, -_BIG, 0, "derived<=part")
    # completeness: the "not stated" visits of each field and period
    qc = tables.get("quality_completeness")
    if qc is not None and {"period", "field", "count"} <= set(qc.columns):
        cnts, shown, supp = col(qc, "count"), col(qc, "count_display"), col(qc, "suppressed")
        subs: dict = {}
        for r, (p, f) in enumerate(zip(col(qc, "period"), col(qc, "field"), strict=True)):
            if f not in SENSITIVE_FIELDS:
                continue
            i = m.var(("", p, f, "detail", "unknown", "visits", ""),
                      f"quality_completeness, row {r + 2}")
            if _truthy(supp[r]):
                m.bound(i, 0, _BIG, "any")  # "n.d." whatever its value
            else:
                set_cell(i, _num(cnts[r]), shown[r], _truthy(supp[r]))
            if not _YEAR.match(p) and _YEAR.match(p[:4]):
                subs.setdefault((p[:4], f), []).append(i)
        for (y, f), parts in subs.items():
            j = m.var(("", y, f, "detail", "unknown", "visits", ""), "quality_completeness")
            coefs = {i: 1 for i in parts}
            coefs[j] = coefs.get(j, 0) - 1
            m.add(coefs, 0, 0, "sub-periods")
    # a variable nothing bounds from above: its block total at most
    return m


def _milp_range(var, lo, hi, rows, rlo, rhi, k, sense):
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    c = np.zeros(len(var))
    c[k] = sense
    cons = [LinearConstraint(rows, rlo, rhi)] if len(rows) else []
    r = milp(c, constraints=cons, integrality=np.ones(len(var)), bounds=Bounds(lo, hi),
             options=_MILP_OPTIONS)
    return (sense * r.fun, r.x) if r.success else (None, None)


def attack_folder(folder, *, rules: DisclosureRules | None = None, model=None):
    """Attack a finished output folder as a reader would, combining every table (audit).

    Builds :func:`report_model` and, per connected set of hidden cells,
    solves integer programmes (``scipy.optimize.milp``) for the smallest and
    largest value each hidden person cell can take given everything
    published. A first pair of programmes (all hidden cells as low, then as
    high, as they can be together) already shows most cells wide; only the
    others get their own pair.

    Returns
    -------
    pandas.DataFrame
        One row per hidden person cell: ``where`` (a table and row that
        publish it), ``key`` (period, field, group...), ``shown`` (``small``
        or ``other``), ``low``, ``high``, ``pinned`` (one value left) and
        ``narrowed`` (0 is excluded and fewer than t values are left: the
        reader knows someone is there and almost how many). The guarantee of
        ``docs/disclosure.md``: no row is pinned or narrowed.

    Examples
    --------
    >>> import tempfile
    >>> attack_folder(tempfile.mkdtemp()).empty
    True
    """
    import numpy as np
    import pandas as pd

    m = report_model(folder, rules=rules) if model is None else model
    t = m.threshold
    n = len(m.keys)
    cols = ["where", "key", "shown", "low", "high", "pinned", "narrowed"]
    if not n:
        return pd.DataFrame(columns=cols)
    lo = np.array(m.low, float)
    hi = np.array(m.high, float)
    fixed = np.isclose(lo, hi)
    # a variable with an infinite (BIG) upper bound: cap it at the largest total published
    cap = max([h for h in hi if h < _BIG] + [c[2] for c in m.constraints if c[2] < _BIG]
              + [float(t)]) * 2 + t
    hi = np.minimum(hi, cap)
    free = [i for i in range(n) if not fixed[i]]
    # union-find over constraints among non-fixed variables
    parent = {i: i for i in free}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for coefs, _, _ in m.constraints:
        fv = [k for k in coefs if not fixed[k]]
        for k in fv[1:]:
            a, b = find(fv[0]), find(k)
            if a != b:
                parent[a] = b
    comps: dict = {}
    for i in free:
        comps.setdefault(find(i), []).append(i)
    rows_out = []
    for comp in comps.values():
        targets = [i for i in comp if m.hidden[i]]
        if not targets:
            continue
        col = {v: k for k, v in enumerate(comp)}
        rows, rlo, rhi = [], [], []
        for coefs, a, b in m.constraints:
            if not any(k in col for k in coefs):
                continue
            row = np.zeros(len(comp))
            const = 0.0
            for k, c in coefs.items():
                if k in col:
                    row[col[k]] += c
                else:
                    const += c * lo[k]
            rows.append(row)
            rlo.append(a - const if a > -_BIG else -np.inf)
            rhi.append(b - const if b < _BIG else np.inf)
        rows = np.array(rows) if rows else np.zeros((0, len(comp)))
        rlo, rhi = np.array(rlo, float), np.array(rhi, float)
        clo, chi = lo[comp], hi[comp]
        seen = {i: set() for i in targets}
        ranges = {}
        # shared programmes first: every hidden cell low, then high, then the cells in
        # alternation (each solution is a point the reader cannot rule out)
        import numpy as _np
        from scipy.optimize import Bounds, LinearConstraint, milp

        signs = [[1.0] * len(targets), [-1.0] * len(targets),
                 [(-1.0) ** k for k in range(len(targets))],
                 [-((-1.0) ** k) for k in range(len(targets))]]
        for sense in signs:
            c = _np.zeros(len(comp))
            for i, sg in zip(targets, sense, strict=True):
                c[col[i]] = sg
            cons = [LinearConstraint(rows, rlo, rhi)] if len(rows) else []
            r = milp(c, constraints=cons, integrality=_np.ones(len(comp)),
                     bounds=Bounds(clo, chi), options=_MILP_OPTIONS)
            if r.success:
                for i in targets:
                    seen[i].add(round(r.x[col[i]]))
        for i in targets:
            s = seen[i]
            wide = bool(s) and ((0 in s and len(s) > 1) or max(s) - min(s) >= t - 1)
            if wide:
                ranges[i] = (min(s), max(s))
                continue
            a, _ = _milp_range(comp, clo, chi, rows, rlo, rhi, col[i], 1.0)
            b, _ = _milp_range(comp, clo, chi, rows, rlo, rhi, col[i], -1.0)
            if a is None or b is None:  # infeasible: the model is wrong, say so
                a = b = float("nan")
            ranges[i] = (round(a) if a == a else a, round(b) if b == b else b)
        for i in targets:
            a, b = ranges[i]
            pinned = bool(a == b)
            narrowed = bool(a == a and a >= 1 and (b - a + 1) < t)
            rows_out.append({"where": m.where[i], "key": m.keys[i], "shown": m.hidden[i],
                             "low": a, "high": b, "pinned": pinned, "narrowed": narrowed})
    # hidden cells in no relation keep their displayed range
    done = {r["key"] for r in rows_out}
    for i in range(n):
        if m.hidden[i] and m.keys[i] not in done:
            a, b = m.low[i], min(m.high[i], cap)
            rows_out.append({"where": m.where[i], "key": m.keys[i], "shown": m.hidden[i],
                             "low": a, "high": b, "pinned": a == b,
                             "narrowed": bool(a >= 1 and b - a + 1 < t)})
    return pd.DataFrame(rows_out, columns=cols)


def intruder_findings(folder, *, rules: DisclosureRules | None = None) -> list:
    """:func:`attack_folder` as findings: one per hidden cell pinned or narrowed.

    Used by ``qsp-eval check-outputs --intruder``. ``location`` names the row,
    never the value.

    Examples
    --------
    >>> import tempfile
    >>> intruder_findings(tempfile.mkdtemp())
    []
    """
    attack = attack_folder(folder, rules=rules)
    out = []
    for _, r in attack.loc[attack["pinned"] | attack["narrowed"]].iterrows() if len(attack) \
            else []:
        table, _, row = str(r["where"]).partition(", ")
        out.append(Finding(f"tables/{table}.csv", row.replace("row", "ligne"),
                           "recoverable_cell"))
    return out
