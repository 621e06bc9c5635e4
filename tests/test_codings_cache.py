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
    written = cached_version(db)
    with transaction(db):
        change(db)
    assert (coding_columns(db)[:6] == fetched(db)).all()
    # a few changed codings: the copy is patched in memory, the one on disk left as it was
    assert cached_version(db) == written
    patched, expected = coding_columns(db), rebuilt(db)
    assert (patched[[0, 1, 2, 3, 4, 5, 8, 9]] == expected[[0, 1, 2, 3, 4, 5, 8, 9]]).all()


def rebuilt(db):
    """The copy's columns computed afresh from the codings table and the word index."""
    from qcode.analysis.frame import _fetch_columns, _with_derived

    return _with_derived(db, np.stack(_fetch_columns(db, "FROM codings c", [])), True)


def test_a_patched_copy_counts_as_a_rebuilt_one(db):
    """Codings added, moved, recoded and deleted (a document's cascade too) between
    analyses: the patched copy holds the codings, speakers and span numbers a rebuild
    holds, and every subset of them counts the same words (the word counts themselves are
    comparable only within a stretch of overlapping codings, so they are compared by
    what they count)."""
    from qcode.analysis.frame import CodingFrame

    rng = np.random.default_rng(7)
    documents = [r[0] for r in db.execute("SELECT name FROM documents ORDER BY name")]
    for n in range(40):
        start = int(rng.integers(0, 1500))
        add_coding(db, documents[n % len(documents)], ["trust", "distrust", "network"][n % 3],
                   coder="anna", span=f"{start}:{start + int(rng.integers(1, 300))}")
    coding_columns(db)
    written = cached_version(db)
    changes = [
        lambda: add_coding(db, documents[0], "appeals", coder="boris", span="10:400"),
        lambda: db.execute("UPDATE codings SET start = start + 3 WHERE id = (SELECT max(id) "
                           "FROM codings WHERE \"end\" - start > 5)"),
        lambda: db.execute("UPDATE codings SET code_id = (SELECT min(id) FROM codes) WHERE "
                           "id = (SELECT min(id) FROM codings)"),
        lambda: db.execute("DELETE FROM codings WHERE id IN (SELECT id FROM codings "
                           "ORDER BY id DESC LIMIT 3 OFFSET 5)"),
        lambda: db.execute("DELETE FROM documents WHERE name = ?", [documents[-1]]),
        lambda: add_coding(db, documents[1], "trust", coder="carl", span="0:50"),
    ]
    for change in changes:
        with transaction(db):
            change()
        patched = coding_columns(db)
        expected = rebuilt(db)
        assert cached_version(db) == written  # patched, not rewritten
        for column in (0, 1, 2, 3, 4, 5, 8, 9):  # all but the two word counts
            assert (patched[column] == expected[column]).all()
        frames = []
        for columns in (patched, expected):
            frame = CodingFrame.__new__(CodingFrame)
            frame.db, frame._derived = db, columns[6:]
            frame.id, frame.revision, frame.start, frame.end, frame.code, frame.coder = \
                columns[:6]
            frames.append(frame)
        for _ in range(20):
            mask = rng.random(patched.shape[1]) < 0.4
            assert frames[0].words(mask) == frames[1].words(mask)
        for i in range(patched.shape[1]):
            assert frames[0].words(np.array([i])) == frames[1].words(np.array([i]))


def test_many_changes_rebuild_the_copy(db, monkeypatch):
    """Past PATCH_LIMIT changed codings the copy is rebuilt and written, and the list of
    changes it covers is emptied."""
    import qcode.analysis.frame as frame

    coding_columns(db)
    monkeypatch.setattr(frame, "PATCH_LIMIT", 2)
    for n in range(3):
        add_coding(db, "a01-housing-perm", "network", coder="carl", segment=n + 1)
    assert (coding_columns(db)[:6] == fetched(db)).all()
    assert cached_version(db) == db.execute("SELECT version FROM codings_version").fetchone()[0]
    assert db.execute("SELECT count(*) FROM codings_touched").fetchone()[0] == 0


def test_a_version_moved_with_no_change_listed_rebuilds_the_copy(db):
    """Only the triggers move the version, and they list each change; a version moved
    otherwise says nothing of what changed: the copy is rebuilt, not patched."""
    coding_columns(db)
    with transaction(db):
        db.execute("UPDATE codings_version SET version = version + 1")
    db.__dict__.pop("_coding_columns", None)
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


def test_excerpts_from_the_copy_are_those_the_query_finds(db):
    """`qcode excerpts` reads the codings from the copy when it is current (issue 15):
    the same excerpts in the same order as the query gives, for every filter, limit and
    id list; a retired code with an active code's path sorts by coding id, as SQL has it."""
    from qcode.analysis.scope import (Scope, _codings_from_copy, _codings_queried,
                                      excerpts_as_columns)
    from qcode.documents import parse_filters

    rng = np.random.default_rng(15)
    documents = [r[0] for r in db.execute("SELECT name FROM documents ORDER BY name")]
    for n in range(60):
        start = int(rng.integers(0, 2000))
        add_coding(db, documents[n % len(documents)], ["trust", "distrust", "appeals",
                                                        "network"][n % 4],
                   coder=["anna", "boris", "carl"][n % 3],
                   span=f"{start}:{start + int(rng.integers(1, 400))}",
                   memo=f"memo {n}" if n % 7 == 0 else None)
    for coder in ("boris", "anna"):  # one span, codes whose ids are not in path order
        for code in ("network", "appeals", "distrust", "interpersonal", "trust"):
            add_coding(db, "a01-housing-perm", code, coder=coder, span="100:180")
    with transaction(db):  # a retired code that shares an active code's path
        db.execute("INSERT INTO codes (guid, path, name, status, created, updated) SELECT "
                   "'retired-guid', path, name, 'retired', 'x', 'x' FROM codes WHERE "
                   "path = 'empowerment/appeals'")
        retired = db.execute("SELECT id FROM codes WHERE guid = 'retired-guid'").fetchone()[0]
        db.execute("UPDATE codings SET code_id = ? WHERE id = (SELECT min(id) FROM codings "
                   "WHERE start = 100 AND \"end\" = 180)", [retired])  # boris' network
    ids = [r[0] for r in db.execute("SELECT id FROM codings ORDER BY random()")][:20]
    scopes = [Scope(), Scope(code="trust", children=True), Scope(code="distrust"),
              Scope(coders=["anna", "carl"]), Scope(document="a01-housing-perm"),
              Scope(where=parse_filters(["role=activist"])), Scope(code="appeals")]
    asked = [(scope, limit, chosen) for scope in scopes
             for limit, chosen in ((None, None), (7, None), (None, ids), (3, ids))]
    queried = [excerpts_as_columns(db, scope, limit=limit, ids=chosen, context=1)
               for scope, limit, chosen in asked]  # the copy is stale: the query
    coding_columns(db)
    names = dict(db.execute("SELECT id, name FROM documents").fetchall())
    paths = dict(db.execute("SELECT id, path FROM codes").fetchall())
    for (scope, limit, chosen), expected in zip(asked, queried, strict=True):
        from_copy = _codings_from_copy(db, scope, names, paths, limit, chosen)
        assert from_copy is not None
        assert from_copy == _codings_queried(db, scope, limit, chosen)
        assert excerpts_as_columns(db, scope, limit=limit, ids=chosen, context=1) == expected
    assert any(len(found["id"]) > 50 for found in queried)
    # a coding changed since: the copy is patched, for excerpts as for the counts
    add_coding(db, "a01-housing-perm", "trust", coder="carl", span="5:90")
    db.__dict__.pop("_coding_columns", None)  # as the next command, in a new process
    for scope, limit, chosen in asked:
        from_copy = _codings_from_copy(db, scope, names, paths, limit, chosen)
        assert from_copy is not None
        assert from_copy == _codings_queried(db, scope, limit, chosen)


def test_an_excerpts_sentence_and_speaker_are_those_of_its_segments(db):
    """The sentence an excerpt starts in (0: before the first, shown as none) and the
    speaker of that sentence's turn, found for all excerpts at once, are what the
    segments table says for each."""
    from qcode.analysis.scope import Scope, excerpts_as_columns

    rng = np.random.default_rng(16)
    for name in ("a01-housing-perm", "b01-ngo-department-perm"):
        length = db.execute("SELECT length(r.text) FROM current_revisions r JOIN documents d "
                            "ON d.id = r.document_id WHERE d.name = ?", [name]).fetchone()[0]
        for start in [0, 1, 2, *rng.integers(0, length - 2, 40).tolist()]:
            add_coding(db, name, "trust", coder="dana", span=f"{start}:{start + 2}")
    found = excerpts_as_columns(db, Scope(coders=["dana"]))
    assert len(found["id"]) > 80
    for revision, start, segment, speaker in zip(found["revision_id"], found["start"],
                                                 found["segment"], found["speaker"],
                                                 strict=True):
        sentence = db.execute(
            "SELECT s.number, k.name FROM segments s LEFT JOIN segments t ON t.revision_id = "
            "s.revision_id AND t.kind = 'turn' AND t.start <= s.start AND t.number = (SELECT "
            "max(number) FROM segments u WHERE u.revision_id = s.revision_id AND u.kind = "
            "'turn' AND u.start <= s.start) LEFT JOIN speakers k ON k.id = t.speaker_id "
            "WHERE s.revision_id = ? AND s.kind = 'sentence' AND s.start <= ? "
            "ORDER BY s.number DESC LIMIT 1", [revision, start]).fetchone()
        assert (segment, speaker) == (sentence or (None, None))


@pytest.mark.parametrize("big_id", [2**40, 2**60])
def test_codings_are_fetched_whole_however_large_their_ids(db, big_id):
    """The codings are fetched packed in two integers where their ids and offsets fit (a
    coding id of 2**40 does), else in four (2**60): the same columns either way, and a
    copy only where they fit in its int32."""
    with transaction(db):
        db.execute("INSERT INTO codings (id, document_id, revision_id, start, \"end\", "
                   "code_id, coder_id, created) SELECT ?, document_id, revision_id, 3, 9, "
                   "code_id, coder_id, created FROM codings LIMIT 1", [big_id])
    assert (coding_columns(db)[:6] == fetched(db)).all()
    assert cached_version(db) is None
