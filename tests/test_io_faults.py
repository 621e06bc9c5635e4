"""Disk full, file-size limits, devices, read-only and locked projects: one clear line,
exit 1, the project as it was, no partial export."""

import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SAMPLE, table_counts
from qcode.coding import add_coding
from qcode.errors import StoreError
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.store.connection import describe_sqlite_error, open_connection
from test_faults import counts, healthy

A01 = "a01-housing-perm"


def qcode(root, *args, limit: int | None = None):
    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "qcode", "-P", str(root), *args],
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=small_files if limit else None)


@pytest.fixture
def coded(sample_project):
    return sample_project


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["export", "excerpts", "-f", "csv"],
                                  ["export", "excerpts", "-f", "xlsx"],
                                  ["export", "codebook", "-f", "qdc"]])
def test_exporting_to_a_full_disk_is_one_line_and_leaves_nothing(coded, args):
    before = set(os.listdir("/dev"))
    result = qcode(coded.root, *args, "-o", "/dev/full")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: /dev/full: cannot write: No space left on device"
    assert set(os.listdir("/dev")) == before  # no temporary file, the device still there
    assert Path("/dev/full").is_char_device()


def test_a_file_size_limit_during_import_rolls_the_file_back(project):
    project.close()
    db_size = (project.root / "qcode.db").stat().st_size
    result = qcode(project.root, "import", str(SAMPLE), limit=db_size + 150_000)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the project database" in lines[0]
    assert "the change was rolled back" in lines[0] and "imported before it are kept" in lines[0]
    healthy(project.root)
    kept = counts(project.root)["documents"]
    finished = qcode(project.root, "import", str(SAMPLE))
    assert finished.returncode == 0, finished.stderr
    assert counts(project.root)["documents"] > kept


def test_a_full_database_changes_nothing(coded, tmp_path):
    db = coded.db
    before = table_counts(db)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    new = tmp_path / "new.md"
    new.write_text("Anna: " + " ".join(f"Sentence number {n} is new." for n in range(3000)),
                   "utf-8")
    with pytest.raises(StoreError, match="new.md: .*disk may be full.*rolled back.*the 0 "
                                         "file.s. imported before it are kept"):
        import_paths(db, [new], ImportOptions())
    assert table_counts(db) == before


def test_read_only_projects_get_a_clear_message(coded):
    coded.db.execute("PRAGMA query_only = ON")
    before = table_counts(coded.db)
    with pytest.raises(StoreError, match="^the project database is read-only; check the "
                                         "file permissions$"):
        add_coding(coded.db, A01, "network", coder="anna", segment=4)
    assert table_counts(coded.db) == before
    assert describe_sqlite_error(sqlite3.OperationalError("database or disk is full")) \
        .startswith("cannot write the project database")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files anyway")
def test_a_read_only_database_file(coded):
    coded.close()
    for name in ("qcode.db", "qcode.db-wal", "qcode.db-shm"):
        path = coded.root / name
        if path.exists():
            path.chmod(0o400)
    result = qcode(coded.root, "tag", "add", A01, "--segment", "4", "--code", "network")
    assert result.returncode == 1 and "read-only" in result.stderr


def test_a_database_locked_longer_than_the_busy_timeout(coded):
    coded.close()
    held = threading.Event()

    def hold():
        conn = open_connection(coded.root / "qcode.db", coded.key(), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(7)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    result = qcode(coded.root, "tag", "add", A01, "--segment", "4", "--code", "network",
                   "--coder", "anna")
    thread.join()
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: the database is busy: another qcode process "
                                     "held it for more than 5 s; try again when it has "
                                     "finished")
