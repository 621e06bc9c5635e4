"""Moving a project between its SQLite file and a PostgreSQL server (`qcode migrate`).

(Not to be confused with qcode.store.migrations, the schema migrations: this copies a
project's rows from one backend to the other, the schema being the same on both.)

How a move goes, in either direction:

- The source is held under its write lock for the whole move (SQLite's ``BEGIN
  IMMEDIATE``, the server's advisory lock), so nobody changes it meanwhile; nothing is
  written to it, and it is never deleted.
- On the target, one transaction: the numbered migrations (the same number as the
  source's), then every table copied with its ids as they are (so GUIDs, revisions, the
  change log, the models' blobs and the suggestions are the same rows), the identity
  sequences set past the copied ids, then each table read back and compared with the
  source by row count and a checksum. Any difference rolls the whole target back, and the
  error names the table.
- Nothing needs the guard triggers (immutable revisions, the append-only change log)
  turned off: they refuse updates and deletes, and the copy only inserts. Foreign keys
  are met by copying tables parents first; a table that points at itself (codes' parents,
  sentences' turns) is one COPY statement on the server, which checks its keys at the
  statement's end, and on SQLite the keys are checked at commit (``defer_foreign_keys``)
  and before it (``foreign_key_check``, to name the table).
- Only then does the caller switch qcode.yaml (see qcode.config.with_database).

The checksum is computed the same way on both sides, in Python: SHA-256 over ``repr`` of
each row (a tuple of None, int, float, str and bytes: floats by their exact repr, blobs as
bytes), rows ordered by primary key (text keys by code point, ``COLLATE "C"`` on the
server, ``BINARY`` on SQLite), so a value that changes type or bits on the way shows.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qcode.errors import ProjectError, QcodeError, StoreError
from qcode.store.connection import Database, db_errors, transaction

if TYPE_CHECKING:
    from qcode.project import Project

# derived from the codings and rebuilt on demand (migration 5): on SQLite only
SQLITE_ONLY = frozenset({"codings_version", "codings_cache", "codings_touched"})
BATCH = 5000  # rows per executemany on SQLite

Progress = Callable[[str, int], None]  # (table, rows copied), after each table


@dataclass
class TableShape:
    """A table as both backends have it, read from the SQLite side's catalogue."""

    name: str
    columns: list[str]
    key: list[tuple[str, bool]]  # primary key columns, and whether each is text
    identity: bool  # its integer id is handed out by the database
    autoincrement: bool  # SQLite never reuses its ids (kept in sqlite_sequence)
    parents: set[str] = field(default_factory=set)  # other tables it references


@dataclass
class TableCopy:
    table: str
    rows: int
    checksum: str  # SHA-256 (hex) of the rows, the same on both sides


@dataclass
class Moved:
    tables: list[TableCopy]
    source: str  # where the project was, kept as it was
    target: str  # where it is now


# -- the move --------------------------------------------------------------------------

def move_to_server(project: Project, url: str, progress: Progress | None = None) -> Moved:
    """Move *project* from its SQLite file to the (empty) PostgreSQL database *url*;
    qcode.yaml names the server afterwards. The file is kept as it was."""
    from qcode.store.postgres import check_url, connect_url, redact

    if project.on_server:
        raise ProjectError(f"{project.root}: the project is already on a PostgreSQL server "
                           f"({redact(project.config.database)}); `qcode migrate --to "
                           "sqlite` brings it back to a file")
    check_url(url)
    if project.encrypted:
        raise ProjectError(f"{project.db_path}: the project is encrypted, and encryption at "
                           "rest is for a SQLite project: on a PostgreSQL server it would be "
                           "stored in the clear, so the move is refused. The server must "
                           "protect the data instead (disk encryption, TLS, backups with "
                           "access control)")
    source = project.db
    target = connect_url(url, project.coder_name())
    try:
        tables = _copy_verified(source, target, redact(url), progress)
    finally:
        target.close()
    _switch(project, url)
    return Moved(tables, str(project.db_path), redact(url))


def move_to_sqlite(project: Project, progress: Progress | None = None) -> Moved:
    """Move *project* from its PostgreSQL server into a new qcode.db in its folder;
    qcode.yaml names no server afterwards. The server's database is left as it was."""
    from qcode.store.connection import connect
    from qcode.store.postgres import redact

    if not project.on_server:
        raise ProjectError(f"{project.root}: the project is already in a SQLite file "
                           f"({project.db_path}); to move it to a server: qcode migrate --to "
                           "postgresql://HOST/DATABASE")
    path = project.db_path
    for existing in (path, *_companions(path)):
        if existing.exists():
            raise ProjectError(f"{existing} already exists (the file kept when the project "
                               "moved to the server?) and is not replaced: move it out of the "
                               "project folder and run this again")
    url = redact(project.config.database)
    source = project.db
    temporary = path.with_name(f".{path.name}.migrating-{os.getpid()}")
    _remove(temporary)
    try:
        target = connect(temporary)
        try:
            tables = _copy_verified(source, target, str(path), progress)
        finally:
            target.close()  # the last connection: its WAL is checkpointed into the file
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)  # never over a file that appeared meanwhile
        except FileExistsError:
            raise ProjectError(f"{path} appeared while the project was being copied; it is "
                               "not replaced, and qcode.yaml still names the server") from None
    finally:
        _remove(temporary)
    _switch(project, None)
    return Moved(tables, url, str(path))


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _remove(path: Path) -> None:
    for name in (path, *_companions(path)):
        name.unlink(missing_ok=True)


def _switch(project: Project, url: str | None) -> None:
    """qcode.yaml names *url* (None: qcode.db) from now on; written atomically."""
    from qcode.config import load_config, with_database
    from qcode.export.files import atomic_output

    project.close()
    text = project.config_path.read_text(encoding="utf-8")
    try:
        with atomic_output(project.config_path, force=True) as f:
            f.write(with_database(text, url))
    except QcodeError as exc:
        where = url or project.db_path
        raise ProjectError(f"the project was copied to {where} and checked, but qcode.yaml "
                           f"could not be switched to it ({exc}); set `database:` there by "
                           "hand") from None
    project.config = load_config(project.config_path)


# -- copying and checking ----------------------------------------------------------------

def snapshot_to_file(source: Database, target: Database, where: str) -> list[TableCopy]:
    """Copy the server project *source* into the new, empty SQLite database *target* (a
    backup): one snapshot of the server (``REPEATABLE READ``), so teammates go on
    writing meanwhile, and the copy is checked against that snapshot table by table."""
    from qcode.store.connection import read_snapshot

    return _copy_verified(source, target, where, None, hold=read_snapshot)


def replace_from_file(source: Database, target: Database, where: str) -> list[TableCopy]:
    """Replace everything in the server project *target* by the SQLite project *source*
    (a restore), in one transaction on the server: every table emptied (TRUNCATE, the
    owner's right, which the append-only guards let through as a restore of the whole
    file does on SQLite), copied, its sequences kept past every id either side ever
    handed out, and checked. Any difference rolls the server back."""
    return _copy_verified(source, target, where, None, replace=True)


def _copy_verified(source: Database, target: Database, where: str,
                   progress: Progress | None, *, hold=transaction,
                   replace: bool = False) -> list[TableCopy]:
    """Copy every table of *source* into *target* (which must hold no tables, unless
    *replace*: then they are emptied first), in one transaction on the target, and compare
    both sides table by table; the target is rolled back on any difference. *source* is
    held by *hold* meanwhile. *where* names the target in messages."""
    from qcode.store.migrations import migrate, schema_version

    with hold(source), transaction(target):
        if replace:
            shapes = table_shapes(source)
            _same_tables(source, target, shapes)
            if schema_version(target) != schema_version(source):
                raise StoreError(f"{where}: schema {schema_version(target)}, the backup's is "
                                 f"{schema_version(source)}; nothing was restored")
            target.conn.raw.execute("TRUNCATE " + _quoted(s.name for s in shapes))
        else:
            _refuse_unless_empty(target, where)
            migrate(target)
            if schema_version(target) != schema_version(source):
                raise StoreError(f"{where}: schema {schema_version(target)} after migrating, "
                                 f"the project's is {schema_version(source)}; nothing was "
                                 "copied")
            shapes = table_shapes(target if source.on_postgres else source)
            _same_tables(source, target, shapes)
        if not target.on_postgres:
            target.execute("PRAGMA defer_foreign_keys = ON")  # until COMMIT
        expected = {shape.name: table_digest(source, shape) for shape in shapes}
        for shape in shapes:
            rows = _copy_table(source, target, shape)
            if progress is not None:
                progress(shape.name, rows)
        _set_sequences(source, target, shapes)
        if not target.on_postgres:
            broken = target.execute("PRAGMA foreign_key_check").fetchone()
            if broken:
                raise StoreError(f"{where}: table {broken[0]}: a row refers to a missing row "
                                 f"of {broken[2]} (run qcode doctor on the project); nothing "
                                 "was copied")
        copies = []
        for shape in shapes:
            rows, checksum = table_digest(target, shape)
            want_rows, want = expected[shape.name]
            if (rows, checksum) != (want_rows, want):
                raise StoreError(
                    f"{where}: table {shape.name}: the copy differs from the project "
                    f"({rows:,} rows against {want_rows:,}" + (", checksums differ" if
                                                                rows == want_rows else "")
                    + "); it was rolled back, and the project is where it was")
            copies.append(TableCopy(shape.name, rows, checksum))
    return copies


def _refuse_unless_empty(target: Database, where: str) -> None:
    from qcode.store.migrations import schema_version

    if schema_version(target) > 0:
        raise StoreError(f"{where} already holds a qcode project; the move needs an empty "
                         "database (createdb NAME), so nothing was copied")
    if target.dialect.tables(target):
        raise StoreError(f"{where} holds tables that are not a qcode project's; give the "
                         "project a database of its own (createdb NAME)")


def table_shapes(db: Database) -> list[TableShape]:
    """The tables to copy, parents before children, from the SQLite database *db*."""
    shapes = {}
    for name in db.dialect.tables(db):
        if name in SQLITE_ONLY:
            continue
        info = db.execute(f'PRAGMA table_info("{name}")').fetchall()
        key = [(row[1], _is_text(row[2])) for row in sorted(info, key=lambda r: r[5])
               if row[5]]
        sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                         [name]).fetchone()[0]
        identity = [k for k, _ in key] == ["id"] and any(
            row[1] == "id" and row[2].upper() == "INTEGER" for row in info)
        parents = {row[2] for row in db.execute(f'PRAGMA foreign_key_list("{name}")')}
        shapes[name] = TableShape(name, [row[1] for row in info], key, identity,
                                  "AUTOINCREMENT" in sql.upper(), parents - {name})
    ordered: list[TableShape] = []
    placed: set[str] = set()
    while len(ordered) < len(shapes):
        ready = [s for n, s in shapes.items() if n not in placed and s.parents <= placed]
        if not ready:
            raise StoreError("the tables' foreign keys form a cycle: "
                             + ", ".join(sorted(set(shapes) - placed)))
        ordered.extend(ready)
        placed.update(s.name for s in ready)
    return ordered


def _is_text(declared: str) -> bool:
    declared = declared.upper()
    return any(word in declared for word in ("CHAR", "CLOB", "TEXT"))


def _same_tables(source: Database, target: Database, shapes: list[TableShape]) -> None:
    """Both sides have the same tables with the same columns (so nothing is left behind)."""
    for db in (source, target):
        tables = set(db.dialect.tables(db)) - SQLITE_ONLY
        if tables != {s.name for s in shapes}:
            odd = tables.symmetric_difference(s.name for s in shapes)
            raise StoreError("the two databases' tables differ (" + ", ".join(sorted(odd))
                             + "); nothing was copied")
        for shape in shapes:
            if set(db.dialect.columns(db, shape.name)) != set(shape.columns):
                raise StoreError(f"table {shape.name}: the two databases' columns differ; "
                                 "nothing was copied")


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _select(db: Database, shape: TableShape) -> str:
    collate = ' COLLATE "C"' if db.on_postgres else " COLLATE BINARY"
    order = ", ".join(f'"{column}"' + (collate if text else "") for column, text in shape.key)
    return (f'SELECT {_quoted(shape.columns)} FROM "{shape.name}"'
            + (f" ORDER BY {order}" if order else ""))


def _rows(db: Database, sql: str) -> Iterator[tuple]:
    """The rows of *sql*, streamed (a server-side cursor on PostgreSQL: a large table is
    not held in memory whole; outside a transaction, one that outlives its statement)."""
    if db.on_postgres:
        with db.conn.raw.cursor(name="qcode_migrate",
                                withhold=not db.conn.in_transaction) as cursor:
            cursor.itersize = BATCH
            cursor.execute(sql)
            yield from cursor
    else:
        yield from db.conn.execute(sql)


def table_digest(db: Database, shape: TableShape) -> tuple[int, str]:
    """(rows, SHA-256 hex of the rows) of one table, computed the same on both backends."""
    digest = hashlib.sha256()
    count = 0
    for row in _rows(db, _select(db, shape)):
        digest.update(repr(row).encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def _copy_table(source: Database, target: Database, shape: TableShape) -> int:
    try:
        return _insert(target, shape, _rows(source, _select(source, shape)))
    except db_errors() as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"table {shape.name}: the copy was refused ({why}); "
                         "it was rolled back, and the project is where it was") from None


def _insert(target: Database, shape: TableShape, rows: Iterable[tuple]) -> int:
    """Write *rows* into the target's table; how many. (COPY on the server: one statement,
    whose foreign keys are checked at its end.)"""
    count = 0
    if target.on_postgres:
        with target.conn.raw.cursor() as cursor:
            with cursor.copy(f'COPY "{shape.name}" ({_quoted(shape.columns)}) '
                             "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count
    sql = (f'INSERT INTO "{shape.name}" ({_quoted(shape.columns)}) VALUES '
           f'({", ".join("?" for _ in shape.columns)})')
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            target.conn.executemany(sql, batch)
            count, batch = count + len(batch), []
    if batch:
        target.conn.executemany(sql, batch)
    return count + len(batch)


def _set_sequences(source: Database, target: Database, shapes: list[TableShape]) -> None:
    """The next id of every table is past its copied ids, and past any id the source had
    handed out and since deleted (SQLite's AUTOINCREMENT, the server's sequences), so no
    id of a deleted row (which the change log may name) is given out again."""
    for shape in shapes:
        if not shape.identity:
            continue
        highest = target.execute(f'SELECT max(id) FROM "{shape.name}"').fetchone()[0] or 0
        if target.on_postgres:
            used = _sqlite_sequence(source, shape.name) if shape.autoincrement else 0
            handed_out = target.execute(  # a restore: ids the server gave out since the backup
                f"SELECT pg_sequence_last_value(pg_get_serial_sequence('{shape.name}', "
                "'id')::regclass)").fetchone()[0] or 0
            value = max(highest, used, handed_out)
            target.execute(f"SELECT setval(pg_get_serial_sequence('{shape.name}', 'id'), "
                           f"{max(value, 1)}, {'true' if value else 'false'})")
        elif shape.autoincrement:
            used = source.execute(f"SELECT pg_sequence_last_value(pg_get_serial_sequence("
                                  f"'{shape.name}', 'id')::regclass)").fetchone()[0] or 0
            value = max(highest, used)
            if value and target.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                                        [value, shape.name]).rowcount == 0:
                target.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                               [shape.name, value])


def _sqlite_sequence(db: Database, table: str) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]).fetchone()
    return row[0] if row else 0
