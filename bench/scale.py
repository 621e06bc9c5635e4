"""How the analysis commands grow with the project (issue 15): the commands of
bench/analysis.py on projects of 1,000 / 3,000 / 10,000 transcripts of ~5,000 words
(~90 codings per transcript by 3 coders, role and region attributes), each run as a
whole process. Prints, per size and command, the median wall seconds and the peak RSS,
then per command the growth from the smallest size against linear growth, so that
growth worse than linear shows.

    python bench/scale.py [--sizes 1000,3000,10000] [--repeat 3] [--cache DIR]

Targets (issue 15): at 10,000 transcripts (50 M words) each analysis command <= 1.0 s and
`report` <= 3 s; peak RSS <= 500 MB for any command at 10 M words (2,000 transcripts).

Building: a few hundred distinct transcripts (bench/suggest.py's `make_corpus`) are
imported once; every project is then filled by copying their rows (documents,
revisions, segments and the per-revision word/sentence/turn indexes) straight into the
store in one transaction, with random attributes and codings per copy. Importing
10,000 files one by one would take minutes; copying takes seconds. Projects are cached
under the cache folder (default: $TMPDIR/qcode-bench-scale), never in the checkout.
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
from analysis import COMMANDS  # noqa: E402
from suggest import REPO, make_corpus  # noqa: E402

QCODE = REPO / ".venv" / "bin" / "qcode"
TARGET = {"report": 3.0, "(start-up)": None}
RSS_LIMIT_MB, RSS_WORDS = 500, 10_000_000
TEMPLATES = 200  # distinct transcripts the projects are copied from
VERSION = 1  # bump when the build changes, so cached projects are rebuilt


def _template(cache: Path) -> Path:
    """A project holding TEMPLATES imported transcripts (built once, cached)."""
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.project import Project

    root = cache / f"template-v{VERSION}"
    if (root / "qcode.yaml").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="qcode-bench-corpus-", dir=cache))
    try:
        make_corpus(work / "corpus", TEMPLATES * 5000)
        project = Project.init(root, coder="bench")
        sync(project.db, load_codebook(REPO / "codebooks" / "trust-empowerment-loyalty.yaml"))
        import_paths(project.db, [work / "corpus"], ImportOptions())
        project.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root


def build(cache: Path, documents: int, seed: int = 0) -> Path:
    """A project of *documents* transcripts copied from the template, with attributes and
    ~90 codings each (30 places, each coded by 3 coders who mostly agree)."""
    root = cache / f"project-{documents}-v{VERSION}"
    if (root / "qcode.yaml").exists():
        return root
    template = _template(cache)
    shutil.rmtree(root, ignore_errors=True)
    partial = cache / f"partial-{documents}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(template, partial)
    from qcode.project import Project
    from qcode.store import transaction
    from qcode.store.records import coder_id, now

    project = Project.open(partial)
    db = project.db
    rng = random.Random(seed)
    with transaction(db):
        # keep the template's codebook and speakers; replace its documents by the copies
        source = db.execute("SELECT r.id, r.text, r.sha256, d.format FROM revisions r JOIN "
                            "documents d ON d.id = r.document_id ORDER BY d.name").fetchall()
        # turns first, so a sentence's turn (named by its number) is copied before it
        segments = {r: db.execute(
            "SELECT s.kind, s.number, s.start, s.\"end\", s.speaker_id, t.number FROM segments s "
            "LEFT JOIN segments t ON t.id = s.turn_id WHERE s.revision_id = ? "
            "ORDER BY s.kind DESC, s.number", [r]).fetchall() for r, *_ in source}
        indexes = {table: dict((row[0], row[1:]) for row in db.execute(f"SELECT * FROM {table}"))
                   for table in ("revision_words", "revision_sentences", "revision_turns")}
        for table in ("codings", "attributes", "segments", "revision_words",
                      "revision_sentences", "revision_turns", "revisions", "documents"):
            db.execute(f"DELETE FROM {table}")
        codes = [r[0] for r in db.execute("SELECT id FROM codes WHERE parent_id IS NOT NULL")]
        coders = [coder_id(db, f"c{i}") for i in (1, 2, 3)]
        stamp = now()
        segment_id = 0
        codings = []
        for n in range(documents):
            revision, text, digest, fmt = source[n % len(source)]
            db.execute("INSERT INTO documents (id, name, source_path, format, language, created) "
                       "VALUES (?, ?, NULL, ?, 'en', ?)", [n + 1, f"t{n:05d}", fmt, stamp])
            db.execute("INSERT INTO revisions (id, document_id, number, text, sha256, encoding, "
                       "note, created) VALUES (?, ?, 1, ?, ?, 'utf-8', 'imported', ?)",
                       [n + 1, n + 1, text, digest, stamp])
            rows, turn_ids, sentences = [], {}, []
            for kind, number, start, end, speaker, turn in segments[revision]:
                segment_id += 1
                if kind == "turn":
                    turn_ids[number] = segment_id
                    rows.append((segment_id, n + 1, kind, number, start, end, speaker, None))
                else:
                    sentences.append((start, end))
                    rows.append((segment_id, n + 1, kind, number, start, end, speaker,
                                 turn_ids[turn]))
            db.conn.executemany("INSERT INTO segments (id, revision_id, kind, number, start, "
                                "\"end\", speaker_id, turn_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                rows)
            for table, columns in (("revision_words", "length, nonspace"),
                                   ("revision_sentences", "starts, ends"),
                                   ("revision_turns", "starts, ends, speakers")):
                values = indexes[table][revision]
                db.execute(f"INSERT INTO {table} (revision_id, {columns}) VALUES "
                           f"(?{', ?' * len(values)})", [n + 1, *values])
            db.conn.executemany(
                "INSERT INTO attributes (document_id, key, value, type) VALUES (?, ?, ?, 'text')",
                [(n + 1, "role", rng.choice(["activist", "bureaucrat"])),
                 (n + 1, "region", rng.choice(["Perm", "Kazan", "Moscow", "Arkhangelsk"]))])
            places = set()
            for _ in range(30):
                start, end = rng.choice(sentences)
                code = rng.choice(codes)
                for coder in coders:
                    chosen = code if rng.random() < 0.8 else rng.choice(codes)
                    places.add((n + 1, n + 1, start, end, chosen, coder, stamp))
            codings += sorted(places)
        db.conn.executemany(
            "INSERT OR IGNORE INTO codings (document_id, revision_id, start, \"end\", "
            "code_id, coder_id, created) VALUES (?, ?, ?, ?, ?, ?, ?)", codings)
    db.execute("ANALYZE")
    project.close()
    partial.rename(root)
    return root


COLD = "stats-cold"  # stats right after one coding changed: the cached copy is patched
REBUILT = "stats-rebuilt"  # stats when the copy must be rebuilt (> 20,000 codings changed)


def _stale(root: Path, rebuild: bool) -> None:
    """Change one coding (a real update, as `qcode tag` makes: the copy is patched), or
    that and drop the copy, which is then rebuilt, as after more changed codings than
    qcode.analysis.frame.PATCH_LIMIT."""
    import sqlite3

    with sqlite3.connect(root / "qcode.db") as conn:
        conn.execute("UPDATE codings SET \"end\" = \"end\" WHERE id = (SELECT max(id) "
                     "FROM codings)")
        if rebuild:
            conn.execute("DELETE FROM codings_cache")
    conn.close()


def run(root: Path, command: list[str], cold: str | None = None
        ) -> tuple[float, float, float]:
    """One whole `qcode` process: (wall seconds, CPU seconds, peak RSS in MB). Linux keeps
    a process's peak RSS across fork and exec, so this process must stay small (the
    projects are built in a child process) for the child's figure to be its own."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if cold:
        _stale(root, rebuild=cold == REBUILT)
    start = time.perf_counter()
    process = subprocess.Popen([str(QCODE), "-P", str(root), *command], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode:
        raise SystemExit(f"qcode {' '.join(command)} failed ({process.returncode}): {error}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # maxrss in KB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,3000,10000",
                        help="transcripts per project, comma-separated (2,000 transcripts "
                        "are the 10 M words of the RSS target)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per command "
                        "(after one warm-up run); the median is printed")
    parser.add_argument("--commands", help="only these commands, comma-separated")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "qcode-bench-scale")
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)  # the child that builds
    args = parser.parse_args()
    if args.build:
        build(args.cache, args.build)
        return
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    # "stats-cold" / "stats-rebuilt": stats right after a coding changed, when the
    # analyses' cached copy of the codings (migration m005) is patched (m007) or rebuilt
    every = {**COMMANDS, COLD: COMMANDS["stats"], REBUILT: COMMANDS["stats"]}
    commands = {k: v for k, v in every.items()
                if not args.commands or k in args.commands.split(",")}
    args.cache.mkdir(parents=True, exist_ok=True)
    roots = {}
    for size in sizes:
        start = time.perf_counter()
        fresh = not (args.cache / f"project-{size}-v{VERSION}" / "qcode.yaml").exists()
        roots[size] = args.cache / f"project-{size}-v{VERSION}"
        if fresh:
            subprocess.run([sys.executable, __file__, "--cache", str(args.cache), "--build",
                            str(size)], check=True)
            print(f"built {size:,} transcripts in {time.perf_counter() - start:.0f} s",
                  file=sys.stderr)
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    print(f"{'command':11} {'transcripts':>11} {'words':>6} {'seconds':>8} {'CPU s':>6} "
          f"{'RSS MB':>7}  target")
    for size in sizes:
        for name, command in commands.items():
            run(roots[size], command)  # warm-up: byte code, page cache
            timed = [run(roots[size], command, name if name in (COLD, REBUILT) else None) for _ in range(args.repeat)]
            seconds = statistics.median(t for t, _, _ in timed)
            cpu = statistics.median(c for _, c, _ in timed)
            rss = max(r for _, _, r in timed)
            results[name, size] = seconds, rss, cpu
            target = TARGET.get(name, 1.0)
            verdict = "" if target is None else (
                f"{target:.1f} s {'ok' if seconds <= target else 'SLOW'}"
                if size == 10_000 else "")
            if size * 5000 <= RSS_WORDS:
                verdict += f"  RSS {'ok' if rss <= RSS_LIMIT_MB else 'OVER'}"
            print(f"{name:11} {size:>11,} {size * 5000 / 1e6:>5.0f}M {seconds:>8.2f} {cpu:>6.2f} "
                  f"{rss:>7.0f}  {verdict}", flush=True)
    if len(sizes) > 1:
        small = sizes[0]
        print(f"\ngrowth from {small:,} transcripts (linear = the size ratio; start-up "
              "included; CPU seconds are steadier than wall seconds on a busy machine)")
        for name in commands:
            line = [f"{name:11}"]
            for size in sizes[1:]:
                (t0, r0, c0), (t1, r1, c1) = results[name, small], results[name, size]
                line.append(f"x{size / small:g}: time x{t1 / t0:5.2f} CPU x{c1 / c0:5.2f} "
                            f"RSS x{r1 / r0:4.2f}")
            print("   ".join(line))

if __name__ == "__main__":
    main()
