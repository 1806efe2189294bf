"""Run every benchmark script in this folder (``make bench``).

Benchmarks are not timed tests: each ``bench_*.py`` measures a command against a
floor (the time to import the libraries it needs) and prints the ratio. Run them
on a quiet machine; the figures are recorded in the README.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        status |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main())
