"""Reading documents back: lists, filters on attributes, one transcript's segments."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qcode.errors import InputError, NotFoundError


@dataclass
class Filter:
    key: str
    values: list[str]
    negate: bool = False

    def sql(self) -> tuple[str, list]:
        marks = ",".join("?" * len(self.values))
        clause = ("EXISTS (SELECT 1 FROM attributes a WHERE a.document_id = d.id AND a.key = ? "
                  f"AND a.value COLLATE NOCASE IN ({marks}))")
        return (f"NOT {clause}" if self.negate else clause), [self.key, *self.values]


_FILTER = re.compile(r"^\s*(?P<key>[^=!]+?)\s*(?P<op>!=|=)\s*(?P<value>.*)$")


def parse_filters(items: list[str]) -> list[Filter]:
    """``role=activist``, ``role!=activist``, ``region=Perm|Kazan`` (any of)."""
    filters = []
    for item in items:
        match = _FILTER.match(item)
        if not match:
            raise InputError("--where", f"expected key=value or key!=value, got {item!r}")
        values = [v.strip() for v in match.group("value").split("|")]
        filters.append(Filter(match.group("key"), values, match.group("op") == "!="))
    return filters


def _where(filters: list[Filter]) -> tuple[str, list]:
    if not filters:
        return "", []
    parts, params = zip(*(f.sql() for f in filters), strict=True)
    return " WHERE " + " AND ".join(parts), [p for group in params for p in group]


def attributes_of(db, document_ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {i: {} for i in document_ids}
    for doc_id, key, value in db.execute(
            "SELECT document_id, key, value FROM attributes ORDER BY document_id, key"):
        if doc_id in out:
            out[doc_id][key] = value
    return out


def list_documents(db, filters: list[Filter] | None = None) -> list[dict]:
    where, params = _where(filters or [])
    rows = [dict(r) for r in db.query(
        "SELECT d.id, d.name, d.format, d.language, d.created, r.text, "
        "(SELECT count(*) FROM segments s WHERE s.revision_id = r.id AND s.kind = 'turn') turns, "
        "(SELECT count(*) FROM segments s WHERE s.revision_id = r.id AND s.kind = 'sentence') "
        "sentences, (SELECT count(*) FROM codings c WHERE c.document_id = d.id) codings "
        f"FROM documents d JOIN current_revisions r ON r.document_id = d.id{where} "
        "ORDER BY d.name", params)]
    attributes = attributes_of(db, [r["id"] for r in rows])
    for row in rows:
        row["words"] = len(row.pop("text").split())
        row["attributes"] = attributes[row["id"]]
    return rows


def resolve_document(db, ref: str) -> dict:
    """A document by exact name, by id, or by a name that is unambiguous ignoring case."""
    row = db.execute("SELECT id FROM documents WHERE name = ?", [ref]).fetchone()
    if row is None and ref.isdigit():
        row = db.execute("SELECT id FROM documents WHERE id = ?", [int(ref)]).fetchone()
    if row is None:
        matches = db.execute("SELECT id FROM documents WHERE name = ? COLLATE NOCASE",
                             [ref]).fetchall()
        row = matches[0] if len(matches) == 1 else None
    if row is None:
        names = [r[0] for r in db.execute("SELECT name FROM documents")]
        from rapidfuzz import process

        close = [m[0] for m in process.extract(ref, names, limit=3, score_cutoff=50)]
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise NotFoundError(f"no document {ref!r}{hint}")
    doc = next(db.query(
        "SELECT d.id, d.name, d.format, d.language, r.id AS revision_id, r.number AS revision, "
        "r.text FROM documents d JOIN current_revisions r ON r.document_id = d.id "
        "WHERE d.id = ?", [row[0]]))
    doc["attributes"] = attributes_of(db, [doc["id"]])[doc["id"]]
    return doc


def document_segments(db, document_id: int) -> list[dict]:
    """The sentences of the current revision, with turn number, speaker and text."""
    revision_id, text = db.execute("SELECT id, text FROM current_revisions WHERE document_id = ?",
                                   [document_id]).fetchone()
    rows = db.execute(
        "SELECT s.number, t.number, sp.name, s.start, s.\"end\", s.time_start "
        "FROM segments s JOIN segments t ON t.id = s.turn_id "
        "LEFT JOIN speakers sp ON sp.id = s.speaker_id "
        "WHERE s.revision_id = ? AND s.kind = 'sentence' ORDER BY s.number", [revision_id])
    return [{"number": n, "turn": turn, "speaker": speaker, "start": start, "end": end,
             "time_start": t0, "text": text[start:end]}
            for n, turn, speaker, start, end, t0 in rows]
