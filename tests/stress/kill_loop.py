"""Kill real `qcode import` and `qcode suggest` processes at random moments, again and
again, then let them finish, and check nothing was lost or doubled (issue 7). The fast
version of this, one SIGKILL at each named point, is tests/test_faults.py.

    python tests/stress/kill_loop.py [--kills 20] [--documents 60] [--seed 1]

After every kill: `qcode doctor` must pass and every document must be whole. At the
end, the project must hold what a run without kills gives (same documents, sentences,
suggestions). Prints what it did; exits 1 on the first problem.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from suggest import make_corpus  # noqa: E402
from test_faults import counts, healthy  # noqa: E402

COMMANDS = {"import": lambda corpus: ["import", str(corpus)],
            "suggest": lambda corpus: ["suggest", "--using", "rules,fuzzy", "--jobs", "1"]}


def qcode(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "QCODE_FAULT_AT"}
    return subprocess.run([sys.executable, "-m", "qcode", "-P", str(root), *args],
                          capture_output=True, text=True, env=env)


def kill_at_random(root: Path, args: list[str], rng: random.Random, longest: float) -> bool:
    """Start the command, kill it after a random time; True if it was killed running."""
    env = {k: v for k, v in os.environ.items() if k != "QCODE_FAULT_AT"}
    process = subprocess.Popen([sys.executable, "-m", "qcode", "-P", str(root), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(rng.uniform(0.05, longest))
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20, help="kills per command")
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="qcode-kill-"))
    try:
        corpus = work / "corpus"
        make_corpus(corpus, args.documents * 5000, seed=args.seed)
        root, clean = work / "project", work / "clean"
        for folder in (root, clean):
            assert qcode(folder.parent, "init", str(folder)).returncode == 0
            shutil.copyfile(ROOT / "codebooks" / "trust-empowerment-loyalty.yaml",
                            folder / "codebook.yaml")
            assert qcode(folder, "codebook", "sync").returncode == 0
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            assert qcode(clean, *command(corpus)).returncode == 0
            longest = max(time.perf_counter() - started, 1.0)
            kills = attempts = 0
            while kills < args.kills and attempts < args.kills * 5:
                attempts += 1
                if kill_at_random(root, command(corpus), rng, longest):
                    kills += 1
                    healthy(root)
            finished = qcode(root, *command(corpus))
            if finished.returncode != 0:
                print(f"{name}: the run after the kills failed: {finished.stderr}")
                return 1
            healthy(root)
            ours, reference = counts(root), counts(clean)
            if ours != reference:
                print(f"{name}: after {kills} kills the project differs from a clean run:\n"
                      f"  killed: {ours}\n  clean:  {reference}")
                return 1
            print(f"{name}: {kills} kills at random moments (of {attempts} starts); doctor "
                  f"passed after each; the final state equals a clean run "
                  f"({ours['documents']} documents, {ours['segments']} segments, "
                  f"{ours['suggestions']} suggestions)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
