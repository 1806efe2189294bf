"""Benchmark of ``qsp-eval summary`` and ``qsp-eval --help`` (not a test; run on a quiet machine).

Measures, as the median of several fresh processes:

- ``qsp-eval summary data/example`` against the floor
  ``python -c "import pandas, statsmodels.api"`` (target: ratio <= 1.5);
- ``qsp-eval --help`` wall time (target: < 0.5 s).

Prints one line per measure.  Usage: ``python benchmarks/bench_summary.py [--runs N] [SOURCE]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(cmd: list[str], runs: int) -> float:
    """Median wall time of ``runs`` fresh processes (after one warm-up run)."""
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the measures and print them; returns 0 when both targets are met, else 1."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", nargs="?", default=str(ROOT / "data" / "example"))
    p.add_argument("--runs", type=int, default=7)
    a = p.parse_args(argv)
    py = sys.executable
    floor = _time([py, "-c", "import pandas, statsmodels.api"], a.runs)
    summary = _time([py, "-m", "qsp_eval", "summary", a.source], a.runs)
    helps = _time([py, "-m", "qsp_eval", "--help"], a.runs)
    ratio = summary / floor
    ok_ratio, ok_help = ratio <= 1.5, helps < 0.5
    print(f"floor  import pandas, statsmodels.api   median {floor:.3f} s ({a.runs} runs)")
    print(f"summary qsp-eval summary {Path(a.source).name:<14} median {summary:.3f} s  "
          f"ratio {ratio:.2f} (target <= 1.5: {'ok' if ok_ratio else 'MISSED'})")
    print(f"help   qsp-eval --help                  median {helps:.3f} s  "
          f"(target < 0.5 s: {'ok' if ok_help else 'MISSED'})")
    return 0 if ok_ratio and ok_help else 1


if __name__ == "__main__":
    sys.exit(main())
