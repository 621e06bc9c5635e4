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
    assert {"segment offsets", "text checksums", "foreign keys"} <= found
