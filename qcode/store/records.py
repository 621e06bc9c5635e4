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
