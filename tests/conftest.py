"""Shared test fixtures: the synthetic example data, loaded once per test session.

``data/example`` is written by ``qsp-eval simulate``; tests that need it ask for the
``example_dataset`` fixture and are skipped cleanly (with the reason) when it is missing or
when the loader is not available.

The dataset is shared by every test of the session: **do not modify it** (analysis functions
never mutate their input; a test that wants to change a table works on a copy).  At the end
of the session the fixture checks that no table was changed and fails the teardown if one was.

Hypothesis profiles (registered here, before any test module is imported, so that every
``@settings(...)`` of the suite inherits from the loaded profile):

``ci`` (default)
    ``derandomize=True`` and no example database: every run of the same commit draws the
    same examples, so ``make test`` gives the same result on every clean run (a failure is
    a failure of the commit, not of chance).
``explore``
    Random draws (a new seed each run), still without a database, with more examples where
    a test does not fix its own count. Used by ``make test-slow``
    (``HYPOTHESIS_PROFILE=explore``) to look further for unexpected inputs; a failure found
    there prints the ``@example`` / seed to reproduce it, to be added to the test.

Choose with the ``HYPOTHESIS_PROFILE`` environment variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "explore", derandomize=False, database=None, deadline=None, max_examples=300,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"
_TABLES = ("sessions", "visits", "services", "distributions", "survey_responses")


@pytest.fixture(scope="session")
def example_dir() -> Path:
    """Path of ``data/example``; skips when it has not been generated."""
    if not (EXAMPLE / "sessions.csv").is_file():
        pytest.skip("data/example is not generated yet (qsp-eval simulate)")
    return EXAMPLE


@pytest.fixture(scope="session")
def example_truth(example_dir) -> dict:
    """The planted figures of the example (``data/example/truth.json``)."""
    path = example_dir / "truth.json"
    if not path.is_file():
        pytest.skip("data/example/truth.json is missing")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def example_dataset(example_dir):
    """``qsp_eval.io.load_source("data/example")``, loaded once for the whole session.

    Read-only: shared by every test that asks for it (checked at teardown).
    """
    try:
        from qsp_eval.io import load_source

        ds = load_source(example_dir)
    except NotImplementedError:
        pytest.skip("qsp_eval.io.load_source is not written yet")
    # copy-on-write copies: free until something writes to the shared tables
    before = {name: getattr(ds, name).copy() for name in _TABLES}
    yield ds
    changed = [name for name in _TABLES if not getattr(ds, name).equals(before[name])]
    assert not changed, f"a test modified the shared example dataset: {changed}"
