"""How fast does `qcode --help` start? Target (issue 2): under 0.3 s.

Runs the installed console script N times and prints the median and best wall time,
their ratio to the target, and a bare `python -c pass` for scale.

    python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

TARGET = 0.3


def timed(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    qcode = shutil.which("qcode") or sys.exit("qcode is not on PATH; pip install -e . first")
    bare = timed([sys.executable, "-c", "pass"], runs)
    helps = timed([qcode, "--help"], runs)
    median = statistics.median(helps)
    print(f"python -c pass   median {statistics.median(bare):.3f} s")
    print(f"qcode --help     median {median:.3f} s  best {min(helps):.3f} s  "
          f"({median / TARGET:.2f} x the {TARGET} s target) over {runs} runs")


if __name__ == "__main__":
    main()
