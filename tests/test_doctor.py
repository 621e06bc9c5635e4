from conftest import SAMPLE
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.store.doctor import check


def test_a_fresh_and_an_imported_project_are_healthy(project):
    assert check(project.db) == []
    import_paths(project.db, [SAMPLE], ImportOptions())
    assert check(project.db) == []


def test_doctor_finds_broken_offsets_and_checksums(project):
    import_paths(project.db, [SAMPLE / "a01-housing-perm.md"], ImportOptions())
    db = project.db
    db.execute("DROP TRIGGER revisions_immutable")  # simulate tampering outside qcode
    db.execute("UPDATE revisions SET text = substr(text, 1, 100)")
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("UPDATE segments SET speaker_id = 999 WHERE id = 1")
    db.execute("UPDATE segments SET \"end\" = \"end\" - 1 WHERE kind = 'sentence' AND number = 2")
    db.execute("UPDATE segments SET speaker_id = NULL WHERE kind = 'turn' AND number = 2")
    found = {p.check for p in check(db)}
    assert {"segment offsets", "text checksums", "foreign keys", "word index",
            "sentence index", "turn index"} <= found


def test_migrations_index_the_words_of_revisions_written_by_schema_1(tmp_path):
    """A project written by schema 1 gets its word index when it is next opened."""
    from qcode.store import connect, migrate
    from qcode.store.migrations import MIGRATIONS, m001_initial

    db = connect(tmp_path / "old.db")
    m001_initial(db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO documents (name, format, created) VALUES ('a', 'txt', 'now')")
    db.execute("INSERT INTO revisions (document_id, number, text, sha256, created) "
               "VALUES (1, 1, 'Мы  не верим\nчиновникам.', 'x', 'now')")
    assert migrate(db) == [m.__name__ for m in MIGRATIONS[1:]]
    length, nonspace = db.execute("SELECT length, nonspace FROM revision_words").fetchone()
    assert length == 24
    # Мы··не·верим↵чиновникам. -> bits 11 00 11 0 11111 0 11111111111, then a clear byte
    assert nonspace == bytes([0b10110011, 0b11101111, 0b11111111, 0])


def test_migration_3_indexes_the_sentences_and_turns_of_existing_revisions(project):
    """A project written by schema 2 gets its segment indexes when it is next opened."""
    from qcode.store import migrate
    from qcode.store.migrations import MIGRATIONS

    import_paths(project.db, [SAMPLE / "a01-housing-perm.md"], ImportOptions())
    db = project.db
    expected = db.execute("SELECT starts, ends FROM revision_sentences").fetchone()
    turns = db.execute("SELECT starts, ends, speakers FROM revision_turns").fetchone()
    db.execute("DROP TABLE revision_sentences")
    db.execute("DROP TABLE revision_turns")
    db.execute("DROP TABLE revision_words")  # schema 2's word index had other columns
    db.execute("CREATE TABLE revision_words (revision_id INTEGER PRIMARY KEY, length INTEGER, "
               "starts BLOB, ends BLOB)")
    db.execute("PRAGMA user_version = 2")
    assert migrate(db) == [m.__name__ for m in MIGRATIONS[2:]]
    assert db.execute("SELECT starts, ends FROM revision_sentences").fetchone() == expected
    assert db.execute("SELECT starts, ends, speakers FROM revision_turns").fetchone() == turns
    assert len(expected[0]) == 4 * db.execute(
        "SELECT count(*) FROM segments WHERE kind = 'sentence'").fetchone()[0]
    assert check(db) == []


def test_doctor_checks_codes_codings_and_suggestions(project):
    from conftest import CODEBOOK
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.coding import add_coding

    sync(project.db, load_codebook(CODEBOOK))
    import_paths(project.db, [SAMPLE / "a01-housing-perm.md"], ImportOptions())
    add_coding(project.db, "a01-housing-perm", "distrust", coder="anna", segment=2)
    db = project.db
    assert check(db) == []
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("UPDATE codes SET status = 'merged', merged_into_id = 9999 WHERE name = 'appeals'")
    db.execute("INSERT INTO revisions (document_id, number, text, sha256, created) SELECT "
               "document_id, 2, text, sha256, created FROM revisions")
    found = {p.check for p in check(db)}
    assert {"merged codes point to active codes", "codings on old revisions are flagged"} \
        <= found
