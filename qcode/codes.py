"""Reading codes back from the store."""

from __future__ import annotations


def list_codes(db, *, include_inactive: bool = False) -> list[dict]:
    status = "" if include_inactive else "WHERE c.status = 'active'"
    return [dict(r) for r in db.query(
        "SELECT c.id, c.guid, c.path, c.name, c.key, c.color, c.status, c.description, "
        "count(g.id) AS codings, count(DISTINCT g.document_id) AS documents "
        f"FROM codes c LEFT JOIN codings g ON g.code_id = c.id {status} "
        "GROUP BY c.id ORDER BY c.status != 'active', c.position, c.path")]
