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
    found = {p.check for p in check(db)}
    assert {"segment offsets", "text checksums", "foreign keys", "word index"} <= found


def test_migration_2_indexes_the_words_of_existing_revisions(tmp_path):
    """A project written by schema 1 gets its word index when it is next opened."""
    from qcode.store import connect, migrate
    from qcode.store.migrations import MIGRATIONS, m001_initial
    from qcode.store.words import word_offsets

    db = connect(tmp_path / "old.db")
    m001_initial(db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO documents (name, format, created) VALUES ('a', 'txt', 'now')")
    db.execute("INSERT INTO revisions (document_id, number, text, sha256, created) "
               "VALUES (1, 1, 'Мы  не верим\nчиновникам.', 'x', 'now')")
    assert migrate(db) == [m.__name__ for m in MIGRATIONS[1:]]
    starts, ends = db.execute("SELECT starts, ends FROM revision_words").fetchone()
    assert (starts, ends) == word_offsets("Мы  не верим\nчиновникам.")
    assert len(starts) == 4 * 4  # four words, as str.split sees them
