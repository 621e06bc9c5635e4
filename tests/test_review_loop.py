"""`qcode review`'s loop: one key per decision on a terminal, a line per key from a pipe,
a confirmation per decision, memos on the passage."""

import os
import pty
import subprocess
import sys
import time

import pytest

from conftest import CODEBOOK, SAMPLE
from qcode.memos import list_memos
from qcode.project import Project
from qcode.review import queue

DOC = "a01-housing-perm"


@pytest.fixture
def suggested(cli, project):
    cli("codebook", "sync", "--file", CODEBOOK)
    cli("import", SAMPLE / f"{DOC}.md")
    assert cli("suggest", "--using", "rules").exit_code == 0
    return project


def first_two(project):
    """The queue's first two suggestions, in the loop's order."""
    return queue(Project.open(project.root).db)[:2]


def statuses(project):
    db = Project.open(project.root).db
    return dict(db.execute("SELECT id, status FROM suggestions").fetchall())


def test_each_decision_is_confirmed_on_one_line(cli, suggested):
    one, two = first_two(suggested)
    result = cli("review", "--coder", "anna", input="a\nr\ns\nq\n")
    assert result.exit_code == 0, result.stderr
    assert f"accepted {one['code']} → {DOC} ¶{one['number']}" in result.stderr
    assert f"rejected {two['code']} → {DOC} ¶{two['number']}" in result.stderr
    assert "skipped " in result.stderr
    assert "1 accepted, 1 rejected, 1 skipped" in result.stderr
    undo = cli("review", "--coder", "anna", input="a\nu\nq\n")
    assert "undid: accepted " in undo.stderr


def test_the_memo_key_puts_the_memo_on_the_passage_and_says_so(cli, suggested):
    one, _ = first_two(suggested)
    result = cli("review", "--coder", "anna", input="m\nsaid with irony\nq\n")
    assert result.exit_code == 0, result.stderr
    db = Project.open(suggested.root).db
    (memo,) = list_memos(db)
    assert (memo["target"], memo["document"], memo["text"]) == ("document", DOC,
                                                                "said with irony")
    span = db.execute("SELECT start, \"end\", revision_id FROM memos").fetchone()
    assert tuple(span) == (one["start"], one["end"], one["revision_id"])
    assert f"memo {memo['id']} on the passage {DOC} ¶{one['number']}" in result.stderr
    assert statuses(suggested)[one["id"]] == "pending"  # a memo decides nothing
    # undo in the loop takes the memo back, not a decision
    again = cli("review", "--coder", "anna", input="m\nsecond thoughts\nu\nq\n")
    assert f"undid: memo {memo['id'] + 1}" in again.stderr
    assert [m["text"] for m in list_memos(Project.open(suggested.root).db)] == [
        "said with irony"]
    assert "0 accepted, 0 rejected, 0 skipped" in again.stderr


def test_on_a_terminal_one_key_decides_without_enter(suggested):
    one, two = first_two(suggested)
    master, slave = pty.openpty()
    env = {**os.environ, "QCODE_CODER": "anna"}
    proc = subprocess.Popen([sys.executable, "-m", "qcode", "-P", str(suggested.root),
                             "review"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    try:
        os.write(master, b"ar")  # no Enter anywhere
        time.sleep(0.5)
        os.write(master, b"q")
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("review waited for Enter")
    finally:
        os.close(master)
    err = err.decode()
    assert proc.returncode == 0, err
    assert f"accepted {one['code']} → {DOC} ¶{one['number']}" in err
    assert f"rejected {two['code']} → {DOC} ¶{two['number']}" in err
    assert statuses(suggested)[one["id"]] == "accepted"
    assert statuses(suggested)[two["id"]] == "rejected"


def test_read_key_reads_letters_enter_and_escape_from_a_terminal():
    from qcode.cli.review_loop import read_key

    master, slave = pty.openpty()
    with open(slave, "rb", buffering=0, closefd=False) as stream:
        for typed, key in ((b"A", "a"), ("ф".encode(), "ф"), (b"\r", ""), (b"\x1b[A", "?"), (b"\x1b", "q"),
                           (b"\x04", "q")):
            os.write(master, typed)
            assert read_key(stream) == key
    os.close(master)
    os.close(slave)


def test_a_memo_on_a_passage_follows_it_into_a_corrected_transcript(cli, suggested, tmp_path):
    one, _ = first_two(suggested)
    cli("review", "--coder", "anna", input="m\nsaid with irony\nq\n")
    db = Project.open(suggested.root).db
    text = db.execute("SELECT text FROM revisions WHERE id = 1").fetchone()[0]
    passage = text[one["start"]:one["end"]]
    corrected = tmp_path / "corrected.md"
    corrected.write_text(text.replace(passage, "[pause] " + passage), encoding="utf-8")
    assert cli("doc", "update", DOC, corrected).exit_code == 0
    db = Project.open(suggested.root).db
    revision, start, end = db.execute(
        "SELECT m.revision_id, m.start, m.\"end\" FROM memos m").fetchone()
    new_text = db.execute("SELECT text FROM revisions WHERE id = ?", [revision]).fetchone()[0]
    assert revision != 1 and new_text[start:end] == passage
