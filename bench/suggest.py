"""Throughput of `qcode suggest` against spaCy's raw blank tokenizer (issue 4).

Generates a corpus of about 1,000,000 words (200 transcripts of ~5,000 words, built
from the sample interviews' sentences), imports it, trains a model on a few reviewed
documents, then times one whole `qcode suggest --using rules,fuzzy,model` process.
Prints raw tokenizer words/s, qcode words/s end to end (DB writes included), their
ratio (target >= 0.10) and the suggest process's peak RSS (target < 1 GB).

    python bench/suggest.py [--words 1000000] [--keep DIR] [--jobs N] [--postgresql URL]

With --postgresql (an empty database: createdb NAME) the same flow runs on the server
too, and its import and suggest times are printed as ratios to SQLite's (issue 17):

    tests/pg/with-server sh -c 'createdb qcode_bench_suggest &&
        .venv/bin/python bench/suggest.py --postgresql postgresql:///qcode_bench_suggest'
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sample_sentences() -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8", errors="ignore")
                    for p in (REPO / "corpora" / "sample").glob("*.*")
                    if p.suffix in (".md", ".txt"))
    text = re.sub(r"(?m)^(---|[a-z]+:.*|\*\*\w+:\*\*|[A-Z]+:|[QA]:)", " ", text)
    return [s.strip() for s in re.split(r"(?<=[.?!])\s+", text) if len(s.split()) >= 4]


def make_corpus(folder: Path, words: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    sentences = sample_sentences()
    folder.mkdir(parents=True)
    total, index = 0, 0
    while total < words:
        lines, count = [], 0
        while count < 5000:
            speaker = "Interviewer" if len(lines) % 4 == 0 else "Respondent"
            turn = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 6)))
            lines.append(f"{speaker}: {turn}")
            count += len(turn.split())
        (folder / f"t{index:04d}.txt").write_text("\n".join(lines) + "\n")
        total += count
        index += 1
    return total


def qcode(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcode", *args], check=True,
                          capture_output=True, text=True, **kwargs)


def raw_tokenizer_words_per_second(texts: list[str], words: int) -> float:
    import spacy

    nlp = spacy.blank("en")
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    return words / (time.perf_counter() - start)


def prepare(root: Path, corpus: Path, database: str | None = None) -> float:
    """Init *root* (on *database* if given), import *corpus* and train a model on a few
    reviewed documents. Returns the import's seconds."""
    qcode("init", str(root), "--coder", "bench", *(["--database", database] if database else []))
    shutil.copy(REPO / "codebooks" / "trust-empowerment-loyalty.yaml", root / "codebook.yaml")
    P = ("-P", str(root))
    qcode(*P, "codebook", "sync")
    start = time.perf_counter()
    qcode(*P, "import", str(corpus))
    import_seconds = time.perf_counter() - start
    # a model to suggest with: decide the rule suggestions of 10 documents (those of
    # five accepted, of the other five rejected), train
    docs = [f"t{i:04d}" for i in range(10)]
    qcode(*P, "suggest", *docs, "--using", "rules")
    for doc in docs[:5]:
        qcode(*P, "review", "--doc", doc, "--accept-above", "0")
    qcode(*P, "review", "--reject-below", "1.01")
    qcode(*P, "train")
    return import_seconds


def timed_suggest(root: Path, jobs: int) -> float:
    start = time.perf_counter()
    qcode("-P", str(root), "suggest", "--using", "rules,fuzzy,model", "--jobs", str(jobs))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes of the timed run (issue 15's target: --jobs 1)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="also run the same flow on this (empty) PostgreSQL database and "
                             "print its times as ratios to SQLite's, measured in this run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-"))
    root = args.keep or tmp / "project"
    try:
        words = make_corpus(tmp / "corpus", args.words)
        texts = [p.read_text() for p in sorted((tmp / "corpus").glob("*.txt"))]
        import_seconds = prepare(root, tmp / "corpus")
        seconds = timed_suggest(root, args.jobs)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if args.postgresql:
            server = root.with_name(root.name + "-postgresql")
            server_import = prepare(server, tmp / "corpus", args.postgresql)
            # (one run each: a second suggest on the same project finds everything
            # already suggested and writes nothing, so it would not be the same work)
            server_seconds = timed_suggest(server, args.jobs)
        raw = raw_tokenizer_words_per_second(texts, words)
        ours = words / seconds
        print(f"corpus: {len(texts)} transcripts, {words:,} words (import took "
              f"{import_seconds:.1f} s, {words / import_seconds:,.0f} words/s)")
        print(f"raw spaCy blank tokenizer: {raw:,.0f} words/s")
        print(f"qcode suggest (rules+fuzzy+model, DB writes): {ours:,.0f} words/s "
              f"({seconds:.1f} s)")
        print(f"ratio: {ours / raw:.3f} with --jobs {args.jobs} (target >= 0.30 with --jobs 1)")
        print(f"peak RSS of the largest qcode process: {peak_mb:,.0f} MB (target < 1024 MB; "
              f"suggest ran a main process and {args.jobs} worker(s))")
        if args.postgresql:
            print(f"PostgreSQL: import {server_import:.1f} s = "
                  f"{server_import / import_seconds:.2f} x SQLite; suggest "
                  f"{server_seconds:.1f} s = {server_seconds / seconds:.2f} x SQLite "
                  f"({words / server_seconds:,.0f} words/s)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
