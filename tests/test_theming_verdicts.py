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
    r = study(situation, range(100, 300))
    print(situation, r)
    assert r["n"] == 200
    assert r["correct"] > 100, r
    if situation in ("none", "displacement"):
        assert r["moderate_or_strong"] <= 10, r
