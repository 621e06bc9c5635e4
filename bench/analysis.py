"""Analysis commands at scale (issue 5): 1,000 transcripts x ~5,000 words, ~90,000
codings by 3 coders, with role and region attributes. Times each command as a whole
process (median of 3) and prints it beside its target (0.5 s; report 5 s).

    python bench/analysis.py [--documents 1000] [--keep DIR] [--postgresql URL]

With --postgresql (an empty database: createdb NAME), the same project is built there
too and every command is timed on both backends, its PostgreSQL time printed as a ratio
to SQLite's (issue 17's target: at most 2 x for analysis at 1,000 transcripts):

    tests/pg/with-server sh -c 'createdb qcode_bench &&
        .venv/bin/python bench/analysis.py --documents 100 --postgresql postgresql:///qcode_bench'
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suggest import REPO, make_corpus  # noqa: E402

COMMANDS = {
    "(start-up)": ["path"],  # the floor under every command: imports and the CLI
    "excerpts": ["excerpts", "--code", "trust", "--children", "--where", "role=activist",
                 "-f", "jsonl"],
    "stats": ["stats", "--by", "role", "-f", "csv"],
    "crosstab": ["crosstab", "--code", "trust", "--children", "--cols", "role", "--unit",
                 "document", "--percent", "col", "-f", "csv"],
    "cooccur": ["cooccur", "--pairs", "-f", "csv"],
    "agree": ["agree", "--coders", "c1,c2,c3", "-f", "csv"],
    "report": ["report", "--force", "--max-excerpts", "50"],
}
TARGET = {"report": 5.0}


def build(root: Path, documents: int, seed: int = 0, database: str | None = None) -> int:
    """A project with generated transcripts and ~90 codings per document."""
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.project import Project
    from qcode.store import transaction
    from qcode.store.records import coder_id, now

    work = Path(tempfile.mkdtemp(prefix="qcode-bench-corpus-"))
    corpus = work / "corpus"
    make_corpus(corpus, documents * 5000)
    project = Project.init(root, coder="bench", database=database)
    sync(project.db, load_codebook(REPO / "codebooks" / "trust-empowerment-loyalty.yaml"))
    rng = random.Random(seed)
    table = work / "attributes.csv"
    table.write_text("document,role,region\n" + "".join(
        f"{p.stem},{rng.choice(['activist', 'bureaucrat'])},"
        f"{rng.choice(['Perm', 'Kazan', 'Moscow', 'Arkhangelsk'])}\n"
        for p in sorted(corpus.glob("*.txt"))))
    from qcode.ingest.attributes import read_attribute_table

    import_paths(project.db, [corpus], ImportOptions(table=read_attribute_table(table)))
    db = project.db
    codes = [r[0] for r in db.execute("SELECT id FROM codes WHERE parent_id IS NOT NULL")]
    added = 0
    with transaction(db):
        coders = [coder_id(db, f"c{i}") for i in (1, 2, 3)]
        stamp = now()
        for doc_id, revision in db.execute("SELECT document_id, id FROM current_revisions"
                                           ).fetchall():
            sentences = db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? "
                                   "AND kind = 'sentence'", [revision]).fetchall()
            rows = set()
            for _ in range(30):  # 30 places, each coded by the 3 coders (mostly agreeing)
                start, end = rng.choice(sentences)
                code = rng.choice(codes)
                for coder in coders:
                    chosen = code if rng.random() < 0.8 else rng.choice(codes)
                    rows.add((doc_id, revision, start, end, chosen, coder, stamp))
            db.conn.executemany(
                "INSERT OR IGNORE INTO codings (document_id, revision_id, start, \"end\", "
                "code_id, coder_id, created) VALUES (?, ?, ?, ?, ?, ?, ?)", sorted(rows))
            added += len(rows)
    project.close()
    shutil.rmtree(work, ignore_errors=True)
    return added


def ensure_project(root: Path, documents: int, database: str | None = None) -> None:
    """Build the benchmark project at *root* unless it is already there (--keep)."""
    if not (root / "qcode.yaml").exists():
        start = time.perf_counter()
        codings = build(root, documents, database=database)
        print(f"built {documents} transcripts and {codings:,} codings in "
              f"{time.perf_counter() - start:.0f} s" + (" on PostgreSQL" if database else ""))


def timed(root: Path, command: list[str], env: dict) -> float:
    """The median of 3 runs of *command* (after one warm-up run)."""
    times = []
    for attempt in range(4):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qcode", "-P", str(root), *command],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--postgresql", metavar="URL",
                        help="also build the project in this (empty) PostgreSQL database "
                             "and print each command's time as a ratio to SQLite's")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-"))
    root = args.keep or tmp / "project"
    try:
        ensure_project(root, args.documents)
        server = root.with_name(root.name + "-postgresql")
        if args.postgresql:
            ensure_project(server, args.documents, args.postgresql)
        # as installed: byte code cached (some sandboxes set PYTHONDONTWRITEBYTECODE,
        # which makes every run compile qcode again); one warm-up run per command
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for name, command in COMMANDS.items():
            median, target = timed(root, command, env), TARGET.get(name, 0.5)
            line = (f"{name:10} median {median:6.2f} s   target {target:.1f} s   "
                    f"{median / target:5.2f} x target")
            if args.postgresql:
                on_server = timed(server, command, env)
                line += f"   PostgreSQL {on_server:6.2f} s = {on_server / median:5.2f} x SQLite"
            print(line)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
