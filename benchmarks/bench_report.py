"""Benchmark: ``qsp-eval report data/example`` end to end, against the scientific-stack floor.

Not a test. Run it on a quiet machine::

    .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--source data/example]

It measures, in fresh processes (wall-clock time):

- the floor: ``python -c "import pandas, statsmodels.api, seaborn"``;
- the report: ``qsp-eval report SOURCE --out <temporary folder>``;

in ``--repeat`` pairs, each floor run right before its report run, so that both halves
of a pair see the same load on a shared machine (on 2026-12-01 the floor alone drifted
from 2.0 to 4.1 s within the hour). It prints the medians and the median of the
per-pair ratios. The limit is 4.2 (since 2026-12-01); the aim is 2.5. Exit status 0
when that ratio is at most ``--max-ratio`` (default 4.2), else 1.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["measure", "main"]

ROOT = Path(__file__).resolve().parents[1]


def measure(cmd: list[str], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` runs of ``cmd`` (each must exit 0)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None) -> int:
    """Run the benchmark and print the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--source", default="data/example")
    ap.add_argument("--max-ratio", type=float, default=4.2)
    args = ap.parse_args(argv)
    py = sys.executable
    exe = Path(py).with_name("qsp-eval")
    qsp = [str(exe)] if exe.exists() else [py, "-m", "qsp_eval"]
    floor_cmd = [py, "-c", "import pandas, statsmodels.api, seaborn"]
    measure(floor_cmd, 1)  # warm the file cache
    with tempfile.TemporaryDirectory() as tmp:
        floor, runs = [], []
        for i in range(args.repeat):
            floor += measure(floor_cmd, 1)
            out = Path(tmp) / f"run{i}"
            runs += measure(qsp + ["report", args.source, "--out", str(out)], 1)
    f, r = statistics.median(floor), statistics.median(runs)
    ratios = [b / a for a, b in zip(floor, runs, strict=True)]
    ratio = statistics.median(ratios)
    print(f"floor  (import pandas, statsmodels.api, seaborn): {f:.2f} s  "
          f"(runs: {', '.join(f'{x:.2f}' for x in floor)})")
    print(f"report (qsp-eval report {args.source}): {r:.2f} s  "
          f"(runs: {', '.join(f'{x:.2f}' for x in runs)})")
    print(f"ratio: {ratio:.2f} (median of the pairs: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"target <= {args.max_ratio:g})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
