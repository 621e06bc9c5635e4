"""Small write helpers shared by every feature: time stamps, coders, the change log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from qcode.store.connection import Database


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def coder_id(db: Database, name: str) -> int:
    """The id of coder *name*, created if new (call inside a transaction)."""
    row = db.execute("SELECT id FROM coders WHERE name = ?", [name]).fetchone()
    if row:
        return row[0]
    return db.execute("INSERT INTO coders (name, created) VALUES (?, ?)",
                      [name, now()]).lastrowid


def log_change(db: Database, action: str, entity: str, entity_id: int | None,
               *, coder: int | None = None, before: Any = None, after: Any = None,
               batch: str | None = None) -> None:
    """Append one entry to the change log (call inside the transaction of the change)."""
    db.execute(
        "INSERT INTO changes (at, coder_id, action, entity, entity_id, before, after, batch) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [now(), coder, action, entity, entity_id,
         None if before is None else json.dumps(before, ensure_ascii=False, default=str),
         None if after is None else json.dumps(after, ensure_ascii=False, default=str),
         batch])


_OWNED = {"coding": ("codings", "coder_id"), "memo": ("memos", "coder_id"),
          "suggestion": ("suggestions", "decided_by")}


def check_changed(db: Database, cursor, entity: str, entity_id: int) -> None:
    """After an UPDATE or DELETE of the one *entity* row *entity_id*, which the caller
    has read: on a shared project on PostgreSQL, row-level security hides another coder's
    row from a coder's writes (no error, no row changed); say whose it is. Raises inside
    the caller's transaction, so nothing of the operation stays."""
    if cursor.rowcount != 0:
        return
    from qcode.errors import AccessError, NotFoundError

    table, column = _OWNED[entity]
    row = db.execute(f"SELECT k.name FROM {table} t LEFT JOIN coders k ON k.id = t.{column} "
                     "WHERE t.id = ?", [entity_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no {entity} with id {entity_id}")
    whose = (f"was decided by coder {row[0]}" if entity == "suggestion" else
             f"belongs to coder {row[0]}" if row[0] else "belongs to no coder")
    raise AccessError(f"{entity} {entity_id} {whose}; only they or the project lead can "
                      "change it")
