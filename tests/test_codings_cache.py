"""The analysis commands' cached copy of the codings (migration m005): used while no
coding has changed, never stale after any insert, update or delete (cascades included),
and never waiting for another writer's lock."""

import time

import numpy as np
import pytest

from conftest import CODEBOOK, SAMPLE
from qcode.analysis.frame import coding_columns, on_postgres
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.store import transaction
from qcode.store.connection import connect


@pytest.fixture
def db(project):
    db = project.db
    if on_postgres(db):
        pytest.skip("the cached copy of the codings is SQLite's (on PostgreSQL: no copy)")
    sync(db, load_codebook(CODEBOOK))
    import_paths(db, [SAMPLE], ImportOptions())
    for n in range(1, 6):
        add_coding(db, "a01-housing-perm", "distrust", coder="anna", segment=n)
        add_coding(db, "b01-ngo-department-perm", "appeals", coder="boris", segment=n)
    return db


def fetched(db) -> np.ndarray:
    return np.array(db.execute("SELECT id, revision_id, start, \"end\", code_id, coder_id "
                               "FROM codings ORDER BY revision_id, start, \"end\", id"
                               ).fetchall(), dtype=np.int64).T


def cached_version(db):
    row = db.execute("SELECT version FROM codings_cache").fetchone()
    return row and row[0]


def test_the_copy_is_written_once_then_read(db):
    assert cached_version(db) is None
    assert (coding_columns(db)[:6] == fetched(db)).all()
    version = db.execute("SELECT version FROM codings_version").fetchone()[0]
    assert cached_version(db) == version > 0
    blob = db.execute("SELECT columns FROM codings_cache").fetchone()[0]
    db.execute("UPDATE codings_cache SET columns = ?", [blob[:-9 * 4 * 10]])  # 9 codings less
    assert coding_columns(db).shape == (10, 1)  # read from the copy, not the table


@pytest.mark.parametrize("change", [
    lambda db: add_coding(db, "a01-housing-perm", "network", coder="anna", segment=9),
    lambda db: db.execute("UPDATE codings SET code_id = (SELECT min(id) FROM codes) "
                          "WHERE id = (SELECT max(id) FROM codings)"),
    lambda db: db.execute("DELETE FROM codings WHERE id = (SELECT min(id) FROM codings)"),
    lambda db: db.execute("DELETE FROM documents WHERE name = 'b01-ngo-department-perm'"),
])
def test_any_change_to_the_codings_makes_the_copy_stale(db, change):
    coding_columns(db)
    with transaction(db):
        change(db)
    assert (coding_columns(db)[:6] == fetched(db)).all()
    assert cached_version(db) == db.execute("SELECT version FROM codings_version").fetchone()[0]


def test_a_busy_database_is_read_without_waiting_or_caching(db, project):
    other = connect(project.db_path, project.key()).conn  # encrypted too, under --encrypted
    other.execute("BEGIN IMMEDIATE")
    try:
        start = time.perf_counter()
        assert (coding_columns(db)[:6] == fetched(db)).all()
        assert time.perf_counter() - start < 2  # the busy timeout is 5 s
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert cached_version(db) is None
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_words_and_speakers_from_the_copy_are_those_from_the_transcripts(db):
    """The copy keeps per coding its word counts and speaker (derived from immutable
    revisions): every subset counts as when they are computed from the word index."""
    from qcode.analysis.frame import CodingFrame
    from qcode.analysis.scope import Scope

    for n in range(1, 40, 3):  # overlapping spans across sentences, inside words
        add_coding(db, "a01-housing-perm", "network", coder="carl", span=f"{n * 37}:{n * 53}")
    cached = CodingFrame.load(db, Scope())
    assert cached._derived is not None
    rows = db.execute("SELECT document_id, revision_id, start, \"end\", code_id, coder_id "
                      "FROM codings").fetchall()
    plain = CodingFrame(db, rows)
    rng = np.random.default_rng(15)
    for _ in range(30):
        mask = rng.random(len(rows)) < 0.5
        same = _same_codings(cached, plain, mask)
        assert same.sum() == mask.sum()
        assert cached.words(mask) == plain.words(same)
        assert cached.speakers(mask) == plain.speakers(same)


def _same_codings(cached, plain, mask):
    """The mask over *plain*'s rows that picks the codings *mask* picks in *cached*."""
    key = lambda f: (f.revision << 42) | (f.start << 21) | (f.end << 1)  # noqa: E731
    chosen = set(zip(key(cached)[mask].tolist(), cached.code[mask].tolist(),
                     cached.coder[mask].tolist(), strict=True))
    return np.array([k in chosen for k in zip(key(plain).tolist(), plain.code.tolist(),
                                               plain.coder.tolist(), strict=True)])
