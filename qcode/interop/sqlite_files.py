"""Opening another program's SQLite database (Taguette, QualCoder, a colleague's qcode
project) without changing it."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from qcode.errors import InteropError


@contextlib.contextmanager
def read_only(path: Path, what: str, needed: set[str], *, key=None
              ) -> Iterator[tuple[sqlite3.Connection, set[str]]]:
    """Yield (connection, table names) for *path*, opened read-only, after checking it has
    the *needed* tables. Nothing is created beside it: SQLite opens a database read-only
    with -wal and -shm files of its own, so a database whose last commits are still in its
    write-ahead log is read from a private copy (see snapshot), any other as immutable. An
    encrypted qcode project is opened with *key*. Every failure is an InteropError naming
    the file."""
    with snapshot(path) as (source, immutable):
        with _open(path, source, what, needed, immutable=immutable, key=key) as opened:
            yield opened


@contextlib.contextmanager
def snapshot(path: Path) -> Iterator[tuple[Path, bool]]:
    """(file to open, whether it may be opened immutable) for reading *path* without
    writing beside it: *path* itself when it has no write-ahead log with content, else a
    copy of the database and its log in qcode's private scratch folder (mode 0700,
    removed on the way out), where SQLite may make the files it needs."""
    wal = path.with_name(path.name + "-wal")
    try:
        pending = wal.stat().st_size > 0
    except OSError:
        pending = False
    if not pending:
        yield path, True
        return
    import shutil

    from qcode.export.files import scratch

    with scratch() as folder:
        copy = folder / path.name
        try:
            shutil.copyfile(path, copy)
            shutil.copyfile(wal, folder / wal.name)
        except OSError as exc:
            raise InteropError(f"{path}: cannot read it ({exc.strerror}); nothing was read"
                               ) from None
        yield copy, False


@contextlib.contextmanager
def _open(path: Path, source: Path, what: str, needed: set[str], *, immutable: bool, key
          ) -> Iterator[tuple[sqlite3.Connection, set[str]]]:
    from qcode.errors import StoreError
    from qcode.store.connection import db_errors, open_connection
    from qcode.store.keys import is_encrypted

    uri = source.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    if key is not None and not is_encrypted(path):
        key = None
    try:
        conn = open_connection(uri, key, uri=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE "
                                             "type = 'table'")}
    except StoreError:
        raise InteropError(f"{path}: encrypted with another key than this project's; "
                           f"nothing was read") from None
    except db_errors("DatabaseError") as exc:
        hint = " (it is encrypted, or not a SQLite file)" if is_encrypted(path) else ""
        raise InteropError(f"{path}: not a {what} database{hint} (SQLite says: {exc})"
                           ) from None
    try:
        if not needed <= tables:
            raise InteropError(f"{path}: not a {what} database (no "
                               f"{', '.join(sorted(needed - tables))} table)")
        yield conn, tables
    except db_errors("DatabaseError") as exc:
        raise InteropError(f"{path}: cannot read the {what} database: {exc}") from None
    finally:
        conn.close()
