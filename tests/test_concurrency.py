"""Processes writing into one project at once: importing, coding, accepting suggestions
and syncing the codebook. Nothing lost, nothing doubled, no lost update (each
read-modify-write runs inside BEGIN IMMEDIATE), and no 'database is locked' reaches
the user."""

import subprocess
import sys
import time

import pytest

from conftest import write


def test_two_concurrent_imports(project, tmp_path):
    folder = tmp_path / "in"
    for i in range(12):
        write(folder / f"t{i:02d}.txt",
              f"Interviewer: Question {i}?\nAnna: Answer number {i}. " + "More words. " * 200)
    command = [sys.executable, "-m", "qcode", "-P", str(project.root), "import", str(folder)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "busy" not in err
    assert project.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 12
    imported = sum(int(err.split(" file(s) imported")[0].split()[-1]) for _, err in outputs)
    assert imported == 12  # each file stored by exactly one of the two processes


WORKER = """
import random, sys, time
from qcode.project import Project
from qcode.coding import add_coding
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.errors import QcodeError
from qcode.suggestions import accept

root, k, start, ids = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
project = Project.open(root)
db = project.db
ids = [int(i) for i in ids.split(",")]
random.Random(k).shuffle(ids)
time.sleep(max(0.0, start - time.time()))  # all workers start together
accepted = 0
for n, suggestion in enumerate(ids):
    try:  # every worker tries every suggestion: each may be accepted once only
        accept(db, suggestion, coder=f"w{k}")
        accepted += 1
    except QcodeError:
        pass
    if n % 5 == 0:
        add_coding(db, "a01-housing-perm", "distrust", coder=f"w{k}", segment=n // 5 + 1)
    if n % 7 == 0:
        sync(db, load_codebook(project.codebook_path), coder=f"w{k}")
print(accepted)
"""


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_workers_coding_accepting_and_syncing_at_once_lose_nothing(project, workers, request):
    if workers > 4 and request.config.getoption("--backend") != "postgresql":
        pytest.skip("8 coders at once: a team's load, run against the server "
                    "(--backend postgresql)")
    from conftest import CODEBOOK, SAMPLE
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.nlp.run import SuggestOptions, run_suggestions
    from qcode.store.doctor import check

    project.codebook_path.write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    sync(project.db, load_codebook(project.codebook_path))
    import_paths(project.db, [SAMPLE], ImportOptions())
    run_suggestions(project, SuggestOptions(using=("rules",), coder="tester"))
    ids = [r[0] for r in project.db.execute(
        "SELECT id FROM suggestions WHERE status = 'pending' ORDER BY id LIMIT 40")]
    assert len(ids) >= 20
    start = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(project.root), str(k),
                               str(start), ",".join(map(str, ids))],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(workers)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    db = project.db
    # every suggestion accepted exactly once, by one worker, with exactly one coding
    assert sum(int(out) for out, _ in outputs) == len(ids)
    decided = db.execute(f"SELECT count(*), count(DISTINCT coding_id) FROM suggestions WHERE "
                         f"id IN ({','.join(map(str, ids))}) AND status = 'accepted'"
                         ).fetchone()
    assert decided == (len(ids), len(ids))
    from_suggestions = db.execute("SELECT count(*) FROM codings WHERE origin LIKE "
                                  "'suggestion:%'").fetchone()[0]
    assert from_suggestions == len(ids)
    # each worker's manual codings are all there (none lost to another's write)
    expected = len(range(0, len(ids), 5))
    for k in range(workers):
        assert db.execute("SELECT count(*) FROM codings c JOIN coders k ON k.id = c.coder_id "
                          "WHERE k.name = ? AND c.origin = 'manual'", [f"w{k}"]).fetchone()[0] \
            == expected
    assert db.execute("SELECT count(*) FROM codes WHERE status = 'active'").fetchone()[0] == \
        len(load_codebook(CODEBOOK).codes)
    assert check(db) == []
