"""How long `qcode train` takes (issue 15): on the demo project (target 10 s) and on a
generated project with 5,000 coded respondent turns (target 60 s), whole processes.

The generated project: transcripts of Interviewer/Respondent turns built from the sample
interviews' sentences (as bench/suggest.py does), a codebook of --codes codes, and every
respondent sentence coded by hand with the codes its sample sentence was given (each
sample sentence gets none, one or two of them, at random but fixed): codes a model can
learn, spread as thinly as in a real project.

    python bench/train.py [--turns 5000] [--codes 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suggest import sample_sentences  # noqa: E402


def qcode(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qcode", *args], check=True, capture_output=True,
                   text=True)
    return time.perf_counter() - started


def build(root: Path, turns: int, codes: int, seed: int = 0) -> int:
    """The generated project; returns the number of codings."""
    from qcode.codebook.model import codebook_from_text
    from qcode.codebook.sync import sync
    from qcode.coding import insert_coding, new_batch
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.project import Project
    from qcode.store import transaction
    from qcode.store.records import coder_id

    rng = random.Random(seed)
    sentences = sample_sentences()
    given = {s: rng.sample(range(codes), rng.choice((0, 1, 1, 2))) for s in sentences}
    folder = root.parent / "transcripts"
    folder.mkdir(parents=True)
    per_transcript = 50
    for t in range((turns + per_transcript - 1) // per_transcript):
        lines = []
        for _ in range(min(per_transcript, turns - t * per_transcript)):
            lines.append("Interviewer: " + rng.choice(sentences))
            lines.append("Respondent: " + " ".join(rng.choice(sentences)
                                                   for _ in range(rng.randint(1, 4))))
        (folder / f"t{t:03d}.txt").write_text("\n".join(lines) + "\n")
    project = Project.init(root, coder="bench")
    yaml = "name: bench\ncodes:\n" + "".join(
        f"  - name: theme-{i:03d}\n    description: A theme of the generated corpus.\n"
        for i in range(codes))
    sync(project.db, codebook_from_text(yaml))
    import_paths(project.db, [folder], ImportOptions())
    db = project.db
    code_ids = dict(db.execute("SELECT name, id FROM codes").fetchall())
    added = 0
    with transaction(db):
        who, batch = coder_id(db, "bench"), new_batch()
        for doc, revision, start, end, speaker, text in db.execute(
                "SELECT r.document_id, r.id, s.start, s.\"end\", p.name, "
                "substr(r.text, s.start + 1, s.\"end\" - s.start) FROM segments s "
                "JOIN current_revisions r ON r.id = s.revision_id "
                "JOIN segments t ON t.id = s.turn_id JOIN speakers p ON p.id = t.speaker_id "
                "WHERE s.kind = 'sentence'").fetchall():
            if speaker != "Respondent":
                continue
            for code in given.get(text, []):
                insert_coding(db, document_id=doc, revision_id=revision, start=start, end=end,
                              code_id=code_ids[f"theme-{code:03d}"], coder=who, batch=batch)
                added += 1
    project.close()
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--codes", type=int, default=100)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qcode-train-"))
    try:
        demo = tmp / "demo"
        qcode("demo", str(demo))
        seconds = min(qcode("-P", str(demo), "train") for _ in range(3))
        print(f"demo project (2 interviews coded by hand): qcode train {seconds:.1f} s "
              f"(target <= 10 s), best of 3")
        root = args.keep or tmp / "generated" / "project"
        codings = build(root, args.turns, args.codes)
        seconds = qcode("-P", str(root), "train")
        print(f"generated project: {args.turns:,} respondent turns coded by hand, "
              f"{codings:,} codings of {args.codes} codes: qcode train {seconds:.1f} s "
              f"(target <= 60 s)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
