"""Import throughput (issue 7's performance suite): generated transcripts of ~5,000
words each, imported by one whole `qcode import` process into a fresh project.

    python bench/ingest.py [--documents 1000]

Prints words per second and the time per transcript.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suggest import make_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qcode-bench-ingest-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    try:
        words = make_corpus(work / "corpus", args.documents * 5000)
        files = len(list((work / "corpus").glob("*.txt")))
        subprocess.run([sys.executable, "-m", "qcode", "init", str(work / "project")],
                       check=True, capture_output=True, env=env)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qcode", "-P", str(work / "project"), "import",
                        str(work / "corpus")], check=True, capture_output=True, env=env)
        elapsed = time.perf_counter() - start
        import sqlite3

        with sqlite3.connect(work / "project" / "qcode.db") as conn:
            stored = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        if stored != files:
            sys.exit(f"only {stored} of {files} transcripts were imported")
        print(f"imported {files} transcripts, {words:,} words in {elapsed:.1f} s: "
              f"{words / elapsed:,.0f} words/s, {1000 * elapsed / files:.0f} ms per transcript")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
