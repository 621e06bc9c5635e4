"""The codings an analysis looks at, chosen by the filters every analysis command shares:
--code (with --children), --where on document attributes, --coder, --doc, --origin."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from qcode.documents import Filter, attributes_of, resolve_document

ORIGINS = ("manual", "suggestion", "import")


@dataclass
class Scope:
    code: str | None = None
    children: bool = False
    where: list[Filter] = field(default_factory=list)
    coders: list[str] = field(default_factory=list)
    document: str | None = None
    origin: str | None = None


@dataclass
class Excerpt:
    id: int
    document_id: int
    document: str
    revision_id: int
    start: int
    end: int
    code_id: int
    code: str
    coder: str
    origin: str
    created: str
    memo: str | None
    text: str = ""
    speaker: str | None = None
    segment: int | None = None


def documents_in_scope(db, scope: Scope) -> list[int]:
    where, params = _document_clause(db, scope)
    return [r[0] for r in db.execute(f"SELECT d.id FROM documents d{where} ORDER BY d.name",
                                     params)]


def _document_clause(db, scope: Scope) -> tuple[str, list]:
    parts, params = [], []
    for flt in scope.where:
        sql, values = flt.sql()
        parts.append(sql)
        params += values
    if scope.document:
        parts.append("d.id = ?")
        params.append(resolve_document(db, scope.document)["id"])
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


ALL_JOINS = ("JOIN documents d ON d.id = c.document_id JOIN codes g ON g.id = c.code_id "
             "JOIN coders k ON k.id = c.coder_id")


def codings_in_scope(db, scope: Scope, *, joins: str | None = ALL_JOINS) -> tuple[str, list]:
    """``FROM codings c … WHERE …`` for the codings in scope. With ``joins=None`` only the
    joins the filters need (documents ``d`` for --where/--doc, coders ``k`` for --coder):
    fetching 90,000 codings costs twice as much through three joins."""
    from qcode.coding import coding_clauses

    where, params = _document_clause(db, scope)
    clauses = [where[len(" WHERE "):]] if where else []
    more, values = coding_clauses(db, code=scope.code, children=scope.children,
                                  coders=scope.coders, origin=scope.origin)
    clauses += more
    if joins is None:
        joins = ("JOIN documents d ON d.id = c.document_id " if where else "") + (
            "JOIN coders k ON k.id = c.coder_id" if scope.coders else "")
    return (f"FROM codings c {joins}"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")), params + values


def count_excerpts(db, scope: Scope) -> int:
    """How many codings are in scope."""
    sql, params = codings_in_scope(db, scope)
    return db.execute("SELECT count(*) " + sql, params).fetchone()[0]


def excerpts(db, scope: Scope, *, with_text: bool = True,
             limit: int | None = None) -> list[Excerpt]:
    """The codings in scope (the first *limit* of them, in document order) with (unless
    *with_text* is false) their text, speaker and sentence number."""
    sql, params = codings_in_scope(db, scope)
    rows = db.execute(
        "SELECT c.id, d.id, d.name, c.revision_id, c.start, c.\"end\", c.code_id, g.path, "
        "k.name, c.origin, c.created, (SELECT group_concat(m.text, ' | ') FROM memos m "
        "WHERE m.coding_id = c.id) " + sql
        + " ORDER BY d.name, c.start, c.\"end\", g.path, c.id"
        + (" LIMIT ?" if limit is not None else ""),
        params + ([limit] if limit is not None else [])).fetchall()
    found = [Excerpt(*row) for row in rows]
    if with_text:
        _attach_text(db, found)
    return found


def _attach_text(db, found: list[Excerpt]) -> None:
    """Text, speaker and sentence number, one query per revision (not per excerpt)."""
    by_revision: dict[int, list[Excerpt]] = {}
    for excerpt in found:
        by_revision.setdefault(excerpt.revision_id, []).append(excerpt)
    for revision, items in by_revision.items():
        text = db.execute("SELECT text FROM revisions WHERE id = ?", [revision]).fetchone()[0]
        sentences = db.execute(
            "SELECT s.start, s.number, sp.name FROM segments s LEFT JOIN speakers sp ON "
            "sp.id = s.speaker_id WHERE s.revision_id = ? AND s.kind = 'sentence' "
            "ORDER BY s.start", [revision]).fetchall()
        starts = [s[0] for s in sentences]
        for excerpt in items:
            excerpt.text = text[excerpt.start:excerpt.end]
            i = bisect_right(starts, excerpt.start) - 1
            if i >= 0:
                excerpt.segment, excerpt.speaker = sentences[i][1], sentences[i][2]


def with_attributes(db, found: list[Excerpt]) -> dict[int, dict[str, str]]:
    return attributes_of(db, sorted({e.document_id for e in found}))
