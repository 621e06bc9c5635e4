"""Import throughput (issue 7's performance suite): generated transcripts of ~5,000
words each, imported by one whole `qcode import` process into a fresh project.

    python bench/ingest.py [--documents 1000] [--qc]

Prints words per second and the time per transcript. With --qc, the same corpus is also
imported by the `qc` command-line coder (PyPI: qualitative-coding) with its verbatim
importer, installed into a virtual environment of this benchmark's own (never into
qcode's), and the ratio of the two whole-process times is printed (issue 15).
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


def time_qc(venv: Path, work: Path) -> float:
    """qc's whole-process import of work/corpus into a new qc project."""
    qc = venv / "bin" / "qc"
    if not qc.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "qualitative-coding"],
                       check=True)
    project = work / "qc-project"
    project.mkdir()
    subprocess.run([str(qc), "init"], cwd=project, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([str(qc), "corpus", "import", "--recursive", "--importer", "verbatim",
                    str(work / "corpus")], cwd=project, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--qc", action="store_true", help="also time qc's verbatim import")
    parser.add_argument("--qc-venv", type=Path, default=Path(tempfile.gettempdir()) /
                        "qcode-bench-qc-venv", help="where qc is installed (created if missing)")
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
        if args.qc:
            qc_seconds = time_qc(args.qc_venv, work)
            print(f"qc corpus import --importer verbatim: {qc_seconds:.1f} s; qcode / qc = "
                  f"{elapsed / qc_seconds:.2f} (target <= 0.5)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
