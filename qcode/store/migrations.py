"""Numbered schema migrations, applied every time a project database is opened.

Each migration is a function ``mNNN_name(db)``; the number of applied migrations is
kept in ``PRAGMA user_version`` (on PostgreSQL, in the table ``qcode_schema``). Every
migration runs in its own ``BEGIN IMMEDIATE`` transaction (on PostgreSQL, under the
project's advisory lock) and re-reads the version under that lock, so two processes
opening a fresh project at once cannot both apply it. The numbers are the same on both
backends: a migration writes SQLite's SQL, and creates tables through
``db.dialect.ddl`` (which spells them for PostgreSQL: identity ids, BYTEA, the guard
triggers in PL/pgSQL). (We keep our own runner rather than
``sqlite_utils.migrations`` because that one starts a plain ``BEGIN`` and checks what
is pending before taking the lock.)

Later features add migrations; they never edit an applied one.
"""

from __future__ import annotations

from collections.abc import Callable

from qcode.errors import StoreError
from qcode.store.connection import Database, transaction


def m001_initial(db: Database) -> None:
    """The schema for the whole product (documents to suggestions and the change log)."""
    for statement in _SCHEMA_001.split(";\n"):
        if statement.strip():
            db.dialect.ddl(db, statement)


_SCHEMA_001 = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_path TEXT,
    format TEXT NOT NULL,
    language TEXT,
    created TEXT NOT NULL
);
CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    encoding TEXT,
    note TEXT,
    created TEXT NOT NULL,
    UNIQUE (document_id, number)
);
CREATE INDEX revisions_sha256 ON revisions(sha256);
CREATE VIEW current_revisions AS
SELECT r.* FROM revisions r
WHERE r.number = (SELECT max(number) FROM revisions WHERE document_id = r.document_id);
CREATE TRIGGER revisions_immutable BEFORE UPDATE OF text, sha256, document_id, number ON revisions
BEGIN SELECT RAISE(ABORT, 'a revision''s text is immutable; store a new revision'); END;
CREATE TABLE speakers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('turn', 'sentence')),
    number INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    speaker_id INTEGER REFERENCES speakers(id),
    turn_id INTEGER REFERENCES segments(id) ON DELETE CASCADE,
    time_start REAL,
    time_end REAL,
    CHECK (0 <= start AND start <= "end"),
    UNIQUE (revision_id, kind, number)
);
CREATE INDEX segments_turn ON segments(turn_id);
CREATE INDEX segments_speaker ON segments(speaker_id);
CREATE TABLE attributes (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT,
    type TEXT NOT NULL DEFAULT 'text' CHECK (type IN ('text', 'integer', 'number', 'date', 'boolean')),
    PRIMARY KEY (document_id, key)
) WITHOUT ROWID;
CREATE INDEX attributes_key_value ON attributes(key, value);
CREATE TABLE codebook_versions (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    source_path TEXT,
    yaml TEXT NOT NULL,
    summary TEXT,
    created TEXT NOT NULL
);
CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES codes(id),
    description TEXT NOT NULL DEFAULT '',
    include TEXT NOT NULL DEFAULT '',
    exclude TEXT NOT NULL DEFAULT '',
    examples TEXT NOT NULL DEFAULT '[]',
    color TEXT,
    key TEXT,
    patterns TEXT NOT NULL DEFAULT '[]',
    exclude_patterns TEXT NOT NULL DEFAULT '[]',
    negated TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'merged')),
    merged_into_id INTEGER REFERENCES codes(id),
    codebook_version_id INTEGER REFERENCES codebook_versions(id),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX codes_active_path ON codes(path) WHERE status = 'active';
CREATE INDEX codes_parent ON codes(parent_id);
CREATE TABLE coders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    coder_id INTEGER REFERENCES coders(id),
    started TEXT NOT NULL,
    finished TEXT,
    summary TEXT
);
CREATE TABLE codings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    code_id INTEGER NOT NULL REFERENCES codes(id),
    coder_id INTEGER NOT NULL REFERENCES coders(id),
    origin TEXT NOT NULL DEFAULT 'manual',
    run_id INTEGER REFERENCES runs(id),
    needs_review INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    CHECK (0 <= start AND start < "end"),
    UNIQUE (revision_id, start, "end", code_id, coder_id)
);
CREATE INDEX codings_code ON codings(code_id);
CREATE INDEX codings_coder ON codings(coder_id);
CREATE INDEX codings_document ON codings(document_id, start);
CREATE TABLE memos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL CHECK (target IN ('project', 'document', 'code', 'coding')),
    document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    code_id INTEGER REFERENCES codes(id),
    coding_id INTEGER REFERENCES codings(id) ON DELETE CASCADE,
    revision_id INTEGER REFERENCES revisions(id),
    start INTEGER,
    "end" INTEGER,
    coder_id INTEGER REFERENCES coders(id),
    title TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    needs_review INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX memos_document ON memos(document_id);
CREATE INDEX memos_code ON memos(code_id);
CREATE INDEX memos_coding ON memos(coding_id);
CREATE TABLE suggestions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    segment_id INTEGER REFERENCES segments(id),
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    code_id INTEGER NOT NULL REFERENCES codes(id),
    score REAL NOT NULL,
    suggester TEXT NOT NULL,
    rationale TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by INTEGER REFERENCES coders(id),
    decided_at TEXT,
    coding_id INTEGER REFERENCES codings(id),
    needs_review INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    UNIQUE (run_id, revision_id, start, "end", code_id, suggester)
);
CREATE INDEX suggestions_status ON suggestions(status, code_id);
CREATE INDEX suggestions_document ON suggestions(document_id);
CREATE TABLE run_items (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    done TEXT NOT NULL,
    PRIMARY KEY (run_id, document_id)
) WITHOUT ROWID;
CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    coder_id INTEGER REFERENCES coders(id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER,
    before TEXT,
    after TEXT,
    batch TEXT
);
CREATE INDEX changes_coder ON changes(coder_id, id);
CREATE TRIGGER changes_append_only_update BEFORE UPDATE ON changes
BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
CREATE TRIGGER changes_append_only_delete BEFORE DELETE ON changes
BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
"""

def m002_analysis_indexes(db: Database) -> None:
    """Segments by position, for the analysis commands. (This migration also wrote a word
    index as offsets; m003 replaces it with a smaller one.)"""
    # covering: the speaker of every turn in position order, from the index alone
    db.execute("CREATE INDEX segments_position ON segments(kind, revision_id, start, \"end\", "
               "speaker_id)")


def m003_segment_indexes(db: Database) -> None:
    """Indexes of each revision's words, sentences and turns in one row each (see
    qcode.store.words), so stats, agreement and co-occurrence need not fetch 435,000
    sentence and 125,000 turn rows, or 41 MB of word offsets, on a 1,000-transcript
    project."""
    from qcode.store.words import store_segment_index, store_words

    db.execute("DROP TABLE IF EXISTS revision_words")  # schema 2's word offsets
    for table, columns in (("revision_words", "length INTEGER NOT NULL, nonspace BLOB NOT NULL"),
                           ("revision_sentences", "starts BLOB NOT NULL, ends BLOB NOT NULL"),
                           ("revision_turns", "starts BLOB NOT NULL, ends BLOB NOT NULL, "
                                              "speakers BLOB NOT NULL")):
        db.dialect.ddl(db, f"CREATE TABLE {table} (revision_id INTEGER PRIMARY KEY REFERENCES "
                       f"revisions(id) ON DELETE CASCADE, {columns})")
    for revision_id, text in db.execute("SELECT id, text FROM revisions").fetchall():
        store_words(db, revision_id, text)
        store_segment_index(db, revision_id, *(db.execute(
            f"SELECT start, \"end\"{columns} FROM segments WHERE revision_id = ? AND kind = ? "
            "ORDER BY number", [revision_id, kind]).fetchall()
            for kind, columns in (("sentence", ""), ("turn", ", speaker_id"))))


def m004_learned_models(db: Database) -> None:
    """Trained models live in the database (encrypted with it, carried by backups), and
    each suggestion keeps the evidence behind it: the patterns that matched (whose
    precision in your decisions becomes their score) and the words that drove the model."""
    db.dialect.ddl(db, "CREATE TABLE IF NOT EXISTS models (id INTEGER PRIMARY KEY, created TEXT "
                   "NOT NULL, coder TEXT, data_sha256 TEXT NOT NULL, meta TEXT NOT NULL, "
                   "data BLOB NOT NULL)")
    columns = set(db.dialect.columns(db, "suggestions"))
    if "evidence" not in columns:
        db.execute("ALTER TABLE suggestions ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]'")


def m005_codings_cache(db: Database) -> None:
    """A columnar copy of the codings for the analysis commands (qcode.analysis.frame),
    valid while ``codings_version`` has not moved: every insert, update and delete of a
    coding (cascades included) bumps it, in the same transaction. Fetching 900,000
    codings row by row takes 0.5 s of Python on a 10,000-transcript project; the copy is
    one 20 MB blob. SQLite only: on PostgreSQL the analyses read the codings directly."""
    if getattr(vars(db).get("dialect"), "name", "sqlite") == "postgresql":
        return
    db.execute("CREATE TABLE IF NOT EXISTS codings_version (id INTEGER PRIMARY KEY "
               "CHECK (id = 1), version INTEGER NOT NULL)")
    db.execute("INSERT OR IGNORE INTO codings_version (id, version) VALUES (1, 0)")
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER IF NOT EXISTS codings_version_{event.lower()} AFTER {event} "
                   "ON codings BEGIN UPDATE codings_version SET version = version + 1; END")
    db.execute("CREATE TABLE IF NOT EXISTS codings_cache (id INTEGER PRIMARY KEY "
               "CHECK (id = 1), version INTEGER NOT NULL, columns BLOB NOT NULL)")


def m006_row_security(db: Database) -> None:
    """PostgreSQL only: each coder's work is theirs. Row-level security on the tables a
    coder writes: everyone reads every row; a coder adds, changes and removes only the
    codings, memos, decisions and runs whose coder is theirs (the coder named like their
    login role) and appends to the change log under their own name only; a member of the
    project's lead role (``qcode_<database>_lead``) may change any row. The table owner
    (who created the project) is not bound by it. What each role may touch at all (SELECT
    only on the codebook and documents for a coder) is granted by `qcode team`
    (qcode.store.team), which creates the roles. On SQLite (one file, one person) there is
    nothing to do."""
    if getattr(vars(db).get("dialect"), "name", "sqlite") != "postgresql":
        return
    # The functions run as the coder, and a function's body is looked up when it runs: a
    # temporary table or view of the coder's own (searched first) named coders or
    # pg_roles would answer "yes, mine" for anyone's row. So every name is qualified and
    # each function's search path fixed, with the temporary schema last.
    schema = db.execute("SELECT current_schema()").fetchone()[0]
    quoted = '"' + schema.replace('"', '""') + '"'
    path = f"SET search_path = pg_catalog, {quoted}, pg_temp"
    db.execute(f"CREATE FUNCTION {quoted}.qcode_is_lead() RETURNS boolean LANGUAGE sql "
               f"STABLE {path} AS $$ SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE "
               "rolname = 'qcode_' || pg_catalog.current_database() || '_lead' AND "
               "pg_catalog.pg_has_role(current_user, oid, 'MEMBER')) $$")
    db.execute(f"CREATE FUNCTION {quoted}.qcode_is_mine(coder bigint) RETURNS boolean "
               f"LANGUAGE sql STABLE {path} AS $$ SELECT EXISTS (SELECT FROM "
               f"{quoted}.coders WHERE id = coder AND name = current_user) $$")
    for table, mine, added, kept in _ROW_SECURITY:
        db.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        db.execute(f"CREATE POLICY qcode_read ON {table} FOR SELECT USING (true)")
        db.execute(f"CREATE POLICY qcode_add ON {table} FOR INSERT WITH CHECK "
                   f"(qcode_is_lead() OR {added or mine})")
        db.execute(f"CREATE POLICY qcode_change ON {table} FOR UPDATE USING "
                   f"(qcode_is_lead() OR {mine}) WITH CHECK (qcode_is_lead() OR {kept or mine})")
        db.execute(f"CREATE POLICY qcode_remove ON {table} FOR DELETE USING "
                   f"(qcode_is_lead() OR {mine})")


_UNDECIDED = "(status = 'pending' AND decided_by IS NULL)"
# (table, whose row it is, what a coder may add if not that, what an update may leave)
_ROW_SECURITY = (
    ("codings", "qcode_is_mine(coder_id)", None, None),
    ("memos", "qcode_is_mine(coder_id)", None, None),
    # anyone's suggestion run adds pending ones; deciding one makes it the decider's,
    # and undoing that decision makes it pending again
    ("suggestions", "(status = 'pending' OR qcode_is_mine(decided_by))", _UNDECIDED,
     f"(qcode_is_mine(decided_by) OR {_UNDECIDED})"),
    ("runs", "(coder_id IS NULL OR qcode_is_mine(coder_id))", None, None),
    ("changes", "qcode_is_mine(coder_id)", None, None),  # append-only by trigger and grant
    ("coders", "name = current_user", None, None),
)


def m007_codings_touched(db: Database) -> None:
    """Which codings changed since the analyses' cached copy (m005) was written: the
    triggers that bump ``codings_version`` also list the coding's id, with the version it
    made, so the copy can be patched for a few changed codings instead of rebuilt from
    all of them (qcode.analysis.frame.patched_copy). A copy written before the list existed
    is dropped (what changed before cannot be known). SQLite only, like m005."""
    if getattr(vars(db).get("dialect"), "name", "sqlite") == "postgresql":
        return
    db.execute("CREATE TABLE IF NOT EXISTS codings_touched (coding_id INTEGER NOT NULL, "
               "version INTEGER NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS codings_touched_version ON codings_touched "
               "(version)")
    touched = "INSERT INTO codings_touched (coding_id, version) SELECT {}.id, version FROM " \
              "codings_version;"
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        db.execute(f"DROP TRIGGER IF EXISTS codings_version_{event.lower()}")
        db.execute(f"CREATE TRIGGER codings_version_{event.lower()} AFTER {event} ON codings "
                   "BEGIN UPDATE codings_version SET version = version + 1; "
                   + " ".join(touched.format(row) for row in rows) + " END")
    db.execute("DELETE FROM codings_cache")


KEEP_MODELS = 2  # trained models kept: the current one and the one before it


def m008_model_rights(db: Database) -> None:
    """PostgreSQL only: a coder trains models (each training prunes the older ones) but
    cannot remove the current model or the one before it, which the whole team's
    suggestions come from; a lead may remove any. Row-level security on ``models``: a
    coder's DELETE reaches only the models at least KEEP_MODELS behind the newest (the
    table owner is not bound by it). On SQLite there is nothing to do."""
    if getattr(vars(db).get("dialect"), "name", "sqlite") != "postgresql":
        return
    db.execute("ALTER TABLE models ENABLE ROW LEVEL SECURITY")
    db.execute("CREATE POLICY qcode_read ON models FOR SELECT USING (true)")
    db.execute("CREATE POLICY qcode_add ON models FOR INSERT WITH CHECK (true)")
    db.execute("CREATE POLICY qcode_remove ON models FOR DELETE USING (qcode_is_lead() OR "
               "id < (SELECT min(id) FROM (SELECT id FROM models ORDER BY id DESC "
               f"LIMIT {KEEP_MODELS}) newest))")


MIGRATIONS: list[Callable[[Database], None]] = [m001_initial, m002_analysis_indexes,
                                                m003_segment_indexes, m004_learned_models,
                                                m005_codings_cache, m006_row_security,
                                                m007_codings_touched, m008_model_rights]


def schema_version(db: Database) -> int:
    return db.dialect.schema_version(db)


def migrate(db: Database) -> list[str]:
    """Apply pending migrations; returns the names applied (empty if up to date)."""
    applied = []
    if schema_version(db) > len(MIGRATIONS):
        raise StoreError(
            f"this project was written by a newer qcode (schema {schema_version(db)}, "
            f"this qcode knows {len(MIGRATIONS)}); upgrade qcode to open it"
        )
    version = schema_version(db)
    if 0 < version < len(MIGRATIONS) and db.on_postgres:
        from qcode.store.team import owner_and_you

        owner, _, may = owner_and_you(db)
        if not may:
            raise StoreError(f"this project on the server has schema {version} and this qcode "
                             f"needs {len(MIGRATIONS)}; only its owner ({owner!r}, who created "
                             "it) may upgrade it: ask them to open it once with this qcode "
                             "(e.g. `qcode status`), or use the qcode it was written with")
    while schema_version(db) < len(MIGRATIONS):
        with transaction(db):
            version = schema_version(db)  # re-read under the write lock
            if version >= len(MIGRATIONS):
                break
            if version == 0:
                db.dialect.prelude(db)
            migration = MIGRATIONS[version]
            migration(db)
            db.dialect.set_schema_version(db, version + 1)
            applied.append(migration.__name__)
    return applied
