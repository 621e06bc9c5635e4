"""Opening another program's SQLite database (Taguette, QualCoder, a colleague's qcode
project) without changing it."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from qcode.errors import InteropError


@contextlib.contextmanager
def read_only(path: Path, what: str, needed: set[str], *, immutable: bool = True, key=None
              ) -> Iterator[tuple[sqlite3.Connection, set[str]]]:
    """Yield (connection, table names) for *path*, opened read-only, after checking it has
    the *needed* tables. *immutable* also keeps SQLite from creating -wal/-shm files beside
    it (not for databases in WAL mode, whose last commits may still be in the WAL). An
    encrypted qcode project is opened with *key*. Every failure is an InteropError naming
    the file."""
    from qcode.errors import StoreError
    from qcode.store.connection import db_errors, open_connection
    from qcode.store.keys import is_encrypted

    uri = path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
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
