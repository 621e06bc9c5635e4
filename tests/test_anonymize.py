"""Pseudonymising transcripts: scan proposes names, apply replaces them in a new
revision (codings follow) and removes the old text from the files."""

import pytest

from conftest import write
from qcode.anonymize import apply, load_names, pseudonymize, render_names, scan
from qcode.coding import add_coding
from qcode.errors import InputError
from qcode.store.connection import db_errors
from qcode.store.doctor import check

A01 = "a01-housing-perm"


@pytest.fixture
def coded(sample_project):
    add_coding(sample_project.db, A01, "network", coder="anna",
               quote="My neighbour, Galina Petrovna,")
    return sample_project


def test_scan_finds_speakers_and_names_but_not_roles_or_ordinary_words(coded):
    found = {c.name: c for c in scan(coded.db)}
    assert found["Marina"].why == "speaker" and found["Marina"].count >= 10
    assert "Galina Petrovna" in found
    assert not {"Interviewer", "Q", "A", "The", "We"} & set(found)
    text = render_names(list(found.values()))
    names = load_names(write(coded.root / "names.yaml", text))
    assert names["Marina"].startswith("Person ")


def test_pseudonymize_replaces_whole_words_longest_first():
    names = {"Anna": "Person 1", "Anna Ivanova": "Person 2", "Perm": "City 1"}
    assert pseudonymize("Anna Ivanova met Anna in Perm, not Permafrost; Annas?", names) == \
        "Person 2 met Person 1 in City 1, not Permafrost; Annas?"


def test_apply_makes_a_new_revision_keeps_codings_and_leaves_no_trace(coded):
    from qcode.memos import add_memo, edit_memo, remove_memo

    db = coded.db
    # memos name people too, and the change log keeps what an edit or removal replaced
    memo_id = add_memo(db, "Galina Petrovna leads; ask Marina", coder="anna", document=A01)
    edit_memo(db, memo_id, "Galina Petrovna leads the group; ask Marina", coder="anna")
    gone = add_memo(db, "Marina's neighbour is Galina Petrovna", coder="anna", document=A01)
    remove_memo(db, gone, coder="anna")
    coded_before = db.execute("SELECT count(*) FROM codings").fetchone()[0]
    result = apply(db, {"Marina": "Person 1", "Galina Petrovna": "Person 2"}, coder="anna")
    assert result.documents == [A01] and result.purged == 1 and result.kept == []
    assert result.backup.exists()
    assert check(db) == []
    text = db.execute("SELECT r.text FROM current_revisions r JOIN documents d ON "
                      "d.id = r.document_id WHERE d.name = ?", [A01]).fetchone()[0]
    assert "Marina" not in text and "Person 1:" in text and "Person 2" in text
    assert db.execute("SELECT count(*) FROM codings").fetchone()[0] == coded_before
    moved = db.execute("SELECT substr(r.text, c.start + 1, c.\"end\" - c.start) FROM codings c "
                       "JOIN revisions r ON r.id = c.revision_id JOIN codes g ON "
                       "g.id = c.code_id WHERE g.name = 'network'").fetchone()[0]
    assert moved == "My neighbour, Person 2,"
    assert db.execute("SELECT count(*) FROM speakers WHERE name = 'Marina'").fetchone()[0] == 0
    assert result.memos == 1 and result.log_entries >= 2
    assert db.execute("SELECT text FROM memos WHERE id = ?", [memo_id]).fetchone()[0] == \
        "Person 2 leads the group; ask Person 1"
    with pytest.raises(db_errors("IntegrityError"), match="append-only"):  # guard is back
        db.execute("UPDATE changes SET action = 'x'")
    files = server_files(db) if db.on_postgres else {}
    coded.close()
    for name in ("qcode.db", "qcode.db-wal"):
        path = coded.root / name
        if path.exists():
            files[name] = path.read_bytes()
    assert files
    for name, raw in files.items():
        assert "Galina Petrovna".encode() not in raw, name
        assert "Marina:".encode() not in raw, name


def server_files(db) -> dict[str, bytes]:
    """The files of the project's database on the (local, test) server, as they are on
    disk once the server has written out what it holds in memory (its superuser's
    CHECKPOINT): what is left of every table, index and TOAST table, dead rows included."""
    from pathlib import Path

    db.conn.raw.execute("CHECKPOINT")
    folder = Path(db.execute("SELECT current_setting('data_directory') || '/base/' || oid "
                             "FROM pg_database WHERE datname = current_database()"
                             ).fetchone()[0])
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def test_keep_history_keeps_the_old_revision(coded):
    result = apply(coded.db, {"Marina": "Person 1"}, coder="anna", keep_history=True)
    assert result.purged == 0
    assert coded.db.execute("SELECT count(*) FROM revisions r JOIN documents d ON "
                            "d.id = r.document_id WHERE d.name = ?", [A01]).fetchone()[0] == 2


def test_bad_names_files(tmp_path):
    with pytest.raises(InputError, match="expected a mapping 'names:'"):
        load_names(write(tmp_path / "a.yaml", "- Marina\n"))
    with pytest.raises(InputError, match=r"b.yaml:2: 'Marina': the pseudonym contains"):
        load_names(write(tmp_path / "b.yaml", "names:\n  Marina: Marina K.\n"))


def test_cli_scan_apply_and_pseudonymized_export(cli, coded):
    path = coded.root / "names.yaml"
    assert cli("anonymize", "scan", "-o", str(path)).exit_code == 0
    write(path, 'names:\n  "Marina": "Person 1"\n')
    exported = cli("export", "excerpts", "-f", "jsonl", "-o", str(coded.root / "x.jsonl"),
                   "--pseudonymize", str(path), "--context", "2")
    assert exported.exit_code == 0, exported.stderr
    text = (coded.root / "x.jsonl").read_text("utf-8")
    assert "Marina" not in text and "Person 1" in text
    # the project itself is unchanged by the export
    assert "Marina" in coded.db.execute("SELECT group_concat(text) FROM revisions").fetchone()[0]
    applied = cli("anonymize", "apply", str(path))
    assert applied.exit_code == 0, applied.stderr
    assert "replaced in 1 transcript(s)" in applied.stderr and "still holds" in applied.stderr


def test_offsets_move_exactly_through_the_replacements():
    from qcode.anonymize import Replacements

    text = "Ask Anna Ivanova, then Anna. Done."
    names = {"Anna": "P1", "Anna Ivanova": "Person 2"}
    new = pseudonymize(text, names)
    moves = Replacements(text, names)
    for old_span, new_piece in (((0, 3), "Ask"), ((4, 16), "Person 2"), ((29, 34), "Done."),
                                ((0, 34), new), ((6, 10), "Person 2"), ((23, 28), "P1.")):
        placed = moves.place(*old_span)
        assert new[placed.start:placed.end] == new_piece, (old_span, new_piece)


def test_apply_after_suggest_and_train_moves_suggestions_and_drops_the_model(coded):
    """Suggestions quote the text and a model's vocabulary holds its words: after apply
    neither holds a real name (and suggestions on the old text do not block it)."""
    from qcode.nlp.models import train
    from qcode.nlp.run import SuggestOptions, run_suggestions

    db = coded.db
    add_coding(db, "b01-ngo-department-perm", "network", coder="anna", segment=3)
    run_suggestions(coded, SuggestOptions(using=("rules",)))
    db.execute("UPDATE suggestions SET rationale = rationale || ' near Galina Petrovna' "
               "WHERE id = (SELECT min(id) FROM suggestions)")
    train(coded, coder="anna")
    result = apply(db, {"Marina": "Person 1", "Galina Petrovna": "Person 2"}, coder="anna")
    assert result.models == 1 and result.suggestions >= 1
    assert db.execute("SELECT count(*) FROM models").fetchone()[0] == 0
    reasons = " ".join(r for (r,) in db.execute("SELECT rationale || evidence FROM suggestions"))
    assert "Galina" not in reasons and "Person 2" in reasons
    assert check(db) == []
