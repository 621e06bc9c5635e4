"""The codings an analysis looks at, chosen by the filters every analysis command shares:
--code (with --children), --where on document attributes, --coder, --doc, --origin."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from qcode.documents import Filter, attributes_of, resolve_document

ORIGINS = ("manual", "suggestion", "import", "auto")  # auto: `qcode tag auto`


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
    run_id: int | None = None  # the suggestion run an accepted suggestion came from
    text: str = ""
    speaker: str | None = None
    segment: int | None = None
    before: str = ""  # context sentences, when asked for
    after: str = ""


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
    if scope.where:
        # the documents first (one attribute test per document, not one per coding)
        clauses = ["c.document_id IN (SELECT value FROM json_each(?))"]
        params = [json.dumps(documents_in_scope(db, scope))]
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


def excerpts(db, scope: Scope, *, with_text: bool = True, limit: int | None = None,
             context: int = 0, ids: list[int] | None = None) -> list[Excerpt]:
    """The codings in scope (the first *limit* of them, in document order; only those
    with these *ids*, if given) with (unless *with_text* is false) their text, speaker
    and sentence number, and *context* sentences before and after."""
    sql, params = codings_in_scope(db, scope)
    if ids is not None:
        sql += (" AND " if " WHERE " in sql else " WHERE ") + (
            "c.id IN (SELECT value FROM json_each(?))")
        params = [*params, json.dumps(ids)]
    rows = db.execute(
        "SELECT c.id, d.id, d.name, c.revision_id, c.start, c.\"end\", c.code_id, g.path, "
        "k.name, c.origin, c.created, (SELECT group_concat(m.text, ' | ') FROM memos m "
        "WHERE m.coding_id = c.id), c.run_id " + sql
        + " ORDER BY d.name, c.start, c.\"end\", g.path, c.id"
        + (" LIMIT ?" if limit is not None else ""),
        params + ([limit] if limit is not None else [])).fetchall()
    found = [Excerpt(*row) for row in rows]
    if with_text and found:
        _attach_text(db, found, context)
    return found


def _attach_text(db, found: list[Excerpt], context: int) -> None:
    """Text, sentence number, speaker and context of each excerpt, from one query each
    for the texts, the sentence index and the turn index (qcode.store.words)."""
    from qcode.store.words import read_sentences, read_turns

    revisions = json.dumps(sorted({e.revision_id for e in found}))
    texts = dict(db.execute("SELECT id, text FROM revisions WHERE id IN "
                            "(SELECT value FROM json_each(?))", [revisions]).fetchall())
    sentences = read_sentences(db, revisions)
    turns = read_turns(db, revisions)
    names = dict(db.execute("SELECT id, name FROM speakers").fetchall())
    for e in found:
        text = texts[e.revision_id]
        e.text = text[e.start:e.end]
        starts, ends = sentences.get(e.revision_id, ((), ()))
        number = bisect_right(starts, e.start)  # the sentence it starts in, from 1
        if number:
            e.segment = number
            # the speaker of the sentence: of the turn its start lies in
            turn_starts, speakers = turns.get(e.revision_id, ((), ()))
            turn = bisect_right(turn_starts, starts[number - 1]) - 1
            if turn >= 0:
                e.speaker = names.get(speakers[turn])
        if context:
            first = bisect_right(ends, e.start)  # first sentence ending after the start
            last = bisect_left(starts, e.end)  # first sentence starting at/after the end
            e.before = " ".join(text[s:t] for s, t in zip(
                starts[max(0, first - context):first], ends[max(0, first - context):first],
                strict=True))
            e.after = " ".join(text[s:t] for s, t in zip(
                starts[last:last + context], ends[last:last + context], strict=True))


def with_attributes(db, found: list[Excerpt]) -> dict[int, dict[str, str]]:
    return attributes_of(db, sorted({e.document_id for e in found}))
