"""Simulated programmes whose truth is known, for the verdict study (tests/test_theming_verdicts.py).

Four situations, each drawn with :func:`qsp_eval.simulate.simulate_session_counts`
(weekly sessions 2021-11-03 to 2024-12-31, theming from 2024-01-10, trend 0.471/year,
one seasonal harmonic, negative binomial counts with shape 12, a context event on
2023-05-15 marked for sensitivity runs, as in the example):

* ``rise``: every session after the start draws 1.5 times the earlier trend (level change
  ×1.5, no slope change), themed and plain alike (themed rate ratio 1);
* ``displacement``: no effect on the total; after the start every other session is themed
  and 40 % of each plain session's visitors move to the next themed session (themed
  sessions gain exactly what plain ones lose);
* ``stop``: the growth stops at the start (slope change −0.771/year, the example's shape),
  themed rate ratio 1;
* ``none``: no effect at all.

"Named correctly": ``rise`` → the answer grades a higher attendance (direction "higher",
not "moved rather than grew"); ``displacement`` → it says attendance moved rather than
grew and grades neither moderate nor strong; ``stop`` → it states the slope change as a
decline (``slope_change == "lower"``) and never says attendance rose; ``none`` → inconclusive.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from qsp_eval.schema import Change, EvaluationConfig, Event
from qsp_eval.simulate import simulate_session_counts
from qsp_eval.testing import make_dataset
from qsp_eval.theming import theming_analysis

CONFIG = EvaluationConfig(
    change=Change("theming", date(2024, 1, 10), "Thématisation", "Theming"),
    events=(Event(date(2023, 5, 15), "Ouverture d'un service", "A service opens"),),
)
SITUATIONS = ("rise", "displacement", "stop", "none")


def programme(situation: str, seed: int):
    """The dataset of one simulated programme."""
    kw = {"themed_rate_ratio": 1.0, "first_time_rate_ratio": 1.0, "slope_change_per_year": 0.0,
          "level_change_rate_ratio": 1.0}
    if situation == "rise":
        kw["level_change_rate_ratio"] = 1.5
    elif situation == "stop":
        kw["slope_change_per_year"] = -0.771
    sim = simulate_session_counts(seed, themed_probability=0.0 if situation == "displacement"
                                  else 0.4, **kw)
    held = sim.loc[sim["status"] == "held"].reset_index(drop=True)
    y = held["visits"].to_numpy().astype(int).copy()
    themed = held["themed"].to_numpy().astype(bool).copy()
    if situation == "displacement":
        idx = np.flatnonzero(held["after"].to_numpy())
        for a, b in zip(idx[0::2], idx[1::2]):
            moved = int(round(0.4 * y[a]))
            y[a] -= moved
            y[b] += moved
            themed[b] = True
    rows = [{"date": d, "attendance": int(v), "theme": "x" if t else pd.NA}
            for d, v, t in zip(held["date"], y, themed)]
    return make_dataset(rows, config=CONFIG)


def named_correctly(situation: str, verdict) -> bool:
    c = verdict.checks
    if situation == "rise":
        return c["direction"] == "higher" and not c["moved_not_grew"]
    if situation == "displacement":
        return bool(c["moved_not_grew"]) and verdict.evidence not in ("strong", "moderate")
    if situation == "stop":
        return c["slope_change"] == "lower" and c["direction"] != "higher"
    return verdict.evidence == "inconclusive"


def study(situation: str, seeds) -> dict:
    """Run the analysis (10 placebo dates, no power simulation) on each seed; tally the answers.

    10 fake start dates (the report uses 20) keep the study affordable; the placebo check
    is about as strict (passed when no placebo of 10 is as extreme, p = 1/11; with 20, at
    most one, p = 2/21).
    """
    out = {"n": 0, "correct": 0, "moderate_or_strong": 0, "says_higher": 0,
           "evidence": {}}
    for seed in seeds:
        v = theming_analysis(programme(situation, seed), n_sim=0, n_placebo=10).verdict
        out["n"] += 1
        out["correct"] += named_correctly(situation, v)
        out["moderate_or_strong"] += v.evidence in ("moderate", "strong")
        out["says_higher"] += v.checks.get("direction") == "higher"
        out["evidence"][v.evidence] = out["evidence"].get(v.evidence, 0) + 1
    return out
