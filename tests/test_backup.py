"""Backups: online copies that are checked and private, automatic ones before
destructive commands, and restoring one."""

import os
import sqlite3
import stat

import pytest

from conftest import CODEBOOK, SAMPLE, table_counts, write
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.errors import StoreError
from qcode.ingest.importer import ImportOptions
from qcode.store.connection import open_connection
from qcode.store.backup import (AUTO_KEEP, auto_backup, backup, check_backup, list_backups,
                                restore)

A01 = "a01-housing-perm"


@pytest.fixture
def filled(sample_project):
    return sample_project


def test_backup_is_a_checked_private_copy_that_restores(filled, tmp_path):
    path = backup(filled.db)
    assert path.parent == filled.root / "backups" and path.name.startswith("qcode-")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert check_backup(path, filled.db.key) >= 1
    with open_connection(path, filled.db.key) as copy:
        assert copy.execute("SELECT count(*) FROM codings").fetchone()[0] == 1
    before = table_counts(filled.db)
    add_coding(filled.db, A01, "network", coder="anna", segment=4)
    saved = restore(filled.db, path)
    assert table_counts(filled.db) == before
    assert saved.name.startswith("auto-") and "before-restore" in saved.name
    if not filled.db.on_postgres:
        assert filled.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    from qcode.store.doctor import check

    assert check(filled.db) == []
    # and the restore itself can be undone from its automatic backup
    restore(filled.db, saved)
    assert filled.db.execute("SELECT count(*) FROM codings").fetchone()[0] == 2
    with pytest.raises(StoreError, match="exists; use --force"):
        backup(filled.db, path)


def test_restore_refuses_what_is_not_a_healthy_qcode_database(filled, tmp_path):
    before = table_counts(filled.db)
    junk = write(tmp_path / "junk.db", b"SQLite format 3\x00" + b"\x07" * 5000)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.commit()
    for path, message in ((junk, "junk.db"),
                          (other, "not a qcode database|not encrypted, and this project is"),
                          (tmp_path / "missing.db", "no such file")):
        with pytest.raises(StoreError, match=message):
            restore(filled.db, path)
    assert table_counts(filled.db) == before
    assert list_backups(filled.db) == []  # nothing was taken for a refused restore


def test_automatic_backups_before_destructive_commands_keep_the_last_ones(filled, tmp_path):
    # a codebook sync that retires codes
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text("name: smaller\ncodes:\n  - name: trust\n", "utf-8")
    sync(filled.db, load_codebook(smaller))
    names = [b.path.name for b in list_backups(filled.db)]
    assert len(names) == 1 and "before-codebook-sync" in names[0]
    # a sync that only adds takes none
    sync(filled.db, load_codebook(CODEBOOK))
    assert len(list_backups(filled.db)) == 1
    for _ in range(AUTO_KEEP + 3):
        auto_backup(filled.db, "test")
    kept = [b for b in list_backups(filled.db) if b.automatic]
    assert len(kept) == AUTO_KEEP
    assert not any("before-codebook-sync" in b.path.name for b in kept)  # the oldest went


def test_transcript_update_and_big_undo_take_a_backup(filled, tmp_path):
    from qcode.history import UNDO_MANY, undo
    from qcode.revisions import update_document

    text = (SAMPLE / f"{A01}.md").read_text("utf-8") + "\nMarina: One more sentence.\n"
    update_document(filled.db, A01, write(tmp_path / f"{A01}.md", text),
                    options=ImportOptions(), coder="anna")
    assert any("before-update" in b.path.name for b in list_backups(filled.db))
    from qcode.coding import insert_coding, new_batch
    from qcode.store import transaction
    from qcode.store.records import coder_id

    with transaction(filled.db):
        doc, revision = filled.db.execute("SELECT document_id, id FROM current_revisions "
                                          "LIMIT 1").fetchone()
        code = filled.db.execute("SELECT id FROM codes WHERE path = 'trust/distrust'"
                                 ).fetchone()[0]
        batch, who = new_batch(), coder_id(filled.db, "boris")
        for n in range(UNDO_MANY + 1):
            insert_coding(filled.db, document_id=doc, revision_id=revision, start=n,
                          end=n + 1, code_id=code, coder=who, batch=batch)
    undo(filled.db, coder="boris")
    assert any("before-undo" in b.path.name for b in list_backups(filled.db))


def test_cli_backup_list_and_restore(cli, filled):
    made = cli("backup")
    assert made.exit_code == 0 and "Backed up " in made.stderr
    listed = cli("backup", "--list", "-f", "csv")
    assert listed.exit_code == 0 and "qcode-" in listed.stdout
    path = list_backups(filled.db)[0].path
    refused = cli("restore", str(path), input="n\n")
    assert refused.exit_code == 1 and "Nothing was changed" in refused.stderr
    done = cli("restore", str(path), "--yes")
    assert done.exit_code == 0 and "Restored" in done.stderr
