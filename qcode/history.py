"""The change log, coders, and undo.

Every write to codings and memos is logged with a batch id (one user action: a coding
with its memo, a whole `tag import`). `undo` reverts the latest batch of a coder that
has not been undone yet, and logs the reversal as a batch of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from qcode.errors import QcodeError
from qcode.store import transaction
from qcode.store.records import coder_id, log_change

UNDOABLE = ("coding", "memo", "suggestion")
# batches that hold any other action (a document revision's re-anchoring, an import)
# are not a coder's edit and are not undone
UNDOABLE_ACTIONS = ("add", "remove", "edit", "fold")


def read_log(db, *, coder: str | None = None, limit: int = 50) -> list[dict]:
    sql = ("SELECT c.id, c.at, k.name AS coder, c.action, c.entity, c.entity_id, c.before, "
           "c.after, c.batch FROM changes c LEFT JOIN coders k ON k.id = c.coder_id")
    params: list = []
    if coder:
        sql += " WHERE k.name = ?"
        params.append(coder)
    sql += " ORDER BY c.id DESC LIMIT ?"
    params.append(limit)
    rows = []
    for row in db.query(sql, params):
        row = dict(row)
        for key in ("before", "after"):
            row[key] = json.loads(row[key]) if row[key] else None
        rows.append(row)
    return rows


def list_coders(db) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT k.name AS coder, "
        "(SELECT count(*) FROM codings c WHERE c.coder_id = k.id) AS codings, "
        "(SELECT count(DISTINCT document_id) FROM codings c WHERE c.coder_id = k.id) AS documents, "
        "(SELECT count(*) FROM memos m WHERE m.coder_id = k.id) AS memos, "
        "(SELECT max(at) FROM changes g WHERE g.coder_id = k.id) AS last_change "
        "FROM coders k ORDER BY k.name")]


@dataclass
class UndoResult:
    batch: str
    reverted: list[tuple[str, str, int]]  # (action, entity, id) of what was undone


def _undo_records(db) -> tuple[set[str], set[str]]:
    """(batches that were undone, batches that are themselves undos)."""
    rows = db.execute("SELECT after, batch FROM changes WHERE action = 'undo' "
                      "AND entity = 'batch'").fetchall()
    return {json.loads(after)["undoes"] for after, _ in rows}, {batch for _, batch in rows}


UNDO_MANY = 25  # undoing a batch larger than this takes an automatic backup first


def _target(db, who: int) -> str | None:
    """The latest not-yet-undone batch of *who* that undo may revert."""
    undone, undos = _undo_records(db)
    marks = ",".join("?" * len(UNDOABLE))
    actions = ",".join("?" * len(UNDOABLE_ACTIONS))
    candidates = db.execute(
        "SELECT batch FROM changes WHERE coder_id = ? AND batch IS NOT NULL AND "
        f"entity IN ({marks}) GROUP BY batch HAVING sum(action NOT IN ({actions})) = 0 "
        "ORDER BY max(id) DESC", [who, *UNDOABLE, *UNDOABLE_ACTIONS]).fetchall()
    # repeated undo walks back through history; it never undoes an undo
    return next((b for (b,) in candidates if b not in undone and b not in undos), None)


def undo(db, *, coder: str) -> UndoResult:
    """Revert the latest not-yet-undone batch of coding/memo changes made by *coder*."""
    from qcode.coding import new_batch
    from qcode.store.backup import auto_backup

    known = db.execute("SELECT id FROM coders WHERE name = ?", [coder]).fetchone()
    planned = _target(db, known[0]) if known else None
    if planned and db.execute("SELECT count(*) FROM changes WHERE batch = ?",
                              [planned]).fetchone()[0] > UNDO_MANY:
        auto_backup(db, "before undo")
    with transaction(db):
        who = coder_id(db, coder)
        target = _target(db, who)
        if target is None:
            raise QcodeError(f"nothing to undo for coder {coder!r}")
        entries = list(db.query("SELECT * FROM changes WHERE batch = ? ORDER BY id DESC",
                                [target]))
        batch = new_batch()
        reverted = []
        for entry in entries:
            if entry["entity"] in UNDOABLE:
                _revert(db, entry, who, batch)
                reverted.append((entry["action"], entry["entity"], entry["entity_id"]))
        log_change(db, "undo", "batch", None, coder=who, after={"undoes": target}, batch=batch)
    return UndoResult(target, reverted)


def _revert(db, entry: dict, who: int, batch: str) -> None:
    table = {"coding": "codings", "memo": "memos", "suggestion": "suggestions"}[entry["entity"]]
    before = json.loads(entry["before"]) if entry["before"] else None
    entity_id = entry["entity_id"]
    if entry["action"] == "add":
        row = next(db.query(f"SELECT * FROM {table} WHERE id = ?", [entity_id]), None)
        if row is None:
            return  # already gone
        if table == "codings":
            db.execute("DELETE FROM memos WHERE coding_id = ?", [entity_id])
        db.execute(f"DELETE FROM {table} WHERE id = ?", [entity_id])
        log_change(db, "remove", entry["entity"], entity_id, coder=who, before=dict(row),
                   batch=batch)
    elif entry["action"] in ("remove", "fold"):
        if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [entity_id]).fetchone():
            return
        db[table].insert(before)
        log_change(db, "add", entry["entity"], entity_id, coder=who, after=before, batch=batch)
    elif entry["action"] in ("edit", "reanchor"):
        current = next(db.query(f"SELECT * FROM {table} WHERE id = ?", [entity_id]), None)
        if current is None:
            return
        db[table].update(entity_id, before)
        log_change(db, "edit", entry["entity"], entity_id, coder=who,
                   before={k: current[k] for k in before}, after=before, batch=batch)
