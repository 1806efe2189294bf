"""The theming analysis on short, degenerate and awkward sources: never a crash, never an
absurd number, always a sentence saying what could not be estimated.

Sources are built by hand (weekly sessions with Poisson counts drawn with a fixed seed), so
each case is exactly the situation named: 1, 3 and 6 months, 14 weekly sessions themed from
the 7th, theming on the last week, every session themed after the start, no change date.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from qsp_eval.its import fit_its, its_cumulative, newey_west_lags
from qsp_eval.schema import Change, EvaluationConfig
from qsp_eval.testing import make_dataset
from qsp_eval.theming import (
    plausible,
    theming_analysis,
    theming_effects,
    theming_notes,
    theming_overall,
    theming_themed_vs_plain,
)

START = date(2024, 1, 10)
CFG = EvaluationConfig(change=Change("theming", START, "Thématisation", "Theming"))


def _weekly(first: date, n: int, *, start=START, themed="alternate", seed=0, mean=6.0,
            config=CFG):
    """``n`` weekly held sessions from ``first``; sessions on/after ``start`` themed
    every other week (``"alternate"``), always (``"all"``) or never (``"none"``)."""
    rng = np.random.default_rng(seed)
    rows = []
    k = 0
    for i in range(n):
        d = first + timedelta(weeks=i)
        after = d >= start
        th = after and (themed == "all" or (themed == "alternate" and k % 2 == 0))
        k += after
        rows.append({"date": d, "attendance": int(rng.poisson(mean)),
                     "new_visitors": int(rng.poisson(1.0)), "theme": "thème" if th else pd.NA})
    return make_dataset(rows, config=config)


CASES = {
    # name: (first session, number of weekly sessions, start, themed pattern, config)
    "1 month": (date(2023, 12, 20), 5, START, "alternate", CFG),
    "3 months": (date(2023, 11, 1), 13, START, "alternate", CFG),
    "6 months": (date(2023, 10, 4), 26, START, "alternate", CFG),
    "14 weekly, themed from the 7th": (START - timedelta(weeks=6), 14, START, "alternate", CFG),
    "theming on the last week": (date(2023, 1, 4), 54, date(2024, 1, 10), "alternate", CFG),
    "every session themed after the start": (date(2022, 1, 5), 130, START, "all", CFG),
    "no change date": (date(2023, 1, 4), 52, START, "none", EvaluationConfig()),
}

_EXP = re.compile(r"\d[eE]\+?\d")  # a large number in exponent form (1e13, 5.7e+13)
_LONG = re.compile(r"(?<![\d.])\d{7,}")  # 7+ digits before any decimal point


def _no_absurd_number(text: str):
    assert not _EXP.search(text), text[:300]
    assert not _LONG.search(text.replace("\u00a0", "").replace(",", "")), text[:300]


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    first, n, start, themed, cfg = CASES[request.param]
    ds = _weekly(first, n, start=start, themed=themed, config=cfg, seed=len(request.param))
    return request.param, theming_analysis(ds, n_placebo=20, n_sim=40, seed=0)


def test_every_short_source_gives_an_answer_without_absurd_numbers(case):
    name, r = case
    for lang in ("fr", "en"):
        d = r.to_dict(lang)
        text = json.dumps(d, ensure_ascii=False, allow_nan=False)  # no NaN/inf either
        _no_absurd_number(text)
        assert d["verdict"]["text"]
        _no_absurd_number(r.verdict.text(lang))
        _no_absurd_number(theming_notes(r, lang))
    for table in (theming_effects(r), theming_themed_vs_plain(r), theming_overall(r),
                  r.sensitivity, r.placebo):
        for col in ("rate_ratio", "ci_low", "ci_high"):
            if col in table and len(table):
                v = pd.to_numeric(table[col], errors="coerce").dropna()
                assert ((v >= 1e-3) & (v <= 1e3)).all(), (name, col, v.tolist())
    if not r.estimable:
        # one sentence, with the number that is missing
        assert r.reason("fr") and r.reason("en")
        assert r.verdict.evidence == "not_estimable"
        assert (theming_effects(r)["status"] == "not_estimable").all()
        assert theming_effects(r)["note"].str.len().gt(0).all()


def test_reasons_name_what_is_missing(case):
    name, r = case
    if name == "1 month":
        # 5 weekly sessions from 20/12/2023, start 10/01/2024: 3 before, 2 after
        assert r.reason("fr") == ("Trop tôt pour juger : 2 permanences depuis le début de la "
                                  "thématisation, il en faut au moins 6.")
    elif name == "3 months":
        # 13 weeks from 01/11/2023: 10/01/2024 is the 11th week, so 3 sessions after it
        assert r.reason("en") == ("Too early to judge: 3 sessions since theming started, at "
                                  "least 6 are needed.")
    elif name == "14 weekly, themed from the 7th":
        # 6 before, 8 after: estimable, but no season (less than a year) and no placebo
        assert r.estimable
        assert r.diagnostics["harmonics"] == 0
        assert "placebo" in r.notes
        assert r.verdict.evidence in ("weak", "inconclusive")  # never graded above weak
    elif name == "theming on the last week":
        assert r.reason("fr") == ("Trop tôt pour juger : 1 permanence depuis le début de la "
                                  "thématisation, il en faut au moins 6.")
    elif name == "every session themed after the start":
        assert r.estimable
        tv = theming_themed_vs_plain(r, "fr").set_index("outcome").loc["visits"]
        assert tv["status"] == "not_estimable"
        assert "aucune permanence non thématisée" in tv["note"]
        assert "no plain session to compare" in r.verdict.text_en
        assert r.overall["status"] == "estimated"  # (a) needs no plain session
    elif name == "no change date":
        assert r.reason("fr").startswith("Pas de date de début de la thématisation dans "
                                         "evaluation.yml : ")
        assert r.start is None and r.to_dict("fr")["start"] is None


def test_plots_draw_or_decline(case):
    from qsp_eval.plots.theming import plot_theming, plot_theming_effect, plot_theming_series

    _, r = case
    import pickle

    for f in (plot_theming_series, plot_theming_effect):
        ax = f(r, lang="fr")
        assert ax is None or hasattr(ax, "figure")
        if ax is not None:  # the report saves figures in a worker process: they must pickle
            pickle.dumps(ax.figure)
    ax = plot_theming_effect(r, lang="fr")
    if ax is not None:  # French decimal commas on the rate-ratio axis ("0,5", "1,5")
        ax.figure.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels and not any("." in x for x in labels)
    fig = plot_theming(r, lang="en")
    assert (fig is None) == (not r.estimable)


def test_power_and_placebo_never_crash_on_14_sessions():
    # the source: 14 weekly sessions, theming from the 7th (LinAlgError before)
    ds = _weekly(START - timedelta(weeks=6), 14, seed=7)
    r = theming_analysis(ds, n_placebo=20, n_sim=200, seed=0)
    assert r.estimable
    assert r.power_summary["n_sim"] in (0, 200)
    d = r.to_dict("en")
    assert d["power"]["n_sim"] in (0, 200)
    json.dumps(d, allow_nan=False)


def test_plausible_rule():
    assert plausible(1.18, 0.78, 1.79)
    assert not plausible(1.0, 0.0, 7.28e19)      # the slope interval 0,00-7e19
    assert not plausible(5.0, 0.5, 5.7e13)      # a bound of 5.7e13
    assert not plausible(1.0, 0.02, 40.1)       # 40.1 / 0.02 = 2005 > 1000: 3+ orders
    assert plausible(1.0, 0.04, 39.0)           # 975 < 1000
    assert not plausible(float("nan"), 0.5, 2.0)
    assert not plausible(2.0, 0.5, float("inf"))


def test_its_cumulative_by_hand():
    # Step-only Poisson model (no trend): before 2, 4, 3, 3 (mean 3), after 6, 5, 7, 6.
    # Counterfactual of each of the 4 post rows = 3, expected 12; observed 24;
    # ratio 2, difference 12.  Var(log ratio) = Var(b0) + Var(Σy)/(Σμ̂)² = 1/12 + 24/24² =
    # 0.125 (Poisson: Var(b0) = 1/Σy_before), SE = 0.353553, CI = 2·exp(∓1.959964·0.353553)
    # = (1.000196, 3.999216); difference interval 24·(1 − 1/bound) = (about 0.0047, 17.998824).
    df = pd.DataFrame({"t": range(8), "y": [2, 4, 3, 3, 6, 5, 7, 6]})
    res = fit_its(df, count="y", time="t", intervention=4, family="poisson", trend=False,
                  slope_change=False)
    c = its_cumulative(res)
    assert c["n"] == 4 and c["observed"] == 24
    assert c["expected"] == pytest.approx(12.0)
    assert c["ratio"] == pytest.approx(2.0)
    assert c["difference"] == pytest.approx(12.0)
    assert c["se_log"] == pytest.approx(math.sqrt(0.125), rel=1e-6)
    assert c["ci_low"] == pytest.approx(1.000196, rel=1e-5)
    assert c["ci_high"] == pytest.approx(3.999216, rel=1e-5)
    assert c["difference_low"] == pytest.approx(0.0047, abs=5e-5)
    assert c["difference_high"] == pytest.approx(17.998824, rel=1e-5)


def test_newey_west_when_residuals_are_autocorrelated():
    # 3 years of weekly sessions whose log-mean carries an AR(1) disturbance (rho 0.8, sd
    # 0.25): the residuals are strongly autocorrelated, so Ljung-Box flags them and the
    # models are refitted with Newey-West errors, lag floor(4·(n/100)^(2/9)).
    rng = np.random.default_rng(5)
    n = 156
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = 0.8 * e[i - 1] + rng.normal(0, 0.25)
    first = date(2021, 1, 6)
    rows = [{"date": first + timedelta(weeks=i), "attendance": int(rng.poisson(8 * np.exp(e[i]))),
             "theme": "x" if (first + timedelta(weeks=i) >= date(2023, 1, 4) and i % 2) else pd.NA}
            for i in range(n)]
    cfg = EvaluationConfig(change=Change("theming", date(2023, 1, 4), "T", "T"))
    r = theming_analysis(make_dataset(rows, config=cfg), n_placebo=0, n_sim=0)
    d = r.to_dict("en")["method"]
    assert d["autocorrelation"] is True and d["ljung_box_p"] < 0.05
    assert d["hac_lags"] == newey_west_lags(n) == 4   # 4·1.56^(2/9) = 4.42 -> 4
    assert "Newey–West" in d["text"]
    assert {"family", "alpha", "dispersion", "inference", "acf1", "ljung_box_lags"} <= set(d)


def test_displacement_source_does_not_say_attendance_rose():
    # Three no-effect programmes (trend, season, negative binomial noise); after the start,
    # every other session is themed and 40 % of each plain session's visitors move to the
    # next themed session: themed sessions gain exactly what plain ones lose, the total is
    # unchanged.
    from qsp_eval.simulate import simulate_session_counts

    for seed in (1, 2, 3):
        sim = simulate_session_counts(seed, themed_rate_ratio=1.0, first_time_rate_ratio=1.0,
                                      slope_change_per_year=0.0, themed_probability=0.0)
        held = sim.loc[sim["status"] == "held"].reset_index(drop=True)
        y = held["visits"].to_numpy().astype(int).copy()
        after = held["after"].to_numpy()
        idx = np.flatnonzero(after)
        themed = np.zeros(len(held), dtype=bool)
        for a, b in zip(idx[0::2], idx[1::2]):
            moved = int(round(0.4 * y[a]))
            y[a] -= moved
            y[b] += moved
            themed[b] = True
        assert y.sum() == held["visits"].sum()
        rows = [{"date": d, "attendance": int(v), "theme": "x" if t else pd.NA}
                for d, v, t in zip(held["date"], y, themed)]
        r = theming_analysis(make_dataset(rows, config=CFG), n_placebo=20, n_sim=0)
        assert r.verdict.evidence not in ("strong", "moderate"), (seed, r.verdict.text_en)
        assert "associated with higher attendance" not in r.verdict.text_en
        assert r.verdict.checks["direction"] != "higher"
        assert r.verdict.checks["moved_not_grew"], (seed, r.verdict.text_en)
        assert "moved to themed sessions rather than grew" in r.verdict.text_en
        assert "déplacée vers les permanences thématisées" in r.verdict.text_fr


def test_example_states_slope_and_cumulative_difference(example_dataset):
    r = theming_analysis(example_dataset, n_sim=0)
    fr, en = r.verdict.text_fr, r.verdict.text_en
    # (a) first: the cumulative difference in visits with its interval
    assert re.search(r"environ [\d\u00a0]+ passages de (plus|moins) que prévu \(IC 95 % de "
                     r"[−+]?[\d\u00a0]+ à [−+]?[\d\u00a0]+\)", fr), fr
    assert re.search(r"about [\d,]+ visits (more|fewer) than expected \(95% CI ", en), en
    # the slope change (x0.47 a year on the example, interval below 1) is said in words
    assert r.verdict.checks["slope_change"] == "lower"
    assert "la pente a été multipliée par 0,47 par an" in fr
    assert "the slope changed by ×0.47 a year" in en and "less favourable" in en
    d = r.to_dict("en")
    assert d["method"]["family"] == "negbin" and d["method"]["alpha"] > 0
    assert d["method"]["ljung_box_p"] is not None and d["method"]["acf1"] is not None
    assert d["overall"]["status"] == "estimated"
    assert d["overall"]["difference_low"] < d["overall"]["difference"] < \
        d["overall"]["difference_high"]


def test_cli_theming_not_estimable_and_json_method(tmp_path, capsys):
    from qsp_eval.cli import main
    from qsp_eval.simulate import write_simulation

    src = tmp_path / "src"
    write_simulation(src, seed=5, start=date(2023, 1, 4), end=date(2024, 1, 31),
                     theming_start=date(2024, 1, 10), year_totals={})
    code = main(["theming", str(src), "--n-sim", "0", "--lang", "fr"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Trop tôt pour juger")
    code = main(["theming", str(src), "--n-sim", "0", "--json", "--lang", "en",
                 "--start", "2023-09-06"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"family", "alpha", "dispersion", "inference", "ljung_box_p", "acf1",
            "autocorrelation", "hac_lags"} <= set(d["method"])
    assert d["estimable"] is True and "overall" in d and "displacement" in d
