"""Backups of the project database, and restoring one.

A backup is made with SQLite's online backup API (consistent while other processes
read or write), written beside its destination and renamed when complete, checked with
``PRAGMA quick_check``, mode 0600. Commands that can destroy work (a codebook sync that
retires or merges codes, a transcript update, an import into a project that has data,
undoing many changes, a restore) first take an automatic backup into the project's
``backups/`` folder, which keeps the last AUTO_KEEP of them.

A project on a PostgreSQL server is backed up into the same kind of file: a SQLite
project holding one snapshot of the server (qcode.store.migrate_backend), checked table
by table against it, while teammates go on coding. Restoring one into the server is the
project owner's (it replaces the whole team's work) and takes a backup of the server
first. Automatic backups stay off on a server, except before the owner's anonymize and
restore: the server's own backups (pg_dump, continuous archiving) are its
administrator's.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from qcode.errors import StoreError
from qcode.store.connection import db_errors, durable_replace, open_connection

AUTO_KEEP = 10
AUTO_PREFIX = "auto-"
FOLDER = "backups"


@dataclass
class BackupInfo:
    path: Path
    size: int
    created: float
    automatic: bool


def database_path(db) -> Path:
    if getattr(db, "on_postgres", False):
        raise StoreError("a project on a server has no database file of its own")
    row = next(r for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main")
    if not row[2]:
        raise StoreError("this database has no file to back up")
    return Path(row[2])


def backup_folder(db) -> Path:
    if getattr(db, "on_postgres", False):
        if db.home is None:
            raise StoreError("this server database is not opened from a project folder, "
                             "so there is no backups/ folder to write to")
        return Path(db.home) / FOLDER
    return database_path(db).parent / FOLDER


def backup(db, target: str | Path | None = None, *, reason: str | None = None,
           force: bool = False) -> Path:
    """Copy the database to *target* (default: backups/qcode-<time>.db) and check the copy."""
    folder = backup_folder(db)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if target is None:
        name = (f"{AUTO_PREFIX}{stamp}-{_slug(reason)}.db" if reason
                else f"qcode-{stamp}.db")
        target = _unique(folder / name)
    target = Path(target)
    if target.exists() and not force:
        raise StoreError(f"{target} exists; use --force to replace it")
    if not db.on_postgres and target.resolve() == database_path(db).resolve():
        raise StoreError(f"{target} is the project database itself")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    os.chmod(temporary, 0o600)
    try:
        copy = open_connection(temporary, db.key)  # an encrypted project: the same key
        try:
            if db.on_postgres:
                _snapshot(db, copy, target)
            else:
                db.conn.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            problems = [r[0] for r in copy.execute("PRAGMA quick_check").fetchall()]
        finally:
            copy.close()
        if problems != ["ok"]:
            raise StoreError(f"the backup failed its check ({problems[0]}); nothing was kept")
        durable_replace(temporary, target)
    except db_errors() as exc:
        raise StoreError(f"{target}: cannot back up: {exc}; nothing was kept") from None
    except OSError as exc:
        raise StoreError(f"{target}: cannot back up: {exc.strerror}; nothing was kept") from None
    finally:
        for leftover in (temporary, temporary + "-wal", temporary + "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    return target


def _snapshot(db, conn, target: Path) -> None:
    """The server project *db* copied into the empty SQLite connection *conn*."""
    from qcode.store.connection import Database
    from qcode.store.migrate_backend import snapshot_to_file

    conn.execute("PRAGMA foreign_keys = ON")
    try:
        snapshot_to_file(db, Database(conn), str(target))
    except StoreError as exc:
        raise StoreError(f"{target}: cannot back up: {exc}") from None


def auto_backup(db, reason: str, *, keep: int = AUTO_KEEP, prune: bool = True,
                on_server: bool = False) -> Path | None:
    """A backup before a destructive command; only the last *keep* are kept. Without
    *prune* the older ones stay until prune_backups() (a command that may turn out to
    change nothing removes its backup instead).

    None for a project on PostgreSQL, unless *on_server* (the owner's anonymize and
    restore): a shared database is backed up by its server (pg_dump, continuous
    archiving), not before every coder's undo on their laptop."""
    if getattr(db, "on_postgres", False) and not on_server:
        return None
    path = backup(db, reason=reason)
    if prune:
        prune_backups(path.parent, keep)
    return path


def prune_backups(folder: Path, keep: int = AUTO_KEEP) -> None:
    """Keep only the last *keep* automatic backups in *folder*."""
    automatic = sorted(folder.glob(f"{AUTO_PREFIX}*.db"),
                       key=lambda p: (p.stat().st_mtime, p.name))
    for old in automatic[:-keep] if keep else automatic:
        with contextlib.suppress(OSError):
            old.unlink()


def list_backups(db) -> list[BackupInfo]:
    folder = backup_folder(db)
    if not folder.is_dir():
        return []
    return [BackupInfo(p, p.stat().st_size, p.stat().st_mtime, p.name.startswith(AUTO_PREFIX))
            for p in sorted(folder.glob("*.db"))]


def check_backup(path: str | Path, key=None) -> int:
    """Refuse anything that is not a healthy qcode database (encrypted with *key* when
    the project is, plain when it is not); returns its schema version."""
    from qcode.store.keys import is_encrypted
    from qcode.store.migrations import MIGRATIONS

    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such file")
    if is_encrypted(path) and key is None:
        raise StoreError(f"{path}: encrypted (or not a SQLite file); this project is not "
                         "encrypted, so it cannot be restored here")
    if key is not None and not is_encrypted(path):
        raise StoreError(f"{path}: not encrypted, and this project is; restoring it would "
                         "store the transcripts in the clear, so it is refused")
    try:
        conn = open_connection(f"file:{path}?mode=ro", key, uri=True)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except db_errors("DatabaseError") as exc:
        raise StoreError(f"{path}: not a qcode backup (SQLite says: {exc})") from None
    except StoreError:
        raise StoreError(f"{path}: cannot decrypt it with this project's key; not "
                         "restored") from None
    if problems != ["ok"]:
        raise StoreError(f"{path}: damaged ({problems[0]}); not restored")
    if not {"documents", "revisions", "codings", "codes"} <= tables:
        raise StoreError(f"{path}: not a qcode database (no documents/codings tables)")
    if version > len(MIGRATIONS):
        raise StoreError(f"{path}: written by a newer qcode (schema {version}); upgrade qcode "
                         "to restore it")
    return version


def restore(db, source: str | Path) -> Path:
    """Replace the project database's content by the backup *source*, after checking it
    and taking an automatic backup of the current state; returns that backup's path."""
    from qcode.store.migrations import migrate

    if db.on_postgres:
        return _restore_on_server(db, Path(source))
    check_backup(source, db.key)
    safety = auto_backup(db, "before-restore")
    try:
        src = open_connection(f"file:{Path(source)}?mode=ro", db.key, uri=True)
        try:
            src.backup(db.conn)
        finally:
            src.close()
        db.execute("PRAGMA journal_mode = WAL")  # the copy was a single-file database
    except db_errors() as exc:
        raise StoreError(f"{source}: restore failed: {exc}; the project is as it was "
                         f"(a copy is in {safety})") from None
    migrate(db)
    return safety


def _restore_on_server(db, source: Path) -> Path:
    """The backup file, brought up to this qcode's schema in a private scratch copy (the
    file itself is never written), replaces the server project's content; only its owner
    may, since it replaces the whole team's work."""
    from qcode.store.connection import Database
    from qcode.store.migrate_backend import replace_from_file
    from qcode.store.migrations import migrate
    from qcode.store.team import require_owner

    require_owner(db, "may restore it", "a restore replaces the whole team's work on the "
                  "server; ")
    check_backup(source)
    safety = auto_backup(db, "before-restore", on_server=True)
    handle, scratch = tempfile.mkstemp(prefix=".qcode-restore-", suffix=".db",
                                       dir=safety.parent)
    os.close(handle)
    os.chmod(scratch, 0o600)
    try:
        copy = open_connection(scratch)
        try:
            src = open_connection(f"file:{source}?mode=ro", uri=True)
            try:
                src.backup(copy)
            finally:
                src.close()
            copy.execute("PRAGMA foreign_keys = ON")
            backup_db = Database(copy)
            migrate(backup_db)
            replace_from_file(backup_db, db, str(source))
        finally:
            copy.close()
    except db_errors() as exc:
        raise StoreError(f"{source}: restore failed: {exc}; the project is as it was "
                         f"(a copy is in {safety})") from None
    except StoreError as exc:
        raise StoreError(f"{source}: restore failed: {exc} (a copy of the server's project "
                         f"is in {safety})") from None
    finally:
        for leftover in (scratch, scratch + "-wal", scratch + "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    return safety


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "backup"


def _unique(path: Path) -> Path:
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
