"""Hostile but legal input at scale (issue 18, item 5): whole `qcode` processes on
- WebVTT files of 10,000 and 100,000 cues (voices alternating; one voice throughout, its
  cues merged into one long turn; no voices), printing the 100,000 / 10,000 time ratio
  (10 is linear; the cue merging once grew faster);
- a codebook of 20,000 codes: the first `codebook sync` and one with nothing to change.

    python bench/hostile.py [--cues 100000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def stamp(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.000"


def vtt(path: Path, cues: int, voice) -> Path:
    lines = ["WEBVTT", ""]
    for i in range(cues):
        who = voice(i)
        lines += [f"{stamp(2 * i)} --> {stamp(2 * i + 2)}",
                  (f"<v {who}>" if who else "") + f"And then number {i} came along, it was said.",
                  ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def qcode(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qcode", *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cues", type=int, default=100_000)
    parser.add_argument("--codes", type=int, default=20_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qcode-hostile-"))
    try:
        shapes = {"voices alternating": lambda i: f"Speaker {i % 2}",
                  "one voice": lambda i: "Anna", "no voices": lambda i: None}
        for name, voice in shapes.items():
            times = {}
            for cues in (args.cues // 10, args.cues):
                project = tmp / f"p-{len(times)}-{name.split()[0]}"
                qcode("init", str(project))
                file = vtt(tmp / f"{cues}.vtt", cues, voice)
                times[cues] = qcode("-P", str(project), "import", str(file))
            small, large = times.values()
            print(f"vtt, {name}: {args.cues // 10:,} cues {small:.1f} s, {args.cues:,} cues "
                  f"{large:.1f} s: x{large / small:.1f} for 10x the cues")
        project = tmp / "codebook"
        qcode("init", str(project))
        lines = ["name: big", "codes:"]
        for group in range(args.codes // 100):
            lines += [f"  - name: group{group}", "    codes:"]
            for code in range(99):
                lines += [f"      - name: code{group}-{code}",
                          f"        description: Code {code} of group {group}."]
        (project / "codebook.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        first = qcode("-P", str(project), "codebook", "sync")
        again = qcode("-P", str(project), "codebook", "sync")
        print(f"codebook of {args.codes:,} codes: first sync {first:.1f} s, again (no change) "
              f"{again:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
