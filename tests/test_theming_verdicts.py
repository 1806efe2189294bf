"""The verdict's words against simulated truths (issue 13, point 4).

Situations and what "named correctly" means: see ``tests/theming_study.py``.  The fast test
runs a few seeded programmes per situation; the slow one 200 per situation and checks how
often each is named correctly and the false-positive rate of "moderate"/"strong" on
programmes with no effect (at most 5 %).
"""

from __future__ import annotations

import pytest
from theming_study import SITUATIONS, study


@pytest.mark.parametrize("situation", SITUATIONS)
def test_verdict_names_simulated_truths_few_seeds(situation):
    # 3 seeded programmes per situation; at least 2 of 3 named correctly (a smoke check:
    # the measured rates are in the slow test)
    r = study(situation, range(3))
    assert r["correct"] >= 2, r
    if situation in ("none", "displacement"):
        assert r["moderate_or_strong"] == 0, r


@pytest.mark.slow
@pytest.mark.parametrize("situation", SITUATIONS)
def test_verdict_names_simulated_truths_200(situation):
    # 200 programmes per situation (seeds 100-299).  Each situation must be named correctly
    # in most of them (> 50 %; measured figures in the issue-13 note); on no-effect
    # programmes "moderate" or "strong" at most 5 % of the time (<= 10 of 200), and on
    # pure displacement never "moderate"/"strong" beyond the same 5 %.
    # Measured on 2026-12-01 (seeds 100-299, 10 placebo dates, no power simulation):
    #   rise          named correctly 136/200 (68 %): strong 43, moderate 7, weak 86,
    #                 inconclusive 64 (a level change x1.5 is below the ~x1.8 detectable
    #                 with 80 % power on such a programme)
    #   displacement  153/200 (76.5 %) say attendance moved rather than grew; moderate or
    #                 strong 5/200 (2.5 %); "higher" at any grade 11/200 (5.5 %)
    #   stop          147/200 (73.5 %) state the slope decline; "higher" 0/200
    #   none          182/200 (91 %) inconclusive; moderate or strong 6/200 (3.0 %),
    #                 weak 12/200
    r = study(situation, range(100, 300))
    print(situation, r)
    assert r["n"] == 200
    assert r["correct"] > 100, r
    if situation in ("none", "displacement"):
        assert r["moderate_or_strong"] <= 10, r
