"""Crash tests: a real `qcode` process is killed with SIGKILL at each named point inside
a write (QCODE_FAULT_AT, see qcode/faults.py). Afterwards `doctor` passes, each document
is wholly present or absent, and running the command again ends where a run without the
crash ends: nothing lost, nothing twice. (tests/stress/ kills at random moments.)"""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import CODEBOOK, SAMPLE, write
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.faults import ENV, POINTS
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.project import Project
from qcode.store.doctor import check

A01 = "a01-housing-perm"
KEPT = ("documents", "revisions", "segments", "attributes", "codes", "codings", "memos",
        "suggestions", "revision_words", "revision_sentences", "revision_turns")


def qcode(root, *args, fault=None):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["QCODE_CODER"] = "tester"
    if fault:
        env[ENV] = fault
    return subprocess.run([sys.executable, "-m", "qcode", "-P", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def counts(root) -> dict[str, int]:
    project = Project.open(root)
    try:
        return {t: project.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in KEPT}
    finally:
        project.close()


def healthy(root) -> None:
    project = Project.open(root)
    try:
        assert check(project.db) == []
        # every document is whole: a current revision, its turns, sentences and indexes
        broken = project.db.execute(
            "SELECT d.name FROM documents d LEFT JOIN current_revisions r ON "
            "r.document_id = d.id WHERE r.id IS NULL OR NOT EXISTS (SELECT 1 FROM segments s "
            "WHERE s.revision_id = r.id AND s.kind = 'sentence') OR NOT EXISTS (SELECT 1 FROM "
            "revision_words w WHERE w.revision_id = r.id)").fetchall()
        assert broken == []
    finally:
        project.close()


def _project(root, *, codebook=True, corpus=True, suggestions=False):
    project = Project.init(root, coder="tester")
    project.codebook_path.write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    if codebook:
        sync(project.db, load_codebook(project.codebook_path))
    if corpus:
        import_paths(project.db, [SAMPLE], ImportOptions())
    if suggestions:
        from qcode.nlp.run import SuggestOptions, run_suggestions

        run_suggestions(project, SuggestOptions(using=("rules",), coder="tester"))
    project.close()


def _qdpx(tmp_path):
    from qcode.interop.qdpx import export_project

    _project(tmp_path / "source")
    project = Project.open(tmp_path / "source")
    from qcode.coding import add_coding

    add_coding(project.db, A01, "distrust", coder="anna", segment=3)
    path = export_project(project.db, tmp_path / "source.qdpx", name="source").path
    project.close()
    return path


# point: (set up the project, the command, the fault, does the crash keep earlier work?)
SCENARIOS = {
    "import": (lambda root, tmp: _project(root, corpus=False),
               lambda tmp: ["import", str(SAMPLE)], "import:3", True),
    "codebook-sync": (lambda root, tmp: _project(root, codebook=False, corpus=False),
                      lambda tmp: ["codebook", "sync"], "codebook-sync", False),
    "suggest": (lambda root, tmp: _project(root),
                lambda tmp: ["suggest", "--using", "rules", "--jobs", "1"], "suggest:2", True),
    "review-accept": (lambda root, tmp: _project(root, suggestions=True),
                      lambda tmp: ["review", "--accept-above", "0.3"], "review-accept:3", True),
    "tag-import": (lambda root, tmp: _project(root),
                   lambda tmp: ["tag", "import", str(write(
                       tmp / "codings.csv", "document,code,segment\n" + "".join(
                           f"{A01},distrust,{n}\n" for n in range(1, 6))))],
                   "tag-import", False),
    "doc-update": (lambda root, tmp: _project(root),
                   lambda tmp: ["doc", "update", A01, str(write(
                       tmp / f"{A01}.md", (SAMPLE / f"{A01}.md").read_text("utf-8")
                       + "\nMarina: And then we won.\n"))], "doc-update", False),
    "project-import": (lambda root, tmp: _project(root, codebook=False, corpus=False),
                       lambda tmp: ["import", "project", str(_qdpx(tmp))], "project-import",
                       False),
}


def test_every_fault_point_has_a_scenario():
    assert set(SCENARIOS) == set(POINTS)


@pytest.mark.parametrize("point", list(SCENARIOS))
def test_a_crash_at_each_point_loses_nothing_and_leaves_nothing_half_done(tmp_path, point):
    setup, command, fault, partial = SCENARIOS[point]
    root = tmp_path / "project"
    setup(root, tmp_path)
    args = command(tmp_path)
    clean = tmp_path / "clean"
    shutil.copytree(root, clean)
    codebook = (root / "codebook.yaml").read_text("utf-8")
    before = counts(root)

    crashed = qcode(root, *args, fault=fault)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    healthy(root)
    after_crash = counts(root)
    if partial:  # earlier transactions of the command stay, the one that died is absent
        assert after_crash != before
    else:
        assert after_crash == before
        assert (root / "codebook.yaml").read_text("utf-8") == codebook

    reference = qcode(clean, *args)
    assert reference.returncode == 0, reference.stderr
    again = qcode(root, *args)
    assert again.returncode == 0, again.stderr
    healthy(root)
    assert counts(root) == counts(clean)
