import stat

import pytest

from qcode.errors import StoreError
from qcode.store import MIGRATIONS, connect, migrate, schema_version, transaction
from qcode.store.connection import db_errors, open_connection

EXPECTED_TABLES = {
    "documents": ["id", "name", "source_path", "format", "language", "created"],
    "revisions": ["id", "document_id", "number", "text", "sha256", "encoding", "note", "created"],
    "revision_words": ["revision_id", "length", "nonspace"],
    "revision_sentences": ["revision_id", "starts", "ends"],
    "revision_turns": ["revision_id", "starts", "ends", "speakers"],
    "speakers": ["id", "name"],
    "segments": ["id", "revision_id", "kind", "number", "start", "end", "speaker_id", "turn_id",
                 "time_start", "time_end"],
    "attributes": ["document_id", "key", "value", "type"],
    "codebook_versions": ["id", "sha256", "source_path", "yaml", "summary", "created"],
    "codes": ["id", "guid", "path", "name", "parent_id", "description", "include", "exclude",
              "examples", "color", "key", "patterns", "exclude_patterns", "negated", "position",
              "status", "merged_into_id", "codebook_version_id", "created", "updated"],
    "coders": ["id", "name", "created"],
    "runs": ["id", "kind", "params", "status", "coder_id", "started", "finished", "summary"],
    "codings": ["id", "document_id", "revision_id", "start", "end", "code_id", "coder_id",
                "origin", "run_id", "needs_review", "created"],
    "memos": ["id", "target", "document_id", "code_id", "coding_id", "revision_id", "start",
              "end", "coder_id", "title", "text", "needs_review", "created", "updated"],
    "suggestions": ["id", "run_id", "document_id", "revision_id", "segment_id", "start", "end",
                    "code_id", "score", "suggester", "rationale", "status", "decided_by",
                    "decided_at", "coding_id", "needs_review", "created", "evidence"],
    "run_items": ["run_id", "document_id", "revision_id", "done"],
    "models": ["id", "created", "coder", "data_sha256", "meta", "data"],
    "changes": ["id", "at", "coder_id", "action", "entity", "entity_id", "before", "after",
                "batch"],
    "codings_version": ["id", "version"],
    "codings_cache": ["id", "version", "columns"],
    "codings_touched": ["coding_id", "version"],
}
EXPECTED_TRIGGERS = {"revisions_immutable", "changes_append_only_update",
                     "changes_append_only_delete", "codings_version_insert",
                     "codings_version_update", "codings_version_delete"}
EXPECTED_VIEWS = {"current_revisions"}


def test_migrating_an_empty_database_builds_the_expected_schema(tmp_path):
    db = connect(tmp_path / "x.db")
    assert migrate(db) == [m.__name__ for m in MIGRATIONS]
    tables = {t.name: [c.name for c in t.columns] for t in db.tables
              if t.name != "sqlite_sequence"}  # SQLite's own, for AUTOINCREMENT ids
    assert tables == EXPECTED_TABLES
    assert {t.name for t in db.triggers} == EXPECTED_TRIGGERS
    assert set(db.view_names()) == EXPECTED_VIEWS
    assert schema_version(db) == len(MIGRATIONS)
    autoincrement = {t.name for t in db.tables if "AUTOINCREMENT" in t.schema}
    assert autoincrement == {"codings", "memos", "suggestions"}  # undo restores their ids
    assert migrate(db) == []  # applying again is a no-op


def test_connection_pragmas(tmp_path):
    db = connect(tmp_path / "x.db")
    pragma = lambda name: db.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 5000
    assert pragma("synchronous") == 2  # FULL
    assert pragma("secure_delete") == 1
    assert pragma("trusted_schema") == 0


def test_database_files_are_private(project):
    with transaction(project.db):
        project.db.execute("INSERT INTO coders (name, created) VALUES ('a', 'now')")
    for path in project.root.glob("qcode.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_newer_schema_is_refused(tmp_path):
    db = connect(tmp_path / "x.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="newer qcode"):
        migrate(db)


def test_transaction_rolls_back_on_error(project):
    db = project.db
    with pytest.raises(RuntimeError), transaction(db):
        db.execute("INSERT INTO coders (name, created) VALUES ('a', 'now')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM coders").fetchone()[0] == 0
    assert not db.conn.in_transaction


def test_nested_transaction_is_a_savepoint(project):
    db = project.db
    with transaction(db):
        db.execute("INSERT INTO coders (name, created) VALUES ('outer', 'now')")
        with pytest.raises(RuntimeError), transaction(db):
            db.execute("INSERT INTO coders (name, created) VALUES ('inner', 'now')")
            raise RuntimeError
    assert [r[0] for r in db.execute("SELECT name FROM coders")] == ["outer"]


def test_revision_text_is_immutable_and_change_log_append_only(project):
    db = project.db
    with transaction(db):
        db.execute("INSERT INTO documents (name, format, created) VALUES ('d', 'txt', 'now')")
        db.execute("INSERT INTO revisions (document_id, number, text, sha256, created) "
                   "VALUES (1, 1, 'hello', 'x', 'now')")
        db.execute("INSERT INTO changes (at, action, entity) VALUES ('now', 'a', 'b')")
    with pytest.raises(db_errors("IntegrityError"), match="immutable"):
        db.execute("UPDATE revisions SET text = 'changed'")
    with pytest.raises(db_errors("IntegrityError"), match="append-only"):
        db.execute("UPDATE changes SET action = 'x'")
    with pytest.raises(db_errors("IntegrityError"), match="append-only"):
        db.execute("DELETE FROM changes")


def test_busy_database_gives_a_clear_error(project, monkeypatch):
    other = open_connection(project.db_path, project.key(), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        project.db.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(StoreError, match="busy"), transaction(project.db):
            pass
    finally:
        other.execute("ROLLBACK")
        other.close()
