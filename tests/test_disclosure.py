"""Disclosure control: rules, primary and secondary suppression, text formatting.

Expected values are worked out by hand in the comments. The attacker used
here is written independently of ``qsp_eval.disclosure`` (its own integer
programme built from what a reader sees: the published cells, the
``count_display`` strings and the margins).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from qsp_eval.disclosure import (
    DisclosureRules,
    cell_contributions,
    check_text,
    format_count,
    format_share,
    merge_map,
    protect_table,
    protect_tables,
    protect_wide,
    publishable_sentence,
    rule_statement,
    rules_from_config,
)
from qsp_eval.errors import ParameterError

NB = "\u00a0"
DEFAULT = DisclosureRules()
STRICT = rules_from_config({"preset": "strict"})


# ---------------------------------------------------------------------------
# An independent attacker
# ---------------------------------------------------------------------------
def attacker_ranges(original: pd.DataFrame, published: pd.DataFrame, margins, t: int,
                    definitions=()):
    """For each hidden cell, the min and max value consistent with what is published.

    The reader sees: published counts (exact), hidden cells shown "< t" (so in
    0..t-1) or something else such as "n.d." (so at least t, an upper bound
    being the margin), and the true total of every margin group. Integer
    programme solved with scipy's milp, once minimising and once maximising.
    ``definitions`` are extra relations ``(row, [member rows])``: a row equals
    the sum of its members (a reporting group and its detailed groups).
    """
    hidden = np.flatnonzero(published["suppressed"].to_numpy(dtype=bool))
    if len(hidden) == 0:
        return {}
    pos = {int(r): k for k, r in enumerate(hidden)}
    true = original["count"].to_numpy(dtype=float)
    pub = pd.to_numeric(published["count"], errors="coerce").to_numpy(dtype=float)
    a_rows, rhs = [], []
    for spec in margins:
        keys = original[list(spec)].astype(str).agg("|".join, axis=1) if spec else \
            pd.Series("all", index=original.index)
        for key in keys.unique():
            members = np.flatnonzero((keys == key).to_numpy())
            row = np.zeros(len(hidden))
            total = true[members].sum()  # the margin the reader knows
            known = 0.0
            for m in members:
                if m in pos:
                    row[pos[m]] = 1
                else:
                    known += pub[m]  # a published cell (exact in these tests)
            if row.any():
                a_rows.append(row)
                rhs.append(total - known)
    for whole, members in definitions:
        row = np.zeros(len(hidden))
        known = 0.0
        for m, coef in [(whole, 1.0)] + [(m, -1.0) for m in members]:
            if m in pos:
                row[pos[m]] += coef
            else:
                known += coef * pub[m]
        if row.any():
            a_rows.append(row)
            rhs.append(-known)
    lo, hi = [], []
    big = true.sum()
    for r in hidden:
        shown = str(published["count_display"].iloc[r])
        if shown.startswith("<"):
            lo.append(0)
            hi.append(int(shown.replace(NB, " ").split()[-1]) - 1)
        else:
            lo.append(t)
            hi.append(big)
    bounds = Bounds(lo, hi)
    cons = [LinearConstraint(np.array(a_rows), rhs, rhs)] if a_rows else []
    out = {}
    for r in hidden:
        c = np.zeros(len(hidden))
        c[pos[int(r)]] = 1
        mn = milp(c, constraints=cons, integrality=np.ones(len(hidden)), bounds=bounds)
        mx = milp(-c, constraints=cons, integrality=np.ones(len(hidden)), bounds=bounds)
        assert mn.success and mx.success  # the truth is always feasible
        out[int(r)] = (round(mn.fun), round(-mx.fun))
    return out


def long_table(counts_by_period: list[list[int]], groups=None, field="gender"):
    rows = []
    for p, counts in enumerate(counts_by_period):
        g = groups or [f"g{i}" for i in range(len(counts))]
        den = sum(counts)
        for code, c in zip(g, counts):
            rows.append({"period": str(2021 + p), "field": field, "group": code,
                         "unit": "people", "count": c, "denominator": den})
    df = pd.DataFrame(rows)
    df["share"] = df["count"] / df["denominator"].where(df["denominator"] > 0)
    return df


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------
def test_presets_and_overrides():
    assert (DEFAULT.min_cell, DEFAULT.round_to, DEFAULT.protect_activity) == (5, None, False)
    assert (STRICT.min_cell, STRICT.round_to, STRICT.min_denominator) == (11, 5, 11)
    r = rules_from_config({"preset": "strict", "round_to": None, "dominance": 80})
    assert r.min_cell == 11 and r.round_to is None and r.dominance == pytest.approx(0.8)
    r = rules_from_config({"min_cell": 10})
    assert (r.min_cell, r.min_denominator, r.small_group) == (10, 10, 40)
    assert rules_from_config({}) == rules_from_config(None) == DEFAULT


@pytest.mark.parametrize("bad", [{"preset": "lax"}, {"min_cel": 5}, {"min_cell": 2},
                                 {"min_cell": "cinq"}, {"dominance": 150},
                                 {"protect_activity": "peut-être"}])
def test_bad_config_is_a_parameter_error(bad):
    with pytest.raises(ParameterError) as exc:
        rules_from_config(bad)
    assert "disclosure" in exc.value.format("fr")


def test_rules_from_an_evaluation_config():
    from qsp_eval.schema import EvaluationConfig

    cfg = EvaluationConfig(disclosure={"preset": "strict"})
    assert rules_from_config(cfg) == STRICT


def test_rule_statement_names_threshold_in_both_languages():
    assert "1 à 4" in rule_statement(DEFAULT, "fr")
    assert "1 to 10" in rule_statement(STRICT, "en") and "nearest 5" in rule_statement(STRICT, "en")


# ---------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------
def test_threshold_minus_one_hidden_threshold_shown():
    # one period: 4 (1..4 -> hidden), 5 (= threshold -> not small), 30, 31.
    t = long_table([[4, 5, 30, 31]])
    out = protect_table(t, rules=DEFAULT)
    assert out["suppression"].tolist()[0] == "small"
    assert out["suppression"].tolist()[1] != "small"
    assert format_count(4, rules=DEFAULT) == f"<{NB}5"
    assert format_count(5, rules=DEFAULT) == "5"
    assert format_count(0, rules=DEFAULT) == "0"


def test_strict_hides_ten_and_shows_eleven_rounded_to_ten():
    # counts 10 and 3 are small (1..10). Alone together they would not be protected:
    # the reader knows 10 + 3 = 13 with each in 0..10, so each lies in 3..10 (0 excluded,
    # 8 < 11 values: narrowed). With 11 hidden too (shown n.d., so at least 11): the three
    # add up to 24, the small cells can each be 0..10 (0 kept: 24 = 0 + 13 + 11 ...) and
    # the n.d. cell 11..24 (14 values >= 11). 40 is shown as it is (a multiple of 5).
    t = long_table([[10, 3, 11, 40]])
    out = protect_table(t, rules=STRICT)
    assert out["suppressed"].tolist() == [True, True, True, False]
    assert out["count"].tolist()[3:] == [40]
    assert out["count_display"].tolist() == [f"<{NB}11", f"<{NB}11", "n.d.", "40"]
    # denominator 64 rounded: 64 / 5 = 12.8 -> 13 * 5 = 65
    assert out["denominator"].tolist() == [65] * 4
    assert format_count(10, rules=STRICT) == f"<{NB}11"
    assert format_count(11, rules=STRICT) == "10"
    assert format_count(13, rules=STRICT) == "15"  # 2.6 -> 3 * 5


def test_dominance_case_hidden():
    # 12 visits in a cell, one person made 8 of them: 8/12 = 67 % > 50 % -> hidden.
    # 12 visits with at most 6 by one person: 6/12 = 50 %, not more -> kept.
    t = pd.DataFrame({"period": "2023", "field": "chemsex", "unit": "visits",
                      "group": ["yes", "no", "unknown"], "count": [12, 12, 30],
                      "max_per_person": [8, 6, 3], "denominator": 54})
    out = protect_table(t, rules=DEFAULT, dominance_col="max_per_person")
    assert out["suppression"].tolist()[0] == "dominance"
    assert "max_per_person" not in out.columns
    # the dominated cell must not be recoverable either: 54 - 12 - 30 = 12 would give it back
    assert out["suppressed"].sum() >= 2
    assert not any(lo == hi for lo, hi in attacker_ranges(t, out, [("period",)], 5).values())


def test_dominance_from_visits_table():
    # person x: 3 visits injecting, y: 1 -> cell "yes" = 4 visits, max 3 (75 %);
    # cell "no": 6 visits by 6 people, max 1.
    v = pd.DataFrame({"injects": ["yes"] * 4 + ["no"] * 6,
                      "person_id": ["x", "x", "x", "y"] + [f"p{i}" for i in range(6)]})
    c = cell_contributions(v, ["injects"])
    c = c.set_index("injects")
    assert c.loc["yes", "count"] == 4 and c.loc["yes", "people"] == 2
    assert c.loc["yes", "max_per_person"] == 3
    assert c.loc["no", "people"] == 6 and c.loc["no", "max_per_person"] == 1


def test_people_column_sets_the_threshold():
    # 12 visits by 2 people: a small cell of people, hidden although 12 >= 5;
    # shown "n.d." since its value is not under 5.
    t = pd.DataFrame({"field": "gender", "unit": "visits", "group": ["a", "b", "c"],
                      "count": [12, 40, 30], "people": [2, 15, 9]})
    out = protect_table(t, rules=DEFAULT, people_col="people", lang="fr")
    assert out["suppression"].tolist()[0] == "small"
    assert out["count_display"].tolist()[0] == "n.d."
    assert pd.isna(out["people"].iloc[0])


def test_extreme_shares_on_small_group_hidden():
    # trans men, n = 8 (< small_group 20): injects yes 8 / no 0 -> 100 % and 0 %.
    t = pd.DataFrame({"period": "2023", "field": "injects", "unit": "people",
                      "group": ["yes", "no"], "count": [8, 0], "denominator": 8,
                      "share": [1.0, 0.0], "ci_low": [0.68, 0.0], "ci_high": [1.0, 0.32]})
    out = protect_table(t, rules=DEFAULT)
    assert out["suppression"].tolist()[0] == "extreme"
    assert out["share"].isna().all() and out["ci_low"].isna().all()
    assert format_share(8, 8, rules=DEFAULT) == "n.d."
    assert format_share(0, 8, rules=DEFAULT, lang="en") == "[c]"
    # a group of 30 (>= 20): 100 % may be said
    assert format_share(30, 30, rules=DEFAULT) == f"100{NB}%"


def test_people_and_visits_of_a_cell_are_hidden_together():
    # people: a 2 (small), b 6, c 30, d 6 of 44; visits: a 4, b 7, c 100, d 6 of 117.
    # Table by table, secondary suppression hides one of b/d in each unit, not the same one
    # (measured: b visits 7 published next to b people hidden): 7 visits cap b's people,
    # 5 <= b <= 7, three values without 0 (< t = 5). So each cell is hidden in both units.
    t = pd.DataFrame({"period": "2022", "field": "gender", "group": ["a", "b", "c", "d"] * 2,
                      "unit": ["people"] * 4 + ["visits"] * 4,
                      "count": [2, 6, 30, 6, 4, 7, 100, 6],
                      "denominator": [44] * 4 + [117] * 4})
    out = protect_table(t, rules=DEFAULT, by=("period", "field", "unit"))
    hid = out["suppressed"].tolist()
    assert hid[:4] == hid[4:]  # each group hidden in both units or in neither
    assert hid[0] and sum(hid[:4]) >= 3  # a, and enough others for both blocks


def test_a_field_nobody_filled_is_not_an_extreme_share():
    # 8 newcomers, orientation never filled: "not stated" 8 / 8 = 100 %, the known cells 0.
    # It says nobody answered, nothing of anyone; hiding it gains nothing (8 - 0 - 0 = 8).
    t = pd.DataFrame({"period": "2024", "field": "orientation", "unit": "people",
                      "group": ["gay", "lesbian", "unknown"], "count": [0, 0, 8],
                      "denominator": 8, "share": [0.0, 0.0, 1.0]})
    out = protect_table(t, rules=DEFAULT)
    assert not out["suppressed"].any()
    assert out["count"].tolist() == [0, 0, 8]
    assert out["share"].iloc[2] == 1.0          # the 100 % "not stated" share stays
    assert out["share"].iloc[:2].isna().all()   # 0 % of a group of 8 is still blanked
    # the same 100 % on a stated answer is hidden (attribute of all 8)
    t2 = t.assign(group=["gay", "lesbian", "bi_pan"])
    assert protect_table(t2, rules=DEFAULT)["suppression"].tolist()[2] == "extreme"


def test_shares_need_the_minimum_denominator():
    # denominator 4 < 5: no share even for a count of 0
    t = pd.DataFrame({"field": "gender", "unit": "people", "group": ["a", "b"],
                      "count": [0, 0], "denominator": 4, "share": [0.0, 0.0]})
    out = protect_table(t, rules=DEFAULT, by=("field",))
    assert out["share"].isna().all()


def test_format_share_french_and_english():
    # 12 / 40 = 30 %; 77 / 200 = 38.5 %
    assert format_share(12, 40, rules=DEFAULT) == f"30{NB}%"
    assert format_share(12, 40, rules=DEFAULT, lang="en") == "30%"
    assert format_share(77, 200, rules=DEFAULT, decimals=1) == f"38,5{NB}%"
    assert format_share(3, 40, rules=DEFAULT) == "n.d."          # 3 people: hidden
    assert format_share(3, 40, rules=DEFAULT, sensitive=False) == f"8{NB}%"  # 7.5 -> 8


def test_activity_tables_pass_unchanged():
    t = pd.DataFrame({"period": ["2023", "2024"], "unit": "sessions", "count": [2, 43]})
    out = protect_table(t, rules=DEFAULT, kind="activity")
    pd.testing.assert_frame_equal(out, t)
    assert out is not t
    out = protect_table(t, rules=rules_from_config({"protect_activity": True}), kind="activity",
                        by=())
    assert out["suppressed"].iloc[0]
    assert format_count(2, rules=DEFAULT, kind="activity") == "2"


def test_input_not_mutated():
    t = long_table([[1, 2, 30, 9]])
    before = t.copy(deep=True)
    protect_table(t, rules=STRICT, merge={"g0": "m", "g1": "m"})
    pd.testing.assert_frame_equal(t, before)


# ---------------------------------------------------------------------------
# Secondary suppression and the attacker
# ---------------------------------------------------------------------------
def test_single_suppressed_cell_next_to_total_fails_without_secondary():
    # 3 trans men, 20 cis men, 9 non-binary people; total 32 published.
    # Primary suppression alone hides the 3, but 32 - 20 - 9 = 3 gives it back.
    t = long_table([[3, 20, 9]])
    naive = protect_table(t, rules=DisclosureRules(secondary=False))
    assert naive["suppressed"].tolist() == [True, False, False]
    ranges = attacker_ranges(t, naive, [("period", "field", "unit")], 5)
    assert ranges == {0: (3, 3)}  # pinned: disclosed
    # With secondary suppression the smallest other cell (9) is hidden too:
    # the reader knows x0 + x2 = 12, x0 in 0..4 and x2 >= 5 -> x0 in 0..4 minus... 0..4 and
    # x2 = 12 - x0 in 8..12: neither is pinned.
    safe = protect_table(t, rules=DEFAULT)
    assert safe["suppressed"].tolist() == [True, False, True]
    ranges = attacker_ranges(t, safe, [("period", "field", "unit")], 5)
    assert ranges == {0: (0, 4), 2: (8, 12)}


def test_zero_cell_protects_a_lone_small_cell():
    # group [2, 0, 15]: hiding the 0 as "< 5" leaves x0 + x1 = 2 with both in 0..4:
    # x0 in 0..2, not pinned (the smallest candidate, 0, is preferred).
    t = long_table([[2, 0, 15]])
    out = protect_table(t, rules=DEFAULT)
    assert out["suppressed"].tolist() == [True, True, False]
    assert attacker_ranges(t, out, [("period",)], 5) == {0: (0, 2), 1: (0, 2)}


def test_group_with_a_single_category_hides_its_margin():
    # a group whose only cell is 3: the cell equals its margin; nothing else
    # can be hidden, so the margin (denominator) is hidden too.
    t = long_table([[3], [10, 12]])
    out = protect_table(t, rules=DEFAULT)
    assert out["suppressed"].iloc[0] and pd.isna(out["denominator"].iloc[0])
    assert out["denominator"].iloc[1] == 22


def test_two_way_margins():
    # periods x groups with both period totals and group totals (over periods) published.
    # 2021: [2, 10, 12], 2022: [6, 8, 9]: hiding 2 and 10 in 2021 is not enough, since
    # the group totals 8 (g0) and 18 (g1) give 8 - 6 = 2 back: a cell of 2022 must go too.
    t = long_table([[2, 10, 12], [6, 8, 9]])
    margins = [("period", "field", "unit"), ("field", "group", "unit")]
    out = protect_table(t, rules=DEFAULT, margins=[margins[1]])
    assert out["suppressed"].sum() >= 4
    ranges = attacker_ranges(t, out, margins, 5)
    assert ranges and all(lo < hi for lo, hi in ranges.values())


@st.composite
def tables(draw, max_periods=3, max_groups=6):
    n_p = draw(st.integers(1, max_periods))
    n_g = draw(st.integers(1, max_groups))
    small = st.integers(0, 6)
    any_count = st.one_of(small, st.integers(0, 40))
    counts = [[draw(any_count) for _ in range(n_g)] for _ in range(n_p)]
    return long_table(counts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tab=tables(), t=st.sampled_from([3, 5, 11]))
def test_property_no_small_cell_published_and_none_recoverable(tab, t):
    rules = DisclosureRules(min_cell=t, min_denominator=t, small_group=4 * t)
    out = protect_table(tab, rules=rules)
    shown = ~out["suppressed"].to_numpy(dtype=bool)
    true = tab["count"].to_numpy()
    # 1. no published cell between 1 and t - 1
    assert not ((true[shown] >= 1) & (true[shown] <= t - 1)).any()
    assert (out.loc[shown, "count"].to_numpy() == true[shown]).all()
    # 2. shares of hidden cells are hidden, no share on a denominator under t
    assert out.loc[~shown, "share"].isna().all()
    assert out.loc[tab["denominator"] < t, "share"].isna().all()
    # 3. the attacker cannot pin any hidden cell, unless its margin was hidden too
    hidden_margin = out["denominator"].isna().to_numpy()
    ranges = attacker_ranges(tab.loc[~hidden_margin].reset_index(drop=True),
                             out.loc[~hidden_margin].reset_index(drop=True),
                             [("period", "field", "unit")], t)
    assert all(lo < hi for lo, hi in ranges.values()), ranges


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tab=tables(max_periods=3, max_groups=4))
def test_property_two_way_margins_not_recoverable(tab):
    margins = [("period", "field", "unit"), ("field", "group", "unit")]
    out = protect_table(tab, rules=DEFAULT, margins=[margins[1]])
    if out["denominator"].isna().any():
        return  # a margin had to be hidden: the attacker no longer has it
    ranges = attacker_ranges(tab, out, margins, 5)
    assert all(lo < hi for lo, hi in ranges.values()), ranges


@settings(max_examples=30, deadline=None)
@given(tab=tables())
def test_property_strict_rounding(tab):
    out = protect_table(tab, rules=STRICT)
    shown = ~out["suppressed"].to_numpy(dtype=bool)
    pub = out.loc[shown, "count"].to_numpy(dtype=int)
    true = tab["count"].to_numpy()[shown]
    assert (pub % 5 == 0).all() and (np.abs(pub - true) <= 2).all()
    assert not ((true >= 1) & (true <= 10)).any()


# ---------------------------------------------------------------------------
# Merging and several tables
# ---------------------------------------------------------------------------
def test_merge_into_reporting_group_preferred_over_blanking():
    # trans_woman 2 + non_binary 3 + agender 1 -> tanb 6 (>= 5): nothing hidden.
    rg = {"gender": {"tanb": {"members": ["trans_woman", "non_binary", "agender"]}}}
    t = long_table([[2, 3, 1, 20]], groups=["trans_woman", "non_binary", "agender", "cis_man"])
    out = protect_table(t, rules=DEFAULT, merge=merge_map(rg))
    assert out["group"].tolist() == ["tanb", "cis_man"]
    assert out["count"].tolist() == [6, 20]
    assert not out["suppressed"].any()
    assert out["share"].tolist()[0] == pytest.approx(6 / 26)


def test_protect_tables_links_the_same_cell():
    # table a hides trans_man 3 (and the next smallest, 8); table b shows the same
    # two cells of the same period/field/unit: they must be hidden there too.
    a = long_table([[3, 8, 20]], groups=["trans_man", "non_binary", "cis_man"])
    b = a.iloc[[0, 1]].copy()
    b["count"] = [3, 8]
    out = protect_tables({"a": a, "b": b}, rules=DEFAULT,
                         specs={"a": {}, "b": {"by": ("period",)}})
    assert out["a"]["suppressed"].tolist() == [True, True, False]
    assert out["b"]["suppressed"].tolist() == [True, True]
    # per-visit counts of the same group are another cell: not linked
    c = b.assign(unit="visits", count=[30, 40])
    out = protect_tables({"a": a, "c": c}, rules=DEFAULT)
    assert not out["c"]["suppressed"].any()


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------
def test_publishable_sentence_and_check_text():
    s = publishable_sentence("{n} personnes trans sont venues ({p}).", n=3, p=(3, 40),
                             rules=DEFAULT)
    assert s == f"<{NB}5 personnes trans sont venues (n.d.)."
    assert check_text(s, rules=DEFAULT) == []
    assert [f.kind for f in check_text("En 2023, 3 personnes trans sont venues.",
                                       rules=DEFAULT)] == ["small_cell"]
    assert "small_cell" in [f.kind for f in check_text("2 respondents said no", rules=DEFAULT)]
    assert "extreme_share" in [f.kind for f in check_text("100 % des 3 répondants",
                                                          rules=DEFAULT)]
    assert [f.kind for f in check_text("écrire à camille.d@example.org", rules=DEFAULT)] == \
        ["email"]
    assert [f.kind for f in check_text("code 3fa94c0d12ab67e9 vu", rules=DEFAULT)] == \
        ["pseudonym"]
    assert [f.kind for f in check_text("une personne âgée de 34 ans", rules=DEFAULT)] == \
        ["exact_age"]
    assert [f.kind for f in check_text("Trois personnes trans sont venues.", rules=DEFAULT)] \
        == ["small_cell"]
    assert check_text("Une personne peut venir plusieurs fois.", rules=DEFAULT) == []
    # activity figures and age bands are fine
    assert check_text("234 passages en 43 permanences ; les 18-24 ans.", rules=DEFAULT) == []
    # a finding names the line, never the value
    f = check_text("ok\nmail: x.y@example.org", rules=DEFAULT)[0]
    assert "2" in f.location and "example" not in f.format("fr")


# ---------------------------------------------------------------------------
# Tables with two levels, visits and people, "known" denominators
# ---------------------------------------------------------------------------
def two_level_table(detail: dict, members=("trans_woman", "trans_man", "non_binary")):
    """One period: detailed gender groups and reporting groups (tanb = sum of members)."""
    rows = []
    den = sum(detail.values())
    for g, c in detail.items():
        rows.append({"period": "2023", "field": "gender", "level": "detail", "group": g,
                     "unit": "people", "count": c, "denominator": den})
    rep = {"tanb": sum(detail[m] for m in members)}
    rep.update({g: c for g, c in detail.items() if g not in members})
    for g, c in rep.items():
        rows.append({"period": "2023", "field": "gender", "level": "reporting", "group": g,
                     "unit": "people", "count": c, "denominator": den})
    return pd.DataFrame(rows)


def definitions_of(df, members=("trans_woman", "trans_man", "non_binary")):
    det = {g: i for i, g in enumerate(df["group"]) if df["level"].iloc[i] == "detail"}
    out = []
    for i, g in enumerate(df["group"]):
        if df["level"].iloc[i] != "reporting":
            continue
        out.append((i, [det[m] for m in members] if g == "tanb" else [det[g]]))
    return out


def test_two_levels_the_same_cell_is_hidden_at_both_levels():
    # detail: trans_woman 6, trans_man 2, non_binary 7, cis_man 20, cis_woman 5 (total 40);
    # reporting: tanb 15 (= 6 + 2 + 7), cis_man 20, cis_woman 5.
    # Each level alone: in the detail level trans_man 2 is hidden and, to protect it,
    # the smallest other cell, cis_woman 5; the reporting level has nothing small and is
    # published whole. Then tanb 15 - 6 - 7 gives trans_man = 2 back, and the reporting
    # cis_woman 5 is the hidden detail cell: both pinned.
    t = two_level_table({"trans_woman": 6, "trans_man": 2, "non_binary": 7, "cis_man": 20,
                         "cis_woman": 5})
    by = ("period", "field", "level", "unit")
    # (That was the old single-margin rule. The present rule also refuses a cell narrowed
    # to fewer than t values without 0: cis_woman 5 hidden with trans_man 2 would lie in
    # 5..7, so it hides non_binary 7 instead (sum 9: trans_man 0..4, non_binary 5..9), and
    # the detail level alone no longer gives trans_man back here.)
    alone = pd.concat([protect_table(t[t["level"] == lv], rules=DEFAULT, by=by, level_col=None)
                       for lv in ("detail", "reporting")], ignore_index=True)
    hid = dict(zip(zip(alone["level"], alone["group"]), alone["suppressed"]))
    assert hid[("detail", "trans_man")] and hid[("detail", "non_binary")]
    assert not hid[("detail", "cis_woman")]
    # Protected together (the relation tanb = tw + tm + nb is inferred from the codes):
    out = protect_table(t, rules=DEFAULT, by=by)
    hidden = dict(zip(zip(out["level"], out["group"]), out["suppressed"]))
    assert hidden[("detail", "trans_man")]
    assert hidden[("detail", "cis_woman")] == hidden[("reporting", "cis_woman")]
    ranges = attacker_ranges(t, out, [by], 5, definitions=definitions_of(t))
    assert ranges and all(lo < hi for lo, hi in ranges.values()), ranges
    # the same with an explicit map (as from evaluation.yml reporting_groups)
    rg = {"gender": {"tanb": {"members": ["trans_woman", "trans_man", "non_binary"]}}}
    out2 = protect_table(t, rules=DEFAULT, by=by, nested=merge_map(rg))
    assert out2["suppressed"].tolist() == out["suppressed"].tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=st.lists(st.one_of(st.integers(0, 6), st.integers(0, 30)), min_size=5,
                       max_size=5))
def test_property_two_levels_not_recoverable(counts):
    t = two_level_table(dict(zip(["trans_woman", "trans_man", "non_binary", "cis_man",
                                  "unknown"], counts)))
    by = ("period", "field", "level", "unit")
    out = protect_table(t, rules=DEFAULT, by=by)
    if out["denominator"].isna().any():
        return
    ranges = attacker_ranges(t, out, [by], 5, definitions=definitions_of(t))
    assert all(lo < hi for lo, hi in ranges.values()), ranges


def test_visits_cells_follow_the_people_threshold():
    # trans men: 14 visits but 2 people -> the visits cell is hidden as well (one or two
    # people account for all 14 visits). Cis men: 40 visits, 12 people -> shown.
    t = pd.DataFrame({"period": "2023", "field": "gender",
                      "group": ["trans_man", "cis_man", "non_binary"] * 2,
                      "unit": ["visits"] * 3 + ["people"] * 3,
                      "count": [14, 40, 30, 2, 12, 9]})
    out = protect_table(t, rules=DEFAULT)
    got = dict(zip(zip(out["unit"], out["group"]), out["suppression"]))
    assert got[("visits", "trans_man")] == "small" and got[("people", "trans_man")] == "small"
    assert got[("visits", "cis_man")] == "" and got[("people", "cis_man")] == ""


def test_known_denominator_blanked_when_unknown_is_hidden():
    # total 30, unknown 2 (hidden): known_denominator 28 = 30 - 2 would give it back.
    t = pd.DataFrame({"period": "2023", "field": "gender", "unit": "people",
                      "group": ["cis_man", "trans_woman", "unknown"], "count": [18, 10, 2],
                      "denominator": 30, "known_denominator": 28,
                      "share_known": [18 / 28, 10 / 28, np.nan]})
    out = protect_table(t, rules=DEFAULT)
    assert out["suppressed"].tolist() == [False, True, True]
    assert out["known_denominator"].isna().all() and out["share_known"].isna().all()
    # when "unknown" is shown, the known shares stay
    t2 = t.assign(count=[18, 5, 7], share_known=[18 / 23, 5 / 23, np.nan], known_denominator=23)
    out2 = protect_table(t2, rules=DEFAULT)
    assert not out2["suppressed"].any() and out2["known_denominator"].notna().all()


def test_wide_table_with_both_margins():
    # rows: trans_man [3, 12], cis_man [20, 25], non_binary [9, 8]; row and column totals.
    # 3 is small. Its row (3 + 12 = 15) and its column (3 + 20 + 9 = 32) would give it back,
    # so at least one more cell in its row and one in its column are hidden, and those in
    # turn need a partner: check with the attacker on both margins.
    w = pd.DataFrame({"2022": [3, 20, 9], "2023": [12, 25, 8]},
                     index=["trans_man", "cis_man", "non_binary"])
    out = protect_wide(w, rules=DEFAULT)
    assert out.loc["trans_man", "2022"] == f"<{NB}5"
    assert out.loc["Total", "Total"] == "77"  # 3 + 20 + 9 + 12 + 25 + 8
    assert out.loc["trans_man", "Total"] == "15"
    long = w.rename_axis("r").reset_index().melt(id_vars="r", var_name="c", value_name="count")
    shown = [out.loc[r, c] for r, c in zip(long["r"], long["c"])]
    pub = long.assign(suppressed=[not x.isdigit() for x in shown], count_display=shown,
                      count=[int(x) if x.isdigit() else np.nan for x in shown])
    ranges = attacker_ranges(long, pub, [("r",), ("c",)], 5)
    assert ranges and all(lo < hi for lo, hi in ranges.values()), ranges
    # a small total is itself hidden
    small = pd.DataFrame({"a": [1, 30], "b": [2, 40]}, index=["x", "y"])
    assert protect_wide(small, rules=DEFAULT).loc["x", "Total"] == f"<{NB}5"


def test_check_text_reads_french_thousands_separators_as_one_number():
    # "1 000 personnes" is one thousand people (space, no-break space or narrow
    # no-break space as thousands separator), far above any threshold.
    rules = rules_from_config(None)
    for sep in (" ", "\u00a0", "\u202f"):
        assert check_text(f"1{sep}000 personnes", rules=rules) == []
        assert check_text(f"0 % des 1{sep}000 répondants", rules=rules) == []
    # a real small count next to a big one is still caught
    assert [f.kind for f in check_text("3 personnes sur 1 000", rules=rules)] == ["small_cell"]


# ---------------------------------------------------------------------------
# Test statistics computed from hidden cells (protect_tests)
# ---------------------------------------------------------------------------
def _ca_z(x, n):
    """Cochran–Armitage z written out here (scores 0, 1, 2...), independent of qsp_eval.stats."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    t = np.arange(len(x), dtype=float)
    p = x.sum() / n.sum()
    var = p * (1 - p) * ((n * t**2).sum() - (n * t).sum() ** 2 / n.sum())
    return float((t * (x - n * p)).sum() / np.sqrt(var))


def _pub(rows):
    return pd.DataFrame(rows, columns=["period", "field", "level", "group", "unit", "suppressed"])


def test_published_trend_statistic_recovers_hidden_cells():
    # Why protect_tests exists. Three periods of 20 people each (all stated); group "x"
    # counts 0, 1, 1: the last two are shown "< 5". Published z, to 6 significant digits
    # (as the CSV files carry it), leaves exactly one candidate among the 25 pairs (a, b)
    # with a, b in 0..4: the hidden cells are recovered.
    z = float(f"{_ca_z([0, 1, 1], [20, 20, 20]):.6g}")
    fits = [(a, b) for a in range(5) for b in range(5) if (a, b) != (0, 0)
            and abs(_ca_z([0, a, b], [20, 20, 20]) - z) < 5e-6]
    assert fits == [(1, 1)]
    from qsp_eval.disclosure import protect_tests

    pub = _pub([(p, "gender", "detail", g, "people", g == "x" and p != "2021")
                for p in ("2021", "2022", "2023") for g in ("x", "y")])
    tests = pd.DataFrame({"field": "gender", "group": ["x"], "unit": "people", "level": "detail",
                          "test": "cochran_armitage", "statistic": [z], "df": [1],
                          "p_value": [0.5], "n": [60]})
    out = protect_tests(tests, [pub])
    assert out["withheld"].tolist() == [True]
    assert out[["statistic", "p_value", "n"]].isna().all(axis=None)
    assert out["df"].isna().all()             # df tells how many groups are not empty
    assert out["test"].isna().all()           # and the test chosen whether counts reach 5


def test_protect_tests_rules_by_group_and_among():
    from qsp_eval.disclosure import protect_tests

    # 2022: a, b, unknown all shown; 2023: b hidden, unknown shown.
    pub = _pub([("2022", "f", "detail", "a", "people", False),
                ("2022", "f", "detail", "b", "people", False),
                ("2022", "f", "detail", "unknown", "people", False),
                ("2023", "f", "detail", "a", "people", False),
                ("2023", "f", "detail", "b", "people", True),
                ("2023", "f", "detail", "unknown", "people", False)])
    tests = pd.DataFrame({"field": "f", "unit": "people", "level": "detail",
                          "group": ["*", "a", "b"], "among": "known", "test": "t",
                          "statistic": [1.0, 2.0, 3.0], "p_value": [0.1, 0.2, 0.3]})
    # "*" uses b (hidden); "a" uses a's cells (shown) and the stated total of each
    # period = denominator - unknown (both shown); "b" uses its hidden cell.
    assert protect_tests(tests, [pub])["withheld"].tolist() == [True, False, True]
    # unknown hidden in 2023 too: a's 2023 total (a + b) is no longer derivable
    pub2 = pub.assign(suppressed=pub["suppressed"] | ((pub["period"] == "2023")
                                                      & (pub["group"] == "unknown")))
    assert protect_tests(tests, [pub2])["withheld"].tolist() == [True, True, True]
    # only unknown hidden: among "known" nothing hidden is used; among "all" the "*" test
    # uses it, while "a" and "b" compare their own cells with the period's denominator
    pub3 = pub.assign(suppressed=(pub["period"] == "2023") & (pub["group"] == "unknown"))
    assert protect_tests(tests, [pub3])["withheld"].tolist() == [False, False, False]
    assert protect_tests(tests.assign(among="all"), [pub3])["withheld"].tolist() == [
        True, False, False]
    # a field no published table shows cannot be checked: withheld
    assert protect_tests(tests.assign(field="g"), [pub])["withheld"].tolist() == [True] * 3
    # another level or unit does not count as the same cells
    assert protect_tests(tests.assign(level="reporting"), [pub])["withheld"].all()


def test_protect_tests_holm_counts_withheld_as_one():
    from qsp_eval.disclosure import protect_tests

    pub = _pub([("2023", "f", "detail", g, "people", g == "c") for g in ("a", "b", "c")])
    tests = pd.DataFrame({"field": "f", "unit": "people", "level": "detail", "among": "all",
                          "group": ["c", "a", "b"], "test": "t",
                          "p_value": [0.01, 0.04, 0.03], "p_value_holm": [0.03, 0.06, 0.06]})
    out = protect_tests(tests, [pub])
    # c withheld -> counted as p = 1; m = 3. Sorted: 0.03 (b) * 3 = 0.09; 0.04 (a) * 2 = 0.08,
    # running max 0.09; 1 (c). Published: a 0.09, b 0.09 (>= the true 0.06: conservative).
    assert out["withheld"].tolist() == [True, False, False]
    assert out["p_value_holm"].isna().tolist() == [True, False, False]
    assert out["p_value_holm"].iloc[1:].round(10).tolist() == [0.09, 0.09]
    assert out["p_value"].iloc[1:].tolist() == [0.04, 0.03]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(3, 16), min_size=4, max_size=4), min_size=3, max_size=3))
def test_published_trend_statistics_are_computable_from_published_cells(counts):
    # Three periods, groups a, b, c and unknown. The trend statistic of a group (among
    # stated answers) is published only if a reader can recompute it from what the person
    # table shows: the group's cells, and each period's stated total (sum of the stated
    # cells, or denominator minus the unknown cell). Recomputed here from the published
    # table alone, it must equal the exact one.
    from qsp_eval.disclosure import protect_tests

    groups = ["a", "b", "c", "unknown"]
    rows = [{"period": str(2021 + i), "field": "gender", "level": "detail", "group": g,
             "unit": "people", "count": counts[i][j], "denominator": sum(counts[i])}
            for i in range(3) for j, g in enumerate(groups)]
    exact = pd.DataFrame(rows)
    pub = protect_table(exact, rules=DEFAULT, by=["period", "field", "level", "unit"])
    known = [sum(c[:3]) for c in counts]
    trows = []
    for j, g in enumerate(groups[:3]):
        x = [c[j] for c in counts]
        keep = [i for i in range(3) if known[i] > 0]
        xs, ns = [x[i] for i in keep], [known[i] for i in keep]
        ok = len(keep) >= 2 and 0 < sum(xs) < sum(ns)
        trows.append({"field": "gender", "group": g, "unit": "people", "level": "detail",
                      "among": "known", "test": "cochran_armitage",
                      "statistic": _ca_z(xs, ns) if ok else np.nan, "df": 1})
    out = protect_tests(pd.DataFrame(trows), [pub])
    for _, r in out.loc[~out["withheld"]].iterrows():
        shown = pub.set_index(["period", "group"])
        x, n = [], []
        for i in range(3):
            p = str(2021 + i)
            cells = [shown.at[(p, g), "count"] for g in groups[:3]]
            if not any(pd.isna(v) for v in cells):
                tot = sum(cells)
            else:
                unk = shown.at[(p, "unknown"), "count"]
                den = shown.at[(p, "a"), "denominator"]
                assert not pd.isna(unk) and not pd.isna(den)
                tot = den - unk
            xv = shown.at[(p, r["group"]), "count"]
            assert not pd.isna(xv)
            if tot > 0:
                x.append(xv)
                n.append(tot)
        if pd.isna(r["statistic"]):
            continue
        assert _ca_z(x, n) == pytest.approx(r["statistic"])


def test_protect_field_counts_hides_small_and_linked_counts():
    from qsp_eval.disclosure import protect_field_counts

    t = pd.DataFrame({"period": ["2023", "2023", "2023-Q2", "2024", "2024"],
                      "field": ["gender", "site", "gender", "orientation", "gender"],
                      "count": [4, 2, 9, 0, 30], "denominator": [100, 100, 40, 80, 80],
                      "share": [0.04, 0.02, 0.225, 0.0, 0.375]})
    out = protect_field_counts(t, rules=DEFAULT, hidden=[("2023", "gender"), ("2024", "orientation")])
    # row 0: 4 people-attribute visits, 1..4 -> small; row 1: "site" is not sensitive -> kept;
    # row 2: a quarter of the hidden year 2023 -> linked; row 3: 0, but hidden in the profile
    # tables -> linked; row 4: 30, nothing hidden -> kept.
    assert out["suppression"].tolist() == ["small", "", "linked", "linked", ""]
    assert out["count"].isna().tolist() == [True, False, True, True, False]
    assert out["share"].isna().tolist() == [True, False, True, True, False]
    assert out["denominator"].tolist() == [100, 100, 40, 80, 80]
    # a hidden count is "n.d." whatever its value (row 0 is 4, row 3 is 0): "< 5" or "at
    # least 5 visits not stated" would say something of the hidden people cells behind it
    assert out["count_display"].tolist() == ["n.d.", "2", "n.d.", "n.d.", "30"]
    assert t["count"].tolist() == [4, 2, 9, 0, 30]          # input untouched
    # quarters: 2024-Q1 = 2 is small; 2024-Q2 = 10 would give it back from the year's
    # total (published in the profile tables), so it is hidden too; 2025-Q1 untouched
    q = pd.DataFrame({"period": ["2024-Q1", "2024-Q2", "2025-Q1"], "field": "gender",
                      "count": [2, 10, 7], "denominator": [50, 60, 70]})
    assert protect_field_counts(q, rules=DEFAULT)["suppression"].tolist() == [
        "small", "linked", ""]


def test_strict_shares_come_from_the_published_counts_in_whole_percents():
    # issue 10: in strict, a share of the exact count printed to 6 digits (12/65 = 0.184615)
    # gave the count back under its rounding. Counts 12, 23, 30 of 65 are published rounded
    # to 5: 10, 25, 30 of 65; shares 10/65 = 0.1538 -> 0.15, 25/65 = 0.3846 -> 0.38,
    # 30/65 = 0.4615 -> 0.46 (whole percents).
    t = long_table([[12, 23, 30]])
    out = protect_table(t, rules=STRICT)
    assert out["count"].tolist() == [10, 25, 30]
    assert out["share"].tolist() == [0.15, 0.38, 0.46]


def test_a_hidden_visits_cell_next_to_people_is_not_said_to_be_large():
    # people 2 (< 5) with 14 visits: "n.d." is shown for the visits, as for any hidden visits
    # cell of a table with people, so that "at least 5 visits" does not tell that someone is
    # behind the people cell.
    rows = [{"period": "2023", "field": "gender", "group": g, "unit": u, "count": c,
             "denominator": d}
            for u, d, cs in (("people", 40, (2, 20, 18)), ("visits", 120, (14, 60, 46)))
            for g, c in zip(("trans_man", "cis_man", "cis_woman"), cs)]
    out = protect_table(pd.DataFrame(rows), rules=DEFAULT, lang="en")
    vis = out.loc[out["unit"] == "visits"]
    hidden = vis.loc[vis["suppressed"], "count_display"]
    assert len(hidden) and (hidden == "[c]").all()


def test_integer_programmes_do_not_trust_highs_presolve():
    # The example by quarter, 2024 age bands (13 cells): people 45-54, 55+, not stated (a, b, u),
    # their visits (va, vb, vu), newcomers (na, nb, nu), not-stated visits by quarter (q1..q4).
    # a + b + u = 20, va + vb + vu = 71, na + nb + nu = 14, people <= visits <= 44 x people,
    # newcomers <= everyone, q1 + q2 + q3 + q4 = vu; a, b >= 5, u <= 4.
    # By hand, a = 14, b = 6, u = 0, va = 50, vb = 21, vu = 0, na = 8, nb = 6, nu = 0, q = 0
    # satisfies every row, so the smallest u is 0. HiGHS's MIP presolve (scipy 1.17) said 1.
    import numpy as np

    from qsp_eval.disclosure import _milp_range

    inf = np.inf
    rows = np.zeros((14, 13))
    rows[0, [0, 1, 2]] = 1
    rows[1, [3, 4, 5]] = 1
    rows[2, [0, 1, 2]] = 1
    rows[3, [6, 7, 8]] = 1
    for k in range(3):  # people <= visits; visits <= 44 people
        rows[4 + 2 * k, [k, 3 + k]] = [1, -1]
        rows[5 + 2 * k, [k, 3 + k]] = [44, -1]
        rows[10 + k, [k, 6 + k]] = [-1, 1]  # newcomers <= everyone
    rows[13, [5, 9, 10, 11, 12]] = [-1, 1, 1, 1, 1]
    rlo = np.array([20, 71, 20, 14, -inf, 0, -inf, 0, -inf, 0, -inf, -inf, -inf, 0])
    rhi = np.array([20, 71, 20, 14, 0, inf, 0, inf, 0, inf, 0, 0, 0, 0])
    lo = np.array([5, 5] + [0] * 11, float)
    hi = np.array([703, 703, 4] + [703] * 10, float)
    hand = np.array([14, 6, 0, 50, 21, 0, 8, 6, 0, 0, 0, 0, 0], float)
    assert ((rows @ hand >= rlo) & (rows @ hand <= rhi)).all()
    assert _milp_range(list(range(13)), lo, hi, rows, rlo, rhi, 2, 1.0)[0] == 0
    assert _milp_range(list(range(13)), lo, hi, rows, rlo, rhi, 2, -1.0)[0] == 4
