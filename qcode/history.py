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
from qcode.store.records import check_changed, coder_id, log_change

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
        check_changed(db, db.execute(f"DELETE FROM {table} WHERE id = ?", [entity_id]),
                      entry["entity"], entity_id)
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


def describe_changes(db, rows: list[dict]) -> list[str]:
    """One sentence per change of :func:`read_log`, in a researcher's words: what was done
    to which code, document and passage ("coded “We trusted them.” in a01 as trust")."""
    names = _Names(db)
    return [_describe(db, names, row) for row in rows]


class _Names:
    """Document names and code paths by id, read once."""

    def __init__(self, db):
        self.documents = dict(db.execute("SELECT id, name FROM documents").fetchall())
        self.codes = dict(db.execute("SELECT id, path FROM codes").fetchall())

    def document(self, document_id) -> str:
        return self.documents.get(document_id, f"document {document_id}")

    def code(self, code_id) -> str:
        return self.codes.get(code_id, f"code {code_id}")


def _quote(db, revision_id, start, end, width: int = 50) -> str:
    if revision_id is None or start is None or end is None:
        return ""
    row = db.execute("SELECT substr(text, ? + 1, ?) FROM revisions WHERE id = ?",
                     [start, min(end - start, 4 * width), revision_id]).fetchone()
    text = " ".join((row[0] if row else "").split())
    if not text:
        return ""
    return f"“{text if len(text) <= width else text[:width - 1].rstrip() + '…'}”"


def _passage(db, names: _Names, row: dict) -> str:
    """“quote” in DOCUMENT, for a coding, suggestion or memo record."""
    quote = _quote(db, row.get("revision_id"), row.get("start"), row.get("end"))
    where = names.document(row["document_id"]) if row.get("document_id") else ""
    return " in ".join(part for part in (quote, where) if part)


def _describe(db, names: _Names, change: dict) -> str:
    action, entity, entity_id = change["action"], change["entity"], change["entity_id"]
    before, after = change["before"] or {}, change["after"] or {}
    record = after or before
    if entity == "coding" and action in ("add", "remove") and "code_id" in record:
        how = ""
        origin = record.get("origin") or "manual"
        if origin.startswith("suggestion"):
            how = " (an accepted suggestion)"
        elif origin.startswith("import"):
            how = f" ({origin.replace(':', ' of ', 1)})"
        elif origin.startswith("auto"):
            how = f" (tag auto: {origin.split(':', 1)[1]})" if ":" in origin else " (tag auto)"
        verb = "coded" if action == "add" else "removed the coding"
        return (f"{verb} {_passage(db, names, record)} as {names.code(record['code_id'])}"
                f"{how}" if action == "add" else
                f"{verb} {names.code(record['code_id'])} of {_passage(db, names, record)}")
    if entity == "coding" and action == "fold":
        return (f"folded a duplicate coding of {_passage(db, names, before)} into "
                f"{names.code(after.get('code_id'))}")
    if entity == "suggestion" and action == "edit":
        row = db.execute("SELECT document_id, revision_id, start, \"end\", code_id FROM "
                         "suggestions WHERE id = ?", [entity_id]).fetchone()
        keys = ("document_id", "revision_id", "start", "end")
        what = (f"{names.code(row[4])} for {_passage(db, names, dict(zip(keys, row)))}"
                if row else f"#{entity_id}")
        status = after.get("status")
        verb = {"accepted": "accepted", "rejected": "rejected", "pending": "reopened"}.get(
            status, f"set to {status}")
        return f"{verb} the suggestion {what}"
    if entity == "memo":
        if action == "edit":
            return f"edited memo {entity_id} ({', '.join(sorted(after)) or 'no change'})"
        if action == "anonymize":
            return f"replaced names in memo {entity_id}"
        on = record.get("target") or "project"
        target = {"document": lambda: names.document(record.get("document_id")),
                  "code": lambda: names.code(record.get("code_id")),
                  "coding": lambda: f"the coding {_passage(db, names, record)}"}.get(
            on, lambda: "the project")()
        text = " ".join(str(record.get("text") or record.get("title") or "").split())
        text = f": “{text[:49]}…”" if len(text) > 50 else (f": “{text}”" if text else "")
        verb = "added a memo on" if action == "add" else "removed the memo on"
        return f"{verb} {target}{text}"
    if entity == "code":
        path = record.get("path") or names.code(entity_id)
        if action == "add":
            return f"added code {path}"
        if action == "update":
            fields = ", ".join(sorted(after)) or "nothing"
            return f"changed {fields} of code {names.code(entity_id)}"
        if action == "retire":
            return f"retired code {path} (its codings are kept)"
        if action == "merge":
            return (f"merged code {path} into {names.code(after.get('merged_into_id'))} "
                    f"({after.get('codings_moved', 0)} coding(s) moved)")
    if entity == "document":
        name = names.document(entity_id)
        if action == "import":
            return (f"imported {after.get('name') or name} ({after.get('sentences', '?')} "
                    f"sentences, {after.get('turns', '?')} turns)")
        if action == "revise":
            return f"stored revision {after.get('revision')} of {name}"
    if action in ("flag", "reanchor") and entity in ("coding", "memo", "suggestion"):
        if action == "flag":
            return f"flagged {entity} {entity_id} for review (not placed on the new revision)"
        return f"moved {entity} {entity_id} onto the new revision ({after.get('method')})"
    if action == "undo":
        return f"undid batch {str(after.get('undoes', ''))[:8]}"
    if entity == "project" and action == "import":
        return (f"imported the project {after.get('file', '')} ({after.get('codings', 0)} "
                f"codings, {after.get('memos', 0)} memos)")
    return f"{action} {entity}" + (f" {entity_id}" if entity_id is not None else "")
