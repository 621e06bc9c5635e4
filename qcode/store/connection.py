"""Open the SQLite database ourselves, with the pragmas ARCHITECTURE.md asks for.

sqlite-utils sets no pragmas and, given a connection, uses savepoints whenever a
transaction is already open. So we open the connection in autocommit mode
(``isolation_level=None``) and wrap every logical operation in ``transaction()``,
which issues ``BEGIN IMMEDIATE``: the write lock is taken up front, so two processes
never both read, then both try to upgrade (the lost-update / SQLITE_BUSY trap).

Reads go straight to the connection. sqlite-utils' table helpers (``db["codes"].insert``)
are built on first use: importing sqlite-utils costs about 0.1 s (it imports numpy and
loads its plugins), a fifth of the time budget of a read-only analysis command.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from qcode.errors import StoreError

BUSY_TIMEOUT_MS = 5000
PRAGMAS = (
    ("journal_mode", "WAL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", str(BUSY_TIMEOUT_MS)),
    ("synchronous", "FULL"),
    ("secure_delete", "ON"),
    ("trusted_schema", "OFF"),
)


class SqliteDialect:
    """What differs between the two backends, SQLite's side (PostgreSQL's is
    qcode.store.postgres.PostgresDialect): how a write transaction starts, where the schema
    version is kept, the catalogue, DDL, and error messages. The core's SQL is SQLite's;
    the PostgreSQL connection rewrites it."""

    name = "sqlite"
    begin = "BEGIN IMMEDIATE"
    after_begin = None

    def schema_version(self, db: Database) -> int:
        return db.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, db: Database, version: int) -> None:
        db.execute(f"PRAGMA user_version = {int(version)}")

    def tables(self, db: Database) -> list[str]:
        return [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]

    def columns(self, db: Database, table: str) -> list[str]:
        return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]

    def ddl(self, db: Database, statement: str) -> None:
        db.execute(statement)

    def prelude(self, db: Database) -> None:
        """What a new database needs before migration 1 (nothing, on SQLite)."""

    def describe_error(self, exc: Exception) -> str:
        return describe_sqlite_error(exc)

    def refusal(self, exc: BaseException) -> StoreError | None:
        """A refusal by the server's access rules, as a StoreError (none on SQLite)."""
        return None


SQLITE = SqliteDialect()


class Database:
    """Our connection, with sqlite-utils' helpers (tables, inserts, updates) on demand.

    *key* is set for an encrypted project (its connection is then sqlcipher3's, whose
    exceptions are not sqlite3's: catch ``db_errors()``, not ``sqlite3.Error``).
    *dialect* is SQLITE, or qcode.store.postgres.POSTGRES for a project on a server (whose
    ``conn`` is then a PgConnection, which takes the same SQL)."""

    home: Path | None = None  # a server project's folder (a file's is beside the file)

    def __init__(self, conn: sqlite3.Connection, key=None, dialect=SQLITE) -> None:
        self.conn, self.key, self.dialect = conn, key, dialect

    @property
    def on_postgres(self) -> bool:
        return self.dialect.name == "postgresql"

    def execute(self, sql: str, parameters: Any = None) -> sqlite3.Cursor:
        if parameters is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, parameters)

    def query(self, sql: str, parameters: Any = None) -> Iterator[dict]:
        """Rows as dictionaries."""
        cursor = self.execute(sql, parameters)
        keys = [d[0] for d in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    def close(self) -> None:
        self.conn.close()

    @cached_property
    def utils(self):
        if self.on_postgres:
            from qcode.store.postgres import NotOnPostgres

            raise NotOnPostgres("sqlite-utils' helpers")
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def __getitem__(self, table: str):
        if self.on_postgres:
            return Table(self, table)
        return self.utils[table]

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.utils, name)


class Table:
    """The two sqlite-utils table helpers the core uses (``insert(row).last_pk`` and
    ``update(pk, changes)``), in plain SQL, for a project on PostgreSQL."""

    def __init__(self, db: Database, name: str) -> None:
        if not name.isidentifier():
            raise StoreError(f"not a table name: {name!r}")
        self.db, self.name, self.last_pk = db, name, None

    def insert(self, record: dict) -> Table:
        columns = ", ".join(f'"{c}"' for c in record)
        marks = ", ".join("?" for _ in record)
        cursor = self.db.execute(f'INSERT INTO "{self.name}" ({columns}) VALUES ({marks})',
                                 list(record.values()))
        self.last_pk = cursor.lastrowid
        if "id" in record:
            # An explicit id (undo puts a removed row back under its own) must not be handed
            # out again by the identity sequence; but the sequence never moves back, or ids
            # of removed rows would come again and the change log's entries about them
            # would name someone's new row. An id the sequence gave out needs nothing (and
            # no UPDATE right on the sequence, which a coder does not have).
            self.db.execute(
                "SELECT setval(s, ?) FROM (SELECT pg_get_serial_sequence(?, 'id')::regclass "
                "AS s) q WHERE coalesce(pg_sequence_last_value(s), 0) < ?",
                [record["id"], self.name, record["id"]])
            self.last_pk = record["id"]
        return self

    def update(self, pk: int, updates: dict) -> Table:
        if updates:
            assignments = ", ".join(f'"{c}" = ?' for c in updates)
            self.db.execute(f'UPDATE "{self.name}" SET {assignments} WHERE id = ?',
                            [*updates.values(), pk])
        self.last_pk = pk
        return self


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside (database, WAL, backups, exports) are readable by the owner only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def durable_replace(temporary: str | Path, target: str | Path) -> None:
    """Put the finished database file *temporary* in place of *target*: flushed to the
    disk first, then renamed (atomic on one file system), so a crash leaves one or the
    other, never half of one."""
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, target)


def db_errors(name: str = "Error") -> tuple[type[Exception], ...]:
    """The exception class *name* (Error, OperationalError, DatabaseError...) of sqlite3
    and, once an encrypted project has been opened, of sqlcipher3 too."""
    classes = [getattr(sqlite3, name)]
    cipher = sys.modules.get("sqlcipher3.dbapi2")
    if cipher is not None:
        classes.append(getattr(cipher, name))
    psycopg = sys.modules.get("psycopg")  # once a project on PostgreSQL has been opened
    if psycopg is not None and hasattr(psycopg, name):
        classes.append(getattr(psycopg, name))
    return tuple(classes)


def open_connection(path: str | Path, key=None, *, uri: bool = False, **options):
    """A connection to *path* (a SQLCipher one when *key* is given), the key applied and
    checked: a wrong key is a StoreError saying so."""
    from qcode.store.keys import cipher

    if key is None:
        return sqlite3.connect(str(path), uri=uri, **options)
    dbapi = cipher()
    conn = dbapi.connect(str(path), uri=uri, **options)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # its errors go to stderr otherwise
        conn.execute(key.pragma())
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi.DatabaseError:
        conn.close()
        raise StoreError(f"{path}: {_why_not_decrypted(Path(str(path)), key, dbapi)}") from None
    return conn


CIPHER_PAGE = 4096  # SQLCipher 4's page size, qcode's setting


def _why_not_decrypted(path: Path, key, dbapi) -> str:
    """Tell a damaged file from a wrong key, where the evidence allows: an encrypted file
    is whole pages long, and a backup of the same project opens with the right key."""
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    if size is not None and (size < CIPHER_PAGE or size % CIPHER_PAGE):
        return (f"the database file is damaged ({size:,} bytes is not a whole number of "
                f"{CIPHER_PAGE}-byte pages: cut short?); the key may well be right. Restore "
                "the latest backup (qcode restore) or a copy")
    for backup in sorted((path.parent / "backups").glob("*.db"), reverse=True)[:3]:
        try:
            test = dbapi.connect(str(backup))
            try:
                test.execute("PRAGMA cipher_log_level = NONE")
                test.execute(key.pragma())
                test.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                test.close()
        except dbapi.DatabaseError:
            continue
        return (f"cannot decrypt the database, though this key opens its backup {backup.name}: "
                "the database file is damaged, not the key. Restore the backup (qcode restore) "
                "or a copy")
    return "cannot decrypt the database: wrong key or passphrase (or not a qcode database)"


def connect(path: str | Path, key=None) -> Database:
    """Open (creating if needed) the database at *path* with qcode's pragmas; encrypted
    with *key* when given (see qcode.store.keys)."""
    from qcode.store.keys import is_encrypted

    path = Path(path)
    if key is None and is_encrypted(path):
        raise StoreError(f"{path}: the database is encrypted (or not a SQLite file); give "
                         "its key with --key-file or `encryption: key_file` in qcode.yaml, "
                         "or run qcode in a terminal to be asked for the passphrase")
    try:
        with private_umask():
            conn = open_connection(path, key, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            for name, value in PRAGMAS:
                conn.execute(f"PRAGMA {name}={value}")
            if key is not None:
                conn.execute("PRAGMA temp_store = MEMORY")  # no temporary files at all
    except db_errors("DatabaseError") as exc:
        raise StoreError(f"{path}: cannot open database: {exc}") from None
    if path.exists():
        with contextlib.suppress(OSError):
            path.chmod(0o600)
    return Database(conn, key)


def describe_sqlite_error(exc: Exception) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (f"the database is busy: another qcode process held it for more than "
                f"{BUSY_TIMEOUT_MS // 1000} s; try again when it has finished")
    if "readonly" in text or "read-only" in text:
        return "the project database is read-only; check the file permissions"
    if "disk is full" in text or "disk I/O error" in text:
        return (f"cannot write the project database ({text}: the disk may be full or a "
                "file-size limit reached); the change was rolled back")
    return text


_savepoints = itertools.count(1)


@contextlib.contextmanager
def read_snapshot(db: Database) -> Iterator[Database]:
    """Reads that see one state of the project (a report's sections, a list and its
    counts): outside a transaction, a read transaction (on PostgreSQL, ``REPEATABLE READ
    READ ONLY``: one snapshot for every statement, and nothing can be written by mistake);
    inside one, the caller's."""
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if db.on_postgres
                 else "BEGIN")
    try:
        yield db
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One logical operation: ``BEGIN IMMEDIATE`` … ``COMMIT`` (on PostgreSQL, ``BEGIN``
    and the project's advisory lock); rolled back on any error.

    Nested use is a savepoint inside the outer transaction.
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"qcode_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:  # a RAISE(ROLLBACK) trigger may have ended it already
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")
        return
    dialect = db.dialect
    try:
        conn.execute(dialect.begin)
        if dialect.after_begin:
            conn.execute(dialect.after_begin)
    except db_errors("OperationalError") as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(dialect.describe_error(exc)) from exc
    try:
        yield db
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        refused = dialect.refusal(exc)
        if refused is not None:
            raise refused from exc
        raise
    try:
        conn.execute("COMMIT")
    except db_errors() as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(dialect.describe_error(exc)) from exc
