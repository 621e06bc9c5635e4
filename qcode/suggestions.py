"""Deciding on suggestions: accepting one creates a coding (origin ``suggestion:<run>``),
rejecting one records the decision. Both are logged and undoable."""

from __future__ import annotations

from qcode import faults
from qcode.errors import NotFoundError, QcodeError
from qcode.store import transaction
from qcode.store.records import check_changed, coder_id, log_change, now


def pending_for(db, revision_id: int) -> list[dict]:
    """Pending suggestions on a revision, best first, with their code's path."""
    return [dict(r) for r in db.query(
        "SELECT s.*, c.path AS code FROM suggestions s JOIN codes c ON c.id = s.code_id "
        "WHERE s.revision_id = ? AND s.status = 'pending' ORDER BY s.start, s.score DESC",
        [revision_id])]


def _pending(db, suggestion_id: int) -> dict:
    row = next(db.query("SELECT * FROM suggestions WHERE id = ?", [suggestion_id]), None)
    if row is None:
        raise NotFoundError(f"no suggestion with id {suggestion_id}")
    if row["status"] != "pending":
        raise QcodeError(f"suggestion {suggestion_id} was already {row['status']}")
    return dict(row)


def _decide(db, row: dict, status: str, who: int, batch: str, coding: int | None) -> None:
    after = {"status": status, "decided_by": who, "decided_at": now(), "coding_id": coding}
    check_changed(db, db.execute(
        "UPDATE suggestions SET status = ?, decided_by = ?, decided_at = ?, coding_id = ? "
        "WHERE id = ?", [*after.values(), row["id"]]), "suggestion", row["id"])
    log_change(db, "edit", "suggestion", row["id"], coder=who, batch=batch,
               before={k: row[k] for k in after}, after=after)


def accept(db, suggestion_id: int, *, coder: str, start: int | None = None,
           end: int | None = None, code_id: int | None = None) -> int:
    """Accept (optionally with an adjusted span or another code); returns the coding id."""
    from qcode.coding import insert_coding, new_batch

    with transaction(db):
        row = _pending(db, suggestion_id)
        who, batch = coder_id(db, coder), new_batch()
        start = row["start"] if start is None else start
        end = row["end"] if end is None else end
        length = db.execute("SELECT length(text) FROM revisions WHERE id = ?",
                            [row["revision_id"]]).fetchone()[0]
        if not 0 <= start < end <= length:
            raise QcodeError(f"span {start}:{end} is not inside the text")
        added = insert_coding(db, document_id=row["document_id"], revision_id=row["revision_id"],
                              start=start, end=end, code_id=code_id or row["code_id"],
                              coder=who, origin=f"suggestion:{row['run_id']}",
                              run_id=row["run_id"], batch=batch)
        _decide(db, row, "accepted", who, batch, added.coding_id)
        faults.point("review-accept")
    return added.coding_id


def reject(db, suggestion_id: int, *, coder: str) -> None:
    from qcode.coding import new_batch

    with transaction(db):
        row = _pending(db, suggestion_id)
        _decide(db, row, "rejected", coder_id(db, coder), new_batch(), None)
