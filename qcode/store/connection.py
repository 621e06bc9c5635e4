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


class Database:
    """Our connection, with sqlite-utils' helpers (tables, inserts, updates) on demand."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

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
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def __getitem__(self, table: str):
        return self.utils[table]

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.utils, name)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside (database, WAL, backups, exports) are readable by the owner only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def connect(path: str | Path) -> Database:
    """Open (creating if needed) the database at *path* with qcode's pragmas."""
    path = Path(path)
    try:
        with private_umask():
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            for name, value in PRAGMAS:
                conn.execute(f"PRAGMA {name}={value}")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open database: {exc}") from exc
    if path.exists():
        with contextlib.suppress(OSError):
            path.chmod(0o600)
    return Database(conn)


def describe_sqlite_error(exc: sqlite3.Error) -> str:
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
def transaction(db: Database) -> Iterator[Database]:
    """One logical operation: ``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any error.

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
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(describe_sqlite_error(exc)) from exc
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(describe_sqlite_error(exc)) from exc
